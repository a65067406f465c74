/* server.c - the libmicrohttpd daemon: routing, auth, the request life cycle, the store pool.
 *
 * A request's life (one http_req, MHD calls on_request several times):
 *   1. first call: route + method + auth checked; a POST starts its body parser (body.c).
 *   2. calls with data: the body is parsed while it arrives (uploads stream to disk).
 *   3. last call (no data): the route's handler runs and queues exactly one response.
 *   4. on_completed: one log line, metrics, and every resource of the request is released
 *      (an upload cut off mid-body is aborted here, so nothing of it remains).
 * A request may be refused at step 1 (429/503 connection limits, 431, 401, 404, 405, 413 by
 * Content-Length). Queued there, MHD sends it without reading the body and closes; a client still
 * sending its body then gets a reset, which may destroy the answer before it reads it. So a body
 * of up to HTTP_DRAIN_MAX is read and dropped first, the answer held in r->pending until step 3;
 * a larger one (or one the client holds back on `Expect: 100-continue`) is answered at once with
 * Connection: close. An error found inside the body (400, 413 while streaming) is answered at
 * step 3, since MHD refuses a response queued while the body is still arriving. */
#include "http/http_int.h"

#include "core/log.h"
#include "core/util.h"
#include "http/link.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct route_def {
    int route;
    const char *allow; /* the Allow header */
    http_handler get, post, del;
} route_def;

static const route_def routes[HTTP_ROUTE_COUNT] = {
    [HTTP_ROUTE_FILES] = {HTTP_ROUTE_FILES, "GET, HEAD, POST", files_list, files_post, NULL},
    [HTTP_ROUTE_FILE] = {HTTP_ROUTE_FILE, "GET, HEAD, DELETE", files_get, NULL, files_delete},
    [HTTP_ROUTE_ANALYSES] = {HTTP_ROUTE_ANALYSES, "GET, HEAD, POST", analyses_list, analyses_post,
                             NULL},
    [HTTP_ROUTE_ANALYSIS] = {HTTP_ROUTE_ANALYSIS, "GET, HEAD, DELETE", analyses_get, NULL,
                             analyses_delete},
    [HTTP_ROUTE_MODELS] = {HTTP_ROUTE_MODELS, "GET, HEAD", ops_models, NULL, NULL},
    [HTTP_ROUTE_HEALTH] = {HTTP_ROUTE_HEALTH, "GET, HEAD", ops_health, NULL, NULL},
    [HTTP_ROUTE_METRICS] = {HTTP_ROUTE_METRICS, "GET, HEAD", ops_metrics, NULL, NULL},
    [HTTP_ROUTE_WORKERS] = {HTTP_ROUTE_WORKERS, "GET, HEAD", ops_workers, NULL, NULL},
    [HTTP_ROUTE_TYPES] = {HTTP_ROUTE_TYPES, "GET, HEAD", analyses_types, NULL, NULL},
    [HTTP_ROUTE_LINK] = {HTTP_ROUTE_LINK, "GET, HEAD", files_link, NULL, NULL},
    [HTTP_ROUTE_PAGE] = {HTTP_ROUTE_PAGE, "GET, HEAD", web_page, NULL, NULL},
    [HTTP_ROUTE_STATIC] = {HTTP_ROUTE_STATIC, "GET, HEAD", web_static, NULL, NULL},
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* path's last part, after prefix, into id when it is one non-empty part ("abc" or "abc/"): 1, or
 * 0 when path is not prefix + one part. */
static int one_part(const char *path, const char *prefix, char *id, size_t idn)
{
    size_t n = strlen(prefix), k;

    if (strncmp(path, prefix, n) != 0)
        return 0;
    path += n;
    k = strlen(path);
    if (k && path[k - 1] == '/')
        k--;
    if (k == 0 || k >= idn || memchr(path, '/', k))
        return 0;
    memcpy(id, path, k);
    id[k] = '\0';
    return 1;
}

/* "/file/abc" -> HTTP_ROUTE_FILE with id "abc". A trailing slash is tolerated. */
static int route_of(const char *path, char *id, size_t idn)
{
    static const struct {
        const char *prefix;
        int many, one;
    } t[] = {{"/file", HTTP_ROUTE_FILES, HTTP_ROUTE_FILE},
             {"/analysis", HTTP_ROUTE_ANALYSES, HTTP_ROUTE_ANALYSIS},
             {"/model", HTTP_ROUTE_MODELS, HTTP_ROUTE_NONE},
             {"/health", HTTP_ROUTE_HEALTH, HTTP_ROUTE_NONE},
             {"/metrics", HTTP_ROUTE_METRICS, HTTP_ROUTE_NONE},
             {"/workers", HTTP_ROUTE_WORKERS, HTTP_ROUTE_NONE}};
    const char *slash = strchr(path + 1, '/');

    id[0] = '\0';
    if (!strcmp(path, "/"))
        return HTTP_ROUTE_PAGE;
    if (one_part(path, "/view/", id, idn))
        return HTTP_ROUTE_PAGE;
    if (one_part(path, "/static/", id, idn))
        return HTTP_ROUTE_STATIC;
    if (!strcmp(path, "/analysis/types") || !strcmp(path, "/analysis/types/"))
        return HTTP_ROUTE_TYPES;
    if (!strncmp(path, "/file/", 6) && (slash = strchr(path + 6, '/')) && slash > path + 6 &&
        (size_t)(slash - path - 6) < idn && (!strcmp(slash, "/link") || !strcmp(slash, "/link/"))) {
        memcpy(id, path + 6, (size_t)(slash - path - 6));
        id[slash - path - 6] = '\0';
        return HTTP_ROUTE_LINK;
    }
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t n = strlen(t[i].prefix);
        if (strncmp(path, t[i].prefix, n) != 0)
            continue;
        if (path[n] == '\0' || strcmp(path + n, "/") == 0)
            return t[i].many;
        if (path[n] != '/' || t[i].one == HTTP_ROUTE_NONE)
            continue;
        return one_part(path + n, "/", id, idn) ? t[i].one : HTTP_ROUTE_NONE;
    }
    return HTTP_ROUTE_NONE;
}

