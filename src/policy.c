/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy: which cgroup matters how much, and which one dies first. Pure
 * functions over a Snapshot and the Config; no I/O, no logging. */

#include <assert.h>

#include "cgroupfs.h"
#include "policy.h"

/* The bracket expression at p (p points at the '[') against c. Returns 1
 * match, 0 no match, -1 malformed (no closing ']': the '[' is then a literal,
 * as in fnmatch). On a match *ret_end points past the closing ']'. '/' never
 * matches: like '?', a bracket stands for one character of one component. */
static int bracket_match(const char *p, char c, const char **ret_end) {
        bool negate = false, found = false;

        p++;
        if (*p == '!' || *p == '^') {
                negate = true;
                p++;
        }
        /* A ']' right after the '[' (or '[!') is a literal member. */
        for (bool first = true; first || *p != ']'; first = false) {
                char lo, hi;

                if (*p == '\0')
                        return -1;
                if (*p == '\\' && p[1])
                        p++;
                lo = hi = *p++;
                if (*p == '-' && p[1] && p[1] != ']') {
                        p++;
                        if (*p == '\\' && p[1])
                                p++;
                        hi = *p++;
                }
                if ((unsigned char) c >= (unsigned char) lo && (unsigned char) c <= (unsigned char) hi)
                        found = true;
        }
        *ret_end = p + 1;
        return c != '/' && found != negate;
}

/* The matcher simulates the pattern as a nondeterministic automaton: the
 * pattern is compiled into tokens, and the set of tokens that could be next
 * is carried along the path one character at a time. That is O(path length
 * x pattern length) whatever the pattern, where backtracking on every '*'
 * is exponential: user@UID.service delegates its subtree to the user, who
 * picks the names there, and patterns are matched against every cgroup
 * while memory is short. */

typedef enum GlobTokenType {
        GLOB_LITERAL,           /* one character */
        GLOB_ONE,               /* '?': one character but '/' */
        GLOB_SET,               /* '[...]': one character of the set, never '/' */
        GLOB_STAR,              /* '*': any run of characters but '/' */
        GLOB_DOUBLE_STAR,       /* '**' (or more stars): any run of characters */
} GlobTokenType;

typedef struct GlobToken {
        uint8_t type;           /* GlobTokenType */
        char c;                 /* GLOB_LITERAL */
        bool zero_levels;       /* GLOB_DOUBLE_STAR between two '/': "/<double star>/" may match a single '/' */
        const char *set;        /* GLOB_SET: its '[' in the pattern */
} GlobToken;

/* Config lines are at most 199 characters, so no pattern from a file comes
 * near this; a longer one matches nothing (policy_pattern_match() says so). */
#define GLOB_TOKENS_MAX 512

static int glob_compile(const char *pattern, GlobToken *tokens, size_t *ret_n) {
        size_t n = 0;

        for (const char *p = pattern; *p; n++) {
                GlobToken *t = &tokens[n];
                const char *end;

                if (n == GLOB_TOKENS_MAX)
                        return -E2BIG;
                *t = (GlobToken) { .type = GLOB_LITERAL, .c = *p };
                switch (*p) {
                case '*':
                        if (p[1] != '*') {
                                t->type = GLOB_STAR;
                                p++;
                                break;
                        }
                        end = p;
                        while (*end == '*')
                                end++;
                        /* gitignore's "zero levels": "/a/<double star>/b" matches /a/b too. */
                        t->type = GLOB_DOUBLE_STAR;
                        t->zero_levels = p > pattern && p[-1] == '/' && *end == '/';
                        p = end;
                        break;
                case '?':
                        t->type = GLOB_ONE;
                        p++;
                        break;
                case '[':
                        /* Malformed (no closing ']'): a literal '[', as in fnmatch. */
                        if (bracket_match(p, 'a', &end) >= 0) {
                                t->type = GLOB_SET;
                                t->set = p;
                                p = end;
                        } else
                                p++;
                        break;
                case '\\':
                        if (p[1])
                                p++;
                        t->c = *p++;
                        break;
                default:
                        p++;
                        break;
                }
        }
        *ret_n = n;
        return 0;
}

/* Add the states reachable without consuming a character: every star may
 * match nothing. Edges only go forward, so one pass in order is enough; no
 * state below lo is alive. */
static void glob_closure(const GlobToken *tokens, size_t n, size_t lo, bool *states) {
        for (size_t i = lo; i < n; i++)
                if (states[i] && IN_SET(tokens[i].type, GLOB_STAR, GLOB_DOUBLE_STAR))
                        states[i + 1] = true;
}

/* The states after a literal matched just before token k: k, and past each
 * zero-levels double star that follows (its '/' may be the one matched). */
static void glob_after_literal(const GlobToken *tokens, size_t n, size_t k, bool *states) {
        for (;; k += 2) {
                states[k] = true;
                if (k >= n || tokens[k].type != GLOB_DOUBLE_STAR || !tokens[k].zero_levels)
                        break;
        }
}

/* Whether the tokens match all of s. With at_components, a match may also
 * start right after any '/' of s (the tail of a path, at a component
 * boundary). start > 0: the first start tokens are literals that already
 * matched the characters before s (not with at_components). */
static bool glob_run(const GlobToken *tokens, size_t n, size_t start, const char *s, bool at_components) {
        bool a[GLOB_TOKENS_MAX + 1] = {}, b[GLOB_TOKENS_MAX + 1], *cur = a, *next = b;
        const char *last_slash = at_components ? strrchr(s, '/') : NULL;
        /* The lowest state alive: edges only go forward, so it never goes
         * down (but for a new start after a '/'), and the states below it,
         * often a long literal head, need not be looked at again. */
        size_t lo = start;

        if (start > 0)
                glob_after_literal(tokens, n, start, cur);
        else
                cur[0] = true;
        glob_closure(tokens, n, lo, cur);
        for (; *s; s++) {
                bool any = false;
                const char *end;

                memset(next, 0, (n + 1) * sizeof(bool));
                for (size_t i = lo; i < n; i++) {
                        const GlobToken *t = &tokens[i];

                        if (!cur[i])
                                continue;
                        switch (t->type) {
                        case GLOB_LITERAL:
                                if (*s != t->c)
                                        break;
                                /* The '/' before a zero-levels double star
                                 * may also be the '/' after it (tokens k and
                                 * k + 1): "/a/<double star>/b" matches /a/b,
                                 * also several in a row. */
                                glob_after_literal(tokens, n, i + 1, next);
                                break;
                        case GLOB_ONE:
                                if (*s != '/')
                                        next[i + 1] = true;
                                break;
                        case GLOB_SET:
                                if (bracket_match(t->set, *s, &end) > 0)
                                        next[i + 1] = true;
                                break;
                        case GLOB_STAR:
                                if (*s != '/')
                                        next[i] = true;
                                break;
                        case GLOB_DOUBLE_STAR:
                                next[i] = true;
                                break;
                        }
                }
                if (at_components && *s == '/') {
                        next[0] = true;
                        lo = 0;
                }
                glob_closure(tokens, n, lo, next);
                /* Nothing left alive, and no later '/' to start again at. */
                for (; lo <= n && !any; lo++)
                        any = next[lo];
                lo = any ? lo - 1 : n;
                if (!any && !(last_slash && s < last_slash))
                        return false;
                bool *t = cur;
                cur = next;
                next = t;
        }
        return cur[n];
}

/* Whether s is tail, or ends in "/" + tail. */
static bool ends_at_component(const char *s, const char *tail) {
        size_t ls = strlen(s), lt = strlen(tail);

        return ls >= lt && streq(s + ls - lt, tail) && (ls == lt || s[ls - lt - 1] == '/');
}

static bool glob_match(const char *pattern, const char *s, bool at_components) {
        GlobToken tokens[GLOB_TOKENS_MAX];
        size_t n, literal = strcspn(pattern, "*?[\\");

        /* Every rule is matched against every cgroup on each decision, and
         * most patterns are plain names: those need no automaton. */
        if (!pattern[literal])
                return at_components ? ends_at_component(s, pattern) : streq(pattern, s);
        /* The characters before the first special one can only match
         * themselves, at the start: compared here, and the automaton starts
         * after them. */
        if (at_components)
                literal = 0;
        else if (strncmp(pattern, s, literal) != 0)
                return false;

        if (glob_compile(pattern, tokens, &n) < 0)
                return false;
        return glob_run(tokens, n, literal, s + literal, at_components);
}

bool policy_pattern_match(const char *pattern, const char *cgroup_path) {
        if (!pattern || !cgroup_path)
                return false;

        if (pattern[0] == '/')
                return glob_match(pattern, cgroup_path, false);

        if (!strchr(pattern, '/'))
                return glob_match(pattern, cg_path_basename(cgroup_path), false);

        /* A relative pattern with components matches the tail of the path at
         * a component boundary, so "system.slice/x.service" behaves like
         * "/" + double star + "/system.slice/x.service". The path's leading
         * '/' is such a boundary. */
        return cgroup_path[0] == '/' && glob_match(pattern, cgroup_path + 1, true);
}

