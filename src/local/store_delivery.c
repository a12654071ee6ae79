/*
 * store_delivery.c - the delivery side of the tracking database: which
 * stills are due, and the transitions of one still's delivery (see the
 * state machine in delivery.c). Statements are prepared on first use and
 * finalized by store_close().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_priv.h"

enum dstmt {
    D_DUE,
    D_NEXT,
    D_BACKLOG,
    D_SET_NAMES,
    D_OBJECT_STORED,
    D_DELIVERED,
    D_FAILED,
    D_QUARANTINE,
    D_OLD,
    D_DELETE,
    D_LAST_ERROR,
    D_LAST_CAPTURE,
    D_ATTENTION,
    D__COUNT
};

struct store_delivery_stmts {
    sqlite3_stmt *s[D__COUNT];
};

/* Waiting stills of one camera (?1) or all (?1 NULL). */
#define WAITING "upload_status IN ('pending', 'failed') AND (?1 IS NULL OR camera_name = ?1)"

static const char *const dsql[D__COUNT] = {
    [D_DUE] = "SELECT id, filename, camera_name, capture_timestamp, COALESCE(capture_ms, 0), "
              "COALESCE(width, 0), COALESCE(height, 0), COALESCE(file_size, -1), "
              "COALESCE(sha256, ''), remote_step, COALESCE(upload_attempts, 0), "
              "COALESCE(image_id, ''), verify_failures, COALESCE(object_name, '') "
              "FROM upload_tracking "
              "WHERE " WAITING " AND (next_attempt_ms <= ?2 OR next_attempt_ms > ?2 + ?5 "
              "OR (?3 > 0 AND COALESCE(last_attempt_ms, 0) < ?3)) "
              "ORDER BY capture_ms, id LIMIT ?4",
    [D_NEXT] = "SELECT MIN(next_attempt_ms) FROM upload_tracking WHERE " WAITING,
    [D_BACKLOG] = "SELECT COUNT(*), COALESCE(SUM(COALESCE(file_size, "
                  "CAST(ROUND(file_size_kb * 1024) AS INTEGER))), 0), "
                  "COALESCE(MIN(capture_ms), 0) FROM upload_tracking WHERE " WAITING,
    [D_SET_NAMES] = "UPDATE upload_tracking SET object_name = ?2, image_id = ?3 WHERE id = ?1",
    [D_OBJECT_STORED] = "UPDATE upload_tracking SET remote_step = 1, supabase_url = ?2, "
                        "last_attempt_ms = ?3, remote_check = ?4, "
                        "last_attempt = strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000.0, 'unixepoch') "
                        "WHERE id = ?1 AND remote_step = 0",
    [D_DELIVERED] = "UPDATE upload_tracking SET upload_status = 'success', remote_step = 2, "
                    "supabase_url = COALESCE(?2, supabase_url), delivered_ms = ?3, "
                    "last_attempt_ms = ?3, upload_attempts = COALESCE(upload_attempts, 0) + 1, "
                    "last_attempt = strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000.0, 'unixepoch'), "
                    "error_message = NULL, error_class = NULL WHERE id = ?1",
    [D_FAILED] = "UPDATE upload_tracking SET upload_status = 'failed', "
                 "upload_attempts = COALESCE(upload_attempts, 0) + 1, last_attempt_ms = ?2, "
                 "last_attempt = strftime('%Y-%m-%dT%H:%M:%fZ', ?2 / 1000.0, 'unixepoch'), "
                 "next_attempt_ms = ?3, error_class = ?4, error_message = ?5, "
                 "verify_failures = verify_failures + ?6 "
                 "WHERE id = ?1 AND upload_status IN ('pending', 'failed')",
    [D_QUARANTINE] = "UPDATE upload_tracking SET upload_status = 'quarantined', "
                     "error_class = 'permanent', error_message = ?2 WHERE id = ?1",
    [D_OLD] = "SELECT id, filename, local_path, upload_status, COALESCE(file_size, -1) "
              "FROM upload_tracking WHERE id > ?3 AND COALESCE(capture_ms, 0) < ?1 AND "
              "(upload_status IN ('success', 'missing') OR "
              "(?2 AND upload_status IN ('pending', 'failed', 'quarantined'))) "
              "ORDER BY id LIMIT ?4",
    [D_DELETE] = "DELETE FROM upload_tracking WHERE id = ?1",
    [D_LAST_CAPTURE] = "SELECT MAX(last_attempt_ms) FROM camera_status",
    [D_ATTENTION] = "SELECT COALESCE(error_message, ''), COUNT(*), MIN(camera_name), "
                    "COUNT(DISTINCT camera_name) FROM upload_tracking WHERE " WAITING
                    " AND error_class = 'attention' GROUP BY error_message "
                    "ORDER BY COUNT(*) DESC, error_message",
    [D_LAST_ERROR] = "SELECT error_message FROM upload_tracking WHERE camera_name = ?1 AND "
                     "upload_status IN ('failed', 'quarantined') AND error_message IS NOT NULL "
                     "ORDER BY COALESCE(last_attempt_ms, 0) DESC, id DESC LIMIT 1",
};

