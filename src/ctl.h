/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* ctl: the cgreapctl commands (check-config, list, explain). The program's
 * main() is one call to ctl_main(). Returns the process exit code:
 * 0 success, 1 invalid config or failure, 2 usage error. */
int ctl_main(int argc, char *argv[]);