/* Constant-time comparison, so the token can't be guessed byte by byte from timings. */
static int token_ok(const char *got, const char *want)
{
    size_t gn = got ? strlen(got) : 0, wn = strlen(want);
    unsigned char d = gn != wn + 7;

    for (size_t i = 0; i < wn + 7; i++) {
        unsigned char g = i < gn ? (unsigned char)got[i] : 0;
        unsigned char w = i < 7 ? (unsigned char)"Bearer "[i] : (unsigned char)want[i - 7];
        d |= g ^ w;
    }
    return d == 0;
}

/* ---- connection limits (LIMIT_CONNECTIONS, LIMIT_CONNECTIONS_PER_CLIENT) ----
 * MHD's own limits drop the socket without a word, so connections are counted here, at accept,
 * and a connection over a limit is marked; its first request is answered 503 or 429 with
 * Retry-After and Connection: close (on_request). MHD's limits stay as a backstop a little above
 * ours, against a flood of connections that never send a request. */

static http_client *client_of(http_server *s, const char *addr)
{
    for (int i = 0; i < s->n_clients; i++)
        if (!strcmp(s->clients[i].addr, addr))
            return &s->clients[i];
    if (s->n_clients == s->cap_clients) {
        int cap = s->cap_clients ? s->cap_clients * 2 : 16;
        http_client *c = realloc(s->clients, (size_t)cap * sizeof(*c));
        if (!c)
            return NULL;
        s->clients = c;
        s->cap_clients = cap;
    }
    http_client *c = &s->clients[s->n_clients++];
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    c->n = 0;
    return c;
}

static void conn_addr(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, n, "?");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
}

