/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroupfs: the cgroup2 filesystem and the few /proc files cgreap reads.
 * See cgroupfs.h. Owns path building, whole-file reads, pure parsers and
 * the subtree walk; never decides, never logs above debug. */

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "cgroupfs.h"

/* cgroup.procs of a huge cgroup is the largest file read here (4M pids of
 * up to 8 digits); anything bigger is not a kernel file we understand. */
#define READ_FULL_MAX ((size_t) 64 * 1024 * 1024)

/* ---- small helpers ---- */

/* Parse decimal digits at s (no sign, no white space) into a u64, stop at
 * the first non-digit and report it in *ret_end. -EINVAL without digits,
 * -ERANGE on overflow. */
static int parse_u64_prefix(const char *s, const char **ret_end, uint64_t *ret) {
        uint64_t v = 0;
        const char *p = s;

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret_end = p;
        *ret = v;
        return 0;
}

/* Length of the line starting at p (without its '\n'). */
static size_t line_len(const char *p) {
        const char *nl = strchr(p, '\n');

        return nl ? (size_t) (nl - p) : strlen(p);
}

/* Next line: returns the start of the following line or NULL at the end. */
static const char *line_next(const char *p) {
        const char *nl = strchr(p, '\n');

        return nl ? nl + 1 : NULL;
}

/* Find a line that starts with key (e.g. "VmRSS:") and return a pointer
 * right after the key, or NULL. */
static const char *find_line_value(const char *buf, const char *key) {
        size_t k = strlen(key);

        for (const char *p = buf; p && *p; p = line_next(p))
                if (strncmp(p, key, k) == 0)
                        return p + k;
        return NULL;
}

/* "<key>:   <N> kB" as found in /proc/PID/status and /proc/meminfo, in
 * bytes. -ENOENT if the key is absent, -EINVAL/-ERANGE if malformed. */
static int parse_kb_field(const char *buf, const char *key, uint64_t *ret) {
        const char *p = find_line_value(buf, key), *e;
        uint64_t kb;
        int r;

        if (!p)
                return -ENOENT;
        p += strspn(p, " \t");
        r = parse_u64_prefix(p, &e, &kb);
        if (r < 0)
                return r;
        if (strncmp(e, " kB", 3) != 0 || !IN_SET(e[3], '\n', '\0'))
                return -EINVAL;
        if (kb > UINT64_MAX / 1024)
                return -ERANGE;
        *ret = kb * 1024;
        return 0;
}

/* The key=value tables of cgroup.events, memory.events and memory.stat:
 * every line is "<key> <u64>"; unknown keys are skipped (newer kernels add
 * some), a line of any other shape makes the whole buffer invalid. */
typedef struct KvField {
        const char *key;
        uint64_t *value;
        bool seen;
} KvField;

static int parse_kv_buf(const char *buf, KvField *fields, size_t n_fields) {
        for (const char *p = buf; p && *p; p = line_next(p)) {
                size_t len = line_len(p), klen;
                const char *sp, *e;
                uint64_t v;
                int r;

                if (len == 0)
                        continue;
                sp = memchr(p, ' ', len);
                if (!sp || sp == p)
                        return -EINVAL;
                klen = (size_t) (sp - p);
                for (size_t i = 0; i < klen; i++)
                        if (!islower((unsigned char) p[i]) && !isdigit((unsigned char) p[i]) && p[i] != '_')
                                return -EINVAL;
                r = parse_u64_prefix(sp + 1, &e, &v);
                if (r < 0)
                        return r;
                if (e != p + len)
                        return -EINVAL;

                for (size_t i = 0; i < n_fields; i++)
                        if (strlen(fields[i].key) == klen && strncmp(fields[i].key, p, klen) == 0) {
                                *fields[i].value = v;
                                fields[i].seen = true;
                        }
        }
        return 0;
}

/* A read that comes back this much short of what it could have returned
 * ends a kernel file: seq_file hands over at most a page per read(), all of
 * it but for the one record that did not fit, and the records of the files
 * read with short_is_eof are lines far below this. */
#define SHORT_READ_SLACK 512

