#include "agent.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "clock.h"
#include "delivery.h"
#include "exitcode.h"
#include "log.h"
#include "notify.h"
#include "schedule.h"
#include "units.h"

#define WAIT_CHUNK_MS 30000     /* re-read the wall clock at least this often */

/* ---- signals as events ---------------------------------------------------- */

struct control {
    atomic_bool stop;
    atomic_bool reload;
    atomic_llong grace_ms;
    int efd;                    /* eventfd: wakes the main loop */
    pthread_t tid;
};

static void control_kick(struct control *c)
{
    uint64_t one = 1;

    if (write(c->efd, &one, sizeof(one)) < 0) {
        /* counter saturated: a wake-up is pending anyway */
    }
}

static sigset_t agent_signals(void)
{
    sigset_t s;

    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    return s;
}

void agent_block_signals(void)
{
    sigset_t s = agent_signals();

    pthread_sigmask(SIG_BLOCK, &s, NULL);
}

void agent_unblock_signals(void)
{
    sigset_t s = agent_signals();

    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

/* After the first stop signal: exit at once on a second one, or when the
 * grace period is over. Everything on disk is atomic, so _exit is safe. */
static void stop_watch(struct control *c)
{
    sigset_t s = agent_signals();
    int64_t grace = atomic_load(&c->grace_ms);
    int64_t real = clock_real_ms(grace);
    struct timespec ts = {.tv_sec = real / 1000, .tv_nsec = (real % 1000) * 1000000};

    for (;;) {
        int sig = sigtimedwait(&s, NULL, &ts);
        if (sig == SIGHUP || (sig < 0 && errno == EINTR))
            continue;
        if (sig > 0)
            log_warnx(NULL, "second %s: exiting now (nothing is lost: writes are atomic)",
                      strsignal(sig));
        else
            log_warnx(NULL, "stop grace period (%lld ms) is over: exiting now",
                      (long long)grace);
        log_close();
        _exit(EXIT_PARTIAL);
    }
}

static void *signal_main(void *arg)
{
    struct control *c = arg;
    sigset_t s = agent_signals();
    int sig;

    for (;;) {
        if (sigwait(&s, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info(NULL, "SIGHUP: reloading the configuration before the next round");
            atomic_store(&c->reload, true);
            control_kick(c);
            continue;
        }
        log_info(NULL, "%s: stopping (again to exit at once)", strsignal(sig));
        notify_stopping();
        atomic_store(&c->stop, true);
        control_kick(c);
        stop_watch(c);
    }
    return NULL;
}

/* Waits up to ms (agent clock) for an event; returns early on one. */
static void control_wait(struct control *c, int64_t ms)
{
    struct pollfd p = {.fd = c->efd, .events = POLLIN};
    uint64_t v;

    if (ms <= 0)
        return;
    if (poll(&p, 1, (int)clock_real_ms(ms)) > 0 && read(c->efd, &v, sizeof(v)) < 0) {
        /* nothing to drain */
    }
}

/* ---- the delivery thread ------------------------------------------------- */

/* What delivery did since the last round line: the delivery thread adds,
 * the round line takes (and zeroes). Outlives a reload's new thread. */
struct tally {
    atomic_llong delivered;
    atomic_llong failed; /* failed attempts (to be retried) */
};

struct deliverer {
    struct delivery *d;
    struct store *store;
    struct spool *spool;
    struct tally *tally;
    int64_t seen[2]; /* delivery thread only: this run's summary at the last progress */
    pthread_t tid;
    atomic_bool stop;
    bool running;
};

/* Each settled still: what changed since the last call goes to the tally. */
static void on_progress(void *ctx, const struct delivery_summary *s)
{
    struct deliverer *dl = ctx;

    atomic_fetch_add(&dl->tally->delivered, s->delivered - dl->seen[0]);
    atomic_fetch_add(&dl->tally->failed, s->failed_attempts - dl->seen[1]);
    dl->seen[0] = s->delivered;
    dl->seen[1] = s->failed_attempts;
}

static void *deliver_main(void *arg)
{
    struct deliverer *dl = arg;
    struct delivery_summary sum;
    struct delivery_opts o = {.stop = &dl->stop, .progress = on_progress, .ctx = dl};

    delivery_run(dl->d, &o, &sum);
    log_info(NULL, "delivery stopped: %lld delivered by this thread", (long long)sum.delivered);
    return NULL;
}

static int deliverer_start(const struct config *cfg, struct deliverer *dl, struct tally *tally)
{
    char path[4200], err[256];

    memset(dl, 0, sizeof(*dl));
    dl->tally = tally;
    if (cfg->upload.backend == UPLOAD_NONE) {
        log_info(NULL, "[upload] backend = none: stills stay in the local spool");
        return EXIT_OK_;
    }
    snprintf(path, sizeof(path), "%s/%s", cfg->general.state_dir, STORE_FILENAME);
    if (store_open(path, &dl->store)) {
        log_errorx(NULL, "delivery cannot open the state directory: %s", store_last_error(NULL));
        goto fail;
    }
    if (spool_open(cfg->general.state_dir, &dl->spool)) {
        log_errorx(NULL, "delivery cannot open the state directory: %s", spool_last_error());
        goto fail;
    }
    if (delivery_new(cfg, dl->store, dl->spool, &dl->d, err, sizeof(err))) {
        log_errorx(NULL, "delivery: %s", err);
        goto fail;
    }
    atomic_init(&dl->stop, false);
    if (pthread_create(&dl->tid, NULL, deliver_main, dl) != 0) {
        log_errorx(NULL, "cannot start the delivery thread");
        goto fail;
    }
    dl->running = true;
    return EXIT_OK_;
fail:
    delivery_free(dl->d);
    spool_close(dl->spool);
    store_close(dl->store);
    memset(dl, 0, sizeof(*dl));
    dl->tally = tally;
    return EXIT_RUNTIME;
}

static void deliverer_stop(struct deliverer *dl)
{
    struct tally *tally = dl->tally;

    if (dl->running) {
        atomic_store(&dl->stop, true);
        delivery_wakeup(dl->d);
        pthread_join(dl->tid, NULL);
    }
    delivery_free(dl->d);
    spool_close(dl->spool);
    store_close(dl->store);
    memset(dl, 0, sizeof(*dl));
    dl->tally = tally;
}

/* ---- rounds ------------------------------------------------------------- */

/* Each camera's outcome goes to the alerts (and the round's accounting) as
 * soon as it is recorded. */
struct round_ctx {
    struct alerts *alerts;
    int64_t when;
};

static void on_capture(void *ctx, const struct capture_result *r)
{
    const struct round_ctx *rc = ctx;
    struct alert_capture c = {
        .camera = r->cam->name,
        .round_ms = rc->when,
        .ok = r->rc == CS_OK,
        .reason = r->reason,
        .error = r->error,
        .still = r->rc == CS_OK ? r->relpath : NULL,
        .quality_flags = 0, /* the still's data-quality flags, once capture computes them */
    };

    alerts_capture(rc->alerts, &c);
}

/* What delivery did since the last round line, and what waits:
 * "delivery: 7 delivered, 1 failed attempt, 8 waiting (oldest 12m)". */
static void delivery_report(struct agent_state *st, const struct deliverer *dl, int64_t now,
                            char *buf, size_t sz)
{
    int64_t files = 0, bytes = 0, oldest = 0;
    int64_t delivered = atomic_exchange(&dl->tally->delivered, 0);
    int64_t failed = atomic_exchange(&dl->tally->failed, 0);
    char age[48] = "", dur[32];
    const char *s = failed == 1 ? "" : "s";

    if (store_backlog_oldest(st->store, NULL, &files, &bytes, &oldest)) {
        snprintf(buf, sz, "delivery: %lld delivered, %lld failed attempt%s, backlog unknown (%s)",
                 (long long)delivered, (long long)failed, s, store_last_error(st->store));
        return;
    }
    if (st->cfg->upload.backend == UPLOAD_NONE) {
        snprintf(buf, sz, "no delivery (backend = none): %lld still(s) kept", (long long)files);
        return;
    }
    if (files && now > oldest)
        snprintf(age, sizeof(age), " (oldest %s)",
                 units_format_duration((now - oldest) / 1000 * 1000, dur, sizeof(dur)));
    snprintf(buf, sz, "delivery: %lld delivered, %lld failed attempt%s, %lld waiting%s",
             (long long)delivered, (long long)failed, s, (long long)files, age);
}

static void round_once(struct agent_state *st, const struct deliverer *dl,
                       struct capture_memory *mem, int64_t when)
{
    const struct config *cfg = st->cfg;
    const struct camera_config **cams = calloc(cfg->n_cameras + 1, sizeof(*cams));
    struct capture_result *res = calloc(cfg->n_cameras + 1, sizeof(*res));
    struct capture_env env = {
        .spool = st->spool,
        .store = st->store,
        .jpeg_quality = (int)cfg->general.jpeg_quality,
        .workers = (int)cfg->general.workers,
        .picture_memory = cfg->general.picture_memory,
        .memory = mem,
    };
    struct round_ctx rctx = {.alerts = st->alerts, .when = when};
    int64_t t0 = clock_mono_ms();
    size_t n = 0, ok = 0;
    char iso[40], dlv[512];

    if (!cams || !res) {
        log_errorx(NULL, "out of memory starting a round");
        goto out;
    }
    for (size_t i = 0; i < cfg->n_cameras; i++)
        if (cfg->cameras[i].enabled)
            cams[n++] = &cfg->cameras[i];
    spool_restore_reserve(st->spool); /* after a full disk, once there is room */
    if (st->alerts) {
        env.on_result = on_capture;
        env.ctx = &rctx;
    }
    capture_round(&env, cams, n, res);
    spool_settle(st->spool); /* every still of the round is recorded (or failed) */
    for (size_t i = 0; i < n; i++)
        ok += res[i].rc == CS_OK;
    delivery_report(st, dl, clock_wall_ms(), dlv, sizeof(dlv));
    clock_format_iso(when, 0, iso, sizeof(iso));
    printf("round %s: %zu/%zu stills in %.2f s; %s\n", iso, ok, n,
           (double)(clock_mono_ms() - t0) / 1000.0, dlv);
    for (size_t i = 0; i < n; i++)
        if (res[i].rc)
            printf("  camera %s: %s\n", res[i].cam->name, res[i].error);
    fflush(stdout);
    notify_status("last round %s: %zu/%zu stills; %s", iso, ok, n, dlv);
out:
    free(cams);
    free(res);
}

/* "started: 3 of 4 camera(s) enabled, interval 5m, window 11:00-22:00 on
 * mon-fri, time zone Europe/Paris, pid 123" (values as they are configured). */
static void log_started(const struct config *cfg, const char *what)
{
    const struct config_general *g = &cfg->general;
    char iv[32], win[96];

    log_info(NULL,
             "%s: %zu of %zu camera(s) enabled, interval %s, window %s, time zone %s, pid %ld",
             what, config_enabled_cameras(cfg), cfg->n_cameras,
             units_format_duration(g->interval_ms, iv, sizeof(iv)),
             schedule_describe(&g->window, g->days, win, sizeof(win)),
             g->timezone ? g->timezone : "of the system", (long)getpid());
}

/* Outside the window: when the next round will be, in local time. */
static void log_next_round(const struct config_general *g, int64_t wall, bool first)
{
    int64_t next = schedule_next_round(&g->window, g->days, g->interval_ms, wall);
    char when[64], in[32], win[96];
    time_t t = (time_t)(next / 1000);
    struct tm tm;

    schedule_describe(&g->window, g->days, win, sizeof(win));
    if (!next) {
        log_warnx(NULL, "the capture window (%s) never opens on the configured days", win);
        return;
    }
    localtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
    log_info(NULL, "%s (%s): %s round at %s%s%s%s, in %s",
             first ? "outside the capture window" : "capture window closed", win,
             first ? "first" : "next", when, g->timezone ? " (" : "",
             g->timezone ? g->timezone : "", g->timezone ? ")" : "",
             units_format_duration((next - wall + 999) / 1000 * 1000, in, sizeof(in)));
}

/* Replaces the configuration between rounds; the old one stays when the new
 * one is invalid or moves the state directory. */
static void reload(const struct agent_hooks *h, struct agent_state *st, struct deliverer *dl,
                   struct control *c)
{
    char *errs = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&errs, &len);
    struct config *ncfg = NULL;
    enum cs_err rc = config_load(h->config_path, h->state_dir_override, mem ? mem : stderr,
                                 &ncfg);

    if (mem)
        fclose(mem);
    if (rc) {
        log_errorx(NULL, "new configuration refused, keeping the old one: %s",
                   errs && *errs ? errs : cs_strerror(rc));
    } else if (!config_enabled_cameras(ncfg)) {
        log_errorx(NULL, "new configuration refused, keeping the old one: %s has no enabled "
                         "camera",
                   h->config_path);
        config_free(ncfg);
    } else if (strcmp(ncfg->general.state_dir, st->cfg->general.state_dir)) {
        log_errorx(NULL, "new configuration moves state_dir: that needs a restart; keeping "
                         "the old configuration");
        config_free(ncfg);
    } else {
        deliverer_stop(dl);
        config_free(st->cfg);
        st->cfg = ncfg;
        if (h->reconfigured)
            h->reconfigured(h->ctx, st->cfg);
        deliverer_start(st->cfg, dl, dl->tally);
        if (st->alerts && alerts_reconfigure(st->alerts, st->cfg))
            log_errorx(NULL, "alerts keep their old settings: out of memory");
        atomic_store(&c->grace_ms, st->cfg->general.stop_grace_ms);
        log_started(st->cfg, "configuration reloaded");
    }
    free(errs);
}

/* --exit-after-window: wait for the backlog to drain, bounded by the grace. */
static void drain(struct agent_state *st, struct control *c, const struct deliverer *dl)
{
    int64_t until = clock_mono_ms() + st->cfg->general.drain_grace_ms, files = 0, bytes;

    while (dl->running && !atomic_load(&c->stop) && clock_mono_ms() < until) {
        if (store_backlog(st->store, NULL, &files, &bytes) || !files)
            break;
        notify_watchdog();
        control_wait(c, 1000);
    }
    log_info(NULL, "window closed: %lld still(s) left waiting for delivery", (long long)files);
}

/* Picks the next round time. Normally the slot after the last one, even
 * when the wait overslept a little (the round is then late, not lost);
 * after a wall-clock jump either way, or at start, re-aligned to now, so a
 * jump neither loses rounds beyond it nor fires a burst. */
static int64_t next_when(const struct config_general *g, int64_t wall, int64_t last)
{
    int64_t iv = g->interval_ms;

    if (last && wall >= last - iv && wall < last + 2 * iv)
        return last + iv;
    return schedule_align(wall, iv);
}

static int loop(const struct agent_hooks *h, struct agent_state *st, struct control *c,
                struct deliverer *dl, const struct agent_opts *o)
{
    struct capture_memory *mem = capture_memory_new();
    int64_t stop_at = o->for_ms ? clock_mono_ms() + o->for_ms : 0, rounds = 0, last = 0;
    bool seen_window = false; /* --exit-after-window: the window it waits for has opened */
    bool told = false;        /* the next round outside the window was logged */

    if (!mem)
        return EXIT_RUNTIME;
    while (!atomic_load(&c->stop)) {
        const struct config_general *g = &st->cfg->general;
        int64_t wall = clock_wall_ms(), when = next_when(g, wall, last), wait = when - wall;
        bool inside = schedule_in_window(&g->window, g->days, when);
        notify_watchdog();
        if (atomic_exchange(&c->reload, false)) {
            reload(h, st, dl, c);
            told = false;
            continue;
        }
        seen_window |= inside;
        if (o->exit_after_window && seen_window && !inside) {
            drain(st, c, dl);
            break;
        }
        if (!inside && !told)
            log_next_round(g, wall, rounds == 0);
        told = !inside;
        if (stop_at && clock_mono_ms() + wait > stop_at) {
            control_wait(c, stop_at - clock_mono_ms());
            break;
        }
        if (wait > WAIT_CHUNK_MS) {
            control_wait(c, WAIT_CHUNK_MS);
            continue;
        }
        control_wait(c, wait);
        if (atomic_load(&c->stop) || atomic_load(&c->reload) || clock_wall_ms() < when - 1000)
            continue; /* an event, or the clock went back: decide again */
        last = when;
        if (!inside)
            continue;
        round_once(st, dl, mem, when);
        if (dl->running)
            delivery_wakeup(dl->d);
        if (o->max_rounds && ++rounds >= o->max_rounds)
            break;
    }
    capture_memory_free(mem);
    return EXIT_OK_;
}

/* One agent per process; the signal thread outlives agent_run's frame. */
static struct control ctl;

int agent_run(struct agent_state *st, const struct agent_hooks *hooks,
              const struct agent_opts *o)
{
    struct control *c = &ctl;
    struct tally tally;
    struct deliverer dl;
    int ex;

    c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->efd < 0) {
        log_error(NULL, "eventfd");
        return EXIT_RUNTIME;
    }
    atomic_init(&c->stop, false);
    atomic_init(&c->reload, false);
    atomic_init(&c->grace_ms, st->cfg->general.stop_grace_ms);
    atomic_init(&tally.delivered, 0);
    atomic_init(&tally.failed, 0);
    if (pthread_create(&c->tid, NULL, signal_main, c) != 0) {
        close(c->efd);
        return EXIT_RUNTIME;
    }
    pthread_detach(c->tid);
    if (!(ex = deliverer_start(st->cfg, &dl, &tally))) {
        log_started(st->cfg, "started");
        notify_ready();
        if (st->alerts)
            alerts_agent_start(st->alerts);
        ex = loop(hooks, st, c, &dl, o);
    }
    /* The "stopped" alert gets part of the grace; what does not go waits
     * in the outbox for the next start. */
    alerts_agent_stop(st->alerts, st->cfg->general.stop_grace_ms / 4);
    deliverer_stop(&dl);
    log_info(NULL, "stopped");
    return ex;
}
