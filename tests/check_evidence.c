/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for evidence: the decision table on static readings, benign
 * cases (whose right answer is no kill) beside the dangerous ones, and the
 * reading of a fake /proc and cgroup tree. */

#include <check.h>

#include "evidence.h"
#include "test-util.h"

#define MiB (1024ULL * 1024)
#define GiB (1024ULL * MiB)

static const EvidenceLimits lim = {
        .min_available = 200,           /* 2% */
        .min_swap_free = 1000,          /* 10% */
        .thrashing_limit = 10000,       /* 100%/s */
        .stall_limit = 7500,            /* 75% */
};

/* A 2 GiB machine with no swap, plenty available, nothing stalled. */
static EvidenceReading machine(uint64_t available) {
        return (EvidenceReading) {
                .time = 100 * USEC_PER_SEC,
                .mem_total = 2 * GiB,
                .mem_available = available,
                .file_lru = available / 2,
        };
}

static bool judge(const EvidenceReading *now, const EvidenceReading *base, usec_t since_kill,
                  ReportReason *reason, bool *critical) {
        char text[512];

        *reason = _REASON_INVALID;
        *critical = false;
        return evidence_judge(now, base, &lim, since_kill, false, reason, critical, text, sizeof text);
}

START_TEST(test_low_memory_no_swap) {
        EvidenceReading e = machine(30 * MiB);  /* 1.46% */
        ReportReason reason;
        bool critical;

        ck_assert(judge(&e, NULL, USEC_INFINITY, &reason, &critical));
        ck_assert_int_eq(reason, REASON_LOW_MEMORY_AND_SWAP);
        ck_assert(critical);

        e = machine(50 * MiB);                  /* 2.44%: above MinAvailable= */
        ck_assert(!judge(&e, NULL, USEC_INFINITY, &reason, &critical));
}
END_TEST

START_TEST(test_swap_is_headroom) {
        EvidenceReading e = machine(20 * MiB);
        ReportReason reason;
        bool critical;

        /* A leak with 1 GiB of (z)swap, half of it free: no kill yet. */
        e.swap_total = 1 * GiB;
        e.swap_free = 512 * MiB;
        ck_assert(!judge(&e, NULL, USEC_INFINITY, &reason, &critical));
        /* 11% free: still above MinSwapFree=. */
        e.swap_free = 113 * MiB;
        ck_assert(!judge(&e, NULL, USEC_INFINITY, &reason, &critical));
        /* Swap nearly used up: now. */
        e.swap_free = 90 * MiB;
        ck_assert(judge(&e, NULL, USEC_INFINITY, &reason, &critical));
        ck_assert_int_eq(reason, REASON_LOW_MEMORY_AND_SWAP);
        /* Swap used up but memory plentiful (e.g. after a kill): no. */
        e.mem_available = 600 * MiB;
        ck_assert(!judge(&e, NULL, USEC_INFINITY, &reason, &critical));
}
END_TEST

START_TEST(test_page_cache_streaming) {
        /* The case: MemAvailable 29%, 1 GiB zram untouched, a file
         * streamed through the page cache, stalls but no shortage. */
        EvidenceReading base = machine(600 * MiB), now;
        ReportReason reason;
        bool critical;

        base.swap_total = base.swap_free = 1 * GiB;
        base.refault_bytes = 10 * GiB;
        now = base;
        now.time += 2 * USEC_PER_SEC;
        now.refault_bytes += 800 * MiB;         /* refaults: 400M/s over a 300M LRU */
        now.full_avg10 = 33;
        ck_assert(!judge(&now, &base, USEC_INFINITY, &reason, &critical));

        /* The same without swap: refaults of a big cache still endanger nothing. */
        base.swap_total = base.swap_free = now.swap_total = now.swap_free = 0;
        ck_assert(!judge(&now, &base, USEC_INFINITY, &reason, &critical));
}
END_TEST

