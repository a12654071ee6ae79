/*
 * alert_send.h - the two alert channels, over libcurl (the only file of
 * the alert layer that includes curl.h):
 *
 *   webhook   one HTTP POST of a JSON body (https://, or http:// to this
 *             machine); 2xx is taken; no redirect is followed
 *   e-mail    one SMTP transaction: smtp:// with STARTTLS required
 *             (CURLUSESSL_ALL), or smtps:// (TLS from the first byte); AUTH
 *             when a user is set; the certificate is verified (ca_file or
 *             the system's CAs); libcurl dot-stuffs the message, which
 *             alert_mail_message() writes with CRLF line ends
 *
 * Errors come back as text for the log and the outbox: the server's answer
 * (escaped, cut) and libcurl's own words, never the webhook address or a
 * password. Thread-safe (each call uses its own handle); alerts_global_init()
 * must have run.
 */
#ifndef CAMSNAP_ALERT_SEND_H
#define CAMSNAP_ALERT_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Where a message goes; strings borrowed for the call. */
struct alert_target {
    const char *webhook_url;    /* secret */
    const char *smtp_url;
    const char *mail_from;
    const char *mail_to;        /* addresses separated by ',' */
    const char *smtp_user;
    const char *smtp_password;  /* secret */
    const char *ca_file;        /* NULL: the system's CAs */
    int64_t timeout_ms;
};

/* POSTs json to the webhook. CS_OK on 2xx; otherwise CS_AGAIN (429, 5xx,
 * network: worth retrying soon; *retry_after_ms the server's Retry-After or
 * 0), CS_AUTH (401/403), CS_PROTO (another answer), CS_TIMEOUT; err says
 * what (never the address). */
enum cs_err alert_send_webhook(const struct alert_target *t, const char *json,
                               int64_t *retry_after_ms, char *err, size_t errsz);

/* Sends message (alert_mail_message()) to every recipient of t. CS_OK when
 * the server took it; otherwise as alert_send_webhook (CS_AUTH: login
 * refused), err with the server's reply. */
enum cs_err alert_send_mail(const struct alert_target *t, const char *message, char *err,
                            size_t errsz);

/* An Internet message: Date (now_ms, local time), From, To, Subject,
 * Message-ID <id_left@domain of mail_from>, MIME headers for UTF-8 text,
 * Auto-Submitted, then body; every line ends in CRLF, lines longer than
 * 990 bytes are wrapped. subject must be ASCII without line breaks.
 * Returns a malloc'ed string, NULL when out of memory. */
char *alert_mail_message(const struct alert_target *t, const char *subject, const char *body,
                         const char *id_left, int64_t now_ms);

/* libcurl's global initialisation, once per process, before threads. */
void alert_send_global_init(void);

#endif
