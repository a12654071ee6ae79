/*
 * store.c - the tracking database: schema migrations, prepared statements,
 * and the still status machine. It and store_delivery.c (the delivery
 * transitions), through store_priv.h, are the only files that include
 * sqlite3.h.
 *
 * A still's status (upload_status column) and the function that moves it
 * (the delivery transitions are called by the delivery engine, delivery.c):
 *
 *               store_add_still()                   store_delivered()
 *   (no row) ─────────────────────▶ pending ─────────────────────────────▶ success
 *                                    │   ▲                                    ▲
 *      store_attempt_failed(),       │   │ store_add_still():                 │
 *      store_verify_failed()         │   │ the file is back                   │
 *                                    ▼   │                                    │
 *                                 failed │ ──────── store_delivered() ────────┘
 *                                  │ ▲   │
 *                                  └─┘   │   failed again: stays failed,
 *                                    │   │   attempts + 1, next_attempt_ms
 *      store_mark_missing()          ▼   │
 *      (from pending too) ──────▶ missing┘
 *
 *  (no row), or any row ── store_quarantine(), store_quarantine_id() ──▶ quarantined
 *                                               (kept, counted, never uploaded)
 *
 * store_foreach_local() walks pending and failed rows: the ones whose local
 * file is still needed; success, missing and quarantined rows are not walked.
 *
 * Errors: every SQLite failure is translated once, in store__fail(), to an enum
 * cs_err, and its text (prefixed with what we were doing) is kept in
 * st->last_error for the caller to log; this module does not log.
 */
#include "store.h"
#include "store_priv.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BUSY_TIMEOUT_MS 5000
#define FILENAME_MAX_LEN 1024   /* relative still path, foreach_local buffer */
#define LOCAL_PATH_MAX_LEN 4096 /* absolute path, foreach_local buffer */

enum stmt_id {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_ADD,
    STMT_QUARANTINE,
    STMT_MISSING,
    STMT_LOOKUP,
    STMT_LOCAL,
    STMT_CAMERA_OK,
    STMT_CAMERA_FAIL,
    STMT_CAPTURE_FAILURE,
    STMT_STATS_CAMERAS,
    STMT_STATS_FAILURES,
    STMT__COUNT
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[STMT__COUNT]; /* prepared at open, finalized at close */
    struct store_delivery_stmts *dl; /* store_delivery.c's, prepared on first use */
    int version_at_open;
    char last_error[256];
};

/* Why this thread's last store_open failed: there is no struct to hold it. */
static _Thread_local char open_error[256];

/* file_size is exact bytes or NULL; rows of the old system only have a
 * rounded file_size_kb. Callers compare sizes to files on disk, so lookups
 * report only the exact size (-1 otherwise); statistics take either. */
#define ROW_BYTES "COALESCE(file_size, CAST(ROUND(file_size_kb * 1024) AS INTEGER))"

/* ?1 filename ?2 camera ?3 local_path ?4 capture_iso ?5 capture_ms ?6 size
 * ?7 width ?8 height ?9 sha256 ?10 mismatch ?11 created_ms; see bind_still. */
#define STILL_COLUMNS \
    "filename, camera_name, local_path, capture_timestamp, capture_ms, file_size, " \
    "file_size_kb, resolution, width, height, sha256, resolution_mismatch, created_ms"
#define STILL_VALUES \
    "?1, ?2, ?3, ?4, ?5, ?6, ROUND(?6 / 1024.0, 1), " \
    "CASE WHEN ?7 > 0 AND ?8 > 0 THEN ?7 || 'x' || ?8 END, ?7, ?8, ?9, ?10, ?11"

