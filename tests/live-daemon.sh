#!/bin/bash
# cgreapd end to end against a fake cgroup tree on tmpfs whose cgroup.procs
# list real processes. The test plays the kernel: it bumps memory.events
# (inotify works on tmpfs) and, once a victim's processes are really dead,
# empties its cgroup.procs and writes "populated 0" to cgroup.events.
# The processes live in real cgroups of the same paths under the host's
# cgroup2 mount, because the reaper checks /proc/PID/cgroup after opening a
# pidfd (that is what makes it immune to pid reuse).
# Real: the processes, the kills (Method=pidfd), the daemon's event loop and
# its PSI triggers on /proc/pressure/memory (armed, never fired: no memory
# pressure is ever created here), reload by SIGHUP, its idle cost, its
# sd_notify messages (received by tests/test-helper), the Monitors property
# on a private bus (last event's level and time), kills refused by the
# kernel (the daemon without CAP_KILL, victims running as nobody),
# process_mrelease() missing (a seccomp filter), and, last, a dry-run daemon
# on the real cgroup2 mount whose monitored cgroup is removed.
. "${top_srcdir:?}/tests/lib.sh"

require_root
live_test_lock
require_cgroup2
[ -x "${CGREAPD:-}" ] || fail "CGREAPD is not set to the built cgreapd"
HELPER=${top_builddir:?}/tests/test-helper
[ -x "$HELPER" ] || fail "$HELPER is not built (make check builds it)"
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
[ -r /proc/pressure/memory ] || skip "no /proc/pressure/memory (kernel without PSI)"
command -v dbus-daemon >/dev/null || skip "no dbus-daemon (package dbus-daemon)"
command -v busctl >/dev/null || skip "no busctl (package systemd)"
command -v jq >/dev/null || skip "no jq"

base=/dev/shm
[ -d "$base" ] || base=${TMPDIR:-/tmp}
WORK=$(mktemp -d "$base/cgreap-live-daemon-XXXXXX")
FAKE=$WORK/cg
CONF=$WORK/conf
LOG=$WORK/cgreapd.log
NOTIFY=$WORK/notify.log   # every sd_notify message of the daemon, one a line
NOTIFY_SOCK=$WORK/notify.sock
LISTENER=
DAEMON=
BUSPID=
WRAP=()                   # command the daemon runs under
declare -A PIDS=()
P=/cgreap-live-$$.slice # every cgroup of the test, fake and real, is below this
REAL=$CG2         # real cgroups are made only below $P

