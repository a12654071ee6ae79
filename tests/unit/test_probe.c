/* test_probe.c - camera diagnosis: where a URL points (default ports), the
 * verdict in a technician's words for each way a camera fails, the notes on
 * how its stream arrives (all of them at once still whole), and whole probes
 * of synthetic cameras, of closed ports on loopback and of a loopback RTSP
 * server that answers OPTIONS and nothing else, or nothing at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "probe_priv.h"
#include "testutil.h"

/* A camera as the config would give it (timeouts in ms). */
static struct camera_config cam_at(const char *url)
{
    return (struct camera_config){.name = "t",
                                  .url = (char *)url,
                                  .connect_timeout_ms = 1000,
                                  .read_timeout_ms = 300,
                                  .deadline_ms = 15000,
                                  .max_body_bytes = 1 << 20,
                                  .max_pixels = 4096 * 2304,
                                  .transport = TRANSPORT_AUTO,
                                  .enabled = true};
}

static void contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" lacks \"%s\"", text, part);
}

static void lacks(const char *text, const char *part)
{
    if (strstr(text, part))
        fail_msg("\"%s\" has \"%s\"", text, part);
}

static void ports(void **state)
{
    static const struct {
        const char *url, *host;
        int port;
    } cases[] = {
        {"rtsp://127.0.0.1/Streaming/Channels/101", "127.0.0.1", 554},
        {"RTSP://cam.local:8554/live", "cam.local", 8554},
        {"rtsps://cam.local/live", "cam.local", 322},
        {"https://cam.local/snap.jpg", "cam.local", 443},
        {"http://cam.local/snap.jpg", "cam.local", 80},
        {"http://[::1]:8080/snap.jpg", "::1", 8080},
        {"rtsp://user:p@ss@cam.local:10554/x", "cam.local", 10554},
        {"not a url", "", 80},
    };
    char host[256];
    int port;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        probe_host_port(cases[i].url, host, sizeof(host), &port);
        assert_string_equal(host, cases[i].host);
        assert_int_equal(port, cases[i].port);
    }
}

/* The verdict of a hand-made probe result. */
static const char *verdict(const struct camera_config *cam, struct probe_result *r)
{
    r->cam = cam;
    probe_diagnose(cam, r);
    return r->diagnosis;
}

static void unreachable(void **state)
{
    struct camera_config rtsp = cam_at("rtsp://127.0.0.1:10554/x");
    struct camera_config http = cam_at("http://127.0.0.1:10080/x");
    struct probe_result r = {.host = "127.0.0.1", .port = 10554, .tcp_rc = CS_REFUSED};

    (void)state;
    contains(verdict(&rtsp, &r), "Nothing listens on 127.0.0.1 port 10554 (connection refused)");
    contains(r.diagnosis, "its RTSP service is enabled");
    r = (struct probe_result){.host = "127.0.0.1", .port = 10080, .tcp_rc = CS_REFUSED};
    contains(verdict(&http, &r), "its HTTP service is enabled");
    r = (struct probe_result){.host = "127.0.0.1", .port = 10554, .tcp_rc = CS_TIMEOUT};
    contains(verdict(&rtsp, &r), "127.0.0.1 does not answer on port 10554 within 1 s");
    r = (struct probe_result){.host = "cam.invalid", .port = 554, .tcp_rc = CS_NOTFOUND};
    contains(verdict(&rtsp, &r), "The name cam.invalid cannot be resolved");
    r = (struct probe_result){.host = "127.0.0.1", .port = 554, .tcp_rc = CS_IO};
    contains(verdict(&rtsp, &r), "Cannot reach 127.0.0.1 port 554: ");
}

