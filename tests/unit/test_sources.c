/* test_sources.c - the source kinds without a camera: the synthetic camera
 * whole (its URL and options, its colour bars checked against BT.601
 * computed here, odd sizes, delays, deadlines and failure modes), the
 * dispatch by scheme, and the pure parts of the RTSP and HTTP sources
 * (source_priv.h): URL checks, credentials percent-encoded into the URL,
 * origins and the redirect rule, loss messages, durations in words, HTTP
 * statuses, whole JPEG parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "source.h"
#include "source_priv.h"
#include "testutil.h"

static struct camera_config cam_at(const char *url)
{
    return (struct camera_config){.name = "t",
                                  .url = (char *)url,
                                  .connect_timeout_ms = 1000,
                                  .read_timeout_ms = 1000,
                                  .deadline_ms = 5000,
                                  .max_body_bytes = 1 << 20,
                                  .max_pixels = 4096 * 2304,
                                  .enabled = true};
}

static void contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" lacks \"%s\"", text, part);
}

/* Opens and grabs; returns the grab's (or the open's) result. */
static enum cs_err grab(const char *url, struct source **src, struct frame *f, char *err,
                        size_t errsz, int64_t deadline_ms)
{
    static struct camera_config cam;
    enum cs_err rc;

    cam = cam_at(url);
    *src = NULL;
    err[0] = '\0';
    rc = source_open(&cam, NULL, clock_mono_ms() + deadline_ms, src, err, errsz);
    if (rc)
        return rc;
    return source_grab(*src, clock_mono_ms() + deadline_ms, f, err, errsz);
}

