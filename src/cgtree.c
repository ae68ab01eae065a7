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
        TN_OWNED = 1 << 3,      /* in CgTree.owners: not owned by root, or its trust unreadable */
        TN_OWNER_ERROR = 1 << 4, /* the owners entry is the errno of reading the owner */
        TN_XATTR_ERROR = 1 << 5, /* ... of reading the xattrs (of a root-owned cgroup) */
};

/* 32 bytes: with its name and a watch slot, the model's cost per cgroup. */
struct CgTreeNode {
        uint32_t parent, child, next, prev;     /* NIL: none; a free node's next is the next free one */
        int32_t wd;                             /* its directory's watch; 0: a free node */
        uint32_t name;                          /* offset in CgTree.names */
        CgTreeMemo memo;
        uint8_t flags;                          /* TN_* */
        int8_t populated;                       /* 1, 0, -1: unknown */
        uint16_t emptied;                       /* ms clock, modulo 2^16, when populated last went to 0 */
};
_Static_assert(sizeof(CgTreeNode) == 32, "CgTreeNode grew");

/* Open addressing, linear probing, no tombstones. Width 2: (key, value)
 * pairs, key 0 free. Width 1: a node's index + 1 alone, keyed by that
 * node's wd, so that a watch costs 4 bytes of slot. */
