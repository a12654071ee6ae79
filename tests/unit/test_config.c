/* test_config.c - loading, validation and printing of the configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_priv.h"

static char tmpdir[512];

static int make_tmpdir(void **state)
{
    const char *env = getenv("CAMSNAP_TEST_TMP");
    char cmd[600];
    int n;

    (void)state;
    if (env && *env) {
        n = snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", env);
        if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0)
            return -1;
        n = snprintf(tmpdir, sizeof(tmpdir), "%s/config.XXXXXX", env);
    } else {
        n = snprintf(tmpdir, sizeof(tmpdir), "/tmp/camsnap-test-config.XXXXXX");
    }
    if (n < 0 || (size_t)n >= sizeof(tmpdir) || !mkdtemp(tmpdir))
        return -1;
    return 0;
}

static int remove_tmpdir(void **state)
{
    char cmd[600];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes tmpdir/name with the given mode; returns the path (static buffer per slot). */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
    static char paths[4][700];
    static int slot;
    char *path = paths[slot++ % 4];
    FILE *f;

    snprintf(path, sizeof(paths[0]), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* Loads text; returns the error output (free it) and sets *rc and *cfg. */
static char *load(const char *text, enum cs_err *rc, struct config **cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *errs = open_memstream(&buf, &len);

    assert_non_null(errs);
    *rc = config_load_string(text, "test.conf", NULL, errs, cfg);
    fclose(errs);
    return buf;
}

static char *load_file(const char *path, enum cs_err *rc, struct config **cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *errs = open_memstream(&buf, &len);

    assert_non_null(errs);
    *rc = config_load(path, NULL, errs, cfg);
    fclose(errs);
    return buf;
}

/* Expects text to be refused with `needle` among the messages. */
static void expect_error(const char *text, const char *needle)
{
    struct config *cfg = (struct config *)1;
    enum cs_err rc;
    char *errs = load(text, &rc, &cfg);

    if (rc != CS_CONFIG || !strstr(errs, needle))
        fail_msg("expected CS_CONFIG with \"%s\", got rc=%d and:\n%s", needle, rc, errs);
    assert_null(cfg);
    free(errs);
}

/* Expects text to load; returns the config, errs output in *out_errs if not NULL. */
static struct config *expect_ok(const char *text, char **out_errs)
{
    struct config *cfg = NULL;
    enum cs_err rc;
    char *errs = load(text, &rc, &cfg);

    if (rc != CS_OK)
        fail_msg("expected CS_OK, got rc=%d and:\n%s", rc, errs);
    assert_non_null(cfg);
    if (out_errs)
        *out_errs = errs;
    else
        free(errs);
    return cfg;
}

static char *print_effective(const struct config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    assert_non_null(out);
    config_print_effective(cfg, out);
    fclose(out);
    return buf;
}

static const char spec_example[] =
    "[general]\n"
    "state_dir     = /var/lib/camsnap      ; spool, tracking database, logs\n"
    "interval      = 5m                    ; any duration from 1s\n"
    "window        = 11:00-22:00           ; local time; \"always\" for no window\n"
    "timezone      = Europe/Paris          ; default: the system's local time\n"
    "restaurant_id = store-001             ; optional, sent with every row\n"
    "\n"
    "[upload]\n"
    "backend  = supabase                   ; supabase | dir | none\n"
    "url      = https://example.supabase.co\n"
    "key_file = %s  ; or key = ${SUPABASE_KEY}\n"
    "bucket   = ASE\n"
    "table    = ASE_Snapshot\n"
    "; backend = dir  uses:  path = /srv/camsnap-delivered\n"
    "\n"
    "[camera 27]\n"
    "url           = rtsp://192.0.2.27:554/Streaming/Channels/101\n"
    "username      = admin\n"
    "password_file = %s\n"
    "resolution    = 2592x1944             ; expected; a different size is kept and flagged\n"
    "\n"
    "[camera lobby]\n"
    "url = http://192.0.2.40/ISAPI/Streaming/channels/101/picture   ; HTTP snapshot camera\n"
    "\n"
    "[camera demo1]\n"
    "url = synthetic://1920x1080           ; built-in test pattern, no network\n";

static void test_spec_example(void **state)
{
    const char *keyf = write_file("supabase.key", "sb-key-123\r\n", 0600);
    const char *passf = write_file("cam27.pass", "pa55word\nsecond line\n", 0600);
    char text[4096], *errs;
    struct config *cfg = NULL;
    const struct camera_config *c;
    enum cs_err rc;
    const char *path;

    (void)state;
    snprintf(text, sizeof(text), spec_example, keyf, passf);
    path = write_file("camsnap.conf", text, 0644);
    errs = load_file(path, &rc, &cfg);
    if (rc != CS_OK)
        fail_msg("rc=%d:\n%s", rc, errs);
    assert_string_equal(errs, "");
    assert_string_equal(cfg->path, path);
    assert_string_equal(cfg->general.state_dir, "/var/lib/camsnap");
    assert_int_equal(cfg->general.interval_ms, 300000);
    assert_false(cfg->general.window.always);
    assert_int_equal(cfg->general.window.start_min, 660);
    assert_int_equal(cfg->general.window.end_min, 1320);
    assert_string_equal(cfg->general.timezone, "Europe/Paris");
    assert_string_equal(cfg->general.restaurant_id, "store-001");
    assert_int_equal(cfg->general.log_level, LOG_LEVEL_INFO);
    assert_true(cfg->general.log_files);
    assert_int_equal(cfg->general.log_retention_ms, 14 * 86400000LL);
    assert_int_equal(cfg->general.workers, 8);
    assert_int_equal(cfg->general.jpeg_quality, 90);
    assert_int_equal(cfg->upload.backend, UPLOAD_SUPABASE);
    assert_string_equal(cfg->upload.url, "https://example.supabase.co");
    assert_string_equal(cfg->upload.key, "sb-key-123");
    assert_string_equal(cfg->upload.bucket, "ASE");
    assert_string_equal(cfg->upload.table, "ASE_Snapshot");
    assert_null(cfg->upload.path);
    assert_int_equal(cfg->upload.image_url, IMAGE_URL_PUBLIC);
    assert_int_equal(cfg->upload.concurrency, 4);
    assert_int_equal(cfg->upload.connect_timeout_ms, 10000);
    assert_int_equal(cfg->upload.timeout_ms, 60000);
    assert_int_equal(cfg->upload.backoff_base_ms, 30000);
    assert_int_equal(cfg->upload.backoff_cap_ms, 1800000);
    assert_int_equal(cfg->upload.retry_interval_ms, 600000);
    assert_int_equal(cfg->n_cameras, 3);

    c = config_camera(cfg, "27");
    assert_non_null(c);
    assert_string_equal(c->url, "rtsp://192.0.2.27:554/Streaming/Channels/101");
    assert_string_equal(c->username, "admin");
    assert_string_equal(c->password, "pa55word");
    assert_int_equal(c->width, 2592);
    assert_int_equal(c->height, 1944);
    assert_int_equal(c->transport, TRANSPORT_AUTO);
    assert_int_equal(c->max_pixels, 4096 * 2304);
    assert_int_equal(c->connect_timeout_ms, 5000);
    assert_int_equal(c->read_timeout_ms, 5000);
    assert_int_equal(c->deadline_ms, 15000);
    assert_int_equal(c->max_body_bytes, 20000000);
    assert_true(c->enabled);
    assert_int_equal(c->lineno, 16);

    c = config_camera(cfg, "lobby");
    assert_non_null(c);
    assert_string_equal(c->url, "http://192.0.2.40/ISAPI/Streaming/channels/101/picture");
    assert_null(c->username);
    assert_null(c->password);
    assert_int_equal(c->width, 0);
    c = config_camera(cfg, "demo1");
    assert_non_null(c);
    assert_string_equal(c->url, "synthetic://1920x1080");
    assert_null(config_camera(cfg, "nope"));
    config_free(cfg);
    free(errs);
}

static void test_defaults_and_empty(void **state)
{
    struct config *cfg;

    (void)state;
    cfg = expect_ok("", NULL);
    assert_string_equal(cfg->general.state_dir, "/var/lib/camsnap");
    assert_null(cfg->general.timezone);
    assert_null(cfg->general.restaurant_id);
    assert_int_equal(cfg->upload.backend, UPLOAD_NONE);
    assert_int_equal(cfg->n_cameras, 0);
    assert_null(cfg->path);
    config_free(cfg);
    config_free(NULL);
}

/* Expects text to be refused with exactly these messages, in this order. */
static void expect_errors_exactly(const char *text, const char *want)
{
    struct config *cfg = NULL;
    enum cs_err rc;
    char *errs = load(text, &rc, &cfg);

    if (rc != CS_CONFIG || strcmp(errs, want))
        fail_msg("rc=%d, expected exactly:\n%s\ngot:\n%s", rc, want, errs);
    free(errs);
}

/* config check lists the errors by line, whether the parser or a check
 * across keys found them, notes and warnings in their place too. */
static void test_errors_in_line_order(void **state)
{
    (void)state;
    expect_errors_exactly(
        "[upload]\n"
        "backend = supabase\n"           /* 2: url and key missing (checked at the end) */
        "connect_timeout = 30s\n"
        "timeout = 10s\n"                /* 4: shorter than connect_timeout (at the end) */
        "[general]\n"
        "workers = 99\n"                 /* 6: out of range (while parsing) */
        "quality = 50\n"                 /* 7: a renamed key: a note */
        "[camera a]\n"
        "url = ftp://h/\n"               /* 9: not a camera URL (at the end) */
        "bogus = 1\n",                   /* 10: unknown (while parsing) */
        "test.conf:2: [upload] url: missing; backend = supabase needs the project URL such "
        "as url = https://example.supabase.co\n"
        "test.conf:2: [upload] key: missing; backend = supabase needs the API key: key_file = "
        "/etc/camsnap/supabase.key or key = ${SUPABASE_KEY}\n"
        "test.conf:4: [upload] timeout: 10s is shorter than connect_timeout 30s; expected "
        "timeout >= connect_timeout\n"
        "test.conf:6: [general] workers: \"99\" is not a whole number from 1 to 64\n"
        "test.conf:7: note: 'quality' is now called 'jpeg_quality'\n"
        "test.conf:9: [camera a] url: \"ftp://h/\" is not a camera URL; expected rtsp://, "
        "rtsps://, http://, https:// or synthetic://WIDTHxHEIGHT\n"
        "test.conf:10: [camera a] bogus: unknown key; expected one of: url, username, password, "
        "password_file, resolution, transport, connect_timeout, read_timeout, timeout, "
        "max_body, max_pixels, tls_verify, tls_ca_file, enabled\n");
}

/* One error per cause: a value refused is not reported again as missing,
 * nor compared with another key as if it were the default. */
static void test_one_error_per_cause(void **state)
{
    (void)state;
    unsetenv("CAMSNAP_TEST_UNSET");
    expect_errors_exactly("[upload]\nbackend = supabase\nurl = ${CAMSNAP_TEST_UNSET}\n"
                          "key_file = /nonexistent/camsnap.key\n",
                          "test.conf:3: [upload] url: environment variable CAMSNAP_TEST_UNSET is "
                          "not set; expected it in camsnap's environment (write $$ for a literal "
                          "'$')\n"
                          "test.conf:4: [upload] key_file: cannot read /nonexistent/camsnap.key: "
                          "No such file or directory; expected a file holding the secret on its "
                          "first line\n");
    expect_errors_exactly("[upload]\nbackend = dir\npath =\n",
                          "test.conf:3: [upload] path: is empty; expected a path\n");
    expect_errors_exactly("[camera a]\nurl = ${CAMSNAP_TEST_UNSET}\nconnect_timeout = 20s\n"
                          "timeout = 5\n",
                          "test.conf:2: [camera a] url: environment variable CAMSNAP_TEST_UNSET "
                          "is not set; expected it in camsnap's environment (write $$ for a "
                          "literal '$')\n"
                          "test.conf:4: [camera a] timeout: \"5\" has no unit; add one, e.g. 5s "
                          "(ms, s, m, h or d)\n");
    expect_errors_exactly("[upload]\nbackoff_base = 10m\nbackoff_cap = 1x\n",
                          "test.conf:3: [upload] backoff_cap: \"1x\" is not a duration; expected "
                          "a number with a unit such as 30s, 5m, 1h30m or 250ms\n");
    /* Two causes, two errors: the missing key is its own. */
    expect_errors_exactly("[upload]\nbackend = supabase\nurl = ftp://x\n",
                          "test.conf:2: [upload] key: missing; backend = supabase needs the API "
                          "key: key_file = /etc/camsnap/supabase.key or key = ${SUPABASE_KEY}\n"
                          "test.conf:3: [upload] url: \"ftp://x\" is not a web address; expected "
                          "https://...\n");
}

/* 0 means the same in every unit: it may stand alone. */
static void test_zero_duration_needs_no_unit(void **state)
{
    struct config *cfg;

    (void)state;
    cfg = expect_ok("[general]\nlog_retention = 0\ndrain_grace = 0\n[upload]\n"
                    "backoff_base = 0\n",
                    NULL);
    assert_int_equal(cfg->general.log_retention_ms, 0);
    assert_int_equal(cfg->general.drain_grace_ms, 0);
    assert_int_equal(cfg->upload.backoff_base_ms, 0);
    config_free(cfg);
    cfg = expect_ok("[general]\nlog_retention = 36h\n", NULL);
    assert_int_equal(cfg->general.log_retention_ms, 36 * 3600000LL);
    config_free(cfg);
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_error("[upload]\nbukcet = x\n",
                 "test.conf:2: [upload] bukcet: unknown key; did you mean 'bucket'?");
    expect_error("[general]\n\nstate = /x\n",
                 "test.conf:3: [general] state: unknown key; did you mean 'state_dir'?");
    expect_error("[camera a]\nurl = synthetic://64x64\ninterval = 5m\n",
                 "test.conf:3: [camera a] interval: unknown key here; it belongs in [general]");
    expect_error("[general]\nfrobnicate = 1\n", "frobnicate: unknown key; expected one of: "
                                                "state_dir, interval");
}

static void test_unknown_section(void **state)
{
    (void)state;
    expect_error("[genral]\nworkers = 2\n",
                 "test.conf:1: [genral]: unknown section; did you mean '[general]'?");
    expect_error("\n[cameras 27]\nurl = rtsp://h/\n",
                 "test.conf:2: [cameras 27]: unknown section; did you mean '[camera 27]'?");
    expect_error("[zzz]\n", "test.conf:1: [zzz]: unknown section; expected [general]");
    expect_error("[general x]\n", "test.conf:1: [general x]: [general] takes no name");
    expect_error("interval = 5m\n", "test.conf:1: interval: set before any section");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_error("[general]\ninterval = 5 m\n",
                 "test.conf:2: [general] interval: \"5 m\" is "
                 "not a duration; expected a number with a unit such as 30s, 5m");
    expect_error("[general]\ninterval = 500ms\n",
                 "test.conf:2: [general] interval: \"500ms\" is too short; expected at least 1s");
    /* A number without a unit: refused, with a unit that suits the key (its
     * default's, when the number fits the range in it). */
    expect_error("[general]\ninterval = 30\n", "test.conf:2: [general] interval: \"30\" has no "
                                               "unit; add one, e.g. 30s or 30m (ms, s, m, h or "
                                               "d)\n");
    expect_error("[general]\nlog_retention = 14\n",
                 "[general] log_retention: \"14\" has no unit; add one, e.g. 14d");
    expect_error("[upload]\ntimeout = 90\n", "[upload] timeout: \"90\" has no unit; add one, "
                                             "e.g. 90s");
    expect_error("[camera a]\nurl = rtsp://h/\nread_timeout = 5\n",
                 "test.conf:3: [camera a] read_timeout: \"5\" has no unit; add one, e.g. 5s");
    /* 20000 minutes is past interval's 7d: seconds then. */
    expect_error("[general]\ninterval = 20000\n", "\"20000\" has no unit; add one, e.g. 20000s");
    expect_error("[camera 27]\nurl = rtsp://h/\nresolution = 2592*1944\n",
                 "test.conf:3: [camera 27] resolution: \"2592*1944\" is not a resolution; "
                 "expected WIDTHxHEIGHT such as 2592x1944");
    expect_error("[general]\nworkers = 65\n",
                 "test.conf:2: [general] workers: \"65\" is not a whole number from 1 to 64");
    expect_error("[general]\nlog_level = loud\n", "[general] log_level: \"loud\" is not one "
                                                  "of: error, warn, info, debug");
    expect_error("[general]\nlog_files = maybe\n", "\"maybe\" is not a yes/no value");
    expect_error("[general]\nwindow = 11-22\n", "\"11-22\" is not a time window");
    expect_error("[camera a]\nurl = rtsp://h/\nmax_body = lots\n", "\"lots\" is not a size");
    expect_error("[general]\ntimezone = ../../etc/passwd\n", "is not a time zone name");
    expect_error("[general]\ntimezone = /etc/localtime\n", "is not a time zone name");
    expect_error("[general]\ntimezone = Nowhere/Atlantis\n", "unknown time zone");
    expect_error("[general]\nstate_dir =\n", "[general] state_dir: is empty");
    expect_error("[camera a]\nurl = rtsp://h/\nmax_pixels = 4kx2k\n",
                 "\"4kx2k\" is not a pixel count; expected WIDTHxHEIGHT");
    expect_error("[camera a]\nurl = rtsp://h/\nmax_pixels = 0\n", "is not a pixel count");
    expect_error("[camera a]\nurl = rtsp://h/\ntransport = http\n",
                 "\"http\" is not one of: tcp, udp, auto");
}

/* Every number in the key table has a maximum, so that nothing that
 * parses can overflow a clock or a size downstream (an interval of
 * 106751991167d used to pass `config check` and then capture flat out). */
static void every_bounded_key_has_a_maximum(void **state)
{
    (void)state;
    for (size_t i = 0; i < config__n_keys; i++) {
        const struct key_def *k = &config__keys[i];
        if (k->type == KT_DURATION || k->type == KT_SIZE || k->type == KT_INT ||
            k->type == KT_PIXELS)
            if (k->max <= 0)
                fail_msg("key %s has no maximum", k->name);
    }
    expect_error("[general]\ninterval = 106751991167d\n", "interval: \"106751991167d\" is "
                                                         "too long; expected at most 7d");
    expect_error("[camera a]\nurl = rtsp://h/\ntimeout = 106751991167d\n", "too long");
    expect_error("[camera a]\nurl = rtsp://h/\nread_timeout = 3650d\n", "too long");
    expect_error("[upload]\nbackoff_cap = 9999d\n", "too long");
    expect_error("[upload]\ntimeout = 100000000000000000000s\n", "is not a duration");
    expect_error("[camera a]\nurl = rtsp://h/\nmax_body = 900EB\n", "");
    expect_error("[general]\npicture_memory = 1TB\n", "out of range");
    expect_error("[camera a]\nurl = rtsp://h/\nmax_pixels = 100000x100000\n", "out of range");
}

/* bucket, table and restaurant_id become path segments: what config check
 * accepts, sync accepts (a restaurant_id starting with '.' passed check and
 * was refused by sync; bucket = ../../.. wrote outside the dir backend). */
static void names_are_path_safe(void **state)
{
    (void)state;
    expect_error("[general]\nrestaurant_id = .hidden\n", "restaurant_id: \".hidden\" starts with");
    expect_error("[general]\nrestaurant_id = a/b\n", "restaurant_id: \"a/b\" contains");
    expect_error("[upload]\nbucket = ../../..\n", "bucket: \"../../..\"");
    expect_error("[upload]\nbucket = a b\n", "bucket:");
    expect_error("[upload]\ntable = snap;drop\n", "table: \"snap;drop\" is not a table name");
    expect_error("[upload]\ntable = ../x\n", "is not a table name");
    struct config *cfg = expect_ok("[general]\nrestaurant_id = store-001\n[upload]\nbucket = ASE"
                                   "\ntable = ASE_Snapshot\n", NULL);
    config_free(cfg);
}

/* The key never sits in a URL, nor travels in clear to another machine. */
static void upload_url_rules(void **state)
{
    struct config *cfg;

    (void)state;
    expect_error("[upload]\nbackend = supabase\nurl = https://user:pw@example.test\n"
                 "key = ${CAMSNAP_TEST_KEY}\n",
                 "[upload] url: holds a user name or password");
    setenv("CAMSNAP_TEST_KEY", "k", 1);
    expect_error("[upload]\nbackend = supabase\nurl = http://192.0.2.10:8000\n"
                 "key = ${CAMSNAP_TEST_KEY}\n",
                 "would send the API key in clear over plain http");
    cfg = expect_ok("[upload]\nbackend = supabase\nurl = http://192.0.2.10:8000\n"
                    "key = ${CAMSNAP_TEST_KEY}\nallow_plain_http = yes\n", NULL);
    config_free(cfg);
    cfg = expect_ok("[upload]\nbackend = supabase\nurl = http://127.0.0.1:8000\n"
                    "key = ${CAMSNAP_TEST_KEY}\n", NULL);
    config_free(cfg);
    cfg = expect_ok("[upload]\nbackend = supabase\nurl = http://localhost:8000/\n"
                    "key = ${CAMSNAP_TEST_KEY}\n", NULL);
    config_free(cfg);
    cfg = expect_ok("[upload]\nbackend = supabase\nurl = http://[::1]:8000\n"
                    "key = ${CAMSNAP_TEST_KEY}\n", NULL);
    config_free(cfg);
    expect_error("[upload]\nbackend = supabase\nurl = http://localhost.example.test\n"
                 "key = ${CAMSNAP_TEST_KEY}\n", "plain http");
}

static void test_max_pixels_forms(void **state)
{
    struct config *cfg;
    enum cs_err rc;
    char *errs;

    (void)state;
    errs = load("[camera a]\nurl = rtsp://h/\nmax_pixels = 12M\ntransport = udp\n"
                "[camera b]\nurl = rtsp://h/\nmax_pixels = 1920x1080\n"
                "[camera c]\nurl = rtsp://h/\nmax_pixels = 2000000\n",
                &rc, &cfg);
    assert_int_equal(rc, CS_OK);
    assert_int_equal(config_camera(cfg, "a")->max_pixels, 12000000);
    assert_int_equal(config_camera(cfg, "a")->transport, TRANSPORT_UDP);
    assert_int_equal(config_camera(cfg, "b")->max_pixels, 1920 * 1080);
    assert_int_equal(config_camera(cfg, "c")->max_pixels, 2000000);
    free(errs);
    config_free(cfg);
}

static void test_collects_all_errors(void **state)
{
    struct config *cfg;
    enum cs_err rc;
    char *errs;
    int lines = 0;

    (void)state;
    errs = load("[general]\ninterval = x\nworkers = 0\n[upload]\nbackend = ftp\n", &rc, &cfg);
    assert_int_equal(rc, CS_CONFIG);
    for (const char *s = errs; *s; s++)
        lines += *s == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(errs, "test.conf:2:"));
    assert_non_null(strstr(errs, "test.conf:3:"));
    assert_non_null(strstr(errs, "test.conf:5:"));
    free(errs);
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_error("[camera a]\nurl = rtsp://h/\n[camera a]\nurl = rtsp://g/\n",
                 "test.conf:3: [camera a]: duplicate section; camera \"a\" is already "
                 "defined at line 1");
    expect_error("[general]\nworkers = 2\n\nworkers = 3\n",
                 "test.conf:4: [general] workers: "
                 "set twice in one section; the first value is at line 2");
    expect_error("[general]\nworkers = 2\n[upload]\n[general]\nworkers = 3\n",
                 "test.conf:5: [general] workers: set twice");
}

