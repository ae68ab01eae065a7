/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for config: every key, every error with its file:line, the
 * drop-in rules on fake trees, and that config_dump() parses back. */

#include <check.h>
#include <stdarg.h>

/* Not "config.h": from tests/ that finds autoconf's config.h in the build
 * directory first (-I. comes before -I$(top_srcdir)/src). */
#include "config.h"
#include "policy.h"
#include "test-util.h"

static char *root;

/* The administrator's files below a fake root: the configured sysconfdir
 * (DESIGN §3's /etc), as test_write() wants them, without the leading '/'. */
#define ETC_MAIN (CONFIG_MAIN_FILE + 1)
#define ETC_D_DIR (CONFIG_ETC_DROPIN_DIR + 1)
#define ETC_D(name) (CONFIG_ETC_DROPIN_DIR "/" name + 1)

static void setup(void) {
        root = test_mkdtemp();
        ck_assert_ptr_nonnull(root);
}

static void teardown(void) {
        test_rm_rf(root);
        free(root);
        root = NULL;
}

/* Defaults + text as "x.conf" + finalize. Returns the number of errors. */
static int parse(const char *text, Config **ret, char ***ret_errors) {
        _cleanup_config_free_ Config *c = NULL;
        char **errors = NULL;
        int r, n;

        ck_assert_int_eq(config_new_default(&c), 0);
        n = config_parse_string(c, "x.conf", text, false, &errors);
        ck_assert_int_ge(n, 0);
        r = config_finalize(c, &errors);
        ck_assert_int_ge(r, 0);
        n += r;
        if (ret)
                *ret = TAKE_PTR(c);
        if (ret_errors)
                *ret_errors = errors;
        else
                strv_free(errors);
        return n;
}

static size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static void dump_errors(char **errors) {
        for (char **e = errors; e && *e; e++)
                fprintf(stderr, "  error: %s\n", *e);
}

/* Config with no errors. */
static Config *parse_ok(const char *text) {
        Config *c = NULL;
        char **errors = NULL;
        int n = parse(text, &c, &errors);

        if (n != 0)
                dump_errors(errors);
        ck_assert_int_eq(n, 0);
        ck_assert_ptr_null(errors);
        return c;
}

/* Exactly one error, starting with prefix and containing what. */
static void assert_one_error(const char *text, const char *prefix, const char *what) {
        _cleanup_strv_free_ char **errors = NULL;
        int n = parse(text, NULL, &errors);

        if (n != 1)
                dump_errors(errors);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(strv_length(errors), 1);
        ck_assert_msg(strncmp(errors[0], prefix, strlen(prefix)) == 0,
                      "error '%s' does not start with '%s'", errors[0], prefix);
        ck_assert_msg(strstr(errors[0], what), "error '%s' does not say '%s'", errors[0], what);
}

static const MonitorConfig *find_monitor(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_monitors; i++)
                if (streq(c->monitors[i].name, name))
                        return &c->monitors[i];
        return NULL;
}

START_TEST(test_defaults) {
        _cleanup_config_free_ Config *c = NULL;

        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert(!c->dry_run);
        ck_assert(c->report_status);
        ck_assert_int_eq(c->medium.kind, PSI_SOME);
        ck_assert_uint_eq(c->medium.stall_usec, 200 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->medium.window_usec, 2 * USEC_PER_SEC);
        ck_assert_int_eq(c->critical.kind, PSI_FULL);
        ck_assert_uint_eq(c->critical.stall_usec, 200 * USEC_PER_MSEC);
        ck_assert_int_eq(c->early.kind, PSI_SOME);
        ck_assert_uint_eq(c->early.stall_usec, 20 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->poll_interval, 100 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->poll_duration, 2 * USEC_PER_SEC);
        ck_assert_uint_eq(c->min_available, 200);
        ck_assert_int_eq(c->medium_min_adj, 200);
        ck_assert_int_eq(c->critical_min_adj, 0);
        ck_assert_int_eq(c->default_adj, 0);
        ck_assert_int_eq(c->method, KILL_METHOD_AUTO);
        ck_assert(c->release_memory);
        ck_assert_uint_eq(c->post_kill_delay, 2 * USEC_PER_SEC);
        ck_assert_uint_eq(c->kill_timeout, 5 * USEC_PER_SEC);
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++)
                ck_assert_ptr_null(c->sources[k].file);

        ck_assert_uint_eq(c->n_monitors, 1);
        ck_assert_str_eq(c->monitors[0].name, "system");
        ck_assert_str_eq(c->monitors[0].cgroup, "/");
        ck_assert_ptr_null(c->monitors[0].source.file);
        ck_assert_uint_eq(c->monitors[0].medium.stall_usec, 200 * USEC_PER_MSEC);
        ck_assert_int_eq(c->monitors[0].critical.kind, PSI_FULL);
        ck_assert_int_eq(c->monitors[0].medium_min_adj, 200);
        ck_assert_uint_eq(c->monitors[0].memory_high_guard, 0);
        ck_assert_uint_eq(c->n_rules, 0);
        ck_assert_ptr_null(c->files);

        ck_assert_uint_eq(config_n_keys, _CONFIG_KEY_MAX + _MONITOR_KEY_MAX);
        ck_assert_str_eq(config_keys[CONFIG_PRESSURE_MEDIUM].key, "Medium");
        ck_assert_str_eq(config_keys[CONFIG_PRESSURE_MEDIUM].default_value, "some 10% 2s");
        ck_assert_str_eq(config_keys[_CONFIG_KEY_MAX + MONITOR_CGROUP].section, "Monitor");
        ck_assert_str_eq(config_keys[_CONFIG_KEY_MAX + MONITOR_MEMORY_HIGH_GUARD].key, "MemoryHighGuard");
        ck_assert_str_eq(kill_method_to_string(KILL_METHOD_CGROUP_KILL), "cgroup-kill");
}
END_TEST

