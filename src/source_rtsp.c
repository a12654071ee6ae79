/*
 * source_rtsp.c - stills from an RTSP camera through libavformat/libavcodec.
 *
 * The only file of camsnap that includes libav headers; libav types and
 * AVERROR codes are translated to struct frame and enum cs_err here.
 *
 * open:  build the URL with the percent-encoded credentials (never logged,
 *        zeroed after use), RTSP OPTIONS/DESCRIBE/SETUP/PLAY under the
 *        connect deadline, pick the first video stream, open its decoder.
 *        The codec comes from the SDP, so avformat_find_stream_info() runs
 *        only when the SDP does not name a known codec.
 * grab:  read packets of the video stream, drop everything until a packet
 *        flagged as keyframe, decode only keyframes (skip_frame NONKEY), and
 *        return the first decoded picture that passes three checks: the
 *        decoder did not flag it (corrupt, concealed); no RTP loss was
 *        reported around it (H.264/H.265 over UDP); no 16x16 block was left
 *        unwritten (sentinel_get_buffer, for decoders that stop silently at
 *        a truncated slice). Otherwise wait for the next keyframe. So every
 *        grab returns a clean keyframe; in continuous use, one per GOP.
 * close: TEARDOWN with a short budget, free everything.
 *
 * Every libav call that may block runs under a deadline enforced by the
 * AVIOInterruptCB (interrupt_cb), plus the demuxer's socket timeout set to
 * the camera's read_timeout.
 *
 * Memory: one demuxer, one decoder, one packet and one frame per source;
 * packets are unreferenced as soon as they are looked at.
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
#include <libavutil/pixdesc.h>

#include "clock.h"
#include "log.h"
#include "source.h"

#define RTSP_SCHEME "rtsp://"
#define RTSPS_SCHEME "rtsps://" /* RTSP over TLS; source.c routes it here too */
#define RTSP_DEFAULT_PORT 554
#define RTSPS_DEFAULT_PORT 322
#define RTSP_MAGIC 0x52545350u /* "RTSP": tells our AVFormatContext apart */
#define CLOSE_BUDGET_MS 500    /* TEARDOWN at close */
#define PROBE_BYTES "500000"   /* only when the SDP names no codec */
#define PROBE_USECS "500000"

struct rtsp_state {
    unsigned magic;
    const struct camera_config *cam;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int vstream;          /* index of the video stream in fmt */
    int64_t deadline_ms;  /* the interrupt callback's deadline, absolute mono */
    int64_t last_data_ms; /* mono time of the last packet; 0 outside grab */
    char hostport[300];   /* "host:port" for messages, no credentials */
    int64_t last_key_pts; /* AV_NOPTS_VALUE until a keyframe was seen */
    unsigned rtp_losses;  /* RTP sequence gaps reported by the demuxer (UDP) */
    bool size_checked;    /* expected-resolution warning given once */
    struct source_info info;
};

/* Counts of one grab, for the timeout message. */
struct grab_stats {
    int64_t start_ms;
    unsigned packets, keyframes, rejected;
    unsigned losses_prev, losses_prev2; /* rtp_losses when the last two packets came */
};

static pthread_once_t libav_log_once = PTHREAD_ONCE_INIT;

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
 * not, so a keyframe received around a loss is refused (see
 * next_clean_keyframe). */
static bool is_loss_message(const char *fmt)
{
    return strncmp(fmt, "RTP: missed", 11) == 0 || strncmp(fmt, "RTP: PT=", 8) == 0 ||
           strncmp(fmt, "Missing packets", 15) == 0;
}

/* libav messages are for developers: debug level only, redacted. Called on
 * the thread that made the libav call. */
static void libav_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    struct rtsp_state *st = state_of(avcl);
    char line[1024], clean[1024];
    int prefix = 1;
    size_t n;

    if (level > av_log_get_level())
        return;
    if (st && level <= AV_LOG_WARNING && is_loss_message(fmt))
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

