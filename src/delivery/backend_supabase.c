/*
 * backend_supabase.c - the Supabase backend: Storage objects and PostgREST rows over
 * one libcurl multi handle (connection reuse, keep-alive, bounded
 * concurrency). The wire protocol and the real service's answers are in
 * shared/SUPABASE.md; in short:
 *
 *   OBJECT  POST {url}/storage/v1/object/{bucket}/{path}, no upsert.
 *           200 = stored; HTTP 400 with statusCode "409" (KeyAlreadyExists)
 *           or a real 409 = already stored (a retry after a lost answer).
 *   VERIFY  GET {url}/storage/v1/object/authenticated/{bucket}/{path}:
 *           the stored bytes, hashed as they arrive (SHA-256; SUPABASE.md
 *           knows no checksum the service would give instead), when the key
 *           may read them (a SELECT policy, or service_role). Reading stops
 *           past our size plus a margin: the object is then not ours. Only
 *           transient answers are DL_RETRY; 501 is not: asking again would
 *           never help.
 *   ROW     POST {url}/rest/v1/{table}, Prefer: return=minimal.
 *           201 = inserted; 409 with code 23505 = already inserted.
 *
 * Every request sends Authorization: Bearer and apikey; neither ever
 * reaches a log line (the verbose callback drops both headers).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "hash.h"
#include "log.h"

#define RESPONSE_MAX (64 * 1024)

struct sb_req {
    CURL *easy;
    struct curl_slist *headers;
    struct dl_request *req;
    char *resp; /* the start of the answer, for classifying */
    size_t resp_len;
    struct hash_sha256 *hash; /* VERIFY: of every byte read */
    int64_t got;              /* VERIFY: bytes read */
    bool too_big;             /* VERIFY: stopped reading past req->len + RESPONSE_MAX */
    struct sb_req *next;      /* in sb->free_list, or in sb->in_flight */
};

struct sb {
    CURLM *multi;
    char *base_url;             /* without trailing '/' */
    char *key;                  /* secret; zeroed on free */
    char *bucket, *table, *ca_file;
    int image_url_public;
    long connect_timeout_ms, timeout_ms;
    struct sb_req *free_list;
    struct sb_req *in_flight; /* transfers added to the multi handle */
    int active;               /* how many */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void);

void supabase_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- classification (pure) ------------------------------------------------ */

struct body_info {
    bool array;                 /* the body is a JSON array */
    char status_code[16];       /* Storage's string statusCode, "" if none */
    char code[48];              /* Storage code / PostgREST SQLSTATE or PGRST code */
    char message[200];
    char key[512];    /* Storage's success: "Key" = bucket/path, "" if none */
    bool error_shape; /* an error envelope: statusCode, error, or code with a message */
};

static void copy_string(json_t *root, const char *name, char *out, size_t outsz)
{
    json_t *v = json_object_get(root, name);

    if (v && json_is_string(v))
        snprintf(out, outsz, "%s", json_string_value(v));
}

static void read_body(const char *body, size_t len, struct body_info *bi)
{
    json_t *root, *v;

    memset(bi, 0, sizeof(*bi));
    if (!body || !len || !(root = json_loadb(body, len, 0, NULL)))
        return;
    bi->array = json_is_array(root);
    if (json_is_object(root)) {
        if ((v = json_object_get(root, "statusCode")) && json_is_string(v))
            snprintf(bi->status_code, sizeof(bi->status_code), "%s", json_string_value(v));
        else if (v && json_is_integer(v))
            snprintf(bi->status_code, sizeof(bi->status_code), "%lld",
                     (long long)json_integer_value(v));
        copy_string(root, "code", bi->code, sizeof(bi->code));
        copy_string(root, "message", bi->message, sizeof(bi->message));
        if (!bi->message[0])
            copy_string(root, "error", bi->message, sizeof(bi->message));
        copy_string(root, "Key", bi->key, sizeof(bi->key));
        bi->error_shape = json_object_get(root, "statusCode") || json_object_get(root, "error") ||
                          (json_object_get(root, "code") && json_object_get(root, "message"));
    }
    json_decref(root);
}

