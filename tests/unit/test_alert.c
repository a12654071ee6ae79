/* test_alert.c - the alert engine on a real SQLite file, driven through its
 * API with a test wall clock: hysteresis, quality flags (black, frozen: the
 * values image/quality.h will give), durability across a reopen, flapping,
 * site thresholds, the upload service refusing, reports; the e-mail format;
 * ISO 8601 periods; [alert] validation. Nothing is sent (no delivery is
 * called; the webhook address names a closed port). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "alert_send.h"
#include "clock.h"
#include "config.h"
#include "report.h"
#include "store.h"
#include "store_alert.h"
#include "testutil.h"

static int64_t fake_now = 1795000000000LL; /* 2026-11-18 */

static int64_t fake_wall(void)
{
    return fake_now;
}

static int64_t fake_mono(void)
{
    return fake_now;
}

struct fx {
    char dir[256];
    char db[300];
    struct config *cfg;
    struct alerts *a;
};

static void load(struct fx *f, const char *alert_keys)
{
    char text[2048];
    enum cs_err rc;

    snprintf(text, sizeof(text),
             "[general]\nstate_dir = %s\ninterval = 1m\nwindow = always\n"
             "[upload]\nbackend = none\n[alert]\n%s\n"
             "[camera c1]\nurl = rtsp://admin:pw@192.0.2.7:554/live?token=abc\n"
             "[camera c2]\nurl = synthetic://64x64\n",
             f->dir, alert_keys);
    config_free(f->cfg);
    rc = config_load_string(text, "test", NULL, stderr, &f->cfg);
    assert_int_equal(rc, CS_OK);
}

static void open_alerts(struct fx *f)
{
    char why[256];

    assert_int_equal(alerts_open(f->cfg, &f->a, why, sizeof(why)), CS_OK);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(test_mkdtemp(f->dir, sizeof(f->dir)));
    snprintf(f->db, sizeof(f->db), "%s/%s", f->dir, STORE_FILENAME);
    clock_set_source(fake_mono, fake_wall);
    load(f, "webhook_url = http://127.0.0.1:9/hook\ncamera_down_after = 3\nquality_after = 2\n"
            "disk_free_min = 0\n");
    open_alerts(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    alerts_close(f->a);
    config_free(f->cfg);
    test_rmtree(f->dir);
    clock_set_source(NULL, NULL);
    free(f);
    return 0;
}

/* The outbox as "kind:camera" lines, in order. */
static char *outbox(struct fx *f)
{
    static char buf[4096];
    sqlite3 *db;
    sqlite3_stmt *s;

    buf[0] = '\0';
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT kind, COALESCE(camera, '-') FROM "
                                            "alert_outbox ORDER BY id", -1, &s, NULL),
                     SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s:%s ",
                 sqlite3_column_text(s, 0), sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return buf;
}

/* Column col of the newest outbox row (copied). */
static char *last_col(struct fx *f, const char *col)
{
    static char buf[8192];
    char sql[128];
    sqlite3 *db;
    sqlite3_stmt *s;

    snprintf(sql, sizeof(sql), "SELECT %s FROM alert_outbox ORDER BY id DESC LIMIT 1", col);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return buf;
}

static void capture(struct fx *f, const char *cam, bool ok, unsigned flags)
{
    struct alert_capture c = {
        .camera = cam, .round_ms = fake_now, .ok = ok, .reason = ok ? NULL : "camera",
        .error = ok ? NULL : "cannot open rtsp://admin:hunter2@192.0.2.7:554/live: refused",
        .still = ok ? "camera_x/20261118_000000_64_64.jpg" : NULL, .quality_flags = flags};

    alerts_capture(f->a, &c);
    fake_now += 60000;
}

