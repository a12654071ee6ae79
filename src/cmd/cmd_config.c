/* cmd_config.c - `camsnap config check|sample|reference`. */
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
    "Exit status: 0 valid, 2 invalid (each error names FILE:LINE and the key).\n";

int cmd_config(const struct cli *cli, int argc, char **argv)
{
    struct config *cfg;
    int ex;

    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage, argc == 2 ? stdout : stderr);
        return argc == 2 ? EXIT_OK_ : EXIT_USAGE;
    }
    if (!strcmp(argv[1], "sample")) {
        config_print_sample(stdout);
        return EXIT_OK_;
    }
    if (!strcmp(argv[1], "man")) {
        config_print_man(stdout);
        return EXIT_OK_;
    }
    if (!strcmp(argv[1], "reference")) {
        config_print_reference(stdout);
        return EXIT_OK_;
    }
    if (strcmp(argv[1], "check")) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if ((ex = cli_load_config(cli, &cfg)))
        return ex;
    config_print_effective(cfg, stdout);
    fprintf(stderr, "camsnap: %s is valid (%zu camera(s))\n", cfg->path ? cfg->path : "config",
            cfg->n_cameras);
    config_free(cfg);
    return EXIT_OK_;
}
