/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor: what the kernel says about one cgroup, turned into level events.
 * Owns the trigger fds, the memory.events watch, the armed polling timer and
 * the MemoryHighGuard= write. Chooses nothing and kills nothing. */

#include <assert.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <limits.h>
#include <time.h>

#include "log.h"
#include "monitor.h"
#include "parse-util.h"
#include "policy.h"

/* Trigger slots, in the order their event sources are dispatched: when
 * several fire in one loop iteration the critical one is handled first.
 * SLOT_EARLY_FAST is Early='s companion (psi_trigger_companion()): it only
 * arms, and makes the kernel look at all of them sooner. */
typedef enum Slot {
        SLOT_CRITICAL,
        SLOT_MEDIUM,
        SLOT_EARLY,
        SLOT_EARLY_FAST,
        _SLOT_MAX,
} Slot;

static const char *const slot_name[_SLOT_MAX] = {
        [SLOT_CRITICAL] = "critical",
        [SLOT_MEDIUM] = "medium",
        [SLOT_EARLY] = "early",
        [SLOT_EARLY_FAST] = "early-fast",
};

/* The soonest a foreseen MinAvailable= crossing is looked at: a fast
 * allocator takes ~10ms per 10MB, and each look costs two file reads. */
#define HEADROOM_LOOK_MIN_USEC (10 * USEC_PER_MSEC)

/* The polling history never needs more samples than the longest trigger
 * window holds; this caps it for absurd PollInterval=1us configs. */
#define RING_MAX 4096

struct Monitor {
        const MonitorEnv *env;
        const MonitorConfig *mc;
        MonitorCallbacks cbs;

        char *cgroup;
        char *pressure_path;

        int trigger_fd[_SLOT_MAX];
        sd_event_source *trigger_src[_SLOT_MAX];
        PsiTrigger early_fast;

        sd_event_source *events_src;
        sd_event_source *recheck_src;   /* a look at memory.events after taking prev's over */
        MemoryEvents last_events;
        bool have_events;
        struct OomChild **oom_children; /* a monitor of "/": see monitor_watch_oom_children() */
        size_t n_oom_children;

        /* Armed polling (DESIGN §5): a timer that only exists under pressure. */
        sd_event_source *poll_src;
        /* The root's headroom while calm (CalmPollInterval=): PSI stays
         * silent while memory fills without reclaim, until the OOM killer. */
        sd_event_source *calm_src;
        HeadroomSample calm_prev;
        bool have_calm_prev;
        Detector det;
        usec_t last_active;
        unsigned arm_seq;               /* which arming: unique in the process */
        bool pressure_unreadable_logged;

        bool guard_applied;
        uint64_t guard_written;         /* the memory.high value we wrote */
        sd_event_source *guard_src[2];  /* inotify on memory.high and memory.max */
        bool gone;
};

const char *level_to_string(Level l) {
        switch (l) {
        case LEVEL_MEDIUM:
                return "medium";
        case LEVEL_CRITICAL:
                return "critical";
        default:
                return "none";
        }
}

int level_min_adj(const MonitorConfig *mc, Level l) {
        if (l == LEVEL_CRITICAL)
                return mc->critical_min_adj;
        if (l == LEVEL_MEDIUM)
                return mc->medium_min_adj;
        return ADJ_MAX + 1;     /* nothing is killed without pressure */
}

bool psi_samples_cross(const PsiSample *older, const PsiSample *newer, const PsiTrigger *t) {
        if (newer->time < older->time || newer->time - older->time > t->window_usec)
                return false;
        if (newer->total[t->kind] < older->total[t->kind])
                return false;
        return newer->total[t->kind] - older->total[t->kind] >= t->stall_usec;
}

bool psi_event_is_stale(const PsiSample *last, const PsiSample *now, const PsiTrigger *t) {
        /* The kernel's trigger window adds a share of the previous
         * window's growth to the current one (window_update() in
         * kernel/sched/psi.c), so an event can rest on stalls up to two
         * windows old. */
        if (!last || now->time < last->time || now->time - last->time > 2 * t->window_usec)
                return false;   /* nothing acted on that recently: trust the kernel */
        if (now->total[t->kind] < last->total[t->kind])
                return false;
        /* Any crossing of the trigger's own condition that began after
         * the action has at least the trigger's stall in it. */
        return now->total[t->kind] - last->total[t->kind] < t->stall_usec;
}

static uint64_t permyriad_of(uint64_t v, unsigned permyriad) {
        if (v > UINT64_MAX / 10000)
                return v / 10000 * permyriad;
        return v * permyriad / 10000;
}

unsigned headroom_permyriad(uint64_t limit, uint64_t used) {
        if (limit == 0 || used >= limit)
                return 0;
        /* limit can be close to 2^64 ("max" is filtered by the caller, but
         * huge limits exist): divide first to stay in range. */
        uint64_t free_bytes = limit - used;
        if (free_bytes > UINT64_MAX / 10000)
                return (unsigned) (free_bytes / (limit / 10000));
        return (unsigned) (free_bytes * 10000 / limit);
}

bool headroom_time_to_min(const HeadroomSample *prev, const HeadroomSample *now, unsigned min_permyriad,
                          usec_t *ret_usec) {
        uint64_t min_bytes, drop;
        usec_t dt;

        if (now->time <= prev->time || now->limit != prev->limit || now->avail >= prev->avail)
                return false;   /* not falling, or a new limit: no rate */
        min_bytes = permyriad_of(now->limit, min_permyriad);
        drop = prev->avail - now->avail;
        dt = now->time - prev->time;
        if (now->avail <= min_bytes)
                *ret_usec = 0;
        else {
                double left = (double) (now->avail - min_bytes) * (double) dt / (double) drop;

                *ret_usec = left >= (double) (USEC_INFINITY / 2) ? USEC_INFINITY : (usec_t) left;
        }
        return true;
}

