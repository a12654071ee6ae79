/* test_delivery.c - the delivery engine end to end with the real `dir`
 * backend, a real SQLite store, a real spool and real JPEGs. */
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
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

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
    struct spool *sp;
    struct store *st;
    struct image_buf jpeg;
    struct spool_still s[MAXS];
    char iso[MAXS][40];
    int64_t ms[MAXS];
    int n;
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
    log_set_level(LOG_LEVEL_ERROR);
    assert_non_null(test_mkdtemp(fx->dir, sizeof(fx->dir)));
    snprintf(fx->db, sizeof(fx->db), "%s/capture_tracking.db", fx->dir);
    snprintf(fx->out, sizeof(fx->out), "%s/delivered", fx->dir);
    assert_int_equal(store_open(fx->db, &fx->st), CS_OK);
    assert_int_equal(spool_open(fx->dir, &fx->sp), CS_OK);
    assert_int_equal(source_open(&cam, clock_mono_ms() + 1000, &src, err, sizeof(err)), CS_OK);
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

static struct config *make_config(struct fx *fx, const char *out, int concurrency)
{
    char text[2048];
    struct config *cfg;

    snprintf(text, sizeof(text),
             "[general]\nstate_dir = %s\nwindow = always\nrestaurant_id = store-001\n"
             "[upload]\nbackend = dir\npath = %s\nconcurrency = %d\nbackoff_base = 1s\n"
             "backoff_cap = 2s\nretry_interval = 1s\n[camera c1]\nurl = synthetic://64x48\n",
             fx->dir, out, concurrency);
    assert_int_equal(config_load_string(text, "test", NULL, stderr, &cfg), CS_OK);
    return cfg;
}

/* A still captured at wall time ms: the JPEG plus a 4-byte tag after its
 * end marker, so every still has its own bytes. Returns its index. */
static int add_still(struct fx *fx, int64_t ms)
{
    int i = fx->n++;
    size_t len = fx->jpeg.len + 4;
    uint8_t *data = malloc(len);
    struct spool_still *s = &fx->s[i];

    assert_true(i < MAXS);
    memcpy(data, fx->jpeg.data, fx->jpeg.len);
    memcpy(data + fx->jpeg.len, &i, 4);
    assert_int_equal(spool_write(fx->sp, "c1", ms, 64, 48, "jpg", data, len, s), CS_OK);
    free(data);
    fx->ms[i] = ms;
    clock_format_iso(ms, 0, fx->iso[i], sizeof(fx->iso[i]));
    struct still_info si = {.filename = s->relpath, .camera_name = "c1", .local_path = s->path,
                            .capture_ms = ms, .capture_iso = fx->iso[i], .file_size = s->size,
                            .width = 64, .height = 48, .sha256_hex = s->sha256};
    assert_int_equal(store_add_still(fx->st, &si, NULL), CS_OK);
    return i;
}

static struct delivery_summary deliver(struct fx *fx, const struct config *cfg,
                                       struct delivery_opts *opts)
{
    struct delivery_opts def = {.sync = true};
    struct delivery_summary sum;
    struct delivery *d;
    char err[256] = "";

    if (!opts)
        opts = &def;
    if (delivery_new(cfg, fx->st, fx->sp, &d, err, sizeof(err)) != CS_OK)
        fail_msg("delivery_new: %s", err);
    assert_int_equal(delivery_run(d, opts, &sum), CS_OK);
    delivery_free(d);
    return sum;
}

/* Runs SQL on a second connection (tests only). */
static void sql(struct fx *fx, const char *q)
{
    sqlite3 *db;
    char *err = NULL;

    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", q, err);
    sqlite3_close(db);
}

