# shellcheck shell=bash
# shellcheck disable=SC2034 # constants and state for the scenarios that source this
# Helpers for the guest scenarios (tests/vm/scenarios/NN-name.sh). Sourced by
# every scenario and by the runner. A scenario runs as root in the guest,
# asserts on real effects (who died, who lives, kernel counters, journal
# records) and restores what it changed: every unit, slice and drop-in made
# through these helpers is removed again on exit.
#
#   . "$(dirname "$0")/lib.sh"
#   scenario_begin "what this shows"
#   ...  check / expect_eq / expect_range ...
#   scenario_end
#
# A failed assertion prints "FAIL what: expected X, saw Y" and the scenario
# goes on (so one run shows every broken thing); scenario_end exits 1.
set -u

CG=/sys/fs/cgroup
CONF_D=/etc/cgreap/cgreap.conf.d
RUN_UNITS=/run/systemd/system
# DESIGN §8
MSGID_KILL=e07f2c2137c44c84b88043be6116d1c1
MSGID_RECLAIMED=4ee286758cf648b58fc05d7fd4a55ce7
MSGID_KERNEL_OOM=c8e81b0737aa4d6cabd4025072dc92ea
MSGID_NOTHING=140a986d61874449851ff460e728981a
# Every field of a kill/reclaimed record (DESIGN §8).
RECORD_FIELDS="KILL_ID CGROUP UNIT ADJ ADJ_SOURCE REASON LEVEL EVIDENCE MONITOR MONITOR_CGROUP TRIGGER
PRESSURE_SOME_AVG10 PRESSURE_FULL_AVG10 MEMORY_BYTES SWAP_BYTES PIDS METHOD MRELEASE
FREED_BYTES EMPTY_USEC DRY_RUN"

VMT_FAILED=0
VMT_UNITS=()
VMT_FILES=()
VMT_SLICES=()
VMT_DROPINS=0
VMT_USERS=()
VMT_MOUNTS=()
VMT_MON=
VMT_MONPID=
VMT_T0=$(date +%s%N)

# ---------------------------------------------------------------- output
say() { printf '%6.1fs  %s\n' "$(vmt_elapsed)" "$*"; }
ok() { printf '%6.1fs  ok   %s\n' "$(vmt_elapsed)" "$*"; }
bad() { printf '%6.1fs  FAIL %s\n' "$(vmt_elapsed)" "$*"; VMT_FAILED=1; }
vmt_elapsed() { awk -v a="$VMT_T0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# check WHAT COMMAND...: COMMAND must succeed.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what (failed: $*)"; fi
}
# not COMMAND...: COMMAND fails (for check).
not() { ! "$@"; }
# expect_eq WHAT EXPECTED SEEN
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1: $3"; else bad "$1: expected '$2', saw '$3'"; fi
}
# expect_ne WHAT UNEXPECTED SEEN
expect_ne() {
	if [ "$2" != "$3" ]; then ok "$1: $3"; else bad "$1: expected anything but '$2'"; fi
}
# expect_range WHAT MIN MAX SEEN (integers; MIN or MAX may be empty)
expect_range() {
	local what=$1 lo=$2 hi=$3 v=$4
	if ! [[ $v =~ ^-?[0-9]+$ ]]; then bad "$what: expected a number in [${lo:--inf}, ${hi:-inf}], saw '$v'"; return; fi
	if { [ -n "$lo" ] && [ "$v" -lt "$lo" ]; } || { [ -n "$hi" ] && [ "$v" -gt "$hi" ]; }; then
		bad "$what: expected [${lo:--inf}, ${hi:-inf}], saw $v"
	else
		ok "$what: $v (within [${lo:--inf}, ${hi:-inf}])"
	fi
}
# A precondition: without it the rest of the scenario means nothing.
require() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what (failed: $*); giving up"; exit 1; fi
}

# wait_until SECONDS COMMAND...: poll every 0.5s; 1 on timeout.
wait_until() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