usec_t headroom_calm_next(const HeadroomSample *prev, const HeadroomSample *now, unsigned min_permyriad,
                          usec_t floor, usec_t ceiling, usec_t horizon) {
        uint64_t min_bytes = permyriad_of(now->limit, min_permyriad);
        usec_t next, left;

        if (headroom_permyriad(now->limit, now->limit - MIN(now->avail, now->limit)) < min_permyriad)
                return 0;
        next = (usec_t) ((double) (now->avail - MIN(now->avail, min_bytes)) * USEC_PER_SEC /
                         (double) HEADROOM_CALM_FILL_RATE);
        if (prev && headroom_time_to_min(prev, now, min_permyriad, &left)) {
                if (left <= horizon)
                        return 0;
                /* Half the time left: the looks close in on a crossing. */
                next = MIN(next, left / 2);
        }
        return MIN(MAX(next, MAX(floor, (usec_t) 1)), MAX(ceiling, floor));
}

int detector_init(Detector *d, size_t ring_size) {
        *d = (Detector) { .ring_size = MAX(ring_size, (size_t) 1) };
        d->ring = calloc(d->ring_size, sizeof *d->ring);
        return d->ring ? 0 : -ENOMEM;
}

void detector_done(Detector *d) {
        free(d->ring);
        d->ring = NULL;
}

void detector_reset(Detector *d) {
        d->ring_start = d->ring_count = 0;
        d->have_headroom = false;
}

void detector_push(Detector *d, const PsiSample *s) {
        assert(d->ring && d->ring_count <= d->ring_size);       /* detector_init() ran */
        if (d->ring_count < d->ring_size)
                d->ring[(d->ring_start + d->ring_count++) % d->ring_size] = *s;
        else {
                d->ring[d->ring_start] = *s;
                d->ring_start = (d->ring_start + 1) % d->ring_size;
        }
}

bool detector_crosses(const Detector *d, const PsiSample *now, const PsiTrigger *t) {
        for (size_t i = 0; i < d->ring_count; i++) {
                const PsiSample *s = &d->ring[(d->ring_start + i) % d->ring_size];

                /* The oldest sample that is still within the window of now. */
                if (now->time >= s->time && now->time - s->time <= t->window_usec)
                        return psi_samples_cross(s, now, t);
        }
        return false;
}

void detector_note_fired(Detector *d, Level l, const PsiSample *s) {
        if (!s || l <= LEVEL_NONE || l >= _LEVEL_MAX)
                return;
        d->acted[l] = *s;
        d->have_acted[l] = true;
}

void detector_note_kill_done(Detector *d, const PsiSample *s) {
        detector_reset(d);
        if (!s)
                return;
        detector_push(d, s);
        for (Level l = LEVEL_MEDIUM; l < _LEVEL_MAX; l++)
                detector_note_fired(d, l, s);
}

bool detector_event_is_stale(const Detector *d, Level l, const PsiSample *now, const PsiTrigger *t) {
        if (l <= LEVEL_NONE || l >= _LEVEL_MAX)
                return false;
        return psi_event_is_stale(d->have_acted[l] ? &d->acted[l] : NULL, now, t);
}

HeadroomVerdict detector_headroom(Detector *d, const HeadroomSample *h, unsigned min_permyriad, usec_t interval,
                                  usec_t *ret_usec) {
        HeadroomVerdict v = HEADROOM_OK;
        usec_t left;

        if (min_permyriad == 0)
                return HEADROOM_OK;
        if (headroom_permyriad(h->limit, h->limit - MIN(h->avail, h->limit)) < min_permyriad)
                v = HEADROOM_LOW;
        else if (d->have_headroom && headroom_time_to_min(&d->headroom, h, min_permyriad, &left) &&
                 left < MAX(interval, h->time - d->headroom.time)) {
                /* The next look would come too late: it is due about as
                 * far ahead as this one came after the previous. */
                v = HEADROOM_FALLING;
                if (ret_usec)
                        *ret_usec = left;
        }
        d->headroom = *h;
        d->have_headroom = true;
        return v;
}

static const PsiTrigger *slot_trigger(const Monitor *mon, Slot s) {
        switch (s) {
        case SLOT_CRITICAL:
                return &mon->mc->critical;
        case SLOT_MEDIUM:
                return &mon->mc->medium;
        case SLOT_EARLY_FAST:
                return &mon->early_fast;
        default:
                return &mon->mc->early;
        }
}

static void trigger_describe(const PsiTrigger *t, char *buf, size_t len) {
        char w[FORMAT_DURATION_MAX];
        unsigned permyriad = t->window_usec ? (unsigned) (t->stall_usec * 10000 / t->window_usec) : 0;

        if (permyriad % 100 == 0)
                snprintf(buf, len, "%s %u%% %s", t->kind == PSI_FULL ? "full" : "some", permyriad / 100,
                         format_duration(w, sizeof w, t->window_usec));
        else
                snprintf(buf, len, "%s %u.%02u%% %s", t->kind == PSI_FULL ? "full" : "some",
                         permyriad / 100, permyriad % 100, format_duration(w, sizeof w, t->window_usec));
}

int monitor_sample(Monitor *mon, PsiSample *ret) {
        PsiStats st;
        int r;

        r = psi_read(mon->pressure_path, &st);
        if (r < 0)
                return r;
        *ret = (PsiSample) {
                .time = now_usec(),
                .total = { st.some.total, st.has_full ? st.full.total : 0 },
        };
        return 0;
}

int monitor_pressure(const Monitor *mon, PsiStats *ret) {
        return psi_read(mon->pressure_path, ret);
}

unsigned monitor_arm_seq(const Monitor *mon) {
        return mon->arm_seq;
}

/* Whether a failure to read one of the cgroup's files (r) means that the
 * cgroup is gone: only with its directory. A file alone also goes when the
 * parent stops delegating its controller. */
static bool cgroup_vanished(Monitor *mon, int r) {
        return ERRNO_IS_VANISHED(r) && ERRNO_IS_VANISHED(cg_file_exists(mon->env->cg_root, mon->cgroup, NULL));
}

