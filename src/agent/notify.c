#include "notify.h"

#include <stdarg.h>
#include <stdio.h>

#ifdef CAMSNAP_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#define NOTIFY(text) sd_notify(0, text)
#else
#define NOTIFY(text) ((void)(text))
#endif

void notify_ready(void)
{
    NOTIFY("READY=1");
}

void notify_stopping(void)
{
    NOTIFY("STOPPING=1");
}

void notify_watchdog(void)
{
    NOTIFY("WATCHDOG=1");
}

void notify_status(const char *fmt, ...)
{
    char buf[512] = "STATUS=";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + 7, sizeof(buf) - 7, fmt, ap);
    va_end(ap);
    NOTIFY(buf);
}
