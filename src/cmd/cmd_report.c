/* cmd_report.c - `camsnap report`: the account of a period (report.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "report.h"

static const char usage[] =
    "usage: camsnap [-c FILE] report [--hour | --day | --from T [--to T]]\n"
    "                                [--camera NAME] [--json | --csv]\n"
    "\n"
    "Accounts for every round and camera of a period: the rounds the schedule\n"
    "expected (interval, window, days), and per camera how many were captured,\n"
    "failed (by reason: camera, disk, database, image) or missed (agent down: no\n"
    "agent was running; skipped: one was, the round did not run), how many stills\n"
    "carried a data-quality flag, and how many of those captured were delivered\n"
    "or still wait. Times are local ([general] timezone).\n"
    "Only reads: takes no lock, creates and changes nothing.\n"
    "\n"
    "  (no period)      today so far, from local midnight\n"
    "  --hour           the last complete hour\n"
    "  --day            the last complete day (yesterday)\n"
    "  --from T         from T: ISO 8601, 2026-11-26 or 2026-11-26T11:00[:00], in\n"
    "                   the configured time zone unless it ends with an offset\n"
    "                   (+01:00, Z)\n"
    "  --to T           to T, not included (default: now)\n"
    "  --camera NAME    this camera only\n"
    "  --json           one JSON object (with its schema_version)\n"
    "  --csv            CSV: a header line, a line per camera, then TOTAL\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 ok, 2 usage or configuration error, 3 no camsnap state in the\n"
    "state directory, or the database is unusable.\n";

struct report_opts {
    bool hour, day, json, csv;
    const char *from, *to, *camera;
};

/* True to go on; false with *ex the exit status (help, usage error). */
static bool parse(struct cli *cli, int argc, char **argv, struct report_opts *o, int *ex)
{
    static const struct option opts[] = {
        {"hour", no_argument, NULL, 'H'},   {"day", no_argument, NULL, 'D'},
        {"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
        {"camera", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'v'},    {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    while ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
        switch (c) {
        case 'H': o->hour = true; break;
        case 'D': o->day = true; break;
        case 'f': o->from = optarg; break;
        case 't': o->to = optarg; break;
        case 'c': o->camera = optarg; break;
        case 'j': o->json = true; break;
        case 'v': o->csv = true; break;
        case 'h': *ex = cli_help(usage); return false;
        default: *ex = EXIT_USAGE; return false;
        }
    }
    if ((*ex = cli_no_operands(cli, argc, argv)))
        return false;
    *ex = EXIT_USAGE;
    if (o->hour + o->day + (o->from != NULL) > 1 || (o->to && !o->from)) {
        cli_usage_error(cli, "give one period: --hour, --day, or --from T [--to T]");
        return false;
    }
    if (o->json && o->csv) {
        cli_usage_error(cli, "--json or --csv, not both");
        return false;
    }
    return true;
}

/* The period, in the configured time zone (set by cli_open_state). */
static int period(const struct report_opts *o, int64_t now, int64_t *from, int64_t *to)
{
    if (o->hour || o->day) {
        report_last_period(now, o->day, from, to);
        return EXIT_OK_;
    }
    if (!o->from) {
        report_last_period(now, true, from, to); /* yesterday ... */
        *from = *to;                             /* ... ends at today's midnight */
        *to = now;
        return EXIT_OK_;
    }
    if (clock_parse_iso(o->from, from) || (o->to && clock_parse_iso(o->to, to))) {
        fprintf(stderr,
                "camsnap: report: \"%s\" is not a time; expected ISO 8601 such as 2026-11-26 "
                "or 2026-11-26T11:00 (local), or with an offset (2026-11-26T11:00+01:00)\n",
                clock_parse_iso(o->from, from) ? o->from : o->to);
        return EXIT_USAGE;
    }
    if (!o->to)
        *to = now;
    if (*to <= *from) {
        fprintf(stderr, "camsnap: report: --to must be after --from\n");
        return EXIT_USAGE;
    }
    return EXIT_OK_;
}

static int output(const struct report_opts *o, const struct report *r)
{
    char *json;

    if (o->csv) {
        report_print_csv(r, stdout);
    } else if (o->json) {
        if (!(json = report_json(r))) {
            fprintf(stderr, "camsnap: report: out of memory\n");
            return EXIT_RUNTIME;
        }
        printf("%s\n", json);
        free(json);
    } else {
        report_print_text(r, stdout);
    }
    return EXIT_OK_;
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
    struct report_opts o = {0};
    struct report_params p = {0};
    const char **names = NULL;
    struct cli_state st;
    struct report r;
    enum cs_err rc;
    int ex;

    if (!parse(cli, argc, argv, &o, &ex))
        return ex;
    if ((ex = cli_open_state(cli, CLI_READONLY, &st)))
        return ex;
    p.now_ms = clock_wall_ms();
    if ((ex = period(&o, p.now_ms, &p.from_ms, &p.to_ms)))
        goto out;
    ex = EXIT_USAGE;
    if (o.camera && !config_camera(st.cfg, o.camera)) {
        cli_no_camera(cli, st.cfg, o.camera);
        goto out;
    }
    ex = EXIT_RUNTIME;
    if (!(names = calloc(st.cfg->n_cameras + 1, sizeof(*names))))
        goto out;
    for (size_t i = 0; i < st.cfg->n_cameras; i++)
        if (st.cfg->cameras[i].enabled)
            names[p.n_cameras++] = st.cfg->cameras[i].name;
    p.cameras = names;
    p.camera = o.camera;
    p.interval_ms = st.cfg->general.interval_ms;
    p.window = st.cfg->general.window;
    p.days = st.cfg->general.days;
    rc = report_compute(st.store, &p, &r);
    if (rc == CS_TOOBIG) {
        fprintf(stderr, "camsnap: report: the period holds more than %d rounds; ask for a "
                        "shorter one\n", REPORT_MAX_SLOTS);
        ex = EXIT_USAGE;
    } else if (rc) {
        fprintf(stderr, "camsnap: report: cannot read the database: %s\n",
                rc == CS_NOMEM ? "out of memory" : store_last_error(st.store));
    } else {
        ex = output(&o, &r);
        report_free(&r);
    }
out:
    free(names);
    cli_close_state(&st);
    return ex;
}
