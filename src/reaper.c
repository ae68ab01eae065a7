/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reaper: killing one victim cgroup and freeing its memory. See reaper.h.
 *
 * Everything runs on the caller's sd-event loop except process_mrelease(),
 * which blocks while it unmaps a victim's memory and therefore runs on a
 * small pool of worker threads. A worker owns the pidfds it is given, never
 * allocates, and hands results back through an eventfd; it never touches a
 * Kill. A kill is never queued behind a release: it goes to an idle worker,
 * or else out from the loop at once (DESIGN-NOTES.md, "Kill and reap"). */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <time.h>

#include "cgroupfs.h"
#include "pidfd-util.h"
#include "log.h"
#include "reaper.h"

/* Processes found after the first signal round are children whose fork was
 * in flight; a killed process cannot fork again, so a few rounds converge.
 * The bound only guards against someone moving processes in meanwhile. */
#define REAPER_PIDFD_MAX_ROUNDS 16U

/* process_mrelease() says EINVAL while the victim is not yet marked as
 * dying (the SIGKILL has not been processed everywhere). Retry briefly. */
#define MRELEASE_RETRIES 3
#define MRELEASE_RETRY_USEC (1 * USEC_PER_MSEC)

/* Enough for a 5s KillTimeout; a coarser timer would only delay the warning. */
#define KILL_TIMEOUT_ACCURACY_USEC (10 * USEC_PER_MSEC)

#define PROC_ROOT "/proc"

/* Two releases at once, as lmkd's pool: a second victim (another monitor,
 * the look-ahead kill) gets its signal and release together while the first
 * is still being unmapped. A third kill meanwhile goes out from the loop. */
#define REAPER_WORKERS 2U

/* Ample for a loop of process_mrelease() calls; ASan needs more. */
#if defined(__SANITIZE_ADDRESS__)
#define REAPER_WORKER_STACK_SIZE (1024 * 1024)
#else
#define REAPER_WORKER_STACK_SIZE (128 * 1024)
#endif
#define WORKER_GUARD_SIZE 4096
#define WORKER_STACK_MAP (WORKER_GUARD_SIZE + REAPER_WORKER_STACK_SIZE)

/* What a round of pidfd signals reached: the signals delivered, and the
 * first error that was not ESRCH (already dead). */
typedef struct SignalTally {
        size_t n_signalled;
        int error;
} SignalTally;

static void tally_error(SignalTally *t, int r) {
        if (r < 0 && r != -ESRCH && t->error == 0)
                t->error = r;
}

/* A batch of pidfds for a worker; it owns the fds and closes them.
 *
 * When the worker also sends the kill (kill_fd or signal_each), it calls
 * process_mrelease() microseconds after the signal, before the victims are
 * scheduled: once a victim runs its exit path and drops its mm, the call
 * can only answer ESRCH, and the unmapping is left to the victim's own,
 * possibly CPU-starved, context. This is lmkd's reaper design. */
typedef struct MreleaseJob {
        struct MreleaseJob *next;
        struct MreleaseJob *ack_next;   /* on Reaper.acked, once the kill is out */
        uint64_t kill_seq;
        int *fds;
        size_t n;
        int kill_fd;            /* the victim's cgroup.kill, opened by the loop: write "1"
                                 * first; or -EBADF */
        bool signal_each;       /* SIGKILL every pidfd first (Method=pidfd) */
        /* kill results, written by the worker before it acks; the loop
         * reads them once the job is on Reaper.acked */
        int kill_error;         /* writing cgroup.kill failed */
        SignalTally tally;      /* the pidfd signals */
        usec_t kill_usec;
        /* release results, written by the worker before the job is done */
        size_t n_released;
        int error;              /* first error that is not ESRCH/EINVAL, or -ENOSYS */
} MreleaseJob;

typedef struct Kill Kill;

struct Reaper {
        sd_event *event;
        Kill *kills;
        uint64_t next_seq;
        char **busy;            /* pointers into the kills, rebuilt by reaper_busy() */

        int mrelease_errno;     /* -ENOSYS once the kernel said so: no more jobs */

        /* workers */
        int (*mrelease)(int pidfd);     /* process_mrelease_checked(), or a test's */
        int eventfd;
        sd_event_source *eventfd_source;
        pthread_t threads[REAPER_WORKERS];
        void *stacks[REAPER_WORKERS];   /* each WORKER_STACK_MAP bytes, guard page first */
        unsigned n_threads;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;                      /* under lock */
        unsigned n_idle;                /* under lock: workers waiting for a job */
        size_t n_queued;                /* under lock: jobs on queue */
        MreleaseJob *queue, *queue_tail; /* under lock */
        MreleaseJob *done;              /* under lock */
        MreleaseJob *acked;             /* under lock; jobs whose kill is out (also
                                         * owned by a worker or on done) */
};

typedef struct Victims {
        int *fds;
        pid_t *pids;
        size_t n, alloc;
} Victims;

struct Kill {
        Reaper *reaper;
        Kill *next;
        uint64_t seq;

        char *cg_root;
        usec_t timeout;
        bool dry_run;
        reaper_cb cb;
        void *userdata;

        bool memory_is_rss;     /* no memory.current: memory_before is the RSS sum */
        KillResult result;

        sd_event_source *inotify_source, *timer_source, *defer_source;

        Victims victims;        /* pids seen, while the worker holds the fds */