static void monitor_gone(Monitor *mon) {
        if (mon->gone)
                return;
        mon->gone = true;
        /* Quiet every source now: an EPOLLERR fd would otherwise fire on
         * every loop iteration until the owner gets around to freeing us. */
        for (Slot s = 0; s < _SLOT_MAX; s++)
                (void) sd_event_source_set_enabled(mon->trigger_src[s], SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(mon->poll_src, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(mon->calm_src, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(mon->recheck_src, SD_EVENT_OFF);
        /* Inotify watches go entirely: libsystemd before v258 spins without end
         * on an event that arrives for disabled sources only. */
        mon->events_src = sd_event_source_disable_unref(mon->events_src);
        for (size_t i = 0; i < ELEMENTSOF(mon->guard_src); i++)
                mon->guard_src[i] = sd_event_source_disable_unref(mon->guard_src[i]);
        log_debug("Monitor %s: cgroup %s is gone.", mon->mc->name, mon->cgroup);
        if (mon->cbs.gone)
                mon->cbs.gone(mon, mon->cbs.userdata);  /* may free mon */
}

/* Tell the manager (monitor.h, MonitorNote). */
static void note(Monitor *mon, MonitorNote n) {
        if (mon->cbs.note)
                mon->cbs.note(mon, &n, mon->cbs.userdata);
}

static void note_no_timer(Monitor *mon, const char *what, int error) {
        note(mon, (MonitorNote) { .kind = MONITOR_NO_TIMER, .what = what, .error = error });
}

static void fire(Monitor *mon, Level level, const char *trigger, bool fresh) {
        log_debug("Monitor %s (%s): %s level (%s%s).", mon->mc->name, mon->cgroup, level_to_string(level), trigger,
                  fresh ? ", fresh" : "");
        if (mon->cbs.level)
                mon->cbs.level(mon, level, trigger, fresh, mon->cbs.userdata);
}

/* ---- armed polling ---- */

/* Headroom: MemAvailable for the root, the distance to memory.max or
 * memory.high, less what can be reclaimed, for a limited cgroup (the same
 * number evidence_read() weighs). -EOPNOTSUPP when there is no limit. */
static int headroom_read(Monitor *mon, HeadroomSample *ret) {
        uint64_t limit, used;
        int r;

        if (streq(mon->cgroup, "/")) {
                ProcMeminfo mi;

                r = proc_read_meminfo(mon->env->proc_root, &mi);
                if (r < 0)
                        return r;
                limit = mi.total;
                used = mi.total - MIN(mi.available, mi.total);
        } else {
                uint64_t max = UINT64_MAX, high = UINT64_MAX;

                if (!mon->env->have_memory_controller)
                        return -EOPNOTSUPP;
                (void) cg_read_u64(mon->env->cg_root, mon->cgroup, "memory.max", &max);
                (void) cg_read_u64(mon->env->cg_root, mon->cgroup, "memory.high", &high);
                limit = MIN(max, high);
                if (limit == UINT64_MAX)
                        return -EOPNOTSUPP;
                r = cg_read_u64(mon->env->cg_root, mon->cgroup, "memory.current", &used);
                if (r < 0)
                        return r;
                /* Page cache and reclaimable slab are headroom, as in
                 * MemAvailable: a slice streaming files at its limit is fine. */
                MemoryStat st;
                if (cg_read_memory_stat(mon->env->cg_root, mon->cgroup, &st) >= 0)
                        used -= MIN(used, st.active_file + st.inactive_file + st.slab_reclaimable);
        }
        *ret = (HeadroomSample) {
                .time = now_usec(),
                .limit = limit,
                .avail = limit - MIN(used, limit),
        };
        return 0;
}

/* MinAvailable= while armed: below it now (true, with the trigger text), or,
 * at the rate it fell since the last look, below it before the next one:
 * then *ret_next_usec says when to look again. A wake-up, never a verdict:
 * what is foreseen is looked at when it is due, not acted on. */
static bool headroom_low(Monitor *mon, char *trigger, size_t len, usec_t *ret_next_usec) {
        unsigned min = mon->env->config->min_available;
        HeadroomSample h;
        usec_t left = 0;

        if (min == 0 || headroom_read(mon, &h) < 0)
                return false;

        switch (detector_headroom(&mon->det, &h, min, mon->env->config->poll_interval, &left)) {
        case HEADROOM_LOW:
                snprintf(trigger, len, "MinAvailable %u.%02u%%", min / 100, min % 100);
                return true;
        case HEADROOM_FALLING:
                *ret_next_usec = MAX(left, HEADROOM_LOOK_MIN_USEC);
                return false;
        default:
                return false;
        }
}

static int poll_tick(sd_event_source *s, uint64_t usec, void *userdata);
static int monitor_arm(Monitor *mon, bool now, bool new_episode);

/* ---- calm looks at the headroom ---- */

static bool calm_wanted(const Monitor *mon) {
        const Config *c = mon->env->config;

        return streq(mon->cgroup, "/") && c->calm_poll_interval > 0 && c->min_available > 0 && !mon->gone;
}

static void calm_stop(Monitor *mon) {
        (void) sd_event_source_set_enabled(mon->calm_src, SD_EVENT_OFF);
        mon->have_calm_prev = false;
}

static int calm_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *mon = userdata;
        const Config *c = mon->env->config;
        usec_t floor = MIN(c->poll_interval, c->calm_poll_interval), next;
        HeadroomSample h;
        int r;

        if (!calm_wanted(mon)) {        /* a reload kept this monitor with new settings */
                calm_stop(mon);
                return 0;
        }
        r = headroom_read(mon, &h);
        if (r < 0) {
                log_debug_errno(r, "Monitor %s: cannot read the headroom of %s while calm: %m", mon->mc->name,
                                mon->cgroup);
                mon->have_calm_prev = false;    /* no rate across the gap */
                next = c->calm_poll_interval;
        } else {
                next = headroom_calm_next(mon->have_calm_prev ? &mon->calm_prev : NULL, &h, c->min_available,
                                          floor, c->calm_poll_interval, c->poll_duration);
                mon->calm_prev = h;
                mon->have_calm_prev = true;
        }
        if (next == 0) {
                log_debug("Monitor %s (%s): headroom %" PRIu64 " of %" PRIu64 " bytes, near or below "
                          "MinAvailable=: arming.", mon->mc->name, mon->cgroup, h.avail, h.limit);
                /* Headroom near the floor is no new pressure: a survivor
                 * of the last kill that sits there must not end its
                 * episode (and the manager's after-kill gate) by it. */
                r = monitor_arm(mon, true, false);
                if (r < 0)
                        note_no_timer(mon, "poll", r);
                return 0;
        }
        /* Slack of a tenth of the wait (0 would be sd-event's 250ms). */
        r = sd_event_source_set_time_accuracy(s, MAX(next / 10, (usec_t) 1));
        if (r >= 0)
                r = sd_event_source_set_time_relative(s, next);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                note_no_timer(mon, "calm headroom", r);
        return 0;
}

/* Start the calm looks, the first one at once; only for the root, which has
 * no memory.events to say that a limit is near. */
static int calm_start(Monitor *mon) {
        int r;

        if (!calm_wanted(mon)) {
                calm_stop(mon);
                return 0;
        }
        mon->have_calm_prev = false;
        if (mon->calm_src) {
                r = sd_event_source_set_time(mon->calm_src, 0);
                if (r >= 0)
                        r = sd_event_source_set_enabled(mon->calm_src, SD_EVENT_ONESHOT);
                return r;
        }
        r = sd_event_add_time(mon->env->event, &mon->calm_src, CLOCK_MONOTONIC, 0, 1, calm_tick, mon);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(mon->calm_src, "monitor-calm");
        return 0;
}

/* Arm the polling, or keep it armed. The first tick of a new arming comes
 * at once, not a PollInterval= later: the trigger that armed it fires when
 * the stall begins, and a fast allocator without swap (the benchmark's
 * hog) has used up MemAvailable by then. With now, the next tick comes at
 * once also when already armed (after a kill). Without new_episode a new
 * arming keeps the last one's monitor_arm_seq(). */
static int monitor_arm(Monitor *mon, bool now, bool new_episode) {
        static unsigned arm_seq_next;   /* never reused by another monitor */
        const Config *c = mon->env->config;
        int r;

        mon->last_active = now_usec();
        if (mon->poll_src) {
                if (now && sd_event_source_set_time(mon->poll_src, 0) < 0)
                        return -EIO;
                return sd_event_source_set_enabled(mon->poll_src, SD_EVENT_ONESHOT) < 0 ? -EIO : 0;
        }

        detector_reset(&mon->det);
        /* Time 0 is in the past: dispatched on the next loop iteration. */
        r = sd_event_add_time(mon->env->event, &mon->poll_src, CLOCK_MONOTONIC, 0, c->poll_interval / 10,
                              poll_tick, mon);
        if (r < 0)
                return r;
        calm_stop(mon);
        if (new_episode || mon->arm_seq == 0)
                mon->arm_seq = ++arm_seq_next;
        (void) sd_event_source_set_description(mon->poll_src, "monitor-poll");
        log_debug("Monitor %s (%s): armed, polling every %" PRIu64 "us.", mon->mc->name, mon->cgroup,
                  c->poll_interval);
        return 0;
}

static void monitor_disarm(Monitor *mon) {
        if (!mon->poll_src)
                return;
        mon->poll_src = sd_event_source_disable_unref(mon->poll_src);
        detector_reset(&mon->det);
        log_debug("Monitor %s (%s): calm again, disarmed.", mon->mc->name, mon->cgroup);
        int r = calm_start(mon);

        if (r < 0)
                note_no_timer(mon, "calm headroom", r);
}

bool monitor_is_armed(const Monitor *mon) {
        return mon->poll_src;
}

static int poll_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *mon = userdata;
        const Config *c = mon->env->config;
        char trigger[64];
        PsiSample now;
        Level level = LEVEL_NONE;
        bool fresh = false, have_now;
        int r;

        r = monitor_sample(mon, &now);
        have_now = r >= 0;
        if (r < 0) {
                /* Only the cgroup directory going away means the monitor is
                 * gone; a pressure file we cannot read (no PSI for this
                 * cgroup) leaves the headroom checks. */
                if (cgroup_vanished(mon, r)) {
                        monitor_gone(mon);
                        return 0;
                }
                if (!mon->pressure_unreadable_logged)
                        log_debug_errno(r, "Monitor %s: failed to read %s, polling headroom only: %m",
                                        mon->mc->name, mon->pressure_path);
                mon->pressure_unreadable_logged = true;
        } else {
                if (detector_crosses(&mon->det, &now, &mon->mc->critical)) {
                        level = LEVEL_CRITICAL;
                        trigger_describe(&mon->mc->critical, trigger, sizeof trigger);
                } else if (detector_crosses(&mon->det, &now, &mon->mc->medium)) {
                        level = LEVEL_MEDIUM;
                        trigger_describe(&mon->mc->medium, trigger, sizeof trigger);
                }
                if (level != LEVEL_NONE || detector_crosses(&mon->det, &now, &mon->mc->early))
                        mon->last_active = now.time;
                detector_push(&mon->det, &now);
        }

        /* Headroom below MinAvailable= is a fact of this instant: a fresh
         * wake-up even during PostKillDelay=, at least medium; the evidence
         * the manager reads decides whether it is critical. */
        usec_t next = c->poll_interval;
        if (headroom_low(mon, trigger, sizeof trigger, &next)) {
                if (level == LEVEL_NONE)
                        level = LEVEL_MEDIUM;
                fresh = true;
                mon->last_active = now_usec();
        } else if (next < c->poll_interval)
                mon->last_active = now_usec();

        if (now_usec() - mon->last_active >= c->poll_duration) {
                monitor_disarm(mon);
                /* fall through to fire nothing: calm */
                return 0;
        }

        r = sd_event_source_set_time_relative(s, MIN(next, c->poll_interval));
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                note_no_timer(mon, "poll", r);

        if (level != LEVEL_NONE) {
                detector_note_fired(&mon->det, level, have_now ? &now : NULL);
                fire(mon, level, trigger, fresh);       /* may free mon: nothing after this */
        }
        return 0;
}

static int monitor_read_events(Monitor *mon, bool act);

void monitor_note_kill_done(Monitor *mon) {
        PsiSample s;
        int r;

        if (mon->gone)
                return;
        /* A memory.events change that the kernel made while the kill was
         * under way (the limit hit again before the victim's memory came
         * back) is the same shortage, and its inotify event may come only
         * now: take it in without acting on it. If the shortage outlasts
         * the kill, the look at the headroom below sees it, and the next
         * change of memory.events is acted on as usual. */
        if (mon->events_src && monitor_read_events(mon, false) == -ENODEV)
                return;
        detector_note_kill_done(&mon->det, monitor_sample(mon, &s) >= 0 ? &s : NULL);
        r = monitor_arm(mon, true, true);
        if (r < 0)
                note_no_timer(mon, "poll", r);
}

/* ---- PSI triggers ---- */

static int on_trigger(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Monitor *mon = userdata;
        Slot slot;
        PsiSample now;
        char trigger[64];

        for (slot = 0; slot < _SLOT_MAX; slot++)
                if (mon->trigger_src[slot] == s)
                        break;
        if (slot >= _SLOT_MAX)
                return 0;

        if (revents & (EPOLLERR | EPOLLHUP)) {
                monitor_gone(mon);
                return 0;
        }

        (void) monitor_arm(mon, false, true);
        if (slot == SLOT_EARLY || slot == SLOT_EARLY_FAST)
                return 0;       /* Early= only arms polling */

        const PsiTrigger *t = slot_trigger(mon, slot);
        Level level = slot == SLOT_CRITICAL ? LEVEL_CRITICAL : LEVEL_MEDIUM;
        if (monitor_sample(mon, &now) >= 0) {
                if (detector_event_is_stale(&mon->det, level, &now, t)) {
                        log_debug("Monitor %s: %s trigger event is stale (little new stall since it was "
                                  "acted on %" PRIu64 "us ago), ignoring.", mon->mc->name, slot_name[slot],
                                  now.time - mon->det.acted[level].time);
                        return 0;
                }
                detector_note_fired(&mon->det, level, &now);
        }

        trigger_describe(t, trigger, sizeof trigger);
        fire(mon, level, trigger, false);
        return 0;
}

static int monitor_add_trigger(Monitor *mon, Slot slot) {
        const PsiTrigger *t = slot_trigger(mon, slot);
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = psi_trigger_open(mon->pressure_path, t);
        if (fd < 0)
                return fd;

        r = sd_event_add_io(mon->env->event, &mon->trigger_src[slot], fd, EPOLLPRI, on_trigger, mon);
        if (r < 0)
                return r;
        /* Lower value = dispatched first: critical before medium before early. */
        (void) sd_event_source_set_priority(mon->trigger_src[slot], SD_EVENT_PRIORITY_NORMAL - 10 + (int) slot);
        (void) sd_event_source_set_description(mon->trigger_src[slot],
                                               slot == SLOT_CRITICAL ? "psi-critical" :
                                               slot == SLOT_MEDIUM ? "psi-medium" :
                                               slot == SLOT_EARLY ? "psi-early" : "psi-early-fast");
        mon->trigger_fd[slot] = TAKE_FD(fd);
        return 0;
}

/* ---- memory.events ---- */

/* Whether a counter of now is below old: the kernel's only grow. */
static bool events_went_back(const MemoryEvents *old, const MemoryEvents *now) {
        return now->low < old->low || now->high < old->high || now->max < old->max || now->oom < old->oom ||
               now->oom_kill < old->oom_kill || now->oom_group_kill < old->oom_group_kill;
}

/* Read memory.events and take in what changed: kernel OOM kills are
 * always reported; with act, an increase of high/max/oom arms the monitor
 * and oom/max fire a critical event. Without act the increases are only
 * taken in (see monitor_note_kill_done()). Returns <0 when unreadable, and
 * -ENODEV after the monitor went away (it may be freed then). */
static int monitor_read_events(Monitor *mon, bool act) {
        MemoryEvents now;
        int r;

        r = cg_read_memory_events(mon->env->cg_root, mon->cgroup, &now);
        if (r < 0) {
                if (cgroup_vanished(mon, r)) {
                        monitor_gone(mon);
                        return -ENODEV;
                }
                log_debug_errno(r, "Failed to read memory.events of %s: %m", mon->cgroup);
                return r;
        }

        MemoryEvents old = mon->last_events;
        if (!mon->have_events) {
                mon->last_events = now;
                mon->have_events = true;
                return 0;
        }
        /* The kernel's counters only grow; a reading where one went back
         * was torn (or is not the kernel's) and says nothing. */
        if (events_went_back(&old, &now)) {
                log_debug("Monitor %s: memory.events of %s went backwards, ignoring that reading.",
                          mon->mc->name, mon->cgroup);
                return 0;
        }
        mon->last_events = now;

        if (now.oom_kill > old.oom_kill && mon->cbs.oom_kill)
                mon->cbs.oom_kill(mon, mon->cgroup, now.oom_kill - old.oom_kill, now.oom_kill, mon->cbs.userdata);

        if (!act) {
                if (now.max > old.max || now.oom > old.oom)
                        log_debug("Monitor %s: memory.events of %s moved during the kill (max +%" PRIu64
                                  ", oom +%" PRIu64 "), taken as part of it.", mon->mc->name, mon->cgroup,
                                  now.max - old.max, now.oom - old.oom);
                return 0;
        }

        if (now.high > old.high || now.max > old.max || now.oom > old.oom)
                (void) monitor_arm(mon, false, true);

        if (now.oom > old.oom)
                fire(mon, LEVEL_CRITICAL, MONITOR_TRIGGER_OOM, true);
        else if (now.max > old.max)
                fire(mon, LEVEL_CRITICAL, "memory.events max", true);
        return 0;
}

static int on_memory_events(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Monitor *mon = userdata;

        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) {
                monitor_gone(mon);
                return 0;
        }
        (void) monitor_read_events(mon, true);
        return 0;
}

