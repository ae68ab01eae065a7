/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the decision arithmetic of monitor and manager: level
 * floors, trigger crossing on samples, the detector (polling history, stale
 * events against what was acted on, headroom and its lookahead), cooldown,
 * rate limits, and Cgroup= glob expansion over a fake tree. */

#include <check.h>

#include "manager.h"
#include "monitor.h"
#include "test-util.h"

static const PsiTrigger some_10pct_2s = { .kind = PSI_SOME, .stall_usec = 200000, .window_usec = 2000000 };
static const PsiTrigger full_5pct_2s = { .kind = PSI_FULL, .stall_usec = 100000, .window_usec = 2000000 };

START_TEST(test_level_floor) {
        MonitorConfig mc = { .medium_min_adj = 200, .critical_min_adj = 0 };

        ck_assert_int_eq(level_min_adj(&mc, LEVEL_MEDIUM), 200);
        ck_assert_int_eq(level_min_adj(&mc, LEVEL_CRITICAL), 0);
        /* Without pressure nothing is eligible, not even adj 1000. */
        ck_assert_int_gt(level_min_adj(&mc, LEVEL_NONE), 1000);
        ck_assert_str_eq(level_to_string(LEVEL_CRITICAL), "critical");
        ck_assert_str_eq(level_to_string(LEVEL_MEDIUM), "medium");
}
END_TEST

START_TEST(test_samples_cross) {
        PsiSample a = { .time = 1000000, .total = { 5000000, 1000000 } };
        PsiSample b = a;

        /* 200ms of "some" stall within 1s: crosses some 10% 2s */
        b.time = a.time + 1000000;
        b.total[PSI_SOME] = a.total[PSI_SOME] + 200000;
        ck_assert(psi_samples_cross(&a, &b, &some_10pct_2s));
        /* one microsecond less does not */
        b.total[PSI_SOME] -= 1;
        ck_assert(!psi_samples_cross(&a, &b, &some_10pct_2s));
        /* the kind matters: no "full" stall */
        b.total[PSI_SOME] += 1;
        ck_assert(!psi_samples_cross(&a, &b, &full_5pct_2s));
        b.total[PSI_FULL] = a.total[PSI_FULL] + 100000;
        ck_assert(psi_samples_cross(&a, &b, &full_5pct_2s));
        /* a span longer than the window never counts, however much stall */
        b.time = a.time + 2000001;
        b.total[PSI_SOME] = a.total[PSI_SOME] + 2000000;
        ck_assert(!psi_samples_cross(&a, &b, &some_10pct_2s));
        /* counters going backwards (a new cgroup with the same path) */
        b.time = a.time + 1000;
        b.total[PSI_SOME] = 0;
        ck_assert(!psi_samples_cross(&a, &b, &some_10pct_2s));
        /* time going backwards */
        ck_assert(!psi_samples_cross(&b, &a, &some_10pct_2s));
}
END_TEST

START_TEST(test_stale_event) {
        PsiSample last = { .time = 10000000, .total = { 1000000, 500000 } };
        PsiSample now = last;

        /* No look at all: trust the kernel. */
        now.time = last.time + 500000;
        ck_assert(!psi_event_is_stale(NULL, &now, &some_10pct_2s));
        /* Looked 0.5s ago and nothing stalled since: the kernel's window
         * still holds old stalls, the event is stale. */
        ck_assert(psi_event_is_stale(&last, &now, &some_10pct_2s));
        /* Less stall than the trigger's threshold since then: no crossing
         * of its own began after the action, still stale. */
        now.total[PSI_SOME] = last.total[PSI_SOME] + 199999;
        ck_assert(psi_event_is_stale(&last, &now, &some_10pct_2s));
        /* The threshold or more is fresh pressure. */
        now.total[PSI_SOME] = last.total[PSI_SOME] + 200000;
        ck_assert(!psi_event_is_stale(&last, &now, &some_10pct_2s));
        /* Between one and two windows later the kernel's window still
         * carries a share of the one before (seen in the guest: an event
         * 2.14s after a kill of a 2s trigger, from stalls before it). */
        now.total[PSI_SOME] = last.total[PSI_SOME] + 50000;
        now.time = last.time + 2140000;
        ck_assert(psi_event_is_stale(&last, &now, &some_10pct_2s));
        /* Older than two windows: cannot judge, not stale. */
        now.total[PSI_SOME] = last.total[PSI_SOME];
        now.time = last.time + 4000001;
        ck_assert(!psi_event_is_stale(&last, &now, &some_10pct_2s));
        /* Stale is judged on the trigger's own kind. */
        now.time = last.time + 100000;
        now.total[PSI_SOME] = last.total[PSI_SOME] + 1000000;
        ck_assert(psi_event_is_stale(&last, &now, &full_5pct_2s));
}
END_TEST

