/*
 * config.c - the key table, the INI parser glue and the validation of the
 * camsnap configuration.
 *
 * Everything about a key lives in one row of `keys[]`: defaults are parsed
 * by the same parse_value() as file values, and config_print_effective(),
 * config_print_reference() and config_print_sample() walk the same table.
 *
 * inih splits lines into key and value; our reader feeds it the text and
 * counts lines itself, and it also reads [section] headers (inih truncates
 * them and does not report them), so every message names FILE:LINE.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

#define CONFIG_LINE_MAX 65536         /* inih buffer: line + "\r\n" + NUL */
#define CONFIG_FILE_MAX (1024 * 1024) /* a config file larger than this is a mistake */
#define SECRET_FILE_MAX 4096
#define VAR_NAME_MAX 128
#define SHOWN_MAX 80 /* longest value echoed in a message */
#define LABEL_MAX (SHOWN_MAX + 16)
#define MASK "********"

enum section { SEC_GENERAL, SEC_UPLOAD, SEC_CAMERA };

enum key_type {
    KT_STRING,
    KT_PATH,
    KT_SECRET,
    KT_SECRET_FILE,
    KT_DURATION,
    KT_SIZE,
    KT_INT,
    KT_BOOL,
    KT_ENUM,
    KT_WINDOW,
    KT_DAYS,
    KT_RESOLUTION,
    KT_TIMEZONE
};

struct key_def {
    enum section sec;
    const char *name;
    enum key_type type;
    const char *def;            /* default, parsed like a file value; NULL: unset */
    int64_t min, max;           /* DURATION, SIZE, INT; max == 0: no maximum */
    size_t off;                 /* field in config_general, config_upload or camera_config */
    size_t off2;                /* RESOLUTION: the height field */
    const char *const *choices; /* ENUM: NULL-terminated, index == enum value */
    const char *fills;          /* SECRET_FILE: the SECRET key it fills (same off) */
    const char *example;        /* shown in the sample when there is no default */
    const char *help;
};

/* Where a value came from; one per key set other than by its default. */
struct config_origin {
    enum section sec;
    size_t cam; /* camera index for SEC_CAMERA */
    const struct key_def *key;
    int lineno;    /* line in the file; 0 with override */
    bool override; /* --state-dir */
    bool env_only; /* the value was nothing but ${...} expansions */
    bool from_url; /* credentials moved out of the camera url */
    bool url_pw;   /* camera url: the raw text writes a password in clear */
    char *var;     /* first ${VAR} expanded, or NULL */
    char *file;    /* SECRET_FILE: the path that was read */
};

_Static_assert(sizeof(enum log_level) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum upload_backend) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum transport) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum image_url_form) == sizeof(int), "enum fields are stored as int");

static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const backend_names[] = {"none", "supabase", "dir", NULL};
static const char *const transport_names[] = {"tcp", "udp", NULL};
static const char *const image_url_names[] = {"public", "path", NULL};

#define OFF_G(f) offsetof(struct config_general, f)
#define OFF_U(f) offsetof(struct config_upload, f)
#define OFF_C(f) offsetof(struct camera_config, f)

/* One row per key; kept one row per key by hand for reading. */
/* clang-format off */
static const struct key_def keys[] = {
    { .sec = SEC_GENERAL, .name = "state_dir", .type = KT_PATH, .def = "/var/lib/camsnap",
      .off = OFF_G(state_dir), .help = "Directory for the spool, the tracking database and logs." },
    { .sec = SEC_GENERAL, .name = "interval", .type = KT_DURATION, .def = "5m", .min = 1000,
      .off = OFF_G(interval_ms), .help = "Time between two capture rounds (at least 1s)." },
    { .sec = SEC_GENERAL, .name = "window", .type = KT_WINDOW, .def = "11:00-22:00",
      .off = OFF_G(window),
      .help = "Daily capture window HH:MM-HH:MM in local time (may cross midnight), or always." },
    { .sec = SEC_GENERAL, .name = "days", .type = KT_DAYS, .def = "all",
      .off = OFF_G(days),
      .help = "Weekdays on which the window applies: all, or days and ranges (mon-fri, sat,sun)." },
    { .sec = SEC_GENERAL, .name = "stop_grace", .type = KT_DURATION, .def = "20s", .min = 1000,
      .off = OFF_G(stop_grace_ms),
      .help = "On SIGTERM/SIGINT: how long in-flight captures and uploads may take before exit." },
    { .sec = SEC_GENERAL, .name = "drain_grace", .type = KT_DURATION, .def = "10m", .min = 0,
      .off = OFF_G(drain_grace_ms),
      .help = "At the end of the window: how long run --exit-after-window drains the backlog." },
    { .sec = SEC_GENERAL, .name = "timezone", .type = KT_TIMEZONE, .example = "Europe/Paris",
      .off = OFF_G(timezone),
      .help = "Time zone of the window, a name under /usr/share/zoneinfo; unset: system time." },
    { .sec = SEC_GENERAL, .name = "restaurant_id", .type = KT_STRING, .example = "store-001",
      .off = OFF_G(restaurant_id), .help = "Site identifier sent with every row (optional)." },
    { .sec = SEC_GENERAL, .name = "log_level", .type = KT_ENUM, .def = "info",
      .choices = log_level_names, .off = OFF_G(log_level),
      .help = "Least severe message level that is logged." },
    { .sec = SEC_GENERAL, .name = "log_files", .type = KT_BOOL, .def = "yes",
      .off = OFF_G(log_files), .help = "Also write daily log files under state_dir/logs." },
    { .sec = SEC_GENERAL, .name = "log_retention", .type = KT_INT, .def = "14", .min = 0,
      .max = 3650, .off = OFF_G(log_retention_days), .help = "Days to keep daily log files." },
    { .sec = SEC_GENERAL, .name = "workers", .type = KT_INT, .def = "8", .min = 1, .max = 64,
      .off = OFF_G(workers), .help = "Cameras captured at the same time within a round." },
    { .sec = SEC_GENERAL, .name = "jpeg_quality", .type = KT_INT, .def = "90", .min = 1,
      .max = 100, .off = OFF_G(jpeg_quality),
      .help = "JPEG quality used when an image has to be encoded." },

    { .sec = SEC_UPLOAD, .name = "backend", .type = KT_ENUM, .def = "none",
      .choices = backend_names, .off = OFF_U(backend),
      .help = "Where snapshots go: none (kept locally), supabase, or dir." },
    { .sec = SEC_UPLOAD, .name = "url", .type = KT_STRING,
      .example = "https://example.supabase.co", .off = OFF_U(url),
      .help = "Supabase project URL (backend = supabase)." },
    { .sec = SEC_UPLOAD, .name = "key", .type = KT_SECRET, .example = "${SUPABASE_KEY}",
      .off = OFF_U(key), .help = "Supabase API key; better use key_file or ${ENV}." },
    { .sec = SEC_UPLOAD, .name = "key_file", .type = KT_SECRET_FILE, .fills = "key",
      .example = "/etc/camsnap/supabase.key", .off = OFF_U(key),
      .help = "File whose first line is the API key (mode 600)." },
    { .sec = SEC_UPLOAD, .name = "bucket", .type = KT_STRING, .def = "ASE",
      .off = OFF_U(bucket), .help = "Supabase storage bucket for the images." },
    { .sec = SEC_UPLOAD, .name = "table", .type = KT_STRING, .def = "ASE_Snapshot",
      .off = OFF_U(table), .help = "Supabase table that receives one row per snapshot." },
    { .sec = SEC_UPLOAD, .name = "path", .type = KT_PATH, .example = "/srv/camsnap-delivered",
      .off = OFF_U(path), .help = "Destination directory (backend = dir)." },
    { .sec = SEC_UPLOAD, .name = "image_url", .type = KT_ENUM, .def = "public",
      .choices = image_url_names, .off = OFF_U(image_url),
      .help = "What the row references: the public URL or the bucket path." },
    { .sec = SEC_UPLOAD, .name = "ca_file", .type = KT_PATH,
      .example = "/etc/ssl/certs/ca-certificates.crt", .off = OFF_U(ca_file),
      .help = "CA bundle for HTTPS; unset: the system store." },
    { .sec = SEC_UPLOAD, .name = "concurrency", .type = KT_INT, .def = "4", .min = 1,
      .max = 32, .off = OFF_U(concurrency), .help = "Uploads in flight at the same time." },
    { .sec = SEC_UPLOAD, .name = "connect_timeout", .type = KT_DURATION, .def = "10s",
      .min = 1, .off = OFF_U(connect_timeout_ms),
      .help = "Time allowed to connect to the upload server." },
    { .sec = SEC_UPLOAD, .name = "timeout", .type = KT_DURATION, .def = "60s", .min = 1,
      .off = OFF_U(timeout_ms), .help = "Time allowed for one whole upload request." },
    { .sec = SEC_UPLOAD, .name = "backoff_base", .type = KT_DURATION, .def = "30s",
      .off = OFF_U(backoff_base_ms),
      .help = "First retry delay after a failure, doubled each time; 0: use retry_interval." },
    { .sec = SEC_UPLOAD, .name = "backoff_cap", .type = KT_DURATION, .def = "30m",
      .off = OFF_U(backoff_cap_ms), .help = "Longest retry delay." },
    { .sec = SEC_UPLOAD, .name = "retry_interval", .type = KT_DURATION, .def = "10m", .min = 1,
      .off = OFF_U(retry_interval_ms), .help = "Fixed retry delay when backoff_base = 0." },

    { .sec = SEC_CAMERA, .name = "url", .type = KT_STRING,
      .example = "rtsp://192.0.2.27:554/Streaming/Channels/101", .off = OFF_C(url),
      .help = "Required: rtsp://, rtsps://, http:// (snapshot) or synthetic://WIDTHxHEIGHT." },
    { .sec = SEC_CAMERA, .name = "username", .type = KT_STRING, .example = "admin",
      .off = OFF_C(username), .help = "User name for the camera." },
    { .sec = SEC_CAMERA, .name = "password", .type = KT_SECRET, .example = "${CAM27_PASSWORD}",
      .off = OFF_C(password), .help = "Camera password; better use password_file or ${ENV}." },
    { .sec = SEC_CAMERA, .name = "password_file", .type = KT_SECRET_FILE, .fills = "password",
      .example = "/etc/camsnap/cam27.pass", .off = OFF_C(password),
      .help = "File whose first line is the password (mode 600)." },
    { .sec = SEC_CAMERA, .name = "resolution", .type = KT_RESOLUTION, .example = "2592x1944",
      .off = OFF_C(width), .off2 = OFF_C(height),
      .help = "Expected image size; a different size is kept and flagged." },
    { .sec = SEC_CAMERA, .name = "transport", .type = KT_ENUM, .def = "tcp",
      .choices = transport_names, .off = OFF_C(transport), .help = "RTSP transport." },
    { .sec = SEC_CAMERA, .name = "connect_timeout", .type = KT_DURATION, .def = "5s", .min = 1,
      .off = OFF_C(connect_timeout_ms), .help = "Time allowed to connect to the camera." },
    { .sec = SEC_CAMERA, .name = "read_timeout", .type = KT_DURATION, .def = "5s", .min = 1,
      .off = OFF_C(read_timeout_ms), .help = "Longest silence allowed while reading." },
    { .sec = SEC_CAMERA, .name = "timeout", .type = KT_DURATION, .def = "15s", .min = 1,
      .off = OFF_C(deadline_ms), .help = "Time allowed for one whole capture." },
    { .sec = SEC_CAMERA, .name = "max_body", .type = KT_SIZE, .def = "20MB", .min = 1,
      .off = OFF_C(max_body_bytes), .help = "Largest HTTP snapshot accepted." },
    { .sec = SEC_CAMERA, .name = "enabled", .type = KT_BOOL, .def = "yes",
      .off = OFF_C(enabled), .help = "Capture this camera; a disabled one stays configured." },
};
/* clang-format on */

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Renamed keys: still accepted, with a note. */
static const struct {
    enum section sec;
    const char *from, *to;
} aliases[] = {
    {SEC_GENERAL, "quality", "jpeg_quality"},
    {SEC_GENERAL, "log_retention_days", "log_retention"},
    {SEC_CAMERA, "rtsp_transport", "transport"},
};

