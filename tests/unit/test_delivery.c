/* test_delivery.c - the delivery engine end to end with the real `dir`
 * backend, a real SQLite store, a real spool and real JPEGs; and its verdict
 * on the answers to the size check after "already exists". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "clock.h"
#include "delivery.h"
#include "image.h"
#include "log.h"
#include "source.h"
#include "testutil.h"

#define T0 1795692600000LL
#define MAXS 64

struct fx {
    char dir[512], db[600], out[600];
    struct config *cfg;         /* dir backend into out, concurrency 4 */
    sqlite3 *raw;               /* a second connection for the test's own SQL */
    struct spool *sp;
    struct store *st;
    struct image_buf jpeg;
    struct spool_still s[MAXS];
    char iso[MAXS][40];
    char name[MAXS][256];       /* the object name of still i (digest) */
    char obj[MAXS][1024];       /* where the object of still i goes */
    char row[MAXS][1024];       /* where its row goes */
    int n;
};

static struct config *make_config_named(struct fx *fx, const char *out, int concurrency,
                                        const char *object_name)
{
    char text[2048];
    struct config *cfg;

    snprintf(text, sizeof(text),
             "[general]\nstate_dir = %s\nwindow = always\nrestaurant_id = store-001\n"
             "[upload]\nbackend = dir\npath = %s\nconcurrency = %d\nbackoff_base = 1s\n"
             "backoff_cap = 2s\nretry_interval = 1s\nobject_name = %s\n"
             "[camera c1]\nurl = synthetic://64x48\n",
             fx->dir, out, concurrency, object_name);
    assert_int_equal(config_load_string(text, "test", NULL, stderr, &cfg), CS_OK);
    return cfg;
}

static struct config *make_config(struct fx *fx, const char *out, int concurrency)
{
    return make_config_named(fx, out, concurrency, "digest");
}

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
    log_set_level(LOG_LEVEL_ERROR);
    assert_non_null(test_mkdtemp(fx->dir, sizeof(fx->dir)));
    snprintf(fx->db, sizeof(fx->db), "%s/capture_tracking.db", fx->dir);
    snprintf(fx->out, sizeof(fx->out), "%s/delivered", fx->dir);
    fx->cfg = make_config(fx, fx->out, 4);
    assert_int_equal(store_open(fx->db, &fx->st), CS_OK);
    assert_int_equal(sqlite3_open(fx->db, &fx->raw), SQLITE_OK);
    sqlite3_busy_timeout(fx->raw, 5000);
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

    config_free(fx->cfg);
    sqlite3_close(fx->raw);
    store_close(fx->st);
    spool_close(fx->sp);
    image_buf_free(&fx->jpeg);
    test_rmtree(fx->dir);
    free(fx);
    return 0;
}

/* A still captured at wall time ms: the JPEG plus a 4-byte tag after its
 * end marker, so every still has its own bytes. Returns its index. */
static int add_still(struct fx *fx, int64_t ms)
{
    int i = fx->n++;
    size_t len = fx->jpeg.len + 4;
    uint8_t *data = malloc(len);
    struct spool_still *s = &fx->s[i];
    char id[37], path[sizeof(fx->obj[0])];

    assert_true(i < MAXS);
    memcpy(data, fx->jpeg.data, fx->jpeg.len);
    memcpy(data + fx->jpeg.len, &i, 4);
    assert_int_equal(spool_write(fx->sp, "c1", ms, 64, 48, "jpg", data, len, s), CS_OK);
    free(data);
    clock_format_iso(ms, 0, fx->iso[i], sizeof(fx->iso[i]));
    struct still_info si = {.filename = s->relpath, .camera_name = "c1", .local_path = s->path,
                            .capture_ms = ms, .capture_iso = fx->iso[i], .file_size = s->size,
                            .width = 64, .height = 48, .sha256_hex = s->sha256};
    assert_int_equal(store_add_still(fx->st, &si, NULL), CS_OK);
    assert_int_equal(delivery_object_name(s->relpath, s->sha256, OBJECT_NAME_DIGEST, fx->name[i],
                                          sizeof(fx->name[i])),
                     CS_OK);
    delivery_image_id("store-001", "ASE", fx->name[i], id);
    snprintf(path, sizeof(path), "%s/ASE/store-001/%s", fx->out, fx->name[i]);
    memcpy(fx->obj[i], path, sizeof(path));
    snprintf(path, sizeof(path), "%s/rows/%s.json", fx->out, id);
    memcpy(fx->row[i], path, sizeof(path));
    return i;
}

