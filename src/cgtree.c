/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgtree: the cgroup tree as the daemon keeps it between decisions. See
 * cgtree.h. */

#include <assert.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "cgtree.h"

typedef struct CgTreeNode TNode;
struct CgTreeNode {
        TNode *parent, *child, *next, *prev;    /* first child; siblings */
        int dir_wd;
        int pin;                                /* O_PATH fd of its cgroup.events while empty */
        usec_t empty_since;                     /* when populated last went to 0 */
        CgTreeInfo info;
        CgTreeMemo memo;
        char name[];
};

typedef struct WdSlot {
        int wd;                 /* 0: free (the kernel's wds start at 1) */
        TNode *node;
} WdSlot;

struct CgTree {
        char *cg_root;
        int fd;
        TNode *root;
        WdSlot *slots;          /* wd -> node, open addressing */
        size_t cap, n_slots;            /* n_slots: the watches we hold, one per cgroup */
        size_t max_watches;             /* 0: no limit of ours */
        size_t n_nodes;
};

/* The kernel tells cgroup.events changes at most every 10 ms per file, from
 * a timer: a cgroup emptied less than this ago may be populated again
 * without the model knowing yet, and is read, not skipped. */
#define EMPTY_SETTLE_USEC (50 * USEC_PER_MSEC)

/* IN_MODIFY: the kernel's changes of a child file, cgroup.events among
 * them, reach the directory's watch while that file's inode is cached
 * (update_populated()). */
#define DIR_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_ATTRIB | \
                  IN_MODIFY | IN_ONLYDIR | IN_DONT_FOLLOW)

/* ---- wd -> node ---- */

static size_t wd_hash(const CgTree *t, int wd) {
        return ((uint32_t) wd * 2654435761u) & (t->cap - 1);
}

static TNode *wd_get(const CgTree *t, int wd) {
        if (wd <= 0 || t->cap == 0)
                return NULL;
        for (size_t i = wd_hash(t, wd); t->slots[i].wd; i = (i + 1) & (t->cap - 1))
                if (t->slots[i].wd == wd)
                        return t->slots[i].node;
        return NULL;
}

static int wd_put(CgTree *t, int wd, TNode *node) {
        assert(wd > 0);
        if (2 * (t->n_slots + 1) > t->cap) {
                size_t ncap = t->cap ? t->cap * 2 : 256;
                WdSlot *old = t->slots;
                size_t ocap = t->cap;

                t->slots = calloc(ncap, sizeof *t->slots);
                if (!t->slots) {
                        t->slots = old;
                        return -ENOMEM;
                }
                t->cap = ncap;
                t->n_slots = 0;
                for (size_t i = 0; i < ocap; i++)
                        if (old[i].wd)
                                (void) wd_put(t, old[i].wd, old[i].node);
                free(old);
        }
        size_t i = wd_hash(t, wd);
        while (t->slots[i].wd && t->slots[i].wd != wd)
                i = (i + 1) & (t->cap - 1);
        if (!t->slots[i].wd)
                t->n_slots++;
        t->slots[i] = (WdSlot) { wd, node };
        return 0;
}

static void wd_del(CgTree *t, int wd) {
        size_t i, j, k;

        if (wd <= 0 || t->cap == 0)
                return;
        for (i = wd_hash(t, wd); t->slots[i].wd != wd; i = (i + 1) & (t->cap - 1))
                if (!t->slots[i].wd)
                        return;
        t->slots[i].wd = 0;
        t->n_slots--;
        /* Linear probing without tombstones: move later entries of the
         * same run back into the hole when their home slot allows it. */
        for (j = (i + 1) & (t->cap - 1); t->slots[j].wd; j = (j + 1) & (t->cap - 1)) {
                k = wd_hash(t, t->slots[j].wd);
                if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                        continue;
                t->slots[i] = t->slots[j];
                t->slots[j].wd = 0;
                i = j;
        }
}

/* ---- nodes ---- */

/* The node's path below the root ("/" for the root). malloc'd. */
static char *node_path(const TNode *n) {
        size_t len = 0;
        char *s, *p;

        for (const TNode *i = n; i->parent; i = i->parent)
                len += strlen(i->name) + 1;
        s = malloc(len + 2);
        if (!s)
                return NULL;
        p = s + len;
        *p = '\0';
        for (const TNode *i = n; i->parent; i = i->parent) {
                size_t l = strlen(i->name);

                p -= l;
                memcpy(p, i->name, l);
                *--p = '/';
        }
        if (len == 0)
                strcpy(s, "/");
        return s;
}

