/* rq_worker.h - `vas worker --redis URL --server http://HOST:PORT`: runs jobs that `vas serve
 * --queue` puts on Redis, anywhere, by the protocol of docs/redis-queue.md.
 * Owns: the worker's processes (a parent that advertises and restarts slots, one child process
 * per --concurrency slot that claims and runs jobs), its own data folder (a store used as a cache
 * of inputs and outputs). Not: the catalog (the server's), the protocol's server side
 * (rq_server.c), Redis connections (rq_redis.c), HTTP transfers (rq_http.c).
 *
 * DESIGN (SIGTERM): a slot stopped by SIGTERM dies without acknowledging its job: the entry stays
 * in Redis's pending list under this worker's name and the server's reaper requeues it once the
 * advertisement has expired (15 s), as after a SIGKILL. Finishing the job first could take hours
 * (a long video) and a `failure` would lose work that another worker can do. A worker restarted
 * under the same name before that runs its own pending entries again at start.
 *
 * Threads: one thread per process. */
#ifndef VAS_RQ_WORKER_H
#define VAS_RQ_WORKER_H

#include "core/config.h"
#include "core/err.h"

typedef struct rq_worker_opts {
    const char *redis_url; /* borrowed: redis://[:PASSWORD@]HOST:PORT/DB */
    const char *server;    /* borrowed: http://HOST:PORT of `vas serve` */
    const char *name;      /* borrowed: NULL: <hostname>-<pid> */
    int concurrency;       /* job slots (child processes), >= 1 */
    int parent_pid;        /* > 0: started by `vas serve` with this pid (dies with it) */
} rq_worker_opts;

/* Runs the worker until SIGTERM/SIGINT (then VAS_OK). cfg (borrowed) gives the models
 * (DLC_MODELS), the token (API_TOKEN) sent to the server, the data folder and database of the
 * worker's cache, the limits and the log level. */
int rq_worker_main(const config *cfg, const rq_worker_opts *o, vas_err *e);

#endif
