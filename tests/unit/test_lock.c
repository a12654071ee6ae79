/* test_lock.c - one holder per state directory: a second holder refused
 * with the first one's PID and role (in this process and from another),
 * waiting for a holder that lets go, the kernel dropping the lock of a
 * holder killed by SIGKILL, a stale lock file left behind, the want file an
 * agent holds while it waits, and lock files that are links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "lock.h"
#include "testutil.h"

struct fx {
    char dir[512];
    char lockfile[600];
    char wantfile[600];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(test_mkdtemp(fx->dir, sizeof(fx->dir)));
    snprintf(fx->lockfile, sizeof(fx->lockfile), "%s/" LOCK_FILENAME, fx->dir);
    snprintf(fx->wantfile, sizeof(fx->wantfile), "%s/" LOCK_WANT_FILENAME, fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    test_rmtree(fx->dir);
    free(fx);
    return 0;
}

static void read_text(const char *path, char *buf, size_t sz)
{
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sz - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A holder in another process: it takes the lock (role `role`), says 'L'
 * on `ready` (or 'B' when refused), then holds until its `release` pipe
 * closes, or until it is killed. */
struct child {
    pid_t pid;
    int ready;   /* read end */
    int release; /* write end: closing it lets the child go */
};

static struct child spawn_holder(const char *dir, const char *role, bool want_only)
{
    int ready[2], release[2];
    struct child c;

    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    c.pid = fork();
    assert_true(c.pid >= 0);
    if (c.pid == 0) {
        struct state_lock *l = NULL;
        pid_t holder;
        char got, r;
        int fd = -1;

        /* Only its own descriptors: a lock held through one inherited
         * from this process would be this process's too. */
        for (int fd_i = 3; fd_i < 1024; fd_i++)
            if (fd_i != ready[1] && fd_i != release[0])
                close(fd_i);
        if (want_only)
            got = (fd = lock_want(dir)) >= 0 ? 'L' : 'B';
        else
            got = lock_acquire(dir, 0, role, &l, &holder, NULL) == CS_OK ? 'L' : 'B';
        if (write(ready[1], &got, 1) != 1)
            _exit(2);
        while (read(release[0], &r, 1) > 0)
            ;
        lock_release(l);
        if (fd >= 0)
            close(fd);
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    c.ready = ready[0];
    c.release = release[1];
    return c;
}

/* The child's first word, within timeout_ms; 0 when none came. */
static char child_says(const struct child *c, int timeout_ms)
{
    struct pollfd p = {.fd = c->ready, .events = POLLIN};
    char got = 0;

    if (poll(&p, 1, timeout_ms) == 1 && read(c->ready, &got, 1) != 1)
        got = 0;
    return got;
}

static int child_end(struct child *c, bool kill9)
{
    int status = 0;

    if (kill9)
        kill(c->pid, SIGKILL);
    close(c->release);
    close(c->ready);
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    return status;
}

static void second_holder_refused(void **state)
{
    struct fx *fx = *state;
    struct state_lock *a = NULL, *b = NULL;
    char role[16], text[64], expect[64];
    pid_t holder = -1;

    assert_int_equal(lock_holder(fx->dir), 0);
    assert_int_equal(lock_acquire(fx->dir, 0, "run", &a, &holder, role), CS_OK);
    assert_non_null(a);
    assert_int_equal(holder, 0);
    assert_string_equal(role, "");
    read_text(fx->lockfile, text, sizeof(text));
    snprintf(expect, sizeof(expect), "%ld run\n", (long)getpid());
    assert_string_equal(text, expect);
    /* The kernel lock is per open file: a second opening in this very
     * process is refused too, and told who holds it. */
    assert_int_equal(lock_acquire(fx->dir, 0, "sync", &b, &holder, role), CS_BUSY);
    assert_null(b);
    assert_int_equal(holder, getpid());
    assert_string_equal(role, "run");
    assert_int_equal(lock_holder(fx->dir), getpid());
    /* The refused one wrote nothing over the holder's line. */
    read_text(fx->lockfile, text, sizeof(text));
    assert_string_equal(text, expect);
    lock_release(a);
    assert_int_equal(lock_holder(fx->dir), 0);
    /* A shorter role replaces the longer one whole. */
    assert_int_equal(lock_acquire(fx->dir, 0, "cleanup", &a, &holder, NULL), CS_OK);
    lock_release(a);
    assert_int_equal(lock_acquire(fx->dir, 0, "run", &a, &holder, NULL), CS_OK);
    read_text(fx->lockfile, text, sizeof(text));
    assert_string_equal(text, expect);
    lock_release(a);
    lock_release(NULL);
}

static void waits_then_gives_up(void **state)
{
    struct fx *fx = *state;
    struct state_lock *a = NULL, *b = NULL;
    pid_t holder;
    int64_t t0;

    assert_int_equal(lock_acquire(fx->dir, 0, "run", &a, &holder, NULL), CS_OK);
    t0 = clock_mono_ms();
    assert_int_equal(lock_acquire(fx->dir, 150, "sync", &b, &holder, NULL), CS_BUSY);
    assert_true(clock_mono_ms() - t0 >= 140);
    assert_true(clock_mono_ms() - t0 < 10000);
    assert_int_equal(holder, getpid());
    lock_release(a);
}

/* A holder in another process: its PID and role are reported; when it
 * lets go, a waiting acquire gets the lock. */
static void other_process(void **state)
{
    struct fx *fx = *state;
    struct child c = spawn_holder(fx->dir, "sync", false);
    struct state_lock *l = NULL;
    char role[16];
    pid_t holder;

    assert_int_equal(child_says(&c, 10000), 'L');
    assert_int_equal(lock_acquire(fx->dir, 0, "run", &l, &holder, role), CS_BUSY);
    assert_int_equal(holder, c.pid);
    assert_string_equal(role, "sync");
    assert_int_equal(lock_holder(fx->dir), c.pid);
    /* Let it go while this one waits for up to 10 s. */
    close(c.release);
    c.release = open("/dev/null", O_WRONLY);
    assert_int_equal(lock_acquire(fx->dir, 10000, "run", &l, &holder, role), CS_OK);
    assert_int_equal(lock_holder(fx->dir), getpid());
    lock_release(l);
    assert_int_equal(child_end(&c, false), 0);
}

/* SIGKILL leaves the lock file with the dead holder's PID in it, but no
 * lock: nobody holds it, and the next one takes it at once. */
static void killed_holder(void **state)
{
    struct fx *fx = *state;
    struct child c = spawn_holder(fx->dir, "run", false);
    struct state_lock *l = NULL;
    char text[64], dead[64];
    pid_t holder;

    assert_int_equal(child_says(&c, 10000), 'L');
    snprintf(dead, sizeof(dead), "%ld run\n", (long)c.pid);
    assert_true(WIFSIGNALED(child_end(&c, true)));
    read_text(fx->lockfile, text, sizeof(text));
    assert_string_equal(text, dead);
    assert_int_equal(lock_holder(fx->dir), 0);
    assert_int_equal(lock_acquire(fx->dir, 0, "run", &l, &holder, NULL), CS_OK);
    assert_int_equal(holder, 0);
    lock_release(l);
}

/* Lock files nobody holds, as another version or a crash may leave them:
 * a stale PID, garbage, an empty file. */
static void stale_lock_files(void **state)
{
    struct fx *fx = *state;
    static const char *const texts[] = {"999999 run\n", "not a pid", "", "-5 sync\n",
                                        "12 a-role-much-longer-than-fifteen\n"};
    struct state_lock *l = NULL;
    char text[64], expect[64];
    pid_t holder;

    snprintf(expect, sizeof(expect), "%ld sync\n", (long)getpid());
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        write_text(fx->lockfile, texts[i]);
        assert_int_equal(lock_holder(fx->dir), 0);
        assert_int_equal(lock_acquire(fx->dir, 0, "sync", &l, &holder, NULL), CS_OK);
        read_text(fx->lockfile, text, sizeof(text));
        assert_string_equal(text, expect);
        lock_release(l);
    }
}

