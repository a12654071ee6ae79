/*
 * alert_send.c - the webhook and e-mail channels over libcurl (see
 * alert_send.h). One easy handle per message: alerts are rare, and a
 * handle of its own keeps a channel's failure from touching the other's.
 */
#include "alert_send.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

#define CONNECT_TIMEOUT_MAX_MS 10000
#define ANSWER_KEEP 300         /* bytes of a server's answer kept for the error */
#define MAIL_LINE_MAX 990       /* RFC 5322: at most 998 before CRLF */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void alert_send_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

/* A bounded copy of what the server answered. */
struct answer {
    char text[ANSWER_KEEP + 1];
    size_t len;
    int64_t retry_after_ms;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t len = size * n, room = ANSWER_KEEP - a->len;

    if (room > len)
        room = len;
    memcpy(a->text + a->len, ptr, room);
    a->len += room;
    a->text[a->len] = '\0';
    return len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t len = size * n;
    char v[32];

    if (len > 12 && len < 12 + sizeof(v) && !strncasecmp(ptr, "Retry-After:", 12)) {
        char *end;
        long long s;
        memcpy(v, ptr + 12, len - 12);
        v[len - 12] = '\0';
        s = strtoll(v, &end, 10);
        if (end != v && s > 0 && s < 7 * 24 * 3600)
            a->retry_after_ms = s * 1000;
    }
    return len;
}

static void common_options(CURL *c, const struct alert_target *t, char *errbuf)
{
    int64_t connect = t->timeout_ms < CONNECT_TIMEOUT_MAX_MS ? t->timeout_ms
                                                            : CONNECT_TIMEOUT_MAX_MS;

    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (t->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
}

/* "what: libcurl's words (detail)" */
static void curl_error(CURLcode rc, const char *errbuf, const char *what, char *err, size_t errsz)
{
    char esc[512];

    log_escape(errbuf[0] ? errbuf : curl_easy_strerror(rc), esc, sizeof(esc));
    snprintf(err, errsz, "%s: %s", what, esc);
}

static enum cs_err transport_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return CS_TIMEOUT;
    case CURLE_LOGIN_DENIED: return CS_AUTH;
    case CURLE_OUT_OF_MEMORY: return CS_NOMEM;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return CS_PROTO;
    default: return CS_AGAIN;
    }
}

static enum cs_err http_status_error(long code)
{
    if (code == 429 || code == 408 || code >= 500)
        return CS_AGAIN;
    if (code == 401 || code == 403)
        return CS_AUTH;
    if (code == 404 || code == 410)
        return CS_NOTFOUND;
    return CS_PROTO;
}

enum cs_err alert_send_webhook(const struct alert_target *t, const char *json,
                               int64_t *retry_after_ms, char *err, size_t errsz)
{
    char errbuf[CURL_ERROR_SIZE] = "", esc[ANSWER_KEEP * 4 + 1];
    struct answer ans = {.len = 0};
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    enum cs_err rc = CS_NOMEM;
    long code = 0;
    CURLcode cr;

    *retry_after_ms = 0;
    err[0] = '\0';
    h = curl_slist_append(h, "Content-Type: application/json; charset=utf-8");
    if (h)
        h = curl_slist_append(h, "Expect:");
    if (!c || !h) {
        snprintf(err, errsz, "webhook: out of memory");
        goto out;
    }
    common_options(c, t, errbuf);
    curl_easy_setopt(c, CURLOPT_URL, t->webhook_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "camsnap/" CAMSNAP_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &ans);
    cr = curl_easy_perform(c);
    if (cr != CURLE_OK) {
        curl_error(cr, errbuf, "webhook", err, errsz);
        rc = transport_error(cr);
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
        rc = CS_OK;
        goto out;
    }
    rc = http_status_error(code);
    *retry_after_ms = ans.retry_after_ms;
    snprintf(err, errsz, "webhook: HTTP %ld%s%s", code, ans.len ? ": " : "",
             log_escape(ans.text, esc, sizeof(esc)));
out:
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

/* ---- e-mail -------------------------------------------------------------- */

/* Calls fn for each address of a comma-separated list, blanks trimmed. */
static bool each_address(const char *list, bool (*fn)(void *ctx, const char *a, size_t n),
                         void *ctx)
{
    for (const char *s = list, *e; *s; s = *e ? e + 1 : e) {
        size_t n;
        e = strchr(s, ',');
        if (!e)
            e = s + strlen(s);
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        n = (size_t)(e - s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n && !fn(ctx, s, n))
            return false;
    }
    return true;
}

static bool add_rcpt(void *ctx, const char *a, size_t n)
{
    struct curl_slist **l = ctx, *m;
    char buf[300];

    snprintf(buf, sizeof(buf), "<%.*s>", (int)n, a);
    m = curl_slist_append(*l, buf);
    if (!m)
        return false;
    *l = m;
    return true;
}

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t room = size * n, left = u->len - u->pos;

    if (room > left)
        room = left;
    memcpy(buf, u->data + u->pos, room);
    u->pos += room;
    return room;
}

