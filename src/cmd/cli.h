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
#include <stdint.h>
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

/* ---- the command line (cli_args.c) ----------------------------------------
 * A usage error is one line on stderr, "camsnap: COMMAND: what was wrong",
 * with the nearest command, option or name when one is near, and exit
 * status EXIT_USAGE. */

/* Prints a command's usage text (--help) to stdout; returns EXIT_OK_. */
int cli_help(const char *usage);

/* Prints "camsnap: COMMAND: " (or "camsnap: " before a command is known)
 * and the formatted text as one line on stderr; returns EXIT_USAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "unknown WHAT 'word'; did you mean 'NAME'?" with the nearest of
 * names[0..n), or the list of them when none is near; returns EXIT_USAGE. */
int cli_unknown_word(const struct cli *cli, const char *what, const char *word,
                     const char *const *names, size_t n);

/* Writes "a, b, c" (names[0..n)) into buf, cut when it does not fit.
 * Returns buf. */
const char *cli_join(const char *const *names, size_t n, char *buf, size_t sz);

/* getopt_long over a command's options (shortopts without ':' first, opts
 * ending with a zero entry) and the global ones, which may also follow the
 * command: -c/--config FILE, --state-dir DIR, -v/--verbose, -q/--quiet are
 * applied to cli as they come. Returns the command's next option ('h' for
 * -h when shortopts has it), -1 after the last (operands are then
 * argv[optind..argc), gathered at the end), or '?' after printing the usage
 * error (what was wrong with which option, the nearest option). Not
 * thread-safe (getopt's globals); set optind = 0 before the first call. */
struct option;
int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
               const struct option *opts);

/* Prints the usage error for getopt_long's c (':' or '?') on opts, the way
 * cli_getopt does (main's global options); returns EXIT_USAGE. */
int cli_option_error(const struct cli *cli, int c, char **argv, const struct option *opts);

/* The options of a command whose only one is --json (probe, stats,
 * status): sets *json. Returns -1 when the command goes on (its operands
 * from optind), else the exit status to return: EXIT_OK_ after printing
 * usage for --help, EXIT_USAGE after a usage error. */
int cli_json_options(struct cli *cli, int argc, char **argv, const char *usage, bool *json);

/* EXIT_OK_ when exactly one operand is left after the options and it is one
 * of actions[0..n) (argv[optind]), else the usage error. */
int cli_action(const struct cli *cli, int argc, char **argv, const char *const *actions,
               size_t n);

/* EXIT_OK_ when no operand is left after the options, else the usage
 * error naming the first one. */
int cli_no_operands(const struct cli *cli, int argc, char **argv);

/* "no camera named "NAME" in FILE; did you mean 'NEAR'?"; returns EXIT_USAGE. */
int cli_no_camera(const struct cli *cli, const struct config *cfg, const char *name);

/* "FILE has no enabled camera: ..." (run, capture, config check); returns
 * EXIT_USAGE: a configuration error. */
int cli_no_enabled_camera(const struct cli *cli, const struct config *cfg);

/* Parses a duration given to option (such as "--older-than"); a bare
 * number is refused with the hint "30: add a unit, e.g. 30<hint_unit>".
 * Returns EXIT_OK_ or, after printing the usage error, EXIT_USAGE. */
int cli_duration(const struct cli *cli, const char *option, const char *text,
                 const char *hint_unit, int64_t *out_ms);

/* Prints, prominently, the failures that need a person among the waiting
 * stills of camera (or all) - each with its stills and cameras, the error
 * naming the bucket or table and what to do, escaped - each line starting
 * with prefix. Prints nothing when there are none. Returns how many stills
 * wait on a person, or -1 when the database could not tell (said on out). */
int64_t cli_print_attention(struct store *st, const char *camera, const char *prefix, FILE *out);

/* Prints a round's results as a table, one line per camera. */
struct capture_result;
void cli_print_round(const struct capture_result *res, size_t n, FILE *out);

/* Commands: argc/argv start at the command name; global options after it
 * (cli_getopt) change cli. Return an exit code. */
int cmd_capture(struct cli *cli, int argc, char **argv);
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_probe(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_schedule(struct cli *cli, int argc, char **argv);
int cmd_sync(struct cli *cli, int argc, char **argv);
int cmd_cleanup(struct cli *cli, int argc, char **argv);
int cmd_report(struct cli *cli, int argc, char **argv);
int cmd_alert(struct cli *cli, int argc, char **argv);

#endif
