/*
 * source_rtsp_grab.c - from RTSP packets to one clean decoded picture.
 *
 * H.264 and H.265 are read unparsed (AVFMT_FLAG_NOPARSE): the depacketizer
 * hands out NAL units with their RTP timestamp as pts, and au.c gathers all
 * units of one timestamp into one access unit - a whole picture, however
 * many slices it has and whatever the camera repeats between them. Other
 * codecs (MJPEG: one whole JPEG per packet) are taken packet by packet.
 *
 * The decoder is fed only what can give a clean picture. Each whole access
 * unit goes through take_au(), which makes every transition of st->dstate:
 *
 *   DEC_WAIT_ENTRY
 *     │ not an entry point ─────────────────────────────▶ skipped
 *     │ torn by RTP loss, or larger than the buffer ─────▶ restart_wait()
 *     │ an entry point (au_classify(): IDR/IRAP, or a recovery point SEI):
 *     │   check_size(): the parser's size over max_pixels ─▶ CS_TOOBIG
 *     │   start_picture(): budget_take(), a decoder opened;
 *     │     no memory before the deadline ───────────────▶ CS_TIMEOUT
 *     ├─ IDR/IRAP ─▶ decode_alone(): decoded by itself, drained
 *     │    ├─ the picture passes the gate ─────────────▶ got (stays DEC_WAIT_ENTRY,
 *     │    │                                              picture and decoder kept)
 *     │    └─ rejected, or not clean ──────────────────▶ rtsp_drop_picture()
 *     └─ recovery point (H.264 intra refresh: no IDR ever) ─▶ DEC_RECOVERING,
 *                                                     recovery_limit set
 *   DEC_RECOVERING
 *     │ every unit ─▶ decode_forward(): the H.264 decoder outputs nothing
 *     │               until the refresh wave has covered the picture
 *     ├─ a picture passes the gate ────────────────────▶ got: DEC_WAIT_ENTRY,
 *     │                                                   picture and decoder kept
 *     ├─ a unit torn by RTP loss, a decoder error ─────▶ restart_wait(): DEC_WAIT_ENTRY
 *     └─ recovery_limit units without one ─────────────▶ restart_wait(): DEC_WAIT_ENTRY
 *
 *   restart_wait() and rtsp_drop_picture() free the picture, its decoder and
 *   its share of the budget. The deadline, checked after every packet
 *   (next_clean_picture()) and by the interrupt callback during reads,
 *   ends the grab: timeout_error() says what was seen (CS_BADFRAME when
 *   every entry point was damaged, else CS_TIMEOUT).
 *
 * Other codecs (MJPEG) go through take_picture_packet(): a key packet
 * without RTP loss is decoded alone, then the gate.
 *
 * The gate (clean_picture): the decoder flagged nothing (corrupt, concealed
 * errors), no RTP loss while the unit was gathered, and no 16x16 block was
 * left unwritten (sentinel_get_buffer: decoders that stop silently at a
 * truncated slice). So every grab returns a clean picture; in continuous
 * use, one per entry point.
 *
 * Before a picture is decoded its size is read by FFmpeg's parser (in
 * complete-frames mode, so it cuts nothing) and refused over max_pixels:
 * the decoder allocates its tables from the SPS before any check of its
 * own. Decoding is not interruptible, so the deadline is checked after each
 * decode as well as by the interrupt callback during I/O.
 *
 * Memory: one demuxer, one decoder (one thread), one access unit buffer,
 * one packet and one frame per source; rtsp_release_decoder() frees all
 * but the frame as soon as the caller has its picture.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>

#include "budget.h"
#include "clock.h"
#include "image.h"
#include "log.h"
#include "source_rtsp_priv.h"

#define RECOVERY_SLACK 32    /* units past recovery_frame_cnt before giving up */
#define AU_MIN_MAX (4 << 20) /* an access unit may always be this large */