cleanup() {
        local rc=$?
        set +e
        [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
        [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
        [ -n "$BUSPID" ] && kill "$BUSPID" 2>/dev/null
        for p in "${PIDS[@]}"; do kill -9 $p 2>/dev/null; done
        wait 2>/dev/null
        remove_cgroup_tree "$REAL$P"
        if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
        exit $rc
}
trap cleanup EXIT

# ---- the fake kernel ----

mkcg() {        # mkcg PATH
        mkdir -p "$FAKE$1"
        case $1 in "$P"*) mkdir -p "$REAL$1" ;; esac
        printf 'populated 0\nfrozen 0\n' > "$FAKE$1/cgroup.events"
        : > "$FAKE$1/cgroup.procs"
}

# populated PATH: "populated 1" on PATH and its ancestors, as the kernel
# says (cgreapd reads nothing below a cgroup that says "populated 0").
populated() {
        local p=$1
        while [ -n "$p" ]; do
                [ ! -e "$FAKE$p/cgroup.events" ] || printf 'populated 1\nfrozen 0\n' > "$FAKE$p/cgroup.events"
                p=${p%/*}
        done
}

# spawn PATH [OOM_SCORE_ADJ]: a real sleeping process listed in PATH.
spawn() {
        local adj=${2:-0} pid
        bash -c "echo $adj > /proc/self/oom_score_adj; exec sleep 1000" &
        pid=$!
        echo "$pid" > "$REAL$1/cgroup.procs"
        echo "$pid" >> "$FAKE$1/cgroup.procs"
        populated "$1"
        PIDS["$1#$pid"]=$pid
}

# spawn_nobody PATH: the same, running as nobody (a daemon without CAP_KILL
# may not signal it).
spawn_nobody() {
        local pid i
        setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 1000 &
        pid=$!
        for i in $(seq 50); do
                [ "$(awk '/^Uid:/ {print $2}' /proc/$pid/status 2>/dev/null)" = "$(id -u nobody)" ] && break
                sleep 0.1
        done
        echo "$pid" > "$REAL$1/cgroup.procs"
        echo "$pid" >> "$FAKE$1/cgroup.procs"
        populated "$1"
        PIDS["$1#$pid"]=$pid
}

pids_of() { cat "$FAKE$1/cgroup.procs"; }

# Builtins only: the fake kernel must answer within a KillTimeout= of 500ms.
alive() {
        local pid comm state
        kill -0 "$1" 2>/dev/null || return 1
        read -r pid comm state _ < "/proc/$1/stat" 2>/dev/null || return 1
        [ "$state" != Z ]
}

# bump KEY: memory.events KEY += 1 on /test.slice
# The fake kernel's memory of test.slice: short (its limit used up by
# anonymous memory: the evidence of a real shortage) from a bump on, until
# a victim is gone (settle) and its memory is back.
short() {
        local d=$FAKE$P/test.slice lim
        lim=$(cat "$d/memory.high")
        [ "$lim" = max ] && lim=$(cat "$d/memory.max")      # no guard: a dry run
        echo "$lim" > "$d/memory.current"
        printf 'anon %d\nfile 0\nactive_file 0\ninactive_file 0\nslab_reclaimable 0\n' "$lim" > "$d/memory.stat"
}
back() {
        echo 0 > "$FAKE$P/test.slice/memory.current"
        printf 'anon 0\nfile 0\n' > "$FAKE$P/test.slice/memory.stat"
}
# bump KEY: memory.events KEY += 1 on /test.slice, memory short first
# (FAKE_SHORT=0: as it is).
bump() {
        local f=$FAKE$P/test.slice/memory.events
        [ "${FAKE_SHORT:-1}" = 0 ] || short
        awk -v k="$1" '$1 == k { $2 = $2 + 1 } { print }' "$f" > "$f.new"
        cat "$f.new" > "$f"     # rewrite in place: IN_MODIFY on the watched file
        rm -f "$f.new"
}

# Wait until every process of PATH is dead, then do what the kernel does.
settle() {
        local cg=$1 p i
        for i in $(seq 500); do
                local left=0
                for p in $(pids_of "$cg"); do alive "$p" && left=1; done
                [ $left = 0 ] && break
                sleep 0.02
        done
        for p in $(pids_of "$cg"); do alive "$p" && fail "$cg: process $p is still alive"; done
        back
        : > "$FAKE$cg/cgroup.procs"
        printf 'populated 0\nfrozen 0\n' > "$FAKE$cg/cgroup.events"
}

wait_log() {    # wait_log PATTERN [SECONDS]
        local i
        for i in $(seq $(( ${2:-10} * 10 ))); do
                grep -qE -- "$1" "$LOG" && return 0
                sleep 0.1
        done
        echo "---- cgreapd log ----" >&2; cat "$LOG" >&2
        fail "timed out waiting for log line matching: $1"
}

count_log() { grep -cE -- "$1" "$LOG" || true; }

wait_count() {  # wait_count PATTERN N: until the log has N lines matching
        local i
        for i in $(seq 100); do
                [ "$(count_log "$1")" -ge "$2" ] && return 0
                sleep 0.1
        done
        echo "---- cgreapd log ----" >&2; cat "$LOG" >&2
        fail "timed out waiting for $2 log lines matching: $1"
}

wait_notify() {         # wait_notify PATTERN: a message received by sd_notify
        local i
        for i in $(seq 100); do
                grep -qE -- "$1" "$NOTIFY" && return 0
                sleep 0.1
        done
        echo "---- sd_notify messages ----" >&2; cat "$NOTIFY" >&2
        fail "timed out waiting for an sd_notify message matching: $1"
}

vm_kib() {      # vm_kib PID FIELD: a /proc/PID/status size in kB
        awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# launch ARGS...: the daemon in the background, under ${WRAP[@]}, with its
# log in $LOG and its sd_notify messages in $NOTIFY.
launch() {
        : > "$LOG"
        : > "$NOTIFY"
        NOTIFY_SOCKET=$NOTIFY_SOCK "${WRAP[@]}" "$CGREAPD" --root="$CONF" --log-level=debug "$@" 2>"$LOG" &
        DAEMON=$!
}

start_daemon() {
        launch --cgroup-root="$FAKE" "$@"
        wait_log "Monitoring $P/test.slice \\(monitor test\\)"
        wait_log 'Monitoring / \(monitor system\): 3 PSI triggers'
        wait_notify 'READY=1'
        sleep 0.3
}

stop_daemon() {
        local rc=0
        kill -TERM "$DAEMON"
        wait "$DAEMON" || rc=$?
        DAEMON=
        [ $rc = 0 ] || { echo "---- cgreapd log ----" >&2; tail -40 "$LOG" >&2; fail "cgreapd exited with $rc after SIGTERM, expected 0"; }
}

field() {       # field RECORD_LINE NAME -> value
        sed -nE "s/.* CGREAP_$2=(\"[^\"]*\"|[^ ]*).*/\1/p" <<<"$1" | tr -d '"'
}

expect_field() {        # expect_field LINE NAME VALUE
        local v; v=$(field "$1" "$2")
        [ "$v" = "$3" ] || fail "CGREAP_$2 is '$v', expected '$3' in: $1"
}

# ---- the tree and the config ----

"$HELPER" notify-listen "$NOTIFY_SOCK" "$NOTIFY" &
LISTENER=$!
for i in $(seq 50); do [ -S "$NOTIFY_SOCK" ] && break; sleep 0.1; done
[ -S "$NOTIFY_SOCK" ] || fail "the sd_notify listener did not bind $NOTIFY_SOCK"

mkdir -p "$FAKE" "$CONF$CONF_DIR/cgreap.conf.d"
echo "cpu io memory pids" > "$FAKE/cgroup.controllers"
: > "$FAKE/cgroup.procs"
mkcg /init.scope
mkcg "$P"
# A top-level cgroup: a kernel OOM kill below "/" shows in its memory.events.
printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n' > "$FAKE$P/memory.events"
mkcg $P/test.slice
printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n' > "$FAKE$P/test.slice/memory.events"
echo 1073741824 > "$FAKE$P/test.slice/memory.max"
echo max > "$FAKE$P/test.slice/memory.high"
guard=$(( 1073741824 / 10000 * 9500 )); guard=$(( guard - guard % 4096 ))
for s in hog batch web db omit; do mkcg $P/test.slice/$s.service; done
setfattr -n user.oomd_omit -v 1 "$FAKE$P/test.slice/omit.service" 2>/dev/null ||
        skip "no user.* xattrs on $base"

spawn $P/test.slice/hog.service 900       # no rule: adj from oom_score_adj
spawn $P/test.slice/batch.service         # rule 800, two processes
spawn $P/test.slice/batch.service
spawn $P/test.slice/web.service           # rule 100: only at critical
spawn $P/test.slice/db.service            # rule -1000
spawn $P/test.slice/omit.service          # rule 900 but user.oomd_omit

cat > "$CONF$CONF_DIR/cgreap.conf" <<EOF
[Kill]
Method=pidfd
# memory.events bumps are readings of the moment: they must not wait
PostKillDelay=30s
KillTimeout=5s

[Monitor system]
Cgroup=/

[Monitor test]
Cgroup=$P/test.slice
MemoryHighGuard=5%

[Monitor apps]
Cgroup=$P/apps.slice/app-*.scope
EOF
cat > "$CONF$CONF_DIR/cgreap.conf.d/50-test.conf" <<EOF
[Priority]
$P/test.slice/batch.service = 800
web.service = 100
db.service = -1000
omit.service = 900
EOF

# ---- 1. kills in priority order on memory.events ----

# A private system bus, for the Monitors property (tests/live-bus.sh has the rest).
private_bus "$WORK" bus system
BUSPID=$(cat "$WORK/bus.pid")
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/bus.sock
monitors() {
        busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --json=short get-property org.cgreap1 /org/cgreap1 \
                org.cgreap1.Manager Monitors
}

start_daemon
grep -q 'no memory controller' "$LOG" && fail "fake tree has memory in cgroup.controllers, daemon says otherwise"

# The service manager learns the state and the status text at once.
first=$(head -1 "$NOTIFY")
case $first in
*READY=1*STATUS=*"Monitoring 2 cgroups; 0 kills"*) ;;
*) cat "$NOTIFY" >&2; fail "the first sd_notify message is not READY=1 with the STATUS=: '$first'" ;;
esac
pass "sd_notify: READY=1 comes first, with STATUS= in the same message: ${first#*STATUS=}"

# ---- MemoryHighGuard=: set, and set again after systemd-style resets ----

high() { cat "$FAKE$P/test.slice/memory.high"; }
[ "$(high)" = "$guard" ] || fail "MemoryHighGuard=5%: memory.high is '$(high)', expected $guard"
echo max > "$FAKE$P/test.slice/memory.high"       # what systemd does when a unit starts
for i in $(seq 50); do [ "$(high)" = "$guard" ] && break; sleep 0.1; done
[ "$(high)" = "$guard" ] || fail "memory.high reset to max was not re-applied (is '$(high)')"
wait_log 're-applied memory.high'
pass "MemoryHighGuard=5%: memory.high=$guard, and again after a reset to max"