/* Full-range BT.601 (JFIF) YCbCr of an RGB colour, computed here. */
static void ycbcr(int r, int g, int b, int out[3])
{
    out[0] = (int)lround(0.299 * r + 0.587 * g + 0.114 * b);
    out[1] = (int)lround(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
    out[2] = (int)lround(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    for (int i = 0; i < 3; i++)
        out[i] = out[i] < 0 ? 0 : out[i] > 255 ? 255 : out[i];
}

static void near(int got, int want, const char *what, int bar)
{
    if (got < want - 1 || got > want + 1)
        fail_msg("bar %d %s: %d, expected %d", bar, what, got, want);
}

static void synthetic_bars(void **state)
{
    /* white, yellow, cyan, green, magenta, red, blue, black */
    static const int rgb[8][3] = {{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
                                  {255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0}};
    struct source *src;
    struct source_info info;
    struct frame f;
    char err[256];
    int w = 320, h = 240;

    (void)state;
    assert_int_equal(grab("synthetic://320x240", &src, &f, err, sizeof(err), 2000), CS_OK);
    assert_int_equal(f.kind, FRAME_YUV);
    assert_int_equal(f.width, w);
    assert_int_equal(f.height, h);
    assert_int_equal(f.subsamp, SUBSAMP_420);
    assert_true(f.full_range);
    for (int b = 0; b < 8; b++) {
        int x = b * w / 8 + w / 16, want[3];
        ycbcr(rgb[b][0], rgb[b][1], rgb[b][2], want);
        /* the top and the bottom row of the bars */
        near(f.planes[0][x], want[0], "Y", b);
        near(f.planes[0][(size_t)(h * 2 / 3 - 1) * f.strides[0] + x], want[0], "Y", b);
        near(f.planes[1][x / 2], want[1], "Cb", b);
        near(f.planes[2][x / 2], want[2], "Cr", b);
    }
    /* The caption band: dark grey and colourless in its corner. */
    assert_int_equal(f.planes[0][(size_t)(h - 1) * f.strides[0]], 40);
    assert_int_equal(f.planes[1][(size_t)(h / 2 - 1) * f.strides[1]], 128);
    assert_int_equal(f.planes[2][(size_t)(h / 2 - 1) * f.strides[2]], 128);
    source_get_info(src, &info);
    assert_string_equal(info.codec, "synthetic");
    assert_int_equal(info.width, w);
    assert_int_equal(info.height, h);
    /* A second grab from the same source: the next frame. */
    assert_int_equal(source_grab(src, clock_mono_ms() + 1000, &f, err, sizeof(err)), CS_OK);
    source_release(src, &f);
    source_close(src);
    source_close(NULL);
}

/* Odd and small sizes: planes sized (w+1)/2 x (h+1)/2, nothing drawn out
 * of them (the sanitizer build would say); below 16 pixels a side the
 * size is refused. */
static void synthetic_odd_sizes(void **state)
{
    static const char *const urls[] = {"synthetic://33x17", "synthetic://16x16",
                                       "synthetic://17x601", "synthetic://641x19"};
    struct source *src;
    struct frame f;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        int w, h;
        assert_int_equal(grab(urls[i], &src, &f, err, sizeof(err), 2000), CS_OK);
        assert_int_equal(sscanf(urls[i], "synthetic://%dx%d", &w, &h), 2);
        assert_int_equal(f.width, w);
        assert_int_equal(f.height, h);
        assert_int_equal(f.strides[0], w);
        assert_int_equal(f.strides[1], (w + 1) / 2);
        assert_ptr_equal(f.planes[1], f.planes[0] + (size_t)w * h);
        assert_ptr_equal(f.planes[2], f.planes[1] + (size_t)((w + 1) / 2) * ((h + 1) / 2));
        source_close(src);
    }
    assert_int_equal(grab("synthetic://15x16", &src, &f, err, sizeof(err), 2000), CS_CONFIG);
    assert_null(src);
}

static void synthetic_options(void **state)
{
    static const struct {
        const char *url;
        enum cs_err rc;
        const char *words;
    } cases[] = {
        {"synthetic://", CS_CONFIG, "needs a size such as synthetic://1920x1080"},
        {"synthetic://big", CS_CONFIG, "needs a size"},
        {"synthetic://64x48?delay=soon", CS_CONFIG, "synthetic delay \"soon\" is not a duration"},
        {"synthetic://64x48?colour=red", CS_CONFIG, "unknown synthetic option \"colour\""},
        {"synthetic://64x48?delay", CS_CONFIG, "bad synthetic option near \"delay\""},
        {"synthetic://64x48?fail=auth&&delay=1ms", CS_CONFIG, "bad synthetic option"},
        {"synthetic://64x48?fail=timeout", CS_TIMEOUT, "synthetic failure: timed out"},
        {"synthetic://64x48?fail=refused", CS_REFUSED, "connection refused"},
        {"synthetic://64x48?fail=auth", CS_AUTH, "username/password"},
        {"synthetic://64x48?fail=notfound", CS_NOTFOUND, "no stream at this path"},
        {"synthetic://64x48?fail=melted", CS_PROTO, "synthetic failure: melted"},
        {"synthetic://64x48?delay=1ms&fail=auth", CS_AUTH, "username/password"},
        {"synthetic://64x48?", CS_OK, ""},
        {"SYNTHETIC://64x48", CS_OK, ""},
    };
    struct source *src;
    struct frame f;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum cs_err rc = grab(cases[i].url, &src, &f, err, sizeof(err), 2000);
        if (rc != cases[i].rc)
            fail_msg("%s: %s (%s), expected %s", cases[i].url, cs_strerror(rc), err,
                     cs_strerror(cases[i].rc));
        contains(err, cases[i].words);
        /* A URL refused at open leaves no source behind. */
        if (cases[i].rc == CS_CONFIG)
            assert_null(src);
        source_close(src);
    }
}

/* delay= takes that long; a deadline sooner than the delay ends the grab
 * at the deadline, not after the delay. */
static void synthetic_delay(void **state)
{
    struct source *src;
    struct frame f;
    char err[256];
    int64_t t0 = clock_mono_ms();

    (void)state;
    assert_int_equal(grab("synthetic://64x48?delay=120ms", &src, &f, err, sizeof(err), 5000),
                     CS_OK);
    assert_true(clock_mono_ms() - t0 >= 115);
    source_close(src);
    t0 = clock_mono_ms();
    assert_int_equal(grab("synthetic://64x48?delay=30s", &src, &f, err, sizeof(err), 150),
                     CS_TIMEOUT);
    assert_true(clock_mono_ms() - t0 >= 140);
    assert_true(clock_mono_ms() - t0 < 10000);
    contains(err, "no frame within the deadline");
    source_close(src);
}

/* The scheme picks the kind, in any case; https:// goes to the HTTP
 * source, rtsps:// to the RTSP one; nothing listening is said in words. */
static void dispatch(void **state)
{
    char url[128], err[256];
    struct source *src;
    struct frame f;
    int port = test_closed_port();

    (void)state;
    assert_int_equal(grab("ftp://127.0.0.1/a.jpg", &src, &f, err, sizeof(err), 1000),
                     CS_UNSUPPORTED);
    contains(err, "unsupported URL scheme");
    assert_null(src);
    snprintf(url, sizeof(url), "HTTP://127.0.0.1:%d/snap.jpg", port);
    assert_int_equal(grab(url, &src, &f, err, sizeof(err), 3000), CS_REFUSED);
    contains(err, "nothing answers at");
    source_close(src);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/snap.jpg", port);
    assert_int_equal(grab(url, &src, &f, err, sizeof(err), 3000), CS_REFUSED);
    source_close(src);
    snprintf(url, sizeof(url), "rtsp://127.0.0.1:%d/live", port);
    assert_int_equal(grab(url, &src, &f, err, sizeof(err), 3000), CS_REFUSED);
    snprintf(url, sizeof(url), "nothing listens on 127.0.0.1:%d", port);
    contains(err, url);
    assert_null(src);
    snprintf(url, sizeof(url), "rtsps://127.0.0.1:%d/live", port);
    assert_int_equal(grab(url, &src, &f, err, sizeof(err), 3000), CS_REFUSED);
    assert_null(src);
    snprintf(url, sizeof(url), "rtsp://[::1]:%d/live", port);
    assert_int_equal(grab(url, &src, &f, err, sizeof(err), 3000), CS_REFUSED);
    snprintf(url, sizeof(url), "nothing listens on [::1]:%d", port);
    contains(err, url);
}

static void rtsp_urls(void **state)
{
    static const struct {
        const char *url;
        enum cs_err rc;
        const char *out; /* hostport, or words of the error */
    } cases[] = {
        {"rtsp://127.0.0.1/Streaming/Channels/101", CS_OK, "127.0.0.1:554"},
        {"rtsp://cam.local:8554/live?x=1", CS_OK, "cam.local:8554"},
        {"rtsps://cam.local/live", CS_OK, "cam.local:322"},
        {"RTSP://cam.local/live", CS_OK, "cam.local:554"},
        {"rtsp://[::1]:8554/live", CS_OK, "[::1]:8554"},
        {"rtsp://[fe80::1]/live", CS_OK, "[fe80::1]:554"},
        {"rtsp://admin:secret@cam.local/live", CS_CONFIG, "username and password settings"},
        {"rtsp://admin@cam.local/live", CS_CONFIG, "user name or password"},
        {"rtsp:///live", CS_CONFIG, "no host name"},
        {"http://cam.local/live", CS_UNSUPPORTED, "does not start with rtsp://"},
    };
    char hp[300], err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hp[0] = err[0] = '\0';
        assert_int_equal(rtsp_check_url(cases[i].url, hp, sizeof(hp), err, sizeof(err)),
                         cases[i].rc);
        if (cases[i].rc == CS_OK)
            assert_string_equal(hp, cases[i].out);
        else
            contains(err, cases[i].out);
    }
}

