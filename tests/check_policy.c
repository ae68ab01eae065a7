/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy: patterns, adj resolution and ranking over hand-built snapshots. */

#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <time.h>

#include "policy.h"
#include "test-util.h"

/* A node of a hand-built snapshot. Processes are only counted: policy never
 * looks at the pids themselves. */
#define NODE(p, par, ...) { .path = (char *) (p), .parent = (par), __VA_ARGS__ }
/* A leaf holding n processes with rss bytes, as snapshot_build() fills it. */
#define LEAF(n, rss) .n_procs = (n), .populated = true, .rss_sum = (rss)
#define INNER .has_children = true, .populated = true
#define OOM(v) .has_oom_score_adj = true, .min_oom_score_adj = (v)

#define RULE(pat, v, f, l) { .pattern = (char *) (pat), .adj = (v), .source = { .file = (char *) (f), .line = (l) } }

#define SNAPSHOT(arr) ((Snapshot) { .nodes = (arr), .n_nodes = ELEMENTSOF(arr) })
#define CONFIG(arr, dflt) ((Config) { .rules = (arr), .n_rules = ELEMENTSOF(arr), .default_adj = (dflt), \
                                        .medium_min_adj = 200, .critical_min_adj = 0 })

static Adj resolve(const Config *c, const Snapshot *s, const char *path, const char *own) {
        ssize_t i = snapshot_find(s, path);
        Adj a;

        ck_assert_msg(i >= 0, "%s not in snapshot", path);
        policy_resolve_adj(c, s, (size_t) i, own, &a);
        return a;
}

static const char *fmt(const Adj *a) {
        static char buf[256];
        return adj_source_format(a, buf, sizeof buf);
}

/* ---- patterns ---- */

static const struct {
        const char *pattern, *path;
        bool match;
} pattern_cases[] = {
        /* no leading '/': the cgroup's own name, i.e. the unit */
        { "nginx.service",        "/system.slice/nginx.service",                        true },
        { "nginx.service",        "/nginx.service",                                     true },
        { "nginx.service",        "/system.slice/nginx.service/sub",                    false },
        { "nginx.service",        "/system.slice/nginx.service2",                       false },
        { "app-firefox-*.scope",  "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-3211.scope", true },
        { "app-firefox-*.scope",  "/app.slice/app-firefox-1.service",                   false },
        { "docker-*.scope",       "/system.slice/docker-0123abcd.scope",                true },
        { "user@*.service",       "/user.slice/user-1000.slice/user@1000.service",      true },
        { "user@*.service",       "/user.slice/user-1000.slice",                        false },
        { "*.slice",              "/",                                                  false },
        { "*",                    "/system.slice",                                      true },
        /* a relative pattern with components: the path's last components */
        { "system.slice/*.service", "/system.slice/a.service",                          true },
        { "system.slice/*.service", "/machine.slice/system.slice/a.service",            true },
        { "system.slice/*.service", "/system.slice/x/a.service",                        false },
        { "system.slice/*.service", "/mysystem.slice/a.service",                        false },
        /* leading '/': the whole path, '*' '?' [...] stay in one component */
        { "/system.slice",        "/system.slice",                                      true },
        { "/system.slice",        "/system.slice/nginx.service",                        false },
        { "/system.slice",        "/x/system.slice",                                    false },
        { "/system.slice/*",      "/system.slice/a.service",                            true },
        { "/system.slice/*",      "/system.slice/a.slice/b.service",                    false },
        { "/system.slice/*",      "/system.slice",                                      false },
        { "/system.slice/*.service", "/system.slice/a.service",                         true },
        { "/system.slice/*.service", "/system.slice/a.scope",                           false },
        { "/user.slice/user-*.slice/user@*.service/app.slice/*",
                                  "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", true },
        { "/user.slice/user-*.slice/user@*.service/app.slice/*",
                                  "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope/y", false },
        { "/a?b",                 "/axb",                                               true },
        { "/a?b",                 "/a/b",                                               false },
        { "/a?b",                 "/ab",                                                false },
        { "/[ab].service",        "/a.service",                                         true },
        { "/[ab].service",        "/c.service",                                         false },
        { "/[!ab].service",       "/c.service",                                         true },
        { "/[!ab].service",       "/a.service",                                         false },
        { "/[a-c]x",              "/bx",                                                true },
        { "/[a-c]x",              "/dx",                                                false },
        { "/[]]x",                "/]x",                                                true },
        { "/x[!a]y",              "/x/y",                                               false },
        { "/[ab",                 "/[ab",                                               true },   /* malformed: literal */
        { "/a\\*",                "/a*",                                                true },
        { "/a\\*",                "/ab",                                                false },
        /* '**' crosses '/', gitignore style */
        { "/a/**",                "/a",                                                 false },
        { "/a/**",                "/a/b",                                               true },
        { "/a/**",                "/a/b/c",                                             true },
        { "/a/**",                "/ab/c",                                              false },
        { "/a/**/b",              "/a/b",                                               true },
        { "/a/**/b",              "/a/x/b",                                             true },
        { "/a/**/b",              "/a/x/y/b",                                           true },
        { "/a/**/b",              "/a/x/y/c",                                           false },
        { "/a/**/b",              "/a/xb",                                              false },
        { "/**",                  "/",                                                  true },
        { "/**",                  "/x/y/z",                                             true },
        { "/**/nginx.service",    "/nginx.service",                                     true },
        { "/**/nginx.service",    "/system.slice/nginx.service",                        true },
        { "/**/nginx.service",    "/system.slice/nginx.service/x",                      false },
        { "/a**",                 "/ab/c",                                              true },
        { "/a/*",                 "/a/b/c",                                             false },
        { "/a/**b",               "/a/x/yb",                                            true },
        { "/a/**b",               "/a/x/yc",                                            false },
        { "/a/**/**/b",           "/a/b",                                               true },
        { "/a/**/**/b",           "/a/x/y/b",                                           true },
        { "/*/*.service",         "/system.slice/a.service",                            true },
        { "/*/*.service",         "/a.service",                                         false },
        { "/*a*b",                "/xaybzab",                                           true },
        { "/*a*b",                "/xa/b",                                              false },
        { "/**a*b",               "/x/y/azb",                                           true },
        { "/**a*b",               "/xa/y/b",                                            false },
        { "**",                   "/system.slice/a.service",                            true },
        { "/a\\",               "/a\\",                                             true },
        /* relative with components: any tail at a '/' */
        { "a/b",                  "/a/b",                                               true },
        { "a/b",                  "/x/a/b",                                             true },
        { "a/b",                  "/xa/b",                                              false },
        { "a/b",                  "/a/b/c",                                             false },
        { "a/*/c",                "/x/a/b/c",                                           true },
        { "a/*/c",                "/a/x/a/b/c",                                         true },
        { "a/b",                  "/a/b/a/b",                                           true },
        { "a/b",                  "/b",                                                 false },
        { "a.slice/b.service",    "/x/ba.slice/b.service",                              false },
        /* plain names and literal heads, which skip the automaton */
        { "systemd-*.service",    "/system.slice/systemd-journald.service",             true },
        { "systemd-*.service",    "/system.slice/systemd.service",                      false },
        { "systemd-*.service",    "/system.slice/xsystemd-a.service",                   false },
        { "/system.slice/s*",     "/system.slic",                                       false },
        { "/system.slice/s*",     "/system.slice/s",                                    true },
        { "victim.service",       "/a/victim.service",                                  true },
        { "victim.service",       "/a/victim.service2",                                 false },
        { "victim.service",       "/victim.service/x",                                  false },
};

