/*
 * log.h - levelled logging to stderr and to daily files
 * <state_dir>/logs/capture_<YYYYMMDD>.log.
 *
 * Every line about a camera carries its name. The level is checked before
 * formatting. Nothing logged may hold a secret: URLs go through
 * redact_url() first; log_* also scrubs "user:pass@" in URLs it sees in the
 * formatted line as a second line of defence. Every line is passed through
 * log_escape(): text from outside (a server's error, a camera's answer) can
 * neither start a line of its own nor drive a terminal.
 *
 * Thread-safe: lines are written whole under a mutex.
 */
#ifndef CAMSNAP_LOG_H
#define CAMSNAP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Sets the level and destinations. dir may be NULL (no files). When
 * `journal` is true, stderr lines carry no timestamp (journald adds one) and
 * a <N> priority prefix. retention_days > 0 deletes older capture_*.log. */
void log_setup(enum log_level level, const char *dir, bool journal, int retention_days);

/* Changes the level only. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Closes the current log file (at exit). */
void log_close(void);

/* `camera` may be NULL. log_warn/log_error append ": strerror(errno)". */
void log_msg(enum log_level level, const char *camera, const char *fmt, ...) LOG_PRINTF(3, 4);
void log_vmsg(enum log_level level, const char *camera, const char *fmt, va_list ap);

#define log_debug(cam, ...) \
    do { if (log_get_level() >= LOG_LEVEL_DEBUG) log_msg(LOG_LEVEL_DEBUG, cam, __VA_ARGS__); } while (0)
#define log_info(cam, ...) \
    do { if (log_get_level() >= LOG_LEVEL_INFO) log_msg(LOG_LEVEL_INFO, cam, __VA_ARGS__); } while (0)
#define log_warnx(cam, ...) log_msg(LOG_LEVEL_WARN, cam, __VA_ARGS__)
#define log_errorx(cam, ...) log_msg(LOG_LEVEL_ERROR, cam, __VA_ARGS__)
void log_warn(const char *camera, const char *fmt, ...) LOG_PRINTF(2, 3);
void log_error(const char *camera, const char *fmt, ...) LOG_PRINTF(2, 3);

/* Copies url into out with any "user:password@" / "user@" replaced by
 * "***@" and the values of query parameters named like secrets (password,
 * pass, pwd, key, apikey, token, auth, secret, signature) replaced by "***".
 * Always NUL-terminates; returns out. */
char *redact_url(const char *url, char *out, size_t outsz);

/* True when a URL query parameter of this name carries a secret (pwd,
 * password, token, key, ...): redact_url() masks its value. */
bool log_is_secret_param(const char *name, size_t len);

/* Copies text into out with every URL-looking substring redacted (same
 * rules as redact_url). Always NUL-terminates; returns out. */
char *redact_text(const char *text, char *out, size_t outsz);

/* Copies text into out with what could break a line or drive a terminal
 * written as an escape: \n \r \t as such, other C0 controls, DEL and bytes
 * that are not UTF-8 as \xNN, C1 controls (U+0080..U+009F) as \u00NN.
 * Printable text, UTF-8 included, is copied as is; a backslash is not
 * escaped. An escape is never cut; always NUL-terminates; returns out. Use
 * it on anything from outside printed to a terminal (stats, sync). */
char *log_escape(const char *text, char *out, size_t outsz);

#endif
