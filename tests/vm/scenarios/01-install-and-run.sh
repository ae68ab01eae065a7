#!/bin/bash
# vmtest-timeout: 120
# cgreap installed from 'make install' and started with
# 'systemctl enable --now cgreapd' runs: READY reached (Type=notify), STATUS=
# shown, PSI triggers armed on /proc/pressure/memory, memory locked, never an
# OOM victim itself, and cgreapctl works against the same configuration.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "install and run: enable --now, READY, STATUS, triggers armed"

for f in /usr/sbin/cgreapd /usr/bin/cgreapctl /etc/cgreap/cgreap.conf \
	/lib/systemd/system/cgreapd.service /usr/lib/systemd/catalog/cgreap.catalog; do
	check "installed: $f" test -e "$f"
done
expect_eq "systemctl is-enabled cgreapd" enabled "$(systemctl is-enabled cgreapd 2>&1)"
require "cgreapd is active" is_active cgreapd.service
expect_eq "cgreapd SubState" running "$(unit_prop cgreapd.service SubState)"
expect_eq "cgreapd Type" notify "$(unit_prop cgreapd.service Type)"

status=$(unit_prop cgreapd.service StatusText)
expect_ne "STATUS= text (systemctl show -p StatusText)" "" "$status"
check "systemctl status shows the STATUS= line" status_shows_text
systemctl --no-pager status cgreapd | indent

pid=$(unit_prop cgreapd.service MainPID)
expect_eq "cgreapd's oom_score_adj" -1000 "$(cat "/proc/$pid/oom_score_adj")"
vmlck=$(awk '$1 == "VmLck:" { print $2 }' "/proc/$pid/status")
expect_range "locked memory (VmLck, kB; mlockall)" 1 "" "$vmlck"

# Armed triggers: the daemon holds /proc/pressure/memory open (one fd per
# level: medium, critical, early), written with the trigger and polled.
n=0
for fd in "/proc/$pid/fd"/*; do
	[ "$(readlink "$fd")" = /proc/pressure/memory ] && n=$((n + 1))
done
expect_range "fds on /proc/pressure/memory held by cgreapd" 2 "" "$n"
say "cgreapd's log:"
journalctl -q --no-pager -o cat -u cgreapd | head -n 20 | indent
check "cgreapd logged that it monitors /" cgreapd_logged "" "[Mm]onitor.*( /|\"/\"|system)"

# cgreapctl reads the same configuration and the same cgroups.
check "cgreapctl check-config" cgreapctl check-config
vmt_service vmt-s1-app --slice=vmt.slice -p OOMScoreAdjust=345 -- sleep 600
sleep 0.5
out=$(cgreapctl list)
indent <<<"$out"
expect_eq "cgreapctl list: adj of a service with OOMScoreAdjust=345" "345 oom-score-adj" \
	"$(ctl_adj /vmt.slice/vmt-s1-app.service)"
expect_eq "cgreapctl list: cgreapd's own cgroup" "-1000" \
	"$(ctl_adj /system.slice/cgreapd.service | cut -d' ' -f1)"
check "the catalog is known to journalctl" catalog_knows "$MSGID_KILL"

scenario_end
