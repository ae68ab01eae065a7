/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl: cgreapctl. Loads the config, takes one snapshot and asks policy the
 * same questions the daemon asks, then prints the answers for people (a
 * table, a story) or for programs (--json). It never kills and never writes
 * to the cgroup filesystem. */

#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "monitor.h"
#include "parse-util.h"
#include "policy.h"
#include "psi.h"
#include "snapshot.h"

#define PROC_ROOT "/proc"
#define MOUNTINFO "/proc/self/mountinfo"

typedef struct Args {
        const char *config_file;
        const char *root;
        const char *cgroup_root;
        Level level;
        bool json;
        const char *command;
        const char *cgroup;     /* list/explain argument, "/" by default; kill's unit or cgroup */
        bool force;             /* kill: also adj -1000 */
} Args;

/* ---- output for people ---- */

/* printf for people: cgroup names (a user chooses those inside a delegated
 * subtree) may hold escape sequences, so every line is escaped as a whole
 * (fputs_cescaped()), its newlines kept. */
static void ctl_printf(const char *format, ...) _printf_(1, 2);
static void ctl_printf(const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        for (const char *p = s; *p; ) {
                size_t l = strcspn(p, "\n");

                fputs_cescaped(p, l, stdout);
                p += l;
                if (*p == '\n') {
                        fputc('\n', stdout);
                        p++;
                }
        }
}

/* ---- JSON output ---- */

/* A JSON string, or null for NULL. Cgroup names are bytes, not text: a byte
 * that is not valid UTF-8 becomes U+FFFD so the output stays valid JSON. */
static void json_string(FILE *f, const char *s) {
        if (!s) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; ) {
                size_t n;

                switch (*p) {
                case '"':  fputs("\\\"", f); p++; continue;
                case '\\': fputs("\\\\", f); p++; continue;
                case '\n': fputs("\\n", f); p++; continue;
                case '\t': fputs("\\t", f); p++; continue;
                case '\r': fputs("\\r", f); p++; continue;
                }
                if (*p < 0x20 || *p == 0x7f) {
                        fprintf(f, "\\u%04x", *p);
                        p++;
                        continue;
                }
                n = utf8_sequence_len(p);
                if (n == 0) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                fwrite(p, 1, n, f);
                p += n;
        }
        fputc('"', f);
}

/* An array of strings; [] for NULL. */
static void json_strv(FILE *f, char *const *l) {
        fputc('[', f);
        for (char *const *p = l; p && *p; p++) {
                fputs(p == l ? "" : ",", f);
                json_string(f, *p);
        }
        fputc(']', f);
}

static void json_bool(FILE *f, bool b) {
        fputs(b ? "true" : "false", f);
}

/* ---- helpers ---- */

/* The cgroup a running cgreapd lives in, so that list/explain protect it
 * as the daemon protects itself. NULL when no cgreapd runs. */
static char *find_agent_cgroup(void) {
        char *cg = NULL;

        if (proc_find_root_program_cgroup(PROC_ROOT, "cgreapd", &cg) <= 0)
                return NULL;
        return cg;
}

/* The floors that apply inside "within": those of the monitor the daemon
 * would act on there (the one on within or its nearest ancestor; the last
 * section wins among several), else [Kill]'s. */
static void ctl_floors(const Config *c, const char *within, int *ret_medium, int *ret_critical,
                       const MonitorConfig **ret_monitor) {
        _cleanup_free_ char *p = strdup(within);

        *ret_medium = c->medium_min_adj;
        *ret_critical = c->critical_min_adj;
        *ret_monitor = NULL;
        if (!p)
                return;

        for (;;) {
                for (size_t i = c->n_monitors; i > 0; i--)
                        if (policy_pattern_match(c->monitors[i - 1].cgroup, p)) {
                                *ret_medium = c->monitors[i - 1].medium_min_adj;
                                *ret_critical = c->monitors[i - 1].critical_min_adj;
                                *ret_monitor = &c->monitors[i - 1];
                                return;
                        }
                if (streq(p, "/"))
                        return;
                char *slash = strrchr(p, '/');
                if (slash == p)
                        p[1] = 0;
                else
                        *slash = 0;
        }
}

/* Errors go to stderr, exactly as config_load() words them ("path:line:
 * message"). With ret_errors they are also handed back (check-config --json). */
