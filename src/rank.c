/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rank: a decision's ranking over the model, band first. See rank.h. */

#include <assert.h>
#include <limits.h>

#include "rank.h"

/* What a decision takes from the walk over the model. */
typedef enum PickKind {
        PICK_LEAF,              /* eligible so far, in the band of adj */
        PICK_PROCESSES,         /* its processes decide its adj: always read */
        PICK_INNER,             /* may hold processes itself (hand-made trees) */
} PickKind;

typedef struct Pick {
        CgTreeNode *node;
        int adj;
        PickKind kind;
} Pick;

/* One level of the chain from "/" to the cgroup being visited. */
typedef struct Step {
        const CgTreeNode *node;
        CgTreeInfo info;
        char *path;             /* built when an adj is resolved; valid below path_ok */
} Step;

typedef struct Visit {
        const CgTree *t;
        const Config *c;
        uint16_t gen;
        const char *own_cgroup;
        int min_adj;
        int ceiling;            /* leaves at or above it were read and found not eligible */
        CgTreeNode **busy;      /* in the model; NULL-terminated */
        bool all_busy;          /* an ancestor of within is being killed */

        Step *steps;
        size_t n_steps, path_ok;

        Pick *picks;
        size_t n_picks, alloc;
        bool have_best;
        int best;
        size_t seen;            /* candidates met, eligible or not */
} Visit;

static void visit_done(Visit *v) {
        for (size_t i = 0; i < v->n_steps; i++)
                free(v->steps[i].path);
        free(v->steps);
        free(v->picks);
        free(v->busy);
}

/* The cgroup at depth as policy sees it with its ancestors alone: place,
 * owner and xattrs, the part of its adj that its processes do not decide. */
static int resolve_memo(Visit *v, unsigned depth, CgTreeMemo *memo) {
        _cleanup_free_ CgroupNode *nodes = calloc(depth + 1, sizeof *nodes);
        Snapshot chain = { .nodes = nodes, .n_nodes = depth + 1 };
        Adj a;

        if (!nodes)
                return -ENOMEM;
        for (size_t d = v->path_ok; d <= depth; d++) {
                Step *st = &v->steps[d];
                char name[CGTREE_NAME_MAX];

                free(st->path);
                if (d == 0)
                        st->path = strdup("/");
                else if (asprintf(&st->path, "%s/%s", d == 1 ? "" : v->steps[d - 1].path,
                                  cgtree_node_name(v->t, st->node, name)) < 0)
                        st->path = NULL;
                if (!st->path)
                        return -ENOMEM;
        }
        v->path_ok = depth + 1;
        for (size_t d = 0; d <= depth; d++) {
                const CgroupTrust *tr = &v->steps[d].info.trust;

                nodes[d] = (CgroupNode) {
                        .path = v->steps[d].path,
                        .parent = (ssize_t) d - 1,
                        .populated = true,
                        .has_children = d < depth,
                        .owner = tr->owner_error < 0 ? (uid_t) -1 : tr->owner,
                        .xattr_omit = tr->omit,
                        .xattr_avoid = tr->avoid,
                };
        }
        policy_resolve_adj(v->c, &chain, depth, v->own_cgroup, &a);
        *memo = (CgTreeMemo) {
                .gen = v->gen,
                .adj = (int16_t) a.value,
                /* No rule: oom_score_adj decides (policy.h, adj steps 5 and 6). */
                .by_processes = !a.rule && !IN_SET(a.source, ADJ_SOURCE_PROTECTED, ADJ_SOURCE_XATTR_OMIT),
        };
        return 0;
}

static int pick(Visit *v, CgTreeNode *n, int adj, PickKind kind) {
        if (v->n_picks == v->alloc) {
                size_t na = MAX((size_t) 64, v->alloc * 2);
                Pick *np = reallocarray(v->picks, na, sizeof *np);

                if (!np)
                        return -ENOMEM;
                v->picks = np;
                v->alloc = na;
        }
        v->picks[v->n_picks++] = (Pick) { n, adj, kind };
        return 0;
}

/* What can still come first: everything whose processes decide, and the
 * rest at or above the band (leaves in it). Keeps the visit's order. */
static void keep_band(Visit *v) {
        size_t j = 0;

        if (!v->have_best)
                return;
        for (size_t i = 0; i < v->n_picks; i++) {
                const Pick *p = &v->picks[i];

                if (p->kind == PICK_PROCESSES || (p->kind == PICK_INNER && p->adj >= v->best) ||
                    (p->kind == PICK_LEAF && p->adj == v->best))
                        v->picks[j++] = *p;
        }
        v->n_picks = j;
}

/* The visit is at n, depth deep: the chain to it. */
static int visit_step(Visit *v, const CgTreeNode *n, unsigned depth, const CgTreeInfo *info) {
        if (depth >= v->n_steps) {
                Step *ns = reallocarray(v->steps, depth + 1, sizeof *ns);

                if (!ns)
                        return -ENOMEM;
                for (size_t d = v->n_steps; d <= depth; d++)
                        ns[d] = (Step) {};
                v->steps = ns;
                v->n_steps = depth + 1;
        }
        v->steps[depth].node = n;
        v->steps[depth].info = *info;
        v->path_ok = MIN(v->path_ok, (size_t) depth);
        return 0;
}

