/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* config: loading cgreap.conf and its drop-ins with inih, validating every
 * value, and remembering which file and line each value came from.
 * It never touches the cgroup filesystem and never logs: errors come back as
 * "path:line: message" strings for the caller to print. */

#include "macro.h"
#include "psi.h"

typedef enum KillMethod {
        KILL_METHOD_AUTO,
        KILL_METHOD_CGROUP_KILL,
        KILL_METHOD_PIDFD,
} KillMethod;

const char *kill_method_to_string(KillMethod m);

/* Where a value came from. file == NULL means the built-in default. */
typedef struct ConfigSource {
        char *file;
        unsigned line;
} ConfigSource;

/* The one table of settings: it drives the parser, the defaults, config_keys[],
 * config_dump() and the per-value sources below.
 * X(ID, section, key, default as text, value type, field in Config) */
#define CONFIG_GLOBAL_KEYS(X)                                                               \
        X(AGENT_DRY_RUN,          "Agent",    "DryRun",         "no",          BOOLEAN,  dry_run)          \
        X(AGENT_REPORT_STATUS,    "Agent",    "ReportStatus",   "yes",         BOOLEAN,  report_status)    \
        X(AGENT_METRICS_FILE,     "Agent",    "MetricsFile",    "",            PATH,     metrics_file)     \
        X(PRESSURE_MEDIUM,        "Pressure", "Medium",         "some 10% 2s", TRIGGER,  medium)           \
        X(PRESSURE_CRITICAL,      "Pressure", "Critical",       "full 10% 2s", TRIGGER,  critical)         \
        X(PRESSURE_EARLY,         "Pressure", "Early",          "some 1% 2s",  TRIGGER,  early)            \
        X(PRESSURE_POLL_INTERVAL, "Pressure", "PollInterval",   "100ms",       TIMESPAN, poll_interval)    \
        X(PRESSURE_POLL_DURATION, "Pressure", "PollDuration",   "2s",          TIMESPAN, poll_duration)    \
        X(PRESSURE_CALM_POLL,     "Pressure", "CalmPollInterval", "1s",        DURATION, calm_poll_interval) \
        X(PRESSURE_MIN_AVAILABLE, "Pressure", "MinAvailable",   "2%",          PERCENT,  min_available)    \
        X(PRESSURE_MIN_SWAP_FREE, "Pressure", "MinSwapFree",    "10%",         PERCENT,  min_swap_free)    \
        X(PRESSURE_THRASHING,     "Pressure", "ThrashingLimit", "100%",        PERCENT,  thrashing_limit)  \
        X(PRESSURE_STALL_LIMIT,   "Pressure", "StallLimit",     "75%",         PERCENT,  stall_limit)      \
        X(KILL_MEDIUM_MIN_ADJ,    "Kill",     "MediumMinAdj",   "200",         ADJ,      medium_min_adj)   \
        X(KILL_CRITICAL_MIN_ADJ,  "Kill",     "CriticalMinAdj", "0",           ADJ,      critical_min_adj) \
        X(KILL_DEFAULT_ADJ,       "Kill",     "DefaultAdj",     "0",           ADJ,      default_adj)      \
        X(KILL_METHOD,            "Kill",     "Method",         "auto",        METHOD,   method)           \
        X(KILL_RELEASE_MEMORY,    "Kill",     "ReleaseMemory",  "yes",         BOOLEAN,  release_memory)   \
        X(KILL_POST_KILL_DELAY,   "Kill",     "PostKillDelay",  "2s",          DURATION, post_kill_delay)  \
        X(KILL_KILL_TIMEOUT,      "Kill",     "KillTimeout",    "5s",          TIMESPAN, kill_timeout)

/* Keys of a [Monitor NAME] section.
 * X(ID, key, default as text, value type, field in MonitorConfig, global key it
 *   inherits when the section does not set it, or -1) */