        bool mrelease_pending;
        bool kill_pending;      /* the worker has not said yet what its kill reached */
        bool empty;             /* populated 0 seen (or the cgroup is gone) */
        usec_t empty_at;        /* ... at this CLOCK_MONOTONIC time */
        bool finished;          /* empty or timed out: completion may be reported */
        bool sent_reported;
};

/* ---- victims: pidfds of a subtree ---- */

static void victims_done(Victims *v) {
        for (size_t i = 0; i < v->n; i++)
                safe_close(v->fds[i]);
        free(v->fds);
        free(v->pids);
        *v = (Victims) {};
}

static int victims_add(Victims *v, int fd, pid_t pid) {
        if (v->n == v->alloc) {
                size_t na = MAX(v->alloc * 2, (size_t) 16);
                int *nf = reallocarray(v->fds, na, sizeof *nf);

                if (!nf)
                        return -ENOMEM;
                v->fds = nf;
                pid_t *np = reallocarray(v->pids, na, sizeof *np);
                if (!np)
                        return -ENOMEM;
                v->pids = np;
                v->alloc = na;
        }
        v->fds[v->n] = fd;
        v->pids[v->n] = pid;
        v->n++;
        return 0;
}

static int pid_compare(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return x < y ? -1 : x > y;
}

typedef struct CollectContext {
        Victims *victims;
        const char *cgroup;     /* the victim: processes must still be below it */
        pid_t *known;           /* sorted pids already in victims */
        size_t n_known;
        pid_t self;
} CollectContext;

/* Open a pidfd for pid and keep it only if the process it names is still
 * inside the victim. The number came from cgroup.procs a moment ago: the
 * process may have exited and the number been reused by an unrelated
 * process, which is then the one the pidfd names. While a pidfd's process
 * exists its pid cannot be reused, so /proc/PID/cgroup read after opening
 * describes that process (or, if it died meanwhile, one we then skip or
 * whose pidfd names a dead process: harmless either way). */
static int open_verified_pidfd(const char *cgroup, pid_t pid) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = pidfd_open_checked(pid);
        if (fd < 0)
                return fd;

        r = cg_pid_get_path(PROC_ROOT, pid, &path);
        if (r < 0)
                return ERRNO_IS_VANISHED(r) ? -ESRCH : r;
        if (!cg_path_is_below(path, cgroup))
                return -ESRCH;

        return TAKE_FD(fd);
}

static int collect_cb(const char *root, const char *path, void *userdata) {
        CollectContext *c = userdata;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        r = cg_read_procs(root, path, &pids, &n);
        if (ERRNO_IS_VANISHED(r))
                return 1;       /* gone, and so are its children */
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                int fd;

                /* Never ourselves: policy protects our cgroup, but the
                 * reaper must not depend on that. cgroup.kill would take us
                 * with the victim, so the whole kill is refused. */
                if (pids[i] == c->self)
                        return -EDEADLK;
                if (c->known && bsearch(&pids[i], c->known, c->n_known, sizeof(pid_t), pid_compare))
                        continue;

                fd = open_verified_pidfd(c->cgroup, pids[i]);
                if (fd == -ESRCH)
                        continue;       /* exited, or not ours any more */
                if (fd < 0)
                        return fd;

                r = victims_add(c->victims, fd, pids[i]);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
        }
        return 0;
}

/* Add pidfds for every process of the subtree that v does not hold yet.
 * Returns the number added. */
static int victims_collect(Victims *v, const char *cg_root, const char *cgroup) {
        _cleanup_free_ pid_t *known = NULL;
        CollectContext c = {
                .victims = v,
                .cgroup = cgroup,
                .self = getpid(),
        };
        size_t before = v->n;
        int r;

        if (v->n > 0) {
                known = reallocarray(NULL, v->n, sizeof(pid_t));
                if (!known)
                        return -ENOMEM;
                memcpy(known, v->pids, v->n * sizeof(pid_t));
                qsort(known, v->n, sizeof(pid_t), pid_compare);
                c.known = known;
                c.n_known = v->n;
        }

        r = cg_walk(cg_root, cgroup, collect_cb, &c);
        if (r < 0)
                return r;
        return (int) MIN(v->n - before, (size_t) INT_MAX);
}

/* SIGKILL fds[i] for i in [from, n). A pidfd whose signal was refused, or
 * whose process had already exited, is closed: nothing to release there.
 * Shared by the loop and the worker (no logging, no allocation). */
static void pidfds_kill(int *fds, size_t from, size_t n, SignalTally *t) {
        for (size_t i = from; i < n; i++) {
                int r;

                if (fds[i] < 0)
                        continue;
                r = pidfd_kill(fds[i], SIGKILL);
                if (r >= 0) {
                        t->n_signalled++;
                        continue;
                }
                tally_error(t, r);
                fds[i] = safe_close(fds[i]);
        }
}

/* Signal everything from 'from' on, then re-read the subtree and signal
 * what appeared, until a re-read shows no process that was not signalled
 * yet (every process left is dying and cannot fork) or max_rounds passed.
 * What was reached goes to *t. Returns 0, or the error of a re-read that
 * failed (the signals before it still count). */
