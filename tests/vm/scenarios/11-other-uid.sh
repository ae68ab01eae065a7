#!/bin/bash
# vmtest-timeout: 300
# A victim that runs as another user (User=nobody), killed by the hardened
# unit (root, but only CAP_KILL CAP_DAC_OVERRIDE CAP_SYS_RESOURCE
# CAP_IPC_LOCK). Method=pidfd signals every process with pidfd_send_signal(),
# which the kernel allows towards another uid only with CAP_KILL: this is
# the kill that justifies CapabilityBoundingSet= keeping it. The default
# method (cgroup.kill in the root-owned cgroup of a system service) needs no
# capability. Both must kill the victim alone and release its memory, as in
# 05-mrelease (lib.sh's reap_round, with the same rules for MRELEASE).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "a User=nobody victim dies with Method=pidfd (CAP_KILL) and the default method"
require "cgreapd is active" is_active cgreapd.service
require "user nobody exists" user_exists nobody

c0=$(jcursor)
vmt_slice vmt-s11.slice MemoryMax=400M
reap_round vmt-s11.slice pidfd 1 pidfd nobody
reap_round vmt-s11.slice auto 2 cgroup-kill nobody
expect_range "rounds in which process_mrelease released the victim" 1 "" "$REAP_YES"
# Without CAP_KILL every pidfd_send_signal() to the victim fails with EPERM:
# the victim lives on and cgreapd warns that it "is still populated" after
# KillTimeout= (seen in the guest with CapabilityBoundingSet=~CAP_KILL).
# Here every kill must have completed within it.
late=$(cgreapd_log "$c0" | grep -E 'still populated|Failed to (start )?kill' || true)
expect_eq "cgreapd's warnings about kills that did not complete" "" "$late"

scenario_end
