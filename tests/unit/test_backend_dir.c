/* test_backend_dir.c - the `dir` delivery backend on a real directory:
 * objects and rows published whole and never replaced (the same bytes again
 * are "exists", other bytes a conflict, a second row "exists"), reading an
 * object back, results only through poll(), cancel and wakeup, leftovers of
 * a crash cleared at start, and the errors of a directory it may not write
 * (as an unprivileged user when the test runs as root), of a file where a
 * directory should be and of names too long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "clock.h"
#include "hash.h"
#include "testutil.h"

struct fx {
    char dir[512];
    char root[600];
    struct config_upload cfg;
    struct backend *be;
    struct dl_result got[8];
    struct dl_request *got_req[8];
    int n_got;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    char err[256] = "";

    hash_init();
    assert_non_null(test_mkdtemp(fx->dir, sizeof(fx->dir)));
    /* A root that does not exist yet: the backend makes it. */
    snprintf(fx->root, sizeof(fx->root), "%s/out/deep", fx->dir);
    fx->cfg = (struct config_upload){.backend = UPLOAD_DIR, .path = fx->root, .bucket = "ASE"};
    assert_int_equal(backend_new(&fx->cfg, &fx->be, err, sizeof(err)), CS_OK);
    assert_string_equal(backend_name(fx->be), "dir");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    backend_free(fx->be);
    test_rmtree(fx->dir);
    free(fx);
    return 0;
}

static void on_done(void *ctx, struct dl_request *req, const struct dl_result *r)
{
    struct fx *fx = ctx;

    assert_true(fx->n_got < 8);
    fx->got_req[fx->n_got] = req;
    fx->got[fx->n_got++] = *r;
}

/* Starts one request and collects its result. */
static const struct dl_result *step(struct fx *fx, struct dl_request *req)
{
    fx->n_got = 0;
    assert_int_equal(backend_start(fx->be, req), CS_OK);
    /* Never from start() itself. */
    assert_int_equal(fx->n_got, 0);
    assert_int_equal(backend_poll(fx->be, 0, on_done, fx), 1);
    assert_int_equal(fx->n_got, 1);
    assert_ptr_equal(fx->got_req[0], req);
    return &fx->got[0];
}

static const struct dl_result *put(struct fx *fx, const char *path, const char *bytes, size_t len)
{
    static struct dl_request req;

    req = (struct dl_request){.step = DL_STEP_OBJECT,
                              .path = path,
                              .data = (const uint8_t *)bytes,
                              .len = len,
                              .content_type = "image/jpeg"};
    return step(fx, &req);
}

static const struct dl_result *row(struct fx *fx, const char *id, const char *json)
{
    static struct dl_request req;

    req = (struct dl_request){.step = DL_STEP_ROW, .row_json = json, .image_id = id};
    return step(fx, &req);
}

