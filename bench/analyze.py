#!/usr/bin/python3
"""Turn the raw results of bench/run into bench/results/.

    analyze.py --work DIR --results DIR [--agents "a b"] [--scenarios "s t"]
               [--readme README.md] [--no-plot]
    analyze.py --check WORK/raw/SCENARIO/AGENT --scenario S --reps N

Reads WORK/raw/SCENARIO/AGENT/ (bench/ written by bench/guest/bench.sh in the
guest, run.txt by bench/run on the host), WORK/host.txt and WORK/scale.tsv
(bench/scale), and writes to RESULTS:
  reps.tsv      one line per repetition with every figure, and one per
                repetition or pair without data (its status says why)
  results.md    the tables (median and min-max over the repetitions)
  README.md     bench/README-results.md.in with the tables filled in
  summary.md    the summary table and findings (also put into --readme)
  bench.png     the plot
  scale.png     cgreapd's decision time against tree size (log-log)
  configs/      the exact configuration every agent ran with
Every expected agent × scenario pair gets a row: one that did not run or
produced no data says so, with the file to look at. Descriptions of the run
(accelerator, vCPUs, memory, repetitions, time taken) come from the raw
metadata, never from the template.

--check marks the repetitions of one pair that have all their data
.complete (bench/run uses it for its summary and --resume) and exits 1
unless all N have.
All times come from one clock, CLOCK_MONOTONIC in the guest: the observer's
samples, the kernel trace and systemd's timestamps.
"""
import argparse
import os
import re
import shutil
import statistics
from collections import Counter

AGENT_NAMES = {"kernel": "kernel OOM killer alone", "cgreap": "cgreap", "earlyoom": "earlyoom 1.7",
               "nohang": "nohang 0.2.0", "systemd-oomd": "systemd-oomd 252"}
SCENARIO_NAMES = {
    "hog": "fast hog, no swap",
    "leak": "slow leak, zram swap",
    "leak-swap": "slow leak, swap file",
    "slice": "slice at MemoryMax",
    "cpu": "victim starved of CPU",
    "stream-swap": "no kill: page cache streamed, swap in use",
    "slice-stream": "no kill: slice streaming at its limit",
    "slice-steady": "no kill: slice steady near its limit",
    "churn": "no kill: memory allocated and freed",
    "idle": "idle, 200 services",
}
# The right answer is no kill: every kill in them is unneeded (the guest
# also says so per repetition, "nokill 1" in meta.txt).
NO_KILL = ("stream-swap", "slice-stream", "slice-steady", "churn")
# With swap (zram or a swap file): "swap used at the first kill".
SWAP_SCENARIOS = ("leak", "leak-swap", "stream-swap")
UNITS = ("web", "batch", "hog")
TRACE_RE = re.compile(r"^\s*(.+)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (signal_generate|mark_victim): (.*)$")
# Pressure onset: the first moment the stall share over the last 500ms of
# samples reaches 5% ("some" stall of the scenario's scope).
ONSET_WINDOW_US = 500_000
ONSET_SHARE = 0.05
# Memory is "freed" when the victim's cgroup holds 10% of what it held at the
# kill, or is gone.
FREED_SHARE = 0.10


def kv_file(path):
    d = {}
    if not os.path.exists(path):
        return d
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) == 2:
                d.setdefault(parts[0], parts[1].strip())
    return d


def rep_meta(path):
    d = {"pids": {}}
    with open(path) as f:
        for line in f:
            p = line.split()
            if p and p[0] == "pid" and len(p) == 3 and p[2] != "0":
                d["pids"][int(p[2])] = p[1].replace("bench-", "")
            elif p and p[0] == "comm" and len(p) == 3:
                # Processes named PREFIX... belong to a unit (stress-ng's
                # workers, whose pids were never noted).
                d.setdefault("comms", []).append((p[1], p[2]))
            elif len(p) >= 2:
                d[p[0]] = p[1]
    return d


