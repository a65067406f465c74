/* net_cache.h - warm networks: the loaded graphs and planned sessions a worker process keeps from
 * one job to the next, so that the next job on the same model skips loading and planning
 * (issue 18). Used by pose_sink.c; made by the workers (queue/worker.c, queue/rq_worker.c).
 *
 * An entry is {key, nn_graph, nn_session, bytes, last use}. The key is the model's fingerprint
 * (pose_model.fingerprint: SHA-1 over its files, the result cache's key too), the paths of the
 * files the network is built from (weights, model config) and every option the session was
 * made with (nn_options: threads, bf16, ...). The input size is no part of it: a session plans each
 * size once and keeps the last few (nn.h). A file of the network changed on disk since the entry
 * was made (device, inode, size or modification time differ: the fingerprint was computed when the
 * worker started) makes the entry stale: it is freed, never used again, and the network is loaded
 * from the new file.
 *
 * Life of an entry: made by net_cache_take on a miss, in use; net_cache_give puts it back idle,
 * measures it then (nn_session_bytes: weights as loaded, plus each kept plan's arena and
 * re-ordered weights) and evicts the least recently used idle entries until the idle ones fit
 * the budget (LIMIT_WORKER_MODELS bytes), the one just given included; net_cache_drop frees it
 * (a run that failed inside the network: its session is not trusted again). An entry in use is
 * never evicted. A take whose key only matches entries in use makes another entry (a worker
 * process runs one job at a time, so this is for callers that nest runs). The budget holds
 * between jobs: during a job the network in use comes on top of the idle ones. A NULL cache, or
 * a budget of 0, keeps nothing: take loads, give frees (vas's behaviour before issue 18).
 *
 * Why reuse is safe: a session carries no state from one run to the next (each run overwrites
 * its arena from its input; plans and re-ordered weights are read-only once planned), so a run
 * on a warm session gives the same bytes as one on a new session. A session that learns from
 * its runs (an int8 session calibrating on its first frames, where nn.h has them) is the
 * exception: the job that takes one warm must make it start over.
 *
 * Not: what the network computes (nn/), where models come from (pose_model.h).
 * Threads: one. A cache and its sessions belong to the thread that uses them (an nn_session runs
 * on the thread that made it, nn.h): a worker's job thread. An empty cache may be made before
 * fork(): each child then has its own (the slots of a `vas worker --redis`). */
#ifndef VAS_NET_CACHE_H
#define VAS_NET_CACHE_H

#include "core/err.h"
#include "nn/nn.h"
#include "pose/pose_model.h"

#include <stdint.h>

typedef struct net_cache net_cache;
typedef struct net_cache_entry net_cache_entry;

/* What a cache holds and has done, for logs and tests. */
typedef struct net_cache_counts {
    int entries;       /* idle and in use */
    int in_use;        /* taken, not given back yet */
    int64_t bytes;     /* of the idle entries, as measured when given back */
    int64_t hits;      /* takes answered by a warm entry */
    int64_t misses;    /* takes that loaded the network */
    int64_t evictions; /* idle entries freed to keep to the budget */
    int64_t stale;     /* entries freed because a file of theirs changed */
} net_cache_counts;

/* New empty cache that keeps at most budget bytes of idle networks (0: none kept). Caller
 * frees: net_cache_free. */
int net_cache_new(int64_t budget, net_cache **out, vas_err *e);
/* Frees every entry; none may be in use (an invariant: asserted). NULL: no-op. */
void net_cache_free(net_cache *c);

/* The network of m (borrowed during the call) with a session made with opt (borrowed; NULL for
 * defaults): a warm entry when one matches, else pose_model_graph + nn_session_new into a new one.
 * c may be NULL (nothing kept). *out is in use until net_cache_give or net_cache_drop; untouched
 * on error (the loader's message in e). */
int net_cache_take(net_cache *c, const pose_model *m, const nn_options *opt, net_cache_entry **out,
                   vas_err *e);
/* Borrowed results: valid until x is given back or dropped. */
const nn_graph *net_cache_graph(const net_cache_entry *x);
nn_session *net_cache_session(const net_cache_entry *x);
/* 1 when net_cache_take found x warm, 0 when it loaded it. */
int net_cache_hit(const net_cache_entry *x);

/* Takes x (c: the cache it came from, or NULL): back to the cache, idle, then the budget kept. */
void net_cache_give(net_cache *c, net_cache_entry *x);
/* Takes x: freed, whatever the budget (its session failed mid-run). */
void net_cache_drop(net_cache *c, net_cache_entry *x);

/* Counts into *out (zeros for a NULL cache). */
void net_cache_count(const net_cache *c, net_cache_counts *out);

#endif
