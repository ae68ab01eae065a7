/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* benchtool: the workload and the observer of cgreap's benchmarks, one small
 * C program so that every agent is measured by the same code.
 * Built on the host (baseline x86-64: no -march=native, the guest CPU is
 * qemu64) and shipped into the guest with the benchmark payload.
 *
 *   benchtool probe  NAME HOLD_MB OUTFILE   latency probe of the protected service
 *   benchtool grow   NAME SIZE_MB RATE_MBPS FILL [busy]   allocate, then hold
 *   benchtool spin   NAME                   burn CPU forever
 *   benchtool stream NAME FILE              read FILE through the page cache,
 *                                           over and over
 *   benchtool sample OUTFILE INTERVAL_MS SPEC...   the observer (see below)
 *   benchtool now                           CLOCK_MONOTONIC in microseconds
 *   benchtool speed                         ns of three fixed pieces of work
 *                                           (CPU loop, page faults, system
 *                                           calls): timed on the host and in
 *                                           the guest, the ratios say how much
 *                                           slower the guest is
 *
 * NAME becomes the process name (comm), which is what earlyoom's --prefer and
 * --avoid match. Nothing here is clever on purpose: it must behave the same
 * under every agent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1024UL * 1024UL)

static uint64_t now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static void sleep_us(uint64_t us) {
        struct timespec ts = { .tv_sec = us / 1000000ULL, .tv_nsec = (us % 1000000ULL) * 1000ULL };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void set_name(const char *name) {
        (void) prctl(PR_SET_NAME, name, 0, 0, 0);
}

static unsigned long parse_ul(const char *s, const char *what) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end) {
                fprintf(stderr, "benchtool: bad %s '%s'\n", what, s);
                exit(2);
        }
        return v;
}

/* ---- probe: the protected service ----
 * Sleeps 10 ms in a loop and records how late it wakes up: the worst stall
 * that a latency-sensitive service would have seen. Each round also writes
 * one page of its working set, as a service that does some work would.
 * SIGUSR1 resets the figures (start of an episode). The figures are written
 * to OUTFILE (tmpfs) whenever they change, so they survive the probe's own
 * death. */
static volatile sig_atomic_t probe_reset;

static void on_usr1(int sig) {
        (void) sig;
        probe_reset = 1;
}

static int cmd_probe(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: benchtool probe NAME HOLD_MB OUTFILE\n");
                return 2;
        }
        set_name(argv[0]);
        size_t len = parse_ul(argv[1], "size") * MIB;
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                perror("benchtool: open");
                return 1;
        }
        char *buf = mmap(NULL, len ? len : PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED) {
                perror("benchtool: mmap");
                return 1;
        }
        for (size_t o = 0; o < len; o += PAGE)
                buf[o] = (char) o | 1;
        signal(SIGUSR1, on_usr1);

        const uint64_t period = 10000;
        uint64_t max = 0, over50 = 0, n = 0, sum = 0;
        size_t page = 0;
        int dirty = 1;
        for (;;) {
                if (probe_reset) {
                        probe_reset = 0;
                        max = over50 = n = sum = 0;
                        dirty = 1;
                }
                if (dirty) {
                        char line[160];
                        int l = snprintf(line, sizeof line,
                                         "max_us %llu over50ms %llu rounds %llu mean_us %llu\n",
                                         (unsigned long long) max, (unsigned long long) over50,
                                         (unsigned long long) n, (unsigned long long) (n ? sum / n : 0));
                        (void) !ftruncate(fd, 0);
                        (void) !pwrite(fd, line, (size_t) l, 0);
                        dirty = 0;
                }
                uint64_t t = now_us();
                sleep_us(period);
                if (len) {
                        buf[page * PAGE] += 1;
                        page = (page + 1) % (len / PAGE);
                }
                uint64_t late = now_us() - t;
                late = late > period ? late - period : 0;
                n++;
                sum += late;
                if (late > 50000)
                        over50++, dirty = 1;
                if (late > max)
                        max = late, dirty = 1;
                if (n % 100 == 0)
                        dirty = 1;
        }
}

