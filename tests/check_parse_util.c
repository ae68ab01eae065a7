/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for parse-util: every parser with valid and hostile input. */

#include <check.h>

#include "parse-util.h"
#include "test-util.h"

START_TEST(test_boolean) {
        ck_assert_int_eq(parse_boolean("yes"), 1);
        ck_assert_int_eq(parse_boolean("TRUE"), 1);
        ck_assert_int_eq(parse_boolean("on"), 1);
        ck_assert_int_eq(parse_boolean("1"), 1);
        ck_assert_int_eq(parse_boolean("No"), 0);
        ck_assert_int_eq(parse_boolean("false"), 0);
        ck_assert_int_eq(parse_boolean("off"), 0);
        ck_assert_int_eq(parse_boolean("0"), 0);
        ck_assert_int_eq(parse_boolean(""), -EINVAL);
        ck_assert_int_eq(parse_boolean(" yes"), -EINVAL);
        ck_assert_int_eq(parse_boolean("yes "), -EINVAL);
        ck_assert_int_eq(parse_boolean("y"), -EINVAL);
        ck_assert_int_eq(parse_boolean("2"), -EINVAL);
        ck_assert_int_eq(parse_boolean("yess"), -EINVAL);
}
END_TEST

static void assert_duration(const char *s, usec_t expected) {
        usec_t u = 4242;
        int r = parse_duration(s, &u);

        ck_assert_msg(r == 0, "parse_duration(\"%s\") = %d", s, r);
        ck_assert_msg(u == expected, "parse_duration(\"%s\") -> %llu, expected %llu",
                      s, (unsigned long long) u, (unsigned long long) expected);
}

static void assert_duration_fails(const char *s, int error) {
        usec_t u = 4242;
        int r = parse_duration(s, &u);

        ck_assert_msg(r == error, "parse_duration(\"%s\") = %d, expected %d", s, r, error);
        ck_assert_msg(u == 4242, "parse_duration(\"%s\") touched *ret on failure", s);
}

START_TEST(test_duration) {
        assert_duration("2s", 2 * USEC_PER_SEC);
        assert_duration("2", 2 * USEC_PER_SEC);
        assert_duration("2sec", 2 * USEC_PER_SEC);
        assert_duration("100ms", 100 * USEC_PER_MSEC);
        assert_duration("7us", 7);
        assert_duration("1min", 60 * USEC_PER_SEC);
        assert_duration("1.5s", 1500 * USEC_PER_MSEC);
        assert_duration("0.1s", 100 * USEC_PER_MSEC);
        assert_duration("0.5min", 30 * USEC_PER_SEC);
        assert_duration("1.25ms", 1250);
        assert_duration("0.0000001s", 0);       /* below 1us: truncated */
        assert_duration("0", 0);
        assert_duration("1s 500ms", 1500 * USEC_PER_MSEC);
        assert_duration("1s500ms", 1500 * USEC_PER_MSEC);
        assert_duration("1min 2s 3ms 4us", 62 * USEC_PER_SEC + 3004);
        assert_duration("18446744073709s", 18446744073709ULL * USEC_PER_SEC);

        assert_duration_fails("", -EINVAL);
        assert_duration_fails("s", -EINVAL);
        assert_duration_fails("-1s", -EINVAL);
        assert_duration_fails("+1s", -EINVAL);
        assert_duration_fails(" 1s", -EINVAL);
        assert_duration_fails("1s ", -EINVAL);
        assert_duration_fails("1 s", -EINVAL);
        assert_duration_fails("1.2.3s", -EINVAL);
        assert_duration_fails("1.s", -EINVAL);
        assert_duration_fails(".5s", -EINVAL);
        assert_duration_fails("1x", -EINVAL);
        assert_duration_fails("1sx", -EINVAL);
        assert_duration_fails("5msec", -EINVAL);
        assert_duration_fails("1h", -EINVAL);
        assert_duration_fails("1s;", -EINVAL);
        assert_duration_fails("1 500ms", -EINVAL);
        assert_duration_fails("500ms 1", -EINVAL);
        assert_duration_fails("99999999999999999999s", -ERANGE);
        assert_duration_fails("18446744073710s", -ERANGE);
        assert_duration_fails("18446744073709551615us", -ERANGE);   /* that is "infinity" */
        assert_duration_fails("18446744073709551614us 2us", -ERANGE);
}
END_TEST

static void assert_percent(const char *s, unsigned expected) {
        unsigned v = 4242;
        int r = parse_percent(s, &v);

        ck_assert_msg(r == 0, "parse_percent(\"%s\") = %d", s, r);
        ck_assert_uint_eq(v, expected);
}

static void assert_percent_fails(const char *s, int error) {
        unsigned v = 4242;
        int r = parse_percent(s, &v);

        ck_assert_msg(r == error, "parse_percent(\"%s\") = %d, expected %d", s, r, error);
        ck_assert_uint_eq(v, 4242);
}

