/* backend.c - dispatch to the configured delivery backend. */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>

struct backend {
    const struct backend_ops *ops;
    void *state;
};

enum cs_err backend_new(const struct config_upload *cfg, struct backend **out, char *err,
                        size_t errsz)
{
    struct backend *be = calloc(1, sizeof(*be));
    enum cs_err rc;

    if (!be)
        return CS_NOMEM;
    switch (cfg->backend) {
    case UPLOAD_SUPABASE:
        be->ops = &backend_supabase_ops;
        rc = backend_supabase_new(cfg, &be->state, err, errsz);
        break;
    case UPLOAD_DIR:
        be->ops = &backend_dir_ops;
        rc = backend_dir_new(cfg, &be->state, err, errsz);
        break;
    default:
        snprintf(err, errsz, "no upload backend configured ([upload] backend = none)");
        rc = CS_CONFIG;
    }
    if (rc) {
        free(be);
        return rc;
    }
    *out = be;
    return CS_OK;
}

void backend_free(struct backend *be)
{
    if (!be)
        return;
    be->ops->free(be->state);
    free(be);
}

const char *backend_name(const struct backend *be)
{
    return be->ops->name;
}

enum cs_err backend_start(struct backend *be, struct dl_request *req)
{
    return be->ops->start(be->state, req);
}

int backend_poll(struct backend *be, int timeout_ms, backend_done_fn done, void *ctx)
{
    return be->ops->poll(be->state, timeout_ms, done, ctx);
}

void backend_wakeup(struct backend *be)
{
    be->ops->wakeup(be->state);
}

void backend_cancel(struct backend *be)
{
    be->ops->cancel(be->state);
}

void backend_object_url(struct backend *be, const char *path, char *out, size_t outsz)
{
    be->ops->object_url(be->state, path, out, outsz);
}
