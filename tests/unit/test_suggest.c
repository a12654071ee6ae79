/* test_suggest.c - the edit distance and the nearest-name rule behind every
 * "did you mean ...?" (commands, options, keys, sections, actions, cameras). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "suggest.h"

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(suggest_distance("", ""), 0);
    assert_int_equal(suggest_distance("stats", "stats"), 0);
    assert_int_equal(suggest_distance("", "run"), 3);
    assert_int_equal(suggest_distance("run", ""), 3);
    assert_int_equal(suggest_distance("stat", "stats"), 1);      /* insertion */
    assert_int_equal(suggest_distance("statss", "stats"), 1);    /* deletion */
    assert_int_equal(suggest_distance("stabs", "stats"), 1);     /* substitution */
    assert_int_equal(suggest_distance("stauts", "status"), 1);   /* swap */
    assert_int_equal(suggest_distance("resolutoin", "resolution"), 1);
    assert_int_equal(suggest_distance("ab", "ba"), 1);
    assert_int_equal(suggest_distance("ca", "abc"), 3);          /* OSA: no edit of a swap */
    assert_int_equal(suggest_distance("kitten", "sitting"), 3);
    assert_int_equal(suggest_distance("STATS", "stats"), 0);     /* case ignored */
    assert_int_equal(suggest_distance("sink", "sync"), 2);
    /* Symmetric. */
    assert_int_equal(suggest_distance("cleanup", "claenpu"), suggest_distance("claenpu", "cleanup"));
}

static void test_distance_long(void **state)
{
    char longer[SUGGEST_WORD_MAX + 2];

    (void)state;
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(suggest_distance(longer, "a"), SIZE_MAX);
    assert_int_equal(suggest_distance("a", longer), SIZE_MAX);
    longer[SUGGEST_WORD_MAX] = '\0'; /* exactly the maximum: compared */
    assert_int_equal(suggest_distance(longer, longer), 0);
}

static const char *const commands[] = {"run",   "capture", "probe",    "sync",  "cleanup",
                                       "status", "stats",  "schedule", "config"};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *near(const char *word)
{
    return suggest_nearest(word, commands, N_COMMANDS);
}

static void test_nearest(void **state)
{
    (void)state;
    assert_string_equal(near("stat"), "stats"); /* "status" is 2 away, "stats" 1 */
    assert_string_equal(near("stats"), "stats");
    assert_string_equal(near("STATUS"), "status");
    assert_string_equal(near("stauts"), "status");
    assert_string_equal(near("captrue"), "capture");
    assert_string_equal(near("snyc"), "sync");
    assert_string_equal(near("sink"), "sync");
    assert_string_equal(near("rn"), "run");
    assert_string_equal(near("cofnig"), "config");
    assert_string_equal(near("sched"), "schedule");   /* 3 away, but a prefix */
    assert_string_equal(near("clean"), "cleanup");
}

static void test_nothing_near(void **state)
{
    (void)state;
    assert_null(near("frobnicate"));
    assert_null(near("x"));   /* one letter: 1 from nothing, but no prefix either */
    assert_null(near("s"));   /* one letter never counts as a prefix */
    assert_null(near("zz"));  /* 2 edits of a 2-letter word: anything */
    assert_null(near(""));
    assert_null(suggest_nearest("stats", NULL, 0));
}

static void test_ties_and_holes(void **state)
{
    static const char *const names[] = {NULL, "json", NULL, "jsonl"};

    (void)state;
    /* The first name at the smallest distance wins. */
    assert_string_equal(suggest_nearest("jsn", names, 4), "json");
    assert_string_equal(suggest_nearest("jsonx", names, 4), "json");
    assert_string_equal(suggest_nearest("jsonll", names, 4), "jsonl");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),      cmocka_unit_test(test_distance_long),
        cmocka_unit_test(test_nearest),       cmocka_unit_test(test_nothing_near),
        cmocka_unit_test(test_ties_and_holes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
