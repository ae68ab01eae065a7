#!/usr/bin/python3
"""Turn the raw results of bench/run into bench/results/.

    analyze.py --work DIR --results DIR [--agents "a b"] [--scenarios "s t"]

Reads WORK/raw/SCENARIO/AGENT/bench/ (written by bench/guest/bench.sh in the
guest) and WORK/scale.tsv (bench/scale), and writes to RESULTS:
  reps.tsv      one line per repetition with every figure
  results.md    the tables (median and min-max over the repetitions)
  README.md     bench/README-results.md.in with the tables filled in
  bench.png     the plot
  configs/      the exact configuration every agent ran with
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
    "slice": "slice at MemoryMax",
    "cpu": "victim starved of CPU",
    "idle": "idle, 200 services",
}
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


def trace_events(path, pids):
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

    sigs = [s for s in trace_events(os.path.join(d, "trace.txt"), meta["pids"]) if s["t"] >= t0]
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
    if first:
        c = col[first["unit"] + "_mem"]
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
    if ep:
        r["psi_full_s"] = (ep[-1][col["global_full_us"]] - ep[0][col["global_full_us"]]) / 1e6
        r["psi_some_s"] = (ep[-1][col["global_some_us"]] - ep[0][col["global_some_us"]]) / 1e6
    else:
        r["psi_full_s"] = r["psi_some_s"] = None
    r["stall_ms"] = None
    if os.path.exists(os.path.join(d, "probe.txt")):
        with open(os.path.join(d, "probe.txt")) as f:
            p = f.read().split()
        probe = dict(zip(p[::2], p[1::2]))
        r["stall_ms"] = int(probe["max_us"]) / 1000 if "max_us" in probe else None
    r["episode_s"] = (t_end - t0) / 1e6
    return r


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


def pressure_table(reps, scenario, agents):
    lines = ["| agent | kernel OOM kills | killed, in order (by whom) | pressure onset → first kill (s) "
             "| kill → memory freed (s) | worst stall of the protected service (ms) | PSI full during the episode (s) "
             "| protected service alive |",
             "|---|---|---|---|---|---|---|---|"]
    for a in agents:
        rs = [r for r in reps if r["scenario"] == scenario and r["agent"] == a]
        if not rs:
            continue
        alive = sum(1 for r in rs if r["web_alive"])
        lines.append(f"| {AGENT_NAMES[a]} | {fmt([r['oom_kills'] for r in rs], 0)} | {common([r['killed'] for r in rs])} "
                     f"| {fmt([r['onset_to_kill_s'] for r in rs], 2)} | {freed_cell(rs)} "
                     f"| {fmt([r['stall_ms'] for r in rs], 0)} | {fmt([r['psi_full_s'] for r in rs], 2)} "
                     f"| {alive}/{len(rs)} |")
    return "\n".join(lines)


def idle_table(reps, agents):
    lines = ["| agent | CPU time per 30 s (ms) | context switches per 30 s | RSS (MiB) | of which locked (MiB) |",
             "|---|---|---|---|---|"]
    for a in agents:
        rs = [r for r in reps if r["scenario"] == "idle" and r["agent"] == a]
        if not rs:
            continue
        lines.append(f"| {AGENT_NAMES[a]} | {fmt([r['cpu_ms'] for r in rs], 0)} | {fmt([r['ctxsw'] for r in rs], 0)} "
                     f"| {fmt([r['rss_kb'] / 1024 for r in rs], 1)} | {fmt([r['vmlck_kb'] / 1024 for r in rs], 1)} |")
    return "\n".join(lines)


def scale_table(path):
    if not os.path.exists(path):
        return None, []
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        rows = [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
    lines = ["| cgroups | start-up to READY (ms) | VmRSS when ready (MiB) | VmRSS after decisions (MiB) "
             "| VmLck (MiB) | trigger → kill decision, CGREAP_DECISION_USEC (ms) | memory.events write → record on stderr (ms) | samples |",
             "|---|---|---|---|---|---|---|---|"]
    for n in sorted({int(r["cgroups"]) for r in rows}):
        rs = [r for r in rows if int(r["cgroups"]) == n]
        starts = {r["rep"]: r for r in rs}.values()
        lines.append(f"| {n:,} | {fmt([float(r['startup_ms']) for r in starts], 1)} "
                     f"| {fmt([int(r['rss_ready_kb']) / 1024 for r in starts], 1)} "
                     f"| {fmt([int(r['rss_after_kb']) / 1024 for r in starts], 1)} "
                     f"| {fmt([int(r['vmlck_kb']) / 1024 for r in starts], 1)} "
                     f"| {fmt([int(r['decision_usec']) / 1000 for r in rs], 1)} "
                     f"| {fmt([int(r['event_to_record_usec']) / 1000 for r in rs], 1)} "
                     f"| {len(starts)} starts × {len(rs) // max(1, len(starts))} decisions |")
    return "\n".join(lines), rows


def plot(reps, scenarios, agents, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"kernel": "#7f7f7f", "cgreap": "#d62728", "earlyoom": "#1f77b4", "nohang": "#2ca02c",
              "systemd-oomd": "#9467bd"}
    ps = [s for s in scenarios if s != "idle" and any(r["scenario"] == s for r in reps)]
    panels = [
        ("oom_kills", "kernel OOM kills (count)", None),
        ("onset_to_kill_s", "pressure onset → first kill (s)", None),
        ("freed_s", "kill → victim's memory freed (s; log, 20 ms resolution)", 0.01),
        ("stall_ms", "worst stall of the protected service (ms; log)", 1.0),
        ("psi_full_s", "PSI memory full during the episode (s)", None),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    width = 0.8 / max(1, len(agents))
    for ax, (key, title, floor) in zip(axes.flat, panels):
        for i, a in enumerate(agents):
            xs, ys, lo, hi = [], [], [], []
            for k, s in enumerate(ps):
                rs = [r for r in reps if r["scenario"] == s and r["agent"] == a]
                vals = [r[key] for r in rs if r.get(key) is not None]
                held = key == "freed_s" and any(r.get("not_freed_s") is not None for r in rs)
                if held:        # never freed: at least as long as we looked
                    vals += [r["not_freed_s"] for r in rs if r.get("not_freed_s") is not None]
                if not vals:
                    continue
                if held:
                    ax.text(k + (i - (len(agents) - 1) / 2) * width, max(vals), "not\nfreed", ha="center",
                            va="bottom", fontsize=7)
                if floor:       # log scale: nothing below the resolution
                    vals = [max(v, floor) for v in vals]
                m = statistics.median(vals)
                xs.append(k + (i - (len(agents) - 1) / 2) * width)
                ys.append(m)
                lo.append(m - min(vals))
                hi.append(max(vals) - m)
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, color=colors.get(a))
        ax.set_xticks(range(len(ps)))
        ax.set_xlim(-0.5, len(ps) - 0.5)
        ax.set_xticklabels([SCENARIO_NAMES[s] for s in ps], fontsize=8)
        ax.set_title(title, fontsize=10)
        if floor:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    ax = axes.flat[5]
    ia = [a for a in agents if any(r["scenario"] == "idle" and r["agent"] == a for r in reps)]
    for i, a in enumerate(ia):
        vals = [r["cpu_ms"] for r in reps if r["scenario"] == "idle" and r["agent"] == a]
        m = statistics.median(vals)
        ax.bar(i, m, 0.6, yerr=[[m - min(vals)], [max(vals) - m]], capsize=3, color=colors.get(a))
        ax.text(i, m, f"{m:.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(ia)))
    ax.set_xticklabels([AGENT_NAMES[a].split(" ")[0] for a in ia], fontsize=8)
    ax.set_title("idle with 200 services: agent CPU time per 30 s (ms)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    from matplotlib.patches import Patch
    fig.legend([Patch(color=colors.get(a)) for a in agents], [AGENT_NAMES[a] for a in agents],
               loc="upper center", ncol=len(agents), fontsize=10)
    fig.suptitle("Emulated guest (TCG, ~16x slower than the host): compare agents within a panel, "
                 "not absolute times. Bars: median; whiskers: min–max over the repetitions.",
                 fontsize=9, y=0.935)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--agents", default=" ".join(AGENT_NAMES))
    ap.add_argument("--scenarios", default=" ".join(SCENARIO_NAMES))
    args = ap.parse_args()
    agents, scenarios = args.agents.split(), args.scenarios.split()
    raw = os.path.join(args.work, "raw")

    reps, metas = [], {}
    for s in scenarios:
        for a in agents:
            b = os.path.join(raw, s, a, "bench")
            if not os.path.isdir(b):
                continue
            metas[(s, a)] = kv_file(os.path.join(b, "meta.txt"))
            for e in sorted(os.listdir(b)):
                if not e.startswith("rep-"):
                    continue
                r = analyze_idle(a, os.path.join(b, e)) if s == "idle" else analyze_rep(s, a, os.path.join(b, e))
                if r:
                    reps.append(r)
            # The exact configuration files, once per agent.
            cdst = os.path.join(args.results, "configs", a)
            if os.path.isdir(os.path.join(b, "config")) and not os.path.exists(cdst + ".done"):
                shutil.rmtree(cdst, ignore_errors=True)
                shutil.copytree(os.path.join(b, "config"), cdst)
                open(cdst + ".done", "w").close()
    for a in agents:
        if os.path.exists(os.path.join(args.results, "configs", a + ".done")):
            os.unlink(os.path.join(args.results, "configs", a + ".done"))

    os.makedirs(args.results, exist_ok=True)
    keys = ["scenario", "agent", "rep", "end", "oom_kills", "killed", "onset_s", "first_kill_s", "onset_to_kill_s",
            "freed_s", "not_freed_s", "stall_ms", "psi_full_s", "psi_some_s", "web_alive", "episode_s", "observer_gap_ms",
            "cpu_ms", "ctxsw", "rss_kb", "vmlck_kb"]
    with open(os.path.join(args.results, "reps.tsv"), "w") as f:
        f.write("\t".join(keys) + "\n")
        for r in reps:
            f.write("\t".join("" if r.get(k) is None else (f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]))
                              for k in keys) + "\n")

    n_reps = Counter((r["scenario"], r["agent"]) for r in reps)
    tables = {}
    for s in scenarios:
        if s == "idle":
            tables[s] = idle_table(reps, agents)
        else:
            tables[s] = pressure_table(reps, s, agents)
    scale, _ = scale_table(os.path.join(args.work, "scale.tsv"))
    kernel = next((m.get("kernel") for m in metas.values() if m.get("kernel")), "?")
    versions = {a: m.get("version") for (s, a), m in metas.items()}

    md = ["# cgreap beside earlyoom, systemd-oomd, nohang and the kernel OOM killer",
          "",
          "Generated by `bench/analyze.py` from the raw data of `bash bench/run`; see bench/README.md for what",
          "each scenario does and how each figure is measured. Guest: Debian 12, kernel " + kernel + ", 2 vCPUs, 2 GiB,",
          "emulated by qemu TCG (about 16 times slower than the host): **compare agents within one table, not",
          "absolute times.** Cells: median (min–max) over the repetitions; [k/n]: measured in k of n repetitions",
          "(e.g. no kill happened).",
          "",
          "Versions: " + ", ".join(f"{a}: {v}" for a, v in sorted(versions.items()) if v) + ".",
          ""]
    for s in scenarios:
        if not any(r["scenario"] == s for r in reps):
            continue
        counts = sorted({n for (ss, a), n in n_reps.items() if ss == s})
        md += [f"## {SCENARIO_NAMES[s]} ({'/'.join(map(str, counts))} repetitions per agent)", "", tables[s], ""]
    if scale:
        md += ["## cgreapd at scale (host, fake cgroup tree, --dry-run)", "", scale, ""]
    with open(os.path.join(args.results, "results.md"), "w") as f:
        f.write("\n".join(md))

    tmpl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README-results.md.in")
    if os.path.exists(tmpl):
        with open(tmpl) as f:
            t = f.read()
        for s in SCENARIO_NAMES:
            t = t.replace("@TABLE_" + s.upper() + "@", tables.get(s, "(not run)"))
        t = t.replace("@TABLE_SCALE@", scale or "(not run)")
        t = t.replace("@KERNEL@", kernel)
        findings = os.path.join(os.path.dirname(tmpl), "results-findings.md")
        t = t.replace("@FINDINGS@", open(findings).read().strip() if os.path.exists(findings) else "")
        with open(os.path.join(args.results, "README.md"), "w") as f:
            f.write(t)
    if reps:
        plot(reps, scenarios, agents, os.path.join(args.results, "bench.png"))
    print(f"analyze: {len(reps)} repetitions -> {args.results}")


if __name__ == "__main__":
    main()
