/*
 * fuzz_units.c - libFuzzer target for the value parsers of src/base/units.h:
 * durations, sizes, times of day, windows, days, resolutions, integers and
 * booleans, all on the same NUL-terminated input.
 *
 * Invariants checked (trap on violation): results lie in their documented
 * ranges; a parsed duration and a parsed day mask survive a round trip
 * through their formatter.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void durations(const char *s)
{
    int64_t ms, back;
    char buf[64];

    if (units_parse_duration(s, &ms) != CS_OK)
        return;
    if (ms < 0)
        __builtin_trap();
    units_format_duration(ms, buf, sizeof(buf));
    if (units_parse_duration(buf, &back) != CS_OK || back != ms)
        __builtin_trap();
}

static void sizes(const char *s)
{
    int64_t bytes;
    char buf[64];

    if (units_parse_size(s, &bytes) != CS_OK)
        return;
    if (bytes < 0)
        __builtin_trap();
    units_format_size(bytes, buf, sizeof(buf));
}

static void windows(const char *s)
{
    struct window w;
    int m;

    if (units_parse_timeofday(s, &m) == CS_OK && (m < 0 || m > 1440))
        __builtin_trap();
    if (units_parse_window(s, &w) != CS_OK)
        return;
    if (w.start_min < 0 || w.start_min >= 1440 || w.end_min < 0 || w.end_min >= 1440 ||
        w.always != (w.start_min == w.end_min))
        __builtin_trap();
    for (int i = 0; i < 1440; i += 97)
        (void)units_window_contains(&w, i);
}

static void days(const char *s)
{
    int mask, back;
    char buf[64];

    if (units_parse_days(s, &mask) != CS_OK)
        return;
    if (mask <= 0 || mask > UNITS_ALL_DAYS)
        __builtin_trap();
    units_format_days(mask, buf, sizeof(buf));
    if (units_parse_days(buf, &back) != CS_OK || back != mask)
        __builtin_trap();
}

static void others(const char *s)
{
    int w, h;
    int64_t v;
    bool b;

    if (units_parse_resolution(s, &w, &h) == CS_OK && (w < 16 || w > 65500 || h < 16 || h > 65500))
        __builtin_trap();
    if (units_parse_int(s, -10, 100, &v) == CS_OK && (v < -10 || v > 100))
        __builtin_trap();
    (void)units_parse_int(s, INT64_MIN, INT64_MAX, &v);
    (void)units_parse_bool(s, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    durations(s);
    sizes(s);
    windows(s);
    days(s);
    others(s);
    free(s);
    return 0;
}
