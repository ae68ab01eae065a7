#!/bin/bash
# vmtest-timeout: 240
# No kill: a limited slice streams files at its limit, and another holds
# steady near its limit. vmt-s19a.slice (MemoryMax=300M, MemoryHighGuard=5%)
# reads a 2G sparse file over and over: its page cache fills it to the
# guard, it hits its limit all the time (memory.events high grows) and
# stalls, but what it uses can be reclaimed. vmt-s19b.slice (MemoryMax=300M)
# holds 240M of anonymous memory: 20% headroom, steady. The right answer is
# no kill (the issue's second measured over-kill killed every unprotected
# service of such a slice, one at adj 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "no kill: a slice streaming files at its limit, a slice steady near its limit"
require "cgreapd is active" is_active cgreapd.service

trap 'rm -f /var/tmp/vmt-s19.big; vmt_cleanup' EXIT
truncate -s 2G /var/tmp/vmt-s19.big
vmt_slice vmt-s19a.slice MemoryMax=300M
vmt_slice vmt-s19b.slice MemoryMax=300M
sa=$(unit_cgroup vmt-s19a.slice)
sb=$(unit_cgroup vmt-s19b.slice)
vmt_dropin 90-s19 >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor s19a]
Cgroup=$sa
MemoryHighGuard=5%

[Monitor s19b]
Cgroup=$sb
MemoryHighGuard=5%
CONF
cgreapd_reload || bad "cgreapd did not log the reload"

vmt_hold vmt-s19a-app 60M --slice=vmt-s19a.slice
vmt_hold vmt-s19b-steady 240M --slice=vmt-s19b.slice -p OOMScoreAdjust=500
wait_mem vmt-s19a-app.service $((55 << 20)) 60
wait_mem vmt-s19b-steady.service $((230 << 20)) 60

oom0=$(oom_kills)
c=$(jcursor)
hits() { echo $(($(memevent "$1" high) + $(memevent "$1" max))); }
hits0=$(hits "$sa")
vmt_service vmt-s19a-stream --slice=vmt-s19a.slice -- /bin/sh -c \
	'while :; do cat /var/tmp/vmt-s19.big > /dev/null; done'
for i in 1 2 3 4 5; do
	sleep 8
	say "s19a: memory.current $(($(cg_file "$sa" memory.current) >> 20))M" \
		"file $(( $(awk '$1 == "file" { print $2 }' "$CG$sa/memory.stat") >> 20 ))M" \
		"high+max events $(hits "$sa"); pressure $(head -n 1 "$CG$sa/memory.pressure");" \
		"s19b: $(($(cg_file "$sb" memory.current) >> 20))M"
done
hits1=$(hits "$sa")
check "the streaming slice hit its limit (memory.events high+max $hits0 -> $hits1)" [ "$hits1" -gt "$hits0" ]
cgreapd_log "$c" | grep -E 'not running out' | head -n 3 | indent

expect_eq "kill records" 0 "$(count_records "$MSGID_KILL" "$c")"
for u in vmt-s19a-app vmt-s19a-stream vmt-s19b-steady; do expect_alive "$u.service"; done
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