static PsiSample sample_at(usec_t t, uint64_t some, uint64_t full) {
        return (PsiSample) { .time = t, .total = { some, full } };
}

/* The bug this guards against: while armed, every poll used to become the
 * "last look" of the stale check, so a kernel event was compared against a
 * sample at most one PollInterval old and discarded unless a tenth of the
 * threshold had stalled in those 100ms. The kernel rate-limits a trigger to
 * one event per window, so the next chance came 2s later. */
START_TEST(test_stale_event_after_polls) {
        Detector d;
        PsiSample now;

        ck_assert_int_eq(detector_init(&d, 22), 0);
        detector_reset(&d);
        /* Armed at t=10s; 15ms of "some" stall per 100ms poll (15%). */
        for (unsigned i = 0; i <= 10; i++)
                detector_push(&d, &(PsiSample) { .time = 10000000 + i * 100000, .total = { 1000000 + i * 15000 } });
        now = sample_at(10000000 + 1050000, 1000000 + 10 * 15000 + 7500, 0);
        /* What the old code asked (against the last poll): stale. */
        ck_assert(psi_event_is_stale(&d.ring[(d.ring_start + d.ring_count - 1) % d.ring_size], &now,
                                     &some_10pct_2s));
        /* Nothing was acted on: the kernel's event is trusted. */
        ck_assert(!detector_event_is_stale(&d, LEVEL_MEDIUM, &now, &some_10pct_2s));
        ck_assert(!detector_event_is_stale(&d, LEVEL_CRITICAL, &now, &full_5pct_2s));
        detector_done(&d);
}
END_TEST

START_TEST(test_stale_event_acted) {
        Detector d;
        PsiSample fired = sample_at(20000000, 3000000, 1000000), now;

        ck_assert_int_eq(detector_init(&d, 22), 0);
        /* A medium event fired: a medium event 0.5s later with 10ms of new
         * stall re-reports what was acted on... */
        detector_note_fired(&d, LEVEL_MEDIUM, &fired);
        now = sample_at(fired.time + 500000, fired.total[PSI_SOME] + 10000, fired.total[PSI_FULL] + 10000);
        ck_assert(detector_event_is_stale(&d, LEVEL_MEDIUM, &now, &some_10pct_2s));
        /* ... but not a critical one: that level was never acted on. */
        ck_assert(!detector_event_is_stale(&d, LEVEL_CRITICAL, &now, &full_5pct_2s));
        /* 200ms (the threshold) of new stall is new pressure. */
        now.total[PSI_SOME] = fired.total[PSI_SOME] + 200000;
        ck_assert(!detector_event_is_stale(&d, LEVEL_MEDIUM, &now, &some_10pct_2s));
        /* Polls in between change nothing. */
        now.total[PSI_SOME] = fired.total[PSI_SOME] + 10000;
        detector_push(&d, &(PsiSample) { .time = now.time - 1000, .total = { now.total[PSI_SOME] } });
        ck_assert(detector_event_is_stale(&d, LEVEL_MEDIUM, &now, &some_10pct_2s));

        /* A kill ended: every level acted on that moment. */
        PsiSample done = sample_at(now.time + 100000, now.total[PSI_SOME], now.total[PSI_FULL]);
        detector_note_kill_done(&d, &done);
        now = sample_at(done.time + 800000, done.total[PSI_SOME] + 5000, done.total[PSI_FULL] + 5000);
        ck_assert(detector_event_is_stale(&d, LEVEL_MEDIUM, &now, &some_10pct_2s));
        ck_assert(detector_event_is_stale(&d, LEVEL_CRITICAL, &now, &full_5pct_2s));
        now.total[PSI_FULL] = done.total[PSI_FULL] + 100000;
        ck_assert(!detector_event_is_stale(&d, LEVEL_CRITICAL, &now, &full_5pct_2s));
        /* Once two windows have passed since, the kernel is trusted again. */
        now = sample_at(done.time + 4000001, done.total[PSI_SOME], done.total[PSI_FULL]);
        ck_assert(!detector_event_is_stale(&d, LEVEL_MEDIUM, &now, &some_10pct_2s));
        detector_done(&d);
}
END_TEST

