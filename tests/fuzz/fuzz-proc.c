/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The /proc files: /proc/meminfo, /proc/vmstat, /proc/PID/cgroup and
 * /proc/self/mountinfo, each given the same input, and the cgroup path
 * helpers on what /proc/PID/cgroup gave. */

#include "cgroupfs.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size), *path = NULL, *mount = NULL;
        ProcMeminfo mi;
        ProcVmstat vm;

        if (!text)
                return 0;
        (void) proc_parse_meminfo_buf(text, &mi);
        (void) proc_parse_vmstat_buf(text, &vm);
        (void) cg_parse_mountinfo_buf(text, &mount);
        if (cg_parse_proc_cgroup_buf(text, &path) >= 0) {
                _cleanup_free_ char *norm = cg_path_normalize(path), *unit = NULL;
                bool user;

                (void) cg_path_is_plain(path);
                (void) cg_path_basename(path);
                (void) cg_path_get_unit(path, &unit, &user);
                if (norm)
                        (void) cg_path_is_below(norm, "/user.slice");
        }
        return 0;
}
