/*
 * backend.h - where delivered stills go. One small table of functions per
 * backend (as OpenSMTPD's queue backends): backend_supabase.c (Supabase Storage +
 * PostgREST, libcurl multi) and backend_dir.c (a local directory, for the
 * demo and tests).
 *
 * A request is one remote step of one still. start() begins it; its result
 * comes back through poll()'s callback, never from start() itself, so the
 * delivery engine has one code path for synchronous and asynchronous
 * backends. Results are classified here, at the border, from the HTTP
 * status AND the body (the Storage API wraps most errors in HTTP 400).
 *
 * Thread-safety: a backend is driven by one thread; backend_wakeup() may be
 * called from any thread to end a poll() early.
 */
#ifndef CAMSNAP_BACKEND_H
#define CAMSNAP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

enum dl_step {
    DL_STEP_OBJECT = 1, /* store the image bytes */
    DL_STEP_ROW = 2,    /* insert the table row */
    DL_STEP_VERIFY = 3, /* read the stored object back (after "exists") */
};

enum dl_class {
    DL_OK,                      /* done */
    DL_EXISTS,                  /* already there (a retry after a lost answer): done */
    DL_RETRY,                   /* transient: transport, timeout, 5xx, 429, 544 */
    DL_ATTENTION,               /* needs a person: 401/403, no bucket, RLS, schema */
    DL_PERMANENT,               /* never for this still: 413 too large, 415 type */
    DL_CONFLICT,                /* remote object differs from ours: keep, report */
};

struct dl_result {
    enum dl_class cls;
    long http_status;           /* 0 when no answer */
    int64_t retry_after_ms;     /* from Retry-After, 0 when none */
    int64_t remote_size;        /* DL_STEP_VERIFY, cls DL_OK: bytes read, -1 when unknown;
                                 * past len + a margin the reading stops */
    char remote_sha256[65];     /* DL_STEP_VERIFY, cls DL_OK: of the bytes read, "" when
                                 * unknown or cut short */
    char message[384];          /* for logs and error_message; no secrets */
};

struct dl_request {
    enum dl_step step;
    const char *path;           /* object path in the bucket, "camera_27/..." */
    const uint8_t *data;        /* OBJECT: the bytes (borrowed until done); VERIFY: what
                                 * the object should hold (len bounds the reading) */
    size_t len;
    const char *content_type;   /* OBJECT */
    const char *row_json;       /* ROW: the row as JSON (borrowed until done) */
    const char *image_id;       /* ROW */
    void *user;                 /* the caller's */
};

typedef void (*backend_done_fn)(void *ctx, struct dl_request *req, const struct dl_result *r);

struct backend_ops {
    const char *name;
    enum cs_err (*start)(void *state, struct dl_request *req);
    int (*poll)(void *state, int timeout_ms, backend_done_fn done, void *ctx);
    void (*wakeup)(void *state);
    void (*cancel)(void *state);
    void (*object_url)(void *state, const char *path, char *out, size_t outsz);
    void (*free)(void *state);
};

struct backend;

/* Creates the backend named by cfg->backend (not UPLOAD_NONE). */
enum cs_err backend_new(const struct config_upload *cfg, struct backend **out, char *err,
                        size_t errsz);
void backend_free(struct backend *be);
const char *backend_name(const struct backend *be);

/* See struct backend_ops. start() returns CS_NOMEM or CS_IO only when the
 * request could not even be queued. poll() returns how many finished. */
enum cs_err backend_start(struct backend *be, struct dl_request *req);
int backend_poll(struct backend *be, int timeout_ms, backend_done_fn done, void *ctx);
void backend_wakeup(struct backend *be);

/* Abandons every request in flight at once (a deadline): no callback comes
 * for them, their requests are the caller's again. What they did remotely
 * is unknown, and safe to redo (every step is idempotent). Poll first with
 * timeout 0 to collect the ones already finished. */
void backend_cancel(struct backend *be);

/* The image_url stored in the row for an object path. */
void backend_object_url(struct backend *be, const char *path, char *out, size_t outsz);

/* Where an answer came from: the names its checks and messages use. */
struct dl_where {
    const char *bucket; /* Storage bucket (may be NULL) */
    const char *table;  /* PostgREST table (may be NULL) */
    const char *path;   /* object path in the bucket; NULL: Key not compared */
};

/* Initialises libcurl for the Supabase backend: once at process start,
 * before any thread (see source_global_init()). */
void supabase_global_init(void);

/* Classifies a Storage (step OBJECT/VERIFY) or PostgREST (step ROW) answer
 * from its status AND its body: success only in the shape the service
 * documents (Storage: 200 with {"Key": "<bucket>/<path>"}; PostgREST: 201,
 * empty or an array), so a 2xx whose body says failure is that failure and
 * an odd 2xx is tried again (every step is idempotent). body may be NULL;
 * w may be NULL (no Key comparison, generic words). Pure; exported for
 * tests and fuzzing. */
void supabase_classify(enum dl_step step, const struct dl_where *w, long http_status,
                     const char *body, size_t len, struct dl_result *r);

extern const struct backend_ops backend_supabase_ops;
extern const struct backend_ops backend_dir_ops;

/* Constructors behind backend_new. */
enum cs_err backend_supabase_new(const struct config_upload *cfg, void **state, char *err,
                                 size_t errsz);
enum cs_err backend_dir_new(const struct config_upload *cfg, void **state, char *err,
                            size_t errsz);

#endif
