/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgtree: the cgroup tree as the daemon keeps it between decisions. See
 * cgtree.h. Compact, for 100 000 cgroups in a few MiB: the nodes in one
 * array, linked by index, their names in one arena. */

#include <assert.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cgtree.h"

#define NIL UINT32_MAX

enum {
        TN_OMIT = 1 << 0,
        TN_AVOID = 1 << 1,
        TN_SETTLED = 1 << 2,    /* empty for long: skipped whatever the 16-bit clock says */
};

struct CgTreeNode {
        uint32_t parent, child, next, prev;     /* NIL: none; a free node's next is the next free one */
        int32_t wd;                             /* its directory's watch; 0: a free node */
        uint32_t name;                          /* offset in CgTree.names */
        uint32_t owner;
        CgTreeMemo memo;
        int8_t owner_error, xattr_error;        /* 0 or -errno */
        uint8_t flags;                          /* TN_* */
        int8_t populated;                       /* 1, 0, -1: unknown */
        uint16_t emptied;                       /* ms clock, modulo 2^16, when populated last went to 0 */
};

/* Open addressing, linear probing, key 0 free: a watch's node, and the
 * pinning fd of an empty node (key: its index + 1). */
typedef struct MapSlot {
        uint32_t key, value;
} MapSlot;

typedef struct Map {
        MapSlot *slots;
        size_t cap, n;
} Map;

struct CgTree {
        char *cg_root;
        int fd;
        CgTreeNode *nodes;              /* the root is nodes[0] */
        uint32_t n_alloc, n_used, free_list, n_nodes;
        char *names;
        size_t names_len, names_alloc, names_dead;
        Map wds;                        /* wd -> node: the watches we hold, one per cgroup */
        Map pins;                       /* node + 1 -> O_PATH fd of its cgroup.events */
        size_t max_watches;             /* 0: no limit of ours */
        size_t max_pins;                /* the fds a decision needs stay free; 0: no limit */
};

/* The kernel tells cgroup.events changes at most every 10 ms per file, from
 * a timer: a cgroup emptied less than this ago may be populated again
 * without the model knowing yet, and is read, not skipped. */
#define EMPTY_SETTLE_MSEC 50

/* IN_MODIFY: the kernel's changes of a child file, cgroup.events among
 * them, reach the directory's watch while that file's inode is cached
 * (update_populated()). */
#define DIR_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_ATTRIB | \
                  IN_MODIFY | IN_ONLYDIR | IN_DONT_FOLLOW)

/* ---- memory ---- */

/* The model's arrays are mappings of their own: grown by mremap(), they
 * leave no copy behind in the heap (malloc would keep the old ones, and
 * mlockall() keeps them resident). size: bytes, whole pages. */
static size_t region_size(size_t bytes) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE);

        return (bytes + page - 1) / page * page;
}

static void *region_alloc(void *p, size_t old, size_t size) {
        void *q;

        if (p)
                q = mremap(p, old, size, MREMAP_MAYMOVE);
        else
                q = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return q == MAP_FAILED ? NULL : q;
}

static void region_free(void *p, size_t size) {
        if (p)
                (void) munmap(p, size);
}

/* ---- maps ---- */

static size_t map_home(const Map *m, uint32_t key) {
        return (key * 2654435761u) & (m->cap - 1);
}

static MapSlot *map_find(const Map *m, uint32_t key) {
        if (key == 0 || m->cap == 0)
                return NULL;
        for (size_t i = map_home(m, key); m->slots[i].key; i = (i + 1) & (m->cap - 1))
                if (m->slots[i].key == key)
                        return &m->slots[i];
        return NULL;
}