/* ---- grow: batch jobs, hogs and leaks ----
 * Maps SIZE_MB and touches it at RATE_MBPS (0: as fast as it can), then holds
 * it forever. FILL says what goes into each page: "touch" writes one byte (no
 * swap involved: only the allocation speed matters), "half" fills half of
 * each page with pseudo-random bytes so that zram compresses it about 2:1,
 * as real heap data would (a page of one repeated word costs zram nothing).
 * "busy" keeps writing its pages once grown instead of sleeping: a process
 * that is always runnable gets no sleeper's credit from the scheduler when
 * it is killed, so at a low cpu.weight it really is starved of CPU. */
static uint64_t xorshift(uint64_t *s) {
        uint64_t x = *s;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

static int cmd_grow(int argc, char **argv) {
        if (argc != 4 && !(argc == 5 && strcmp(argv[4], "busy") == 0)) {
                fprintf(stderr, "usage: benchtool grow NAME SIZE_MB RATE_MBPS touch|half [busy]\n");
                return 2;
        }
        int busy = argc == 5;
        set_name(argv[0]);
        size_t len = parse_ul(argv[1], "size") * MIB;
        unsigned long rate = parse_ul(argv[2], "rate");
        int half = strcmp(argv[3], "half") == 0;
        if (!half && strcmp(argv[3], "touch") != 0) {
                fprintf(stderr, "benchtool: FILL is touch or half\n");
                return 2;
        }
        char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (buf == MAP_FAILED) {
                perror("benchtool: mmap");
                return 1;
        }
        uint64_t seed = now_us() | 1, t0 = now_us();
        const size_t step = MIB;
        for (size_t o = 0; o < len; o += step) {
                for (size_t p = o; p < o + step && p < len; p += PAGE) {
                        if (half) {
                                uint64_t *w = (uint64_t *) (buf + p);
                                for (size_t i = 0; i < PAGE / 2 / sizeof *w; i++)
                                        w[i] = xorshift(&seed);
                        } else
                                buf[p] = 1;
                }
                if (rate) {
                        /* Where we should be by now at RATE: sleep off any lead. */
                        uint64_t due = t0 + (uint64_t) ((o + step) / MIB) * 1000000ULL / rate;
                        uint64_t t = now_us();
                        if (due > t)
                                sleep_us(due - t);
                }
        }
        while (busy)
                for (size_t p = 0; p < len; p += PAGE)
                        buf[p]++;
        for (;;)
                pause();
}

static int cmd_spin(int argc, char **argv) {
        volatile uint64_t x = 0;

        if (argc != 1) {
                fprintf(stderr, "usage: benchtool spin NAME\n");
                return 2;
        }
        set_name(argv[0]);
        for (;;)
                x++;
}

/* ---- stream: page cache streamed through ----
 * Reads FILE (a sparse file bigger than the memory it may use) from start to
 * end, over and over: its page cache is always reclaimable, and each pass
 * evicts the last one. */
static int cmd_stream(int argc, char **argv) {
        static char buf[1024 * 1024];

        if (argc != 2) {
                fprintf(stderr, "usage: benchtool stream NAME FILE\n");
                return 2;
        }
        set_name(argv[0]);
        int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "benchtool: open %s: %m\n", argv[1]);
                return 1;
        }
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0 && errno != EINTR) {
                        perror("benchtool: read");
                        return 1;
                }
                if (n == 0 && lseek(fd, 0, SEEK_SET) < 0) {
                        perror("benchtool: lseek");
                        return 1;
                }
        }
}

/* ---- speed: how fast this machine runs three fixed pieces of work ----
 * An emulated guest is not uniformly slower: plain arithmetic can run at
 * nearly the host's speed while page faults and system calls cost many times
 * more, and the benchmarks are made of those. Each piece, best of 5 runs (the
 * least disturbed by other tasks), in nanoseconds; only the ratio between
 * two machines means anything.
 *   loop     4 million rounds of xorshift64, each storing into a 4 MiB array
 *   fault    mapping 64 MiB and writing one byte per page (16384 page faults)
 *   syscall  100 000 getppid() */
static volatile uint64_t speed_sink;