static int victims_kill_rounds(Victims *v, const char *cg_root, const char *cgroup, size_t from,
                               unsigned max_rounds, SignalTally *t) {
        int r;

        for (unsigned round = 0; round < max_rounds; round++) {
                pidfds_kill(v->fds, from, v->n, t);

                from = v->n;
                r = victims_collect(v, cg_root, cgroup);
                if (ERRNO_IS_VANISHED(r))
                        break;
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
        }
        return 0;
}

int reaper_collect_pidfds(const char *cg_root, const char *cgroup, int **ret_fds, pid_t **ret_pids,
                          size_t *ret_n) {
        Victims v = {};
        int r;

        if (!cg_root || !cgroup || !ret_fds || !ret_pids || !ret_n)
                return -EINVAL;

        r = victims_collect(&v, cg_root, cgroup);
        if (r < 0) {
                victims_done(&v);
                return r;
        }

        *ret_fds = TAKE_PTR(v.fds);
        *ret_pids = TAKE_PTR(v.pids);
        *ret_n = v.n;
        return 0;
}

int reaper_kill_pidfd_rounds(const char *cg_root, const char *cgroup, unsigned max_rounds) {
        SignalTally t = {};
        Victims v = {};
        int r;

        if (!cg_root || !cgroup)
                return -EINVAL;

        r = victims_collect(&v, cg_root, cgroup);
        if (r >= 0)
                r = victims_kill_rounds(&v, cg_root, cgroup, 0, max_rounds, &t);
        victims_done(&v);
        if (t.n_signalled > 0)
                return (int) MIN(t.n_signalled, (size_t) INT_MAX);
        return r < 0 ? r : t.error;
}

/* ---- process_mrelease workers ---- */

static void job_free(MreleaseJob *j) {
        if (!j)
                return;
        for (size_t i = 0; i < j->n; i++)
                safe_close(j->fds[i]);
        free(j->fds);
        safe_close(j->kill_fd);
        free(j);
}

static void job_list_free(MreleaseJob *j) {
        while (j) {
                MreleaseJob *next = j->next;

                job_free(j);
                j = next;
        }
}

static int mrelease_one(Reaper *r, int fd) {
        int k = -EINVAL;

        for (int attempt = 0; attempt <= MRELEASE_RETRIES; attempt++) {
                k = r->mrelease(fd);
                if (k != -EINVAL)
                        break;
                if (attempt < MRELEASE_RETRIES) {
                        /* A worker thread may wait; the event loop never does. */
                        struct timespec ts = { .tv_nsec = (long) (MRELEASE_RETRY_USEC << attempt) * 1000L };
                        (void) nanosleep(&ts, NULL);
                }
        }
        return k;
}

/* Tell the loop what the kill reached, before the (slow) releases. */
static void worker_ack(Reaper *r, MreleaseJob *j) {
        pthread_mutex_lock(&r->lock);
        j->ack_next = r->acked;
        r->acked = j;
        pthread_mutex_unlock(&r->lock);
        (void) eventfd_write(r->eventfd, 1);
}

static void job_run(Reaper *r, MreleaseJob *j) {
        bool with_kill = j->kill_fd >= 0 || j->signal_each;

        if (j->kill_fd >= 0) {
                j->kill_error = cg_write_fd(j->kill_fd, "1");
                /* cgroup.kill refused for another reason than the cgroup
                 * being gone: the pidfds still reach every process we saw. */
                if (j->kill_error < 0 && !ERRNO_IS_VANISHED(j->kill_error))
                        j->signal_each = true;
                else if (j->kill_error < 0)
                        /* Gone: nothing to kill, nothing to release. */
                        for (size_t i = 0; i < j->n; i++)
                                j->fds[i] = safe_close(j->fds[i]);
        }
        if (j->signal_each)
                /* All signals first: the victims die in parallel while the
                 * memory of each is released in turn. A process the signal
                 * did not reach is not released either (it is not dying). */
                pidfds_kill(j->fds, 0, j->n, &j->tally);
        if (with_kill) {
                j->kill_usec = now_usec();
                worker_ack(r, j);
        }

        for (size_t i = 0; i < j->n; i++) {
                int k;

                if (j->fds[i] < 0)
                        continue;
                /* ENOSYS does not change: the rest of the batch is skipped. */
                k = j->error == -ENOSYS ? -ENOSYS : mrelease_one(r, j->fds[i]);

                if (k >= 0)
                        j->n_released++;
                else if (k == -ENOSYS)
                        j->error = k;
                else if (!IN_SET(k, -ESRCH, -EINVAL) && j->error == 0)
                        j->error = k;
                /* The pidfd has done its job; closing here keeps the
                 * process's struct pid from outliving the kill. */
                j->fds[i] = safe_close(j->fds[i]);
        }
}