static int read_full_fd(int fd, bool short_is_eof, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;

        /* cgroupfs and procfs report st_size 0: read until EOF. */
        for (;;) {
                ssize_t n;

                if (alloc - size < 4096) {
                        size_t na = alloc ? alloc * 2 : 4096;
                        char *nb;

                        if (na > READ_FULL_MAX + 1)
                                return -EFBIG;
                        nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        alloc = na;
                }
                size_t want = alloc - size - 1;

                n = read(fd, buf + size, want);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                /* Saves the second read() that would return 0: a decision
                 * reads thousands of these files while memory is short. */
                if (short_is_eof && (size_t) n + SHORT_READ_SLACK < MIN(want, (size_t) 4096))
                        break;
        }
        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int read_path(const char *p, bool short_is_eof, char **ret) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(p, O_RDONLY|O_CLOEXEC|O_NOCTTY);
        if (fd < 0)
                return -errno;
        return read_full_fd(fd, short_is_eof, ret, NULL);
}

int cg_read_full(const char *p, char **ret) {
        return read_path(p, false, ret);
}

/* /proc/<pid>/<file>; a missing entry means the process is gone: -ESRCH. */
static int proc_read_pid_file(const char *proc_root, pid_t pid, const char *file, char **ret) {
        _cleanup_free_ char *p = NULL;
        int r;

        if (pid <= 0)
                return -EINVAL;
        if (asprintf(&p, "%s/%d/%s", proc_root, (int) pid, file) < 0)
                return -ENOMEM;
        r = read_path(p, true, ret);
        if (r == -ENOENT)
                return -ESRCH;
        return r;
}

/* ---- mountinfo ---- */

