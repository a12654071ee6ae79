#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"

#define LOG_DAY_MS (24 * 3600 * 1000LL)

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
              (int)((cfg->general.log_retention_ms + LOG_DAY_MS - 1) / LOG_DAY_MS));
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

/* logs/ (created 0750 when absent) must be a real directory of ours. */
static enum cs_err trust_log_dir(int statefd, const char *dir)
{
    char logs[4200];
    enum cs_err rc;
    int fd;

    snprintf(logs, sizeof(logs), "%s/logs", dir);
    if (mkdirat(statefd, "logs", 0750) != 0 && errno != EEXIST)
        return CS_OK; /* log.c says why when it cannot open its file */
    fd = openat(statefd, "logs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr,
                "camsnap: refusing to use log directory %s: %s (a link, or not a "
                "directory)\n",
                logs, strerror(errno));
        return CS_PERM;
    }
    if ((rc = spool_trust_dir(fd, "log directory", logs, true)))
        fprintf(stderr, "camsnap: refusing to use %s\n", spool_last_error());
    close(fd);
    return rc;
}

/* Refuses a state directory (and its logs/ when log files are on) that
 * others could write to, or, for a command that writes (owned), that
 * belongs to another user: anyone able to write there could plant links
 * where camsnap's files go. */
static int trust_state_dir(const struct config *cfg, bool owned)
{
    const char *dir = cfg->general.state_dir;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    enum cs_err rc;

    if (fd < 0) {
        fprintf(stderr, "camsnap: cannot open state directory %s: %s\n", dir, strerror(errno));
        return EXIT_RUNTIME;
    }
    if ((rc = spool_trust_dir(fd, "state directory", dir, owned)))
        fprintf(stderr, "camsnap: refusing to use %s\n", spool_last_error());
    else if (owned && cfg->general.log_files)
        rc = trust_log_dir(fd, dir);
    close(fd);
    return rc ? EXIT_RUNTIME : EXIT_OK_;
}

/* Takes the state directory's lock (CLI_EXCLUSIVE); EXIT_LOCKED when
 * another process keeps it. */
static int take_lock(struct cli_state *st, const char *role)
{
    pid_t holder = 0;
    char holder_role[16];
    bool agent = !strcmp(role, "run");
    int want = -1;
    enum cs_err rc = lock_acquire(st->cfg->general.state_dir, CLI_LOCK_WAIT_MS, role, &st->lock,
                                  &holder, holder_role);

    /* An agent starting wins over a sync or cleanup: it says it wants the
     * directory; a sync steps aside within a second or so, a cleanup (brief)
     * is waited for. Another agent never steps aside: that one is refused
     * at once. */
    if (rc == CS_BUSY && agent && strcmp(holder_role, "run") &&
        (want = lock_want(st->cfg->general.state_dir)) >= 0) {
        log_info(NULL, "waiting for the camsnap %s holding %s (pid %ld) to step aside",
                 holder_role[0] ? holder_role : "command", st->cfg->general.state_dir,
                 (long)holder);
        rc = lock_acquire(st->cfg->general.state_dir, CLI_AGENT_WAIT_MS, role, &st->lock, &holder,
                          holder_role);
        close(want);
    }

    if (rc == CS_OK)
        return EXIT_OK_;
    if (rc != CS_BUSY) {
        log_errorx(NULL, "cannot lock %s/%s: %s", st->cfg->general.state_dir, LOCK_FILENAME,
                   cs_strerror(rc));
        return EXIT_RUNTIME;
    }
    fprintf(stderr, "camsnap: another camsnap (pid %ld) is running on %s; stop it first "
                    "(systemctl stop camsnap) or use another --state-dir\n",
            (long)holder, st->cfg->general.state_dir);
    return EXIT_LOCKED;
}

/* stats, status: nothing is created; a directory without state says so. */
static int open_readonly(const struct cli *cli, struct cli_state *st)
{
    const char *dir = st->cfg->general.state_dir;
    char dbpath[4200];
    struct stat sb;
    enum cs_err rc;
    bool found = stat(dir, &sb) == 0;
    int e = errno;

    cli_setup_logging(cli, st->cfg, false);
    if (!found || !S_ISDIR(sb.st_mode)) {
        const char *why = found         ? "not a directory"
                          : e == ENOENT ? "no such directory"
                                        : strerror(e);
        fprintf(stderr,
                "camsnap: there is no camsnap state in %s (%s): check --state-dir or "
                "state_dir in %s (nothing was created)\n",
                dir, why, cli->config_path);
        return EXIT_RUNTIME;
    }
    if (trust_state_dir(st->cfg, false))
        return EXIT_RUNTIME;
    snprintf(dbpath, sizeof(dbpath), "%s/%s", dir, STORE_FILENAME);
    rc = store_open_readonly(dbpath, &st->store);
    if (rc == CS_NOTFOUND) {
        fprintf(stderr,
                "camsnap: there is no camsnap state in %s (no %s): check --state-dir or "
                "state_dir in %s, or run camsnap there first (nothing was created)\n",
                dir, STORE_FILENAME, cli->config_path);
        return EXIT_RUNTIME;
    }
    if (rc) {
        log_errorx(NULL, "cannot read tracking database %s: %s", dbpath, store_last_error(NULL));
        return EXIT_RUNTIME;
    }
    return EXIT_OK_;
}