static void read_populated(CgTree *t, TNode *n, const char *path) {
        CgroupEvents ev;

        int8_t was = n->info.populated;

        n->info.populated = cg_read_events(t->cg_root, path, &ev) >= 0 ? ev.populated : -1;
        if (n->info.populated == 0 && was == 1)
                n->empty_since = now_usec();
}

/* Read cgroup.events of n, with its inode pinned while n is empty: the
 * change to populated must reach the directory's watch (a missed one
 * would hide a candidate), the change back only saves reads. Out of fds:
 * -EMFILE, the model cannot be kept. */
static int update_populated(CgTree *t, TNode *n, const char *path) {
        read_populated(t, n, path);
        if (n->info.populated == 0 && n->pin < 0) {
                _cleanup_free_ char *p = cg_path(t->cg_root, path, "cgroup.events");

                if (!p)
                        return -ENOMEM;
                n->pin = open(p, O_PATH | O_CLOEXEC | O_NOFOLLOW);
                if (n->pin < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
                        return -errno;
                /* Changed before the pin: read again. */
                read_populated(t, n, path);
        }
        if (n->info.populated != 0)
                n->pin = safe_close(n->pin);
        return 0;
}

/* What the consumer knew of n and below depends on n's owner and xattrs. */
static void memo_clear(TNode *n) {
        n->memo = (CgTreeMemo) {};
        for (TNode *c = n->child; c; c = c->next)
                memo_clear(c);
}

static void node_unlink(CgTree *t, TNode *n) {
        while (n->child)
                node_unlink(t, n->child);
        wd_del(t, n->dir_wd);
        safe_close(n->pin);
        if (n->parent) {
                if (n->prev)
                        n->prev->next = n->next;
                else
                        n->parent->child = n->next;
                if (n->next)
                        n->next->prev = n->prev;
        }
        t->n_nodes--;
        free(n);
}

/* Add the cgroup "name" below parent (NULL: the root) with everything below
 * it: watch first, then list, so that a child made meanwhile is seen either
 * way. One already in the model (its directory's wd is known) is left as
 * it is. A cgroup that vanished is left out. */
static int node_add(CgTree *t, TNode *parent, const char *name, const char *path) {
        _cleanup_free_ char *dir = cg_path(t->cg_root, path, NULL);
        _cleanup_strv_free_ char **children = NULL;
        TNode *n;
        int wd, r;

        if (!dir)
                return -ENOMEM;
        /* Root's watches are shared with every root service, and a user
         * makes as many cgroups as they like: the model takes 3/4 at most. */
        if (t->max_watches > 0 && t->n_slots + 1 > t->max_watches)
                return -ENOSPC;
        wd = inotify_add_watch(t->fd, dir, DIR_MASK);
        if (wd < 0)
                return ERRNO_IS_VANISHED(-errno) || errno == ENOTDIR ? 0 : -errno;
        if (wd_get(t, wd))
                return 0;

        n = calloc(1, sizeof *n + strlen(name) + 1);
        if (!n)
                return -ENOMEM;
        strcpy(n->name, name);
        n->dir_wd = wd;
        n->pin = -EBADF;
        n->parent = parent;
        if (parent) {
                n->next = parent->child;
                if (n->next)
                        n->next->prev = n;
                parent->child = n;
        } else
                t->root = n;
        t->n_nodes++;
        r = wd_put(t, wd, n);
        if (r < 0)
                return r;
        cg_read_trust(t->cg_root, path, &n->info.trust);
        r = update_populated(t, n, path);
        if (r < 0)
                return r;

        r = cg_list_children(t->cg_root, path, &children);
        if (r < 0)
                return ERRNO_IS_VANISHED(r) ? 0 : r;
        for (char **c = children; *c; c++) {
                _cleanup_free_ char *cp = NULL;

                if (asprintf(&cp, "%s/%s", streq(path, "/") ? "" : path, *c) < 0)
                        return -ENOMEM;
                r = node_add(t, n, *c, cp);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgtree_new(const char *cg_root, CgTree **ret) {
        _cleanup_cgtree_free_ CgTree *t = NULL;
        int r;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->fd = -EBADF;
        t->cg_root = strdup(cg_root);
        if (!t->cg_root)
                return -ENOMEM;
        t->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (t->fd < 0)
                return -errno;
        _cleanup_free_ char *max = NULL;
        uint64_t v;
        if (cg_read_full("/proc/sys/fs/inotify/max_user_watches", &max) >= 0 &&
            cg_parse_u64_buf(max, &v) >= 0)
                t->max_watches = (size_t) MIN(v - v / 4, (uint64_t) SIZE_MAX);
        r = node_add(t, NULL, "", "/");
        if (r < 0)
                return r;
        if (!t->root)
                return -ENOENT;
        *ret = TAKE_PTR(t);
        return 0;
}

CgTree *cgtree_free(CgTree *t) {
        if (!t)
                return NULL;
        safe_close(t->fd);
        t->fd = -EBADF;         /* closing dropped every watch */
        if (t->root)
                node_unlink(t, t->root);
        free(t->slots);
        free(t->cg_root);
        free(t);
        return NULL;
}

int cgtree_fd(const CgTree *t) {
        return t->fd;
}

static int handle_event(CgTree *t, const struct inotify_event *ev) {
        TNode *n;
        _cleanup_free_ char *path = NULL;

        if (ev->mask & IN_Q_OVERFLOW)
                return -EOVERFLOW;
        n = wd_get(t, ev->wd);
        if (!n)
                return 0;       /* a watch already dropped */

        if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) {
                if (n == t->root)
                        return -ENOENT;
                node_unlink(t, n);
                return 0;
        }
        if (ev->len == 0) {
                if (!(ev->mask & IN_ATTRIB))
                        return 0;
                path = node_path(n);
                if (!path)
                        return -ENOMEM;
                cg_read_trust(t->cg_root, path, &n->info.trust);
                memo_clear(n);
                return 0;
        }
        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
                /* The child's own IN_DELETE_SELF may come only when its
                 * last dentry goes: drop it now. (cgroupfs refuses renames;
                 * a fake tree's renamed directory comes back by IN_MOVED_TO.) */
                for (TNode *c = n->child; c; c = c->next)
                        if (streq(c->name, ev->name)) {
                                node_unlink(t, c);
                                break;
                        }
                return 0;
        }
        if (!(ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MODIFY)) ||
            (!(ev->mask & IN_ISDIR) && !streq(ev->name, "cgroup.events")))
                return 0;

        path = node_path(n);
        if (!path)
                return -ENOMEM;
        if (ev->mask & IN_MODIFY)
                return update_populated(t, n, path);
        if (ev->mask & IN_ISDIR) {
                _cleanup_free_ char *cp = NULL;

                if (asprintf(&cp, "%s/%s", n == t->root ? "" : path, ev->name) < 0)
                        return -ENOMEM;
                return node_add(t, n, ev->name, cp);
        }
        /* A fake tree's file replaced by a rename: pin the new one. */
        n->pin = safe_close(n->pin);
        return update_populated(t, n, path);
}