static struct delivery_summary deliver(struct fx *fx, const struct config *cfg,
                                       struct delivery_opts *opts)
{
    struct delivery_opts def = {.sync = true};
    struct delivery_summary sum;
    struct delivery *d;
    char err[256] = "";

    if (delivery_new(cfg ? cfg : fx->cfg, fx->st, fx->sp, &d, err, sizeof(err)) != CS_OK)
        fail_msg("delivery_new: %s", err);
    assert_int_equal(delivery_run(d, opts ? opts : &def, &sum), CS_OK);
    delivery_free(d);
    assert_int_equal(sum.in_flight, 0);
    return sum;
}

static void expect(const struct delivery_summary *s, int64_t delivered, int64_t already,
                   int64_t failed, int64_t quarantined, int64_t missing)
{
    if (s->delivered != delivered || s->already_there != already ||
        s->failed_attempts != failed || s->quarantined != quarantined || s->missing != missing)
        fail_msg("summary delivered %lld already %lld failed %lld quarantined %lld missing %lld,"
                 " want %lld %lld %lld %lld %lld (%s)", (long long)s->delivered,
                 (long long)s->already_there, (long long)s->failed_attempts,
                 (long long)s->quarantined, (long long)s->missing, (long long)delivered,
                 (long long)already, (long long)failed, (long long)quarantined,
                 (long long)missing, s->last_error);
}

