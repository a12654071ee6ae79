/* cmd_sync.c - `camsnap sync [--camera NAME] [--wait DURATION]`: deliver
 * everything waiting now, with progress, then a summary. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "delivery.h"
#include "lock.h"
#include "log.h"
#include "units.h"

static const char usage[] =
    "usage: camsnap [-c FILE] sync [--camera NAME] [--wait DURATION]\n"
    "\n"
    "Delivers every still waiting for delivery (pending or failed) now, oldest\n"
    "first, whatever its retry schedule: the object to storage, then its row.\n"
    "A still that fails again is left for the next attempt (see stats).\n"
    "Shows a progress bar on a terminal, plain lines otherwise, then a summary.\n"
    "\n"
    "  --camera NAME     only this camera's stills\n"
    "  --wait DURATION   keep delivering and retrying failures for up to this long\n"
    "                    (with its unit: 90s, 5m), then stop: uploads in flight are\n"
    "                    abandoned and left for the next run (safe to redo)\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status: 0 nothing left waiting, 1 stills still waiting or quarantined\n"
    "in this run, 2 usage or configuration error, 3 runtime error.\n";

struct progress {
    bool tty;
    int64_t total;
    int64_t last_print_mono;
    int64_t printed[2]; /* delivered, failed attempts of the last plain line */
};

/* A progress line (a bar on a terminal), at most every 2 s on a pipe; with
 * final, the last state whatever the time, so that the last line agrees
 * with the summary. */
static void show_progress(struct progress *p, const struct delivery_summary *s, bool final)
{
    int64_t done = s->delivered + s->quarantined + s->missing, now = clock_mono_ms();
    int width = 30, fill;
    char need[48] = "";

    if (s->attention)
        snprintf(need, sizeof(need), " (%lld need a person)", (long long)s->attention);
    if (!p->tty) {
        bool changed = s->delivered != p->printed[0] || s->failed_attempts != p->printed[1];
        if ((final && changed) || now - p->last_print_mono >= 2000 || done == p->total) {
            printf("sync: %lld/%lld delivered, %lld failed attempts%s\n", (long long)s->delivered,
                   (long long)p->total, (long long)s->failed_attempts, need);
            fflush(stdout);
            p->last_print_mono = now;
            p->printed[0] = s->delivered;
            p->printed[1] = s->failed_attempts;
        }
        return;
    }
    fill = p->total ? (int)(done * width / p->total) : width;
    if (fill > width)
        fill = width;
    printf("\r[%.*s%*s] %lld/%lld delivered  %lld failed attempts%s ", fill,
           "##############################", width - fill, "", (long long)s->delivered,
           (long long)p->total, (long long)s->failed_attempts, need);
    fflush(stdout);
}

static void on_progress(void *ctx, const struct delivery_summary *s)
{
    show_progress(ctx, s, false);
}

static volatile sig_atomic_t got_signal;
static atomic_bool stop_flag;

/* An agent starting on the state directory wins: this thread watches for it
 * (lock_wanted) and makes the sync step aside. */
struct watch {
    const char *state_dir;
    struct delivery *d;
    atomic_bool yield, done;
};

static void *watch_agent(void *arg)
{
    struct watch *w = arg;
    const struct timespec pause = {.tv_nsec = 200 * 1000000L};

    while (!atomic_load(&w->done)) {
        if (lock_wanted(w->state_dir)) {
            atomic_store(&w->yield, true);
            delivery_wakeup(w->d);
            break;
        }
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void on_signal(int sig)
{
    got_signal = sig;
    atomic_store(&stop_flag, true);
}

static int sync_now(struct cli_state *st, const char *camera, int64_t wait_ms)
{
    struct delivery *d = NULL;
    struct delivery_summary sum;
    struct progress p = {.tty = isatty(STDOUT_FILENO)};
    struct watch w = {.state_dir = st->cfg->general.state_dir};
    struct delivery_opts o = {.camera = camera, .sync = true, .wait_ms = wait_ms,
                              .stop = &stop_flag, .yield = &w.yield, .progress = on_progress,
                              .ctx = &p};
    pthread_t watcher;
    bool watching;
    int64_t files = 0, bytes = 0;
    char err[256], size[32], shown[1024];

    if (delivery_new(st->cfg, st->store, st->spool, &d, err, sizeof(err))) {
        fprintf(stderr, "camsnap: sync: %s\n", err);
        return EXIT_USAGE;
    }
    store_backlog(st->store, camera, &p.total, &bytes);
    printf("sync: %lld still(s) waiting (%s)\n", (long long)p.total,
           units_format_size(bytes, size, sizeof(size)));
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    w.d = d;
    watching = pthread_create(&watcher, NULL, watch_agent, &w) == 0;
    delivery_run(d, &o, &sum);
    atomic_store(&w.done, true);
    if (watching)
        pthread_join(watcher, NULL);
    delivery_free(d);
    show_progress(&p, &sum, true);
    if (p.tty)
        printf("\n");
    store_backlog(st->store, camera, &files, &bytes);
    printf("sync: %lld delivered (%s sent, %lld already there), %lld failed attempt(s), "
           "%lld quarantined, %lld missing; %lld still waiting\n",
           (long long)sum.delivered, units_format_size(sum.bytes, size, sizeof(size)),
           (long long)sum.already_there, (long long)sum.failed_attempts,
           (long long)sum.quarantined, (long long)sum.missing, (long long)files);
    if (sum.unverified)
        printf("sync: %lld unverified: delivered, but an object of the same name was already "
               "there and the key cannot read it back: it may be another agent's still (see "
               "the log); set [upload] object_name = digest\n",
               (long long)sum.unverified);
    if (sum.last_error[0])
        printf("sync: last error: %s\n", log_escape(sum.last_error, shown, sizeof(shown)));
    cli_print_attention(st->store, camera, "sync: ", stdout);
    if (sum.interrupted && !atomic_load(&w.yield))
        printf("sync: %lld interrupted at the --wait deadline: left for the next run (safe to "
               "redo)\n",
               (long long)sum.interrupted);
    if (got_signal)
        printf("sync: interrupted; what was in flight is safe to redo\n");
    if (atomic_load(&w.yield))
        printf("sync: stopped for the agent starting on %s (it delivers the rest)\n",
               st->cfg->general.state_dir);
    return files || sum.quarantined ? EXIT_PARTIAL : EXIT_OK_;
}

int cmd_sync(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"camera", required_argument, NULL, 'C'},
        {"wait", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *camera = NULL;
    int64_t wait_ms = 0;
    struct cli_state st;
    int c, ex;

    while ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
        switch (c) {
        case 'C': camera = optarg; break;
        case 'w':
            if ((ex = cli_duration(cli, "--wait", optarg, "m", &wait_ms)))
                return ex;
            break;
        case 'h': return cli_help(usage);
        default: return EXIT_USAGE;
        }
    }
    if ((ex = cli_no_operands(cli, argc, argv)))
        return ex;
    if ((ex = cli_open_state(cli, CLI_EXCLUSIVE, &st)))
        return ex;
    if (st.cfg->upload.backend == UPLOAD_NONE) {
        ex = cli_usage_error(cli, "[upload] backend = none in %s: nothing to deliver to",
                             st.cfg->path);
    } else if (camera && !config_camera(st.cfg, camera)) {
        ex = cli_no_camera(cli, st.cfg, camera);
    } else {
        ex = sync_now(&st, camera, wait_ms);
    }
    cli_close_state(&st);
    return ex;
}