bool policy_is_protected(const char *path, const char *own_cgroup) {
        if (streq(path, "/") || cg_path_is_below(path, "/init.scope"))
                return true;
        /* The own cgroup and its ancestors: cgroup.kill on any of them would
         * kill the agent too. */
        return own_cgroup && cg_path_is_below(own_cgroup, path);
}

/* The last rule that matches path, or NULL. Without names_trusted, only
 * rules with a leading '/' count: a relative pattern matches names, and in
 * a delegated subtree the user chose them. */
static const PriorityRule *last_matching_rule(const Config *c, const char *path, bool names_trusted) {
        for (size_t i = c->n_rules; i > 0; i--)
                if ((names_trusted || c->rules[i - 1].pattern[0] == '/') &&
                    policy_pattern_match(c->rules[i - 1].pattern, path))
                        return &c->rules[i - 1];
        return NULL;
}

/* Trust follows ownership: a cgroup owned by someone other than the owner
 * of "/" (root, on a real machine) was delegated, and its owner picks the
 * names, xattrs and shape of everything below it. */
static bool node_trusted(const Snapshot *s, size_t idx) {
        return s->nodes[idx].owner == s->nodes[0].owner;
}

/* The upward walks below end only because a parent comes before its
 * children (the snapshot is in pre-order). */
static ssize_t node_parent(const Snapshot *s, ssize_t i) {
        assert(s->nodes[i].parent < i);
        return s->nodes[i].parent;
}

/* The topmost delegated cgroup at or above idx, or -1. */
static ssize_t delegated_root(const Snapshot *s, size_t idx) {
        ssize_t d = -1;

        for (ssize_t i = (ssize_t) idx; i >= 0; i = node_parent(s, i))
                if (!node_trusted(s, (size_t) i))
                        d = i;
        return d;
}

/* The nearest node from idx upwards (idx itself first) whose flag is set. */
static ssize_t find_xattr(const Snapshot *s, size_t idx, bool avoid) {
        for (ssize_t i = (ssize_t) idx; i >= 0; i = node_parent(s, i))
                if (avoid ? s->nodes[i].xattr_avoid : s->nodes[i].xattr_omit)
                        return i;
        return -1;
}

/* policy_rank() resolves every node of a snapshot, and each one looks up
 * its ancestors' rules too: memo[i] keeps node i's own last matching rule
 * (NULL: none), or RULE_UNKNOWN until it is looked up, so that each node is
 * matched against the rules once, not once per descendant. */
static const PriorityRule rule_unknown;
#define RULE_UNKNOWN (&rule_unknown)

static const PriorityRule *node_rule(const Config *c, const Snapshot *s, size_t idx,
                                     const PriorityRule **memo) {
        bool trusted = node_trusted(s, idx);

        if (!memo)
                return last_matching_rule(c, s->nodes[idx].path, trusted);
        if (memo[idx] == RULE_UNKNOWN)
                memo[idx] = last_matching_rule(c, s->nodes[idx].path, trusted);
        return memo[idx];
}