static void sql(struct fx *fx, const char *q)
{
    if (sqlite3_exec(fx->raw, q, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", q, sqlite3_errmsg(fx->raw));
}

/* A column of still i as text ("" for NULL); valid until the next call. */
static const char *column(struct fx *fx, int i, const char *col)
{
    static char out[512];
    sqlite3_stmt *s;
    char q[256];

    snprintf(q, sizeof(q), "SELECT %s FROM upload_tracking WHERE filename = ?1", col);
    assert_int_equal(sqlite3_prepare_v2(fx->raw, q, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, fx->s[i].relpath, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const unsigned char *v = sqlite3_column_text(s, 0);
    snprintf(out, sizeof(out), "%s", v ? (const char *)v : "");
    sqlite3_finalize(s);
    return out;
}

static int64_t column_int(struct fx *fx, int i, const char *col)
{
    return strtoll(column(fx, i, col), NULL, 10);
}

static enum still_status status_of(struct fx *fx, int i)
{
    bool found;
    int64_t size;
    enum still_status st;

    assert_int_equal(store_lookup(fx->st, fx->s[i].relpath, &found, &size, &st), CS_OK);
    assert_true(found);
    return st;
}

/* Reads a whole (small) file; NULL when absent. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = f ? malloc(1 << 20) : NULL;

    *len = 0;
    if (f) {
        *len = fread(buf, 1, 1 << 20, f);
        fclose(f);
    }
    return buf;
}

/* The file at path holds exactly data[0..len). */
static void expect_file(const char *path, const void *data, size_t len)
{
    size_t n;
    uint8_t *got = slurp(path, &n);

    if (!got)
        fail_msg("%s is missing", path);
    assert_int_equal(n, len);
    assert_memory_equal(got, data, len);
    free(got);
}

/* Files under out/sub; temp files fail the test. */
static int count_files(struct fx *fx, const char *sub)
{
    char path[1200];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", fx->out, sub);
    if (!(d = opendir(path)))
        return 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (strstr(e->d_name, ".tmp"))
            fail_msg("temp file %s left in %s", e->d_name, path);
        n++;
    }
    closedir(d);
    return n;
}

static void mkdirs(const char *path)
{
    char cmd[1200];

    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Still i is success, its object holds the local bytes, its row is right. */
static void check_delivered(struct fx *fx, int i)
{
    char id[37], url[1100];
    size_t len;
    uint8_t *local = slurp(fx->s[i].path, &len);
    json_t *row;
    json_error_t je;
    double kb;

    assert_int_equal(status_of(fx, i), STILL_SUCCESS);
    assert_int_equal(column_int(fx, i, "remote_step"), 2);
    assert_non_null(local);
    assert_int_equal((int64_t)len, fx->s[i].size);
    expect_file(fx->obj[i], local, len);
    free(local);
    assert_string_equal(column(fx, i, "object_name"), fx->name[i]);
    delivery_image_id("store-001", "ASE", fx->name[i], id);
    assert_string_equal(column(fx, i, "image_id"), id);
    snprintf(url, sizeof(url), "file://%s", fx->obj[i]);
    if (!(row = json_load_file(fx->row[i], 0, &je)))
        fail_msg("row %s: %s", fx->row[i], je.text);
    const char *want[][2] = {{"image_id", id}, {"image_url", url}, {"camera_name", "camera_c1"},
                             {"resolution", "64x48"}, {"restaurant_id", "store-001"},
                             {"capture_timestamp", fx->iso[i]}};
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        const char *got = json_string_value(json_object_get(row, want[k][0]));
        if (!got || strcmp(got, want[k][1]))
            fail_msg("row %s: %s is %s, want %s", fx->row[i], want[k][0], got ? got : "-",
                     want[k][1]);
    }
    assert_true(json_is_number(json_object_get(row, "file_size_kb")));
    kb = json_number_value(json_object_get(row, "file_size_kb"));
    if (fabs(kb - round((double)fx->s[i].size / 1024.0 * 10) / 10) > 1e-9)
        fail_msg("file_size_kb %g for %lld bytes", kb, (long long)fx->s[i].size);
    json_decref(row);
}

/* (a) 50 stills: each object byte-identical, one row each, right fields. */
static void delivers_everything_once(void **state)
{
    struct fx *fx = *state;
    struct delivery_summary sum;
    int64_t bytes = 0;

    for (int i = 0; i < 50; i++)
        bytes += fx->s[add_still(fx, T0 + i * 1000)].size;
    sum = deliver(fx, NULL, NULL);
    expect(&sum, 50, 0, 0, 0, 0);
    assert_int_equal(sum.bytes, bytes);
    for (int i = 0; i < 50; i++)
        check_delivered(fx, i);
    assert_int_equal(count_files(fx, "ASE/store-001/camera_c1"), 50);
    assert_int_equal(count_files(fx, "rows"), 50);
    sum = deliver(fx, NULL, NULL); /* nothing is due any more */
    expect(&sum, 0, 0, 0, 0, 0);
}

/* (b) The answers were lost: the database still says pending/step 0. Half
 * of the rows never made it (lost during the row step). */
static void redelivery_after_lost_answers_is_idempotent(void **state)
{
    struct fx *fx = *state;
    struct delivery_summary sum;

    for (int i = 0; i < 10; i++)
        add_still(fx, T0 + i * 1000);
    expect((sum = deliver(fx, NULL, NULL), &sum), 10, 0, 0, 0, 0);
    for (int i = 0; i < 10; i += 2)
        assert_int_equal(unlink(fx->row[i]), 0);
    sql(fx, "UPDATE upload_tracking SET upload_status = 'pending', remote_step = 0, "
            "image_id = NULL, supabase_url = NULL, delivered_ms = NULL");
    sum = deliver(fx, NULL, NULL);
    expect(&sum, 10, 10, 0, 0, 0); /* already there: once per still, object and row alike */
    for (int i = 0; i < 10; i++)
        check_delivered(fx, i);
    assert_int_equal(count_files(fx, "ASE/store-001/camera_c1"), 10);
    assert_int_equal(count_files(fx, "rows"), 10);
}

/* (c) remote_step 1: the object is there, only the row is sent. Still 0's
 * row arrived but its answer was lost; still 1's row never arrived; still
 * 2's row never arrived and its local file is gone (not needed any more). */
static void resumes_at_the_row(void **state)
{
    struct fx *fx = *state;
    struct delivery_summary sum;
    struct stat before[3], after;
    uint8_t *row_text[3];
    size_t rl[3];

    for (int i = 0; i < 3; i++)
        add_still(fx, T0 + i * 1000);
    expect((sum = deliver(fx, NULL, NULL), &sum), 3, 0, 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(stat(fx->obj[i], &before[i]), 0);
        assert_non_null(row_text[i] = slurp(fx->row[i], &rl[i]));
        if (i > 0)
            assert_int_equal(unlink(fx->row[i]), 0);
    }
    assert_int_equal(unlink(fx->s[2].path), 0);
    sql(fx, "UPDATE upload_tracking SET upload_status = 'pending', remote_step = 1");
    usleep(20000); /* a rewrite would get a later mtime */

    sum = deliver(fx, NULL, NULL);
    expect(&sum, 3, 1, 0, 0, 0);
    assert_int_equal(sum.bytes, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(stat(fx->obj[i], &after), 0);
        assert_int_equal(after.st_ino, before[i].st_ino);
        assert_int_equal(after.st_mtim.tv_sec, before[i].st_mtim.tv_sec);
        assert_int_equal(after.st_mtim.tv_nsec, before[i].st_mtim.tv_nsec);
        expect_file(fx->row[i], row_text[i], rl[i]);
        assert_int_equal(status_of(fx, i), STILL_SUCCESS);
        assert_int_equal(column_int(fx, i, "remote_step"), 2);
        free(row_text[i]);
    }
    check_delivered(fx, 1);
}

/* (d) Someone else's object at our path: kept, and the still quarantined. */
static void conflict_is_kept_and_quarantined(void **state)
{
    struct fx *fx = *state;
    struct delivery_summary sum;
    char dir[1100];
    uint8_t *theirs;
    size_t len;

    add_still(fx, T0);
    add_still(fx, T0 + 1000);
    snprintf(dir, sizeof(dir), "%s/ASE/store-001/camera_c1", fx->out);
    mkdirs(dir);
    /* same size, one byte different; and a smaller file */
    theirs = slurp(fx->s[0].path, &len);
    theirs[len / 2] ^= 0x55;
    write_file(fx->obj[0], theirs, len);
    write_file(fx->obj[1], "not ours", 8);

    sum = deliver(fx, NULL, NULL);
    expect(&sum, 0, 0, 0, 2, 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(status_of(fx, i), STILL_QUARANTINED);
        if (!strstr(column(fx, i, "error_message"), "conflict"))
            fail_msg("quarantine reason \"%s\" does not say conflict",
                     column(fx, i, "error_message"));
    }
    expect_file(fx->obj[0], theirs, len);
    expect_file(fx->obj[1], "not ours", 8);
    free(theirs);
    assert_int_equal(count_files(fx, "rows"), 0);
    sum = deliver(fx, NULL, NULL); /* quarantined stills are never tried again */
    expect(&sum, 0, 0, 0, 0, 0);
}

/* (e) Gone: missing. Changed after capture: quarantined, not delivered. */
static void missing_and_changed_files(void **state)
{
    struct fx *fx = *state;
    struct delivery_summary sum;
    uint8_t *data;
    size_t len;
    int gone = add_still(fx, T0), flipped = add_still(fx, T0 + 1000);
    int cut = add_still(fx, T0 + 2000), good = add_still(fx, T0 + 3000);

    assert_int_equal(unlink(fx->s[gone].path), 0);
    data = slurp(fx->s[flipped].path, &len);
    data[len - 10] ^= 0xff; /* same size, other bytes */
    write_file(fx->s[flipped].path, data, len);
    write_file(fx->s[cut].path, data, len / 2);
    free(data);

    sum = deliver(fx, NULL, NULL);
    expect(&sum, 1, 0, 0, 2, 1);
    assert_int_equal(status_of(fx, gone), STILL_MISSING);
    assert_int_equal(status_of(fx, flipped), STILL_QUARANTINED);
    assert_int_equal(status_of(fx, cut), STILL_QUARANTINED);
    if (!strstr(column(fx, flipped, "error_message"), "changed"))
        fail_msg("quarantine reason \"%s\" does not say changed",
                 column(fx, flipped, "error_message"));
    assert_non_null(strstr(column(fx, cut, "error_message"), "recorded at capture"));
    check_delivered(fx, good);
    for (int i = 0; i < 3; i++)
        assert_int_equal(access(fx->obj[i], F_OK), -1);
}

/* Still i delivered under its spool (plain) name, with the row id of it. */
static void use_plain_name(struct fx *fx, int i)
{
    char id[37], path[sizeof(fx->obj[0])];

    assert_true(strlen(fx->s[i].relpath) < sizeof(fx->name[i]));
    memcpy(fx->name[i], fx->s[i].relpath, strlen(fx->s[i].relpath) + 1);
    snprintf(path, sizeof(path), "%s/ASE/store-001/%s", fx->out, fx->s[i].relpath);
    memcpy(fx->obj[i], path, sizeof(path));
    delivery_image_id("store-001", "ASE", fx->s[i].relpath, id);
    snprintf(path, sizeof(path), "%s/rows/%s.json", fx->out, id);
    memcpy(fx->row[i], path, sizeof(path));
}

/* Writes bytes under the plain name of still i (another site's object). */
static void put_theirs(struct fx *fx, int i, const uint8_t *bytes, size_t len)
{
    char path[1100];

    snprintf(path, sizeof(path), "%s/ASE/store-001/camera_c1", fx->out);
    mkdirs(path);
    snprintf(path, sizeof(path), "%s/ASE/store-001/%s", fx->out, fx->s[i].relpath);
    write_file(path, bytes, len);
}

/* Another still's bytes: still i's with one byte changed (same size). */
static uint8_t *other_bytes(struct fx *fx, int i, size_t *len)
{
    uint8_t *bytes = slurp(fx->s[i].path, len);

    bytes[*len / 2] ^= 0x55;
    return bytes;
}

/* (j) A second site with the same restaurant_id and camera names stored its
 * own still under our still's plain name first: with digest names (the
 * default) ours goes next to it, both kept, our row pointing at our bytes. */
static void another_sites_still_under_the_plain_name(void **state)
{
    struct fx *fx = *state;
    struct delivery_summary sum;
    int a = add_still(fx, T0);
    size_t len;
    uint8_t *theirs = other_bytes(fx, a, &len);
    char path[1100];

    put_theirs(fx, a, theirs, len);
    sum = deliver(fx, NULL, NULL);
    expect(&sum, 1, 0, 0, 0, 0);
    check_delivered(fx, a);
    assert_string_equal(column(fx, a, "remote_check"), "stored");
    snprintf(path, sizeof(path), "%s/ASE/store-001/%s", fx->out, fx->s[a].relpath);
    expect_file(path, theirs, len);
    assert_int_equal(count_files(fx, "ASE/store-001/camera_c1"), 2);
    free(theirs);
}

/* (k) object_name = plain: the spool name remotely; another site's still
 * under it is a conflict (this backend reads it back), never ours. */
static void plain_names(void **state)
{
    struct fx *fx = *state;
    struct config *cfg = make_config_named(fx, fx->out, 4, "plain");
    struct delivery_summary sum;
    int a = add_still(fx, T0), b = add_still(fx, T0 + 1000);
    size_t len;
    uint8_t *theirs = other_bytes(fx, a, &len);

    put_theirs(fx, a, theirs, len);
    use_plain_name(fx, a);
    use_plain_name(fx, b);
    sum = deliver(fx, cfg, NULL);
    expect(&sum, 1, 0, 0, 1, 0);
    assert_int_equal(status_of(fx, a), STILL_QUARANTINED);
    assert_non_null(strstr(column(fx, a, "error_message"), "conflict"));
    expect_file(fx->obj[a], theirs, len);
    check_delivered(fx, b);
    config_free(cfg);
    free(theirs);
}

/* (l) A still an older camsnap attempted under its plain name (the answer
 * was lost) keeps that name after the upgrade (the migration names every
 * row it finds plain): the retry meets its own object, one object, one row. */
static void named_before_the_upgrade_keeps_its_name(void **state)
{
    struct fx *fx = *state;
    struct delivery_summary sum;
    int a = add_still(fx, T0);
    size_t len;
    uint8_t *ours = slurp(fx->s[a].path, &len);

    put_theirs(fx, a, ours, len); /* the lost answer's object: our bytes */
    sql(fx, "UPDATE upload_tracking SET object_name = filename, upload_status = 'failed', "
            "upload_attempts = 1");
    use_plain_name(fx, a);
    sum = deliver(fx, NULL, NULL);
    expect(&sum, 1, 1, 0, 0, 0);
    check_delivered(fx, a);
    assert_string_equal(column(fx, a, "remote_check"), "content");
    assert_int_equal(count_files(fx, "ASE/store-001/camera_c1"), 1);
    free(ours);
}

struct order_ctx {
    struct fx *fx;
    int by_age[MAXS];           /* still indexes, oldest first */
    int calls, violations;
};

/* After each settled still, the delivered ones are exactly the oldest. */
static void on_progress(void *ctx, const struct delivery_summary *s)
{
    struct order_ctx *o = ctx;

    o->calls++;
    for (int k = 0; k < o->fx->n; k++) {
        bool done = status_of(o->fx, o->by_age[k]) == STILL_SUCCESS;
        if (done != (k < s->delivered))
            o->violations++;
    }
}

/* (f) Oldest capture first, whatever the insertion order. */
static void oldest_first(void **state)
{
    struct fx *fx = *state;
    struct config *cfg = make_config(fx, fx->out, 1);
    static const int age[12] = {7, 2, 11, 0, 5, 9, 1, 10, 3, 8, 6, 4};
    struct order_ctx o = {.fx = fx};
    struct delivery_opts opts = {.sync = true, .progress = on_progress, .ctx = &o};
    struct delivery_summary sum;

    for (int i = 0; i < 12; i++)
        o.by_age[age[i]] = add_still(fx, T0 + age[i] * 60000);
    sum = deliver(fx, cfg, &opts);
    expect(&sum, 12, 0, 0, 0, 0);
    assert_int_equal(o.calls, 12);
    assert_int_equal(o.violations, 0);
    config_free(cfg);
}

/* (g) An unwritable destination: failed, retried later; then delivered. */
static void failure_then_recovery(void **state)
{
    struct fx *fx = *state;
    char blocked[700], p[800], err[256];
    struct config *cfg;
    struct delivery *d;
    struct delivery_summary sum;
    struct delivery_opts opts = {.sync = true, .wait_ms = 5000};
    int64_t before = clock_wall_ms();

    for (int i = 0; i < 3; i++)
        add_still(fx, T0 + i * 1000);
    /* a destination under a regular file cannot even be created */
    snprintf(p, sizeof(p), "%s/plainfile", fx->dir);
    write_file(p, "x", 1);
    snprintf(blocked, sizeof(blocked), "%s/plainfile/out", fx->dir);
    cfg = make_config(fx, blocked, 4);
    assert_int_not_equal(delivery_new(cfg, fx->st, fx->sp, &d, err, sizeof(err)), CS_OK);
    assert_true(err[0]);
    config_free(cfg);
    /* the bucket directory is a regular file: every object write fails */
    snprintf(blocked, sizeof(blocked), "%s/blocked", fx->dir);
    mkdirs(blocked);
    snprintf(p, sizeof(p), "%s/ASE", blocked);
    write_file(p, "x", 1);
    cfg = make_config(fx, blocked, 4);
    sum = deliver(fx, cfg, NULL);
    config_free(cfg);
    assert_true(sum.failed_attempts >= 1);
    expect(&sum, 0, 0, sum.failed_attempts, 0, 0);
    assert_true(sum.last_error[0]);
    for (int i = 0; i < 3; i++) {
        const char *cls = column(fx, i, "error_class");
        assert_true(!strcmp(cls, "retry") || !strcmp(cls, "attention"));
        assert_int_equal(status_of(fx, i), STILL_FAILED);
        assert_int_equal(column_int(fx, i, "upload_attempts"), 1);
        assert_int_equal(column_int(fx, i, "remote_step"), 0);
        assert_true(column_int(fx, i, "next_attempt_ms") > clock_wall_ms());
        assert_true(column_int(fx, i, "last_attempt_ms") >= before);
        assert_non_null(strstr(column(fx, i, "error_message"), fx->name[i]));
    }
    /* fixed: a new destination, and a sync that waits */
    sum = deliver(fx, NULL, &opts);
    expect(&sum, 3, 0, 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        check_delivered(fx, i);
        assert_string_equal(column(fx, i, "error_message"), "");
    }
}

#define SHA_A "3fa2c91b0123456789abcdef0123456789abcdef0123456789abcdef01234567"
#define SHA_B "0000000089abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The verdict on the answer to the reading back as the Supabase backend
 * classifies it: a 200 with the bytes' size and SHA-256 (as backend_supabase.c's
 * result_of()), or another answer. */
static enum delivery_verify verdict_of(long http, const char *body, int64_t size, const char *sha,
                                       bool digest, int64_t failures_before)
{
    struct dl_result r;

    memset(&r, 0, sizeof(r));
    supabase_classify(DL_STEP_VERIFY, NULL, http, body, body ? strlen(body) : 0, &r);
    r.remote_size = http == 200 && r.cls == DL_OK ? size : -1;
    snprintf(r.remote_sha256, sizeof(r.remote_sha256), "%s", http == 200 ? sha : "");
    return delivery_verify_verdict(&r, 1000, SHA_A, digest, failures_before);
}

/* (h) Identity after "already exists": the bytes read back decide; when
 * they cannot be read, a digest name proves it and a plain name cannot
 * (unproven, never silent); a transient failure is retried for a plain name
 * only, until DELIVERY_VERIFY_ATTEMPTS readings failed. */
static void verify_verdicts(void **state)
{
    static const long never[] = {501, 405, 400, 401, 403, 404, 410, 302, 204, 206};
    static const long transient[] = {500, 502, 503, 504, 544, 429, 408};
    const char *lock = "{\"statusCode\":\"503\",\"error\":\"LockTimeout\"}";
    const char *gone = "{\"statusCode\":\"404\",\"code\":\"NoSuchKey\"}";
    const char *rls200 = "{\"statusCode\":\"404\",\"error\":\"not_found\",\"message\":"
                         "\"Object not found\"}";

    (void)state;
    assert_true(DELIVERY_VERIFY_ATTEMPTS >= 3 && DELIVERY_VERIFY_ATTEMPTS <= 5);
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        for (int64_t before = 0; before <= DELIVERY_VERIFY_ATTEMPTS; before++) {
            if (verdict_of(never[i], NULL, 1000, SHA_A, false, before) != DELIVERY_VERIFY_UNPROVEN)
                fail_msg("GET answered %ld (%lld failures before): not \"unproven\"", never[i],
                         (long long)before);
            assert_int_equal(verdict_of(never[i], NULL, 1000, SHA_A, true, before),
                             DELIVERY_VERIFY_BY_NAME);
        }
    }
    assert_int_equal(verdict_of(400, gone, -1, "", false, 0), DELIVERY_VERIFY_UNPROVEN);
    assert_int_equal(verdict_of(400, gone, -1, "", true, 0), DELIVERY_VERIFY_BY_NAME);
    /* a 200 whose body is Storage's "not found": not the object */
    assert_int_equal(verdict_of(200, rls200, 60, "", true, 0), DELIVERY_VERIFY_BY_NAME);
    assert_int_equal(verdict_of(200, rls200, 60, "", false, 0), DELIVERY_VERIFY_UNPROVEN);
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
        int64_t tries = 0;
        assert_int_equal(verdict_of(transient[i], NULL, -1, "", true, 0), DELIVERY_VERIFY_BY_NAME);
        while (verdict_of(transient[i], NULL, -1, "", false, tries) == DELIVERY_VERIFY_AGAIN)
            assert_true(++tries < 100);
        /* tries failures were recorded; the next answer ended the reading */
        if (tries + 1 != DELIVERY_VERIFY_ATTEMPTS)
            fail_msg("GET answered %ld: %lld readings, want %d", transient[i], (long long)tries + 1,
                     DELIVERY_VERIFY_ATTEMPTS);
        assert_int_equal(verdict_of(transient[i], NULL, -1, "", false, tries + 7),
                         DELIVERY_VERIFY_UNPROVEN);
    }
    assert_int_equal(verdict_of(400, lock, -1, "", false, 0), DELIVERY_VERIFY_AGAIN);
    /* a 200: size and SHA-256 decide, whatever the name */
    for (int digest = 0; digest <= 1; digest++) {
        assert_int_equal(verdict_of(200, NULL, 1000, SHA_A, digest, 0), DELIVERY_VERIFY_SAME);
        assert_int_equal(verdict_of(200, NULL, 1000, SHA_B, digest, 0), DELIVERY_VERIFY_DIFFERS);
        assert_int_equal(verdict_of(200, NULL, 999, SHA_A, digest, 0), DELIVERY_VERIFY_DIFFERS);
        assert_int_equal(verdict_of(200, NULL, 0, "", digest, 0), DELIVERY_VERIFY_DIFFERS);
        assert_int_equal(verdict_of(200, NULL, 1000, SHA_A, digest, DELIVERY_VERIFY_ATTEMPTS),
                         DELIVERY_VERIFY_SAME);
    }
}

