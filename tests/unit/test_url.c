/* test_url.c - url_split(), the one place a URL's authority is taken apart
 * (config, log redaction and probe used to do it five times, and probe
 * took the first '@' where the others took the last). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "url.h"

static void expect(const char *url, const char *scheme, const char *userinfo, const char *host,
                   int port, const char *rest)
{
    struct url_parts u;

    if (url_split(url, &u) != CS_OK)
        fail_msg("%s: refused", url);
    if (u.scheme_len != strlen(scheme) || memcmp(u.scheme, scheme, u.scheme_len))
        fail_msg("%s: scheme %.*s", url, (int)u.scheme_len, u.scheme);
    if (!userinfo != !u.userinfo ||
        (userinfo && (u.userinfo_len != strlen(userinfo) ||
                      memcmp(u.userinfo, userinfo, u.userinfo_len))))
        fail_msg("%s: userinfo %.*s", url, (int)u.userinfo_len, u.userinfo ? u.userinfo : "");
    if (u.host_len != strlen(host) || memcmp(u.host, host, u.host_len))
        fail_msg("%s: host %.*s", url, (int)u.host_len, u.host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.rest, rest);
}

static void splits(void **state)
{
    (void)state;
    expect("rtsp://192.0.2.27:554/Streaming/Channels/101", "rtsp", NULL, "192.0.2.27", 554,
           "/Streaming/Channels/101");
    expect("http://cam.example/snap?x=1#f", "http", NULL, "cam.example", -1, "/snap?x=1#f");
    expect("rtsp://admin:pa@ss@192.0.2.1/x", "rtsp", "admin:pa@ss", "192.0.2.1", -1, "/x");
    expect("rtsp://user@[::1]:8554/a", "rtsp", "user", "::1", 8554, "/a");
    expect("rtsps://[2001:db8::5]", "rtsps", NULL, "2001:db8::5", -1, "");
    expect("https://h?q=a@b", "https", NULL, "h", -1, "?q=a@b"); /* '@' past the authority */
    expect("synthetic://640x360?fail", "synthetic", NULL, "640x360", -1, "?fail");
}

static void refuses(void **state)
{
    static const char *const bad[] = {
        "192.0.2.1/x", "://h/", "rtsp://", "rtsp:///x", "rtsp://h:0/", "rtsp://h:65536/",
        "rtsp://h:80x/", "rtsp://[::1/x", "rtsp://[::1]x/", "rtsp://user@/x", "1rtsp://h/",
        "rtsp://h:/x",
    };
    struct url_parts u;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (url_split(bad[i], &u) != CS_CONFIG)
            fail_msg("%s was accepted", bad[i]);
    /* A ${VAR} port is refused, but the userinfo before it is still known. */
    assert_int_equal(url_split("rtsp://u:p@h:${PORT}/x", &u), CS_CONFIG);
    assert_non_null(u.userinfo);
    assert_int_equal(u.userinfo_len, 3);
    assert_int_equal(url_split(NULL, &u), CS_CONFIG);
}

static void loopback(void **state)
{
    static const struct {
        const char *url;
        bool loop;
    } cases[] = {
        {"http://127.0.0.1:8000", true},      {"http://127.1.2.3/", true},
        {"http://localhost/", true},          {"http://LOCALHOST:1/", true},
        {"http://[::1]:8000/", true},         {"http://127.example/", false},
        {"http://localhost.example/", false}, {"http://192.0.2.1/", false},
        {"http://[2001:db8::1]/", false},     {"http://u@127.0.0.1/", true},
    };
    struct url_parts u;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(url_split(cases[i].url, &u), CS_OK);
        if (url_host_is_loopback(&u) != cases[i].loop)
            fail_msg("%s: loopback %d", cases[i].url, !cases[i].loop);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits),
        cmocka_unit_test(refuses),
        cmocka_unit_test(loopback),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