static void resolve_adj(const Config *c, const Snapshot *s, size_t idx, const char *own_cgroup,
                        const PriorityRule **memo, Adj *ret) {
        const CgroupNode *n = &s->nodes[idx];
        const PriorityRule *rule = NULL;
        ssize_t at, d;
        Adj a = {};

        if (policy_is_protected(n->path, own_cgroup)) {
                *ret = (Adj) { .value = ADJ_NEVER_KILL, .source = ADJ_SOURCE_PROTECTED,
                               .from_path = n->path };
                return;
        }

        at = find_xattr(s, idx, false);
        if (at >= 0) {
                *ret = (Adj) { .value = ADJ_NEVER_KILL, .source = ADJ_SOURCE_XATTR_OMIT,
                               .from_path = s->nodes[at].path, .inherited = (size_t) at != idx };
                return;
        }

        /* The cgroup itself, then its ancestors, nearest first. */
        for (at = (ssize_t) idx; at >= 0; at = node_parent(s, at)) {
                rule = node_rule(c, s, (size_t) at, memo);
                if (rule)
                        break;
        }
        if (rule)
                a = (Adj) { .value = rule->adj,
                            .source = (size_t) at == idx ? ADJ_SOURCE_RULE : ADJ_SOURCE_RULE_PARENT,
                            .rule = rule, .from_path = s->nodes[at].path, .inherited = (size_t) at != idx };
        else if (n->has_oom_score_adj && n->min_oom_score_adj != 0)
                a = (Adj) { .value = n->min_oom_score_adj, .source = ADJ_SOURCE_OOM_SCORE_ADJ,
                            .from_path = n->path };
        else
                a = (Adj) { .value = c->default_adj, .source = ADJ_SOURCE_DEFAULT };

        /* avoid is the unit's own word and only ever lowers the value. */
        at = find_xattr(s, idx, true);
        if (at >= 0 && a.value > ADJ_OOMD_AVOID)
                a = (Adj) { .value = ADJ_OOMD_AVOID, .source = ADJ_SOURCE_XATTR_AVOID,
                            .from_path = s->nodes[at].path, .inherited = (size_t) at != idx };

        /* Below a delegated cgroup, only the administrator's absolute path
         * rules may go lower than that cgroup itself: names, oom_score_adj
         * and shape are the user's (DESIGN-NOTES "Trust follows ownership"). */
        d = delegated_root(s, idx);
        if (d >= 0) {
                Adj floor;

                a.delegated_at = s->nodes[d].path;
                if (!node_trusted(s, idx)) {
                        const PriorityRule *any = last_matching_rule(c, n->path, true);

                        if (any && any != rule && any->pattern[0] != '/')
                                a.untrusted_rule = any;
                }
                if ((size_t) d != idx && !(a.rule && a.rule->pattern[0] == '/')) {
                        resolve_adj(c, s, (size_t) d, own_cgroup, memo, &floor);
                        if (a.value < floor.value) {
                                a.value = floor.value;
                                a.raised = true;
                        }
                }
        }

        *ret = a;
}

void policy_resolve_adj(const Config *c, const Snapshot *s, size_t idx, const char *own_cgroup,
                        Adj *ret) {
        resolve_adj(c, s, idx, own_cgroup, NULL, ret);
}

static const char *const adj_source_table[] = {
        [ADJ_SOURCE_PROTECTED]     = "protected",
        [ADJ_SOURCE_XATTR_OMIT]    = "xattr-omit",
        [ADJ_SOURCE_RULE]          = "rule",
        [ADJ_SOURCE_RULE_PARENT]   = "rule-parent",
        [ADJ_SOURCE_XATTR_AVOID]   = "xattr-avoid",
        [ADJ_SOURCE_OOM_SCORE_ADJ] = "oom-score-adj",
        [ADJ_SOURCE_DEFAULT]       = "default",
};

const char *adj_source_to_string(AdjSource s) {
        if ((size_t) s >= ELEMENTSOF(adj_source_table))
                return NULL;
        return adj_source_table[s];
}

char *adj_source_format(const Adj *a, char *buf, size_t len) {
        const char *via = a->inherited && a->from_path ? " via " : "";
        const char *via_path = a->inherited && a->from_path ? a->from_path : "";

        switch (a->source) {
        case ADJ_SOURCE_RULE:
        case ADJ_SOURCE_RULE_PARENT: {
                const char *file = a->rule && a->rule->source.file ? a->rule->source.file : NULL;

                if (file)
                        (void) snprintf(buf, len, "rule %s:%u%s%s", cg_path_basename(file),
                                        a->rule->source.line, via, via_path);
                else
                        (void) snprintf(buf, len, "rule %s%s%s", a->rule ? a->rule->pattern : "?",
                                        via, via_path);
                break;
        }
        case ADJ_SOURCE_XATTR_OMIT:
                (void) snprintf(buf, len, "xattr user.oomd_omit%s%s", via, via_path);
                break;
        case ADJ_SOURCE_XATTR_AVOID:
                (void) snprintf(buf, len, "xattr user.oomd_avoid%s%s", via, via_path);
                break;
        case ADJ_SOURCE_OOM_SCORE_ADJ:
                (void) snprintf(buf, len, "oom_score_adj");
                break;
        case ADJ_SOURCE_PROTECTED:
                (void) snprintf(buf, len, "protected");
                break;
        case ADJ_SOURCE_DEFAULT:
        default:
                (void) snprintf(buf, len, "default");
                break;
        }
        return buf;
}

