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
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "process_mrelease frees the victim's memory, with Method=auto and Method=pidfd"
require "cgreapd is active" is_active cgreapd.service

vmt_slice vmt-s5.slice MemoryMax=400M
sp=$(unit_cgroup vmt-s5.slice)
conf() {
	vmt_dropin 90-s5 >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor s5]
Cgroup=$sp
MemoryHighGuard=5%

[Kill]
Method=$1

[Priority]
vmt-s5-victim-*.service = 700
vmt-s5-grow-*.service = 100
CONF
}

# round METHOD N EXPECTED_METHOD_FIELD
round() {
	local c victim=vmt-s5-victim-$2 grow=vmt-s5-grow-$2 before kill rec id freed empty oom0 mr
	say "round $2: Method=$1"
	conf "$1"
	cgreapd_reload || bad "cgreapd did not log the reload"
	vmt_hold "$victim" 250M --slice=vmt-s5.slice
	wait_mem "$victim.service" $((245 << 20)) 60
	before=$(unit_mem "$victim.service")
	oom0=$(oom_kills)
	c=$(jcursor)
	vmt_grow "$grow" 200M --slice=vmt-s5.slice
	wait_until 120 is_dead "$victim.service" || bad "$victim still runs after 120s"
	wait_until 20 has_records "$MSGID_RECLAIMED" "$c" CGREAP_UNIT="$victim.service" ||
		bad "no reclaimed record for $victim within 20s of its death"
	expect_killed "$victim.service"
	settle
	expect_alive "$grow.service"
	expect_eq "kills in round $2" "$victim.service" "$(killed_list "$c")"
	expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"
	kill=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT="$victim.service")
	id=$(field "$kill" CGREAP_KILL_ID)
	rec=$(wait_record "$MSGID_RECLAIMED" "$c" CGREAP_KILL_ID="$id")
	show_record "$rec"
	expect_eq "METHOD" "$3" "$(field "$rec" CGREAP_METHOD)"
	mr=$(field "$rec" CGREAP_MRELEASE)
	case $mr in
	yes) ok "MRELEASE: yes"; n_yes=$((n_yes + 1)) ;;
	no) ok "MRELEASE: no (the victim had already released its mm: ESRCH)" ;;
	*) bad "MRELEASE: expected yes or no, saw '$mr'" ;;
	esac
	freed=$(field "$rec" CGREAP_FREED_BYTES)
	empty=$(field "$rec" CGREAP_EMPTY_USEC)
	say "victim held $((before >> 20))M; freed $((${freed:-0} >> 20))M in $((${empty:-0} / 1000))ms"
	expect_range "FREED_BYTES as % of what the victim held" 80 120 $((${freed:-0} * 100 / before))
	systemctl stop "$grow.service"
}
n_yes=0
round auto 1 cgroup-kill
round pidfd 2 pidfd
expect_range "rounds in which process_mrelease released the victim" 1 "" "$n_yes"

scenario_end
