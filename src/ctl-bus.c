/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-bus: the cgreapctl commands that ask the running daemon over the
 * system bus (status, kill, monitor, metrics). They read and call
 * org.cgreap1.Manager and print; the daemon decides and kills. */

#include <inttypes.h>
#include <signal.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "cgroupfs.h"
#include "ctl.h"
#include "log.h"
#include "metrics.h"
#include "parse-util.h"

static int bus_connect(sd_bus **ret) {
        int r = sd_bus_open_system(ret);

        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        return 0;
}

/* The daemon's own words when it has them; "not running" when nobody has
 * the name. */
static int bus_fail(int r, const sd_bus_error *error, const char *what) {
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return log_error_errno(r, "cgreapd is not running (nobody owns %s on the system bus).",
                                       BUS_NAME);
        if (sd_bus_error_is_set(error))
                return log_error_errno(r, "Failed to %s: %s", what, error->message);
        return log_error_errno(r, "Failed to %s: %m", what);
}

static int get_u64(sd_bus *bus, const char *prop, uint64_t *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, prop, &error, 't', ret);
        if (r < 0)
                return bus_fail(r, &error, "read the daemon's counters");
        return 0;
}

static int get_property(sd_bus *bus, const char *prop, const char *type, sd_bus_message **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, prop, &error, ret, type);
        if (r < 0)
                return bus_fail(r, &error, "read the daemon's state");
        return 0;
}

static int read_histogram(sd_bus *bus, const char *prop, Histogram *h) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const void *buckets;
        size_t size;
        int r;

        r = get_property(bus, prop, "(attt)", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'r', "attt");
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 't', &buckets, &size);
        if (r >= 0 && size != sizeof h->buckets)
                r = -EBADMSG;   /* a daemon of another version */
        if (r >= 0) {
                memcpy(h->buckets, buckets, size);
                r = sd_bus_message_read(reply, "tt", &h->count, &h->sum_usec);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the daemon's %s: %m", prop);
        return 0;
}

typedef void (*MonitorCallback)(const char *name, const char *cgroup, const char *state,
                                const char *last_level, uint64_t last_usec, void *userdata);

/* Calls cb for each monitor. */
static int for_each_monitor(sd_bus *bus, MonitorCallback cb, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *cgroup, *state, *level;
        uint64_t when;
        int r;

        r = get_property(bus, "Monitors", "a(sssst)", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(sssst)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sssst)", &name, &cgroup, &state, &level, &when)) > 0)
                cb(name, cgroup, state, level, when, userdata);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the daemon's monitors: %m");
        return 0;
}

static void count_monitor(const char *name, const char *cgroup, const char *state, const char *last_level,
                          uint64_t last_usec, void *userdata) {
        Metrics *m = userdata;

        m->n_monitors++;
        m->n_armed += streq(state, "armed");
}

static int read_stuck(sd_bus *bus, char ***ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = get_property(bus, "StuckVictims", "as", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(reply, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the daemon's stuck victims: %m");
        return 0;
}

static int read_metrics(sd_bus *bus, Metrics *m) {
        _cleanup_strv_free_ char **stuck = NULL;
        int dry_run = 0, r;

        *m = (Metrics) {};
        if ((r = get_u64(bus, "Kills", &m->kills)) < 0 ||
            (r = get_u64(bus, "KillsFailed", &m->failed)) < 0 ||
            (r = get_u64(bus, "KillsTimedOut", &m->timed_out)) < 0 ||
            (r = get_u64(bus, "KernelOOMKills", &m->kernel_oom_kills)) < 0 ||
            (r = get_u64(bus, "FreedBytes", &m->freed_bytes)) < 0)
                return r;
        r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "DryRun", NULL, 'b', &dry_run);
        if (r < 0)
                return log_error_errno(r, "Failed to read DryRun: %m");
        m->dry_run = dry_run;
        if ((r = for_each_monitor(bus, count_monitor, m)) < 0 ||
            (r = read_stuck(bus, &stuck)) < 0 ||
            (r = read_histogram(bus, "KillLatency", &m->kill_latency)) < 0 ||
            (r = read_histogram(bus, "ReclaimTime", &m->reclaim_time)) < 0)
                return r;
        for (char **s = stuck; s && *s; s++)
                m->n_stuck++;
        return 0;
}

static void print_monitor(const char *name, const char *cgroup, const char *state, const char *last_level,
                          uint64_t last_usec, void *userdata) {
        char ago[FORMAT_DURATION_MAX];
        uint64_t now = now_usec();

        if (last_usec == 0)
                printf("  %-20s %-40s %s, no event yet\n", name, cgroup, state);
        else
                printf("  %-20s %-40s %s, last event %s %s ago\n", name, cgroup, state, last_level,
                       format_duration(ago, sizeof ago, now > last_usec ? now - last_usec : 0));
}

int ctl_status(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *last = NULL;
        _cleanup_strv_free_ char **stuck = NULL;
        char freed[FORMAT_BYTES_MAX], size[FORMAT_BYTES_MAX];
        const char *unit, *cgroup, *reason;
        uint64_t id, footprint;
        int32_t adj;
        Metrics m;

        if (bus_connect(&bus) < 0 || read_metrics(bus, &m) < 0 || read_stuck(bus, &stuck) < 0 ||
            get_property(bus, "LastKill", "(tsssit)", &last) < 0)
                return 1;
        if (sd_bus_message_read(last, "(tsssit)", &id, &unit, &cgroup, &reason, &adj, &footprint) < 0)
                return log_error("Failed to parse the daemon's LastKill."), 1;

        printf("cgreapd is running%s.\n", m.dry_run ? " in dry-run mode (it decides but never kills)" : "");
        printf("Kills: %" PRIu64 " (%" PRIu64 " failed, %" PRIu64 " timed out), freed %s; "
               "kernel OOM kills seen: %" PRIu64 "\n",
               m.kills, m.failed, m.timed_out, format_bytes(freed, sizeof freed, m.freed_bytes),
               m.kernel_oom_kills);
        if (id != 0)
                printf("Last kill: %s (%s), adj %" PRIi32 ", %s, reason %s, kill id %" PRIu64 "\n",
                       *unit ? unit : "-", cgroup, adj, format_bytes(size, sizeof size, footprint), reason, id);
        else
                printf("Last kill: none since the daemon started\n");
        printf("Monitors: %zu (%zu armed)\n", m.n_monitors, m.n_armed);
        if (for_each_monitor(bus, print_monitor, NULL) < 0)
                return 1;
        printf("Passed over (did not die): %zu\n", m.n_stuck);
        for (char **s = stuck; s && *s; s++)
                printf("  %s\n", *s);
        return 0;
}

/* A property "as" of the daemon, without logging: the caller says it once. */
static int read_strv(sd_bus *bus, const char *prop, sd_bus_error *error, char ***ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_get_property(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, prop, error, &reply, "as");
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, ret);
        return r;
}