/* Counts of one grab, for the timeout message. */
struct grab_stats {
    int64_t start_ms;
    int64_t decode_ms;          /* time spent decoding (all attempts) */
    unsigned packets, entries, lossy, rejected;
};

/* ---- stream set-up ---------------------------------------------------------- */

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

static enum cs_err open_decoder(struct rtsp_state *st, const AVCodecParameters *par, char *err,
                                size_t errsz)
{
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
    st->dec->thread_count = 1; /* no frame-thread delay and one set of buffers */
    st->dec->thread_type = FF_THREAD_SLICE;
    st->dec->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
    st->dec->flags2 &= ~AV_CODEC_FLAG2_SHOW_ALL;
    st->dec->err_recognition = AV_EF_CRCCHECK | AV_EF_BITSTREAM | AV_EF_BUFFER;
    /* The HEVC decoder of FFmpeg 5 does not flag damaged pictures; make it
     * fail the packet on any NAL error instead of outputting a partial one. */
    if (par->codec_id == AV_CODEC_ID_HEVC)
        st->dec->err_recognition |= AV_EF_EXPLODE;
    /* Codecs other than H.264/H.265 are fed packet by packet: let the
     * decoder skip what is not a keyframe. */
    st->dec->skip_frame = st->use_au ? AVDISCARD_DEFAULT : AVDISCARD_NONKEY;
    st->dec->get_buffer2 = sentinel_get_buffer;
    st->dec->max_pixels = st->cam->max_pixels; /* a second line behind check_size() */
    if (avcodec_open2(st->dec, codec, NULL) < 0) {
        snprintf(err, errsz, "could not open the %s decoder", codec->name);
        return CS_UNSUPPORTED;
    }
    return CS_OK;
}

/* The parser reads picture sizes from the SPS (in band or in the SDP's
 * sprop parameter sets, through extradata). */
static enum cs_err open_parser(struct rtsp_state *st, const AVCodecParameters *par, char *err,
                               size_t errsz)
{
    st->parser = av_parser_init(par->codec_id);
    st->pctx = avcodec_alloc_context3(NULL);
    if (!st->parser || !st->pctx || avcodec_parameters_to_context(st->pctx, par) < 0) {
        snprintf(err, errsz, "out of memory opening the %s parser", avcodec_get_name(par->codec_id));
        return CS_NOMEM;
    }
    st->parser->flags |= PARSER_FLAG_COMPLETE_FRAMES;
    return CS_OK;
}

enum cs_err rtsp_setup_stream(struct rtsp_state *st, int index, char *err, size_t errsz)
{
    const AVCodecParameters *par = st->fmt->streams[index]->codecpar;
    int64_t max = st->cam->max_pixels + (1 << 20);

    st->vstream = index;
    st->use_au = par->codec_id == AV_CODEC_ID_H264 || par->codec_id == AV_CODEC_ID_HEVC;
    st->au_codec = par->codec_id == AV_CODEC_ID_HEVC ? AU_H265 : AU_H264;
    /* Unparsed packets for H.264/H.265; the flag is read when the demuxer
     * first meets the stream, so it is set before any packet of it. */
    if (st->use_au)
        st->fmt->flags |= AVFMT_FLAG_NOPARSE;
    st->au.codec = st->au_codec;
    st->au.max = max < AU_MIN_MAX ? AU_MIN_MAX : (size_t)max;
    if (!st->upkt && !(st->upkt = av_packet_alloc())) {
        snprintf(err, errsz, "out of memory opening the decoder");
        return CS_NOMEM;
    }
    snprintf(st->info.codec, sizeof(st->info.codec), "%s", avcodec_get_name(par->codec_id));
    if (!avcodec_find_decoder(par->codec_id)) {
        snprintf(err, errsz, "camera sends %s video, which camsnap cannot decode (it decodes "
                             "H.264, H.265 and MJPEG): switch the camera's stream to one of them",
                 avcodec_get_name(par->codec_id));
        return CS_UNSUPPORTED;
    }
    /* The SDP rarely carries the size; the parser reads it from the SPS. */
    st->info.width = par->width;
    st->info.height = par->height;
    return st->use_au ? open_parser(st, par, err, errsz) : CS_OK;
}

