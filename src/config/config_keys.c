/*
 * config_keys.c - the key table of the camsnap configuration, its choice
 * lists and renamed keys, and how a value of each key type is parsed.
 *
 * Everything about a key lives in one row of config__keys[]: defaults are
 * parsed by the same config__parse_value() as file values (config.c), and
 * the outputs in config_print.c walk the same table.
 */
#include "config_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FILE_MAX 4096

_Static_assert(sizeof(enum log_level) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum upload_backend) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum transport) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum image_url_form) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum object_name_form) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum alert_report) == sizeof(int), "enum fields are stored as int");

static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const backend_names[] = {"none", "supabase", "dir", NULL};
static const char *const transport_names[] = {"tcp", "udp", "auto", NULL};
static const char *const image_url_names[] = {"public", "path", NULL};
static const char *const object_name_names[] = {"digest", "plain", NULL};
static const char *const report_names[] = {"off", "hourly", "daily", NULL};

#define OFF_G(f) offsetof(struct config_general, f)
#define OFF_U(f) offsetof(struct config_upload, f)
#define OFF_C(f) offsetof(struct camera_config, f)
#define OFF_A(f) offsetof(struct config_alert, f)

/* One row per key; kept one row per key by hand for reading. */
/* Upper bounds: every duration and size has one, so that no value that
 * parses can overflow a clock or a buffer size downstream
 * (test_config.c: every_bounded_key_has_a_maximum). */
#define MS_MIN (60 * 1000LL)
#define MS_HOUR (3600 * 1000LL)
#define MS_DAY (24 * MS_HOUR)
#define GB (1000LL * 1000 * 1000)

