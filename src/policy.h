/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* policy: adj resolution (DESIGN §4) and victim selection (DESIGN §6) as
 * pure functions over a Snapshot and the config's rules. No I/O, no logging.
 * Tested on static arrays. */

#include "config.h"
#include "snapshot.h"

#define ADJ_MIN (-1000)
#define ADJ_MAX 1000
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
        const char *from_path;          /* the cgroup that carried the xattr or matched the rule */
} Adj;

/* "rule 50-desktop.conf:7", "rule 50-desktop.conf:7 via /system.slice",
 * "xattr user.oomd_omit", "xattr user.oomd_avoid", "oom_score_adj",
 * "default", "protected". Written into buf (basename of the rule's file). */
char *adj_source_format(const Adj *a, char *buf, size_t len);
const char *adj_source_to_string(AdjSource s);  /* short machine word, for JSON/journal */

/* Glob match of a [Priority] pattern against a cgroup path: a pattern with a
 * leading '/' matches the whole path ('*' and '?' do not cross '/', '**' does);
 * otherwise it matches the last component. */
bool policy_pattern_match(const char *pattern, const char *cgroup_path);

/* Protected cgroups, whatever the config says. own_cgroup may be NULL. */
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

/* All candidates below "within" (a monitor cgroup, "/" for all): cgroups that
 * hold processes directly (leaves of the process tree; systemd puts processes
 * only in leaves), sorted in kill order: highest adj first, then largest
 * footprint, then path. skip is set against min_adj and the busy list
 * (paths being killed, NULL-terminated, may be NULL). Returns count, *ret
 * malloc'd. */
int policy_rank(const Config *c, const Snapshot *s, const char *within, const char *own_cgroup,
                int min_adj, char *const *busy, Candidate **ret, size_t *ret_n);

/* The first eligible candidate of a ranking, or -1 when there is none. */
ssize_t policy_pick_victim(const Candidate *cands, size_t n);

/* Kill-order comparator (exposed for tests). */
int candidate_compare(const Candidate *a, const Candidate *b, const Snapshot *s);