/* Returns the prepared statement, preparing all of them on first use. */
static enum cs_err stmt(struct store *st, enum dstmt which, sqlite3_stmt **out)
{
    struct store_delivery_stmts **dl = store__dl(st);

    if (!*dl) {
        struct store_delivery_stmts *d = calloc(1, sizeof(*d));
        if (!d)
            return CS_NOMEM;
        for (int i = 0; i < D__COUNT; i++) {
            int rc = sqlite3_prepare_v3(store__db(st), dsql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                        &d->s[i], NULL);
            if (rc != SQLITE_OK) {
                enum cs_err err = store__fail(st, rc, "preparing delivery statement %d", i);
                for (int j = 0; j < i; j++)
                    sqlite3_finalize(d->s[j]);
                free(d);
                return err;
            }
        }
        *dl = d;
    }
    *out = (*dl)->s[which];
    return CS_OK;
}

void store__delivery_close(struct store *st)
{
    struct store_delivery_stmts **dl = store__dl(st);

    if (!*dl)
        return;
    for (int i = 0; i < D__COUNT; i++)
        sqlite3_finalize((*dl)->s[i]);
    free(*dl);
    *dl = NULL;
}

static int bind_camera(sqlite3_stmt *s, const char *camera)
{
    return camera ? sqlite3_bind_text(s, 1, camera, -1, SQLITE_STATIC) : sqlite3_bind_null(s, 1);
}

static bool skipped(int64_t id, const int64_t *skip, size_t n_skip)
{
    for (size_t i = 0; i < n_skip; i++)
        if (skip[i] == id)
            return true;
    return false;
}

static void read_due(sqlite3_stmt *s, struct store_due *d)
{
    memset(d, 0, sizeof(*d));
    d->id = sqlite3_column_int64(s, 0);
    store__copy_text(s, 1, d->filename, sizeof(d->filename));
    store__copy_text(s, 2, d->camera_name, sizeof(d->camera_name));
    store__copy_text(s, 3, d->capture_iso, sizeof(d->capture_iso));
    d->capture_ms = sqlite3_column_int64(s, 4);
    d->width = sqlite3_column_int(s, 5);
    d->height = sqlite3_column_int(s, 6);
    d->file_size = sqlite3_column_int64(s, 7);
    store__copy_text(s, 8, d->sha256, sizeof(d->sha256));
    d->remote_step = sqlite3_column_int(s, 9);
    d->attempts = sqlite3_column_int64(s, 10);
    store__copy_text(s, 11, d->image_id, sizeof(d->image_id));
    d->verify_failures = sqlite3_column_int64(s, 12);
    store__copy_text(s, 13, d->object_name, sizeof(d->object_name));
}

enum cs_err store_due(struct store *st, const struct store_due_query *q, struct store_due *out,
                      size_t max, size_t *n)
{
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_DUE, &s);
    int rc;

    *n = 0;
    if (err)
        return err;
    rc = bind_camera(s, q->camera);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, q->now_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 3, q->fresh_since_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 4, (int64_t)(max + q->n_skip));
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 5, q->horizon_ms);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n < max && !skipped(sqlite3_column_int64(s, 0), q->skip, q->n_skip))
            read_due(s, &out[(*n)++]);
        rc = SQLITE_OK;
    }
    return store__finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "selecting due stills");
}