static int map_put(Map *m, uint32_t key, uint32_t value) {
        assert(key != 0);
        /* Full at 4/5: 4 bytes of slot per entry at most. */
        if (5 * (m->n + 1) > 4 * m->cap) {
                Map old = *m;
                size_t ncap = m->cap ? m->cap * 2 : 256;

                m->slots = region_alloc(NULL, 0, region_size(ncap * sizeof *m->slots));
                if (!m->slots) {
                        *m = old;
                        return -ENOMEM;
                }
                m->cap = ncap;
                m->n = 0;
                for (size_t i = 0; i < old.cap; i++)
                        if (old.slots[i].key)
                                (void) map_put(m, old.slots[i].key, old.slots[i].value);
                region_free(old.slots, region_size(old.cap * sizeof *old.slots));
        }
        size_t i = map_home(m, key);
        while (m->slots[i].key && m->slots[i].key != key)
                i = (i + 1) & (m->cap - 1);
        if (!m->slots[i].key)
                m->n++;
        m->slots[i] = (MapSlot) { key, value };
        return 0;
}

static bool map_del(Map *m, uint32_t key, uint32_t *ret_value) {
        MapSlot *s = map_find(m, key);
        size_t i, j, k;

        if (!s)
                return false;
        if (ret_value)
                *ret_value = s->value;
        i = (size_t) (s - m->slots);
        m->slots[i].key = 0;
        m->n--;
        /* Without tombstones: move later entries of the same run back into
         * the hole when their home slot allows it. */
        for (j = (i + 1) & (m->cap - 1); m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
                k = map_home(m, m->slots[j].key);
                if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                        continue;
                m->slots[i] = m->slots[j];
                m->slots[j].key = 0;
                i = j;
        }
        return true;
}

/* ---- nodes ---- */

static uint32_t idx(const CgTree *t, const CgTreeNode *n) {
        return (uint32_t) (n - t->nodes);
}

static const char *node_name(const CgTree *t, const CgTreeNode *n) {
        return t->names + n->name;
}

static uint16_t clock_ms(void) {
        return (uint16_t) (now_usec() / USEC_PER_MSEC);
}

/* A new node, unlinked, or NIL (ENOMEM). Moves the array: indices stay. */
static uint32_t node_new(CgTree *t, const char *name) {
        size_t l = strlen(name) + 1;
        uint32_t i;

        if (t->names_len + l > t->names_alloc) {
                size_t na = region_size(MAX(t->names_alloc * 2, t->names_len + l));
                char *nn;

                if (na > UINT32_MAX || !(nn = region_alloc(t->names, t->names_alloc, na)))
                        return NIL;
                t->names = nn;
                t->names_alloc = na;
        }
        if (t->free_list != NIL) {
                i = t->free_list;
                t->free_list = t->nodes[i].next;
        } else {
                if (t->n_used == t->n_alloc) {
                        uint32_t na = t->n_alloc ? t->n_alloc * 2 : 256;
                        CgTreeNode *nn;

                        if (na <= t->n_alloc ||
                            !(nn = region_alloc(t->nodes, region_size((size_t) t->n_alloc * sizeof *nn),
                                                region_size((size_t) na * sizeof *nn))))
                                return NIL;
                        t->nodes = nn;
                        t->n_alloc = na;
                }
                i = t->n_used++;
        }
        t->nodes[i] = (CgTreeNode) {
                .parent = NIL, .child = NIL, .next = NIL, .prev = NIL,
                .name = (uint32_t) t->names_len,
                .populated = -1,
                .flags = TN_SETTLED,
        };
        memcpy(t->names + t->names_len, name, l);
        t->names_len += l;
        t->n_nodes++;
        return i;
}

/* Rewrite the arena without the names of removed nodes, once they are
 * most of it. */
static void names_compact(CgTree *t) {
        size_t len = 0, na;
        char *nn;

        if (t->names_dead < 4096 || 2 * t->names_dead < t->names_len)
                return;
        na = region_size(t->names_len - t->names_dead);
        nn = region_alloc(NULL, 0, na);
        if (!nn)
                return;
        for (uint32_t i = 0; i < t->n_used; i++) {
                CgTreeNode *n = &t->nodes[i];
                size_t l;

                if (n->wd == 0)
                        continue;
                l = strlen(node_name(t, n)) + 1;
                memcpy(nn + len, node_name(t, n), l);
                n->name = (uint32_t) len;
                len += l;
        }
        region_free(t->names, t->names_alloc);
        t->names = nn;
        t->names_len = len;
        t->names_alloc = na;
        t->names_dead = 0;
}

