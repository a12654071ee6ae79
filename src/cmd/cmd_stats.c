/* cmd_stats.c - `camsnap stats [--json]`: what the tracking database says. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "units.h"

/* The version of `stats --json`: raised when a key changes meaning or goes
 * away (a new key does not raise it). */
#define STATS_SCHEMA_VERSION 1
#define STATS_SCHEMA_VERSION_TEXT "1"

static const char usage[] =
    "usage: camsnap [-c FILE] stats [--json]\n"
    "\n"
    "What needs a person first (a refused key, a missing bucket or table,\n"
    "row-level security: the stills waiting on it and what to do), then the\n"
    "stills per status and camera, the delivery success rate, what waits for\n"
    "delivery (stills, bytes, the oldest), missed captures, and the free space.\n"
    "Two words for two failures: a delivery attempt that FAILED (the still\n"
    "waits and is tried again), and a capture that was MISSED (a round in\n"
    "which a camera gave no still).\n"
    "Delivery success rate = delivered / (delivered + failed attempts): only\n"
    "stills delivery has tried count, never those still pending.\n"
    "Only reads: takes no lock, creates and changes nothing.\n"
    "\n"
    "  --json       machine-readable output (one JSON object, keys in a fixed\n"
    "               order, \"schema_version\": " STATS_SCHEMA_VERSION_TEXT "; see camsnap(1))\n"
    "  -h, --help   this help\n"
    "\n"
    "Exit status: 0 ok, 2 usage or configuration error, 3 no camsnap state in\n"
    "the state directory, or the database is unusable.\n";

/* The delivery success rate in percent (one decimal), or -1 when delivery
 * has tried nothing yet. */
static double success_rate(int64_t delivered, int64_t failed_attempts)
{
    int64_t tried = delivered + failed_attempts;

    return tried ? (double)(delivered * 1000 / tried) / 10.0 : -1.0;
}

