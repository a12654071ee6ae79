#include "schedule.h"

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

/* Local midnight of the day containing wall, plus `days` days. */
static int64_t midnight(int64_t wall, int days)
{
    struct tm tm;

    local(wall, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
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
    /* Try each window opening in the next 8 days, then walk a few rounds
     * from there (the grid may not hit the opening minute exactly). */
    for (int d = 0; d <= 8; d++) {
        int64_t open = midnight(wall, d) + (int64_t)w->start_min * 60000;
        if (open + 60000 <= wall)
            continue;
        t = schedule_align(open > wall ? open : wall, interval_ms);
        for (int i = 0; i < 64 && t < open + 86400000; i++, t += interval_ms)
            if (schedule_in_window(w, days, t))
                return t;
    }
    return 0;
}
