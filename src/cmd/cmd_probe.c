/* cmd_probe.c - `camsnap probe [NAME...] [--json]`: diagnose cameras. */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "probe.h"

static const char usage[] =
    "usage: camsnap [-c FILE] probe [NAME...] [--json]\n"
    "\n"
    "Checks each camera (all, or those named) and says in plain words what is\n"
    "wrong: whether the host answers on its port (TCP connect time), what the\n"
    "RTSP server (OPTIONS) or HTTP server answers, the codec and resolution it\n"
    "sends, the keyframe interval, and how long a first clean still takes.\n"
    "After a first still of an RTSP camera it waits, up to the camera's timeout,\n"
    "for the next keyframe: a keyframe interval longer than the timeout is a\n"
    "warning even when the first still was lucky. It also says how the stream\n"
    "arrives (RTP over TCP or UDP, MPEG-TS, intra refresh, an MJPEG stream) and\n"
    "whether packets were lost. Nothing is written to the spool or the database.\n"
    "\n"
    "  --json       machine-readable output (an array, one object per camera)\n"
    "  -h, --help   this help\n"
    "\n"
    "Exit status: 0 every camera gave a still, 1 at least one did not,\n"
    "2 usage or configuration error.\n";

struct probe_run {
    const struct camera_config **cams;
    struct probe_result *res;
    size_t n;
    atomic_size_t next;
};

static void *probe_worker(void *arg)
{
    struct probe_run *pr = arg;
    size_t i;

    while ((i = atomic_fetch_add(&pr->next, 1)) < pr->n)
        probe_camera(pr->cams[i], &pr->res[i]);
    return NULL;
}

static void print_text(const struct probe_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct probe_result *r = &res[i];
        char url[512], esc[2048];
        printf("camera %s  %s\n", r->cam->name, redact_url(r->cam->url, url, sizeof(url)));
        if (r->port)
            printf("  tcp %s:%d     %s", r->host, r->port,
                   r->tcp_rc ? cs_strerror(r->tcp_rc) : "connected");
        if (r->port)
            printf(" (%lld ms)\n", (long long)r->tcp_ms);
        if (r->answer[0])
            printf("  answer        %s\n", log_escape(r->answer, esc, sizeof(esc)));
        if (r->codec[0] && r->width > 0)
            printf("  stream        %s %dx%d%s\n", r->codec, r->width, r->height,
                   r->mismatch ? " (not the expected size)" : "");
        else if (r->codec[0])
            printf("  stream        %s (size not known yet)\n", r->codec);
        if (r->info.transport[0])
            printf("  transport     RTP over %s%s\n", r->info.transport,
                   r->info.tcp_refused ? " (the camera refuses TCP)" : "");
        if (r->keyframe_interval_ms)
            printf("  keyframes     every %lld ms\n", (long long)r->keyframe_interval_ms);
        else if (r->keyframe_too_rare)
            printf("  keyframes     none within %lld ms after the first\n",
                   (long long)r->cam->deadline_ms);
        if (!r->tcp_rc)
            printf("  still         %s in %lld ms (set-up %lld ms)\n", r->rc ? "FAILED" : "ok",
                   (long long)r->still_ms, (long long)r->open_ms);
        printf("  diagnosis     %s\n\n", log_escape(r->diagnosis, esc, sizeof(esc)));
    }
}