static const char *const stmt_sql[STMT__COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    /* A missing row whose file came back is adopted; anything else is a
     * duplicate and left alone (changes() == 0). A changed file may differ
     * from an object already stored remotely, so remote_step starts over, and
     * it gets its own name and row id (a digest name is of the bytes). */
    [STMT_ADD] = "INSERT INTO upload_tracking (" STILL_COLUMNS ", upload_status) "
                 "VALUES (" STILL_VALUES ", 'pending') "
                 "ON CONFLICT (filename) DO UPDATE SET upload_status = 'pending', "
                 "local_path = excluded.local_path, file_size = excluded.file_size, "
                 "file_size_kb = excluded.file_size_kb, resolution = excluded.resolution, "
                 "width = excluded.width, height = excluded.height, "
                 "resolution_mismatch = excluded.resolution_mismatch, "
                 "remote_step = CASE WHEN sha256 IS excluded.sha256 THEN remote_step ELSE 0 END, "
                 "verify_failures = CASE WHEN sha256 IS excluded.sha256 THEN verify_failures "
                 "ELSE 0 END, "
                 "object_name = CASE WHEN sha256 IS excluded.sha256 THEN object_name END, "
                 "image_id = CASE WHEN sha256 IS excluded.sha256 THEN image_id END, "
                 "sha256 = excluded.sha256, error_message = NULL, next_attempt_ms = 0 "
                 "WHERE upload_status = 'missing'",
    [STMT_QUARANTINE] = "INSERT INTO upload_tracking (" STILL_COLUMNS ", upload_status, "
                        "error_message) VALUES (?1, ?2, ?3, COALESCE(?4, ''), ?5, ?6, "
                        "ROUND(?6 / 1024.0, 1), CASE WHEN ?7 > 0 AND ?8 > 0 "
                        "THEN ?7 || 'x' || ?8 END, ?7, ?8, ?9, ?10, ?11, 'quarantined', ?12) "
                        "ON CONFLICT (filename) DO UPDATE SET upload_status = 'quarantined', "
                        "error_message = excluded.error_message",
    [STMT_MISSING] = "UPDATE upload_tracking SET upload_status = 'missing', "
                     "error_message = 'local file is gone' "
                     "WHERE filename = ?1 AND upload_status IN ('pending', 'failed')",
    [STMT_LOOKUP] = "SELECT id, COALESCE(file_size, -1), upload_status "
                    "FROM upload_tracking WHERE filename = ?1",
    [STMT_LOCAL] = "SELECT filename, local_path, COALESCE(file_size, -1), id "
                   "FROM upload_tracking WHERE upload_status IN ('pending', 'failed') "
                   "ORDER BY capture_ms, id",
    [STMT_CAMERA_OK] = "INSERT INTO camera_status (camera_name, consecutive_failures, "
                       "last_attempt_ms, last_success_ms) VALUES (?1, 0, ?2, ?2) "
                       "ON CONFLICT (camera_name) DO UPDATE SET consecutive_failures = 0, "
                       "last_attempt_ms = excluded.last_attempt_ms, "
                       "last_success_ms = excluded.last_success_ms",
    [STMT_CAMERA_FAIL] = "INSERT INTO camera_status (camera_name, consecutive_failures, "
                         "total_failures, last_error, last_attempt_ms) "
                         "VALUES (?1, 1, 1, ?3, ?2) "
                         "ON CONFLICT (camera_name) DO UPDATE SET "
                         "consecutive_failures = consecutive_failures + 1, "
                         "total_failures = total_failures + 1, "
                         "last_error = excluded.last_error, "
                         "last_attempt_ms = excluded.last_attempt_ms",
    [STMT_CAPTURE_FAILURE] = "INSERT INTO capture_failures (camera_name, when_ms, reason, error) "
                             "VALUES (?1, ?2, ?3, ?4)",
    /* Columns 1..5 follow enum still_status. One statement, so one snapshot. */
    [STMT_STATS_CAMERAS] =
        "WITH cams (name) AS (SELECT camera_name FROM upload_tracking "
        "UNION SELECT camera_name FROM camera_status) "
        "SELECT c.name, SUM(u.upload_status = 'pending'), SUM(u.upload_status = 'success'), "
        "SUM(u.upload_status = 'failed'), SUM(u.upload_status = 'missing'), "
        "SUM(u.upload_status = 'quarantined'), COUNT(u.id), "
        "SUM(CASE WHEN u.upload_status IN ('pending', 'failed') "
        "THEN COALESCE(" ROW_BYTES ", 0) END), "
        "MIN(CASE WHEN u.upload_status IN ('pending', 'failed') THEN u.capture_ms END), "
        "s.consecutive_failures, s.last_error, s.last_success_ms, "
        "SUM(u.upload_status = 'success' AND u.remote_check = 'unverified'), "
        /* failed delivery attempts: every attempt but the one that delivered, and the
         * refusal that quarantined a still in delivery (it counts no attempt) */
        "SUM(MAX(COALESCE(u.upload_attempts, 0) - (u.upload_status = 'success'), 0) + "
        "COALESCE(u.upload_status = 'quarantined' AND u.error_class = 'permanent', 0)) "
        "FROM cams c LEFT JOIN upload_tracking u ON u.camera_name = c.name "
        "LEFT JOIN camera_status s ON s.camera_name = c.name "
        "GROUP BY c.name ORDER BY c.name",
    [STMT_STATS_FAILURES] = "SELECT COUNT(*) FROM capture_failures",
};

_Static_assert(STILL__COUNT == 5, "STMT_STATS_CAMERAS has one column per status");

/* Migration to version v is migrations[v]; each runs in its own transaction
 * and sets user_version itself. Version 1 is the old Python system's table,
 * byte for byte, so a database it created is adopted as version 1. */
