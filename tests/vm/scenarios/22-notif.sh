#!/bin/bash
# vmtest-timeout: 240
# cgreap-notify, the user unit of a lingering user, and a stand-in
# notification server (fake-notifications.py, python3-dbus) on that user's
# session bus: a kill of a system service sends no notification, a kill in
# the user's own user@UID.service sends one that names the application in
# words. The system kill goes first: cgreap-notify handles the Killed
# signals in order, so the one notification that arrives after both proves
# the first was seen and passed over, not merely late. --all is refused to
# a user outside the admin group, and with the user's own group as the
# admin group it notifies of the system service's kill too.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "cgreap-notify: a notification on the user's session bus for a kill in the user's subtree only; --all for admins"
require "cgreapd is active" is_active cgreapd.service

user=vmtnotif
require "user $user with a lingering manager" vmt_user "$user"
uid=$VMT_UID
home=$(getent passwd "$user" | cut -d: -f6)
SEEN=$home/notifications
: >"$SEEN"
chown "$user:" "$SEEN"
install -m 755 "$(dirname "$(readlink -f "$0")")/fake-notifications.py" "$home/fake-notifications.py"
timeout 60 systemd-run --user -M "$user@" --quiet --unit=vmt-n-server --service-type=exec -- \
	/usr/bin/python3 "$home/fake-notifications.py" "unix:path=/run/user/$uid/bus" "$SEEN" ||
	bad "the stand-in notification server did not start"
seen_has() { grep -qE -- "$1" "$SEEN"; }
require "the stand-in server owns org.freedesktop.Notifications on $user's bus" wait_until 20 seen_has '^ready$'

c=$(jcursor)
uctl "$user" start cgreap-notify.service || bad "the user unit cgreap-notify.service did not start"
notify_ready() { journal_after "$c" | jq -r .MESSAGE | grep -q "Listening for cgreapd's kills in our session"; }
require "cgreap-notify says it listens" wait_until 20 notify_ready
check "cgreap-notify runs as a unit of $user's manager" test "$(uunit_prop "$user" cgreap-notify.service ActiveState)" = active
bus_monitor

timeout 60 systemd-run --user -M "$user@" --quiet --unit=vmt-n-app --service-type=exec -- sleep 100000 ||
	bad "the user manager did not start vmt-n-app"
acg=$(uunit_prop "$user" vmt-n-app.service ControlGroup)
check "vmt-n-app runs in $user's user@$uid.service" grep -q "^/user.slice/user-$uid.slice/user@$uid.service/" <<<"$acg"
vmt_service vmt-n-sys -- sleep 100000
wait_until 10 is_active vmt-n-sys.service || bad "vmt-n-sys did not start"

manual_kill vmt-n-sys.service
wait_until 15 mon_has "^killed $KILL_ID vmt-n-sys.service " || bad "no Killed signal for the kill of vmt-n-sys"
manual_kill "$acg"
wait_until 15 mon_has "^killed $KILL_ID vmt-n-app.service " || bad "no Killed signal for the kill of vmt-n-app"
wait_until 15 seen_has '^cgreap\|Vmt-n-app was closed to free memory\|' ||
	bad "no notification for the kill in $user's session: $(cat "$SEEN")"
sleep 2
grep -v '^ready$' "$SEEN" | indent
expect_eq "notifications (only the kill in $user's own user@$uid.service, none for vmt-n-sys)" 1 \
	"$(grep -c '^cgreap|' "$SEEN")"
check "the notification names the application and what it used" \
	grep -qE '\|The system was running out of memory, so Vmt-n-app \(vmt-n-app.service\) was ended by an administrator\. It used [0-9.]+[KMG]?\.\|1$' "$SEEN"
uctl "$user" stop cgreap-notify.service

# ---- --all: kills outside the session too, for the admin group only ----
out=$(timeout 20 setpriv --reuid="$user" --regid="$user" --init-groups cgreap-notify --all 2>&1) &&
	bad "cgreap-notify --all ran for $user, who is not in group sudo"
check "cgreap-notify --all refused for $user, not in the default admin group ($out)" \
	grep -qF "only for members of the group 'sudo'" <<<"$out"
c=$(jcursor)
timeout 60 systemd-run --user -M "$user@" --quiet --unit=vmt-n-all --service-type=exec -- \
	/usr/bin/cgreap-notify --all --admin-group="$user" || bad "the user manager did not start cgreap-notify --all"
all_ready() { journal_after "$c" | jq -r .MESSAGE | grep -q "Listening for cgreapd's kills, all of them"; }
require "cgreap-notify --all --admin-group=$user (its own group) listens" wait_until 20 all_ready
vmt_service vmt-n-sys2 -- sleep 100000
wait_until 10 is_active vmt-n-sys2.service || bad "vmt-n-sys2 did not start"
manual_kill vmt-n-sys2.service
check "with --all, a notification for the kill of the system service vmt-n-sys2" \
	wait_until 15 seen_has '^cgreap\|Vmt-n-sys2 was closed to free memory\|'
uctl "$user" stop vmt-n-all.service vmt-n-server.service

scenario_end