/* The class of an HTTP-like status number. */
static enum dl_class class_of(long s)
{
    if (s >= 200 && s < 300)
        return DL_OK;
    if (s == 409)
        return DL_EXISTS;
    if (s == 408 || s == 429 || s >= 500)
        return DL_RETRY;
    if (s == 413 || s == 415)
        return DL_PERMANENT;
    return DL_ATTENTION;
}

/* The class of a PostgREST error code found in a 2xx body. */
static enum dl_class class_of_pg(const char *code)
{
    if (!strcmp(code, "23505"))
        return DL_EXISTS;
    if (!strncmp(code, "08", 2) || !strncmp(code, "53", 2) || !strncmp(code, "57", 2) ||
        !strcmp(code, "PGRST000") || !strcmp(code, "PGRST001") || !strcmp(code, "PGRST002") ||
        !strcmp(code, "PGRST003"))
        return DL_RETRY;
    return DL_ATTENTION;
}

static const char *step_name(enum dl_step step)
{
    return step == DL_STEP_OBJECT ? "storing the object"
           : step == DL_STEP_ROW  ? "inserting the row"
                                  : "reading the stored object back";
}

static bool is_2xx(long http)
{
    return http >= 200 && http < 300;
}

/* Storage (OBJECT, VERIFY): the class and the envelope's inner status. Most
 * errors come as HTTP 400 with the real status in the body; a 2xx whose
 * body is an error envelope is that error (it says failure). */
static enum dl_class storage_class(enum dl_step step, long http, const struct body_info *bi,
                                   long *inner, const char **why)
{
    enum dl_class cls = class_of(http);

    *inner = 0;
    if ((http == 400 || is_2xx(http)) && bi->status_code[0]) {
        *inner = strtol(bi->status_code, NULL, 10);
        cls = *inner == 23505 ? DL_EXISTS : class_of(*inner);
    }
    if (is_2xx(http) && bi->error_shape && !bi->key[0]) {
        *why = "a success status whose body says failure";
        if (cls == DL_OK)
            cls = DL_ATTENTION; /* it does not say which: a person looks */
    }
    if (step == DL_STEP_VERIFY && (http == 501 || *inner == 501))
        cls = DL_ATTENTION; /* the server does not read objects here: not transient */
    return cls;
}

/* Storage's documented success for an upload: HTTP 200 with a JSON object
 * whose "Key" is bucket/path. Anything else may or may not have stored the
 * object: retried (the retry meets "already exists" if it did). */
static enum dl_class object_success(long http, const struct body_info *bi, const struct dl_where *w,
                                    const char **why)
{
    char want[600];

    if (http != 200 && http != 201) {
        *why = "not Storage's success status (200)";
        return DL_RETRY;
    }
    if (!bi->key[0]) {
        *why = "the answer has no Key: not Storage's success; it is tried again";
        return DL_RETRY;
    }
    if (w && w->bucket && w->path) {
        snprintf(want, sizeof(want), "%s/%s", w->bucket, w->path);
        if (strcmp(bi->key, want)) {
            *why = "the server stored it under another Key";
            return DL_ATTENTION;
        }
    }
    return DL_OK;
}

/* PostgREST: 201 (empty with return=minimal, an array with representation)
 * inserted; 409 with 23505 already inserted; a 2xx whose body is an error
 * ({"code":...,"message":...}) is that error. */
static enum dl_class row_class(long http, const struct body_info *bi, size_t len, const char **why)
{
    if (is_2xx(http) && bi->error_shape && bi->code[0]) {
        *why = "a success status whose body says failure";
        return class_of_pg(bi->code);
    }
    if (is_2xx(http) && (http != 201 || (len && !bi->array))) {
        *why = "not PostgREST's answer to an insert (201); it is tried again";
        return DL_RETRY;
    }
    if (http == 409 && strcmp(bi->code, "23505") != 0)
        return DL_ATTENTION; /* a conflict that is not our duplicate (23503) */
    return class_of(http);
}

/* Appends to r->message. */
static void add_message(struct dl_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_message(struct dl_result *r, const char *fmt, ...)
{
    size_t n = strlen(r->message);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->message + n, sizeof(r->message) - n, fmt, ap);
    va_end(ap);
}