static void test_camera_names(void **state)
{
    static const char *const bad[] = {"",
                                      "..",
                                      ".",
                                      ".hidden",
                                      "a/b",
                                      "a\x01"
                                      "b",
                                      "a b",
                                      "caf\xc3\xa9",
                                      "a\x7f",
                                      "a:b"};
    const char *why = NULL;
    char longname[CONFIG_NAME_MAX + 2];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (config_validate_name(bad[i], &why) != CS_CONFIG || !why)
            fail_msg("name \"%s\" was accepted", bad[i]);
    }
    assert_int_equal(config_validate_name(NULL, &why), CS_CONFIG);
    assert_int_equal(config_validate_name("27", &why), CS_OK);
    assert_int_equal(config_validate_name("front-door_1.cam", &why), CS_OK);
    memset(longname, 'a', sizeof(longname));
    longname[CONFIG_NAME_MAX] = '\0';
    assert_int_equal(config_validate_name(longname, &why), CS_OK);
    longname[CONFIG_NAME_MAX] = 'a';
    longname[CONFIG_NAME_MAX + 1] = '\0';
    assert_int_equal(config_validate_name(longname, &why), CS_CONFIG);
    assert_string_equal(why, "is longer than 64 characters");
    config_validate_name("a/b", &why);
    assert_string_equal(why, "contains '/'");
    config_validate_name("", &why);
    assert_string_equal(why, "is empty");

    expect_error("[camera ..]\nurl = rtsp://h/\n", "test.conf:1: [camera ..]: camera name "
                                                   "is \".\" or \"..\"");
    expect_error("[camera a/b]\nurl = rtsp://h/\n", "test.conf:1: [camera a/b]: camera name "
                                                    "contains '/'");
    expect_error("[camera]\n", "test.conf:1: [camera]: a camera section needs a name");
    expect_error("[camera   ]\n", "test.conf:1: [camera]: a camera section needs a name");
    expect_error("[camera a\x01z]\nurl = rtsp://h/\n", "[camera a?z]: camera name contains a "
                                                       "control character");
}

