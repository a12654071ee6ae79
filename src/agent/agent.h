/*
 * agent.h - `camsnap run`, the long-lived agent: capture rounds on the
 * schedule (schedule.h) in the main thread, delivery in its own thread
 * (delivery.h), signals handled by a signal thread and turned into events:
 *
 *   SIGTERM/SIGINT  stop: the round in progress finishes, uploads in flight
 *                   finish or are abandoned (safe to redo); after
 *                   stop_grace, or on a second signal, exit at once (every
 *                   write is atomic, so this is safe too)
 *   SIGHUP          reload the configuration between rounds; an invalid one
 *                   is refused with a log line and the old one stays
 *
 * Thread-safety: one agent per process.
 */
#ifndef CAMSNAP_AGENT_H
#define CAMSNAP_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "spool.h"
#include "store.h"

struct agent_opts {
    int64_t for_ms;             /* stop after this long (0: never) */
    int64_t max_rounds;         /* stop after this many rounds (0: never) */
    bool exit_after_window;     /* drain, then exit when the window closes */
};

/* What the agent works on, opened by the caller (the command layer). A
 * reload replaces cfg (the old one is freed). */
struct agent_state {
    struct config *cfg;
    struct spool *spool;
    struct store *store;
    struct alerts *alerts;      /* alerts and round accounting; NULL: none */
};

/* Where a reload reads from, and what the caller redoes after one. */
struct agent_hooks {
    const char *config_path;
    const char *state_dir_override; /* --state-dir, or NULL */
    /* Called after a reload with the new configuration (logging set-up). */
    void (*reconfigured)(void *ctx, const struct config *cfg);
    void *ctx;
};

/* Runs until stopped. Signals must already be blocked in every thread
 * (agent_block_signals() before any thread starts). Returns an exit status
 * (exitcode.h). */
int agent_run(struct agent_state *st, const struct agent_hooks *hooks,
              const struct agent_opts *o);

/* Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads
 * it creates later). */
void agent_block_signals(void);

/* Undoes agent_block_signals() (commands other than run). */
void agent_unblock_signals(void);

#endif