# The guard follows memory.max: a new limit, no limit, a limit again.
guard2=$(( 2147483648 / 10000 * 9500 )); guard2=$(( guard2 - guard2 % 4096 ))
echo 2147483648 > "$FAKE$P/test.slice/memory.max"
for i in $(seq 50); do [ "$(high)" = "$guard2" ] && break; sleep 0.1; done
[ "$(high)" = "$guard2" ] || fail "memory.max raised to 2G: memory.high is '$(high)', expected $guard2"
echo max > "$FAKE$P/test.slice/memory.max"
for i in $(seq 50); do [ "$(high)" = max ] && break; sleep 0.1; done
[ "$(high)" = max ] || fail "memory.max lifted: memory.high is '$(high)', expected max"
wait_log 'memory.max of .* was lifted'
echo 1073741824 > "$FAKE$P/test.slice/memory.max"
for i in $(seq 50); do [ "$(high)" = "$guard" ] && break; sleep 0.1; done
[ "$(high)" = "$guard" ] || fail "memory.max set again: memory.high is '$(high)', expected $guard"
echo 500000000 > "$FAKE$P/test.slice/memory.high"  # the administrator's own
echo 1610612736 > "$FAKE$P/test.slice/memory.max"
sleep 0.5
[ "$(high)" = 500000000 ] || fail "an administrator's memory.high was overwritten: '$(high)'"
echo max > "$FAKE$P/test.slice/memory.high"
echo 1073741824 > "$FAKE$P/test.slice/memory.max"
for i in $(seq 50); do [ "$(high)" = "$guard" ] && break; sleep 0.1; done
[ "$(high)" = "$guard" ] || fail "guard not back after the administrator's memory.high went: '$(high)'"
pass "MemoryHighGuard= follows memory.max (raised, lifted, set again) and leaves an administrator's memory.high alone"

# memory.max reached, but half of what test.slice uses is page cache: a
# wake-up without evidence. Nothing dies, and the daemon says why.
stat=$FAKE$P/test.slice/memory.stat
echo "$guard" > "$FAKE$P/test.slice/memory.current"
printf 'anon %d\nfile %d\nactive_file %d\ninactive_file 0\nslab_reclaimable 0\n' \
        $((guard / 2)) $((guard / 2)) $((guard / 2)) > "$stat"
FAKE_SHORT=0 bump max
wait_log 'Memory pressure in .*test.slice .*memory is not running out'
sleep 0.5
[ "$(count_log '^Killed ')" = 0 ] || fail "a kill although half of the limit is page cache"
pass "memory.events max with the limit's headroom in page cache: no kill, and the log says why"

# All of it anonymous now: the limit row holds.
hog=$(pids_of $P/test.slice/hog.service)
bump max
wait_log 'Killed hog.service'
settle $P/test.slice/hog.service
wait_log 'Reclaimed hog.service'
# The kill's event is the test monitor's last; the PSI triggers on / never
# fired. /proc/uptime is CLOCK_BOOTTIME, equal to CLOCK_MONOTONIC without suspend.
up=$(awk '{ printf "%.0f", $1 * 1000000 }' /proc/uptime)
monitors | jq -e --arg p "$P" --argjson up "$up" '
        (.data | map({(.[0]): .}) | add) as $m |
        ($m.test[1] == $p + "/test.slice") and ($m.test[3] | IN("medium", "critical")) and
        $m.test[4] > $up - 60000000 and $m.test[4] <= $up + 1000000 and
        $m.system[3:5] == ["none", 0]' >/dev/null || fail "Monitors after the kill: $(monitors)"
pass "Monitors: the test monitor's last event ($(monitors | jq -r '.data[] | select(.[0] == "test") | .[3]')) and its CLOCK_MONOTONIC time; none on /"
kill_line=$(grep -E '^Killed hog.service' "$LOG" | head -1)
expect_field "$kill_line" CGROUP $P/test.slice/hog.service
expect_field "$kill_line" UNIT hog.service
expect_field "$kill_line" ADJ 900
expect_field "$kill_line" ADJ_SOURCE oom_score_adj
expect_field "$kill_line" REASON limit
expect_field "$kill_line" LEVEL critical
grep -q 'limit headroom 0.00%' <<<"$(field "$kill_line" EVIDENCE)" ||
        fail "kill record's CGREAP_EVIDENCE lacks the limit headroom: $kill_line"
expect_field "$kill_line" MONITOR test
expect_field "$kill_line" MONITOR_CGROUP $P/test.slice
# The bump, or the armed poll that saw the limit used up first: both wake-ups.
grep -qE '^(memory.events max|MinAvailable 2.00%)$' <<<"$(field "$kill_line" TRIGGER)" ||
        fail "unexpected CGREAP_TRIGGER in: $kill_line"
expect_field "$kill_line" METHOD pidfd
expect_field "$kill_line" PIDS 1
expect_field "$kill_line" DRY_RUN 0
[ -n "$(field "$kill_line" DECISION_USEC)" ] || fail "kill record lacks CGREAP_DECISION_USEC: $kill_line"
id=$(field "$kill_line" KILL_ID)
[ -n "$id" ] || fail "kill record has no CGREAP_KILL_ID: $kill_line"
for f in PRESSURE_SOME_AVG10 PRESSURE_FULL_AVG10 MEMORY_BYTES SWAP_BYTES; do
        [ -n "$(field "$kill_line" $f)" ] || fail "kill record lacks CGREAP_$f: $kill_line"
done
rec_line=$(grep -E '^Reclaimed hog.service' "$LOG" | head -1)
expect_field "$rec_line" KILL_ID "$id"
for f in MRELEASE FREED_BYTES EMPTY_USEC; do
        [ -n "$(field "$rec_line" $f)" ] || fail "reclaimed record lacks CGREAP_$f: $rec_line"
done
alive "$hog" && fail "hog.service process $hog survived"
pass "memory.events max killed the highest adj (hog.service, adj 900 from oom_score_adj)"

for p in $(pids_of $P/test.slice/batch.service) $(pids_of $P/test.slice/web.service) \
         $(pids_of $P/test.slice/db.service) $(pids_of $P/test.slice/omit.service); do
        alive "$p" || fail "process $p died with hog.service"
done

