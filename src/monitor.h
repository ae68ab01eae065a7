/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* monitor: the watch on one cgroup — its PSI triggers (one fd per level,
 * EPOLLPRI), its memory.events (inotify), the armed fast polling of
 * DESIGN §5, and MemoryHighGuard=. It turns what the kernel says into level
 * events for the manager. It never chooses a victim and never kills.
 *
 * Also here: expanding a [Monitor] Cgroup= glob into concrete cgroups, and
 * the pure arithmetic of polling and stale-event checks (tested alone). */

#include <systemd/sd-event.h>

#include "cgroupfs.h"
#include "config.h"
#include "psi.h"
#include "report.h"

typedef enum Level {
        LEVEL_NONE,
        LEVEL_MEDIUM,
        LEVEL_CRITICAL,
        _LEVEL_MAX,
} Level;
const char *level_to_string(Level l);

/* The lowest adj that may be killed at this level (lmkd's min_score_adj). */
int level_min_adj(const MonitorConfig *mc, Level l);

typedef struct PsiSample {
        usec_t time;            /* CLOCK_MONOTONIC */
        uint64_t total[2];      /* indexed by PsiKind: some, full (usec) */
} PsiSample;

/* Whether a trigger's condition holds between two samples: the stall of the
 * trigger's kind grew by at least stall_usec, over a span that is not longer
 * than the trigger's window (the kernel's own semantic). */
bool psi_samples_cross(const PsiSample *older, const PsiSample *newer, const PsiTrigger *t);

/* A trigger event is stale when the monitor acted (fired an event of that
 * level, or saw a kill end) within two of the trigger's windows and less
 * than the trigger's stall of that kind happened since: the kernel's
 * window (which carries over a share of the previous window's growth)
 * still holds the stalls that were already acted on, e.g. the ones that
 * led to the last kill. last is the sample of that action, NULL for none. */
bool psi_event_is_stale(const PsiSample *last, const PsiSample *now, const PsiTrigger *t);

/* Headroom below a limit in permyriad: (limit - used) / limit. */
unsigned headroom_permyriad(uint64_t limit, uint64_t used);

typedef struct HeadroomSample {
        usec_t time;            /* CLOCK_MONOTONIC */
        uint64_t limit;         /* MemTotal for /, else min(memory.max, memory.high) */
        uint64_t avail;         /* MemAvailable for /, else limit - memory.current */
} HeadroomSample;

/* Whether the headroom is falling between two readings of the same limit,
 * and if so in how long, at that rate, it reaches min_permyriad (0 when it
 * is there already). */
bool headroom_time_to_min(const HeadroomSample *prev, const HeadroomSample *now, unsigned min_permyriad,
                          usec_t *ret_usec);

/* The fill rate a calm look at the headroom assumes possible (bytes/s). */
#define HEADROOM_CALM_FILL_RATE (UINT64_C(1) << 30)

/* While calm: how long until the next look at the headroom (between floor
 * and ceiling: sooner the less is left above min_permyriad at
 * HEADROOM_CALM_FILL_RATE, or at the rate it fell since prev, which may be
 * NULL), or 0 to arm polling now: below min_permyriad already, or falling
 * at a rate that reaches it within horizon. */
usec_t headroom_calm_next(const HeadroomSample *prev, const HeadroomSample *now, unsigned min_permyriad,
                          usec_t floor, usec_t ceiling, usec_t horizon);

typedef enum HeadroomVerdict {
        HEADROOM_OK,
        HEADROOM_LOW,           /* below MinAvailable= now */
        HEADROOM_FALLING,       /* above it, but at its current rate below it before the next look */
} HeadroomVerdict;

/* The detection state of one monitor, without its I/O (DESIGN §5), so that
 * its rules can be tested alone: the polling history, what was last acted
 * on (for stale events), and the last headroom reading (for its rate). */
typedef struct Detector {
        PsiSample *ring;                /* samples since the arm point or the last kill, oldest first */
        size_t ring_size, ring_start, ring_count;
        PsiSample acted[_LEVEL_MAX];    /* per level: the last event fired, or the last kill's end */
        bool have_acted[_LEVEL_MAX];
        HeadroomSample headroom;        /* the previous reading */
        bool have_headroom;
} Detector;

int detector_init(Detector *d, size_t ring_size);
void detector_done(Detector *d);
/* Polling (re)starts: forget the history. */
void detector_reset(Detector *d);
/* A poll: s joins the history (the first one after a reset is the start). */
void detector_push(Detector *d, const PsiSample *s);
/* Whether t's condition holds between now and the oldest sample of the
 * history that lies within t's window: the stall counted since the arm
 * point or the last kill, never more lenient than the kernel. */
bool detector_crosses(const Detector *d, const PsiSample *now, const PsiTrigger *t);
/* An event of level l was fired on sample s (NULL: no sample). */
void detector_note_fired(Detector *d, Level l, const PsiSample *s);
/* A kill ended at s (NULL: no sample): the history and the headroom rate
 * start again there, and s is what every level acted on last. */
void detector_note_kill_done(Detector *d, const PsiSample *s);
/* Whether a kernel trigger event of level l at now is stale (see
 * psi_event_is_stale), judged against what that level last acted on, not
 * against the last poll. */
bool detector_event_is_stale(const Detector *d, Level l, const PsiSample *now, const PsiTrigger *t);
/* Judge a headroom reading against MinAvailable= (min_permyriad), looking
 * ahead by the interval to the next reading (the poll interval, or the time
 * since the previous reading if that was longer), and remember it. On
 * HEADROOM_FALLING *ret_usec is the time until it reaches MinAvailable=. */
HeadroomVerdict detector_headroom(Detector *d, const HeadroomSample *h, unsigned min_permyriad, usec_t interval,
                                  usec_t *ret_usec);

