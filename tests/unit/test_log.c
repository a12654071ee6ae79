/* test_log.c - redaction of secrets in URLs and log text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "log.h"

static void redacts_userinfo(void **state)
{
    char out[256];

    (void)state;
    assert_string_equal(redact_url("rtsp://admin:s3cret@192.0.2.27:554/Streaming/Channels/101",
                                   out, sizeof(out)),
                        "rtsp://***@192.0.2.27:554/Streaming/Channels/101");
    assert_string_equal(redact_url("http://user@192.0.2.40/pic", out, sizeof(out)),
                        "http://***@192.0.2.40/pic");
    assert_string_equal(redact_url("http://192.0.2.40/pic", out, sizeof(out)),
                        "http://192.0.2.40/pic");
    /* an '@' in the path is not userinfo */
    assert_string_equal(redact_url("http://192.0.2.40/a@b", out, sizeof(out)),
                        "http://192.0.2.40/a@b");
    /* a password containing ':' and '@' characters */
    assert_string_equal(redact_url("rtsp://u:p@ss:w@192.0.2.1/x", out, sizeof(out)),
                        "rtsp://***@192.0.2.1/x");
}

static void redacts_query_secrets(void **state)
{
    char out[256];

    (void)state;
    assert_string_equal(
        redact_url("https://192.0.2.5/snap?user=a&password=hunter2&chan=1&apikey=K", out,
                   sizeof(out)),
        "https://192.0.2.5/snap?user=a&password=***&chan=1&apikey=***");
    assert_string_equal(redact_url("https://x.example/o?token=abc.def", out, sizeof(out)),
                        "https://x.example/o?token=***");
}

static void truncates_safely(void **state)
{
    char out[12];

    (void)state;
    redact_url("rtsp://admin:s3cret@192.0.2.27/x", out, sizeof(out));
    assert_int_equal(strlen(out), sizeof(out) - 1);
    assert_null(strstr(out, "s3cret"));
    assert_null(strstr(out, "admin"));
}

static void redacts_text(void **state)
{
    char out[512];

    (void)state;
    redact_text("open rtsp://admin:pw@192.0.2.27/x failed; retry http://u:v@192.0.2.3/y?key=z",
                out, sizeof(out));
    assert_string_equal(out, "open rtsp://***@192.0.2.27/x failed; retry "
                             "http://***@192.0.2.3/y?key=***");
    redact_text("no url here", out, sizeof(out));
    assert_string_equal(out, "no url here");
    redact_text("\"rtsp://a:b@h/p\"", out, sizeof(out));
    assert_string_equal(out, "\"rtsp://***@h/p\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redacts_userinfo),
        cmocka_unit_test(redacts_query_secrets),
        cmocka_unit_test(truncates_safely),
        cmocka_unit_test(redacts_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
