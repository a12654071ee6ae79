/*
 * source_synthetic.c - a built-in test pattern camera: synthetic://WxH.
 *
 * Renders I420 (full range) straight into planes: the top two thirds are
 * eight vertical colour bars (white, yellow, cyan, green, magenta, red,
 * blue, black - 100% bars, so a checker knows every band's colour); the
 * bottom third is dark grey with a white box that moves with the wall clock
 * and a caption with the camera name, the capture time and a frame counter.
 *
 * Query options, for demos and tests of slow or failing cameras:
 *   delay=DURATION   take this long to produce a frame (bounded by deadline)
 *   fail=WHAT        fail every grab: timeout | refused | auth | notfound
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "source.h"
#include "units.h"

struct synth {
    const struct camera_config *cam;
    int w, h;
    int64_t delay_ms;
    char fail[64];
    uint8_t *buf;               /* Y then U then V */
    uint64_t counter;
};

/* 100% colour bars in full-range BT.601 YCbCr (as JPEG uses). */
static const uint8_t bars[8][3] = {
    {255, 128, 128}, {226, 1, 149},  {179, 171, 1},   {150, 44, 21},
    {105, 212, 235}, {76, 85, 255},  {29, 255, 107},  {0, 128, 128},
};

/* 5x7 glyphs, one byte per row, bit 4 = leftmost column. */
struct glyph {
    char c;
    uint8_t rows[7];
};

static const struct glyph font[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},
    {'2', {14, 17, 1, 2, 4, 8, 31}},     {'3', {31, 2, 4, 2, 1, 17, 14}},
    {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},
    {'8', {14, 17, 17, 14, 17, 17, 14}}, {'9', {14, 17, 17, 15, 1, 2, 12}},
    {':', {0, 12, 12, 0, 12, 12, 0}},    {'-', {0, 0, 0, 31, 0, 0, 0}},
    {'.', {0, 0, 0, 0, 0, 12, 12}},      {'_', {0, 0, 0, 0, 0, 0, 31}},
    {'#', {10, 10, 31, 10, 31, 10, 10}}, {'A', {14, 17, 17, 31, 17, 17, 17}},
    {'B', {30, 17, 17, 30, 17, 17, 30}}, {'C', {14, 17, 16, 16, 16, 17, 14}},
    {'D', {28, 18, 17, 17, 17, 18, 28}}, {'E', {31, 16, 16, 30, 16, 16, 31}},
    {'F', {31, 16, 16, 30, 16, 16, 16}}, {'G', {14, 17, 16, 23, 17, 17, 15}},
    {'H', {17, 17, 17, 31, 17, 17, 17}}, {'I', {14, 4, 4, 4, 4, 4, 14}},
    {'J', {7, 2, 2, 2, 2, 18, 12}},      {'K', {17, 18, 20, 24, 20, 18, 17}},
    {'L', {16, 16, 16, 16, 16, 16, 31}}, {'M', {17, 27, 21, 21, 17, 17, 17}},
    {'N', {17, 17, 25, 21, 19, 17, 17}}, {'O', {14, 17, 17, 17, 17, 17, 14}},
    {'P', {30, 17, 17, 30, 16, 16, 16}}, {'Q', {14, 17, 17, 17, 21, 18, 13}},
    {'R', {30, 17, 17, 30, 20, 18, 17}}, {'S', {15, 16, 16, 14, 1, 1, 30}},
    {'T', {31, 4, 4, 4, 4, 4, 4}},       {'U', {17, 17, 17, 17, 17, 17, 14}},
    {'V', {17, 17, 17, 17, 17, 10, 4}},  {'W', {17, 17, 17, 21, 21, 21, 10}},
    {'X', {17, 17, 10, 4, 10, 17, 17}},  {'Y', {17, 17, 10, 4, 4, 4, 4}},
    {'Z', {31, 1, 2, 4, 8, 16, 31}},
};

static const uint8_t *glyph_rows(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
        if (font[i].c == c)
            return font[i].rows;
    return NULL;
}

static void fill_rect(struct synth *s, int x0, int y0, int w, int h, uint8_t y)
{
    uint8_t *py = s->buf;

    for (int yy = y0 < 0 ? 0 : y0; yy < y0 + h && yy < s->h; yy++)
        for (int xx = x0 < 0 ? 0 : x0; xx < x0 + w && xx < s->w; xx++)
            py[(size_t)yy * (size_t)s->w + (size_t)xx] = y;
}

/* Draws text in luma only (chroma of the caption band is neutral). */
static void draw_text(struct synth *s, int x, int y, int scale, const char *text)
{
    for (; *text; text++, x += 6 * scale) {
        const uint8_t *rows = glyph_rows(*text);
        if (!rows)
            continue;
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 5; c++)
                if (rows[r] & (16 >> c))
                    fill_rect(s, x + c * scale, y + r * scale, scale, scale, 235);
    }
}

static void render(struct synth *s, int64_t wall_ms)
{
    int w = s->w, h = s->h, cw = (w + 1) / 2, ch = (h + 1) / 2;
    int bar_h = h * 2 / 3, cbar_h = bar_h / 2;
    uint8_t *py = s->buf, *pu = py + (size_t)w * h, *pv = pu + (size_t)cw * ch;
    char caption[160], stamp[40];
    int scale = h / 90 > 1 ? h / 90 : 1;
    int box = h / 8, span = w - box;

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            py[(size_t)y * w + x] = y < bar_h ? bars[x * 8 / w][0] : 40;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            int b = (x * 2) * 8 / w;
            pu[(size_t)y * cw + x] = y < cbar_h ? bars[b][1] : 128;
            pv[(size_t)y * cw + x] = y < cbar_h ? bars[b][2] : 128;
        }
    /* The box crosses the frame once a minute. */
    fill_rect(s, span > 0 ? (int)((wall_ms % 60000) * span / 60000) : 0, bar_h + box / 4, box,
              box, 200);
    clock_format_iso(wall_ms, 1, stamp, sizeof(stamp));
    snprintf(caption, sizeof(caption), "%s %.23s #%llu", s->cam->name, stamp,
             (unsigned long long)s->counter);
    draw_text(s, 8 * scale, h - 10 * scale, scale, caption);
}