static void *worker_main(void *userdata) {
        Reaper *r = userdata;

        pthread_mutex_lock(&r->lock);
        for (;;) {
                MreleaseJob *j;

                while (!r->stop && !r->queue) {
                        r->n_idle++;
                        pthread_cond_wait(&r->cond, &r->lock);
                        r->n_idle--;
                }
                if (r->stop)
                        break;
                j = r->queue;
                r->queue = j->next;
                if (!r->queue)
                        r->queue_tail = NULL;
                assert(r->n_queued > 0);
                r->n_queued--;
                pthread_mutex_unlock(&r->lock);

                job_run(r, j);

                pthread_mutex_lock(&r->lock);
                j->next = r->done;
                r->done = j;
                pthread_mutex_unlock(&r->lock);

                /* Cannot fail short of a counter overflow (2^64-1 jobs). */
                (void) eventfd_write(r->eventfd, 1);
                pthread_mutex_lock(&r->lock);
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

static void worker_stack_free(void **stack) {
        if (*stack)
                (void) munmap(*stack, WORKER_STACK_MAP);
        *stack = NULL;
}

/* A worker's own stack, populated now: cgreapd's mlockall(MCL_ONFAULT)
 * locks only pages in use, and a stack page faulted in during a kill is
 * an allocation under pressure. */
static int worker_stack_new(void **ret) {
        void *st = mmap(NULL, WORKER_STACK_MAP, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_POPULATE, -1, 0);

        if (st == MAP_FAILED)
                return errno;
        if (mprotect(st, WORKER_GUARD_SIZE, PROT_NONE) < 0) {
                int k = errno;

                (void) munmap(st, WORKER_STACK_MAP);
                return k;
        }
        *ret = st;
        return 0;
}

static int workers_start(Reaper *r) {
        sigset_t all, saved;
        pthread_attr_t attr;
        int k;

        /* The loop handles signals through signalfd with them blocked; a
         * worker must never be the thread a process signal lands on. */
        sigfillset(&all);
        k = pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (k != 0)
                return -k;
        while (k == 0 && r->n_threads < REAPER_WORKERS) {
                unsigned i = r->n_threads;

                k = worker_stack_new(&r->stacks[i]);
                if (k != 0)
                        break;
                k = pthread_attr_init(&attr);
                if (k == 0) {
                        k = pthread_attr_setstack(&attr, (char *) r->stacks[i] + WORKER_GUARD_SIZE,
                                                  REAPER_WORKER_STACK_SIZE);
                        if (k == 0)
                                k = pthread_create(&r->threads[i], &attr, worker_main, r);
                        (void) pthread_attr_destroy(&attr);
                }
                if (k != 0) {
                        worker_stack_free(&r->stacks[i]);
                        break;
                }
                (void) pthread_setname_np(r->threads[i], "cgreap-reaper");
                r->n_threads++;
        }
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        return -k;
}

static void workers_stop(Reaper *r) {
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);

        /* Waits at most for the process_mrelease() calls in progress. */
        for (unsigned i = 0; i < r->n_threads; i++) {
                (void) pthread_join(r->threads[i], NULL);
                worker_stack_free(&r->stacks[i]);
        }
        r->n_threads = 0;
}

/* Queue j for the workers. A job that sends a kill is taken only when a
 * worker is free to start it at once (1), never queued behind a release
 * (0: the caller sends the kill itself). */
static int worker_enqueue(Reaper *r, MreleaseJob *j, bool sends_kill) {
        bool queued = false;

        pthread_mutex_lock(&r->lock);
        /* Every queued job claims one of the idle workers. */
        if (!sends_kill || r->n_idle > r->n_queued) {
                j->next = NULL;
                if (r->queue_tail)
                        r->queue_tail->next = j;
                else
                        r->queue = j;
                r->queue_tail = j;
                r->n_queued++;
                pthread_cond_signal(&r->cond);
                queued = true;
        }
        pthread_mutex_unlock(&r->lock);
        return queued;
}

/* ---- kills ---- */

static Kill *kill_free(Kill *k) {
        if (!k)
                return NULL;

        sd_event_source_disable_unref(k->inotify_source);
        sd_event_source_disable_unref(k->timer_source);
        sd_event_source_disable_unref(k->defer_source);
        victims_done(&k->victims);
        free(k->cg_root);
        kill_result_done(&k->result);
        free(k);
        return NULL;
}

static void kill_freep(Kill **k) {
        *k = kill_free(*k);
}

static void reaper_unlink(Reaper *r, Kill *k) {
        for (Kill **p = &r->kills; *p; p = &(*p)->next)
                if (*p == k) {
                        *p = k->next;
                        k->next = NULL;
                        return;
                }
}

static Kill *reaper_find_seq(Reaper *r, uint64_t seq) {
        for (Kill *k = r->kills; k; k = k->next)
                if (k->seq == seq)
                        return k;
        return NULL;
}

static bool reaper_is_busy(Reaper *r, const char *cgroup) {
        for (Kill *k = r->kills; k; k = k->next)
                if (streq(k->result.cgroup, cgroup))
                        return true;
        return false;
}

/* Bytes the victim still holds: memory.current, or for the RSS fallback
 * nothing once it is empty (the processes are gone) and unknown before. */
static void kill_measure_freed(Kill *k) {
        uint64_t after;

        if (k->memory_is_rss) {
                k->result.freed_bytes = k->empty ? k->result.memory_before : 0;
                return;
        }

        if (cg_read_u64(k->cg_root, k->result.cgroup, "memory.current", &after) < 0)
                /* Removed once empty (systemd does that for scopes): its
                 * charge went with it. */
                after = k->empty ? 0 : k->result.memory_before;
        k->result.freed_bytes = k->result.memory_before > after ? k->result.memory_before - after : 0;
}

/* Report what is due, in order: "sent" once the kill is out (for the
 * worker's kill: once it said what the kill reached), then "complete" once
 * when the cgroup is empty (or timed out, or the kill reached nothing) and
 * no process_mrelease batch is still out. Callbacks always run from the
 * event loop, never inside reaper_kill(). */
static void kill_dispatch(Kill *k) {
        Reaper *r = k->reaper;

        if (k->kill_pending) {
                log_debug("Reaper: %s: the worker has not sent the kill yet.", k->result.cgroup);
                return;
        }

        if (!k->sent_reported) {
                k->sent_reported = true;
                if (k->cb)
                        k->cb(r, &k->result, true, k->userdata);
        }

        if (!k->finished || k->mrelease_pending) {
                log_debug("Reaper: %s not complete yet (%s).", k->result.cgroup,
                          k->finished ? "process_mrelease still running" : "still populated");
                return;
        }

        if (k->empty)
                k->result.empty_usec = k->empty_at > k->result.kill_usec ? k->empty_at - k->result.kill_usec : 0;
        if (!k->dry_run && k->result.error == 0 && !k->result.vanished)
                kill_measure_freed(k);

        /* Unlinked first: the callback sees the cgroup as not busy any more
         * and may start another kill. */
        reaper_unlink(r, k);
        if (k->cb)
                k->cb(r, &k->result, false, k->userdata);
        kill_free(k);
}

static void kill_stop_waiting(Kill *k) {
        k->finished = true;
        k->timer_source = sd_event_source_disable_unref(k->timer_source);
        k->inotify_source = sd_event_source_disable_unref(k->inotify_source);
}

static void kill_mark_empty(Kill *k) {
        if (k->finished)
                return;
        k->empty = true;
        /* empty_usec is computed at completion: the worker's kill time may
         * not be known yet when the cgroup empties. */
        k->empty_at = now_usec();
        kill_stop_waiting(k);
}

/* The kill reached nothing (-ENOENT: every process had exited; else why
 * not): no kill. Nothing is dying, so no release result is waited for. */
static void kill_mark_failed(Kill *k, int error) {
        if (error == -ENOENT)
                k->result.vanished = true;
        else
                k->result.error = error;
        k->mrelease_pending = false;
        kill_stop_waiting(k);
}

/* 1 if the cgroup is empty or gone, 0 if populated, <0 on error. */
static int kill_check_empty(Kill *k) {
        CgroupEvents ev;
        int r;

        r = cg_read_events(k->cg_root, k->result.cgroup, &ev);
        if (ERRNO_IS_VANISHED(r))
                return 1;
        if (r < 0)
                return r;
        return !ev.populated;
}

/* KillTimeout= counts from the moment the kill went out. The timer source
 * exists (disabled) from the start, so that arming it cannot fail once the
 * kill is out; then the cgroup may already be empty, and no further
 * cgroup.events change would tell us. */
static void kill_sent(Kill *k) {
        if (k->timer_source && !k->finished) {
                (void) sd_event_source_set_time(k->timer_source, usec_add(k->result.kill_usec, k->timeout));
                (void) sd_event_source_set_enabled(k->timer_source, SD_EVENT_ONESHOT);
        }
        if (!k->finished && kill_check_empty(k) > 0)
                kill_mark_empty(k);
}

/* What a kill reached. Returns 0 when it was a kill (n_signalled, and
 * signal_error for processes it could not reach, are set), -ENOENT when
 * every process had exited before it, or the error that kept it from
 * reaching any process. */
static int kill_outcome(Kill *k, bool cgroup_killed, const SignalTally *t) {
        if (cgroup_killed) {
                /* The kernel signals the whole subtree. */
                k->result.n_signalled = k->result.n_pids;
                return 0;
        }
        if (t->n_signalled > 0) {
                k->result.n_signalled = t->n_signalled;
                k->result.signal_error = t->error;
                return 0;
        }
        return t->error < 0 ? t->error : -ENOENT;
}

static int on_cgroup_events(sd_event_source *s, const struct inotify_event *event, void *userdata) {
        Kill *k = userdata;
        int r;

        r = kill_check_empty(k);
        log_debug("Reaper: %s cgroup.events changed: %s.", k->result.cgroup,
                  r < 0 ? "unreadable" : r > 0 ? "empty" : "still populated");
        if (r < 0)
                /* Not the kill's error: a later change or the timeout
                 * settles it, and the kill itself was sent. */
                return 0;
        if (r == 0)
                return 0;

        kill_mark_empty(k);
        kill_dispatch(k);
        return 0;
}

static int on_kill_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Kill *k = userdata;

        k->timer_source = sd_event_source_disable_unref(k->timer_source);
        if (k->finished)
                return 0;

        /* The inotify event may simply not have been dispatched yet. */
        if (kill_check_empty(k) > 0) {
                kill_mark_empty(k);
                kill_dispatch(k);
                return 0;
        }

        k->finished = true;
        k->result.timed_out = true;
        k->result.empty_usec = now_usec() - k->result.kill_usec;
        k->inotify_source = sd_event_source_disable_unref(k->inotify_source);
        /* A process_mrelease batch still out is not waited for any more. */
        k->mrelease_pending = false;
        kill_dispatch(k);
        return 0;
}

