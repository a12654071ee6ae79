/* test_units.c - parsers and formatters of units.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "units.h"

static int64_t dur(const char *s)
{
    int64_t v = -1;

    assert_int_equal(units_parse_duration(s, &v), CS_OK);
    return v;
}

static void test_duration_good(void **state)
{
    (void)state;
    assert_int_equal(dur("30s"), 30000);
    assert_int_equal(dur("5m"), 300000);
    assert_int_equal(dur("2h"), 7200000);
    assert_int_equal(dur("1h30m"), 5400000);
    assert_int_equal(dur("250ms"), 250);
    assert_int_equal(dur("2d"), 172800000);
    assert_int_equal(dur("0"), 0); /* the same in every unit */
    assert_int_equal(dur(" 00 "), 0);
    assert_int_equal(dur("0s"), 0);
    assert_int_equal(dur("  5m\t"), 300000);
    assert_int_equal(dur("1d2h3m4s5ms"), 93784005);
    assert_int_equal(dur("5M"), 300000);
    assert_int_equal(dur("1H30M"), 5400000);
    assert_int_equal(dur("1s500ms"), 1500);
}

static void test_duration_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "-5s",
        "+5s",
        "5 m",
        "5x",
        "m",
        "ms",
        "1h1h",
        "30m1h",
        "1.5h",
        "1h30",
        "99999999999999999999s",
        "106751991167301d",
        "9223372036854775807s",
        "0x10",
        "1e3s",
        "5s5",
        "s5",
        "5mm",
        "5min",
        "1h 30m",
        /* A number without a unit: seconds, or the days cleanup once took? */
        "90",
        "30",
        " 5 ",
        "007",
    };
    int64_t v = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum cs_err rc = units_parse_duration(bad[i], &v);
        if (rc != CS_CONFIG && rc != CS_TOOBIG)
            fail_msg("duration \"%s\" was accepted", bad[i]);
    }
    assert_int_equal(v, 42);
    /* Well formed but past the limit (about 10 years): its own answer. */
    assert_int_equal(units_parse_duration("106751991167d", &v), CS_TOOBIG);
    assert_int_equal(units_parse_duration("3651d", &v), CS_TOOBIG);
    assert_int_equal(units_parse_duration("3650d", &v), CS_OK);
    assert_int_equal(v, UNITS_DURATION_MAX_MS);
}

static int64_t size(const char *s)
{
    int64_t v = -1;

    if (units_parse_size(s, &v) != CS_OK)
        fail_msg("size \"%s\" was refused", s);
    return v;
}

static void test_duration_lacks_unit(void **state)
{
    (void)state;
    assert_true(units_duration_lacks_unit("30"));
    assert_true(units_duration_lacks_unit(" 30\t"));
    assert_true(units_duration_lacks_unit("007"));
    assert_true(units_duration_lacks_unit("99999999999999999999"));
    assert_false(units_duration_lacks_unit("0"));
    assert_false(units_duration_lacks_unit("000"));
    assert_false(units_duration_lacks_unit("30s"));
    assert_false(units_duration_lacks_unit("30d"));
    assert_false(units_duration_lacks_unit("-30"));
    assert_false(units_duration_lacks_unit("3 0"));
    assert_false(units_duration_lacks_unit("1.5"));
    assert_false(units_duration_lacks_unit(""));
    assert_false(units_duration_lacks_unit("  "));
}

static void test_size_good(void **state)
{
    (void)state;
    assert_int_equal(size("100MB"), 100000000);
    assert_int_equal(size("1.5GiB"), 1610612736);
    assert_int_equal(size("512k"), 512000);
    assert_int_equal(size("512K"), 512000);
    assert_int_equal(size("512KB"), 512000);
    assert_int_equal(size("512kb"), 512000);
    assert_int_equal(size("1KiB"), 1024);
    assert_int_equal(size("1kib"), 1024);
    assert_int_equal(size("2MiB"), 2097152);
    assert_int_equal(size("1TiB"), 1099511627776LL);
    assert_int_equal(size("1TB"), 1000000000000LL);
    assert_int_equal(size("3G"), 3000000000LL);
    assert_int_equal(size("17"), 17);
    assert_int_equal(size("17B"), 17);
    assert_int_equal(size("17 b"), 17);
    assert_int_equal(size("20 MB"), 20000000);
    assert_int_equal(size(" 1.5 MB "), 1500000);
    assert_int_equal(size("0"), 0);
    assert_int_equal(size("0.5KB"), 500);
}

