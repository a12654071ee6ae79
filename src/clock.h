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

/* Formats wall time ms in local time (TZ) as ISO 8601 with offset,
 * "2026-11-26T11:30:00+01:00"; with_ms adds ".123". Returns buf. */
const char *clock_format_iso(int64_t wall_ms, int with_ms, char *buf, size_t bufsz);

/* Formats wall time as "YYYYMMDD" and "HHMMSS" in local time. */
void clock_format_stamp(int64_t wall_ms, char date[9], char time[7]);

/* Sleeps until the monotonic time `until_ms` or until interrupted by a
 * signal; returns 0 when the time was reached, -1 when interrupted. */
int clock_sleep_until(int64_t until_ms);

#endif
