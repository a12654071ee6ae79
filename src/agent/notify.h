/*
 * notify.h - telling the service manager how the agent is doing
 * (systemd Type=notify: READY=1, STATUS=..., WATCHDOG=1, STOPPING=1).
 * No-ops when built without libsystemd or not started by systemd.
 * Thread-safe.
 */
#ifndef CAMSNAP_NOTIFY_H
#define CAMSNAP_NOTIFY_H

#include "log.h"

void notify_ready(void);
void notify_stopping(void);
void notify_watchdog(void);
void notify_status(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif
