#include "image.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

static void set_err(char *err, size_t errsz, const char *what, tjhandle h)
{
    if (err && errsz)
        snprintf(err, errsz, "%s: %s", what, h ? tjGetErrorStr2(h) : "turbojpeg init failed");
}

static int tj_subsamp(enum frame_subsamp s)
{
    switch (s) {
    case SUBSAMP_420: return TJSAMP_420;
    case SUBSAMP_422: return TJSAMP_422;
    case SUBSAMP_444: return TJSAMP_444;
    case SUBSAMP_GRAY: return TJSAMP_GRAY;
    }
    return -1;
}

/* ---- to JFIF Y'CbCr -------------------------------------------------------

JPEG (JFIF) holds full-range BT.601 Y'CbCr. Cameras send video range and,
in HD, often the BT.709 matrix. Both are linear maps of (Y', Cb, Cr), so one
conversion does both: with y, cb, cr the full-scale values centred on 0,
    Y'' = y + a_cb cb + a_cr cr     Cb'' = b_cb cb + b_cr cr     Cr'' = c_cb cb + c_cr cr
(for BT.601 input a = 0, b_cr = c_cb = 0, b_cb = c_cr = 1: range only).
Chroma does not depend on luma, so the luma plane is converted first, from
the chroma as it was, then the chroma planes; in place when the frame is
ours alone, else into one new buffer. 16.16 fixed point, through tables. */

struct yuv_lut {
    int32_t y[256], y_cb[256], y_cr[256];  /* Y'' = (y + y_cb + y_cr) >> 16 */
    int32_t b_cb[256], b_cr[256];           /* Cb'' */
    int32_t r_cb[256], r_cr[256];           /* Cr'' */
};

/* Coefficients of the BT.709 -> BT.601 Y'CbCr map (derived through R'G'B'). */
static void matrix_709_to_601(double m[3][3])
{
    const double kr7 = 0.2126, kb7 = 0.0722, kr6 = 0.299, kb6 = 0.114;
    double in[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}; /* y, cb, cr basis */

    for (int j = 0; j < 3; j++) {
        double y = in[j][0], cb = in[j][1], cr = in[j][2];
        double r = y + 2 * (1 - kr7) * cr, b = y + 2 * (1 - kb7) * cb;
        double g = (y - kr7 * r - kb7 * b) / (1 - kr7 - kb7);
        double y6 = kr6 * r + (1 - kr6 - kb6) * g + kb6 * b;
        m[0][j] = y6;
        m[1][j] = (b - y6) / (2 * (1 - kb6));
        m[2][j] = (r - y6) / (2 * (1 - kr6));
    }
}

static int32_t fx(double v)
{
    return (int32_t)(v * 65536.0 + (v < 0 ? -0.5 : 0.5));
}

static void build_lut(const struct frame *f, struct yuv_lut *l)
{
    double m[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};

    if (f->matrix == MATRIX_BT709)
        matrix_709_to_601(m);
    for (int i = 0; i < 256; i++) {
        double y = f->full_range ? i : (i - 16) * 255.0 / 219.0;
        double c = f->full_range ? i - 128 : (i - 128) * 255.0 / 224.0;
        l->y[i] = fx(m[0][0] * y) + (1 << 15);
        l->y_cb[i] = fx(m[0][1] * c);
        l->y_cr[i] = fx(m[0][2] * c);
        l->b_cb[i] = fx(m[1][1] * c) + fx(128) + (1 << 15);
        l->b_cr[i] = fx(m[1][2] * c);
        l->r_cb[i] = fx(m[2][1] * c) + fx(128) + (1 << 15);
        l->r_cr[i] = fx(m[2][2] * c);
    }
}

