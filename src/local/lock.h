/*
 * lock.h - one camsnap per state directory: a kernel lock (flock) on
 * <state_dir>/camsnap.lock, which also holds the holder's PID and role
 * ("PID ROLE\n") for messages.
 * The kernel drops the lock when the holder dies (even by kill -9), so there
 * is never a stale lock to remove by hand. Not a PID file in /tmp.
 */
#ifndef CAMSNAP_LOCK_H
#define CAMSNAP_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define LOCK_FILENAME "camsnap.lock"
#define LOCK_WANT_FILENAME "camsnap.want" /* an agent waiting for the lock holds it */

struct state_lock;

/* Takes the lock, trying again for up to wait_ms (0: once) while another
 * process holds it: a command that only looks (lock_holder) holds it for a
 * moment. `role` ("run", "sync", ...) is written beside the PID. CS_BUSY
 * when another process still holds it; *holder then gets its PID (0 when
 * unknown) and, when holder_role is not NULL, its role ("" unknown). */
enum cs_err lock_acquire(const char *state_dir, int64_t wait_ms, const char *role,
                         struct state_lock **out, pid_t *holder, char holder_role[16]);

/* Who holds the lock now (0: nobody). Does not take it (it holds a shared
 * lock for a moment to find out) and creates nothing. */
pid_t lock_holder(const char *state_dir);

/* lock_holder, and the holder's role as it wrote it ("run" for an agent,
 * "sync", "cleanup"; "" when unknown) in role. */
pid_t lock_holder_role(const char *state_dir, char role[16]);

/* Releases and frees; lock_release(NULL) is a no-op. */
void lock_release(struct state_lock *l);

/* An agent starting always wins over a `sync`: while it waits for the lock
 * it holds <state_dir>/camsnap.want (lock_want), and a sync, checking
 * lock_wanted() now and then, steps aside (abandoning what is in flight, all
 * of it safe to redo); a `cleanup` is brief and is waited for. lock_want() returns the file's
 * descriptor (>= 0; close it to stop wanting) or -1 with errno. */
int lock_want(const char *state_dir);

/* True while some process holds camsnap.want. Creates nothing. */
bool lock_wanted(const char *state_dir);

#endif
