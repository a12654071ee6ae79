#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "probe_priv.h"
#include "source.h"
#include "url.h"

void probe_host_port(const char *url, char *host, size_t hostsz, int *port)
{
    struct url_parts u;

    *port = !strncasecmp(url, "rtsps", 5) ? 322 : !strncasecmp(url, "rtsp", 4) ? 554
          : !strncasecmp(url, "https", 5) ? 443 : 80;
    host[0] = '\0';
    if (url_split(url, &u))
        return;
    snprintf(host, hostsz, "%.*s", (int)u.host_len, u.host);
    if (u.port > 0)
        *port = u.port;
}

/* Connects with a timeout; returns the fd or -1 with *rc set. */
static int tcp_connect(const char *host, int port, int64_t timeout_ms, enum cs_err *rc)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    char portstr[16];
    int fd = -1, err = 0;
    socklen_t len = sizeof(err);
    struct pollfd pfd;

    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host, portstr, &hints, &ai) != 0 || !ai) {
        *rc = CS_NOTFOUND;
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
        err = errno;
    freeaddrinfo(ai);
    if (fd < 0) {
        *rc = CS_IO;
        return -1;
    }
    if (!err) {
        pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, (int)timeout_ms) <= 0)
            err = ETIMEDOUT;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
    }
    if (err) {
        close(fd);
        *rc = cs_from_errno(err);
        return -1;
    }
    *rc = CS_OK;
    return fd;
}

/* Sends RTSP OPTIONS and keeps the status line and Server header. */
static void rtsp_options(int fd, const struct camera_config *cam, char *out, size_t outsz)
{
    char req[1200], resp[2048];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t n = 0;
    size_t got = 0;
    int64_t deadline = clock_mono_ms() + cam->read_timeout_ms;

    /* The URL as configured holds no credentials (config moves them out). */
    resp[0] = '\0';
    snprintf(req, sizeof(req), "OPTIONS %.1000s RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: camsnap-probe\r\n\r\n",
             cam->url);
    if (write(fd, req, strlen(req)) < 0)
        return;
    while (got < sizeof(resp) - 1 && !strstr(resp, "\r\n\r\n")) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 ||
            (n = read(fd, resp + got, sizeof(resp) - 1 - got)) <= 0)
            break;
        got += (size_t)n;
        resp[got] = '\0';
    }
    resp[got] = '\0';
    if (!got) {
        snprintf(out, outsz, "no answer to RTSP OPTIONS");
        return;
    }
    const char *server = strcasestr(resp, "\r\nServer:");
    int line = (int)strcspn(resp, "\r\n");
    if (server) {
        server += 9;
        server += strspn(server, " ");
        snprintf(out, outsz, "%.*s (Server: %.*s)", line, resp, (int)strcspn(server, "\r\n"),
                 server);
    } else {
        snprintf(out, outsz, "%.*s", line, resp);
    }
}

static void check_tcp(const struct camera_config *cam, struct probe_result *r)
{
    int64_t t0 = clock_mono_ms();
    int fd;

    probe_host_port(cam->url, r->host, sizeof(r->host), &r->port);
    fd = tcp_connect(r->host, r->port, cam->connect_timeout_ms, &r->tcp_rc);
    r->tcp_ms = clock_mono_ms() - t0;
    if (fd < 0)
        return;
    if (!strncasecmp(cam->url, "rtsp://", 7))
        rtsp_options(fd, cam, r->answer, sizeof(r->answer));
    close(fd);
}

/* Waits for the next keyframe after a first still to measure the interval;
 * when none comes within the camera's timeout, the interval is longer. */
static void measure_interval(const struct camera_config *cam, struct source *src,
                             struct probe_result *r)
{
    struct source_info info;
    struct frame f;
    char err[320];

    source_get_info(src, &info);
    if (info.keyframe_interval_ms > 0 || strncasecmp(cam->url, "rtsp", 4))
        return;
    if (source_grab(src, clock_mono_ms() + cam->deadline_ms, &f, err, sizeof(err)) == CS_TIMEOUT)
        r->keyframe_too_rare = true;
}

