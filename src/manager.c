/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager: owns the loop and every piece of state; decides when to ask
 * policy for a victim and hands it to the reaper. See manager.h. */

#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "bus.h"
#include "cgroupfs.h"
#include "cgtree.h"
#include "evidence.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"
#include "policy.h"
#include "rank.h"
#include "report.h"
#include "snapshot.h"

/* One watched cgroup under one [Monitor] section. Kept apart from Monitor
 * so that cooldowns survive a reload (monitors are rebuilt then). */
typedef struct Entry {
        Manager *manager;
        Monitor *mon;
        char *name;             /* [Monitor NAME] */
        char *cgroup;
        bool killing;
        bool gone;
        bool keep;              /* mark for sync */
        usec_t last_kill_end;   /* of a kill at, above or below this cgroup */
        usec_t last_nothing[3]; /* per Level, for the rate limit */
        EvidenceReading base;   /* the rates' start, taken after the last kill */
        bool have_base;
        bool after_kill;        /* a kill ended while the monitor was armed ... */
        unsigned kill_arm_seq;  /* ... and this arming of it still goes on */
        usec_t nothing_until[3];        /* per Level: nothing was eligible, do not look again before */
        usec_t last_no_evidence;        /* a look that found none, for the rate limits */
        usec_t last_no_evidence_log;
        Level last_level;               /* of the last level event, for the bus */
        usec_t last_event_usec;
} Entry;

/* A victim that did not die: still populated after KillTimeout=, or its
 * kill reached no process (EPERM, ...). It is passed over, so that it
 * cannot block every other candidate, until its cgroup.events says
 * "populated 0" or until 'until' (see kill_retry_interval()). */
typedef struct Stuck {
        Manager *manager;
        char *cgroup;
        usec_t until;
        sd_event_source *watch;         /* inotify on its cgroup.events */
} Stuck;

typedef struct Watch {
        char *path;
        sd_event_source *src;
        bool keep;
} Watch;

struct Manager {
        ManagerOptions opts;
        char *opt_config_root, *opt_config_file, *opt_proc_root;

        sd_event *event;
        sd_event_source *sig_term, *sig_int, *sig_hup;
        sd_event_source *resync;
        bool resync_rebuild;            /* the next resync recreates every monitor */

        Config *config;
        uint16_t rank_gen;      /* of config, for what the model keeps of it (rank.h) */
        ConfigLoadOptions load_opts;

        char *cg_root;
        char *own_cgroup;
        bool have_memory;
        MonitorEnv env;

        CgTree *tree;                   /* NULL: decisions walk the whole tree */
        sd_event_source *tree_src, *tree_timer;
        sd_event_source *settle_timer;  /* opts.settled */
        usec_t tree_warned, tree_built, tree_delay;

        Entry **entries;
        size_t n_entries;
        Watch *watches;
        size_t n_watches;

        Reaper *reaper;
        struct KillContext *kills;      /* handed to the reaper, not completed yet */
        char *dry_run_victim;           /* the last "would kill", holding its episode until dry_run_until */
        usec_t dry_run_until;
        Stuck **stuck;
        size_t n_stuck;

        bool ready;                     /* READY=1 sent: STATUS= lines may follow */
        bool mrelease_unsupported_logged;
        uint64_t n_kills;
        uint64_t n_kill_timeouts;       /* kills still populated after KillTimeout= */
        uint64_t n_kill_failures;       /* kills that reached no process */
        uint64_t n_kernel_oom_kills;
        char last_kill[256];

        Bus *bus;                       /* NULL when the system bus is not there */
        uint64_t freed_bytes;
        Histogram kill_latency, reclaim_time;
        usec_t last_unreadable;         /* for the rate limit of manager_note_unreadable() */
};

/* Candidates tried for one decision when the best ones cannot be killed
 * (emptied meanwhile, signal refused), and decisions taken again for one
 * event when a kill reached nothing: each attempt costs a subtree walk and
 * pidfd_open()s; a few cover the races, and the next event goes on. */
#define KILL_ATTEMPTS_MAX 4U

/* What the reaper callbacks need to write the two records of one kill.
 * Copies, because the snapshot and even the monitor may be gone by then. */
typedef struct KillContext {
        Manager *manager;
        struct KillContext *next;       /* Manager.kills: freed with it when a kill is
                                         * still out at exit (the reaper cancels it) */
        Level level;
        unsigned retry;         /* see manager_decide() */
        usec_t event_usec;      /* when the event that asked for the kill was dispatched */
        char *monitor_name, *monitor_cgroup;
        char *cgroup, *adj_source, *trigger, *evidence;
        KillReport report;
} KillContext;

/* A user can make cgroups that cannot be read (threaded ones) as often as
 * they like: the warning comes at most once a minute. */
#define UNREADABLE_LOG_INTERVAL_USEC (60 * USEC_PER_SEC)

/* Some cgroups could not be read: the decision is taken from the rest, and
 * the operator hears so, rate-limited. */
static void manager_note_unreadable(Manager *m, const Snapshot *s, const char *top, usec_t now) {
        if (s->n_unreadable == 0 || !ratelimit_pass(&m->last_unreadable, UNREADABLE_LOG_INTERVAL_USEC, now))
                return;
        log_warning_errno(s->first_unreadable_error, "Could not read %zu cgroup%s below %s (first: %s: %m), deciding from the rest.",
                          s->n_unreadable, s->n_unreadable == 1 ? "" : "s", top,
                          s->first_unreadable ? s->first_unreadable : top);
}

bool cooldown_active(usec_t last_kill_end, usec_t post_kill_delay, usec_t now) {
        return last_kill_end > 0 && now >= last_kill_end && now - last_kill_end < post_kill_delay;
}

usec_t kill_retry_interval(usec_t kill_timeout) {
        if (kill_timeout == 0 || kill_timeout == USEC_INFINITY)
                return KILL_RETRY_FALLBACK_USEC;
        if (kill_timeout > USEC_INFINITY / KILL_RETRY_TIMEOUTS)
                return USEC_INFINITY;
        return kill_timeout * KILL_RETRY_TIMEOUTS;
}

bool ratelimit_pass(usec_t *last, usec_t interval, usec_t now) {
        if (*last > 0 && now >= *last && now - *last < interval)
                return false;
        *last = now;
        return true;
}

static bool manager_dry_run(const Manager *m) {
        return m->opts.force_dry_run || m->config->dry_run;
}

/* "Monitoring 3 cgroups; 2 kills, 1 timed out, 1 failed, 4 by the kernel;
 * last: web.service (adj 100, 1.0M)", the counts that are 0 left out. */
static void manager_format_status(Manager *m, char *buf, size_t len) {
        char timeouts[48] = "", failures[48] = "", oom[48] = "";
        size_t n_mon = 0;

        for (size_t i = 0; i < m->n_entries; i++)
                n_mon += !m->entries[i]->gone;

        if (m->n_kill_timeouts > 0)
                (void) snprintf(timeouts, sizeof timeouts, ", %" PRIu64 " timed out", m->n_kill_timeouts);
        if (m->n_kill_failures > 0)
                (void) snprintf(failures, sizeof failures, ", %" PRIu64 " failed", m->n_kill_failures);
        if (m->n_kernel_oom_kills > 0)
                (void) snprintf(oom, sizeof oom, ", %" PRIu64 " by the kernel", m->n_kernel_oom_kills);

        (void) snprintf(buf, len, "%sMonitoring %zu cgroup%s; %" PRIu64 " kill%s%s%s%s%s%s",
                        manager_dry_run(m) ? "[dry run] " : "", n_mon, n_mon == 1 ? "" : "s",
                        m->n_kills, m->n_kills == 1 ? "" : "s", timeouts, failures, oom,
                        m->last_kill[0] ? "; last: " : "", m->last_kill);
}

/* Nothing before READY=1: the service manager shows the first STATUS=
 * together with the state it belongs to. */
static void manager_update_status(Manager *m) {
        char status[512];

        if (!m->ready || !m->config->report_status)
                return;
        manager_format_status(m, status, sizeof status);
        log_debug("Status: %s", status);
        (void) sd_notifyf(false, "STATUS=%s", status);
}