START_TEST(test_detector_crosses) {
        Detector d;
        PsiSample now;

        ck_assert_int_eq(detector_init(&d, 22), 0);
        /* No history: nothing to compare with. */
        ck_assert(!detector_crosses(&d, &(PsiSample) { .time = 1000000, .total = { 9000000 } }, &some_10pct_2s));

        /* The arm point starts the history: from the first tick on, the
         * stall since then counts, over a span shorter than the window. */
        detector_reset(&d);
        detector_push(&d, &(PsiSample) { .time = 1000000, .total = { 500000 } });
        now = sample_at(1300000, 500000 + 200000, 0);
        ck_assert(detector_crosses(&d, &now, &some_10pct_2s));
        now.total[PSI_SOME] -= 1;
        ck_assert(!detector_crosses(&d, &now, &some_10pct_2s));

        /* The window slides: 3s of polls, 90ms of stall per 100ms in the
         * first second, none after. At 3.0s the oldest sample within 2s is
         * at 1.0s, after the stall. */
        detector_reset(&d);
        for (unsigned i = 0; i <= 30; i++) {
                now = sample_at(i * 100000, 90000 * MIN(i, 10u), 0);
                if (i == 20)
                        ck_assert(detector_crosses(&d, &now, &some_10pct_2s));
                if (i == 30)
                        ck_assert(!detector_crosses(&d, &now, &some_10pct_2s));
                detector_push(&d, &now);
        }

        /* After a kill, stall from before it does not count. */
        detector_reset(&d);
        detector_push(&d, &(PsiSample) { .time = 10000000, .total = { 0 } });
        detector_push(&d, &(PsiSample) { .time = 10500000, .total = { 400000 } });
        detector_note_kill_done(&d, &(PsiSample) { .time = 10600000, .total = { 450000 } });
        now = sample_at(10800000, 500000, 0);
        ck_assert(!detector_crosses(&d, &now, &some_10pct_2s));
        now.total[PSI_SOME] = 650000;
        ck_assert(detector_crosses(&d, &now, &some_10pct_2s));
        detector_done(&d);
}
END_TEST

#define MIB (1024ULL * 1024)

START_TEST(test_headroom_time_to_min) {
        const uint64_t limit = 2000 * MIB;      /* 2% = 40 MiB */
        HeadroomSample a = { .time = 1000000, .limit = limit, .avail = 100 * MIB };
        HeadroomSample b = { .time = 1100000, .limit = limit, .avail = 60 * MIB };
        usec_t left = 42;

        /* 40 MiB per 100ms, 20 MiB above the floor: 50ms. */
        ck_assert(headroom_time_to_min(&a, &b, 200, &left));
        ck_assert_uint_eq(left, 50000);
        /* At or below the floor: now. */
        b.avail = 40 * MIB;
        ck_assert(headroom_time_to_min(&a, &b, 200, &left));
        ck_assert_uint_eq(left, 0);
        /* Rising or flat: no rate, left untouched. */
        left = 42;
        b.avail = 100 * MIB;
        ck_assert(!headroom_time_to_min(&a, &b, 200, &left));
        b.avail = 150 * MIB;
        ck_assert(!headroom_time_to_min(&a, &b, 200, &left));
        ck_assert_uint_eq(left, 42);
        /* A new limit (memory.max changed) or time going backwards. */
        b.avail = 60 * MIB;
        b.limit = 4000 * MIB;
        ck_assert(!headroom_time_to_min(&a, &b, 200, &left));
        b.limit = limit;
        ck_assert(!headroom_time_to_min(&b, &a, 200, &left));
        /* Huge limits do not overflow. */
        HeadroomSample h1 = { .time = 0, .limit = UINT64_MAX - 1, .avail = UINT64_MAX / 2 };
        HeadroomSample h2 = { .time = 1000000, .limit = UINT64_MAX - 1, .avail = UINT64_MAX / 4 };
        ck_assert(headroom_time_to_min(&h1, &h2, 200, &left));
        ck_assert_uint_gt(left, 900000);
        ck_assert_uint_lt(left, 1000000);
        /* A byte in an hour, an exabyte left: never, not a wrapped number. */
        h1 = (HeadroomSample) { .time = 0, .limit = UINT64_MAX - 1, .avail = UINT64_MAX / 2 };
        h2 = (HeadroomSample) { .time = 3600 * USEC_PER_SEC, .limit = UINT64_MAX - 1, .avail = UINT64_MAX / 2 - 1 };
        ck_assert(headroom_time_to_min(&h1, &h2, 200, &left));
        ck_assert_uint_eq(left, USEC_INFINITY);
}
END_TEST

