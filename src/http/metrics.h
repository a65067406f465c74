/* metrics.h - request counters for GET /metrics (Prometheus text format).
 * Owns: counters by route and status, bytes in/out. Job metrics are read from the catalog at
 * scrape time (they change in worker processes). Threads: any; counters are atomics. */
#ifndef VAS_METRICS_H
#define VAS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum {
    HTTP_ROUTE_NONE, /* unknown path */
    HTTP_ROUTE_FILES,
    HTTP_ROUTE_FILE,
    HTTP_ROUTE_ANALYSES,
    HTTP_ROUTE_ANALYSIS,
    HTTP_ROUTE_MODELS,
    HTTP_ROUTE_HEALTH,
    HTTP_ROUTE_METRICS,
    HTTP_ROUTE_WORKERS,
    HTTP_ROUTE_TYPES,  /* /analysis/types */
    HTTP_ROUTE_LINK,   /* /file/<id>/link */
    HTTP_ROUTE_PAGE,   /* / and /view/<id>: the web page */
    HTTP_ROUTE_STATIC, /* /static/<name>: its scripts and styles */
    HTTP_ROUTE_COUNT
};

#define METRICS_N_STATUS 17 /* the statuses vas answers, then "other" */

typedef struct http_metrics {
    atomic_uint_fast64_t requests[HTTP_ROUTE_COUNT][METRICS_N_STATUS];
    atomic_uint_fast64_t bytes_in, bytes_out;
} http_metrics;

extern const char *const metrics_route_names[HTTP_ROUTE_COUNT];

void metrics_count(http_metrics *m, int route, unsigned status, uint64_t in, uint64_t out);
/* Appends the request metrics in Prometheus text to a growing buffer (*buf, *len, *cap: realloc'd;
 * caller frees *buf). Returns 0, or -1 out of memory. */
int metrics_format(const http_metrics *m, char **buf, size_t *len, size_t *cap);
/* printf-append to such a buffer. */
int metrics_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
