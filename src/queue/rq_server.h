/* rq_server.h - `vas serve --queue redis://...`: the server's side of docs/redis-queue.md.
 * Owns: two threads, each with its own Redis connection (rq_redis) and catalog connection
 * (store): the dispatcher (queues PENDING analyses as stream entries, sets cancel keys, reaps
 * the jobs of dead workers, keeps a snapshot of the live workers' advertisements) and the event
 * consumer (applies the workers' `vas:events` to the catalog, then XACKs them).
 * Not: the workers (rq_worker*), the catalog's SQL (store_remote.c), HTTP (it calls the hooks
 * below through http_queue).
 * Threads: rq_server_start/stop on the main thread; the hooks from any thread (HTTP threads):
 * they never do I/O, only take a mutex held over memory. */
#ifndef VAS_RQ_SERVER_H
#define VAS_RQ_SERVER_H

#include "core/config.h"
#include "core/err.h"

#include <jansson.h>

#define QUEUE_MAX_ATTEMPTS 3 /* starts of one job before a dead worker's job is FAILURE */

typedef struct rq_server rq_server;

typedef struct rq_server_opts {
    const char *url; /* redis://...; borrowed for the server's life */
    int grace_ms;    /* a worker's key (EX 15) must stay missing this long more before its jobs
                        are reaped; 0: 3 s. After a reconnection to Redis nothing is reaped for
                        10 s: a Redis restarted empty has no keys until workers beat again */
    int reap_ms;     /* how often the reaper looks; 0: 2 s */
} rq_server_opts;

/* Connects (failing at once, with the reason, when Redis can't be reached or refuses the
 * password) and starts both threads. Borrows cfg and opts->url for the server's life. New
 * server in *out (caller frees: rq_server_stop). */
int rq_server_start(const config *cfg, const rq_server_opts *opts, rq_server **out, vas_err *e);
/* Stops the threads (at most about a second) and frees. Jobs stay in Redis. NULL is a no-op. */
void rq_server_stop(rq_server *q);

/* ---- hooks for the HTTP side; arg is the rq_server ---- */
/* A PENDING analysis was inserted: dispatch now. */
void rq_server_notify(void *arg);
/* An analysis was REVOKED: set vas:cancel:<id> (done by the dispatcher within milliseconds). */
void rq_server_cancel(void *arg, const char *id);
/* The live workers' advertisements (refreshed every second): a new JSON array (caller
 * json_decref's), NULL out of memory. */
json_t *rq_server_workers(void *arg);
/* 1 if a live worker advertises model ("": if any worker is live), else 0. */
int rq_server_model_live(void *arg, const char *model);

#endif