/* Threads: MHD's, at accept and at close of each connection. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *s = cls;
    http_conn *c = *ctx;
    http_client *cl;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return; /* uncounted; MHD's backstop limits still hold */
        conn_addr(conn, c->addr, sizeof(c->addr));
        pthread_mutex_lock(&s->conn_lock);
        s->n_conns++;
        cl = client_of(s, c->addr);
        if (cl)
            cl->n++;
        if (s->n_conns > s->cfg->lim.connections)
            c->refuse = MHD_HTTP_SERVICE_UNAVAILABLE;
        else if (cl && cl->n > s->cfg->lim.connections_per_client)
            c->refuse = MHD_HTTP_TOO_MANY_REQUESTS;
        pthread_mutex_unlock(&s->conn_lock);
        *ctx = c;
        return;
    }
    if (!c)
        return;
    pthread_mutex_lock(&s->conn_lock);
    s->n_conns--;
    for (int i = 0; i < s->n_clients; i++) {
        if (strcmp(s->clients[i].addr, c->addr) != 0)
            continue;
        if (--s->clients[i].n <= 0)
            s->clients[i] = s->clients[--s->n_clients];
        break;
    }
    pthread_mutex_unlock(&s->conn_lock);
    free(c);
    *ctx = NULL;
}

static enum MHD_Result add_len(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    size_t *n = cls;

    (void)kind;
    *n += strlen(key) + (value ? strlen(value) : 0) + 4; /* "k: v\r\n", "k=v&" */
    return MHD_YES;
}

/* Refusals before anything else: a connection over a limit, headers over LIMIT_HEADER_BYTES
 * (MHD's memory limit, set above it, is the backstop: MHD answers its own 431 page there).
 * 1 when answered. */
static int request_refused(http_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const http_conn *c = ci ? ci->socket_context : NULL;
    const config_limits *lim = &r->srv->cfg->lim;
    size_t n = strlen(r->method) + strlen(r->path) + 12;

    if (c && c->refuse) {
        r->close = 1;
        if (c->refuse == MHD_HTTP_SERVICE_UNAVAILABLE)
            reply_error_hdr(r, c->refuse, MHD_HTTP_HEADER_RETRY_AFTER, "1",
                            "the server has its limit of %d open connections (LIMIT_CONNECTIONS);"
                            " retry later",
                            lim->connections);
        else
            reply_error_hdr(r, c->refuse, MHD_HTTP_HEADER_RETRY_AFTER, "1",
                            "this client has its limit of %d open connections"
                            " (LIMIT_CONNECTIONS_PER_CLIENT); close one or retry later",
                            lim->connections_per_client);
        return 1;
    }
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_len, &n);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_len, &n);
    if ((int64_t)n > lim->header_bytes) {
        r->close = 1;
        reply_error(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "the request line and headers are larger than %lld bytes (LIMIT_HEADER_BYTES)",
                    (long long)lim->header_bytes);
        return 1;
    }
    return 0;
}

/* Whether a reply at step 1 should wait until the body has been read and dropped: the client
 * is sending it (no Expect: 100-continue) and it is not over HTTP_DRAIN_MAX. Otherwise the
 * reply goes at once and the connection is closed. */
static void drain_or_close(http_req *r)
{
    const char *ex = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Expect");
    const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    int64_t n = 0;

    if (ex && !strcasecmp(ex, "100-continue"))
        return; /* the client waits for our answer before sending */
    if (te) {
        r->defer = 1; /* chunked: dropped up to HTTP_DRAIN_MAX, then the connection is cut */
        return;
    }
    if (cl && util_parse_i64(cl, &n) == 0 && n > 0) {
        r->defer = n <= HTTP_DRAIN_MAX;
        r->close = !r->defer;
    }
}

/* Why a request for /file/<id> carrying a signed link's arguments is not let through by it
 * ("has expired", "is not valid"), or NULL: no link arguments, or a good link (link.h). */
static const char *link_why(http_req *r)
{
    const char *x = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "expires");
    const char *sig = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "signature");
    const char *why = NULL;

    if (!x && !sig)
        return NULL;
    if (http_link_check(r->srv->cfg->api_token, r->id, x, sig, (int64_t)time(NULL), &why))
        return NULL;
    return why;
}

/* Whether a request needs no token: /health, the web page's files, and a GET or HEAD of a file
 * through a good signed link. */
static int open_route(http_req *r, int is_get)
{
    if (r->route == HTTP_ROUTE_HEALTH || r->route == HTTP_ROUTE_PAGE ||
        r->route == HTTP_ROUTE_STATIC)
        return 1;
    return r->route == HTTP_ROUTE_FILE && is_get &&
           MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "signature") && !link_why(r);
}

