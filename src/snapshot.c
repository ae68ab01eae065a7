/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* snapshot: one best-effort read of a cgroup subtree and its processes, so
 * that policy can be a pure function. See snapshot.h. Owns the reading
 * order and what counts as "vanished"; never ranks, never kills, never
 * logs above debug. */

#include <assert.h>
#include <time.h>

#include "cgroupfs.h"
#include "cgtree.h"
#include "snapshot.h"

typedef struct Builder {
        const char *cg_root, *proc_root, *top;
        SnapshotFlags flags;
        Snapshot *s;
        size_t alloc;
        bool *events_missing;           /* per node: no cgroup.events file (fake or odd tree) */
        ssize_t *chain;                 /* chain[d]: node index at depth d below top */
        size_t chain_alloc;
        size_t top_depth;
        ssize_t top_parent;             /* last ancestor, -1 when top is "/" */
        char *failed;                   /* the first file that could not be read */
        int failed_error;
        const CgTreeInfo *info;         /* walking the model: what it knows of this cgroup */
} Builder;

/* A file of n could not be read (not because the cgroup vanished): n keeps
 * what was read, is marked, and the walk goes on. The first such file is
 * kept for the caller's message. */
static void mark_unreadable(Builder *b, CgroupNode *n, const char *file, int r) {
        if (n->unreadable)
                return;
        n->unreadable = r;
        if (!b->failed) {
                b->failed = cg_path(b->cg_root, n->path, file);
                b->failed_error = r;
        }
}

static void node_done(CgroupNode *n) {
        free(n->path);
        free(n->pids);
}

static int builder_add(Builder *b, CgroupNode *n) {
        if (b->s->n_nodes == b->alloc) {
                size_t na = b->alloc ? b->alloc * 2 : 32;
                CgroupNode *nn = reallocarray(b->s->nodes, na, sizeof *nn);
                bool *nm;

                if (!nn)
                        return -ENOMEM;
                b->s->nodes = nn;
                nm = reallocarray(b->events_missing, na, sizeof *nm);
                if (!nm)
                        return -ENOMEM;
                b->events_missing = nm;
                b->alloc = na;
        }
        b->events_missing[b->s->n_nodes] = false;
        b->s->nodes[b->s->n_nodes++] = *n;
        *n = (CgroupNode) {};
        return 0;
}

/* The owner, then user.oomd_omit / user.oomd_avoid, which count only on
 * root-owned cgroups: systemd writes them there, while a delegated cgroup's
 * owner could write them on its own cgroups to make itself unkillable.
 * Returns 0 or a vanished errno; other failures mark n. */
static int read_owner_xattrs(Builder *b, CgroupNode *n) {
        CgroupTrust own;
        const CgroupTrust *t = b->info ? &b->info->trust : &own;
        int r;

        if (!b->info)
                cg_read_trust(b->cg_root, n->path, &own);
        r = t->owner_error < 0 ? t->owner_error : t->xattr_error;
        if (ERRNO_IS_VANISHED(r))
                return r;
        if (r < 0)
                mark_unreadable(b, n, NULL, r);
        /* Unknown owner: trusted with nothing. */
        n->owner = t->owner_error < 0 ? (uid_t) -1 : t->owner;
        n->xattr_omit = t->omit;
        n->xattr_avoid = t->avoid;
        return 0;
}

/* Per-process data. A process that exited since cgroup.procs was read is
 * dropped; one whose files cannot be read for another reason stays, without
 * values (the cgroup still holds it). */
static void read_processes(const char *proc_root, CgroupNode *n, bool want_rss) {
        size_t kept = 0;

        for (size_t i = 0; i < n->n_procs; i++) {
                pid_t pid = n->pids[i];
                uint64_t rss = 0;
                int adj, r1, r2 = -ESRCH;

                r1 = proc_read_oom_score_adj(proc_root, pid, &adj);
                /* Gone: left out. (Without RSS wanted, oom_score_adj alone
                 * tells; with it, both must say so.) */
                if (r1 == -ESRCH && !want_rss)
                        continue;
                if (want_rss)
                        r2 = proc_read_rss(proc_root, pid, &rss);
                if (r1 == -ESRCH && r2 == -ESRCH)
                        continue;
                if (r1 >= 0) {
                        if (!n->has_oom_score_adj || adj < n->min_oom_score_adj)
                                n->min_oom_score_adj = adj;
                        n->has_oom_score_adj = true;
                }
                if (want_rss && r2 >= 0)
                        n->rss_sum = rss > UINT64_MAX - n->rss_sum ? UINT64_MAX : n->rss_sum + rss;
                n->pids[kept++] = pid;
        }
        n->n_procs = kept;
}

