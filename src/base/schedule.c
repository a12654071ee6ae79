#include "schedule.h"

#include <stdio.h>
#include <time.h>

static void local(int64_t wall, struct tm *tm)
{
    time_t t = (time_t)(wall / 1000);

    localtime_r(&t, tm);
}

int64_t schedule_align(int64_t wall, int64_t interval_ms)
{
    struct tm tm;
    int64_t off;

    /* The key table bounds interval (7d) and wall clocks are far from the
     * limits, but an aligned time must never wrap: saturate instead. */
    if (interval_ms <= 0 || wall > INT64_MAX / 2 || interval_ms > INT64_MAX / 4)
        return wall;
    local(wall, &tm);
    off = (int64_t)tm.tm_gmtoff * 1000;
    return ((wall + off + interval_ms - 1) / interval_ms) * interval_ms - off;
}

bool schedule_in_window(const struct window *w, int days, int64_t wall)
{
    struct tm tm;
    int m, day;

    local(wall, &tm);
    m = tm.tm_hour * 60 + tm.tm_min;
    day = tm.tm_wday;
    if (w->always || w->start_min == w->end_min)
        return days & (1 << day);
    if (!units_window_contains(w, m))
        return false;
    if (w->end_min < w->start_min && m < w->end_min)
        day = (day + 6) % 7; /* after midnight: the window opened yesterday */
    return days & (1 << day);
}

/* The local time HH:MM (minute of day `min`) on the day containing wall,
 * plus `days` days, as wall ms: computed by mktime from the calendar, not
 * by adding hours to midnight, which lands an hour off on the days the
 * clocks change. A time that does not exist that day (in the spring gap)
 * comes out as the first one after it. */
static int64_t local_time_on(int64_t wall, int days, int min)
{
    struct tm tm;

    local(wall, &tm);
    tm.tm_hour = min / 60;
    tm.tm_min = min % 60;
    tm.tm_sec = 0;
    tm.tm_mday += days;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

int64_t schedule_next_round(const struct window *w, int days, int64_t interval_ms,
                            int64_t wall)
{
    int64_t t = schedule_align(wall, interval_ms);

    if (schedule_in_window(w, days, t))
        return t;
    /* Otherwise the round is the first aligned slot at or after one of the
     * next window openings (yesterday's too: a window across midnight may
     * still be open). A slot past the window's end means that opening has
     * none (interval longer than the window): try the next day. */
    for (int d = -1; d <= 8; d++) {
        int64_t open = local_time_on(wall, d, w->always ? 0 : w->start_min);
        t = schedule_align(open > wall ? open : wall, interval_ms);
        if (t >= wall && schedule_in_window(w, days, t))
            return t;
    }
    return 0;
}

const char *schedule_describe(const struct window *w, int days, char *buf, size_t sz)
{
    char win[32], d[64];

    units_format_window(w, win, sizeof(win));
    if ((days & UNITS_ALL_DAYS) == UNITS_ALL_DAYS)
        snprintf(buf, sz, "%s", win);
    else
        snprintf(buf, sz, "%s on %s", win, units_format_days(days, d, sizeof(d)));
    return buf;
}