/* The node's path below the root ("/" for the root). malloc'd. */
static char *node_path(const CgTree *t, uint32_t i) {
        size_t len = 0;
        char *s, *p;

        for (uint32_t j = i; t->nodes[j].parent != NIL; j = t->nodes[j].parent)
                len += strlen(node_name(t, &t->nodes[j])) + 1;
        s = malloc(len + 2);
        if (!s)
                return NULL;
        p = s + len;
        *p = '\0';
        for (uint32_t j = i; t->nodes[j].parent != NIL; j = t->nodes[j].parent) {
                const char *name = node_name(t, &t->nodes[j]);
                size_t l = strlen(name);

                p -= l;
                memcpy(p, name, l);
                *--p = '/';
        }
        if (len == 0)
                strcpy(s, "/");
        return s;
}

static void read_trust(CgTree *t, uint32_t i, const char *path) {
        CgTreeNode *n = &t->nodes[i];
        CgroupTrust tr;

        cg_read_trust(t->cg_root, path, &tr);
        n->owner = tr.owner;
        n->owner_error = (int8_t) MAX(tr.owner_error, -127);
        n->xattr_error = (int8_t) MAX(tr.xattr_error, -127);
        n->flags = (uint8_t) ((n->flags & ~(TN_OMIT | TN_AVOID)) | (tr.omit ? TN_OMIT : 0) | (tr.avoid ? TN_AVOID : 0));
}

static void read_populated(CgTree *t, uint32_t i, const char *path) {
        CgTreeNode *n = &t->nodes[i];
        int8_t was = n->populated;
        CgroupEvents ev;

        n->populated = cg_read_events(t->cg_root, path, &ev) >= 0 ? ev.populated : -1;
        if (n->populated == 0 && was == 1) {
                n->emptied = clock_ms();
                n->flags &= ~TN_SETTLED;
        }
}

static void unpin(CgTree *t, uint32_t i) {
        uint32_t fd;

        if (map_del(&t->pins, i + 1, &fd))
                safe_close((int) fd);
}

/* Read cgroup.events of n, with its inode pinned while n is empty: the
 * change to populated must reach the directory's watch (a missed one
 * would hide a candidate), the change back only saves reads. Out of fds:
 * -EMFILE, the model cannot be kept. */
