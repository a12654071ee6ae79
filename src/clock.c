#include "clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t sys_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _Atomic(int64_t (*)(void)) mono_fn = sys_mono;
static _Atomic(int64_t (*)(void)) wall_fn = sys_wall;

int64_t clock_mono_ms(void)
{
    return atomic_load(&mono_fn)();
}

int64_t clock_wall_ms(void)
{
    return atomic_load(&wall_fn)();
}

void clock_set_source(int64_t (*mono)(void), int64_t (*wall)(void))
{
    atomic_store(&mono_fn, mono ? mono : sys_mono);
    atomic_store(&wall_fn, wall ? wall : sys_wall);
}

static void local_tm(int64_t wall_ms, struct tm *tm)
{
    time_t t = (time_t)(wall_ms / 1000);
    localtime_r(&t, tm);
}

const char *clock_format_iso(int64_t wall_ms, int with_ms, char *buf, size_t bufsz)
{
    struct tm tm;
    char base[32];
    long off;
    char sign;

    local_tm(wall_ms, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    off = tm.tm_gmtoff;
    sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    if (with_ms)
        snprintf(buf, bufsz, "%s.%03d%c%02ld:%02ld", base, (int)(wall_ms % 1000), sign,
                 off / 3600, (off % 3600) / 60);
    else
        snprintf(buf, bufsz, "%s%c%02ld:%02ld", base, sign, off / 3600, (off % 3600) / 60);
    return buf;
}

void clock_format_stamp(int64_t wall_ms, char date[9], char tod[7])
{
    struct tm tm;

    local_tm(wall_ms, &tm);
    strftime(date, 9, "%Y%m%d", &tm);
    strftime(tod, 7, "%H%M%S", &tm);
}

int clock_sleep_until(int64_t until_ms)
{
    int64_t now = clock_mono_ms();
    struct timespec ts;

    if (until_ms <= now)
        return 0;
    /* With a replaced clock the kernel's monotonic clock is not the test's,
     * so sleep relative; with the system clock use an absolute deadline. */
    if (atomic_load(&mono_fn) != sys_mono) {
        int64_t d = until_ms - now;
        ts.tv_sec = d / 1000;
        ts.tv_nsec = (d % 1000) * 1000000;
        return nanosleep(&ts, NULL) == 0 ? 0 : -1;
    }
    ts.tv_sec = until_ms / 1000;
    ts.tv_nsec = (until_ms % 1000) * 1000000;
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    return rc == 0 ? 0 : -1;
}
