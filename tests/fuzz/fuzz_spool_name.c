/*
 * fuzz_spool_name.c - libFuzzer target for spool_parse_name and its round
 * trip through spool_format_name (src/local/spool.h).
 *
 * Invariants checked (trap on violation), for a parsed name whose date and
 * time are a real UTC calendar stamp in years 1000..9999:
 *   - formatting the parsed fields succeeds and parses back to the same
 *     fields;
 *   - when the input is canonical (one '.', no leading zeros in width,
 *     height or seq), formatting reproduces the input exactly.
 * TZ is UTC so that local time == UTC and timegm() is the inverse.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static int num(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* The wall time of the parsed date and time; false when it is not a real
 * stamp that strftime("%Y%m%d_%H%M%S") gives back unchanged. */
static bool stamp_of(const struct spool_name *n, int64_t *wall_ms)
{
    struct tm tm = {0}, back;
    time_t t;

    tm.tm_year = num(n->date, 4) - 1900;
    tm.tm_mon = num(n->date + 4, 2) - 1;
    tm.tm_mday = num(n->date + 6, 2);
    tm.tm_hour = num(n->time, 2);
    tm.tm_min = num(n->time + 2, 2);
    tm.tm_sec = num(n->time + 4, 2);
    if (tm.tm_year + 1900 < 1000)
        return false;
    back = tm;
    t = timegm(&back);
    if (!gmtime_r(&t, &back) || back.tm_year != tm.tm_year || back.tm_mon != tm.tm_mon ||
        back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour || back.tm_min != tm.tm_min ||
        back.tm_sec != tm.tm_sec)
        return false;
    *wall_ms = (int64_t)t * 1000;
    return true;
}

/* One '.' in the base name and no leading zero in width, height or seq. */
static bool canonical(const char *relpath)
{
    const char *base = strchr(relpath, '/') + 1, *q = base + 16;

    if (strchr(base, '.') != strrchr(base, '.'))
        return false;
    for (;;) {
        if (*q == '0')
            return false;
        q += strspn(q, "0123456789");
        if (*q != '_')
            return true;
        q++;
    }
}

static bool same(const struct spool_name *a, const struct spool_name *b)
{
    return !strcmp(a->camera, b->camera) && !strcmp(a->date, b->date) &&
           !strcmp(a->time, b->time) && a->width == b->width && a->height == b->height &&
           a->seq == b->seq && !strcmp(a->ext, b->ext);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct spool_name n, again;
    char out[SPOOL_REL_MAX];
    int64_t wall_ms;
    char *s = malloc(size + 1);

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (spool_parse_name(s, &n) != CS_OK || !stamp_of(&n, &wall_ms))
        goto out;
    if (spool_format_name(n.camera, wall_ms, n.width, n.height, n.seq, n.ext, out, sizeof(out)) !=
        CS_OK)
        __builtin_trap();
    if (spool_parse_name(out, &again) != CS_OK || !same(&n, &again))
        __builtin_trap();
    if (canonical(s) && strcmp(out, s) != 0)
        __builtin_trap();
out:
    free(s);
    return 0;
}
