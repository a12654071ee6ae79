/*
 * backoff.h - when to try a still again: exponential backoff with full
 * jitter (delay drawn uniformly from [0, min(cap, base * 2^(attempts-1))]),
 * never sooner than the server's Retry-After; a fixed interval when no
 * base is configured (the old system's 10-minute retry).
 *
 * Pure and thread-compatible: the random state belongs to the caller.
 */
#ifndef CAMSNAP_BACKOFF_H
#define CAMSNAP_BACKOFF_H

#include <stdint.h>

struct backoff {
    int64_t base_ms;            /* 0: use fixed_ms */
    int64_t cap_ms;
    int64_t fixed_ms;
    uint64_t rng;               /* xorshift state, non-zero */
};

/* Seeds the generator (seed 0 picks one from the clock and pid). */
void backoff_init(struct backoff *b, int64_t base_ms, int64_t cap_ms, int64_t fixed_ms,
                  uint64_t seed);

/* Delay before attempt number `attempts` + 1, given `attempts` failures so
 * far (>= 1), honouring retry_after_ms (0 when none). */
#define BACKOFF_RETRY_AFTER_MAX_MS (7LL * 24 * 3600 * 1000) /* a longer Retry-After is cut */

int64_t backoff_delay(struct backoff *b, int64_t attempts, int64_t retry_after_ms);

#endif
