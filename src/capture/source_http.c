/*
 * source_http.c - HTTP(S) snapshot cameras: one GET returns one JPEG, or
 * an MJPEG stream (multipart/x-mixed-replace) whose first whole JPEG part is
 * taken, the transfer ended as soon as it is in (multipart.h reads the
 * parts; a stream served with a wrong Content-Type is recognised by its
 * body).
 *
 * Basic and digest auth (credentials from the config, never in the URL),
 * TLS verification on, at most 3 redirects (http/https only, credentials not
 * sent to another host), a maximum body size, a connect timeout, a silence
 * timeout (read_timeout: no byte for that long, checked by the progress
 * callback, within about a second) and a total one, all bounded by the
 * capture deadline. The body must be a JPEG no larger than max_pixels whose
 * every scan decodes (image_verify_jpeg), or the grab fails; Motion-JPEG
 * frames without Huffman tables get the standard tables inserted.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "image.h"
#include "log.h"
#include "multipart.h"
#include "source.h"
#include "source_priv.h"

#define MP_COMPACT_AT (1 << 20) /* drop consumed stream bytes past this much */
#define POLL_MS 100             /* how often a transfer's silence is checked */

enum body_kind { BODY_UNKNOWN, BODY_SINGLE, BODY_MULTIPART };

struct http_src {
    const struct camera_config *cam;
    CURL *curl;
    CURLM *multi;               /* drives curl, so that read_timeout is ours to check */
    uint8_t *body;
    size_t len, cap;
    bool too_big;
    struct image_buf fixed;     /* body with Huffman tables added, if needed */
    long status;
    char content_type[64];
    int width, height;
    int64_t connect_ms;
    /* MJPEG streams */
    enum body_kind kind;
    struct multipart mp;
    size_t mp_from;             /* where the next part is looked for */
    size_t part_off, part_len;  /* the part taken, when part_done */
    bool part_done;
    bool mp_ended;              /* the closing delimiter came first */
    unsigned parts_skipped;     /* torn or not-JPEG parts before it */
    uint64_t received;          /* bytes of body received in all */
    /* read_timeout */
    int64_t last_progress_ms;   /* mono time bytes last arrived (or the request began) */
    bool silent;                /* ended by read_timeout */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The full check of a part taken comes after the transfer. */
bool http_whole_jpeg(const uint8_t *p, size_t n)
{
    while (n > 2 && p[n - 1] == 0)
        n--;
    return n >= 4 && p[0] == 0xFF && p[1] == 0xD8 && p[n - 2] == 0xFF && p[n - 1] == 0xD9;
}

/* Decides, from the headers and the first bytes, what kind of body this
 * is. Returns false while more bytes are needed to tell. */
static bool classify_body(struct http_src *h)
{
    long status = 0;
    bool more;

    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        h->kind = BODY_SINGLE; /* an error page: http_status_error() reports it */
        return true;
    }
    const char *ct = NULL;
    curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ct);
    if (multipart_is_multipart(ct) && multipart_from_content_type(&h->mp, ct)) {
        h->kind = BODY_MULTIPART;
        return true;
    }
    if (multipart_sniff(&h->mp, h->body, h->len, &more)) {
        h->kind = BODY_MULTIPART; /* no or a wrong Content-Type, multipart body */
        return true;
    }
    if (more)
        return false; /* too few bytes to tell yet */
    h->kind = BODY_SINGLE;
    return true;
}

/* Looks for the first whole JPEG part. Returns false to end the transfer
 * (a part was taken, or the stream closed its last part). */
