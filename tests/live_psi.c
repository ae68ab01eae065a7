/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live test of psi and cgroupfs against the real cgroup2 mount: finding
 * the mount, reading controllers, walking a real tree of child cgroups, and
 * arming a real PSI trigger in sd-event, then watching the kernel report
 * EPOLLERR on it when its cgroup is removed.
 *
 * Needs root and a cgroup2 mount with PSI; exits 77 with the reason
 * otherwise. Creates only child cgroups named cgreap-test-<pid>-psi... and
 * removes them all. Creates no memory pressure: the cgroups stay empty. */

#include <check.h>
#include <sys/epoll.h>
#include <sys/statfs.h>
#include <time.h>
#include <linux/magic.h>
#include <systemd/sd-event.h>

#include "cgroupfs.h"
#include "psi.h"
#include "test-util.h"

static char *mnt;       /* the cgroup2 mount */
static char *base;      /* "/cgreap-test-<pid>-psi", relative to mnt */

static void sleep_msec(unsigned ms) {
        struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

        (void) nanosleep(&ts, NULL);
}

/* rmdir a cgroup and everything below it, deepest first. EBUSY means
 * processes are left: kill them (cgroup.kill) and retry for a while. */
static int cg_remove_tree(const char *path) {
        _cleanup_strv_free_ char **children = NULL;
        _cleanup_free_ char *p = NULL;
        int r;

        r = cg_list_children(mnt, path, &children);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char **c = children; *c; c++) {
                _cleanup_free_ char *sub = NULL;

                if (asprintf(&sub, "%s/%s", path, *c) < 0)
                        return -ENOMEM;
                r = cg_remove_tree(sub);
                if (r < 0)
                        return r;
        }
        p = cg_path(mnt, path, NULL);
        if (!p)
                return -ENOMEM;
        for (unsigned i = 0; i < 200; i++) {
                if (rmdir(p) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return -errno;
                (void) cg_write_file(mnt, path, "cgroup.kill", "1");
                sleep_msec(10);
        }
        return -EBUSY;
}

static char *sub_path(const char *rel) {
        char *s;

        ck_assert_int_ge(asprintf(&s, "%s/%s", base, rel), 0);
        return s;
}

static void mk(const char *rel) {
        _cleanup_free_ char *s = sub_path(rel), *p = cg_path(mnt, s, NULL);

        ck_assert_ptr_nonnull(p);
        ck_assert_msg(mkdir(p, 0755) == 0, "mkdir %s: %s", p, strerror(errno));
}