static void grab_still(const struct camera_config *cam, struct probe_result *r)
{
    int64_t t0 = clock_mono_ms(), deadline = t0 + cam->deadline_ms;
    struct source *src = NULL;
    struct frame f;

    r->rc = source_open(cam, NULL, deadline, &src, r->error, sizeof(r->error));
    r->open_ms = clock_mono_ms() - t0;
    if (!r->rc)
        r->rc = source_grab(src, deadline, &f, r->error, sizeof(r->error));
    r->still_ms = clock_mono_ms() - t0;
    if (!r->rc) {
        r->width = f.width;
        r->height = f.height;
        r->mismatch = cam->width && (f.width != cam->width || f.height != cam->height);
        measure_interval(cam, src, r);
    }
    if (src) {
        source_get_info(src, &r->info);
        snprintf(r->codec, sizeof(r->codec), "%s", r->info.codec);
        if (!r->width) {
            r->width = r->info.width;
            r->height = r->info.height;
        }
        r->keyframe_interval_ms = r->info.keyframe_interval_ms;
        if (!r->answer[0] && r->info.detail[0])
            snprintf(r->answer, sizeof(r->answer), "%s", r->info.detail);
    }
    source_close(src);
}

static void note(struct probe_result *r, const char *text)
{
    size_t n = strlen(r->notes);

    snprintf(r->notes + n, sizeof(r->notes) - n, "%s%s", n ? " " : "", text);
}

/* What is worth knowing about how the stream arrives, failed or not. */
static void stream_notes(const struct camera_config *cam, struct probe_result *r)
{
    const struct source_info *in = &r->info;
    char buf[256];

    if (in->tcp_refused)
        note(r, "The camera refuses RTP over TCP: UDP is used (transport = auto).");
    if (in->mpegts)
        note(r, "The video comes inside MPEG-TS.");
    if (in->multipart)
        note(r, "This is an MJPEG stream, not a snapshot URL: the first whole picture is taken.");
    if (in->recovery_points && !in->idr_seen)
        note(r, "The camera sends no keyframes (intra refresh): a still waits for a recovery "
                "point and a full refresh of the picture.");
    if (in->losses && !strcmp(in->transport, "UDP")) {
        snprintf(buf, sizeof(buf), "%u RTP packet(s) were lost on the way (UDP): if stills "
                                   "fail, use transport = tcp.", in->losses);
        note(r, buf);
    }
    if (r->keyframe_too_rare) {
        snprintf(buf, sizeof(buf),
                 "WARNING: no second keyframe came within the timeout (%.0f s): the keyframe "
                 "interval is longer than the timeout, so captures will fail whenever they "
                 "start just after a keyframe. Lower the camera's keyframe (I-frame) interval "
                 "or raise timeout.",
                 (double)cam->deadline_ms / 1000.0);
        note(r, buf);
    } else if (r->keyframe_interval_ms > cam->deadline_ms) {
        snprintf(buf, sizeof(buf),
                 "WARNING: keyframes come every %.1f s, longer than the timeout (%.0f s): "
                 "captures will often fail. Lower the camera's keyframe (I-frame) interval or "
                 "raise timeout.",
                 (double)r->keyframe_interval_ms / 1000.0, (double)cam->deadline_ms / 1000.0);
        note(r, buf);
    }
}