static void quality_black_and_frozen_raise_and_clear_once(void **state)
{
    struct fx *f = *state;

    capture(f, "c1", true, ALERT_QUALITY_BLACK);
    assert_string_equal(outbox(f), ""); /* one black still: not yet (quality_after = 2) */
    capture(f, "c1", true, ALERT_QUALITY_BLACK);
    assert_string_equal(outbox(f), "quality_raised:c1 ");
    assert_non_null(strstr(last_col(f, "fields"), "\"flag\":\"black\""));
    capture(f, "c1", true, ALERT_QUALITY_BLACK);
    capture(f, "c2", true, ALERT_QUALITY_FROZEN);
    capture(f, "c2", true, ALERT_QUALITY_FROZEN | ALERT_QUALITY_BLACK);
    assert_string_equal(outbox(f), "quality_raised:c1 quality_raised:c2 ");
    assert_non_null(strstr(last_col(f, "body"), "same picture"));
    capture(f, "c1", true, 0);
    assert_string_equal(outbox(f), "quality_raised:c1 quality_raised:c2 ");
    capture(f, "c1", true, ALERT_QUALITY_BLACK); /* the clean run starts again */
    capture(f, "c1", true, 0);
    capture(f, "c1", true, 0);
    assert_string_equal(outbox(f), "quality_raised:c1 quality_raised:c2 quality_cleared:c1 ");
    /* c2's one black still among frozen ones raised nothing */
    capture(f, "c2", false, 0); /* a failure says nothing of quality */
    capture(f, "c2", true, 0);
    capture(f, "c2", true, 0);
    assert_string_equal(outbox(f), "quality_raised:c1 quality_raised:c2 quality_cleared:c1 "
                                   "quality_cleared:c2 ");
}

static void camera_down_after_n_rounds_back_once_no_secret(void **state)
{
    struct fx *f = *state;
    const char *body;

    capture(f, "c1", false, 0);
    capture(f, "c1", false, 0);
    assert_string_equal(outbox(f), "");
    capture(f, "c1", false, 0);
    assert_string_equal(outbox(f), "camera_down:c1 ");
    body = last_col(f, "body");
    assert_null(strstr(body, "hunter2"));
    assert_null(strstr(body, "token"));
    assert_non_null(strstr(body, "3 rounds in a row"));
    assert_non_null(strstr(body, "Source: rtsp://192.0.2.7:554"));
    capture(f, "c1", false, 0);
    capture(f, "c1", true, 0);
    capture(f, "c1", true, 0);
    assert_string_equal(outbox(f), "camera_down:c1 camera_recovered:c1 ");
    /* two failures then a still: never down */
    capture(f, "c1", false, 0);
    capture(f, "c1", false, 0);
    capture(f, "c1", true, 0);
    capture(f, "c1", false, 0);
    capture(f, "c1", false, 0);
    assert_string_equal(outbox(f), "camera_down:c1 camera_recovered:c1 ");
}

static void states_survive_a_reopen(void **state)
{
    struct fx *f = *state;

    capture(f, "c1", false, 0);
    capture(f, "c1", false, 0);
    alerts_close(f->a); /* as a crash would leave it: the streak is on disk */
    open_alerts(f);
    capture(f, "c1", false, 0);
    assert_string_equal(outbox(f), "camera_down:c1 ");
    alerts_close(f->a);
    open_alerts(f);
    capture(f, "c1", false, 0); /* still down: nothing new */
    assert_string_equal(outbox(f), "camera_down:c1 ");
    capture(f, "c1", true, 0);
    assert_string_equal(outbox(f), "camera_down:c1 camera_recovered:c1 ");
}

static void flapping_is_held_then_settles(void **state)
{
    struct fx *f = *state;
    char want[512] = "";

    load(f, "webhook_url = http://127.0.0.1:9/hook\ncamera_down_after = 1\ndisk_free_min = 0\n");
    assert_int_equal(alerts_reconfigure(f->a, f->cfg), CS_OK);
    for (int i = 0; i < 6; i++) {
        capture(f, "c2", false, 0);
        capture(f, "c2", true, 0);
    }
    capture(f, "c2", false, 0); /* ends down */
    /* ALERT_FLAP_CHANGES alerts, then one saying it flaps, then nothing */
    for (int i = 0; i < ALERT_FLAP_CHANGES; i++)
        strcat(want, i % 2 ? "camera_recovered:c2 " : "camera_down:c2 ");
    strcat(want, "flapping:- ");
    assert_string_equal(outbox(f), want);
    fake_now += ALERT_FLAP_SETTLE_MS + 1000;
    alerts_check(f->a, fake_now);
    strcat(want, "camera_down:c2 "); /* its state now (last told: back) */
    assert_string_equal(outbox(f), want);
    assert_non_null(strstr(last_col(f, "body"), "flapping"));
}

