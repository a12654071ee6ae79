/*
 * delivery.c - the delivery engine. One still's delivery:
 *
 *   pending/failed, remote_step 0
 *     │ job_prepare(): read the file, check it against its recorded
 *     │ size and SHA-256; before the first attempt choose its object name
 *     │ and row id (store_set_names); POST the object
 *     ├─ OK ──────────────────────────────▶ store_object_stored() "stored" (step 1)
 *     ├─ EXISTS ─▶ VERIFY: GET the object back, verify_done() judges it
 *     │    ├─ 200, same SHA-256 ──────────▶ store_object_stored() "content"
 *     │    ├─ 200, other bytes ───────────▶ store_quarantine_id() "conflict"
 *     │    ├─ not readable, digest name ──▶ store_object_stored() "name"
 *     │    ├─ not readable, plain name ───▶ store_object_stored() "unverified",
 *     │    │                                warned for every still, counted
 *     │    └─ transient, plain name,
 *     │       fewer than
 *     │       DELIVERY_VERIFY_ATTEMPTS ───▶ store_verify_failed() (failed,
 *     │                                     verify_failures+1, backoff)
 *     ├─ RETRY / ATTENTION ───────────────▶ store_attempt_failed() (status failed,
 *     │                                     next_attempt_ms = now + backoff)
 *     └─ PERMANENT ───────────────────────▶ store_quarantine_id()
 *   remote_step 1
 *     │ POST the row (deterministic image_id)
 *     ├─ OK / EXISTS ─────────────────────▶ store_delivered() (success, step 2)
 *     └─ otherwise ───────────────────────▶ as above
 *   local file gone ──────────────────────▶ store_mark_missing()
 *
 * Every remote step is recorded before the next starts, and every remote
 * write is idempotent (no upsert: "exists" counts as done), so a crash or a
 * lost answer at any point is repaired by doing the step again.
 *
 * "Already exists" must mean "my still". Another agent may have stored its
 * own still under the same name (a configuration copied to a second site:
 * same restaurant_id, same camera names, rounds aligned to the same clock).
 * So the object name carries a digest of the still's bytes ([upload]
 * object_name = digest, the default): a collision of names then means the
 * same bytes (to 1 in 2^32 for two stills of one camera, second and size),
 * even when the key may not read (the recommended anon key with an
 * INSERT-only policy, where every read answers "not found"). When the key
 * may read, the object is read back and its SHA-256 compared. With plain
 * names and no read, identity cannot be proven: the still is recorded as
 * delivered (its row must go in; holding it back would lose it for the
 * consumers), but as "unverified": warned for each still and counted by
 * sync and stats, never silently. The name and the row id (a UUIDv5 of the
 * name) are chosen once, before the first attempt, and kept: a still named
 * by an older camsnap (plain) keeps its name across the upgrade.
 *
 * A transient failure of the reading back is retried like any failed
 * attempt (plain names only; a digest name needs no reading), but given up
 * after DELIVERY_VERIFY_ATTEMPTS (counted in the store, across restarts).
 */
#include "delivery.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "backend.h"
#include "backoff.h"
#include "clock.h"
#include "hash.h"
#include "log.h"

#define MAX_JOBS 32
#define DIGEST_HEX 8 /* hex digits of the SHA-256 in a digest object name */
#define MAX_OBJECT_BYTES (256LL * 1024 * 1024)
#define IDLE_POLL_MS 30000

/* Namespace of camsnap's name-based image ids (a fixed random UUID). */
static const char image_id_ns[] = "6f0e3c52-8b1d-4d7e-9a4f-2c5b8e1d7a30";

struct job {
    struct delivery *d;
    struct store_due due;
    char path[320]; /* remote object path: [<restaurant_id>/]<object_name> */
    uint8_t *data;
    size_t len;
    char sha[HASH_HEX_LEN + 1]; /* of data; "" when not read (remote_step 1) */
    char *row_json;
    char url[1024];
    struct dl_request req;
    bool active;
    bool existed;               /* the object was already there (counted once, when delivered) */
};

