/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration parser as config_load() drives it: the main file, then
 * drop-ins (the input's parts between lines "#---"), then the cross-field
 * checks and the dump that check-config prints, which must parse again to
 * the same values. */

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fuzz-util.h"

static char *config_dump_string(const Config *c) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        if (config_dump(c, f) < 0) {
                fclose(f);
                free(buf);
                return NULL;
        }
        fclose(f);
        return buf;
}

/* In place: drop "# ..." and "; ..." lines and " ; ..." comments, the
 * only parts of a dump that name where a value came from. */
static char *strip_comments(char *s) {
        char *w = s;

        for (char *l = s, *e; *l; l = e) {
                e = strchrnul(l, '\n');
                if (*e)
                        e++;
                if ((l[0] == '#' && l[1] == ' ') || l[0] == ';')
                        continue;
                char *c = strstr(l, " ; ");
                size_t n = (c && c < e ? (size_t) (c - l) : (size_t) (e - l));
                memmove(w, l, n);
                w += n;
                if (c && c < e)
                        *w++ = '\n';
        }
        *w = 0;
        return s;
}

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

        /* check-config's dump is cgreap.conf syntax: parsed again, it must
         * give the same values (the "; from" comments aside). */
        _cleanup_free_ char *dump = config_dump_string(c), *again = NULL;
        _cleanup_config_free_ Config *c2 = NULL;
        if (!dump || config_new_default(&c2) < 0)
                return 0;
        if (config_parse_string(c2, "/dump.conf", dump, true, &errors) != 0 || errors ||
            config_finalize(c2, &errors) != 0 || errors)
                abort();
        again = config_dump_string(c2);
        if (again && !streq(strip_comments(dump), strip_comments(again)))
                abort();
        return 0;
}