void rtsp_drop_picture(struct rtsp_state *st)
{
    av_frame_unref(st->frame);
    avcodec_free_context(&st->dec);
    budget_give(st->budget, st->budget_held);
    st->budget_held = 0;
    st->dstate = DEC_WAIT_ENTRY;
}

/* Takes the memory a w x h picture needs (the picture, the decoder's
 * tables, the encoder's work) and opens a decoder for it. A size not known
 * yet counts as the largest picture allowed. */
static enum cs_err start_picture(struct rtsp_state *st, int w, int h, char *err, size_t errsz)
{
    int64_t pixels = w > 0 && h > 0 ? (int64_t)w * h : st->cam->max_pixels;
    enum cs_err rc;

    if (!st->budget_held) {
        if (budget_take(st->budget, pixels * 2, st->deadline_ms)) {
            snprintf(err, errsz,
                     "waited until the deadline for memory to decode a %dx%d picture while "
                     "other cameras' pictures were decoded (raise picture_memory or timeout)",
                     w, h);
            return CS_TIMEOUT;
        }
        st->budget_held = pixels * 2;
        /* A wait for memory is not the camera's silence. */
        if (st->last_data_ms > 0)
            st->last_data_ms = clock_mono_ms();
    }
    if (!st->dec && (rc = open_decoder(st, st->fmt->streams[st->vstream]->codecpar, err, errsz))) {
        rtsp_drop_picture(st);
        return rc;
    }
    return CS_OK;
}

/* The decoder and the access unit machinery; the picture and its share of
 * the budget stay (rtsp_drop_picture() frees those). */
void rtsp_release_decoder(struct rtsp_state *st)
{
    if (st->upkt) { /* its data is borrowed: forget it, do not free it */
        st->upkt->data = NULL;
        st->upkt->size = 0;
    }
    av_packet_free(&st->upkt);
    avcodec_free_context(&st->dec);
    avcodec_free_context(&st->pctx);
    av_parser_close(st->parser);
    st->parser = NULL;
    au_buf_free(&st->au);
}

/* ---- errors ----------------------------------------------------------------- */

/* The message for a grab that ends at the deadline or a stall. */
static enum cs_err timeout_error(const struct rtsp_state *st, const struct grab_stats *gs,
                                 char *err, size_t errsz)
{
    int64_t now = clock_mono_ms();
    char took[32];

    if (rtsp_stalled(st, now) && now < st->deadline_ms) {
        snprintf(err, errsz, "camera at %s stopped sending video for %" PRId64 " ms (reading)",
                 st->hostport, st->cam->read_timeout_ms);
        return CS_TIMEOUT;
    }
    rtsp_duration_text(now - gs->start_ms, took, sizeof(took));
    if (gs->packets == 0) {
        snprintf(err, errsz, "no video data from %s within %s (reading)%s", st->hostport, took,
                 st->vstream < 0 ? "; the MPEG-TS stream showed no video" : "");
    } else if (gs->entries == 0) {
        snprintf(err, errsz,
                 "no keyframe within %s (waiting for a keyframe; %u packets received; is the "
                 "camera's I-frame interval longer than the deadline?)",
                 took, gs->packets);
    } else if (gs->rejected == 0 && st->dstate == DEC_RECOVERING) {
        snprintf(err, errsz,
                 "no complete picture within %s: the camera sends no keyframes (intra "
                 "refresh) and the refresh had not covered the picture yet; raise timeout "
                 "above the refresh period",
                 took);
    } else {
        snprintf(err, errsz, "no clean keyframe within %s: %u keyframe(s) damaged%s%s", took,
                 gs->lossy + gs->rejected,
                 gs->lossy ? " by packet loss" : " (rejected by the decoder)",
                 gs->lossy && st->transport == TRANSPORT_UDP ? " (try transport = tcp)" : "");
        return CS_BADFRAME;
    }
    return CS_TIMEOUT;
}