static json_t *rate_json(int64_t delivered, int64_t failed_attempts)
{
    double r = success_rate(delivered, failed_attempts);

    return r < 0 ? json_null() : json_real(r);
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

/* One camera's object; keys in the order camsnap(1) lists them (a new key
 * goes at the end). */
static json_t *camera_json(const struct store_camera_stats *c)
{
    json_t *o = json_object();

    json_object_set_new(o, "camera", json_string(c->camera_name));
    json_object_set_new(o, "by_status", counts_json(c->count));
    json_object_set_new(o, "failed_delivery_attempts", json_integer(c->failed_attempts));
    json_object_set_new(o, "delivery_success_percent",
                        rate_json(c->count[STILL_SUCCESS], c->failed_attempts));
    json_object_set_new(o, "waiting_bytes", json_integer(c->pending_bytes));
    json_object_set_new(o, "oldest_waiting_capture", time_json(c->oldest_pending_ms));
    json_object_set_new(o, "unverified", json_integer(c->unverified));
    json_object_set_new(o, "last_delivery_error", text_json(c->last_upload_error));
    json_object_set_new(o, "missed_captures_in_a_row", json_integer(c->consecutive_failures));
    json_object_set_new(o, "last_capture_error", text_json(c->last_error));
    json_object_set_new(o, "last_still_captured", time_json(c->last_success_ms));
    return o;
}

/* The whole object; keys in the order camsnap(1) lists them (a new key goes
 * before "cameras"). */
static json_t *stats_json(const struct cli_state *st, const struct store_stats *s)
{
    json_t *root = json_object(), *cams = json_array();
    int64_t disk;
    bool full;

    json_object_set_new(root, "schema_version", json_integer(STATS_SCHEMA_VERSION));
    json_object_set_new(root, "state_dir", json_string(st->cfg->general.state_dir));
    json_object_set_new(root, "stills_recorded", json_integer(s->total));
    json_object_set_new(root, "by_status", counts_json(s->count));
    json_object_set_new(root, "failed_delivery_attempts", json_integer(s->failed_attempts));
    json_object_set_new(root, "delivery_success_percent",
                        rate_json(s->count[STILL_SUCCESS], s->failed_attempts));
    json_object_set_new(root, "waiting_stills", json_integer(s->queue_files));
    json_object_set_new(root, "waiting_bytes", json_integer(s->queue_bytes));
    json_object_set_new(root, "oldest_waiting_capture", time_json(s->oldest_pending_ms));
    json_object_set_new(root, "unverified", json_integer(s->unverified));
    json_object_set_new(root, "needs_a_person", attention_json(st->store));
    json_object_set_new(root, "missed_captures", json_integer(s->capture_failures));
    disk = cli_disk_free(st->cfg, &full);
    json_object_set_new(root, "disk_free_bytes", disk >= 0 ? json_integer(disk) : json_null());
    json_object_set_new(root, "disk_full", json_boolean(full));
    for (size_t i = 0; i < s->n_cameras; i++)
        json_array_append_new(cams, camera_json(&s->cameras[i]));
    json_object_set_new(root, "cameras", cams);
    return root;
}

static void print_json(const struct cli_state *st, const struct store_stats *s)
{
    json_t *root = stats_json(st, s);

    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
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

/* What each status means, beside its count. */
static const char *const status_meaning[STILL__COUNT] = {
    [STILL_PENDING] = "waiting, not tried yet",
    [STILL_SUCCESS] = "delivered",
    [STILL_FAILED] = "waiting, the last delivery attempt failed",
    [STILL_MISSING] = "file gone before delivery",
    [STILL_QUARANTINED] = "kept, never delivered (unreadable, or refused for good)",
};

static void print_rate(const char *prefix, int64_t delivered, int64_t failed)
{
    double r = success_rate(delivered, failed);

    if (r < 0)
        printf("%sdelivery success rate: - (nothing tried yet)\n", prefix);
    else
        printf("%sdelivery success rate: %.1f%% (%lld delivered, %lld failed attempt%s)\n",
               prefix, r, (long long)delivered, (long long)failed, failed == 1 ? "" : "s");
}

/* One camera's line: its counts, what waits, captures missed in a row, and
 * its last error, capture or delivery, said which. */
static void print_camera(const struct store_camera_stats *c)
{
    char size[32], err[1024], rate[16] = "-";
    const char *what = "", *e = "-";
    double r = success_rate(c->count[STILL_SUCCESS], c->failed_attempts);

    if (c->last_error[0]) {
        what = "capture: ";
        e = c->last_error;
    } else if (c->last_upload_error[0]) {
        what = "delivery: ";
        e = c->last_upload_error;
    }
    if (r >= 0)
        snprintf(rate, sizeof(rate), "%.1f%%", r);
    printf("%-16s %8lld %9lld %7lld %7lld %8lld %6s %10s %6lld  %s%s\n", c->camera_name,
           (long long)c->count[STILL_PENDING], (long long)c->count[STILL_SUCCESS],
           (long long)c->count[STILL_FAILED], (long long)c->count[STILL_MISSING],
           (long long)c->count[STILL_QUARANTINED], rate,
           units_format_size(c->pending_bytes, size, sizeof(size)),
           (long long)c->consecutive_failures, what, log_escape(e, err, sizeof(err)));
}

static void print_text(const struct cli_state *st, const struct store_stats *s)
{
    char size[32], dur[32], iso[40];
    int64_t now = clock_wall_ms();

    printf("state directory: %s\n", st->cfg->general.state_dir);
    if (cli_print_attention(st->store, NULL, "", stdout))
        printf("\n");
    printf("stills: %lld recorded\n", (long long)s->total);
    for (int i = 0; i < STILL__COUNT; i++)
        printf("  %-12s %8lld  %s\n", store_status_name((enum still_status)i),
               (long long)s->count[i], status_meaning[i]);
    print_rate("", s->count[STILL_SUCCESS], s->failed_attempts);
    printf("waiting for delivery: %lld still(s), %s", (long long)s->queue_files,
           units_format_size(s->queue_bytes, size, sizeof(size)));
    if (s->oldest_pending_ms)
        printf(", the oldest captured %s (%s ago)",
               clock_format_iso(s->oldest_pending_ms, 0, iso, sizeof(iso)),
               units_format_duration((now - s->oldest_pending_ms) / 1000 * 1000, dur,
                                     sizeof(dur)));
    printf("\nmissed captures: %lld (a round in which a camera gave no still)\n",
           (long long)s->capture_failures);
    print_disk(st);
    if (s->unverified)
        printf("UNVERIFIED: %lld delivered still(s) met an object of the same name that the "
               "key cannot read back: each may be another agent's (see the log); set [upload] "
               "object_name = digest\n",
               (long long)s->unverified);
    printf("\n%-16s %8s %9s %7s %7s %8s %6s %10s %6s  %s\n", "CAMERA", "PENDING", "DELIVERED",
           "FAILED", "MISSING", "QUARANT.", "RATE", "WAITING", "MISSED", "LAST ERROR");
    for (size_t i = 0; i < s->n_cameras; i++)
        print_camera(&s->cameras[i]);
    if (s->n_cameras)
        printf("(FAILED: waiting after a failed delivery attempt; RATE: delivery success rate; "
               "MISSED: captures missed in a row)\n");
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
    struct store_stats s;
    struct cli_state st;
    bool json;
    int ex;

    if ((ex = cli_json_options(cli, argc, argv, usage, &json)) >= 0 ||
        (ex = cli_no_operands(cli, argc, argv)))
        return ex;
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
