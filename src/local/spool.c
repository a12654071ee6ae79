#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"

#define MAX_SEQ 1000
#define MAX_HELD 512 /* stills kept locked until spool_settle() */
#define RESERVE_NAME ".camsnap-reserve"

/* Every file is reached through these directory fds, and no name below
 * them is followed if it is a link (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW). */
struct spool {
    int statefd;                /* <state_dir> */
    int rootfd;                 /* <state_dir>/backup_queue */
    char root[PATH_MAX];        /* its path, for messages and local_path */
    pthread_mutex_t lock;       /* held[] */
    int held[MAX_HELD];         /* fds (flock'ed) of stills written, not yet settled */
    size_t n_held;
};

/* What the calling thread's last failed spool call did, on which path. */
static _Thread_local char last_error[PATH_MAX + 128];

const char *spool_last_error(void)
{
    return last_error;
}

/* Records "<action> <path>: <strerror(e)>" and returns the code for e. */
static enum cs_err fail_errno(int e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static enum cs_err fail_errno(int e, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(last_error))
        snprintf(last_error + n, sizeof(last_error) - (size_t)n, ": %s", strerror(e));
    return cs_from_errno(e);
}

enum cs_err spool_trust_dir(int dfd, const char *what, const char *path, bool owned)
{
    struct stat sb;

    if (fstat(dfd, &sb) != 0)
        return fail_errno(errno, "checking %s %s", what, path);
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(last_error, sizeof(last_error), "%s %s is not a directory", what, path);
        return CS_PERM;
    }
    if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(last_error, sizeof(last_error),
                 "%s %s is writable by other users (mode %04o): they could replace its files "
                 "with links; chmod go-w %s",
                 what, path, (unsigned)(sb.st_mode & 07777), path);
        return CS_PERM;
    }
    if (owned && sb.st_uid != geteuid()) {
        snprintf(last_error, sizeof(last_error),
                 "%s %s belongs to another user (uid %ld, camsnap runs as uid %ld): run camsnap "
                 "as its owner, or chown it",
                 what, path, (long)sb.st_uid, (long)geteuid());
        return CS_PERM;
    }
    return CS_OK;
}

/* Opens (creating it, 0750, if asked and absent) the directory name under
 * dirfd, never through a link, and checks that it can be trusted. */
static enum cs_err open_dir_at(int dirfd, const char *name, const char *what, const char *path,
                               bool create, bool *created, int *out)
{
    enum cs_err rc;
    int fd;

    if (created)
        *created = false;
    if (create && mkdirat(dirfd, name, 0750) == 0) {
        if (created)
            *created = true;
    } else if (create && errno != EEXIST) {
        return fail_errno(errno, "creating %s %s", what, path);
    }
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail_errno(errno, "opening %s %s", what, path);
    if ((rc = spool_trust_dir(fd, what, path, true))) {
        close(fd);
        return rc;
    }
    *out = fd;
    return CS_OK;
}

/* Free bytes for an unprivileged writer on the spool's filesystem. */
static int64_t free_bytes(const struct spool *sp)
{
    struct statvfs v;

    if (fstatvfs(sp->rootfd, &v) != 0)
        return INT64_MAX; /* unknown: let the write itself decide */
    return (int64_t)v.f_bavail * (int64_t)v.f_frsize;
}

bool spool_release_reserve(const struct spool *sp)
{
    return unlinkat(sp->statefd, RESERVE_NAME, 0) == 0;
}

void spool_restore_reserve(const struct spool *sp)
{
    struct stat sb;
    int fd;

    if (fstatat(sp->statefd, RESERVE_NAME, &sb, AT_SYMLINK_NOFOLLOW) == 0 ||
        free_bytes(sp) < 3 * SPOOL_RESERVE_BYTES)
        return;
    fd = openat(sp->statefd, RESERVE_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
    if (fd < 0)
        return;
    if (posix_fallocate(fd, 0, SPOOL_RESERVE_BYTES) != 0) {
        close(fd);
        unlinkat(sp->statefd, RESERVE_NAME, 0);
        return;
    }
    fsync(fd);
    close(fd);
}

enum cs_err spool_open(const char *state_dir, struct spool **out)
{
    struct spool *sp = calloc(1, sizeof(*sp));
    enum cs_err rc;

    if (!sp)
        return CS_NOMEM;
    sp->statefd = sp->rootfd = -1;
    if (snprintf(sp->root, sizeof(sp->root), "%s/%s", state_dir, SPOOL_DIR) >=
        (int)sizeof(sp->root)) {
        rc = fail_errno(ENAMETOOLONG, "opening spool directory under %s", state_dir);
        goto out_free;
    }
    /* The state directory itself may be reached through a link (an
     * administrator's choice); nothing below it is. */
    sp->statefd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->statefd < 0) {
        rc = fail_errno(errno, "opening state directory %s", state_dir);
        goto out_free;
    }
    if ((rc = spool_trust_dir(sp->statefd, "state directory", state_dir, true)) ||
        (rc = open_dir_at(sp->statefd, SPOOL_DIR, "spool directory", sp->root, true, NULL,
                          &sp->rootfd)))
        goto out_free;
    pthread_mutex_init(&sp->lock, NULL);
    spool_restore_reserve(sp);
    *out = sp;
    return CS_OK;
out_free:
    if (sp->statefd >= 0)
        close(sp->statefd);
    free(sp);
    return rc;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    spool_settle(sp);
    pthread_mutex_destroy(&sp->lock);
    close(sp->rootfd);
    close(sp->statefd);
    free(sp);
}

