/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify: the decisions of cgreap-notify. See notify.h. */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cgroupfs.h"
#include "macro.h"
#include "notify.h"

bool notify_is_users_kill(const char *cgroup, uid_t uid) {
        char top[96];

        /* Where systemd runs every user's manager (user-UID.slice). */
        (void) snprintf(top, sizeof top, "/user.slice/user-%lu.slice/user@%lu.service", (unsigned long) uid,
                        (unsigned long) uid);
        return cg_path_is_below(cgroup, top);
}

static bool is_random_suffix(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isxdigit((unsigned char) *s))
                        return false;
        return true;
}

char *notify_app_name(const char *unit, const char *cgroup, char *buf, size_t len) {
        char raw[256], name[256], *p, *cut, *dot;
        size_t j = 0;

        if (!unit || !*unit)
                unit = cg_path_basename(cgroup);
        (void) snprintf(raw, sizeof raw, "%s", unit);

        /* On the escaped name: a '-' in an application's own name is "\x2d". */
        p = raw;
        if ((dot = strrchr(p, '.')) && (streq(dot, ".scope") || streq(dot, ".service")))
                *dot = '\0';
        if ((cut = strchr(p, '@')))
                *cut = '\0';                           /* app-firefox@1a2b */
        if (strncmp(p, "app-", 4) == 0 && p[4]) {
                p += 4;
                if ((cut = strrchr(p, '-')) && is_random_suffix(cut + 1))
                        *cut = '\0';                   /* app-firefox-4242 */
                if ((cut = strrchr(p, '-')) && cut[1])
                        p = cut + 1;                    /* a launcher's prefix: app-gnome-firefox */
        }

        for (const char *s = p; *s && j + 1 < sizeof name; s++) {
                unsigned v;

                if (s[0] == '\\' && s[1] == 'x' && isxdigit((unsigned char) s[2]) &&
                    isxdigit((unsigned char) s[3]) && sscanf(s + 2, "%2x", &v) == 1) {
                        name[j++] = (char) v;
                        s += 3;
                } else
                        name[j++] = *s;
        }
        name[j] = '\0';

        p = name;
        if (strncmp(unit, "app-", 4) == 0 && (dot = strrchr(p, '.')) && dot[1])
                p = dot + 1;                            /* org.mozilla.firefox */

        (void) snprintf(buf, len, "%s", p);
        if (len > 0)
                buf[0] = (char) toupper((unsigned char) buf[0]);
        return buf;
}
