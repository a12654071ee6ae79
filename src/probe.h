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
    int64_t open_ms;            /* session set-up */
    int64_t still_ms;           /* open to first clean still */
    bool mismatch;              /* resolution differs from the expected one */
    char diagnosis[512];        /* plain language, always set */
};

/* Probes one camera; never fails as a call (the outcome is in *r). */
void probe_camera(const struct camera_config *cam, struct probe_result *r);

#endif