/* Returns a malloc'd copy of cam->url with "user:pass@" inserted (when
 * either is set and not empty) and the scheme in lower case (FFmpeg's
 * protocol names are case-sensitive), or NULL. The result holds a secret:
 * zero it (explicit_bzero) before free(). */
static char *url_with_credentials(const struct camera_config *cam)
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

/* Checks the URL shape and fills st->hostport ("host:port", IPv6 in []). */
static enum cs_err parse_url(struct rtsp_state *st, char *err, size_t errsz)
{
    const char *url = st->cam->url;
    char proto[16], auth[8], host[256], path[8];
    int port = -1;

    if (scheme_len(url) == 0) {
        snprintf(err, errsz, "camera URL does not start with rtsp:// or rtsps://");
        return CS_UNSUPPORTED;
    }
    av_url_split(proto, sizeof(proto), auth, sizeof(auth), host, sizeof(host), &port, path,
                 sizeof(path), url);
    if (auth[0] != '\0') {
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
    snprintf(st->hostport, sizeof(st->hostport), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
             port);
    return CS_OK;
}

/* ---- deadlines and errors ---------------------------------------------- */

/* True when the camera sent nothing for read_timeout during a grab (the
 * demuxer's own socket timeout is coarse for UDP). */
static bool stalled(const struct rtsp_state *st, int64_t now)
{
    return st->last_data_ms > 0 && st->cam->read_timeout_ms > 0 &&
           now - st->last_data_ms >= st->cam->read_timeout_ms;
}

static int interrupt_cb(void *opaque)
{
    const struct rtsp_state *st = opaque;
    int64_t now = clock_mono_ms();

    return now >= st->deadline_ms || stalled(st, now);
}

static const char *averr_text(int averr, char *buf, size_t bufsz)
{
    if (av_strerror(averr, buf, bufsz) < 0)
        snprintf(buf, bufsz, "libav error %d", averr);
    return buf;
}

/* "850 ms" or "4.0s", for messages. */
static const char *duration_text(int64_t ms, char *buf, size_t bufsz)
{
    if (ms < 1000)
        snprintf(buf, bufsz, "%" PRId64 " ms", ms < 0 ? 0 : ms);
    else
        snprintf(buf, bufsz, "%.1fs", (double)ms / 1000.0);
    return buf;
}

/* Translates a failure of avformat_open_input() (RTSP set-up). */
static enum cs_err open_error(const struct rtsp_state *st, int averr, int64_t elapsed_ms, char *err,
                              size_t errsz)
{
    char why[AV_ERROR_MAX_STRING_SIZE], took[32];
    const char *hp = st->hostport;

    averr_text(averr, why, sizeof(why));
    if (averr == AVERROR_EXIT || averr == AVERROR(ETIMEDOUT) || interrupt_cb((void *)st)) {
        snprintf(err, errsz, "no complete RTSP answer from %s within %s (connect)", hp,
                 duration_text(elapsed_ms, took, sizeof(took)));
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
    default: break;
    }
    snprintf(err, errsz, "RTSP set-up with %s failed: %s", hp, why);
    return CS_PROTO;
}

/* Translates a failure of av_read_frame(). */
static enum cs_err read_error(const struct rtsp_state *st, int averr, const struct grab_stats *gs,
                              char *err, size_t errsz)
{
    char why[AV_ERROR_MAX_STRING_SIZE];
    int64_t now = clock_mono_ms();
    char took[32];

    if (averr == AVERROR(ETIMEDOUT) || (stalled(st, now) && now < st->deadline_ms)) {
        snprintf(err, errsz, "camera at %s stopped sending video for %" PRId64 " ms (reading)",
                 st->hostport, st->cam->read_timeout_ms);
        return CS_TIMEOUT;
    }
    if (averr == AVERROR_EXIT || interrupt_cb((void *)st)) {
        duration_text(now - gs->start_ms, took, sizeof(took));
        if (gs->packets == 0)
            snprintf(err, errsz, "no video data from %s within %s (reading)", st->hostport, took);
        else if (gs->keyframes == 0)
            snprintf(err, errsz,
                     "no keyframe within %s (waiting for a keyframe; "
                     "%u frames received; is the camera's I-frame interval longer than "
                     "the deadline?)",
                     took, gs->packets);
        else {
            snprintf(err, errsz,
                     "no clean keyframe within %s: the decoder rejected %u "
                     "damaged keyframe(s)%s",
                     took, gs->rejected,
                     st->cam->transport == TRANSPORT_UDP ? " (packet loss? try transport=tcp)"
                                                         : "");
            return CS_BADFRAME;
        }
        return CS_TIMEOUT;
    }
    if (averr == AVERROR(ENOMEM)) {
        snprintf(err, errsz, "out of memory reading the RTSP stream");
        return CS_NOMEM;
    }
    snprintf(err, errsz, "camera at %s ended the stream (reading): %s", st->hostport,
             averr_text(averr, why, sizeof(why)));
    return CS_PROTO;
}

/* ---- open -------------------------------------------------------------- */

static enum cs_err set_options(const struct rtsp_state *st, AVDictionary **opts)
{
    const AVInputFormat *rtsp = av_find_input_format("rtsp");
    const char *timeout_opt = NULL;
    int64_t rt = st->cam->read_timeout_ms > 0 ? st->cam->read_timeout_ms : 0;
    int r = 0;