START_TEST(test_headroom_calm_next) {
        const uint64_t limit = 2000 * MIB;      /* 2% = 40 MiB */
        const usec_t floor = 100000, ceiling = 1000000, horizon = 2000000;
        HeadroomSample a = { .time = 10000000, .limit = limit, .avail = 1800 * MIB };
        HeadroomSample b = a;

        /* Ample and no rate yet: the ceiling. */
        ck_assert_uint_eq(headroom_calm_next(NULL, &a, 200, floor, ceiling, horizon), ceiling);
        /* 512 MiB above the floor fill in 500ms at 1 GiB/s. */
        a.avail = 552 * MIB;
        ck_assert_uint_eq(headroom_calm_next(NULL, &a, 200, floor, ceiling, horizon), 500000);
        /* Close to the floor, steady: the floor, not polling. */
        a.avail = 50 * MIB;
        b = a;
        b.time += floor;
        ck_assert_uint_eq(headroom_calm_next(&a, &b, 200, floor, ceiling, horizon), floor);
        /* Below the floor: arm. */
        b.avail = 39 * MIB;
        ck_assert_uint_eq(headroom_calm_next(NULL, &b, 200, floor, ceiling, horizon), 0);
        /* Falling 250 MiB/s (the guest's hog) to 1040 MiB: 4s left at that
         * rate, less at 1 GiB/s; then 2s left, within the horizon: arm. */
        a = (HeadroomSample) { .time = 10000000, .limit = limit, .avail = 1290 * MIB };
        b = (HeadroomSample) { .time = 11000000, .limit = limit, .avail = 1040 * MIB };
        ck_assert_uint_eq(headroom_calm_next(&a, &b, 200, floor, 5 * ceiling, horizon),
                          (usec_t) (1000 * MIB * 1000000.0 / HEADROOM_CALM_FILL_RATE));
        a = b;
        b = (HeadroomSample) { .time = 12000000, .limit = limit, .avail = 540 * MIB };
        ck_assert_uint_eq(headroom_calm_next(&a, &b, 200, floor, ceiling, horizon), 0);
        /* Falling faster than 1 GiB/s (4 GiB/s, 6s left): half of that. */
        a = (HeadroomSample) { .time = 10000000, .limit = 100000 * MIB, .avail = 30000 * MIB };
        b = (HeadroomSample) { .time = 11000000, .limit = 100000 * MIB, .avail = 26000 * MIB };
        ck_assert_uint_eq(headroom_calm_next(&a, &b, 200, floor, 10 * ceiling, horizon), 3000000);
        /* Rising: the fill rate alone. */
        ck_assert_uint_eq(headroom_calm_next(&b, &a, 200, floor, 100 * ceiling, horizon),
                          (usec_t) ((30000 - 2000) * MIB * 1000000.0 / HEADROOM_CALM_FILL_RATE));
}
END_TEST