typedef struct Monitor Monitor;

/* Called on the event loop: a wake-up, never a verdict (the manager reads
 * the evidence). trigger is a readable description of what fired: "some
 * 10% 2s", "memory.events max", "MinAvailable 2.00%". fresh is true when
 * the event rests on a reading of this instant (headroom below
 * MinAvailable=, a memory.events counter that just grew) rather than on a
 * stall window, which may still hold the stalls from before the last kill. */
/* The trigger text of a memory.events oom increase: evidence by itself. */
#define MONITOR_TRIGGER_OOM "memory.events oom"
typedef void (*monitor_level_cb)(Monitor *mon, Level level, const char *trigger, bool fresh, void *userdata);
/* Called for each new kernel OOM kill seen in memory.events (oom_kill grew):
 * the monitor's own, or for a monitor of "/" that of the top-level cgroup
 * the kill was in. cgroup is whose counter grew; total is that counter, or
 * for "/" /proc/vmstat oom_kill (every kill since boot; UINT64_MAX when
 * unreadable). */
typedef void (*monitor_oom_kill_cb)(Monitor *mon, const char *cgroup, uint64_t new_kills, uint64_t total,
                                    void *userdata);
/* Called when the cgroup is gone (EPOLLERR, or memory.events vanished). The
 * callback may free the monitor. */
typedef void (*monitor_gone_cb)(Monitor *mon, void *userdata);

/* What a monitor could not do, or did to memory.high for MemoryHighGuard=.
 * The monitor logs at debug only; the manager says these (note). */
typedef enum MonitorNoteKind {
        MONITOR_NO_TRIGGER,             /* a PSI trigger cannot be armed: what (its slot), file, error */
        MONITOR_NO_EVENTS,              /* memory.events cannot be watched: error */
        MONITOR_NO_TIMER,               /* what ("poll", "calm headroom") cannot be (re-)armed: error */
        MONITOR_NO_GUARD,               /* MemoryHighGuard= cannot be applied: error */
        MONITOR_NO_GUARD_RESTORE,       /* memory.high=max cannot be written back: error */
        MONITOR_GUARD_TAKEN_OVER,       /* memory.high (high) is the guard's own value */
        MONITOR_GUARD_FOREIGN,          /* someone else set memory.high (high): left alone */
        MONITOR_GUARD_LIFTED,           /* memory.max went away, memory.high is max again */
        MONITOR_GUARD_SET,              /* memory.high set (again: re-applied) to high below max */
        MONITOR_GUARD_DRY_RUN,          /* DryRun=: nothing written */
} MonitorNoteKind;

typedef struct MonitorNote {
        MonitorNoteKind kind;
        int error;
        const char *what, *file;
        uint64_t high, max;
        bool again;
} MonitorNote;

typedef void (*monitor_note_cb)(Monitor *mon, const MonitorNote *note, void *userdata);

typedef struct MonitorCallbacks {
        monitor_level_cb level;
        monitor_oom_kill_cb oom_kill;
        monitor_gone_cb gone;
        monitor_note_cb note;           /* may be called from monitor_new() */
        void *userdata;
} MonitorCallbacks;

typedef struct MonitorEnv {
        sd_event *event;
        const char *cg_root;
        const char *proc_root;
        const Config *config;           /* for PollInterval/Duration, MinAvailable */
        bool have_memory_controller;
        bool have_sys_resource;
        bool dry_run;                   /* DryRun=: MemoryHighGuard= writes nothing */
} MonitorEnv;

/* Start watching cgroup (a concrete path) under the rules of mc. Triggers
 * that cannot be armed are logged once and left out; a monitor with neither
 * a trigger nor a memory.events watch is an error (-EOPNOTSUPP).
 * env, mc and cbs must outlive the monitor. prev, if not NULL, is the
 * monitor of the same cgroup that this one replaces (a reload): it hands
 * over its MemoryHighGuard= write, so that memory.high does not go back to
 * max between the two, and its armed polling. The caller frees prev. */
int monitor_new(const MonitorEnv *env, const MonitorConfig *mc, const char *cgroup,
                const MonitorCallbacks *cbs, Monitor *prev, Monitor **ret);
/* Stops watching, restores memory.high if MemoryHighGuard= changed it. NULL ok. */
Monitor *monitor_free(Monitor *mon);

const char *monitor_cgroup(const Monitor *mon);
const MonitorConfig *monitor_config(const Monitor *mon);
/* Re-point at a new MonitorConfig after a reload (same name and cgroup). */
void monitor_set_config(Monitor *mon, const MonitorConfig *mc);
unsigned monitor_n_triggers(const Monitor *mon);
bool monitor_is_armed(const Monitor *mon);

/* Take a pressure sample now (used to remember the state after a kill). */
int monitor_sample(Monitor *mon, PsiSample *ret);
/* After a kill in this monitor finished: forget the polling history (its
 * window holds the stalls that led to the kill), remember a fresh sample as
 * what was acted on for stale checks, and look again at once (armed, the
 * first tick right away): a fast allocator may already be eating what the
 * kill freed. */
void monitor_note_kill_done(Monitor *mon);
/* Read the monitor's pressure file now (for evidence and reports). */
int monitor_pressure(const Monitor *mon, PsiStats *ret);
/* Counts the armings: the same number means armed without a break since. */
unsigned monitor_arm_seq(const Monitor *mon);

/* Expand a Cgroup= glob into the concrete cgroup paths that exist now
 * (sorted), and the directories whose new children could match later (for
 * inotify IN_CREATE watches). "/" expands to "/". */
int monitor_glob_expand(const char *cg_root, const char *glob, char ***ret_paths,
                        char ***ret_watch_dirs);
