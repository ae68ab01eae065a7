/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for notify: whose kill it is, and the application's name. */

#include <check.h>

#include "notify.h"
#include "test-util.h"

START_TEST(test_users_kill) {
        ck_assert(notify_is_users_kill("/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope", 1000));
        ck_assert(notify_is_users_kill("/user.slice/user-1000.slice/user@1000.service", 1000));
        ck_assert(!notify_is_users_kill("/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope", 1001));
        ck_assert(!notify_is_users_kill("/user.slice/user-10000.slice/user@10000.service/a.scope", 1000));
        ck_assert(!notify_is_users_kill("/user.slice/user-1000.slice/session-2.scope", 1000));
        ck_assert(!notify_is_users_kill("/system.slice/user@1000.service", 1000));
        ck_assert(!notify_is_users_kill("/system.slice/batch.service", 1000));
        ck_assert(!notify_is_users_kill("/", 0));
}
END_TEST

static void expect_name(const char *unit, const char *cgroup, const char *want) {
        char buf[64];

        notify_app_name(unit, cgroup, buf, sizeof buf);
        ck_assert_msg(streq(buf, want), "'%s' gives '%s', expected '%s'", unit, buf, want);
}

START_TEST(test_app_name) {
        expect_name("app-gnome-org.mozilla.firefox-4242.scope", NULL, "Firefox");
        expect_name("app-org.mozilla.firefox-4242.scope", NULL, "Firefox");
        expect_name("app-firefox-4242.scope", NULL, "Firefox");
        expect_name("app-firefox@1a2b3c.service", NULL, "Firefox");
        expect_name("app-gnome-gnome\\x2dterminal-99.scope", NULL, "Gnome-terminal");
        expect_name("app-kde-org.kde.konsole-a1b2.scope", NULL, "Konsole");
        expect_name("batch-report.service", NULL, "Batch-report");
        expect_name("vmt-hog.service", NULL, "Vmt-hog");
        expect_name("", "/user.slice/x/leaf", "Leaf");
        expect_name(NULL, "/user.slice/x/leaf", "Leaf");
        expect_name("app-.scope", NULL, "App-");
        expect_name("app-x\\x4", NULL, "X\\x4");
}
END_TEST

START_TEST(test_app_name_truncates) {
        char buf[4];

        notify_app_name("app-firefox-1.scope", NULL, buf, sizeof buf);
        ck_assert_str_eq(buf, "Fir");
}
END_TEST

int main(void) {
        Suite *s = suite_create("notify");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_users_kill);
        tcase_add_test(tc, test_app_name);
        tcase_add_test(tc, test_app_name_truncates);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