static void test_camera_url(void **state)
{
    struct config *cfg;

    (void)state;
    expect_error("[camera a]\nusername = x\n", "test.conf:1: [camera a] url: missing");
    expect_error("[camera a]\nurl = ftp://h/x\n",
                 "test.conf:2: [camera a] url: \"ftp://h/x\" "
                 "is not a camera URL; expected rtsp://, rtsps://, http://, https:// or "
                 "synthetic://WIDTHxHEIGHT");
    expect_error("[camera a]\nurl = synthetic://huge\n", "is not a synthetic camera");
    expect_error("[camera a]\nurl = rtsp:///x\n", "has no host");
    cfg = expect_ok("[camera a]\nurl = RTSPS://h/x\n[camera b]\nurl = https://h/p.jpg\n"
                    "enabled = no\n",
                    NULL);
    assert_int_equal(cfg->n_cameras, 2);
    assert_false(cfg->cameras[1].enabled);
    assert_true(cfg->cameras[0].enabled);
    config_free(cfg);
}

static void test_upload_rules(void **state)
{
    struct config *cfg;

    (void)state;
    expect_error("[upload]\nbackend = supabase\nurl = https://x.supabase.co\n",
                 "test.conf:2: [upload] key: missing; backend = supabase needs the API key");
    expect_error("[upload]\nbackend = supabase\nkey = ${CAMSNAP_TEST_KEY}\n",
                 "[upload] url: missing");
    expect_error("[upload]\nbackend = dir\n", "test.conf:2: [upload] path: missing");
    expect_error("[upload]\nurl = ftp://x\n", "is not a web address");
    expect_error("[upload]\nconnect_timeout = 30s\ntimeout = 10s\n",
                 "test.conf:3: [upload] timeout: 10s is shorter than connect_timeout 30s");
    expect_error("[camera a]\nurl = rtsp://h/\nconnect_timeout = 20s\n",
                 "[camera a] timeout: 15s is shorter than connect_timeout 20s");
    cfg = expect_ok("[upload]\nbackend = dir\npath = /srv/out\nimage_url = path\n", NULL);
    assert_int_equal(cfg->upload.backend, UPLOAD_DIR);
    assert_string_equal(cfg->upload.path, "/srv/out");
    assert_int_equal(cfg->upload.image_url, IMAGE_URL_PATH);
    config_free(cfg);
}