static int update_populated(CgTree *t, uint32_t i, const char *path) {
        read_populated(t, i, path);
        if (t->nodes[i].populated == 0 && !map_find(&t->pins, i + 1)) {
                _cleanup_free_ char *p = cg_path(t->cg_root, path, "cgroup.events");
                int fd;

                if (!p)
                        return -ENOMEM;
                /* A user's empty cgroups must not take the fds of a decision. */
                if (t->max_pins > 0 && t->pins.n + 1 > t->max_pins)
                        return -EMFILE;
                fd = open(p, O_PATH | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
                        return -errno;
                if (fd >= 0 && map_put(&t->pins, i + 1, (uint32_t) fd) < 0) {
                        safe_close(fd);
                        return -ENOMEM;
                }
                /* Changed before the pin: read again. */
                read_populated(t, i, path);
        }
        if (t->nodes[i].populated != 0)
                unpin(t, i);
        return 0;
}

/* What the consumer knew of n and below depends on n's owner and xattrs. */
static void memo_clear(CgTree *t, uint32_t i) {
        t->nodes[i].memo = (CgTreeMemo) {};
        for (uint32_t c = t->nodes[i].child; c != NIL; c = t->nodes[c].next)
                memo_clear(t, c);
}

static void node_free(CgTree *t, uint32_t i) {
        CgTreeNode *n = &t->nodes[i];

        while (n->child != NIL)
                node_free(t, n->child);
        (void) map_del(&t->wds, (uint32_t) n->wd, NULL);
        unpin(t, i);
        if (n->parent != NIL) {
                if (n->prev != NIL)
                        t->nodes[n->prev].next = n->next;
                else
                        t->nodes[n->parent].child = n->next;
                if (n->next != NIL)
                        t->nodes[n->next].prev = n->prev;
        }
        t->names_dead += strlen(node_name(t, n)) + 1;
        n->wd = 0;
        n->next = t->free_list;
        t->free_list = i;
        t->n_nodes--;
}

static void node_unlink(CgTree *t, uint32_t i) {
        node_free(t, i);
        names_compact(t);
}

/* Add the cgroup "name" below parent (NIL: the root) with everything below
 * it: watch first, then list, so that a child made meanwhile is seen either
 * way. One already in the model (its directory's wd is known) is left as
 * it is. A cgroup that vanished is left out. */
static int node_add(CgTree *t, uint32_t parent, const char *name, const char *path) {
        _cleanup_free_ char *dir = cg_path(t->cg_root, path, NULL);
        _cleanup_strv_free_ char **children = NULL;
        uint32_t i;
        int wd, r;

        if (!dir)
                return -ENOMEM;
        /* Root's watches are shared with every root service, and a user
         * makes as many cgroups as they like: the model takes 3/4 at most. */
        if (t->max_watches > 0 && t->wds.n + 1 > t->max_watches)
                return -ENOSPC;
        wd = inotify_add_watch(t->fd, dir, DIR_MASK);
        if (wd < 0)
                return ERRNO_IS_VANISHED(-errno) || errno == ENOTDIR ? 0 : -errno;
        if (map_find(&t->wds, (uint32_t) wd))
                return 0;

        i = node_new(t, name);
        if (i == NIL)
                return -ENOMEM;
        t->nodes[i].wd = wd;
        if (map_put(&t->wds, (uint32_t) wd, i) < 0)
                return -ENOMEM;
        if (parent != NIL) {
                CgTreeNode *n = &t->nodes[i], *p = &t->nodes[parent];

                n->parent = parent;
                n->next = p->child;
                if (n->next != NIL)
                        t->nodes[n->next].prev = i;
                p->child = i;
        }
        read_trust(t, i, path);
        r = update_populated(t, i, path);
        if (r < 0)
                return r;

        r = cg_list_children(t->cg_root, path, &children);
        if (r < 0)
                return ERRNO_IS_VANISHED(r) ? 0 : r;
        for (char **c = children; *c; c++) {
                _cleanup_free_ char *cp = NULL;

                if (asprintf(&cp, "%s/%s", streq(path, "/") ? "" : path, *c) < 0)
                        return -ENOMEM;
                r = node_add(t, i, *c, cp);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgtree_new(const char *cg_root, CgTree **ret) {
        _cleanup_cgtree_free_ CgTree *t = NULL;
        _cleanup_free_ char *max = NULL;
        struct rlimit rl;
        uint64_t v;
        int r;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->fd = -EBADF;
        t->free_list = NIL;
        t->cg_root = strdup(cg_root);
        if (!t->cg_root)
                return -ENOMEM;
        t->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (t->fd < 0)
                return -errno;
        if (cg_read_full("/proc/sys/fs/inotify/max_user_watches", &max) >= 0 &&
            cg_parse_u64_buf(max, &v) >= 0)
                t->max_watches = (size_t) MIN(v - v / 4, (uint64_t) NIL);
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur != RLIM_INFINITY)
                t->max_pins = rl.rlim_cur > 2048 ? rl.rlim_cur - 1024 : rl.rlim_cur / 2;
        r = node_add(t, NIL, "", "/");
        if (r < 0)
                return r;
        if (t->n_nodes == 0)
                return -ENOENT;
        assert(t->nodes[0].parent == NIL);
        *ret = TAKE_PTR(t);
        return 0;
}

CgTree *cgtree_free(CgTree *t) {
        if (!t)
                return NULL;
        safe_close(t->fd);      /* closing dropped every watch */
        for (size_t i = 0; i < t->pins.cap; i++)
                if (t->pins.slots[i].key)
                        safe_close((int) t->pins.slots[i].value);
        region_free(t->pins.slots, region_size(t->pins.cap * sizeof *t->pins.slots));
        region_free(t->wds.slots, region_size(t->wds.cap * sizeof *t->wds.slots));
        region_free(t->nodes, region_size((size_t) t->n_alloc * sizeof *t->nodes));
        region_free(t->names, t->names_alloc);
        free(t->cg_root);
        free(t);
        return NULL;
}

int cgtree_fd(const CgTree *t) {
        return t->fd;
}

static int handle_event(CgTree *t, const struct inotify_event *ev) {
        _cleanup_free_ char *path = NULL;
        MapSlot *s;
        uint32_t i;

        if (ev->mask & IN_Q_OVERFLOW)
                return -EOVERFLOW;
        s = ev->wd > 0 ? map_find(&t->wds, (uint32_t) ev->wd) : NULL;
        if (!s)
                return 0;       /* a watch already dropped */
        i = s->value;

        if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) {
                if (i == 0)
                        return -ENOENT;
                node_unlink(t, i);
                return 0;
        }
        if (ev->len == 0) {
                if (!(ev->mask & IN_ATTRIB))
                        return 0;
                path = node_path(t, i);
                if (!path)
                        return -ENOMEM;
                read_trust(t, i, path);
                memo_clear(t, i);
                return 0;
        }
        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
                /* The child's own IN_DELETE_SELF may come only when its
                 * last dentry goes: drop it now. (cgroupfs refuses renames;
                 * a fake tree's renamed directory comes back by IN_MOVED_TO.) */
                for (uint32_t c = t->nodes[i].child; c != NIL; c = t->nodes[c].next)
                        if (streq(node_name(t, &t->nodes[c]), ev->name)) {
                                node_unlink(t, c);
                                break;
                        }
                return 0;
        }
        if (!(ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MODIFY)) ||
            (!(ev->mask & IN_ISDIR) && !streq(ev->name, "cgroup.events")))
                return 0;

        path = node_path(t, i);
        if (!path)
                return -ENOMEM;
        if (ev->mask & IN_MODIFY)
                return update_populated(t, i, path);
        if (ev->mask & IN_ISDIR) {
                _cleanup_free_ char *cp = NULL;

                if (asprintf(&cp, "%s/%s", i == 0 ? "" : path, ev->name) < 0)
                        return -ENOMEM;
                return node_add(t, i, ev->name, cp);
        }
        /* A fake tree's file replaced by a rename: pin the new one. */
        unpin(t, i);
        return update_populated(t, i, path);
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

