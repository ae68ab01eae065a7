/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* reaper: killing one victim cgroup and freeing its memory at once.
 *
 *  1. pidfd_open() every process of the victim's subtree (before the kill:
 *     pidfds make the kill immune to pid reuse; a pid number read earlier
 *     is never signalled).
 *     A pid read from cgroup.procs is kept only if, after pidfd_open(), the
 *     process is still below the victim (/proc/PID/cgroup): a number reused
 *     by an unrelated process is skipped, never signalled.
 *  2. cgroup.kill when Method=auto and the file exists, else
 *     pidfd_send_signal(SIGKILL) rounds: signal, re-read cgroup.procs of the
 *     subtree, signal what is new (children whose fork was in flight), until
 *     a re-read shows nothing unsignalled (bounded).
 *  3. ReleaseMemory=yes: a worker thread sends that kill itself and calls
 *     process_mrelease() on every process it reached right after it (it
 *     blocks while it unmaps), before the victims run their exit path and
 *     drop their mm. The worker reports twice through an eventfd: once the
 *     kill is out (what it reached, the first error), once the releases are
 *     done. Without ReleaseMemory= the kill goes out from the loop.
 *  4. Wait for cgroup.events "populated 0" (inotify), bounded by KillTimeout
 *     counted from the moment the kill went out.
 *  5. Call the done callback once with the outcome.
 *
 * A kill that reached no process is not a kill: from the loop it is an
 * error of reaper_kill() (nothing signalled, no callback); from the worker
 * the "sent" callback says so (error or vanished) and completion follows at
 * once.
 *
 * The reaper never kills the process it runs in: a victim whose subtree
 * holds it (its cgroup, or its pid in a cgroup.procs) is refused.
 *
 * Without the memory controller (no memory.current) memory_before is the
 * sum of the processes' RSS and freed_bytes is that sum once the cgroup is
 * empty (0 on a timeout: unknown).
 *
 * The reaper chooses nothing: it is told which cgroup to kill. */

#include <systemd/sd-event.h>
#include "config.h"

typedef struct Reaper Reaper;

typedef struct KillRequest {
        const char *cg_root;
        const char *cgroup;             /* victim path, leading '/' */
        KillMethod method;
        bool release_memory;
        usec_t timeout;                 /* KillTimeout; 0 or USEC_INFINITY: wait forever */
        bool dry_run;                   /* do everything but send signals */
} KillRequest;

typedef struct KillResult {
        char *cgroup;
        KillMethod method_used;         /* AUTO never appears here */
        size_t n_pids;                  /* processes found (pidfds opened) */
        size_t n_signalled;             /* processes the kill reached: every one found for
                                         * cgroup.kill (the kernel kills the subtree), else
                                         * the SIGKILLs delivered by pidfd */
        uint64_t memory_before;         /* memory.current (or RSS sum) before */
        uint64_t freed_bytes;           /* before - after (0 if unknown) */
        usec_t kill_usec;               /* CLOCK_MONOTONIC when the signal went out */
        usec_t empty_usec;              /* time from kill to populated 0 (on a
                                         * timeout: how long it waited) */
        int mrelease;                   /* 1 = released >=1 process, 0 = not asked/nothing to do
                                         * (all already exited or not yet dying), -ENOSYS =
                                         * unsupported (remembered: later kills skip it),
                                         * other -errno = the call failed */
        size_t n_mreleased;
        bool timed_out;                 /* still populated after the timeout */
        bool vanished;                  /* the victim was gone before the kill reached it:
                                         * cgroup removed, or every process had exited */
        int error;                      /* 0, or why the kill reached no process at all
                                         * (-EPERM: no CAP_KILL for pidfd_send_signal) */
        int signal_error;               /* 0, or the first error of a kill that did reach
                                         * some processes (others were not signalled) */
        int cgroup_kill_error;          /* 0, or why writing cgroup.kill failed: the kill
                                         * went by pidfd instead (method_used says so) */
} KillResult;

/* Called on the event loop when the kill is sent (sent == true, result
 * partially filled: n_pids, n_signalled, memory_before, method_used,
 * kill_usec) and again when it is complete (sent == false: everything
 * filled), each exactly once and never from inside reaper_kill(). When the
 * worker's kill reached nothing, the "sent" call has error < 0 (nothing was
 * signalled, e.g. -EPERM) or vanished set, and completion follows at once
 * with the same values: it was no kill. A dry run completes at once
 * (nothing signalled, freed_bytes 0). Completion waits for the
 * process_mrelease() results too, unless the timeout expires first. When
 * the completion callback runs, the cgroup is no longer busy. The result is
 * valid only during the call. A callback may call reaper_kill() but not
 * reaper_free(). */
typedef void (*reaper_cb)(Reaper *r, const KillResult *res, bool sent, void *userdata);

int reaper_new(sd_event *e, Reaper **ret);
/* Cancels every kill in flight (no more callbacks) and joins the worker. */
Reaper *reaper_free(Reaper *r);
static inline void reaper_freep(Reaper **r) { *r = reaper_free(*r); }

/* Start killing. Returns 0 when started (callbacks follow), -EBUSY if that
 * cgroup is already being killed, -ENOENT if it is gone or empty
 * (cgroup.events "populated 0", or no process left to open a pidfd for),
 * -EDEADLK if the victim's subtree holds the calling process, -EOPNOTSUPP
 * for KILL_METHOD_CGROUP_KILL without cgroup.kill (kernel < 5.14), other
 * negative errno, e.g. -EPERM when a kill from the loop could signal no
 * process (then nothing was signalled and no callback follows). */
int reaper_kill(Reaper *r, const KillRequest *req, reaper_cb cb, void *userdata);

/* NULL-terminated list of cgroups currently being killed (owned by r,
 * valid until the next call into r or the next event loop iteration). */
char *const *reaper_busy(Reaper *r);

/* Synchronous building blocks, used by reaper_kill() and by the live tests. */
/* Open pidfds for every process in the subtree. Vanished processes, and
 * pids that now name a process outside the subtree, are skipped; a subtree
 * that lists the calling process is -EDEADLK. */
int reaper_collect_pidfds(const char *cg_root, const char *cgroup, int **ret_fds, pid_t **ret_pids,
                          size_t *ret_n);
/* Kill by pidfd in rounds until a re-read of cgroup.procs of the whole
 * subtree shows no process that was not signalled yet (the ones left are
 * dying and cannot fork), or max_rounds passed. Returns number of signals
 * sent or negative errno. */
int reaper_kill_pidfd_rounds(const char *cg_root, const char *cgroup, unsigned max_rounds);

void kill_result_done(KillResult *r);