#define CONFIG_MONITOR_KEYS(X)                                                                     \
        X(CGROUP,            "Cgroup",          "",   CGROUP,  cgroup,            -1)                              \
        X(MEDIUM,            "Medium",          "",   TRIGGER, medium,            CONFIG_PRESSURE_MEDIUM)          \
        X(CRITICAL,          "Critical",        "",   TRIGGER, critical,          CONFIG_PRESSURE_CRITICAL)        \
        X(EARLY,             "Early",           "",   TRIGGER, early,             CONFIG_PRESSURE_EARLY)           \
        X(MEDIUM_MIN_ADJ,    "MediumMinAdj",    "",   ADJ,     medium_min_adj,    CONFIG_KILL_MEDIUM_MIN_ADJ)      \
        X(CRITICAL_MIN_ADJ,  "CriticalMinAdj",  "",   ADJ,     critical_min_adj,  CONFIG_KILL_CRITICAL_MIN_ADJ)    \
        X(MEMORY_HIGH_GUARD, "MemoryHighGuard", "0%", GUARD,   memory_high_guard, -1)

#define _CONFIG_KEY_ENUM(id, ...) CONFIG_##id,
typedef enum ConfigKey {
        CONFIG_GLOBAL_KEYS(_CONFIG_KEY_ENUM)
        _CONFIG_KEY_MAX,
} ConfigKey;
#define _MONITOR_KEY_ENUM(id, ...) MONITOR_##id,
typedef enum MonitorKey {
        CONFIG_MONITOR_KEYS(_MONITOR_KEY_ENUM)
        _MONITOR_KEY_MAX,
} MonitorKey;

/* Nothing is killed below this and nothing is protected above it (DESIGN §4). */
#define ADJ_MIN (-1000)
#define ADJ_MAX 1000

typedef struct PriorityRule {
        char *pattern;          /* "/system.slice/\*.service" or "nginx.service" */
        int adj;                /* ADJ_MIN..ADJ_MAX */
        ConfigSource source;
} PriorityRule;

/* One [Monitor NAME] section. sources[MONITOR_x].file != NULL says that the
 * section sets key x itself (the "has" flag); otherwise the value is the
 * [Pressure]/[Kill] one (or the built-in default). config_load() fills the
 * effective values either way, so users of the struct read the plain fields. */
typedef struct MonitorConfig {
        char *name;
        char *cgroup;           /* glob over cgroup paths, "/" for the root */
        PsiTrigger medium, critical, early;
        int medium_min_adj, critical_min_adj;
        unsigned memory_high_guard;     /* permyriad; 0 = off */
        ConfigSource source;    /* the (first) section header; file NULL for the built-in "system" */
        ConfigSource sources[_MONITOR_KEY_MAX]; /* per key; file NULL = not set in this section */
} MonitorConfig;

typedef struct Config {
        /* [Agent] */
        bool dry_run;
        bool report_status;
        char *metrics_file;             /* NULL = off */

        /* [Pressure] */
        PsiTrigger medium, critical, early;
        usec_t poll_interval;
        usec_t poll_duration;
        usec_t calm_poll_interval;      /* 0: no look at the root's headroom while calm */
        unsigned min_available;         /* permyriad */
        unsigned min_swap_free;         /* permyriad */
        unsigned thrashing_limit;       /* permyriad of the file LRU refaulted per second; 0 = off */
        unsigned stall_limit;           /* permyriad of full avg10; 0 = off */

        /* [Kill] */
        int medium_min_adj;
        int critical_min_adj;
        int default_adj;
        KillMethod method;
        bool release_memory;
        usec_t post_kill_delay;
        usec_t kill_timeout;

        MonitorConfig *monitors;
        size_t n_monitors;

        PriorityRule *rules;            /* in file order; the last match wins */
        size_t n_rules;

        /* Where each value above came from, indexed by ConfigKey. */
        ConfigSource sources[_CONFIG_KEY_MAX];

        /* Files that were read, in order (for check-config and logs);
         * NULL-terminated, NULL when only the defaults are in effect. */
        char **files;

        /* What was skipped without making the configuration invalid, as
         * "path: what, ignored" (a drop-in that is a dangling symlink, a
         * directory or a FIFO); NULL-terminated, NULL when nothing was.
         * The caller shows them (config never logs). */
        char **warnings;
} Config;

/* How to find the files. Tests point root at a fake tree. */
typedef struct ConfigLoadOptions {
        const char *root;          /* prefix for every default path; NULL or "/" = real */
        const char *main_file;     /* --config FILE: used instead of the main file;
                                    * drop-ins are still read unless no_dropins */
        bool no_dropins;
        bool have_sys_resource;    /* CAP_SYS_RESOURCE: lifts the 2s-multiple window rule */
} ConfigLoadOptions;