START_TEST(test_every_key) {
        _cleanup_config_free_ Config *c = parse_ok(
                "[Agent]\n"                             /* 1 */
                "DryRun=yes\n"
                "ReportStatus=no\n"
                "MetricsFile=/var/lib/prometheus/node-exporter/cgreap.prom\n"
                "[Pressure]\n"
                "Medium=full 150ms 4s\n"                /* 6 */
                "Critical=some 50% 10s\n"
                "Early=some 1.5% 2s\n"
                "PollInterval=250ms\n"
                "PollDuration=1min\n"
                "CalmPollInterval=0\n"                  /* 11 */
                "MinAvailable=5.5%\n"
                "MinSwapFree=20%\n"
                "ThrashingLimit=30%\n"
                "StallLimit=0%\n"
                "[Kill]\n"
                "MediumMinAdj=500\n"
                "CriticalMinAdj=-100\n"
                "DefaultAdj=100\n"
                "Method=pidfd\n"
                "ReleaseMemory=off\n"
                "PostKillDelay=0\n"
                "KillTimeout=1.5s\n");

        ck_assert(c->dry_run);
        ck_assert(!c->report_status);
        ck_assert_str_eq(c->metrics_file, "/var/lib/prometheus/node-exporter/cgreap.prom");
        {
                /* Empty: off again, as a later drop-in may say. */
                _cleanup_config_free_ Config *d = parse_ok("[Agent]\nMetricsFile=/x.prom\nMetricsFile=\n");

                ck_assert_ptr_null(d->metrics_file);
        }
        ck_assert_int_eq(c->medium.kind, PSI_FULL);
        ck_assert_uint_eq(c->medium.stall_usec, 150 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->medium.window_usec, 4 * USEC_PER_SEC);
        ck_assert_int_eq(c->critical.kind, PSI_SOME);
        ck_assert_uint_eq(c->critical.stall_usec, 5 * USEC_PER_SEC);
        ck_assert_uint_eq(c->critical.window_usec, 10 * USEC_PER_SEC);
        ck_assert_uint_eq(c->early.stall_usec, 30 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->poll_interval, 250 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->poll_duration, 60 * USEC_PER_SEC);
        ck_assert_uint_eq(c->calm_poll_interval, 0);
        ck_assert_uint_eq(c->min_available, 550);
        ck_assert_int_eq(c->medium_min_adj, 500);
        ck_assert_int_eq(c->critical_min_adj, -100);
        ck_assert_int_eq(c->default_adj, 100);
        ck_assert_int_eq(c->method, KILL_METHOD_PIDFD);
        ck_assert(!c->release_memory);
        ck_assert_uint_eq(c->post_kill_delay, 0);
        ck_assert_uint_eq(c->kill_timeout, 1500 * USEC_PER_MSEC);

        ck_assert_uint_eq(c->min_swap_free, 2000);
        ck_assert_uint_eq(c->thrashing_limit, 3000);
        ck_assert_uint_eq(c->stall_limit, 0);

        /* Every key has its file and line: keys are on lines 2-4, 6-15, 17-23. */
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++) {
                unsigned expected = k + 2 + (k >= CONFIG_PRESSURE_MEDIUM) + (k >= CONFIG_KILL_MEDIUM_MIN_ADJ);

                ck_assert_str_eq(c->sources[k].file, "x.conf");
                ck_assert_msg(c->sources[k].line == expected, "%s= from line %u, expected %u",
                              config_keys[k].key, c->sources[k].line, expected);
        }

        /* Monitors without overrides follow [Pressure] and [Kill]. */
        ck_assert_uint_eq(c->n_monitors, 1);
        ck_assert_int_eq(c->monitors[0].medium.kind, PSI_FULL);
        ck_assert_uint_eq(c->monitors[0].critical.window_usec, 10 * USEC_PER_SEC);
        ck_assert_int_eq(c->monitors[0].medium_min_adj, 500);
        ck_assert_int_eq(c->monitors[0].critical_min_adj, -100);

        ck_assert_str_eq(kill_method_to_string(c->method), "pidfd");
}
END_TEST

START_TEST(test_monitor_keys) {
        _cleanup_config_free_ Config *c = parse_ok(
                "[Pressure]\n"
                "Early=some 5% 4s\n"
                "[Monitor web]\n"                               /* 3 */
                "Cgroup=/system.slice/web-*.slice\n"
                "Medium=some 20% 2s\n"
                "Critical=full 300ms 2s\n"
                "MediumMinAdj=100\n"
                "CriticalMinAdj=-200\n"
                "MemoryHighGuard=5%\n"                          /* 9 */
                "[Monitor batch]\n"
                "Cgroup=/batch.slice\n"
                "Early=some 2% 2s\n");
        const MonitorConfig *m;

        /* Configured monitors replace the built-in "system". */
        ck_assert_uint_eq(c->n_monitors, 2);
        ck_assert_ptr_null(find_monitor(c, "system"));

        m = find_monitor(c, "web");
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(m->cgroup, "/system.slice/web-*.slice");
        ck_assert_uint_eq(m->medium.stall_usec, 400 * USEC_PER_MSEC);
        ck_assert_int_eq(m->critical.kind, PSI_FULL);
        ck_assert_uint_eq(m->critical.stall_usec, 300 * USEC_PER_MSEC);
        ck_assert_uint_eq(m->early.window_usec, 4 * USEC_PER_SEC);     /* inherited */
        ck_assert_ptr_null(m->sources[MONITOR_EARLY].file);
        ck_assert_int_eq(m->medium_min_adj, 100);
        ck_assert_int_eq(m->critical_min_adj, -200);
        ck_assert_uint_eq(m->memory_high_guard, 500);
        ck_assert_str_eq(m->source.file, "x.conf");
        ck_assert_uint_eq(m->source.line, 3);
        ck_assert_uint_eq(m->sources[MONITOR_CGROUP].line, 4);
        ck_assert_uint_eq(m->sources[MONITOR_MEMORY_HIGH_GUARD].line, 9);

        m = find_monitor(c, "batch");
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_eq(m->early.stall_usec, 40 * USEC_PER_MSEC);
        ck_assert_uint_eq(m->medium.stall_usec, 200 * USEC_PER_MSEC);  /* default */
        ck_assert_int_eq(m->medium_min_adj, 200);
        ck_assert_uint_eq(m->memory_high_guard, 0);
}
END_TEST

START_TEST(test_monitor_system_override) {
        /* Naming "system" keeps it, with its built-in Cgroup=/. */
        _cleanup_config_free_ Config *c = parse_ok(
                "[Monitor system]\n"
                "MediumMinAdj=300\n"
                "[Monitor user]\n"
                "Cgroup=/user.slice\n");
        const MonitorConfig *m = find_monitor(c, "system");

        ck_assert_uint_eq(c->n_monitors, 2);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(m->cgroup, "/");
        ck_assert_int_eq(m->medium_min_adj, 300);
        ck_assert_uint_eq(m->source.line, 1);
        ck_assert_ptr_nonnull(find_monitor(c, "user"));
}
END_TEST

START_TEST(test_priority) {
        Config *c = parse_ok(
                "[Priority]\n"
                "/init.scope = -1000\n"
                "; a comment\n"
                "/system.slice=-500\n"
                "app-firefox-*.scope = 800 ; browsers go first\n"
                "/system.slice = +10\n");

        ck_assert_uint_eq(c->n_rules, 4);
        ck_assert_str_eq(c->rules[0].pattern, "/init.scope");
        ck_assert_int_eq(c->rules[0].adj, -1000);
        ck_assert_uint_eq(c->rules[0].source.line, 2);
        ck_assert_str_eq(c->rules[1].pattern, "/system.slice");
        ck_assert_int_eq(c->rules[1].adj, -500);
        ck_assert_uint_eq(c->rules[1].source.line, 4);
        ck_assert_str_eq(c->rules[2].pattern, "app-firefox-*.scope");
        ck_assert_int_eq(c->rules[2].adj, 800);
        ck_assert_str_eq(c->rules[3].pattern, "/system.slice");
        ck_assert_int_eq(c->rules[3].adj, 10);
        ck_assert_str_eq(c->rules[3].source.file, "x.conf");
        ck_assert_uint_eq(c->rules[3].source.line, 6);
        c = config_free(c);

        /* Globs that look odd but can match: the root, dot-names, '**'. */
        c = parse_ok("[Priority]\n/ = 5\n/.hidden.slice/..x = 1\n/**/x.service = 2\n.x.scope = 3\n"
                     "[Monitor m]\nCgroup=/a.slice/**\n");
        ck_assert_uint_eq(c->n_rules, 4);
        ck_assert_str_eq(c->rules[1].pattern, "/.hidden.slice/..x");
        ck_assert_str_eq(c->monitors[0].cgroup, "/a.slice/**");
        config_free(c);
}
END_TEST

