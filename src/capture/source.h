/*
 * source.h - where stills come from. One interface, one file per kind:
 * source_synthetic.c (test pattern, no network), source_rtsp.c (libav*),
 * source_http.c (libcurl snapshot URL).
 *
 * Life cycle: source_open() -> source_grab() ... -> source_close().
 * A snapshot round opens, grabs once and closes (no stream kept between
 * rounds). A continuous user (motion detection) keeps the source open and
 * grabs repeatedly; each grab returns the next clean frame.
 *
 * Every call is bounded by the camera's deadlines (config); nothing blocks
 * longer than the deadline given. A source never returns a partial,
 * corrupt or grey frame: it returns CS_BADFRAME/CS_TIMEOUT instead.
 *
 * Thread-safety: a struct source belongs to one thread at a time; different
 * sources may be used concurrently from different threads.
 */
#ifndef CAMSNAP_SOURCE_H
#define CAMSNAP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "config.h"
#include "err.h"
#include "frame.h"

/* What a source learnt about the camera, for probe and logs. */
struct source_info {
    char codec[32];             /* "h264", "hevc", "mjpeg", "jpeg", "synthetic" */
    int width, height;          /* as announced (0 when unknown) */
    int64_t connect_ms;         /* time to open (RTSP set-up, HTTP first byte) */
    int64_t keyframe_interval_ms; /* when seen, else 0 */
    char detail[256];           /* e.g. RTSP server/DESCRIBE summary, HTTP status */
    char transport[8];          /* "TCP", "UDP" (RTSP) or "" */
    bool tcp_refused;           /* transport auto: the camera refused TCP, UDP was used */
    bool mpegts;                /* the video came inside MPEG-TS over RTP */
    bool recovery_points;       /* entry points seen are recovery points, not IDR */
    bool idr_seen;              /* at least one IDR / IRAP picture was seen */
    bool multipart;             /* HTTP: a multipart (MJPEG) stream, first part taken */
    unsigned losses;            /* RTP packet losses reported so far */
};

struct source;

/*
 * Opens the camera's source according to the scheme of cam->url
 * (synthetic://WxH, rtsp://, http(s)://). `deadline_mono_ms` is an absolute
 * CLOCK_MONOTONIC time (clock_mono_ms()) by which the whole open must end.
 * `cam` must outlive the source. Errors: CS_UNSUPPORTED for an unknown
 * scheme, CS_REFUSED, CS_TIMEOUT, CS_AUTH, CS_NOTFOUND, CS_PROTO.
 * On error, `err` (may be NULL) gets a technician-readable message.
 * `budget` (may be NULL: unlimited; budget.h) is the allowance decoded
 * pictures are taken from: a source takes its picture's share before
 * decoding and gives it back when the picture is freed; it must outlive
 * the source.
 */
enum cs_err source_open(const struct camera_config *cam, struct budget *budget,
                        int64_t deadline_mono_ms, struct source **out, char *err, size_t errsz);

/* Grabs the next clean frame into *frame (borrowed, see struct frame). */
enum cs_err source_grab(struct source *src, int64_t deadline_mono_ms, struct frame *frame,
                        char *err, size_t errsz);

/* Tells the source no further grab will come: it frees everything but the
 * last grabbed frame `*frame` (decoder, stream, buffers), so that memory is
 * back before that frame is encoded, and sets frame->writable when its
 * planes now belong to it alone. The frame stays valid until
 * source_close(); source_grab() must not be called afterwards. */
void source_release(struct source *src, struct frame *frame);

/* Fills *info with what is known so far. */
void source_get_info(const struct source *src, struct source_info *info);

/* Closes and frees; source_close(NULL) is a no-op. */
void source_close(struct source *src);

/* Initialises the libraries the sources use (libcurl, libav's logging).
 * Call once at process start, before any thread: library initialisation is
 * not thread-safe. Opening a source without it still works (each kind
 * initialises itself once), but only a single-threaded caller may rely on
 * that. */
void source_global_init(void);

/* The vtable each kind implements (see source.c for the table). */
struct source_ops {
    const char *scheme_prefix;  /* "synthetic://", "rtsp://", ... */
    void (*global_init)(void);  /* may be NULL */
    enum cs_err (*open)(const struct camera_config *cam, struct budget *budget,
                        int64_t deadline_mono_ms, void **state, char *err, size_t errsz);
    enum cs_err (*grab)(void *state, int64_t deadline_mono_ms, struct frame *frame,
                        char *err, size_t errsz);
    void (*release)(void *state, struct frame *frame); /* may be NULL: nothing to free */
    void (*info)(const void *state, struct source_info *info);
    void (*close)(void *state);
};

extern const struct source_ops source_synthetic_ops;
extern const struct source_ops source_rtsp_ops;
extern const struct source_ops source_http_ops;

#endif