int cgtree_process(CgTree *t) {
        _Alignas(struct inotify_event) char buf[16384];

        for (;;) {
                ssize_t l = read(t->fd, buf, sizeof buf);

                if (l < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                for (char *p = buf; p < buf + l; ) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        int r = handle_event(t, ev);

                        if (r < 0)
                                return r;
                        p += sizeof *ev + ev->len;
                }
        }
}

static TNode *find_node(const CgTree *t, const char *path) {
        TNode *n = t->root;

        for (const char *p = path; n && *p; ) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                for (n = n->child; n; n = n->next)
                        if (strlen(n->name) == len && strncmp(n->name, p, len) == 0)
                                break;
                p += len;
        }
        return n;
}

/* Whether a walk leaves c out: known empty, and long enough. */
static bool skip_empty(const TNode *c, usec_t now) {
        return c->info.populated == 0 && now - MIN(c->empty_since, now) >= EMPTY_SETTLE_USEC;
}

/* What a walk reports of n at now. */
static void node_info(const TNode *n, usec_t now, CgTreeInfo *ret) {
        *ret = n->info;
        ret->inner = false;
        for (TNode *c = n->child; c && !ret->inner; c = c->next)
                ret->inner = !skip_empty(c, now);
        /* Emptied a moment ago: the callback reads cgroup.events itself. */
        if (ret->populated == 0 && !skip_empty(n, now))
                ret->populated = -1;
}