static const char *const migrations[] = {
    [1] = "CREATE TABLE IF NOT EXISTS upload_tracking ("
          "id INTEGER PRIMARY KEY AUTOINCREMENT, filename TEXT UNIQUE NOT NULL, "
          "camera_name TEXT NOT NULL, local_path TEXT NOT NULL, "
          "capture_timestamp TEXT NOT NULL, upload_status TEXT DEFAULT 'pending', "
          "upload_attempts INTEGER DEFAULT 0, last_attempt TEXT, supabase_url TEXT, "
          "error_message TEXT, file_size_kb REAL, resolution TEXT);"
          "PRAGMA user_version = 1;",
    /* capture_timestamp of old rows is read as local time (the process's TZ,
     * as Python's datetime.now() wrote it) when it carries no offset.
     * file_size stays NULL for them: file_size_kb was rounded, and a size
     * that is off by a few bytes would make reconciliation quarantine the
     * file (store_stats falls back to file_size_kb * 1024). */
    [2] = "ALTER TABLE upload_tracking ADD COLUMN capture_ms INTEGER;"
          "ALTER TABLE upload_tracking ADD COLUMN width INTEGER;"
          "ALTER TABLE upload_tracking ADD COLUMN height INTEGER;"
          "ALTER TABLE upload_tracking ADD COLUMN file_size INTEGER;"
          "ALTER TABLE upload_tracking ADD COLUMN sha256 TEXT;"
          "ALTER TABLE upload_tracking ADD COLUMN resolution_mismatch INTEGER NOT NULL DEFAULT 0;"
          "ALTER TABLE upload_tracking ADD COLUMN remote_step INTEGER NOT NULL DEFAULT 0;"
          "ALTER TABLE upload_tracking ADD COLUMN next_attempt_ms INTEGER NOT NULL DEFAULT 0;"
          "ALTER TABLE upload_tracking ADD COLUMN image_id TEXT;"
          "ALTER TABLE upload_tracking ADD COLUMN created_ms INTEGER;"
          "UPDATE upload_tracking "
          "SET capture_ms = CAST(CASE WHEN capture_timestamp GLOB '*[+-][0-9][0-9]:[0-9][0-9]' "
          "OR capture_timestamp GLOB '*Z' THEN strftime('%s', capture_timestamp) "
          "ELSE strftime('%s', capture_timestamp, 'utc') END AS INTEGER) * 1000 "
          "WHERE strftime('%s', capture_timestamp) IS NOT NULL;"
          "CREATE INDEX IF NOT EXISTS upload_tracking_status_next "
          "ON upload_tracking (upload_status, next_attempt_ms);"
          "CREATE INDEX IF NOT EXISTS upload_tracking_camera_status "
          "ON upload_tracking (camera_name, upload_status);"
          "CREATE INDEX IF NOT EXISTS upload_tracking_capture_ms ON upload_tracking (capture_ms);"
          "CREATE TABLE IF NOT EXISTS camera_status (camera_name TEXT PRIMARY KEY, "
          "consecutive_failures INTEGER NOT NULL DEFAULT 0, "
          "total_failures INTEGER NOT NULL DEFAULT 0, last_error TEXT, "
          "last_attempt_ms INTEGER, last_success_ms INTEGER);"
          "CREATE TABLE IF NOT EXISTS capture_failures (id INTEGER PRIMARY KEY, "
          "camera_name TEXT NOT NULL, when_ms INTEGER NOT NULL, reason TEXT NOT NULL, "
          "error TEXT);"
          /* The old system's rows: `filename` was the bare file name and
           * camera_name "camera_27"; camsnap's filename is the path under
           * backup_queue/ (its remote path too) and the camera is "27". The
           * path comes from the row's own local_path (legacy_relpath), so
           * the row stays the record of its file, attempts and errors
           * included, instead of the file being adopted again beside it. */
          "UPDATE OR IGNORE upload_tracking "
          "SET filename = camsnap_legacy_relpath(filename, local_path) "
          "WHERE camsnap_legacy_relpath(filename, local_path) IS NOT NULL;"
          "UPDATE upload_tracking SET camera_name = substr(camera_name, 8) "
          "WHERE camera_name GLOB 'camera_?*';"
          "UPDATE upload_tracking "
          "SET width = CAST(substr(resolution, 1, instr(resolution, 'x') - 1) AS INTEGER), "
          "height = CAST(substr(resolution, instr(resolution, 'x') + 1) AS INTEGER) "
          "WHERE width IS NULL AND resolution GLOB '[1-9]*x[1-9]*';"
          "PRAGMA user_version = 2;",
    /* Delivery: when the last attempt ran, how its error was
     * classified, when the still was delivered; due rows by age. */
    [3] = "ALTER TABLE upload_tracking ADD COLUMN last_attempt_ms INTEGER;"
          "ALTER TABLE upload_tracking ADD COLUMN error_class TEXT;"
          "ALTER TABLE upload_tracking ADD COLUMN delivered_ms INTEGER;"
          "CREATE INDEX IF NOT EXISTS upload_tracking_status_age "
          "ON upload_tracking (upload_status, capture_ms, id);"
          "PRAGMA user_version = 3;",
    /* Transient failures of the size check after "already exists" (now the
     * reading back of the object): bounded
     * per still, and counted here so that a restart does not reset the bound. */
    [4] = "ALTER TABLE upload_tracking ADD COLUMN verify_failures INTEGER NOT NULL DEFAULT 0;"
          "PRAGMA user_version = 4;",
    /* The remote object name (under the restaurant_id): chosen once, before
     * a still's first attempt, from [upload] object_name; a digest name
     * carries the still's SHA-256, so "already exists" proves the bytes.
     * Rows from before have been (or may have been) sent under their plain
     * name, which they keep: exactly once across the upgrade. remote_check:
     * how the object was known to be there ('stored', or after "already
     * exists": 'content' compared, proven by the 'name', or 'unverified'). */
    [5] = "ALTER TABLE upload_tracking ADD COLUMN object_name TEXT;"
          "ALTER TABLE upload_tracking ADD COLUMN remote_check TEXT;"
          "UPDATE upload_tracking SET object_name = filename;"
          "PRAGMA user_version = 5;",
    /* Alerts and accounting (store_alert.c). alert_state: the last known
     * state of each condition an alert watches (a camera down, a quality
     * flag, the backlog ...), so that a restart neither repeats nor misses a
     * change; alert_outbox: every alert until each of its channels took it
     * ('pending' -> 'sent', or 'none' / 'dropped'), with its own retry
     * schedule per channel; dedup makes a periodic report unique.
     * round_results: every round x camera (captured or failed with its
     * reason); agent_runs: when an agent ran (alive_ms moves on every
     * alive_every_ms while it runs; stopped_ms stays NULL after a crash),
     * from which the rounds missed while none ran are derived. */
    [6] = "CREATE TABLE IF NOT EXISTS alert_state (key TEXT PRIMARY KEY, "
          "active INTEGER NOT NULL DEFAULT 0, notified INTEGER NOT NULL DEFAULT 0, "
          "streak INTEGER NOT NULL DEFAULT 0, since_ms INTEGER NOT NULL DEFAULT 0, "
          "flapping INTEGER NOT NULL DEFAULT 0, value INTEGER NOT NULL DEFAULT 0);"
          "CREATE TABLE IF NOT EXISTS alert_outbox (id INTEGER PRIMARY KEY, "
          "created_ms INTEGER NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, "
          "severity TEXT NOT NULL, camera TEXT, title TEXT NOT NULL, body TEXT NOT NULL, "
          "fields TEXT NOT NULL, dedup TEXT UNIQUE, "
          "webhook TEXT NOT NULL, webhook_attempts INTEGER NOT NULL DEFAULT 0, "
          "webhook_next_ms INTEGER NOT NULL DEFAULT 0, webhook_sent_ms INTEGER, "
          "mail TEXT NOT NULL, mail_attempts INTEGER NOT NULL DEFAULT 0, "
          "mail_next_ms INTEGER NOT NULL DEFAULT 0, mail_sent_ms INTEGER, last_error TEXT);"
          "CREATE INDEX IF NOT EXISTS alert_outbox_key ON alert_outbox (key, created_ms);"
          "CREATE INDEX IF NOT EXISTS alert_outbox_webhook ON alert_outbox (webhook, id);"
          "CREATE INDEX IF NOT EXISTS alert_outbox_mail ON alert_outbox (mail, id);"
          "CREATE TABLE IF NOT EXISTS round_results (camera_name TEXT NOT NULL, "
          "round_ms INTEGER NOT NULL, outcome TEXT NOT NULL, reason TEXT, filename TEXT, "
          "quality_flags INTEGER NOT NULL DEFAULT 0, recorded_ms INTEGER NOT NULL, "
          "PRIMARY KEY (camera_name, round_ms)) WITHOUT ROWID;"
          "CREATE INDEX IF NOT EXISTS round_results_time ON round_results (round_ms);"
          "CREATE TABLE IF NOT EXISTS agent_runs (id INTEGER PRIMARY KEY, "
          "started_ms INTEGER NOT NULL, alive_ms INTEGER NOT NULL, stopped_ms INTEGER, "
          "alive_every_ms INTEGER NOT NULL, pid INTEGER);"
          "PRAGMA user_version = 6;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION + 1,
               "one migration per schema version");

