/*
 * capture.c - one capture round: worker threads take the cameras in turn
 * (worker(): capture_one() each), so that a slow camera delays none of
 * the others. One camera's capture, and the reason its failure is
 * recorded with:
 *
 *   capture_one()
 *     │ grab_jpeg(): source_open(), source_grab() under the camera's
 *     │ deadline ───── refused, auth, not found, timeout, damaged ──▶ "camera"
 *     │ source_release(): decoder and stream freed before encoding
 *     ├─ a JPEG from the camera (HTTP) ─────────────────▶ written as it came
 *     └─ planes (RTSP, synthetic): the deadline passed ──▶ "image" (CS_TIMEOUT)
 *          image_encode() ── fails ──────────────────────▶ "image"
 *          source_close(): picture and budget given back
 *     │ check_size(): a size other than the expected one is kept,
 *     │ flagged (mismatch) and said once per change
 *     │ spool_write(): temp file, fsync, rename, fsync dir ── fails ──▶ "disk"
 *     │ record(): store_add_still(), the row "pending" (on a full disk:
 *     │ disk_full() frees the database's reserve, once more) ── fails ──▶ "database"
 *     │                           (the file is durable: reconciliation adopts it)
 *     ▼
 *   finish(): store_camera_result() (a failure goes to capture_failures with
 *   its reason), the streak in struct capture_memory, the log line, then
 *   env->on_result (for a still: after its row is committed).
 *
 * Store calls, the memory and on_result are serialised by the round's lock;
 * grabbing, encoding and writing run in parallel.
 */
#include "capture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "clock.h"
#include "image.h"
#include "log.h"
#include "source.h"

#define MEMORY_MAX 256

struct memory_entry {
    char name[CONFIG_NAME_MAX + 1];
    int width, height;          /* last size seen */
    int64_t failures;           /* current failure streak */
};

struct capture_memory {
    struct memory_entry entries[MEMORY_MAX];
    size_t n;
};

struct capture_memory *capture_memory_new(void)
{
    return calloc(1, sizeof(struct capture_memory));
}

void capture_memory_free(struct capture_memory *m)
{
    free(m);
}

struct round {
    const struct capture_env *env;
    struct budget *budget;      /* pictures in flight; NULL: no limit */
    const struct camera_config *const *cams;
    struct capture_result *results;
    size_t n;
    atomic_size_t next;
    pthread_mutex_t lock;       /* store, memory and on_result */
};

/* Called with the round lock held. */
static struct memory_entry *remember(struct capture_memory *m, const char *name)
{
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->entries[i].name, name))
            return &m->entries[i];
    if (m->n == MEMORY_MAX)
        return NULL;
    snprintf(m->entries[m->n].name, sizeof(m->entries[m->n].name), "%s", name);
    return &m->entries[m->n++];
}

/* Grabs one frame and leaves JPEG bytes in *jpeg (owned) or borrowed from
 * *src (a camera that sends JPEG). A source whose frame was encoded is
 * closed at once: its picture and its share of the budget go back before
 * the still is written. */
static enum cs_err grab_jpeg(const struct round *rd, const struct camera_config *cam,
                             struct capture_result *r, struct source **src, struct image_buf *jpeg,
                             const uint8_t **data, size_t *len)
{
    const struct capture_env *env = rd->env;
    int64_t deadline = clock_mono_ms() + cam->deadline_ms;
    struct frame f;
    enum cs_err rc;

    r->reason = "camera";
    if ((rc = source_open(cam, rd->budget, deadline, src, r->error, sizeof(r->error))))
        return rc;
    if ((rc = source_grab(*src, deadline, &f, r->error, sizeof(r->error))))
        return rc;
    r->capture_ms = clock_wall_ms();
    r->width = f.width;
    r->height = f.height;
    /* The decoder and the stream are not needed any more: give their memory
     * back before the picture is encoded (a round's peak is all cameras'
     * pictures at once, not their decoders as well). */
    source_release(*src, &f);
    if (f.kind == FRAME_JPEG) {
        *data = f.data;
        *len = f.len;
        return CS_OK;
    }
    r->reason = "image";
    /* The deadline covers the whole capture: a picture that took it all to
     * arrive is not encoded on borrowed time. */
    if (clock_mono_ms() >= deadline) {
        snprintf(r->error, sizeof(r->error),
                 "the picture arrived at the end of the %lld ms timeout, too late to encode "
                 "(raise timeout)",
                 (long long)cam->deadline_ms);
        return CS_TIMEOUT;
    }
    int64_t t_enc = clock_mono_ms();
    rc = image_encode(&f, env->jpeg_quality, jpeg, r->error, sizeof(r->error));
    log_debug(cam->name, "encoded %dx%d in %lld ms", f.width, f.height,
              (long long)(clock_mono_ms() - t_enc));
    source_close(*src);
    *src = NULL;
    if (rc)
        return rc;
    *data = jpeg->data;
    *len = jpeg->len;
    return CS_OK;
}

/* The disk is full: free the database's reserve so what happens can still
 * be recorded. True when there was a reserve to free. */
static bool disk_full(struct spool *sp)
{
    bool freed = spool_release_reserve(sp);

    if (freed)
        log_warnx(NULL, "disk full: released the %lld MiB reserve so the tracking database "
                        "can record what happens; free some space under the state directory",
                  SPOOL_RESERVE_BYTES >> 20);
    return freed;
}