struct delivery {
    const struct config *cfg;
    struct store *st;
    struct spool *sp;
    struct backend *be;
    struct backoff still_backoff;   /* per still */
    struct backoff hold_backoff;    /* the whole engine while failing */
    int concurrency;
    struct job jobs[MAX_JOBS];
    int in_flight;
    int64_t hold_until_mono;        /* no new work before this */
    int64_t hold_failures;          /* consecutive failed attempts, all stills */
    bool probing;                   /* one still at a time until a success */
    char last_logged[384];
    int64_t last_logged_mono;
    const struct delivery_opts *opts;
    struct delivery_summary *sum;
};

void delivery_image_id(const char *restaurant_id, const char *bucket, const char *path,
                       char out[37])
{
    char name[1024];
    uuid_t ns, id;

    uuid_parse(image_id_ns, ns);
    snprintf(name, sizeof(name), "%s/%s/%s", restaurant_id ? restaurant_id : "", bucket, path);
    uuid_generate_sha1(id, ns, name, strlen(name));
    uuid_unparse_lower(id, out);
}

enum cs_err delivery_new(const struct config *cfg, struct store *st, struct spool *sp,
                         struct delivery **out, char *err, size_t errsz)
{
    const struct config_upload *u = &cfg->upload;
    struct delivery *d = calloc(1, sizeof(*d));
    const char *why = NULL;
    enum cs_err rc;

    if (!d)
        return CS_NOMEM;
    if (cfg->general.restaurant_id && config_validate_name(cfg->general.restaurant_id, &why)) {
        snprintf(err, errsz, "restaurant_id \"%s\" cannot lead object paths: %s",
                 cfg->general.restaurant_id, why ? why : "invalid");
        free(d);
        return CS_CONFIG;
    }
    if ((rc = backend_new(u, &d->be, err, errsz))) {
        free(d);
        return rc;
    }
    d->cfg = cfg;
    d->st = st;
    d->sp = sp;
    d->concurrency = (int)(u->concurrency < MAX_JOBS ? u->concurrency : MAX_JOBS);
    if (d->concurrency < 1)
        d->concurrency = 1;
    backoff_init(&d->still_backoff, u->backoff_base_ms, u->backoff_cap_ms, u->retry_interval_ms,
                 0);
    backoff_init(&d->hold_backoff, u->backoff_base_ms, u->backoff_cap_ms, u->retry_interval_ms,
                 0);
    *out = d;
    return CS_OK;
}

void delivery_free(struct delivery *d)
{
    if (!d)
        return;
    backend_free(d->be);
    free(d);
}

void delivery_wakeup(struct delivery *d)
{
    backend_wakeup(d->be);
}

static void job_release(struct job *j)
{
    free(j->data);
    free(j->row_json);
    j->data = NULL;
    j->row_json = NULL;
    j->active = false;
    j->d->in_flight--;
}

/* Logs an error loudly, but the same text at most once a minute; returns
 * whether it was logged. */
static bool log_failure(struct delivery *d, enum log_level lvl, const struct job *j,
                        const char *msg)
{
    int64_t now = clock_mono_ms();

    if (!strcmp(msg, d->last_logged) && now - d->last_logged_mono < 60000)
        return false;
    snprintf(d->last_logged, sizeof(d->last_logged), "%s", msg);
    d->last_logged_mono = now;
    log_msg(lvl, j->due.camera_name, "delivery of %s: %s", j->due.filename, msg);
    return true;
}

static void settle(struct delivery *d)
{
    if (d->opts->progress)
        d->opts->progress(d->opts->ctx, d->sum);
}

static void hold_back(struct delivery *d, int64_t retry_after_ms, bool slow)
{
    int64_t delay = slow ? d->cfg->upload.backoff_cap_ms
                         : backoff_delay(&d->hold_backoff, ++d->hold_failures, retry_after_ms);

    if (slow && delay < retry_after_ms)
        delay = retry_after_ms;
    d->probing = true;
    if (clock_mono_ms() + delay > d->hold_until_mono)
        d->hold_until_mono = clock_mono_ms() + delay;
}

