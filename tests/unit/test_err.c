/* test_err.c - the one error enum: every code has its own words, and errno
 * values map to the code a technician can act on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "err.h"

static void every_code_has_its_own_words(void **state)
{
    (void)state;
    for (int i = 0; i < CS_ERR__COUNT; i++) {
        assert_string_not_equal(cs_strerror((enum cs_err)i), "unknown error");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(cs_strerror((enum cs_err)i), cs_strerror((enum cs_err)j));
    }
    assert_string_equal(cs_strerror(CS_ERR__COUNT), "unknown error");
}

static void errno_maps_to_its_meaning(void **state)
{
    (void)state;
    /* A refused local permission is not a camera refusing credentials. */
    assert_int_equal(cs_from_errno(EACCES), CS_PERM);
    assert_int_equal(cs_from_errno(EPERM), CS_PERM);
    assert_string_equal(cs_strerror(CS_PERM), "permission denied");
    assert_int_equal(cs_from_errno(ENOSPC), CS_NOSPACE);
    assert_int_equal(cs_from_errno(EDQUOT), CS_NOSPACE);
    assert_int_equal(cs_from_errno(ENOENT), CS_NOTFOUND);
    assert_int_equal(cs_from_errno(EIO), CS_IO);
    assert_int_equal(cs_from_errno(0), CS_OK);
    assert_null(strstr(cs_strerror(cs_from_errno(EACCES)), "authentication"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_its_own_words),
        cmocka_unit_test(errno_maps_to_its_meaning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
