#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LOCK_POLL_MS 20

struct state_lock {
    int fd;
};

static int open_named(const char *state_dir, const char *name, int flags)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", state_dir, name) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0640);
}

static int open_lock(const char *state_dir, int flags)
{
    return open_named(state_dir, LOCK_FILENAME, flags);
}

/* The lock file: "PID ROLE\n". */
static pid_t read_pid_role(int fd, char role[16])
{
    char buf[64] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    char *end;
    long v;

    if (role)
        role[0] = '\0';
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    v = strtol(buf, &end, 10);
    if (role && *end == ' ')
        snprintf(role, 16, "%.*s", (int)strcspn(end + 1, " \n"), end + 1);
    return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

/* flock(LOCK_EX) for up to wait_ms, polling (a blocking flock cannot be
 * given a deadline without a signal). Real time, not the agent's clock (a
 * test clock runs fast): it waits for other processes. */
static int lock_within(int fd, int64_t wait_ms)
{
    const struct timespec pause = {.tv_nsec = LOCK_POLL_MS * 1000000L};

    for (int64_t waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += LOCK_POLL_MS) {
        if (errno != EWOULDBLOCK || waited >= wait_ms)
            return -1;
        nanosleep(&pause, NULL);
    }
    return 0;
}

enum cs_err lock_acquire(const char *state_dir, int64_t wait_ms, const char *role,
                         struct state_lock **out, pid_t *holder, char holder_role[16])
{
    struct state_lock *l;
    char pid[64];
    int fd = open_lock(state_dir, O_RDWR | O_CREAT), len;

    *holder = 0;
    if (holder_role)
        holder_role[0] = '\0';
    if (fd < 0)
        return cs_from_errno(errno);
    if (lock_within(fd, wait_ms) != 0) {
        enum cs_err rc = errno == EWOULDBLOCK ? CS_BUSY : cs_from_errno(errno);
        *holder = read_pid_role(fd, holder_role);
        close(fd);
        return rc;
    }
    len = snprintf(pid, sizeof(pid), "%ld %.15s\n", (long)getpid(), role ? role : "");
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        /* The lock holds without the PID; only messages lose it. */
    }
    if (!(l = malloc(sizeof(*l)))) {
        close(fd);
        return CS_NOMEM;
    }
    l->fd = fd;
    *out = l;
    return CS_OK;
}

pid_t lock_holder_role(const char *state_dir, char role[16])
{
    int fd = open_lock(state_dir, O_RDONLY);
    pid_t pid = 0;

    if (role)
        role[0] = '\0';
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        pid = read_pid_role(fd, role);
    close(fd); /* drops the shared lock if we got it */
    return pid;
}

pid_t lock_holder(const char *state_dir)
{
    return lock_holder_role(state_dir, NULL);
}

int lock_want(const char *state_dir)
{
    int fd = open_named(state_dir, LOCK_WANT_FILENAME, O_RDWR | O_CREAT);

    /* Blocking: only another starting agent holds it, and only briefly. */
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

bool lock_wanted(const char *state_dir)
{
    int fd = open_named(state_dir, LOCK_WANT_FILENAME, O_RDONLY);
    bool wanted = false;

    if (fd < 0)
        return false;
    wanted = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return wanted;
}

void lock_release(struct state_lock *l)
{
    if (!l)
        return;
    close(l->fd); /* closing drops the flock */
    free(l);
}
