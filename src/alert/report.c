/*
 * report.c - the account of a period (report.h): the schedule's slots are
 * enumerated once; each camera's recorded rounds (by time) are merged with
 * them; a slot without a record is missed, "agent down" unless one of the
 * agent's runs covers it.
 */
#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "schedule.h"
#include "store_alert.h"

static const char *const reason_names[REPORT_FAIL__COUNT] = {
    [REPORT_FAIL_CAMERA] = "camera", [REPORT_FAIL_DISK] = "disk",
    [REPORT_FAIL_DATABASE] = "database", [REPORT_FAIL_IMAGE] = "image",
    [REPORT_FAIL_OTHER] = "other",
};

const char *report_reason_name(enum report_reason r)
{
    return (int)r >= 0 && r < REPORT_FAIL__COUNT ? reason_names[r] : "other";
}

static enum report_reason reason_of(const char *word)
{
    for (int i = 0; i < REPORT_FAIL_OTHER; i++)
        if (!strcmp(word, reason_names[i]))
            return (enum report_reason)i;
    return REPORT_FAIL_OTHER;
}

/* A growable array of times. */
struct times {
    int64_t *v;
    size_t n, cap;
};

static bool times_push(struct times *t, int64_t x)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        int64_t *m = realloc(t->v, cap * sizeof(*m));
        if (!m)
            return false;
        t->v = m;
        t->cap = cap;
    }
    t->v[t->n++] = x;
    return true;
}

struct walk {
    const struct report_params *p;
    struct report *r;
    struct times slots;         /* the schedule's, sorted */
    struct store_run_span *spans;
    size_t n_spans;
    struct report_row *row;     /* being filled */
    struct times rec;           /* its recorded round times, sorted */
};

static enum cs_err enumerate_slots(const struct report_params *p, struct times *out)
{
    int64_t iv = p->interval_ms, end = p->to_ms;

    /* A round that is due now may still be running: not expected yet
     * (counted all the same once recorded). */
    if (p->now_ms - iv < end)
        end = p->now_ms - iv;
    for (int64_t t = schedule_align(p->from_ms, iv); t < end; t = schedule_align(t + iv, iv)) {
        if (!schedule_in_window(&p->window, p->days, t))
            continue;
        if (out->n >= REPORT_MAX_SLOTS)
            return CS_TOOBIG;
        if (!times_push(out, t))
            return CS_NOMEM;
    }
    return CS_OK;
}

static bool covered(const struct walk *w, int64_t t)
{
    for (size_t i = 0; i < w->n_spans; i++)
        if (w->spans[i].start_ms <= t && t < w->spans[i].end_ms)
            return true;
    return false;
}

static struct report_row *add_row(struct report *r, const char *name, bool configured)
{
    struct report_row *m = realloc(r->rows, (r->n_rows + 1) * sizeof(*m));

    if (!m)
        return NULL;
    r->rows = m;
    m = &r->rows[r->n_rows++];
    memset(m, 0, sizeof(*m));
    snprintf(m->camera, sizeof(m->camera), "%s", name);
    m->configured = configured;
    return m;
}

static struct report_row *find_row(struct report *r, const char *name)
{
    for (size_t i = 0; i < r->n_rows; i++)
        if (!strcmp(r->rows[i].camera, name))
            return &r->rows[i];
    return NULL;
}

/* Merges the camera's recorded rounds with the slots. A camera that is not
 * configured any more is expected only where it was recorded. */
static void finish_row(struct walk *w)
{
    struct report_row *row = w->row;
    size_t i = 0, j = 0, matched = 0;

    if (!row)
        return;
    if (row->configured) {
        while (i < w->slots.n) {
            int64_t s = w->slots.v[i];
            while (j < w->rec.n && w->rec.v[j] < s)
                j++;
            if (j < w->rec.n && w->rec.v[j] == s) {
                matched++;
            } else if (covered(w, s)) {
                row->missed_skipped++;
            } else {
                row->missed_down++;
            }
            i++;
        }
        row->expected = (int64_t)(w->slots.n + (w->rec.n - matched));
    } else {
        row->expected = (int64_t)w->rec.n;
    }
    row->missed = row->missed_down + row->missed_skipped;
    w->row = NULL;
    w->rec.n = 0;
}

