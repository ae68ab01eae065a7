#!/bin/bash
# vmtest-timeout: 300
# One kill, and a survivor that then holds steady at the edge (the bench's
# cpu scenario). The first victim (adj 800) keeps writing its 400M at
# cpu.weight 1 beside two spinners at 10000: killed, it is starved of the
# CPU to exit, but its memory is reaped at once. The hog (adj -100, never
# eligible, weight 10000) grows into it and holds, leaving about half of
# MinAvailable= (2%); no swap. At KillTimeout= the kill's episode ends with
# the machine below MinAvailable= and nobody waiting for memory: the
# second holder (adj 700) must live. The kernel alone kills once here.
# All of it in vmt-s23.slice: the runner and cgreapd keep their share.
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
vmt_slice vmt-s23.slice

# a: always runnable (no sleeper's credit once killed), as the bench's batch.
vmt_service vmt-s23-a --slice=vmt-s23.slice -p CPUWeight=1 -- stress-ng --vm 1 --vm-bytes 400M --vm-keep \
	--no-oom-adjust --timeout 0 --quiet
vmt_hold vmt-s23-b 100M --slice=vmt-s23.slice
wait_mem vmt-s23-a.service $((390 << 20)) 90
wait_mem vmt-s23-b.service $((95 << 20)) 60
total=$(awk '$1 == "MemTotal:" { print $2 * 1024 }' /proc/meminfo)
floor=$((total * 2 / 100))
avail=$(mem_available)
hog=$(( (avail + (400 << 20) - floor / 2) >> 20 ))
say "MemAvailable $((avail >> 20))M, MinAvailable $((floor >> 20))M: the hog grows to ${hog}M"
# One spinner on each CPU: wherever a runs, it shares the CPU with one.
for i in $(seq 0 $(($(nproc) - 1))); do
	vmt_service "vmt-s23-spin$i" --slice=vmt-s23.slice -p CPUWeight=10000 -p CPUAffinity="$i" -- \
		/bin/sh -c 'while :; do :; done'
done

oom0=$(oom_kills)
c=$(jcursor)
vmt_grow vmt-s23-hog "${hog}M" --slice=vmt-s23.slice -p CPUWeight=10000
ka=$(wait_until 120 has_records "$MSGID_KILL" "$c" CGREAP_UNIT=vmt-s23-a.service && first_record "$MSGID_KILL" "$c")
[ -n "$ka" ] || bad "vmt-s23-a was not killed within 120s"
wait_mem vmt-s23-hog.service $(( (hog - 20) << 20 )) 60 || bad "the hog did not reach its size"
say "vmt-s23-a after the kill: $(unit_prop vmt-s23-a.service ActiveState) (starved: its episode ends at KillTimeout=)"
# 15s at the edge, past KillTimeout=: every poll looks at the evidence.
below=0
for i in $(seq 30); do
	[ "$(mem_available)" -lt "$floor" ] && below=$((below + 1))
	sleep 0.5
done
say "MemAvailable after: $(($(mem_available) >> 20))M; below MinAvailable= in $below of 30 looks"
check "the machine stayed below MinAvailable= (at least 20 of 30 looks)" [ "$below" -ge 20 ]
cgreapd_log "$c" | grep -E 'not running out|still populated|Passing' | head -n 4 | indent
say "kills:"
records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
expect_eq "kills" vmt-s23-a.service "$(killed_list "$c")"
expect_alive vmt-s23-b.service
expect_alive vmt-s23-hog.service
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"
# The spinners go first: a needs the CPU to exit before the slice can stop.
systemctl stop 'vmt-s23-spin*.service'

scenario_end
