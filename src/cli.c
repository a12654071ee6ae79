#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"

int cli_load_config(const struct cli *cli, struct config **cfg)
{
    enum cs_err rc = config_load(cli->config_path, cli->state_dir, stderr, cfg);

    if (rc == CS_OK)
        return EXIT_OK_;
    fprintf(stderr, "camsnap: cannot use configuration %s: %s\n", cli->config_path,
            cs_strerror(rc));
    if (rc == CS_NOTFOUND || rc == CS_IO)
        fprintf(stderr, "camsnap: give one with -c FILE or CAMSNAP_CONFIG; "
                        "`camsnap config sample` prints a starting point\n");
    return EXIT_USAGE;
}

void cli_setup_logging(const struct cli *cli, const struct config *cfg, bool with_files)
{
    int level = (int)cfg->general.log_level + cli->verbosity;
    char dir[4096];
    bool journal = getenv("JOURNAL_STREAM") != NULL;

    if (cfg->general.timezone) {
        setenv("TZ", cfg->general.timezone, 1);
        tzset();
    }
    if (level < LOG_LEVEL_ERROR)
        level = LOG_LEVEL_ERROR;
    if (level > LOG_LEVEL_DEBUG)
        level = LOG_LEVEL_DEBUG;
    with_files = with_files && cfg->general.log_files &&
                 snprintf(dir, sizeof(dir), "%s/logs", cfg->general.state_dir) <
                     (int)sizeof(dir);
    log_setup((enum log_level)level, with_files ? dir : NULL, journal,
              (int)cfg->general.log_retention_days);
}

/* Creates the state directory (and parents) with mode 0750. */
static int make_state_dir(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path)) {
        fprintf(stderr, "camsnap: state_dir \"%s\" is not usable\n", dir);
        return EXIT_USAGE;
    }
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        goto fail;
    if (access(path, W_OK | X_OK) != 0)
        goto fail;
    return EXIT_OK_;
fail:
    fprintf(stderr, "camsnap: cannot use state directory %s: %s (create it, or set "
                    "state_dir / --state-dir to a writable place)\n",
            path, strerror(errno));
    return EXIT_RUNTIME;
}

/* Takes the state directory's lock; EXIT_LOCKED when exclusive access is
 * needed and another process has it. */
static int take_lock(struct cli_state *st, enum cli_access access)
{
    pid_t holder = 0;
    enum cs_err rc = lock_acquire(st->cfg->general.state_dir, &st->lock, &holder);

    if (rc == CS_OK)
        return EXIT_OK_;
    if (rc != CS_BUSY) {
        log_errorx(NULL, "cannot lock %s/%s: %s", st->cfg->general.state_dir, LOCK_FILENAME,
                   cs_strerror(rc));
        return EXIT_RUNTIME;
    }
    if (access == CLI_SHARED) {
        log_info(NULL, "an agent (pid %ld) owns %s: working alongside it, no reconciliation",
                 (long)holder, st->cfg->general.state_dir);
        return EXIT_OK_;
    }
    fprintf(stderr, "camsnap: another camsnap (pid %ld) is running on %s; stop it first "
                    "(systemctl stop camsnap) or use another --state-dir\n",
            (long)holder, st->cfg->general.state_dir);
    return EXIT_LOCKED;
}

int cli_open_state(const struct cli *cli, enum cli_access access, struct cli_state *st)
{
    char dbpath[4200];
    enum cs_err rc;
    int ex;

    memset(st, 0, sizeof(*st));
    if ((ex = cli_load_config(cli, &st->cfg)))
        return ex;
    if ((ex = make_state_dir(st->cfg->general.state_dir)))
        goto out_free_cfg;
    cli_setup_logging(cli, st->cfg, true);
    if ((ex = take_lock(st, access)))
        goto out_free_cfg;
    ex = EXIT_RUNTIME;
    if (hash_init()) {
        log_errorx(NULL, "cannot initialise libsodium");
        goto out_free_cfg;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/%s", st->cfg->general.state_dir, STORE_FILENAME);
    if ((rc = store_open(dbpath, &st->store))) {
        log_errorx(NULL, "cannot open tracking database %s: %s", dbpath, store_last_error(NULL));
        goto out_free_cfg;
    }
    if ((rc = spool_open(st->cfg->general.state_dir, &st->spool)))
        goto out_close_store;
    if (st->lock && (rc = recover_run(st->spool, st->store, &st->recovered))) {
        log_errorx(NULL, "start-up reconciliation failed: %s (%s)", cs_strerror(rc),
                   store_last_error(st->store));
        goto out_close_spool;
    }
    return EXIT_OK_;
out_close_spool:
    spool_close(st->spool);
out_close_store:
    store_close(st->store);
out_free_cfg:
    lock_release(st->lock);
    config_free(st->cfg);
    memset(st, 0, sizeof(*st));
    return ex;
}

void cli_close_state(struct cli_state *st)
{
    spool_close(st->spool);
    store_close(st->store);
    lock_release(st->lock);
    config_free(st->cfg);
    log_close();
    memset(st, 0, sizeof(*st));
}

int cli_usage(const char *usage, bool help)
{
    fputs(usage, help ? stdout : stderr);
    return help ? EXIT_OK_ : EXIT_USAGE;
}

int64_t cli_print_attention(struct store *st, const char *camera, const char *prefix, FILE *out)
{
    struct store_attention a[5];
    char text[1600];
    size_t n = 0;
    int64_t stills = 0, shown = 0;

    if (store_attention(st, camera, a, sizeof(a) / sizeof(a[0]), &n, &stills)) {
        fprintf(out, "%scannot tell what needs a person: %s\n", prefix, store_last_error(st));
        return -1;
    }
    if (!stills)
        return 0;
    fprintf(out, "%sNEEDS A PERSON: %lld still(s) wait until this is fixed:\n", prefix,
            (long long)stills);
    for (size_t i = 0; i < n; i++) {
        char others[48] = "";
        if (a[i].cameras > 1)
            snprintf(others, sizeof(others), " and %lld other(s)", (long long)a[i].cameras - 1);
        fprintf(out, "%s  %lld still(s), camera %s%s: %s\n", prefix, (long long)a[i].stills,
                a[i].camera, others, log_escape(a[i].message, text, sizeof(text)));
        shown += a[i].stills;
    }
    if (shown < stills)
        fprintf(out, "%s  %lld more still(s) with other errors (see stats --json)\n", prefix,
                (long long)(stills - shown));
    return stills;
}
