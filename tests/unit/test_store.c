/*
 * test_store.c - store.c against real SQLite: ":memory:" where WAL and a
 * second connection do not matter, a fresh temporary directory (under
 * $CAMSNAP_TEST_TMP, else /tmp) where they do. The second ("raw")
 * connection builds legacy databases and sets states that belong to other
 * modules (success, failed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

struct fixture {
    char dir[512];
    char db[600];
};

static int setup_dir(void **state)
{
    const char *base = getenv("CAMSNAP_TEST_TMP");
    struct fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    if (!base || !*base)
        base = "/tmp";
    if (mkdir(base, 0700) != 0 && errno != EEXIST)
        goto out_free;
    snprintf(f->dir, sizeof f->dir, "%s/test_store-XXXXXX", base);
    if (!mkdtemp(f->dir))
        goto out_free;
    snprintf(f->db, sizeof f->db, "%s/%s", f->dir, STORE_FILENAME);
    *state = f;
    return 0;

out_free:
    free(f);
    return -1;
}

static int teardown_dir(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char path[1200];

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static struct still_info still(const char *filename, const char *camera, int64_t capture_ms,
                               int64_t size)
{
    struct still_info si = {
        .filename = filename,
        .camera_name = camera,
        .local_path = "/var/lib/camsnap/backup_queue/some.jpg",
        .capture_ms = capture_ms,
        .capture_iso = "2026-11-26T11:30:00+00:00",
        .file_size = size,
        .width = 2592,
        .height = 1944,
        .resolution_mismatch = false,
        .sha256_hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    return si;
}

static void add(struct store *st, const char *filename, const char *camera, int64_t ms,
                int64_t size)
{
    struct still_info si = still(filename, camera, ms, size);
    assert_int_equal(store_add_still(st, &si, NULL), CS_OK);
}

static struct store *open_ok(const char *path)
{
    struct store *st = NULL;
    enum cs_err rc = store_open(path, &st);
    if (rc != CS_OK)
        fail_msg("store_open(%s): %s: %s", path, cs_strerror(rc), store_last_error(NULL));
    return st;
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

/* First column of the first row; NULL reads as -1, no row fails. */
static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *s = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void raw_text(const char *path, const char *sql, char *buf, size_t cap)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *s = NULL;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static enum still_status status_of(struct store *st, const char *filename)
{
    bool found = false;
    int64_t size = 0;
    enum still_status status = STILL__COUNT;

    assert_int_equal(store_lookup(st, filename, &found, &size, &status), CS_OK);
    assert_true(found);
    return status;
}

static int64_t size_of(struct store *st, const char *filename)
{
    bool found = false;
    int64_t size = 0;
    enum still_status status;

    assert_int_equal(store_lookup(st, filename, &found, &size, &status), CS_OK);
    assert_true(found);
    return size;
}

#define MAX_WALK 16

struct walk {
    int calls;
    int stop_after; /* 0 = never */
    char names[MAX_WALK][128];
    int64_t sizes[MAX_WALK];
};

static enum cs_err collect(void *ctx, const char *filename, const char *local_path, int64_t size)
{
    struct walk *w = ctx;

    assert_non_null(local_path);
    assert_true(w->calls < MAX_WALK);
    snprintf(w->names[w->calls], sizeof w->names[0], "%s", filename);
    w->sizes[w->calls] = size;
    w->calls++;
    return w->stop_after && w->calls >= w->stop_after ? CS_CANCELLED : CS_OK;
}

/* ---- schema --------------------------------------------------------------- */

static void test_open_creates_schema(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    char mode[32];

    assert_int_equal(store_version_at_open(st), 0);
    assert_string_equal(store_last_error(st), "");
    store_close(st);

    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    raw_text(f->db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                                    "AND name IN ('upload_tracking', 'camera_status', "
                                    "'capture_failures')"), 3);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' "
                                    "AND name LIKE 'upload_tracking_%'"), 4);
    /* every camsnap column is there */
    assert_int_equal(raw_int(f->db, "SELECT COUNT(capture_ms) + COUNT(width) + COUNT(height) "
                                    "+ COUNT(file_size) + COUNT(sha256) "
                                    "+ COUNT(resolution_mismatch) + COUNT(remote_step) "
                                    "+ COUNT(next_attempt_ms) + COUNT(image_id) "
                                    "+ COUNT(created_ms) + COUNT(verify_failures) "
                                    "+ COUNT(object_name) + COUNT(remote_check) "
                                    "FROM upload_tracking"),
                     0);
}

static void test_reopen_is_idempotent(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);

    add(st, "camera_1/a.jpg", "camera_1", 1000, 4096);
    store_close(st);

    for (int i = 0; i < 2; i++) {
        st = open_ok(f->db);
        assert_int_equal(store_version_at_open(st), STORE_SCHEMA_VERSION);
        assert_int_equal(size_of(st, "camera_1/a.jpg"), 4096);
        store_close(st);
    }
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking"), 1);
}

static void test_newer_database_refused(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;

    raw_exec(f->db, "CREATE TABLE upload_tracking (id INTEGER PRIMARY KEY);"
                    "PRAGMA user_version = 99;");
    assert_int_equal(store_open(f->db, &st), CS_DB);
    assert_null(st);
    assert_non_null(strstr(store_last_error(NULL), "newer than this camsnap"));
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 99);
}

static void test_open_bad_path(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char path[700];

    snprintf(path, sizeof path, "%s/no/such/dir/x.db", f->dir);
    assert_int_equal(store_open(path, &st), CS_NOTFOUND);
    assert_null(st);
    assert_non_null(strstr(store_last_error(NULL), "opening the database"));
    assert_non_null(strstr(store_last_error(NULL), path));
    assert_non_null(strstr(store_last_error(NULL), strerror(ENOENT)));
}

