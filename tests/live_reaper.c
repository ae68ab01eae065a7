/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live tests for the reaper: real child cgroups under the cgroup2 mount,
 * real processes, real kills. Needs root and a writable cgroup2 mount, else
 * exits 77 with the reason. Every cgroup is created below one top cgroup
 * "/cgreap-test-<pid>", and every temporary tree below one directory, that
 * main() removes at the end, whatever happened to the tests. */

#include <check.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroupfs.h"
#include "cgtree.h"
#include "parse-util.h"
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

/* Forks N (arg) children that wait, then says it is ready. */
static void b_many(int ready, void *arg) {
        for (int i = 0; i < *(const int *) arg; i++)
                if (fork() == 0)
                        sleep_forever();
        write_ready(ready);
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

/* A hog that cannot run once it is ready: SCHED_IDLE on the CPU given in
 * arg (the test thread's own). A SIGKILL leaves it runnable but never
 * scheduled while the test (or the reaper's worker) keeps that CPU, so
 * process_mrelease() reaches its memory before its exit path drops it:
 * what a victim starved of CPU looks like. It faults its memory in first,
 * while it still gets the CPU. */
static void b_hog_idle(int ready, void *arg) {
        const struct sched_param sp = {};
        volatile char *m = malloc(HOG_BYTES);
        cpu_set_t set;

        if (!m)
                _exit(2);
        for (size_t i = 0; i < HOG_BYTES; i += 4096)
                m[i] = 1;
        CPU_ZERO(&set);
        CPU_SET(*(const int *) arg, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0 || sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
                _exit(5);
        write_ready(ready);
        sleep_forever();
}

/* A sleeper that drops to nobody: a root process without CAP_KILL cannot
 * signal it. */
static void b_nobody(int ready, void *arg) {
        const struct passwd *pw = getpwnam("nobody");

        if (!pw || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                _exit(6);
        write_ready(ready);
        sleep_forever();
}

/* Fork a process that moves itself into cgroup path and runs fn; returns
 * once fn said it is ready, or -1 (no check assertions: usable outside
 * the test process too). */
static pid_t spawn_raw(const char *path, behavior_fn fn, void *arg) {
        int p[2];
        pid_t pid;
        char c;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                close(p[0]);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (cg_write_file(mnt, path, "cgroup.procs", "0") < 0)
                        _exit(3);
                fn(p[1], arg);
                _exit(0);
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
                pid = -1;
        close(p[0]);
        return pid;
}

static pid_t spawn_in(const char *path, behavior_fn fn, void *arg) {
        pid_t pid = spawn_raw(path, fn, arg);

        ck_assert_msg(pid > 0, "spawning a process in %s failed", path);
        return pid;
}

/* Pin the calling thread to one CPU it may use; returns that CPU. Threads
 * it creates afterwards (the reaper's worker) inherit the mask. */
static int pin_self(cpu_set_t *ret_saved) {
        cpu_set_t set;
        int cpu = -1;

        ck_assert_int_eq(sched_getaffinity(0, sizeof *ret_saved, ret_saved), 0);
        for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++)
                if (CPU_ISSET(i, ret_saved))
                        cpu = i;
        ck_assert_int_ge(cpu, 0);
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        ck_assert_int_eq(sched_setaffinity(0, sizeof set, &set), 0);
        return cpu;
}

/* SIGKILL is pending for pid, or it is already dead (a zombie: not reaped). */
static bool sigkill_sent(pid_t pid) {
        _cleanup_free_ char *path = NULL;
        char line[256];
        bool sent = false;
        FILE *f;

        ck_assert_int_ge(asprintf(&path, "/proc/%d/status", (int) pid), 0);
        f = fopen(path, "re");
        if (!f)
                return true;
        while (fgets(line, sizeof line, f)) {
                unsigned long long mask;

                if (strncmp(line, "State:", 6) == 0 && strpbrk(line + 6, "ZX"))
                        sent = true;
                if ((sscanf(line, "SigPnd: %llx", &mask) == 1 || sscanf(line, "ShdPnd: %llx", &mask) == 1) &&
                    (mask & (1ULL << (SIGKILL - 1))))
                        sent = true;
        }
        fclose(f);
        return sent;
}

/* Drop (or give back) CAP_KILL in the calling thread's effective set; the
 * permitted set keeps it. Threads created meanwhile inherit the set. */
static void set_cap_kill(bool on) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];

        ck_assert_int_eq(syscall(SYS_capget, &h, d), 0);
        if (on)
                d[CAP_KILL / 32].effective |= 1U << (CAP_KILL % 32);
        else
                d[CAP_KILL / 32].effective &= ~(1U << (CAP_KILL % 32));
        ck_assert_int_eq(syscall(SYS_capset, &h, d), 0);
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

/* A few loop iterations: a refused kill must call back nothing. */
static void assert_no_callback(sd_event *e, const Outcome *o) {
        for (int i = 0; i < 5; i++)
                ck_assert_int_ge(sd_event_run(e, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(o->n_sent + o->n_done, 0);
}

static void kill_and_reap(pid_t pid) {
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}

static KillRequest kill_request(const char *root, const char *cgroup, KillMethod method, bool release_memory,
                                usec_t timeout) {
        return (KillRequest) {
                .cg_root = root,
                .cgroup = cgroup,
                .method = method,
                .release_memory = release_memory,
                .timeout = timeout,
        };
}

static void new_reaper(sd_event **ret_e, Reaper **ret_r) {
        ck_assert_int_ge(sd_event_new(ret_e), 0);
        ck_assert_int_ge(reaper_new(*ret_e, ret_r), 0);
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

        new_reaper(&e, &r);

        KillRequest req = kill_request(mnt, victim, method, true, 5 * USEC_PER_SEC);
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

/* Directly: SIGKILL a hog that cannot run (SCHED_IDLE on our CPU), then
 * process_mrelease() while it is dying: it must release the memory, seen
 * in the victim's own VmRSS before it ever ran its exit path. */
static void mrelease_direct(const char *victim, int cpu) {
        uint64_t rss = 0;
        bool released = false;

        /* A second chance only against a stray preemption of this thread. */
        for (int attempt = 0; attempt < 5 && !released; attempt++) {
                pid_t pid = spawn_in(victim, b_hog_idle, &cpu);
                _cleanup_close_ int fd = pidfd_open_checked(pid);
                int k;

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(proc_read_rss("/proc", pid, &rss), 0);
                ck_assert_uint_ge(rss, HOG_BYTES);

                ck_assert_int_eq(pidfd_kill(fd, SIGKILL), 0);
                k = process_mrelease_checked(fd);
                ck_assert_msg(k == 0 || k == -ESRCH, "process_mrelease: %s", strerror(-k));
                if (k == 0) {
                        /* Unmapped in our context: whatever is left of it
                         * (it may not have run at all yet) holds no memory. */
                        k = proc_read_rss("/proc", pid, &rss);
                        ck_assert_msg(k == -ESRCH || (k == 0 && rss < HOG_BYTES / 2),
                                      "VmRSS still %" PRIu64 " after process_mrelease()", rss);
                        released = true;
                } else
                        fprintf(stderr, "note: attempt %d: the hog exited before process_mrelease()\n",
                                attempt);
                ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
                ck_assert_int_eq(pidfd_kill(fd, SIGKILL), -ESRCH);
                ck_assert_int_eq(process_mrelease_checked(fd), -ESRCH);
        }
        ck_assert_msg(released, "process_mrelease() never reached a dying hog's memory");
}

START_TEST(test_mrelease) {
        _cleanup_free_ char *base = cg("c"), *victim = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        cpu_set_t saved;
        int cpu;

        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);

        /* The worker threads, created below, inherit the pinning. */
        cpu = pin_self(&saved);
        mrelease_direct(victim, cpu);

        /* Through the reaper: a worker thread signals and releases. */
        new_reaper(&e, &r);
        for (int attempt = 0; attempt < 3; attempt++) {
                pid_t hogs[2] = { spawn_in(victim, b_hog_idle, &cpu), spawn_in(victim, b_hog_idle, &cpu) };
                KillRequest req = kill_request(mnt, victim, attempt == 0 ? KILL_METHOD_PIDFD : KILL_METHOD_AUTO,
                                               true, 5 * USEC_PER_SEC);
                Outcome o = {};
                uint64_t current;

                ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
                run_until_done(e, &o);

                ck_assert_uint_eq(o.done.n_pids, 2);
                ck_assert_uint_eq(o.sent.n_signalled, 2);
                ck_assert_int_eq(o.done.error, 0);
                ck_assert_int_eq(o.done.mrelease, o.done.n_mreleased > 0);
                ck_assert_uint_le(o.done.n_mreleased, 2);
                /* No memory controller here: the RSS sum, and all of it freed. */
                if (cg_read_u64(mnt, victim, "memory.current", &current) < 0) {
                        ck_assert_uint_ge(o.done.memory_before, 2 * HOG_BYTES);
                        ck_assert_uint_eq(o.done.freed_bytes, o.done.memory_before);
                }
                ck_assert(!o.done.timed_out);
                ck_assert(!pid_alive(hogs[0]));
                ck_assert(!pid_alive(hogs[1]));
                ck_assert_uint_eq(reap_all(2, NULL, 0), 2);
                bool released = o.done.n_mreleased > 0;
                outcome_done(&o);
                if (released)
                        break;
                fprintf(stderr, "note: attempt %d: both hogs exited before the worker released them\n",
                        attempt);
                ck_assert_msg(attempt < 2, "the reaper's worker never released a starved victim's memory");
        }
        ck_assert_int_eq(sched_setaffinity(0, sizeof saved, &saved), 0);
}
END_TEST

/* ---- c2: ReleaseMemory=no: the loop sends the kill, nothing is released ---- */

START_TEST(test_no_release) {
        _cleanup_free_ char *base = cg("c2"), *victim = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        cpu_set_t saved;
        Outcome o = {};
        int cpu;

        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        /* The same starved hogs the worker releases in test_mrelease. */
        cpu = pin_self(&saved);
        pid_t hogs[2] = { spawn_in(victim, b_hog_idle, &cpu), spawn_in(victim, b_hog_idle, &cpu) };

        new_reaper(&e, &r);
        KillRequest req = kill_request(mnt, victim, KILL_METHOD_PIDFD, false, 5 * USEC_PER_SEC);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        /* Sent from inside reaper_kill(), before the loop ran at all. */
        ck_assert(sigkill_sent(hogs[0]));
        ck_assert(sigkill_sent(hogs[1]));
        ck_assert_uint_eq(o.n_sent, 0);
        ck_assert_int_eq(sched_setaffinity(0, sizeof saved, &saved), 0);
        run_until_done(e, &o);

        ck_assert_uint_eq(o.sent.n_pids, 2);
        ck_assert_uint_eq(o.sent.n_signalled, 2);
        ck_assert_int_eq(o.sent.method_used, KILL_METHOD_PIDFD);
        ck_assert_int_eq(o.done.error, 0);
        /* Not asked: the victims unmapped their memory themselves. */
        ck_assert_int_eq(o.done.mrelease, 0);
        ck_assert_uint_eq(o.done.n_mreleased, 0);
        ck_assert(!o.done.timed_out);
        ck_assert(!cg_populated(victim));
        ck_assert_uint_ge(o.done.memory_before, 2 * HOG_BYTES);
        ck_assert_uint_eq(reap_all(2, NULL, 0), 2);
        outcome_done(&o);
}
END_TEST

/* ---- c3: a kill never waits for a release ---- */

/* The workers' release call, held at a gate until the test opens it, then
 * the real process_mrelease(): a release of a big victim starved of CPU,
 * which can take hundreds of ms, made as long as the test needs. */
typedef struct GateState {
        unsigned n_entered;             /* release calls that reached the gate */
        usec_t first_done_usec;         /* when the first one returned, or 0 */
} GateState;

static struct {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool open;
        GateState state;
} gate = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int gated_mrelease(int pidfd) {
        int k;

        pthread_mutex_lock(&gate.lock);
        gate.state.n_entered++;
        pthread_cond_broadcast(&gate.cond);
        while (!gate.open)
                pthread_cond_wait(&gate.cond, &gate.lock);
        pthread_mutex_unlock(&gate.lock);

        k = process_mrelease_checked(pidfd);

        pthread_mutex_lock(&gate.lock);
        if (gate.state.first_done_usec == 0)
                gate.state.first_done_usec = now_usec();
        pthread_mutex_unlock(&gate.lock);
        return k;
}

/* What the workers did at the gate so far. */
static GateState gate_state(void) {
        GateState st;

        pthread_mutex_lock(&gate.lock);
        st = gate.state;
        pthread_mutex_unlock(&gate.lock);
        return st;
}

/* pid exits within 5 s, without running any event loop: whoever sent the
 * kill did not need one. */
static bool wait_dead(pid_t pid) {
        _cleanup_close_ int fd = pidfd_open_checked(pid);
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        if (fd < 0)
                return fd == -ESRCH;
        return poll(&pfd, 1, 5000) == 1;
}

/* Run the loop until every kill of o[n] has said "sent" (at most 5 s). */
static void run_until_sent(sd_event *e, const Outcome *o, size_t n) {
        for (usec_t end = now_usec() + 5 * USEC_PER_SEC; now_usec() < end;) {
                size_t sent = 0;

                for (size_t i = 0; i < n; i++)
                        sent += o[i].n_sent;
                if (sent == n)
                        return;
                ck_assert_int_ge(sd_event_run(e, 10 * USEC_PER_MSEC), 0);
        }
        ck_assert_msg(false, "not every kill said \"sent\" within 5s");
}

static void run_until_entered(sd_event *e, unsigned n) {
        /* ... and until n releases are held at the gate. */
        for (usec_t end = now_usec() + 5 * USEC_PER_SEC; gate_state().n_entered < n && now_usec() < end;)
                ck_assert_int_ge(sd_event_run(e, 10 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(gate_state().n_entered, n);
}

/* Kill 1's release is held; kill 2 and kill 3 must still kill their real
 * victims before it returns: kill 2 from the second worker (which sends and
 * releases), kill 3, with both workers held, from the loop inside
 * reaper_kill(). With one worker doing kills and releases in turn, victim 2
 * would live until the gate opens. */
START_TEST(test_kill_not_behind_release) {
        _cleanup_free_ char *base = cg("c3");
        char *victim[3] = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        /* a worker's cgroup.kill, a worker's pidfd signals, the loop's cgroup.kill */
        const KillMethod method[3] = { KILL_METHOD_AUTO, KILL_METHOD_PIDFD, KILL_METHOD_AUTO };
        Outcome o[3] = {};
        pid_t v[3];
        int st;

        cg_mkdir(base);
        for (int i = 0; i < 3; i++) {
                ck_assert_int_ge(asprintf(&victim[i], "%s/v%d", base, i + 1), 0);
                cg_mkdir(victim[i]);
                v[i] = spawn_in(victim[i], b_sleeper, NULL);
        }

        new_reaper(&e, &r);
        reaper_set_mrelease(r, gated_mrelease);

        KillRequest req = kill_request(mnt, victim[0], method[0], true, 10 * USEC_PER_SEC);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o[0]), 0);
        /* Its worker has sent the kill and is now inside the release. */
        run_until_entered(e, 1);
        ck_assert(wait_dead(v[0]));

        req = kill_request(mnt, victim[1], method[1], true, 10 * USEC_PER_SEC);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o[1]), 0);
        ck_assert_msg(wait_dead(v[1]), "kill 2 was not sent while kill 1's release was held");
        ck_assert_uint_eq(gate_state().first_done_usec, 0);
        /* The second worker sent it, and now holds its release too. */
        run_until_entered(e, 2);

        req = kill_request(mnt, victim[2], method[2], true, 10 * USEC_PER_SEC);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o[2]), 0);
        /* No worker was free: sent from inside reaper_kill(). */
        ck_assert_msg(wait_dead(v[2]), "kill 3 was not sent while both releases were held");

        /* Every "sent" callback comes while the releases are still held. */
        run_until_sent(e, o, 3);
        for (int i = 0; i < 3; i++) {
                ck_assert_uint_eq(o[i].n_sent, 1);
                ck_assert_uint_eq(o[i].n_done, 0);
                ck_assert_uint_eq(o[i].sent.n_signalled, 1);
                ck_assert_int_eq(o[i].sent.error, 0);
                ck_assert_int_eq(o[i].sent.method_used, i == 1 ? KILL_METHOD_PIDFD : KILL_METHOD_CGROUP_KILL);
        }
        ck_assert_uint_eq(gate_state().first_done_usec, 0);
        usec_t opened = now_usec();
        ck_assert_uint_lt(o[1].sent.kill_usec, opened);
        ck_assert_uint_lt(o[2].sent.kill_usec, opened);

        pthread_mutex_lock(&gate.lock);
        gate.open = true;
        pthread_cond_broadcast(&gate.cond);
        pthread_mutex_unlock(&gate.lock);

        /* Completion waits for the releases, kill 3's included (queued for
         * a worker once one was free). */
        for (int i = 0; i < 3; i++) {
                run_until_done(e, &o[i]);
                ck_assert(!o[i].done.timed_out);
                ck_assert_int_eq(o[i].done.error, 0);
                ck_assert(!cg_populated(victim[i]));
                ck_assert_int_eq(waitpid(v[i], &st, 0), v[i]);
                ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
                outcome_done(&o[i]);
        }
        ck_assert_uint_eq(gate_state().n_entered, 3);
        ck_assert_uint_ge(gate_state().first_done_usec, opened);

        for (int i = 0; i < 3; i++)
                free(victim[i]);
}
END_TEST