static const char *const status_names[STILL__COUNT] = {
    [STILL_PENDING] = "pending",
    [STILL_SUCCESS] = "success",
    [STILL_FAILED] = "failed",
    [STILL_MISSING] = "missing",
    [STILL_QUARANTINED] = "quarantined",
};

/* sys_errno: sqlite3_system_errno(), the errno SQLite saw when it failed with
 * SQLITE_IOERR or SQLITE_CANTOPEN ("disk I/O error" is its text for a full
 * disk and a refused write alike). */
static enum cs_err map_sqlite(int rc, int sys_errno)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return CS_OK;
    case SQLITE_FULL: return CS_NOSPACE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return CS_BUSY;
    case SQLITE_NOMEM: return CS_NOMEM;
    case SQLITE_PERM:
    case SQLITE_READONLY: return CS_PERM;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
        switch (sys_errno) {
        case ENOSPC:
        case EDQUOT:
        case EACCES:
        case EPERM:
        case ENOENT: return cs_from_errno(sys_errno);
        default: return CS_IO;
        }
    default: return CS_DB;
    }
}

static enum cs_err vfail(struct store *st, int rc, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static enum cs_err exec_sql(struct store *st, const char *sql, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records "<what we were doing>: <SQLite's message>" and translates rc.
 * Must run before anything else touches the connection's error state. */
static enum cs_err vfail(struct store *st, int rc, const char *fmt, va_list ap)
{
    char what[192];
    int sys = sqlite3_system_errno(st->db), prim = rc & 0xff;
    enum cs_err err = map_sqlite(rc, sys);

    vsnprintf(what, sizeof what, fmt, ap);
    /* "disk I/O error" alone does not say a full disk from a refused write. */
    if (sys && (prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN))
        snprintf(st->last_error, sizeof st->last_error, "%s: %s (%s)", what, sqlite3_errmsg(st->db),
                 strerror(sys));
    else
        snprintf(st->last_error, sizeof st->last_error, "%s: %s", what, sqlite3_errmsg(st->db));
    return err ? err : CS_DB;
}

enum cs_err store__fail(struct store *st, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    enum cs_err err = vfail(st, rc, fmt, ap);
    va_end(ap);
    return err;
}

/* Steps s to completion unless binding already failed (rc), then resets it
 * so no statement keeps a read transaction open between calls. */
enum cs_err store__finish(struct store *st, sqlite3_stmt *s, int rc, const char *fmt, ...)
{
    enum cs_err err = CS_OK;

    if (rc == SQLITE_OK) {
        do
            rc = sqlite3_step(s);
        while (rc == SQLITE_ROW);
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) {
        va_list ap;
        va_start(ap, fmt);
        err = vfail(st, rc, fmt, ap);
        va_end(ap);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return err;
}

/* For static SQL without values: pragmas, migrations. */
static enum cs_err exec_sql(struct store *st, const char *sql, const char *fmt, ...)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return CS_OK;

    va_list ap;
    va_start(ap, fmt);
    enum cs_err err = vfail(st, rc, fmt, ap);
    va_end(ap);
    return err;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies a text column; false when it does not fit (NULL reads as ""). */
bool store__copy_text(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
    const unsigned char *txt = sqlite3_column_text(s, col);
    size_t len = (size_t)sqlite3_column_bytes(s, col);

    if (!txt)
        len = 0;
    if (len >= cap)
        return false;
    if (len)
        memcpy(dst, txt, len);
    dst[len] = '\0';
    return true;
}

/* ---- opening and migrating ---------------------------------------------- */

static enum cs_err query_int(struct store *st, const char *sql, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store__fail(st, rc, "reading the schema");
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    }
    enum cs_err err = rc == SQLITE_OK ? CS_OK : store__fail(st, rc, "reading the schema");
    sqlite3_finalize(s);
    return err;
}

/* The schema version on disk; the old Python system never set user_version,
 * so version 0 with its table present is version 1. */
static enum cs_err disk_version(struct store *st, int *out)
{
    int64_t v = 0, legacy = 0;
    enum cs_err err = query_int(st, "PRAGMA user_version", &v);
    if (err)
        return err;
    if (v == 0) {
        err = query_int(st, "SELECT COUNT(*) FROM sqlite_master "
                            "WHERE type = 'table' AND name = 'upload_tracking'", &legacy);
        if (err)
            return err;
        v = legacy ? 1 : 0;
    }
    *out = (int)v;
    return CS_OK;
}

static enum cs_err refuse_newer(struct store *st, int v)
{
    snprintf(st->last_error, sizeof st->last_error,
             "the database has schema version %d, newer than this camsnap (%d): "
             "upgrade camsnap, or move the database aside to start a new one",
             v, STORE_SCHEMA_VERSION);
    return CS_DB;
}

/* Brings the schema from target-1 to target. Re-reads the version under the
 * write lock: another process opening the same file may have done it. */
static enum cs_err migrate_step(struct store *st, int target)
{
    int v = 0;
    enum cs_err err = exec_sql(st, "BEGIN IMMEDIATE", "locking the database to migrate it");
    if (err)
        return err;

    err = disk_version(st, &v);
    if (err)
        goto out_rollback;
    if (v > STORE_SCHEMA_VERSION) {
        err = refuse_newer(st, v);
        goto out_rollback;
    }
    if (v >= target)
        goto out_rollback; /* nothing to undo: someone else migrated */
    err = exec_sql(st, migrations[target], "migrating the database to schema version %d",
                   target);
    if (err)
        goto out_rollback;
    return exec_sql(st, "COMMIT", "committing schema version %d", target);

out_rollback:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* camsnap_legacy_relpath(filename, local_path): the path under backup_queue/
 * of an old system's row, whose filename is the bare file name: the last two
 * components of its own local_path when they are "camera_<name>/<filename>"
 * (wherever the old system's directory was). NULL for a row that already
 * has a path (camsnap's) or whose file was kept elsewhere (reconciliation
 * then finds it by its local_path). */
static void legacy_relpath(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *file = (const char *)sqlite3_value_text(argv[0]);
    const char *local = (const char *)sqlite3_value_text(argv[1]);
    size_t lf, ll;

    (void)argc;
    if (!file || !*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
        return; /* NULL */
    lf = strlen(file);
    ll = local ? strlen(local) : 0;
    if (ll > lf + 1 && local[ll - lf - 1] == '/' && !strcmp(local + ll - lf, file)) {
        const char *end = local + ll - lf - 1, *dir = end;
        while (dir > local && dir[-1] != '/')
            dir--;
        if (end - dir > 7 && !strncmp(dir, "camera_", 7))
            sqlite3_result_text(ctx, sqlite3_mprintf("%.*s/%s", (int)(end - dir), dir, file), -1,
                                sqlite3_free);
    }
}

static enum cs_err migrate(struct store *st)
{
    int v = 0;
    int rc = sqlite3_create_function_v2(st->db, "camsnap_legacy_relpath", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, legacy_relpath,
                                        NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store__fail(st, rc, "preparing the migration of the database");
    enum cs_err err = disk_version(st, &v);
    if (err)
        return err;
    st->version_at_open = v;
    if (v > STORE_SCHEMA_VERSION)
        return refuse_newer(st, v);
    for (int target = v + 1; target <= STORE_SCHEMA_VERSION; target++) {
        err = migrate_step(st, target);
        if (err)
            return err;
    }
    return CS_OK;
}

/* For a read-only look at an older schema: copies the database into memory
 * and migrates the copy, so that this version's queries work on it while
 * the file is left as it is (the next writing command migrates the file). */
static enum cs_err migrate_copy(struct store *st, const char *path)
{
    sqlite3 *mem = NULL;
    sqlite3_backup *b;
    int rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc == SQLITE_OK) {
        b = sqlite3_backup_init(mem, "main", st->db, "main");
        rc = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(mem);
        if (b && rc == SQLITE_DONE)
            rc = sqlite3_backup_finish(b);
        else if (b)
            sqlite3_backup_finish(b);
    }
    sqlite3_close(st->db);
    st->db = mem; /* its error state says what went wrong */
    if (rc != SQLITE_OK)
        return store__fail(st, rc, "copying %s (schema version %d) into memory to read it", path,
                           st->version_at_open);
    return migrate(st);
}

/* True when path's write-ahead log is absent or empty: the database file
 * alone holds every committed transaction. */
static bool wal_empty(const char *path)
{
    char wal[4200];
    struct stat sb;

    if (snprintf(wal, sizeof wal, "%s-wal", path) >= (int)sizeof wal)
        return false;
    return stat(wal, &sb) != 0 ? errno == ENOENT : sb.st_size == 0;
}

/* "file:<path>?immutable=1" with the characters a URI path may not hold
 * escaped. False when it does not fit. */
static bool immutable_uri(const char *path, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    if (outsz < 32)
        return false;
    memcpy(out, "file:", 5);
    n = 5;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (n + 3 >= outsz - 16)
            return false;
        if (*p == '?' || *p == '#' || *p == '%' || *p <= ' ' || *p >= 0x7f) {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        } else {
            out[n++] = (char)*p;
        }
    }
    snprintf(out + n, outsz - n, "?immutable=1");
    return true;
}

/* A full disk leaves no room for the shared-memory index SQLite needs to
 * read a WAL database nobody else has open. With an empty write-ahead log
 * the file alone is the database: it is read as an immutable file. */
static enum cs_err reopen_on_full_disk(struct store *st, const char *path)
{
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_URI;
    char uri[4300];

    if (!wal_empty(path) || !immutable_uri(path, uri, sizeof uri))
        return CS_NOSPACE;
    sqlite3_close(st->db);
    st->db = NULL;
    int rc = sqlite3_open_v2(uri, &st->db, flags, NULL);
    if (rc != SQLITE_OK)
        return store__fail(st, rc, "opening the database %s read-only on a full disk", path);
    return CS_OK;
}

static enum cs_err connect_readonly(struct store *st, const char *path)
{
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    int rc = sqlite3_open_v2(path, &st->db, flags, NULL), v = 0;
    enum cs_err err;

    if (rc != SQLITE_OK)
        return store__fail(st, rc, "opening the database %s read-only", path);
    rc = sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return store__fail(st, rc, "setting the busy timeout on %s", path);
    err = disk_version(st, &v);
    if (err == CS_NOSPACE && reopen_on_full_disk(st, path) == CS_OK)
        err = disk_version(st, &v);
    if (err)
        return err;
    st->version_at_open = v;
    if (v > STORE_SCHEMA_VERSION)
        return refuse_newer(st, v);
    if (v < STORE_SCHEMA_VERSION && (err = migrate_copy(st, path)))
        return err;
    return exec_sql(st, "PRAGMA query_only = 1", "making %s read-only", path);
}

static enum cs_err connect_db(struct store *st, const char *path)
{
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
    if (rc != SQLITE_OK)
        return store__fail(st, rc, "opening the database %s", path);

    rc = sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return store__fail(st, rc, "setting the busy timeout on %s", path);
    /* For ":memory:" this stays "memory", which is fine. */
    enum cs_err err = exec_sql(st, "PRAGMA journal_mode = WAL", "switching %s to WAL", path);
    if (!err)
        err = exec_sql(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
                       "setting pragmas on %s", path);
    return err;
}

static enum cs_err prepare_all(struct store *st)
{
    for (int i = 0; i < STMT__COUNT; i++) {
        int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->stmt[i], NULL);
        if (rc != SQLITE_OK)
            return store__fail(st, rc, "preparing SQL statement %d", i);
    }
    return CS_OK;
}

static enum cs_err open_store(const char *path, bool readonly, struct store **out)
{
    enum cs_err err;
    struct store *st = calloc(1, sizeof *st);

    *out = NULL;
    open_error[0] = '\0';
    if (!st) {
        snprintf(open_error, sizeof open_error, "opening the database %s: out of memory", path);
        return CS_NOMEM;
    }
    if (readonly) {
        err = connect_readonly(st, path);
    } else {
        err = connect_db(st, path);
        if (!err)
            err = migrate(st);
    }
    if (err)
        goto out_close;
    err = prepare_all(st);
    if (err)
        goto out_close;
    *out = st;
    return CS_OK;

out_close:
    snprintf(open_error, sizeof open_error, "%s", st->last_error);
    store_close(st);
    return err;
}

enum cs_err store_open(const char *path, struct store **out)
{
    return open_store(path, false, out);
}

enum cs_err store_open_readonly(const char *path, struct store **out)
{
    return open_store(path, true, out);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (int i = 0; i < STMT__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    store__delivery_close(st);
    sqlite3_close(st->db);
    free(st);
}

sqlite3 *store__db(struct store *st)
{
    return st->db;
}

struct store_delivery_stmts **store__dl(struct store *st)
{
    return &st->dl;
}

int store_version_at_open(const struct store *st)
{
    return st->version_at_open;
}

const char *store_last_error(const struct store *st)
{
    return st ? st->last_error : open_error;
}

/* ---- stills --------------------------------------------------------------- */

/* Binds ?1..?11 (see STILL_VALUES); unknown size, width or height -> NULL. */
static int bind_still(sqlite3_stmt *s, const struct still_info *si)
{
    int rc = sqlite3_bind_text(s, 1, si->filename, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 2, si->camera_name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 3, si->local_path, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 4, si->capture_iso, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 5, si->capture_ms);
    if (rc == SQLITE_OK && si->file_size >= 0)
        rc = sqlite3_bind_int64(s, 6, si->file_size);
    if (rc == SQLITE_OK && si->width > 0)
        rc = sqlite3_bind_int(s, 7, si->width);
    if (rc == SQLITE_OK && si->height > 0)
        rc = sqlite3_bind_int(s, 8, si->height);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 9, si->sha256_hex, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 10, si->resolution_mismatch ? 1 : 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 11, now_ms());
    return rc;
}

enum cs_err store_add_still(struct store *st, const struct still_info *si, int64_t *out_id)
{
    sqlite3_stmt *s = st->stmt[STMT_ADD];
    enum cs_err err = store__finish(st, s, bind_still(s, si), "inserting still %s", si->filename);
    if (err)
        return err;
    if (sqlite3_changes(st->db) == 0) {
        snprintf(st->last_error, sizeof st->last_error, "inserting still %s: already recorded",
                 si->filename);
        return CS_EXISTS;
    }
    if (!out_id)
        return CS_OK;

    s = st->stmt[STMT_LOOKUP];
    int rc = sqlite3_bind_text(s, 1, si->filename, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out_id = sqlite3_column_int64(s, 0);
    else
        err = store__fail(st, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "reading back still %s",
                   si->filename);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return err;
}

enum cs_err store_quarantine(struct store *st, const struct still_info *si, const char *reason)
{
    sqlite3_stmt *s = st->stmt[STMT_QUARANTINE];
    int rc = bind_still(s, si);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 12, reason, -1, SQLITE_STATIC);
    return store__finish(st, s, rc, "quarantining still %s", si->filename);
}

enum cs_err store_mark_missing(struct store *st, const char *filename)
{
    sqlite3_stmt *s = st->stmt[STMT_MISSING];
    int rc = sqlite3_bind_text(s, 1, filename, -1, SQLITE_STATIC);

    return store__finish(st, s, rc, "marking still %s missing", filename);
}

enum cs_err store_lookup(struct store *st, const char *filename, bool *found, int64_t *size,
                         enum still_status *status)
{
    sqlite3_stmt *s = st->stmt[STMT_LOOKUP];
    enum cs_err err = CS_OK;
    int rc = sqlite3_bind_text(s, 1, filename, -1, SQLITE_STATIC);

    *found = false;
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 2);
        enum still_status parsed = STILL_PENDING;
        *found = true;
        if (size)
            *size = sqlite3_column_int64(s, 1);
        if (!name || store_status_parse(name, &parsed) != CS_OK) {
            snprintf(st->last_error, sizeof st->last_error,
                     "looking up still %s: unknown upload_status '%s'", filename,
                     name ? name : "NULL");
            err = CS_DB;
        }
        if (status)
            *status = parsed;
    } else if (rc != SQLITE_DONE) {
        err = store__fail(st, rc, "looking up still %s", filename);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return err;
}

/* Copies one row out of SQLite's memory and hands it to fn. */
static enum cs_err local_row(struct store *st, sqlite3_stmt *s, store_row_fn fn, void *ctx)
{
    char filename[FILENAME_MAX_LEN];
    char local_path[LOCAL_PATH_MAX_LEN];

    if (!store__copy_text(s, 0, filename, sizeof filename) ||
        !store__copy_text(s, 1, local_path, sizeof local_path)) {
        snprintf(st->last_error, sizeof st->last_error,
                 "listing local stills: row %lld has a path too long to handle",
                 (long long)sqlite3_column_int64(s, 3));
        return CS_TOOBIG;
    }
    return fn(ctx, filename, local_path, sqlite3_column_int64(s, 2));
}

enum cs_err store_foreach_local(struct store *st, store_row_fn fn, void *ctx)
{
    sqlite3_stmt *s = st->stmt[STMT_LOCAL];
    enum cs_err err = CS_OK;
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        err = local_row(st, s, fn, ctx);
        if (err)
            break;
    }
    if (!err && rc != SQLITE_DONE)
        err = store__fail(st, rc, "listing local stills");
    sqlite3_reset(s);
    return err;
}

/* ---- cameras -------------------------------------------------------------- */

static enum cs_err camera_result_rows(struct store *st, const char *camera, int64_t when_ms,
                                      bool ok, const char *reason, const char *error)
{
    sqlite3_stmt *s = st->stmt[ok ? STMT_CAMERA_OK : STMT_CAMERA_FAIL];
    int rc = sqlite3_bind_text(s, 1, camera, -1, SQLITE_STATIC);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, when_ms);
    if (rc == SQLITE_OK && !ok)
        rc = sqlite3_bind_text(s, 3, error, -1, SQLITE_STATIC);
    enum cs_err err = store__finish(st, s, rc, "recording the status of camera %s", camera);
    if (err || ok)
        return err;

    s = st->stmt[STMT_CAPTURE_FAILURE];
    rc = sqlite3_bind_text(s, 1, camera, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, when_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 3, reason ? reason : "unknown", -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 4, error, -1, SQLITE_STATIC);
    return store__finish(st, s, rc, "recording a capture failure of camera %s", camera);
}

