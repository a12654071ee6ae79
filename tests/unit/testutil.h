/* testutil.h - helpers shared by the unit tests (header-only). */
#ifndef CAMSNAP_TESTUTIL_H
#define CAMSNAP_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#endif
