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

typedef struct PriorityRule {
        char *pattern;          /* "/system.slice/\*.service" or "nginx.service" */
        int adj;                /* -1000..1000 */
        ConfigSource source;
} PriorityRule;

/* One [Monitor NAME] section. The has_* flags say whether the section
 * overrides the [Pressure]/[Kill] default; config_load() fills the effective
 * values either way, so users of the struct read the plain fields. */
typedef struct MonitorConfig {
        char *name;
        char *cgroup;           /* glob over cgroup paths, "/" for the root */
        PsiTrigger medium, critical, early;
        int medium_min_adj, critical_min_adj;
        unsigned memory_high_guard;     /* permyriad; 0 = off */
        ConfigSource source;    /* the section header */
} MonitorConfig;

typedef struct Config {
        /* [Agent] */
        bool dry_run;
        bool report_status;

        /* [Pressure] */
        PsiTrigger medium, critical, early;
        usec_t poll_interval;
        usec_t poll_duration;
        unsigned min_available;         /* permyriad */

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

        /* Files that were read, in order (for check-config and logs). */
        char **files;
} Config;

/* How to find the files. Tests point root at a fake tree. */
typedef struct ConfigLoadOptions {
        const char *root;          /* prefix for every default path; NULL or "/" = real */
        const char *main_file;     /* --config FILE: used instead of the main file;
                                    * drop-ins are still read unless no_dropins */
        bool no_dropins;
        bool have_sys_resource;    /* CAP_SYS_RESOURCE: lifts the 2s-multiple window rule */
} ConfigLoadOptions;

/* Default file locations (relative to ConfigLoadOptions.root). */
#define CONFIG_MAIN_FILE          "/etc/cgreap/cgreap.conf"
#define CONFIG_VENDOR_MAIN_FILE   "/usr/lib/cgreap/cgreap.conf"
/* Drop-in directories, lowest precedence first. */
extern const char *const config_dropin_dirs[];

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
extern const ConfigKeyInfo config_keys[];
extern const size_t config_n_keys;
