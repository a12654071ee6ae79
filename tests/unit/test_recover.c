/* test_recover.c - start-up reconciliation of spool and database (real
 * SQLite file, real files, real JPEGs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "image.h"
#include "recover.h"
#include "source.h"
#include "testutil.h"

#define T0 1795692600000LL

struct fx {
    char dir[512];
    char db[600];
    struct spool *sp;
    struct store *st;
    struct image_buf jpeg;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    struct camera_config cam = {.name = "c1", .url = "synthetic://64x48", .deadline_ms = 5000};
    struct source *src;
    struct frame f;
    char err[128];

    setenv("TZ", "UTC", 1);
    tzset();
    hash_init();
    assert_non_null(test_mkdtemp(fx->dir, sizeof(fx->dir)));
    snprintf(fx->db, sizeof(fx->db), "%s/capture_tracking.db", fx->dir);
    assert_int_equal(store_open(fx->db, &fx->st), CS_OK);
    assert_int_equal(spool_open(fx->dir, &fx->sp), CS_OK);
    assert_int_equal(source_open(&cam, NULL, clock_mono_ms() + 1000, &src, err, sizeof(err)), CS_OK);
    assert_int_equal(source_grab(src, clock_mono_ms() + 1000, &f, err, sizeof(err)), CS_OK);
    assert_int_equal(image_encode(&f, 80, &fx->jpeg, err, sizeof(err)), CS_OK);
    source_close(src);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    store_close(fx->st);
    spool_close(fx->sp);
    image_buf_free(&fx->jpeg);
    test_rmtree(fx->dir);
    free(fx);
    return 0;
}

static void write_raw(struct fx *fx, const char *rel, const uint8_t *data, size_t len)
{
    char path[1024];
    FILE *f;

    assert_int_equal(spool_path(fx->sp, rel, path, sizeof(path)), CS_OK);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void record(struct fx *fx, const struct spool_still *s)
{
    struct still_info si = {.filename = s->relpath, .camera_name = "c1", .local_path = s->path,
                            .capture_ms = T0, .capture_iso = "2026-11-26T11:30:00+00:00",
                            .file_size = s->size, .width = 64, .height = 48,
                            .sha256_hex = s->sha256};
    assert_int_equal(store_add_still(fx->st, &si, NULL), CS_OK);
}

static void status_of(struct fx *fx, const char *rel, bool want_found, enum still_status want)
{
    bool found;
    int64_t size;
    enum still_status st;

    assert_int_equal(store_lookup(fx->st, rel, &found, &size, &st), CS_OK);
    assert_int_equal(found, want_found);
    if (found)
        assert_int_equal(st, want);
}

static void repairs_every_crash_state(void **state)
{
    struct fx *fx = *state;
    struct spool_still ok, orphan, gone, trunc, zero, resized;
    struct recover_report rep;
    char path[1024];
    const uint8_t *j = fx->jpeg.data;
    size_t n = fx->jpeg.len;

    /* a recorded still: untouched */
    assert_int_equal(spool_write(fx->sp, "c1", T0, 64, 48, "jpg", j, n, &ok), CS_OK);
    record(fx, &ok);
    /* a final file whose row never committed: adopted */
    assert_int_equal(spool_write(fx->sp, "c1", T0 + 1000, 64, 48, "jpg", j, n, &orphan), CS_OK);
    /* a row whose file is gone: missing */
    assert_int_equal(spool_write(fx->sp, "c1", T0 + 2000, 64, 48, "jpg", j, n, &gone), CS_OK);
    record(fx, &gone);
    unlink(gone.path);
    /* unrecorded truncated and empty files: quarantined */
    assert_int_equal(spool_write(fx->sp, "c1", T0 + 3000, 64, 48, "jpg", j, n / 2, &trunc),
                     CS_OK);
    assert_int_equal(spool_write(fx->sp, "c1", T0 + 4000, 64, 48, "jpg", j, 0, &zero), CS_OK);
    /* a recorded file that changed size: quarantined */
    assert_int_equal(spool_write(fx->sp, "c1", T0 + 5000, 64, 48, "jpg", j, n, &resized), CS_OK);
    record(fx, &resized);
    write_raw(fx, resized.relpath, j, n - 10);
    /* a temp file from a crash mid-write: removed */
    write_raw(fx, "camera_c1/.tmp-42-deadbeef", j, 10);
    /* something else: left alone */
    write_raw(fx, "camera_c1/README", (const uint8_t *)"x", 1);

    spool_settle(fx->sp); /* the writer is done: what has no row is an orphan */
    assert_int_equal(recover_run(fx->sp, fx->st, &rep), CS_OK);
    assert_int_equal(rep.temps_removed, 1);
    assert_int_equal(rep.adopted, 1);
    assert_int_equal(rep.quarantined, 3);
    assert_int_equal(rep.missing, 1);
    assert_int_equal(rep.others, 1);
    status_of(fx, ok.relpath, true, STILL_PENDING);
    status_of(fx, orphan.relpath, true, STILL_PENDING);
    status_of(fx, gone.relpath, true, STILL_MISSING);
    status_of(fx, trunc.relpath, true, STILL_QUARANTINED);
    status_of(fx, zero.relpath, true, STILL_QUARANTINED);
    status_of(fx, resized.relpath, true, STILL_QUARANTINED);
    assert_int_equal(spool_path(fx->sp, "camera_c1/.tmp-42-deadbeef", path, sizeof(path)), CS_OK);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(trunc.path, F_OK), 0); /* quarantined files are kept */

    /* a second run finds nothing to do */
    assert_int_equal(recover_run(fx->sp, fx->st, &rep), CS_OK);
    assert_int_equal(rep.temps_removed + rep.adopted + rep.quarantined + rep.missing, 0);
}