static struct store *open_store(struct fx *f)
{
    struct store *st;

    assert_int_equal(store_open(f->db, &st), CS_OK);
    return st;
}

static void add_stills(struct store *st, int first, int n, int64_t when)
{
    for (int i = first; i < first + n; i++) {
        char name[64];
        struct still_info si = {.filename = name, .camera_name = "c2", .local_path = "/x",
                                .capture_ms = when, .capture_iso = "2026-11-18T00:00:00Z",
                                .file_size = 1000, .width = 64, .height = 64};
        snprintf(name, sizeof(name), "camera_c2/s%d.jpg", i);
        assert_int_equal(store_add_still(st, &si, NULL), CS_OK);
    }
}

static void backlog_disk_and_upload_with_hysteresis(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);

    load(f, "webhook_url = http://127.0.0.1:9/hook\nbacklog_stills = 8\nbacklog_age = 1h\n"
            "disk_free_min = 1000GB\n");
    assert_int_equal(alerts_reconfigure(f->a, f->cfg), CS_OK);
    add_stills(st, 0, 9, fake_now - 2 * 3600 * 1000);
    alerts_check(f->a, fake_now);
    assert_string_equal(outbox(f), "backlog_high:- backlog_old:- disk_low:- ");
    assert_non_null(strstr(last_col(f, "body"), "disk_free_min"));
    /* 7 waiting: below 8, not below 80% of it: still high */
    for (int id = 1; id <= 2; id++)
        assert_int_equal(store_delivered(st, id, "u", fake_now), CS_OK);
    alerts_check(f->a, fake_now);
    assert_string_equal(outbox(f), "backlog_high:- backlog_old:- disk_low:- ");
    for (int id = 3; id <= 9; id++)
        assert_int_equal(store_delivered(st, id, "u", fake_now), CS_OK);
    load(f, "webhook_url = http://127.0.0.1:9/hook\nbacklog_stills = 8\ndisk_free_min = 1B\n");
    assert_int_equal(alerts_reconfigure(f->a, f->cfg), CS_OK);
    alerts_check(f->a, fake_now);
    assert_string_equal(outbox(f), "backlog_high:- backlog_old:- disk_low:- backlog_ok:- "
                                   "backlog_age_ok:- disk_ok:- ");
    /* the upload service refuses the key: needs a person */
    add_stills(st, 9, 1, fake_now);
    assert_int_equal(store_attempt_failed(st, 10, fake_now, fake_now + 60000, "attention",
                                          "HTTP 401: the API key is refused (Invalid JWT)"),
                     CS_OK);
    alerts_check(f->a, fake_now);
    assert_non_null(strstr(outbox(f), "upload_refused:-"));
    assert_non_null(strstr(last_col(f, "body"), "NEEDS A PERSON"));
    assert_int_equal(store_delivered(st, 10, "u", fake_now), CS_OK);
    alerts_check(f->a, fake_now);
    assert_non_null(strstr(outbox(f), "upload_refused:- upload_ok:-"));
    store_close(st);
}

static void no_channel_tracks_state_but_queues_nothing(void **state)
{
    struct fx *f = *state;

    load(f, "camera_down_after = 1\ndisk_free_min = 0\n");
    assert_int_equal(alerts_reconfigure(f->a, f->cfg), CS_OK);
    capture(f, "c1", false, 0);
    assert_string_equal(outbox(f), "");
    /* a channel set later does not hear of the old change again */
    load(f, "webhook_url = http://127.0.0.1:9/hook\ncamera_down_after = 1\ndisk_free_min = 0\n");
    assert_int_equal(alerts_reconfigure(f->a, f->cfg), CS_OK);
    capture(f, "c1", false, 0);
    assert_string_equal(outbox(f), "");
    capture(f, "c1", true, 0);
    assert_string_equal(outbox(f), "camera_recovered:c1 ");
}

