/*
 * multipart.h - the parts of an MJPEG-over-HTTP stream
 * (Content-Type: multipart/x-mixed-replace; boundary=...), what many
 * cameras serve instead of a snapshot URL: an endless body of JPEG parts,
 * each after a "--boundary" line and its own headers.
 *
 * Written for what cameras really send, not only for RFC 2046: a boundary
 * parameter that already carries the leading "--", quoted or not; no
 * boundary parameter at all, or a wrong Content-Type (the boundary is then
 * read from the body's first delimiter line); parts with or without
 * Content-Length (a wrong one falls back to the next delimiter); LF or CRLF
 * line ends; a torn first part when the camera starts mid-picture.
 *
 * Pure functions over bytes already received: no I/O, no allocation. The
 * caller checks that a part is a whole JPEG and asks for the next one if
 * not. Thread-safe.
 */
#ifndef CAMSNAP_MULTIPART_H
#define CAMSNAP_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MULTIPART_DELIM_MAX 80 /* RFC 2046 allows 70 characters, plus "--" */

struct multipart {
    char delim[MULTIPART_DELIM_MAX + 1]; /* "--" + boundary */
    size_t dlen;                         /* 0 until known */
};

enum multipart_result {
    MP_MORE, /* no whole part yet: read more and call again with the same `from` */
    MP_PART, /* a part's body was found */
    MP_END,  /* the closing delimiter: no more parts */
};

/* True when the Content-Type names a multipart body. */
bool multipart_is_multipart(const char *content_type);

/* Takes the boundary from a Content-Type header's boundary= parameter.
 * Returns false when there is none (or it is unusable). */
bool multipart_from_content_type(struct multipart *m, const char *content_type);

/* Takes the boundary from the first delimiter line of a body that starts
 * with "--" (after blank lines): the way to read a stream served with a
 * wrong Content-Type. Returns false when the body does not look like
 * multipart, or (with *more set) when the first line is not complete. */
bool multipart_sniff(struct multipart *m, const uint8_t *buf, size_t len, bool *more);

/*
 * Finds the next part at or after `from` in buf[0..len). On MP_PART, the
 * part's body is buf[*off .. *off + *plen) and *next is where to look for
 * the part after it. Content-Length is trusted when the bytes it spans end
 * at a delimiter (or at the end of the buffer's known part), else the body
 * ends at the next delimiter.
 */
enum multipart_result multipart_next(const struct multipart *m, const uint8_t *buf, size_t len,
                                     size_t from, size_t *off, size_t *plen, size_t *next);

#endif