static int on_dispatch(sd_event_source *s, void *userdata) {
        Kill *k = userdata;

        k->defer_source = sd_event_source_disable_unref(k->defer_source);
        kill_dispatch(k);
        return 0;
}

/* Writing cgroup.kill failed for another reason than the cgroup being
 * gone: the pidfds do the kill, and the result says why (the caller logs). */
static void kill_fall_back_to_pidfd(Kill *k, int error) {
        log_debug_errno(error, "Reaper: writing cgroup.kill of %s failed, killing it by pidfd instead: %m",
                        k->result.cgroup);
        k->result.method_used = KILL_METHOD_PIDFD;      /* what the record must say */
        k->result.cgroup_kill_error = error;
}

/* The worker sent the kill: what it reached, and what the loop does after
 * it. */
static void kill_after_worker(Kill *k, const MreleaseJob *j) {
        bool cgroup_killed = j->kill_fd >= 0 && j->kill_error == 0;
        SignalTally t = j->tally;
        int q;

        k->kill_pending = false;
        k->result.kill_usec = j->kill_usec;

        if (j->kill_fd >= 0 && ERRNO_IS_VANISHED(j->kill_error)) {
                kill_mark_failed(k, -ENOENT);
                victims_done(&k->victims);
                kill_dispatch(k);
                return;
        }
        if (j->kill_fd >= 0 && j->kill_error < 0)
                kill_fall_back_to_pidfd(k, j->kill_error);

        /* cgroup.kill is atomic against fork; signals to pidfds are not:
         * catch what the victims forked before they died. */
        if (!cgroup_killed) {
                q = victims_kill_rounds(&k->victims, k->cg_root, k->result.cgroup, k->victims.n,
                                        REAPER_PIDFD_MAX_ROUNDS, &t);
                tally_error(&t, q);
        }
        victims_done(&k->victims);

        q = kill_outcome(k, cgroup_killed, &t);
        log_debug("Reaper: the worker's kill of %s reached %zu of %zu processes%s%s.", k->result.cgroup,
                  k->result.n_signalled, k->result.n_pids, t.error < 0 ? ": " : "",
                  t.error < 0 ? strerror(-t.error) : "");
        if (q < 0)
                kill_mark_failed(k, q);
        else
                kill_sent(k);
        kill_dispatch(k);
}

