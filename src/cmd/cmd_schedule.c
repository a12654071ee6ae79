/*
 * cmd_schedule.c - `camsnap schedule install|remove|show [--cron|--systemd]`:
 * the old interactive setup_cron.sh done right. Shows what it will write,
 * asks on a terminal (or acts with --yes), and installing twice changes
 * nothing. The unit's sandbox hides some directories from the service
 * (PrivateTmp, ProtectHome): a binary, configuration or state directory there
 * is refused unless --force, which relaxes the setting in question.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "units.h"

#define CRON_FILE "/etc/cron.d/camsnap"
#define UNIT_DIR "/etc/systemd/system"
#define UNIT_NAME "camsnap.service"

static const char usage[] =
    "usage: camsnap [-c FILE] schedule install|remove|show [--cron|--systemd] [--yes]\n"
    "                                   [--cron-file FILE] [--unit-dir DIR] [--no-enable]\n"
    "                                   [--force]\n"
    "\n"
    "  install   --systemd: write " UNIT_DIR "/" UNIT_NAME " (Type=notify, watchdog,\n"
    "            hardening) and enable it; --cron: write " CRON_FILE " starting\n"
    "            `camsnap run --exit-after-window` when the window opens, plus a\n"
    "            safety-net start every 2 hours inside the window (harmless while an\n"
    "            agent holds the state directory's lock)\n"
    "  remove    remove what install wrote (and disable the unit)\n"
    "  show      print what is installed\n"
    "\n"
    "  --yes           do it without asking (otherwise asks on a terminal)\n"
    "  --cron-file F   cron file to manage (default " CRON_FILE ")\n"
    "  --unit-dir D    where the unit goes (default " UNIT_DIR ", created if\n"
    "                  missing); implies --no-enable\n"
    "  --no-enable     do not run systemctl\n"
    "  --force         --systemd: write the unit even though the binary, the\n"
    "                  configuration or the state directory is under /tmp or /var/tmp\n"
    "                  (then PrivateTmp=no) or /home, /root or /run/user (then\n"
    "                  ProtectHome=read-only), which the service would not see\n"
    "Default: --systemd when systemd runs, else --cron.\n"
    "\n"
    "Exit status: 0 done (or nothing to change), 1 declined, 2 usage or\n"
    "configuration error, 3 a file could not be written.\n";

struct sched {
    const char *action;
    bool cron, yes, enable, force;
    const char *cron_file, *unit_dir;
    char binary[PATH_MAX], config[PATH_MAX];
    const char *private_tmp, *protect_home; /* the unit's values: hardened unless --force */
};

static const char unit_template[] =
    "# camsnap agent (written by `camsnap schedule install --systemd`)\n"
    "[Unit]\n"
    "Description=camsnap camera snapshot agent\n"
    "After=network-online.target\n"
    "Wants=network-online.target\n"
    "\n"
    "[Service]\n"
    "Type=notify\n"
    "NotifyAccess=main\n"
    "ExecStart=%s -c %s run\n"
    "ExecReload=/bin/kill -HUP $MAINPID\n"
    "Restart=always\n"
    "RestartSec=10s\n"
    "WatchdogSec=120s\n"
    "TimeoutStopSec=90s\n"
    "UMask=0027\n"
    "NoNewPrivileges=yes\n"
    "ProtectSystem=strict\n"
    "ReadWritePaths=%s\n"
    "ProtectHome=%s\n"
    "PrivateTmp=%s\n"
    "PrivateDevices=yes\n"
    "ProtectKernelTunables=yes\n"
    "ProtectKernelModules=yes\n"
    "ProtectControlGroups=yes\n"
    "RestrictSUIDSGID=yes\n"
    "RestrictRealtime=yes\n"
    "LockPersonality=yes\n"
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n"
    "SystemCallArchitectures=native\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";

/* Directories the unit's sandbox hides from the service, and the setting that
 * does it: PrivateTmp gives the service its own empty /tmp and /var/tmp,
 * ProtectHome makes /home, /root and /run/user inaccessible. relaxed is what
 * --force writes instead: read-only still lets the service read its binary and
 * configuration there, and ReadWritePaths reopens the state directory. */
static const struct hidden {
    const char *dir, *setting, *relaxed;
} hidden_dirs[] = {
    {"/tmp", "PrivateTmp", "no"},
    {"/var/tmp", "PrivateTmp", "no"},
    {"/home", "ProtectHome", "read-only"},
    {"/root", "ProtectHome", "read-only"},
    {"/run/user", "ProtectHome", "read-only"},
};

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* The real path of p, which may not exist yet: its longest existing parent
 * resolved (symbolic links followed), the rest appended. */
