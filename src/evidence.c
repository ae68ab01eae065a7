/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* evidence: whether memory is really running out. See evidence.h and the
 * DECISION TABLE of cgreapd(8). */

#include <inttypes.h>
#include <stdarg.h>

#include "cgroupfs.h"
#include "evidence.h"
#include "parse-util.h"

static uint64_t share_of(uint64_t v, unsigned permyriad) {
        if (v > UINT64_MAX / 10000)
                return v / 10000 * permyriad;
        return v * permyriad / 10000;
}

/* v as a share of total, in permyriad (0 for an empty total). */
static unsigned permyriad(uint64_t v, uint64_t total) {
        if (total == 0)
                return 0;
        if (v >= total)
                return 10000;
        if (v > UINT64_MAX / 10000)
                return (unsigned) (v / (total / 10000));
        return (unsigned) (v * 10000 / total);
}

int evidence_read(const char *cg_root, const char *proc_root, const char *cgroup, const PsiStats *pressure,
                  EvidenceReading *ret) {
        EvidenceReading e = {
                .has_pressure = pressure,
                .full_avg10 = pressure && pressure->has_full ? pressure->full.avg10 : 0,
                .some_total = pressure ? pressure->some.total : 0,
                .full_total = pressure && pressure->has_full ? pressure->full.total : 0,
        };
        long page = sysconf(_SC_PAGESIZE);
        uint64_t page_size = page > 0 ? (uint64_t) page : 4096;
        ProcMeminfo mi;
        ProcVmstat vm = {};
        int r;

        r = proc_read_meminfo(proc_root, &mi);
        if (r < 0)
                return r;
        e.mem_total = mi.total;
        e.mem_available = MIN(mi.available, mi.total);
        e.swap_total = mi.swap_total;
        e.swap_free = MIN(mi.swap_free, mi.swap_total);
        e.file_lru = mi.active_file + mi.inactive_file;
        /* Without vmstat there is no refault rate: thrashing cannot be shown. */
        if (proc_read_vmstat(proc_root, &vm) >= 0)
                e.refault_bytes = vm.workingset_refault_file * page_size;

        if (!streq(cgroup, "/")) {
                uint64_t max = UINT64_MAX, high = UINT64_MAX, current, swap_max = UINT64_MAX, swap_cur = 0;
                MemoryEvents ev;
                MemoryStat st;

                r = cg_read_memory_events(cg_root, cgroup, &ev);
                if (ERRNO_IS_VANISHED(r) && ERRNO_IS_VANISHED(cg_file_exists(cg_root, cgroup, NULL)))
                        return -ENOENT;
                if (r >= 0) {
                        e.has_events = true;
                        e.max = ev.max;
                        e.oom = ev.oom;
                }

                (void) cg_read_u64(cg_root, cgroup, "memory.max", &max);
                (void) cg_read_u64(cg_root, cgroup, "memory.high", &high);
                e.hard_limit = max != UINT64_MAX;
                if (MIN(max, high) != UINT64_MAX &&
                    cg_read_u64(cg_root, cgroup, "memory.current", &current) >= 0 &&
                    cg_read_memory_stat(cg_root, cgroup, &st) >= 0) {
                        uint64_t used;

                        e.has_limit = true;
                        e.limit = MIN(max, high);
                        e.cg_reclaimable = st.active_file + st.inactive_file + st.slab_reclaimable;
                        used = current - MIN(e.cg_reclaimable, current);
                        e.cg_available = e.limit - MIN(used, e.limit);
                        e.cg_file_lru = st.active_file + st.inactive_file;
                        e.cg_refault_bytes = st.workingset_refault_file * page_size;
                        /* Without the files (no swap accounting) the machine's swap is the bound. */
                        (void) cg_read_u64(cg_root, cgroup, "memory.swap.max", &swap_max);
                        (void) cg_read_u64(cg_root, cgroup, "memory.swap.current", &swap_cur);
                        e.cg_swap_total = MIN(e.swap_total, swap_max);
                        e.cg_swap_free = MIN(e.swap_free, swap_max - MIN(swap_cur, swap_max));
                }
        }

        e.time = now_usec();
        *ret = e;
        return 0;
}

