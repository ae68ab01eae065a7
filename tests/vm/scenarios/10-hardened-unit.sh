#!/bin/bash
# vmtest-timeout: 90
# The cgreapd that the other scenarios watch kill and reap really runs with
# the unit's hardening: what the kernel says about the process (seccomp,
# no_new_privs, capability sets, locked memory), what its mount and network
# namespaces look like, and what systemd says it applied. Together with the
# kill scenarios this is the proof that every directive leaves the agent
# able to do its job: CAP_KILL is used in 11-other-uid, CAP_DAC_OVERRIDE in
# 12-user-manager, CAP_SYS_RESOURCE by the PSI triggers of 01 (Linux 6.1
# refuses a writable open of a pressure file without it), CAP_IPC_LOCK by
# mlockall() below.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "the running cgreapd is hardened as its unit says"
require "cgreapd is active" is_active cgreapd.service
pid=$(unit_prop cgreapd.service MainPID)
require "cgreapd has a main process" test -d "/proc/$pid"
unitfile=$(unit_prop cgreapd.service FragmentPath)
say "cgreapd is PID $pid, unit $unitfile"

# ---- the process, as the kernel sees it
expect_eq "Seccomp (2: a filter is installed)" 2 "$(proc_status "$pid" Seccomp)"
expect_range "Seccomp_filters" 1 "" "$(proc_status "$pid" Seccomp_filters)"
expect_eq "NoNewPrivs" 1 "$(proc_status "$pid" NoNewPrivs)"
expect_eq "uid (root: see DESIGN-NOTES.md)" 0 "$(proc_status "$pid" Uid)"

# The capability sets: exactly the four of CapabilityBoundingSet=, their
# bit numbers taken from the kernel's list (setpriv --list-caps), not typed
# in here.
want_caps="dac_override ipc_lock kill sys_resource"
# shellcheck disable=SC2086
want=$(cap_mask $want_caps)
say "expected mask of $want_caps: $want (bits$(for c in $want_caps; do printf ' %s=%s' "$c" "$(cap_number "$c")"; done))"
for set in CapBnd CapPrm CapEff; do
	seen=$(proc_status "$pid" "$set")
	if [ "$seen" = "$want" ]; then
		ok "$set: $seen ($(cap_names "$seen"))"
	else
		bad "$set: expected $want ($want_caps), saw $seen ($(cap_names "$seen"))"
	fi
done
expect_eq "CapAmb" 0000000000000000 "$(proc_status "$pid" CapAmb)"
expect_eq "CapInh" 0000000000000000 "$(proc_status "$pid" CapInh)"

# mlockall(MCL_CURRENT|MCL_FUTURE) worked under the unit's limits: every
# mapping is locked, also those made after start-up (MCL_FUTURE); only the
# kernel's [vvar]/[vdso] pages are not.
lck=$(proc_status "$pid" VmLck)
size=$(proc_status "$pid" VmSize)
memlock=$(unit_prop cgreapd.service LimitMEMLOCK)
say "VmSize $size kB, VmRSS $(proc_status "$pid" VmRSS) kB, VmLck $lck kB; LimitMEMLOCK $memlock"
expect_range "VmLck (kB): mlockall() locked the daemon" 1 "" "$lck"
expect_range "VmLck as per mille of VmSize" 980 1000 $((lck * 1000 / (size > 0 ? size : 1)))
check "cgreapd did not log a failed mlockall" bash -c "! journalctl -q -b -o cat _SYSTEMD_UNIT=cgreapd.service | grep -q mlockall"
# Without CAP_IPC_LOCK, mlockall(MCL_CURRENT) needs VmSize <= RLIMIT_MEMLOCK
# and, with MCL_FUTURE, every later mmap()/brk() fails once the locked total
# would pass it (mm/mlock.c). After its first kill the daemon has a malloc
# arena for its worker thread (64 MiB reserved, counted as locked).
if [ "$memlock" != infinity ] && [ $((lck * 1024)) -gt "$memlock" ]; then
	say "locked $lck kB > LimitMEMLOCK: possible only with CAP_IPC_LOCK"
else
	say "today the whole daemon ($size kB) fits in LimitMEMLOCK; CAP_IPC_LOCK is for growth past it"
fi

# ---- the mount namespace: ProtectSystem=strict, ReadWritePaths=, ...
expect_ne "mount namespace (PrivateMounts=, ProtectSystem=)" "$(readlink /proc/1/ns/mnt)" "$(readlink "/proc/$pid/ns/mnt")"
# mnt PATH COLUMN: a column of the mount that holds PATH, in cgreapd's view.
mnt() { findmnt -N "$pid" -n -o "$2" -T "$1" | head -n 1; }
mnt_rw() { mnt "$1" OPTIONS | cut -d, -f1; }
for p in / /usr /etc /var /sys /proc/sys; do
	expect_eq "$p in cgreapd's namespace ($(mnt "$p" TARGET))" ro "$(mnt_rw "$p")"