void spool_settle(struct spool *sp)
{
    pthread_mutex_lock(&sp->lock);
    for (size_t i = 0; i < sp->n_held; i++)
        close(sp->held[i]); /* drops the flock */
    sp->n_held = 0;
    pthread_mutex_unlock(&sp->lock);
}

/* Keeps a new still's lock until spool_settle(); past MAX_HELD (a round of
 * hundreds of cameras never settled) the oldest goes first. */
static void hold(struct spool *sp, int fd)
{
    pthread_mutex_lock(&sp->lock);
    if (sp->n_held == MAX_HELD) {
        close(sp->held[0]);
        memmove(sp->held, sp->held + 1, (MAX_HELD - 1) * sizeof(sp->held[0]));
        sp->n_held--;
    }
    sp->held[sp->n_held++] = fd;
    pthread_mutex_unlock(&sp->lock);
}

const char *spool_root(const struct spool *sp)
{
    return sp->root;
}

enum cs_err spool_format_name(const char *camera, int64_t wall_ms, int width, int height, int seq,
                              const char *ext, char *out, size_t outsz)
{
    char date[9], tod[7], suffix[16] = "";
    const char *why;
    int n;

    if (config_validate_name(camera, &why) || width < 1 || height < 1)
        return CS_CONFIG;
    if (width > SPOOL_MAX_DIMENSION || height > SPOOL_MAX_DIMENSION)
        return CS_TOOBIG;
    clock_format_stamp(wall_ms, date, tod);
    if (seq > 0)
        snprintf(suffix, sizeof(suffix), "_%d", seq);
    n = snprintf(out, outsz, "camera_%s/%s_%s_%d_%d%s.%s", camera, date, tod, width, height, suffix,
                 ext);
    return n < 0 || (size_t)n >= outsz ? CS_TOOBIG : CS_OK;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

/* Parses "<int>" up to a delimiter; returns pointer after it or NULL. */
static const char *parse_uint(const char *p, char delim, int max, int *out)
{
    const char *q = p;
    long v = 0;

    while (*q >= '0' && *q <= '9' && v <= max)
        v = v * 10 + (*q++ - '0');
    if (q == p || *q != delim || v > max)
        return NULL;
    *out = (int)v;
    return q + 1;
}

static enum cs_err parse_base(const char *base, struct spool_name *out)
{
    const char *p = base, *dot = strrchr(base, '.');
    size_t extlen;

    if (!dot || strlen(base) < 19 || !all_digits(p, 8) || p[8] != '_' || !all_digits(p + 9, 6) ||
        p[15] != '_')
        return CS_CONFIG;
    memcpy(out->date, p, 8);
    out->date[8] = '\0';
    memcpy(out->time, p + 9, 6);
    out->time[6] = '\0';
    p += 16;
    if (!(p = parse_uint(p, '_', SPOOL_MAX_DIMENSION, &out->width)))
        return CS_CONFIG;
    out->seq = 0;
    if (!parse_uint(p, '.', SPOOL_MAX_DIMENSION, &out->height)) {
        if (!(p = parse_uint(p, '_', SPOOL_MAX_DIMENSION, &out->height)) ||
            !parse_uint(p, '.', MAX_SEQ, &out->seq) || out->seq == 0)
            return CS_CONFIG;
    }
    extlen = strlen(dot + 1);
    if (extlen == 0 || extlen >= sizeof(out->ext) || strchr(dot + 1, '/'))
        return CS_CONFIG;
    memcpy(out->ext, dot + 1, extlen + 1);
    return out->width > 0 && out->height > 0 ? CS_OK : CS_CONFIG;
}

enum cs_err spool_parse_name(const char *relpath, struct spool_name *out)
{
    const char *slash = strchr(relpath, '/');
    size_t camlen;
    const char *why;

    if (strncmp(relpath, "camera_", 7) || !slash || strchr(slash + 1, '/'))
        return CS_CONFIG;
    camlen = (size_t)(slash - relpath) - 7;
    if (camlen == 0 || camlen >= sizeof(out->camera))
        return CS_CONFIG;
    memcpy(out->camera, relpath + 7, camlen);
    out->camera[camlen] = '\0';
    if (config_validate_name(out->camera, &why))
        return CS_CONFIG;
    return parse_base(slash + 1, out);
}

enum cs_err spool_path(const struct spool *sp, const char *relpath, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/%s", sp->root, relpath);

    return n < 0 || (size_t)n >= outsz ? CS_TOOBIG : CS_OK;
}

static enum cs_err write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cs_from_errno(errno);
        data += n;
        len -= (size_t)n;
    }
    return CS_OK;
}