/* Translates a failure of av_read_frame(). */
static enum cs_err read_error(const struct rtsp_state *st, int averr, const struct grab_stats *gs,
                              char *err, size_t errsz)
{
    char why[AV_ERROR_MAX_STRING_SIZE];

    if (averr == AVERROR(ETIMEDOUT) || averr == AVERROR_EXIT || rtsp_interrupt_cb((void *)st))
        return timeout_error(st, gs, err, errsz);
    if (averr == AVERROR(ENOMEM)) {
        snprintf(err, errsz, "out of memory reading the RTSP stream");
        return CS_NOMEM;
    }
    if (av_strerror(averr, why, sizeof(why)) < 0)
        snprintf(why, sizeof(why), "libav error %d", averr);
    snprintf(err, errsz, "camera at %s ended the stream (reading): %s", st->hostport, why);
    return CS_PROTO;
}

/* ---- the gate ----------------------------------------------------------------- */

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

static bool clean_picture(const AVFrame *f)
{
    return !(f->flags & AV_FRAME_FLAG_CORRUPT) && !f->decode_error_flags && f->width > 0 &&
           f->height > 0 && !untouched_area(f);
}

/* ---- decoding ------------------------------------------------------------------ */

static enum cs_err averr_to_cs(int ret)
{
    return ret == AVERROR(ENOMEM) ? CS_NOMEM : CS_OK;
}

/* st->upkt pointing at data (not reference-counted: the decoder copies). */
static AVPacket *unit_packet(struct rtsp_state *st, const uint8_t *data, size_t len)
{
    AVPacket *p = st->upkt;

    av_packet_unref(p);
    p->data = (uint8_t *)data;
    p->size = (int)len;
    p->flags = AV_PKT_FLAG_KEY;
    return p;
}

/* Decodes one picture that needs no other (IDR, IRAP, JPEG) into
 * st->frame; *got is false when the decoder rejected it or produced
 * nothing clean. */
static enum cs_err decode_alone(struct rtsp_state *st, const uint8_t *data, size_t len, bool *got)
{
    int ret;

    *got = false;
    ret = avcodec_send_packet(st->dec, unit_packet(st, data, len));
    if (ret < 0 && ret != AVERROR(EAGAIN))
        return averr_to_cs(ret);
    ret = avcodec_receive_frame(st->dec, st->frame);
    if (ret == AVERROR(EAGAIN)) {
        /* A decoder with reorder delay holds the picture back: drain it,
         * then reset so the next entry point starts afresh. */
        avcodec_send_packet(st->dec, NULL);
        ret = avcodec_receive_frame(st->dec, st->frame);
        avcodec_flush_buffers(st->dec);
    }
    if (ret < 0)
        return averr_to_cs(ret);
    if (!st->frame->key_frame || !clean_picture(st->frame)) {
        av_frame_unref(st->frame);
        return CS_OK;
    }
    *got = true;
    return CS_OK;
}

/* Feeds one unit while recovering; *got when a recovered picture passed
 * the gate. */
static enum cs_err decode_forward(struct rtsp_state *st, const uint8_t *data, size_t len,
                                  bool *got)
{
    int ret;

    *got = false;
    ret = avcodec_send_packet(st->dec, unit_packet(st, data, len));
    if (ret < 0 && ret != AVERROR(EAGAIN))
        return averr_to_cs(ret);
    while ((ret = avcodec_receive_frame(st->dec, st->frame)) >= 0) {
        if (clean_picture(st->frame)) {
            *got = true;
            return CS_OK;
        }
        av_frame_unref(st->frame);
    }
    return ret == AVERROR(EAGAIN) ? CS_OK : averr_to_cs(ret);
}

/* Reads the picture size of an access unit with FFmpeg's parser and
 * refuses it over max_pixels, before the decoder allocates anything. */
