#!/bin/bash
# One benchmark boot, in the guest (started by a generated scenario of
# tests/vm's runner, after cgreap is installed and enabled):
#
#   bench.sh AGENT SCENARIO REPS
#
# AGENT: kernel | cgreap | earlyoom | nohang | systemd-oomd. SCENARIO: hog |
# leak | leak-swap | slice | cpu | stream-swap | slice-stream | slice-steady |
# churn | idle. Sets the agent up with the configuration in
# agents/AGENT (copied over /), runs REPS repetitions of the scenario, each
# from a clean state (workload units stopped, swap reset, caches dropped,
# the agent restarted), and leaves raw data for bench/analyze in
# $VMT_RESULTS/bench/: meta.txt, config/ (the exact configuration files the
# agent ran with) and rep-N/ (observer samples, kernel trace of every
# SIGTERM/SIGKILL and OOM victim, unit states, the probe's figures, logs).
set -u
agent=$1
scenario=$2
reps=$3
B=$(cd "$(dirname "$0")" && pwd)
R=${VMT_RESULTS:-/results}/bench
CG=/sys/fs/cgroup
T=/sys/kernel/tracing
U=/run/systemd/system
mkdir -p "$R"
# The observer (this script, the sampler) must outlive every kill: agents
# and the kernel choose among the workloads only.
echo -1000 >/proc/self/oom_score_adj
exec > >(tee -a "$R/bench.log") 2>&1

say() { echo "bench[$agent/$scenario] $(cut -d' ' -f1 /proc/uptime)s: $*"; }
now() { "$B/benchtool" now; }
prop() { systemctl show -p "$2" --value "$1"; }
is_active() { [ "$(prop "$1" ActiveState)" = active ]; }
cg_mem() { cat "$CG$(prop "$1" ControlGroup)/memory.current" 2>/dev/null || echo 0; }
# wait_until SECONDS COMMAND...: poll every 0.25s; 1 on timeout.
wait_until() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.25
	done
}
# cg_of SLICE UNIT: the unit's cgroup directory (also before it exists).
cg_of() {
	case $1 in
	bench.slice) echo "$CG/bench.slice/$2" ;;
	bench-limited.slice) echo "$CG/bench.slice/bench-limited.slice/$2" ;;
	esac
}
started() { [ "$(prop "$1" ExecMainStartTimestampMonotonic)" != 0 ]; }
holds() { [ "$(cg_mem "$1")" -ge $(($2 * 1024 * 1024 * 95 / 100)) ]; }
oom_kills() { awk '$1 == "oom_kill" { print $2 }' /proc/vmstat; }

# ------------------------------------------------------------ scenarios
# Sizes in MiB. The guest has 2 GiB and 2 CPUs; see bench/README.md.
WEB_MB=64 BATCH_MB=300 HOG_MB=1900 HOG_RATE=0 HOG_FILL=touch LIMIT=60
BATCH_SLICE=bench.slice HOG_SLICE=bench.slice WEB_SLICE=bench.slice
BATCH_WEIGHT=100 BUSY_WEIGHT=100 SPINNERS=0 ZRAM=0 SCOPE_PSI=/proc/pressure/memory BATCH_HOLD=
# SWAPFILE: MiB of swap file on the guest's ext4 root. NOKILL: the right
# answer is no kill; the episode lasts LIMIT seconds. HOG: grow, stream (read
# a STREAM_MB sparse file over and over) or churn (stress-ng maps, writes and
# unmaps CHURN_PCT% of MemAvailable, again and again). SWAP_PUSH: MiB of
# batch's idle memory pushed to swap (memory.reclaim) when the episode
# starts: deterministic, and without making the whole machine short.
SWAPFILE=0 NOKILL=0 HOG=grow STREAM_MB=0 CHURN_PCT=0 SWAP_PUSH=0
case $scenario in
hog) ;; # a hog that grows as fast as it can write, no swap
leak)   # a slow leak of half-compressible data, with 768 MiB of zram swap
	HOG_MB=2600 HOG_RATE=50 HOG_FILL=half ZRAM=768 LIMIT=120 ;;
slice)  # everything in a slice at MemoryMax=400M; the hog needs 300M of it
	WEB_MB=48 BATCH_MB=150 HOG_MB=300 LIMIT=45
	WEB_SLICE=bench-limited.slice BATCH_SLICE=bench-limited.slice HOG_SLICE=bench-limited.slice
	SCOPE_PSI=$CG/bench.slice/bench-limited.slice/memory.pressure ;;