/* The textfile for node_exporter (MetricsFile=): at start, on reload and
 * after each kill, reclaim and kernel OOM kill; never on a timer. */
static void manager_write_metrics(Manager *m) {
        Metrics mt;
        int r;

        if (!m->config->metrics_file)
                return;
        manager_get_metrics(m, &mt);
        r = metrics_write_file(&mt, m->config->metrics_file);
        if (r < 0)
                log_warning_errno(r, "Failed to write MetricsFile=%s: %m", m->config->metrics_file);
}

static void manager_notify_ready(Manager *m) {
        char status[512];

        manager_write_metrics(m);
        m->ready = true;
        if (!m->config->report_status) {
                (void) sd_notify(false, "READY=1");
                return;
        }
        manager_format_status(m, status, sizeof status);
        log_debug("Status: %s", status);
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", status);
}

/* ---- victims that did not die ---- */

static Stuck *stuck_free(Stuck *st) {
        if (!st)
                return NULL;
        sd_event_source_disable_unref(st->watch);
        free(st->cgroup);
        free(st);
        return NULL;
}

static ssize_t manager_find_stuck(Manager *m, const char *cgroup) {
        for (size_t i = 0; i < m->n_stuck; i++)
                if (streq(m->stuck[i]->cgroup, cgroup))
                        return (ssize_t) i;
        return -1;
}

static void manager_drop_stuck(Manager *m, size_t i, const char *why) {
        log_info("%s %s: it may be chosen again.", m->stuck[i]->cgroup, why);
        stuck_free(m->stuck[i]);
        memmove(m->stuck + i, m->stuck + i + 1, (m->n_stuck - i - 1) * sizeof *m->stuck);
        m->n_stuck--;
}

/* 1 when the cgroup holds no process any more (or is gone), 0 when it
 * does, <0 when that cannot be told. */
static int manager_cgroup_empty(Manager *m, const char *cgroup) {
        CgroupEvents ev;
        int r;

        r = cg_read_events(m->cg_root, cgroup, &ev);
        if (ERRNO_IS_VANISHED(r))
                return 1;
        if (r < 0)
                return r;
        return !ev.populated;
}

static int on_stuck_events(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Stuck *st = userdata;
        Manager *m = st->manager;
        ssize_t i;

        if (manager_cgroup_empty(m, st->cgroup) <= 0)
                return 0;
        i = manager_find_stuck(m, st->cgroup);
        if (i >= 0)
                manager_drop_stuck(m, (size_t) i, "is empty now");     /* frees st and s */
        return 0;
}

/* Pass cgroup over until it is empty or kill_retry_interval() has passed. */
static void manager_add_stuck(Manager *m, const char *cgroup) {
        _cleanup_free_ char *events = NULL;
        usec_t until = usec_add(now_usec(), kill_retry_interval(m->config->kill_timeout));
        ssize_t i = manager_find_stuck(m, cgroup);
        Stuck *st;
        int r;

        if (i >= 0) {
                m->stuck[i]->until = until;
                return;
        }

        st = calloc(1, sizeof *st);
        if (!st) {
                log_oom();
                return;
        }
        st->manager = m;
        st->until = until;
        st->cgroup = strdup(cgroup);
        events = cg_path(m->cg_root, cgroup, "cgroup.events");
        if (!st->cgroup || !events) {
                stuck_free(st);
                log_oom();
                return;
        }
        r = sd_event_add_inotify(m->event, &st->watch, events, IN_MODIFY, on_stuck_events, st);
        if (ERRNO_IS_VANISHED(r)) {
                stuck_free(st);         /* gone already: nothing to pass over */
                return;
        }
        if (r < 0)
                /* The expiry and the check before each decision still end it. */
                log_debug_errno(r, "Failed to watch %s: %m", events);
        else
                (void) sd_event_source_set_description(st->watch, "stuck-cgroup-events");

        Stuck **l = reallocarray(m->stuck, m->n_stuck + 1, sizeof *l);
        if (!l) {
                stuck_free(st);
                log_oom();
                return;
        }
        m->stuck = l;
        m->stuck[m->n_stuck++] = st;
}

/* Before a decision: forget the victims that emptied (an inotify event
 * may not have been dispatched yet) or whose interval passed. */
static void manager_prune_stuck(Manager *m, usec_t now) {
        for (size_t i = m->n_stuck; i-- > 0; ) {
                if (now >= m->stuck[i]->until)
                        manager_drop_stuck(m, i, "was passed over long enough");
                else if (manager_cgroup_empty(m, m->stuck[i]->cgroup) > 0)
                        manager_drop_stuck(m, i, "is empty now");
        }
}

/* What policy must not choose: the cgroups being killed and those that
 * did not die. NULL-terminated, pointers owned by the reaper and m, with
 * room for that many more; *ret_n: the entries. */
static char **manager_excluded(Manager *m, size_t room, size_t *ret_n) {
        char *const *busy = reaper_busy(m->reaper);
        size_t n = 0, j = 0;
        char **l;

        while (busy[n])
                n++;
        l = reallocarray(NULL, n + m->n_stuck + room + 1, sizeof(char *));
        if (!l)
                return NULL;
        for (size_t i = 0; i < n; i++)
                l[j++] = busy[i];
        for (size_t i = 0; i < m->n_stuck; i++)
                l[j++] = m->stuck[i]->cgroup;
        l[j] = NULL;
        if (ret_n)
                *ret_n = j;
        return l;
}

/* A kill that reached no process: not a kill. Said once, counted, and the
 * victim passed over so that the next one can be chosen. */
static void manager_kill_failed(Manager *m, const char *cgroup, int error) {
        char iv[FORMAT_DURATION_MAX];

        format_duration(iv, sizeof iv, kill_retry_interval(m->config->kill_timeout));
        if (error == -EDEADLK)
                log_error("Refusing to kill %s: cgreapd itself runs inside it. Passing it over for %s.",
                          cgroup, iv);
        else
                log_warning_errno(error, "Failed to kill %s, no process was signalled: %m. "
                                  "Passing it over for %s or until it is empty.", cgroup, iv);
        m->n_kill_failures++;
        manager_add_stuck(m, cgroup);
        manager_update_status(m);
        manager_write_metrics(m);
}

/* ---- kills ---- */

static KillContext *kill_context_free(KillContext *k) {
        if (!k)
                return NULL;
        for (KillContext **p = &k->manager->kills; *p; p = &(*p)->next)
                if (*p == k) {
                        *p = k->next;
                        break;
                }
        free(k->monitor_name);
        free(k->monitor_cgroup);
        free(k->cgroup);
        free(k->adj_source);
        free(k->trigger);
        free(k->evidence);
        free(k);
        return NULL;
}

static Entry *manager_find_entry(Manager *m, const char *name, const char *cgroup) {
        for (size_t i = 0; i < m->n_entries; i++)
                if (streq(m->entries[i]->name, name) && streq(m->entries[i]->cgroup, cgroup))
                        return m->entries[i];
        return NULL;
}

/* ---- the model of the tree ---- */

/* A model that lost events is built again after TREE_REBUILD_USEC, twice
 * as late each time it is lost again within TREE_STABLE_USEC, up to
 * TREE_RETRY_USEC (also the wait after a refused watch): never within a
 * decision, and never so often that a user's storm keeps a core busy. */
#define TREE_REBUILD_USEC USEC_PER_SEC
#define TREE_STABLE_USEC USEC_PER_MINUTE
#define TREE_RETRY_USEC (5 * USEC_PER_MINUTE)
#define TREE_WARN_INTERVAL_USEC (60 * USEC_PER_MINUTE)