/* ---- d: pid reuse ---- */

/* The check of the pid-reuse scenario: outside the test process, so no
 * check assertions. */
#define NS_CHECK(x)                                                                     \
        do {                                                                            \
                if (!(x)) {                                                             \
                        fprintf(stderr, "pid reuse: line %d: check failed: %s\n",       \
                                __LINE__, #x);                                          \
                        return 1;                                                       \
                }                                                                       \
        } while (0)

typedef struct NsOutcome {
        bool done;
        KillResult res;         /* the completion's, without its cgroup string */
} NsOutcome;

static void ns_outcome_cb(Reaper *r, const KillResult *res, bool sent, void *userdata) {
        NsOutcome *o = userdata;

        if (!sent) {
                o->done = true;
                o->res = *res;
                o->res.cgroup = NULL;
        }
}

/* Runs as pid 1 of a new pid namespace with its own /proc: nobody else
 * forks here, so ns_last_pid makes the reuse certain. */
static int pid_reuse_in_namespace(const char *victim, const char *by, const char *fake) {
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        char rel[512], buf[32];
        size_t n = 0;
        pid_t v, b, w;

        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                fprintf(stderr, "SKIP: mounting a /proc for the new pid namespace: %m\n");
                return 77;
        }

        /* pidfds taken, then the victim exits and is reaped. */
        v = spawn_raw(victim, b_sleeper, NULL);
        NS_CHECK(v > 0);
        NS_CHECK(reaper_collect_pidfds(mnt, victim, &fds, &pids, &n) == 0);
        NS_CHECK(n == 1 && pids[0] == v);
        NS_CHECK(kill(v, SIGKILL) == 0 && waitpid(v, NULL, 0) == v);

        /* A bystander outside the victim gets the same number. */
        snprintf(buf, sizeof buf, "%d", (int) v - 1);
        if (test_write("/proc/sys/kernel", "ns_last_pid", "%s", buf) < 0) {
                fprintf(stderr, "SKIP: cannot write ns_last_pid (kernel without CONFIG_CHECKPOINT_RESTORE?)\n");
                return 77;
        }
        b = spawn_raw(by, b_sleeper, NULL);
        NS_CHECK(b == v);
        /* The number names a live process: kill(v) would hit it now. */
        NS_CHECK(kill(v, 0) == 0);

        /* The old pidfd names the dead process, never the new one. */
        NS_CHECK(pidfd_kill(fds[0], SIGKILL) == -ESRCH);
        NS_CHECK(pid_alive(b));
        fds[0] = safe_close(fds[0]);

        /* The number read from cgroup.procs before the reuse, listed by a
         * fake tree with the victim's path next to a real victim process
         * w: the reused number is never signalled, w is. */
        w = spawn_raw(victim, b_sleeper, NULL);
        NS_CHECK(w > 0);
        NS_CHECK(test_mkdir_p(fake, victim + 1) == 0);
        snprintf(rel, sizeof rel, "%s/cgroup.procs", victim + 1);
        NS_CHECK(test_write(fake, rel, "%d\n", (int) v) == 0);
        free(fds);
        free(pids);
        fds = NULL;
        pids = NULL;
        NS_CHECK(reaper_collect_pidfds(fake, victim, &fds, &pids, &n) == 0);
        NS_CHECK(n == 0);
        NS_CHECK(reaper_kill_pidfd_rounds(fake, victim, 4) == 0);
        NS_CHECK(pid_alive(b));
        NS_CHECK(pid_alive(w));

        /* The whole kill, through the loop: only w dies. */
        snprintf(rel, sizeof rel, "%s/cgroup.events", victim + 1);
        NS_CHECK(test_write(fake, rel, "populated 1\nfrozen 0\n") == 0);
        snprintf(rel, sizeof rel, "%s/cgroup.procs", victim + 1);
        NS_CHECK(test_write(fake, rel, "%d\n%d\n", (int) v, (int) w) == 0);
        {
                _cleanup_(sd_event_unrefp) sd_event *e = NULL;
                _cleanup_(reaper_freep) Reaper *r = NULL;
                NsOutcome o = {};
                /* The fake tree never empties: a short timeout. */
                KillRequest req = kill_request(fake, victim, KILL_METHOD_PIDFD, true, 300 * USEC_PER_MSEC);

                NS_CHECK(sd_event_new(&e) >= 0);
                NS_CHECK(reaper_new(e, &r) >= 0);
                NS_CHECK(reaper_kill(r, &req, ns_outcome_cb, &o) == 0);
                for (int i = 0; i < 100 && !o.done; i++)
                        NS_CHECK(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
                NS_CHECK(o.done);
                NS_CHECK(o.res.n_pids == 1);
                NS_CHECK(o.res.n_signalled == 1);
                NS_CHECK(o.res.error == 0);
        }
        NS_CHECK(waitpid(w, NULL, 0) == w);
        NS_CHECK(pid_alive(b));
        return 0;
}

/* Can this machine give a test its own pid namespace? NULL if so, else why
 * not. */
static const char *pid_namespace_unavailable(void) {
        int st;
        pid_t p = fork();

        if (p < 0)
                return "fork failed";
        if (p == 0)
                _exit(unshare(CLONE_NEWNS | CLONE_NEWPID) < 0 ? 1 : 0);
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return "unshare(CLONE_NEWNS|CLONE_NEWPID) is not permitted";
        if (access("/proc/sys/kernel/ns_last_pid", W_OK) < 0)
                return "no writable /proc/sys/kernel/ns_last_pid (kernel without CONFIG_CHECKPOINT_RESTORE?)";
        return NULL;
}

START_TEST(test_pid_reuse) {
        _cleanup_free_ char *base = cg("d"), *victim = NULL, *by = NULL, *fake = test_mkdtemp();
        int st;
        pid_t p;

        ck_assert_ptr_nonnull(fake);
        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        ck_assert_int_ge(asprintf(&by, "%s/bystander", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        cg_mkdir(by);

        p = fork();
        ck_assert_int_ge(p, 0);
        if (p == 0) {
                pid_t init;

                /* A private mount namespace, so that the new /proc is ours. */
                if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                init = fork();
                if (init < 0)
                        _exit(2);
                if (init == 0)
                        _exit(pid_reuse_in_namespace(victim, by, fake));
                if (waitpid(init, &st, 0) != init)
                        _exit(2);
                _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 3);
        }
        ck_assert_int_eq(waitpid(p, &st, 0), p);
        ck_assert_msg(WIFEXITED(st), "the pid namespace test died by a signal");
        /* main() only adds this test when namespaces are available. */
        ck_assert_msg(WEXITSTATUS(st) == 0, "the pid reuse check in a new pid namespace failed (exit %d)",
                      WEXITSTATUS(st));
        /* Its init's death took every process of the namespace with it. */
        ck_assert(!cg_populated(victim));
        ck_assert(!cg_populated(by));
}
END_TEST

/* ---- e: the victim cannot empty in time ---- */

/* A victim that stays populated after the kill (processes stuck in the
 * kernel) cannot be made on demand without harming the host, so the
 * kernel's side is played by a fake tree with the real victim's path: its
 * cgroup.procs lists a real process of the real cgroup (the reaper checks
 * /proc/PID/cgroup), its cgroup.kill is a plain file (so the process lives
 * on), and cgroup.events says "populated 1" until the test rewrites it. */
static const char *fake_root;
static char fake_events[512];
static usec_t fake_emptied_usec;

static int on_empty_fake(sd_event_source *s, uint64_t usec, void *userdata) {
        fake_emptied_usec = now_usec();
        ck_assert_int_eq(test_write(fake_root, fake_events, "populated 0\nfrozen 0\n"), 0);
        return 0;
}

/* The fake twin of real cgroup path, listing pids (0-terminated), with a
 * cgroup.kill file when with_kill. */
static void fake_victim(const char *fake, const char *path, bool populated, bool with_kill, const pid_t *pids) {
        char rel[512], list[256] = "";
        size_t l = 0;

        for (; *pids; pids++)
                l += (size_t) snprintf(list + l, sizeof list - l, "%d\n", (int) *pids);
        snprintf(rel, sizeof rel, "%s/cgroup.events", path + 1);
        ck_assert_int_eq(test_write(fake, rel, "populated %d\nfrozen 0\n", populated), 0);
        snprintf(rel, sizeof rel, "%s/cgroup.procs", path + 1);
        ck_assert_int_eq(test_write(fake, rel, "%s", list), 0);
        snprintf(rel, sizeof rel, "%s/cgroup.kill", path + 1);
        if (with_kill)
                ck_assert_int_eq(test_write(fake, rel, "%s", ""), 0);
}

/* A sleeper in the real cgroup NAME/victim, listed by its fake twin below
 * fake (populated, with a cgroup.kill file when with_kill). */
static pid_t spawn_fake_victim(const char *fake, const char *name, bool with_kill, char **ret_victim) {
        _cleanup_free_ char *base = cg(name);
        char *victim = NULL;
        pid_t v;

        ck_assert_ptr_nonnull(fake);
        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        v = spawn_in(victim, b_sleeper, NULL);
        fake_victim(fake, victim, true, with_kill, (pid_t[]) { v, 0 });
        *ret_victim = victim;
        return v;
}

START_TEST(test_timeout) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *later = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        _cleanup_free_ char *victim = NULL, *fake = test_mkdtemp(), *kill_file = NULL;
        Outcome o = {};
        pid_t v = spawn_fake_victim(fake, "e", true, &victim);

        new_reaper(&e, &r);
        KillRequest req = kill_request(fake, victim, KILL_METHOD_AUTO, true, 300 * USEC_PER_MSEC);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        run_until_done(e, &o);

        ck_assert(o.done.timed_out);
        ck_assert_int_eq(o.done.method_used, KILL_METHOD_CGROUP_KILL);
        ck_assert_uint_eq(o.sent.n_signalled, 1);
        ck_assert_int_eq(o.done.error, 0);
        /* KillTimeout= counts from the kill */
        ck_assert_uint_ge(o.done.empty_usec, 300 * USEC_PER_MSEC);
        ck_assert_uint_lt(o.done.empty_usec, 5 * USEC_PER_SEC);
        ck_assert_uint_eq(o.done.freed_bytes, 0);
        ck_assert(!o.busy_at_done);
        /* The kill was really written, to the fake file: v lives on. */
        ck_assert_int_eq(cg_read_file(fake, victim, "cgroup.kill", &kill_file), 0);
        ck_assert_str_eq(kill_file, "1");
        ck_assert(pid_alive(v));
        outcome_done(&o);

        /* The same victim emptying after 100ms: the inotify watch sees it
         * long before the 5s timeout. */
        o = (Outcome) {};
        req.timeout = 5 * USEC_PER_SEC;
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        fake_root = fake;
        snprintf(fake_events, sizeof fake_events, "%s/cgroup.events", victim + 1);
        ck_assert_int_ge(sd_event_add_time_relative(e, &later, CLOCK_MONOTONIC, 100 * USEC_PER_MSEC, 0,
                                                    on_empty_fake, NULL), 0);
        run_until_done(e, &o);
        ck_assert(!o.done.timed_out);
        /* Seen after the rewrite, not before. */
        ck_assert_uint_gt(fake_emptied_usec, 0);
        ck_assert_uint_ge(o.done.kill_usec + o.done.empty_usec, fake_emptied_usec);
        ck_assert_uint_lt(o.done.empty_usec, 4 * USEC_PER_SEC);
        outcome_done(&o);

        kill_and_reap(v);
}
END_TEST

/* ---- e2: cgroup.kill refused: the pidfds do the kill, and say so ---- */

/* The fake twin's cgroup.kill cannot be written for a reason other than
 * the cgroup being gone: it is a directory (opening it fails, EISDIR), or
 * /dev/full (the write fails, ENOSPC). The kill falls back to the pidfds,
 * reaches the real process, and the result names the method that really
 * did it and why. Both ways: from a worker thread (ReleaseMemory=yes) and
 * from the loop (ReleaseMemory=no). */
static void kill_fallback(const char *name, bool release_memory, bool write_fails) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *later = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        _cleanup_free_ char *victim = NULL, *fake = test_mkdtemp(), *kill_dir = NULL;
        Outcome o = {};
        pid_t v = spawn_fake_victim(fake, name, false, &victim);
        ck_assert_int_ge(asprintf(&kill_dir, "%s%s/cgroup.kill", fake, victim), 0);
        if (write_fails)
                ck_assert_int_eq(symlink("/dev/full", kill_dir), 0);
        else
                ck_assert_int_eq(mkdir(kill_dir, 0755), 0);

        new_reaper(&e, &r);
        KillRequest req = kill_request(fake, victim, KILL_METHOD_AUTO, release_memory, 5 * USEC_PER_SEC);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        fake_root = fake;
        snprintf(fake_events, sizeof fake_events, "%s/cgroup.events", victim + 1);
        ck_assert_int_ge(sd_event_add_time_relative(e, &later, CLOCK_MONOTONIC, 200 * USEC_PER_MSEC, 0,
                                                    on_empty_fake, NULL), 0);
        run_until_done(e, &o);

        ck_assert_uint_eq(o.n_sent, 1);
        ck_assert_int_eq(o.sent.error, 0);
        ck_assert_int_eq(o.sent.method_used, KILL_METHOD_PIDFD);
        ck_assert_int_eq(o.done.method_used, KILL_METHOD_PIDFD);
        ck_assert_int_eq(o.sent.cgroup_kill_error, write_fails ? -ENOSPC : -EISDIR);
        ck_assert_uint_eq(o.sent.n_signalled, 1);
        ck_assert(!o.done.timed_out);
        /* Really dead, by SIGKILL from the pidfd. */
        int status;
        ck_assert_int_eq(waitpid(v, &status, 0), v);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        outcome_done(&o);
        if (write_fails)
                (void) unlink(kill_dir);
        else
                (void) rmdir(kill_dir);
}

