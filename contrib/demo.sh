#!/bin/bash
# cgreap in one command: on a fresh Debian 12 machine, as root,
#
#   contrib/demo.sh
#
# installs what it needs (build tools, debhelper, qemu), builds cgreap and
# its Debian package, boots a disposable Debian 12 guest (tests/vm/),
# installs the package there with 'apt install ./cgreap_*.deb' and runs one
# real memory-pressure episode in it: 'cgreapctl list' and 'explain'
# before, a leaking service growing (a row a second and one per kill), the
# evidence behind each kill, cgreap's journal records, who survived, and a
# one-screen summary at the end.
#
# Nothing is put under memory pressure on this machine: all of it happens in
# the guest. The guest image is cached in /var/cache/cgreap-vm (353M).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CGREAP_DEMO_BUILD_DIR:-$src/build-demo}
t0=$(date +%s)
nsteps=5
step() { printf '\n==> %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
times=()        # "what<TAB>seconds" of every phase, for the end

[ "$(id -u)" -eq 0 ] || die "run me as root (I install packages and build a guest image)"
[ -r /etc/debian_version ] || die "this demo is for Debian 12"

# ---------------------------------------------------------------- progress
# follow PHASE_FN LOG PID: until PID ends, one line per phase with its
# running time: rewritten every second on a terminal, a dot a second
# elsewhere (CI has no terminal). PHASE_FN LOG names the current phase.
tty=0
[ -t 1 ] && tty=1
follow() {
	local phase_fn=$1 log=$2 pid=$3 phase="" cur t_phase now rc=0
	t_phase=$(date +%s)
	while kill -0 "$pid" 2>/dev/null; do
		cur=$("$phase_fn" "$log")
		now=$(date +%s)
		if [ "$cur" != "$phase" ]; then
			[ -n "$phase" ] && phase_done "$phase" $((now - t_phase))
			phase=$cur t_phase=$now
			[ "$tty" = 1 ] || printf '    %s ' "$phase"
		fi
		if [ "$tty" = 1 ]; then printf '\r    %-62s %4ds' "$phase" $((now - t_phase)); else printf '.'; fi
		sleep 1
	done
	wait "$pid" || rc=$?
	[ -n "$phase" ] && phase_done "$phase" $(($(date +%s) - t_phase))
	return "$rc"
}
phase_done() {
	if [ "$tty" = 1 ]; then printf '\r    %-62s %4ds\n' "$1" "$2"; else printf ' %ds\n' "$2"; fi
	times+=("$1"$'\t'"$2")
}
# run_step LABEL LOG COMMAND...: COMMAND in the background, its output in LOG.
run_step() {
	local label=$1 log=$2
	shift 2
	"$@" >"$log" 2>&1 &
	STEP_LABEL=$label follow step_label "$log" $!
}
step_label() { echo "$STEP_LABEL"; }

# tests/vm/run's own lines, told as the story's phases.
vm_phase() {
	local l
	l=$(grep -a -E '^(tests/vm/run: (installing|building guest image|building in|configuring|building the Debian package|waiting for another|booting the guest)|vmtest: (system up|[0-9]+-[a-z-]+: running|collecting))' "$1" 2>/dev/null | tail -n 1)
	case $l in
	*"building guest image"*) echo "building the Debian 12 guest image (once; then cached)" ;;
	*"tests/vm/run: installing"*) echo "installing qemu and mmdebstrap" ;;
	*"building in"* | *configuring*) echo "building cgreap for the guest" ;;
	*"Debian package"*) echo "building the Debian package (dpkg-buildpackage)" ;;
	*"waiting for another"*) echo "waiting for another guest run on this machine" ;;
	*booting*) echo "booting the guest (2 CPUs, 2 GiB, no swap)" ;;
	*"system up"* | *running*) echo "in the guest: apt install, services, the episode" ;;
	*collecting*) echo "collecting the guest's journal" ;;
	*) echo "preparing the guest run" ;;
	esac
}

# ---------------------------------------------------------------- the demo
step "1/$nsteps Installing what the demo needs (build tools, debhelper, qemu, mmdebstrap)"
pkgs=(build-essential autoconf automake pkg-config libsystemd-dev libinih-dev check
	debhelper qemu-system-x86 qemu-utils mmdebstrap e2fsprogs)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "    apt-get install ${missing[*]}"
	mkdir -p "$build"
	run_step "apt-get update and install (${#missing[@]} packages)" "$build/demo-apt.log" \
		sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"' sh "${missing[@]}" ||
		{ tail -n 20 "$build/demo-apt.log"; die "apt-get failed"; }
else
	echo "    all there"
fi

step "2/$nsteps Building cgreap in $build (--prefix=/usr --sysconfdir=/etc, as the package does)"
[ -f "$src/config.status" ] && die "$src is configured in-tree; run 'make distclean' there first"
mkdir -p "$build"
if [ ! -x "$src/configure" ]; then
	run_step "autogen.sh" "$build/demo-autogen.log" sh -c "cd '$src' && ./autogen.sh" || die "autogen.sh failed"
fi
if [ ! -f "$build/Makefile" ]; then
	run_step "configure" "$build/demo-configure.log" \
		sh -c "cd '$build' && '$src/configure' --prefix=/usr --sysconfdir=/etc --localstatedir=/var" ||
		{ tail -n 20 "$build/demo-configure.log"; die "configure failed"; }
fi
run_step "make" "$build/demo-make.log" make -C "$build" -j"$(nproc)" ||
	{ tail -n 30 "$build/demo-make.log"; die "make failed"; }
echo "    built $build/src/cgreapd and $build/src/cgreapctl"

step "3/$nsteps The Debian package, the guest, the episode (the guest is emulated when there is no KVM: be patient)"
results=$build/demo-results
rc=0
"$src/tests/vm/run" --build-dir "$build" --suite demo --results "$results" >"$build/demo-vm.log" 2>&1 &
follow vm_phase "$build/demo-vm.log" $! || rc=$?
accel=$(sed -n 's/^tests\/vm\/run: guest ran [0-9]*s (\([a-z]*\)).*/\1/p' "$build/demo-vm.log" | tail -n 1)

if [ -f "$results/01-episode.log" ]; then
	step "4/$nsteps The episode, as it happened in the guest"
	# The log's timestamps and ok/FAIL lines are for the test; show the story.
	# (Its last section, the summary, comes at the very end.)
	grep -v -E '^ *[0-9.]+s  (ok |scenario |PASS$)' "$results/01-episode.log" |
		sed -n '/^---/,$p' | awk '/^  9\. Summary/ { stop = 1 } !stop { if (NR > 1) print held; held = $0 }'
fi

if [ -f "$results/demo-summary.txt" ]; then
	step "5/$nsteps Summary"
	cat "$results/demo-summary.txt"
	echo
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "  Times on this machine ($(nproc) CPUs, ${cpu:-unknown CPU}; guest ${accel:-?}):"
	for t in "${times[@]}"; do printf '    %-62s %4ss\n' "${t%%$'\t'*}" "${t##*$'\t'}"; done
	printf '    %-62s %4ss\n' "whole demo" $(($(date +%s) - t0))
	echo "  Guest journal and console: $results"
fi
if [ "$rc" -ne 0 ]; then
	echo
	grep -a -E '^FAIL|^ +\| .*FAIL' "$build/demo-vm.log" | head -n 40 || true
	die "the episode did not go as expected (whole log: $build/demo-vm.log, results: $results)"
fi