START_TEST(test_percent) {
        assert_percent("10%", 1000);
        assert_percent("0%", 0);
        assert_percent("100%", 10000);
        assert_percent("2.5%", 250);
        assert_percent("0.01%", 1);
        assert_percent("100.00%", 10000);

        assert_percent_fails("", -EINVAL);
        assert_percent_fails("%", -EINVAL);
        assert_percent_fails("10", -EINVAL);
        assert_percent_fails("10%%", -EINVAL);
        assert_percent_fails("10 %", -EINVAL);
        assert_percent_fails(" 10%", -EINVAL);
        assert_percent_fails("-1%", -EINVAL);
        assert_percent_fails("0.001%", -EINVAL);
        assert_percent_fails("1.2.3%", -EINVAL);
        assert_percent_fails("101%", -ERANGE);
        assert_percent_fails("100.01%", -ERANGE);
        assert_percent_fails("99999999999999999999%", -ERANGE);
}
END_TEST

START_TEST(test_int_range) {
        int v = 4242;

        ck_assert_int_eq(parse_int_range("0", -1000, 1000, &v), 0);
        ck_assert_int_eq(v, 0);
        ck_assert_int_eq(parse_int_range("-1000", -1000, 1000, &v), 0);
        ck_assert_int_eq(v, -1000);
        ck_assert_int_eq(parse_int_range("+1000", -1000, 1000, &v), 0);
        ck_assert_int_eq(v, 1000);

        v = 4242;
        ck_assert_int_eq(parse_int_range("1001", -1000, 1000, &v), -ERANGE);
        ck_assert_int_eq(parse_int_range("-1001", -1000, 1000, &v), -ERANGE);
        ck_assert_int_eq(parse_int_range("99999999999999999999", -1000, 1000, &v), -ERANGE);
        ck_assert_int_eq(parse_int_range("4294967296", INT32_MIN, INT32_MAX, &v), -ERANGE);
        ck_assert_int_eq(parse_int_range("", -1000, 1000, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range("-", -1000, 1000, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range(" 1", -1000, 1000, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range("1 ", -1000, 1000, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range("1.0", -1000, 1000, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range("0x10", -1000, 1000, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range("--1", -1000, 1000, &v), -EINVAL);
        ck_assert_int_eq(parse_int_range("12abc", -1000, 1000, &v), -EINVAL);
        ck_assert_int_eq(v, 4242);
}
END_TEST

START_TEST(test_format_bytes) {
        char buf[FORMAT_BYTES_MAX];

        ck_assert_str_eq(format_bytes(buf, sizeof buf, 0), "0B");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, 300), "300B");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, 1023), "1023B");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, 1024), "1K");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, 512 * 1024), "512K");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, 1536), "1.5K");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, 1503238554ULL), "1.4G");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, 10ULL << 30), "10G");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, (1ULL << 30) - 1), "1024M");
        ck_assert_str_eq(format_bytes(buf, sizeof buf, UINT64_MAX), "16E");
}
END_TEST

START_TEST(test_format_duration) {
        char buf[FORMAT_DURATION_MAX];
        static const usec_t samples[] = {
                0, 1, 999, 1000, 1500, 500 * USEC_PER_MSEC, USEC_PER_SEC, 1500 * USEC_PER_MSEC,
                1234567, 90 * USEC_PER_SEC, 120 * USEC_PER_SEC, 18446744073709ULL * USEC_PER_SEC,
        };

        ck_assert_str_eq(format_duration(buf, sizeof buf, 2 * USEC_PER_SEC), "2s");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 500 * USEC_PER_MSEC), "500ms");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 1500 * USEC_PER_MSEC), "1.5s");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 1500), "1.5ms");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 7), "7us");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 0), "0");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 120 * USEC_PER_SEC), "2min");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 90 * USEC_PER_SEC), "90s");
        ck_assert_str_eq(format_duration(buf, sizeof buf, 1000050), "1.00005s");
        ck_assert_str_eq(format_duration(buf, sizeof buf, USEC_INFINITY), "infinity");

        /* config_dump() depends on this: every formatted duration parses back. */
        for (size_t i = 0; i < ELEMENTSOF(samples); i++) {
                usec_t u = 0;

                format_duration(buf, sizeof buf, samples[i]);
                ck_assert_msg(parse_duration(buf, &u) == 0, "'%s' does not parse", buf);
                ck_assert_msg(u == samples[i], "'%s' round-trips to %llu", buf, (unsigned long long) u);
        }
}
END_TEST

/* Control characters a user could put in a cgroup name: escaped, C1 and
 * broken UTF-8 too; text, UTF-8 and systemd's "\x2d" stay as they are. */
START_TEST(test_cescape) {
        static const struct { const char *in, *out; } cases[] = {
                { "nginx.service",              "nginx.service" },
                { "a\033]0;x\a\033[2J",         "a\\x1b]0;x\\x07\\x1b[2J" },
                { "evil\n.service\t\r",         "evil\\n.service\\t\\r" },
                { "csi\302\233x \177",          "csi\\xc2\\x9bx \\x7f" },
                { "caf\303\251 \342\202\254",   "caf\303\251 \342\202\254" },
                { "bad\377\303",                "bad\\xff\\xc3" },
                { "dev-disk-by\\x2duuid.swap",  "dev-disk-by\\x2duuid.swap" },
                { "",                           "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = cescape(cases[i].in);

                ck_assert_ptr_nonnull(e);
                ck_assert_str_eq(e, cases[i].out);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("parse-util");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_boolean);
        tcase_add_test(tc, test_duration);
        tcase_add_test(tc, test_percent);
        tcase_add_test(tc, test_int_range);
        tcase_add_test(tc, test_format_bytes);
        tcase_add_test(tc, test_format_duration);
        tcase_add_test(tc, test_cescape);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