static CgTreeNode *find_node(const CgTree *t, const char *path) {
        uint32_t i = 0;

        for (const char *p = path; i != NIL && *p; ) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                for (i = t->nodes[i].child; i != NIL; i = t->nodes[i].next) {
                        const char *name = node_name(t, &t->nodes[i]);

                        if (strncmp(name, p, len) == 0 && name[len] == '\0')
                                break;
                }
                p += len;
        }
        return i == NIL ? NULL : &t->nodes[i];
}

/* Whether a walk leaves c out: known empty, and long enough. */
static bool skip_empty(const CgTreeNode *c, uint16_t now) {
        return c->populated == 0 &&
               ((c->flags & TN_SETTLED) || (uint16_t) (now - c->emptied) >= EMPTY_SETTLE_MSEC);
}

/* What a walk reports of n at now. */
static void node_info(const CgTree *t, const CgTreeNode *n, uint16_t now, CgTreeInfo *ret) {
        *ret = (CgTreeInfo) {
                .trust = {
                        .owner = n->owner,
                        .owner_error = n->owner_error,
                        .omit = n->flags & TN_OMIT,
                        .avoid = n->flags & TN_AVOID,
                        .xattr_error = n->xattr_error,
                },
                .populated = n->populated,
        };
        for (uint32_t c = n->child; c != NIL && !ret->inner; c = t->nodes[c].next)
                ret->inner = !skip_empty(&t->nodes[c], now);
        /* Emptied a moment ago: the callback reads cgroup.events itself. */
        if (ret->populated == 0 && !skip_empty(n, now))
                ret->populated = -1;
}

