/*
 * source_priv.h - the pure parts of the source kinds (no library types, no
 * network), shared between their files and with their unit tests: how an
 * RTSP URL is checked, given its credentials and compared for redirects;
 * which libav messages mean lost packets; what an HTTP status means; when
 * an MJPEG part is a whole JPEG. Not for other modules.
 */
#ifndef CAMSNAP_SOURCE_PRIV_H
#define CAMSNAP_SOURCE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* ---- source_rtsp.c ---- */

/* Checks an rtsp:// or rtsps:// URL (a host, no credentials in it) and
 * writes "host:port" (IPv6 in brackets, the scheme's default port when it
 * names none) to hostport. CS_UNSUPPORTED for another scheme, CS_CONFIG
 * for a URL without a host or with a user name or password; err then says
 * what to change. */
enum cs_err rtsp_check_url(const char *url, char *hostport, size_t hostportsz, char *err,
                           size_t errsz);

/* Returns a malloc'd copy of cam->url with "user:pass@" inserted (each
 * percent-encoded, RFC 3986 unreserved characters kept; only what is set
 * and not empty) and the scheme in lower case, or NULL (out of memory).
 * The result holds a secret: zero it (explicit_bzero) before free(). */
char *rtsp_url_with_credentials(const struct camera_config *cam);

/* "rtsp://host:port" of a URL (the scheme's default port when it names
 * none), for comparing origins; credentials are not copied. */
void rtsp_origin(const char *url, char *out, size_t outsz);

/* Whether the n-th redirect of one set-up, to `to`, is refused: past the
 * limit (a loop), or to another origin while the camera has credentials
 * (they would be sent there). */
bool rtsp_redirect_refused(const struct camera_config *cam, const char *to, unsigned n);

/* True for the libav log formats that report lost RTP packets. */
bool rtsp_is_loss_message(const char *fmt);

/* "850 ms" or "4.0s", for messages. Returns buf. */
const char *rtsp_duration_text(int64_t ms, char *buf, size_t bufsz);

/* ---- source_http.c ---- */

/* A body that looks like one whole JPEG: SOI first, EOI last (zero padding
 * after it tolerated). */
bool http_whole_jpeg(const uint8_t *p, size_t n);

/* A camera's HTTP status other than 200, in words and as an error:
 * CS_AUTH (401, 403), CS_NOTFOUND (404), CS_AGAIN (429, 5xx: it may pass),
 * else CS_PROTO. */
enum cs_err http_status_error(long status, char *err, size_t errsz);

#endif