/* The tracking database refused a write (disk full, I/O error): the still
 * stays due. Hold the engine back as for a failing service, so that it is
 * not retried in a busy loop (flooding the log) while the database fails. */
static void record_error(struct delivery *d, enum cs_err rc)
{
    log_errorx(NULL, "tracking database: %s (%s); the still will be tried again",
               cs_strerror(rc), store_last_error(d->st));
    if (rc == CS_NOSPACE && spool_release_reserve(d->sp))
        log_warnx(NULL, "disk full: released the database's reserve");
    hold_back(d, 0, false);
}

/* verify: a transient failure of the reading back, counted towards its bound. */
static void job_failed(struct job *j, const struct dl_result *r, bool verify)
{
    struct delivery *d = j->d;
    int64_t now = clock_wall_ms(), delay;
    enum cs_err rc;

    snprintf(d->sum->last_error, sizeof(d->sum->last_error), "%s", r->message);
    if (r->cls == DL_PERMANENT || r->cls == DL_CONFLICT) {
        d->sum->quarantined++;
        log_failure(d, LOG_LEVEL_ERROR, j, r->message);
        rc = store_quarantine_id(d->st, j->due.id, r->message);
    } else {
        bool person = r->cls == DL_ATTENTION;
        delay = person ? d->cfg->upload.backoff_cap_ms
                       : backoff_delay(&d->still_backoff, j->due.attempts + 1, r->retry_after_ms);
        if (delay < r->retry_after_ms)
            delay = r->retry_after_ms;
        d->sum->failed_attempts++;
        d->sum->attention += person;
        log_failure(d, person ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, j, r->message);
        rc = verify ? store_verify_failed(d->st, j->due.id, now, now + delay, r->message)
                    : store_attempt_failed(d->st, j->due.id, now, now + delay,
                                           person ? "attention" : "retry", r->message);
        hold_back(d, r->retry_after_ms, person);
    }
    if (rc)
        record_error(d, rc);
    job_release(j);
    settle(d);
}

static void job_start(struct job *j, enum dl_step step)
{
    enum cs_err rc;

    j->req.step = step;
    if ((rc = backend_start(j->d->be, &j->req))) {
        struct dl_result r = {.cls = DL_RETRY};
        snprintf(r.message, sizeof(r.message), "cannot start a request: %s", cs_strerror(rc));
        job_failed(j, &r, false);
    }
}

static void job_delivered(struct job *j, bool existed)
{
    struct delivery *d = j->d;
    enum cs_err rc = store_delivered(d->st, j->due.id, j->url, clock_wall_ms());

    if (rc) {
        record_error(d, rc);
    } else {
        d->sum->delivered++;
        d->sum->already_there += existed || j->existed;
        log_debug(j->due.camera_name, "delivered %s", j->due.filename);
        d->hold_failures = 0;
        d->probing = false;
    }
    job_release(j);
    settle(d);
}

/* check: how the object is known to be there (store_object_stored()). */
static void object_done(struct job *j, const char *check)
{
    enum cs_err rc = store_object_stored(j->d->st, j->due.id, j->url, clock_wall_ms(), check);

    if (rc) {
        record_error(j->d, rc);
        job_release(j);
        return;
    }
    j->d->sum->bytes += (int64_t)j->len;
    job_start(j, DL_STEP_ROW);
}

enum delivery_verify delivery_verify_verdict(const struct dl_result *r, int64_t local_size,
                                             const char *local_sha, bool digest_name,
                                             int64_t failures_before)
{
    if (r->cls == DL_OK && r->remote_size >= 0)
        return r->remote_size == local_size && !strcmp(r->remote_sha256, local_sha)
                   ? DELIVERY_VERIFY_SAME
                   : DELIVERY_VERIFY_DIFFERS;
    if (digest_name)
        return DELIVERY_VERIFY_BY_NAME;
    if (r->cls == DL_RETRY && failures_before + 1 < DELIVERY_VERIFY_ATTEMPTS)
        return DELIVERY_VERIFY_AGAIN;
    return DELIVERY_VERIFY_UNPROVEN;
}