/* Step 1: refusals, route, method, auth; starts the body parser. */
static void request_begin(http_req *r)
{
    const config *cfg = r->srv->cfg;
    const route_def *d;
    int is_get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");

    drain_or_close(r);
    if (request_refused(r))
        return;
    r->route = route_of(r->path, r->id, sizeof(r->id));
    if (cfg->api_token && *cfg->api_token && !open_route(r, is_get) &&
        !token_ok(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization"),
                  cfg->api_token)) {
        if (r->route == HTTP_ROUTE_FILE && link_why(r))
            reply_error(r, MHD_HTTP_UNAUTHORIZED,
                        "this download link %s: open it again from the page (links last %d "
                        "hours)",
                        link_why(r), HTTP_LINK_TTL_S / 3600);
        else
            reply_error(r, MHD_HTTP_UNAUTHORIZED,
                        "this server needs 'Authorization: Bearer <token>'");
        return;
    }
    if (r->route == HTTP_ROUTE_NONE) {
        reply_error(r, MHD_HTTP_NOT_FOUND, "there is nothing at %s", r->path);
        return;
    }
    d = &routes[r->route];
    r->handler = is_get                         ? d->get
                 : !strcmp(r->method, "POST")   ? d->post
                 : !strcmp(r->method, "DELETE") ? d->del
                                                : NULL;
    if (!r->handler) {
        reply_error_hdr(r, MHD_HTTP_METHOD_NOT_ALLOWED, MHD_HTTP_HEADER_ALLOW, d->allow,
                        "%s is not allowed on %s (allowed: %s)", r->method, r->path, d->allow);
        return;
    }
    if (!strcmp(r->method, "POST") && body_begin(r, r->route == HTTP_ROUTE_FILES) < 0 &&
        !r->answered)
        reply_error(r, reply_status_of(r->body_err), "%s", r->body_msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    http_req *r = *con_cls;

    (void)version;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->srv = cls;
        r->conn = conn;
        r->method = method;
        r->t0_us = now_us();
        snprintf(r->path, sizeof(r->path), "%s", url);
        *con_cls = r;
        request_begin(r);
        r->defer = 0;
        if (!r->pending)
            r->close = 0; /* only for a reply at once */
        return MHD_YES;
    }
    if (*data_size) {
        r->bytes_in += *data_size;
        if (r->pending && r->bytes_in > (uint64_t)HTTP_DRAIN_MAX)
            return MHD_NO; /* a chunked body too long to drop: cut */
        if (!r->answered && body_feed(r, data, *data_size) == MHD_NO)
            return MHD_NO;
        *data_size = 0;
        return MHD_YES;
    }
    if (r->pending) { /* the body is dropped: now the client reads our answer */
        enum MHD_Result ok = MHD_queue_response(conn, r->pending_status, r->pending);
        MHD_destroy_response(r->pending);
        r->pending = NULL;
        return ok;
    }
    if (r->answered)
        return MHD_YES;
    if ((r->body_kind || r->body_err) && body_end(r) < 0) {
        reply_error(r, reply_status_of(r->body_err), "%s", r->body_msg);
        return MHD_YES;
    }
    r->handler(r);
    if (!r->answered)
        reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "the server could not answer");
    return MHD_YES;
}

static const char *end_name(enum MHD_RequestTerminationCode why)
{
    switch (why) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_closed";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    default:
        return "connection_error"; /* a send or receive failed: often a client that hung up */
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    http_server *s = cls;
    http_req *r = *con_cls;

    (void)conn;
    if (!r)
        return;
    metrics_count(&s->metrics, r->route, (unsigned)r->status, r->bytes_in, r->bytes_out);
    log_info("http", "event=request method=%s path=%s status=%d in=%llu out=%llu us=%lld%s%s",
             r->method, r->path, r->status, (unsigned long long)r->bytes_in,
             (unsigned long long)r->bytes_out, (long long)(now_us() - r->t0_us),
             why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " cut_off=1 why=", end_name(why));
    if (r->pending)
        MHD_destroy_response(r->pending);
    body_free(r);
    if (r->st) {
        pthread_mutex_lock(&s->pool_lock);
        if (s->n_pool < HTTP_POOL_MAX) {
            s->pool[s->n_pool++] = r->st;
            r->st = NULL;
        }
        pthread_mutex_unlock(&s->pool_lock);
        store_close(r->st);
    }
    free(r);
    *con_cls = NULL;
}

