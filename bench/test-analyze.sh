#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-analyze: bench/analyze.py and bench/run's checks on made-up raw data
# (no guest): a pair with a cut-off repetition, a pair that failed, pairs
# that never ran, the slice's own PSI, descriptions taken from the metadata,
# generated findings, the README block, the plots, --check's .complete
# marks, the scale table from old and new bench/scale lines, and the
# unneeded kills and swap used at the first kill of the no-kill, swap and
# one-kill-would-do repetitions.
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
# The new figures, one repetition per pair, all 1 s in from t0 = 100 s.
# rep(): a complete repetition; kills are (time s, sender, target comm,
# pid); mem(t) gives (memavail, swapfree) in kB and the units' memory in
# MiB (-1: gone). Swap: 512 MiB where swap_kb says so. A kill "by" kernel
# is the OOM killer's: sent from the task that hit the limit, with a
# mark_victim of the same pid.
def rep(scenario, agent, extra, kills, units, mem, swap_kb=0):
    ooms = sum(1 for k in kills if k[1] == "kernel")
    b = f"raw/{scenario}/{agent}/bench"
    put(f"raw/{scenario}/{agent}/run.txt", f"agent {agent}\nscenario {scenario}\nreps 1\n" + host)
    put(b + "/meta.txt", f"agent {agent}\nscenario {scenario}\nreps 1\n" + guest)
    put(b + "/rep-1/meta.txt", "oom_kill_before 0\npid bench-web 300\npid bench-batch 400\n"
        f"swap_total_kb {swap_kb}\n{extra}t0_us 100000000\npid bench-hog 500\nt_end_us 140000000\n"
        f"end finished\noom_kill_after {ooms}\n")
    put(b + "/rep-1/trace.txt", "# tracer: nop\n" + "".join(
        (f"   bench-hog-500     [001] d..2.   {t:.6f}: mark_victim: pid={pid}\n" if who == "kernel" else "")
        + f"   {'bench-hog' if who == 'kernel' else who}-312     [001] d..2.   {t:.6f}: signal_generate: sig=9 "
        f"errno=0 code=0 comm={comm} pid={pid} grp=1 res=0\n" for t, who, comm, pid in kills))
    put(b + "/rep-1/units.txt", "".join(f"{u} ActiveState={st} Result=success ExecMainStartTimestampMonotonic="
                                        f"100500000\n" for u, st in units.items()))
    put(b + "/rep-1/probe.txt", "max_us 20000\n")
    rows = ["t_us\tglobal_some_us\tglobal_full_us\tmemavail_kb\tswapfree_kb\tscope_some_us\tscope_full_us\t"
            "web_mem\tweb_populated\tbatch_mem\tbatch_populated\thog_mem\thog_populated"]
    for t in range(99_600_000, 141_000_000, 100_000):
        avail, swapfree, m = mem(t / 1e6)
        cells = "".join(f"\t{-1 if m.get(u, -1) < 0 else m[u] << 20}\t{1 if m.get(u, -1) >= 0 else -1}"
                        for u in ("web", "batch", "hog"))
        rows.append(f"{t}\t0\t0\t{avail}\t{swapfree}\t0\t0{cells}")
    put(b + "/rep-1/samples.tsv", "\n".join(rows) + "\n")
alive = {"web": "active", "batch": "active", "hog": "active"}
# stream-swap, cgreap: kills batch at 110 s and the hog at 112 s, both
# unneeded; 96 MiB of swap in use at the first kill, 200 MiB at most.
rep("stream-swap", "cgreap", "nokill 1\nhog_mb 0\n",
    [(110.0, "cgreapd", "bench-batch", 400), (112.0, "cgreapd", "bench-hog", 500)],
    dict(alive, batch="inactive", hog="inactive"),
    lambda t: (300000, 524288 - (98304 if t < 111 else 204800),
               {"web": 64, "batch": 300 if t < 110.02 else -1, "hog": 10 if t < 112.02 else -1}),
    swap_kb=524288)
# stream-swap, kernel alone: nothing dies; 50 MiB of swap used when the hog
# started (100.5 s), up to 150 MiB.
rep("stream-swap", "kernel", "nokill 1\nhog_mb 0\n", [], alive,
    lambda t: (300000, 524288 - (153600 if t > 120 else 51200), {"web": 64, "batch": 300, "hog": 10}),
    swap_kb=524288)
