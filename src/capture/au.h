/*
 * au.h - H.264 and H.265 access units, built from the NAL units an RTP
 * depacketizer hands out, and where a decoder may start from them.
 *
 * Why: FFmpeg's parser cuts a picture wherever a parameter set follows a
 * slice, so a camera that repeats SPS/PPS before every slice of an IDR
 * picture (GStreamer's config-interval=-1 with a sliced encoder) gives the
 * decoder half pictures. camsnap instead reads the demuxer's packets
 * unparsed and gathers everything of one RTP timestamp - the whole picture,
 * whatever is repeated inside it - into one access unit (struct au_buf).
 * The classification (au_classify) then tells whether the unit is a picture
 * a decoder can start at: an IDR / IRAP picture, or a recovery point (intra
 * refresh: no IDR ever, a refresh wave sweeps the picture instead).
 *
 * Knows nothing of libav, sockets or cameras: pure functions over bytes in
 * Annex B form (00 00 01 / 00 00 00 01 start codes), unit-tested and fuzzed.
 * Thread-safety: none needed; a struct au_buf belongs to one thread.
 */
#ifndef CAMSNAP_AU_H
#define CAMSNAP_AU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum au_codec { AU_H264, AU_H265 };

/* What a decoder can do with an access unit that starts it afresh. */
enum au_entry {
    AU_ENTRY_NONE,      /* needs earlier pictures: skip it while waiting */
    AU_ENTRY_IDR,       /* H.264 IDR or H.265 IRAP (IDR, CRA, BLA): decodes alone */
    AU_ENTRY_RECOVERY,  /* H.264 recovery point SEI: decode forward from here until
                         * the decoder calls the picture recovered */
};

struct au_info {
    enum au_entry entry;
    bool has_params;            /* carries SPS (and VPS) in band */
    int recovery_frames;        /* recovery_frame_cnt of a recovery point SEI, -1 when
                                 * none (also set for H.265, where it is not an entry) */
    unsigned slices;            /* slice NAL units in the unit */
};

/* One access unit being gathered. Zero-initialise; free with au_buf_free. */
struct au_buf {
    uint8_t *data;
    size_t len, cap;
    enum au_codec codec;        /* set before use */
    size_t max;                 /* largest unit accepted (set before use) */
    int64_t pts;                /* the RTP timestamp all its packets share */
    unsigned packets;
    bool lossy;                 /* a loss was reported while it was gathered */
    bool overflow;              /* more than max bytes came: the unit is unusable */
    bool has_vcl;               /* holds a slice (not only parameter sets or SEI) */
    uint64_t loss_mark;         /* caller's loss counter when it began */
};

/* Appends one packet's payload (NAL units with start codes, or the
 * continuation of a fragmented one) and notes whether it starts a slice.
 * A unit past `max` bytes is kept marked
 * `overflow` (its data dropped) so that the caller skips it whole.
 * CS_NOMEM when the buffer cannot grow. */
enum cs_err au_buf_append(struct au_buf *b, const uint8_t *data, size_t len);

/* Empties the unit (keeps the allocation for the next one). */
void au_buf_clear(struct au_buf *b);

/* Frees the buffer; the struct may be reused after au_buf_clear. */
void au_buf_free(struct au_buf *b);

/* Classifies a complete access unit. Never fails: unknown or damaged
 * content is AU_ENTRY_NONE. */
void au_classify(enum au_codec codec, const uint8_t *data, size_t len, struct au_info *out);

/* Iterates the NAL units of an Annex B buffer: *pos starts at 0; returns
 * false at the end. *nal points at the NAL header byte, *nal_len spans to
 * the next start code (trailing zero bytes removed). */
bool au_next_nal(const uint8_t *data, size_t len, size_t *pos, const uint8_t **nal,
                 size_t *nal_len);

#endif