static enum cs_err on_round(void *ctx, const struct store_round_row *rr)
{
    struct walk *w = ctx;
    struct report_row *row;

    if (w->p->camera && strcmp(rr->camera, w->p->camera))
        return CS_OK;
    if (!w->row || strcmp(w->row->camera, rr->camera)) {
        finish_row(w);
        row = find_row(w->r, rr->camera);
        if (!row && !(row = add_row(w->r, rr->camera, false)))
            return CS_NOMEM;
        w->row = row;
    }
    row = w->row;
    if (!times_push(&w->rec, rr->round_ms))
        return CS_NOMEM;
    if (!rr->captured) {
        row->failed++;
        row->failed_by[reason_of(rr->reason)]++;
        return CS_OK;
    }
    row->captured++;
    if (rr->quality_flags)
        row->flagged++;
    if (rr->has_still && rr->status == STILL_SUCCESS)
        row->delivered++;
    else if (rr->has_still && (rr->status == STILL_PENDING || rr->status == STILL_FAILED))
        row->pending++;
    return CS_OK;
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const struct report_row *)a)->camera, ((const struct report_row *)b)->camera);
}

static void add_totals(struct report *r)
{
    struct report_row *t = &r->total;

    memset(t, 0, sizeof(*t));
    snprintf(t->camera, sizeof(t->camera), "TOTAL");
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct report_row *c = &r->rows[i];
        t->expected += c->expected;
        t->captured += c->captured;
        t->failed += c->failed;
        for (int k = 0; k < REPORT_FAIL__COUNT; k++)
            t->failed_by[k] += c->failed_by[k];
        t->missed += c->missed;
        t->missed_down += c->missed_down;
        t->missed_skipped += c->missed_skipped;
        t->flagged += c->flagged;
        t->delivered += c->delivered;
        t->pending += c->pending;
    }
}

static void uptime(struct walk *w)
{
    int64_t end = w->p->to_ms < w->p->now_ms ? w->p->to_ms : w->p->now_ms;

    for (size_t i = 0; i < w->n_spans; i++) {
        int64_t a = w->spans[i].start_ms > w->p->from_ms ? w->spans[i].start_ms : w->p->from_ms;
        int64_t b = w->spans[i].end_ms < end ? w->spans[i].end_ms : end;
        if (b > a)
            w->r->uptime_ms += b - a;
    }
    w->r->runs = (int64_t)w->n_spans;
}

/* Rows for the configured cameras, so that one without any record (down
 * since before the period, or never run) is listed too. */
static enum cs_err configured_rows(struct walk *w)
{
    for (size_t i = 0; i < w->p->n_cameras; i++) {
        const char *name = w->p->cameras[i];
        if (w->p->camera && strcmp(name, w->p->camera))
            continue;
        if (!find_row(w->r, name) && !add_row(w->r, name, true))
            return CS_NOMEM;
    }
    return CS_OK;
}

/* The configured cameras that recorded nothing: every slot missed. */
static void finish_silent_rows(struct walk *w, size_t n_configured)
{
    for (size_t i = 0; i < n_configured; i++) {
        struct report_row *row = &w->r->rows[i];
        if (row->expected || row->captured || row->failed)
            continue;
        w->row = row;
        w->rec.n = 0;
        finish_row(w);
    }
}

enum cs_err report_compute(struct store *st, const struct report_params *p, struct report *out)
{
    struct walk w = {.p = p, .r = out};
    enum cs_err err;
    size_t n_configured;

    memset(out, 0, sizeof(*out));
    *out = (struct report){.from_ms = p->from_ms, .to_ms = p->to_ms, .generated_ms = p->now_ms,
                           .interval_ms = p->interval_ms, .window = p->window, .days = p->days};
    if ((err = enumerate_slots(p, &w.slots)))
        goto out;
    out->slots = (int64_t)w.slots.n;
    if ((err = store_run_spans(st, p->from_ms, p->to_ms, &w.spans, &w.n_spans)))
        goto out;
    uptime(&w);
    if ((err = configured_rows(&w)))
        goto out;
    n_configured = out->n_rows;
    if ((err = store_foreach_round(st, p->from_ms, p->to_ms, on_round, &w)))
        goto out;
    finish_row(&w);
    finish_silent_rows(&w, n_configured);
    qsort(out->rows, out->n_rows, sizeof(*out->rows), cmp_rows);
    add_totals(out);
out:
    free(w.slots.v);
    free(w.rec.v);
    free(w.spans);
    if (err)
        report_free(out);
    return err;
}

