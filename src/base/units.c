/*
 * units.c - parsers and formatters for durations, sizes, times of day,
 * daily windows, resolutions, bounded integers and booleans.
 *
 * Every parser accepts surrounding whitespace only; character classes are
 * plain ASCII (no locale), so "5 m", "1e3s" or "0x10" are rejected.
 */
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MS_PER_S 1000LL
#define MS_PER_M (60 * MS_PER_S)
#define MS_PER_H (60 * MS_PER_M)
#define MS_PER_D (24 * MS_PER_H)

#define RES_MIN 16
#define RES_MAX 65500 /* SPOOL_MAX_DIMENSION: the largest side a JPEG (and a still's name) has */
#define MIN_PER_DAY 1440

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Sets [*b, *e) to s without leading and trailing whitespace. */
static void trim(const char *s, const char **b, const char **e)
{
    const char *end = s + strlen(s);

    while (*s && is_space(*s))
        s++;
    while (end > s && is_space(end[-1]))
        end--;
    *b = s;
    *e = end;
}

/* True when [b, e) equals word, ignoring ASCII case. */
static bool word_eq(const char *b, const char *e, const char *word)
{
    size_t n = (size_t)(e - b);

    return strlen(word) == n && strncasecmp(b, word, n) == 0;
}

/* Reads a run of digits at *p (at least one) as a non-negative int64. The
 * run cannot pass the end of the trimmed range: whitespace or NUL follows it. */
static enum cs_err read_digits(const char **p, int64_t *out)
{
    char *end;
    long long v;

    if (!is_digit(**p))
        return CS_CONFIG;
    errno = 0;
    v = strtoll(*p, &end, 10);
    if (errno == ERANGE || end == *p)
        return CS_CONFIG;
    *p = end;
    *out = v;
    return CS_OK;
}

struct unit {
    const char *name;
    int64_t mult;
};

/* Duration units, largest first: components must appear in this order. */
static const struct unit duration_units[] = {
    {"d", MS_PER_D}, {"h", MS_PER_H}, {"m", MS_PER_M}, {"s", MS_PER_S}, {"ms", 1},
};

#define N_DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

static int duration_unit(const char *b, const char *e)
{
    for (size_t i = 0; i < N_DURATION_UNITS; i++)
        if (word_eq(b, e, duration_units[i].name))
            return (int)i;
    return -1;
}

enum cs_err units_parse_duration(const char *s, int64_t *out_ms)
{
    const char *p, *end;
    int64_t total = 0;
    int last = -1;
    int parts = 0;

    trim(s, &p, &end);
    if (p == end)
        return CS_CONFIG;
    while (p < end) {
        int64_t n, mult;
        const char *u;
        int idx;

        if (read_digits(&p, &n))
            return CS_CONFIG;
        for (u = p; p < end && is_alpha(*p); p++)
            ;
        if (u == p) {
            /* No unit: only 0 on its own means one thing. */
            if (parts > 0 || p != end || n != 0)
                return CS_CONFIG;
            mult = MS_PER_S;
        } else {
            idx = duration_unit(u, p);
            if (idx < 0 || idx <= last)
                return CS_CONFIG;
            last = idx;
            mult = duration_units[idx].mult;
        }
        if (n > (UNITS_DURATION_MAX_MS - total) / mult)
            return CS_TOOBIG;
        total += n * mult;
        parts++;
    }
    *out_ms = total;
    return CS_OK;
}

bool units_duration_lacks_unit(const char *s)
{
    const char *p, *end;
    bool nonzero = false;

    trim(s, &p, &end);
    if (p == end)
        return false;
    for (; p < end; p++) {
        if (!is_digit(*p))
            return false;
        nonzero |= *p != '0';
    }
    return nonzero;
}

static const struct unit size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1000LL},
    {"kb", 1000LL},
    {"m", 1000000LL},
    {"mb", 1000000LL},
    {"g", 1000000000LL},
    {"gb", 1000000000LL},
    {"t", 1000000000000LL},
    {"tb", 1000000000000LL},
    {"kib", 1LL << 10},
    {"mib", 1LL << 20},
    {"gib", 1LL << 30},
    {"tib", 1LL << 40},
};

#define N_SIZE_UNITS (sizeof(size_units) / sizeof(size_units[0]))

/* Reads ".ddd" at *p (if present) as a fraction in [0, 1). */
static enum cs_err read_fraction(const char **p, long double *frac, bool *has)
{
    long double scale = 0.1L;

    *frac = 0;
    *has = false;
    if (**p != '.')
        return CS_OK;
    (*p)++;
    if (!is_digit(**p))
        return CS_CONFIG;
    for (; is_digit(**p); (*p)++) {
        *frac += (long double)(**p - '0') * scale;
        scale /= 10;
    }
    *has = true;
    return CS_OK;
}

