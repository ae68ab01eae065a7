/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* report: the journal records of DESIGN §8. Builds "FIELD=value" iovecs and
 * hands them to a sink; decides nothing and never logs. See report.h. */

#include <inttypes.h>
#include <stdarg.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "cgroupfs.h"
#include "parse-util.h"
#include "report.h"

/* journald's native socket: when it is missing nobody would store what
 * sd_journal_sendv() sends, so the record goes to stderr instead. */
#define JOURNAL_SOCKET_PATH "/run/systemd/journal/socket"

/* The largest record (kill/reclaimed) has 30 fields; leave head room. */
#define RECORD_FIELDS_MAX 40

typedef struct Record {
        struct iovec iov[RECORD_FIELDS_MAX];
        size_t n;
        int priority;
        bool failed;            /* an allocation failed or the array is full */
} Record;

static report_sink current_sink = NULL;
static void *current_sink_userdata = NULL;

static const char *const reason_table[_REASON_MAX] = {
        [REASON_LOW_MEMORY_AND_SWAP] = "low-memory-and-swap",
        [REASON_LIMIT] = "limit",
        [REASON_THRASHING] = "thrashing",
        [REASON_STALL] = "stall",
        [REASON_OOM] = "oom",
        [REASON_MANUAL] = "manual",
};

/* What each row means, for MESSAGE=. */
static const char *const reason_words[_REASON_MAX] = {
        [REASON_LOW_MEMORY_AND_SWAP] = "memory and swap ran out",
        [REASON_LIMIT] = "the memory limit ran out",
        [REASON_THRASHING] = "memory ran short and the page cache thrashed",
        [REASON_STALL] = "the system stopped responding (sustained full memory stall)",
        [REASON_OOM] = "the kernel found nothing more to reclaim (memory.events oom)",
        [REASON_MANUAL] = "requested manually",
};

const char *report_reason_to_string(ReportReason r) {
        if ((unsigned) r >= ELEMENTSOF(reason_table))
                return NULL;
        return reason_table[r];
}

void report_set_sink(report_sink sink, void *userdata) {
        current_sink = sink;
        current_sink_userdata = sink ? userdata : NULL;
}

static void record_add(Record *rec, const char *format, ...) _printf_(2, 3);
static void record_add(Record *rec, const char *format, ...) {
        va_list ap;
        char *s;
        int len;

        if (rec->failed)
                return;
        if (rec->n >= RECORD_FIELDS_MAX) {
                rec->failed = true;
                return;
        }

        va_start(ap, format);
        len = vasprintf(&s, format, ap);
        va_end(ap);
        if (len < 0) {
                rec->failed = true;
                return;
        }

        /* MESSAGE is read by people: a cgroup name in it must not reach a
         * terminal raw. The CGREAP_* fields keep the exact bytes. */
        if (strncmp(s, "MESSAGE=", strlen("MESSAGE=")) == 0) {
                char *e = cescape(s);

                free(s);
                if (!e) {
                        rec->failed = true;
                        return;
                }
                s = e;
                len = (int) strlen(e);
        }

        rec->iov[rec->n++] = (struct iovec) { .iov_base = s, .iov_len = (size_t) len };
}

static void record_done(Record *rec) {
        for (size_t i = 0; i < rec->n; i++)
                free(rec->iov[i].iov_base);
        rec->n = 0;
}

static void record_add_header(Record *rec, const char *message_id, int priority) {
        rec->priority = priority;
        record_add(rec, "MESSAGE_ID=%s", message_id);
        record_add(rec, "PRIORITY=%d", priority);
        record_add(rec, "SYSLOG_IDENTIFIER=cgreapd");
}

const char *report_iov_find(const struct iovec *iov, size_t n, const char *field, size_t *ret_len) {
        size_t l = strlen(field);

        for (size_t i = 0; i < n; i++) {
                const char *p = iov[i].iov_base;

                if (iov[i].iov_len > l && memcmp(p, field, l) == 0 && p[l] == '=') {
                        if (ret_len)
                                *ret_len = iov[i].iov_len - l - 1;
                        return p + l + 1;
                }
        }
        return NULL;
}

