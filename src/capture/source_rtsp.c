/*
 * source_rtsp.c - stills from an RTSP camera through libavformat/libavcodec:
 * the session (URL, transport, set-up, errors, release, close). The path
 * from packets to a clean picture is in source_rtsp_grab.c.
 *
 * open:  build the URL with the percent-encoded credentials (never logged,
 *        zeroed after use), RTSP OPTIONS/DESCRIBE/SETUP/PLAY under the
 *        connect deadline, then find the video stream and open its decoder.
 *        transport = auto (the default) sets up RTP over TCP (interleaved)
 *        and, when the camera answers 461 Unsupported Transport, over UDP;
 *        the fallback is said once per camera and remembered for the life
 *        of the process. Over UDP, RTP is accepted from any source port of
 *        the path (cameras behind NAT and some firmware send from another
 *        port than the one they announce).
 *        The codec comes from the SDP; avformat_find_stream_info() runs only
 *        when the SDP does not name one. An SDP that offers MPEG-TS (MP2T)
 *        has no stream at all until packets are read: the stream is then
 *        found while grabbing, under the grab's deadline.
 * close: TEARDOWN with a short budget, free everything.
 *
 * Every libav call that may block runs under a deadline enforced by the
 * AVIOInterruptCB (rtsp_interrupt_cb), plus the demuxer's socket timeout set
 * to the camera's read_timeout.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>

#include "clock.h"
#include "log.h"
#include "source_rtsp_priv.h"

#define RTSP_SCHEME "rtsp://"
#define RTSPS_SCHEME "rtsps://" /* RTSP over TLS; source.c routes it here too */
#define RTSP_DEFAULT_PORT 554
#define RTSPS_DEFAULT_PORT 322
#define CLOSE_BUDGET_MS 500    /* TEARDOWN at close */
#define PROBE_BYTES "500000"   /* only when the SDP names no codec */
#define PROBE_USECS "500000"
#define UDP_MEMORY_MAX 256     /* cameras remembered as refusing TCP */
#define REDIRECTS_MAX 3        /* RTSP redirects followed in one set-up */

static pthread_once_t libav_log_once = PTHREAD_ONCE_INIT;

/* The source whose libav call runs on this thread: messages of FFmpeg's
 * inner contexts (the TLS connection, say) do not point back to it. */
static _Thread_local struct rtsp_state *tl_current;

/* ---- libav logging -> log.h ------------------------------------------ */

/* Our state when avcl is one of our contexts, else NULL. */
static struct rtsp_state *state_of(void *avcl)
{
    const AVClass *cls;
    struct rtsp_state *st = NULL;

    if (!avcl)
        return NULL;
    cls = *(const AVClass **)avcl;
    if (cls == avformat_get_class())
        st = ((AVFormatContext *)avcl)->opaque;
    else if (cls == avcodec_get_class())
        st = ((AVCodecContext *)avcl)->opaque;
    return st && st->magic == RTSP_MAGIC ? st : NULL;
}

/* libavformat tells about lost RTP packets only through av_log (rtpdec.c
 * "RTP: missed N packets", "bad cseq"; rtpdec_jpeg.c "Missing packets").
 * The H.264 decoder flags pictures damaged by a loss, the HEVC decoder does
 * not, so an access unit gathered around a loss is never decoded. */
bool rtsp_is_loss_message(const char *fmt)
{
    return strncmp(fmt, "RTP: missed", 11) == 0 || strncmp(fmt, "RTP: PT=", 8) == 0 ||
           strncmp(fmt, "Missing packets", 15) == 0;
}

void rtsp_origin(const char *url, char *out, size_t outsz)
{
    char proto[16], auth[128], host[256], path[8];
    int port = -1;

    av_url_split(proto, sizeof(proto), auth, sizeof(auth), host, sizeof(host), &port, path,
                 sizeof(path), url);
    explicit_bzero(auth, sizeof(auth));
    if (port <= 0)
        port = strcasecmp(proto, "rtsps") ? RTSP_DEFAULT_PORT : RTSPS_DEFAULT_PORT;
    snprintf(out, outsz, "%s://%s:%d", proto, host, port);
}