cpu)    # the victim has cpu.weight 1 beside a spinner on each CPU and the hog at 10000
	# batch keeps writing its pages (always runnable: no sleeper's credit
	# when it is killed) and the spinners start once it holds its memory.
	BATCH_MB=500 HOG_MB=1700 BATCH_WEIGHT=1 BUSY_WEIGHT=10000 SPINNERS=2 LIMIT=60 BATCH_HOLD=busy ;;
leak-swap) # the same leak with a 512 MiB swap file: how much swap is used at the first kill
	HOG_MB=2600 HOG_RATE=50 HOG_FILL=half SWAPFILE=512 LIMIT=120 ;;
# The right answer is no kill in these four.
stream-swap) # 200 MiB of batch in swap, then a 3 GiB file streamed through the page cache
	HOG=stream STREAM_MB=3072 SWAPFILE=512 SWAP_PUSH=200 NOKILL=1 LIMIT=35 ;;
slice-stream) # the limited slice reads a 1.5 GiB file: its page cache fills it to the limit
	WEB_MB=48 BATCH_MB=150 HOG=stream STREAM_MB=1536 NOKILL=1 LIMIT=35
	WEB_SLICE=bench-limited.slice BATCH_SLICE=bench-limited.slice HOG_SLICE=bench-limited.slice
	SCOPE_PSI=$CG/bench.slice/bench-limited.slice/memory.pressure ;;
slice-steady) # the limited slice holds 348 of its 400 MiB (87%) of anonymous memory
	WEB_MB=48 BATCH_MB=150 HOG_MB=150 NOKILL=1 LIMIT=30
	WEB_SLICE=bench-limited.slice BATCH_SLICE=bench-limited.slice HOG_SLICE=bench-limited.slice
	SCOPE_PSI=$CG/bench.slice/bench-limited.slice/memory.pressure ;;
churn) # no swap; 80% of MemAvailable mapped, written and unmapped over and over
	HOG=churn CHURN_PCT=80 NOKILL=1 LIMIT=35 ;;
idle) ;;
*) say "unknown scenario $scenario"; exit 2 ;;
esac

write_units() {
	cat >"$U/bench.slice" <<-EOF
	[Unit]
	Description=cgreap benchmark workloads
	EOF
	cat >"$U/bench-limited.slice" <<-EOF
	[Unit]
	Description=cgreap benchmark: a slice at its MemoryMax
	[Slice]
	MemoryMax=400M
	EOF
	# $1 unit, $2 slice, $3 cpu weight, $4... command
	unit() {
		local name=$1 slice=$2 weight=$3
		shift 3
		cat >"$U/$name" <<-EOF
		[Unit]
		Description=cgreap benchmark workload $name
		[Service]
		Slice=$slice
		CPUWeight=$weight
		ExecStart=$*
		TimeoutStopSec=5s
		EOF
	}
	unit bench-web.service "$WEB_SLICE" "$BUSY_WEIGHT" "$B/benchtool probe bench-web $WEB_MB /run/bench/probe.out"
	unit bench-batch.service "$BATCH_SLICE" "$BATCH_WEIGHT" "$B/benchtool grow bench-batch $BATCH_MB 0 touch $BATCH_HOLD"
	case $HOG in
	grow) unit bench-hog.service "$HOG_SLICE" "$BUSY_WEIGHT" "$B/benchtool grow bench-hog $HOG_MB $HOG_RATE $HOG_FILL" ;;
	stream) unit bench-hog.service "$HOG_SLICE" "$BUSY_WEIGHT" "$B/benchtool stream bench-hog $STREAM_FILE" ;;
	# The size is measured per repetition (set_size); no oom_score_adj of
	# stress-ng's own: the hog has the neutral priority in every scenario.
	churn) # shellcheck disable=SC2016 # systemd expands it
		unit bench-hog.service "$HOG_SLICE" "$BUSY_WEIGHT" \
		'/usr/bin/stress-ng --vm 1 --vm-bytes ${BENCH_SIZE_MB}m --no-oom-adjust --timeout 0 --quiet' ;;
	esac
	unit bench-spin@.service bench.slice "$BUSY_WEIGHT" "$B/benchtool spin bench-spin"
	# One spinner pinned to each CPU: wherever the victim runs, it shares
	# its CPU with a task of 10000 times its weight.
	echo "CPUAffinity=%i" >>"$U/bench-spin@.service"
	unit bench-idle@.service bench.slice 100 "/bin/sleep infinity"
	systemctl daemon-reload
}