static uint8_t clamp8(int32_t v)
{
    v >>= 16;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Converts f's planes into dst (which may be f->planes: in place). */
static void convert_planes(const struct frame *f, int tjs, uint8_t *dst[3], const int dstride[3])
{
    struct yuv_lut l;
    int cw = tjPlaneWidth(1, f->width, tjs), ch = tjPlaneHeight(1, f->height, tjs);
    int sx = 0, sy = 0;

    build_lut(f, &l);
    if (tjs != TJSAMP_GRAY) {
        sx = cw < f->width ? 1 : 0;
        sy = ch < f->height ? 1 : 0;
    }
    for (int y = 0; y < f->height; y++) {
        const uint8_t *src = f->planes[0] + (size_t)y * (size_t)f->strides[0];
        uint8_t *out = dst[0] + (size_t)y * (size_t)dstride[0];
        if (tjs == TJSAMP_GRAY) {
            for (int x = 0; x < f->width; x++)
                out[x] = clamp8(l.y[src[x]]);
            continue;
        }
        const uint8_t *cb = f->planes[1] + (size_t)(y >> sy) * (size_t)f->strides[1];
        const uint8_t *cr = f->planes[2] + (size_t)(y >> sy) * (size_t)f->strides[2];
        for (int x = 0; x < f->width; x++)
            out[x] = clamp8(l.y[src[x]] + l.y_cb[cb[x >> sx]] + l.y_cr[cr[x >> sx]]);
    }
    if (tjs == TJSAMP_GRAY)
        return;
    for (int y = 0; y < ch; y++) {
        const uint8_t *cb = f->planes[1] + (size_t)y * (size_t)f->strides[1];
        const uint8_t *cr = f->planes[2] + (size_t)y * (size_t)f->strides[2];
        uint8_t *ob = dst[1] + (size_t)y * (size_t)dstride[1];
        uint8_t *ocr = dst[2] + (size_t)y * (size_t)dstride[2];
        for (int x = 0; x < cw; x++) {
            uint8_t b = cb[x], r = cr[x];
            ob[x] = clamp8(l.b_cb[b] + l.b_cr[r]);
            ocr[x] = clamp8(l.r_cb[b] + l.r_cr[r]);
        }
    }
}

/* Points planes/strides at JFIF data for f: f's own planes when nothing is
 * to convert or they may be converted in place, else a new buffer
 * returned in *copy (free it). */
static enum cs_err to_jfif(struct frame *f, int tjs, uint8_t *planes[3], int strides[3],
                           uint8_t **copy)
{
    int nplanes = tjs == TJSAMP_GRAY ? 1 : 3;
    size_t total = 0, off = 0;

    *copy = NULL;
    for (int p = 0; p < 3; p++) {
        planes[p] = f->planes[p];
        strides[p] = f->strides[p];
    }
    if (f->full_range && f->matrix == MATRIX_BT601)
        return CS_OK;
    if (f->writable) {
        convert_planes(f, tjs, planes, strides);
        f->full_range = true; /* the planes now hold JFIF values */
        f->matrix = MATRIX_BT601;
        return CS_OK;
    }
    for (int p = 0; p < nplanes; p++)
        total += (size_t)tjPlaneWidth(p, f->width, tjs) * (size_t)tjPlaneHeight(p, f->height, tjs);
    if (!(*copy = malloc(total)))
        return CS_NOMEM;
    for (int p = 0; p < nplanes; p++) {
        planes[p] = *copy + off;
        strides[p] = tjPlaneWidth(p, f->width, tjs);
        off += (size_t)strides[p] * (size_t)tjPlaneHeight(p, f->height, tjs);
    }
    convert_planes(f, tjs, planes, strides);
    return CS_OK;
}

enum cs_err image_encode(struct frame *f, int quality, struct image_buf *out, char *err,
                         size_t errsz)
{
    int tjs = tj_subsamp(f->subsamp);
    uint8_t *planes[3];
    int strides[3];
    uint8_t *copy = NULL;
    unsigned char *jpeg = NULL;
    unsigned long jpeg_len = 0;
    enum cs_err rc = CS_OK;
    tjhandle h;

    out->data = NULL;
    out->len = 0;
    if (f->kind != FRAME_YUV || tjs < 0 || f->width <= 0 || f->height <= 0) {
        if (err)
            snprintf(err, errsz, "cannot encode this frame (kind %d, %dx%d)", (int)f->kind,
                     f->width, f->height);
        return CS_UNSUPPORTED;
    }
    if ((rc = to_jfif(f, tjs, planes, strides, &copy))) {
        if (err)
            snprintf(err, errsz, "out of memory converting a %dx%d picture", f->width,
                     f->height);
        return rc;
    }
    h = tjInitCompress();
    if (!h) {
        set_err(err, errsz, "JPEG encoder", NULL);
        rc = CS_NOMEM;
        goto out_free;
    }
    if (tjCompressFromYUVPlanes(h, (const unsigned char **)planes, f->width, strides, f->height,
                                tjs, &jpeg, &jpeg_len, quality, 0) != 0) {
        set_err(err, errsz, "JPEG encoding", h);
        tjFree(jpeg);
        rc = CS_BADFRAME;
        goto out_destroy;
    }
    out->data = jpeg;
    out->len = jpeg_len;
out_destroy:
    tjDestroy(h);
out_free:
    free(copy);
    return rc;
}

void image_buf_free(struct image_buf *b)
{
    if (!b)
        return;
    tjFree(b->data);
    b->data = NULL;
    b->len = 0;
}

static enum cs_err bad(char *err, size_t errsz, const char *why)
{
    if (err && errsz)
        snprintf(err, errsz, "%s", why);
    return CS_BADFRAME;
}

enum cs_err image_check_jpeg(const uint8_t *data, size_t len, int *width, int *height, char *err,
                             size_t errsz)
{
    int w = 0, h = 0, ss, cs;
    size_t end = len;
    tjhandle th;

    if (len < 4 || data[0] != 0xFF || data[1] != 0xD8)
        return bad(err, errsz, len ? "not a JPEG (no start-of-image marker)" : "empty image");
    while (end > 2 && data[end - 1] == 0)
        end--;
    if (data[end - 2] != 0xFF || data[end - 1] != 0xD9)
        return bad(err, errsz, "truncated JPEG (no end-of-image marker)");
    th = tjInitDecompress();
    if (!th)
        return CS_NOMEM;
    if (tjDecompressHeader3(th, data, (unsigned long)len, &w, &h, &ss, &cs) != 0) {
        set_err(err, errsz, "JPEG header does not decode", th);
        tjDestroy(th);
        return CS_BADFRAME;
    }
    tjDestroy(th);
    /* A tables-only datastream (no SOF) "decodes" without setting w, h. */
    if (w <= 0 || h <= 0)
        return bad(err, errsz, "JPEG has no image (no frame header, 0x0)");
    if (width)
        *width = w;
    if (height)
        *height = h;
    return CS_OK;
}

/* True when the frame header (SOF) before the first scan is arithmetic-coded.
 * Walks the markers as libjpeg does: fill bytes, RSTn/TEM without a length,
 * a length below 2 skipped as 2. */
static bool is_arithmetic(const uint8_t *d, size_t len)
{
    size_t i = 2;

    while (i + 4 <= len && d[i] == 0xFF) {
        uint8_t mk = d[i + 1];
        size_t seglen = ((size_t)d[i + 2] << 8) | d[i + 3];

        if (mk == 0xFF || mk == 0x01 || (mk >= 0xD0 && mk <= 0xD7)) {
            i += mk == 0xFF ? 1 : 2;
            continue;
        }
        if (mk == 0xDA)
            return false;
        if (mk >= 0xC9 && mk <= 0xCF && mk != 0xCC)
            return true;
        i += 2 + (seglen < 2 ? 2 : seglen);
    }
    return false;
}

enum cs_err image_verify_jpeg(const uint8_t *data, size_t len, int *width, int *height,
                              char *err, size_t errsz)
{
    static const tjscalingfactor eighth = {1, 8};
    int w, h, sw, sh;
    enum cs_err rc = image_check_jpeg(data, len, &w, &h, err, errsz);
    uint8_t *pix;
    tjhandle th;

    if (rc)
        return rc;
    /* libjpeg-turbo pads a short arithmetic-coded scan with zeros without a
     * warning, so a few hundred bytes claiming 65535x65535 get decoded in
     * full: seconds of CPU, gigabytes for a progressive one. Cameras and
     * browsers use Huffman coding only. */
    if (is_arithmetic(data, len))
        return bad(err, errsz, "arithmetic-coded JPEG (not supported)");
    /* Decoding at 1/8 scale still entropy-decodes every scan (what this
     * check is for) into a buffer 64 times smaller: a header claiming
     * 65535x65535 must not cost 4 GB. */
    sw = TJSCALED(w, eighth);
    sh = TJSCALED(h, eighth);
    pix = malloc((size_t)sw * (size_t)sh);
    if (!pix)
        return CS_NOMEM;
    th = tjInitDecompress();
    if (!th) {
        free(pix);
        return CS_NOMEM;
    }
    if (tjDecompress2(th, data, (unsigned long)len, pix, sw, 0, sh, TJPF_GRAY,
                      TJFLAG_STOPONWARNING) != 0) {
        set_err(err, errsz, "JPEG data does not decode", th);
        rc = CS_BADFRAME;
    }
    tjDestroy(th);
    free(pix);
    if (!rc && width)
        *width = w;
    if (!rc && height)
        *height = h;
    return rc;
}

/* Finds the first marker `m` before SOS; returns its offset or 0. Sets
 * *sos to the offset of SOS (0 if none). */
static size_t find_marker(const uint8_t *d, size_t len, uint8_t m, size_t *sos)
{
    size_t i = 2;

    *sos = 0;
    while (i + 4 <= len && d[i] == 0xFF) {
        uint8_t mk = d[i + 1];
        size_t seglen = ((size_t)d[i + 2] << 8) | d[i + 3];
        if (mk == 0xDA) {
            *sos = i;
            return 0;
        }
        if (mk == m)
            return i;
        i += 2 + seglen;
    }
    return 0;
}

/* Copies every DHT segment of a tiny JPEG encoded with default tables. */
static enum cs_err std_tables(uint8_t *out, size_t outsz, size_t *outlen)
{
    uint8_t pix[16 * 16 * 3] = {0};
    unsigned char *jpeg = NULL;
    unsigned long jlen = 0;
    size_t i = 2, n = 0;
    tjhandle h = tjInitCompress();

    if (!h)
        return CS_NOMEM;
    if (tjCompress2(h, pix, 16, 0, 16, TJPF_RGB, &jpeg, &jlen, TJSAMP_420, 75, 0) != 0) {
        tjDestroy(h);
        return CS_BADFRAME;
    }
    while (i + 4 <= jlen && jpeg[i] == 0xFF && jpeg[i + 1] != 0xDA) {
        size_t seg = 2 + (((size_t)jpeg[i + 2] << 8) | jpeg[i + 3]);
        if (jpeg[i + 1] == 0xC4 && n + seg <= outsz) {
            memcpy(out + n, jpeg + i, seg);
            n += seg;
        }
        i += seg;
    }
    tjFree(jpeg);
    tjDestroy(h);
    *outlen = n;
    return n ? CS_OK : CS_BADFRAME;
}

enum cs_err image_add_std_huffman(const uint8_t *data, size_t len, struct image_buf *out)
{
    uint8_t tables[1024];
    size_t sos, tlen;
    enum cs_err rc;

    out->data = NULL;
    out->len = 0;
    if (len < 4 || find_marker(data, len, 0xC4, &sos) || !sos)
        return CS_OK; /* has tables, or no scan to fix */
    if ((rc = std_tables(tables, sizeof(tables), &tlen)))
        return rc;
    if (!(out->data = tjAlloc((int)(len + tlen))))
        return CS_NOMEM;
    memcpy(out->data, data, 2);
    memcpy(out->data + 2, tables, tlen);
    memcpy(out->data + 2 + tlen, data + 2, len - 2);
    out->len = len + tlen;
    return CS_OK;
}
