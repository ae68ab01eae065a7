#!/bin/bash
# vmtest-timeout: 240
# A slice at its MemoryMax without swap: the kernel's memcg OOM killer acts
# inside the allocation that hits the limit, so cgreap protects the slice
# with MemoryHighGuard: memory.high just below memory.max throttles the
# slice first, memory.events "high" arms the monitor, and cgreap kills the
# lower-priority service inside the slice before the kernel picks one.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "slice at MemoryMax: cgreap kills inside it before the memcg OOM killer"
require "cgreapd is active" is_active cgreapd.service

vmt_slice vmt-s3.slice MemoryMax=300M
sp=$(unit_cgroup vmt-s3.slice)
expect_eq "slice memory.max" $((300 << 20)) "$(cg_file "$sp" memory.max)"
# The slice is populated before cgreap watches it, as on a running machine.
vmt_hold vmt-s3-low 100M --slice=vmt-s3.slice
wait_mem vmt-s3-low.service $((95 << 20)) 60
expect_eq "slice memory.high before cgreap watches it" max "$(cg_file "$sp" memory.high)"

vmt_dropin 90-s3 >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor testslice]
Cgroup=$sp
MemoryHighGuard=5%

[Priority]
vmt-s3-low.service = 600
vmt-s3-keep.service = 100
CONF
cgreapd_reload || bad "cgreapd did not log the reload"
guard=$(guard_value $((300 << 20)) 5)
wait_until 15 cg_file_near "$sp" memory.high "$guard" || true
expect_range "slice memory.high set by MemoryHighGuard=5%" $((guard - 8192)) $((guard + 8192)) \
	"$(cg_file "$sp" memory.high)"

oom0=$(oom_kills)
slice_oom0=$(memevent "$sp" oom_kill)
high0=$(memevent "$sp" high)
c=$(jcursor)
t0=$(date +%s%6N)
# 100M + 220M (+ a few M of stress-ng each) does not fit under 285M.
vmt_grow vmt-s3-keep 220M --slice=vmt-s3.slice
wait_until 120 is_dead vmt-s3-low.service || bad "vmt-s3-low still runs after 120s"
wait_mem vmt-s3-keep.service $((215 << 20)) 60
settle

records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
expect_killed vmt-s3-low.service
expect_alive vmt-s3-keep.service
expect_eq "kills" vmt-s3-low.service "$(killed_list "$c")"
expect_eq "slice memory.events oom_kill" "$slice_oom0" "$(memevent "$sp" oom_kill)"
expect_eq "kernel OOM kills (/proc/vmstat)" "$oom0" "$(oom_kills)"
expect_range "slice memory.events high (the guard throttled)" $((high0 + 1)) "" "$(memevent "$sp" high)"
kill=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT=vmt-s3-low.service)
if [ -n "$kill" ]; then
	show_record "$kill"
	expect_eq "MONITOR" testslice "$(field "$kill" CGREAP_MONITOR)"
	expect_eq "MONITOR_CGROUP" "$sp" "$(field "$kill" CGREAP_MONITOR_CGROUP)"
	expect_eq "ADJ" 600 "$(field "$kill" CGREAP_ADJ)"
	say "time from grower start to kill: $((($(record_usec "$kill") - t0) / 1000))ms"
fi

# systemd writes its own MemoryHigh= (max) into the slice again whenever it
# re-applies the slice's settings: daemon-reload, set-property, the first
# unit starting in an empty slice. The guard must come back by itself.
systemctl daemon-reload
say "after systemctl daemon-reload: memory.high $(cg_file "$sp" memory.high)"
wait_until 10 cg_file_near "$sp" memory.high "$guard" || true
expect_range "slice memory.high 10s after systemd reset it" $((guard - 8192)) $((guard + 8192)) \
	"$(cg_file "$sp" memory.high)"

# The guard follows MemoryMax= when the administrator changes it, and goes
# when the limit goes.
systemctl set-property --runtime vmt-s3.slice MemoryMax=400M
guard4=$(guard_value $((400 << 20)) 5)
wait_until 10 cg_file_near "$sp" memory.high "$guard4" || true
expect_range "slice memory.high after set-property MemoryMax=400M" $((guard4 - 8192)) $((guard4 + 8192)) \
	"$(cg_file "$sp" memory.high)"
systemctl set-property --runtime vmt-s3.slice MemoryMax=infinity
wait_until 10 cg_file_is "$sp" memory.high max || true
expect_eq "slice memory.high after set-property MemoryMax=infinity" max "$(cg_file "$sp" memory.high)"
systemctl set-property --runtime vmt-s3.slice MemoryMax=300M
wait_until 10 cg_file_near "$sp" memory.high "$guard" || true
expect_range "slice memory.high after set-property MemoryMax=300M" $((guard - 8192)) $((guard + 8192)) \
	"$(cg_file "$sp" memory.high)"

# Without the monitor, cgreap gives memory.high back to systemd's value.
rm -f "$CONF_D/90-s3-vmtest.conf"
cgreapd_reload || bad "cgreapd did not log the reload"
wait_until 15 cg_file_is "$sp" memory.high max || true
expect_eq "slice memory.high once the monitor is gone" max "$(cg_file "$sp" memory.high)"

scenario_end
