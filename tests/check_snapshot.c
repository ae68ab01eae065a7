/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for snapshot: fake cgroup and proc trees in a temp dir, with
 * vanishing cgroups and processes, root-owned vs delegated xattrs. The
 * read-only pass over the real cgroup2 mount is in live_cgroupfs.c. */

#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/xattr.h>

#include "cgroupfs.h"
#include "cgtree.h"
#include "parse-util.h"
#include "rank.h"
#include "snapshot.h"
#include "test-util.h"

static char *tmp, *cg, *proc;

static void setup(void) {
        tmp = test_mkdtemp();
        ck_assert_ptr_nonnull(tmp);
        ck_assert_int_ge(asprintf(&cg, "%s/cg", tmp), 0);
        ck_assert_int_ge(asprintf(&proc, "%s/proc", tmp), 0);
        ck_assert_int_eq(test_mkdir_p(tmp, "cg"), 0);
        ck_assert_int_eq(test_mkdir_p(tmp, "proc"), 0);
}

static void teardown(void) {
        test_rm_rf(tmp);
        free(tmp);
        free(cg);
        free(proc);
        tmp = cg = proc = NULL;
}

/* A cgroup with its procs (NULL-less string "1\n2\n") and populated flag. */
static void mk_cg(const char *path, const char *procs, bool populated) {
        char rel[512];

        snprintf(rel, sizeof rel, "cg%s/cgroup.procs", path);
        ck_assert_int_eq(test_write(tmp, rel, "%s", procs), 0);
        snprintf(rel, sizeof rel, "cg%s/cgroup.events", path);
        ck_assert_int_eq(test_write(tmp, rel, "populated %d\nfrozen 0\n", populated), 0);
}

static void mk_file(const char *path, const char *file, const char *content) {
        char rel[512];

        snprintf(rel, sizeof rel, "cg%s/%s", path, file);
        ck_assert_int_eq(test_write(tmp, rel, "%s", content), 0);
}

static void mk_proc(pid_t pid, int adj, uint64_t rss_kb) {
        char rel[128];

        snprintf(rel, sizeof rel, "proc/%d/oom_score_adj", (int) pid);
        ck_assert_int_eq(test_write(tmp, rel, "%d\n", adj), 0);
        snprintf(rel, sizeof rel, "proc/%d/status", (int) pid);
        ck_assert_int_eq(test_write(tmp, rel, "Name:\tx\nVmRSS:\t%llu kB\n", (unsigned long long) rss_kb), 0);
}

static const CgroupNode *node(const Snapshot *s, const char *path) {
        ssize_t i = snapshot_find(s, path);

        ck_assert_msg(i >= 0, "%s not in snapshot", path);
        return &s->nodes[i];
}

static void make_tree(void) {
        mk_cg("", "", true);
        mk_cg("/init.scope", "1\n", true);
        mk_cg("/system.slice", "", true);
        mk_cg("/system.slice/a.service", "100\n101\n", true);
        mk_file("/system.slice/a.service", "memory.current", "1048576\n");
        mk_file("/system.slice/a.service", "memory.swap.current", "4096\n");
        mk_cg("/system.slice/b.service", "", false);
        mk_cg("/user.slice", "", true);
        mk_cg("/user.slice/u.scope", "200\n", true);
        mk_proc(1, 0, 10);
        mk_proc(100, 500, 1000);
        mk_proc(101, -300, 24);
        mk_proc(200, 0, 7);
}

START_TEST(test_build_tree) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        static const char *const order[] = {
                "/", "/init.scope", "/system.slice", "/system.slice/a.service",
                "/system.slice/b.service", "/user.slice", "/user.slice/u.scope",
        };
        const CgroupNode *n;

        make_tree();
        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        ck_assert_uint_eq(s->n_nodes, ELEMENTSOF(order));
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                ck_assert_str_eq(s->nodes[i].path, order[i]);
        ck_assert_uint_gt(s->timestamp, 0);

        /* parent links: every parent comes first and is the path's dirname */
        ck_assert_int_eq(s->nodes[0].parent, -1);
        for (size_t i = 1; i < s->n_nodes; i++) {
                ssize_t p = s->nodes[i].parent;

                ck_assert_int_ge(p, 0);
                ck_assert_int_lt(p, (ssize_t) i);
                ck_assert(cg_path_is_below(s->nodes[i].path, s->nodes[p].path));
                ck_assert(!s->nodes[i].is_ancestor);
        }
        ck_assert_int_eq(node(s, "/system.slice/a.service")->parent, snapshot_find(s, "/system.slice"));

        n = node(s, "/");
        ck_assert(n->has_children && n->populated);
        ck_assert_uint_eq(n->n_procs, 0);
        ck_assert(!n->has_memory);
        ck_assert(!n->has_oom_score_adj);

        n = node(s, "/system.slice/a.service");
        ck_assert(!n->has_children && n->populated);
        ck_assert_uint_eq(n->n_procs, 2);
        ck_assert_int_eq(n->pids[0], 100);
        ck_assert_int_eq(n->pids[1], 101);
        ck_assert(n->has_memory);
        ck_assert_uint_eq(n->memory_current, 1048576);
        ck_assert_uint_eq(n->swap_current, 4096);
        /* memory.current gives the footprint: no /proc/PID/status read */
        ck_assert_uint_eq(n->rss_sum, 0);
        ck_assert(n->has_oom_score_adj);
        ck_assert_int_eq(n->min_oom_score_adj, -300);
        ck_assert_uint_eq(cgroup_node_footprint(n), 1048576 + 4096);

        n = node(s, "/system.slice/b.service");
        ck_assert(!n->populated);
        ck_assert_uint_eq(n->n_procs, 0);
        ck_assert_ptr_null(n->pids);

        /* no memory controller: footprint is the RSS sum */
        n = node(s, "/user.slice/u.scope");
        ck_assert(!n->has_memory);
        ck_assert_uint_eq(n->rss_sum, 7 * 1024);
        ck_assert_uint_eq(cgroup_node_footprint(n), 7 * 1024);
        ck_assert_int_eq(n->min_oom_score_adj, 0);

        ck_assert_int_eq(snapshot_find(s, "/nope"), -1);
        ck_assert_int_eq(snapshot_find(s, "/system.slice/"), -1);
}
END_TEST

/* SNAPSHOT_RSS (cgreapctl): the RSS also where memory.current is there;
 * without it the daemon's decision leaves /proc/PID/status unread there,
 * but still drops a process that is gone. */
START_TEST(test_build_rss_flag) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_free_ char *failed = NULL;
        const CgroupNode *n;
        char p[4096];

        make_tree();
        ck_assert_int_eq(snapshot_build_full(cg, proc, "/system.slice", SNAPSHOT_RSS, &s, &failed), 0);
        n = node(s, "/system.slice/a.service");
        ck_assert(n->has_memory);
        ck_assert_uint_eq(n->rss_sum, 1024 * 1024);
        ck_assert_uint_eq(n->n_procs, 2);
        s = snapshot_free(s);

        /* 101 exits: without SNAPSHOT_RSS its oom_score_adj says so */
        snprintf(p, sizeof p, "%s/101", proc);
        test_rm_rf(p);
        ck_assert_int_eq(snapshot_build(cg, proc, "/system.slice", &s), 0);
        n = node(s, "/system.slice/a.service");
        ck_assert_uint_eq(n->rss_sum, 0);
        ck_assert_uint_eq(n->n_procs, 1);
        ck_assert_int_eq(n->pids[0], 100);
        ck_assert_int_eq(n->min_oom_score_adj, 500);
}
END_TEST