START_TEST(test_headroom_lookahead) {
        const uint64_t limit = 2000 * MIB;
        const usec_t interval = 100000;
        Detector d;
        usec_t left = 0;

        ck_assert_int_eq(detector_init(&d, 4), 0);
        /* The first reading has no rate: above the floor is OK. */
        ck_assert_int_eq(detector_headroom(&d, &(HeadroomSample) { 1000000, limit, 300 * MIB }, 200, interval, &left),
                         HEADROOM_OK);
        /* Falling 200 MiB per 100ms: at 100 MiB it reaches 40 MiB in 30ms,
         * before the next look. */
        ck_assert_int_eq(detector_headroom(&d, &(HeadroomSample) { 1100000, limit, 100 * MIB }, 200, interval, &left),
                         HEADROOM_FALLING);
        ck_assert_uint_eq(left, 30000);
        /* Falling slowly (10 MiB per 100ms from 100 MiB): not yet. */
        ck_assert_int_eq(detector_headroom(&d, &(HeadroomSample) { 1200000, limit, 90 * MIB }, 200, interval, &left),
                         HEADROOM_OK);
        /* Below the floor: low, rate or not. */
        ck_assert_int_eq(detector_headroom(&d, &(HeadroomSample) { 1300000, limit, 39 * MIB }, 200, interval, &left),
                         HEADROOM_LOW);
        /* A late look (300ms after the previous one) expects the next one
         * that late too: 60 MiB above the floor at 100 MiB per 300ms is
         * 180ms away, within 300ms. */
        ck_assert_int_eq(detector_headroom(&d, &(HeadroomSample) { 1400000, limit, 200 * MIB }, 200, interval, &left),
                         HEADROOM_OK);
        ck_assert_int_eq(detector_headroom(&d, &(HeadroomSample) { 1700000, limit, 100 * MIB }, 200, interval, &left),
                         HEADROOM_FALLING);
        ck_assert_uint_eq(left, 180000);
        /* After a reset (a kill ended, or disarmed) the old reading is no
         * rate: the freed memory would look like a rise, and what came
         * before the kill says nothing about what comes after. */
        detector_reset(&d);
        ck_assert_int_eq(detector_headroom(&d, &(HeadroomSample) { 1800000, limit, 45 * MIB }, 200, interval, &left),
                         HEADROOM_OK);
        /* MinAvailable=0 turns it all off. */
        ck_assert_int_eq(detector_headroom(&d, &(HeadroomSample) { 1900000, limit, 0 }, 0, interval, &left),
                         HEADROOM_OK);
        detector_done(&d);
}
END_TEST

START_TEST(test_headroom) {
        ck_assert_uint_eq(headroom_permyriad(1000, 0), 10000);
        ck_assert_uint_eq(headroom_permyriad(1000, 980), 200);
        ck_assert_uint_eq(headroom_permyriad(1000, 1000), 0);
        ck_assert_uint_eq(headroom_permyriad(1000, 5000), 0);
        ck_assert_uint_eq(headroom_permyriad(0, 0), 0);
        /* huge limits do not overflow */
        ck_assert_uint_eq(headroom_permyriad(UINT64_MAX - 1, 0), 10000);
        ck_assert_uint_eq(headroom_permyriad(UINT64_MAX - 1, (UINT64_MAX - 1) / 2), 5000);
        /* 24 GiB with 400 MiB available: 1.62% */
        uint64_t total = 24ULL << 30;
        ck_assert_uint_eq(headroom_permyriad(total, total - (400ULL << 20)), 162);
}
END_TEST

START_TEST(test_cooldown) {
        const usec_t delay = 2 * USEC_PER_SEC;

        ck_assert(!cooldown_active(0, delay, 5 * USEC_PER_SEC));   /* never killed */
        ck_assert(cooldown_active(10 * USEC_PER_SEC, delay, 10 * USEC_PER_SEC));
        ck_assert(cooldown_active(10 * USEC_PER_SEC, delay, 12 * USEC_PER_SEC - 1));
        ck_assert(!cooldown_active(10 * USEC_PER_SEC, delay, 12 * USEC_PER_SEC));
        ck_assert(!cooldown_active(10 * USEC_PER_SEC, 0, 10 * USEC_PER_SEC));    /* PostKillDelay=0 */
}
END_TEST

START_TEST(test_kill_retry_interval) {
        /* 12 x KillTimeout=: a minute at the default 5s */
        ck_assert_uint_eq(kill_retry_interval(5 * USEC_PER_SEC), 60 * USEC_PER_SEC);
        ck_assert_uint_eq(kill_retry_interval(500 * USEC_PER_MSEC), 6 * USEC_PER_SEC);
        /* KillTimeout=0 waits forever: failed kills still need an end */
        ck_assert_uint_eq(kill_retry_interval(0), KILL_RETRY_FALLBACK_USEC);
        ck_assert_uint_eq(kill_retry_interval(USEC_INFINITY), KILL_RETRY_FALLBACK_USEC);
        /* saturates instead of wrapping to a short interval */
        ck_assert_uint_eq(kill_retry_interval(USEC_INFINITY / 2), USEC_INFINITY);
}
END_TEST