START_TEST(test_thrashing) {
        /* Anonymous memory squeezed the cache to 40M and it refaults 60M/s:
         * MemAvailable 4% is above the floor, but the machine thrashes. */
        EvidenceReading base = machine(80 * MiB), now;
        ReportReason reason;
        bool critical;

        base.file_lru = 40 * MiB;
        base.refault_bytes = 5 * GiB;
        now = base;
        now.time += USEC_PER_SEC;
        now.refault_bytes += 60 * MiB;
        ck_assert(judge(&now, &base, USEC_INFINITY, &reason, &critical));
        ck_assert_int_eq(reason, REASON_THRASHING);
        ck_assert(!critical);

        /* Too short a span says nothing about a rate. */
        now.time = base.time + 500 * USEC_PER_MSEC;
        ck_assert(!judge(&now, &base, USEC_INFINITY, &reason, &critical));
        /* Nor does a base older than EVIDENCE_BASE_MAX_USEC. */
        now.time = base.time + EVIDENCE_BASE_MAX_USEC + 1;
        ck_assert(!judge(&now, &base, USEC_INFINITY, &reason, &critical));
        /* Half the limit: not thrashing. */
        now.time = base.time + 2 * USEC_PER_SEC;
        ck_assert(!judge(&now, &base, USEC_INFINITY, &reason, &critical));
        /* Plenty of swap left: thrashing alone is not enough. */
        now.time = base.time + USEC_PER_SEC;
        now.swap_total = base.swap_total = 1 * GiB;
        now.swap_free = base.swap_free = 900 * MiB;
        ck_assert(!judge(&now, &base, USEC_INFINITY, &reason, &critical));
        /* ThrashingLimit=0 turns the row off. */
        EvidenceLimits off = lim;
        char text[256];
        now.swap_total = now.swap_free = 0;
        off.thrashing_limit = 0;
        ck_assert(!evidence_judge(&now, &base, &off, USEC_INFINITY, false, &reason, &critical, text, sizeof text));
}
END_TEST

START_TEST(test_limit) {
        EvidenceReading e = machine(1 * GiB);
        ReportReason reason;
        bool critical;

        /* A slice at MemoryMax=400M full of page cache: nothing to fear. */
        e.has_limit = e.hard_limit = true;
        e.limit = 400 * MiB;
        e.cg_reclaimable = 250 * MiB;
        e.cg_available = 250 * MiB;
        ck_assert(!judge(&e, NULL, USEC_INFINITY, &reason, &critical));

        /* Anonymous memory at the limit, no swap: the memcg OOM killer is next. */
        e.cg_reclaimable = 2 * MiB;
        e.cg_available = 3 * MiB;
        ck_assert(judge(&e, NULL, USEC_INFINITY, &reason, &critical));
        ck_assert_int_eq(reason, REASON_LIMIT);
        ck_assert(critical);

        /* memory.high only: throttling, never an OOM kill: not critical by itself. */
        e.hard_limit = false;
        ck_assert(judge(&e, NULL, USEC_INFINITY, &reason, &critical));
        ck_assert_int_eq(reason, REASON_LIMIT);
        ck_assert(!critical);

        /* Swap it may still use is headroom. */
        e.cg_swap_total = 1 * GiB;
        e.cg_swap_free = 800 * MiB;
        ck_assert(!judge(&e, NULL, USEC_INFINITY, &reason, &critical));
}
END_TEST

START_TEST(test_stall_and_oom) {
        EvidenceReading base = machine(1 * GiB), now;
        ReportReason reason;
        bool critical;

        now = base;
        now.time += USEC_PER_SEC;
        now.full_avg10 = 90;
        ck_assert(judge(&now, &base, USEC_INFINITY, &reason, &critical));
        ck_assert_int_eq(reason, REASON_STALL);
        ck_assert(critical);
        /* avg10 still holds the stalls from before a kill 5s ago. */
        ck_assert(!judge(&now, &base, 5 * USEC_PER_SEC, &reason, &critical));
        /* What benign streaming reached in the guest (a third of 10s). */
        now.full_avg10 = 33;
        ck_assert(!judge(&now, &base, USEC_INFINITY, &reason, &critical));

        base.has_events = now.has_events = true;
        base.oom = 3;
        now.oom = 4;
        ck_assert(judge(&now, &base, USEC_INFINITY, &reason, &critical));
        ck_assert_int_eq(reason, REASON_OOM);
        ck_assert(critical);
        now.oom = 3;
        ck_assert(!judge(&now, &base, USEC_INFINITY, &reason, &critical));
}
END_TEST