static void still_failures(void **state)
{
    struct camera_config rtsp = cam_at("rtsp://127.0.0.1:10554/x");
    struct camera_config http = cam_at("http://127.0.0.1:10080/x");
    struct probe_result r;

    (void)state;
#define FAILED(rc_, ...) (r = (struct probe_result){.port = 554, .rc = (rc_), __VA_ARGS__})
    FAILED(CS_AUTH, .error = "x");
    contains(verdict(&rtsp, &r), "refused the username/password");
    FAILED(CS_NOTFOUND, .error = "x");
    contains(verdict(&rtsp, &r), "has no stream at this path");
    FAILED(CS_TOOBIG, .error = "8000x6000 is more than max_pixels");
    contains(verdict(&rtsp, &r), "too large: 8000x6000 is more than max_pixels.");
    FAILED(CS_BADFRAME, .error = "grey blocks", .info = {.losses = 7});
    contains(verdict(&rtsp, &r), "Packet loss damaged every keyframe within 15 s (7 packets "
                                 "lost): use transport = tcp");
    FAILED(CS_BADFRAME, .error = "grey blocks", .info = {.losses = 7});
    contains(verdict(&http, &r), "arrive damaged: grey blocks.");
    FAILED(CS_TIMEOUT, .error = "e", .codec = "h264",
           .info = {.recovery_points = true, .transport = "TCP"});
    contains(verdict(&rtsp, &r), "sends no keyframes (intra refresh)");
    contains(r.diagnosis, "raise timeout above the refresh period");
    FAILED(CS_TIMEOUT, .error = "e", .codec = "h264",
           .info = {.recovery_points = true, .idr_seen = true});
    contains(verdict(&rtsp, &r), "no clean keyframe arrived within 15 s");
    FAILED(CS_TIMEOUT, .error = "e", .info = {.transport = "UDP"});
    contains(verdict(&rtsp, &r), "no video arrived within 15 s: over UDP a firewall may block");
    FAILED(CS_TIMEOUT, .error = "e", .info = {.transport = "TCP"});
    contains(verdict(&rtsp, &r), "no video arrived within 15 s. (e)");
    lacks(r.diagnosis, "firewall");
    FAILED(CS_TIMEOUT, .error = "e", .info = {.multipart = true});
    contains(verdict(&http, &r), "MJPEG stream sent no whole picture in time");
    FAILED(CS_TIMEOUT, .error = "e");
    contains(verdict(&http, &r), "its HTTP service may be hung");
    FAILED(CS_TIMEOUT, .error = "e");
    contains(verdict(&rtsp, &r), "its RTSP service may be hung");
    FAILED(CS_UNSUPPORTED, .error = "H.266");
    contains(verdict(&rtsp, &r), "cannot be used as configured: H.266.");
    FAILED(CS_PROTO, .error = "reset");
    contains(verdict(&rtsp, &r), "answered but broke off: reset.");
    FAILED(CS_NOMEM, .error = "out of memory");
    contains(verdict(&rtsp, &r), "No still: out of memory.");
#undef FAILED
}

static void success(void **state)
{
    struct camera_config cam = cam_at("rtsp://127.0.0.1/x");
    struct probe_result r = {.port = 554, .width = 640, .height = 360, .still_ms = 120};

    (void)state;
    assert_string_equal(verdict(&cam, &r), "OK: a clean 640x360 still in 120 ms.");
    assert_string_equal(r.notes, "");
    cam.width = 1920;
    cam.height = 1080;
    r = (struct probe_result){.port = 554, .width = 640, .height = 360, .mismatch = true};
    contains(verdict(&cam, &r), "OK, but it sends 640x360 while 1920x1080 is expected: set "
                                "resolution = 640x360");
}

static void notes(void **state)
{
    struct camera_config cam = cam_at("rtsp://127.0.0.1/x");
    struct probe_result r;

    (void)state;
    r = (struct probe_result){.port = 554,
                              .width = 8,
                              .height = 8,
                              .info = {.tcp_refused = true, .transport = "UDP", .losses = 3}};
    contains(verdict(&cam, &r), "OK: ");
    contains(r.notes, "refuses RTP over TCP: UDP is used");
    contains(r.notes, "3 RTP packet(s) were lost on the way (UDP)");
    contains(r.diagnosis, r.notes);
    /* Losses over TCP are the camera's own business: no advice to switch. */
    r = (struct probe_result){.port = 554, .info = {.transport = "TCP", .losses = 3}};
    verdict(&cam, &r);
    assert_string_equal(r.notes, "");
    r = (struct probe_result){.port = 554, .keyframe_interval_ms = 20000};
    contains(verdict(&cam, &r), "WARNING: keyframes come every 20.0 s, longer than the "
                                "timeout (15 s)");
    r = (struct probe_result){.port = 554, .keyframe_interval_ms = 14000};
    verdict(&cam, &r);
    assert_string_equal(r.notes, "");
    r = (struct probe_result){
        .port = 554, .keyframe_too_rare = true, .keyframe_interval_ms = 20000};
    verdict(&cam, &r);
    contains(r.notes, "no second keyframe came within the timeout (15 s)");
    lacks(r.notes, "keyframes come every");
}