static void test_size_bad(void **state)
{
    static const char *const bad[] = {
        "",     " ",      "MB",    "-1MB", "+1MB",          "1.5",   "1.5B",
        "1XB",  "1..5MB", "1.MB",  ".5MB", "99999999999TB", "1 2MB", "1e3",
        "0x10", "1MBB",   "1 M B", "1PB",  "1MB5",
    };
    int64_t v = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (units_parse_size(bad[i], &v) != CS_CONFIG)
            fail_msg("size \"%s\" was accepted", bad[i]);
    }
    assert_int_equal(v, 42);
}

static void test_timeofday(void **state)
{
    static const char *const bad[] = {
        "",         "24:01",  "23:60", "2400", "12:5",  "ab:cd",  "-1:00",
        "12:00:00", "123:00", ":00",   "12:",  "25:00", "12 :00",
    };
    int m = -1;

    (void)state;
    assert_int_equal(units_parse_timeofday("00:00", &m), CS_OK);
    assert_int_equal(m, 0);
    assert_int_equal(units_parse_timeofday("23:59", &m), CS_OK);
    assert_int_equal(m, 1439);
    assert_int_equal(units_parse_timeofday("24:00", &m), CS_OK);
    assert_int_equal(m, 1440);
    assert_int_equal(units_parse_timeofday(" 9:05 ", &m), CS_OK);
    assert_int_equal(m, 545);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = 7;
        if (units_parse_timeofday(bad[i], &m) != CS_CONFIG)
            fail_msg("time of day \"%s\" was accepted", bad[i]);
        assert_int_equal(m, 7);
    }
}

static void test_window_parse(void **state)
{
    static const char *const bad[] = {
        "",       "11:00",  "11-22", "24:00-06:00",       "11:00-25:00",
        "11:00-", "-22:00", "never", "11:00-22:00-23:00", "11:00--22:00",
    };
    struct window w;

    (void)state;
    assert_int_equal(units_parse_window("11:00-22:00", &w), CS_OK);
    assert_false(w.always);
    assert_int_equal(w.start_min, 660);
    assert_int_equal(w.end_min, 1320);
    assert_int_equal(units_parse_window(" 11:00 - 22:00 ", &w), CS_OK);
    assert_int_equal(w.start_min, 660);
    assert_int_equal(w.end_min, 1320);
    assert_int_equal(units_parse_window("always", &w), CS_OK);
    assert_true(w.always);
    assert_int_equal(units_parse_window("ALWAYS", &w), CS_OK);
    assert_true(w.always);
    assert_int_equal(units_parse_window("00:00-24:00", &w), CS_OK);
    assert_true(w.always);
    assert_int_equal(units_parse_window("10:00-10:00", &w), CS_OK);
    assert_true(w.always);
    assert_int_equal(units_parse_window("22:00-06:00", &w), CS_OK);
    assert_false(w.always);
    assert_int_equal(w.start_min, 1320);
    assert_int_equal(w.end_min, 360);
    assert_int_equal(units_parse_window("11:00-24:00", &w), CS_OK);
    assert_false(w.always);
    assert_in_range(w.end_min, 0, 1439);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (units_parse_window(bad[i], &w) != CS_CONFIG)
            fail_msg("window \"%s\" was accepted", bad[i]);
    }
}