static enum cs_err check_size(struct rtsp_state *st, const uint8_t *data, size_t len, int *pw,
                              int *ph, char *err, size_t errsz)
{
    uint8_t *out = NULL;
    int outsz = 0, w, h;

    av_parser_parse2(st->parser, st->pctx, &out, &outsz, data, (int)len, AV_NOPTS_VALUE,
                     AV_NOPTS_VALUE, 0);
    w = st->parser->width > 0 ? st->parser->width : st->parser->coded_width;
    h = st->parser->height > 0 ? st->parser->height : st->parser->coded_height;
    *pw = w;
    *ph = h;
    if (w <= 0 || h <= 0 || (int64_t)w * h <= st->cam->max_pixels)
        return CS_OK;
    snprintf(err, errsz,
             "camera sends %dx%d pictures (%.1f megapixels), more than max_pixels (%.1f "
             "megapixels): refused before decoding; choose a smaller stream or raise max_pixels",
             w, h, (double)w * h / 1e6, (double)st->cam->max_pixels / 1e6);
    return CS_TOOBIG;
}

static void note_entry(struct rtsp_state *st, int64_t pts, const struct au_info *info)
{
    AVRational tb = st->fmt->streams[st->vstream]->time_base;
    AVRational ms = {1, 1000};

    if (info->entry == AU_ENTRY_IDR)
        st->info.idr_seen = true;
    else
        st->info.recovery_points = true;
    if (pts == AV_NOPTS_VALUE)
        return;
    if (st->last_key_pts != AV_NOPTS_VALUE && pts > st->last_key_pts)
        st->info.keyframe_interval_ms = av_rescale_q(pts - st->last_key_pts, tb, ms);
    st->last_key_pts = pts;
}

/* Back to waiting for an entry point, without a picture. */
static void restart_wait(struct rtsp_state *st)
{
    if (st->dstate == DEC_RECOVERING || st->dec)
        rtsp_drop_picture(st);
    st->dstate = DEC_WAIT_ENTRY;
}

/* One complete access unit: makes every decode_state transition. */
static enum cs_err take_au(struct rtsp_state *st, struct grab_stats *gs, bool *got, char *err,
                           size_t errsz)
{
    struct au_buf *au = &st->au;
    struct au_info info;
    enum cs_err rc;

    *got = false;
    if (au->overflow) {
        log_debug(st->cam->name, "a picture of more than %zu bytes was skipped", au->max);
        restart_wait(st);
        return CS_OK;
    }
    au_classify(st->au_codec, au->data, au->len, &info);
    if (info.entry != AU_ENTRY_NONE) {
        gs->entries++;
        note_entry(st, au->pts, &info);
    }
    if (au->lossy) {
        if (info.entry != AU_ENTRY_NONE || st->dstate == DEC_RECOVERING) {
            gs->lossy++;
            log_debug(st->cam->name, "a picture came with RTP packet loss; waiting for the next "
                                     "keyframe");
        }
        restart_wait(st);
        return CS_OK;
    }
    if (st->dstate == DEC_WAIT_ENTRY) {
        int w = 0, h = 0;
        if (info.entry == AU_ENTRY_NONE)
            return CS_OK;
        if ((rc = check_size(st, au->data, au->len, &w, &h, err, errsz)) ||
            (rc = start_picture(st, w, h, err, errsz)))
            return rc;
        if (info.entry == AU_ENTRY_IDR) {
            rc = decode_alone(st, au->data, au->len, got);
            if (!rc && !*got) {
                gs->rejected++;
                log_debug(st->cam->name, "keyframe rejected by the decoder; waiting for the next");
            }
            if (rc || !*got)
                rtsp_drop_picture(st);
            return rc;
        }
        st->dstate = DEC_RECOVERING;
        st->recovery_fed = 0;
        st->recovery_limit = (unsigned)info.recovery_frames + RECOVERY_SLACK;
        log_debug(st->cam->name, "recovery point (%d frames): decoding forward",
                  info.recovery_frames);
    }
    rc = decode_forward(st, au->data, au->len, got);
    if (*got) {
        st->dstate = DEC_WAIT_ENTRY; /* the picture and its decoder stay */
        return CS_OK;
    }
    if (rc) {
        restart_wait(st);
        return rc;
    }
    if (++st->recovery_fed > st->recovery_limit) {
        gs->rejected++;
        log_debug(st->cam->name, "no recovered picture %u frames after the recovery point",
                  st->recovery_fed);
        restart_wait(st);
    }
    return CS_OK;
}

