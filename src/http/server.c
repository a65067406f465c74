/* server.c - the libmicrohttpd daemon: routing, auth, the request life cycle, the store pool.
 *
 * A request's life (one http_req, MHD calls on_request several times):
 *   1. first call: route + method + auth checked; a POST starts its body parser (body.c).
 *   2. calls with data: the body is parsed while it arrives (uploads stream to disk).
 *   3. last call (no data): the route's handler runs and queues exactly one response.
 *   4. on_completed: one log line, metrics, and every resource of the request is released
 *      (an upload cut off mid-body is aborted here, so nothing of it remains).
 * A response may be queued early, at step 1 (401, 404, 405, 413 by Content-Length): the rest of
 * the body is then dropped. An error found inside the body (400, 413 while streaming) is answered
 * at step 3, since MHD refuses a response queued while the body is still arriving. */
#include "http/http_int.h"

#include "core/log.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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
             {"/metrics", HTTP_ROUTE_METRICS, HTTP_ROUTE_NONE}};

    id[0] = '\0';
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t n = strlen(t[i].prefix);
        const char *rest = path + n;
        if (strncmp(path, t[i].prefix, n) != 0)
            continue;
        if (*rest == '\0' || strcmp(rest, "/") == 0)
            return t[i].many;
        if (*rest != '/' || t[i].one == HTTP_ROUTE_NONE)
            continue;
        rest++;
        size_t k = strlen(rest);
        if (k && rest[k - 1] == '/')
            k--;
        if (k == 0 || k >= idn || memchr(rest, '/', k))
            return HTTP_ROUTE_NONE;
        memcpy(id, rest, k);
        id[k] = '\0';
        return t[i].one;
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

/* Step 1: route, method, auth; starts the body parser. */
static void request_begin(http_req *r)
{
    const config *cfg = r->srv->cfg;
    const route_def *d;
    int is_get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");

    r->route = route_of(r->path, r->id, sizeof(r->id));
    if (cfg->api_token && *cfg->api_token && r->route != HTTP_ROUTE_HEALTH &&
        !token_ok(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization"),
                  cfg->api_token)) {
        reply_error(r, MHD_HTTP_UNAUTHORIZED, "this server needs 'Authorization: Bearer <token>'");
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
        return MHD_YES;
    }
    if (*data_size) {
        r->bytes_in += *data_size;
        if (!r->answered && body_feed(r, data, *data_size) == MHD_NO)
            return MHD_NO;
        *data_size = 0;
        return MHD_YES;
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

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    http_server *s = cls;
    http_req *r = *con_cls;

    (void)conn;
    if (!r)
        return;
    metrics_count(&s->metrics, r->route, (unsigned)r->status, r->bytes_in, r->bytes_out);
    log_info("http", "event=request method=%s path=%s status=%d in=%llu out=%llu us=%lld%s",
             r->method, r->path, r->status, (unsigned long long)r->bytes_in,
             (unsigned long long)r->bytes_out, (long long)(now_us() - r->t0_us),
             why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " cut_off=1");
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

int http_server_start(const analysis_env *env, http_notify_fn notify, void *notify_arg,
                      http_server **out, vas_err *e)
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
    s->notify = notify;
    s->notify_arg = notify_arg;
    s->list_gen = -1;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_mutex_init(&s->cache_lock, NULL);
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
            (v6 ? MHD_USE_IPv6 : 0),
        (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 << 10), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)300, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_END);
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
    free(s);
}
