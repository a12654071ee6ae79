/*
 * backend_dir.c - a local directory as the delivery target (the demo, tests,
 * and sites that sync a directory by other means):
 *
 *   {path}/{bucket}/camera_<name>/<still>   objects, written atomically and
 *                                           never replaced (same bytes = exists,
 *                                           other bytes = conflict)
 *   {path}/rows/<image_id>.json             one row per still (second insert =
 *                                           exists)
 *   {path}/.staging/                        files being written; moved into place
 *                                           with renameat2(RENAME_NOREPLACE), so
 *                                           no reader ever sees a partial one
 *
 * Work is done synchronously in start(); results are handed out by poll(),
 * as the backend interface requires.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "hash.h"

struct done_item {
    struct dl_request *req;
    struct dl_result res;
    struct done_item *next;
};

struct dirbe {
    char root[1024];
    char bucket[128];
    struct done_item *head, **tail;
    int wake[2];                /* self-pipe for backend_wakeup */
    unsigned long staged;       /* staging file counter */
};

#define STAGING ".staging"



static int mkdirs(const char *path, size_t upto)
{
    char buf[PATH_MAX];

    if (upto >= sizeof(buf))
        return -1;
    memcpy(buf, path, upto);
    buf[upto] = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* Creates root/rows and root/.staging, emptying the latter (a crash's
 * leftovers: never published, so never seen by a reader). */
static int prepare_dirs(struct dirbe *d)
{
    char path[PATH_MAX];
    struct dirent *de;
    DIR *dir;

    snprintf(path, sizeof(path), "%s/rows", d->root);
    if (mkdirs(path, strlen(path)))
        return -1;
    snprintf(path, sizeof(path), "%s/" STAGING, d->root);
    if (mkdirs(path, strlen(path)) || !(dir = opendir(path)))
        return -1;
    while ((de = readdir(dir)))
        if (de->d_name[0] != '.')
            unlinkat(dirfd(dir), de->d_name, 0);
    closedir(dir);
    return 0;
}

static int write_file_sync(int fd, const uint8_t *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return fsync(fd);
}

/* Syncs the directory holding path; 0 or an errno. */
static int fsync_dir(const char *path)
{
    char buf[PATH_MAX];
    char *slash;
    int fd, e = 0;

    snprintf(buf, sizeof(buf), "%s", path);
    if (!(slash = strrchr(buf, '/')))
        return 0;
    *slash = '\0';
    if ((fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return errno;
    if (fsync(fd) != 0)
        e = errno;
    close(fd);
    return e;
}

/* Same bytes as data? */
static int same_content(const char *path, const uint8_t *data, size_t len, int64_t *size)
{
    uint8_t buf[65536];
    size_t off = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC), same = 1;
    struct stat st;

    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *size = (int64_t)st.st_size;
    if ((size_t)st.st_size != len)
        same = 0;
    while (same && (n = read(fd, buf, sizeof(buf))) > 0) {
        if (off + (size_t)n > len || memcmp(buf, data + off, (size_t)n))
            same = 0;
        off += (size_t)n;
    }
    close(fd);
    return same;
}

/* Writes data to a staging file and moves it to `path` without replacing
 * anything: returns 0, EEXIST when path exists, or another errno. Staging
 * lives outside the bucket and rows, so a crash never leaves a partial
 * object or row where readers look; leftovers are removed at start. */
static int publish(struct dirbe *d, const char *path, const uint8_t *data, size_t len)
{
    char tmp[PATH_MAX];
    int fd, e = 0;

    snprintf(tmp, sizeof(tmp), "%s/" STAGING "/%ld-%lu", d->root, (long)getpid(),
             d->staged++);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
        return errno;
    if (write_file_sync(fd, data, len) != 0)
        e = errno;
    close(fd);
    if (!e && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0)
        e = errno;
    if (e)
        unlink(tmp);
    else if ((e = fsync_dir(path)) != 0)
        unlink(path); /* its entry may not be durable: not stored; the retry writes it again */
    return e;
}

static void put_object(struct dirbe *d, const struct dl_request *req, struct dl_result *r)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s/%s", d->root, d->bucket, req->path);
    int64_t size = -1;

    if (n < 0 || (size_t)n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    if (mkdirs(path, (size_t)(strrchr(path, '/') - path)))
        goto fail;
    if (!(errno = publish(d, path, req->data, req->len))) {
        r->cls = DL_OK;
        snprintf(r->message, sizeof(r->message), "stored %s", req->path);
        return;
    }
    if (errno != EEXIST)
        goto fail;
    n = same_content(path, req->data, req->len, &size);
    r->cls = n == 1 ? DL_EXISTS : DL_CONFLICT;
    r->remote_size = size;
    snprintf(r->message, sizeof(r->message), "%s%s already exists%s",
             n == 1 ? "" : "conflict: ", req->path,
             n == 1 ? " with the same bytes" : " with different bytes");
    return;
fail:
    r->cls = errno == ENOSPC || errno == EIO ? DL_RETRY : DL_ATTENTION;
    snprintf(r->message, sizeof(r->message), "storing %.100s under %.160s: %s", req->path, d->root,
             strerror(errno));
}

static void put_row(struct dirbe *d, const struct dl_request *req, struct dl_result *r)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = strlen(req->row_json);

    snprintf(path, sizeof(path), "%s/rows/%s.json", d->root, req->image_id);
    if (!(text = malloc(len + 2))) {
        errno = ENOMEM;
        goto fail;
    }
    memcpy(text, req->row_json, len);
    memcpy(text + len, "\n", 2);
    errno = publish(d, path, (const uint8_t *)text, len + 1);
    free(text);
    if (errno == EEXIST) {
        r->cls = DL_EXISTS;
        snprintf(r->message, sizeof(r->message), "row %s already exists", req->image_id);
        return;
    }
    if (errno)
        goto fail;
    r->cls = DL_OK;
    snprintf(r->message, sizeof(r->message), "row %s inserted", req->image_id);
    return;
fail:
    r->cls = errno == ENOSPC || errno == EIO ? DL_RETRY : DL_ATTENTION;
    snprintf(r->message, sizeof(r->message), "writing row under %.200s: %s", d->root,
             strerror(errno));
}

/* Reads the object back: its size and SHA-256. */
static void verify(struct dirbe *d, const struct dl_request *req, struct dl_result *r)
{
    char path[PATH_MAX];
    struct stat st;
    int fd;

    snprintf(path, sizeof(path), "%s/%s/%s", d->root, d->bucket, req->path);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
        hash_sha256_fd(fd, r->remote_sha256) != CS_OK) {
        r->cls = errno == ENOENT ? DL_ATTENTION : DL_RETRY;
        snprintf(r->message, sizeof(r->message), "reading %.200s back: %s", req->path,
                 strerror(errno));
    } else {
        r->cls = DL_OK;
        r->remote_size = (int64_t)st.st_size;
        snprintf(r->message, sizeof(r->message), "remote size %lld", (long long)r->remote_size);
    }
    if (fd >= 0)
        close(fd);
}

