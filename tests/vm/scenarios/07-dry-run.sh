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
records "$MSGID_KILL" "$c" | head -n 3 | while read -r r; do describe_kill "$r" | indent; done
n=$(count_records "$MSGID_KILL" "$c")
expect_range "kill records (dry run)" 1 "" "$n"
expect_eq "kill records with CGREAP_DRY_RUN=1" "$n" "$(count_records "$MSGID_KILL" "$c" CGREAP_DRY_RUN=1)"
expect_eq "first record names" vmt-s7-x.service "$(killed_units "$c" | head -n 1)"
check "MESSAGE says 'Would kill'" grep -q '^Would kill' <<<"$(first_record "$MSGID_KILL" "$c" | jq -r .MESSAGE)"
expect_eq "reclaimed records" 0 "$(count_records "$MSGID_RECLAIMED" "$c")"
expect_alive vmt-s7-x.service
expect_alive vmt-s7-g.service
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
