/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live tests for the reaper: real child cgroups under the cgroup2 mount,
 * real processes, real kills. Needs root and a writable cgroup2 mount, else
 * exits 77 with the reason. Every cgroup is created below one top cgroup
 * "/cgreap-test-<pid>" that main() removes at the end, whatever happened. */

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroupfs.h"
#include "pidfd-util.h"
#include "reaper.h"
#include "test-util.h"

static char *mnt;               /* the cgroup2 mount */
static char top[64];            /* "/cgreap-test-<pid>" */

#define HOG_BYTES (64ULL * 1024 * 1024)

/* ---- helpers ---- */

static char *cg(const char *rel) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", top, rel), 0);
        return p;
}

static void cg_mkdir(const char *path) {
        _cleanup_free_ char *p = cg_path(mnt, path, NULL);

        ck_assert_ptr_nonnull(p);
        ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %m", p);
}

static bool cg_populated(const char *path) {
        CgroupEvents ev;

        ck_assert_int_eq(cg_read_events(mnt, path, &ev), 0);
        return ev.populated;
}

static void write_ready(int fd) {
        char c = 1;

        if (write(fd, &c, 1) != 1)
                _exit(2);
        close(fd);
}

typedef void (*behavior_fn)(int ready_fd, void *arg);

static _Noreturn void sleep_forever(void) {
        for (;;)
                pause();
}

static void b_sleeper(int ready, void *arg) {
        write_ready(ready);
        sleep_forever();
}

/* Three children, each moving itself to its own cgroup of arg[]. */
static void b_tree(int ready, void *arg) {
        char **where = arg;
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                _exit(2);
        for (int i = 0; i < 3; i++) {
                pid_t c = fork();

                if (c < 0)
                        _exit(2);
                if (c == 0) {
                        if (cg_write_file(mnt, where[i], "cgroup.procs", "0") < 0)
                                _exit(3);
                        write_ready(p[1]);
                        sleep_forever();
                }
        }
        for (int i = 0; i < 3; i++) {
                char c;
                if (read(p[0], &c, 1) != 1)
                        _exit(4);
        }
        write_ready(ready);
        sleep_forever();
}

/* Forks a long-lived child every 2ms: one that escaped a kill would keep
 * the cgroup populated. */
static void b_forker(int ready, void *arg) {
        write_ready(ready);
        for (int i = 0; i < 2000; i++) {
                pid_t c = fork();

                if (c == 0)
                        sleep_forever();
                usleep(2000);
        }
        sleep_forever();
}

static void b_hog(int ready, void *arg) {
        /* volatile: the compiler may not drop memory nobody reads. */
        volatile char *m = malloc(HOG_BYTES);

        if (!m)
                _exit(2);
        for (size_t i = 0; i < HOG_BYTES; i += 4096)
                m[i] = 1;               /* resident, not just reserved */
        write_ready(ready);
        sleep_forever();
}

/* Fork a process that moves itself into cgroup path and runs fn; returns
 * once fn said it is ready. */
static pid_t spawn_in(const char *path, behavior_fn fn, void *arg) {
        int p[2];
        pid_t pid;
        char c;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[0]);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (cg_write_file(mnt, path, "cgroup.procs", "0") < 0)
                        _exit(3);
                fn(p[1], arg);
                _exit(0);
        }
        close(p[1]);
        ck_assert_int_eq(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

static bool pid_alive(pid_t pid) {
        _cleanup_close_ int fd = pidfd_open_checked(pid);
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        if (fd < 0)
                return false;
        /* A pidfd polls readable once its process has exited (zombie too). */
        return poll(&pfd, 1, 0) == 0;
}

/* Reap every zombie that shows up within a second (we are a subreaper, so
 * grandchildren come to us); fails if one of the survivors is among them. */
static size_t reap_all(size_t expected, const pid_t *survivors, size_t n_survivors) {
        size_t reaped = 0;

        for (int i = 0; i < 1000; i++) {
                pid_t p = waitpid(-1, NULL, WNOHANG);

                if (p > 0) {
                        for (size_t j = 0; j < n_survivors; j++)
                                ck_assert_msg(p != survivors[j], "survivor %d died", (int) p);
                        reaped++;
                        continue;
                }
                if (reaped >= expected || p < 0)
                        break;
                usleep(1000);
        }
        return reaped;
}

/* Every cgroup of the subtree is empty. */
static int assert_empty_cb(const char *root, const char *path, void *userdata) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 1;

        ck_assert_int_eq(cg_read_procs(root, path, &pids, &n), 0);
        ck_assert_msg(n == 0, "%s still has %zu processes", path, n);
        return 0;
}

