/*
 * au.c - access units of H.264/H.265 and their entry points (see au.h).
 *
 * The only bitstream syntax read here is what tells an entry point apart:
 * the NAL unit header, the slice type of H.264 slices (first_mb_in_slice,
 * slice_type: two Exp-Golomb codes right after the header) and the payload
 * types of SEI messages (recovery point = 6). Everything else is left to
 * FFmpeg's parser and decoder.
 */
#include "au.h"

#include <stdlib.h>
#include <string.h>

enum {
    H264_SLICE = 1,
    H264_IDR = 5,
    H264_SEI = 6,
    H264_SPS = 7,
    H265_IRAP_FIRST = 16, /* BLA_W_LP */
    H265_IRAP_LAST = 23,  /* RSV_IRAP_VCL23 */
    H265_VCL_LAST = 31,
    H265_VPS = 32,
    H265_SPS = 33,
    H265_PREFIX_SEI = 39,
    SEI_RECOVERY_POINT = 6,
};

/* ---- buffer ------------------------------------------------------------ */

static bool is_vcl(enum au_codec codec, const uint8_t *nal, size_t n)
{
    unsigned type;

    if (codec == AU_H264) {
        type = nal[0] & 0x1Fu;
        return type >= H264_SLICE && type <= H264_IDR;
    }
    if (n < 2 || (nal[0] & 1u) || (nal[1] >> 3))
        return false; /* not the base layer */
    type = (nal[0] >> 1) & 0x3Fu;
    return type <= H265_VCL_LAST;
}

static bool has_vcl(enum au_codec codec, const uint8_t *data, size_t len)
{
    const uint8_t *nal;
    size_t pos = 0, n;

    while (au_next_nal(data, len, &pos, &nal, &n))
        if (is_vcl(codec, nal, n))
            return true;
    return false;
}

enum cs_err au_buf_append(struct au_buf *b, const uint8_t *data, size_t len)
{
    b->packets++;
    if (!b->has_vcl)
        b->has_vcl = has_vcl(b->codec, data, len);
    if (b->overflow)
        return CS_OK;
    if (len > b->max || b->len > b->max - len) {
        b->overflow = true;
        b->len = 0;
        return CS_OK;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        uint8_t *nd;
        while (cap < b->len + len)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        if (!(nd = realloc(b->data, cap)))
            return CS_NOMEM;
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return CS_OK;
}

void au_buf_clear(struct au_buf *b)
{
    b->len = 0;
    b->packets = 0;
    b->lossy = false;
    b->overflow = false;
    b->has_vcl = false;
}

void au_buf_free(struct au_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    au_buf_clear(b);
}

/* ---- NAL units ------------------------------------------------------------- */

/* Offset of the next 00 00 01 at or after `from`, or len. */
static size_t find_start(const uint8_t *d, size_t len, size_t from)
{
    for (size_t i = from; i + 2 < len; i++) {
        if (d[i + 2] > 1) {
            i += 2; /* no start code can cover d[i + 2] */
            continue;
        }
        if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1)
            return i;
    }
    return len;
}

bool au_next_nal(const uint8_t *data, size_t len, size_t *pos, const uint8_t **nal,
                 size_t *nal_len)
{
    size_t s = find_start(data, len, *pos), begin, end;

    if (s >= len)
        return false;
    begin = s + 3;
    end = find_start(data, len, begin);
    *pos = end;
    while (end > begin && data[end - 1] == 0)
        end--;
    if (end == begin)
        return au_next_nal(data, len, pos, nal, nal_len);
    *nal = data + begin;
    *nal_len = end - begin;
    return true;
}

/* ---- RBSP bits (emulation prevention bytes skipped) ------------------------ */

struct bits {
    const uint8_t *p;
    size_t len, byte; /* byte: index of the current byte in p */
    int bit;          /* next bit in the current byte, 7 = most significant */
    unsigned zeros;   /* consecutive zero bytes just read */
    bool end;
};

static void bits_init(struct bits *b, const uint8_t *p, size_t len)
{
    *b = (struct bits){.p = p, .len = len, .bit = 7};
}

/* Moves to the next byte of the RBSP, dropping an emulation prevention
 * 0x03 that follows two zero bytes. */
static void bits_next_byte(struct bits *b)
{
    b->zeros = b->p[b->byte] == 0 ? b->zeros + 1 : 0;
    b->byte++;
    b->bit = 7;
    if (b->byte < b->len && b->zeros >= 2 && b->p[b->byte] == 3) {
        b->byte++;
        b->zeros = 0;
    }
}