START_TEST(test_build_ancestors) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        const CgroupNode *n;

        make_tree();
        mk_cg("/system.slice/a.service/sub", "101\n", true);
        ck_assert_int_eq(snapshot_build(cg, proc, "/system.slice/a.service/", &s), 0);
        ck_assert_uint_eq(s->n_nodes, 4);
        ck_assert_str_eq(s->nodes[0].path, "/");
        ck_assert_str_eq(s->nodes[1].path, "/system.slice");
        ck_assert_str_eq(s->nodes[2].path, "/system.slice/a.service");
        ck_assert_str_eq(s->nodes[3].path, "/system.slice/a.service/sub");
        ck_assert_int_eq(s->nodes[0].parent, -1);
        ck_assert_int_eq(s->nodes[1].parent, 0);
        ck_assert_int_eq(s->nodes[2].parent, 1);
        ck_assert_int_eq(s->nodes[3].parent, 2);
        ck_assert(s->nodes[0].is_ancestor && s->nodes[1].is_ancestor);
        ck_assert(!s->nodes[2].is_ancestor && !s->nodes[3].is_ancestor);
        /* ancestors carry no process data */
        n = &s->nodes[1];
        ck_assert(n->has_children && !n->populated && n->n_procs == 0 && !n->has_oom_score_adj);
        ck_assert(s->nodes[2].has_children);
        ck_assert(!s->nodes[3].has_children);

        ck_assert_int_eq(snapshot_build(cg, proc, "/system.slice/nope", &s), -ENOENT);
        ck_assert_int_eq(snapshot_build(cg, proc, "/nope/deeper", &s), -ENOENT);
}
END_TEST

START_TEST(test_vanished_cgroups) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        char p[4096], t[4096];

        make_tree();
        /* Listed but removed before it was read: after rmdir a cgroup's
         * files are gone with it, which a walker that already holds the
         * listing sees as a directory entry without cgroup.procs. Its
         * subtree goes with it. */
        ck_assert_int_eq(test_mkdir_p(tmp, "cg/system.slice/gone.service/child"), 0);
        mk_file("/system.slice/gone.service/child", "cgroup.procs", "5\n");
        /* The same seen at open(): the entry exists, opening gives ENOENT. */
        ck_assert_int_eq(test_mkdir_p(tmp, "cg/system.slice/dangling.service"), 0);
        snprintf(p, sizeof p, "%s/system.slice/dangling.service/cgroup.procs", cg);
        snprintf(t, sizeof t, "%s/nonexistent", tmp);
        ck_assert_int_eq(symlink(t, p), 0);
        /* and a symlink to a real cgroup is not walked at all */
        snprintf(p, sizeof p, "%s/system.slice/link.service", cg);
        ck_assert_int_eq(symlink("a.service", p), 0);

        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        ck_assert_uint_eq(s->n_nodes, 7);
        ck_assert_int_eq(snapshot_find(s, "/system.slice/gone.service"), -1);
        ck_assert_int_eq(snapshot_find(s, "/system.slice/gone.service/child"), -1);
        ck_assert_int_eq(snapshot_find(s, "/system.slice/dangling.service"), -1);
        ck_assert_int_eq(snapshot_find(s, "/system.slice/link.service"), -1);
        ck_assert_int_ge(snapshot_find(s, "/system.slice/b.service"), 0);
        s = snapshot_free(s);

        /* the top itself "vanished" */
        ck_assert_int_eq(snapshot_build(cg, proc, "/system.slice/gone.service", &s), -ENOENT);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_vanished_processes) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        const CgroupNode *n;

        make_tree();
        /* 300 exited after cgroup.procs was read (no /proc entry); 301's
         * files are unreadable garbage but it is still there. */
        mk_cg("/system.slice/c.service", "300\n100\n301\n", true);
        ck_assert_int_eq(test_write(tmp, "proc/301/oom_score_adj", "junk\n"), 0);
        ck_assert_int_eq(test_write(tmp, "proc/301/status", "Name:\tz\n"), 0);

        ck_assert_int_eq(snapshot_build(cg, proc, "/system.slice/c.service", &s), 0);
        n = node(s, "/system.slice/c.service");
        ck_assert_uint_eq(n->n_procs, 2);
        ck_assert_int_eq(n->pids[0], 100);
        ck_assert_int_eq(n->pids[1], 301);
        ck_assert(n->has_oom_score_adj);
        ck_assert_int_eq(n->min_oom_score_adj, 500);
        ck_assert_uint_eq(n->rss_sum, 1000 * 1024);
        s = snapshot_free(s);

        /* all processes gone: none left, no oom_score_adj */
        mk_cg("/system.slice/d.service", "400\n401\n", true);
        ck_assert_int_eq(snapshot_build(cg, proc, "/system.slice/d.service", &s), 0);
        n = node(s, "/system.slice/d.service");
        ck_assert_uint_eq(n->n_procs, 0);
        ck_assert(!n->has_oom_score_adj);
        ck_assert_uint_eq(n->rss_sum, 0);
        /* cgroup.events said populated; that stays what the kernel said */
        ck_assert(n->populated);
}
END_TEST

START_TEST(test_events_missing) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        char rel[256];

        /* A tree without cgroup.events: populated = processes at or below. */
        ck_assert_int_eq(test_write(tmp, "cg/cgroup.procs", "%s", ""), 0);
        ck_assert_int_eq(test_write(tmp, "cg/a/cgroup.procs", "%s", ""), 0);
        ck_assert_int_eq(test_write(tmp, "cg/a/b/cgroup.procs", "%s", ""), 0);
        ck_assert_int_eq(test_write(tmp, "cg/a/b/c/cgroup.procs", "100\n"), 0);
        ck_assert_int_eq(test_write(tmp, "cg/e/cgroup.procs", "%s", ""), 0);
        snprintf(rel, sizeof rel, "cg/e/f/cgroup.procs");
        ck_assert_int_eq(test_write(tmp, rel, "%s", ""), 0);
        mk_proc(100, 0, 1);

        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        ck_assert(node(s, "/")->populated);
        ck_assert(node(s, "/a")->populated);
        ck_assert(node(s, "/a/b")->populated);
        ck_assert(node(s, "/a/b/c")->populated);
        ck_assert(!node(s, "/e")->populated);
        ck_assert(!node(s, "/e/f")->populated);
}
END_TEST

/* A file that cannot be read or parsed marks its cgroup; the rest of the
 * tree is still read. */
START_TEST(test_bad_files) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;

        make_tree();
        /* A kernel never writes this: an error, not a silent zero. */
        mk_file("/system.slice/b.service", "memory.current", "lots\n");
        mk_file("/system.slice/b.service", "cgroup.events", "populated 1\n");
        mk_file("/user.slice", "cgroup.events", "populated 7\n");
        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        ck_assert_int_eq(node(s, "/system.slice/b.service")->unreadable, -EINVAL);
        ck_assert(!node(s, "/system.slice/b.service")->has_memory);
        ck_assert_int_eq(node(s, "/user.slice")->unreadable, -EINVAL);
        /* An unreadable cgroup.events: populated follows the processes. */
        ck_assert(node(s, "/user.slice")->populated);
        ck_assert_int_eq(node(s, "/system.slice/a.service")->unreadable, 0);
        ck_assert_int_eq(node(s, "/system.slice/a.service")->n_procs, 2);
        ck_assert_int_eq(node(s, "/user.slice/u.scope")->n_procs, 1);
        ck_assert_uint_eq(s->n_unreadable, 2);
        s = snapshot_free(s);

        mk_file("/system.slice/b.service", "memory.current", "0\n");
        mk_file("/user.slice", "cgroup.events", "populated 1\n");
        mk_file("/user.slice", "cgroup.procs", "1\nx\n");
        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        ck_assert_int_eq(node(s, "/user.slice")->unreadable, -EINVAL);
        ck_assert_int_eq(node(s, "/user.slice/u.scope")->n_procs, 1);
        ck_assert_uint_eq(s->n_unreadable, 1);
}
END_TEST

/* The snapshot names the first file that could not be read, for the
 * caller's message; a clean read names none. */
