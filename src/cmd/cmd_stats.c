/* cmd_stats.c - `camsnap stats [--json]`: what the tracking database says. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "units.h"

static const char usage[] =
    "usage: camsnap [-c FILE] stats [--json]\n"
    "\n"
    "What needs a person first (a refused key, a missing bucket or table,\n"
    "row-level security: the stills waiting on it and what to do), then counts\n"
    "of stills per status and camera, the delivery success rate, the local\n"
    "queue (files and bytes waiting for delivery), the oldest pending still,\n"
    "each camera's failure streak and last error, and the free space.\n"
    "Only reads: takes no lock, creates and changes nothing.\n"
    "\n"
    "  --json       machine-readable output (one JSON object)\n"
    "  -h, --help   this help\n"
    "\n"
    "Exit status: 0 ok, 2 configuration error, 3 no camsnap state in the state\n"
    "directory, or the database is unusable.\n";

static double success_rate(const int64_t *count)
{
    int64_t done = count[STILL_SUCCESS];
    int64_t all = done + count[STILL_PENDING] + count[STILL_FAILED] + count[STILL_MISSING] +
                  count[STILL_QUARANTINED];

    return all ? 100.0 * (double)done / (double)all : 0.0;
}

static json_t *counts_json(const int64_t *count)
{
    json_t *o = json_object();

    for (int s = 0; s < STILL__COUNT; s++)
        json_object_set_new(o, store_status_name((enum still_status)s), json_integer(count[s]));
    return o;
}

/* Error texts come from cameras and servers: shown escaped (as in the log),
 * so that they can neither break a line nor drive a terminal, and are
 * always valid UTF-8 for JSON. NULL for "". */
static json_t *text_json(const char *text)
{
    char buf[1024];

    return text[0] ? json_string(log_escape(text, buf, sizeof(buf))) : json_null();
}

static json_t *time_json(int64_t ms)
{
    char iso[40];

    return ms ? json_string(clock_format_iso(ms, 0, iso, sizeof(iso))) : json_null();
}

/* The failures that need a person, most stills first (at most 20 kinds). */
static json_t *attention_json(struct store *st)
{
    struct store_attention a[20];
    json_t *arr = json_array();
    size_t n = 0;
    int64_t stills;

    if (store_attention(st, NULL, a, sizeof(a) / sizeof(a[0]), &n, &stills))
        return json_null();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "error", text_json(a[i].message));
        json_object_set_new(o, "stills", json_integer(a[i].stills));
        json_object_set_new(o, "cameras", json_integer(a[i].cameras));
        json_object_set_new(o, "camera", json_string(a[i].camera));
        json_array_append_new(arr, o);
    }
    return arr;
}

static void print_json(const struct cli_state *st, const struct store_stats *s)
{
    json_t *root = json_object(), *cams = json_array();
    int64_t disk;
    bool full;

    json_object_set_new(root, "state_dir", json_string(st->cfg->general.state_dir));
    json_object_set_new(root, "total", json_integer(s->total));
    json_object_set_new(root, "by_status", counts_json(s->count));
    json_object_set_new(root, "success_rate", json_real(success_rate(s->count)));
    json_object_set_new(root, "queue_files", json_integer(s->queue_files));
    json_object_set_new(root, "queue_bytes", json_integer(s->queue_bytes));
    json_object_set_new(root, "oldest_pending", time_json(s->oldest_pending_ms));
    json_object_set_new(root, "capture_failures", json_integer(s->capture_failures));
    disk = cli_disk_free(st->cfg, &full);
    json_object_set_new(root, "disk_free_bytes", disk >= 0 ? json_integer(disk) : json_null());
    json_object_set_new(root, "disk_full", json_boolean(full));
    json_object_set_new(root, "unverified", json_integer(s->unverified));
    json_object_set_new(root, "needs_a_person", attention_json(st->store));
    for (size_t i = 0; i < s->n_cameras; i++) {
        const struct store_camera_stats *c = &s->cameras[i];
        json_t *o = json_object();
        json_object_set_new(o, "camera", json_string(c->camera_name));
        json_object_set_new(o, "by_status", counts_json(c->count));
        json_object_set_new(o, "success_rate", json_real(success_rate(c->count)));
        json_object_set_new(o, "queue_bytes", json_integer(c->pending_bytes));
        json_object_set_new(o, "oldest_pending", time_json(c->oldest_pending_ms));
        json_object_set_new(o, "consecutive_failures", json_integer(c->consecutive_failures));
        json_object_set_new(o, "unverified", json_integer(c->unverified));
        json_object_set_new(o, "last_error", text_json(c->last_error));
        json_object_set_new(o, "last_upload_error", text_json(c->last_upload_error));
        json_object_set_new(o, "last_success", time_json(c->last_success_ms));
        json_array_append_new(cams, o);
    }
    json_object_set_new(root, "cameras", cams);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(root);
}

