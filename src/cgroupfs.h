/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cgroupfs: the cgroup2 filesystem, read and written directly.
 *
 * Every function takes the mount point ("root", e.g. "/sys/fs/cgroup" or a
 * fake tree in a temp dir) and a cgroup path relative to it with a leading
 * '/' ("/" is the root cgroup itself). Parsers are pure (*_parse_*_buf) and
 * the readers are thin shells around them. Returns negative errno; a
 * cgroup that vanished shows as -ENOENT or -ENODEV (ERRNO_IS_VANISHED()).
 * Never logs above debug; never decides anything. */

#include <sys/types.h>
#include "macro.h"

/* Find the cgroup2 mount point in a mountinfo file ("/proc/self/mountinfo").
 * -ENOMEDIUM if there is none. With several, a mount of the whole
 * hierarchy at /sys/fs/cgroup (then /sys/fs/cgroup/unified, the hybrid
 * layout) is preferred, else the first. Pure variant over a buffer. */
int cg_find_mount(const char *mountinfo_path, char **ret_mount);
int cg_parse_mountinfo_buf(const char *buf, char **ret_mount);

/* Controllers available in a cgroup (cgroup.controllers; at "/", those of
 * the mount): bit set of CG_CTRL_*. Names the kernel adds later have no
 * bit; the list variant keeps every name, known or not. */
enum {
        CG_CTRL_MEMORY  = 1 << 0,
        CG_CTRL_CPU     = 1 << 1,
        CG_CTRL_IO      = 1 << 2,
        CG_CTRL_PIDS    = 1 << 3,
        CG_CTRL_CPUSET  = 1 << 4,
        CG_CTRL_HUGETLB = 1 << 5,
        CG_CTRL_RDMA    = 1 << 6,
        CG_CTRL_MISC    = 1 << 7,
};
int cg_parse_controllers_buf(const char *buf, unsigned *ret_mask);
int cg_read_controllers(const char *root, const char *path, unsigned *ret_mask);
/* Every name, in the kernel's order, as a NULL-terminated strv (empty, not
 * NULL, when there are none). */
int cg_parse_controllers_list_buf(const char *buf, char ***ret);
int cg_read_controllers_list(const char *root, const char *path, char ***ret);

/* "root" + "path" + "/" + "file" (file may be NULL). Returns malloc'd. */
char *cg_path(const char *root, const char *path, const char *file);

/* Whole small file into a NUL-terminated malloc'd buffer. */
int cg_read_file(const char *root, const char *path, const char *file, char **ret);
/* The same for any kernel file by its full path (reads until EOF: procfs
 * and cgroupfs report size 0). */
int cg_read_full(const char *path, char **ret);
/* Write a string (without NUL) to a cgroup file. */
int cg_write_file(const char *root, const char *path, const char *file, const char *value);
/* The same in two steps, for a write that must not allocate: open (fd or
 * -errno), then one write() of value (no logging, no allocation). */
int cg_open_write(const char *root, const char *path, const char *file);
int cg_write_fd(int fd, const char *value);

/* A single u64 value file (memory.current, memory.max...). "max" is UINT64_MAX. */
int cg_parse_u64_buf(const char *buf, uint64_t *ret);
int cg_read_u64(const char *root, const char *path, const char *file, uint64_t *ret);

/* cgroup.procs: pids, one per line. An empty file gives *ret_n = 0 and
 * *ret_pids = NULL. The kernel writes 0 for a process outside the reader's
 * pid namespace: such lines are left out (the cgroup still holds the
 * process, cgroup.events still says populated). -EINVAL/-ERANGE on
 * anything but pids. */
int cg_parse_procs_buf(const char *buf, pid_t **ret_pids, size_t *ret_n);
int cg_read_procs(const char *root, const char *path, pid_t **ret_pids, size_t *ret_n);

/* cgroup.events */
typedef struct CgroupEvents {
        bool populated;
        bool frozen;
} CgroupEvents;
int cg_parse_events_buf(const char *buf, CgroupEvents *ret);
int cg_read_events(const char *root, const char *path, CgroupEvents *ret);

/* memory.events (missing keys are 0) */
typedef struct MemoryEvents {
        uint64_t low, high, max, oom, oom_kill, oom_group_kill;
} MemoryEvents;
int cg_parse_memory_events_buf(const char *buf, MemoryEvents *ret);
int cg_read_memory_events(const char *root, const char *path, MemoryEvents *ret);

/* memory.stat: the keys cgreap reports or weighs as evidence (missing keys
 * are 0). workingset_refault_file is "workingset_refault" before Linux 5.9. */
typedef struct MemoryStat {
        uint64_t anon, file, kernel, shmem, sock;
        uint64_t active_file, inactive_file, slab_reclaimable;
        uint64_t workingset_refault_file;
} MemoryStat;
int cg_parse_memory_stat_buf(const char *buf, MemoryStat *ret);
int cg_read_memory_stat(const char *root, const char *path, MemoryStat *ret);

/* Extended attribute on the cgroup directory: 1 if present (any value, as
 * systemd writes "1"), 0 if absent, <0 on error (vanished). */
int cg_has_xattr(const char *root, const char *path, const char *name);
/* Owner uid of the cgroup directory. */
int cg_get_owner(const char *root, const char *path, uid_t *ret);

