#!/bin/bash
# vmtest-timeout: 240
# One kill, and a survivor that then holds steady at the edge. Two services
# hold 250M each (adj 800 and 700) and a hog (adj -100, never eligible)
# grows until, with the first holder's 250M back, about half of
# MinAvailable= (2%) is left, and holds it. No swap: the machine stays below
# MinAvailable= with nobody waiting for memory, as in the bench's cpu
# scenario, where the kernel alone killed once. One kill is right; a second
# one on "low memory" that nothing is stalling on is not.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "one kill: a survivor holding steady below MinAvailable= is left alone"
require "cgreapd is active" is_active cgreapd.service
require "no swap" [ "$(awk '$1 == "SwapTotal:" { print $2 }' /proc/meminfo)" -eq 0 ]

vmt_dropin 90-s23 >/dev/null <<CONF
[Priority]
vmt-s23-a.service = 800
vmt-s23-b.service = 700
vmt-s23-hog.service = -100
CONF
cgreapd_reload || bad "cgreapd did not log the reload"

vmt_hold vmt-s23-a 250M
vmt_hold vmt-s23-b 250M
wait_mem vmt-s23-a.service $((240 << 20)) 60
wait_mem vmt-s23-b.service $((240 << 20)) 60
total=$(awk '$1 == "MemTotal:" { print $2 * 1024 }' /proc/meminfo)
floor=$((total * 2 / 100))
avail=$(mem_available)
hog=$(( (avail + (250 << 20) - floor / 2) >> 20 ))
say "MemAvailable $((avail >> 20))M, MinAvailable $((floor >> 20))M: the hog grows to ${hog}M"

oom0=$(oom_kills)
c=$(jcursor)
vmt_grow vmt-s23-hog "${hog}M"
wait_until 120 is_dead vmt-s23-a.service || bad "vmt-s23-a still runs after 120s"
wait_mem vmt-s23-hog.service $(( (hog - 20) << 20 )) 60 || bad "the hog did not reach its size"
# 15s at the edge: the kill's episode goes on (the monitor stays armed while
# headroom is below MinAvailable=), and every poll looks at the evidence.
below=0
for i in $(seq 30); do
	[ "$(mem_available)" -lt "$floor" ] && below=$((below + 1))
	sleep 0.5
done
say "MemAvailable after: $(($(mem_available) >> 20))M; below MinAvailable in $below of 30 looks"
check "the machine stayed below MinAvailable= (at least 20 of 30 looks)" [ "$below" -ge 20 ]
cgreapd_log "$c" | grep -E 'not running out' | head -n 3 | indent
say "kills:"
records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
expect_eq "kills" vmt-s23-a.service "$(killed_list "$c")"
expect_alive vmt-s23-b.service
expect_alive vmt-s23-hog.service
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
