/*
 * delivery.h - delivers every pending still exactly once: the object, then
 * the row, each step recorded in the store before the next begins.
 *
 * Oldest stills first, a bounded number in flight (upload concurrency),
 * memory independent of the backlog (due stills are read a few at a time).
 * Failed attempts back off per still (full jitter, Retry-After honoured) and
 * the whole engine holds back while the service is failing, probing with one
 * still at a time until it answers again.
 *
 * Thread-safety: delivery_run() runs in one thread with its own store
 * connection; delivery_wakeup() and the stop flag may be used from others.
 */
#ifndef CAMSNAP_DELIVERY_H
#define CAMSNAP_DELIVERY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "spool.h"
#include "store.h"

struct delivery_summary {
    int64_t delivered;          /* reached success in this run */
    int64_t already_there;      /* of which the object or row existed (retry after a lost answer) */
    int64_t failed_attempts;    /* attempts that will be retried */
    int64_t attention;          /* of which need a person (auth, bucket, RLS) */
    int64_t quarantined;        /* permanent refusals and conflicts: kept, not retried */
    int64_t missing;            /* local file gone */
    int64_t unverified;         /* delivered, "already there" not provable ours (plain names) */
    int64_t interrupted;        /* abandoned in flight at the sync --wait deadline */
    int64_t bytes;              /* object bytes sent successfully */
    int64_t in_flight;
    char last_error[384];
};

struct delivery_opts {
    const char *camera;         /* NULL: every camera */
    bool sync;                  /* deliver what is waiting now, then return */
    int64_t wait_ms;            /* sync: keep delivering and retrying this long, then
                                 * return, abandoning what is in flight (0: one pass) */
    atomic_bool *stop;          /* set by another thread to stop (may be NULL) */
    atomic_bool *yield;         /* set by another thread when an agent wants the state
                                 * directory: what is in flight is abandoned at once (safe to
                                 * redo) and delivery returns (may be NULL) */
    /* Called after each still settles (progress output). May be NULL. */
    void (*progress)(void *ctx, const struct delivery_summary *s);
    void *ctx;
};

struct delivery;

/* Prepares delivery with cfg->upload (must not be backend none) and
 * general.restaurant_id. st and sp must outlive it and belong to the
 * calling thread. CS_CONFIG with err filled when the backend is unusable. */
enum cs_err delivery_new(const struct config *cfg, struct store *st, struct spool *sp,
                         struct delivery **out, char *err, size_t errsz);
void delivery_free(struct delivery *d);

/* Runs until opts->stop is set or (sync) nothing more is due, or the sync's
 * wait_ms has passed. After a stop, in-flight requests are finished
 * (bounded by the upload timeout) before returning; at the wait_ms
 * deadline they are abandoned at once (sum->interrupted). Anything
 * interrupted is safe to redo. */
enum cs_err delivery_run(struct delivery *d, const struct delivery_opts *opts,
                         struct delivery_summary *sum);

/* Ends a wait early (new stills, stop). Thread-safe. */
void delivery_wakeup(struct delivery *d);

/* How many times the reading back after "already exists" (a GET of the
 * object, plain names only) is tried while it fails transiently (transport,
 * timeout, 408, 429, 5xx but 501, 544) before the still is recorded as
 * delivered, unverified. The count is kept in the store, so restarts do not
 * reset it. */
#define DELIVERY_VERIFY_ATTEMPTS 4

/* What the reading back concluded; see the state machine in delivery.c. */
enum delivery_verify {
    DELIVERY_VERIFY_SAME,     /* the remote bytes are ours (size and SHA-256): stored */
    DELIVERY_VERIFY_BY_NAME,  /* not read; the name carries our digest: stored */
    DELIVERY_VERIFY_UNPROVEN, /* not read, plain name: stored, unverified, warned */
    DELIVERY_VERIFY_DIFFERS,  /* other bytes under our name: conflict */
    DELIVERY_VERIFY_AGAIN,    /* transient failure: retry the still later */
};

struct dl_result;

/* Judges the answer r to the reading back of a still of local_size bytes
 * with SHA-256 local_sha (hex), whose reading already failed transiently
 * failures_before times; digest_name: its object name carries local_sha's
 * digest. Pure; exported for tests. */
enum delivery_verify delivery_verify_verdict(const struct dl_result *r, int64_t local_size,
                                             const char *local_sha, bool digest_name,
                                             int64_t failures_before);

/* The remote object name of a still whose spool name is filename: the same
 * (OBJECT_NAME_PLAIN), or with "_<the first 8 hex of sha_hex>" before the
 * extension (OBJECT_NAME_DIGEST: "camera_27/20261126_113000_2592_1944_
 * 3fa2c91b.jpg"). CS_TOOBIG when it does not fit outsz, CS_BADFRAME when a
 * digest name has no sha_hex. Pure. */
enum cs_err delivery_object_name(const char *filename, const char *sha_hex,
                                 enum object_name_form form, char *out, size_t outsz);

/* Whether object_name ends (before its extension) in "_" and the digest of
 * sha_hex. Pure. */
bool delivery_name_has_digest(const char *object_name, const char *sha_hex);

/* The deterministic row id of a still: a name-based UUID (version 5) of
 * "<restaurant_id>/<bucket>/<object_name>" (object_name: the remote name
 * under the restaurant_id). out gets 36 chars + NUL. */
void delivery_image_id(const char *restaurant_id, const char *bucket, const char *path,
                       char out[37]);

#endif