/* A still as large as a camera may send (here the widest JPEG there is)
 * left without a row by a crash is adopted like any other. */
static void adopts_the_largest_still(void **state)
{
    struct fx *fx = *state;
    const int w = SPOOL_MAX_DIMENSION, h = 16;
    uint8_t *gray = calloc((size_t)w * h, 1);
    struct frame f = {.kind = FRAME_YUV,
                      .width = w,
                      .height = h,
                      .planes = {gray},
                      .strides = {w},
                      .subsamp = SUBSAMP_GRAY,
                      .full_range = true};
    struct image_buf jpeg = {0};
    struct spool_still big;
    struct recover_report rep;
    char err[128];

    assert_non_null(gray);
    assert_int_equal(image_encode(&f, 50, &jpeg, err, sizeof(err)), CS_OK);
    assert_int_equal(spool_write(fx->sp, "c1", T0, w, h, "jpg", jpeg.data, jpeg.len, &big), CS_OK);
    assert_string_equal(big.relpath, "camera_c1/20261126_113000_65500_16.jpg");
    spool_settle(fx->sp);
    assert_int_equal(recover_run(fx->sp, fx->st, &rep), CS_OK);
    assert_int_equal(rep.adopted, 1);
    assert_int_equal(rep.others, 0);
    status_of(fx, big.relpath, true, STILL_PENDING);
    image_buf_free(&jpeg);
    free(gray);
}

/* Another process writing stills while this one reconciles: its temp file
 * and its still not yet recorded are locked by it and left alone; once it
 * has settled (or died), its leftovers are repaired. A second spool handle
 * stands for the other process (flock locks belong to the open file). */
static void leaves_live_writers_alone(void **state)
{
    struct fx *fx = *state;
    struct spool *other;
    struct spool_still fresh;
    struct recover_report rep;
    char tmp[1024];
    int fd;

    assert_int_equal(spool_open(fx->dir, &other), CS_OK);
    /* a still written, its row not yet committed */
    assert_int_equal(
        spool_write(other, "c1", T0, 64, 48, "jpg", fx->jpeg.data, fx->jpeg.len, &fresh), CS_OK);
    /* a temp file being written by a live process (it holds the lock) */
    assert_int_equal(spool_path(fx->sp, "camera_c1/.tmp-77-0badf00d", tmp, sizeof(tmp)), CS_OK);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0640);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);

    assert_int_equal(recover_run(fx->sp, fx->st, &rep), CS_OK);
    assert_int_equal(rep.in_flight, 2);
    assert_int_equal(rep.temps_removed + rep.adopted + rep.quarantined, 0);
    assert_int_equal(access(tmp, F_OK), 0);
    status_of(fx, fresh.relpath, false, STILL_PENDING);

    /* the writer dies (its lock goes) and the other one records and settles */
    close(fd);
    record(fx, &fresh);
    spool_settle(other);
    assert_int_equal(recover_run(fx->sp, fx->st, &rep), CS_OK);
    assert_int_equal(rep.in_flight, 0);
    assert_int_equal(rep.temps_removed, 1);
    assert_int_equal(rep.adopted, 0); /* recorded by its writer, not adopted */
    assert_int_equal(access(tmp, F_OK), -1);
    status_of(fx, fresh.relpath, true, STILL_PENDING);
    spool_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(repairs_every_crash_state, setup, teardown),
        cmocka_unit_test_setup_teardown(adopts_the_largest_still, setup, teardown),
        cmocka_unit_test_setup_teardown(leaves_live_writers_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