/* Rolls back after an error without overwriting the error being returned. */
static void rollback_quietly(struct store *st)
{
    sqlite3_stmt *s = st->stmt[STMT_ROLLBACK];

    if (!sqlite3_get_autocommit(st->db))
        sqlite3_step(s);
    sqlite3_reset(s);
}

enum cs_err store_camera_result(struct store *st, const char *camera, int64_t when_ms, bool ok,
                                const char *reason, const char *error)
{
    /* Inside a caller's store_begin() the caller's transaction is ours. */
    bool own = sqlite3_get_autocommit(st->db);
    enum cs_err err = own ? store_begin(st) : CS_OK;
    if (err)
        return err;

    err = camera_result_rows(st, camera, when_ms, ok, reason, error);
    if (err)
        goto out_rollback;
    if (own)
        err = store_commit(st);
    if (err)
        goto out_rollback;
    return CS_OK;

out_rollback:
    if (own)
        rollback_quietly(st);
    return err;
}

/* ---- statistics ----------------------------------------------------------- */

static void fill_camera(sqlite3_stmt *s, struct store_camera_stats *c)
{
    const char *name = (const char *)sqlite3_column_text(s, 0);
    const char *last_error = (const char *)sqlite3_column_text(s, 10);

    memset(c, 0, sizeof *c);
    /* Names are at most CONFIG_NAME_MAX; a longer one is shown cut. */
    snprintf(c->camera_name, sizeof c->camera_name, "%s", name ? name : "");
    for (int i = 0; i < STILL__COUNT; i++)
        c->count[i] = sqlite3_column_int64(s, 1 + i);
    c->pending_bytes = sqlite3_column_int64(s, 7);
    c->oldest_pending_ms = sqlite3_column_int64(s, 8);
    c->consecutive_failures = sqlite3_column_int64(s, 9);
    snprintf(c->last_error, sizeof c->last_error, "%s", last_error ? last_error : "");
    c->last_success_ms = sqlite3_column_int64(s, 11);
    c->unverified = sqlite3_column_int64(s, 12);
    c->failed_attempts = sqlite3_column_int64(s, 13);
}

