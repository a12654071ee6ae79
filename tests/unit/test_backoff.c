/* test_backoff.c - full-jitter exponential backoff: bounds per attempt, a
 * real spread, Retry-After as a floor, the fixed interval, determinism per
 * seed and no overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "backoff.h"

#define BASE 1000
#define CAP 60000

/* min(cap, base * 2^(attempt-1)) for the small attempts tested here. */
static int64_t ceiling_of(int64_t base, int64_t cap, int64_t attempt)
{
    int64_t c = base * ((int64_t)1 << (attempt - 1));

    return c < cap ? c : cap;
}

/* attempt n: uniform in [0, min(cap, base * 2^(n-1))], and reaching near
 * the top of that range (so neither a smaller nor a larger ceiling passes). */
static void delay_within_full_jitter_bounds(void **state)
{
    struct backoff b;

    (void)state;
    backoff_init(&b, BASE, CAP, 600000, 42);
    for (int64_t attempt = 1; attempt <= 20; attempt++) {
        int64_t top = ceiling_of(BASE, CAP, attempt), max = -1, min = INT64_MAX;
        for (int i = 0; i < 300; i++) {
            int64_t d = backoff_delay(&b, attempt, 0);
            if (d < 0 || d > top)
                fail_msg("attempt %lld: delay %lld outside [0, %lld]", (long long)attempt,
                         (long long)d, (long long)top);
            max = d > max ? d : max;
            min = d < min ? d : min;
        }
        if (max < top * 8 / 10 || min > top * 2 / 10)
            fail_msg("attempt %lld: delays %lld..%lld do not span [0, %lld]", (long long)attempt,
                     (long long)min, (long long)max, (long long)top);
    }
    /* attempt 1 is within base, attempt 2 within 2 * base, ... exactly */
    assert_int_equal(ceiling_of(BASE, CAP, 1), BASE);
    assert_int_equal(ceiling_of(BASE, CAP, 3), 4 * BASE);
    assert_int_equal(ceiling_of(BASE, CAP, 7), CAP);
}

/* At a large attempt the delay is uniform on [0, cap]: mean near cap/2. */
static void distribution_is_not_degenerate(void **state)
{
    struct backoff b;
    double sum = 0;
    int64_t buckets[10] = {0};

    (void)state;
    backoff_init(&b, BASE, CAP, 600000, 7);
    for (int i = 0; i < 1000; i++) {
        int64_t d = backoff_delay(&b, 30, 0);
        sum += (double)d;
        buckets[d * 10 / (CAP + 1)]++;
    }
    sum /= 1000;
    if (sum < CAP / 2 * 0.85 || sum > CAP / 2 * 1.15)
        fail_msg("mean delay %.0f ms, expected about %d", sum, CAP / 2);
    for (int i = 0; i < 10; i++) /* every tenth of the range is used */
        if (buckets[i] < 40)
            fail_msg("only %lld of 1000 delays in [%d, %d) ms", (long long)buckets[i],
                     i * CAP / 10, (i + 1) * CAP / 10);
}

/* The server's Retry-After is a floor, never shortened by jitter. */
static void retry_after_is_a_floor(void **state)
{
    struct backoff b;

    (void)state;
    backoff_init(&b, BASE, 2000, 600000, 99);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(backoff_delay(&b, 1 + i % 5, 5000), 5000);
        int64_t d = backoff_delay(&b, 3, 1500);
        assert_true(d >= 1500 && d <= 2000);
    }
    /* fixed interval too */
    backoff_init(&b, 0, 0, 600000, 99);
    assert_int_equal(backoff_delay(&b, 1, 900000), 900000);
    assert_int_equal(backoff_delay(&b, 1, 1000), 600000);
}

/* base 0: the old system's fixed retry interval, whatever the attempt. */
static void base_zero_gives_fixed_interval(void **state)
{
    struct backoff b;

    (void)state;
    backoff_init(&b, 0, 1800000, 600000, 5);
    for (int64_t attempt = 1; attempt <= 50; attempt++)
        assert_int_equal(backoff_delay(&b, attempt, 0), 600000);
    assert_int_equal(backoff_delay(&b, 1000000, 0), 600000);
}

/* The same seed replays the same delays; another seed does not. */
static void same_seed_same_sequence(void **state)
{
    struct backoff a, b, c;
    int differ = 0;

    (void)state;
    backoff_init(&a, BASE, CAP, 0, 1234);
    backoff_init(&b, BASE, CAP, 0, 1234);
    backoff_init(&c, BASE, CAP, 0, 4321);
    for (int i = 0; i < 200; i++) {
        int64_t attempt = 1 + i % 12;
        int64_t da = backoff_delay(&a, attempt, 0);
        assert_int_equal(da, backoff_delay(&b, attempt, 0));
        differ += da != backoff_delay(&c, attempt, 0);
    }
    assert_true(differ > 100);
    /* seed 0 picks one itself and still gives valid delays */
    backoff_init(&a, BASE, CAP, 0, 0);
    assert_int_not_equal(a.rng, 0);
    for (int i = 0; i < 100; i++) {
        int64_t d = backoff_delay(&a, 4, 0);
        assert_true(d >= 0 && d <= 8 * BASE);
    }
}

/* Huge attempt counts and caps: no signed overflow (UBSan build), delays
 * stay in [0, cap] and still spread over that range. */
static void no_overflow(void **state)
{
    struct backoff b;
    double sum = 0;

    (void)state;
    backoff_init(&b, 30000, 1800000, 600000, 3);
    for (int i = 0; i < 100; i++) {
        int64_t d = backoff_delay(&b, 1000, 0);
        assert_true(d >= 0 && d <= 1800000);
        d = backoff_delay(&b, INT64_MAX, 0);
        assert_true(d >= 0 && d <= 1800000);
    }
    /* attempts 0 or negative (never passed, but harmless): within base */
    for (int i = 0; i < 50; i++) {
        int64_t d = backoff_delay(&b, 0, 0);
        assert_true(d >= 0 && d <= 30000);
    }
    /* a cap below base: the cap wins; no cap: base is the cap */
    backoff_init(&b, 5000, 2000, 0, 3);
    for (int i = 0; i < 50; i++)
        assert_true(backoff_delay(&b, 1 + i, 0) <= 2000);
    backoff_init(&b, 5000, 0, 0, 3);
    for (int i = 0; i < 50; i++)
        assert_true(backoff_delay(&b, 1 + i, 0) <= 5000);
    /* a cap near INT64_MAX ("backoff_cap = 106751991167d" parses) */
    backoff_init(&b, 1, INT64_MAX, 0, 11);
    for (int i = 0; i < 200; i++) {
        int64_t d = backoff_delay(&b, 1000, 0);
        assert_true(d >= 0);
        sum += (double)d;
    }
    sum /= 200;
    if (sum < (double)INT64_MAX / 4)
        fail_msg("mean delay %.3g with a cap of %.3g: the ceiling overflowed", sum,
                 (double)INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delay_within_full_jitter_bounds),
        cmocka_unit_test(distribution_is_not_degenerate),
        cmocka_unit_test(retry_after_is_a_floor),
        cmocka_unit_test(base_zero_gives_fixed_interval),
        cmocka_unit_test(same_seed_same_sequence),
        cmocka_unit_test(no_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
