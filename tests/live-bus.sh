#!/bin/bash
# The bus interface org.cgreap1 end to end: cgreapd on a private bus
# (dbus-daemon, reached through $DBUS_SYSTEM_BUS_ADDRESS) and the real
# cgroup2 mount, and cgreapctl status, kill, monitor and metrics against it.
# The bus lets everyone call everything, so a refusal of nobody is the
# daemon's own uid check. Real: the processes, the manual kills
# (cgroup.kill), the signals, the records. The daemon monitors only an
# empty cgroup of this test: it can kill nothing but what it is asked to.
. "${top_srcdir:?}/tests/lib.sh"

require_root
live_test_lock
require_cgroup2
[ -x "${CGREAPD:-}" ] || fail "CGREAPD is not set to the built cgreapd"
[ -x "${CGREAPCTL:-}" ] || fail "CGREAPCTL is not set to the built cgreapctl"
command -v dbus-daemon >/dev/null || skip "no dbus-daemon (package dbus-daemon)"
command -v busctl >/dev/null || skip "no busctl (package systemd)"
command -v promtool >/dev/null || skip "no promtool (package prometheus)"
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
command -v jq >/dev/null || skip "no jq"
id nobody >/dev/null 2>&1 || skip "no user nobody"
[ -r /proc/pressure/memory ] || skip "no /proc/pressure/memory (kernel without PSI)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cgreap-live-bus-XXXXXX")
chmod 755 "$WORK"       # nobody connects to the bus socket in it
CONF=$WORK/conf
LOG=$WORK/cgreapd.log
MON=$WORK/monitor.log
P=/cgreap-bus-$$.slice
DAEMON='' MONITOR='' BUSPID=''
declare -a PIDS=()

cleanup() {
        local rc=$?
        set +e
        [ -n "$MONITOR" ] && kill "$MONITOR" 2>/dev/null
        [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
        for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
        wait 2>/dev/null
        [ -n "$BUSPID" ] && kill "$BUSPID" 2>/dev/null
        remove_cgroup_tree "$CG2$P"
        if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
        exit $rc
}
trap cleanup EXIT

# spawn CGROUP: a sleeping process in a real cgroup of the test.
spawn() {
        mkdir -p "$CG2$1"
        sleep 1000 &
        PIDS+=($!)
        echo $! > "$CG2$1/cgroup.procs"
}

alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

wait_dead() {
        local i
        for _ in $(seq 50); do alive "$1" || return 0; sleep 0.1; done
        fail "process $1 is still alive"
}

# ---- a private bus and the daemon on it ----

private_bus "$WORK" bus system
BUSPID=$(cat "$WORK/bus.pid")
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/bus.sock
BUSCTL=(busctl --address="$DBUS_SYSTEM_BUS_ADDRESS")

PROM=$WORK/textfile/cgreap.prom
mkdir -p "$CONF$CONF_DIR" "$CG2$P/mon.slice" "$WORK/textfile"
cat > "$CONF$CONF_DIR/cgreap.conf" <<EOF
[Agent]
MetricsFile=$PROM

[Monitor test]
Cgroup=$P/mon.slice

[Priority]
db.service = -1000
EOF

# Nobody owns the name yet.
out=$("$CGREAPCTL" status 2>&1) && fail "cgreapctl status succeeded without a daemon: $out"
grep -q 'cgreapd is not running' <<<"$out" || fail "cgreapctl status without a daemon said: $out"
pass "cgreapctl status without a daemon: $out"

# list and explain compute locally then, and say so in one line.
"$CGREAPCTL" list "$P" > "$WORK/list.out" 2> "$WORK/list.err" || fail "list without a daemon failed: $(cat "$WORK/list.err")"
[ "$(grep -c . "$WORK/list.err")" = 1 ] &&
grep -qx "cgreapd is not running or did not answer (nobody owns org.cgreap1 on the system bus): computed locally, without the kills in flight and the victims passed over." "$WORK/list.err" ||
        fail "list without a daemon did not say so in one line: $(cat "$WORK/list.err")"
grep -q 'Live from cgreapd' "$WORK/list.out" && fail "list without a daemon claims live state"
"$CGREAPCTL" explain --json "$P" 2>/dev/null | jq -e '.live == false' >/dev/null || fail "explain --json without a daemon: live is not false"
pass "list/explain without a daemon: computed locally, one line on stderr"

"$CGREAPD" --root="$CONF" --log-level=debug 2>"$LOG" &
DAEMON=$!
wait_file "$LOG" "Monitoring $P/mon.slice \\(monitor test\\)"
for _ in $(seq 50); do "${BUSCTL[@]}" status org.cgreap1 >/dev/null 2>&1 && break; sleep 0.1; done
"${BUSCTL[@]}" status org.cgreap1 >/dev/null 2>&1 || fail "nobody owns org.cgreap1 on the private bus"

# metric FILE NAME: a sample's value.
metric() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }
wait_file "$PROM" '^cgreap_kills_total 0$'
promtool check metrics < "$PROM" || fail "promtool rejects MetricsFile= at start"
[ "$(stat -c %a "$PROM")" = 644 ] || fail "MetricsFile= is not readable by node_exporter: mode $(stat -c %a "$PROM")"
pass "MetricsFile= written at start, passes promtool check metrics"

