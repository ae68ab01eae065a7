/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Checked parsing of the value types cgreap.conf uses. Pure functions: no
 * I/O, no logging. Each returns 0 on success and leaves *ret untouched and
 * returns -EINVAL (malformed) or -ERANGE (out of range) on failure. Leading
 * and trailing white space is not accepted here: the config layer strips it. */

#include "macro.h"

/* "yes/no/true/false/on/off/1/0" (case-insensitive) -> 1 or 0. */
int parse_boolean(const char *s);

/* Durations: a decimal number with an optional fraction and one of the
 * suffixes us, ms, s, sec, min; no suffix means seconds ("2" = 2s).
 * "1.5s" = 1500000us. Several terms may follow each other ("1s 500ms").
 * Negative values and overflow are errors. */
int parse_duration(const char *s, usec_t *ret);

/* Percentages "10%", "2.5%" (0..100) as permyriad (basis points): 10% -> 1000.
 * At most two decimals. The '%' is required. */
int parse_percent(const char *s, unsigned *ret_permyriad);

/* A decimal integer (optional sign) within [min, max]. */
int parse_int_range(const char *s, int min, int max, int *ret);

/* Format helpers for humans: "1.4G", "512K", "2s", "500ms". Write into buf
 * and return buf. */
#define FORMAT_BYTES_MAX 16
char *format_bytes(char *buf, size_t len, uint64_t bytes);
#define FORMAT_DURATION_MAX 32
char *format_duration(char *buf, size_t len, usec_t usec);
/* Permyriad as a percentage that parse_percent() reads back: "10%", "2.5%". */
#define FORMAT_PERCENT_MAX 16
char *format_percent(char *buf, size_t len, unsigned permyriad);

/* Length of the valid UTF-8 sequence at s (1 for ASCII), or 0 if it is
 * not one. */
size_t utf8_sequence_len(const unsigned char *s);

/* Text a user may have chosen (cgroup names), made safe for a terminal or a
 * log line, as systemd's cescape() does: control characters (C0, DEL, and
 * C1 as U+0080..U+009F) and bytes that are not UTF-8 become "\xNN"; "\n",
 * "\t", "\r" keep their short form. Other text, backslashes included
 * ("\x2d" in unit names), is left as it is. fputs_cescaped() writes len
 * bytes of s to f; cescape() returns a malloc'd copy (NULL: out of memory). */
void fputs_cescaped(const char *s, size_t len, FILE *f);
char *cescape(const char *s);

/* Appends a formatted string to the NULL-terminated *l (NULL: empty).
 * Returns 0 or -ENOMEM. */
int strv_extendf(char ***l, const char *fmt, ...) _printf_(2, 3);
bool strv_contains(char *const *l, const char *s);