typedef struct Map {
        uint32_t *slots;
        size_t cap, n;
        unsigned width;
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
        Map owners;                     /* node + 1 -> uid, or errno (TN_OWNED) */
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

#define MAP_NONE SIZE_MAX

static size_t map_home(const Map *m, uint32_t key) {
        return (key * 2654435761u) & (m->cap - 1);
}

/* The key of slot i, 0 when it is free. */
static uint32_t map_key(const CgTree *t, const Map *m, size_t i) {
        const uint32_t *s = &m->slots[i * m->width];

        if (m->width == 2 || s[0] == 0)
                return s[0];
        return (uint32_t) t->nodes[s[0] - 1].wd;
}

static uint32_t map_value(const Map *m, size_t i) {
        return m->width == 2 ? m->slots[i * 2 + 1] : m->slots[i] - 1;
}

static size_t map_find(const CgTree *t, const Map *m, uint32_t key) {
        uint32_t k;

        if (key == 0 || m->cap == 0)
                return MAP_NONE;
        for (size_t i = map_home(m, key); (k = map_key(t, m, i)); i = (i + 1) & (m->cap - 1))
                if (k == key)
                        return i;
        return MAP_NONE;
}

static bool map_get(const CgTree *t, const Map *m, uint32_t key, uint32_t *ret_value) {
        size_t i = map_find(t, m, key);

        if (i == MAP_NONE)
                return false;
        if (ret_value)
                *ret_value = map_value(m, i);
        return true;
}

static void map_set(Map *m, size_t i, uint32_t key, uint32_t value) {
        if (m->width == 2) {
                m->slots[i * 2] = key;
                m->slots[i * 2 + 1] = value;
        } else
                m->slots[i] = value + 1;
}

/* For width 1, value is the node and key must be its wd. */
static int map_put(const CgTree *t, Map *m, uint32_t key, uint32_t value) {
        uint32_t k;
        size_t i;

        assert(key != 0);
        assert(m->width == 2 || (uint32_t) t->nodes[value].wd == key);
        /* Full at 4/5. */
        if (5 * (m->n + 1) > 4 * m->cap) {
                Map old = *m;
                size_t ncap = m->cap ? m->cap * 2 : 256;

                m->slots = region_alloc(NULL, 0, region_size(ncap * m->width * sizeof *m->slots));
                if (!m->slots) {
                        *m = old;
                        return -ENOMEM;
                }
                m->cap = ncap;
                m->n = 0;
                for (size_t j = 0; j < old.cap; j++)
                        if ((k = map_key(t, &old, j)))
                                (void) map_put(t, m, k, map_value(&old, j));
                region_free(old.slots, region_size(old.cap * old.width * sizeof *old.slots));
        }
        for (i = map_home(m, key); (k = map_key(t, m, i)) && k != key; i = (i + 1) & (m->cap - 1))
                ;
        if (!k)
                m->n++;
        map_set(m, i, key, value);
        return 0;
}

static bool map_del(const CgTree *t, Map *m, uint32_t key, uint32_t *ret_value) {
        size_t i = map_find(t, m, key), j, h;
        uint32_t k;

        if (i == MAP_NONE)
                return false;
        if (ret_value)
                *ret_value = map_value(m, i);
        m->slots[i * m->width] = 0;
        m->n--;
        /* Without tombstones: move later entries of the same run back into
         * the hole when their home slot allows it. */
        for (j = (i + 1) & (m->cap - 1); (k = map_key(t, m, j)); j = (j + 1) & (m->cap - 1)) {
                h = map_home(m, k);
                if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
                        continue;
                map_set(m, i, k, map_value(m, j));
                m->slots[j * m->width] = 0;
                i = j;
        }
        return true;
}

static void map_free(Map *m) {
        region_free(m->slots, region_size(m->cap * m->width * sizeof *m->slots));
}

/* ---- nodes ---- */

static uint32_t idx(const CgTree *t, const CgTreeNode *n) {
        return (uint32_t) (n - t->nodes);
}

/* The arena's form of a name. */
static const char *node_name(const CgTree *t, const CgTreeNode *n) {
        return t->names + n->name;
}

/* Names are kept without the unit suffix most of them have: a last byte
 * of 1 to 4 stands for the suffix below (4: none, for a name that itself
 * ends in such a byte). "svc1.service" takes 6 bytes, not 13. */
static const char *const name_suffix[] = { NULL, ".service", ".scope", ".slice", "" };
#define NAME_CODE_RAW 4

/* buf: NAME_MAX + 2 bytes. */
static const char *name_encode(const char *name, char *buf) {
        size_t l = strlen(name);

        assert(l <= NAME_MAX);
        for (size_t c = 1; c < NAME_CODE_RAW; c++) {
                size_t sl = strlen(name_suffix[c]);

                if (l > sl && streq(name + l - sl, name_suffix[c])) {
                        memcpy(buf, name, l - sl);
                        buf[l - sl] = (char) c;
                        buf[l - sl + 1] = '\0';
                        return buf;
                }
        }
        if (l == 0 || (unsigned char) name[l - 1] > NAME_CODE_RAW)
                return name;
        memcpy(buf, name, l);
        buf[l] = NAME_CODE_RAW;
        buf[l + 1] = '\0';
        return buf;
}

/* The name's length, and its suffix's code (0: none). */
static size_t name_stem(const char *stored, unsigned *ret_code) {
        size_t l = strlen(stored);
        unsigned c = l > 0 ? (unsigned char) stored[l - 1] : 0;

        *ret_code = c <= NAME_CODE_RAW ? c : 0;
        return *ret_code ? l - 1 : l;
}

static size_t name_len(const char *stored) {
        unsigned c;
        size_t l = name_stem(stored, &c);

        return l + (c ? strlen(name_suffix[c]) : 0);
}

/* Into buf (at least name_len() + 1 bytes, NAME_MAX + 1 for any name); returns buf. */
static char *name_decode(const char *stored, char *buf) {
        unsigned c;
        size_t l = name_stem(stored, &c);

        memcpy(buf, stored, l);
        strcpy(buf + l, c ? name_suffix[c] : "");
        return buf;
}

static uint16_t clock_ms(void) {
        return (uint16_t) (now_usec() / USEC_PER_MSEC);
}

/* A new node, unlinked, or NIL (ENOMEM). Moves the array: indices stay. */
static uint32_t node_new(CgTree *t, const char *plain) {
        char buf[NAME_MAX + 2];
        const char *name = name_encode(plain, buf);
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
                len += name_len(node_name(t, &t->nodes[j])) + 1;
        s = malloc(len + 2);
        if (!s)
                return NULL;
        p = s + len;
        *p = '\0';
        for (uint32_t j = i; t->nodes[j].parent != NIL; j = t->nodes[j].parent) {
                const char *name = node_name(t, &t->nodes[j]);
                size_t l = name_len(name);
                char c = p[0];

                p -= l;
                name_decode(name, p);   /* its NUL lands on the '/' or NUL after it */
                p[l] = c;
                *--p = '/';
        }
        if (len == 0)
                strcpy(s, "/");
        return s;
}

/* Most cgroups are root's and readable: only the others take an owners entry. */
static int read_trust(CgTree *t, uint32_t i, const char *path) {
        CgTreeNode *n = &t->nodes[i];
        uint8_t f = 0;
        CgroupTrust tr;
        uint32_t v;

        cg_read_trust(t->cg_root, path, &tr);
        /* The xattrs are read only when root owns the cgroup. */
        assert(tr.xattr_error == 0 || (tr.owner_error == 0 && tr.owner == 0));
        if (tr.owner_error < 0) {
                f = TN_OWNER_ERROR;
                v = (uint32_t) -tr.owner_error;
        } else if (tr.xattr_error < 0) {
                f = TN_XATTR_ERROR;
                v = (uint32_t) -tr.xattr_error;
        } else
                v = tr.owner;
        if (v != 0) {
                if (map_put(t, &t->owners, i + 1, v) < 0)
                        return -ENOMEM;
                f |= TN_OWNED;
        } else
                (void) map_del(t, &t->owners, i + 1, NULL);
        f |= (tr.omit ? TN_OMIT : 0) | (tr.avoid ? TN_AVOID : 0);
        n->flags = (uint8_t) ((n->flags & ~(TN_OMIT | TN_AVOID | TN_OWNED | TN_OWNER_ERROR | TN_XATTR_ERROR)) | f);
        return 0;
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

        if (map_del(t, &t->pins, i + 1, &fd))
                safe_close((int) fd);
}

/* Read cgroup.events of n, with its inode pinned while n is empty: the
 * change to populated must reach the directory's watch (a missed one
 * would hide a candidate), the change back only saves reads. Out of fds:
 * -EMFILE, the model cannot be kept. */
static int update_populated(CgTree *t, uint32_t i, const char *path) {
        read_populated(t, i, path);
        if (t->nodes[i].populated == 0 && !map_get(t, &t->pins, i + 1, NULL)) {
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
                if (fd >= 0 && map_put(t, &t->pins, i + 1, (uint32_t) fd) < 0) {
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

void cgtree_forget_memos(CgTree *t) {
        for (uint32_t i = 0; i < t->n_used; i++)
                t->nodes[i].memo = (CgTreeMemo) {};
}

static void node_free(CgTree *t, uint32_t i) {
        CgTreeNode *n = &t->nodes[i];

        while (n->child != NIL)
                node_free(t, n->child);
        (void) map_del(t, &t->wds, (uint32_t) n->wd, NULL);
        unpin(t, i);
        if (n->flags & TN_OWNED)
                (void) map_del(t, &t->owners, i + 1, NULL);
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
        if (strlen(name) > NAME_MAX)
                return 0;       /* not from the kernel: no such directory */
        /* Root's watches are shared with every root service, and a user
         * makes as many cgroups as they like: the model takes 3/4 at most. */
        if (t->max_watches > 0 && t->wds.n + 1 > t->max_watches)
                return -ENOSPC;
        wd = inotify_add_watch(t->fd, dir, DIR_MASK);
        if (wd < 0)
                return ERRNO_IS_VANISHED(-errno) || errno == ENOTDIR ? 0 : -errno;
        if (map_get(t, &t->wds, (uint32_t) wd, NULL))
                return 0;

        i = node_new(t, name);
        if (i == NIL)
                return -ENOMEM;
        t->nodes[i].wd = wd;
        if (map_put(t, &t->wds, (uint32_t) wd, i) < 0)
                return -ENOMEM;
        if (parent != NIL) {
                CgTreeNode *n = &t->nodes[i], *p = &t->nodes[parent];

                n->parent = parent;
                n->next = p->child;
                if (n->next != NIL)
                        t->nodes[n->next].prev = i;
                p->child = i;
        }
        r = read_trust(t, i, path);
        if (r < 0)
                return r;
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
        t->wds.width = 1;
        t->pins.width = t->owners.width = 2;
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
                if (map_key(t, &t->pins, i))
                        safe_close((int) map_value(&t->pins, i));
        map_free(&t->pins);
        map_free(&t->wds);
        map_free(&t->owners);
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
        uint32_t i;

        if (ev->mask & IN_Q_OVERFLOW)
                return -EOVERFLOW;
        if (ev->wd <= 0 || !map_get(t, &t->wds, (uint32_t) ev->wd, &i))
                return 0;       /* a watch already dropped */

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
                memo_clear(t, i);
                return read_trust(t, i, path);
        }
        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
                char buf[NAME_MAX + 2];
                const char *name = name_encode(ev->name, buf);

                /* The child's own IN_DELETE_SELF may come only when its
                 * last dentry goes: drop it now. (cgroupfs refuses renames;
                 * a fake tree's renamed directory comes back by IN_MOVED_TO.) */
                for (uint32_t c = t->nodes[i].child; c != NIL; c = t->nodes[c].next)
                        if (streq(node_name(t, &t->nodes[c]), name)) {
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
        char comp[NAME_MAX + 1], buf[NAME_MAX + 2];
        const char *want;
        uint32_t i = 0;

        for (const char *p = path; i != NIL && *p; ) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                if (len > NAME_MAX)
                        return NULL;
                memcpy(comp, p, len);
                comp[len] = '\0';
                want = name_encode(comp, buf);
                for (i = t->nodes[i].child; i != NIL; i = t->nodes[i].next)
                        if (streq(node_name(t, &t->nodes[i]), want))
                                break;
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
        uint32_t v = 0;

        bool lost = (n->flags & TN_OWNED) && !map_get(t, &t->owners, idx(t, n) + 1, &v);

        assert(!lost);
        *ret = (CgTreeInfo) {
                .trust = {
                        .owner = n->flags & (TN_OWNER_ERROR | TN_XATTR_ERROR) ? 0 : v,
                        /* Never root's by mistake: unknown trusts nothing. */
                        .owner_error = lost ? -EIO : n->flags & TN_OWNER_ERROR ? -(int) v : 0,
                        .omit = n->flags & TN_OMIT,
                        .avoid = n->flags & TN_AVOID,
                        .xattr_error = n->flags & TN_XATTR_ERROR ? -(int) v : 0,
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
        r = cb(n, depth, false, &info, &n->memo, userdata);
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
        r = cb(n, (*depth)++, true, &info, &n->memo, userdata);
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

const char *cgtree_node_name(const CgTree *t, const CgTreeNode *n, char *buf) {
        return name_decode(node_name(t, n), buf);
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

static int walk_visit_cb(CgTreeNode *n, unsigned depth, bool ancestor, const CgTreeInfo *info, CgTreeMemo *memo,
                         void *userdata) {
        WalkPaths *w = userdata;
        char name[CGTREE_NAME_MAX];
        size_t i;
        char *p;

        if (ancestor) {
                w->top = depth + 1;
                return 0;
        }
        i = depth - w->top;
        if (i == 0)
                p = cgtree_node_path(w->t, n);
        else if (asprintf(&p, "%s/%s", depth == 1 ? "" : w->paths[i - 1], cgtree_node_name(w->t, n, name)) < 0)
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
