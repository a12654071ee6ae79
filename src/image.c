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

/* Expands video-range planes (Y 16..235, C 16..240) to full range into one
 * buffer laid out plane after plane; returns NULL on allocation failure. */
static uint8_t *expand_range(const struct frame *f, int tjs, const uint8_t *planes[3],
                             int strides[3])
{
    uint8_t lut_y[256], lut_c[256];
    int nplanes = tjs == TJSAMP_GRAY ? 1 : 3;
    size_t total = 0, off = 0;
    uint8_t *buf;

    for (int i = 0; i < 256; i++) {
        int y = ((i - 16) * 255 + 109) / 219;
        int c = ((i - 128) * 255) / 224 + 128;
        lut_y[i] = (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
        lut_c[i] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
    }
    for (int p = 0; p < nplanes; p++)
        total += (size_t)tjPlaneWidth(p, f->width, tjs) * (size_t)tjPlaneHeight(p, f->height, tjs);
    buf = malloc(total);
    if (!buf)
        return NULL;
    for (int p = 0; p < nplanes; p++) {
        int pw = tjPlaneWidth(p, f->width, tjs), ph = tjPlaneHeight(p, f->height, tjs);
        const uint8_t *lut = p == 0 ? lut_y : lut_c;
        for (int y = 0; y < ph; y++) {
            const uint8_t *src = f->planes[p] + (size_t)y * (size_t)f->strides[p];
            uint8_t *dst = buf + off + (size_t)y * (size_t)pw;
            for (int x = 0; x < pw; x++)
                dst[x] = lut[src[x]];
        }
        planes[p] = buf + off;
        strides[p] = pw;
        off += (size_t)pw * (size_t)ph;
    }
    return buf;
}

enum cs_err image_encode(const struct frame *f, int quality, struct image_buf *out, char *err,
                         size_t errsz)
{
    int tjs = tj_subsamp(f->subsamp);
    const uint8_t *planes[3] = {f->planes[0], f->planes[1], f->planes[2]};
    int strides[3] = {f->strides[0], f->strides[1], f->strides[2]};
    uint8_t *expanded = NULL;
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
    if (!f->full_range && !(expanded = expand_range(f, tjs, planes, strides)))
        return CS_NOMEM;
    h = tjInitCompress();
    if (!h) {
        set_err(err, errsz, "JPEG encoder", NULL);
        rc = CS_NOMEM;
        goto out_free;
    }
    if (tjCompressFromYUVPlanes(h, planes, f->width, strides, f->height, tjs, &jpeg, &jpeg_len,
                                quality, 0) != 0) {
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
    free(expanded);
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
