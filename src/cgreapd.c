/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgreapd: command line, start-up (mlockall), exit code. Everything else
 * lives in the manager. */

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"

static ManagerOptions arg = { .proc_root = "/proc" };

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Kill the least important cgroup when memory pressure builds up.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "  -c --config=FILE        Read FILE instead of " CONFIG_MAIN_FILE "\n"
               "                          (drop-in directories are still read)\n"
               "     --root=DIR           Prefix every configuration path with DIR\n"
               "     --cgroup-root=DIR    Use DIR as the cgroup2 mount\n"
               "  -n --dry-run            Decide and report, but never kill\n"
               "     --log-level=LEVEL    debug, info, notice, warning or err\n"
               "\n",
               program_invocation_short_name);
        config_print_paths(stdout);
        printf("\nSee the cgreapd(8) man page for details.\n");
}

static int parse_log_level(const char *s) {
        static const struct { const char *name; int level; } table[] = {
                { "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
                { "warning", LOG_WARNING }, { "err", LOG_ERR }, { "error", LOG_ERR },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(s, table[i].name))
                        return table[i].level;
        return -EINVAL;
}

/* Returns >0 to go on, 0 to exit successfully, <0 on a usage error. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_ROOT,
                ARG_CGROUP_ROOT,
                ARG_LOG_LEVEL,
        };
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h'             },
                { "version",     no_argument,       NULL, ARG_VERSION     },
                { "config",      required_argument, NULL, 'c'             },
                { "root",        required_argument, NULL, ARG_ROOT        },
                { "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
                { "dry-run",     no_argument,       NULL, 'n'             },
                { "log-level",   required_argument, NULL, ARG_LOG_LEVEL   },
                {}
        };
        int c, l;

        arg.config_root = getenv("CGREAP_CONF_ROOT");

        while ((c = getopt_long(argc, argv, "hc:n", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("cgreapd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        arg.config_file = optarg;
                        break;
                case ARG_ROOT:
                        arg.config_root = optarg;
                        break;
                case ARG_CGROUP_ROOT:
                        arg.cgroup_root = optarg;
                        break;
                case 'n':
                        arg.force_dry_run = true;
                        break;
                case ARG_LOG_LEVEL:
                        l = parse_log_level(optarg);
                        if (l < 0) {
                                log_error("Invalid --log-level= value '%s': expected debug, info, "
                                          "notice, warning or err.", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(l);
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                log_error("%s takes no arguments.", program_invocation_short_name);
                return -EINVAL;
        }
        return 1;
}

/* Everything a kill needs must already be resident when the kill comes:
 * an allocation that has to fault in new pages at that moment may be the
 * one that makes the kernel's OOM killer act first. Touch the stack a kill
 * may use and a heap that malloc keeps (no trimming, no mmap chunks for
 * snapshot-sized buffers) before mlockall() pins what is touched. Sizes: the
 * most that tests/live-daemon.sh used, with margin (DESIGN-NOTES.md, Memory). */
#define STACK_RESERVE (64 * 1024)
#define HEAP_RESERVE (128 * 1024)

static void _noinline_ prefault_stack(void) {
        volatile char stack[STACK_RESERVE];

        for (size_t i = 0; i < sizeof stack; i += 4096)
                stack[i] = 0;
}

static void reserve_memory(void) {
        void *p;

        (void) mallopt(M_TRIM_THRESHOLD, 32 * HEAP_RESERVE);
        /* One arena for both threads: glibc would otherwise give the reaper
         * thread an arena of its own (a 64 MiB mapping, locked by
         * MCL_FUTURE) on its first malloc(), which is during the first
         * kill. */
        (void) mallopt(M_ARENA_MAX, 1);
        (void) mallopt(M_MMAP_THRESHOLD, 16 * HEAP_RESERVE);
        p = malloc(HEAP_RESERVE);
        if (p) {
                memset(p, 0xff, HEAP_RESERVE);
                /* Without this GCC drops the malloc/memset/free triple. */
                __asm__ volatile("" : : "r"(p) : "memory");
        }
        free(p);
        prefault_stack();
}

#if !defined(__SANITIZE_ADDRESS__)
/* All of our own program, the kill paths too, which start-up never runs:
 * a page of them read in from disk during the first kill would wait on the
 * very shortage being answered. About 170 KiB. */
static int lock_segments(struct dl_phdr_info *info, size_t size, void *userdata) {
        long page = sysconf(_SC_PAGESIZE);

        for (size_t i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                uintptr_t start, end;

                if (ph->p_type != PT_LOAD)
                        continue;
                start = (info->dlpi_addr + ph->p_vaddr) & ~((uintptr_t) page - 1);
                end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
                (void) mlock((void *) start, end - start);
        }
        return 1;       /* the first object is the program itself */
}

/* The address range of our own program's segments. */
static int program_range(struct dl_phdr_info *info, size_t size, void *userdata) {
        uintptr_t *r = userdata;

        r[0] = UINTPTR_MAX;
        r[1] = 0;
        for (size_t i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

                if (ph->p_type != PT_LOAD)
                        continue;
                r[0] = MIN(r[0], info->dlpi_addr + ph->p_vaddr);
                r[1] = MAX(r[1], info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
        }
        return 1;
}

/* Library pages that start-up and fault-around mapped would stay locked
 * (~0.9 MiB that every process shares): unmap the read-only ones without
 * private copies; the page cache keeps them, what we use faults back in.
 * locked: after mlockall(), so unlock each range first and lock it again.
 * Our program is told by address, not path (upgraded: "... (deleted)"). */
static void release_library_pages(bool locked) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
        char line[PATH_MAX + 128];
        uintptr_t start = 0, end = 0, ranges[64][2], self[2] = { 0, 0 };
        size_t n_ranges = 0;
        bool shared_text = false;

        if (!f)
                return;
        (void) dl_iterate_phdr(program_range, self);
        while (fgets(line, sizeof line, f)) {
                char perm[5], path[PATH_MAX];
                unsigned long anon;
                uintptr_t a, b;
                int n;

                n = sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*s %*s %*s %4095s", &a, &b, perm, path);
                if (n >= 3) {
                        start = a;
                        end = b;
                        shared_text = n == 4 && path[0] == '/' && perm[1] != 'w' &&
                                      (end <= self[0] || start >= self[1]);
                } else if (shared_text && sscanf(line, "Anonymous: %lu kB", &anon) == 1 && anon == 0 &&
                           n_ranges < ELEMENTSOF(ranges)) {
                        ranges[n_ranges][0] = start;
                        ranges[n_ranges++][1] = end;
                }
        }
        /* Only now: reading the file in between would fault stdio back in. */
        for (size_t i = 0; i < n_ranges; i++) {
                void *p = (void *) ranges[i][0];
                size_t len = ranges[i][1] - ranges[i][0];

                if (locked)
                        (void) munlock(p, len);
                (void) madvise(p, len, MADV_DONTNEED);
                /* Unlocked for good is worse than resident in full. */
                if (locked && mlock2(p, len, MLOCK_ONFAULT) < 0)
                        (void) mlock(p, len);
        }
}

static bool memory_locked;

/* Once start-up (the bus, the first loop iterations) or a kill has settled:
 * what stays locked is what the idle loop uses, not what that work did. */
static void on_settled(void) {
        if (memory_locked)
                release_library_pages(true);
}
#endif

/* MCL_ONFAULT locks the pages in use, not every page mapped. What a kill
 * needs of our own memory was touched above or is our program; shared
 * library code it needs comes from the page cache, as for every process. */
static void lock_memory(void) {
#if !defined(__SANITIZE_ADDRESS__)    /* ASan's shadow memory cannot be locked */
        int flags = MCL_CURRENT | MCL_FUTURE;

        release_library_pages(false);
        /* EINVAL: a kernel before 4.4 without MCL_ONFAULT; lock everything. */
        if (mlockall(flags | MCL_ONFAULT) < 0 && (errno != EINVAL || mlockall(flags) < 0)) {
                log_warning_errno(errno, "Failed to lock our memory (mlockall), continuing: %m");
                return;
        }
        (void) dl_iterate_phdr(lock_segments, NULL);
        memory_locked = true;
#endif
}

/* The tree model holds a file descriptor per cgroup (cgtree.h); nothing of
 * ours uses select(), so the soft limit of 1024 buys nothing. */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_setup();
        reserve_memory();

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        raise_fd_limit();
#if !defined(__SANITIZE_ADDRESS__)
        arg.settled = on_settled;
#endif
        r = manager_new(&arg, &m);
        if (r < 0)
                return 1;

        /* Memory pressure is exactly when our own pages would be reclaimed
         * and paged back in slowly: keep what we use resident. */
        lock_memory();

        r = manager_run(m);
        return r < 0 ? 1 : 0;
}
