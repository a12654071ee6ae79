/*
 * cmd_run.c - `camsnap run`: capture rounds on the schedule.
 *
 * Rounds are aligned to the wall clock in local time (interval 5m: :00, :05,
 * ...) and happen only inside the daily window. Waiting uses sigtimedwait
 * on a blocked signal set, so SIGINT/SIGTERM arrive as events between
 * rounds; a round in progress always finishes (each camera is bounded by
 * its own deadline).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "delivery.h"
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "units.h"

static const char usage[] =
    "usage: camsnap [-c FILE] [--state-dir DIR] run [--for DURATION] [--rounds N]\n"
    "\n"
    "Runs the agent: a capture round every `interval`, aligned to the clock\n"
    "(5m: at :00, :05, ...), inside the daily `window`. Prints one line per\n"
    "round. Stops on SIGINT or SIGTERM after the round in progress.\n"
    "\n"
    "  --for DURATION   stop after this long (e.g. 30s; default: run until stopped)\n"
    "  --rounds N       stop after N rounds\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 stopped normally, 2 usage or configuration error,\n"
    "3 state directory or database unusable.\n";

/* Next round time (wall ms) at or after `wall`, aligned in local time. */
static int64_t next_round(int64_t wall, int64_t interval)
{
    time_t t = (time_t)(wall / 1000);
    struct tm tm;
    int64_t off, local, next;

    localtime_r(&t, &tm);
    off = (int64_t)tm.tm_gmtoff * 1000;
    local = wall + off;
    next = (local + interval - 1) / interval * interval;
    return next - off;
}

