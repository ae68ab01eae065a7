/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for psi: pressure text parsing with hostile input, trigger
 * formatting, validation, Early='s companion trigger and arming (against a
 * plain file, which shows the exact bytes written), and the stall share
 * arithmetic. */

#include <check.h>
#include <fcntl.h>
#include <math.h>

#include "psi.h"
#include "test-util.h"

static char *tmp;

static void setup(void) {
        tmp = test_mkdtemp();
        ck_assert_ptr_nonnull(tmp);
}

static void teardown(void) {
        test_rm_rf(tmp);
        free(tmp);
        tmp = NULL;
}

#define ck_assert_avg(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-9, "%f != %f", (double) (a), (double) (b))

START_TEST(test_parse_full) {
        PsiStats s;

        ck_assert_int_eq(psi_parse_buf(
                "some avg10=1.50 avg60=0.25 avg300=100.00 total=123456\n"
                "full avg10=0.01 avg60=0.00 avg300=0.00 total=18446744073709551615\n", &s), 0);
        ck_assert_avg(s.some.avg10, 1.5);
        ck_assert_avg(s.some.avg60, 0.25);
        ck_assert_avg(s.some.avg300, 100.0);
        ck_assert_uint_eq(s.some.total, 123456);
        ck_assert(s.has_full);
        ck_assert_avg(s.full.avg10, 0.01);
        ck_assert_uint_eq(s.full.total, UINT64_MAX);
}
END_TEST

START_TEST(test_parse_some_only) {
        PsiStats s;

        /* cpu.pressure on old kernels, no trailing newline, fields in
         * another order and an unknown extra field */
        ck_assert_int_eq(psi_parse_buf("some total=5 avg300=3 avg60=2.5 avg10=1 newfield=xyz", &s), 0);
        ck_assert(!s.has_full);
        ck_assert_avg(s.some.avg10, 1);
        ck_assert_avg(s.some.avg60, 2.5);
        ck_assert_avg(s.some.avg300, 3);
        ck_assert_uint_eq(s.some.total, 5);
        ck_assert_uint_eq(s.full.total, 0);
}
END_TEST

