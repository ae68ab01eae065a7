/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus: org.cgreap1.Manager on the system bus. See bus.h. */

#include <signal.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "cgroupfs.h"
#include "log.h"
#include "manager.h"

/* A manual kill asks PID 1 for the unit's cgroup from inside the loop: a
 * bounded wait, and only for root's explicit request. */
#define BUS_CALL_TIMEOUT_USEC (2 * USEC_PER_SEC)

struct Bus {
        Manager *manager;
        sd_bus *bus;
        sd_bus_slot *slot;
        /* The last Killed signal, for the LastKill property. */
        uint64_t last_id;
        char *last_unit, *last_cgroup, *last_reason;
        int32_t last_adj;
        uint64_t last_footprint;
};

static uint64_t report_footprint(const KillReport *k) {
        uint64_t f;

        if (__builtin_add_overflow(k->memory_bytes, k->swap_bytes, &f))
                f = UINT64_MAX;
        return f;
}

static int prop_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        Metrics mt;
        uint64_t v;

        manager_get_metrics(b->manager, &mt);
        if (streq(property, "Kills"))
                v = mt.kills;
        else if (streq(property, "KillsFailed"))
                v = mt.failed;
        else if (streq(property, "KillsTimedOut"))
                v = mt.timed_out;
        else if (streq(property, "KernelOOMKills"))
                v = mt.kernel_oom_kills;
        else
                v = mt.freed_bytes;
        return sd_bus_message_append(reply, "t", v);
}

static int prop_dry_run(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        Metrics mt;

        manager_get_metrics(b->manager, &mt);
        return sd_bus_message_append(reply, "b", (int) mt.dry_run);
}

static int prop_monitors(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const char *name, *cgroup;
        bool armed;
        Level level;
        usec_t when;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sssst)");
        for (size_t i = 0; r >= 0 && manager_get_monitor(b->manager, i, &name, &cgroup, &armed, &level, &when); i++)
                r = sd_bus_message_append(reply, "(sssst)", name, cgroup, armed ? "armed" : "calm",
                                          level_to_string(level), when);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int prop_stuck(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const char *cg;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && (cg = manager_get_stuck(b->manager, i)); i++)
                r = sd_bus_message_append(reply, "s", cg);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int prop_being_killed(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;

        return sd_bus_message_append_strv(reply, (char **) manager_being_killed(b->manager));
}

static int prop_last_kill(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;

        return sd_bus_message_append(reply, "(tsssit)", b->last_id, b->last_unit ?: "",
                                     b->last_cgroup ?: "", b->last_reason ?: "", b->last_adj,
                                     b->last_footprint);
}

static int append_histogram(sd_bus_message *reply, const Histogram *h) {
        int r;

        r = sd_bus_message_open_container(reply, 'r', "attt");
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 't', h->buckets, sizeof h->buckets);
        if (r >= 0)
                r = sd_bus_message_append(reply, "tt", h->count, h->sum_usec);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int prop_histogram(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        Metrics mt;

        manager_get_metrics(b->manager, &mt);
        return append_histogram(reply, streq(property, "KillLatency") ? &mt.kill_latency : &mt.reclaim_time);
}

static int prop_bounds(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_array(reply, 't', histogram_bounds_usec, sizeof histogram_bounds_usec);
}

/* The interface of a unit that has a ControlGroup property, by suffix. */
static const char *unit_interface(const char *unit) {
        static const struct { const char *suffix, *iface; } table[] = {
                { ".service", "org.freedesktop.systemd1.Service" },
                { ".scope",   "org.freedesktop.systemd1.Scope" },
                { ".slice",   "org.freedesktop.systemd1.Slice" },
                { ".socket",  "org.freedesktop.systemd1.Socket" },
                { ".mount",   "org.freedesktop.systemd1.Mount" },
                { ".swap",    "org.freedesktop.systemd1.Swap" },
        };
        size_t n = strlen(unit);

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                size_t l = strlen(table[i].suffix);
                if (n > l && streq(unit + n - l, table[i].suffix))
                        return table[i].iface;
        }
        return NULL;
}

/* A system unit's cgroup, from PID 1. */
static int bus_unit_cgroup(Bus *b, const char *unit, char **ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *iface = unit_interface(unit), *object;
        char *cg = NULL;
        int r;

        if (!iface)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "'%s' is neither a cgroup path (leading '/') nor the name of a "
                                         "service, scope, slice, socket, mount or swap unit.", unit);
        r = sd_bus_call_method(b->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnit", &e, &reply, "s", unit);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &object);
        if (r >= 0)
                r = sd_bus_get_property_string(b->bus, "org.freedesktop.systemd1", object, iface,
                                               "ControlGroup", &e, &cg);
        /* Not the caller's errors: "no such service" would read as cgreapd missing. */
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND, "No loaded unit %s: %s", unit,
                                         sd_bus_error_is_set(&e) ? e.message : strerror(-r));
        if (!cg || !*cg) {
                free(cg);
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND, "%s has no cgroup.", unit);
        }
        *ret = cg;
        return 0;
}