static int visit_node(CgTree *t, CgTreeNode *n, unsigned depth, uint16_t now, cgtree_visit_cb cb,
                      void *userdata) {
        CgTreeInfo info;
        int r;

        node_info(t, n, now, &info);
        r = cb(n, node_name(t, n), depth, false, &info, &n->memo, userdata);
        if (r != 0)
                return r < 0 ? r : 0;
        for (uint32_t c = n->child; c != NIL; c = t->nodes[c].next) {
                if (skip_empty(&t->nodes[c], now)) {
                        t->nodes[c].flags |= TN_SETTLED;
                        continue;
                }
                r = visit_node(t, &t->nodes[c], depth + 1, now, cb, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int visit_ancestors(CgTree *t, uint32_t i, unsigned *depth, uint16_t now, cgtree_visit_cb cb,
                           void *userdata) {
        CgTreeNode *n;
        CgTreeInfo info;
        int r;

        if (i == NIL)
                return 0;
        n = &t->nodes[i];
        r = visit_ancestors(t, n->parent, depth, now, cb, userdata);
        if (r < 0)
                return r;
        node_info(t, n, now, &info);
        r = cb(n, node_name(t, n), (*depth)++, true, &info, &n->memo, userdata);
        return r < 0 ? r : 0;
}

int cgtree_visit(CgTree *t, const char *path, cgtree_visit_cb cb, void *userdata) {
        _cleanup_free_ char *norm = cg_path_normalize(path);
        uint16_t now = clock_ms();
        unsigned depth = 0;
        CgTreeNode *n;
        int r;

        if (!norm)
                return -ENOMEM;
        n = find_node(t, norm);
        if (!n)
                return -ENOENT;
        r = visit_ancestors(t, n->parent, &depth, now, cb, userdata);
        if (r < 0)
                return r;
        return visit_node(t, n, depth, now, cb, userdata);
}

CgTreeNode *cgtree_node_parent(const CgTree *t, const CgTreeNode *n) {
        return n->parent == NIL ? NULL : &t->nodes[n->parent];
}

char *cgtree_node_path(const CgTree *t, const CgTreeNode *n) {
        return node_path(t, idx(t, n));
}

void cgtree_node_info(const CgTree *t, const CgTreeNode *n, CgTreeInfo *ret) {
        node_info(t, n, clock_ms(), ret);
}

CgTreeNode *cgtree_find(const CgTree *t, const char *path) {
        _cleanup_free_ char *norm = cg_path_normalize(path);

        return norm ? find_node(t, norm) : NULL;
}

/* cgtree_walk() over cgtree_visit(): the paths, one per depth. */
typedef struct WalkPaths {
        const CgTree *t;
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
                p = cgtree_node_path(w->t, n);
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
        WalkPaths w = { .t = t, .cb = cb, .userdata = userdata, .root = t->cg_root };
        int r;

        r = cgtree_visit(t, path, walk_visit_cb, &w);
        for (size_t i = 0; i < w.n_paths; i++)
                free(w.paths[i]);
        free(w.paths);
        return r;
}

static void count_below(const CgTree *t, uint32_t i, size_t *nodes, size_t *empty) {
        (*nodes)++;
        if (t->nodes[i].populated == 0)
                (*empty)++;
        for (uint32_t c = t->nodes[i].child; c != NIL; c = t->nodes[c].next)
                count_below(t, c, nodes, empty);
}

void cgtree_count(const CgTree *t, size_t *ret_nodes, size_t *ret_empty) {
        size_t nodes = 0, empty = 0;

        if (t->n_nodes > 0)
                count_below(t, 0, &nodes, &empty);
        assert(nodes == t->n_nodes);
        *ret_nodes = nodes;
        *ret_empty = empty;
}