static void expect_file(const char *path, const char *bytes, size_t len)
{
    char buf[4096];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        fail_msg("%s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, len);
    assert_memory_equal(buf, bytes, len);
}

/* Entries of a directory, "." and ".." and hidden ones aside. */
static int entries(const char *path)
{
    struct dirent *de;
    DIR *d = opendir(path);
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Files in root/.staging: none once every step has finished. */
static int staged(const struct fx *fx)
{
    char path[700];

    snprintf(path, sizeof(path), "%s/.staging", fx->root);
    return entries(path);
}

static void object_once(void **state)
{
    struct fx *fx = *state;
    static const char ours[] = "\xff\xd8 the still's bytes \xff\xd9";
    static const char theirs[] = "\xff\xd8 other bytes, same len\xff\xd9";
    char path[700], url[800];
    const struct dl_result *r;

    snprintf(path, sizeof(path), "%s/ASE/camera_27/20261126_105500_640_360.jpg", fx->root);
    r = put(fx, "camera_27/20261126_105500_640_360.jpg", ours, sizeof(ours) - 1);
    assert_int_equal(r->cls, DL_OK);
    assert_non_null(strstr(r->message, "camera_27/20261126_105500_640_360.jpg"));
    expect_file(path, ours, sizeof(ours) - 1);
    assert_int_equal(staged(fx), 0);
    /* The same bytes again (a retry after a lost answer): exists. */
    r = put(fx, "camera_27/20261126_105500_640_360.jpg", ours, sizeof(ours) - 1);
    assert_int_equal(r->cls, DL_EXISTS);
    assert_int_equal(r->remote_size, (int64_t)sizeof(ours) - 1);
    /* Other bytes under that name: a conflict, and ours stay. */
    r = put(fx, "camera_27/20261126_105500_640_360.jpg", theirs, sizeof(theirs) - 1);
    assert_int_equal(r->cls, DL_CONFLICT);
    assert_non_null(strstr(r->message, "conflict"));
    expect_file(path, ours, sizeof(ours) - 1);
    /* A prefix of ours, or ours and more: a conflict too. */
    r = put(fx, "camera_27/20261126_105500_640_360.jpg", ours, sizeof(ours) - 3);
    assert_int_equal(r->cls, DL_CONFLICT);
    assert_int_equal(r->remote_size, (int64_t)sizeof(ours) - 1);
    r = put(fx, "camera_27/20261126_105500_640_360.jpg", "\xff\xd8 the still's bytes \xff\xd9!",
            sizeof(ours));
    assert_int_equal(r->cls, DL_CONFLICT);
    expect_file(path, ours, sizeof(ours) - 1);
    assert_int_equal(staged(fx), 0);
    backend_object_url(fx->be, "camera_27/x.jpg", url, sizeof(url));
    snprintf(path, sizeof(path), "file://%s/ASE/camera_27/x.jpg", fx->root);
    assert_string_equal(url, path);
}

static void rows_once(void **state)
{
    struct fx *fx = *state;
    char path[700];
    const struct dl_result *r;

    r = row(fx, "5f0c6a4e-0000-5000-8000-000000000001", "{\"camera_name\":\"27\"}");
    assert_int_equal(r->cls, DL_OK);
    snprintf(path, sizeof(path), "%s/rows/5f0c6a4e-0000-5000-8000-000000000001.json", fx->root);
    expect_file(path, "{\"camera_name\":\"27\"}\n", 21);
    /* A second insert of that row: exists; the first one stays as it was. */
    r = row(fx, "5f0c6a4e-0000-5000-8000-000000000001", "{\"camera_name\":\"other\"}");
    assert_int_equal(r->cls, DL_EXISTS);
    expect_file(path, "{\"camera_name\":\"27\"}\n", 21);
    assert_int_equal(staged(fx), 0);
}

static void read_back(void **state)
{
    struct fx *fx = *state;
    static const char bytes[] = "\xff\xd8 read me back \xff\xd9";
    struct dl_request req = {.step = DL_STEP_VERIFY,
                             .path = "camera_1/a.jpg",
                             .data = (const uint8_t *)bytes,
                             .len = sizeof(bytes) - 1};
    char sha[HASH_HEX_LEN + 1];
    const struct dl_result *r;

    r = step(fx, &req);
    assert_int_equal(r->cls, DL_ATTENTION);
    assert_non_null(strstr(r->message, "camera_1/a.jpg"));
    assert_int_equal(put(fx, "camera_1/a.jpg", bytes, sizeof(bytes) - 1)->cls, DL_OK);
    r = step(fx, &req);
    assert_int_equal(r->cls, DL_OK);
    assert_int_equal(r->remote_size, (int64_t)sizeof(bytes) - 1);
    hash_sha256_hex((const uint8_t *)bytes, sizeof(bytes) - 1, sha);
    assert_string_equal(r->remote_sha256, sha);
}

/* Results come out of poll() in order; cancel drops what is queued; a
 * wakeup ends a waiting poll at once. */
static void poll_cancel_wakeup(void **state)
{
    struct fx *fx = *state;
    struct dl_request a = {
        .step = DL_STEP_OBJECT, .path = "c/a.jpg", .data = (const uint8_t *)"A", .len = 1};
    struct dl_request b = {
        .step = DL_STEP_OBJECT, .path = "c/b.jpg", .data = (const uint8_t *)"B", .len = 1};
    int64_t t0;

    fx->n_got = 0;
    assert_int_equal(backend_start(fx->be, &a), CS_OK);
    assert_int_equal(backend_start(fx->be, &b), CS_OK);
    assert_int_equal(backend_poll(fx->be, 0, on_done, fx), 2);
    assert_ptr_equal(fx->got_req[0], &a);
    assert_ptr_equal(fx->got_req[1], &b);
    /* Cancelled: no callback, ever. The work itself was done (it is
     * synchronous), and redoing it is safe: exists. */
    fx->n_got = 0;
    assert_int_equal(backend_start(fx->be, &a), CS_OK);
    backend_cancel(fx->be);
    assert_int_equal(backend_poll(fx->be, 0, on_done, fx), 0);
    assert_int_equal(fx->n_got, 0);
    assert_int_equal(step(fx, &a)->cls, DL_EXISTS);
    /* An empty poll waits for its timeout... */
    t0 = clock_mono_ms();
    assert_int_equal(backend_poll(fx->be, 50, on_done, fx), 0);
    assert_true(clock_mono_ms() - t0 >= 45);
    /* ...unless woken (twice: the second wakeup is not left pending). */
    backend_wakeup(fx->be);
    backend_wakeup(fx->be);
    t0 = clock_mono_ms();
    assert_int_equal(backend_poll(fx->be, 5000, on_done, fx), 0);
    assert_true(clock_mono_ms() - t0 < 2500);
    t0 = clock_mono_ms();
    assert_int_equal(backend_poll(fx->be, 50, on_done, fx), 0);
    assert_true(clock_mono_ms() - t0 >= 45);
}

/* A crash's staging leftovers are removed when the backend starts; what
 * was published stays. */
static void leftovers_cleared(void **state)
{
    struct fx *fx = *state;
    char path[700], err[256];
    FILE *f;

    assert_int_equal(put(fx, "c/kept.jpg", "K", 1)->cls, DL_OK);
    snprintf(path, sizeof(path), "%s/.staging/12345-7", fx->root);
    assert_non_null(f = fopen(path, "w"));
    fputs("half a still", f);
    fclose(f);
    assert_int_equal(staged(fx), 1);
    backend_free(fx->be);
    assert_int_equal(backend_new(&fx->cfg, &fx->be, err, sizeof(err)), CS_OK);
    assert_int_equal(staged(fx), 0);
    snprintf(path, sizeof(path), "%s/ASE/c/kept.jpg", fx->root);
    expect_file(path, "K", 1);
}

/* Descriptors open in this process (opendir's own is counted both times). */
static int open_fds(void)
{
    return entries("/proc/self/fd");
}

static void unusable_root(void **state)
{
    struct fx *fx = *state;
    struct config_upload cfg = {.backend = UPLOAD_DIR, .bucket = "ASE"};
    struct backend *be = NULL;
    char path[700], err[256] = "";
    int fds = open_fds();
    FILE *f;

    assert_int_equal(backend_new(&cfg, &be, err, sizeof(err)), CS_CONFIG);
    assert_non_null(strstr(err, "needs path"));
    /* A file where the root's parent should be. */
    snprintf(path, sizeof(path), "%s/a-file", fx->dir);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
    strcat(path, "/out");
    cfg.path = path;
    assert_int_equal(backend_new(&cfg, &be, err, sizeof(err)), CS_IO);
    assert_null(be);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOTDIR)));
    /* Nothing of the failed attempts stays open. */
    assert_int_equal(open_fds(), fds);
}