bump oom
wait_log 'Killed batch.service'
settle $P/test.slice/batch.service
wait_log 'Reclaimed batch.service'
expect_field "$(grep -E '^Killed batch.service' "$LOG")" PIDS 2
expect_field "$(grep -E '^Killed batch.service' "$LOG")" ADJ_SOURCE "rule 50-test.conf:2"
pass "memory.events oom killed both processes of batch.service (adj 800, rule 50-test.conf:2)"

bump max
wait_log 'Killed web.service'
settle $P/test.slice/web.service
wait_log 'Reclaimed web.service'
pass "web.service (adj 100) killed at critical level"

bump max
wait_log 'Nothing to kill on'
for cg in db omit; do
        for p in $(pids_of $P/test.slice/$cg.service); do
                alive "$p" || fail "protected $cg.service process $p was killed"
        done
done
[ "$(count_log '^Killed ')" = 3 ] || fail "expected exactly 3 kills, log has $(count_log '^Killed ')"
wait_notify 'STATUS=Monitoring 2 cgroups; 3 kills; last: web.service'
pass "db.service (rule -1000) and omit.service (user.oomd_omit) survive; 'nothing eligible' reported"

# The shortage lasts (the fake kernel frees nothing) and the monitor stays
# armed, polling every 100ms: with nothing eligible it reads the tree again
# about once a second, not on every poll.
n0=$(count_log 'candidates ranked')
sleep 3
n=$(( $(count_log 'candidates ranked') - n0 ))
[ "$n" -le 4 ] || fail "$n decisions read the tree in 3s of armed pressure with nothing eligible"
pass "3s of armed pressure with nothing eligible: the tree was read $n times (polls every 100ms)"

# ---- cgroups that appear later are monitored without a restart ----

# Built aside and moved in: a real cgroup appears with all its files at once.
mkcg $P/apps.slice
# A late apps.slice/NAME, its limit used up by anonymous memory (the
# evidence of a real shortage), once the daemon monitors it.
late_cgroup() {
        mkcg /new-staging
        printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n' > "$FAKE/new-staging/memory.events"
        echo 104857600 > "$FAKE/new-staging/memory.max"
        echo max > "$FAKE/new-staging/memory.high"
        echo 104857600 > "$FAKE/new-staging/memory.current"
        printf 'anon 104857600\nfile 0\n' > "$FAKE/new-staging/memory.stat"
        mv "$FAKE/new-staging" "$FAKE$P/apps.slice/$1"
        mkdir -p "$REAL$P/apps.slice/$1"
        wait_log "Monitoring $P/apps.slice/$1 \\(monitor apps\\)"
}
late_cgroup app-late-1.scope
spawn $P/apps.slice/app-late-1.scope
late_app=$(pids_of $P/apps.slice/app-late-1.scope)
f=$FAKE$P/apps.slice/app-late-1.scope/memory.events
sed 's/^max 0/max 1/' "$f" > "$f.new"; cat "$f.new" > "$f"; rm -f "$f.new"
wait_log 'Killed app-late-1.scope'
settle $P/apps.slice/app-late-1.scope
expect_field "$(grep -E '^Killed app-late-1.scope' "$LOG")" MONITOR apps
alive "$late_app" && fail "app-late-1.scope survived"
pass "a cgroup created after start is monitored (glob app-*.scope) and acted on"
rm -rf "$FAKE$P/apps.slice/app-late-1.scope"
wait_log "Stopped monitoring $P/apps.slice/app-late-1.scope"

pass "... and dropped when it goes away"

# ---- a full inotify queue: the lost events are made good by a rescan ----

# With the daemon stopped, more events than the queue holds (files, which
# alone cause no rescan), then a new cgroup whose event is lost.
maxq=$(cat /proc/sys/fs/inotify/max_queued_events)
kill -STOP "$DAEMON"
(cd "$FAKE$P/apps.slice" && seq -f 'noise-%.0f' 0 "$maxq" | xargs touch)
mkdir "$FAKE/new-staging"
printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n' > "$FAKE/new-staging/memory.events"
printf 'populated 0\nfrozen 0\n' > "$FAKE/new-staging/cgroup.events"
: > "$FAKE/new-staging/cgroup.procs"
echo 104857600 > "$FAKE/new-staging/memory.max"
echo max > "$FAKE/new-staging/memory.high"
echo 104857600 > "$FAKE/new-staging/memory.current"
printf 'anon 104857600\nfile 0\n' > "$FAKE/new-staging/memory.stat"
mv "$FAKE/new-staging" "$FAKE$P/apps.slice/app-late-2.scope"
mkdir -p "$REAL$P/apps.slice/app-late-2.scope"
kill -CONT "$DAEMON"
wait_log 'The inotify queue overflowed; rescanning the cgroup tree'
wait_log "Monitoring $P/apps.slice/app-late-2.scope \\(monitor apps\\)"
rm -rf "$FAKE$P/apps.slice"/noise*
pass "an overflowed inotify queue ($maxq events) led to a rescan that found app-late-2.scope"

# ---- a monitor that cannot be re-created on reload keeps the old one ----

# Without memory.events (and no PSI file in the fake tree) a new monitor
# has nothing to watch; the old one still watches the file's inode.
f=$FAKE$P/apps.slice/app-late-2.scope/memory.events
mv "$f" "$f.aside"
reloads=$(count_log 'Configuration reloaded')
kill -HUP "$DAEMON"
wait_count 'Configuration reloaded' $((reloads + 1))
grep -qE "Failed to re-create the monitor of $P/apps.slice/app-late-2.scope: .*keeping the old one" "$LOG" ||
        { cat "$LOG" >&2; fail "no 'keeping the old one' after a failed re-creation"; }
grep -q "Stopped monitoring $P/apps.slice/app-late-2.scope" "$LOG" && fail "the reload dropped the monitor of app-late-2.scope"
mv "$f.aside" "$f"
spawn $P/apps.slice/app-late-2.scope
late_app=$(pids_of $P/apps.slice/app-late-2.scope)
sed 's/^max 0/max 1/' "$f" > "$f.new"; cat "$f.new" > "$f"; rm -f "$f.new"
wait_log 'Killed app-late-2.scope'
settle $P/apps.slice/app-late-2.scope
alive "$late_app" && fail "app-late-2.scope survived"
pass "reload: a monitor that could not be re-created was kept, and still acted (app-late-2.scope killed)"
rm -rf "$FAKE$P/apps.slice/app-late-2.scope"
wait_log "Stopped monitoring $P/apps.slice/app-late-2.scope"

# ---- a limit hit while the inotify queue is full is still acted on ----