static void resolve_missing(const char *p, char *out, size_t sz)
{
    char head[PATH_MAX], real[PATH_MAX], *slash;

    snprintf(out, sz, "%s", p);
    if (snprintf(head, sizeof(head), "%s", p) >= (int)sizeof(head))
        return;
    while (!realpath(head, real)) {
        if (errno != ENOENT || !(slash = strrchr(head, '/')) || slash == head)
            return;
        *slash = '\0';
    }
    if (snprintf(out, sz, "%s%s", real, p + strlen(head)) >= (int)sz)
        snprintf(out, sz, "%s", p);
}

/* Checks the binary, configuration and state directory against the unit's
 * sandbox: each one it would hide is named; with --force the setting is
 * relaxed in the unit, without it the install is refused. Returns EXIT_OK_ or
 * EXIT_USAGE. */
static int check_sandbox(struct sched *s, const char *state_dir)
{
    char state[PATH_MAX];
    const char *what[] = {"binary", "configuration", "state directory"};
    const char *path[] = {s->binary, s->config, state};
    int found = 0;

    if (state_dir[0] != '/') {
        fprintf(stderr,
                "camsnap: schedule: state_dir \"%s\" is relative: a service runs in /, "
                "set an absolute state_dir\n",
                state_dir);
        return EXIT_USAGE;
    }
    resolve_missing(state_dir, state, sizeof(state));
    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        for (size_t j = 0; j < sizeof(hidden_dirs) / sizeof(hidden_dirs[0]); j++) {
            const struct hidden *h = &hidden_dirs[j];
            if (!under(path[i], h->dir))
                continue;
            fprintf(stderr,
                    "camsnap: schedule: %s: the %s %s is under %s, which the unit's "
                    "%s=yes hides from the service\n",
                    s->force ? "warning" : "error", what[i], path[i], h->dir, h->setting);
            if (!strcmp(h->setting, "PrivateTmp"))
                s->private_tmp = h->relaxed;
            else
                s->protect_home = h->relaxed;
            found++;
        }
    }
    if (found && !s->force) {
        fprintf(stderr, "camsnap: schedule: nothing written: move it elsewhere (e.g. "
                        "/usr/local/bin, /etc/camsnap, /var/lib/camsnap), or use --force to "
                        "write the unit with PrivateTmp=no or ProtectHome=read-only\n");
        return EXIT_USAGE;
    }
    if (found)
        fprintf(stderr,
                "camsnap: schedule: --force: the unit gets PrivateTmp=%s and "
                "ProtectHome=%s\n",
                s->private_tmp, s->protect_home);
    return EXIT_OK_;
}

/* mkdir -p: creates dir and its missing parents (mode 0755). */
static int make_dirs(const char *dir)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);

    if (n >= sizeof(p)) {
        fprintf(stderr, "camsnap: schedule: %s: path too long\n", dir);
        return EXIT_USAGE;
    }
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0755) == 0)
            printf("created %s\n", p);
        else if (errno != EEXIST) {
            perror(p);
            return EXIT_RUNTIME;
        }
        p[i] = dir[i];
    }
    return EXIT_OK_;
}

/* Paths as each format wants them. Control characters cannot be written
 * into either file safely: such a path is refused (path_ok()). */

