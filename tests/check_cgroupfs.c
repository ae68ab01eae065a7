/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for cgroupfs: the pure parsers with hostile input, and the
 * readers, walk and /proc helpers over fake trees in a temp dir. */

#include <check.h>
#include <limits.h>
#include <sys/xattr.h>

#include "cgroupfs.h"
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

#define W(rel, ...) ck_assert_int_eq(test_write(tmp, rel, __VA_ARGS__), 0)
#define D(rel) ck_assert_int_eq(test_mkdir_p(tmp, rel), 0)

/* ---- mountinfo ---- */

START_TEST(test_mountinfo_hybrid) {
        /* This host's layout: tmpfs at /sys/fs/cgroup, v1 hierarchies, and
         * cgroup2 at .../unified. Optional fields ("shared:9") vary. */
        const char *buf =
                "31 23 0:28 / /sys/fs/cgroup rw,relatime shared:9 - tmpfs tmpfs rw,mode=755\n"
                "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory\n"
                "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:10 master:1 - cgroup2 cgroup2 rw\n";
        _cleanup_free_ char *m = NULL;

        ck_assert_int_eq(cg_parse_mountinfo_buf(buf, &m), 0);
        ck_assert_str_eq(m, "/sys/fs/cgroup/unified");
}
END_TEST

START_TEST(test_mountinfo_unified_preferred) {
        /* A bind mount of a subtree listed first loses to the full mount at
         * /sys/fs/cgroup; no optional fields at all on the first line. */
        const char *buf =
                "50 1 0:40 /machine.slice /srv/cg rw - cgroup2 cgroup2 rw\n"
                "30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        _cleanup_free_ char *m = NULL;

        ck_assert_int_eq(cg_parse_mountinfo_buf(buf, &m), 0);
        ck_assert_str_eq(m, "/sys/fs/cgroup");
}
END_TEST

START_TEST(test_mountinfo_escapes_and_tricks) {
        /* A mount point with a space (\040), a fake "cgroup2" word in the
         * options before the separator, a source named "-". */
        const char *buf =
                "1 0 0:1 / /not\\040it rw cgroup2 - ext4 /dev/sda rw\n"
                "2 0 0:2 / /my\\040cg\\134x rw shared:1 - cgroup2 - rw\n";
        _cleanup_free_ char *m = NULL;

        ck_assert_int_eq(cg_parse_mountinfo_buf(buf, &m), 0);
        ck_assert_str_eq(m, "/my cg\\x");
}
END_TEST

START_TEST(test_mountinfo_none) {
        char *m = (char *) "untouched";

        ck_assert_int_eq(cg_parse_mountinfo_buf("", &m), -ENOMEDIUM);
        ck_assert_int_eq(cg_parse_mountinfo_buf("garbage\n\n\n", &m), -ENOMEDIUM);
        /* truncated: no fstype after the separator */
        ck_assert_int_eq(cg_parse_mountinfo_buf("41 31 0:38 / /x rw -", &m), -ENOMEDIUM);
        ck_assert_int_eq(cg_parse_mountinfo_buf("41 31 0:38 / /x rw - \n", &m), -ENOMEDIUM);
        /* "-" too early to be the separator */
        ck_assert_int_eq(cg_parse_mountinfo_buf("41 - cgroup2 / /x rw\n", &m), -ENOMEDIUM);
        /* cgroup (v1) only */
        ck_assert_int_eq(cg_parse_mountinfo_buf(
                "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", &m), -ENOMEDIUM);
        ck_assert_str_eq(m, "untouched");
}
END_TEST

START_TEST(test_mountinfo_no_trailing_newline) {
        _cleanup_free_ char *m = NULL;

        ck_assert_int_eq(cg_parse_mountinfo_buf("41 31 0:38 / /cg rw - cgroup2 cgroup2 rw", &m), 0);
        ck_assert_str_eq(m, "/cg");
}
END_TEST

