#include "backoff.h"

#include <time.h>
#include <unistd.h>

static uint64_t next_rand(struct backoff *b)
{
    uint64_t x = b->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

void backoff_init(struct backoff *b, int64_t base_ms, int64_t cap_ms, int64_t fixed_ms,
                  uint64_t seed)
{
    struct timespec ts;

    b->base_ms = base_ms;
    b->cap_ms = cap_ms > 0 ? cap_ms : base_ms;
    b->fixed_ms = fixed_ms;
    if (!seed) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)getpid() << 32 ^
               (uint64_t)ts.tv_sec;
    }
    b->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}

int64_t backoff_delay(struct backoff *b, int64_t attempts, int64_t retry_after_ms)
{
    int64_t ceiling, delay;

    if (b->base_ms <= 0) {
        delay = b->fixed_ms;
    } else {
        ceiling = b->base_ms;
        for (int64_t i = 1; i < attempts && ceiling < b->cap_ms; i++)
            ceiling = ceiling > b->cap_ms / 2 ? b->cap_ms : ceiling * 2; /* no overflow */
        if (ceiling > b->cap_ms)
            ceiling = b->cap_ms;
        delay = (int64_t)(next_rand(b) % ((uint64_t)ceiling + 1));
    }
    /* A server's Retry-After is honoured, within reason: a week at most (a
     * hostile or broken answer must not park a still for ever, nor overflow
     * the clock it is added to). */
    if (retry_after_ms > BACKOFF_RETRY_AFTER_MAX_MS)
        retry_after_ms = BACKOFF_RETRY_AFTER_MAX_MS;
    return delay > retry_after_ms ? delay : retry_after_ms;
}