/* What units_format_window writes, units_parse_window reads back. */
static void test_window_format(void **state)
{
    /* Midnight as an end is written 24:00, never 00:00 (a window of no length). */
    static const char *const texts[] = {"11:00-22:00", "22:00-06:00", "00:00-24:00", "always",
                                        "23:59-00:01", "9:05-09:06",  "18:00-24:00"};
    static const char *const want[] = {"11:00-22:00", "22:00-06:00", "always",     "always",
                                       "23:59-00:01", "09:05-09:06", "18:00-24:00"};
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct window w, back;

        assert_int_equal(units_parse_window(texts[i], &w), CS_OK);
        assert_string_equal(units_format_window(&w, buf, sizeof(buf)), want[i]);
        assert_int_equal(units_parse_window(buf, &back), CS_OK);
        assert_int_equal(back.always, w.always);
        if (!w.always) {
            assert_int_equal(back.start_min, w.start_min);
            assert_int_equal(back.end_min, w.end_min);
        }
    }
}

static void test_window_contains(void **state)
{
    struct window w;

    (void)state;
    assert_int_equal(units_parse_window("11:00-22:00", &w), CS_OK);
    assert_true(units_window_contains(&w, 660));
    assert_true(units_window_contains(&w, 1319));
    assert_false(units_window_contains(&w, 1320));
    assert_false(units_window_contains(&w, 659));
    assert_false(units_window_contains(&w, 0));
    assert_int_equal(units_parse_window("22:00-06:00", &w), CS_OK);
    assert_true(units_window_contains(&w, 1320));
    assert_true(units_window_contains(&w, 1439));
    assert_true(units_window_contains(&w, 0));
    assert_true(units_window_contains(&w, 359));
    assert_false(units_window_contains(&w, 360));
    assert_false(units_window_contains(&w, 700));
    assert_false(units_window_contains(&w, 1319));
    assert_int_equal(units_parse_window("11:00-24:00", &w), CS_OK);
    assert_true(units_window_contains(&w, 1439));
    assert_true(units_window_contains(&w, 660));
    assert_false(units_window_contains(&w, 0));
    assert_false(units_window_contains(&w, 659));
    assert_int_equal(units_parse_window("always", &w), CS_OK);
    for (int m = 0; m < 1440; m += 7)
        assert_true(units_window_contains(&w, m));
}

static void test_resolution(void **state)
{
    static const char *const bad[] = {
        "",          "15x16",
        "16x15",     "65501x100",
        "2592*1944", "x",
        "2592x",     "x1944",
        "-16x16",    "2592 x 1944",
        "1e3x100",   "2592x1944x3",
        "0x0",       "99999999999999999999x16",
    };
    int w = 0, h = 0;

    (void)state;
    assert_int_equal(units_parse_resolution("2592x1944", &w, &h), CS_OK);
    assert_int_equal(w, 2592);
    assert_int_equal(h, 1944);
    assert_int_equal(units_parse_resolution(" 16X16 ", &w, &h), CS_OK);
    assert_int_equal(w, 16);
    assert_int_equal(h, 16);
    assert_int_equal(units_parse_resolution("65500x65500", &w, &h), CS_OK);
    assert_int_equal(w, 65500);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (units_parse_resolution(bad[i], &w, &h) != CS_CONFIG)
            fail_msg("resolution \"%s\" was accepted", bad[i]);
    }
}

static void test_int(void **state)
{
    static const char *const bad[] = {
        "",     " ",   "abc", "4.2", "101", "-11", "99999999999999999999",
        "0x10", "12a", "- 5", "+",   "1 2",
    };
    int64_t v = 0;

    (void)state;
    assert_int_equal(units_parse_int("42", 0, 100, &v), CS_OK);
    assert_int_equal(v, 42);
    assert_int_equal(units_parse_int(" 7 ", 0, 100, &v), CS_OK);
    assert_int_equal(v, 7);
    assert_int_equal(units_parse_int("-5", -10, 10, &v), CS_OK);
    assert_int_equal(v, -5);
    assert_int_equal(units_parse_int("100", 0, 100, &v), CS_OK);
    assert_int_equal(units_parse_int("0", 0, 100, &v), CS_OK);
    assert_int_equal(units_parse_int("9223372036854775807", 0, INT64_MAX, &v), CS_OK);
    assert_true(v == INT64_MAX);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 3;
        if (units_parse_int(bad[i], -10, 100, &v) != CS_CONFIG)
            fail_msg("int \"%s\" was accepted", bad[i]);
        assert_int_equal(v, 3);
    }
}