static bool path_ok(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Appends c to out[*n] if it fits; returns false when it does not. */
static bool put(char *out, size_t sz, size_t *n, char c)
{
    if (*n + 1 >= sz)
        return false;
    out[(*n)++] = c;
    out[*n] = '\0';
    return true;
}

/* For a cron command line: a POSIX shell word in single quotes (' as '\'')
 * and, because cron turns an unescaped % into a newline, every % as \%. */
static bool cron_quote(const char *p, char *out, size_t sz)
{
    size_t n = 0;
    bool ok = put(out, sz, &n, '\'');

    for (; ok && *p; p++) {
        if (*p == '\'')
            ok = put(out, sz, &n, '\'') && put(out, sz, &n, '\\') && put(out, sz, &n, '\'') &&
                 put(out, sz, &n, '\'');
        else if (*p == '%')
            ok = put(out, sz, &n, '\\') && put(out, sz, &n, '%');
        else
            ok = put(out, sz, &n, *p);
    }
    return ok && put(out, sz, &n, '\'');
}

/* For a systemd unit setting: a double-quoted word, \ and " escaped, the
 * specifier character % doubled and, in arguments, $ doubled (no variable
 * expansion; systemd does not expand the command's own path). */
static bool unit_quote(const char *p, bool command, char *out, size_t sz)
{
    size_t n = 0;
    bool ok = put(out, sz, &n, '"');

    for (; ok && *p; p++) {
        if (*p == '\\' || *p == '"')
            ok = put(out, sz, &n, '\\') && put(out, sz, &n, *p);
        else if (*p == '%' || (*p == '$' && !command))
            ok = put(out, sz, &n, *p) && put(out, sz, &n, *p);
        else
            ok = put(out, sz, &n, *p);
    }
    return ok && put(out, sz, &n, '"');
}

/* Cron's day-of-week field for a weekday mask. */
static void cron_days(int mask, char *out, size_t sz)
{
    size_t n = 0;

    if ((mask & UNITS_ALL_DAYS) == UNITS_ALL_DAYS) {
        snprintf(out, sz, "*");
        return;
    }
    out[0] = '\0';
    for (int d = 0; d < 7; d++)
        if (mask & (1 << d))
            n += (size_t)snprintf(out + n, sz - n, "%s%d", n ? "," : "", d);
}

static void cron_text(const struct config *cfg, const struct sched *s, char *out, size_t sz)
{
    const struct window *w = &cfg->general.window;
    char cmd[5 * PATH_MAX + 64], bin[2 * PATH_MAX + 8], conf[2 * PATH_MAX + 8], dow[32],
        hours[96] = "";
    size_t n = 0;
    int len, start_h = w->start_min / 60, start_m = w->start_min % 60;

    cron_quote(s->binary, bin, sizeof(bin));
    cron_quote(s->config, conf, sizeof(conf));
    snprintf(cmd, sizeof(cmd), "root %s -c %s run --exit-after-window >/dev/null 2>&1", bin,
             conf);
    cron_days(cfg->general.days, dow, sizeof(dow));
    len = (w->always || w->start_min == w->end_min) ? 1440
                                                    : (w->end_min - w->start_min + 1440) % 1440;
    for (int t = 120; t < len; t += 120)
        n += (size_t)snprintf(hours + n, sizeof(hours) - n, "%s%d", n ? "," : "",
                              (start_h + t / 60) % 24);
    n = (size_t)snprintf(out, sz,
                         "# camsnap (written by `camsnap schedule install --cron`; remove with\n"
                         "# `camsnap schedule remove --cron`). Starts the agent when the window\n"
                         "# opens; the 2-hourly starts revive it if it died (a running agent\n"
                         "# holds the state directory's lock, so they do nothing then).\n"
                         "SHELL=/bin/sh\n"
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    if (w->always || w->start_min == w->end_min)
        n += (size_t)snprintf(out + n, sz - n, "@reboot %s\n", cmd);
    else
        n += (size_t)snprintf(out + n, sz - n, "%d %d * * %s %s\n", start_m, start_h, dow, cmd);
    if (hours[0])
        snprintf(out + n, sz - n, "%d %s * * %s %s\n", start_m, hours,
                 w->end_min < w->start_min ? "*" : dow, cmd);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;

    if (!f)
        return NULL;
    n = getdelim(&buf, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(buf);
        return strdup("");
    }
    return buf;
}

static bool confirm(const struct sched *s, const char *path, const char *text)
{
    char answer[16];

    printf("%s %s:\n\n%s\n", s->action[0] == 'r' ? "camsnap will remove" : "camsnap will write",
           path, text);
    if (s->yes)
        return true;
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr, "camsnap: not a terminal: run again with --yes to go ahead\n");
        return false;
    }
    printf("Go ahead? [y/N] ");
    fflush(stdout);
    return fgets(answer, sizeof(answer), stdin) && (answer[0] == 'y' || answer[0] == 'Y');
}

static int write_atomic(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 16];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(f = fopen(tmp, "we")) || fputs(text, f) == EOF || fflush(f) || fsync(fileno(f)) ||
        fclose(f) || chmod(tmp, mode) || rename(tmp, path)) {
        perror(path);
        unlink(tmp);
        return EXIT_RUNTIME;
    }
    return EXIT_OK_;
}

static int systemctl(const struct sched *s, const char *args)
{
    char cmd[256];

    if (!s->enable)
        return EXIT_OK_;
    snprintf(cmd, sizeof(cmd), "systemctl %s", args);
    printf("running: %s\n", cmd);
    return system(cmd) == 0 ? EXIT_OK_ : EXIT_RUNTIME;
}

static int install(const struct sched *s, const char *path, const char *text)
{
    char *old = read_file(path);
    int ex;

    if (old && !strcmp(old, text)) {
        printf("%s is already installed as shown; nothing changed\n", path);
        free(old);
        return EXIT_OK_;
    }
    free(old);
    if (!confirm(s, path, text))
        return EXIT_PARTIAL;
    if (!s->cron && (ex = make_dirs(s->unit_dir)))
        return ex;
    if ((ex = write_atomic(path, text, 0644)))
        return ex;
    printf("wrote %s\n", path);
    if (!s->cron && !(ex = systemctl(s, "daemon-reload")))
        ex = systemctl(s, "enable --now " UNIT_NAME);
    return ex;
}