/* Object names: the digest goes before the extension; plain is the spool
 * name; a name "has" a digest only if it ends in that still's. */
static void object_names(void **state)
{
    const char *f = "camera_27/20261126_113000_2592_1944.jpg";
    char out[256], tiny[20];

    (void)state;
    assert_int_equal(delivery_object_name(f, SHA_A, OBJECT_NAME_DIGEST, out, sizeof(out)), CS_OK);
    assert_string_equal(out, "camera_27/20261126_113000_2592_1944_3fa2c91b.jpg");
    assert_true(delivery_name_has_digest(out, SHA_A));
    assert_false(delivery_name_has_digest(out, SHA_B));
    assert_false(delivery_name_has_digest(f, SHA_A));
    assert_int_equal(delivery_object_name("camera_a.b/20261126_113000_64_48_1.jpg", SHA_B,
                                          OBJECT_NAME_DIGEST, out, sizeof(out)),
                     CS_OK);
    assert_string_equal(out, "camera_a.b/20261126_113000_64_48_1_00000000.jpg");
    assert_int_equal(
        delivery_object_name("camera_a.b/noext", SHA_B, OBJECT_NAME_DIGEST, out, sizeof(out)),
        CS_OK);
    assert_string_equal(out, "camera_a.b/noext_00000000");
    assert_true(delivery_name_has_digest(out, SHA_B));
    assert_int_equal(delivery_object_name(f, SHA_A, OBJECT_NAME_PLAIN, out, sizeof(out)), CS_OK);
    assert_string_equal(out, f);
    assert_int_equal(delivery_object_name(f, "", OBJECT_NAME_DIGEST, out, sizeof(out)),
                     CS_BADFRAME);
    assert_int_equal(delivery_object_name(f, SHA_A, OBJECT_NAME_DIGEST, tiny, sizeof(tiny)),
                     CS_TOOBIG);
}

