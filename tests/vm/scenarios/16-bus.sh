#!/bin/bash
# vmtest-timeout: 300
# The system-bus interface org.cgreap1 of the installed, hardened unit:
# busctl shows the interface as /usr/share/dbus-1/interfaces documents it,
# owned by cgreapd, and the unit's exposure (systemd-analyze security) is
# still at most 1.4. A kill under real pressure (a slice at MemoryMax= with
# MemoryHighGuard=, as in 03) emits Killed and Reclaimed with the journal
# record's kill ID; a manual Kill of a unit is refused for a user by the bus
# policy and done for root (CGREAP_REASON=manual), and so is Reload; Monitors
# shows the slice's monitor with its last pressure level. A victim that cannot die
# (its process waits on a frozen file system, in D state) shows the daemon's
# live state: ListCandidates, Explain, 'cgreapctl list' and 'explain' say
# it is being killed, then, after KillTimeout=, passed over; so does a
# user's cgreapctl (the properties are for everyone), while the methods
# that rank inside the daemon stay root's.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "org.cgreap1 on the system bus: interface, exposure, Killed/Reclaimed, Monitors, manual Kill, Reload, live state"
require "cgreapd is active" is_active cgreapd.service

# ---- the interface as busctl sees it, and the unit's exposure ----
owner=$(busctl status org.cgreap1 2>/dev/null | sed -n 's/^PID=//p')
expect_eq "org.cgreap1 is owned by cgreapd's main process" "$(systemctl show -p MainPID --value cgreapd)" "$owner"
iface() { awk '/<interface name="org.cgreap1.Manager">/ { p = 1 } p { print } p && /<\/interface>/ { exit }'; }
live=$(busctl --xml-interface introspect org.cgreap1 /org/cgreap1 | iface)
doc=$(iface </usr/share/dbus-1/interfaces/org.cgreap1.Manager.xml)
busctl introspect org.cgreap1 /org/cgreap1 org.cgreap1.Manager | indent
check "busctl introspect shows org.cgreap1.Manager ($(grep -c '<property\|<method\|<signal' <<<"$live") members)" \
	test -n "$live"
expect_eq "the live interface differs from the installed org.cgreap1.Manager.xml by" "" \
	"$(diff <(echo "$doc") <(echo "$live"))"
v=$(as_nobody busctl get-property org.cgreap1 /org/cgreap1 org.cgreap1.Manager Kills 2>&1)
check "a user may read the properties ($v)" grep -q '^t [0-9]' <<<"$v"
exposure=$(systemd-analyze security cgreapd.service 2>&1 |
	sed -n 's/.*Overall exposure level for cgreapd.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze security of the running unit: exposure ${exposure:-none} <= 1.4" \
	awk -v s="${exposure:-99}" 'BEGIN { exit !(s <= 1.4) }'

bus_monitor

# ---- a kill under real pressure sends Killed and Reclaimed ----
vmt_slice vmt-s16.slice MemoryMax=300M
sp=$(unit_cgroup vmt-s16.slice)
vmt_hold vmt-s16-low 100M --slice=vmt-s16.slice
wait_mem vmt-s16-low.service $((95 << 20)) 60
vmt_dropin 90-s16 >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor s16]
Cgroup=$sp
MemoryHighGuard=5%

[Kill]
KillTimeout=20s

[Priority]
vmt-s16-low.service = 600
vmt-s16-keep.service = 100
vmt-s16-manual.service = 100
vmt-s16-stuck.service = 700
vmt-s16-next.service = 500
CONF
cgreapd_reload || bad "cgreapd did not log the reload"
guard=$(guard_value $((300 << 20)) 5)
wait_until 15 cg_file_near "$sp" memory.high "$guard" || bad "MemoryHighGuard= was not applied"

c=$(jcursor)
vmt_grow vmt-s16-keep 220M --slice=vmt-s16.slice
wait_until 120 is_dead vmt-s16-low.service || bad "vmt-s16-low still runs after 120s"
expect_killed vmt-s16-low.service
kill=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT=vmt-s16-low.service)
id=$(field "$kill" CGREAP_KILL_ID)
say "kill record: $(describe_kill "$kill"), id $id"
wait_until 15 mon_has "^killed $id vmt-s16-low.service $sp/vmt-s16-low.service adj=600 reason=limit" ||
	bad "no Killed signal for kill $id: $(cat "$VMT_MON")"
wait_until 15 mon_has "^reclaimed $id freed=" || bad "no Reclaimed signal for kill $id: $(cat "$VMT_MON")"
check "Killed and Reclaimed for the pressure kill ($(grep -c . "$VMT_MON") lines)" mon_has "^reclaimed $id "
grep -E "^(killed|reclaimed) $id " "$VMT_MON" | indent
# Monitors: (name, cgroup, armed/calm, level of the last event, its CLOCK_MONOTONIC µs).
mon=$(busctl --json=short get-property org.cgreap1 /org/cgreap1 org.cgreap1.Manager Monitors |
	jq -c --arg cg "$sp" '.data[] | select(.[1] == $cg)')