/* Default file locations (relative to ConfigLoadOptions.root). The
 * administrator's files (DESIGN §3's "/etc") live in the configured
 * sysconfdir, where 'make install' puts conf/cgreap.conf: /etc with
 * --sysconfdir=/etc, /usr/local/etc with a plain ./configure. The vendor
 * and runtime paths are fixed, as systemd's are. */
#ifndef SYSCONFDIR
#  error "SYSCONFDIR must be defined by the build (Makefile.am passes -DSYSCONFDIR)"
#endif
#define CONFIG_MAIN_FILE          SYSCONFDIR "/cgreap/cgreap.conf"
#define CONFIG_ETC_DROPIN_DIR     SYSCONFDIR "/cgreap/cgreap.conf.d"
#define CONFIG_VENDOR_MAIN_FILE   "/usr/lib/cgreap/cgreap.conf"
/* Drop-in directories, lowest precedence first; the last is CONFIG_ETC_DROPIN_DIR. */
extern const char *const config_dropin_dirs[];

/* A heading line, then the paths above, one per line ("  PATH"), for
 * --help: cgreapd and cgreapctl print the same block. */
void config_print_paths(FILE *f);

/* Built-in defaults (DESIGN §3), one monitor "system" on "/" and no rules. */
int config_new_default(Config **ret);

/* Load defaults, then the main file, then the drop-ins: "*.conf" from every
 * drop-in dir, merged and sorted by file name, a later dir masking a file of
 * the same name in an earlier one, a symlink to /dev/null masking and
 * contributing nothing. The main file missing is fine (defaults); a main
 * file given with --config that is missing is an error.
 *
 * A [Monitor X] section that appears in several files is merged, later keys
 * overriding. If any file defines a [Monitor] section, the built-in "system"
 * monitor is replaced by the configured ones (unless one of them is named
 * "system", which then just overrides it).
 *
 * Every file is opened O_NONBLOCK and must be a regular file (or /dev/null,
 * which reads as a mask): a drop-in that is not, or is a dangling symlink,
 * is skipped with a line in (*ret)->warnings and does not mask a file of the
 * same name (systemd's rule); a main file that is not is an error (EISDIR
 * for a directory, EBADFD for a FIFO or device).
 *
 * Returns 0 and *ret on success. On invalid config returns -EINVAL and
 * *ret_errors is a NULL-terminated list of "path:line: message" (every error
 * found, in file order). Other negative errno on I/O failure, also with a
 * message in *ret_errors. */
int config_load(const ConfigLoadOptions *opts, Config **ret, char ***ret_errors);

/* Parse one file's text as if it were at path (used by tests and by
 * config_load()). Applies on top of c. Errors are appended to *errors
 * (a strv that may be NULL initially). Returns number of errors added (>=0)
 * or negative errno. */
int config_parse_string(Config *c, const char *path, const char *text, bool have_sys_resource,
                        char ***errors);

/* After every file is parsed: fill monitor fields that were not overridden,
 * check cross-field rules (critical floor <= medium floor, etc.). Errors as above. */
int config_finalize(Config *c, char ***errors);

Config *config_free(Config *c);
static inline void config_freep(Config **c) { *c = config_free(*c); }
#define _cleanup_config_free_ _cleanup_(config_freep)

/* Write the effective config, every value with "; from FILE:LINE" or
 * "; default", in cgreap.conf syntax. */
int config_dump(const Config *c, FILE *f);

/* One row per "[Section] Key=" the parser knows, with its default as written
 * in the shipped config and man page. The man-page completeness test and
 * check-config use this table; the parser is driven by it too. */
typedef struct ConfigKeyInfo {
        const char *section;       /* "Agent", "Pressure", "Kill", "Monitor" */
        const char *key;
        const char *default_value; /* as text, e.g. "some 10% 2s"; "" for none */
} ConfigKeyInfo;
/* Rows are in table order: config_keys[k] for ConfigKey k, then
 * config_keys[_CONFIG_KEY_MAX + m] for MonitorKey m. */
extern const ConfigKeyInfo config_keys[];
extern const size_t config_n_keys;