/* Opens (creating on first use) the camera's directory; returns its fd. */
static enum cs_err open_camera_dir(const struct spool *sp, const char *camera, int *dfd)
{
    char name[PATH_MAX], path[PATH_MAX];
    bool created;
    enum cs_err rc;

    if (snprintf(name, sizeof(name), "camera_%s", camera) >= (int)sizeof(name) ||
        snprintf(path, sizeof(path), "%s/%s", sp->root, name) >= (int)sizeof(path))
        return CS_TOOBIG;
    if ((rc = open_dir_at(sp->rootfd, name, "camera directory", path, true, &created, dfd)))
        return rc;
    /* Make a new directory's entry itself durable. If that fails, no still
     * may be reported kept in it: undo the mkdir, so that the next attempt
     * creates the directory (and syncs its entry) again. */
    if (created && fsync(sp->rootfd) != 0) {
        rc = fail_errno(errno, "syncing spool directory %s", sp->root);
        close(*dfd);
        *dfd = -1;
        unlinkat(sp->rootfd, name, AT_REMOVEDIR);
        return rc;
    }
    return CS_OK;
}

/* Opens the camera directory of relpath ("camera_x/<base>") for reading, not
 * through a link; *base points into relpath. CS_NOTFOUND for a path that
 * is not of that form or a directory that does not exist. */
static enum cs_err open_rel_dir(const struct spool *sp, const char *relpath, const char **base,
                                int *dfd)
{
    const char *slash = strchr(relpath, '/');
    char name[PATH_MAX];
    size_t len;

    if (!slash || slash == relpath || strchr(slash + 1, '/') || !slash[1])
        return CS_NOTFOUND;
    len = (size_t)(slash - relpath);
    if (len >= sizeof(name))
        return CS_TOOBIG;
    memcpy(name, relpath, len);
    name[len] = '\0';
    *dfd = openat(sp->rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*dfd < 0)
        return fail_errno(errno, "opening directory %s/%s", sp->root, name);
    *base = slash + 1;
    return CS_OK;
}

/* Links tmp to a free final name; fills relpath/base. */
static enum cs_err publish(int dfd, const char *tmpname, const char *camera, int64_t wall_ms,
                           int width, int height, const char *ext, char *relpath, size_t relsz)
{
    for (int seq = 0; seq < MAX_SEQ; seq++) {
        enum cs_err rc = spool_format_name(camera, wall_ms, width, height, seq, ext, relpath,
                                           relsz);
        const char *base;
        if (rc)
            return rc;
        base = strchr(relpath, '/') + 1;
        if (renameat2(dfd, tmpname, dfd, base, RENAME_NOREPLACE) == 0)
            return CS_OK;
        if (errno == EEXIST)
            continue;
        if (errno != EINVAL && errno != ENOSYS)
            return cs_from_errno(errno);
        /* Filesystem without RENAME_NOREPLACE: link() never replaces. */
        if (linkat(dfd, tmpname, dfd, base, 0) == 0) {
            unlinkat(dfd, tmpname, 0);
            return CS_OK;
        }
        if (errno != EEXIST)
            return cs_from_errno(errno);
    }
    return CS_EXISTS;
}

/* Creates a temp file of our own and locks it, so that reconciliation in
 * another process knows its writer is alive. Between the create and the
 * flock a reconciler may have taken and removed it: then it is no longer
 * the file under our name, and we start again with a new name. */
