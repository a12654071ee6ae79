/*
 * fuzz_supabase_classify.c - libFuzzer target for supabase_classify(), the
 * classification of Storage and PostgREST answers (src/delivery/backend.h).
 *
 * Input: 2 bytes of HTTP status (big-endian), then the response body. Every
 * step is tried on the same answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum dl_step steps[] = {DL_STEP_OBJECT, DL_STEP_ROW, DL_STEP_VERIFY};
    long status;
    size_t len;
    char *body;

    if (size < 2)
        return 0;
    status = (long)data[0] << 8 | data[1];
    len = size - 2;
    /* An exact-size copy, not NUL-terminated: overreads hit ASan. */
    body = malloc(len ? len : 1);
    if (!body)
        return 0;
    memcpy(body, data + 2, len);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct dl_result r;
        struct dl_where w = {.bucket = "ASE", .table = "ASE_Snapshot", .path = "camera_1/a.jpg"};

        memset(&r, 0xA5, sizeof(r));
        supabase_classify(steps[i], status & 1 ? &w : NULL, status, len ? body : NULL, len, &r);
        if (r.cls < DL_OK || r.cls > DL_CONFLICT || r.http_status != status ||
            !memchr(r.message, '\0', sizeof(r.message)))
            __builtin_trap();
    }
    free(body);
    return 0;
}
