/*
 * store_alert.c - alert states, the alert outbox, round results and agent
 * runs (store_alert.h). These calls are few (a camera's result, a tick of
 * the alert thread), so statements are prepared per call and finalized at
 * its end rather than cached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_alert.h"
#include "store_priv.h"

/* The column prefix of channel ch in alert_outbox. */
static const char *chan(enum store_alert_channel ch)
{
    return ch == STORE_ALERT_MAIL ? "mail" : "webhook";
}

/* Prepares sql; on failure records what (and SQLite's text) and returns it. */
static enum cs_err prep(struct store *st, const char *sql, sqlite3_stmt **s, const char *what)
{
    int rc = sqlite3_prepare_v2(store__db(st), sql, -1, s, NULL);

    if (rc != SQLITE_OK) {
        *s = NULL;
        return store__fail(st, rc, "%s", what);
    }
    return CS_OK;
}

/* Steps s to completion unless rc already failed, then finalizes it. */
static enum cs_err finish(struct store *st, sqlite3_stmt *s, int rc, const char *what)
{
    enum cs_err err = store__finish(st, s, rc, "%s", what);

    sqlite3_finalize(s);
    return err;
}

/* A statement whose one row holds one integer (0 for NULL). */
static enum cs_err one_int(struct store *st, sqlite3_stmt *s, int rc, int64_t *out,
                           const char *what)
{
    *out = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    }
    return finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, what);
}

static int bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

/* ---- states -------------------------------------------------------------- */

enum cs_err store_alert_states(struct store *st, struct store_alert_state **out, size_t *n)
{
    sqlite3_stmt *s;
    size_t cap = 0;
    int rc;
    enum cs_err err = prep(st,
                           "SELECT key, active, notified, flapping, streak, since_ms, value "
                           "FROM alert_state ORDER BY key",
                           &s, "reading the alert states");

    *out = NULL;
    *n = 0;
    if (err)
        return err;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_alert_state *a;
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            struct store_alert_state *m = realloc(*out, ncap * sizeof(*m));
            if (!m) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = m;
            cap = ncap;
        }
        a = &(*out)[*n];
        memset(a, 0, sizeof(*a));
        if (!store__copy_text(s, 0, a->key, sizeof(a->key)))
            continue; /* not a key of ours */
        a->active = sqlite3_column_int(s, 1) != 0;
        a->notified = sqlite3_column_int(s, 2) != 0;
        a->flapping = sqlite3_column_int(s, 3) != 0;
        a->streak = sqlite3_column_int64(s, 4);
        a->since_ms = sqlite3_column_int64(s, 5);
        a->value = sqlite3_column_int64(s, 6);
        (*n)++;
    }
    err = finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "reading the alert states");
    if (err) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return err;
}

static enum cs_err put_state(struct store *st, const struct store_alert_state *a)
{
    sqlite3_stmt *s;
    enum cs_err err = prep(st,
                           "INSERT INTO alert_state (key, active, notified, flapping, streak, "
                           "since_ms, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                           "ON CONFLICT (key) DO UPDATE SET active = excluded.active, "
                           "notified = excluded.notified, flapping = excluded.flapping, "
                           "streak = excluded.streak, since_ms = excluded.since_ms, "
                           "value = excluded.value",
                           &s, "writing an alert state");
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_text(s, 1, a->key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 2, a->active);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 3, a->notified);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 4, a->flapping);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 5, a->streak);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 6, a->since_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 7, a->value);
    return finish(st, s, rc, "writing an alert state");
}