/* The diagnosis of a failed still once the host answered. */
static void diagnose_still(const struct camera_config *cam, struct probe_result *r, char *d,
                           size_t sz)
{
    const struct source_info *in = &r->info;
    double secs = (double)cam->deadline_ms / 1000.0;
    bool rtsp = !strncasecmp(cam->url, "rtsp", 4);

    if (r->rc == CS_AUTH)
        snprintf(d, sz, "The camera refused the username/password: check username and "
                        "password_file (and that the user may view the stream).");
    else if (r->rc == CS_NOTFOUND)
        snprintf(d, sz, "The camera answers but has no stream at this path: check the URL path "
                        "(for example /Streaming/Channels/101).");
    else if (r->rc == CS_TOOBIG)
        snprintf(d, sz, "The camera's pictures are too large: %s.", r->error);
    else if (r->rc == CS_BADFRAME && in->losses && rtsp)
        snprintf(d, sz, "Packet loss damaged every keyframe within %.0f s (%u packets lost): "
                        "use transport = tcp, or check the network between here and the "
                        "camera. (%s)", secs, in->losses, r->error);
    else if (r->rc == CS_BADFRAME)
        snprintf(d, sz, "The camera's pictures arrive damaged: %s.", r->error);
    else if (r->rc == CS_TIMEOUT && rtsp && in->recovery_points && !in->idr_seen)
        snprintf(d, sz, "The camera sends no keyframes (intra refresh) and its refresh did not "
                        "cover the picture within %.0f s: raise timeout above the refresh "
                        "period, or turn intra refresh off (keyframes on). (%s)", secs, r->error);
    else if (r->rc == CS_TIMEOUT && rtsp && r->codec[0])
        snprintf(d, sz, "The camera answers but no clean keyframe arrived within %.0f s: lower "
                        "its keyframe (I-frame) interval or raise timeout. (%s)", secs, r->error);
    else if (r->rc == CS_TIMEOUT && rtsp && in->transport[0])
        snprintf(d, sz, "The camera set the stream up but no video arrived within %.0f s%s. (%s)",
                 secs, !strcmp(in->transport, "UDP")
                           ? ": over UDP a firewall may block the video; try transport = tcp"
                           : "", r->error);
    else if (r->rc == CS_TIMEOUT && in->multipart)
        snprintf(d, sz, "The camera's MJPEG stream sent no whole picture in time. (%s)",
                 r->error);
    else if (r->rc == CS_TIMEOUT) /* RTSP set-up or HTTP request: no keyframe involved */
        snprintf(d, sz, "The camera accepts the connection but does not answer in time: its "
                        "%s service may be hung (restart the camera) or this is not its %s port. "
                        "(%s)", rtsp ? "RTSP" : "HTTP", rtsp ? "RTSP" : "HTTP", r->error);
    else if (r->rc == CS_UNSUPPORTED)
        snprintf(d, sz, "The camera cannot be used as configured: %s.", r->error);
    else if (r->rc == CS_PROTO)
        snprintf(d, sz, "The camera answered but broke off: %s.", r->error);
    else
        snprintf(d, sz, "No still: %s.", r->error);
}

void probe_diagnose(const struct camera_config *cam, struct probe_result *r)
{
    char *d = r->diagnosis;
    size_t sz = sizeof(r->diagnosis), n;

    if (r->port && r->tcp_rc == CS_REFUSED)
        snprintf(d, sz, "Nothing listens on %s port %d (connection refused): check the "
                 "address, that the camera is on, and that its %s service is enabled.",
                 r->host, r->port, strncasecmp(cam->url, "rtsp", 4) ? "HTTP" : "RTSP");
    else if (r->port && r->tcp_rc == CS_TIMEOUT)
        snprintf(d, sz, "%s does not answer on port %d within %.0f s: wrong address, camera "
                 "offline, or a firewall drops the traffic.", r->host, r->port,
                 (double)cam->connect_timeout_ms / 1000.0);
    else if (r->port && r->tcp_rc == CS_NOTFOUND)
        snprintf(d, sz, "The name %s cannot be resolved: check the address in the URL.", r->host);
    else if (r->port && r->tcp_rc)
        snprintf(d, sz, "Cannot reach %s port %d: %s.", r->host, r->port, cs_strerror(r->tcp_rc));
    else if (r->rc)
        diagnose_still(cam, r, d, sz);
    else if (r->mismatch)
        snprintf(d, sz, "OK, but it sends %dx%d while %dx%d is expected: set resolution = %dx%d "
                 "if the camera was reconfigured.", r->width, r->height, cam->width,
                 cam->height, r->width, r->height);
    else
        snprintf(d, sz, "OK: a clean %dx%d still in %lld ms.", r->width, r->height,
                 (long long)r->still_ms);
    stream_notes(cam, r);
    n = strlen(d);
    if (r->notes[0])
        snprintf(d + n, sz - n, " %s", r->notes);
}

void probe_camera(const struct camera_config *cam, struct probe_result *r)
{
    memset(r, 0, sizeof(*r));
    r->cam = cam;
    r->tcp_ms = -1;
    if (strncasecmp(cam->url, "synthetic://", 12))
        check_tcp(cam, r);
    if (!r->port || r->tcp_rc == CS_OK)
        grab_still(cam, r);
    else {
        r->rc = r->tcp_rc;
        snprintf(r->error, sizeof(r->error), "TCP connection to %s port %d: %s", r->host, r->port,
                 cs_strerror(r->tcp_rc));
    }
    probe_diagnose(cam, r);
}