static uint64_t speed_best(int what) {
        uint64_t best = UINT64_MAX, x = 88172645463325252ULL;
        static uint32_t arr[1024 * 1024];

        for (int run = 0; run < 5; run++) {
                uint64_t t = now_ns();

                if (what == 0) {
                        for (int i = 0; i < 4000000; i++) {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                                arr[x & (1024 * 1024 - 1)]++;
                        }
                } else if (what == 1) {
                        size_t len = 64 * MIB;
                        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (p == MAP_FAILED)
                                return 0;
                        for (size_t o = 0; o < len; o += PAGE)
                                p[o] = 1;
                        munmap(p, len);
                } else {
                        for (int i = 0; i < 100000; i++)
                                x += (uint64_t) getppid();
                }
                t = now_ns() - t;
                if (t < best)
                        best = t;
        }
        speed_sink = x + arr[0]; /* so that no loop is optimised away */
        return best;
}

static int cmd_speed(void) {
        printf("speed_loop_ns %llu\n", (unsigned long long) speed_best(0));
        printf("speed_fault_ns %llu\n", (unsigned long long) speed_best(1));
        printf("speed_syscall_ns %llu\n", (unsigned long long) speed_best(2));
        return 0;
}

/* ---- sample: the observer ----
 * Every INTERVAL_MS, one line: monotonic time, then for each SPEC its values.
 *   psi:LABEL:PATH   some and full stall totals (us) of a pressure file
 *   mem              MemAvailable and SwapFree (kB) from /proc/meminfo
 *   cg:LABEL:PATH    memory.current (bytes) and populated (0/1) of a cgroup
 *                    directory; -1 -1 while it does not exist (not yet, or
 *                    gone: systemd removes a dead unit's cgroup)
 * It mlock()s itself and runs SCHED_FIFO 1 so that it keeps sampling when
 * everything else stalls; the lines are kept in memory and written when it
 * gets SIGTERM, so it does no I/O during the episode. */
enum { SPEC_PSI, SPEC_MEM, SPEC_CG };
struct spec {
        int kind;
        char label[64];
        char path[512];
        int fd, fd2;
};

static volatile sig_atomic_t sample_stop;

static void on_term(int sig) {
        (void) sig;
        sample_stop = 1;
}

static ssize_t read_at0(int fd, char *buf, size_t size) {
        ssize_t n = pread(fd, buf, size - 1, 0);

        if (n < 0)
                return -1;
        buf[n] = 0;
        return n;
}

static long long field_after(const char *buf, const char *line_start, const char *key) {
        const char *l = strstr(buf, line_start);
        if (!l)
                return -1;
        const char *k = strstr(l, key);
        if (!k)
                return -1;
        return strtoll(k + strlen(key), NULL, 10);
}

static int reopen(struct spec *s) {
        char p[600];

        if (s->fd >= 0)
                return 0;
        snprintf(p, sizeof p, "%s/memory.current", s->path);
        s->fd = open(p, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0)
                return -1;
        snprintf(p, sizeof p, "%s/cgroup.events", s->path);
        s->fd2 = open(p, O_RDONLY | O_CLOEXEC);
        if (s->fd2 < 0) {
                close(s->fd);
                s->fd = -1;
                return -1;
        }
        return 0;
}