/* What a holder's lock file says is only read, never trusted: a role is
 * cut to 15 characters, a PID out of range is "unknown". */
static void roles_read_back(void **state)
{
    struct fx *fx = *state;
    struct state_lock *a = NULL, *b = NULL;
    char role[16];
    pid_t holder;
    int fd;

    assert_int_equal(lock_acquire(fx->dir, 0, "a-role-much-longer-than-fifteen", &a, &holder, NULL),
                     CS_OK);
    assert_int_equal(lock_acquire(fx->dir, 0, "run", &b, &holder, role), CS_BUSY);
    assert_int_equal(holder, getpid());
    assert_string_equal(role, "a-role-much-lon");
    /* The holder's file rewritten behind its back (the lock stays). */
    fd = open(fx->lockfile, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "99999999999 x y\n", 16), 16);
    close(fd);
    assert_int_equal(lock_acquire(fx->dir, 0, "run", &b, &holder, role), CS_BUSY);
    assert_int_equal(holder, 0);
    assert_string_equal(role, "x");
    assert_int_equal(lock_acquire(fx->dir, 0, NULL, &b, &holder, NULL), CS_BUSY);
    lock_release(a);
    /* No role at all. */
    assert_int_equal(lock_acquire(fx->dir, 0, NULL, &a, &holder, NULL), CS_OK);
    assert_int_equal(lock_acquire(fx->dir, 0, "run", &b, &holder, role), CS_BUSY);
    assert_string_equal(role, "");
    lock_release(a);
}

