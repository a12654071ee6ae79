/*
 * cli.h - what the command files share: the parsed global options, the
 * exit codes scripts rely on, and cli_open_state(), which wires the modules
 * a command needs (config -> log -> state directory -> store, spool ->
 * reconciliation). No business logic lives here or in the command files.
 */
#ifndef CAMSNAP_CLI_H
#define CAMSNAP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "lock.h"
#include "recover.h"
#include "spool.h"
#include "store.h"

/* Exit codes (documented in --help and the README). */
enum cli_exit {
    EXIT_OK_ = 0,        /* everything asked for was done */
    EXIT_PARTIAL = 1,    /* ran, but something failed or is still pending */
    EXIT_USAGE = 2,      /* bad command line or configuration */
    EXIT_RUNTIME = 3,    /* state directory, database or disk unusable */
    EXIT_LOCKED = 4,     /* another camsnap holds the state directory */
};

struct cli {
    const char *config_path;    /* -c, $CAMSNAP_CONFIG, or the default */
    const char *state_dir;      /* --state-dir or NULL */
    int verbosity;              /* -v: +1, -q: -1 */
    const char *argv0;
};

/* How a command shares the state directory with a running agent. */
enum cli_access {
    CLI_EXCLUSIVE,  /* run, sync, cleanup: refused (EXIT_LOCKED) while another holds it */
    CLI_SHARED,     /* capture, stats: work alongside an agent, but reconcile only
                     * when nobody else holds the directory */
};

/* Everything a command that works on the state directory uses. */
struct cli_state {
    struct config *cfg;
    struct store *store;
    struct spool *spool;
    struct state_lock *lock;        /* NULL when another process holds it */
    struct recover_report recovered;
};

/* Loads the configuration, printing errors to stderr. Returns an exit code
 * (EXIT_OK_ on success; *cfg owned by the caller). */
int cli_load_config(const struct cli *cli, struct config **cfg);

/* Sets the timezone and logging from cfg (log files only when with_files). */
void cli_setup_logging(const struct cli *cli, const struct config *cfg, bool with_files);

/* Loads the config, creates the state directory, takes the lock (see enum
 * cli_access), opens the database and the spool and reconciles them.
 * Returns an exit code; on success *st is ready (close with
 * cli_close_state). */
int cli_open_state(const struct cli *cli, enum cli_access access, struct cli_state *st);
void cli_close_state(struct cli_state *st);

/* Prints a command's usage text: to stdout for --help (returns EXIT_OK_), to
 * stderr after a usage error (returns EXIT_USAGE). */
int cli_usage(const char *usage, bool help);

/* Prints, prominently, the failures that need a person among the waiting
 * stills of camera (or all) - each with its stills and cameras, the error
 * naming the bucket or table and what to do, escaped - each line starting
 * with prefix. Prints nothing when there are none. Returns how many stills
 * wait on a person, or -1 when the database could not tell (said on out). */
int64_t cli_print_attention(struct store *st, const char *camera, const char *prefix, FILE *out);

/* Prints a round's results as a table, one line per camera. */
struct capture_result;
void cli_print_round(const struct capture_result *res, size_t n, FILE *out);

/* Commands: argc/argv start at the command name. Return an exit code. */
int cmd_capture(const struct cli *cli, int argc, char **argv);
int cmd_run(const struct cli *cli, int argc, char **argv);
int cmd_stats(const struct cli *cli, int argc, char **argv);
int cmd_config(const struct cli *cli, int argc, char **argv);
int cmd_probe(const struct cli *cli, int argc, char **argv);
int cmd_status(const struct cli *cli, int argc, char **argv);
int cmd_schedule(const struct cli *cli, int argc, char **argv);
int cmd_sync(const struct cli *cli, int argc, char **argv);
int cmd_cleanup(const struct cli *cli, int argc, char **argv);

#endif
