/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* ctl: the cgreapctl commands (check-config, list, explain; the daemon's
 * status, kill, monitor and metrics in ctl-bus.c). The program's
 * main() is one call to ctl_main(). Returns the process exit code:
 * 0 success, 1 invalid config or failure, 2 usage error. */
int ctl_main(int argc, char *argv[]);

/* ctl-bus.c: the commands that ask the running daemon (same exit codes). */
int ctl_status(void);
int ctl_kill(const char *what, bool force);
int ctl_monitor(void);
int ctl_metrics(void);
/* What the running daemon excludes inside cgroup (ListCandidates): the
 * cgroups being killed and the victims passed over. On failure says in one
 * line on stderr that the daemon did not answer, and returns <0. */
int ctl_live_state(const char *cgroup, char ***ret_being_killed, char ***ret_passed_over);
