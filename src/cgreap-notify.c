/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgreap-notify: a user's desktop notification for each kill cgreapd makes
 * in that user's own user@UID.service (with --all, for members of the
 * admin group, every kill). It waits for the Killed signal on the system
 * bus and calls org.freedesktop.Notifications on the user's session bus;
 * it polls nothing. */

#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "log.h"
#include "notify.h"
#include "parse-util.h"

static bool arg_all;
static const char *arg_admin_group = "sudo";

typedef struct Context {
        sd_bus *system, *user;
        uid_t uid;
} Context;

static int on_notify_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_warning("The notification server refused a notification: %s", e->message);
        return 0;
}

static int on_killed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Context *c = userdata;
        const char *unit, *cgroup, *reason;
        char app[128], size[FORMAT_BYTES_MAX];
        _cleanup_free_ char *summary = NULL, *body = NULL;
        uint64_t id, footprint;
        int32_t adj;
        bool own;
        int r;

        r = sd_bus_message_read(msg, "tssist", &id, &unit, &cgroup, &adj, &reason, &footprint);
        if (r < 0) {
                log_warning_errno(r, "Ignoring a Killed signal that does not parse: %m");
                return 0;
        }
        own = notify_is_users_kill(cgroup, c->uid);
        if (!own && !arg_all) {
                log_debug("Kill %" PRIu64 " of %s is not in our user manager, ignoring.", id, cgroup);
                return 0;
        }

        notify_app_name(unit, cgroup, app, sizeof app);
        format_bytes(size, sizeof size, footprint);
        if (asprintf(&summary, "%s was closed to free memory", app) < 0 ||
            asprintf(&body, "The system was running out of memory, so %s (%s) was ended%s. It used %s.",
                     app, *unit ? unit : cgroup,
                     streq(reason, "manual") ? " by an administrator" : "", size) < 0)
                return log_oom();

        r = sd_bus_call_method_async(c->user, NULL, "org.freedesktop.Notifications",
                                     "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
                                     "Notify", on_notify_reply, NULL, "susssasa{sv}i",
                                     "cgreap", UINT32_C(0), "dialog-warning", summary, body,
                                     0, 1, "urgency", "y", (uint8_t) (own ? 1 : 0), -1);
        if (r < 0)
                log_warning_errno(r, "Failed to send the notification of kill %" PRIu64 ": %m", id);
        else
                log_info("Kill %" PRIu64 " of %s: notified \"%s\".", id, cgroup, summary);
        return 0;
}

static bool in_group(const char *name) {
        struct group *g = getgrnam(name);
        gid_t groups[256];
        int n;

        if (!g)
                return false;
        if (getegid() == g->gr_gid)
                return true;
        n = getgroups(ELEMENTSOF(groups), groups);
        for (int i = 0; i < n; i++)
                if (groups[i] == g->gr_gid)
                        return true;
        return false;
}

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Show a desktop notification when cgreapd kills one of your applications.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "     --all                Also kills outside your session (members of the\n"
               "                          admin group only)\n"
               "     --admin-group=GROUP  The admin group for --all (default: sudo)\n"
               "\nSee the cgreap-notify(1) man page for details.\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_ALL, ARG_ADMIN_GROUP };
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h'             },
                { "version",     no_argument,       NULL, ARG_VERSION     },
                { "all",         no_argument,       NULL, ARG_ALL         },
                { "admin-group", required_argument, NULL, ARG_ADMIN_GROUP },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("cgreap-notify %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_ALL:
                        arg_all = true;
                        break;
                case ARG_ADMIN_GROUP:
                        arg_admin_group = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("%s takes no arguments.", program_invocation_short_name);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Context c = { .uid = getuid() };
        int r;

        log_setup();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        if (arg_all && !in_group(arg_admin_group)) {
                log_error("--all shows other users' kills: only for members of the group '%s'.",
                          arg_admin_group);
                return 1;
        }

        r = bus_client_event_new(&e);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m"), 1;

        r = sd_bus_open_system(&c.system);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m"), 1;
        r = sd_bus_open_user(&c.user);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the session bus: %m"), 1;
        /* From the owner of org.cgreap1 only: anyone may send a signal. */
        r = sd_bus_match_signal(c.system, NULL, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Killed", on_killed, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to listen for Killed on the system bus: %m"), 1;
        if ((r = sd_bus_attach_event(c.system, e, SD_EVENT_PRIORITY_NORMAL)) < 0 ||
            (r = sd_bus_attach_event(c.user, e, SD_EVENT_PRIORITY_NORMAL)) < 0)
                return log_error_errno(r, "Failed to attach the buses to the event loop: %m"), 1;

        log_info("Listening for cgreapd's kills%s.", arg_all ? ", all of them" : " in our session");
        r = sd_event_loop(e);
        sd_bus_flush_close_unref(c.system);
        sd_bus_flush_close_unref(c.user);
        return r < 0 ? 1 : 0;
}
