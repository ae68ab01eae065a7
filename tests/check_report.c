/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for report: every record kind through a capturing sink, the
 * stderr fallback line, and the catalog (parsed by journalctl itself, and
 * checked against the fields the records really carry). */

#include <check.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <syslog.h>

#include "parse-util.h"
#include "report.h"
#include "test-util.h"

#define CAPTURE_MAX 16

typedef struct Captured {
        int priority;
        struct iovec *iov;      /* copies, each NUL-terminated */
        size_t n;
} Captured;

static Captured cap[CAPTURE_MAX];
static size_t n_cap;

static void capture_sink(int priority, const struct iovec *iov, size_t n, void *userdata) {
        Captured *c;

        ck_assert_ptr_eq(userdata, cap);
        ck_assert_uint_lt(n_cap, CAPTURE_MAX);
        c = &cap[n_cap++];
        c->priority = priority;
        c->n = n;
        c->iov = calloc(n, sizeof *c->iov);
        ck_assert_ptr_nonnull(c->iov);
        for (size_t i = 0; i < n; i++) {
                c->iov[i].iov_base = strndup(iov[i].iov_base, iov[i].iov_len);
                ck_assert_ptr_nonnull(c->iov[i].iov_base);
                c->iov[i].iov_len = iov[i].iov_len;
        }
}

static void setup(void) {
        n_cap = 0;
        report_set_sink(capture_sink, cap);
}

static void teardown(void) {
        for (size_t i = 0; i < n_cap; i++) {
                for (size_t j = 0; j < cap[i].n; j++)
                        free(cap[i].iov[j].iov_base);
                free(cap[i].iov);
        }
        n_cap = 0;
        report_set_sink(NULL, NULL);
}

/* The value of FIELD in a captured record (NUL-terminated), or NULL. */
static const char *field(const Captured *c, const char *name) {
        return report_iov_find(c->iov, c->n, name, NULL);
}

#define assert_field(c, name, expected) do {                            \
                const char *_v = field((c), (name));                    \
                ck_assert_msg(_v, "field %s missing", (name));          \
                ck_assert_str_eq(_v, (expected));                       \
        } while (0)
#define assert_no_field(c, name) \
        ck_assert_msg(!field((c), (name)), "field %s present: %s", (name), field((c), (name)))