/* Adds the packet in st->pkt to the access unit; completes the previous
 * one first when the timestamp moved on. `losses_before` is the loss count
 * before this packet was read. */
static enum cs_err take_au_packet(struct rtsp_state *st, struct grab_stats *gs,
                                  unsigned losses_before, bool *got, char *err, size_t errsz)
{
    struct au_buf *au = &st->au;
    int64_t pts = st->pkt->pts;
    enum cs_err rc = CS_OK;

    *got = false;
    /* A gap reported while this packet was read may have hit the end of the
     * unit it completes or the start of the next: both count it. */
    if (au->packets && pts != AV_NOPTS_VALUE && pts != au->pts && au->has_vcl) {
        au->lossy = au->lossy || st->rtp_losses != au->loss_mark;
        rc = take_au(st, gs, got, err, errsz);
        au_buf_clear(au);
        if (rc)
            return rc;
    }
    if (au->packets == 0) {
        au->loss_mark = losses_before;
    }
    /* Parameter sets sent under a timestamp of their own join the picture
     * that follows them. */
    if (pts != AV_NOPTS_VALUE && (au->packets == 0 || !au->has_vcl))
        au->pts = pts;
    if (au_buf_append(au, st->pkt->data, (size_t)st->pkt->size)) {
        snprintf(err, errsz, "out of memory gathering a picture");
        return CS_NOMEM;
    }
    return CS_OK;
}

/* The size of a packet's picture for codecs without a parser here: a
 * JPEG's frame header, or what the stream announced. */
static void picture_size(const struct rtsp_state *st, int *w, int *h)
{
    const AVCodecParameters *par = st->fmt->streams[st->vstream]->codecpar;
    char why[8];

    *w = par->width;
    *h = par->height;
    if (par->codec_id == AV_CODEC_ID_MJPEG)
        image_check_jpeg(st->pkt->data, (size_t)st->pkt->size, w, h, why, sizeof(why));
}

/* Codecs without access units to gather: one packet, one picture. */
static enum cs_err take_picture_packet(struct rtsp_state *st, struct grab_stats *gs,
                                       unsigned losses_before, bool *got, char *err,
                                       size_t errsz)
{
    enum AVCodecID id = st->fmt->streams[st->vstream]->codecpar->codec_id;
    bool key = id == AV_CODEC_ID_MJPEG || (st->pkt->flags & AV_PKT_FLAG_KEY);
    /* The JPEG depacketizer drops incomplete frames itself. */
    bool lossy = st->rtp_losses != losses_before && id != AV_CODEC_ID_MJPEG;
    enum cs_err rc;
    int w = 0, h = 0;

    *got = false;
    if (!key)
        return CS_OK;
    gs->entries++;
    st->info.idr_seen = true;
    if (lossy) {
        gs->lossy++;
        return CS_OK;
    }
    picture_size(st, &w, &h);
    if ((rc = start_picture(st, w, h, err, errsz)))
        return rc;
    rc = decode_alone(st, st->pkt->data, (size_t)st->pkt->size, got);
    if (!rc && !*got)
        gs->rejected++;
    if (rc || !*got)
        rtsp_drop_picture(st);
    return rc;
}

/* ---- reading ------------------------------------------------------------------- */

/* Looks for the video stream among those that appeared while reading
 * (MPEG-TS over RTP). */