/* Percent-decoding, written here, to read back what was encoded. */
static void pct_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (in[i] == '%' && i + 2 < n + 1 && sscanf(in + i + 1, "%2x", &v) == 1) {
            out[o++] = (char)v;
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

static char *with_credentials(const char *url, const char *user, const char *pass)
{
    struct camera_config cam = cam_at(url);
    char *out;

    cam.username = (char *)user;
    cam.password = (char *)pass;
    assert_non_null(out = rtsp_url_with_credentials(&cam));
    return out;
}

static void rtsp_credentials(void **state)
{
    char pass[256], *u, user_back[300], pass_back[300];
    const char *at, *colon;

    (void)state;
    u = with_credentials("rtsp://cam.local/live", "admin", "p@ss:w/rd é");
    assert_string_equal(u, "rtsp://admin:p%40ss%3Aw%2Frd%20%C3%A9@cam.local/live");
    free(u);
    u = with_credentials("RTSPS://cam.local/live", "admin", NULL);
    assert_string_equal(u, "rtsps://admin@cam.local/live");
    free(u);
    u = with_credentials("Rtsp://cam.local/live", NULL, "only-a-password");
    assert_string_equal(u, "rtsp://:only-a-password@cam.local/live");
    free(u);
    u = with_credentials("rtsp://cam.local/live", "", "");
    assert_string_equal(u, "rtsp://cam.local/live");
    free(u);
    u = with_credentials("rtsp://cam.local/live", "a.b_c-d~e", "");
    assert_string_equal(u, "rtsp://a.b_c-d~e@cam.local/live");
    free(u);
    /* Every byte a password may hold comes back whole, and nothing of it
     * stands unencoded where a URL parser would split. */
    for (int i = 1; i < 256; i++)
        pass[i - 1] = (char)i;
    pass[255] = '\0';
    u = with_credentials("rtsp://cam.local:554/live", "us:er@", pass);
    at = strchr(u, '@');
    assert_non_null(at);
    assert_ptr_equal(strrchr(u, '@'), at);
    assert_string_equal(at, "@cam.local:554/live");
    colon = strchr(u + 7, ':');
    assert_true(colon < at);
    pct_decode(u + 7, (size_t)(colon - u - 7), user_back);
    pct_decode(colon + 1, (size_t)(at - colon - 1), pass_back);
    assert_string_equal(user_back, "us:er@");
    assert_string_equal(pass_back, pass);
    for (const char *p = u + 7; p < at; p++)
        assert_true(*p == ':' || (*p > ' ' && *p < 127 && !strchr("/?#[]@!$&'()*+,;= ", *p)));
    free(u);
}

static void rtsp_redirects(void **state)
{
    struct camera_config open = cam_at("rtsp://cam.local/live");
    struct camera_config secret = cam_at("rtsp://cam.local/live");
    char o[300];

    (void)state;
    rtsp_origin("rtsp://u:p@Cam.Local/a", o, sizeof(o));
    assert_string_equal(o, "rtsp://Cam.Local:554");
    rtsp_origin("rtsps://cam.local:9000/a", o, sizeof(o));
    assert_string_equal(o, "rtsps://cam.local:9000");
    rtsp_origin("rtsps://cam.local/a", o, sizeof(o));
    assert_string_equal(o, "rtsps://cam.local:322");
    secret.username = "admin";
    /* Same origin (the default port written out, another case): allowed. */
    assert_false(rtsp_redirect_refused(&secret, "rtsp://CAM.local:554/other", 1));
    /* Another host, another port, another scheme: not with credentials. */
    assert_true(rtsp_redirect_refused(&secret, "rtsp://evil.local/live", 1));
    assert_true(rtsp_redirect_refused(&secret, "rtsp://cam.local:8554/live", 1));
    assert_true(rtsp_redirect_refused(&secret, "rtsps://cam.local/live", 1));
    secret.username = NULL;
    secret.password = "pw";
    assert_true(rtsp_redirect_refused(&secret, "rtsp://evil.local/live", 1));
    /* Without credentials anywhere goes, up to three redirects. */
    assert_false(rtsp_redirect_refused(&open, "rtsp://other.local/live", 1));
    assert_false(rtsp_redirect_refused(&open, "rtsp://other.local/live", 3));
    assert_true(rtsp_redirect_refused(&open, "rtsp://other.local/live", 4));
    assert_true(rtsp_redirect_refused(&open, "rtsp://cam.local/live", 4));
}

static void rtsp_words(void **state)
{
    char buf[32];

    (void)state;
    /* libavformat's formats (rtpdec.c, rtpdec_jpeg.c) */
    assert_true(rtsp_is_loss_message("RTP: missed %d packets\n"));
    assert_true(rtsp_is_loss_message("RTP: PT=%02x: bad cseq %04x expected=%04x\n"));
    assert_true(rtsp_is_loss_message("Missing packets; dropping frame.\n"));
    assert_false(rtsp_is_loss_message("SDP:\n%s\n"));
    assert_false(rtsp_is_loss_message("RTP"));
    assert_false(rtsp_is_loss_message(""));
    assert_string_equal(rtsp_duration_text(850, buf, sizeof(buf)), "850 ms");
    assert_string_equal(rtsp_duration_text(999, buf, sizeof(buf)), "999 ms");
    assert_string_equal(rtsp_duration_text(1000, buf, sizeof(buf)), "1.0s");
    assert_string_equal(rtsp_duration_text(4049, buf, sizeof(buf)), "4.0s");
    assert_string_equal(rtsp_duration_text(-5, buf, sizeof(buf)), "0 ms");
}

static void http_parts(void **state)
{
    static const uint8_t whole[] = {0xFF, 0xD8, 0x00, 0x01, 0xFF, 0xD9};
    static const uint8_t padded[] = {0xFF, 0xD8, 0xFF, 0xD9, 0, 0, 0};
    static const uint8_t torn[] = {0xFF, 0xD8, 0x00, 0x01, 0xFF};
    static const uint8_t no_soi[] = {0x00, 0xD8, 0x00, 0x01, 0xFF, 0xD9};
    static const uint8_t zeros[] = {0, 0, 0, 0, 0, 0};

    (void)state;
    assert_true(http_whole_jpeg(whole, sizeof(whole)));
    assert_true(http_whole_jpeg(padded, sizeof(padded)));
    assert_true(http_whole_jpeg(whole, 4) == false);
    assert_false(http_whole_jpeg(torn, sizeof(torn)));
    assert_false(http_whole_jpeg(no_soi, sizeof(no_soi)));
    assert_false(http_whole_jpeg(zeros, sizeof(zeros)));
    assert_false(http_whole_jpeg(whole, 0));
}

static void http_statuses(void **state)
{
    static const struct {
        long status;
        enum cs_err rc;
        const char *words;
    } cases[] = {
        {401, CS_AUTH, "refused the username/password (HTTP 401)"},
        {403, CS_AUTH, "(HTTP 403)"},
        {404, CS_NOTFOUND, "no snapshot at this path (HTTP 404)"},
        {429, CS_AGAIN, "HTTP 429 instead of an image"},
        {500, CS_AGAIN, "HTTP 500"},
        {503, CS_AGAIN, "HTTP 503"},
        {302, CS_PROTO, "HTTP 302"},
        {400, CS_PROTO, "HTTP 400"},
        {418, CS_PROTO, "HTTP 418"},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(http_status_error(cases[i].status, err, sizeof(err)), cases[i].rc);
        contains(err, cases[i].words);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synthetic_bars),    cmocka_unit_test(synthetic_odd_sizes),
        cmocka_unit_test(synthetic_options), cmocka_unit_test(synthetic_delay),
        cmocka_unit_test(dispatch),          cmocka_unit_test(rtsp_urls),
        cmocka_unit_test(rtsp_credentials),  cmocka_unit_test(rtsp_redirects),
        cmocka_unit_test(rtsp_words),        cmocka_unit_test(http_parts),
        cmocka_unit_test(http_statuses),
    };

    log_set_level(LOG_LEVEL_ERROR);
    source_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
