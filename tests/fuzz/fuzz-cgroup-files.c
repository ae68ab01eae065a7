/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup files the daemon parses: memory.events, memory.stat,
 * cgroup.events, cgroup.procs, cgroup.controllers, single numbers
 * (memory.max, memory.current). Each gets the same input. */

#include "cgroupfs.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size);
        _cleanup_strv_free_ char **controllers = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        MemoryEvents me;
        MemoryStat ms;
        CgroupEvents ce;
        unsigned mask;
        uint64_t v;
        size_t n;

        if (!text)
                return 0;
        (void) cg_parse_memory_events_buf(text, &me);
        (void) cg_parse_memory_stat_buf(text, &ms);
        (void) cg_parse_events_buf(text, &ce);
        (void) cg_parse_u64_buf(text, &v);
        (void) cg_parse_controllers_buf(text, &mask);
        (void) cg_parse_controllers_list_buf(text, &controllers);
        if (cg_parse_procs_buf(text, &pids, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        if (pids[i] <= 0)
                                abort();        /* only real pids come out */
        return 0;
}
