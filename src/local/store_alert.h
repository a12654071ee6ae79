/*
 * store_alert.h - the tables of alerts and accounting in the tracking
 * database (schema: store.c, version 6):
 *
 *   alert_state    the last known state of every condition an alert watches,
 *                  keyed by a word such as "camera/27/down" (alert.c names
 *                  them); a change of state and the alert it causes are one
 *                  transaction (store_alert_commit), so a crash loses neither
 *                  and a restart repeats none
 *   alert_outbox   every alert until each channel took it; per channel a
 *                  state ('pending', 'sent', 'none': the channel was off,
 *                  'dropped': given up), attempts and the time of the next one
 *   round_results  every round x camera: captured, or failed with its reason
 *   agent_runs     when an agent ran: started, last alive, stopped (NULL
 *                  after a crash)
 *
 * What it does not do: decide anything (alert.c decides, report.c counts);
 * send anything. Same thread rules as store.h: one connection per thread.
 */
#ifndef CAMSNAP_STORE_ALERT_H
#define CAMSNAP_STORE_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define STORE_ALERT_KEY_MAX 128

/* The state of one watched condition. */
struct store_alert_state {
    char key[STORE_ALERT_KEY_MAX];
    bool active;                /* the condition holds now */
    bool notified;              /* the state the channels were last told */
    bool flapping;              /* alerts of this key are held (it changed too often) */
    int64_t streak;             /* consecutive observations (meaning set by alert.c) */
    int64_t since_ms;           /* wall time of the last change of active */
    int64_t value;              /* a number kept with the state (alert.c) */
};

/* Fills *out (malloc'ed, free() it) with every state, *n of them. */
enum cs_err store_alert_states(struct store *st, struct store_alert_state **out, size_t *n);

/* A new alert for the outbox. Strings are borrowed for the call. */
struct store_alert_new {
    int64_t created_ms;
    const char *key;            /* the condition (or "report/daily" ...) */
    const char *kind;           /* "camera_down", "report", ... */
    const char *severity;       /* "critical", "warning", "info" */
    const char *camera;         /* NULL when not about one camera */
    const char *title;          /* one line, ASCII (the e-mail subject) */
    const char *body;           /* the text, UTF-8, lines separated by '\n' */
    const char *fields;         /* the structured alert, a JSON object */
    const char *dedup;          /* NULL, or unique: a second alert with it is not added */
    bool webhook, mail;         /* the channels it goes to */
};

/* In one transaction: writes state s (may be NULL) and adds alert m (may
 * be NULL). *added (may be NULL) tells whether m was added (false for a
 * dedup already there). */
enum cs_err store_alert_commit(struct store *st, const struct store_alert_state *s,
                               const struct store_alert_new *m, bool *added);

/* Alerts of key created at or after since_ms. */
enum cs_err store_alert_count_key(struct store *st, const char *key, int64_t since_ms,
                                  int64_t *n);

enum store_alert_channel { STORE_ALERT_WEBHOOK, STORE_ALERT_MAIL, STORE_ALERT__CHANNELS };

/* An alert waiting for a channel, copied out (strings owned: free the
 * array with store_alert_rows_free). */
struct store_alert_row {
    int64_t id;
    int64_t created_ms;
    int64_t attempts;           /* of this channel */
    char kind[32];
    char severity[16];
    char camera[72];
    char *title;
    char *body;
    char *fields;
};

/* Up to max alerts pending for channel ch whose next attempt is due at
 * now_ms, oldest first. */
enum cs_err store_alert_due(struct store *st, enum store_alert_channel ch, int64_t now_ms,
                            size_t max, struct store_alert_row **out, size_t *n);
void store_alert_rows_free(struct store_alert_row *rows, size_t n);

/* Channel ch took alerts ids[0..n) at now_ms (one message). */
enum cs_err store_alert_sent(struct store *st, enum store_alert_channel ch, const int64_t *ids,
                             size_t n, int64_t now_ms);

/* Channel ch failed them: attempts + 1, next attempt at next_ms, error
 * recorded. */
enum cs_err store_alert_failed(struct store *st, enum store_alert_channel ch, const int64_t *ids,
                               size_t n, int64_t next_ms, const char *error);

/* Gives up on alerts pending for ch created before cutoff_ms (or all of
 * them when all): 'dropped'. *n how many. */
enum cs_err store_alert_drop(struct store *st, enum store_alert_channel ch, int64_t cutoff_ms,
                             bool all, int64_t *n);

/* Earliest next attempt among alerts pending for ch; *found false when
 * none waits. */
enum cs_err store_alert_next(struct store *st, enum store_alert_channel ch, bool *found,
                             int64_t *when_ms);

/* Messages ch sent since since_ms (alerts sent together count once). */
enum cs_err store_alert_messages_since(struct store *st, enum store_alert_channel ch,
                                       int64_t since_ms, int64_t *n);

/* Alerts still pending for ch. */
enum cs_err store_alert_pending(struct store *st, enum store_alert_channel ch, int64_t *n);

/* ---- accounting ---------------------------------------------------------- */

/* One camera in one round (round_ms: the round's scheduled time). A second
 * result for the same camera and round replaces the first. */
struct store_round_result {
    int64_t round_ms;
    const char *camera;
    bool captured;
    const char *reason;         /* failed: "camera", "disk", ...; NULL when captured */
    const char *filename;       /* captured: the still (store.h filename) */
    unsigned quality_flags;
};
enum cs_err store_round_result(struct store *st, const struct store_round_result *r,
                               int64_t now_ms);

/* One row of round_results with what became of its still. */
struct store_round_row {
    const char *camera;         /* borrowed for the callback */
    int64_t round_ms;
    bool captured;
    const char *reason;         /* borrowed; "" when captured */
    unsigned quality_flags;
    bool has_still;             /* the still's row exists */
    enum still_status status;   /* its status then */
};
typedef enum cs_err (*store_round_fn)(void *ctx, const struct store_round_row *r);

/* Calls fn for every round result with from_ms <= round_ms < to_ms, by
 * camera then time. fn must not use st; anything but CS_OK stops the walk
 * and is returned. */
enum cs_err store_foreach_round(struct store *st, int64_t from_ms, int64_t to_ms,
                                store_round_fn fn, void *ctx);

/* An agent's run: [start_ms, end_ms). */
struct store_run_span {
    int64_t start_ms;
    int64_t end_ms;             /* stopped, or (crashed or running) last alive plus
                                 * twice its alive period */
    bool clean;                 /* it stopped cleanly */
    bool open;                  /* not stopped (running, or crashed) */
};

/* The runs that overlap [from_ms, to_ms), by start. *out malloc'ed (free()
 * it). */
enum cs_err store_run_spans(struct store *st, int64_t from_ms, int64_t to_ms,
                            struct store_run_span **out, size_t *n);

/* An agent starts: a new run that says it is alive every alive_every_ms
 * (store_run_alive); *prev (may be NULL) gets the run before it (start_ms 0
 * when none; end_ms its stop or when it was last alive). */
enum cs_err store_run_start(struct store *st, int64_t now_ms, long pid, int64_t alive_every_ms,
                            int64_t *run_id, struct store_run_span *prev);
enum cs_err store_run_alive(struct store *st, int64_t run_id, int64_t now_ms);
enum cs_err store_run_stop(struct store *st, int64_t run_id, int64_t now_ms);

/* Stills waiting for delivery (pending, failed): count, bytes and the
 * capture time of the oldest (0 when none). */
enum cs_err store_waiting(struct store *st, int64_t *files, int64_t *bytes, int64_t *oldest_ms);

#endif
