/*
 * units.h - parsing and formatting of the value types found in the
 * configuration and on the command line: durations ("30s", "5m", "2h",
 * "1h30m", "250ms"), sizes ("100MB", "1.5GiB", "512k"), times of day
 * ("HH:MM"), daily windows ("11:00-22:00", "always"), resolutions
 * ("2592x1944") and bounded integers.
 *
 * Pure functions: no allocation, no global state, thread-safe.
 * Every parser returns CS_OK or CS_CONFIG and never reads past the string.
 */
#ifndef CAMSNAP_UNITS_H
#define CAMSNAP_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A daily window in minutes after local midnight. start == end means
 * "always". end < start crosses midnight (22:00-06:00). */
struct window {
    bool always;
    int start_min; /* 0..1439 */
    int end_min;   /* 0..1439; exclusive */
};

/* The longest duration any parse accepts (about 10 years): a value that
 * parses can be added to any clock without overflow. */
#define UNITS_DURATION_MAX_MS (3650LL * 24 * 3600 * 1000) /* longer: CS_TOOBIG */

/* Duration with units ms, s, m, h, d (combinable: "1h30m"). Result in
 * milliseconds. A number without a unit is refused (CS_CONFIG: "30" could
 * mean seconds or days), except 0, the same in every unit. */
enum cs_err units_parse_duration(const char *s, int64_t *out_ms);

/* True when s is a whole number without a unit, other than 0 (surrounding
 * whitespace allowed): the duration units_parse_duration refuses for want
 * of a unit, so that the caller can say "add a unit". */
bool units_duration_lacks_unit(const char *s);

/* Size with units B, k/K/KB, M/MB, G/GB (powers of 1000) and KiB, MiB, GiB
 * (powers of 1024); a bare number is bytes. Fractions allowed ("1.5GB"). */
enum cs_err units_parse_size(const char *s, int64_t *out_bytes);

/* "HH:MM" (00:00..23:59 and 24:00) into minutes after midnight. */
enum cs_err units_parse_timeofday(const char *s, int *out_min);

/* "HH:MM-HH:MM" or "always". */
enum cs_err units_parse_window(const char *s, struct window *out);

/* Formats a window as units_parse_window reads it ("11:00-22:00",
 * "22:00-06:00", "always"). Returns buf. */
const char *units_format_window(const struct window *w, char *buf, size_t bufsz);

/* True when minute-of-day m (0..1439) lies inside w. */
bool units_window_contains(const struct window *w, int m);

/* Days of the week as a bit mask, bit d = struct tm's tm_wday d (0 Sunday).
 * "all"/"daily", or a comma list of days and ranges: "mon-fri", "sat,sun",
 * "fri-mon" (wraps). Names: sun mon tue wed thu fri sat (or full names). */
#define UNITS_ALL_DAYS 0x7f
enum cs_err units_parse_days(const char *s, int *mask);

/* Formats a day mask ("all", "mon-fri", "mon,wed,sat"). Returns buf. */
const char *units_format_days(int mask, char *buf, size_t bufsz);

/* "WIDTHxHEIGHT", each 16..65500 (SPOOL_MAX_DIMENSION, the largest JPEG side). */
enum cs_err units_parse_resolution(const char *s, int *w, int *h);

/* A pixel count: "WIDTHxHEIGHT" (their product), a whole number, or a
 * whole number of millions with an M suffix ("12M"). 1 .. 2^40. */
enum cs_err units_parse_pixels(const char *s, int64_t *out);

/* Whole decimal integer in [min, max] (strtoll with end and range checks). */
enum cs_err units_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* "yes/no/true/false/on/off/1/0". */
enum cs_err units_parse_bool(const char *s, bool *out);

/* Formats ms as the shortest exact unit form ("5m", "1h30m", "250ms",
 * "0s"), which units_parse_duration reads back to the same value. Returns
 * buf. */
const char *units_format_duration(int64_t ms, char *buf, size_t bufsz);

/* Formats bytes for people ("1.5 MB", "812 KB", "17 B"). Returns buf. */
const char *units_format_size(int64_t bytes, char *buf, size_t bufsz);

#endif