static enum cs_err find_late_stream(struct rtsp_state *st, char *err, size_t errsz)
{
    for (unsigned i = 0; i < st->fmt->nb_streams; i++) {
        const AVCodecParameters *par = st->fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO && par->codec_id != AV_CODEC_ID_NONE) {
            st->info.mpegts = true;
            log_debug(st->cam->name, "MPEG-TS carries %s video (stream %u)",
                      avcodec_get_name(par->codec_id), i);
            return rtsp_setup_stream(st, (int)i, err, errsz);
        }
    }
    return CS_OK;
}

/* Reads the next packet of the video stream into st->pkt. */
static enum cs_err read_video_packet(struct rtsp_state *st, struct grab_stats *gs, char *err,
                                     size_t errsz)
{
    enum cs_err rc;
    int ret;

    for (;;) {
        ret = av_read_frame(st->fmt, st->pkt);
        if (ret < 0)
            return read_error(st, ret, gs, err, errsz);
        /* A packet handed out after an interrupt is the parser's leftover,
         * not a sign of life. */
        if (!rtsp_stalled(st, clock_mono_ms()))
            st->last_data_ms = clock_mono_ms();
        if (st->vstream < 0 && (rc = find_late_stream(st, err, errsz))) {
            av_packet_unref(st->pkt);
            return rc;
        }
        if (st->vstream >= 0 && st->pkt->stream_index == st->vstream)
            break;
        av_packet_unref(st->pkt);
    }
    gs->packets++;
    return CS_OK;
}

/* Reads until a clean picture is in st->frame. */
static enum cs_err next_clean_picture(struct rtsp_state *st, struct grab_stats *gs, char *err,
                                      size_t errsz)
{
    enum cs_err rc;
    bool got = false;

    while (!got) {
        unsigned losses_before = st->rtp_losses;
        int64_t t;
        if ((rc = read_video_packet(st, gs, err, errsz)))
            return rc;
        t = clock_mono_ms();
        if (st->use_au)
            rc = take_au_packet(st, gs, losses_before, &got, err, errsz);
        else
            rc = take_picture_packet(st, gs, losses_before, &got, err, errsz);
        gs->decode_ms += clock_mono_ms() - t;
        av_packet_unref(st->pkt);
        if (rc == CS_NOMEM && !err[0])
            snprintf(err, errsz, "out of memory decoding a picture");
        if (rc)
            return rc;
        /* Decoding does not see the interrupt callback. */
        if (!got && clock_mono_ms() >= st->deadline_ms)
            return timeout_error(st, gs, err, errsz);
    }
    return CS_OK;
}

/* ---- the picture ------------------------------------------------------------- */

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
    out->matrix = f->colorspace == AVCOL_SPC_BT709 ? MATRIX_BT709 : MATRIX_BT601;
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

static void warn_size(struct rtsp_state *st)
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

enum cs_err rtsp_grab(void *state, int64_t deadline_mono_ms, struct frame *frame, char *err,
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
    err[0] = '\0';
    if (st->released) {
        snprintf(err, errsz, "internal error: grab after release");
        return CS_CANCELLED;
    }
    rtsp_drop_picture(st); /* the previous grab's, in continuous use */
    st->deadline_ms = deadline_mono_ms;
    st->last_data_ms = gs.start_ms;
    rc = next_clean_picture(st, &gs, err, errsz);
    st->last_data_ms = 0;
    if (!rc)
        rc = export_frame(st, frame, err, errsz);
    if (rc) {
        rtsp_drop_picture(st);
        log_debug(st->cam->name, "RTSP grab failed after %u packets: %s", gs.packets, err);
        return rc;
    }
    warn_size(st);
    log_debug(st->cam->name,
              "RTSP still %dx%d %s after %" PRId64 " ms (%u packets read, %" PRId64
              " ms decoding)",
              frame->width, frame->height, av_get_pix_fmt_name(st->frame->format),
              clock_mono_ms() - gs.start_ms, gs.packets, gs.decode_ms);
    return CS_OK;
}