START_TEST(test_kill_fallback_worker) {
        kill_fallback("e2", true, false);
        kill_fallback("e2w", true, true);
}
END_TEST

START_TEST(test_kill_fallback_loop) {
        kill_fallback("e3", false, false);
        kill_fallback("e3w", false, true);
}
END_TEST

/* ---- h: a kill that cannot signal anything is no kill ---- */

START_TEST(test_no_cap_kill) {
        _cleanup_free_ char *base = cg("h"), *victim = NULL, *mixed = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        Outcome o = {};
        pid_t theirs, mine, other;
        int st;

        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        ck_assert_int_ge(asprintf(&mixed, "%s/mixed", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        cg_mkdir(mixed);
        theirs = spawn_in(victim, b_nobody, NULL);

        /* Without CAP_KILL, root may not signal nobody's process; the
         * worker thread, created after the drop, has no CAP_KILL either. */
        set_cap_kill(false);
        new_reaper(&e, &r);

        /* From the loop: an error of reaper_kill(), no callback. */
        KillRequest req = kill_request(mnt, victim, KILL_METHOD_PIDFD, false, 5 * USEC_PER_SEC);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -EPERM);
        assert_no_callback(e, &o);
        ck_assert(!is_busy(r, victim));
        ck_assert(pid_alive(theirs));

        /* From the worker: "sent" says nothing was signalled, and the
         * completion follows at once, not after the timeout. */
        req.release_memory = true;
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        usec_t t0 = now_usec();
        run_until_done(e, &o);
        ck_assert_uint_lt(now_usec() - t0, 2 * USEC_PER_SEC);
        ck_assert_int_eq(o.sent.error, -EPERM);
        ck_assert_uint_eq(o.sent.n_signalled, 0);
        ck_assert(!o.sent.vanished);
        ck_assert_int_eq(o.done.error, -EPERM);
        ck_assert(!o.done.timed_out);
        ck_assert_uint_eq(o.done.n_mreleased, 0);
        ck_assert(!o.busy_at_done);
        ck_assert(pid_alive(theirs));
        outcome_done(&o);

        /* Some reached, some not: a kill, with the error said. */
        mine = spawn_in(mixed, b_sleeper, NULL);
        other = spawn_in(mixed, b_nobody, NULL);
        o = (Outcome) {};
        req.cgroup = mixed;
        req.timeout = 300 * USEC_PER_MSEC;
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        run_until_done(e, &o);
        ck_assert_int_eq(o.sent.error, 0);
        ck_assert_uint_eq(o.sent.n_pids, 2);
        ck_assert_uint_eq(o.sent.n_signalled, 1);
        ck_assert_int_eq(o.sent.signal_error, -EPERM);
        ck_assert(o.done.timed_out);          /* the other keeps it populated */
        ck_assert_int_eq(waitpid(mine, &st, 0), mine);
        ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        ck_assert(pid_alive(other));
        outcome_done(&o);

        /* cgroup.kill needs no CAP_KILL: the kernel signals. */
        o = (Outcome) {};
        req = (KillRequest) { .cg_root = mnt, .cgroup = victim, .method = KILL_METHOD_AUTO,
                              .release_memory = true, .timeout = 5 * USEC_PER_SEC };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        run_until_done(e, &o);
        ck_assert_int_eq(o.done.error, 0);
        ck_assert(!o.done.timed_out);
        ck_assert_int_eq(waitpid(theirs, NULL, 0), theirs);
        outcome_done(&o);

        set_cap_kill(true);
        kill_and_reap(other);
}
END_TEST

/* ---- i: never ourselves ---- */

START_TEST(test_refuses_self) {
        _cleanup_free_ char *base = cg("i"), *victim = NULL, *fake = test_mkdtemp(), *own = NULL;
        _cleanup_free_ char *pidstr = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        Outcome o = {};
        pid_t v;
        int k1, k2;

        ck_assert_ptr_nonnull(fake);
        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        v = spawn_in(victim, b_sleeper, NULL);
        new_reaper(&e, &r);

        /* A cgroup.procs that lists us next to a real victim process. */
        fake_victim(fake, victim, true, true, (pid_t[]) { v, getpid(), 0 });
        for (KillMethod m = KILL_METHOD_AUTO; m <= KILL_METHOD_PIDFD; m++) {
                KillRequest req = { .cg_root = fake, .cgroup = victim, .method = m, .release_memory = true,
                                    .timeout = USEC_PER_SEC };

                ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -EDEADLK);
                req.dry_run = true;
                ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -EDEADLK);
        }

        /* Really inside the victim (and so inside its parent): refused
         * before cgroup.kill is written. We move back at once, before any
         * assertion, so that nothing else runs in there. */
        ck_assert_int_eq(cg_pid_get_path("/proc", getpid(), &own), 0);
        ck_assert_int_ge(asprintf(&pidstr, "%d", (int) getpid()), 0);
        ck_assert_int_eq(cg_write_file(mnt, victim, "cgroup.procs", pidstr), 0);
        KillRequest req = { .cg_root = mnt, .cgroup = victim, .method = KILL_METHOD_AUTO,
                            .release_memory = true, .timeout = USEC_PER_SEC };
        k1 = reaper_kill(r, &req, outcome_cb, &o);
        req.cgroup = base;
        k2 = reaper_kill(r, &req, outcome_cb, &o);
        ck_assert_int_eq(cg_write_file(mnt, own, "cgroup.procs", pidstr), 0);
        ck_assert_int_eq(k1, -EDEADLK);
        ck_assert_int_eq(k2, -EDEADLK);

        assert_no_callback(e, &o);
        ck_assert(pid_alive(v));
        ck_assert(cg_populated(victim));
        kill_and_reap(v);
}
END_TEST