START_TEST(test_syntax_accepted) {
        char pattern[200];
        _cleanup_free_ char *text = NULL;
        _cleanup_config_free_ Config *c = NULL;

        /* Indentation is ignored, never a continuation of the previous value;
         * " ;" starts an inline comment; CRLF line ends are fine. */
        c = parse_ok("  [Pressure]  ; the defaults\r\n"
                     "Medium = some 10% 2s ; comment\r\n"
                     "\tCritical=full 20% 2s\r\n"
                     "   \r\n"
                     "# Early=broken\n"
                     "[Kill]\n"
                     "    DefaultAdj=-5\n");
        ck_assert_uint_eq(c->medium.stall_usec, 200 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->critical.stall_usec, 400 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->sources[CONFIG_PRESSURE_CRITICAL].line, 3);
        ck_assert_uint_eq(c->early.stall_usec, 20 * USEC_PER_MSEC);
        ck_assert_int_eq(c->default_adj, -5);
        c = config_free(c);

        /* A UTF-8 byte order mark is skipped, as inih does. */
        c = parse_ok("\xEF\xBB\xBF[Agent]\nDryRun=yes\n");
        ck_assert(c->dry_run);
        c = config_free(c);

        /* 199 characters is the longest line inih can hold. */
        memset(pattern, 'a', 193);
        pattern[0] = '/';
        pattern[193] = 0;
        ck_assert_int_ge(asprintf(&text, "[Priority]\n%s = 117\n[Agent]\nDryRun=yes\n", pattern), 0);
        ck_assert_uint_eq(strchr(text + 11, '\n') - (text + 11), 199);
        c = parse_ok(text);
        ck_assert_uint_eq(c->n_rules, 1);
        ck_assert_int_eq(c->rules[0].adj, 117);
        ck_assert_str_eq(c->rules[0].pattern, pattern);
        ck_assert(c->dry_run);
}
END_TEST

typedef struct ErrorCase {
        const char *text;
        const char *prefix;
        const char *what;
} ErrorCase;

static const ErrorCase error_cases[] = {
        { "[Agent]\n[Foo]\nBar=1\n", "x.conf:2: ", "unknown section [Foo]" },
        { "[Kill]\nFoo=1\n", "x.conf:2: ", "unknown key 'Foo' in [Kill]" },
        { "[Agent]\nMedium=some 10% 2s\n", "x.conf:2: ", "unknown key 'Medium' in [Agent]" },
        { "[Agent]\ndryrun=yes\n", "x.conf:2: ", "unknown key 'dryrun' in [Agent]" },
        { "[Agent]\nDryRun=maybe\n", "x.conf:2: ", "invalid DryRun= 'maybe': expected a boolean" },
        { "[Pressure]\nPollInterval=fast\n", "x.conf:2: ", "invalid PollInterval= 'fast': expected a duration" },
        { "[Pressure]\nPollInterval=0\n", "x.conf:2: ", "greater than 0" },
        { "[Kill]\nPostKillDelay=-1s\n", "x.conf:2: ", "invalid PostKillDelay= '-1s'" },
        { "[Kill]\nKillTimeout=99999999999999999999s\n", "x.conf:2: ", "invalid KillTimeout=" },
        { "[Pressure]\nMinAvailable=101%\n", "x.conf:2: ", "invalid MinAvailable= '101%': expected a percentage" },
        { "[Pressure]\nMinAvailable=2\n", "x.conf:2: ", "invalid MinAvailable= '2'" },
        { "[Kill]\nMediumMinAdj=1001\n", "x.conf:2: ", "invalid MediumMinAdj= '1001': expected an integer from -1000 to 1000" },
        { "[Kill]\nDefaultAdj=-1001\n", "x.conf:2: ", "from -1000 to 1000" },
        { "[Kill]\nMethod=kill\n", "x.conf:2: ", "invalid Method= 'kill': expected auto, cgroup-kill or pidfd" },
        { "[Pressure]\nMedium=some 10% 1s\n", "x.conf:2: ",
          "invalid Medium= 'some 10% 1s': without CAP_SYS_RESOURCE the window must be a multiple of 2s" },
        { "[Pressure]\nCritical=full 10% 20s\n", "x.conf:2: ", "window must be between 500ms and 10s" },
        { "[Pressure]\nMedium=some 3s 2s\n", "x.conf:2: ", "stall must not be longer than the window" },
        { "[Pressure]\nEarly=some 0% 2s\n", "x.conf:2: ", "stall must be greater than 0" },
        { "[Pressure]\nMedium=half 10% 2s\n", "x.conf:2: ", "'some' or 'full'" },
        { "[Pressure]\nMedium=some 10%\n", "x.conf:2: ", "expected 'some|full STALL WINDOW'" },
        { "[Pressure]\nMedium=some 10% 2s 4s\n", "x.conf:2: ", "expected 'some|full STALL WINDOW'" },
        { "[Pressure]\nMedium=some 10%% 2s\n", "x.conf:2: ", "percentage of the window" },
        { "[Pressure]\nMedium=some 10% 2x\n", "x.conf:2: ", "the window (third word) must be a duration" },
        { "[Agent]\nDryRun=\n", "x.conf:2: ", "empty value for 'DryRun='" },
        { "[Agent]\n=yes\n", "x.conf:2: ", "empty key before '=', expected 'Key=Value'" },
        { "[Monitor web]\nCgroup=/\n = 1\n", "x.conf:3: ", "empty key before '='" },
        { "[Agent]\nDryRun=yes # really\n", "x.conf:2: ", "inline comments need ' ;'" },
        { "DryRun=yes\n[Agent]\n", "x.conf:1: ", "'DryRun=' outside of any section" },
        { "[Agent]\nDryRun yes\n", "x.conf:2: ", "expected 'Key=Value', '[Section]' or a comment" },
        { "[Agent\nDryRun=yes\n", "x.conf:1: ", "malformed section header" },
        { "[Agent] DryRun=yes\n", "x.conf:1: ", "malformed section header" },
        { "[Monitor]\nCgroup=/\n", "x.conf:1: ", "[Monitor] needs a name" },
        { "[Monitor a/b]\nCgroup=/\n", "x.conf:1: ", "invalid monitor name 'a/b'" },
        { "[Agent]\n\n[Monitor web]\nMedium=some 10% 2s\n", "x.conf:3: ", "[Monitor web] has no Cgroup=, which is required" },
        { "[Monitor web]\nCgroup=system.slice\n", "x.conf:2: ", "invalid Cgroup= 'system.slice': expected a cgroup path glob starting with '/'" },
        { "[Monitor web]\nCgroup=/a/\n", "x.conf:2: ", "trailing '/'" },
        { "[Monitor web]\nCgroup=/\nMemoryHighGuard=60%\n", "x.conf:3: ", "invalid MemoryHighGuard= '60%': expected a percentage from 0% (off) to 50%" },
        { "[Monitor web]\nCgroup=/\nFoo=1\n", "x.conf:3: ", "unknown key 'Foo' in [Monitor web]" },
        { "[Monitor web]\nCgroup=/\nDryRun=yes\n", "x.conf:3: ", "unknown key 'DryRun' in [Monitor web]" },
        { "[Kill]\nMediumMinAdj=200\nCriticalMinAdj=300\n", "x.conf:3: ",
          "CriticalMinAdj=300 is above MediumMinAdj=200: critical pressure must kill at least what medium pressure kills" },
        { "[Kill]\nMediumMinAdj=-100\n", "x.conf:2: ", "CriticalMinAdj=0 is above MediumMinAdj=-100" },
        { "[Monitor web]\nCgroup=/\nCriticalMinAdj=500\n", "x.conf:3: ",
          "CriticalMinAdj=500 is above MediumMinAdj=200 in [Monitor web]" },
        { "[Priority]\nfoo.service = 2000\n", "x.conf:2: ", "invalid adj '2000' for 'foo.service'" },
        { "[Priority]\nfoo.service = ten\n", "x.conf:2: ", "expected an integer from -1000 to 1000" },
        { "[Priority]\nfoo.service =\n", "x.conf:2: ", "empty value for 'foo.service='" },
        { "[Priority]\n = 5\n", "x.conf:2: ", "empty pattern" },
        { "[Priority]\nsystem.slice/foo = 5\n", "x.conf:2: ", "either starts with '/'" },
        { "[Priority]\n/a:b.service = 5\n", "x.conf:2: ", "':' is not allowed before the '='" },
        /* Patterns and globs that could match no cgroup at all. */
        { "[Priority]\n/x.slice/a.slice/ = -500\n", "x.conf:2: ",
          "invalid pattern '/x.slice/a.slice/': a trailing '/' matches no cgroup: leave it out" },
        { "[Priority]\n/a//b.service = 5\n", "x.conf:2: ", "invalid pattern '/a//b.service': an empty path component ('//')" },
        { "[Priority]\n/a/./b.service = 5\n", "x.conf:2: ", "'.' and '..' are not cgroup names" },
        { "[Priority]\n/../x.service = 5\n", "x.conf:2: ", "invalid pattern '/../x.service': '.' and '..' are not cgroup names" },
        { "[Priority]\n/a/.. = 5\n", "x.conf:2: ", "'.' and '..' are not cgroup names" },
        { "[Priority]\n.. = 5\n", "x.conf:2: ", "invalid pattern '..': '.' and '..' are not cgroup names" },
        { "[Monitor web]\nCgroup=/../x\n", "x.conf:2: ", "invalid Cgroup= '/../x': '.' and '..' are not cgroup names" },
        { "[Monitor web]\nCgroup=/a/./b\n", "x.conf:2: ", "'.' and '..' are not cgroup names" },
        { "[Monitor web]\nCgroup=/a//b\n", "x.conf:2: ", "invalid Cgroup= '/a//b': an empty path component ('//')" },
        { "[Monitor web]\nCgroup=/a b\n", "x.conf:2: ", "invalid Cgroup= '/a b': expected a cgroup path glob starting with '/', without white space" },
        { "[Pressure]\nPollInterval=5s\n", "x.conf:2: ", "PollInterval= is longer than PollDuration=" },
        { "[Agent]\nMetricsFile=cgreap.prom\n", "x.conf:2: ", "invalid MetricsFile= 'cgreap.prom': expected an absolute file name" },
        { "[Agent]\nMetricsFile=/var/lib/\n", "x.conf:2: ", "invalid MetricsFile= '/var/lib/'" },
        { "[Agent]\nMetricsFile=/var/../etc/x.prom\n", "x.conf:2: ", "without '..'" },
};

