/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration parser as config_load() drives it: the main file, then
 * drop-ins (the input's parts between lines "#---"), then the cross-field
 * checks and the dump that check-config prints. */

#include <stdio.h>

#include "config.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size);
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_config_free_ Config *c = NULL;
        char *part = text, *next;
        unsigned n = 0;

        if (!text || config_new_default(&c) < 0)
                return 0;
        for (; part; part = next, n++) {
                char path[64];

                next = fuzz_split(part, "\n#---\n");
                snprintf(path, sizeof path, n == 0 ? "/etc/cgreap/cgreap.conf" : "/etc/cgreap/cgreap.conf.d/%02u.conf", n);
                if (config_parse_string(c, path, part, n % 2 == 0, &errors) < 0)
                        return 0;
        }
        if (config_finalize(c, &errors) != 0 || errors)
                return 0;

        FILE *f = fopen("/dev/null", "we");
        if (f) {
                (void) config_dump(c, f);
                fclose(f);
        }
        return 0;
}
