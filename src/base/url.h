/*
 * url.h - the parts of a URL's authority, the one place camsnap takes a URL
 * apart: scheme://[userinfo@]host[:port][/path][?query][#fragment].
 *
 * The userinfo ends at the LAST '@' of the authority (a camera password may
 * hold an unescaped '@'; a host never does); an IPv6 host is written in
 * brackets and given without them. Pure functions over the caller's string:
 * the parts point into it (no copies, no allocation). Thread-safe.
 */
#ifndef CAMSNAP_URL_H
#define CAMSNAP_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct url_parts {
    const char *scheme;   /* "rtsp" (no "://") */
    size_t scheme_len;
    const char *userinfo; /* "user:pass" (still percent-encoded), NULL when none */
    size_t userinfo_len;
    const char *host;     /* "192.0.2.1", "::1" (no brackets), "cam.example" */
    size_t host_len;
    bool ipv6;            /* the host was written in brackets */
    int port;             /* -1 when the URL names none */
    const char *rest;     /* from the first '/', '?' or '#' after the authority ("" if none) */
};

/* Splits url. CS_CONFIG when it has no "scheme://", an empty host, an
 * unclosed '[', or a port that is not a number from 1 to 65535; what was
 * found before the fault (scheme, userinfo, rest) is filled in even then,
 * so that a URL with a ${VAR} for its port still shows its userinfo. */
enum cs_err url_split(const char *url, struct url_parts *out);

/* True when the host is this machine: localhost, 127.0.0.0/8 or ::1. */
bool url_host_is_loopback(const struct url_parts *u);

#endif