START_TEST(test_ratelimit) {
        usec_t last = 0;
        const usec_t iv = NOTHING_ELIGIBLE_INTERVAL_USEC;

        ck_assert(ratelimit_pass(&last, iv, 100));
        ck_assert(!ratelimit_pass(&last, iv, 101));
        ck_assert(!ratelimit_pass(&last, iv, 100 + iv - 1));
        ck_assert(ratelimit_pass(&last, iv, 100 + iv));
        ck_assert_uint_eq(last, 100 + iv);
}
END_TEST

static char *tree;

static void tree_setup(void) {
        tree = test_mkdtemp();
        ck_assert_ptr_nonnull(tree);
        ck_assert_int_eq(test_mkdir_p(tree, "init.scope"), 0);
        ck_assert_int_eq(test_mkdir_p(tree, "system.slice/nginx.service"), 0);
        ck_assert_int_eq(test_mkdir_p(tree, "user.slice/user-1000.slice/user@1000.service/app.slice/a.scope"), 0);
        ck_assert_int_eq(test_mkdir_p(tree, "user.slice/user-1000.slice/session-2.scope"), 0);
        ck_assert_int_eq(test_mkdir_p(tree, "user.slice/user-1001.slice/user@1001.service"), 0);
        ck_assert_int_eq(test_mkdir_p(tree, "user.slice/other.slice/user@9.service"), 0);
        ck_assert_int_eq(test_write(tree, "system.slice/nginx.service/cgroup.procs", "1\n"), 0);
}

static void tree_teardown(void) {
        test_rm_rf(tree);
        free(tree);
}

