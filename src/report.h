/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* report: journal records (DESIGN §8) and the STATUS= text. Decides nothing.
 *
 * Records are built as an array of "FIELD=value" strings and handed to a
 * sink: by default sd_journal_sendv(), or stderr lines when there is no
 * journal (/run/systemd/journal/socket missing); tests install a capturing
 * sink with report_set_sink().
 *
 * Every record has MESSAGE_ID=, PRIORITY=, SYSLOG_IDENTIFIER=cgreapd and
 * MESSAGE=. When the cgroup belongs to a unit, OBJECT_SYSTEMD_UNIT=unit (so
 * "journalctl -u unit" shows it); for a unit of a user manager
 * OBJECT_SYSTEMD_USER_UNIT=unit ("journalctl --user-unit unit") plus
 * OBJECT_SYSTEMD_UNIT=user@UID.service, the pair journald itself derives for
 * a process of a user unit.
 *
 * Kill records: the kill record (sent when the signal goes out, PRIORITY
 * warning, notice for a dry run whose MESSAGE says "Would kill") carries
 * every CGREAP_ field of DESIGN §8 except those not known yet: MRELEASE,
 * FREED_BYTES, EMPTY_USEC. The reclaimed record repeats the kill fields and
 * adds MRELEASE (yes|no|unsupported), FREED_BYTES, TIMED_OUT (0|1) and
 * EMPTY_USEC: the time from the kill to "populated 0", or on a timeout
 * (TIMED_OUT=1, the record is a warning saying the cgroup is still
 * populated) how long it was waited for. No reclaimed record is
 * written for a dry run: nothing was reclaimed. CGREAP_UNIT is omitted when
 * the cgroup belongs to no unit; NULL strings omit their field. Numbers are
 * decimal; PRESSURE_*_AVG10 are percentages with two decimals. */

#include <sys/uio.h>
#include "macro.h"

#define REPORT_MESSAGE_ID_KILL             "e07f2c2137c44c84b88043be6116d1c1"
#define REPORT_MESSAGE_ID_RECLAIMED        "4ee286758cf648b58fc05d7fd4a55ce7"
#define REPORT_MESSAGE_ID_KERNEL_OOM       "c8e81b0737aa4d6cabd4025072dc92ea"
#define REPORT_MESSAGE_ID_NOTHING_ELIGIBLE "140a986d61874449851ff460e728981a"

/* The evidence a kill rests on: the rows of the decision table in
 * cgreapd(8) (CGREAP_REASON=). */
typedef enum ReportReason {
        REASON_LOW_MEMORY_AND_SWAP,
        REASON_LIMIT,
        REASON_THRASHING,
        REASON_STALL,
        REASON_OOM,
        REASON_MANUAL,
        _REASON_MAX,
        _REASON_INVALID = -1,
} ReportReason;
const char *report_reason_to_string(ReportReason r);

/* Everything a kill record can say. Strings may be NULL (field omitted). */
typedef struct KillReport {
        uint64_t kill_id;               /* shared by the kill and reclaimed records */
        const char *cgroup;
        int adj;
        const char *adj_source;         /* "rule 50-x.conf:7" ... */
        ReportReason reason;            /* the evidence row */
        const char *level;              /* "medium" | "critical": the adj floor that applied */
        const char *evidence;           /* the numbers weighed, for a person */
        const char *monitor;            /* monitor name */
        const char *monitor_cgroup;
        const char *trigger;            /* "some 10% 2s", "memory.events max", "MinAvailable" ... */
        double pressure_some_avg10, pressure_full_avg10;
        uint64_t memory_bytes, swap_bytes;
        size_t n_pids;
        const char *method;             /* "cgroup-kill" | "pidfd" */
        bool dry_run;
        usec_t decision_usec;           /* from the event's dispatch to the victim chosen */
        /* reclaimed record only */
        int mrelease;                   /* see KillResult.mrelease */
        uint64_t freed_bytes;
        usec_t empty_usec;
        bool timed_out;
} KillReport;

typedef void (*report_sink)(int priority, const struct iovec *iov, size_t n, void *userdata);
/* NULL restores the default sink. */
void report_set_sink(report_sink sink, void *userdata);

/* Return 0 when the record was handed to the sink, -ENOMEM, -EINVAL. */
int report_kill(const KillReport *k);
/* Returns 0 without sending anything for a dry run. */
int report_reclaimed(const KillReport *k);
/* A kernel OOM kill in a monitor the agent did not prevent, counted by the
 * memory.events of cgroup (CGROUP=: the monitor's, or a top-level cgroup
 * for a monitor of "/"). total_kills is that counter, every kernel OOM kill
 * since the cgroup was created, or for "/" /proc/vmstat oom_kill, every one
 * since boot (OOM_KILLS_TOTAL=; left out when UINT64_MAX). */
int report_kernel_oom(const char *monitor, const char *monitor_cgroup, const char *cgroup, uint64_t new_kills,
                      uint64_t total_kills);
/* Pressure at a level but nothing eligible (callers rate-limit). */
int report_nothing_eligible(const char *monitor, const char *monitor_cgroup, const char *level,
                            ReportReason reason, const char *evidence, const char *trigger, int min_adj,
                            size_t n_candidates);

/* The component "user@UID.service" that runs the user unit a cgroup path
 * lies in, malloc'd; -ENXIO when the path is not below a user manager. */
int report_user_manager_unit(const char *path, char **ret);

/* The line the stderr sink writes for a record: MESSAGE then every CGREAP_
 * field as FIELD=value (quoted when it holds a space), control characters
 * escaped. *ret malloc'd. */
int report_format_line(const struct iovec *iov, size_t n, char **ret);

/* Field helpers for tests: find "FIELD=" in a captured record. Returns a
 * pointer to the value (not NUL-terminated; *ret_len its length) or NULL. */
const char *report_iov_find(const struct iovec *iov, size_t n, const char *field, size_t *ret_len);
