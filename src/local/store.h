/*
 * store.h - the tracking database (SQLite): this module (store.c, and the
 * delivery transitions in store_delivery.c) is the only code that speaks SQL.
 *
 * <state_dir>/capture_tracking.db, table upload_tracking: one row per still,
 * keyed by `filename`, which is the still's path relative to backup_queue/
 * ("camera_27/20261126_113000_2592_1944.jpg"); `object_name` is its remote
 * object path (under the restaurant_id), chosen before its first attempt
 * (see delivery.h). Also camera_status (per-camera health) and
 * capture_failures (every round/camera that produced no still, with its
 * reason).
 *
 * Schema versioned with PRAGMA user_version and migrated in place; version 1
 * is the table the old Python system created (so its database is adopted),
 * later versions add camsnap's columns. WAL, synchronous=FULL, busy_timeout.
 *
 * A still's status (upload_status column) moves pending -> success, or
 * through failed (a delivery attempt failed: retried later) to success;
 * pending and failed go missing when the file is gone (and back to pending
 * when it returns); any row may be quarantined (kept, never uploaded).
 * store.c draws the machine with the function of each transition.
 *
 * Thread-safety: one struct store is one connection; use it from one thread
 * at a time (callers serialise). Several processes may open the same file.
 */
#ifndef CAMSNAP_STORE_H
#define CAMSNAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define STORE_SCHEMA_VERSION 6
#define STORE_FILENAME "capture_tracking.db"

struct store;

enum still_status {
    STILL_PENDING,
    STILL_SUCCESS,
    STILL_FAILED,
    STILL_MISSING,
    STILL_QUARANTINED,
    STILL__COUNT
};

/* What capture (or reconciliation) knows about a new still. */
struct still_info {
    const char *filename;       /* relative path, see above; unique */
    const char *camera_name;
    const char *local_path;     /* absolute path of the final file */
    int64_t capture_ms;         /* wall-clock capture time, ms since epoch */
    const char *capture_iso;    /* same instant, ISO 8601 with UTC offset */
    int64_t file_size;          /* bytes */
    int width, height;
    bool resolution_mismatch;   /* differs from the camera's expected size */
    const char *sha256_hex;     /* 64 hex chars of the file's SHA-256, or NULL */
};

struct store_camera_stats {
    char camera_name[72];
    int64_t count[STILL__COUNT];
    int64_t pending_bytes;      /* pending + failed files */
    int64_t oldest_pending_ms;  /* capture time; 0 when none */
    int64_t consecutive_failures;
    char last_error[256];       /* last capture error, "" when none */
    char last_upload_error[256];/* error of the newest failed/quarantined still */
    int64_t last_success_ms;    /* 0 when never */
    int64_t unverified;         /* delivered, but "already there" could not be proven ours */
    int64_t failed_attempts;    /* delivery attempts that failed, of the stills recorded */
};

struct store_stats {
    int64_t count[STILL__COUNT];
    int64_t total;
    int64_t queue_files;        /* pending + failed */
    int64_t queue_bytes;
    int64_t oldest_pending_ms;  /* 0 when none */
    int64_t capture_failures;   /* rows in capture_failures */
    int64_t unverified;         /* sum of the cameras' */
    int64_t failed_attempts;    /* sum of the cameras' */
    struct store_camera_stats *cameras; /* owned; free with store_stats_cleanup */
    size_t n_cameras;
};

/* Opens (creating if needed) the database at path and migrates it to
 * STORE_SCHEMA_VERSION. Errors: CS_DB (also for a database newer than this
 * camsnap), CS_IO (cannot open the file), CS_NOTFOUND (no such directory),
 * CS_PERM (not allowed to open or write it), CS_BUSY, CS_NOSPACE, CS_NOMEM;
 * on error *out is NULL and store_last_error(NULL) says why (log it). */
enum cs_err store_open(const char *path, struct store **out);

/* Opens an existing database for reading only (stats, status): creates
 * nothing, migrates nothing and writes nothing, whoever else uses the file
 * (SQLite may create the -wal/-shm files of an open database). A database
 * of an older schema is read through a migrated copy in memory; on a disk
 * too full for the -shm file of a database nobody has open, the file is
 * read as immutable when its write-ahead log is empty.
 * Write calls on it fail (CS_DB). Errors as store_open; CS_NOTFOUND when
 * there is no database at path. */