static int on_recheck(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) monitor_read_events(userdata, true);
        return 0;
}

static int monitor_watch_events(Monitor *mon) {
        _cleanup_free_ char *p = NULL;
        int r;

        p = cg_path(mon->env->cg_root, mon->cgroup, "memory.events");
        if (!p)
                return -ENOMEM;
        if (access(p, R_OK) < 0)
                return negative_errno();

        r = sd_event_add_inotify(mon->env->event, &mon->events_src, p, IN_MODIFY | IN_DELETE_SELF,
                                 on_memory_events, mon);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(mon->events_src, "memory-events");

        r = cg_read_memory_events(mon->env->cg_root, mon->cgroup, &mon->last_events);
        mon->have_events = r >= 0;
        return 0;
}

/* ---- kernel OOM kills below "/" ---- */

/* The root cgroup has no memory.events, but every other cgroup's counts
 * the kills at or below it: a monitor of "/" watches those of the
 * top-level children (system.slice, user.slice...) and reports a kill with
 * the child it happened in, and /proc/vmstat oom_kill as the total. */
typedef struct OomChild {
        Monitor *mon;
        char *cgroup;
        sd_event_source *src;
        uint64_t oom_kill;
} OomChild;

static OomChild *oom_child_free(OomChild *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->src);
        free(c->cgroup);
        free(c);
        return NULL;
}

