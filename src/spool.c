#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

struct spool {
    char root[PATH_MAX];
    char reserve[PATH_MAX];     /* <state_dir>/.camsnap-reserve */
    pthread_mutex_t lock;       /* held[] */
    int held[MAX_HELD];         /* fds (flock'ed) of stills written, not yet settled */
    size_t n_held;
};

/* Free bytes for an unprivileged writer on the spool's filesystem. */
static int64_t free_bytes(const struct spool *sp)
{
    struct statvfs v;

    if (statvfs(sp->root, &v) != 0)
        return INT64_MAX; /* unknown: let the write itself decide */
    return (int64_t)v.f_bavail * (int64_t)v.f_frsize;
}

bool spool_release_reserve(const struct spool *sp)
{
    return unlink(sp->reserve) == 0;
}

void spool_restore_reserve(const struct spool *sp)
{
    int fd;

    if (access(sp->reserve, F_OK) == 0 || free_bytes(sp) < 3 * SPOOL_RESERVE_BYTES)
        return;
    fd = open(sp->reserve, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (posix_fallocate(fd, 0, SPOOL_RESERVE_BYTES) != 0) {
        close(fd);
        unlink(sp->reserve);
        return;
    }
    fsync(fd);
    close(fd);
}

enum cs_err spool_open(const char *state_dir, struct spool **out)
{
    struct spool *sp = calloc(1, sizeof(*sp));

    if (!sp)
        return CS_NOMEM;
    if (snprintf(sp->root, sizeof(sp->root), "%s/%s", state_dir, SPOOL_DIR) >=
        (int)sizeof(sp->root)) {
        free(sp);
        return CS_TOOBIG;
    }
    if (mkdir(sp->root, 0750) != 0 && errno != EEXIST) {
        log_error(NULL, "cannot create spool directory %s", sp->root);
        free(sp);
        return cs_from_errno(errno);
    }
    snprintf(sp->reserve, sizeof(sp->reserve), "%s/.camsnap-reserve", state_dir);
    pthread_mutex_init(&sp->lock, NULL);
    spool_restore_reserve(sp);
    *out = sp;
    return CS_OK;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    spool_settle(sp);
    pthread_mutex_destroy(&sp->lock);
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
    char path[PATH_MAX];
    bool created = false;

    if (snprintf(path, sizeof(path), "%s/camera_%s", sp->root, camera) >= (int)sizeof(path))
        return CS_TOOBIG;
    if (mkdir(path, 0750) == 0)
        created = true;
    else if (errno != EEXIST)
        return cs_from_errno(errno);
    *dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*dfd < 0)
        return cs_from_errno(errno);
    if (created) {
        /* Make the new directory entry itself durable. If that fails, no
         * still may be reported kept in it: undo the mkdir, so that the next
         * attempt creates the directory (and syncs its entry) again. */
        int rfd = open(sp->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0 || fsync(rfd) != 0) {
            enum cs_err rc = cs_from_errno(errno);
            if (rfd >= 0)
                close(rfd);
            close(*dfd);
            *dfd = -1;
            rmdir(path);
            return rc;
        }
        close(rfd);
    }
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
        fd = openat(dfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
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
    const char *why;
    enum cs_err rc;
    int dfd, fd = -1;

    if (config_validate_name(camera, &why))
        return CS_CONFIG;
    if (free_bytes(sp) < (int64_t)len + SPOOL_RESERVE_BYTES)
        return CS_NOSPACE; /* the last bytes are the database's */
    if ((rc = open_camera_dir(sp, camera, &dfd)))
        return rc;
    hash_sha256_hex(data, len, out->sha256);
    if ((rc = write_temp(dfd, data, len, tmpname, sizeof(tmpname), &fd)))
        goto out_close;
    rc = publish(dfd, tmpname, camera, wall_ms, width, height, ext, out->relpath,
                 sizeof(out->relpath));
    if (rc) {
        unlinkat(dfd, tmpname, 0);
        goto out_close;
    }
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
    close(dfd);
    return rc;
}

enum cs_err spool_claim(const struct spool *sp, const char *relpath, struct spool_claim *c)
{
    char path[PATH_MAX];
    enum cs_err rc = spool_path(sp, relpath, path, sizeof(path));

    c->fd = -1;
    if (rc)
        return rc;
    c->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
    char path[PATH_MAX];
    struct stat st;
    enum cs_err rc = spool_path(sp, relpath, path, sizeof(path));

    if (rc)
        return rc;
    if (stat(path, &st) != 0) {
        *exists = false;
        *size = -1;
        return errno == ENOENT ? CS_OK : cs_from_errno(errno);
    }
    *exists = S_ISREG(st.st_mode);
    *size = (int64_t)st.st_size;
    return CS_OK;
}

enum cs_err spool_read(const struct spool *sp, const char *relpath, int64_t max_bytes,
                       uint8_t **data, size_t *len)
{
    char path[PATH_MAX];
    struct stat st;
    enum cs_err rc = spool_path(sp, relpath, path, sizeof(path));
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd;

    if (rc)
        return rc;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return cs_from_errno(errno);
    if (fstat(fd, &st) != 0) {
        rc = cs_from_errno(errno);
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
    char path[PATH_MAX];
    enum cs_err rc = spool_path(sp, relpath, path, sizeof(path));
    char *slash;
    int dfd;

    if (rc)
        return rc;
    if (unlink(path) != 0)
        return errno == ENOENT ? CS_OK : cs_from_errno(errno);
    slash = strrchr(path, '/');
    *slash = '\0';
    if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return CS_OK;
}

static enum cs_err scan_camera_dir(int rootfd, const char *dname, spool_scan_fn fn, void *ctx)
{
    char rel[SPOOL_REL_MAX];
    struct spool_name sn;
    struct dirent *de;
    enum cs_err rc = CS_OK;
    int dfd = openat(rootfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;

    if (dfd < 0)
        return cs_from_errno(errno);
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
    DIR *d = opendir(sp->root);

    if (!d)
        return cs_from_errno(errno);
    while (!rc && (de = readdir(d))) {
        if (strncmp(de->d_name, "camera_", 7) ||
            (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        rc = scan_camera_dir(dirfd(d), de->d_name, fn, ctx);
    }
    closedir(d);
    return rc;
}
