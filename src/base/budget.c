/* budget.c - a shared allowance of memory for pictures in flight (budget.h). */
#include "budget.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"

#define WAIT_SLICE_MS 50 /* re-reads the (replaceable) clock at least this often */

struct budget {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    int64_t total, held, peak;
};

struct budget *budget_new(int64_t bytes)
{
    struct budget *b = calloc(1, sizeof(*b));
    pthread_condattr_t ca;

    if (!b)
        return NULL;
    b->total = bytes > 0 ? bytes : 1;
    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->freed, &ca);
    pthread_condattr_destroy(&ca);
    return b;
}

void budget_free(struct budget *b)
{
    if (!b)
        return;
    pthread_cond_destroy(&b->freed);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static void wait_a_little(struct budget *b, int64_t left_ms)
{
    struct timespec ts;
    int64_t ms = clock_real_ms(left_ms < WAIT_SLICE_MS ? left_ms : WAIT_SLICE_MS);

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&b->freed, &b->lock, &ts);
}

enum cs_err budget_take(struct budget *b, int64_t bytes, int64_t deadline_ms)
{
    enum cs_err rc = CS_OK;

    if (!b || bytes <= 0)
        return CS_OK;
    pthread_mutex_lock(&b->lock);
    while (b->held > 0 && b->held + bytes > b->total) {
        int64_t left = deadline_ms - clock_mono_ms();
        if (left <= 0) {
            rc = CS_TIMEOUT;
            goto out;
        }
        wait_a_little(b, left);
    }
    b->held += bytes;
    if (b->held > b->peak)
        b->peak = b->held;
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void budget_give(struct budget *b, int64_t bytes)
{
    if (!b || bytes <= 0)
        return;
    pthread_mutex_lock(&b->lock);
    b->held -= bytes;
    if (b->held < 0)
        b->held = 0;
    pthread_cond_broadcast(&b->freed);
    pthread_mutex_unlock(&b->lock);
}

void budget_usage(struct budget *b, int64_t *held, int64_t *peak)
{
    *held = *peak = 0;
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    *held = b->held;
    *peak = b->peak;
    pthread_mutex_unlock(&b->lock);
}
