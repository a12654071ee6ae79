/*
 * spool.h - the local-first image spool under <state_dir>/backup_queue/,
 * the only code that writes still files.
 *
 * Layout: backup_queue/camera_<name>/<YYYYMMDD>_<HHMMSS>_<W>_<H>.<ext>
 * (local time). A second still of the same camera, second and size gets
 * "_<N>" before the extension (N = 1, 2, ...): never an overwrite.
 *
 * Atomicity: data goes to a temp file ".tmp-*" in the same directory, is
 * written fully and fsync'ed, then renamed to its final name without
 * replacing anything (renameat2 RENAME_NOREPLACE, link(2) fallback) and the
 * directory is fsync'ed. A file under a final name is therefore never
 * partial; temp files left by a crash are removed by reconciliation.
 *
 * Relative paths ("camera_27/20261126_113000_2592_1944.jpg") name stills
 * everywhere else (database `filename`, remote object path).
 *
 * Several processes share a spool (the agent, `capture --once`, `sync`), and
 * any of them may reconcile it at start. A writer holds a flock on its temp
 * file from its creation, and keeps it on the final file until the caller
 * has recorded the still and calls spool_settle(): reconciliation takes the
 * lock first (spool_claim), so it never removes the temp file of a live
 * writer nor adopts a still its writer is about to record. The kernel drops
 * the locks of a process that dies, so its leftovers are repaired.
 *
 * Later seams: encryption at rest and a disk budget live here too.
 * Thread-safety: all calls may run concurrently (distinct stills); the list
 * of stills held until spool_settle() has its own mutex.
 */
#ifndef CAMSNAP_SPOOL_H
#define CAMSNAP_SPOOL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"

#define SPOOL_DIR "backup_queue"
#define SPOOL_TMP_PREFIX ".tmp-"
#define SPOOL_REL_MAX 256

/* The largest width or height of a still, everywhere a still's size is
 * checked or parsed (names, reconciliation, the store): libjpeg-turbo's
 * JPEG_MAX_DIMENSION, the largest JPEG it encodes or decodes. What a camera
 * may send is bounded by its max_pixels; any such picture must fit here. */
#define SPOOL_MAX_DIMENSION 65500

struct spool;

/* Parsed relative still path. */
struct spool_name {
    char camera[72];            /* without "camera_" */
    char date[9];               /* YYYYMMDD */
    char time[7];               /* HHMMSS */
    int width, height;
    int seq;                    /* 0 when no "_<N>" suffix */
    char ext[8];                /* "jpg", "webp" */
};

/* A still just made durable. */
struct spool_still {
    char relpath[SPOOL_REL_MAX];
    char path[PATH_MAX];
    int64_t size;
    char sha256[HASH_HEX_LEN + 1];
};

/* Opens the spool of state_dir, creating backup_queue/ (0750) if needed.
 * state_dir must exist. Every file is then reached through directory fds,
 * and a link in place of a directory or file below state_dir is never
 * followed. The state directory, backup_queue/ and each camera directory
 * must belong to this user and not be writable by group or others
 * (spool_trust_dir): CS_PERM otherwise. *out is owned by the caller
 * (spool_close). Errors are described by spool_last_error(). */
enum cs_err spool_open(const char *state_dir, struct spool **out);
void spool_close(struct spool *sp);

/* What the calling thread's last failed spool call was doing, on which
 * path, and why ("creating camera directory /x/backup_queue/camera_a:
 * Permission denied"). Borrowed, thread-local; "" before any failure. */
const char *spool_last_error(void);

/* Checks that the directory open as dfd (what: "state directory", ...;
 * path for the message) is not writable by group or others and, when
 * owned, belongs to this user: anyone else could plant links in it.
 * CS_PERM with the reason and the fix in spool_last_error() otherwise. */
enum cs_err spool_trust_dir(int dfd, const char *what, const char *path, bool owned);

/* Absolute path of backup_queue/ (borrowed, lives as long as sp). */
const char *spool_root(const struct spool *sp);