/* A column of still i as text ("" for NULL). */
static void column(struct fx *fx, int i, const char *col, char *out, size_t outsz)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char q[256];

    snprintf(q, sizeof(q), "SELECT %s FROM upload_tracking WHERE filename = ?1", col);
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, fx->s[i].relpath, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const unsigned char *v = sqlite3_column_text(s, 0);
    snprintf(out, outsz, "%s", v ? (const char *)v : "");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static int64_t column_int(struct fx *fx, int i, const char *col)
{
    char v[64];

    column(fx, i, col, v, sizeof(v));
    return strtoll(v, NULL, 10);
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

/* Reads a whole file; NULL when absent. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static void object_path(struct fx *fx, const char *out, int i, char *p, size_t psz)
{
    snprintf(p, psz, "%s/ASE/%s", out, fx->s[i].relpath);
}

static void row_path(struct fx *fx, const char *out, int i, char *p, size_t psz)
{
    char id[37];

    delivery_image_id("store-001", "ASE", fx->s[i].relpath, id);
    snprintf(p, psz, "%s/rows/%s.json", out, id);
}

/* Regular files in dir; temp files fail the test. */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
            continue;
        if (strstr(e->d_name, ".tmp"))
            fail_msg("temp file %s left in %s", e->d_name, dir);
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

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void check_delivered(struct fx *fx, const char *out, int i)
{
    char p[1200], id[37], url[1400], got_id[64];
    size_t ln, rn;
    uint8_t *local = slurp(fx->s[i].path, &ln), *remote;
    json_t *row;
    json_error_t je;
    double kb;

    assert_int_equal(status_of(fx, i), STILL_SUCCESS);
    assert_int_equal(column_int(fx, i, "remote_step"), 2);
    object_path(fx, out, i, p, sizeof(p));
    remote = slurp(p, &rn);
    assert_non_null(local);
    assert_non_null(remote);
    assert_int_equal(rn, ln);
    assert_int_equal((int64_t)rn, fx->s[i].size);
    assert_memory_equal(remote, local, ln);
    free(local);
    free(remote);
    snprintf(url, sizeof(url), "file://%s", p);

    delivery_image_id("store-001", "ASE", fx->s[i].relpath, id);
    column(fx, i, "image_id", got_id, sizeof(got_id));
    assert_string_equal(got_id, id);
    row_path(fx, out, i, p, sizeof(p));
    row = json_load_file(p, 0, &je);
    if (!row)
        fail_msg("row %s: %s", p, je.text);
    assert_string_equal(json_string_value(json_object_get(row, "image_id")), id);
    assert_string_equal(json_string_value(json_object_get(row, "image_url")), url);
    assert_string_equal(json_string_value(json_object_get(row, "camera_name")), "camera_c1");
    assert_string_equal(json_string_value(json_object_get(row, "resolution")), "64x48");
    assert_string_equal(json_string_value(json_object_get(row, "restaurant_id")), "store-001");
    assert_string_equal(json_string_value(json_object_get(row, "capture_timestamp")),
                        fx->iso[i]);
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
    struct config *cfg = make_config(fx, fx->out, 4);
    struct delivery_summary sum;
    int64_t bytes = 0;
    char dir[700];

    for (int i = 0; i < 50; i++)
        bytes += fx->s[add_still(fx, T0 + i * 1000)].size;
    sum = deliver(fx, cfg, NULL);
    assert_int_equal(sum.delivered, 50);
    assert_int_equal(sum.already_there, 0);
    assert_int_equal(sum.failed_attempts + sum.quarantined + sum.missing, 0);
    assert_int_equal(sum.bytes, bytes);
    assert_int_equal(sum.in_flight, 0);
    for (int i = 0; i < 50; i++)
        check_delivered(fx, fx->out, i);
    snprintf(dir, sizeof(dir), "%s/ASE/camera_c1", fx->out);
    assert_int_equal(count_files(dir), 50);
    snprintf(dir, sizeof(dir), "%s/rows", fx->out);
    assert_int_equal(count_files(dir), 50);
    /* nothing is due any more */
    sum = deliver(fx, cfg, NULL);
    assert_int_equal(sum.delivered, 0);
    config_free(cfg);
}

/* (b) The answers were lost: the database still says pending/step 0. */
static void redelivery_after_lost_answers_is_idempotent(void **state)
{
    struct fx *fx = *state;
    struct config *cfg = make_config(fx, fx->out, 4);
    struct delivery_summary sum;
    char dir[700];

    for (int i = 0; i < 10; i++)
        add_still(fx, T0 + i * 1000);
    assert_int_equal(deliver(fx, cfg, NULL).delivered, 10);
    sql(fx, "UPDATE upload_tracking SET upload_status = 'pending', remote_step = 0, "
            "image_id = NULL, supabase_url = NULL, delivered_ms = NULL");
    sum = deliver(fx, cfg, NULL);
    assert_int_equal(sum.delivered, 10);
    assert_int_equal(sum.already_there, 10);
    assert_int_equal(sum.failed_attempts + sum.quarantined + sum.missing, 0);
    for (int i = 0; i < 10; i++)
        check_delivered(fx, fx->out, i);
    snprintf(dir, sizeof(dir), "%s/ASE/camera_c1", fx->out);
    assert_int_equal(count_files(dir), 10);
    snprintf(dir, sizeof(dir), "%s/rows", fx->out);
    assert_int_equal(count_files(dir), 10);
    config_free(cfg);
}

/* (c) remote_step 1: the object is there, only the row is inserted. */
static void resumes_at_the_row(void **state)
{
    struct fx *fx = *state;
    struct config *cfg = make_config(fx, fx->out, 4);
    struct delivery_summary sum;
    struct stat before, after;
    char obj[1200], row[1200], q[512];
    uint8_t *row_text, *again;
    size_t rl, al;

    for (int i = 0; i < 3; i++)
        add_still(fx, T0 + i * 1000);
    assert_int_equal(deliver(fx, cfg, NULL).delivered, 3);
    object_path(fx, fx->out, 1, obj, sizeof(obj));
    row_path(fx, fx->out, 1, row, sizeof(row));
    assert_int_equal(stat(obj, &before), 0);
    assert_non_null(row_text = slurp(row, &rl));
    assert_int_equal(unlink(row), 0);
    snprintf(q, sizeof(q), "UPDATE upload_tracking SET upload_status = 'pending', "
             "remote_step = 1 WHERE filename = '%s'", fx->s[1].relpath);
    sql(fx, q);
    usleep(20000); /* a rewrite would get a later mtime */

    sum = deliver(fx, cfg, NULL);
    assert_int_equal(sum.delivered, 1);
    assert_int_equal(sum.already_there, 0);
    assert_int_equal(sum.bytes, 0);
    assert_int_equal(stat(obj, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    assert_non_null(again = slurp(row, &al));
    assert_int_equal(al, rl);
    assert_memory_equal(again, row_text, rl);
    check_delivered(fx, fx->out, 1);
    free(row_text);
    free(again);
    config_free(cfg);
}

/* (d) Someone else's object at our path: kept, and the still quarantined. */
static void conflict_is_kept_and_quarantined(void **state)
{
    struct fx *fx = *state;
    struct config *cfg = make_config(fx, fx->out, 4);
    struct delivery_summary sum;
    char p[1200], msg[400], dir[700];
    uint8_t *theirs, *now;
    size_t len, nl;

    add_still(fx, T0);
    add_still(fx, T0 + 1000);
    snprintf(dir, sizeof(dir), "%s/ASE/camera_c1", fx->out);
    mkdirs(dir);
    /* same size, one byte different; and a smaller file */
    theirs = slurp(fx->s[0].path, &len);
    theirs[len / 2] ^= 0x55;
    object_path(fx, fx->out, 0, p, sizeof(p));
    write_file(p, theirs, len);
    object_path(fx, fx->out, 1, p, sizeof(p));
    write_file(p, (const uint8_t *)"not ours", 8);

    sum = deliver(fx, cfg, NULL);
    assert_int_equal(sum.delivered, 0);
    assert_int_equal(sum.quarantined, 2);
    assert_int_equal(sum.failed_attempts, 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(status_of(fx, i), STILL_QUARANTINED);
        column(fx, i, "error_message", msg, sizeof(msg));
        if (!strstr(msg, "conflict"))
            fail_msg("quarantine reason \"%s\" does not say conflict", msg);
    }
    object_path(fx, fx->out, 0, p, sizeof(p));
    now = slurp(p, &nl);
    assert_int_equal(nl, len);
    assert_memory_equal(now, theirs, len);
    free(now);
    object_path(fx, fx->out, 1, p, sizeof(p));
    now = slurp(p, &nl);
    assert_int_equal(nl, 8);
    assert_memory_equal(now, "not ours", 8);
    free(now);
    free(theirs);
    snprintf(dir, sizeof(dir), "%s/rows", fx->out);
    assert_int_equal(count_files(dir), 0);
    /* quarantined stills are never tried again */
    assert_int_equal(deliver(fx, cfg, NULL).quarantined, 0);
    config_free(cfg);
}

/* (e) Gone: missing. Changed after capture: quarantined, not delivered. */
static void missing_and_changed_files(void **state)
{
    struct fx *fx = *state;
    struct config *cfg = make_config(fx, fx->out, 4);
    struct delivery_summary sum;
    char msg[400], p[1200];
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

    sum = deliver(fx, cfg, NULL);
    assert_int_equal(sum.missing, 1);
    assert_int_equal(sum.quarantined, 2);
    assert_int_equal(sum.delivered, 1);
    assert_int_equal(sum.failed_attempts, 0);
    assert_int_equal(status_of(fx, gone), STILL_MISSING);
    assert_int_equal(status_of(fx, flipped), STILL_QUARANTINED);
    assert_int_equal(status_of(fx, cut), STILL_QUARANTINED);
    column(fx, flipped, "error_message", msg, sizeof(msg));
    if (!strstr(msg, "changed"))
        fail_msg("quarantine reason \"%s\" does not say changed", msg);
    column(fx, cut, "error_message", msg, sizeof(msg));
    assert_non_null(strstr(msg, "recorded at capture"));
    check_delivered(fx, fx->out, good);
    for (int i = 0; i < 3; i++) {
        object_path(fx, fx->out, i, p, sizeof(p));
        assert_int_equal(access(p, F_OK), -1);
    }
    config_free(cfg);
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
    assert_int_equal(sum.delivered, 12);
    assert_int_equal(o.calls, 12);
    assert_int_equal(o.violations, 0);
    config_free(cfg);
}

/* (g) An unwritable destination: failed, retried later; then delivered. */
static void failure_then_recovery(void **state)
{
    struct fx *fx = *state;
    char blocked[700], p[800], msg[400], cls[32], err[256];
    struct config *cfg;
    struct delivery *d;
    struct delivery_summary sum;
    struct delivery_opts opts = {.sync = true, .wait_ms = 5000};
    int64_t before = clock_wall_ms();

    for (int i = 0; i < 3; i++)
        add_still(fx, T0 + i * 1000);
    /* a destination under a regular file cannot even be created */
    snprintf(p, sizeof(p), "%s/plainfile", fx->dir);
    write_file(p, (const uint8_t *)"x", 1);
    snprintf(blocked, sizeof(blocked), "%s/plainfile/out", fx->dir);
    cfg = make_config(fx, blocked, 4);
    assert_int_not_equal(delivery_new(cfg, fx->st, fx->sp, &d, err, sizeof(err)), CS_OK);
    assert_true(err[0]);
    config_free(cfg);
    /* the bucket directory is a regular file: every object write fails */
    snprintf(blocked, sizeof(blocked), "%s/blocked", fx->dir);
    mkdirs(blocked);
    snprintf(p, sizeof(p), "%s/ASE", blocked);
    write_file(p, (const uint8_t *)"x", 1);
    cfg = make_config(fx, blocked, 4);
    sum = deliver(fx, cfg, NULL);
    config_free(cfg);
    assert_true(sum.failed_attempts >= 1);
    assert_int_equal(sum.delivered, 0);
    assert_int_equal(sum.quarantined, 0);
    assert_true(sum.last_error[0]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(status_of(fx, i), STILL_FAILED);
        assert_int_equal(column_int(fx, i, "upload_attempts"), 1);
        assert_int_equal(column_int(fx, i, "remote_step"), 0);
        assert_true(column_int(fx, i, "next_attempt_ms") > clock_wall_ms());
        assert_true(column_int(fx, i, "last_attempt_ms") >= before);
        column(fx, i, "error_message", msg, sizeof(msg));
        assert_non_null(strstr(msg, fx->s[i].relpath));
        column(fx, i, "error_class", cls, sizeof(cls));
        assert_true(!strcmp(cls, "retry") || !strcmp(cls, "attention"));
    }
    /* fixed: a new destination, and a sync that waits */
    cfg = make_config(fx, fx->out, 4);
    sum = deliver(fx, cfg, &opts);
    assert_int_equal(sum.delivered, 3);
    assert_int_equal(sum.failed_attempts + sum.quarantined, 0);
    for (int i = 0; i < 3; i++) {
        check_delivered(fx, fx->out, i);
        column(fx, i, "error_message", msg, sizeof(msg));
        assert_string_equal(msg, "");
    }
    config_free(cfg);
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* (h) image_id: RFC 4122 version 5, deterministic, per restaurant. */
static void image_id_is_a_v5_uuid(void **state)
{
    const char *path = "camera_27/20261126_113000_2592_1944.jpg";
    char a[37], b[37], c[37], e[37];

    (void)state;
    delivery_image_id("store-001", "ASE", path, a);
    assert_int_equal(strlen(a), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(a[i], '-');
        else
            assert_true(is_hex(a[i]));
    }
    assert_int_equal(a[14], '5');
    assert_non_null(strchr("89ab", a[19]));
    delivery_image_id("store-001", "ASE", path, b);
    assert_string_equal(a, b);
    delivery_image_id("store-002", "ASE", path, c);
    assert_string_not_equal(a, c);
    delivery_image_id(NULL, "ASE", path, c);
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
        cmocka_unit_test(image_id_is_a_v5_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
