#include "log.h"
#include "url.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define LINE_MAX_LEN 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int cur_level = LOG_LEVEL_INFO;
static bool journal_mode;
static char log_dir[4096];
static int retention;
static FILE *log_file;
static char log_file_date[9];

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int syslog_prio[] = {3, 4, 6, 7};

void log_setup(enum log_level level, const char *dir, bool journal, int retention_days)
{
    pthread_mutex_lock(&log_lock);
    atomic_store(&cur_level, (int)level);
    journal_mode = journal;
    retention = retention_days;
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
    log_file_date[0] = '\0';
    if (!dir || snprintf(log_dir, sizeof(log_dir), "%s", dir) >= (int)sizeof(log_dir))
        log_dir[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}

void log_set_level(enum log_level level)
{
    atomic_store(&cur_level, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&cur_level);
}

void log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    pthread_mutex_unlock(&log_lock);
}

/* Deletes capture_YYYYMMDD.log files older than the retention. */
static void prune_old_logs(void)
{
    DIR *d;
    struct dirent *de;
    char cutoff[9];
    time_t t = time(NULL) - (time_t)retention * 86400;
    struct tm tm;

    if (retention <= 0 || !(d = opendir(log_dir)))
        return;
    localtime_r(&t, &tm);
    strftime(cutoff, sizeof(cutoff), "%Y%m%d", &tm);
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "capture_", 8) || strlen(de->d_name) != 20 ||
            strcmp(de->d_name + 16, ".log"))
            continue;
        if (strncmp(de->d_name + 8, cutoff, 8) < 0)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

/* Called with log_lock held: makes log_file the file for today. */
static void rotate_file(int64_t now_ms)
{
    char date[9], tod[7], path[4200];

    if (!log_dir[0])
        return;
    clock_format_stamp(now_ms, date, tod);
    if (log_file && !strcmp(date, log_file_date))
        return;
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    mkdir(log_dir, 0750);
    if (snprintf(path, sizeof(path), "%s/capture_%s.log", log_dir, date) >= (int)sizeof(path))
        return;
    /* Never through a link planted in place of today's file. */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
    log_file = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!log_file) {
        fprintf(stderr, "camsnap: cannot open log file %s: %s (logging to stderr only)\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        log_dir[0] = '\0';
        return;
    }
    setvbuf(log_file, NULL, _IOLBF, 0);
    memcpy(log_file_date, date, sizeof(date));
    prune_old_logs();
}

static void emit(enum log_level level, const char *camera, const char *msg)
{
    char stamp[48];
    int64_t now = clock_wall_ms();
    const char *cam_pre = camera ? "camera " : "";
    const char *cam = camera ? camera : "";
    const char *sep = camera ? ": " : "";

    clock_format_iso(now, 1, stamp, sizeof(stamp));
    pthread_mutex_lock(&log_lock);
    if (journal_mode)
        fprintf(stderr, "<%d>%s%s%s%s\n", syslog_prio[level], cam_pre, cam, sep, msg);
    else
        fprintf(stderr, "%s %-5s %s%s%s%s\n", stamp, level_names[level], cam_pre, cam, sep, msg);
    rotate_file(now);
    if (log_file)
        fprintf(log_file, "%s %-5s %s%s%s%s\n", stamp, level_names[level], cam_pre, cam, sep,
                msg);
    pthread_mutex_unlock(&log_lock);
}

void log_vmsg(enum log_level level, const char *camera, const char *fmt, va_list ap)
{
    char raw[LINE_MAX_LEN], clean[LINE_MAX_LEN], line[LINE_MAX_LEN];
    size_t n;

    if ((int)level > atomic_load(&cur_level))
        return;
    vsnprintf(raw, sizeof(raw), fmt, ap);
    n = strlen(raw);
    if (n && raw[n - 1] == '\n')
        raw[n - 1] = '\0'; /* emit() ends the line */
    redact_text(raw, clean, sizeof(clean));
    emit(level, camera, log_escape(clean, line, sizeof(line)));
}

void log_msg(enum log_level level, const char *camera, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, camera, fmt, ap);
    va_end(ap);
}

static void log_errno(enum log_level level, const char *camera, const char *fmt, va_list ap)
{
    char raw[LINE_MAX_LEN];
    int e = errno;
    size_t n;

    vsnprintf(raw, sizeof(raw), fmt, ap);
    n = strlen(raw);
    snprintf(raw + n, sizeof(raw) - n, ": %s", strerror(e));
    log_msg(level, camera, "%s", raw);
}

void log_warn(const char *camera, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_errno(LOG_LEVEL_WARN, camera, fmt, ap);
    va_end(ap);
}