void report_free(struct report *r)
{
    if (!r)
        return;
    free(r->rows);
    memset(r, 0, sizeof(*r));
}

void report_last_period(int64_t now_ms, bool daily, int64_t *from_ms, int64_t *to_ms)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    tm.tm_sec = 0;
    tm.tm_min = 0;
    if (daily)
        tm.tm_hour = 0;
    tm.tm_isdst = -1;
    *to_ms = (int64_t)mktime(&tm) * 1000;
    if (daily)
        tm.tm_mday -= 1;
    else
        tm.tm_hour -= 1;
    tm.tm_isdst = -1;
    *from_ms = (int64_t)mktime(&tm) * 1000;
}

/* ---- outputs ------------------------------------------------------------- */

static const char *window_text(const struct window *w, char *buf, size_t sz)
{
    if (w->always || w->start_min == w->end_min)
        snprintf(buf, sz, "always");
    else
        snprintf(buf, sz, "%02d:%02d-%02d:%02d", (w->start_min / 60) % 24, w->start_min % 60,
                 (w->end_min / 60) % 25, w->end_min % 60);
    return buf;
}

/* "camera 3, disk 1; agent down 12, skipped 1", or "-". */
static const char *details(const struct report_row *c, char *buf, size_t sz)
{
    size_t off = 0;
    const char *sep = "failed: ";

    buf[0] = '\0';
    for (int k = 0; k < REPORT_FAIL__COUNT && off < sz; k++) {
        if (!c->failed_by[k])
            continue;
        off += (size_t)snprintf(buf + off, sz - off, "%s%s %lld", sep, reason_names[k],
                                (long long)c->failed_by[k]);
        sep = ", ";
    }
    sep = off ? "; missed: " : "missed: ";
    if (c->missed_down && off < sz) {
        off += (size_t)snprintf(buf + off, sz - off, "%sagent down %lld", sep,
                                (long long)c->missed_down);
        sep = ", ";
    }
    if (c->missed_skipped && off < sz)
        off += (size_t)snprintf(buf + off, sz - off, "%sskipped %lld", sep,
                                (long long)c->missed_skipped);
    if (!off)
        snprintf(buf, sz, "-");
    return buf;
}

static void text_row(const struct report_row *c, FILE *out)
{
    char d[256];

    fprintf(out, "%-16s %8lld %8lld %7lld %7lld %7lld %9lld %7lld  %s\n", c->camera,
            (long long)c->expected, (long long)c->captured, (long long)c->failed,
            (long long)c->missed, (long long)c->flagged, (long long)c->delivered,
            (long long)c->pending, details(c, d, sizeof(d)));
}

void report_print_text(const struct report *r, FILE *out)
{
    char a[40], b[40], w[48], days[64], iv[32], up[32];

    fprintf(out, "camsnap report %s to %s\n", clock_format_iso(r->from_ms, 0, a, sizeof(a)),
            clock_format_iso(r->to_ms, 0, b, sizeof(b)));
    fprintf(out, "schedule: every %s, window %s, days %s: %lld round(s) expected\n",
            units_format_duration(r->interval_ms, iv, sizeof(iv)),
            window_text(&r->window, w, sizeof(w)), units_format_days(r->days, days, sizeof(days)),
            (long long)r->slots);
    fprintf(out, "agent: up %s in %lld run(s)\n\n",
            units_format_duration(r->uptime_ms / 60000 * 60000, up, sizeof(up)),
            (long long)r->runs);
    fprintf(out, "%-16s %8s %8s %7s %7s %7s %9s %7s  %s\n", "CAMERA", "EXPECTED", "CAPTURED",
            "FAILED", "MISSED", "FLAGGED", "DELIVERED", "PENDING", "DETAILS");
    for (size_t i = 0; i < r->n_rows; i++)
        text_row(&r->rows[i], out);
    text_row(&r->total, out);
}

