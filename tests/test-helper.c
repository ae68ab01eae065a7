/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the shell tests need and the test machine may not have:
 *
 *   test-helper notify-listen SOCKET FILE
 *       Bind an AF_UNIX datagram socket at SOCKET (for NOTIFY_SOCKET=) and
 *       append every sd_notify() message to FILE, one line each (the
 *       message's own newlines become spaces), until killed.
 *
 *   test-helper enosys NR COMMAND [ARGS...]
 *       Run COMMAND with system call NR failing with ENOSYS (a seccomp
 *       filter), as on a kernel that does not have it. Exits 77 where no
 *       filter can be written for this architecture. */

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

static int notify_listen(const char *path, const char *file) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[4096];
        FILE *f;
        int fd;

        if (strlen(path) >= sizeof sa.sun_path) {
                fprintf(stderr, "socket path too long: %s\n", path);
                return 2;
        }
        strcpy(sa.sun_path, path);
        (void) unlink(path);

        f = fopen(file, "ae");
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (!f || fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                perror("notify-listen");
                return 1;
        }

        for (;;) {
                ssize_t l = recv(fd, buf, sizeof buf - 1, 0);

                if (l < 0) {
                        perror("recv");
                        return 1;
                }
                while (l > 0 && buf[l - 1] == '\n')
                        l--;
                for (ssize_t i = 0; i < l; i++)
                        if (buf[i] == '\n' || buf[i] == '\0')
                                buf[i] = ' ';
                buf[l] = 0;
                fprintf(f, "%s\n", buf);
                fflush(f);
        }
}

static int enosys(const char *nr_string, char **argv) {
#ifdef SECCOMP_ARCH
        char *end;
        long nr = strtol(nr_string, &end, 10);

        if (*end || nr < 0) {
                fprintf(stderr, "not a system call number: %s\n", nr_string);
                return 2;
        }

        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned) nr, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
                perror("seccomp");
                return 1;
        }
        execvp(argv[0], argv);
        perror(argv[0]);
        return 127;
#else
        (void) nr_string;
        (void) argv;
        fprintf(stderr, "no seccomp filter for this architecture\n");
        return 77;
#endif
}

int main(int argc, char *argv[]) {
        if (argc == 4 && strcmp(argv[1], "notify-listen") == 0)
                return notify_listen(argv[2], argv[3]);
        if (argc >= 4 && strcmp(argv[1], "enosys") == 0)
                return enosys(argv[2], argv + 3);

        fprintf(stderr, "usage: %s notify-listen SOCKET FILE\n"
                        "       %s enosys NR COMMAND [ARGS...]\n", argv[0], argv[0]);
        return 2;
}