static bool swap_low(uint64_t total, uint64_t free_bytes, unsigned min_swap_free) {
        return total == 0 || free_bytes < share_of(total, min_swap_free);
}

/* Refaults per second over [base, now] as permyriad of the file LRU, or -1
 * when there is no usable span. */
static int64_t thrashing_rate(uint64_t base_refaults, uint64_t now_refaults, uint64_t lru, usec_t dt) {
        double rate;

        if (dt < EVIDENCE_RATE_MIN_USEC || dt > EVIDENCE_BASE_MAX_USEC || now_refaults < base_refaults)
                return -1;
        if (lru == 0)
                lru = 1;
        rate = (double) (now_refaults - base_refaults) * 10000.0 / (double) lru * (double) USEC_PER_SEC / (double) dt;
        return rate > 1e9 ? (int64_t) 1e9 : (int64_t) rate;
}

/* Headroom that fell from before to now over dt by min_drop at least and,
 * at that rate, is gone within EVIDENCE_DEMAND_HORIZON_USEC. min_drop keeps
 * the jitter of a machine at its edge (0.5M in 100ms at 2M) out. */
static bool falling(uint64_t before, uint64_t now, usec_t dt, uint64_t min_drop) {
        if (now >= before || dt == 0 || before - now < min_drop)
                return false;
        return (double) now * (double) dt < (double) (before - now) * (double) EVIDENCE_DEMAND_HORIZON_USEC;
}

static void append(char *text, size_t len, const char *fmt, ...) _printf_(3, 4);
static void append(char *text, size_t len, const char *fmt, ...) {
        size_t l = strnlen(text, len);
        va_list ap;

        if (l + 1 >= len)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(text + l, len - l, fmt, ap);
        va_end(ap);
}

/* "29.51%" from permyriad. */
#define PCT(p) (p) / 100, (p) % 100