static void test_env_expansion(void **state)
{
    struct config *cfg;

    (void)state;
    unsetenv("CAMSNAP_TEST_UNSET_VAR");
    expect_error("[upload]\nkey = ${CAMSNAP_TEST_UNSET_VAR}\n",
                 "test.conf:2: [upload] key: "
                 "environment variable CAMSNAP_TEST_UNSET_VAR is not set");
    expect_error("[general]\nrestaurant_id = ${oops\n", "unterminated \"${\"");
    expect_error("[general]\nrestaurant_id = ${1x}\n", "is not a variable reference");
    setenv("CAMSNAP_TEST_SITE", "store-9", 1);
    setenv("CAMSNAP_TEST_DIR", "/srv/cs", 1);
    cfg = expect_ok("[general]\nstate_dir = ${CAMSNAP_TEST_DIR}\n"
                    "[camera a]\nurl = rtsp://h/\nusername = ${CAMSNAP_TEST_SITE}-$$5-$x\n",
                    NULL);
    assert_string_equal(cfg->cameras[0].username, "store-9-$5-$x");
    assert_string_equal(cfg->general.state_dir, "/srv/cs");
    config_free(cfg);
}

static void test_key_conflicts(void **state)
{
    const char *keyf = write_file("k1.key", "abc\n", 0600);
    char text[1024];

    (void)state;
    snprintf(text, sizeof(text), "[upload]\nkey = ${HOME}\nkey_file = %s\n", keyf);
    expect_error(text, "test.conf:3: [upload] key_file: key is also set (line 2)");
    snprintf(text, sizeof(text),
             "[camera a]\nurl = rtsp://h/\npassword = x\npassword_file = "
             "%s\n",
             keyf);
    expect_error(text, "test.conf:4: [camera a] password_file: password is also set (line 3)");
    expect_error("[camera a]\nurl = rtsp://u:p@h/\nusername = v\n",
                 "[camera a] url: holds "
                 "user:password@ while username or password is also set");
}