    /* The socket timeout also runs during set-up, where FFmpeg turns it into
     * AVERROR_INVALIDDATA (a reply with no status): never let it fire before
     * the connect deadline. Stalls while reading are caught by interrupt_cb
     * (stalled()) at read_timeout anyway. */
    if (rt > 0 && st->cam->connect_timeout_ms > rt)
        rt = st->cam->connect_timeout_ms;

    /* FFmpeg >= 5 calls the socket I/O timeout "timeout", older "stimeout". */
    if (rtsp && rtsp->priv_class) {
        if (av_opt_find((void *)&rtsp->priv_class, "stimeout", NULL, 0, AV_OPT_SEARCH_FAKE_OBJ))
            timeout_opt = "stimeout";
        else if (av_opt_find((void *)&rtsp->priv_class, "timeout", NULL, 0, AV_OPT_SEARCH_FAKE_OBJ))
            timeout_opt = "timeout";
    }
    r |=
        av_dict_set(opts, "rtsp_transport", st->cam->transport == TRANSPORT_UDP ? "udp" : "tcp", 0);
    /* Over UDP, accept RTP only from the camera we talk RTSP to. */
    if (st->cam->transport == TRANSPORT_UDP)
        r |= av_dict_set(opts, "rtsp_flags", "filter_src", 0);
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

/* avformat_open_input() under the connect deadline; fills st->fmt. */
static enum cs_err connect_rtsp(struct rtsp_state *st, int64_t deadline_ms, char *err, size_t errsz)
{
    AVDictionary *opts = NULL;
    int64_t now = clock_mono_ms();
    char *url = NULL;
    enum cs_err rc;
    int ret;

    st->deadline_ms = deadline_ms;
    if (st->cam->connect_timeout_ms > 0 && now + st->cam->connect_timeout_ms < deadline_ms)
        st->deadline_ms = now + st->cam->connect_timeout_ms;
    rc = set_options(st, &opts);
    if (rc)
        goto out;
    url = url_with_credentials(st->cam);
    st->fmt = avformat_alloc_context();
    if (!url || !st->fmt) {
        rc = CS_NOMEM;
        goto out;
    }
    st->fmt->interrupt_callback.callback = interrupt_cb;
    st->fmt->interrupt_callback.opaque = st;
    st->fmt->opaque = st;
    ret = avformat_open_input(&st->fmt, url, NULL, &opts); /* frees fmt on error */
    if (ret < 0) {
        rc = open_error(st, ret, clock_mono_ms() - now, err, errsz);
        goto out;
    }
    /* fmt->url holds the credentials too and is not needed after set-up. */
    if (st->fmt->url)
        explicit_bzero(st->fmt->url, strlen(st->fmt->url));
    st->info.connect_ms = clock_mono_ms() - now;
out:
    if (url) {
        explicit_bzero(url, strlen(url));
        free(url);
    }
    av_dict_free(&opts);
    if (rc == CS_NOMEM)
        snprintf(err, errsz, "out of memory opening the RTSP stream");
    return rc;
}

/* Picks the video stream; asks the demuxer to probe only if the SDP did not
 * name the codec. */
static enum cs_err pick_stream(struct rtsp_state *st, char *err, size_t errsz)
{
    AVCodecParameters *par;
    int ret;

