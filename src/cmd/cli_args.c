/*
 * cli_args.c - the command line's own errors and options: one line saying
 * what was wrong (and the nearest command, option or name when there is
 * one), exit status 2; the global options wherever they stand; durations
 * that carry their unit.
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "suggest.h"
#include "units.h"

#define OPTS_MAX 32 /* a command's long options plus the global ones */

/* The global options (main.c parses them before the command; cli_getopt
 * after it). Their values are out of the range of any command's option. */
enum { OPT_CONFIG = 0x100, OPT_STATE_DIR, OPT_VERBOSE, OPT_QUIET };

static const struct option global_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"quiet", no_argument, NULL, OPT_QUIET},
};
#define N_GLOBAL (sizeof(global_opts) / sizeof(global_opts[0]))

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
    va_list ap;

    if (cli && cli->command)
        fprintf(stderr, "camsnap: %s: ", cli->command);
    else
        fputs("camsnap: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

/* A word from the command line, shown escaped (as in the log): it can
 * neither break the line nor drive a terminal. Returns buf. */
static const char *shown(const char *word, char *buf, size_t sz)
{
    return log_escape(word, buf, sz);
}

int cli_help(const char *usage)
{
    fputs(usage, stdout);
    return EXIT_OK_;
}

int cli_unknown_word(const struct cli *cli, const char *what, const char *word,
                     const char *const *names, size_t n)
{
    const char *near = suggest_nearest(word, names, n);
    char list[512], w[256];

    if (near)
        return cli_usage_error(cli, "unknown %s '%s'; did you mean '%s'?", what,
                               shown(word, w, sizeof(w)), near);
    return cli_usage_error(cli, "unknown %s '%s'; expected one of: %s", what,
                           shown(word, w, sizeof(w)), cli_join(names, n, list, sizeof(list)));
}

const char *cli_join(const char *const *names, size_t n, char *buf, size_t sz)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && off < sz; i++) {
        int w = snprintf(buf + off, sz - off, "%s%s", off ? ", " : "", names[i]);
        off += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

/* The long option names of opts[0..n) beginning with word[0..len). */
static size_t count_prefixed(const struct option *opts, size_t n, const char *word, size_t len,
                             char *list, size_t lsz)
{
    size_t count = 0, off = 0;

    list[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (strncmp(opts[i].name, word, len))
            continue;
        if (off < lsz) {
            int w = snprintf(list + off, lsz - off, "%s--%s", count ? ", " : "", opts[i].name);
            off += w > 0 ? (size_t)w : 0;
        }
        count++;
    }
    return count;
}

/* The long option of opts[0..n) whose value is val, or NULL. */
static const struct option *by_val(const struct option *opts, size_t n, int val)
{
    for (size_t i = 0; i < n; i++)
        if (opts[i].val == val)
            return &opts[i];
    return NULL;
}

/* "--json=x" for an option that takes no value. */
static bool value_given(const char *arg, const struct option *o)
{
    size_t len = strlen(o->name);

    return o->has_arg == no_argument && !strncmp(arg, "--", 2) &&
           !strncmp(arg + 2, o->name, len) && arg[2 + len] == '=';
}

/* Says what was wrong after getopt_long returned c (':' a value is
 * missing, '?' anything else; optopt is 0 for a long option it does not
 * know, which is then argv[optind - 1]: long options are never grouped). */
static int bad_option(const struct cli *cli, int c, char **argv, const struct option *opts,
                      size_t n)
{
    const char *arg = argv[optind - 1], *names[OPTS_MAX], *near;
    const char *cmd = cli && cli->command ? cli->command : "", *sp = *cmd ? " " : "";
    const struct option *o = optopt ? by_val(opts, n, optopt) : NULL;
    char word[SUGGEST_WORD_MAX + 1], list[256], w[256], ch[2] = {(char)optopt, 0};
    size_t len;

    if (c == ':' && o && !strncmp(arg, "--", 2))
        return cli_usage_error(cli, "--%s needs a value", o->name);
    if (c == ':')
        return cli_usage_error(cli, "-%c needs a value", optopt);
    if (o && value_given(arg, o))
        return cli_usage_error(cli, "--%s takes no value", o->name);
    if (optopt)
        return cli_usage_error(cli, "unknown option -%s (see camsnap %s%s--help)",
                               shown(ch, w, sizeof(w)), cmd, sp);
    len = strcspn(arg + 2, "=");
    snprintf(word, sizeof(word), "%.*s", (int)len, arg + 2);
    for (size_t i = 0; i < n; i++)
        names[i] = opts[i].name;
    if (len && count_prefixed(opts, n, word, len, list, sizeof(list)) > 1)
        return cli_usage_error(cli, "--%s is ambiguous: %s", shown(word, w, sizeof(w)), list);
    near = suggest_nearest(word, names, n);
    if (near)
        return cli_usage_error(cli, "unknown option --%s; did you mean --%s?",
                               shown(word, w, sizeof(w)), near);
    return cli_usage_error(cli, "unknown option --%s (see camsnap %s%s--help)",
                           shown(word, w, sizeof(w)), cmd, sp);
}

int cli_option_error(const struct cli *cli, int c, char **argv, const struct option *opts)
{
    size_t n = 0;

    while (opts[n].name && n < OPTS_MAX)
        n++;
    return bad_option(cli, c, argv, opts, n);
}

/* Applies a global option met after the command. */
static void apply_global(struct cli *cli, int c)
{
    switch (c) {
    case 'c':
    case OPT_CONFIG: cli->config_path = optarg; break;
    case OPT_STATE_DIR: cli->state_dir = optarg; break;
    case 'v':
    case OPT_VERBOSE: cli->verbosity++; break;
    default: cli->verbosity = -3; break; /* -q, --quiet */
    }
}

int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
               const struct option *opts)
{
    struct option all[OPTS_MAX + 1];
    char optstring[64];
    size_t n = 0;
    int c, idx;

    while (opts[n].name && n + N_GLOBAL < OPTS_MAX) {
        all[n] = opts[n];
        n++;
    }
    for (size_t i = 0; i < N_GLOBAL; i++)
        all[n++] = global_opts[i];
    all[n] = (struct option){0};
    /* ':' first: a missing value is told apart (and getopt prints nothing). */
    snprintf(optstring, sizeof(optstring), ":%sc:vq", shortopts);
    opterr = 0;
    for (;;) {
        idx = -1;
        c = getopt_long(argc, argv, optstring, all, &idx);
        if (c == ':' || c == '?') {
            bad_option(cli, c, argv, all, n);
            return '?';
        }
        /* A global option: its short form (no long index), or its long one. */
        if ((idx < 0 && (c == 'c' || c == 'v' || c == 'q')) ||
            (idx >= 0 && (size_t)idx >= n - N_GLOBAL)) {
            apply_global(cli, c);
            continue;
        }
        return c;
    }
}