/* Every note an RTSP camera can earn at once, on a failure with the
 * longest message: nothing is cut, least of all the warning a technician
 * must act on. */
static void every_note_at_once(void **state)
{
    struct camera_config cam = cam_at("rtsp://127.0.0.1/x");
    struct probe_result r = {.port = 554,
                             .rc = CS_TIMEOUT,
                             .codec = "hevc",
                             .keyframe_too_rare = true,
                             .info = {.tcp_refused = true,
                                      .mpegts = true,
                                      .recovery_points = true,
                                      .transport = "UDP",
                                      .losses = 4000000000u}};

    (void)state;
    memset(r.error, 'e', sizeof(r.error) - 1);
    verdict(&cam, &r);
    contains(r.notes, "Lower the camera's keyframe (I-frame) interval or raise timeout.");
    contains(r.diagnosis, "Lower the camera's keyframe (I-frame) interval or raise timeout.");
    contains(r.diagnosis, "The video comes inside MPEG-TS.");
    contains(r.diagnosis, "4000000000 RTP packet(s)");
    contains(r.diagnosis, "eeee)"); /* the whole message */
    assert_true(strlen(r.diagnosis) < sizeof(r.diagnosis) - 1);
    /* An MJPEG stream's note on top (HTTP cameras have it): still whole. */
    r.info.multipart = true;
    r.notes[0] = '\0';
    verdict(&cam, &r);
    contains(r.diagnosis, "or raise timeout.");
    assert_true(strlen(r.diagnosis) < sizeof(r.diagnosis) - 1);
}

static void synthetic(void **state)
{
    struct camera_config cam = cam_at("synthetic://64x48");
    struct probe_result r;

    (void)state;
    probe_camera(&cam, &r);
    assert_int_equal(r.rc, CS_OK);
    assert_int_equal(r.port, 0);
    assert_int_equal(r.tcp_ms, -1);
    assert_string_equal(r.codec, "synthetic");
    assert_int_equal(r.width, 64);
    assert_int_equal(r.height, 48);
    assert_string_equal(r.answer, "built-in test pattern");
    contains(r.diagnosis, "OK: a clean 64x48 still in ");
    cam.width = 32;
    cam.height = 24;
    probe_camera(&cam, &r);
    assert_true(r.mismatch);
    contains(r.diagnosis, "OK, but it sends 64x48 while 32x24 is expected");
    cam = cam_at("synthetic://64x48?fail=auth");
    probe_camera(&cam, &r);
    assert_int_equal(r.rc, CS_AUTH);
    contains(r.diagnosis, "refused the username/password");
    cam = cam_at("synthetic://64x48?delay=5s");
    cam.deadline_ms = 200;
    probe_camera(&cam, &r);
    assert_int_equal(r.rc, CS_TIMEOUT);
    assert_true(r.still_ms >= 150 && r.still_ms < 4000);
}

static void refused(void **state)
{
    char url[128];
    struct camera_config cam;
    struct probe_result r;
    int port = test_closed_port();

    (void)state;
    snprintf(url, sizeof(url), "rtsp://127.0.0.1:%d/live", port);
    cam = cam_at(url);
    probe_camera(&cam, &r);
    assert_int_equal(r.tcp_rc, CS_REFUSED);
    assert_int_equal(r.rc, CS_REFUSED);
    assert_int_equal(r.port, port);
    assert_true(r.tcp_ms >= 0);
    assert_string_equal(r.codec, ""); /* no still was tried */
    contains(r.error, "TCP connection to 127.0.0.1 port");
    contains(r.diagnosis, "Nothing listens on 127.0.0.1 port");
    contains(r.diagnosis, "RTSP service");
    snprintf(url, sizeof(url), "http://[::1]:%d/snap.jpg", port);
    cam = cam_at(url);
    probe_camera(&cam, &r);
    assert_int_equal(r.tcp_rc, CS_REFUSED);
    assert_string_equal(r.host, "::1");
    contains(r.diagnosis, "HTTP service");
}