/* The length of name without its extension (the last '.' of its last segment). */
static size_t stem_len(const char *name)
{
    const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');

    return dot && (!slash || dot > slash) ? (size_t)(dot - name) : strlen(name);
}

bool delivery_name_has_digest(const char *object_name, const char *sha_hex)
{
    size_t end = stem_len(object_name);

    return sha_hex && strlen(sha_hex) >= DIGEST_HEX && end > DIGEST_HEX &&
           object_name[end - DIGEST_HEX - 1] == '_' &&
           !strncmp(object_name + end - DIGEST_HEX, sha_hex, DIGEST_HEX);
}

/* The reading back after "already exists" (see the top). */
static void verify_done(struct job *j, const struct dl_result *r)
{
    struct dl_result c = *r;
    char msg[512];
    int64_t tried = j->due.verify_failures + 1;
    bool digest = delivery_name_has_digest(j->due.object_name, j->sha);
    const char *check = "content";

    switch (delivery_verify_verdict(r, (int64_t)j->len, j->sha, digest, j->due.verify_failures)) {
    case DELIVERY_VERIFY_AGAIN:
        snprintf(c.message, sizeof(c.message), "%.300s (reading back %lld of %d)", r->message,
                 (long long)tried, DELIVERY_VERIFY_ATTEMPTS);
        job_failed(j, &c, true);
        return;
    case DELIVERY_VERIFY_DIFFERS:
        c.cls = DL_CONFLICT;
        snprintf(msg, sizeof(msg),
                 "conflict: another object is stored under this name (%lld bytes%s, ours %zu, "
                 "SHA-256 differs); kept, not overwritten - needs a person",
                 (long long)r->remote_size, r->remote_sha256[0] ? "" : " or more", j->len);
        snprintf(c.message, sizeof(c.message), "%.380s", msg);
        job_failed(j, &c, false);
        return;
    case DELIVERY_VERIFY_BY_NAME:
        check = "name";
        log_info(j->due.camera_name,
                 "delivery of %s: already stored as %s, not read back (%.200s): its name "
                 "carries this still's SHA-256",
                 j->due.filename, j->path, r->message);
        break;
    case DELIVERY_VERIFY_UNPROVEN:
        check = "unverified";
        j->d->sum->unverified++;
        /* Every still, not once a minute: each one may be another site's. */
        log_warnx(j->due.camera_name,
                  "delivery of %s: an object named %s already exists and cannot be read back "
                  "(%s%.200s): it may be another agent's still (same restaurant_id and camera "
                  "names); recorded as delivered, unverified - set [upload] object_name = "
                  "digest, or let the key read the bucket (a SELECT policy)",
                  j->due.filename, j->path, r->cls == DL_RETRY ? "after retries, last: " : "",
                  r->message);
        break;
    case DELIVERY_VERIFY_SAME: break;
    }
    j->existed = true;
    object_done(j, check);
}

static void on_done(void *ctx, struct dl_request *req, const struct dl_result *r)
{
    struct job *j = req->user;

    (void)ctx;
    if (req->step == DL_STEP_OBJECT && r->cls == DL_OK) {
        object_done(j, "stored");
    } else if (req->step == DL_STEP_OBJECT && r->cls == DL_EXISTS) {
        job_start(j, DL_STEP_VERIFY);
    } else if (req->step == DL_STEP_VERIFY) {
        verify_done(j, r);
    } else if (req->step == DL_STEP_ROW && (r->cls == DL_OK || r->cls == DL_EXISTS)) {
        job_delivered(j, r->cls == DL_EXISTS);
    } else {
        job_failed(j, r, false);
    }
}

