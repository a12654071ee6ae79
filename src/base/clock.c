#include "clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Reads exactly n digits at *p (advancing it); -1 when they are not there. */
static int digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

/* "Z", "+HH", "+HHMM" or "+HH:MM" at p, the whole rest of the string. */
static int parse_offset(const char *p, long *off)
{
    int sign, h, m = 0;

    if (!strcmp(p, "Z") || !strcmp(p, "z")) {
        *off = 0;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -1;
    sign = *p++ == '-' ? -1 : 1;
    if ((h = digits(&p, 2)) < 0 || h > 23)
        return -1;
    if (*p == ':')
        p++;
    if (*p && ((m = digits(&p, 2)) < 0 || m > 59))
        return -1;
    if (*p)
        return -1;
    *off = sign * (h * 3600L + m * 60L);
    return 0;
}

int clock_parse_iso(const char *s, int64_t *wall_ms)
{
    struct tm tm = {0};
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    long off = 0;
    bool local = true;

    if ((y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 ||
        *p++ != '-' || (d = digits(&p, 2)) < 1 || d > 31)
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' || (mi = digits(&p, 2)) < 0 ||
            mi > 59)
            return -1;
        if (*p == ':' && (p++, (sec = digits(&p, 2)) < 0 || sec > 60))
            return -1;
    }
    if (*p) {
        if (parse_offset(p, &off))
            return -1;
        local = false;
    }
    tm = (struct tm){.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi, .tm_sec = sec, .tm_isdst = -1};
    time_t t = local ? mktime(&tm) : timegm(&tm);
    /* mktime/timegm normalise a 31 April into 1 May: refuse what moved. */
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
        return -1;
    *wall_ms = ((int64_t)t - (local ? 0 : off)) * 1000;
    return 0;
}

/* ---- the test time source ---- */

#define MAX_JUMPS 8

static struct fake_clock {
    int64_t real_start;         /* system monotonic at set-up */
    int64_t wall_start;         /* fake wall time at set-up */
    int64_t speed;
    int64_t jump_at[MAX_JUMPS]; /* fake elapsed ms */
    int64_t jump_by[MAX_JUMPS];
    int n_jumps;
} fake;

static int64_t fake_elapsed(void)
{
    return (sys_mono() - fake.real_start) * fake.speed;
}

static int64_t fake_mono(void)
{
    return fake.real_start + fake_elapsed();
}

static int64_t fake_wall(void)
{
    int64_t e = fake_elapsed(), w = fake.wall_start + e;

    for (int i = 0; i < fake.n_jumps; i++)
        if (e >= fake.jump_at[i])
            w += fake.jump_by[i];
    return w;
}

/* A decimal number at p (sign allowed) into *v; NULL when there is none. */
static const char *number(const char *p, int64_t *v)
{
    char *end;

    *v = strtoll(p, &end, 10);
    return end == p ? NULL : end;
}

int clock_setup_from_env(void)
{
    const char *env = getenv("CAMSNAP_TEST_CLOCK");
    struct fake_clock f = {.speed = 1}; /* a refused value leaves the clocks as they were */
    struct tm tm = {0};
    const char *p;
    int64_t v;

    if (!env || !*env)
        return 0;
    p = strptime(env, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    tm.tm_isdst = -1;
    f.wall_start = (int64_t)mktime(&tm) * 1000;
    while (*p == ',') {
        p++;
        if (!strncmp(p, "speed=", 6)) {
            if (!(p = number(p + 6, &f.speed)))
                return -1;
        } else if (!strncmp(p, "jump=", 5) && f.n_jumps < MAX_JUMPS) {
            if (!(p = number(p + 5, &v)) || *p != '@')
                return -1;
            f.jump_by[f.n_jumps] = v * 1000;
            if (!(p = number(p + 1, &v)))
                return -1;
            f.jump_at[f.n_jumps++] = v * 1000;
        } else {
            return -1;
        }
    }
    if (*p || f.speed < 1)
        return -1;
    f.real_start = sys_mono();
    fake = f;
    clock_set_source(fake_mono, fake_wall);
    return 0;
}

int64_t clock_real_ms(int64_t ms)
{
    int64_t speed = atomic_load(&mono_fn) == fake_mono ? fake.speed : 1;

    if (ms <= 0)
        return 0;
    return ms / speed > 0 ? ms / speed : 1;
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
        int64_t d = clock_real_ms(until_ms - now);
        ts.tv_sec = d / 1000;
        ts.tv_nsec = (d % 1000) * 1000000;
        return nanosleep(&ts, NULL) == 0 ? 0 : -1;
    }
    ts.tv_sec = until_ms / 1000;
    ts.tv_nsec = (until_ms % 1000) * 1000000;
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    return rc == 0 ? 0 : -1;
}