static int create_locked_temp(int dfd, char *tmpname, size_t tmpsz)
{
    for (int tries = 0; tries < 100; tries++) {
        struct stat mine, named;
        bool locked;
        int fd;
        snprintf(tmpname, tmpsz, SPOOL_TMP_PREFIX "%ld-%08x", (long)getpid(),
                 (unsigned)random());
        fd = openat(dfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0)
            return -1;
        locked = flock(fd, LOCK_EX | LOCK_NB) == 0;
        if (!locked && errno != EWOULDBLOCK) {
            int e = errno;
            unlinkat(dfd, tmpname, 0);
            close(fd);
            errno = e;
            return -1;
        }
        /* Locked by us, and still the file under that name: ours. Otherwise
         * a reconciler holds it or has removed it (and removes it anyway). */
        if (locked && fstat(fd, &mine) == 0 &&
            fstatat(dfd, tmpname, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
            mine.st_ino == named.st_ino && mine.st_dev == named.st_dev)
            return fd;
        close(fd);
    }
    errno = EEXIST;
    return -1;
}

/* Writes data to a new locked temp file; returns its fd (open, locked). */
static enum cs_err write_temp(int dfd, const uint8_t *data, size_t len, char *tmpname, size_t tmpsz,
                              int *out_fd)
{
    enum cs_err rc;
    int fd = create_locked_temp(dfd, tmpname, tmpsz);

    if (fd < 0)
        return cs_from_errno(errno);
    rc = write_all(fd, data, len);
    if (!rc && fsync(fd) != 0)
        rc = cs_from_errno(errno);
    if (rc) {
        unlinkat(dfd, tmpname, 0);
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return CS_OK;
}

enum cs_err spool_write(struct spool *sp, const char *camera, int64_t wall_ms, int width,
                        int height, const char *ext, const uint8_t *data, size_t len,
                        struct spool_still *out)
{
    char tmpname[64];
    const char *why, *step = "writing";
    int64_t room = free_bytes(sp);
    enum cs_err rc;
    int dfd, fd = -1;

    if (config_validate_name(camera, &why))
        return CS_CONFIG;
    if (room < (int64_t)len + SPOOL_RESERVE_BYTES) {
        /* the last bytes are the database's */
        snprintf(last_error, sizeof(last_error),
                 "saving a still of %zu bytes under %s: the disk is full (%lld bytes free, the "
                 "last %lld MiB are kept for the tracking database)",
                 len, sp->root, (long long)room, SPOOL_RESERVE_BYTES >> 20);
        return CS_NOSPACE;
    }
    if ((rc = open_camera_dir(sp, camera, &dfd)))
        return rc;
    hash_sha256_hex(data, len, out->sha256);
    if ((rc = write_temp(dfd, data, len, tmpname, sizeof(tmpname), &fd)))
        goto out_close;
    step = "renaming";
    rc = publish(dfd, tmpname, camera, wall_ms, width, height, ext, out->relpath,
                 sizeof(out->relpath));
    if (rc) {
        unlinkat(dfd, tmpname, 0);
        goto out_close;
    }
    step = "syncing";
    if (fsync(dfd) != 0) {
        /* The rename may not be durable: do not report the still as kept. */
        rc = cs_from_errno(errno);
        unlinkat(dfd, strchr(out->relpath, '/') + 1, 0);
        goto out_close;
    }
    out->size = (int64_t)len;
    rc = spool_path(sp, out->relpath, out->path, sizeof(out->path));
out_close:
    if (fd >= 0 && !rc)
        hold(sp, fd); /* locked until its row is committed: spool_settle() */
    else if (fd >= 0)
        close(fd);
    if (rc)
        snprintf(last_error, sizeof(last_error), "%s a still in %s/camera_%s: %s", step, sp->root,
                 camera, cs_strerror(rc));
    close(dfd);
    return rc;
}

enum cs_err spool_claim(const struct spool *sp, const char *relpath, struct spool_claim *c)
{
    const char *base;
    int dfd;
    enum cs_err rc = open_rel_dir(sp, relpath, &base, &dfd);

    c->fd = -1;
    if (rc)
        return rc;
    c->fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    close(dfd);
    if (c->fd < 0)
        return cs_from_errno(errno);
    if (flock(c->fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? CS_BUSY : cs_from_errno(errno);
        close(c->fd);
        c->fd = -1;
    }
    return rc;
}

void spool_unclaim(struct spool_claim *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

enum cs_err spool_remove_temp(const struct spool *sp, const char *relpath)
{
    struct spool_claim c;
    enum cs_err rc = spool_claim(sp, relpath, &c);

    if (rc)
        return rc;
    rc = spool_remove(sp, relpath);
    spool_unclaim(&c);
    return rc;
}

enum cs_err spool_stat(const struct spool *sp, const char *relpath, bool *exists, int64_t *size)
{
    const char *base;
    struct stat st;
    int dfd, e;
    enum cs_err rc = open_rel_dir(sp, relpath, &base, &dfd);

    *exists = false;
    *size = -1;
    if (rc)
        return rc == CS_NOTFOUND ? CS_OK : rc;
    rc = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 ? CS_OK : CS_IO;
    e = errno;
    close(dfd);
    if (rc)
        return e == ENOENT ? CS_OK : fail_errno(e, "looking at %s/%s", sp->root, relpath);
    /* a link in place of a still is not the still */
    *exists = S_ISREG(st.st_mode);
    *size = *exists ? (int64_t)st.st_size : -1;
    return CS_OK;
}

enum cs_err spool_read(const struct spool *sp, const char *relpath, int64_t max_bytes,
                       uint8_t **data, size_t *len)
{
    const char *base;
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd, dfd;
    enum cs_err rc = open_rel_dir(sp, relpath, &base, &dfd);

    if (rc)
        return rc;
    fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    close(dfd);
    if (fd < 0)
        return fail_errno(errno, "reading %s/%s", sp->root, relpath);
    if (fstat(fd, &st) != 0) {
        rc = cs_from_errno(errno);
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fail_errno(EINVAL, "reading %s/%s (not a regular file)", sp->root, relpath);
        goto out_close;
    }
    if (st.st_size > max_bytes) {
        rc = CS_TOOBIG;
        goto out_close;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        rc = CS_NOMEM;
        goto out_close;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? cs_from_errno(errno) : CS_IO;
            free(buf);
            goto out_close;
        }
        got += (size_t)n;
    }
    *data = buf;
    *len = got;
out_close:
    close(fd);
    return rc;
}

enum cs_err spool_remove(const struct spool *sp, const char *relpath)
{
    const char *base;
    int dfd;
    enum cs_err rc = open_rel_dir(sp, relpath, &base, &dfd);

    if (rc)
        return rc == CS_NOTFOUND ? CS_OK : rc;
    if (unlinkat(dfd, base, 0) != 0)
        rc = errno == ENOENT ? CS_OK : fail_errno(errno, "removing %s/%s", sp->root, relpath);
    else
        fsync(dfd);
    close(dfd);
    return rc;
}

static enum cs_err scan_camera_dir(const struct spool *sp, const char *dname, spool_scan_fn fn,
                                   void *ctx)
{
    char rel[SPOOL_REL_MAX], path[PATH_MAX];
    struct spool_name sn;
    struct dirent *de;
    enum cs_err rc = CS_OK;
    int dfd = openat(sp->rootfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;

    if (snprintf(path, sizeof(path), "%s/%s", sp->root, dname) >= (int)sizeof(path))
        path[0] = '\0'; /* only for messages */
    if (dfd < 0 && (errno == ENOTDIR || errno == ELOOP))
        return CS_OK; /* not a directory (a link): not ours */
    if (dfd < 0)
        return fail_errno(errno, "opening camera directory %s", path);
    if ((rc = spool_trust_dir(dfd, "camera directory", path, true))) {
        close(dfd);
        return rc;
    }
    if (!(d = fdopendir(dfd))) {
        close(dfd);
        return cs_from_errno(errno);
    }
    while (!rc && (de = readdir(d))) {
        enum spool_entry kind;
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
            continue;
        if (snprintf(rel, sizeof(rel), "%s/%s", dname, de->d_name) >= (int)sizeof(rel))
            continue;
        if (!strncmp(de->d_name, SPOOL_TMP_PREFIX, strlen(SPOOL_TMP_PREFIX)))
            kind = SPOOL_ENTRY_TEMP;
        else if (spool_parse_name(rel, &sn) == CS_OK)
            kind = SPOOL_ENTRY_STILL;
        else
            kind = SPOOL_ENTRY_OTHER;
        rc = fn(ctx, kind, rel);
    }
    closedir(d);
    return rc;
}

enum cs_err spool_scan(const struct spool *sp, spool_scan_fn fn, void *ctx)
{
    struct dirent *de;
    enum cs_err rc = CS_OK;
    int fd = openat(sp->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

    if (!d) {
        rc = fail_errno(errno, "listing spool directory %s", sp->root);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    while (!rc && (de = readdir(d))) {
        if (strncmp(de->d_name, "camera_", 7) ||
            (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        rc = scan_camera_dir(sp, de->d_name, fn, ctx);
    }
    closedir(d);
    return rc;
}