START_TEST(test_pattern_match) {
        for (size_t i = 0; i < ELEMENTSOF(pattern_cases); i++)
                ck_assert_msg(policy_pattern_match(pattern_cases[i].pattern, pattern_cases[i].path) ==
                              pattern_cases[i].match, "pattern '%s' vs '%s': expected %s",
                              pattern_cases[i].pattern, pattern_cases[i].path,
                              pattern_cases[i].match ? "match" : "no match");
}
END_TEST

/* Users name the cgroups of their delegated user@UID.service subtree, so
 * names and patterns that make a backtracking matcher take exponential time
 * (seconds for one 100-character name) must stay cheap. The bound is
 * generous: it only catches a blow-up, it is not a benchmark. */
START_TEST(test_pattern_match_no_blowup) {
        char name[256], path[1024], tail[256];
        static const char *const patterns[] = {
                "/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*aX",
                "/**a**a**a**a**a**a**a**a**aX",
                "app-*-*-*-*-*-*-*-*.scope",
                "*a*a*a*a*a*a*a*a*a*a*a*a*aX",
                "/**/*a*a*a*a*a*a*/**/*a*a*a*X",
        };
        usec_t t0;

        /* A 255-character name (the kernel's limit for a cgroup name). */
        memset(name, 'a', 255);
        name[255] = 0;
        for (size_t i = 4; i < 255; i += 2)
                name[i] = '-';
        memcpy(name, "app-", 4);
        snprintf(path, sizeof path, "/user.slice/%s", name);

        t0 = now_usec();
        for (unsigned k = 0; k < 1000; k++)
                for (size_t i = 0; i < ELEMENTSOF(patterns); i++)
                        ck_assert_msg(!policy_pattern_match(patterns[i], path), "%s matched", patterns[i]);
        ck_assert_msg(now_usec() - t0 < USEC_PER_SEC, "1000 rounds of hostile matches took %" PRIu64 "us",
                      now_usec() - t0);

        /* ... and the same shapes still match when they should. */
        memset(tail, 'a', 200);
        tail[200] = 'X';
        tail[201] = 0;
        snprintf(path, sizeof path, "/%s", tail);
        ck_assert(policy_pattern_match(patterns[0], path));
        ck_assert(policy_pattern_match(patterns[1], path));
        ck_assert(policy_pattern_match(patterns[3], path));
        snprintf(path, sizeof path, "/x/%s/y/%s", tail, tail);
        ck_assert(policy_pattern_match(patterns[4], path));
        ck_assert(policy_pattern_match("app-*-*-*-*-*-*-*-*.scope", "/app-1-2-3-4-5-6-7-8.scope"));
        ck_assert(!policy_pattern_match("app-*-*-*-*-*-*-*-*.scope", "/app-1-2-3-4-5-6-7.scope"));
}
END_TEST

START_TEST(test_protected) {
        ck_assert(policy_is_protected("/", NULL));
        ck_assert(policy_is_protected("/init.scope", NULL));
        ck_assert(policy_is_protected("/init.scope/x", NULL));
        ck_assert(!policy_is_protected("/init.scopex", NULL));
        ck_assert(!policy_is_protected("/system.slice/cgreapd.service", NULL));
        ck_assert(policy_is_protected("/system.slice/cgreapd.service", "/system.slice/cgreapd.service"));
        /* an ancestor of the agent: cgroup.kill there would kill the agent */
        ck_assert(policy_is_protected("/system.slice", "/system.slice/cgreapd.service"));
        ck_assert(!policy_is_protected("/system.slice/cgreapd.service2", "/system.slice/cgreapd.service"));
        ck_assert(!policy_is_protected("/system.slice/cgreapd.service/sub", "/system.slice/cgreapd.service"));
        ck_assert(!policy_is_protected("/system.slice/nginx.service", "/system.slice/cgreapd.service"));
}
END_TEST

/* ---- adj resolution ---- */