static void print_disk(const struct cli_state *st)
{
    char size[32];
    bool full;
    int64_t disk = cli_disk_free(st->cfg, &full);

    if (disk < 0)
        return;
    printf("disk: %s free%s\n", units_format_size(disk, size, sizeof(size)),
           full ? " - DISK FULL: no still can be saved; free some space under the state "
                  "directory"
                : "");
}

static void print_text(const struct cli_state *st, const struct store_stats *s)
{
    char size[32], dur[32], iso[40], err[1024];
    int64_t now = clock_wall_ms();

    printf("state directory: %s\n", st->cfg->general.state_dir);
    if (cli_print_attention(st->store, NULL, "", stdout))
        printf("\n");
    printf("stills: %lld recorded\n", (long long)s->total);
    for (int i = 0; i < STILL__COUNT; i++)
        printf("  %-12s %8lld\n", store_status_name((enum still_status)i), (long long)s->count[i]);
    printf("success rate: %.1f%% (%lld delivered)\n", success_rate(s->count),
           (long long)s->count[STILL_SUCCESS]);
    printf("queue: %lld file(s), %s\n", (long long)s->queue_files,
           units_format_size(s->queue_bytes, size, sizeof(size)));
    if (s->oldest_pending_ms)
        printf("oldest pending: %s (%s ago)\n",
               clock_format_iso(s->oldest_pending_ms, 0, iso, sizeof(iso)),
               units_format_duration((now - s->oldest_pending_ms) / 1000 * 1000, dur,
                                     sizeof(dur)));
    printf("capture failures recorded: %lld\n", (long long)s->capture_failures);
    print_disk(st);
    if (s->unverified)
        printf("UNVERIFIED: %lld delivered still(s) met an object of the same name that the "
               "key cannot read back: each may be another agent's (see the log); set [upload] "
               "object_name = digest\n",
               (long long)s->unverified);
    printf("\n");
    printf("%-16s %8s %8s %7s %8s %6s %10s %6s  %s\n", "CAMERA", "PENDING", "SUCCESS", "FAILED",
           "MISSING", "QUAR.", "QUEUE", "FAILS", "LAST ERROR");
    for (size_t i = 0; i < s->n_cameras; i++) {
        const struct store_camera_stats *c = &s->cameras[i];
        printf("%-16s %8lld %8lld %7lld %8lld %6lld %10s %6lld  %s\n", c->camera_name,
               (long long)c->count[STILL_PENDING], (long long)c->count[STILL_SUCCESS],
               (long long)c->count[STILL_FAILED], (long long)c->count[STILL_MISSING],
               (long long)c->count[STILL_QUARANTINED],
               units_format_size(c->pending_bytes, size, sizeof(size)),
               (long long)c->consecutive_failures,
               log_escape(c->last_error[0] ? c->last_error
                                           : (c->last_upload_error[0] ? c->last_upload_error : "-"),
                          err, sizeof(err)));
    }
}

int cmd_stats(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct store_stats s;
    struct cli_state st;
    bool json = false;
    int c, ex;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') {
            json = true;
        } else {
            return cli_usage(usage, c == 'h');
        }
    }
    if (optind != argc)
        return cli_usage(usage, false);
    if ((ex = cli_open_state(cli, CLI_READONLY, &st)))
        return ex;
    if (store_stats(st.store, &s)) {
        fprintf(stderr, "camsnap: cannot read statistics: %s\n", store_last_error(st.store));
        ex = EXIT_RUNTIME;
    } else {
        if (json)
            print_json(&st, &s);
        else
            print_text(&st, &s);
        store_stats_cleanup(&s);
    }
    cli_close_state(&st);
    return ex;
}