static int ctl_load_config(const Args *a, Config **ret, char ***ret_errors) {
        ConfigLoadOptions opts = {
                .root = a->root,
                .main_file = a->config_file,
                /* Validate as the daemon would run here: same test as cgreapd's. */
                .have_sys_resource = psi_have_cap_sys_resource(),
        };
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = config_load(&opts, ret, &errors);
        if (r < 0) {
                for (char **e = errors; e && *e; e++)
                        fprintf(stderr, "%s\n", *e);
                if (!errors || !errors[0])
                        log_error_errno(r, "Failed to load the configuration: %m");
                if (ret_errors)
                        *ret_errors = TAKE_PTR(errors);
                return r;
        }
        for (char **w = (*ret)->warnings; w && *w; w++)
                fprintf(stderr, "%s\n", *w);
        return r;
}

/* Everything list and explain need: config, snapshot and the ranking. */
typedef struct Ranking {
        Config *config;
        Snapshot *snapshot;
        char *cg_root;
        char *own_cgroup;
        Candidate *cands;
        size_t n;
        int medium_floor, critical_floor;
        const MonitorConfig *monitor;
        bool rss_only;          /* some footprint is an RSS sum: no memory controller */
        char **controllers;     /* of the cgroup2 mount; NULL when unreadable */
        bool live;              /* the running daemon said what it excludes: */
        char **being_killed, **passed_over;
} Ranking;

static void ranking_done(Ranking *r) {
        strv_free(r->being_killed);
        strv_free(r->passed_over);
        strv_free(r->controllers);
        free(r->cands);
        free(r->own_cgroup);
        free(r->cg_root);
        snapshot_free(r->snapshot);
        config_free(r->config);
}

/* level: the floor to rank against; LEVEL_NONE for the lower of both. */
static int ctl_rank(const Args *a, Level level, Ranking *ret) {
        _cleanup_free_ char *failed = NULL;
        Ranking rk = {};
        int r, floor;

        r = ctl_load_config(a, &rk.config, NULL);
        if (r < 0)
                return r;

        if (a->cgroup_root) {
                rk.cg_root = strdup(a->cgroup_root);
                if (!rk.cg_root) {
                        ranking_done(&rk);
                        return log_oom();
                }
        } else {
                r = cg_find_mount(MOUNTINFO, &rk.cg_root);
                if (r < 0) {
                        ranking_done(&rk);
                        return log_error_errno(r, "No cgroup2 mount found in " MOUNTINFO ": %m");
                }
        }

        r = snapshot_build_full(rk.cg_root, PROC_ROOT, a->cgroup, SNAPSHOT_RSS, &rk.snapshot, &failed);
        if (r < 0) {
                if (ERRNO_IS_VANISHED(r) && !failed)
                        r = log_error_errno(r, "Cgroup %s does not exist below %s.", a->cgroup, rk.cg_root);
                else if (failed)
                        r = log_error_errno(r, "Failed to read %s: %m", failed);
                else
                        r = log_error_errno(r, "Failed to read cgroup %s below %s: %m", a->cgroup, rk.cg_root);
                ranking_done(&rk);
                return r;
        }

        if (rk.snapshot->n_unreadable > 0)
                log_warning_errno(rk.snapshot->first_unreadable_error, "Could not read %zu cgroup%s (first: %s: %m), ranking the rest.",
                                  rk.snapshot->n_unreadable, rk.snapshot->n_unreadable == 1 ? "" : "s",
                                  rk.snapshot->first_unreadable ? rk.snapshot->first_unreadable : a->cgroup);

        /* For the reader: what this mount can tell (no memory controller:
         * footprints are RSS sums). Not fatal: a fake tree may lack it. */
        if (cg_read_controllers_list(rk.cg_root, "/", &rk.controllers) < 0)
                rk.controllers = NULL;

        rk.own_cgroup = find_agent_cgroup();
        /* The kills in flight and the victims passed over, which only the
         * daemon knows; not for another tree (--cgroup-root). */
        _cleanup_free_ char **busy = NULL;
        if (!a->cgroup_root && ctl_live_state(a->cgroup, &rk.being_killed, &rk.passed_over) >= 0) {
                size_t nk = 0, np = 0, j = 0;

                rk.live = true;
                while (rk.being_killed && rk.being_killed[nk])
                        nk++;
                while (rk.passed_over && rk.passed_over[np])
                        np++;
                busy = reallocarray(NULL, nk + np + 1, sizeof(char *));
                if (!busy) {
                        ranking_done(&rk);
                        return log_oom();
                }
                for (size_t i = 0; i < nk; i++)
                        busy[j++] = rk.being_killed[i];
                for (size_t i = 0; i < np; i++)
                        busy[j++] = rk.passed_over[i];
                busy[j] = NULL;
        }
        ctl_floors(rk.config, a->cgroup, &rk.medium_floor, &rk.critical_floor, &rk.monitor);

        /* list shows both levels, so it ranks against the lower floor and
         * tells the levels apart itself. */
        floor = level == LEVEL_NONE ? MIN(rk.medium_floor, rk.critical_floor) :
                level == LEVEL_MEDIUM ? rk.medium_floor : rk.critical_floor;

        r = policy_rank(rk.config, rk.snapshot, a->cgroup, rk.own_cgroup, floor, busy, &rk.cands, &rk.n);
        if (r < 0) {
                ranking_done(&rk);
                return log_oom();
        }

        for (size_t i = 0; i < rk.n; i++)
                if (!rk.snapshot->nodes[rk.cands[i].node].has_memory)
                        rk.rss_only = true;

        *ret = rk;
        return 0;
}

