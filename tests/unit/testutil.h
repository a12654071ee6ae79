/* testutil.h - helpers shared by the unit tests (header-only). */
#ifndef CAMSNAP_TESTUTIL_H
#define CAMSNAP_TESTUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes a fresh temporary directory under $CAMSNAP_TEST_TMP or /tmp. */
static inline char *test_mkdtemp(char *buf, size_t bufsz)
{
    const char *base = getenv("CAMSNAP_TEST_TMP");

    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(buf, bufsz, "%s/camsnap-test-XXXXXX", base);
    return mkdtemp(buf);
}

/* rm -rf dir (test scratch only). */
static inline void test_rmtree(const char *dir)
{
    char cmd[4200];

    if (snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) < (int)sizeof(cmd) && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* A port of 127.0.0.1 that was free a moment ago: nothing listens on it
 * (0 when no socket could be had). */
static inline int test_closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

#endif