    st->vstream = -1;
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
    if (par->codec_id != AV_CODEC_ID_NONE)
        return CS_OK;
    ret = avformat_find_stream_info(st->fmt, NULL);
    if (ret < 0 || par->codec_id == AV_CODEC_ID_NONE) {
        if (interrupt_cb(st)) {
            snprintf(err, errsz,
                     "could not tell the video codec of %s before the deadline "
                     "(connect)",
                     st->hostport);
            return CS_TIMEOUT;
        }
        snprintf(err, errsz, "the camera's video codec is not one camsnap can decode");
        return CS_UNSUPPORTED;
    }
    return CS_OK;
}

/* get_buffer2 that fills new pictures with Y = Cb = Cr = 0 (a dark green no
 * camera produces), so that picture areas the decoder never wrote - the HEVC
 * and MJPEG decoders stop silently at a truncated slice or scan - can be
 * found by untouched_area() instead of showing stale or random data. */
static int sentinel_get_buffer(AVCodecContext *c, AVFrame *f, int flags)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int ret = avcodec_default_get_buffer2(c, f, flags);

    if (ret < 0 || !d || (d->flags & (AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_PAL)))
        return ret;
    for (int i = 0; i < 3 && f->data[i] && f->linesize[i] > 0; i++) {
        int rows = i == 0 ? f->height : AV_CEIL_RSHIFT(f->height, d->log2_chroma_h);
        memset(f->data[i], 0, (size_t)f->linesize[i] * (size_t)rows);
    }
    return ret;
}

static enum cs_err open_decoder(struct rtsp_state *st, char *err, size_t errsz)
{
    const AVCodecParameters *par = st->fmt->streams[st->vstream]->codecpar;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);

    if (!codec) {
        snprintf(err, errsz, "camera sends %s video, which this FFmpeg cannot decode",
                 avcodec_get_name(par->codec_id));
        return CS_UNSUPPORTED;
    }
    st->dec = avcodec_alloc_context3(codec);
    if (!st->dec || avcodec_parameters_to_context(st->dec, par) < 0) {
        snprintf(err, errsz, "out of memory opening the %s decoder", codec->name);
        return CS_NOMEM;
    }
    st->dec->opaque = st;
    st->dec->thread_count = 1; /* no frame-thread delay: one packet, one picture */
    st->dec->thread_type = FF_THREAD_SLICE;
    st->dec->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
    st->dec->flags2 &= ~AV_CODEC_FLAG2_SHOW_ALL;
    st->dec->err_recognition = AV_EF_CRCCHECK | AV_EF_BITSTREAM | AV_EF_BUFFER;
    /* The HEVC decoder of FFmpeg 5 does not flag damaged pictures; make it
     * fail the packet on any NAL error instead of outputting a partial one. */
    if (par->codec_id == AV_CODEC_ID_HEVC)
        st->dec->err_recognition |= AV_EF_EXPLODE;
    st->dec->skip_frame = AVDISCARD_NONKEY;
    st->dec->get_buffer2 = sentinel_get_buffer;
    if (avcodec_open2(st->dec, codec, NULL) < 0) {
        snprintf(err, errsz, "could not open the %s decoder", codec->name);
        return CS_UNSUPPORTED;
    }
    return CS_OK;
}