# The memory.events change is lost with the other events; the monitors
# rebuilt after the rescan compare with what the old ones last read.
late_cgroup app-late-3.scope
spawn $P/apps.slice/app-late-3.scope
late_app=$(pids_of $P/apps.slice/app-late-3.scope)
f=$FAKE$P/apps.slice/app-late-3.scope/memory.events
overflows=$(count_log 'The inotify queue overflowed')
kill -STOP "$DAEMON"
(cd "$FAKE$P/apps.slice" && seq -f 'noise-%.0f' 0 "$maxq" | xargs touch)
sed 's/^max 0/max 1/' "$f" > "$f.new"; cat "$f.new" > "$f"; rm -f "$f.new"
kill -CONT "$DAEMON"
wait_count 'The inotify queue overflowed' $((overflows + 1))
wait_log 'Killed app-late-3.scope'
settle $P/apps.slice/app-late-3.scope
alive "$late_app" && fail "app-late-3.scope survived"
rm -rf "$FAKE$P/apps.slice"/noise* "$FAKE$P/apps.slice/app-late-3.scope"
wait_log "Stopped monitoring $P/apps.slice/app-late-3.scope"
pass "a limit hit while the inotify queue was full was acted on after the rescan (app-late-3.scope killed)"

# ---- MinAvailable= foreseen is looked at, not acted on ----

# test.slice's limit is its guard (memory.high). A "high" event arms the
# polling without a kill; the polls see half the limit used, then 97.5%:
# 2.5% is above MinAvailable=2% and falling fast. That brings the next look
# forward; it kills nothing. Only the reading below 2% is evidence.
mkcg $P/test.slice/fall.service
spawn $P/test.slice/fall.service 500
fall=$(pids_of $P/test.slice/fall.service)
cur=$FAKE$P/test.slice/memory.current
echo $(( guard / 2 )) > "$cur"
printf 'anon %d\nfile 0\n' $(( guard / 2 )) > "$stat"
FAKE_SHORT=0 bump high
sleep 0.5
[ "$(count_log '^Killed fall.service')" = 0 ] || fail "fall.service killed with half the limit free"
echo $(( guard - guard / 40 )) > "$cur"
printf 'anon %d\nfile 0\n' $(( guard - guard / 40 )) > "$stat"
sleep 1
[ "$(count_log '^Killed fall.service')" = 0 ] || fail "fall.service killed at 2.5% headroom (a prediction)"
pass "headroom 2.5% and falling fast: foreseen, not acted on"
echo $(( guard - guard / 100 )) > "$cur"
printf 'anon %d\nfile 0\n' $(( guard - guard / 100 )) > "$stat"
FAKE_SHORT=0 bump high
wait_log 'Killed fall.service'
fall_line=$(grep -E '^Killed fall.service' "$LOG" | head -1)
expect_field "$fall_line" REASON limit
expect_field "$fall_line" TRIGGER "MinAvailable 2.00%"
settle $P/test.slice/fall.service
wait_log 'Reclaimed fall.service'
alive "$fall" && fail "fall.service survived"
pass "headroom 1%: killed on the evidence (REASON limit)"

# test.slice has no memory.pressure in the fake tree: the armed polls of
# its monitor (the last one made, by a reload or rescan) say so once, not
# on every tick.
n=$(awk -v made="cannot arm the early PSI trigger on $FAKE$P/test.slice/memory.pressure" \
        -v said="failed to read $FAKE$P/test.slice/memory.pressure" \
        'index($0, made) { n = 0 } index($0, said) { n++ } END { print n + 0 }' "$LOG")
[ "$n" = 1 ] || fail "an unreadable memory.pressure was logged $n times, expected once"
pass "an unreadable memory.pressure is logged once per monitor"

# ---- cgroup.kill: the real one, through the fake tree ----

# The fake cgroup's cgroup.kill is a symlink to its real twin's, so the
# kernel kills the real processes when the daemon writes it. The reaper
# thread writes it (ReleaseMemory=yes), and that is its first malloc():
# it must come from memory mapped (and locked) at start-up, not from a
# new 64 MiB glibc arena of the thread's own.
mkcg $P/test.slice/ck.service
spawn $P/test.slice/ck.service
spawn $P/test.slice/ck.service
ln -s "$REAL$P/test.slice/ck.service/cgroup.kill" "$FAKE$P/test.slice/ck.service/cgroup.kill"
printf '[Kill]\nMethod=auto\n[Priority]\nck.service = 950\n' > "$CONF$CONF_DIR/cgreap.conf.d/55-ck.conf"
reloads=$(count_log 'Configuration reloaded')
kill -HUP "$DAEMON"
wait_count 'Configuration reloaded' $((reloads + 1))
ck=$(pids_of $P/test.slice/ck.service)
vm_before=$(vm_kib "$DAEMON" VmSize)
calm=$(count_log 'calm again, disarmed')
bump max
wait_log 'Killed ck.service'
settle $P/test.slice/ck.service
wait_log 'Reclaimed ck.service'
wait_count 'calm again, disarmed' $((calm + 1))   # before the reload below
vm_after=$(vm_kib "$DAEMON" VmSize)
expect_field "$(grep -E '^Killed ck.service' "$LOG")" METHOD cgroup-kill
expect_field "$(grep -E '^Killed ck.service' "$LOG")" PIDS 2
for p in $ck; do alive "$p" && fail "ck.service process $p survived cgroup.kill"; done
pass "cgroup.kill (Method=auto) killed both processes of ck.service"
# (ASan's allocator maps as it likes.)
if ! ldd "$CGREAPD" 2>/dev/null | grep -q libasan; then
        [ $((vm_after - vm_before)) -lt 16384 ] ||
                fail "the reaper thread's first kill grew cgreapd's mappings from ${vm_before}kB to ${vm_after}kB"
        pass "the reaper thread's first cgroup.kill maps no new memory (VmSize ${vm_before}kB -> ${vm_after}kB)"
fi
rm -f "$CONF$CONF_DIR/cgreap.conf.d/55-ck.conf"
kill -HUP "$DAEMON"
wait_count 'Configuration reloaded' $((reloads + 2))

# ---- memory.events that moved while a kill was under way ----

# The limit is hit again while the victim is still dying, and the kernel's
# inotify event for it reaches the daemon together with the victim's
# "populated 0" (the daemon is stopped while both happen): that is the
# shortage the kill is answering, not a new one, so race2.service lives.
mkcg $P/test.slice/race1.service
mkcg $P/test.slice/race2.service
spawn $P/test.slice/race1.service 960
spawn $P/test.slice/race2.service 940
race1=$(pids_of $P/test.slice/race1.service)
race2=$(pids_of $P/test.slice/race2.service)
kills=$(count_log '^Killed ')
bump max
wait_log 'Killed race1.service'
for i in $(seq 100); do alive "$race1" || break; sleep 0.1; done
kill -STOP "$DAEMON"
back
: > "$FAKE$P/test.slice/race1.service/cgroup.procs"
printf 'populated 0\nfrozen 0\n' > "$FAKE$P/test.slice/race1.service/cgroup.events"
FAKE_SHORT=0 bump max   # the victim's memory is back: only the counter moved
kill -CONT "$DAEMON"
wait_log 'Reclaimed race1.service'
sleep 1
[ "$(count_log '^Killed ')" = $((kills + 1)) ] ||
        fail "a second kill for the memory.events change made during the first: $(grep -E '^Killed ' "$LOG" | tail -1)"
