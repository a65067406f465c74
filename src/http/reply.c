/* reply.c - queueing responses: JSON bodies, {"error"} bodies, and the code -> status map. */
#include "http/http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned reply_status_of(int code)
{
    switch (code) {
    case VAS_EINVAL:
    case VAS_EAMBIG:
    case VAS_EUNSUPPORTED:
        return MHD_HTTP_BAD_REQUEST;
    case VAS_ENOTFOUND:
        return MHD_HTTP_NOT_FOUND;
    case VAS_ECONFLICT:
        return MHD_HTTP_CONFLICT;
    case VAS_ETOOBIG:
        return MHD_HTTP_CONTENT_TOO_LARGE;
    case VAS_EAUTH:
        return MHD_HTTP_UNAUTHORIZED;
    case VAS_EMETHOD:
        return MHD_HTTP_METHOD_NOT_ALLOWED;
    case VAS_ERANGE:
        return MHD_HTTP_RANGE_NOT_SATISFIABLE;
    case VAS_ENOSPC:
        return MHD_HTTP_INSUFFICIENT_STORAGE;
    case VAS_EBUSY:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* Queues body (copied) with an optional extra header (hname NULL: none). */
static int queue_body(http_req *r, unsigned status, const char *ctype, const char *body, size_t n,
                      const char *hname, const char *hval)
{
    struct MHD_Response *resp;
    enum MHD_Result ok;

    resp = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return VAS_ENOMEM;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (hname)
        MHD_add_response_header(resp, hname, hval);
    if (r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r->defer && !r->pending) {
        r->pending = resp; /* queued by server.c once the body has been dropped */
        r->pending_status = status;
        ok = MHD_YES;
    } else {
        ok = MHD_queue_response(r->conn, status, resp);
        MHD_destroy_response(resp);
    }
    r->status = (int)status;
    r->bytes_out += n;
    r->answered = 1;
    return ok == MHD_YES ? VAS_OK : VAS_EIO;
}

int reply_raw(http_req *r, unsigned status, const char *ctype, const char *body, size_t n)
{
    return queue_body(r, status, ctype, body, n, NULL, NULL);
}

int reply_const(http_req *r, unsigned status, const char *ctype, const void *body, size_t n,
                const char *const *hdrs)
{
    struct MHD_Response *resp;
    enum MHD_Result ok;

    resp = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return VAS_ENOMEM;
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    for (int i = 0; hdrs && hdrs[i]; i += 2)
        MHD_add_response_header(resp, hdrs[i], hdrs[i + 1]);
    if (r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->status = (int)status;
    r->bytes_out += n;
    r->answered = 1;
    return ok == MHD_YES ? VAS_OK : VAS_EIO;
}

int reply_error_hdr(http_req *r, unsigned status, const char *hname, const char *hval,
                    const char *fmt, ...)
{
    char msg[VAS_ERR_MSG], *s;
    json_t *j;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    j = json_pack("{s:s}", "error", msg);
    s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return reply_raw(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                         "{\"error\": \"out of memory\"}", 26);
    rc = queue_body(r, status, "application/json", s, strlen(s), hname, hval);
    free(s);
    return rc;
}

int reply_json(http_req *r, unsigned status, json_t *body)
{
    char *s;
    int rc;

    if (!body)
        return reply_raw(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                         "{\"error\": \"out of memory\"}", 26);
    s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s)
        return reply_raw(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                         "{\"error\": \"out of memory\"}", 26);
    rc = reply_raw(r, status, "application/json", s, strlen(s));
    free(s);
    return rc;
}

int reply_error(http_req *r, unsigned status, const char *fmt, ...)
{
    char msg[VAS_ERR_MSG];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return reply_json(r, status, json_pack("{s:s}", "error", msg));
}

int reply_err(http_req *r, const vas_err *e)
{
    unsigned status = reply_status_of(e->code);

    return reply_error(r, status, "%s", e->msg[0] ? e->msg : "internal error");
}