static void fill_open_info(struct rtsp_state *st)
{
    const AVCodecParameters *par = st->fmt->streams[st->vstream]->codecpar;
    const AVDictionaryEntry *title = av_dict_get(st->fmt->metadata, "title", NULL, 0);

    snprintf(st->info.codec, sizeof(st->info.codec), "%s", avcodec_get_name(par->codec_id));
    /* The SDP rarely carries the size; the decoder learnt it from the SPS in
     * sprop-parameter-sets when there were any. */
    st->info.width = par->width > 0 ? par->width : st->dec->width;
    st->info.height = par->height > 0 ? par->height : st->dec->height;
    snprintf(st->info.detail, sizeof(st->info.detail),
             "RTSP/%s %.120s, %u stream(s), "
             "session \"%.80s\"",
             st->cam->transport == TRANSPORT_UDP ? "UDP" : "TCP", st->hostport, st->fmt->nb_streams,
             title ? title->value : "");
}

static void rtsp_close(void *state);

static enum cs_err rtsp_open(const struct camera_config *cam, int64_t deadline_mono_ms,
                             void **state, char *err, size_t errsz)
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
    st->last_key_pts = AV_NOPTS_VALUE;
    rc = parse_url(st, err, errsz);
    if (!rc)
        rc = connect_rtsp(st, deadline_mono_ms, err, errsz);
    if (!rc)
        rc = pick_stream(st, err, errsz);
    if (!rc)
        rc = open_decoder(st, err, errsz);
    if (!rc && (!(st->pkt = av_packet_alloc()) || !(st->frame = av_frame_alloc()))) {
        snprintf(err, errsz, "out of memory");
        rc = CS_NOMEM;
    }
    if (rc) {
        log_debug(cam->name, "RTSP open failed: %s", err);
        rtsp_close(st);
        return rc;
    }
    fill_open_info(st);
    log_debug(cam->name, "RTSP connected in %" PRId64 " ms: %s %s", st->info.connect_ms,
              st->info.codec, st->info.detail);
    *state = st;
    return CS_OK;
}

/* ---- grab -------------------------------------------------------------- */

static void note_keyframe(struct rtsp_state *st, const AVPacket *pkt)
{
    AVRational tb = st->fmt->streams[st->vstream]->time_base;
    AVRational ms = {1, 1000};

    if (pkt->pts == AV_NOPTS_VALUE)
        return;
    if (st->last_key_pts != AV_NOPTS_VALUE && pkt->pts > st->last_key_pts)
        st->info.keyframe_interval_ms = av_rescale_q(pkt->pts - st->last_key_pts, tb, ms);
    st->last_key_pts = pkt->pts;
}

/* True when a whole 16x16 luma block (with zero chroma at its centre) still
 * holds the sentinel of sentinel_get_buffer(): the decoder skipped it. Only
 * for the planar 8-bit YUV formats export_frame() accepts. */
static bool untouched_area(const AVFrame *f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int sx, sy;

    if (!d || d->nb_components < 3 || (d->flags & AV_PIX_FMT_FLAG_PLANAR) == 0 ||
        d->comp[0].depth != 8)
        return false;
    sx = d->log2_chroma_w;
    sy = d->log2_chroma_h;
    for (int by = 0; by + 16 <= f->height; by += 16) {
        for (int bx = 0; bx + 16 <= f->width; bx += 16) {
            int cx = (bx + 8) >> sx, cy = (by + 8) >> sy;
            bool zero = f->data[1][cy * f->linesize[1] + cx] == 0 &&
                        f->data[2][cy * f->linesize[2] + cx] == 0;
            for (int y = by; zero && y < by + 16; y++)
                for (int x = bx; zero && x < bx + 16; x++)
                    zero = f->data[0][y * f->linesize[0] + x] == 0;
            if (zero)
                return true;
        }
    }
    return false;
}

/* Decodes one keyframe packet into st->frame. *got is false when the
 * decoder rejected it or produced nothing usable. */
static enum cs_err decode_keyframe(struct rtsp_state *st, const AVPacket *pkt, bool *got)
{
    int ret;

