/* cmd_status.c - `camsnap status [--json]`: is an agent running, when was the
 * last round, what is waiting, is it inside the window, when is the agent's
 * next round. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "lock.h"
#include "schedule.h"
#include "units.h"

/* The version of `status --json`: raised when a key changes meaning or goes
 * away (a new key does not raise it). */
#define STATUS_SCHEMA_VERSION 1

static const char usage[] =
    "usage: camsnap [-c FILE] status [--json]\n"
    "\n"
    "Says whether an agent (camsnap run) is running on the state directory and\n"
    "its PID (or which other camsnap command holds the directory), when the\n"
    "last round was, what waits for delivery, whether now is inside the capture\n"
    "window, when the agent's next round is due, and whether the disk is full.\n"
    "Only reads: takes no lock, creates and changes nothing.\n"
    "\n"
    "  --json       machine-readable output (one JSON object, keys in a fixed\n"
    "               order, \"schema_version\": 1; see camsnap(1))\n"
    "  -h, --help   this help\n"
    "\n"
    "Exit status: 0 an agent is running, 1 no agent is running, 2 usage or\n"
    "configuration error, 3 no camsnap state in the state directory, or the\n"
    "database is unusable.\n";

struct status {
    pid_t holder;        /* who holds the state directory's lock (0: nobody) */
    char role[16];       /* its command: "run" (an agent), "sync", "cleanup" */
    bool agent;
    int64_t last_ms, next_ms, files, bytes, oldest_ms, now, disk;
    bool inside, disk_full;
};

static json_t *when_json(int64_t ms)
{
    char iso[40];

    return ms ? json_string(clock_format_iso(ms, 0, iso, sizeof(iso))) : json_null();
}

static json_t *status_json(const struct cli_state *st, const struct status *s)
{
    json_t *o = json_object();

    json_object_set_new(o, "schema_version", json_integer(STATUS_SCHEMA_VERSION));
    json_object_set_new(o, "state_dir", json_string(st->cfg->general.state_dir));
    json_object_set_new(o, "agent_running", json_boolean(s->agent));
    json_object_set_new(o, "agent_pid", s->agent ? json_integer(s->holder) : json_null());
    json_object_set_new(o, "lock_holder_pid", s->holder ? json_integer(s->holder) : json_null());
    json_object_set_new(o, "lock_holder_command",
                        s->holder && s->role[0] ? json_string(s->role) : json_null());
    json_object_set_new(o, "last_round", when_json(s->last_ms));
    json_object_set_new(o, "next_round", when_json(s->agent ? s->next_ms : 0));
    json_object_set_new(o, "inside_window", json_boolean(s->inside));
    json_object_set_new(o, "waiting_stills", json_integer(s->files));
    json_object_set_new(o, "waiting_bytes", json_integer(s->bytes));
    json_object_set_new(o, "oldest_waiting_capture", when_json(s->oldest_ms));
    json_object_set_new(o, "disk_free_bytes", s->disk >= 0 ? json_integer(s->disk) : json_null());
    json_object_set_new(o, "disk_full", json_boolean(s->disk_full));
    return o;
}

static void print_agent(const struct status *s)
{
    if (s->agent)
        printf("agent:        running (pid %ld)\n", (long)s->holder);
    else if (s->holder)
        printf("agent:        not running (camsnap %s, pid %ld, holds the state directory)\n",
               s->role, (long)s->holder);
    else
        printf("agent:        not running\n");
}

static void print_next(const struct status *s)
{
    char iso[40], dur[32];

    if (!s->agent)
        printf("next round:   none: no agent is running (systemctl start camsnap, or camsnap "
               "run)\n");
    else if (!s->next_ms)
        printf("next round:   none (the window never opens)\n");
    else
        printf("next round:   %s (in %s)\n", clock_format_iso(s->next_ms, 0, iso, sizeof(iso)),
               units_format_duration((s->next_ms - s->now + 999) / 1000 * 1000, dur,
                                     sizeof(dur)));
}

static void print(const struct cli_state *st, const struct status *s, bool json)
{
    const struct config_general *g = &st->cfg->general;
    char iso[40], size[32], when[96];

    if (json) {
        json_t *o = status_json(st, s);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
        return;
    }
    print_agent(s);
    printf("state:        %s\n", g->state_dir);
    printf("last round:   %s\n",
           s->last_ms ? clock_format_iso(s->last_ms, 0, iso, sizeof(iso)) : "never");
    printf("waiting:      %lld still(s), %s", (long long)s->files,
           units_format_size(s->bytes, size, sizeof(size)));
    if (s->oldest_ms)
        printf(", the oldest captured %s", clock_format_iso(s->oldest_ms, 0, iso, sizeof(iso)));
    printf("\n");
    if (s->disk >= 0)
        printf("disk:         %s free%s\n", units_format_size(s->disk, size, sizeof(size)),
               s->disk_full ? " - DISK FULL: no still can be saved" : "");
    printf("window:       %s%s%s%s: %s now\n",
           schedule_describe(&g->window, g->days, when, sizeof(when)), g->timezone ? " (" : "",
           g->timezone ? g->timezone : "", g->timezone ? ")" : "",
           s->inside ? "inside" : "outside");
    print_next(s);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
    struct cli_state st;
    struct status s = {0};
    bool json;
    int ex;

    if ((ex = cli_json_options(cli, argc, argv, usage, &json)) >= 0 ||
        (ex = cli_no_operands(cli, argc, argv)))
        return ex;
    if ((ex = cli_open_state(cli, CLI_READONLY, &st)))
        return ex;
    const struct config_general *g = &st.cfg->general;
    s.now = clock_wall_ms();
    s.holder = lock_holder_role(g->state_dir, s.role);
    /* An agent writes "run"; a holder that wrote no role is taken for one. */
    s.agent = s.holder > 0 && (!strcmp(s.role, "run") || !s.role[0]);
    s.disk = cli_disk_free(st.cfg, &s.disk_full);
    s.inside = schedule_in_window(&g->window, g->days, s.now);
    s.next_ms = schedule_next_round(&g->window, g->days, g->interval_ms, s.now);
    if (store_last_capture(st.store, &s.last_ms) ||
        store_backlog_oldest(st.store, NULL, &s.files, &s.bytes, &s.oldest_ms)) {
        fprintf(stderr, "camsnap: status: %s\n", store_last_error(st.store));
        ex = EXIT_RUNTIME;
    } else {
        print(&st, &s, json);
        ex = s.agent ? EXIT_OK_ : EXIT_PARTIAL;
    }
    cli_close_state(&st);
    return ex;
}