static int on_oom_child_events(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        OomChild *c = userdata;
        Monitor *mon = c->mon;
        MemoryEvents now;
        uint64_t new_kills, total = UINT64_MAX;

        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) {
                c->src = sd_event_source_disable_unref(c->src);
                return 0;
        }
        if (cg_read_memory_events(mon->env->cg_root, c->cgroup, &now) < 0 || now.oom_kill <= c->oom_kill)
                return 0;
        new_kills = now.oom_kill - c->oom_kill;
        c->oom_kill = now.oom_kill;
        ProcVmstat vm;
        total = proc_read_vmstat(mon->env->proc_root, &vm) >= 0 && vm.has_oom_kill ? vm.oom_kill : UINT64_MAX;
        if (mon->cbs.oom_kill)
                mon->cbs.oom_kill(mon, c->cgroup, new_kills, total, mon->cbs.userdata);
        return 0;
}

/* Children made later (machine.slice at the first container) are watched
 * from the next reload on. Returns 0 or -ENOMEM; a child without a
 * readable memory.events is left out. */
static int monitor_watch_oom_children(Monitor *mon) {
        _cleanup_strv_free_ char **children = NULL;
        int r;

        r = cg_list_children(mon->env->cg_root, "/", &children);
        if (r < 0) {
                log_debug_errno(r, "Failed to list the top-level cgroups: %m");
                return r == -ENOMEM ? r : 0;
        }
        for (char **name = children; *name; name++) {
                _cleanup_free_ char *p = NULL;
                OomChild *c, **nc;
                MemoryEvents ev;

                c = calloc(1, sizeof *c);
                if (!c)
                        return -ENOMEM;
                c->mon = mon;
                if (asprintf(&c->cgroup, "/%s", *name) < 0) {
                        free(c);
                        return -ENOMEM;
                }
                p = cg_path(mon->env->cg_root, c->cgroup, "memory.events");
                if (!p || cg_read_memory_events(mon->env->cg_root, c->cgroup, &ev) < 0 ||
                    sd_event_add_inotify(mon->env->event, &c->src, p, IN_MODIFY | IN_DELETE_SELF,
                                         on_oom_child_events, c) < 0) {
                        oom_child_free(c);
                        if (!p)
                                return -ENOMEM;
                        continue;
                }
                (void) sd_event_source_set_description(c->src, "oom-child-events");
                c->oom_kill = ev.oom_kill;
                nc = reallocarray(mon->oom_children, mon->n_oom_children + 1, sizeof *nc);
                if (!nc) {
                        oom_child_free(c);
                        return -ENOMEM;
                }
                mon->oom_children = nc;
                mon->oom_children[mon->n_oom_children++] = c;
        }
        return 0;
}