# ------------------------------------------------------------------ agents
agent_unit() {
	case $agent in
	cgreap) echo cgreapd.service ;;
	earlyoom) echo earlyoom.service ;;
	nohang) echo nohang.service ;;
	systemd-oomd) echo systemd-oomd.service ;;
	kernel) echo "" ;;
	esac
}
AGENT_UNIT=$(agent_unit)

agent_setup() {
	[ "$agent" = cgreap ] || systemctl disable --now cgreapd.service 2>/dev/null
	# The configuration: files copied over / (drop-ins in /etc and /run).
	cp -a "$B/agents/$agent/." /
	mkdir -p "$R/config"
	cp -a "$B/agents/$agent/." "$R/config/"
	case $agent in
	nohang)
		cat /etc/nohang/nohang-bench.conf >>/etc/nohang/nohang.conf
		rm -f /etc/nohang/nohang-bench.conf
		cp /etc/nohang/nohang.conf "$R/config/nohang.conf.effective"
		;;
	# The merged configuration cgreapd runs with, each value with the
	# file:line it came from.
	cgreap) cgreapctl check-config >"$R/config/cgreap.conf.effective" 2>&1 ||
		say "cgreapctl check-config failed: $(tail -n 3 "$R/config/cgreap.conf.effective" | paste -s -d ' ')" ;;
	esac
	systemctl daemon-reload
	write_units
	for u in bench-web.service bench-batch.service bench-hog.service bench.slice bench-limited.slice; do
		systemctl cat "$u" >>"$R/config/units.txt" 2>&1
		echo >>"$R/config/units.txt"
	done
	[ -n "$AGENT_UNIT" ] && systemctl cat "$AGENT_UNIT" >"$R/config/agent-unit.txt" 2>&1
	{
		echo "agent $agent"
		echo "scenario $scenario"
		echo "reps $reps"
		echo "kernel $(uname -r)"
		case $agent in
		cgreap) echo "version $(cgreapd --version)" ;;
		earlyoom) echo "version $(earlyoom -v 2>&1 | head -n 1)" ;;
		nohang) echo "version $(dpkg-query -W -f '${Version}' nohang)" ;;
		systemd-oomd) echo "version $(dpkg-query -W -f '${Version}' systemd-oomd)" ;;
		kernel) echo "version none (kernel OOM killer)" ;;
		esac
		echo "memtotal_kb $(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"
		echo "cpus $(nproc)"
		# kvm or qemu (TCG): what the guest itself sees.
		echo "virt $(systemd-detect-virt 2>/dev/null || echo none)"
		# Fixed pieces of work (speed_*_ns); bench/run times them on the host.
		"$B/benchtool" speed
	} >"$R/meta.txt"
}

agent_restart() {
	[ -n "$AGENT_UNIT" ] || return 0
	[ "$agent" = systemd-oomd ] && systemctl start systemd-oomd.socket
	systemctl restart "$AGENT_UNIT"
	wait_until 30 is_active "$AGENT_UNIT" || say "$AGENT_UNIT did not become active"
	sleep 2
}

# -------------------------------------------------------------- observers
trace_start() {
	[ -d "$T/events" ] || mount -t tracefs nodev "$T" 2>/dev/null
	[ -d "$T/events/signal" ] || { say "no tracefs: kill times come from the logs only"; return 0; }
	echo 0 >"$T/tracing_on"
	echo >"$T/trace"
	echo mono >"$T/trace_clock"
	echo 2048 >"$T/buffer_size_kb"
	echo 'sig == 9 || sig == 15' >"$T/events/signal/signal_generate/filter"
	echo 1 >"$T/events/signal/signal_generate/enable"
	echo 1 >"$T/events/oom/mark_victim/enable"
	echo 1 >"$T/tracing_on"
}
trace_stop() {
	[ -d "$T/events/signal" ] || return 0
	echo 0 >"$T/tracing_on"
	cp "$T/trace" "$1/trace.txt"
	echo 0 >"$T/events/signal/signal_generate/enable"
	echo 0 >"$T/events/oom/mark_victim/enable"
}