static enum cs_err add_alert(struct store *st, const struct store_alert_new *m, bool *added)
{
    sqlite3_stmt *s;
    enum cs_err err = prep(st,
                           "INSERT INTO alert_outbox (created_ms, key, kind, severity, camera, "
                           "title, body, fields, dedup, webhook, mail) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                           "ON CONFLICT (dedup) DO NOTHING",
                           &s, "adding an alert to the outbox");
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_int64(s, 1, m->created_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 2, m->key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 3, m->kind, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 4, m->severity, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_text_or_null(s, 5, m->camera);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 6, m->title, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 7, m->body, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 8, m->fields, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_text_or_null(s, 9, m->dedup);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 10, m->webhook ? "pending" : "none", -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 11, m->mail ? "pending" : "none", -1, SQLITE_STATIC);
    err = store__finish(st, s, rc, "adding an alert to the outbox");
    if (!err && added)
        *added = sqlite3_changes(store__db(st)) > 0;
    sqlite3_finalize(s);
    return err;
}

enum cs_err store_alert_commit(struct store *st, const struct store_alert_state *s,
                               const struct store_alert_new *m, bool *added)
{
    enum cs_err err = store_begin(st);

    if (added)
        *added = false;
    if (err)
        return err;
    if (s && (err = put_state(st, s)))
        goto out_rollback;
    if (m && (err = add_alert(st, m, added)))
        goto out_rollback;
    if ((err = store_commit(st)))
        goto out_rollback;
    return CS_OK;
out_rollback:
    store_rollback(st);
    if (added)
        *added = false;
    return err;
}

enum cs_err store_alert_count_key(struct store *st, const char *key, int64_t since_ms,
                                  int64_t *n)
{
    sqlite3_stmt *s;
    enum cs_err err = prep(st,
                           "SELECT COUNT(*) FROM alert_outbox WHERE key = ?1 AND created_ms >= ?2",
                           &s, "counting alerts");
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, since_ms);
    return one_int(st, s, rc, n, "counting alerts");
}

/* ---- the outbox ---------------------------------------------------------- */

static char *dup_column(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);

    return strdup(t ? t : "");
}

void store_alert_rows_free(struct store_alert_row *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].title);
        free(rows[i].body);
        free(rows[i].fields);
    }
    free(rows);
}

static bool fill_row(sqlite3_stmt *s, struct store_alert_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(s, 0);
    r->created_ms = sqlite3_column_int64(s, 1);
    r->attempts = sqlite3_column_int64(s, 2);
    store__copy_text(s, 3, r->kind, sizeof(r->kind));
    store__copy_text(s, 4, r->severity, sizeof(r->severity));
    store__copy_text(s, 5, r->camera, sizeof(r->camera));
    r->title = dup_column(s, 6);
    r->body = dup_column(s, 7);
    r->fields = dup_column(s, 8);
    return r->title && r->body && r->fields;
}

enum cs_err store_alert_due(struct store *st, enum store_alert_channel ch, int64_t now_ms,
                            size_t max, struct store_alert_row **out, size_t *n)
{
    char sql[512];
    sqlite3_stmt *s;
    enum cs_err err;
    int rc;

    *out = NULL;
    *n = 0;
    snprintf(sql, sizeof(sql),
             "SELECT id, created_ms, %1$s_attempts, kind, severity, COALESCE(camera, ''), "
             "title, body, fields FROM alert_outbox WHERE %1$s = 'pending' AND "
             "%1$s_next_ms <= ?1 ORDER BY id LIMIT ?2",
             chan(ch));
    if ((err = prep(st, sql, &s, "reading the alert outbox")))
        return err;
    if (max && !(*out = calloc(max, sizeof(**out))))
        rc = SQLITE_NOMEM;
    else
        rc = sqlite3_bind_int64(s, 1, now_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, (int64_t)max);
    while (rc == SQLITE_OK && *n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        rc = fill_row(s, &(*out)[*n]) ? SQLITE_OK : SQLITE_NOMEM;
        (*n)++;
    }
    err = finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "reading the alert outbox");
    if (err) {
        store_alert_rows_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return err;
}

/* Runs sql (?1 = id, ?2, ?3 as given) for each of ids[0..n) in one
 * transaction. */
