/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log: the one place that writes human log lines (stderr, journal-aware). */

#include <stdarg.h>
#include <sys/stat.h>

#include "log.h"
#include "parse-util.h"

static int max_level = LOG_INFO;
static bool stderr_is_journal = false;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_setup(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        /* systemd sets JOURNAL_STREAM=dev:ino for the stream it connects to
         * stderr; only trust it if stderr really is that stream. */
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return;
        if (fstat(STDERR_FILENO, &st) < 0)
                return;
        stderr_is_journal = (unsigned long long) st.st_dev == dev &&
                            (unsigned long long) st.st_ino == ino;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        int saved = errno;
        va_list ap;

        if (error < 0)
                error = -error;

        if (level <= max_level) {
                char buf[2048];

                errno = error;
                va_start(ap, format);
                (void) vsnprintf(buf, sizeof buf, format, ap);
                va_end(ap);

                /* Messages name cgroups, whose names users choose: a
                 * control character must neither reach a terminal nor
                 * start a forged line in the journal. */
                if (stderr_is_journal)
                        fprintf(stderr, "<%d>", level);
                fputs_cescaped(buf, strlen(buf), stderr);
                fputc('\n', stderr);
        }

        errno = saved;
        return -error;
}