static int visit_node(TNode *n, unsigned depth, usec_t now, cgtree_visit_cb cb, void *userdata) {
        CgTreeInfo info;
        int r;

        node_info(n, now, &info);
        r = cb(n, n->name, depth, false, &info, &n->memo, userdata);
        if (r != 0)
                return r < 0 ? r : 0;
        for (TNode *c = n->child; c; c = c->next) {
                if (skip_empty(c, now))
                        continue;
                r = visit_node(c, depth + 1, now, cb, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int visit_ancestors(TNode *n, unsigned *depth, usec_t now, cgtree_visit_cb cb, void *userdata) {
        CgTreeInfo info;
        int r;

        if (!n)
                return 0;
        r = visit_ancestors(n->parent, depth, now, cb, userdata);
        if (r < 0)
                return r;
        node_info(n, now, &info);
        r = cb(n, n->name, (*depth)++, true, &info, &n->memo, userdata);
        return r < 0 ? r : 0;
}

int cgtree_visit(CgTree *t, const char *path, cgtree_visit_cb cb, void *userdata) {
        _cleanup_free_ char *norm = cg_path_normalize(path);
        usec_t now = now_usec();
        unsigned depth = 0;
        TNode *n;
        int r;

        if (!norm)
                return -ENOMEM;
        n = find_node(t, norm);
        if (!n)
                return -ENOENT;
        r = visit_ancestors(n->parent, &depth, now, cb, userdata);
        if (r < 0)
                return r;
        return visit_node(n, depth, now, cb, userdata);
}

CgTreeNode *cgtree_node_parent(const CgTreeNode *n) {
        return n->parent;
}

char *cgtree_node_path(const CgTreeNode *n) {
        return node_path(n);
}

void cgtree_node_info(const CgTreeNode *n, CgTreeInfo *ret) {
        node_info(n, now_usec(), ret);
}

CgTreeNode *cgtree_find(const CgTree *t, const char *path) {
        _cleanup_free_ char *norm = cg_path_normalize(path);

        return norm ? find_node(t, norm) : NULL;
}

/* cgtree_walk() over cgtree_visit(): the paths, one per depth. */
typedef struct WalkPaths {
        cgtree_walk_cb cb;
        void *userdata;
        const char *root;
        unsigned top;           /* depth of the walk's first cgroup */
        char **paths;           /* paths[d - top] */
        size_t n_paths;
} WalkPaths;

static int walk_visit_cb(CgTreeNode *n, const char *name, unsigned depth, bool ancestor,
                         const CgTreeInfo *info, CgTreeMemo *memo, void *userdata) {
        WalkPaths *w = userdata;
        size_t i;
        char *p;

        if (ancestor) {
                w->top = depth + 1;
                return 0;
        }
        i = depth - w->top;
        if (i == 0)
                p = node_path(n);
        else if (asprintf(&p, "%s/%s", depth == 1 ? "" : w->paths[i - 1], name) < 0)
                p = NULL;
        if (!p)
                return -ENOMEM;
        if (i >= w->n_paths) {
                char **np = reallocarray(w->paths, i + 1, sizeof *np);

                if (!np) {
                        free(p);
                        return -ENOMEM;
                }
                for (size_t j = w->n_paths; j <= i; j++)
                        np[j] = NULL;
                w->paths = np;
                w->n_paths = i + 1;
        }
        free(w->paths[i]);
        w->paths[i] = p;
        return w->cb(w->root, p, info, w->userdata);
}

int cgtree_walk(CgTree *t, const char *path, cgtree_walk_cb cb, void *userdata) {
        WalkPaths w = { .cb = cb, .userdata = userdata, .root = t->cg_root };
        int r;

        r = cgtree_visit(t, path, walk_visit_cb, &w);
        for (size_t i = 0; i < w.n_paths; i++)
                free(w.paths[i]);
        free(w.paths);
        return r;
}

static void count_below(const TNode *n, size_t *nodes, size_t *empty) {
        (*nodes)++;
        if (n->info.populated == 0)
                (*empty)++;
        for (const TNode *c = n->child; c; c = c->next)
                count_below(c, nodes, empty);
}

void cgtree_count(const CgTree *t, size_t *ret_nodes, size_t *ret_empty) {
        size_t nodes = 0, empty = 0;

        if (t->root)
                count_below(t->root, &nodes, &empty);
        assert(nodes == t->n_nodes);
        *ret_nodes = nodes;
        *ret_empty = empty;
}
