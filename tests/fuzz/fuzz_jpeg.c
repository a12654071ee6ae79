/*
 * fuzz_jpeg.c - libFuzzer target for the JPEG checks of src/image/image.h:
 * image_check_jpeg, image_verify_jpeg and image_add_std_huffman.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct image_buf fixed = {0};
    char err[256];
    int w = -1, h = -1;
    /* An exact-size copy so that any overread is caught by ASan. */
    uint8_t *copy = malloc(size ? size : 1);

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (image_check_jpeg(copy, size, &w, &h, err, sizeof(err)) == CS_OK) {
        int vw = -1, vh = -1;

        if (w <= 0 || h <= 0)
            __builtin_trap();
        if (image_verify_jpeg(copy, size, &vw, &vh, err, sizeof(err)) == CS_OK &&
            (vw != w || vh != h))
            __builtin_trap(); /* both checks read the same header */
    }
    if (image_add_std_huffman(copy, size, &fixed) == CS_OK && fixed.data) {
        if (fixed.len <= size || memcmp(fixed.data, copy, 2) != 0)
            __builtin_trap();
        (void)image_check_jpeg(fixed.data, fixed.len, &w, &h, err, sizeof(err));
    }
    image_buf_free(&fixed);
    free(copy);
    return 0;
}