def samples(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        rows = []
        for line in f:
            v = line.split("\t")
            if len(v) == len(head):
                rows.append([int(x) for x in v])
    return head, rows


def killer_of(comm):
    for prefix, who in (("earlyoom", "earlyoom"), ("nohang", "nohang"), ("systemd-oomd", "systemd-oomd"),
                        ("cgreap", "cgreap")):
        if comm.startswith(prefix):
            return who
    if comm in ("systemd", "(sd-pam)"):
        return "systemd"
    if comm.startswith("python"):
        return "nohang"
    return None


def trace_events(path, pids, comms=()):
    """Signals 9/15 sent to a workload process, with who sent them."""
    sigs, victims = [], {}
    if not os.path.exists(path):
        return sigs
    with open(path) as f:
        for line in f:
            m = TRACE_RE.match(line)
            if not m:
                continue
            comm, _, ts, ev, rest = m.groups()
            t = int(round(float(ts) * 1e6))
            f_ = dict(x.split("=", 1) for x in rest.split() if "=" in x)
            if ev == "mark_victim":
                victims[int(f_["pid"])] = t
            elif ev == "signal_generate":
                pid = int(f_["pid"])
                # benchtool names its processes after their unit, so a
                # process that died before its pid was noted is known too.
                unit = pids.get(pid) or (f_["comm"][6:] if f_["comm"].startswith("bench-") else None)
                unit = unit or next((u for prefix, u in comms if f_["comm"].startswith(prefix)), None)
                if unit:
                    sigs.append({"t": t, "sig": int(f_["sig"]), "unit": unit, "comm": comm, "pid": pid})
    for s in sigs:
        kt = [victims[s["pid"]]] if s["pid"] in victims else []
        who = killer_of(s["comm"])
        if kt and abs(kt[0] - s["t"]) < 200_000 and s["sig"] == 9:
            who = "kernel"
        s["who"] = who or ("kernel" if kt else "other:" + s["comm"])
    return sorted(sigs, key=lambda s: s["t"])


def units_file(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            name, *props = line.split()
            out[name.replace("bench-", "")] = dict(p.split("=", 1) for p in props if "=" in p)
    return out


def analyze_rep(scenario, agent, d):
    meta = rep_meta(os.path.join(d, "meta.txt"))
    if "t_end_us" not in meta:
        return None
    t0, t_end = int(meta["t0_us"]), int(meta["t_end_us"])
    r = {"scenario": scenario, "agent": agent, "rep": int(d.rsplit("-", 1)[1]), "end": meta.get("end", "?")}
    r["oom_kills"] = int(meta["oom_kill_after"]) - int(meta["oom_kill_before"])

    sigs = [s for s in trace_events(os.path.join(d, "trace.txt"), meta["pids"], meta.get("comms", ()))
            if s["t"] >= t0]
    units = units_file(os.path.join(d, "units.txt"))
    # Victims in order: the first signal each unit got from an agent or the
    # kernel (systemd's own SIGTERMs follow a kill, they do not make one).
    order, seen = [], set()
    for s in sigs:
        if s["who"] == "systemd" or s["unit"] in seen or s["unit"].startswith("spin"):
            continue
        seen.add(s["unit"])
        order.append(s)
    dead = [u for u in UNITS if units.get(u, {}).get("ActiveState") not in ("active", None)]
    for u in dead:          # died without a traced signal (e.g. no tracefs)
        if u not in seen:
            ts = int(units[u].get("ExecMainExitTimestampMonotonic", "0") or 0)
            order.append({"t": ts, "sig": 0, "unit": u, "who": "?"})
    order.sort(key=lambda s: s["t"])
    r["killed"] = " → ".join(f"{s['unit']} ({s['who']})" for s in order) or "none"
    r["killed_units"] = " → ".join(s["unit"] for s in order) or "none"
    r["web_alive"] = units.get("web", {}).get("ActiveState") == "active"

    head, rows = samples(os.path.join(d, "samples.tsv"))
    col = {h: i for i, h in enumerate(head)}
    rows = [x for x in rows if x[0] >= t0 - ONSET_WINDOW_US]
    ep = [x for x in rows if t0 <= x[0] <= t_end]
    onset = None
    j = 0
    for i, x in enumerate(rows):
        if x[0] < t0:
            continue
        while rows[j][0] < x[0] - ONSET_WINDOW_US:
            j += 1
        dt = x[0] - rows[j][0]
        if dt > 0 and (x[col["scope_some_us"]] - rows[j][col["scope_some_us"]]) >= ONSET_SHARE * dt:
            onset = x[0]
            break
    r["onset_s"] = (onset - t0) / 1e6 if onset else None
    first = order[0] if order and order[0]["sig"] else None
    r["first_kill_s"] = (first["t"] - t0) / 1e6 if first else None
    r["onset_to_kill_s"] = (first["t"] - onset) / 1e6 if first and onset else None
    if first and (onset is None or first["t"] < onset):
        r["onset_to_kill_s"] = 0.0      # killed before the stall reached 5%
    r["freed_s"] = None
    c = col.get(first["unit"] + "_mem") if first else None
    if c is not None:
        before = [x[c] for x in rows if x[0] <= first["t"] and x[c] > 0]
        m0 = before[-1] if before else None
        if m0:
            for x in rows:
                if x[0] >= first["t"] and (x[c] < 0 or x[c] <= FREED_SHARE * m0):
                    r["freed_s"] = (x[0] - first["t"]) / 1e6
                    break
            else:
                # Still held when the observer stopped: at least this long.
                r["not_freed_s"] = (rows[-1][0] - first["t"]) / 1e6
    # The observer runs SCHED_FIFO and mlocked, yet under thrashing the
    # emulated guest can stop it too: its longest gap says how blind it was.
    r["observer_gap_ms"] = max((b[0] - a[0] for a, b in zip(ep, ep[1:])), default=0) / 1000
    # PSI of the scenario's own scope: /proc/pressure/memory, or in "slice"
    # the slice's memory.pressure (the machine as a whole hardly stalls
    # there). The global figure stays in reps.tsv for reference.
    r["psi_full_s"] = r["psi_some_s"] = r["psi_full_global_s"] = None
    if ep:
        def delta(name):
            return (ep[-1][col[name]] - ep[0][col[name]]) / 1e6
        r["psi_full_s"] = delta("scope_full_us")
        r["psi_some_s"] = delta("scope_some_us")
        r["psi_full_global_s"] = delta("global_full_us")
    r["stall_ms"] = None
    if os.path.exists(os.path.join(d, "probe.txt")):
        with open(os.path.join(d, "probe.txt")) as f:
            p = f.read().split()
        probe = dict(zip(p[::2], p[1::2]))
        r["stall_ms"] = int(probe["max_us"]) / 1000 if "max_us" in probe else None
    r["episode_s"] = (t_end - t0) / 1e6
    kills = [k for k in order if k["sig"]]
    r["nokill"] = meta.get("nokill") == "1" or scenario in NO_KILL
    r["unneeded_kills"] = len(kills) if r["nokill"] else unneeded_after_first(kills, rows, col, meta)
    # Swap used at the first kill, from the observer's last sample before it.
    swap_kb = int(meta.get("swap_total_kb") or 0)
    r["swap_total_mb"] = swap_kb / 1024 if swap_kb else None
    r["swap_used_first_kill_mb"] = r["swap_used_max_mb"] = r["swap_used_hog_start_mb"] = None
    if swap_kb and "swapfree_kb" in col:
        c = col["swapfree_kb"]
        r["swap_used_max_mb"] = max((swap_kb - x[c] for x in ep if x[c] >= 0), default=0) / 1024
        # In stream-swap the hog starts once batch is pushed to swap.
        at = sample_at(rows, int(units.get("hog", {}).get("ExecMainStartTimestampMonotonic", "0") or 0))
        if at and at[c] >= 0:
            r["swap_used_hog_start_mb"] = (swap_kb - at[c]) / 1024
        at = sample_at(rows, kills[0]["t"]) if kills else None
        if at and at[c] >= 0:
            r["swap_used_first_kill_mb"] = (swap_kb - at[c]) / 1024
    return r


def sample_at(rows, t):
    """The observer's last sample at or before T (None before the first)."""
    before = [x for x in rows if x[0] <= t]
    return before[-1] if before else None


def unneeded_after_first(kills, rows, col, meta):
    """How many kills after the first one kill would have ended the episode
    (bench/README.md, "unneeded kills"): the hog that caused it had already
    got its kill or was gone, or what the first victim held at its kill
    covered the hog's excess, its remaining demand beyond the free room."""
    if len(kills) < 2:
        return 0
    first = kills[0]
    at = sample_at(rows, first["t"])
    suffices = False
    hog_mb = int(meta.get("hog_mb") or 0)
    mem = {u: at[col[u + "_mem"]] if at and u + "_mem" in col else -1 for u in UNITS}
    if first["unit"] != "hog" and hog_mb and at and mem[first["unit"]] > 0:
        if meta.get("limit_kb"):
            # Below a limit the room is the limit's headroom, not the machine's.
            room = int(meta["limit_kb"]) * 1024 - sum(v for v in mem.values() if v > 0)
        else:
            room = (max(at[col["memavail_kb"]], 0) + max(at[col["swapfree_kb"]], 0)) * 1024
        excess = hog_mb * 1024 * 1024 - max(mem["hog"], 0) - max(room, 0)
        suffices = mem[first["unit"]] >= excess
    n = 0
    for k in kills[1:]:
        hog_killed = any(x["unit"] == "hog" and x["t"] < k["t"] for x in kills)
        x = sample_at(rows, k["t"])
        hog_gone = x is not None and "hog_populated" in col and x[col["hog_populated"]] <= 0
        if suffices or hog_killed or hog_gone:
            n += 1
    return n


def analyze_idle(agent, d):
    v = kv_file(os.path.join(d, "idle.txt"))
    if "cpu_ms" not in v:
        return None
    return {"scenario": "idle", "agent": agent, "rep": int(d.rsplit("-", 1)[1]),
            "cpu_ms": int(v["cpu_ms"]), "ctxsw": int(v["ctxsw"]), "rss_kb": int(v["rss_kb"]),
            "vmlck_kb": int(v["vmlck_kb"]), "services": int(v["services"]),
            "window_s": int(v["window_s"])}


def med(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return statistics.median(vals)


def fmt(vals, digits=1, unit=""):
    """median (min–max); '–' when nothing was measured."""
    vs = [v for v in vals if v is not None]
    if not vs:
        return "–"
    m = statistics.median(vs)
    f = f"{{:.{digits}f}}"
    s = f.format(m) + unit
    if len(vs) > 1 and min(vs) != max(vs):
        s += f" ({f.format(min(vs))}–{f.format(max(vs))})"
    missing = len(vals) - len(vs)
    if missing:
        s += f" [{len(vs)}/{len(vals)}]"
    return s


def common(vals):
    c = Counter(vals)
    if len(c) == 1:
        return next(iter(c))
    return "; ".join(f"{k} ×{n}" for k, n in c.most_common())


def freed_cell(rs):
    known = [r for r in rs if r.get("freed_s") is not None]
    held = [r["not_freed_s"] for r in rs if r.get("not_freed_s") is not None]
    if not held:
        return fmt([r.get("freed_s") for r in rs], 2)
    cell = fmt([r["freed_s"] for r in known], 2) + f" [{len(known)}/{len(rs)}]; " if known else ""
    return cell + f"**not freed** in {len(held)}/{len(rs)} (still held {min(held):.0f}+ s later)"


# ------------------------------------------------------------ what ran
def expected_pairs(scenarios, agents):
    """Every agent × scenario pair a full run measures (the kernel alone has
    nothing to measure while idle)."""
    return [(s, a) for s in scenarios for a in agents if not (s == "idle" and a == "kernel")]


def rep_record(scenario, agent, d):
    """(figures, None) for a repetition that has all its data, else (None, why)."""
    if not os.path.isdir(d):
        return None, "did not start"
    try:
        r = analyze_idle(agent, d) if scenario == "idle" else analyze_rep(scenario, agent, d)
    except (OSError, ValueError, KeyError, IndexError) as e:
        return None, f"unreadable data ({type(e).__name__}: {e})"
    if r is None:
        return None, "cut off (no end stamp)" if scenario != "idle" else "cut off (no idle.txt)"
    return r, None


def where_to_look(work, s, a):
    """The file that says what went wrong with a pair, relative to WORK."""
    for rel in (f"raw/{s}/{a}/bench/bench.log", f"raw/{s}/{a}/console.log", f"logs/{s}-{a}.log"):
        if os.path.exists(os.path.join(work, rel)):
            return rel
    return f"raw/{s}/{a}"


class Pair:
    """What the raw data of one agent × scenario pair holds."""

    def __init__(self, work, s, a):
        self.scenario, self.agent = s, a
        self.dir = os.path.join(work, "raw", s, a)
        bench = os.path.join(self.dir, "bench")
        self.host = kv_file(os.path.join(self.dir, "run.txt"))      # written by bench/run
        self.meta = kv_file(os.path.join(bench, "meta.txt"))        # written in the guest
        self.ran = os.path.isdir(self.dir)
        want = self.meta.get("reps") or self.host.get("reps")
        self.expected = int(want) if want and want.isdigit() else None
        self.reps, self.missing = [], []
        if os.path.isdir(bench):
            found = sorted(int(e[4:]) for e in os.listdir(bench) if re.fullmatch(r"rep-\d+", e))
            for n in sorted(set(found) | set(range(1, (self.expected or 0) + 1))):
                r, why = rep_record(s, a, os.path.join(bench, f"rep-{n}"))
                if r:
                    self.reps.append(r)
                else:
                    self.missing.append((n, why))
        self.look = where_to_look(work, s, a)

    @property
    def state(self):
        if not self.ran:
            return "not run"
        if not self.reps:
            return "failed"
        return "partial" if self.missing else "ok"

    def reps_cell(self):
        n = len(self.reps)
        total = self.expected or n + len(self.missing)
        if self.state == "not run":
            return f"**not run** (no raw/{self.scenario}/{self.agent})"
        if self.state == "failed":
            why = self.missing[0][1] if self.missing else "no data"
            return f"**failed**: 0 of {total} ({why}; see {self.look})"
        if self.missing:
            gone = ", ".join(f"rep {k}: {why}" for k, why in self.missing)
            return f"{n} of {total} ({gone}; see {self.look})"
        return str(n)


def check_pair(pair_dir, scenario, reps):
    """For bench/run: mark the repetitions that have all their data
    .complete (and only those); 0 when all REPS of them have."""
    bench = os.path.join(pair_dir, "bench")
    agent = os.path.basename(os.path.normpath(pair_dir))
    done, why = 0, []
    for n in range(1, reps + 1):
        d = os.path.join(bench, f"rep-{n}")
        r, reason = rep_record(scenario, agent, d)
        mark = os.path.join(d, ".complete")
        if r:
            done += 1
            open(mark, "w").close()
        else:
            why.append(f"rep {n}: {reason}")
            if os.path.exists(mark):
                os.unlink(mark)
    print(f"{done} of {reps} repetitions complete" + (f" ({'; '.join(why)})" if why else ""))
    return 0 if done == reps else 1


# ------------------------------------------------------------ tables
def blank_row(p, ncols):
    return f"| {AGENT_NAMES[p.agent]} | {p.reps_cell()} |" + " – |" * ncols


def swap_cell(rs):
    """Swap used at the first kill: 'MiB of the swap's MiB', or why not."""
    if not any(r.get("swap_total_mb") for r in rs):
        return "no swap"
    used = [r.get("swap_used_first_kill_mb") for r in rs]
    total = max(r.get("swap_total_mb") or 0 for r in rs)
    if all(v is None for v in used):
        most = max(r.get("swap_used_max_mb") or 0 for r in rs)
        return (f"no kill ({fmt([r.get('swap_used_hog_start_mb') for r in rs], 0)} MiB used when the hog started, "
                f"up to {most:.0f})")
    # Each repetition's figure, median (min–max), unlike swap_used().
    return f"{fmt(used, 0)} of {total:.0f} MiB"


def swap_used(rs):
    """The median swap used at the first kill, 'N of TOTAL MiB', or 'no kill'."""
    v = med([r.get("swap_used_first_kill_mb") for r in rs])
    return "no kill" if v is None else f"{v:.0f} of {max(r.get('swap_total_mb') or 0 for r in rs):.0f} MiB"


def pressure_table(pairs, scenario, agents):
    lines = ["| agent | repetitions | kernel OOM kills | killed, in order (by whom) | unneeded kills "
             "| pressure onset → first kill (s) | swap used at the first kill (MiB) "
             "| kill → memory freed (s) | worst stall of the protected service (ms) "
             "| PSI full of the scenario's scope (s) | protected service alive |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for a in agents:
        p = pairs.get((scenario, a))
        if p is None:
            continue
        rs = p.reps
        if not rs:
            lines.append(blank_row(p, 9))
            continue
        alive = sum(1 for r in rs if r["web_alive"])
        lines.append(f"| {AGENT_NAMES[a]} | {p.reps_cell()} | {fmt([r['oom_kills'] for r in rs], 0)} "
                     f"| {common([r['killed'] for r in rs])} | {fmt([r['unneeded_kills'] for r in rs], 0)} "
                     f"| {fmt([r['onset_to_kill_s'] for r in rs], 2)} | {swap_cell(rs)} | {freed_cell(rs)} "
                     f"| {fmt([r['stall_ms'] for r in rs], 0)} | {fmt([r['psi_full_s'] for r in rs], 2)} "
                     f"| {alive}/{len(rs)} |")
    return "\n".join(lines)


def idle_table(pairs, agents):
    lines = ["| agent | repetitions | CPU time per 30 s (ms) | context switches per 30 s | RSS (MiB) "
             "| of which locked (MiB) |",
             "|---|---|---|---|---|---|"]
    for a in agents:
        p = pairs.get(("idle", a))
        if p is None:
            continue
        rs = p.reps
        if not rs:
            lines.append(blank_row(p, 4))
            continue
        lines.append(f"| {AGENT_NAMES[a]} | {p.reps_cell()} | {fmt([r['cpu_ms'] for r in rs], 0)} "
                     f"| {fmt([r['ctxsw'] for r in rs], 0)} | {fmt([r['rss_kb'] / 1024 for r in rs], 1)} "
                     f"| {fmt([r['vmlck_kb'] / 1024 for r in rs], 1)} |")
    return "\n".join(lines)


def scale_rows(path):
    """bench/scale's lines; those of older runs (no kind, empty, VmHWM when
    ready or model column) read as services with nothing unknown made up."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        rows = [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
    for r in rows:
        r.setdefault("kind", "services")
        r.setdefault("empty", "0")
    return rows


def scale_key(r):
    return (r["kind"], int(r["cgroups"]), int(r["empty"]))


def scale_label(key):
    kind, n, empty = key
    if kind == "services":
        return f"{n:,}"
    return f"{n:,} + {empty:,} empty ({'owned by a user' if kind == 'empty-user' else kind})"


def parse_empty_user(spec):
    """--scale-empty-user "1000:10000" -> ("empty-user", 1000, 10000), or None for ""."""
    if not spec:
        return None
    n, empty = (int(x) for x in spec.split(":"))
    return ("empty-user", n, empty)


def scale_groups(rows, sizes, empty_user=None):
    """{key: rows} for every run expected or found, services first by size."""
    keys = {("services", n, 0) for n in sizes} | {scale_key(r) for r in rows}
    if empty_user:
        keys.add(empty_user)
    return {k: [r for r in rows if scale_key(r) == k]
            for k in sorted(keys, key=lambda k: (k[0] != "services", k[1], k[2], k[0]))}


def scale_model(starts):
    """Whether cgreapd kept its model of the tree in these starts."""
    models = [r.get("model") for r in starts]
    if not any(models):
        return "–"
    c = Counter(m or "?" for m in models)
    return "; ".join(m if len(c) == 1 else f"{m} ×{k}" for m, k in c.most_common())


def scale_table(rows, sizes, empty_user=None):
    def kb(rs, key):
        vals = [int(r[key]) / 1024 for r in rs if r.get(key)]
        return fmt(vals, 1) if vals else "–"

    lines = ["| cgroups | start-up to READY (ms) | VmRSS when ready (MiB) | VmHWM when ready (MiB) "
             "| VmRSS after decisions (MiB) | VmHWM after decisions (MiB) | VmLck (MiB) "
             "| decision, CGREAP_DECISION_USEC (ms) | memory.events write → record on stderr (ms) "
             "| tree model | samples |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, rs in scale_groups(rows, sizes, empty_user).items():
        if not rs:
            lines.append(f"| {scale_label(key)} | **not run or failed** (see scale.log in the work directory) |"
                         + " – |" * 9)
            continue
        starts = list({r["rep"]: r for r in rs}.values())
        lines.append(f"| {scale_label(key)} | {fmt([float(r['startup_ms']) for r in starts], 1)} "
                     f"| {kb(starts, 'rss_ready_kb')} | {kb(starts, 'hwm_ready_kb')} "
                     f"| {kb(starts, 'rss_after_kb')} | {kb(starts, 'hwm_kb')} | {kb(starts, 'vmlck_kb')} "
                     f"| {fmt([int(r['decision_usec']) / 1000 for r in rs], 1)} "
                     f"| {fmt([int(r['event_to_record_usec']) / 1000 for r in rs], 1)} "
                     f"| {scale_model(starts)} "
                     f"| {len(starts)} starts × {len(rs) // max(1, len(starts))} decisions |")
    watches = {r["max_user_watches"] for r in rows if r.get("max_user_watches")}
    if any(r.get("model", "yes") != "yes" for r in rows):
        lines += ["", "*Tree model* no: cgreapd could not keep its inotify model of the tree and read the "
                  "whole tree in each decision" + (f" (fs.inotify.max_user_watches was {', '.join(sorted(watches))})"
                                                   if watches else "") + "."]
    return "\n".join(lines)


def scale_plot(rows, path):
    """Decision time against tree size, log-log: the services runs as a
    line, the others as their own points at their whole tree's size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(8, 5.5))
    groups = scale_groups(rows, [])
    styles = {"services": ("#d62728", "o"), "empty-user": ("#1f77b4", "s")}
    drawn = False
    for kind in sorted({k[0] for k in groups}, key=lambda k: k != "services"):
        color, marker = styles.get(kind, ("#7f7f7f", "^"))
        for metric, dash, what in (("decision_usec", "-", "decision (CGREAP_DECISION_USEC)"),
                                   ("event_to_record_usec", ":", "memory.events write → record")):
            xs, ys, lo, hi, hollow = [], [], [], [], []
            for key, rs in groups.items():
                if key[0] != kind or not rs:
                    continue
                vals = [int(r[metric]) / 1000 for r in rs]
                m = statistics.median(vals)
                xs.append(key[1] + key[2])
                ys.append(m)
                lo.append(m - min(vals))
                hi.append(max(vals) - m)
                hollow.append(any(r.get("model", "yes") != "yes" for r in rs))
            if not xs:
                continue
            label = (f"{what}, services" if kind == "services" else
                     f"{what}, {scale_label(next(k for k in groups if k[0] == kind))}")
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt=dash, marker=marker, color=color, capsize=3,
                        alpha=1 if metric == "decision_usec" else 0.5, label=label,
                        markerfacecolor="none" if metric != "decision_usec" else color)
            for x, y, h in zip(xs, ys, hollow):
                if h and metric == "decision_usec":
                    ax.annotate("no tree model\n(inotify watches)", (x, y), textcoords="offset points",
                                xytext=(-8, -6), ha="right", va="top", fontsize=7)
            drawn = True
    if drawn:
        ax.set_xscale("log")
        ax.set_yscale("log")
        fmt_ = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
        ax.xaxis.set_major_formatter(fmt_)
        ax.yaxis.set_major_formatter(fmt_)
        ax.legend(fontsize=7, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no scale data in this run", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("cgroups in the monitored slice (services; for the empty-user run services + empty)")
    ax.set_ylabel("ms (median; whiskers: min–max)")
    ax.set_title("cgreapd's decision time against tree size (host, fake tree on tmpfs, --dry-run)", fontsize=9)
    ax.grid(which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ------------------------------------------------------------ the run itself
def counted(values, render=str):
    """'a' when all agree, else 'a (3 boots), b (1 boot)'."""
    c = Counter(v for v in values if v)
    if not c:
        return None
    if len(c) == 1:
        return render(next(iter(c)))
    return ", ".join(f"{render(k)} ({n} boot{'s' if n > 1 else ''})" for k, n in c.most_common())


def describe_run(pairs, work):
    """Facts about the run from its metadata: guest, accelerator, speed,
    repetitions, time taken. Nothing here is assumed."""
    ran = [p for p in pairs.values() if p.ran]
    facts = {}
    accels = []
    for p in ran:
        a = p.host.get("accel")
        if not a and p.meta.get("virt"):
            a = {"qemu": "tcg", "kvm": "kvm"}.get(p.meta["virt"], p.meta["virt"])
        accels.append(a)
    names = {"tcg": "emulated by qemu TCG (no KVM)", "kvm": "run by qemu with KVM"}
    facts["accel"] = counted(accels, lambda a: names.get(a, a)) or "accelerator not recorded"
    facts["tcg"] = any(a == "tcg" for a in accels) or not any(accels)
    facts["kernel"] = counted([p.meta.get("kernel") for p in ran]) or "?"
    facts["cpus"] = counted([p.meta.get("cpus") or p.host.get("cpus") for p in ran]) or "?"
    def memory(p):
        m = re.fullmatch(r"(\d+)([MG])", p.host.get("memory", ""))      # qemu's -m, e.g. 2G
        if m:
            return f"{m[1]} {m[2]}iB"
        kb = p.meta.get("memtotal_kb", "")
        return f"{int(kb) / 1048576:.1f} GiB (MemTotal)" if kb.isdigit() else None
    facts["memory"] = counted([memory(p) for p in ran]) or "?"
    # Guest time / host time of the same fixed pieces of work.
    host = kv_file(os.path.join(work, "host.txt"))
    facts["slowdown"] = {}
    for k in SPEED_PARTS:
        key = f"speed_{k}_ns"
        guest = [int(p.meta[key]) for p in ran if p.meta.get(key, "").isdigit()]
        if host.get(key, "").isdigit() and int(host[key]) > 0 and guest:
            facts["slowdown"][k] = statistics.median(guest) / int(host[key])
    exp = [p.expected for p in pairs.values() if p.expected]
    facts["reps_asked"] = counted(exp) or "?"
    facts["pairs"] = len(pairs)
    facts["pairs_ok"] = sum(1 for p in pairs.values() if p.state == "ok")
    facts["reps_done"] = sum(len(p.reps) for p in pairs.values())
    facts["reps_missing"] = sum(len(p.missing) for p in pairs.values())
    # qemu's own time per boot: the wall time also counts waiting for other
    # guests on a shared machine.
    guest = [int(p.host["guest_s"]) for p in ran if p.host.get("guest_s", "").isdigit()]
    walls = [int(p.host["wall_s"]) for p in ran if p.host.get("wall_s", "").isdigit()]
    facts["boots"] = len(guest)
    facts["guest_min"] = sum(guest) / 60
    facts["boot_min"] = statistics.median(guest) / 60 if guest else None
    facts["wall_min"] = sum(walls) / 60
    return facts


SPEED_PARTS = {"loop": "a CPU loop", "fault": "page faults", "syscall": "system calls"}


def slowdown_text(f):
    """'a CPU loop 1.1×, page faults 21× ... slower than on the host', or None."""
    if not f["slowdown"]:
        return None
    return ", ".join(f"{SPEED_PARTS[k]} {v:.1f}×" if v < 10 else f"{SPEED_PARTS[k]} {v:.0f}×"
                     for k, v in f["slowdown"].items())


def guest_sentence(f):
    s = (f"Debian 12 guest, kernel {f['kernel']}, {f['cpus']} vCPUs, {f['memory']} of RAM, "
         f"{f['accel']}")
    speed = slowdown_text(f)
    if speed:
        s += (f"; the same fixed work (`benchtool speed`) took this many times as long in the guest as on the host: "
              f"{speed}")
    return s + "."


def reps_sentence(f):
    s = f"Repetitions asked for per agent and scenario: {f['reps_asked']}; "
    if f["pairs_ok"] == f["pairs"]:
        return s + f"all {f['pairs']} agent × scenario pairs have all of them ({f['reps_done']} repetitions)."
    lost = f", {f['reps_missing']} were cut off or failed" if f["reps_missing"] else ""
    return s + (f"only {f['pairs_ok']} of {f['pairs']} agent × scenario pairs have all of them "
                f"({f['reps_done']} repetitions have data{lost}); the tables mark every pair without data.")


def runtime_sentence(f):
    if not f["boots"]:
        return "No guest boot of this run recorded its time."
    s = (f"The guest boots took {f['guest_min']:.0f} min in all: {f['boots']} boots, "
         f"{f['boot_min']:.1f} min median per boot (qemu's own time")
    if f["wall_min"] > f["guest_min"] * 1.1 + 1:
        s += f"; {f['wall_min']:.0f} min on the host's clock, waiting for other guests included"
    return s + ")."


# ------------------------------------------------------------ findings
def pair_median(pairs, s, a, key):
    p = pairs.get((s, a))
    return med([r.get(key) for r in p.reps]) if p else None


def best(pairs, s, agents, key, digits):
    """The agents with the lowest median of KEY in S (ties as shown), and that value."""
    vals = {a: pair_median(pairs, s, a, key) for a in agents}
    vals = {a: round(v, digits) for a, v in vals.items() if v is not None}
    if not vals:
        return [], None
    low = min(vals.values())
    return [a for a, v in vals.items() if v == low], low


def name_list(agents):
    names = [AGENT_NAMES[a] for a in agents]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def findings(pairs, scenarios, agents, scale):
    out = []
    ps = [s for s in scenarios if s != "idle"]
    agents_only = [a for a in agents if a != "kernel"]

    # Who let the kernel OOM killer fire.
    fired, clean = [], []
    for a in agents_only:
        hits = []
        for s in ps:
            p = pairs.get((s, a))
            if p and p.reps:
                k = sum(1 for r in p.reps if r["oom_kills"] > 0)
                if k:
                    hits.append(f"{s} {k} of {len(p.reps)}")
        if hits:
            fired.append(f"{AGENT_NAMES[a]} in {', '.join(hits)} repetitions")
        elif any(pairs.get((s, a)) and pairs[(s, a)].reps for s in ps):
            clean.append(a)
    alone = [f"{s} {sum(1 for r in pairs[(s, 'kernel')].reps if r['oom_kills'] > 0)} of {len(pairs[(s, 'kernel')].reps)}"
             for s in ps if (s, "kernel") in pairs and pairs[(s, "kernel")].reps]
    if fired or clean:
        line = "**Kernel OOM killer**: "
        line += ("it still fired with " + "; ".join(fired)) if fired else ""
        if clean:
            line += ("; " if fired else "") + f"it never fired with {name_list(clean)}"
        if alone:
            line += f" (alone, it killed in {', '.join(alone)})"
        out.append(line + ".")

    # The intent: batch first (where a kill is needed), web never.
    first, web_dead = [], []
    for a in agents:
        rs = [r for s in ps for r in (pairs[(s, a)].reps if (s, a) in pairs else [])]
        if not rs:
            continue
        rd = [r for r in rs if not r["nokill"]]
        k = sum(1 for r in rd if r["killed_units"].split(" → ")[0] == "batch")
        if rd:
            first.append(f"{AGENT_NAMES[a]} {k}/{len(rd)}")
        d = [r["scenario"] for r in rs if not r["web_alive"]]
        if d:
            web_dead.append(f"{AGENT_NAMES[a]} ({', '.join(f'{s} ×{n}' for s, n in Counter(d).items())})")
    if first or web_dead:
        out.append("**Victim choice** (the preferred victim, batch, killed first; over the repetitions of the "
                   "scenarios that need a kill): " + (", ".join(first) or "none ran") + ". "
                   + ("The protected service died with " + "; ".join(web_dead) if web_dead else
                      "The protected service survived every repetition") + ".")

    # Kills that one kill, or none, would have spared.
    unneeded = []
    for a in agents:
        rs = [r for s in ps for r in (pairs[(s, a)].reps if (s, a) in pairs else [])]
        if not rs:
            continue
        nk = [r for r in rs if r["nokill"]]
        part = []
        if nk:
            per = Counter(r["scenario"] for r in nk for _ in range(r["unneeded_kills"]))
            part.append(f"{sum(per.values())} in {len(nk)} no-kill repetitions"
                        + (f" ({', '.join(f'{s} {n}' for s, n in per.items())})" if per else ""))
        rd = [r for r in rs if not r["nokill"]]
        if rd:
            part.append(f"{sum(r['unneeded_kills'] for r in rd)} after the first kill in {len(rd)} others")
        unneeded.append(f"{AGENT_NAMES[a]} {', '.join(part)}")
    if unneeded:
        line = "**Unneeded kills** (bench/README.md says how they are told): " + "; ".join(unneeded) + "."
        # A no-kill scenario where the kernel alone killed is sized wrong.
        wrong = [s for s in ps if s in NO_KILL and pairs.get((s, "kernel")) and
                 any(r["killed_units"] != "none" or r["oom_kills"] for r in pairs[(s, "kernel")].reps)]
        if wrong:
            line += (f" **The kernel alone killed in {', '.join(wrong)}**: there a kill may have been needed, "
                     "so those counts overstate.")
        out.append(line)

    # How much of the swap was used before anything died.
    swap = []
    for s in ps:
        if s not in SWAP_SCENARIOS or s in NO_KILL:
            continue
        part = []
        for a in agents:
            p = pairs.get((s, a))
            if p and p.reps and any(r.get("swap_total_mb") for r in p.reps):
                part.append(f"{AGENT_NAMES[a]} {swap_used(p.reps)}")
        if part:
            swap.append(f"{s}: " + ", ".join(part))
    if swap:
        out.append("**Swap used at the first kill** (medians): " + "; ".join(swap) + ".")

    # Fastest onset → kill, lowest stall, per scenario.
    for key, what, digits, unit in (("onset_to_kill_s", "Fastest from pressure onset to the first kill", 2, " s"),
                                    ("stall_ms", "Lowest worst stall of the protected service", 0, " ms"),
                                    ("psi_full_s", "Least PSI full time in the scenario's scope", 2, " s")):
        parts = []
        for s in ps:
            if key == "onset_to_kill_s" and s in NO_KILL:
                continue
            who, v = best(pairs, s, agents, key, digits)
            if not who:
                continue
            part = f"{s}: {name_list(who)} ({v:.{digits}f}{unit})"
            c = pair_median(pairs, s, "cgreap", key)
            if "cgreap" not in who and c is not None:
                part += f", cgreap {c:.{digits}f}{unit}"
            parts.append(part)
        if parts:
            note = " 0 s: the kill came before the stall reached 5%." if key == "onset_to_kill_s" else ""
            out.append(f"**{what}** (medians): " + "; ".join(parts) + "." + note)

    # Memory that never came back.
    held = []
    for s in ps:
        for a in agents:
            p = pairs.get((s, a))
            if p and p.reps:
                k = sum(1 for r in p.reps if r.get("not_freed_s") is not None)
                if k:
                    held.append(f"{AGENT_NAMES[a]} in {s} ({k}/{len(p.reps)})")
    if held:
        out.append("**Memory not freed** by the end of the episode after the first kill: " + "; ".join(held) + ".")

    # Idle cost.
    idle = [(a, pair_median(pairs, "idle", a, "cpu_ms"), pair_median(pairs, "idle", a, "rss_kb"))
            for a in agents if pairs.get(("idle", a)) and pairs[("idle", a)].reps]
    if idle:
        idle.sort(key=lambda x: x[1])
        out.append("**Idle cost** with 200 services (CPU time per 30 s, RSS; medians): "
                   + ", ".join(f"{AGENT_NAMES[a]} {c:.0f} ms, {r / 1024:.1f} MiB" for a, c, r in idle) + ".")

    # cgreapd at scale.
    if scale:
        out.append(scale_finding(scale))

    gaps = []
    for state, what in (("failed", "failed (no data)"), ("not run", "not run"),
                        ("partial", "fewer repetitions than asked for")):
        per = []
        for s in scenarios:
            who = [a for a in agents if (s, a) in pairs and pairs[(s, a)].state == state]
            if who:
                every = len(who) == sum(1 for a in agents if (s, a) in pairs)
                per.append(f"{s} ({'every agent' if every and len(who) > 1 else ', '.join(who)})")
        if per:
            n = sum(1 for p in pairs.values() if p.state == state)
            gaps.append(f"{what}: {n} of {len(pairs)} pairs, " + "; ".join(per))
    if gaps:
        out.append("**Gaps**: " + ". ".join(gaps) + " (the tables say why).")
    return "\n".join("- " + x for x in out) if out else "- No data: nothing ran."


def scale_finding(scale):
    """The findings' line on bench/scale's rows (without the "- ")."""
    parts, decision = [], {}
    for key, rs in scale_groups(scale, []).items():
        starts = list({r["rep"]: r for r in rs}.values())
        decision[key] = med([int(r["decision_usec"]) for r in rs]) / 1000
        no_model = any(r.get("model", "yes") != "yes" for r in starts)
        parts.append(f"{scale_label(key)} cgroups: ready in {med([float(r['startup_ms']) for r in starts]):.0f} ms, "
                     f"{med([int(r['rss_after_kb']) for r in starts]) / 1024:.1f} MiB RSS, "
                     f"decision {decision[key]:.{1 if decision[key] < 10 else 0}f} ms"
                     + (" (without the tree model)" if no_model else ""))
    text = "**cgreapd at scale** (host, medians): " + "; ".join(parts) + "."
    for key, ms in decision.items():
        base = decision.get(("services", key[1], 0))
        if key[0] != "services" and base:
            text += (f" {key[2]:,} empty cgroups beside {key[1]:,} services: {ms / base:.2f}× the decision "
                     f"time of {key[1]:,} services alone ({ms - base:+.1f} ms).")
    return text


def update_scale(work, results, sizes, empty_user, readme, no_plot):
    """Only the scale part of RESULTS (and of README's block) from a new
    WORK/scale.tsv: a run of bench/run --scale-only keeps the guest tables
    of an earlier full run whose raw data is gone."""
    scale = scale_rows(os.path.join(work, "scale.tsv"))
    if not scale:
        raise SystemExit(f"analyze: no {work}/scale.tsv")
    table, line = scale_table(scale, sizes, empty_user), "- " + scale_finding(scale)
    paths = [os.path.join(results, x) for x in ("results.md", "README.md", "summary.md")] + ([readme] if readme else [])
    for path in paths:
        with open(path) as f:
            text = f.read()
        text, n = re.subn(r"^- \*\*cgreapd at scale\*\*.*$", lambda m: line, text, flags=re.M)
        if n != 1:
            raise SystemExit(f"analyze: {path}: no single line of findings on cgreapd at scale")
        if not path.endswith("summary.md") and path != readme:
            # The scale table is the last part of both (README-results.md.in).
            i = text.find("\n| cgroups |")
            if i < 0:
                raise SystemExit(f"analyze: {path}: no scale table")
            text = text[:i + 1] + table + "\n"
        with open(path, "w") as f:
            f.write(text)
    if not no_plot:
        scale_plot(scale, os.path.join(results, "scale.png"))
    print(f"analyze: the scale part of {results} from {len(scale)} decisions")


# ------------------------------------------------------------ summary table
def summary_table(pairs, scenarios, agents):
    ps = [s for s in scenarios if s != "idle"]
    danger = [s for s in ps if s not in NO_KILL]
    nokill = [s for s in ps if s in NO_KILL]
    swapped = [s for s in danger if s in SWAP_SCENARIOS]

    def per_scenario(a, among, value):
        """' / '-joined VALUE(repetitions) of each scenario in AMONG, or why none."""
        out = []
        for s in among:
            p = pairs.get((s, a))
            if p is None or not p.reps:
                out.append("n/r" if p is None or p.state == "not run" else "fail")
            else:
                out.append(value(p.reps))
        return " / ".join(out)

    def cells(a, key, digits, among):
        def value(rs):
            v = med([r.get(key) for r in rs])
            return "–" if v is None else f"{v:.{digits}f}"
        return per_scenario(a, among, value)

    cols = [("kernel OOM kills", f"({' / '.join(danger)})"),
            ("preferred victim killed first", ""), ("protected service survived", ""),
            ("onset → first kill, s", f"({' / '.join(danger)})"),
            ("worst stall of the protected service, ms", f"({' / '.join(danger)})"),
            ("unneeded kills, total", f"({' / '.join(nokill + ['the others'])})" if nokill else ""),
            ("swap used at the first kill", f"({' / '.join(swapped)})" if swapped else ""),
            ("idle: CPU per 30 s, RSS", "")]
    lines = ["| agent | " + " | ".join(f"{c} {w}".strip() for c, w in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for a in agents:
        rs = [r for s in ps for r in (pairs[(s, a)].reps if (s, a) in pairs else [])]
        rd = [r for r in rs if not r["nokill"]]
        first = sum(1 for r in rd if r["killed_units"].split(" → ")[0] == "batch")
        alive = sum(1 for r in rs if r["web_alive"])
        ip = pairs.get(("idle", a))
        if ip is None:
            idle = "–"
        elif ip.reps:
            idle = (f"{med([r['cpu_ms'] for r in ip.reps]):.0f} ms, "
                    f"{med([r['rss_kb'] for r in ip.reps]) / 1024:.1f} MiB")
        else:
            idle = ip.state
        others = sum(r["unneeded_kills"] for r in rd)
        unneeded = str(others)
        if nokill:
            unneeded = per_scenario(a, nokill, lambda rs: str(sum(r["unneeded_kills"] for r in rs))) + f" / {others}"
        lines.append(f"| {AGENT_NAMES[a]} | {cells(a, 'oom_kills', 0, danger)} "
                     f"| {f'{first}/{len(rd)}' if rd else '–'} | {f'{alive}/{len(rs)}' if rs else '–'} "
                     f"| {cells(a, 'onset_to_kill_s', 2, danger)} | {cells(a, 'stall_ms', 0, danger)} "
                     f"| {unneeded if rs else '–'} | {per_scenario(a, swapped, swap_used) if swapped else '–'} | {idle} |")
    return "\n".join(lines) + ("\n\nMedians over the repetitions; counts and totals over every pressure repetition "
                               "(victim choice: the scenarios that need a kill). n/r: not run; fail: no repetition "
                               "has data.")


README_BEGIN = "<!-- bench-summary: generated by bench/analyze.py from the last bash bench/run; do not edit -->"
README_END = "<!-- /bench-summary -->"


def replace_block(path, block):
    """Put BLOCK between the markers of PATH; an error if they are missing."""
    with open(path) as f:
        text = f.read()
    i, j = text.find(README_BEGIN), text.find(README_END)
    if i < 0 or j < i:
        raise SystemExit(f"analyze: {path} has no '{README_BEGIN}' ... '{README_END}' block")
    text = text[:i + len(README_BEGIN)] + "\n" + block + "\n" + text[j:]
    with open(path, "w") as f:
        f.write(text)


# ------------------------------------------------------------ plot
def plot(pairs, scenarios, agents, facts, path):
    import textwrap
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    colors = {"kernel": "#7f7f7f", "cgreap": "#d62728", "earlyoom": "#1f77b4", "nohang": "#2ca02c",
              "systemd-oomd": "#9467bd"}
    ps = [s for s in scenarios if s != "idle"]
    panels = [
        ("oom_kills", "kernel OOM kills (count)", None),
        ("onset_to_kill_s", "pressure onset → first kill (s)", None),
        ("freed_s", "kill → victim's memory freed (s; log, 20 ms resolution)", 0.01),
        ("stall_ms", "worst stall of the protected service (ms; log)", 1.0),
        ("psi_full_s", "PSI memory full of the scenario's scope (s)", None),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(16, 10))
    width = 0.8 / max(1, len(agents))
    labels = ["\n".join(textwrap.wrap(SCENARIO_NAMES[s], 14)) for s in ps]
    for ax, (key, title, floor) in zip(axes.flat, panels):
        drawn = False
        for i, a in enumerate(agents):
            xs, ys, lo, hi = [], [], [], []
            for k, s in enumerate(ps):
                x = k + (i - (len(agents) - 1) / 2) * width
                p = pairs.get((s, a))
                if p is None:
                    continue
                rs = p.reps
                vals = [r[key] for r in rs if r.get(key) is not None]
                held = key == "freed_s" and any(r.get("not_freed_s") is not None for r in rs)
                if held:        # never freed: at least as long as we looked
                    vals += [r["not_freed_s"] for r in rs if r.get("not_freed_s") is not None]
                if not rs:      # a gap must show as a gap, not as zero
                    ax.text(x, 0.01, "not run" if p.state == "not run" else "failed", rotation=90, ha="center",
                            va="bottom", fontsize=6, color=colors.get(a), transform=ax.get_xaxis_transform())
                    continue
                if not vals:
                    continue
                if held:
                    ax.text(x, max(vals), "not\nfreed", ha="center", va="bottom", fontsize=7)
                if floor:       # log scale: nothing below the resolution
                    vals = [max(v, floor) for v in vals]
                m = statistics.median(vals)
                xs.append(x)
                ys.append(m)
                lo.append(m - min(vals))
                hi.append(max(vals) - m)
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, color=colors.get(a))
            drawn = drawn or any(y > 0 for y in ys)
        ax.set_xticks(range(len(ps)))
        ax.set_xlim(-0.5, len(ps) - 0.5)
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        if floor and drawn:     # a log axis needs a bar to scale to
            ax.set_yscale("log")
            # Plain numbers (0.02, 50), not 2×10⁻²; minor ones only when
            # the axis spans few decades.
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(FuncFormatter(
                lambda v, _, ax=ax: f"{v:g}" if ax.get_ylim()[1] < 20 * ax.get_ylim()[0] else ""))
        else:
            ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    ax = axes.flat[5]
    ia = [a for a in agents if ("idle", a) in pairs]
    for i, a in enumerate(ia):
        vals = [r["cpu_ms"] for r in pairs[("idle", a)].reps]
        if not vals:
            ax.text(i, 0.01, pairs[("idle", a)].state, rotation=90, ha="center", va="bottom", fontsize=7,
                    color=colors.get(a), transform=ax.get_xaxis_transform())
            continue
        m = statistics.median(vals)
        ax.bar(i, m, 0.6, yerr=[[m - min(vals)], [max(vals) - m]], capsize=3, color=colors.get(a))
        ax.text(i, m, f"{m:.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(ia)))
    ax.set_xlim(-0.5, len(ia) - 0.5)
    ax.set_ylim(bottom=0)
    ax.set_xticklabels([AGENT_NAMES[a].split(" ")[0] for a in ia], fontsize=8)
    ax.set_title("idle with 200 services: agent CPU time per 30 s (ms)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.legend([Patch(color=colors.get(a)) for a in agents], [AGENT_NAMES[a] for a in agents],
               loc="upper center", ncol=len(agents), fontsize=10)
    speed = slowdown_text(facts)
    speed = f" (guest time / host time: {speed})" if speed else ""
    fig.suptitle(f"Guest {facts['accel']}{speed}: compare agents within a panel"
                 + (", not absolute times" if facts["tcg"] else "")
                 + ". Bars: median; whiskers: min–max over the repetitions.", fontsize=9, y=0.935)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work")
    ap.add_argument("--results")
    ap.add_argument("--agents", default=" ".join(AGENT_NAMES))
    ap.add_argument("--scenarios", default=" ".join(SCENARIO_NAMES))
    ap.add_argument("--scale-sizes", default="1000 10000", help="cgroup counts the scale table expects")
    ap.add_argument("--scale-empty-user", default="", metavar="SERVICES:EMPTY",
                    help="the empty-user run the scale table expects (bench/scale --empty-user)")
    ap.add_argument("--readme", help="also put the summary between the bench-summary markers of this file")
    ap.add_argument("--no-plot", action="store_true", help="no bench.png or scale.png (e.g. without matplotlib)")
    ap.add_argument("--scale-update", action="store_true",
                    help="rewrite only the scale part of RESULTS (and --readme) from WORK/scale.tsv")
    ap.add_argument("--check", metavar="PAIR_DIR", help="mark PAIR_DIR's complete repetitions (for bench/run)")
    ap.add_argument("--scenario", help="with --check")
    ap.add_argument("--reps", type=int, help="with --check")
    args = ap.parse_args()
    if args.check:
        if not args.scenario or not args.reps:
            ap.error("--check needs --scenario and --reps")
        raise SystemExit(check_pair(args.check, args.scenario, args.reps))
    if not args.work or not args.results:
        ap.error("--work and --results are needed")
    if args.scale_update:
        try:
            empty_user = parse_empty_user(args.scale_empty_user)
        except ValueError:
            ap.error("--scale-empty-user wants SERVICES:EMPTY, e.g. 1000:10000")
        update_scale(os.path.abspath(args.work), args.results, [int(x) for x in args.scale_sizes.split()],
                     empty_user, args.readme, args.no_plot)
        return
    agents, scenarios = args.agents.split(), args.scenarios.split()
    for x in agents:
        if x not in AGENT_NAMES:
            ap.error(f"unknown agent {x}")
    for x in scenarios:
        if x not in SCENARIO_NAMES:
            ap.error(f"unknown scenario {x}")
    work = os.path.abspath(args.work)

    pairs = {(s, a): Pair(work, s, a) for s, a in expected_pairs(scenarios, agents)}
    reps = [r for p in pairs.values() for r in p.reps]

    os.makedirs(args.results, exist_ok=True)
    # The exact configuration files, once per agent, from this run only.
    cdir = os.path.join(args.results, "configs")
    shutil.rmtree(cdir, ignore_errors=True)
    for (s, a), p in pairs.items():
        src = os.path.join(p.dir, "bench", "config")
        if os.path.isdir(src) and not os.path.exists(os.path.join(cdir, a)):
            shutil.copytree(src, os.path.join(cdir, a))

    keys = ["scenario", "agent", "rep", "status", "end", "oom_kills", "killed", "onset_s", "first_kill_s",
            "onset_to_kill_s", "freed_s", "not_freed_s", "stall_ms", "psi_full_s", "psi_some_s", "psi_full_global_s",
            "web_alive", "unneeded_kills", "swap_total_mb", "swap_used_first_kill_mb", "swap_used_max_mb",
            "swap_used_hog_start_mb",
            "episode_s", "observer_gap_ms", "cpu_ms", "ctxsw", "rss_kb", "vmlck_kb"]
    with open(os.path.join(args.results, "reps.tsv"), "w") as f:
        f.write("\t".join(keys) + "\n")
        for p in pairs.values():
            rows = [dict(r, status="ok") for r in p.reps]
            rows += [{"scenario": p.scenario, "agent": p.agent, "rep": n, "status": f"missing: {why}"}
                     for n, why in p.missing]
            if p.state == "not run" or (p.state == "failed" and not p.missing):
                rows.append({"scenario": p.scenario, "agent": p.agent, "status": p.state})
            for r in sorted(rows, key=lambda r: r.get("rep") or 0):
                f.write("\t".join("" if r.get(k) is None else (f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]))
                                  for k in keys) + "\n")

    tables = {s: idle_table(pairs, agents) if s == "idle" else pressure_table(pairs, s, agents) for s in scenarios}
    sizes = [int(x) for x in args.scale_sizes.split()]
    scale = scale_rows(os.path.join(work, "scale.tsv"))
    try:
        empty_user = parse_empty_user(args.scale_empty_user)
    except ValueError:
        ap.error("--scale-empty-user wants SERVICES:EMPTY, e.g. 1000:10000")
    scale_md = scale_table(scale, sizes, empty_user)
    facts = describe_run(pairs, work)
    versions = {a: p.meta.get("version") for (s, a), p in pairs.items() if p.meta.get("version")}
    found = findings(pairs, scenarios, agents, scale)
    summary = summary_table(pairs, scenarios, agents)
    guest, reps_s, runtime = guest_sentence(facts), reps_sentence(facts), runtime_sentence(facts)
    caveat = ("**Compare agents within one table, not absolute times**" if facts["tcg"] else
              "Compare agents within one table")

    md = ["# cgreap beside earlyoom, systemd-oomd, nohang and the kernel OOM killer",
          "",
          "Generated by `bench/analyze.py` from the raw data of `bash bench/run` (in " + work + "); see",
          "bench/README.md for what each scenario does and how each figure is measured.",
          "",
          guest + " " + caveat + ". " + reps_s + " " + runtime,
          "Cells: median (min–max) over the repetitions; [k/n]: measured in k of n repetitions (e.g. no kill",
          "happened).",
          "",
          "Versions: " + ", ".join(f"{a}: {v}" for a, v in sorted(versions.items())) + ".",
          "",
          "## Summary", "", summary, "",
          "## Findings (generated from the numbers below)", "", found, ""]
    for s in scenarios:
        md += [f"## {SCENARIO_NAMES[s]}", "", tables[s], ""]
    md += ["## cgreapd at scale (host, fake cgroup tree, --dry-run)", "", scale_md, ""]
    with open(os.path.join(args.results, "results.md"), "w") as f:
        f.write("\n".join(md))

    block = "\n".join([guest + " " + reps_s, "", summary, "", found])
    with open(os.path.join(args.results, "summary.md"), "w") as f:
        f.write(block + "\n")

    tmpl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README-results.md.in")
    with open(tmpl) as f:
        t = f.read()
    subst = {"@TABLE_" + s.upper().replace("-", "_") + "@": tables.get(s, "(not part of this run)")
             for s in SCENARIO_NAMES}
    subst.update({"@TABLE_SCALE@": scale_md, "@GUEST@": guest, "@REPS@": reps_s, "@RUNTIME@": runtime,
                  "@CAVEAT@": caveat, "@SUMMARY@": summary, "@FINDINGS@": found, "@WORK@": work})
    for k, v in subst.items():
        t = t.replace(k, v)
    left = re.findall(r"@[A-Z_]+@", t)
    if left:
        raise SystemExit(f"analyze: {tmpl}: unknown placeholders {' '.join(sorted(set(left)))}")
    with open(os.path.join(args.results, "README.md"), "w") as f:
        f.write(t)
    if args.readme:
        replace_block(args.readme, block)
    if not args.no_plot:
        plot(pairs, scenarios, agents, facts, os.path.join(args.results, "bench.png"))
        scale_plot(scale, os.path.join(args.results, "scale.png"))
    bad = [f"{s}/{a}" for (s, a), p in pairs.items() if p.state != "ok"]
    print(f"analyze: {len(reps)} repetitions of {len(pairs)} pairs -> {args.results}"
          + (f"; incomplete or missing: {' '.join(bad)}" if bad else ""))


if __name__ == "__main__":
    main()