/* Steps a one-row query and hands the row to read (NULL row: not found). */
static enum cs_err one_row(struct store *st, sqlite3_stmt *s, int rc, const char *what,
                           void (*read)(sqlite3_stmt *s, void *ctx), void *ctx)
{
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        read(s, ctx);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    return store__finish(st, s, rc, "%s", what);
}

struct next_ctx {
    bool *found;
    int64_t *when;
};

static void read_next(sqlite3_stmt *s, void *ctx)
{
    struct next_ctx *c = ctx;

    *c->found = sqlite3_column_type(s, 0) != SQLITE_NULL;
    *c->when = sqlite3_column_int64(s, 0);
}

enum cs_err store_next_attempt(struct store *st, const char *camera, bool *found, int64_t *when_ms)
{
    struct next_ctx c = {found, when_ms};
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_NEXT, &s);

    *found = false;
    *when_ms = 0;
    return err ? err : one_row(st, s, bind_camera(s, camera), "finding the next attempt",
                               read_next, &c);
}

struct backlog_ctx {
    int64_t *files, *bytes, *oldest_ms;
};

static void read_backlog(sqlite3_stmt *s, void *ctx)
{
    struct backlog_ctx *c = ctx;

    *c->files = sqlite3_column_int64(s, 0);
    *c->bytes = sqlite3_column_int64(s, 1);
    *c->oldest_ms = sqlite3_column_int64(s, 2);
}

enum cs_err store_backlog_oldest(struct store *st, const char *camera, int64_t *files,
                                 int64_t *bytes, int64_t *oldest_ms)
{
    struct backlog_ctx c = {files, bytes, oldest_ms};
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_BACKLOG, &s);

    *files = *bytes = *oldest_ms = 0;
    return err ? err : one_row(st, s, bind_camera(s, camera), "counting the backlog",
                               read_backlog, &c);
}

enum cs_err store_backlog(struct store *st, const char *camera, int64_t *files, int64_t *bytes)
{
    int64_t oldest_ms;

    return store_backlog_oldest(st, camera, files, bytes, &oldest_ms);
}

enum cs_err store_set_names(struct store *st, int64_t id, const char *object_name,
                            const char *image_id)
{
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_SET_NAMES, &s);
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_int64(s, 1, id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 2, object_name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 3, image_id, -1, SQLITE_STATIC);
    return store__finish(st, s, rc, "recording the names of still %lld", (long long)id);
}

/* Binds ?1 id, ?2 text (may be NULL), ?3 ms, ?4 text4 (when not NULL) and runs s. */
static enum cs_err update4(struct store *st, enum dstmt which, int64_t id, const char *text,
                           int64_t ms, const char *text4, const char *what)
{
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, which, &s);
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_int64(s, 1, id);
    if (rc == SQLITE_OK)
        rc = text ? sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC) : sqlite3_bind_null(s, 2);
    if (rc == SQLITE_OK && which != D_QUARANTINE)
        rc = sqlite3_bind_int64(s, 3, ms);
    if (rc == SQLITE_OK && text4)
        rc = sqlite3_bind_text(s, 4, text4, -1, SQLITE_STATIC);
    return store__finish(st, s, rc, "%s still %lld", what, (long long)id);
}

enum cs_err store_object_stored(struct store *st, int64_t id, const char *url, int64_t now_ms,
                                const char *remote_check)
{
    return update4(st, D_OBJECT_STORED, id, url, now_ms, remote_check,
                   "recording the stored object of");
}

enum cs_err store_delivered(struct store *st, int64_t id, const char *url, int64_t now_ms)
{
    return update4(st, D_DELIVERED, id, url, now_ms, NULL, "recording delivery of");
}

enum cs_err store_quarantine_id(struct store *st, int64_t id, const char *reason)
{
    return update4(st, D_QUARANTINE, id, reason, 0, NULL, "quarantining");
}

/* D_FAILED; verify_failed adds one to verify_failures. */
static enum cs_err attempt_failed(struct store *st, int64_t id, int64_t now_ms,
                                  int64_t next_attempt_ms, const char *error_class,
                                  const char *message, bool verify_failed)
{
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_FAILED, &s);
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_int64(s, 1, id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, now_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 3, next_attempt_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 4, error_class, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 5, message, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 6, verify_failed);
    return store__finish(st, s, rc, "recording a failed attempt of still %lld", (long long)id);
}

