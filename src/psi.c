/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* psi: *.pressure text and PSI triggers. See psi.h. */

#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>

#include "cgroupfs.h"
#include "psi.h"

int psi_trigger_check(const PsiTrigger *t, bool have_sys_resource, const char **ret_reason) {
        const char *reason = NULL;

        if (t->window_usec < PSI_WINDOW_MIN_USEC || t->window_usec > PSI_WINDOW_MAX_USEC)
                reason = "the window must be between 500ms and 10s";
        else if (t->stall_usec == 0)
                reason = "the stall must be greater than 0";
        else if (t->stall_usec > t->window_usec)
                reason = "the stall must not be longer than the window";
        else if (!have_sys_resource && t->window_usec % PSI_WINDOW_UNPRIV_STEP_USEC != 0)
                reason = "without CAP_SYS_RESOURCE the window must be a multiple of 2s";

        if (reason) {
                if (ret_reason)
                        *ret_reason = reason;
                return -EINVAL;
        }
        return 0;
}

bool psi_trigger_companion(const PsiTrigger *t, bool have_sys_resource, PsiTrigger *ret) {
        PsiTrigger c = {
                .kind = t->kind,
                .stall_usec = t->stall_usec,
                .window_usec = PSI_WINDOW_MIN_USEC,
        };

        if (t->window_usec <= c.window_usec || psi_trigger_check(&c, have_sys_resource, NULL) < 0)
                return false;
        *ret = c;
        return true;
}

bool psi_have_cap_sys_resource(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];

        if (!f)
                return false;
        while (fgets(line, sizeof line, f)) {
                unsigned long long caps;

                if (sscanf(line, "CapEff: %llx", &caps) == 1)
                        return caps & (1ULL << CAP_SYS_RESOURCE);
        }
        return false;
}

/* "12.34" as the kernel prints averages ("%lu.%02lu"), parsed without
 * strtod() so that the result does not depend on the locale. */
static int parse_avg(const char *s, size_t len, double *ret) {
        double v = 0, scale = 1;
        size_t i = 0;
        bool frac = false, digits = false;

        for (; i < len; i++) {
                char c = s[i];

                if (c == '.' && !frac) {
                        frac = true;
                        continue;
                }
                if (c < '0' || c > '9')
                        return -EINVAL;
                digits = true;
                if (frac) {
                        scale /= 10;
                        v += (c - '0') * scale;
                } else {
                        v = v * 10 + (c - '0');
                        if (v > 1e9)    /* a percentage: far beyond any sane value */
                                return -ERANGE;
                }
        }
        if (!digits)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_total(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                unsigned d;

                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                d = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

/* One line after its "some"/"full" word: " avg10=.. avg60=.. avg300=.. total=..".
 * All four keys are required; unknown key=value fields are tolerated. */
static int parse_psi_line(const char *p, size_t len, PsiLine *ret) {
        PsiLine l = {};
        unsigned seen = 0;
        size_t i = 0;

        while (i < len) {
                size_t start, end, eq;
                int r = 0;

                if (p[i] == ' ') {
                        i++;
                        continue;
                }
                start = i;
                while (i < len && p[i] != ' ')
                        i++;
                end = i;
                eq = start;
                while (eq < end && p[eq] != '=')
                        eq++;
                if (eq == end || eq == start)
                        return -EINVAL;

#define KEY_IS(k) (eq - start == strlen(k) && strncmp(p + start, k, eq - start) == 0)
                if (KEY_IS("avg10")) {
                        r = parse_avg(p + eq + 1, end - eq - 1, &l.avg10);
                        seen |= 1;
                } else if (KEY_IS("avg60")) {
                        r = parse_avg(p + eq + 1, end - eq - 1, &l.avg60);
                        seen |= 2;
                } else if (KEY_IS("avg300")) {
                        r = parse_avg(p + eq + 1, end - eq - 1, &l.avg300);
                        seen |= 4;
                } else if (KEY_IS("total")) {
                        r = parse_total(p + eq + 1, end - eq - 1, &l.total);
                        seen |= 8;
                }
#undef KEY_IS
                if (r < 0)
                        return r;
        }
        if (seen != 15)
                return -EINVAL;
        *ret = l;
        return 0;
}

int psi_parse_buf(const char *buf, PsiStats *ret) {
        PsiStats s = {};
        bool has_some = false;

        for (const char *p = buf; p && *p; ) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                int r;

                if (len == 0) {
                        p = nl ? nl + 1 : NULL;
                        continue;
                }
                if (len > 4 && strncmp(p, "some ", 5) == 0) {
                        r = parse_psi_line(p + 5, len - 5, &s.some);
                        has_some = true;
                } else if (len > 4 && strncmp(p, "full ", 5) == 0) {
                        r = parse_psi_line(p + 5, len - 5, &s.full);
                        s.has_full = true;
                } else
                        r = -EINVAL;
                if (r < 0)
                        return r;
                p = nl ? nl + 1 : NULL;
        }
        if (!has_some)
                return -EINVAL;
        *ret = s;
        return 0;
}

int psi_read(const char *path, PsiStats *ret) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = cg_read_full(path, &buf);
        if (r < 0)
                return r;
        return psi_parse_buf(buf, ret);
}

char *psi_memory_pressure_path(const char *root, const char *proc_root, const char *cgroup) {
        char *s;

        /* The root cgroup's pressure is the system's: /proc/pressure/memory
         * exists on every PSI kernel, the root's memory.pressure only on
         * newer ones. */
        if (cgroup[strspn(cgroup, "/")] == 0) {
                if (asprintf(&s, "%s/pressure/memory", proc_root) < 0)
                        return NULL;
                return s;
        }
        return cg_path(root, cgroup, "memory.pressure");
}

int psi_trigger_format(const PsiTrigger *t, char *buf, size_t len) {
        int n;

        if (len == 0)
                return -ENOBUFS;
        n = snprintf(buf, len, "%s %" PRIu64 " %" PRIu64,
                     t->kind == PSI_FULL ? "full" : "some", t->stall_usec, t->window_usec);
        if (n < 0)
                return -EINVAL;
        if ((size_t) n >= len)
                return -ENOBUFS;
        return n;
}

int psi_trigger_open(const char *path, const PsiTrigger *t) {
        _cleanup_close_ int fd = -EBADF;
        char buf[64];
        ssize_t w;
        int n;

        n = psi_trigger_format(t, buf, sizeof buf);
        if (n < 0)
                return n;
        fd = open(path, O_RDWR|O_NONBLOCK|O_CLOEXEC|O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* The kernel parses the trigger from a NUL-terminated copy: writing
         * the NUL too is what psi.rst shows and what older kernels need. */
        w = write(fd, buf, (size_t) n + 1);
        if (w < 0)
                return -errno;
        if (w != n + 1)
                return -EIO;
        return TAKE_FD(fd);
}