/* FFmpeg follows RTSP redirects by itself, with the credentials of the
 * first URL. It logs each one first ("Status %d: Redirecting to %s", then it
 * connects): a redirect to another origin while the camera has credentials,
 * or past REDIRECTS_MAX, is refused here by making the interrupt callback
 * end the set-up before the new connection sends anything. */
static void check_redirect(struct rtsp_state *st, const char *fmt, va_list vl)
{
    char msg[1200];
    const char *to;
    va_list copy;

    va_copy(copy, vl);
    vsnprintf(msg, sizeof(msg), fmt, copy);
    va_end(copy);
    if (!(to = strstr(msg, "Redirecting to ")))
        return;
    to += strlen("Redirecting to ");
    to += strspn(to, " ");
    msg[strcspn(msg, "\r\n")] = '\0';
    redact_url(to, st->redirect_to, sizeof(st->redirect_to));
    if (rtsp_redirect_refused(st->cam, to, ++st->redirects))
        st->redirect_refused = true;
}

bool rtsp_redirect_refused(const struct camera_config *cam, const char *to, unsigned n)
{
    char here[300], there[300];

    rtsp_origin(cam->url, here, sizeof(here));
    rtsp_origin(to, there, sizeof(there));
    return n > REDIRECTS_MAX || (strcasecmp(here, there) && (cam->username || cam->password));
}

/* libav messages are for developers: debug level only, redacted. Called on
 * the thread that made the libav call. Some messages are events for us: a
 * loss (above); a whole answer line read (trace level) and the SDP of the
 * DESCRIBE answer (verbose), which tell how far a failed set-up got; a
 * redirect (check_redirect). */
/* OpenSSL's reason when the TLS handshake failed (tls_openssl.c logs it
 * through the connection's own context). */
static void note_tls_error(struct rtsp_state *st, const char *fmt, va_list vl)
{
    char msg[256];
    va_list copy;

    va_copy(copy, vl);
    vsnprintf(msg, sizeof(msg), fmt, copy);
    va_end(copy);
    if (!strstr(msg, "SSL routines") && !strstr(msg, "certificate"))
        return;
    msg[strcspn(msg, "\r\n")] = '\0';
    snprintf(st->tls_error, sizeof(st->tls_error), "%.150s", msg);
}

static void libav_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    struct rtsp_state *own = state_of(avcl), *st = own ? own : tl_current;
    char line[1024], clean[1024];
    int prefix = 1;
    size_t n;

    if (st && !own && level <= AV_LOG_ERROR && !st->tls_error[0])
        note_tls_error(st, fmt, vl);
    if (st && level == AV_LOG_VERBOSE && strncmp(fmt, "SDP:", 4) == 0)
        st->described = true;
    if (st && level == AV_LOG_TRACE && !st->answered && strncmp(fmt, "ret=%d c=", 9) == 0) {
        /* rtsp.c traces each read of an answer's bytes: ret is 1 for a byte
         * (it also traces the failed read when nothing came). */
        va_list copy;
        va_copy(copy, vl);
        st->answered = va_arg(copy, int) == 1;
        va_end(copy);
    }
    if (st && level == AV_LOG_TRACE && !st->rtsp_seen && strncmp(fmt, "line='", 6) == 0) {
        va_list copy;
        va_copy(copy, vl);
        st->rtsp_seen = strncmp(va_arg(copy, const char *), "RTSP/", 5) == 0;
        va_end(copy);
    }
    if (st && strncmp(fmt, "Status %d: Redirecting", 22) == 0)
        check_redirect(st, fmt, vl);
    if (level > av_log_get_level())
        return;
    if (st && level <= AV_LOG_WARNING && rtsp_is_loss_message(fmt))
        st->rtp_losses++;
    if (log_get_level() < LOG_LEVEL_DEBUG)
        return;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &prefix);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n == 0)
        return;
    log_msg(LOG_LEVEL_DEBUG, st ? st->cam->name : NULL, "libav: %s",
            redact_text(line, clean, sizeof(clean)));
}

static void libav_log_setup(void)
{
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(libav_log_cb);
}