int cli_no_operands(const struct cli *cli, int argc, char **argv)
{
    char w[256];

    if (optind >= argc)
        return EXIT_OK_;
    return cli_usage_error(cli, "unexpected argument \"%s\" (see camsnap %s --help)",
                           shown(argv[optind], w, sizeof(w)), cli->command);
}

int cli_duration(const struct cli *cli, const char *option, const char *text,
                 const char *hint_unit, int64_t *out_ms)
{
    enum cs_err rc = units_parse_duration(text, out_ms);
    char w[256];

    if (rc == CS_OK)
        return EXIT_OK_;
    shown(text, w, sizeof(w));
    if (units_duration_lacks_unit(text))
        return cli_usage_error(cli, "%s %s: add a unit, e.g. %s%s", option, w, w, hint_unit);
    if (rc == CS_TOOBIG)
        return cli_usage_error(cli, "%s \"%s\" is too long (at most 3650d)", option, w);
    return cli_usage_error(cli, "%s \"%s\" is not a duration; expected such as 30s, 5m, 2h or 30d",
                           option, w);
}

int cli_no_camera(const struct cli *cli, const struct config *cfg, const char *name)
{
    const char **names = calloc(cfg->n_cameras + 1, sizeof(*names));
    const char *near;
    char w[256];

    for (size_t i = 0; names && i < cfg->n_cameras; i++)
        names[i] = cfg->cameras[i].name;
    near = names ? suggest_nearest(name, names, cfg->n_cameras) : NULL;
    shown(name, w, sizeof(w));
    if (near)
        cli_usage_error(cli, "no camera named \"%s\" in %s; did you mean '%s'?", w,
                        cfg->path ? cfg->path : "the configuration", near);
    else
        cli_usage_error(cli, "no camera named \"%s\" in %s (%zu camera(s) there)", w,
                        cfg->path ? cfg->path : "the configuration", cfg->n_cameras);
    free(names);
    return EXIT_USAGE;
}

int cli_no_enabled_camera(const struct cli *cli, const struct config *cfg)
{
    return cli_usage_error(cli,
                           "%s has no enabled camera: add a [camera NAME] section with its "
                           "url, or set enabled = yes in one",
                           cfg->path ? cfg->path : "the configuration");
}

int cli_action(const struct cli *cli, int argc, char **argv, const char *const *actions,
               size_t n)
{
    char list[256], w[256];

    if (optind >= argc)
        return cli_usage_error(cli, "missing action; expected one of: %s",
                               cli_join(actions, n, list, sizeof(list)));
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[optind], actions[i]))
            continue;
        if (optind + 1 < argc)
            return cli_usage_error(cli, "unexpected argument \"%s\" after %s",
                                   shown(argv[optind + 1], w, sizeof(w)), actions[i]);
        return EXIT_OK_;
    }
    return cli_unknown_word(cli, "action", argv[optind], actions, n);
}

int cli_json_options(struct cli *cli, int argc, char **argv, const char *usage, bool *json)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    *json = false;
    while ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
        if (c != 'j')
            return c == 'h' ? cli_help(usage) : EXIT_USAGE;
        *json = true;
    }
    return -1;
}
