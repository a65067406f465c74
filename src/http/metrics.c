/* metrics.c - see metrics.h. */
#include "http/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *const metrics_route_names[HTTP_ROUTE_COUNT] = {
    "unknown",        "/file",   "/file/:id",    "/analysis", "/analysis/:id",
    "/model",         "/health", "/metrics",     "/workers",  "/analysis/types",
    "/file/:id/link", "/",       "/static/:name"};

static const unsigned statuses[METRICS_N_STATUS] = {200, 202, 206, 304, 400, 401, 404, 405, 409,
                                                    413, 416, 429, 431, 500, 503, 507, 0};

static int status_index(unsigned status)
{
    for (int i = 0; i < METRICS_N_STATUS && statuses[i]; i++)
        if (statuses[i] == status)
            return i;
    return METRICS_N_STATUS - 1; /* "other" */
}

void metrics_count(http_metrics *m, int route, unsigned status, uint64_t in, uint64_t out)
{
    if (route < 0 || route >= HTTP_ROUTE_COUNT)
        route = HTTP_ROUTE_NONE;
    atomic_fetch_add_explicit(&m->requests[route][status_index(status)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_in, in, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_out, out, memory_order_relaxed);
}

int metrics_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if (*buf && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return 0;
        }
        size_t ncap = (*cap ? *cap * 2 : 4096) + (size_t)n;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = ncap;
    }
}

int metrics_format(const http_metrics *m, char **buf, size_t *len, size_t *cap)
{
    int rc = metrics_appendf(buf, len, cap,
                             "# HELP vas_http_requests_total HTTP requests answered.\n"
                             "# TYPE vas_http_requests_total counter\n");

    for (int r = 0; r < HTTP_ROUTE_COUNT && rc == 0; r++) {
        for (int s = 0; s < METRICS_N_STATUS && rc == 0; s++) {
            uint64_t v = atomic_load_explicit(&m->requests[r][s], memory_order_relaxed);
            if (!v)
                continue;
            if (statuses[s])
                rc = metrics_appendf(buf, len, cap,
                                     "vas_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                                     metrics_route_names[r], statuses[s], (unsigned long long)v);
            else
                rc = metrics_appendf(
                    buf, len, cap, "vas_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                    metrics_route_names[r], (unsigned long long)v);
        }
    }
    if (rc == 0)
        rc = metrics_appendf(buf, len, cap,
                             "# HELP vas_http_received_bytes_total Request body bytes received.\n"
                             "# TYPE vas_http_received_bytes_total counter\n"
                             "vas_http_received_bytes_total %llu\n"
                             "# HELP vas_http_sent_bytes_total Response body bytes sent.\n"
                             "# TYPE vas_http_sent_bytes_total counter\n"
                             "vas_http_sent_bytes_total %llu\n",
                             (unsigned long long)atomic_load(&m->bytes_in),
                             (unsigned long long)atomic_load(&m->bytes_out));
    return rc;
}
