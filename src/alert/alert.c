/*
 * alert.c - the watched conditions (alert.h) and their changes of state.
 *
 * Every condition is a row of alert_state, cached in a->states. A change
 * goes through transition(), which writes the new state and (unless the
 * condition is flapping or no channel is set) its alert in one transaction:
 *
 *              raise (hysteresis met)                 flap: ALERT_FLAP_CHANGES alerts
 *   inactive ─────────────────────────▶ active        of the key within the window
 *      ▲  notified = state              │              ─▶ one "flapping" alert, then
 *      └────────────────────────────────┘                 changes held (notified kept)
 *              clear (hysteresis met)                  settle (alert__check_locked):
 *                                                         ALERT_FLAP_SETTLE_MS without
 *                                                         a change ─▶ one alert if the
 *                                                         state differs from notified
 */
#include "alert.h"
#include "alert_priv.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "report.h"
#include "spool.h"
#include "url.h"

#define TEXT_MAX 16384 /* a report of many cameras */

static const char *const quality_names[ALERT_QUALITY_FLAGS] = {"black", "uniform", "frozen",
                                                                "resolution_change"};
static const char *const quality_texts[ALERT_QUALITY_FLAGS] = {
    "its stills are black (a covered lens, no light or a dead sensor?)",
    "its stills are one flat colour (a placeholder picture or a dead sensor?)",
    "it sends the same picture again and again (a frozen stream?)",
    "the size of its pictures changed",
};

/* An alert being made. */
struct msg {
    const char *kind;
    const char *severity;
    const char *state;          /* "raised", "cleared", "event" */
    char camera[72];
    char title[200];
    char body[TEXT_MAX];
    json_t *extra;              /* structured details, may be NULL (owned) */
};

/* ---- settings ------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void alert__settings_free(struct alert_settings *s)
{
    free_secret(s->webhook_url);
    free_secret(s->smtp_password);
    free(s->smtp_url);
    free(s->mail_from);
    free(s->mail_to);
    free(s->smtp_user);
    free(s->ca_file);
    free(s->state_dir);
    for (size_t i = 0; i < s->n_cameras; i++) {
        free(s->cameras[i]);
        free(s->sources[i]);
    }
    free(s->cameras);
    free(s->sources);
    memset(s, 0, sizeof(*s));
}

/* scheme://host[:port] of a camera URL: nothing that could hold a secret
 * (user, password, path, query). */
static char *source_of(const char *url)
{
    struct url_parts u;
    char buf[320];

    if (!url || url_split(url, &u))
        return strdup("");
    snprintf(buf, sizeof(buf), "%.*s://%s%.*s%s", (int)u.scheme_len, u.scheme, u.ipv6 ? "[" : "",
             (int)u.host_len, u.host, u.ipv6 ? "]" : "");
    if (u.port > 0) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof(buf) - n, ":%d", u.port);
    }
    return strdup(buf);
}

static void site_name(const struct config *cfg, char *out, size_t sz)
{
    char host[256] = "";

    if (cfg->general.restaurant_id) {
        snprintf(out, sz, "%s", cfg->general.restaurant_id);
        return;
    }
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "camsnap");
    /* A subject line carries it: letters, digits, '.', '_', '-' only. */
    for (char *p = host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._-", *p)))
            *p = '-';
    snprintf(out, sz, "%s", host);
}

static enum cs_err settings_from(const struct config *cfg, struct alert_settings *s)
{
    const struct config_alert *c = &cfg->alert;
    size_t n = 0;