/* Whom a cgroup belongs to: its directory's owner and, on root-owned ones
 * only, the xattrs systemd writes (user.oomd_omit, user.oomd_avoid): a
 * delegated cgroup's owner could write them on their own cgroups. Each
 * error is 0 or the negative errno why that part is unknown. */
typedef struct CgroupTrust {
        uid_t owner;
        int owner_error;
        bool omit, avoid;
        int xattr_error;
} CgroupTrust;
void cg_read_trust(const char *root, const char *path, CgroupTrust *ret);

/* Whether a cgroup file exists (e.g. "cgroup.kill"): 1/0, <0 on error. */
int cg_file_exists(const char *root, const char *path, const char *file);

/* Walk the subtree below path (path itself first, then pre-order, children
 * sorted by name for determinism). The callback gets each cgroup path and
 * returns 0 to continue, 1 to skip that cgroup's children, <0 to abort.
 * Directories that vanish during the walk are skipped silently. */
typedef int (*cg_walk_cb)(const char *root, const char *path, void *userdata);
int cg_walk(const char *root, const char *path, cg_walk_cb cb, void *userdata);

/* Child cgroup names of path (sorted). */
int cg_list_children(const char *root, const char *path, char ***ret);

/* The cgroup2 path of a process from "<proc_root>/<pid>/cgroup" ("0::/...").
 * -ESRCH: process gone; -ENODATA: no "0::" line (cgroup v1 only);
 * -ENODEV: its cgroup was removed (the kernel's " (deleted)" mark). */
int cg_parse_proc_cgroup_buf(const char *buf, char **ret_path);
int cg_pid_get_path(const char *proc_root, pid_t pid, char **ret_path);

/* Canonical spelling of a cgroup path: "/" or "/a/b" (leading '/' added,
 * repeated and trailing slashes dropped). Returns malloc'd. */
char *cg_path_normalize(const char *path);

/* Whether path has no "." or ".." component: joined to a root, it stays
 * below that root. Paths from the user (cgreapctl's CGROUP) are checked
 * with it; cg_path_normalize() keeps such components as they are. */
bool cg_path_is_plain(const char *path);

/* Number of components: "/" -> 0, "/a/b" -> 2 (repeated and trailing
 * slashes add none). */
size_t cg_path_depth(const char *path);

/* Last path component ("/system.slice/nginx.service" -> "nginx.service";
 * "/" -> "/"). Returns a pointer into path. */
const char *cg_path_basename(const char *path);
/* Whether "path" is "ancestor" or below it. */
bool cg_path_is_below(const char *path, const char *ancestor);

/* The systemd unit a cgroup path belongs to, for OBJECT_SYSTEMD_UNIT= /
 * OBJECT_SYSTEMD_USER_UNIT=: the deepest unit component (".service",
 * ".scope", ".slice"...) of the leading run of unit names, following
 * systemd's rule that slices nest and the first non-slice unit owns its
 * whole subtree ("/system.slice/nginx.service/worker" -> "nginx.service";
 * "/machine.slice/x.scope/system.slice/y.service" -> "x.scope"). For paths
 * below a user manager
 * ("/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope")
 * the same rule applies below it: the unit is "x.scope" and *ret_user is
 * true; "user@1000.service" itself is a system unit. Returns 0, or -ENXIO
 * when no unit name appears. *ret_unit is malloc'd. */
int cg_path_get_unit(const char *path, char **ret_unit, bool *ret_user);

/* process_level helpers over /proc (proc_root "/proc" or a fake one).
 * A process that is gone gives -ESRCH. */
int proc_read_oom_score_adj(const char *proc_root, pid_t pid, int *ret);
/* Resident set size in bytes (VmRSS from status, or statm * page size). */
int proc_read_rss(const char *proc_root, pid_t pid, uint64_t *ret);
/* <proc_root>/meminfo, in bytes. MemTotal and MemAvailable must be there
 * (-EINVAL otherwise); the others are 0 when missing (no swap). */
typedef struct ProcMeminfo {
        uint64_t total, available;
        uint64_t swap_total, swap_free;
        uint64_t active_file, inactive_file;
} ProcMeminfo;
int proc_parse_meminfo_buf(const char *buf, ProcMeminfo *ret);
int proc_read_meminfo(const char *proc_root, ProcMeminfo *ret);
/* <proc_root>/vmstat: the counters cgreap weighs (missing ones are 0;
 * workingset_refault_file is "workingset_refault" before Linux 5.9). */
typedef struct ProcVmstat {
        uint64_t workingset_refault_file;
        uint64_t oom_kill;
        bool has_oom_kill;              /* false before Linux 4.13 */
} ProcVmstat;
int proc_parse_vmstat_buf(const char *buf, ProcVmstat *ret);
int proc_read_vmstat(const char *proc_root, ProcVmstat *ret);
/* The cgroup2 path of a running program called name (e.g. "cgreapd"): a
 * process whose comm is name, whose real and effective uid are 0, and whose
 * executable is a file called name, so that nobody else's process of that
 * name passes for it (when exe cannot be resolved because the caller is
 * not root, comm and uid decide). Returns 1 and *ret_cgroup (malloc'd), 0
 * when there is none, <0 on error. */
int proc_find_root_program_cgroup(const char *proc_root, const char *name, char **ret_cgroup);