/* ---- URL ------------------------------------------------------------- */

/* Length of the "rtsp://" or "rtsps://" prefix of url, 0 for anything else. */
static size_t scheme_len(const char *url)
{
    if (strncasecmp(url, RTSP_SCHEME, strlen(RTSP_SCHEME)) == 0)
        return strlen(RTSP_SCHEME);
    if (strncasecmp(url, RTSPS_SCHEME, strlen(RTSPS_SCHEME)) == 0)
        return strlen(RTSPS_SCHEME);
    return 0;
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) at out[*pos]. */
static bool pct_append(const char *s, char *out, size_t outsz, size_t *pos)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        if (*pos + (plain ? 1 : 3) >= outsz)
            return false;
        if (plain) {
            out[(*pos)++] = (char)c;
        } else {
            out[(*pos)++] = '%';
            out[(*pos)++] = hex[c >> 4];
            out[(*pos)++] = hex[c & 15];
        }
    }
    out[*pos] = '\0';
    return true;
}

/* The scheme in lower case: FFmpeg's protocol names are case-sensitive. */
char *rtsp_url_with_credentials(const struct camera_config *cam)
{
    size_t pos = scheme_len(cam->url);
    const char *rest = cam->url + pos;
    const char *user = cam->username ? cam->username : "";
    const char *pass = cam->password;
    size_t sz = strlen(cam->url) + 3 * (strlen(user) + (pass ? strlen(pass) : 0)) + 3;
    char *out = malloc(sz);

    if (!out)
        return NULL;
    memcpy(out, pos == strlen(RTSP_SCHEME) ? RTSP_SCHEME : RTSPS_SCHEME, pos);
    out[pos] = '\0';
    if (pass && !*pass)
        pass = NULL;
    if (*user || pass) {
        if (!pct_append(user, out, sz, &pos) || pos + 2 >= sz)
            goto fail;
        if (pass) {
            out[pos++] = ':';
            if (!pct_append(pass, out, sz, &pos) || pos + 1 >= sz)
                goto fail;
        }
        out[pos++] = '@';
    }
    if (pos + strlen(rest) >= sz)
        goto fail;
    memcpy(out + pos, rest, strlen(rest) + 1);
    return out;
fail:
    explicit_bzero(out, sz);
    free(out);
    return NULL;
}