# churn, cgreap: one SIGKILL to a stress-ng worker whose pid was never noted.
rep("churn", "cgreap", "nokill 1\nhog_mb 1200\ncomm stress-ng hog\n",
    [(105.0, "cgreapd", "stress-ng-vm", 777)], alive,
    lambda t: (400000, 0, {"web": 64, "batch": 300, "hog": 900}))
# leak-swap, cgreap: batch at 130 s with 480 of 512 MiB of swap used, then
# the hog (a leak of 2600 MiB: one kill could not end it): 0 unneeded.
rep("leak-swap", "cgreap", "nokill 0\nhog_mb 2600\n",
    [(130.0, "cgreapd", "bench-batch", 400), (131.0, "cgreapd", "bench-hog", 500)],
    dict(alive, batch="inactive", hog="inactive"),
    lambda t: (20000, 32768 if t >= 125 else 262144,
               {"web": 64, "batch": 300 if t < 130.02 else -1, "hog": 1500 if t < 131.02 else -1}),
    swap_kb=524288)
# leak-swap, earlyoom: the hog first, then batch although the hog was dead: 1.
rep("leak-swap", "earlyoom", "nokill 0\nhog_mb 2600\n",
    [(130.0, "earlyoom", "bench-hog", 500), (130.5, "earlyoom", "bench-batch", 400)],
    dict(alive, batch="inactive", hog="inactive"),
    lambda t: (20000, 16384 if t >= 125 else 262144,
               {"web": 64, "batch": 300 if t < 130.52 else -1, "hog": 1500 if t < 130.02 else -1}),
    swap_kb=524288)
# slice, nohang: batch (150M) covered the hog's excess below the 400M limit
# (it wants 100M more, 2M of headroom), yet web died next: 1 unneeded.
rep("slice", "nohang", "nokill 0\nhog_mb 300\nlimit_kb 409600\n",
    [(110.0, "python3", "bench-batch", 400), (111.0, "python3", "bench-web", 300)],
    dict(alive, batch="inactive", web="inactive"),
    lambda t: (900000, 0, {"web": 48 if t < 111.02 else -1, "batch": 150 if t < 110.02 else -1, "hog": 200}))
# hog, kernel: batch (300M) could not cover the hog's excess (1900M wanted,
# 1400M held, 40M available): its second kill, of the hog, was needed: 0.
rep("hog", "kernel", "nokill 0\nhog_mb 1900\n",
    [(110.0, "kernel", "bench-batch", 400), (111.0, "kernel", "bench-hog", 500)],
    dict(alive, batch="inactive", hog="inactive"),
    lambda t: (40960, 0, {"web": 64, "batch": 300 if t < 110.02 else -1, "hog": 1400 if t < 111.02 else -1}))
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
# 9 pressure scenarios × 5 agents + idle × 4 agents + the summary × 5.
[ "$rows" -eq 54 ] || bad "results.md has $rows agent rows, not 54"
# The slice's own PSI full (1.50 s), not the machine's (0.00 s); onset → kill 0.44 s.
has "$md" "| batch (cgreap) | 0 | 0.44 | no swap | 0.02 | 12 | 1.50 | 1/1 |"
# Unneeded kills: every kill in a no-kill scenario (stress-ng's worker is
# the hog's by its name); after the first, a kill once the hog was dead, or
# once the first victim's memory covered the hog's excess below the limit;
# not the hog's kill after batch's 300M could not cover its 460M excess.
has "$md" "| cgreap | 1 | 0 | batch (cgreap) → hog (cgreap) | 2 | 0.00 | 96 of 512 MiB |"
has "$md" "| kernel OOM killer alone | 1 | 0 | none | 0 | – | no kill (50 MiB used when the hog started, up to 150) |"
has "$md" "| cgreap | 1 | 0 | hog (cgreap) | 1 |"
has "$md" "| earlyoom 1.7 | 1 | 0 | hog (earlyoom) → batch (earlyoom) | 1 | 0.00 | 496 of 512 MiB |"
has "$md" "| cgreap | 1 | 0 | batch (cgreap) → hog (cgreap) | 0 | 0.00 | 480 of 512 MiB |"
has "$md" "| nohang 0.2.0 | 1 | 0 | batch (nohang) → web (nohang) | 1 | 0.00 | no swap |"
has "$md" "| kernel OOM killer alone | 1 | 2 | batch (kernel) → hog (kernel) | 0 | 0.00 | no swap |"
has "$md" "| 10,000 | **not run or failed**"
has "$md" "| 1,000 | 4.0 |"
# reps.tsv: a line for every repetition or pair without data.
tsv=$res/reps.tsv
awk -F '\t' '$1 == "slice" && $2 == "cgreap" && $3 == 2 && $4 ~ /^missing: cut off/' "$tsv" | grep -q . ||
	bad "reps.tsv has no line for the cut-off slice/cgreap rep 2"
