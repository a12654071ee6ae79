/* test_schedule.c - when the next round is, across DST changes in several
 * zones (expected instants computed independently, with Python's zoneinfo),
 * windows across midnight, weekdays, intervals longer than the window,
 * alignment to a half-hour zone's clock, days that allow nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <time.h>

#include "schedule.h"
#include "units.h"

static void tz(const char *name)
{
    setenv("TZ", name, 1);
    tzset();
}

static struct window win(const char *text)
{
    struct window w;

    assert_int_equal(units_parse_window(text, &w), CS_OK);
    return w;
}

static int all_days(void)
{
    int d;

    assert_int_equal(units_parse_days("all", &d), CS_OK);
    return d;
}

#define MIN 60000LL

/* 2026-03-29: Paris springs forward at 02:00. The old code added 11 hours to
 * midnight and said 12:00. */
static void paris_spring(void **state)
{
    struct window w = win("11:00-22:00");

    (void)state;
    tz("Europe/Paris");
    assert_int_equal(schedule_next_round(&w, all_days(), 5 * MIN, 1774747800000LL),
                     1774774800000LL);
    assert_int_equal(schedule_next_round(&w, all_days(), 5 * MIN, 1774735200000LL),
                     1774774800000LL);
}

/* 2026-10-25: Paris falls back at 03:00; with a short interval the old code
 * walked 64 slots from 10:00 and skipped the day. */
static void paris_autumn(void **state)
{
    struct window w = win("11:00-22:00");

    (void)state;
    tz("Europe/Paris");
    assert_int_equal(schedule_next_round(&w, all_days(), 1000, 1792881000000LL), 1792922400000LL);
    assert_int_equal(schedule_next_round(&w, all_days(), 1000, 1792888200000LL), 1792922400000LL);
    assert_int_equal(schedule_next_round(&w, all_days(), 5 * MIN, 1792888200000LL),
                     1792922400000LL);
}

static void new_york(void **state)
{
    struct window w = win("11:00-22:00");

    (void)state;
    tz("America/New_York");
    assert_int_equal(schedule_next_round(&w, all_days(), 5 * MIN, 1772949600000LL),
                     1772982000000LL);
    assert_int_equal(schedule_next_round(&w, all_days(), 1000, 1793511000000LL), 1793548800000LL);
}

/* Lord Howe Island moves its clocks by 30 minutes. */
static void lord_howe(void **state)
{
    struct window w = win("11:00-22:00"), always = win("always");

    (void)state;
    tz("Australia/Lord_Howe");
    assert_int_equal(schedule_next_round(&w, all_days(), 5 * MIN, 1791034800000LL),
                     1791072000000LL);
    assert_int_equal(schedule_next_round(&w, all_days(), 1000, 1775308200000LL), 1775349000000LL);
    /* Hourly rounds stay on the local hour after the half-hour shift. */
    assert_int_equal(schedule_next_round(&always, all_days(), 60 * MIN, 1791042000000LL),
                     1791043200000LL);
}

/* 22:00-06:00 on mon-fri: Saturday 02:01 still belongs to Friday's window;
 * Saturday 23:00 waits for Monday 22:00. */
static void across_midnight(void **state)
{
    struct window w = win("22:00-06:00");
    int days;

    (void)state;
    tz("Europe/Paris");
    assert_int_equal(units_parse_days("mon-fri", &days), CS_OK);
    assert_int_equal(schedule_next_round(&w, days, 5 * MIN, 1796432460000LL), 1796432700000LL);
    assert_int_equal(schedule_next_round(&w, days, 5 * MIN, 1796508000000LL), 1796677200000LL);
}

/* A window shorter than the interval: the first slot in it, else the next
 * day's; before the window: its opening; after: tomorrow's. */
static void windows_and_intervals(void **state)
{
    struct window w = win("11:00-22:00");

    (void)state;
    tz("Europe/Paris");
    assert_int_equal(schedule_next_round(&w, all_days(), 5 * MIN, 1796716800000LL),
                     1796724000000LL);
    assert_int_equal(schedule_next_round(&w, all_days(), 5 * MIN, 1796767200000LL),
                     1796810400000LL);
    /* An interval of 7 days aligns to the epoch's grid: never inside an
     * 11-22 window on most days, but the search ends (0 = never). */
    int64_t t = schedule_next_round(&w, all_days(), 7 * 24 * 60 * MIN, 1796716800000LL);
    assert_true(t == 0 || schedule_in_window(&w, all_days(), t));
}

