/*
 * image.h - still images: JPEG encoding from decoder planes, validation of
 * JPEG bytes (complete, decodes, size).
 * Wraps libturbojpeg; nothing else includes turbojpeg.h.
 *
 * Knows nothing of cameras, files or the database.
 * Thread-safe: every call uses its own turbojpeg handle or a per-thread one.
 */
#ifndef CAMSNAP_IMAGE_H
#define CAMSNAP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "frame.h"

/* A heap buffer of JPEG bytes; free with image_buf_free. */
struct image_buf {
    uint8_t *data;
    size_t len;
};

/* Encodes a FRAME_YUV frame at quality 1..100 straight from its planes.
 * JPEG holds full-range BT.601 Y'CbCr: video-range and BT.709 planes are
 * converted first (range and matrix in one pass) - in place when
 * f->writable (the frame then holds the converted values and says so:
 * full_range, MATRIX_BT601), else into a temporary copy. *out owns the
 * result on CS_OK. Errors: CS_UNSUPPORTED (kind, subsampling), CS_NOMEM,
 * CS_BADFRAME. */
enum cs_err image_encode(struct frame *f, int quality, struct image_buf *out, char *err,
                         size_t errsz);

void image_buf_free(struct image_buf *b);

/* Cheap structural check: starts with SOI, ends with EOI (trailing zero
 * padding tolerated), header decodes; gives width/height. CS_BADFRAME with a
 * reason in err otherwise. */
enum cs_err image_check_jpeg(const uint8_t *data, size_t len, int *width, int *height, char *err,
                             size_t errsz);

/* Full check: image_check_jpeg, then decodes every scan (catches truncated
 * entropy data). Slower; used for files of unknown provenance. */
enum cs_err image_verify_jpeg(const uint8_t *data, size_t len, int *width, int *height,
                              char *err, size_t errsz);

/* Motion-JPEG frames often omit the Huffman tables (DHT) and rely on the
 * standard ones. If data has no DHT before its first SOS, *out gets a copy
 * with the standard tables inserted after SOI (taken from a JPEG libjpeg-turbo
 * encodes with its default tables); otherwise *out is left empty and
 * CS_OK returned. Caller frees out with image_buf_free. */
enum cs_err image_add_std_huffman(const uint8_t *data, size_t len, struct image_buf *out);

#endif