# ---- the interface is the documented one ----

iface() { awk '/<interface name="org.cgreap1.Manager">/ {p = 1} p {print} p && /<\/interface>/ {exit}'; }
"${BUSCTL[@]}" --xml-interface introspect org.cgreap1 /org/cgreap1 | iface > "$WORK/live.xml"
iface < "$top_srcdir/dbus/org.cgreap1.Manager.xml" > "$WORK/committed.xml"
[ -s "$WORK/live.xml" ] || fail "the daemon exports no org.cgreap1.Manager interface"
diff -u "$WORK/committed.xml" "$WORK/live.xml" ||
        fail "org.cgreap1.Manager as exported differs from dbus/org.cgreap1.Manager.xml"
pass "introspection matches dbus/org.cgreap1.Manager.xml ($(grep -c '<property\|<method\|<signal' "$WORK/live.xml") members)"

"$CGREAPCTL" monitor > "$MON" 2>&1 &
MONITOR=$!
wait_file "$MON" '^Following org.cgreap1'

spawn "$P/victim.service"
victim=${PIDS[-1]}
spawn "$P/db.service"
db=${PIDS[-1]}

# ---- ListCandidates and Explain: the daemon's ranking ----

call() { "${BUSCTL[@]}" --json=short call org.cgreap1 /org/cgreap1 org.cgreap1.Manager "$@"; }
call ListCandidates ss "$P" critical > "$WORK/lc.json" || fail "ListCandidates failed"
jq -e --arg p "$P" '.type == "sia(ssissts)" and .data[0] == "" and .data[1] == 0 and
        (.data[2] | map({(.[0]): .}) | add) as $c |
        $c[$p + "/victim.service"][1:4] == ["victim.service", 0, "default"] and
        $c[$p + "/victim.service"][6] == "eligible" and
        $c[$p + "/db.service"][1:4] == ["db.service", -1000, "rule"] and
        $c[$p + "/db.service"][6] == "never-kill"' \
        "$WORK/lc.json" >/dev/null || fail "ListCandidates: $(cat "$WORK/lc.json")"
call Explain ss "$P" medium > "$WORK/ex.json" || fail "Explain failed"
jq -e '.type == "ssia(ssissts)" and .data[0] == "" and .data[2] == 200 and
        all(.data[3][]; .[6] != "victim")' "$WORK/ex.json" >/dev/null ||
        fail "Explain at medium (floor 200) chose a victim: $(cat "$WORK/ex.json")"
call Explain ss "$P/" critical > "$WORK/ex.json" || fail "Explain failed"
jq -e --arg p "$P" '.data[0] == $p + "/victim.service" and
        ([.data[3][] | select(.[6] == "victim")] | length) == 1' "$WORK/ex.json" >/dev/null ||
        fail "Explain at critical: $(cat "$WORK/ex.json")"
out=$(call ListCandidates ss "$P" high 2>&1) && fail "ListCandidates with level high succeeded: $out"
grep -q "Invalid level 'high'" <<<"$out" || fail "ListCandidates with level high said: $out"
out=$(call ListCandidates ss "$P/none.slice" critical 2>&1) && fail "ListCandidates of a missing cgroup succeeded"
grep -q "does not exist" <<<"$out" || fail "ListCandidates of a missing cgroup said: $out"
out=$(call Explain ss "$P/.." critical 2>&1) && fail "Explain of '..' succeeded"
pass "ListCandidates/Explain: the daemon's ranking, states and victim; bad level, missing cgroup and '..' refused"

