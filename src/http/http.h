/* http.h - the HTTP front of `vas serve`: libmicrohttpd daemon, routes, bodies, replies.
 * Owns: the daemon and its thread pool, a pool of store handles (one SQLite connection each),
 * request metrics. Not: running jobs (queue/), analysis semantics (analyses/).
 * Threads: http_server_start/stop from the main thread; handlers run on MHD's pool threads and
 * only validate, store, enqueue and answer. */
#ifndef VAS_HTTP_H
#define VAS_HTTP_H

#include "analyses/analysis.h"
#include "core/config.h"
#include "core/err.h"

#include <jansson.h>

typedef struct http_server http_server;

/* Called on an HTTP thread after an analysis was queued (wakes a worker). */
typedef void (*http_notify_fn)(void *arg);

/* The job queue as HTTP sees it. Embedded queue: notify only. Redis queue (rq_server): all of
 * them. Every hook is called on HTTP threads and must not block on I/O. */
typedef struct http_queue {
    http_notify_fn notify;                       /* an analysis was queued; NULL: none */
    void *arg;                                   /* passed to every hook */
    void (*cancel)(void *arg, const char *id);   /* an analysis was REVOKED; NULL: none */
    json_t *(*workers)(void *arg);               /* new array of the live workers; NULL: [] */
    int (*model_live)(void *arg, const char *m); /* a live worker has model m ("": any) */
} http_queue;

/* Starts listening on env->cfg's host and port (port 0: any free port, see http_server_port).
 * Borrows env (config and models) for the server's life. New server in *out (caller frees:
 * http_server_stop). */
int http_server_start(const analysis_env *env, http_notify_fn notify, void *notify_arg,
                      http_server **out, vas_err *e);
/* The same with the whole queue interface (q is copied). */
int http_server_start_queue(const analysis_env *env, const http_queue *q, http_server **out,
                            vas_err *e);
int http_server_port(const http_server *s);
/* Stops accepting, finishes in-flight requests, frees. NULL is a no-op. */
void http_server_stop(http_server *s);

#endif