static const char *const section_names[] = {"general", "upload", "camera"};

enum sec_state { ST_NONE, ST_OK, ST_IGNORED };

struct parser {
    const char *name; /* file name for messages */
    FILE *errs;
    struct config *cfg;
    size_t cap_cameras, cap_origins;
    int n_errors;
    bool nomem;
    /* the reader */
    const char *text;
    size_t len, pos;
    int lineno; /* line being handed to inih */
    int next_line;
    bool at_bol;
    int first_syntax_line; /* first line we reported as malformed */
    int skip_line;         /* a line too long to parse */
    /* the current section */
    enum sec_state st;
    enum section sec;
    size_t cam;
    char label[LABEL_MAX]; /* "upload", "camera 27" */
    /* the first secret written in clear */
    int clear_line;
    char clear_what[LABEL_MAX + 32];
    const char *clear_fix;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void free_str(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static void *field(void *base, size_t off)
{
    return (char *)base + off;
}

static const void *cfield(const void *base, size_t off)
{
    return (const char *)base + off;
}

/* Formats into buf like snprintf; a result that does not fit ends in "...".
 * For messages and display only, where a cut text is acceptable. Returns buf. */
static char *PRINTF_LIKE(3, 4) bprintf(char *buf, size_t sz, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sz, fmt, ap);
    va_end(ap);
    if (n < 0)
        buf[0] = '\0';
    else if ((size_t)n >= sz && sz > 4)
        memcpy(buf + sz - 4, "...", 4);
    return buf;
}

/* Copies s for a message: control characters become '?', long text is cut. */
static const char *shown(const char *s, char *buf, size_t sz)
{
    size_t i = 0;

    for (; *s && i + 1 < sz; s++) {
        if (i + 4 >= sz && s[1]) {
            memcpy(buf + i, "...", 3);
            i += 3;
            break;
        }
        buf[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    }
    buf[i] = '\0';
    return buf;
}

/* Like shown(), but hides the user:password@ part of a URL. */
static const char *shown_url(const char *url, char *buf, size_t sz)
{
    const char *auth = strstr(url, "://");
    const char *host = auth ? auth + 3 : url;
    size_t alen = strcspn(host, "/?#");
    const char *at = NULL;
    char tmp[SHOWN_MAX];

    for (size_t i = 0; i < alen; i++)
        if (host[i] == '@')
            at = host + i;
    if (!at)
        return shown(url, buf, sz);
    shown(at + 1, tmp, sizeof(tmp));
    bprintf(buf, sz, "%.*s***@%s", (int)(host - url > 20 ? 20 : host - url), url, tmp);
    return buf;
}

static void PRINTF_LIKE(5, 6)
    report(struct parser *p, int line, const char *label, const char *key, const char *fmt, ...)
{
    va_list ap;

    p->n_errors++;
    if (!p->errs)
        return;
    if (line > 0)
        fprintf(p->errs, "%s:%d: ", p->name, line);
    else
        fprintf(p->errs, "%s: ", p->name);
    if (label && key)
        fprintf(p->errs, "[%s] %s: ", label, key);
    else if (label)
        fprintf(p->errs, "[%s]: ", label);
    else if (key)
        fprintf(p->errs, "%s: ", key);
    va_start(ap, fmt);
    vfprintf(p->errs, fmt, ap);
    va_end(ap);
    fputc('\n', p->errs);
}

/* ---- the key table ---------------------------------------------------- */

static const struct key_def *find_key(enum section sec, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].sec == sec && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static const struct key_def *file_key_for(const struct key_def *secret)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].type == KT_SECRET_FILE && keys[i].sec == secret->sec &&
            strcmp(keys[i].fills, secret->name) == 0)
            return &keys[i];
    return NULL;
}

static void *section_base(struct config *cfg, enum section sec, size_t cam)
{
    if (sec == SEC_GENERAL)
        return &cfg->general;
    if (sec == SEC_UPLOAD)
        return &cfg->upload;
    return &cfg->cameras[cam];
}

static bool is_string_type(enum key_type t)
{
    return t == KT_STRING || t == KT_PATH || t == KT_SECRET || t == KT_TIMEZONE;
}

/* Case-insensitive Levenshtein distance; large for long input. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[CONFIG_NAME_MAX + 1];

    if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (lower(a[i - 1]) != lower(b[j - 1]));

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static bool is_prefix_ci(const char *prefix, const char *s)
{
    size_t n = strlen(prefix);

    return n >= 2 && strncasecmp(prefix, s, n) == 0;
}

/* The closest of names[0..n) to word: distance <= 2 or a prefix. */
static const char *suggest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;

    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, names[i]);

        if (d < best_d || (!best && is_prefix_ci(word, names[i]))) {
            best = names[i];
            best_d = d < best_d ? d : best_d;
        }
    }
    return best;
}