/* What a person should do about a failure that needs one (SUPABASE.md
 * 1.3, 1.5, 1.8), naming the bucket or table; "" when nothing specific. */
static void add_action(struct dl_result *r, enum dl_step step, const struct dl_where *w, long http,
                       long inner, const struct body_info *bi)
{
    const char *b = w && w->bucket ? w->bucket : "(unknown)";
    const char *t = w && w->table ? w->table : "(unknown)";
    bool auth = http == 401 || http == 403 || inner == 401 || inner == 403 ||
                !strcmp(bi->code, "InvalidRequest");
    bool rls = strstr(bi->message, "row-level security") != NULL;

    if (step == DL_STEP_OBJECT) {
        if (!strcmp(bi->code, "NoSuchBucket") || strstr(bi->message, "Bucket not found"))
            add_message(r,
                        " - bucket \"%s\" does not exist in this project: create it in "
                        "Supabase Storage, or set [upload] bucket",
                        b);
        else if (rls)
            add_message(r,
                        " - row-level security refused the upload: give the API key's role "
                        "an INSERT policy on storage.objects for bucket \"%s\"",
                        b);
        else if (auth)
            add_message(r,
                        " - Storage refused the API key (bucket \"%s\"): check [upload] key "
                        "or key_file (this project's anon or service key)",
                        b);
        else if (inner == 413 || http == 413)
            add_message(r,
                        " - bucket \"%s\" takes no object this large: raise its file size "
                        "limit",
                        b);
        else if (inner == 415 || http == 415)
            add_message(r,
                        " - bucket \"%s\" does not take this type: allow image/jpeg in its "
                        "allowed MIME types",
                        b);
    } else if (step == DL_STEP_ROW) {
        if (!strcmp(bi->code, "42501") || rls)
            add_message(r,
                        " - the API key's role may not insert into table \"%s\": give it an "
                        "INSERT policy (row-level security) and the INSERT grant",
                        t);
        else if (auth || !strncmp(bi->code, "PGRST3", 6))
            add_message(r,
                        " - the REST API refused the API key (table \"%s\"): check [upload] "
                        "key or key_file (this project's anon or service key)",
                        t);
        else if (!strcmp(bi->code, "PGRST205") || http == 404)
            add_message(r,
                        " - table \"%s\" does not exist or is not exposed: create it, or "
                        "set [upload] table",
                        t);
        else if (!strcmp(bi->code, "PGRST204") || !strcmp(bi->code, "42703"))
            add_message(r,
                        " - table \"%s\" lacks a column camsnap sends (image_id, image_url, "
                        "camera_name, restaurant_id, capture_timestamp, resolution, "
                        "file_size_kb): add it",
                        t);
        else
            add_message(r,
                        " - table \"%s\" refused the row: check its columns and "
                        "constraints",
                        t);
    }
}

void supabase_classify(enum dl_step step, const struct dl_where *w, long http, const char *body,
                     size_t len, struct dl_result *r)
{
    struct body_info bi;
    const char *why = NULL;
    long inner = 0;

    if (!body)
        len = 0;
    read_body(body, len, &bi);
    r->http_status = http;
    if (step == DL_STEP_ROW)
        r->cls = row_class(http, &bi, len, &why);
    else
        r->cls = storage_class(step, http, &bi, &inner, &why);
    if (step == DL_STEP_OBJECT && r->cls == DL_OK)
        r->cls = object_success(http, &bi, w, &why);
    snprintf(r->message, sizeof(r->message), "%s: HTTP %ld", step_name(step), http);
    if ((r->cls == DL_OK || r->cls == DL_EXISTS) && !why)
        return;
    if (bi.status_code[0] || bi.code[0] || bi.message[0])
        add_message(r, " (%s%s%s%s%s%.160s)", bi.status_code[0] ? "statusCode " : "",
                    bi.status_code, bi.code[0] ? (bi.status_code[0] ? " " : "") : "", bi.code,
                    bi.message[0] ? ": " : "", bi.message);
    if (why)
        add_message(r, ": %s", why);
    if (why && bi.key[0] && r->cls == DL_ATTENTION && w && w->bucket && w->path)
        add_message(r, " (%.100s, not %s/%s)", bi.key, w->bucket, w->path);
    else if (r->cls == DL_ATTENTION || r->cls == DL_PERMANENT)
        add_action(r, step, w, http, inner, &bi);
}

