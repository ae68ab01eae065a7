/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* metrics: the daemon's counters and time histograms, and their Prometheus
 * text form (for cgreapctl metrics and MetricsFile=). No logging. */

#include <stdio.h>
#include "macro.h"

/* Upper bounds of the histogram buckets, in µs; a last bucket (+Inf) follows.
 * From 1 ms (a kill decided from a fresh reading) to 10 s (KillTimeout='s
 * range), roughly ×2.5 apart. */
#define HISTOGRAM_N_BOUNDS 12U
extern const usec_t histogram_bounds_usec[HISTOGRAM_N_BOUNDS];

typedef struct Histogram {
        uint64_t buckets[HISTOGRAM_N_BOUNDS + 1];       /* not cumulative; the last is +Inf */
        uint64_t count;
        usec_t sum_usec;
} Histogram;

void histogram_add(Histogram *h, usec_t v);

typedef struct Metrics {
        uint64_t kills, failed, timed_out, kernel_oom_kills, freed_bytes;
        bool dry_run;
        size_t n_monitors, n_armed, n_stuck;
        Histogram kill_latency;         /* trigger event → kill sent */
        Histogram reclaim_time;         /* kill sent → cgroup empty */
} Metrics;

/* Prometheus text exposition format 0.0.4, one family after another. */
void metrics_format_prometheus(const Metrics *m, FILE *f);

/* Writes the text to path atomically for a reader that may look at any
 * time (node_exporter's textfile collector): a temporary file in the same
 * directory (not ending in .prom), fsync, rename. Returns 0 or -errno. */
int metrics_write_file(const Metrics *m, const char *path);