static enum cs_err dir_start(void *state, struct dl_request *req)
{
    struct dirbe *d = state;
    struct done_item *it = calloc(1, sizeof(*it));

    if (!it)
        return CS_NOMEM;
    it->req = req;
    it->res.remote_size = -1;
    if (req->step == DL_STEP_OBJECT)
        put_object(d, req, &it->res);
    else if (req->step == DL_STEP_ROW)
        put_row(d, req, &it->res);
    else
        verify(d, req, &it->res);
    *d->tail = it;
    d->tail = &it->next;
    return CS_OK;
}

static int dir_poll(void *state, int timeout_ms, backend_done_fn done, void *ctx)
{
    struct dirbe *d = state;
    int n = 0;
    char buf[64];

    if (!d->head) {
        struct pollfd pfd = {.fd = d->wake[0], .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) > 0)
            while (read(d->wake[0], buf, sizeof(buf)) > 0)
                ;
    }
    while (d->head) {
        struct done_item *it = d->head;
        d->head = it->next;
        if (!d->head)
            d->tail = &d->head;
        done(ctx, it->req, &it->res);
        free(it);
        n++;
    }
    return n;
}

static void dir_wakeup(void *state)
{
    struct dirbe *d = state;

    if (write(d->wake[1], "x", 1) < 0) {
        /* pipe full: a wake-up is already pending */
    }
}

/* Work is done in start(): what is queued is finished, and dropped here. */
static void dir_cancel(void *state)
{
    struct dirbe *d = state;

    while (d->head) {
        struct done_item *it = d->head;
        d->head = it->next;
        free(it);
    }
    d->tail = &d->head;
}

static void dir_object_url(void *state, const char *path, char *out, size_t outsz)
{
    struct dirbe *d = state;

    snprintf(out, outsz, "file://%s/%s/%s", d->root, d->bucket, path);
}

static void dir_free(void *state)
{
    struct dirbe *d = state;

    if (!d)
        return;
    dir_cancel(d);
    close(d->wake[0]);
    close(d->wake[1]);
    free(d);
}

enum cs_err backend_dir_new(const struct config_upload *cfg, void **state, char *err,
                            size_t errsz)
{
    struct dirbe *d;

    if (!cfg->path || !*cfg->path) {
        snprintf(err, errsz, "[upload] backend = dir needs path");
        return CS_CONFIG;
    }
    if (!(d = calloc(1, sizeof(*d))))
        return CS_NOMEM;
    if (strlen(cfg->path) >= sizeof(d->root)) {
        snprintf(err, errsz, "delivery directory path is too long");
        free(d);
        return CS_CONFIG;
    }
    snprintf(d->root, sizeof(d->root), "%s", cfg->path);
    snprintf(d->bucket, sizeof(d->bucket), "%s", cfg->bucket ? cfg->bucket : "ASE");
    d->tail = &d->head;
    if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errsz, "cannot start the delivery directory backend: %s", strerror(errno));
        free(d);
        return CS_IO;
    }
    if (mkdirs(d->root, strlen(d->root)) || prepare_dirs(d)) {
        snprintf(err, errsz, "cannot use delivery directory %s: %s", d->root, strerror(errno));
        dir_free(d);
        return CS_IO;
    }
    *state = d;
    return CS_OK;
}

const struct backend_ops backend_dir_ops = {
    .name = "dir",
    .start = dir_start,
    .poll = dir_poll,
    .wakeup = dir_wakeup,
    .cancel = dir_cancel,
    .object_url = dir_object_url,
    .free = dir_free,
};