static unsigned bits_read1(struct bits *b)
{
    unsigned v;

    if (b->byte >= b->len) {
        b->end = true;
        return 0;
    }
    v = (b->p[b->byte] >> b->bit) & 1u;
    if (b->bit-- == 0)
        bits_next_byte(b);
    return v;
}

/* ue(v); values past 2^31 (more than 31 leading zeros) set end. */
static uint32_t bits_ue(struct bits *b)
{
    int zeros = 0;
    uint32_t v = 0;

    while (!b->end && bits_read1(b) == 0) {
        if (++zeros > 31) {
            b->end = true;
            return 0;
        }
    }
    for (int i = 0; i < zeros; i++)
        v = (v << 1) | bits_read1(b);
    return (uint32_t)((1ull << zeros) - 1 + v);
}

/* A whole byte from a byte-aligned position. */
static unsigned bits_byte(struct bits *b)
{
    unsigned v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 1) | bits_read1(b);
    return v;
}

/* True while more SEI messages may follow (not at rbsp_trailing_bits). */
static bool bits_more_rbsp(const struct bits *b)
{
    if (b->end || b->byte >= b->len)
        return false;
    /* The last byte of the RBSP is the 0x80 stop bit (plus alignment). */
    return !(b->byte + 1 == b->len && b->p[b->byte] == 0x80);
}

/* Reads the sei_message()s of an SEI RBSP (after the NAL header) and
 * returns the recovery_frame_cnt of a recovery point, or -1. */
static int sei_recovery(const uint8_t *rbsp, size_t len)
{
    struct bits b;

    bits_init(&b, rbsp, len);
    while (bits_more_rbsp(&b)) {
        unsigned type = 0, size = 0, v;
        while ((v = bits_byte(&b)) == 0xFF && !b.end)
            type += 255;
        type += v;
        while ((v = bits_byte(&b)) == 0xFF && !b.end)
            size += 255;
        size += v;
        if (b.end)
            return -1;
        if (type == SEI_RECOVERY_POINT) {
            uint32_t cnt = bits_ue(&b);
            return b.end || cnt > 65535 ? -1 : (int)cnt;
        }
        for (unsigned i = 0; i < size && !b.end; i++)
            bits_byte(&b);
    }
    return -1;
}

/* ---- classification ------------------------------------------------------ */

static void classify_h264(const uint8_t *data, size_t len, struct au_info *out)
{
    const uint8_t *nal;
    size_t pos = 0, n;
    bool idr = false;

    while (au_next_nal(data, len, &pos, &nal, &n)) {
        unsigned type = nal[0] & 0x1Fu;
        if (type == H264_SPS)
            out->has_params = true;
        else if (type == H264_SEI && n > 1 && out->recovery_frames < 0)
            out->recovery_frames = sei_recovery(nal + 1, n - 1);
        else if (type == H264_IDR || type == H264_SLICE) {
            out->slices++;
            idr = idr || type == H264_IDR;
        }
    }
    if (out->slices == 0)
        return;
    if (idr)
        out->entry = AU_ENTRY_IDR;
    else if (out->recovery_frames >= 0)
        out->entry = AU_ENTRY_RECOVERY;
}

static void classify_h265(const uint8_t *data, size_t len, struct au_info *out)
{
    const uint8_t *nal;
    size_t pos = 0, n;
    bool irap = false, other = false;

    while (au_next_nal(data, len, &pos, &nal, &n)) {
        unsigned type, layer;
        if (n < 2)
            continue;
        type = (nal[0] >> 1) & 0x3Fu;
        layer = ((nal[0] & 1u) << 5) | (nal[1] >> 3);
        if (layer != 0)
            continue; /* only the base layer makes the still */
        if (type == H265_SPS || type == H265_VPS)
            out->has_params = true;
        else if (type == H265_PREFIX_SEI && n > 2 && out->recovery_frames < 0)
            out->recovery_frames = sei_recovery(nal + 2, n - 2);
        else if (type <= H265_VCL_LAST) {
            out->slices++;
            if (type >= H265_IRAP_FIRST && type <= H265_IRAP_LAST)
                irap = true;
            else
                other = true;
        }
    }
    /* All VCL units of one picture share the type; a mix is damage. */
    if (irap && !other)
        out->entry = AU_ENTRY_IDR;
}

void au_classify(enum au_codec codec, const uint8_t *data, size_t len, struct au_info *out)
{
    *out = (struct au_info){.entry = AU_ENTRY_NONE, .recovery_frames = -1};
    if (!data || len == 0)
        return;
    if (codec == AU_H264)
        classify_h264(data, len, out);
    else
        classify_h265(data, len, out);
}
