/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Thin wrappers for the pidfd syscalls; glibc 2.36 has pidfd_open and
 * pidfd_send_signal but not process_mrelease. All return negative errno. */

#include <signal.h>
#include <sys/types.h>

#ifndef __NR_process_mrelease
#define __NR_process_mrelease 448
#endif

int pidfd_open_checked(pid_t pid);                     /* fd or -errno, O_CLOEXEC implied */
int pidfd_kill(int pidfd, int sig);                    /* 0 or -errno */
int process_mrelease_checked(int pidfd);               /* 0 or -errno */
