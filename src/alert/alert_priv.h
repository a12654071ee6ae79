/*
 * alert_priv.h - what alert.c (the conditions) and alert_deliver.c (the
 * thread and the outbox's delivery) share. Nothing outside src/alert/
 * includes it.
 */
#ifndef CAMSNAP_ALERT_PRIV_H
#define CAMSNAP_ALERT_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "backoff.h"
#include "store.h"
#include "store_alert.h"
#include "units.h"

/* A copy of what the engine needs of the configuration (secrets zeroed
 * when freed). */
struct alert_settings {
    char *webhook_url, *smtp_url, *mail_from, *mail_to, *smtp_user, *smtp_password, *ca_file;
    int64_t timeout_ms;
    int64_t camera_down_after, quality_after;
    int64_t backlog_stills, backlog_age_ms, disk_free_min;
    int64_t rate_limit;
    enum alert_report report;
    char *state_dir;
    char site[80];              /* restaurant_id, else the host name */
    int64_t interval_ms;
    struct window window;
    int days;
    char **cameras;             /* enabled cameras ... */
    char **sources;             /* ... and their source as scheme://host:port */
    size_t n_cameras;
};

struct alerts {
    pthread_mutex_t mu;         /* everything below */
    struct store *store;        /* own connection */
    struct alert_settings set;
    struct store_alert_state *states; /* cache of alert_state */
    size_t n_states, cap_states;
    int64_t run_id;             /* 0 until alerts_agent_start */
    int64_t run_started_ms;
    int64_t tick_ms;            /* agent clock between two looks at the site */
    int64_t last_alive_ms;
    /* the thread */
    pthread_t tid;
    pthread_cond_t cv;          /* CLOCK_MONOTONIC */
    bool running, stop, kick;
    int64_t flush_until;        /* mono ms: stopping, deliver until then */
    struct backoff backoff[STORE_ALERT__CHANNELS];
    int64_t quiet_until[STORE_ALERT__CHANNELS]; /* rate limit reached: wall ms */
};

/* alert.c: the looks at the site (a->mu held). */
void alert__check_locked(struct alerts *a, int64_t now_ms);

/* alert_deliver.c: the thread. */
enum cs_err alert__thread_start(struct alerts *a);
void alert__thread_stop(struct alerts *a, int64_t flush_ms);

/* Wakes the thread (new alerts); a->mu held. */
void alert__kick(struct alerts *a);

/* Frees the strings of s (secrets zeroed). */
void alert__settings_free(struct alert_settings *s);

#endif
