#!/bin/bash
# vmtest-timeout: 240
# Memory that fills without a stall: no swap, little page cache, one fast
# allocator. PSI stays flat until the kernel OOM killer is due (measured:
# MemAvailable from 1282M to 79M in 5s with no stall at all). Early= is
# raised out of reach here, so that only the calm look at MemAvailable
# (CalmPollInterval=) can wake cgreapd in time; with CalmPollInterval=0 the
# kernel's OOM killer comes first. The hog must die by
# cgreapd's hand, the bystander live, the kernel OOM killer never fire.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "a silent fill: no stall before the end, woken by the calm look at MemAvailable"
require "cgreapd is active" is_active cgreapd.service

dropin=$(vmt_dropin 90-s24 <<'CONF'
[Pressure]
Early=full 90% 2s
CONF
)
cgreapd_reload || bad "cgreapd did not log the reload"
check "Early= out of reach" grep -q '^Early=full 90% 2s ; from' <(cgreapctl check-config 2>&1)

vmt_hold vmt-s24-bystander 200M --slice=vmt.slice
wait_mem vmt-s24-bystander.service $((190 << 20)) 90
say "MemAvailable before the hog: $(($(mem_available) >> 20))M; $dropin in place"

oom0=$(oom_kills)
some0=$(awk -F'total=' '/^some/ { print $2 }' /proc/pressure/memory)
c=$(jcursor)
vmt_grow vmt-s24-hog 1900M --slice=vmt.slice -p OOMScoreAdjust=500
wait_until 120 is_dead vmt-s24-hog.service || bad "the hog still runs after 120s"
kill=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT=vmt-s24-hog.service)
settle

records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
expect_killed vmt-s24-hog.service
expect_alive vmt-s24-bystander.service
expect_eq "kills" vmt-s24-hog.service "$(killed_units "$c" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "kernel OOM kills (/proc/vmstat oom_kill)" "$oom0" "$(oom_kills)"
if [ -n "$kill" ]; then
	show_record "$kill"
	expect_eq "REASON" low-memory-and-swap "$(field "$kill" CGREAP_REASON)"
	expect_eq "TRIGGER" "MinAvailable 2.00%" "$(field "$kill" CGREAP_TRIGGER)"
	say "memory stall (some) from the hog's start to its kill record:" \
		"$((($(awk -F'total=' '/^some/ { print $2 }' /proc/pressure/memory) - some0) / 1000))ms"
else
	bad "no kill record for vmt-s24-hog.service"
fi

scenario_end