/* ---- values ----------------------------------------------------------- */

static enum cs_err set_string(char **dst, const char *text)
{
    char *copy = NULL;

    if (*text && !(copy = strdup(text)))
        return CS_NOMEM;
    free_str(*dst);
    *dst = copy;
    return CS_OK;
}

static enum cs_err parse_timezone(const char *text, char **dst, char *why, size_t wsz)
{
    const char *dir = getenv("TZDIR");
    char q[SHOWN_MAX], path[4096];
    struct stat st;
    int n;

    if (!*text)
        return set_string(dst, text);
    shown(text, q, sizeof(q));
    for (const char *s = text; *s; s++) {
        if (!is_alnum(*s) && !strchr("/_+-.", *s)) {
            bprintf(why, wsz,
                    "\"%s\" is not a time zone name; expected a name such as "
                    "Europe/Paris or UTC",
                    q);
            return CS_CONFIG;
        }
    }
    if (text[0] == '/' || strstr(text, "..")) {
        bprintf(why, wsz,
                "\"%s\" is not a time zone name; expected a name such as "
                "Europe/Paris or UTC",
                q);
        return CS_CONFIG;
    }
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    n = snprintf(path, sizeof(path), "%s/%s", dir, text);
    if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) || !S_ISREG(st.st_mode)) {
        bprintf(why, wsz,
                "unknown time zone \"%s\" (no file %s/%s); expected a name such "
                "as Europe/Paris or UTC",
                q, dir, q);
        return CS_CONFIG;
    }
    return set_string(dst, text);
}