/* clang-format off */
const struct key_def config__keys[] = {
    { .sec = SEC_GENERAL, .name = "state_dir", .type = KT_PATH, .def = "/var/lib/camsnap",
      .off = OFF_G(state_dir), .help = "Directory for the spool, the tracking database and logs." },
    { .sec = SEC_GENERAL, .name = "interval", .type = KT_DURATION, .def = "5m", .min = 1000,
      .max = 7 * MS_DAY, .off = OFF_G(interval_ms),
      .help = "Time between two capture rounds (1s to 7d)." },
    { .sec = SEC_GENERAL, .name = "window", .type = KT_WINDOW, .def = "11:00-22:00",
      .off = OFF_G(window),
      .help = "Daily capture window HH:MM-HH:MM in local time (may cross midnight), or always." },
    { .sec = SEC_GENERAL, .name = "days", .type = KT_DAYS, .def = "all",
      .off = OFF_G(days),
      .help = "Weekdays on which the window applies: all, or days and ranges (mon-fri, sat,sun)." },
    { .sec = SEC_GENERAL, .name = "stop_grace", .type = KT_DURATION, .def = "20s", .min = 1000,
      .max = MS_HOUR, .off = OFF_G(stop_grace_ms),
      .help = "On SIGTERM/SIGINT: how long in-flight captures and uploads may take before exit." },
    { .sec = SEC_GENERAL, .name = "drain_grace", .type = KT_DURATION, .def = "10m", .min = 0,
      .max = MS_DAY, .off = OFF_G(drain_grace_ms),
      .help = "At the end of the window: how long run --exit-after-window drains the backlog." },
    { .sec = SEC_GENERAL, .name = "timezone", .type = KT_TIMEZONE, .example = "Europe/Paris",
      .off = OFF_G(timezone),
      .help = "Time zone of the window, a name under /usr/share/zoneinfo; unset: system time." },
    { .sec = SEC_GENERAL, .name = "restaurant_id", .type = KT_STRING, .example = "store-001",
      .off = OFF_G(restaurant_id), .help = "Site identifier: sent with every row and leading every object path (optional)." },
    { .sec = SEC_GENERAL, .name = "log_level", .type = KT_ENUM, .def = "info",
      .choices = log_level_names, .off = OFF_G(log_level),
      .help = "Least severe message level that is logged." },
    { .sec = SEC_GENERAL, .name = "log_files", .type = KT_BOOL, .def = "yes",
      .off = OFF_G(log_files), .help = "Also write daily log files under state_dir/logs." },
    { .sec = SEC_GENERAL, .name = "log_retention", .type = KT_DURATION, .def = "14d", .min = 0,
      .max = 3650 * MS_DAY, .off = OFF_G(log_retention_ms),
      .help = "How long daily log files are kept, in whole days (a part of a day counts as a "
              "day); 0: forever." },
    { .sec = SEC_GENERAL, .name = "workers", .type = KT_INT, .def = "8", .min = 1, .max = 64,
      .off = OFF_G(workers), .help = "Cameras captured at the same time within a round." },
    { .sec = SEC_GENERAL, .name = "picture_memory", .type = KT_SIZE, .def = "16MB",
      .min = 1000000, .max = 64 * GB, .off = OFF_G(picture_memory),
      .help = "Memory for the pictures of a round being decoded and encoded at once (about "
              "2 bytes per pixel each); past it, cameras take turns. Bounds the peak memory "
              "whatever the number of cameras." },
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
    { .sec = SEC_UPLOAD, .name = "allow_plain_http", .type = KT_BOOL, .def = "no",
      .off = OFF_U(allow_plain_http),
      .help = "Allow an http:// url to another machine (the API key then travels in clear); "
              "no: only https://, or http:// to this machine." },
    { .sec = SEC_UPLOAD, .name = "object_name", .type = KT_ENUM, .def = "digest",
      .choices = object_name_names, .off = OFF_U(object_name),
      .help = "Remote object names. digest: <YYYYMMDD>_<HHMMSS>_<W>_<H>_<8 hex>.jpg, the hex "
              "from the still's SHA-256, so an object that already exists is provably this "
              "still even when the key may not read it. plain: the local name, for consumers "
              "that parse it; two agents sharing a restaurant_id and camera names may then "
              "meet each other's object, which a key that may not read cannot tell apart "
              "(such stills are delivered, counted as unverified and logged). Stills already "
              "named keep their name." },
    { .sec = SEC_UPLOAD, .name = "ca_file", .type = KT_PATH,
      .example = "/etc/ssl/certs/ca-certificates.crt", .off = OFF_U(ca_file),
      .help = "CA bundle for HTTPS; unset: the system store." },
    { .sec = SEC_UPLOAD, .name = "concurrency", .type = KT_INT, .def = "4", .min = 1,
      .max = 32, .off = OFF_U(concurrency), .help = "Uploads in flight at the same time." },
    { .sec = SEC_UPLOAD, .name = "connect_timeout", .type = KT_DURATION, .def = "10s",
      .min = 1, .max = 10 * MS_MIN, .off = OFF_U(connect_timeout_ms),
      .help = "Time allowed to connect to the upload server." },
    { .sec = SEC_UPLOAD, .name = "timeout", .type = KT_DURATION, .def = "60s", .min = 1,
      .max = 6 * MS_HOUR, .off = OFF_U(timeout_ms), .help = "Time allowed for one whole upload request." },
    { .sec = SEC_UPLOAD, .name = "backoff_base", .type = KT_DURATION, .def = "30s",
      .max = MS_DAY, .off = OFF_U(backoff_base_ms),
      .help = "First retry delay after a failure, doubled each time; 0: use retry_interval." },
    { .sec = SEC_UPLOAD, .name = "backoff_cap", .type = KT_DURATION, .def = "30m",
      .max = 7 * MS_DAY, .off = OFF_U(backoff_cap_ms), .help = "Longest retry delay." },
    { .sec = SEC_UPLOAD, .name = "retry_interval", .type = KT_DURATION, .def = "10m", .min = 1,
      .max = 7 * MS_DAY, .off = OFF_U(retry_interval_ms), .help = "Fixed retry delay when backoff_base = 0." },

    { .sec = SEC_ALERT, .name = "webhook_url", .type = KT_SECRET,
      .example = "${CAMSNAP_WEBHOOK_URL}", .off = OFF_A(webhook_url),
      .help = "Alerts as an HTTP POST of JSON with a Slack-compatible \"text\" and the "
              "structured alerts (https://, or http:// to this machine); a chat webhook's "
              "address is its key, so it is a secret: better use webhook_url_file or ${ENV}." },
    { .sec = SEC_ALERT, .name = "webhook_url_file", .type = KT_SECRET_FILE,
      .fills = "webhook_url", .example = "/etc/camsnap/webhook.url", .off = OFF_A(webhook_url),
      .help = "File whose first line is the webhook address (mode 600)." },
    { .sec = SEC_ALERT, .name = "smtp_url", .type = KT_STRING,
      .example = "smtp://mail.example.net:587", .off = OFF_A(smtp_url),
      .help = "Alerts by e-mail: smtp://HOST[:PORT] (STARTTLS required; port 25 unless "
              "given, most providers use 587) or smtps://HOST[:PORT] (TLS from the first "
              "byte; port 465 unless given); no user or password in it." },
    { .sec = SEC_ALERT, .name = "mail_from", .type = KT_STRING,
      .example = "camsnap@example.net", .off = OFF_A(mail_from),
      .help = "Sender address of the alert e-mails (needed with smtp_url)." },
    { .sec = SEC_ALERT, .name = "mail_to", .type = KT_STRING,
      .example = "ops@example.net, owner@example.net", .off = OFF_A(mail_to),
      .help = "Recipients of the alert e-mails, separated by commas (needed with smtp_url)." },
    { .sec = SEC_ALERT, .name = "smtp_user", .type = KT_STRING, .example = "camsnap",
      .off = OFF_A(smtp_user), .help = "User name for SMTP AUTH (unset: no login)." },
    { .sec = SEC_ALERT, .name = "smtp_password", .type = KT_SECRET,
      .example = "${SMTP_PASSWORD}", .off = OFF_A(smtp_password),
      .help = "Password for SMTP AUTH; better use smtp_password_file or ${ENV}." },
    { .sec = SEC_ALERT, .name = "smtp_password_file", .type = KT_SECRET_FILE,
      .fills = "smtp_password", .example = "/etc/camsnap/smtp.pass",
      .off = OFF_A(smtp_password), .help = "File whose first line is the SMTP password (mode 600)." },
    { .sec = SEC_ALERT, .name = "ca_file", .type = KT_PATH,
      .example = "/etc/camsnap/mail-ca.pem", .off = OFF_A(ca_file),
      .help = "CA certificate(s) the mail server's and the webhook's certificates must chain "
              "to; unset: the system store." },
    { .sec = SEC_ALERT, .name = "timeout", .type = KT_DURATION, .def = "30s", .min = 1000,
      .max = 10 * MS_MIN, .off = OFF_A(timeout_ms),
      .help = "Time allowed for one delivery of an alert (a failed one is retried with backoff)." },
    { .sec = SEC_ALERT, .name = "camera_down_after", .type = KT_INT, .def = "3", .min = 1,
      .max = 10000, .off = OFF_A(camera_down_after),
      .help = "Consecutive failed rounds after which a camera is reported down (its first "
              "still afterwards reports it back)." },
    { .sec = SEC_ALERT, .name = "quality_after", .type = KT_INT, .def = "2", .min = 1,
      .max = 10000, .off = OFF_A(quality_after),
      .help = "Consecutive stills with a data-quality flag (black, uniform, frozen, resolution "
              "change) before it is reported, and without it before it is cleared." },
    { .sec = SEC_ALERT, .name = "backlog_stills", .type = KT_INT, .def = "500", .min = 0,
      .max = 1000000000, .off = OFF_A(backlog_stills),
      .help = "Alert when more stills than this wait for delivery (cleared below 80% of it); "
              "0: off." },
    { .sec = SEC_ALERT, .name = "backlog_age", .type = KT_DURATION, .def = "2h", .min = 0,
      .max = 30 * MS_DAY, .off = OFF_A(backlog_age_ms),
      .help = "Alert when the oldest still waiting for delivery is older than this (cleared "
              "below 80% of it); 0s: off." },
    { .sec = SEC_ALERT, .name = "disk_free_min", .type = KT_SIZE, .def = "1GB", .min = 0,
      .max = 1000 * GB, .off = OFF_A(disk_free_min),
      .help = "Alert when less than this is free for camsnap under state_dir (cleared above "
              "120% of it); 0: off." },
    { .sec = SEC_ALERT, .name = "report", .type = KT_ENUM, .def = "off",
      .choices = report_names, .off = OFF_A(report),
      .help = "Send the summary of `camsnap report` through the alert channels at the end of "
              "every hour or day (local time): off, hourly or daily." },
    { .sec = SEC_ALERT, .name = "rate_limit", .type = KT_INT, .def = "20", .min = 1,
      .max = 3600, .off = OFF_A(rate_limit),
      .help = "Messages per channel per hour at most; alerts beyond wait in the outbox and go "
              "out together in the next message." },

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
    { .sec = SEC_CAMERA, .name = "transport", .type = KT_ENUM, .def = "auto",
      .choices = transport_names, .off = OFF_C(transport),
      .help = "RTSP transport: auto tries TCP (interleaved) first and uses UDP when the camera "
              "refuses TCP (RTSP 461); tcp or udp force one." },
    { .sec = SEC_CAMERA, .name = "connect_timeout", .type = KT_DURATION, .def = "5s", .min = 1,
      .max = 10 * MS_MIN, .off = OFF_C(connect_timeout_ms), .help = "Time allowed to connect to the camera." },
    { .sec = SEC_CAMERA, .name = "read_timeout", .type = KT_DURATION, .def = "5s", .min = 1,
      .max = 10 * MS_MIN, .off = OFF_C(read_timeout_ms), .help = "Longest silence allowed while reading." },
    { .sec = SEC_CAMERA, .name = "timeout", .type = KT_DURATION, .def = "15s", .min = 1,
      .max = 30 * MS_MIN, .off = OFF_C(deadline_ms), .help = "Time allowed for one whole capture." },
    { .sec = SEC_CAMERA, .name = "max_body", .type = KT_SIZE, .def = "20MB", .min = 1,
      .max = 2 * GB, .off = OFF_C(max_body_bytes), .help = "Largest HTTP snapshot accepted." },
    { .sec = SEC_CAMERA, .name = "max_pixels", .type = KT_PIXELS, .def = "4096x2304",
      .min = 16 * 16, .max = 1000000000, .off = OFF_C(max_pixels),
      .help = "Largest picture accepted (width x height); a camera announcing more is refused "
              "before any memory is spent on it. The default fits 4K UHD and DCI 4K." },
    { .sec = SEC_CAMERA, .name = "tls_verify", .type = KT_BOOL, .def = "yes",
      .off = OFF_C(tls_verify),
      .help = "rtsps://: verify the camera's certificate and that it names the camera's host; "
              "no connects to anyone who answers (insecure: the password goes with it)." },
    { .sec = SEC_CAMERA, .name = "tls_ca_file", .type = KT_PATH,
      .example = "/etc/camsnap/cameras-ca.pem", .off = OFF_C(tls_ca_file),
      .help = "rtsps://: the CA certificate(s) the camera's certificate must chain to (a "
              "camera's own CA or a self-signed certificate); unset: the system's CAs." },
    { .sec = SEC_CAMERA, .name = "enabled", .type = KT_BOOL, .def = "yes",
      .off = OFF_C(enabled), .help = "Capture this camera; a disabled one stays configured." },
};
/* clang-format on */

