/* multipart.c - the parts of an MJPEG-over-HTTP stream (see multipart.h). */
#include "multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADERS_MAX 8192 /* a part's header block longer than this is not one */
#define BOUNDARY_MAX 70  /* RFC 2046 */

bool multipart_is_multipart(const char *content_type)
{
    return content_type && strncasecmp(content_type, "multipart/", 10) == 0;
}

/* Stores "--" + the boundary token b[0..n); a token that already starts
 * with "--" (a common camera quirk: boundary=--myboundary while the body
 * uses --myboundary) is taken without it. */
static bool set_boundary(struct multipart *m, const char *b, size_t n)
{
    while (n > 2 && b[0] == '-' && b[1] == '-') {
        b += 2;
        n -= 2;
    }
    if (n == 0 || n > BOUNDARY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7E)
            return false;
    m->dlen = (size_t)snprintf(m->delim, sizeof(m->delim), "--%.*s", (int)n, b);
    return true;
}

bool multipart_from_content_type(struct multipart *m, const char *ct)
{
    const char *p;
    size_t n;

    m->dlen = 0;
    if (!ct)
        return false;
    for (p = ct; (p = strcasestr(p, "boundary")); p += 8) {
        const char *v = p + 8;
        v += strspn(v, " \t");
        if (*v != '=' || (p > ct && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t'))
            continue;
        v++;
        v += strspn(v, " \t");
        if (*v == '"') {
            const char *q = strchr(++v, '"');
            n = q ? (size_t)(q - v) : strlen(v);
        } else {
            n = strcspn(v, "; \t\r\n");
        }
        return set_boundary(m, v, n);
    }
    return false;
}

bool multipart_sniff(struct multipart *m, const uint8_t *buf, size_t len, bool *more)
{
    size_t i = 0, end;
    const uint8_t *nl;

    *more = false;
    m->dlen = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n' || buf[i] == ' '))
        i++;
    if (len - i < 2) {
        *more = len < 256;
        return false;
    }
    if (buf[i] != '-' || buf[i + 1] != '-')
        return false;
    if (!(nl = memchr(buf + i, '\n', len - i))) {
        *more = len - i < BOUNDARY_MAX + 8;
        return false;
    }
    end = (size_t)(nl - buf);
    while (end > i && (buf[end - 1] == '\r' || buf[end - 1] == ' ' || buf[end - 1] == '\t'))
        end--;
    return set_boundary(m, (const char *)buf + i, end - i);
}

static const uint8_t *find(const struct multipart *m, const uint8_t *buf, size_t len, size_t from)
{
    if (from >= len)
        return NULL;
    return memmem(buf + from, len - from, m->delim, m->dlen);
}

/* Index just past the '\n' ending the line that starts at `at`, or 0. */
static size_t line_end(const uint8_t *buf, size_t len, size_t at)
{
    const uint8_t *nl = at < len ? memchr(buf + at, '\n', len - at) : NULL;

    return nl ? (size_t)(nl - buf) + 1 : 0;
}

/* Reads the part headers that start at h. Returns the offset of the body,
 * 0 when more data is needed, SIZE_MAX when this is no header block. */
static size_t read_headers(const uint8_t *buf, size_t len, size_t h, long long *clen)
{
    size_t start = h;

    *clen = -1;
    for (;;) {
        size_t next = line_end(buf, len, h), n;
        if (h + 2 <= len && buf[h] == 0xFF && buf[h + 1] == 0xD8)
            return h; /* no headers at all: the JPEG starts right away */
        if (!next)
            return len - start > HEADERS_MAX ? SIZE_MAX : 0;
        if (next - start > HEADERS_MAX)
            return SIZE_MAX;
        n = next - h - 1; /* without '\n' */
        if (n > 0 && buf[h + n - 1] == '\r')
            n--;
        if (n == 0)
            return next;
        if (n > 15 && strncasecmp((const char *)buf + h, "content-length:", 15) == 0) {
            char num[24];
            size_t k = 15, j = 0;
            while (k < n && (buf[h + k] == ' ' || buf[h + k] == '\t'))
                k++;
            while (k < n && j + 1 < sizeof(num) && buf[h + k] >= '0' && buf[h + k] <= '9')
                num[j++] = (char)buf[h + k++];
            num[j] = '\0';
            *clen = j ? strtoll(num, NULL, 10) : -1;
        }
        h = next;
    }
}

/* The end of a body that runs up to a delimiter at d: without the line
 * break (and stray '-') before it. */
static size_t trim_end(const uint8_t *buf, size_t b, size_t d)
{
    while (d > b && (buf[d - 1] == '\n' || buf[d - 1] == '\r' || buf[d - 1] == '-'))
        d--;
    return d;
}

static bool delim_at(const struct multipart *m, const uint8_t *buf, size_t len, size_t i)
{
    size_t n = len - i < m->dlen ? len - i : m->dlen;

    return memcmp(buf + i, m->delim, n) == 0;
}

/* True when only a line break separates `at` from a delimiter (with or
 * without the two extra dashes of a boundary that itself starts with
 * "--"), or nothing has arrived after it yet. */
static bool delimiter_follows(const struct multipart *m, const uint8_t *buf, size_t len, size_t at)
{
    size_t i = at;

    while (i < len && i < at + 2 && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i >= len || delim_at(m, buf, len, i))
        return true;
    return len - i >= 2 && buf[i] == '-' && buf[i + 1] == '-' && delim_at(m, buf, len, i + 2);
}

enum multipart_result multipart_next(const struct multipart *m, const uint8_t *buf, size_t len,
                                     size_t from, size_t *off, size_t *plen, size_t *next)
{
    const uint8_t *d, *d2;
    size_t p, body, stop;
    long long clen;

    for (;;) {
        if (!m->dlen || !(d = find(m, buf, len, from)))
            return MP_MORE;
        p = (size_t)(d - buf) + m->dlen;
        if (p + 2 <= len && buf[p] == '-' && buf[p + 1] == '-')
            return MP_END;
        if (!(p = line_end(buf, len, p)))
            return MP_MORE;
        body = read_headers(buf, len, p, &clen);
        if (body == 0)
            return MP_MORE;
        if (body == SIZE_MAX) { /* not a part: look for the next delimiter */
            from = (size_t)(d - buf) + m->dlen;
            continue;
        }
        break;
    }
    d2 = find(m, buf, len, body);
    stop = d2 ? (size_t)(d2 - buf) : len;
    /* Content-Length, when it agrees with where the next delimiter is (or
     * the next delimiter has not come yet). */
    if (clen >= 0 && (unsigned long long)clen <= stop - body &&
        (d2 ? delimiter_follows(m, buf, len, body + (size_t)clen) : true)) {
        if (body + (size_t)clen > len)
            return MP_MORE;
        *off = body;
        *plen = (size_t)clen;
        *next = body + (size_t)clen;
        return MP_PART;
    }
    if (clen >= 0 && !d2 && body + (size_t)clen > len)
        return MP_MORE;
    if (!d2)
        return MP_MORE;
    *off = body;
    *plen = trim_end(buf, body, stop) - body;
    *next = stop;
    return MP_PART;
}