/* ---- MemoryHighGuard= ---- */

/* memory.high = memory.max less the guard, rounded down to a page. */
static uint64_t guard_value(uint64_t max, unsigned guard_permyriad) {
        uint64_t v = max / 10000 * (10000 - guard_permyriad);

        return v - v % 4096;
}

/* Bring memory.high in line with memory.max: guard = max less the
 * configured share. Only a memory.high that is "max" or ours is touched, so a
 * soft limit the administrator set stays. When the hard limit goes away, our
 * guard goes with it. Idempotent: our own write, seen again through inotify,
 * changes nothing. Returns 1 if it wrote, 0 if nothing needed doing. */
static int monitor_sync_guard(Monitor *mon) {
        uint64_t max, high, guard;
        bool ours;
        char buf[32];
        int r;

        r = cg_read_u64(mon->env->cg_root, mon->cgroup, "memory.max", &max);
        if (r < 0)
                return r;
        r = cg_read_u64(mon->env->cg_root, mon->cgroup, "memory.high", &high);
        if (r < 0)
                return r;
        guard = guard_value(max, mon->mc->memory_high_guard);
        /* Our value before a restart is ours too (no state survives a crash);
         * see DESIGN-NOTES.md, "Robust state". */
        ours = mon->guard_applied ? high == mon->guard_written : max != UINT64_MAX && high == guard;
        if (ours && !mon->guard_applied) {
                note(mon, (MonitorNote) { .kind = MONITOR_GUARD_TAKEN_OVER, .high = high });
                mon->guard_written = high;
                mon->guard_applied = true;
        }

        if (high != UINT64_MAX && !ours) {
                if (mon->guard_applied)
                        note(mon, (MonitorNote) { .kind = MONITOR_GUARD_FOREIGN, .high = high });
                mon->guard_applied = false;
                return 0;
        }

        if (max == UINT64_MAX) {
                if (!ours)
                        return 0;
                r = cg_write_file(mon->env->cg_root, mon->cgroup, "memory.high", "max");
                if (r < 0)
                        return r;
                mon->guard_applied = false;
                note(mon, (MonitorNote) { .kind = MONITOR_GUARD_LIFTED });
                return 1;
        }

        if (high == guard)
                return 0;

        snprintf(buf, sizeof buf, "%" PRIu64, guard);
        r = cg_write_file(mon->env->cg_root, mon->cgroup, "memory.high", buf);
        if (r < 0)
                return r;
        note(mon, (MonitorNote) { .kind = MONITOR_GUARD_SET, .high = guard, .max = max, .again = mon->guard_applied });
        mon->guard_written = guard;
        mon->guard_applied = true;
        return 1;
}

/* systemd writes memory.high=max again whenever it (re)applies the unit's
 * cgroup settings (a unit starting in the slice, daemon-reload), and
 * memory.max changes with MemoryMax= (systemctl set-property, a slice that
 * got its limit after cgreapd saw it): watch both files and follow. */
static int on_guard_file(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Monitor *mon = userdata;
        int r;

        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF))
                return 0;       /* the cgroup is going; its other watches say so */

        r = monitor_sync_guard(mon);
        if (r < 0 && !ERRNO_IS_VANISHED(r))
                note(mon, (MonitorNote) { .kind = MONITOR_NO_GUARD, .error = r });
        return 0;
}

