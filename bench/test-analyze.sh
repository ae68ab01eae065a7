#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-analyze: bench/analyze.py and bench/run's checks on made-up raw data
# (no guest): a pair with a cut-off repetition, a pair that failed, pairs
# that never ran, the slice's own PSI, descriptions taken from the metadata,
# generated findings, the README block, the plot, and --check's .complete
# marks.
#
# Needs: top_srcdir (set by make check); python3, and matplotlib for the plot.

. "${top_srcdir:?}/tests/lib.sh"

py=/usr/bin/python3
[ -x "$py" ] || skip "no $py (the benchmarks need Debian's python3)"
analyze=$top_srcdir/bench/analyze.py
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cgreap-test-analyze.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
work=$tmp/work
res=$tmp/results
failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
has() { grep -qF -- "$2" "$1" || bad "$1 lacks: $2"; }
lacks() { ! grep -qF -- "$2" "$1" || bad "$1 has: $2"; }

# ---------------------------------------------------------------- raw data
# slice/cgreap: 3 repetitions asked for; rep 1 complete (cgreapd kills batch
# 0.44 s after the onset; the slice's full stall grows by 1.5 s while the
# machine's stays 0), rep 2 cut off before its end stamp (and wrongly marked
# complete by an older bench/run), rep 3 never started. idle/cgreap: 1
# complete repetition. hog/earlyoom: a boot without any data. Everything
# else: not run. Scale: only 1 000 cgroups.
"$py" - "$work" <<'EOF'
import os, sys
w = sys.argv[1]
def put(path, text):
    path = os.path.join(w, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
put("host.txt", "speed_loop_ns 40000000\nspeed_fault_ns 30000000\nspeed_syscall_ns 10000000\n")
guest = ("kernel 6.1.0-99-cloud-amd64\nmemtotal_kb 2017000\ncpus 2\nvirt qemu\nspeed_loop_ns 44000000\n"
         "speed_fault_ns 640000000\nspeed_syscall_ns 300000000\n")
host = "accel tcg\ncpus 2\nmemory 2G\nguest_s 240\nwall_s 300\nexit 0\n"
b = "raw/slice/cgreap/bench"
put("raw/slice/cgreap/run.txt", "agent cgreap\nscenario slice\nreps 3\n" + host)
put(b + "/meta.txt", "agent cgreap\nscenario slice\nreps 3\nversion cgreapd 9.9\n" + guest)
put(b + "/bench.log", "bench[cgreap/slice] ...\n")
put(b + "/rep-1/meta.txt", "oom_kill_before 5\npid bench-web 300\npid bench-batch 400\npid bench-hog 0\n"
    "t0_us 100000000\npid bench-hog 500\nt_end_us 104000000\nend finished\noom_kill_after 5\n")
put(b + "/rep-1/trace.txt", "# tracer: nop\n"
    "         cgreapd-312     [001] d..2.   101.500000: signal_generate: sig=9 errno=0 code=0 "
    "comm=bench-batch pid=400 grp=1 res=0\n")
put(b + "/rep-1/units.txt", "web ActiveState=active Result=success\nbatch ActiveState=inactive Result=signal\n"
    "hog ActiveState=active Result=success\n")
put(b + "/rep-1/probe.txt", "max_us 12000\n")
rows = ["t_us\tglobal_some_us\tglobal_full_us\tmemavail_kb\tswapfree_kb\tscope_some_us\tscope_full_us\t"
        "web_mem\tweb_populated\tbatch_mem\tbatch_populated\thog_mem\thog_populated"]
for t in range(99_400_000, 107_000_000, 20_000):
    some = max(0, t - 101_000_000) // 2                       # 50% "some" from 101 s
    full = min(1_500_000, max(0, t - 101_000_000) * 3 // 2)   # 1.5 s of "full" by 102 s
    batch = 150 << 20 if t < 101_520_000 else -1
    rows.append(f"{t}\t0\t0\t500000\t0\t{some}\t{full}\t{48 << 20}\t1\t{batch}\t{1 if batch > 0 else -1}"
                f"\t{100 << 20}\t1")
put(b + "/rep-1/samples.tsv", "\n".join(rows) + "\n")
put(b + "/rep-2/meta.txt", "oom_kill_before 5\nt0_us 100000000\n")
put(b + "/rep-2/.complete", "")
b = "raw/idle/cgreap/bench"
put("raw/idle/cgreap/run.txt", "agent cgreap\nscenario idle\nreps 1\n" + host)
put(b + "/meta.txt", "agent cgreap\nscenario idle\nreps 1\nversion cgreapd 9.9\n" + guest)
put(b + "/config/cgreap.conf.effective", "# Effective cgreap configuration.\n")
put(b + "/rep-1/idle.txt", "window_s 30\ncpu_ms 4\nctxsw 2\nrss_kb 6144\nvmlck_kb 6100\nservices 200\n")
put("raw/hog/earlyoom/run.txt", "agent earlyoom\nscenario hog\nreps 3\naccel tcg\nguest_s 120\nwall_s 900\nexit 1\n")
put("raw/hog/earlyoom/console.log", "vmtest: system up\n")
put("scale.tsv", "cgroups\trep\tdecision\tstartup_ms\trss_ready_kb\trss_after_kb\thwm_kb\tvmlck_kb\t"
    "decision_usec\tevent_to_record_usec\n1000\t1\t1\t4.0\t6352\t6620\t6620\t6616\t31000\t31500\n")
EOF

# ---------------------------------------------------------------- --check
pair=$work/raw/slice/cgreap
out=$("$py" "$analyze" --check "$pair" --scenario slice --reps 3) && bad "--check passed a pair with 1 of 3 repetitions"
case $out in "1 of 3 repetitions complete"*"rep 2: cut off"*"rep 3: did not start"*) ;; *) bad "--check said: $out" ;; esac
[ -f "$pair/bench/rep-1/.complete" ] || bad "--check did not mark the complete rep-1"
[ ! -e "$pair/bench/rep-2/.complete" ] || bad "--check left rep-2 (no end stamp) marked complete"
"$py" "$analyze" --check "$work/raw/idle/cgreap" --scenario idle --reps 1 >/dev/null ||
	bad "--check failed a complete idle pair"