/* Fill a subtree node. Returns 0, or -ENOENT/-ENODEV if the cgroup vanished
 * (the caller leaves it out); a file that cannot be read for another reason
 * marks the node (mark_unreadable()) and the rest is read. *ret_events_missing
 * is set when there is no readable cgroup.events; *ret_empty when
 * cgroup.events says nothing runs at or below it: then nothing else is read
 * (neither its files nor its children, which a user may create by the
 * thousand). */
static int read_node(Builder *b, CgroupNode *n, bool *ret_events_missing, bool *ret_empty) {
        CgroupEvents ev;
        int r;

        r = read_owner_xattrs(b, n);
        if (r < 0)
                return r;

        /* The model's word, kept by inotify, saves a read of each cgroup. */
        if (b->info && b->info->populated >= 0) {
                r = 0;
                ev.populated = b->info->populated;
        } else
                r = cg_read_events(b->cg_root, n->path, &ev);
        if (r >= 0 && !ev.populated) {
                *ret_empty = true;
                return 0;
        }
        if (r >= 0)
                n->populated = true;
        else {
                /* Gone (cgroup.procs tells below), a tree without
                 * cgroup.events (kernels before 4.5, hand-made fixtures), or
                 * unreadable: populated then follows the processes. */
                *ret_events_missing = true;
                if (!ERRNO_IS_VANISHED(r))
                        mark_unreadable(b, n, "cgroup.events", r);
        }

        /* Every cgroup2 directory has cgroup.procs, the root included: a
         * directory without it is a cgroup that was removed after its
         * parent was listed (or no cgroup at all). A threaded cgroup's
         * fails with EOPNOTSUPP. */
        r = cg_read_procs(b->cg_root, n->path, &n->pids, &n->n_procs);
        if (ERRNO_IS_VANISHED(r))
                return r;
        if (r < 0)
                mark_unreadable(b, n, "cgroup.procs", r);
        if (*ret_events_missing)
                n->populated = n->n_procs > 0;
        /* A slice, whose processes are all below it: its own footprint
         * ranks nothing, so its memory files are left unread. */
        if (b->info && b->info->inner && n->n_procs == 0) {
                /* Populated as its children turn out to be: if they all
                 * vanished meanwhile, it is not an empty "leaf" to rank. */
                n->populated = false;
                *ret_events_missing = true;
                return 0;
        }
        /* The root is never a victim, and its processes are the kernel's
         * threads: reading each one's /proc files was most of a decision. */
        if (streq(n->path, "/") && !(b->flags & SNAPSHOT_RSS))
                return 0;
        /* A leaf emptied since the model heard of it (the kernel tells from
         * a work queue): only a fresh cgroup.events may call it populated. */
        if (r >= 0 && n->n_procs == 0 && b->info && b->info->populated > 0 &&
            cg_read_events(b->cg_root, n->path, &ev) >= 0)
                n->populated = ev.populated;

        r = cg_read_u64(b->cg_root, n->path, "memory.current", &n->memory_current);
        if (r >= 0) {
                n->has_memory = true;
                r = cg_read_u64(b->cg_root, n->path, "memory.swap.current", &n->swap_current);
                if (r == -ENOENT)       /* no swap accounting */
                        n->swap_current = 0;
                else if (r < 0)
                        mark_unreadable(b, n, "memory.swap.current", r);
        } else if (r != -ENOENT)        /* ENOENT: no memory controller here */
                mark_unreadable(b, n, "memory.current", r);

        read_processes(b->proc_root, n, !n->has_memory || (b->flags & SNAPSHOT_RSS));
        return 0;
}

static int chain_set(Builder *b, size_t depth, ssize_t idx) {
        if (depth >= b->chain_alloc) {
                size_t na = MAX(depth + 1, b->chain_alloc * 2);
                ssize_t *nc = reallocarray(b->chain, na, sizeof *nc);

                if (!nc)
                        return -ENOMEM;
                b->chain = nc;
                b->chain_alloc = na;
        }
        b->chain[depth] = idx;
        return 0;
}