static int monitor_apply_guard(Monitor *mon) {
        static const char *const files[] = { "memory.high", "memory.max" };
        int r;

        if (mon->mc->memory_high_guard == 0 || streq(mon->cgroup, "/"))
                return 0;
        if (!mon->env->have_memory_controller)
                return -EOPNOTSUPP;
        if (mon->env->dry_run) {
                note(mon, (MonitorNote) { .kind = MONITOR_GUARD_DRY_RUN });
                return 0;
        }

        /* Watch first, so that no change between the first sync and the
         * watch goes unseen. */
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = cg_path(mon->env->cg_root, mon->cgroup, files[i]);

                if (!p)
                        return -ENOMEM;
                r = sd_event_add_inotify(mon->env->event, &mon->guard_src[i], p, IN_MODIFY, on_guard_file, mon);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(mon->guard_src[i], "memory-high-guard");
        }
        return monitor_sync_guard(mon);
}

static void monitor_remove_guard(Monitor *mon) {
        uint64_t high;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(mon->guard_src); i++)
                mon->guard_src[i] = sd_event_source_disable_unref(mon->guard_src[i]);
        if (!mon->guard_applied)
                return;
        mon->guard_applied = false;
        /* Only undo what is still ours. */
        if (cg_read_u64(mon->env->cg_root, mon->cgroup, "memory.high", &high) < 0 || high != mon->guard_written)
                return;
        r = cg_write_file(mon->env->cg_root, mon->cgroup, "memory.high", "max");
        if (r < 0 && !ERRNO_IS_VANISHED(r))
                note(mon, (MonitorNote) { .kind = MONITOR_NO_GUARD_RESTORE, .error = r });
}

/* ---- life cycle ---- */

int monitor_new(const MonitorEnv *env, const MonitorConfig *mc, const char *cgroup,
                const MonitorCallbacks *cbs, Monitor *prev, Monitor **ret) {
        Monitor *mon;
        int r;

        mon = calloc(1, sizeof *mon);
        if (!mon)
                return -ENOMEM;
        *mon = (Monitor) {
                .env = env,
                .mc = mc,
                .cbs = *cbs,
                .trigger_fd = { -EBADF, -EBADF, -EBADF, -EBADF },
        };

        mon->cgroup = strdup(cgroup);
        mon->pressure_path = psi_memory_pressure_path(env->cg_root, env->proc_root, cgroup);
        if (!mon->cgroup || !mon->pressure_path) {
                monitor_free(mon);
                return -ENOMEM;
        }

        usec_t longest = MAX(MAX(mc->medium.window_usec, mc->critical.window_usec), mc->early.window_usec);
        r = detector_init(&mon->det,
                          MIN((size_t) (longest / MAX(env->config->poll_interval, 1) + 2), (size_t) RING_MAX));
        if (r < 0) {
                monitor_free(mon);
                return r;
        }

        for (Slot s = 0; s < SLOT_EARLY_FAST; s++) {
                r = monitor_add_trigger(mon, s);
                if (r < 0) {
                        if (ERRNO_IS_VANISHED(r) && access(mon->pressure_path, F_OK) < 0 &&
                            ERRNO_IS_VANISHED(cg_file_exists(env->cg_root, cgroup, NULL))) {
                                monitor_free(mon);
                                return -ENOENT;
                        }
                        note(mon, (MonitorNote) { .kind = MONITOR_NO_TRIGGER, .what = slot_name[s],
                                                  .file = mon->pressure_path, .error = r });
                }
        }

        if (env->have_memory_controller && !streq(cgroup, "/")) {
                r = monitor_watch_events(mon);
                if (r < 0 && !ERRNO_IS_VANISHED(r))
                        note(mon, (MonitorNote) { .kind = MONITOR_NO_EVENTS, .error = r });
        } else if (!streq(cgroup, "/")) {
                /* Without the memory controller a fake or partial tree may still
                 * carry memory.events (tests); watch it if it is there. */
                (void) monitor_watch_events(mon);
        }
        if (streq(cgroup, "/") && monitor_watch_oom_children(mon) < 0) {
                monitor_free(mon);
                return -ENOMEM;
        }

        /* Early='s companion only where Early= itself could be armed; it
         * is an optimisation, so failing to arm it is no warning. */
        if (mon->trigger_src[SLOT_EARLY] &&
            psi_trigger_companion(&mc->early, env->have_sys_resource, &mon->early_fast)) {
                r = monitor_add_trigger(mon, SLOT_EARLY_FAST);
                if (r < 0)
                        log_debug_errno(r, "Monitor %s: cannot arm Early='s 500ms companion trigger on %s: %m",
                                        mc->name, mon->pressure_path);
                else
                        log_debug("Monitor %s: Early='s 500ms companion trigger armed on %s.", mc->name,
                                  mon->pressure_path);
        }

        if (monitor_n_triggers(mon) == 0 && !mon->events_src) {
                monitor_free(mon);
                return -EOPNOTSUPP;
        }

        if (prev && streq(prev->cgroup, cgroup)) {
                /* A guard that stays: take the write over, so that neither
                 * prev's end writes max nor our start sees a memory.high
                 * that is not ours. A guard that goes is prev's to undo. */
                if (prev->guard_applied && mc->memory_high_guard > 0 && !env->dry_run) {
                        mon->guard_applied = true;
                        mon->guard_written = prev->guard_written;
                        prev->guard_applied = false;
                }
                if (monitor_is_armed(prev))
                        (void) monitor_arm(mon, false, true);
                mon->arm_seq = prev->arm_seq;   /* prev's arming goes on */
                /* A re-creation (a reload, or inotify events lost): a change
                 * of memory.events since prev's last reading is acted on once
                 * the caller is done, not taken as the new baseline. */
                if (prev->have_events && mon->have_events && mon->events_src &&
                    !events_went_back(&prev->last_events, &mon->last_events)) {
                        mon->last_events = prev->last_events;
                        r = sd_event_add_time_relative(env->event, &mon->recheck_src, CLOCK_MONOTONIC, 0, 1,
                                                       on_recheck, mon);
                        if (r < 0)
                                note(mon, (MonitorNote) { .kind = MONITOR_NO_EVENTS, .error = r });
                }
        }
        if (!monitor_is_armed(mon)) {
                r = calm_start(mon);
                if (r < 0)
                        note_no_timer(mon, "calm headroom", r);
        }

        r = monitor_apply_guard(mon);
        if (r < 0 && !ERRNO_IS_VANISHED(r))
                note(mon, (MonitorNote) { .kind = MONITOR_NO_GUARD, .error = r });

        *ret = mon;
        return 0;
}