/* ---- j: nothing left to kill ---- */

START_TEST(test_vanished) {
        _cleanup_free_ char *base = cg("j"), *victim = NULL, *empty = NULL, *fake = test_mkdtemp();
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        Outcome o = {};
        pid_t v, ghost;

        ck_assert_ptr_nonnull(fake);
        ck_assert_int_ge(asprintf(&victim, "%s/victim", base), 0);
        ck_assert_int_ge(asprintf(&empty, "%s/empty", base), 0);
        cg_mkdir(base);
        cg_mkdir(victim);
        cg_mkdir(empty);
        v = spawn_in(victim, b_sleeper, NULL);
        new_reaper(&e, &r);

        for (int dry = 0; dry <= 1; dry++) {
                KillRequest req = { .cg_root = mnt, .cgroup = empty, .method = KILL_METHOD_AUTO,
                                    .release_memory = true, .timeout = USEC_PER_SEC, .dry_run = dry };

                /* A real empty cgroup: populated 0. */
                ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -ENOENT);

                /* Populated by the events file, but its only pid is gone:
                 * no pidfd, so no kill (a record would say PIDS=0). */
                for (ghost = 4194000; kill(ghost, 0) == 0 || errno != ESRCH; ghost--)
                        ;
                fake_victim(fake, empty, true, true, (pid_t[]) { ghost, 0 });
                req.cg_root = fake;
                ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -ENOENT);

                /* A stale listing of a live process in a cgroup that says
                 * populated 0: not killed either. */
                fake_victim(fake, victim, false, true, (pid_t[]) { v, 0 });
                req.cgroup = victim;
                ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -ENOENT);
        }
        assert_no_callback(e, &o);
        ck_assert(pid_alive(v));
        kill_and_reap(v);
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

        new_reaper(&e, &r);
        KillRequest req = kill_request(mnt, victim, KILL_METHOD_AUTO, true, 5 * USEC_PER_SEC);
        req.dry_run = true;
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
        _cleanup_free_ char *base = cg("g"), *missing = NULL, *old = NULL, *fake = test_mkdtemp();
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        Outcome o = {};
        pid_t v;
        int st;

        ck_assert_ptr_nonnull(fake);
        ck_assert_int_ge(asprintf(&missing, "%s/nope", base), 0);
        ck_assert_int_ge(asprintf(&old, "%s/old", base), 0);
        cg_mkdir(base);
        cg_mkdir(old);
        new_reaper(&e, &r);

        KillRequest req = { .cg_root = mnt, .cgroup = missing, .timeout = USEC_PER_SEC };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -ENOENT);

        /* A kernel without cgroup.kill (a fake twin without the file):
         * explicit cgroup-kill is refused, auto falls back to pidfds. */
        v = spawn_in(old, b_sleeper, NULL);
        fake_victim(fake, old, true, false, (pid_t[]) { v, 0 });
        req = (KillRequest) { .cg_root = fake, .cgroup = old, .method = KILL_METHOD_CGROUP_KILL,
                              .release_memory = true, .timeout = 300 * USEC_PER_MSEC };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -EOPNOTSUPP);
        ck_assert(pid_alive(v));
        req.method = KILL_METHOD_AUTO;
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), 0);
        run_until_done(e, &o);
        ck_assert_int_eq(o.done.method_used, KILL_METHOD_PIDFD);
        ck_assert_uint_eq(o.done.n_pids, 1);
        ck_assert_uint_eq(o.sent.n_signalled, 1);
        ck_assert_int_eq(waitpid(v, &st, 0), v);
        ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        /* The fake events file never says populated 0. */
        ck_assert(o.done.timed_out);
        outcome_done(&o);

        ck_assert_int_eq(reaper_kill(NULL, &req, NULL, NULL), -EINVAL);
        ck_assert_int_eq(reaper_kill(r, NULL, NULL, NULL), -EINVAL);
}
END_TEST

