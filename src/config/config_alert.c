/*
 * config_alert.c - the checks of the [alert] section that concern several
 * keys at once: a channel is whole (an SMTP server with a sender and
 * recipients, a user with a password), its address has the right scheme and
 * carries no credentials, and the e-mail addresses are plain addresses that
 * cannot smuggle a header or a second recipient into a message.
 *
 * The webhook address is a secret (a chat webhook's path is its key): it is
 * never echoed in a message.
 */
#include "config_priv.h"
#include "url.h"

#include <string.h>
#include <strings.h>

#define MAIL_ADDRESS_MAX 254

static bool scheme_is(const struct url_parts *u, const char *scheme)
{
    return u->scheme && u->scheme_len == strlen(scheme) &&
           strncasecmp(u->scheme, scheme, u->scheme_len) == 0;
}

bool config__mail_address_ok(const char *addr, size_t len)
{
    const char *at = NULL;

    if (len == 0 || len > MAIL_ADDRESS_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)addr[i];

        if (c <= ' ' || c >= 0x7f || strchr("<>()[],;:\"\\", c))
            return false;
        if (c == '@') {
            if (at)
                return false;
            at = addr + i;
        }
    }
    if (!at || at == addr || at == addr + len - 1)
        return false;
    /* The domain: dot-separated labels of letters, digits and '-'. */
    for (const char *d = at + 1, *label = d; d <= addr + len; d++) {
        if (d == addr + len || *d == '.') {
            if (d == label)
                return false;
            label = d + 1;
        } else if (!config__is_alnum(*d) && *d != '-') {
            return false;
        }
    }
    return true;
}

/* mail_to: one or more addresses separated by commas (blanks around them
 * allowed). */
static void check_recipients(struct parser *p, const struct config *cfg)
{
    const char *s = cfg->alert.mail_to, *e;
    int line = config__line_of(cfg, SEC_ALERT, "mail_to"), n = 0;
    char raw[SHOWN_MAX], q[SHOWN_MAX];

    for (; *s; s = *e ? e + 1 : e) {
        const char *b = s;
        size_t len;

        e = strchr(s, ',');
        if (!e)
            e = s + strlen(s);
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        len = (size_t)(e - b);
        while (len && (b[len - 1] == ' ' || b[len - 1] == '\t'))
            len--;
        if (!config__mail_address_ok(b, len)) {
            config__bprintf(raw, sizeof(raw), "%.*s", (int)len, b);
            config__report(p, line, "alert", "mail_to",
                           "\"%s\" is not an e-mail address; expected addresses such as "
                           "ops@example.net, separated by commas",
                           config__shown(raw, q, sizeof(q)));
            return;
        }
        n++;
    }
    if (!n)
        config__report(p, line, "alert", "mail_to",
                       "names no address; expected addresses such as ops@example.net");
}

static void check_smtp(struct parser *p, const struct config *cfg)
{
    const struct config_alert *a = &cfg->alert;
    int line = config__line_of(cfg, SEC_ALERT, "smtp_url");
    struct url_parts u;
    char q[SHOWN_MAX];

    if (url_split(a->smtp_url, &u) || !(scheme_is(&u, "smtp") || scheme_is(&u, "smtps"))) {
        config__report(p, line, "alert", "smtp_url",
                       "\"%s\" is not a mail server address; expected smtp://HOST[:PORT] "
                       "(STARTTLS) or smtps://HOST[:PORT] (TLS)",
                       u.userinfo ? "(holds a password)" : config__shown(a->smtp_url, q, sizeof(q)));
        return;
    }
    if (u.userinfo)
        config__report(p, line, "alert", "smtp_url",
                       "holds a user name or password (user:pass@host); remove it and set "
                       "smtp_user and smtp_password_file");
    else if (*u.rest && strcmp(u.rest, "/"))
        config__report(p, line, "alert", "smtp_url",
                       "\"%s\" has a path or query; expected smtp://HOST[:PORT] or "
                       "smtps://HOST[:PORT] alone",
                       config__shown(a->smtp_url, q, sizeof(q)));
    if (!a->mail_from)
        config__report(p, line, "alert", "mail_from",
                       "missing; smtp_url needs the sender address such as "
                       "mail_from = camsnap@example.net");
    if (!a->mail_to)
        config__report(p, line, "alert", "mail_to",
                       "missing; smtp_url needs the recipients such as "
                       "mail_to = ops@example.net");
}

static void check_webhook(struct parser *p, const struct config *cfg)
{
    int line = config__line_of(cfg, SEC_ALERT, "webhook_url");
    struct url_parts u;

    if (!line)
        line = config__line_of(cfg, SEC_ALERT, "webhook_url_file");
    if (url_split(cfg->alert.webhook_url, &u) || !(scheme_is(&u, "https") || scheme_is(&u, "http"))) {
        config__report(p, line, "alert", "webhook_url",
                       "is not a web address (not shown: it is a secret); expected "
                       "https://HOST/PATH");
        return;
    }
    if (scheme_is(&u, "http") && !url_host_is_loopback(&u))
        config__report(p, line, "alert", "webhook_url",
                       "is plain http:// to another machine: the address (the webhook's key) "
                       "would travel in clear; expected https://");
}

void config__validate_alert(struct parser *p, const struct config *cfg)
{
    const struct config_alert *a = &cfg->alert;
    char q[SHOWN_MAX];

    if (a->webhook_url)
        check_webhook(p, cfg);
    if (a->smtp_url)
        check_smtp(p, cfg);
    else if (a->mail_from || a->mail_to || a->smtp_user)
        config__report(p, config__line_of(cfg, SEC_ALERT, a->mail_to ? "mail_to" : "mail_from"),
                       "alert", "smtp_url",
                       "missing; mail_from, mail_to and smtp_user need the mail server such as "
                       "smtp_url = smtp://mail.example.net:587");
    if (a->mail_from && !config__mail_address_ok(a->mail_from, strlen(a->mail_from)))
        config__report(p, config__line_of(cfg, SEC_ALERT, "mail_from"), "alert", "mail_from",
                       "\"%s\" is not an e-mail address; expected one address such as "
                       "camsnap@example.net",
                       config__shown(a->mail_from, q, sizeof(q)));
    if (a->mail_to)
        check_recipients(p, cfg);
    if (a->smtp_user && !a->smtp_password)
        config__report(p, config__line_of(cfg, SEC_ALERT, "smtp_user"), "alert",
                       "smtp_password_file",
                       "missing; smtp_user needs its password: smtp_password_file = "
                       "/etc/camsnap/smtp.pass (mode 600) or smtp_password = ${SMTP_PASSWORD}");
    if (a->smtp_password && !a->smtp_user)
        config__report(p, config__line_of(cfg, SEC_ALERT, "smtp_password_file"), "alert",
                       "smtp_user", "missing; a password is set but no user name to log in with");
    if (a->report != ALERT_REPORT_OFF && !a->webhook_url && !a->smtp_url)
        config__report(p, config__line_of(cfg, SEC_ALERT, "report"), "alert", "report",
                       "has no channel to go through; set webhook_url or smtp_url, or "
                       "report = off");
}