static char *row_json(const struct delivery *d, const struct store_due *s, const char *url)
{
    json_t *o = json_object();
    const char *rid = d->cfg->general.restaurant_id;
    char cam[96], res[32];
    double kb = (double)(s->file_size > 0 ? s->file_size : 0) / 1024.0;
    char *text;

    snprintf(cam, sizeof(cam), "camera_%s", s->camera_name);
    snprintf(res, sizeof(res), "%dx%d", s->width, s->height);
    json_object_set_new(o, "image_id", json_string(s->image_id));
    json_object_set_new(o, "image_url", json_string(url));
    json_object_set_new(o, "camera_name", json_string(cam));
    json_object_set_new(o, "restaurant_id", rid ? json_string(rid) : json_null());
    json_object_set_new(o, "capture_timestamp", json_string(s->capture_iso));
    json_object_set_new(o, "resolution", json_string(res));
    json_object_set_new(o, "file_size_kb", json_real((double)(int64_t)(kb * 10 + 0.5) / 10.0));
    text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    return text;
}

/* Reads the still and checks it is what was captured. */
static enum cs_err load_still(struct job *j, char *why, size_t whysz)
{
    char sha[HASH_HEX_LEN + 1];
    enum cs_err rc = spool_read(j->d->sp, j->due.filename, MAX_OBJECT_BYTES, &j->data, &j->len);

    if (rc) {
        snprintf(why, whysz, "cannot read the local file: %s", cs_strerror(rc));
        return rc;
    }
    if (j->due.file_size >= 0 && (int64_t)j->len != j->due.file_size) {
        snprintf(why, whysz, "local file has %zu bytes, %lld were recorded at capture", j->len,
                 (long long)j->due.file_size);
        return CS_BADFRAME;
    }
    hash_sha256_hex(j->data, j->len, sha);
    memcpy(j->sha, sha, sizeof(sha));
    if (j->due.sha256[0] && strcmp(sha, j->due.sha256)) {
        snprintf(why, whysz, "local file changed since capture (SHA-256 differs)");
        return CS_BADFRAME;
    }
    if (j->len == 0) {
        snprintf(why, whysz, "local file is empty");
        return CS_BADFRAME;
    }
    return CS_OK;
}

enum cs_err delivery_object_name(const char *filename, const char *sha_hex,
                                 enum object_name_form form, char *out, size_t outsz)
{
    size_t stem = stem_len(filename);
    int w;

    if (form == OBJECT_NAME_PLAIN)
        w = snprintf(out, outsz, "%s", filename);
    else if (!sha_hex || strlen(sha_hex) < DIGEST_HEX)
        return CS_BADFRAME;
    else
        w = snprintf(out, outsz, "%.*s_%.*s%s", (int)stem, filename, DIGEST_HEX, sha_hex,
                     filename + stem);
    return w < 0 || (size_t)w >= outsz ? CS_TOOBIG : CS_OK;
}

/* Before the first attempt: the object name (from [upload] object_name and
 * the bytes just read) and the row id, recorded before any request. A still
 * named before (an earlier attempt, an older camsnap) keeps its names. */
static enum cs_err choose_names(struct job *j)
{
    struct delivery *d = j->d;
    struct store_due *due = &j->due;
    enum cs_err rc;

    if (due->object_name[0] && due->image_id[0])
        return CS_OK;
    if (!due->object_name[0] &&
        (rc = delivery_object_name(due->filename, j->sha, d->cfg->upload.object_name,
                                   due->object_name, sizeof(due->object_name))))
        return rc;
    if (!due->image_id[0])
        delivery_image_id(d->cfg->general.restaurant_id, d->cfg->upload.bucket, due->object_name,
                          due->image_id);
    return store_set_names(d->st, due->id, due->object_name, due->image_id);
}

/* [<restaurant_id>/]<object_name> into j->path. */
static void remote_path(struct job *j, const char *restaurant_id)
{
    char path[sizeof(j->path)];

    if (restaurant_id)
        snprintf(path, sizeof(path), "%s/%s", restaurant_id, j->due.object_name);
    else
        snprintf(path, sizeof(path), "%s", j->due.object_name);
    memcpy(j->path, path, sizeof(path));
}

