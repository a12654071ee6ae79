/*
 * err.h - the one error convention of camsnap.
 *
 * Every fallible function returns an enum cs_err; CS_OK (0) is success, so
 * `if (rc) goto out;` reads naturally. Results travel through out-parameters.
 * Library errors are translated to these codes at the border of the module
 * that owns the library; the library's own message is logged there, once.
 */
#ifndef CAMSNAP_ERR_H
#define CAMSNAP_ERR_H

enum cs_err {
    CS_OK = 0,
    CS_NOMEM,       /* allocation failed (bounded image buffers, not fatal) */
    CS_IO,          /* local file or directory operation failed */
    CS_NOSPACE,     /* local disk full (ENOSPC, EDQUOT) */
    CS_TIMEOUT,     /* a deadline passed */
    CS_AUTH,        /* credentials refused (401/403) */
    CS_NOTFOUND,    /* wrong path / no such thing (404, missing file) */
    CS_REFUSED,     /* connection refused or host unreachable */
    CS_PROTO,       /* peer spoke nonsense: bad status, bad body, bad SDP */
    CS_BADFRAME,    /* image incomplete, corrupt or not decodable */
    CS_TOOBIG,      /* a body or image exceeded its configured maximum */
    CS_UNSUPPORTED, /* codec, pixel format or URL scheme we cannot handle */
    CS_DB,          /* SQLite error */
    CS_CONFIG,      /* invalid configuration or usage */
    CS_AGAIN,       /* transient; try again later */
    CS_EXISTS,      /* target already exists */
    CS_BUSY,        /* held by someone else (lock) */
    CS_CANCELLED,   /* stopped on request (signal, shutdown) */
    /* A local permission refused (EACCES, EPERM); a camera refusing
     * credentials is CS_AUTH. */
    CS_PERM,
    CS_ERR__COUNT
};

/* Returns a short, static, human-readable text for rc. Thread-safe. */
const char *cs_strerror(enum cs_err rc);

/* Maps an errno value to the closest cs_err: ENOSPC, EDQUOT -> CS_NOSPACE;
 * EACCES, EPERM -> CS_PERM; ENOENT -> CS_NOTFOUND; ... */
enum cs_err cs_from_errno(int e);

#endif