typedef struct Outcome {
        unsigned n_sent, n_done;
        KillResult sent, done;
        bool busy_at_sent, busy_at_done;
} Outcome;

static bool is_busy(Reaper *r, const char *path) {
        for (char *const *b = reaper_busy(r); *b; b++)
                if (streq(*b, path))
                        return true;
        return false;
}

static void outcome_cb(Reaper *r, const KillResult *res, bool sent, void *userdata) {
        Outcome *o = userdata;

        if (sent) {
                o->n_sent++;
                o->sent = *res;
                o->sent.cgroup = strdup(res->cgroup);
                o->busy_at_sent = is_busy(r, res->cgroup);
        } else {
                o->n_done++;
                o->done = *res;
                o->done.cgroup = strdup(res->cgroup);
                o->busy_at_done = is_busy(r, res->cgroup);
        }
}

static int on_guard(sd_event_source *s, uint64_t usec, void *userdata) {
        *(bool *) userdata = true;
        return 0;
}

/* Run the loop until the completion callback (or a 15s guard). Iterations
 * rather than sd_event_loop(): a loop that exited cannot take new sources,
 * and a test may kill again on the same reaper. */
static void run_until_done(sd_event *e, Outcome *o) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *guard = NULL;
        bool expired = false;

        ck_assert_int_ge(sd_event_add_time_relative(e, &guard, CLOCK_MONOTONIC, 15 * USEC_PER_SEC, 0,
                                                    on_guard, &expired), 0);
        while (o->n_done == 0 && !expired)
                ck_assert_int_ge(sd_event_run(e, UINT64_MAX), 0);
        ck_assert_msg(!expired, "no completion within 15s");
        ck_assert_uint_eq(o->n_sent, 1);
        ck_assert_uint_eq(o->n_done, 1);
}

static void outcome_done(Outcome *o) {
        kill_result_done(&o->sent);
        kill_result_done(&o->done);
}