    memset(s, 0, sizeof(*s));
    s->webhook_url = dup_or_null(c->webhook_url);
    s->smtp_url = dup_or_null(c->smtp_url);
    s->mail_from = dup_or_null(c->mail_from);
    s->mail_to = dup_or_null(c->mail_to);
    s->smtp_user = dup_or_null(c->smtp_user);
    s->smtp_password = dup_or_null(c->smtp_password);
    s->ca_file = dup_or_null(c->ca_file);
    s->state_dir = strdup(cfg->general.state_dir);
    s->timeout_ms = c->timeout_ms;
    s->camera_down_after = c->camera_down_after;
    s->quality_after = c->quality_after;
    s->backlog_stills = c->backlog_stills;
    s->backlog_age_ms = c->backlog_age_ms;
    s->disk_free_min = c->disk_free_min;
    s->rate_limit = c->rate_limit;
    s->report = c->report;
    s->interval_ms = cfg->general.interval_ms;
    s->window = cfg->general.window;
    s->days = cfg->general.days;
    site_name(cfg, s->site, sizeof(s->site));
    s->cameras = calloc(cfg->n_cameras + 1, sizeof(char *));
    s->sources = calloc(cfg->n_cameras + 1, sizeof(char *));
    if (!s->state_dir || !s->cameras || !s->sources)
        goto nomem;
    for (size_t i = 0; i < cfg->n_cameras; i++) {
        if (!cfg->cameras[i].enabled)
            continue;
        s->cameras[n] = strdup(cfg->cameras[i].name);
        s->sources[n] = source_of(cfg->cameras[i].url);
        s->n_cameras = ++n;
        if (!s->cameras[n - 1] || !s->sources[n - 1])
            goto nomem;
    }
    if ((c->webhook_url && !s->webhook_url) || (c->smtp_url && !s->smtp_url) ||
        (c->smtp_password && !s->smtp_password))
        goto nomem;
    return CS_OK;
nomem:
    alert__settings_free(s);
    return CS_NOMEM;
}

static bool any_channel(const struct alerts *a)
{
    return a->set.webhook_url || a->set.smtp_url;
}

static const char *source_name(const struct alerts *a, const char *camera)
{
    for (size_t i = 0; i < a->set.n_cameras; i++)
        if (!strcmp(a->set.cameras[i], camera))
            return a->set.sources[i];
    return "";
}

/* ---- states -------------------------------------------------------------- */

static struct store_alert_state *state_of(struct alerts *a, const char *key)
{
    struct store_alert_state *s;

    for (size_t i = 0; i < a->n_states; i++)
        if (!strcmp(a->states[i].key, key))
            return &a->states[i];
    if (a->n_states == a->cap_states) {
        size_t cap = a->cap_states ? 2 * a->cap_states : 32;
        struct store_alert_state *m = realloc(a->states, cap * sizeof(*m));
        if (!m)
            return NULL;
        a->states = m;
        a->cap_states = cap;
    }
    s = &a->states[a->n_states++];
    memset(s, 0, sizeof(*s));
    snprintf(s->key, sizeof(s->key), "%s", key);
    return s;
}

/* Writes s (and m) and, when that worked, keeps n as the cached state. */
static void commit(struct alerts *a, struct store_alert_state *s,
                   const struct store_alert_state *n, const struct store_alert_new *m)
{
    bool added = false;

    if (store_alert_commit(a->store, n, m, &added)) {
        log_errorx(NULL, "alert %s: cannot record it: %s", n->key, store_last_error(a->store));
        return;
    }
    *s = *n;
    if (added)
        alert__kick(a);
}

/* The structured alert: kind, state, severity, site, time, title, text and
 * the details. Returns a malloc'ed JSON text or NULL. */