START_TEST(test_errors) {
        const ErrorCase *e = &error_cases[_i];

        assert_one_error(e->text, e->prefix, e->what);
}
END_TEST

START_TEST(test_line_too_long) {
        char line[300];
        _cleanup_free_ char *text = NULL;

        memset(line, 'a', 250);
        line[0] = '/';
        memcpy(line + 250 - 4, " = 1", 4);
        line[250] = 0;
        ck_assert_int_ge(asprintf(&text, "[Priority]\n# two\n%s\n", line), 0);
        assert_one_error(text, "x.conf:3: ", "line too long (250 characters, at most 199)");

        free(text);
        line[200] = 0;
        ck_assert_int_ge(asprintf(&text, "[Priority]\n%s\n", line), 0);
        assert_one_error(text, "x.conf:2: ", "line too long (200 characters, at most 199)");

        /* A CRLF line end's '\r' is not one of the line's characters. */
        free(text);
        ck_assert_int_ge(asprintf(&text, "[Priority]\r\n%s\r\n", line), 0);
        assert_one_error(text, "x.conf:2: ", "line too long (200 characters, at most 199)");
        free(text);
        memcpy(line + 199 - 4, " = 1", 5);     /* 199 characters with the NUL at 199 */
        ck_assert_int_ge(asprintf(&text, "[Priority]\r\n%s\r\n[Agent]\r\nDryRun=yes\r\n", line), 0);
        {
                _cleanup_config_free_ Config *c = parse_ok(text);

                ck_assert_uint_eq(c->n_rules, 1);
                ck_assert_uint_eq(strlen(c->rules[0].pattern), 199 - strlen(" = 1"));
                ck_assert(c->dry_run);
        }
}
END_TEST

START_TEST(test_all_errors_collected) {
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_config_free_ Config *c = NULL;
        int n;

        n = parse("[Agent]\n"
                  "DryRun=maybe\n"
                  "[Foo]\n"
                  "Ignored=because the section was reported\n"
                  "[Kill]\n"
                  "Method=nope\n"
                  "DefaultAdj=5\n"
                  "[Monitor web]\n"
                  "Medium=some 10% 3s\n",
                  &c, &errors);
        if (n != 5)
                dump_errors(errors);
        ck_assert_int_eq(n, 5);
        ck_assert_uint_eq(strv_length(errors), 5);
        ck_assert_str_eq(errors[0], "x.conf:2: invalid DryRun= 'maybe': expected a boolean (yes or no)");
        ck_assert_str_eq(errors[1], "x.conf:3: unknown section [Foo]");
        ck_assert(strncmp(errors[2], "x.conf:6: invalid Method=", 25) == 0);
        ck_assert(strncmp(errors[3], "x.conf:9: invalid Medium=", 25) == 0);
        ck_assert(strncmp(errors[4], "x.conf:8: [Monitor web] has no Cgroup=", 38) == 0);
        /* What was valid still applied (the caller throws it all away). */
        ck_assert_int_eq(c->default_adj, 5);
}
END_TEST

START_TEST(test_no_continuation) {
        _cleanup_strv_free_ char **errors = NULL;

        /* inih would glue "2s" onto Medium= and accept it silently. */
        ck_assert_int_eq(parse("[Pressure]\nMedium=some 10%\n  2s\n", NULL, &errors), 2);
        ck_assert_str_eq(errors[0], "x.conf:2: invalid Medium= 'some 10%': expected 'some|full STALL WINDOW', "
                         "e.g. 'some 10% 2s'");
        ck_assert_str_eq(errors[1], "x.conf:3: expected 'Key=Value', '[Section]' or a comment "
                         "(continuation lines are not supported)");
}
END_TEST

START_TEST(test_cap_sys_resource) {
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert_int_eq(config_parse_string(c, "x.conf", "[Pressure]\nMedium=some 100ms 1s\n", true, &errors), 0);
        ck_assert_ptr_null(errors);
        ck_assert_uint_eq(c->medium.window_usec, USEC_PER_SEC);
}
END_TEST

/* ---- loading from fake trees ---- */

static int load(const char *main_file, Config **ret, char ***ret_errors) {
        ConfigLoadOptions opts = { .root = root, .main_file = main_file };

        return config_load(&opts, ret, ret_errors);
}

static Config *load_ok(void) {
        Config *c = NULL;
        char **errors = NULL;
        int r = load(NULL, &c, &errors);

        dump_errors(errors);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_null(errors);
        ck_assert_ptr_nonnull(c);
        return c;
}

static void assert_ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        ck_assert_msg(a >= b && streq(s + a - b, suffix), "'%s' does not end with '%s'", s, suffix);
}

static void symlink_in_root(const char *target, const char *rel) {
        char path[4096];

        snprintf(path, sizeof path, "%s/%s", root, rel);
        ck_assert_int_eq(symlink(target, path), 0);
}

