#!/bin/bash
# vmtest-timeout: 300
# Swap is headroom. With a 512M swap file on, a leak (a new 100M holder in
# vmt-s21.slice every 2s, each touched once and then idle, adj 500) fills
# the guest's memory, then its swap. The first kill may come only when swap
# is nearly used up (free swap below MinSwapFree=10%) and memory is short:
# its record's evidence says so, /proc/meminfo agrees, and the kernel's OOM
# killer never gets there first. (The issue measured a first kill with not
# one byte of 1G of zram used.)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "swap is headroom: a leak fills swap before anything dies"
require "cgreapd is active" is_active cgreapd.service

swap=/var/tmp/vmt-s21.swap
# shellcheck disable=SC2317 # called by the trap
cleanup_swap() { swapoff "$swap" 2>/dev/null; rm -f "$swap"; }
trap 'vmt_cleanup; cleanup_swap' EXIT
dd if=/dev/zero of="$swap" bs=1M count=512 status=none && chmod 600 "$swap" && mkswap -q "$swap" &&
	swapon "$swap"
require "a 512M swap file is on" grep -q vmt-s21.swap /proc/swaps
vmt_dropin 90-s21 >/dev/null <<'CONF'
[Priority]
vmt-s21-leak*.service = 500
CONF
cgreapd_reload || bad "cgreapd did not log the reload"

swap_free() { awk '$1 == "SwapFree:" { print $2 * 1024 }' /proc/meminfo; }
# SwapFree every 100ms with the realtime in us, without a fork but sleep:
# a look every 2s missed the last 100M swapped before the kill.
sample_swap() {
	local k v _
	while :; do
		while read -r k v _; do
			[ "$k" = SwapFree: ] && { echo "${EPOCHREALTIME/./} $((v * 1024))"; break; }
		done </proc/meminfo
		sleep 0.1
	done
}
samples=$(mktemp)
sample_swap >"$samples" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null; rm -f "$samples"; vmt_cleanup; cleanup_swap' EXIT
oom0=$(oom_kills)
c=$(jcursor)
say "MemAvailable $(($(mem_available) >> 20))M, SwapFree $(($(swap_free) >> 20))M"
n=0
while [ "$n" -lt 40 ] && ! has_records "$MSGID_KILL" "$c"; do
	n=$((n + 1))
	vmt_hold "vmt-s21-leak$n" 100M --slice=vmt-s21.slice
	sleep 2
	say "leak $((n * 100))M: MemAvailable $(($(mem_available) >> 20))M, SwapFree $(($(swap_free) >> 20))M"
done
kill=$(wait_record "$MSGID_KILL" "$c")
kill "$sampler" 2>/dev/null
t_kill=$(nfield "$kill" __REALTIME_TIMESTAMP)
min_swap_free=$(awk -v t="$t_kill" '$1 < t && (m == "" || $2 < m) { m = $2 } END { print (m == "" ? 2^40 : m) }' "$samples")
say "SwapFree sampled every 100ms: $(wc -l <"$samples") samples, lowest before the kill record $((min_swap_free >> 20))M"
require "a kill came (the leak outgrew memory and swap)" [ -n "$kill" ]
describe_kill "$kill" | indent
say "evidence: $(field "$kill" CGREAP_EVIDENCE)"
expect_eq "REASON" low-memory-and-swap "$(field "$kill" CGREAP_REASON)"
pct=$(field "$kill" CGREAP_EVIDENCE | sed -n 's/.*swap free \([0-9]*\)\.[0-9]*% .*/\1/p')
expect_range "swap free at the first kill, % (MinSwapFree=10%)" 0 9 "${pct:-100}"
expect_range "lowest SwapFree sampled before the kill, MiB (most of the 512M used)" 0 128 $((min_swap_free >> 20))
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