bool evidence_judge(const EvidenceReading *now, const EvidenceReading *base, const EvidenceLimits *lim,
                    usec_t since_kill, bool after_kill, ReportReason *ret_reason, bool *ret_critical, char *text,
                    size_t len) {
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], c[FORMAT_BYTES_MAX], d[FORMAT_BYTES_MAX];
        unsigned avail = permyriad(now->mem_available, now->mem_total);
        bool low_swap = swap_low(now->swap_total, now->swap_free, lim->min_swap_free);
        bool have_base = base && now->time >= base->time;
        usec_t dt = have_base ? now->time - base->time : 0;
        ReportReason reason = _REASON_INVALID;
        bool critical = false, demand = true, measured = false, stall_demand = false;
        bool mem_falling = false, cg_falling = false;
        uint64_t stalled = 0;
        int64_t thrash = -1;

        text[0] = '\0';

        /* Within a kill's episode short memory is no danger by itself: the
         * survivor may hold what the kill freed and stay there. Something
         * must want more since base (lmkd: "is it reclaiming at all"). */
        if (after_kill && now->has_pressure) {
                measured = have_base && base->has_pressure && dt > 0;
                if (measured)
                        stalled = lim->demand.kind == PSI_FULL ?
                                now->full_total - MIN(base->full_total, now->full_total) :
                                now->some_total - MIN(base->some_total, now->some_total);
                /* Medium='s share of the time since base, over half a second
                 * at least (a blip of refaults is no demand); any stall when
                 * Medium= is off. */
                stall_demand = measured && stalled > 0 &&
                        (lim->demand.window_usec == 0 ||
                         (double) stalled * (double) lim->demand.window_usec >=
                         (double) lim->demand.stall_usec * (double) MAX(dt, EVIDENCE_DEMAND_SPAN_MIN_USEC));
                mem_falling = measured && falling(base->mem_available, now->mem_available, dt,
                                                  share_of(now->mem_total, lim->min_available) /
                                                  EVIDENCE_DEMAND_DROP_DIVISOR);
                cg_falling = measured && now->has_limit && base->has_limit &&
                        (falling(base->cg_available, now->cg_available, dt,
                                 share_of(now->limit, lim->min_available) / EVIDENCE_DEMAND_DROP_DIVISOR) ||
                         (now->has_events && base->has_events && now->max > base->max));
                demand = stall_demand || mem_falling;
        }

        /* oom: the kernel could reclaim nothing more below the limit. */
        if (now->has_events && have_base && base->has_events && now->oom > base->oom) {
                append(text, len, "memory.events oom +%" PRIu64 "; ", now->oom - base->oom);
                reason = REASON_OOM;
                critical = true;
        }

        append(text, len, "MemAvailable %u.%02u%% (%s of %s), ", PCT(avail),
               format_bytes(a, sizeof a, now->mem_available), format_bytes(b, sizeof b, now->mem_total));
        if (now->swap_total == 0)
                append(text, len, "no swap");
        else
                append(text, len, "swap free %u.%02u%% (%s of %s)",
                       PCT(permyriad(now->swap_free, now->swap_total)),
                       format_bytes(a, sizeof a, now->swap_free), format_bytes(b, sizeof b, now->swap_total));
        if (reason == _REASON_INVALID && avail < lim->min_available && low_swap && demand) {
                reason = REASON_LOW_MEMORY_AND_SWAP;
                critical = true;
        }

        if (now->has_limit) {
                unsigned head = permyriad(now->cg_available, now->limit);
                bool cg_low_swap = swap_low(now->cg_swap_total, now->cg_swap_free, lim->min_swap_free);

                append(text, len, "; limit headroom %u.%02u%% (%s of %s, %s reclaimable), %s swap free", PCT(head),
                       format_bytes(a, sizeof a, now->cg_available), format_bytes(b, sizeof b, now->limit),
                       format_bytes(c, sizeof c, now->cg_reclaimable),
                       format_bytes(d, sizeof d, now->cg_swap_free));
                bool cg_demand = !after_kill || !now->has_pressure || stall_demand || cg_falling;

                if (reason == _REASON_INVALID && head < lim->min_available && cg_low_swap && cg_demand) {
                        reason = REASON_LIMIT;
                        critical = now->hard_limit;
                }

                if (have_base && base->has_limit && base->limit == now->limit)
                        thrash = thrashing_rate(base->cg_refault_bytes, now->cg_refault_bytes, now->cg_file_lru, dt);
                if (thrash >= 0) {
                        append(text, len, "; refaults %" PRId64 "%%/s of the file LRU", thrash / 100);
                        if (reason == _REASON_INVALID && lim->thrashing_limit > 0 &&
                            thrash >= lim->thrashing_limit && cg_low_swap &&
                            head < lim->min_available * EVIDENCE_THRASHING_AVAILABLE_FACTOR)
                                reason = REASON_THRASHING;
                }
        }

        if (have_base)
                thrash = thrashing_rate(base->refault_bytes, now->refault_bytes, now->file_lru, dt);
        else
                thrash = -1;
        if (thrash >= 0) {
                append(text, len, "; refaults %" PRId64 "%%/s of the file LRU of the machine", thrash / 100);
                if (reason == _REASON_INVALID && lim->thrashing_limit > 0 && thrash >= lim->thrashing_limit &&
                    low_swap &&
                    avail < lim->min_available * EVIDENCE_THRASHING_AVAILABLE_FACTOR)
                        reason = REASON_THRASHING;
        }

        append(text, len, "; full avg10 %.2f%%", now->full_avg10);
        if (reason == _REASON_INVALID && lim->stall_limit > 0 && since_kill >= EVIDENCE_STALL_SPAN_USEC &&
            now->full_avg10 * 100.0 >= (double) lim->stall_limit) {
                reason = REASON_STALL;
                critical = true;
        }

        if (after_kill && now->has_pressure) {
                if (measured)
                        append(text, len, "; after a kill: %s stall %" PRIu64 "ms in the last %" PRIu64 "ms%s%s",
                               lim->demand.kind == PSI_FULL ? "full" : "some", stalled / USEC_PER_MSEC,
                               dt / USEC_PER_MSEC, mem_falling ? ", MemAvailable falling" : "",
                               cg_falling ? ", the limit's headroom falling" : "");
                else
                        append(text, len, "; after a kill: nothing measured yet");
        }

        if (reason == _REASON_INVALID)
                return false;
        *ret_reason = reason;
        *ret_critical = critical;
        return true;
}
