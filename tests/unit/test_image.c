/* test_image.c - JPEG encoding from planes, validation, Huffman repair,
 * and the synthetic source's pattern (real libturbojpeg throughout). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "clock.h"
#include "image.h"
#include "source.h"

static struct camera_config synth_cam(const char *url)
{
    struct camera_config cam = {
        .name = "demo1",
        .url = (char *)url,
        .connect_timeout_ms = 5000,
        .read_timeout_ms = 5000,
        .deadline_ms = 15000,
        .enabled = true,
    };
    return cam;
}

/* Grabs and encodes one synthetic frame. */
static void synth_jpeg(const char *url, struct image_buf *out)
{
    struct camera_config cam = synth_cam(url);
    struct source *src;
    struct frame f;
    char err[256];

    assert_int_equal(source_open(&cam, NULL, clock_mono_ms() + 5000, &src, err, sizeof(err)), CS_OK);
    assert_int_equal(source_grab(src, clock_mono_ms() + 5000, &f, err, sizeof(err)), CS_OK);
    assert_int_equal(f.kind, FRAME_YUV);
    assert_int_equal(image_encode(&f, 90, out, err, sizeof(err)), CS_OK);
    source_close(src);
}

/* Decodes to RGB and returns the mean colour of a small patch. */
static void patch_rgb(const struct image_buf *j, int x, int y, int rgb[3])
{
    int w, h, ss, cs;
    tjhandle th = tjInitDecompress();
    uint8_t *pix;
    long sum[3] = {0};

    assert_int_equal(tjDecompressHeader3(th, j->data, j->len, &w, &h, &ss, &cs), 0);
    pix = malloc((size_t)w * h * 3);
    assert_int_equal(tjDecompress2(th, j->data, j->len, pix, w, 0, h, TJPF_RGB, 0), 0);
    for (int dy = 0; dy < 8; dy++)
        for (int dx = 0; dx < 8; dx++)
            for (int c = 0; c < 3; c++)
                sum[c] += pix[((size_t)(y + dy) * w + x + dx) * 3 + c];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)(sum[c] / 64);
    free(pix);
    tjDestroy(th);
}

static void encodes_synthetic_bars(void **state)
{
    static const int expect[8][3] = {{255, 255, 255}, {255, 255, 0}, {0, 255, 255},
                                     {0, 255, 0},     {255, 0, 255}, {255, 0, 0},
                                     {0, 0, 255},     {0, 0, 0}};
    struct image_buf j;
    int w, h, rgb[3];
    char err[256];

    (void)state;
    synth_jpeg("synthetic://640x360", &j);
    assert_int_equal(image_verify_jpeg(j.data, j.len, &w, &h, err, sizeof(err)), CS_OK);
    assert_int_equal(w, 640);
    assert_int_equal(h, 360);
    for (int b = 0; b < 8; b++) {
        patch_rgb(&j, b * 80 + 36, 100, rgb);
        for (int c = 0; c < 3; c++)
            assert_in_range(rgb[c], expect[b][c] - 12 < 0 ? 0 : expect[b][c] - 12,
                            expect[b][c] + 12 > 255 ? 255 : expect[b][c] + 12);
    }
    image_buf_free(&j);
}

static void rejects_bad_jpegs(void **state)
{
    struct image_buf j;
    char err[256];
    int w, h;

    (void)state;
    synth_jpeg("synthetic://320x240", &j);
    assert_int_equal(image_check_jpeg((const uint8_t *)"GIF89a....", 10, &w, &h, err, sizeof(err)),
                     CS_BADFRAME);
    assert_non_null(strstr(err, "not a JPEG"));
    assert_int_equal(image_check_jpeg(j.data, 0, &w, &h, err, sizeof(err)), CS_BADFRAME);
    assert_int_equal(image_check_jpeg(j.data, j.len / 2, &w, &h, err, sizeof(err)), CS_BADFRAME);
    assert_non_null(strstr(err, "truncated"));
    /* Cut in the middle but with an EOI glued on: only a full decode sees it. */
    {
        size_t cut = j.len / 2;
        uint8_t *t = malloc(cut + 2);
        memcpy(t, j.data, cut);
        t[cut] = 0xFF;
        t[cut + 1] = 0xD9;
        assert_int_equal(image_check_jpeg(t, cut + 2, &w, &h, err, sizeof(err)), CS_OK);
        assert_int_equal(image_verify_jpeg(t, cut + 2, &w, &h, err, sizeof(err)), CS_BADFRAME);
        free(t);
    }
    image_buf_free(&j);
}

