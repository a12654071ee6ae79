/* source.c - dispatch to the source kind named by the camera URL's scheme. */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct source_ops *const kinds[] = {
    &source_synthetic_ops,
    &source_rtsp_ops,
    &source_http_ops,
};

struct source {
    const struct source_ops *ops;
    void *state;
};

static const struct source_ops *find_ops(const char *url)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const char *prefix = kinds[i]->scheme_prefix;
        if (!strncasecmp(url, prefix, strlen(prefix)))
            return kinds[i];
        /* "https://" is served by the http kind, "rtsps://" by rtsp. */
        if (!strcmp(prefix, "http://") && !strncasecmp(url, "https://", 8))
            return kinds[i];
        if (!strcmp(prefix, "rtsp://") && !strncasecmp(url, "rtsps://", 8))
            return kinds[i];
    }
    return NULL;
}

void source_global_init(void)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i]->global_init)
            kinds[i]->global_init();
}

enum cs_err source_open(const struct camera_config *cam, struct budget *budget,
                        int64_t deadline_mono_ms, struct source **out, char *err, size_t errsz)
{
    const struct source_ops *ops = find_ops(cam->url);
    struct source *src;
    enum cs_err rc;

    if (!ops) {
        snprintf(err, errsz, "unsupported URL scheme (use rtsp://, http://, https:// or "
                             "synthetic://WxH)");
        return CS_UNSUPPORTED;
    }
    if (!(src = calloc(1, sizeof(*src))))
        return CS_NOMEM;
    src->ops = ops;
    rc = ops->open(cam, budget, deadline_mono_ms, &src->state, err, errsz);
    if (rc) {
        free(src);
        return rc;
    }
    *out = src;
    return CS_OK;
}

enum cs_err source_grab(struct source *src, int64_t deadline_mono_ms, struct frame *frame,
                        char *err, size_t errsz)
{
    return src->ops->grab(src->state, deadline_mono_ms, frame, err, errsz);
}

void source_release(struct source *src, struct frame *frame)
{
    if (src && src->ops->release)
        src->ops->release(src->state, frame);
}

void source_get_info(const struct source *src, struct source_info *info)
{
    memset(info, 0, sizeof(*info));
    src->ops->info(src->state, info);
}

void source_close(struct source *src)
{
    if (!src)
        return;
    src->ops->close(src->state);
    free(src);
}