    *got = false;
    ret = avcodec_send_packet(st->dec, pkt);
    if (ret == AVERROR(ENOMEM))
        return CS_NOMEM;
    if (ret < 0 && ret != AVERROR(EAGAIN))
        return CS_OK;
    ret = avcodec_receive_frame(st->dec, st->frame);
    if (ret == AVERROR(EAGAIN)) {
        /* A decoder with reorder delay holds the picture back: drain it,
         * then reset so the next keyframe starts afresh. */
        avcodec_send_packet(st->dec, NULL);
        ret = avcodec_receive_frame(st->dec, st->frame);
        avcodec_flush_buffers(st->dec);
    }
    if (ret < 0)
        return ret == AVERROR(ENOMEM) ? CS_NOMEM : CS_OK;
    if ((st->frame->flags & AV_FRAME_FLAG_CORRUPT) || st->frame->decode_error_flags ||
        !st->frame->key_frame || st->frame->width <= 0 || st->frame->height <= 0 ||
        untouched_area(st->frame)) {
        av_frame_unref(st->frame);
        return CS_OK;
    }
    *got = true;
    return CS_OK;
}

static enum cs_err frame_layout(enum AVPixelFormat fmt, enum frame_subsamp *ss, bool *full)
{
    *full = false;
    switch (fmt) {
    case AV_PIX_FMT_YUVJ420P: *full = true; /* fall through */
    case AV_PIX_FMT_YUV420P: *ss = SUBSAMP_420; return CS_OK;
    case AV_PIX_FMT_YUVJ422P: *full = true; /* fall through */
    case AV_PIX_FMT_YUV422P: *ss = SUBSAMP_422; return CS_OK;
    case AV_PIX_FMT_YUVJ444P: *full = true; /* fall through */
    case AV_PIX_FMT_YUV444P: *ss = SUBSAMP_444; return CS_OK;
    case AV_PIX_FMT_GRAY8: *ss = SUBSAMP_GRAY; return CS_OK;
    default: return CS_UNSUPPORTED;
    }
}

/* Hands st->frame out as a borrowed struct frame. */
static enum cs_err export_frame(struct rtsp_state *st, struct frame *out, char *err, size_t errsz)
{
    const AVFrame *f = st->frame;
    bool full;
    enum cs_err rc;

    memset(out, 0, sizeof(*out));
    rc = frame_layout((enum AVPixelFormat)f->format, &out->subsamp, &full);
    if (rc) {
        const char *name = av_get_pix_fmt_name((enum AVPixelFormat)f->format);
        snprintf(err, errsz,
                 "camera sends pixel format %s, which camsnap cannot encode "
                 "(supported: yuv420p, yuv422p, yuv444p, gray)",
                 name ? name : "unknown");
        return rc;
    }
    out->kind = FRAME_YUV;
    out->width = f->width;
    out->height = f->height;
    out->full_range = full || f->color_range == AVCOL_RANGE_JPEG;
    for (int i = 0; i < (out->subsamp == SUBSAMP_GRAY ? 1 : 3); i++) {
        if (!f->data[i] || f->linesize[i] <= 0) {
            snprintf(err, errsz, "decoder returned an unusable picture layout");
            return CS_BADFRAME;
        }
        out->planes[i] = f->data[i];
        out->strides[i] = f->linesize[i];
    }
    st->info.width = f->width;
    st->info.height = f->height;
    return CS_OK;
}

static void check_size(struct rtsp_state *st)
{
    const struct camera_config *cam = st->cam;

    if (st->size_checked || cam->width <= 0 || cam->height <= 0)
        return;
    st->size_checked = true;
    if (st->info.width != cam->width || st->info.height != cam->height)
        log_warnx(cam->name,
                  "stream is %dx%d but the configuration expects %dx%d; "
                  "check the stream path (main/sub stream)",
                  st->info.width, st->info.height, cam->width, cam->height);
}

/* Reads the next packet of the video stream into st->pkt. *lossy is true
 * when the demuxer reported an RTP gap while this packet or the one before
 * it was assembled (the parser hands an access unit out only when the next
 * one starts, so a gap may belong to either). */