/* (i) image_id: RFC 4122 version 5, deterministic, per restaurant. */
static void image_id_is_a_v5_uuid(void **state)
{
    const char *path = "camera_27/20261126_113000_2592_1944.jpg";
    char a[37], b[37], c[37], e[37];

    (void)state;
    delivery_image_id("store-001", "ASE", path, a);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(strspn(a, "0123456789abcdef-"), 36);
    for (int i = 0; i < 36; i++)
        assert_int_equal(a[i] == '-', i == 8 || i == 13 || i == 18 || i == 23);
    assert_int_equal(a[14], '5');                /* version 5: name-based, SHA-1 */
    assert_non_null(strchr("89ab", a[19]));      /* variant 10xx: RFC 4122 */
    delivery_image_id("store-001", "ASE", path, b);
    assert_string_equal(a, b);
    delivery_image_id("store-002", "ASE", path, c);
    assert_string_not_equal(a, c);
    delivery_image_id("store-001", "ASE", "camera_27/20261126_113000_2592_1944_1.jpg", e);
    assert_string_not_equal(a, e);
    /* Fixed forever: rows already in the table carry these ids (Python's
     * uuid.uuid5 with camsnap's namespace gives the same). */
    assert_string_equal(a, "f3c1e303-7a22-5bca-8681-ea931b62ff20");
    delivery_image_id(NULL, "ASE", path, c);
    assert_string_equal(c, "2d93bf56-2beb-5981-95a0-686d00f87dd2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(delivers_everything_once, setup, teardown),
        cmocka_unit_test_setup_teardown(redelivery_after_lost_answers_is_idempotent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(resumes_at_the_row, setup, teardown),
        cmocka_unit_test_setup_teardown(conflict_is_kept_and_quarantined, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_and_changed_files, setup, teardown),
        cmocka_unit_test_setup_teardown(oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(failure_then_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(another_sites_still_under_the_plain_name, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_names, setup, teardown),
        cmocka_unit_test_setup_teardown(named_before_the_upgrade_keeps_its_name, setup, teardown),
        cmocka_unit_test(verify_verdicts),
        cmocka_unit_test(object_names),
        cmocka_unit_test(image_id_is_a_v5_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
