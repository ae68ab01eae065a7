#!/bin/bash
# vmtest-timeout: 300
# process_mrelease: right after the SIGKILL cgreap unmaps the victim's memory
# itself, so that memory comes back even if the victim gets no CPU. The
# reclaimed record frees about what the victim held, with Method=auto
# (cgroup.kill) and Method=pidfd (pidfd_send_signal).
#
# CGREAP_MRELEASE=yes needs the call to land before the dying victim has
# detached its mm itself (then the kernel says ESRCH and the record says
# "no": the victim frees its memory on its own). On 2 CPUs that is a race,
# so each round must say yes or no (never "unsupported": the unit's seccomp
# filter lets the call through), and at least one round must say yes.
# The rounds are lib.sh's reap_round; 11-other-uid runs the same with a
# victim of another user.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "process_mrelease frees the victim's memory, with Method=auto and Method=pidfd"
require "cgreapd is active" is_active cgreapd.service

vmt_slice vmt-s5.slice MemoryMax=400M
reap_round vmt-s5.slice auto 1 cgroup-kill root
reap_round vmt-s5.slice pidfd 2 pidfd root
expect_range "rounds in which process_mrelease released the victim" 1 "" "$REAP_YES"

scenario_end