static enum cs_err update_ids(struct store *st, const char *sql, const int64_t *ids, size_t n,
                              int64_t v2, const char *v3, const char *what)
{
    sqlite3_stmt *s;
    enum cs_err err = store_begin(st);

    if (err)
        return err;
    if ((err = prep(st, sql, &s, what)))
        goto out_rollback;
    for (size_t i = 0; i < n && !err; i++) {
        int rc = sqlite3_bind_int64(s, 1, ids[i]);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(s, 2, v2);
        if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) >= 3)
            rc = bind_text_or_null(s, 3, v3);
        err = store__finish(st, s, rc, "%s", what);
    }
    sqlite3_finalize(s);
    if (!err && !(err = store_commit(st)))
        return CS_OK;
out_rollback:
    store_rollback(st);
    return err;
}

enum cs_err store_alert_sent(struct store *st, enum store_alert_channel ch, const int64_t *ids,
                             size_t n, int64_t now_ms)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "UPDATE alert_outbox SET %1$s = 'sent', %1$s_sent_ms = ?2, "
             "%1$s_attempts = %1$s_attempts + 1 WHERE id = ?1 AND %1$s = 'pending'",
             chan(ch));
    return update_ids(st, sql, ids, n, now_ms, NULL, "recording alerts as sent");
}

enum cs_err store_alert_failed(struct store *st, enum store_alert_channel ch, const int64_t *ids,
                               size_t n, int64_t next_ms, const char *error)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "UPDATE alert_outbox SET %1$s_next_ms = ?2, %1$s_attempts = %1$s_attempts + 1, "
             "last_error = ?3 WHERE id = ?1 AND %1$s = 'pending'",
             chan(ch));
    return update_ids(st, sql, ids, n, next_ms, error, "recording a failed alert delivery");
}

enum cs_err store_alert_drop(struct store *st, enum store_alert_channel ch, int64_t cutoff_ms,
                             bool all, int64_t *n)
{
    char sql[256];
    sqlite3_stmt *s;
    enum cs_err err;
    int rc;

    *n = 0;
    snprintf(sql, sizeof(sql),
             "UPDATE alert_outbox SET %1$s = 'dropped' WHERE %1$s = 'pending' AND "
             "(?2 OR created_ms < ?1)",
             chan(ch));
    if ((err = prep(st, sql, &s, "giving up old alerts")))
        return err;
    rc = sqlite3_bind_int64(s, 1, cutoff_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 2, all);
    err = store__finish(st, s, rc, "giving up old alerts");
    if (!err)
        *n = sqlite3_changes(store__db(st));
    sqlite3_finalize(s);
    return err;
}

enum cs_err store_alert_next(struct store *st, enum store_alert_channel ch, bool *found,
                             int64_t *when_ms)
{
    char sql[256];
    sqlite3_stmt *s;
    enum cs_err err;
    int rc;

    *found = false;
    *when_ms = 0;
    snprintf(sql, sizeof(sql),
             "SELECT MIN(%1$s_next_ms) FROM alert_outbox WHERE %1$s = 'pending'", chan(ch));
    if ((err = prep(st, sql, &s, "reading the alert outbox")))
        return err;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *found = sqlite3_column_type(s, 0) != SQLITE_NULL;
        *when_ms = sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    }
    return finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "reading the alert outbox");
}

enum cs_err store_alert_messages_since(struct store *st, enum store_alert_channel ch,
                                       int64_t since_ms, int64_t *n)
{
    char sql[256];
    sqlite3_stmt *s;
    enum cs_err err;

    snprintf(sql, sizeof(sql),
             "SELECT COUNT(DISTINCT %1$s_sent_ms) FROM alert_outbox WHERE %1$s = 'sent' AND "
             "%1$s_sent_ms >= ?1",
             chan(ch));
    if ((err = prep(st, sql, &s, "counting alert messages")))
        return err;
    return one_int(st, s, sqlite3_bind_int64(s, 1, since_ms), n, "counting alert messages");
}