/* ---- requests -------------------------------------------------------------- */

static size_t on_response(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sb_req *q = ud;
    size_t n = size * nmemb, room = RESPONSE_MAX - q->resp_len;

    if (q->req->step == DL_STEP_VERIFY) {
        q->got += (int64_t)(size * nmemb);
        if (q->got > (int64_t)q->req->len + RESPONSE_MAX) {
            q->too_big = true; /* not ours, whatever follows */
            return 0;
        }
        hash_sha256_update(q->hash, ptr, size * nmemb);
    }
    if (n > room)
        n = room; /* only the start of an answer matters for classifying */
    memcpy(q->resp + q->resp_len, ptr, n);
    q->resp_len += n;
    return size * nmemb;
}

/* Verbose output at debug level, without Authorization or apikey values. */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    char line[512];
    size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;

    (void)h;
    (void)ud;
    if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
        return 0;
    memcpy(line, data, n);
    line[n] = '\0';
    for (char *p = line; *p;) {
        size_t len = strcspn(p, "\r\n");
        char *next = p + len + strspn(p + len, "\r\n");
        p[len] = '\0';
        if (len && strncasecmp(p, "authorization:", 14) && strncasecmp(p, "apikey:", 7))
            log_debug(NULL, "curl %s %s", type == CURLINFO_HEADER_OUT ? ">" : "<", p);
        p = next;
    }
    return 0;
}

static void free_req(struct sb_req *q)
{
    curl_easy_cleanup(q->easy);
    free(q->resp);
    hash_sha256_free(q->hash);
    free(q);
}

static struct sb_req *get_req(struct sb *sb)
{
    struct sb_req *q = sb->free_list;

    if (q) {
        sb->free_list = q->next;
        curl_easy_reset(q->easy);
        q->resp_len = 0;
        return q;
    }
    if (!(q = calloc(1, sizeof(*q))))
        return NULL;
    q->easy = curl_easy_init();
    q->resp = malloc(RESPONSE_MAX);
    q->hash = hash_sha256_new();
    if (!q->easy || !q->resp || !q->hash) {
        free_req(q);
        return NULL;
    }
    return q;
}

static void put_req(struct sb *sb, struct sb_req *q)
{
    curl_slist_free_all(q->headers);
    q->headers = NULL;
    q->req = NULL;
    q->next = sb->free_list;
    sb->free_list = q;
}

/* Takes q off the in-flight list and the multi handle (which aborts it if
 * it is still running), and makes it free. */
static void finish_req(struct sb *sb, struct sb_req *q)
{
    for (struct sb_req **p = &sb->in_flight; *p; p = &(*p)->next) {
        if (*p == q) {
            *p = q->next;
            break;
        }
    }
    curl_multi_remove_handle(sb->multi, q->easy);
    sb->active--;
    put_req(sb, q);
}

/* Appends "/seg" for each '/'-separated segment of path, percent-encoded. */
static int append_path(CURL *c, char *url, size_t sz, const char *path)
{
    size_t n = strlen(url);

    while (*path) {
        size_t seg = strcspn(path, "/");
        char *esc = curl_easy_escape(c, path, (int)seg);
        int w = esc ? snprintf(url + n, sz - n, "/%s", esc) : -1;
        curl_free(esc);
        if (w < 0 || (size_t)w >= sz - n)
            return -1;
        n += (size_t)w;
        path += seg + (path[seg] == '/');
    }
    return 0;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
    char h[2048];
    int w = snprintf(h, sizeof(h), "%s: %s", name, value);
    /* A header that does not fit is left out: the request fails visibly. */
    struct curl_slist *n = w > 0 && (size_t)w < sizeof(h) ? curl_slist_append(l, h) : l;
    explicit_bzero(h, sizeof(h));
    return n;
}