static int remove_it(const struct sched *s, const char *path)
{
    char *old = read_file(path);

    if (!old) {
        printf("%s is not installed; nothing changed\n", path);
        return EXIT_OK_;
    }
    if (!confirm(s, path, old)) {
        free(old);
        return EXIT_PARTIAL;
    }
    free(old);
    if (!s->cron)
        systemctl(s, "disable --now " UNIT_NAME);
    if (unlink(path) != 0) {
        perror(path);
        return EXIT_RUNTIME;
    }
    printf("removed %s\n", path);
    return s->cron ? EXIT_OK_ : systemctl(s, "daemon-reload");
}

static int run_action(const struct config *cfg, struct sched *s)
{
    char path[PATH_MAX], text[8 * PATH_MAX + 4096], *old;

    if (s->cron) {
        snprintf(path, sizeof(path), "%s", s->cron_file);
        cron_text(cfg, s, text, sizeof(text));
    } else {
        char bin[2 * PATH_MAX + 8], conf[2 * PATH_MAX + 8], state[2 * PATH_MAX + 8];
        snprintf(path, sizeof(path), "%s/%s", s->unit_dir, UNIT_NAME);
        unit_quote(s->binary, true, bin, sizeof(bin));
        unit_quote(s->config, false, conf, sizeof(conf));
        unit_quote(cfg->general.state_dir, false, state, sizeof(state));
        if (snprintf(text, sizeof(text), unit_template, bin, conf, state, s->protect_home,
                     s->private_tmp) >= (int)sizeof(text))
            return EXIT_USAGE; /* cannot happen: each path is below PATH_MAX */
    }
    if (!strcmp(s->action, "install"))
        return install(s, path, text);
    if (!strcmp(s->action, "remove"))
        return remove_it(s, path);
    old = read_file(path);
    printf("%s: %s\n", path, old ? "installed" : "not installed");
    if (old && *old)
        printf("\n%s", old);
    free(old);
    return EXIT_OK_;
}

int cmd_schedule(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"cron", no_argument, NULL, 'c'},        {"systemd", no_argument, NULL, 's'},
        {"yes", no_argument, NULL, 'y'},         {"cron-file", required_argument, NULL, 'f'},
        {"unit-dir", required_argument, NULL, 'u'}, {"no-enable", no_argument, NULL, 'n'},
        {"force", no_argument, NULL, 'F'},       {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct sched s = {.cron_file = CRON_FILE,
                      .unit_dir = UNIT_DIR,
                      .enable = true,
                      .private_tmp = "yes",
                      .protect_home = "yes"};
    static const char *const actions[] = {"install", "remove", "show"};
    struct config *cfg;
    int c, ex, mode = 0;

    s.cron = access("/run/systemd/system", F_OK) != 0;
    while ((c = cli_getopt(cli, argc, argv, "hy", opts)) != -1) {
        switch (c) {
        case 'c': s.cron = true; mode++; break;
        case 's': s.cron = false; mode++; break;
        case 'y': s.yes = true; break;
        case 'f': s.cron_file = optarg; break;
        case 'u': s.unit_dir = optarg; s.enable = false; break;
        case 'n': s.enable = false; break;
        case 'F': s.force = true; break;
        case 'h': return cli_help(usage);
        default: return EXIT_USAGE;
        }
    }
    if (mode > 1)
        return cli_usage_error(cli, "--cron and --systemd exclude each other");
    if ((ex = cli_action(cli, argc, argv, actions, sizeof(actions) / sizeof(actions[0]))))
        return ex;
    s.action = argv[optind];
    if (!realpath("/proc/self/exe", s.binary) || !realpath(cli->config_path, s.config)) {
        fprintf(stderr, "camsnap: schedule: cannot resolve %s\n", cli->config_path);
        return EXIT_USAGE;
    }
    if ((ex = cli_load_config(cli, &cfg)))
        return ex;
    if (!path_ok(s.binary) || !path_ok(s.config) || !path_ok(cfg->general.state_dir)) {
        fprintf(stderr, "camsnap: schedule: the path of the binary, the configuration or the "
                        "state directory holds a control character (a newline?): it cannot be "
                        "written into a crontab or a unit; rename it\n");
        config_free(cfg);
        return EXIT_USAGE;
    }
    /* systemd refuses a command path holding a quote or a backslash. */
    if (!s.cron && strpbrk(s.binary, "'\"\\")) {
        fprintf(stderr, "camsnap: schedule: systemd does not run a program whose path holds a "
                        "quote or a backslash (%s): install camsnap elsewhere, or use --cron\n",
                s.binary);
        config_free(cfg);
        return EXIT_USAGE;
    }
    if (!s.cron && !strcmp(s.action, "install") &&
        (ex = check_sandbox(&s, cfg->general.state_dir))) {
        config_free(cfg);
        return ex;
    }
    ex = run_action(cfg, &s);
    config_free(cfg);
    return ex;
}