"${BUSCTL[@]}" --json=short get-property org.cgreap1 /org/cgreap1 org.cgreap1.Manager Monitors > "$WORK/mon.json"
jq -e --arg p "$P" '.data == [["test", $p + "/mon.slice", "calm", "none", 0]]' "$WORK/mon.json" >/dev/null ||
        fail "Monitors: $(cat "$WORK/mon.json")"
pass "Monitors: name, cgroup, state, last level and time (none, 0 before any event)"

# ---- refused: a user, protected cgroups, adj -1000, missing ones ----

out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CGREAPCTL" kill "$P/victim.service" 2>&1) &&
        fail "cgreapctl kill as nobody succeeded: $out"
grep -q 'Only root may kill' <<<"$out" || fail "cgreapctl kill as nobody said: $out"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "${BUSCTL[@]}" call org.cgreap1 /org/cgreap1 \
        org.cgreap1.Manager Reload 2>&1) && fail "Reload as nobody succeeded: $out"
grep -q 'Access denied' <<<"$out" || fail "Reload as nobody said: $out"
grep -q 'Reloading configuration' "$LOG" && fail "the daemon reloaded for nobody"
sleep 0.3
alive "$victim" || fail "the victim died although nobody's kill was refused"
pass "nobody may not Kill or Reload: $(tail -1 <<<"$out")"

for cg in / "$P"; do
        out=$("$CGREAPCTL" kill "$cg" 2>&1) && fail "cgreapctl kill $cg succeeded: $out"
        grep -q 'is protected' <<<"$out" || fail "cgreapctl kill $cg said: $out"
done
out=$("$CGREAPCTL" kill "$P/db.service" 2>&1) && fail "cgreapctl kill of adj -1000 succeeded: $out"
grep -q 'adj -1000' <<<"$out" || fail "cgreapctl kill of adj -1000 said: $out"
out=$("$CGREAPCTL" kill "$P/none.service" 2>&1) && fail "cgreapctl kill of a missing cgroup succeeded: $out"
grep -q 'does not exist' <<<"$out" || fail "cgreapctl kill of a missing cgroup said: $out"
out=$("$CGREAPCTL" kill "$P/../x" 2>&1) && fail "cgreapctl kill of a path with .. succeeded: $out"
out=$("$CGREAPCTL" kill nothing.service 2>&1) && fail "cgreapctl kill of an unknown unit succeeded: $out"
grep -q 'No loaded unit nothing.service' <<<"$out" || fail "cgreapctl kill of an unknown unit said: $out"
alive "$db" || fail "db.service (adj -1000) died although its kill was refused"
pass "refused with a reason: a user, the root, a slice holding an adj -1000 service, adj -1000 without --force, missing cgroups, '..', unknown units"

# ---- root's kill: the process dies, signals and records follow ----

out=$("$CGREAPCTL" kill "$P/victim.service") || fail "cgreapctl kill as root failed: $out"
id=$(sed -nE 's/^Kill ([0-9]+) sent to .*/\1/p' <<<"$out")
[ -n "$id" ] || fail "cgreapctl kill printed no kill id: $out"
wait_dead "$victim"
wait_file "$MON" "^killed $id victim.service $P/victim.service adj=0 reason=manual footprint="
wait_file "$MON" "^reclaimed $id freed="
wait_file "$LOG" "CGREAP_KILL_ID=$id .*CGREAP_REASON=manual"
wait_file "$LOG" "^Reclaimed victim.service: .*CGREAP_KILL_ID=$id .*CGREAP_REASON=manual"
pass "root's kill $id: the process died, Killed and Reclaimed were sent, both records say REASON=manual"

out=$("$CGREAPCTL" kill --force "$P/db.service") || fail "cgreapctl kill --force failed: $out"
id2=$(sed -nE 's/^Kill ([0-9]+) sent to .*/\1/p' <<<"$out")
wait_dead "$db"
wait_file "$MON" "^reclaimed $id2 freed="
pass "--force kills adj -1000"

# ---- status and metrics agree with the journal records ----

