/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config: cgreap.conf and its drop-ins. See config.h.
 *
 * inih does the splitting into sections, keys and values, but Debian's build
 * of it (r55: INI_MAX_LINE 200 on the stack, Python-style continuation of
 * indented lines, handler without a line number, only the first error's line
 * returned) would silently split long lines, glue indented lines onto the
 * previous value, and cannot say which line a value came from. So every line
 * passes through config_reader() first: it counts lines, rejects what inih
 * would misread (with a message naming the line), strips indentation so that
 * continuation never happens, and parses section headers itself so that an
 * empty unknown section is reported too. The handler then sees only lines
 * that are well formed. */

#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"
#include "parse-util.h"

const char *const config_dropin_dirs[] = {
        "/usr/lib/cgreap/cgreap.conf.d",
        "/usr/local/lib/cgreap/cgreap.conf.d",
        "/run/cgreap/cgreap.conf.d",
        CONFIG_ETC_DROPIN_DIR,
        NULL,
};

void config_print_paths(FILE *f) {
        fputs("Configuration files (see cgreap.conf(5)):\n", f);
        fprintf(f, "  %s (else %s)\n", CONFIG_MAIN_FILE, CONFIG_VENDOR_MAIN_FILE);
        for (const char *const *d = config_dropin_dirs; *d; d++)
                fprintf(f, "  %s/*.conf\n", *d);
}

/* A guard above half of memory.max would throttle a cgroup long before it is
 * in any danger. */
#define MEMORY_HIGH_GUARD_MAX 5000
/* Monitor names are labels in logs and journal fields. */
#define MONITOR_NAME_MAX 64

typedef enum ConfigType {
        CONFIG_TYPE_BOOLEAN,
        CONFIG_TYPE_TRIGGER,
        CONFIG_TYPE_DURATION,
        CONFIG_TYPE_TIMESPAN,           /* a duration > 0 */
        CONFIG_TYPE_PERCENT,
        CONFIG_TYPE_ADJ,
        CONFIG_TYPE_METHOD,
        CONFIG_TYPE_CGROUP,
        CONFIG_TYPE_GUARD,
        CONFIG_TYPE_PATH,               /* absolute file name, or empty for none */
} ConfigType;

typedef struct ConfigSetting {
        ConfigType type;
        size_t offset;
        int inherits;                   /* ConfigKey or -1 */
} ConfigSetting;

#define _GLOBAL_ROW(id, section, key, def, type, field) { section, key, def },
#define _MONITOR_ROW(id, key, def, type, field, inherits) { "Monitor", key, def },
const ConfigKeyInfo config_keys[] = {
        CONFIG_GLOBAL_KEYS(_GLOBAL_ROW)
        CONFIG_MONITOR_KEYS(_MONITOR_ROW)
};
const size_t config_n_keys = ELEMENTSOF(config_keys);

