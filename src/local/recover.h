/*
 * recover.h - start-up reconciliation of the spool with the tracking
 * database, so that a crash at any point leaves a state that is repaired:
 *
 *   temp file (.tmp-*)              -> removed (it was never reported captured)
 *   final file, no row, decodes     -> adopted as pending
 *   final file, no row, bad JPEG    -> recorded as quarantined (kept, never uploaded)
 *   row pending/failed, file gone   -> marked missing
 *   row pending/failed, size differs-> quarantined (the file is not what was recorded)
 *
 * Other processes may write stills meanwhile (a lock-less `capture --once`)
 * or reconcile too: a temp file or an unrecorded still whose writer is alive
 * is locked by it (spool_claim() says CS_BUSY) and left alone, counted in
 * in_flight; a still is adopted only under its claim, after a second look
 * for its row. Not thread-safe with other users of the same struct store.
 */
#ifndef CAMSNAP_RECOVER_H
#define CAMSNAP_RECOVER_H

#include <stdint.h>

#include "err.h"
#include "spool.h"
#include "store.h"

struct recover_report {
    int64_t files_seen;
    int64_t temps_removed;
    int64_t adopted;
    int64_t quarantined;
    int64_t missing;
    int64_t others;             /* files that are not stills, left alone */
    int64_t in_flight;          /* temp files and stills of live writers, left alone */
    int64_t elapsed_ms;
};

/* Reconciles; fills *rep. Errors: CS_DB, CS_IO (the walk could not finish;
 * what was repaired so far stays repaired). */
enum cs_err recover_run(struct spool *sp, struct store *st, struct recover_report *rep);

#endif