/* Reads the first line of an existing, private, non-empty file. */
static enum cs_err read_secret_line(const char *path, char *buf, size_t sz, size_t *out_len,
                                    char *why, size_t wsz)
{
    char q[SHOWN_MAX];
    struct stat st;
    size_t len = 0;
    ssize_t n;
    int fd;

    shown(path, q, sizeof(q));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        bprintf(why, wsz,
                "cannot read %s: %s; expected a file holding the secret on its "
                "first line",
                q, strerror(errno));
        return CS_CONFIG;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        bprintf(why, wsz, "%s is not a regular file; expected a file holding the secret", q);
        goto out_fail;
    }
    if (st.st_mode & 077) {
        bprintf(why, wsz, "%s is readable by group or others (mode %04o); run: chmod 600 %s", q,
                (unsigned)(st.st_mode & 07777), q);
        goto out_fail;
    }
    while (len + 1 < sz && (n = read(fd, buf + len, sz - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            bprintf(why, wsz, "cannot read %s: %s", q, strerror(errno));
            goto out_fail;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *out_len = len;
    return CS_OK;
out_fail:
    close(fd);
    return CS_CONFIG;
}

static enum cs_err parse_secret_file(const struct key_def *k, const char *path, void *base,
                                     char *why, size_t wsz)
{
    char buf[SECRET_FILE_MAX], q[SHOWN_MAX];
    const char *nl;
    enum cs_err rc;
    size_t n, len = 0;

    if (!*path) {
        bprintf(why, wsz, "is empty; expected the path of a file holding the secret");
        return CS_CONFIG;
    }
    rc = read_secret_line(path, buf, sizeof(buf), &len, why, wsz);
    if (rc)
        goto out;
    shown(path, q, sizeof(q));
    nl = memchr(buf, '\n', len);
    n = nl ? (size_t)(nl - buf) : len;
    if (n == sizeof(buf) - 1 || memchr(buf, '\0', n)) {
        bprintf(why, wsz, "%s: the first line is too long or holds a NUL byte", q);
        rc = CS_CONFIG;
        goto out;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0) {
        bprintf(why, wsz, "%s is empty; expected the secret on its first line", q);
        rc = CS_CONFIG;
        goto out;
    }
    rc = set_string(field(base, k->off), buf);
out:
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

static enum cs_err parse_duration_value(const struct key_def *k, const char *text, int64_t *dst,
                                        char *why, size_t wsz)
{
    char q[SHOWN_MAX], lim[32];
    int64_t v;

    shown(text, q, sizeof(q));
    if (units_parse_duration(text, &v)) {
        bprintf(why, wsz,
                "\"%s\" is not a duration; expected a number with a unit such as "
                "30s, 5m, 1h30m or 250ms",
                q);
        return CS_CONFIG;
    }
    if (v < k->min) {
        bprintf(why, wsz, "\"%s\" is too short; expected at least %s", q,
                units_format_duration(k->min, lim, sizeof(lim)));
        return CS_CONFIG;
    }
    if (k->max && v > k->max) {
        bprintf(why, wsz, "\"%s\" is too long; expected at most %s", q,
                units_format_duration(k->max, lim, sizeof(lim)));
        return CS_CONFIG;
    }
    *dst = v;
    return CS_OK;
}

static enum cs_err parse_size_value(const struct key_def *k, const char *text, int64_t *dst,
                                    char *why, size_t wsz)
{
    char q[SHOWN_MAX];
    int64_t v;

    shown(text, q, sizeof(q));
    if (units_parse_size(text, &v)) {
        bprintf(why, wsz,
                "\"%s\" is not a size; expected a number with a unit such as "
                "512KB, 20MB or 1.5GiB",
                q);
        return CS_CONFIG;
    }
    if (v < k->min || (k->max && v > k->max)) {
        bprintf(why, wsz, "\"%s\" is out of range; expected %lld to %lld bytes", q,
                (long long)k->min, (long long)(k->max ? k->max : INT64_MAX));
        return CS_CONFIG;
    }
    *dst = v;
    return CS_OK;
}

static void list_choices(const char *const *choices, char *buf, size_t sz)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; choices[i] && off < sz; i++) {
        int n = snprintf(buf + off, sz - off, "%s%s", i ? ", " : "", choices[i]);

        if (n < 0)
            break;
        off += (size_t)n;
    }
}

static enum cs_err parse_enum_value(const struct key_def *k, const char *text, int *dst, char *why,
                                    size_t wsz)
{
    char q[SHOWN_MAX], list[128];

    for (int i = 0; k->choices[i]; i++) {
        if (strcasecmp(text, k->choices[i]) == 0) {
            *dst = i;
            return CS_OK;
        }
    }
    list_choices(k->choices, list, sizeof(list));
    bprintf(why, wsz, "\"%s\" is not one of: %s", shown(text, q, sizeof(q)), list);
    return CS_CONFIG;
}

/* Parses a scalar (non-string) value into its field. */
static enum cs_err parse_scalar(const struct key_def *k, const char *text, void *base, char *why,
                                size_t wsz)
{
    void *dst = field(base, k->off);
    char q[SHOWN_MAX];
    int64_t max = k->max ? k->max : INT64_MAX;

    shown(text, q, sizeof(q));
    switch (k->type) {
    case KT_INT:
        if (!units_parse_int(text, k->min, max, dst))
            return CS_OK;
        bprintf(why, wsz, "\"%s\" is not a whole number from %lld to %lld", q, (long long)k->min,
                (long long)max);
        return CS_CONFIG;
    case KT_BOOL:
        if (!units_parse_bool(text, dst))
            return CS_OK;
        bprintf(why, wsz,
                "\"%s\" is not a yes/no value; expected yes, no, true, false, on, "
                "off, 1 or 0",
                q);
        return CS_CONFIG;
    case KT_DAYS:
        if (!units_parse_days(text, dst))
            return CS_OK;
        bprintf(why, wsz,
                "\"%s\" is not a set of weekdays; expected all, or days and ranges "
                "such as mon-fri or sat,sun",
                q);
        return CS_CONFIG;
    case KT_WINDOW:
        if (!units_parse_window(text, dst))
            return CS_OK;
        bprintf(why, wsz,
                "\"%s\" is not a time window; expected HH:MM-HH:MM such as "
                "11:00-22:00, or always",
                q);
        return CS_CONFIG;
    case KT_RESOLUTION:
        if (!*text) {
            *(int *)dst = 0;
            *(int *)field(base, k->off2) = 0;
            return CS_OK;
        }
        if (!units_parse_resolution(text, dst, field(base, k->off2)))
            return CS_OK;
        bprintf(why, wsz,
                "\"%s\" is not a resolution; expected WIDTHxHEIGHT such as "
                "2592x1944",
                q);
        return CS_CONFIG;
    default: bprintf(why, wsz, "internal error: key type %d", (int)k->type); return CS_CONFIG;
    }
}

/*
 * Parses text (already ${...}-expanded) into k's field inside base. On
 * failure returns CS_CONFIG with "what was wrong; what was expected" in why
 * (never echoing a secret), or CS_NOMEM.
 */
static enum cs_err parse_value(const struct key_def *k, const char *text, void *base, char *why,
                               size_t wsz)
{
    switch (k->type) {
    case KT_STRING:
    case KT_SECRET: return set_string(field(base, k->off), text);
    case KT_PATH:
        if (!*text) {
            bprintf(why, wsz, "is empty; expected a path");
            return CS_CONFIG;
        }
        return set_string(field(base, k->off), text);
    case KT_TIMEZONE: return parse_timezone(text, field(base, k->off), why, wsz);
    case KT_SECRET_FILE: return parse_secret_file(k, text, base, why, wsz);
    case KT_DURATION: return parse_duration_value(k, text, field(base, k->off), why, wsz);
    case KT_SIZE: return parse_size_value(k, text, field(base, k->off), why, wsz);
    case KT_ENUM: return parse_enum_value(k, text, field(base, k->off), why, wsz);
    default: return parse_scalar(k, text, base, why, wsz);
    }
}

static void apply_defaults(struct parser *p, enum section sec, void *base)
{
    char why[512];

    for (size_t i = 0; i < N_KEYS; i++) {
        enum cs_err rc;

        if (keys[i].sec != sec || !keys[i].def)
            continue;
        rc = parse_value(&keys[i], keys[i].def, base, why, sizeof(why));
        if (rc == CS_NOMEM)
            p->nomem = true;
        else if (rc)
            report(p, 0, section_names[sec], keys[i].name, "bad built-in default: %s", why);
    }
}

/* ---- origins ---------------------------------------------------------- */

static struct config_origin *find_origin(const struct config *cfg, enum section sec, size_t cam,
                                         const struct key_def *k)
{
    for (size_t i = 0; i < cfg->n_origins; i++) {
        struct config_origin *o = &cfg->origins[i];

        if (o->sec == sec && o->key == k && (sec != SEC_CAMERA || o->cam == cam))
            return o;
    }
    return NULL;
}

static struct config_origin *origin_by_name(const struct config *cfg, enum section sec, size_t cam,
                                            const char *name)
{
    return find_origin(cfg, sec, cam, find_key(sec, name));
}

static struct config_origin *add_origin(struct parser *p, enum section sec, size_t cam,
                                        const struct key_def *k, int lineno)
{
    struct config *cfg = p->cfg;
    struct config_origin *o;

    if (cfg->n_origins == p->cap_origins) {
        size_t cap = p->cap_origins ? 2 * p->cap_origins : 32;
        struct config_origin *n = realloc(cfg->origins, cap * sizeof(*n));

        if (!n) {
            p->nomem = true;
            return NULL;
        }
        cfg->origins = n;
        p->cap_origins = cap;
    }
    o = &cfg->origins[cfg->n_origins++];
    *o = (struct config_origin){.sec = sec, .cam = cam, .key = k, .lineno = lineno};
    return o;
}

static int line_of(const struct config_origin *o, int fallback)
{
    return o && o->lineno > 0 ? o->lineno : fallback;
}

static void note_clear_secret(struct parser *p, int line, const char *what, const char *fix)
{
    if (p->clear_line)
        return;
    p->clear_line = line;
    p->clear_fix = fix;
    bprintf(p->clear_what, sizeof(p->clear_what), "%s", what);
}

/* ---- ${VAR} expansion ------------------------------------------------- */

/* A growing string whose old copies are zeroed: it may hold secrets. */
struct sbuf {
    char *s;
    size_t len, cap;
    bool nomem;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->nomem)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *ns;

        while (cap < b->len + n + 1)
            cap *= 2;
        ns = malloc(cap);
        if (!ns) {
            b->nomem = true;
            return;
        }
        if (b->s) {
            memcpy(ns, b->s, b->len);
            explicit_bzero(b->s, b->cap);
            free(b->s);
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_wipe(struct sbuf *b)
{
    if (b->s)
        explicit_bzero(b->s, b->cap);
    free(b->s);
    *b = (struct sbuf){0};
}

struct expansion {
    bool literal;           /* some text did not come from a variable */
    char var[VAR_NAME_MAX]; /* first variable expanded, "" if none */
};

static bool valid_var_name(const char *s, size_t n)
{
    if (n == 0 || n >= VAR_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_')
            return false;
    return true;
}

/* Expands one "${NAME}" at s (s[0] == '$', s[1] == '{'); returns the text after
 * it, or NULL when the reference is malformed (reported). */
static const char *expand_var(struct parser *p, const struct key_def *k, const char *s,
                              struct sbuf *b, struct expansion *ex, bool *failed)
{
    const char *close = strchr(s + 2, '}');
    char name[VAR_NAME_MAX], q[SHOWN_MAX];
    const char *v;
    size_t n;

    if (!close) {
        report(p, p->lineno, p->label, k->name,
               "unterminated \"${\"; expected ${NAME} "
               "(write $$ for a literal '$')");
        return NULL;
    }
    n = (size_t)(close - (s + 2));
    if (!valid_var_name(s + 2, n)) {
        bprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), s + 2);
        if (k->type == KT_SECRET || (k->sec == SEC_CAMERA && strcmp(k->name, "url") == 0))
            bprintf(name, sizeof(name), "...");
        report(p, p->lineno, p->label, k->name,
               "\"${%s}\" is not a variable reference; "
               "expected ${NAME} with letters, digits and '_'",
               shown(name, q, sizeof(q)));
        return NULL;
    }
    memcpy(name, s + 2, n);
    name[n] = '\0';
    v = getenv(name);
    if (!v) {
        report(p, p->lineno, p->label, k->name,
               "environment variable %s is not set; "
               "expected it in camsnap's environment (write $$ for a literal '$')",
               name);
        *failed = true;
    } else {
        sb_add(b, v, strlen(v));
    }
    if (!ex->var[0])
        memcpy(ex->var, name, n + 1);
    return close + 1;
}

/* Expands ${NAME} and $$ in raw into a new string (*out, zero then free it). */
static enum cs_err expand(struct parser *p, const struct key_def *k, const char *raw, char **out,
                          struct expansion *ex)
{
    struct sbuf b = {0};
    bool failed = false;
    const char *s = raw;

    *ex = (struct expansion){.literal = false};
    sb_add(&b, "", 0);
    while (s && *s) {
        if (s[0] == '$' && s[1] == '$') {
            sb_add(&b, "$", 1);
            ex->literal = true;
            s += 2;
        } else if (s[0] == '$' && s[1] == '{') {
            s = expand_var(p, k, s, &b, ex, &failed);
            failed |= s == NULL;
        } else {
            sb_add(&b, s++, 1);
            ex->literal = true;
        }
    }
    if (b.nomem || failed) {
        enum cs_err rc = b.nomem ? CS_NOMEM : CS_CONFIG;

        p->nomem |= b.nomem;
        sb_wipe(&b);
        return rc;
    }
    *out = b.s;
    return CS_OK;
}

/* ---- keys from the file ----------------------------------------------- */

/* True when a raw (unexpanded) url writes a password in clear: "user:pw@host"
 * rather than "user:${PW}@host" or "${CREDENTIALS}@host". */
static bool url_has_clear_password(const char *raw)
{
    const char *auth = strstr(raw, "://"), *at = NULL, *s;
    size_t alen;

    if (!auth)
        return false;
    auth += 3;
    alen = strcspn(auth, "/?#");
    for (size_t j = 0; j < alen; j++)
        if (auth[j] == '@')
            at = auth + j;
    if (!at)
        return false;
    s = memchr(auth, ':', (size_t)(at - auth));
    for (s = s ? s + 1 : auth; s < at;) {
        const char *close = memchr(s, '}', (size_t)(at - s));

        if (s[0] != '$' || s + 1 >= at || s[1] != '{' || !close)
            return true;
        s = close + 1;
    }
    return false;
}

static void record_origin(struct parser *p, const struct key_def *k, const char *raw,
                          const char *val, const struct expansion *ex)
{
    struct config_origin *o = add_origin(p, p->sec, p->cam, k, p->lineno);

    if (!o)
        return;
    o->env_only = ex->var[0] && !ex->literal;
    o->url_pw = k->sec == SEC_CAMERA && strcmp(k->name, "url") == 0 && url_has_clear_password(raw);
    if (ex->var[0] && !(o->var = strdup(ex->var)))
        p->nomem = true;
    if (k->type == KT_SECRET_FILE && !(o->file = strdup(val)))
        p->nomem = true;
    if (k->type == KT_SECRET && ex->literal) {
        char what[sizeof(p->clear_what)];
        const struct key_def *fk = file_key_for(k);

        bprintf(what, sizeof(what), "[%s] %s", p->label, k->name);
        note_clear_secret(p, p->lineno, what, fk ? fk->name : "a *_file key");
    }
}

static void set_from_file(struct parser *p, const struct key_def *k, const char *raw)
{
    const struct config_origin *prev = find_origin(p->cfg, p->sec, p->cam, k);
    struct expansion ex;
    char why[1024];
    char *val = NULL;
    enum cs_err rc;

    if (prev) {
        report(p, p->lineno, p->label, k->name,
               "set twice in one section; the first value is "
               "at line %d; expected one of them",
               prev->lineno);
        return;
    }
    if (expand(p, k, raw, &val, &ex))
        return;
    rc = parse_value(k, val, section_base(p->cfg, p->sec, p->cam), why, sizeof(why));
    if (rc == CS_NOMEM)
        p->nomem = true;
    else if (rc)
        report(p, p->lineno, p->label, k->name, "%s", why);
    else
        record_origin(p, k, raw, val, &ex);
    free_str(val);
}

static void unknown_key(struct parser *p, const char *name)
{
    const char *names[N_KEYS];
    const char *other = NULL, *hint;
    char list[512], q[SHOWN_MAX];
    size_t n = 0, off = 0;

    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].sec == p->sec)
            names[n++] = keys[i].name;
        else if (!other && strcmp(keys[i].name, name) == 0)
            other = section_names[keys[i].sec];
    }
    shown(name, q, sizeof(q));
    hint = suggest(name, names, n);
    if (hint) {
        report(p, p->lineno, p->label, q, "unknown key; did you mean '%s'?", hint);
        return;
    }
    if (other) {
        report(p, p->lineno, p->label, q, "unknown key here; it belongs in [%s%s]", other,
               strcmp(other, "camera") == 0 ? " NAME" : "");
        return;
    }
    list[0] = '\0';
    for (size_t i = 0; i < n && off < sizeof(list); i++) {
        int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", names[i]);

        off += w > 0 ? (size_t)w : 0;
    }
    report(p, p->lineno, p->label, q, "unknown key; expected one of: %s", list);
}