/* Reads a still at remote_step 0; false when it settled without a request
 * (gone, quarantined, or a passing local problem recorded as a failure). */
static bool job_load(struct job *j)
{
    struct delivery *d = j->d;
    char why[256];
    enum cs_err rc = load_still(j, why, sizeof(why));

    if (rc == CS_OK)
        return true;
    if (rc == CS_NOTFOUND) {
        log_warnx(j->due.camera_name, "%s is gone from disk: marked missing", j->due.filename);
        d->sum->missing++;
        rc = store_mark_missing(d->st, j->due.filename);
    } else if (rc == CS_IO || rc == CS_NOMEM) {
        /* A passing local problem: try again later, keep the still. */
        int64_t now = clock_wall_ms();
        log_warnx(j->due.camera_name, "%s: %s; will try again", j->due.filename, why);
        d->sum->failed_attempts++;
        rc = store_attempt_failed(d->st, j->due.id, now,
                                  now + backoff_delay(&d->still_backoff, j->due.attempts + 1, 0),
                                  "retry", why);
    } else {
        log_errorx(j->due.camera_name, "%s quarantined: %s", j->due.filename, why);
        d->sum->quarantined++;
        rc = store_quarantine_id(d->st, j->due.id, why);
    }
    if (rc)
        record_error(d, rc);
    return false;
}

/* Prepares a due still; false when it settled without a request. */
static bool job_prepare(struct job *j)
{
    struct delivery *d = j->d;
    enum cs_err rc;

    if (j->due.remote_step < 1 && !job_load(j))
        return false;
    if (j->due.remote_step >= 1 && !j->due.object_name[0]) /* cannot happen since version 5 */
        memcpy(j->due.object_name, j->due.filename, sizeof(j->due.object_name));
    if ((rc = choose_names(j))) {
        if (rc == CS_TOOBIG || rc == CS_BADFRAME) {
            log_errorx(j->due.camera_name, "%s quarantined: its object name cannot be made (%s)",
                       j->due.filename, cs_strerror(rc));
            d->sum->quarantined++;
            rc = store_quarantine_id(d->st, j->due.id, "its object name cannot be made");
        }
        if (rc)
            record_error(d, rc);
        return false;
    }
    /* Sites sharing a bucket must never share object paths (their rounds are
     * aligned to the same clock): the restaurant_id, when set, leads. */
    remote_path(j, d->cfg->general.restaurant_id);
    backend_object_url(d->be, j->path, j->url, sizeof(j->url));
    return (j->row_json = row_json(d, &j->due, j->url)) != NULL;
}

static void start_due(struct delivery *d, const struct store_due *due)
{
    struct job *j = NULL;

    for (int i = 0; i < MAX_JOBS && !j; i++)
        if (!d->jobs[i].active)
            j = &d->jobs[i];
    memset(j, 0, sizeof(*j));
    j->d = d;
    j->due = *due;
    j->active = true;
    j->req.user = j;
    j->req.path = j->path;
    j->req.content_type = "image/jpeg";
    j->req.image_id = j->due.image_id;
    d->in_flight++;
    if (!job_prepare(j)) {
        job_release(j);
        settle(d);
        return;
    }
    j->req.data = j->data;
    j->req.len = j->len;
    j->req.row_json = j->row_json;
    job_start(j, j->due.remote_step >= 1 ? DL_STEP_ROW : DL_STEP_OBJECT);
}