static enum cs_err parse_query(struct synth *s, const char *q, char *err, size_t errsz)
{
    char key[32], val[64];

    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (sscanf(q, "%31[^=]=%63[^&]", key, val) != 2 || n == 0) {
            snprintf(err, errsz, "bad synthetic option near \"%.*s\"", (int)n, q);
            return CS_CONFIG;
        }
        if (!strcmp(key, "delay")) {
            if (units_parse_duration(val, &s->delay_ms)) {
                snprintf(err, errsz, "synthetic delay \"%s\" is not a duration%s", val,
                         units_duration_lacks_unit(val) ? "; add a unit, e.g. 2s" : "");
                return CS_CONFIG;
            }
        } else if (!strcmp(key, "fail")) {
            snprintf(s->fail, sizeof(s->fail), "%s", val);
        } else {
            snprintf(err, errsz, "unknown synthetic option \"%s\" (delay=, fail=)", key);
            return CS_CONFIG;
        }
        q = amp ? amp + 1 : NULL;
    }
    return CS_OK;
}

static enum cs_err synth_open(const struct camera_config *cam, struct budget *budget,
                              int64_t deadline, void **state,
                              char *err, size_t errsz)
{
    const char *spec = cam->url + strlen("synthetic://");
    char res[32];
    struct synth *s;
    enum cs_err rc;

    (void)budget; /* a test pattern: its one buffer is drawn at open */
    (void)deadline;
    snprintf(res, sizeof(res), "%.*s", (int)strcspn(spec, "?"), spec);
    if (!(s = calloc(1, sizeof(*s))))
        return CS_NOMEM;
    s->cam = cam;
    if (units_parse_resolution(res, &s->w, &s->h)) {
        snprintf(err, errsz, "synthetic URL needs a size such as synthetic://1920x1080");
        rc = CS_CONFIG;
        goto out_free;
    }
    if ((rc = parse_query(s, strchr(spec, '?') ? strchr(spec, '?') + 1 : NULL, err, errsz)))
        goto out_free;
    s->buf = malloc((size_t)s->w * s->h + 2 * (size_t)((s->w + 1) / 2) * ((s->h + 1) / 2));
    if (!s->buf) {
        rc = CS_NOMEM;
        goto out_free;
    }
    *state = s;
    return CS_OK;
out_free:
    free(s);
    return rc;
}

static enum cs_err synth_fail(const struct synth *s, char *err, size_t errsz)
{
    static const struct {
        const char *name;
        enum cs_err rc;
        const char *msg;
    } modes[] = {
        {"timeout", CS_TIMEOUT, "synthetic failure: timed out"},
        {"refused", CS_REFUSED, "synthetic failure: connection refused"},
        {"auth", CS_AUTH, "synthetic failure: camera refused the username/password"},
        {"notfound", CS_NOTFOUND, "synthetic failure: no stream at this path"},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (!strcmp(s->fail, modes[i].name)) {
            snprintf(err, errsz, "%s", modes[i].msg);
            return modes[i].rc;
        }
    snprintf(err, errsz, "synthetic failure: %s", s->fail);
    return CS_PROTO;
}

static enum cs_err synth_grab(void *state, int64_t deadline, struct frame *f, char *err,
                              size_t errsz)
{
    struct synth *s = state;
    int64_t until = clock_mono_ms() + s->delay_ms;

    if (s->delay_ms > 0) {
        clock_sleep_until(until < deadline ? until : deadline);
        if (until > deadline) {
            snprintf(err, errsz, "no frame within the deadline");
            return CS_TIMEOUT;
        }
    }
    if (s->fail[0])
        return synth_fail(s, err, errsz);
    s->counter++;
    render(s, clock_wall_ms());
    memset(f, 0, sizeof(*f));
    f->kind = FRAME_YUV;
    f->width = s->w;
    f->height = s->h;
    f->subsamp = SUBSAMP_420;
    f->full_range = true;
    f->planes[0] = s->buf;
    f->planes[1] = s->buf + (size_t)s->w * s->h;
    f->planes[2] = f->planes[1] + (size_t)((s->w + 1) / 2) * ((s->h + 1) / 2);
    f->strides[0] = s->w;
    f->strides[1] = f->strides[2] = (s->w + 1) / 2;
    return CS_OK;
}

static void synth_info(const void *state, struct source_info *info)
{
    const struct synth *s = state;

    snprintf(info->codec, sizeof(info->codec), "synthetic");
    info->width = s->w;
    info->height = s->h;
    snprintf(info->detail, sizeof(info->detail), "built-in test pattern");
}

static void synth_close(void *state)
{
    struct synth *s = state;

    if (!s)
        return;
    free(s->buf);
    free(s);
}

const struct source_ops source_synthetic_ops = {
    .scheme_prefix = "synthetic://",
    .open = synth_open,
    .grab = synth_grab,
    .info = synth_info,
    .close = synth_close,
};