static bool is_busy(const Visit *v, const CgTreeNode *n) {
        for (CgTreeNode **b = v->busy; b && *b; b++)
                if (*b == n)
                        return true;
        return false;
}

static int visit_cb(CgTreeNode *n, unsigned depth, bool ancestor, const CgTreeInfo *info, CgTreeMemo *memo,
                    void *userdata) {
        Visit *v = userdata;
        bool leaf = !info->inner;
        int r;

        r = visit_step(v, n, depth, info);
        if (r < 0)
                return r;
        if (is_busy(v, n)) {
                /* Being killed, with all below it: nothing there is eligible. */
                if (ancestor)
                        v->all_busy = true;
                else
                        v->seen++;
                return 1;
        }
        if (ancestor || v->all_busy)
                return v->all_busy;
        if (info->populated == 0)
                return 1;
        if (depth == 0)
                return 0;       /* "/": protected, and its processes are the kernel's threads */
        if (leaf)
                v->seen++;

        if (memo->gen != v->gen) {
                r = resolve_memo(v, depth, memo);
                if (r < 0)
                        return r;
        }
        if (memo->by_processes)
                return pick(v, n, memo->adj, PICK_PROCESSES);
        if (memo->adj <= ADJ_NEVER_KILL || memo->adj < v->min_adj)
                return 0;
        if (!leaf)
                return v->have_best && memo->adj < v->best ? 0 : pick(v, n, memo->adj, PICK_INNER);
        if ((v->have_best && memo->adj < v->best) || memo->adj >= v->ceiling)
                return 0;
        if (!v->have_best || memo->adj > v->best) {
                v->have_best = true;
                v->best = memo->adj;
                keep_band(v);
        }
        return pick(v, n, memo->adj, PICK_LEAF);
}

static int prepare_cb(CgTreeNode *n, unsigned depth, bool ancestor, const CgTreeInfo *info, CgTreeMemo *memo,
                      void *userdata) {
        Visit *v = userdata;
        int r;

        r = visit_step(v, n, depth, info);
        if (r < 0 || depth == 0 || memo->gen == v->gen)
                return r;
        r = resolve_memo(v, depth, memo);
        if (r < 0)
                return r;
        v->seen++;
        return 0;
}

int rank_prepare(const Config *c, uint16_t gen, CgTree *t, const char *own_cgroup, size_t *ret_resolved) {
        Visit v = { .t = t, .c = c, .gen = gen, .own_cgroup = own_cgroup };
        int r;

        assert(gen > 0);
        r = cgtree_visit(t, "/", prepare_cb, &v);
        if (ret_resolved)
                *ret_resolved = v.seen;
        visit_done(&v);
        return r;
}

/* Room for n more in *a (of *alloc), doubling. */
static bool nodes_reserve(CgTreeNode ***a, size_t *alloc, size_t n) {
        if (n <= *alloc)
                return true;
        size_t na = MAX(n, MAX(*alloc * 2, (size_t) 16));
        CgTreeNode **p = reallocarray(*a, na, sizeof *p);
        if (!p)
                return false;
        *a = p;
        *alloc = na;
        return true;
}

static bool has_inner_processes(const CgroupNode *n) {
        return !n->is_ancestor && n->has_children && n->n_procs > 0;
}

/* The cgroups of s with processes and children below within: a hand-made
 * tree, whose ranking needs the whole subtree (policy.h, NEVER_KILL). In
 * the model; NULL-terminated, NULL when there are none or on ENOMEM. */
static CgTreeNode **inner_processes(const Snapshot *s, CgTree *t, int *ret) {
        _cleanup_free_ CgTreeNode **inner = NULL;
        size_t n = 0, alloc = 0;

        *ret = 0;
        for (size_t i = 1; i < s->n_nodes; i++) {
                CgTreeNode *node;

                if (!has_inner_processes(&s->nodes[i]) || !(node = cgtree_find(t, s->nodes[i].path)))
                        continue;
                if (!nodes_reserve(&inner, &alloc, n + 2)) {
                        *ret = -ENOMEM;
                        return NULL;
                }
                inner[n++] = node;
                inner[n] = NULL;
        }
        return TAKE_PTR(inner);
}

typedef struct Extend {
        const CgTree *t;
        CgTreeNode *const *picks;       /* in visit order */
        size_t n_picks, next_pick;
        CgTreeNode **inner;
        CgTreeNode **nodes;             /* the picks and every cgroup below an inner one */
        size_t n_nodes, alloc;
} Extend;

static bool below_inner(const CgTree *t, CgTreeNode *n, CgTreeNode **inner) {
        for (; n; n = cgtree_node_parent(t, n))
                for (CgTreeNode **i = inner; *i; i++)
                        if (*i == n)
                                return true;
        return false;
}

