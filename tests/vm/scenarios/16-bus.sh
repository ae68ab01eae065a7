#!/bin/bash
# vmtest-timeout: 300
# The system-bus interface org.cgreap1 of the installed, hardened unit:
# busctl shows it, a kill under real pressure (a slice at MemoryMax= with
# MemoryHighGuard=, as in 03) emits Killed and Reclaimed with the journal
# record's kill ID, and a manual Kill of a unit works for root
# (CGREAP_REASON=manual) and is refused for a user by the bus policy.
# cgreap-notify, the user unit of a lingering user, sends a notification to
# a stand-in server on that user's session bus for a kill in the user's own
# user@UID.service, and none for a kill of a system service.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "org.cgreap1 on the system bus: introspection, Killed/Reclaimed, manual Kill, cgreap-notify"
require "cgreapd is active" is_active cgreapd.service

MON=$(mktemp)
MONPID=
stop_monitor() { [ -n "$MONPID" ] && kill "$MONPID" 2>/dev/null; wait 2>/dev/null; MONPID=; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
mon_has() { grep -qE -- "$1" "$MON"; }

# ---- the interface as busctl sees it ----
owner=$(busctl status org.cgreap1 2>/dev/null | sed -n 's/^PID=//p')
expect_eq "org.cgreap1 is owned by cgreapd's main process" "$(systemctl show -p MainPID --value cgreapd)" "$owner"
intro=$(busctl introspect org.cgreap1 /org/cgreap1 org.cgreap1.Manager 2>&1)
echo "$intro" | indent
for m in .Kill .Reload .Kills .KillsFailed .KillsTimedOut .KernelOOMKills .FreedBytes .DryRun .Monitors \
	.StuckVictims .LastKill .KillLatency .ReclaimTime .Killed .Reclaimed; do
	grep -q -- "^$m " <<<"$intro" || bad "busctl introspect does not show $m"
done
v=$(as_nobody busctl get-property org.cgreap1 /org/cgreap1 org.cgreap1.Manager Kills 2>&1)
check "a user may read the properties ($v)" grep -q '^t [0-9]' <<<"$v"

cgreapctl monitor >"$MON" 2>&1 &
MONPID=$!
wait_until 10 mon_has '^Following org.cgreap1' || bad "cgreapctl monitor did not start: $(cat "$MON")"

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

[Priority]
vmt-s16-low.service = 600
vmt-s16-keep.service = 100
vmt-s16-manual.service = 100
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
	bad "no Killed signal for kill $id: $(cat "$MON")"
wait_until 15 mon_has "^reclaimed $id freed=" || bad "no Reclaimed signal for kill $id: $(cat "$MON")"
check "Killed and Reclaimed for the pressure kill ($(grep -c . "$MON") lines)" mon_has "^reclaimed $id "
grep -E "^(killed|reclaimed) $id " "$MON" | indent
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

c=$(jcursor)
out=$(cgreapctl kill vmt-s16-manual.service 2>&1) || bad "cgreapctl kill as root failed: $out"
say "as root: $out"
mid=$(sed -nE 's/^Kill ([0-9]+) sent to .*/\1/p' <<<"$out")
wait_until 15 is_dead vmt-s16-manual.service || bad "vmt-s16-manual still runs after the manual kill"
expect_killed vmt-s16-manual.service
rec=$(wait_record "$MSGID_RECLAIMED" "$c" CGREAP_UNIT=vmt-s16-manual.service)
show_record "$rec"
expect_eq "manual kill: REASON" manual "$(field "$rec" CGREAP_REASON)"
expect_eq "manual kill: KILL_ID as cgreapctl printed it" "$mid" "$(field "$rec" CGREAP_KILL_ID)"
expect_eq "manual kill: no MONITOR" "" "$(field "$rec" CGREAP_MONITOR)"
wait_until 15 mon_has "^killed $mid vmt-s16-manual.service .* reason=manual " ||
	bad "no Killed signal for the manual kill: $(cat "$MON")"
wait_until 15 mon_has "^reclaimed $mid " || bad "no Reclaimed signal for the manual kill"
check "Killed(reason manual) and Reclaimed for the manual kill" mon_has "^reclaimed $mid "

st=$(cgreapctl status 2>&1)
echo "$st" | indent
check "cgreapctl status names the manual kill as the last" grep -q "^Last kill: vmt-s16-manual.service .*kill id $mid" <<<"$st"

# ---- cgreap-notify: a lingering user's session gets the user's kills only ----
user=vmtnotif
require "user $user with a lingering manager" vmt_user "$user"
uid=$VMT_UID
home=$(getent passwd "$user" | cut -d: -f6)
SEEN=$home/notifications
: > "$SEEN"
chown "$user:" "$SEEN"
fake=$(dirname "$(readlink -f "$0")")/fake-notifications.py
install -m 755 "$fake" "$home/fake-notifications.py"
timeout 60 systemd-run --user -M "$user@" --quiet --unit=vmt-n-server --service-type=exec -- \
	/usr/bin/python3 "$home/fake-notifications.py" "unix:path=/run/user/$uid/bus" "$SEEN" ||
	bad "the stand-in notification server did not start"
seen_has() { grep -qE -- "$1" "$SEEN"; }
wait_until 20 seen_has '^ready$' || bad "the stand-in notification server is not ready"
c=$(jcursor)
uctl "$user" start cgreap-notify.service || bad "the user unit cgreap-notify.service did not start"
notify_ready() { journal_after "$c" | jq -r .MESSAGE | grep -q "Listening for cgreapd's kills in our session"; }
wait_until 20 notify_ready || bad "cgreap-notify did not say it listens"
check "cgreap-notify runs as a unit of $user's manager" test "$(uunit_prop "$user" cgreap-notify.service ActiveState)" = active

timeout 60 systemd-run --user -M "$user@" --quiet --unit=vmt-n-app --service-type=exec -- sleep 100000 ||
	bad "the user manager did not start vmt-n-app"
acg=$(uunit_prop "$user" vmt-n-app.service ControlGroup)
vmt_service vmt-n-sys -- sleep 100000
wait_until 10 is_active vmt-n-sys.service || bad "vmt-n-sys did not start"
for target in "$acg" vmt-n-sys.service; do
	c=$(jcursor)
	cgreapctl kill "$target" | indent
	wait_record "$MSGID_RECLAIMED" "$c" CGREAP_REASON=manual >/dev/null
done
wait_until 15 seen_has '^cgreap\|Vmt-n-app was closed to free memory\|' ||
	bad "no notification for the kill in $user's session: $(cat "$SEEN")"
sleep 2
grep -v '^ready$' "$SEEN" | indent
expect_eq "notifications (only the kill in $user's own user@$uid.service)" 1 "$(grep -c '^cgreap|' "$SEEN")"
check "the notification names the application and what it used" \
	grep -qE '\|The system was running out of memory, so Vmt-n-app \(vmt-n-app.service\) was ended by an administrator\. It used [0-9.]+[KMG]?\.\|1$' "$SEEN"
uctl "$user" stop cgreap-notify.service vmt-n-server.service

stop_monitor
rm -f "$MON"
scenario_end
