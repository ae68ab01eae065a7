/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the check tests: temporary trees and small file writers.
 * Header-only so each test program stays one file. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

/* A part of a test that this machine cannot run (no user.* xattrs, not
 * root): say so on stderr. The test suite's own command (tests/run-all.sh,
 * as root on Debian 12, where everything can run) sets
 * CGREAP_TEST_NO_SKIP=1, and there a skipped part is a failure, so that a
 * test cannot pass there without having checked anything. A macro, so that
 * the including test program supplies check.h. */
static inline bool test_no_skip(void) {
        const char *e = getenv("CGREAP_TEST_NO_SKIP");

        return e && streq(e, "1");
}
#define test_skip_part(...)                                                                     \
        do {                                                                                    \
                fprintf(stderr, __VA_ARGS__);                                                   \
                if (test_no_skip())                                                             \
                        ck_abort_msg("a part of this test was skipped, and CGREAP_TEST_NO_SKIP=1 " \
                                     "says that everything can run here");                      \
        } while (0)

/* Run every test of suite s (check's fork mode, CK_ENV verbosity); the exit
 * status for main(). A macro, so that the test program supplies check.h. */
#define test_run_suite(s) ({                                    \
        SRunner *_sr = srunner_create(s);                       \
        int _failed;                                            \
                                                                \
        srunner_run_all(_sr, CK_ENV);                           \
        _failed = srunner_ntests_failed(_sr);                   \
        srunner_free(_sr);                                      \
        _failed == 0 ? 0 : 1;                                   \
})

/* mkdtemp under $TMPDIR (or /tmp); returns malloc'd path or NULL. */
static inline char *test_mkdtemp(void) {
        const char *t = getenv("TMPDIR");
        char *p;

        if (asprintf(&p, "%s/cgreap-test-XXXXXX", t ? t : "/tmp") < 0)
                return NULL;
        if (!mkdtemp(p)) {
                free(p);
                return NULL;
        }
        return p;
}

/* For main(): put every test_mkdtemp() of the run below one new directory
 * (through TMPDIR), so that test_tmpdir_end() removes them all, also those
 * of a test that failed half-way (check's fork mode lets main() go on).
 * Returns the directory (malloc'd) or NULL. */
static inline char *test_tmpdir_begin(void) {
        char *dir = test_mkdtemp();

        if (dir && setenv("TMPDIR", dir, 1) < 0) {
                (void) rmdir(dir);
                free(dir);
                return NULL;
        }
        return dir;
}

static inline int test_rm_rf_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st; (void) flag; (void) ftw;
        (void) remove(path);
        return 0;
}

static inline void test_rm_rf(const char *path) {
        if (path)
                (void) nftw(path, test_rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void test_tmpdir_end(char *dir) {
        test_rm_rf(dir);
        free(dir);
}

/* mkdir -p of dir + "/" + rel. */
static inline int test_mkdir_p(const char *dir, const char *rel) {
        char buf[4096];

        if (snprintf(buf, sizeof buf, "%s/%s", dir, rel) >= (int) sizeof buf)
                return -ENAMETOOLONG;
        for (char *p = buf + strlen(dir) + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Write a file dir/rel (creating parent dirs) with printf-style content. */
static inline int test_write(const char *dir, const char *rel, const char *fmt, ...) _printf_(3, 4);
static inline int test_write(const char *dir, const char *rel, const char *fmt, ...) {
        char path[4096], parent[4096];
        va_list ap;
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, rel);
        snprintf(parent, sizeof parent, "%s", rel);
        char *slash = strrchr(parent, '/');
        if (slash) {
                *slash = 0;
                int r = test_mkdir_p(dir, parent);
                if (r < 0)
                        return r;
        }
        f = fopen(path, "we");
        if (!f)
                return -errno;
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        if (fclose(f) != 0)
                return -errno;
        return 0;
}