/* A bucket folder that is a file: not a retry (the disk is not full), a
 * person must look; the message names the object and the cause. */
static void not_a_directory(void **state)
{
    struct fx *fx = *state;
    char path[700];
    const struct dl_result *r;
    FILE *f;

    snprintf(path, sizeof(path), "%s/ASE/camera_9", fx->root);
    assert_int_equal(put(fx, "camera_0/a.jpg", "x", 1)->cls, DL_OK);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
    r = put(fx, "camera_9/a.jpg", "x", 1);
    assert_int_equal(r->cls, DL_ATTENTION);
    assert_non_null(strstr(r->message, "camera_9/a.jpg"));
    assert_non_null(strstr(r->message, strerror(ENOTDIR)));
}

static void name_too_long(void **state)
{
    struct fx *fx = *state;
    char name[PATH_MAX + 8];
    const struct dl_result *r;

    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    r = put(fx, name, "x", 1);
    assert_int_equal(r->cls, DL_ATTENTION);
    assert_non_null(strstr(r->message, strerror(ENAMETOOLONG)));
    assert_int_equal(staged(fx), 0);
}

/* Runs `steps` in a child process as a user who may not write what the
 * test made read-only (nobody, when the test runs as root: root writes
 * anywhere); the child's exit status is the steps' (0: all held). */