static void test_permissions(void **state)
{
    struct config *cfg = NULL;
    enum cs_err rc;
    const char *path;
    char *errs;

    (void)state;
    path = write_file("perm.conf", "[camera a]\nurl = rtsp://h/\npassword = x\n", 0644);
    errs = load_file(path, &rc, &cfg);
    assert_int_equal(rc, CS_CONFIG);
    assert_null(cfg);
    assert_non_null(strstr(errs, "holds a secret (line 3: [camera a] password) but is "
                                 "readable by group or others (mode 0644); run: chmod 600 "));
    assert_non_null(strstr(errs, "move the secret to password_file / ${ENV}"));
    free(errs);

    assert_int_equal(chmod(path, 0600), 0);
    errs = load_file(path, &rc, &cfg);
    assert_int_equal(rc, CS_OK);
    assert_string_equal(cfg->cameras[0].password, "x");
    config_free(cfg);
    free(errs);

    setenv("CAMSNAP_TEST_PW", "from-env", 1);
    path = write_file("perm_env.conf",
                      "[camera a]\nurl = rtsp://h/\n"
                      "password = ${CAMSNAP_TEST_PW}\n[upload]\nkey = ${CAMSNAP_TEST_PW}\n",
                      0644);
    errs = load_file(path, &rc, &cfg);
    if (rc != CS_OK)
        fail_msg("rc=%d:\n%s", rc, errs);
    assert_string_equal(cfg->cameras[0].password, "from-env");
    assert_string_equal(cfg->upload.key, "from-env");
    config_free(cfg);
    free(errs);

    path = write_file("perm_key.conf", "[upload]\nkey = abc\n", 0640);
    errs = load_file(path, &rc, &cfg);
    assert_int_equal(rc, CS_CONFIG);
    assert_non_null(strstr(errs, "(line 2: [upload] key)"));
    assert_non_null(strstr(errs, "mode 0640"));
    assert_non_null(strstr(errs, "key_file / ${ENV}"));
    free(errs);

    /* the in-memory text is not checked */
    cfg = expect_ok("[upload]\nkey = abc\n", NULL);
    config_free(cfg);
}

