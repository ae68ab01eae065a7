#!/bin/bash
# vmtest-timeout: 240
# Cgroups that appear after cgreapd started, under a monitored glob whose
# parent does not exist yet either (like user-UID.slice/user@UID.service at
# login): cgreap starts monitoring the new slice (its MemoryHighGuard shows
# in memory.high) and applies its rules to the new services: the high-adj
# one dies, the protected one and the low one live. No restart.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "new cgroups under a monitored glob are watched and ruled without a restart"
require "cgreapd is active" is_active cgreapd.service

# vmt-s8-late.slice is /vmt.slice/vmt-s8.slice/vmt-s8-late.slice.
glob='/vmt.slice/vmt-s8.slice/vmt-s8-*.slice'
vmt_dropin 90-s8 >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor late]
Cgroup=$glob
MemoryHighGuard=10%

[Priority]
vmt-s8-victim.service = 700
vmt-s8-keep.service = 100
vmt-s8-protected.service = -1000
CONF
cgreapd_reload || bad "cgreapd did not log the reload"
check "/vmt.slice/vmt-s8.slice does not exist yet" test ! -e "$CG/vmt.slice/vmt-s8.slice"

vmt_slice vmt-s8-late.slice MemoryMax=300M
VMT_SLICES+=(vmt-s8.slice)
sp=$(unit_cgroup vmt-s8-late.slice)
expect_eq "new slice's cgroup" /vmt.slice/vmt-s8.slice/vmt-s8-late.slice "$sp"
guard=$(guard_value $((300 << 20)) 10)
wait_until 20 cg_file_near "$sp" memory.high "$guard" || true
expect_range "memory.high of the new slice (MemoryHighGuard=10%)" $((guard - 8192)) $((guard + 8192)) \
	"$(cg_file "$sp" memory.high)"

vmt_hold vmt-s8-keep 80M --slice=vmt-s8-late.slice
vmt_hold vmt-s8-protected 40M --slice=vmt-s8-late.slice
wait_mem vmt-s8-keep.service $((75 << 20)) 60
wait_mem vmt-s8-protected.service $((35 << 20)) 60
# The first unit in the slice made systemd re-apply the slice's own
# MemoryHigh= (max): the guard must have been put back.
wait_until 10 cg_file_near "$sp" memory.high "$guard" || true
expect_range "memory.high after units started in the slice" $((guard - 8192)) $((guard + 8192)) \
	"$(cg_file "$sp" memory.high)"
oom0=$(oom_kills)
slice_oom0=$(memevent "$sp" oom_kill)
c=$(jcursor)
vmt_grow vmt-s8-victim 250M --slice=vmt-s8-late.slice
wait_until 120 is_dead vmt-s8-victim.service || bad "vmt-s8-victim still runs after 120s"
settle
records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
expect_killed vmt-s8-victim.service
expect_alive vmt-s8-keep.service
expect_alive vmt-s8-protected.service
expect_eq "kills" vmt-s8-victim.service "$(killed_list "$c")"
kill=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT=vmt-s8-victim.service)
expect_eq "MONITOR" late "$(field "$kill" CGREAP_MONITOR)"
expect_eq "MONITOR_CGROUP" "$sp" "$(field "$kill" CGREAP_MONITOR_CGROUP)"
expect_eq "ADJ" 700 "$(field "$kill" CGREAP_ADJ)"
expect_eq "slice memory.events oom_kill" "$slice_oom0" "$(memevent "$sp" oom_kill)"
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
