#!/bin/bash
# vmtest-timeout: 240
# A kill inside a lingering user's own systemd (user@UID.service). systemd
# delegates that subtree and chowns it: every cgroup the user manager makes,
# and every file in it (memory.high, memory.pressure, cgroup.kill), belongs to
# the user. Root without CAP_DAC_OVERRIDE could write none of them: this is
# the scenario that justifies the unit keeping that capability. A slice of
# the user manager at MemoryMax=300M is monitored with MemoryHighGuard=5%:
# the guard (memory.high), the PSI triggers (memory.pressure opened for
# writing) and the kill (cgroup.kill) all act on user-owned files, and the
# records name the user unit (OBJECT_SYSTEMD_USER_UNIT=) and its manager
# (OBJECT_SYSTEMD_UNIT=user@UID.service), so that 'journalctl --user-unit'
# and 'journalctl -u user@UID.service' show them.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "a user unit under a lingering user@UID.service: guard and kill in a user-owned subtree"
require "cgreapd is active" is_active cgreapd.service
pid=$(unit_prop cgreapd.service MainPID)

user=vmtuser
# A slice of every user manager, there before this one starts.
mkdir -p /etc/systemd/user
printf '[Slice]\nMemoryMax=300M\n' >/etc/systemd/user/vmtu.slice
VMT_FILES+=(/etc/systemd/user/vmtu.slice)
require "user $user with a lingering manager (user@UID.service active)" vmt_user "$user"
uid=$VMT_UID
mgr=user@$uid.service
usl=/user.slice/user-$uid.slice/$mgr/vmtu.slice
victim=vmt-u-victim.service keep=vmt-u-keep.service
require "the user manager starts $victim" vmt_user_hold "$user" "${victim%.service}" 100M --slice=vmtu.slice
vcg=$usl/$victim
expect_eq "$victim's cgroup (from its manager)" "$vcg" "$(uunit_prop "$user" "$victim" ControlGroup)"
wait_until 60 cg_mem_ge "$vcg" $((95 << 20)) || bad "$victim did not reach 95M within 60s"
expect_eq "slice memory.max" $((300 << 20)) "$(cg_file "$usl" memory.max)"
expect_eq "slice memory.high before cgreap watches it" max "$(cg_file "$usl" memory.high)"
# Whose files these are: the reason CAP_DAC_OVERRIDE is needed.
for f in "$usl/memory.high" "$usl/memory.pressure" "$vcg/cgroup.kill"; do
	expect_eq "owner (uid) of $f" "$uid" "$(stat -c %u "$CG$f")"
done
expect_eq "mode of $vcg/cgroup.kill (owner write only)" 200 "$(stat -c %a "$CG$vcg/cgroup.kill")"

# Full paths: a name-only rule is not trusted below user@UID.service, where
# the user chooses the names (cgreap.conf(5), "Delegated subtrees").
vmt_dropin 90-u >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor user]
Cgroup=$usl
MemoryHighGuard=5%

[Priority]
$usl/$victim = 600
$usl/$keep = 100
CONF
cgreapd_reload || bad "cgreapd did not log the reload"
guard=$(guard_value $((300 << 20)) 5)
wait_until 15 cg_file_near "$usl" memory.high "$guard" || true
expect_range "memory.high of the user-owned slice, set by MemoryHighGuard=5%" $((guard - 8192)) $((guard + 8192)) \
	"$(cg_file "$usl" memory.high)"
expect_range "PSI triggers: cgreapd's fds on the user-owned $usl/memory.pressure" 1 "" \
	"$(fds_on "$pid" "$CG$usl/memory.pressure")"
expect_eq "cgreapctl list: adj of $victim" 600 "$(ctl_adj "$vcg" | cut -d' ' -f1)"

oom0=$(oom_kills)
slice_oom0=$(memevent "$usl" oom_kill)
high0=$(memevent "$usl" high)
c=$(jcursor)
# 100M + 220M (+ a few M of stress-ng each) does not fit under 285M.
require "the user manager starts $keep" vmt_user_hold "$user" "${keep%.service}" 220M --slice=vmtu.slice
wait_until 120 cg_empty "$vcg" || bad "$victim still has processes after 120s"
kill=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT="$victim")
rec=$(wait_record "$MSGID_RECLAIMED" "$c" CGREAP_UNIT="$victim")
settle

records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
expect_eq "$victim ended" "killed by signal 9" "$(uunit_end "$user" "$victim")"
expect_eq "$keep state" active "$(uunit_prop "$user" "$keep" ActiveState)"
expect_eq "kills" "$victim" "$(killed_list "$c")"
expect_eq "slice memory.events oom_kill" "$slice_oom0" "$(memevent "$usl" oom_kill)"
expect_eq "kernel OOM kills (/proc/vmstat)" "$oom0" "$(oom_kills)"
expect_range "slice memory.events high (the guard throttled)" $((high0 + 1)) "" "$(memevent "$usl" high)"
expect_eq "the user manager survived" active "$(unit_prop "$mgr" ActiveState)"
for r in "$kill" "$rec"; do
	[ -n "$r" ] || continue
	show_record "$r"
	what="record $(field "$r" MESSAGE_ID)"
	expect_eq "$what OBJECT_SYSTEMD_USER_UNIT" "$victim" "$(field "$r" OBJECT_SYSTEMD_USER_UNIT)"
	expect_eq "$what OBJECT_SYSTEMD_UNIT" "$mgr" "$(field "$r" OBJECT_SYSTEMD_UNIT)"
	expect_eq "$what CGROUP" "$vcg" "$(field "$r" CGREAP_CGROUP)"
done
[ -n "$kill" ] || bad "no kill record for $victim"
[ -n "$rec" ] || bad "no reclaimed record for $victim"
expect_eq "METHOD (cgroup.kill written in the user-owned cgroup)" cgroup-kill "$(field "$rec" CGREAP_METHOD)"
expect_eq "MONITOR" user "$(field "$kill" CGREAP_MONITOR)"
mr=$(field "$rec" CGREAP_MRELEASE)
case $mr in
yes) ok "MRELEASE: yes" ;;
no) ok "MRELEASE: no (the victim had already released its mm: ESRCH)" ;;
*) bad "MRELEASE: expected yes or no, saw '$mr'" ;;
esac
# journalctl --user-unit U matches OBJECT_SYSTEMD_USER_UNIT=U from _UID=0
# (or the caller's uid); -u user@UID.service matches OBJECT_SYSTEMD_UNIT=
# from _UID=0 only. Both must show this very kill.
id=$(field "$kill" CGREAP_KILL_ID)
# shellcheck disable=SC2317 # called through check
shows_kill() { journalctl -q -o json "$@" | jq -e -s --arg id "$id" 'any(.[]; .CGREAP_KILL_ID == $id)' >/dev/null; }
check "journalctl --user-unit $victim shows the kill record" shows_kill --user-unit "$victim"
check "journalctl -u $mgr shows the kill record" shows_kill -u "$mgr"

# Without the monitor the guard is given back, in the user's file too.
rm -f "$CONF_D/90-u-vmtest.conf"
cgreapd_reload || bad "cgreapd did not log the reload"
wait_until 15 cg_file_is "$usl" memory.high max || true
expect_eq "user slice memory.high once the monitor is gone" max "$(cg_file "$usl" memory.high)"

scenario_end