up=$(awk '{ printf "%d", $1 * 1000000 }' /proc/uptime)
say "Monitors: $mon (uptime ${up}µs)"
check "Monitors: s16 on $sp, its last event at a pressure level, before now" \
	jq -e --argjson up "$up" '.[0] == "s16" and (.[3] == "medium" or .[3] == "critical") and .[4] > 0 and .[4] <= $up' <<<"$mon"
settle
timeout 30 systemctl stop vmt-s16-keep.service

# ---- manual Kill: refused for a user, done for root ----
vmt_service vmt-s16-manual --slice=vmt-s16.slice -- sleep 100000
wait_until 10 is_active vmt-s16-manual.service || bad "vmt-s16-manual did not start"
out=$(as_nobody cgreapctl kill vmt-s16-manual.service 2>&1) && bad "cgreapctl kill as nobody succeeded: $out"
say "as nobody: $out"
out=$(as_nobody busctl call org.cgreap1 /org/cgreap1 org.cgreap1.Manager Kill st vmt-s16-manual.service 0 2>&1) &&
	bad "busctl call Kill as nobody succeeded: $out"
say "busctl as nobody: $out"
sleep 1
expect_alive vmt-s16-manual.service

manual_kill vmt-s16-manual.service
wait_until 15 is_dead vmt-s16-manual.service || bad "vmt-s16-manual still runs after the manual kill"
expect_killed vmt-s16-manual.service
show_record "$KILL_REC"
expect_eq "manual kill: REASON" manual "$(field "$KILL_REC" CGREAP_REASON)"
expect_eq "manual kill: no MONITOR" "" "$(field "$KILL_REC" CGREAP_MONITOR)"
wait_until 15 mon_has "^killed $KILL_ID vmt-s16-manual.service .* reason=manual " ||
	bad "no Killed signal for the manual kill: $(cat "$VMT_MON")"
wait_until 15 mon_has "^reclaimed $KILL_ID " || bad "no Reclaimed signal for the manual kill"
check "Killed(reason manual) and Reclaimed for the manual kill" mon_has "^reclaimed $KILL_ID "
st=$(cgreapctl status 2>&1)
echo "$st" | indent
check "cgreapctl status names the manual kill as the last" \
	grep -q "^Last kill: vmt-s16-manual.service .*kill id $KILL_ID" <<<"$st"

# ---- Reload: refused for a user, done for root ----
c=$(jcursor)
out=$(as_nobody busctl call org.cgreap1 /org/cgreap1 org.cgreap1.Manager Reload 2>&1) &&
	bad "busctl call Reload as nobody succeeded: $out"
say "Reload as nobody: $out"
busctl call org.cgreap1 /org/cgreap1 org.cgreap1.Manager Reload || bad "busctl call Reload as root failed"
check "Reload as root: cgreapd read its configuration again, once" \
	wait_until 20 cgreapd_logged "$c" 'onfiguration reloaded'
expect_eq "reloads logged (nobody's call did none)" 1 "$(cgreapd_log "$c" | grep -c 'onfiguration reloaded')"

# ---- the daemon's live state: a kill in flight, then a victim passed over ----
frozen=/run/vmt-s16-frozen
require "a frozen file system at $frozen" vmt_frozen_fs "$frozen"
vmt_service vmt-s16-stuck --slice=vmt-s16.slice -- /bin/sh -c "echo x >$frozen/f"
vmt_service vmt-s16-next --slice=vmt-s16.slice -- sleep 100000
stuck_pid=$(unit_prop vmt-s16-stuck.service MainPID)
stuck_d() { [ "$(proc_state "$stuck_pid")" = D ]; }
require "vmt-s16-stuck (pid $stuck_pid) waits on the frozen file system in D state" wait_until 10 stuck_d
wait_until 10 is_active vmt-s16-next.service || bad "vmt-s16-next did not start"
stuck=$sp/vmt-s16-stuck.service next=$sp/vmt-s16-next.service