status=$("$CGREAPCTL" status) || fail "cgreapctl status failed"
grep -q '^Kills: 2 (0 failed, 0 timed out)' <<<"$status" || fail "status: $status"
grep -q "^Last kill: db.service ($P/db.service), adj -1000, .*reason manual, kill id $id2" <<<"$status" ||
        fail "status has not the last kill: $status"
grep -qE "^  test +$P/mon.slice +calm" <<<"$status" || fail "status has not the monitor: $status"
pass "cgreapctl status: $(sed -n 2p <<<"$status")"

"$CGREAPCTL" metrics > "$WORK/metrics.prom" || fail "cgreapctl metrics failed"
promtool check metrics < "$WORK/metrics.prom" || fail "promtool rejects cgreapctl metrics"
M=$WORK/metrics.prom
freed=$(sed -nE 's/^Reclaimed .* CGREAP_FREED_BYTES=([0-9]+).*/\1/p' "$LOG" | awk '{ s += $1 } END { print s }')
[ "$(metric "$M" cgreap_kills_total)" = 2 ] || fail "cgreap_kills_total is $(metric "$M" cgreap_kills_total), expected 2"
[ "$(metric "$M" cgreap_freed_bytes_total)" = "$freed" ] ||
        fail "cgreap_freed_bytes_total is $(metric "$M" cgreap_freed_bytes_total), the records say $freed"
[ "$(metric "$M" cgreap_reclaim_seconds_count)" = 2 ] || fail "cgreap_reclaim_seconds_count is not 2"
[ "$(metric "$M" 'cgreap_kill_latency_seconds_bucket{le="+Inf"}')" = 2 ] || fail "kill latency +Inf bucket is not 2"
[ "$(metric "$M" cgreap_monitors)" = 1 ] || fail "cgreap_monitors is not 1"
pass "metrics pass promtool check metrics; kills 2 and freed $freed bytes as in the records"

# The textfile is written after the last reclaim: the same text.
for _ in $(seq 50); do [ "$(metric "$PROM" cgreap_reclaim_seconds_count)" = 2 ] && break; sleep 0.1; done
promtool check metrics < "$PROM" || fail "promtool rejects MetricsFile="
diff -u "$M" "$PROM" || fail "MetricsFile= differs from cgreapctl metrics"
[ -z "$(find "$WORK/textfile" -type f ! -name cgreap.prom)" ] || fail "temporary files left: $(ls -a "$WORK/textfile")"
pass "MetricsFile= after the kills: what cgreapctl metrics prints (kills 2, freed $freed), no temporary file left"

# ---- Reload, and the monitor sees the daemon go ----

"${BUSCTL[@]}" call org.cgreap1 /org/cgreap1 org.cgreap1.Manager Reload || fail "Reload as root failed"
wait_file "$LOG" "Configuration reloaded"
kill "$DAEMON"; wait "$DAEMON" || fail "cgreapd exited with $? after SIGTERM"
DAEMON=
wait_file "$MON" '^cgreapd stopped'
pass "Reload by root re-reads the configuration; cgreapctl monitor says when the daemon stops"

# ---- kills in flight and victims passed over, live in list and explain ----

# Without CAP_KILL (bounding set) and with Method=pidfd, the daemon kills
# stubborn.service's own process but not the one running as nobody: the
# kill is in flight for KillTimeout=, then the victim is passed over.
mkdir -p "$CONF$CONF_DIR/cgreap.conf.d"
cat > "$CONF$CONF_DIR/cgreap.conf.d/50-stubborn.conf" <<EOF
[Kill]
Method=pidfd
KillTimeout=3s

[Priority]
stubborn.service = 900
next.service = 500
EOF
spawn "$P/stubborn.service"
mine=${PIDS[-1]}
setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 1000 &
PIDS+=($!)
theirs=$!
echo "$theirs" > "$CG2$P/stubborn.service/cgroup.procs"
spawn "$P/next.service"
: > "$LOG"
setpriv --bounding-set -kill "$CGREAPD" --root="$CONF" --log-level=debug 2>"$LOG" &
DAEMON=$!
wait_file "$LOG" "Monitoring $P/mon.slice \\(monitor test\\)"
for _ in $(seq 50); do "${BUSCTL[@]}" status org.cgreap1 >/dev/null 2>&1 && break; sleep 0.1; done

