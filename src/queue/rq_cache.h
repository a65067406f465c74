/* rq_cache.h - the input cache of a `vas worker --redis` (its own store of the files it fetched):
 * the inputs running jobs hold, and eviction of the least recently used others once the cache is
 * over LIMIT_WORKER_CACHE bytes. A file lock (<data>/cache.lock) orders the two across the
 * worker's slot processes: a slot marks its job's inputs under the shared lock before it looks
 * them up, eviction looks at the marks and deletes under the exclusive lock, so an input is
 * either seen held or gone before the job looks (then fetched again).
 * Owns: nothing past a call (the marks live in the slots' shared state, rq_worker_int.h). */
#ifndef VAS_RQ_CACHE_H
#define VAS_RQ_CACHE_H

#include "queue/rq_worker_int.h"

/* Marks a's inputs as held by slot state sl (before they are fetched or looked up). */
int rq_cache_hold(const rq_worker_ctx *c, rq_slot_state *sl, const store_analysis *a, vas_err *e);
/* The job of sl ended: its inputs are no longer held. */
void rq_cache_release(const rq_worker_ctx *c, rq_slot_state *sl);
/* Evicts least recently used files that no slot holds until the cache st holds at most
 * LIMIT_WORKER_CACHE bytes (0: no limit, nothing done). c->slots may be NULL (at start). */
int rq_cache_trim(const rq_worker_ctx *c, store *st, vas_err *e);

#endif