/* "cgroup2 mount /sys/fs/cgroup, controllers: cpu io memory pids". */
static void print_mount_line(const Ranking *rk) {
        ctl_printf("cgroup2 mount %s, controllers:", rk->cg_root);
        if (!rk->controllers)
                ctl_printf(" unknown (no readable cgroup.controllers)");
        else if (!rk->controllers[0])
                ctl_printf(" none");
        for (char **c = rk->controllers; c && *c; c++)
                ctl_printf(" %s", *c);
        ctl_printf(".\n");
}

/* cgreapd.service's conditions (memory controller, PSI), checked as systemd
 * would: one line saying why the daemon cannot run here, or nothing. A tree
 * whose controllers cannot be read (a fake one) is given the benefit. */
static void print_cannot_run_line(const Ranking *rk) {
        bool memory = !rk->controllers;

        for (char **c = rk->controllers; c && *c && !memory; c++)
                memory = streq(*c, "memory");
        if (!memory)
                printf("cgreapd cannot run on this host: the cgroup2 mount %s has no memory controller.\n",
                       rk->cg_root);
        else if (access(PROC_ROOT "/pressure/memory", F_OK) < 0)
                printf("cgreapd cannot run on this host: the kernel has no PSI (" PROC_ROOT "/pressure/memory: %m).\n");
}