alive "$race2" || fail "race2.service was killed for the shortage the kill of race1.service answered"
pass "memory.events that moved during a kill is taken as part of it: no second kill"
kill -KILL "$race2"
settle $P/test.slice/race2.service

# ---- 2. idle: while calm, only the look at MemAvailable (CalmPollInterval=1s) ----

ctx() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$DAEMON/status"; }
# The last memory.events change armed fast polling; it ends PollDuration
# (2s) after the last pressure. Calm starts there.
for i in $(seq 100); do
        [ "$(grep -E 'armed, polling|calm again, disarmed' "$LOG" | tail -1 | grep -c 'calm again')" = 1 ] && break
        sleep 0.1
done
grep -E 'armed, polling|calm again, disarmed' "$LOG" | tail -1 | grep -q 'calm again' ||
        fail "fast polling was never disarmed after the pressure ended"
sleep 0.5
before=$(ctx)
lines=$(wc -l < "$LOG")
sleep 10
after=$(ctx)
echo "idle: voluntary context switches $before -> $after over 10s"
# One look a second at the host's ample MemAvailable, each one wake-up; it
# arms nothing.
[ $((after - before)) -le 12 ] || fail "cgreapd woke up $((after - before)) times in 10s of calm, not about 10"
tail -n +$((lines + 1)) "$LOG" | grep -q 'armed, polling\|arming' &&
        fail "a calm look armed polling on a calm host: $(tail -n +$((lines + 1)) "$LOG" | grep -m1 'arming\|armed')"
pass "idle for 10s with $((after - before)) wake-ups (the calm look at MemAvailable), nothing armed"

# ---- 3. reload: a broken config is refused, a good one is used ----

# late.service has no rule (adj 0, eligible at critical). The broken drop-in
# would protect it on its line 2 and fails on line 3: if any of it were
# applied, late.service would survive the next pressure.
mkcg $P/test.slice/late.service
spawn $P/test.slice/late.service
late=$(pids_of $P/test.slice/late.service)
printf '[Priority]\nlate.service = -1000\nlate2.service = lots\n' > "$CONF$CONF_DIR/cgreap.conf.d/60-late.conf"
kill -HUP "$DAEMON"
wait_log "60-late.conf:3: "
wait_log 'Refusing the new configuration'
bump max
wait_log 'Killed late.service'
settle $P/test.slice/late.service
wait_log 'Reclaimed late.service'
alive "$late" && fail "late.service survived"
pass "broken reload refused with file:line; the old rules stay whole (late.service killed)"

mkcg $P/test.slice/late2.service
spawn $P/test.slice/late2.service
late2=$(pids_of $P/test.slice/late2.service)
printf '[Priority]\nlate2.service = -1000\n' > "$CONF$CONF_DIR/cgreap.conf.d/60-late.conf"
# The reload rebuilds every monitor; the guard of test.slice must stay as
# it is, not go back to max for a moment (a write that tmpfs would date).
high_mtime=$(stat -c %y "$FAKE$P/test.slice/memory.high")
reloads=$(count_log 'Configuration reloaded')
kill -HUP "$DAEMON"
wait_count 'Configuration reloaded' $((reloads + 1))
sleep 0.3
[ "$(high)" = "$guard" ] || fail "after a reload memory.high is '$(high)', expected $guard"
[ "$(stat -c %y "$FAKE$P/test.slice/memory.high")" = "$high_mtime" ] ||
        fail "a reload rewrote memory.high of a cgroup that stays guarded (the guard went away for a moment)"
pass "reload: MemoryHighGuard= handed over to the new monitor without touching memory.high"
n_before=$(count_log '^Killed ')
n_nothing=$(count_log 'Nothing to kill on')
bump max
for i in $(seq 50); do [ "$(count_log 'Nothing to kill on')" -gt "$n_nothing" ] && break; sleep 0.1; done
[ "$(count_log '^Killed ')" = "$n_before" ] || fail "a kill happened after the reload protected late2.service"
alive "$late2" || fail "late2.service ($late2) was killed although the reload protected it"
pass "good reload applied: late2.service (new rule -1000) survives the next pressure"

# A crash leaves the guard written; the next daemon takes it for its own
# (and so restores max when it exits, checked below).
kill -KILL "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
DAEMON=
[ "$(high)" = "$guard" ] || fail "after SIGKILL memory.high is '$(high)', expected $guard"
start_daemon
grep -qF "memory.high of $P/test.slice is $guard, MemoryHighGuard='s own value; taking it over" "$LOG" ||
        { cat "$LOG" >&2; fail "a restarted daemon did not recognise its own MemoryHighGuard= value"; }
pass "MemoryHighGuard= after a crash and restart: memory.high=$guard recognised as the guard"

stop_daemon
pass "SIGTERM: clean exit 0"
[ "$(high)" = max ] || fail "memory.high not restored to max on exit (is '$(high)')"
pass "MemoryHighGuard=: memory.high restored to max on exit"

# ---- 4. dry run: decide and report, kill nothing ----

mkcg $P/test.slice/dry.service
spawn $P/test.slice/dry.service 500
dry=$(pids_of $P/test.slice/dry.service)
start_daemon --dry-run
[ "$(high)" = max ] || fail "--dry-run wrote memory.high ('$(high)')"
grep -q "dry run, MemoryHighGuard= leaves memory.high of $P/test.slice alone" "$LOG" ||
        fail "--dry-run: no word that MemoryHighGuard= writes nothing"
bump max
wait_log 'Would kill dry.service'
line=$(grep -E '^Would kill dry.service' "$LOG" | head -1)
expect_field "$line" DRY_RUN 1
sleep 1
alive "$dry" || fail "dry run killed dry.service ($dry)"
stop_daemon
pass "--dry-run: record with CGREAP_DRY_RUN=1 and the victim still alive"