static const char legacy_schema[] =
    "CREATE TABLE IF NOT EXISTS upload_tracking (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "filename TEXT UNIQUE NOT NULL, camera_name TEXT NOT NULL, local_path TEXT NOT NULL, "
    "capture_timestamp TEXT NOT NULL, upload_status TEXT DEFAULT 'pending', "
    "upload_attempts INTEGER DEFAULT 0, last_attempt TEXT, supabase_url TEXT, "
    "error_message TEXT, file_size_kb REAL, resolution TEXT);"
    "INSERT INTO upload_tracking (filename, camera_name, local_path, capture_timestamp, "
    "upload_status, file_size_kb, resolution) VALUES "
    "('camera_1/20261126_113000_2592_1944.jpg', 'camera_1', '/old/a.jpg', "
    "'2026-11-26 11:30:00', 'pending', 512.5, '2592x1944');"
    "INSERT INTO upload_tracking (filename, camera_name, local_path, capture_timestamp, "
    "upload_status, file_size_kb, supabase_url, upload_attempts) VALUES "
    "('camera_1/20261126_113100_2592_1944.jpg', 'camera_1', '/old/b.jpg', "
    "'2026-11-26T11:31:00', 'success', 100.0, 'https://example.invalid/b.jpg', 1);"
    "INSERT INTO upload_tracking (filename, camera_name, local_path, capture_timestamp, "
    "upload_status) VALUES ('camera_2/odd.jpg', 'camera_2', '/old/c.jpg', 'yesterday', "
    "'failed');";

static void test_migrates_legacy_database(void **state)
{
    struct fixture *f = *state;
    struct walk w = {0};
    char mode[32];

    raw_exec(f->db, legacy_schema);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 0);

    struct store *st = open_ok(f->db);
    assert_int_equal(store_version_at_open(st), 1);
    assert_int_equal(status_of(st, "camera_1/20261126_113000_2592_1944.jpg"), STILL_PENDING);
    /* only a rounded file_size_kb: the exact size is unknown, statistics estimate */
    assert_int_equal(size_of(st, "camera_1/20261126_113000_2592_1944.jpg"), -1);
    assert_int_equal(size_of(st, "camera_2/odd.jpg"), -1);
    struct store_stats s;
    assert_int_equal(store_stats(st, &s), CS_OK);
    assert_int_equal(s.total, 3);
    assert_int_equal(s.queue_files, 2);
    assert_int_equal(s.queue_bytes, 524800);
    assert_int_equal(s.oldest_pending_ms, 1795692600000);
    assert_int_equal(s.count[STILL_SUCCESS], 1);
    store_stats_cleanup(&s);
    /* unparseable capture time (NULL capture_ms) sorts first */
    assert_int_equal(store_foreach_local(st, collect, &w), CS_OK);
    assert_int_equal(w.calls, 2);
    assert_string_equal(w.names[0], "camera_2/odd.jpg");
    assert_string_equal(w.names[1], "camera_1/20261126_113000_2592_1944.jpg");
    add(st, "camera_1/new.jpg", "camera_1", 1795692700000, 1000);
    store_close(st);

    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    raw_text(f->db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking"), 4);
    assert_int_equal(raw_int(f->db, "SELECT capture_ms FROM upload_tracking WHERE id = 1"),
                     1795692600000);
    assert_int_equal(raw_int(f->db, "SELECT capture_ms FROM upload_tracking WHERE id = 2"),
                     1795692660000);
    assert_int_equal(raw_int(f->db, "SELECT capture_ms FROM upload_tracking WHERE id = 3"), -1);
    assert_int_equal(raw_int(f->db, "SELECT file_size FROM upload_tracking WHERE id = 2"), -1);
    assert_int_equal(raw_int(f->db, "SELECT upload_attempts FROM upload_tracking "
                                    "WHERE supabase_url = 'https://example.invalid/b.jpg'"), 1);
    assert_int_equal(raw_int(f->db, "SELECT remote_step + next_attempt_ms "
                                    "+ resolution_mismatch FROM upload_tracking WHERE id = 1"), 0);

    assert_int_equal(raw_int(f->db, "SELECT SUM(verify_failures) FROM upload_tracking"), 0);

    st = open_ok(f->db);
    assert_int_equal(store_version_at_open(st), STORE_SCHEMA_VERSION);
    store_close(st);
}

/* Files of the state directory, for "nothing was created". */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* stats and status: nothing created where there is no database, nothing
 * written where there is one, whoever else has it open. */
static void test_readonly_creates_and_writes_nothing(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL, *rw;
    struct store_stats s;
    struct still_info si = still("camera_1/b.jpg", "1", 1795692700000, 20);

    assert_int_equal(store_open_readonly(f->db, &st), CS_NOTFOUND);
    assert_null(st);
    assert_int_equal(count_files(f->dir), 0);

    rw = open_ok(f->db);
    add(rw, "camera_1/a.jpg", "1", 1795692600000, 10);
    st = NULL;
    assert_int_equal(store_open_readonly(f->db, &st), CS_OK);
    assert_int_equal(store_stats(st, &s), CS_OK);
    assert_int_equal(s.total, 1);
    store_stats_cleanup(&s);
    assert_int_not_equal(store_add_still(st, &si, NULL), CS_OK);
    assert_int_not_equal(store_mark_missing(st, "camera_1/a.jpg"), CS_OK);
    /* it sees what the writer commits meanwhile */
    add(rw, "camera_1/c.jpg", "1", 1795692800000, 30);
    assert_int_equal(store_stats(st, &s), CS_OK);
    assert_int_equal(s.total, 2);
    store_stats_cleanup(&s);
    store_close(st);
    store_close(rw);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking"), 2);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking "
                                    "WHERE upload_status = 'pending'"),
                     2);
}