/* Fills out->cameras and the totals derived from them (column 6 = all rows
 * of the camera, whatever their status). */
static enum cs_err stats_cameras(struct store *st, struct store_stats *out)
{
    sqlite3_stmt *s = st->stmt[STMT_STATS_CAMERAS];
    enum cs_err err = CS_OK;
    size_t cap = 0;
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->n_cameras == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct store_camera_stats *n = realloc(out->cameras, ncap * sizeof *n);
            if (!n) {
                snprintf(st->last_error, sizeof st->last_error, "counting stills: out of memory");
                err = CS_NOMEM;
                break;
            }
            out->cameras = n;
            cap = ncap;
        }
        struct store_camera_stats *c = &out->cameras[out->n_cameras++];
        fill_camera(s, c);
        out->total += sqlite3_column_int64(s, 6);
    }
    if (!err && rc != SQLITE_DONE)
        err = store__fail(st, rc, "counting stills per camera");
    sqlite3_reset(s);
    return err;
}

static void stats_totals(struct store_stats *out)
{
    for (size_t i = 0; i < out->n_cameras; i++) {
        const struct store_camera_stats *c = &out->cameras[i];
        for (int k = 0; k < STILL__COUNT; k++)
            out->count[k] += c->count[k];
        out->queue_bytes += c->pending_bytes;
        out->unverified += c->unverified;
        out->failed_attempts += c->failed_attempts;
        if (c->oldest_pending_ms &&
            (!out->oldest_pending_ms || c->oldest_pending_ms < out->oldest_pending_ms))
            out->oldest_pending_ms = c->oldest_pending_ms;
    }
    out->queue_files = out->count[STILL_PENDING] + out->count[STILL_FAILED];
}

