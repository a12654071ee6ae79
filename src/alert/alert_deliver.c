/*
 * alert_deliver.c - the alert thread: every tick it looks at the site
 * (alert__check_locked) and delivers the outbox through each channel set:
 * the alerts due go together in one message (at most ALERT_BATCH_MAX), at
 * most rate_limit messages per channel per hour; a failure is retried with
 * backoff, the same alerts together; alerts older than ALERT_MAX_AGE_MS, or
 * for a channel no longer set, are given up. The lock is never held while
 * a message travels.
 */
#include "alert.h"
#include "alert_priv.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_send.h"
#include "clock.h"
#include "log.h"

#define SUBJECT_MAX 180
#define HOUR_MS (3600 * 1000LL)

static const char *const channel_names[STORE_ALERT__CHANNELS] = {"webhook", "e-mail"};

void alerts_global_init(void)
{
    alert_send_global_init();
}

void alert__kick(struct alerts *a)
{
    a->kick = true;
    pthread_cond_signal(&a->cv);
}

/* ---- payloads ------------------------------------------------------------ */

/* Slack's text escapes &, < and >. */
static void slack_text(json_t *o, const char *s)
{
    size_t n = 0;
    char *out = malloc(strlen(s) * 5 + 1);

    if (!out)
        return;
    for (; *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (e) {
            memcpy(out + n, e, strlen(e));
            n += strlen(e);
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    json_object_set_new(o, "text", json_string(out));
    free(out);
}

static char *webhook_payload(const char *site, const struct store_alert_row *rows, size_t n)
{
    json_t *root = json_object(), *arr = json_array();
    size_t len = 0;
    char *text = NULL, *out;
    FILE *f = open_memstream(&text, &len);

    if (!f)
        return NULL;
    if (n == 1 && !strcmp(rows[0].kind, "report"))
        fprintf(f, "camsnap %s: %s\n```\n%s```", site, rows[0].title, rows[0].body);
    else if (n == 1)
        fprintf(f, "camsnap %s: %s", site, rows[0].body);
    else
        fprintf(f, "camsnap %s: %zu alerts", site, n);
    for (size_t i = 0; n > 1 && i < n; i++)
        fprintf(f, "\n- %s", rows[i].body);
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_loads(rows[i].fields, 0, NULL);
        if (!o)
            o = json_pack("{s:s}", "text", rows[i].body);
        json_object_set_new(o, "id", json_integer(rows[i].id));
        json_array_append_new(arr, o);
    }
    slack_text(root, text ? text : "");
    json_object_set_new(root, "site", json_string(site));
    json_object_set_new(root, "source", json_string("camsnap/" CAMSNAP_VERSION));
    json_object_set_new(root, "alerts", arr);
    out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    free(text);
    return out;
}

/* ASCII without controls (the subject is a header). */
static void subject_add(char *s, size_t sz, const char *t)
{
    size_t n = strlen(s);

    for (; *t && n + 1 < sz; t++)
        s[n++] = (*t >= ' ' && *t < 0x7f) ? *t : '?';
    s[n] = '\0';
}

static char *mail_payload(const struct alert_target *t, const char *site,
                          const struct store_alert_row *rows, size_t n, int64_t now)
{
    char subject[SUBJECT_MAX + 8] = "", head[120], iso[40], id[160];
    char *body = NULL, *msg;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);

    if (!f)
        return NULL;
    snprintf(head, sizeof(head), "[camsnap %s] ", site);
    subject_add(subject, SUBJECT_MAX, head);
    if (n > 1) {
        snprintf(head, sizeof(head), "%zu alerts: ", n);
        subject_add(subject, SUBJECT_MAX, head);
    }
    for (size_t i = 0; i < n; i++) {
        subject_add(subject, SUBJECT_MAX, rows[i].title);
        if (i + 1 < n)
            subject_add(subject, SUBJECT_MAX, "; ");
        fprintf(f, "%s  %s\n\n%s\n\n", clock_format_iso(rows[i].created_ms, 0, iso, sizeof(iso)),
                rows[i].title, rows[i].body);
    }
    if (strlen(subject) >= SUBJECT_MAX - 1)
        strcpy(subject + SUBJECT_MAX - 4, "...");
    fprintf(f, "-- \ncamsnap " CAMSNAP_VERSION " at %s; alert", site);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s %lld", i ? "," : "", (long long)rows[i].id);
    fprintf(f, "\n");
    fclose(f);
    snprintf(id, sizeof(id), "camsnap.%s.%lld-%lld.%lld", site, (long long)rows[0].id,
             (long long)rows[n - 1].id, (long long)rows[0].created_ms);
    msg = body ? alert_mail_message(t, subject, body, id, now) : NULL;
    free(body);
    return msg;
}