static const struct key_def *lookup_key(struct parser *p, const char *name)
{
    const struct key_def *k = find_key(p->sec, name);

    if (k)
        return k;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (aliases[i].sec == p->sec && strcmp(aliases[i].from, name) == 0) {
            if (p->errs)
                fprintf(p->errs, "%s:%d: note: '%s' is now called '%s'\n", p->name, p->lineno,
                        aliases[i].from, aliases[i].to);
            return find_key(p->sec, aliases[i].to);
        }
    }
    unknown_key(p, name);
    return NULL;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;
    const struct key_def *k;
    char q[SHOWN_MAX];

    (void)section; /* inih cuts long section names; ours come from scan_line() */
    if (p->lineno == p->skip_line || p->st == ST_IGNORED)
        return 1;
    if (p->st == ST_NONE) {
        report(p, p->lineno, NULL, shown(name, q, sizeof(q)),
               "set before any section; "
               "expected it under [general], [upload] or [camera NAME]");
        return 1;
    }
    k = lookup_key(p, name);
    if (k && value)
        set_from_file(p, k, value);
    return 1; /* errors are ours to report, with their line */
}

/* ---- sections --------------------------------------------------------- */

static void begin_camera(struct parser *p, const char *b, const char *e)
{
    struct config *cfg = p->cfg;
    struct camera_config *cam;
    const char *why;
    char *name = strndup(b, (size_t)(e - b));

    if (!name) {
        p->nomem = true;
        return;
    }
    if (config_validate_name(name, &why)) {
        report(p, p->lineno, p->label, NULL,
               "camera name %s; expected 1 to %d letters, "
               "digits, '.', '_' or '-', not starting with '.'",
               why, CONFIG_NAME_MAX);
        goto out_free;
    }
    for (size_t i = 0; i < cfg->n_cameras; i++) {
        if (strcmp(cfg->cameras[i].name, name) == 0) {
            report(p, p->lineno, p->label, NULL,
                   "duplicate section; camera \"%s\" is already "
                   "defined at line %d",
                   name, cfg->cameras[i].lineno);
            goto out_free;
        }
    }
    if (cfg->n_cameras == p->cap_cameras) {
        size_t cap = p->cap_cameras ? 2 * p->cap_cameras : 8;
        struct camera_config *n = realloc(cfg->cameras, cap * sizeof(*n));

        if (!n) {
            p->nomem = true;
            goto out_free;
        }
        cfg->cameras = n;
        p->cap_cameras = cap;
    }
    cam = &cfg->cameras[cfg->n_cameras];
    *cam = (struct camera_config){.name = name, .lineno = p->lineno};
    p->cam = cfg->n_cameras++;
    p->sec = SEC_CAMERA;
    p->st = ST_OK;
    apply_defaults(p, SEC_CAMERA, cam);
    return;
out_free:
    free(name);
}

static void unknown_section(struct parser *p, const char *word, const char *rest)
{
    const char *hint = suggest(word, section_names, 3);

    if (hint && strcmp(hint, "camera") == 0)
        report(p, p->lineno, p->label, NULL,
               "unknown section; did you mean '[camera %s]'? "
               "expected [general], [upload] or [camera NAME]",
               *rest ? rest : "NAME");
    else if (hint)
        report(p, p->lineno, p->label, NULL,
               "unknown section; did you mean '[%s]'? "
               "expected [general], [upload] or [camera NAME]",
               hint);
    else
        report(p, p->lineno, p->label, NULL,
               "unknown section; expected [general], [upload] "
               "or [camera NAME]");
}

/* Handles "[...]"; [b, e) is the text between the brackets. */
static void begin_section(struct parser *p, const char *b, const char *e)
{
    char word[LABEL_MAX], rest[LABEL_MAX], raw[LABEL_MAX];
    const char *w, *r;

    while (b < e && is_space(*b))
        b++;
    while (e > b && is_space(e[-1]))
        e--;
    for (w = b; w < e && !is_space(*w); w++)
        ;
    for (r = w; r < e && is_space(*r); r++)
        ;
    bprintf(raw, sizeof(raw), "%.*s", (int)(e - b < LABEL_MAX ? e - b : LABEL_MAX - 1), b);
    shown(raw, p->label, sizeof(p->label));
    bprintf(word, sizeof(word), "%.*s", (int)(w - b < LABEL_MAX ? w - b : LABEL_MAX - 1), b);
    bprintf(rest, sizeof(rest), "%.*s", (int)(e - r < LABEL_MAX ? e - r : LABEL_MAX - 1), r);
    p->st = ST_IGNORED;
    if (strcmp(word, "general") == 0 || strcmp(word, "upload") == 0) {
        if (r != e) {
            report(p, p->lineno, p->label, NULL, "[%s] takes no name; expected [%s]", word, word);
            return;
        }
        p->sec = word[0] == 'g' ? SEC_GENERAL : SEC_UPLOAD;
        p->cam = 0;
        p->st = ST_OK;
    } else if (strcmp(word, "camera") == 0) {
        if (r == e)
            report(p, p->lineno, p->label, NULL,
                   "a camera section needs a name; expected "
                   "[camera NAME] such as [camera 27]");
        else
            begin_camera(p, r, e);
    } else {
        char rest_shown[LABEL_MAX];

        unknown_section(p, shown(word, raw, sizeof(raw)),
                        shown(rest, rest_shown, sizeof(rest_shown)));
    }
}

/* ---- the reader: feeds inih and reads headers and malformed lines ------ */

static const char *find_stop(const char *s, const char *e, const char *chars)
{
    bool was_space = false;

    for (; s < e; s++) {
        if (*s && strchr(chars, *s))
            return s;
        if (was_space && (*s == ';' || *s == '#'))
            return e; /* an inline comment */
        was_space = is_space(*s);
    }
    return e;
}

static void syntax_error(struct parser *p, const char *what)
{
    if (!p->first_syntax_line)
        p->first_syntax_line = p->lineno;
    report(p, p->lineno, NULL, NULL, "%s", what);
}