START_TEST(test_text) {
        EvidenceReading e = machine(30 * MiB);
        ReportReason reason;
        bool critical;
        char text[512];

        ck_assert(evidence_judge(&e, NULL, &lim, USEC_INFINITY, false, &reason, &critical, text, sizeof text));
        ck_assert_msg(strstr(text, "MemAvailable 1.46% (30M of 2G), no swap"), "%s", text);
        /* Every number in its own place (one buffer per value). */
        e.has_limit = true;
        e.limit = 400 * MiB;
        e.cg_available = 3 * MiB;
        e.cg_reclaimable = 1 * MiB;
        e.cg_swap_free = 0;
        ck_assert(evidence_judge(&e, NULL, &lim, USEC_INFINITY, false, &reason, &critical, text, sizeof text));
        ck_assert_msg(strstr(text, "limit headroom 0.75% (3M of 400M, 1M reclaimable), 0B swap free"), "%s", text);
        /* A short buffer is cut, never overrun. */
        char small[16];
        ck_assert(evidence_judge(&e, NULL, &lim, USEC_INFINITY, false, &reason, &critical, small, sizeof small));
        ck_assert_uint_lt(strlen(small), sizeof small);
}
END_TEST

/* The bench's cpu scenario: the first victim's memory came back, the hog
 * took it and holds 1.7G; MemAvailable stays at 0.1% with no swap and
 * nobody stalls. Within that kill's episode short memory alone is no
 * danger; demand measured after the kill is: a stall, memory still falling
 * fast, or (a limit) memory.events max. */