/* An old database (here the Python system's) is read as it is: migrated in
 * a copy in memory, the file left at its version. */
static void test_readonly_reads_an_older_schema(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    struct store_stats s;
    struct stat before, after;

    raw_exec(f->db, legacy_schema);
    assert_int_equal(stat(f->db, &before), 0);
    assert_int_equal(store_open_readonly(f->db, &st), CS_OK);
    assert_int_equal(store_version_at_open(st), 1);
    assert_int_equal(store_stats(st, &s), CS_OK);
    assert_int_equal(s.total, 3);
    assert_int_equal(s.count[STILL_SUCCESS], 1);
    store_stats_cleanup(&s);
    store_close(st);
    assert_int_equal(stat(f->db, &after), 0);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(before.st_mtime, after.st_mtime);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 0);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM pragma_table_info('upload_tracking') "
                                    "WHERE name = 'capture_ms'"),
                     0);
}

/* The old system's rows as its Python script wrote them: the bare file name,
 * "camera_27", the absolute local_path, microseconds in the timestamp. */
static const char python_rows[] =
    "INSERT INTO upload_tracking (filename, camera_name, local_path, capture_timestamp, "
    "upload_status, upload_attempts, last_attempt, error_message, file_size_kb, resolution) "
    "VALUES ('20261120_113000_2592_1944.jpg', 'camera_27', "
    "'/var/lib/old/backup_queue/camera_27/20261120_113000_2592_1944.jpg', "
    "'2026-11-20T11:30:00.123456', 'failed', 3, '2026-11-20T12:00:00.5', 'HTTP 500', 812.25, "
    "'2592x1944'),"
    /* a file kept elsewhere: found by its local_path, as before */
    "('20261120_113500_640_360.jpg', 'camera_lobby', '/mnt/usb/20261120_113500_640_360.jpg', "
    "'2026-11-20T11:35:00', 'pending', 0, NULL, NULL, 20.5, '640x360');";

static void test_adopts_python_rows(void **state)
{
    struct fixture *f = *state;
    char text[128];

    raw_exec(f->db, legacy_schema);
    raw_exec(f->db, "DELETE FROM upload_tracking");
    raw_exec(f->db, python_rows);
    store_close(open_ok(f->db));
    raw_text(f->db,
             "SELECT filename || ' ' || camera_name || ' ' || upload_status || ' ' || "
             "upload_attempts || ' ' || error_message || ' ' || width || 'x' || height "
             "FROM upload_tracking WHERE resolution = '2592x1944'",
             text, sizeof text);
    assert_string_equal(text, "camera_27/20261120_113000_2592_1944.jpg 27 failed 3 HTTP 500 "
                              "2592x1944");
    raw_text(f->db,
             "SELECT filename || ' ' || camera_name FROM upload_tracking "
             "WHERE resolution = '640x360'",
             text, sizeof text);
    assert_string_equal(text, "20261120_113500_640_360.jpg lobby");
    assert_int_equal(raw_int(f->db, "SELECT capture_ms FROM upload_tracking "
                                    "WHERE camera_name = '27'"),
                     1795174200000);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking"), 2);
}

/* Version 3 (before the bounded size check) gains verify_failures = 0 and
 * keeps its rows and their delivery state. */
static void test_migrates_v3_database(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);

    add(st, "camera_1/a.jpg", "camera_1", 1000, 4096);
    store_close(st);
    raw_exec(f->db, "UPDATE upload_tracking SET upload_status = 'failed', upload_attempts = 3, "
                    "remote_step = 0, error_class = 'retry';"
                    "ALTER TABLE upload_tracking DROP COLUMN verify_failures;"
                    "ALTER TABLE upload_tracking DROP COLUMN object_name;"
                    "ALTER TABLE upload_tracking DROP COLUMN remote_check;"
                    "PRAGMA user_version = 3;");

    st = open_ok(f->db);
    assert_int_equal(store_version_at_open(st), 3);
    assert_int_equal(status_of(st, "camera_1/a.jpg"), STILL_FAILED);
    store_close(st);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->db, "SELECT verify_failures FROM upload_tracking"), 0);
    assert_int_equal(raw_int(f->db, "SELECT upload_attempts FROM upload_tracking"), 3);
}

/* ---- delivery transitions -------------------------------------------------- */

static struct store_due due_one(struct store *st)
{
    struct store_due_query q = {.now_ms = INT64_MAX / 4, .horizon_ms = 0};
    struct store_due d;
    size_t n = 0;

    assert_int_equal(store_due(st, &q, &d, 1, &n), CS_OK);
    assert_int_equal(n, 1);
    return d;
}

/* verify_failures counts only failed size checks, survives a reopen, and
 * starts over when the still's content changes (a missing file came back
 * with other bytes: its old object says nothing about the new one). */
