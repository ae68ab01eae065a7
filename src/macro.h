/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small versions of the helpers systemd keeps internal: cleanup attributes,
 * ownership transfer, and a few comparison macros. Everything here is
 * header-only so that every module and test can use it. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <time.h>

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC  ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

/* CLOCK_MONOTONIC now: every time cgreap compares is on this clock. */
static inline usec_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* a + b, saturating at USEC_INFINITY. */
static inline usec_t usec_add(usec_t a, usec_t b) {
        return a > USEC_INFINITY - b ? USEC_INFINITY : a + b;
}

/* a - b, or 0 when b is later (times from different reads). */
static inline usec_t usec_sub(usec_t a, usec_t b) {
        return a > b ? a - b : 0;
}
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _noinline_ __attribute__((noinline))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

/* IN_SET(x, a, b, ...) for integers. */
#define IN_SET(x, ...) ({                                               \
        const __typeof__(x) _in_set_v = (x);                            \
        const __typeof__(x) _in_set_l[] = { __VA_ARGS__ };              \
        bool _in_set_f = false;                                         \
        for (size_t _i = 0; _i < ELEMENTSOF(_in_set_l); _i++)           \
                if (_in_set_l[_i] == _in_set_v) { _in_set_f = true; break; } \
        _in_set_f;                                                      \
})

/* Take ownership out of a variable that has a cleanup attribute. */
#define TAKE_PTR(p) ({ __typeof__(p) _tp = (p); (p) = NULL; _tp; })
#define TAKE_STRUCT(s) ({ __typeof__(s) _ts = (s); memset(&(s), 0, sizeof(s)); _ts; })
#define TAKE_FD(fd) ({ int _tf = (fd); (fd) = -EBADF; _tf; })

static inline void freep(void *p) { free(*(void **) p); }
static inline void *mfree(void *p) { free(p); return NULL; }
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) { *fd = safe_close(*fd); }
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) { if (*f) (void) fclose(*f); }
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d) { if (*d) (void) closedir(*d); }
#define _cleanup_closedir_ _cleanup_(closedirp)

/* NULL-terminated string vectors. */
static inline char **strv_free(char **l) {
        if (l)
                for (char **s = l; *s; s++)
                        free(*s);
        free(l);
        return NULL;
}
static inline void strv_freep(char ***l) { *l = strv_free(*l); }
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Negative errno from the current errno, never 0 (so callers can return it). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

/* A cgroup that vanished under us: ENOENT when the directory is gone,
 * ENODEV when a file of a removed cgroup is read, ESRCH for a process.
 * Never an error. Takes a negative errno return value only, so that a
 * positive count is never mistaken for one; for errno write -errno. */
#define ERRNO_IS_VANISHED(r) ((r) < 0 && IN_SET(-(r), ENOENT, ENODEV, ESRCH))