START_TEST(test_find_mount_and_controllers) {
        _cleanup_free_ char *m = NULL, *buf = NULL;
        struct statfs sfs;
        unsigned mask = 0xffff;
        bool has_memory = false;

        ck_assert_int_eq(cg_find_mount("/proc/self/mountinfo", &m), 0);
        ck_assert_str_eq(m, mnt);
        ck_assert_int_eq(statfs(m, &sfs), 0);
        ck_assert_uint_eq((unsigned long) sfs.f_type, CGROUP2_SUPER_MAGIC);

        /* Compare with the raw file read independently of the parser. */
        ck_assert_int_eq(cg_read_controllers(mnt, "/", &mask), 0);
        ck_assert_int_eq(cg_read_file(mnt, "/", "cgroup.controllers", &buf), 0);
        for (char *save = NULL, *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
                has_memory = has_memory || streq(w, "memory");
        ck_assert_msg(!!(mask & CG_CTRL_MEMORY) == has_memory, "mask %#x vs file", mask);
        printf("cgroup2 at %s, memory controller %s\n", mnt, has_memory ? "present" : "absent");

        /* A child cgroup has the file too (controllers enabled above it). */
        ck_assert_int_eq(cg_read_controllers(mnt, base, &mask), 0);
}
END_TEST

typedef struct Visits {
        char buf[2048];
} Visits;

static int walk_cb(const char *root, const char *path, void *userdata) {
        Visits *v = userdata;

        ck_assert_str_eq(root, mnt);
        strncat(v->buf, path, sizeof v->buf - strlen(v->buf) - 2);
        strcat(v->buf, " ");
        return 0;
}

START_TEST(test_walk_real_tree) {
        _cleanup_free_ char *w = sub_path("walk"), *want = NULL;
        Visits v = {};
        CgroupEvents ev = { true, true };
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 99;

        mk("walk");
        mk("walk/b");
        mk("walk/a");
        mk("walk/a/c");

        /* Real cgroup dirs are full of files: only directories are walked. */
        ck_assert_int_eq(cg_walk(mnt, w, walk_cb, &v), 0);
        ck_assert_int_ge(asprintf(&want, "%s %s/a %s/a/c %s/b ", w, w, w, w), 0);
        ck_assert_str_eq(v.buf, want);

        ck_assert_int_eq(cg_read_events(mnt, w, &ev), 0);
        ck_assert(!ev.populated && !ev.frozen);
        ck_assert_int_eq(cg_read_procs(mnt, w, &pids, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(cg_file_exists(mnt, w, "cgroup.procs"), 1);
        ck_assert_int_eq(cg_file_exists(mnt, w, "no.such.file"), 0);

        ck_assert_int_eq(cg_remove_tree(w), 0);
        ck_assert_int_eq(cg_walk(mnt, w, walk_cb, &v), -ENOENT);
        ck_assert_int_eq(cg_file_exists(mnt, w, "cgroup.procs"), -ENOENT);
}
END_TEST

typedef struct IoSeen {
        unsigned calls;
        uint32_t revents;
} IoSeen;

static int on_trigger(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        IoSeen *seen = userdata;

        seen->calls++;
        seen->revents |= revents;
        /* EPOLLERR stays raised (level-triggered): stop listening. */
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

/* Dispatch events until the trigger was seen or msec passed; the loop
 * stays usable (sd_event_exit() would finish it for good). */
static void run_loop(sd_event *e, const IoSeen *seen, unsigned msec) {
        usec_t end = now_usec() + (usec_t) msec * USEC_PER_MSEC;

        for (usec_t n = now_usec(); seen->calls == 0 && n < end; n = now_usec())
                ck_assert_int_ge(sd_event_run(e, end - n), 0);
}

START_TEST(test_trigger_real) {
        _cleanup_free_ char *t = sub_path("trig"), *path = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *src = NULL;
        _cleanup_close_ int fd = -EBADF, fd1 = -EBADF;
        PsiTrigger two = { PSI_SOME, 150000, 2000000 };
        PsiTrigger one = { PSI_SOME, 150000, 1000000 };
        bool cap = psi_have_cap_sys_resource();
        IoSeen seen = {};
        PsiStats st;
        char buf[64];

        mk("trig");
        path = psi_memory_pressure_path(mnt, "/proc", t);
        ck_assert_ptr_nonnull(path);
        ck_assert_int_eq(psi_read(path, &st), 0);
        ck_assert(st.has_full);

        fd = psi_trigger_open(path, &two);
        ck_assert_msg(fd >= 0, "arming \"some 150000 2000000\" on %s: %s", path, strerror(-fd));

        /* A 1s window is only for CAP_SYS_RESOURCE; our check and the
         * kernel agree. */
        fd1 = psi_trigger_open(path, &one);
        if (cap) {
                ck_assert_int_ge(fd1, 0);
                ck_assert_int_eq(psi_trigger_check(&one, true, NULL), 0);
        } else {
                ck_assert_int_eq(fd1, -EINVAL);
                ck_assert_int_eq(psi_trigger_check(&one, false, NULL), -EINVAL);
        }
        printf("CAP_SYS_RESOURCE %s: 1s window %s by the kernel\n",
               cap ? "present" : "absent", fd1 >= 0 ? "accepted" : "refused (EINVAL)");

        /* An empty cgroup has no stall: armed, accepted by epoll, silent. */
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_ge(sd_event_add_io(e, &src, fd, EPOLLPRI, on_trigger, &seen), 0);
        (void) sd_event_source_set_description(src, "live-psi-trigger");
        run_loop(e, &seen, 300);
        ck_assert_uint_eq(seen.calls, 0);

        /* Remove the cgroup under the armed trigger: the kernel destroys the
         * trigger and reports EPOLLERR (with EPOLLPRI) on the fd, which is
         * how the monitor learns to drop it (observed on 6.x kernels). */
        ck_assert_int_eq(cg_remove_tree(t), 0);
        run_loop(e, &seen, 2000);
        ck_assert_uint_eq(seen.calls, 1);
        ck_assert_msg(seen.revents & EPOLLERR, "revents %#x after rmdir", seen.revents);
        printf("after rmdir the trigger fd reported revents %#x\n", seen.revents);

        /* The file is dead: reads fail with ENODEV; re-arming finds nothing. */
        ck_assert_int_lt(pread(fd, buf, sizeof buf, 0), 0);
        ck_assert_int_eq(errno, ENODEV);
        ck_assert_int_eq(psi_trigger_open(path, &two), -ENOENT);
}
END_TEST

static Suite *live_suite(void) {
        Suite *s = suite_create("live_psi");
        TCase *tc = tcase_create("live");

        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_find_mount_and_controllers);
        tcase_add_test(tc, test_walk_real_tree);
        tcase_add_test(tc, test_trigger_real);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        _cleanup_free_ char *top = NULL;
        struct statfs sfs;
        SRunner *sr;
        int failed, r;

        if (geteuid() != 0) {
                printf("SKIP: live_psi needs root to create cgroups\n");
                return 77;
        }
        r = cg_find_mount("/proc/self/mountinfo", &mnt);
        if (r < 0) {
                printf("SKIP: no cgroup2 mount in /proc/self/mountinfo: %s\n", strerror(-r));
                return 77;
        }
        if (statfs(mnt, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
                printf("SKIP: %s is not a cgroup2 file system\n", mnt);
                free(mnt);
                return 77;
        }
        if (access("/proc/pressure/memory", R_OK) < 0) {
                printf("SKIP: no PSI on this kernel (/proc/pressure/memory: %s)\n", strerror(errno));
                free(mnt);
                return 77;
        }
        if (asprintf(&base, "/cgreap-test-%d-psi", (int) getpid()) < 0)
                return 1;
        top = cg_path(mnt, base, NULL);
        if (!top || mkdir(top, 0755) < 0) {
                printf("SKIP: cannot create %s: %s\n", top ? top : base, strerror(errno));
                free(mnt);
                free(base);
                return 77;
        }

        sr = srunner_create(live_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);

        r = cg_remove_tree(base);
        if (r < 0) {
                printf("FAIL: could not remove %s: %s\n", top, strerror(-r));
                failed++;
        }
        free(mnt);
        free(base);
        return failed == 0 ? 0 : 1;
}
