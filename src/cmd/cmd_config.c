/* cmd_config.c - `camsnap config check|sample|reference`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: camsnap [-c FILE] config check | sample | reference | man\n"
    "\n"
    "  check      validate the configuration and print the effective values\n"
    "             (defaults filled in, secrets masked, each with its origin)\n"
    "  sample     print a commented sample configuration with every key\n"
    "  reference  print the key reference as a markdown table\n"
    "  man        print the camsnap.conf(5) manual page (roff)\n"
    "\n"
    "check lists every error in the order of the file's lines, one per cause,\n"
    "each as FILE:LINE: [section] key: what is wrong and what was expected;\n"
    "a configuration without an enabled camera is an error too (nothing to capture).\n"
    "The effective values name their origin: FILE:LINE, default, ${VAR} or --state-dir.\n"
    "\n"
    "Exit status: 0 valid, 2 invalid or usage error.\n";

int cmd_config(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    static const char *const actions[] = {"check", "sample", "reference", "man"};
    struct config *cfg;
    int c, ex;

    /* The global options are applied within cli_getopt: -1 comes after them. */
    if ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1)
        return c == 'h' ? cli_help(usage) : EXIT_USAGE;
    if ((ex = cli_action(cli, argc, argv, actions, sizeof(actions) / sizeof(actions[0]))))
        return ex;
    if (!strcmp(argv[optind], "sample")) {
        config_print_sample(stdout);
        return EXIT_OK_;
    }
    if (!strcmp(argv[optind], "man")) {
        config_print_man(stdout);
        return EXIT_OK_;
    }
    if (!strcmp(argv[optind], "reference")) {
        config_print_reference(stdout);
        return EXIT_OK_;
    }
    if ((ex = cli_load_config(cli, &cfg)))
        return ex;
    if (!config_enabled_cameras(cfg)) {
        ex = cli_no_enabled_camera(cli, cfg);
        config_free(cfg);
        return ex;
    }
    config_print_effective(cfg, stdout);
    fprintf(stderr, "camsnap: %s is valid (%zu of %zu camera(s) enabled)\n",
            cfg->path ? cfg->path : "config", config_enabled_cameras(cfg), cfg->n_cameras);
    config_free(cfg);
    return EXIT_OK_;
}