const size_t config__n_keys = sizeof(config__keys) / sizeof(config__keys[0]);

_Static_assert(sizeof(config__keys) / sizeof(config__keys[0]) <= CONFIG__KEYS_MAX,
               "raise CONFIG__KEYS_MAX in config_priv.h");

/* Renamed keys: still accepted, with a note. */
const struct key_alias config__aliases[] = {
    {SEC_GENERAL, "quality", "jpeg_quality"},
    {SEC_GENERAL, "log_retention_days", "log_retention"},
    {SEC_CAMERA, "rtsp_transport", "transport"},
};

const size_t config__n_aliases = sizeof(config__aliases) / sizeof(config__aliases[0]);

/* ---- the key table ---------------------------------------------------- */

const struct key_def *config__find_key(enum section sec, const char *name)
{
    for (size_t i = 0; i < config__n_keys; i++)
        if (config__keys[i].sec == sec && strcmp(config__keys[i].name, name) == 0)
            return &config__keys[i];
    return NULL;
}

const struct key_def *config__file_key_for(const struct key_def *secret)
{
    for (size_t i = 0; i < config__n_keys; i++)
        if (config__keys[i].type == KT_SECRET_FILE && config__keys[i].sec == secret->sec &&
            strcmp(config__keys[i].fills, secret->name) == 0)
            return &config__keys[i];
    return NULL;
}

