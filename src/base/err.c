#include "err.h"

#include <errno.h>

static const char *const messages[CS_ERR__COUNT] = {
    [CS_OK] = "success",
    [CS_NOMEM] = "out of memory",
    [CS_IO] = "input/output error",
    [CS_NOSPACE] = "no space left on disk",
    [CS_TIMEOUT] = "timed out",
    [CS_AUTH] = "authentication refused",
    [CS_NOTFOUND] = "not found",
    [CS_REFUSED] = "connection refused",
    [CS_PROTO] = "protocol error",
    [CS_BADFRAME] = "bad or incomplete image",
    [CS_TOOBIG] = "too large",
    [CS_UNSUPPORTED] = "unsupported",
    [CS_DB] = "database error",
    [CS_CONFIG] = "configuration error",
    [CS_AGAIN] = "temporary failure, try again",
    [CS_EXISTS] = "already exists",
    [CS_BUSY] = "busy (held by another process)",
    [CS_CANCELLED] = "cancelled",
    [CS_PERM] = "permission denied",
};

const char *cs_strerror(enum cs_err rc)
{
    if ((int)rc < 0 || rc >= CS_ERR__COUNT || !messages[rc])
        return "unknown error";
    return messages[rc];
}

enum cs_err cs_from_errno(int e)
{
    switch (e) {
    case 0: return CS_OK;
    case ENOMEM: return CS_NOMEM;
    case ENOSPC:
    case EDQUOT: return CS_NOSPACE;
    case ETIMEDOUT: return CS_TIMEOUT;
    case EACCES:
    case EPERM: return CS_PERM;
    case ENOENT: return CS_NOTFOUND;
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH: return CS_REFUSED;
    case EEXIST: return CS_EXISTS;
    case EAGAIN:
    case EINTR: return CS_AGAIN;
    default: return CS_IO;
    }
}