/* Looks at the whole line that starts at p->pos, before inih sees it. */
static void scan_line(struct parser *p)
{
    const char *s = p->text + p->pos;
    const char *nl = memchr(s, '\n', p->len - p->pos);
    const char *e = nl ? nl : p->text + p->len;
    const char *stop;

    if (e - s > CONFIG_LINE_MAX - 2) {
        p->skip_line = p->lineno;
        syntax_error(p, "line is too long; expected at most 65534 characters");
        return;
    }
    if (p->lineno == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    if (s == e || *s == ';' || *s == '#')
        return;
    if (*s == '[') {
        stop = find_stop(s + 1, e, "]");
        if (stop < e && *stop == ']') {
            begin_section(p, s + 1, stop);
        } else {
            p->st = ST_IGNORED;
            syntax_error(p, "section header without ']'; expected [general], [upload] or "
                            "[camera NAME]");
        }
        return;
    }
    stop = find_stop(s, e, "=:");
    if (stop == e)
        syntax_error(p, "not a setting; expected key = value, a [section] header or a "
                        "comment starting with ; or #");
}

/* An fgets() over the text; inih may call it several times for one line. */
static char *reader(char *str, int num, void *stream)
{
    struct parser *p = stream;
    size_t n = 0;

    if (num < 2 || p->pos >= p->len)
        return NULL;
    if (p->at_bol) {
        p->lineno = p->next_line++;
        scan_line(p);
    }
    while (n + 1 < (size_t)num && p->pos < p->len) {
        char c = p->text[p->pos++];

        str[n++] = c;
        if (c == '\n')
            break;
    }
    str[n] = '\0';
    p->at_bol = str[n - 1] == '\n';
    return str;
}

/* ---- cross-key validation --------------------------------------------- */

static void check_timeouts(struct parser *p, enum section sec, size_t cam, const char *label,
                           int64_t connect_ms, int64_t total_ms, int fallback_line)
{
    char a[32], b[32];
    const struct config_origin *o = origin_by_name(p->cfg, sec, cam, "timeout");

    if (!o)
        o = origin_by_name(p->cfg, sec, cam, "connect_timeout");
    if (total_ms < connect_ms)
        report(p, line_of(o, fallback_line), label, "timeout",
               "%s is shorter than "
               "connect_timeout %s; expected timeout >= connect_timeout",
               units_format_duration(total_ms, a, sizeof(a)),
               units_format_duration(connect_ms, b, sizeof(b)));
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void both_set(struct parser *p, enum section sec, size_t cam, const char *label,
                     const char *a, const char *b)
{
    const struct config_origin *oa = origin_by_name(p->cfg, sec, cam, a);
    const struct config_origin *ob = origin_by_name(p->cfg, sec, cam, b);

    if (oa && ob && !oa->from_url)
        report(p, ob->lineno, label, b,
               "%s is also set (line %d); expected only one of %s "
               "and %s",
               a, oa->lineno, a, b);
}

static void validate_upload(struct parser *p)
{
    const struct config_upload *u = &p->cfg->upload;
    int line = line_of(origin_by_name(p->cfg, SEC_UPLOAD, 0, "backend"), 0);
    char q[SHOWN_MAX];

    both_set(p, SEC_UPLOAD, 0, "upload", "key", "key_file");
    if (u->backend == UPLOAD_SUPABASE && !u->url)
        report(p, line, "upload", "url",
               "missing; backend = supabase needs the project URL "
               "such as url = https://example.supabase.co");
    if (u->backend == UPLOAD_SUPABASE && !u->key)
        report(p, line, "upload", "key",
               "missing; backend = supabase needs the API key: "
               "key_file = /etc/camsnap/supabase.key or key = ${SUPABASE_KEY}");
    if (u->backend == UPLOAD_DIR && !u->path)
        report(p, line, "upload", "path",
               "missing; backend = dir needs the destination "
               "directory such as path = /srv/camsnap-delivered");
    if (u->url && !has_prefix_ci(u->url, "http://") && !has_prefix_ci(u->url, "https://"))
        report(p, line_of(origin_by_name(p->cfg, SEC_UPLOAD, 0, "url"), 0), "upload", "url",
               "\"%s\" is not a web address; expected https://...",
               shown_url(u->url, q, sizeof(q)));
    check_timeouts(p, SEC_UPLOAD, 0, "upload", u->connect_timeout_ms, u->timeout_ms, 0);
    if (u->backoff_base_ms > 0 && u->backoff_cap_ms < u->backoff_base_ms)
        report(p, line_of(origin_by_name(p->cfg, SEC_UPLOAD, 0, "backoff_cap"), 0), "upload",
               "backoff_cap",
               "is shorter than backoff_base; expected backoff_cap >= "
               "backoff_base");
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes %XX escapes of [b, e) into a new string; *bad on a bad escape or %00. */
static char *url_decode(const char *b, const char *e, bool *bad)
{
    char *out = malloc((size_t)(e - b) + 1), *o = out;

    if (!out)
        return NULL;
    for (; b < e; b++) {
        unsigned v;

        if (*b != '%') {
            *o++ = *b;
            continue;
        }
        if (e - b < 3 || hex_value(b[1]) < 0 || hex_value(b[2]) < 0 ||
            (v = (unsigned)(hex_value(b[1]) * 16 + hex_value(b[2]))) == 0) {
            *bad = true;
            break;
        }
        *o++ = (char)v;
        b += 2;
    }
    *o = '\0';
    return out;
}

static void add_url_origin(struct parser *p, size_t i, const char *key, int line, bool env_only)
{
    struct config_origin *o = add_origin(p, SEC_CAMERA, i, find_key(SEC_CAMERA, key), line);

    if (o) {
        o->env_only = env_only;
        o->from_url = true;
    }
}

/* Stores the decoded credentials of camera i; takes *user and *pass. */
static void move_credentials(struct parser *p, size_t i, const struct config_origin *ou,
                             char **user, char **pass, const char *label)
{
    struct camera_config *c = &p->cfg->cameras[i];
    int line = line_of(ou, c->lineno);
    bool env_only = ou && ou->env_only; /* ou dies when add_origin() grows the array */
    bool clear = ou && ou->url_pw;
    char what[LABEL_MAX + 32];

    if (**user) {
        c->username = *user;
        *user = NULL;
        add_url_origin(p, i, "username", line, env_only);
    }
    if (*pass && **pass) {
        c->password = *pass;
        *pass = NULL;
        add_url_origin(p, i, "password", line, env_only);
        bprintf(what, sizeof(what), "[%s] url credentials", label);
        if (clear)
            note_clear_secret(p, line, what, "password_file");
    }
}

/* Moves "user:password@" out of a camera url into username and password. */
static void move_url_credentials(struct parser *p, size_t i, const char *label)
{
    struct camera_config *c = &p->cfg->cameras[i];
    struct config_origin *ou = origin_by_name(p->cfg, SEC_CAMERA, i, "url");
    const char *auth = strstr(c->url, "://"), *at = NULL, *colon;
    char *user, *pass = NULL, *url;
    bool bad = false;
    size_t alen;

    if (!auth)
        return;
    auth += 3;
    alen = strcspn(auth, "/?#");
    for (size_t j = 0; j < alen; j++)
        if (auth[j] == '@')
            at = auth + j;
    if (!at)
        return;
    colon = memchr(auth, ':', (size_t)(at - auth));
    user = url_decode(auth, colon ? colon : at, &bad);
    if (colon)
        pass = url_decode(colon + 1, at, &bad);
    url = malloc(strlen(c->url) + 1);
    if (!user || (colon && !pass) || !url) {
        p->nomem = true;
        goto out;
    }
    memcpy(url, c->url, (size_t)(auth - c->url));
    memcpy(url + (auth - c->url), at + 1, strlen(at + 1) + 1);
    free_str(c->url);
    c->url = url;
    url = NULL;
    if (bad) {
        report(p, line_of(ou, c->lineno), label, "url",
               "the user:password@ part has a bad "
               "%%-escape; expected %%XX with two hex digits, not %%00");
    } else if (c->username || c->password) {
        report(p, line_of(ou, c->lineno), label, "url",
               "holds user:password@ while username "
               "or password is also set; expected the credentials in one place");
    } else {
        move_credentials(p, i, ou, &user, &pass, label);
    }
out:
    free_str(user);
    free_str(pass);
    free(url);
}

static void check_camera_url(struct parser *p, size_t i, const char *label)
{
    static const char *const schemes[] = {"rtsp://", "rtsps://", "http://", "https://"};
    const struct camera_config *c = &p->cfg->cameras[i];
    int line = line_of(origin_by_name(p->cfg, SEC_CAMERA, i, "url"), c->lineno);
    char q[SHOWN_MAX];
    int w, h;

    shown_url(c->url, q, sizeof(q));
    if (has_prefix_ci(c->url, "synthetic://")) {
        /* The size; options after '?' are checked by the source itself. */
        const char *size = c->url + strlen("synthetic://");
        char res[32];
        snprintf(res, sizeof(res), "%.*s", (int)strcspn(size, "?"), size);
        if (units_parse_resolution(res, &w, &h))
            report(p, line, label, "url",
                   "\"%s\" is not a synthetic camera; expected "
                   "synthetic://WIDTHxHEIGHT[?delay=DURATION&fail=WHAT] such as "
                   "synthetic://1920x1080",
                   q);
        return;
    }
    for (size_t j = 0; j < sizeof(schemes) / sizeof(schemes[0]); j++) {
        const char *host = c->url + strlen(schemes[j]);

        if (!has_prefix_ci(c->url, schemes[j]))
            continue;
        if (!*host || strchr("/?#:", *host))
            report(p, line, label, "url",
                   "\"%s\" has no host; expected such as "
                   "%s192.0.2.27/...",
                   q, schemes[j]);
        return;
    }
    report(p, line, label, "url",
           "\"%s\" is not a camera URL; expected rtsp://, rtsps://, "
           "http://, https:// or synthetic://WIDTHxHEIGHT",
           q);
}

static void validate_camera(struct parser *p, size_t i)
{
    struct camera_config *c = &p->cfg->cameras[i];
    char label[LABEL_MAX];

    bprintf(label, sizeof(label), "camera %s", c->name);
    both_set(p, SEC_CAMERA, i, label, "password", "password_file");
    check_timeouts(p, SEC_CAMERA, i, label, c->connect_timeout_ms, c->deadline_ms, c->lineno);
    if (!c->url) {
        report(p, c->lineno, label, "url",
               "missing; every camera needs url = "
               "rtsp://HOST/PATH, http://HOST/PATH or synthetic://WIDTHxHEIGHT");
        return;
    }
    move_url_credentials(p, i, label);
    check_camera_url(p, i, label);
}

/* Refuses a group- or world-accessible file that holds a secret in clear. */
static void check_mode(struct parser *p, const struct stat *st)
{
    if (!st || !p->clear_line || !(st->st_mode & 077))
        return;
    report(p, 0, NULL, NULL,
           "holds a secret (line %d: %s) but is readable by group or others "
           "(mode %04o); run: chmod 600 %s  or move the secret to %s / ${ENV}",
           p->clear_line, p->clear_what, (unsigned)(st->st_mode & 07777), p->name, p->clear_fix);
}

static void apply_override(struct parser *p, const char *dir)
{
    const struct key_def *k = find_key(SEC_GENERAL, "state_dir");
    struct config_origin *o;

    if (!dir)
        return;
    if (!*dir) {
        report(p, 0, "general", "state_dir", "--state-dir is empty; expected a directory");
        return;
    }
    if (set_string(&p->cfg->general.state_dir, dir)) {
        p->nomem = true;
        return;
    }
    o = find_origin(p->cfg, SEC_GENERAL, 0, k);
    if (!o)
        o = add_origin(p, SEC_GENERAL, 0, k, 0);
    if (!o)
        return;
    free(o->var);
    *o = (struct config_origin){.sec = SEC_GENERAL, .key = k, .override = true};
}

static void set_ini_options(void)
{
    static char comment_prefixes[] = ";#";
    static char inline_prefixes[] = ";#";

    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = CONFIG_LINE_MAX;
    ini_allow_multiline = false;
    ini_allow_inline_comments = true;
    ini_inline_comment_prefixes = inline_prefixes;
    ini_start_comment_prefixes = comment_prefixes;
    ini_allow_no_value = false;
    ini_stop_on_first_error = false;
    ini_allow_bom = true;
}

/* Parses and validates text; st (may be NULL) is the file's for the mode check. */
static enum cs_err load_text(const char *text, size_t len, const char *name, const char *path,
                             const struct stat *st, const char *override, FILE *errs,
                             struct config **out)
{
    struct parser p = {
        .name = name, .errs = errs, .text = text, .len = len, .next_line = 1, .at_bol = true};
    enum cs_err rc = CS_OK;
    int r;

    p.cfg = calloc(1, sizeof(*p.cfg));
    if (!p.cfg || (path && !(p.cfg->path = strdup(path)))) {
        free(p.cfg);
        return CS_NOMEM;
    }
    apply_defaults(&p, SEC_GENERAL, &p.cfg->general);
    apply_defaults(&p, SEC_UPLOAD, &p.cfg->upload);
    set_ini_options();
    r = ini_parse_stream(reader, &p, on_key, &p);
    if (r == -2)
        p.nomem = true;
    else if (r > 0 && r != p.first_syntax_line && !p.skip_line)
        report(&p, r, NULL, NULL,
               "cannot parse this line; expected key = value, a [section] "
               "header or a comment");
    apply_override(&p, override);
    validate_upload(&p);
    for (size_t i = 0; i < p.cfg->n_cameras; i++)
        validate_camera(&p, i);
    check_mode(&p, st);
    if (p.nomem)
        rc = CS_NOMEM;
    else if (p.n_errors)
        rc = CS_CONFIG;
    if (rc) {
        config_free(p.cfg);
        return rc;
    }
    *out = p.cfg;
    return CS_OK;
}

static void PRINTF_LIKE(3, 4) file_error(FILE *errs, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (!errs)
        return;
    fprintf(errs, "%s: ", name);
    va_start(ap, fmt);
    vfprintf(errs, fmt, ap);
    va_end(ap);
    fputc('\n', errs);
}

/* Reads a whole regular file of at most CONFIG_FILE_MAX bytes into *text. */
static enum cs_err read_config_file(const char *path, FILE *errs, char **text, size_t *len,
                                    struct stat *st)
{
    enum cs_err rc = CS_IO;
    size_t cap, n = 0;
    char *buf = NULL;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        file_error(errs, path, "cannot open: %s", strerror(errno));
        return CS_IO;
    }
    if (fstat(fd, st) || !S_ISREG(st->st_mode) || st->st_size > CONFIG_FILE_MAX) {
        file_error(errs, path, "not a regular file of at most %d bytes", CONFIG_FILE_MAX);
        rc = CS_CONFIG;
        goto out;
    }
    cap = (size_t)st->st_size + 2;
    buf = malloc(cap);
    if (!buf) {
        rc = CS_NOMEM;
        goto out;
    }
    while (n + 1 < cap && (got = read(fd, buf + n, cap - 1 - n)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            file_error(errs, path, "cannot read: %s", strerror(errno));
            goto out;
        }
        n += (size_t)got;
    }
    if (n + 1 >= cap) {
        file_error(errs, path, "changed while it was read; try again");
        goto out;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
    rc = CS_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

enum cs_err config_load(const char *path, const char *state_dir_override, FILE *errs,
                        struct config **out)
{
    struct stat st;
    char *text = NULL;
    const char *nul;
    size_t len = 0;
    enum cs_err rc;

    *out = NULL;
    rc = read_config_file(path, errs, &text, &len, &st);
    if (rc)
        return rc;
    nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;

        for (const char *s = text; s < nul; s++)
            line += *s == '\n';
        if (errs)
            fprintf(errs, "%s:%d: holds a NUL byte; expected a text file\n", path, line);
        rc = CS_CONFIG;
        goto out;
    }
    rc = load_text(text, len, path, path, &st, state_dir_override, errs, out);
out:
    explicit_bzero(text, len);
    free(text);
    return rc;
}

enum cs_err config_load_string(const char *text, const char *name, const char *state_dir_override,
                               FILE *errs, struct config **out)
{
    *out = NULL;
    if (!text)
        return CS_CONFIG;
    return load_text(text, strlen(text), name ? name : "config", NULL, NULL, state_dir_override,
                     errs, out);
}

static void free_fields(enum section sec, void *base)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        char **s = field(base, keys[i].off);

        if (keys[i].sec != sec || !is_string_type(keys[i].type))
            continue;
        free_str(*s); /* zeroes secrets (and everything else) */
        *s = NULL;
    }
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free_fields(SEC_GENERAL, &cfg->general);
    free_fields(SEC_UPLOAD, &cfg->upload);
    for (size_t i = 0; i < cfg->n_cameras; i++) {
        free_fields(SEC_CAMERA, &cfg->cameras[i]);
        free_str(cfg->cameras[i].name);
    }
    free(cfg->cameras);
    for (size_t i = 0; i < cfg->n_origins; i++) {
        free(cfg->origins[i].var);
        free(cfg->origins[i].file);
    }
    free(cfg->origins);
    free(cfg->path);
    explicit_bzero(cfg, sizeof(*cfg));
    free(cfg);
}

const struct camera_config *config_camera(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].name, name) == 0)
            return &cfg->cameras[i];
    return NULL;
}