enum cs_err store_open_readonly(const char *path, struct store **out);

/* Closes; store_close(NULL) is a no-op. */
void store_close(struct store *st);

/* Returns the schema version found on disk before migration (0 = new,
 * 1 = also a database of the old Python system, adopted). */
int store_version_at_open(const struct store *st);

/* Returns what the last failed call on st was doing and SQLite's own text
 * ("inserting still camera_27/...: NOT NULL constraint failed: ..."), for
 * the caller to log; "" when nothing failed yet. Successful calls do not
 * clear it. With st == NULL: why the calling thread's last store_open
 * failed. Borrowed: valid until the next call on st (or, for NULL, the next
 * store_open in this thread). Same thread rules as st. */
const char *store_last_error(const struct store *st);

/* Inserts a new pending still. CS_EXISTS when the filename is already
 * recorded (nothing changed), except for a row marked missing: its file is
 * back, so the row returns to pending with the new size/sha256 (CS_OK).
 * *out_id (may be NULL) gets the row id. */
enum cs_err store_add_still(struct store *st, const struct still_info *si, int64_t *out_id);

/* Records a still found on disk whose file cannot be used (truncated, not
 * decodable): inserted, or updated if present, as quarantined with reason. */
enum cs_err store_quarantine(struct store *st, const struct still_info *si, const char *reason);

/* Marks the row with this filename as missing (its file is gone). */
enum cs_err store_mark_missing(struct store *st, const char *filename);

/* Sets *found and, when found, *size (bytes, -1 when unknown) and *status. */
enum cs_err store_lookup(struct store *st, const char *filename, bool *found, int64_t *size,
                         enum still_status *status);

/* Calls fn for every row whose status expects a local file (pending, failed,
 * success not yet cleaned up is NOT included), oldest first, streaming (memory
 * independent of row count). fn returns CS_OK to go on; anything else stops
 * the walk and is returned. fn must not use st. */
typedef enum cs_err (*store_row_fn)(void *ctx, const char *filename, const char *local_path,
                                    int64_t size);
enum cs_err store_foreach_local(struct store *st, store_row_fn fn, void *ctx);

/* Per-camera health after a capture attempt: ok resets the consecutive
 * failure count; a failure increments it, stores `error` and adds a row to
 * capture_failures with `reason` (short word: "camera", "disk", ...). */
enum cs_err store_camera_result(struct store *st, const char *camera, int64_t when_ms, bool ok,
                                const char *reason, const char *error);

/* Fills *out (free with store_stats_cleanup). now_ms is unused by SQL but
 * kept for callers computing ages. */
enum cs_err store_stats(struct store *st, struct store_stats *out);
void store_stats_cleanup(struct store_stats *s);

/* Runs a write transaction around a group of calls (reconciliation). */
enum cs_err store_begin(struct store *st);
enum cs_err store_commit(struct store *st);
void store_rollback(struct store *st);

/* ---- delivery (store_delivery.c) ------------------------------------------
 *
 * remote_step records how far a still got: 0 nothing remote, 1 object
 * stored, 2 row inserted (= status success). Each remote step is recorded
 * before the next begins, so a restart resumes at the right step.
 */

#define STORE_IMAGE_ID_LEN 36

/* A still due for delivery, copied out of the database. */
struct store_due {
    int64_t id;
    char filename[256];    /* relative path in the spool */
    char object_name[256]; /* remote object path (under the restaurant_id); "" until
                            * chosen before the first attempt */
    char camera_name[72];
    char capture_iso[40];
    int64_t capture_ms;
    int width, height;
    int64_t file_size;          /* -1 when unknown (old rows) */
    char sha256[65];            /* "" when unknown */
    int remote_step;            /* 0 or 1 */
    int64_t attempts;
    char image_id[STORE_IMAGE_ID_LEN + 1]; /* "" until first attempt */
    /* How often the reading back after "already exists" failed transiently
     * (bounded by DELIVERY_VERIFY_ATTEMPTS). */
    int64_t verify_failures;
};

/* Which stills are due. */
struct store_due_query {
    int64_t now_ms;             /* wall clock */
    int64_t horizon_ms;         /* a next attempt further than this ahead is
                                 * treated as due (the wall clock jumped back) */
    int64_t fresh_since_ms;     /* > 0: also due when not attempted since this
                                 * time, whatever its schedule (sync) */
    const char *camera;         /* NULL: all cameras */
    const int64_t *skip;        /* ids in flight, not returned */
    size_t n_skip;
};