enum cs_err store_alert_pending(struct store *st, enum store_alert_channel ch, int64_t *n)
{
    char sql[128];
    sqlite3_stmt *s;
    enum cs_err err;

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM alert_outbox WHERE %s = 'pending'",
             chan(ch));
    if ((err = prep(st, sql, &s, "counting pending alerts")))
        return err;
    return one_int(st, s, SQLITE_OK, n, "counting pending alerts");
}

/* ---- accounting ---------------------------------------------------------- */

/* Where a run ends: its stop, or (running, or crashed) two alive periods
 * after it last said it was alive. */
#define RUN_END "COALESCE(stopped_ms, alive_ms + 2 * alive_every_ms)"

enum cs_err store_round_result(struct store *st, const struct store_round_result *r,
                               int64_t now_ms)
{
    sqlite3_stmt *s;
    enum cs_err err = prep(st,
                           "INSERT OR REPLACE INTO round_results (camera_name, round_ms, outcome, "
                           "reason, filename, quality_flags, recorded_ms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           &s, "recording a round result");
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_text(s, 1, r->camera, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, r->round_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s, 3, r->captured ? "captured" : "failed", -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_text_or_null(s, 4, r->captured ? NULL : (r->reason ? r->reason : "unknown"));
    if (rc == SQLITE_OK)
        rc = bind_text_or_null(s, 5, r->captured ? r->filename : NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 6, (int64_t)r->quality_flags);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 7, now_ms);
    return finish(st, s, rc, "recording a round result");
}

enum cs_err store_foreach_round(struct store *st, int64_t from_ms, int64_t to_ms,
                                store_round_fn fn, void *ctx)
{
    sqlite3_stmt *s;
    enum cs_err err = prep(st,
                           "SELECT r.camera_name, r.round_ms, r.outcome = 'captured', "
                           "COALESCE(r.reason, ''), r.quality_flags, u.upload_status "
                           "FROM round_results r LEFT JOIN upload_tracking u "
                           "ON u.filename = r.filename "
                           "WHERE r.round_ms >= ?1 AND r.round_ms < ?2 "
                           "ORDER BY r.camera_name, r.round_ms",
                           &s, "reading round results");
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_int64(s, 1, from_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, to_ms);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(s, 5);
        struct store_round_row r = {
            .camera = (const char *)sqlite3_column_text(s, 0),
            .round_ms = sqlite3_column_int64(s, 1),
            .captured = sqlite3_column_int(s, 2) != 0,
            .reason = (const char *)sqlite3_column_text(s, 3),
            .quality_flags = (unsigned)sqlite3_column_int64(s, 4),
            .has_still = status != NULL,
        };
        if (status && store_status_parse(status, &r.status))
            r.has_still = false;
        if (!r.camera || !r.reason) {
            rc = SQLITE_OK;
            continue;
        }
        if ((err = fn(ctx, &r))) {
            sqlite3_finalize(s);
            return err;
        }
        rc = SQLITE_OK;
    }
    return finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "reading round results");
}

enum cs_err store_run_spans(struct store *st, int64_t from_ms, int64_t to_ms,
                            struct store_run_span **out, size_t *n)
{
    sqlite3_stmt *s;
    size_t cap = 0;
    int rc;
    enum cs_err err = prep(st,
                           "SELECT started_ms, " RUN_END ", stopped_ms IS NOT NULL "
                           "FROM agent_runs WHERE started_ms < ?2 AND " RUN_END " > ?1 "
                           "ORDER BY started_ms, id",
                           &s, "reading the agent's runs");

    *out = NULL;
    *n = 0;
    if (err)
        return err;
    rc = sqlite3_bind_int64(s, 1, from_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, to_ms);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct store_run_span *m = realloc(*out, ncap * sizeof(*m));
            if (!m) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = m;
            cap = ncap;
        }
        (*out)[*n] = (struct store_run_span){
            .start_ms = sqlite3_column_int64(s, 0),
            .end_ms = sqlite3_column_int64(s, 1),
            .clean = sqlite3_column_int(s, 2) != 0,
            .open = sqlite3_column_int(s, 2) == 0,
        };
        (*n)++;
        rc = SQLITE_OK;
    }
    err = finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "reading the agent's runs");
    if (err) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return err;
}