#define _GLOBAL_SETTING(id, section, key, def, type, field) \
        [CONFIG_##id] = { CONFIG_TYPE_##type, offsetof(Config, field), -1 },
static const ConfigSetting global_settings[_CONFIG_KEY_MAX] = {
        CONFIG_GLOBAL_KEYS(_GLOBAL_SETTING)
};
#define _MONITOR_SETTING(id, key, def, type, field, inh) \
        [MONITOR_##id] = { CONFIG_TYPE_##type, offsetof(MonitorConfig, field), inh },
static const ConfigSetting monitor_settings[_MONITOR_KEY_MAX] = {
        CONFIG_MONITOR_KEYS(_MONITOR_SETTING)
};

static const ConfigKeyInfo *monitor_key_info(MonitorKey k) {
        return &config_keys[_CONFIG_KEY_MAX + k];
}

static const char *const kill_method_table[] = {
        [KILL_METHOD_AUTO] = "auto",
        [KILL_METHOD_CGROUP_KILL] = "cgroup-kill",
        [KILL_METHOD_PIDFD] = "pidfd",
};

const char *kill_method_to_string(KillMethod m) {
        if ((size_t) m >= ELEMENTSOF(kill_method_table))
                return NULL;
        return kill_method_table[m];
}

/* ---- small helpers ---- */

static int source_set(ConfigSource *s, const char *file, unsigned line) {
        char *f = NULL;

        if (file) {
                f = strdup(file);
                if (!f)
                        return -ENOMEM;
        }
        free(s->file);
        s->file = f;
        s->line = line;
        return 0;
}

/* ---- values ---- */

static int parse_trigger(const char *value, bool have_sys_resource, PsiTrigger *ret, const char **ret_reason) {
        char buf[128], *words[4], *save = NULL;
        size_t n = 0;
        PsiTrigger t = {};
        unsigned permyriad;
        const char *stall;

        if (strlen(value) >= sizeof buf)
                goto syntax;
        strcpy(buf, value);
        for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                if (n == ELEMENTSOF(words))
                        goto syntax;
                words[n++] = w;
        }
        if (n != 3)
                goto syntax;

        if (streq(words[0], "some"))
                t.kind = PSI_SOME;
        else if (streq(words[0], "full"))
                t.kind = PSI_FULL;
        else {
                *ret_reason = "the first word must be 'some' or 'full'";
                return -EINVAL;
        }
        if (parse_duration(words[2], &t.window_usec) < 0) {
                *ret_reason = "the window (third word) must be a duration like 2s";
                return -EINVAL;
        }
        stall = words[1];
        if (stall[strlen(stall) - 1] == '%') {
                if (parse_percent(stall, &permyriad) < 0) {
                        *ret_reason = "the stall must be a duration or a percentage of the window from 0% to 100%";
                        return -EINVAL;
                }
                /* The window is at most 10s once checked; until then avoid overflow. */
                t.stall_usec = t.window_usec / 10000 * permyriad + t.window_usec % 10000 * permyriad / 10000;
        } else if (parse_duration(stall, &t.stall_usec) < 0) {
                *ret_reason = "the stall must be a duration or a percentage of the window from 0% to 100%";
                return -EINVAL;
        }
        if (psi_trigger_check(&t, have_sys_resource, ret_reason) < 0)
                return -EINVAL;
        *ret = t;
        return 0;

syntax:
        *ret_reason = "expected 'some|full STALL WINDOW', e.g. 'some 10% 2s'";
        return -EINVAL;
}

/* What makes a glob over cgroup paths unable to match any cgroup, or NULL:
 * the kernel's cgroup paths have no empty components, no '.' or '..' and no
 * trailing '/', so a glob that has one would silently match nothing. */
static const char *cgroup_glob_problem(const char *s) {
        if (streq(s, "/"))
                return NULL;
        for (const char *p = s; *p; ) {
                size_t l;

                p += *p == '/';
                l = strcspn(p, "/");
                if (l == 0)
                        return p[0] ? "an empty path component ('//') matches no cgroup" :
                                      "a trailing '/' matches no cgroup: leave it out";
                if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        return "'.' and '..' are not cgroup names: write the path without them";
                p += l;
        }
        return NULL;
}

/* Parse value as type into dst. On failure *ret_reason says what was expected. */
static int config_parse_value(ConfigType type, const char *value, bool have_sys_resource,
                              void *dst, const char **ret_reason) {
        usec_t u;
        unsigned pm;
        int r, i;

        switch (type) {
        case CONFIG_TYPE_BOOLEAN:
                r = parse_boolean(value);
                if (r < 0)
                        break;
                *(bool *) dst = r;
                return 0;
        case CONFIG_TYPE_TRIGGER:
                return parse_trigger(value, have_sys_resource, dst, ret_reason);
        case CONFIG_TYPE_DURATION:
        case CONFIG_TYPE_TIMESPAN:
                r = parse_duration(value, &u);
                if (r < 0 || (type == CONFIG_TYPE_TIMESPAN && u == 0))
                        break;
                *(usec_t *) dst = u;
                return 0;
        case CONFIG_TYPE_PERCENT:
        case CONFIG_TYPE_GUARD:
                r = parse_percent(value, &pm);
                if (r < 0 || (type == CONFIG_TYPE_GUARD && pm > MEMORY_HIGH_GUARD_MAX))
                        break;
                *(unsigned *) dst = pm;
                return 0;
        case CONFIG_TYPE_ADJ:
                r = parse_int_range(value, ADJ_MIN, ADJ_MAX, &i);
                if (r < 0)
                        break;
                *(int *) dst = i;
                return 0;
        case CONFIG_TYPE_METHOD:
                for (size_t m = 0; m < ELEMENTSOF(kill_method_table); m++)
                        if (streq(value, kill_method_table[m])) {
                                *(KillMethod *) dst = (KillMethod) m;
                                return 0;
                        }
                break;
        case CONFIG_TYPE_CGROUP: {
                char *s;

                if (value[0] != '/' || value[strcspn(value, " \t")])
                        break;
                *ret_reason = cgroup_glob_problem(value);
                if (*ret_reason)
                        return -EINVAL;
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
                free(*(char **) dst);
                *(char **) dst = s;
                return 0;
        }
        case CONFIG_TYPE_PATH: {
                size_t l = strlen(value);
                char *s = NULL;

                if (l > 0 && (value[0] != '/' || value[l - 1] == '/' || strstr(value, "/../") ||
                              (l >= 3 && streq(value + l - 3, "/.."))))
                        break;
                if (value[0] && !(s = strdup(value)))
                        return -ENOMEM;
                free(*(char **) dst);
                *(char **) dst = s;
                return 0;
        }
        }

        static const char *const expected[] = {
                [CONFIG_TYPE_BOOLEAN] = "expected a boolean (yes or no)",
                [CONFIG_TYPE_DURATION] = "expected a duration like 500ms, 2s or 1min",
                [CONFIG_TYPE_TIMESPAN] = "expected a duration greater than 0, like 500ms or 2s",
                [CONFIG_TYPE_PERCENT] = "expected a percentage from 0% to 100%, like 2%",
                [CONFIG_TYPE_GUARD] = "expected a percentage from 0% (off) to 50%, like 5%",
                [CONFIG_TYPE_ADJ] = "expected an integer from -1000 to 1000",
                [CONFIG_TYPE_METHOD] = "expected auto, cgroup-kill or pidfd",
                [CONFIG_TYPE_CGROUP] = "expected a cgroup path glob starting with '/', without white space",
                [CONFIG_TYPE_PATH] = "expected an absolute file name without '..' (or nothing, for none)",
        };
        *ret_reason = expected[type];
        return -EINVAL;
}

static int config_format_value(ConfigType type, const void *src, char *buf, size_t len) {
        switch (type) {
        case CONFIG_TYPE_BOOLEAN:
                snprintf(buf, len, "%s", *(const bool *) src ? "yes" : "no");
                break;
        case CONFIG_TYPE_TRIGGER: {
                const PsiTrigger *t = src;
                char stall[FORMAT_DURATION_MAX], window[FORMAT_DURATION_MAX];

                /* Whole percents as percents, as people write them; anything
                 * else ("150ms" of 4s) in the exact duration form. */
                if (t->window_usec > 0 && t->stall_usec * 100 % t->window_usec == 0)
                        format_percent(stall, sizeof stall, (unsigned) (t->stall_usec * 10000 / t->window_usec));
                else
                        format_duration(stall, sizeof stall, t->stall_usec);
                snprintf(buf, len, "%s %s %s", t->kind == PSI_FULL ? "full" : "some", stall,
                         format_duration(window, sizeof window, t->window_usec));
                break;
        }
        case CONFIG_TYPE_DURATION:
        case CONFIG_TYPE_TIMESPAN:
                format_duration(buf, len, *(const usec_t *) src);
                break;
        case CONFIG_TYPE_PERCENT:
        case CONFIG_TYPE_GUARD:
                format_percent(buf, len, *(const unsigned *) src);
                break;
        case CONFIG_TYPE_ADJ:
                snprintf(buf, len, "%i", *(const int *) src);
                break;
        case CONFIG_TYPE_METHOD:
                snprintf(buf, len, "%s", kill_method_to_string(*(const KillMethod *) src));
                break;
        case CONFIG_TYPE_CGROUP:
        case CONFIG_TYPE_PATH:
                snprintf(buf, len, "%s", *(char *const *) src ?: "");
                break;
        }
        return 0;
}

/* ---- Config objects ---- */

static void monitor_config_done(MonitorConfig *m) {
        free(m->name);
        free(m->cgroup);
        free(m->source.file);
        for (size_t k = 0; k < _MONITOR_KEY_MAX; k++)
                free(m->sources[k].file);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_monitors; i++)
                monitor_config_done(&c->monitors[i]);
        free(c->monitors);
        for (size_t i = 0; i < c->n_rules; i++) {
                free(c->rules[i].pattern);
                free(c->rules[i].source.file);
        }
        free(c->rules);
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++)
                free(c->sources[k].file);
        free(c->metrics_file);
        strv_free(c->files);
        strv_free(c->warnings);
        free(c);
        return NULL;
}