/* capture --once: an agent holding the directory does the reconciling. */
static bool agent_present(const struct cli_state *st)
{
    pid_t holder = lock_holder(st->cfg->general.state_dir);

    if (holder)
        log_info(NULL, "an agent (pid %ld) owns %s: working alongside it, no reconciliation",
                 (long)holder, st->cfg->general.state_dir);
    return holder != 0;
}

/* The disk is full at start-up: the reserve is what lets the database open
 * and record what happens. True when there was one to free. */
static bool release_reserve(const struct cli_state *st, const char *doing)
{
    if (!spool_release_reserve(st->spool))
        return false;
    log_warnx(NULL,
              "disk full while %s: released the %lld MiB reserve so the tracking database "
              "can record what happens; free some space under %s",
              doing, SPOOL_RESERVE_BYTES >> 20, st->cfg->general.state_dir);
    return true;
}

/* Opens the database and reconciles (when asked); on a full disk once more
 * after freeing the reserve. Logs what failed. */
static enum cs_err open_store_and_reconcile(struct cli_state *st, bool reconcile)
{
    char dbpath[4200];
    enum cs_err rc;

    snprintf(dbpath, sizeof(dbpath), "%s/%s", st->cfg->general.state_dir, STORE_FILENAME);
    rc = store_open(dbpath, &st->store);
    if (rc == CS_NOSPACE && release_reserve(st, "opening the tracking database"))
        rc = store_open(dbpath, &st->store);
    if (rc) {
        log_errorx(NULL, "cannot open tracking database %s: %s%s", dbpath, store_last_error(NULL),
                   rc == CS_NOSPACE ? " (the disk is full and there is no reserve left to "
                                      "release: free some space)"
                                    : "");
        return rc;
    }
    if (!reconcile)
        return CS_OK;
    rc = recover_run(st->spool, st->store, &st->recovered);
    if (rc == CS_NOSPACE && release_reserve(st, "reconciling"))
        rc = recover_run(st->spool, st->store, &st->recovered);
    if (rc)
        log_errorx(NULL, "start-up reconciliation failed: %s (database: %s; files: %s)",
                   cs_strerror(rc), store_last_error(st->store), spool_last_error());
    return rc;
}

int cli_open_state(const struct cli *cli, enum cli_access access, struct cli_state *st)
{
    bool reconcile;
    int ex;

    memset(st, 0, sizeof(*st));
    if ((ex = cli_load_config(cli, &st->cfg)))
        return ex;
    if (access == CLI_READONLY) {
        if ((ex = open_readonly(cli, st)))
            goto out_release;
        return EXIT_OK_;
    }
    if ((ex = make_state_dir(st->cfg->general.state_dir)) || (ex = trust_state_dir(st->cfg, true)))
        goto out_release;
    cli_setup_logging(cli, st->cfg, true);
    if ((access == CLI_EXCLUSIVE || access == CLI_AGENT) &&
        (ex = take_lock(st, access == CLI_AGENT ? "run" : cli->command ? cli->command : "")))
        goto out_release;
    reconcile = access == CLI_EXCLUSIVE || access == CLI_AGENT || !agent_present(st);
    ex = EXIT_RUNTIME;
    if (hash_init()) {
        log_errorx(NULL, "cannot initialise libsodium");
        goto out_release;
    }
    /* The spool first: it holds the reserve a full disk needs released. */
    if (spool_open(st->cfg->general.state_dir, &st->spool)) {
        log_errorx(NULL, "cannot use the spool: %s", spool_last_error());
        goto out_release;
    }
    if (open_store_and_reconcile(st, reconcile))
        goto out_release;
    return EXIT_OK_;
out_release:
    store_close(st->store);
    spool_close(st->spool);
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

int64_t cli_disk_free(const struct config *cfg, bool *full)
{
    struct statvfs v;
    int64_t avail;

    *full = false;
    if (statvfs(cfg->general.state_dir, &v) != 0)
        return -1;
    avail = (int64_t)v.f_bavail * (int64_t)v.f_frsize;
    *full = avail < SPOOL_RESERVE_BYTES;
    return avail;
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
