/*
 * config.h - the camsnap configuration: one INI file, one declarative table
 * of keys, parsed and validated once into an immutable struct config.
 *
 * The table (config_keys.c) lists every key with its section, type, default,
 * range and help text; validation, `camsnap config check`, the sample
 * configuration and the README's reference table all come from it.
 *
 * Secrets (camera passwords, the upload API key) come from `*_file` keys or
 * `${ENV_VAR}` expansion. A config file that holds a secret in clear and is
 * readable by group or others is refused, as is a secret file with such
 * permissions (as ssh does with private keys).
 *
 * What it does not do: it opens no camera, database or socket; it does not
 * create the state directory.
 *
 * Thread-safety: config_load() is not re-entrant (the INI parser has global
 * options); a loaded struct config is immutable and may be read from any
 * thread. Reload = load a new one and swap it between rounds.
 */
#ifndef CAMSNAP_CONFIG_H
#define CAMSNAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "log.h"
#include "units.h"

#define CONFIG_NAME_MAX 64      /* camera name, without "camera_" */
#define CONFIG_DEFAULT_PATH "/etc/camsnap/camsnap.conf"

enum upload_backend { UPLOAD_NONE, UPLOAD_SUPABASE, UPLOAD_DIR };
enum transport { TRANSPORT_TCP, TRANSPORT_UDP, TRANSPORT_AUTO };
enum image_url_form { IMAGE_URL_PUBLIC, IMAGE_URL_PATH };
/* Remote object names: digest adds "_<8 hex of the still's SHA-256>" before
 * the extension (a name collision then means the same bytes); plain keeps
 * the local name. */
enum object_name_form { OBJECT_NAME_DIGEST, OBJECT_NAME_PLAIN };
/* [alert] report: a summary through the alert channels at each period's end. */
enum alert_report { ALERT_REPORT_OFF, ALERT_REPORT_HOURLY, ALERT_REPORT_DAILY };

struct config_general {
    char *state_dir;
    int64_t interval_ms;        /* >= 1000 */
    struct window window;
    int days;                   /* weekday mask of the window (units_parse_days) */
    int64_t stop_grace_ms;      /* SIGTERM: time allowed to finish in-flight work */
    int64_t drain_grace_ms;     /* end of window: time allowed to drain (--exit-after-window) */
    char *timezone;             /* NULL: the system's local time */
    char *restaurant_id;        /* NULL when unset */
    enum log_level log_level;
    bool log_files;             /* daily files under <state_dir>/logs */
    int64_t log_retention_ms;   /* kept whole days (rounded up); 0: forever */
    int64_t workers;            /* concurrent captures in a round */
    int64_t jpeg_quality;       /* 1..100 */
    int64_t picture_memory;     /* bytes of pictures decoded/encoded at once in a round */
};

struct config_upload {
    enum upload_backend backend;
    char *url;                  /* supabase project URL */
    char *key;                  /* secret: API key (from key or key_file) */
    char *bucket;
    char *table;
    char *path;                 /* dir backend: destination directory */
    enum image_url_form image_url;
    enum object_name_form object_name; /* for stills not yet named (see delivery.c) */
    char *ca_file;              /* NULL: system CA store */
    bool allow_plain_http;      /* send the key over http:// to a non-loopback host */
    int64_t concurrency;
    int64_t connect_timeout_ms;
    int64_t timeout_ms;         /* whole request */
    int64_t backoff_base_ms;    /* 0: fixed retry_interval */
    int64_t backoff_cap_ms;
    int64_t retry_interval_ms;  /* fixed retry when backoff_base_ms == 0 */
};

/* [alert]: where alerts go and when they fire (alert.h). A channel is on when
 * its address is set. */