static MonitorConfig *config_find_monitor(Config *c, const char *name) {
        for (size_t i = 0; i < c->n_monitors; i++)
                if (streq(c->monitors[i].name, name))
                        return &c->monitors[i];
        return NULL;
}

static MonitorConfig *config_add_monitor(Config *c, const char *name) {
        MonitorConfig *m;

        m = realloc(c->monitors, (c->n_monitors + 1) * sizeof(MonitorConfig));
        if (!m)
                return NULL;
        c->monitors = m;
        m = &c->monitors[c->n_monitors];
        *m = (MonitorConfig) {};
        m->name = strdup(name);
        if (!m->name)
                return NULL;
        c->n_monitors++;
        return m;
}

/* Fill the fields a monitor does not set itself from [Pressure]/[Kill]. */
static void monitor_config_inherit(const Config *c, MonitorConfig *m) {
        for (size_t k = 0; k < _MONITOR_KEY_MAX; k++) {
                const ConfigSetting *s = &monitor_settings[k];

                if (s->inherits < 0 || m->sources[k].file)
                        continue;
                if (s->type == CONFIG_TYPE_TRIGGER)
                        *(PsiTrigger *) ((uint8_t *) m + s->offset) =
                                *(const PsiTrigger *) ((const uint8_t *) c + global_settings[s->inherits].offset);
                else
                        *(int *) ((uint8_t *) m + s->offset) =
                                *(const int *) ((const uint8_t *) c + global_settings[s->inherits].offset);
        }
}

int config_new_default(Config **ret) {
        _cleanup_config_free_ Config *c = NULL;
        MonitorConfig *m;

        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;

        /* The defaults are parsed from the same text the man page and
         * config_keys[] show, so the three cannot drift apart. */
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++) {
                const char *reason;
                int r = config_parse_value(global_settings[k].type, config_keys[k].default_value, false,
                                           (uint8_t *) c + global_settings[k].offset, &reason);
                if (r < 0)
                        return r;
        }

        m = config_add_monitor(c, "system");
        if (!m)
                return -ENOMEM;
        m->cgroup = strdup("/");
        if (!m->cgroup)
                return -ENOMEM;
        monitor_config_inherit(c, m);

        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- parsing one file ---- */

typedef enum SectionKind {
        SECTION_NONE,           /* before the first header */
        SECTION_INVALID,        /* a header that was already reported */
        SECTION_GLOBAL,         /* [Agent], [Pressure], [Kill] */
        SECTION_MONITOR,
        SECTION_PRIORITY,
} SectionKind;

typedef struct ParseState {
        Config *c;
        const char *path;
        bool have_sys_resource;
        char ***errors;
        int n_errors;
        int error;              /* first negative errno (ENOMEM) */

        const char *next;       /* the rest of the text */
        unsigned line;

        SectionKind section;
        char section_display[16 + MONITOR_NAME_MAX];    /* "Kill", "Monitor web" */
        size_t monitor;                 /* index into c->monitors (it may move) */
} ParseState;

/* Append "FILE:LINE: message" (or "(defaults): message" without a file). */
static int errors_addv(char ***errors, const char *file, unsigned line, const char *fmt, va_list ap) _printf_(4, 0);
static int errors_addv(char ***errors, const char *file, unsigned line, const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;

        if (vasprintf(&msg, fmt, ap) < 0)
                return -ENOMEM;
        if (file)
                return strv_extendf(errors, "%s:%u: %s", file, line, msg);
        return strv_extendf(errors, "(defaults): %s", msg);
}