static CgroupNode tree[] = {
        NODE("/", -1, INNER),                                                   /* 0 */
        NODE("/init.scope", 0, LEAF(1, 1000)),                                  /* 1 */
        NODE("/system.slice", 0, INNER),                                        /* 2 */
        NODE("/system.slice/nginx.service", 2, LEAF(3, 100)),                   /* 3 */
        NODE("/system.slice/batch.slice", 2, INNER, .xattr_avoid = true),       /* 4 */
        NODE("/system.slice/batch.slice/job-a.service", 4, LEAF(1, 300)),       /* 5 */
        NODE("/system.slice/batch.slice/job-b.service", 4, LEAF(1, 300), .xattr_omit = true), /* 6 */
        NODE("/system.slice/omit.slice", 2, INNER, .xattr_omit = true),         /* 7 */
        NODE("/system.slice/omit.slice/x.service", 7, LEAF(1, 10)),             /* 8 */
        NODE("/system.slice/cgreapd.service", 2, LEAF(1, 10)),                  /* 9 */
        NODE("/system.slice/oomadj.service", 2, LEAF(2, 10), OOM(-300)),        /* 10 */
        NODE("/user.slice", 0, INNER),                                          /* 11 */
        NODE("/user.slice/u.service", 11, LEAF(1, 10), OOM(700)),               /* 12 */
        NODE("/user.slice/zero.service", 11, LEAF(1, 10), OOM(0)),              /* 13 */
        NODE("/user.slice/noproc.service", 11, LEAF(1, 10)),                    /* 14 */
        NODE("/user.slice/avoid-oom.service", 11, LEAF(1, 10), OOM(500), .xattr_avoid = true), /* 15 */
        NODE("/user.slice/avoid-low.service", 11, LEAF(1, 10), OOM(-950), .xattr_avoid = true), /* 16 */
        NODE("/user.slice/avoid.service", 11, LEAF(1, 10), .xattr_avoid = true), /* 17 */
};