START_TEST(test_load_nothing) {
        _cleanup_config_free_ Config *c = load_ok();

        ck_assert_ptr_null(c->files);
        ck_assert_int_eq(c->medium_min_adj, 200);
        ck_assert_uint_eq(c->n_monitors, 1);
}
END_TEST

START_TEST(test_load_main_fallback) {
        _cleanup_config_free_ Config *c = NULL;

        ck_assert_int_eq(test_write(root, "usr/lib/cgreap/cgreap.conf", "[Kill]\nDefaultAdj=7\n"), 0);
        c = load_ok();
        ck_assert_int_eq(c->default_adj, 7);
        ck_assert_uint_eq(strv_length(c->files), 1);
        assert_ends_with(c->files[0], "/usr/lib/cgreap/cgreap.conf");
        assert_ends_with(c->sources[CONFIG_KILL_DEFAULT_ADJ].file, "/usr/lib/cgreap/cgreap.conf");
        config_free(c);

        /* /etc replaces the vendor file entirely: its DefaultAdj is gone. */
        ck_assert_int_eq(test_write(root, ETC_MAIN, "[Kill]\nMediumMinAdj=300\n"), 0);
        c = load_ok();
        ck_assert_int_eq(c->default_adj, 0);
        ck_assert_int_eq(c->medium_min_adj, 300);
        ck_assert_uint_eq(strv_length(c->files), 1);
        assert_ends_with(c->files[0], CONFIG_MAIN_FILE);
        ck_assert_uint_eq(c->sources[CONFIG_KILL_MEDIUM_MIN_ADJ].line, 2);
}
END_TEST

START_TEST(test_load_dropin_order) {
        _cleanup_config_free_ Config *c = NULL;

        ck_assert_int_eq(test_write(root, ETC_MAIN, "[Kill]\nDefaultAdj=1\nMediumMinAdj=300\n"), 0);
        /* Sorted by name across all dirs: 10 (in /etc) < 20 (in /usr/lib) < 30 (in /run). */
        ck_assert_int_eq(test_write(root, ETC_D("10-a.conf"), "[Kill]\nDefaultAdj=10\nPostKillDelay=1s\n"), 0);
        ck_assert_int_eq(test_write(root, "usr/lib/cgreap/cgreap.conf.d/20-b.conf", "[Kill]\nDefaultAdj=20\n"), 0);
        ck_assert_int_eq(test_write(root, "run/cgreap/cgreap.conf.d/30-c.conf", "\n[Agent]\nDryRun=yes\n"), 0);
        ck_assert_int_eq(test_write(root, "usr/local/lib/cgreap/cgreap.conf.d/25-d.conf", "[Kill]\nKillTimeout=9s\n"), 0);
        /* Not drop-ins. */
        ck_assert_int_eq(test_write(root, ETC_D("99-z.conf.bak"), "garbage\n"), 0);
        ck_assert_int_eq(test_write(root, ETC_D(".hidden.conf"), "garbage\n"), 0);
        ck_assert_int_eq(test_write(root, ETC_D("README"), "garbage\n"), 0);
        ck_assert_int_eq(test_mkdir_p(root, ETC_D("dir.conf")), 0);

        c = load_ok();
        ck_assert_int_eq(c->default_adj, 20);
        ck_assert_int_eq(c->medium_min_adj, 300);
        ck_assert_uint_eq(c->post_kill_delay, USEC_PER_SEC);
        ck_assert_uint_eq(c->kill_timeout, 9 * USEC_PER_SEC);
        ck_assert(c->dry_run);
        assert_ends_with(c->sources[CONFIG_KILL_DEFAULT_ADJ].file, "/usr/lib/cgreap/cgreap.conf.d/20-b.conf");
        assert_ends_with(c->sources[CONFIG_AGENT_DRY_RUN].file, "/run/cgreap/cgreap.conf.d/30-c.conf");
        ck_assert_uint_eq(c->sources[CONFIG_AGENT_DRY_RUN].line, 3);

        ck_assert_uint_eq(strv_length(c->files), 5);
        assert_ends_with(c->files[0], CONFIG_MAIN_FILE);
        assert_ends_with(c->files[1], CONFIG_ETC_DROPIN_DIR "/10-a.conf");
        assert_ends_with(c->files[2], "/usr/lib/cgreap/cgreap.conf.d/20-b.conf");
        assert_ends_with(c->files[3], "/usr/local/lib/cgreap/cgreap.conf.d/25-d.conf");
        assert_ends_with(c->files[4], "/run/cgreap/cgreap.conf.d/30-c.conf");
}
END_TEST

START_TEST(test_load_dropin_masking) {
        _cleanup_config_free_ Config *c = NULL;

        /* Same name: the later dir's file replaces the earlier one's. */
        ck_assert_int_eq(test_write(root, "usr/lib/cgreap/cgreap.conf.d/50-x.conf", "[Kill]\nDefaultAdj=50\nKillTimeout=7s\n"), 0);
        ck_assert_int_eq(test_write(root, "run/cgreap/cgreap.conf.d/50-x.conf", "[Kill]\nDefaultAdj=60\n"), 0);
        /* A symlink to /dev/null masks, in a later dir... */
        ck_assert_int_eq(test_write(root, "usr/lib/cgreap/cgreap.conf.d/60-y.conf", "[Agent]\nDryRun=yes\n"), 0);
        ck_assert_int_eq(test_mkdir_p(root, ETC_D_DIR), 0);
        symlink_in_root("/dev/null", ETC_D("60-y.conf"));
        /* ... and on its own, where it contributes nothing. */
        symlink_in_root("/dev/null", ETC_D("70-z.conf"));

        /* An empty file replaces a same-named one by the name rule alone. */
        ck_assert_int_eq(test_write(root, "usr/lib/cgreap/cgreap.conf.d/80-e.conf", "[Kill]\nMediumMinAdj=900\n"), 0);
        ck_assert_int_eq(test_write(root, ETC_D("80-e.conf"), "%s", ""), 0);

        c = load_ok();
        ck_assert_int_eq(c->medium_min_adj, 200);
        ck_assert_int_eq(c->default_adj, 60);
        ck_assert_uint_eq(c->kill_timeout, 5 * USEC_PER_SEC);  /* the masked file's value is gone */
        ck_assert(!c->dry_run);
        ck_assert_uint_eq(strv_length(c->files), 2);
        assert_ends_with(c->files[0], "/run/cgreap/cgreap.conf.d/50-x.conf");
        assert_ends_with(c->files[1], CONFIG_ETC_DROPIN_DIR "/80-e.conf");
}
END_TEST

START_TEST(test_load_explicit_main) {
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        char path[4096];
        Config *sentinel = (Config *) 0x1;
        int r;

        ck_assert_int_eq(test_write(root, ETC_MAIN, "[Kill]\nDefaultAdj=1\n"), 0);
        ck_assert_int_eq(test_write(root, "other.conf", "[Kill]\nDefaultAdj=2\n"), 0);
        ck_assert_int_eq(test_write(root, ETC_D("50-x.conf"), "[Kill]\nKillTimeout=3s\n"), 0);

        snprintf(path, sizeof path, "%s/other.conf", root);
        ck_assert_int_eq(load(path, &c, &errors), 0);
        ck_assert_int_eq(c->default_adj, 2);                    /* instead of /etc */
        ck_assert_uint_eq(c->kill_timeout, 3 * USEC_PER_SEC);   /* drop-ins still read */
        ck_assert_str_eq(c->files[0], path);

        /* A main file asked for and missing is an error, not the defaults. */
        snprintf(path, sizeof path, "%s/missing.conf", root);
        r = load(path, &sentinel, &errors);
        ck_assert_int_eq(r, -ENOENT);
        ck_assert_ptr_eq(sentinel, (Config *) 0x1);
        ck_assert_uint_eq(strv_length(errors), 1);
        ck_assert(strncmp(errors[0], path, strlen(path)) == 0);
        ck_assert_ptr_nonnull(strstr(errors[0], "No such file or directory"));
}
END_TEST