static void parse_error(ParseState *s, const char *fmt, ...) _printf_(2, 3);
static void parse_error(ParseState *s, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = errors_addv(s->errors, s->path, s->line, fmt, ap);
        va_end(ap);
        if (r < 0) {
                if (s->error == 0)
                        s->error = r;
                return;
        }
        s->n_errors++;
}

static bool monitor_name_valid(const char *n) {
        if (!*n || strlen(n) > MONITOR_NAME_MAX)
                return false;
        for (const char *p = n; *p; p++)
                if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
                      strchr("-_.@", *p)))
                        return false;
        return true;
}

/* inih's rule: ';' after white space starts a comment. */
static const char *find_inline_comment(const char *p) {
        for (const char *q = strchr(p, ';'); q; q = strchr(q + 1, ';'))
                if (q > p && IN_SET(q[-1], ' ', '\t'))
                        return q;
        return NULL;
}

/* Only white space or a comment may follow a value or a header. */
static bool rest_is_comment(const char *p) {
        p += strspn(p, " \t\r");
        return IN_SET(*p, 0, ';', '#');
}

static void parse_section_header(ParseState *s, const char *line) {
        static const char *const globals[] = { "Agent", "Pressure", "Kill" };
        const char *end = strchr(line, ']');
        _cleanup_free_ char *name = NULL;

        s->section = SECTION_INVALID;
        if (!end || !rest_is_comment(end + 1)) {
                parse_error(s, "malformed section header, expected '[Section]' alone on the line");
                return;
        }
        name = strndup(line + 1, end - line - 1);
        if (!name) {
                s->error = -ENOMEM;
                return;
        }

        for (size_t i = 0; i < ELEMENTSOF(globals); i++)
                if (streq(name, globals[i])) {
                        s->section = SECTION_GLOBAL;
                        snprintf(s->section_display, sizeof s->section_display, "%s", globals[i]);
                        return;
                }
        if (streq(name, "Priority")) {
                s->section = SECTION_PRIORITY;
                return;
        }
        if (streq(name, "Monitor")) {
                parse_error(s, "[Monitor] needs a name: [Monitor NAME]");
                return;
        }
        if (strncmp(name, "Monitor ", 8) == 0) {
                const char *n = name + 8;
                MonitorConfig *m;

                if (!monitor_name_valid(n)) {
                        parse_error(s, "invalid monitor name '%s': use at most %d letters, digits and '-_.@'",
                                    n, MONITOR_NAME_MAX);
                        return;
                }
                m = config_find_monitor(s->c, n);
                if (!m) {
                        m = config_add_monitor(s->c, n);
                        if (!m) {
                                s->error = -ENOMEM;
                                return;
                        }
                }
                /* The built-in "system" has no header yet: the first one found
                 * is where it is configured; a later header of an existing
                 * monitor only merges into it. */
                if (!m->source.file && source_set(&m->source, s->path, s->line) < 0) {
                        s->error = -ENOMEM;
                        return;
                }
                s->section = SECTION_MONITOR;
                s->monitor = m - s->c->monitors;
                snprintf(s->section_display, sizeof s->section_display, "Monitor %s", n);
                return;
        }
        parse_error(s, "unknown section [%s]", name);
}

/* Check one line and return what inih may see of it (in out, NUL-terminated,
 * never longer than max). */
static void parse_line(ParseState *s, const char *raw, size_t len, char *out, size_t max) {
        const char *eq, *colon, *comment, *p = raw;
        size_t skip, n;

        out[0] = 0;
        if (len > max) {
                parse_error(s, "line too long (%zu characters, at most %zu)", len, max);
                return;
        }
        /* inih skips a UTF-8 byte order mark at the start; so do we. */
        if (s->line == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
                p += 3;
                len -= 3;
        }
        /* Indentation is allowed and ignored (as in systemd's unit files).
         * Dropping it here is what keeps inih from gluing an indented line
         * onto the previous value as a continuation. */
        skip = strspn(p, " \t");
        skip = MIN(skip, len);
        p += skip;
        len -= skip;
        memcpy(out, p, len);
        out[len] = 0;
        n = strspn(out, " \t\r");

        if (IN_SET(out[n], 0, ';', '#'))
                return;
        if (out[0] == '[') {
                parse_section_header(s, out);
                if (s->section == SECTION_INVALID)
                        out[0] = 0;
                return;
        }

        eq = strchr(out, '=');
        colon = strchr(out, ':');
        comment = find_inline_comment(out);
        if (!eq || (comment && comment < eq)) {
                parse_error(s, "expected 'Key=Value', '[Section]' or a comment%s",
                            skip > 0 ? " (continuation lines are not supported)" : "");
                out[0] = 0;
        } else if (colon && colon < eq) {
                /* inih also splits "key: value" lines, at the first ':' */
                parse_error(s, "':' is not allowed before the '=' of 'Key=Value'");
                out[0] = 0;
        }
}

/* inih's fgets()-style reader: one line per call, so s->line is the number
 * of the line the handler is called for. */
