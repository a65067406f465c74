/* http_int.h - what the http module files share: the request context and helpers. Not for other
 * modules. */
#ifndef VAS_HTTP_INT_H
#define VAS_HTTP_INT_H

#include "http/http.h"
#include "http/metrics.h"
#include "store/store.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#define HTTP_FIELD_MAX (64 << 10) /* one form field's value */
/* A refused request's body up to this size is read and dropped before the answer, so that a
 * client still sending it sees the answer rather than a reset; a larger one is answered at once
 * and the connection closed (a client sending `Expect: 100-continue` never sends it). */
#define HTTP_DRAIN_MAX ((int64_t)64 << 20)
#define HTTP_POOL_MAX  64

/* One client address and its open connections (server.c). */
typedef struct http_client {
    char addr[48]; /* numeric IPv4/IPv6 */
    int n;
} http_client;

/* One TCP connection (MHD's socket context), from accept to close. */
typedef struct http_conn {
    char addr[48];
    unsigned refuse; /* 0, or 503 (LIMIT_CONNECTIONS) / 429 (LIMIT_CONNECTIONS_PER_CLIENT) */
} http_conn;

struct http_server {
    struct MHD_Daemon *d;
    const config *cfg;
    const analysis_env *env; /* cfg and the models */
    http_notify_fn notify;
    void *notify_arg;
    http_queue q; /* the queue's hooks (notify and notify_arg are q's too) */
    int port;
    http_metrics metrics;
    pthread_mutex_t pool_lock; /* guards pool[] and n_pool; never held over I/O */
    store *pool[HTTP_POOL_MAX];
    int n_pool;
    pthread_mutex_t cache_lock; /* guards the GET /file list cache */
    int64_t list_gen;           /* files_gen the cached list was made at; -1: none */
    char *list_body;            /* cached JSON of GET /file with no limit/offset */
    size_t list_len;
    pthread_mutex_t conn_lock; /* guards n_conns and clients; never held over I/O */
    int n_conns;               /* open connections, counted at accept */
    http_client *clients;      /* addresses with open connections (n_clients, unordered) */
    int n_clients, cap_clients;
};

typedef struct http_req http_req;
typedef int (*http_handler)(http_req *r);

/* One request, from its first header callback to its completion callback. */
struct http_req {
    http_server *srv;
    struct MHD_Connection *conn;
    const char *method; /* borrowed from MHD */
    char path[512];     /* URL path, decoded by MHD */
    char id[64];        /* the <id> part of /file/<id> and /analysis/<id> */
    int route;          /* HTTP_ROUTE_* */
    http_handler handler;
    store *st; /* from the pool, returned at completion */
    int64_t t0_us;
    int status; /* answered status, for logs and metrics */
    uint64_t bytes_in, bytes_out;
    int answered;                 /* a response was queued (or is pending) */
    int defer;                    /* step 1 with a body to drain: replies wait in pending */
    int close;                    /* answer with Connection: close */
    struct MHD_Response *pending; /* answered once the body is read and dropped */
    unsigned pending_status;
    int n_fields; /* form fields so far (LIMIT_FORM_FIELDS) */
    /* body */
    int body_kind; /* BODY_NONE/JSON/FORM/MULTIPART */
    struct MHD_PostProcessor *pp;
    struct http_mp *mp; /* POST /file's multipart parser (multipart.h) */
    int in_file;        /* mp is inside the `file` part */
    char *raw;          /* JSON body so far */
    size_t raw_len;
    json_t *fields; /* every non-file field, as JSON values */
    char *cur_key;  /* form field being received */
    char *cur_val;
    size_t cur_len;
    store_writer *upload; /* the `file` field's bytes */
    char *up_name, *up_type;
    int saw_file; /* a field named `file` arrived */
    int body_err; /* VAS_E* the body parser hit; answered when the body ends */
    char body_msg[VAS_ERR_MSG];
};

/* ---- replies (reply.c) ---- */
/* Queues a JSON reply; takes body (json_decref'd even on error). */
int reply_json(http_req *r, unsigned status, json_t *body);
/* {"error": msg} with status. */
int reply_error(http_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like reply_error, with one extra response header (Allow, Content-Range). */
int reply_error_hdr(http_req *r, unsigned status, const char *hname, const char *hval,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Maps a vas_err to a status and answers with its message. */
int reply_err(http_req *r, const vas_err *e);
int reply_raw(http_req *r, unsigned status, const char *ctype, const char *body, size_t n);
unsigned reply_status_of(int code);
/* Queues body, constant for the life of the program (not copied), with ctype (NULL: none) and
 * the extra headers hdrs (name, value, ..., NULL; or NULL). For GET and HEAD, never deferred. */
int reply_const(http_req *r, unsigned status, const char *ctype, const void *body, size_t n,
                const char *const *hdrs);

/* ---- store pool (server.c) ---- */
int http_store_get(http_req *r, vas_err *e);

/* ---- bodies (body.c) ---- */
/* First call for a request with a body: picks a parser by Content-Type. */
int body_begin(http_req *r, int allow_upload);
/* Feeds data; returns MHD_YES/NO. */
enum MHD_Result body_feed(http_req *r, const char *data, size_t n);
/* At the end of the body: finishes parsing (JSON). Returns VAS_OK or body_err. */
int body_end(http_req *r);
void body_free(http_req *r);
/* The deepest nesting of [ and { in n bytes of JSON text, strings skipped; p may be NULL. */
int http_json_depth(const char *p, size_t n);
/* A field as a string (numbers are printed); NULL when absent. Borrowed until the request ends. */
const char *body_field(http_req *r, const char *key, char *buf, size_t n);

/* ---- routes ---- */
int files_post(http_req *r);
int files_list(http_req *r);
int files_get(http_req *r);
int files_delete(http_req *r);
int analyses_post(http_req *r);
int analyses_list(http_req *r);
int analyses_get(http_req *r);
int analyses_delete(http_req *r);
int ops_health(http_req *r);
int ops_metrics(http_req *r);
int ops_models(http_req *r);
int ops_workers(http_req *r);
int analyses_types(http_req *r); /* GET /analysis/types */
int files_link(http_req *r);     /* GET /file/<id>/link */
int web_page(http_req *r);       /* GET / and /view/<id> (routes_web.c) */
int web_static(http_req *r);     /* GET /static/<name> */
/* ?limit=&offset= into *limit (-1 = all) and *offset; VAS_EINVAL answered by caller. */
int http_paging(http_req *r, int64_t *limit, int64_t *offset, vas_err *e);

#endif