/* root + "/" + rel, in a buffer that the next call reuses. */
static const char *in_root(const char *rel) {
        static char path[4096];

        snprintf(path, sizeof path, "%s/%s", root, rel);
        return path;
}

static void mkfifo_in_root(const char *rel) {
        char path[4096];

        snprintf(path, sizeof path, "%s/%s", root, rel);
        ck_assert_int_eq(mkfifo(path, 0644), 0);
}

/* Exactly one warning, naming path (below root) and saying what. */
static void assert_one_warning(const Config *c, const char *rel, const char *what) {
        char prefix[4096];

        snprintf(prefix, sizeof prefix, "%s/%s: ", root, rel);
        ck_assert_msg(strv_length(c->warnings) == 1, "%zu warnings, the first '%s'", strv_length(c->warnings),
                      c->warnings ? c->warnings[0] : "");
        ck_assert_msg(strncmp(c->warnings[0], prefix, strlen(prefix)) == 0 && strstr(c->warnings[0], what),
                      "warning '%s' is not '%s...%s'", c->warnings[0], prefix, what);
}

/* Drop-ins that are not regular files are skipped with a warning, as
 * systemd skips them, and do not mask a file of the same name. A FIFO must
 * not block the load (the test would time out). */
START_TEST(test_load_dropin_types) {
        _cleanup_config_free_ Config *c = NULL;

        ck_assert_int_eq(test_write(root, "usr/lib/cgreap/cgreap.conf.d/50-fifo.conf", "[Kill]\nDefaultAdj=50\n"), 0);
        ck_assert_int_eq(test_mkdir_p(root, ETC_D_DIR), 0);
        mkfifo_in_root(ETC_D("50-fifo.conf"));
        c = load_ok();
        assert_one_warning(c, ETC_D("50-fifo.conf"), "not a regular file, ignored");
        ck_assert_int_eq(c->default_adj, 50);           /* the /usr/lib file still applies */
        c = config_free(c);
        ck_assert_int_eq(unlink(in_root(ETC_D("50-fifo.conf"))), 0);

        /* A directory named like a drop-in. */
        ck_assert_int_eq(test_mkdir_p(root, ETC_D("60-dir.conf")), 0);
        c = load_ok();
        assert_one_warning(c, ETC_D("60-dir.conf"), "not a regular file, ignored");
        c = config_free(c);
        ck_assert_int_eq(rmdir(in_root(ETC_D("60-dir.conf"))), 0);

        /* A dangling symlink: skipped (systemd ignores them), not fatal. */
        symlink_in_root("/nonexistent/cgreap-test.conf", ETC_D("50-fifo.conf"));
        c = load_ok();
        assert_one_warning(c, ETC_D("50-fifo.conf"), "dangling symlink, ignored");
        ck_assert_int_eq(c->default_adj, 50);
        c = config_free(c);
        ck_assert_int_eq(unlink(in_root(ETC_D("50-fifo.conf"))), 0);

        /* ... unless it points to /dev/null: a mask, even where the target
         * does not exist (this root has no dev/null). */
        symlink_in_root("/dev/null", ETC_D("50-fifo.conf"));
        c = load_ok();
        ck_assert_ptr_null(c->warnings);
        ck_assert_int_eq(c->default_adj, 0);
        c = config_free(c);
        ck_assert_int_eq(unlink(in_root(ETC_D("50-fifo.conf"))), 0);

        /* A symlink to a FIFO is not a regular file either. */
        mkfifo_in_root("fifo");
        symlink_in_root(in_root("fifo"), ETC_D("70-link.conf"));
        c = load_ok();
        assert_one_warning(c, ETC_D("70-link.conf"), "not a regular file, ignored");
}
END_TEST

/* A main file that is not a regular file is an error that names it. */
START_TEST(test_load_main_types) {
        _cleanup_strv_free_ char **errors = NULL;
        Config *sentinel = (Config *) 0x1;
        char path[4096], want[4096 + 128];

        ck_assert_int_eq(test_mkdir_p(root, "conf.d"), 0);
        snprintf(path, sizeof path, "%s/conf.d", root);
        ck_assert_int_eq(load(path, &sentinel, &errors), -EISDIR);
        ck_assert_ptr_eq(sentinel, (Config *) 0x1);
        snprintf(want, sizeof want, "%s: cannot read config file: Is a directory", path);
        ck_assert_uint_eq(strv_length(errors), 1);
        ck_assert_str_eq(errors[0], want);
        errors = strv_free(errors);

        mkfifo_in_root("fifo.conf");
        snprintf(path, sizeof path, "%s/fifo.conf", root);
        ck_assert_int_eq(load(path, &sentinel, &errors), -EBADFD);
        snprintf(want, sizeof want, "%s: cannot read config file: not a regular file", path);
        ck_assert_uint_eq(strv_length(errors), 1);
        ck_assert_str_eq(errors[0], want);
        errors = strv_free(errors);

        /* The same at the default path. */
        ck_assert_int_eq(test_mkdir_p(root, ETC_D_DIR), 0);
        mkfifo_in_root(ETC_MAIN);
        ck_assert_int_eq(load(NULL, &sentinel, &errors), -EBADFD);
        snprintf(want, sizeof want, "%s/%s: cannot read config file: not a regular file", root, ETC_MAIN);
        ck_assert_uint_eq(strv_length(errors), 1);
        ck_assert_str_eq(errors[0], want);
        ck_assert_ptr_eq(sentinel, (Config *) 0x1);
}
END_TEST

/* A main file that is a dangling symlink is as good as missing (with a
 * warning): the vendor file applies. One linked to /dev/null masks it. */
START_TEST(test_load_main_links) {
        _cleanup_config_free_ Config *c = NULL;

        ck_assert_int_eq(test_write(root, "usr/lib/cgreap/cgreap.conf", "[Kill]\nDefaultAdj=7\n"), 0);
        ck_assert_int_eq(test_mkdir_p(root, ETC_D_DIR), 0);
        symlink_in_root("/nonexistent/cgreap.conf", ETC_MAIN);
        c = load_ok();
        assert_one_warning(c, ETC_MAIN, "dangling symlink, ignored");
        ck_assert_int_eq(c->default_adj, 7);
        c = config_free(c);

        ck_assert_int_eq(unlink(in_root(ETC_MAIN)), 0);
        ck_assert_int_eq(symlink("/dev/null", in_root(ETC_MAIN)), 0);
        c = load_ok();
        ck_assert_ptr_null(c->warnings);
        ck_assert_ptr_null(c->files);
        ck_assert_int_eq(c->default_adj, 0);    /* masked, and no fallback */
}
END_TEST

