/* cmd_alert.c - `camsnap alert test`: one alert through every channel now. */
#include <getopt.h>
#include <stdio.h>

#include "alert.h"
#include "cli.h"

static const char usage[] =
    "usage: camsnap [-c FILE] alert test [--message TEXT]\n"
    "\n"
    "Sends one test alert through every channel of [alert] (webhook_url,\n"
    "smtp_url) now, without the outbox, and prints per channel \"sent\" or what\n"
    "failed: a check of the addresses, the certificates and the login.\n"
    "Touches no state: runs beside an agent.\n"
    "\n"
    "  --message TEXT   the text to send (default: a line naming this command)\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 every channel took it, 1 a channel failed, 2 usage or\n"
    "configuration error (no channel set).\n";

int cmd_alert(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"message", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *text = "This is a test alert sent by `camsnap alert test`.";
    struct config *cfg = NULL;
    enum cs_err rc;
    int c, ex;

    static const char *const actions[] = {"test"};

    while ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
        switch (c) {
        case 'm': text = optarg; break;
        case 'h': return cli_help(usage);
        default: return EXIT_USAGE;
        }
    }
    if ((ex = cli_action(cli, argc, argv, actions, 1)))
        return ex;
    if ((ex = cli_load_config(cli, &cfg)))
        return ex;
    cli_setup_logging(cli, cfg, false);
    rc = alerts_send_test(cfg, text, stdout);
    config_free(cfg);
    return rc == CS_OK ? EXIT_OK_ : rc == CS_CONFIG ? EXIT_USAGE : EXIT_PARTIAL;
}