static enum cs_err read_video_packet(struct rtsp_state *st, struct grab_stats *gs, bool *lossy,
                                     char *err, size_t errsz)
{
    int ret;

    for (;;) {
        ret = av_read_frame(st->fmt, st->pkt);
        if (ret < 0)
            return read_error(st, ret, gs, err, errsz);
        /* A packet handed out after an interrupt is the parser's leftover,
         * not a sign of life. */
        if (!stalled(st, clock_mono_ms()))
            st->last_data_ms = clock_mono_ms();
        if (st->pkt->stream_index == st->vstream)
            break;
        av_packet_unref(st->pkt);
    }
    gs->packets++;
    *lossy = st->rtp_losses != gs->losses_prev2;
    gs->losses_prev2 = gs->losses_prev;
    gs->losses_prev = st->rtp_losses;
    return CS_OK;
}

/* Reads packets until one keyframe of the video stream decodes cleanly. */
static enum cs_err next_clean_keyframe(struct rtsp_state *st, struct grab_stats *gs, char *err,
                                       size_t errsz)
{
    enum cs_err rc = CS_OK;
    bool got = false, lossy;

    gs->losses_prev = gs->losses_prev2 = st->rtp_losses;
    while (!got) {
        rc = read_video_packet(st, gs, &lossy, err, errsz);
        if (rc)
            return rc;
        if (!(st->pkt->flags & AV_PKT_FLAG_KEY)) {
            av_packet_unref(st->pkt);
            continue;
        }
        gs->keyframes++;
        note_keyframe(st, st->pkt);
        /* The JPEG depacketizer drops incomplete frames itself. */
        lossy = lossy && st->dec->codec_id != AV_CODEC_ID_MJPEG;
        if (!lossy)
            rc = decode_keyframe(st, st->pkt, &got);
        av_packet_unref(st->pkt);
        if (rc) {
            snprintf(err, errsz, "out of memory decoding a picture");
            return rc;
        }
        if (!got) {
            gs->rejected++;
            log_debug(st->cam->name, "keyframe %u %s; waiting for the next one", gs->keyframes,
                      lossy ? "came with RTP packet loss" : "rejected by the decoder");
        }
    }
    return CS_OK;
}

static enum cs_err rtsp_grab(void *state, int64_t deadline_mono_ms, struct frame *frame, char *err,
                             size_t errsz)
{
    struct rtsp_state *st = state;
    struct grab_stats gs = {.start_ms = clock_mono_ms()};
    char dummy[1];
    enum cs_err rc;

    if (!err || errsz == 0) {
        err = dummy;
        errsz = sizeof(dummy);
    }
    av_frame_unref(st->frame);
    st->deadline_ms = deadline_mono_ms;
    st->last_data_ms = gs.start_ms;
    rc = next_clean_keyframe(st, &gs, err, errsz);
    st->last_data_ms = 0;
    if (!rc)
        rc = export_frame(st, frame, err, errsz);
    if (rc) {
        av_frame_unref(st->frame);
        log_debug(st->cam->name, "RTSP grab failed after %u packets: %s", gs.packets, err);
        return rc;
    }
    check_size(st);
    log_debug(st->cam->name, "RTSP still %dx%d %s after %" PRId64 " ms (%u packets skipped)",
              frame->width, frame->height, av_get_pix_fmt_name(st->frame->format),
              clock_mono_ms() - gs.start_ms, gs.packets - 1);
    return CS_OK;
}

/* ---- info / close -------------------------------------------------------- */

static void rtsp_info(const void *state, struct source_info *info)
{
    const struct rtsp_state *st = state;

    *info = st->info;
}

static void rtsp_close(void *state)
{
    struct rtsp_state *st = state;

    if (!st)
        return;
    /* Give the TEARDOWN a short, bounded chance. */
    st->deadline_ms = clock_mono_ms() + CLOSE_BUDGET_MS;
    st->last_data_ms = 0;
    avcodec_free_context(&st->dec);
    avformat_close_input(&st->fmt);
    av_packet_free(&st->pkt);
    av_frame_free(&st->frame);
    st->magic = 0;
    free(st);
}

const struct source_ops source_rtsp_ops = {
    .scheme_prefix = RTSP_SCHEME,
    .open = rtsp_open,
    .grab = rtsp_grab,
    .info = rtsp_info,
    .close = rtsp_close,
};
