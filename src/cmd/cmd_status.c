/* cmd_status.c - `camsnap status [--json]`: is an agent running, when was the
 * last round, what is waiting, is it inside the window, when is the next
 * round. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "lock.h"
#include "schedule.h"
#include "units.h"

static const char usage[] =
    "usage: camsnap [-c FILE] status [--json]\n"
    "\n"
    "Says whether an agent is running on the state directory (the lock holder's\n"
    "PID), when the last round was, how many stills wait for delivery, whether\n"
    "now is inside the capture window, when the next round is due, and whether\n"
    "the disk is full. Only reads: takes no lock, creates and changes nothing.\n"
    "\n"
    "Exit status: 0 an agent is running, 1 none is, 2 configuration error,\n"
    "3 no camsnap state in the state directory, or the database is unusable.\n";

struct status {
    pid_t agent;
    int64_t last_ms, next_ms, files, bytes, now, disk;
    bool inside, disk_full;
};

static json_t *when_json(int64_t ms)
{
    char iso[40];

    return ms ? json_string(clock_format_iso(ms, 0, iso, sizeof(iso))) : json_null();
}

static void print(const struct cli_state *st, const struct status *s, bool json)
{
    char iso[40], size[32], dur[32];

    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "agent_running", json_boolean(s->agent > 0));
        json_object_set_new(o, "agent_pid", s->agent > 0 ? json_integer(s->agent) : json_null());
        json_object_set_new(o, "last_round", when_json(s->last_ms));
        json_object_set_new(o, "waiting_files", json_integer(s->files));
        json_object_set_new(o, "waiting_bytes", json_integer(s->bytes));
        json_object_set_new(o, "inside_window", json_boolean(s->inside));
        json_object_set_new(o, "next_round", when_json(s->next_ms));
        json_object_set_new(o, "state_dir", json_string(st->cfg->general.state_dir));
        json_object_set_new(o, "disk_free_bytes",
                            s->disk >= 0 ? json_integer(s->disk) : json_null());
        json_object_set_new(o, "disk_full", json_boolean(s->disk_full));
        json_dumpf(o, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(o);
        return;
    }
    if (s->agent > 0)
        printf("agent:        running (pid %ld)\n", (long)s->agent);
    else
        printf("agent:        not running\n");
    printf("state:        %s\n", st->cfg->general.state_dir);
    printf("last round:   %s\n",
           s->last_ms ? clock_format_iso(s->last_ms, 0, iso, sizeof(iso)) : "never");
    printf("waiting:      %lld still(s), %s\n", (long long)s->files,
           units_format_size(s->bytes, size, sizeof(size)));
    if (s->disk >= 0)
        printf("disk:         %s free%s\n", units_format_size(s->disk, size, sizeof(size)),
               s->disk_full ? " - DISK FULL: no still can be saved" : "");
    printf("window:       %s now\n", s->inside ? "inside" : "outside");
    if (s->next_ms)
        printf("next round:   %s (in %s)\n", clock_format_iso(s->next_ms, 0, iso, sizeof(iso)),
               units_format_duration((s->next_ms - s->now + 999) / 1000 * 1000, dur,
                                     sizeof(dur)));
    else
        printf("next round:   none (the window never opens)\n");
}

int cmd_status(const struct cli *cli, int argc, char **argv)
{
    struct cli_state st;
    struct status s = {0};
    bool json = argc == 2 && !strcmp(argv[1], "--json");
    int ex;

    if (argc > 2 || (argc == 2 && !json)) {
        bool help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
        return cli_usage(usage, help);
    }
    if ((ex = cli_open_state(cli, CLI_READONLY, &st)))
        return ex;
    const struct config_general *g = &st.cfg->general;
    s.now = clock_wall_ms();
    s.agent = st.lock ? 0 : lock_holder(g->state_dir);
    s.disk = cli_disk_free(st.cfg, &s.disk_full);
    s.inside = schedule_in_window(&g->window, g->days, s.now);
    s.next_ms = schedule_next_round(&g->window, g->days, g->interval_ms, s.now);
    if (store_last_capture(st.store, &s.last_ms) ||
        store_backlog(st.store, NULL, &s.files, &s.bytes)) {
        fprintf(stderr, "camsnap: status: %s\n", store_last_error(st.store));
        ex = EXIT_RUNTIME;
    } else {
        print(&st, &s, json);
        ex = s.agent > 0 ? EXIT_OK_ : EXIT_PARTIAL;
    }
    cli_close_state(&st);
    return ex;
}