START_TEST(test_failed_file) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_free_ char *want = NULL;

        make_tree();
        mk_file("/user.slice/u.scope", "cgroup.procs", "1\n-2\n");
        ck_assert_int_eq(snapshot_build(cg, proc, "/user.slice", &s), 0);
        ck_assert_int_ge(asprintf(&want, "%s/user.slice/u.scope/cgroup.procs", cg), 0);
        ck_assert_str_eq(s->first_unreadable, want);
        s = snapshot_free(s);

        mk_file("/user.slice/u.scope", "cgroup.procs", "200\n");
        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        ck_assert_ptr_null(s->first_unreadable);
        ck_assert_uint_eq(s->n_unreadable, 0);
}
END_TEST

/* cgroup.procs that cannot be read at all (EISDIR here; EOPNOTSUPP in a
 * threaded cgroup, EACCES, ENOMEM on a real one): the cgroup stays, marked,
 * with what else could be read, and its siblings and children are read. */
START_TEST(test_unreadable_procs) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        char rel[256];

        make_tree();
        mk_cg("/user.slice/bad.scope/inner.scope", "200\n", true);
        mk_cg("/user.slice/bad.scope", "", true);
        mk_file("/user.slice/bad.scope", "memory.current", "4096\n");
        snprintf(rel, sizeof rel, "%s/cg/user.slice/bad.scope/cgroup.procs", tmp);
        ck_assert_int_eq(unlink(rel), 0);
        ck_assert_int_eq(mkdir(rel, 0755), 0);

        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        ck_assert_int_eq(node(s, "/user.slice/bad.scope")->unreadable, -EISDIR);
        ck_assert(node(s, "/user.slice/bad.scope")->has_memory);
        ck_assert_int_eq(node(s, "/user.slice/bad.scope/inner.scope")->n_procs, 1);
        ck_assert_int_eq(node(s, "/system.slice/a.service")->n_procs, 2);
        ck_assert_uint_eq(s->n_unreadable, 1);
        ck_assert_ptr_nonnull(strstr(s->first_unreadable, "/user.slice/bad.scope/cgroup.procs"));
        ck_assert_int_eq(s->first_unreadable_error, -EISDIR);
}
END_TEST

/* "populated 0": nothing of the cgroup or below is read. Each empty
 * cgroup's cgroup.procs and memory.current are directories, which fail
 * when read, so a read would show as unreadable; the children of an empty
 * cgroup are not even listed. 10 000 empty cgroups cost one cgroup.events
 * read each and nothing else. */
START_TEST(test_empty_subtrees_not_read) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        char rel[4096];
        int dfd;

        make_tree();
        mk_cg("/user.slice/empty", "", false);
        /* Plain syscalls: 10 000 cgroups through test_write() take long. */
        snprintf(rel, sizeof rel, "%s/cg/user.slice/u.scope", tmp);
        dfd = open(rel, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);
        for (unsigned i = 0; i < 10000; i++) {
                int fd;

                snprintf(rel, sizeof rel, "e%u", i);
                ck_assert_int_eq(mkdirat(dfd, rel, 0755), 0);
                snprintf(rel, sizeof rel, "e%u/cgroup.procs", i);
                ck_assert_int_eq(mkdirat(dfd, rel, 0755), 0);
                snprintf(rel, sizeof rel, "e%u/memory.current", i);
                ck_assert_int_eq(mkdirat(dfd, rel, 0755), 0);
                snprintf(rel, sizeof rel, "e%u/cgroup.events", i);
                fd = openat(dfd, rel, O_WRONLY|O_CREAT|O_CLOEXEC, 0644);
                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(write(fd, "populated 0\n", 12), 12);
                ck_assert_int_eq(close(fd), 0);
        }
        ck_assert_int_eq(close(dfd), 0);
        mk_cg("/user.slice/empty/below", "200\n", true);

        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        ck_assert_uint_eq(s->n_unreadable, 0);
        ck_assert(!node(s, "/user.slice/u.scope/e9999")->populated);
        ck_assert_int_eq(node(s, "/user.slice/u.scope/e9999")->n_procs, 0);
        ck_assert(!node(s, "/user.slice/empty")->populated);
        ck_assert_int_lt(snapshot_find(s, "/user.slice/empty/below"), 0);
        ck_assert_int_eq(node(s, "/user.slice/u.scope")->n_procs, 1);
}
END_TEST

/* The kernel writes 0 in cgroup.procs for a process outside the reader's
 * pid namespace (cgreapctl in a container): the cgroup is still read,
 * still populated, and still a candidate by its populated flag. */
START_TEST(test_foreign_pid_namespace) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        const CgroupNode *n;

        make_tree();
        mk_cg("/machine.slice", "", true);
        mk_cg("/machine.slice/c.scope", "0\n0\n", true);
        mk_cg("/machine.slice/mixed.scope", "0\n200\n0\n", true);
        mk_file("/machine.slice/c.scope", "memory.current", "4096\n");
        ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
        n = node(s, "/machine.slice/c.scope");
        ck_assert_uint_eq(n->n_procs, 0);
        ck_assert(n->populated);
        ck_assert(!n->has_children);
        ck_assert_uint_eq(cgroup_node_footprint(n), 4096);
        n = node(s, "/machine.slice/mixed.scope");
        ck_assert_uint_eq(n->n_procs, 1);
        ck_assert_int_eq(n->pids[0], 200);
}
END_TEST

/* A top with "." or ".." would be read outside the tree. */
START_TEST(test_top_outside) {
        Snapshot *s = (Snapshot *) 0x1;

        make_tree();
        mk_cg("/../outside.service", "", true);        /* tmp/outside.service: next to cg */
        ck_assert_int_eq(snapshot_build(cg, proc, "/../outside.service", &s), -EINVAL);
        ck_assert_int_eq(snapshot_build(cg, proc, "../outside.service", &s), -EINVAL);
        ck_assert_int_eq(snapshot_build(cg, proc, "/system.slice/..", &s), -EINVAL);
        ck_assert_int_eq(snapshot_build(cg, proc, "/./system.slice", &s), -EINVAL);
        ck_assert_ptr_eq(s, (Snapshot *) 0x1);
}
END_TEST

/* user.* xattrs in the temp dir, else in /dev/shm; NULL if neither. */
static char *xattr_capable_root(char **ret_extra_tmp) {
        char probe[4096];
        char *shm;

        *ret_extra_tmp = NULL;
        snprintf(probe, sizeof probe, "%s", cg);
        if (setxattr(probe, "user.cgreap_probe", "1", 1, 0) >= 0) {
                (void) removexattr(probe, "user.cgreap_probe");
                return strdup(cg);
        }
        shm = strdup("/dev/shm/cgreap-test-XXXXXX");
        if (!shm || !mkdtemp(shm)) {
                free(shm);
                return NULL;
        }
        if (setxattr(shm, "user.cgreap_probe", "1", 1, 0) < 0) {
                test_rm_rf(shm);
                free(shm);
                return NULL;
        }
        *ret_extra_tmp = shm;
        return strdup(shm);
}