static void test_verify_failures(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    struct still_info si = still("camera_1/a.jpg", "camera_1", 1000, 4096);
    int64_t id = 0;
    char cls[64];

    assert_int_equal(store_add_still(st, &si, &id), CS_OK);
    assert_int_equal(due_one(st).verify_failures, 0);
    assert_int_equal(store_verify_failed(st, id, 2000, 3000, "size: HTTP 503"), CS_OK);
    assert_int_equal(store_attempt_failed(st, id, 4000, 5000, "retry", "storing: HTTP 503"), CS_OK);
    assert_int_equal(store_verify_failed(st, id, 6000, 7000, "size: HTTP 504"), CS_OK);
    store_close(st);

    st = open_ok(f->db);
    struct store_due d = due_one(st);
    assert_int_equal(d.verify_failures, 2);
    assert_int_equal(d.attempts, 3);
    assert_int_equal(d.remote_step, 0);
    assert_int_equal(status_of(st, "camera_1/a.jpg"), STILL_FAILED);
    raw_text(f->db, "SELECT error_class || ': ' || error_message FROM upload_tracking", cls,
             sizeof cls);
    assert_string_equal(cls, "retry: size: HTTP 504");
    assert_int_equal(raw_int(f->db, "SELECT next_attempt_ms FROM upload_tracking"), 7000);

    /* the same file back after missing: the count stays */
    assert_int_equal(store_mark_missing(st, "camera_1/a.jpg"), CS_OK);
    assert_int_equal(store_add_still(st, &si, NULL), CS_OK);
    assert_int_equal(due_one(st).verify_failures, 2);
    assert_int_equal(store_set_names(st, id, "camera_1/a_01234567.jpg", "an-id"), CS_OK);
    assert_int_equal(store_mark_missing(st, "camera_1/a.jpg"), CS_OK);
    assert_int_equal(store_add_still(st, &si, NULL), CS_OK);
    assert_string_equal(due_one(st).object_name, "camera_1/a_01234567.jpg");
    /* other bytes: it starts over, with names of its own */
    assert_int_equal(store_mark_missing(st, "camera_1/a.jpg"), CS_OK);
    si.sha256_hex = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    assert_int_equal(store_add_still(st, &si, NULL), CS_OK);
    assert_int_equal(due_one(st).verify_failures, 0);
    assert_string_equal(due_one(st).object_name, "");
    assert_string_equal(due_one(st).image_id, "");
    store_close(st);
}

/* Version 4 (before object names): every row keeps the name it was, or may
 * have been, sent under - its plain filename - so a still attempted before
 * the upgrade (its answer lost) meets its own object again; stills
 * recorded after the upgrade get theirs before their first attempt. */
static void test_migrates_v4_database(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    char text[128];

    add(st, "camera_1/a.jpg", "camera_1", 1000, 4096);
    add(st, "camera_1/b.jpg", "camera_1", 2000, 4096);
    add(st, "camera_1/c.jpg", "camera_1", 3000, 4096);
    store_close(st);
    raw_exec(f->db,
             "UPDATE upload_tracking SET image_id = 'f3c1e303-7a22-5bca-8681-ea931b62ff20', "
             "upload_status = 'failed', upload_attempts = 1 WHERE filename = 'camera_1/a.jpg';"
             "UPDATE upload_tracking SET upload_status = 'success', remote_step = 2 "
             "WHERE filename = 'camera_1/b.jpg';"
             "ALTER TABLE upload_tracking DROP COLUMN object_name;"
             "ALTER TABLE upload_tracking DROP COLUMN remote_check;"
             "PRAGMA user_version = 4;");

    st = open_ok(f->db);
    assert_int_equal(store_version_at_open(st), 4);
    struct store_due d = due_one(st);
    assert_string_equal(d.filename, "camera_1/a.jpg");
    assert_string_equal(d.object_name, "camera_1/a.jpg");
    assert_string_equal(d.image_id, "f3c1e303-7a22-5bca-8681-ea931b62ff20");
    assert_int_equal(d.attempts, 1);
    add(st, "camera_1/d.jpg", "camera_1", 4000, 4096);
    store_close(st);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking "
                                    "WHERE object_name = filename"),
                     3);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking WHERE object_name IS "
                                    "NULL AND filename = 'camera_1/d.jpg'"),
                     1);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(remote_check) FROM upload_tracking"), 0);
    raw_text(f->db, "SELECT upload_status FROM upload_tracking WHERE filename = 'camera_1/b.jpg'",
             text, sizeof text);
    assert_string_equal(text, "success");
}

/* What needs a person: the attention errors of waiting stills, grouped,
 * most stills first, per camera or all; delivered ones no longer count. */