static bool strv_contains(char **l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

static size_t strv_len(char **l) {
        size_t n = 0;

        for (; l && *l; l++)
                n++;
        return n;
}

START_TEST(test_glob_root) {
        _cleanup_strv_free_ char **paths = NULL, **dirs = NULL;

        ck_assert_int_eq(monitor_glob_expand(tree, "/", &paths, &dirs), 0);
        ck_assert_uint_eq(strv_len(paths), 1);
        ck_assert_str_eq(paths[0], "/");
        /* the root never appears later: nothing to watch */
        ck_assert_uint_eq(strv_len(dirs), 0);
}
END_TEST

START_TEST(test_glob_users) {
        _cleanup_strv_free_ char **paths = NULL, **dirs = NULL;

        ck_assert_int_eq(monitor_glob_expand(tree, "/user.slice/user-*.slice/user@*.service", &paths, &dirs), 0);
        ck_assert_uint_eq(strv_len(paths), 2);
        ck_assert_str_eq(paths[0], "/user.slice/user-1000.slice/user@1000.service");
        ck_assert_str_eq(paths[1], "/user.slice/user-1001.slice/user@1001.service");
        /* watched: the parents where a new match could be created, and not
         * the directories that can never lead to one */
        ck_assert(strv_contains(dirs, "/user.slice"));
        ck_assert(strv_contains(dirs, "/user.slice/user-1000.slice"));
        ck_assert(strv_contains(dirs, "/user.slice/user-1001.slice"));
        ck_assert(!strv_contains(dirs, "/user.slice/other.slice"));
        ck_assert(!strv_contains(dirs, "/user.slice/user-1000.slice/user@1000.service"));
        ck_assert(!strv_contains(dirs, "/system.slice"));
}
END_TEST

START_TEST(test_glob_missing_literal) {
        _cleanup_strv_free_ char **paths = NULL, **dirs = NULL;

        /* A slice that does not exist yet: no match, but its nearest
         * existing ancestor is watched so its creation is seen. */
        ck_assert_int_eq(monitor_glob_expand(tree, "/batch.slice", &paths, &dirs), 0);
        ck_assert_uint_eq(strv_len(paths), 0);
        ck_assert(strv_contains(dirs, "/"));

        strv_free(paths);
        strv_free(dirs);
        ck_assert_int_eq(monitor_glob_expand(tree, "/machine.slice/libpod-*.scope", &paths, &dirs), 0);
        ck_assert_uint_eq(strv_len(paths), 0);
        ck_assert(strv_contains(dirs, "/"));
}
END_TEST

START_TEST(test_glob_literal_and_deep) {
        _cleanup_strv_free_ char **paths = NULL, **dirs = NULL;

        ck_assert_int_eq(monitor_glob_expand(tree, "/system.slice", &paths, &dirs), 0);
        ck_assert_uint_eq(strv_len(paths), 1);
        ck_assert_str_eq(paths[0], "/system.slice");

        strv_free(paths);
        strv_free(dirs);
        paths = dirs = NULL;
        ck_assert_int_eq(monitor_glob_expand(tree, "/user.slice/**/app.slice", &paths, &dirs), 0);
        ck_assert(strv_contains(paths, "/user.slice/user-1000.slice/user@1000.service/app.slice"));
        ck_assert(!strv_contains(paths, "/user.slice/user-1000.slice/session-2.scope"));

        /* not a path */
        ck_assert_int_eq(monitor_glob_expand(tree, "nginx.service", &paths, &dirs), -EINVAL);
}
END_TEST

/* Without its own cgroup the daemon cannot protect itself: manager_new()
 * refuses. The same fake tree with a readable /proc/PID/cgroup starts. */
START_TEST(test_own_cgroup_required) {
        _cleanup_free_ char *root = test_mkdtemp(), *conf = NULL, *cgroot = NULL, *proc = NULL;
        _cleanup_free_ char *rel = NULL;
        Manager *m = NULL;

        ck_assert_ptr_nonnull(root);
        ck_assert_int_ge(asprintf(&conf, "%s/conf", root), 0);
        ck_assert_int_ge(asprintf(&cgroot, "%s/cg", root), 0);
        ck_assert_int_ge(asprintf(&proc, "%s/proc", root), 0);
        ck_assert_int_eq(test_write(root, "conf/etc/cgreap/cgreap.conf", "[Monitor x]\nCgroup=/x.slice\n"), 0);
        ck_assert_int_eq(test_write(root, "cg/cgroup.controllers", "cpu io\n"), 0);
        ck_assert_int_eq(test_write(root, "cg/cgroup.procs", "%s", ""), 0);
        ck_assert_int_eq(test_mkdir_p(root, "proc/self"), 0);

        ManagerOptions opts = {
                .config_root = conf,
                .cgroup_root = cgroot,
                .proc_root = proc,
        };
        ck_assert_int_lt(manager_new(&opts, &m), 0);
        ck_assert_ptr_null(m);

        ck_assert_int_ge(asprintf(&rel, "%d/cgroup", (int) getpid()), 0);
        ck_assert_int_eq(test_write(proc, rel, "0::/\n"), 0);
        ck_assert_int_eq(manager_new(&opts, &m), 0);
        ck_assert_ptr_nonnull(m);
        manager_free(m);

        test_rm_rf(root);
}
END_TEST

static void on_gone_flag(Monitor *mon, void *userdata) {
        *(bool *) userdata = true;      /* freed later, as the manager's resync does */
}

/* A monitor that finds its cgroup gone must drop its inotify watches, not only
 * disable them: libsystemd before v258 spins without end on an event whose
 * every source is disabled. Here the cgroup is renamed away, so its
 * memory.events still changes after the monitor said it is gone. */
START_TEST(test_gone_monitor_loop_goes_on) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *root = test_mkdtemp(), *from = NULL, *to = NULL;
        const char *ev = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n";
        sd_event *e = NULL;
        Monitor *mon = NULL;
        bool gone = false;

        ck_assert_ptr_nonnull(root);
        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert_int_eq(test_write(root, "cg/memory.events", "%s", ev), 0);
        ck_assert_int_ge(sd_event_new(&e), 0);
        MonitorEnv env = { .event = e, .cg_root = root, .proc_root = "/proc", .config = c };
        MonitorCallbacks cbs = { .gone = on_gone_flag, .userdata = &gone };
        ck_assert_int_eq(monitor_new(&env, &c->monitors[0], "/cg", &cbs, NULL, &mon), 0);
        ck_assert_int_ge(sd_event_run(e, 0), 0);

        ck_assert_int_ge(asprintf(&from, "%s/cg", root), 0);
        ck_assert_int_ge(asprintf(&to, "%s/cg.old", root), 0);
        ck_assert_int_eq(rename(from, to), 0);
        ck_assert_int_eq(test_write(root, "cg.old/memory.events", "%s", ev), 0);
        for (int i = 0; i < 20 && !gone; i++)
                ck_assert_int_ge(sd_event_run(e, 100 * USEC_PER_MSEC), 0);
        ck_assert(gone);

        /* Still watched after gone: this event hangs the loop (check's timeout). */
        ck_assert_int_eq(test_write(root, "cg.old/memory.events", "%s", ev), 0);
        for (int i = 0; i < 5; i++)
                ck_assert_int_ge(sd_event_run(e, 20 * USEC_PER_MSEC), 0);

        monitor_free(mon);
        sd_event_unref(e);
        test_rm_rf(root);
}
END_TEST

