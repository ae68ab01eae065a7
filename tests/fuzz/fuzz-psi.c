/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PSI: the first line is a trigger as written in the config ("some 10% 2s"),
 * parsed, checked by the kernel's rules and formatted for the kernel; the
 * rest is a memory.pressure file. */

#include <stdio.h>

#include "config.h"
#include "fuzz-util.h"
#include "psi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_string(data, size), *ini = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_config_free_ Config *c = NULL;
        const char *reason;
        PsiTrigger companion;
        PsiStats st;
        char buf[64], *rest;

        if (!text)
                return 0;
        rest = fuzz_split(text, "\n");
        if (rest)
                (void) psi_parse_buf(rest, &st);

        if (config_new_default(&c) < 0 || asprintf(&ini, "[Pressure]\nCritical=%s\n", text) < 0)
                return 0;
        if (config_parse_string(c, "/etc/cgreap/cgreap.conf", ini, true, &errors) != 0)
                return 0;
        (void) psi_trigger_check(&c->critical, false, &reason);
        if (psi_trigger_format(&c->critical, buf, sizeof buf) < 0)
                abort();        /* a trigger the parser accepted must format */
        if (psi_trigger_companion(&c->critical, false, &companion))
                (void) psi_trigger_format(&companion, buf, sizeof buf);
        return 0;
}