static int method_kill(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ char *cg = NULL;
        const char *what;
        uint64_t flags, id = 0;
        int r;

        r = sd_bus_message_read(msg, "st", &what, &flags);
        if (r < 0)
                return r;
        /* The bus policy allows Kill to root only; this holds without it. */
        r = sd_bus_query_sender_privilege(msg, -1);
        if (r < 0)
                return r;
        if (r == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may kill.");
        if (flags & ~BUS_KILL_FORCE)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%" PRIx64 ".",
                                         flags & ~BUS_KILL_FORCE);

        if (what[0] != '/') {
                r = bus_unit_cgroup(b, what, &cg, error);
                if (r < 0)
                        return r;
                what = cg;
        }

        log_info("Kill of %s requested over the bus.", what);
        r = manager_kill_manual(b->manager, what, flags & BUS_KILL_FORCE, &id);
        if (r == -EPERM)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "%s is protected, or it or a cgroup below it has adj -1000 (the force flag kills those).", what);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND,
                                         "%s does not exist or holds no process.", what);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "%s: %m", what);
        return sd_bus_reply_method_return(msg, "t", id);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        int r;

        r = sd_bus_query_sender_privilege(msg, -1);
        if (r < 0)
                return r;
        if (r == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may reload.");
        if (manager_reload(b->manager) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The new configuration is invalid (see the journal); the "
                                        "running one stays in use.");
        return sd_bus_reply_method_return(msg, NULL);
}

/* Where c lost against the victim, in one word (explain's reasons). */
static const char *lost_because(const Candidate *c, const Candidate *victim) {
        if (c->adj.value < victim->adj.value)
                return "lower-adj";
        if (c->footprint < victim->footprint)
                return "smaller-footprint";
        return "later-by-path";
}

/* ListCandidates and Explain: the ranking's candidates as a(ssissts):
 * cgroup, unit, adj, its source (a word), where it came from (words),
 * footprint, state. */
