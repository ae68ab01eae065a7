/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* notify: what cgreap-notify decides, as pure functions: whether a kill
 * concerns a user, and the name a person knows the killed unit by. The
 * program (src/cgreap-notify.c) only listens and sends. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether cgroup lies in uid's own user manager, user@UID.service. */
bool notify_is_users_kill(const char *cgroup, uid_t uid);

/* "app-gnome-org.mozilla.firefox-4242.scope" -> "Firefox",
 * "app-firefox@1a2b.service" -> "Firefox", "batch-report.service" ->
 * "Batch-report": systemd's \xNN escapes undone, the "app-" prefix, a
 * launcher prefix, a reverse-DNS prefix and an instance or random suffix
 * dropped, the first letter capitalised. An empty unit gives the cgroup's
 * last component. Written into buf (truncated to len). */
char *notify_app_name(const char *unit, const char *cgroup, char *buf, size_t len);