static int on_tree_event(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int on_tree_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void manager_tree_drop(Manager *m) {
        m->tree_src = sd_event_source_disable_unref(m->tree_src);
        m->tree = cgtree_free(m->tree);
}

/* (Re)arm *s, a one-shot timer delay from now (1s accuracy). */
static int manager_timer_later(Manager *m, sd_event_source **s, usec_t delay, sd_event_time_handler_t cb,
                               const char *description) {
        int r;

        if (*s) {
                r = sd_event_source_set_time_relative(*s, delay);
                return r < 0 ? r : sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
        }
        r = sd_event_add_time_relative(m->event, s, CLOCK_MONOTONIC, delay, USEC_PER_SEC, cb, m);
        if (r >= 0)
                (void) sd_event_source_set_description(*s, description);
        return r;
}

static void manager_tree_later(Manager *m, usec_t delay) {
        int r = manager_timer_later(m, &m->tree_timer, delay, on_tree_timer, "cgroup-tree-rebuild");

        if (r < 0)
                log_debug_errno(r, "Failed to schedule the rebuild of the tree model: %m");
}

/* After start-up and after each kill: opts.settled() once SETTLE_USEC
 * pass without another, and never while a kill is out or a monitor is
 * armed (what settled() does must not slow a kill down). */
#define SETTLE_USEC (30 * USEC_PER_SEC)

static void manager_settle_later(Manager *m);

static int on_settle_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i]->mon && monitor_is_armed(m->entries[i]->mon)) {
                        manager_settle_later(m);
                        return 0;
                }
        if (m->kills)
                manager_settle_later(m);
        else
                m->opts.settled();
        return 0;
}

static void manager_settle_later(Manager *m) {
        if (m->opts.settled)
                (void) manager_timer_later(m, &m->settle_timer, SETTLE_USEC, on_settle_timer, "settled");
}

/* Resolve now what the model keeps of the rules (rank.h), not in the next
 * decision. */
static void manager_tree_prepare(Manager *m) {
        usec_t t0 = now_usec();
        size_t n = 0;
        int r;

        r = rank_prepare(m->config, m->rank_gen, m->tree, m->own_cgroup, &n);
        if (r < 0)
                log_debug_errno(r, "Failed to resolve the adj of the cgroups in the model: %m");
        else
                log_debug("Tree model: adj of %zu cgroups resolved in %" PRIu64 " us.", n, now_usec() - t0);
}

/* Build the model (cgtree.h). Without it, decisions read the whole tree as
 * they always could: slower with many cgroups, never wrong. */
static void manager_tree_start(Manager *m) {
        size_t n, empty;
        usec_t t0 = now_usec();
        int r;

        manager_tree_drop(m);
        r = cgtree_new(m->cg_root, &m->tree);
        if (r >= 0) {
                r = sd_event_add_io(m->event, &m->tree_src, cgtree_fd(m->tree), EPOLLIN, on_tree_event, m);
                /* A decision brings the model up to date itself: a user's
                 * storm of mkdirs must not delay a pressure event. */
                if (r >= 0)
                        (void) sd_event_source_set_priority(m->tree_src, SD_EVENT_PRIORITY_IDLE);
        }
        if (r < 0) {
                manager_tree_drop(m);
                manager_tree_later(m, TREE_RETRY_USEC);
                if (ratelimit_pass(&m->tree_warned, TREE_WARN_INTERVAL_USEC, t0))
                        log_warning_errno(r, "Cannot keep a model of the cgroup tree (%m)%s; each decision reads "
                                          "the whole tree instead.",
                                          r == -ENOSPC ? ": more cgroups than 3/4 of the fs.inotify."
                                          "max_user_watches sysctl allows" :
                                          r == -EMFILE ? ": more cgroups than LimitNOFILE= allows" : "");
                return;
        }
        (void) sd_event_source_set_description(m->tree_src, "cgroup-tree");
        m->tree_built = t0;
        manager_tree_prepare(m);
        cgtree_count(m->tree, &n, &empty);
        log_debug("Tree model: %zu cgroups, %zu of them empty, built in %" PRIu64 " us.", n, empty,
                  now_usec() - t0);
}

static int on_tree_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_tree_start(userdata);
        return 0;
}

/* The model with every queued change applied, or NULL. One that lost
 * events is dropped and built again later (decisions walk meanwhile). */
static CgTree *manager_tree(Manager *m) {
        int r;

        if (!m->tree)
                return NULL;
        r = cgtree_process(m->tree);
        if (r >= 0)
                return m->tree;
        usec_t now = now_usec();

        if (m->tree_delay == 0 || now - MIN(m->tree_built, now) >= TREE_STABLE_USEC)
                m->tree_delay = TREE_REBUILD_USEC;
        else
                m->tree_delay = MIN(m->tree_delay * 2, TREE_RETRY_USEC);
        log_debug_errno(r, "The model of the cgroup tree is out of date (%m); rebuilding it in %llu ms.",
                        (unsigned long long) (m->tree_delay / USEC_PER_MSEC));
        manager_tree_drop(m);
        manager_tree_later(m, m->tree_delay);
        return NULL;
}

static int on_tree_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) manager_tree(userdata);
        return 0;
}

/* A decision's ranking below top: over the model, band first, when there
 * is one (a cgroup it has not seen yet is read from the tree itself, all
 * of it). *ret_seen: the candidates below top, read or not. */
static int manager_rank_decision(Manager *m, const char *top, int min_adj, char *const *excluded,
                                 Snapshot **ret_snap, Candidate **ret, size_t *ret_n, size_t *ret_seen) {
        CgTree *t = manager_tree(m);
        int r = -ENOENT;

        if (t)
                r = rank_band(m->config, m->rank_gen, t, m->cg_root, m->opts.proc_root, top, m->own_cgroup,
                              min_adj, excluded, ret_snap, ret, ret_n, ret_seen);
        if (r != -ENOENT)
                return r;
        r = snapshot_build(m->cg_root, m->opts.proc_root, top, ret_snap);
        if (r < 0)
                return r;
        r = policy_rank(m->config, *ret_snap, top, m->own_cgroup, min_adj, excluded, ret, ret_n);
        if (r < 0) {
                *ret_snap = snapshot_free(*ret_snap);
                return r;
        }
        *ret_seen = *ret_n;
        return 0;
}

static void manager_decide(Entry *e, Level level, const char *trigger, bool fresh, unsigned retry);

/* Whether a and b are the same cgroup or one lies inside the other: a kill
 * in one is part of the other's episode. */
static bool cgroups_related(const char *a, const char *b) {
        return cg_path_is_below(a, b) || cg_path_is_below(b, a);
}

/* A victim is gone (or its kill timed out): every monitor whose cgroup
 * holds it or lies inside it starts over, so that its next kill rests on
 * what it sees from now on, never on what led to this one. */
static void manager_note_kill_done(Manager *m, const char *victim) {
        usec_t now = now_usec();

        for (size_t i = 0; i < m->n_entries; i++) {
                Entry *e = m->entries[i];

                if (e->gone || !cgroups_related(e->cgroup, victim))
                        continue;
                e->last_kill_end = now;
                e->have_base = false;
                memset(e->nothing_until, 0, sizeof e->nothing_until);
                if (e->mon) {
                        monitor_note_kill_done(e->mon);
                        e->after_kill = true;
                        e->kill_arm_seq = monitor_arm_seq(e->mon);
                }
        }
}

