/* test_spool.c - still naming, name validation, atomic writes, collisions, scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "testutil.h"

#define T0 1795692600000LL /* 2026-11-26 11:30:00 UTC */

static int setup(void **state)
{
    static char dir[512];

    setenv("TZ", "UTC", 1);
    tzset();
    hash_init();
    assert_non_null(test_mkdtemp(dir, sizeof(dir)));
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    test_rmtree(*state);
    return 0;
}

static void formats_names(void **state)
{
    char out[SPOOL_REL_MAX];

    (void)state;
    assert_int_equal(spool_format_name("27", T0, 2592, 1944, 0, "jpg", out, sizeof(out)), CS_OK);
    assert_string_equal(out, "camera_27/20261126_113000_2592_1944.jpg");
    assert_int_equal(spool_format_name("lobby", T0 + 999, 640, 360, 3, "webp", out, sizeof(out)),
                     CS_OK);
    assert_string_equal(out, "camera_lobby/20261126_113000_640_360_3.webp");
    assert_int_equal(spool_format_name("27", T0, 1, 1, 0, "jpg", out, 10), CS_TOOBIG);
}

static void rejects_escaping_names(void **state)
{
    static const char *const bad[] = {"", "..", ".", "../etc", "a/b", "/abs", "x\n", "tab\there",
                                      ".hidden", "sp ace", NULL};
    char out[SPOOL_REL_MAX];
    struct spool *sp;
    struct spool_still still;

    assert_int_equal(spool_open(*state, &sp), CS_OK);
    for (const char *const *b = bad; *b; b++) {
        assert_int_equal(spool_format_name(*b, T0, 10, 10, 0, "jpg", out, sizeof(out)),
                         CS_CONFIG);
        assert_int_equal(spool_write(sp, *b, T0, 10, 10, "jpg", (const uint8_t *)"x", 1, &still),
                         CS_CONFIG);
    }
    spool_close(sp);
}

static void parses_names(void **state)
{
    struct spool_name sn;

    (void)state;
    assert_int_equal(spool_parse_name("camera_27/20261126_113000_2592_1944.jpg", &sn), CS_OK);
    assert_string_equal(sn.camera, "27");
    assert_string_equal(sn.date, "20261126");
    assert_string_equal(sn.time, "113000");
    assert_int_equal(sn.width, 2592);
    assert_int_equal(sn.height, 1944);
    assert_int_equal(sn.seq, 0);
    assert_string_equal(sn.ext, "jpg");
    assert_int_equal(spool_parse_name("camera_x/20261126_113000_640_360_2.jpg", &sn), CS_OK);
    assert_int_equal(sn.seq, 2);
    assert_int_equal(spool_parse_name("camera_x/.tmp-1-2", &sn), CS_CONFIG);
    assert_int_equal(spool_parse_name("camera_../20261126_113000_640_360.jpg", &sn), CS_CONFIG);
    assert_int_equal(spool_parse_name("camera_x/sub/20261126_113000_640_360.jpg", &sn),
                     CS_CONFIG);
    assert_int_equal(spool_parse_name("camera_x/2026112_113000_640_360.jpg", &sn), CS_CONFIG);
    assert_int_equal(spool_parse_name("camera_x/20261126_113000_640_360_0.jpg", &sn), CS_CONFIG);
    assert_int_equal(spool_parse_name("camera_x/20261126_113000_640.jpg", &sn), CS_CONFIG);
    assert_int_equal(spool_parse_name("x/20261126_113000_640_360.jpg", &sn), CS_CONFIG);
}

/* One limit for a still's size: whatever a camera may legitimately send
 * (bounded by its max_pixels, up to the largest JPEG) is named and parsed. */
static void names_every_legitimate_size(void **state)
{
    static const int sizes[][2] = {
        {16385, 16}, {20000, 600}, {16, 40000}, {SPOOL_MAX_DIMENSION, SPOOL_MAX_DIMENSION}};
    char out[SPOOL_REL_MAX];
    struct spool_name sn;

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(
            spool_format_name("w", T0, sizes[i][0], sizes[i][1], 2, "jpg", out, sizeof(out)),
            CS_OK);
        assert_int_equal(spool_parse_name(out, &sn), CS_OK);
        assert_int_equal(sn.width, sizes[i][0]);
        assert_int_equal(sn.height, sizes[i][1]);
    }
    assert_int_equal(spool_parse_name("camera_w/20261126_113000_65500_65500.jpg", &sn), CS_OK);
    assert_int_equal(spool_parse_name("camera_w/20261126_113000_65501_16.jpg", &sn), CS_CONFIG);
    assert_int_equal(spool_parse_name("camera_w/20261126_113000_16_65501_1.jpg", &sn), CS_CONFIG);
    /* and no name is made that could not be read back */
    assert_int_equal(
        spool_format_name("w", T0, SPOOL_MAX_DIMENSION + 1, 16, 0, "jpg", out, sizeof(out)),
        CS_TOOBIG);
    assert_int_equal(spool_format_name("w", T0, 0, 16, 0, "jpg", out, sizeof(out)), CS_CONFIG);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.' || !strncmp(de->d_name, SPOOL_TMP_PREFIX, 5);
    closedir(d);
    return n;
}