/* No pidfd needed (valgrind 3.19 has no pidfd_open): run with
 * CK_RUN_CASE=fake-tree. */
START_TEST(test_errors_fake) {
        _cleanup_free_ char *fake = test_mkdtemp();
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(reaper_freep) Reaper *r = NULL;
        Outcome o = {};

        ck_assert_ptr_nonnull(fake);
        new_reaper(&e, &r);
        ck_assert_int_eq(test_write(fake, "old/cgroup.events", "populated 0\nfrozen 0\n"), 0);
        ck_assert_int_eq(test_write(fake, "old/cgroup.procs", "%s", ""), 0);

        KillRequest req = { .cg_root = fake, .cgroup = "/nope", .timeout = USEC_PER_SEC };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -ENOENT);
        req = (KillRequest) { .cg_root = fake, .cgroup = "/old", .method = KILL_METHOD_CGROUP_KILL,
                              .timeout = USEC_PER_SEC };
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -ENOENT);     /* populated 0 */
        ck_assert_int_eq(test_write(fake, "old/cgroup.events", "populated 1\nfrozen 0\n"), 0);
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -EOPNOTSUPP);
        req.method = KILL_METHOD_AUTO;
        ck_assert_int_eq(reaper_kill(r, &req, outcome_cb, &o), -ENOENT);     /* no process */
        ck_assert_uint_eq(o.n_sent + o.n_done, 0);

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