int http_store_get(http_req *r, vas_err *e)
{
    http_server *s = r->srv;

    if (r->st)
        return VAS_OK;
    pthread_mutex_lock(&s->pool_lock);
    if (s->n_pool > 0)
        r->st = s->pool[--s->n_pool];
    pthread_mutex_unlock(&s->pool_lock);
    if (r->st)
        return VAS_OK;
    return store_open(s->cfg->database, s->cfg->data_folder, &r->st, e);
}

int http_paging(http_req *r, int64_t *limit, int64_t *offset, vas_err *e)
{
    const char *l = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *o = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "offset");

    *limit = -1;
    *offset = 0;
    if (l && (util_parse_i64(l, limit) < 0 || *limit < 0))
        return err_set(e, VAS_EINVAL, "limit must be a non-negative whole number, not '%s'", l);
    if (o && (util_parse_i64(o, offset) < 0 || *offset < 0))
        return err_set(e, VAS_EINVAL, "offset must be a non-negative whole number, not '%s'", o);
    return VAS_OK;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http", "event=mhd msg=\"%s\"", msg);
}

static int resolve(const config *cfg, struct sockaddr_storage *ss, int *v6, vas_err *e)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[16];
    int rc;

    snprintf(port, sizeof(port), "%d", cfg->port);
    rc = getaddrinfo(cfg->host, port, &hints, &res);
    if (rc != 0)
        return err_set(e, VAS_EINVAL, "cannot use host '%s': %s", cfg->host, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return VAS_OK;
}

/* MHD's hard connection limits: ours plus an eighth (at least 8), so ours answer first. */
static unsigned backstop(int limit)
{
    return (unsigned)limit + (unsigned)(limit / 8 > 8 ? limit / 8 : 8);
}

/* MHD's per-connection memory: the read buffer must hold LIMIT_HEADER_BYTES of headers with
 * room to spare, for our 431 to be the answer rather than MHD's. */
static size_t mem_limit(const config *cfg)
{
    int64_t m = 2 * cfg->lim.header_bytes + (64 << 10);

    if (m < (256 << 10))
        m = 256 << 10;
    return (size_t)(m < ((int64_t)64 << 20) ? m : ((int64_t)64 << 20));
}

int http_server_start(const analysis_env *env, http_notify_fn notify, void *notify_arg,
                      http_server **out, vas_err *e)
{
    http_queue q = {.notify = notify, .arg = notify_arg};

    return http_server_start_queue(env, &q, out, e);
}

int http_server_start_queue(const analysis_env *env, const http_queue *q, http_server **out,
                            vas_err *e)
{
    const config *cfg = env->cfg;
    struct sockaddr_storage ss;
    http_server *s;
    int v6 = 0, rc;
    const union MHD_DaemonInfo *info;

    rc = resolve(cfg, &ss, &v6, e);
    if (rc < 0)
        return rc;
    s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, VAS_ENOMEM, "out of memory starting the server");
    s->cfg = cfg;
    s->env = env;
    s->q = *q;
    s->notify = q->notify;
    s->notify_arg = q->arg;
    s->list_gen = -1;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_mutex_init(&s->cache_lock, NULL);
    pthread_mutex_init(&s->conn_lock, NULL);
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
            (v6 ? MHD_USE_IPv6 : 0),
        (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem_limit(cfg), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)300, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_CONNECTION_LIMIT, backstop(cfg->lim.connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, backstop(cfg->lim.connections_per_client),
        MHD_OPTION_END);
    if (!s->d) {
        http_server_stop(s);
        return err_set(e, VAS_EIO, "cannot listen on %s:%d (in use, or not an address here)",
                       cfg->host, cfg->port);
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    *out = s;
    return VAS_OK;
}

int http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    for (int i = 0; i < s->n_pool; i++)
        store_close(s->pool[i]);
    free(s->list_body);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_mutex_destroy(&s->cache_lock);
    pthread_mutex_destroy(&s->conn_lock);
    free(s->clients);
    free(s);
}
