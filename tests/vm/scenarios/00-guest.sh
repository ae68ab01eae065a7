#!/bin/bash
# vmtest-timeout: 60
# The guest itself offers what cgreap relies on: systemd as PID 1 on the
# unified hierarchy with the memory controller, PSI, cgroup.kill, pidfds and
# process_mrelease. If this fails, no other scenario means anything.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "the guest has cgroup v2 with memory, PSI, cgroup.kill, process_mrelease"

expect_eq "PID 1" systemd "$(cat /proc/1/comm)"
expect_eq "filesystem at $CG" cgroup2fs "$(stat -f -c %T "$CG")"
check "memory controller in cgroup.controllers" grep -qw memory "$CG/cgroup.controllers"
check "memory controller enabled for system.slice" grep -qw memory "$CG/cgroup.subtree_control"
check "/proc/pressure/memory exists" test -r /proc/pressure/memory
check "cgroup.kill exists" test -e "$CG/system.slice/cgroup.kill"
expect_eq "swap" 0 "$(awk '$1 == "SwapTotal:" { print $2 }' /proc/meminfo)"
expect_range "MemTotal (MiB)" 1800 2100 "$(awk '$1 == "MemTotal:" { print int($2 / 1024) }' /proc/meminfo)"
say "oom_kill so far: $(oom_kills)"

# pidfd_open (434), pidfd_send_signal (424) and process_mrelease (448) on a
# child holding 64 MiB: mrelease must be 0 or ESRCH (already gone), never
# ENOSYS/EINVAL. perl-base is in every Debian system.
out=$(perl -e '
	use POSIX ();
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) { my $x = "x" x (64 << 20); sleep 60; POSIX::_exit(0); }
	sleep 1;
	my $fd = syscall(434, $pid, 0);
	die "pidfd_open: $!\n" if $fd < 0;
	syscall(424, $fd, 9, 0, 0) == 0 or die "pidfd_send_signal: $!\n";
	my $r = syscall(448, $fd, 0);
	my $e = $r == 0 ? "ok" : ($!{ESRCH} ? "ESRCH" : "errno " . ($! + 0) . " ($!)");
	waitpid($pid, 0);
	print "$e signal=", $? & 127, "\n";
' 2>&1)
case $out in
"ok signal=9" | "ESRCH signal=9") ok "pidfd_open + pidfd_send_signal + process_mrelease: $out" ;;
*) bad "process_mrelease: expected 'ok signal=9' or 'ESRCH signal=9', saw '$out'" ;;
esac

# A memory-limited transient service: the kernel's limit and counters work.
vmt_service vmt-s0 -p MemoryMax=64M -- sleep 600
cg=$(unit_cgroup vmt-s0.service)
expect_eq "memory.max of a MemoryMax=64M service" $((64 << 20)) "$(cat "$CG$cg/memory.max")"
check "memory.events readable" test -r "$CG$cg/memory.events"
check "stress-ng runs" stress-ng --version

scenario_end