static void test_secret_files(void **state)
{
    const char *open_key = write_file("open.key", "abc\n", 0644);
    const char *empty_key = write_file("empty.key", "\r\n", 0600);
    const char *ok_key = write_file("ok.key", "line-one", 0600);
    const char *nul_key = write_file("nul.key", "", 0600);
    FILE *f = fopen(nul_key, "w");

    assert_non_null(f);
    fwrite("ab\0cd\n", 1, 6, f);
    fclose(f);
    char text[1024];
    struct config *cfg;

    (void)state;
    snprintf(text, sizeof(text), "[upload]\nkey_file = %s\n", open_key);
    expect_error(text, "test.conf:2: [upload] key_file: ");
    expect_error(text, "is readable by group or others (mode 0644); run: chmod 600 ");
    snprintf(text, sizeof(text), "[upload]\nkey_file = %s\n", empty_key);
    expect_error(text, "is empty; expected the secret on its first line");
    snprintf(text, sizeof(text), "[upload]\nkey_file = %s/missing.key\n", tmpdir);
    expect_error(text, "cannot read ");
    expect_error(text, "No such file or directory");
    snprintf(text, sizeof(text), "[upload]\nkey_file = %s\n", nul_key);
    expect_error(text, "holds a NUL byte");
    snprintf(text, sizeof(text), "[camera a]\nurl = rtsp://h/\npassword_file = %s\n", ok_key);
    cfg = expect_ok(text, NULL);
    assert_string_equal(cfg->cameras[0].password, "line-one");
    config_free(cfg);
}