awk -F '\t' '$1 == "leak" && $2 == "cgreap" && $4 == "not run"' "$tsv" | grep -q . ||
	bad "reps.tsv has no line for leak/cgreap"
# The new figures are in reps.tsv by name.
got=$(awk -F '\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	$1 == "stream-swap" && $2 == "cgreap" { print $c["unneeded_kills"], $c["swap_used_first_kill_mb"], $c["swap_used_max_mb"] }' "$tsv")
[ "$got" = "2 96.000 200.000" ] || bad "reps.tsv stream-swap/cgreap: unneeded, swap at the first kill, most swap: '$got'"
awk -F '\t' '$1 == "hog" && $2 == "earlyoom" && $4 == "failed"' "$tsv" | grep -q . ||
	bad "reps.tsv has no line for the failed hog/earlyoom"
# The README: nothing left of the template, facts from the metadata.
rd=$res/README.md
! grep -q '@[A-Z_]*@' "$rd" || bad "README.md has placeholders left: $(grep -o '@[A-Z_]*@' "$rd" | sort -u | paste -s -d ' ')"
has "$rd" "kernel 6.1.0-99-cloud-amd64, 2 vCPUs, 2 GiB of RAM, emulated by qemu TCG (no KVM)"
has "$rd" "took this many times as long in the guest as on the host: a CPU loop 1.1×, page faults 21×, system calls 30×."
has "$rd" "Repetitions asked for per agent and scenario: 1 (8 boots), 3 (2 boots); only 8 of 49 agent × scenario pairs"
# qemu's time (9 × 240 + 120 s), and the host's with the waits (9 × 300 + 900 s).
has "$rd" "The guest boots took 38 min in all: 10 boots, 4.0 min median per boot (qemu's own time; 60 min on the host's clock, waiting for other guests included)."
lacks "$rd" "three repetitions"
lacks "$rd" "about 16"
# Findings, from the numbers.
has "$rd" "- **Kernel OOM killer**: it never fired with cgreap, earlyoom 1.7 and nohang 0.2.0 (alone, it killed in hog 1 of 1, stream-swap 0 of 1)."
has "$rd" "- **Victim choice** (the preferred victim, batch, killed first; over the repetitions of the scenarios that need a kill): kernel OOM killer alone 1/1, cgreap 2/2, earlyoom 1.7 0/1, nohang 0.2.0 1/1. The protected service died with nohang 0.2.0 (slice ×1)."
has "$rd" "- **Unneeded kills** (bench/README.md says how they are told): kernel OOM killer alone 0 in 1 no-kill repetitions, 0 after the first kill in 1 others; cgreap 3 in 2 no-kill repetitions (stream-swap 2, churn 1), 0 after the first kill in 2 others; earlyoom 1.7 1 after the first kill in 1 others; nohang 0.2.0 1 after the first kill in 1 others."
has "$rd" "- **Swap used at the first kill** (medians): leak-swap: cgreap 480 of 512 MiB, earlyoom 1.7 496 of 512 MiB."
has "$rd" "slice: nohang 0.2.0 (0.00 s), cgreap 1.50 s"
has "$rd" "- **Idle cost** with 200 services (CPU time per 30 s, RSS; medians): cgreap 4 ms, 6.0 MiB."
has "$rd" "- **cgreapd at scale** (host, medians): 1,000 cgroups: ready in 4 ms, 6.5 MiB RSS, decision 31 ms."
has "$rd" "- **Gaps**: failed (no data): 1 of 49 pairs, hog (earlyoom). not run: 39 of 49 pairs, hog (cgreap, nohang, systemd-oomd); leak (every agent); leak-swap (kernel, nohang, systemd-oomd); slice (kernel, earlyoom, systemd-oomd); cpu (every agent); stream-swap (earlyoom, nohang, systemd-oomd); slice-stream (every agent); slice-steady (every agent); churn (kernel, earlyoom, nohang, systemd-oomd); idle (earlyoom, nohang, systemd-oomd). fewer repetitions than asked for: 1 of 49 pairs, slice (cgreap) (the tables say why)."
# The summary table and the findings went into the README's block, between
# its markers, and the rest of the README is unchanged.
# Per-scenario cells only for the scenarios that need a kill; unneeded
# kills per no-kill scenario and the rest; swap at the first kill in the
# swap scenarios that need a kill.
has "$tmp/README.md" "| unneeded kills, total (stream-swap / slice-stream / slice-steady / churn / the others) | swap used at the first kill (leak / leak-swap) |"
has "$tmp/README.md" "| cgreap | n/r / n/r / 0 / 0 / n/r | 2/2 | 4/4 | n/r / n/r / 0.00 / 0.44 / n/r | n/r / n/r / 20 / 12 / n/r | 2 / n/r / n/r / 1 / 0 | n/r / 480 of 512 MiB | 4 ms, 6.0 MiB |"
has "$tmp/README.md" "| earlyoom 1.7 | fail / n/r / 0 / n/r / n/r | 0/1 | 1/1 |"
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
if [ ${#plot[@]} -eq 0 ]; then
	[ -s "$tmp/scale-only-results/scale.png" ] || bad "no scale.png"
fi

# bench/scale's newer lines: a kind (services, or 10 000 empty cgroups of a
# user beside 1 000 services), VmHWM when ready, whether cgreapd kept its
# model of the tree. The 100 000 run is missing; 10 000 ran without the model.
mkdir -p "$tmp/scale-new"
{
	printf 'kind\tcgroups\tempty\trep\tdecision\tstartup_ms\trss_ready_kb\thwm_ready_kb\trss_after_kb\thwm_kb\tvmlck_kb\tmodel\tmax_user_watches\tdecision_usec\tevent_to_record_usec\n'
	printf 'services\t1000\t0\t1\t1\t20.0\t6144\t6144\t6656\t7168\t6656\tyes\t8192\t2000\t2600\n'
	printf 'services\t1000\t0\t1\t2\t20.0\t6144\t6144\t6656\t7168\t6656\tyes\t8192\t4000\t4600\n'
	printf 'services\t10000\t0\t1\t1\t400.0\t9216\t9216\t10240\t12288\t10240\tno: No space left on device\t8192\t300000\t301000\n'
	printf 'empty-user\t1000\t10000\t1\t1\t500.0\t8192\t8192\t8192\t8192\t8192\tyes\t8192\t3300\t3900\n'
} >"$tmp/scale-new/scale.tsv"
"$py" "$analyze" --work "$tmp/scale-new" --results "$tmp/scale-new-results" --scale-sizes "1000 10000 100000" \
	--scale-empty-user 1000:10000 "${plot[@]}" >"$tmp/analyze.out" 2>&1 ||
	bad "analyze.py failed on new scale.tsv lines: $(tail -n 3 "$tmp/analyze.out")"
md=$tmp/scale-new-results/results.md
has "$md" "| 1,000 | 20.0 | 6.0 | 6.0 | 6.5 | 7.0 | 6.5 | 3.0 (2.0–4.0) | 3.6 (2.6–4.6) | yes | 1 starts × 2 decisions |"
has "$md" "| 10,000 | 400.0 | 9.0 | 9.0 | 10.0 | 12.0 | 10.0 | 300.0 | 301.0 | no: No space left on device |"
has "$md" "| 100,000 | **not run or failed**"
has "$md" "| 1,000 + 10,000 empty (owned by a user) | 500.0 | 8.0 | 8.0 | 8.0 | 8.0 | 8.0 | 3.3 | 3.9 | yes |"
has "$md" "(fs.inotify.max_user_watches was 8192)"
has "$md" "10,000 cgroups: ready in 400 ms, 10.0 MiB RSS, decision 300 ms (without the tree model)"
has "$md" "10,000 empty cgroups beside 1,000 services: 1.10× the decision time of 1,000 services alone (+0.3 ms)."
# --scale-update (bench/run --scale-only): the scale part of earlier full
# results, and of the README block, from a new scale.tsv; the guest tables
# stay, without their raw data.
cp -r "$res" "$tmp/update-results"
cp "$tmp/README.md" "$tmp/update-README.md"
"$py" "$analyze" --work "$tmp/scale-new" --results "$tmp/update-results" --scale-update --scale-sizes "1000 10000 100000" \
	--scale-empty-user 1000:10000 --readme "$tmp/update-README.md" "${plot[@]}" >"$tmp/analyze.out" 2>&1 ||
	bad "analyze.py --scale-update failed: $(tail -n 3 "$tmp/analyze.out")"
for f in results.md README.md; do
	has "$tmp/update-results/$f" "| 10,000 | 400.0 | 9.0 | 9.0 | 10.0 | 12.0 | 10.0 | 300.0 | 301.0 | no: No space left on device |"
	has "$tmp/update-results/$f" "| 100,000 | **not run or failed**"
done
for f in update-results/results.md update-results/README.md update-results/summary.md update-README.md; do
	has "$tmp/$f" "10,000 cgroups: ready in 400 ms, 10.0 MiB RSS, decision 300 ms (without the tree model)"
done
has "$tmp/update-README.md" "| earlyoom 1.7 | fail / n/r / 0 / n/r / n/r | 0/1 | 1/1 |"
cmp -s <(sed '/^| cgroups |/,$d;/cgreapd at scale/d' "$res/results.md") \
	<(sed '/^| cgroups |/,$d;/cgreapd at scale/d' "$tmp/update-results/results.md") ||
	bad "--scale-update changed results.md outside its scale part"

# An expected empty-user run that is missing says so too; a bad spec is a usage error.
"$py" "$analyze" --work "$tmp/scale-only" --results "$tmp/scale-only-results" --scale-empty-user 1000:10000 \
	--no-plot >/dev/null 2>&1 || bad "analyze.py failed with an old scale.tsv and --scale-empty-user"
has "$tmp/scale-only-results/results.md" "| 1,000 + 10,000 empty (owned by a user) | **not run or failed**"
rc=0
"$py" "$analyze" --work "$tmp/scale-only" --results "$tmp/scale-only-results" --scale-empty-user 10000 \
	--no-plot >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || bad "analyze.py --scale-empty-user 10000 exited $rc, not 2 (usage error)"

# ---------------------------------------------------------------- bench/run
# Names are checked before anything is built or booted.
out=$(bash "$top_srcdir/bench/run" --agents kernel,bogus 2>&1) && bad "bench/run accepted agent 'bogus'"
case $out in *"unknown agent 'bogus'"*) ;; *) bad "bench/run --agents bogus said: $out" ;; esac
out=$(bash "$top_srcdir/bench/run" --scenarios churn,bogus 2>&1) && bad "bench/run accepted scenario 'bogus'"
case $out in *"unknown scenario 'bogus'"*) ;; *) bad "bench/run --scenarios bogus said: $out" ;; esac
# --help names every scenario, the no-kill ones as such.
out=$(bash "$top_srcdir/bench/run" --help)
for s in hog leak leak-swap slice cpu stream-swap slice-stream slice-steady churn idle; do
	case $out in *"$s"*) ;; *) bad "bench/run --help does not name scenario $s" ;; esac
done
case $out in *"right answer is no kill"*) ;; *) bad "bench/run --help does not say which scenarios need no kill" ;; esac
rc=0
bash "$top_srcdir/bench/run" --reps 0 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || bad "bench/run --reps 0 exited $rc, not 2 (usage error)"
# The top-level README carries the block bench/run fills.
if ! grep -q '^<!-- bench-summary:' "$top_srcdir/README.md" || ! grep -q '^<!-- /bench-summary -->' "$top_srcdir/README.md"; then
	bad "README.md has no bench-summary block for bench/run to fill"
fi

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
pass "analyze.py: every pair has a row, gaps say why, facts come from the metadata"
