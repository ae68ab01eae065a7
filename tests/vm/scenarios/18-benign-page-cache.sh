#!/bin/bash
# vmtest-timeout: 240
# No kill: page-cache streaming with swap in use. A 512M swap file is on,
# a job reads a 3G sparse file over and over (more than the guest's memory:
# every pass evicts and refaults the page cache), a build-like job maps,
# touches and frees about half of what is available, again and again, and
# two ordinary services (adj 0 and 500) hold memory. Memory stalls happen,
# memory is never short: the right answer is no kill at all (the issue's
# first measured over-kill: three services died at 29% MemAvailable).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "no kill: page cache streamed through, swap in use, memory allocated and freed"
require "cgreapd is active" is_active cgreapd.service

swap=/var/tmp/vmt-s18.swap
# shellcheck disable=SC2317 # called by the trap
cleanup_swap() { swapoff "$swap" 2>/dev/null; rm -f "$swap" /var/tmp/vmt-s18.big; }
trap 'cleanup_swap; vmt_cleanup' EXIT
dd if=/dev/zero of="$swap" bs=1M count=512 status=none && chmod 600 "$swap" && mkswap -q "$swap" &&
	swapon "$swap"
require "a 512M swap file is on" grep -q vmt-s18.swap /proc/swaps
truncate -s 3G /var/tmp/vmt-s18.big

vmt_hold vmt-s18-plain 150M --slice=vmt.slice
vmt_hold vmt-s18-batch 150M --slice=vmt.slice -p OOMScoreAdjust=500
wait_mem vmt-s18-plain.service $((140 << 20)) 60
wait_mem vmt-s18-batch.service $((140 << 20)) 60
half=$(( $(mem_available) / 2 >> 20 ))
say "MemAvailable $(($(mem_available) >> 20))M; the build-like job churns ${half}M"

oom0=$(oom_kills)
c=$(jcursor)
some0=$(awk -F'total=' '/^some/ { print $2 }' /proc/pressure/memory)
vmt_service vmt-s18-stream --slice=vmt.slice -- /bin/sh -c \
	'while :; do cat /var/tmp/vmt-s18.big > /dev/null; done'
vmt_churn vmt-s18-build "${half}M" --slice=vmt.slice
for i in 1 2 3 4 5 6; do
	sleep 10
	say "$(awk '$1 ~ /^(MemAvailable|Cached|SwapFree):$/ { printf "%s %dM  ", $1, $2 / 1024 }' /proc/meminfo)" \
		"pressure $(head -n 1 /proc/pressure/memory)"
done
some1=$(awk -F'total=' '/^some/ { print $2 }' /proc/pressure/memory)
stalled=$(( (some1 - some0) / 1000 ))
say "memory stalled (some) for ${stalled}ms of the minute; refaults $(awk '$1 == "workingset_refault_file" { print $2 }' /proc/vmstat)"
check "the workload stalled on memory (the scenario tested something)" [ "$stalled" -gt 0 ]
cgreapd_log "$c" | grep -E 'not running out' | head -n 3 | indent

expect_eq "kill records" 0 "$(count_records "$MSGID_KILL" "$c")"
for u in vmt-s18-plain vmt-s18-batch vmt-s18-stream vmt-s18-build; do expect_alive "$u.service"; done
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