enum cs_err store_stats(struct store *st, struct store_stats *out)
{
    sqlite3_stmt *s = st->stmt[STMT_STATS_FAILURES];
    int rc;

    memset(out, 0, sizeof *out);
    enum cs_err err = stats_cameras(st, out);
    if (err)
        goto out_cleanup;
    stats_totals(out);
    for (size_t i = 0; i < out->n_cameras && !err; i++)
        err = store__last_upload_error(st, out->cameras[i].camera_name,
                                       out->cameras[i].last_upload_error,
                                       sizeof out->cameras[i].last_upload_error);
    if (err)
        goto out_cleanup;

    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        out->capture_failures = sqlite3_column_int64(s, 0);
    else
        err = store__fail(st, rc, "counting capture failures");
    sqlite3_reset(s);
    if (err)
        goto out_cleanup;
    return CS_OK;

out_cleanup:
    store_stats_cleanup(out);
    return err;
}

void store_stats_cleanup(struct store_stats *s)
{
    if (!s)
        return;
    free(s->cameras);
    memset(s, 0, sizeof *s);
}

/* ---- transactions and names ---------------------------------------------- */

enum cs_err store_begin(struct store *st)
{
    return store__finish(st, st->stmt[STMT_BEGIN], SQLITE_OK, "starting a transaction");
}

enum cs_err store_commit(struct store *st)
{
    return store__finish(st, st->stmt[STMT_COMMIT], SQLITE_OK, "committing a transaction");
}

void store_rollback(struct store *st)
{
    /* SQLite may already have rolled back on its own (SQLITE_FULL, ...). */
    if (sqlite3_get_autocommit(st->db))
        return;
    store__finish(st, st->stmt[STMT_ROLLBACK], SQLITE_OK, "rolling back a transaction");
}

const char *store_status_name(enum still_status s)
{
    if ((int)s < 0 || s >= STILL__COUNT)
        return "unknown";
    return status_names[s];
}

enum cs_err store_status_parse(const char *name, enum still_status *out)
{
    for (int i = 0; i < STILL__COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum still_status)i;
            return CS_OK;
        }
    }
    return CS_NOTFOUND;
}