static int method_rank(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(manager_ranking_done) ManagerRanking rk = {};
        bool explain = streq(sd_bus_message_get_member(msg), "Explain");
        const char *cgroup, *level_name;
        const Candidate *victim = NULL;
        Level level;
        ssize_t v;
        int r;

        r = sd_bus_message_read(msg, "ss", &cgroup, &level_name);
        if (r < 0)
                return r;
        if (streq(level_name, "medium"))
                level = LEVEL_MEDIUM;
        else if (streq(level_name, "critical") || !*level_name)
                level = LEVEL_CRITICAL;
        else
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid level '%s': expected medium or critical.", level_name);

        r = manager_rank(b->manager, *cgroup ? cgroup : "/", level, &rk);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid cgroup '%s': give a path below the cgroup2 mount.", cgroup);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND, "%s does not exist.", cgroup);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to rank the cgroups below %s: %m", cgroup);
        v = policy_pick_victim(rk.cands, rk.n);
        if (v >= 0)
                victim = &rk.cands[v];

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0 && explain)
                r = sd_bus_message_append(reply, "s", victim ? rk.snapshot->nodes[victim->node].path : "");
        if (r >= 0)
                r = sd_bus_message_append(reply, "si", rk.monitor ?: "", (int32_t) rk.min_adj);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssissts)");
        for (size_t i = 0; r >= 0 && i < rk.n; i++) {
                const Candidate *c = &rk.cands[i];
                const CgroupNode *n = &rk.snapshot->nodes[c->node];
                _cleanup_free_ char *unit = NULL;
                const char *state = manager_candidate_state(b->manager, &rk, c);
                char src[256];

                if (explain && c == victim)
                        state = "victim";
                else if (explain && victim && c->skip == SKIP_NONE)
                        state = lost_because(c, victim);
                (void) cg_path_get_unit(n->path, &unit, NULL);
                r = sd_bus_message_append(reply, "(ssissts)", n->path, unit ?: "", (int32_t) c->adj.value,
                                          adj_source_to_string(c->adj.source),
                                          adj_source_format(&c->adj, src, sizeof src), c->footprint,
                                          state);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Kills", "t", prop_counter, 0, 0),
        SD_BUS_PROPERTY("KillsFailed", "t", prop_counter, 0, 0),
        SD_BUS_PROPERTY("KillsTimedOut", "t", prop_counter, 0, 0),
        SD_BUS_PROPERTY("KernelOOMKills", "t", prop_counter, 0, 0),
        SD_BUS_PROPERTY("FreedBytes", "t", prop_counter, 0, 0),
        SD_BUS_PROPERTY("DryRun", "b", prop_dry_run, 0, 0),
        SD_BUS_PROPERTY("Monitors", "a(sssst)", prop_monitors, 0, 0),
        SD_BUS_PROPERTY("StuckVictims", "as", prop_stuck, 0, 0),
        SD_BUS_PROPERTY("BeingKilled", "as", prop_being_killed, 0, 0),
        SD_BUS_PROPERTY("LastKill", "(tsssit)", prop_last_kill, 0, 0),
        SD_BUS_PROPERTY("HistogramBoundsUSec", "at", prop_bounds, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("KillLatency", "(attt)", prop_histogram, 0, 0),
        SD_BUS_PROPERTY("ReclaimTime", "(attt)", prop_histogram, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("s", cgroup_or_unit, "t", flags),
                                SD_BUS_RESULT("t", kill_id), method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListCandidates", SD_BUS_ARGS("s", cgroup, "s", level),
                                SD_BUS_RESULT("s", monitor, "i", min_adj, "a(ssissts)", candidates),
                                method_rank, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Explain", SD_BUS_ARGS("s", cgroup, "s", level),
                                SD_BUS_RESULT("s", victim, "s", monitor, "i", min_adj, "a(ssissts)", candidates),
                                method_rank, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Killed",
                                SD_BUS_ARGS("t", kill_id, "s", unit, "s", cgroup, "i", adj, "s", reason,
                                            "t", footprint),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("Reclaimed", SD_BUS_ARGS("t", kill_id, "t", freed_bytes, "t", usec), 0),
        SD_BUS_VTABLE_END,
};

static int on_name_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_warning("Failed to take the name " BUS_NAME " on the system bus: %s. Going on "
                            "without it: cgreapctl status, kill, monitor and metrics will not work.",
                            e->message);
        else
                log_debug("Offering " BUS_NAME " on the system bus.");
        return 0;
}

int bus_new(Manager *m, sd_event *e, Bus **ret) {
        _cleanup_(bus_freep) Bus *b = NULL;
        int r;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->manager = m;

        r = sd_bus_open_system_with_description(&b->bus, "cgreapd");
        if (r < 0)
                return log_debug_errno(r, "Failed to connect to the system bus: %m");
        (void) sd_bus_set_method_call_timeout(b->bus, BUS_CALL_TIMEOUT_USEC);
        r = sd_bus_add_object_vtable(b->bus, &b->slot, BUS_PATH, BUS_INTERFACE, manager_vtable, b);
        if (r < 0)
                return log_debug_errno(r, "Failed to add the object %s: %m", BUS_PATH);
        /* Not a synchronous call: at boot the bus may answer only once
         * dbus.service runs, and the daemon must not wait for it. */
        r = sd_bus_request_name_async(b->bus, NULL, BUS_NAME, 0, on_name_reply, b);
        if (r < 0)
                return log_debug_errno(r, "Failed to ask for the name %s: %m", BUS_NAME);
        r = sd_bus_attach_event(b->bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_debug_errno(r, "Failed to attach the bus to the event loop: %m");

        *ret = TAKE_PTR(b);
        return 0;
}

Bus *bus_free(Bus *b) {
        if (!b)
                return NULL;
        sd_bus_slot_unref(b->slot);
        sd_bus_flush_close_unref(b->bus);
        free(b->last_unit);
        free(b->last_cgroup);
        free(b->last_reason);
        free(b);
        return NULL;
}

void bus_emit_killed(Bus *b, const KillReport *k) {
        _cleanup_free_ char *unit = NULL;
        const char *reason = report_reason_to_string(k->reason) ?: "";
        int r;

        if (!b)
                return;
        (void) cg_path_get_unit(k->cgroup, &unit, NULL);

        free(b->last_unit);
        free(b->last_cgroup);
        free(b->last_reason);
        b->last_id = k->kill_id;
        b->last_unit = strdup(unit ?: "");
        b->last_cgroup = strdup(k->cgroup);
        b->last_reason = strdup(reason);
        b->last_adj = k->adj;
        b->last_footprint = report_footprint(k);

        r = sd_bus_emit_signal(b->bus, BUS_PATH, BUS_INTERFACE, "Killed", "tssist", k->kill_id, unit ?: "",
                               k->cgroup, (int32_t) k->adj, reason, report_footprint(k));
        if (r < 0)
                log_debug_errno(r, "Failed to send the Killed signal: %m");
}

void bus_emit_reclaimed(Bus *b, const KillReport *k) {
        int r;

        if (!b)
                return;
        r = sd_bus_emit_signal(b->bus, BUS_PATH, BUS_INTERFACE, "Reclaimed", "ttt", k->kill_id,
                               k->freed_bytes, k->empty_usec);
        if (r < 0)
                log_debug_errno(r, "Failed to send the Reclaimed signal: %m");
}

static int on_client_exit(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int bus_client_event_new(sd_event **ret) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        sigset_t ss;
        int r;

        r = sd_event_default(&e);
        if (r < 0)
                return r;
        sigemptyset(&ss);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return -errno;
        r = sd_event_add_signal(e, NULL, SIGINT, on_client_exit, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, on_client_exit, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}