enum cs_err store_attempt_failed(struct store *st, int64_t id, int64_t now_ms,
                                 int64_t next_attempt_ms, const char *error_class,
                                 const char *message)
{
    return attempt_failed(st, id, now_ms, next_attempt_ms, error_class, message, false);
}

enum cs_err store_verify_failed(struct store *st, int64_t id, int64_t now_ms,
                                int64_t next_attempt_ms, const char *message)
{
    return attempt_failed(st, id, now_ms, next_attempt_ms, "retry", message, true);
}

enum cs_err store_old_rows(struct store *st, int64_t cutoff_ms, bool include_pending,
                           int64_t after_id, struct store_old *out, size_t max, size_t *n)
{
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_OLD, &s);
    char status[16];
    int rc;

    *n = 0;
    if (err)
        return err;
    rc = sqlite3_bind_int64(s, 1, cutoff_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 2, include_pending);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 3, after_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 4, (int64_t)max);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_old *o = &out[(*n)++];
        o->id = sqlite3_column_int64(s, 0);
        store__copy_text(s, 1, o->filename, sizeof(o->filename));
        store__copy_text(s, 2, o->local_path, sizeof(o->local_path));
        store__copy_text(s, 3, status, sizeof(status));
        if (store_status_parse(status, &o->status))
            o->status = STILL_PENDING;
        o->file_size = sqlite3_column_int64(s, 4);
        rc = SQLITE_OK;
    }
    return store__finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "selecting old stills");
}

enum cs_err store_delete(struct store *st, int64_t id)
{
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_DELETE, &s);

    return err ? err : store__finish(st, s, sqlite3_bind_int64(s, 1, id), "deleting still %lld",
                                     (long long)id);
}

struct text_ctx {
    char *buf;
    size_t sz;
};

static void read_text(sqlite3_stmt *s, void *ctx)
{
    struct text_ctx *c = ctx;

    if (!store__copy_text(s, 0, c->buf, c->sz))
        snprintf(c->buf, c->sz, "%.*s", (int)c->sz - 1, (const char *)sqlite3_column_text(s, 0));
}

enum cs_err store__last_upload_error(struct store *st, const char *camera, char *buf,
                                     size_t bufsz)
{
    struct text_ctx c = {buf, bufsz};
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_LAST_ERROR, &s);

    buf[0] = '\0';
    return err ? err : one_row(st, s, bind_camera(s, camera), "reading the last upload error",
                               read_text, &c);
}

static void read_int(sqlite3_stmt *s, void *ctx)
{
    *(int64_t *)ctx = sqlite3_column_int64(s, 0);
}

enum cs_err store_last_capture(struct store *st, int64_t *when_ms)
{
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_LAST_CAPTURE, &s);

    *when_ms = 0;
    return err ? err : one_row(st, s, SQLITE_OK, "reading the last capture", read_int, when_ms);
}

enum cs_err store_attention(struct store *st, const char *camera, struct store_attention *out,
                            size_t max, size_t *n, int64_t *stills)
{
    sqlite3_stmt *s;
    enum cs_err err = stmt(st, D_ATTENTION, &s);
    int rc;

    *n = 0;
    *stills = 0;
    if (err)
        return err;
    rc = bind_camera(s, camera);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *stills += sqlite3_column_int64(s, 1);
        if (*n < max) {
            struct store_attention *a = &out[(*n)++];
            memset(a, 0, sizeof(*a));
            if (!store__copy_text(s, 0, a->message, sizeof(a->message)))
                snprintf(a->message, sizeof(a->message), "%.*s", (int)sizeof(a->message) - 1,
                         (const char *)sqlite3_column_text(s, 0));
            a->stills = sqlite3_column_int64(s, 1);
            store__copy_text(s, 2, a->camera, sizeof(a->camera));
            a->cameras = sqlite3_column_int64(s, 3);
        }
        rc = SQLITE_OK;
    }
    return store__finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "reading what needs a person");
}