# -------------------------------------------------------------- lifecycle
scenario_begin() {
	say "scenario $(basename "$0" .sh): $*"
	trap vmt_cleanup EXIT
	VMT_CGREAPD_PID=$(systemctl show -p MainPID --value cgreapd 2>/dev/null)
	VMT_CGREAPD_RESTARTS=$(systemctl show -p NRestarts --value cgreapd 2>/dev/null)
	VMT_OOM0=$(oom_kills)
}
# The agent must survive every scenario: same process, no restart.
scenario_end() {
	if [ "${VMT_CGREAPD_PID:-0}" != 0 ]; then
		expect_eq "cgreapd still runs as the same process" "$VMT_CGREAPD_PID" \
			"$(systemctl show -p MainPID --value cgreapd)"
		expect_eq "cgreapd restarts" "$VMT_CGREAPD_RESTARTS" "$(systemctl show -p NRestarts --value cgreapd)"
	fi
	if [ "$VMT_FAILED" = 0 ]; then say "PASS"; exit 0; fi
	say "FAILED"
	exit 1
}

vmt_cleanup() {
	local u
	# A process waiting on a frozen file system would hold 'systemctl stop'.
	for u in "${VMT_MOUNTS[@]}"; do fsfreeze --unfreeze "$u" 2>/dev/null; done
	[ -n "$VMT_MONPID" ] && kill "$VMT_MONPID" 2>/dev/null && wait "$VMT_MONPID" 2>/dev/null
	[ -n "$VMT_MON" ] && rm -f "$VMT_MON"
	for u in "${VMT_UNITS[@]}"; do timeout 30 systemctl stop "$u" 2>/dev/null; done
	for u in "${VMT_UNITS[@]}"; do systemctl reset-failed "$u" 2>/dev/null; done
	for u in "${VMT_SLICES[@]}"; do timeout 30 systemctl stop "$u" 2>/dev/null; done
	if [ ${#VMT_FILES[@]} -gt 0 ]; then
		rm -f "${VMT_FILES[@]}"
		systemctl daemon-reload
	fi
	if [ "$VMT_DROPINS" = 1 ]; then
		cgreapd_reload >/dev/null || echo "cleanup: cgreapd did not confirm the reload"
	fi
	for u in "${VMT_MOUNTS[@]}"; do vmt_fs_remove "$u"; done
	for u in "${VMT_USERS[@]}"; do vmt_user_remove "$u"; done
	VMT_UNITS=() VMT_FILES=() VMT_SLICES=() VMT_DROPINS=0 VMT_USERS=() VMT_MOUNTS=() VMT_MON='' VMT_MONPID=''
}

# Between scenarios (runner): whatever a scenario left behind goes away.
vmt_reset_all() {
	local left reload=0 m
	for m in /run/vmt-*.img; do
		[ -e "$m" ] || continue
		echo "reset: removing leftover file system ${m%.img}"
		fsfreeze --unfreeze "${m%.img}" 2>/dev/null
		vmt_fs_remove "${m%.img}"
	done
	left=$(systemctl list-units --all --plain --no-legend 'vmt-*' | awk '{ print $1 }')
	if [ -n "$left" ]; then
		echo "reset: stopping leftovers: $left"
		# shellcheck disable=SC2086
		timeout 60 systemctl stop $left
		# shellcheck disable=SC2086
		systemctl reset-failed $left 2>/dev/null
	fi
	if compgen -G "$RUN_UNITS/vmt-*" >/dev/null; then
		rm -rf "$RUN_UNITS"/vmt-*
		systemctl daemon-reload
	fi
	if compgen -G "$CONF_D/*vmtest*" >/dev/null; then
		echo "reset: removing leftover drop-ins"
		rm -f "$CONF_D"/*vmtest*
		reload=1
	fi
	awk -F: '$1 ~ /^vmt/ { print $1 }' /etc/passwd | while read -r u; do
		echo "reset: removing leftover user $u"
		vmt_user_remove "$u"
	done
	if ! systemctl -q is-active cgreapd; then
		echo "reset: cgreapd is not active; restarting it"
		timeout 60 systemctl restart cgreapd
	elif [ "$reload" = 1 ]; then
		cgreapd_reload >/dev/null
	fi
}

# ------------------------------------------------------------ install
# cgreap from PAYLOAD/cgreap-install.tar exactly as after 'make install'
# (the runner at boot; scenario 13 again after the package is purged).
vmt_install_tar() {
	local payload=$1
	echo "# tar -xf cgreap-install.tar -C / (as after 'make install')"
	# --keep-directory-symlink: /lib, /bin, /sbin are symlinks into /usr.
	tar --keep-directory-symlink -xf "$payload/cgreap-install.tar" -C / || return 1
	cat "$payload/cgreap-install.list"
	echo "# journalctl --update-catalog"
	journalctl --update-catalog || return 1
	echo "# systemctl daemon-reload && systemctl enable --now cgreapd"
	systemctl daemon-reload && timeout 120 systemctl enable --now cgreapd
}
# The files of that install gone again, the catalog database without them.
vmt_uninstall_tar() {
	local payload=$1 f
	timeout 60 systemctl disable --now cgreapd.service
	while read -r f; do rm -f "/${f#./}"; done <"$payload/cgreap-install.list"
	rm -rf /etc/cgreap
	systemctl daemon-reload
	journalctl --update-catalog
}

# ----------------------------------------------------------- kernel facts
oom_kills() { awk '$1 == "oom_kill" { print $2 }' /proc/vmstat; }
# memory.events counter of a cgroup (path relative to the cgroup root).
memevent() { awk -v k="$2" '$1 == k { print $2 }' "$CG$1/memory.events" 2>/dev/null; }
mib() { echo $(($1 * 1024 * 1024)); }
# proc_status PID KEY: one field of /proc/PID/status.
proc_status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
user_exists() { id -u "$1" >/dev/null 2>&1; }

# ------------------------------------------------------------------ units
# vmt_service NAME [systemd-run options...] -- COMMAND...
# A transient service; stopped and forgotten again when the scenario ends.
vmt_service() {
	local name=$1
	shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	VMT_UNITS+=("$name.service")
	systemd-run --quiet --unit="$name" --service-type=exec -p TimeoutStopSec=10s "${opts[@]}" -- "$@"
}
# vmt_hold NAME SIZE [systemd-run options...]: a service that allocates SIZE
# (e.g. 200M) once, touches it and then sleeps holding it.
vmt_hold() {
	local name=$1 size=$2
	shift 2
	vmt_service "$name" "$@" -- stress-ng --vm 1 --vm-bytes "$size" --vm-keep --vm-hang 0 \
		--no-oom-adjust --timeout 0 --quiet
}
# vmt_grow NAME SIZE [options...]: a service that grows to SIZE as fast as it
# can write, then holds it (the "hog").
vmt_grow() { vmt_hold "$@"; }

# vmt_slice NAME [Slice properties...]: a slice unit in /run (e.g.
# vmt_slice vmt-s3.slice MemoryMax=300M), started, removed at the end.
vmt_slice() {
	local name=$1
	shift
	local f=$RUN_UNITS/$name p
	{
		echo "[Slice]"
		for p in "$@"; do echo "$p"; done
	} >"$f"
	VMT_FILES+=("$f")
	VMT_SLICES+=("$name")
	systemctl daemon-reload
	systemctl start "$name"
}

unit_prop() { systemctl show -p "$2" --value "$1"; }
unit_cgroup() { unit_prop "$1" ControlGroup; }
is_active() { [ "$(unit_prop "$1" ActiveState)" = active ]; }
is_dead() { [ "$(unit_prop "$1" ActiveState)" != active ] && [ "$(unit_prop "$1" ActiveState)" != activating ]; }
# memory.current of a unit's cgroup, 0 when it has none.
unit_mem() {
	local cg
	cg=$(unit_cgroup "$1")
	if [ -n "$cg" ] && [ -r "$CG$cg/memory.current" ]; then cat "$CG$cg/memory.current"; else echo 0; fi
}
mem_at_least() { [ "$(unit_mem "$1")" -ge "$2" ]; }
# wait_mem UNIT BYTES SECONDS: until the unit holds at least BYTES.
wait_mem() {
	wait_until "$3" mem_at_least "$1" "$2" ||
		{ bad "$1 did not reach $(($2 / 1048576))M within $3s (holds $(($(unit_mem "$1") / 1048576))M)"; return 1; }
}
# How a unit ended: "killed by SIGKILL" for a cgroup kill.
unit_end() {
	local code status
	code=$(unit_prop "$1" ExecMainCode)
	status=$(unit_prop "$1" ExecMainStatus)
	case $code in
	2) echo "killed by signal $status" ;;
	1) echo "exited with $status" ;;
	*) echo "$(unit_prop "$1" ActiveState) (code $code status $status)" ;;
	esac
}
expect_killed() { expect_eq "$1 ended" "killed by signal 9" "$(unit_end "$1")"; }
expect_alive() { expect_eq "$1 state" active "$(unit_prop "$1" ActiveState)"; }

# ------------------------------------------------------------ configuration
# vmt_dropin NAME < CONTENT: /etc/cgreap/cgreap.conf.d/NAME.conf (NAME gets
# a "vmtest" marker so the runner can clean up after a cut-short scenario).
vmt_dropin() {
	local f=$CONF_D/$1-vmtest.conf
	mkdir -p "$CONF_D"
	cat >"$f"
	VMT_FILES+=("$f")
	VMT_DROPINS=1
	echo "$f"
}

# ------------------------------------------------------------------ journal
jcursor() { journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p'; }
# journal_after CURSOR [FIELD=VALUE...]: the journal entries after CURSOR
# that have every FIELD=VALUE, one JSON object a line. The matching is done
# here, not by journalctl: systemd 252's journalctl skips the first matching
# entry when --after-cursor is combined with matches.
journal_after() {
	local c=$1 m i=0 filter="." args=()
	shift
	for m in "$@"; do
		args+=(--arg "k$i" "${m%%=*}" --arg "v$i" "${m#*=}")
		filter+=" | select(.[\$k$i] == \$v$i)"
		i=$((i + 1))
	done
	journalctl -q --no-pager -o json --after-cursor="$c" | jq -c "${args[@]}" "$filter"
}
# records MESSAGE_ID CURSOR [FIELD=VALUE...]: the records of one kind after
# CURSOR.
records() {
	local id=$1 c=$2
	shift 2
	journal_after "$c" MESSAGE_ID="$id" "$@"
}
# field JSON NAME: a field of one record ("" when absent).
field() { jq -r --arg f "$2" '.[$f] // "" | if type == "array" then "(binary)" else tostring end' <<<"$1"; }
# count_records MESSAGE_ID CURSOR [MATCH...]
count_records() { records "$@" | grep -c . || true; }
has_records() { [ "$(count_records "$@")" -gt 0 ]; }
# first_record MESSAGE_ID CURSOR [MATCH...]
first_record() { records "$@" | head -n 1; }
# cgreapd's own log lines after CURSOR, as text.
# An empty CURSOR means the whole boot.
cgreapd_log() {
	if [ -n "$1" ]; then
		journal_after "$1" _SYSTEMD_UNIT=cgreapd.service | jq -r .MESSAGE
	else
		journalctl -q --no-pager -b -o cat _SYSTEMD_UNIT=cgreapd.service
	fi
}
cgreapd_logged() { cgreapd_log "$1" | grep -q -E -- "$2"; }

# Show every field of a record, for the log.
show_record() { jq -r 'to_entries | sort_by(.key)[] | select(.key | test("^(CGREAP_|MESSAGE$|MESSAGE_ID|OBJECT_SYSTEMD|PRIORITY)")) | "        \(.key)=\(.value)"' <<<"$1"; }

# Every DESIGN §8 field must be present in a reclaimed record.
expect_all_fields() {
	local rec=$1 f missing=""
	for f in $RECORD_FIELDS; do
		[ -n "$(field "$rec" "CGREAP_$f")" ] || missing+=" CGREAP_$f"
	done
	if [ -z "$missing" ]; then ok "$2 has every DESIGN §8 field"; else bad "$2: missing fields:$missing"; fi
}

# Reload cgreapd and wait until it has read the configuration again (its log
# says so, or says why not). 1 when it says nothing within 20s.
cgreapd_reload() {
	local c
	c=$(jcursor)
	systemctl reload cgreapd || return 1
	# "Configuration reloaded: ..." or "Refusing the new configuration ...".
	wait_until 20 cgreapd_logged "$c" 'onfiguration reloaded|new configuration'
}

# Restart cgreapd on purpose (a unit drop-in changed) and wait until it owns
# its bus name again; the scenario's end then expects the new process.
cgreapd_restart() {
	systemctl daemon-reload && timeout 60 systemctl restart cgreapd || return 1
	VMT_CGREAPD_PID=$(systemctl show -p MainPID --value cgreapd)
	VMT_CGREAPD_RESTARTS=$(systemctl show -p NRestarts --value cgreapd)
	wait_until 20 busctl status org.cgreap1 >/dev/null 2>&1
}

# Free memory, in bytes.
mem_available() { awk '$1 == "MemAvailable:" { print $2 * 1024 }' /proc/meminfo; }

# ------------------------------------------------------------ cgreapctl
# "ADJ SOURCE" of a cgroup as 'cgreapctl list --json' resolves it.
ctl_adj() {
	cgreapctl list --json 2>/dev/null |
		jq -r --arg cg "$1" '.[] | select(.cgroup == $cg) | "\(.adj) \(.adj_source)"'
}

# For scenarios about one limited slice: the whole-machine monitor is kept
# (a [Monitor] section replaces the built-in one) but kills nothing, so that
# every kill in the scenario comes from the slice's own monitor. Pressure in
# a slice is pressure of the whole machine too (PSI counts up the tree).
SYSTEM_MONITOR_QUIET="[Monitor system]
Cgroup=/
MediumMinAdj=1000
CriticalMinAdj=1000"

# The pieces of a kill, for the log: "UNIT adj ADJ (SOURCE) reason REASON".
describe_kill() {
	local r=$1
	echo "$(field "$r" CGREAP_UNIT) adj $(field "$r" CGREAP_ADJ) ($(field "$r" CGREAP_ADJ_SOURCE))" \
		"reason $(field "$r" CGREAP_REASON) monitor $(field "$r" CGREAP_MONITOR)" \
		"trigger '$(field "$r" CGREAP_TRIGGER)' method $(field "$r" CGREAP_METHOD) dry-run $(field "$r" CGREAP_DRY_RUN)"
}
# The units named by the kill records after CURSOR, in order, one a line.
killed_units() { records "$MSGID_KILL" "$1" | jq -r '.CGREAP_UNIT // .CGREAP_CGROUP'; }
# Seconds (with ms) between two journal records' realtime stamps.
record_usec() { nfield "$1" __REALTIME_TIMESTAMP; }
indent() { sed 's/^/        /'; }
# unit_journal_has UNIT MESSAGE_ID: 'journalctl -u UNIT' shows such a record.
# (jq -s: jq 1.6's -e forgets a match followed by non-matching inputs.)
unit_journal_has() { journalctl -q -o json -u "$1" | jq -e -s --arg id "$2" 'any(.[]; .MESSAGE_ID == $id)' >/dev/null; }
# unit_journal_x_shows UNIT TEXT: 'journalctl -x -u UNIT' shows TEXT.
unit_journal_x_shows() { journalctl -q -x --no-pager -u "$1" | grep -q -F -- "$2"; }
status_shows_text() { systemctl --no-pager status cgreapd | grep -q -F 'Status: "'; }
catalog_knows() { journalctl --list-catalog | grep -q -i "^$1"; }

# memory.high of a cgroup as written by cgreap's MemoryHighGuard: the limit
# times (1 - guard), rounded down to a page by the kernel.
guard_value() { echo $(($1 * (100 - $2) / 100 / 4096 * 4096)); }
cg_file() { cat "$CG$1/$2" 2>/dev/null; }
cg_file_is() { [ "$(cg_file "$1" "$2")" = "$3" ]; }
cg_file_near() {
	local v
	v=$(cg_file "$1" "$2")
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge $(($3 - 8192)) ] && [ "$v" -le $(($3 + 8192)) ]
}
# vmt_churn NAME SIZE [systemd-run options...]: a service that maps, touches
# and unmaps SIZE over and over: it keeps allocating, so a cgroup over its
# memory.high stays under pressure for as long as it runs.
vmt_churn() {
	local name=$1 size=$2
	shift 2
	# Throttled at memory.high it takes long to see SIGTERM: do not wait.
	vmt_service "$name" -p TimeoutStopSec=2s "$@" -- stress-ng --vm 1 --vm-bytes "$size" --no-oom-adjust --timeout 0 --quiet
}
# any_dead UNIT...: one of them is no longer running.
any_dead() {
	local u
	for u in "$@"; do is_dead "$u" && return 0; done
	return 1
}
# The same, space-separated on one line.
killed_list() { killed_units "$1" | paste -s -d ' '; }
# nfield JSON NAME: a numeric field, 0 when absent (safe in $(( ))).
nfield() {
	local v
	v=$(field "$1" "$2")
	[[ $v =~ ^-?[0-9]+$ ]] && echo "$v" || echo 0
}
# wait_record MESSAGE_ID CURSOR [FIELD=VALUE...]: the first such record,
# waiting up to 15s for it (a unit can be seen dead before the agent's
# record reaches the journal). Empty when none came.
wait_record() {
	wait_until 15 has_records "$@" || true
	first_record "$@"
}
# After a kill: wait longer than PostKillDelay (2s), so that a second,
# needless kill (a stale stall event acted on once the delay is over)
# would show up in what the scenario checks next.
settle() { sleep 5; }

# ------------------------------------------------------------ capabilities
# The number of a capability (e.g. "kill"), from the kernel's own list as
# util-linux knows it: 'setpriv --list-caps' prints the names in number order.
cap_number() {
	local n
	n=$(setpriv --list-caps | grep -n -x -F "$1" | cut -d: -f1)
	[ -n "$n" ] && echo $((n - 1))
}
# cap_mask NAME...: the mask of those capabilities as /proc/PID/status shows
# it (CapBnd: etc., 16 hex digits).
cap_mask() {
	local m=0 c n
	for c in "$@"; do
		n=$(cap_number "$c") || return 1
		m=$((m | (1 << n)))
	done
	printf '%016x\n' "$m"
}
# cap_names MASK: the names of the capabilities in a /proc mask, sorted.
cap_names() {
	local m=$((16#$1)) i=0 c names=()
	while read -r c; do
		[ $(((m >> i) & 1)) = 1 ] && names+=("$c")
		i=$((i + 1))
	done < <(setpriv --list-caps)
	printf '%s\n' "${names[@]}" | sort | paste -s -d ' '
}

# ------------------------------------------------------------ a user manager
# vmt_user NAME: a user with a lingering systemd user manager
# (user@UID.service, started by logind); removed again at the end. Sets
# VMT_UID.
vmt_user() {
	useradd -m "$1" || return 1
	VMT_USERS+=("$1")
	VMT_UID=$(id -u "$1")
	loginctl enable-linger "$1" || return 1
	wait_until 60 systemctl -q is-active "user@$VMT_UID.service"
}
vmt_user_remove() {
	local uid
	uid=$(id -u "$1" 2>/dev/null) || return 0
	loginctl disable-linger "$1" 2>/dev/null
	timeout 60 systemctl stop "user@$uid.service" 2>/dev/null
	loginctl terminate-user "$1" 2>/dev/null
	userdel -r "$1" 2>/dev/null
	systemctl reset-failed "user@$uid.service" "user-runtime-dir@$uid.service" 2>/dev/null
	return 0
}
# uctl USER ARGS...: systemctl of USER's own manager, from root, the way an
# administrator reaches it (through the user's bus).
uctl() {
	local u=$1
	shift
	timeout 60 systemctl --user -M "$u@" "$@"
}
# vmt_user_hold USER NAME SIZE [systemd-run options...]: vmt_hold, but as a
# unit of USER's manager.
vmt_user_hold() {
	local u=$1 name=$2 size=$3
	shift 3
	timeout 60 systemd-run --user -M "$u@" --quiet --unit="$name" --service-type=exec \
		-p TimeoutStopSec=10s "$@" -- stress-ng --vm 1 --vm-bytes "$size" --vm-keep --vm-hang 0 \
		--no-oom-adjust --timeout 0 --quiet
}
uunit_prop() { uctl "$1" show -p "$3" --value "$2"; }
# uunit_end USER UNIT: as unit_end, for a unit of USER's manager.
uunit_end() {
	local code status
	code=$(uunit_prop "$1" "$2" ExecMainCode)
	status=$(uunit_prop "$1" "$2" ExecMainStatus)
	case $code in
	2) echo "killed by signal $status" ;;
	1) echo "exited with $status" ;;
	*) echo "$(uunit_prop "$1" "$2" ActiveState) (code $code status $status)" ;;
	esac
}
# cg_mem_ge CGROUP BYTES: its memory.current is at least BYTES.
cg_mem_ge() { [ "$(cg_file "$1" memory.current || echo 0)" -ge "$2" ]; }
# cg_empty CGROUP: no process left in it (or it is gone).
cg_empty() { ! grep -q '^populated 1' "$CG$1/cgroup.events" 2>/dev/null; }
# fds_on PID PATH: how many of PID's file descriptors are open on PATH.
fds_on() {
	local fd n=0
	for fd in "/proc/$1/fd"/*; do
		[ "$(readlink "$fd")" = "$2" ] && n=$((n + 1))
	done
	echo "$n"
}

# ------------------------------------------------------------ kill rounds
# reap_round SLICE METHOD N EXPECTED_METHOD USER: one kill inside SLICE (a
# vmt_slice with MemoryMax=400M, monitored with MemoryHighGuard=5%) with
# [Kill] Method=METHOD. A 250M victim at adj 700 running as USER beside a
# 200M root grower at adj 100 (together over the guard): the victim, and
# only it, must die by SIGKILL without a kernel OOM kill; the reclaimed
# record must say METHOD=EXPECTED_METHOD, free about what the victim held
# and have MRELEASE yes or no (never "unsupported": the unit's seccomp filter
# lets process_mrelease through). Counts the rounds with MRELEASE=yes in
# REAP_YES: on 2 CPUs a victim can detach its mm itself before the call
# lands (ESRCH), so a single round may say no.
REAP_YES=0
reap_round() {
	local slice=$1 method=$2 n=$3 want=$4 user=$5
	local tag=${slice#vmt-} sp c before kill rec id freed empty oom0 mr pid uid run_as=()
	tag=${tag%.slice}
	local victim=vmt-$tag-victim-$n grow=vmt-$tag-grow-$n
	sp=$(unit_cgroup "$slice")
	say "round $n: Method=$method, victim runs as $user"
	vmt_dropin "90-$tag" >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor $tag]
Cgroup=$sp
MemoryHighGuard=5%

[Kill]
Method=$method

[Priority]
vmt-$tag-victim-*.service = 700
vmt-$tag-grow-*.service = 100
CONF
	cgreapd_reload || bad "cgreapd did not log the reload"
	# stress-ng wants a writable working directory.
	[ "$user" = root ] || run_as=(-p "User=$user" -p WorkingDirectory=/tmp)
	vmt_hold "$victim" 250M --slice="$slice" "${run_as[@]}"
	# Without a victim the rest of the round means nothing.
	wait_mem "$victim.service" $((245 << 20)) 60 || return 1
	pid=$(unit_prop "$victim.service" MainPID)
	uid=$(proc_status "$pid" Uid)
	expect_eq "uid of the victim's main process" "$(id -u "$user")" "$uid"
	before=$(unit_mem "$victim.service")
	oom0=$(oom_kills)
	c=$(jcursor)
	vmt_grow "$grow" 200M --slice="$slice"
	wait_until 120 is_dead "$victim.service" || bad "$victim still runs after 120s"
	wait_until 20 has_records "$MSGID_RECLAIMED" "$c" CGREAP_UNIT="$victim.service" ||
		bad "no reclaimed record for $victim within 20s of its death"
	expect_killed "$victim.service"
	settle
	expect_alive "$grow.service"
	expect_eq "kills in round $n" "$victim.service" "$(killed_list "$c")"
	expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"
	kill=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT="$victim.service")
	id=$(field "$kill" CGREAP_KILL_ID)
	rec=$(wait_record "$MSGID_RECLAIMED" "$c" CGREAP_KILL_ID="$id")
	show_record "$rec"
	expect_eq "METHOD" "$want" "$(field "$rec" CGREAP_METHOD)"
	mr=$(field "$rec" CGREAP_MRELEASE)
	case $mr in
	yes) ok "MRELEASE: yes"; REAP_YES=$((REAP_YES + 1)) ;;
	no) ok "MRELEASE: no (the victim had already released its mm: ESRCH)" ;;
	*) bad "MRELEASE: expected yes or no, saw '$mr'" ;;
	esac
	freed=$(field "$rec" CGREAP_FREED_BYTES)
	empty=$(field "$rec" CGREAP_EMPTY_USEC)
	say "victim held $((before >> 20))M; freed $((${freed:-0} >> 20))M in $((${empty:-0} / 1000))ms"
	expect_range "FREED_BYTES as % of what the victim held" 80 120 $((${freed:-0} * 100 / (before > 0 ? before : 1)))
	systemctl stop "$grow.service"
}

# ------------------------------------------------------------ a stuck victim
# vmt_frozen_fs DIR: a small ext4 (a loop device on /run/vmt-NAME.img)
# mounted at DIR (/run/vmt-NAME) and frozen: a process that opens a file
# there for writing waits in D state, where even SIGKILL leaves it until
# 'fsfreeze --unfreeze DIR'. Thawed, unmounted and removed at the end.
vmt_frozen_fs() {
	local dir=$1
	truncate -s 32M "$dir.img" && mkfs.ext4 -q -F "$dir.img" && mkdir -p "$dir" || return 1
	VMT_MOUNTS+=("$dir")
	mount -o loop "$dir.img" "$dir" && fsfreeze --freeze "$dir"
}
vmt_fs_remove() {
	mountpoint -q "$1" && umount "$1"
	rmdir "$1" 2>/dev/null
	rm -f "$1.img"
}
# proc_state PID: R, S, D, ... as /proc/PID/stat says.
proc_state() { sed -E 's/^.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null; }

# ------------------------------------------------------------ the bus
# as_nobody COMMAND...: COMMAND as user nobody, without root's groups.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# bus_monitor: 'cgreapctl monitor' in the background, a line per Killed
# ("killed ID UNIT CGROUP adj=... reason=...") and Reclaimed ("reclaimed ID
# freed=...") into $VMT_MON until the scenario ends; 1 if it did not start.
bus_monitor() {
	VMT_MON=$(mktemp)
	cgreapctl monitor >"$VMT_MON" 2>&1 &
	VMT_MONPID=$!
	wait_until 10 mon_has '^Following org.cgreap1' || { bad "cgreapctl monitor did not start: $(cat "$VMT_MON")"; return 1; }
}
mon_has() { grep -qE -- "$1" "$VMT_MON"; }
# manual_kill TARGET: 'cgreapctl kill TARGET' (a unit or a cgroup) as root,
# and its reclaimed record; sets KILL_ID and KILL_REC. 1 when the kill was
# refused or no record came.
manual_kill() {
	local c out
	KILL_ID='' KILL_REC=''
	c=$(jcursor)
	out=$(cgreapctl kill "$1" 2>&1) || { bad "cgreapctl kill $1 failed: $out"; return 1; }
	say "$out"
	KILL_ID=$(sed -nE 's/^Kill ([0-9]+) sent to .*/\1/p' <<<"$out")
	KILL_REC=$(wait_record "$MSGID_RECLAIMED" "$c" CGREAP_KILL_ID="$KILL_ID")
	[ -n "$KILL_REC" ] || { bad "no reclaimed record for kill $KILL_ID of $1"; return 1; }
}
# bus_call METHOD SIGNATURE ARGS...: a method of org.cgreap1.Manager, the
# reply as JSON ({"type": ..., "data": [...]}).
bus_call() {
	busctl --json=short call org.cgreap1 /org/cgreap1 org.cgreap1.Manager "$@"
}
