/*
 * main.c - the camsnap command line: global options, the command table,
 * help and version. No business logic: each command lives in cmd_*.c.
 */
#include <getopt.h>
#include <locale.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "alert.h"
#include "backend.h"
#include "source.h"
#include "cli.h"
#include "clock.h"

struct command {
    const char *name;
    int (*fn)(struct cli *cli, int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "run the agent: capture rounds on the schedule"},
    {"capture", cmd_capture, "capture --once [--camera NAME]: one round now, print the result"},
    {"probe", cmd_probe, "probe [NAME...] [--json]: diagnose cameras in plain words"},
    {"sync", cmd_sync, "sync [--camera NAME] [--wait D]: deliver every waiting still now"},
    {"cleanup", cmd_cleanup, "cleanup [--older-than 30d] [--dry-run]: remove delivered stills"},
    {"status", cmd_status, "status [--json]: agent running? (exit 0 yes, 1 no), rounds, backlog"},
    {"stats", cmd_stats, "stats [--json]: stills per status and camera, success rate, waiting"},
    {"report", cmd_report, "report [--hour|--day|--from T --to T] [--json|--csv]: rounds per camera"},
    {"alert", cmd_alert, "alert test: send a test alert through every channel now"},
    {"schedule", cmd_schedule, "schedule install|remove|show [--cron|--systemd]: start on boot"},
    {"config", cmd_config, "config check|sample|reference|man: validate or describe the config"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: camsnap [-c FILE] [--state-dir DIR] [-v|-q] COMMAND [ARGS]\n"
            "\n"
            "camsnap captures a clean still from every IP camera of a site on a schedule,\n"
            "keeps each one safe on local disk first (atomic writes, SQLite tracking) and\n"
            "delivers it exactly once.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Options:\n"
            "  -c, --config FILE   configuration file (default: $CAMSNAP_CONFIG, then\n"
            "                      " CONFIG_DEFAULT_PATH ")\n"
            "      --state-dir DIR override [general] state_dir\n"
            "  -v, --verbose       more log output (repeatable)\n"
            "  -q, --quiet         less log output (errors only)\n"
            "  -h, --help          this help; `camsnap COMMAND --help` for a command\n"
            "  -V, --version       print the version\n"
            "\n"
            "-c, --state-dir, -v and -q may also follow the command (camsnap stats -c FILE).\n"
            "Durations take their unit everywhere (30s, 5m, 2h, 30d; a bare 30 is an error).\n"
            "A usage error is one line saying what was wrong, with the nearest command or\n"
            "option when one is near, and exit status 2.\n"
            "\n"
            "Exit status:\n"
            "  0  success\n"
            "  1  partial failure (a camera failed, stills still pending);\n"
            "     for status: no agent is running\n"
            "  2  usage or configuration error\n"
            "  3  runtime error (state directory, database or disk unusable)\n"
            "  4  another camsnap instance holds the state directory\n"
            "\n"
            "Files: <state_dir>/backup_queue/camera_<name>/<YYYYMMDD>_<HHMMSS>_<W>_<H>.jpg,\n"
            "<state_dir>/capture_tracking.db, <state_dir>/logs/capture_<YYYYMMDD>.log\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"state-dir", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0},
    };
    struct cli cli = {.argv0 = argv[0]};
    const char *words[N_COMMANDS];
    char names[256];
    int c;

    /* `run` turns SIGTERM/SIGINT/SIGHUP into events; block them before
     * anything else so an early signal cannot kill a half-started agent.
     * Other commands get the default dispositions back below. */
    agent_block_signals();
    /* Pictures are large and short-lived: with glibc's default the mmap
     * threshold grows to the size of the first picture freed, after which
     * pictures come from the threads' heaps and their memory is kept (the
     * peak RSS of a round grows by a third, and drifts over rounds). A fixed
     * threshold gives every large buffer back to the system when freed. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    /* The process holds the upload key and camera passwords: no core dump
     * and no ptrace/proc access by other processes of the same user, unless
     * someone debugging asks for it. */
    if (!getenv("CAMSNAP_ALLOW_CORE_DUMPS"))
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    setlocale(LC_CTYPE, "");
    /* Library initialisation is not thread-safe: all of it here, before any
     * thread exists (libcurl is used by the HTTP source and the upload). */
    source_global_init();
    supabase_global_init();
    alerts_global_init();
    if (clock_setup_from_env() != 0) {
        fprintf(stderr, "camsnap: CAMSNAP_TEST_CLOCK is malformed\n");
        return EXIT_USAGE;
    }
    cli.config_path = getenv("CAMSNAP_CONFIG");
    if (!cli.config_path || !*cli.config_path)
        cli.config_path = CONFIG_DEFAULT_PATH;
    /* "+": stop at the command name; its options belong to it (the global
     * ones may also follow it: cli_getopt). ':': a missing value is told
     * apart; errors are ours to print, in one line. */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:c:vqhV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cli.config_path = optarg; break;
        case 's': cli.state_dir = optarg; break;
        case 'v': cli.verbosity++; break;
        case 'q': cli.verbosity = -3; break;
        case 'h': print_help(stdout); return EXIT_OK_;
        case 'V': printf("camsnap %s\n", CAMSNAP_VERSION); return EXIT_OK_;
        default: return cli_option_error(&cli, c, argv, opts);
        }
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        words[i] = commands[i].name;
    if (optind >= argc)
        return cli_usage_error(&cli, "no command given; one of: %s (see camsnap --help)",
                               cli_join(words, N_COMMANDS, names, sizeof(names)));
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[optind], commands[i].name))
            continue;
        cli.command = commands[i].name;
        argv += optind;
        argc -= optind;
        if (commands[i].fn != cmd_run)
            agent_unblock_signals();
        optind = 0; /* 0, not 1: glibc re-initialises (permuting) for the command */
        return commands[i].fn(&cli, argc, argv);
    }
    if (!strcmp(argv[optind], "help")) {
        print_help(stdout);
        return EXIT_OK_;
    }
    return cli_unknown_word(&cli, "command", argv[optind], words, N_COMMANDS);
}