# ---------------------------------------------------------------- analysis
plot=(--no-plot)
if "$py" -c 'import matplotlib' 2>/dev/null; then plot=(); else echo "skip: no matplotlib, no plot check"; fi
cp "$top_srcdir/README.md" "$tmp/README.md"
"$py" "$analyze" --work "$work" --results "$res" --readme "$tmp/README.md" "${plot[@]}" >"$tmp/analyze.out" ||
	fail "analyze.py failed: $(cat "$tmp/analyze.out")"
md=$res/results.md
# Every expected pair has a row; the gaps say what happened and where to look.
has "$md" "| kernel OOM killer alone | **not run** (no raw/slice/kernel) |"
has "$md" "| earlyoom 1.7 | **failed**: 0 of 3 (no data; see raw/hog/earlyoom/console.log) |"
has "$md" "| cgreap | 1 of 3 (rep 2: cut off (no end stamp), rep 3: did not start; see raw/slice/cgreap/bench/bench.log) | 0 | batch (cgreap) |"
has "$md" "| nohang 0.2.0 | **not run** (no raw/idle/nohang) |"
lacks "$md" "raw/idle/kernel"
rows=$(grep -cE '^\| (kernel OOM killer alone|cgreap|earlyoom 1\.7|nohang 0\.2\.0|systemd-oomd 252) \|' "$md")
# 4 pressure scenarios × 5 agents + idle × 4 agents + the summary × 5.
[ "$rows" -eq 29 ] || bad "results.md has $rows agent rows, not 29"
# The slice's own PSI full (1.50 s), not the machine's (0.00 s); onset → kill 0.44 s.
has "$md" "| 0.44 | 0.02 | 12 | 1.50 | 1/1 |"
has "$md" "| 10,000 | **not run or failed**"
has "$md" "| 1,000 | 4.0 |"
# reps.tsv: a line for every repetition or pair without data.
tsv=$res/reps.tsv
awk -F '\t' '$1 == "slice" && $2 == "cgreap" && $3 == 2 && $4 ~ /^missing: cut off/' "$tsv" | grep -q . ||
	bad "reps.tsv has no line for the cut-off slice/cgreap rep 2"
awk -F '\t' '$1 == "leak" && $2 == "cgreap" && $4 == "not run"' "$tsv" | grep -q . ||
	bad "reps.tsv has no line for leak/cgreap"
awk -F '\t' '$1 == "hog" && $2 == "earlyoom" && $4 == "failed"' "$tsv" | grep -q . ||
	bad "reps.tsv has no line for the failed hog/earlyoom"
