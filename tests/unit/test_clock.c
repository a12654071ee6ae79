/* test_clock.c - the two clocks: ISO 8601 and file-name stamps in several
 * zones (expected strings computed independently, with Python's zoneinfo),
 * a replaced source, the test clock of CAMSNAP_TEST_CLOCK (start time,
 * speed, wall-clock jumps, malformed values refused) and sleeping on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static void tz(const char *name)
{
    setenv("TZ", name, 1);
    tzset();
}

/* The system's monotonic clock, read here rather than through clock.h. */
static int64_t real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void real_sleep(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int restore(void **state)
{
    (void)state;
    clock_set_source(NULL, NULL);
    unsetenv("CAMSNAP_TEST_CLOCK");
    return 0;
}

static void iso_in_zones(void **state)
{
    char buf[64];

    (void)state;
    tz("UTC");
    assert_string_equal(clock_format_iso(1795690500000LL, 0, buf, sizeof(buf)),
                        "2026-11-26T10:55:00+00:00");
    tz("Europe/Paris");
    assert_string_equal(clock_format_iso(1782900000000LL, 0, buf, sizeof(buf)),
                        "2026-07-01T12:00:00+02:00");
    assert_string_equal(clock_format_iso(1768462205123LL, 1, buf, sizeof(buf)),
                        "2026-01-15T08:30:05.123+01:00");
    /* Half-hour offsets, west and east of Greenwich. */
    tz("America/St_Johns");
    assert_string_equal(clock_format_iso(1768478405007LL, 1, buf, sizeof(buf)),
                        "2026-01-15T08:30:05.007-03:30");
    tz("Asia/Kolkata");
    assert_string_equal(clock_format_iso(1772389799000LL, 0, buf, sizeof(buf)),
                        "2026-03-01T23:59:59+05:30");
    /* A buffer too small is cut, never overrun, and always terminated. */
    memset(buf, 'x', sizeof(buf));
    clock_format_iso(1772389799000LL, 1, buf, 11);
    assert_string_equal(buf, "2026-03-01");
    assert_int_equal(buf[11], 'x');
}

static void stamps(void **state)
{
    char date[9], tod[7];

    (void)state;
    tz("Asia/Kolkata");
    clock_format_stamp(1772389799000LL, date, tod);
    assert_string_equal(date, "20260301");
    assert_string_equal(tod, "235959");
    tz("UTC");
    clock_format_stamp(1772389799000LL, date, tod);
    assert_string_equal(date, "20260301");
    assert_string_equal(tod, "182959");
}

static int64_t fixed_mono(void)
{
    return 42000;
}

static int64_t fixed_wall(void)
{
    return 1795690500000LL;
}

static void replaced_source(void **state)
{
    int64_t before = real_ms(), t;

    (void)state;
    clock_set_source(fixed_mono, fixed_wall);
    assert_int_equal(clock_mono_ms(), 42000);
    assert_int_equal(clock_wall_ms(), 1795690500000LL);
    /* A time already reached returns at once. */
    assert_int_equal(clock_sleep_until(41000), 0);
    assert_true(real_ms() - before < 1000);
    /* A replaced clock is not the kernel's: the wait is relative (8 ms). */
    t = real_ms();
    assert_int_equal(clock_sleep_until(42008), 0);
    assert_true(real_ms() - t >= 7);
    clock_set_source(NULL, NULL);
    /* Back on the system clocks: the wall clock is today's, not 2026-11-26. */
    t = (int64_t)time(NULL) * 1000;
    assert_true(clock_wall_ms() - t > -2000 && clock_wall_ms() - t < 2000);
    t = real_ms();
    assert_true(clock_mono_ms() - t > -1000 && clock_mono_ms() - t < 1000);
    assert_int_equal(clock_real_ms(1000), 1000);
}

static void system_sleep(void **state)
{
    int64_t t0 = clock_mono_ms();

    (void)state;
    assert_int_equal(clock_sleep_until(t0 + 30), 0);
    assert_true(clock_mono_ms() - t0 >= 29);
}

static void malformed_test_clock(void **state)
{
    static const char *const bad[] = {
        "tomorrow",
        "2026-11-26", /* no time of day */
        "2026-11-26T10:55:00,speed=0",
        "2026-11-26T10:55:00,speed=-5",
        "2026-11-26T10:55:00,speed=fast",
        "2026-11-26T10:55:00,speed=5x",
        "2026-11-26T10:55:00,speed=",
        "2026-11-26T10:55:00,jump=30", /* no @AFTER */
        "2026-11-26T10:55:00,jump=30@",
        "2026-11-26T10:55:00,jump=@5",
        "2026-11-26T10:55:00,warp=9",
        "2026-11-26T10:55:00;speed=2",
        "2026-11-26T10:55:00,jump=1@1,jump=1@2,jump=1@3,jump=1@4,jump=1@5,jump=1@6,jump=1@7,"
        "jump=1@8,jump=1@9", /* more jumps than it keeps */
    };

    (void)state;
    tz("UTC");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("CAMSNAP_TEST_CLOCK", bad[i], 1);
        if (clock_setup_from_env() != -1)
            fail_msg("CAMSNAP_TEST_CLOCK=\"%s\" was accepted", bad[i]);
        /* A refused value changes nothing: the system clocks still run. */
        assert_int_equal(clock_real_ms(1000), 1000);
        assert_true(clock_wall_ms() / 1000 - time(NULL) < 5);
    }
    /* Unset or empty: nothing to do, and no error. */
    setenv("CAMSNAP_TEST_CLOCK", "", 1);
    assert_int_equal(clock_setup_from_env(), 0);
    unsetenv("CAMSNAP_TEST_CLOCK");
    assert_int_equal(clock_setup_from_env(), 0);
    assert_int_equal(clock_real_ms(1000), 1000);
}

