/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* parse-util: checked parsing of config value types. See parse-util.h.
 * Everything is done with integer arithmetic so that "0.1s" is exactly
 * 100000us and overflow is detected, never wrapped. */

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "parse-util.h"

int parse_boolean(const char *s) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* "DIGITS[.DIGITS]" split into its parts. The unit (the suffix after the
 * number) is not known yet, so scaling is a second step: decimal_scale(). */
typedef struct Decimal {
        uint64_t integer;
        const char *frac;       /* first fraction digit, or NULL */
        size_t n_frac;
} Decimal;

static int decimal_parse(const char **p, Decimal *ret) {
        const char *s = *p;
        Decimal d = {};

        if (!isdigit((unsigned char) *s))
                return -EINVAL;         /* also rejects '-', '+', ' ' and "" */
        for (; isdigit((unsigned char) *s); s++)
                if (__builtin_mul_overflow(d.integer, 10, &d.integer) ||
                    __builtin_add_overflow(d.integer, (uint64_t) (*s - '0'), &d.integer))
                        return -ERANGE;
        if (*s == '.') {
                s++;
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                d.frac = s;
                for (; isdigit((unsigned char) *s); s++)
                        d.n_frac++;
        }
        *p = s;
        *ret = d;
        return 0;
}

/* d * unit, truncating fractions of the smallest unit. */
static int decimal_scale(const Decimal *d, uint64_t unit, uint64_t *ret) {
        unsigned __int128 frac = 0, pow10 = 1;
        uint64_t v;

        if (__builtin_mul_overflow(d->integer, unit, &v))
                return -ERANGE;
        /* 18 fraction digits are more than any unit here can resolve (1T is
         * ~1.1e12 bytes); the rest would only overflow the arithmetic. */
        for (size_t i = 0; i < d->n_frac && i < 18; i++) {
                frac = frac * 10 + (unsigned) (d->frac[i] - '0');
                pow10 *= 10;
        }
        if (__builtin_add_overflow(v, (uint64_t) (frac * unit / pow10), &v))
                return -ERANGE;
        *ret = v;
        return 0;
}

static const struct {
        const char *suffix;
        usec_t usec;
} duration_units[] = {
        /* "sec" before "s"; a suffix only matches when no letter follows, so
         * "5msec" is an error rather than 5ms plus garbage. */
        { "min", USEC_PER_MINUTE },
        { "sec", USEC_PER_SEC },
        { "ms",  USEC_PER_MSEC },
        { "us",  1 },
        { "s",   USEC_PER_SEC },
};

int parse_duration(const char *s, usec_t *ret) {
        usec_t total = 0;
        const char *p = s;
        unsigned n_terms = 0;
        bool bare = false;

        if (!s || !*s)
                return -EINVAL;

        while (*p) {
                Decimal d;
                usec_t unit = 0, v;
                int r;

                if (n_terms > 0)
                        while (*p == ' ')
                                p++;
                r = decimal_parse(&p, &d);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++) {
                        size_t l = strlen(duration_units[i].suffix);

                        if (strncmp(p, duration_units[i].suffix, l) == 0 &&
                            !isalpha((unsigned char) p[l])) {
                                unit = duration_units[i].usec;
                                p += l;
                                break;
                        }
                }
                if (unit == 0) {
                        if (*p != 0)
                                return -EINVAL;         /* unknown suffix or garbage */
                        unit = USEC_PER_SEC;            /* "2" means 2s */
                        bare = true;
                }
                r = decimal_scale(&d, unit, &v);
                if (r < 0)
                        return r;
                if (__builtin_add_overflow(total, v, &total))
                        return -ERANGE;
                n_terms++;
        }

        /* A bare number is only unambiguous on its own: "1 500ms" is a typo. */
        if (bare && n_terms > 1)
                return -EINVAL;
        if (total == USEC_INFINITY)
                return -ERANGE;
        *ret = total;
        return 0;
}

int parse_percent(const char *s, unsigned *ret_permyriad) {
        const char *p = s;
        uint64_t v;
        Decimal d;
        int r;

        if (!s)
                return -EINVAL;
        r = decimal_parse(&p, &d);
        if (r < 0)
                return r;
        if (!streq(p, "%"))
                return -EINVAL;
        if (d.n_frac > 2)
                return -EINVAL;         /* finer than a permyriad cannot be represented */
        r = decimal_scale(&d, 100, &v);
        if (r < 0)
                return r;
        if (v > 10000)
                return -ERANGE;
        *ret_permyriad = (unsigned) v;
        return 0;
}

int parse_int_range(const char *s, int min, int max, int *ret) {
        const char *p = s;
        bool negative = false;
        Decimal d;
        int64_t v;
        int r;

        if (!s)
                return -EINVAL;
        if (*p == '-' || *p == '+')
                negative = *p++ == '-';
        r = decimal_parse(&p, &d);
        if (r < 0)
                return r;
        if (*p || d.frac)
                return -EINVAL;
        if (d.integer > (uint64_t) INT64_MAX)
                return -ERANGE;
        v = negative ? -(int64_t) d.integer : (int64_t) d.integer;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (int) v;
        return 0;
}