static void on_reaper(Reaper *r, const KillResult *res, bool sent, void *userdata) {
        KillContext *k = userdata;
        Manager *m = k->manager;
        char mem[FORMAT_BYTES_MAX];
        /* The worker's kill may have reached nothing: then it was no kill. */
        bool killed = res->error >= 0 && !res->vanished;

        manager_settle_later(m);
        k->report.method = kill_method_to_string(res->method_used);
        k->report.n_pids = res->n_pids;
        if (res->memory_before > 0)
                k->report.memory_bytes = res->memory_before;

        if (sent) {
                if (res->cgroup_kill_error < 0)
                        log_warning_errno(res->cgroup_kill_error,
                                          "Writing cgroup.kill of %s failed, killed it by pidfd instead: %m", k->cgroup);
                if (res->vanished)
                        log_debug("Not killing %s: its processes exited before the kill reached them.",
                                  k->cgroup);
                else if (res->error < 0)
                        manager_kill_failed(m, k->cgroup, res->error);
                if (!killed)
                        return;

                if (res->signal_error < 0)
                        log_warning_errno(res->signal_error, "The kill of %s reached %zu of its %zu processes: %m",
                                          k->cgroup, res->n_signalled, res->n_pids);
                (void) report_kill(&k->report);
                if (!k->report.dry_run) {
                        m->n_kills++;
                        histogram_add(&m->kill_latency, usec_sub(res->kill_usec, k->event_usec));
                        bus_emit_killed(m->bus, &k->report);
                }
                (void) snprintf(m->last_kill, sizeof m->last_kill, "%s%s (adj %d, %s)",
                                k->report.dry_run ? "would kill " : "",
                                cg_path_basename(k->cgroup), k->report.adj,
                                format_bytes(mem, sizeof mem, k->report.memory_bytes));
                manager_update_status(m);
                manager_write_metrics(m);
                return;
        }

        k->report.mrelease = res->mrelease;
        k->report.freed_bytes = res->freed_bytes;
        k->report.empty_usec = res->empty_usec;
        k->report.timed_out = res->timed_out;
        if (killed)
                (void) report_reclaimed(&k->report);
        if (killed && !k->report.dry_run) {
                m->freed_bytes += res->freed_bytes;
                if (!res->timed_out) {
                        histogram_add(&m->reclaim_time, res->empty_usec);
                        bus_emit_reclaimed(m->bus, &k->report);
                }
        }

        if (killed && res->timed_out) {
                char iv[FORMAT_DURATION_MAX];

                /* The reclaimed record above is the warning; this says
                 * what follows from it. */
                m->n_kill_timeouts++;
                manager_add_stuck(m, k->cgroup);
                log_notice("Passing %s over for %s or until it is empty: its processes did not exit "
                           "within KillTimeout=.", k->cgroup,
                           format_duration(iv, sizeof iv, kill_retry_interval(m->config->kill_timeout)));
        }

        /* DESIGN §7: remembered by the reaper, said once here. */
        if (res->mrelease == -ENOSYS && !m->mrelease_unsupported_logged) {
                m->mrelease_unsupported_logged = true;
                log_warning("process_mrelease() is not available (ENOSYS: Linux older than 5.15, or a "
                            "seccomp filter): the memory of killed processes is freed by their own exit, "
                            "which is slow when they are starved of CPU. ReleaseMemory=yes has no effect.");
        }

        /* A manual kill has no monitor. */
        Entry *e = k->monitor_name ? manager_find_entry(m, k->monitor_name, k->monitor_cgroup) : NULL;
        if (e)
                e->killing = false;
        /* Nothing died: no reason to hold a monitor back. A dry run frees
         * nothing either: its episode lasts KillTimeout=, as a kill that
         * freed nothing would, so that a lasting shortage names the same
         * victim every few seconds instead of on every look. */
        if (killed && k->report.dry_run) {
                free(m->dry_run_victim);
                m->dry_run_victim = strdup(k->cgroup);
                m->dry_run_until = usec_add(now_usec(), m->config->kill_timeout);
        } else if (killed)
                manager_note_kill_done(m, k->cgroup);
        manager_update_status(m);
        manager_write_metrics(m);

        /* The pressure that asked for this kill is still there, and the
         * victim is now passed over (or gone): choose again at once rather
         * than wait for the next event, which a memory.events bump may never
         * send. */
        if (!killed && e && e->mon && !e->gone && k->retry + 1 < KILL_ATTEMPTS_MAX) {
                log_debug("Monitor %s (%s): the kill of %s reached nothing, choosing again.", e->name,
                          e->cgroup, k->cgroup);
                manager_decide(e, k->level, k->trigger, true, k->retry + 1);
        }
        kill_context_free(k);
}

static uint64_t random_u64(void) {
        uint64_t v = 0;

        if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
                v = now_usec() ^ ((uint64_t) getpid() << 32);
        return v;
}

/* Hand candidate c of monitor e (NULL for a manual kill) to the reaper.
 * Returns 0 when the kill started, or the negative errno why not (logged
 * here). The new kill is then m->kills. */
static int manager_start_kill(Manager *m, Entry *e, const Snapshot *snap, const Candidate *c, Level level,
                              ReportReason reason, const char *evidence, const char *trigger, usec_t event_usec,
                              unsigned retry) {
        const CgroupNode *node = &snap->nodes[c->node];
        char src[256];
        int r;

        KillContext *k = calloc(1, sizeof *k);
        if (!k)
                return log_oom();
        k->manager = m;
        k->level = level;
        k->retry = retry;
        k->event_usec = event_usec;
        k->monitor_name = e ? strdup(e->name) : NULL;
        k->monitor_cgroup = e ? strdup(e->cgroup) : NULL;
        k->cgroup = strdup(node->path);
        k->adj_source = strdup(adj_source_format(&c->adj, src, sizeof src));
        k->trigger = strdup(trigger);
        k->evidence = evidence ? strdup(evidence) : NULL;
        if ((e && (!k->monitor_name || !k->monitor_cgroup)) || !k->cgroup || !k->adj_source || !k->trigger ||
            (evidence && !k->evidence)) {
                kill_context_free(k);
                return log_oom();
        }

        k->report = (KillReport) {
                .kill_id = random_u64(),
                .cgroup = k->cgroup,
                .adj = c->adj.value,
                .adj_source = k->adj_source,
                .reason = reason,
                .level = level_to_string(level),
                .evidence = k->evidence,
                .monitor = k->monitor_name,
                .monitor_cgroup = k->monitor_cgroup,
                .trigger = k->trigger,
                .memory_bytes = node->has_memory ? node->memory_current : node->rss_sum,
                .swap_bytes = node->has_memory ? node->swap_current : 0,
                .n_pids = node->n_procs,
                .method = kill_method_to_string(m->config->method),
                .dry_run = manager_dry_run(m),
                .decision_usec = now_usec() - event_usec,
        };
        PsiStats pressure;
        if (e && e->mon && monitor_pressure(e->mon, &pressure) >= 0) {
                k->report.pressure_some_avg10 = pressure.some.avg10;
                k->report.pressure_full_avg10 = pressure.has_full ? pressure.full.avg10 : 0;
        }

        KillRequest req = {
                .cg_root = m->cg_root,
                .cgroup = k->cgroup,
                .method = m->config->method,
                .release_memory = m->config->release_memory,
                .timeout = m->config->kill_timeout,
                .dry_run = k->report.dry_run,
        };

        log_debug("Monitor %s (%s): %s (%s pressure, %s), victim %s adj %d (%s).", e ? e->name : "-",
                  e ? e->cgroup : "-", report_reason_to_string(reason), level_to_string(level), trigger, k->cgroup,
                  c->adj.value,
                  k->adj_source);

        manager_settle_later(m);
        r = reaper_kill(m->reaper, &req, on_reaper, k);
        if (r < 0) {
                if (r == -EBUSY || ERRNO_IS_VANISHED(r))
                        /* Emptied since the snapshot: no kill, no record. */
                        log_debug_errno(r, "Not killing %s: %m", k->cgroup);
                else
                        manager_kill_failed(m, k->cgroup, r);
                kill_context_free(k);
                return r;
        }
        k->next = m->kills;
        m->kills = k;
        if (e)
                e->killing = true;
        return 0;
}


/* The kill of a victim related to e's cgroup that is still under way, or
 * NULL: one kill per episode, whichever monitor made it. */
static const char *manager_episode_kill(Manager *m, const Entry *e) {
        for (KillContext *k = m->kills; k; k = k->next)
                if (cgroups_related(e->cgroup, k->cgroup))
                        return k->cgroup;
        if (m->dry_run_victim && now_usec() < m->dry_run_until && cgroups_related(e->cgroup, m->dry_run_victim))
                return m->dry_run_victim;
        return NULL;
}

/* Read the evidence for e now and judge it (evidence.h). Returns true with
 * the row when memory is really running out. */
