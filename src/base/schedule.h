/*
 * schedule.h - when rounds happen: every `interval`, aligned to the clock in
 * local time (5m: :00, :05, ...), inside the daily window on the allowed
 * weekdays. Pure functions of the wall time (TZ is the process's), so a
 * day, a window across midnight and clock jumps are tested in
 * milliseconds.
 */
#ifndef CAMSNAP_SCHEDULE_H
#define CAMSNAP_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "units.h"

/* The first round time >= wall (ms), aligned in local time. */
int64_t schedule_align(int64_t wall, int64_t interval_ms);

/* Is the instant inside the window on an allowed day? A window that crosses
 * midnight belongs to the day it starts on (22:00-06:00 on mon-fri includes
 * Saturday 02:00). */
bool schedule_in_window(const struct window *w, int days, int64_t wall);

/* The first aligned round time >= wall that lies inside the window
 * (searches 8 days ahead; 0 when the window never opens). */
int64_t schedule_next_round(const struct window *w, int days, int64_t interval_ms,
                            int64_t wall);

/* The window and its days as configured, for people: "11:00-22:00",
 * "11:00-22:00 on mon-fri", "always", "always on sat,sun". Returns buf. */
const char *schedule_describe(const struct window *w, int days, char *buf, size_t sz);

#endif