static bool is_smtps(const char *url)
{
    return !strncasecmp(url, "smtps://", 8);
}

enum cs_err alert_send_mail(const struct alert_target *t, const char *message, char *err,
                            size_t errsz)
{
    char errbuf[CURL_ERROR_SIZE] = "", from[300];
    struct upload up = {.data = message, .len = strlen(message)};
    struct curl_slist *rcpt = NULL;
    CURL *c = curl_easy_init();
    enum cs_err rc = CS_NOMEM;
    long code = 0;
    CURLcode cr;

    err[0] = '\0';
    if (!c || !each_address(t->mail_to, add_rcpt, &rcpt) || !rcpt) {
        snprintf(err, errsz, "e-mail: out of memory (or no recipient)");
        goto out;
    }
    snprintf(from, sizeof(from), "<%s>", t->mail_from);
    common_options(c, t, errbuf);
    curl_easy_setopt(c, CURLOPT_URL, t->smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* smtp:// goes on only after STARTTLS succeeded; smtps:// is TLS from
     * the first byte. Either way the certificate is verified. */
    if (!is_smtps(t->smtp_url))
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (t->smtp_user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, t->smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, t->smtp_password);
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    cr = curl_easy_perform(c);
    if (cr == CURLE_OK) {
        rc = CS_OK;
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    rc = transport_error(cr);
    if (cr == CURLE_USE_SSL_FAILED)
        snprintf(errbuf, sizeof(errbuf),
                 "the server offers no STARTTLS (camsnap sends no mail in clear; use smtps:// "
                 "if it speaks TLS from the start)");
    curl_error(cr, errbuf, "e-mail", err, errsz);
    if (code > 0) {
        size_t len = strlen(err);
        snprintf(err + len, errsz - len, " (server reply %ld)", code);
        if (code >= 400 && code < 500)
            rc = CS_AGAIN; /* a temporary refusal, by SMTP's rules */
    }
out:
    curl_slist_free_all(rcpt);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

/* A growable string. */
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
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *m = realloc(b->s, cap);
        if (!m) {
            b->nomem = true;
            return;
        }
        b->s = m;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static bool add_to(void *ctx, const char *a, size_t n)
{
    struct sbuf *b = ctx;

    if (b->len && b->s[b->len - 1] != ' ')
        sb_str(b, ", ");
    sb_add(b, a, n);
    return true;
}

/* One line of the body: CRLF at its end, wrapped before MAIL_LINE_MAX
 * without splitting a UTF-8 sequence. */
static void body_line(struct sbuf *b, const char *s, size_t n)
{
    while (n > MAIL_LINE_MAX) {
        size_t cut = MAIL_LINE_MAX;
        while (cut > 1 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        sb_add(b, s, cut);
        sb_str(b, "\r\n");
        s += cut;
        n -= cut;
    }
    sb_add(b, s, n);
    sb_str(b, "\r\n");
}

char *alert_mail_message(const struct alert_target *t, const char *subject, const char *body,
                         const char *id_left, int64_t now_ms)
{
    struct sbuf b = {0};
    char date[64], line[512];
    const char *domain = strchr(t->mail_from, '@');
    time_t now = (time_t)(now_ms / 1000);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
    snprintf(line, sizeof(line), "Date: %s\r\nFrom: camsnap <%s>\r\nTo: ", date, t->mail_from);
    sb_str(&b, line);
    each_address(t->mail_to, add_to, &b);
    snprintf(line, sizeof(line),
             "\r\nSubject: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
             "Auto-Submitted: auto-generated\r\nX-Mailer: camsnap/" CAMSNAP_VERSION "\r\n\r\n",
             subject, id_left, domain ? domain + 1 : "camsnap.invalid");
    sb_str(&b, line);
    for (const char *s = body, *e; *s; s = *e ? e + 1 : e) {
        size_t n;
        e = strchr(s, '\n');
        if (!e)
            e = s + strlen(s);
        n = (size_t)(e - s);
        if (n && s[n - 1] == '\r')
            n--;
        body_line(&b, s, n);
    }
    if (b.nomem) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