static bool manager_judge(Entry *e, const char *trigger, ReportReason *ret_reason, bool *ret_critical,
                          char *text, size_t len) {
        Manager *m = e->manager;
        const Config *c = m->config;
        EvidenceLimits lim = {
                .min_available = c->min_available,
                .min_swap_free = c->min_swap_free,
                .thrashing_limit = c->thrashing_limit,
                .stall_limit = c->stall_limit,
                .demand = e->mon ? monitor_config(e->mon)->medium : (PsiTrigger) {},
        };
        EvidenceReading now;
        PsiStats pressure;
        bool have_pressure, found;
        usec_t since_kill;
        int r;

        have_pressure = e->mon && monitor_pressure(e->mon, &pressure) >= 0;
        r = evidence_read(m->cg_root, m->opts.proc_root, e->cgroup, have_pressure ? &pressure : NULL, &now);
        if (r < 0) {
                if (!ERRNO_IS_VANISHED(r))
                        log_debug_errno(r, "Monitor %s (%s): failed to read the evidence: %m", e->name, e->cgroup);
                return false;
        }
        if (!e->have_base || now.time < e->base.time || now.time - e->base.time > EVIDENCE_BASE_MAX_USEC) {
                e->base = now;
                e->have_base = true;
        }
        since_kill = e->last_kill_end > 0 ? now.time - MIN(e->last_kill_end, now.time) : USEC_INFINITY;
        /* The kill's episode lasts while its monitor stays armed: calm for
         * PollDuration= disarms it, and the next arming by pressure starts
         * anew (one by a calm look at the headroom continues it). */
        if (e->after_kill && !(e->mon && monitor_is_armed(e->mon) && monitor_arm_seq(e->mon) == e->kill_arm_seq))
                e->after_kill = false;
        found = evidence_judge(&now, &e->base, &lim, since_kill, e->after_kill, ret_reason, ret_critical, text,
                               len);
        if (!found && streq(trigger, MONITOR_TRIGGER_OOM)) {
                /* The increase that woke us is the evidence: the base may be newer. */
                *ret_reason = REASON_OOM;
                *ret_critical = true;
                found = true;
        }
        /* The rates run over the last one to two seconds. */
        if (now.time - e->base.time >= 2 * EVIDENCE_RATE_MIN_USEC)
                e->base = now;
        return found;
}

/* A level event on monitor e: a wake-up. When the evidence says memory is
 * really running out, choose a victim and start its kill. retry counts the
 * decisions taken again for the same event because a kill reached nothing
 * (see on_reaper()). */
static void manager_decide(Entry *e, Level level, const char *trigger, bool fresh, unsigned retry) {
        Manager *m = e->manager;
        const MonitorConfig *mc = monitor_config(e->mon);
        _cleanup_snapshot_free_ Snapshot *snap = NULL;
        _cleanup_free_ Candidate *cands = NULL;
        char evidence[512];
        ReportReason reason;
        bool critical = false;
        const char *busy;
        size_t n = 0;
        usec_t now = now_usec();
        int r;

        if (e->killing) {
                log_debug("Monitor %s (%s): %s pressure while a kill is under way, ignoring.",
                          e->name, e->cgroup, level_to_string(level));
                return;
        }
        busy = manager_episode_kill(m, e);
        if (busy) {
                log_debug("Monitor %s (%s): %s pressure while %s is being killed, ignoring.", e->name, e->cgroup,
                          level_to_string(level), busy);
                return;
        }
        /* PostKillDelay= guards against stall windows that still count the
         * stalls from before the last kill; a fresh reading needs no such
         * guard, and waiting would hand a fast allocator to the kernel's
         * OOM killer. */
        if (!fresh && cooldown_active(e->last_kill_end, m->config->post_kill_delay, now)) {
                log_debug("Monitor %s (%s): %s pressure during PostKillDelay=, ignoring.",
                          e->name, e->cgroup, level_to_string(level));
                return;
        }
        /* A look that found nothing is not repeated within PollInterval=:
         * a slice at its limit can raise memory.events 100 times a second. */
        if (retry == 0 && !streq(trigger, MONITOR_TRIGGER_OOM) && e->last_no_evidence > 0 &&
            now - e->last_no_evidence < m->config->poll_interval)
                return;

        if (!manager_judge(e, trigger, &reason, &critical, evidence, sizeof evidence)) {
                e->last_no_evidence = now;
                log_debug("Monitor %s (%s): %s pressure (%s), but no evidence that memory is running out: %s.",
                          e->name, e->cgroup, level_to_string(level), trigger, evidence);
                if (ratelimit_pass(&e->last_no_evidence_log, NO_EVIDENCE_LOG_INTERVAL_USEC, now))
                        log_info("Memory pressure in %s (%s), but memory is not running out (%s): nothing killed.",
                                 e->cgroup, trigger, evidence);
                return;
        }
        if (critical)
                level = LEVEL_CRITICAL;
        if (retry == 0 && now < e->nothing_until[level]) {
                log_debug("Monitor %s (%s): nothing was eligible at %s level a moment ago, not looking again yet.",
                          e->name, e->cgroup, level_to_string(level));
                return;
        }

        manager_prune_stuck(m, now);
        /* Room for the candidates tried below, passed over by the next ranking. */
        size_t n_excluded, seen = 0;
        _cleanup_free_ char **excluded = manager_excluded(m, KILL_ATTEMPTS_MAX, &n_excluded);
        char *tried_paths[KILL_ATTEMPTS_MAX] = {};
        if (!excluded) {
                log_oom();
                return;
        }

        /* The best first; when its kill cannot start (it emptied since it
         * was read, or it could not be signalled), the next one: the
         * shortage that asked for a kill is still there. A ranking is exact
         * only at its head (rank.h), so each try ranks again without the
         * ones tried. */
        int min_adj = level_min_adj(mc, level);
        size_t tried = 0;
        bool started = false;
        while (tried < KILL_ATTEMPTS_MAX) {
                ssize_t v;

                snap = snapshot_free(snap);
                cands = mfree(cands);
                r = manager_rank_decision(m, e->cgroup, min_adj, excluded, &snap, &cands, &n, &seen);
                if (r < 0) {
                        if (!ERRNO_IS_VANISHED(r))
                                log_warning_errno(r, "Failed to rank the cgroups below %s: %m", e->cgroup);
                        break;
                }
                if (tried == 0) {
                        manager_note_unreadable(m, snap, e->cgroup, now);
                        log_debug("Monitor %s (%s): %s, %s level: %zu of %zu candidates read and ranked.",
                                  e->name, e->cgroup, report_reason_to_string(reason), level_to_string(level),
                                  n, seen);
                }
                v = policy_pick_victim(cands, n);
                if (v < 0)
                        break;
                started = manager_start_kill(m, e, snap, &cands[v], level, reason, evidence, trigger, now,
                                             retry) >= 0;
                if (started)
                        break;
                tried_paths[tried] = strdup(snap->nodes[cands[v].node].path);
                if (!tried_paths[tried]) {
                        r = log_oom();
                        break;
                }
                excluded[n_excluded++] = tried_paths[tried++];
                excluded[n_excluded] = NULL;
        }
        for (size_t i = 0; i < KILL_ATTEMPTS_MAX; i++)
                free(tried_paths[i]);
        if (r < 0 || started || tried > 0)
                return;
        e->nothing_until[level] = usec_add(now, NOTHING_ELIGIBLE_MEMO_USEC);
        if (ratelimit_pass(&e->last_nothing[level], NOTHING_ELIGIBLE_INTERVAL_USEC, now))
                (void) report_nothing_eligible(e->name, e->cgroup, level_to_string(level), reason, evidence, trigger,
                                               min_adj, seen);
}

static void on_level(Monitor *mon, Level level, const char *trigger, bool fresh, void *userdata) {
        Entry *e = userdata;

        e->last_level = level;
        e->last_event_usec = now_usec();
        manager_decide(e, level, trigger, fresh, 0);
}

/* ---- manual kills and the bus interface's view (bus.c) ---- */

/* A cgroup named over the bus, as the snapshot spells it: -EINVAL for a
 * path with '.' or '..' (it would lead outside the mount). */