zram_on() {
	[ "$ZRAM" -gt 0 ] || return 0
	modprobe zram num_devices=1 || { say "no zram module"; return 1; }
	echo "${ZRAM}M" >/sys/block/zram0/disksize
	mkswap /dev/zram0 >/dev/null && swapon -p 100 /dev/zram0
}
zram_off() {
	[ "$ZRAM" -gt 0 ] || return 0
	swapoff /dev/zram0 2>/dev/null
	echo 1 >/sys/block/zram0/reset 2>/dev/null
}
# A swap file on the ext4 root (made once per boot) and the streamed sparse
# file: the same tools as the guest scenarios of tests/vm.
SWAP_FILE=/var/tmp/bench.swap STREAM_FILE=/var/tmp/bench-stream.big
files_setup() {
	if [ "$SWAPFILE" -gt 0 ]; then
		if ! { dd if=/dev/zero of="$SWAP_FILE" bs=1M count="$SWAPFILE" status=none && chmod 600 "$SWAP_FILE" &&
			mkswap -q "$SWAP_FILE"; }; then
			say "could not make the ${SWAPFILE}M swap file"
		fi
	fi
	[ "$STREAM_MB" -eq 0 ] || truncate -s "${STREAM_MB}M" "$STREAM_FILE"
}
swap_on() {
	zram_on || return 1
	[ "$SWAPFILE" -gt 0 ] || return 0
	swapon "$SWAP_FILE" || { say "swapon $SWAP_FILE failed"; return 1; }
}
swap_off() {
	zram_off
	[ "$SWAPFILE" -gt 0 ] || return 0
	swapoff "$SWAP_FILE" 2>/dev/null
}
swap_state() { awk '$1 ~ /^(MemAvailable|SwapFree):$/ { printf "%s %dM ", $1, $2 / 1024 }' /proc/meminfo; }
mem_avail_mb() { awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo; }
# set_size UNIT MIB: the size its ExecStart= reads from $BENCH_SIZE_MB.
set_size() {
	mkdir -p "$U/$1.d"
	printf '[Service]\nEnvironment=BENCH_SIZE_MB=%s\n' "$2" >"$U/$1.d/50-size.conf"
	systemctl daemon-reload
}

