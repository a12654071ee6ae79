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
#include "exitcode.h"
#include "lock.h"
#include "recover.h"
#include "spool.h"
#include "store.h"


struct cli {
    const char *config_path;    /* -c, $CAMSNAP_CONFIG, or the default */
    const char *state_dir;      /* --state-dir or NULL */
    int verbosity;              /* -v: +1 each, -q: -3 (errors only) */
    const char *argv0;
    const char *command;        /* "run", "sync", ...: written in the lock file */
};

/* How a command shares the state directory with a running agent. */
enum cli_access {
    CLI_AGENT,     /* run: exclusive, and it wins: while it waits (up to
                    * CLI_AGENT_WAIT_MS, lock_want) a sync holding the lock
                    * steps aside and a cleanup ends */
    CLI_EXCLUSIVE, /* sync, cleanup: one at a time (the lock, waited for
                    * CLI_LOCK_WAIT_MS); refused (EXIT_LOCKED) while another holds it;
                    * a sync watches lock_wanted() and steps aside for an agent,
                    * a cleanup (brief) is waited for */
    CLI_WRITER,    /* capture --once: takes no lock, so it never keeps an agent
                    * out; reconciles only when no agent holds the directory */
    CLI_READONLY,  /* stats, status: no lock, no reconciliation, nothing created
                    * or written (database opened read-only, no spool, no log
                    * files); a directory without state is an error */
};

/* How long an exclusive command waits for the lock (another command that
 * only looks at it holds it for a moment). */
#define CLI_LOCK_WAIT_MS 500
/* How long a starting agent waits for a sync or cleanup to step aside. */
#define CLI_AGENT_WAIT_MS 10000

/* Everything a command that works on the state directory uses. */
struct cli_state {
    struct config *cfg;
    struct store *store;
    struct spool *spool;     /* NULL for CLI_READONLY */
    struct state_lock *lock; /* CLI_EXCLUSIVE only */
    struct recover_report recovered;
};

/* Loads the configuration, printing errors to stderr. Returns an exit code
 * (EXIT_OK_ on success; *cfg owned by the caller). */
int cli_load_config(const struct cli *cli, struct config **cfg);

/* Sets the timezone and logging from cfg (log files only when with_files). */
void cli_setup_logging(const struct cli *cli, const struct config *cfg, bool with_files);

/* Loads the config, then as enum cli_access says: creates the state
 * directory, takes the lock, opens the database and the spool and
 * reconciles them; or opens the database read-only. Returns an exit code;
 * on success *st is ready (close with cli_close_state). */
int cli_open_state(const struct cli *cli, enum cli_access access, struct cli_state *st);
void cli_close_state(struct cli_state *st);

/* Free space for camsnap on the state directory's file system; *full when
 * no still fits any more (the spool keeps the last SPOOL_RESERVE_BYTES for
 * the database). -1 and false when it cannot be known. */
int64_t cli_disk_free(const struct config *cfg, bool *full);

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