enum cs_err units_parse_size(const char *s, int64_t *out_bytes)
{
    const char *p, *end, *u;
    int64_t ip, mult = 0, frac_bytes;
    long double frac;
    bool has_frac;

    trim(s, &p, &end);
    if (read_digits(&p, &ip) || read_fraction(&p, &frac, &has_frac))
        return CS_CONFIG;
    while (p < end && is_space(*p))
        p++;
    for (u = p; p < end && is_alpha(*p); p++)
        ;
    if (p != end)
        return CS_CONFIG;
    for (size_t i = 0; i < N_SIZE_UNITS; i++)
        if (word_eq(u, end, size_units[i].name))
            mult = size_units[i].mult;
    if (mult == 0 || (mult == 1 && has_frac))
        return CS_CONFIG;
    if (ip > INT64_MAX / mult)
        return CS_CONFIG;
    frac_bytes = (int64_t)(frac * (long double)mult + 0.5L);
    if (frac_bytes > INT64_MAX - ip * mult)
        return CS_CONFIG;
    *out_bytes = ip * mult + frac_bytes;
    return CS_OK;
}

/* Parses "H:MM" or "HH:MM" in [b, e). */
static enum cs_err parse_tod_range(const char *b, const char *e, int *out_min)
{
    int h = 0, m;
    const char *p = b;

    while (p < e && is_digit(*p) && p - b < 2)
        h = h * 10 + (*p++ - '0');
    if (p == b || p >= e || *p != ':')
        return CS_CONFIG;
    p++;
    if (e - p != 2 || !is_digit(p[0]) || !is_digit(p[1]))
        return CS_CONFIG;
    m = (p[0] - '0') * 10 + (p[1] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return CS_CONFIG;
    *out_min = h * 60 + m;
    return CS_OK;
}

enum cs_err units_parse_timeofday(const char *s, int *out_min)
{
    const char *b, *e;

    trim(s, &b, &e);
    return parse_tod_range(b, e, out_min);
}

enum cs_err units_parse_window(const char *s, struct window *out)
{
    const char *b, *e, *dash, *ae, *bb;
    int start, end;

    trim(s, &b, &e);
    if (word_eq(b, e, "always")) {
        *out = (struct window){.always = true, .start_min = 0, .end_min = 0};
        return CS_OK;
    }
    dash = memchr(b, '-', (size_t)(e - b));
    if (!dash)
        return CS_CONFIG;
    for (ae = dash; ae > b && is_space(ae[-1]); ae--)
        ;
    for (bb = dash + 1; bb < e && is_space(*bb); bb++)
        ;
    if (parse_tod_range(b, ae, &start) || parse_tod_range(bb, e, &end))
        return CS_CONFIG;
    if (start == MIN_PER_DAY)
        return CS_CONFIG;
    /* 24:00 as an end is midnight, which the crossing rule already means. */
    if (end == MIN_PER_DAY)
        end = 0;
    *out = (struct window){.always = start == end, .start_min = start, .end_min = end};
    return CS_OK;
}

const char *units_format_window(const struct window *w, char *buf, size_t bufsz)
{
    int end = w->end_min == 0 ? MIN_PER_DAY : w->end_min;

    if (w->always || w->start_min == w->end_min)
        snprintf(buf, bufsz, "always");
    else
        snprintf(buf, bufsz, "%02d:%02d-%02d:%02d", w->start_min / 60, w->start_min % 60,
                 end / 60, end % 60);
    return buf;
}

bool units_window_contains(const struct window *w, int m)
{
    if (w->always || w->start_min == w->end_min)
        return true;
    if (w->start_min < w->end_min)
        return m >= w->start_min && m < w->end_min;
    return m >= w->start_min || m < w->end_min;
}

enum cs_err units_parse_resolution(const char *s, int *w, int *h)
{
    const char *p, *end;
    int64_t a, b;

    trim(s, &p, &end);
    if (read_digits(&p, &a) || p >= end || (*p != 'x' && *p != 'X'))
        return CS_CONFIG;
    p++;
    if (read_digits(&p, &b) || p != end)
        return CS_CONFIG;
    if (a < RES_MIN || a > RES_MAX || b < RES_MIN || b > RES_MAX)
        return CS_CONFIG;
    *w = (int)a;
    *h = (int)b;
    return CS_OK;
}

enum cs_err units_parse_pixels(const char *s, int64_t *out)
{
    const char *p, *end;
    int64_t a, b = 1;

    trim(s, &p, &end);
    if (read_digits(&p, &a))
        return CS_CONFIG;
    if (p < end && (*p == 'x' || *p == 'X')) {
        p++;
        if (read_digits(&p, &b))
            return CS_CONFIG;
    } else if (p < end && (*p == 'M' || *p == 'm')) {
        p++;
        b = 1000000;
    }
    if (p != end || a < 1 || b < 1 || a > (INT64_C(1) << 40) / b)
        return CS_CONFIG;
    *out = a * b;
    return CS_OK;
}

enum cs_err units_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    const char *b, *e;
    char *end;
    long long v;

