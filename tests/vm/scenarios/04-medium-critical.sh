#!/bin/bash
# vmtest-timeout: 300
# The two floors: at medium pressure only adj >= MediumMinAdj (200) dies; a
# cgroup between CriticalMinAdj (0) and MediumMinAdj dies only at critical.
#
# A slice with MemoryHigh=200M, and G (adj -100, below both floors) that
# keeps allocating in it: the slice stays under pressure as long as it is
# over the limit. PSI tells the levels apart: "some" is stalled time of at
# least one task, "full" of all of them at once. Phase 1 adds one niced CPU
# spinner per CPU to the slice: someone always runs, so "full" stays low
# while "some" is high: medium pressure. Spinners alone do not keep "full"
# out reliably under TCG, so phase 1 also sets the slice's Critical= to a
# full stall of a whole 10s window. The evidence is the slice's limit:
# anonymous memory fills its memory.high (row "limit"; with memory.high and
# no memory.max it keeps the level of the wake-up). X (600) dies at medium;
# Y (100) is passed over at medium ("nothing eligible") for 20s. Phase 2
# restores Critical=full 10% 2s and stops the spinners: G's stalls are full
# stalls, critical pressure, and Y dies, at critical. G lives throughout.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "medium pressure kills adj >= MediumMinAdj only; between the floors only at critical"
require "cgreapd is active" is_active cgreapd.service

vmt_slice vmt-s4.slice MemoryHigh=200M
sp=$(unit_cgroup vmt-s4.slice)
conf() {
	vmt_dropin 90-s4 >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor s4]
Cgroup=$sp
Medium=some 5% 2s
Critical=$1

[Priority]
vmt-s4-x.service = 600
vmt-s4-y.service = 100
vmt-s4-g.service = -100
vmt-s4-spin*.service = -1000
CONF
}
conf "full 10s 10s"
cgreapd_reload || bad "cgreapd did not log the reload"

for cpu in $(seq 0 $(($(nproc) - 1))); do
	vmt_service "vmt-s4-spin$cpu" --slice=vmt-s4.slice -p CPUAffinity="$cpu" -p Nice=19 -- \
		/bin/sh -c 'while :; do :; done'
done
vmt_hold vmt-s4-x 60M --slice=vmt-s4.slice
vmt_hold vmt-s4-y 60M --slice=vmt-s4.slice
wait_mem vmt-s4-x.service $((55 << 20)) 60
wait_mem vmt-s4-y.service $((55 << 20)) 60
oom0=$(oom_kills)
c=$(jcursor)
say "phase 1: medium pressure only"
# 60 + 60 + 150 (+ stress-ng's own) > 200; without X still > 200.
vmt_churn vmt-s4-g 150M --slice=vmt-s4.slice
wait_until 120 is_dead vmt-s4-x.service || bad "vmt-s4-x still runs after 120s"
kx=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT=vmt-s4-x.service)
[ -n "$kx" ] && describe_kill "$kx" | indent
expect_eq "X killed at level" medium "$(field "$kx" CGREAP_LEVEL)"
expect_eq "X killed for" limit "$(field "$kx" CGREAP_REASON)"
tx=$(record_usec "$kx")
# Medium pressure goes on (G churns over memory.high): Y must be passed over.
wait_until 20 is_dead vmt-s4-y.service || true
say "slice pressure: $(tr '\n' ' ' <"$CG$sp/memory.pressure"); memory.current $(($(cg_file "$sp" memory.current) >> 20))M"
expect_alive vmt-s4-y.service
expect_alive vmt-s4-g.service
say "phase 2: Critical=full 10% 2s again, the spinners stop: G's stalls are full stalls"
conf "full 10% 2s"
cgreapd_reload || bad "cgreapd did not log the reload"
systemctl stop 'vmt-s4-spin*.service'
wait_until 120 is_dead vmt-s4-y.service || bad "vmt-s4-y still runs 120s after the spinners stopped"
ky=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT=vmt-s4-y.service)
[ -n "$ky" ] && describe_kill "$ky" | indent
expect_eq "Y killed at level" critical "$(field "$ky" CGREAP_LEVEL)"
ty=$(record_usec "$ky")
[ "$ty" -gt 0 ] || ty=$(date +%s%6N)
passed_over=$(records "$MSGID_NOTHING" "$c" CGREAP_MONITOR=s4 CGREAP_LEVEL=medium |
	jq -s --argjson a "$tx" --argjson b "$ty" \
		'[.[] | (.__REALTIME_TIMESTAMP | tonumber) as $t | select($t > $a and $t < $b)] | length')
expect_range "medium events that passed over Y (nothing eligible) before it died" 1 "" "$passed_over"
records "$MSGID_NOTHING" "$c" CGREAP_MONITOR=s4 CGREAP_LEVEL=medium | head -n 1 | jq -r .MESSAGE | indent
sleep 3
expect_alive vmt-s4-g.service
expect_eq "kills" "vmt-s4-x.service vmt-s4-y.service" "$(killed_list "$c")"
expect_eq "medium kills below MediumMinAdj" 0 \
	"$(records "$MSGID_KILL" "$c" CGREAP_LEVEL=medium | jq -s '[.[] | select((.CGREAP_ADJ | tonumber) < 200)] | length')"
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
