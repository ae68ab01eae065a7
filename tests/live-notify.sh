#!/bin/bash
# cgreap-notify end to end: cgreapd on a private system bus and the real
# cgroup2 mount, cgreap-notify (as root, uid 0) on it and on a private
# session bus where tests/vm/scenarios/fake-notifications.py stands in for the desktop's
# notification server. Real manual kills in root's user@0.service subtree
# (notified, with the application's name), in another user's and in a
# system service (not notified); --all for a member of the admin group
# (notified too) and refused for others.
. "${top_srcdir:?}/tests/lib.sh"

require_root
live_test_lock
require_cgroup2
[ -x "${CGREAPD:-}" ] || fail "CGREAPD is not set to the built cgreapd"
[ -x "${CGREAPCTL:-}" ] || fail "CGREAPCTL is not set to the built cgreapctl"
NOTIFY=${top_builddir:?}/src/cgreap-notify
[ -x "$NOTIFY" ] || fail "$NOTIFY is not built"
command -v dbus-daemon >/dev/null || skip "no dbus-daemon (package dbus-daemon)"
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
/usr/bin/python3 -c 'import dbus.mainloop.glib, dbus.service; from gi.repository import GLib' 2>/dev/null ||
        skip "no python3-dbus and python3-gi for the stand-in notification server"
[ -r /proc/pressure/memory ] || skip "no /proc/pressure/memory (kernel without PSI)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cgreap-live-notify-XXXXXX")
chmod 755 "$WORK"
CONF=$WORK/conf
LOG=$WORK/cgreapd.log
NLOG=$WORK/notify.log
SEEN=$WORK/notifications
P=/cgreap-notify-$$.slice
# Root's own user manager, and another user's: made here, unless they exist.
USLICE=/user.slice
MINE=$USLICE/user-0.slice/user@0.service/app.slice/app-gnome-org.mozilla.firefox-4242.scope
OTHER=$USLICE/user-4242.slice/user@4242.service/app.slice/app-other-1.scope
made_uslice=0
[ -d "$CG2$USLICE" ] || made_uslice=1
PIDS=() BGS=() BUSES=()

cleanup() {
        local rc=$?
        set +e
        for p in "${BGS[@]}"; do kill "$p" 2>/dev/null; done
        for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
        wait 2>/dev/null
        for p in "${BUSES[@]}"; do kill "$p" 2>/dev/null; done
        remove_cgroup_tree "$CG2$P"
        remove_cgroup_tree "$CG2$USLICE/user-4242.slice"
        if [ $made_uslice = 1 ]; then remove_cgroup_tree "$CG2$USLICE"; else remove_cgroup_tree "$CG2$USLICE/user-0.slice"; fi
        if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
        exit $rc
}
trap cleanup EXIT
[ $made_uslice = 1 ] || [ ! -d "$CG2$USLICE/user-0.slice" ] || skip "$CG2$USLICE/user-0.slice exists: not ours to use"

spawn() { mkdir -p "$CG2$1"; sleep 1000 & PIDS+=($!); echo $! > "$CG2$1/cgroup.procs"; }

private_bus "$WORK" system system
BUSES+=("$(cat "$WORK/system.pid")")
private_bus "$WORK" session session
BUSES+=("$(cat "$WORK/session.pid")")
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/system.sock
export DBUS_SESSION_BUS_ADDRESS=unix:path=$WORK/session.sock

/usr/bin/python3 "$top_srcdir/tests/vm/scenarios/fake-notifications.py" "$DBUS_SESSION_BUS_ADDRESS" "$SEEN" 2>"$WORK/fake.err" &
BGS+=($!)
wait_file "$SEEN" '^ready$'

mkdir -p "$CONF$CONF_DIR" "$CG2$P/mon.slice"
printf '[Monitor test]\nCgroup=%s/mon.slice\n' "$P" > "$CONF$CONF_DIR/cgreap.conf"
"$CGREAPD" --root="$CONF" --log-level=debug 2>"$LOG" &
BGS+=($!)
wait_file "$LOG" "Offering org.cgreap1 on the system bus"

"$NOTIFY" 2>"$NLOG" &
BGS+=($!)
wait_file "$NLOG" "Listening for cgreapd's kills in our session"

# killed CGROUP: a manual kill, and its reclaimed record (so that a
# notification, if one comes, has had its time).
killed() {
        local out id
        out=$("$CGREAPCTL" kill "$1") || fail "cgreapctl kill $1 failed: $out"
        id=$(sed -nE 's/^Kill ([0-9]+) sent to .*/\1/p' <<<"$out")
        wait_file "$LOG" "^Reclaimed .*CGREAP_KILL_ID=$id "
        sleep 0.5
}

spawn "$MINE"
spawn "$OTHER"
spawn "$P/batch.service"
killed "$MINE"
wait_file "$SEEN" '^cgreap\|Firefox was closed to free memory\|'
line=$(grep '^cgreap|' "$SEEN")
grep -qE "\\|The system was running out of memory, so Firefox \\(app-gnome-org.mozilla.firefox-4242.scope\\) was ended by an administrator. It used [0-9.]+[KMG]?\\.\\|1$" <<<"$line" ||
        fail "the notification is not as expected: $line"
pass "a kill in user@0.service is notified: ${line#cgreap|}"

killed "$OTHER"
killed "$P/batch.service"
[ "$(grep -c '^cgreap|' "$SEEN")" = 1 ] || fail "kills outside user@0.service were notified: $(cat "$SEEN")"
pass "kills in another user's manager and in a system service are not notified"

out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$NOTIFY" --all 2>&1) &&
        fail "cgreap-notify --all ran for nobody: $out"
grep -q "only for members of the group 'sudo'" <<<"$out" || fail "cgreap-notify --all for nobody said: $out"
"$NOTIFY" --all --admin-group=root 2>"$WORK/all.log" &
BGS+=($!)
wait_file "$WORK/all.log" "Listening for cgreapd's kills, all of them"
spawn "$P/web.service"
killed "$P/web.service"
wait_file "$SEEN" '^cgreap\|Web was closed to free memory\|.*\|0$'
[ "$(grep -c '^cgreap|Web was closed' "$SEEN")" = 1 ] || fail "the --all kill was not notified once: $(cat "$SEEN")"
pass "--all: refused for nobody; for the admin group every kill, the others' with low urgency"