START_TEST(test_adj_protected_and_omit) {
        PriorityRule rules[] = {
                RULE("/init.scope", 500, "/etc/cgreap/cgreap.conf", 3),
                RULE("*.service", 800, "/etc/cgreap/cgreap.conf.d/50-x.conf", 1),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(tree);
        Adj a;

        a = resolve(&c, &s, "/init.scope", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_PROTECTED);
        ck_assert_int_eq(a.value, -1000);
        ck_assert_str_eq(fmt(&a), "protected");

        a = resolve(&c, &s, "/", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_PROTECTED);

        a = resolve(&c, &s, "/system.slice/cgreapd.service", "/system.slice/cgreapd.service");
        ck_assert_int_eq(a.source, ADJ_SOURCE_PROTECTED);
        ck_assert_int_eq(a.value, -1000);
        /* without the agent there, it is an ordinary service */
        a = resolve(&c, &s, "/system.slice/cgreapd.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE);
        ck_assert_int_eq(a.value, 800);

        /* omit on the cgroup itself beats a matching rule */
        a = resolve(&c, &s, "/system.slice/batch.slice/job-b.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_XATTR_OMIT);
        ck_assert_int_eq(a.value, -1000);
        ck_assert(!a.inherited);
        ck_assert_str_eq(fmt(&a), "xattr user.oomd_omit");

        /* ... and so does omit on an ancestor */
        a = resolve(&c, &s, "/system.slice/omit.slice/x.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_XATTR_OMIT);
        ck_assert_int_eq(a.value, -1000);
        ck_assert(a.inherited);
        ck_assert_str_eq(a.from_path, "/system.slice/omit.slice");
        ck_assert_str_eq(fmt(&a), "xattr user.oomd_omit via /system.slice/omit.slice");
}
END_TEST

START_TEST(test_adj_last_rule_wins) {
        PriorityRule rules[] = {
                RULE("nginx.service", -100, "/etc/cgreap/cgreap.conf.d/50-web.conf", 2),
                RULE("/system.slice/nginx.service", 50, "/etc/cgreap/cgreap.conf.d/50-web.conf", 3),
                RULE("/system.slice/*.service", 100, "/etc/cgreap/cgreap.conf.d/60-web.conf", 7),
                RULE("oomadj.service", 10, "/etc/cgreap/cgreap.conf.d/60-web.conf", 8),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(tree);
        Adj a;

        a = resolve(&c, &s, "/system.slice/nginx.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE);
        ck_assert_int_eq(a.value, 100);
        ck_assert_ptr_eq(a.rule, &rules[2]);
        ck_assert_str_eq(a.from_path, "/system.slice/nginx.service");
        ck_assert_str_eq(fmt(&a), "rule 60-web.conf:7");

        /* a name rule after a path rule wins over it */
        a = resolve(&c, &s, "/system.slice/oomadj.service", NULL);
        ck_assert_int_eq(a.value, 10);
        ck_assert_ptr_eq(a.rule, &rules[3]);

        /* swap the last two: now the path glob is last */
        PriorityRule swapped[] = { rules[0], rules[3], rules[2] };
        c = CONFIG(swapped, 0);
        a = resolve(&c, &s, "/system.slice/oomadj.service", NULL);
        ck_assert_int_eq(a.value, 100);
        ck_assert_ptr_eq(a.rule, &swapped[2]);
}
END_TEST

START_TEST(test_adj_ancestor_rule_then_avoid) {
        PriorityRule rules[] = {
                RULE("/system.slice/batch.slice", 400, "/etc/cgreap/cgreap.conf.d/50-batch.conf", 1),
        };
        PriorityRule low[] = {
                RULE("/system.slice/batch.slice", -950, "/etc/cgreap/cgreap.conf.d/50-batch.conf", 1),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(tree);
        Adj a;

        /* the slice's rule reaches its service, then the slice's avoid
         * lowers it */
        a = resolve(&c, &s, "/system.slice/batch.slice/job-a.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_XATTR_AVOID);
        ck_assert_int_eq(a.value, -900);

        c = CONFIG(low, 0);
        a = resolve(&c, &s, "/system.slice/batch.slice/job-a.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE_PARENT);
        ck_assert_int_eq(a.value, -950);
        ck_assert_str_eq(fmt(&a), "rule 50-batch.conf:1 via /system.slice/batch.slice");
}
END_TEST

START_TEST(test_adj_ancestor_rule_nearest) {
        PriorityRule rules[] = {
                RULE("/system.slice/omit.slice", 400, "/etc/cgreap/cgreap.conf.d/50-batch.conf", 1),
                RULE("/user.slice", 300, "/etc/cgreap/cgreap.conf.d/50-batch.conf", 2),
                RULE("/system.slice", -500, "/etc/cgreap/cgreap.conf", 12),
                RULE("nginx.service", 20, "/etc/cgreap/cgreap.conf", 13),
                RULE("/system.slice", -400, "/etc/cgreap/cgreap.conf", 14),
                RULE("/", 999, "/etc/cgreap/cgreap.conf", 15),
        };
        static CgroupNode nodes[] = {
                NODE("/", -1, INNER),
                NODE("/system.slice", 0, INNER),
                NODE("/system.slice/sub.slice", 1, INNER),
                NODE("/system.slice/sub.slice/a.service", 2, LEAF(1, 1), OOM(-50)),
                NODE("/system.slice/nginx.service", 1, LEAF(1, 1), OOM(-50)),
                NODE("/user.slice", 0, INNER),
                NODE("/user.slice/a.scope", 5, LEAF(1, 1)),
                NODE("/other.slice", 0, INNER),
                NODE("/other.slice/b.scope", 7, LEAF(1, 1)),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(nodes);
        Adj a;

        /* grandparent /system.slice, last matching rule for it (line 14);
         * the processes' oom_score_adj does not speak once a rule does */
        a = resolve(&c, &s, "/system.slice/sub.slice/a.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE_PARENT);
        ck_assert_int_eq(a.value, -400);
        ck_assert_ptr_eq(a.rule, &rules[4]);
        ck_assert_str_eq(a.from_path, "/system.slice");
        ck_assert(a.inherited);
        ck_assert_str_eq(fmt(&a), "rule cgreap.conf:14 via /system.slice");

        /* its own rule beats the parent's later one */
        a = resolve(&c, &s, "/system.slice/nginx.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE);
        ck_assert_int_eq(a.value, 20);
        ck_assert_str_eq(fmt(&a), "rule cgreap.conf:13");

        a = resolve(&c, &s, "/user.slice/a.scope", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE_PARENT);
        ck_assert_int_eq(a.value, 300);
        ck_assert_str_eq(fmt(&a), "rule 50-batch.conf:2 via /user.slice");

        /* a rule on the root reaches everything no nearer rule covers */
        a = resolve(&c, &s, "/other.slice/b.scope", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE_PARENT);
        ck_assert_int_eq(a.value, 999);
        ck_assert_str_eq(a.from_path, "/");
}
END_TEST

START_TEST(test_adj_avoid) {
        PriorityRule rules[] = {
                RULE("job-a.service", 300, "/etc/cgreap/cgreap.conf", 1),
        };
        PriorityRule low[] = {
                RULE("job-a.service", -950, "/etc/cgreap/cgreap.conf", 1),
        };
        PriorityRule exact[] = {
                RULE("job-a.service", -900, "/etc/cgreap/cgreap.conf", 1),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(tree);
        Adj a;

        /* avoid on the parent slice lowers a higher rule to -900 */
        a = resolve(&c, &s, "/system.slice/batch.slice/job-a.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_XATTR_AVOID);
        ck_assert_int_eq(a.value, -900);
        ck_assert(a.inherited);
        ck_assert_str_eq(fmt(&a), "xattr user.oomd_avoid via /system.slice/batch.slice");

        /* ... but never raises a lower one */
        c = CONFIG(low, 0);
        a = resolve(&c, &s, "/system.slice/batch.slice/job-a.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE);
        ck_assert_int_eq(a.value, -950);

        c = CONFIG(exact, 0);
        a = resolve(&c, &s, "/system.slice/batch.slice/job-a.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE);
        ck_assert_int_eq(a.value, -900);

        /* no rule: avoid beats a higher oom_score_adj, a lower one beats avoid */
        c = CONFIG(rules, 0);
        a = resolve(&c, &s, "/user.slice/avoid-oom.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_XATTR_AVOID);
        ck_assert_int_eq(a.value, -900);
        ck_assert(!a.inherited);
        ck_assert_str_eq(fmt(&a), "xattr user.oomd_avoid");

        a = resolve(&c, &s, "/user.slice/avoid-low.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_OOM_SCORE_ADJ);
        ck_assert_int_eq(a.value, -950);

        /* and it beats a higher DefaultAdj */
        c = CONFIG(rules, 500);
        a = resolve(&c, &s, "/user.slice/avoid.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_XATTR_AVOID);
        ck_assert_int_eq(a.value, -900);
}
END_TEST

START_TEST(test_adj_oom_score_adj_and_default) {
        PriorityRule rules[] = {
                RULE("nothing-matches-this", 1, "/etc/cgreap/cgreap.conf", 1),
        };
        Config c = CONFIG(rules, 123);
        Snapshot s = SNAPSHOT(tree);
        Adj a;

        a = resolve(&c, &s, "/user.slice/u.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_OOM_SCORE_ADJ);
        ck_assert_int_eq(a.value, 700);
        ck_assert_str_eq(fmt(&a), "oom_score_adj");

        a = resolve(&c, &s, "/system.slice/oomadj.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_OOM_SCORE_ADJ);
        ck_assert_int_eq(a.value, -300);

        /* 0 is the kernel's default: nobody chose it, DefaultAdj applies */
        a = resolve(&c, &s, "/user.slice/zero.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_DEFAULT);
        ck_assert_int_eq(a.value, 123);
        ck_assert_ptr_null(a.from_path);
        ck_assert_str_eq(fmt(&a), "default");

        /* no readable process */
        a = resolve(&c, &s, "/user.slice/noproc.service", NULL);
        ck_assert_int_eq(a.source, ADJ_SOURCE_DEFAULT);
        ck_assert_int_eq(a.value, 123);
}
END_TEST

START_TEST(test_adj_source_strings) {
        PriorityRule r = RULE("x", 1, "/etc/cgreap/cgreap.conf.d/50-desktop.conf", 7);
        PriorityRule nofile = RULE("x.service", 1, NULL, 0);
        char small[8];
        Adj a;

        a = (Adj) { .source = ADJ_SOURCE_RULE, .rule = &r, .from_path = "/a" };
        ck_assert_str_eq(fmt(&a), "rule 50-desktop.conf:7");
        a = (Adj) { .source = ADJ_SOURCE_RULE_PARENT, .rule = &r, .from_path = "/system.slice", .inherited = true };
        ck_assert_str_eq(fmt(&a), "rule 50-desktop.conf:7 via /system.slice");
        a = (Adj) { .source = ADJ_SOURCE_RULE, .rule = &nofile };
        ck_assert_str_eq(fmt(&a), "rule x.service");
        a = (Adj) { .source = ADJ_SOURCE_XATTR_OMIT, .from_path = "/a" };
        ck_assert_str_eq(fmt(&a), "xattr user.oomd_omit");
        a = (Adj) { .source = ADJ_SOURCE_XATTR_AVOID, .from_path = "/a" };
        ck_assert_str_eq(fmt(&a), "xattr user.oomd_avoid");
        a = (Adj) { .source = ADJ_SOURCE_OOM_SCORE_ADJ };
        ck_assert_str_eq(fmt(&a), "oom_score_adj");
        a = (Adj) { .source = ADJ_SOURCE_DEFAULT };
        ck_assert_str_eq(fmt(&a), "default");
        a = (Adj) { .source = ADJ_SOURCE_PROTECTED };
        ck_assert_str_eq(fmt(&a), "protected");

        /* truncation stays NUL-terminated */
        a = (Adj) { .source = ADJ_SOURCE_RULE_PARENT, .rule = &r, .from_path = "/system.slice", .inherited = true };
        ck_assert_str_eq(adj_source_format(&a, small, sizeof small), "rule 50");

        ck_assert_str_eq(adj_source_to_string(ADJ_SOURCE_PROTECTED), "protected");
        ck_assert_str_eq(adj_source_to_string(ADJ_SOURCE_XATTR_OMIT), "xattr-omit");
        ck_assert_str_eq(adj_source_to_string(ADJ_SOURCE_RULE), "rule");
        ck_assert_str_eq(adj_source_to_string(ADJ_SOURCE_RULE_PARENT), "rule-parent");
        ck_assert_str_eq(adj_source_to_string(ADJ_SOURCE_XATTR_AVOID), "xattr-avoid");
        ck_assert_str_eq(adj_source_to_string(ADJ_SOURCE_OOM_SCORE_ADJ), "oom-score-adj");
        ck_assert_str_eq(adj_source_to_string(ADJ_SOURCE_DEFAULT), "default");
        ck_assert_ptr_null(adj_source_to_string((AdjSource) 99));

        ck_assert_str_eq(skip_reason_to_string(SKIP_NONE), "none");
        ck_assert_str_eq(skip_reason_to_string(SKIP_PROTECTED), "protected");
        ck_assert_str_eq(skip_reason_to_string(SKIP_NEVER_KILL), "never-kill");
        ck_assert_str_eq(skip_reason_to_string(SKIP_BELOW_FLOOR), "below-floor");
        ck_assert_str_eq(skip_reason_to_string(SKIP_BEING_KILLED), "being-killed");
        ck_assert_str_eq(skip_reason_to_string(SKIP_NOT_POPULATED), "not-populated");
        ck_assert_ptr_null(skip_reason_to_string((SkipReason) 99));
}
END_TEST

/* ---- ranking ---- */

/* Paths of a ranking, joined with ' ', for one readable assertion. */
static const char *ranked(const Snapshot *s, const Candidate *c, size_t n) {
        static char buf[4096];
        size_t l = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n; i++)
                l += snprintf(buf + l, sizeof buf - l, "%s%s", i ? " " : "", s->nodes[c[i].node].path);
        return buf;
}

static const Candidate *find_cand(const Snapshot *s, const Candidate *c, size_t n, const char *path) {
        for (size_t i = 0; i < n; i++)
                if (streq(s->nodes[c[i].node].path, path))
                        return &c[i];
        ck_abort_msg("%s is not a candidate", path);
        return NULL;
}

/* policy_rank() remembers each node's own rule while it resolves the whole
 * tree; what it finds must be what policy_resolve_adj() finds alone, for
 * rules on the node, on a parent, on a grandparent, and none. */
START_TEST(test_rank_same_adj_as_resolve) {
        static CgroupNode nodes[] = {
                NODE("/", -1, INNER),
                NODE("/a.slice", 0, INNER),
                NODE("/a.slice/b.slice", 1, INNER),
                NODE("/a.slice/b.slice/x.service", 2, LEAF(1, 10)),
                NODE("/a.slice/b.slice/y.service", 2, LEAF(1, 20)),
                NODE("/a.slice/c.slice", 1, INNER),
                NODE("/a.slice/c.slice/z.service", 5, LEAF(1, 30)),
                NODE("/a.slice/c.slice/own.service", 5, LEAF(1, 40)),
                NODE("/d.slice", 0, INNER),
                NODE("/d.slice/w.service", 8, LEAF(1, 50), OOM(300)),
        };
        PriorityRule rules[] = {
                RULE("/a.slice", 100, "/etc/cgreap/cgreap.conf", 1),
                RULE("/a.slice/b.slice", 400, "/etc/cgreap/cgreap.conf", 2),
                RULE("own.service", 700, "/etc/cgreap/cgreap.conf", 3),
        };
        static const struct { const char *path; int adj; AdjSource source; } want[] = {
                { "/a.slice/b.slice/x.service",   400, ADJ_SOURCE_RULE_PARENT },
                { "/a.slice/b.slice/y.service",   400, ADJ_SOURCE_RULE_PARENT },
                { "/a.slice/c.slice/z.service",   100, ADJ_SOURCE_RULE_PARENT },
                { "/a.slice/c.slice/own.service", 700, ADJ_SOURCE_RULE },
                { "/d.slice/w.service",           300, ADJ_SOURCE_OOM_SCORE_ADJ },
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(nodes);
        _cleanup_free_ Candidate *cands = NULL;
        size_t n = 0;

        ck_assert_int_eq(policy_rank(&c, &s, "/", NULL, 0, NULL, &cands, &n), 0);
        ck_assert_uint_eq(n, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                Adj alone = resolve(&c, &s, want[i].path, NULL);
                const Candidate *cand = NULL;

                for (size_t j = 0; j < n; j++)
                        if (streq(s.nodes[cands[j].node].path, want[i].path))
                                cand = &cands[j];
                ck_assert_msg(cand, "%s not ranked", want[i].path);
                ck_assert_int_eq(alone.value, want[i].adj);
                ck_assert_int_eq(alone.source, want[i].source);
                ck_assert_int_eq(cand->adj.value, alone.value);
                ck_assert_int_eq(cand->adj.source, alone.source);
                ck_assert_ptr_eq(cand->adj.rule, alone.rule);
                ck_assert_str_eq(cand->adj.from_path ? cand->adj.from_path : "-",
                                 alone.from_path ? alone.from_path : "-");
        }
}
END_TEST

/* Trust follows ownership: below user@1000.service (owned by uid 1000), a
 * name the user chose does not match name rules, and nothing the user
 * controls goes below the delegated root's adj; the administrator's
 * absolute rule for init.scope still counts. The user's big "ssh.service"
 * is the victim. */
#define OWNER(u) .owner = (u)
START_TEST(test_delegated_names_not_trusted) {
        static CgroupNode nodes[] = {
                NODE("/", -1, INNER),
                NODE("/system.slice", 0, INNER),
                NODE("/system.slice/ssh.service", 1, LEAF(1, 10 << 20)),
                NODE("/system.slice/nginx.service", 1, LEAF(1, 500 << 20)),
                NODE("/user.slice", 0, INNER),
                NODE("/user.slice/user-1000.slice", 4, INNER),
                NODE("/user.slice/user-1000.slice/user@1000.service", 5, INNER, OWNER(1000)),
                NODE("/user.slice/user-1000.slice/user@1000.service/init.scope", 6, LEAF(1, 5 << 20), OWNER(1000)),
                NODE("/user.slice/user-1000.slice/user@1000.service/app.slice", 6, INNER, OWNER(1000)),
                NODE("/user.slice/user-1000.slice/user@1000.service/app.slice/ssh.service", 8,
                     LEAF(1, 4000 << 20), OWNER(1000)),
                NODE("/user.slice/user-1000.slice/user@1000.service/app.slice/low.scope", 8,
                     LEAF(1, 1 << 20), OOM(-800), OWNER(1000)),
                NODE("/user.slice/user-1000.slice/user@1000.service/app.slice/high.scope", 8,
                     LEAF(1, 1 << 20), OWNER(1000)),
        };
        PriorityRule rules[] = {
                RULE("ssh.service", -900, "/etc/cgreap/cgreap.conf", 71),
                RULE("/user.slice/user-*.slice/user@*.service/init.scope", -900, "/etc/cgreap/cgreap.conf", 79),
                RULE("app.slice/*.scope", -950, "/etc/cgreap/cgreap.conf", 80),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(nodes);
        _cleanup_free_ Candidate *cands = NULL;
        size_t n = 0;
        Adj a;

        a = resolve(&c, &s, "/system.slice/ssh.service", NULL);
        ck_assert_int_eq(a.value, -900);
        ck_assert_ptr_null(a.delegated_at);

        a = resolve(&c, &s, "/user.slice/user-1000.slice/user@1000.service/app.slice/ssh.service", NULL);
        ck_assert_int_eq(a.value, 0);
        ck_assert_int_eq(a.source, ADJ_SOURCE_DEFAULT);
        ck_assert_ptr_eq(a.untrusted_rule, &rules[0]);
        ck_assert_str_eq(a.delegated_at, "/user.slice/user-1000.slice/user@1000.service");

        a = resolve(&c, &s, "/user.slice/user-1000.slice/user@1000.service/init.scope", NULL);
        ck_assert_int_eq(a.value, -900);
        ck_assert_int_eq(a.source, ADJ_SOURCE_RULE);
        ck_assert(!a.raised);

        /* A relative rule with components is names too. */
        a = resolve(&c, &s, "/user.slice/user-1000.slice/user@1000.service/app.slice/high.scope", NULL);
        ck_assert_int_eq(a.value, 0);
        ck_assert_ptr_eq(a.untrusted_rule, &rules[2]);

        /* oom_score_adj below the delegated root's adj is raised to it. */
        a = resolve(&c, &s, "/user.slice/user-1000.slice/user@1000.service/app.slice/low.scope", NULL);
        ck_assert_int_eq(a.value, 0);
        ck_assert(a.raised);

        ck_assert_int_eq(policy_rank(&c, &s, "/", NULL, 0, NULL, &cands, &n), 0);
        ck_assert_int_eq(policy_pick_victim(cands, n), 0);
        ck_assert_str_eq(s.nodes[cands[0].node].path,
                         "/user.slice/user-1000.slice/user@1000.service/app.slice/ssh.service");
        ck_assert_int_eq(cands[0].adj.value, 0);
}
END_TEST

START_TEST(test_rank_order_and_ties) {
        static CgroupNode nodes[] = {
                NODE("/", -1, INNER),
                NODE("/b.service", 0, LEAF(1, 300)),
                NODE("/a.service", 0, LEAF(1, 300)),
                NODE("/small.service", 0, LEAF(1, 100)),
                NODE("/top.service", 0, LEAF(1, 10)),
                NODE("/memcg.service", 0, LEAF(1, 1), .has_memory = true, .memory_current = 250, .swap_current = 100),
        };
        PriorityRule rules[] = {
                RULE("*.service", 500, "/etc/cgreap/cgreap.conf", 1),
                RULE("top.service", 800, "/etc/cgreap/cgreap.conf", 2),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(nodes);
        _cleanup_free_ Candidate *cands = NULL;
        size_t n = SIZE_MAX;

        ck_assert_int_eq(policy_rank(&c, &s, "/", NULL, 0, NULL, &cands, &n), 0);
        /* the root holds no processes: not a candidate at all */
        ck_assert_uint_eq(n, 5);
        /* adj first; same adj: footprint (memory.current + swap = 350 beats
         * RSS 300); same footprint: path */
        ck_assert_str_eq(ranked(&s, cands, n), "/top.service /memcg.service /a.service /b.service /small.service");
        ck_assert_uint_eq(cands[1].footprint, 350);
        ck_assert_uint_eq(cands[2].footprint, 300);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(cands[i].skip, SKIP_NONE);
        ck_assert_int_eq(policy_pick_victim(cands, n), 0);

        /* the comparator itself */
        ck_assert_int_lt(candidate_compare(&cands[0], &cands[1], &s), 0);
        ck_assert_int_gt(candidate_compare(&cands[3], &cands[2], &s), 0);
        ck_assert_int_eq(candidate_compare(&cands[2], &cands[2], &s), 0);
}
END_TEST

START_TEST(test_rank_skips) {
        static CgroupNode nodes[] = {
                NODE("/", -1, INNER, .n_procs = 5),                     /* a hand-made tree: procs at the root */
                NODE("/init.scope", 0, LEAF(1, 5000)),
                NODE("/high.service", 0, LEAF(1, 10)),
                NODE("/busy.slice", 0, INNER),
                NODE("/busy.slice/x.service", 3, LEAF(1, 10)),
                NODE("/never.service", 0, LEAF(1, 10), OOM(-1000)),
                NODE("/agent.service", 0, LEAF(1, 10)),
                NODE("/low.service", 0, LEAF(1, 10)),
                NODE("/mid.service", 0, LEAF(1, 10)),
                NODE("/gone.service", 0, .n_procs = 1, .populated = false),
        };
        PriorityRule rules[] = {
                RULE("*", 100, "/etc/cgreap/cgreap.conf", 1),
                RULE("high.service", 900, "/etc/cgreap/cgreap.conf", 2),
                RULE("x.service", 950, "/etc/cgreap/cgreap.conf", 3),
                RULE("low.service", -100, "/etc/cgreap/cgreap.conf", 4),
                RULE("never.service", -1000, "/etc/cgreap/cgreap.conf", 5),
                RULE("mid.service", 200, "/etc/cgreap/cgreap.conf", 6),
                RULE("agent.service", 1000, "/etc/cgreap/cgreap.conf", 7),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(nodes);
        _cleanup_free_ Candidate *cands = NULL;
        char *busy[] = { (char *) "/busy.slice", NULL };
        size_t n;

        ck_assert_int_eq(policy_rank(&c, &s, "/", "/agent.service", 200, busy, &cands, &n), 0);
        ck_assert_uint_eq(n, 9);
        ck_assert_int_eq(find_cand(&s, cands, n, "/")->skip, SKIP_PROTECTED);
        ck_assert_int_eq(find_cand(&s, cands, n, "/init.scope")->skip, SKIP_PROTECTED);
        ck_assert_int_eq(find_cand(&s, cands, n, "/agent.service")->skip, SKIP_PROTECTED);
        ck_assert_int_eq(find_cand(&s, cands, n, "/agent.service")->adj.value, -1000);
        ck_assert_int_eq(find_cand(&s, cands, n, "/busy.slice/x.service")->skip, SKIP_BEING_KILLED);
        ck_assert_int_eq(find_cand(&s, cands, n, "/never.service")->skip, SKIP_NEVER_KILL);
        ck_assert_int_eq(find_cand(&s, cands, n, "/low.service")->skip, SKIP_BELOW_FLOOR);
        ck_assert_int_eq(find_cand(&s, cands, n, "/gone.service")->skip, SKIP_NOT_POPULATED);
        ck_assert_int_eq(find_cand(&s, cands, n, "/mid.service")->skip, SKIP_NONE);     /* 200 >= 200 */
        ck_assert_int_eq(find_cand(&s, cands, n, "/high.service")->skip, SKIP_NONE);

        /* skipped ones keep their rank; the victim is the first eligible */
        ck_assert_str_eq(ranked(&s, cands, n),
                         "/busy.slice/x.service /high.service /mid.service /gone.service /low.service "
                         "/init.scope /agent.service /never.service /");
}
END_TEST

START_TEST(test_rank_within) {
        static CgroupNode nodes[] = {
                NODE("/", -1, INNER, .n_procs = 2, .rss_sum = 1000),
                NODE("/a.slice", 0, INNER, .n_procs = 1, .rss_sum = 10),        /* within, with its own procs */
                NODE("/a.slice/x.service", 1, LEAF(1, 10)),
                NODE("/a.slice/y.slice", 1, INNER),
                NODE("/a.slice/y.slice/z.service", 3, LEAF(1, 20)),
                NODE("/a.slicex", 0, LEAF(1, 10)),
                NODE("/b.slice", 0, INNER),
                NODE("/b.slice/w.service", 6, LEAF(1, 10)),
        };
        PriorityRule rules[] = {
                RULE("*", 100, "/etc/cgreap/cgreap.conf", 1),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(nodes);
        _cleanup_free_ Candidate *cands = NULL;
        size_t n;

        ck_assert_int_eq(policy_rank(&c, &s, "/a.slice", NULL, 0, NULL, &cands, &n), 0);
        /* not the root (an ancestor of within), not siblings, not a prefix
         * look-alike; within itself holds processes and counts */
        ck_assert_str_eq(ranked(&s, cands, n), "/a.slice/y.slice/z.service /a.slice /a.slice/x.service");
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(cands[i].skip, SKIP_NONE);
}
END_TEST

START_TEST(test_rank_subtree_with_protected) {
        static CgroupNode nodes[] = {
                NODE("/", -1, INNER),
                NODE("/a.slice", 0, INNER, .n_procs = 1, .rss_sum = 10000),
                NODE("/a.slice/keep.service", 1, LEAF(1, 10), .xattr_omit = true),
                NODE("/b.slice", 0, INNER, .n_procs = 1, .rss_sum = 10),
                NODE("/b.slice/agent.service", 3, LEAF(1, 10)),
                NODE("/c.slice", 0, INNER, .n_procs = 1, .rss_sum = 10),
                NODE("/c.slice/ok.service", 5, LEAF(1, 10)),
        };
        PriorityRule rules[] = {
                RULE("*.slice", 900, "/etc/cgreap/cgreap.conf", 1),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(nodes);
        _cleanup_free_ Candidate *cands = NULL;
        size_t n;

        ck_assert_int_eq(policy_rank(&c, &s, "/", "/b.slice/agent.service", 0, NULL, &cands, &n), 0);
        ck_assert_uint_eq(n, 6);
        /* killing /a.slice would take the omitted service with it */
        ck_assert_int_eq(find_cand(&s, cands, n, "/a.slice")->skip, SKIP_NEVER_KILL);
        ck_assert_int_eq(find_cand(&s, cands, n, "/a.slice")->adj.value, 900);
        /* /b.slice is the agent's ancestor */
        ck_assert_int_eq(find_cand(&s, cands, n, "/b.slice")->skip, SKIP_PROTECTED);
        ck_assert_int_eq(find_cand(&s, cands, n, "/c.slice")->skip, SKIP_NONE);
        ck_assert_str_eq(s.nodes[cands[policy_pick_victim(cands, n)].node].path, "/c.slice");
}
END_TEST

START_TEST(test_rank_vanished_and_empty) {
        static CgroupNode nodes[] = {
                NODE("/", -1, INNER),
                NODE("/gone.service", 0, .n_procs = 0, .populated = false),
                NODE("/empty.slice", 0, .has_children = true, .populated = false),
                NODE("/unread.service", 0, .n_procs = 0, .populated = true),    /* procs vanished mid-read */
                NODE("/inner.slice", 0, INNER),                                 /* populated, but only below */
                NODE("/inner.slice/x.service", 4, LEAF(1, 10)),
        };
        PriorityRule rules[] = {
                RULE("*", 100, "/etc/cgreap/cgreap.conf", 1),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(nodes);
        Snapshot empty = {};
        _cleanup_free_ Candidate *cands = NULL;
        Candidate *none = (Candidate *) 1;
        size_t n;

        ck_assert_int_eq(policy_rank(&c, &s, "/", NULL, 0, NULL, &cands, &n), 0);
        ck_assert_str_eq(ranked(&s, cands, n), "/inner.slice/x.service /unread.service");

        ck_assert_int_eq(policy_rank(&c, &empty, "/", NULL, 0, NULL, &none, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(none);
        ck_assert_int_eq(policy_pick_victim(none, 0), -1);
}
END_TEST

START_TEST(test_rank_nothing_eligible) {
        PriorityRule rules[] = {
                RULE("*", 100, "/etc/cgreap/cgreap.conf", 1),
        };
        Config c = CONFIG(rules, 0);
        Snapshot s = SNAPSHOT(tree);
        _cleanup_free_ Candidate *cands = NULL;
        size_t n;

        ck_assert_int_eq(policy_rank(&c, &s, "/user.slice", NULL, 101, NULL, &cands, &n), 0);
        ck_assert_uint_eq(n, 6);
        ck_assert_int_eq(policy_pick_victim(cands, n), -1);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(cands[i].skip, SKIP_BELOW_FLOOR);
}
END_TEST

static Suite *policy_suite(void) {
        Suite *s = suite_create("policy");
        TCase *tc;

        tc = tcase_create("patterns");
        tcase_add_test(tc, test_pattern_match);
        tcase_add_test(tc, test_pattern_match_no_blowup);
        tcase_add_test(tc, test_protected);
        suite_add_tcase(s, tc);

        tc = tcase_create("adj");
        tcase_add_test(tc, test_adj_protected_and_omit);
        tcase_add_test(tc, test_adj_last_rule_wins);
        tcase_add_test(tc, test_adj_ancestor_rule_then_avoid);
        tcase_add_test(tc, test_adj_ancestor_rule_nearest);
        tcase_add_test(tc, test_adj_avoid);
        tcase_add_test(tc, test_adj_oom_score_adj_and_default);
        tcase_add_test(tc, test_adj_source_strings);
        suite_add_tcase(s, tc);

        tc = tcase_create("rank");
        tcase_add_test(tc, test_rank_order_and_ties);
        tcase_add_test(tc, test_rank_skips);
        tcase_add_test(tc, test_rank_within);
        tcase_add_test(tc, test_rank_subtree_with_protected);
        tcase_add_test(tc, test_rank_vanished_and_empty);
        tcase_add_test(tc, test_rank_nothing_eligible);
        tcase_add_test(tc, test_rank_same_adj_as_resolve);
        tcase_add_test(tc, test_delegated_names_not_trusted);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(policy_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
