/*
 * probe.h - camera troubleshooting: per camera, does the host answer on its
 * port, what does RTSP (OPTIONS) or HTTP answer, which codec and resolution
 * arrive, how long a first clean still takes, and a diagnosis in a site
 * technician's words. Replaces ping / telnet 554 / VLC guesswork.
 *
 * Thread-safe: each call works on its own data; probes may run in parallel.
 */
#ifndef CAMSNAP_PROBE_H
#define CAMSNAP_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "source.h"

struct probe_result {
    const struct camera_config *cam;
    char host[256];
    int port;                   /* 0 for synthetic */
    enum cs_err tcp_rc;         /* CS_OK, CS_REFUSED, CS_TIMEOUT, ... */
    int64_t tcp_ms;             /* connect time, -1 when not tried */
    char answer[256];           /* RTSP OPTIONS status line + Server, or "" */
    enum cs_err rc;             /* of the still */
    char error[320];
    char codec[32];
    int width, height;
    int64_t keyframe_interval_ms;
    bool keyframe_too_rare;     /* no second keyframe within the camera's timeout */
    int64_t open_ms;            /* session set-up */
    int64_t still_ms;           /* open to first clean still */
    bool mismatch;              /* resolution differs from the expected one */
    struct source_info info;    /* what the source learnt (transport, stream kind, losses) */
    char notes[1024];           /* what a technician should know even when all is well
                                 * (every note at once fits) */
    char diagnosis[1536];       /* plain language, always set; the notes at its end */
};

/* Probes one camera; never fails as a call (the outcome is in *r). After a
 * first still of an RTSP camera it waits (up to the camera's timeout) for
 * the next keyframe to measure the keyframe interval, so that an interval
 * longer than the timeout is reported even when the first still was
 * lucky. */
void probe_camera(const struct camera_config *cam, struct probe_result *r);

#endif
