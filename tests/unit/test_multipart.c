/* test_multipart.c - parts of MJPEG-over-HTTP streams as cameras send them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "multipart.h"

#define JPEG1 "\xFF\xD8" "first-picture" "\xFF\xD9"
#define JPEG2 "\xFF\xD8" "second" "\xFF\xD9"

static const uint8_t *u(const char *s)
{
    return (const uint8_t *)s;
}

/* The first part of body (all of it received) as a string. */
static enum multipart_result first(const struct multipart *m, const char *body, size_t len,
                                   char *out, size_t outsz)
{
    size_t off, plen, next;
    enum multipart_result r = multipart_next(m, u(body), len, 0, &off, &plen, &next);

    if (r == MP_PART)
        snprintf(out, outsz, "%.*s", (int)plen, body + off);
    return r;
}

static void test_content_type(void **state)
{
    struct multipart m;

    (void)state;
    assert_true(multipart_is_multipart("multipart/x-mixed-replace; boundary=myboundary"));
    assert_true(multipart_is_multipart("Multipart/X-Mixed-Replace;boundary=x"));
    assert_false(multipart_is_multipart("image/jpeg"));
    assert_false(multipart_is_multipart(NULL));
    assert_true(multipart_from_content_type(&m, "multipart/x-mixed-replace; boundary=myboundary"));
    assert_string_equal(m.delim, "--myboundary");
    assert_true(multipart_from_content_type(&m, "multipart/x-mixed-replace;boundary=--myboundary"));
    assert_string_equal(m.delim, "--myboundary");
    assert_true(multipart_from_content_type(&m, "multipart/x-mixed-replace; boundary=\"my b\"; x=1"));
    assert_string_equal(m.delim, "--my b");
    assert_true(multipart_from_content_type(&m, "multipart/x-mixed-replace; BOUNDARY = abc ;"));
    assert_string_equal(m.delim, "--abc");
    assert_false(multipart_from_content_type(&m, "multipart/x-mixed-replace"));
    assert_false(multipart_from_content_type(&m, "multipart/x-mixed-replace; xboundary=abc"));
    assert_false(multipart_from_content_type(&m, "multipart/x-mixed-replace; boundary="));
    char longb[200] = "multipart/x-mixed-replace; boundary=";
    memset(longb + strlen(longb), 'a', 100);
    assert_false(multipart_from_content_type(&m, longb));
}

static void test_sniff(void **state)
{
    struct multipart m;
    bool more;

    (void)state;
    assert_true(multipart_sniff(&m, u("\r\n--ffmpeg\r\nContent-type: image/jpeg"), 36, &more));
    assert_string_equal(m.delim, "--ffmpeg");
    assert_false(multipart_sniff(&m, u("--ffmp"), 6, &more));
    assert_true(more);
    assert_false(multipart_sniff(&m, u("\xFF\xD8\xFF\xE0"), 4, &more));
    assert_false(more);
    assert_false(multipart_sniff(&m, u("-"), 1, &more));
    assert_true(more);
    assert_false(multipart_sniff(&m, u("<html>"), 6, &more));
    assert_false(more);
}

/* With Content-Length, without, a lying one, LF-only lines, no headers. */
static void test_parts(void **state)
{
    struct multipart m;
    char got[64];
    static const char with_len[] = "--b\r\nContent-Type: image/jpeg\r\nContent-Length: 17\r\n\r\n"
                                   JPEG1 "\r\n--b\r\n";
    static const char no_len[] = "--b\r\nContent-Type: image/jpeg\r\n\r\n" JPEG1 "\r\n--b\r\n";
    static const char lying[] = "--b\r\nContent-Length: 5\r\n\r\n" JPEG1 "\r\n--b\r\n";
    static const char too_long[] = "--b\r\nContent-Length: 40\r\n\r\n" JPEG1 "\r\n--b\r\n" JPEG2;
    static const char lf[] = "--b\nContent-Type: image/jpeg\n\n" JPEG1 "\n--b\n";
    static const char bare[] = "--b\r\n" JPEG1 "\r\n--b\r\n";
    static const char dashes[] = "----b\r\n\r\n" JPEG1 "\r\n----b\r\n";

    (void)state;
    assert_true(multipart_from_content_type(&m, "multipart/x-mixed-replace;boundary=b"));
    assert_int_equal(first(&m, with_len, sizeof(with_len) - 1, got, sizeof(got)), MP_PART);
    assert_string_equal(got, JPEG1);
    assert_int_equal(first(&m, no_len, sizeof(no_len) - 1, got, sizeof(got)), MP_PART);
    assert_string_equal(got, JPEG1);
    assert_int_equal(first(&m, lying, sizeof(lying) - 1, got, sizeof(got)), MP_PART);
    assert_string_equal(got, JPEG1);
    assert_int_equal(first(&m, too_long, sizeof(too_long) - 1, got, sizeof(got)), MP_PART);
    assert_string_equal(got, JPEG1);
    assert_int_equal(first(&m, lf, sizeof(lf) - 1, got, sizeof(got)), MP_PART);
    assert_string_equal(got, JPEG1);
    assert_int_equal(first(&m, bare, sizeof(bare) - 1, got, sizeof(got)), MP_PART);
    assert_string_equal(got, JPEG1);
    /* boundary=--b as declared by the RFC: the body says ----b */
    assert_int_equal(first(&m, dashes, sizeof(dashes) - 1, got, sizeof(got)), MP_PART);
    assert_string_equal(got, JPEG1);
}

