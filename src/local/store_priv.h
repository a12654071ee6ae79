/*
 * store_priv.h - shared between the files of the store module only
 * (store.c: schema and capture-side transitions; store_delivery.c: the
 * delivery transitions and queries). Nothing outside src/local/store*.c
 * includes it.
 */
#ifndef CAMSNAP_STORE_PRIV_H
#define CAMSNAP_STORE_PRIV_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct store_delivery_stmts;

sqlite3 *store__db(struct store *st);
struct store_delivery_stmts **store__dl(struct store *st);

/* Records "<what>: <SQLite's message>" as the last error; returns the cs_err. */
enum cs_err store__fail(struct store *st, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Steps s to completion (unless rc already failed), then resets it. */
enum cs_err store__finish(struct store *st, sqlite3_stmt *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copies a text column; false when it does not fit (NULL reads as ""). */
bool store__copy_text(sqlite3_stmt *s, int col, char *dst, size_t cap);

/* Copies the error of camera's most recently attempted failed or
 * quarantined still into buf ("" when none). */
enum cs_err store__last_upload_error(struct store *st, const char *camera, char *buf,
                                     size_t bufsz);

/* Finalizes store_delivery.c's statements (from store_close). */
void store__delivery_close(struct store *st);

#endif
