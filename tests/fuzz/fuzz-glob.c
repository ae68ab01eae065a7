/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [Priority] pattern matcher: "PATTERN\nPATH". It must finish in
 * O(pattern x path) whatever the stars; libFuzzer's -timeout catches a
 * matcher that backtracks. */

#include "cgroupfs.h"
#include "fuzz-util.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size);
        char *path;

        if (!text)
                return 0;
        path = fuzz_split(text, "\n");
        if (!path)
                return 0;
        (void) policy_pattern_match(text, path);
        /* Every path matches itself as a pattern, once its specials are
         * escaped (the matcher's '\\'). */
        if (cg_path_is_plain(path) && !strpbrk(path, "*?[]\\") && path[0] == '/' &&
            !policy_pattern_match(path, path))
                abort();
        return 0;
}
