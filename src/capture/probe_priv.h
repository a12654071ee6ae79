/*
 * probe_priv.h - the pure parts of probe.c, shared with its unit test only:
 * where a camera URL points, and the verdict in words from what a probe
 * found. Nothing here touches the network.
 */
#ifndef CAMSNAP_PROBE_PRIV_H
#define CAMSNAP_PROBE_PRIV_H

#include <stddef.h>

#include "probe.h"

/* The host (without brackets) and port of a camera URL; the port is the
 * scheme's default (rtsp 554, rtsps 322, https 443, else 80) when the URL
 * names none. host is "" when the URL cannot be taken apart. */
void probe_host_port(const char *url, char *host, size_t hostsz, int *port);

/* Fills r->notes (what a technician should know even when all is well)
 * and r->diagnosis (always set; the notes appended) from the rest of *r. */
void probe_diagnose(const struct camera_config *cam, struct probe_result *r);

#endif
