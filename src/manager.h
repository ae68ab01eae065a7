/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* manager: the one object that owns everything — the sd-event loop, the
 * config, the monitors, the reaper, signals (SIGHUP reload, SIGTERM/SIGINT
 * stop), the watchdog, sd_notify, per-monitor cooldowns, and the victims
 * that did not die (passed over for a while). It turns a level event into a
 * kill decision by asking policy, and hands the victim to the reaper. It
 * parses nothing itself. */

#include <systemd/sd-event.h>

#include "config.h"
#include "monitor.h"
#include "policy.h"
#include "reaper.h"
#include "snapshot.h"

typedef struct ManagerOptions {
        const char *config_root;        /* --root */
        const char *config_file;        /* --config */
        const char *cgroup_root;        /* --cgroup-root; NULL = from mountinfo */
        const char *proc_root;          /* "/proc" */
        bool force_dry_run;             /* --dry-run */
        void (*settled)(void);          /* start-up, or the last kill, 30s ago (cgreapd.c) */
} ManagerOptions;

typedef struct Manager Manager;

/* Loads and validates the config (errors printed as "path:line: message"),
 * finds the cgroup2 mount, and sets up the loop and all monitors.
 * Returns 0, -EINVAL for an invalid config, -ENOMEDIUM without cgroup2. */
int manager_new(const ManagerOptions *opts, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) { *m = manager_free(*m); }

/* Runs until SIGTERM/SIGINT. Returns 0 or negative errno. */
int manager_run(Manager *m);

/* Re-reads the config; keeps the running one when the new one is invalid.
 * Returns 0 when the new config is in use, -EINVAL when it was refused. */
int manager_reload(Manager *m);

/* Cooldown bookkeeping (pure, exposed for tests): whether a monitor whose
 * last kill finished at last_kill_end may act at now. */
bool cooldown_active(usec_t last_kill_end, usec_t post_kill_delay, usec_t now);

/* How long a victim that did not die (still populated after KillTimeout=,
 * or its kill reached no process) is passed over, unless its cgroup empties
 * first: KILL_RETRY_TIMEOUTS times KillTimeout=, or KILL_RETRY_FALLBACK_USEC
 * for a timeout of 0 or infinity (the reaper's "wait forever", which the
 * configuration does not allow today).
 * A minute at the default 5s: long enough for the next candidates to be
 * chosen during one pressure episode, short enough that a victim that
 * could not be killed for a passing reason is tried again. */
#define KILL_RETRY_TIMEOUTS 12U
#define KILL_RETRY_FALLBACK_USEC (60 * USEC_PER_SEC)
usec_t kill_retry_interval(usec_t kill_timeout);

/* Rate limit for "nothing eligible" records: at most one per interval per
 * monitor and level. */
#define NOTHING_ELIGIBLE_INTERVAL_USEC (10 * USEC_PER_SEC)
/* A decision that found nothing eligible is not taken again at that level
 * for this long (unless a kill ends or the configuration changes): while
 * armed every poll would otherwise read the whole tree again. Short, since
 * a service started meanwhile is not seen before it passes. */
#define NOTHING_ELIGIBLE_MEMO_USEC (1 * USEC_PER_SEC)
/* Pressure without evidence is said at info level at most this often per
 * monitor (always at debug): often enough to explain a quiet agent. */
#define NO_EVIDENCE_LOG_INTERVAL_USEC (60 * USEC_PER_SEC)
bool ratelimit_pass(usec_t *last, usec_t interval, usec_t now);

/* ---- for the bus interface (bus.c) ---- */
#include "metrics.h"

void manager_get_metrics(const Manager *m, Metrics *ret);
/* The i-th monitored cgroup; false past the last. ret_last_level: the
 * level of its last event (LEVEL_NONE before the first), ret_last_usec
 * its CLOCK_MONOTONIC time (0 before the first). */
bool manager_get_monitor(const Manager *m, size_t i, const char **ret_name, const char **ret_cgroup,
                         bool *ret_armed, Level *ret_last_level, usec_t *ret_last_usec);
/* The i-th victim passed over; NULL past the last. */
const char *manager_get_stuck(const Manager *m, size_t i);
/* The cgroups whose kill is in flight; NULL-terminated. */
char *const *manager_being_killed(Manager *m);

/* The daemon's ranking inside cgroup at level, as its next decision there
 * would see it now: its config, the floors of the monitor acting on cgroup
 * (the one on it or its nearest ancestor; [Kill]'s without one), and the
 * victims being killed and passed over excluded. */
typedef struct ManagerRanking {
        Snapshot *snapshot;
        Candidate *cands;
        size_t n;
        int min_adj;
        const char *monitor;    /* its name, NULL for [Kill]'s floors; valid until the next loop turn */
} ManagerRanking;
/* Returns 0, -EINVAL for a path that is not plain, -ENOENT if cgroup does
 * not exist, other errors of snapshot_build(). */
int manager_rank(Manager *m, const char *cgroup, Level level, ManagerRanking *ret);
void manager_ranking_done(ManagerRanking *r);
/* "eligible", "passed-over" (a victim that did not die) or the skip reason
 * (skip_reason_to_string()). */
const char *manager_candidate_state(Manager *m, const ManagerRanking *r, const Candidate *c);

/* A kill asked for by root (REASON=manual), reported like any other.
 * cgroup is a path below the cgroup2 mount. force: an adj of -1000 does
 * not stop it. Returns 0 and the kill's id, -EINVAL for a path that is
 * not plain, -ENOENT if it does not exist or holds no process, -EPERM when
 * it or a cgroup below it is protected (or has adj -1000, without force),
 * -EBUSY while it is being killed, other errors of reaper_kill(). */
int manager_kill_manual(Manager *m, const char *cgroup, bool force, uint64_t *ret_kill_id);