static void expands_video_range(void **state)
{
    uint8_t y[16 * 16], u[8 * 8], v[8 * 8];
    struct frame f = {.kind = FRAME_YUV, .width = 16, .height = 16, .subsamp = SUBSAMP_420,
                      .planes = {y, u, v}, .strides = {16, 8, 8}};
    struct image_buf j;
    int rgb[3];
    char err[128];

    (void)state;
    memset(y, 235, sizeof(y)); /* video-range white */
    memset(u, 128, sizeof(u));
    memset(v, 128, sizeof(v));
    assert_int_equal(image_encode(&f, 95, &j, err, sizeof(err)), CS_OK);
    patch_rgb(&j, 4, 4, rgb);
    assert_in_range(rgb[0], 250, 255); /* not the washed-out 235 */
    image_buf_free(&j);
    f.full_range = true;
    assert_int_equal(image_encode(&f, 95, &j, err, sizeof(err)), CS_OK);
    patch_rgb(&j, 4, 4, rgb);
    assert_in_range(rgb[0], 230, 240);
    image_buf_free(&j);
}

/* Removes every DHT segment, as Motion-JPEG cameras send frames. */
static size_t strip_dht(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t i = 2, n = 2;

    memcpy(out, in, 2);
    while (i + 4 <= len && in[i] == 0xFF && in[i + 1] != 0xDA) {
        size_t seg = 2 + (((size_t)in[i + 2] << 8) | in[i + 3]);
        if (in[i + 1] != 0xC4) {
            memcpy(out + n, in + i, seg);
            n += seg;
        }
        i += seg;
    }
    memcpy(out + n, in + i, len - i);
    return n + len - i;
}

/* Encodes a uniform 16x16 4:2:0 picture of (Y, Cb, Cr) and returns the
 * decoded RGB of its centre. */
static void uniform_rgb(uint8_t yv, uint8_t cb, uint8_t cr, bool full, enum frame_matrix m,
                        bool writable, int rgb[3])
{
    uint8_t y[16 * 16], u[8 * 8], v[8 * 8];
    struct frame f = {.kind = FRAME_YUV, .width = 16, .height = 16, .subsamp = SUBSAMP_420,
                      .planes = {y, u, v}, .strides = {16, 8, 8}, .full_range = full,
                      .matrix = m, .writable = writable};
    struct image_buf j;
    char err[128];

    memset(y, yv, sizeof(y));
    memset(u, cb, sizeof(u));
    memset(v, cr, sizeof(v));
    assert_int_equal(image_encode(&f, 98, &j, err, sizeof(err)), CS_OK);
    patch_rgb(&j, 4, 4, rgb);
    image_buf_free(&j);
    /* In place: the planes now hold JFIF values and the frame says so;
     * a copy leaves them alone. */
    assert_int_equal(f.full_range, writable || full);
    assert_int_equal(f.matrix, writable ? MATRIX_BT601 : m);
    assert_int_equal(y[0] == yv, !writable || (full && m == MATRIX_BT601));
}

static int max_error(const int rgb[3], const int want[3])
{
    int e = 0;

    for (int c = 0; c < 3; c++)
        e = abs(rgb[c] - want[c]) > e ? abs(rgb[c] - want[c]) : e;
    return e;
}

/* BT.709 video-range colour bars (Rec. 709 Table 4 values for 100% bars):
 * encoded with the 709 matrix they come back as the colour, read as
 * BT.601 (the old behaviour) several are off by 20 and more. */
static void converts_bt709(void **state)
{
    static const struct {
        uint8_t y, cb, cr;
        int rgb[3];
    } bars[] = {
        {235, 128, 128, {255, 255, 255}}, {219, 16, 138, {255, 255, 0}},
        {188, 154, 16, {0, 255, 255}},    {173, 42, 26, {0, 255, 0}},
        {78, 214, 230, {255, 0, 255}},    {63, 102, 240, {255, 0, 0}},
        {32, 240, 118, {0, 0, 255}},      {16, 128, 128, {0, 0, 0}},
    };
    int rgb[3], worst601 = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bars) / sizeof(bars[0]); i++) {
        for (int w = 0; w < 2; w++) {
            uniform_rgb(bars[i].y, bars[i].cb, bars[i].cr, false, MATRIX_BT709, w, rgb);
            if (max_error(rgb, bars[i].rgb) > 6)
                fail_msg("bar %zu (writable %d): got %d,%d,%d", i, w, rgb[0], rgb[1], rgb[2]);
        }
        uniform_rgb(bars[i].y, bars[i].cb, bars[i].cr, false, MATRIX_BT601, false, rgb);
        if (max_error(rgb, bars[i].rgb) > worst601)
            worst601 = max_error(rgb, bars[i].rgb);
    }
    assert_true(worst601 >= 20); /* the test tells the matrices apart */
    /* Full-range BT.601 is left as it is, in place or not. */
    uniform_rgb(76, 85, 255, true, MATRIX_BT601, true, rgb);
    assert_true(max_error(rgb, (int[]){255, 0, 0}) <= 6);
}