static int walk_cb(const char *root, const char *path, void *userdata) {
        Builder *b = userdata;
        CgroupNode n = {};
        bool events_missing = false, empty = false;
        size_t depth = cg_path_depth(path) - b->top_depth;
        ssize_t parent = depth == 0 ? b->top_parent : b->chain[depth - 1];
        int r;

        n.path = strdup(path);
        if (!n.path)
                return -ENOMEM;
        n.parent = parent;
        r = read_node(b, &n, &events_missing, &empty);
        if (r < 0) {
                node_done(&n);
                /* Vanished: leave it out, and its children with it. */
                return 1;
        }
        if (n.unreadable)
                b->s->n_unreadable++;
        r = builder_add(b, &n);
        if (r < 0) {
                node_done(&n);
                return r;
        }
        b->events_missing[b->s->n_nodes - 1] = events_missing;
        if (parent >= 0)
                b->s->nodes[parent].has_children = true;
        r = chain_set(b, depth, (ssize_t) b->s->n_nodes - 1);
        return r < 0 ? r : empty;
}

static int walk_tree_cb(const char *root, const char *path, const CgTreeInfo *info, void *userdata) {
        Builder *b = userdata;
        int r;

        b->info = info;
        r = walk_cb(root, path, userdata);
        b->info = NULL;
        return r;
}

static int add_ancestor(Builder *b, const char *path, size_t len) {
        CgroupNode n = {
                .parent = b->s->n_nodes > 0 ? (ssize_t) b->s->n_nodes - 1 : -1,
                .is_ancestor = true,
                .has_children = true,
        };
        int r;

        n.path = strndup(path, len);
        if (!n.path)
                return -ENOMEM;
        r = read_owner_xattrs(b, &n);
        if (r >= 0 && n.unreadable)
                b->s->n_unreadable++;
        if (r >= 0)
                r = builder_add(b, &n);
        if (r < 0)
                node_done(&n);
        return r;
}

/* "/", "/a", "/a/b" for top "/a/b/c": paths, parent links and xattrs, so
 * that rules and xattrs on ancestors are inherited. */
static int add_ancestors(Builder *b) {
        int r;

        b->top_parent = -1;
        if (streq(b->top, "/"))
                return 0;
        r = add_ancestor(b, "/", 1);
        if (r < 0)
                return r;
        for (const char *p = strchr(b->top + 1, '/'); p; p = strchr(p + 1, '/')) {
                r = add_ancestor(b, b->top, (size_t) (p - b->top));
                if (r < 0)
                        return r;
        }
        b->top_parent = (ssize_t) b->s->n_nodes - 1;
        return 0;
}

/* The cgroups of snapshot_build_some(). */
typedef struct Some {
        CgTreeNode *const *nodes;
        size_t n;
} Some;

/* top, then each of some's nodes with the cgroups between top and it, in
 * the order a walk meets them; below one that walk_cb() leaves out
 * (vanished, empty), nothing. */
static int walk_some(Builder *b, CgTree *tree, const Some *some) {
        /* Per depth below top: the node of the current chain, the one
         * read there last, and whether walk_cb() left that one out. */
        struct { CgTreeNode *chain, *added; bool cut; } *at = NULL;
        size_t alloc = 0, n_added = 0;
        CgTreeNode *top = cgtree_find(tree, b->top);
        int r = 0;

        if (!top)
                return -ENOENT;
        /* top first, so that it is there even when no node is. */
        for (size_t i = 0; i <= some->n && r >= 0; i++) {
                size_t k = 0;

                /* at[0].chain is the node, at[k - 1].chain top. */
                for (CgTreeNode *y = i == 0 ? top : some->nodes[i - 1];; y = cgtree_node_parent(tree, y)) {
                        assert(y);      /* every node is at or below top */
                        if (k == alloc) {
                                size_t na = MAX((size_t) 8, alloc * 2);
                                void *nat = reallocarray(at, na, sizeof *at);

                                if (!nat) {
                                        free(at);
                                        return -ENOMEM;
                                }
                                at = nat;
                                alloc = na;
                        }
                        at[k++].chain = y;
                        if (y == top)
                                break;
                }
                for (size_t d = 0; d < k; d++) {
                        CgTreeNode *y = at[k - 1 - d].chain;
                        CgTreeInfo info;
                        char *path;

                        if (d < n_added && at[d].added == y) {
                                if (at[d].cut)
                                        break;
                                continue;
                        }
                        path = cgtree_node_path(tree, y);
                        if (!path) {
                                r = -ENOMEM;
                                break;
                        }
                        cgtree_node_info(tree, y, &info);
                        size_t before = b->s->n_nodes;
                        b->info = &info;
                        r = walk_cb(b->cg_root, path, b);
                        b->info = NULL;
                        free(path);
                        if (r < 0)
                                break;
                        /* Its children may all be left out here, yet it is
                         * no leaf (a candidate without processes). */
                        if (b->s->n_nodes > before && info.inner)
                                b->s->nodes[before].has_children = true;
                        at[d].added = y;
                        at[d].cut = r > 0;
                        n_added = d + 1;
                        if (at[d].cut)
                                break;
                }
        }
        free(at);
        return r < 0 ? r : 0;
}