# The same from the configuration file, without the option.
printf '[Agent]\nDryRun=yes\n' > "$CONF$CONF_DIR/cgreap.conf.d/75-dry.conf"
start_daemon
grep -q 'dry run: nothing will be killed' "$LOG" || fail "DryRun=yes: the daemon does not say it runs dry"
[ "$(high)" = max ] || fail "DryRun=yes wrote memory.high ('$(high)')"
bump max
wait_log 'Would kill dry.service'
expect_field "$(grep -E '^Would kill dry.service' "$LOG" | head -1)" DRY_RUN 1
wait_notify 'STATUS=\[dry run\] Monitoring 2 cgroups; 0 kills; last: would kill dry.service'
sleep 1
alive "$dry" || fail "DryRun=yes killed dry.service ($dry)"
[ "$(count_log '^Killed ')" = 0 ] || fail "DryRun=yes: the log has a 'Killed' record"
stop_daemon
rm -f "$CONF$CONF_DIR/cgreap.conf.d/75-dry.conf"
pass "DryRun=yes in a drop-in: 'Would kill' with CGREAP_DRY_RUN=1, STATUS '[dry run] ... 0 kills', victim alive, memory.high untouched"
kill "$dry"
settle $P/test.slice/dry.service

# ---- 5. bad configuration at start: exit 1 with file:line ----

printf '[Kill]\nMediumMinAdj=2000\n' > "$CONF$CONF_DIR/cgreap.conf.d/70-bad.conf"
set +e
"$CGREAPD" --root="$CONF" --cgroup-root="$FAKE" 2>"$WORK/bad.log"
rc=$?
set -e
[ $rc = 1 ] || fail "invalid config: exit code $rc, expected 1"
grep -q "70-bad.conf:2: " "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "no file:line in the error"; }
rm -f "$CONF$CONF_DIR/cgreap.conf.d/70-bad.conf"
pass "invalid config at start: exit 1 and '70-bad.conf:2:'"

# ---- 6. kills the kernel refuses: no CAP_KILL, victims running as nobody ----

# setpriv takes CAP_KILL out of the bounding set, so the daemon runs
# without it: pidfd_send_signal() to another user's process is EPERM.
for s in nobody nobody2 mine; do mkcg $P/test.slice/$s.service; done
spawn_nobody $P/test.slice/nobody.service
spawn $P/test.slice/mine.service
nobody=$(pids_of $P/test.slice/nobody.service)
cat > "$CONF$CONF_DIR/cgreap.conf.d/80-cap.conf" <<EOF
[Priority]
nobody.service = 950
nobody2.service = 980
mine.service = 600
EOF
WRAP=(setpriv --bounding-set -kill)
start_daemon
[ $(( 0x$(awk '/^CapBnd:/ {print $2}' "/proc/$DAEMON/status") & (1 << 5) )) = 0 ] ||
        fail "the daemon still has CAP_KILL in its bounding set"
bump max
# The best victim cannot be signalled: no kill, no record; the next one dies.
wait_log "Failed to kill $P/test.slice/nobody.service, no process was signalled: Operation not permitted"
wait_log 'Killed mine.service'
settle $P/test.slice/mine.service
wait_log 'Reclaimed mine.service'
[ "$(count_log '^Killed nobody.service')" = 0 ] || fail "a 'Killed nobody.service' record for a kill that signalled nothing"
alive "$nobody" || fail "nobody.service ($nobody) died although the daemon could not kill it"
wait_notify 'STATUS=Monitoring 2 cgroups; 1 kill, 1 failed; last: mine.service'
pass "worker kill refused (EPERM): warning, no record, counted as failed; the next victim (mine.service) killed"

# Passed over now, not tried again and again.
n_nothing=$(count_log 'Nothing to kill on')
bump max
wait_count 'Nothing to kill on' $((n_nothing + 1))
[ "$(count_log 'Failed to kill')" = 1 ] || fail "nobody.service was tried again: $(grep 'Failed to kill' "$LOG")"
pass "... and passed over by the next decision ('nothing eligible')"

# The same kill sent from the loop (ReleaseMemory=no).
printf '[Kill]\nReleaseMemory=no\n' > "$CONF$CONF_DIR/cgreap.conf.d/81-norelease.conf"
spawn_nobody $P/test.slice/nobody2.service
nobody2=$(pids_of $P/test.slice/nobody2.service)
kill -HUP "$DAEMON"
wait_log 'Configuration reloaded'
bump max
wait_log "Failed to kill $P/test.slice/nobody2.service, no process was signalled: Operation not permitted"
wait_notify 'STATUS=Monitoring 2 cgroups; 1 kill, 2 failed'
alive "$nobody2" || fail "nobody2.service ($nobody2) died"
[ "$(count_log '^Killed ')" = 1 ] || fail "expected only the kill of mine.service, log has $(count_log '^Killed ')"
stop_daemon
WRAP=()
pass "loop kill refused (ReleaseMemory=no): the same warning, counted, no record"
rm -f "$CONF$CONF_DIR/cgreap.conf.d/80-cap.conf" "$CONF$CONF_DIR/cgreap.conf.d/81-norelease.conf"
kill "$nobody" "$nobody2"
settle $P/test.slice/nobody.service
settle $P/test.slice/nobody2.service

# ---- 7. victims that do not die in time, an empty victim, no process_mrelease() ----

# ghost.service: the fake kernel says populated, but its only process is
# dead. stuck.service: the fake kernel keeps saying "populated 1" after its
# process died (what a process stuck in D state looks like).
# process_mrelease() (448) fails with ENOSYS, as on Linux < 5.15.
for s in ghost stuck next; do mkcg $P/test.slice/$s.service; done
spawn $P/test.slice/ghost.service
ghost=$(pids_of $P/test.slice/ghost.service)
kill "$ghost"
while alive "$ghost"; do sleep 0.1; done
populated "$P/test.slice/ghost.service"
spawn $P/test.slice/stuck.service
spawn $P/test.slice/next.service
PROM=$WORK/textfile/cgreap.prom
mkdir -p "$WORK/textfile"
cat > "$CONF$CONF_DIR/cgreap.conf.d/82-stuck.conf" <<EOF
[Agent]
MetricsFile=$PROM

[Kill]
KillTimeout=500ms

[Priority]
ghost.service = 990
stuck.service = 970
next.service = 650
EOF
WRAP=("$HELPER" enosys 448)
start_daemon
bump max
wait_log 'Killed stuck.service'
back    # each decision of this part comes from its own bump
grep -qE "Not killing $P/test.slice/ghost.service: No such file or directory" "$LOG" ||
        fail "ghost.service was not refused as empty"
[ "$(count_log '^Killed ghost.service')" = 0 ] || fail "a kill record for ghost.service, which had no process"
expect_field "$(grep -E '^Killed stuck.service' "$LOG")" PIDS 1
pass "an empty victim (populated, but no live process) is refused without a record; the next one is killed"

