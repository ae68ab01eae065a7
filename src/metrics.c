/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* metrics: histograms and the Prometheus text. See metrics.h. */

#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"

const usec_t histogram_bounds_usec[HISTOGRAM_N_BOUNDS] = {
        1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000,
};

void histogram_add(Histogram *h, usec_t v) {
        size_t i = 0;

        while (i < HISTOGRAM_N_BOUNDS && v > histogram_bounds_usec[i])
                i++;
        h->buckets[i]++;
        h->count++;
        h->sum_usec += v;
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v) {
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, v);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRIu64 "\n", name, help, name, name, v);
}

static void seconds(FILE *f, usec_t v) {
        fprintf(f, "%" PRIu64 ".%06" PRIu64, v / USEC_PER_SEC, v % USEC_PER_SEC);
}

static void histogram(FILE *f, const char *name, const char *help, const Histogram *h) {
        uint64_t cum = 0;

        fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
        for (size_t i = 0; i < HISTOGRAM_N_BOUNDS; i++) {
                cum += h->buckets[i];
                fprintf(f, "%s_bucket{le=\"", name);
                seconds(f, histogram_bounds_usec[i]);
                fprintf(f, "\"} %" PRIu64 "\n", cum);
        }
        fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum ", name, h->count, name);
        seconds(f, h->sum_usec);
        fprintf(f, "\n%s_count %" PRIu64 "\n", name, h->count);
}

void metrics_format_prometheus(const Metrics *m, FILE *f) {
        counter(f, "cgreap_kills_total", "Kills sent (dry-run decisions not counted).", m->kills);
        counter(f, "cgreap_kill_failures_total", "Kills that reached no process.", m->failed);
        counter(f, "cgreap_kill_timeouts_total", "Victims still populated after KillTimeout=.",
                m->timed_out);
        counter(f, "cgreap_kernel_oom_kills_total", "Kernel OOM kills seen in monitored cgroups.",
                m->kernel_oom_kills);
        counter(f, "cgreap_freed_bytes_total", "Memory freed by kills, in bytes.", m->freed_bytes);
        gauge(f, "cgreap_dry_run", "1 when the daemon decides but never kills.", m->dry_run);
        gauge(f, "cgreap_monitors", "Monitored cgroups.", m->n_monitors);
        gauge(f, "cgreap_monitors_armed", "Monitors polling fast because of pressure.", m->n_armed);
        gauge(f, "cgreap_stuck_victims", "Victims that did not die, passed over for now.", m->n_stuck);
        histogram(f, "cgreap_kill_latency_seconds", "From the pressure event to the kill sent.",
                  &m->kill_latency);
        histogram(f, "cgreap_reclaim_seconds", "From the kill sent to the victim's cgroup empty.",
                  &m->reclaim_time);
}

int metrics_write_file(const Metrics *m, const char *path) {
        _cleanup_free_ char *d = strdup(path), *b = strdup(path), *tmp = NULL;
        _cleanup_close_ int dfd = -EBADF;
        const char *dir;
        FILE *f;
        int fd, r = 0;

        if (!d || !b)
                return -ENOMEM;
        dir = dirname(d);
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, basename(b)) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* node_exporter runs as another user. */
        if (fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w"))) {
                r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        metrics_format_prometheus(m, f);
        if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0)
                r = errno > 0 ? -errno : -EIO;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        /* The rename itself survives a crash only once the directory is synced. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
}