static char *config_reader(char *str, int num, void *userdata) {
        ParseState *s = userdata;
        const char *raw = s->next, *eol;
        size_t len;

        if (!*raw || num < 2)
                return NULL;
        eol = strchrnul(raw, '\n');
        len = eol - raw;
        s->next = *eol ? eol + 1 : eol;
        s->line++;
        /* A CRLF line end is a line end: its '\r' is no character of the
         * line, neither for the length limit nor for inih. */
        if (len > 0 && raw[len - 1] == '\r')
                len--;

        /* num - 1 is the longest line inih's buffer can hold: the same limit
         * as when inih reads the file itself with fgets(). */
        parse_line(s, raw, len, str, (size_t) num - 1);
        len = strlen(str);
        /* Keep the newline when it fits, so that no build of inih mistakes a
         * full buffer for a line that goes on. */
        if (len + 1 < (size_t) num) {
                str[len] = '\n';
                str[len + 1] = 0;
        }
        return str;
}

/* Look key up among n rows of the table (those of section) and store the
 * value at base + offset, remembering where it came from. */
static void parse_setting(ParseState *s, const ConfigSetting *settings, const ConfigKeyInfo *info, size_t n,
                          const char *section, void *base, ConfigSource *sources,
                          const char *key, const char *value) {
        for (size_t k = 0; k < n; k++) {
                const char *reason = NULL;
                int r;

                if (!streq(info[k].section, section) || !streq(info[k].key, key))
                        continue;
                /* Only a file name can be empty: "none", to undo an earlier file's. */
                if (!*value && settings[k].type != CONFIG_TYPE_PATH) {
                        parse_error(s, "empty value for '%s='", key);
                        return;
                }
                r = config_parse_value(settings[k].type, value, s->have_sys_resource,
                                       (uint8_t *) base + settings[k].offset, &reason);
                if (r == -EINVAL)
                        parse_error(s, "invalid %s= '%s': %s", key, value, reason);
                else if (r < 0)
                        s->error = -ENOMEM;
                /* Also for an invalid value: the key was given, so
                 * config_finalize() must not add "missing Cgroup=". */
                if (r >= 0 || r == -EINVAL)
                        if (source_set(&sources[k], s->path, s->line) < 0)
                                s->error = -ENOMEM;
                return;
        }
        parse_error(s, "unknown key '%s' in [%s]", key, s->section_display);
}

static void parse_priority(ParseState *s, const char *pattern, const char *value) {
        PriorityRule *rules, rule = {};
        const char *problem;
        int adj;

        if (!*pattern) {
                parse_error(s, "empty pattern in [Priority], expected 'PATTERN = ADJ'");
                return;
        }
        if (pattern[0] != '/' && strchr(pattern, '/')) {
                parse_error(s, "invalid pattern '%s': a pattern either starts with '/' (a cgroup path) "
                            "or has no '/' at all (a unit name)", pattern);
                return;
        }
        problem = cgroup_glob_problem(pattern);
        if (problem) {
                parse_error(s, "invalid pattern '%s': %s", pattern, problem);
                return;
        }
        if (parse_int_range(value, ADJ_MIN, ADJ_MAX, &adj) < 0) {
                parse_error(s, "invalid adj '%s' for '%s': expected an integer from -1000 to 1000", value, pattern);
                return;
        }

        rules = realloc(s->c->rules, (s->c->n_rules + 1) * sizeof(PriorityRule));
        if (!rules) {
                s->error = -ENOMEM;
                return;
        }
        s->c->rules = rules;
        rule.adj = adj;
        rule.pattern = strdup(pattern);
        if (!rule.pattern || source_set(&rule.source, s->path, s->line) < 0) {
                free(rule.pattern);
                s->error = -ENOMEM;
                return;
        }
        s->c->rules[s->c->n_rules++] = rule;
}

static int config_handler(void *userdata, const char *section, const char *key, const char *value) {
        ParseState *s = userdata;

        /* Errors are collected in s; returning 0 would only make inih
         * remember the first line again. */
        if (s->error < 0 || s->section == SECTION_INVALID)
                return 1;
        if (!*key && s->section != SECTION_PRIORITY) {
                parse_error(s, "empty key before '=', expected 'Key=Value'");
                return 1;
        }
        if (s->section == SECTION_NONE) {
                parse_error(s, "'%s=' outside of any section; put it under [Agent], [Pressure], [Kill], "
                            "[Monitor NAME] or [Priority]", key);
                return 1;
        }
        /* A setting's own type decides (parse_setting()). */
        if (!*value && !IN_SET(s->section, SECTION_GLOBAL, SECTION_MONITOR)) {
                parse_error(s, "empty value for '%s='", key);
                return 1;
        }
        if (strstr(value, " #") || strstr(value, "\t#")) {
                parse_error(s, "'%s=' value '%s' contains ' #': inline comments need ' ;' "
                            "('#' only starts a comment at the beginning of a line)", key, value);
                return 1;
        }

        switch (s->section) {
        case SECTION_GLOBAL:
                parse_setting(s, global_settings, config_keys, _CONFIG_KEY_MAX, s->section_display,
                              s->c, s->c->sources, key, value);
                break;
        case SECTION_MONITOR: {
                MonitorConfig *m = &s->c->monitors[s->monitor];

                parse_setting(s, monitor_settings, monitor_key_info(0), _MONITOR_KEY_MAX, "Monitor",
                              m, m->sources, key, value);
                break;
        }
        case SECTION_PRIORITY:
                parse_priority(s, key, value);
                break;
        default:
                break;
        }
        return 1;
}