static void test_url_credentials(void **state)
{
    struct config *cfg = NULL;
    enum cs_err rc;
    const char *path;
    char *errs, *out, want[1024];

    (void)state;
    cfg = expect_ok("[camera a]\nurl = rtsp://admin:s3cr%40t@192.0.2.1:554/x?y=1\n", NULL);
    assert_string_equal(cfg->cameras[0].url, "rtsp://192.0.2.1:554/x?y=1");
    assert_string_equal(cfg->cameras[0].username, "admin");
    assert_string_equal(cfg->cameras[0].password, "s3cr@t");
    out = print_effective(cfg);
    assert_null(strstr(out, "s3cr"));
    assert_non_null(strstr(out, "rtsp://192.0.2.1:554/x?y=1"));
    free(out);
    config_free(cfg);

    cfg = expect_ok("[camera a]\nurl = http://viewer@192.0.2.1/snap.jpg\n", NULL);
    assert_string_equal(cfg->cameras[0].url, "http://192.0.2.1/snap.jpg");
    assert_string_equal(cfg->cameras[0].username, "viewer");
    assert_null(cfg->cameras[0].password);
    config_free(cfg);

    expect_error("[camera a]\nurl = rtsp://u:p%zz@h/\n", "bad %-escape");
    expect_error("[camera a]\nurl = rtsp://u:p%1g@h/\n", "bad %-escape");
    expect_error("[camera a]\nurl = rtsp://u:p%00@h/\n", "bad %-escape");

    /* a password that comes from ${VAR} is not in clear, even inside the url */
    setenv("CAMSNAP_TEST_PW", "from-env", 1);
    setenv("CAMSNAP_TEST_CREDS", "viewer:env-pw", 1);
    path = write_file("urlenv.conf",
                      "[camera a]\nurl = rtsp://admin:${CAMSNAP_TEST_PW}@h/x\n"
                      "[camera b]\nurl = rtsp://${CAMSNAP_TEST_CREDS}@h/y\n",
                      0644);
    errs = load_file(path, &rc, &cfg);
    if (rc != CS_OK)
        fail_msg("rc=%d:\n%s", rc, errs);
    assert_string_equal(cfg->cameras[0].password, "from-env");
    assert_string_equal(cfg->cameras[0].url, "rtsp://h/x");
    assert_string_equal(cfg->cameras[1].username, "viewer");
    assert_string_equal(cfg->cameras[1].password, "env-pw");
    config_free(cfg);
    free(errs);

    /* The effective values name their origin as FILE:LINE. */
    path = write_file("origins.conf", "[camera a]\n\nurl = rtsp://admin:${CAMSNAP_TEST_PW}@h/x\n"
                                      "\nread_timeout = 2s\n",
                      0600);
    setenv("CAMSNAP_TEST_PW", "env-pw", 1);
    errs = load_file(path, &rc, &cfg);
    if (rc != CS_OK)
        fail_msg("rc=%d:\n%s", rc, errs);
    free(errs);
    errs = print_effective(cfg);
    snprintf(want, sizeof(want), "read_timeout    = 2s                           ; %s:5\n", path);
    if (!strstr(errs, want))
        fail_msg("no \"%s\" in:\n%s", want, errs);
    snprintf(want, sizeof(want), "; from url, %s:3\n", path);
    if (!strstr(errs, want))
        fail_msg("no \"%s\" in:\n%s", want, errs);
    config_free(cfg);
    free(errs);

    path = write_file("urlcreds.conf", "[camera a]\n\nurl = rtsp://admin:pw@h/x\n", 0644);
    errs = load_file(path, &rc, &cfg);
    assert_int_equal(rc, CS_CONFIG);
    assert_non_null(strstr(errs, "holds a secret (line 3: [camera a] url credentials)"));
    assert_non_null(strstr(errs, "chmod 600"));
    assert_null(strstr(errs, "pw@"));
    free(errs);
}

static void test_print_effective(void **state)
{
    const char *keyf = write_file("eff.key", "KeyFromFile-998877\n", 0600);
    struct config *cfg;
    char text[1024], *out;

    (void)state;
    setenv("CAMSNAP_TEST_SITE", "store-9", 1);
    snprintf(text, sizeof(text),
             "[general]\nrestaurant_id = ${CAMSNAP_TEST_SITE}\n"
             "interval = 90m\n[upload]\nbackend = supabase\nurl = https://x.supabase.co\n"
             "key_file = %s\n[camera 27]\nurl = rtsp://h/\nusername = admin\n"
             "password = TopSecretPw123\nmax_body = 2MiB\n",
             keyf);
    cfg = expect_ok(text, NULL);
    out = print_effective(cfg);
    assert_null(strstr(out, "TopSecretPw123"));
    assert_null(strstr(out, "KeyFromFile-998877"));
    assert_non_null(strstr(out, "[general]\n"));
    assert_non_null(strstr(out, "[upload]\n"));
    assert_non_null(strstr(out, "[camera 27]\n"));
    assert_non_null(strstr(out, "********"));
    assert_non_null(strstr(out, "; ${CAMSNAP_TEST_SITE}"));
    assert_non_null(strstr(out, "; default"));
    assert_non_null(strstr(out, "; line 3\n")); /* no file: the line in the text */
    assert_non_null(strstr(out, "1h30m"));
    assert_non_null(strstr(out, "2MiB"));
    assert_non_null(strstr(out, "admin"));
    assert_non_null(strstr(out, keyf));
    assert_non_null(strstr(out, "11:00-22:00"));
    free(out);
    config_free(cfg);
}

static void test_state_dir_override(void **state)
{
    struct config *cfg = NULL;
    char *buf = NULL, *out;
    size_t len = 0;
    FILE *errs = open_memstream(&buf, &len);
    enum cs_err rc;

    (void)state;
    rc = config_load_string("[general]\nstate_dir = /a\n", "x.conf", "/override", errs, &cfg);
    fclose(errs);
    assert_int_equal(rc, CS_OK);
    assert_string_equal(cfg->general.state_dir, "/override");
    out = print_effective(cfg);
    assert_non_null(strstr(out, "; --state-dir"));
    free(out);
    free(buf);
    config_free(cfg);
}

static void test_long_lines(void **state)
{
    size_t n = 70000;
    char *text = malloc(n + 200), *errs;
    char id[301];
    struct config *cfg;
    enum cs_err rc;

    (void)state;
    assert_non_null(text);
    memset(id, 'x', 300);
    id[300] = '\0';
    snprintf(text, n + 200, "[camera a]\nusername = %s\nurl = rtsp://h/%s\n", id, id);
    cfg = expect_ok(text, NULL);
    assert_string_equal(cfg->cameras[0].username, id);
    assert_int_equal(strlen(cfg->cameras[0].url), 300 + strlen("rtsp://h/"));
    config_free(cfg);

    /* a line close to inih's maximum still parses */
    memcpy(text, "[general]\nstate_dir = /", 23);
    memset(text + 23, 'z', 65500);
    snprintf(text + 23 + 65500, 100, "\nworkers = 3\n");
    cfg = expect_ok(text, NULL);
    assert_int_equal(strlen(cfg->general.state_dir), 65501);
    assert_int_equal(cfg->general.workers, 3);
    config_free(cfg);

    /* a line past inih's maximum is refused, and the following lines keep their numbers */
    memcpy(text, "[general]\nrestaurant_id = ", 26);
    memset(text + 26, 'y', n);
    snprintf(text + 26 + n, 100, "\nworkers = 0\n");
    errs = load(text, &rc, &cfg);
    assert_int_equal(rc, CS_CONFIG);
    assert_non_null(strstr(errs, "test.conf:2: line is too long"));
    assert_non_null(strstr(errs, "test.conf:3: [general] workers"));
    free(errs);
    free(text);
}