# ListCandidates: (monitor, floor, [cgroup, unit, adj, source, detail, footprint, state]).
rank_state() { bus_call ListCandidates ss "$sp" critical | jq -r --arg cg "$1" '.data[2][] | select(.[0] == $cg) | .[6]'; }
# cgreapctl list --json of the slice: one candidate's being_killed/passed_over.
ctl_state() { cgreapctl list --json "$sp" 2>/dev/null | jq -r --arg cg "$1" '.[] | select(.cgroup == $cg) | "\(.being_killed) \(.passed_over)"'; }
expect_eq "ListCandidates: vmt-s16-stuck before the kill" eligible "$(rank_state "$stuck")"
c=$(jcursor)
out=$(cgreapctl kill vmt-s16-stuck.service 2>&1) || bad "cgreapctl kill vmt-s16-stuck failed: $out"
say "$out"
sid=$(sed -nE 's/^Kill ([0-9]+) sent to .*/\1/p' <<<"$out")
t0=$(date +%s)
expect_eq "ListCandidates: vmt-s16-stuck in flight" being-killed "$(rank_state "$stuck")"
ex=$(bus_call Explain ss "$sp" critical)
expect_eq "Explain: the victim while the kill is in flight" "$next" "$(jq -r '.data[0]' <<<"$ex")"
expect_eq "cgreapctl list --json: being_killed passed_over of vmt-s16-stuck" "true false" "$(ctl_state "$stuck")"
out=$(cgreapctl list "$sp" 2>&1)
echo "$out" | indent
check "cgreapctl list: the stuck victim is being killed, live from cgreapd" \
	grep -q "^Live from cgreapd: 1 cgroup being killed, 0 victims passed over\.$" <<<"$out"
out=$(cgreapctl explain "$sp" 2>&1)
check "cgreapctl explain: vmt-s16-next is the victim, vmt-s16-stuck already being killed" \
	grep -qE "^Victim: $next$" <<<"$out"
grep -qF "already being killed" <<<"$out" || bad "cgreapctl explain does not say vmt-s16-stuck is being killed: $out"
say "asked the daemon within $(($(date +%s) - t0))s of the kill (KillTimeout=20s)"
check "the stuck process still waits in D state" stuck_d

# KillTimeout= later the kill has timed out and the victim is passed over.
rec=$(wait_until 40 has_records "$MSGID_RECLAIMED" "$c" CGREAP_KILL_ID="$sid"; first_record "$MSGID_RECLAIMED" "$c" CGREAP_KILL_ID="$sid")
expect_eq "the stuck kill's record: TIMED_OUT" 1 "$(field "$rec" CGREAP_TIMED_OUT)"
expect_eq "ListCandidates: vmt-s16-stuck after KillTimeout=" passed-over "$(rank_state "$stuck")"
ex=$(bus_call Explain ss "$sp" critical)
jq -r '.data[3][] | "\(.[6]) \(.[0])"' <<<"$ex" | indent
expect_eq "Explain: the victim, vmt-s16-stuck passed over" "$next passed-over" \
	"$(jq -r --arg cg "$stuck" '"\(.data[0]) \(.data[3][] | select(.[0] == $cg) | .[6])"' <<<"$ex")"
expect_eq "StuckVictims" "as 1 \"$stuck\"" \
	"$(busctl get-property org.cgreap1 /org/cgreap1 org.cgreap1.Manager StuckVictims)"
expect_eq "cgreapctl list --json: being_killed passed_over of vmt-s16-stuck" "false true" "$(ctl_state "$stuck")"
out=$(cgreapctl explain "$sp" 2>&1)
check "cgreapctl explain: vmt-s16-stuck passed over" \
	grep -qF "passed over: it did not die when cgreapd killed it" <<<"$out"
check "cgreapctl list: live, one victim passed over" \
	grep -q "^Live from cgreapd: 0 cgroups being killed, 1 victim passed over\.$" < <(cgreapctl list "$sp" 2>&1)

# A user's cgreapctl reads the same live state from the properties; the
# ranking method stays root's (bus policy).
out=$(as_nobody cgreapctl list --json "$sp" 2>&1 >/dev/null)
check "cgreapctl list as nobody: no fallback line" not grep -q "computed locally" <<<"$out"
expect_eq "cgreapctl list --json as nobody: being_killed passed_over" "false true" \
	"$(as_nobody cgreapctl list --json "$sp" 2>/dev/null | jq -r --arg cg "$stuck" '.[] | select(.cgroup == $cg) | "\(.being_killed) \(.passed_over)"')"
out=$(as_nobody busctl call org.cgreap1 /org/cgreap1 org.cgreap1.Manager ListCandidates ss "$sp" critical 2>&1) &&
	bad "ListCandidates as nobody succeeded"
say "ListCandidates as nobody: $out"

# Thawed, the process dies of the SIGKILL it has pending and the daemon forgets it.
fsfreeze --unfreeze "$frozen"
wait_until 20 is_dead vmt-s16-stuck.service || bad "vmt-s16-stuck still runs after the thaw"
expect_killed vmt-s16-stuck.service
no_stuck() { [ "$(busctl get-property org.cgreap1 /org/cgreap1 org.cgreap1.Manager StuckVictims)" = "as 0" ]; }
check "StuckVictims is empty once the cgroup is" wait_until 15 no_stuck

scenario_end