START_TEST(test_load_errors) {
        _cleanup_strv_free_ char **errors = NULL;
        Config *sentinel = (Config *) 0x1;
        char prefix[4096];

        /* Errors in several files all come back, in file order, and nothing
         * is returned (under valgrind: nothing leaks either). */
        ck_assert_int_eq(test_write(root, ETC_MAIN, "[Kill]\nFoo=1\n[Priority]\n/a = 1\n"), 0);
        ck_assert_int_eq(test_write(root, ETC_D("50-x.conf"),
                                    "[Monitor web]\nCgroup=/web.slice\n\n[Pressure]\nMedium=some 10%% 1s\n"), 0);
        ck_assert_int_eq(test_write(root, "run/cgreap/cgreap.conf.d/60-y.conf", "[Monitor db]\nMediumMinAdj=-5\n"), 0);

        ck_assert_int_eq(load(NULL, &sentinel, &errors), -EINVAL);
        ck_assert_ptr_eq(sentinel, (Config *) 0x1);
        if (strv_length(errors) != 4)
                dump_errors(errors);
        ck_assert_uint_eq(strv_length(errors), 4);
        snprintf(prefix, sizeof prefix, "%s" CONFIG_MAIN_FILE ":2: unknown key 'Foo' in [Kill]", root);
        ck_assert_str_eq(errors[0], prefix);
        snprintf(prefix, sizeof prefix, "%s" CONFIG_ETC_DROPIN_DIR "/50-x.conf:5: invalid Medium= 'some 10%% 1s': "
                 "without CAP_SYS_RESOURCE the window must be a multiple of 2s", root);
        ck_assert_str_eq(errors[1], prefix);
        snprintf(prefix, sizeof prefix, "%s/run/cgreap/cgreap.conf.d/60-y.conf:1: [Monitor db] has no Cgroup=", root);
        ck_assert(strncmp(errors[2], prefix, strlen(prefix)) == 0);
        snprintf(prefix, sizeof prefix, "%s/run/cgreap/cgreap.conf.d/60-y.conf:2: CriticalMinAdj=0 is above "
                 "MediumMinAdj=-5 in [Monitor db]", root);
        ck_assert(strncmp(errors[3], prefix, strlen(prefix)) == 0);
}
END_TEST

START_TEST(test_load_merge_across_files) {
        _cleanup_config_free_ Config *c = NULL;
        const MonitorConfig *m;

        ck_assert_int_eq(test_write(root, ETC_MAIN,
                                    "[Priority]\n/system.slice = -500\n\n[Monitor web]\nCgroup=/web.slice\nMediumMinAdj=300\n"), 0);
        ck_assert_int_eq(test_write(root, ETC_D("50-web.conf"),
                                    "[Monitor web]\nMediumMinAdj=400\nMemoryHighGuard=5%%\n[Priority]\nnginx.service = -600\n"), 0);
        ck_assert_int_eq(test_write(root, ETC_D("60-more.conf"),
                                    "[Priority]\n/system.slice = -400\n"), 0);

        c = load_ok();
        ck_assert_uint_eq(c->n_monitors, 1);
        m = &c->monitors[0];
        ck_assert_str_eq(m->name, "web");
        ck_assert_str_eq(m->cgroup, "/web.slice");
        ck_assert_int_eq(m->medium_min_adj, 400);
        ck_assert_uint_eq(m->memory_high_guard, 500);
        assert_ends_with(m->source.file, CONFIG_MAIN_FILE);           /* first header */
        ck_assert_uint_eq(m->source.line, 4);
        assert_ends_with(m->sources[MONITOR_MEDIUM_MIN_ADJ].file, "/50-web.conf");
        ck_assert_uint_eq(m->sources[MONITOR_MEDIUM_MIN_ADJ].line, 2);
        assert_ends_with(m->sources[MONITOR_CGROUP].file, CONFIG_MAIN_FILE);

        ck_assert_uint_eq(c->n_rules, 3);
        ck_assert_str_eq(c->rules[0].pattern, "/system.slice");
        ck_assert_int_eq(c->rules[0].adj, -500);
        assert_ends_with(c->rules[0].source.file, CONFIG_MAIN_FILE);
        ck_assert_str_eq(c->rules[1].pattern, "nginx.service");
        assert_ends_with(c->rules[1].source.file, "/50-web.conf");
        ck_assert_uint_eq(c->rules[1].source.line, 5);
        ck_assert_str_eq(c->rules[2].pattern, "/system.slice");
        ck_assert_int_eq(c->rules[2].adj, -400);
        assert_ends_with(c->rules[2].source.file, "/60-more.conf");
}
END_TEST

/* ---- dump ---- */

static void assert_config_equal(const Config *a, const Config *b) {
        ck_assert_int_eq(a->dry_run, b->dry_run);
        ck_assert_int_eq(a->report_status, b->report_status);
        ck_assert_mem_eq(&a->medium, &b->medium, sizeof(PsiTrigger));
        ck_assert_mem_eq(&a->critical, &b->critical, sizeof(PsiTrigger));
        ck_assert_mem_eq(&a->early, &b->early, sizeof(PsiTrigger));
        ck_assert_uint_eq(a->poll_interval, b->poll_interval);
        ck_assert_uint_eq(a->poll_duration, b->poll_duration);
        ck_assert_uint_eq(a->min_available, b->min_available);
        ck_assert_int_eq(a->medium_min_adj, b->medium_min_adj);
        ck_assert_int_eq(a->critical_min_adj, b->critical_min_adj);
        ck_assert_int_eq(a->default_adj, b->default_adj);
        ck_assert_int_eq(a->method, b->method);
        ck_assert_int_eq(a->release_memory, b->release_memory);
        ck_assert_uint_eq(a->post_kill_delay, b->post_kill_delay);
        ck_assert_uint_eq(a->kill_timeout, b->kill_timeout);

        ck_assert_uint_eq(a->n_monitors, b->n_monitors);
        for (size_t i = 0; i < a->n_monitors; i++) {
                const MonitorConfig *x = &a->monitors[i], *y = &b->monitors[i];

                ck_assert_str_eq(x->name, y->name);
                ck_assert_str_eq(x->cgroup, y->cgroup);
                ck_assert_mem_eq(&x->medium, &y->medium, sizeof(PsiTrigger));
                ck_assert_mem_eq(&x->critical, &y->critical, sizeof(PsiTrigger));
                ck_assert_mem_eq(&x->early, &y->early, sizeof(PsiTrigger));
                ck_assert_int_eq(x->medium_min_adj, y->medium_min_adj);
                ck_assert_int_eq(x->critical_min_adj, y->critical_min_adj);
                ck_assert_uint_eq(x->memory_high_guard, y->memory_high_guard);
                /* Inherited values stay inherited. */
                for (size_t k = 0; k < _MONITOR_KEY_MAX; k++)
                        if (k != MONITOR_CGROUP && k != MONITOR_MEMORY_HIGH_GUARD)
                                ck_assert_int_eq(!!x->sources[k].file, !!y->sources[k].file);
        }

        ck_assert_uint_eq(a->n_rules, b->n_rules);
        for (size_t i = 0; i < a->n_rules; i++) {
                ck_assert_str_eq(a->rules[i].pattern, b->rules[i].pattern);
                ck_assert_int_eq(a->rules[i].adj, b->rules[i].adj);
        }
}

static char *dump(const Config *c) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(config_dump(c, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return buf;
}

static void assert_dump_round_trip(const Config *c) {
        _cleanup_free_ char *text = dump(c);
        _cleanup_config_free_ Config *again = parse_ok(text);

        assert_config_equal(c, again);
}

START_TEST(test_dump_defaults) {
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_free_ char *text = NULL;

        ck_assert_int_eq(config_new_default(&c), 0);
        text = dump(c);
        ck_assert_ptr_nonnull(strstr(text, "\n[Pressure]\nMedium=some 10% 2s ; default\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nPollInterval=100ms ; default\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nMinAvailable=2% ; default\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nMethod=auto ; default\n"));
        ck_assert_ptr_nonnull(strstr(text, "\n[Monitor system] ; built-in\nCgroup=/ ; default\n"));
        ck_assert_ptr_nonnull(strstr(text, "\n#Medium=some 10% 2s ; inherited from [Pressure]\n"));
        /* Every default in the table is what the dump shows. */
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++) {
                char line[256];

                snprintf(line, sizeof line, "\n%s=%s ; default\n", config_keys[k].key, config_keys[k].default_value);
                ck_assert_msg(strstr(text, line), "dump lacks '%s'", line + 1);
        }
        assert_dump_round_trip(c);
}
END_TEST

