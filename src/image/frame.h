/*
 * frame.h - one picture as a source hands it over: decoded Y'CbCr planes to
 * be encoded, or a JPEG that is one already. Plain data; who owns the bytes
 * is said where a frame is handed out (source.h: borrowed from the source).
 */
#ifndef CAMSNAP_FRAME_H
#define CAMSNAP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum frame_kind {
    FRAME_YUV,   /* planar YUV planes, to be encoded */
    FRAME_JPEG,  /* a complete, validated JPEG already */
};

enum frame_subsamp { SUBSAMP_420, SUBSAMP_422, SUBSAMP_444, SUBSAMP_GRAY };

/* The Y'CbCr matrix of FRAME_YUV planes (JPEG itself is BT.601). */
enum frame_matrix { MATRIX_BT601, MATRIX_BT709 };

/* A frame borrowed from its source: valid until the next source_grab() or
 * source_close() on the same source. */
struct frame {
    enum frame_kind kind;
    int width, height;
    /* FRAME_YUV */
    uint8_t *planes[3];         /* read-only unless `writable` */
    int strides[3];
    enum frame_subsamp subsamp;
    bool full_range;            /* JPEG (0-255) range; false: video range */
    enum frame_matrix matrix;
    bool writable;              /* the planes belong to this frame alone: the encoder may
                                 * convert them in place instead of copying */
    /* FRAME_JPEG */
    const uint8_t *data;
    size_t len;
};

#endif