# The README: nothing left of the template, facts from the metadata.
rd=$res/README.md
! grep -q '@[A-Z_]*@' "$rd" || bad "README.md has placeholders left: $(grep -o '@[A-Z_]*@' "$rd" | sort -u | paste -s -d ' ')"
has "$rd" "kernel 6.1.0-99-cloud-amd64, 2 vCPUs, 2 GiB of RAM, emulated by qemu TCG (no KVM)"
has "$rd" "took this many times as long in the guest as on the host: a CPU loop 1.1×, page faults 21×, system calls 30×."
has "$rd" "Repetitions asked for per agent and scenario: 3 (2 boots), 1 (1 boot); only 1 of 24 agent × scenario pairs"
# qemu's time (240 + 240 + 120 s), and the host's with the waits (300 + 300 + 900 s).
has "$rd" "The guest boots took 10 min in all: 3 boots, 4.0 min median per boot (qemu's own time; 25 min on the host's clock, waiting for other guests included)."
lacks "$rd" "three repetitions"
lacks "$rd" "about 16"
# Findings, from the numbers.
has "$rd" "- **Kernel OOM killer**: it never fired with cgreap."
has "$rd" "- **Victim choice** (the preferred victim, batch, killed first; over all pressure repetitions): cgreap 1/1."
has "$rd" "- **Least PSI full time in the scenario's scope** (medians): slice: cgreap (1.50 s)."
has "$rd" "- **Idle cost** with 200 services (CPU time per 30 s, RSS; medians): cgreap 4 ms, 6.0 MiB."
has "$rd" "- **cgreapd at scale** (host, medians): 1,000 cgroups: ready in 4 ms, 6.5 MiB RSS, trigger → decision 31 ms."
has "$rd" "- **Gaps**: failed (no data): 1 of 24 pairs, hog (earlyoom). not run: 21 of 24 pairs, hog (kernel, cgreap, nohang, systemd-oomd); leak (every agent); slice (kernel, earlyoom, nohang, systemd-oomd); cpu (every agent); idle (earlyoom, nohang, systemd-oomd). fewer repetitions than asked for: 1 of 24 pairs, slice (cgreap) (the tables say why)."
# The summary table and the findings went into the README's block, between
# its markers, and the rest of the README is unchanged.
has "$tmp/README.md" "| cgreap | n/r / n/r / 0 / n/r | 1/1 | 1/1 | n/r / n/r / 0.44 / n/r | n/r / n/r / 12 / n/r | 4 ms, 6.0 MiB |"
has "$tmp/README.md" "| earlyoom 1.7 | fail / n/r / n/r / n/r | – | – |"
diff <(sed '/^<!-- bench-summary:/,/^<!-- \/bench-summary -->/d' "$top_srcdir/README.md") \
	<(sed '/^<!-- bench-summary:/,/^<!-- \/bench-summary -->/d' "$tmp/README.md") >/dev/null ||
	bad "--readme changed README.md outside its bench-summary block"
cmp -s "$res/summary.md" <(sed -n '/^<!-- bench-summary:/,/^<!-- \/bench-summary -->/p' "$tmp/README.md" | sed '1d;$d') ||
	bad "README.md's block is not summary.md"
# A README without the block is an error, not silently left stale.
echo "# no markers" >"$tmp/bare.md"
"$py" "$analyze" --work "$work" --results "$res" --readme "$tmp/bare.md" --no-plot >/dev/null 2>&1 &&
	bad "--readme on a file without the block did not fail"
# The configurations: only those of this run's pairs.
[ -f "$res/configs/cgreap/cgreap.conf.effective" ] || bad "configs/cgreap was not copied"
if [ ${#plot[@]} -eq 0 ]; then
	[ -s "$res/bench.png" ] || bad "no bench.png"
fi

# Nothing but the scale part (bench/run --scale-only): tables and plot all
# the same, every pair "not run".
mkdir -p "$tmp/scale-only"
cp "$work/scale.tsv" "$tmp/scale-only/"
"$py" "$analyze" --work "$tmp/scale-only" --results "$tmp/scale-only-results" "${plot[@]}" >"$tmp/analyze.out" 2>&1 ||
	bad "analyze.py failed without any guest data: $(tail -n 3 "$tmp/analyze.out")"
has "$tmp/scale-only-results/results.md" "| cgreap | **not run** (no raw/hog/cgreap) |"
has "$tmp/scale-only-results/results.md" "| 1,000 | 4.0 |"

# ---------------------------------------------------------------- bench/run
# Names are checked before anything is built or booted.
out=$(bash "$top_srcdir/bench/run" --agents kernel,bogus 2>&1) && bad "bench/run accepted agent 'bogus'"
case $out in *"unknown agent 'bogus'"*) ;; *) bad "bench/run --agents bogus said: $out" ;; esac
rc=0
bash "$top_srcdir/bench/run" --reps 0 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || bad "bench/run --reps 0 exited $rc, not 2 (usage error)"
# The top-level README carries the block bench/run fills.
if ! grep -q '^<!-- bench-summary:' "$top_srcdir/README.md" || ! grep -q '^<!-- /bench-summary -->' "$top_srcdir/README.md"; then
	bad "README.md has no bench-summary block for bench/run to fill"
fi

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
pass "analyze.py: every pair has a row, gaps say why, facts come from the metadata"
