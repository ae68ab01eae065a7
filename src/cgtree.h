/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cgtree: the daemon's standing model of the cgroup tree: which cgroups
 * exist and which are populated, kept current by inotify: one watch on each
 * cgroup directory for new children, removal, owner, xattrs and changes of
 * its cgroup.events, which an O_PATH fd keeps in the inode cache while
 * the cgroup is empty. A decision walks the model instead of listing every
 * directory, and never visits a cgroup the model knows to be empty, so the
 * cgroups a user creates by the thousand and leaves empty cost it nothing.
 *
 * The model is best effort and says when it cannot be trusted: after an
 * inotify queue overflow it must be rebuilt (cgtree_process() returns
 * -EOVERFLOW), and when the kernel refuses a watch (fs.inotify.
 * max_user_watches) or a file descriptor it is given up (-ENOSPC,
 * -EMFILE): callers then walk the tree as before. Never logs above debug. */

#include "cgroupfs.h"

typedef struct CgTree CgTree;
typedef struct CgTreeNode CgTreeNode;

/* Watch and read the whole tree below the cgroup2 mount (or fake tree) root. */
int cgtree_new(const char *cg_root, CgTree **ret);
CgTree *cgtree_free(CgTree *t);
static inline void cgtree_freep(CgTree **t) { *t = cgtree_free(*t); }
#define _cleanup_cgtree_free_ _cleanup_(cgtree_freep)

/* The inotify fd, for the event loop (EPOLLIN). */
int cgtree_fd(const CgTree *t);

/* Apply every queued event, without blocking. Returns 0; -EOVERFLOW when
 * events were lost (rebuild with cgtree_new()); -ENOSPC when a new cgroup
 * could not be watched; -EMFILE when an empty one could not be pinned;
 * -ENOMEM. After an error the model must not be used. */
int cgtree_process(CgTree *t);

/* What the model knows of a cgroup besides its place: its directory's
 * owner and, on root-owned ones, systemd's xattrs (kept by IN_ATTRIB), and
 * whether it is populated. */
typedef struct CgTreeInfo {
        CgroupTrust trust;
        int8_t populated;       /* 1, 0, -1: unknown (no readable cgroup.events; in a
                                 * walk also: emptied too recently to be sure) */
        bool inner;             /* has a child not known to be empty (set by cgtree_walk()) */
} CgTreeInfo;

/* A consumer's word on a cgroup, kept with it between decisions: rank.c
 * keeps the part of its adj that its processes do not decide. Zeroed when
 * the cgroup appears and when it or an ancestor changes owner or xattrs;
 * the consumer tells its own results apart by gen (0: none). */
typedef struct CgTreeMemo {
        uint16_t gen;
        int16_t adj : 15;               /* ADJ_MIN..ADJ_MAX */
        uint16_t by_processes : 1;
} CgTreeMemo;

/* Forget every memo: for a consumer whose gen wrapped. */
void cgtree_forget_memos(CgTree *t);

/* Like cgtree_walk(), without paths: first the ancestors of path, root
 * first (ancestor set; their other children are not visited), then path
 * and every cgroup below it that the model does not know to be empty.
 * depth: 0 for the root. The callback returns 1 to skip the children, <0
 * to stop. -ENOENT when path is not in the model. */
typedef int (*cgtree_visit_cb)(CgTreeNode *n, unsigned depth, bool ancestor, const CgTreeInfo *info,
                               CgTreeMemo *memo, void *userdata);
int cgtree_visit(CgTree *t, const char *path, cgtree_visit_cb cb, void *userdata);

/* A node's parent (NULL for the root), its path (malloc'd; NULL: ENOMEM) and
 * what a walk reports of it now. Valid until the next cgtree_process(). */
CgTreeNode *cgtree_node_parent(const CgTree *t, const CgTreeNode *n);
char *cgtree_node_path(const CgTree *t, const CgTreeNode *n);
/* Its directory's name, written to buf (CGTREE_NAME_MAX bytes): the model
 * keeps names in a short form, so a visit does not hand them out. */
#define CGTREE_NAME_MAX (NAME_MAX + 1)
const char *cgtree_node_name(const CgTree *t, const CgTreeNode *n, char *buf);
void cgtree_node_info(const CgTree *t, const CgTreeNode *n, CgTreeInfo *ret);
/* The node of path, or NULL. */
CgTreeNode *cgtree_find(const CgTree *t, const char *path);

/* Like cg_walk() (pre-order, the callback returns 1 to skip the children),
 * over the model: path itself first, then every cgroup below it that the
 * model does not know to be empty. Children come in the order they were
 * seen, not sorted. -ENOENT when path is not in the model. */
typedef int (*cgtree_walk_cb)(const char *root, const char *path, const CgTreeInfo *info, void *userdata);
int cgtree_walk(CgTree *t, const char *path, cgtree_walk_cb cb, void *userdata);

/* Cgroups in the model, and of those known to be empty (for tests and the
 * daemon's debug output). */
void cgtree_count(const CgTree *t, size_t *ret_nodes, size_t *ret_empty);