/* ---- the daemon's model of the tree, on the real cgroup2 mount ---- */

static int collect_cb(const char *root, const char *path, const CgTreeInfo *info, void *userdata) {
        char ***l = userdata;

        ck_assert_int_ge(strv_extendf(l, "%s", path), 0);
        return 0;
}

/* Whether a walk of the model below "below" visits path, once every
 * queued event is applied. */
static bool model_visits(CgTree *t, const char *below, const char *path) {
        _cleanup_strv_free_ char **l = NULL;

        ck_assert_int_eq(cgtree_process(t), 0);
        ck_assert_int_eq(cgtree_walk(t, below, collect_cb, &l), 0);
        return strv_contains(l, path);
}

/* The kernel tells cgroup.events changes from a work queue: wait for them
 * on the model's fd, up to 5 s. */
static bool model_wait(CgTree *t, const char *below, const char *path, bool visited) {
        for (int i = 0; i < 50; i++) {
                struct pollfd p = { .fd = cgtree_fd(t), .events = POLLIN };

                if (model_visits(t, below, path) == visited)
                        return true;
                (void) poll(&p, 1, 100);
        }
        return false;
}

/* The inotify watches behind fd, from the kernel's own list. */
static size_t count_watches(int fd) {
        _cleanup_free_ char *p = NULL, *text = NULL;
        size_t n = 0;

        ck_assert_int_ge(asprintf(&p, "/proc/self/fdinfo/%d", fd), 0);
        ck_assert_int_eq(cg_read_full(p, &text), 0);
        for (const char *s = text; (s = strstr(s, "inotify wd:")); s++)
                n++;
        return n;
}

