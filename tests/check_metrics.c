/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for metrics: histogram buckets at their bounds, and the
 * Prometheus text (cumulative buckets, seconds, +Inf = count). The text's
 * syntax is checked by promtool in tests/live-bus.sh. */

#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "test-util.h"

START_TEST(test_histogram_bounds) {
        Histogram h = {};

        histogram_add(&h, 0);                   /* first bucket */
        histogram_add(&h, 1000);                /* le is inclusive: still the first */
        histogram_add(&h, 1001);                /* the second */
        histogram_add(&h, 10000000);            /* the last bound */
        histogram_add(&h, 10000001);            /* +Inf */
        histogram_add(&h, UINT64_MAX / 2);      /* +Inf */
        ck_assert_uint_eq(h.buckets[0], 2);
        ck_assert_uint_eq(h.buckets[1], 1);
        ck_assert_uint_eq(h.buckets[HISTOGRAM_N_BOUNDS - 1], 1);
        ck_assert_uint_eq(h.buckets[HISTOGRAM_N_BOUNDS], 2);
        ck_assert_uint_eq(h.count, 6);
        ck_assert_uint_eq(h.sum_usec, 0 + 1000 + 1001 + 10000000 + 10000001 + UINT64_MAX / 2);
}
END_TEST

START_TEST(test_prometheus_text) {
        Metrics m = { .kills = 3, .freed_bytes = 1048576, .dry_run = true, .n_monitors = 2 };
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        histogram_add(&m.kill_latency, 2000);           /* 0.0025 bucket */
        histogram_add(&m.kill_latency, 300000);         /* 0.5 bucket */
        histogram_add(&m.kill_latency, 20000000);       /* +Inf only */

        f = open_memstream(&buf, &len);
        ck_assert_ptr_nonnull(f);
        metrics_format_prometheus(&m, f);
        ck_assert_int_eq(fclose(f), 0);

        ck_assert_ptr_nonnull(strstr(buf, "# TYPE cgreap_kills_total counter\ncgreap_kills_total 3\n"));
        ck_assert_ptr_nonnull(strstr(buf, "\ncgreap_freed_bytes_total 1048576\n"));
        ck_assert_ptr_nonnull(strstr(buf, "\ncgreap_dry_run 1\n"));
        ck_assert_ptr_nonnull(strstr(buf, "\ncgreap_monitors 2\n"));
        ck_assert_ptr_nonnull(strstr(buf, "# TYPE cgreap_kill_latency_seconds histogram\n"
                                          "cgreap_kill_latency_seconds_bucket{le=\"0.001000\"} 0\n"
                                          "cgreap_kill_latency_seconds_bucket{le=\"0.002500\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(buf, "cgreap_kill_latency_seconds_bucket{le=\"0.250000\"} 1\n"
                                          "cgreap_kill_latency_seconds_bucket{le=\"0.500000\"} 2\n"));
        ck_assert_ptr_nonnull(strstr(buf, "cgreap_kill_latency_seconds_bucket{le=\"10.000000\"} 2\n"
                                          "cgreap_kill_latency_seconds_bucket{le=\"+Inf\"} 3\n"
                                          "cgreap_kill_latency_seconds_sum 20.302000\n"
                                          "cgreap_kill_latency_seconds_count 3\n"));
        ck_assert_ptr_nonnull(strstr(buf, "cgreap_reclaim_seconds_bucket{le=\"+Inf\"} 0\n"
                                          "cgreap_reclaim_seconds_sum 0.000000\n"));
        free(buf);
}
END_TEST

/* MetricsFile=: the same text, mode 0644, replaced whole, and nothing
 * left behind when the directory is missing. */
START_TEST(test_write_file) {
        char dir[] = "/tmp/cgreap-check-metrics-XXXXXX", path[PATH_MAX], missing[PATH_MAX];
        _cleanup_free_ char *want = NULL, *got = NULL;
        size_t want_len = 0;
        Metrics m = { .kills = 3, .freed_bytes = 4096, .n_monitors = 1 };
        struct stat st;
        size_t n = 0;
        FILE *f;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/cgreap.prom", dir);
        snprintf(missing, sizeof missing, "%s/none/cgreap.prom", dir);

        f = open_memstream(&want, &want_len);
        metrics_format_prometheus(&m, f);
        fclose(f);

        ck_assert_int_eq(metrics_write_file(&(Metrics) {}, path), 0);
        ck_assert_int_eq(metrics_write_file(&m, path), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 0777, 0644);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_gt(getdelim(&got, &n, 0, f), 0);
        fclose(f);
        ck_assert_str_eq(got, want);

        ck_assert_int_eq(metrics_write_file(&m, missing), -ENOENT);

        /* Only cgreap.prom: no temporary file stays. */
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned files = 0;
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                files += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        ck_assert_uint_eq(files, 1);

        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_histogram_bounds);
        tcase_add_test(tc, test_prometheus_text);
        tcase_add_test(tc, test_write_file);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