static int extend_cb(CgTreeNode *n, unsigned depth, bool ancestor, const CgTreeInfo *info, CgTreeMemo *memo,
                     void *userdata) {
        Extend *x = userdata;
        bool pick = x->next_pick < x->n_picks && x->picks[x->next_pick] == n;

        if (ancestor || info->populated == 0)
                return ancestor ? 0 : 1;
        if (pick)
                x->next_pick++;
        if (!pick && !below_inner(x->t, n, x->inner))
                return 0;
        if (!nodes_reserve(&x->nodes, &x->alloc, x->n_nodes + 1))
                return -ENOMEM;
        x->nodes[x->n_nodes++] = n;
        return 0;
}

/* One pass: the band below ceiling, read and ranked. *ret_best: that
 * band's adj (INT_MIN when there was none). */
static int rank_pass(const Config *c, uint16_t gen, CgTree *t, const char *cg_root, const char *proc_root,
                     const char *within, const char *own_cgroup, int min_adj, char *const *busy, int ceiling,
                     int *ret_best, Snapshot **ret_snap, Candidate **ret, size_t *ret_n, size_t *ret_seen) {
        _cleanup_snapshot_free_ Snapshot *s = NULL;
        _cleanup_free_ CgTreeNode **nodes = NULL;
        Visit v = { .t = t, .c = c, .gen = gen, .own_cgroup = own_cgroup, .min_adj = min_adj,
                    .ceiling = ceiling };
        size_t nb = 0;
        int r;

        for (char *const *b = busy; b && *b; b++)
                nb++;
        v.busy = calloc(nb + 1, sizeof *v.busy);
        if (!v.busy)
                return -ENOMEM;
        nb = 0;
        for (char *const *b = busy; b && *b; b++) {
                CgTreeNode *n = cgtree_find(t, *b);

                if (n)
                        v.busy[nb++] = n;
        }

        r = cgtree_visit(t, within, visit_cb, &v);
        if (r >= 0) {
                keep_band(&v);
                nodes = calloc(MAX(v.n_picks, (size_t) 1), sizeof *nodes);
                if (!nodes)
                        r = -ENOMEM;
        }
        if (r >= 0) {
                for (size_t i = 0; i < v.n_picks; i++)
                        nodes[i] = v.picks[i].node;
                r = snapshot_build_some(t, cg_root, proc_root, within, nodes, v.n_picks, &s);
        }
        *ret_seen = v.seen;
        *ret_best = v.have_best ? v.best : INT_MIN;
        visit_done(&v);
        if (r < 0)
                return r;

        _cleanup_free_ CgTreeNode **inner = inner_processes(s, t, &r);
        if (r < 0)
                return r;
        if (inner) {
                /* Those subtrees in full, and nothing else more: a user's
                 * hand-made cgroup must not make every decision read the
                 * whole machine. */
                Extend x = { .t = t, .picks = nodes, .n_picks = v.n_picks, .inner = inner };

                r = cgtree_visit(t, within, extend_cb, &x);
                if (r >= 0) {
                        s = snapshot_free(s);
                        r = snapshot_build_some(t, cg_root, proc_root, within, x.nodes, x.n_nodes, &s);
                }
                free(x.nodes);
                if (r < 0)
                        return r;
        }
        r = policy_rank(c, s, within, own_cgroup, min_adj, busy, ret, ret_n);
        if (r < 0)
                return r;
        *ret_seen = MAX(*ret_seen, *ret_n);
        *ret_snap = TAKE_PTR(s);
        return 0;
}

int rank_band(const Config *c, uint16_t gen, CgTree *t, const char *cg_root, const char *proc_root,
              const char *within, const char *own_cgroup, int min_adj, char *const *busy,
              Snapshot **ret_snap, Candidate **ret, size_t *ret_n, size_t *ret_seen) {
        int ceiling = INT_MAX;

        assert(gen > 0);
        /* A band's leaves may all turn out not eligible when read (emptied
         * or gone since the model last heard of them): then the next band
         * below, and so on. Each pass lowers the ceiling, so this ends. */
        for (;;) {
                _cleanup_snapshot_free_ Snapshot *s = NULL;
                _cleanup_free_ Candidate *cands = NULL;
                size_t n, seen;
                ssize_t head;
                int best, r;

                r = rank_pass(c, gen, t, cg_root, proc_root, within, own_cgroup, min_adj, busy, ceiling, &best,
                              &s, &cands, &n, &seen);
                if (r < 0)
                        return r;
                head = policy_pick_victim(cands, n);
                if (best == INT_MIN || (head >= 0 && cands[head].adj.value >= best)) {
                        *ret_snap = TAKE_PTR(s);
                        *ret = TAKE_PTR(cands);
                        *ret_n = n;
                        *ret_seen = seen;
                        return 0;
                }
                ceiling = best;
        }
}