char *format_bytes(char *buf, size_t len, uint64_t bytes) {
        static const char units[] = "KMGTPE";
        uint64_t unit = 1;
        char suffix = 'B';

        for (const char *u = units; *u && bytes / 1024 >= unit; u++) {
                unit *= 1024;
                suffix = *u;
        }
        if (unit == 1)
                snprintf(buf, len, "%" PRIu64 "B", bytes);
        else {
                /* One decimal while it says something ("1.4G"), none once the
                 * number has two digits or is exact ("512K"). */
                uint64_t tenths = (uint64_t) (((unsigned __int128) bytes * 10 + unit / 2) / unit);

                if (tenths < 100 && tenths % 10 != 0)
                        snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10, tenths % 10, suffix);
                else
                        snprintf(buf, len, "%" PRIu64 "%c",
                                 (uint64_t) (((unsigned __int128) bytes + unit / 2) / unit), suffix);
        }
        return buf;
}

/* "1.5s": the integer part, then the fraction without trailing zeros. */
static void format_fixed(char *buf, size_t len, usec_t v, usec_t unit, int width, const char *suffix) {
        usec_t frac = v % unit;

        if (frac == 0) {
                snprintf(buf, len, "%" PRIu64 "%s", v / unit, suffix);
                return;
        }
        while (frac % 10 == 0) {
                frac /= 10;
                width--;
        }
        snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64 "%s", v / unit, width, frac, suffix);
}

/* Exact: the result parses back to the same value with parse_duration(),
 * which config_dump() relies on. */
char *format_duration(char *buf, size_t len, usec_t usec) {
        if (usec == USEC_INFINITY)
                snprintf(buf, len, "infinity");
        else if (usec == 0)
                snprintf(buf, len, "0");
        else if (usec % USEC_PER_MINUTE == 0)
                snprintf(buf, len, "%" PRIu64 "min", (uint64_t) (usec / USEC_PER_MINUTE));
        else if (usec >= USEC_PER_SEC)
                format_fixed(buf, len, usec, USEC_PER_SEC, 6, "s");
        else if (usec >= USEC_PER_MSEC)
                format_fixed(buf, len, usec, USEC_PER_MSEC, 3, "ms");
        else
                snprintf(buf, len, "%" PRIu64 "us", usec);
        return buf;
}

char *format_percent(char *buf, size_t len, unsigned permyriad) {
        if (permyriad % 100 == 0)
                snprintf(buf, len, "%u%%", permyriad / 100);
        else if (permyriad % 10 == 0)
                snprintf(buf, len, "%u.%u%%", permyriad / 100, permyriad / 10 % 10);
        else
                snprintf(buf, len, "%u.%02u%%", permyriad / 100, permyriad % 100);
        return buf;
}

size_t utf8_sequence_len(const unsigned char *s) {
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
                n = 2;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3;
        else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
                n = 4;
        else
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

void fputs_cescaped(const char *s, size_t len, FILE *f) {
        const unsigned char *p = (const unsigned char *) s, *end = p + len;

        while (p < end) {
                size_t n = 0;

                switch (*p) {
                case '\n': fputs("\\n", f); p++; continue;
                case '\t': fputs("\\t", f); p++; continue;
                case '\r': fputs("\\r", f); p++; continue;
                }
                if (*p >= 0x20 && *p != 0x7f)
                        n = utf8_sequence_len(p);
                /* C1 controls, U+0080..U+009F: terminals take U+009B as CSI. */
                if (n > (size_t) (end - p) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0))
                        n = 0;
                if (n == 0) {
                        /* An escaped C1 character: both of its bytes. */
                        size_t k = p[0] == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] < 0xa0 ? 2 : 1;

                        for (size_t i = 0; i < k; i++)
                                fprintf(f, "\\x%02x", p[i]);
                        p += k;
                        continue;
                }
                fwrite(p, 1, n, f);
                p += n;
        }
}

char *cescape(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        fputs_cescaped(s, strlen(s), f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* ---- string vectors ---- */

static int strv_extendv(char ***l, const char *fmt, va_list ap) _printf_(2, 0);
static int strv_extendv(char ***l, const char *fmt, va_list ap) {
        size_t n = 0;
        char *s, **t;

        if (vasprintf(&s, fmt, ap) < 0)
                return -ENOMEM;
        if (*l)
                while ((*l)[n])
                        n++;
        t = realloc(*l, (n + 2) * sizeof(char *));
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        t[n] = s;
        t[n + 1] = NULL;
        *l = t;
        return 0;
}

int strv_extendf(char ***l, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_extendv(l, fmt, ap);
        va_end(ap);
        return r;
}

bool strv_contains(char *const *l, const char *s) {
        for (char *const *p = l; p && *p; p++)
                if (streq(*p, s))
                        return true;
        return false;
}
