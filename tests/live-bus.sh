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

mkdir -p "$CONF$CONF_DIR" "$CG2$P/mon.slice"
cat > "$CONF$CONF_DIR/cgreap.conf" <<EOF
[Monitor test]
Cgroup=$P/mon.slice

[Priority]
db.service = -1000
EOF

# Nobody owns the name yet.
out=$("$CGREAPCTL" status 2>&1) && fail "cgreapctl status succeeded without a daemon: $out"
grep -q 'cgreapd is not running' <<<"$out" || fail "cgreapctl status without a daemon said: $out"
pass "cgreapctl status without a daemon: $out"

"$CGREAPD" --root="$CONF" --log-level=debug 2>"$LOG" &
DAEMON=$!
wait_file "$LOG" "Monitoring $P/mon.slice \\(monitor test\\)"
for _ in $(seq 50); do "${BUSCTL[@]}" status org.cgreap1 >/dev/null 2>&1 && break; sleep 0.1; done
"${BUSCTL[@]}" status org.cgreap1 >/dev/null 2>&1 || fail "nobody owns org.cgreap1 on the private bus"

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
metric() { awk -v n="$1" '$1 == n { print $2 }' "$WORK/metrics.prom"; }
freed=$(sed -nE 's/^Reclaimed .* CGREAP_FREED_BYTES=([0-9]+).*/\1/p' "$LOG" | awk '{ s += $1 } END { print s }')
[ "$(metric cgreap_kills_total)" = 2 ] || fail "cgreap_kills_total is $(metric cgreap_kills_total), expected 2"
[ "$(metric cgreap_freed_bytes_total)" = "$freed" ] ||
        fail "cgreap_freed_bytes_total is $(metric cgreap_freed_bytes_total), the records say $freed"
[ "$(metric cgreap_reclaim_seconds_count)" = 2 ] || fail "cgreap_reclaim_seconds_count is not 2"
[ "$(metric 'cgreap_kill_latency_seconds_bucket{le="+Inf"}')" = 2 ] || fail "kill latency +Inf bucket is not 2"
[ "$(metric cgreap_monitors)" = 1 ] || fail "cgreap_monitors is not 1"
pass "metrics pass promtool check metrics; kills 2 and freed $freed bytes as in the records"

# ---- Reload, and the monitor sees the daemon go ----

"${BUSCTL[@]}" call org.cgreap1 /org/cgreap1 org.cgreap1.Manager Reload || fail "Reload as root failed"
wait_file "$LOG" "Configuration reloaded"
kill "$DAEMON"; wait "$DAEMON" || fail "cgreapd exited with $? after SIGTERM"
DAEMON=
wait_file "$MON" '^cgreapd stopped'
pass "Reload by root re-reads the configuration; cgreapctl monitor says when the daemon stops"