int config_parse_string(Config *c, const char *path, const char *text, bool have_sys_resource,
                        char ***errors) {
        ParseState s = {
                .c = c,
                .path = path,
                .have_sys_resource = have_sys_resource,
                .errors = errors,
                .next = text,
        };
        int r;

        r = ini_parse_stream(config_reader, &s, config_handler, &s);
        if (s.error < 0)
                return s.error;
        if (r == -2)
                return -ENOMEM;
        if (r > 0) {
                /* config_reader() hands inih only lines it can parse: this is
                 * a gap in that pre-check, still worth a line number. */
                s.line = (unsigned) r;
                parse_error(&s, "syntax error");
                if (s.error < 0)
                        return s.error;
        }
        return s.n_errors;
}

/* ---- cross-field checks ---- */

static int finalize_error(char ***errors, const ConfigSource *src, const char *fmt, ...) _printf_(3, 4);
static int finalize_error(char ***errors, const ConfigSource *src, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = errors_addv(errors, src->file, src->line, fmt, ap);
        va_end(ap);
        return r;
}

/* CriticalMinAdj above MediumMinAdj would spare at critical pressure what
 * medium pressure already kills. Blame the critical value if a file set it. */
static int check_min_adj(char ***errors, int medium, int critical, const ConfigSource *medium_src,
                         const ConfigSource *critical_src, const char *where) {
        if (critical <= medium)
                return 0;
        return finalize_error(errors, critical_src->file ? critical_src : medium_src,
                              "CriticalMinAdj=%i is above MediumMinAdj=%i%s: critical pressure must kill "
                              "at least what medium pressure kills", critical, medium, where) ?: 1;
}

int config_finalize(Config *c, char ***errors) {
        int n = 0, r;

        /* The built-in "system" monitor is only a default: configured
         * monitors replace it unless a file names it too. */
        for (size_t i = 0; i < c->n_monitors; i++) {
                MonitorConfig *m = &c->monitors[i];

                if (m->source.file || c->n_monitors == 1)
                        continue;
                monitor_config_done(m);
                memmove(m, m + 1, (c->n_monitors - i - 1) * sizeof(MonitorConfig));
                c->n_monitors--;
                i--;
        }

        r = check_min_adj(errors, c->medium_min_adj, c->critical_min_adj,
                          &c->sources[CONFIG_KILL_MEDIUM_MIN_ADJ], &c->sources[CONFIG_KILL_CRITICAL_MIN_ADJ], "");
        if (r < 0)
                return r;
        n += r;

        for (size_t i = 0; i < c->n_monitors; i++) {
                MonitorConfig *m = &c->monitors[i];
                _cleanup_free_ char *where = NULL;

                if (!m->cgroup && !m->sources[MONITOR_CGROUP].file) {
                        r = finalize_error(errors, &m->source, "[Monitor %s] has no Cgroup=, which is required",
                                           m->name);
                        if (r < 0)
                                return r;
                        n++;
                }
                monitor_config_inherit(c, m);

                /* Only a monitor that sets one of the two can break the rule
                 * on its own; otherwise the global check above said it. */
                if (!m->sources[MONITOR_MEDIUM_MIN_ADJ].file && !m->sources[MONITOR_CRITICAL_MIN_ADJ].file)
                        continue;
                if (asprintf(&where, " in [Monitor %s]", m->name) < 0)
                        return -ENOMEM;
                r = check_min_adj(errors, m->medium_min_adj, m->critical_min_adj,
                                  m->sources[MONITOR_MEDIUM_MIN_ADJ].file ? &m->sources[MONITOR_MEDIUM_MIN_ADJ] : &m->source,
                                  &m->sources[MONITOR_CRITICAL_MIN_ADJ], where);
                if (r < 0)
                        return r;
                n += r;
        }

        if (c->poll_interval > c->poll_duration) {
                const ConfigSource *src = c->sources[CONFIG_PRESSURE_POLL_INTERVAL].file ?
                        &c->sources[CONFIG_PRESSURE_POLL_INTERVAL] : &c->sources[CONFIG_PRESSURE_POLL_DURATION];
                r = finalize_error(errors, src, "PollInterval= is longer than PollDuration=: armed polling "
                                   "would stop before its first measurement");
                if (r < 0)
                        return r;
                n++;
        }
        return n;
}

/* ---- loading ---- */

static char *path_join(const char *root, const char *path) {
        char *p;

        if (!root || streq(root, "/"))
                root = "";
        if (asprintf(&p, "%s%s", root, path) < 0)
                return NULL;
        return p;
}