static int bus_cgroup_path(const char *cgroup, char **ret) {
        if (!cg_path_is_plain(cgroup))
                return -EINVAL;
        *ret = cg_path_normalize(cgroup);
        return *ret ? 0 : -ENOMEM;
}

int manager_kill_manual(Manager *m, const char *cgroup, bool force, uint64_t *ret_kill_id) {
        _cleanup_snapshot_free_ Snapshot *snap = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ Candidate *cands = NULL;
        Candidate c = {};
        size_t n = 0;
        ssize_t idx;
        int r;

        r = bus_cgroup_path(cgroup, &path);
        if (r < 0)
                return r;
        if (policy_is_protected(path, m->own_cgroup))
                return -EPERM;

        r = snapshot_build(m->cg_root, m->opts.proc_root, path, &snap);
        if (r < 0)
                return r;
        idx = snapshot_find(snap, path);
        if (idx < 0 || !snap->nodes[idx].populated)
                return -ENOENT;

        c.node = (size_t) idx;
        c.footprint = cgroup_node_footprint(&snap->nodes[idx]);
        policy_resolve_adj(m->config, snap, c.node, m->own_cgroup, &c.adj);

        /* The kill takes the whole subtree: what policy would never kill
         * in it stops a manual kill too (adj -1000 only without force). */
        r = policy_rank(m->config, snap, path, m->own_cgroup, ADJ_MIN, NULL, &cands, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (cands[i].skip == SKIP_PROTECTED || (cands[i].skip == SKIP_NEVER_KILL && !force))
                        return -EPERM;

        r = manager_start_kill(m, NULL, snap, &c, LEVEL_CRITICAL, REASON_MANUAL, NULL, "manual", now_usec(), 0);
        if (r < 0)
                return r;
        *ret_kill_id = m->kills->report.kill_id;
        return 0;
}

void manager_get_metrics(const Manager *m, Metrics *ret) {
        *ret = (Metrics) {
                .kills = m->n_kills,
                .failed = m->n_kill_failures,
                .timed_out = m->n_kill_timeouts,
                .kernel_oom_kills = m->n_kernel_oom_kills,
                .freed_bytes = m->freed_bytes,
                .dry_run = manager_dry_run(m),
                .n_stuck = m->n_stuck,
                .kill_latency = m->kill_latency,
                .reclaim_time = m->reclaim_time,
        };
        for (size_t i = 0; i < m->n_entries; i++)
                if (m->entries[i]->mon && !m->entries[i]->gone) {
                        ret->n_monitors++;
                        ret->n_armed += monitor_is_armed(m->entries[i]->mon);
                }
}

bool manager_get_monitor(const Manager *m, size_t i, const char **ret_name, const char **ret_cgroup,
                         bool *ret_armed, Level *ret_last_level, usec_t *ret_last_usec) {
        if (i >= m->n_entries)
                return false;
        *ret_name = m->entries[i]->name;
        *ret_cgroup = m->entries[i]->cgroup;
        *ret_armed = m->entries[i]->mon && monitor_is_armed(m->entries[i]->mon);
        *ret_last_level = m->entries[i]->last_level;
        *ret_last_usec = m->entries[i]->last_event_usec;
        return true;
}

int manager_rank(Manager *m, const char *cgroup, Level level, ManagerRanking *ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char **excluded = NULL;
        const Entry *best = NULL;
        ManagerRanking rk = {};
        int r;

        r = bus_cgroup_path(cgroup, &path);
        if (r < 0)
                return r;

        for (size_t i = 0; i < m->n_entries; i++) {
                const Entry *e = m->entries[i];

                if (!e->gone && e->mon && cg_path_is_below(path, e->cgroup) &&
                    (!best || strlen(e->cgroup) > strlen(best->cgroup)))
                        best = e;
        }
        if (best) {
                rk.monitor = best->name;
                rk.min_adj = level_min_adj(monitor_config(best->mon), level);
        } else
                rk.min_adj = level == LEVEL_MEDIUM ? m->config->medium_min_adj : m->config->critical_min_adj;

        r = snapshot_build(m->cg_root, m->opts.proc_root, path, &rk.snapshot);
        if (r < 0)
                return ERRNO_IS_VANISHED(r) ? -ENOENT : r;
        manager_prune_stuck(m, now_usec());
        excluded = manager_excluded(m, 0, NULL);
        if (!excluded) {
                manager_ranking_done(&rk);
                return -ENOMEM;
        }
        r = policy_rank(m->config, rk.snapshot, path, m->own_cgroup, rk.min_adj, excluded, &rk.cands, &rk.n);
        if (r < 0) {
                manager_ranking_done(&rk);
                return r;
        }
        *ret = rk;
        return 0;
}

void manager_ranking_done(ManagerRanking *r) {
        free(r->cands);
        snapshot_free(r->snapshot);
        *r = (ManagerRanking) {};
}

const char *manager_candidate_state(Manager *m, const ManagerRanking *r, const Candidate *c) {
        const char *path = r->snapshot->nodes[c->node].path;

        if (c->skip == SKIP_NONE)
                return "eligible";
        /* policy says "being killed" for both; a kill in flight wins. */
        if (c->skip != SKIP_BEING_KILLED || manager_find_stuck(m, path) < 0)
                return skip_reason_to_string(c->skip);
        for (char *const *b = reaper_busy(m->reaper); *b; b++)
                if (streq(*b, path))
                        return skip_reason_to_string(c->skip);
        return "passed-over";
}

const char *manager_get_stuck(const Manager *m, size_t i) {
        return i < m->n_stuck ? m->stuck[i]->cgroup : NULL;
}

char *const *manager_being_killed(Manager *m) {
        return reaper_busy(m->reaper);
}


static void on_oom_kill(Monitor *mon, const char *cgroup, uint64_t new_kills, uint64_t total, void *userdata) {
        Entry *e = userdata;

        e->manager->n_kernel_oom_kills += new_kills;
        (void) report_kernel_oom(e->name, e->cgroup, cgroup, new_kills, total);
        manager_update_status(e->manager);
        manager_write_metrics(e->manager);
}

static void manager_schedule_resync(Manager *m);

static void on_gone(Monitor *mon, void *userdata) {
        Entry *e = userdata;

        /* Freed on the next resync, not here: we are inside its callback. */
        e->gone = true;
        manager_schedule_resync(e->manager);
}

/* What a monitor could not do, or did for MemoryHighGuard=: said once, here. */
static void on_note(Monitor *mon, const MonitorNote *n, void *userdata) {
        const MonitorConfig *mc = monitor_config(mon);
        const char *cg = monitor_cgroup(mon);

        switch (n->kind) {
        case MONITOR_NO_TRIGGER:
                log_warning_errno(n->error, "Monitor %s: cannot arm the %s PSI trigger on %s: %m", mc->name, n->what,
                                  n->file);
                break;
        case MONITOR_NO_EVENTS:
                log_warning_errno(n->error, "Monitor %s: cannot watch memory.events of %s: %m", mc->name, cg);
                break;
        case MONITOR_NO_TIMER:
                log_warning_errno(n->error, "Monitor %s: cannot arm the %s timer of %s: %m", mc->name, n->what, cg);
                break;
        case MONITOR_NO_GUARD:
                log_warning_errno(n->error, "Monitor %s: cannot apply MemoryHighGuard= to %s: %m", mc->name, cg);
                break;
        case MONITOR_NO_GUARD_RESTORE:
                log_warning_errno(n->error, "Monitor %s: cannot restore memory.high=max on %s: %m", mc->name, cg);
                break;
        case MONITOR_GUARD_TAKEN_OVER:
                log_info("Monitor %s: memory.high of %s is %" PRIu64 ", MemoryHighGuard='s own value; taking it over.",
                         mc->name, cg, n->high);
                break;
        case MONITOR_GUARD_FOREIGN:
                log_info("Monitor %s: memory.high of %s was set to %" PRIu64 " by someone else; "
                         "MemoryHighGuard= leaves it alone.", mc->name, cg, n->high);
                break;
        case MONITOR_GUARD_LIFTED:
                log_info("Monitor %s: memory.max of %s was lifted; memory.high is max again.", mc->name, cg);
                break;
        case MONITOR_GUARD_SET:
                log_info("Monitor %s: %s memory.high of %s to %" PRIu64 " (memory.max %" PRIu64 " less %u.%02u%%).",
                         mc->name, n->again ? "re-applied" : "set", cg, n->high, n->max,
                         mc->memory_high_guard / 100, mc->memory_high_guard % 100);
                break;
        case MONITOR_GUARD_DRY_RUN:
                log_info("Monitor %s: dry run, MemoryHighGuard= leaves memory.high of %s alone.", mc->name, cg);
                break;
        }
}

static const MonitorCallbacks monitor_callbacks = {
        .level = on_level,
        .oom_kill = on_oom_kill,
        .gone = on_gone,
        .note = on_note,
};

/* ---- the monitor set ---- */

static Entry *entry_free(Entry *e) {
        if (!e)
                return NULL;
        monitor_free(e->mon);
        free(e->name);
        free(e->cgroup);
        free(e);
        return NULL;
}

static int manager_add_entry(Manager *m, const MonitorConfig *mc, const char *cgroup) {
        Entry *e;
        int r;

        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->manager = m;
        e->name = strdup(mc->name);
        e->cgroup = strdup(cgroup);
        if (!e->name || !e->cgroup) {
                entry_free(e);
                return -ENOMEM;
        }

        MonitorCallbacks cbs = monitor_callbacks;
        cbs.userdata = e;
        r = monitor_new(&m->env, mc, cgroup, &cbs, NULL, &e->mon);
        if (r < 0) {
                entry_free(e);
                return r;
        }

        Entry **l = realloc(m->entries, (m->n_entries + 1) * sizeof *l);
        if (!l) {
                entry_free(e);
                return -ENOMEM;
        }
        m->entries = l;
        m->entries[m->n_entries++] = e;
        e->keep = true;

        log_info("Monitoring %s (monitor %s): %u PSI trigger%s%s.", cgroup, mc->name,
                 monitor_n_triggers(e->mon), monitor_n_triggers(e->mon) == 1 ? "" : "s",
                 m->have_memory && !streq(cgroup, "/") ? ", memory.events" : "");
        return 0;
}

static int on_dir_change(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Manager *m = userdata;

        /* Lost events may hide new, gone or replaced cgroups and files:
         * rescan, and rebuild every monitor with fresh watches. */
        if (ev->mask & IN_Q_OVERFLOW) {
                if (!m->resync_rebuild)
                        log_warning("The inotify queue overflowed; rescanning the cgroup tree.");
                m->resync_rebuild = true;
        }
        if (ev->mask & (IN_ISDIR | IN_IGNORED | IN_DELETE_SELF | IN_Q_OVERFLOW))
                manager_schedule_resync(m);
        return 0;
}

static int manager_watch_dir(Manager *m, const char *dir) {
        _cleanup_free_ char *p = NULL;
        int r;

        for (size_t i = 0; i < m->n_watches; i++)
                if (streq(m->watches[i].path, dir)) {
                        m->watches[i].keep = true;
                        return 0;
                }

        p = cg_path(m->cg_root, dir, NULL);
        if (!p)
                return -ENOMEM;

        Watch *l = realloc(m->watches, (m->n_watches + 1) * sizeof *l);
        if (!l)
                return -ENOMEM;
        m->watches = l;

        Watch *w = &m->watches[m->n_watches];
        *w = (Watch) { .keep = true };
        r = sd_event_add_inotify(m->event, &w->src, p, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
                                 IN_ONLYDIR | IN_DELETE_SELF,
                                 on_dir_change, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->src, "cgroup-dir-watch");
        w->path = strdup(dir);
        if (!w->path) {
                sd_event_source_disable_unref(w->src);
                return -ENOMEM;
        }
        m->n_watches++;
        return 0;
}

/* Make the set of monitors match the config and the cgroups that exist:
 * new matches get a monitor, vanished ones lose theirs. With rebuild, every
 * monitor is recreated (after a reload: new thresholds), keeping cooldowns;
 * each old monitor hands over to its successor (MemoryHighGuard= stays
 * written) and is freed then, or with its entry if nothing matches it now. */
static int manager_sync(Manager *m, bool rebuild) {
        for (size_t i = 0; i < m->n_entries; i++)
                m->entries[i]->keep = false;
        for (size_t i = 0; i < m->n_watches; i++)
                m->watches[i].keep = false;

        for (size_t i = 0; i < m->config->n_monitors; i++) {
                const MonitorConfig *mc = &m->config->monitors[i];
                _cleanup_strv_free_ char **paths = NULL, **dirs = NULL;
                int r;

                r = monitor_glob_expand(m->cg_root, mc->cgroup, &paths, &dirs);
                if (r < 0) {
                        log_warning_errno(r, "Monitor %s: failed to look for cgroups matching %s: %m",
                                          mc->name, mc->cgroup);
                        continue;
                }
                for (char **d = dirs; *d; d++) {
                        r = manager_watch_dir(m, *d);
                        if (r < 0 && !ERRNO_IS_VANISHED(r))
                                log_warning_errno(r, "Failed to watch %s for new cgroups: %m", *d);
                }
                for (char **p = paths; *p; p++) {
                        Entry *e = manager_find_entry(m, mc->name, *p);

                        if (e && !e->gone) {
                                e->keep = true;
                                if (!e->mon || rebuild) {
                                        MonitorCallbacks cbs = monitor_callbacks;
                                        Monitor *prev = TAKE_PTR(e->mon);

                                        cbs.userdata = e;
                                        r = monitor_new(&m->env, mc, *p, &cbs, prev, &e->mon);
                                        if (r < 0 && prev && !ERRNO_IS_VANISHED(r)) {
                                                /* A watch that works beats none: prev keeps its
                                                 * triggers and watches, polls by the new config. */
                                                log_warning_errno(r, "Failed to re-create the monitor of %s: %m; "
                                                                  "keeping the old one.", *p);
                                                monitor_set_config(prev, mc);
                                                e->mon = prev;
                                                continue;
                                        }
                                        monitor_free(prev);
                                        if (r < 0) {
                                                e->keep = false;
                                                if (!ERRNO_IS_VANISHED(r))
                                                        log_warning_errno(r, "Failed to monitor %s: %m", *p);
                                        }
                                }
                                continue;
                        }
                        r = manager_add_entry(m, mc, *p);
                        if (r < 0 && !ERRNO_IS_VANISHED(r))
                                log_warning_errno(r, "Failed to monitor %s (monitor %s): %m", *p, mc->name);
                }
        }

        size_t j = 0;
        for (size_t i = 0; i < m->n_entries; i++) {
                Entry *e = m->entries[i];

                /* An entry whose kill is still running stays until the
                 * reaper reports back, so the result finds its cooldown. */
                if (e->keep || (e->killing && !e->gone && !rebuild)) {
                        m->entries[j++] = e;
                        continue;
                }
                /* The directory watch may see a removal before the
                 * monitor's own EPOLLERR does. */
                CgroupEvents ev;
                if (!e->gone && ERRNO_IS_VANISHED(cg_read_events(m->cg_root, e->cgroup, &ev)))
                        e->gone = true;
                if (e->mon || e->gone)
                        log_info("Stopped monitoring %s (monitor %s): %s.", e->cgroup, e->name,
                                 e->gone ? "cgroup is gone" : "no longer configured");
                entry_free(e);
        }
        m->n_entries = j;

        j = 0;
        for (size_t i = 0; i < m->n_watches; i++) {
                if (m->watches[i].keep) {
                        m->watches[j++] = m->watches[i];
                        continue;
                }
                sd_event_source_disable_unref(m->watches[i].src);
                free(m->watches[i].path);
        }
        m->n_watches = j;

        manager_update_status(m);
        return 0;
}

static int on_resync(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        bool rebuild = m->resync_rebuild;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        m->resync_rebuild = false;
        return manager_sync(m, rebuild);
}

static void manager_schedule_resync(Manager *m) {
        int r;

        if (!m->resync) {
                r = sd_event_add_defer(m->event, &m->resync, on_resync, m);
                if (r < 0) {
                        log_warning_errno(r, "Failed to schedule a monitor resync: %m");
                        return;
                }
                (void) sd_event_source_set_description(m->resync, "monitor-resync");
        }
        (void) sd_event_source_set_enabled(m->resync, SD_EVENT_ONESHOT);
}

/* ---- config ---- */

static int manager_load_config(Manager *m, Config **ret) {
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = config_load(&m->load_opts, ret, &errors);
        if (r < 0) {
                for (char **e = errors; e && *e; e++)
                        log_error("%s", *e);
                if (!errors || !*errors)
                        log_error_errno(r, "Failed to load the configuration: %m");
                return r;
        }
        for (char **w = (*ret)->warnings; w && *w; w++)
                log_warning("%s", *w);
        return 0;
}

/* What the model keeps of the old rules is resolved again. */
static void manager_config_changed(Manager *m) {
        if (++m->rank_gen == 0) {
                /* A memo of 65 535 reloads ago would pass for new. */
                m->rank_gen = 1;
                if (m->tree)
                        cgtree_forget_memos(m->tree);
        }
        if (m->tree)
                manager_tree_prepare(m);
}

int manager_reload(Manager *m) {
        Config *c = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration...");
        log_info("Reloading configuration.");

        r = manager_load_config(m, &c);
        if (r < 0) {
                log_error("Refusing the new configuration; the running one stays in use.");
                manager_notify_ready(m);
                return -EINVAL;
        }

        /* Monitors point into the old config: it goes once they are all
         * rebuilt (or dropped). */
        Config *old = m->config;
        m->config = c;
        manager_config_changed(m);
        m->env.config = c;
        m->env.dry_run = manager_dry_run(m);
        m->resync_rebuild = false;
        /* New rules may make something eligible. */
        for (size_t i = 0; i < m->n_entries; i++)
                memset(m->entries[i]->nothing_until, 0, sizeof m->entries[i]->nothing_until);
        r = manager_sync(m, true);
        config_free(old);
        log_info("Configuration reloaded: %zu monitor section%s, %zu priority rule%s%s.",
                 c->n_monitors, c->n_monitors == 1 ? "" : "s", c->n_rules, c->n_rules == 1 ? "" : "s",
                 manager_dry_run(m) ? ", dry run" : "");
        manager_notify_ready(m);
        return r;
}

/* ---- signals ---- */

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received SIG%s, exiting.", sigabbrev_np((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        return sd_event_exit(m->event, 0);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload(userdata);
        return 0;
}