static int as_unprivileged(int (*steps)(const char *), const char *root, const char *ro)
{
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() != 0 && chmod(ro, 0555) != 0)
            _exit(101);
        else if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(100);
        _exit(steps(root));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* The delivery directory itself may not be written: refused at start,
 * naming the directory and the cause. */
static int start_in_readonly(const char *root)
{
    struct config_upload cfg = {.backend = UPLOAD_DIR, .path = (char *)root, .bucket = "ASE"};
    struct backend *be = NULL;
    char err[256] = "";
    int bad = 0;

    if (backend_new(&cfg, &be, err, sizeof(err)) != CS_IO || be)
        bad |= 1;
    if (!strstr(err, strerror(EACCES)) || !strstr(err, root))
        bad |= 2;
    return bad;
}

/* The camera's folder in the bucket may not be written: the object step
 * needs a person ("attention", the cause in words), nothing is published,
 * no staging file is left; the rows folder still takes rows. */
static int put_in_readonly(const char *root)
{
    struct config_upload cfg = {.backend = UPLOAD_DIR, .path = (char *)root, .bucket = "ASE"};
    struct fx fx = {.cfg = cfg};
    struct dl_request obj = {
        .step = DL_STEP_OBJECT, .path = "camera_1/a.jpg", .data = (const uint8_t *)"x", .len = 1};
    struct dl_request rw = {.step = DL_STEP_ROW, .row_json = "{}", .image_id = "id1"};
    char err[256] = "", path[700];
    struct stat st;
    int bad = 0;

    snprintf(fx.root, sizeof(fx.root), "%s", root);
    if (backend_new(&cfg, &fx.be, err, sizeof(err)) != CS_OK)
        return 1;
    if (backend_start(fx.be, &obj) || backend_poll(fx.be, 0, on_done, &fx) != 1)
        bad |= 2;
    else if (fx.got[0].cls != DL_ATTENTION || !strstr(fx.got[0].message, strerror(EACCES)))
        bad |= 4;
    snprintf(path, sizeof(path), "%s/ASE/camera_1/a.jpg", root);
    if (stat(path, &st) == 0 || staged(&fx) != 0)
        bad |= 8;
    fx.n_got = 0;
    if (backend_start(fx.be, &rw) || backend_poll(fx.be, 0, on_done, &fx) != 1 ||
        fx.got[0].cls != DL_OK)
        bad |= 16;
    backend_free(fx.be);
    return bad;
}

static void permission_denied(void **state)
{
    struct fx *fx = *state;
    char root[700], cam[800];
    struct stat st;

    assert_int_equal(chmod(fx->dir, 0755), 0);
    /* A delivery directory of root's. */
    snprintf(root, sizeof(root), "%s/readonly", fx->dir);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(as_unprivileged(start_in_readonly, root, root), 0);
    snprintf(cam, sizeof(cam), "%s/rows", root);
    assert_int_equal(stat(cam, &st), -1);
    /* A delivery directory of its own, but a camera folder of root's. */
    snprintf(root, sizeof(root), "%s/shared", fx->dir);
    assert_int_equal(mkdir(root, 0777), 0);
    assert_int_equal(chmod(root, 0777), 0);
    snprintf(cam, sizeof(cam), "%s/ASE", root);
    assert_int_equal(mkdir(cam, 0755), 0);
    snprintf(cam, sizeof(cam), "%s/ASE/camera_1", root);
    assert_int_equal(mkdir(cam, 0755), 0);
    assert_int_equal(as_unprivileged(put_in_readonly, root, cam), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(object_once, setup, teardown),
        cmocka_unit_test_setup_teardown(rows_once, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(poll_cancel_wakeup, setup, teardown),
        cmocka_unit_test_setup_teardown(leftovers_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(unusable_root, setup, teardown),
        cmocka_unit_test_setup_teardown(not_a_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(name_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(permission_denied, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