START_TEST(test_xattrs_owner) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_free_ char *root = NULL, *extra = NULL;
        static const char *const dirs[] = { "", "/work.slice", "/work.slice/root.service",
                                            "/work.slice/delegated.scope", "/work.slice/delegated.scope/inner" };
        char p[4096];

        if (geteuid() != 0) {
                test_skip_part("test_xattrs_owner: needs root to chown, skipping\n");
                return;
        }
        root = xattr_capable_root(&extra);
        if (!root) {
                test_skip_part("test_xattrs_owner: no user.* xattrs in %s or /dev/shm, skipping\n", tmp);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(p, sizeof p, "%s%s", root, dirs[i]);
                ck_assert(mkdir(p, 0755) == 0 || errno == EEXIST);
                ck_assert_int_eq(test_write(p, "cgroup.procs", "%s", ""), 0);
                ck_assert_int_eq(test_write(p, "cgroup.events", "populated 1\n"), 0);
        }
        /* root-owned: honoured, also on an ancestor of top */
        snprintf(p, sizeof p, "%s/work.slice", root);
        ck_assert_int_eq(setxattr(p, "user.oomd_avoid", "1", 1, 0), 0);
        snprintf(p, sizeof p, "%s/work.slice/root.service", root);
        ck_assert_int_eq(setxattr(p, "user.oomd_omit", "1", 1, 0), 0);
        /* a delegated cgroup (owned by uid 1000) marking itself: ignored */
        snprintf(p, sizeof p, "%s/work.slice/delegated.scope", root);
        ck_assert_int_eq(setxattr(p, "user.oomd_omit", "1", 1, 0), 0);
        ck_assert_int_eq(setxattr(p, "user.oomd_avoid", "1", 1, 0), 0);
        ck_assert_int_eq(chown(p, 1000, 1000), 0);
        snprintf(p, sizeof p, "%s/work.slice/delegated.scope/inner", root);
        ck_assert_int_eq(setxattr(p, "user.oomd_omit", "1", 1, 0), 0);
        ck_assert_int_eq(chown(p, 1000, 1000), 0);

        ck_assert_int_eq(snapshot_build(root, proc, "/work.slice/delegated.scope", &s), 0);
        ck_assert_str_eq(s->nodes[1].path, "/work.slice");
        ck_assert(s->nodes[1].is_ancestor);
        ck_assert(s->nodes[1].xattr_avoid);
        ck_assert(!s->nodes[1].xattr_omit);
        ck_assert(!node(s, "/work.slice/delegated.scope")->xattr_omit);
        ck_assert(!node(s, "/work.slice/delegated.scope")->xattr_avoid);
        ck_assert(!node(s, "/work.slice/delegated.scope/inner")->xattr_omit);
        ck_assert_int_eq(node(s, "/work.slice/delegated.scope/inner")->owner, 1000);
        ck_assert_int_eq(node(s, "/work.slice")->owner, 0);
        s = snapshot_free(s);

        ck_assert_int_eq(snapshot_build(root, proc, "/", &s), 0);
        ck_assert(node(s, "/work.slice/root.service")->xattr_omit);
        ck_assert(!node(s, "/work.slice/root.service")->xattr_avoid);
        ck_assert(node(s, "/work.slice")->xattr_avoid);
        ck_assert(!node(s, "/")->xattr_omit);

        test_rm_rf(extra);
}
END_TEST

START_TEST(test_footprint_find_free) {
        CgroupNode n = { .has_memory = true, .memory_current = UINT64_MAX - 1, .swap_current = 5, .rss_sum = 3 };

        ck_assert_uint_eq(cgroup_node_footprint(&n), UINT64_MAX);
        n.has_memory = false;
        ck_assert_uint_eq(cgroup_node_footprint(&n), 3);
        n = (CgroupNode) { .has_memory = true, .memory_current = 10, .swap_current = 0, .rss_sum = 99 };
        ck_assert_uint_eq(cgroup_node_footprint(&n), 10);
        ck_assert_ptr_null(snapshot_free(NULL));
        ck_assert_int_eq(snapshot_find(NULL, "/"), -1);
}
END_TEST

/* Real removals racing with the read: a thread creates and removes
 * cgroups while snapshots are taken. Every snapshot must succeed and be
 * consistent, whatever it caught. */
static atomic_bool churn_stop;

static void *churn(void *userdata) {
        const char *root = userdata;
        char rel[256];

        for (unsigned i = 0; !churn_stop; i++) {
                char p[4096];

                snprintf(rel, sizeof rel, "churn.slice/x%u.scope", i % 8);
                snprintf(p, sizeof p, "%s/%s", root, rel);
                if (access(p, F_OK) == 0)
                        test_rm_rf(p);
                else {
                        snprintf(rel, sizeof rel, "churn.slice/x%u.scope/cgroup.procs", i % 8);
                        (void) test_write(root, rel, "1\n");
                        snprintf(rel, sizeof rel, "churn.slice/x%u.scope/sub/cgroup.procs", i % 8);
                        (void) test_write(root, rel, "%s", "");
                }
        }
        return NULL;
}

START_TEST(test_concurrent_removal) {
        pthread_t t;

        make_tree();
        mk_cg("/churn.slice", "", true);
        churn_stop = false;
        ck_assert_int_eq(pthread_create(&t, NULL, churn, cg), 0);
        for (unsigned i = 0; i < 300; i++) {
                _cleanup_snapshot_free_ Snapshot *s = NULL;

                ck_assert_int_eq(snapshot_build(cg, proc, "/", &s), 0);
                ck_assert_str_eq(s->nodes[0].path, "/");
                ck_assert_int_ge(snapshot_find(s, "/system.slice/a.service"), 0);
                for (size_t j = 1; j < s->n_nodes; j++) {
                        ssize_t p = s->nodes[j].parent;
                        const char *c = s->nodes[j].path, *slash = strrchr(c, '/');
                        size_t pl = slash == c ? 1 : (size_t) (slash - c);

                        /* the parent is exactly the dirname */
                        ck_assert(p >= 0 && p < (ssize_t) j);
                        ck_assert_uint_eq(strlen(s->nodes[p].path), pl);
                        ck_assert(strncmp(s->nodes[p].path, c, pl) == 0);
                }
        }
        churn_stop = true;
        ck_assert_int_eq(pthread_join(t, NULL), 0);
}
END_TEST

/* The daemon's model (cgtree.h): built once, kept by inotify. A snapshot
 * over it leaves out what the model knows to be empty (not even listed),
 * and follows new cgroups, removals and populated flips without a walk. */
static void tree_snapshot(CgTree *t, Snapshot **s) {
        *s = snapshot_free(*s);
        ck_assert_int_eq(cgtree_process(t), 0);
        ck_assert_int_eq(snapshot_build_tree(t, cg, proc, "/", s), 0);
}

/* This process's open file descriptors. */
static size_t count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