/* ---- one channel --------------------------------------------------------- */

/* What a send needs, copied out under the lock. */
struct job {
    enum store_alert_channel ch;
    struct alert_target t;
    char site[80];
    struct store_alert_row *rows;
    size_t n;
};

static void job_free(struct job *j)
{
    char *secrets[] = {(char *)j->t.webhook_url, (char *)j->t.smtp_password};

    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (secrets[i])
            explicit_bzero(secrets[i], strlen(secrets[i]));
    free((char *)j->t.webhook_url);
    free((char *)j->t.smtp_url);
    free((char *)j->t.mail_from);
    free((char *)j->t.mail_to);
    free((char *)j->t.smtp_user);
    free((char *)j->t.smtp_password);
    free((char *)j->t.ca_file);
    store_alert_rows_free(j->rows, j->n);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Under the lock: what is due for ch now, after giving up what cannot go. */
static bool take_job(struct alerts *a, enum store_alert_channel ch, int64_t now, int64_t cap_ms,
                     struct job *j)
{
    const struct alert_settings *s = &a->set;
    bool on = ch == STORE_ALERT_WEBHOOK ? s->webhook_url != NULL : s->smtp_url != NULL;
    int64_t dropped = 0, sent = 0;

    memset(j, 0, sizeof(*j));
    j->ch = ch;
    if (store_alert_drop(a->store, ch, now - ALERT_MAX_AGE_MS, !on, &dropped) == CS_OK && dropped)
        log_warnx(NULL, "alerts: gave up %lld alert(s) for the %s: %s", (long long)dropped,
                  channel_names[ch], on ? "older than 48 hours" : "the channel is not set any more");
    if (!on || now < a->quiet_until[ch])
        return false;
    if (store_alert_messages_since(a->store, ch, now - HOUR_MS, &sent) == CS_OK &&
        sent >= s->rate_limit) {
        a->quiet_until[ch] = now + HOUR_MS / 60;
        log_warnx(NULL, "alerts: %lld %s message(s) in the last hour, the [alert] rate_limit: "
                        "new alerts wait and go together",
                  (long long)sent, channel_names[ch]);
        return false;
    }
    if (store_alert_due(a->store, ch, now, ALERT_BATCH_MAX, &j->rows, &j->n) || !j->n)
        return false;
    j->t = (struct alert_target){
        .webhook_url = dup_or_null(s->webhook_url), .smtp_url = dup_or_null(s->smtp_url),
        .mail_from = dup_or_null(s->mail_from), .mail_to = dup_or_null(s->mail_to),
        .smtp_user = dup_or_null(s->smtp_user), .smtp_password = dup_or_null(s->smtp_password),
        .ca_file = dup_or_null(s->ca_file),
        .timeout_ms = cap_ms > 0 && cap_ms < s->timeout_ms ? cap_ms : s->timeout_ms,
    };
    snprintf(j->site, sizeof(j->site), "%s", s->site);
    return true;
}

/* Without the lock: one message with every alert of the job. */
static enum cs_err send_job(struct job *j, int64_t now, int64_t *retry_after, char *err,
                            size_t errsz)
{
    char *payload;
    enum cs_err rc;

    *retry_after = 0;
    if (j->ch == STORE_ALERT_WEBHOOK)
        payload = webhook_payload(j->site, j->rows, j->n);
    else
        payload = mail_payload(&j->t, j->site, j->rows, j->n, now);
    if (!payload) {
        snprintf(err, errsz, "out of memory");
        return CS_NOMEM;
    }
    if (j->ch == STORE_ALERT_WEBHOOK)
        rc = alert_send_webhook(&j->t, payload, retry_after, err, errsz);
    else
        rc = alert_send_mail(&j->t, payload, err, errsz);
    free(payload);
    return rc;
}

/* Under the lock: what became of the job. */
static void record_job(struct alerts *a, struct job *j, enum cs_err rc, int64_t retry_after,
                       const char *err, int64_t now)
{
    int64_t *ids = calloc(j->n, sizeof(*ids)), attempts = 0, delay;
    char d[32];

    if (!ids)
        return;
    for (size_t i = 0; i < j->n; i++) {
        ids[i] = j->rows[i].id;
        if (j->rows[i].attempts > attempts)
            attempts = j->rows[i].attempts;
    }
    if (!rc) {
        if (store_alert_sent(a->store, j->ch, ids, j->n, now))
            log_errorx(NULL, "alerts: %s", store_last_error(a->store));
        log_info(NULL, "alerts: %zu alert(s) sent by %s", j->n, channel_names[j->ch]);
    } else {
        delay = backoff_delay(&a->backoff[j->ch], attempts + 1, retry_after);
        if (store_alert_failed(a->store, j->ch, ids, j->n, now + delay, err))
            log_errorx(NULL, "alerts: %s", store_last_error(a->store));
        log_warnx(NULL, "alerts: %s failed (attempt %lld of %zu alert(s)): %s; next try in %s",
                  channel_names[j->ch], (long long)attempts + 1, j->n, err,
                  units_format_duration(delay / 1000 * 1000, d, sizeof(d)));
    }
    free(ids);
}

/* Delivers what is due on every channel, each send bounded by cap_ms (0:
 * the configured timeout). */
static int deliver_capped(struct alerts *a, int64_t now, int64_t cap_ms)
{
    int taken = 0;

    for (int ch = 0; ch < STORE_ALERT__CHANNELS; ch++) {
        char err[512] = "";
        int64_t retry_after = 0;
        struct job j;
        enum cs_err rc;
        bool have;

        pthread_mutex_lock(&a->mu);
        have = take_job(a, (enum store_alert_channel)ch, now, cap_ms, &j);
        pthread_mutex_unlock(&a->mu);
        if (!have)
            continue;
        rc = send_job(&j, now, &retry_after, err, sizeof(err));
        pthread_mutex_lock(&a->mu);
        record_job(a, &j, rc, retry_after, err, now);
        pthread_mutex_unlock(&a->mu);
        if (!rc)
            taken += (int)j.n;
        job_free(&j);
    }
    return taken;
}

int alerts_deliver(struct alerts *a, int64_t now_ms)
{
    return deliver_capped(a, now_ms, 0);
}

/* ---- the thread ---------------------------------------------------------- */

/* Wall ms of the earliest attempt due on a channel that is set; 0: none. */
static int64_t next_due(struct alerts *a)
{
    int64_t best = 0, when;
    bool found;

    for (int ch = 0; ch < STORE_ALERT__CHANNELS; ch++) {
        bool on = ch == STORE_ALERT_WEBHOOK ? a->set.webhook_url != NULL : a->set.smtp_url != NULL;
        if (!on || store_alert_next(a->store, (enum store_alert_channel)ch, &found, &when) ||
            !found)
            continue;
        if (when < a->quiet_until[ch])
            when = a->quiet_until[ch];
        if (!best || when < best)
            best = when;
    }
    return best;
}

static void wait_real(struct alerts *a, int64_t agent_ms)
{
    struct timespec ts;
    int64_t real = clock_real_ms(agent_ms);

    if (real <= 0 || a->kick)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += real / 1000;
    ts.tv_nsec += (real % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&a->cv, &a->mu, &ts);
}

static void *thread_main(void *arg)
{
    struct alerts *a = arg;
    int64_t next_check = 0;

    pthread_mutex_lock(&a->mu);
    for (;;) {
        int64_t now = clock_wall_ms(), mono = clock_mono_ms(), due, wait;
        bool stopping = a->stop;

        if (stopping && mono >= a->flush_until)
            break;
        if (!stopping && mono >= next_check) {
            alert__check_locked(a, now);
            next_check = mono + a->tick_ms;
        }
        a->kick = false;
        pthread_mutex_unlock(&a->mu);
        deliver_capped(a, now, stopping ? a->flush_until - mono : 0);
        pthread_mutex_lock(&a->mu);
        now = clock_wall_ms();
        due = next_due(a);
        if (a->stop && (!due || due > now))
            break; /* stopping: nothing more can go now */
        wait = stopping ? 50 : next_check - clock_mono_ms();
        if (due && due - now < wait)
            wait = due - now;
        wait_real(a, wait < 1 ? 1 : wait);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

enum cs_err alert__thread_start(struct alerts *a)
{
    pthread_mutex_lock(&a->mu);
    a->stop = false;
    if (!a->running && pthread_create(&a->tid, NULL, thread_main, a) == 0)
        a->running = true;
    pthread_mutex_unlock(&a->mu);
    if (!a->running) {
        log_errorx(NULL, "alerts: cannot start the alert thread");
        return CS_NOMEM;
    }
    return CS_OK;
}

void alert__thread_stop(struct alerts *a, int64_t flush_ms)
{
    pthread_mutex_lock(&a->mu);
    if (!a->running) {
        pthread_mutex_unlock(&a->mu);
        return;
    }
    a->stop = true;
    a->flush_until = clock_mono_ms() + flush_ms;
    alert__kick(a);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->tid, NULL);
    a->running = false;
}

/* ---- alert test ---------------------------------------------------------- */

enum cs_err alerts_send_test(const struct config *cfg, const char *text, FILE *out)
{
    const struct config_alert *c = &cfg->alert;
    int64_t now = clock_wall_ms(), retry_after;
    char title[120], fields[64], err[512], site[80];
    struct store_alert_row row = {.id = 0, .created_ms = now, .kind = "test", .severity = "info",
                                  .title = title, .body = (char *)text, .fields = fields};
    struct job j = {.rows = &row, .n = 1};
    enum cs_err first = CS_OK;

    if (!c->webhook_url && !c->smtp_url) {
        fprintf(out, "no alert channel is set: set [alert] webhook_url or smtp_url\n");
        return CS_CONFIG;
    }
    snprintf(site, sizeof(site), "%s", cfg->general.restaurant_id ? cfg->general.restaurant_id
                                                                   : "camsnap");
    snprintf(title, sizeof(title), "test alert");
    snprintf(fields, sizeof(fields), "{\"kind\":\"test\",\"state\":\"event\"}");
    snprintf(j.site, sizeof(j.site), "%s", site);
    j.t = (struct alert_target){.webhook_url = c->webhook_url, .smtp_url = c->smtp_url,
                                .mail_from = c->mail_from, .mail_to = c->mail_to,
                                .smtp_user = c->smtp_user, .smtp_password = c->smtp_password,
                                .ca_file = c->ca_file, .timeout_ms = c->timeout_ms};
    for (int ch = 0; ch < STORE_ALERT__CHANNELS; ch++) {
        enum cs_err rc;
        if (ch == STORE_ALERT_WEBHOOK ? !c->webhook_url : !c->smtp_url)
            continue;
        j.ch = (enum store_alert_channel)ch;
        rc = send_job(&j, now, &retry_after, err, sizeof(err));
        if (rc)
            fprintf(out, "%s\n", err); /* names the channel */
        else
            fprintf(out, "%s: sent\n", channel_names[ch]);
        if (rc && !first)
            first = rc;
    }
    return first;
}