enum cs_err config_validate_name(const char *name, const char **why)
{
    const char *w = NULL;

    if (!name || !*name)
        w = "is empty";
    else if (strlen(name) > CONFIG_NAME_MAX)
        w = "is longer than 64 characters";
    else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        w = "is \".\" or \"..\"";
    else if (name[0] == '.')
        w = "starts with '.'";
    for (const char *s = name; !w && *s; s++) {
        if (*s == '/')
            w = "contains '/'";
        else if ((unsigned char)*s < 0x20 || *s == 0x7f)
            w = "contains a control character";
        else if (!is_alnum(*s) && !strchr("._-", *s))
            w = "contains a character other than letters, digits, '.', '_' and '-'";
    }
    if (why)
        *why = w;
    return w ? CS_CONFIG : CS_OK;
}

/* ---- output ------------------------------------------------------------ */

/* Exact, re-readable size: "20MB", "1MiB", "1234". */
static const char *format_size_exact(int64_t v, char *buf, size_t sz)
{
    static const struct {
        const char *name;
        int64_t mult;
    } units[] = {
        {"TB", 1000000000000LL}, {"TiB", 1LL << 40}, {"GB", 1000000000LL}, {"GiB", 1LL << 30},
        {"MB", 1000000LL},       {"MiB", 1LL << 20}, {"KB", 1000LL},       {"KiB", 1LL << 10},
    };

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (v > 0 && v % units[i].mult == 0) {
            bprintf(buf, sz, "%lld%s", (long long)(v / units[i].mult), units[i].name);
            return buf;
        }
    }
    bprintf(buf, sz, "%lld", (long long)v);
    return buf;
}