/* Fills out[0..*n) with up to max due stills (pending or failed), oldest
 * capture first. Memory is the caller's array, whatever the backlog. */
enum cs_err store_due(struct store *st, const struct store_due_query *q, struct store_due *out,
                      size_t max, size_t *n);

/* Earliest next_attempt_ms among pending/failed stills (of camera, or all);
 * *found false when none is waiting. */
enum cs_err store_next_attempt(struct store *st, const char *camera, bool *found, int64_t *when_ms);

/* Counts stills waiting for delivery (pending + failed) of camera (or all). */
enum cs_err store_backlog(struct store *st, const char *camera, int64_t *files, int64_t *bytes);

/* store_backlog, and the capture time of the oldest waiting still (0 when
 * none waits), from one snapshot. */
enum cs_err store_backlog_oldest(struct store *st, const char *camera, int64_t *files,
                                 int64_t *bytes, int64_t *oldest_ms);

/* Transitions, each one short transaction:
 *   store_set_names:      records the object name and row id chosen before
 *                         the first attempt
 *   store_object_stored:  remote_step 0 -> 1, supabase_url = url, remote_check
 *                         = how the object is known to be there ("stored",
 *                         "content", "name", "unverified")
 *   store_delivered:      -> success (remote_step 2), delivered_ms = now_ms
 *   store_attempt_failed: -> failed, attempts+1, next_attempt_ms, error_class
 *                         ("retry", "attention"), error_message
 *   store_verify_failed:  as store_attempt_failed with error_class "retry",
 *                         and verify_failures+1 (a transient failure of the
 *                         reading back; persisted so that restarts keep the bound)
 *   store_quarantine_id:  -> quarantined with reason (kept, never retried) */
enum cs_err store_set_names(struct store *st, int64_t id, const char *object_name,
                            const char *image_id);
enum cs_err store_object_stored(struct store *st, int64_t id, const char *url, int64_t now_ms,
                                const char *remote_check);
enum cs_err store_delivered(struct store *st, int64_t id, const char *url, int64_t now_ms);
enum cs_err store_attempt_failed(struct store *st, int64_t id, int64_t now_ms,
                                 int64_t next_attempt_ms, const char *error_class,
                                 const char *message);
enum cs_err store_verify_failed(struct store *st, int64_t id, int64_t now_ms,
                                int64_t next_attempt_ms, const char *message);
enum cs_err store_quarantine_id(struct store *st, int64_t id, const char *reason);

/* One failure that needs a person (error_class "attention": key refused,
 * bucket or table missing, row-level security), and the stills waiting on it. */
struct store_attention {
    char message[384]; /* the error, as recorded (names the bucket or table) */
    int64_t stills;    /* waiting stills with this error */
    int64_t cameras;   /* of how many cameras */
    char camera[72];   /* one of them (the first by name) */
};

/* Fills out[0..*n) with up to max distinct needs-a-person errors among the
 * waiting stills of camera (or all), most stills first; *stills gets the
 * number of such stills in all (out may hold fewer). */
enum cs_err store_attention(struct store *st, const char *camera, struct store_attention *out,
                            size_t max, size_t *n, int64_t *stills);

/* A row that cleanup may remove. */
struct store_old {
    int64_t id;
    char filename[256];
    char local_path[1024];
    enum still_status status;
    int64_t file_size;
};

/* Up to max rows captured before cutoff_ms with id > after_id, by id:
 * success and missing rows, plus pending, failed and quarantined ones when
 * include_pending. Call again with after_id = the last id to page. */
enum cs_err store_old_rows(struct store *st, int64_t cutoff_ms, bool include_pending,
                           int64_t after_id, struct store_old *out, size_t max, size_t *n);

/* Time of the newest capture attempt of any camera (0 when none). */
enum cs_err store_last_capture(struct store *st, int64_t *when_ms);

/* Deletes one row (cleanup). */
enum cs_err store_delete(struct store *st, int64_t id);

/* The text of the last error on this connection (SQLite's own message
 * prefixed with what was being done); borrowed until the next call. */
const char *store_last_error(const struct store *st);

/* "pending", "success", ... and back. */
const char *store_status_name(enum still_status s);
enum cs_err store_status_parse(const char *name, enum still_status *out);

#endif
