/*
 * source_rtsp_priv.h - what the two files of the RTSP source share:
 * source_rtsp.c (session: URL, transport, set-up, errors, close) and
 * source_rtsp_grab.c (packets -> access units -> a clean decoded picture).
 * Private to those two files; the only header of camsnap that includes
 * libav headers.
 */
#ifndef CAMSNAP_SOURCE_RTSP_PRIV_H
#define CAMSNAP_SOURCE_RTSP_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "au.h"
#include "source.h"
#include "source_priv.h"

#define RTSP_MAGIC 0x52545350u /* "RTSP": tells our contexts apart in the log callback */

enum decode_state {
    DEC_WAIT_ENTRY, /* skipping access units until one a decoder can start at */
    DEC_RECOVERING, /* fed everything since a recovery point, until a recovered picture */
};

struct rtsp_state {
    unsigned magic;
    const struct camera_config *cam;
    struct budget *budget;        /* memory for pictures in flight (may be NULL) */
    int64_t budget_held;          /* bytes taken from it for the current picture */
    AVFormatContext *fmt;
    AVCodecContext *dec;          /* only while a picture is decoded (and until release) */
    AVCodecContext *pctx;         /* the parser's context (extradata for SPS) */
    AVCodecParserContext *parser; /* H.264/H.265: picture size before decoding */
    AVPacket *pkt;                /* the demuxer's packet */
    AVPacket *upkt;               /* an access unit handed to the decoder (borrowed data) */
    AVFrame *frame;
    int vstream;                  /* -1 until known: MPEG-TS streams appear while reading */
    bool use_au;                  /* H.264/H.265: packets gathered into access units */
    enum au_codec au_codec;
    struct au_buf au;
    enum decode_state dstate;
    unsigned recovery_fed;        /* access units fed since the recovery point */
    unsigned recovery_limit;      /* give up the recovery point after this many */
    enum transport transport;     /* TCP or UDP, the one in use */
    bool described;               /* the camera answered DESCRIBE (its SDP was read) */
    bool answered;                /* bytes of an answer came (RTSP or not) */
    bool rtsp_seen;               /* an answer line starting "RTSP/" came */
    unsigned redirects;           /* RTSP 3xx followed during this set-up */
    bool redirect_refused;        /* one to another origin with credentials, or a loop */
    char redirect_to[256];        /* where it went (credentials removed) */
    char tls_error[160];          /* OpenSSL's words when the TLS handshake failed */
    bool released;                /* source_release(): only the frame is left */
    int64_t deadline_ms;          /* the interrupt callback's deadline, absolute mono */
    int64_t last_data_ms;         /* mono time of the last packet; 0 outside grab */
    char hostport[300];           /* "host:port" for messages, no credentials */
    int64_t last_key_pts;         /* AV_NOPTS_VALUE until an entry point was seen */
    unsigned rtp_losses;          /* RTP sequence gaps reported by the demuxer */
    bool size_checked;            /* expected-resolution warning given once */
    struct source_info info;
};

/* source_rtsp.c */
int rtsp_interrupt_cb(void *opaque);
bool rtsp_stalled(const struct rtsp_state *st, int64_t now);

/* source_rtsp_grab.c: the video stream was found; prepares for it (the
 * decoder itself is opened for each picture, under the budget). */
enum cs_err rtsp_setup_stream(struct rtsp_state *st, int index, char *err, size_t errsz);

/* source_rtsp_grab.c: the grab operation and early release. */
enum cs_err rtsp_grab(void *state, int64_t deadline_mono_ms, struct frame *frame, char *err,
                      size_t errsz);
void rtsp_release_decoder(struct rtsp_state *st);
/* Frees the picture and its decoder, and gives its memory back. */
void rtsp_drop_picture(struct rtsp_state *st);

#endif