/* Builds the relative path for a still; seq 0 gives no suffix.
 * CS_CONFIG for an invalid camera name or a size below 1, CS_TOOBIG for a
 * size above SPOOL_MAX_DIMENSION or when out is too small. */
enum cs_err spool_format_name(const char *camera, int64_t wall_ms, int width, int height, int seq,
                              const char *ext, char *out, size_t outsz);

/* Parses a relative still path; CS_CONFIG when it is not one (width and
 * height 1..SPOOL_MAX_DIMENSION). */
enum cs_err spool_parse_name(const char *relpath, struct spool_name *out);

/* Writes data atomically as a new still (see above) and fills *out. The
 * still stays locked against other processes' reconciliation until
 * spool_settle() (or spool_close()). Errors: CS_CONFIG (bad camera name),
 * CS_NOSPACE, CS_PERM, CS_IO; on error no file is left under a final name. */
enum cs_err spool_write(struct spool *sp, const char *camera, int64_t wall_ms, int width,
                        int height, const char *ext, const uint8_t *data, size_t len,
                        struct spool_still *out);

/* Releases the locks of every still spool_write() made so far. Call it once
 * their rows are committed (after a round): from then on a still without a
 * row is an orphan that reconciliation may adopt. */
void spool_settle(struct spool *sp);

/* Exclusive claim on a file of the spool, taken by reconciliation before it
 * removes a temp file or adopts a still: CS_BUSY while its writer is alive
 * and has not settled it (leave it alone), CS_NOTFOUND when it is gone.
 * Release with spool_unclaim(). */
struct spool_claim {
    int fd;
};
enum cs_err spool_claim(const struct spool *sp, const char *relpath, struct spool_claim *c);
void spool_unclaim(struct spool_claim *c);

/* Removes a temp file left by a dead writer: CS_OK when removed, CS_BUSY
 * (nothing done) while its writer is alive, CS_NOTFOUND when it is gone (its
 * writer published it, or another reconciler removed it). */
enum cs_err spool_remove_temp(const struct spool *sp, const char *relpath);

/* ---- room for the database on a full disk ----------------------------------
 *
 * The spool keeps SPOOL_RESERVE_BYTES free: a still that would eat into them
 * is refused with CS_NOSPACE (so stills never fill the disk to the last
 * byte). And a reserve file <state_dir>/.camsnap-reserve of that size holds
 * room for the tracking database when something else fills the disk:
 * spool_release_reserve() frees it on ENOSPC/SQLITE_FULL so failures and
 * deliveries can still be recorded; spool_restore_reserve() recreates it once
 * there is room again. Both are cheap and may be called from any thread. */
#define SPOOL_RESERVE_BYTES (4LL * 1024 * 1024)

/* Frees the reserve; true when there was one to free (then log it). */
bool spool_release_reserve(const struct spool *sp);

/* Recreates the reserve if it is missing and the disk has ample room. */
void spool_restore_reserve(const struct spool *sp);

/* Builds the absolute path of relpath. CS_TOOBIG on overflow. */
enum cs_err spool_path(const struct spool *sp, const char *relpath, char *out, size_t outsz);

/* Size of a still file; *exists false when absent. */
enum cs_err spool_stat(const struct spool *sp, const char *relpath, bool *exists, int64_t *size);

/* Reads a still into a new buffer (free()), refusing files over max_bytes
 * with CS_TOOBIG. */
enum cs_err spool_read(const struct spool *sp, const char *relpath, int64_t max_bytes,
                       uint8_t **data, size_t *len);

/* Removes a still file and fsyncs its directory. Absent is not an error. */
enum cs_err spool_remove(const struct spool *sp, const char *relpath);

/* What spool_scan found. */
enum spool_entry { SPOOL_ENTRY_STILL, SPOOL_ENTRY_TEMP, SPOOL_ENTRY_OTHER };

/* Walks every camera_* directory; calls fn for each regular file with its
 * kind and relative path. fn returns CS_OK to continue. Streaming. */
typedef enum cs_err (*spool_scan_fn)(void *ctx, enum spool_entry kind, const char *relpath);
enum cs_err spool_scan(const struct spool *sp, spool_scan_fn fn, void *ctx);

#endif
