/*
 * fuzz_au.c - libFuzzer target for src/capture/au.h: access-unit gathering and the
 * classification of H.264/H.265 units (NAL iteration, Exp-Golomb and SEI
 * reading). The first byte picks the codec and how the rest is cut into
 * packets, as a depacketizer would hand them over.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "au.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct au_buf b = {0};
    struct au_info info;
    size_t chunk, pos = 1;
    uint8_t *copy;

    if (size < 1)
        return 0;
    b.codec = (data[0] & 1) ? AU_H265 : AU_H264;
    b.max = 4096;
    chunk = 1 + (data[0] >> 1);
    /* An exact-size copy so that any overread is caught by ASan. */
    if (!(copy = malloc(size - 1 ? size - 1 : 1)))
        return 0;
    memcpy(copy, data + 1, size - 1);
    au_classify(b.codec, copy, size - 1, &info);
    if (info.entry == AU_ENTRY_RECOVERY && (b.codec != AU_H264 || info.recovery_frames < 0))
        __builtin_trap();
    if (info.entry != AU_ENTRY_NONE && info.slices == 0)
        __builtin_trap();
    while (pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        if (au_buf_append(&b, data + pos, n) != CS_OK)
            break;
        pos += n;
    }
    if (!b.overflow && (b.len != size - 1 || memcmp(b.data ? b.data : copy, copy, b.len)))
        __builtin_trap();
    au_buf_free(&b);
    free(copy);
    return 0;
}