static int minute_of_day(int64_t wall)
{
    time_t t = (time_t)(wall / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    return tm.tm_hour * 60 + tm.tm_min;
}

/* Waits up to ms for a signal of set; returns the signal or 0 on time-out. */
static int wait_signal(const sigset_t *set, int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    int sig;

    if (ms <= 0)
        return 0;
    do
        sig = sigtimedwait(set, NULL, &ts);
    while (sig < 0 && errno == EINTR);
    return sig < 0 ? 0 : sig;
}

/* The delivery thread: its own store connection and spool handle, so
 * capture never waits on delivery and delivery drains outside the window. */
struct deliverer {
    struct delivery *d;
    struct store *store;
    struct spool *spool;
    pthread_t tid;
    atomic_bool stop;
    bool running;
};

static void *deliver_main(void *arg)
{
    struct deliverer *dl = arg;
    struct delivery_summary sum;
    struct delivery_opts o = {.stop = &dl->stop};

    delivery_run(dl->d, &o, &sum);
    log_info(NULL, "delivery stopped: %lld delivered in this run", (long long)sum.delivered);
    return NULL;
}

static int deliverer_start(struct cli_state *st, struct deliverer *dl)
{
    char path[4200], err[256];

    memset(dl, 0, sizeof(*dl));
    if (st->cfg->upload.backend == UPLOAD_NONE) {
        log_info(NULL, "[upload] backend = none: stills stay in the local spool");
        return EXIT_OK_;
    }
    snprintf(path, sizeof(path), "%s/%s", st->cfg->general.state_dir, STORE_FILENAME);
    if (store_open(path, &dl->store) || spool_open(st->cfg->general.state_dir, &dl->spool)) {
        log_errorx(NULL, "delivery cannot open the state directory: %s", store_last_error(NULL));
        goto fail;
    }
    if (delivery_new(st->cfg, dl->store, dl->spool, &dl->d, err, sizeof(err))) {
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
    return EXIT_RUNTIME;
}

static void deliverer_stop(struct deliverer *dl)
{
    if (dl->running) {
        atomic_store(&dl->stop, true);
        delivery_wakeup(dl->d);
        pthread_join(dl->tid, NULL);
    }
    delivery_free(dl->d);
    spool_close(dl->spool);
    store_close(dl->store);
}

static void run_one_round(struct cli_state *st, struct capture_memory *mem, int64_t when)
{
    const struct config *cfg = st->cfg;
    const struct camera_config **cams = calloc(cfg->n_cameras + 1, sizeof(*cams));
    struct capture_result *res = calloc(cfg->n_cameras + 1, sizeof(*res));
    struct capture_env env = {
        .spool = st->spool,
        .store = st->store,
        .jpeg_quality = (int)cfg->general.jpeg_quality,
        .workers = (int)cfg->general.workers,
        .memory = mem,
    };
    size_t n = 0, ok = 0;
    int64_t t0 = clock_mono_ms();
    char iso[40];

    if (!cams || !res) {
        log_errorx(NULL, "out of memory starting a round");
        goto out;
    }
    for (size_t i = 0; i < cfg->n_cameras; i++)
        if (cfg->cameras[i].enabled)
            cams[n++] = &cfg->cameras[i];
    capture_round(&env, cams, n, res);
    for (size_t i = 0; i < n; i++)
        ok += res[i].rc == CS_OK;
    printf("round %s: %zu/%zu stills in %.2f s\n", clock_format_iso(when, 0, iso, sizeof(iso)),
           ok, n, (double)(clock_mono_ms() - t0) / 1000.0);
    if (ok < n)
        for (size_t i = 0; i < n; i++)
            if (res[i].rc)
                printf("  camera %s: %s\n", res[i].cam->name, res[i].error);
    fflush(stdout);
out:
    free(cams);
    free(res);
}

static int loop(struct cli_state *st, const sigset_t *sigs, int64_t for_ms, int64_t max_rounds,
                struct deliverer *dl)
{
    struct capture_memory *mem = capture_memory_new();
    int64_t stop_at = for_ms ? clock_mono_ms() + for_ms : 0, rounds = 0, last = 0;
    const struct config_general *g = &st->cfg->general;

    if (!mem)
        return EXIT_RUNTIME;
    for (;;) {
        int64_t wall = clock_wall_ms(), when = next_round(wall, g->interval_ms);
        int64_t wait;
        int sig;
        if (when <= last)
            when = last + g->interval_ms;
        wait = when - wall;
        last = when;
        if (stop_at && clock_mono_ms() + wait > stop_at) {
            wait_signal(sigs, stop_at - clock_mono_ms());
            break;
        }
        if ((sig = wait_signal(sigs, wait))) {
            log_info(NULL, "received %s: stopping", strsignal(sig));
            break;
        }
        if (!units_window_contains(&g->window, minute_of_day(when))) {
            log_debug(NULL, "outside the capture window: no round");
            /* Avoid spinning when the wait rounded to 0. */
            wait_signal(sigs, 1);
            continue;
        }
        run_one_round(st, mem, when);
        if (dl->running)
            delivery_wakeup(dl->d);
        if (max_rounds && ++rounds >= max_rounds)
            break;
    }
    capture_memory_free(mem);
    return EXIT_OK_;
}

int cmd_run(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"for", required_argument, NULL, 'f'},
        {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int64_t for_ms = 0, max_rounds = 0;
    struct deliverer dl;
    struct cli_state st;
    sigset_t sigs;
    int c, ex;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'f' && units_parse_duration(optarg, &for_ms) == CS_OK && for_ms > 0)
            continue;
        if (c == 'r' && units_parse_int(optarg, 1, INT64_MAX, &max_rounds) == CS_OK)
            continue;
        if (c == 'h') {
            fputs(usage, stdout);
            return EXIT_OK_;
        }
        if (c == 'f' || c == 'r')
            fprintf(stderr, "camsnap: run: bad value \"%s\"\n", optarg);
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    /* Signals become events read by the main loop; worker threads inherit
     * the mask and never see them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if ((ex = cli_open_state(cli, &st)))
        return ex;
    log_info(NULL, "started: %zu camera(s), interval %lld ms, state %s", st.cfg->n_cameras,
             (long long)st.cfg->general.interval_ms, st.cfg->general.state_dir);
    if (!(ex = deliverer_start(&st, &dl)))
        ex = loop(&st, &sigs, for_ms, max_rounds, &dl);
    deliverer_stop(&dl);
    cli_close_state(&st);
    return ex;
}
