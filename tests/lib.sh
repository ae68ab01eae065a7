# Shared helpers for the shell tests. Source it: . "$top_srcdir/tests/lib.sh"
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# The cgroup2 mount, from mountinfo like the daemon does (field 9 is the fs type).
cgroup2_mount() {
        awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo
}

# The administrator's configuration directory of this build (DESIGN §3's
# /etc slot is the configured sysconfdir): a fake root's files go below
# $ROOT$CONF_DIR. make check passes sysconfdir.
CONF_DIR=${sysconfdir:?sysconfdir is not set: run the test through make check}/cgreap

require_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

# The live script tests each start processes named cgreapd (the daemon, or a
# stand-in), and cgreapctl protects the cgroup of the one it finds: one at a
# time, also under 'make -j check'. Processes the tests start inherit the
# lock, hence the bound on the wait.
live_test_lock() {
        exec 9>/run/cgreap-live-tests.lock
        flock -w 300 9 || fail "another live test (or what it left running) holds /run/cgreap-live-tests.lock"
}
require_cgroup2() {
        CG2=$(cgroup2_mount)
        [ -n "$CG2" ] || skip "no cgroup2 mount in /proc/self/mountinfo"
        [ -w "$CG2/cgroup.procs" ] || skip "cgroup2 mount $CG2 is not writable"
}

# remove_cgroup_tree DIR: a test's cgroup directory and everything below it,
# deepest first, each rmdir retried while the killed processes exit.
remove_cgroup_tree() {
        local d i
        [ -d "$1" ] || return 0
        find "$1" -depth -type d | while read -r d; do
                for i in 1 2 3 4 5; do rmdir "$d" 2>/dev/null && break; sleep 0.2; done
        done
}

# wait_file FILE PATTERN [SECONDS]: until a line of FILE matches (ERE).
wait_file() {
        local i
        for i in $(seq $(( ${3:-10} * 10 ))); do
                grep -qE -- "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        echo "---- $1 ----" >&2; cat "$1" >&2
        fail "timed out waiting for a line matching '$2' in $1"
}

# private_bus DIR NAME TYPE: a dbus-daemon of TYPE (system, session) that
# lets everyone do everything, at unix:path=DIR/NAME.sock; its pid in
# DIR/NAME.pid. A refusal on it is the daemon's own, not the bus policy's.
private_bus() {
        cat > "$1/$2.conf" <<BUSCONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>$3</type>
  <listen>unix:path=$1/$2.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
BUSCONF
        dbus-daemon --config-file="$1/$2.conf" --fork --print-pid > "$1/$2.pid" || fail "dbus-daemon ($2) did not start"
}