static const char *format_window(const struct window *w, char *buf, size_t sz)
{
    int end = w->end_min == 0 ? 1440 : w->end_min;

    if (w->always || w->start_min == w->end_min)
        return "always";
    bprintf(buf, sz, "%02d:%02d-%02d:%02d", w->start_min / 60, w->start_min % 60, end / 60,
            end % 60);
    return buf;
}

static const char *enum_name(const struct key_def *k, int v)
{
    for (int i = 0; k->choices[i]; i++)
        if (i == v)
            return k->choices[i];
    return "?";
}

static const char *format_value(const struct config *cfg, const struct key_def *k, const void *base,
                                size_t cam, char *buf, size_t sz)
{
    const void *f = cfield(base, k->off);
    const struct config_origin *o;

    switch (k->type) {
    case KT_SECRET: return *(char *const *)f ? MASK : "";
    case KT_SECRET_FILE: o = find_origin(cfg, k->sec, cam, k); return o && o->file ? o->file : "";
    case KT_DURATION: return units_format_duration(*(const int64_t *)f, buf, sz);
    case KT_SIZE: return format_size_exact(*(const int64_t *)f, buf, sz);
    case KT_INT: bprintf(buf, sz, "%lld", (long long)*(const int64_t *)f); return buf;
    case KT_BOOL: return *(const bool *)f ? "yes" : "no";
    case KT_ENUM: return enum_name(k, *(const int *)f);
    case KT_WINDOW: return format_window(f, buf, sz);
    case KT_DAYS: return units_format_days(*(const int *)f, buf, sz);
    case KT_RESOLUTION:
        if (*(const int *)f == 0)
            return "";
        bprintf(buf, sz, "%dx%d", *(const int *)f, *(const int *)cfield(base, k->off2));
        return buf;
    default: return *(char *const *)f ? *(char *const *)f : "";
    }
}

static const char *format_origin(const struct config *cfg, const struct key_def *k, size_t cam,
                                 char *buf, size_t sz)
{
    const struct config_origin *o = find_origin(cfg, k->sec, cam, k);
    const struct key_def *fk;

    if (!o && k->type == KT_SECRET && (fk = file_key_for(k)) && find_origin(cfg, k->sec, cam, fk)) {
        bprintf(buf, sz, "from %s", fk->name);
        return buf;
    }
    if (!o)
        return "default";
    if (o->override)
        return "--state-dir";
    if (o->from_url)
        bprintf(buf, sz, "from url, file:%d", o->lineno);
    else if (o->env_only && o->var)
        bprintf(buf, sz, "${%s}", o->var);
    else
        bprintf(buf, sz, "file:%d", o->lineno);
    return buf;
}

static void print_keys(const struct config *cfg, FILE *out, enum section sec, size_t cam,
                       const void *base)
{
    char vbuf[64], obuf[64];

    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].sec != sec)
            continue;
        fprintf(out, "%-15s = %-28s ; %s\n", keys[i].name,
                format_value(cfg, &keys[i], base, cam, vbuf, sizeof(vbuf)),
                format_origin(cfg, &keys[i], cam, obuf, sizeof(obuf)));
    }
}

void config_print_effective(const struct config *cfg, FILE *out)
{
    if (!cfg || !out)
        return;
    if (cfg->path)
        fprintf(out, "; effective configuration of %s\n", cfg->path);
    fprintf(out, "[general]\n");
    print_keys(cfg, out, SEC_GENERAL, 0, &cfg->general);
    fprintf(out, "\n[upload]\n");
    print_keys(cfg, out, SEC_UPLOAD, 0, &cfg->upload);
    for (size_t i = 0; i < cfg->n_cameras; i++) {
        fprintf(out, "\n[camera %s]\n", cfg->cameras[i].name);
        print_keys(cfg, out, SEC_CAMERA, i, &cfg->cameras[i]);
    }
}

static const char *type_text(const struct key_def *k, char *buf, size_t sz)
{
    char lim[32];

    switch (k->type) {
    case KT_STRING: return "string";
    case KT_PATH: return "path";
    case KT_SECRET: return "secret";
    case KT_SECRET_FILE: bprintf(buf, sz, "secret file (fills %s)", k->fills); return buf;
    case KT_SIZE: return "size";
    case KT_BOOL: return "yes/no";
    case KT_WINDOW: return "HH:MM-HH:MM or always";
    case KT_DAYS: return "weekdays (all, mon-fri, sat,sun)";
    case KT_RESOLUTION: return "WIDTHxHEIGHT";
    case KT_TIMEZONE: return "time zone";
    case KT_ENUM: list_choices(k->choices, buf, sz); return buf;
    case KT_INT:
        bprintf(buf, sz, "integer %lld..%lld", (long long)k->min, (long long)k->max);
        return buf;
    case KT_DURATION:
        if (k->min <= 1)
            return "duration";
        bprintf(buf, sz, "duration >= %s", units_format_duration(k->min, lim, sizeof(lim)));
        return buf;
    }
    return "?";
}

/* Writes text for a markdown table cell. */
static void md_cell(FILE *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '|')
            fputc('\\', out);
        fputc(*text, out);
    }
}

void config_print_reference(FILE *out)
{
    static const char *const sec_labels[] = {"general", "upload", "camera NAME"};
    char buf[128];

    fprintf(out, "| section | key | type | default | description |\n");
    fprintf(out, "|---|---|---|---|---|\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key_def *k = &keys[i];

        fprintf(out, "| [%s] | %s | ", sec_labels[k->sec], k->name);
        md_cell(out, type_text(k, buf, sizeof(buf)));
        fprintf(out, " | ");
        md_cell(out, k->def ? k->def : "");
        fprintf(out, " | ");
        md_cell(out, k->help);
        fprintf(out, " |\n");
    }
}

static void sample_keys(FILE *out, enum section sec)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key_def *k = &keys[i];
        const char *v = k->def ? k->def : k->example ? k->example : "";

        if (k->sec == sec)
            fprintf(out, "; %s\n;%s = %s\n", k->help, k->name, v);
    }
}

void config_print_sample(FILE *out)
{
    fprintf(out, "; camsnap configuration (generated from the key table).\n"
                 "; Each key shows its default or an example; remove the leading ';' to set it.\n"
                 "; Durations: 30s, 5m, 1h30m, 250ms. Sizes: 512KB, 20MB, 1.5GiB.\n"
                 "; Secrets: use the *_file keys or ${ENV_VAR}; a file that holds a secret in\n"
                 "; clear must not be readable by group or others (chmod 600).\n");
    fprintf(out, "\n[general]\n");
    sample_keys(out, SEC_GENERAL);
    fprintf(out, "\n[upload]\n");
    sample_keys(out, SEC_UPLOAD);
    fprintf(out, "\n; One section per camera; the name (letters, digits, '.', '_', '-')\n"
                 "; names its spool folder camera_NAME.\n;[camera 27]\n");
    sample_keys(out, SEC_CAMERA);
}