static void test_attention(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    struct store_attention a[1];
    size_t n;
    int64_t stills, id[4];
    const char *cams[4] = {"c1", "c2", "c2", "c1"};
    char name[32];

    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "camera_%s/%d.jpg", cams[i], i);
        struct still_info si = still(name, cams[i], 1000 + i, 10);
        assert_int_equal(store_add_still(st, &si, &id[i]), CS_OK);
    }
    assert_int_equal(store_attention(st, NULL, a, 1, &n, &stills), CS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(stills, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_attempt_failed(st, id[i], 1, 2, "attention",
                                              i < 2 ? "bucket \"NOPE\" does not exist" : "key"),
                         CS_OK);
    assert_int_equal(store_attempt_failed(st, id[3], 1, 2, "retry", "HTTP 503"), CS_OK);
    assert_int_equal(store_attention(st, NULL, a, 1, &n, &stills), CS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(stills, 3);
    assert_string_equal(a[0].message, "bucket \"NOPE\" does not exist");
    assert_int_equal(a[0].stills, 2);
    assert_int_equal(a[0].cameras, 2);
    assert_string_equal(a[0].camera, "c1");
    assert_int_equal(store_attention(st, "c1", a, 1, &n, &stills), CS_OK);
    assert_int_equal(stills, 1);
    assert_int_equal(store_delivered(st, id[0], "u", 3), CS_OK);
    assert_int_equal(store_attention(st, NULL, a, 1, &n, &stills), CS_OK);
    assert_int_equal(stills, 2);
    store_close(st);
}

/* ---- stills --------------------------------------------------------------- */

static void test_add_then_duplicate(void **state)
{
    (void)state;
    struct store *st = open_ok(":memory:");
    struct still_info si = still("camera_1/a.jpg", "camera_1", 1000, 1500);
    int64_t id = 0, id2 = 0;

    assert_int_equal(store_add_still(st, &si, &id), CS_OK);
    assert_true(id > 0);
    assert_int_equal(status_of(st, "camera_1/a.jpg"), STILL_PENDING);

    si.file_size = 9999;
    assert_int_equal(store_add_still(st, &si, &id2), CS_EXISTS);
    assert_int_equal(size_of(st, "camera_1/a.jpg"), 1500);
    assert_non_null(strstr(store_last_error(st), "camera_1/a.jpg"));

    bool found = true;
    assert_int_equal(store_lookup(st, "camera_1/nope.jpg", &found, NULL, NULL), CS_OK);
    assert_false(found);
    store_close(st);
}

static void test_columns_written(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    struct still_info si = still("camera_1/a.jpg", "camera_1", 1795692600000, 1500);
    char buf[128];

    si.resolution_mismatch = true;
    assert_int_equal(store_add_still(st, &si, NULL), CS_OK);
    store_close(st);

    raw_text(f->db, "SELECT upload_status || ' ' || resolution || ' ' || file_size_kb || ' ' "
                    "|| capture_timestamp FROM upload_tracking", buf, sizeof buf);
    assert_string_equal(buf, "pending 2592x1944 1.5 2026-11-26T11:30:00+00:00");
    assert_int_equal(raw_int(f->db, "SELECT capture_ms FROM upload_tracking"), 1795692600000);
    assert_int_equal(raw_int(f->db, "SELECT width * 10000 + height FROM upload_tracking"),
                     25921944);
    assert_int_equal(raw_int(f->db, "SELECT resolution_mismatch FROM upload_tracking"), 1);
    assert_int_equal(raw_int(f->db, "SELECT length(sha256) FROM upload_tracking"), 64);
    assert_true(raw_int(f->db, "SELECT created_ms FROM upload_tracking") > 1700000000000);
}

static void test_sqlite_error_text(void **state)
{
    (void)state;
    struct store *st = open_ok(":memory:");
    struct still_info si = still("camera_1/a.jpg", "camera_1", 1000, 10);
    bool found = true;

    si.capture_iso = NULL;
    assert_int_equal(store_add_still(st, &si, NULL), CS_DB);
    assert_non_null(strstr(store_last_error(st), "inserting still camera_1/a.jpg: "));
    assert_non_null(strstr(store_last_error(st), "NOT NULL constraint failed"));
    assert_int_equal(store_lookup(st, "camera_1/a.jpg", &found, NULL, NULL), CS_OK);
    assert_false(found);
    store_close(st);
}

static void test_missing_then_back(void **state)
{
    (void)state;
    struct store *st = open_ok(":memory:");
    struct still_info si = still("camera_1/a.jpg", "camera_1", 1000, 1500);
    int64_t id = 0, id2 = 0;

    assert_int_equal(store_add_still(st, &si, &id), CS_OK);
    assert_int_equal(store_mark_missing(st, "camera_1/a.jpg"), CS_OK);
    assert_int_equal(status_of(st, "camera_1/a.jpg"), STILL_MISSING);
    assert_int_equal(store_mark_missing(st, "camera_1/unknown.jpg"), CS_OK);

    si.file_size = 2048;
    si.sha256_hex = NULL;
    assert_int_equal(store_add_still(st, &si, &id2), CS_OK);
    assert_int_equal(id2, id);
    assert_int_equal(status_of(st, "camera_1/a.jpg"), STILL_PENDING);
    assert_int_equal(size_of(st, "camera_1/a.jpg"), 2048);

    /* back to pending means an ordinary duplicate again */
    assert_int_equal(store_add_still(st, &si, NULL), CS_EXISTS);
    store_close(st);
}

static void test_mark_missing_leaves_other_states(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    struct still_info q = still("camera_1/q.jpg", "camera_1", 3000, 10);

    add(st, "camera_1/s.jpg", "camera_1", 1000, 10);
    add(st, "camera_1/f.jpg", "camera_1", 2000, 10);
    assert_int_equal(store_quarantine(st, &q, "truncated JPEG"), CS_OK);
    raw_exec(f->db, "UPDATE upload_tracking SET upload_status = 'success' "
                    "WHERE filename = 'camera_1/s.jpg';"
                    "UPDATE upload_tracking SET upload_status = 'failed' "
                    "WHERE filename = 'camera_1/f.jpg'");

    assert_int_equal(store_mark_missing(st, "camera_1/s.jpg"), CS_OK);
    assert_int_equal(store_mark_missing(st, "camera_1/f.jpg"), CS_OK);
    assert_int_equal(store_mark_missing(st, "camera_1/q.jpg"), CS_OK);
    assert_int_equal(status_of(st, "camera_1/s.jpg"), STILL_SUCCESS);
    assert_int_equal(status_of(st, "camera_1/f.jpg"), STILL_MISSING);
    assert_int_equal(status_of(st, "camera_1/q.jpg"), STILL_QUARANTINED);
    store_close(st);

    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking WHERE "
                                    "error_message = 'local file is gone'"), 1);
}

