/* fuzz_http_body - request bodies as the server reads them (http/body.c): multipart/form-data and
 * urlencoded through libmicrohttpd's post processor, JSON through jansson, all ending as one JSON
 * object of fields. The input is "<Content-Type value>\n<body>"; the request is sent through a
 * real libmicrohttpd connection (a socketpair handed to a daemon without a listening socket, run
 * from this thread), to a handler doing what server.c does with a body: body_begin, body_feed
 * per chunk, body_end, then body_field on every field, and body_free at completion. The route is
 * POST /analysis (fields only: a multipart `file` there is a field, not an upload into a store). */
#include "fuzz.h"
#include "http/http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    http_server *srv = cls;
    http_req *r = *con_cls;
    struct MHD_Response *resp;
    enum MHD_Result ok;
    unsigned status = MHD_HTTP_OK;

    (void)url;
    (void)version;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r))))
            abort();
        r->srv = srv;
        r->conn = conn;
        r->method = method;
        r->route = HTTP_ROUTE_ANALYSES;
        *con_cls = r;
        if (body_begin(r, 0) < 0)
            status = MHD_HTTP_BAD_REQUEST;
        else
            return MHD_YES;
    } else if (*data_size) {
        if (!r->answered && body_feed(r, data, *data_size) == MHD_NO)
            return MHD_NO;
        *data_size = 0;
        return MHD_YES;
    } else if (r->answered) {
        return MHD_YES;
    } else if (body_end(r) < 0) {
        status = MHD_HTTP_BAD_REQUEST;
    } else {
        const char *key;
        json_t *v;
        char buf[64];
        json_object_foreach(r->fields, key, v)
        {
            (void)v;
            body_field(r, key, buf, sizeof(buf));
        }
    }
    r->answered = 1;
    resp = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        abort();
    ok = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    http_req *r = *con_cls;

    (void)cls;
    (void)conn;
    (void)why;
    if (r) {
        body_free(r);
        free(r);
        *con_cls = NULL;
    }
}

static struct MHD_Daemon *daemon_once(void)
{
    static config cfg;
    static http_server srv;
    static struct MHD_Daemon *d;

    if (!d) {
        vas_err e = {0};
        fuzz_dir(); /* quiet logs */
        if (config_defaults(&cfg, &e) < 0)
            abort();
        srv.cfg = &cfg;
        d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, &srv,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 << 10),
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
        if (!d)
            abort();
    }
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct MHD_Daemon *d = daemon_once();
    const uint8_t *nl = memchr(data, '\n', size);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    size_t ct_len, body_len, req_len, sent = 0;
    char *req, head[512];
    int sv[2], n_head, closed = 0;

    if (!nl || (ct_len = (size_t)(nl - data)) > 200 || memchr(data, '\r', ct_len) ||
        memchr(data, '\0', ct_len))
        return 0;
    body_len = size - ct_len - 1;
    n_head = snprintf(head, sizeof(head),
                      "POST /analysis HTTP/1.1\r\nHost: fuzz\r\nContent-Type: %.*s\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      (int)ct_len, (const char *)data, body_len);
    req_len = (size_t)n_head + body_len;
    if (!(req = malloc(req_len)))
        abort();
    memcpy(req, head, (size_t)n_head);
    memcpy(req + n_head, nl + 1, body_len);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    if (MHD_add_connection(d, sv[0], (const struct sockaddr *)&addr, sizeof(addr)) != MHD_YES)
        abort(); /* MHD closes sv[0] itself from here on */
    /* Send, let MHD work, read the answer, until MHD closes its end (Connection: close). */
    for (int i = 0; i < 100000 && !closed; i++) {
        char buf[4096];
        ssize_t n;
        if (sent < req_len) {
            n = send(sv[1], req + sent, req_len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (errno == EPIPE || errno == ECONNRESET)
                sent = req_len;
        }
        if (MHD_run(d) != MHD_YES)
            abort();
        while ((n = read(sv[1], buf, sizeof(buf))) > 0)
            ;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            closed = 1;
    }
    if (!closed)
        abort(); /* the server never finished the request */
    close(sv[1]);
    free(req);
    return 0;
}
