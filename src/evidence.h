/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* evidence: whether memory is really running out, read fresh when a
 * decision is due. A wake-up (a PSI trigger, memory.events, armed polling)
 * only asks the manager to look; a kill needs one row of the decision table
 * in cgreapd(8) to hold now. Reading (evidence_read) is apart from judging
 * (evidence_judge, pure). Never chooses, never kills, never logs. */

#include "macro.h"
#include "psi.h"
#include "report.h"

/* What one look found. The whole machine's numbers are always there; a
 * cgroup with memory.max or memory.high also has its own. */
typedef struct EvidenceReading {
        usec_t time;                    /* CLOCK_MONOTONIC */

        /* The machine: /proc/meminfo and /proc/vmstat. */
        uint64_t mem_total, mem_available;
        uint64_t swap_total, swap_free;
        uint64_t file_lru;              /* Active(file) + Inactive(file) */
        uint64_t refault_bytes;         /* workingset_refault_file, in bytes */

        /* The cgroup's own limit, when it has one. */
        bool has_limit;
        uint64_t limit;                 /* min(memory.max, memory.high) */
        bool hard_limit;                /* memory.max is set: the memcg OOM killer is next */
        uint64_t cg_available;          /* limit - (memory.current - reclaimable) */
        uint64_t cg_reclaimable;        /* file LRU + reclaimable slab */
        uint64_t cg_swap_total, cg_swap_free;   /* what it may still swap: also bounded by memory.swap.max */
        uint64_t cg_file_lru;
        uint64_t cg_refault_bytes;

        bool has_events;
        uint64_t max, oom;              /* memory.events */

        /* The monitor's pressure file, when it could be read. */
        bool has_pressure;
        double full_avg10;              /* percent */
        uint64_t some_total, full_total;        /* usec of stall since boot */
} EvidenceReading;

/* The thresholds, from [Pressure]. Shares are permyriad. */
typedef struct EvidenceLimits {
        unsigned min_available;         /* MinAvailable= */
        unsigned min_swap_free;         /* MinSwapFree= */
        unsigned thrashing_limit;       /* ThrashingLimit=: refaults per second, share of the file LRU */
        unsigned stall_limit;           /* StallLimit=: full avg10 */
        PsiTrigger demand;              /* the monitor's Medium=: a stall that counts after a kill */
} EvidenceLimits;

/* Thrashing is a rate: judged over at least this long, and never over a
 * span that is older than EVIDENCE_BASE_MAX_USEC (then the base is taken
 * anew). lmkd resets its refault count every second, too. */
#define EVIDENCE_RATE_MIN_USEC (1 * USEC_PER_SEC)
#define EVIDENCE_BASE_MAX_USEC (10 * USEC_PER_SEC)
/* avg10 is a 10s average: a stall row needs that long since the last kill,
 * so that what it averages lies after it. */
#define EVIDENCE_STALL_SPAN_USEC (10 * USEC_PER_SEC)
/* Thrashing counts only while available memory is below this many times
 * MinAvailable= (10% at the default 2%): refaults of a big, healthy page
 * cache endanger nothing. */
#define EVIDENCE_THRASHING_AVAILABLE_FACTOR 5U

/* After a kill, headroom falling at a rate that empties it within this long
 * is demand: the Medium= window of the default, about what the kernel's
 * OOM killer leaves an allocator that reclaims nothing. */
#define EVIDENCE_DEMAND_HORIZON_USEC (2 * USEC_PER_SEC)
/* ... and by a quarter of MinAvailable= at least (about 10M of 2G). */
#define EVIDENCE_DEMAND_DROP_DIVISOR 4U
/* A stall after a kill is weighed over this long at least. */
#define EVIDENCE_DEMAND_SPAN_MIN_USEC (500 * USEC_PER_MSEC)

/* Read the machine's numbers and, for a cgroup other than "/", its limit,
 * memory.stat, swap and memory.events. pressure comes from the caller (the
 * monitor reads its pressure file; NULL when it could not). A cgroup that
 * has no memory files (no memory controller) is judged by the machine's
 * numbers alone.
 * Returns <0 only when /proc/meminfo cannot be read; a cgroup that
 * vanished gives -ENOENT. */
int evidence_read(const char *cg_root, const char *proc_root, const char *cgroup, const PsiStats *pressure,
                  EvidenceReading *ret);

/* Whether a row of the decision table holds for now. base is an earlier
 * reading of the same monitor taken after its last kill (NULL: none), for
 * the rates and memory.events; since_kill is how long ago the monitor's
 * last kill ended (USEC_INFINITY: never). after_kill: the episode of that
 * kill goes on, and short memory counts only with demand measured since
 * base: a stall of lim->demand's share, headroom falling towards 0 within
 * EVIDENCE_DEMAND_HORIZON_USEC, or (a limit) memory.events max; a survivor
 * may just hold the room the kill freed. On true, *ret_reason is the row
 * and *ret_critical whether the row itself means critical (the kernel's
 * OOM killer is next: oom, low-memory-and-swap, a memory.max limit, stall)
 * whatever the pressure level that woke the agent. text always gets the
 * numbers that were weighed, for the record or the debug log. A limit of 0
 * turns its row off (ThrashingLimit=, StallLimit=). */
bool evidence_judge(const EvidenceReading *now, const EvidenceReading *base, const EvidenceLimits *lim,
                    usec_t since_kill, bool after_kill, ReportReason *ret_reason, bool *ret_critical, char *text,
                    size_t len);