static const char *const skip_reason_table[] = {
        [SKIP_NONE]          = "none",
        [SKIP_PROTECTED]     = "protected",
        [SKIP_NEVER_KILL]    = "never-kill",
        [SKIP_BELOW_FLOOR]   = "below-floor",
        [SKIP_BEING_KILLED]  = "being-killed",
        [SKIP_NOT_POPULATED] = "not-populated",
};

const char *skip_reason_to_string(SkipReason r) {
        if ((size_t) r >= ELEMENTSOF(skip_reason_table))
                return NULL;
        return skip_reason_table[r];
}

int candidate_compare(const Candidate *a, const Candidate *b, const Snapshot *s) {
        if (a->adj.value != b->adj.value)
                return a->adj.value > b->adj.value ? -1 : 1;
        if (a->footprint != b->footprint)
                return a->footprint > b->footprint ? -1 : 1;
        return strcmp(s->nodes[a->node].path, s->nodes[b->node].path);
}

static int candidate_compare_r(const void *a, const void *b, void *userdata) {
        return candidate_compare(a, b, userdata);
}

static bool is_candidate(const CgroupNode *n, const char *within) {
        if (!cg_path_is_below(n->path, within))
                return false;
        return n->n_procs > 0 || (n->populated && !n->has_children);
}

static bool is_busy(const char *path, char *const *busy) {
        for (char *const *b = busy; b && *b; b++)
                if (cg_path_is_below(path, *b))
                        return true;
        return false;
}

int policy_rank(const Config *c, const Snapshot *s, const char *within, const char *own_cgroup,
                int min_adj, char *const *busy, Candidate **ret, size_t *ret_n) {
        _cleanup_free_ Candidate *cands = NULL;
        _cleanup_free_ const PriorityRule **memo = NULL;
        size_t n = 0;

        for (size_t i = 0; i < s->n_nodes; i++)
                if (is_candidate(&s->nodes[i], within))
                        n++;

        if (n > 0) {
                cands = calloc(n, sizeof(Candidate));
                memo = reallocarray(NULL, s->n_nodes, sizeof *memo);
                if (!cands || !memo)
                        return -ENOMEM;
                for (size_t i = 0; i < s->n_nodes; i++)
                        memo[i] = RULE_UNKNOWN;
        }

        n = 0;
        for (size_t i = 0; i < s->n_nodes; i++) {
                const CgroupNode *node = &s->nodes[i];
                Candidate *cand;

                if (!is_candidate(node, within))
                        continue;

                cand = &cands[n++];
                cand->node = i;
                resolve_adj(c, s, i, own_cgroup, memo, &cand->adj);
                cand->footprint = cgroup_node_footprint(node);

                if (cand->adj.source == ADJ_SOURCE_PROTECTED)
                        cand->skip = SKIP_PROTECTED;
                else if (cand->adj.value <= ADJ_NEVER_KILL)
                        cand->skip = SKIP_NEVER_KILL;
        }

        /* Killing a cgroup takes its subtree with it (cgroup.kill), so one
         * that holds processes and also has a protected or never-kill
         * candidate below it must not be killed either. Only hand-made trees
         * have processes in inner cgroups; systemd never does. */
        for (size_t i = 0; i < n; i++) {
                const CgroupNode *node = &s->nodes[cands[i].node];

                if (cands[i].skip != SKIP_NONE || !node->has_children)
                        continue;
                for (size_t j = 0; j < n; j++)
                        if (j != i && cands[j].skip != SKIP_NONE &&
                            cg_path_is_below(s->nodes[cands[j].node].path, node->path)) {
                                cands[i].skip = SKIP_NEVER_KILL;
                                break;
                        }
        }

        for (size_t i = 0; i < n; i++) {
                const CgroupNode *node = &s->nodes[cands[i].node];

                if (cands[i].skip != SKIP_NONE)
                        continue;
                if (is_busy(node->path, busy))
                        cands[i].skip = SKIP_BEING_KILLED;
                else if (!node->populated)
                        cands[i].skip = SKIP_NOT_POPULATED;
                else if (cands[i].adj.value < min_adj)
                        cands[i].skip = SKIP_BELOW_FLOOR;
        }

        if (n > 1)
                qsort_r(cands, n, sizeof(Candidate), candidate_compare_r, (void *) s);

        *ret = TAKE_PTR(cands);
        *ret_n = n;
        return 0;
}

ssize_t policy_pick_victim(const Candidate *cands, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (cands[i].skip == SKIP_NONE)
                        return (ssize_t) i;
        return -1;
}
