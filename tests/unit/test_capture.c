/* test_capture.c - one capture round with synthetic cameras into a real
 * spool and a real SQLite store: each camera's still written, decodable and
 * recorded with its SHA-256 before its result is announced; failures
 * recorded with their reason (camera, disk); a size other than the
 * expected one kept and flagged, said once; a slow camera not delaying
 * the others; the deadline; the streaks a caller's memory keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "capture.h"
#include "clock.h"
#include "hash.h"
#include "log.h"
#include "testutil.h"

#define MAXCAM 8

struct fx {
    char dir[512];
    char logdir[600];
    struct config *cfg;
    struct spool *sp;
    struct store *st;
    sqlite3 *db; /* a second connection, as another process reads */
    const struct camera_config *cams[MAXCAM];
    struct capture_result res[MAXCAM];
    size_t n;
    /* what on_result saw */
    pthread_mutex_t lock;
    const struct camera_config *order[MAXCAM];
    bool row_at_announce[MAXCAM];
    size_t announced;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    char path[700];

    setenv("TZ", "UTC", 1);
    tzset();
    hash_init();
    assert_non_null(test_mkdtemp(fx->dir, sizeof(fx->dir)));
    snprintf(fx->logdir, sizeof(fx->logdir), "%s/logs", fx->dir);
    assert_int_equal(mkdir(fx->logdir, 0750), 0);
    log_setup(LOG_LEVEL_INFO, fx->logdir, false, 0);
    snprintf(path, sizeof(path), "%s/capture_tracking.db", fx->dir);
    assert_int_equal(store_open(path, &fx->st), CS_OK);
    assert_int_equal(spool_open(fx->dir, &fx->sp), CS_OK);
    assert_int_equal(sqlite3_open_v2(path, &fx->db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    pthread_mutex_init(&fx->lock, NULL);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    log_close();
    log_setup(LOG_LEVEL_ERROR, NULL, false, 0);
    sqlite3_close(fx->db);
    store_close(fx->st);
    spool_close(fx->sp);
    config_free(fx->cfg);
    pthread_mutex_destroy(&fx->lock);
    test_rmtree(fx->dir);
    free(fx);
    return 0;
}

/* Loads "[camera ...]" sections (after a [general] naming the state) and
 * takes every camera, in order. */
static void cameras(struct fx *fx, const char *sections)
{
    char text[4096];

    config_free(fx->cfg);
    snprintf(text, sizeof(text), "[general]\nstate_dir = %s\nwindow = always\n%s", fx->dir,
             sections);
    assert_int_equal(config_load_string(text, "test", NULL, stderr, &fx->cfg), CS_OK);
    assert_true(fx->cfg->n_cameras <= MAXCAM);
    fx->n = fx->cfg->n_cameras;
    for (size_t i = 0; i < fx->n; i++)
        fx->cams[i] = &fx->cfg->cameras[i];
}

static int64_t sql_int(struct fx *fx, const char *fmt, const char *arg)
{
    char *q = sqlite3_mprintf(fmt, arg);
    sqlite3_stmt *s;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(fx->db, q, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_free(q);
    return v;
}

/* The first column of the first row as text ("" when none). */
static void sql_text(struct fx *fx, const char *fmt, const char *arg, char *out, size_t outsz)
{
    char *q = sqlite3_mprintf(fmt, arg);
    sqlite3_stmt *s;

    out[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(fx->db, q, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, outsz, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_free(q);
}

static void on_result(void *ctx, const struct capture_result *r)
{
    struct fx *fx = ctx;
    bool recorded =
        r->rc == CS_OK &&
        sql_int(fx, "SELECT COUNT(*) FROM upload_tracking WHERE filename = %Q", r->relpath) == 1;

    pthread_mutex_lock(&fx->lock);
    assert_true(fx->announced < MAXCAM);
    fx->row_at_announce[fx->announced] = recorded;
    fx->order[fx->announced++] = r->cam;
    pthread_mutex_unlock(&fx->lock);
}

static void round_of(struct fx *fx, int workers, struct capture_memory *mem)
{
    struct capture_env env = {.spool = fx->sp,
                              .store = fx->st,
                              .jpeg_quality = 85,
                              .workers = workers,
                              .memory = mem,
                              .on_result = on_result,
                              .ctx = fx};

    fx->announced = 0;
    assert_int_equal(capture_round(&env, fx->cams, fx->n, fx->res), CS_OK);
    spool_settle(fx->sp);
    assert_int_equal(fx->announced, fx->n);
}

/* The still of a successful result: on disk with the recorded size, a JPEG
 * of the reported size that decodes, recorded pending with its SHA-256. */
static void check_still(struct fx *fx, const struct capture_result *r, int w, int h)
{
    char path[1024], sha[HASH_HEX_LEN + 1], recorded[80], prefix[100];
    uint8_t *data = NULL;
    size_t len = 0;
    int jw = 0, jh = 0, sub, cs;
    tjhandle tj = tjInitDecompress();
    unsigned char *pix;

    assert_int_equal(r->rc, CS_OK);
    snprintf(prefix, sizeof(prefix), "camera_%s/", r->cam->name);
    assert_memory_equal(r->relpath, prefix, strlen(prefix));
    assert_int_equal(r->width, w);
    assert_int_equal(r->height, h);
    assert_int_equal(spool_path(fx->sp, r->relpath, path, sizeof(path)), CS_OK);
    assert_int_equal(spool_read(fx->sp, r->relpath, 1 << 24, &data, &len), CS_OK);
    assert_int_equal((int64_t)len, r->size);
    assert_int_equal(tjDecompressHeader3(tj, data, (unsigned long)len, &jw, &jh, &sub, &cs), 0);
    assert_int_equal(jw, w);
    assert_int_equal(jh, h);
    pix = malloc((size_t)w * h * 3);
    assert_int_equal(tjDecompress2(tj, data, (unsigned long)len, pix, w, 0, h, TJPF_RGB, 0), 0);
    free(pix);
    tjDestroy(tj);
    hash_sha256_hex(data, len, sha);
    free(data);
    sql_text(fx, "SELECT sha256 FROM upload_tracking WHERE filename = %Q", r->relpath, recorded,
             sizeof(recorded));
    assert_string_equal(recorded, sha);
    sql_text(fx, "SELECT upload_status FROM upload_tracking WHERE filename = %Q", r->relpath,
             recorded, sizeof(recorded));
    assert_string_equal(recorded, "pending");
    assert_int_equal(
        sql_int(fx, "SELECT file_size FROM upload_tracking WHERE filename = %Q", r->relpath),
        r->size);
    assert_true(r->capture_ms > 0);
}

/* The whole day's log as one string (malloc'd). */
static char *read_log(struct fx *fx)
{
    char path[900], *text = calloc(1, 1 << 20);
    struct dirent *de;
    DIR *d = opendir(fx->logdir);
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d))) {
        FILE *f;
        if (strncmp(de->d_name, "capture_", 8))
            continue;
        snprintf(path, sizeof(path), "%s/%s", fx->logdir, de->d_name);
        assert_non_null(f = fopen(path, "r"));
        n += fread(text + n, 1, (1 << 20) - 1 - n, f);
        fclose(f);
    }
    closedir(d);
    return text;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void each_camera_recorded(void **state)
{
    struct fx *fx = *state;
    char text[700];
    struct stat st;
    char *log;

    cameras(fx, "[camera a]\nurl = synthetic://64x48\nresolution = 64x48\n"
                "[camera b]\nurl = synthetic://80x48\nresolution = 64x48\n"
                "[camera c]\nurl = synthetic://64x48?fail=auth\n"
                "[camera d]\nurl = synthetic://64x48?fail=notfound\n");
    round_of(fx, 2, NULL);
    for (size_t i = 0; i < fx->n; i++)
        assert_ptr_equal(fx->res[i].cam, fx->cams[i]);
    check_still(fx, &fx->res[0], 64, 48);
    assert_false(fx->res[0].mismatch);
    check_still(fx, &fx->res[1], 80, 48);
    assert_true(fx->res[1].mismatch);
    assert_int_equal(sql_int(fx,
                             "SELECT resolution_mismatch FROM upload_tracking "
                             "WHERE filename = %Q",
                             fx->res[1].relpath),
                     1);
    assert_int_equal(sql_int(fx,
                             "SELECT resolution_mismatch FROM upload_tracking "
                             "WHERE filename = %Q",
                             fx->res[0].relpath),
                     0);
    /* The failures: their reason, in words, recorded. */
    assert_int_equal(fx->res[2].rc, CS_AUTH);
    assert_string_equal(fx->res[2].reason, "camera");
    assert_non_null(strstr(fx->res[2].error, "username/password"));
    assert_int_equal(fx->res[3].rc, CS_NOTFOUND);
    assert_string_equal(fx->res[3].reason, "camera");
    sql_text(fx, "SELECT reason || ': ' || error FROM capture_failures WHERE camera_name = %Q", "c",
             text, sizeof(text));
    assert_non_null(strstr(text, "camera: "));
    assert_non_null(strstr(text, "username/password"));
    assert_int_equal(
        sql_int(fx, "SELECT COUNT(*) FROM capture_failures WHERE camera_name = %Q", "d"), 1);
    assert_int_equal(sql_int(fx,
                             "SELECT consecutive_failures FROM camera_status "
                             "WHERE camera_name = %Q",
                             "c"),
                     1);
    assert_int_equal(sql_int(fx,
                             "SELECT consecutive_failures FROM camera_status "
                             "WHERE camera_name = %Q",
                             "a"),
                     0);
    assert_int_equal(
        sql_int(fx, "SELECT COUNT(*) FROM upload_tracking WHERE camera_name = %Q", "c"), 0);
    snprintf(text, sizeof(text), "%s/backup_queue/camera_c", fx->dir);
    assert_true(stat(text, &st) != 0 || st.st_nlink == 2);
    /* Each result was announced once, its row already committed. */
    for (size_t i = 0; i < fx->n; i++) {
        int seen = 0;
        for (size_t j = 0; j < fx->announced; j++)
            if (fx->order[j] == fx->cams[i]) {
                seen++;
                assert_true(fx->res[i].rc || fx->row_at_announce[j]);
            }
        assert_int_equal(seen, 1);
    }
    log = read_log(fx);
    assert_int_equal(count(log, "camera b: sends 80x48 but 64x48 is expected"), 1);
    assert_int_equal(count(log, "camera a: still saved: camera_a/"), 1);
    assert_int_equal(count(log, "camera c: no still: synthetic failure"), 1);
    free(log);
}

/* A slow camera's still comes last; the others are recorded long before. */
static void slow_camera_does_not_delay_others(void **state)
{
    struct fx *fx = *state;

    cameras(fx, "[camera slow]\nurl = synthetic://64x48?delay=1500ms\n"
                "[camera f1]\nurl = synthetic://64x48\n"
                "[camera f2]\nurl = synthetic://64x48\n");
    round_of(fx, 3, NULL);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(fx->res[i].rc, CS_OK);
    assert_ptr_equal(fx->order[2], fx->cams[0]);
    assert_true(fx->res[0].elapsed_ms >= 1400);
    assert_true(fx->res[1].elapsed_ms < fx->res[0].elapsed_ms);
    assert_true(fx->res[2].elapsed_ms < fx->res[0].elapsed_ms);
}

/* One worker: one camera after the other, in their order. */
static void one_worker(void **state)
{
    struct fx *fx = *state;

    cameras(fx, "[camera x]\nurl = synthetic://64x48\n[camera y]\nurl = synthetic://32x32\n"
                "[camera z]\nurl = synthetic://48x64\n");
    round_of(fx, 1, NULL);
    for (size_t i = 0; i < 3; i++)
        assert_ptr_equal(fx->order[i], fx->cams[i]);
    check_still(fx, &fx->res[0], 64, 48);
    check_still(fx, &fx->res[1], 32, 32);
    check_still(fx, &fx->res[2], 48, 64);
    /* No camera: nothing to do, and no error. */
    fx->n = 0;
    round_of(fx, 4, NULL);
}

/* The capture's timeout bounds a camera that takes too long. */
static void deadline(void **state)
{
    struct fx *fx = *state;

    cameras(fx, "[camera late]\nurl = synthetic://64x48?delay=20s\nconnect_timeout = "
                "100ms\ntimeout = 300ms\n");
    round_of(fx, 1, NULL);
    assert_int_equal(fx->res[0].rc, CS_TIMEOUT);
    assert_string_equal(fx->res[0].reason, "camera");
    assert_true(fx->res[0].elapsed_ms >= 250);
    assert_true(fx->res[0].elapsed_ms < 10000);
    assert_int_equal(sql_int(fx,
                             "SELECT COUNT(*) FROM capture_failures WHERE camera_name = %Q "
                             "AND reason = 'camera'",
                             "late"),
                     1);
}

/* The still cannot be written (a file where its camera's folder goes):
 * "disk", said in words, recorded, no row. */
static void disk_failure(void **state)
{
    struct fx *fx = *state;
    char path[700];
    FILE *f;

    cameras(fx, "[camera e]\nurl = synthetic://64x48\n[camera ok]\nurl = synthetic://64x48\n");
    snprintf(path, sizeof(path), "%s/backup_queue/camera_e", fx->dir);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
    round_of(fx, 2, NULL);
    assert_int_not_equal(fx->res[0].rc, CS_OK);
    assert_string_equal(fx->res[0].reason, "disk");
    assert_non_null(strstr(fx->res[0].error, "cannot save"));
    assert_int_equal(sql_int(fx,
                             "SELECT COUNT(*) FROM capture_failures WHERE camera_name = %Q "
                             "AND reason = 'disk'",
                             "e"),
                     1);
    assert_int_equal(
        sql_int(fx, "SELECT COUNT(*) FROM upload_tracking WHERE camera_name = %Q", "e"), 0);
    check_still(fx, &fx->res[1], 64, 48);
}

/* Across rounds, with the caller's memory: a size change is said once, a
 * return to the expected size once, a camera back after failures once with
 * the length of its streak. */
static void memory_across_rounds(void **state)
{
    struct fx *fx = *state;
    struct capture_memory *mem = capture_memory_new();
    char *log;

    assert_non_null(mem);
    cameras(fx, "[camera m]\nurl = synthetic://80x48\nresolution = 64x48\n"
                "[camera s]\nurl = synthetic://64x48?fail=timeout\n");
    round_of(fx, 2, mem);
    round_of(fx, 2, mem);
    cameras(fx, "[camera m]\nurl = synthetic://64x48\nresolution = 64x48\n"
                "[camera s]\nurl = synthetic://64x48?fail=refused\n");
    round_of(fx, 2, mem);
    cameras(fx, "[camera m]\nurl = synthetic://64x48\nresolution = 64x48\n"
                "[camera s]\nurl = synthetic://64x48\n");
    round_of(fx, 2, mem);
    round_of(fx, 2, mem);
    capture_memory_free(mem);
    capture_memory_free(NULL);
    log = read_log(fx);
    assert_int_equal(count(log, "camera m: sends 80x48 but 64x48 is expected"), 1);
    assert_int_equal(count(log, "camera m: now sends the expected 64x48"), 1);
    assert_int_equal(count(log, "camera s: is back after 3 failed attempt(s)"), 1);
    assert_int_equal(count(log, "is back after"), 1);
    assert_int_equal(count(log, "camera s: no still"), 3);
    free(log);
    assert_int_equal(sql_int(fx,
                             "SELECT COUNT(*) FROM upload_tracking WHERE camera_name = %Q "
                             "AND resolution_mismatch = 1",
                             "m"),
                     2);
    assert_int_equal(sql_int(fx,
                             "SELECT total_failures FROM camera_status "
                             "WHERE camera_name = %Q",
                             "s"),
                     3);
    assert_int_equal(sql_int(fx,
                             "SELECT consecutive_failures FROM camera_status "
                             "WHERE camera_name = %Q",
                             "s"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(each_camera_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_camera_does_not_delay_others, setup, teardown),
        cmocka_unit_test_setup_teardown(one_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(disk_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(memory_across_rounds, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