static void test_quarantine_new_and_existing(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    struct still_info fresh = still("camera_1/new.jpg", "camera_1", 1000, 77);
    struct still_info old = still("camera_1/old.jpg", "camera_1", 2000, 88);
    char buf[64];

    fresh.capture_iso = NULL; /* unknown for a broken file: stored as "" */
    fresh.width = fresh.height = 0;
    assert_int_equal(store_quarantine(st, &fresh, "not a JPEG"), CS_OK);
    assert_int_equal(status_of(st, "camera_1/new.jpg"), STILL_QUARANTINED);
    assert_int_equal(size_of(st, "camera_1/new.jpg"), 77);

    assert_int_equal(store_add_still(st, &old, NULL), CS_OK);
    /* reconciliation knows little more than the name: the row keeps its data */
    struct still_info bare = {.filename = old.filename, .camera_name = "?", .local_path = "",
                              .capture_iso = ""};
    assert_int_equal(store_quarantine(st, &bare, "truncated JPEG"), CS_OK);
    assert_int_equal(status_of(st, "camera_1/old.jpg"), STILL_QUARANTINED);
    assert_int_equal(size_of(st, "camera_1/old.jpg"), 88);
    assert_int_equal(store_add_still(st, &old, NULL), CS_EXISTS);
    store_close(st);

    raw_text(f->db, "SELECT error_message FROM upload_tracking WHERE filename = "
                    "'camera_1/old.jpg'", buf, sizeof buf);
    assert_string_equal(buf, "truncated JPEG");
    raw_text(f->db, "SELECT local_path || ' ' || camera_name FROM upload_tracking "
                    "WHERE filename = 'camera_1/old.jpg'", buf, sizeof buf);
    assert_string_equal(buf, "/var/lib/camsnap/backup_queue/some.jpg camera_1");
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM upload_tracking"), 2);
    assert_int_equal(raw_int(f->db, "SELECT resolution IS NULL FROM upload_tracking "
                                    "WHERE filename = 'camera_1/new.jpg'"), 1);
}

static void test_foreach_local(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    struct still_info q = still("camera_1/q.jpg", "camera_1", 100, 5);
    struct walk w = {0};

    add(st, "camera_1/c.jpg", "camera_1", 3000, 30);
    add(st, "camera_2/a.jpg", "camera_2", 1000, 10);
    add(st, "camera_1/b.jpg", "camera_1", 2000, 20);
    add(st, "camera_1/b2.jpg", "camera_1", 2000, 21); /* same time: id decides */
    add(st, "camera_1/s.jpg", "camera_1", 500, 1);
    add(st, "camera_1/m.jpg", "camera_1", 600, 1);
    add(st, "camera_1/f.jpg", "camera_1", 2500, 25);
    assert_int_equal(store_quarantine(st, &q, "bad"), CS_OK);
    assert_int_equal(store_mark_missing(st, "camera_1/m.jpg"), CS_OK);
    raw_exec(f->db, "UPDATE upload_tracking SET upload_status = 'success' "
                    "WHERE filename = 'camera_1/s.jpg';"
                    "UPDATE upload_tracking SET upload_status = 'failed' "
                    "WHERE filename = 'camera_1/f.jpg'");

    assert_int_equal(store_foreach_local(st, collect, &w), CS_OK);
    assert_int_equal(w.calls, 5);
    const char *want[] = {"camera_2/a.jpg", "camera_1/b.jpg", "camera_1/b2.jpg",
                          "camera_1/f.jpg", "camera_1/c.jpg"};
    const int64_t sizes[] = {10, 20, 21, 25, 30};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(w.names[i], want[i]);
        assert_int_equal(w.sizes[i], sizes[i]);
    }

    memset(&w, 0, sizeof w);
    w.stop_after = 2;
    assert_int_equal(store_foreach_local(st, collect, &w), CS_CANCELLED);
    assert_int_equal(w.calls, 2);

    /* the stopped walk left nothing open: writes and a new walk work */
    add(st, "camera_1/z.jpg", "camera_1", 50, 1);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_foreach_local(st, collect, &w), CS_OK);
    assert_int_equal(w.calls, 6);
    assert_string_equal(w.names[0], "camera_1/z.jpg");
    store_close(st);
}

/* ---- cameras and statistics ----------------------------------------------- */

static void test_camera_result(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    char buf[64];

    assert_int_equal(store_camera_result(st, "camera_1", 1000, false, "camera", "timeout"),
                     CS_OK);
    assert_int_equal(store_camera_result(st, "camera_1", 2000, false, "disk", "disk full"),
                     CS_OK);
    assert_int_equal(store_camera_result(st, "camera_1", 3000, true, NULL, NULL), CS_OK);
    assert_int_equal(store_camera_result(st, "camera_1", 4000, false, "camera", "refused"),
                     CS_OK);
    assert_int_equal(store_camera_result(st, "camera_2", 4000, true, NULL, NULL), CS_OK);
    store_close(st);

    assert_int_equal(raw_int(f->db, "SELECT consecutive_failures FROM camera_status "
                                    "WHERE camera_name = 'camera_1'"), 1);
    assert_int_equal(raw_int(f->db, "SELECT total_failures FROM camera_status "
                                    "WHERE camera_name = 'camera_1'"), 3);
    assert_int_equal(raw_int(f->db, "SELECT last_success_ms FROM camera_status "
                                    "WHERE camera_name = 'camera_1'"), 3000);
    assert_int_equal(raw_int(f->db, "SELECT last_attempt_ms FROM camera_status "
                                    "WHERE camera_name = 'camera_1'"), 4000);
    raw_text(f->db, "SELECT last_error FROM camera_status WHERE camera_name = 'camera_1'",
             buf, sizeof buf);
    assert_string_equal(buf, "refused");
    assert_int_equal(raw_int(f->db, "SELECT total_failures + consecutive_failures "
                                    "FROM camera_status WHERE camera_name = 'camera_2'"), 0);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM capture_failures"), 3);
    raw_text(f->db, "SELECT group_concat(reason || ':' || when_ms || ':' || error, ',') FROM "
                    "(SELECT * FROM capture_failures ORDER BY id)", buf, sizeof buf);
    assert_string_equal(buf, "camera:1000:timeout,disk:2000:disk full,camera:4000:refused");
}

