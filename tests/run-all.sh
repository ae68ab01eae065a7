#!/bin/bash
# The whole test suite in one command, on a fresh Debian 12 machine as root:
# installs what it needs, builds, and runs
#   1. the unit and live-host tests (make check, warnings are errors),
#   2. the same tests again under ASan + UBSan,
#   3. the parsers under libFuzzer, 20 s per target (make fuzz),
#   4. make distcheck (the tarball builds, installs and passes its tests),
#      and the Debian package built from a clean export, checked by lintian,
#   5. the system tests in a qemu guest with systemd and real memory pressure
#      (make check-vm), unless CGREAP_SKIP_VM=1.
# Ends with one line "N passed, N failed, N skipped" over every stage.
set -uo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

say() { printf '\n==== %s ====\n' "$*"; }

deps=(build-essential autoconf automake pkg-config libsystemd-dev libinih-dev check
      attr jq mandoc groff-base systemd shellcheck dbus-daemon prometheus
      python3-dbus python3-gi
      qemu-system-x86 qemu-utils mmdebstrap e2fsprogs python3-matplotlib
      clang-14 libclang-rt-14-dev debhelper lintian)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing build and test dependencies"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || exit 1
        apt-get install -y -qq --no-install-recommends "${deps[@]}" >/dev/null || exit 1
fi

# As root on Debian 12 every part of every unit test can run: a part that
# skips itself (tests/test-util.h, test_skip_part) fails instead, and so
# does a whole test that exits 77 (count_suite).
[ "$(id -u)" = 0 ] && export CGREAP_TEST_NO_SKIP=1

passed=0 failed=0 skipped=0
stage_failed=()

# Add the counts of an automake test-suite.log to the totals. As root a
# whole test that skipped (exit 77) counts as failed, like a skipped part:
# everything can run here. Returns 1 then.
count_suite() {
        local log=$1 p f s e
        [ -f "$log" ] || return 0
        p=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
        f=$(sed -n 's/^# FAIL: *//p' "$log" | head -1)
        s=$(sed -n 's/^# SKIP: *//p' "$log" | head -1)
        e=$(sed -n 's/^# ERROR: *//p' "$log" | head -1)
        passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
        if [ "${s:-0}" -gt 0 ] && [ "${CGREAP_TEST_NO_SKIP:-0}" = 1 ]; then
                echo "skipped as root, which counts as failed:"
                sed -n 's/^SKIP: /  /p' "$log"
                failed=$((failed + s))
                return 1
        fi
        skipped=$((skipped + ${s:-0}))
}

run_stage() {   # run_stage NAME COMMAND...
        local name=$1; shift
        say "$name"
        if ! "$@"; then
                stage_failed+=("$name")
                return 1
        fi
}

show_failures() {       # print the logs of failed tests of a build dir
        local dir=$1
        [ -f "$dir/test-suite.log" ] && sed -n '/^FAIL\|^ERROR/,$p' "$dir/test-suite.log" | head -300
}

run_stage "autogen" ./autogen.sh >/dev/null || exit 1

build_check() {
        mkdir -p "$top/build" && cd "$top/build" &&
        ../configure --enable-werror -q &&
        make -j"$jobs" >/dev/null &&
        { make -j"$jobs" check || { show_failures "$top/build"; false; }; }
        local rc=$?
        count_suite "$top/build/test-suite.log" || rc=1
        cd "$top"
        return $rc
}
run_stage "build (-Werror) and unit + live tests" build_check

san_check() {
        mkdir -p "$top/build-san" && cd "$top/build-san" &&
        ../configure --enable-werror --enable-sanitizers -q &&
        make -j"$jobs" >/dev/null &&
        { make -j"$jobs" check ||
          { show_failures "$top/build-san"; false; }; }
        local rc=$?
        count_suite "$top/build-san/test-suite.log" || rc=1
        cd "$top"
        return $rc
}
run_stage "unit and live tests under ASan + UBSan" san_check

# The committed corpus first, then new inputs; CGREAP_FUZZ_SECONDS runs longer.
fuzz_check() {
        cd "$top/build" && make fuzz FUZZ_SECONDS="${CGREAP_FUZZ_SECONDS:-20}"
        local rc=$?
        cd "$top"
        return $rc
}
run_stage "fuzzing the parsers (libFuzzer)" fuzz_check && passed=$((passed + 1)) || failed=$((failed + 1))

distcheck() {
        cd "$top/build" && make -j"$jobs" distcheck >"$top/build/distcheck.log" 2>&1
        local rc=$?
        [ $rc = 0 ] && echo "make distcheck: OK" || tail -60 "$top/build/distcheck.log"
        cd "$top"
        return $rc
}
run_stage "make distcheck" distcheck && passed=$((passed + 1)) || failed=$((failed + 1))

# nocheck: the package's make check is the one stages 1 and 2 just ran on
# the same files; as root it would create the live tests' cgroups a third
# time for nothing. What this stage adds is the packaging and lintian.
debcheck() {
        DEB_BUILD_OPTIONS=nocheck "$top/tests/build-deb.sh" "$top/build/deb" --lintian
}
run_stage "Debian package from a clean export, lintian" debcheck && passed=$((passed + 1)) || failed=$((failed + 1))

if [ "${CGREAP_SKIP_VM:-0}" != 1 ]; then
        vm_check() {
                "$top/tests/vm/run" --build-dir "$top/build" | tee "$top/build/vm.log"
                local rc=${PIPESTATUS[0]}
                local line
                line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$top/build/vm.log" | tail -1)
                if [ -n "$line" ]; then
                        passed=$((passed + $(awk '{print $1}' <<<"$line")))
                        failed=$((failed + $(awk '{print $3}' <<<"$line")))
                elif [ $rc != 0 ]; then
                        failed=$((failed + 1))
                fi
                return $rc
        }
        run_stage "system tests in a qemu guest" vm_check
fi

say "summary"
[ ${#stage_failed[@]} = 0 ] || echo "failed stages: ${stage_failed[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ ${#stage_failed[@]} = 0 ] && [ "$failed" = 0 ]
