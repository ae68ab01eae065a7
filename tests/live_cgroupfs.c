/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live, read-only test of cgroupfs, snapshot and psi against this machine's
 * real cgroup2 mount and /proc/pressure/memory: the mount is found, its
 * cgroup.controllers is read name by name, a snapshot of our own cgroup
 * lists this process, and the system-wide pressure file parses.
 *
 * Needs a cgroup2 mount and PSI, not root; exits 77 with the reason
 * otherwise. Writes nothing. */

#include <check.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "psi.h"
#include "snapshot.h"
#include "test-util.h"

#define PSI_MEMORY "/proc/pressure/memory"

static char *mnt, *self;

START_TEST(test_controllers) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        unsigned mask = 0;
        size_t n = 0;

        /* The list is the file, word by word, known names or not. */
        ck_assert_int_ge(asprintf(&path, "%s/cgroup.controllers", mnt), 0);
        ck_assert_int_eq(cg_read_full(path, &text), 0);
        ck_assert_int_eq(cg_read_controllers_list(mnt, "/", &names), 0);
        for (char *w = strtok(text, " \n"); w; w = strtok(NULL, " \n"), n++) {
                ck_assert_ptr_nonnull(names[n]);
                ck_assert_str_eq(names[n], w);
        }
        ck_assert_ptr_null(names[n]);

        ck_assert_int_eq(cg_read_controllers(mnt, "/", &mask), 0);
        for (char **c = names; *c; c++)
                if (streq(*c, "memory"))
                        ck_assert(mask & CG_CTRL_MEMORY);
        fprintf(stderr, "cgroup2 at %s: %zu controllers\n", mnt, n);
}
END_TEST

START_TEST(test_own_cgroup) {
        /* Our own cgroup is in the mount and lists us. */
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        const CgroupNode *n;
        bool found = false;
        ssize_t i;

        /* SNAPSHOT_RSS: where this runs in the root cgroup (a hybrid host),
         * a decision's snapshot leaves the root's processes unread. */
        ck_assert_int_eq(snapshot_build_full(mnt, "/proc", self, SNAPSHOT_RSS, &s, NULL), 0);
        i = snapshot_find(s, self);
        ck_assert_int_ge(i, 0);
        n = &s->nodes[i];
        ck_assert(!n->is_ancestor);
        for (size_t k = 0; k < n->n_procs; k++)
                found = found || n->pids[k] == getpid();
        ck_assert_msg(found, "pid %d not in %s", (int) getpid(), self);
        ck_assert(n->has_oom_score_adj);
        ck_assert_uint_gt(n->rss_sum, 0);
        ck_assert(n->populated);
}
END_TEST

START_TEST(test_pressure) {
        PsiStats s;

        ck_assert_int_eq(psi_read(PSI_MEMORY, &s), 0);
        ck_assert(s.has_full);
}
END_TEST

int main(void) {
        Suite *s = suite_create("live-cgroupfs");
        TCase *tc = tcase_create("real");
        SRunner *sr;
        int failed;

        if (cg_find_mount("/proc/self/mountinfo", &mnt) < 0) {
                printf("SKIP: no cgroup2 mount in /proc/self/mountinfo\n");
                return 77;
        }
        if (cg_pid_get_path("/proc", getpid(), &self) < 0) {
                printf("SKIP: this process is in no cgroup2 cgroup (/proc/self/cgroup has no 0:: line)\n");
                return 77;
        }
        if (access(PSI_MEMORY, R_OK) < 0) {
                printf("SKIP: no %s (kernel without PSI, or booted with psi=0)\n", PSI_MEMORY);
                return 77;
        }

        tcase_add_test(tc, test_controllers);
        tcase_add_test(tc, test_own_cgroup);
        tcase_add_test(tc, test_pressure);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        free(mnt);
        free(self);
        return failed == 0 ? 0 : 1;
}