/* A loopback server speaking just enough RTSP: it answers OPTIONS (as a
 * camera does, CSeq echoed, its Server named) and closes; or, silent,
 * accepts and says nothing. */
struct rtspd {
    int fd, port;
    bool silent;
    atomic_bool stop;
    int held[8];
    int n_held;
    pthread_t tid;
};

static void answer_options(int c)
{
    char req[2048], resp[256], cseq[32] = "1";
    size_t got = 0;
    ssize_t n;
    const char *p;

    while (got < sizeof(req) - 1 && (n = read(c, req + got, sizeof(req) - 1 - got)) > 0) {
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[got] = '\0';
    if ((p = strstr(req, "CSeq:")))
        sscanf(p + 5, " %31[0-9]", cseq);
    if (strncmp(req, "OPTIONS ", 8) == 0)
        snprintf(resp, sizeof(resp),
                 "RTSP/1.0 200 OK\r\nCSeq: %s\r\nServer: TestCam/2.1\r\n"
                 "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n",
                 cseq);
    else
        snprintf(resp, sizeof(resp), "RTSP/1.0 454 Session Not Found\r\nCSeq: %s\r\n\r\n", cseq);
    if (write(c, resp, strlen(resp)) < 0)
        return;
}

static void *rtspd_main(void *arg)
{
    struct rtspd *s = arg;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};

    while (!atomic_load(&s->stop)) {
        int c;
        if (poll(&p, 1, 50) != 1 || (c = accept(s->fd, NULL, NULL)) < 0)
            continue;
        if (s->silent && s->n_held < 8) {
            s->held[s->n_held++] = c;
            continue;
        }
        answer_options(c);
        close(c);
    }
    return NULL;
}

static void rtspd_start(struct rtspd *s, bool silent)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);

    memset(s, 0, sizeof(*s));
    s->silent = silent;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->tid, NULL, rtspd_main, s), 0);
}

static void rtspd_stop(struct rtspd *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->tid, NULL);
    for (int i = 0; i < s->n_held; i++)
        close(s->held[i]);
    close(s->fd);
}

static void rtsp_options_answer(void **state)
{
    struct rtspd s;
    char url[128];
    struct camera_config cam;
    struct probe_result r;

    (void)state;
    rtspd_start(&s, false);
    snprintf(url, sizeof(url), "rtsp://127.0.0.1:%d/Streaming/Channels/101", s.port);
    cam = cam_at(url);
    cam.deadline_ms = 2000;
    probe_camera(&cam, &r);
    rtspd_stop(&s);
    assert_int_equal(r.tcp_rc, CS_OK);
    assert_string_equal(r.answer, "RTSP/1.0 200 OK (Server: TestCam/2.1)");
    /* OPTIONS is all it does: no still, and the verdict says why. */
    assert_int_not_equal(r.rc, CS_OK);
    assert_true(r.diagnosis[0] != '\0');
    lacks(r.diagnosis, "OK");
}

static void rtsp_silent(void **state)
{
    struct rtspd s;
    char url[128];
    struct camera_config cam;
    struct probe_result r;
    int64_t t0 = clock_mono_ms();

    (void)state;
    rtspd_start(&s, true);
    snprintf(url, sizeof(url), "rtsp://127.0.0.1:%d/live", s.port);
    cam = cam_at(url);
    cam.deadline_ms = 1500;
    probe_camera(&cam, &r);
    rtspd_stop(&s);
    assert_int_equal(r.tcp_rc, CS_OK);
    assert_string_equal(r.answer, "no answer to RTSP OPTIONS");
    assert_int_equal(r.rc, CS_TIMEOUT);
    contains(r.diagnosis, "accepts the connection but does not answer in time");
    /* read_timeout for OPTIONS, then the connect timeout: bounded. */
    assert_true(clock_mono_ms() - t0 < 6000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ports),
        cmocka_unit_test(unreachable),
        cmocka_unit_test(still_failures),
        cmocka_unit_test(success),
        cmocka_unit_test(notes),
        cmocka_unit_test(every_note_at_once),
        cmocka_unit_test(synthetic),
        cmocka_unit_test(refused),
        cmocka_unit_test(rtsp_options_answer),
        cmocka_unit_test(rtsp_silent),
    };

    log_set_level(LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