static void report_counts_rounds_runs_and_stills(void **state)
{
    struct fx *f = *state;
    struct store *st = open_store(f);
    const char *cams[] = {"c1", "c2"};
    int64_t t0 = 1795000020000LL - 1795000020000LL % 60000, run;
    struct report r;
    struct report_params p = {.from_ms = t0, .to_ms = t0 + 10 * 60000, .now_ms = t0 + 3600000,
                              .interval_ms = 60000, .window = {.always = true},
                              .days = UNITS_ALL_DAYS, .cameras = cams, .n_cameras = 2};

    /* an agent ran for the first 4 minutes (rounds 0..3), then none ran */
    assert_int_equal(store_run_start(st, t0 - 500, 1, 1000, &run, NULL), CS_OK);
    assert_int_equal(store_run_stop(st, run, t0 + 3 * 60000 + 500), CS_OK);
    add_stills(st, 0, 2, t0);
    assert_int_equal(store_delivered(st, 1, "u", t0), CS_OK);
    for (int i = 0; i < 4; i++) {
        char name[64];
        struct store_round_result rr = {.round_ms = t0 + i * 60000, .camera = "c2",
                                        .captured = i < 2, .reason = "camera",
                                        .filename = name, .quality_flags = i == 1 ? 4 : 0};
        snprintf(name, sizeof(name), "camera_c2/s%d.jpg", i);
        if (i != 3) /* round 3 of c2: the agent was up, no result: skipped */
            assert_int_equal(store_round_result(st, &rr, t0), CS_OK);
    }
    assert_int_equal(report_compute(st, &p, &r), CS_OK);
    assert_int_equal(r.slots, 10);
    assert_int_equal(r.n_rows, 2);
    assert_string_equal(r.rows[0].camera, "c1"); /* nothing recorded: every slot missed */
    assert_int_equal(r.rows[0].missed_down, 6);
    assert_int_equal(r.rows[0].missed_skipped, 4);
    assert_int_equal(r.rows[1].expected, 10);
    assert_int_equal(r.rows[1].captured, 2);
    assert_int_equal(r.rows[1].failed, 1);
    assert_int_equal(r.rows[1].failed_by[REPORT_FAIL_CAMERA], 1);
    assert_int_equal(r.rows[1].missed_skipped, 1);
    assert_int_equal(r.rows[1].missed_down, 6);
    assert_int_equal(r.rows[1].flagged, 1);
    assert_int_equal(r.rows[1].delivered, 1);
    assert_int_equal(r.rows[1].pending, 1);
    assert_int_equal(r.total.expected, 20);
    assert_int_equal(r.uptime_ms, 3 * 60000 + 500);
    report_free(&r);
    store_close(st);
}

static void mail_message_is_crlf_with_headers(void **state)
{
    char body[3000], *m;
    struct alert_target t = {.mail_from = "cam@site.example", .mail_to = "a@x.example, b@y.example"};

    (void)state;
    memset(body, 'x', 2500);
    strcpy(body + 2500, "\n.dot line\n.\nend");
    m = alert_mail_message(&t, "[camsnap s] camera 1 down", body, "id.1", fake_now);
    assert_non_null(m);
    assert_non_null(strstr(m, "\r\nTo: a@x.example, b@y.example\r\n"));
    assert_non_null(strstr(m, "\r\nMessage-ID: <id.1@site.example>\r\n"));
    assert_non_null(strstr(m, "\r\nSubject: [camsnap s] camera 1 down\r\n"));
    assert_true(!strncmp(m, "Date: ", 6));
    assert_non_null(strstr(m, "\r\n.dot line\r\n.\r\nend\r\n"));
    for (char *p = m; (p = strchr(p, '\n')); p++)
        assert_int_equal(p[-1], '\r');
    for (char *p = m, *e; *p; p = e + 2) {
        e = strstr(p, "\r\n");
        assert_true(e - p <= 998);
    }
    free(m);
}

