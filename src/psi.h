/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* psi: the text of *.pressure files, and PSI triggers (formatting, arming).
 * Kernel doc: Documentation/accounting/psi.rst. A trigger is armed by
 * writing "some|full STALL_US WINDOW_US" plus its terminating NUL to an fd
 * opened O_RDWR|O_NONBLOCK; the kernel then signals EPOLLPRI on that fd
 * each time the stall in the window crosses the threshold, and EPOLLERR once
 * the cgroup is removed. Never decides and never kills. */

#include "macro.h"

typedef enum PsiKind {
        PSI_SOME,
        PSI_FULL,
} PsiKind;

/* A PSI trigger as written in the config ("some 10% 2s" or "full 150ms 2s").
 * The stall is resolved to microseconds at parse time. */
typedef struct PsiTrigger {
        PsiKind kind;
        usec_t stall_usec;
        usec_t window_usec;
} PsiTrigger;

/* Kernel limits on trigger windows (kernel/sched/psi.c). Without
 * CAP_SYS_RESOURCE unprivileged-style triggers need a window that is a
 * multiple of 2s (the kernel's PSI averaging period). */
#define PSI_WINDOW_MIN_USEC (500 * USEC_PER_MSEC)
#define PSI_WINDOW_MAX_USEC (10 * USEC_PER_SEC)
#define PSI_WINDOW_UNPRIV_STEP_USEC (2 * USEC_PER_SEC)

/* Validate a PSI trigger with the kernel's rules (window 500ms..10s,
 * 0 < stall <= window, window a multiple of 2s without CAP_SYS_RESOURCE).
 * Returns 0 or -EINVAL with *ret_reason a static string naming the rule. */
int psi_trigger_check(const PsiTrigger *t, bool have_sys_resource, const char **ret_reason);

/* The kernel evaluates every trigger of a pressure file once per shortest
 * window of all its triggers / 10, and, when a stall starts after calm,
 * only that long after it started: 200ms for 2s windows. The companion of
 * a trigger has the same kind and stall over the shortest window the
 * kernel allows (500ms, so the file's triggers are evaluated every 50ms):
 * it fires only when the trigger's own condition holds (the same stall
 * within a shorter span), sooner. Returns false (nothing to add) when the
 * window is already the shortest, the stall does not fit in it, or the
 * window needs CAP_SYS_RESOURCE that we lack. */
bool psi_trigger_companion(const PsiTrigger *t, bool have_sys_resource, PsiTrigger *ret);

/* Whether this process has CAP_SYS_RESOURCE in its effective set (read from
 * /proc/self/status, so no libcap is needed). */
bool psi_have_cap_sys_resource(void);

typedef struct PsiLine {
        double avg10, avg60, avg300;    /* percent */
        uint64_t total;                 /* usec of stall since boot */
} PsiLine;

typedef struct PsiStats {
        PsiLine some, full;
        bool has_full;
} PsiStats;

/* Parse "some avg10=... total=...\nfull ...". -EINVAL on malformed input,
 * "some" is required. */
int psi_parse_buf(const char *buf, PsiStats *ret);
int psi_read(const char *path, PsiStats *ret);

/* Path of the memory pressure file of a cgroup: "<root><path>/memory.pressure",
 * or "<proc_root>/pressure/memory" for "/" (the root cgroup has none). */
char *psi_memory_pressure_path(const char *root, const char *proc_root, const char *cgroup);

/* "some 200000 2000000" (no NUL counted in the return value). Returns
 * the length or -ENOBUFS. */
int psi_trigger_format(const PsiTrigger *t, char *buf, size_t len);

/* Open path O_RDWR|O_NONBLOCK|O_CLOEXEC and write the trigger with its NUL.
 * Returns the fd, or negative errno (-EINVAL: kernel refused the values,
 * -ENOENT/-ENODEV: cgroup gone, -EOPNOTSUPP: no PSI). */
int psi_trigger_open(const char *path, const PsiTrigger *t);