static void csv_row(const struct report_row *c, FILE *out)
{
    fprintf(out, "%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld", c->camera,
            (long long)c->expected, (long long)c->captured, (long long)c->failed,
            (long long)c->missed, (long long)c->missed_down, (long long)c->missed_skipped,
            (long long)c->flagged, (long long)c->delivered, (long long)c->pending);
    for (int k = 0; k < REPORT_FAIL__COUNT; k++)
        fprintf(out, ",%lld", (long long)c->failed_by[k]);
    fputs("\r\n", out);
}

void report_print_csv(const struct report *r, FILE *out)
{
    /* Camera names are letters, digits, '.', '_' and '-': nothing to quote. */
    fputs("camera,expected,captured,failed,missed,missed_agent_down,missed_skipped,"
          "quality_flagged,delivered,pending",
          out);
    for (int k = 0; k < REPORT_FAIL__COUNT; k++)
        fprintf(out, ",failed_%s", reason_names[k]);
    fputs("\r\n", out);
    for (size_t i = 0; i < r->n_rows; i++)
        csv_row(&r->rows[i], out);
    csv_row(&r->total, out);
}

static json_t *row_json(const struct report_row *c, bool camera)
{
    json_t *o = json_object(), *by = json_object(), *missed = json_object();

    if (camera) {
        json_object_set_new(o, "camera", json_string(c->camera));
        json_object_set_new(o, "configured", json_boolean(c->configured));
    }
    json_object_set_new(o, "expected", json_integer(c->expected));
    json_object_set_new(o, "captured", json_integer(c->captured));
    json_object_set_new(o, "failed", json_integer(c->failed));
    for (int k = 0; k < REPORT_FAIL__COUNT; k++)
        json_object_set_new(by, reason_names[k], json_integer(c->failed_by[k]));
    json_object_set_new(o, "failed_by_reason", by);
    json_object_set_new(o, "missed", json_integer(c->missed));
    json_object_set_new(missed, "agent_down", json_integer(c->missed_down));
    json_object_set_new(missed, "skipped", json_integer(c->missed_skipped));
    json_object_set_new(o, "missed_by_reason", missed);
    json_object_set_new(o, "quality_flagged", json_integer(c->flagged));
    json_object_set_new(o, "delivered", json_integer(c->delivered));
    json_object_set_new(o, "pending", json_integer(c->pending));
    return o;
}

char *report_json(const struct report *r)
{
    json_t *root = json_object(), *cams = json_array(), *sched = json_object();
    char a[40], w[48], days[64];
    char *text;

    json_object_set_new(root, "schema_version", json_integer(REPORT_SCHEMA_VERSION));
    json_object_set_new(root, "from", json_string(clock_format_iso(r->from_ms, 0, a, sizeof(a))));
    json_object_set_new(root, "to", json_string(clock_format_iso(r->to_ms, 0, a, sizeof(a))));
    json_object_set_new(root, "generated",
                        json_string(clock_format_iso(r->generated_ms, 0, a, sizeof(a))));
    json_object_set_new(sched, "interval_seconds", json_real((double)r->interval_ms / 1000.0));
    json_object_set_new(sched, "window", json_string(window_text(&r->window, w, sizeof(w))));
    json_object_set_new(sched, "days", json_string(units_format_days(r->days, days, sizeof(days))));
    json_object_set_new(sched, "rounds", json_integer(r->slots));
    json_object_set_new(root, "schedule", sched);
    json_object_set_new(root, "agent_uptime_seconds", json_integer(r->uptime_ms / 1000));
    json_object_set_new(root, "agent_runs", json_integer(r->runs));
    for (size_t i = 0; i < r->n_rows; i++)
        json_array_append_new(cams, row_json(&r->rows[i], true));
    json_object_set_new(root, "cameras", cams);
    json_object_set_new(root, "total", row_json(&r->total, false));
    text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    return text;
}
