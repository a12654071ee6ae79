/* test_log.c - redaction of secrets in URLs and log text; control characters
 * from outside (a server's error text) never reach a log line raw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "testutil.h"

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

static void escapes_what_drives_a_terminal(void **state)
{
    char out[256], small[8];

    (void)state;
    assert_string_equal(log_escape("plain text, caf\xc3\xa9 \xe6\x97\xa5 \\n", out, sizeof(out)),
                        "plain text, caf\xc3\xa9 \xe6\x97\xa5 \\n");
    assert_string_equal(log_escape("a\nb\rc\td\x1b[2Je\x7f\x01", out, sizeof(out)),
                        "a\\nb\\rc\\td\\x1b[2Je\\x7f\\x01");
    /* C1 controls as UTF-8 (U+009B is CSI), bytes that are not UTF-8, an
     * overlong '/', a surrogate, a cut sequence */
    assert_string_equal(log_escape("\xc2\x9b"
                                   "1m|\xc2\xa0|\xff|\xc0\xaf|\xed\xa0\x80|\xe6\x97",
                                   out, sizeof(out)),
                        "\\u009b1m|\xc2\xa0|\\xff|\\xc0\\xaf|\\xed\\xa0\\x80|\\xe6\\x97");
    /* an escape is never cut */
    assert_string_equal(log_escape("abcd\x1b", small, sizeof(small)), "abcd");
    assert_string_equal(log_escape("ab\x1b", small, sizeof(small)), "ab\\x1b");
}

/* Reads the only daily log file in dir into buf. */
static void read_log(const char *dir, char *buf, size_t bufsz)
{
    char path[1200];
    struct dirent *e;
    DIR *d = opendir(dir);
    FILE *f = NULL;
    size_t n;

    assert_non_null(d);
    while (!f && (e = readdir(d))) {
        if (strncmp(e->d_name, "capture_", 8))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        f = fopen(path, "r");
    }
    closedir(d);
    assert_non_null(f);
    n = fread(buf, 1, bufsz - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* A server's error text with a newline and ANSI escapes: one line in the
 * daily log, every control character written as an escape. */
static void log_lines_escape_control_characters(void **state)
{
    char dir[512], buf[4096];
    const char *line;

    (void)state;
    assert_non_null(test_mkdtemp(dir, sizeof(dir)));
    log_setup(LOG_LEVEL_INFO, dir, true, 0);
    log_msg(LOG_LEVEL_WARN, "c1", "storing: HTTP 400 (%s)",
            "Bucket not found\n2026-11-26 info fake line\x1b[31m\r\tred\x7f\x01");
    log_msg(LOG_LEVEL_INFO, NULL, "ends with a newline\n");
    log_close();
    read_log(dir, buf, sizeof(buf));
    line = strstr(buf, "camera c1: storing: HTTP 400 (Bucket not found\\n2026-11-26 info fake "
                       "line\\x1b[31m\\r\\tred\\x7f\\x01)\n");
    if (!line)
        fail_msg("log file holds:\n%s", buf);
    assert_non_null(strstr(buf, "ends with a newline\n"));
    assert_null(strstr(buf, "newline\\n"));
    assert_null(strchr(buf, '\x1b'));
    assert_null(strchr(buf, '\r'));
    /* two messages, two lines */
    assert_int_equal(strchr(strchr(buf, '\n') + 1, '\n')[1], '\0');
    test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redacts_userinfo),
        cmocka_unit_test(redacts_query_secrets),
        cmocka_unit_test(truncates_safely),
        cmocka_unit_test(redacts_text),
        cmocka_unit_test(escapes_what_drives_a_terminal),
        cmocka_unit_test(log_lines_escape_control_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