void log_error(const char *camera, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_errno(LOG_LEVEL_ERROR, camera, fmt, ap);
    va_end(ap);
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at p (2..4), 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_len(const unsigned char *p)
{
    size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    unsigned lo = 0x80, hi = 0xbf;

    if (p[0] < 0xc2 || p[0] > 0xf4)
        return 0;
    if (p[0] == 0xe0)
        lo = 0xa0;
    else if (p[0] == 0xed)
        hi = 0x9f;
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

char *log_escape(const char *text, char *out, size_t outsz)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t len = 0;

    if (!outsz)
        return out;
    while (*p) {
        char esc[8] = "";
        size_t n = *p < 0x80 ? 1 : utf8_len(p), w;

        if (*p == '\n' || *p == '\r' || *p == '\t')
            snprintf(esc, sizeof(esc), "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        else if (*p < 0x20 || *p == 0x7f || n == 0)
            snprintf(esc, sizeof(esc), "\\x%02x", *p);
        else if (p[0] == 0xc2 && p[1] < 0xa0)
            snprintf(esc, sizeof(esc), "\\u%04x", p[1]);
        n = n ? n : 1;
        w = esc[0] ? strlen(esc) : n;
        if (len + w >= outsz)
            break;
        memcpy(out + len, esc[0] ? (const void *)esc : (const void *)p, w);
        len += w;
        p += n;
    }
    out[len] = '\0';
    return out;
}

/* ---- redaction ---- */

static const char *const secret_params[] = {
    "password", "pass", "passwd", "pwd", "key", "apikey", "api_key", "token",
    "access_token", "auth", "secret", "signature", "sig", NULL,
};

bool log_is_secret_param(const char *name, size_t len)
{
    for (const char *const *p = secret_params; *p; p++)
        if (strlen(*p) == len && !strncasecmp(*p, name, len))
            return true;
    return false;
}

/* Output cursor that never overflows and always leaves room for the NUL. */
struct outbuf {
    char *p;
    size_t len, cap;
};

static void put(struct outbuf *o, const char *s, size_t n)
{
    while (n-- && o->len + 1 < o->cap)
        o->p[o->len++] = *s++;
    o->p[o->len] = '\0';
}

static bool url_char(char c)
{
    return c && c != ' ' && c != '\t' && c != '\n' && c != '"' && c != '\'' && c != '<' &&
           c != '>';
}

/* Redacts one URL of length n starting at u (the scheme) into o. */
static void redact_one(const char *u, size_t n, struct outbuf *o)
{
    const char *end = u + n, *auth, *q;
    char copy[2048];
    struct url_parts parts;

    /* url_split() wants the URL alone: a copy, NUL-terminated (a longer one
     * is cut: only what is shown of it matters). */
    snprintf(copy, sizeof(copy), "%.*s", (int)(n < sizeof(copy) ? n : sizeof(copy) - 1), u);
    if (n >= sizeof(copy))
        end = u + sizeof(copy) - 1;
    url_split(copy, &parts);
    if (!parts.scheme) {
        put(o, u, n);
        return;
    }
    auth = u + (parts.scheme_len + 3);
    put(o, u, (size_t)(auth - u));
    if (parts.userinfo) {
        put(o, "***", 3);
        auth = u + (parts.userinfo - copy) + parts.userinfo_len;
    }
    q = memchr(auth, '?', (size_t)(end - auth));
    if (!q) {
        put(o, auth, (size_t)(end - auth));
        return;
    }
    put(o, auth, (size_t)(q - auth) + 1);
    for (const char *p = q + 1; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        if (eq && log_is_secret_param(p, (size_t)(eq - p))) {
            put(o, p, (size_t)(eq - p) + 1);
            put(o, "***", 3);
        } else {
            put(o, p, (size_t)(pend - p));
        }
        if (amp)
            put(o, "&", 1);
        p = amp ? amp + 1 : end;
    }
}

char *redact_url(const char *url, char *out, size_t outsz)
{
    struct outbuf o = {out, 0, outsz};

    if (!outsz)
        return out;
    out[0] = '\0';
    redact_one(url, strlen(url), &o);
    return out;
}

char *redact_text(const char *text, char *out, size_t outsz)
{
    struct outbuf o = {out, 0, outsz};
    const char *p = text;

    if (!outsz)
        return out;
    out[0] = '\0';
    while (*p) {
        const char *sep = strstr(p, "://");
        const char *start, *stop;
        if (!sep) {
            put(&o, p, strlen(p));
            break;
        }
        start = sep;
        while (start > p && (isalnum((unsigned char)start[-1]) || start[-1] == '+' ||
                             start[-1] == '-' || start[-1] == '.'))
            start--;
        for (stop = sep + 3; url_char(*stop); stop++)
            ;
        put(&o, p, (size_t)(start - p));
        redact_one(start, (size_t)(stop - start), &o);
        p = stop;
    }
    return out;
}
