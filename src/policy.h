/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* policy: adj resolution (DESIGN §4) and victim selection (DESIGN §6) as
 * pure functions over a Snapshot and the config's rules. No I/O, no logging,
 * no allocation except the ranking array. Tested on static arrays.
 *
 * Adj of a cgroup C, first answer wins:
 *  1. protected (policy_is_protected()) -> -1000, "protected".
 *  2. user.oomd_omit on C or an ancestor (snapshot only reports it on
 *     root-owned cgroups, as systemd writes it) -> -1000.
 *  3. rules: the LAST [Priority] rule matching C; if none matches C, the
 *     nearest ancestor some rule matches, with the last rule matching that
 *     ancestor ("via /system.slice").
 *  4. user.oomd_avoid on C or an ancestor applies whenever present: -900,
 *     unless a rule gave a value <= -900 (rule -950 stays, rule 300 -> -900),
 *     or, with no rule, the processes' oom_score_adj is lower than -900.
 *  5. no rule: the minimum oom_score_adj of C's processes when it is not 0.
 *     0 is the kernel's default, which nobody chose, so it does not speak
 *     for the cgroup and DefaultAdj applies instead (with DefaultAdj=0 the
 *     value is the same; only the reported source differs).
 *  6. DefaultAdj.
 *  7. Trust follows ownership: a cgroup whose directory is not owned by the
 *     owner of "/" is delegated (user@UID.service and below). Relative
 *     patterns (names) do not match delegated cgroups, and below the topmost
 *     delegated cgroup D, a value lower than D's is raised to D's unless an
 *     absolute rule (leading '/') gave it: the administrator wrote that. */

#include "config.h"
#include "snapshot.h"

#define ADJ_NEVER_KILL ADJ_MIN
#define ADJ_OOMD_AVOID (-900)

typedef enum AdjSource {
        ADJ_SOURCE_PROTECTED,   /* root, /init.scope, the agent's own cgroup */
        ADJ_SOURCE_XATTR_OMIT,  /* user.oomd_omit on it or an ancestor */
        ADJ_SOURCE_RULE,        /* a [Priority] rule matched the cgroup itself */
        ADJ_SOURCE_RULE_PARENT, /* ... matched its nearest matched ancestor */
        ADJ_SOURCE_XATTR_AVOID, /* user.oomd_avoid */
        ADJ_SOURCE_OOM_SCORE_ADJ,
        ADJ_SOURCE_DEFAULT,
} AdjSource;

typedef struct Adj {
        int value;
        AdjSource source;
        const PriorityRule *rule;       /* for RULE / RULE_PARENT */
        const char *from_path;          /* the cgroup that carried the xattr or matched the rule
                                         * (points into the snapshot; NULL for default) */
        bool inherited;                 /* from_path is an ancestor, not the cgroup itself */
        const char *delegated_at;       /* the topmost delegated cgroup at or above it (NULL: none) */
        const PriorityRule *untrusted_rule; /* a relative rule that matches its name but is not
                                         * honoured because the cgroup is delegated */
        bool raised;                    /* value raised to delegated_at's adj */
} Adj;

/* "rule 50-desktop.conf:7", "rule 50-desktop.conf:7 via /system.slice",
 * "xattr user.oomd_omit", "xattr user.oomd_avoid via /batch.slice",
 * "oom_score_adj", "default", "protected". Written into buf (basename of
 * the rule's file; truncated to len). */
char *adj_source_format(const Adj *a, char *buf, size_t len);
const char *adj_source_to_string(AdjSource s);  /* short machine word, for JSON/journal */

/* Glob match of a [Priority] pattern against a cgroup path.
 *
 * A pattern with a leading '/' matches the whole path: '*', '?' and [...]
 * do not cross '/', a double star does. As in gitignore, a pattern ending in
 * '/' + double star matches everything below that cgroup but not the cgroup
 * itself, and '/' + double star + '/' in the middle also matches a single
 * '/' (zero levels), so "/a/<double star>/b" matches /a/b and /a/x/y/b.
 *
 * A pattern without a leading '/' matches the cgroup's own name, the last
 * component ("nginx.service", "app-firefox-*.scope"); if it contains a '/'
 * ("system.slice/x.service") it matches the last components of the path.
 * '\\' escapes the next character.
 *
 * Runs in O(strlen(pattern) x strlen(cgroup_path)) time whatever the stars
 * (no backtracking), with no allocation. A pattern of more than 512 tokens
 * (far beyond a config line's 199 characters) matches nothing. */
bool policy_pattern_match(const char *pattern, const char *cgroup_path);

/* Protected cgroups, whatever the config says: the root, /init.scope and
 * everything below it, the agent's own cgroup (own_cgroup, may be NULL) and
 * its ancestors. Ancestors hold no processes under systemd, but where they
 * do (a hybrid or hand-made tree) killing one with cgroup.kill would take the
 * agent down with it. */
bool policy_is_protected(const char *path, const char *own_cgroup);

/* Resolve the adj of node idx. */
void policy_resolve_adj(const Config *c, const Snapshot *s, size_t idx, const char *own_cgroup,
                        Adj *ret);

typedef enum SkipReason {
        SKIP_NONE = 0,          /* eligible */
        SKIP_PROTECTED,
        SKIP_NEVER_KILL,        /* adj == -1000 */
        SKIP_BELOW_FLOOR,       /* adj < the level's floor */
        SKIP_BEING_KILLED,
        SKIP_NOT_POPULATED,
} SkipReason;
const char *skip_reason_to_string(SkipReason r);

typedef struct Candidate {
        size_t node;            /* index into the snapshot */
        Adj adj;
        uint64_t footprint;
        SkipReason skip;
} Candidate;

/* All candidates below "within" (a monitor cgroup, "/" for all; within
 * itself included, its ancestors not): cgroups that hold processes directly
 * (leaves of the process tree; systemd puts processes only in leaves), or
 * populated leaves whose processes could not be read. Nodes that hold no
 * process (vanished, empty) are not candidates at all.
 * Sorted in kill order by candidate_compare(). skip is set, first reason
 * wins: PROTECTED; NEVER_KILL (adj -1000, or a candidate whose subtree holds
 * a protected or never-kill candidate, because the kill takes the subtree);
 * BEING_KILLED (at or below a path of busy, NULL-terminated, may be NULL);
 * NOT_POPULATED (processes were listed but cgroup.events said empty);
 * BELOW_FLOOR (adj < min_adj). Skipped candidates stay in the array in rank
 * order so that callers can explain them.
 * Returns 0, *ret (malloc'd, NULL when *ret_n is 0) and *ret_n; -ENOMEM. */
int policy_rank(const Config *c, const Snapshot *s, const char *within, const char *own_cgroup,
                int min_adj, char *const *busy, Candidate **ret, size_t *ret_n);

/* The index of the first eligible candidate of a ranking, or -1 when there is none. */
ssize_t policy_pick_victim(const Candidate *cands, size_t n);

/* Kill-order comparator (exposed for tests): adj descending, then footprint
 * descending, then path ascending (strcmp) for determinism. */
int candidate_compare(const Candidate *a, const Candidate *b, const Snapshot *s);