static void iso_times(void **state)
{
    int64_t t;

    (void)state;
    setenv("TZ", "Europe/Paris", 1);
    tzset();
    assert_int_equal(clock_parse_iso("2026-11-26", &t), 0);
    assert_int_equal(t, 1795647600000LL); /* 2026-11-25T23:00Z */
    assert_int_equal(clock_parse_iso("2026-11-26T11:30", &t), 0);
    assert_int_equal(t, 1795689000000LL);
    assert_int_equal(clock_parse_iso("2026-11-26T11:30:00+01:00", &t), 0);
    assert_int_equal(t, 1795689000000LL);
    assert_int_equal(clock_parse_iso("2026-11-26 10:30:00Z", &t), 0);
    assert_int_equal(t, 1795689000000LL);
    assert_int_equal(clock_parse_iso("2026-11-26T12:30:00+0200", &t), 0);
    assert_int_equal(t, 1795689000000LL);
    assert_int_equal(clock_parse_iso("2026-02-30", &t), -1);
    assert_int_equal(clock_parse_iso("2026-11-26T25:00", &t), -1);
    assert_int_equal(clock_parse_iso("26-11-2026", &t), -1);
    assert_int_equal(clock_parse_iso("2026-11-26T11:30+1", &t), -1);
    assert_int_equal(clock_parse_iso("2026-11-26x", &t), -1);
    setenv("TZ", "UTC", 1);
    tzset();
}

static void alert_config_is_validated(void **state)
{
    static const char *const bad[] = {
        "smtp_url = smtps://h.example\nmail_from = a@b.example\nmail_to = \"x\"@c.example",
        "smtp_url = smtp://h.example/path?q\nmail_from = a@b.example\nmail_to = c@d.example",
        "smtp_url = smtp://h.example\nmail_from = a@@b.example\nmail_to = c@d.example",
        "smtp_url = smtp://h.example\nmail_from = a@b.example\nmail_to = c@d..example",
        "smtp_url = smtp://h.example\nmail_from = a@b.example\nmail_to = c@d.example\n"
        "smtp_user = u",
        "mail_to = c@d.example",
        "webhook_url = ftp://h.example/x",
        "report = hourly",
    };
    struct fx *f = *state;
    char text[1024];
    struct config *cfg = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "[general]\nstate_dir = %s\n[alert]\n%s\n", f->dir, bad[i]);
        assert_int_equal(config_load_string(text, "t", NULL, NULL, &cfg), CS_CONFIG);
    }
    snprintf(text, sizeof(text),
             "[general]\nstate_dir = %s\n[alert]\nsmtp_url = smtps://h.example:465\n"
             "mail_from = cam@b.example\nmail_to = c@d.example , e.f+g@h-i.example\n"
             "report = daily\nsmtp_user = u\nsmtp_password = ${HOME}\n",
             f->dir);
    assert_int_equal(config_load_string(text, "t", NULL, stderr, &cfg), CS_OK);
    assert_int_equal(cfg->alert.report, ALERT_REPORT_DAILY);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(quality_black_and_frozen_raise_and_clear_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(camera_down_after_n_rounds_back_once_no_secret, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(states_survive_a_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(flapping_is_held_then_settles, setup, teardown),
        cmocka_unit_test_setup_teardown(backlog_disk_and_upload_with_hysteresis, setup, teardown),
        cmocka_unit_test_setup_teardown(no_channel_tracks_state_but_queues_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(report_counts_rounds_runs_and_stills, setup, teardown),
        cmocka_unit_test(mail_message_is_crlf_with_headers),
        cmocka_unit_test(iso_times),
        cmocka_unit_test_setup_teardown(alert_config_is_validated, setup, teardown),
    };

    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