static void adds_standard_huffman_tables(void **state)
{
    struct image_buf j, fixed, none;
    uint8_t *bare;
    size_t bare_len;
    int w, h, a[3], b[3];
    char err[128];

    (void)state;
    synth_jpeg("synthetic://320x240", &j);
    bare = malloc(j.len);
    bare_len = strip_dht(j.data, j.len, bare);
    assert_true(bare_len < j.len);
    assert_int_equal(image_add_std_huffman(bare, bare_len, &fixed), CS_OK);
    assert_non_null(fixed.data);
    assert_int_equal(fixed.len, j.len); /* exactly the tables that were removed */
    assert_int_equal(image_verify_jpeg(fixed.data, fixed.len, &w, &h, err, sizeof(err)), CS_OK);
    patch_rgb(&j, 100, 60, a);
    patch_rgb(&fixed, 100, 60, b);
    assert_memory_equal(a, b, sizeof(a));
    /* A JPEG with tables is left alone. */
    assert_int_equal(image_add_std_huffman(j.data, j.len, &none), CS_OK);
    assert_null(none.data);
    image_buf_free(&fixed);
    image_buf_free(&j);
    free(bare);
}

static void synthetic_options(void **state)
{
    struct camera_config cam = synth_cam("synthetic://64x64?fail=auth");
    struct source *src;
    struct frame f;
    char err[256];

    (void)state;
    assert_int_equal(source_open(&cam, NULL, clock_mono_ms() + 1000, &src, err, sizeof(err)), CS_OK);
    assert_int_equal(source_grab(src, clock_mono_ms() + 1000, &f, err, sizeof(err)), CS_AUTH);
    source_close(src);
    cam = synth_cam("synthetic://64x64?delay=5s");
    assert_int_equal(source_open(&cam, NULL, clock_mono_ms() + 1000, &src, err, sizeof(err)), CS_OK);
    int64_t t0 = clock_mono_ms();
    assert_int_equal(source_grab(src, t0 + 200, &f, err, sizeof(err)), CS_TIMEOUT);
    assert_in_range(clock_mono_ms() - t0, 150, 1000); /* bounded by the deadline */
    source_close(src);
    cam = synth_cam("synthetic://64?x");
    assert_int_equal(source_open(&cam, NULL, clock_mono_ms() + 1000, &src, err, sizeof(err)), CS_CONFIG);
    cam = synth_cam("gopher://x");
    assert_int_equal(source_open(&cam, NULL, clock_mono_ms() + 1000, &src, err, sizeof(err)),
                     CS_UNSUPPORTED);
}

/* Regressions found by fuzz_jpeg (tests/fuzz). */
static void rejects_fuzz_findings(void **state)
{
    static const uint8_t soi_eoi[] = {0xFF, 0xD8, 0xFF, 0xD9};
    char path[1024], err[256];
    const char *slash = strrchr(__FILE__, '/');
    struct image_buf j;
    uint8_t *data;
    long len;
    int w, h;
    FILE *f;

    (void)state;
    /* no frame header: once "OK" with uninitialised dimensions */
    assert_int_equal(image_check_jpeg(soi_eoi, sizeof(soi_eoi), &w, &h, err, sizeof(err)),
                     CS_BADFRAME);
    /* a header claiming 65500x65500: must fail without allocating gigabytes */
    synth_jpeg("synthetic://64x48", &j);
    for (size_t i = 2; i + 9 < j.len; i++)
        if (j.data[i] == 0xFF && j.data[i + 1] == 0xC0) {
            j.data[i + 5] = j.data[i + 7] = 0xFF;
            j.data[i + 6] = j.data[i + 8] = 0xDC;
            break;
        }
    assert_int_equal(image_verify_jpeg(j.data, j.len, &w, &h, err, sizeof(err)), CS_BADFRAME);
    image_buf_free(&j);
    /* arithmetic coding with huge dimensions: refused, not decoded for seconds */
    snprintf(path, sizeof(path), "%.*s/../fuzz/corpus/fuzz_jpeg/regress_arith_huge_slow.jpg",
             (int)(slash ? slash - __FILE__ : 1), slash ? __FILE__ : ".");
    if (!(f = fopen(path, "rb")))
        skip();
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    data = malloc((size_t)len);
    assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    assert_int_equal(image_verify_jpeg(data, (size_t)len, &w, &h, err, sizeof(err)), CS_BADFRAME);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_synthetic_bars),
        cmocka_unit_test(rejects_bad_jpegs),
        cmocka_unit_test(expands_video_range),
        cmocka_unit_test(converts_bt709),
        cmocka_unit_test(adds_standard_huffman_tables),
        cmocka_unit_test(synthetic_options),
        cmocka_unit_test(rejects_fuzz_findings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