START_TEST(test_tree_model) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_cgtree_free_ CgTree *t = NULL;
        char rel[512], from[4096], to[4096];
        size_t n, empty;

        make_tree();
        for (unsigned i = 0; i < 50; i++) {
                snprintf(rel, sizeof rel, "/user.slice/u.scope/e%u", i);
                mk_cg(rel, "", false);
        }
        mk_cg("/user.slice/u.scope/e0/below", "", false);

        size_t fds = count_fds();
        struct rlimit rl, low;

        /* The pins leave the fds a decision needs: with a limit of 64 (32
         * for pins), 52 empty cgroups give the model up. */
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
        low = (struct rlimit) { .rlim_cur = 64, .rlim_max = rl.rlim_max };
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        ck_assert_int_eq(cgtree_new(cg, &t), -EMFILE);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
        ck_assert_uint_eq(count_fds(), fds);

        ck_assert_int_eq(cgtree_new(cg, &t), 0);
        cgtree_count(t, &n, &empty);
        ck_assert_uint_eq(empty, 52);     /* and b.service */
        /* The inotify fd, and a pin on each empty cgroup's cgroup.events. */
        ck_assert_uint_eq(count_fds() - fds, 1 + 52);
        tree_snapshot(t, &s);
        ck_assert_int_ge(snapshot_find(s, "/user.slice/u.scope"), 0);
        ck_assert_int_eq(node(s, "/user.slice/u.scope")->n_procs, 1);
        ck_assert_int_lt(snapshot_find(s, "/user.slice/u.scope/e7"), 0);
        ck_assert_int_lt(snapshot_find(s, "/user.slice/u.scope/e0/below"), 0);
        /* The root's processes (the kernel's threads) are never victims:
         * listed, their /proc files unread but for cgreapctl (SNAPSHOT_RSS). */
        mk_file("", "cgroup.procs", "1\n");
        tree_snapshot(t, &s);
        ck_assert_int_eq(node(s, "/")->n_procs, 1);
        ck_assert(!node(s, "/")->has_oom_score_adj);
        s = snapshot_free(s);
        ck_assert_int_eq(snapshot_build_full(cg, proc, "/", SNAPSHOT_RSS, &s, NULL), 0);
        ck_assert(node(s, "/")->has_oom_score_adj);
        ck_assert_uint_eq(node(s, "/")->rss_sum, 10 * 1024);

        /* A slice's own memory ranks nothing: not read. */
        mk_file("/system.slice", "memory.current", "5\n");
        tree_snapshot(t, &s);
        ck_assert(!node(s, "/system.slice")->has_memory);
        ck_assert(node(s, "/system.slice/a.service")->has_memory);

        /* A new cgroup that gets a process, and an empty one that does. */
        mk_cg("/user.slice/u.scope/new", "200\n", true);
        mk_cg("/user.slice/u.scope/e7", "200\n", true);
        tree_snapshot(t, &s);
        ck_assert_int_eq(node(s, "/user.slice/u.scope/new")->n_procs, 1);
        ck_assert_int_eq(node(s, "/user.slice/u.scope/e7")->n_procs, 1);
        cgtree_count(t, &n, &empty);
        ck_assert_uint_eq(empty, 51);
        ck_assert_uint_eq(count_fds() - fds, 1 + 51);

        /* It empties again, its cgroup.events replaced by a rename as a
         * fake tree may do; then the empty ones go away. */
        snprintf(rel, sizeof rel, "cg/user.slice/u.scope/e7/events.new");
        ck_assert_int_eq(test_write(tmp, rel, "populated 0\nfrozen 0\n"), 0);
        snprintf(from, sizeof from, "%s/%s", tmp, rel);
        snprintf(to, sizeof to, "%s/cg/user.slice/u.scope/e7/cgroup.events", tmp);
        ck_assert_int_eq(rename(from, to), 0);
        mk_file("/user.slice/u.scope/e7", "cgroup.procs", "");
        /* Emptied: read again until the kernel's notifications settle. */
        tree_snapshot(t, &s);
        ck_assert_int_ge(snapshot_find(s, "/user.slice/u.scope/e7"), 0);
        ck_assert(!node(s, "/user.slice/u.scope/e7")->populated);
        usleep(60 * 1000);
        for (unsigned i = 10; i < 50; i++) {
                snprintf(rel, sizeof rel, "%s/cg/user.slice/u.scope/e%u", tmp, i);
                test_rm_rf(rel);
        }
        /* Delegated meanwhile: the owner comes from the model, by IN_ATTRIB. */
        snprintf(rel, sizeof rel, "%s/cg/user.slice/u.scope/new", tmp);
        if (geteuid() == 0) {
                ck_assert_int_eq(chown(rel, 4242, 4242), 0);
                tree_snapshot(t, &s);
                ck_assert_int_eq(node(s, "/user.slice/u.scope/new")->owner, 4242);
        } else
                test_skip_part("test_tree_model: not root, the owner change is not tried\n");
        tree_snapshot(t, &s);
        ck_assert_int_eq(node(s, "/user.slice/u.scope")->owner, getuid());
        ck_assert_int_lt(snapshot_find(s, "/user.slice/u.scope/e7"), 0);
        ck_assert_int_ge(snapshot_find(s, "/user.slice/u.scope/new"), 0);
        cgtree_count(t, &n, &empty);
        ck_assert_uint_eq(empty, 12);
        ck_assert_uint_eq(count_fds() - fds, 1 + 12);
}
END_TEST

/* The model keeps names without their unit suffix: every kind of name
 * comes back whole, by path, in a walk, and when it is removed. */
static int collect_cb(const char *root, const char *path, const CgTreeInfo *info, void *userdata) {
        char ***l = userdata;

        ck_assert_int_ge(strv_extendf(l, "%s", path), 0);
        return 0;
}

START_TEST(test_tree_names) {
        static const char *const names[] = {
                "a.service", "b.scope", "c.slice", "plain", ".service", "x.service.scope", "tail\001",
                "tail\004", "tail\003.service", "e.mount", "a.servic", "x",
        };
        _cleanup_cgtree_free_ CgTree *t = NULL;
        _cleanup_strv_free_ char **seen = NULL;
        char path[512];

        mk_cg("", "", true);
        mk_cg("/s.slice", "", true);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof path, "/s.slice/%s", names[i]);
                mk_cg(path, "100\n", true);
                snprintf(path, sizeof path, "/s.slice/%s/%s", names[i], names[i]);
                mk_cg(path, "100\n", true);
        }
        ck_assert_int_eq(cgtree_new(cg, &t), 0);
        ck_assert_int_eq(cgtree_walk(t, "/", collect_cb, &seen), 0);
        size_t n_seen = 0;

        for (char **l = seen; *l; l++)
                n_seen++;
        ck_assert_uint_eq(n_seen, 2 + 2 * ELEMENTSOF(names));
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = NULL;
                CgTreeNode *n;

                snprintf(path, sizeof path, "/s.slice/%s/%s", names[i], names[i]);
                ck_assert_msg(strv_contains(seen, path), "%s not walked", path);
                n = cgtree_find(t, path);
                ck_assert_ptr_nonnull(n);
                p = cgtree_node_path(t, n);
                ck_assert_str_eq(p, path);
        }
        ck_assert_ptr_null(cgtree_find(t, "/s.slice/a"));
        ck_assert_ptr_null(cgtree_find(t, "/s.slice/tail"));
        ck_assert_ptr_null(cgtree_find(t, "/s.slice/tail\003"));

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof path, "%s/cg/s.slice/%s", tmp, names[i]);
                test_rm_rf(path);
                ck_assert_int_eq(cgtree_process(t), 0);
                snprintf(path, sizeof path, "/s.slice/%s", names[i]);
                ck_assert_ptr_null(cgtree_find(t, path));
        }
        ck_assert_ptr_nonnull(cgtree_find(t, "/s.slice"));
}
END_TEST

/* ---- a decision's band-first read (rank.h) ---- */

static uint32_t lazy_seed;

static uint32_t lazy_rand(uint32_t n) {
        lazy_seed = lazy_seed * 1103515245u + 12345u;
        return (lazy_seed >> 16) % n;
}

/* The model under churn: thousands of cgroups made and removed, nested
 * ones too, so that nodes are reused, the watch map loses and regains
 * entries and the name arena is rewritten; each cgroup the model holds is there
 * under its own path, each removed one gone, and the count is exact. */
START_TEST(test_tree_churn) {
        _cleanup_cgtree_free_ CgTree *t = NULL;
        static bool alive[3000];
        char path[256], rel[512];
        size_t live = 0, n, empty;

        mk_cg("", "", true);
        mk_cg("/churn", "", false);
        ck_assert_int_eq(cgtree_new(cg, &t), 0);
        lazy_seed = 77;
        for (unsigned round = 0; round < 6; round++) {
                for (unsigned k = 0; k < 1500; k++) {
                        unsigned i = lazy_rand(ELEMENTSOF(alive));

                        snprintf(path, sizeof path, "/churn/c%05u-a-name-long-enough-to-fill-the-arena.service", i);
                        if (alive[i]) {
                                snprintf(rel, sizeof rel, "%s/cg%s", tmp, path);
                                test_rm_rf(rel);
                                live -= 1 + (i % 3 == 0);
                        } else {
                                mk_cg(path, "", i % 2);
                                if (i % 3 == 0) {
                                        strcat(path, "/sub.scope");
                                        mk_cg(path, "", false);
                                }
                                live += 1 + (i % 3 == 0);
                        }
                        alive[i] = !alive[i];
                        if (k % 250 == 0)
                                ck_assert_int_eq(cgtree_process(t), 0);
                }
                ck_assert_int_eq(cgtree_process(t), 0);
                cgtree_count(t, &n, &empty);
                ck_assert_uint_eq(n, 2 + live);
                for (unsigned i = 0; i < ELEMENTSOF(alive); i++) {
                        CgTreeNode *node;

                        snprintf(path, sizeof path, "/churn/c%05u-a-name-long-enough-to-fill-the-arena.service", i);
                        node = cgtree_find(t, path);
                        ck_assert_msg(!node == !alive[i], "round %u: %s %s the model", round, path,
                                      alive[i] ? "missing from" : "still in");
                        if (node) {
                                _cleanup_free_ char *p = cgtree_node_path(t, node);

                                ck_assert_str_eq(p, path);
                        }
                }
        }
}
END_TEST