/* The window and its days as people read them (run's log, status). */
static void describe(void **state)
{
    struct window w;
    char buf[96];
    int days;

    (void)state;
    assert_int_equal(units_parse_window("11:00-22:00", &w), CS_OK);
    assert_string_equal(schedule_describe(&w, all_days(), buf, sizeof(buf)), "11:00-22:00");
    assert_int_equal(units_parse_days("mon-fri", &days), CS_OK);
    assert_string_equal(schedule_describe(&w, days, buf, sizeof(buf)), "11:00-22:00 on mon-fri");
    assert_int_equal(units_parse_window("always", &w), CS_OK);
    assert_int_equal(units_parse_days("sat,sun", &days), CS_OK);
    assert_string_equal(schedule_describe(&w, days, buf, sizeof(buf)), "always on sat,sun");
    assert_string_equal(schedule_describe(&w, all_days(), buf, sizeof(buf)), "always");
}

/* Rounds align to the local clock: in Kolkata (+05:30) an hourly round is
 * on the local hour, which is :30 in UTC. */
static void align_local(void **state)
{
    (void)state;
    tz("Asia/Kolkata");
    /* 2026-03-01 10:17:12 local */
    assert_int_equal(schedule_align(1772340432000LL, 5 * MIN), 1772340600000LL);
    assert_int_equal(schedule_align(1772340432000LL, 60 * MIN), 1772343000000LL);
    /* An instant on the grid is its own round; no interval: no alignment. */
    assert_int_equal(schedule_align(1772340600000LL, 5 * MIN), 1772340600000LL);
    assert_int_equal(schedule_align(1772340432000LL, 0), 1772340432000LL);
}

/* Allowed days decide by the day a window opens: 22:00-06:00 on Mondays
 * only is closed early on Monday (Sunday's night) and open early on
 * Tuesday (Monday's night). "always" follows the calendar day. */
static void days_of_the_window(void **state)
{
    struct window night = win("22:00-06:00"), always = win("always");
    int mon;

    (void)state;
    tz("Europe/Paris");
    assert_int_equal(units_parse_days("mon", &mon), CS_OK);
    assert_false(schedule_in_window(&night, mon, 1772404200000LL)); /* Sun 23:30 */
    assert_false(schedule_in_window(&night, mon, 1772407800000LL)); /* Mon 00:30 */
    assert_false(schedule_in_window(&night, mon, 1772449200000LL)); /* Mon 12:00 */
    assert_true(schedule_in_window(&night, mon, 1772485200000LL));  /* Mon 22:00 */
    assert_true(schedule_in_window(&night, mon, 1772492400000LL));  /* Tue 00:00 */
    assert_int_equal(schedule_next_round(&night, mon, 5 * MIN, 1772404200000LL),
                     1772485200000LL);
    assert_false(schedule_in_window(&always, mon, 1772404200000LL)); /* Sun 23:30 */
    assert_true(schedule_in_window(&always, mon, 1772449200000LL));  /* Mon 12:00 */
    assert_int_equal(schedule_next_round(&always, mon, 5 * MIN, 1772404200000LL),
                     1772406000000LL); /* Mon 00:00 */
    /* No day allowed: never, said as 0, after a bounded search. */
    assert_int_equal(schedule_next_round(&always, 0, 5 * MIN, 1772404200000LL), 0);
    assert_int_equal(schedule_next_round(&night, 0, 5 * MIN, 1772404200000LL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paris_spring),    cmocka_unit_test(paris_autumn),
        cmocka_unit_test(new_york),        cmocka_unit_test(lord_howe),
        cmocka_unit_test(across_midnight), cmocka_unit_test(windows_and_intervals),
        cmocka_unit_test(describe),
        cmocka_unit_test(align_local),     cmocka_unit_test(days_of_the_window),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