static void print_json(const struct probe_result *res, size_t n)
{
    json_t *arr = json_array();
    char url[512];

    for (size_t i = 0; i < n; i++) {
        const struct probe_result *r = &res[i];
        json_t *o = json_object();
        json_object_set_new(o, "camera", json_string(r->cam->name));
        json_object_set_new(o, "url", json_string(redact_url(r->cam->url, url, sizeof(url))));
        json_object_set_new(o, "ok", json_boolean(r->rc == CS_OK));
        json_object_set_new(o, "host", r->port ? json_string(r->host) : json_null());
        json_object_set_new(o, "port", r->port ? json_integer(r->port) : json_null());
        json_object_set_new(o, "tcp", r->port ? json_string(r->tcp_rc ? cs_strerror(r->tcp_rc)
                                                                       : "connected")
                                              : json_null());
        json_object_set_new(o, "tcp_connect_ms", r->tcp_ms >= 0 ? json_integer(r->tcp_ms)
                                                                : json_null());
        json_object_set_new(o, "answer", r->answer[0] ? json_string(r->answer) : json_null());
        json_object_set_new(o, "codec", r->codec[0] ? json_string(r->codec) : json_null());
        /* Unknown values are null, never 0. */
        json_object_set_new(o, "width", r->width > 0 ? json_integer(r->width) : json_null());
        json_object_set_new(o, "height", r->height > 0 ? json_integer(r->height) : json_null());
        json_object_set_new(o, "resolution_mismatch", json_boolean(r->mismatch));
        json_object_set_new(o, "keyframe_interval_ms", r->keyframe_interval_ms > 0
                                                           ? json_integer(r->keyframe_interval_ms)
                                                           : json_null());
        json_object_set_new(o, "keyframe_interval_over_timeout",
                            json_boolean(r->keyframe_too_rare ||
                                         r->keyframe_interval_ms > r->cam->deadline_ms));
        json_object_set_new(o, "transport", r->info.transport[0] ? json_string(r->info.transport)
                                                                 : json_null());
        json_object_set_new(o, "tcp_refused", json_boolean(r->info.tcp_refused));
        json_object_set_new(o, "mpegts", json_boolean(r->info.mpegts));
        json_object_set_new(o, "mjpeg_stream", json_boolean(r->info.multipart));
        json_object_set_new(o, "intra_refresh",
                            json_boolean(r->info.recovery_points && !r->info.idr_seen));
        json_object_set_new(o, "rtp_losses", json_integer(r->info.losses));
        json_object_set_new(o, "notes", r->notes[0] ? json_string(r->notes) : json_null());
        json_object_set_new(o, "setup_ms", r->port && r->tcp_rc ? json_null()
                                                                : json_integer(r->open_ms));
        json_object_set_new(o, "still_ms", r->rc ? json_null() : json_integer(r->still_ms));
        json_object_set_new(o, "error", r->rc ? json_string(r->error) : json_null());
        json_object_set_new(o, "error_kind", r->rc ? json_string(cs_strerror(r->rc)) : json_null());
        json_object_set_new(o, "diagnosis", json_string(r->diagnosis));
        json_array_append_new(arr, o);
    }
    json_dumpf(arr, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(arr);
}

static int probe_all(const struct cli *cli, const struct config *cfg, char **names,
                     size_t n_names, bool json)
{
    struct probe_run pr = {0};
    pthread_t tids[16];
    size_t nt = 0, failed = 0;
    int ex = EXIT_OK_;

    pr.cams = calloc(cfg->n_cameras + n_names + 1, sizeof(*pr.cams)); /* a name may repeat */
    pr.res = calloc(cfg->n_cameras + n_names + 1, sizeof(*pr.res));
    if (!pr.cams || !pr.res) {
        ex = EXIT_RUNTIME;
        goto out;
    }
    for (size_t i = 0; i < n_names; i++) {
        if (!(pr.cams[pr.n++] = config_camera(cfg, names[i]))) {
            ex = cli_no_camera(cli, cfg, names[i]);
            goto out;
        }
    }
    for (size_t i = 0; !n_names && i < cfg->n_cameras; i++)
        pr.cams[pr.n++] = &cfg->cameras[i];
    atomic_init(&pr.next, 0);
    while (nt < pr.n && nt < sizeof(tids) / sizeof(tids[0]) &&
           pthread_create(&tids[nt], NULL, probe_worker, &pr) == 0)
        nt++;
    if (!nt)
        probe_worker(&pr);
    for (size_t i = 0; i < nt; i++)
        pthread_join(tids[i], NULL);
    (json ? print_json : print_text)(pr.res, pr.n);
    for (size_t i = 0; i < pr.n; i++)
        failed += pr.res[i].rc != CS_OK;
    ex = failed ? EXIT_PARTIAL : EXIT_OK_;
out:
    free(pr.cams);
    free(pr.res);
    return ex;
}

int cmd_probe(struct cli *cli, int argc, char **argv)
{
    struct config *cfg;
    bool json;
    int ex;

    if ((ex = cli_json_options(cli, argc, argv, usage, &json)) >= 0)
        return ex;
    if ((ex = cli_load_config(cli, &cfg)))
        return ex;
    cli_setup_logging(cli, cfg, false);
    ex = probe_all(cli, cfg, argv + optind, (size_t)(argc - optind), json);
    config_free(cfg);
    return ex;
}