static int on_worker_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Reaper *r = userdata;
        MreleaseJob *acked, *done;
        eventfd_t v;

        (void) eventfd_read(fd, &v);

        pthread_mutex_lock(&r->lock);
        acked = r->acked;
        r->acked = NULL;
        done = r->done;
        r->done = NULL;
        pthread_mutex_unlock(&r->lock);

        /* Kills first: a job may be on both lists, and its kill came first.
         * The jobs on acked belong to the worker or to done: not freed here. */
        for (MreleaseJob *j = acked; j; j = j->ack_next) {
                /* The kill may have been cancelled meanwhile. */
                Kill *k = reaper_find_seq(r, j->kill_seq);

                if (k && k->kill_pending)
                        kill_after_worker(k, j);
        }

        while (done) {
                MreleaseJob *j = done;
                Kill *k;

                done = j->next;

                if (j->error == -ENOSYS)
                        r->mrelease_errno = -ENOSYS;

                /* The kill may have timed out or been cancelled meanwhile. */
                k = reaper_find_seq(r, j->kill_seq);
                log_debug("Reaper: process_mrelease batch of kill %" PRIu64 " done: %zu of %zu released%s.",
                          j->kill_seq, j->n_released, j->n, k ? "" : " (kill already finished)");
                if (k && k->mrelease_pending) {
                        k->mrelease_pending = false;
                        k->result.n_mreleased = j->n_released;
                        k->result.mrelease = j->n_released > 0 ? 1 : j->error;
                        kill_dispatch(k);
                }
                job_free(j);
        }
        return 0;
}

/* Hand the pidfds to a worker, which also sends the kill when with_kill
 * (by *kill_fd, which it then takes, if that is open; else by the pidfds).
 * v keeps the pids, for the pidfd method's later rounds. Returns 1 when a
 * worker has the job, 0 when there is nothing for one (process_mrelease is
 * known to be missing, no pidfd, or for a kill: no worker is free to send it
 * at once), <0 when none could take it. */
static int kill_start_mrelease(Kill *k, Victims *v, bool with_kill, int *kill_fd) {
        Reaper *r = k->reaper;
        MreleaseJob *j;
        int *fds;

        if (r->mrelease_errno < 0) {
                k->result.mrelease = r->mrelease_errno;
                return 0;
        }
        if (v->n == 0)
                return 0;

        /* Closed placeholders for v, so that later rounds know who was
         * seen; allocated first, so that nothing fails once a worker may
         * run the job. */
        fds = calloc(v->alloc, sizeof(int));
        if (!fds)
                return -ENOMEM;
        for (size_t i = 0; i < v->alloc; i++)
                fds[i] = -EBADF;
        j = calloc(1, sizeof *j);
        if (!j) {
                free(fds);
                return -ENOMEM;
        }
        *j = (MreleaseJob) {
                .kill_seq = k->seq,
                .fds = v->fds,
                .n = v->n,
                .kill_fd = with_kill ? *kill_fd : -EBADF,
                .signal_each = with_kill && *kill_fd < 0,
        };

        if (!worker_enqueue(r, j, with_kill)) {
                log_debug("Reaper: no worker is free, the loop sends the kill of %s.", k->result.cgroup);
                free(j);
                free(fds);
                return 0;
        }
        /* A worker may be running the job already: it owns the fds. */
        v->fds = fds;
        if (with_kill)
                *kill_fd = -EBADF;
        k->mrelease_pending = true;
        k->kill_pending = with_kill;
        return 1;
}

