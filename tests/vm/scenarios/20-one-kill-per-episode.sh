#!/bin/bash
# vmtest-timeout: 240
# One kill per episode, two overlapping monitors. The whole machine's
# monitor and one on vmt-s20.slice (no limit of its own: it is judged by the
# machine's numbers) both see the same shortage. Two services hold 250M
# each (adj 800 and 700) and a hog (adj -100, never eligible) grows until
# the machine is about 150M short: one kill (the adj-800 one) is enough.
# Exactly one kill must happen, whichever monitor makes it, and none after
# it: neither the other monitor nor a stall window from before it may take
# the second holder (06-reload saw such a second kill 125ms after the
# first victim's memory was back).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "one kill per episode: two monitors over the same shortage kill once"
require "cgreapd is active" is_active cgreapd.service

vmt_slice vmt-s20.slice
sp=$(unit_cgroup vmt-s20.slice)
vmt_dropin 90-s20 >/dev/null <<CONF
[Monitor system]
Cgroup=/

[Monitor s20]
Cgroup=$sp

[Priority]
vmt-s20-a.service = 800
vmt-s20-b.service = 700
vmt-s20-hog.service = -100
CONF
cgreapd_reload || bad "cgreapd did not log the reload"

vmt_hold vmt-s20-a 250M --slice=vmt-s20.slice
vmt_hold vmt-s20-b 250M --slice=vmt-s20.slice
wait_mem vmt-s20-a.service $((240 << 20)) 60
wait_mem vmt-s20-b.service $((240 << 20)) 60
avail=$(( $(mem_available) >> 20 ))
hog=$(( avail + 150 ))
say "MemAvailable ${avail}M: the hog grows to ${hog}M, 150M more than there is; a's 250M cover it"

oom0=$(oom_kills)
c=$(jcursor)
vmt_grow vmt-s20-hog "${hog}M" --slice=vmt-s20.slice
wait_until 120 is_dead vmt-s20-a.service || bad "vmt-s20-a still runs after 120s"
wait_mem vmt-s20-hog.service $(( (hog - 20) << 20 )) 60 || bad "the hog did not reach its size"
sleep 10
say "kills:"
records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
expect_eq "kills" vmt-s20-a.service "$(killed_list "$c")"
expect_alive vmt-s20-b.service
expect_alive vmt-s20-hog.service
say "MemAvailable after: $(($(mem_available) >> 20))M"
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"

scenario_end
