/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the libFuzzer targets (make fuzz): the input as a C string, as
 * the parsers get it from read_full(), and a silent log. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input up to its first NUL, NUL-terminated (malloc'd; NULL on OOM). */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                return NULL;
        memcpy(s, data, size);
        s[size] = 0;
        log_set_max_level(LOG_EMERG);
        return s;
}

/* Split s in place at the first occurrence of sep: returns the rest (after
 * sep), or NULL when sep is not in s. */
static inline char *fuzz_split(char *s, const char *sep) {
        char *p = strstr(s, sep);

        if (!p)
                return NULL;
        *p = 0;
        return p + strlen(sep);
}