/* speed=100: one real millisecond is 100 on both clocks, and waits are
 * scaled down by as much. The bounds come from the system clock read just
 * outside the clock.h reads, so a slow machine cannot break them. */
static void test_clock_speed(void **state)
{
    int64_t r0, w0, m0, r1, w1, m1, r2, t;

    (void)state;
    tz("UTC");
    setenv("CAMSNAP_TEST_CLOCK", "2026-11-26T10:55:00,speed=100", 1);
    r0 = real_ms();
    assert_int_equal(clock_setup_from_env(), 0);
    w0 = clock_wall_ms();
    m0 = clock_mono_ms();
    r1 = real_ms();
    assert_true(w0 >= 1795690500000LL && w0 <= 1795690500000LL + (r1 - r0 + 1) * 100);
    real_sleep(50);
    r2 = real_ms();
    w1 = clock_wall_ms();
    m1 = clock_mono_ms();
    t = real_ms();
    /* At least the 50 ms slept, at most everything since set-up, times 100. */
    assert_true(w1 - w0 >= (r2 - r1 - 1) * 100);
    assert_true(w1 - w0 <= (t - r0 + 1) * 100);
    assert_true(m1 - m0 >= (r2 - r1 - 1) * 100);
    assert_true(m1 - m0 <= (t - r0 + 1) * 100);
    /* Durations on the fast clocks become real ones for poll() and sleeps. */
    assert_int_equal(clock_real_ms(1000), 10);
    assert_int_equal(clock_real_ms(50), 1);
    assert_int_equal(clock_real_ms(0), 0);
    assert_int_equal(clock_real_ms(-5), 0);
    /* Two fake seconds are 20 real milliseconds. */
    t = real_ms();
    assert_int_equal(clock_sleep_until(clock_mono_ms() + 2000), 0);
    assert_true(real_ms() - t >= 19);
    assert_true(real_ms() - t < 1500);
}

/* How far the wall clock has jumped, as an interval: wall - mono is
 * constant between jumps, and the two reads are bracketed by mono reads. */
static void jumped(int64_t w0, int64_t m0a, int64_t m0b, int64_t *lo, int64_t *hi)
{
    int64_t m1a = clock_mono_ms(), w1 = clock_wall_ms(), m1b = clock_mono_ms();

    *lo = (w1 - m1b) - (w0 - m0a);
    *hi = (w1 - m1a) - (w0 - m0b);
}

static void wait_fake(int64_t m0, int64_t ms)
{
    while (clock_mono_ms() - m0 < ms)
        real_sleep(1);
}

/* The wall clock jumps back an hour one fake second in, then forward two
 * minutes; the monotonic clock goes on as if nothing happened. */
static void wall_clock_jumps(void **state)
{
    int64_t m0a, w0, m0b, lo, hi;

    (void)state;
    tz("Europe/Paris");
    setenv("CAMSNAP_TEST_CLOCK", "2026-07-01T12:00:00,speed=100,jump=-3600@1,jump=+120@3", 1);
    assert_int_equal(clock_setup_from_env(), 0);
    m0a = clock_mono_ms();
    w0 = clock_wall_ms();
    m0b = clock_mono_ms();
    assert_true(w0 >= 1782900000000LL && w0 < 1782900000000LL + 1000);
    jumped(w0, m0a, m0b, &lo, &hi);
    assert_true(lo <= 0 && 0 <= hi);
    wait_fake(m0b, 1500);
    if (clock_mono_ms() - m0a < 3000) { /* not yet past the second jump */
        jumped(w0, m0a, m0b, &lo, &hi);
        assert_true(lo <= -3600000 && -3600000 <= hi);
    }
    wait_fake(m0b, 3500);
    jumped(w0, m0a, m0b, &lo, &hi);
    assert_true(lo <= -3480000 && -3480000 <= hi);
    assert_true(clock_mono_ms() - m0b >= 3500);
}

/* Set up twice (a failed value in between): the second set-up starts from
 * its own value only, with no jump of the first one left over. */
static void setup_twice(void **state)
{
    int64_t w;

    (void)state;
    tz("UTC");
    setenv("CAMSNAP_TEST_CLOCK", "2026-11-26T10:55:00,speed=1,jump=-86400@0", 1);
    assert_int_equal(clock_setup_from_env(), 0);
    assert_true(clock_wall_ms() < 1795690500000LL - 86000000LL);
    setenv("CAMSNAP_TEST_CLOCK", "2026-11-26T10:55:00,jump=5@1,speed=0", 1);
    assert_int_equal(clock_setup_from_env(), -1);
    setenv("CAMSNAP_TEST_CLOCK", "2026-11-26T10:55:00,speed=1", 1);
    assert_int_equal(clock_setup_from_env(), 0);
    w = clock_wall_ms();
    assert_true(w >= 1795690500000LL && w < 1795690500000LL + 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(iso_in_zones, restore),
        cmocka_unit_test_teardown(stamps, restore),
        cmocka_unit_test_teardown(replaced_source, restore),
        cmocka_unit_test_teardown(system_sleep, restore),
        cmocka_unit_test_teardown(malformed_test_clock, restore),
        cmocka_unit_test_teardown(test_clock_speed, restore),
        cmocka_unit_test_teardown(wall_clock_jumps, restore),
        cmocka_unit_test_teardown(setup_twice, restore),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
