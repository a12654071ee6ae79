/*
 * config_priv.h - what config.c, config_keys.c and config_print.c share:
 * the key table and its types, where each value came from, and a few
 * helpers. Private to the config module; nothing outside src/config/config*.c
 * includes it. Shared non-static names are prefixed config__.
 */
#ifndef CAMSNAP_CONFIG_PRIV_H
#define CAMSNAP_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

#define SHOWN_MAX 80        /* longest value echoed in a message */
#define CONFIG__KEYS_MAX 96 /* at least the number of rows in config__keys[] */

/* In the order the outputs list them; section_names (config.c) follows it. */
enum section { SEC_GENERAL, SEC_UPLOAD, SEC_ALERT, SEC_CAMERA };

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
    KT_PIXELS,
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

/* Renamed keys: still accepted, with a note. */
struct key_alias {
    enum section sec;
    const char *from, *to;
};

/* ---- config_keys.c: the key table and the value types ------------------ */

/* The key table: one row per key, in the order the outputs list them. */
extern const struct key_def config__keys[];
extern const size_t config__n_keys;
extern const struct key_alias config__aliases[];
extern const size_t config__n_aliases;

/* The key `name` of section sec, or NULL. */
const struct key_def *config__find_key(enum section sec, const char *name);

/* The SECRET_FILE key that fills the SECRET key `secret`, or NULL. */
const struct key_def *config__file_key_for(const struct key_def *secret);

/*
 * Parses text (already ${...}-expanded) into k's field inside base. On
 * failure returns CS_CONFIG with "what was wrong; what was expected" in why
 * (never echoing a secret), or CS_NOMEM.
 */
enum cs_err config__parse_value(const struct key_def *k, const char *text, void *base, char *why,
                                size_t wsz);

/* Replaces *dst (zeroed and freed) with a copy of text; "" stores NULL. */
enum cs_err config__set_string(char **dst, const char *text);

/* Zeroes and frees s; NULL is a no-op. */
void config__free_str(char *s);

/* Zeroes, frees and clears every string field of section sec in base. */
void config__free_fields(enum section sec, void *base);

/* Writes "a, b, c" from a NULL-terminated list of choices into buf. */
void config__list_choices(const char *const *choices, char *buf, size_t sz);

/* ---- config.c ------------------------------------------------------------ */

/* Where k of section sec (camera cam) was set, or NULL for its default. */
struct config_origin *config__find_origin(const struct config *cfg, enum section sec, size_t cam,
                                          const struct key_def *k);

bool config__is_alnum(char c);

/* Reports a configuration error (counted; written as "FILE:LINE: [label]
 * key: text" when the parser has an error stream). line 0: no line. */
struct parser;
void config__report(struct parser *p, int line, const char *label, const char *key,
                    const char *fmt, ...) PRINTF_LIKE(5, 6);

/* The line where key `name` of a section without a name was set, 0 for a
 * default. */
int config__line_of(const struct config *cfg, enum section sec, const char *name);

/* ---- config_alert.c ------------------------------------------------------ */

/* Checks the [alert] keys together (schemes, addresses, pairs of keys),
 * reporting each fault through config__report. */
void config__validate_alert(struct parser *p, const struct config *cfg);

/* True when addr is one plain e-mail address (local@domain, printable
 * ASCII, no spaces, brackets or separators, at most 254 characters). */
bool config__mail_address_ok(const char *addr, size_t len);

/* ---- config_print.c ------------------------------------------------------ */

/* Formats into buf like snprintf; a result that does not fit ends in "...".
 * For messages and display only, where a cut text is acceptable. Returns buf. */
char *PRINTF_LIKE(3, 4) config__bprintf(char *buf, size_t sz, const char *fmt, ...);

/* Copies s for a message: control characters become '?', long text is cut. */
const char *config__shown(const char *s, char *buf, size_t sz);

#endif
