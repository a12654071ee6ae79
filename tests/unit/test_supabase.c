/* test_supabase.c - supabase_classify(): every answer of the real Supabase
 * Storage and PostgREST (shared/SUPABASE.md sections 1.3 and 1.8), by HTTP
 * status AND body (success only in the documented shape), the answers to
 * the size check (HEAD), and its robustness against odd bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define OBJ DL_STEP_OBJECT
#define ROW DL_STEP_ROW
#define HEAD DL_STEP_VERIFY

/* Where the answers of the tables below come from. */
static const struct dl_where here = {
    .bucket = "ASE", .table = "ASE_Snapshot", .path = "camera_27/20261126_113000_2592_1944.jpg"};

struct answer {
    enum dl_step step;
    long http;
    const char *body;           /* NULL: no body */
    enum dl_class want;
    const char *must[3];        /* substrings the message must contain (error classes) */
};

/* clang-format off */
static const struct answer storage[] = {
    /* 1, 3, 4: stored */
    {OBJ, 200, "{\"Key\":\"ASE/camera_27/20261126_113000_2592_1944.jpg\","
               "\"Id\":\"e2f7c044-af9d-4855-85de-9bc163cb7268\"}", DL_OK, {0}},
    {OBJ, 200, "{\"Key\":\"ASE/camera_27/20261126_113000_2592_1944.jpg\"}", DL_OK, {0}},
    /* a 200 that is not Storage's success: no Key, or a body that says failure */
    {OBJ, 200, "", DL_RETRY, {"HTTP 200", "no Key"}},
    {OBJ, 200, "{\"Key\":\"ASE/camera_27/20261126_113000_2592_1944.jpg\"", DL_RETRY, {"no Key"}},
    {OBJ, 200, "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"new row "
               "violates row-level security policy\",\"code\":\"AccessDenied\"}", DL_ATTENTION,
     {"HTTP 200", "row-level security policy", "says failure"}},
    {OBJ, 200, "{\"error\":\"Internal\",\"message\":\"something broke\"}", DL_ATTENTION,
     {"something broke", "says failure"}},
    {OBJ, 200, "{\"statusCode\":\"503\",\"error\":\"LockTimeout\",\"message\":\"Resource "
               "is locked\"}", DL_RETRY, {"503", "Resource is locked", "says failure"}},
    /* 2: duplicate without upsert = already stored */
    {OBJ, 400, "{\"statusCode\":\"409\",\"error\":\"Duplicate\",\"message\":\"The resource already "
               "exists\",\"code\":\"KeyAlreadyExists\"}", DL_EXISTS, {0}},
    {OBJ, 400, "{\"statusCode\":\"409\",\"error\":\"Duplicate\",\"message\":\"The resource already "
               "exists\"}", DL_EXISTS, {0}},
    /* a real 409 (TUS, proxies), JSON or text/plain */
    {OBJ, 409, "{\"statusCode\":\"409\",\"error\":\"Duplicate\",\"message\":\"The resource already "
               "exists\",\"code\":\"KeyAlreadyExists\"}", DL_EXISTS, {0}},
    {OBJ, 409, "The resource already exists", DL_EXISTS, {0}},
    /* old servers: 23505 */
    {OBJ, 400, "{\"statusCode\":\"23505\",\"error\":\"Key (bucket_id, name)=(ASE, camera_27/x.jpg) "
               "already exists.\",\"message\":\"duplicate key value violates unique constraint "
               "\\\"bucketid_objname\\\"\"}", DL_EXISTS, {0}},
    /* 6, 7, 8b, 10: a person must fix the key or the policies */
    {OBJ, 400, "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"signature "
               "verification failed\",\"code\":\"AccessDenied\"}", DL_ATTENTION,
     {"403", "AccessDenied", "signature verification failed"}},
    {OBJ, 400, "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"\\\"exp\\\" claim "
               "timestamp check failed\",\"code\":\"AccessDenied\"}", DL_ATTENTION,
     {"403", "AccessDenied", "\"exp\" claim timestamp check failed"}},
    {OBJ, 400, "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"Invalid Compact "
               "JWS\",\"code\":\"AccessDenied\"}", DL_ATTENTION, {"403", "Invalid Compact JWS"}},
    {OBJ, 400, "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"new row violates "
               "row-level security policy\",\"code\":\"AccessDenied\"}", DL_ATTENTION,
     {"403", "AccessDenied", "row-level security policy"}},
    /* 8: no Authorization header */
    {OBJ, 400, "{\"statusCode\":\"400\",\"error\":\"Error\",\"message\":\"headers must have "
               "required property 'authorization'\",\"code\":\"InvalidRequest\"}", DL_ATTENTION,
     {"InvalidRequest", "required property 'authorization'"}},
    /* 9, 22: no such bucket */
    {OBJ, 400, "{\"statusCode\":\"404\",\"error\":\"Bucket not found\",\"message\":\"Bucket not "
               "found\",\"code\":\"NoSuchBucket\"}", DL_ATTENTION,
     {"404", "NoSuchBucket", "Bucket not found"}},
    /* 14, 15: never for this still */
    {OBJ, 400, "{\"statusCode\":\"413\",\"error\":\"Payload too large\",\"message\":\"The object "
               "exceeded the maximum allowed size\",\"code\":\"EntityTooLarge\"}", DL_PERMANENT,
     {"413", "EntityTooLarge", "maximum allowed size"}},
    {OBJ, 400, "{\"statusCode\":\"415\",\"error\":\"invalid_mime_type\",\"message\":\"mime type "
               "image/png is not supported\",\"code\":\"InvalidMimeType\"}", DL_PERMANENT,
     {"415", "InvalidMimeType", "image/png is not supported"}},
    /* overload and timeouts: try again */
    {OBJ, 429, "{\"statusCode\":\"429\",\"error\":\"too_many_connections\",\"code\":\"SlowDown\","
               "\"message\":\"Too many connections issued to the database\"}", DL_RETRY,
     {"HTTP 429", "SlowDown", "Too many connections"}},
    {OBJ, 544, "{\"statusCode\":\"544\",\"error\":\"DatabaseTimeout\",\"code\":\"DatabaseTimeout\","
               "\"message\":\"timeout acquiring a connection\"}", DL_RETRY,
     {"HTTP 544", "DatabaseTimeout"}},
    {OBJ, 544, NULL, DL_RETRY, {"HTTP 544"}},
    {OBJ, 400, "{\"statusCode\":\"503\",\"error\":\"LockTimeout\",\"message\":\"Resource is "
               "locked, timeout reached\",\"code\":\"LockTimeout\"}", DL_RETRY,
     {"503", "LockTimeout", "Resource is locked"}},
    {OBJ, 400, "{\"statusCode\":\"429\",\"error\":\"too_many_requests\",\"message\":\"Too many "
               "requests\",\"code\":\"SlowDown\"}", DL_RETRY, {"429", "SlowDown"}},
    {OBJ, 500, "{\"statusCode\":\"500\",\"error\":\"Internal\",\"message\":\"Internal Server "
               "Error\",\"code\":\"InternalError\"}", DL_RETRY, {"HTTP 500", "InternalError"}},
    {OBJ, 500, "Internal Server Error", DL_RETRY, {"HTTP 500"}},
    {OBJ, 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", DL_RETRY, {"HTTP 502"}},
    {OBJ, 503, "upstream connect error or disconnect/reset before headers", DL_RETRY,
     {"HTTP 503"}},
    {OBJ, 504, "<html><head><title>504 Gateway Time-out</title></head></html>", DL_RETRY,
     {"HTTP 504"}},
    {OBJ, 408, "Request Timeout", DL_RETRY, {"HTTP 408"}},
    /* a cut-off envelope must not be read as "exists" */
    {OBJ, 400, "{\"statusCode\":\"409\",\"error\":\"Dupl", DL_ATTENTION, {"HTTP 400"}},
    {OBJ, 400, "Bad Request", DL_ATTENTION, {"HTTP 400"}},
};

static const struct answer rest[] = {
    {ROW, 201, "", DL_OK, {0}},
    {ROW, 201, NULL, DL_OK, {0}},
    {ROW, 201, "[]", DL_OK, {0}},
    {ROW, 201, "[{\"image_id\":\"f3c1e303-7a22-5bca-8681-ea931b62ff20\"}]", DL_OK, {0}},
    /* not PostgREST's answer to an insert: tried again (a retry meets 23505) */
    {ROW, 200, "", DL_RETRY, {"HTTP 200", "201"}},
    {ROW, 204, NULL, DL_RETRY, {"HTTP 204"}},
    {ROW, 201, "[{\"image_id\":", DL_RETRY, {"HTTP 201", "tried again"}},
    /* a success status whose body is an error: that error */
    {ROW, 200, "{\"code\":\"42501\",\"details\":null,\"hint\":null,\"message\":\"new row "
               "violates row-level security policy for table \\\"ASE_Snapshot\\\"\"}",
     DL_ATTENTION, {"42501", "row-level security policy", "says failure"}},
    {ROW, 201, "{\"code\":\"PGRST001\",\"details\":null,\"hint\":null,\"message\":\"Database "
               "client error\"}", DL_RETRY, {"PGRST001", "says failure"}},
    {ROW, 200, "{\"code\":\"23505\",\"details\":null,\"hint\":null,\"message\":\"duplicate "
               "key value violates unique constraint\"}", DL_EXISTS, {0}},
    {ROW, 409, "{\"code\":\"23505\",\"details\":\"Key (image_id)=(f3c1e303-7a22-5bca-8681-"
               "ea931b62ff20) already exists.\",\"hint\":null,\"message\":\"duplicate key value "
               "violates unique constraint \\\"ASE_Snapshot_pkey\\\"\"}", DL_EXISTS, {0}},
    {ROW, 409, "{\"code\":\"23503\",\"details\":\"Key (restaurant_id)=(store-001) is not present "
               "in table \\\"restaurants\\\".\",\"hint\":null,\"message\":\"insert or update on "
               "table \\\"ASE_Snapshot\\\" violates foreign key constraint\"}", DL_ATTENTION,
     {"HTTP 409", "23503", "violates foreign key constraint"}},
    {ROW, 409, "", DL_ATTENTION, {"HTTP 409"}},
    {ROW, 401, "{\"code\":\"42501\",\"details\":null,\"hint\":null,\"message\":\"new row violates "
               "row-level security policy for table \\\"ASE_Snapshot\\\"\"}", DL_ATTENTION,
     {"HTTP 401", "42501", "row-level security policy"}},
    {ROW, 401, "{\"code\":\"PGRST301\",\"details\":\"None of the keys was able to decode the "
               "JWT\",\"hint\":null,\"message\":\"JWSError JWSInvalidSignature\"}", DL_ATTENTION,
     {"HTTP 401", "PGRST301", "JWSInvalidSignature"}},
    {ROW, 403, "{\"code\":\"42501\",\"details\":null,\"hint\":null,\"message\":\"permission "
               "denied for table ASE_Snapshot\"}", DL_ATTENTION,
     {"HTTP 403", "42501", "permission denied"}},
    {ROW, 404, "{\"code\":\"PGRST205\",\"details\":null,\"hint\":\"Perhaps you meant the table "
               "'public.ase_snapshot'\",\"message\":\"Could not find the table "
               "'public.ASE_Snapshot' in the schema cache\"}", DL_ATTENTION,
     {"HTTP 404", "PGRST205", "schema cache"}},
    {ROW, 400, "{\"code\":\"PGRST204\",\"details\":null,\"hint\":null,\"message\":\"Could not "
               "find the 'file_size' column of 'ASE_Snapshot' in the schema cache\"}",
     DL_ATTENTION, {"HTTP 400", "PGRST204", "'file_size' column"}},
    {ROW, 400, "{\"code\":\"23502\",\"details\":null,\"hint\":null,\"message\":\"null value in "
               "column \\\"image_url\\\" violates not-null constraint\"}", DL_ATTENTION,
     {"23502", "not-null"}},
    /* a Storage-style envelope means nothing to PostgREST's classification */
    {ROW, 400, "{\"statusCode\":\"409\",\"code\":\"KeyAlreadyExists\"}", DL_ATTENTION,
     {"HTTP 400"}},
    {ROW, 503, "{\"code\":\"PGRST001\",\"details\":\"connection refused\",\"hint\":null,"
               "\"message\":\"Database client error. Retrying the connection.\"}", DL_RETRY,
     {"HTTP 503", "PGRST001", "Database client error"}},
    {ROW, 504, "{\"code\":\"PGRST003\",\"details\":null,\"hint\":null,\"message\":\"Timed out "
               "acquiring connection from connection pool.\"}", DL_RETRY,
     {"HTTP 504", "PGRST003", "Timed out"}},
    {ROW, 503, "<html>Service Unavailable</html>", DL_RETRY, {"HTTP 503"}},
    {ROW, 429, NULL, DL_RETRY, {"HTTP 429"}},
};

/* The size check after "already exists" (HEAD: no body). Only transient
 * answers may be DL_RETRY: the delivery engine retries those a bounded number
 * of times and takes every other answer for "size unknown". */
static const struct answer verify[] = {
    {HEAD, 200, NULL, DL_OK, {0}},
    {HEAD, 204, NULL, DL_OK, {0}},  /* no size: the engine reads only a 200's */
    /* cannot be answered here: never transient */
    {HEAD, 501, NULL, DL_ATTENTION, {"HTTP 501"}},
    {HEAD, 501, "<html><body><h1>501 Not Implemented</h1></body></html>", DL_ATTENTION,
     {"HTTP 501"}},
    {HEAD, 405, NULL, DL_ATTENTION, {"HTTP 405"}},
    {HEAD, 400, NULL, DL_ATTENTION, {"HTTP 400"}},  /* Storage, RLS hiding the object */
    {HEAD, 401, NULL, DL_ATTENTION, {"HTTP 401"}},
    {HEAD, 403, NULL, DL_ATTENTION, {"HTTP 403"}},
    {HEAD, 404, NULL, DL_ATTENTION, {"HTTP 404"}},
    {HEAD, 410, NULL, DL_ATTENTION, {"HTTP 410"}},
    {HEAD, 302, NULL, DL_ATTENTION, {"HTTP 302"}},
    {HEAD, 400, "{\"statusCode\":\"404\",\"error\":\"not_found\",\"message\":\"Object not "
                "found\",\"code\":\"NoSuchKey\"}", DL_ATTENTION, {"404", "NoSuchKey"}},
    {HEAD, 400, "{\"statusCode\":\"501\",\"error\":\"Error\",\"message\":\"not "
                "implemented\"}", DL_ATTENTION, {"501"}},
    /* transient */
    {HEAD, 500, NULL, DL_RETRY, {"HTTP 500"}},
    {HEAD, 502, NULL, DL_RETRY, {"HTTP 502"}},
    {HEAD, 503, NULL, DL_RETRY, {"HTTP 503"}},
    {HEAD, 504, NULL, DL_RETRY, {"HTTP 504"}},
    {HEAD, 544, NULL, DL_RETRY, {"HTTP 544"}},
    {HEAD, 429, NULL, DL_RETRY, {"HTTP 429"}},
    {HEAD, 408, NULL, DL_RETRY, {"HTTP 408"}},
    {HEAD, 400, "{\"statusCode\":\"503\",\"error\":\"LockTimeout\",\"message\":\"Resource is "
                "locked, timeout reached\",\"code\":\"LockTimeout\"}", DL_RETRY,
     {"503", "LockTimeout"}},
};
/* clang-format on */

static const char *class_name(enum dl_class c)
{
    static const char *const n[] = {"OK", "EXISTS", "RETRY", "ATTENTION", "PERMANENT",
                                    "CONFLICT"};
    return c <= DL_CONFLICT ? n[c] : "?";
}

static const char *step_words(enum dl_step s)
{
    return s == DL_STEP_OBJECT ? "storing the object"
           : s == DL_STEP_ROW  ? "inserting the row"
                               : "reading the stored object back";
}

/* Classifies one answer from an exact-length copy (no NUL after it, so a
 * read past len shows under ASan) and checks class, status and message. */
static void check_answer(const struct answer *a)
{
    size_t len = a->body ? strlen(a->body) : 0;
    char *copy = a->body && len ? malloc(len) : NULL;
    char http[32];
    struct dl_result r;

    if (copy)
        memcpy(copy, a->body, len);
    memset(&r, 0x5a, sizeof(r));
    supabase_classify(a->step, &here, a->http, a->body ? (copy ? copy : "") : NULL, len, &r);
    if (r.cls != a->want)
        fail_msg("step %d HTTP %ld body %s: got %s, want %s (%s)", a->step, a->http,
                 a->body ? a->body : "(null)", class_name(r.cls), class_name(a->want),
                 r.message);
    assert_int_equal(r.http_status, a->http);
    assert_non_null(memchr(r.message, '\0', sizeof(r.message)));
    assert_non_null(strstr(r.message, step_words(a->step)));
    snprintf(http, sizeof(http), "%ld", a->http);
    assert_non_null(strstr(r.message, http));
    for (int i = 0; i < 3 && a->must[i]; i++)
        if (!strstr(r.message, a->must[i]))
            fail_msg("message \"%s\" lacks \"%s\"", r.message, a->must[i]);
    free(copy);
}

static void storage_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(storage) / sizeof(storage[0]); i++)
        check_answer(&storage[i]);
}

