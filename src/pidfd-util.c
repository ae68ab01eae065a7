/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidfd-util: the pidfd syscalls, called directly. glibc only grew wrappers
 * for some of them (and not on every build: <sys/pidfd.h> is optional), so
 * going through syscall(2) keeps one code path on every libc. Nothing here
 * keeps state or logs. */

#include <sys/syscall.h>

#include "macro.h"
#include "pidfd-util.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif

int pidfd_open_checked(pid_t pid) {
        long fd;

        if (pid <= 0)
                return -EINVAL;

        /* pidfds are always close-on-exec: the kernel sets O_CLOEXEC itself
         * and rejects any flag but PIDFD_NONBLOCK. */
        fd = syscall(__NR_pidfd_open, pid, 0);
        if (fd < 0)
                return negative_errno();
        return (int) fd;
}

int pidfd_kill(int pidfd, int sig) {
        if (pidfd < 0)
                return -EBADF;

        if (syscall(__NR_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return negative_errno();
        return 0;
}

int process_mrelease_checked(int pidfd) {
        if (pidfd < 0)
                return -EBADF;

        if (syscall(__NR_process_mrelease, pidfd, 0) < 0)
                return negative_errno();
        return 0;
}
