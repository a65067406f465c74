/* rq_http.h - a remote worker's HTTP client to `vas serve` (libcurl): inputs fetched with
 * GET /file/<id> into the worker's own store (its cache), outputs sent with POST /file.
 * Owns: one CURL easy handle (connections kept alive between calls), the token header.
 * Outputs are sent from the job's bytes or file, never stored in the cache first.
 * Not: Redis (rq_redis.h), running jobs (rq_worker.c).
 * Threads: one rq_http per thread (the worker's slots are processes, one each). */
#ifndef VAS_RQ_HTTP_H
#define VAS_RQ_HTTP_H

#include "core/err.h"
#include "store/store.h"

#include <stdint.h>

/* How long a transfer keeps retrying (back-off 100 ms doubling to 5 s) while the server is
 * unreachable or answers 5xx: a server restart must not fail a job. */
#define RQ_HTTP_RETRY_MS (10 * 60 * 1000)

typedef struct rq_http rq_http;

/* New client for server (e.g. "http://10.0.0.1:5000"; borrowed, copied) sending
 * "Authorization: Bearer <token>" when token is not NULL/"" (copied). Caller frees: rq_http_free.
 */
int rq_http_new(const char *server, const char *token, rq_http **out, vas_err *e);
void rq_http_free(rq_http *h);
/* One authenticated request (GET /model): VAS_EAUTH when the server refuses the token, VAS_EIO
 * when it cannot be reached or answers otherwise (message says how), VAS_OK when it answers. */
int rq_http_check(rq_http *h, vas_err *e);

/* Makes file id (40 hex) present in st: nothing when it is there already; else downloads it,
 * streamed through a store_writer (so its SHA-1 is checked against id), keeping the server's
 * file name and content type. A dropped connection resumes with Range: bytes=<have>-; an
 * unreachable server or a 5xx is retried for retry_ms. A 404 is VAS_ENOTFOUND ("input file ...
 * is not on the server"), a 401 VAS_EPERM. */
int rq_http_fetch(rq_http *h, store *st, const char *id, int64_t retry_ms, vas_err *e);
/* The same, asking cancelled(arg) (when not NULL) every 250 ms or so, during the transfer and
 * between retries: non-zero stops the download with VAS_ECANCELLED. */
typedef int (*rq_http_cancelled)(void *arg);
int rq_http_fetch_c(rq_http *h, store *st, const char *id, int64_t retry_ms,
                    rq_http_cancelled cancelled, void *arg, vas_err *e);

/* Uploads an output (multipart field `file`, named filename, of content type ctype): the bytes
 * p[0..n), or the file at path when path is not NULL (all borrowed), with retries as above; the
 * server's file_id must equal id, its SHA-1 computed here (VAS_EIO otherwise). */
int rq_http_upload(rq_http *h, const void *p, size_t n, const char *path, const char *filename,
                   const char *ctype, const char *id, int64_t retry_ms, vas_err *e);

/* Counters for tests and logs: transfers resumed with Range, and retried attempts. */
void rq_http_stats(const rq_http *h, int64_t *resumed, int64_t *retries);

#endif