enum cs_err rtsp_check_url(const char *url, char *hostport, size_t hostportsz, char *err,
                           size_t errsz)
{
    char proto[16], auth[8], host[256], path[8];
    int port = -1;

    if (scheme_len(url) == 0) {
        snprintf(err, errsz, "camera URL does not start with rtsp:// or rtsps://");
        return CS_UNSUPPORTED;
    }
    av_url_split(proto, sizeof(proto), auth, sizeof(auth), host, sizeof(host), &port, path,
                 sizeof(path), url);
    if (auth[0] != '\0') {
        explicit_bzero(auth, sizeof(auth));
        snprintf(err, errsz,
                 "camera URL contains a user name or password; "
                 "put them in the username and password settings instead");
        return CS_CONFIG;
    }
    if (host[0] == '\0') {
        snprintf(err, errsz, "camera URL has no host name");
        return CS_CONFIG;
    }
    if (port <= 0)
        port = scheme_len(url) == strlen(RTSPS_SCHEME) ? RTSPS_DEFAULT_PORT : RTSP_DEFAULT_PORT;
    snprintf(hostport, hostportsz, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    return CS_OK;
}

/* ---- deadlines and errors ---------------------------------------------- */

/* True when the camera sent nothing for read_timeout during a grab (the
 * demuxer's own socket timeout is coarse for UDP). */
bool rtsp_stalled(const struct rtsp_state *st, int64_t now)
{
    return st->last_data_ms > 0 && st->cam->read_timeout_ms > 0 &&
           now - st->last_data_ms >= st->cam->read_timeout_ms;
}

int rtsp_interrupt_cb(void *opaque)
{
    const struct rtsp_state *st = opaque;
    int64_t now = clock_mono_ms();

    return now >= st->deadline_ms || rtsp_stalled(st, now) || st->redirect_refused;
}

static const char *averr_text(int averr, char *buf, size_t bufsz)
{
    if (av_strerror(averr, buf, bufsz) < 0)
        snprintf(buf, bufsz, "libav error %d", averr);
    return buf;
}

const char *rtsp_duration_text(int64_t ms, char *buf, size_t bufsz)
{
    if (ms < 1000)
        snprintf(buf, bufsz, "%" PRId64 " ms", ms < 0 ? 0 : ms);
    else
        snprintf(buf, bufsz, "%.1fs", (double)ms / 1000.0);
    return buf;
}

static const char *transport_name(enum transport t)
{
    return t == TRANSPORT_UDP ? "UDP" : "TCP";
}

/* The set-up failed without an RTSP status: say how far it got. */
static enum cs_err setup_broken(const struct rtsp_state *st, const char *why, char *err,
                                size_t errsz)
{
    if (st->described)
        snprintf(err, errsz,
                 "camera at %s described the stream, then closed the connection or gave no "
                 "valid answer to SETUP (%s); it may be serving its maximum number of "
                 "clients, or dislike RTP over %s (try transport = %s)",
                 st->hostport, why, transport_name(st->transport),
                 st->transport == TRANSPORT_UDP ? "tcp" : "udp");
    else
        snprintf(err, errsz,
                 "camera at %s gave no valid answer to RTSP DESCRIBE (%s): is this its RTSP "
                 "port, and does it serve a stream at this path?",
                 st->hostport, why);
    return CS_PROTO;
}

/* Translates a failure of avformat_open_input() (RTSP set-up). */
static enum cs_err open_error(const struct rtsp_state *st, int averr, int64_t elapsed_ms, char *err,
                              size_t errsz)
{
    char why[AV_ERROR_MAX_STRING_SIZE], took[32];
    const char *hp = st->hostport;

    averr_text(averr, why, sizeof(why));
    if (st->tls_error[0]) {
        snprintf(err, errsz,
                 "camera at %s: the TLS connection was refused (%.100s); if the camera's "
                 "certificate is its own, give its CA in tls_ca_file",
                 hp, st->tls_error);
        return CS_AUTH;
    }
    if (st->redirect_refused && st->redirects > REDIRECTS_MAX) {
        snprintf(err, errsz, "camera at %s redirected more than %d times (a loop?), last to %s",
                 hp, REDIRECTS_MAX, st->redirect_to);
        return CS_PROTO;
    }
    if (st->redirect_refused) {
        snprintf(err, errsz,
                 "camera at %s redirects to another address (%s): camsnap does not send the "
                 "camera's credentials there; if that is really the camera, put it in url",
                 hp, st->redirect_to);
        return CS_AUTH;
    }
    if ((averr == AVERROR_EXIT || averr == AVERROR(ETIMEDOUT) || rtsp_interrupt_cb((void *)st)) &&
        st->answered && !st->rtsp_seen) {
        snprintf(err, errsz, "camera at %s answers, but not in RTSP (another protocol or garbage "
                             "on this port?) within %s", hp,
                 rtsp_duration_text(elapsed_ms, took, sizeof(took)));
        return CS_PROTO;
    }
    if (averr == AVERROR_EXIT || averr == AVERROR(ETIMEDOUT) || rtsp_interrupt_cb((void *)st)) {
        snprintf(err, errsz, "no complete RTSP answer from %s within %s (connect%s)", hp,
                 rtsp_duration_text(elapsed_ms, took, sizeof(took)),
                 st->described ? ", after DESCRIBE" : "");
        return CS_TIMEOUT;
    }
    switch (averr) {
    case AVERROR_HTTP_UNAUTHORIZED:
        snprintf(err, errsz, "camera refused the username/password (RTSP 401)");
        return CS_AUTH;
    case AVERROR_HTTP_FORBIDDEN:
        snprintf(err, errsz, "camera refused access to this stream (RTSP 403)");
        return CS_AUTH;
    case AVERROR_HTTP_NOT_FOUND:
        snprintf(err, errsz, "camera has no stream at this path (RTSP 404)");
        return CS_NOTFOUND;
    case AVERROR(EPROTONOSUPPORT):
        snprintf(err, errsz,
                 "camera at %s refuses RTP over %s (RTSP 461 Unsupported Transport); set "
                 "transport = %s, or auto",
                 hp, transport_name(st->transport),
                 st->transport == TRANSPORT_UDP ? "tcp" : "udp");
        return CS_UNSUPPORTED;
    case AVERROR(ECONNREFUSED):
        snprintf(err, errsz, "nothing listens on %s (connection refused)", hp);
        return CS_REFUSED;
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
        snprintf(err, errsz, "%s cannot be reached (%s); check the address and cabling", hp, why);
        return CS_REFUSED;
    case AVERROR(ENOMEM):
        snprintf(err, errsz, "out of memory opening the RTSP stream");
        return CS_NOMEM;
    case AVERROR_HTTP_BAD_REQUEST:
    case AVERROR_HTTP_OTHER_4XX:
    case AVERROR_HTTP_SERVER_ERROR:
        snprintf(err, errsz, "camera at %s rejected the RTSP request: %s", hp, why);
        return CS_PROTO;
    case AVERROR_INVALIDDATA:
    case AVERROR_EOF:
    case AVERROR(EIO):
    case AVERROR(ECONNRESET):
    case AVERROR(EPIPE): return setup_broken(st, why, err, errsz);
    default: break;
    }
    snprintf(err, errsz, "RTSP set-up with %s failed: %s", hp, why);
    return CS_PROTO;
}

/* ---- transport memory -------------------------------------------------- */

/* Cameras (by URL) that refused RTP over TCP in this process: with
 * transport = auto they are set up over UDP straight away. */
static struct {
    pthread_mutex_t lock;
    char *urls[UDP_MEMORY_MAX];
    size_t n;
} udp_memory = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool udp_remembered(const char *url)
{
    bool found = false;

    pthread_mutex_lock(&udp_memory.lock);
    for (size_t i = 0; i < udp_memory.n && !found; i++)
        found = strcmp(udp_memory.urls[i], url) == 0;
    pthread_mutex_unlock(&udp_memory.lock);
    return found;
}

/* Returns true when url was not remembered yet (the caller then says so). */
static bool udp_remember(const char *url)
{
    bool added = false;

    pthread_mutex_lock(&udp_memory.lock);
    for (size_t i = 0; i < udp_memory.n; i++)
        if (strcmp(udp_memory.urls[i], url) == 0)
            goto out;
    if (udp_memory.n < UDP_MEMORY_MAX && (udp_memory.urls[udp_memory.n] = strdup(url))) {
        udp_memory.n++;
        added = true;
    }
out:
    pthread_mutex_unlock(&udp_memory.lock);
    return added;
}

static void udp_forget(const char *url)
{
    pthread_mutex_lock(&udp_memory.lock);
    for (size_t i = 0; i < udp_memory.n; i++) {
        if (strcmp(udp_memory.urls[i], url) == 0) {
            free(udp_memory.urls[i]);
            udp_memory.urls[i] = udp_memory.urls[--udp_memory.n];
            break;
        }
    }
    pthread_mutex_unlock(&udp_memory.lock);
}

/* ---- open -------------------------------------------------------------- */

/* rtsps:// certificate checks: camsnap's FFmpeg build (scripts/ffmpeg-
 * patches) has the RTSP options tls_verify and ca_file; an FFmpeg without
 * them cannot verify, and then only an explicit tls_verify = no connects. */
static enum cs_err set_tls_options(const struct rtsp_state *st, const AVInputFormat *rtsp,
                                   AVDictionary **opts, char *err, size_t errsz)
{
    const struct camera_config *cam = st->cam;
    bool can_verify = rtsp && rtsp->priv_class &&
                      av_opt_find((void *)&rtsp->priv_class, "tls_verify", NULL, 0,
                                  AV_OPT_SEARCH_FAKE_OBJ);
    int r = 0;

    if (scheme_len(cam->url) != strlen(RTSPS_SCHEME))
        return CS_OK;
    if (!cam->tls_verify) {
        log_warnx(cam->name, "tls_verify = no: connecting without checking the camera's "
                             "certificate (insecure)");
        return CS_OK;
    }
    if (!can_verify) {
        snprintf(err, errsz,
                 "this camsnap's FFmpeg cannot verify rtsps:// certificates (camsnap's own "
                 "FFmpeg build can: make FFMPEG=minimal); set tls_verify = no to connect "
                 "without verifying (insecure)");
        return CS_UNSUPPORTED;
    }
    r |= av_dict_set(opts, "tls_verify", "1", 0);
    if (cam->tls_ca_file)
        r |= av_dict_set(opts, "ca_file", cam->tls_ca_file, 0);
    return r < 0 ? CS_NOMEM : CS_OK;
}

static enum cs_err set_options(const struct rtsp_state *st, AVDictionary **opts, char *err,
                               size_t errsz)
{
    const AVInputFormat *rtsp = av_find_input_format("rtsp");
    const char *timeout_opt = NULL;
    int64_t rt = st->cam->read_timeout_ms > 0 ? st->cam->read_timeout_ms : 0;
    int r = 0;
    enum cs_err rc;

    if ((rc = set_tls_options(st, rtsp, opts, err, errsz)))
        return rc;
    /* The socket timeout also runs during set-up, where FFmpeg turns it into
     * AVERROR_INVALIDDATA (a reply with no status): never let it fire before
     * the connect deadline. Stalls while reading are caught by the interrupt
     * callback (rtsp_stalled()) at read_timeout anyway. */
    if (rt > 0 && st->cam->connect_timeout_ms > rt)
        rt = st->cam->connect_timeout_ms;

    /* FFmpeg >= 5 calls the socket I/O timeout "timeout", older "stimeout". */
    if (rtsp && rtsp->priv_class) {
        if (av_opt_find((void *)&rtsp->priv_class, "stimeout", NULL, 0, AV_OPT_SEARCH_FAKE_OBJ))
            timeout_opt = "stimeout";
        else if (av_opt_find((void *)&rtsp->priv_class, "timeout", NULL, 0, AV_OPT_SEARCH_FAKE_OBJ))
            timeout_opt = "timeout";
    }
    /* No rtsp_flags=filter_src over UDP: it connects the RTP socket to the
     * announced server port, and cameras behind NAT (or with some firmware)
     * send from another one - their video would be dropped unseen. */
    r |= av_dict_set(opts, "rtsp_transport", st->transport == TRANSPORT_UDP ? "udp" : "tcp", 0);
    r |= av_dict_set(opts, "allowed_media_types", "video", 0);
    r |= av_dict_set(opts, "user_agent", "camsnap", 0);
    r |= av_dict_set(opts, "fflags", "nobuffer+discardcorrupt", 0);
    r |= av_dict_set(opts, "probesize", PROBE_BYTES, 0);
    r |= av_dict_set(opts, "analyzeduration", PROBE_USECS, 0);
    r |= av_dict_set(opts, "fpsprobesize", "0", 0);
    if (timeout_opt && rt > 0)
        r |= av_dict_set_int(opts, timeout_opt, rt * 1000, 0);
    return r < 0 ? CS_NOMEM : CS_OK;
}

/* One avformat_open_input() with st->transport; fills st->fmt. */
static enum cs_err open_session(struct rtsp_state *st, const char *url, char *err, size_t errsz)
{
    AVDictionary *opts = NULL;
    int64_t t0 = clock_mono_ms();
    enum cs_err rc;
    int ret;

    st->described = st->answered = st->rtsp_seen = st->redirect_refused = false;
    st->redirects = 0;
    if ((rc = set_options(st, &opts, err, errsz))) {
        av_dict_free(&opts);
        if (rc == CS_NOMEM)
            snprintf(err, errsz, "out of memory opening the RTSP stream");
        return rc;
    }
    if (!(st->fmt = avformat_alloc_context())) {
        av_dict_free(&opts);
        snprintf(err, errsz, "out of memory opening the RTSP stream");
        return CS_NOMEM;
    }
    st->fmt->interrupt_callback.callback = rtsp_interrupt_cb;
    st->fmt->interrupt_callback.opaque = st;
    st->fmt->opaque = st;
    st->tls_error[0] = '\0';
    tl_current = st;
    ret = avformat_open_input(&st->fmt, url, NULL, &opts); /* frees fmt on error */
    tl_current = NULL;
    av_dict_free(&opts);
    if (ret < 0)
        return open_error(st, ret, clock_mono_ms() - t0, err, errsz);
    /* fmt->url holds the credentials too and is not needed after set-up. */
    if (st->fmt->url)
        explicit_bzero(st->fmt->url, strlen(st->fmt->url));
    return CS_OK;
}

/* Sets the session up under the connect deadline, with transport auto's
 * fallback from TCP to UDP. */
static enum cs_err connect_rtsp(struct rtsp_state *st, int64_t deadline_ms, char *err, size_t errsz)
{
    const struct camera_config *cam = st->cam;
    bool automatic = cam->transport == TRANSPORT_AUTO;
    int64_t now = clock_mono_ms();
    char *url;
    enum cs_err rc;

    st->deadline_ms = deadline_ms;
    if (cam->connect_timeout_ms > 0 && now + cam->connect_timeout_ms < deadline_ms)
        st->deadline_ms = now + cam->connect_timeout_ms;
    if (!(url = rtsp_url_with_credentials(cam))) {
        snprintf(err, errsz, "out of memory opening the RTSP stream");
        return CS_NOMEM;
    }
    st->transport = cam->transport;
    if (automatic)
        st->transport = udp_remembered(cam->url) ? TRANSPORT_UDP : TRANSPORT_TCP;
    rc = open_session(st, url, err, errsz);
    if (automatic && rc == CS_UNSUPPORTED && st->transport == TRANSPORT_TCP) {
        if (udp_remember(cam->url))
            log_info(cam->name, "camera refuses RTP over TCP (RTSP 461); using UDP "
                                "(transport = auto; set transport = udp to skip the TCP try)");
        st->transport = TRANSPORT_UDP;
        st->info.tcp_refused = true;
        rc = open_session(st, url, err, errsz);
    } else if (automatic && rc == CS_UNSUPPORTED && st->transport == TRANSPORT_UDP) {
        udp_forget(cam->url); /* the camera changed its mind: TCP again next time */
    } else if (automatic && st->transport == TRANSPORT_UDP) {
        st->info.tcp_refused = true;
    }
    explicit_bzero(url, strlen(url));
    free(url);
    if (!rc)
        st->info.connect_ms = clock_mono_ms() - now;
    return rc;
}

/* Finds the video stream; asks the demuxer to probe only if the SDP did not
 * name the codec. No stream at all (MPEG-TS over RTP) is not an error: the
 * stream is found while grabbing. */
static enum cs_err pick_stream(struct rtsp_state *st, char *err, size_t errsz)
{
    AVCodecParameters *par;
    int ret;

    st->vstream = -1;
    if (st->fmt->nb_streams == 0)
        return CS_OK;
    for (unsigned i = 0; i < st->fmt->nb_streams; i++) {
        if (st->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            st->vstream = (int)i;
            break;
        }
    }
    if (st->vstream < 0) {
        snprintf(err, errsz, "camera at %s offers no video stream at this path", st->hostport);
        return CS_UNSUPPORTED;
    }
    par = st->fmt->streams[st->vstream]->codecpar;
    if (par->codec_id == AV_CODEC_ID_NONE) {
        ret = avformat_find_stream_info(st->fmt, NULL);
        if (ret < 0 || par->codec_id == AV_CODEC_ID_NONE) {
            if (rtsp_interrupt_cb(st)) {
                snprintf(err, errsz,
                         "could not tell the video codec of %s before the deadline (connect)",
                         st->hostport);
                return CS_TIMEOUT;
            }
            snprintf(err, errsz, "the camera's video codec is not one camsnap can decode");
            return CS_UNSUPPORTED;
        }
    }
    return rtsp_setup_stream(st, st->vstream, err, errsz);
}

static void fill_open_info(struct rtsp_state *st)
{
    const AVDictionaryEntry *title = av_dict_get(st->fmt->metadata, "title", NULL, 0);

    snprintf(st->info.transport, sizeof(st->info.transport), "%s",
             transport_name(st->transport));
    snprintf(st->info.detail, sizeof(st->info.detail),
             "RTSP/%s %.120s, %u stream(s)%s, session \"%.80s\"",
             transport_name(st->transport), st->hostport, st->fmt->nb_streams,
             st->vstream < 0 ? " (MPEG-TS: found while reading)" : "", title ? title->value : "");
}

static void rtsp_close(void *state);

static enum cs_err rtsp_open(const struct camera_config *cam, struct budget *budget,
                             int64_t deadline_mono_ms, void **state, char *err, size_t errsz)
{
    char dummy[1];
    struct rtsp_state *st;
    enum cs_err rc;

    if (!err || errsz == 0) {
        err = dummy;
        errsz = sizeof(dummy);
    }
    *state = NULL;
    pthread_once(&libav_log_once, libav_log_setup);
    st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errsz, "out of memory");
        return CS_NOMEM;
    }
    st->magic = RTSP_MAGIC;
    st->cam = cam;
    st->budget = budget;
    st->vstream = -1;
    st->last_key_pts = AV_NOPTS_VALUE;
    rc = rtsp_check_url(cam->url, st->hostport, sizeof(st->hostport), err, errsz);
    if (!rc)
        rc = connect_rtsp(st, deadline_mono_ms, err, errsz);
    if (!rc && (!(st->pkt = av_packet_alloc()) || !(st->frame = av_frame_alloc()))) {
        snprintf(err, errsz, "out of memory");
        rc = CS_NOMEM;
    }
    if (!rc)
        rc = pick_stream(st, err, errsz);
    if (rc) {
        log_debug(cam->name, "RTSP open failed: %s", err);
        rtsp_close(st);
        return rc;
    }
    fill_open_info(st);
    log_debug(cam->name, "RTSP connected in %" PRId64 " ms: %s %s", st->info.connect_ms,
              st->info.codec[0] ? st->info.codec : "codec not known yet", st->info.detail);
    *state = st;
    return CS_OK;
}