static void record(struct round *rd, struct capture_result *r, const struct spool_still *still)
{
    const struct camera_config *cam = r->cam;
    char iso[40];
    struct still_info si = {
        .filename = still->relpath,
        .camera_name = cam->name,
        .local_path = still->path,
        .capture_ms = r->capture_ms,
        .capture_iso = clock_format_iso(r->capture_ms, 0, iso, sizeof(iso)),
        .file_size = still->size,
        .width = r->width,
        .height = r->height,
        .resolution_mismatch = r->mismatch,
        .sha256_hex = still->sha256,
    };
    enum cs_err rc = store_add_still(rd->env->store, &si, NULL);

    if (rc == CS_NOSPACE && disk_full(rd->env->spool))
        rc = store_add_still(rd->env->store, &si, NULL);
    if (rc) {
        /* The file is durable; reconciliation adopts it at next start. */
        r->rc = rc;
        r->reason = "database";
        snprintf(r->error, sizeof(r->error), "still %s saved but not recorded: %s",
                 still->relpath, store_last_error(rd->env->store));
    }
}

static void check_size(struct round *rd, struct capture_result *r)
{
    const struct camera_config *cam = r->cam;
    struct memory_entry *m = remember(rd->env->memory, cam->name);

    r->mismatch = cam->width > 0 && (r->width != cam->width || r->height != cam->height);
    if (m && m->width == r->width && m->height == r->height)
        return;
    if (r->mismatch)
        log_warnx(cam->name, "sends %dx%d but %dx%d is expected; stills are kept and flagged "
                             "(set resolution = %dx%d if the camera was reconfigured)",
                  r->width, r->height, cam->width, cam->height, r->width, r->height);
    else if (m && m->width)
        log_info(cam->name, "now sends the expected %dx%d", r->width, r->height);
    if (m) {
        m->width = r->width;
        m->height = r->height;
    }
}

static void finish(struct round *rd, struct capture_result *r)
{
    struct memory_entry *m = remember(rd->env->memory, r->cam->name);
    const char *name = r->cam->name;

    enum cs_err rc = store_camera_result(rd->env->store, name, clock_wall_ms(), r->rc == CS_OK,
                                         r->reason, r->rc ? r->error : NULL);

    if (rc == CS_NOSPACE && disk_full(rd->env->spool))
        rc = store_camera_result(rd->env->store, name, clock_wall_ms(), r->rc == CS_OK,
                                 r->reason, r->rc ? r->error : NULL);
    if (rc)
        log_errorx(name, "cannot record the attempt: %s", store_last_error(rd->env->store));
    if (r->rc) {
        log_errorx(name, "no still: %s", r->error);
        if (m)
            m->failures++;
    } else {
        if (m && m->failures)
            log_info(name, "is back after %lld failed attempt(s)", (long long)m->failures);
        if (m)
            m->failures = 0;
        log_info(name, "still saved: %s (%dx%d, %lld bytes, %lld ms)", r->relpath, r->width,
                 r->height, (long long)r->size, (long long)r->elapsed_ms);
    }
    if (rd->env->on_result)
        rd->env->on_result(rd->env->ctx, r);
}

static void capture_one(struct round *rd, struct capture_result *r)
{
    const struct camera_config *cam = r->cam;
    int64_t t0 = clock_mono_ms();
    struct image_buf jpeg = {0};
    struct spool_still still;
    struct source *src = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    r->rc = grab_jpeg(rd, cam, r, &src, &jpeg, &data, &len);
    if (!r->rc) {
        pthread_mutex_lock(&rd->lock);
        check_size(rd, r);
        pthread_mutex_unlock(&rd->lock);
        r->reason = "disk";
        r->rc = spool_write(rd->env->spool, cam->name, r->capture_ms, r->width, r->height, "jpg",
                            data, len, &still);
        if (r->rc && spool_last_error()[0])
            snprintf(r->error, sizeof(r->error), "cannot save the still: %s (%s)",
                     spool_last_error(), cs_strerror(r->rc));
        else if (r->rc)
            snprintf(r->error, sizeof(r->error), "cannot save still under %s: %s",
                     spool_root(rd->env->spool), cs_strerror(r->rc));
    }
    image_buf_free(&jpeg);
    source_close(src);
    pthread_mutex_lock(&rd->lock);
    if (!r->rc) {
        snprintf(r->relpath, sizeof(r->relpath), "%s", still.relpath);
        r->size = still.size;
        record(rd, r, &still);
    }
    r->elapsed_ms = clock_mono_ms() - t0;
    finish(rd, r);
    pthread_mutex_unlock(&rd->lock);
}

static void *worker(void *arg)
{
    struct round *rd = arg;
    size_t i;

    while ((i = atomic_fetch_add(&rd->next, 1)) < rd->n)
        capture_one(rd, &rd->results[i]);
    return NULL;
}

enum cs_err capture_round(const struct capture_env *env, const struct camera_config *const *cams,
                          size_t n, struct capture_result *results)
{
    size_t nthreads = (size_t)(env->workers > 0 ? env->workers : 1), started = 0;
    pthread_t tids[64];
    struct round rd = {.env = env, .cams = cams, .results = results, .n = n};

    if (nthreads > n)
        nthreads = n;
    if (nthreads > sizeof(tids) / sizeof(tids[0]))
        nthreads = sizeof(tids) / sizeof(tids[0]);
    atomic_init(&rd.next, 0);
    pthread_mutex_init(&rd.lock, NULL);
    if (env->picture_memory > 0 && !(rd.budget = budget_new(env->picture_memory)))
        return CS_NOMEM;
    for (size_t i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof(results[i]));
        results[i].cam = cams[i];
    }
    for (; started < nthreads; started++)
        if (pthread_create(&tids[started], NULL, worker, &rd) != 0)
            break;
    if (started == 0)
        worker(&rd); /* no thread could start: capture in this thread */
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&rd.lock);
    budget_free(rd.budget);
    return CS_OK;
}