struct config_alert {
    char *webhook_url;          /* secret (a chat webhook's path is its key); NULL: off */
    char *smtp_url;             /* smtp://host[:port] (STARTTLS) or smtps://; NULL: off */
    char *mail_from;            /* one address */
    char *mail_to;              /* one or more addresses, separated by ',' */
    char *smtp_user;            /* NULL: no SMTP AUTH */
    char *smtp_password;        /* secret */
    char *ca_file;              /* CA bundle for both channels; NULL: the system's */
    int64_t timeout_ms;         /* one delivery attempt */
    int64_t camera_down_after;  /* consecutive failed rounds */
    int64_t quality_after;      /* consecutive flagged (clean) stills to raise (clear) */
    int64_t backlog_stills;     /* 0: off */
    int64_t backlog_age_ms;     /* oldest waiting still; 0: off */
    int64_t disk_free_min;      /* bytes; 0: off */
    enum alert_report report;
    int64_t rate_limit;         /* messages per channel per hour */
};

struct camera_config {
    char *name;                 /* validated: [A-Za-z0-9._-], no "..", <= 64 */
    char *url;                  /* as written, WITHOUT credentials */
    char *username;             /* NULL when unset */
    char *password;             /* secret, NULL when unset; zeroed on free */
    int width, height;          /* expected resolution; 0 when unset */
    enum transport transport;   /* RTSP: auto = TCP, or UDP when the camera refuses TCP */
    int64_t connect_timeout_ms;
    int64_t read_timeout_ms;
    int64_t deadline_ms;        /* whole capture */
    int64_t max_body_bytes;     /* HTTP snapshot maximum */
    int64_t max_pixels;         /* largest picture accepted, refused before decoding */
    bool tls_verify;            /* rtsps://: verify the certificate and name (default yes) */
    char *tls_ca_file;          /* rtsps://: CA bundle; NULL: the system's */
    bool enabled;
    int lineno;                 /* line of the [camera NAME] header */
};

struct config {
    char *path;                 /* the file it was loaded from, or NULL */
    struct config_general general;
    struct config_upload upload;
    struct config_alert alert;
    struct camera_config *cameras;
    size_t n_cameras;
    struct config_origin *origins; /* private to the config module: where each value came from */
    size_t n_origins;
};

/*
 * Loads and validates `path`. On success *out owns a new struct config (free
 * with config_free). On failure returns CS_CONFIG (or CS_IO when the file
 * cannot be read) and, if errs is not NULL, writes every error found, one per
 * line, as "FILE:LINE: [section] key: what was expected" to errs.
 * `state_dir_override` (may be NULL) replaces general.state_dir.
 */
enum cs_err config_load(const char *path, const char *state_dir_override, FILE *errs,
                        struct config **out);

/* Builds a configuration from an in-memory INI text (tests, the demo).
 * `name` is used in error messages in place of a file name. Permission
 * checks on the text itself are skipped. */
enum cs_err config_load_string(const char *text, const char *name,
                               const char *state_dir_override, FILE *errs,
                               struct config **out);

/* Frees cfg and zeroes every secret it held. config_free(NULL) is a no-op. */
void config_free(struct config *cfg);

/* How many cameras are enabled. A configuration with none is valid for
 * looking at a state directory (stats, sync) but not for capturing: run,
 * capture and config check refuse it. */
size_t config_enabled_cameras(const struct config *cfg);

/* Looks a camera up by name; returns a borrowed pointer or NULL. */
const struct camera_config *config_camera(const struct config *cfg, const char *name);

/* Writes the effective configuration as INI, every key with its value and
 * where it came from (default, file:line, ${ENV}); secrets print as
 * "********". */
void config_print_effective(const struct config *cfg, FILE *out);

/* Writes the reference table (markdown) generated from the key table. */
void config_print_reference(FILE *out);

/* Writes the camsnap.conf(5) manual page (roff) generated from the key
 * table. */
void config_print_man(FILE *out);

/* Writes a commented sample configuration generated from the key table. */
void config_print_sample(FILE *out);

/* Validates a camera name for use as a directory component: non-empty,
 * <= CONFIG_NAME_MAX, only [A-Za-z0-9._-], not "." or "..", no leading '.'.
 * Returns CS_OK or CS_CONFIG; *why (static text) says what is wrong. */
enum cs_err config_validate_name(const char *name, const char **why);

#endif