static void writes_atomically_without_overwrite(void **state)
{
    struct spool *sp;
    struct spool_still a, b, c;
    uint8_t *data;
    size_t len;
    char dir[1024];

    assert_int_equal(spool_open(*state, &sp), CS_OK);
    assert_int_equal(spool_write(sp, "27", T0, 640, 360, "jpg", (const uint8_t *)"first", 5, &a),
                     CS_OK);
    assert_int_equal(spool_write(sp, "27", T0 + 10, 640, 360, "jpg", (const uint8_t *)"second", 6,
                                 &b),
                     CS_OK);
    assert_int_equal(spool_write(sp, "27", T0 + 20, 640, 360, "jpg", (const uint8_t *)"third", 5,
                                 &c),
                     CS_OK);
    assert_string_equal(a.relpath, "camera_27/20261126_113000_640_360.jpg");
    assert_string_equal(b.relpath, "camera_27/20261126_113000_640_360_1.jpg");
    assert_string_equal(c.relpath, "camera_27/20261126_113000_640_360_2.jpg");
    assert_int_equal(a.size, 5);
    /* sha256("first") */
    assert_string_equal(a.sha256,
                        "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e");
    assert_int_equal(spool_read(sp, a.relpath, 100, &data, &len), CS_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "first", 5);
    free(data);
    assert_int_equal(spool_read(sp, b.relpath, 3, &data, &len), CS_TOOBIG);
    snprintf(dir, sizeof(dir), "%s/camera_27", spool_root(sp));
    assert_int_equal(count_entries(dir), 3); /* no temp file left */
    spool_close(sp);
}

struct scan_count {
    int stills, temps, others;
};

static enum cs_err count_cb(void *ctx, enum spool_entry kind, const char *relpath)
{
    struct scan_count *c = ctx;

    (void)relpath;
    if (kind == SPOOL_ENTRY_STILL)
        c->stills++;
    else if (kind == SPOOL_ENTRY_TEMP)
        c->temps++;
    else
        c->others++;
    return CS_OK;
}

static void scans_and_removes(void **state)
{
    struct spool *sp;
    struct spool_still a;
    struct scan_count cnt = {0};
    char path[1024];
    bool exists;
    int64_t size;
    FILE *f;

    assert_int_equal(spool_open(*state, &sp), CS_OK);
    assert_int_equal(spool_write(sp, "cam", T0, 16, 16, "jpg", (const uint8_t *)"abc", 3, &a),
                     CS_OK);
    snprintf(path, sizeof(path), "%s/camera_cam/.tmp-123-abcdef", spool_root(sp));
    f = fopen(path, "w");
    fclose(f);
    snprintf(path, sizeof(path), "%s/camera_cam/notes.txt", spool_root(sp));
    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(spool_scan(sp, count_cb, &cnt), CS_OK);
    assert_int_equal(cnt.stills, 1);
    assert_int_equal(cnt.temps, 1);
    assert_int_equal(cnt.others, 1);
    assert_int_equal(spool_stat(sp, a.relpath, &exists, &size), CS_OK);
    assert_true(exists);
    assert_int_equal(size, 3);
    assert_int_equal(spool_remove(sp, a.relpath), CS_OK);
    assert_int_equal(spool_stat(sp, a.relpath, &exists, &size), CS_OK);
    assert_false(exists);
    assert_int_equal(spool_remove(sp, a.relpath), CS_OK); /* absent: not an error */
    spool_close(sp);
}

/* Nobody else may write where the spool's files go, and nothing below the
 * state directory is reached through a link. */
static void trusts_no_one_else(void **state)
{
    const char *dir = *state;
    char path[1100], cam[1024], elsewhere[1024], link[1100];
    struct spool *sp = NULL;
    struct spool_still a;
    uint8_t *data;
    size_t len;
    bool exists;
    int64_t size;

    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(spool_open(dir, &sp), CS_PERM);
    assert_null(sp);
    assert_non_null(strstr(spool_last_error(), "writable by other users"));
    assert_non_null(strstr(spool_last_error(), "chmod go-w"));
    assert_int_equal(chmod(dir, 0750), 0);

    assert_int_equal(spool_open(dir, &sp), CS_OK);
    assert_int_equal(spool_write(sp, "c", T0, 16, 16, "jpg", (const uint8_t *)"abc", 3, &a), CS_OK);
    snprintf(cam, sizeof(cam), "%s/camera_c", spool_root(sp));
    assert_int_equal(chmod(cam, 0770), 0);
    assert_int_equal(spool_write(sp, "c", T0, 16, 16, "jpg", (const uint8_t *)"abc", 3, &a),
                     CS_PERM);
    assert_non_null(strstr(spool_last_error(), cam));
    assert_int_equal(chmod(cam, 0750), 0);

    /* a link in place of a still: neither read nor counted as the still */
    snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", dir);
    assert_int_equal(mkdir(elsewhere, 0750), 0);
    snprintf(path, sizeof(path), "%s/secret", elsewhere);
    fclose(fopen(path, "w"));
    assert_int_equal(spool_path(sp, a.relpath, link, sizeof(link)), CS_OK);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink(path, link), 0);
    assert_int_not_equal(spool_read(sp, a.relpath, 100, &data, &len), CS_OK);
    assert_int_equal(spool_stat(sp, a.relpath, &exists, &size), CS_OK);
    assert_false(exists);

    /* a link in place of a camera directory: nothing is written through it */
    snprintf(link, sizeof(link), "%s/camera_d", spool_root(sp));
    assert_int_equal(symlink(elsewhere, link), 0);
    assert_int_not_equal(spool_write(sp, "d", T0, 16, 16, "jpg", (const uint8_t *)"abc", 3, &a),
                         CS_OK);
    assert_int_equal(count_entries(elsewhere), 1); /* only "secret" */
    spool_close(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_names),
        cmocka_unit_test_setup_teardown(rejects_escaping_names, setup, teardown),
        cmocka_unit_test(parses_names),
        cmocka_unit_test(names_every_legitimate_size),
        cmocka_unit_test_setup_teardown(writes_atomically_without_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(scans_and_removes, setup, teardown),
        cmocka_unit_test_setup_teardown(trusts_no_one_else, setup, teardown),
    };
    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
