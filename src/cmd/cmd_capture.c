/* cmd_capture.c - `camsnap capture --once [--camera NAME]...`: one round now. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "units.h"

static const char usage[] =
    "usage: camsnap [-c FILE] capture --once [--camera NAME]...\n"
    "\n"
    "Captures one round now: every enabled camera (or only those named with\n"
    "--camera) at once. Each still is written to the spool and recorded as\n"
    "pending before anything else happens. Prints one line per camera.\n"
    "\n"
    "  --once           take exactly one round (required; `camsnap run` follows\n"
    "                   the schedule)\n"
    "  --camera NAME    only this camera (repeatable; disabled cameras may be named)\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 every camera gave a still, 1 at least one failed,\n"
    "2 usage or configuration error, 3 state directory or database unusable.\n";

void cli_print_round(const struct capture_result *res, size_t n, FILE *out)
{
    char size[32], res_txt[32], err[1024];

    fprintf(out, "%-16s %-7s %-11s %9s %8s  %s\n", "CAMERA", "RESULT", "RESOLUTION", "SIZE",
            "TIME", "STILL / ERROR");
    for (size_t i = 0; i < n; i++) {
        const struct capture_result *r = &res[i];
        snprintf(res_txt, sizeof(res_txt), "%dx%d%s", r->width, r->height,
                 r->mismatch ? "!" : "");
        fprintf(out, "%-16s %-7s %-11s %9s %6lld ms  %s\n", r->cam->name, r->rc ? "FAILED" : "ok",
                r->rc ? "-" : res_txt, r->rc ? "-" : units_format_size(r->size, size, sizeof(size)),
                (long long)r->elapsed_ms,
                r->rc ? log_escape(r->error, err, sizeof(err)) : r->relpath);
    }
}

/* Selects the cameras of a round: named ones, or every enabled one. */
static int select_cameras(const struct cli *cli, const struct config *cfg, char **names,
                          size_t n_names, const struct camera_config **out, size_t *n_out)
{
    *n_out = 0;
    if (n_names == 0) {
        for (size_t i = 0; i < cfg->n_cameras; i++)
            if (cfg->cameras[i].enabled)
                out[(*n_out)++] = &cfg->cameras[i];
        return EXIT_OK_;
    }
    for (size_t i = 0; i < n_names; i++) {
        const struct camera_config *cam = config_camera(cfg, names[i]);
        if (!cam)
            return cli_no_camera(cli, cfg, names[i]);
        out[(*n_out)++] = cam;
    }
    return EXIT_OK_;
}

static int capture_now(struct cli_state *st, const struct camera_config **cams, size_t n)
{
    struct capture_result *res = calloc(n ? n : 1, sizeof(*res));
    struct capture_env env = {
        .spool = st->spool,
        .store = st->store,
        .jpeg_quality = (int)st->cfg->general.jpeg_quality,
        .workers = (int)st->cfg->general.workers,
        .picture_memory = st->cfg->general.picture_memory,
    };
    size_t failed = 0;

    if (!res)
        return EXIT_RUNTIME;
    capture_round(&env, cams, n, res);
    spool_settle(st->spool); /* every still of the round is recorded (or failed) */
    cli_print_round(res, n, stdout);
    for (size_t i = 0; i < n; i++)
        failed += res[i].rc != CS_OK;
    printf("%zu of %zu camera(s) gave a still\n", n - failed, n);
    free(res);
    return failed ? EXIT_PARTIAL : EXIT_OK_;
}

int cmd_capture(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"once", no_argument, NULL, 'o'},
        {"camera", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    char **names = calloc((size_t)argc, sizeof(*names));
    const struct camera_config **cams = NULL;
    struct cli_state st;
    size_t n_names = 0, n = 0;
    bool once = false;
    int c, ex = EXIT_USAGE;

    if (!names)
        return EXIT_RUNTIME;
    while ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
        if (c == 'o')
            once = true;
        else if (c == 'C')
            names[n_names++] = optarg;
        else {
            ex = c == 'h' ? cli_help(usage) : EXIT_USAGE;
            goto out_free;
        }
    }
    if ((ex = cli_no_operands(cli, argc, argv)))
        goto out_free;
    if (!once) {
        ex = cli_usage_error(cli, "--once is required (camsnap run follows the schedule)");
        goto out_free;
    }
    if ((ex = cli_open_state(cli, CLI_WRITER, &st)))
        goto out_free;
    cams = calloc(st.cfg->n_cameras + 1, sizeof(*cams));
    if (!cams)
        ex = EXIT_RUNTIME;
    else if (!(ex = select_cameras(cli, st.cfg, names, n_names, cams, &n)) && n)
        ex = capture_now(&st, cams, n);
    else if (!ex)
        ex = cli_no_enabled_camera(cli, st.cfg);
    cli_close_state(&st);
out_free:
    free(cams);
    free(names);
    return ex;
}
