/* label_ring.h - the producer/consumer both labeled-video writers share: a bounded ring of
 * fixed-size slots filled by the caller's thread and handed, in order, to a thread of our own that
 * runs the writer's callback on each (draw, encode). Memory is the ring, allocated once.
 * Owns: the thread and the slots. Not: what a slot holds or what is done with it (label_enc.c,
 * label3d_draw.c).
 *
 * DESIGN
 * The producer asks for a free slot (waiting, or for at most a time so that it can report
 * progress and see a cancel while the thread is busy), fills it with no lock held (the thread
 * only reads slots that were committed), and commits it. The first error of the callback is kept;
 * the thread then stops taking slots, and the producer's next call returns that error.
 * Threads: two. The producer's (every call here; one thread) and the ring's own (named by open;
 * it runs fn and nothing else), started by open and joined by finish or stop. */
#ifndef VAS_LABEL_RING_H
#define VAS_LABEL_RING_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define LABEL_RING_MAX_DEPTH 64

typedef struct label_ring label_ring;

/* The consumer's work on one committed slot, on the ring's thread; < 0 stops the ring. */
typedef int (*label_ring_fn)(void *ctx, void *slot, vas_err *e);

/* depth (1..LABEL_RING_MAX_DEPTH) slots of slot_bytes each (zeroed), fn run on each committed
 * slot with ctx (borrowed until finish/stop) on a thread called name (at most 15 chars). New ring
 * in *out (caller ends it: label_ring_finish or label_ring_stop, then label_ring_free). */
int label_ring_open(int depth, size_t slot_bytes, label_ring_fn fn, void *ctx, const char *name,
                    label_ring **out, vas_err *e);
/* Waits for a free slot: up to timeout_ms (< 0: as long as it takes). 1 with *slot (the caller's
 * to fill until label_ring_commit), 0 when the time ran out, or the thread's error. */
int label_ring_slot(label_ring *r, int timeout_ms, void **slot, vas_err *e);
/* Queues the slot label_ring_slot gave. */
void label_ring_commit(label_ring *r);
/* Lets the thread finish what is queued, joins it; the thread's error or VAS_OK. */
int label_ring_finish(label_ring *r, vas_err *e);
/* Stops the thread after the slot it is on (queued slots are dropped) and joins it. */
void label_ring_stop(label_ring *r);
/* Slots done so far, and milliseconds the thread spent in fn. */
void label_ring_stats(label_ring *r, int64_t *done, int64_t *busy_ms);
/* Stops if needed and frees; NULL is a no-op. */
void label_ring_free(label_ring *r);

#endif