/* Looking creates nothing; a missing directory is an error, not a hold. */
static void looking_creates_nothing(void **state)
{
    struct fx *fx = *state;
    struct state_lock *l = NULL;
    char missing[700];
    struct stat st;
    pid_t holder;

    assert_int_equal(lock_holder(fx->dir), 0);
    assert_false(lock_wanted(fx->dir));
    assert_int_equal(stat(fx->lockfile, &st), -1);
    assert_int_equal(stat(fx->wantfile, &st), -1);
    snprintf(missing, sizeof(missing), "%s/nosuch", fx->dir);
    assert_int_equal(lock_acquire(missing, 0, "run", &l, &holder, NULL), CS_NOTFOUND);
    assert_null(l);
    assert_int_equal(lock_holder(missing), 0);
}

/* A lock file that is a link is refused, never followed: the target is
 * neither created nor written. */
static void link_refused(void **state)
{
    struct fx *fx = *state;
    struct state_lock *l = NULL;
    char target[700];
    struct stat st;
    pid_t holder;

    snprintf(target, sizeof(target), "%s/elsewhere", fx->dir);
    assert_int_equal(symlink(target, fx->lockfile), 0);
    assert_int_not_equal(lock_acquire(fx->dir, 0, "run", &l, &holder, NULL), CS_OK);
    assert_null(l);
    assert_int_equal(stat(target, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(symlink(target, fx->wantfile), 0);
    assert_int_equal(lock_want(fx->dir), -1);
    assert_int_equal(stat(target, &st), -1);
}

static void path_too_long(void **state)
{
    char dir[PATH_MAX + 16];
    struct state_lock *l = NULL;
    pid_t holder;

    (void)state;
    memset(dir, 'a', sizeof(dir) - 1);
    dir[0] = '/';
    dir[sizeof(dir) - 1] = '\0';
    assert_int_equal(lock_acquire(dir, 0, "run", &l, &holder, NULL), CS_IO);
    assert_null(l);
    assert_int_equal(lock_want(dir), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    assert_false(lock_wanted(dir));
    assert_int_equal(lock_holder(dir), 0);
}

/* camsnap.want: held while an agent waits; a second starting agent waits
 * for the first one's want; closing it ends the wanting. */
static void want_file(void **state)
{
    struct fx *fx = *state;
    struct child c;
    int fd;

    assert_false(lock_wanted(fx->dir));
    fd = lock_want(fx->dir);
    assert_true(fd >= 0);
    assert_true(lock_wanted(fx->dir));
    /* Another process wanting it too blocks behind this one... */
    c = spawn_holder(fx->dir, NULL, true);
    assert_int_equal(child_says(&c, 200), 0);
    /* ...until this one stops wanting. */
    close(fd);
    assert_int_equal(child_says(&c, 10000), 'L');
    assert_true(lock_wanted(fx->dir));
    child_end(&c, true);
    assert_false(lock_wanted(fx->dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(second_holder_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(waits_then_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(other_process, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_lock_files, setup, teardown),
        cmocka_unit_test_setup_teardown(roles_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(looking_creates_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(link_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(path_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(want_file, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
