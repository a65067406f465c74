/* rq_worker_int.h - what the parent (rq_worker.c) and the slots (rq_worker_job.c) of a Redis
 * worker share: the worker's description and each slot's state in shared memory.
 * Threads: one per process; a slot writes its own state, the parent only reads it. */
#ifndef VAS_RQ_WORKER_INT_H
#define VAS_RQ_WORKER_INT_H

#include "analyses/analysis.h"
#include "queue/rq_redis.h"
#include "store/store.h"

#include <jansson.h>
#include <stdatomic.h>

#define RQ_WORKER_MAX_SLOTS   64
#define RQ_WORKER_MAX_STREAMS 32 /* what rq_redis_read_one reads at once */
#define RQ_WORKER_NAME_MAX    200
#define RQ_EVENTS_MAXLEN      100000
#define RQ_REDIS_RETRY_MS     2000 /* one Redis call's reconnect window; callers loop beyond */

/* One slot's job, in memory shared with the parent (MAP_SHARED): set by the slot when it starts
 * a job, cleared when the job's final event is sent. */
typedef struct rq_slot_state {
    char id[STORE_UUID_LEN + 1]; /* the analysis */
    char stream[256];            /* its job entry */
    char entry[64];
    atomic_int busy; /* 1 while the fields above name a running job */
    /* The inputs the slot's job uses, kept from eviction (rq_cache.c; under its lock). */
    char inputs[STORE_MAX_INPUTS][STORE_ID_LEN + 1];
    int n_inputs;
} rq_slot_state;

typedef struct rq_worker_ctx {
    const config *cfg;
    const analysis_env *env; /* models loaded once, shared by the forked slots */
    const char *redis_url;   /* borrowed */
    const char *server;      /* borrowed */
    char name[RQ_WORKER_NAME_MAX];
    int concurrency;
    int n_streams;
    char *streams[RQ_WORKER_MAX_STREAMS]; /* owned: vas:jobs:<model>..., vas:jobs:- last */
    json_t *models;                       /* owned: array of the model names advertised */
    rq_slot_state *slots;                 /* shared mapping of concurrency entries */
} rq_worker_ctx;

/* Body of slot process `slot`: claims and runs jobs until killed. Returns only on a setup
 * failure (the parent restarts the slot). */
int rq_worker_slot_main(rq_worker_ctx *c, int slot, vas_err *e);

/* XADD vas:events MAXLEN ~ RQ_EVENTS_MAXLEN * id <id> type <type> worker <name>
 * entry <stream>:<entry> data <JSON of data> (data taken, also on error; NULL: {}). */
int rq_worker_event(rq_redis *r, const char *worker, const char *id, const char *type,
                    const char *stream, const char *entry, json_t *data, vas_err *e);

#endif
