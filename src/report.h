/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* report: journal records (DESIGN §8) and the STATUS= text. Decides nothing.
 *
 * Records are built as an array of "FIELD=value" strings and handed to a
 * sink: by default sd_journal_sendv(), or stderr lines when there is no
 * journal (/run/systemd/journal/socket missing); tests install a capturing
 * sink with report_set_sink(). */

#include <sys/uio.h>
#include "macro.h"

#define REPORT_MESSAGE_ID_KILL             "e07f2c2137c44c84b88043be6116d1c1"
#define REPORT_MESSAGE_ID_RECLAIMED        "4ee286758cf648b58fc05d7fd4a55ce7"
#define REPORT_MESSAGE_ID_KERNEL_OOM       "c8e81b0737aa4d6cabd4025072dc92ea"
#define REPORT_MESSAGE_ID_NOTHING_ELIGIBLE "140a986d61874449851ff460e728981a"

typedef enum ReportReason {
        REASON_PRESSURE_MEDIUM,
        REASON_PRESSURE_CRITICAL,
        REASON_MEMORY_EVENTS,
        REASON_MANUAL,
} ReportReason;
const char *report_reason_to_string(ReportReason r);

/* Everything a kill record can say. Strings may be NULL (field omitted). */
typedef struct KillReport {
        uint64_t kill_id;               /* shared by the kill and reclaimed records */
        const char *cgroup;
        int adj;
        const char *adj_source;         /* "rule 50-x.conf:7" ... */
        ReportReason reason;
        const char *monitor;            /* monitor name */
        const char *monitor_cgroup;
        const char *trigger;            /* "some 10% 2s", "memory.events max", "MinAvailable" ... */
        double pressure_some_avg10, pressure_full_avg10;
        uint64_t memory_bytes, swap_bytes;
        size_t n_pids;
        const char *method;             /* "cgroup-kill" | "pidfd" */
        bool dry_run;
        /* reclaimed record only */
        int mrelease;                   /* see KillResult.mrelease */
        uint64_t freed_bytes;
        usec_t empty_usec;
        bool timed_out;
} KillReport;

typedef void (*report_sink)(int priority, const struct iovec *iov, size_t n, void *userdata);
/* NULL restores the default sink. */
void report_set_sink(report_sink sink, void *userdata);

int report_kill(const KillReport *k);
int report_reclaimed(const KillReport *k);
/* A kernel OOM kill in a monitor the agent did not prevent. */
int report_kernel_oom(const char *monitor, const char *monitor_cgroup, uint64_t new_kills,
                      uint64_t total_kills);
/* Pressure at a level but nothing eligible (callers rate-limit). */
int report_nothing_eligible(const char *monitor, const char *monitor_cgroup, ReportReason reason,
                            const char *trigger, int min_adj, size_t n_candidates);

/* Field helpers for tests: find "FIELD=" in a captured record. Returns a
 * pointer to the value (not NUL-terminated; *ret_len its length) or NULL. */
const char *report_iov_find(const struct iovec *iov, size_t n, const char *field, size_t *ret_len);
