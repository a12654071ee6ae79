/*
 * clock.h - the two clocks. Deadlines, timeouts and backoff use the monotonic
 * clock; wall-clock time is only for timestamps and file names.
 *
 * Both can be replaced by a test (clock_set_source) so a day's window,
 * backoff and clock jumps are tested in seconds. Thread-safe: reads are
 * atomic; replace the source only before threads start.
 */
#ifndef CAMSNAP_CLOCK_H
#define CAMSNAP_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t clock_mono_ms(void);

/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t clock_wall_ms(void);

/* Replaces both clocks (NULL restores the system clocks). */
void clock_set_source(int64_t (*mono)(void), int64_t (*wall)(void));

/* Test time source: when the environment variable CAMSNAP_TEST_CLOCK is
 * set, both clocks run from a given wall time at a given speed, with wall
 * clock jumps at given moments, so a day's schedule runs in a minute:
 *   CAMSNAP_TEST_CLOCK="2026-11-26T10:55:00,speed=600,jump=-3600@1200"
 * (local time; jump=+-SECONDS@AFTER_FAKE_SECONDS, repeatable). Waits must go
 * through clock_real_ms() to be scaled. Returns 0, or -1 when the variable
 * is malformed. Call once, before threads start. */
int clock_setup_from_env(void);

/* Converts a duration on the (possibly sped-up) clocks to real milliseconds
 * for poll()/sleep timeouts; at least 1 when ms > 0. */
int64_t clock_real_ms(int64_t ms);

/* Formats wall time ms in local time (TZ) as ISO 8601 with offset,
 * "2026-11-26T11:30:00+01:00"; with_ms adds ".123". Returns buf. */
const char *clock_format_iso(int64_t wall_ms, int with_ms, char *buf, size_t bufsz);

/* Parses an ISO 8601 date "2026-11-26" (its local midnight) or date-time
 * "2026-11-26T11:30", "2026-11-26T11:30:15" (a space may stand for the T):
 * local time (TZ) unless it ends with "Z" or an offset ("+01:00", "+0100",
 * "-05"). Returns 0 and sets *wall_ms, or -1 when s is not such a time. */
int clock_parse_iso(const char *s, int64_t *wall_ms);

/* Formats wall time as "YYYYMMDD" and "HHMMSS" in local time. */
void clock_format_stamp(int64_t wall_ms, char date[9], char time[7]);

/* Sleeps until the monotonic time `until_ms` or until interrupted by a
 * signal; returns 0 when the time was reached, -1 when interrupted. */
int clock_sleep_until(int64_t until_ms);

#endif