static char *fields_json(const struct alerts *a, const char *key, const struct msg *m,
                         int64_t now)
{
    json_t *o = m->extra ? json_deep_copy(m->extra) : json_object();
    char iso[40], *text;

    if (!o)
        return NULL;
    json_object_set_new(o, "key", json_string(key));
    json_object_set_new(o, "kind", json_string(m->kind));
    json_object_set_new(o, "state", json_string(m->state));
    json_object_set_new(o, "severity", json_string(m->severity));
    json_object_set_new(o, "site", json_string(a->set.site));
    if (m->camera[0])
        json_object_set_new(o, "camera", json_string(m->camera));
    json_object_set_new(o, "time", json_string(clock_format_iso(now, 0, iso, sizeof(iso))));
    json_object_set_new(o, "title", json_string(m->title));
    json_object_set_new(o, "text", json_string(m->body));
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

/* Writes state n with alert m (NULL: none) for key, to every channel set. */
static void write_alert(struct alerts *a, struct store_alert_state *s,
                        const struct store_alert_state *n, const struct msg *m, int64_t now,
                        const char *dedup)
{
    char *fields = m ? fields_json(a, n->key, m, now) : NULL;
    struct store_alert_new nm = {
        .created_ms = now,
        .key = n->key,
        .kind = m ? m->kind : NULL,
        .severity = m ? m->severity : NULL,
        .camera = m && m->camera[0] ? m->camera : NULL,
        .title = m ? m->title : NULL,
        .body = m ? m->body : NULL,
        .fields = fields,
        .dedup = dedup,
        .webhook = a->set.webhook_url != NULL,
        .mail = a->set.smtp_url != NULL,
    };

    if (m && !fields) {
        log_errorx(NULL, "alert %s: out of memory", n->key);
        return;
    }
    if (m)
        log_info(m->camera[0] ? m->camera : NULL, "alert: %s", m->title);
    commit(a, s, n, m && any_channel(a) ? &nm : NULL);
    free(fields);
}

static void flapping_msg(const struct store_alert_state *s, struct msg *m)
{
    m->kind = "flapping";
    m->severity = "warning";
    m->state = "event";
    snprintf(m->title, sizeof(m->title), "%s is flapping", s->key);
    snprintf(m->body, sizeof(m->body),
             "%s changed state %d times within %lld minutes: its next changes are held until "
             "it keeps one state for %lld minutes, then one alert gives that state.",
             s->key, ALERT_FLAP_CHANGES, ALERT_FLAP_WINDOW_MS / 60000,
             ALERT_FLAP_SETTLE_MS / 60000);
}

/* The condition of s becomes `active`; m is the alert saying so. */
static void transition(struct alerts *a, struct store_alert_state *s, bool active, int64_t now,
                       struct msg *m)
{
    struct store_alert_state n = *s;
    struct msg flap = {0};
    int64_t recent = 0;

    n.active = active;
    n.since_ms = now;
    n.streak = 0;
    if (n.flapping) {
        write_alert(a, s, &n, NULL, now, NULL); /* held */
        return;
    }
    if (any_channel(a) &&
        store_alert_count_key(a->store, n.key, now - ALERT_FLAP_WINDOW_MS, &recent) == CS_OK &&
        recent >= ALERT_FLAP_CHANGES) {
        n.flapping = true;
        flapping_msg(&n, &flap);
        log_warnx(NULL, "alert %s flaps: %s held", n.key, m->title);
        write_alert(a, s, &n, &flap, now, NULL);
        return;
    }
    n.notified = active;
    write_alert(a, s, &n, m, now, NULL);
}

/* Keeps a new streak (no change of state). */
static void keep_streak(struct alerts *a, struct store_alert_state *s, int64_t streak)
{
    struct store_alert_state n = *s;

    if (n.streak == streak)
        return;
    n.streak = streak;
    commit(a, s, &n, NULL);
}

/* ---- the texts ------------------------------------------------------------ */

static void set_text(struct msg *m, const char *kind, const char *severity, const char *state)
{
    m->kind = kind;
    m->severity = severity;
    m->state = state;
}

/* The generic alert of a condition becoming active or not (used as is when
 * a flapping condition settles; the specific ones below add details). */
static void describe(const char *key, bool active, struct msg *m)
{
    char cam[72] = "", flag[32] = "";
    const char *state = active ? "raised" : "cleared";

    memset(m, 0, sizeof(*m));
    if (sscanf(key, "camera/%71[^/]/quality/%31s", cam, flag) == 2) {
        int q = 0;
        while (q < ALERT_QUALITY_FLAGS && strcmp(quality_names[q], flag))
            q++;
        set_text(m, active ? "quality_raised" : "quality_cleared", active ? "warning" : "info",
                 state);
        snprintf(m->camera, sizeof(m->camera), "%s", cam);
        snprintf(m->title, sizeof(m->title), "camera %s: %s%s", cam, active ? "" : "no more ",
                 flag);
        snprintf(m->body, sizeof(m->body), "Camera %s: %s%s.", cam,
                 active ? "" : "no longer so: ",
                 q < ALERT_QUALITY_FLAGS ? quality_texts[q] : flag);
    } else if (sscanf(key, "camera/%71[^/]/down", cam) == 1) {
        set_text(m, active ? "camera_down" : "camera_recovered", active ? "critical" : "info",
                 state);
        snprintf(m->camera, sizeof(m->camera), "%s", cam);
        snprintf(m->title, sizeof(m->title), "camera %s %s", cam, active ? "down" : "back");
        snprintf(m->body, sizeof(m->body), "Camera %s is %s.", cam, active ? "down" : "back");
    } else if (!strcmp(key, "site/backlog")) {
        set_text(m, active ? "backlog_high" : "backlog_ok", active ? "warning" : "info", state);
        snprintf(m->title, sizeof(m->title), "%s", active ? "backlog high" : "backlog normal");
        snprintf(m->body, sizeof(m->body), "%s",
                 active ? "Many stills wait for delivery." : "The backlog is back to normal.");
    } else if (!strcmp(key, "site/backlog_age")) {
        set_text(m, active ? "backlog_old" : "backlog_age_ok", active ? "warning" : "info", state);
        snprintf(m->title, sizeof(m->title), "%s",
                 active ? "stills wait too long" : "stills no longer wait too long");
        snprintf(m->body, sizeof(m->body), "%s",
                 active ? "The oldest still waiting for delivery is old."
                        : "The oldest still waiting for delivery is recent again.");
    } else if (!strcmp(key, "site/disk")) {
        set_text(m, active ? "disk_low" : "disk_ok", active ? "critical" : "info", state);
        snprintf(m->title, sizeof(m->title), "%s", active ? "disk low" : "disk space back");
        snprintf(m->body, sizeof(m->body), "%s",
                 active ? "Little space is left for stills." : "There is space for stills again.");
    } else if (!strcmp(key, "site/upload")) {
        set_text(m, active ? "upload_refused" : "upload_ok", active ? "critical" : "info", state);
        snprintf(m->title, sizeof(m->title), "%s",
                 active ? "upload refused: needs a person" : "uploads accepted again");
        snprintf(m->body, sizeof(m->body), "%s",
                 active ? "The upload service refuses the key, the bucket or the table."
                        : "The upload service accepts stills again.");
    } else if (!strcmp(key, "agent")) {
        set_text(m, active ? "agent_started" : "agent_stopped", "info", "event");
        snprintf(m->title, sizeof(m->title), "agent %s", active ? "started" : "stopped");
        snprintf(m->body, sizeof(m->body), "The camsnap agent %s.",
                 active ? "started" : "stopped");
    } else {
        set_text(m, "other", "info", state);
        snprintf(m->title, sizeof(m->title), "%s %s", key, active ? "raised" : "cleared");
        snprintf(m->body, sizeof(m->body), "%s: %s.", key, active ? "raised" : "cleared");
    }
}

static const char *hhmm(int64_t ms, char *buf, size_t sz)
{
    char iso[40];

    clock_format_iso(ms, 0, iso, sizeof(iso));
    snprintf(buf, sz, "%.5s", iso + 11);
    return buf;
}

static void extra_int(struct msg *m, const char *name, int64_t v)
{
    if (!m->extra)
        m->extra = json_object();
    json_object_set_new(m->extra, name, json_integer(v));
}

static void extra_str(struct msg *m, const char *name, const char *v)
{
    if (!m->extra)
        m->extra = json_object();
    json_object_set_new(m->extra, name, json_string(v));
}

/* ---- cameras ------------------------------------------------------------- */

static void camera_down(struct alerts *a, struct store_alert_state *s, const struct alert_capture *c,
                        int64_t streak, int64_t now)
{
    char red[1024], esc[1024], at[8];
    struct msg m;
    const char *src = source_name(a, c->camera);

    describe(s->key, true, &m);
    /* A camera's error may quote a URL: redacted, then escaped (it came from
     * outside), and cut. */
    redact_text(c->error ? c->error : "", red, sizeof(red));
    log_escape(red, esc, 400);
    snprintf(m.body, sizeof(m.body),
             "Camera %s is down: %lld rounds in a row failed, the last at %s.\n"
             "Last error (%s): %s%s%s",
             c->camera, (long long)streak, hhmm(c->round_ms, at, sizeof(at)),
             c->reason ? c->reason : "unknown", esc, *src ? "\nSource: " : "", src);
    extra_int(&m, "failed_rounds", streak);
    extra_str(&m, "reason", c->reason ? c->reason : "unknown");
    extra_str(&m, "error", esc);
    if (*src)
        extra_str(&m, "source", src);
    transition(a, s, true, now, &m);
    json_decref(m.extra);
}

static void camera_back(struct alerts *a, struct store_alert_state *s, const struct alert_capture *c,
                        int64_t now)
{
    char round[8], since[8], dur[32];
    struct msg m;

    describe(s->key, false, &m);
    snprintf(m.body, sizeof(m.body),
             "Camera %s is back: a still was saved in the round of %s (down since %s, for %s).",
             c->camera, hhmm(c->round_ms, round, sizeof(round)),
             hhmm(s->since_ms, since, sizeof(since)),
             units_format_duration((now - s->since_ms) / 60000 * 60000, dur, sizeof(dur)));
    extra_int(&m, "down_seconds", (now - s->since_ms) / 1000);
    transition(a, s, false, now, &m);
    json_decref(m.extra);
}

static void camera_health(struct alerts *a, const struct alert_capture *c, int64_t now)
{
    char key[STORE_ALERT_KEY_MAX];
    struct store_alert_state *s;

    snprintf(key, sizeof(key), "camera/%s/down", c->camera);
    if (!(s = state_of(a, key)))
        return;
    if (c->ok && s->active)
        camera_back(a, s, c, now);
    else if (c->ok)
        keep_streak(a, s, 0);
    else if (!s->active && s->streak + 1 >= a->set.camera_down_after)
        camera_down(a, s, c, s->streak + 1, now);
    else
        keep_streak(a, s, s->streak + 1);
}

/* A flag's state changes after quality_after stills that contradict it in
 * a row; streak counts them. */
static void camera_quality(struct alerts *a, const struct alert_capture *c, int64_t now)
{
    char key[STORE_ALERT_KEY_MAX];

    for (int q = 0; q < ALERT_QUALITY_FLAGS; q++) {
        bool flagged = c->quality_flags & (1u << q);
        struct store_alert_state *s;
        struct msg m;

        snprintf(key, sizeof(key), "camera/%s/quality/%s", c->camera, quality_names[q]);
        if (!(s = state_of(a, key)))
            return;
        if (flagged == s->active) {
            keep_streak(a, s, 0);
            continue;
        }
        if (s->streak + 1 < a->set.quality_after) {
            keep_streak(a, s, s->streak + 1);
            continue;
        }
        describe(key, flagged, &m);
        extra_int(&m, "stills", s->streak + 1);
        extra_str(&m, "flag", quality_names[q]);
        if (c->still)
            extra_str(&m, "still", c->still);
        transition(a, s, flagged, now, &m);
        json_decref(m.extra);
    }
}

void alerts_capture(struct alerts *a, const struct alert_capture *c)
{
    int64_t now = clock_wall_ms();
    struct store_round_result r = {
        .round_ms = c->round_ms,
        .camera = c->camera,
        .captured = c->ok,
        .reason = c->reason,
        .filename = c->still,
        .quality_flags = c->ok ? c->quality_flags : 0,
    };

    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    if (store_round_result(a->store, &r, now))
        log_errorx(c->camera, "cannot record the round's result: %s", store_last_error(a->store));
    camera_health(a, c, now);
    if (c->ok)
        camera_quality(a, c, now);
    pthread_mutex_unlock(&a->mu);
}

/* ---- the site ------------------------------------------------------------ */

/* A threshold with hysteresis: raised above `over`, cleared below `under`;
 * a threshold switched off (0) clears without an alert. */
static void threshold(struct alerts *a, const char *key, bool off, bool over, bool under,
                      int64_t now, struct msg *raise, struct msg *clear)
{
    struct store_alert_state *s = state_of(a, key), n;

    if (!s)
        return;
    if (off && s->active) {
        n = *s;
        n.active = n.notified = n.flapping = false;
        commit(a, s, &n, NULL);
    } else if (!off && !s->active && over) {
        transition(a, s, true, now, raise);
    } else if (!off && s->active && under) {
        transition(a, s, false, now, clear);
    }
}

static void check_backlog(struct alerts *a, int64_t now)
{
    const struct alert_settings *set = &a->set;
    int64_t files, bytes, oldest, age, limit = set->backlog_stills;
    char size[32], d1[32], d2[32], at[8];
    struct msg up, down;

    if (store_waiting(a->store, &files, &bytes, &oldest)) {
        log_errorx(NULL, "alerts: %s", store_last_error(a->store));
        return;
    }
    describe("site/backlog", true, &up);
    describe("site/backlog", false, &down);
    snprintf(up.body, sizeof(up.body),
             "%lld stills (%s) wait for delivery, more than the %lld of [alert] backlog_stills.",
             (long long)files, units_format_size(bytes, size, sizeof(size)), (long long)limit);
    snprintf(down.body, sizeof(down.body), "%lld stills (%s) wait for delivery.",
             (long long)files, units_format_size(bytes, size, sizeof(size)));
    extra_int(&up, "stills", files);
    extra_int(&up, "bytes", bytes);
    extra_int(&down, "stills", files);
    threshold(a, "site/backlog", limit <= 0, files > limit, files * 10 < limit * 8, now, &up,
              &down);
    json_decref(up.extra);
    json_decref(down.extra);

    age = oldest ? now - oldest : 0;
    limit = set->backlog_age_ms;
    describe("site/backlog_age", true, &up);
    describe("site/backlog_age", false, &down);
    snprintf(up.body, sizeof(up.body),
             "The oldest still waiting for delivery was taken at %s, %s ago (more than the %s "
             "of [alert] backlog_age).",
             oldest ? hhmm(oldest, at, sizeof(at)) : "-",
             units_format_duration(age / 60000 * 60000, d1, sizeof(d1)),
             units_format_duration(limit, d2, sizeof(d2)));
    snprintf(down.body, sizeof(down.body), "The oldest still waiting for delivery is %s old.",
             units_format_duration(age / 60000 * 60000, d1, sizeof(d1)));
    extra_int(&up, "oldest_age_seconds", age / 1000);
    extra_int(&down, "oldest_age_seconds", age / 1000);
    threshold(a, "site/backlog_age", limit <= 0, age > limit, age * 10 < limit * 8, now, &up,
              &down);
    json_decref(up.extra);
    json_decref(down.extra);
}

static void check_disk(struct alerts *a, int64_t now)
{
    struct statvfs v;
    int64_t free_b, min = a->set.disk_free_min;
    char f[32], m1[32];
    struct msg up, down;

    if (statvfs(a->set.state_dir, &v) != 0)
        return;
    free_b = (int64_t)v.f_bavail * (int64_t)v.f_frsize;
    describe("site/disk", true, &up);
    describe("site/disk", false, &down);
    snprintf(up.body, sizeof(up.body),
             "Only %s is free under %s, less than the %s of [alert] disk_free_min; stills stop "
             "being saved below %lld MiB.",
             units_format_size(free_b, f, sizeof(f)), a->set.state_dir,
             units_format_size(min, m1, sizeof(m1)), SPOOL_RESERVE_BYTES >> 20);
    snprintf(down.body, sizeof(down.body), "%s is free under %s.",
             units_format_size(free_b, f, sizeof(f)), a->set.state_dir);
    extra_int(&up, "free_bytes", free_b);
    extra_int(&down, "free_bytes", free_b);
    threshold(a, "site/disk", min <= 0, free_b < min, free_b * 10 > min * 12, now, &up, &down);
    json_decref(up.extra);
    json_decref(down.extra);
}

static void check_upload(struct alerts *a, int64_t now)
{
    struct store_attention at[1];
    size_t n = 0;
    int64_t stills = 0;
    char red[1024], esc[1024];
    struct store_alert_state *s = state_of(a, "site/upload");
    struct msg m;

    if (!s || store_attention(a->store, NULL, at, 1, &n, &stills))
        return;
    if (!s->active && stills > 0) {
        describe(s->key, true, &m);
        redact_text(at[0].message, red, sizeof(red));
        log_escape(red, esc, 600);
        snprintf(m.body, sizeof(m.body),
                 "NEEDS A PERSON: the upload service refuses: %s\n%lld still(s) of %lld "
                 "camera(s) wait until this is fixed (see camsnap stats).",
                 esc, (long long)stills, (long long)at[0].cameras);
        extra_int(&m, "stills", stills);
        extra_str(&m, "error", esc);
        transition(a, s, true, now, &m);
        json_decref(m.extra);
    } else if (s->active && stills == 0) {
        describe(s->key, false, &m);
        transition(a, s, false, now, &m);
    }
}

/* Flapping conditions that kept one state long enough: one alert for it. */
static void settle(struct alerts *a, int64_t now)
{
    for (size_t i = 0; i < a->n_states; i++) {
        struct store_alert_state *s = &a->states[i], n;
        struct msg m;

        if (!s->flapping || now - s->since_ms < ALERT_FLAP_SETTLE_MS)
            continue;
        n = *s;
        n.flapping = false;
        if (n.active == n.notified) {
            commit(a, s, &n, NULL);
            continue;
        }
        n.notified = n.active;
        describe(n.key, n.active, &m);
        strncat(m.body, " (It had been flapping; this is its state now.)",
                sizeof(m.body) - strlen(m.body) - 1);
        write_alert(a, s, &n, &m, now, NULL);
    }
}

/* At the end of each hour or day, once: the report of the period. The
 * state's value is the end of the last period reported; a first start
 * only notes the current one. */
static void periodic_report(struct alerts *a, int64_t now)
{
    bool daily = a->set.report == ALERT_REPORT_DAILY;
    const char *key = daily ? "report/daily" : "report/hourly";
    struct store_alert_state *s = state_of(a, key), n;
    struct report_params p = {.now_ms = now, .interval_ms = a->set.interval_ms,
                              .window = a->set.window, .days = a->set.days,
                              .cameras = (const char *const *)a->set.cameras,
                              .n_cameras = a->set.n_cameras};
    struct report r;
    char *text = NULL, *json = NULL, dedup[64], iso[40];
    size_t len = 0;
    FILE *f;
    struct msg m = {.kind = "report", .severity = "info", .state = "event"};

    if (!s || a->set.report == ALERT_REPORT_OFF)
        return;
    report_last_period(now, daily, &p.from_ms, &p.to_ms);
    if (s->value >= p.to_ms)
        return;
    n = *s;
    n.value = p.to_ms;
    if (!s->value || !any_channel(a)) {
        commit(a, s, &n, NULL);
        return;
    }
    if (report_compute(a->store, &p, &r)) {
        log_errorx(NULL, "alerts: cannot make the %s report: %s", daily ? "daily" : "hourly",
                   store_last_error(a->store));
        return;
    }
    if ((f = open_memstream(&text, &len))) {
        report_print_text(&r, f);
        fclose(f);
    }
    json = report_json(&r);
    clock_format_iso(p.from_ms, 0, iso, sizeof(iso));
    snprintf(m.title, sizeof(m.title), "%s report %.*s", daily ? "daily" : "hourly",
             daily ? 10 : 16, iso);
    snprintf(m.body, sizeof(m.body), "%s", text ? text : "");
    if (json)
        m.extra = json_pack("{s:o}", "report", json_loads(json, 0, NULL));
    snprintf(dedup, sizeof(dedup), "%s/%lld", key, (long long)p.to_ms);
    write_alert(a, s, &n, &m, now, dedup);
    json_decref(m.extra);
    free(json);
    free(text);
    report_free(&r);
}

void alert__check_locked(struct alerts *a, int64_t now)
{
    if (a->run_id && now - a->last_alive_ms >= a->tick_ms) {
        if (store_run_alive(a->store, a->run_id, now) == CS_OK)
            a->last_alive_ms = now;
    }
    check_backlog(a, now);
    check_disk(a, now);
    check_upload(a, now);
    settle(a, now);
    periodic_report(a, now);
}

void alerts_check(struct alerts *a, int64_t now_ms)
{
    pthread_mutex_lock(&a->mu);
    alert__check_locked(a, now_ms);
    pthread_mutex_unlock(&a->mu);
}

/* ---- the agent ----------------------------------------------------------- */

static void agent_started(struct alerts *a, const struct store_run_span *prev, int64_t now)
{
    struct store_alert_state *s = state_of(a, "agent");
    char iv[32], at[8], seen[8];
    struct msg m;
    size_t len;

    if (!s)
        return;
    /* After a crash the state still says running: that run ended. */
    s->active = false;
    describe("agent", true, &m);
    snprintf(m.body, sizeof(m.body),
             "The camsnap agent started (version " CAMSNAP_VERSION ", pid %ld): %zu camera(s), a "
             "round every %s.",
             (long)getpid(), a->set.n_cameras,
             units_format_duration(a->set.interval_ms, iv, sizeof(iv)));
    len = strlen(m.body);
    if (prev->start_ms && !prev->clean)
        snprintf(m.body + len, sizeof(m.body) - len,
                 "\nThe previous run (started at %s) ended without a clean stop: it was last "
                 "seen at %s.",
                 hhmm(prev->start_ms, at, sizeof(at)), hhmm(prev->end_ms, seen, sizeof(seen)));
    extra_int(&m, "pid", (long)getpid());
    extra_str(&m, "version", CAMSNAP_VERSION);
    json_object_set_new(m.extra, "previous_clean",
                        prev->start_ms ? json_boolean(prev->clean) : json_null());
    transition(a, s, true, now, &m);
    json_decref(m.extra);
}

enum cs_err alerts_agent_start(struct alerts *a)
{
    struct store_run_span prev;
    int64_t now = clock_wall_ms();
    enum cs_err rc;

    pthread_mutex_lock(&a->mu);
    rc = store_run_start(a->store, now, (long)getpid(), a->tick_ms, &a->run_id, &prev);
    if (rc) {
        log_errorx(NULL, "alerts: cannot record the agent's start: %s", store_last_error(a->store));
        pthread_mutex_unlock(&a->mu);
        return rc;
    }
    a->run_started_ms = a->last_alive_ms = now;
    agent_started(a, &prev, now);
    pthread_mutex_unlock(&a->mu);
    return alert__thread_start(a);
}

void alerts_agent_stop(struct alerts *a, int64_t flush_ms)
{
    int64_t now = clock_wall_ms();
    struct store_alert_state *s;
    char d[32];
    struct msg m;

    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    if (a->run_id && (s = state_of(a, "agent"))) {
        describe("agent", false, &m);
        snprintf(m.body, sizeof(m.body), "The camsnap agent stopped after running for %s.",
                 units_format_duration((now - a->run_started_ms) / 60000 * 60000, d, sizeof(d)));
        transition(a, s, false, now, &m);
        if (store_run_stop(a->store, a->run_id, now))
            log_errorx(NULL, "alerts: cannot record the agent's stop: %s",
                       store_last_error(a->store));
        a->run_id = 0;
    }
    pthread_mutex_unlock(&a->mu);
    alert__thread_stop(a, flush_ms);
}

/* ---- opening ------------------------------------------------------------- */

/* The agent clock between two looks at the site: half an interval, from 1 s
 * to 30 s, and never less than 250 ms of real time (a sped-up test clock). */
static int64_t tick_for(int64_t interval_ms)
{
    int64_t t = interval_ms / 2, real;

    t = t < 1000 ? 1000 : t > 30000 ? 30000 : t;
    real = clock_real_ms(t);
    if (real < 250)
        t = t * 250 / (real ? real : 1);
    return t;
}

enum cs_err alerts_open(const struct config *cfg, struct alerts **out, char *why, size_t whysz)
{
    char path[4200];
    struct alerts *a = calloc(1, sizeof(*a));
    pthread_condattr_t ca;
    enum cs_err rc = CS_NOMEM;

    *out = NULL;
    why[0] = '\0';
    if (!a || (rc = settings_from(cfg, &a->set))) {
        snprintf(why, whysz, "out of memory");
        free(a);
        return CS_NOMEM;
    }
    snprintf(path, sizeof(path), "%s/%s", cfg->general.state_dir, STORE_FILENAME);
    if ((rc = store_open(path, &a->store)) ||
        (rc = store_alert_states(a->store, &a->states, &a->n_states))) {
        snprintf(why, whysz, "%s", store_last_error(a->store));
        store_close(a->store);
        alert__settings_free(&a->set);
        free(a);
        return rc;
    }
    a->cap_states = a->n_states;
    a->tick_ms = tick_for(cfg->general.interval_ms);
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    for (int ch = 0; ch < STORE_ALERT__CHANNELS; ch++)
        backoff_init(&a->backoff[ch], 10000, 30 * 60000, 60000, 0);
    *out = a;
    return CS_OK;
}

enum cs_err alerts_reconfigure(struct alerts *a, const struct config *cfg)
{
    struct alert_settings s;
    enum cs_err rc = settings_from(cfg, &s);

    if (rc)
        return rc;
    pthread_mutex_lock(&a->mu);
    alert__settings_free(&a->set);
    a->set = s;
    a->tick_ms = tick_for(cfg->general.interval_ms);
    alert__kick(a);
    pthread_mutex_unlock(&a->mu);
    return CS_OK;
}

void alerts_close(struct alerts *a)
{
    if (!a)
        return;
    alert__thread_stop(a, 0);
    store_close(a->store);
    alert__settings_free(&a->set);
    free(a->states);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