/* Bytes arrive a few at a time: MP_MORE until the part is whole. */
static void test_incremental(void **state)
{
    struct multipart m;
    static const char body[] = "junk-tail-of-a-torn-picture\r\n--b\r\nContent-Length: 17\r\n\r\n"
                               JPEG1 "\r\n--b\r\nContent-Length: 10\r\n\r\n" JPEG2 "\r\n";
    static const char nolen[] = "--b\r\n\r\n" JPEG1 "\r\n--b\r\n\r\n" JPEG2 "\r\n--b--\r\n";
    size_t off, plen, next, len;
    enum multipart_result r = MP_MORE;

    (void)state;
    assert_true(multipart_from_content_type(&m, "multipart/x-mixed-replace;boundary=b"));
    for (len = 0; len <= sizeof(body) - 1; len++) {
        r = multipart_next(&m, u(body), len, 0, &off, &plen, &next);
        if (r != MP_MORE)
            break;
    }
    assert_int_equal(r, MP_PART);
    assert_int_equal(plen, 17);
    assert_memory_equal(body + off, JPEG1, 17);
    assert_true(len < sizeof(body) - 1); /* taken before the second part came */
    /* The second part, from where the first ended. */
    assert_int_equal(multipart_next(&m, u(body), sizeof(body) - 1, next, &off, &plen, &next),
                     MP_PART);
    assert_memory_equal(body + off, JPEG2, 10);

    /* Without Content-Length a part is whole at the next delimiter. */
    r = MP_MORE;
    for (len = 0; len <= sizeof(nolen) - 1 && r == MP_MORE; len++)
        r = multipart_next(&m, u(nolen), len, 0, &off, &plen, &next);
    assert_int_equal(r, MP_PART);
    assert_memory_equal(nolen + off, JPEG1, 17);
    assert_int_equal(multipart_next(&m, u(nolen), sizeof(nolen) - 1, next, &off, &plen, &next),
                     MP_PART);
    assert_memory_equal(nolen + off, JPEG2, 10);
    assert_int_equal(multipart_next(&m, u(nolen), sizeof(nolen) - 1, next, &off, &plen, &next),
                     MP_END);
}

static void test_garbage(void **state)
{
    struct multipart m = {0};
    size_t off, plen, next;
    char big[9000];

    (void)state;
    /* No boundary known: nothing to find. */
    assert_int_equal(multipart_next(&m, u("--b\r\n\r\nx"), 8, 0, &off, &plen, &next), MP_MORE);
    assert_true(multipart_from_content_type(&m, "multipart/x-mixed-replace;boundary=b"));
    /* A header block that never ends is skipped, not waited for forever. */
    memset(big, 'h', sizeof(big));
    memcpy(big, "--b\r\n", 5);
    memcpy(big + sizeof(big) - 40, "\r\n--b\r\n\r\n\xFF\xD8zz\xFF\xD9\r\n--b\r\n", 23);
    assert_int_equal(multipart_next(&m, u(big), sizeof(big) - 17, 0, &off, &plen, &next), MP_PART);
    assert_int_equal(plen, 6);
    assert_int_equal(multipart_next(&m, u(""), 0, 0, &off, &plen, &next), MP_MORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type), cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_parts),        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