static bool take_parts(struct http_src *h)
{
    size_t off, plen, next;
    enum multipart_result r;

    while ((r = multipart_next(&h->mp, h->body, h->len, h->mp_from, &off, &plen, &next)) ==
           MP_PART) {
        if (http_whole_jpeg(h->body + off, plen)) {
            h->part_off = off;
            h->part_len = plen;
            h->part_done = true;
            return false;
        }
        h->parts_skipped++;
        h->mp_from = next;
    }
    if (r == MP_END) {
        h->mp_ended = true;
        return false;
    }
    /* Keep memory bounded on a stream of parts that are not pictures. */
    if (h->mp_from > MP_COMPACT_AT) {
        memmove(h->body, h->body + h->mp_from, h->len - h->mp_from);
        h->len -= h->mp_from;
        h->mp_from = 0;
    }
    return true;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_src *h = ud;
    size_t n = size * nmemb;

    h->last_progress_ms = clock_mono_ms();
    h->received += n;
    if (h->len + n > (size_t)h->cam->max_body_bytes) {
        h->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (h->len + n > h->cap) {
        size_t cap = h->cap ? h->cap : 256 * 1024;
        uint8_t *nb;
        while (cap < h->len + n)
            cap *= 2;
        if (cap > (size_t)h->cam->max_body_bytes)
            cap = (size_t)h->cam->max_body_bytes;
        if (!(nb = realloc(h->body, cap)))
            return 0;
        h->body = nb;
        h->cap = cap;
    }
    memcpy(h->body + h->len, ptr, n);
    h->len += n;
    if (h->kind == BODY_UNKNOWN && !classify_body(h))
        return n;
    if (h->kind == BODY_MULTIPART && !take_parts(h))
        return 0; /* ends the transfer: CURLE_WRITE_ERROR, which http_grab expects */
    return n;
}

static enum cs_err http_open(const struct camera_config *cam, struct budget *budget,
                             int64_t deadline, void **state,
                             char *err, size_t errsz)
{
    struct http_src *h;

    (void)budget; /* a JPEG body is bounded by max_body and not decoded here */
    (void)deadline;
    pthread_once(&curl_once, curl_init_once);
    if (!(h = calloc(1, sizeof(*h))))
        return CS_NOMEM;
    h->cam = cam;
    if (!(h->curl = curl_easy_init()) || !(h->multi = curl_multi_init())) {
        curl_easy_cleanup(h->curl);
        snprintf(err, errsz, "cannot start an HTTP client");
        free(h);
        return CS_NOMEM;
    }
    *state = h;
    return CS_OK;
}

/* Any byte of the answer, headers included, is a sign of life. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_src *h = ud;

    (void)ptr;
    h->last_progress_ms = clock_mono_ms();
    return size * nmemb;
}

/* Runs the transfer on a multi handle, waking at least every POLL_MS to
 * end it when nothing arrived for read_timeout (curl's own low-speed check
 * and progress callback work in whole seconds: a 5 s read_timeout fired
 * after 11-14 s). Returns the transfer's result. */
static CURLcode perform(struct http_src *h)
{
    CURLcode cc = CURLE_OK;
    CURLMsg *msg;
    int running = 1, left;

    if (curl_multi_add_handle(h->multi, h->curl) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    while (running) {
        int64_t silence;
        if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
            cc = CURLE_RECV_ERROR;
            break;
        }
        if (!running)
            break;
        silence = clock_mono_ms() - h->last_progress_ms;
        if (silence >= h->cam->read_timeout_ms) {
            h->silent = true;
            cc = CURLE_OPERATION_TIMEDOUT;
            break;
        }
        curl_multi_poll(h->multi, NULL, 0, (int)(h->cam->read_timeout_ms - silence < POLL_MS
                                                     ? h->cam->read_timeout_ms - silence
                                                     : POLL_MS), NULL);
    }
    while ((msg = curl_multi_info_read(h->multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->curl)
            cc = msg->data.result;
    curl_multi_remove_handle(h->multi, h->curl);
    return cc;
}

static void setup(struct http_src *h, int64_t deadline)
{
    const struct camera_config *cam = h->cam;
    CURL *c = h->curl;
    int64_t left = deadline - clock_mono_ms();
    long connect_ms = (long)(cam->connect_timeout_ms < left ? cam->connect_timeout_ms : left);

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, cam->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 1 ? connect_ms : 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
    h->last_progress_ms = clock_mono_ms();
    h->silent = false;
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cam->max_body_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "camsnap/" CAMSNAP_VERSION);
    if (cam->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, cam->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cam->password ? cam->password : "");
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)(CURLAUTH_BASIC | CURLAUTH_DIGEST));
    }
}

