#!/bin/bash
# vmtest-timeout: 180
# DryRun=yes: under real, lasting pressure cgreap decides and reports
# ("Would kill", CGREAP_DRY_RUN=1) but nothing dies and nothing is reclaimed.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "DryRun=yes reports what it would kill and kills nothing"
require "cgreapd is active" is_active cgreapd.service

# memory.high without memory.max: throttling, never an OOM kill.
vmt_slice vmt-s7.slice MemoryHigh=200M
sp=$(unit_cgroup vmt-s7.slice)
vmt_dropin 90-s7 >/dev/null <<CONF
[Agent]
DryRun=yes

$SYSTEM_MONITOR_QUIET

[Monitor s7]
Cgroup=$sp

[Priority]
vmt-s7-x.service = 600
vmt-s7-g.service = 500
CONF
cgreapd_reload || bad "cgreapd did not log the reload"

vmt_hold vmt-s7-x 80M --slice=vmt-s7.slice
wait_mem vmt-s7-x.service $((75 << 20)) 60
oom0=$(oom_kills)
c=$(jcursor)
vmt_churn vmt-s7-g 150M --slice=vmt-s7.slice
wait_until 90 has_records "$MSGID_KILL" "$c" || bad "no kill record within 90s of pressure"
# Pressure goes on: more decisions, still nothing dies.
sleep 15
say "slice pressure: $(head -n 1 "$CG$sp/memory.pressure")"
# One snapshot: records keep coming while this looks at them.
recs=$(records "$MSGID_KILL" "$c")
head -n 3 <<<"$recs" | while read -r r; do describe_kill "$r" | indent; done
expect_range "kill records (dry run)" 1 "" "$(grep -c . <<<"$recs")"
expect_eq "kill records without CGREAP_DRY_RUN=1" 0 "$(jq -s '[.[] | select(.CGREAP_DRY_RUN != "1")] | length' <<<"$recs")"
expect_eq "units named" vmt-s7-x.service "$(jq -r .CGREAP_UNIT <<<"$recs" | sort -u | paste -s -d ' ')"
expect_eq "MESSAGEs not starting with 'Would kill'" 0 "$(jq -s '[.[] | select(.MESSAGE | startswith("Would kill") | not)] | length' <<<"$recs")"
expect_eq "reclaimed records" 0 "$(count_records "$MSGID_RECLAIMED" "$c")"
expect_alive vmt-s7-x.service
expect_alive vmt-s7-g.service
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