static void setup(void) {
        /* Orphaned grandchildren come to us, so the test can reap them all. */
        ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

/* ---- a, b: a process tree with a forker in a nested subtree ---- */

static void kill_tree(const char *name, KillMethod method) {
        _cleanup_free_ char *base = cg(name), *victim = NULL, *a = NULL, *b = NULL, *c = NULL, *by = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        pid_t direct[3], bystander;
        Outcome o = {};

        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        ck_assert_int_ge(asprintf(&a, "%s/a", victim), 0);
        ck_assert_int_ge(asprintf(&b, "%s/b", victim), 0);
        ck_assert_int_ge(asprintf(&c, "%s/b/c", victim), 0);
        ck_assert_int_ge(asprintf(&by, "%s/bystander", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        cg_mkdir(a);
        cg_mkdir(b);
        cg_mkdir(c);
        cg_mkdir(by);

        char *where[3] = { a, b, c };
        direct[0] = spawn_in(a, b_tree, where);
        direct[1] = spawn_in(c, b_forker, NULL);
        direct[2] = spawn_in(b, b_sleeper, NULL);
        bystander = spawn_in(by, b_sleeper, NULL);
        usleep(50 * 1000);      /* let the forker fork a few */

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_ge(reaper_new(e, &r), 0);

        KillRequest req = {
                .cg_root = mnt,
                .cgroup = victim,
                .method = method,
                .release_memory = true,
                .timeout = 5 * USEC_PER_SEC,
        };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        /* Signals went out synchronously; callbacks wait for the loop. */
        ck_assert_uint_eq(o.n_sent, 0);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -EBUSY);
        ck_assert(is_busy(r, victim));

        run_until_done(e, &o);

        /* parent + 3 children + forker + >=1 of its children + sleeper */
        ck_assert_uint_ge(o.sent.n_pids, 7);
        ck_assert_str_eq(o.sent.cgroup, victim);
        ck_assert_int_eq(o.sent.method_used,
                         method == KILL_METHOD_PIDFD ? KILL_METHOD_PIDFD : KILL_METHOD_CGROUP_KILL);
        ck_assert_uint_gt(o.sent.kill_usec, 0);
        ck_assert(o.busy_at_sent);

        ck_assert(!o.done.timed_out);
        ck_assert(!o.done.vanished);
        ck_assert_int_eq(o.done.error, 0);
        ck_assert_uint_eq(o.done.n_pids, o.sent.n_pids);
        ck_assert_uint_lt(o.done.empty_usec, 5 * USEC_PER_SEC);
        ck_assert_int_ge(o.done.mrelease, 0);
        ck_assert_uint_le(o.done.n_mreleased, o.done.n_pids);
        ck_assert_int_eq(o.done.mrelease, o.done.n_mreleased > 0);
        ck_assert(!o.busy_at_done);
        ck_assert_ptr_null(reaper_busy(r)[0]);

        /* The kernel agrees, and every process is really gone. */
        ck_assert(!cg_populated(victim));
        ck_assert_int_eq(cg_walk(mnt, victim, assert_empty_cb, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(direct); i++)
                ck_assert_msg(!pid_alive(direct[i]), "pid %d survived", (int) direct[i]);
        ck_assert_uint_ge(reap_all(o.sent.n_pids, &bystander, 1), o.sent.n_pids);
        ck_assert(pid_alive(bystander));
        ck_assert(cg_populated(by));

        outcome_done(&o);
}

START_TEST(test_kill_cgroup_kill) {
        kill_tree("a", KILL_METHOD_AUTO);
}
END_TEST

START_TEST(test_kill_pidfd_rounds) {
        kill_tree("b", KILL_METHOD_PIDFD);
}
END_TEST

/* ---- c: process_mrelease on a really dying process ---- */

START_TEST(test_mrelease) {
        _cleanup_free_ char *base = cg("c"), *victim = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t rss = 0;
        Outcome o = {};
        pid_t pid;
        int k;

        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);

        /* Directly: SIGKILL, then process_mrelease() while it dies. */
        pid = spawn_in(victim, b_hog, NULL);
        fd = pidfd_open_checked(pid);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(proc_read_rss("/proc", pid, &rss), 0);
        ck_assert_uint_ge(rss, HOG_BYTES);

        ck_assert_int_eq(pidfd_kill(fd, SIGKILL), 0);
        for (int i = 0; i < 10; i++) {
                k = process_mrelease_checked(fd);
                if (k != -EINVAL)
                        break;
                usleep(1000);
        }
        ck_assert_msg(k == 0 || k == -ESRCH, "process_mrelease: %s", strerror(-k));
        /* Whatever is left of it (a zombie: we have not reaped it) holds
         * no memory any more. */
        k = proc_read_rss("/proc", pid, &rss);
        ck_assert(k == -ESRCH || (k == 0 && rss < HOG_BYTES / 2));
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
        ck_assert_int_eq(pidfd_kill(fd, SIGKILL), -ESRCH);
        ck_assert_int_eq(process_mrelease_checked(fd), -ESRCH);

        /* Through the reaper: the worker thread does it. */
        pid_t hogs[2] = { spawn_in(victim, b_hog, NULL), spawn_in(victim, b_hog, NULL) };
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_ge(reaper_new(e, &r), 0);
        KillRequest req = {
                .cg_root = mnt,
                .cgroup = victim,
                .method = KILL_METHOD_PIDFD,
                .release_memory = true,
                .timeout = 5 * USEC_PER_SEC,
        };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        run_until_done(e, &o);

        ck_assert_uint_eq(o.done.n_pids, 2);
        ck_assert_int_eq(o.done.mrelease, o.done.n_mreleased > 0);
        ck_assert_uint_le(o.done.n_mreleased, 2);
        if (o.done.n_mreleased == 0)
                fprintf(stderr, "note: both hogs exited before process_mrelease() reached them\n");
        /* No memory controller here: the RSS sum, and all of it freed. */
        uint64_t current;
        if (cg_read_u64(mnt, victim, "memory.current", &current) < 0) {
                ck_assert_uint_ge(o.done.memory_before, 2 * HOG_BYTES);
                ck_assert_uint_eq(o.done.freed_bytes, o.done.memory_before);
        }
        ck_assert(!o.done.timed_out);
        ck_assert(!pid_alive(hogs[0]));
        ck_assert(!pid_alive(hogs[1]));
        ck_assert_uint_eq(reap_all(2, NULL, 0), 2);
        outcome_done(&o);
}
END_TEST

/* ---- d: pid reuse ---- */

/* Make the next fork get pid 'want' through ns_last_pid; 0 if it did. */
static pid_t spawn_with_pid(const char *path, pid_t want, bool *ret_reused) {
        for (int attempt = 0; attempt < 20; attempt++) {
                char buf[32];
                pid_t p;

                snprintf(buf, sizeof buf, "%d", (int) want - 1);
                if (test_write("/proc/sys/kernel", "ns_last_pid", "%s", buf) < 0)
                        break;
                p = spawn_in(path, b_sleeper, NULL);
                if (p == want) {
                        *ret_reused = true;
                        return p;
                }
                /* Someone else forked in between: try again. */
                kill(p, SIGKILL);
                ck_assert_int_eq(waitpid(p, NULL, 0), p);
        }
        *ret_reused = false;
        return spawn_in(path, b_sleeper, NULL);
}

START_TEST(test_pid_reuse) {
        _cleanup_free_ char *base = cg("d"), *victim = NULL, *by = NULL, *fake = test_mkdtemp();
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        pid_t v, b, w, ghost;
        bool reused;
        size_t n = 0;

        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        ck_assert_int_ge(asprintf(&by, "%s/bystander", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        cg_mkdir(by);

        /* pidfds taken, then the victim exits and is reaped. */
        v = spawn_in(victim, b_sleeper, NULL);
        ck_assert_int_eq(reaper_collect_pidfds(mnt, victim, &fds, &pids, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(pids[0], v);
        kill(v, SIGKILL);
        ck_assert_int_eq(waitpid(v, NULL, 0), v);

        /* A bystander outside the victim gets the same pid number. */
        b = spawn_with_pid(by, v, &reused);
        fprintf(stderr, "pid %d %s\n", (int) v,
                reused ? "reused by the bystander" : "not reused (ns_last_pid unavailable or raced)");

        /* The old pidfd names the dead process, never the new one. */
        ck_assert_int_eq(pidfd_kill(fds[0], SIGKILL), -ESRCH);
        ck_assert(pid_alive(b));
        ck_assert_int_eq(reaper_kill_pidfd_rounds(mnt, victim, 4), 0);
        ck_assert(pid_alive(b));
        safe_close(fds[0]);

        /* A pid listed in cgroup.procs that now names a process elsewhere
         * (moved, or reused) is skipped. A fake tree with the real
         * victim's path lists: a real victim process w, the bystander b
         * (really in the bystander cgroup) and a pid nobody has. */
        w = spawn_in(victim, b_sleeper, NULL);
        for (ghost = 4194000; kill(ghost, 0) == 0 || errno != ESRCH; ghost--)
                ;
        ck_assert_ptr_nonnull(fake);
        ck_assert_int_eq(test_mkdir_p(fake, victim + 1), 0);
        char rel[512];
        snprintf(rel, sizeof rel, "%s/cgroup.procs", victim + 1);
        ck_assert_int_eq(test_write(fake, rel, "%d\n%d\n%d\n", (int) b, (int) ghost, (int) w), 0);

        free(fds);
        free(pids);
        fds = NULL;
        pids = NULL;
        ck_assert_int_eq(reaper_collect_pidfds(fake, victim, &fds, &pids, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(pids[0], w);
        safe_close(fds[0]);

        ck_assert_int_eq(reaper_kill_pidfd_rounds(fake, victim, 4), 1);
        ck_assert_int_eq(waitpid(w, NULL, 0), w);
        ck_assert(pid_alive(b));

        test_rm_rf(fake);
}
END_TEST

/* ---- e: the victim cannot empty in time ---- */

/* A victim that stays populated after the kill (processes stuck in the
 * kernel) cannot be made on demand without harming the host, so the
 * kernel's side is played by a fake tree: cgroup.events says "populated 1"
 * until the test rewrites it, exactly what the reaper watches. */
static const char *fake_root;
static usec_t fake_emptied_usec;

static usec_t now_usec(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

static int on_empty_fake(sd_event_source *s, uint64_t usec, void *userdata) {
        fake_emptied_usec = now_usec();
        ck_assert_int_eq(test_write(fake_root, "victim/cgroup.events", "populated 0\nfrozen 0\n"), 0);
        return 0;
}

START_TEST(test_timeout) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *later = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        _cleanup_free_ char *fake = test_mkdtemp(), *kill_file = NULL;
        Outcome o = {};

        ck_assert_ptr_nonnull(fake);
        ck_assert_int_eq(test_write(fake, "victim/cgroup.events", "populated 1\nfrozen 0\n"), 0);
        ck_assert_int_eq(test_write(fake, "victim/cgroup.procs", "%s", ""), 0);
        ck_assert_int_eq(test_write(fake, "victim/cgroup.kill", "%s", ""), 0);

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_ge(reaper_new(e, &r), 0);
        KillRequest req = {
                .cg_root = fake,
                .cgroup = "/victim",
                .method = KILL_METHOD_AUTO,
                .release_memory = true,
                .timeout = 300 * USEC_PER_MSEC,
        };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        run_until_done(e, &o);

        ck_assert(o.done.timed_out);
        ck_assert_int_eq(o.done.method_used, KILL_METHOD_CGROUP_KILL);
        ck_assert_uint_ge(o.done.empty_usec, 300 * USEC_PER_MSEC);
        ck_assert_uint_lt(o.done.empty_usec, 5 * USEC_PER_SEC);
        ck_assert_uint_eq(o.done.freed_bytes, 0);
        ck_assert(!o.busy_at_done);
        /* The kill was really written. */
        ck_assert_int_eq(cg_read_file(fake, "/victim", "cgroup.kill", &kill_file), 0);
        ck_assert_str_eq(kill_file, "1");
        outcome_done(&o);

        /* The same victim emptying after 100ms: the inotify watch sees it
         * long before the 5s timeout. */
        o = (Outcome) {};
        req.timeout = 5 * USEC_PER_SEC;
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        ck_assert_int_ge(sd_event_add_time_relative(e, &later, CLOCK_MONOTONIC, 100 * USEC_PER_MSEC, 0,
                                                    on_empty_fake, NULL), 0);
        fake_root = fake;
        run_until_done(e, &o);
        ck_assert(!o.done.timed_out);
        /* Seen after the rewrite, not before. */
        ck_assert_uint_gt(fake_emptied_usec, 0);
        ck_assert_uint_ge(o.done.kill_usec + o.done.empty_usec, fake_emptied_usec);
        ck_assert_uint_lt(o.done.empty_usec, 4 * USEC_PER_SEC);
        outcome_done(&o);

        test_rm_rf(fake);
}
END_TEST

/* ---- dry run and errors ---- */

START_TEST(test_dry_run) {
        _cleanup_free_ char *base = cg("f"), *victim = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        Outcome o = {};
        pid_t v[2];

        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        v[0] = spawn_in(victim, b_sleeper, NULL);
        v[1] = spawn_in(victim, b_hog, NULL);

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_ge(reaper_new(e, &r), 0);
        KillRequest req = {
                .cg_root = mnt,
                .cgroup = victim,
                .release_memory = true,
                .timeout = 5 * USEC_PER_SEC,
                .dry_run = true,
        };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        run_until_done(e, &o);

        ck_assert_uint_eq(o.done.n_pids, 2);
        ck_assert_int_eq(o.done.method_used, KILL_METHOD_CGROUP_KILL);
        ck_assert_uint_ge(o.done.memory_before, HOG_BYTES);
        ck_assert_uint_eq(o.done.freed_bytes, 0);
        ck_assert_int_eq(o.done.mrelease, 0);
        ck_assert(!o.done.timed_out);
        ck_assert(pid_alive(v[0]));
        ck_assert(pid_alive(v[1]));
        ck_assert(cg_populated(victim));
        outcome_done(&o);
}
END_TEST

START_TEST(test_errors) {
        _cleanup_free_ char *base = cg("g"), *missing = NULL, *fake = test_mkdtemp();
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        Outcome o = {};

        ck_assert_int_ge(asprintf(&missing, "%s/nope", base), 0);
        cg_mkdir(base);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_ge(reaper_new(e, &r), 0);

        KillRequest req = { .cg_root = mnt, .cgroup = missing, .timeout = USEC_PER_SEC };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -ENOENT);

        /* A kernel without cgroup.kill: explicit cgroup-kill is refused,
         * auto falls back to pidfds (and an empty cgroup completes at once). */
        ck_assert_ptr_nonnull(fake);
        ck_assert_int_eq(test_write(fake, "old/cgroup.events", "populated 0\nfrozen 0\n"), 0);
        ck_assert_int_eq(test_write(fake, "old/cgroup.procs", "%s", ""), 0);
        req = (KillRequest) { .cg_root = fake, .cgroup = "/old", .method = KILL_METHOD_CGROUP_KILL,
                              .timeout = USEC_PER_SEC };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -EOPNOTSUPP);
        req.method = KILL_METHOD_AUTO;
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        run_until_done(e, &o);
        ck_assert_int_eq(o.done.method_used, KILL_METHOD_PIDFD);
        ck_assert_uint_eq(o.done.n_pids, 0);
        ck_assert(!o.done.timed_out);
        ck_assert_int_eq(o.done.mrelease, 0);
        outcome_done(&o);
        test_rm_rf(fake);

        ck_assert_int_eq(reaper_kill(NULL, &req, NULL, NULL), -EINVAL);
        ck_assert_int_eq(reaper_kill(r, NULL, NULL, NULL), -EINVAL);
}
END_TEST

/* ---- cleanup of everything below top, whatever the tests left ---- */

static int collect_paths_cb(const char *root, const char *path, void *userdata) {
        char ***l = userdata;
        size_t n = 0;

        while (*l && (*l)[n])
                n++;
        char **nl = reallocarray(*l, n + 2, sizeof(char *));
        if (!nl)
                return -ENOMEM;
        nl[n] = strdup(path);
        nl[n + 1] = NULL;
        *l = nl;
        return nl[n] ? 0 : -ENOMEM;
}

static void cleanup_top(void) {
        _cleanup_strv_free_ char **paths = NULL;
        size_t n = 0;
        CgroupEvents ev;

        if (!mnt || !top[0])
                return;

        (void) cg_write_file(mnt, top, "cgroup.kill", "1");
        for (int i = 0; i < 500 && cg_read_events(mnt, top, &ev) == 0 && ev.populated; i++)
                usleep(10 * 1000);
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;

        if (cg_walk(mnt, top, collect_paths_cb, &paths) < 0 || !paths)
                return;
        while (paths[n])
                n++;
        /* Pre-order list: remove in reverse, children first. */
        while (n-- > 0) {
                _cleanup_free_ char *p = cg_path(mnt, paths[n], NULL);

                for (int i = 0; p && i < 100; i++) {
                        if (rmdir(p) == 0 || errno != EBUSY)
                                break;
                        usleep(10 * 1000);
                }
        }
}

static Suite *reaper_suite(void) {
        Suite *s = suite_create("reaper-live");
        TCase *tc = tcase_create("live");

        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_kill_cgroup_kill);
        tcase_add_test(tc, test_kill_pidfd_rounds);
        tcase_add_test(tc, test_mrelease);
        tcase_add_test(tc, test_pid_reuse);
        tcase_add_test(tc, test_dry_run);
        suite_add_tcase(s, tc);

        /* No pidfd needed: runs under valgrind too (3.19 lacks pidfd_open),
         * CK_RUN_CASE=fake-tree. */
        tc = tcase_create("fake-tree");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_errors);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        _cleanup_free_ char *top_path = NULL;
        SRunner *sr;
        int failed, r;

        if (geteuid() != 0) {
                printf("SKIP: needs root\n");
                return 77;
        }
        r = cg_find_mount("/proc/self/mountinfo", &mnt);
        if (r < 0) {
                printf("SKIP: no cgroup2 mount: %s\n", strerror(-r));
                return 77;
        }
        snprintf(top, sizeof top, "/cgreap-test-%d", (int) getpid());
        top_path = cg_path(mnt, top, NULL);
        if (!top_path || mkdir(top_path, 0755) < 0) {
                printf("SKIP: cannot create a cgroup under %s: %m\n", mnt);
                free(mnt);
                return 77;
        }
        r = cg_file_exists(mnt, top, "cgroup.kill");
        if (r <= 0) {
                printf("SKIP: no cgroup.kill (kernel < 5.14)\n");
                cleanup_top();
                free(mnt);
                return 77;
        }

        sr = srunner_create(reaper_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);

        cleanup_top();
        free(mnt);
        return failed == 0 ? 0 : 1;
}
