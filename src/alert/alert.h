/*
 * alert.h - alerts and round accounting for the agent.
 *
 * The agent tells this module what happened (each camera's outcome in a
 * round, its own start and stop); a thread of this module looks at the site
 * (backlog, oldest waiting still, free disk, an upload service that refuses
 * the key or bucket) and, at the end of each hour or day, at the report.
 * Every watched condition has a state kept in the database (store_alert.h):
 *
 *   camera/NAME/down            raised after [alert] camera_down_after
 *                               consecutive failed rounds, cleared by a still
 *   camera/NAME/quality/FLAG    raised after quality_after consecutive stills
 *                               with the flag, cleared after as many without
 *   site/backlog                more than backlog_stills waiting; cleared
 *                               below 80% of it
 *   site/backlog_age            the oldest waiting still older than
 *                               backlog_age; cleared below 80% of it
 *   site/disk                   less than disk_free_min free; cleared above
 *                               120% of it
 *   site/upload                 the upload service refuses the key, the
 *                               bucket or the table (needs a person)
 *   agent                       running (started) or not (stopped)
 *
 * One alert per change of state, written to the outbox in the same
 * transaction as the state, so an alert survives a crash and a restart
 * repeats none. A condition that changes ALERT_FLAP_CHANGES times within
 * ALERT_FLAP_WINDOW_MS is flapping: one alert says so, the next changes are
 * held, and once it has kept one state for ALERT_FLAP_SETTLE_MS one alert
 * gives that state (if it differs from the last one sent).
 *
 * The thread delivers the outbox through each channel set in [alert]
 * (alert_send.h): oldest first, what is due together in one message, at
 * most rate_limit messages per channel per hour, failures retried with
 * backoff (backoff.h), alerts older than ALERT_MAX_AGE_MS given up. No
 * text sent holds a secret: errors pass through the log's redaction, a
 * camera's source is named by scheme, host and port only.
 *
 * Thread-safety: every function may be called from any thread; calls are
 * serialised inside (one database connection of its own).
 */
#ifndef CAMSNAP_ALERT_H
#define CAMSNAP_ALERT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "err.h"

/* Data-quality flags of a still (image/quality.h), bits 0..3. */
#define ALERT_QUALITY_BLACK (1u << 0)
#define ALERT_QUALITY_UNIFORM (1u << 1)
#define ALERT_QUALITY_FROZEN (1u << 2)
#define ALERT_QUALITY_RESOLUTION_CHANGE (1u << 3)
#define ALERT_QUALITY_FLAGS 4

#define ALERT_FLAP_CHANGES 4
#define ALERT_FLAP_WINDOW_MS (3600 * 1000LL)
#define ALERT_FLAP_SETTLE_MS (30 * 60 * 1000LL)
#define ALERT_MAX_AGE_MS (48 * 3600 * 1000LL)
#define ALERT_BATCH_MAX 50      /* alerts in one message */

struct alerts;

/* Opens the engine on <state_dir>/capture_tracking.db (its own connection;
 * the schema must exist: the caller opened the store first) with cfg's
 * [alert] settings (copied: cfg may be freed afterwards). Errors: those of
 * store_open, CS_NOMEM; *out NULL then and *why says what failed. */
enum cs_err alerts_open(const struct config *cfg, struct alerts **out, char *why, size_t whysz);

/* Stops the thread if running (without a final delivery) and frees. NULL:
 * no-op. */
void alerts_close(struct alerts *a);

/* Takes new settings (a reload), copied. */
enum cs_err alerts_reconfigure(struct alerts *a, const struct config *cfg);

/* One camera's outcome in one round, after its still is recorded (or its
 * failure). Strings are borrowed for the call. */
struct alert_capture {
    const char *camera;
    int64_t round_ms;           /* the round's scheduled wall time */
    bool ok;
    const char *reason;         /* failed: "camera", "disk", "database", "image" */
    const char *error;          /* failed: what happened (secrets are redacted here) */
    const char *still;          /* ok: the still's filename (store.h) */
    unsigned quality_flags;     /* ok: ALERT_QUALITY_* of the still */
};

/* Records the outcome (round accounting) and updates the camera's down and
 * quality conditions (alerts on their changes). Errors are logged, never
 * returned: a capture must not fail because of an alert. */
void alerts_capture(struct alerts *a, const struct alert_capture *c);

/* The agent started: records its run (the previous one ended cleanly or
 * not), alerts, and starts the thread that watches the site and delivers.
 * CS_NOMEM/CS_DB when it could not (logged; the agent runs on without). */
enum cs_err alerts_agent_start(struct alerts *a);

/* The agent stops: records the end of its run, alerts, and gives the
 * thread up to flush_ms (agent clock) to deliver what waits, then stops it.
 * What is not delivered stays in the outbox for the next start. */
void alerts_agent_stop(struct alerts *a, int64_t flush_ms);

/* One look at the site conditions, the flapping ones and the periodic
 * report at wall time now_ms (the thread calls it; tests may too). */
void alerts_check(struct alerts *a, int64_t now_ms);

/* Delivers what is due at now_ms through every channel (the thread calls
 * it; tests may too, without the thread). Returns how many alerts some
 * channel took. */
int alerts_deliver(struct alerts *a, int64_t now_ms);

/* `camsnap alert test`: sends one test alert with text through every
 * channel of cfg now, without the outbox, and writes one line per channel
 * to out ("webhook: sent" or what failed). CS_CONFIG when no channel is
 * set; otherwise the first failure, CS_OK when every channel took it. */
enum cs_err alerts_send_test(const struct config *cfg, const char *text, FILE *out);

/* libcurl's global initialisation (not thread-safe): main, before threads. */
void alerts_global_init(void);

#endif