static void test_syntax_errors(void **state)
{
    struct config *cfg;
    enum cs_err rc;
    char *errs;

    (void)state;
    expect_error("[general\n", "test.conf:1: section header without ']'");
    errs = load("[general]\nworkers 3\nbogus line\njpeg_quality = 0\n", &rc, &cfg);
    assert_int_equal(rc, CS_CONFIG);
    assert_non_null(strstr(errs, "test.conf:2: not a setting; expected key = value"));
    assert_non_null(strstr(errs, "test.conf:3: not a setting"));
    assert_non_null(strstr(errs, "test.conf:4: [general] jpeg_quality"));
    free(errs);
    /* CRLF line endings, comments, a BOM and inline comments only after whitespace */
    cfg = expect_ok("\xEF\xBB\xBF# comment\r\n[general]\r\n; another\r\n"
                    "state_dir = /a;b#c ; comment\r\nworkers = 3 # three\r\n",
                    NULL);
    assert_string_equal(cfg->general.state_dir, "/a;b#c");
    assert_int_equal(cfg->general.workers, 3);
    config_free(cfg);
    expect_error("\r\n[general]\r\nworkers = x\r\n", "test.conf:3: [general] workers");
}

static void test_alias_note(void **state)
{
    struct config *cfg;
    char *errs;

    (void)state;
    cfg = expect_ok("[general]\nquality = 80\n[camera a]\nurl = rtsp://h/\n"
                    "rtsp_transport = udp\n",
                    &errs);
    assert_non_null(strstr(errs, "test.conf:2: note: 'quality' is now called 'jpeg_quality'\n"));
    assert_non_null(strstr(errs, "test.conf:5: note: 'rtsp_transport' is now called "
                                 "'transport'\n"));
    assert_int_equal(cfg->general.jpeg_quality, 80);
    assert_int_equal(cfg->cameras[0].transport, TRANSPORT_UDP);
    free(errs);
    config_free(cfg);
}

static void test_reference_and_sample(void **state)
{
    static const char *const rows[] = {
        "| [general] | state_dir |",
        "| [general] | interval |",
        "| [general] | window |",
        "| [general] | timezone |",
        "| [general] | restaurant_id |",
        "| [general] | log_level |",
        "| [general] | log_files |",
        "| [general] | log_retention |",
        "| [general] | workers |",
        "| [general] | jpeg_quality |",
        "| [upload] | backend |",
        "| [upload] | url |",
        "| [upload] | key |",
        "| [upload] | key_file |",
        "| [upload] | bucket |",
        "| [upload] | table |",
        "| [upload] | path |",
        "| [upload] | image_url |",
        "| [upload] | ca_file |",
        "| [upload] | concurrency |",
        "| [upload] | connect_timeout |",
        "| [upload] | timeout |",
        "| [upload] | backoff_base |",
        "| [upload] | backoff_cap |",
        "| [upload] | retry_interval |",
        "| [camera NAME] | url |",
        "| [camera NAME] | username |",
        "| [camera NAME] | password |",
        "| [camera NAME] | password_file |",
        "| [camera NAME] | resolution |",
        "| [camera NAME] | transport |",
        "| [camera NAME] | connect_timeout |",
        "| [camera NAME] | read_timeout |",
        "| [camera NAME] | timeout |",
        "| [camera NAME] | max_body |",
        "| [camera NAME] | enabled |",
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct config *cfg;

    (void)state;
    config_print_reference(out);
    fclose(out);
    assert_non_null(strstr(buf, "| section | key | type | default | description |\n"));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (!strstr(buf, rows[i]))
            fail_msg("reference lacks \"%s\"", rows[i]);
    assert_non_null(strstr(buf, "| 5m |"));
    free(buf);

    buf = NULL;
    out = open_memstream(&buf, &len);
    config_print_sample(out);
    fclose(out);
    assert_non_null(strstr(buf, ";interval = 5m\n"));
    assert_non_null(strstr(buf, ";[camera 27]\n"));
    cfg = expect_ok(buf, NULL);
    config_free(cfg);
    free(buf);
}

static void test_missing_file(void **state)
{
    struct config *cfg = (struct config *)1;
    char path[700];
    enum cs_err rc;
    char *errs;

    (void)state;
    snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
    errs = load_file(path, &rc, &cfg);
    assert_int_equal(rc, CS_IO);
    assert_null(cfg);
    assert_non_null(strstr(errs, "cannot open"));
    free(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_example),         cmocka_unit_test(test_defaults_and_empty),
        cmocka_unit_test(test_zero_duration_needs_no_unit),
        cmocka_unit_test(test_errors_in_line_order),
        cmocka_unit_test(test_one_error_per_cause),
        cmocka_unit_test(test_unknown_key),          cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_bad_values),           cmocka_unit_test(test_max_pixels_forms),
        cmocka_unit_test(every_bounded_key_has_a_maximum),
        cmocka_unit_test(names_are_path_safe),       cmocka_unit_test(upload_url_rules),
        cmocka_unit_test(test_collects_all_errors),
        cmocka_unit_test(test_duplicates),           cmocka_unit_test(test_camera_names),
        cmocka_unit_test(test_camera_url),           cmocka_unit_test(test_upload_rules),
        cmocka_unit_test(test_env_expansion),        cmocka_unit_test(test_key_conflicts),
        cmocka_unit_test(test_permissions),          cmocka_unit_test(test_secret_files),
        cmocka_unit_test(test_url_credentials),      cmocka_unit_test(test_print_effective),
        cmocka_unit_test(test_state_dir_override),   cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_syntax_errors),        cmocka_unit_test(test_alias_note),
        cmocka_unit_test(test_reference_and_sample), cmocka_unit_test(test_missing_file),
    };

    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
