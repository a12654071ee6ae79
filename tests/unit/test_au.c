/* test_au.c - access units of H.264/H.265: NAL iteration, entry points
 * (IDR / IRAP, recovery point SEI), the gathering buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "au.h"

#define SC 0, 0, 0, 1 /* 4-byte start code */
#define SC3 0, 0, 1   /* 3-byte start code */

/* H.264 pieces (NAL header first). */
#define SPS 0x67, 0x42, 0xC0, 0x1E, 0xD9
#define PPS 0x68, 0xCE, 0x3C, 0x80
#define IDR 0x65, 0x88, 0x84, 0x21, 0xA0
#define PSLICE 0x41, 0x9A, 0x22, 0x4C
/* SEI with a recovery point: type 6, size 2, recovery_frame_cnt = 5
 * (ue "00110"), exact_match 1, broken_link 0, changing_slice_group 00,
 * payload alignment, then rbsp_trailing_bits. */
#define SEI_RECOVERY5 0x06, 0x06, 0x02, 0x34, 0x40, 0x80

static void classify264(const uint8_t *d, size_t n, struct au_info *out)
{
    au_classify(AU_H264, d, n, out);
}

static void test_next_nal(void **state)
{
    const uint8_t d[] = {SC, 0x67, 1, 2, 0, 0, SC3, 0x68, 3, SC, 0x65, 0, 0, 3, 0, 9, 0, 0};
    const uint8_t *nal;
    size_t pos = 0, n;

    (void)state;
    assert_true(au_next_nal(d, sizeof(d), &pos, &nal, &n));
    assert_int_equal(nal[0], 0x67);
    assert_int_equal(n, 3); /* trailing zero bytes belong to no NAL */
    assert_true(au_next_nal(d, sizeof(d), &pos, &nal, &n));
    assert_int_equal(nal[0], 0x68);
    assert_int_equal(n, 2);
    assert_true(au_next_nal(d, sizeof(d), &pos, &nal, &n));
    assert_int_equal(nal[0], 0x65);
    assert_int_equal(n, 6); /* 00 00 03 inside a NAL is not a start code */
    assert_false(au_next_nal(d, sizeof(d), &pos, &nal, &n));

    pos = 0; /* nothing but zeros and start codes */
    const uint8_t empty[] = {0, 0, 0, 1, 0, 0, 1, 0};
    assert_false(au_next_nal(empty, sizeof(empty), &pos, &nal, &n));
    pos = 0;
    assert_false(au_next_nal(NULL, 0, &pos, &nal, &n));
}

/* The keyframe of a sliced encoder behind GStreamer's config-interval=-1:
 * SPS and PPS again before every slice. One picture, an IDR. */
static void test_h264_idr_with_repeated_parameter_sets(void **state)
{
    const uint8_t d[] = {SC, SPS, SC, PPS, SC, IDR, SC, SPS, SC, PPS, SC, IDR,
                         SC, SPS, SC, PPS, SC, IDR, SC, SPS, SC, PPS, SC, IDR};
    struct au_info in;

    (void)state;
    classify264(d, sizeof(d), &in);
    assert_int_equal(in.entry, AU_ENTRY_IDR);
    assert_int_equal(in.slices, 4);
    assert_true(in.has_params);
    assert_int_equal(in.recovery_frames, -1);
}

static void test_h264_non_entry(void **state)
{
    const uint8_t p[] = {SC, PSLICE, SC, PSLICE};
    const uint8_t params_only[] = {SC, SPS, SC, PPS};
    struct au_info in;

    (void)state;
    classify264(p, sizeof(p), &in);
    assert_int_equal(in.entry, AU_ENTRY_NONE);
    assert_int_equal(in.slices, 2);
    classify264(params_only, sizeof(params_only), &in);
    assert_int_equal(in.entry, AU_ENTRY_NONE);
    assert_int_equal(in.slices, 0);
    assert_true(in.has_params);
    classify264(NULL, 0, &in);
    assert_int_equal(in.entry, AU_ENTRY_NONE);
}

/* Intra refresh: no IDR, a recovery point SEI before a P picture. */
static void test_h264_recovery_point(void **state)
{
    const uint8_t d[] = {SC, SEI_RECOVERY5, SC, PSLICE};
    /* Another SEI message first (user data unregistered, 18 bytes, with an
     * emulation prevention byte inside), then the recovery point. */
    const uint8_t two[] = {SC, 0x06, 0x05, 0x12, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                           13, 14, 15, 16, 0x06, 0x02, 0x34, 0x40, 0x80, SC, PSLICE};
    /* cnt = 0 ("1"), flags 1000 then alignment: an open-GOP I picture. */
    const uint8_t zero[] = {SC, 0x06, 0x06, 0x01, 0xC4, 0x80, SC, PSLICE};
    /* A recovery point cut short: not an entry. */
    const uint8_t cut[] = {SC, 0x06, 0x06, 0x05, 0x00, SC, PSLICE};
    struct au_info in;

    (void)state;
    classify264(d, sizeof(d), &in);
    assert_int_equal(in.entry, AU_ENTRY_RECOVERY);
    assert_int_equal(in.recovery_frames, 5);
    classify264(two, sizeof(two), &in);
    assert_int_equal(in.entry, AU_ENTRY_RECOVERY);
    assert_int_equal(in.recovery_frames, 5);
    classify264(zero, sizeof(zero), &in);
    assert_int_equal(in.entry, AU_ENTRY_RECOVERY);
    assert_int_equal(in.recovery_frames, 0);
    classify264(cut, sizeof(cut), &in);
    assert_int_equal(in.entry, AU_ENTRY_NONE);
    /* An IDR with a recovery point SEI is an IDR. */
    const uint8_t idr[] = {SC, SEI_RECOVERY5, SC, IDR};
    classify264(idr, sizeof(idr), &in);
    assert_int_equal(in.entry, AU_ENTRY_IDR);
}