static enum cs_err transport_error(struct http_src *h, CURLcode cc, char *err, size_t errsz)
{
    char url[512];

    redact_url(h->cam->url, url, sizeof(url));
    /* Headers that announce a stream make it one even before a byte came. */
    if (h->kind == BODY_UNKNOWN && multipart_is_multipart(h->content_type))
        h->kind = BODY_MULTIPART;
    if (h->kind == BODY_MULTIPART && h->mp_ended) {
        snprintf(err, errsz, "the MJPEG stream at %s ended without a whole picture (%u part(s) "
                             "torn or not JPEG)", url, h->parts_skipped);
        return CS_BADFRAME;
    }
    if (h->kind == BODY_MULTIPART && (h->too_big || cc == CURLE_FILESIZE_EXCEEDED)) {
        snprintf(err, errsz, "the MJPEG stream at %s sent %llu bytes without a whole picture "
                             "within max_body (%lld bytes)", url,
                 (unsigned long long)h->received, (long long)h->cam->max_body_bytes);
        return CS_TOOBIG;
    }
    if (h->silent)
        cc = CURLE_OPERATION_TIMEDOUT; /* reported below, with the silence's length */
    if (h->kind == BODY_MULTIPART && cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, errsz, "the MJPEG stream at %s sent no whole picture in time (%llu bytes, "
                             "%u part(s) torn or not JPEG): %s", url,
                 (unsigned long long)h->received, h->parts_skipped,
                 h->silent ? "it went silent (read_timeout)" : curl_easy_strerror(cc));
        return CS_TIMEOUT;
    }
    if (h->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errsz, "snapshot is larger than max_body (%lld bytes)",
                 (long long)h->cam->max_body_bytes);
        return CS_TOOBIG;
    }
    snprintf(err, errsz, "%s: %s", url, curl_easy_strerror(cc));
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        snprintf(err, errsz, "nothing answers at %s (connection refused or unreachable)", url);
        return CS_REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        if (h->silent)
            snprintf(err, errsz, "%s sent nothing for %lld ms (read_timeout) after %llu bytes",
                     url, (long long)h->cam->read_timeout_ms, (unsigned long long)h->received);
        else
            snprintf(err, errsz, "%s did not answer in time (%s)", url, curl_easy_strerror(cc));
        return CS_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST: return CS_REFUSED;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR: return CS_AUTH;
    default: return CS_PROTO;
    }
}

enum cs_err http_status_error(long s, char *err, size_t errsz)
{

    if (s == 401 || s == 403) {
        snprintf(err, errsz, "camera refused the username/password (HTTP %ld)", s);
        return CS_AUTH;
    }
    if (s == 404) {
        snprintf(err, errsz, "camera has no snapshot at this path (HTTP 404)");
        return CS_NOTFOUND;
    }
    snprintf(err, errsz, "camera answered HTTP %ld instead of an image", s);
    return s >= 500 || s == 429 ? CS_AGAIN : CS_PROTO;
}