/* Each field once, and every one in FIELD=value form. */
static void assert_well_formed(const Captured *c) {
        for (size_t i = 0; i < c->n; i++) {
                const char *a = c->iov[i].iov_base, *eq = strchr(a, '=');

                ck_assert_msg(eq && eq > a, "malformed field '%s'", a);
                ck_assert_uint_eq(strlen(a), c->iov[i].iov_len);
                for (size_t j = i + 1; j < c->n; j++)
                        ck_assert_msg(strncmp(a, c->iov[j].iov_base, (size_t) (eq - a) + 1) != 0,
                                      "field '%.*s' twice", (int) (eq - a), a);
        }
        assert_field(c, "SYSLOG_IDENTIFIER", "cgreapd");
        ck_assert_ptr_nonnull(field(c, "MESSAGE"));
        ck_assert_int_eq(atoi(field(c, "PRIORITY")), c->priority);
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define GIB(x) ((uint64_t) ((x) * 1024.0 * 1024.0 * 1024.0))

static KillReport firefox_report(void) {
        return (KillReport) {
                .kill_id = 42,
                .cgroup = "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-3211.scope",
                .adj = 300,
                .adj_source = "rule 50-desktop.conf:7",
                .reason = REASON_THRASHING,
                .level = "medium",
                .evidence = "MemAvailable 4.00% (80.0M of 2.0G), no swap; refaults 150%/s",
                .monitor = "system",
                .monitor_cgroup = "/",
                .trigger = "some 10% 2s",
                .pressure_some_avg10 = 23.4,
                .pressure_full_avg10 = 4.06,
                .memory_bytes = GIB(1.25),
                .swap_bytes = GIB(0.15),
                .n_pids = 17,
                .method = "cgroup-kill",
                .decision_usec = 1234,
                .mrelease = 1,
                .freed_bytes = GIB(1.4),
                .empty_usec = 41 * USEC_PER_MSEC,
        };
}

START_TEST(test_kill_user_unit) {
        KillReport k = firefox_report();
        const Captured *c = &cap[0];

        ck_assert_int_eq(report_kill(&k), 0);
        ck_assert_uint_eq(n_cap, 1);
        assert_well_formed(c);

        ck_assert_int_eq(c->priority, LOG_WARNING);
        assert_field(c, "MESSAGE_ID", REPORT_MESSAGE_ID_KILL);
        assert_field(c, "PRIORITY", "4");
        assert_field(c, "MESSAGE",
                     "Killed app-firefox-3211.scope (adj 300, 1.4G): memory ran short and the page cache "
                     "thrashed on / (MemAvailable 4.00% (80.0M of 2.0G), no swap; refaults 150%/s; "
                     "medium pressure, woken by some 10% 2s)");
        assert_field(c, "OBJECT_SYSTEMD_USER_UNIT", "app-firefox-3211.scope");
        assert_field(c, "OBJECT_SYSTEMD_UNIT", "user@1000.service");

        assert_field(c, "CGREAP_KILL_ID", "42");
        assert_field(c, "CGREAP_CGROUP", k.cgroup);
        assert_field(c, "CGREAP_UNIT", "app-firefox-3211.scope");
        assert_field(c, "CGREAP_ADJ", "300");
        assert_field(c, "CGREAP_ADJ_SOURCE", "rule 50-desktop.conf:7");
        assert_field(c, "CGREAP_REASON", "thrashing");
        assert_field(c, "CGREAP_LEVEL", "medium");
        assert_field(c, "CGREAP_EVIDENCE", "MemAvailable 4.00% (80.0M of 2.0G), no swap; refaults 150%/s");
        assert_field(c, "CGREAP_MONITOR", "system");
        assert_field(c, "CGREAP_MONITOR_CGROUP", "/");
        assert_field(c, "CGREAP_TRIGGER", "some 10% 2s");
        assert_field(c, "CGREAP_PRESSURE_SOME_AVG10", "23.40");
        assert_field(c, "CGREAP_PRESSURE_FULL_AVG10", "4.06");
        assert_field(c, "CGREAP_MEMORY_BYTES", "1342177280");
        assert_field(c, "CGREAP_SWAP_BYTES", "161061273");
        assert_field(c, "CGREAP_PIDS", "17");
        assert_field(c, "CGREAP_METHOD", "cgroup-kill");
        assert_field(c, "CGREAP_DRY_RUN", "0");
        assert_field(c, "CGREAP_DECISION_USEC", "1234");

        /* Not known when the signal goes out: documented as absent. */
        assert_no_field(c, "CGREAP_FREED_BYTES");
        assert_no_field(c, "CGREAP_EMPTY_USEC");
        assert_no_field(c, "CGREAP_MRELEASE");
        assert_no_field(c, "CGREAP_TIMED_OUT");

        /* 3 header + 2 object units + 19 CGREAP_ + MESSAGE */
        ck_assert_uint_eq(c->n, 25);
}
END_TEST

START_TEST(test_kill_system_unit) {
        KillReport k = {
                .kill_id = 7,
                .cgroup = "/system.slice/batch.service",
                .adj = 800,
                .adj_source = "oom_score_adj",
                .reason = REASON_LIMIT,
                .level = "critical",
                .evidence = "limit headroom 1.00%",
                .monitor = "system",
                .monitor_cgroup = "/system.slice",
                .trigger = "full 10% 2s",
                .pressure_some_avg10 = 80,
                .pressure_full_avg10 = 31.5,
                .memory_bytes = 512 * 1024,
                .n_pids = 1,
                .method = "pidfd",
        };
        const Captured *c = &cap[0];

        ck_assert_int_eq(report_kill(&k), 0);
        ck_assert_uint_eq(n_cap, 1);
        assert_well_formed(c);
        assert_field(c, "OBJECT_SYSTEMD_UNIT", "batch.service");
        assert_no_field(c, "OBJECT_SYSTEMD_USER_UNIT");
        assert_field(c, "CGREAP_UNIT", "batch.service");
        assert_field(c, "CGREAP_REASON", "limit");
        assert_field(c, "CGREAP_LEVEL", "critical");
        assert_field(c, "CGREAP_METHOD", "pidfd");
        assert_field(c, "CGREAP_SWAP_BYTES", "0");
        assert_field(c, "MESSAGE",
                     "Killed batch.service (adj 800, 512K): the memory limit ran out on /system.slice "
                     "(limit headroom 1.00%; critical pressure, woken by full 10% 2s)");
        ck_assert_uint_eq(c->n, 24);
}
END_TEST

/* Which OBJECT_ fields a victim path gets, through the real record. */
START_TEST(test_unit_detection) {
        static const struct {
                const char *cgroup, *unit, *user_unit, *cgreap_unit, *name;
        } table[] = {
                { "/system.slice/nginx.service", "nginx.service", NULL, "nginx.service", "nginx.service" },
                /* A sub-cgroup of a service belongs to the service. */
                { "/system.slice/docker-1.scope/inner", "docker-1.scope", NULL, "docker-1.scope", "docker-1.scope" },
                /* The user manager itself is a system unit. */
                { "/user.slice/user-1000.slice/user@1000.service", "user@1000.service", NULL,
                  "user@1000.service", "user@1000.service" },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/victim.scope",
                  "user@1000.service", "victim.scope", "victim.scope", "victim.scope" },
                { "/user.slice/user-1000.slice/session-3.scope", "session-3.scope", NULL,
                  "session-3.scope", "session-3.scope" },
                /* Not systemd's: no unit, the name is the directory. */
                { "/machines/box", NULL, NULL, NULL, "box" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                KillReport k = { .kill_id = i, .cgroup = table[i].cgroup, .reason = REASON_MANUAL };
                _cleanup_free_ char *expected = NULL;
                const Captured *c;

                ck_assert_int_eq(report_kill(&k), 0);
                ck_assert_uint_eq(n_cap, i + 1);
                c = &cap[i];
                assert_well_formed(c);

                if (table[i].unit)
                        assert_field(c, "OBJECT_SYSTEMD_UNIT", table[i].unit);
                else
                        assert_no_field(c, "OBJECT_SYSTEMD_UNIT");
                if (table[i].user_unit)
                        assert_field(c, "OBJECT_SYSTEMD_USER_UNIT", table[i].user_unit);
                else
                        assert_no_field(c, "OBJECT_SYSTEMD_USER_UNIT");
                if (table[i].cgreap_unit)
                        assert_field(c, "CGREAP_UNIT", table[i].cgreap_unit);
                else
                        assert_no_field(c, "CGREAP_UNIT");

                ck_assert_int_ge(asprintf(&expected, "Killed %s (adj 0, 0B): requested manually",
                                          table[i].name), 0);
                assert_field(c, "MESSAGE", expected);
        }
}
END_TEST

START_TEST(test_user_manager_unit) {
        char *s = NULL;

        ck_assert_int_eq(report_user_manager_unit("/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope", &s), 0);
        ck_assert_str_eq(s, "user@1000.service");
        free(s);
        s = NULL;
        /* The first one owns the tree, even if a user unit is named alike. */
        ck_assert_int_eq(report_user_manager_unit("/user.slice/user-1.slice/user@1.service/user@x.service", &s), 0);
        ck_assert_str_eq(s, "user@1.service");
        free(s);
        s = NULL;
        ck_assert_int_eq(report_user_manager_unit("/system.slice/nginx.service", &s), -ENXIO);
        ck_assert_int_eq(report_user_manager_unit("/user@.service", &s), -ENXIO);
        ck_assert_int_eq(report_user_manager_unit("/", &s), -ENXIO);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_kill_dry_run) {
        KillReport k = firefox_report();
        const Captured *c = &cap[0];

        k.dry_run = true;
        ck_assert_int_eq(report_kill(&k), 0);
        ck_assert_uint_eq(n_cap, 1);
        assert_well_formed(c);
        ck_assert_int_eq(c->priority, LOG_NOTICE);
        assert_field(c, "CGREAP_DRY_RUN", "1");
        ck_assert_msg(startswith(field(c, "MESSAGE"), "Would kill app-firefox-3211.scope (adj 300, 1.4G): "),
                      "%s", field(c, "MESSAGE"));

        /* Nothing was reclaimed, so nothing is said. */
        ck_assert_int_eq(report_reclaimed(&k), 0);
        ck_assert_uint_eq(n_cap, 1);
}
END_TEST

START_TEST(test_reclaimed) {
        static const struct {
                int mrelease;
                const char *expected;
        } mr[] = { { 1, "yes" }, { 0, "no" }, { -ENOSYS, "unsupported" } };

        for (size_t i = 0; i < ELEMENTSOF(mr); i++) {
                KillReport k = firefox_report();
                const Captured *c;

                k.mrelease = mr[i].mrelease;
                ck_assert_int_eq(report_reclaimed(&k), 0);
                ck_assert_uint_eq(n_cap, i + 1);
                c = &cap[i];
                assert_well_formed(c);
                ck_assert_int_eq(c->priority, LOG_INFO);
                assert_field(c, "MESSAGE_ID", REPORT_MESSAGE_ID_RECLAIMED);
                assert_field(c, "MESSAGE", "Reclaimed app-firefox-3211.scope: freed 1.4G in 41ms");
                assert_field(c, "CGREAP_KILL_ID", "42");
                assert_field(c, "CGREAP_MRELEASE", mr[i].expected);
                assert_field(c, "CGREAP_FREED_BYTES", "1503238553");
                assert_field(c, "CGREAP_EMPTY_USEC", "41000");
                assert_field(c, "CGREAP_TIMED_OUT", "0");
                /* The kill fields are repeated, so either record tells all. */
                assert_field(c, "CGREAP_CGROUP", k.cgroup);
                assert_field(c, "CGREAP_REASON", "thrashing");
                assert_field(c, "CGREAP_METHOD", "cgroup-kill");
                assert_field(c, "CGREAP_DRY_RUN", "0");
                assert_field(c, "OBJECT_SYSTEMD_USER_UNIT", "app-firefox-3211.scope");
                /* 3 header + 2 object + 16 kill + 4 reclaim + MESSAGE */
                ck_assert_uint_eq(c->n, 29);
        }
}
END_TEST

START_TEST(test_reclaimed_timeout) {
        KillReport k = firefox_report();
        const Captured *c = &cap[0];

        k.timed_out = true;
        k.freed_bytes = 0;
        k.empty_usec = 5 * USEC_PER_SEC;
        ck_assert_int_eq(report_reclaimed(&k), 0);
        ck_assert_uint_eq(n_cap, 1);
        assert_well_formed(c);
        ck_assert_int_eq(c->priority, LOG_WARNING);
        assert_field(c, "CGREAP_TIMED_OUT", "1");
        /* How long it was waited for: the catalog text uses it. */
        assert_field(c, "CGREAP_EMPTY_USEC", "5000000");
        assert_field(c, "MESSAGE", "app-firefox-3211.scope is still populated 5s after the kill (freed 0B so far)");
        /* the same fields as a reclaimed record that did empty */
        ck_assert_uint_eq(c->n, 29);

        /* A measured wait is rounded for the reader. */
        k.empty_usec = 3010198;
        ck_assert_int_eq(report_reclaimed(&k), 0);
        assert_field(&cap[1], "MESSAGE",
                     "app-firefox-3211.scope is still populated 3.01s after the kill (freed 0B so far)");
        assert_field(&cap[1], "CGREAP_EMPTY_USEC", "3010198");
}
END_TEST

/* MESSAGE durations: rounded to what a reader needs, the exact value in
 * CGREAP_EMPTY_USEC=. */
START_TEST(test_elapsed_rounding) {
        static const struct {
                usec_t usec;
                const char *text;
        } table[] = {
                { 0, "0us" },
                { 850, "850us" },
                { 1499, "1ms" },
                { 41 * USEC_PER_MSEC + 400, "41ms" },
                { 999600, "1s" },
                { 1500 * USEC_PER_MSEC, "1.5s" },
                { 3010198, "3.01s" },
                { 5 * USEC_PER_SEC + 4000, "5s" },
                { 12345678, "12.35s" },
                { 120 * USEC_PER_SEC + 200000, "2min" },
                { 125 * USEC_PER_SEC, "2min 5s" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                KillReport k = { .cgroup = "/a.service", .empty_usec = table[i].usec };
                _cleanup_free_ char *expected = NULL;
                char exact[32];

                ck_assert_int_eq(report_reclaimed(&k), 0);
                ck_assert_uint_eq(n_cap, i + 1);
                ck_assert_int_ge(asprintf(&expected, "Reclaimed a.service: freed 0B in %s", table[i].text), 0);
                assert_field(&cap[i], "MESSAGE", expected);
                snprintf(exact, sizeof exact, "%" PRIu64, table[i].usec);
                assert_field(&cap[i], "CGREAP_EMPTY_USEC", exact);
        }
}
END_TEST

/* Optional strings are NULL: no crash, fields omitted, MESSAGE still says something. */
START_TEST(test_null_strings) {
        KillReport k = { .reason = REASON_MANUAL, .mrelease = -EINVAL };
        const Captured *c;

        ck_assert_int_eq(report_kill(&k), 0);
        ck_assert_int_eq(report_reclaimed(&k), 0);
        ck_assert_uint_eq(n_cap, 2);

        c = &cap[0];
        assert_well_formed(c);
        assert_field(c, "MESSAGE", "Killed (unknown) (adj 0, 0B): requested manually");
        assert_field(c, "CGREAP_REASON", "manual");
        for (const char *const *f = (const char *const[]) {
                        "CGREAP_CGROUP", "CGREAP_UNIT", "CGREAP_ADJ_SOURCE", "CGREAP_MONITOR",
                        "CGREAP_MONITOR_CGROUP", "CGREAP_TRIGGER", "CGREAP_METHOD",
                        "OBJECT_SYSTEMD_UNIT", "OBJECT_SYSTEMD_USER_UNIT", NULL }; *f; f++) {
                assert_no_field(&cap[0], *f);
                assert_no_field(&cap[1], *f);
        }
        assert_field(&cap[1], "CGREAP_MRELEASE", "unsupported");
        assert_field(&cap[1], "MESSAGE", "Reclaimed (unknown): freed 0B in 0us");

        /* Rows without evidence text, level, trigger or monitor cgroup read naturally too. */
        k.reason = REASON_LOW_MEMORY_AND_SWAP;
        k.cgroup = "/a.service";
        ck_assert_int_eq(report_kill(&k), 0);
        assert_field(&cap[2], "MESSAGE", "Killed a.service (adj 0, 0B): memory and swap ran out ()");
        k.reason = REASON_OOM;
        ck_assert_int_eq(report_kill(&k), 0);
        assert_field(&cap[3], "MESSAGE",
                     "Killed a.service (adj 0, 0B): the kernel found nothing more to reclaim (memory.events oom) ()");

        ck_assert_int_eq(report_kill(NULL), -EINVAL);
        ck_assert_int_eq(report_reclaimed(NULL), -EINVAL);
        ck_assert_uint_eq(n_cap, 4);
}
END_TEST

START_TEST(test_numbers) {
        KillReport k = {
                .kill_id = UINT64_MAX,
                .cgroup = "/x.service",
                .adj = -1000,
                .reason = REASON_OOM,
                .monitor_cgroup = "/system.slice",
                .trigger = "memory.events max",
                .pressure_some_avg10 = 0.126,
                .pressure_full_avg10 = 100,
                .memory_bytes = UINT64_MAX,
                .swap_bytes = UINT64_MAX,
                .n_pids = SIZE_MAX,
                .empty_usec = 1500 * USEC_PER_MSEC,
                .freed_bytes = 10 * 1024 * 1024,
        };
        char buf[64];
        const Captured *c = &cap[0];

        ck_assert_int_eq(report_kill(&k), 0);
        assert_well_formed(c);
        assert_field(c, "CGREAP_KILL_ID", "18446744073709551615");
        assert_field(c, "CGREAP_ADJ", "-1000");
        assert_field(c, "CGREAP_PRESSURE_SOME_AVG10", "0.13");
        assert_field(c, "CGREAP_PRESSURE_FULL_AVG10", "100.00");
        assert_field(c, "CGREAP_MEMORY_BYTES", "18446744073709551615");
        snprintf(buf, sizeof buf, "%zu", (size_t) SIZE_MAX);
        assert_field(c, "CGREAP_PIDS", buf);
        /* memory + swap saturates instead of wrapping to a tiny footprint */
        assert_field(c, "MESSAGE", "Killed x.service (adj -1000, 16E): the kernel found nothing more to reclaim "
                     "(memory.events oom) on /system.slice (woken by memory.events max)");

        ck_assert_int_eq(report_reclaimed(&k), 0);
        assert_field(&cap[1], "MESSAGE", "Reclaimed x.service: freed 10M in 1.5s");
        assert_field(&cap[1], "CGREAP_EMPTY_USEC", "1500000");
}
END_TEST

START_TEST(test_kernel_oom) {
        const Captured *c = &cap[0];

        ck_assert_int_eq(report_kernel_oom("services", "/system.slice", "/system.slice", 1, 3), 0);
        ck_assert_int_eq(report_kernel_oom("system", "/", "/user.slice", 2, 5), 0);
        ck_assert_int_eq(report_kernel_oom(NULL, NULL, NULL, 1, 1), 0);
        ck_assert_int_eq(report_kernel_oom("system", "/", "/machine.slice", 1, UINT64_MAX), 0);
        ck_assert_uint_eq(n_cap, 4);

        assert_well_formed(c);
        ck_assert_int_eq(c->priority, LOG_WARNING);
        assert_field(c, "MESSAGE_ID", REPORT_MESSAGE_ID_KERNEL_OOM);
        assert_field(c, "CGREAP_MONITOR", "services");
        assert_field(c, "CGREAP_MONITOR_CGROUP", "/system.slice");
        assert_field(c, "CGREAP_OOM_KILLS", "1");
        assert_field(c, "CGREAP_OOM_KILLS_TOTAL", "3");
        assert_field(c, "CGREAP_CGROUP", "/system.slice");
        assert_field(c, "OBJECT_SYSTEMD_UNIT", "system.slice");
        assert_field(c, "MESSAGE", "Kernel OOM killer killed 1 process in /system.slice (monitor services) "
                     "(3 since the cgroup was created)");

        assert_well_formed(&cap[1]);
        assert_no_field(&cap[1], "OBJECT_SYSTEMD_UNIT");
        /* "/" has no memory.events: the top-level cgroup that counted it,
         * and /proc/vmstat's total since boot. */
        assert_field(&cap[1], "CGREAP_CGROUP", "/user.slice");
        assert_field(&cap[1], "CGREAP_MONITOR_CGROUP", "/");
        assert_field(&cap[1], "MESSAGE", "Kernel OOM killer killed 2 processes in /user.slice (monitor system) "
                     "(5 on the machine since boot)");

        assert_well_formed(&cap[2]);
        assert_no_field(&cap[2], "CGREAP_MONITOR");
        assert_field(&cap[2], "MESSAGE", "Kernel OOM killer killed 1 process in a monitored cgroup "
                     "(1 since the cgroup was created)");

        assert_well_formed(&cap[3]);
        assert_no_field(&cap[3], "CGREAP_OOM_KILLS_TOTAL");
        assert_field(&cap[3], "MESSAGE", "Kernel OOM killer killed 1 process in /machine.slice (monitor system)");
}
END_TEST

START_TEST(test_nothing_eligible) {
        const Captured *c = &cap[0];

        ck_assert_int_eq(report_nothing_eligible("system", "/", "medium", REASON_LOW_MEMORY_AND_SWAP,
                                                 "MemAvailable 1.00%", "some 10% 2s", 200, 4), 0);
        ck_assert_int_eq(report_nothing_eligible(NULL, NULL, NULL, REASON_OOM, NULL, NULL, 0, 1), 0);
        ck_assert_uint_eq(n_cap, 2);

        assert_well_formed(c);
        ck_assert_int_eq(c->priority, LOG_NOTICE);
        assert_field(c, "MESSAGE_ID", REPORT_MESSAGE_ID_NOTHING_ELIGIBLE);
        assert_field(c, "CGREAP_MONITOR", "system");
        assert_field(c, "CGREAP_MONITOR_CGROUP", "/");
        assert_field(c, "CGREAP_REASON", "low-memory-and-swap");
        assert_field(c, "CGREAP_LEVEL", "medium");
        assert_field(c, "CGREAP_EVIDENCE", "MemAvailable 1.00%");
        assert_field(c, "CGREAP_TRIGGER", "some 10% 2s");
        assert_field(c, "CGREAP_MIN_ADJ", "200");
        assert_field(c, "CGREAP_CANDIDATES", "4");
        assert_field(c, "MESSAGE", "Nothing to kill on /: memory and swap ran out at medium pressure, "
                     "but none of 4 candidates has adj >= 200");

        assert_well_formed(&cap[1]);
        assert_no_field(&cap[1], "CGREAP_TRIGGER");
        assert_no_field(&cap[1], "CGREAP_LEVEL");
        assert_field(&cap[1], "CGREAP_REASON", "oom");
        assert_field(&cap[1], "MESSAGE",
                     "Nothing to kill on a monitored cgroup: the kernel found nothing more to reclaim "
                     "(memory.events oom), but none of 1 candidate has adj >= 0");
}
END_TEST

START_TEST(test_reason_strings) {
        ck_assert_str_eq(report_reason_to_string(REASON_LOW_MEMORY_AND_SWAP), "low-memory-and-swap");
        ck_assert_str_eq(report_reason_to_string(REASON_LIMIT), "limit");
        ck_assert_str_eq(report_reason_to_string(REASON_THRASHING), "thrashing");
        ck_assert_str_eq(report_reason_to_string(REASON_STALL), "stall");
        ck_assert_str_eq(report_reason_to_string(REASON_OOM), "oom");
        ck_assert_str_eq(report_reason_to_string(REASON_MANUAL), "manual");
        ck_assert_ptr_null(report_reason_to_string((ReportReason) 99));
        ck_assert_ptr_null(report_reason_to_string((ReportReason) -1));
}
END_TEST

START_TEST(test_format_line) {
        KillReport k = firefox_report();
        _cleanup_free_ char *line = NULL;

        k.cgroup = "/evil\n.service";
        ck_assert_int_eq(report_kill(&k), 0);
        ck_assert_int_eq(report_format_line(cap[0].iov, cap[0].n, &line), 0);

        /* For people, MESSAGE is escaped; the journal field keeps the bytes. */
        assert_field(&cap[0], "CGREAP_CGROUP", "/evil\n.service");
        ck_assert_msg(startswith(field(&cap[0], "MESSAGE"), "Killed evil\\n.service "), "%s", field(&cap[0], "MESSAGE"));
        ck_assert_msg(startswith(line, "Killed evil\\n.service (adj 300, 1.4G): "), "%s", line);
        ck_assert_ptr_null(strchr(line, '\n'));
        ck_assert_ptr_nonnull(strstr(line, " CGREAP_KILL_ID=42 "));
        ck_assert_ptr_nonnull(strstr(line, " CGREAP_CGROUP=/evil\\n.service "));
        ck_assert_ptr_nonnull(strstr(line, " CGREAP_TRIGGER=\"some 10% 2s\" "));
        ck_assert_ptr_nonnull(strstr(line, " CGREAP_ADJ_SOURCE=\"rule 50-desktop.conf:7\" "));
        ck_assert_msg(strstr(line, " CGREAP_DECISION_USEC=1234") ==
                      line + strlen(line) - strlen(" CGREAP_DECISION_USEC=1234"), "%s", line);
        /* Journal plumbing stays out of the human line. */
        ck_assert_ptr_null(strstr(line, "MESSAGE_ID"));
        ck_assert_ptr_null(strstr(line, "PRIORITY"));
        ck_assert_ptr_null(strstr(line, "OBJECT_SYSTEMD"));
}
END_TEST

/* Without journald's socket the default sink writes that line to stderr. */
START_TEST(test_default_sink_stderr) {
        KillReport k = firefox_report();
        char path[] = "/tmp/cgreap-report-XXXXXX", buf[4096];
        int fd, saved;
        ssize_t l;

        if (access("/run/systemd/journal/socket", F_OK) >= 0) {
                fprintf(stderr, "journald is running here: the stderr fallback is not exercised\n");
                return;
        }

        fd = mkostemp(path, O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        (void) unlink(path);
        fflush(stderr);
        saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        ck_assert_int_ge(saved, 0);
        ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);

        report_set_sink(NULL, NULL);
        k.cgroup = "/system.slice/web.service";
        int r = report_kill(&k);
        fflush(stderr);
        ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
        close(saved);
        ck_assert_int_eq(r, 0);

        l = pread(fd, buf, sizeof buf - 1, 0);
        close(fd);
        ck_assert_int_gt(l, 0);
        buf[l] = 0;
        ck_assert_msg(startswith(buf, "Killed web.service (adj 300, 1.4G): memory ran short and the page cache thrashed on / "), "%s", buf);
        ck_assert_ptr_nonnull(strstr(buf, " CGREAP_UNIT=web.service "));
        ck_assert_int_eq(buf[l - 1], '\n');
        ck_assert_ptr_eq(strchr(buf, '\n'), buf + l - 1);
}
END_TEST

static char *catalog_path(void) {
        const char *top = getenv("top_srcdir");
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/catalog/cgreap.catalog", top ? top : ".."), 0);
        return p;
}

static int run(const char *cmd) {
        int r = system(cmd);

        return r < 0 ? -1 : WIFEXITED(r) ? WEXITSTATUS(r) : 128;
}

static bool have_journalctl(void) {
        return run("journalctl --version >/dev/null 2>&1") == 0;
}

/* journalctl itself parses the catalog: a malformed entry fails
 * --update-catalog; --list-catalog shows the four subjects. Only added
 * when journalctl exists (main() says SKIP otherwise). */
START_TEST(test_catalog_journalctl) {
        _cleanup_free_ char *src = catalog_path(), *dir = test_mkdtemp(), *cmd = NULL, *out = NULL;
        char buf[8192] = "";
        FILE *f;

        ck_assert_ptr_nonnull(dir);
        ck_assert_int_eq(access(src, R_OK), 0);

        ck_assert_int_eq(test_mkdir_p(dir, "usr/lib/systemd/catalog"), 0);
        ck_assert_int_ge(asprintf(&cmd, "cp '%s' '%s/usr/lib/systemd/catalog/' && "
                                  "journalctl --root='%s' --update-catalog && "
                                  "journalctl --root='%s' --list-catalog > '%s/list'",
                                  src, dir, dir, dir, dir), 0);
        ck_assert_int_eq(run(cmd), 0);

        ck_assert_int_ge(asprintf(&out, "%s/list", dir), 0);
        f = fopen(out, "re");
        ck_assert_ptr_nonnull(f);
        size_t l = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[l] = 0;

        ck_assert_ptr_nonnull(strstr(buf, REPORT_MESSAGE_ID_KILL " cgreap: cgreapd killed @CGREAP_CGROUP@"));
        ck_assert_ptr_nonnull(strstr(buf, REPORT_MESSAGE_ID_RECLAIMED " cgreap: "));
        ck_assert_ptr_nonnull(strstr(buf, REPORT_MESSAGE_ID_KERNEL_OOM " cgreap: "));
        ck_assert_ptr_nonnull(strstr(buf, REPORT_MESSAGE_ID_NOTHING_ELIGIBLE " cgreap: "));
        /* exactly four entries */
        size_t lines = 0;
        for (const char *p = buf; (p = strchr(p, '\n')); p++)
                lines++;
        ck_assert_uint_eq(lines, 4);

        test_rm_rf(dir);
}
END_TEST

/* Every @FIELD@ a catalog entry uses is a field its record really has, so
 * "journalctl -x" never shows a raw @FIELD@. */
START_TEST(test_catalog_fields) {
        _cleanup_free_ char *src = catalog_path(), *text = NULL;
        size_t size = 0, n_entries = 0;
        KillReport k = firefox_report();
        const Captured *current = NULL;
        FILE *f;

        f = fopen(src, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(getdelim(&text, &size, '\0', f), 0);
        fclose(f);

        /* One fully populated record of each kind, and the reclaimed
         * record of a kill that timed out: one catalog text serves both. */
        ck_assert_int_eq(report_kill(&k), 0);
        ck_assert_int_eq(report_reclaimed(&k), 0);
        ck_assert_int_eq(report_kernel_oom("system", "/", "/user.slice", 1, 1), 0);
        ck_assert_int_eq(report_nothing_eligible("system", "/", "medium", REASON_LOW_MEMORY_AND_SWAP,
                                                 "MemAvailable 1.00%", "some 10% 2s", 0, 1), 0);
        k.timed_out = true;
        ck_assert_int_eq(report_reclaimed(&k), 0);
        ck_assert_uint_eq(n_cap, 5);

        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "-- ", 3) == 0) {
                        current = NULL;
                        for (size_t i = 0; i < n_cap && !current; i++)
                                if (streq(field(&cap[i], "MESSAGE_ID"), line + 3))
                                        current = &cap[i];
                        ck_assert_msg(current, "catalog entry %s has no record", line + 3);
                        n_entries++;
                        continue;
                }
                if (line[0] == '#' || !current)
                        continue;
                for (char *p = line; (p = strchr(p, '@')); ) {
                        char *end = strchr(p + 1, '@');
                        char name[64];

                        ck_assert_msg(end, "unbalanced @ in '%s'", line);
                        ck_assert_uint_lt((size_t) (end - p - 1), sizeof name);
                        snprintf(name, sizeof name, "%.*s", (int) (end - p - 1), p + 1);
                        /* every record of this MESSAGE_ID has it */
                        for (size_t i = 0; i < n_cap; i++)
                                if (streq(field(&cap[i], "MESSAGE_ID"), field(current, "MESSAGE_ID")))
                                        ck_assert_msg(field(&cap[i], name),
                                                      "catalog uses @%s@, a %s record (TIMED_OUT=%s) lacks it",
                                                      name, field(current, "MESSAGE_ID"),
                                                      field(&cap[i], "CGREAP_TIMED_OUT") ?: "-");
                        p = end + 1;
                }
        }
        ck_assert_uint_eq(n_entries, 4);
}
END_TEST