static bool stat_is_dev_null(const struct stat *st) {
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

/* What a load error means to a person: strerror() but for the errnos the
 * reader gives a meaning of its own. */
static const char *load_strerror(int r) {
        switch (r) {
        case -EBADMSG:
                return "contains a NUL byte, not a text file";
        case -EBADFD:
                return "not a regular file";
        case -EFBIG:
                return "larger than 16 MiB, not a config file";
        default:
                return strerror(-r);
        }
}

/* Read a whole config file. Returns 0 and the text, 1 for /dev/null (a
 * mask: nothing to read), -ENOENT for the caller to decide, -EISDIR for a
 * directory and -EBADFD for anything else that is not a regular file: a
 * FIFO would block the reader forever (O_NONBLOCK makes the open return at
 * once), a device could be anything. */
static int read_config_text(const char *path, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size = 0;
        struct stat st;

        fd = open(path, O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY);
        if (fd < 0)
                return errno == ENXIO ? -EBADFD : negative_errno();     /* ENXIO: a socket */
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (stat_is_dev_null(&st))
                return 1;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        for (;;) {
                ssize_t k;

                if (size - n < 4096) {
                        char *t;

                        if (size > 16 * 1024 * 1024)
                                return -EFBIG;          /* not a config file */
                        t = realloc(buf, size + 65536);
                        if (!t)
                                return -ENOMEM;
                        buf = t;
                        size += 65536;
                }
                k = read(fd, buf + n, size - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        if (strlen(buf) != n)
                return -EBADMSG;        /* a NUL byte: not text */
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Returns 0 when the file was parsed (its errors go to *errors), 1 when it
 * is /dev/null, <0 when it could not be read. */
static int config_load_file(Config *c, const char *path, bool have_sys_resource, char ***errors) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_config_text(path, &text);
        if (r != 0)
                return r;
        r = strv_extendf(&c->files, "%s", path);
        if (r < 0)
                return r;
        r = config_parse_string(c, path, text, have_sys_resource, errors);
        return r < 0 ? r : 0;
}

/* A symlink to /dev/null masks a drop-in of the same name (systemd's rule),
 * recognised by its target even where /dev/null is missing (a test root). */
static bool is_null_symlink(const char *path) {
        char target[16];
        ssize_t n;

        n = readlink(path, target, sizeof target - 1);
        if (n < 0)
                return false;
        target[n] = 0;
        return streq(target, "/dev/null");
}

/* Whether path is a symlink whose target does not exist. */
static bool is_dangling_symlink(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st) < 0 && errno == ENOENT;
}

typedef struct DropIn {
        char *name;
        char *path;
        bool masked;            /* a symlink to /dev/null: replaces, contributes nothing */
} DropIn;

static int dropin_cmp(const void *a, const void *b) {
        return strcmp(((const DropIn *) a)->name, ((const DropIn *) b)->name);
}

static void dropins_free(DropIn *d, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(d[i].name);
                free(d[i].path);
        }
        free(d);
}

/* Returns 0 to use the entry (*ret_masked set), 1 to skip it (a warning
 * was added), <0 on ENOMEM. As in systemd, an entry that is skipped does
 * not mask a file of the same name in an earlier directory. */
static int dropin_check(const char *path, Config *c, bool *ret_masked) {
        struct stat st;

        *ret_masked = false;
        if (is_null_symlink(path)) {
                *ret_masked = true;
                return 0;
        }
        if (stat(path, &st) < 0) {
                if (errno == ENOENT && is_dangling_symlink(path))
                        return strv_extendf(&c->warnings, "%s: dangling symlink, ignored", path) ?: 1;
                if (errno == ENOENT)    /* removed since the directory was read */
                        return 1;
                return strv_extendf(&c->warnings, "%s: %s, ignored", path, strerror(errno)) ?: 1;
        }
        if (stat_is_dev_null(&st)) {
                *ret_masked = true;
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return strv_extendf(&c->warnings, "%s: not a regular file, ignored", path) ?: 1;
        return 0;
}

/* Collect *.conf from every drop-in dir, a later dir replacing an earlier
 * one's file of the same name, sorted by name. */
static int dropins_collect(Config *c, const char *root, DropIn **ret, size_t *ret_n, char ***errors) {
        DropIn *d = NULL;
        size_t n = 0;
        int r = 0;

        for (const char *const *dir = config_dropin_dirs; *dir; dir++) {
                _cleanup_free_ char *path = path_join(root, *dir);
                _cleanup_closedir_ DIR *dh = NULL;
                struct dirent *de;

                if (!path)
                        goto oom;
                dh = opendir(path);
                if (!dh) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                continue;
                        r = negative_errno();
                        if (strv_extendf(errors, "%s: cannot open drop-in directory: %s", path, strerror(-r)) < 0)
                                goto oom;
                        goto fail;
                }
                while ((de = readdir(dh))) {
                        size_t l = strlen(de->d_name), i;
                        bool masked;
                        char *full;

                        if (de->d_name[0] == '.' || l <= 5 || !streq(de->d_name + l - 5, ".conf"))
                                continue;
                        if (asprintf(&full, "%s/%s", path, de->d_name) < 0)
                                goto oom;
                        r = dropin_check(full, c, &masked);
                        if (r != 0) {
                                free(full);
                                if (r < 0)
                                        goto oom;
                                continue;
                        }
                        for (i = 0; i < n; i++)
                                if (streq(d[i].name, de->d_name))
                                        break;
                        if (i < n) {
                                free(d[i].path);
                                d[i].path = full;
                                d[i].masked = masked;
                                continue;
                        }
                        DropIn *t = realloc(d, (n + 1) * sizeof(DropIn));
                        if (!t) {
                                free(full);
                                goto oom;
                        }
                        d = t;
                        d[n] = (DropIn) { .name = strdup(de->d_name), .path = full, .masked = masked };
                        n++;
                        if (!d[n - 1].name)
                                goto oom;
                }
        }
        if (n > 0)
                qsort(d, n, sizeof(DropIn), dropin_cmp);
        *ret = d;
        *ret_n = n;
        return 0;

oom:
        r = -ENOMEM;
fail:
        dropins_free(d, n);
        return r;
}

static int load_error(char ***errors, const char *path, int r, const char *what) {
        if (strv_extendf(errors, "%s: %s: %s", path, what, load_strerror(r)) < 0)
                return -ENOMEM;
        return r;
}

int config_load(const ConfigLoadOptions *opts, Config **ret, char ***ret_errors) {
        static const ConfigLoadOptions no_opts = {};
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        DropIn *dropins = NULL;
        size_t n_dropins = 0;
        int r, io_error = 0;

        if (!opts)
                opts = &no_opts;

        r = config_new_default(&c);
        if (r < 0)
                return r;

        if (opts->main_file) {
                r = config_load_file(c, opts->main_file, opts->have_sys_resource, &errors);
                if (r < 0) {
                        io_error = load_error(&errors, opts->main_file, r, "cannot read config file");
                        goto finish;
                }
        } else {
                const char *const mains[] = { CONFIG_MAIN_FILE, CONFIG_VENDOR_MAIN_FILE };

                /* The vendor file is a fallback, not a layer: an admin's
                 * file replaces it entirely, and so does a /dev/null mask. */
                for (size_t i = 0; i < ELEMENTSOF(mains); i++) {
                        _cleanup_free_ char *path = path_join(opts->root, mains[i]);

                        if (!path)
                                return -ENOMEM;
                        r = config_load_file(c, path, opts->have_sys_resource, &errors);
                        if (r == -ENOENT) {
                                if (is_dangling_symlink(path) &&
                                    strv_extendf(&c->warnings, "%s: dangling symlink, ignored", path) < 0)
                                        return -ENOMEM;
                                continue;
                        }
                        if (r < 0)
                                io_error = load_error(&errors, path, r, "cannot read config file");
                        break;
                }
        }

        if (!opts->no_dropins) {
                r = dropins_collect(c, opts->root, &dropins, &n_dropins, &errors);
                if (r < 0) {
                        io_error = r;
                        goto finish;
                }
        }
        for (size_t i = 0; i < n_dropins; i++) {
                if (dropins[i].masked)
                        continue;
                r = config_load_file(c, dropins[i].path, opts->have_sys_resource, &errors);
                /* Replaced by a FIFO, removed... since it was listed: as if
                 * it had been so when the directory was read. */
                if (IN_SET(r, -ENOENT, -EISDIR, -EBADFD)) {
                        if (strv_extendf(&c->warnings, "%s: %s, ignored", dropins[i].path, load_strerror(r)) < 0)
                                io_error = -ENOMEM;
                        continue;
                }
                if (r < 0) {
                        r = load_error(&errors, dropins[i].path, r, "cannot read drop-in");
                        if (io_error == 0 || r == -ENOMEM)
                                io_error = r;
                }
        }
        dropins_free(dropins, n_dropins);

        r = config_finalize(c, &errors);
        if (r < 0)
                return r;

finish:
        if (io_error == -ENOMEM)
                return -ENOMEM;
        if (io_error < 0 || errors) {
                if (ret_errors)
                        *ret_errors = TAKE_PTR(errors);
                return io_error < 0 ? io_error : -EINVAL;
        }
        if (ret_errors)
                *ret_errors = NULL;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- dump ---- */

static void dump_source(FILE *f, const char *line, const ConfigSource *src, const char *fallback) {
        char comment[4096];

        if (src->file)
                snprintf(comment, sizeof comment, "; from %s:%u", src->file, src->line);
        else
                snprintf(comment, sizeof comment, "; %s", fallback);
        /* The output must parse again, so a comment that would push the line
         * past inih's limit goes on a line of its own above. */
        if (strlen(line) + 1 + strlen(comment) > INI_MAX_LINE - 1)
                fprintf(f, "%s\n%s\n", comment, line);
        else
                fprintf(f, "%s %s\n", line, comment);
}

int config_dump(const Config *c, FILE *f) {
        const char *section = NULL;
        char value[256], line[512];

        fputs("# Effective cgreap configuration.\n", f);
        if (c->files)
                for (char **p = c->files; *p; p++)
                        fprintf(f, "# read %s\n", *p);
        else
                fputs("# no config files: built-in defaults\n", f);

        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++) {
                if (!section || !streq(section, config_keys[k].section)) {
                        section = config_keys[k].section;
                        fprintf(f, "\n[%s]\n", section);
                }
                config_format_value(global_settings[k].type, (const uint8_t *) c + global_settings[k].offset,
                                    value, sizeof value);
                snprintf(line, sizeof line, "%s=%s", config_keys[k].key, value);
                dump_source(f, line, &c->sources[k], "default");
        }

        for (size_t i = 0; i < c->n_monitors; i++) {
                const MonitorConfig *m = &c->monitors[i];

                fputc('\n', f);
                snprintf(line, sizeof line, "[Monitor %s]", m->name);
                dump_source(f, line, &m->source, "built-in");
                for (size_t k = 0; k < _MONITOR_KEY_MAX; k++) {
                        const ConfigSetting *s = &monitor_settings[k];
                        const ConfigKeyInfo *info = monitor_key_info(k);
                        char fallback[64];

                        config_format_value(s->type, (const uint8_t *) m + s->offset, value, sizeof value);
                        /* An inherited value stays commented out, so that the
                         * dump re-parses with the same inheritance. */
                        snprintf(line, sizeof line, "%s%s=%s",
                                 !m->sources[k].file && s->inherits >= 0 ? "#" : "", info->key, value);
                        if (s->inherits >= 0)
                                snprintf(fallback, sizeof fallback, "inherited from [%s]",
                                         config_keys[s->inherits].section);
                        else
                                snprintf(fallback, sizeof fallback, "default");
                        dump_source(f, line, &m->sources[k], fallback);
                }
        }

        fputs("\n[Priority]\n", f);
        for (size_t i = 0; i < c->n_rules; i++) {
                snprintf(line, sizeof line, "%s = %i", c->rules[i].pattern, c->rules[i].adj);
                dump_source(f, line, &c->rules[i].source, "default");
        }

        return fflush(f) == 0 ? 0 : negative_errno();
}