WORK_UNITS="bench-web.service bench-batch.service bench-hog.service"
all_stop() {
	local u
	u=$(systemctl list-units --all --plain --no-legend 'bench-*' | awk '{ print $1 }')
	# shellcheck disable=SC2086
	[ -z "$u" ] || { timeout 60 systemctl stop $u; systemctl reset-failed $u 2>/dev/null; }
	swap_off
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# The end of an episode: the hog is gone, or (slice, cpu) it holds all it
# wanted and the preferred victim's memory is back.
episode_over() {
	case $scenario in
	slice) ! is_active bench-hog.service || { holds bench-hog.service "$HOG_MB" && ! is_active bench-batch.service; } ;;
	# cpu: also until a killed batch has its memory back (or the limit):
	# that is what the scenario measures.
	cpu) { ! is_active bench-hog.service || holds bench-hog.service "$HOG_MB"; } && batch_settled ;;
	*) ! is_active bench-hog.service ;;
	esac
}
# The preferred victim is untouched, gone, or killed with its memory freed
# (a starved process holds its memory until it gets the CPU to exit, unless
# someone unmaps it for it).
batch_settled() {
	local pend
	[ -d "/proc/$BATCH_PID" ] || return 0
	pend=$(awk '$1 == "SigPnd:" || $1 == "ShdPnd:" { print $2 }' "/proc/$BATCH_PID/status" 2>/dev/null | paste -s -d ' ')
	# SIGKILL is bit 9 (0x100), SIGTERM bit 15 (0x4000).
	for m in $pend; do (( (16#$m & 0x4100) != 0 )) && { [ "$(cg_mem bench-batch.service)" -lt $((BATCH_MB * 1024 * 1024 / 10)) ]; return; }; done
	return 0
}

# ------------------------------------------------------------ repetitions
pressure_rep() {
	local n=$1 d=$R/rep-$1 c t0 t1 u sampler
	mkdir -p "$d"
	say "rep $n: setting up"
	all_stop
	swap_on || return 1
	c=$(journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p')
	agent_restart
	rm -f /run/bench/probe.out
	systemctl start bench-web.service bench-batch.service
	wait_until 90 holds bench-web.service "$WEB_MB" || say "web did not reach ${WEB_MB}M"
	wait_until 90 holds bench-batch.service "$BATCH_MB" || say "batch did not reach ${BATCH_MB}M"
	for i in $(seq 0 $((SPINNERS - 1))); do systemctl start "bench-spin@$i.service"; done
	if [ "$HOG" = churn ]; then
		HOG_MB=$(($(mem_avail_mb) * CHURN_PCT / 100))
		set_size bench-hog.service "$HOG_MB"
		say "rep $n: the churn maps ${HOG_MB}M (${CHURN_PCT}% of MemAvailable)"
	fi
	sleep 3
	# What systemd-oomd watches (evidence that it was configured right).
	[ "$agent" = systemd-oomd ] && oomctl >"$d/oomctl.txt" 2>&1

	"$B/benchtool" sample "$d/samples.tsv" 20 psi:global:/proc/pressure/memory mem \
		"psi:scope:$SCOPE_PSI" \
		"cg:web:$(cg_of "$WEB_SLICE" bench-web.service)" \
		"cg:batch:$(cg_of "$BATCH_SLICE" bench-batch.service)" \
		"cg:hog:$(cg_of "$HOG_SLICE" bench-hog.service)" &
	sampler=$!
	trace_start
	sleep 1
	{
		echo "oom_kill_before $(oom_kills)"
		for u in $WORK_UNITS; do echo "pid ${u%.service} $(prop "$u" MainPID)"; done
		for i in $(seq 0 $((SPINNERS - 1))); do echo "pid spin$i $(prop "bench-spin@$i.service" MainPID)"; done
		echo "swap_total_kb $(awk '$1 == "SwapTotal:" { print $2 }' /proc/meminfo)"
		# For analyze.py: whether any kill is unneeded, what the hog wants
		# (MiB; 0 when it does not allocate) and the limit it lives under.
		echo "nokill $NOKILL"
		if [ "$HOG" = stream ]; then echo "hog_mb 0"; else echo "hog_mb $HOG_MB"; fi
		[ "$HOG_SLICE" = bench-limited.slice ] && echo "limit_kb $(($(cat "$CG/bench.slice/bench-limited.slice/memory.max") / 1024))"
		# stress-ng's workers get new pids and names of their own.
		[ "$HOG" = churn ] && echo "comm stress-ng hog"
		echo "bench_subtree_control $(paste -s -d, "$CG/bench.slice/cgroup.subtree_control")"
		# How much CPU the preferred victim gets (the cpu scenario starves it).
		echo "batch_usage_usec_1 $(awk '$1 == "usage_usec" { print $2 }' "$(cg_of "$BATCH_SLICE" bench-batch.service)/cpu.stat")"
		sleep 1
		echo "batch_usage_usec_2 $(awk '$1 == "usage_usec" { print $2 }' "$(cg_of "$BATCH_SLICE" bench-batch.service)/cpu.stat")"
	} >"$d/meta.txt"
	BATCH_PID=$(prop bench-batch.service MainPID)
	systemctl kill -s USR1 bench-web.service
	t0=$(now)
	local stop=$(($(date +%s) + LIMIT))
	echo "t0_us $t0" >>"$d/meta.txt"
	if [ "$SWAP_PUSH" -gt 0 ]; then
		# Inside the episode, so that a kill it provokes is traced. It may
		# reclaim less than asked (EAGAIN): the samples say how much.
		echo "${SWAP_PUSH}M" >"$(cg_of "$BATCH_SLICE" bench-batch.service)/memory.reclaim" ||
			say "memory.reclaim of ${SWAP_PUSH}M fell short"
		say "rep $n: pushed batch to swap; $(swap_state)"
	fi
	systemctl start --no-block bench-hog.service
	say "rep $n: hog started"
	local end=timeout
	# Started (it may already be dead: a memcg OOM kill can be that fast).
	wait_until "$LIMIT" started bench-hog.service || true
	echo "pid bench-hog $(prop bench-hog.service MainPID)" >>"$d/meta.txt"
	if [ "$NOKILL" = 1 ]; then
		# Nothing ends it but the time: every kill in it is counted.
		[ "$stop" -le "$(date +%s)" ] || sleep $((stop - $(date +%s)))
		end=finished
	elif wait_until "$LIMIT" episode_over; then
		end=finished
	fi
	t1=$(now)
	# Let the last kill finish and its memory come back, visibly.
	sleep 3
	echo "t_end_us $t1" >>"$d/meta.txt"
	echo "end $end" >>"$d/meta.txt"
	echo "oom_kill_after $(oom_kills)" >>"$d/meta.txt"
	trace_stop "$d"
	kill -TERM "$sampler"
	wait "$sampler"
	cp /run/bench/probe.out "$d/probe.txt" 2>/dev/null || echo "none" >"$d/probe.txt"
	for u in $WORK_UNITS; do
		echo "${u%.service} $(systemctl show -p ActiveState -p Result -p ExecMainCode -p ExecMainStatus \
			-p ExecMainStartTimestampMonotonic -p ExecMainExitTimestampMonotonic "$u" | paste -s -d ' ')"
	done >"$d/units.txt"
	[ -n "$AGENT_UNIT" ] && journalctl -q --no-pager -o short-monotonic --after-cursor="$c" -u "$AGENT_UNIT" >"$d/agent.log"
	journalctl -q --no-pager -o short-monotonic --after-cursor="$c" -k >"$d/kernel.log"
	journalctl -q --no-pager -o json --after-cursor="$c" _SYSTEMD_UNIT=cgreapd.service >"$d/cgreapd-records.json" 2>/dev/null
	swapon --show >"$d/swap.txt" 2>&1
	say "rep $n: $end after $(((t1 - t0) / 1000))ms; $(cut -d' ' -f2- "$d/units.txt" | paste -s -d ';' | head -c 300)"
	all_stop
}

# Idle: 200 sleeping services beside the agent; per repetition, what the
# agent's unit cost over a 30s window of calm.
agent_counters() {
	local cg p t
	cg=$CG$(prop "$AGENT_UNIT" ControlGroup)
	local usage ctx=0 rss=0 lck=0
	usage=$(awk '$1 == "usage_usec" { print $2 }' "$cg/cpu.stat")
	for p in $(cat "$cg/cgroup.procs"); do
		for t in /proc/"$p"/task/*; do
			ctx=$((ctx + $(awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }' "$t/status" 2>/dev/null || echo 0)))
		done
		rss=$((rss + $(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
		lck=$((lck + $(awk '$1 == "VmLck:" { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	echo "$usage $ctx $rss $lck $(cat "$cg/memory.current")"
}

idle_run() {
	local n a b d
	all_stop
	agent_restart
	say "starting 200 idle services"
	# shellcheck disable=SC2046 # 200 unit names
	systemctl start $(printf 'bench-idle@%d.service ' $(seq 1 200))
	say "$(systemctl list-units --plain --no-legend 'bench-idle@*' | grep -c running) idle services running"
	sleep 15
	for n in $(seq 1 "$reps"); do
		d=$R/rep-$n
		mkdir -p "$d"
		a=$(agent_counters)
		sleep 30
		b=$(agent_counters)
		read -r u0 c0 _ _ _ <<<"$a"
		read -r u1 c1 rss lck memcur <<<"$b"
		{
			echo "window_s 30"
			echo "cpu_ms $(((u1 - u0) / 1000))"
			echo "ctxsw $((c1 - c0))"
			echo "rss_kb $rss"
			echo "vmlck_kb $lck"
			echo "memory_current $memcur"
			echo "services $(find "$CG/bench.slice" -maxdepth 1 -name 'bench-idle@*' | wc -l)"
		} >"$d/idle.txt"
		say "idle rep $n: $(paste -s -d ' ' "$d/idle.txt")"
	done
	all_stop
}

agent_setup
files_setup
say "agent $agent set up ($(paste -s -d ' ' "$R/meta.txt" | head -c 200))"
if [ "$scenario" = idle ]; then
	idle_run
else
	for n in $(seq 1 "$reps"); do pressure_rep "$n"; done
fi
[ -n "$AGENT_UNIT" ] && journalctl -q --no-pager -b -o short-monotonic -u "$AGENT_UNIT" >"$R/agent-boot.log"
say "done"
exit 0