static const PriorityRule lazy_rules[] = {
        { .pattern = (char *) "/a.slice", .adj = 100 },
        { .pattern = (char *) "*.service", .adj = 300 },
        { .pattern = (char *) "/b.slice/**", .adj = -500 },
        { .pattern = (char *) "x1*", .adj = 800 },
        { .pattern = (char *) "/c.slice/x2.service", .adj = -1000 },
        { .pattern = (char *) "/a.slice/n.slice/*.scope", .adj = 500 },
        /* A slice above its own services, and a never-kill cgroup below
         * one that the processes decide. */
        { .pattern = (char *) "/c.slice", .adj = 700 },
        { .pattern = (char *) "/d.slice/n.slice/x0.*", .adj = -1000 },
};

/* A leaf below parent: mostly populated, with processes of assorted
 * oom_score_adj and footprints that often tie; sometimes emptied behind
 * the model's back, sometimes with an unreadable cgroup.procs. */
static bool lazy_leaf(const char *parent, unsigned *pid) {
        static const int adjs[] = { -1000, -500, 0, 0, 0, 300, 800 };
        static const char *const kinds[] = { "service", "scope" };
        char path[256], procs[64] = "", num[32], rel[512];
        unsigned np = lazy_rand(4);

        snprintf(path, sizeof path, "%s/x%u.%s", parent, lazy_rand(6), kinds[lazy_rand(2)]);
        snprintf(rel, sizeof rel, "%s/cg%s", tmp, path);
        if (access(rel, F_OK) == 0)
                return false;
        for (unsigned i = 0; i < np; i++) {
                (*pid)++;
                mk_proc((pid_t) *pid, adjs[lazy_rand(ELEMENTSOF(adjs))], 10);
                snprintf(num, sizeof num, "%u\n", *pid);
                strcat(procs, num);
        }
        bool populated = np > 0 || lazy_rand(8) == 0;

        mk_cg(path, procs, populated);
        snprintf(num, sizeof num, "%u\n", (lazy_rand(4) + 1) * 4096);
        mk_file(path, "memory.current", num);
        mk_file(path, "memory.swap.current", lazy_rand(3) == 0 ? "4096\n" : "0\n");
        /* EISDIR, as a threaded cgroup's EOPNOTSUPP: a symlink, which
         * neither walk takes for a child cgroup. */
        if (np > 0 && lazy_rand(12) == 0) {
                snprintf(rel, sizeof rel, "%s/cg%s/cgroup.procs", tmp, path);
                ck_assert_int_eq(unlink(rel), 0);
                ck_assert_int_eq(symlink("/", rel), 0);
        }
        return populated;
}

static int chown_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return lchown(path, 1000, 1000) < 0 ? -1 : 0;
}

/* A random tree: four slices (a and b with rules, c with a never-kill
 * service, d with no rule at all, where the processes decide), leaves and
 * nested slices. */
static void lazy_tree(void) {
        static const char *const slices[] = { "/a.slice", "/b.slice", "/c.slice", "/d.slice" };
        unsigned pid = 1000;

        /* A slice is populated when a leaf below it is, as the kernel says. */
        mk_cg("", "", true);
        mk_cg("/init.scope", "1\n", true);
        mk_proc(1, 0, 10);
        for (size_t i = 0; i < ELEMENTSOF(slices); i++) {
                bool populated = false, nested_populated = false;
                char nested[128];

                mk_cg(slices[i], "", false);
                for (unsigned j = lazy_rand(6); j > 0; j--)
                        populated |= lazy_leaf(slices[i], &pid);
                if (lazy_rand(2)) {
                        snprintf(nested, sizeof nested, "%s/n.slice", slices[i]);
                        mk_cg(nested, "", false);
                        for (unsigned j = lazy_rand(5) + 1; j > 0; j--)
                                nested_populated |= lazy_leaf(nested, &pid);
                        /* Processes beside child cgroups: a hand-made tree. */
                        if (lazy_rand(6) == 0) {
                                char procs[32];

                                mk_proc((pid_t) ++pid, lazy_rand(2) ? 0 : 900, 10);
                                snprintf(procs, sizeof procs, "%u\n", pid);
                                mk_cg(nested, procs, true);
                        } else
                                mk_cg(nested, "", nested_populated);
                }
                mk_cg(slices[i], "", populated || nested_populated);
        }
        /* Delegated, as user@UID.service is: names there buy nothing (as root). */
        if (geteuid() == 0 && lazy_rand(2)) {
                char rel[512];

                snprintf(rel, sizeof rel, "%s/cg/d.slice", tmp);
                ck_assert_int_eq(nftw(rel, chown_cb, 16, FTW_PHYS), 0);
        }
}

/* The first eligible candidate of a ranking: "" for none. */
static const char *lazy_head(const Snapshot *s, const Candidate *c, size_t n, int *adj, uint64_t *fp) {
        ssize_t v = policy_pick_victim(c, n);

        if (v < 0)
                return "";
        *adj = c[v].adj.value;
        *fp = c[v].footprint;
        return s->nodes[c[v].node].path;
}

/* A decision that reads only the head of the ranking chooses what a read
 * of the whole tree chooses, over a few hundred random trees, floors and
 * busy cgroups; the model keeps what it resolved from one to the next
 * (LAZY_ROUNDS=N for more). */
START_TEST(test_band_same_victim) {
        Config c = { .rules = (PriorityRule *) lazy_rules, .n_rules = ELEMENTSOF(lazy_rules) };
        static const int floors[] = { -999, 0, 200, 600 };
        size_t read_total = 0, seen_total = 0;

        lazy_seed = 4242;
        unsigned rounds = getenv("LAZY_ROUNDS") ? (unsigned) atoi(getenv("LAZY_ROUNDS")) : 200;

        for (unsigned round = 0; round < rounds; round++) {
                _cleanup_snapshot_free_ Snapshot *full = NULL, *band = NULL;
                _cleanup_cgtree_free_ CgTree *t = NULL;
                _cleanup_free_ Candidate *cf = NULL, *cb = NULL;
                char *busy[2] = {};
                size_t nf, nb, seen;
                int min_adj = floors[lazy_rand(ELEMENTSOF(floors))], adj_f = 0, adj_b = 0;
                uint64_t fp_f = 0, fp_b = 0;
                const char *head_f, *head_b;

                test_rm_rf(cg);
                test_rm_rf(proc);
                ck_assert_int_eq(test_mkdir_p(tmp, "proc"), 0);
                c.default_adj = lazy_rand(2) ? 0 : 400;
                lazy_tree();

                ck_assert_int_eq(snapshot_build(cg, proc, "/", &full), 0);
                ck_assert_int_eq(cgtree_new(cg, &t), 0);
                /* Sometimes the cgroup a full read ranks first is being killed. */
                ck_assert_int_eq(policy_rank(&c, full, "/", NULL, min_adj, NULL, &cf, &nf), 0);
                if (lazy_rand(3) == 0 && policy_pick_victim(cf, nf) >= 0) {
                        busy[0] = full->nodes[cf[policy_pick_victim(cf, nf)].node].path;
                        cf = mfree(cf);
                        ck_assert_int_eq(policy_rank(&c, full, "/", NULL, min_adj, busy, &cf, &nf), 0);
                }

                /* Twice: the second one with what the model kept of the first. */
                for (unsigned again = 0; again < 2; again++) {
                        band = snapshot_free(band);
                        cb = mfree(cb);
                        ck_assert_int_eq(rank_band(&c, 1, t, cg, proc, "/", NULL, min_adj, busy, &band, &cb, &nb,
                                                   &seen), 0);
                        head_f = lazy_head(full, cf, nf, &adj_f, &fp_f);
                        head_b = lazy_head(band, cb, nb, &adj_b, &fp_b);
                        ck_assert_msg(streq(head_f, head_b), "round %u, floor %d: full read chose \"%s\", band \"%s\"",
                                      round, min_adj, head_f, head_b);
                        ck_assert_int_eq(adj_f, adj_b);
                        ck_assert_uint_eq(fp_f, fp_b);
                        ck_assert_uint_eq(band->n_unreadable <= full->n_unreadable, true);
                }
                read_total += band->n_nodes;
                seen_total += full->n_nodes;
        }
        /* Not a vacuous comparison: decisions read less than the whole tree. */
        ck_assert_uint_lt(read_total, seen_total * 3 / 4);
}
END_TEST