static int cmd_sample(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: benchtool sample OUTFILE INTERVAL_MS SPEC...\n");
                return 2;
        }
        const char *out = argv[0];
        uint64_t interval = parse_ul(argv[1], "interval") * 1000ULL;
        int n = argc - 2;
        struct spec *specs = calloc((size_t) n, sizeof *specs);
        if (!specs)
                return 1;
        FILE *f = fopen(out, "we");
        if (!f) {
                perror("benchtool: fopen");
                return 1;
        }
        fprintf(f, "t_us");
        for (int i = 0; i < n; i++) {
                struct spec *s = &specs[i];
                const char *a = argv[i + 2];
                s->fd = s->fd2 = -1;
                if (strcmp(a, "mem") == 0) {
                        s->kind = SPEC_MEM;
                        snprintf(s->path, sizeof s->path, "/proc/meminfo");
                        fprintf(f, "\tmemavail_kb\tswapfree_kb");
                } else if (strncmp(a, "psi:", 4) == 0 || strncmp(a, "cg:", 3) == 0) {
                        s->kind = a[0] == 'p' ? SPEC_PSI : SPEC_CG;
                        const char *rest = strchr(a, ':') + 1, *colon = strchr(rest, ':');
                        if (!colon) {
                                fprintf(stderr, "benchtool: bad spec '%s'\n", a);
                                return 2;
                        }
                        snprintf(s->label, sizeof s->label, "%.*s", (int) (colon - rest), rest);
                        snprintf(s->path, sizeof s->path, "%s", colon + 1);
                        if (s->kind == SPEC_PSI)
                                fprintf(f, "\t%s_some_us\t%s_full_us", s->label, s->label);
                        else
                                fprintf(f, "\t%s_mem\t%s_populated", s->label, s->label);
                } else {
                        fprintf(stderr, "benchtool: bad spec '%s'\n", a);
                        return 2;
                }
                if (s->kind != SPEC_CG) {
                        s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
                        if (s->fd < 0) {
                                fprintf(stderr, "benchtool: open %s: %m\n", s->path);
                                return 1;
                        }
                }
        }
        fprintf(f, "\n");

        /* 64 MiB of lines is hours of samples; touched now, so it is resident. */
        size_t cap = 64 * MIB, used = 0;
        char *lines = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (lines == MAP_FAILED)
                return 1;
        memset(lines, 0, cap);
        if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
                perror("benchtool: mlockall, continuing");
        struct sched_param sp = { .sched_priority = 1 };
        if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
                perror("benchtool: SCHED_FIFO, continuing");
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);

        uint64_t next = now_us();
        while (!sample_stop && used + 4096 < cap) {
                char buf[4096];
                char *l = lines + used;
                int w = sprintf(l, "%llu", (unsigned long long) now_us());
                for (int i = 0; i < n; i++) {
                        struct spec *s = &specs[i];
                        long long a = -1, b = -1;
                        if (s->kind == SPEC_PSI) {
                                if (read_at0(s->fd, buf, sizeof buf) > 0) {
                                        a = field_after(buf, "some", "total=");
                                        b = field_after(buf, "full", "total=");
                                }
                        } else if (s->kind == SPEC_MEM) {
                                if (read_at0(s->fd, buf, sizeof buf) > 0) {
                                        a = field_after(buf, "MemAvailable:", ":");
                                        b = field_after(buf, "SwapFree:", ":");
                                }
                        } else if (reopen(s) == 0) {
                                if (read_at0(s->fd, buf, sizeof buf) > 0)
                                        a = strtoll(buf, NULL, 10);
                                if (read_at0(s->fd2, buf, sizeof buf) > 0)
                                        b = field_after(buf, "populated", " ");
                                if (a < 0 || b < 0) {
                                        /* Removed: the cgroup is gone for good. */
                                        close(s->fd);
                                        close(s->fd2);
                                        s->fd = s->fd2 = -1;
                                        a = b = -1;
                                }
                        }
                        w += sprintf(l + w, "\t%lld\t%lld", a, b);
                }
                l[w++] = '\n';
                used += (size_t) w;
                next += interval;
                uint64_t t = now_us();
                if (next > t)
                        sleep_us(next - t);
                else
                        next = t;
        }
        fwrite(lines, 1, used, f);
        fclose(f);
        return 0;
}

int main(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "probe") == 0)
                return cmd_probe(argc - 2, argv + 2);
        if (argc >= 2 && strcmp(argv[1], "grow") == 0)
                return cmd_grow(argc - 2, argv + 2);
        if (argc >= 2 && strcmp(argv[1], "spin") == 0)
                return cmd_spin(argc - 2, argv + 2);
        if (argc >= 2 && strcmp(argv[1], "stream") == 0)
                return cmd_stream(argc - 2, argv + 2);
        if (argc >= 2 && strcmp(argv[1], "sample") == 0)
                return cmd_sample(argc - 2, argv + 2);
        if (argc == 2 && strcmp(argv[1], "now") == 0) {
                printf("%llu\n", (unsigned long long) now_us());
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "speed") == 0)
                return cmd_speed();
        fprintf(stderr, "usage: benchtool probe|grow|spin|stream|sample|now|speed ...\n");
        return 2;
}