START_TEST(test_find_mount_file) {
        _cleanup_free_ char *p = NULL, *m = NULL;

        W("mountinfo", "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
        ck_assert_int_ge(asprintf(&p, "%s/mountinfo", tmp), 0);
        ck_assert_int_eq(cg_find_mount(p, &m), 0);
        ck_assert_str_eq(m, "/sys/fs/cgroup/unified");
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/nope", tmp), 0);
        ck_assert_int_eq(cg_find_mount(p, &m), -ENOENT);
}
END_TEST

/* ---- paths ---- */

START_TEST(test_cg_path) {
        static const struct { const char *root, *path, *file, *want; } t[] = {
                { "/sys/fs/cgroup", "/", "cgroup.procs", "/sys/fs/cgroup/cgroup.procs" },
                { "/sys/fs/cgroup/", "/", "cgroup.procs", "/sys/fs/cgroup/cgroup.procs" },
                { "/sys/fs/cgroup", "/", NULL, "/sys/fs/cgroup" },
                { "/sys/fs/cgroup", "", NULL, "/sys/fs/cgroup" },
                { "/sys/fs/cgroup", "/a.slice/b.service", "memory.current",
                  "/sys/fs/cgroup/a.slice/b.service/memory.current" },
                { "/sys/fs/cgroup", "a.slice/", NULL, "/sys/fs/cgroup/a.slice" },
                { "/sys/fs/cgroup", "//a//", "x", "/sys/fs/cgroup/a/x" },
                { "/", "/", NULL, "/" },
                { "/", "/a", "f", "/a/f" },
                { "/r", "/", "", "/r" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *s = cg_path(t[i].root, t[i].path, t[i].file);

                ck_assert_ptr_nonnull(s);
                ck_assert_msg(streq(s, t[i].want), "case %zu: got '%s', want '%s'", i, s, t[i].want);
        }
}
END_TEST

START_TEST(test_normalize) {
        static const struct { const char *in, *want; } t[] = {
                { "/", "/" }, { "", "/" }, { "///", "/" },
                { "a", "/a" }, { "/a/", "/a" }, { "//a//b//", "/a/b" },
                { "/system.slice/x.service", "/system.slice/x.service" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *s = cg_path_normalize(t[i].in);

                ck_assert_ptr_nonnull(s);
                ck_assert_msg(streq(s, t[i].want), "'%s' -> '%s'", t[i].in, s);
        }
}
END_TEST

START_TEST(test_path_is_plain) {
        static const char *const plain[] = { "/", "", "/a", "a/b", "//a//b/", "/.a", "/a./b..", "/...", "/a/.x/..y" };
        static const char *const not_plain[] = { ".", "..", "/.", "/..", "../x", "/../x", "/a/../b", "/a/./b",
                                                 "/a/..", "/a/.", "a//./b", "/a/b/../../.." };

        for (size_t i = 0; i < ELEMENTSOF(plain); i++)
                ck_assert_msg(cg_path_is_plain(plain[i]), "'%s' is plain", plain[i]);
        for (size_t i = 0; i < ELEMENTSOF(not_plain); i++)
                ck_assert_msg(!cg_path_is_plain(not_plain[i]), "'%s' is not plain", not_plain[i]);
}
END_TEST

START_TEST(test_basename_below) {
        ck_assert_str_eq(cg_path_basename("/system.slice/nginx.service"), "nginx.service");
        ck_assert_str_eq(cg_path_basename("/"), "/");
        ck_assert_str_eq(cg_path_basename("/a"), "a");
        ck_assert_uint_eq(cg_path_depth("/"), 0);
        ck_assert_uint_eq(cg_path_depth("/a"), 1);
        ck_assert_uint_eq(cg_path_depth("/a/b.slice"), 2);
        ck_assert_uint_eq(cg_path_depth("/a//b/"), 2);  /* repeated and trailing '/' add none */
        ck_assert_str_eq(cg_path_basename("x"), "x");

        ck_assert(cg_path_is_below("/a/b", "/a"));
        ck_assert(cg_path_is_below("/a", "/a"));
        ck_assert(cg_path_is_below("/a/b", "/a/"));
        ck_assert(cg_path_is_below("/a/b", "/"));
        ck_assert(cg_path_is_below("/", "/"));
        ck_assert(!cg_path_is_below("/ab", "/a"));
        ck_assert(!cg_path_is_below("/a", "/a/b"));
        ck_assert(!cg_path_is_below("/b", "/a"));
}
END_TEST

START_TEST(test_path_get_unit) {
        static const struct { const char *path, *unit; bool user; int r; } t[] = {
                { "/system.slice/nginx.service", "nginx.service", false, 0 },
                { "/system.slice/nginx.service/worker/x", "nginx.service", false, 0 },
                { "/system.slice", "system.slice", false, 0 },
                { "/init.scope", "init.scope", false, 0 },
                { "/user.slice/user-1000.slice/session-2.scope", "session-2.scope", false, 0 },
                { "/user.slice/user-1000.slice/user@1000.service", "user@1000.service", false, 0 },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", "x.scope", true, 0 },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1.scope/tab",
                  "app-firefox-1.scope", true, 0 },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice", "app.slice", true, 0 },
                { "/user.slice/user-1000.slice/user@1000.service/init.scope", "init.scope", true, 0 },
                /* a container's systemd below a scope is not our unit */
                { "/machine.slice/libpod-abc.scope/system.slice/y.service", "libpod-abc.scope", false, 0 },
                /* "user@x.service" with a non-numeric uid is an ordinary service */
                { "/system.slice/user@x.service/a.scope", "user@x.service", false, 0 },
                { "/", NULL, false, -ENXIO },
                { "", NULL, false, -ENXIO },
                { "/foo/bar.service", NULL, false, -ENXIO },
                { "/.service", NULL, false, -ENXIO },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *u = NULL;
                bool user = !t[i].user;
                int r = cg_path_get_unit(t[i].path, &u, &user);

                ck_assert_msg(r == t[i].r, "case %zu (%s): r=%d", i, t[i].path, r);
                if (r < 0) {
                        ck_assert_ptr_null(u);
                        continue;
                }
                ck_assert_msg(streq(u, t[i].unit), "case %zu: got '%s', want '%s'", i, u, t[i].unit);
                ck_assert_msg(user == t[i].user, "case %zu: user=%d", i, user);
        }
}
END_TEST

/* ---- parsers ---- */

START_TEST(test_controllers) {
        unsigned m = 12345;

        ck_assert_int_eq(cg_parse_controllers_buf("cpuset cpu io memory hugetlb pids rdma misc\n", &m), 0);
        ck_assert_uint_eq(m, CG_CTRL_CPUSET|CG_CTRL_CPU|CG_CTRL_IO|CG_CTRL_MEMORY|CG_CTRL_HUGETLB|CG_CTRL_PIDS|
                             CG_CTRL_RDMA|CG_CTRL_MISC);
        ck_assert_int_eq(cg_parse_controllers_buf("hugetlb\n", &m), 0);
        ck_assert_uint_eq(m, CG_CTRL_HUGETLB);
        /* a controller of a later kernel has no bit */
        ck_assert_int_eq(cg_parse_controllers_buf("dmem pids\n", &m), 0);
        ck_assert_uint_eq(m, CG_CTRL_PIDS);
        ck_assert_int_eq(cg_parse_controllers_buf("", &m), 0);
        ck_assert_uint_eq(m, 0);
        /* no prefix matches: "memoryx", "cpus" */
        ck_assert_int_eq(cg_parse_controllers_buf("memoryx cpus memory", &m), 0);
        ck_assert_uint_eq(m, CG_CTRL_MEMORY);
}
END_TEST

/* The list keeps every name, also those no bit stands for. */
START_TEST(test_controllers_list) {
        static const char *const want[] = { "cpuset", "cpu", "hugetlb", "dmem", "x_y2" };
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        ck_assert_int_eq(cg_parse_controllers_list_buf("cpuset cpu  hugetlb\tdmem x_y2\n", &l), 0);
        while (l[n])
                n++;
        ck_assert_uint_eq(n, ELEMENTSOF(want));
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(l[i], want[i]);
        l = strv_free(l);
        ck_assert_int_eq(cg_parse_controllers_list_buf("\n", &l), 0);
        ck_assert_ptr_nonnull(l);
        ck_assert_ptr_null(l[0]);
        l = strv_free(l);
        ck_assert_int_eq(cg_parse_controllers_list_buf("", &l), 0);
        ck_assert_ptr_null(l[0]);
}
END_TEST

START_TEST(test_u64) {
        uint64_t v = 7;

        ck_assert_int_eq(cg_parse_u64_buf("0\n", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(cg_parse_u64_buf("123456789", &v), 0);
        ck_assert_uint_eq(v, 123456789);
        ck_assert_int_eq(cg_parse_u64_buf("max\n", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(cg_parse_u64_buf("18446744073709551615\n", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);

        v = 7;
        ck_assert_int_eq(cg_parse_u64_buf("18446744073709551616\n", &v), -ERANGE);
        ck_assert_int_eq(cg_parse_u64_buf("99999999999999999999999", &v), -ERANGE);
        ck_assert_int_eq(cg_parse_u64_buf("", &v), -EINVAL);
        ck_assert_int_eq(cg_parse_u64_buf("\n", &v), -EINVAL);
        ck_assert_int_eq(cg_parse_u64_buf("-1\n", &v), -EINVAL);
        ck_assert_int_eq(cg_parse_u64_buf(" 5", &v), -EINVAL);
        ck_assert_int_eq(cg_parse_u64_buf("5x", &v), -EINVAL);
        ck_assert_int_eq(cg_parse_u64_buf("5 6", &v), -EINVAL);
        ck_assert_int_eq(cg_parse_u64_buf("maxi", &v), -EINVAL);
        ck_assert_int_eq(cg_parse_u64_buf("0x10", &v), -EINVAL);
        ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(test_procs) {
        _cleanup_free_ pid_t *p = NULL;
        pid_t *q = (pid_t *) 0x1;
        size_t n = 99;

        ck_assert_int_eq(cg_parse_procs_buf("1\n42\n4194304\n", &p, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq(p[0], 1);
        ck_assert_int_eq(p[1], 42);
        ck_assert_int_eq(p[2], 4194304);
        free(p);
        p = NULL;

        /* no trailing newline, many entries (forces growth) */
        {
                char buf[4096] = "";
                size_t l = 0;

                for (int i = 1; i <= 100; i++)
                        l += (size_t) snprintf(buf + l, sizeof buf - l, i == 100 ? "%d" : "%d\n", i * 10);
                ck_assert_int_eq(cg_parse_procs_buf(buf, &p, &n), 0);
                ck_assert_uint_eq(n, 100);
                ck_assert_int_eq(p[99], 1000);
                free(p);
                p = NULL;
        }

        ck_assert_int_eq(cg_parse_procs_buf("", &p, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(p);

        /* 0 is a process in another pid namespace: left out, not an error. */
        ck_assert_int_eq(cg_parse_procs_buf("0\n", &p, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(p);
        ck_assert_int_eq(cg_parse_procs_buf("0\n17\n0\n0\n23\n", &p, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(p[0], 17);
        ck_assert_int_eq(p[1], 23);
        free(p);
        p = NULL;

        n = 99;
        ck_assert_int_eq(cg_parse_procs_buf("1\nabc\n", &q, &n), -EINVAL);
        ck_assert_int_eq(cg_parse_procs_buf("-5\n", &q, &n), -EINVAL);
        ck_assert_int_eq(cg_parse_procs_buf("2147483648\n", &q, &n), -ERANGE);
        ck_assert_int_eq(cg_parse_procs_buf("99999999999999999999999\n", &q, &n), -ERANGE);
        ck_assert_int_eq(cg_parse_procs_buf("12 \n", &q, &n), -EINVAL);
        ck_assert_ptr_eq(q, (pid_t *) 0x1);
        ck_assert_uint_eq(n, 99);
}
END_TEST

START_TEST(test_events) {
        CgroupEvents e = { true, true };

        ck_assert_int_eq(cg_parse_events_buf("populated 0\nfrozen 0\n", &e), 0);
        ck_assert(!e.populated && !e.frozen);
        ck_assert_int_eq(cg_parse_events_buf("populated 1\nfrozen 1", &e), 0);
        ck_assert(e.populated && e.frozen);
        /* old kernel: no frozen; unknown future key ignored */
        ck_assert_int_eq(cg_parse_events_buf("populated 1\nnew_key 17\n", &e), 0);
        ck_assert(e.populated && !e.frozen);

        e = (CgroupEvents) { true, true };
        ck_assert_int_eq(cg_parse_events_buf("", &e), -EINVAL);
        ck_assert_int_eq(cg_parse_events_buf("frozen 0\n", &e), -EINVAL);
        ck_assert_int_eq(cg_parse_events_buf("populated\n", &e), -EINVAL);
        ck_assert_int_eq(cg_parse_events_buf("populated 2\n", &e), -EINVAL);
        ck_assert_int_eq(cg_parse_events_buf("populated -1\n", &e), -EINVAL);
        ck_assert_int_eq(cg_parse_events_buf("populated 1x\n", &e), -EINVAL);
        ck_assert_int_eq(cg_parse_events_buf("Hello world\n", &e), -EINVAL);
        ck_assert_int_eq(cg_parse_events_buf("populated 99999999999999999999999\n", &e), -ERANGE);
        ck_assert(e.populated && e.frozen);
}
END_TEST

START_TEST(test_memory_events) {
        MemoryEvents m;

        memset(&m, 0xff, sizeof m);
        ck_assert_int_eq(cg_parse_memory_events_buf(
                "low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\n", &m), 0);
        ck_assert_uint_eq(m.low, 1);
        ck_assert_uint_eq(m.high, 2);
        ck_assert_uint_eq(m.max, 3);
        ck_assert_uint_eq(m.oom, 4);
        ck_assert_uint_eq(m.oom_kill, 5);
        ck_assert_uint_eq(m.oom_group_kill, 6);

        /* missing keys are 0, unknown ones ignored, no trailing newline */
        ck_assert_int_eq(cg_parse_memory_events_buf("oom_kill 9\nsock_throttled 3", &m), 0);
        ck_assert_uint_eq(m.oom_kill, 9);
        ck_assert_uint_eq(m.max, 0);
        ck_assert_uint_eq(m.oom_group_kill, 0);
        ck_assert_int_eq(cg_parse_memory_events_buf("", &m), 0);
        ck_assert_uint_eq(m.oom_kill, 0);
        /* "oom" must not match "oom_kill" by prefix */
        ck_assert_int_eq(cg_parse_memory_events_buf("oom_kill 2\n", &m), 0);
        ck_assert_uint_eq(m.oom, 0);
        ck_assert_uint_eq(m.max, 0);
        ck_assert_uint_eq(m.oom_kill, 2);

        m.oom = 77;
        ck_assert_int_eq(cg_parse_memory_events_buf("max 18446744073709551616\n", &m), -ERANGE);
        ck_assert_int_eq(cg_parse_memory_events_buf("max -1\n", &m), -EINVAL);
        ck_assert_int_eq(cg_parse_memory_events_buf("max\n", &m), -EINVAL);
        ck_assert_int_eq(cg_parse_memory_events_buf("max 1\ngarbage\n", &m), -EINVAL);
        ck_assert_int_eq(cg_parse_memory_events_buf(" max 1\n", &m), -EINVAL);
        ck_assert_uint_eq(m.oom, 77);
}
END_TEST

START_TEST(test_memory_stat) {
        MemoryStat s = {};

        ck_assert_int_eq(cg_parse_memory_stat_buf(
                "anon 4096\nfile 8192\nkernel_stack 16384\nkernel 100\npagetables 5\n"
                "shmem 12\nfile_mapped 3\nsock 0\nanon_thp 0\n", &s), 0);
        ck_assert_uint_eq(s.anon, 4096);
        ck_assert_uint_eq(s.file, 8192);
        ck_assert_uint_eq(s.kernel, 100);
        ck_assert_uint_eq(s.shmem, 12);
        ck_assert_uint_eq(s.sock, 0);

        ck_assert_int_eq(cg_parse_memory_stat_buf(
                "active_file 10\ninactive_file 20\nslab_reclaimable 30\nworkingset_refault_anon 1\n"
                "workingset_refault_file 40\n", &s), 0);
        ck_assert_uint_eq(s.active_file, 10);
        ck_assert_uint_eq(s.inactive_file, 20);
        ck_assert_uint_eq(s.slab_reclaimable, 30);
        ck_assert_uint_eq(s.workingset_refault_file, 40);

        /* older kernel without "kernel" */
        ck_assert_int_eq(cg_parse_memory_stat_buf("anon 1\nkernel_stack 2\n", &s), 0);
        ck_assert_uint_eq(s.anon, 1);
        ck_assert_uint_eq(s.kernel, 0);

        ck_assert_int_eq(cg_parse_memory_stat_buf("anon one\n", &s), -EINVAL);
        ck_assert_uint_eq(s.anon, 1);
}
END_TEST

START_TEST(test_proc_cgroup) {
        _cleanup_free_ char *p = NULL;
        char *q = NULL;

        ck_assert_int_eq(cg_parse_proc_cgroup_buf("0::/system.slice/a.service\n", &p), 0);
        ck_assert_str_eq(p, "/system.slice/a.service");
        free(p);
        /* hybrid: v1 lines first; no trailing newline */
        ck_assert_int_eq(cg_parse_proc_cgroup_buf(
                "9:name=systemd:/x\n4:memory:/y\n0::/user.slice/u.scope", &p), 0);
        ck_assert_str_eq(p, "/user.slice/u.scope");
        free(p);
        ck_assert_int_eq(cg_parse_proc_cgroup_buf("0::/\n", &p), 0);
        ck_assert_str_eq(p, "/");

        ck_assert_int_eq(cg_parse_proc_cgroup_buf("", &q), -ENODATA);
        ck_assert_int_eq(cg_parse_proc_cgroup_buf("4:memory:/y\n10::/z\n", &q), -ENODATA);
        ck_assert_int_eq(cg_parse_proc_cgroup_buf("0::\n", &q), -EINVAL);
        ck_assert_int_eq(cg_parse_proc_cgroup_buf("0::relative\n", &q), -EINVAL);
        ck_assert_int_eq(cg_parse_proc_cgroup_buf("0::/gone.scope (deleted)\n", &q), -ENODEV);
        ck_assert_ptr_null(q);
}
END_TEST

/* /proc/vmstat's oom_kill: the kernel OOM killer's kills since boot, for a
 * monitor of "/", which has no memory.events. The real file parses. */
START_TEST(test_meminfo) {
        ProcMeminfo m = { .total = 2, .available = 1 };

        ck_assert_int_eq(proc_parse_meminfo_buf(
                "MemTotal:       16318180 kB\nMemFree:         1000 kB\n"
                "MemAvailable:    8000000 kB\nBuffers: 1 kB\n", &m), 0);
        ck_assert_uint_eq(m.total, 16318180ULL * 1024);
        ck_assert_uint_eq(m.available, 8000000ULL * 1024);
        /* No swap lines (CONFIG_SWAP=n): no swap, not an error. */
        ck_assert_uint_eq(m.swap_total, 0);
        ck_assert_uint_eq(m.swap_free, 0);

        ck_assert_int_eq(proc_parse_meminfo_buf(
                "MemTotal: 100 kB\nMemAvailable: 50 kB\nActive(file): 7 kB\nInactive(file): 8 kB\n"
                "SwapTotal: 40 kB\nSwapFree: 30 kB\n", &m), 0);
        ck_assert_uint_eq(m.swap_total, 40 * 1024);
        ck_assert_uint_eq(m.swap_free, 30 * 1024);
        ck_assert_uint_eq(m.active_file, 7 * 1024);
        ck_assert_uint_eq(m.inactive_file, 8 * 1024);

        m = (ProcMeminfo) { .total = 2, .available = 1 };
        ck_assert_int_eq(proc_parse_meminfo_buf("MemTotal: 5 kB\n", &m), -EINVAL);
        ck_assert_int_eq(proc_parse_meminfo_buf("", &m), -EINVAL);
        ck_assert_int_eq(proc_parse_meminfo_buf("MemTotal: x kB\nMemAvailable: 1 kB\n", &m), -EINVAL);
        ck_assert_int_eq(proc_parse_meminfo_buf("MemTotal: 5 MB\nMemAvailable: 1 kB\n", &m), -EINVAL);
        ck_assert_int_eq(proc_parse_meminfo_buf("MemTotal: 5\nMemAvailable: 1 kB\n", &m), -EINVAL);
        ck_assert_int_eq(proc_parse_meminfo_buf(
                "MemTotal: 99999999999999999 kB\nMemAvailable: 1 kB\n", &m), -ERANGE);
        /* An optional line that is there must be well-formed. */
        ck_assert_int_eq(proc_parse_meminfo_buf("MemTotal: 5 kB\nMemAvailable: 1 kB\nSwapFree: -1 kB\n", &m),
                         -EINVAL);
        /* "XMemTotal:" is not MemTotal: keys match at line start only */
        ck_assert_int_eq(proc_parse_meminfo_buf("XMemTotal: 5 kB\nMemAvailable: 1 kB\n", &m), -EINVAL);
        ck_assert_uint_eq(m.available, 1);
        ck_assert_uint_eq(m.total, 2);
}
END_TEST

START_TEST(test_vmstat) {
        ProcVmstat v = { .oom_kill = 9 };

        ck_assert_int_eq(proc_parse_vmstat_buf("nr_free_pages 5\nworkingset_refault_anon 3\n"
                                               "workingset_refault_file 77\noom_kill 2\n", &v), 0);
        ck_assert_uint_eq(v.workingset_refault_file, 77);
        ck_assert_uint_eq(v.oom_kill, 2);
        ck_assert(v.has_oom_kill);
        /* No oom_kill line before Linux 4.13; "xoom_kill" is not it. */
        ck_assert_int_eq(proc_parse_vmstat_buf("nr_free_pages 100\nxoom_kill 1\n", &v), 0);
        ck_assert(!v.has_oom_kill);
        /* Before Linux 5.9 the file refaults were "workingset_refault". */
        ck_assert_int_eq(proc_parse_vmstat_buf("workingset_refault 12\n", &v), 0);
        ck_assert_uint_eq(v.workingset_refault_file, 12);
        ck_assert_uint_eq(v.oom_kill, 0);
        ck_assert_int_eq(proc_parse_vmstat_buf("oom_kill x\n", &v), -EINVAL);
}
END_TEST

/* ---- readers over a fake tree ---- */

START_TEST(test_read_write_files) {
        _cleanup_free_ char *buf = NULL, *big = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        uint64_t v;
        size_t n;
        CgroupEvents ev;
        MemoryEvents me;
        MemoryStat ms;
        unsigned mask;

        W("cgroup.controllers", "cpu io memory pids\n");
        W("a.slice/memory.current", "4096\n");
        W("a.slice/memory.max", "max\n");
        W("a.slice/cgroup.procs", "10\n20\n");
        W("a.slice/cgroup.events", "populated 1\nfrozen 0\n");
        W("a.slice/memory.events", "oom_kill 3\n");
        W("a.slice/memory.stat", "anon 5\n");
        W("a.slice/cgroup.kill", "%s", "");

        ck_assert_int_eq(cg_read_controllers(tmp, "/", &mask), 0);
        ck_assert_uint_eq(mask, CG_CTRL_CPU|CG_CTRL_IO|CG_CTRL_MEMORY|CG_CTRL_PIDS);
        {
                _cleanup_strv_free_ char **l = NULL;

                ck_assert_int_eq(cg_read_controllers_list(tmp, "/", &l), 0);
                ck_assert_str_eq(l[0], "cpu");
                ck_assert_str_eq(l[3], "pids");
                ck_assert_ptr_null(l[4]);
                ck_assert_int_eq(cg_read_controllers_list(tmp, "/gone", &l), -ENOENT);
        }
        ck_assert_int_eq(cg_read_u64(tmp, "/a.slice", "memory.current", &v), 0);
        ck_assert_uint_eq(v, 4096);
        ck_assert_int_eq(cg_read_u64(tmp, "/a.slice", "memory.max", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(cg_read_procs(tmp, "/a.slice", &pids, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(pids[1], 20);
        ck_assert_int_eq(cg_read_events(tmp, "/a.slice", &ev), 0);
        ck_assert(ev.populated);
        ck_assert_int_eq(cg_read_memory_events(tmp, "/a.slice", &me), 0);
        ck_assert_uint_eq(me.oom_kill, 3);
        ck_assert_int_eq(cg_read_memory_stat(tmp, "/a.slice", &ms), 0);
        ck_assert_uint_eq(ms.anon, 5);

        /* vanished cgroup */
        ck_assert_int_eq(cg_read_u64(tmp, "/gone", "memory.current", &v), -ENOENT);
        ck_assert(ERRNO_IS_VANISHED(cg_read_events(tmp, "/gone", &ev)));

        /* write: one write() of exactly the value, no NUL, no newline */
        ck_assert_int_eq(cg_write_file(tmp, "/a.slice", "cgroup.kill", "1"), 0);
        ck_assert_int_eq(cg_read_file(tmp, "/a.slice", "cgroup.kill", &buf), 0);
        ck_assert_str_eq(buf, "1");
        /* never creates files (cgroupfs files exist or the kernel lacks them) */
        ck_assert_int_eq(cg_write_file(tmp, "/a.slice", "memory.high", "max"), -ENOENT);

        /* files larger than one read() chunk come back whole */
        big = malloc(100001);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', 100000);
        big[100000] = 0;
        W("big", "%s", big);
        free(buf);
        buf = NULL;
        ck_assert_int_eq(cg_read_file(tmp, "/", "big", &buf), 0);
        ck_assert_uint_eq(strlen(buf), 100000);
        ck_assert_str_eq(buf, big);
}
END_TEST

START_TEST(test_file_exists_owner) {
        uid_t u = 12345;

        W("a/cgroup.kill", "%s", "");
        D("b");
        ck_assert_int_eq(cg_file_exists(tmp, "/a", "cgroup.kill"), 1);
        ck_assert_int_eq(cg_file_exists(tmp, "/b", "cgroup.kill"), 0);
        ck_assert_int_eq(cg_file_exists(tmp, "/gone", "cgroup.kill"), -ENOENT);

        ck_assert_int_eq(cg_get_owner(tmp, "/a", &u), 0);
        ck_assert_uint_eq(u, geteuid());
        u = 12345;
        ck_assert_int_eq(cg_get_owner(tmp, "/gone", &u), -ENOENT);
        ck_assert_int_eq(cg_get_owner(tmp, "/a/cgroup.kill", &u), -ENOTDIR);
        ck_assert_uint_eq(u, 12345);
}
END_TEST

START_TEST(test_xattr) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ char *shm = NULL;
        const char *where;
        int r;

        D("cg");
        ck_assert_int_ge(asprintf(&dir, "%s/cg", tmp), 0);
        where = tmp;
        if (setxattr(dir, "user.oomd_omit", "1", 1, 0) < 0) {
                ck_assert_msg(IN_SET(errno, EOPNOTSUPP, EPERM), "setxattr: %s", strerror(errno));
                /* The temp dir's file system has no user.* xattrs: tmpfs
                 * at /dev/shm has them on current kernels. */
                shm = strdup("/dev/shm/cgreap-test-XXXXXX");
                ck_assert_ptr_nonnull(shm);
                if (!mkdtemp(shm)) {
                        free(shm);
                        shm = NULL;
                }
                free(dir);
                dir = NULL;
                if (shm) {
                        ck_assert_int_ge(asprintf(&dir, "%s/cg", shm), 0);
                        ck_assert_int_eq(mkdir(dir, 0755), 0);
                }
                if (!shm || setxattr(dir, "user.oomd_omit", "1", 1, 0) < 0) {
                        /* Absent attribute on a file system without xattrs
                         * still reads as 0. */
                        ck_assert_int_eq(cg_has_xattr(tmp, "/cg", "user.oomd_omit"), 0);
                        test_rm_rf(shm);
                        test_skip_part("test_xattr: no user.* xattr support in %s or /dev/shm, "
                                       "skipping the positive case\n", tmp);
                        return;
                }
                where = shm;
        }

        ck_assert_int_eq(cg_has_xattr(where, "/cg", "user.oomd_omit"), 1);
        ck_assert_int_eq(cg_has_xattr(where, "/cg", "user.oomd_avoid"), 0);
        r = cg_has_xattr(where, "/gone", "user.oomd_omit");
        ck_assert_int_eq(r, -ENOENT);
        test_rm_rf(shm);
}
END_TEST

/* ---- walk ---- */

typedef struct WalkLog {
        char buf[4096];
        const char *skip;       /* return 1 for this path */
        const char *abort_at;   /* return -ECANCELED here */
        const char *rmdir_rel;  /* remove this dir (relative to tmp) when visiting the root */
} WalkLog;

static int walk_cb(const char *root, const char *path, void *userdata) {
        WalkLog *l = userdata;

        ck_assert_str_eq(root, tmp);
        strncat(l->buf, path, sizeof l->buf - strlen(l->buf) - 2);
        strcat(l->buf, " ");
        if (l->rmdir_rel && streq(path, "/")) {
                char p[PATH_MAX];

                snprintf(p, sizeof p, "%s/%s", tmp, l->rmdir_rel);
                test_rm_rf(p);
        }
        if (streq_ptr(l->abort_at, path))
                return -ECANCELED;
        if (streq_ptr(l->skip, path))
                return 1;
        return 0;
}

static void make_tree(void) {
        D("b.slice/y.service");
        D("b.slice/x.service/sub");
        D("a.slice");
        D("c.slice");
        W("cgroup.procs", "1\n");
        W("b.slice/cgroup.procs", "%s", "");
}

START_TEST(test_walk_order) {
        WalkLog l = {};
        char p[PATH_MAX];

        make_tree();
        /* a symlink to a directory is not a cgroup and must not be walked */
        snprintf(p, sizeof p, "%s/zlink", tmp);
        ck_assert_int_eq(symlink("b.slice", p), 0);

        ck_assert_int_eq(cg_walk(tmp, "/", walk_cb, &l), 0);
        ck_assert_str_eq(l.buf, "/ /a.slice /b.slice /b.slice/x.service /b.slice/x.service/sub "
                                "/b.slice/y.service /c.slice ");

        memset(&l, 0, sizeof l);
        ck_assert_int_eq(cg_walk(tmp, "b.slice//", walk_cb, &l), 0);
        ck_assert_str_eq(l.buf, "/b.slice /b.slice/x.service /b.slice/x.service/sub /b.slice/y.service ");
}
END_TEST

START_TEST(test_walk_skip_abort) {
        WalkLog l = { .skip = "/b.slice" };

        make_tree();
        ck_assert_int_eq(cg_walk(tmp, "/", walk_cb, &l), 0);
        ck_assert_str_eq(l.buf, "/ /a.slice /b.slice /c.slice ");

        memset(&l, 0, sizeof l);
        l.abort_at = "/b.slice/x.service";
        ck_assert_int_eq(cg_walk(tmp, "/", walk_cb, &l), -ECANCELED);
        ck_assert_str_eq(l.buf, "/ /a.slice /b.slice /b.slice/x.service ");
}
END_TEST

START_TEST(test_walk_vanished) {
        WalkLog l = { .rmdir_rel = "b.slice" };

        make_tree();
        /* Removed while its parent is being visited, before the listing. */
        ck_assert_int_eq(cg_walk(tmp, "/", walk_cb, &l), 0);
        ck_assert_str_eq(l.buf, "/ /a.slice /c.slice ");

        /* top itself gone: an error, the caller asked for it by name */
        memset(&l, 0, sizeof l);
        ck_assert_int_eq(cg_walk(tmp, "/gone", walk_cb, &l), -ENOENT);
        ck_assert_str_eq(l.buf, "");
}
END_TEST

static int walk_rm_sibling_cb(const char *root, const char *path, void *userdata) {
        WalkLog *l = userdata;

        strncat(l->buf, path, sizeof l->buf - strlen(l->buf) - 2);
        strcat(l->buf, " ");
        /* The parent's children were listed before a.slice was visited:
         * removing b.slice now makes the walk meet ENOENT on openat(). */
        if (streq(path, "/a.slice")) {
                char p[PATH_MAX];

                snprintf(p, sizeof p, "%s/b.slice", root);
                test_rm_rf(p);
        }
        return 0;
}

START_TEST(test_walk_vanished_after_listing) {
        WalkLog l = {};

        make_tree();
        ck_assert_int_eq(cg_walk(tmp, "/", walk_rm_sibling_cb, &l), 0);
        ck_assert_str_eq(l.buf, "/ /a.slice /c.slice ");
}
END_TEST

START_TEST(test_list_children) {
        _cleanup_strv_free_ char **l = NULL;

        make_tree();
        W("memory.current", "1\n");
        ck_assert_int_eq(cg_list_children(tmp, "/", &l), 0);
        ck_assert_ptr_nonnull(l[2]);
        ck_assert_str_eq(l[0], "a.slice");
        ck_assert_str_eq(l[1], "b.slice");
        ck_assert_str_eq(l[2], "c.slice");
        ck_assert_ptr_null(l[3]);
        l = strv_free(l);

        ck_assert_int_eq(cg_list_children(tmp, "/a.slice", &l), 0);
        ck_assert_ptr_null(l[0]);
        l = strv_free(l);
        ck_assert_int_eq(cg_list_children(tmp, "/nope", &l), -ENOENT);
        ck_assert_ptr_null(l);
}
END_TEST

/* ---- /proc helpers over a fake proc root ---- */

START_TEST(test_proc_helpers) {
        _cleanup_free_ char *p = NULL;
        uint64_t rss = 1;
        int adj = 5;

        W("proc/100/oom_score_adj", "-900\n");
        W("proc/100/status", "Name:\tx\nVmPeak:\t 9 kB\nVmRSS:\t    1234 kB\nRssAnon: 1 kB\n");
        W("proc/100/cgroup", "0::/system.slice/a.service\n");
        W("proc/101/oom_score_adj", "800");
        W("proc/101/status", "Name:\tkthreadd\n");
        W("proc/101/statm", "0 3 0 0 0 0 0\n");
        W("proc/102/oom_score_adj", "1001\n");
        W("proc/103/oom_score_adj", "abc\n");
        W("proc/103/status", "VmRSS: lots kB\n");
        W("proc/meminfo", "MemTotal: 100 kB\nMemAvailable: 50 kB\n");
        ck_assert_int_ge(asprintf(&p, "%s/proc", tmp), 0);

        ck_assert_int_eq(proc_read_oom_score_adj(p, 100, &adj), 0);
        ck_assert_int_eq(adj, -900);
        ck_assert_int_eq(proc_read_oom_score_adj(p, 101, &adj), 0);
        ck_assert_int_eq(adj, 800);
        adj = 5;
        ck_assert_int_eq(proc_read_oom_score_adj(p, 102, &adj), -ERANGE);
        ck_assert_int_eq(proc_read_oom_score_adj(p, 103, &adj), -EINVAL);
        ck_assert_int_eq(proc_read_oom_score_adj(p, 999, &adj), -ESRCH);
        ck_assert_int_eq(proc_read_oom_score_adj(p, 0, &adj), -EINVAL);
        ck_assert_int_eq(adj, 5);

        ck_assert_int_eq(proc_read_rss(p, 100, &rss), 0);
        ck_assert_uint_eq(rss, 1234 * 1024);
        ck_assert_int_eq(proc_read_rss(p, 101, &rss), 0);
        ck_assert_uint_eq(rss, 3 * (uint64_t) sysconf(_SC_PAGESIZE));
        rss = 1;
        ck_assert_int_eq(proc_read_rss(p, 103, &rss), -EINVAL);
        ck_assert_int_eq(proc_read_rss(p, 999, &rss), -ESRCH);
        ck_assert_uint_eq(rss, 1);

        {
                _cleanup_free_ char *cg = NULL;
                char *none = NULL;

                ck_assert_int_eq(cg_pid_get_path(p, 100, &cg), 0);
                ck_assert_str_eq(cg, "/system.slice/a.service");
                ck_assert_int_eq(cg_pid_get_path(p, 999, &none), -ESRCH);
                ck_assert_ptr_null(none);
        }

        ProcMeminfo mi;
        ck_assert_int_eq(proc_read_meminfo(p, &mi), 0);
        ck_assert_uint_eq(mi.available, 50 * 1024);
        ck_assert_uint_eq(mi.total, 100 * 1024);
}
END_TEST

/* A fake process: comm, status with its uids, exe pointing at exe, cgroup. */
static void fake_proc(int pid, const char *comm, const char *uids, const char *exe, const char *cgroup) {
        char rel[64], link[4096];

        snprintf(rel, sizeof rel, "proc/%d/comm", pid);
        W(rel, "%s\n", comm);
        snprintf(rel, sizeof rel, "proc/%d/status", pid);
        W(rel, "Name:\t%s\nUid:\t%s\nGid:\t0\t0\t0\t0\n", comm, uids);
        snprintf(rel, sizeof rel, "proc/%d/cgroup", pid);
        W(rel, "0::%s\n", cgroup);
        snprintf(link, sizeof link, "%s/proc/%d/exe", tmp, pid);
        ck_assert_int_eq(symlink(exe, link), 0);
}

/* cgreapctl protects the cgroup of the running agent: only a root process
 * whose executable is called cgreapd counts, not anybody's process that is
 * merely named so. */
START_TEST(test_find_root_program) {
        _cleanup_free_ char *p = NULL, *cg = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/proc", tmp), 0);
        fake_proc(100, "cgreapd", "1000\t1000\t1000\t1000", "/home/u/cgreapd", "/user.slice/u.scope");
        fake_proc(200, "cgreapd", "0\t0\t0\t0", "/usr/bin/sleep", "/system.slice/fake.service");
        fake_proc(250, "cgreapd", "1000\t0\t0\t0", "/usr/sbin/cgreapd", "/user.slice/setuid.scope");
        fake_proc(300, "sshd", "0\t0\t0\t0", "/usr/sbin/cgreapd", "/system.slice/ssh.service");
        W("proc/meminfo", "MemTotal: 1 kB\n");
        ck_assert_int_eq(proc_find_root_program_cgroup(p, "cgreapd", &cg), 0);
        ck_assert_ptr_null(cg);

        fake_proc(400, "cgreapd", "0\t0\t0\t0", "/usr/sbin/cgreapd (deleted)", "/system.slice/cgreapd.service");
        ck_assert_int_eq(proc_find_root_program_cgroup(p, "cgreapd", &cg), 1);
        ck_assert_str_eq(cg, "/system.slice/cgreapd.service");
}
END_TEST

START_TEST(test_proc_self) {
        /* The real /proc: this process exists and has sane values. */
        uint64_t rss = 0;
        int adj = 12345;

        ck_assert_int_eq(proc_read_oom_score_adj("/proc", getpid(), &adj), 0);
        ck_assert(adj >= -1000 && adj <= 1000);
        ck_assert_int_eq(proc_read_rss("/proc", getpid(), &rss), 0);
        ck_assert_uint_gt(rss, 0);
        ProcMeminfo mi;
        ProcVmstat vm;
        ck_assert_int_eq(proc_read_meminfo("/proc", &mi), 0);
        ck_assert_uint_gt(mi.total, 0);
        ck_assert_uint_le(mi.available, mi.total);
        ck_assert_uint_le(mi.swap_free, mi.swap_total);
        ck_assert_int_eq(proc_read_vmstat("/proc", &vm), 0);
}
END_TEST

static Suite *cgroupfs_suite(void) {
        Suite *s = suite_create("cgroupfs");
        TCase *tc;

        tc = tcase_create("parse");
        tcase_add_test(tc, test_mountinfo_hybrid);
        tcase_add_test(tc, test_mountinfo_unified_preferred);
        tcase_add_test(tc, test_mountinfo_escapes_and_tricks);
        tcase_add_test(tc, test_mountinfo_none);
        tcase_add_test(tc, test_mountinfo_no_trailing_newline);
        tcase_add_test(tc, test_cg_path);
        tcase_add_test(tc, test_normalize);
        tcase_add_test(tc, test_path_is_plain);
        tcase_add_test(tc, test_basename_below);
        tcase_add_test(tc, test_path_get_unit);
        tcase_add_test(tc, test_controllers);
        tcase_add_test(tc, test_controllers_list);
        tcase_add_test(tc, test_u64);
        tcase_add_test(tc, test_procs);
        tcase_add_test(tc, test_events);
        tcase_add_test(tc, test_memory_events);
        tcase_add_test(tc, test_memory_stat);
        tcase_add_test(tc, test_vmstat);
        tcase_add_test(tc, test_proc_cgroup);
        tcase_add_test(tc, test_meminfo);
        suite_add_tcase(s, tc);

        tc = tcase_create("tree");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_find_mount_file);
        tcase_add_test(tc, test_read_write_files);
        tcase_add_test(tc, test_file_exists_owner);
        tcase_add_test(tc, test_xattr);
        tcase_add_test(tc, test_walk_order);
        tcase_add_test(tc, test_walk_skip_abort);
        tcase_add_test(tc, test_walk_vanished);
        tcase_add_test(tc, test_walk_vanished_after_listing);
        tcase_add_test(tc, test_list_children);
        tcase_add_test(tc, test_proc_helpers);
        tcase_add_test(tc, test_find_root_program);
        tcase_add_test(tc, test_proc_self);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(cgroupfs_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