/* A fresh top-band decision over all of "/" picks path. */
static void band_victim_is(const Config *c, uint16_t gen, CgTree *t, const char *path) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_free_ Candidate *cands = NULL;
        size_t n, seen;
        ssize_t v;

        ck_assert_int_eq(rank_band(c, gen, t, cg, proc, "/", NULL, 0, NULL, &s, &cands, &n, &seen), 0);
        v = policy_pick_victim(cands, n);
        ck_assert_int_ge(v, 0);
        ck_assert_str_eq(s->nodes[cands[v].node].path, path);
}

/* One cgroup in the top band among many below it: a decision reads it and
 * none of the others; an xattr set later, or new rules, count at once. */
START_TEST(test_band_reads_one) {
        static const PriorityRule rules[] = {
                { .pattern = (char *) "/s.slice", .adj = 300 },
                { .pattern = (char *) "victim.service", .adj = 800 },
        };
        Config c = { .rules = (PriorityRule *) rules, .n_rules = ELEMENTSOF(rules) };
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_cgtree_free_ CgTree *t = NULL;
        _cleanup_free_ Candidate *cands = NULL;
        char path[64], rel[512], *busy[2] = {};
        size_t n, seen;
        ssize_t v;

        mk_cg("", "", true);
        mk_cg("/s.slice", "", true);
        mk_proc(100, 0, 10);
        for (unsigned i = 0; i < 200; i++) {
                snprintf(path, sizeof path, "/s.slice/svc%u.service", i);
                mk_cg(path, "100\n", true);
                mk_file(path, "memory.current", i == 7 ? "8192\n" : "6000\n");
        }
        mk_cg("/s.slice/victim.service", "100\n", true);
        mk_file("/s.slice/victim.service", "memory.current", "4096\n");

        ck_assert_int_eq(cgtree_new(cg, &t), 0);
        /* Resolved once, before any decision. */
        ck_assert_int_eq(rank_prepare(&c, 1, t, NULL, &n), 0);
        ck_assert_uint_eq(n, 202);
        ck_assert_int_eq(rank_prepare(&c, 1, t, NULL, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(rank_band(&c, 1, t, cg, proc, "/", NULL, 0, NULL, &s, &cands, &n, &seen), 0);
        v = policy_pick_victim(cands, n);
        ck_assert_int_ge(v, 0);
        ck_assert_str_eq(s->nodes[cands[v].node].path, "/s.slice/victim.service");
        ck_assert_uint_eq(cands[v].footprint, 4096);
        ck_assert_uint_eq(s->n_nodes, 3);       /* "/", the slice, the victim */
        ck_assert_uint_eq(seen, 201);

        /* Passed over: the next band is read, all of it. */
        busy[0] = (char *) "/s.slice/victim.service";
        s = snapshot_free(s);
        cands = mfree(cands);
        ck_assert_int_eq(rank_band(&c, 1, t, cg, proc, "/", NULL, 0, busy, &s, &cands, &n, &seen), 0);
        v = policy_pick_victim(cands, n);
        ck_assert_int_ge(v, 0);
        ck_assert_uint_eq(cands[v].footprint, 8192);
        ck_assert_str_eq(s->nodes[cands[v].node].path, "/s.slice/svc7.service");
        ck_assert_uint_eq(s->n_nodes, 202);

        /* Handed to a user (IN_ATTRIB): its name buys nothing any more. */
        if (geteuid() == 0) {
                snprintf(rel, sizeof rel, "%s/cg/s.slice/victim.service", tmp);
                ck_assert_int_eq(chown(rel, 1000, 1000), 0);
                ck_assert_int_eq(cgtree_process(t), 0);
                band_victim_is(&c, 1, t, "/s.slice/svc7.service");
                ck_assert_int_eq(chown(rel, 0, 0), 0);
                ck_assert_int_eq(cgtree_process(t), 0);
        }
        /* user.oomd_omit on the slice, as systemd writes it, where the
         * file system takes user xattrs. */
        snprintf(rel, sizeof rel, "%s/cg/s.slice", tmp);
        if (geteuid() == 0 && setxattr(rel, "user.oomd_omit", "1", 1, 0) >= 0) {
                ck_assert_int_eq(cgtree_process(t), 0);
                s = snapshot_free(s);
                cands = mfree(cands);
                ck_assert_int_eq(rank_band(&c, 1, t, cg, proc, "/", NULL, 0, NULL, &s, &cands, &n, &seen), 0);
                ck_assert_int_lt(policy_pick_victim(cands, n), 0);
                ck_assert_uint_eq(s->n_nodes, 1);
                ck_assert_int_eq(removexattr(rel, "user.oomd_omit"), 0);
                ck_assert_int_eq(cgtree_process(t), 0);
        }
        band_victim_is(&c, 1, t, "/s.slice/victim.service");

        /* New rules (a new generation): the victim is now the biggest. */
        c.n_rules = 1;
        band_victim_is(&c, 2, t, "/s.slice/svc7.service");

        /* The 16-bit gen wrapped back to 1 with the old rules' memos still
         * there: forgotten, they are resolved again. */
        c.n_rules = ELEMENTSOF(rules);
        ck_assert_int_eq(rank_prepare(&c, 1, t, NULL, &n), 0);
        c.n_rules = 1;
        cgtree_forget_memos(t);
        ck_assert_int_eq(rank_prepare(&c, 1, t, NULL, &n), 0);
        ck_assert_uint_eq(n, 202);
        band_victim_is(&c, 1, t, "/s.slice/svc7.service");
}
END_TEST

/* Processes beside child cgroups (a hand-made tree), in the top band:
 * ranked as a full read ranks them, never-kill children included. */
START_TEST(test_band_inner_processes) {
        static const PriorityRule rules[] = {
                { .pattern = (char *) "victim.service", .adj = 800 },
                { .pattern = (char *) "/t.slice", .adj = 800 },
                { .pattern = (char *) "/t.slice/keep.service", .adj = 100 },
                { .pattern = (char *) "/o.slice", .adj = 100 },
        };
        Config c = { .rules = (PriorityRule *) rules, .n_rules = ELEMENTSOF(rules) };
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_cgtree_free_ CgTree *t = NULL;
        _cleanup_free_ Candidate *cands = NULL;
        size_t n, seen;
        ssize_t v;

        mk_cg("", "", true);
        mk_proc(100, 0, 10);
        mk_proc(101, 0, 10);
        mk_cg("/victim.service", "100\n", true);
        mk_file("/victim.service", "memory.current", "4096\n");
        mk_cg("/t.slice", "101\n", true);
        mk_file("/t.slice", "memory.current", "65536\n");
        mk_cg("/t.slice/keep.service", "100\n", true);
        /* Services with a rule far below the band: a hand-made cgroup
         * (a user can make one) must not make the decision read them all. */
        mk_cg("/o.slice", "", true);
        for (unsigned i = 0; i < 50; i++) {
                char path[64];

                snprintf(path, sizeof path, "/o.slice/svc%u.service", i);
                mk_cg(path, "100\n", true);
        }
        ck_assert_int_eq(cgtree_new(cg, &t), 0);

        ck_assert_int_eq(rank_band(&c, 1, t, cg, proc, "/", NULL, 0, NULL, &s, &cands, &n, &seen), 0);
        v = policy_pick_victim(cands, n);
        ck_assert_int_ge(v, 0);
        ck_assert_str_eq(s->nodes[cands[v].node].path, "/t.slice");
        /* "/", the victim, the slice and its child: the inner cgroup's
         * subtree and the band, nothing of o.slice. */
        ck_assert_uint_eq(s->n_nodes, 4);

        /* With a never-kill child, the slice is no victim: its kill would
         * take the child (policy.h, NEVER_KILL). */
        mk_cg("/t.slice/never.service", "100\n", true);
        s = snapshot_free(s);
        cands = mfree(cands);
        ck_assert_int_eq(cgtree_process(t), 0);
        static const PriorityRule rules2[] = {
                { .pattern = (char *) "victim.service", .adj = 800 },
                { .pattern = (char *) "/t.slice", .adj = 800 },
                { .pattern = (char *) "keep.service", .adj = 100 },
                { .pattern = (char *) "never.service", .adj = -1000 },
        };
        c.rules = (PriorityRule *) rules2;
        c.n_rules = ELEMENTSOF(rules2);
        ck_assert_int_eq(rank_band(&c, 2, t, cg, proc, "/", NULL, 0, NULL, &s, &cands, &n, &seen), 0);
        v = policy_pick_victim(cands, n);
        ck_assert_int_ge(v, 0);
        ck_assert_str_eq(s->nodes[cands[v].node].path, "/victim.service");
}
END_TEST

/* rank_band()'s first eligible candidate is a full read's; expect: the
 * path it must be ("" for none). */
static void band_as_full(const Config *c, uint32_t gen, CgTree *t, const char *within, const char *own,
                         int min_adj, char **busy, const char *expect) {
        _cleanup_snapshot_free_ Snapshot *full = NULL, *band = NULL;
        _cleanup_free_ Candidate *cf = NULL, *cb = NULL;
        size_t nf, nb, seen;
        int adj_f = 0, adj_b = 0;
        uint64_t fp_f = 0, fp_b = 0;

        ck_assert_int_eq(snapshot_build(cg, proc, within, &full), 0);
        ck_assert_int_eq(policy_rank(c, full, within, own, min_adj, busy, &cf, &nf), 0);
        ck_assert_int_eq(rank_band(c, gen, t, cg, proc, within, own, min_adj, busy, &band, &cb, &nb, &seen), 0);
        ck_assert_str_eq(lazy_head(full, cf, nf, &adj_f, &fp_f), expect);
        ck_assert_str_eq(lazy_head(band, cb, nb, &adj_b, &fp_b), expect);
        ck_assert_int_eq(adj_f, adj_b);
}

/* The top band's only cgroup emptied, the model not told yet or told a
 * moment ago: the next band is read, not a cgroup of a lower one. */
START_TEST(test_band_emptied) {
        static const PriorityRule rules[] = {
                { .pattern = (char *) "/x.service", .adj = 800 },
                { .pattern = (char *) "/y.service", .adj = 300 },
        };
        Config c = { .rules = (PriorityRule *) rules, .n_rules = ELEMENTSOF(rules) };
        _cleanup_cgtree_free_ CgTree *t = NULL;

        mk_cg("", "", true);
        mk_proc(100, 0, 10);
        mk_proc(101, 0, 10);
        mk_proc(102, 0, 10);
        mk_cg("/x.service", "100\n", true);
        mk_cg("/y.service", "101\n", true);
        mk_cg("/z.service", "102\n", true);    /* no rule: its processes decide */
        ck_assert_int_eq(cgtree_new(cg, &t), 0);
        band_as_full(&c, 1, t, "/", NULL, 0, NULL, "/x.service");

        mk_cg("/x.service", "", false);
        band_as_full(&c, 1, t, "/", NULL, 0, NULL, "/y.service");
        ck_assert_int_eq(cgtree_process(t), 0);
        band_as_full(&c, 1, t, "/", NULL, 0, NULL, "/y.service");

        /* With nothing but the emptied band and a processes-decided one. */
        mk_cg("/y.service", "", false);
        band_as_full(&c, 1, t, "/", NULL, 0, NULL, "/z.service");
        mk_cg("/z.service", "", false);
        band_as_full(&c, 1, t, "/", NULL, 0, NULL, "");
}
END_TEST

/* Nothing eligible decided by rules, and a slice with processes beside a
 * child being killed; a monitor below a cgroup being killed; the agent's
 * own cgroup. */
START_TEST(test_band_corners) {
        static const PriorityRule rules[] = {
                { .pattern = (char *) "/a.slice", .adj = -500 },
                { .pattern = (char *) "/b.slice/**", .adj = 300 },
        };
        Config c = { .rules = (PriorityRule *) rules, .n_rules = ELEMENTSOF(rules) };
        _cleanup_cgtree_free_ CgTree *t = NULL;
        char *busy[3] = {};

        mk_cg("", "", true);
        mk_proc(100, 0, 10);
        mk_proc(101, 0, 10);
        mk_cg("/a.slice", "100\n", true);
        mk_cg("/a.slice/x.service", "101\n", true);
        mk_cg("/b.slice", "", true);
        mk_cg("/b.slice/agent.service", "101\n", true);
        mk_cg("/b.slice/c.slice", "", true);
        mk_cg("/b.slice/c.slice/y.service", "101\n", true);
        ck_assert_int_eq(cgtree_new(cg, &t), 0);

        busy[0] = (char *) "/a.slice/x.service";
        band_as_full(&c, 1, t, "/a.slice", NULL, -999, busy, "/a.slice");
        busy[1] = (char *) "/b.slice";
        band_as_full(&c, 1, t, "/", NULL, -999, busy, "/a.slice");
        busy[1] = NULL;
        busy[0] = (char *) "/b.slice";
        band_as_full(&c, 1, t, "/b.slice/c.slice", NULL, 0, busy, "");
        busy[0] = (char *) "/b.slice/c.slice";
        band_as_full(&c, 1, t, "/b.slice/c.slice", NULL, 0, busy, "");
        band_as_full(&c, 1, t, "/b.slice", NULL, 0, busy, "/b.slice/agent.service");
        band_as_full(&c, 2, t, "/b.slice", "/b.slice/agent.service", 0, busy, "");
        band_as_full(&c, 2, t, "/b.slice", "/b.slice/agent.service", 0, NULL, "/b.slice/c.slice/y.service");
}
END_TEST

static Suite *snapshot_suite(void) {
        Suite *s = suite_create("snapshot");
        TCase *tc = tcase_create("tree");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_build_tree);
        tcase_add_test(tc, test_build_rss_flag);
        tcase_add_test(tc, test_build_ancestors);
        tcase_add_test(tc, test_vanished_cgroups);
        tcase_add_test(tc, test_vanished_processes);
        tcase_add_test(tc, test_events_missing);
        tcase_add_test(tc, test_bad_files);
        tcase_add_test(tc, test_failed_file);
        tcase_add_test(tc, test_foreign_pid_namespace);
        tcase_add_test(tc, test_top_outside);
        tcase_add_test(tc, test_xattrs_owner);
        tcase_add_test(tc, test_unreadable_procs);
        tcase_add_test(tc, test_footprint_find_free);
        tcase_add_test(tc, test_concurrent_removal);
        tcase_add_test(tc, test_band_reads_one);
        tcase_add_test(tc, test_band_inner_processes);
        tcase_add_test(tc, test_band_emptied);
        tcase_add_test(tc, test_band_corners);
        tcase_add_test(tc, test_tree_model);
        tcase_add_test(tc, test_tree_churn);
        tcase_add_test(tc, test_tree_names);
        suite_add_tcase(s, tc);

        /* 200 random trees, each written, modelled and read three times:
         * seconds, more on a busy host. */
        tc = tcase_create("band");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_band_same_victim);
        suite_add_tcase(s, tc);

        /* 10 000 cgroups on a disk-backed /tmp: seconds, more on a busy host. */
        tc = tcase_create("scale");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_empty_subtrees_not_read);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(snapshot_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
