/* url.c - the parts of a URL's authority (url.h). */
#include "url.h"

#include <string.h>
#include <strings.h>

enum cs_err url_split(const char *url, struct url_parts *out)
{
    const char *sep = url ? strstr(url, "://") : NULL, *auth, *end, *host, *hend, *p;
    long port = -1;

    memset(out, 0, sizeof(*out));
    out->port = -1;
    if (!sep || sep == url)
        return CS_CONFIG;
    for (p = url; p < sep; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (p > url &&
              ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))))
            return CS_CONFIG;
    out->scheme = url;
    out->scheme_len = (size_t)(sep - url);
    auth = sep + 3;
    end = auth + strcspn(auth, "/?#");
    out->rest = end;
    host = auth;
    for (p = auth; p < end; p++)
        if (*p == '@')
            host = p + 1;
    if (host != auth) {
        out->userinfo = auth;
        out->userinfo_len = (size_t)(host - 1 - auth);
    }
    if (*host == '[') {
        const char *rb = memchr(host, ']', (size_t)(end - host));
        if (!rb)
            return CS_CONFIG;
        out->ipv6 = true;
        out->host = host + 1;
        out->host_len = (size_t)(rb - host - 1);
        hend = rb + 1;
        if (hend < end && *hend != ':')
            return CS_CONFIG;
    } else {
        hend = memchr(host, ':', (size_t)(end - host));
        hend = hend ? hend : end;
        out->host = host;
        out->host_len = (size_t)(hend - host);
    }
    if (out->host_len == 0)
        return CS_CONFIG;
    if (hend < end) { /* ":port" */
        port = 0;
        for (p = hend + 1; p < end; p++) {
            if (*p < '0' || *p > '9' || port > 65535)
                return CS_CONFIG;
            port = port * 10 + (*p - '0');
        }
        if (p == hend + 1 || port < 1 || port > 65535)
            return CS_CONFIG;
    }
    out->port = (int)port;
    return CS_OK;
}

bool url_host_is_loopback(const struct url_parts *u)
{
    if (u->host_len == 9 && !strncasecmp(u->host, "localhost", 9))
        return true;
    if (u->ipv6)
        return u->host_len == 3 && !memcmp(u->host, "::1", 3);
    if (u->host_len <= 4 || memcmp(u->host, "127.", 4))
        return false;
    for (size_t i = 0; i < u->host_len; i++) /* an address, not "127.example" */
        if (!((u->host[i] >= '0' && u->host[i] <= '9') || u->host[i] == '.'))
            return false;
    return true;
}