static void test_bool(void **state)
{
    static const char *const yes[] = {"yes", "true", "on", "1", "YES", " On ", "True"};
    static const char *const no[] = {"no", "false", "off", "0", "NO", "Off"};
    static const char *const bad[] = {"", "maybe", "2", "yess", "y", "n", "nope", "o"};
    bool b;

    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        assert_int_equal(units_parse_bool(yes[i], &b), CS_OK);
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = true;
        assert_int_equal(units_parse_bool(no[i], &b), CS_OK);
        assert_false(b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (units_parse_bool(bad[i], &b) != CS_CONFIG)
            fail_msg("bool \"%s\" was accepted", bad[i]);
    }
}

static void test_format_duration(void **state)
{
    static const int64_t values[] = {
        0,      1,       250,     999,      1000,     1500,      30000,     60000,
        300000, 5400000, 3600000, 86400000, 93784005, 172800000, 604800000, UNITS_DURATION_MAX_MS,
    };
    char buf[64], small[4];

    (void)state;
    assert_string_equal(units_format_duration(300000, buf, sizeof(buf)), "5m");
    assert_string_equal(units_format_duration(5400000, buf, sizeof(buf)), "1h30m");
    assert_string_equal(units_format_duration(250, buf, sizeof(buf)), "250ms");
    assert_string_equal(units_format_duration(0, buf, sizeof(buf)), "0s");
    assert_string_equal(units_format_duration(86400000, buf, sizeof(buf)), "1d");
    assert_string_equal(units_format_duration(1500, buf, sizeof(buf)), "1s500ms");
    assert_string_equal(units_format_duration(-5000, buf, sizeof(buf)), "-5s");
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int64_t back = -1;

        units_format_duration(values[i], buf, sizeof(buf));
        if (units_parse_duration(buf, &back) != CS_OK || back != values[i])
            fail_msg("%lld -> \"%s\" does not round trip", (long long)values[i], buf);
    }
    units_format_duration(5400000, small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
}

static void test_format_size(void **state)
{
    static const int64_t values[] = {0,       17,       999,          812000,
                                     1500000, 20000000, 3000000000LL, 2500000000000LL};
    char buf[32], small[3];

    (void)state;
    assert_string_equal(units_format_size(17, buf, sizeof(buf)), "17 B");
    assert_string_equal(units_format_size(812000, buf, sizeof(buf)), "812 KB");
    assert_string_equal(units_format_size(1500000, buf, sizeof(buf)), "1.5 MB");
    assert_string_equal(units_format_size(2000000, buf, sizeof(buf)), "2 MB");
    assert_string_equal(units_format_size(999999, buf, sizeof(buf)), "1 MB");
    assert_string_equal(units_format_size(812345, buf, sizeof(buf)), "812 KB");
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int64_t back = -1;

        units_format_size(values[i], buf, sizeof(buf));
        if (units_parse_size(buf, &back) != CS_OK || back != values[i])
            fail_msg("%lld -> \"%s\" does not round trip", (long long)values[i], buf);
    }
    units_format_size(1500000, small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_good),
        cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_duration_lacks_unit),
        cmocka_unit_test(test_size_good),
        cmocka_unit_test(test_size_bad),
        cmocka_unit_test(test_timeofday),
        cmocka_unit_test(test_window_parse),
        cmocka_unit_test(test_window_format),
        cmocka_unit_test(test_window_contains),
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_format_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
