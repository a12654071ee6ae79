/*
 * budget.h - a shared allowance of memory for pictures in flight: a camera
 * takes what its picture will need before the decoder allocates it and
 * gives it back once the still is encoded; past the allowance, cameras
 * wait their turn (up to their own deadline). So the peak memory of a round
 * is bounded by the allowance, not by the number or the size of cameras,
 * while small pictures still decode side by side.
 *
 * A request larger than the whole allowance is granted when nothing else is
 * held (one big picture at a time rather than never).
 *
 * Thread-safe. A NULL struct budget is an unlimited allowance: every call
 * succeeds at once.
 */
#ifndef CAMSNAP_BUDGET_H
#define CAMSNAP_BUDGET_H

#include <stdint.h>

#include "err.h"

struct budget;

/* A new allowance of `bytes` (> 0). Returns NULL when out of memory. */
struct budget *budget_new(int64_t bytes);

/* Frees it; nothing may be held. budget_free(NULL) is a no-op. */
void budget_free(struct budget *b);

/* Takes `bytes`, waiting while the allowance is used up, until the
 * monotonic time `deadline_ms` (clock.h). CS_OK or CS_TIMEOUT. */
enum cs_err budget_take(struct budget *b, int64_t bytes, int64_t deadline_ms);

/* Gives back what budget_take() took. */
void budget_give(struct budget *b, int64_t bytes);

/* Bytes held now and the most ever held at once (for tests and logs). */
void budget_usage(struct budget *b, int64_t *held, int64_t *peak);

#endif