# It dies, but the fake kernel keeps it populated: KillTimeout= expires.
wait_log 'stuck.service is still populated [0-9]+ms after the kill'
rec=$(grep -E '^stuck.service is still populated' "$LOG" | head -1)
expect_field "$rec" TIMED_OUT 1
expect_field "$rec" MRELEASE unsupported
[ "$(field "$rec" EMPTY_USEC)" -ge 500000 ] || fail "CGREAP_EMPTY_USEC of a timed-out kill is not the wait: $rec"
wait_log "Passing $P/test.slice/stuck.service over for 6s or until it is empty"
wait_notify 'STATUS=Monitoring 2 cgroups; 1 kill, 1 timed out; last: stuck.service'
pass "KillTimeout=500ms expired: warning record (TIMED_OUT=1, EMPTY_USEC=$(field "$rec" EMPTY_USEC)), counted in STATUS"

# The fake kernel empties next.service as soon as its process is dead:
# KillTimeout= is 500ms here, less than a loaded machine may take to get
# from the kill record to a settle after it.
settle $P/test.slice/next.service &
settler=$!
bump max
wait_log 'Killed next.service'
[ "$(count_log '^Killed stuck.service')" = 1 ] || fail "stuck.service was chosen again while it was still dying"
wait "$settler" || fail "next.service did not die"
wait_log 'Reclaimed next.service'
expect_field "$(grep -E '^Reclaimed next.service' "$LOG")" MRELEASE unsupported
pass "the victim that did not die is passed over: next.service killed instead"

# Once it is empty it may be chosen again.
settle $P/test.slice/stuck.service
wait_log "$P/test.slice/stuck.service is empty now: it may be chosen again"
spawn $P/test.slice/stuck.service
bump max
wait_count '^Killed stuck.service' 2
pass "populated 0 ends the pass-over: stuck.service killed again"

# Stuck again; a new process appears in it (populated all along): passed
# over until 12 x KillTimeout= = 6s have passed, then chosen again.
wait_count '^stuck.service is still populated' 2
stuck_since=$(date +%s.%N)
spawn $P/test.slice/stuck.service
n_ghost=$(count_log "Not killing $P/test.slice/ghost.service")
bump max
wait_count "Not killing $P/test.slice/ghost.service" $((n_ghost + 1))
sleep 0.5
[ "$(count_log '^Killed stuck.service')" = 2 ] || fail "stuck.service was chosen again within its 6s"
sleep "$(awk -v s="$stuck_since" -v n="$(date +%s.%N)" 'BEGIN { d = 6.5 - (n - s); print (d > 0 ? d : 0) }')"
bump max
wait_log "$P/test.slice/stuck.service was passed over long enough: it may be chosen again"
wait_count '^Killed stuck.service' 3
pass "after 12 x KillTimeout= a victim that did not die is chosen again"

# The root cgroup has no memory.events: the monitor of "/" sees a kernel
# OOM kill in the top-level cgroup's, names that cgroup, and counts it.
printf 'low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n' > "$FAKE$P/memory.events"
wait_log "^Kernel OOM killer killed 1 process in $P \(monitor system\) \([0-9]+ on the machine since boot\).* CGREAP_CGROUP=$P "
wait_notify 'STATUS=Monitoring 2 cgroups; [^;]*, 1 by the kernel'
pass "monitor of /: a kernel OOM kill in a top-level cgroup is reported with that cgroup and counted"

# MetricsFile=: rewritten for the kernel OOM kill; then not rewritten while
# nothing happens (no timer), the monitors running.
wait_file "$PROM" '^cgreap_kernel_oom_kills_total 1$'
wait_count '^stuck.service is still populated' 3
sleep 0.5
records=$(grep -cE '^(Killed|Reclaimed|stuck.service is still|Kernel OOM)' "$LOG")
before=$(stat -c '%i %Y' "$PROM")
sleep 2
[ "$(grep -cE '^(Killed|Reclaimed|stuck.service is still|Kernel OOM)' "$LOG")" = "$records" ] ||
        fail "an event in the quiet 2 s: $(tail -5 "$LOG")"
[ "$(stat -c '%i %Y' "$PROM")" = "$before" ] || fail "MetricsFile= was rewritten while nothing happened"
pass "MetricsFile= counts the kernel OOM kill, and is not rewritten in 2 s without events"

[ "$(count_log 'process_mrelease\(\) is not available')" = 1 ] ||
        fail "the ENOSYS warning is not there exactly once: $(count_log 'process_mrelease\(\) is not available')"
stop_daemon
WRAP=()
pass "process_mrelease() ENOSYS: warned once over $(count_log '^Killed ') kills, records say MRELEASE=unsupported"
rm -f "$CONF$CONF_DIR/cgreap.conf.d/82-stuck.conf"
settle $P/test.slice/stuck.service
: > "$FAKE$P/test.slice/ghost.service/cgroup.procs"
printf 'populated 0\nfrozen 0\n' > "$FAKE$P/test.slice/ghost.service/cgroup.events"

# ---- 8. the real cgroup2 mount: a monitored cgroup removed (EPOLLERR) ----

# A dry run (nothing can be killed) that monitors only real, empty child
# cgroups of this test; no memory pressure is created.
RCONF=$WORK/conf-real
mkdir -p "$RCONF$CONF_DIR"
cat > "$RCONF$CONF_DIR/cgreap.conf" <<EOF
[Agent]
DryRun=yes

[Monitor psi]
Cgroup=$P/psi.slice/*.scope
EOF
mkdir -p "$REAL$P/psi.slice/a.scope" "$REAL$P/psi.slice/b.scope"
: > "$LOG"
: > "$NOTIFY"
NOTIFY_SOCKET=$NOTIFY_SOCK "$CGREAPD" --root="$RCONF" --log-level=debug 2>"$LOG" &
DAEMON=$!
wait_log "Monitoring $P/psi.slice/a.scope \(monitor psi\): 3 PSI triggers"
wait_log "Monitoring $P/psi.slice/b.scope \(monitor psi\): 3 PSI triggers"
wait_notify 'READY=1'
rmdir "$REAL$P/psi.slice/a.scope"
wait_log "Stopped monitoring $P/psi.slice/a.scope \(monitor psi\): cgroup is gone"
sleep 0.5
kill -0 "$DAEMON" 2>/dev/null || fail "cgreapd died when a monitored cgroup was removed"
wait_notify 'STATUS=\[dry run\] Monitoring 1 cgroup; 0 kills'
grep -qE "Monitor psi: cgroup $P/psi.slice/a.scope is gone" "$LOG" &&
        echo "(the monitor's own EPOLLERR/read check noticed it)"
mkdir "$REAL$P/psi.slice/c.scope"
wait_log "Monitoring $P/psi.slice/c.scope \(monitor psi\): 3 PSI triggers"
stop_daemon
pass "real cgroup2: a monitored cgroup removed is dropped ('cgroup is gone'), the daemon runs on and monitors new ones"

echo "all live daemon checks passed"