/* The kill from the loop, by kill_fd (cgroup.kill) if that is open. Returns
 * 0 when it reached processes, -ENOENT when the victim was gone, or the error
 * that kept it from reaching any process (then nothing was signalled). */
static int kill_send(Kill *k, Victims *v, int kill_fd) {
        SignalTally t = {};
        int r;

        k->result.kill_usec = now_usec();

        if (kill_fd >= 0) {
                /* Atomic against fork: the kernel kills the whole subtree. */
                r = cg_write_fd(kill_fd, "1");
                if (r >= 0)
                        return kill_outcome(k, true, &t);
                if (ERRNO_IS_VANISHED(r))
                        return -ENOENT;
                kill_fall_back_to_pidfd(k, r);
        }

        r = victims_kill_rounds(v, k->cg_root, k->result.cgroup, 0, REAPER_PIDFD_MAX_ROUNDS, &t);
        tally_error(&t, r);
        return kill_outcome(k, false, &t);
}

static int kill_measure(Kill *k, const Victims *v) {
        uint64_t sum = 0;
        int r;

        r = cg_read_u64(k->cg_root, k->result.cgroup, "memory.current", &k->result.memory_before);
        if (r >= 0)
                return 0;
        if (!ERRNO_IS_VANISHED(r))
                return r;

        /* No memory controller on this cgroup: what its processes map. */
        k->memory_is_rss = true;
        for (size_t i = 0; i < v->n; i++) {
                uint64_t rss;

                if (proc_read_rss(PROC_ROOT, v->pids[i], &rss) >= 0)
                        sum += rss;
        }
        k->result.memory_before = sum;
        return 0;
}

static int resolve_method(const KillRequest *req, KillMethod *ret) {
        int r;

        if (req->method == KILL_METHOD_PIDFD) {
                *ret = KILL_METHOD_PIDFD;
                return 0;
        }

        r = cg_file_exists(req->cg_root, req->cgroup, "cgroup.kill");
        if (r < 0)
                return r;
        if (r > 0)
                *ret = KILL_METHOD_CGROUP_KILL;
        else if (req->method == KILL_METHOD_CGROUP_KILL)
                return -EOPNOTSUPP;     /* kernel < 5.14 */
        else
                *ret = KILL_METHOD_PIDFD;
        return 0;
}

/* -EDEADLK when our own cgroup is the victim or below it: cgroup.kill
 * would kill us too. Unknown (unreadable /proc/self/cgroup) is not a
 * refusal here: the pid check of the collection still applies. */
static int check_not_self(const char *cgroup) {
        _cleanup_free_ char *own = NULL;

        if (cg_pid_get_path(PROC_ROOT, getpid(), &own) < 0)
                return 0;
        return cg_path_is_below(own, cgroup) ? -EDEADLK : 0;
}

