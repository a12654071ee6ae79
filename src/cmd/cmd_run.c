/* cmd_run.c - `camsnap run`: option parsing; the agent is agent.c. */
#include <getopt.h>
#include <stdio.h>

#include "agent.h"
#include "alert.h"
#include "cli.h"
#include "log.h"
#include "units.h"

static const char usage[] =
    "usage: camsnap [-c FILE] [--state-dir DIR] run [--exit-after-window]\n"
    "                                              [--for DURATION] [--rounds N]\n"
    "\n"
    "Runs the agent: a capture round every `interval`, aligned to the clock\n"
    "(5m: at :00, :05, ...), inside the daily `window` on the configured `days`,\n"
    "while a delivery thread keeps sending stills (also outside the window).\n"
    "One agent per state directory (a kernel lock; a second one is refused).\n"
    "Prints one line per round.\n"
    "\n"
    "  --exit-after-window  when the window closes: drain the backlog (at most\n"
    "                       drain_grace), then exit 0 (for cron; started outside\n"
    "                       the window, it waits for the next one first); without\n"
    "                       it the agent sleeps until the next window (systemd)\n"
    "  --for DURATION       stop after this long (e.g. 30s)\n"
    "  --rounds N           stop after N rounds\n"
    "  -h, --help           this help\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop after the round in progress (a second one, or\n"
    "stop_grace passing, exits at once - safely); SIGHUP reloads the\n"
    "configuration (an invalid one is refused and the old one kept).\n"
    "\n"
    "Exit status: 0 stopped normally, 1 forced exit, 2 usage or configuration\n"
    "error, 3 state directory or database unusable, 4 another agent is running.\n";

/* After a reload: logging follows the new configuration. */
static void relog(void *ctx, const struct config *cfg)
{
    cli_setup_logging(ctx, cfg, true);
}

int cmd_run(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"for", required_argument, NULL, 'f'},
        {"rounds", required_argument, NULL, 'r'},
        {"exit-after-window", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct agent_opts o = {0};
    struct cli_state st;
    int c, ex;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'f' && units_parse_duration(optarg, &o.for_ms) == CS_OK && o.for_ms > 0)
            continue;
        if (c == 'r' && units_parse_int(optarg, 1, INT64_MAX, &o.max_rounds) == CS_OK)
            continue;
        if (c == 'x') {
            o.exit_after_window = true;
            continue;
        }
        if ((c == 'f' || c == 'r'))
            fprintf(stderr, "camsnap: run: bad value \"%s\"\n", optarg);
        return cli_usage(usage, c == 'h');
    }
    if (optind != argc)
        return cli_usage(usage, false);
    /* Before any thread exists: every thread inherits the blocked set. */
    agent_block_signals();
    if ((ex = cli_open_state(cli, CLI_AGENT, &st)))
        return ex;
    char why[256];
    struct alerts *alerts = NULL;
    if (alerts_open(st.cfg, &alerts, why, sizeof(why)))
        log_errorx(NULL, "alerts and round accounting are off: %s", why);
    struct agent_state as = {.cfg = st.cfg, .spool = st.spool, .store = st.store,
                             .alerts = alerts};
    struct agent_hooks hooks = {.config_path = cli->config_path,
                                .state_dir_override = cli->state_dir,
                                .reconfigured = relog,
                                .ctx = (void *)cli};
    ex = agent_run(&as, &hooks, &o);
    alerts_close(alerts);
    st.cfg = as.cfg; /* a reload replaced it: cli_close_state frees the current one */
    cli_close_state(&st);
    return ex;
}