START_TEST(test_tree_model_live) {
        _cleanup_free_ char *base = cg("model"), *full = cg("model/full"), *empty = cg("model/empty");
        _cleanup_cgtree_free_ CgTree *t = NULL;
        pid_t pid;

        cg_mkdir(base);
        cg_mkdir(full);
        cg_mkdir(empty);
        pid = spawn_in(full, b_sleeper, NULL);

        ck_assert_int_eq(cgtree_new(mnt, &t), 0);
        ck_assert(model_visits(t, base, full));
        ck_assert(!model_visits(t, base, empty));
        /* One watch per cgroup: changes of cgroup.events come by its directory's. */
        size_t nodes, n_empty;
        cgtree_count(t, &nodes, &n_empty);
        ck_assert_uint_eq(count_watches(cgtree_fd(t)), nodes);

        /* A process moves in, and leaves; a cgroup made after the model. */
        kill_and_reap(pid);
        pid = spawn_in(empty, b_sleeper, NULL);
        ck_assert_msg(model_wait(t, base, empty, true), "the model did not see %s populated", empty);
        ck_assert_msg(model_wait(t, base, full, false), "the model did not see %s empty", full);
        kill_and_reap(pid);
        ck_assert_msg(model_wait(t, base, empty, false), "the model did not see %s empty", empty);

        _cleanup_free_ char *late = cg("model/late"), *late_dir = cg_path(mnt, late, NULL);
        cg_mkdir(late);
        pid = spawn_in(late, b_sleeper, NULL);
        ck_assert_msg(model_wait(t, base, late, true), "the model did not see %s", late);
        kill_and_reap(pid);
        ck_assert_msg(model_wait(t, base, late, false), "the model did not see %s empty", late);
        ck_assert_int_eq(rmdir(late_dir), 0);
        ck_assert_int_eq(cgtree_process(t), 0);
        ck_assert_int_eq(cgtree_walk(t, late, collect_cb, &(char **) { NULL }), -ENOENT);
}
END_TEST