static void fill_for_stats(struct fixture *f, struct store *st)
{
    struct still_info q = still("cam_a/q.jpg", "cam_a", 50, 300);

    add(st, "cam_a/1.jpg", "cam_a", 3000, 1000);
    add(st, "cam_a/2.jpg", "cam_a", 2000, 2000);
    add(st, "cam_a/3.jpg", "cam_a", 1000, 500);   /* -> failed */
    add(st, "cam_a/4.jpg", "cam_a", 100, 7000);   /* -> success */
    add(st, "cam_a/5.jpg", "cam_a", 200, 9000);   /* -> missing */
    add(st, "cam_b/1.jpg", "cam_b", 5000, 123);   /* size only in file_size_kb */
    assert_int_equal(store_quarantine(st, &q, "truncated"), CS_OK);
    assert_int_equal(store_mark_missing(st, "cam_a/5.jpg"), CS_OK);
    raw_exec(f->db, "UPDATE upload_tracking SET upload_status = 'failed' "
                    "WHERE filename = 'cam_a/3.jpg';"
                    "UPDATE upload_tracking SET upload_status = 'success' "
                    "WHERE filename = 'cam_a/4.jpg';"
                    "UPDATE upload_tracking SET file_size = NULL, file_size_kb = 2.0 "
                    "WHERE filename = 'cam_b/1.jpg'");
    assert_int_equal(store_camera_result(st, "cam_a", 9000, true, NULL, NULL), CS_OK);
    assert_int_equal(store_camera_result(st, "cam_c", 8000, false, "camera", "x"), CS_OK);
    assert_int_equal(store_camera_result(st, "cam_c", 9000, false, "camera", "refused"), CS_OK);
}

static void test_stats(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f->db);
    struct store_stats s;

    fill_for_stats(f, st);
    /* delivered, "already there" not provable ours; a pending one is not counted */
    raw_exec(f->db, "UPDATE upload_tracking SET remote_check = 'unverified' "
                    "WHERE upload_status IN ('success', 'pending') AND camera_name = 'cam_a'");
    assert_int_equal(store_stats(st, &s), CS_OK);
    assert_int_equal(s.unverified, 1);
    assert_int_equal(s.cameras[0].unverified, 1);
    assert_int_equal(s.cameras[1].unverified, 0);
    assert_int_equal(s.count[STILL_PENDING], 3);
    assert_int_equal(s.count[STILL_SUCCESS], 1);
    assert_int_equal(s.count[STILL_FAILED], 1);
    assert_int_equal(s.count[STILL_MISSING], 1);
    assert_int_equal(s.count[STILL_QUARANTINED], 1);
    assert_int_equal(s.total, 7);
    assert_int_equal(s.queue_files, 4);
    assert_int_equal(s.queue_bytes, 1000 + 2000 + 500 + 2048);
    assert_int_equal(s.oldest_pending_ms, 1000);
    assert_int_equal(s.capture_failures, 2);
    assert_int_equal(s.n_cameras, 3);

    const struct store_camera_stats *a = &s.cameras[0], *b = &s.cameras[1], *c = &s.cameras[2];
    assert_string_equal(a->camera_name, "cam_a");
    assert_string_equal(b->camera_name, "cam_b");
    assert_string_equal(c->camera_name, "cam_c");
    assert_int_equal(a->count[STILL_PENDING], 2);
    assert_int_equal(a->count[STILL_FAILED], 1);
    assert_int_equal(a->count[STILL_SUCCESS], 1);
    assert_int_equal(a->count[STILL_MISSING], 1);
    assert_int_equal(a->count[STILL_QUARANTINED], 1);
    assert_int_equal(a->pending_bytes, 3500);
    assert_int_equal(a->oldest_pending_ms, 1000);
    assert_int_equal(a->last_success_ms, 9000);
    assert_int_equal(a->consecutive_failures, 0);
    assert_string_equal(a->last_error, "");
    assert_int_equal(b->count[STILL_PENDING], 1);
    assert_int_equal(b->pending_bytes, 2048);
    assert_int_equal(b->oldest_pending_ms, 5000);
    assert_int_equal(b->last_success_ms, 0);
    for (int i = 0; i < STILL__COUNT; i++)
        assert_int_equal(c->count[i], 0);
    assert_int_equal(c->pending_bytes, 0);
    assert_int_equal(c->oldest_pending_ms, 0);
    assert_int_equal(c->consecutive_failures, 2);
    assert_string_equal(c->last_error, "refused");
    assert_int_equal(c->last_success_ms, 0);

    store_stats_cleanup(&s);
    assert_null(s.cameras);
    store_stats_cleanup(NULL);
    store_close(st);
}

/* Failed delivery attempts, for the success rate: every attempt but the one
 * that delivered, plus the refusal that quarantined a still in delivery;
 * pending stills never tried count nothing, nor does a still quarantined
 * at capture. */