/* H.265: IRAP types 16..23 (IDR_W_RADL 19, CRA 21), base layer only. */
static void test_h265(void **state)
{
    const uint8_t idr[] = {SC, 0x40, 0x01, 1, SC, 0x42, 0x01, 2, SC, 0x44, 0x01, 3,
                           SC, 0x26, 0x01, 0xAF, SC, 0x42, 0x01, 2, SC, 0x44, 0x01, 3,
                           SC, 0x26, 0x01, 0x80};
    const uint8_t cra[] = {SC, 0x2A, 0x01, 0xAF, 0x10};
    const uint8_t trail[] = {SC, 0x02, 0x01, 0xD0};
    const uint8_t mixed[] = {SC, 0x26, 0x01, 0xAF, SC, 0x02, 0x01, 0xD0};
    /* An IRAP slice of layer 1 only does not make a base-layer picture. */
    const uint8_t layer1[] = {SC, 0x26, 0x09, 0xAF};
    const uint8_t sei[] = {SC, 0x4E, 0x01, 0x06, 0x02, 0x34, 0x40, 0x80, SC, 0x02, 0x01, 0xD0};
    struct au_info in;

    (void)state;
    au_classify(AU_H265, idr, sizeof(idr), &in);
    assert_int_equal(in.entry, AU_ENTRY_IDR);
    assert_int_equal(in.slices, 2);
    assert_true(in.has_params);
    au_classify(AU_H265, cra, sizeof(cra), &in);
    assert_int_equal(in.entry, AU_ENTRY_IDR);
    au_classify(AU_H265, trail, sizeof(trail), &in);
    assert_int_equal(in.entry, AU_ENTRY_NONE);
    au_classify(AU_H265, mixed, sizeof(mixed), &in);
    assert_int_equal(in.entry, AU_ENTRY_NONE);
    au_classify(AU_H265, layer1, sizeof(layer1), &in);
    assert_int_equal(in.entry, AU_ENTRY_NONE);
    assert_int_equal(in.slices, 0);
    /* The recovery point is read but is not an entry for H.265: FFmpeg's
     * decoder would show the refresh wave's grey half. */
    au_classify(AU_H265, sei, sizeof(sei), &in);
    assert_int_equal(in.entry, AU_ENTRY_NONE);
    assert_int_equal(in.recovery_frames, 5);
}

static void test_buf(void **state)
{
    struct au_buf b = {.codec = AU_H264, .max = 18};
    const uint8_t params[] = {SC3, 0x67, 1, SC3, 0x68, 2};
    const uint8_t slice_start[] = {SC3, 0x65, 9};
    const uint8_t continuation[] = {7, 7, 7};

    (void)state;
    assert_int_equal(au_buf_append(&b, params, sizeof(params)), CS_OK);
    assert_false(b.has_vcl);
    assert_int_equal(au_buf_append(&b, slice_start, sizeof(slice_start)), CS_OK);
    assert_true(b.has_vcl);
    assert_int_equal(b.len, sizeof(params) + sizeof(slice_start));
    assert_memory_equal(b.data + sizeof(params), slice_start, sizeof(slice_start));
    assert_int_equal(b.packets, 2);
    /* Past max: the unit is marked, its data dropped, packets still counted. */
    assert_int_equal(au_buf_append(&b, continuation, sizeof(continuation)), CS_OK);
    assert_false(b.overflow);
    assert_int_equal(au_buf_append(&b, continuation, sizeof(continuation)), CS_OK);
    assert_true(b.overflow);
    assert_int_equal(b.len, 0);
    assert_int_equal(au_buf_append(&b, continuation, sizeof(continuation)), CS_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.packets, 5);
    au_buf_clear(&b);
    assert_false(b.overflow || b.has_vcl || b.lossy);
    assert_int_equal(b.len + b.packets, 0);
    assert_int_equal(au_buf_append(&b, slice_start, sizeof(slice_start)), CS_OK);
    assert_true(b.has_vcl);
    au_buf_free(&b);
    assert_null(b.data);

    /* H.265 VCL detection: TRAIL_R is a slice, VPS is not. */
    struct au_buf h = {.codec = AU_H265, .max = 64};
    const uint8_t vps[] = {SC3, 0x40, 0x01, 5};
    const uint8_t trail[] = {SC3, 0x02, 0x01, 5};
    assert_int_equal(au_buf_append(&h, vps, sizeof(vps)), CS_OK);
    assert_false(h.has_vcl);
    assert_int_equal(au_buf_append(&h, trail, sizeof(trail)), CS_OK);
    assert_true(h.has_vcl);
    au_buf_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_nal),
        cmocka_unit_test(test_h264_idr_with_repeated_parameter_sets),
        cmocka_unit_test(test_h264_non_entry),
        cmocka_unit_test(test_h264_recovery_point),
        cmocka_unit_test(test_h265),
        cmocka_unit_test(test_buf),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
