/*
 * hash.h - content checksums of stills (SHA-256 via libsodium), so delivery
 * can prove a remote object byte-identical to the local file.
 * Thread-safe after hash_init() (called once from main or a test).
 */
#ifndef CAMSNAP_HASH_H
#define CAMSNAP_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HASH_HEX_LEN 64

/* Initialises libsodium; safe to call more than once. CS_NOMEM on failure. */
enum cs_err hash_init(void);

/* SHA-256 of a buffer as 64 lowercase hex chars + NUL. */
void hash_sha256_hex(const uint8_t *data, size_t len, char out[HASH_HEX_LEN + 1]);

/* SHA-256 of an open file descriptor's content from offset 0 (pread, so the
 * file offset is untouched). CS_IO on read errors. */
enum cs_err hash_sha256_fd(int fd, char out[HASH_HEX_LEN + 1]);

/* SHA-256 over data that arrives in pieces (a download). new() returns
 * NULL when out of memory; final_hex() writes the digest of everything
 * given since new() or the last final_hex(), and starts over. One thread
 * at a time per object; free(NULL) is a no-op. */
struct hash_sha256;
struct hash_sha256 *hash_sha256_new(void);
void hash_sha256_update(struct hash_sha256 *h, const void *data, size_t len);
void hash_sha256_final_hex(struct hash_sha256 *h, char out[HASH_HEX_LEN + 1]);
void hash_sha256_free(struct hash_sha256 *h);

#endif