static void test_stats_failed_attempts(void **state)
{
    (void)state;
    struct store *st = open_ok(":memory:");
    struct still_info bad = still("camera_b/q.jpg", "b", 6000, 10);
    struct store_stats s;
    int64_t id[5];

    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "camera_%s/%d.jpg", i < 3 ? "a" : "b", i);
        struct still_info si = still(name, i < 3 ? "a" : "b", 1000 + i, 10);
        assert_int_equal(store_add_still(st, &si, &id[i]), CS_OK);
    }
    assert_int_equal(store_quarantine(st, &bad, "truncated"), CS_OK);
    /* a: delivered at the third attempt (2 failed), delivered at once (0) */
    assert_int_equal(store_attempt_failed(st, id[0], 1, 2, "retry", "HTTP 503"), CS_OK);
    assert_int_equal(store_attempt_failed(st, id[0], 3, 4, "retry", "HTTP 503"), CS_OK);
    assert_int_equal(store_delivered(st, id[0], "u0", 5), CS_OK);
    assert_int_equal(store_delivered(st, id[1], "u1", 5), CS_OK);
    /* a: still waiting after one failed attempt (1) */
    assert_int_equal(store_attempt_failed(st, id[2], 1, 2, "retry", "timeout"), CS_OK);
    /* b: refused for good in delivery (1); id[4] never tried (0) */
    assert_int_equal(store_quarantine_id(st, id[3], "HTTP 400"), CS_OK);
    assert_int_equal(store_stats(st, &s), CS_OK);
    assert_int_equal(s.n_cameras, 2);
    assert_int_equal(s.cameras[0].failed_attempts, 3);
    assert_int_equal(s.cameras[1].failed_attempts, 1);
    assert_int_equal(s.failed_attempts, 4);
    assert_int_equal(s.count[STILL_SUCCESS], 2);
    assert_int_equal(s.count[STILL_PENDING], 1);
    assert_int_equal(s.count[STILL_QUARANTINED], 2);
    store_stats_cleanup(&s);
    store_close(st);
}

static void test_stats_empty(void **state)
{
    (void)state;
    struct store *st = open_ok(":memory:");
    struct store_stats s;

    assert_int_equal(store_stats(st, &s), CS_OK);
    assert_int_equal(s.total, 0);
    assert_int_equal(s.n_cameras, 0);
    assert_int_equal(s.oldest_pending_ms, 0);
    store_stats_cleanup(&s);
    store_close(st);
}

/* ---- transactions and names ----------------------------------------------- */

static void test_transactions(void **state)
{
    (void)state;
    struct store *st = open_ok(":memory:");
    struct still_info si = still("camera_1/a.jpg", "camera_1", 1000, 10);
    struct store_stats s;
    bool found = true;

    store_rollback(st); /* no transaction: no-op */
    assert_int_equal(store_begin(st), CS_OK);
    assert_int_equal(store_add_still(st, &si, NULL), CS_OK);
    store_rollback(st);
    assert_int_equal(store_lookup(st, "camera_1/a.jpg", &found, NULL, NULL), CS_OK);
    assert_false(found);

    assert_int_equal(store_begin(st), CS_OK);
    assert_int_equal(store_begin(st), CS_DB);
    assert_non_null(strstr(store_last_error(st), "starting a transaction: "));
    assert_int_equal(store_add_still(st, &si, NULL), CS_OK);
    assert_int_equal(store_camera_result(st, "camera_1", 1, false, "camera", "x"), CS_OK);
    assert_int_equal(store_commit(st), CS_OK);
    assert_int_equal(status_of(st, "camera_1/a.jpg"), STILL_PENDING);
    assert_int_equal(store_stats(st, &s), CS_OK);
    assert_int_equal(s.capture_failures, 1);
    store_stats_cleanup(&s);
    assert_int_equal(store_commit(st), CS_DB);
    store_close(st);
    store_close(NULL);
}

static void test_status_names(void **state)
{
    (void)state;
    enum still_status out;

    for (int i = 0; i < STILL__COUNT; i++) {
        const char *name = store_status_name((enum still_status)i);
        assert_int_equal(store_status_parse(name, &out), CS_OK);
        assert_int_equal(out, i);
    }
    assert_string_equal(store_status_name(STILL_QUARANTINED), "quarantined");
    assert_string_equal(store_status_name(STILL__COUNT), "unknown");
    assert_int_equal(store_status_parse("uploaded", &out), CS_NOTFOUND);
}

#define DIR_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_open_creates_schema),
        DIR_TEST(test_reopen_is_idempotent),
        DIR_TEST(test_newer_database_refused),
        DIR_TEST(test_open_bad_path),
        DIR_TEST(test_migrates_legacy_database),
        DIR_TEST(test_migrates_v3_database),
        DIR_TEST(test_adopts_python_rows),
        DIR_TEST(test_readonly_creates_and_writes_nothing),
        DIR_TEST(test_readonly_reads_an_older_schema),
        DIR_TEST(test_migrates_v4_database),
        DIR_TEST(test_attention),
        DIR_TEST(test_verify_failures),
        cmocka_unit_test(test_add_then_duplicate),
        DIR_TEST(test_columns_written),
        cmocka_unit_test(test_sqlite_error_text),
        cmocka_unit_test(test_missing_then_back),
        DIR_TEST(test_mark_missing_leaves_other_states),
        DIR_TEST(test_quarantine_new_and_existing),
        DIR_TEST(test_foreach_local),
        DIR_TEST(test_camera_result),
        DIR_TEST(test_stats),
        cmocka_unit_test(test_stats_empty),
        cmocka_unit_test(test_stats_failed_attempts),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_status_names),
    };
    /* Old rows carry local time without an offset: pin the zone. */
    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
