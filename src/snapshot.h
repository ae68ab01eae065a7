/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* snapshot: one read of a cgroup subtree and its processes, taken with
 * cgroupfs and /proc, so that policy can decide as a pure function. Reading
 * is best effort: a cgroup or process that vanishes mid-read is left out. */

#include <sys/types.h>
#include "macro.h"

typedef struct CgroupNode {
        char *path;             /* relative to the cgroup2 root, leading '/' */
        ssize_t parent;         /* index into Snapshot.nodes, -1 for the first node ("/") */
        bool is_ancestor;       /* above the requested top: only path, parent, has_children
                                 * and the xattrs are filled in */
        bool populated;         /* cgroup.events populated 1 (has procs below) */
        bool has_children;      /* has child cgroups */
        size_t n_procs;         /* processes directly in this cgroup */
        pid_t *pids;            /* those processes */

        bool has_memory;        /* memory.current was readable */
        uint64_t memory_current;
        uint64_t swap_current;
        uint64_t rss_sum;       /* sum of the processes' RSS: read only without the memory
                                 * controller, or with SNAPSHOT_RSS */

        bool has_oom_score_adj; /* at least one process readable */
        int min_oom_score_adj;  /* minimum over the processes */

        bool xattr_omit;        /* user.oomd_omit present AND directory owned by root */
        bool xattr_avoid;       /* user.oomd_avoid present AND directory owned by root */

        uid_t owner;            /* of the cgroup directory: one not owned like "/" is delegated */
        int unreadable;         /* 0, or the negative errno of a file of this cgroup that could
                                 * not be read: the node holds what could be read before it */
} CgroupNode;

typedef struct Snapshot {
        CgroupNode *nodes;      /* pre-order: a parent comes before its children */
        size_t n_nodes;
        usec_t timestamp;       /* CLOCK_MONOTONIC at the end of the read */
        size_t n_unreadable;    /* nodes with unreadable set */
        char *first_unreadable; /* the full path of the first file that could not be read */
        int first_unreadable_error; /* and why (negative errno) */
} Snapshot;

typedef enum SnapshotFlags {
        /* Read every process's RSS also where memory.current is there (for
         * cgreapctl's output). Without it, /proc/PID/status, the costliest
         * per-process read, is left out where the memory controller gives
         * the footprint: a decision under pressure reads less. */
        SNAPSHOT_RSS = 1 << 0,
} SnapshotFlags;

/* Read the subtree below "top" (e.g. "/" or "/user.slice"). The ancestors of
 * top are included too (with parent links), without process data, so that
 * rule inheritance, xattrs and owners on ancestors work: nodes[0] is always "/".
 *
 * Best effort: a cgroup that vanishes while it is read (its cgroup.procs is
 * gone: every cgroup2 directory has one, so fake trees must write it) is
 * left out with its subtree; a process that exited is left out of pids. A
 * cgroup whose cgroup.events says "populated 0" is kept with its path and
 * owner only: nothing else of it or below it is read. A file that cannot be
 * read for another reason (EOPNOTSUPP from a threaded cgroup's cgroup.procs,
 * EACCES, EISDIR, ENOMEM...) marks its node unreadable (n_unreadable,
 * first_unreadable) and the walk goes on: the caller decides from the rest
 * and says so. Without cgroup.events, populated means "processes at or
 * below". Without memory.current, has_memory is false. Returns 0, -ENOENT
 * when top itself does not exist (or vanished), -ENOMEM, or the errno of a
 * directory that could not be listed. */
int snapshot_build(const char *cg_root, const char *proc_root, const char *top, Snapshot **ret);
/* The same with flags; when it fails because a directory could not be read, *ret_failed
 * (if not NULL) is that file's full path (malloc'd; NULL when the failure
 * was not a file's, e.g. -ENOMEM), for messages that name it. A top with a
 * "." or ".." component is -EINVAL: it would leave the tree. */
int snapshot_build_full(const char *cg_root, const char *proc_root, const char *top, SnapshotFlags flags,
                        Snapshot **ret, char **ret_failed);
/* The same walk over the daemon's model of the tree (cgtree.h), which
 * neither lists directories nor visits the cgroups it knows to be empty.
 * The caller brings the model up to date first (cgtree_process()). */
typedef struct CgTree CgTree;
int snapshot_build_tree(CgTree *tree, const char *cg_root, const char *proc_root, const char *top,
                        Snapshot **ret);
/* Like snapshot_build_tree(), but of the cgroups below top only nodes (at
 * or below top, in the order cgtree_visit() meets them) and those between
 * top and each of them: a decision that knows which cgroups can matter
 * (rank.h) reads those alone. */
typedef struct CgTreeNode CgTreeNode;
int snapshot_build_some(CgTree *tree, const char *cg_root, const char *proc_root, const char *top,
                        CgTreeNode *const *nodes, size_t n, Snapshot **ret);

/* Footprint used for ranking: memory.current + swap when the memory
 * controller is there, else the RSS sum. */
uint64_t cgroup_node_footprint(const CgroupNode *n);

ssize_t snapshot_find(const Snapshot *s, const char *path);

Snapshot *snapshot_free(Snapshot *s);
static inline void snapshot_freep(Snapshot **s) { *s = snapshot_free(*s); }
#define _cleanup_snapshot_free_ _cleanup_(snapshot_freep)