static void postgrest_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
        check_answer(&rest[i]);
}

static void verify_answers_retry_only_when_transient(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(verify) / sizeof(verify[0]); i++)
        check_answer(&verify[i]);
}

/* 401/403 (real or wrapped) tell the technician what to look at. */
static void auth_failures_say_what_to_check(void **state)
{
    struct dl_result r;
    const char *sig = "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":"
                      "\"signature verification failed\",\"code\":\"AccessDenied\"}";

    (void)state;
    supabase_classify(OBJ, NULL, 400, sig, strlen(sig), &r);
    assert_non_null(strstr(r.message, "API key"));
    supabase_classify(ROW, NULL, 401, NULL, 0, &r);
    assert_int_equal(r.cls, DL_ATTENTION);
    assert_non_null(strstr(r.message, "API key"));
    supabase_classify(ROW, NULL, 503, NULL, 0, &r);
    assert_null(strstr(r.message, "API key"));
}

/* What needs a person names the bucket or the table and says what to do. */
static void needs_a_person_says_what_to_do(void **state)
{
    static const struct {
        enum dl_step step;
        long http;
        const char *body;
        const char *must[3];
    } cases[] = {
        {OBJ,
         400,
         "{\"statusCode\":\"404\",\"error\":\"Bucket not found\",\"message\":\"Bucket "
         "not found\",\"code\":\"NoSuchBucket\"}",
         {"bucket \"ASE\"", "create it", "[upload] bucket"}},
        {OBJ,
         400,
         "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"new row "
         "violates row-level security policy\",\"code\":\"AccessDenied\"}",
         {"INSERT policy on storage.objects", "bucket \"ASE\""}},
        {OBJ,
         400,
         "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"signature "
         "verification failed\",\"code\":\"AccessDenied\"}",
         {"API key", "bucket \"ASE\"", "key_file"}},
        {OBJ,
         400,
         "{\"statusCode\":\"413\",\"error\":\"Payload too large\",\"message\":\"The "
         "object exceeded the maximum allowed size\",\"code\":\"EntityTooLarge\"}",
         {"bucket \"ASE\"", "file size limit"}},
        {ROW,
         401,
         "{\"code\":\"42501\",\"details\":null,\"hint\":null,\"message\":\"new row "
         "violates row-level security policy for table \\\"ASE_Snapshot\\\"\"}",
         {"table \"ASE_Snapshot\"", "INSERT policy"}},
        {ROW,
         401,
         "{\"code\":\"PGRST301\",\"message\":\"JWSError JWSInvalidSignature\"}",
         {"API key", "table \"ASE_Snapshot\""}},
        {ROW,
         404,
         "{\"code\":\"PGRST205\",\"message\":\"Could not find the table "
         "'public.ASE_Snapshot' in the schema cache\"}",
         {"table \"ASE_Snapshot\"", "[upload] table"}},
        {ROW,
         400,
         "{\"code\":\"PGRST204\",\"message\":\"Could not find the 'file_size_kb' "
         "column of 'ASE_Snapshot' in the schema cache\"}",
         {"table \"ASE_Snapshot\"", "lacks a column"}},
    };
    struct dl_result r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        supabase_classify(cases[i].step, &here, cases[i].http, cases[i].body, strlen(cases[i].body),
                        &r);
        for (int k = 0; k < 3 && cases[i].must[k]; k++)
            if (!strstr(r.message, cases[i].must[k]))
                fail_msg("message \"%s\" lacks \"%s\"", r.message, cases[i].must[k]);
    }
}

