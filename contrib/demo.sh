#!/bin/bash
# cgreap in one command: on a fresh Debian 12 machine, as root,
#
#   contrib/demo.sh
#
# installs what it needs (build dependencies and qemu), builds cgreap, boots
# a disposable Debian 12 guest (tests/vm/), installs cgreap there with
# 'make install' + 'systemctl enable --now cgreapd', and runs one real
# memory-pressure episode in it: 'cgreapctl list' before, a leaking service
# growing, cgreap's kill records from the journal, who survived, the time to
# kill and the memory freed, and a one-screen summary at the end.
#
# Nothing is put under memory pressure on this machine: all of it happens in
# the guest. The guest image is cached in /var/cache/cgreap-vm (about 500M).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CGREAP_DEMO_BUILD_DIR:-$src/build-demo}
t0=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (I install packages and build a guest image)"
[ -r /etc/debian_version ] || die "this demo is for Debian 12"

step "Installing what the demo needs (build tools, libraries, qemu, mmdebstrap)"
pkgs=(build-essential autoconf automake pkg-config libsystemd-dev libinih-dev check
	qemu-system-x86 qemu-utils mmdebstrap e2fsprogs)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "    apt-get install ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	echo "    all there"
fi

step "Building cgreap in $build (--prefix=/usr --sysconfdir=/etc, as a package would)"
[ -f "$src/config.status" ] && die "$src is configured in-tree; run 'make distclean' there first"
if [ ! -x "$src/configure" ]; then
	(cd "$src" && ./autogen.sh) >/dev/null 2>&1 || die "autogen.sh failed"
fi
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
	(cd "$build" && "$src/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var) \
		>"$build/demo-configure.log" 2>&1 || { tail -n 20 "$build/demo-configure.log"; die "configure failed"; }
fi
make -C "$build" -j"$(nproc)" >"$build/demo-make.log" 2>&1 || { tail -n 30 "$build/demo-make.log"; die "make failed"; }
echo "    built $build/src/cgreapd and $build/src/cgreapctl"

step "Booting a Debian 12 guest and running the episode (first run: ~1 min to build the image; the guest is emulated, be patient)"
results=$build/demo-results
rc=0
"$src/tests/vm/run" --build-dir "$build" --suite demo --results "$results" || rc=$?

if [ -f "$results/01-episode.log" ]; then
	step "The episode, as it happened in the guest"
	# The log's own timestamps and ok/FAIL lines are for the test; show the story.
	# (Its last section, the summary, comes at the very end.)
	grep -v -E '^ *[0-9.]+s  (ok |scenario |PASS$)' "$results/01-episode.log" |
		sed -n '/^---/,$p' | awk '/^  7\. Summary/ { exit } { if (NR > 1) print held; held = $0 }'
fi

if [ -f "$results/demo-summary.txt" ]; then
	step "Summary (whole demo: $(($(date +%s) - t0))s; guest journal and console in $results)"
	cat "$results/demo-summary.txt"
fi
if [ "$rc" -ne 0 ]; then
	echo
	die "the episode did not go as expected (see above and $results)"
fi