static Suite *report_suite(bool journalctl) {
        Suite *s = suite_create("report");
        TCase *tc = tcase_create("records");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_kill_user_unit);
        tcase_add_test(tc, test_kill_system_unit);
        tcase_add_test(tc, test_unit_detection);
        tcase_add_test(tc, test_user_manager_unit);
        tcase_add_test(tc, test_kill_dry_run);
        tcase_add_test(tc, test_reclaimed);
        tcase_add_test(tc, test_reclaimed_timeout);
        tcase_add_test(tc, test_elapsed_rounding);
        tcase_add_test(tc, test_null_strings);
        tcase_add_test(tc, test_numbers);
        tcase_add_test(tc, test_kernel_oom);
        tcase_add_test(tc, test_nothing_eligible);
        tcase_add_test(tc, test_reason_strings);
        tcase_add_test(tc, test_format_line);
        tcase_add_test(tc, test_default_sink_stderr);
        suite_add_tcase(s, tc);

        tc = tcase_create("catalog");
        tcase_add_checked_fixture(tc, setup, teardown);
        if (journalctl)
                tcase_add_test(tc, test_catalog_journalctl);
        tcase_add_test(tc, test_catalog_fields);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        bool journalctl = have_journalctl();
        SRunner *sr = srunner_create(report_suite(journalctl));
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        if (failed > 0)
                return 1;
        if (!journalctl) {
                /* The rest passed, but the catalog is not proven loadable. */
                printf("SKIP: journalctl not found: the catalog was not checked by journalctl --update-catalog\n");
                return 77;
        }
        return 0;
}
