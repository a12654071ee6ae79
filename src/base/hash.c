#include "hash.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

struct hash_sha256 {
    crypto_hash_sha256_state st;
};

enum cs_err hash_init(void)
{
    return sodium_init() < 0 ? CS_NOMEM : CS_OK;
}

static void to_hex(const unsigned char digest[crypto_hash_sha256_BYTES], char out[65])
{
    sodium_bin2hex(out, HASH_HEX_LEN + 1, digest, crypto_hash_sha256_BYTES);
}

void hash_sha256_hex(const uint8_t *data, size_t len, char out[HASH_HEX_LEN + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(digest, data, len);
    to_hex(digest, out);
}

enum cs_err hash_sha256_fd(int fd, char out[HASH_HEX_LEN + 1])
{
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];
    unsigned char buf[65536];
    off_t off = 0;
    ssize_t n;

    crypto_hash_sha256_init(&st);
    for (;;) {
        n = pread(fd, buf, sizeof(buf), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cs_from_errno(errno);
        if (n == 0)
            break;
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        off += n;
    }
    crypto_hash_sha256_final(&st, digest);
    to_hex(digest, out);
    return CS_OK;
}

struct hash_sha256 *hash_sha256_new(void)
{
    struct hash_sha256 *h = malloc(sizeof(*h));

    if (h)
        crypto_hash_sha256_init(&h->st);
    return h;
}

void hash_sha256_update(struct hash_sha256 *h, const void *data, size_t len)
{
    crypto_hash_sha256_update(&h->st, data, (unsigned long long)len);
}

void hash_sha256_final_hex(struct hash_sha256 *h, char out[HASH_HEX_LEN + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256_final(&h->st, digest);
    to_hex(digest, out);
    crypto_hash_sha256_init(&h->st);
}

void hash_sha256_free(struct hash_sha256 *h)
{
    free(h);
}