/* Storage's Key names what was stored: another one is not our object. */
static void success_key_must_be_ours(void **state)
{
    struct dl_result r;
    const char *other = "{\"Key\":\"ASE/camera_27/20261126_113000_2592_1944_1.jpg\"}";
    const char *ours = "{\"Key\":\"ASE/camera_27/20261126_113000_2592_1944.jpg\"}";

    (void)state;
    supabase_classify(OBJ, &here, 200, other, strlen(other), &r);
    assert_int_equal(r.cls, DL_ATTENTION);
    assert_non_null(strstr(r.message, "another Key"));
    assert_non_null(strstr(r.message, "ASE/camera_27/20261126_113000_2592_1944_1.jpg"));
    supabase_classify(OBJ, &here, 200, ours, strlen(ours), &r);
    assert_int_equal(r.cls, DL_OK);
    supabase_classify(OBJ, NULL, 200, other, strlen(other), &r); /* nothing to compare with */
    assert_int_equal(r.cls, DL_OK);
}

/* The statusCode may come as a number from other servers. */
static void numeric_status_code(void **state)
{
    struct dl_result r;
    const char *dup = "{\"statusCode\":409,\"error\":\"Duplicate\"}";
    const char *big = "{\"statusCode\":413,\"message\":\"too large\"}";
    const char *odd = "{\"statusCode\":[409],\"message\":\"what\"}";

    (void)state;
    supabase_classify(OBJ, NULL, 400, dup, strlen(dup), &r);
    assert_int_equal(r.cls, DL_EXISTS);
    supabase_classify(OBJ, NULL, 400, big, strlen(big), &r);
    assert_int_equal(r.cls, DL_PERMANENT);
    supabase_classify(OBJ, NULL, 400, odd, strlen(odd), &r);
    assert_int_equal(r.cls, DL_ATTENTION);
}