Monitor *monitor_free(Monitor *mon) {
        if (!mon)
                return NULL;

        monitor_remove_guard(mon);
        for (Slot s = 0; s < _SLOT_MAX; s++) {
                sd_event_source_disable_unref(mon->trigger_src[s]);
                safe_close(mon->trigger_fd[s]);
        }
        sd_event_source_disable_unref(mon->events_src);
        sd_event_source_disable_unref(mon->recheck_src);
        for (size_t i = 0; i < mon->n_oom_children; i++)
                oom_child_free(mon->oom_children[i]);
        free(mon->oom_children);
        sd_event_source_disable_unref(mon->poll_src);
        sd_event_source_disable_unref(mon->calm_src);
        detector_done(&mon->det);
        free(mon->cgroup);
        free(mon->pressure_path);
        free(mon);
        return NULL;
}

const char *monitor_cgroup(const Monitor *mon) {
        return mon->cgroup;
}

const MonitorConfig *monitor_config(const Monitor *mon) {
        return mon->mc;
}

void monitor_set_config(Monitor *mon, const MonitorConfig *mc) {
        mon->mc = mc;
        if (!monitor_is_armed(mon) && calm_start(mon) < 0)
                log_debug("Monitor %s: cannot start the calm headroom timer.", mc->name);
}

unsigned monitor_n_triggers(const Monitor *mon) {
        unsigned n = 0;

        /* The configured ones: Early='s companion is ours. */
        for (Slot s = 0; s < SLOT_EARLY_FAST; s++)
                n += mon->trigger_src[s] != NULL;
        return n;
}

/* ---- glob expansion ---- */

typedef struct ExpandState {
        const char *glob;
        bool deep;              /* the glob has "**": any depth may match */
        size_t glob_depth;      /* number of components of the glob */
        char **paths;
        size_t n_paths;
        char **dirs;
        size_t n_dirs;
} ExpandState;

static int strv_push(char ***l, size_t *n, const char *s) {
        char **nl = realloc(*l, (*n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[*n] = strdup(s);
        if (!nl[*n])
                return -ENOMEM;
        nl[++*n] = NULL;
        return 0;
}

/* Whether the first "depth" components of path match the glob's first
 * "depth" components, i.e. whether a match could lie below path. */
static bool glob_prefix_matches(const char *glob, const char *path, size_t depth) {
        char buf[PATH_MAX];
        const char *p = glob;

        if (depth == 0)
                return true;
        for (size_t d = 0; *p; p++)
                if (*p == '/' && p != glob && ++d == depth)
                        break;
        if ((size_t) (p - glob) >= sizeof buf)
                return false;
        memcpy(buf, glob, p - glob);
        buf[p - glob] = 0;
        if (*p == 0 && cg_path_depth(glob) < depth)
                return false;
        return policy_pattern_match(buf, path);
}

static int expand_cb(const char *root, const char *path, void *userdata) {
        ExpandState *st = userdata;
        size_t depth = cg_path_depth(path);
        int r;

        if (policy_pattern_match(st->glob, path)) {
                r = strv_push(&st->paths, &st->n_paths, path);
                if (r < 0)
                        return r;
        }
        if (!st->deep && (depth >= st->glob_depth || !glob_prefix_matches(st->glob, path, depth)))
                return 1;       /* nothing below this one can match */

        /* A later mkdir below this directory could create a match. */
        r = strv_push(&st->dirs, &st->n_dirs, path);
        return r < 0 ? r : 0;
}

/* The deepest existing directory above every possible match: the part of
 * the glob before its first glob character, cut at a '/', and for a plain
 * path its parent (so that its creation is seen). */
static char *glob_walk_start(const char *cg_root, const char *glob) {
        char *start = strdup(glob);
        char *g, *slash;

        if (!start)
                return NULL;
        g = strpbrk(start, "*?[");
        if (g)
                *g = 0;
        slash = strrchr(start, '/');
        if (slash == start)
                start[1] = 0;
        else if (slash)
                *slash = 0;

        while (!streq(start, "/") && cg_file_exists(cg_root, start, NULL) <= 0) {
                slash = strrchr(start, '/');
                if (slash == start)
                        start[1] = 0;
                else
                        *slash = 0;
        }
        return start;
}

int monitor_glob_expand(const char *cg_root, const char *glob, char ***ret_paths, char ***ret_watch_dirs) {
        ExpandState st = { .glob = glob };
        _cleanup_free_ char *start = NULL;
        int r;

        if (glob[0] != '/')
                return -EINVAL;

        st.deep = strstr(glob, "**");
        st.glob_depth = cg_path_depth(glob);

        start = glob_walk_start(cg_root, glob);
        if (!start)
                return -ENOMEM;

        /* The ancestors of the start too: if the start itself is removed
         * and created again (a slice stopped and started), that is where
         * its creation shows. */
        r = 0;
        for (_cleanup_free_ char *up = strdup(start); r >= 0;) {
                char *slash;

                if (!up) {
                        r = -ENOMEM;
                        break;
                }
                if (streq(up, "/"))
                        break;
                slash = strrchr(up, '/');
                if (slash == up)
                        up[1] = 0;
                else
                        *slash = 0;
                r = strv_push(&st.dirs, &st.n_dirs, up);
        }
        if (r >= 0)
                r = cg_walk(cg_root, start, expand_cb, &st);
        if (r >= 0 || ERRNO_IS_VANISHED(r)) {
                r = 0;
                if (!st.paths)
                        st.paths = calloc(1, sizeof(char *));
                if (!st.dirs)
                        st.dirs = calloc(1, sizeof(char *));
                if (!st.paths || !st.dirs)
                        r = -ENOMEM;
        }
        if (r < 0) {
                strv_free(st.paths);
                strv_free(st.dirs);
                return r;
        }

        *ret_paths = st.paths;
        if (ret_watch_dirs)
                *ret_watch_dirs = st.dirs;
        else
                strv_free(st.dirs);
        return 0;
}