int report_user_manager_unit(const char *path, char **ret) {
        const char *found = NULL;
        size_t found_len = 0;

        /* The first component "user@UID.service": that is the system unit
         * running the user manager, whose own units lie below it (a user
         * unit could be named user@x.service too, so not the last one). */
        for (const char *p = path; p && *p && !found; ) {
                size_t l;

                p += strspn(p, "/");
                l = strcspn(p, "/");
                if (l > strlen("user@.service") && strncmp(p, "user@", 5) == 0 &&
                    memcmp(p + l - strlen(".service"), ".service", strlen(".service")) == 0) {
                        found = p;
                        found_len = l;
                }
                p += l;
        }
        if (!found)
                return -ENXIO;

        char *s = strndup(found, found_len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* OBJECT_SYSTEMD_UNIT= is what "journalctl -u UNIT" matches (with _UID=0,
 * which journald stamps on our records since cgreapd runs as root).
 * "journalctl --user-unit UNIT" matches OBJECT_SYSTEMD_USER_UNIT= with _UID=0
 * or the caller's uid. For a user unit both are set, the system one to the
 * user@UID.service that runs it -- the same pair journald derives for a
 * process of a user unit (_SYSTEMD_UNIT= and _SYSTEMD_USER_UNIT=).
 * Returns the unit name (malloc'd) or NULL when the path holds no unit. */
static char *record_add_object_unit(Record *rec, const char *cgroup) {
        _cleanup_free_ char *unit = NULL, *manager = NULL;
        bool user = false;
        int r;

        if (!cgroup)
                return NULL;
        r = cg_path_get_unit(cgroup, &unit, &user);
        if (r == -ENOMEM)
                rec->failed = true;
        if (r < 0)
                return NULL;

        if (user) {
                record_add(rec, "OBJECT_SYSTEMD_USER_UNIT=%s", unit);
                if (report_user_manager_unit(cgroup, &manager) >= 0)
                        record_add(rec, "OBJECT_SYSTEMD_UNIT=%s", manager);
        } else
                record_add(rec, "OBJECT_SYSTEMD_UNIT=%s", unit);

        return TAKE_PTR(unit);
}

int report_format_line(const struct iovec *iov, size_t n, char **ret) {
        _cleanup_free_ char *buf = NULL;
        const char *message;
        size_t size = 0, message_len;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        message = report_iov_find(iov, n, "MESSAGE", &message_len);
        if (message)
                fputs_cescaped(message, message_len, f);

        for (size_t i = 0; i < n; i++) {
                const char *p = iov[i].iov_base, *eq;
                size_t l = iov[i].iov_len;

                if (l < strlen("CGREAP_") || memcmp(p, "CGREAP_", strlen("CGREAP_")) != 0)
                        continue;
                eq = memchr(p, '=', l);
                if (!eq)
                        continue;

                fputc(' ', f);
                fputs_cescaped(p, (size_t) (eq - p) + 1, f);
                /* Values with spaces ("rule 50-x.conf:7") are quoted so the
                 * line stays splittable. */
                if (memchr(eq + 1, ' ', l - (size_t) (eq + 1 - p))) {
                        fputc('"', f);
                        fputs_cescaped(eq + 1, l - (size_t) (eq + 1 - p), f);
                        fputc('"', f);
                } else
                        fputs_cescaped(eq + 1, l - (size_t) (eq + 1 - p), f);
        }

        if (fclose(f) != 0)
                return -ENOMEM;

        *ret = TAKE_PTR(buf);
        return 0;
}

static int record_send(const Record *rec) {
        _cleanup_free_ char *line = NULL;
        int r;

        if (rec->failed)
                return -ENOMEM;

        if (current_sink) {
                current_sink(rec->priority, rec->iov, rec->n, current_sink_userdata);
                return 0;
        }

        /* Checked on every record, not cached: journald may come up (or go
         * away) while we run. */
        if (access(JOURNAL_SOCKET_PATH, F_OK) >= 0) {
                r = sd_journal_sendv(rec->iov, (int) rec->n);
                if (r >= 0)
                        return 0;
                /* The journal refused it: fall through so that the record
                 * is at least on stderr. */
        }

        r = report_format_line(rec->iov, rec->n, &line);
        if (r < 0)
                return r;
        fprintf(stderr, "%s\n", line);
        return 0;
}

/* Send, then free the fields whatever happened. */
static int record_finish(Record *rec) {
        int r = record_send(rec);

        record_done(rec);
        return r;
}

static const char *name_of(const char *cgroup, const char *unit) {
        if (unit)
                return unit;
        return cgroup ? cg_path_basename(cgroup) : "(unknown)";
}

/* Why the victim died, as the tail of MESSAGE. malloc'd or NULL. */
static char *kill_cause(const KillReport *k) {
        const char *on = k->monitor_cgroup ? " on " : "", *where = k->monitor_cgroup ?: "";
        char *s = NULL;
        int r;

        if (k->reason == REASON_MANUAL || !report_reason_to_string(k->reason))
                r = asprintf(&s, "requested manually");
        else
                r = asprintf(&s, "%s%s%s (%s%s%s%s%s%s)", reason_words[k->reason], on, where,
                             k->evidence ?: "", k->evidence ? "; " : "",
                             k->level ?: "", k->level ? " pressure, " : "",
                             k->trigger ? "woken by " : "", k->trigger ?: "");
        return r < 0 ? NULL : s;
}

/* A duration for a reader, not for parsing back: "850us", "41ms", "3.01s",
 * "2min 5s". Measured times carry noise that no one needs to see
 * ("3.010198s"). */
static char *format_elapsed(char *buf, size_t len, usec_t u) {
        uint64_t ms = (u + USEC_PER_MSEC / 2) / USEC_PER_MSEC;
        uint64_t cs = (u + 5 * USEC_PER_MSEC) / (10 * USEC_PER_MSEC);
        uint64_t sec = (u + USEC_PER_SEC / 2) / USEC_PER_SEC;

        if (u < USEC_PER_MSEC)
                snprintf(buf, len, "%" PRIu64 "us", u);
        else if (ms < 1000)
                snprintf(buf, len, "%" PRIu64 "ms", ms);
        else if (sec < 60) {
                if (cs % 100 == 0)
                        snprintf(buf, len, "%" PRIu64 "s", cs / 100);
                else if (cs % 10 == 0)
                        snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "s", cs / 100, cs / 10 % 10);
                else
                        snprintf(buf, len, "%" PRIu64 ".%02" PRIu64 "s", cs / 100, cs % 100);
        } else if (sec % 60 == 0)
                snprintf(buf, len, "%" PRIu64 "min", sec / 60);
        else
                snprintf(buf, len, "%" PRIu64 "min %" PRIu64 "s", sec / 60, sec % 60);
        return buf;
}

static const char *mrelease_to_string(int mrelease) {
        if (mrelease > 0)
                return "yes";
        if (mrelease == 0)
                return "no";
        return "unsupported";
}

/* The fields both kill-record kinds share. Returns the unit (malloc'd) or
 * NULL; rec->failed tells allocation failures apart. */
static char *record_add_kill_fields(Record *rec, const KillReport *k) {
        char *unit;

        unit = record_add_object_unit(rec, k->cgroup);

        record_add(rec, "CGREAP_KILL_ID=%" PRIu64, k->kill_id);
        if (k->cgroup)
                record_add(rec, "CGREAP_CGROUP=%s", k->cgroup);
        if (unit)
                record_add(rec, "CGREAP_UNIT=%s", unit);
        record_add(rec, "CGREAP_ADJ=%d", k->adj);
        if (k->adj_source)
                record_add(rec, "CGREAP_ADJ_SOURCE=%s", k->adj_source);
        if (report_reason_to_string(k->reason))
                record_add(rec, "CGREAP_REASON=%s", report_reason_to_string(k->reason));
        if (k->level)
                record_add(rec, "CGREAP_LEVEL=%s", k->level);
        if (k->evidence)
                record_add(rec, "CGREAP_EVIDENCE=%s", k->evidence);
        if (k->monitor)
                record_add(rec, "CGREAP_MONITOR=%s", k->monitor);
        if (k->monitor_cgroup)
                record_add(rec, "CGREAP_MONITOR_CGROUP=%s", k->monitor_cgroup);
        if (k->trigger)
                record_add(rec, "CGREAP_TRIGGER=%s", k->trigger);
        record_add(rec, "CGREAP_PRESSURE_SOME_AVG10=%.2f", k->pressure_some_avg10);
        record_add(rec, "CGREAP_PRESSURE_FULL_AVG10=%.2f", k->pressure_full_avg10);
        record_add(rec, "CGREAP_MEMORY_BYTES=%" PRIu64, k->memory_bytes);
        record_add(rec, "CGREAP_SWAP_BYTES=%" PRIu64, k->swap_bytes);
        record_add(rec, "CGREAP_PIDS=%zu", k->n_pids);
        if (k->method)
                record_add(rec, "CGREAP_METHOD=%s", k->method);
        record_add(rec, "CGREAP_DRY_RUN=%d", k->dry_run ? 1 : 0);
        record_add(rec, "CGREAP_DECISION_USEC=%" PRIu64, k->decision_usec);

        return unit;
}

int report_kill(const KillReport *k) {
        _cleanup_free_ char *unit = NULL, *cause = NULL;
        char size[FORMAT_BYTES_MAX];
        uint64_t footprint;
        Record rec = {};

        if (!k)
                return -EINVAL;

        /* Saturate: a wrapped sum would show a huge victim as a tiny one. */
        if (__builtin_add_overflow(k->memory_bytes, k->swap_bytes, &footprint))
                footprint = UINT64_MAX;

        record_add_header(&rec, REPORT_MESSAGE_ID_KILL, k->dry_run ? LOG_NOTICE : LOG_WARNING);
        unit = record_add_kill_fields(&rec, k);

        cause = kill_cause(k);
        if (!cause)
                rec.failed = true;
        record_add(&rec, "MESSAGE=%s %s (adj %d, %s): %s",
                   k->dry_run ? "Would kill" : "Killed",
                   name_of(k->cgroup, unit), k->adj,
                   format_bytes(size, sizeof size, footprint),
                   cause ?: "");

        return record_finish(&rec);
}

int report_reclaimed(const KillReport *k) {
        _cleanup_free_ char *unit = NULL;
        char freed[FORMAT_BYTES_MAX], took[FORMAT_DURATION_MAX];
        Record rec = {};

        if (!k)
                return -EINVAL;
        if (k->dry_run)
                return 0;

        record_add_header(&rec, REPORT_MESSAGE_ID_RECLAIMED, k->timed_out ? LOG_WARNING : LOG_INFO);
        unit = record_add_kill_fields(&rec, k);

        record_add(&rec, "CGREAP_MRELEASE=%s", mrelease_to_string(k->mrelease));
        record_add(&rec, "CGREAP_FREED_BYTES=%" PRIu64, k->freed_bytes);
        record_add(&rec, "CGREAP_TIMED_OUT=%d", k->timed_out ? 1 : 0);
        /* On a timeout: how long it waited. */
        record_add(&rec, "CGREAP_EMPTY_USEC=%" PRIu64, k->empty_usec);

        format_bytes(freed, sizeof freed, k->freed_bytes);
        format_elapsed(took, sizeof took, k->empty_usec);
        if (k->timed_out)
                record_add(&rec, "MESSAGE=%s is still populated %s after the kill (freed %s so far)",
                           name_of(k->cgroup, unit), took, freed);
        else
                record_add(&rec, "MESSAGE=Reclaimed %s: freed %s in %s",
                           name_of(k->cgroup, unit), freed, took);

        return record_finish(&rec);
}

/* Header, unit and monitor fields of the two per-monitor records. */
static void record_begin_monitor(Record *rec, const char *message_id, int priority,
                                 const char *monitor, const char *monitor_cgroup) {
        record_add_header(rec, message_id, priority);
        free(record_add_object_unit(rec, monitor_cgroup));
        if (monitor)
                record_add(rec, "CGREAP_MONITOR=%s", monitor);
        if (monitor_cgroup)
                record_add(rec, "CGREAP_MONITOR_CGROUP=%s", monitor_cgroup);
}

int report_kernel_oom(const char *monitor, const char *monitor_cgroup, const char *cgroup, uint64_t new_kills,
                      uint64_t total_kills) {
        bool root = monitor_cgroup && streq(monitor_cgroup, "/");
        char since[64] = "";
        Record rec = {};

        record_begin_monitor(&rec, REPORT_MESSAGE_ID_KERNEL_OOM, LOG_WARNING, monitor, monitor_cgroup);
        if (cgroup)
                record_add(&rec, "CGREAP_CGROUP=%s", cgroup);
        record_add(&rec, "CGREAP_OOM_KILLS=%" PRIu64, new_kills);
        if (total_kills != UINT64_MAX) {
                record_add(&rec, "CGREAP_OOM_KILLS_TOTAL=%" PRIu64, total_kills);
                /* total is the cgroup's own memory.events counter, which
                 * counts from the cgroup's creation, not from ours; for
                 * "/" it is /proc/vmstat's, since boot. */
                (void) snprintf(since, sizeof since, " (%" PRIu64 " %s)", total_kills,
                                root ? "on the machine since boot" : "since the cgroup was created");
        }
        record_add(&rec, "MESSAGE=Kernel OOM killer killed %" PRIu64 " process%s in %s%s%s%s%s",
                   new_kills, new_kills == 1 ? "" : "es",
                   cgroup ?: monitor_cgroup ?: "a monitored cgroup",
                   monitor ? " (monitor " : "", monitor ?: "", monitor ? ")" : "", since);

        return record_finish(&rec);
}

int report_nothing_eligible(const char *monitor, const char *monitor_cgroup, const char *level,
                            ReportReason reason, const char *evidence, const char *trigger, int min_adj,
                            size_t n_candidates) {
        Record rec = {};

        record_begin_monitor(&rec, REPORT_MESSAGE_ID_NOTHING_ELIGIBLE, LOG_NOTICE, monitor, monitor_cgroup);
        if (report_reason_to_string(reason))
                record_add(&rec, "CGREAP_REASON=%s", report_reason_to_string(reason));
        if (level)
                record_add(&rec, "CGREAP_LEVEL=%s", level);
        if (evidence)
                record_add(&rec, "CGREAP_EVIDENCE=%s", evidence);
        if (trigger)
                record_add(&rec, "CGREAP_TRIGGER=%s", trigger);
        record_add(&rec, "CGREAP_MIN_ADJ=%d", min_adj);
        record_add(&rec, "CGREAP_CANDIDATES=%zu", n_candidates);
        record_add(&rec, "MESSAGE=Nothing to kill on %s: %s%s%s%s, but none of %zu candidate%s has adj >= %d",
                   monitor_cgroup ? monitor_cgroup : "a monitored cgroup",
                   report_reason_to_string(reason) ? reason_words[reason] : "a kill was asked for",
                   level ? " at " : "", level ?: "", level ? " pressure" : "",
                   n_candidates, n_candidates == 1 ? "" : "s", min_adj);

        return record_finish(&rec);
}