START_TEST(test_dump_round_trip) {
        _cleanup_config_free_ Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        char long_pattern[190], rule[256];

        /* A long pattern: its provenance comment must move to its own line. */
        memset(long_pattern, 'p', sizeof long_pattern);
        long_pattern[0] = '/';
        long_pattern[sizeof long_pattern - 1] = 0;
        snprintf(rule, sizeof rule, "%s = 5\n", long_pattern);
        ck_assert_int_eq(test_write(root, ETC_MAIN,
                                    "[Agent]\nDryRun=yes\n[Pressure]\nMedium=full 150ms 4s\nEarly=some 1.5%% 2s\n"
                                    "PollInterval=1.25s\nPollDuration=1min\nMinAvailable=0.25%%\n"
                                    "[Kill]\nMethod=cgroup-kill\nPostKillDelay=0\nKillTimeout=1500us\nMediumMinAdj=-5\nCriticalMinAdj=-10\n"
                                    "[Monitor web]\nCgroup=/system.slice/web-*.slice\nCritical=some 20%% 2s\n"
                                    "MemoryHighGuard=2.5%%\nMediumMinAdj=1000\n"
                                    "[Monitor system]\nEarly=full 1s 2s\n"
                                    "[Priority]\n/init.scope = -1000\nfoo.service=7\n%s", rule), 0);
        c = load_ok();
        text = dump(c);
        assert_dump_round_trip(c);

        ck_assert_ptr_nonnull(strstr(text, "\nDryRun=yes ; from "));
        ck_assert_ptr_nonnull(strstr(text, CONFIG_MAIN_FILE ":2\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nPollInterval=1.25s ; from "));
        ck_assert_ptr_nonnull(strstr(text, "\nKillTimeout=1.5ms ; from "));
        ck_assert_ptr_nonnull(strstr(text, "\nMedium=full 150ms 4s ; from "));
        ck_assert_ptr_nonnull(strstr(text, "\nEarly=some 30ms 2s ; from "));
        ck_assert_ptr_nonnull(strstr(text, "\nCritical=some 20% 2s ; from "));
        ck_assert_ptr_nonnull(strstr(text, "\nReportStatus=yes ; default\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nfoo.service = 7 ; from "));
        snprintf(rule, sizeof rule, CONFIG_MAIN_FILE ":25\n%s = 5\n", long_pattern);
        ck_assert_ptr_nonnull(strstr(text, rule));
}
END_TEST

/* ---- the shipped file ---- */

START_TEST(test_shipped_conf) {
        const char *top = getenv("top_srcdir") ?: "..";
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_config_free_ Config *c = NULL, *def = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        ConfigLoadOptions opts = { .root = root, .no_dropins = true };
        size_t size = 0, n_rules;
        FILE *f;

        ck_assert_int_ge(asprintf(&path, "%s/conf/cgreap.conf", top), 0);
        opts.main_file = path;
        ck_assert_msg(config_load(&opts, &c, &errors) == 0, "%s: %s", path, errors ? errors[0] : "?");
        ck_assert_ptr_null(errors);

        /* Every default shipped commented out, and nothing else changed. */
        ck_assert_int_eq(config_new_default(&def), 0);
        ck_assert_uint_ge(c->n_rules, 3);
        ck_assert_str_eq(c->rules[0].pattern, "/init.scope");
        ck_assert_int_eq(c->rules[0].adj, -1000);
        n_rules = c->n_rules;
        c->n_rules = 0;
        assert_config_equal(c, def);
        c->n_rules = n_rules;

        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        text = calloc(1, 65536);
        size = fread(text, 1, 65535, f);
        fclose(f);
        ck_assert_uint_gt(size, 0);
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++) {
                char line[256];

                snprintf(line, sizeof line, "\n#%s=%s\n", config_keys[k].key, config_keys[k].default_value);
                ck_assert_msg(strstr(text, line), "%s lacks '%s'", path, line + 1);
        }

        /* A unit's OOMScoreAdjust= speaks for it (README, "Writing
         * priorities"): no shipped rule covers a whole slice, which would
         * take precedence over it (DESIGN §4). */
        {
                CgroupNode nodes[] = {
                        { .path = (char *) "/", .parent = -1, .has_children = true, .populated = true },
                        { .path = (char *) "/system.slice", .parent = 0, .has_children = true, .populated = true },
                        { .path = (char *) "/system.slice/batch.service", .parent = 1, .populated = true,
                          .n_procs = 1, .has_oom_score_adj = true, .min_oom_score_adj = 800 },
                        { .path = (char *) "/system.slice/systemd-journald.service", .parent = 1, .populated = true,
                          .n_procs = 1, .has_oom_score_adj = true, .min_oom_score_adj = -250 },
                };
                Snapshot snap = { .nodes = nodes, .n_nodes = ELEMENTSOF(nodes) };
                Adj a;

                policy_resolve_adj(c, &snap, 2, NULL, &a);
                ck_assert_int_eq(a.value, 800);
                ck_assert_int_eq(a.source, ADJ_SOURCE_OOM_SCORE_ADJ);
                policy_resolve_adj(c, &snap, 3, NULL, &a);
                ck_assert_int_eq(a.source, ADJ_SOURCE_RULE);
                ck_assert_int_le(a.value, -900);
                for (size_t i = 0; i < c->n_rules; i++)
                        for (const char *const *sl = (const char *const[]) { "/system.slice", "/user.slice",
                                                                              "/machine.slice", NULL }; *sl; sl++)
                                ck_assert_msg(!policy_pattern_match(c->rules[i].pattern, *sl),
                                              "shipped rule '%s' covers all of %s", c->rules[i].pattern, *sl);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("parse"), *tl = tcase_create("load");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_every_key);
        tcase_add_test(tc, test_monitor_keys);
        tcase_add_test(tc, test_monitor_system_override);
        tcase_add_test(tc, test_priority);
        tcase_add_test(tc, test_syntax_accepted);
        tcase_add_loop_test(tc, test_errors, 0, ELEMENTSOF(error_cases));
        tcase_add_test(tc, test_line_too_long);
        tcase_add_test(tc, test_all_errors_collected);
        tcase_add_test(tc, test_no_continuation);
        tcase_add_test(tc, test_cap_sys_resource);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(tl, setup, teardown);
        tcase_add_test(tl, test_load_nothing);
        tcase_add_test(tl, test_load_main_fallback);
        tcase_add_test(tl, test_load_dropin_order);
        tcase_add_test(tl, test_load_dropin_masking);
        tcase_add_test(tl, test_load_explicit_main);
        tcase_add_test(tl, test_load_dropin_types);
        tcase_add_test(tl, test_load_main_types);
        tcase_add_test(tl, test_load_main_links);
        tcase_add_test(tl, test_load_errors);
        tcase_add_test(tl, test_load_merge_across_files);
        tcase_add_test(tl, test_dump_defaults);
        tcase_add_test(tl, test_dump_round_trip);
        tcase_add_test(tl, test_shipped_conf);
        suite_add_tcase(s, tl);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
