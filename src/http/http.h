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

typedef struct http_server http_server;

/* Called on an HTTP thread after an analysis was queued (wakes a worker). */
typedef void (*http_notify_fn)(void *arg);

/* Starts listening on env->cfg's host and port (port 0: any free port, see http_server_port).
 * Borrows env (config and models) for the server's life. New server in *out (caller frees:
 * http_server_stop). */
int http_server_start(const analysis_env *env, http_notify_fn notify, void *notify_arg,
                      http_server **out, vas_err *e);
int http_server_port(const http_server *s);
/* Stops accepting, finishes in-flight requests, frees. NULL is a no-op. */
void http_server_stop(http_server *s);

#endif