"$CGREAPCTL" kill "$P/stubborn.service" >/dev/null || fail "cgreapctl kill stubborn.service failed"
wait_dead "$mine"
"$CGREAPCTL" list "$P" > "$WORK/list.out" 2> "$WORK/list.err" || fail "list failed: $(cat "$WORK/list.err")"
[ -s "$WORK/list.err" ] && fail "list with a daemon wrote to stderr: $(cat "$WORK/list.err")"
grep -qE " being-killed +$P/stubborn.service\$" "$WORK/list.out" ||
        fail "list: stubborn.service not being killed: $(cat "$WORK/list.out")"
grep -qx "Live from cgreapd: 1 cgroup being killed, 0 victims passed over." "$WORK/list.out" ||
        fail "list has no live line: $(cat "$WORK/list.out")"
"$CGREAPCTL" explain --json "$P" > "$WORK/ex.json" || fail "explain --json failed"
jq -e --arg p "$P" '.live and .victim == $p + "/next.service" and
        (.candidates[] | select(.cgroup == $p + "/stubborn.service") |
         .being_killed and (.passed_over | not) and .skip == "being-killed" and .reason == "already being killed")' \
        "$WORK/ex.json" >/dev/null || fail "explain --json during the kill: $(cat "$WORK/ex.json")"
call ListCandidates ss "$P" critical | jq -e --arg p "$P" \
        '[.data[2][] | select(.[0] == $p + "/stubborn.service")][0][6] == "being-killed"' >/dev/null ||
        fail "ListCandidates does not show the kill in flight"
"${BUSCTL[@]}" get-property org.cgreap1 /org/cgreap1 org.cgreap1.Manager BeingKilled > "$WORK/bk.out" ||
        fail "BeingKilled cannot be read"
grep -qx "as 1 \"$P/stubborn.service\"" "$WORK/bk.out" || fail "BeingKilled during the kill: $(cat "$WORK/bk.out")"
pass "a kill in flight: list shows being-killed, explain picks next.service, from the daemon"

wait_file "$LOG" "Passing $P/stubborn.service over for 36s or until it is empty"
alive "$theirs" || fail "nobody's process died: the test needs it alive"
"$CGREAPCTL" list "$P" > "$WORK/list.out" 2>&1 || fail "list failed"
grep -qE " passed-over +$P/stubborn.service\$" "$WORK/list.out" ||
        fail "list: stubborn.service not passed over: $(cat "$WORK/list.out")"
grep -qx "Live from cgreapd: 0 cgroups being killed, 1 victim passed over." "$WORK/list.out" ||
        fail "list has no live line: $(cat "$WORK/list.out")"
[ "$("${BUSCTL[@]}" get-property org.cgreap1 /org/cgreap1 org.cgreap1.Manager BeingKilled)" = "as 0" ] ||
        fail "BeingKilled after the kill gave up is not empty"
"$CGREAPCTL" list --json "$P" | jq -e --arg p "$P" \
        '.[] | select(.cgroup == $p + "/stubborn.service") | .passed_over and (.being_killed | not)' >/dev/null ||
        fail "list --json: stubborn.service not passed over"
"$CGREAPCTL" explain "$P" > "$WORK/ex.out" || fail "explain failed"
grep -q "^Victim: $P/next.service" "$WORK/ex.out" || fail "explain: $(cat "$WORK/ex.out")"
grep -qF "$P/stubborn.service: passed over: it did not die when cgreapd killed it" "$WORK/ex.out" ||
        fail "explain does not say stubborn.service was passed over: $(cat "$WORK/ex.out")"
call Explain ss "$P" critical | jq -e --arg p "$P" '.data[0] == $p + "/next.service" and
        ([.data[3][] | select(.[0] == $p + "/stubborn.service")][0][6] == "passed-over")' >/dev/null ||
        fail "Explain does not pass stubborn.service over"
wait_file "$PROM" '^cgreap_kill_timeouts_total 1$'
promtool check metrics < "$PROM" || fail "promtool rejects MetricsFile= after a timeout"
pass "a victim that did not die: passed over in list, explain, ListCandidates/Explain; MetricsFile= counts the timeout"
kill "$DAEMON"; wait "$DAEMON"
DAEMON=