/* A monitor re-created in place of another looks at memory.events once
 * more. A file missing while the directory stays (a parent that stopped
 * delegating the memory controller; here moved aside) is no cgroup gone. */
START_TEST(test_recheck_file_gone_cgroup_stays) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *root = test_mkdtemp(), *from = NULL, *to = NULL;
        sd_event *e = NULL;
        Monitor *old = NULL, *mon = NULL;
        bool gone = false;

        ck_assert_ptr_nonnull(root);
        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert_int_eq(test_write(root, "cg/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"), 0);
        ck_assert_int_ge(sd_event_new(&e), 0);
        MonitorEnv env = { .event = e, .cg_root = root, .proc_root = "/proc", .config = c };
        MonitorCallbacks cbs = { .gone = on_gone_flag, .userdata = &gone };
        ck_assert_int_eq(monitor_new(&env, &c->monitors[0], "/cg", &cbs, NULL, &old), 0);
        ck_assert_int_eq(monitor_new(&env, &c->monitors[0], "/cg", &cbs, old, &mon), 0);
        old = monitor_free(old);

        ck_assert_int_ge(asprintf(&from, "%s/cg/memory.events", root), 0);
        ck_assert_int_ge(asprintf(&to, "%s/cg/memory.events.aside", root), 0);
        ck_assert_int_eq(rename(from, to), 0);
        for (int i = 0; i < 5; i++)
                ck_assert_int_ge(sd_event_run(e, 20 * USEC_PER_MSEC), 0);
        ck_assert(!gone);

        monitor_free(mon);
        sd_event_unref(e);
        test_rm_rf(root);
}
END_TEST

static Suite *manager_suite(void) {
        Suite *s = suite_create("manager");
        TCase *tc;

        tc = tcase_create("arithmetic");
        tcase_add_test(tc, test_level_floor);
        tcase_add_test(tc, test_samples_cross);
        tcase_add_test(tc, test_stale_event);
        tcase_add_test(tc, test_stale_event_after_polls);
        tcase_add_test(tc, test_stale_event_acted);
        tcase_add_test(tc, test_detector_crosses);
        tcase_add_test(tc, test_headroom_time_to_min);
        tcase_add_test(tc, test_headroom_lookahead);
        tcase_add_test(tc, test_headroom_calm_next);
        tcase_add_test(tc, test_headroom);
        tcase_add_test(tc, test_cooldown);
        tcase_add_test(tc, test_ratelimit);
        tcase_add_test(tc, test_kill_retry_interval);
        suite_add_tcase(s, tc);

        tc = tcase_create("start");
        tcase_add_test(tc, test_own_cgroup_required);
        suite_add_tcase(s, tc);

        tc = tcase_create("events");
        tcase_add_test(tc, test_gone_monitor_loop_goes_on);
        tcase_add_test(tc, test_recheck_file_gone_cgroup_stays);
        suite_add_tcase(s, tc);

        tc = tcase_create("glob");
        tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
        tcase_add_test(tc, test_glob_root);
        tcase_add_test(tc, test_glob_users);
        tcase_add_test(tc, test_glob_missing_literal);
        tcase_add_test(tc, test_glob_literal_and_deep);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        char *tmp = test_tmpdir_begin();
        SRunner *sr;
        int failed;

        if (!tmp) {
                printf("FAIL: cannot make a temporary directory: %m\n");
                return 1;
        }
        sr = srunner_create(manager_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_tmpdir_end(tmp);
        return failed == 0 ? 0 : 1;
}