/* Two properties, not ListCandidates: that method ranks inside the
 * daemon's loop, and a cgreapctl run while memory runs out must not hold
 * up the daemon's polling (scenario 14: seconds, with 3000 cgroups). */
int ctl_live_state(const char *cgroup, char ***ret_being_killed, char ***ret_passed_over) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **busy = NULL, **stuck = NULL, **killing = NULL, **passed = NULL;
        const char *why = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = read_strv(bus, "BeingKilled", &error, &busy);
        if (r >= 0)
                r = read_strv(bus, "StuckVictims", &error, &stuck);
        for (char **p = busy; r >= 0 && p && *p; p++)
                if (cg_path_is_below(*p, cgroup) || cg_path_is_below(cgroup, *p))
                        r = strv_extendf(&killing, "%s", *p);
        /* A victim that did not die is passed over once its kill is no
         * longer in flight. */
        for (char **p = stuck; r >= 0 && p && *p; p++)
                if ((cg_path_is_below(*p, cgroup) || cg_path_is_below(cgroup, *p)) && !strv_contains(busy, *p))
                        r = strv_extendf(&passed, "%s", *p);
        if (r < 0) {
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        why = "nobody owns " BUS_NAME " on the system bus";
                else if (sd_bus_error_is_set(&error))
                        why = error.message;
                else
                        why = strerror(-r);
                fprintf(stderr, "cgreapd is not running or did not answer (%s): computed locally, without the "
                        "kills in flight and the victims passed over.\n", why);
                return r;
        }
        *ret_being_killed = TAKE_PTR(killing);
        *ret_passed_over = TAKE_PTR(passed);
        return 0;
}

int ctl_metrics(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Metrics m;

        if (bus_connect(&bus) < 0 || read_metrics(bus, &m) < 0)
                return 1;
        metrics_format_prometheus(&m, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
}

int ctl_kill(const char *what, bool force) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t id;
        int r;

        if (bus_connect(&bus) < 0)
                return 1;
        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Kill", &error, &reply, "st", what,
                               force ? BUS_KILL_FORCE : UINT64_C(0));
        if (r < 0)
                return bus_fail(r, &error, "kill"), 1;
        r = sd_bus_message_read(reply, "t", &id);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply to Kill: %m"), 1;
        printf("Kill %" PRIu64 " sent to %s.\n", id, what);
        return 0;
}

static int on_killed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *unit, *cgroup, *reason;
        char size[FORMAT_BYTES_MAX];
        uint64_t id, footprint;
        int32_t adj;

        if (sd_bus_message_read(msg, "tssist", &id, &unit, &cgroup, &adj, &reason, &footprint) < 0)
                return 0;
        printf("killed %" PRIu64 " %s %s adj=%" PRIi32 " reason=%s footprint=%s\n", id, *unit ? unit : "-",
               cgroup, adj, reason, format_bytes(size, sizeof size, footprint));
        fflush(stdout);
        return 0;
}

static int on_reclaimed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        char size[FORMAT_BYTES_MAX], took[FORMAT_DURATION_MAX];
        uint64_t id, freed, usec;

        if (sd_bus_message_read(msg, "ttt", &id, &freed, &usec) < 0)
                return 0;
        printf("reclaimed %" PRIu64 " freed=%s in=%s\n", id, format_bytes(size, sizeof size, freed),
               format_duration(took, sizeof took, usec));
        fflush(stdout);
        return 0;
}

static int on_name_owner(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *name, *old, *new;

        if (sd_bus_message_read(msg, "sss", &name, &old, &new) < 0)
                return 0;
        printf("%s\n", *new ? "cgreapd started" : "cgreapd stopped");
        fflush(stdout);
        return 0;
}

int ctl_monitor(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        int r;

        if (bus_connect(&bus) < 0)
                return 1;
        r = bus_client_event_new(&e);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m"), 1;

        r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Killed", on_killed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Reclaimed", on_reclaimed,
                                        NULL);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL, "type='signal',sender='org.freedesktop.DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                     "arg0='" BUS_NAME "'", on_name_owner, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to follow the daemon's signals: %m"), 1;
        r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach to the event loop: %m"), 1;

        /* A line people can wait for before they provoke a kill. */
        printf("Following %s (Ctrl-C to stop).\n", BUS_NAME);
        fflush(stdout);
        r = sd_event_loop(e);
        return r < 0 ? 1 : 0;
}
