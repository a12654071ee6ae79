/*
 * capture.h - one capture round: every given camera at once, with a bounded
 * number of worker threads. For each camera: open its source, grab one
 * clean frame, encode it (image), write it atomically (spool) and record it
 * as pending (store). A slow or failing camera never delays another's still
 * being written and recorded: each worker records its own result as soon as
 * it has it.
 *
 * A still whose size differs from the camera's expected resolution is kept
 * and flagged (logged once per change of size, via struct capture_memory).
 *
 * Thread-safety: capture_round() may not run concurrently with itself on
 * the same store; it serialises its own store calls.
 */
#ifndef CAMSNAP_CAPTURE_H
#define CAMSNAP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "spool.h"
#include "store.h"

struct capture_result {
    const struct camera_config *cam;  /* borrowed from the config */
    enum cs_err rc;
    const char *reason;         /* on failure: "camera", "disk", "database", "image" */
    char error[320];            /* on failure: what happened, for a technician */
    char relpath[SPOOL_REL_MAX];/* on success */
    int width, height;
    int64_t size;
    int64_t capture_ms;         /* wall time of the frame */
    int64_t elapsed_ms;         /* open to recorded */
    bool mismatch;              /* size differs from the expected resolution */
};

/* What a long-lived caller remembers between rounds (sizes seen, failure
 * streaks) so changes are logged once. Owned by the caller. */
struct capture_memory;
struct capture_memory *capture_memory_new(void);
void capture_memory_free(struct capture_memory *m);

struct capture_env {
    struct spool *spool;
    struct store *store;
    int jpeg_quality;
    int workers;                /* >= 1 */
    int64_t picture_memory;     /* bytes of pictures in flight at once (budget.h); 0: no limit */
    struct capture_memory *memory; /* may be NULL */
    /* Called from the worker thread, serialised, once per camera as soon as
     * its result is recorded (progress output). May be NULL. */
    void (*on_result)(void *ctx, const struct capture_result *r);
    void *ctx;
};

/* Captures cams[0..n) concurrently and fills results[0..n) (same order).
 * Returns CS_OK when the round ran (individual cameras may have failed:
 * see results), CS_NOMEM when threads could not be started. */
enum cs_err capture_round(const struct capture_env *env, const struct camera_config *const *cams,
                          size_t n, struct capture_result *results);

#endif