    trim(s, &b, &e);
    if (b == e || !(is_digit(*b) || ((*b == '-' || *b == '+') && e - b > 1 && is_digit(b[1]))))
        return CS_CONFIG;
    errno = 0;
    v = strtoll(b, &end, 10);
    if (errno == ERANGE || end != e)
        return CS_CONFIG;
    if (v < min || v > max)
        return CS_CONFIG;
    *out = v;
    return CS_OK;
}

enum cs_err units_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    const char *b, *e;

    trim(s, &b, &e);
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (word_eq(b, e, yes[i])) {
            *out = true;
            return CS_OK;
        }
        if (word_eq(b, e, no[i])) {
            *out = false;
            return CS_OK;
        }
    }
    return CS_CONFIG;
}

const char *units_format_duration(int64_t ms, char *buf, size_t bufsz)
{
    size_t off = 0;
    uint64_t left;
    int n;

    if (!buf || bufsz == 0)
        return buf;
    buf[0] = '\0';
    if (ms == 0) {
        snprintf(buf, bufsz, "0s");
        return buf;
    }
    left = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (ms < 0) {
        n = snprintf(buf, bufsz, "-");
        off = (size_t)n;
    }
    for (size_t i = 0; i < N_DURATION_UNITS && off < bufsz; i++) {
        uint64_t mult = (uint64_t)duration_units[i].mult;
        uint64_t q = left / mult;

        if (q == 0)
            continue;
        left -= q * mult;
        n = snprintf(buf + off, bufsz - off, "%llu%s", (unsigned long long)q,
                     duration_units[i].name);
        if (n < 0 || (size_t)n >= bufsz - off)
            break; /* truncated; buf stays NUL-terminated */
        off += (size_t)n;
    }
    return buf;
}

const char *units_format_size(int64_t bytes, char *buf, size_t bufsz)
{
    static const char *const names[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    const char *sign = bytes < 0 ? "-" : "";
    uint64_t v = bytes < 0 ? (uint64_t)0 - (uint64_t)bytes : (uint64_t)bytes;
    double x = (double)v;
    size_t u = 0;

    if (!buf || bufsz == 0)
        return buf;
    while (u + 1 < sizeof(names) / sizeof(names[0]) && x >= 999.5) {
        x /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, bufsz, "%s%llu B", sign, (unsigned long long)v);
    else if (x < 9.95 && (long long)(x * 10 + 0.5) % 10 != 0)
        snprintf(buf, bufsz, "%s%.1f %s", sign, x, names[u]);
    else
        snprintf(buf, bufsz, "%s%.0f %s", sign, x, names[u]);
    return buf;
}

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const day_full[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};

static int day_index(const char *s, size_t n)
{
    for (int d = 0; d < 7; d++)
        if ((n == 3 && !strncasecmp(s, day_names[d], 3)) ||
            (n == strlen(day_full[d]) && !strncasecmp(s, day_full[d], n)))
            return d;
    return -1;
}

enum cs_err units_parse_days(const char *s, int *mask)
{
    int m = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    if (!strcasecmp(s, "all") || !strcasecmp(s, "daily")) {
        *mask = UNITS_ALL_DAYS;
        return CS_OK;
    }
    while (*s) {
        size_t n = strcspn(s, ",- \t");
        int a = day_index(s, n), b;
        if (a < 0)
            return CS_CONFIG;
        s += n;
        b = a;
        if (*s == '-') {
            s++;
            n = strcspn(s, ", \t");
            if ((b = day_index(s, n)) < 0)
                return CS_CONFIG;
            s += n;
        }
        for (int d = a;; d = (d + 1) % 7) {
            m |= 1 << d;
            if (d == b)
                break;
        }
        s += strspn(s, " \t");
        if (*s == ',')
            s++;
        else if (*s)
            return CS_CONFIG;
        s += strspn(s, " \t");
    }
    if (!m)
        return CS_CONFIG;
    *mask = m;
    return CS_OK;
}

const char *units_format_days(int mask, char *buf, size_t bufsz)
{
    size_t n = 0;

    if ((mask & UNITS_ALL_DAYS) == UNITS_ALL_DAYS || !mask) {
        snprintf(buf, bufsz, "all");
        return buf;
    }
    if (mask == 0x3e) {
        snprintf(buf, bufsz, "mon-fri");
        return buf;
    }
    buf[0] = '\0';
    for (int i = 1; i <= 7; i++) {
        int d = i % 7; /* Monday first */
        if (!(mask & (1 << d)))
            continue;
        int w = snprintf(buf + n, bufsz - n, "%s%s", n ? "," : "", day_names[d]);
        if (w < 0 || (size_t)w >= bufsz - n)
            break;
        n += (size_t)w;
    }
    return buf;
}
