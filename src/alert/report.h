/*
 * report.h - the account of a period, per camera: the rounds the schedule
 * expected (every aligned slot of the interval inside the window on the
 * configured days, plus any round that really ran), what became of each -
 * captured, failed (by reason) or missed (no agent ran then: "agent down",
 * derived from the agent's recorded runs; an agent ran but no round did:
 * "skipped") - how many stills carried a data-quality flag, and how many of
 * those captured were delivered or still wait.
 *
 * Times are wall-clock milliseconds; days and hours are those of the
 * process's time zone (TZ, set from [general] timezone). Reads the database
 * only. Thread-safe as far as the store connection given is.
 */
#ifndef CAMSNAP_REPORT_H
#define CAMSNAP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "store.h"
#include "units.h"

/* Version of the --json output (and of the report sent to a webhook). */
#define REPORT_SCHEMA_VERSION 1

/* The failure reasons a capture records (capture.h), and the rest. */
enum report_reason {
    REPORT_FAIL_CAMERA,
    REPORT_FAIL_DISK,
    REPORT_FAIL_DATABASE,
    REPORT_FAIL_IMAGE,
    REPORT_FAIL_OTHER,
    REPORT_FAIL__COUNT
};

/* "camera", "disk", "database", "image", "other". */
const char *report_reason_name(enum report_reason r);

struct report_row {
    char camera[72];            /* "TOTAL" in the total row */
    bool configured;            /* a camera of the configuration (else only recorded) */
    int64_t expected;
    int64_t captured;
    int64_t failed;
    int64_t failed_by[REPORT_FAIL__COUNT];
    int64_t missed;             /* = missed_down + missed_skipped */
    int64_t missed_down;        /* no agent was running */
    int64_t missed_skipped;     /* an agent ran, the round did not */
    int64_t flagged;            /* captured with a data-quality flag */
    int64_t delivered;          /* captured and delivered */
    int64_t pending;            /* captured and still waiting for delivery */
};

/* What to account for. */
struct report_params {
    int64_t from_ms, to_ms;     /* the period [from, to) */
    int64_t now_ms;             /* slots after now - interval are not expected yet */
    int64_t interval_ms;
    struct window window;
    int days;
    const char *const *cameras; /* the enabled cameras of the configuration */
    size_t n_cameras;
    const char *camera;         /* only this one, or NULL for all */
};

struct report {
    int64_t from_ms, to_ms, generated_ms;
    int64_t interval_ms;
    struct window window;
    int days;
    int64_t slots;              /* rounds the schedule expected in the period */
    int64_t uptime_ms;          /* agents running within the period (up to now) */
    int64_t runs;               /* agent runs overlapping it */
    struct report_row *rows;    /* by camera name; owned */
    size_t n_rows;
    struct report_row total;
};

/* The most rounds a report walks (a year at 5m is 105,120 per camera). */
#define REPORT_MAX_SLOTS 5000000

/* Fills *out (free with report_free). CS_TOOBIG when the period holds
 * more than REPORT_MAX_SLOTS rounds; CS_DB and the store's error otherwise
 * (store_last_error). */
enum cs_err report_compute(struct store *st, const struct report_params *p, struct report *out);
void report_free(struct report *r);

/* The period a report covers: the last complete hour or day (local time)
 * that ended at or before now (hour: [HH-1:00, HH:00); day: yesterday). */
void report_last_period(int64_t now_ms, bool daily, int64_t *from_ms, int64_t *to_ms);

/* Outputs. text: a header and a table for people; csv: a header line and
 * one line per camera then TOTAL; json: one object with schema_version
 * (malloc'ed string, NULL when out of memory). */
void report_print_text(const struct report *r, FILE *out);
void report_print_csv(const struct report *r, FILE *out);
char *report_json(const struct report *r);

#endif
