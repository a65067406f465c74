/* routes_ops.c - GET /health, GET /metrics, GET /model, GET /workers. */
#include "http/http_int.h"

#include "analyses/analysis.h"

#include <stdlib.h>
#include <string.h>

int ops_health(http_req *r)
{
    vas_err e = {0};
    int64_t gen;

    /* Healthy = the catalog answers. */
    if (http_store_get(r, &e) < 0 || store_files_gen(r->st, &gen, &e) < 0)
        return reply_json(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                          json_pack("{s:s, s:s}", "status", "error", "error", e.msg));
    return reply_json(r, MHD_HTTP_OK,
                      json_pack("{s:s, s:s, s:i}", "status", "ok", "version", "0.1.0", "workers",
                                r->srv->cfg->workers));
}

#define job_buckets   store_job_buckets /* kept as running counters: O(1) per scrape */
#define N_JOB_BUCKETS STORE_JOB_BUCKETS

static int format_jobs(store *st, char **buf, size_t *len, size_t *cap, vas_err *e)
{
    int64_t counts[5] = {0}, b[N_JOB_BUCKETS] = {0}, count = 0;
    double sum = 0;
    int rc = store_analysis_counts(st, counts, e);

    if (rc == VAS_OK)
        rc = store_analysis_durations(st, job_buckets, N_JOB_BUCKETS, b, &sum, &count, e);
    if (rc < 0)
        return rc;
    rc = metrics_appendf(buf, len, cap,
                         "# HELP vas_jobs Analyses by state.\n# TYPE vas_jobs gauge\n");
    for (int i = 0; i < 5 && rc == 0; i++)
        rc = metrics_appendf(buf, len, cap, "vas_jobs{state=\"%s\"} %lld\n", store_states[i],
                             (long long)counts[i]);
    rc |= metrics_appendf(buf, len, cap,
                          "# HELP vas_queue_length Analyses waiting for a worker.\n"
                          "# TYPE vas_queue_length gauge\nvas_queue_length %lld\n"
                          "# HELP vas_job_duration_seconds Run time of finished analyses.\n"
                          "# TYPE vas_job_duration_seconds histogram\n",
                          (long long)counts[0]);
    for (int i = 0; i < N_JOB_BUCKETS && rc == 0; i++)
        rc = metrics_appendf(buf, len, cap, "vas_job_duration_seconds_bucket{le=\"%g\"} %lld\n",
                             job_buckets[i], (long long)b[i]);
    rc |=
        metrics_appendf(buf, len, cap,
                        "vas_job_duration_seconds_bucket{le=\"+Inf\"} %lld\n"
                        "vas_job_duration_seconds_sum %.6f\nvas_job_duration_seconds_count %lld\n",
                        (long long)count, sum, (long long)count);
    return rc ? err_set(e, VAS_ENOMEM, "out of memory writing metrics") : VAS_OK;
}

/* The live workers (a new array): the Redis queue's snapshot, [] for the embedded queue. */
static json_t *live_workers(http_req *r)
{
    return r->srv->q.workers ? r->srv->q.workers(r->srv->q.arg) : json_array();
}

/* vas_workers and vas_worker_jobs{worker}, with the Redis queue only. */
static int format_workers(http_req *r, char **buf, size_t *len, size_t *cap)
{
    json_t *arr, *w;
    size_t i;
    int rc;

    if (!r->srv->q.workers)
        return 0;
    arr = live_workers(r);
    if (!arr)
        return -1;
    rc = metrics_appendf(buf, len, cap,
                         "# HELP vas_workers Live workers (Redis queue).\n"
                         "# TYPE vas_workers gauge\nvas_workers %zu\n"
                         "# HELP vas_worker_jobs Jobs running on each live worker.\n"
                         "# TYPE vas_worker_jobs gauge\n",
                         json_array_size(arr));
    json_array_foreach(arr, i, w)
    {
        char name[128];
        size_t k = 0;
        /* A label value: names come from workers; keep only safe characters. */
        for (const char *p = json_string_value(json_object_get(w, "name")); p && *p; p++)
            if (k + 1 < sizeof(name) && *p != '"' && *p != '\\' && *p != '\n')
                name[k++] = *p;
        name[k] = '\0';
        rc |= metrics_appendf(buf, len, cap, "vas_worker_jobs{worker=\"%s\"} %zu\n", name,
                              json_array_size(json_object_get(w, "running")));
    }
    json_decref(arr);
    return rc;
}

int ops_workers(http_req *r)
{
    json_t *arr = live_workers(r);

    if (!arr)
        return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory listing workers");
    return reply_json(r, MHD_HTTP_OK, arr);
}

int ops_metrics(http_req *r)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    vas_err e = {0};
    int rc;

    if (http_store_get(r, &e) < 0 || format_jobs(r->st, &buf, &len, &cap, &e) < 0) {
        free(buf);
        return reply_err(r, &e);
    }
    if (format_workers(r, &buf, &len, &cap) < 0 ||
        metrics_format(&r->srv->metrics, &buf, &len, &cap) < 0) {
        free(buf);
        return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory writing metrics");
    }
    rc = reply_raw(r, MHD_HTTP_OK, "text/plain; version=0.0.4", buf, len);
    free(buf);
    return rc;
}

int ops_models(http_req *r)
{
    json_t *arr = pose_models_json(r->srv->env->models);

    geom_models3d_json(r->srv->env->models3d, arr); /* 3D models after the 2D ones */
    return reply_json(r, MHD_HTTP_OK, arr);
}