START_TEST(test_after_kill_needs_demand) {
        EvidenceLimits medium = lim;
        EvidenceReading base = machine(2 * MiB), now;
        ReportReason reason;
        bool critical;
        char text[512];

        medium.demand = (PsiTrigger) { PSI_SOME, 200 * USEC_PER_MSEC, 2 * USEC_PER_SEC };
        base.has_pressure = true;
        base.some_total = 123857;
        now = base;
        now.time = base.time + 500 * USEC_PER_MSEC;
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        ck_assert_msg(strstr(text, "after a kill: some stall 0ms in the last 500ms"), "%s", text);
        /* The first look after the kill has nothing to compare yet. */
        ck_assert(!evidence_judge(&now, NULL, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        ck_assert(!evidence_judge(&now, &now, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        ck_assert_msg(strstr(text, "after a kill: nothing measured yet"), "%s", text);
        /* Out of the episode, the same numbers are the row of earlyoom. */
        ck_assert(evidence_judge(&now, &base, &medium, USEC_PER_SEC, false, &reason, &critical, text, sizeof text));
        ck_assert_int_eq(reason, REASON_LOW_MEMORY_AND_SWAP);

        /* Medium=some 10% 2s: 10% of the time, over half a second at least.
         * A blip of refaults of a quiet machine at its edge is not enough. */
        now.some_total = base.some_total + 30 * USEC_PER_MSEC;
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        now.time = base.time + 100 * USEC_PER_MSEC;
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        now.some_total = base.some_total + 50 * USEC_PER_MSEC;
        ck_assert(evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        ck_assert_int_eq(reason, REASON_LOW_MEMORY_AND_SWAP);
        ck_assert(critical);
        ck_assert_msg(strstr(text, "after a kill: some stall 50ms in the last 100ms"), "%s", text);
        /* Of the trigger's kind; any stall when Medium= is off. */
        medium.demand.kind = PSI_FULL;
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        now.full_total = base.full_total + 50 * USEC_PER_MSEC;
        ck_assert(evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        now.some_total = base.some_total + 1;
        ck_assert(evidence_judge(&now, &base, &lim, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));

        /* A hog still growing into what the kill freed: gone within 2s at
         * the rate since base, it is demand before anything stalls. */
        medium.demand.kind = PSI_SOME;
        now = base;
        base.mem_available = 300 * MiB;
        now.mem_available = 30 * MiB;
        now.time = base.time + USEC_PER_SEC;
        ck_assert(evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        ck_assert_msg(strstr(text, ", MemAvailable falling"), "%s", text);
        /* Creeping down (30M left at 1M/s) is not. */
        base.mem_available = 31 * MiB;
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        /* Nor the jitter of a machine at its edge (the bench's cpu, rep 1:
         * 2.0M to 1.5M in 111ms), under a quarter of MinAvailable=. */
        base.mem_available = 2 * MiB;
        now.mem_available = 1536 * 1024;
        now.time = base.time + 111 * USEC_PER_MSEC;
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        base.mem_available = now.mem_available + 11 * MiB;  /* over 10.24M of 2G */
        ck_assert(evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));

        /* A limit: its headroom falling, or the charge hitting memory.max. */
        now = base = machine(1 * GiB);
        base.has_pressure = now.has_pressure = true;
        base.has_limit = now.has_limit = true;
        base.has_events = now.has_events = true;
        base.limit = now.limit = 400 * MiB;
        base.cg_available = now.cg_available = 3 * MiB;
        now.time = base.time + 500 * USEC_PER_MSEC;
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        now.max = base.max + 1;
        ck_assert(evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        ck_assert_int_eq(reason, REASON_LIMIT);
        ck_assert_msg(strstr(text, ", the limit's headroom falling"), "%s", text);
        now.max = base.max;
        base.cg_available = 4 * MiB;           /* 1M: jitter below a quarter of 8M */
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        base.cg_available = 40 * MiB;
        ck_assert(evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
        /* The machine's MemAvailable falling says nothing of the limit. */
        base.cg_available = now.cg_available;
        base.mem_available = 2 * GiB;
        ck_assert(!evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));

        /* An unreadable pressure file cannot show a stall: no gate then. */
        now.has_pressure = false;
        ck_assert(evidence_judge(&now, &base, &medium, USEC_PER_SEC, true, &reason, &critical, text, sizeof text));
}
END_TEST

static char *tmp;

static void tree_setup(void) {
        tmp = test_mkdtemp();
        ck_assert_ptr_nonnull(tmp);
        ck_assert_int_eq(test_write(tmp, "proc/meminfo",
                                    "MemTotal: 2097152 kB\nMemAvailable: 1048576 kB\nActive(file): 1024 kB\n"
                                    "Inactive(file): 1024 kB\nSwapTotal: 1048576 kB\nSwapFree: 524288 kB\n"), 0);
        ck_assert_int_eq(test_write(tmp, "proc/vmstat", "workingset_refault_file 10\noom_kill 1\n"), 0);
        ck_assert_int_eq(test_write(tmp, "cg/s.slice/memory.max", "419430400\n"), 0);
        ck_assert_int_eq(test_write(tmp, "cg/s.slice/memory.high", "max\n"), 0);
        ck_assert_int_eq(test_write(tmp, "cg/s.slice/memory.current", "414187520\n"), 0);
        ck_assert_int_eq(test_write(tmp, "cg/s.slice/memory.stat",
                                    "anon 300000000\nactive_file 52428800\ninactive_file 52428800\n"
                                    "slab_reclaimable 0\nworkingset_refault_file 7\n"), 0);
        ck_assert_int_eq(test_write(tmp, "cg/s.slice/memory.swap.max", "104857600\n"), 0);
        ck_assert_int_eq(test_write(tmp, "cg/s.slice/memory.swap.current", "104857600\n"), 0);
        ck_assert_int_eq(test_write(tmp, "cg/s.slice/memory.events",
                                    "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n"), 0);
        ck_assert_int_eq(test_mkdir_p(tmp, "cg/plain.slice"), 0);
}

static void tree_teardown(void) {
        test_rm_rf(tmp);
        free(tmp);
}

START_TEST(test_read) {
        _cleanup_free_ char *cg = NULL, *proc = NULL;
        PsiStats pressure = { .some.total = 123456, .full.avg10 = 12.5, .has_full = true };
        EvidenceReading e;
        long page = sysconf(_SC_PAGESIZE);

        ck_assert_int_ge(asprintf(&cg, "%s/cg", tmp), 0);
        ck_assert_int_ge(asprintf(&proc, "%s/proc", tmp), 0);

        ck_assert_int_eq(evidence_read(cg, proc, "/", &pressure, &e), 0);
        ck_assert_uint_eq(e.mem_total, 2 * GiB);
        ck_assert_uint_eq(e.mem_available, 1 * GiB);
        ck_assert_uint_eq(e.swap_free, 512 * MiB);
        ck_assert_uint_eq(e.file_lru, 2 * MiB);
        ck_assert_uint_eq(e.refault_bytes, 10 * (uint64_t) page);
        ck_assert(!e.has_limit);
        ck_assert(e.has_pressure && e.full_avg10 == 12.5 && e.some_total == 123456);

        ck_assert_int_eq(evidence_read(cg, proc, "/s.slice", NULL, &e), 0);
        ck_assert(e.has_limit && e.hard_limit);
        ck_assert_uint_eq(e.limit, 400 * MiB);
        ck_assert_uint_eq(e.cg_reclaimable, 100 * MiB);
        /* 400M - (395M - 100M) */
        ck_assert_uint_eq(e.cg_available, 400 * MiB - (414187520 - 100 * MiB));
        /* memory.swap.max reached: no swap for this cgroup, whatever the machine has. */
        ck_assert_uint_eq(e.cg_swap_total, 100 * MiB);
        ck_assert_uint_eq(e.cg_swap_free, 0);
        ck_assert_uint_eq(e.cg_refault_bytes, 7 * (uint64_t) page);
        ck_assert(e.has_events);
        ck_assert_uint_eq(e.oom, 2);

        /* No memory files (no memory controller): the machine's numbers alone. */
        ck_assert_int_eq(evidence_read(cg, proc, "/plain.slice", NULL, &e), 0);
        ck_assert(!e.has_limit && !e.has_events && !e.has_pressure);
        /* A cgroup that is gone. */
        ck_assert_int_eq(evidence_read(cg, proc, "/gone.slice", NULL, &e), -ENOENT);
        /* No /proc/meminfo: an error. */
        ck_assert_int_lt(evidence_read(cg, cg, "/", NULL, &e), 0);
}
END_TEST

static Suite *evidence_suite(void) {
        Suite *s = suite_create("evidence");
        TCase *tc = tcase_create("judge");

        tcase_add_test(tc, test_low_memory_no_swap);
        tcase_add_test(tc, test_swap_is_headroom);
        tcase_add_test(tc, test_page_cache_streaming);
        tcase_add_test(tc, test_thrashing);
        tcase_add_test(tc, test_limit);
        tcase_add_test(tc, test_stall_and_oom);
        tcase_add_test(tc, test_text);
        tcase_add_test(tc, test_after_kill_needs_demand);
        suite_add_tcase(s, tc);

        tc = tcase_create("read");
        tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
        tcase_add_test(tc, test_read);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        char *t = test_tmpdir_begin();
        SRunner *sr;
        int failed;

        if (!t) {
                printf("FAIL: cannot make a temporary directory: %m\n");
                return 1;
        }
        sr = srunner_create(evidence_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_tmpdir_end(t);
        return failed == 0 ? 0 : 1;
}