static int build_url(struct sb *sb, struct sb_req *q, char *url, size_t sz)
{
    const struct dl_request *r = q->req;
    const char *prefix = r->step == DL_STEP_ROW      ? "/rest/v1"
                         : r->step == DL_STEP_VERIFY ? "/storage/v1/object/authenticated"
                                                     : "/storage/v1/object";

    if (snprintf(url, sz, "%s%s", sb->base_url, prefix) >= (int)sz)
        return -1;
    if (r->step == DL_STEP_ROW)
        return append_path(q->easy, url, sz, sb->table);
    if (append_path(q->easy, url, sz, sb->bucket))
        return -1;
    return append_path(q->easy, url, sz, r->path);
}

static void set_body(struct sb_req *q)
{
    const struct dl_request *r = q->req;
    CURL *c = q->easy;

    if (r->step == DL_STEP_VERIFY) {
        char sha[HASH_HEX_LEN + 1];
        hash_sha256_final_hex(q->hash, sha); /* starts it over */
        q->got = 0;
        q->too_big = false;
        return; /* a GET */
    }
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (r->step == DL_STEP_OBJECT) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)r->data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
        q->headers = add_header(q->headers, "Content-Type", r->content_type);
        q->headers = add_header(q->headers, "x-upsert", "false");
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->row_json);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->row_json));
        q->headers = add_header(q->headers, "Content-Type", "application/json");
        q->headers = add_header(q->headers, "Prefer", "return=minimal");
    }
}

static enum cs_err sb_start(void *state, struct dl_request *req)
{
    struct sb *sb = state;
    struct sb_req *q = get_req(sb);
    char url[2048], bearer[1024];
    CURL *c;

    if (!q)
        return CS_NOMEM;
    q->req = req;
    c = q->easy;
    if (build_url(sb, q, url, sizeof(url))) {
        put_req(sb, q);
        return CS_TOOBIG;
    }
    snprintf(bearer, sizeof(bearer), "Bearer %s", sb->key);
    q->headers = add_header(NULL, "Authorization", bearer);
    explicit_bzero(bearer, sizeof(bearer));
    q->headers = add_header(q->headers, "apikey", sb->key);
    q->headers = curl_slist_append(q->headers, "Expect:");
    set_body(q);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->headers);
    curl_easy_setopt(c, CURLOPT_PRIVATE, q);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, sb->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, sb->timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, sb->connect_timeout_ms / 1000 + 1);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_response);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "camsnap/" CAMSNAP_VERSION);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    if (sb->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, sb->ca_file);
    if (log_get_level() >= LOG_LEVEL_DEBUG) {
        curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    }
    if (curl_multi_add_handle(sb->multi, c) != CURLM_OK) {
        put_req(sb, q);
        return CS_NOMEM;
    }
    q->next = sb->in_flight;
    sb->in_flight = q;
    sb->active++;
    return CS_OK;
}

/* Builds the result of a finished transfer. */
static void result_of(struct sb *sb, struct sb_req *q, CURLcode cc, struct dl_result *r)
{
    long http = 0;
    curl_off_t retry_after = 0;

    memset(r, 0, sizeof(*r));
    r->remote_size = -1;
    curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &http);
    if (cc == CURLE_WRITE_ERROR && q->too_big) {
        r->cls = DL_OK; /* read far enough: more than our bytes */
        r->http_status = http;
        r->remote_size = q->got;
        snprintf(r->message, sizeof(r->message), "%s: HTTP %ld, more than %zu bytes",
                 step_name(q->req->step), http, q->req->len);
        return;
    }
    if (cc != CURLE_OK) {
        r->cls = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE
                     ? DL_ATTENTION
                     : DL_RETRY;
        r->http_status = http;
        snprintf(r->message, sizeof(r->message), "%s: %s", step_name(q->req->step),
                 curl_easy_strerror(cc));
        return;
    }
    struct dl_where w = {.bucket = sb->bucket, .table = sb->table, .path = q->req->path};

    supabase_classify(q->req->step, &w, http, q->resp, q->resp_len, r);
    if (curl_easy_getinfo(q->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
        retry_after > 0)
        r->retry_after_ms = (int64_t)retry_after * 1000;
    /* Only a whole 200 holds the object (a 206 or 204 from a proxy does not). */
    if (q->req->step == DL_STEP_VERIFY && http == 200 && r->cls == DL_OK) {
        r->remote_size = q->got;
        hash_sha256_final_hex(q->hash, r->remote_sha256);
    }
}