START_TEST(test_parse_hostile) {
        static const char *const bad[] = {
                "",
                "\n",
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",                     /* no some */
                "some avg10=0.00 avg60=0.00 avg300=0.00\n",                             /* no total */
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=-1\n",
                "some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=1.2.3 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=. avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=nan avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1x\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0 junk\n",                /* no '=' */
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0 =1\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00\n",    /* truncated */
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nhello world\n",
                "some\n",
                "some",
                "SOME avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                "\x01\x02\x03",
        };
        PsiStats s = { .some.total = 4242 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(psi_parse_buf(bad[i], &s) == -EINVAL, "case %zu accepted", i);
        ck_assert_int_eq(psi_parse_buf("some avg10=0 avg60=0 avg300=0 total=18446744073709551616\n", &s), -ERANGE);
        ck_assert_int_eq(psi_parse_buf("some avg10=99999999999999 avg60=0 avg300=0 total=0\n", &s), -ERANGE);
        ck_assert_uint_eq(s.some.total, 4242);
}
END_TEST

START_TEST(test_read) {
        _cleanup_free_ char *p = NULL;
        PsiStats s;

        ck_assert_int_eq(test_write(tmp, "memory.pressure",
                                    "some avg10=2.00 avg60=0.00 avg300=0.00 total=77\n"
                                    "full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"), 0);
        ck_assert_int_ge(asprintf(&p, "%s/memory.pressure", tmp), 0);
        ck_assert_int_eq(psi_read(p, &s), 0);
        ck_assert_uint_eq(s.some.total, 77);
        ck_assert_uint_eq(s.full.total, 7);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/gone/memory.pressure", tmp), 0);
        ck_assert_int_eq(psi_read(p, &s), -ENOENT);
}
END_TEST

START_TEST(test_pressure_path) {
        static const struct { const char *cg, *want; } t[] = {
                { "/", "/proc/pressure/memory" },
                { "", "/proc/pressure/memory" },
                { "//", "/proc/pressure/memory" },
                { "/system.slice", "/sys/fs/cgroup/system.slice/memory.pressure" },
                { "/a/b/", "/sys/fs/cgroup/a/b/memory.pressure" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *p = psi_memory_pressure_path("/sys/fs/cgroup", "/proc", t[i].cg);

                ck_assert_ptr_nonnull(p);
                ck_assert_str_eq(p, t[i].want);
        }
}
END_TEST

START_TEST(test_format) {
        PsiTrigger t = { PSI_SOME, 200000, 2000000 };
        char buf[64];

        ck_assert_int_eq(psi_trigger_format(&t, buf, sizeof buf), 19);
        ck_assert_str_eq(buf, "some 200000 2000000");
        t.kind = PSI_FULL;
        t.stall_usec = 1;
        ck_assert_int_eq(psi_trigger_format(&t, buf, sizeof buf), 14);
        ck_assert_str_eq(buf, "full 1 2000000");

        /* exactly enough room for the NUL, then one byte short */
        ck_assert_int_eq(psi_trigger_format(&t, buf, 15), 14);
        ck_assert_int_eq(psi_trigger_format(&t, buf, 14), -ENOBUFS);
        ck_assert_int_eq(psi_trigger_format(&t, buf, 0), -ENOBUFS);
}
END_TEST

START_TEST(test_check) {
        static const struct { PsiKind k; usec_t stall, window; bool cap; bool ok; } t[] = {
                { PSI_SOME, 150000, 2000000, false, true },
                { PSI_FULL, 2000000, 2000000, false, true },
                { PSI_SOME, 100000, 1000000, false, false },    /* 1s needs the cap */
                { PSI_SOME, 100000, 1000000, true, true },
                { PSI_SOME, 100000, 500000, true, true },
                { PSI_SOME, 100000, 499999, true, false },
                { PSI_SOME, 100000, 10000000, false, true },
                { PSI_SOME, 100000, 10000001, true, false },
                { PSI_SOME, 0, 2000000, false, false },
                { PSI_SOME, 2000001, 2000000, false, false },
                { PSI_SOME, 100000, 3000000, false, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                PsiTrigger tr = { t[i].k, t[i].stall, t[i].window };
                const char *reason = NULL;
                int r = psi_trigger_check(&tr, t[i].cap, &reason);

                ck_assert_msg((r == 0) == t[i].ok, "case %zu: r=%d", i, r);
                if (r < 0) {
                        ck_assert_int_eq(r, -EINVAL);
                        ck_assert_ptr_nonnull(reason);
                }
        }
}
END_TEST

START_TEST(test_companion) {
        PsiTrigger early = { PSI_SOME, 20000, 2000000 }, c = { PSI_FULL, 1, 1 };

        /* Early=some 1% 2s: the same 20ms of "some" within 500ms. */
        ck_assert(psi_trigger_companion(&early, true, &c));
        ck_assert_int_eq(c.kind, PSI_SOME);
        ck_assert_uint_eq(c.stall_usec, 20000);
        ck_assert_uint_eq(c.window_usec, 500000);
        ck_assert_int_eq(psi_trigger_check(&c, true, NULL), 0);
        /* The kind is kept. */
        early.kind = PSI_FULL;
        ck_assert(psi_trigger_companion(&early, true, &c));
        ck_assert_int_eq(c.kind, PSI_FULL);
        /* A 500ms window needs CAP_SYS_RESOURCE; without it, nothing, and
         * *ret stays as it was. */
        c = (PsiTrigger) { PSI_SOME, 1, 1 };
        ck_assert(!psi_trigger_companion(&early, false, &c));
        ck_assert_uint_eq(c.stall_usec, 1);
        /* Already the shortest window: nothing to gain. */
        early = (PsiTrigger) { PSI_SOME, 20000, 500000 };
        ck_assert(!psi_trigger_companion(&early, true, &c));
        /* A stall that does not fit in 500ms: no companion can hold it. */
        early = (PsiTrigger) { PSI_SOME, 600000, 2000000 };
        ck_assert(!psi_trigger_companion(&early, true, &c));
        early.stall_usec = 500000;
        ck_assert(psi_trigger_companion(&early, true, &c));
        ck_assert_uint_eq(c.stall_usec, 500000);
}
END_TEST

START_TEST(test_trigger_open_bytes) {
        /* Against a plain file: shows what is written, NUL included. */
        PsiTrigger t = { PSI_SOME, 150000, 2000000 };
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[64];
        ssize_t n;
        int flags;

        ck_assert_int_eq(test_write(tmp, "memory.pressure", "%s", ""), 0);
        ck_assert_int_ge(asprintf(&p, "%s/memory.pressure", tmp), 0);
        fd = psi_trigger_open(p, &t);
        ck_assert_int_ge(fd, 0);
        flags = fcntl(fd, F_GETFD);
        ck_assert(flags & FD_CLOEXEC);
        flags = fcntl(fd, F_GETFL);
        ck_assert(flags & O_NONBLOCK);
        ck_assert_int_eq(flags & O_ACCMODE, O_RDWR);

        n = pread(fd, buf, sizeof buf, 0);
        ck_assert_int_eq(n, 20);
        ck_assert(memcmp(buf, "some 150000 2000000\0", 20) == 0);
}
END_TEST

START_TEST(test_trigger_open_errors) {
        PsiTrigger t = { PSI_SOME, 150000, 2000000 };
        _cleanup_free_ char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/gone/memory.pressure", tmp), 0);
        ck_assert_int_eq(psi_trigger_open(p, &t), -ENOENT);
        /* a directory cannot be opened for writing */
        ck_assert_int_eq(psi_trigger_open(tmp, &t), -EISDIR);
}
END_TEST

static Suite *psi_suite(void) {
        Suite *s = suite_create("psi");
        TCase *tc;

        tc = tcase_create("pure");
        tcase_add_test(tc, test_parse_full);
        tcase_add_test(tc, test_parse_some_only);
        tcase_add_test(tc, test_parse_hostile);
        tcase_add_test(tc, test_pressure_path);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_check);
        tcase_add_test(tc, test_companion);
        suite_add_tcase(s, tc);

        tc = tcase_create("files");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_read);
        tcase_add_test(tc, test_trigger_open_bytes);
        tcase_add_test(tc, test_trigger_open_errors);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(psi_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