static enum cs_err http_grab(void *state, int64_t deadline, struct frame *f, char *err,
                             size_t errsz)
{
    struct http_src *h = state;
    const char *ctype = NULL;
    const uint8_t *data;
    size_t len;
    double t_connect = 0;
    CURLcode cc;
    enum cs_err rc;

    h->len = 0;
    h->too_big = false;
    h->kind = BODY_UNKNOWN;
    h->mp_from = h->part_off = h->part_len = 0;
    h->part_done = h->mp_ended = false;
    h->parts_skipped = 0;
    h->received = 0;
    image_buf_free(&h->fixed);
    setup(h, deadline);
    cc = perform(h);
    if (h->part_done && cc == CURLE_WRITE_ERROR)
        cc = CURLE_OK; /* we ended the stream ourselves, with a part in hand */
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
    curl_easy_getinfo(h->curl, CURLINFO_CONNECT_TIME, &t_connect);
    curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ctype);
    h->connect_ms = (int64_t)(t_connect * 1000);
    snprintf(h->content_type, sizeof(h->content_type), "%s", ctype ? ctype : "");
    if (cc != CURLE_OK)
        return transport_error(h, cc, err, errsz);
    if (h->status != 200)
        return http_status_error(h->status, err, errsz);
    data = h->body;
    len = h->len;
    if (h->kind == BODY_MULTIPART && !h->part_done) {
        /* The server closed the stream after a part with no delimiter after it. */
        snprintf(err, errsz, "the MJPEG stream ended without a whole picture (%llu bytes)",
                 (unsigned long long)h->received);
        return CS_BADFRAME;
    }
    if (h->kind == BODY_MULTIPART) {
        data = h->body + h->part_off;
        len = h->part_len;
    }
    if ((rc = image_add_std_huffman(data, len, &h->fixed)))
        return rc;
    if (h->fixed.data) {
        data = h->fixed.data;
        len = h->fixed.len;
    }
    if ((rc = image_check_jpeg(data, len, &h->width, &h->height, err, errsz))) {
        size_t n = strlen(err);
        snprintf(err + n, errsz - n, " (%zu bytes, Content-Type \"%s\")", len,
                 h->content_type);
        return rc;
    }
    if ((int64_t)h->width * h->height > h->cam->max_pixels) {
        snprintf(err, errsz,
                 "camera sends %dx%d pictures (%.1f megapixels), more than max_pixels (%.1f "
                 "megapixels): refused before decoding; choose a smaller picture or raise "
                 "max_pixels",
                 h->width, h->height, (double)h->width * h->height / 1e6,
                 (double)h->cam->max_pixels / 1e6);
        return CS_TOOBIG;
    }
    /* A header that parses is not a picture: every scan must decode (at 1/8
     * scale: all the entropy data, a 64th of the pixels). */
    if ((rc = image_verify_jpeg(data, len, NULL, NULL, err, errsz))) {
        size_t n = strlen(err);
        snprintf(err + n, errsz - n, " (a %dx%d JPEG of %zu bytes that does not decode)",
                 h->width, h->height, len);
        return rc;
    }
    memset(f, 0, sizeof(*f));
    f->kind = FRAME_JPEG;
    f->width = h->width;
    f->height = h->height;
    f->data = data;
    f->len = len;
    return CS_OK;
}

static void http_info(const void *state, struct source_info *info)
{
    const struct http_src *h = state;

    if (!h->status) {
        /* No answer at all: nothing is known; say so rather than "HTTP 0". */
        snprintf(info->detail, sizeof(info->detail), "no HTTP answer");
        return;
    }
    snprintf(info->codec, sizeof(info->codec), "jpeg");
    info->width = h->width;
    info->height = h->height;
    info->connect_ms = h->connect_ms;
    info->multipart = h->kind == BODY_MULTIPART;
    if (info->multipart)
        snprintf(info->detail, sizeof(info->detail),
                 "HTTP %ld, MJPEG stream (%.60s), first whole part %zu bytes%s", h->status,
                 h->content_type[0] ? h->content_type : "no Content-Type", h->part_len,
                 h->parts_skipped ? " after torn ones" : "");
    else
        snprintf(info->detail, sizeof(info->detail), "HTTP %ld, %s, %zu bytes", h->status,
                 h->content_type[0] ? h->content_type : "no Content-Type", h->len);
}

static void http_close(void *state)
{
    struct http_src *h = state;

    if (!h)
        return;
    curl_multi_cleanup(h->multi);
    curl_easy_cleanup(h->curl);
    image_buf_free(&h->fixed);
    free(h->body);
    free(h);
}

static void http_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

const struct source_ops source_http_ops = {
    .scheme_prefix = "http://",
    .global_init = http_global_init,
    .open = http_open,
    .grab = http_grab,
    .info = http_info,
    .close = http_close,
};