static enum cs_err previous_run(struct store *st, struct store_run_span *prev)
{
    sqlite3_stmt *s;
    enum cs_err err = prep(st,
                           "SELECT started_ms, COALESCE(stopped_ms, alive_ms), "
                           "stopped_ms IS NOT NULL FROM agent_runs ORDER BY id DESC LIMIT 1",
                           &s, "reading the agent's last run");
    int rc;

    memset(prev, 0, sizeof(*prev));
    if (err)
        return err;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        prev->start_ms = sqlite3_column_int64(s, 0);
        prev->end_ms = sqlite3_column_int64(s, 1);
        prev->clean = sqlite3_column_int(s, 2) != 0;
        prev->open = !prev->clean;
        rc = SQLITE_OK;
    }
    return finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc, "reading the agent's last run");
}

enum cs_err store_run_start(struct store *st, int64_t now_ms, long pid, int64_t alive_every_ms,
                            int64_t *run_id, struct store_run_span *prev)
{
    struct store_run_span p;
    sqlite3_stmt *s;
    enum cs_err err = previous_run(st, prev ? prev : &p);
    int rc;

    if (err)
        return err;
    if ((err = prep(st,
                    "INSERT INTO agent_runs (started_ms, alive_ms, alive_every_ms, pid) "
                    "VALUES (?1, ?1, ?3, ?2)",
                    &s, "recording the agent's start")))
        return err;
    rc = sqlite3_bind_int64(s, 1, now_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, pid);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 3, alive_every_ms);
    err = store__finish(st, s, rc, "recording the agent's start");
    if (!err)
        *run_id = sqlite3_last_insert_rowid(store__db(st));
    sqlite3_finalize(s);
    return err;
}

static enum cs_err run_update(struct store *st, const char *sql, int64_t run_id, int64_t now_ms,
                              const char *what)
{
    sqlite3_stmt *s;
    enum cs_err err = prep(st, sql, &s, what);
    int rc;

    if (err)
        return err;
    rc = sqlite3_bind_int64(s, 1, run_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, now_ms);
    return finish(st, s, rc, what);
}

enum cs_err store_run_alive(struct store *st, int64_t run_id, int64_t now_ms)
{
    return run_update(st, "UPDATE agent_runs SET alive_ms = MAX(alive_ms, ?2) WHERE id = ?1",
                      run_id, now_ms, "recording that the agent is alive");
}

enum cs_err store_run_stop(struct store *st, int64_t run_id, int64_t now_ms)
{
    return run_update(st,
                      "UPDATE agent_runs SET alive_ms = MAX(alive_ms, ?2), stopped_ms = ?2 "
                      "WHERE id = ?1",
                      run_id, now_ms, "recording the agent's stop");
}

enum cs_err store_waiting(struct store *st, int64_t *files, int64_t *bytes, int64_t *oldest_ms)
{
    sqlite3_stmt *s;
    enum cs_err err = prep(st,
                           "SELECT COUNT(*), COALESCE(SUM(COALESCE(file_size, "
                           "CAST(ROUND(file_size_kb * 1024) AS INTEGER))), 0), "
                           "COALESCE(MIN(capture_ms), 0) FROM upload_tracking "
                           "WHERE upload_status IN ('pending', 'failed')",
                           &s, "counting the stills waiting for delivery");
    int rc;

    *files = *bytes = *oldest_ms = 0;
    if (err)
        return err;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *files = sqlite3_column_int64(s, 0);
        *bytes = sqlite3_column_int64(s, 1);
        *oldest_ms = sqlite3_column_int64(s, 2);
        rc = SQLITE_OK;
    }
    return finish(st, s, rc == SQLITE_DONE ? SQLITE_OK : rc,
                  "counting the stills waiting for delivery");
}
