/*
 * fuzz_multipart.c - libFuzzer target for src/capture/multipart.h: boundaries from
 * Content-Type headers and bodies, and the parts of a stream fed in pieces
 * as a socket would. The input is "CONTENT-TYPE\nBODY".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size, blen, from = 0, parts = 0;
    char *ct = malloc(hlen + 1);
    uint8_t *body;
    struct multipart m;
    bool more;

    if (!ct)
        return 0;
    memcpy(ct, data, hlen);
    ct[hlen] = '\0';
    blen = nl ? size - hlen - 1 : 0;
    /* An exact-size copy so that any overread is caught by ASan. */
    if (!(body = malloc(blen ? blen : 1))) {
        free(ct);
        return 0;
    }
    memcpy(body, nl ? nl + 1 : data, blen);
    if (!multipart_from_content_type(&m, ct) && !multipart_sniff(&m, body, blen, &more))
        goto out;
    if (m.dlen < 3 || m.dlen > MULTIPART_DELIM_MAX || strlen(m.delim) != m.dlen)
        __builtin_trap();
    /* Grows the received length byte by byte (64 steps), then all of it. */
    for (size_t len = 0;; len = len < 64 ? len + 1 : blen) {
        size_t off, plen, next;
        enum multipart_result r;
        while ((r = multipart_next(&m, body, len, from, &off, &plen, &next)) == MP_PART) {
            if (off > len || plen > len - off || next > len || next < from || ++parts > blen)
                __builtin_trap();
            if (next == from)
                break;
            from = next;
        }
        if (len == blen)
            break;
    }
out:
    free(body);
    free(ct);
    return 0;
}