/* ---- life cycle ---- */

int manager_new(const ManagerOptions *opts, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        unsigned controllers = 0;
        sigset_t ss;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();

        m->opts = *opts;
        m->opt_config_root = opts->config_root ? strdup(opts->config_root) : NULL;
        m->opt_config_file = opts->config_file ? strdup(opts->config_file) : NULL;
        m->opt_proc_root = strdup(opts->proc_root ? opts->proc_root : "/proc");
        if ((opts->config_root && !m->opt_config_root) || (opts->config_file && !m->opt_config_file) ||
            !m->opt_proc_root)
                return log_oom();
        m->opts.config_root = m->opt_config_root;
        m->opts.config_file = m->opt_config_file;
        m->opts.proc_root = m->opt_proc_root;
        m->opts.cgroup_root = NULL;

        m->load_opts = (ConfigLoadOptions) {
                .root = m->opt_config_root,
                .main_file = m->opt_config_file,
                .have_sys_resource = psi_have_cap_sys_resource(),
        };

        r = manager_load_config(m, &m->config);
        manager_config_changed(m);
        if (r < 0)
                return -EINVAL;

        if (opts->cgroup_root)
                m->cg_root = strdup(opts->cgroup_root);
        else {
                r = cg_find_mount("/proc/self/mountinfo", &m->cg_root);
                if (r == -ENOMEDIUM)
                        return log_error_errno(r, "No cgroup2 mount found in /proc/self/mountinfo: "
                                               "cgreapd needs the unified cgroup hierarchy (cgroup v2).");
                if (r < 0)
                        return log_error_errno(r, "Failed to read /proc/self/mountinfo: %m");
        }
        if (!m->cg_root)
                return log_oom();

        r = cg_read_controllers(m->cg_root, "/", &controllers);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s/cgroup.controllers: %m", m->cg_root);
        m->have_memory = controllers & CG_CTRL_MEMORY;
        if (!m->have_memory)
                log_warning("The cgroup2 hierarchy at %s has no memory controller (it may be bound to "
                            "cgroup v1): memory.events, memory.current and MemoryHighGuard= are "
                            "unavailable; watching PSI only.", m->cg_root);

        /* Policy protects our cgroup and its ancestors: without knowing it,
         * the first kill could be our own. */
        r = cg_pid_get_path(m->opts.proc_root, getpid(), &m->own_cgroup);
        if (r < 0)
                return log_error_errno(r, "Failed to find our own cgroup in %s/%d/cgroup: %m. Refusing to "
                                       "start: cgreapd could choose its own cgroup as the victim.",
                                       m->opts.proc_root, (int) getpid());

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        (void) sd_event_set_watchdog(m->event, true);

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, &m->sig_term, SIGTERM, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sig_int, SIGINT, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sig_hup, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install signal handlers: %m");
        (void) sd_event_source_set_description(m->sig_term, "signal-term");
        (void) sd_event_source_set_description(m->sig_int, "signal-int");
        (void) sd_event_source_set_description(m->sig_hup, "signal-hup");

        r = reaper_new(m->event, &m->reaper);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the reaper: %m");

        m->env = (MonitorEnv) {
                .event = m->event,
                .cg_root = m->cg_root,
                .proc_root = m->opts.proc_root,
                .config = m->config,
                .have_memory_controller = m->have_memory,
                .have_sys_resource = m->load_opts.have_sys_resource,
                .dry_run = manager_dry_run(m),
        };

        manager_tree_start(m);
        r = manager_sync(m, false);
        if (r < 0)
                return r;
        r = bus_new(m, m->event, &m->bus);
        if (r < 0)
                log_warning_errno(r, "Failed to offer " BUS_NAME " on the system bus: %m. Going on without "
                                  "it: cgreapctl status, kill, monitor and metrics will not work.");
        if (m->n_entries == 0)
                log_warning("No cgroup matches any [Monitor] section yet; waiting for one to appear.");

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        log_info("cgreapd " PACKAGE_VERSION " running on %s%s.", m->cg_root,
                 manager_dry_run(m) ? " (dry run: nothing will be killed)" : "");
        manager_notify_ready(m);
        manager_settle_later(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        for (size_t i = 0; i < m->n_entries; i++)
                entry_free(m->entries[i]);
        free(m->entries);
        for (size_t i = 0; i < m->n_watches; i++) {
                sd_event_source_disable_unref(m->watches[i].src);
                free(m->watches[i].path);
        }
        free(m->watches);

        /* Cancels the kills still out, without callbacks: their contexts
         * are ours to free. */
        reaper_free(m->reaper);
        bus_free(m->bus);
        while (m->kills)
                kill_context_free(m->kills);
        for (size_t i = 0; i < m->n_stuck; i++)
                stuck_free(m->stuck[i]);
        free(m->stuck);
        free(m->dry_run_victim);
        manager_tree_drop(m);
        sd_event_source_disable_unref(m->tree_timer);
        sd_event_source_disable_unref(m->settle_timer);
        sd_event_source_disable_unref(m->resync);
        sd_event_source_disable_unref(m->sig_term);
        sd_event_source_disable_unref(m->sig_int);
        sd_event_source_disable_unref(m->sig_hup);
        sd_event_unref(m->event);

        config_free(m->config);
        free(m->cg_root);
        free(m->own_cgroup);
        free(m->opt_config_root);
        free(m->opt_config_file);
        free(m->opt_proc_root);
        free(m);
        return NULL;
}