done
expect_eq "/sys/fs/cgroup in cgreapd's namespace" "rw cgroup2" "$(mnt_rw /sys/fs/cgroup) $(mnt /sys/fs/cgroup FSTYPE)"
expect_eq "/sys/fs/cgroup/system.slice is on the same writable mount" /sys/fs/cgroup \
	"$(mnt /sys/fs/cgroup/system.slice TARGET)"
check "cgreapd's namespace: writing /etc is refused (read-only)" bash -c "! nsenter -t $pid -m test -w /etc"
check "cgreapd's namespace: a cgroup file is writable" nsenter -t "$pid" -m test -w "$CG/system.slice/cgroup.procs"
tmp=$(mnt /tmp FSROOT)
case $tmp in
*systemd-private-*-cgreapd.service-*) ok "/tmp is private (PrivateTmp=): $tmp" ;;
*) bad "/tmp: expected a systemd-private-*-cgreapd.service-* directory, saw '$tmp'" ;;
esac
for p in /home /root /run/user; do
	expect_eq "$p hidden (ProtectHome=yes)" /systemd/inaccessible/dir "$(mnt "$p" FSROOT)"
done
expect_eq "/dev is a private tmpfs (PrivateDevices=)" "/dev tmpfs" "$(mnt /dev TARGET) $(mnt /dev FSTYPE)"
root_dev=$(awk '$2 == "/" { print $1 }' /etc/fstab)
require "the root disk $root_dev is a block device here" test -b "$root_dev"
check "the root disk $root_dev is not in cgreapd's /dev" bash -c "! nsenter -t $pid -m test -e $root_dev"
check "/dev/null exists for cgreapd (a masking drop-in points at it)" nsenter -t "$pid" -m test -c /dev/null

# ---- the network namespace: PrivateNetwork=yes
expect_ne "network namespace" "$(readlink /proc/1/ns/net)" "$(readlink "/proc/$pid/ns/net")"
ifaces=$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' "/proc/$pid/net/dev" | sort | paste -s -d ' ')
expect_eq "network interfaces seen by cgreapd" lo "$ifaces"

# ---- what systemd applied. Every yes/no directive of the installed unit
# must be in effect: a directive this systemd does not know would be
# ignored with a warning and show up here as missing.
n=0
while IFS='=' read -r key value; do
	case $value in yes | no) ;; *) continue ;; esac
	expect_eq "systemctl show -p $key" "$value" "$(unit_prop cgreapd.service "$key")"
	n=$((n + 1))
done < <(sed -n '/^\[Service\]/,/^\[/{/^[A-Za-z]*=/p}' "$unitfile")
expect_range "yes/no directives checked" 15 "" "$n"
for kv in Type=notify Restart=always OOMScoreAdjust=-1000 WatchdogUSec=30s \
	ProtectSystem=strict ReadWritePaths=/sys/fs/cgroup ProtectControlGroups=no \
	ProtectProc=default ProcSubset=all UMask=0077 RestrictAddressFamilies=AF_UNIX \
	SystemCallArchitectures=native User= DynamicUser=no AmbientCapabilities=; do
	expect_eq "systemctl show -p ${kv%%=*}" "${kv#*=}" "$(unit_prop cgreapd.service "${kv%%=*}")"
done
# Sets, in no particular order.
words() { tr ' ' '\n' | sed '/^$/d' | sort | paste -s -d ' '; }
expect_eq "systemctl show -p IPAddressDeny (sorted)" "$(words <<<"0.0.0.0/0 ::/0")" \
	"$(unit_prop cgreapd.service IPAddressDeny | words)"
expect_eq "systemctl show -p CapabilityBoundingSet (sorted)" \
	"$(for c in $want_caps; do echo "cap_$c"; done | words)" \
	"$(unit_prop cgreapd.service CapabilityBoundingSet | words)"
errno=$(unit_prop cgreapd.service SystemCallErrorNumber)
case $errno in
1 | EPERM) ok "SystemCallErrorNumber: $errno (EPERM)" ;;
*) bad "SystemCallErrorNumber: expected 1 (EPERM), saw '$errno'" ;;
esac
# The allow-list after the deny-list: what the daemon calls is in, what
# ~@privileged and ~@resources take out of @system-service is not.
filter=" $(unit_prop cgreapd.service SystemCallFilter) "
for sc in pidfd_open pidfd_send_signal process_mrelease mlockall inotify_add_watch epoll_wait; do
	case $filter in *" $sc "*) ok "SystemCallFilter allows $sc" ;; *) bad "SystemCallFilter: expected $sc in the allow-list, it is not" ;; esac
done
for sc in setuid capset setrlimit sched_setscheduler reboot init_module mount; do
	case $filter in *" $sc "*) bad "SystemCallFilter: expected $sc to be filtered out, it is allowed" ;; *) ok "SystemCallFilter leaves out $sc" ;; esac
done

scenario_end