/* cgroup.procs hands over a page per read(): a cgroup of 2500 processes
 * (over 12 KiB of pids) is read whole, not cut at a short read. */
START_TEST(test_read_many_procs) {
        _cleanup_free_ char *many = cg("many"), *procs_path = NULL, *text = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        int n_children = 2500;
        size_t n = 0, lines = 0;
        pid_t pid;

        cg_mkdir(many);
        pid = spawn_in(many, b_many, &n_children);
        ck_assert_int_eq(cg_read_procs(mnt, many, &pids, &n), 0);
        procs_path = cg_path(mnt, many, "cgroup.procs");
        ck_assert_int_eq(cg_read_full(procs_path, &text), 0);
        for (const char *p = text; *p; p++)
                lines += *p == '\n';
        ck_assert_uint_eq(lines, (size_t) n_children + 1);
        ck_assert_uint_eq(n, (size_t) n_children + 1);
        ck_assert_int_eq(cg_write_file(mnt, many, "cgroup.kill", "1"), 0);
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
        while (waitpid(-1, NULL, 0) > 0)        /* the orphans come to us (subreaper) */
                ;
}
END_TEST

static Suite *reaper_suite(bool pid_reuse) {
        Suite *s = suite_create("reaper-live");
        TCase *tc = tcase_create("live");

        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_kill_cgroup_kill);
        tcase_add_test(tc, test_kill_pidfd_rounds);
        tcase_add_test(tc, test_mrelease);
        tcase_add_test(tc, test_no_release);
        tcase_add_test(tc, test_kill_not_behind_release);
        if (pid_reuse)
                tcase_add_test(tc, test_pid_reuse);
        tcase_add_test(tc, test_dry_run);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_kill_fallback_worker);
        tcase_add_test(tc, test_kill_fallback_loop);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_vanished);
        tcase_add_test(tc, test_refuses_self);
        tcase_add_test(tc, test_no_cap_kill);
        tcase_add_test(tc, test_tree_model_live);
        tcase_add_test(tc, test_read_many_procs);
        suite_add_tcase(s, tc);

        tc = tcase_create("fake-tree");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_errors_fake);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        _cleanup_free_ char *top_path = NULL;
        char *tmp;
        const char *no_pid_reuse;
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
        /* Every temporary tree of every test goes below this one, which is
         * removed at the end also when a test failed half-way. */
        tmp = test_tmpdir_begin();
        if (!tmp) {
                printf("FAIL: cannot make a temporary directory: %m\n");
                cleanup_top();
                free(mnt);
                return 1;
        }
        no_pid_reuse = pid_namespace_unavailable();

        sr = srunner_create(reaper_suite(!no_pid_reuse));
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);

        cleanup_top();
        test_tmpdir_end(tmp);
        free(mnt);
        if (failed > 0)
                return 1;
        if (no_pid_reuse) {
                printf("SKIP: pid reuse safety not tested: %s (the other tests passed)\n", no_pid_reuse);
                return 77;
        }
        return 0;
}