/* Undo the kernel's octal escapes of ' ', '\t', '\n' and '\\' (\040...). */
static char *mountinfo_unescape(const char *s, size_t len) {
        char *out = malloc(len + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 3 < len &&
                    s[i+1] >= '0' && s[i+1] <= '3' &&
                    s[i+2] >= '0' && s[i+2] <= '7' &&
                    s[i+3] >= '0' && s[i+3] <= '7') {
                        *o++ = (char) (((s[i+1] - '0') << 6) | ((s[i+2] - '0') << 3) | (s[i+3] - '0'));
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

/* How much we like a cgroup2 mount: the full hierarchy (root "/") at the
 * place systemd mounts it beats a bind mount of a subtree elsewhere. */
static int mount_score(const char *root_field, size_t root_len, const char *mnt) {
        int score = 0;

        if (root_len == 1 && root_field[0] == '/')
                score += 4;
        if (streq(mnt, "/sys/fs/cgroup"))
                score += 2;
        else if (streq(mnt, "/sys/fs/cgroup/unified"))
                score += 1;
        return score;
}

int cg_parse_mountinfo_buf(const char *buf, char **ret_mount) {
        _cleanup_free_ char *best = NULL;
        int best_score = -1;

        for (const char *p = buf; p && *p; p = line_next(p)) {
                /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS" */
                const char *f[64];
                size_t flen[64], n = 0, len = line_len(p), sep = 0;
                _cleanup_free_ char *mnt = NULL;
                int score;

                for (size_t i = 0; i < len && n < ELEMENTSOF(f); ) {
                        size_t j = i;

                        while (j < len && p[j] != ' ')
                                j++;
                        if (j > i) {
                                f[n] = p + i;
                                flen[n] = j - i;
                                n++;
                        }
                        i = j + 1;
                }
                /* The optional fields end at a lone "-"; it cannot come
                 * before field 6. */
                for (size_t i = 6; i < n; i++)
                        if (flen[i] == 1 && f[i][0] == '-') {
                                sep = i;
                                break;
                        }
                if (sep == 0 || sep + 1 >= n)
                        continue;
                if (flen[sep + 1] != strlen("cgroup2") || strncmp(f[sep + 1], "cgroup2", flen[sep + 1]) != 0)
                        continue;

                mnt = mountinfo_unescape(f[4], flen[4]);
                if (!mnt)
                        return -ENOMEM;
                if (mnt[0] != '/')
                        continue;
                score = mount_score(f[3], flen[3], mnt);
                if (score > best_score) {
                        free(best);
                        best = TAKE_PTR(mnt);
                        best_score = score;
                }
        }
        if (!best)
                return -ENOMEDIUM;
        *ret_mount = TAKE_PTR(best);
        return 0;
}

int cg_find_mount(const char *mountinfo_path, char **ret_mount) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = cg_read_full(mountinfo_path, &buf);
        if (r < 0)
                return r;
        return cg_parse_mountinfo_buf(buf, ret_mount);
}

/* ---- paths and files ---- */

char *cg_path(const char *root, const char *path, const char *file) {
        size_t rl = strlen(root), pl;
        const char *pp = path ? path : "";
        char *s;

        /* Join with exactly one '/' between parts whatever slashes the
         * caller left at the ends: "/sys/fs/cgroup" + "/" + "cgroup.procs"
         * is "/sys/fs/cgroup/cgroup.procs". */
        while (rl > 0 && root[rl - 1] == '/')
                rl--;
        pp += strspn(pp, "/");
        pl = strlen(pp);
        while (pl > 0 && pp[pl - 1] == '/')
                pl--;
        if (file)
                file += strspn(file, "/");

        if (asprintf(&s, "%.*s%s%.*s%s%s",
                     (int) rl, root,
                     pl > 0 ? "/" : "", (int) pl, pp,
                     file && *file ? "/" : "", file ? file : "") < 0)
                return NULL;
        if (!*s) {
                /* root "/" and nothing else */
                free(s);
                return strdup("/");
        }
        return s;
}

int cg_read_file(const char *root, const char *path, const char *file, char **ret) {
        _cleanup_free_ char *p = cg_path(root, path, file);

        if (!p)
                return -ENOMEM;
        return read_path(p, true, ret);
}

int cg_open_write(const char *root, const char *path, const char *file) {
        _cleanup_free_ char *p = cg_path(root, path, file);
        int fd;

        if (!p)
                return -ENOMEM;
        /* O_TRUNC is ignored by cgroupfs (as for "echo > file" in a shell)
         * and makes a test tree of plain files read back what was written. */
        fd = open(p, O_WRONLY|O_TRUNC|O_CLOEXEC|O_NOCTTY);
        if (fd < 0)
                return -errno;
        return fd;
}

int cg_write_fd(int fd, const char *value) {
        size_t len = strlen(value);
        ssize_t n;

        /* One write(): cgroup files take one value per write and report
         * the kernel's verdict (EINVAL, EBUSY...) from that call. */
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int cg_write_file(const char *root, const char *path, const char *file, const char *value) {
        _cleanup_close_ int fd = cg_open_write(root, path, file);

        if (fd < 0)
                return fd;
        return cg_write_fd(fd, value);
}

/* ---- parsers ---- */

/* The thin I/O shell around a pure parser of one cgroup file. */
#define DEFINE_CG_READ(func, file, type, parser)                                \
        int func(const char *root, const char *path, type *ret) {               \
                _cleanup_free_ char *buf = NULL;                                \
                int r;                                                          \
                                                                                \
                r = cg_read_file(root, path, file, &buf);                       \
                if (r < 0)                                                      \
                        return r;                                               \
                return parser(buf, ret);                                        \
        }

/* The controllers of cgroup v2 (Documentation/admin-guide/cgroup-v2.rst). */
static const struct {
        const char *name;
        unsigned bit;
} controller_table[] = {
        { "cpuset",  CG_CTRL_CPUSET },
        { "cpu",     CG_CTRL_CPU },
        { "io",      CG_CTRL_IO },
        { "memory",  CG_CTRL_MEMORY },
        { "hugetlb", CG_CTRL_HUGETLB },
        { "pids",    CG_CTRL_PIDS },
        { "rdma",    CG_CTRL_RDMA },
        { "misc",    CG_CTRL_MISC },
};

int cg_parse_controllers_list_buf(const char *buf, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (const char *p = buf; *p; ) {
                char **nl;
                size_t len;

                p += strspn(p, " \t\n");
                len = strcspn(p, " \t\n");
                if (len == 0)
                        break;
                nl = reallocarray(l, n + 2, sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = strndup(p, len);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
                p += len;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

DEFINE_CG_READ(cg_read_controllers_list, "cgroup.controllers", char **, cg_parse_controllers_list_buf)

int cg_parse_controllers_buf(const char *buf, unsigned *ret_mask) {
        unsigned mask = 0;

        for (const char *p = buf; *p; ) {
                size_t l;

                p += strspn(p, " \t\n");
                l = strcspn(p, " \t\n");
                if (l == 0)
                        break;
                for (size_t i = 0; i < ELEMENTSOF(controller_table); i++)
                        if (strlen(controller_table[i].name) == l && strncmp(controller_table[i].name, p, l) == 0)
                                mask |= controller_table[i].bit;
                p += l;
        }
        *ret_mask = mask;
        return 0;
}

DEFINE_CG_READ(cg_read_controllers, "cgroup.controllers", unsigned, cg_parse_controllers_buf)

int cg_parse_u64_buf(const char *buf, uint64_t *ret) {
        const char *e;
        uint64_t v;
        int r;

        if (strncmp(buf, "max", 3) == 0) {
                v = UINT64_MAX;
                e = buf + 3;
        } else {
                r = parse_u64_prefix(buf, &e, &v);
                if (r < 0)
                        return r;
        }
        if (e[strspn(e, " \t\n")] != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int cg_read_u64(const char *root, const char *path, const char *file, uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = cg_read_file(root, path, file, &buf);
        if (r < 0)
                return r;
        return cg_parse_u64_buf(buf, ret);
}

int cg_parse_procs_buf(const char *buf, pid_t **ret_pids, size_t *ret_n) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, alloc = 0;

        for (const char *p = buf; p && *p; p = line_next(p)) {
                size_t len = line_len(p);
                const char *e;
                uint64_t v;
                int r;

                if (len == 0)
                        continue;
                r = parse_u64_prefix(p, &e, &v);
                if (r < 0)
                        return r;
                if (e != p + len)
                        return -EINVAL;
                if (v > INT_MAX)
                        return -ERANGE;
                /* 0: a process outside the reader's pid namespace (we run in
                 * a container). It is there, but has no pid we could use. */
                if (v == 0)
                        continue;
                if (n == alloc) {
                        size_t na = alloc ? alloc * 2 : 16;
                        pid_t *np = reallocarray(pids, na, sizeof *pids);

                        if (!np)
                                return -ENOMEM;
                        pids = np;
                        alloc = na;
                }
                pids[n++] = (pid_t) v;
        }
        *ret_pids = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

int cg_read_procs(const char *root, const char *path, pid_t **ret_pids, size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = cg_read_file(root, path, "cgroup.procs", &buf);
        if (r < 0)
                return r;
        return cg_parse_procs_buf(buf, ret_pids, ret_n);
}

int cg_parse_events_buf(const char *buf, CgroupEvents *ret) {
        uint64_t populated = 0, frozen = 0;
        KvField f[] = {
                { "populated", &populated, false },
                { "frozen",    &frozen,    false },
        };
        int r;

        r = parse_kv_buf(buf, f, ELEMENTSOF(f));
        if (r < 0)
                return r;
        /* "populated" is what cgroup.events is for; without it the buffer
         * is not a cgroup.events file. "frozen" came later (5.2). */
        if (!f[0].seen || populated > 1 || frozen > 1)
                return -EINVAL;
        *ret = (CgroupEvents) {
                .populated = populated,
                .frozen = frozen,
        };
        return 0;
}

DEFINE_CG_READ(cg_read_events, "cgroup.events", CgroupEvents, cg_parse_events_buf)

int cg_parse_memory_events_buf(const char *buf, MemoryEvents *ret) {
        MemoryEvents m = {};
        KvField f[] = {
                { "low",            &m.low,            false },
                { "high",           &m.high,           false },
                { "max",            &m.max,            false },
                { "oom",            &m.oom,            false },
                { "oom_kill",       &m.oom_kill,       false },
                { "oom_group_kill", &m.oom_group_kill, false },
        };
        int r;

        r = parse_kv_buf(buf, f, ELEMENTSOF(f));
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

DEFINE_CG_READ(cg_read_memory_events, "memory.events", MemoryEvents, cg_parse_memory_events_buf)

int cg_parse_memory_stat_buf(const char *buf, MemoryStat *ret) {
        MemoryStat m = {};
        KvField f[] = {
                { "anon",   &m.anon,   false },
                { "file",   &m.file,   false },
                { "kernel", &m.kernel, false },
                { "shmem",  &m.shmem,  false },
                { "sock",   &m.sock,   false },
                { "active_file",             &m.active_file,             false },
                { "inactive_file",           &m.inactive_file,           false },
                { "slab_reclaimable",        &m.slab_reclaimable,        false },
                { "workingset_refault",      &m.workingset_refault_file, false },
                { "workingset_refault_file", &m.workingset_refault_file, false },
        };
        int r;

        r = parse_kv_buf(buf, f, ELEMENTSOF(f));
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

DEFINE_CG_READ(cg_read_memory_stat, "memory.stat", MemoryStat, cg_parse_memory_stat_buf)

/* ---- attributes of the directory ---- */

int cg_has_xattr(const char *root, const char *path, const char *name) {
        _cleanup_free_ char *p = cg_path(root, path, NULL);

        if (!p)
                return -ENOMEM;
        if (getxattr(p, name, NULL, 0) >= 0)
                return 1;
        /* No attribute, or a file system (old kernel's cgroupfs) that has
         * no user.* xattrs at all: both mean "nobody asked". */
        if (IN_SET(errno, ENODATA, EOPNOTSUPP))
                return 0;
        return -errno;
}

int cg_get_owner(const char *root, const char *path, uid_t *ret) {
        _cleanup_free_ char *p = cg_path(root, path, NULL);
        struct stat st;

        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        *ret = st.st_uid;
        return 0;
}

void cg_read_trust(const char *root, const char *path, CgroupTrust *ret) {
        CgroupTrust t = {};
        int omit, avoid;

        t.owner_error = MIN(cg_get_owner(root, path, &t.owner), 0);
        if (t.owner_error == 0 && t.owner == 0) {
                omit = cg_has_xattr(root, path, "user.oomd_omit");
                avoid = omit < 0 ? omit : cg_has_xattr(root, path, "user.oomd_avoid");
                t.xattr_error = MIN(avoid, 0);
                t.omit = omit > 0;
                t.avoid = avoid > 0;
        }
        *ret = t;
}

int cg_file_exists(const char *root, const char *path, const char *file) {
        _cleanup_free_ char *p = cg_path(root, path, file), *d = NULL;

        if (!p)
                return -ENOMEM;
        if (access(p, F_OK) >= 0)
                return 1;
        if (errno != ENOENT)
                return -errno;
        /* A missing file in a missing cgroup is a vanished cgroup, not a
         * kernel without that file. */
        d = cg_path(root, path, NULL);
        if (!d)
                return -ENOMEM;
        if (access(d, F_OK) < 0)
                return -errno;
        return 0;
}

/* ---- walking ---- */

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* Child cgroups of an open directory: subdirectories only (cgroupfs has
 * no symlinks; in a fake tree a symlink must not lead the walk outside). */
static int list_children_fd(int dfd, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        size_t n = 0, alloc = 0;
        int fd;

        fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        rewinddir(d);

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        alloc = 1;
        for (;;) {
                struct dirent *de;
                bool is_dir;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_type == DT_UNKNOWN) {
                        struct stat st;

                        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                                if (ERRNO_IS_VANISHED(-errno))
                                        continue;
                                return -errno;
                        }
                        is_dir = S_ISDIR(st.st_mode);
                } else
                        is_dir = de->d_type == DT_DIR;
                if (!is_dir)
                        continue;

                if (n + 2 > alloc) {
                        size_t na = alloc * 2 + 2;
                        char **nl = reallocarray(l, na, sizeof(char *));

                        if (!nl)
                                return -ENOMEM;
                        l = nl;
                        alloc = na;
                }
                l[n] = strdup(de->d_name);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        qsort(l, n, sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(l);
        return 0;
}

static int open_cgroup_dir(const char *root, const char *path) {
        _cleanup_free_ char *p = cg_path(root, path, NULL);
        int fd;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fd;
}

int cg_list_children(const char *root, const char *path, char ***ret) {
        _cleanup_close_ int fd = -EBADF;

        fd = open_cgroup_dir(root, path);
        if (fd < 0)
                return fd;
        return list_children_fd(fd, ret);
}

static char *path_join_child(const char *path, const char *name) {
        char *s;

        if (asprintf(&s, "%s/%s", streq(path, "/") ? "" : path, name) < 0)
                return NULL;
        return s;
}

static int walk_fd(int dfd, const char *root, const char *path, cg_walk_cb cb, void *userdata) {
        _cleanup_strv_free_ char **children = NULL;
        int r;

        r = cb(root, path, userdata);
        if (r < 0)
                return r;
        if (r > 0)
                return 0;

        r = list_children_fd(dfd, &children);
        if (ERRNO_IS_VANISHED(r))
                return 0;
        if (r < 0)
                return r;

        for (char **c = children; *c; c++) {
                _cleanup_free_ char *child = NULL;
                _cleanup_close_ int cfd = -EBADF;

                /* O_NOFOLLOW: a symlink that replaced the directory since
                 * the listing is not a cgroup. ENOENT: rmdir'd meanwhile. */
                cfd = openat(dfd, *c, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);
                if (cfd < 0) {
                        if (ERRNO_IS_VANISHED(-errno) || IN_SET(errno, ENOTDIR, ELOOP))
                                continue;
                        return -errno;
                }
                child = path_join_child(path, *c);
                if (!child)
                        return -ENOMEM;
                r = walk_fd(cfd, root, child, cb, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_walk(const char *root, const char *path, cg_walk_cb cb, void *userdata) {
        _cleanup_free_ char *norm = NULL;
        _cleanup_close_ int fd = -EBADF;

        /* Callbacks see canonical paths whatever spelling came in. */
        norm = cg_path_normalize(path);
        if (!norm)
                return -ENOMEM;
        fd = open_cgroup_dir(root, norm);
        if (fd < 0)
                return fd;
        return walk_fd(fd, root, norm, cb, userdata);
}

/* ---- processes ---- */

int cg_parse_proc_cgroup_buf(const char *buf, char **ret_path) {
        static const char deleted[] = " (deleted)";
        const size_t dl = strlen(deleted);

        for (const char *p = buf; p && *p; p = line_next(p)) {
                size_t len;
                char *s;

                if (strncmp(p, "0::", 3) != 0)
                        continue;
                p += 3;
                len = line_len(p);
                if (len == 0 || p[0] != '/')
                        return -EINVAL;
                /* The kernel marks a removed cgroup (a zombie's) with
                 * " (deleted)": the process has no live cgroup any more. */
                if (len >= dl && strncmp(p + len - dl, deleted, dl) == 0)
                        return -ENODEV;
                s = strndup(p, len);
                if (!s)
                        return -ENOMEM;
                *ret_path = s;
                return 0;
        }
        return -ENODATA;        /* no unified hierarchy line: cgroup v1 only */
}

int cg_pid_get_path(const char *proc_root, pid_t pid, char **ret_path) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = proc_read_pid_file(proc_root, pid, "cgroup", &buf);
        if (r < 0)
                return r;
        return cg_parse_proc_cgroup_buf(buf, ret_path);
}

/* ---- path names ---- */

size_t cg_path_depth(const char *path) {
        size_t d = 0;

        for (const char *p = path; *p; p++)
                if (*p == '/' && p[1] && p[1] != '/')
                        d++;
        return d;
}

char *cg_path_normalize(const char *path) {
        char *s = malloc(strlen(path) + 2), *o = s;

        if (!s)
                return NULL;
        *o++ = '/';
        for (const char *p = path; *p; p++)
                if (*p != '/' || (o[-1] != '/' && p[1] && p[strspn(p, "/")]))
                        *o++ = *p;
        *o = 0;
        return s;
}

bool cg_path_is_plain(const char *path) {
        for (const char *p = path; *p; ) {
                size_t l;

                p += strspn(p, "/");
                l = strcspn(p, "/");
                if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += l;
        }
        return true;
}

const char *cg_path_basename(const char *path) {
        const char *s = strrchr(path, '/');

        if (!s || !s[1])
                return path;
        return s + 1;
}

bool cg_path_is_below(const char *path, const char *ancestor) {
        size_t l = strlen(ancestor);

        while (l > 0 && ancestor[l - 1] == '/')
                l--;
        if (l == 0)
                return path[0] == '/';
        return strncmp(path, ancestor, l) == 0 && IN_SET(path[l], '/', '\0');
}

static bool unit_name_valid(const char *s, size_t len) {
        static const char *const suffixes[] = {
                ".service", ".scope", ".slice", ".socket", ".mount", ".swap",
                ".device", ".automount", ".target", ".timer", ".path",
        };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t sl = strlen(suffixes[i]);

                if (len > sl && strncmp(s + len - sl, suffixes[i], sl) == 0)
                        return true;
        }
        return false;
}

static bool is_slice(const char *s, size_t len) {
        return len > 6 && strncmp(s + len - 6, ".slice", 6) == 0;
}

/* "user@<uid>.service": the per-user systemd instance. */
static bool is_user_manager(const char *s, size_t len) {
        size_t i = 5;

        if (len <= 5 + 8 || strncmp(s, "user@", 5) != 0 || strncmp(s + len - 8, ".service", 8) != 0)
                return false;
        for (; i < len - 8; i++)
                if (!isdigit((unsigned char) s[i]))
                        return false;
        return true;
}

int cg_path_get_unit(const char *path, char **ret_unit, bool *ret_user) {
        /* systemd's own rule (its cg_path_get_unit()): slices nest, and the
         * first unit that is not a slice owns everything below it (its
         * sub-cgroups, or a container's whole tree, are not units of this
         * systemd). Below user@UID.service the same rule applies again, for
         * the user manager's units. With only slices the deepest slice is
         * the answer, so slices have a unit too. */
        const char *unit[2] = {};
        size_t ulen[2] = {};
        unsigned level = 0;     /* 0: system manager, 1: user manager */
        char *s;

        for (const char *p = path; *p; ) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                /* A directory that is no unit name: nothing at or below it
                 * belongs to a systemd unit of its own. */
                if (!unit_name_valid(p, len))
                        break;
                unit[level] = p;
                ulen[level] = len;
                p += len;
                if (is_slice(unit[level], len))
                        continue;
                if (level == 0 && is_user_manager(unit[0], len)) {
                        level = 1;
                        continue;
                }
                break;
        }

        if (level == 1 && unit[1]) {
                s = strndup(unit[1], ulen[1]);
                if (!s)
                        return -ENOMEM;
                *ret_unit = s;
                if (ret_user)
                        *ret_user = true;
                return 0;
        }
        if (!unit[0])
                return -ENXIO;
        s = strndup(unit[0], ulen[0]);
        if (!s)
                return -ENOMEM;
        *ret_unit = s;
        if (ret_user)
                *ret_user = false;
        return 0;
}

/* ---- /proc ---- */

int proc_read_oom_score_adj(const char *proc_root, pid_t pid, int *ret) {
        _cleanup_free_ char *buf = NULL;
        const char *p, *e;
        bool neg;
        uint64_t v;
        int r;

        r = proc_read_pid_file(proc_root, pid, "oom_score_adj", &buf);
        if (r < 0)
                return r;
        p = buf;
        neg = *p == '-';
        if (neg)
                p++;
        r = parse_u64_prefix(p, &e, &v);
        if (r < 0)
                return r;
        if (e[strspn(e, "\n")] != 0)
                return -EINVAL;
        if (v > 1000)
                return -ERANGE;
        *ret = neg ? -(int) v : (int) v;
        return 0;
}

int proc_read_rss(const char *proc_root, pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        const char *p, *e;
        uint64_t pages, rss;
        long psz;
        int r;

        r = proc_read_pid_file(proc_root, pid, "status", &buf);
        if (r < 0)
                return r;
        r = parse_kb_field(buf, "VmRSS:", &rss);
        if (r != -ENOENT) {
                if (r < 0)
                        return r;
                *ret = rss;
                return 0;
        }

        /* No VmRSS (kernel thread, or a zombie): statm's second field is
         * resident pages, 0 for those. */
        free(buf);
        buf = NULL;
        r = proc_read_pid_file(proc_root, pid, "statm", &buf);
        if (r < 0)
                return r;
        p = buf + strcspn(buf, " ");
        if (*p != ' ')
                return -EINVAL;
        r = parse_u64_prefix(p + 1, &e, &pages);
        if (r < 0)
                return r;
        psz = sysconf(_SC_PAGESIZE);
        if (psz <= 0)
                return -EINVAL;
        if (pages > UINT64_MAX / (uint64_t) psz)
                return -ERANGE;
        *ret = pages * (uint64_t) psz;
        return 0;
}

int proc_parse_meminfo_buf(const char *buf, ProcMeminfo *ret) {
        ProcMeminfo m = {};
        const struct {
                const char *key;
                uint64_t *value;
                bool required;
        } f[] = {
                { "MemTotal:",       &m.total,         true },
                { "MemAvailable:",   &m.available,     true },
                { "SwapTotal:",      &m.swap_total,    false },
                { "SwapFree:",       &m.swap_free,     false },
                { "Active(file):",   &m.active_file,   false },
                { "Inactive(file):", &m.inactive_file, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                int r = parse_kb_field(buf, f[i].key, f[i].value);

                if (r == -ENOENT && !f[i].required)
                        continue;
                if (r < 0)
                        return r == -ENOENT ? -EINVAL : r;
        }
        *ret = m;
        return 0;
}

/* The thin I/O shell around a pure parser of one /proc file. */
#define DEFINE_PROC_READ(func, file, type, parser)                              \
        int func(const char *proc_root, type *ret) {                            \
                _cleanup_free_ char *buf = NULL, *p = NULL;                     \
                int r;                                                          \
                                                                                \
                if (asprintf(&p, "%s/" file, proc_root) < 0)                    \
                        return -ENOMEM;                                         \
                r = cg_read_full(p, &buf);                                      \
                if (r < 0)                                                      \
                        return r;                                               \
                return parser(buf, ret);                                        \
        }

DEFINE_PROC_READ(proc_read_meminfo, "meminfo", ProcMeminfo, proc_parse_meminfo_buf)

int proc_parse_vmstat_buf(const char *buf, ProcVmstat *ret) {
        ProcVmstat v = {};
        KvField f[] = {
                { "workingset_refault",      &v.workingset_refault_file, false },
                { "workingset_refault_file", &v.workingset_refault_file, false },
                { "oom_kill",                &v.oom_kill,                false },
        };
        int r;

        r = parse_kv_buf(buf, f, ELEMENTSOF(f));
        if (r < 0)
                return r;
        v.has_oom_kill = f[2].seen;
        *ret = v;
        return 0;
}

DEFINE_PROC_READ(proc_read_vmstat, "vmstat", ProcVmstat, proc_parse_vmstat_buf)

/* "Uid:\t<real>\t<effective>\t<saved>\t<fs>" of a status file: whether the
 * real and the effective uid are both 0. */
static bool status_is_root(const char *status) {
        const char *p = find_line_value(status, "Uid:"), *e;
        uint64_t real, eff;

        if (!p)
                return false;
        p += strspn(p, " \t");
        if (parse_u64_prefix(p, &e, &real) < 0)
                return false;
        e += strspn(e, " \t");
        if (parse_u64_prefix(e, &e, &eff) < 0)
                return false;
        return real == 0 && eff == 0;
}

/* Whether pid is name: its comm says so, it runs as root, and its
 * executable is a file called name (after an upgrade the kernel shows
 * "/usr/sbin/cgreapd (deleted)"). Without the right to resolve another
 * user's exe (we are not root), comm and uid have to do. */
static bool proc_is_root_program(const char *proc_root, const char *pid, const char *name) {
        char path[PATH_MAX], exe[PATH_MAX];
        _cleanup_free_ char *comm = NULL, *status = NULL;
        static const char deleted[] = " (deleted)";
        size_t cl;
        ssize_t n;

        (void) snprintf(path, sizeof path, "%s/%s/comm", proc_root, pid);
        if (cg_read_full(path, &comm) < 0)
                return false;
        cl = strcspn(comm, "\n");
        if (cl != strlen(name) || strncmp(comm, name, cl) != 0)
                return false;

        (void) snprintf(path, sizeof path, "%s/%s/status", proc_root, pid);
        if (cg_read_full(path, &status) < 0 || !status_is_root(status))
                return false;

        (void) snprintf(path, sizeof path, "%s/%s/exe", proc_root, pid);
        n = readlink(path, exe, sizeof exe - 1);
        if (n < 0)
                return IN_SET(errno, EACCES, EPERM);
        exe[n] = 0;
        if ((size_t) n > strlen(deleted) && streq(exe + n - strlen(deleted), deleted))
                exe[n - strlen(deleted)] = 0;
        return streq(cg_path_basename(exe), name);
}

int proc_find_root_program_cgroup(const char *proc_root, const char *name, char **ret_cgroup) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = opendir(proc_root);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char *cg = NULL;
                pid_t pid;
                int r;

                if (!isdigit((unsigned char) de->d_name[0]))
                        continue;
                if (!proc_is_root_program(proc_root, de->d_name, name))
                        continue;
                pid = (pid_t) strtol(de->d_name, NULL, 10);
                r = cg_pid_get_path(proc_root, pid, &cg);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;       /* gone since, or not in cgroup2 */
                *ret_cgroup = cg;
                return 1;
        }
        return 0;
}