/* Starts due stills into free slots; returns how many were found. */
static size_t fill(struct delivery *d, int64_t fresh_since)
{
    struct store_due due[MAX_JOBS];
    int64_t skip[MAX_JOBS];
    size_t n_skip = 0, n = 0;
    int slots = (d->probing ? 1 : d->concurrency) - d->in_flight;
    const struct config_upload *u = &d->cfg->upload;
    struct store_due_query q = {
        .now_ms = clock_wall_ms(),
        .horizon_ms = 2 * (u->backoff_cap_ms > u->retry_interval_ms ? u->backoff_cap_ms
                                                                     : u->retry_interval_ms),
        .fresh_since_ms = fresh_since,
        .camera = d->opts->camera,
        .skip = skip,
    };
    enum cs_err rc;

    if (slots <= 0 || clock_mono_ms() < d->hold_until_mono)
        return 0;
    for (int i = 0; i < MAX_JOBS; i++)
        if (d->jobs[i].active)
            skip[n_skip++] = d->jobs[i].due.id;
    q.n_skip = n_skip;
    if ((rc = store_due(d->st, &q, due, (size_t)slots, &n))) {
        record_error(d, rc);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        start_due(d, &due[i]);
    return n;
}

/* How long to wait when nothing is in flight. */
static int idle_wait_ms(struct delivery *d, int64_t until_mono)
{
    int64_t now_mono = clock_mono_ms(), wait = IDLE_POLL_MS, next;
    bool found;

    if (d->hold_until_mono > now_mono)
        wait = d->hold_until_mono - now_mono;
    else if (store_next_attempt(d->st, d->opts->camera, &found, &next) == CS_OK && found)
        wait = next - clock_wall_ms();
    if (until_mono && until_mono - now_mono < wait)
        wait = until_mono - now_mono;
    if (wait > (d->opts->sync ? 1000 : IDLE_POLL_MS))
        wait = d->opts->sync ? 1000 : IDLE_POLL_MS;
    return wait < 10 ? 10 : (int)wait;
}

static bool stopping(const struct delivery_opts *o)
{
    return o->stop && atomic_load(o->stop);
}

/* The sync --wait deadline, or an agent starting: what finished is taken,
 * what is still in flight is abandoned, left as the store has it (every
 * step is safe to redo). */
static void interrupt(struct delivery *d, const char *why)
{
    backend_poll(d->be, 0, on_done, d);
    backend_cancel(d->be);
    for (int i = 0; i < MAX_JOBS; i++) {
        if (!d->jobs[i].active)
            continue;
        log_info(d->jobs[i].due.camera_name, "delivery of %s: interrupted %s (left for the next run)",
                 d->jobs[i].due.filename, why);
        d->sum->interrupted++;
        job_release(&d->jobs[i]);
    }
}

/* How long a poll with requests in flight may wait. */
static int busy_wait_ms(int64_t until_mono)
{
    int64_t left = until_mono ? until_mono - clock_mono_ms() : 1000;

    return left > 1000 ? 1000 : left < 1 ? 1 : (int)left;
}

enum cs_err delivery_run(struct delivery *d, const struct delivery_opts *opts,
                         struct delivery_summary *sum)
{
    int64_t start_wall = clock_wall_ms();
    int64_t until_mono = opts->sync && opts->wait_ms ? clock_mono_ms() + opts->wait_ms : 0;
    int64_t files, bytes;

    memset(sum, 0, sizeof(*sum));
    d->opts = opts;
    d->sum = sum;
    for (;;) {
        if (until_mono && clock_mono_ms() >= until_mono) {
            interrupt(d, "at the --wait deadline");
            break;
        }
        if (opts->yield && atomic_load(opts->yield)) {
            interrupt(d, "for the agent starting on this state directory");
            break;
        }
        size_t started = stopping(opts) ? 0 : fill(d, opts->sync ? start_wall : 0);
        sum->in_flight = d->in_flight;
        if (d->in_flight > 0) {
            backend_poll(d->be, busy_wait_ms(until_mono), on_done, d);
            continue;
        }
        if (stopping(opts))
            break;
        if (opts->sync && !started) {
            bool held = clock_mono_ms() < d->hold_until_mono;
            if (!until_mono)
                break;
            if (!held && store_backlog(d->st, opts->camera, &files, &bytes) == CS_OK && !files)
                break;
        }
        if (!started)
            backend_poll(d->be, idle_wait_ms(d, until_mono), on_done, d);
    }
    sum->in_flight = d->in_flight;
    return CS_OK;
}