/* ---- info / release / close ----------------------------------------------- */

static void rtsp_info(const void *state, struct source_info *info)
{
    const struct rtsp_state *st = state;

    *info = st->info;
    info->losses = st->rtp_losses;
}

/* Ends the session: TEARDOWN with a short, bounded chance. */
static void close_session(struct rtsp_state *st)
{
    st->deadline_ms = clock_mono_ms() + CLOSE_BUDGET_MS;
    st->last_data_ms = 0;
    avformat_close_input(&st->fmt);
}

static void rtsp_release(void *state, struct frame *frame)
{
    struct rtsp_state *st = state;

    if (st->released)
        return;
    st->released = true;
    avcodec_free_context(&st->dec);
    rtsp_release_decoder(st);
    /* With the decoder gone (its reference pictures with it) the picture's
     * buffers are normally ours alone. The session ends at close, after the
     * picture is freed, so that a slow TEARDOWN does not hold it. */
    if (frame && frame->kind == FRAME_YUV && st->frame->buf[0] && av_frame_is_writable(st->frame))
        frame->writable = true;
}

static void rtsp_close(void *state)
{
    struct rtsp_state *st = state;

    if (!st)
        return;
    /* The picture and its memory first: the TEARDOWN may take a while. */
    if (st->frame)
        rtsp_drop_picture(st);
    av_frame_free(&st->frame);
    rtsp_release_decoder(st);
    close_session(st);
    av_packet_free(&st->pkt);
    st->magic = 0;
    free(st);
}

static void rtsp_global_init(void)
{
    pthread_once(&libav_log_once, libav_log_setup);
}

const struct source_ops source_rtsp_ops = {
    .scheme_prefix = RTSP_SCHEME,
    .global_init = rtsp_global_init,
    .open = rtsp_open,
    .grab = rtsp_grab,
    .release = rtsp_release,
    .info = rtsp_info,
    .close = rtsp_close,
};