int reaper_kill(Reaper *r, const KillRequest *req, reaper_cb cb, void *userdata) {
        _cleanup_(kill_freep) Kill *k = NULL;
        _cleanup_(victims_done) Victims v = {};
        _cleanup_close_ int kill_fd = -EBADF;
        CgroupEvents ev;
        int q;

        if (!r || !req || !req->cg_root || !req->cgroup)
                return -EINVAL;

        if (reaper_is_busy(r, req->cgroup))
                return -EBUSY;

        q = check_not_self(req->cgroup);
        if (q < 0)
                return q;

        q = cg_read_events(req->cg_root, req->cgroup, &ev);
        if (ERRNO_IS_VANISHED(q))
                return -ENOENT;
        if (q < 0)
                return q;
        /* Emptied since it was chosen: nothing to kill, and a kill record
         * for it would be false. */
        if (!ev.populated)
                return -ENOENT;

        k = calloc(1, sizeof *k);
        if (!k)
                return -ENOMEM;
        *k = (Kill) {
                .reaper = r,
                .seq = ++r->next_seq,
                .cg_root = strdup(req->cg_root),
                .timeout = req->timeout,
                .dry_run = req->dry_run,
                .cb = cb,
                .userdata = userdata,
                .result.cgroup = strdup(req->cgroup),
        };
        if (!k->cg_root || !k->result.cgroup)
                return -ENOMEM;

        q = resolve_method(req, &k->result.method_used);
        if (ERRNO_IS_VANISHED(q))
                return -ENOENT;
        if (q < 0)
                return q;

        /* Before the kill: afterwards the processes are gone and their
         * numbers free for reuse. */
        q = victims_collect(&v, req->cg_root, req->cgroup);
        if (ERRNO_IS_VANISHED(q))
                return -ENOENT;
        if (q < 0)
                return q;
        if (v.n == 0)
                /* Populated a moment ago, but every process has exited
                 * since (or moved away). */
                return -ENOENT;
        k->result.n_pids = v.n;

        q = kill_measure(k, &v);
        if (q < 0)
                return q;

        /* Every source exists before the signal goes out: once it has, a
         * failure could no longer be reported through the callbacks. */
        q = sd_event_add_defer(r->event, &k->defer_source, on_dispatch, k);
        if (q < 0)
                return q;
        (void) sd_event_source_set_description(k->defer_source, "reaper-dispatch");

        if (req->dry_run) {
                k->result.kill_usec = now_usec();
                k->finished = true;
                k->next = r->kills;
                r->kills = TAKE_PTR(k);
                return 0;
        }

        _cleanup_free_ char *events = cg_path(req->cg_root, req->cgroup, "cgroup.events");
        if (!events)
                return -ENOMEM;
        /* Watch before killing, or the last change could be missed. */
        q = sd_event_add_inotify(r->event, &k->inotify_source, events, IN_MODIFY, on_cgroup_events, k);
        if (ERRNO_IS_VANISHED(q))
                return -ENOENT;
        if (q < 0)
                return q;
        (void) sd_event_source_set_description(k->inotify_source, "reaper-cgroup-events");

        if (req->timeout > 0 && req->timeout != USEC_INFINITY) {
                /* Armed by kill_sent() once the kill is out. Absolute from
                 * the real clock: the loop's cached "now" may be older than
                 * this kill. */
                q = sd_event_add_time(r->event, &k->timer_source, CLOCK_MONOTONIC,
                                      usec_add(now_usec(), req->timeout),
                                      KILL_TIMEOUT_ACCURACY_USEC, on_kill_timeout, k);
                if (q < 0)
                        return q;
                (void) sd_event_source_set_enabled(k->timer_source, SD_EVENT_OFF);
                (void) sd_event_source_set_description(k->timer_source, "reaper-kill-timeout");
        }

        if (k->result.method_used == KILL_METHOD_CGROUP_KILL) {
                /* Opened here, so that whoever sends the kill only writes. */
                kill_fd = cg_open_write(req->cg_root, req->cgroup, "cgroup.kill");
                if (ERRNO_IS_VANISHED(kill_fd))
                        return -ENOENT;
                if (kill_fd < 0)
                        kill_fall_back_to_pidfd(k, kill_fd);
        }

        /* Until the worker says when it sent the kill. */
        k->result.kill_usec = now_usec();

        /* With ReleaseMemory=, a free worker sends the kill and releases
         * right after it; otherwise (or if no worker is free) the kill goes
         * out from here at once, and the releases wait for a worker. */
        q = req->release_memory ? kill_start_mrelease(k, &v, true, &kill_fd) : 0;
        if (q > 0)
                k->victims = TAKE_STRUCT(v);
        else {
                if (q < 0)
                        k->result.mrelease = q;
                q = kill_send(k, &v, kill_fd);
                if (q < 0)
                        return q;       /* nothing signalled: no kill, no callback */
                kill_sent(k);

                if (req->release_memory && k->result.mrelease == 0) {
                        q = kill_start_mrelease(k, &v, false, NULL);
                        if (q < 0)
                                /* The kill stands; only the early unmapping is lost. */
                                k->result.mrelease = q;
                }
        }

        k->next = r->kills;
        r->kills = TAKE_PTR(k);
        return 0;
}

char *const *reaper_busy(Reaper *r) {
        static char *const empty[] = { NULL };
        size_t n = 0;
        char **l;

        if (!r)
                return empty;

        for (Kill *k = r->kills; k; k = k->next)
                n++;
        l = reallocarray(r->busy, n + 1, sizeof(char *));
        if (!l)
                return empty;
        r->busy = l;

        n = 0;
        for (Kill *k = r->kills; k; k = k->next)
                l[n++] = k->result.cgroup;
        l[n] = NULL;
        return l;
}

int reaper_new(sd_event *e, Reaper **ret) {
        Reaper *r;
        int q;

        if (!e || !ret)
                return -EINVAL;

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(e);
        r->mrelease = process_mrelease_checked;
        r->eventfd = -EBADF;
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->cond, NULL);

        r->eventfd = eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK);
        if (r->eventfd < 0) {
                q = negative_errno();
                goto fail;
        }
        q = sd_event_add_io(e, &r->eventfd_source, r->eventfd, EPOLLIN, on_worker_event, r);
        if (q < 0)
                goto fail;
        (void) sd_event_source_set_description(r->eventfd_source, "reaper-mrelease-done");

        /* Start the workers now, not at the first kill: creating a thread
         * maps and (under mlockall) faults in its stack, and under memory
         * pressure that allocation alone can wake the kernel's OOM killer
         * before our kill goes out. Seen in the benchmark guest. */
        q = workers_start(r);
        if (q < 0)
                goto fail;

        *ret = r;
        return 0;

fail:
        reaper_free(r);
        return q;
}

Reaper *reaper_free(Reaper *r) {
        if (!r)
                return NULL;

        workers_stop(r);
        job_list_free(r->queue);
        job_list_free(r->done);
        r->acked = NULL;        /* each of them was on done */

        /* Cancelled: no callbacks. */
        while (r->kills) {
                Kill *k = r->kills;

                r->kills = k->next;
                kill_free(k);
        }

        sd_event_source_disable_unref(r->eventfd_source);
        safe_close(r->eventfd);
        sd_event_unref(r->event);
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r->busy);
        free(r);
        return NULL;
}

void reaper_set_mrelease(Reaper *r, int (*mrelease)(int pidfd)) {
        assert(r && mrelease);
        /* Before any job: a worker reads it only after taking one, under the lock. */
        assert(!r->queue && !r->done && !r->kills);
        r->mrelease = mrelease;
}

void kill_result_done(KillResult *res) {
        if (!res)
                return;
        free(res->cgroup);
        res->cgroup = NULL;
}
