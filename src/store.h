/*
 * store.h - the tracking database (SQLite), the only code that speaks SQL.
 *
 * <state_dir>/capture_tracking.db, table upload_tracking: one row per still,
 * keyed by `filename`, which is the still's path relative to backup_queue/
 * ("camera_27/20261126_113000_2592_1944.jpg"), the same string as the remote
 * object path. Also camera_status (per-camera health) and capture_failures
 * (every round/camera that produced no still, with its reason).
 *
 * Schema versioned with PRAGMA user_version and migrated in place; version 1
 * is the table the old Python system created (so its database is adopted),
 * later versions add camsnap's columns. WAL, synchronous=FULL, busy_timeout.
 *
 * A still's status (upload_status column):
 *
 *     store_add_still()          delivery (issue 4)
 *   ──────────────────▶ pending ───────────────▶ success
 *                          │  ▲
 *     store_mark_missing() │  │ (file reappears: store_add_still adopts)
 *                          ▼  │
 *                        missing        quarantined ◀── store_quarantine()
 *                                       (kept, counted, never uploaded)
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

#define STORE_SCHEMA_VERSION 2
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
    char last_error[256];       /* "" when none */
    int64_t last_success_ms;    /* 0 when never */
};

struct store_stats {
    int64_t count[STILL__COUNT];
    int64_t total;
    int64_t queue_files;        /* pending + failed */
    int64_t queue_bytes;
    int64_t oldest_pending_ms;  /* 0 when none */
    int64_t capture_failures;   /* rows in capture_failures */
    struct store_camera_stats *cameras; /* owned; free with store_stats_cleanup */
    size_t n_cameras;
};

/* Opens (creating if needed) the database at path and migrates it to
 * STORE_SCHEMA_VERSION. Errors: CS_DB (also for a database newer than this
 * camsnap), CS_IO (cannot open the file), CS_BUSY, CS_NOSPACE, CS_NOMEM;
 * on error *out is NULL and store_last_error(NULL) says why (log it). */
enum cs_err store_open(const char *path, struct store **out);

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

/* The text of the last error on this connection (SQLite's own message
 * prefixed with what was being done); borrowed until the next call. */
const char *store_last_error(const struct store *st);

/* "pending", "success", ... and back. */
const char *store_status_name(enum still_status s);
enum cs_err store_status_parse(const char *name, enum still_status *out);

#endif