static int build(CgTree *tree, const Some *some, const char *cg_root, const char *proc_root, const char *top,
                 SnapshotFlags flags, Snapshot **ret, char **ret_failed) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_free_ char *norm = NULL, *failed = NULL;
        _cleanup_free_ bool *events_missing = NULL;
        _cleanup_free_ ssize_t *chain = NULL;
        Builder b = {};
        struct timespec ts;
        size_t first;
        int r;

        if (ret_failed)
                *ret_failed = NULL;
        /* "." and ".." would lead outside the tree below cg_root. */
        if (!cg_path_is_plain(top))
                return -EINVAL;
        /* "/" or "/a/b": the same spelling the walk hands out. */
        norm = cg_path_normalize(top);
        if (!norm)
                return -ENOMEM;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        b = (Builder) {
                .cg_root = cg_root,
                .proc_root = proc_root,
                .flags = flags,
                .top = norm,
                .s = s,
                .top_depth = cg_path_depth(norm),
        };

        r = add_ancestors(&b);
        first = s->n_nodes;
        if (r >= 0)
                r = some ? walk_some(&b, tree, some)
                    : tree ? cgtree_walk(tree, norm, walk_tree_cb, &b) : cg_walk(cg_root, norm, walk_cb, &b);
        events_missing = b.events_missing;
        chain = b.chain;
        failed = b.failed;
        if (r < 0) {
                if (ret_failed && !ERRNO_IS_VANISHED(r))
                        *ret_failed = TAKE_PTR(failed);
                return r;
        }
        /* The top itself vanished while being read. */
        if (s->n_nodes == first)
                return -ENOENT;

        /* Without cgroup.events, "populated" still means "processes at or
         * below": children come after their parent, so walking backwards
         * carries it up in one pass. */
        for (size_t i = s->n_nodes; i-- > first; ) {
                ssize_t p = s->nodes[i].parent;

                if (s->nodes[i].populated && p >= (ssize_t) first && events_missing[p])
                        s->nodes[p].populated = true;
        }

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return -errno;
        s->timestamp = (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
        s->first_unreadable = TAKE_PTR(failed);
        s->first_unreadable_error = b.failed_error;
        *ret = TAKE_PTR(s);
        return 0;
}

int snapshot_build(const char *cg_root, const char *proc_root, const char *top, Snapshot **ret) {
        return build(NULL, NULL, cg_root, proc_root, top, 0, ret, NULL);
}

int snapshot_build_full(const char *cg_root, const char *proc_root, const char *top, SnapshotFlags flags,
                        Snapshot **ret, char **ret_failed) {
        return build(NULL, NULL, cg_root, proc_root, top, flags, ret, ret_failed);
}

int snapshot_build_tree(CgTree *tree, const char *cg_root, const char *proc_root, const char *top,
                        Snapshot **ret) {
        return build(tree, NULL, cg_root, proc_root, top, 0, ret, NULL);
}

int snapshot_build_some(CgTree *tree, const char *cg_root, const char *proc_root, const char *top,
                        CgTreeNode *const *nodes, size_t n, Snapshot **ret) {
        Some some = { .nodes = nodes, .n = n };

        return build(tree, &some, cg_root, proc_root, top, 0, ret, NULL);
}

uint64_t cgroup_node_footprint(const CgroupNode *n) {
        if (!n->has_memory)
                return n->rss_sum;
        if (n->swap_current > UINT64_MAX - n->memory_current)
                return UINT64_MAX;
        return n->memory_current + n->swap_current;
}

ssize_t snapshot_find(const Snapshot *s, const char *path) {
        if (!s)
                return -1;
        for (size_t i = 0; i < s->n_nodes; i++)
                if (streq(s->nodes[i].path, path))
                        return (ssize_t) i;
        return -1;
}

Snapshot *snapshot_free(Snapshot *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_nodes; i++)
                node_done(&s->nodes[i]);
        free(s->nodes);
        free(s->first_unreadable);
        free(s);
        return NULL;
}