/* The class comes from the first len bytes only, never from what follows. */
static void body_length_is_respected(void **state)
{
    struct dl_result r;
    const char *dup = "{\"statusCode\":\"409\",\"code\":\"KeyAlreadyExists\"}";

    (void)state;
    supabase_classify(OBJ, NULL, 400, dup, 0, &r);
    assert_int_equal(r.cls, DL_ATTENTION);
    supabase_classify(OBJ, NULL, 400, dup, 10, &r);
    assert_int_equal(r.cls, DL_ATTENTION);
    supabase_classify(OBJ, NULL, 400, NULL, 64, &r);
    assert_int_equal(r.cls, DL_ATTENTION);
    supabase_classify(OBJ, NULL, 200, NULL, 64, &r);
    assert_int_equal(r.cls, DL_RETRY); /* no body, no Key */
    supabase_classify(ROW, NULL, 409, dup, 0, &r);
    assert_int_equal(r.cls, DL_ATTENTION);
}

/* Garbage, binary, deeply nested and huge bodies: a class, a bounded
 * message, no crash (ASan/UBSan build). */
static void odd_bodies_never_crash(void **state)
{
    static const long statuses[] = {0, 100, 200, 204, 301, 400, 401, 409, 413, 429, 500, 544,
                                    599, 999, -1};
    const size_t huge = 1 << 20;
    char *buf = malloc(huge);
    struct dl_result r;
    uint32_t x = 12345;

    (void)state;
    assert_non_null(buf);
    for (size_t i = 0; i < huge; i++) { /* binary noise, NULs included */
        x = x * 1103515245u + 12345u;
        buf[i] = (char)(x >> 16);
    }
    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
        for (int step = DL_STEP_OBJECT; step <= DL_STEP_VERIFY; step++) {
            supabase_classify((enum dl_step)step, NULL, statuses[s], buf, huge, &r);
            assert_true(r.cls <= DL_CONFLICT);
            assert_true(strlen(r.message) < sizeof(r.message));
            supabase_classify((enum dl_step)step, NULL, statuses[s], buf, 7, &r);
            assert_true(r.cls <= DL_CONFLICT);
        }
    }
    /* nesting far beyond any parser's stack */
    memset(buf, '[', huge);
    supabase_classify(OBJ, NULL, 400, buf, huge, &r);
    assert_int_equal(r.cls, DL_ATTENTION);
    /* a valid envelope with a 1 MB message: classified, message truncated */
    {
        const char *head = "{\"statusCode\":\"409\",\"code\":\"KeyAlreadyExists\",\"message\":\"";
        size_t hl = strlen(head);
        memcpy(buf, head, hl);
        memset(buf + hl, 'm', huge - hl - 2);
        memcpy(buf + huge - 2, "\"}", 2);
        supabase_classify(OBJ, NULL, 400, buf, huge, &r);
        assert_int_equal(r.cls, DL_EXISTS);
        memcpy(buf + 14, "\"503\"", 5);
        supabase_classify(OBJ, NULL, 400, buf, huge, &r);
        assert_int_equal(r.cls, DL_RETRY);
        assert_true(strlen(r.message) < sizeof(r.message));
        assert_non_null(strstr(r.message, "503"));
    }
    /* JSON that is not an object, and fields of the wrong types */
    {
        static const char *const odd[] = {
            "[]", "null", "\"409\"", "409", "{}", "{\"statusCode\":null}",
            "{\"statusCode\":\"\"}", "{\"statusCode\":\"abc\"}", "{\"statusCode\":\"-1\"}",
            "{\"statusCode\":\"99999999999999999999999\"}", "{\"code\":{},\"message\":[1]}",
            "{\"statusCode\":\"409\"", "\xff\xfe{\"statusCode\":\"409\"}", "{\"a\":\"\\u0000\"}",
        };
        for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
            supabase_classify(OBJ, NULL, 400, odd[i], strlen(odd[i]), &r);
            if (r.cls == DL_OK || r.cls == DL_EXISTS)
                fail_msg("body %s on HTTP 400 classified as done", odd[i]);
            supabase_classify(ROW, NULL, 409, odd[i], strlen(odd[i]), &r);
            assert_int_equal(r.cls, DL_ATTENTION);
        }
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(storage_answers),
        cmocka_unit_test(postgrest_answers),
        cmocka_unit_test(verify_answers_retry_only_when_transient),
        cmocka_unit_test(auth_failures_say_what_to_check),
        cmocka_unit_test(success_key_must_be_ours),
        cmocka_unit_test(needs_a_person_says_what_to_do),
        cmocka_unit_test(numeric_status_code),
        cmocka_unit_test(body_length_is_respected),
        cmocka_unit_test(odd_bodies_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