static int sb_poll(void *state, int timeout_ms, backend_done_fn done, void *ctx)
{
    struct sb *sb = state;
    int running = 0, left, finished = 0;
    CURLMsg *m;

    curl_multi_perform(sb->multi, &running);
    /* Wait only when nothing has finished yet: transfers that completed in
     * the perform above are read at once, not after the timeout. */
    if (running == sb->active && (running || timeout_ms > 0))
        curl_multi_poll(sb->multi, NULL, 0, timeout_ms, NULL);
    curl_multi_perform(sb->multi, &running);
    while ((m = curl_multi_info_read(sb->multi, &left))) {
        struct sb_req *q;
        struct dl_result r;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        result_of(sb, q, m->data.result, &r);
        struct dl_request *req = q->req;
        finish_req(sb, q);
        done(ctx, req, &r);
        finished++;
    }
    return finished;
}

static void sb_wakeup(void *state)
{
    struct sb *sb = state;

    curl_multi_wakeup(sb->multi);
}

static void sb_cancel(void *state)
{
    struct sb *sb = state;

    while (sb->in_flight)
        finish_req(sb, sb->in_flight);
}

static void sb_object_url(void *state, const char *path, char *out, size_t outsz)
{
    struct sb *sb = state;

    if (sb->image_url_public)
        snprintf(out, outsz, "%s/storage/v1/object/public/%s/%s", sb->base_url, sb->bucket, path);
    else
        snprintf(out, outsz, "%s/%s", sb->bucket, path);
}

static void sb_free(void *state)
{
    struct sb *sb = state;

    if (!sb)
        return;
    sb_cancel(sb);
    while (sb->free_list) {
        struct sb_req *q = sb->free_list;
        sb->free_list = q->next;
        free_req(q);
    }
    curl_multi_cleanup(sb->multi);
    if (sb->key) {
        explicit_bzero(sb->key, strlen(sb->key));
        free(sb->key);
    }
    free(sb->base_url);
    free(sb->bucket);
    free(sb->table);
    free(sb->ca_file);
    free(sb);
}

enum cs_err backend_supabase_new(const struct config_upload *cfg, void **state, char *err,
                                 size_t errsz)
{
    struct sb *sb;
    size_t n;

    pthread_once(&curl_once, curl_init_once);
    if (!cfg->url || !cfg->key) {
        snprintf(err, errsz, "[upload] backend = supabase needs url and key (or key_file)");
        return CS_CONFIG;
    }
    if (!(sb = calloc(1, sizeof(*sb))))
        return CS_NOMEM;
    sb->multi = curl_multi_init();
    sb->base_url = strdup(cfg->url);
    sb->key = strdup(cfg->key);
    sb->bucket = strdup(cfg->bucket ? cfg->bucket : "ASE");
    sb->table = strdup(cfg->table ? cfg->table : "ASE_Snapshot");
    sb->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
    if (!sb->multi || !sb->base_url || !sb->key || !sb->bucket || !sb->table ||
        (cfg->ca_file && !sb->ca_file)) {
        sb_free(sb);
        return CS_NOMEM;
    }
    n = strlen(sb->base_url);
    while (n > 0 && sb->base_url[n - 1] == '/')
        sb->base_url[--n] = '\0';
    sb->image_url_public = cfg->image_url == IMAGE_URL_PUBLIC;
    sb->connect_timeout_ms = (long)cfg->connect_timeout_ms;
    sb->timeout_ms = (long)cfg->timeout_ms;
    curl_multi_setopt(sb->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->concurrency);
    curl_multi_setopt(sb->multi, CURLMOPT_MAXCONNECTS, (long)cfg->concurrency);
    *state = sb;
    return CS_OK;
}

const struct backend_ops backend_supabase_ops = {
    .name = "supabase",
    .start = sb_start,
    .poll = sb_poll,
    .wakeup = sb_wakeup,
    .cancel = sb_cancel,
    .object_url = sb_object_url,
    .free = sb_free,
};