/* ---- values ----------------------------------------------------------- */

void config__free_str(char *s)
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

enum cs_err config__set_string(char **dst, const char *text)
{
    char *copy = NULL;

    if (*text && !(copy = strdup(text)))
        return CS_NOMEM;
    config__free_str(*dst);
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
        return config__set_string(dst, text);
    config__shown(text, q, sizeof(q));
    for (const char *s = text; *s; s++) {
        if (!config__is_alnum(*s) && !strchr("/_+-.", *s)) {
            config__bprintf(why, wsz,
                            "\"%s\" is not a time zone name; expected a name such as "
                            "Europe/Paris or UTC",
                            q);
            return CS_CONFIG;
        }
    }
    if (text[0] == '/' || strstr(text, "..")) {
        config__bprintf(why, wsz,
                        "\"%s\" is not a time zone name; expected a name such as "
                        "Europe/Paris or UTC",
                        q);
        return CS_CONFIG;
    }
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    n = snprintf(path, sizeof(path), "%s/%s", dir, text);
    if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) || !S_ISREG(st.st_mode)) {
        config__bprintf(why, wsz,
                        "unknown time zone \"%s\" (no file %s/%s); expected a name such "
                        "as Europe/Paris or UTC",
                        q, dir, q);
        return CS_CONFIG;
    }
    return config__set_string(dst, text);
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

    config__shown(path, q, sizeof(q));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block */
    if (fd < 0) {
        config__bprintf(why, wsz,
                        "cannot read %s: %s; expected a file holding the secret on its "
                        "first line",
                        q, strerror(errno));
        return CS_CONFIG;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        config__bprintf(why, wsz, "%s is not a regular file; expected a file holding the secret",
                        q);
        goto out_fail;
    }
    if (st.st_mode & 077) {
        config__bprintf(why, wsz,
                        "%s is readable by group or others (mode %04o); run: chmod 600 %s", q,
                        (unsigned)(st.st_mode & 07777), q);
        goto out_fail;
    }
    while (len + 1 < sz && (n = read(fd, buf + len, sz - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            config__bprintf(why, wsz, "cannot read %s: %s", q, strerror(errno));
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
        config__bprintf(why, wsz, "is empty; expected the path of a file holding the secret");
        return CS_CONFIG;
    }
    rc = read_secret_line(path, buf, sizeof(buf), &len, why, wsz);
    if (rc)
        goto out;
    config__shown(path, q, sizeof(q));
    nl = memchr(buf, '\n', len);
    n = nl ? (size_t)(nl - buf) : len;
    if (n == sizeof(buf) - 1 || memchr(buf, '\0', n)) {
        config__bprintf(why, wsz, "%s: the first line is too long or holds a NUL byte", q);
        rc = CS_CONFIG;
        goto out;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0) {
        config__bprintf(why, wsz, "%s is empty; expected the secret on its first line", q);
        rc = CS_CONFIG;
        goto out;
    }
    rc = config__set_string(field(base, k->off), buf);
out:
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

/* The units a duration may be written in, and what each is worth. */
static const struct {
    const char *name;
    int64_t mult;
} duration_units[] = {{"s", 1000}, {"m", 60000}, {"h", MS_HOUR}, {"d", MS_DAY}, {"ms", 1}};

#define N_DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

/* Whether n of the unit i is within k's range. */
static bool unit_fits(const struct key_def *k, int64_t n, size_t i)
{
    int64_t max = k->max ? k->max : INT64_MAX;

    return n <= max / duration_units[i].mult && n * duration_units[i].mult >= k->min;
}

/* Suggests units for the number text written without one, in hint ("30s or
 * 30m"): the unit k's default is written in (the key's own scale), and
 * seconds too when that scale is minutes, each when the number in it is
 * within k's range; else the first unit that is. */
static void hint_units(const struct key_def *k, const char *text, char *hint, size_t sz)
{
    const char *def = k->def ? k->def : "1s", *u = def + strlen(def), *fit[2] = {NULL, NULL};
    int64_t n = strtoll(text, NULL, 10);
    size_t nfit = 0;

    while (u > def && ((u[-1] >= 'a' && u[-1] <= 'z') || (u[-1] >= 'A' && u[-1] <= 'Z')))
        u--;
    for (size_t i = 0; i < N_DURATION_UNITS; i++)
        if ((!strcmp(u, duration_units[i].name) || (i == 0 && !strcmp(u, "m"))) &&
            unit_fits(k, n, i))
            fit[nfit++] = duration_units[i].name;
    for (size_t i = 0; !nfit && i < N_DURATION_UNITS; i++)
        if (unit_fits(k, n, i))
            fit[nfit++] = duration_units[i].name;
    if (nfit == 2)
        config__bprintf(hint, sz, "%s%s or %s%s", text, fit[0], text, fit[1]);
    else
        config__bprintf(hint, sz, "%s%s", text, nfit ? fit[0] : "s");
}

static enum cs_err parse_duration_value(const struct key_def *k, const char *text, int64_t *dst,
                                        char *why, size_t wsz)
{
    char q[SHOWN_MAX], lim[32];
    int64_t v;

    config__shown(text, q, sizeof(q));
    if (units_duration_lacks_unit(text)) {
        char hint[2 * SHOWN_MAX + 16];
        hint_units(k, q, hint, sizeof(hint));
        config__bprintf(why, wsz, "\"%s\" has no unit; add one, e.g. %s (ms, s, m, h or d)", q,
                        hint);
        return CS_CONFIG;
    }
    if (units_parse_duration(text, &v) == CS_TOOBIG)
        v = INT64_MAX; /* well formed, far too long: said below */
    else if (units_parse_duration(text, &v)) {
        config__bprintf(why, wsz,
                        "\"%s\" is not a duration; expected a number with a unit such as "
                        "30s, 5m, 1h30m or 250ms",
                        q);
        return CS_CONFIG;
    }
    if (v < k->min) {
        config__bprintf(why, wsz, "\"%s\" is too short; expected at least %s", q,
                        units_format_duration(k->min, lim, sizeof(lim)));
        return CS_CONFIG;
    }
    if (k->max && v > k->max) {
        config__bprintf(why, wsz, "\"%s\" is too long; expected at most %s", q,
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

    config__shown(text, q, sizeof(q));
    if (units_parse_size(text, &v)) {
        config__bprintf(why, wsz,
                        "\"%s\" is not a size; expected a number with a unit such as "
                        "512KB, 20MB or 1.5GiB",
                        q);
        return CS_CONFIG;
    }
    if (v < k->min || (k->max && v > k->max)) {
        config__bprintf(why, wsz, "\"%s\" is out of range; expected %lld to %lld bytes", q,
                        (long long)k->min, (long long)(k->max ? k->max : INT64_MAX));
        return CS_CONFIG;
    }
    *dst = v;
    return CS_OK;
}

void config__list_choices(const char *const *choices, char *buf, size_t sz)
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
    config__list_choices(k->choices, list, sizeof(list));
    config__bprintf(why, wsz, "\"%s\" is not one of: %s", config__shown(text, q, sizeof(q)), list);
    return CS_CONFIG;
}

/* Parses a scalar (non-string) value into its field. */
static enum cs_err parse_scalar(const struct key_def *k, const char *text, void *base, char *why,
                                size_t wsz)
{
    void *dst = field(base, k->off);
    char q[SHOWN_MAX];
    int64_t max = k->max ? k->max : INT64_MAX;

    config__shown(text, q, sizeof(q));
    switch (k->type) {
    case KT_INT:
        if (!units_parse_int(text, k->min, max, dst))
            return CS_OK;
        config__bprintf(why, wsz, "\"%s\" is not a whole number from %lld to %lld", q,
                        (long long)k->min, (long long)max);
        return CS_CONFIG;
    case KT_BOOL:
        if (!units_parse_bool(text, dst))
            return CS_OK;
        config__bprintf(why, wsz,
                        "\"%s\" is not a yes/no value; expected yes, no, true, false, on, "
                        "off, 1 or 0",
                        q);
        return CS_CONFIG;
    case KT_DAYS:
        if (!units_parse_days(text, dst))
            return CS_OK;
        config__bprintf(why, wsz,
                        "\"%s\" is not a set of weekdays; expected all, or days and ranges "
                        "such as mon-fri or sat,sun",
                        q);
        return CS_CONFIG;
    case KT_WINDOW:
        if (!units_parse_window(text, dst))
            return CS_OK;
        config__bprintf(why, wsz,
                        "\"%s\" is not a time window; expected HH:MM-HH:MM such as "
                        "11:00-22:00, or always",
                        q);
        return CS_CONFIG;
    case KT_PIXELS:
        if (!units_parse_pixels(text, dst) && *(int64_t *)dst >= k->min &&
            *(int64_t *)dst <= max)
            return CS_OK;
        if (!units_parse_pixels(text, dst)) {
            config__bprintf(why, wsz, "\"%s\" is out of range; expected %lld to %lld pixels", q,
                            (long long)k->min, (long long)max);
            return CS_CONFIG;
        }
        config__bprintf(why, wsz,
                        "\"%s\" is not a pixel count; expected WIDTHxHEIGHT such as "
                        "4096x2304, a number, or millions such as 12M",
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
        config__bprintf(why, wsz,
                        "\"%s\" is not a resolution; expected WIDTHxHEIGHT such as "
                        "2592x1944",
                        q);
        return CS_CONFIG;
    default:
        config__bprintf(why, wsz, "internal error: key type %d", (int)k->type);
        return CS_CONFIG;
    }
}

/*
 * Parses text (already ${...}-expanded) into k's field inside base. On
 * failure returns CS_CONFIG with "what was wrong; what was expected" in why
 * (never echoing a secret), or CS_NOMEM.
 */
enum cs_err config__parse_value(const struct key_def *k, const char *text, void *base, char *why,
                                size_t wsz)
{
    switch (k->type) {
    case KT_STRING:
    case KT_SECRET: return config__set_string(field(base, k->off), text);
    case KT_PATH:
        if (!*text) {
            config__bprintf(why, wsz, "is empty; expected a path");
            return CS_CONFIG;
        }
        return config__set_string(field(base, k->off), text);
    case KT_TIMEZONE: return parse_timezone(text, field(base, k->off), why, wsz);
    case KT_SECRET_FILE: return parse_secret_file(k, text, base, why, wsz);
    case KT_DURATION: return parse_duration_value(k, text, field(base, k->off), why, wsz);
    case KT_SIZE: return parse_size_value(k, text, field(base, k->off), why, wsz);
    case KT_ENUM: return parse_enum_value(k, text, field(base, k->off), why, wsz);
    default: return parse_scalar(k, text, base, why, wsz);
    }
}

static bool is_string_type(enum key_type t)
{
    return t == KT_STRING || t == KT_PATH || t == KT_SECRET || t == KT_TIMEZONE;
}

void config__free_fields(enum section sec, void *base)
{
    for (size_t i = 0; i < config__n_keys; i++) {
        char **s = field(base, config__keys[i].off);

        if (config__keys[i].sec != sec || !is_string_type(config__keys[i].type))
            continue;
        config__free_str(*s); /* zeroes secrets (and everything else) */
        *s = NULL;
    }
}
