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
    "Logs its settings as configured, and outside the window when the first\n"
    "round will be (local time, the configured time zone). Prints one line per\n"
    "round: the stills taken, and what delivery did since the previous line\n"
    "(delivered, failed attempts, still waiting and the oldest one's age).\n"
    "A configuration without an enabled camera is refused (exit 2).\n"
    "\n"
    "  --exit-after-window  when the window closes: drain the backlog (at most\n"
    "                       drain_grace), then exit 0 (for cron; started outside\n"
    "                       the window, it waits for the next one first); without\n"
    "                       it the agent sleeps until the next window (systemd)\n"
    "  --for DURATION       stop after this long, with its unit (30s, 90m, 8h)\n"
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

/* An agent with no camera to capture is a configuration error, said before
 * the state directory is touched. */
static int check_cameras(const struct cli *cli)
{
    struct config *cfg;
    int ex = cli_load_config(cli, &cfg);

    if (!ex && !config_enabled_cameras(cfg))
        ex = cli_no_enabled_camera(cli, cfg);
    config_free(cfg);
    return ex;
}

int cmd_run(struct cli *cli, int argc, char **argv)
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

    while ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
        switch (c) {
        case 'f':
            if ((ex = cli_duration(cli, "--for", optarg, "m", &o.for_ms)))
                return ex;
            if (o.for_ms == 0)
                return cli_usage_error(cli, "--for 0: expected a duration longer than 0");
            break;
        case 'r':
            if (units_parse_int(optarg, 1, INT64_MAX, &o.max_rounds))
                return cli_usage_error(cli, "--rounds \"%s\" is not a whole number from 1",
                                       optarg);
            break;
        case 'x': o.exit_after_window = true; break;
        case 'h': return cli_help(usage);
        default: return EXIT_USAGE;
        }
    }
    if ((ex = cli_no_operands(cli, argc, argv)) || (ex = check_cameras(cli)))
        return ex;
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