static size_t strv_count(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static void print_live_line(const Ranking *rk) {
        if (rk->live)
                ctl_printf("Live from cgreapd: %zu cgroup%s being killed, %zu victim%s passed over.\n",
                           strv_count(rk->being_killed), strv_count(rk->being_killed) == 1 ? "" : "s",
                           strv_count(rk->passed_over), strv_count(rk->passed_over) == 1 ? "" : "s");
}

/* The ranking's floor is the lower of the two, so this tells the levels apart. */
static bool eligible_at(const Candidate *c, int floor) {
        return c->skip == SKIP_NONE && c->adj.value >= floor;
}

/* A victim the daemon passed over is "being killed" to policy, as in the daemon. */
static bool passed_over(const Ranking *rk, const Candidate *c) {
        return c->skip == SKIP_BEING_KILLED && strv_contains(rk->passed_over, rk->snapshot->nodes[c->node].path) &&
                !strv_contains(rk->being_killed, rk->snapshot->nodes[c->node].path);
}

static const char *state_string(const Ranking *rk, const Candidate *c) {
        if (passed_over(rk, c))
                return "passed-over";
        if (eligible_at(c, rk->medium_floor))
                return "eligible-medium";
        if (eligible_at(c, rk->critical_floor))
                return "eligible-critical";
        switch (c->skip) {
        case SKIP_PROTECTED:    return "protected";
        case SKIP_NEVER_KILL:   return "never";
        case SKIP_NONE:         /* eligible only below both floors cannot happen */
        case SKIP_BELOW_FLOOR:  return "below-floor";
        default:                return skip_reason_to_string(c->skip);
        }
}

/* "rule 50-x.conf:3 via system.slice": the ancestor's name is enough next to
 * the full path in the CGROUP column, and keeps the table narrow. */
static char *short_source(const Adj *adj, char *buf, size_t len) {
        Adj a = *adj;

        if (a.inherited && a.from_path)
                a.from_path = cg_path_basename(a.from_path);
        return adj_source_format(&a, buf, len);
}

static char *explain_reason(const Ranking *rk, const Candidate *c, const Candidate *victim, int floor,
                            char *buf, size_t len);

static void json_candidate(FILE *f, const Ranking *rk, const Candidate *c) {
        const CgroupNode *n = &rk->snapshot->nodes[c->node];
        _cleanup_free_ char *unit = NULL;
        char src[256], why[256];

        if (cg_path_get_unit(n->path, &unit, NULL) < 0)
                unit = NULL;

        fputs("{\"cgroup\":", f);
        json_string(f, n->path);
        fputs(",\"unit\":", f);
        json_string(f, unit);
        fprintf(f, ",\"adj\":%d,\"adj_source\":", c->adj.value);
        json_string(f, adj_source_to_string(c->adj.source));
        fputs(",\"adj_source_detail\":", f);
        json_string(f, adj_source_format(&c->adj, src, sizeof src));
        fputs(",\"adj_from\":", f);
        json_string(f, c->adj.from_path);
        fputs(",\"delegated_at\":", f);
        json_string(f, c->adj.delegated_at);
        fputs(",\"untrusted_rule\":", f);
        if (c->adj.untrusted_rule) {
                const ConfigSource *rs = &c->adj.untrusted_rule->source;
                char where[PATH_MAX + 32];

                (void) snprintf(where, sizeof where, "%s:%u", rs->file ? rs->file : "?", rs->line);
                json_string(f, where);
        } else
                fputs("null", f);
        fputs(",\"adj_raised\":", f);
        json_bool(f, c->adj.raised);
        fprintf(f, ",\"footprint_bytes\":%" PRIu64, c->footprint);
        if (n->has_memory)
                fprintf(f, ",\"memory_bytes\":%" PRIu64 ",\"swap_bytes\":%" PRIu64,
                        n->memory_current, n->swap_current);
        else
                fputs(",\"memory_bytes\":null,\"swap_bytes\":null", f);
        fprintf(f, ",\"rss_bytes\":%" PRIu64 ",\"pids\":[", n->rss_sum);
        for (size_t i = 0; i < n->n_procs && n->pids; i++)
                fprintf(f, "%s%d", i ? "," : "", (int) n->pids[i]);
        /* Never killed, at any pressure: built in (skip "protected") or by
         * its adj -1000 or one below it (skip "never-kill"). */
        fputs("],\"protected\":", f);
        json_bool(f, IN_SET(c->skip, SKIP_PROTECTED, SKIP_NEVER_KILL));
        fputs(",\"protected_reason\":", f);
        json_string(f, IN_SET(c->skip, SKIP_PROTECTED, SKIP_NEVER_KILL) ?
                    explain_reason(rk, c, NULL, 0, why, sizeof why) : NULL);
        fputs(",\"skip\":", f);
        json_string(f, c->skip == SKIP_NONE ? NULL : skip_reason_to_string(c->skip));
        fputs(",\"eligible_medium\":", f);
        json_bool(f, eligible_at(c, rk->medium_floor));
        fputs(",\"eligible_critical\":", f);
        json_bool(f, eligible_at(c, rk->critical_floor));
        /* null: no daemon answered, so nobody knows. */
        fputs(",\"being_killed\":", f);
        fputs(!rk->live ? "null" : c->skip == SKIP_BEING_KILLED && !passed_over(rk, c) ? "true" : "false", f);
        fputs(",\"passed_over\":", f);
        fputs(!rk->live ? "null" : passed_over(rk, c) ? "true" : "false", f);
}

/* ---- check-config ---- */

static int cmd_check_config(const Args *a) {
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = ctl_load_config(a, &c, &errors);
        if (r < 0) {
                if (a->json) {
                        fputs("{\"valid\":false,\"errors\":", stdout);
                        json_strv(stdout, errors);
                        fputs("}\n", stdout);
                }
                return 1;
        }

        if (!a->json) {
                r = config_dump(c, stdout);
                if (r < 0)
                        return log_error_errno(r, "Failed to write the configuration: %m"), 1;
                return 0;
        }

        _cleanup_free_ char *dump = NULL;
        size_t dump_size = 0;
        FILE *m = open_memstream(&dump, &dump_size);
        if (!m)
                return log_oom(), 1;
        r = config_dump(c, m);
        if (fclose(m) != 0 || r < 0)
                return log_error_errno(r < 0 ? r : -errno, "Failed to format the configuration: %m"), 1;

        fputs("{\"valid\":true,\"files\":", stdout);
        json_strv(stdout, c->files);
        fputs(",\"warnings\":", stdout);
        json_strv(stdout, c->warnings);
        fprintf(stdout, ",\"medium_min_adj\":%d,\"critical_min_adj\":%d,\"default_adj\":%d,\"method\":",
                c->medium_min_adj, c->critical_min_adj, c->default_adj);
        json_string(stdout, kill_method_to_string(c->method));
        fputs(",\"dry_run\":", stdout);
        json_bool(stdout, c->dry_run);
        fputs(",\"monitors\":[", stdout);
        for (size_t i = 0; i < c->n_monitors; i++) {
                const MonitorConfig *mon = &c->monitors[i];

                fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
                json_string(stdout, mon->name);
                fputs(",\"cgroup\":", stdout);
                json_string(stdout, mon->cgroup);
                fprintf(stdout, ",\"medium_min_adj\":%d,\"critical_min_adj\":%d}",
                        mon->medium_min_adj, mon->critical_min_adj);
        }
        fputs("],\"rules\":[", stdout);
        for (size_t i = 0; i < c->n_rules; i++) {
                const PriorityRule *rule = &c->rules[i];

                fputs(i ? ",{\"pattern\":" : "{\"pattern\":", stdout);
                json_string(stdout, rule->pattern);
                fprintf(stdout, ",\"adj\":%d,\"file\":", rule->adj);
                json_string(stdout, rule->source.file);
                fprintf(stdout, ",\"line\":%u}", rule->source.line);
        }
        fputs("],\"effective\":", stdout);
        json_string(stdout, dump);
        fputs("}\n", stdout);
        return 0;
}

/* ---- list ---- */

static int cmd_list(const Args *a) {
        Ranking rk;
        size_t src_width = strlen("SOURCE"), n_medium = 0, n_critical = 0;
        unsigned rank = 0;

        if (ctl_rank(a, LEVEL_NONE, &rk) < 0)
                return 1;

        if (a->json) {
                fputc('[', stdout);
                for (size_t i = 0; i < rk.n; i++) {
                        fputs(i ? ",\n " : "", stdout);
                        json_candidate(stdout, &rk, &rk.cands[i]);
                        fputc('}', stdout);
                }
                fputs("]\n", stdout);
                ranking_done(&rk);
                return 0;
        }

        for (size_t i = 0; i < rk.n; i++) {
                char src[256];

                src_width = MAX(src_width, strlen(short_source(&rk.cands[i].adj, src, sizeof src)));
        }

        ctl_printf("%4s %5s %-*s %6s %5s %-17s %s\n", "RANK", "ADJ", (int) src_width, "SOURCE",
               "MEMORY", "PROCS", "STATE", "CGROUP");
        for (size_t i = 0; i < rk.n; i++) {
                const Candidate *c = &rk.cands[i];
                const CgroupNode *n = &rk.snapshot->nodes[c->node];
                char src[256], mem[FORMAT_BYTES_MAX], rankbuf[16] = "-";

                /* Ranks count the cgroups that could die, in the order they would. */
                if (eligible_at(c, rk.critical_floor) || eligible_at(c, rk.medium_floor))
                        (void) snprintf(rankbuf, sizeof rankbuf, "%u", ++rank);
                n_medium += eligible_at(c, rk.medium_floor);
                n_critical += eligible_at(c, rk.critical_floor);

                ctl_printf("%4s %5d %-*s %6s %5zu %-17s %s\n", rankbuf, c->adj.value, (int) src_width,
                       short_source(&c->adj, src, sizeof src), format_bytes(mem, sizeof mem, c->footprint),
                       n->n_procs, state_string(&rk, c), n->path);
        }

        ctl_printf("\n%zu cgroup%s with processes in %s.\n", rk.n, rk.n == 1 ? "" : "s", a->cgroup);
        ctl_printf("Floors (%s%s): medium pressure kills adj >= %d (%zu eligible), critical adj >= %d (%zu).\n",
               rk.monitor ? "monitor " : "[Kill]", rk.monitor ? rk.monitor->name : "",
               rk.medium_floor, n_medium, rk.critical_floor, n_critical);
        print_mount_line(&rk);
        print_cannot_run_line(&rk);
        if (rk.rss_only)
                ctl_printf("MEMORY is the processes' RSS: the cgroup2 mount has no memory controller.\n");
        if (!rk.own_cgroup)
                ctl_printf("No cgreapd is running: its cgroup is not shown as protected.\n");
        print_live_line(&rk);

        ranking_done(&rk);
        return 0;
}

/* ---- explain ---- */

/* Why c was not chosen, in words. victim may be NULL. */
static char *explain_reason(const Ranking *rk, const Candidate *c, const Candidate *victim, int floor,
                            char *buf, size_t len) {
        const char *path = rk->snapshot->nodes[c->node].path;
        char x[FORMAT_BYTES_MAX], y[FORMAT_BYTES_MAX];

        switch (c->skip) {
        case SKIP_PROTECTED:
                if (streq(path, "/"))
                        (void) snprintf(buf, len, "protected: the root cgroup");
                else if (cg_path_is_below(path, "/init.scope"))
                        (void) snprintf(buf, len, "protected: /init.scope holds PID 1");
                else if (rk->own_cgroup && streq(rk->own_cgroup, path))
                        (void) snprintf(buf, len, "protected: cgreapd runs here");
                else
                        (void) snprintf(buf, len, "protected: cgreapd runs below it, in %s", rk->own_cgroup);
                return buf;
        case SKIP_NEVER_KILL:
                if (c->adj.value <= ADJ_NEVER_KILL)
                        (void) snprintf(buf, len, "never killed: adj -1000");
                else
                        (void) snprintf(buf, len, "never killed: a protected or adj -1000 cgroup below it would die with it");
                return buf;
        case SKIP_BEING_KILLED:
                (void) snprintf(buf, len, passed_over(rk, c) ?
                                "passed over: it did not die when cgreapd killed it" : "already being killed");
                return buf;
        case SKIP_NOT_POPULATED:
                (void) snprintf(buf, len, "emptied while it was read");
                return buf;
        case SKIP_BELOW_FLOOR:
                (void) snprintf(buf, len, "below the floor: adj %d < %d", c->adj.value, floor);
                return buf;
        case SKIP_NONE:
        default:
                break;
        }

        if (!victim || c == victim)
                return NULL;
        if (c->adj.value < victim->adj.value)
                (void) snprintf(buf, len, "lower adj (%d < %d)", c->adj.value, victim->adj.value);
        else if (c->footprint < victim->footprint) {
                format_bytes(x, sizeof x, c->footprint);
                format_bytes(y, sizeof y, victim->footprint);
                /* "1.8M < 1.8M" says nothing: then the exact numbers. */
                if (streq(x, y))
                        (void) snprintf(buf, len, "same adj, smaller footprint (%" PRIu64 " < %" PRIu64 " bytes)",
                                        c->footprint, victim->footprint);
                else
                        (void) snprintf(buf, len, "same adj, smaller footprint (%s < %s)", x, y);
        }
        else
                (void) snprintf(buf, len, "same adj and footprint, later by path");
        return buf;
}

/* Why policy did not take what a delegated cgroup's name or processes
 * asked for (see policy.h, trust follows ownership). */
static void explain_print_trust(const Ranking *rk, const Candidate *c) {
        const Adj *a = &c->adj;
        ssize_t d;

        if (!a->delegated_at || (!a->untrusted_rule && !a->raised))
                return;
        d = snapshot_find(rk->snapshot, a->delegated_at);
        if (a->untrusted_rule) {
                const ConfigSource *src = &a->untrusted_rule->source;

                ctl_printf("    rule %s:%u (%s = %d) not honoured: %s is delegated to uid %u, which chose the names below it.\n",
                           src->file ? cg_path_basename(src->file) : "?", src->line, a->untrusted_rule->pattern,
                           a->untrusted_rule->adj, a->delegated_at,
                           d >= 0 ? (unsigned) rk->snapshot->nodes[d].owner : 0U);
        }
        if (a->raised)
                ctl_printf("    raised to adj %d, that of the delegated %s: its owner cannot protect what runs below it.\n",
                           a->value, a->delegated_at);
}

static void explain_print_range(const Ranking *rk, size_t from, size_t to, const Candidate *victim,
                                int floor, const char *title) {
        if (from >= to)
                return;
        ctl_printf("\n%s:\n", title);
        for (size_t i = from; i < to; i++) {
                char why[256];

                ctl_printf("  adj %-5d %s: %s\n", rk->cands[i].adj.value, rk->snapshot->nodes[rk->cands[i].node].path,
                       explain_reason(rk, &rk->cands[i], victim, floor, why, sizeof why));
                explain_print_trust(rk, &rk->cands[i]);
        }
}

static int cmd_explain(const Args *a) {
        Ranking rk;
        ssize_t v;
        const Candidate *victim;
        int floor;
        size_t n_eligible = 0;

        if (ctl_rank(a, a->level, &rk) < 0)
                return 1;

        floor = a->level == LEVEL_MEDIUM ? rk.medium_floor : rk.critical_floor;
        v = policy_pick_victim(rk.cands, rk.n);
        victim = v >= 0 ? &rk.cands[v] : NULL;
        for (size_t i = 0; i < rk.n; i++)
                n_eligible += rk.cands[i].skip == SKIP_NONE;

        if (a->json) {
                fputs("{\"cgroup\":", stdout);
                json_string(stdout, a->cgroup);
                fprintf(stdout, ",\"level\":\"%s\",\"min_adj\":%d,\"monitor\":", level_to_string(a->level), floor);
                json_string(stdout, rk.monitor ? rk.monitor->name : NULL);
                fputs(",\"victim\":", stdout);
                json_string(stdout, victim ? rk.snapshot->nodes[victim->node].path : NULL);
                fputs(",\"cgroup_mount\":", stdout);
                json_string(stdout, rk.cg_root);
                fputs(",\"controllers\":", stdout);
                if (rk.controllers)
                        json_strv(stdout, rk.controllers);
                else
                        fputs("null", stdout);
                fputs(",\"live\":", stdout);
                json_bool(stdout, rk.live);
                fputs(",\"candidates\":[", stdout);
                for (size_t i = 0; i < rk.n; i++) {
                        char why[256];

                        fputs(i ? ",\n " : "", stdout);
                        json_candidate(stdout, &rk, &rk.cands[i]);
                        fputs(",\"victim\":", stdout);
                        json_bool(stdout, &rk.cands[i] == victim);
                        fprintf(stdout, ",\"ranked_above_victim\":");
                        json_bool(stdout, victim && &rk.cands[i] < victim);
                        fputs(",\"reason\":", stdout);
                        json_string(stdout, explain_reason(&rk, &rk.cands[i], victim, floor, why, sizeof why));
                        fputc('}', stdout);
                }
                fputs("]}\n", stdout);
                ranking_done(&rk);
                return 0;
        }

        ctl_printf("At %s pressure in %s, cgreapd kills the first cgroup with adj >= %d (%s%s).\n",
               level_to_string(a->level), a->cgroup, floor,
               rk.monitor ? "monitor " : "[Kill]", rk.monitor ? rk.monitor->name : "");

        if (!victim)
                ctl_printf("\nNothing is eligible: no cgroup would be killed.\n");
        else {
                const CgroupNode *n = &rk.snapshot->nodes[victim->node];
                char src[256], mem[FORMAT_BYTES_MAX];

                ctl_printf("\nVictim: %s\n", n->path);
                ctl_printf("  adj %d from %s; footprint %s%s; %zu process%s.\n", victim->adj.value,
                       adj_source_format(&victim->adj, src, sizeof src),
                       format_bytes(mem, sizeof mem, victim->footprint), rk.rss_only ? " (RSS)" : "",
                       n->n_procs, n->n_procs == 1 ? "" : "es");
                explain_print_trust(&rk, victim);
                if (n_eligible == 1)
                        ctl_printf("  It is the only eligible cgroup.\n");
                else
                        ctl_printf("  First of %zu eligible cgroups: highest adj, then largest footprint, then path.\n",
                               n_eligible);
        }

        /* Above the victim only skipped cgroups can rank; below it, each
         * one gets the comparison it lost or the reason it was skipped. */
        if (victim && v > 0)
                explain_print_range(&rk, 0, (size_t) v, victim, floor, "Passed over (ranked above the victim)");
        explain_print_range(&rk, (size_t) (v + 1), rk.n, victim, floor,
                            victim ? "Not chosen (ranked below the victim)" : "Candidates");

        ctl_printf("\n");
        print_mount_line(&rk);
        print_cannot_run_line(&rk);
        if (rk.rss_only)
                ctl_printf("Footprints are the processes' RSS: the cgroup2 mount has no memory controller.\n");
        print_live_line(&rk);

        ranking_done(&rk);
        return 0;
}

/* ---- argv ---- */

static void help(void) {
        ctl_printf("cgreapctl [OPTIONS...] COMMAND [ARGS...]\n"
               "\n"
               "Inspect cgreap's configuration and the order in which it would kill cgroups.\n"
               "\n"
               "Commands:\n"
               "  check-config          Validate the configuration and print the effective\n"
               "                        config with the file:line every value came from\n"
               "  list [CGROUP]         Every candidate cgroup below CGROUP (default /) in\n"
               "                        kill order: adj, its source, footprint, processes, state\n"
               "  explain [CGROUP]      Which cgroup would be killed now at --level inside\n"
               "                        CGROUP (default /) and why the others were passed over\n"
               "\n"
               "Commands that ask the running daemon (over the system bus):\n"
               "  status                Counters, the last kill, monitors and victims passed over\n"
               "  kill UNIT|CGROUP      Kill a unit's or a cgroup's processes now (root only)\n"
               "  monitor               Print a line for every kill and reclaim as it happens\n"
               "  metrics               The daemon's counters in Prometheus text format\n"
               "\n"
               "Options:\n"
               "  -h --help             Show this help\n"
               "     --version          Show the package version\n"
               "  -c --config=FILE      Main config file instead of " CONFIG_MAIN_FILE "\n"
               "     --root=DIR         Prefix for every config path (also $CGREAP_CONF_ROOT)\n"
               "     --cgroup-root=DIR  cgroup2 mount to use (default: from " MOUNTINFO ")\n"
               "  -l --level=LEVEL      medium|critical: the floor explain uses (default critical)\n"
               "     --json             Machine-readable output\n"
               "     --force            kill: also a cgroup whose adj is -1000\n"
               "\n");
        config_print_paths(stdout);
        ctl_printf("\nExit status: 0 success, 1 invalid configuration or failure, 2 usage error.\n");
}

/* Returns 1 to go on, 0 to exit successfully (--help), <0 on usage error. */
static int parse_argv(int argc, char *argv[], Args *a) {
        enum {
                ARG_VERSION = 0x100,
                ARG_ROOT,
                ARG_CGROUP_ROOT,
                ARG_JSON,
                ARG_FORCE,
        };
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h'             },
                { "version",     no_argument,       NULL, ARG_VERSION     },
                { "config",      required_argument, NULL, 'c'             },
                { "root",        required_argument, NULL, ARG_ROOT        },
                { "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
                { "level",       required_argument, NULL, 'l'             },
                { "json",        no_argument,       NULL, ARG_JSON        },
                { "force",       no_argument,       NULL, ARG_FORCE       },
                {}
        };
        int c;

        a->root = getenv("CGREAP_CONF_ROOT");
        a->level = LEVEL_CRITICAL;
        a->cgroup = "/";

        optind = 0;     /* reset getopt: ctl_main() may run more than once (tests) */
        while ((c = getopt_long(argc, argv, "hc:l:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        ctl_printf("cgreapctl %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        a->config_file = optarg;
                        break;
                case ARG_ROOT:
                        a->root = optarg;
                        break;
                case ARG_CGROUP_ROOT:
                        a->cgroup_root = optarg;
                        break;
                case 'l':
                        if (streq(optarg, "medium"))
                                a->level = LEVEL_MEDIUM;
                        else if (streq(optarg, "critical"))
                                a->level = LEVEL_CRITICAL;
                        else
                                return log_error_errno(EINVAL, "Invalid --level '%s': expected medium or critical.", optarg);
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                case ARG_FORCE:
                        a->force = true;
                        break;
                case '?':
                        return -EINVAL;   /* getopt said what was wrong */
                default:
                        return log_error_errno(EINVAL, "Unhandled option %c.", c);
                }

        if (optind >= argc)
                return log_error_errno(EINVAL, "Missing command; see 'cgreapctl --help'.");
        a->command = argv[optind++];

        if (streq(a->command, "check-config") || streq(a->command, "status") ||
            streq(a->command, "monitor") || streq(a->command, "metrics")) {
                if (optind < argc)
                        return log_error_errno(EINVAL, "%s takes no arguments.", a->command);
                return 1;
        }
        if (streq(a->command, "kill")) {
                if (optind + 1 != argc)
                        return log_error_errno(EINVAL, "kill takes one unit or cgroup.");
                a->cgroup = argv[optind];
                return 1;
        }
        if (!streq(a->command, "list") && !streq(a->command, "explain"))
                return log_error_errno(EINVAL, "Unknown command '%s'; see 'cgreapctl --help'.", a->command);

        if (optind < argc)
                a->cgroup = argv[optind++];
        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes at most one cgroup.", a->command);
        return 1;
}

int ctl_main(int argc, char *argv[]) {
        _cleanup_free_ char *cgroup = NULL;
        Args a = {};
        int r;

        log_setup();

        r = parse_argv(argc, argv, &a);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        /* A mistyped root would otherwise read as "no config files: built-in
         * defaults" and pass. */
        if (a.root) {
                struct stat st;

                if (stat(a.root, &st) < 0)
                        return log_error_errno(errno, "Configuration root %s: %m", a.root), 1;
                if (!S_ISDIR(st.st_mode))
                        return log_error_errno(ENOTDIR, "Configuration root %s: %m", a.root), 1;
        }
        if (streq(a.command, "status"))
                return ctl_status();
        if (streq(a.command, "kill"))
                return ctl_kill(a.cgroup, a.force);
        if (streq(a.command, "monitor"))
                return ctl_monitor();
        if (streq(a.command, "metrics"))
                return ctl_metrics();

        /* "../x" would be read outside the cgroup2 mount (or --cgroup-root). */
        if (!cg_path_is_plain(a.cgroup))
                return log_error_errno(EINVAL, "Invalid cgroup '%s': '.' and '..' are not cgroup names; "
                                       "give the path below the cgroup2 mount, such as /system.slice.",
                                       a.cgroup), 1;

        /* "/a.slice/", "a.slice" and "/a.slice" are the same cgroup, and
         * policy compares paths as the snapshot spells them. */
        cgroup = cg_path_normalize(a.cgroup);
        if (!cgroup)
                return log_oom(), 1;
        a.cgroup = cgroup;

        if (streq(a.command, "check-config"))
                return cmd_check_config(&a);
        if (streq(a.command, "list"))
                return cmd_list(&a);
        return cmd_explain(&a);
}
