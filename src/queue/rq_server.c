/* rq_server.c - the server's side of the Redis job protocol (docs/redis-queue.md): dispatcher,
 * reaper, workers snapshot and the hooks HTTP calls. The event consumer is rq_server_events.c.
 *
 * DESIGN: the catalog stays the truth; Redis only carries work. The dispatcher is the only
 * writer of `vas:jobs:*` and `vas:queued` additions, and of a PENDING row's queue_entry; the
 * event consumer moves rows out of PENDING (and SREMs them). So in one dispatch pass, reading
 * `vas:queued` BEFORE the PENDING rows makes "PENDING, has an entry, not in the set" mean only
 * "Redis lost it" (restarted without persistence), never "just started": such rows are queued
 * again. Rows without an entry are new (or reaped) and are queued at once on a notify; the full
 * pass runs every second. The reaper runs on the dispatcher's thread, so it never races it. */
#include "queue/rq_server.h"

#include "core/log.h"
#include "core/util.h"
#include "queue/rq_redis.h"
#include "queue/rq_server_int.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASS_MS     1000  /* full dispatch pass and workers snapshot */
#define GRACE_MS    3000  /* one heartbeat period: a key read missing once is no death */
#define HOLD_MS     10000 /* after Redis came back: workers beat within 3 s + their back-off */
#define REAP_MS     2000
#define MAX_PENDING 10000 /* rows looked at per pass */

/* ---- hooks (any thread) ---- */

void rq_server_notify(void *arg)
{
    rq_server *q = arg;

    pthread_mutex_lock(&q->lock);
    q->wake = 1;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

void rq_server_cancel(void *arg, const char *id)
{
    rq_server *q = arg;

    pthread_mutex_lock(&q->lock);
    /* Over the cap (1024 cancels within one dispatch round) the row is still REVOKED, and the
     * worker's result is ignored; only its early stop is lost. */
    if (q->n_cancels < RQ_SERVER_MAX_CANCELS)
        snprintf(q->cancels[q->n_cancels++], sizeof(q->cancels[0]), "%.63s", id);
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* The snapshot is up to PASS_MS old: an advertisement whose last beat is RQ_WORKER_TTL_S old
 * (its key's life) is left out here, so a dead worker is gone from GET /workers within that. */

json_t *rq_server_workers(void *arg)
{
    rq_server *q = arg;
    json_t *live = json_array(), *w;
    json_int_t now = (json_int_t)time(NULL);
    size_t i;

    if (!live)
        return NULL;
    pthread_mutex_lock(&q->lock);
    json_array_foreach(q->workers, i, w)
    {
        json_t *beat = json_object_get(w, "beat");
        if (!json_is_integer(beat) || now - json_integer_value(beat) < RQ_WORKER_TTL_S)
            json_array_append_new(live, json_deep_copy(w));
    }
    pthread_mutex_unlock(&q->lock);
    return live;
}

int rq_server_model_live(void *arg, const char *model)
{
    rq_server *q = arg;
    json_t *w, *m;
    size_t i, k;
    int found = 0;

    pthread_mutex_lock(&q->lock);
    json_array_foreach(q->workers, i, w)
    {
        found |= !model[0]; /* a job without a model runs on any worker */
        json_array_foreach(json_object_get(w, "models"), k, m) found |=
            json_is_string(m) && strcmp(json_string_value(m), model) == 0;
    }
    pthread_mutex_unlock(&q->lock);
    return found;
}

/* ---- dispatch ---- */

/* The job entry's JSON for row a (api: docs/redis-queue.md, "A job entry"). */
static json_t *job_json(const store_analysis *a)
{
    json_t *in = json_array();

    for (int i = 0; in && i < a->n_inputs; i++)
        json_array_append_new(in, json_string(a->inputs[i]));
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:O, s:s, s:i}", "id", a->id, "task_id", a->task_id,
                     "name", a->name, "model", a->model, "inputs", in, "args", a->args, "unit",
                     a->unit, "attempt", a->attempts + 1);
}

/* Jobs queued in one round: SADD vas:queued of all, then an XADD each, pipelined (one round
 * trip), then their entries into the rows in one transaction. In this order a worker's `started`
 * (which SREMs) can't come before the SADD, and a crash half-way leaves rows without an entry,
 * which the next pass queues again (a row's entry, not the set, says it was queued; the entry
 * that a row does not name is run at most to no effect, see store_remote_start). */
#define QUEUE_BATCH 64

typedef struct queue_batch {
    char id[QUEUE_BATCH][STORE_UUID_LEN + 1];
    char stream[QUEUE_BATCH][sizeof(((store_analysis *)0)->model) + 16];
    char *job[QUEUE_BATCH]; /* the entries' JSON (owned) */
    int attempt[QUEUE_BATCH];
    char entry[QUEUE_BATCH][sizeof(((store_analysis *)0)->queue_entry)];
    int n;
} queue_batch;

/* Adds PENDING row id to b (a row gone or no longer PENDING is skipped). */
static int batch_add(rq_server_thr *t, queue_batch *b, const char *id, vas_err *e)
{
    store_analysis a;
    json_t *job;
    int rc = store_analysis_find(t->st, id, &a, e);

    if (rc < 0)
        return rc == VAS_ENOTFOUND ? VAS_OK : rc; /* deleted meanwhile */
    if (strcmp(a.state, "PENDING") == 0) {
        job = job_json(&a);
        b->job[b->n] = job ? json_dumps(job, JSON_COMPACT) : NULL;
        json_decref(job);
        if (!b->job[b->n]) {
            store_analysis_clear(&a);
            return err_set(e, VAS_ENOMEM, "out of memory queueing a job");
        }
        snprintf(b->id[b->n], sizeof(b->id[0]), "%s", a.id);
        snprintf(b->stream[b->n], sizeof(b->stream[0]), "vas:jobs:%s", a.model[0] ? a.model : "-");
        b->attempt[b->n] = a.attempts + 1;
        b->n++;
    }
    store_analysis_clear(&a);
    return VAS_OK;
}

/* Sends the batch to Redis and records the entries; empties b. */
static int batch_flush(rq_server_thr *t, queue_batch *b, vas_err *e)
{
    const char *argv[QUEUE_BATCH + 2];
    redisReply *rep[QUEUE_BATCH + 1] = {NULL};
    int rc = VAS_OK, n_rep = 0;

    if (!b->n)
        return VAS_OK;
    argv[0] = "SADD";
    argv[1] = "vas:queued";
    for (int i = 0; i < b->n; i++)
        argv[2 + i] = b->id[i];
    rc = rq_redis_append(t->r, b->n + 2, argv, e);
    for (int i = 0; rc == VAS_OK && i < b->n; i++) {
        const char *x[] = {"XADD", b->stream[i], "*", "job", b->job[i]};
        rc = rq_redis_append(t->r, 5, x, e);
    }
    if (rc == VAS_OK)
        rc = rq_redis_pipe(t->r, b->n + 1, rep, e);
    n_rep = rc == VAS_OK ? b->n + 1 : 0;
    for (int i = 0; rc == VAS_OK && i < n_rep; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR || (i && rep[i]->type != REDIS_REPLY_STRING))
            rc = err_set(e, VAS_EIO, "Redis refused to queue a job: %s",
                         rep[i]->type == REDIS_REPLY_ERROR ? rep[i]->str : "not an entry id");
    for (int i = 0; rc == VAS_OK && i < b->n; i++) { /* via tmp: gcc -O1 sees b overlap b */
        char tmp[sizeof(b->entry[0])];
        snprintf(tmp, sizeof(tmp), "%s:%s", b->stream[i], rep[i + 1]->str);
        memcpy(b->entry[i], tmp, sizeof(tmp));
    }
    if (rc == VAS_OK)
        rc = store_remote_begin(t->st, e);
    for (int i = 0; rc == VAS_OK && i < b->n; i++)
        rc = store_remote_queued(t->st, b->id[i], b->entry[i], e);
    if (rc == VAS_OK)
        rc = store_remote_end_batch(t->st, 1, e);
    else
        store_remote_end_batch(t->st, 0, NULL);
    for (int i = 0; rc == VAS_OK && i < b->n; i++)
        log_debug("queue", "event=job_queued analysis_id=%s entry=%s attempt=%d", b->id[i],
                  b->entry[i], b->attempt[i]);
    for (int i = 0; i < n_rep; i++)
        freeReplyObject(rep[i]);
    for (int i = 0; i < b->n; i++)
        free(b->job[i]);
    b->n = 0;
    return rc;
}

/* The members of vas:queued as a JSON object (a set). */
static int queued_set(rq_server_thr *t, json_t **out, vas_err *e)
{
    redisReply *rep = NULL;
    json_t *set;
    int rc = rq_redis_cmd(t->r, &rep, e, "SMEMBERS vas:queued");

    if (rc < 0)
        return rc;
    set = json_object();
    for (size_t i = 0; set && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
        json_object_set_new(set, rep->element[i]->str, json_true());
    freeReplyObject(rep);
    if (!set)
        return err_set(e, VAS_ENOMEM, "out of memory");
    *out = set;
    return VAS_OK;
}

/* Queues PENDING rows: those without an entry, and (full pass) those Redis lost. */
static int dispatch(rq_server_thr *t, queue_batch *b, int full, vas_err *e)
{
    json_t *set = NULL, *ids = NULL, *v;
    size_t i;
    int rc = full ? queued_set(t, &set, e) : VAS_OK, n = 0;

    if (rc == VAS_OK)
        rc = store_remote_pending(t->st, MAX_PENDING, !full, &ids, e);
    json_array_foreach(ids, i, v)
    {
        const char *id = json_string_value(json_array_get(v, 0));
        int has_entry = json_is_true(json_array_get(v, 1));
        if (rc < 0)
            break;
        if (has_entry && (!set || json_object_get(set, id)))
            continue;
        if (has_entry)
            log_warn("queue", "event=job_requeued analysis_id=%s reason=lost_by_redis", id);
        rc = batch_add(t, b, id, e);
        if (rc == VAS_OK && b->n == QUEUE_BATCH)
            rc = batch_flush(t, b, e);
        n++;
    }
    if (rc == VAS_OK)
        rc = batch_flush(t, b, e);
    for (int k = 0; k < b->n; k++) /* what a failure left unsent */
        free(b->job[k]);
    b->n = 0;
    json_decref(set);
    json_decref(ids);
    if (rc == VAS_OK && n)
        log_debug("queue", "event=dispatched jobs=%d", n);
    return rc;
}

static int set_cancels(rq_server_thr *t, char (*ids)[64], int n, vas_err *e)
{
    char key[96];
    redisReply *rep = NULL;
    int rc = VAS_OK;

    for (int i = 0; i < n && rc == VAS_OK; i++) {
        snprintf(key, sizeof(key), "vas:cancel:%.63s", ids[i]);
        rc = rq_redis_set_ex(t->r, key, "1", 86400, e);
        if (rc == VAS_OK) /* no longer waiting to run; its entry is skipped by workers */
            rc = rq_redis_cmd(t->r, &rep, e, "SREM vas:queued %s", ids[i]);
        if (rc == VAS_OK)
            freeReplyObject(rep);
    }
    return rc;
}

/* ---- live workers ---- */

/* SCAN vas:worker:* + MGET into a new array of the advertisements. */
static int read_workers(rq_server_thr *t, json_t **out, vas_err *e)
{
    char cursor[32] = "0";
    json_t *arr = json_array();
    int rc = arr ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory");

    do {
        redisReply *rep = NULL, *vals = NULL;
        if (rc == VAS_OK)
            rc = rq_redis_cmd(t->r, &rep, e, "SCAN %s MATCH vas:worker:* COUNT 1000", cursor);
        if (rc < 0)
            break;
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        const redisReply *keys = rep->element[1];
        if (keys->elements) {
            const char *argv[1025];
            size_t n = keys->elements < 1024 ? keys->elements : 1024;
            argv[0] = "MGET";
            for (size_t i = 0; i < n; i++)
                argv[i + 1] = keys->element[i]->str;
            rc = rq_redis_cmd_argv(t->r, (int)n + 1, argv, NULL, &vals, e);
        }
        for (size_t i = 0; vals && i < vals->elements; i++) {
            json_t *w = vals->element[i]->type == REDIS_REPLY_STRING
                            ? json_loads(vals->element[i]->str, 0, NULL)
                            : NULL;
            if (json_is_object(w))
                json_array_append(arr, w);
            json_decref(w);
        }
        if (vals)
            freeReplyObject(vals);
        freeReplyObject(rep);
    } while (rc == VAS_OK && strcmp(cursor, "0") != 0);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return VAS_OK;
}

static int refresh_workers(rq_server *q, rq_server_thr *t, vas_err *e)
{
    json_t *arr = NULL, *old;
    int rc = read_workers(t, &arr, e);

    if (rc < 0)
        return rc;
    pthread_mutex_lock(&q->lock);
    old = q->workers;
    q->workers = arr;
    pthread_mutex_unlock(&q->lock);
    json_decref(old);
    return VAS_OK;
}

/* ---- reaper ---- */

/* 1 if a live advertisement of worker is in the snapshot. */
static int worker_live(rq_server *q, const char *worker)
{
    json_t *w;
    size_t i;
    int live = 0;

    pthread_mutex_lock(&q->lock);
    json_array_foreach(q->workers, i, w) live |=
        json_is_string(json_object_get(w, "name")) &&
        strcmp(json_string_value(json_object_get(w, "name")), worker) == 0;
    pthread_mutex_unlock(&q->lock);
    return live;
}

/* Requeues (or fails) job j of a dead worker; removes its old entry. */
static int reap_one(rq_server_thr *t, json_t *j, vas_err *e)
{
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *worker = json_string_value(json_object_get(j, "worker"));
    const char *entry = json_string_value(json_object_get(j, "entry"));
    const char *colon = strrchr(entry, ':');
    redisReply *rep = NULL;
    char stream[320];
    int outcome = 0;
    int rc = store_remote_requeue(t->st, id, worker, QUEUE_MAX_ATTEMPTS, &outcome, e);

    if (rc < 0 || outcome == 0)
        return rc;
    log_warn("queue", "event=job_reaped analysis_id=%s worker=%s attempts=%d state=%s", id, worker,
             (int)json_integer_value(json_object_get(j, "attempts")),
             outcome == 2 ? "FAILURE" : "PENDING");
    if (colon && colon > entry) {
        snprintf(stream, sizeof(stream), "%.*s", (int)(colon - entry), entry);
        rc = rq_redis_ack_del(t->r, stream, "workers", colon + 1, e);
    }
    if (rc == VAS_OK)
        rc = rq_redis_cmd(t->r, &rep, e, "SREM vas:queued %s", id);
    if (rc == VAS_OK)
        freeReplyObject(rep);
    return rc;
}

/* The STARTED jobs of workers missing for grace_ms go back to PENDING (or FAILURE). A Redis
 * that came back empty has no worker keys at all: nothing is reaped until HOLD_MS after this
 * thread reconnected, time for the workers to reconnect and advertise again. */
static int reap(rq_server *q, rq_server_thr *t, vas_err *e)
{
    json_t *jobs = NULL, *j, *seen;
    int64_t now = util_mono_ms();
    size_t i;
    int rc;

    if (rq_redis_reconnects(t->r) != q->reconnects_seen) {
        q->reconnects_seen = rq_redis_reconnects(t->r);
        q->hold_until = now + HOLD_MS;
        json_object_clear(q->missing);
    }
    if (now < q->hold_until)
        return VAS_OK;
    rc = store_remote_running(t->st, &jobs, e);
    if (rc < 0)
        return rc;
    seen = json_object(); /* workers still missing this round */
    json_array_foreach(jobs, i, j)
    {
        const char *w = json_string_value(json_object_get(j, "worker"));
        json_t *since = json_object_get(q->missing, w);
        if (rc < 0 || !seen || worker_live(q, w))
            continue;
        if (!since) {
            json_object_set_new(q->missing, w, json_integer(now));
            since = json_object_get(q->missing, w);
        }
        json_object_set(seen, w, since);
        if (now - json_integer_value(since) >= q->grace_ms)
            rc = reap_one(t, j, e);
    }
    json_decref(q->missing); /* a worker seen live again, or with no job left, is forgotten */
    q->missing = seen ? seen : json_object();
    json_decref(jobs);
    return rc;
}

/* ---- the dispatcher thread ---- */

/* Waits for a notify, a cancel, stop or the next pass. Cancels taken into ids/n. */
static void wait_work(rq_server *q, int64_t next_ms, char (*ids)[64], int *n)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ms = next_ms - util_mono_ms();
    if (ms > 0) {
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&q->lock);
    while (ms > 0 && !q->wake && !q->n_cancels && !atomic_load(&q->stop))
        if (pthread_cond_timedwait(&q->cond, &q->lock, &until) == ETIMEDOUT)
            break;
    q->wake = 0;
    *n = q->n_cancels;
    memcpy(ids, q->cancels, sizeof(q->cancels[0]) * (size_t)*n);
    q->n_cancels = 0;
    pthread_mutex_unlock(&q->lock);
}

static void *dispatcher_main(void *arg)
{
    rq_server *q = arg;
    rq_server_thr *t = &q->disp;
    char(*ids)[64] = q->taken; /* this thread's copy of the cancels */
    queue_batch *b = calloc(1, sizeof(*b));
    int64_t next_pass = 0, next_reap = util_mono_ms() + q->reap_ms;
    int n = 0;

    if (!b) {
        log_error("queue", "event=dispatch_error error=\"out of memory\"");
        return NULL;
    }
    while (!atomic_load(&q->stop)) {
        vas_err e = {0};
        int rc = VAS_OK, full = util_mono_ms() >= next_pass;
        if (full) {
            next_pass = util_mono_ms() + PASS_MS;
            rc = refresh_workers(q, t, &e);
        }
        if (rc == VAS_OK)
            rc = set_cancels(t, ids, n, &e);
        if (rc == VAS_OK)
            rc = dispatch(t, b, full, &e);
        if (rc == VAS_OK && util_mono_ms() >= next_reap) {
            next_reap = util_mono_ms() + q->reap_ms;
            rc = reap(q, t, &e);
        }
        if (rc < 0 && !atomic_load(&q->stop)) {
            log_error("queue", "event=dispatch_error error=\"%s\"", e.msg);
            for (int i = 0; i < n; i++) /* kept for the next round */
                rq_server_cancel(q, ids[i]);
            next_pass = util_mono_ms() + 200; /* rq_redis backed off already */
        }
        wait_work(q, next_pass, ids, &n);
    }
    free(b);
    return NULL;
}

/* ---- start, stop ---- */

/* Opens a thread's own Redis and catalog connections. */
int rq_server_thr_open(rq_server *q, rq_server_thr *t, vas_err *e)
{
    int rc = rq_redis_connect(q->url, 5000, &q->stop, &t->r, e);

    if (rc == VAS_OK)
        rc = store_open(q->cfg->database, q->cfg->data_folder, &t->st, e);
    return rc;
}

static void thr_close(rq_server_thr *t)
{
    rq_redis_free(t->r);
    store_close(t->st);
    t->r = NULL;
    t->st = NULL;
}

int rq_server_start(const config *cfg, const rq_server_opts *opts, rq_server **out, vas_err *e)
{
    rq_server *q = calloc(1, sizeof(*q));
    char safe[512];
    rq_redis_url u;
    int rc;

    if (!q)
        return err_set(e, VAS_ENOMEM, "out of memory");
    q->cfg = cfg;
    q->url = opts->url;
    q->grace_ms = opts->grace_ms > 0 ? opts->grace_ms : GRACE_MS;
    q->reap_ms = opts->reap_ms > 0 ? opts->reap_ms : REAP_MS;
    q->workers = json_array();
    q->missing = json_object();
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    rc = rq_redis_url_parse(opts->url, &u, e);
    if (rc == VAS_OK)
        rc = rq_server_thr_open(q, &q->disp, e);
    if (rc == VAS_OK)
        rc = rq_server_thr_open(q, &q->events, e);
    if (rc == VAS_OK)
        rc = rq_redis_group_create(q->events.r, "vas:events", "server", e);
    if (rc == VAS_OK && pthread_create(&q->disp_thread, NULL, dispatcher_main, q) != 0)
        rc = err_set(e, VAS_EIO, "cannot start the queue's dispatcher thread");
    else if (rc == VAS_OK)
        q->n_threads = 1;
    if (rc == VAS_OK && pthread_create(&q->events_thread, NULL, rq_server_events_main, q) != 0)
        rc = err_set(e, VAS_EIO, "cannot start the queue's event thread");
    else if (rc == VAS_OK)
        q->n_threads = 2;
    if (rc < 0) {
        rq_server_stop(q);
        return rc;
    }
    rq_redis_url_safe(&u, safe, sizeof(safe));
    log_info("queue", "event=redis_queue url=%s grace_ms=%d", safe, q->grace_ms);
    *out = q;
    return VAS_OK;
}

void rq_server_stop(rq_server *q)
{
    if (!q)
        return;
    atomic_store(&q->stop, 1);
    rq_server_notify(q);
    if (q->n_threads >= 1)
        pthread_join(q->disp_thread, NULL);
    if (q->n_threads >= 2)
        pthread_join(q->events_thread, NULL);
    thr_close(&q->disp);
    thr_close(&q->events);
    json_decref(q->workers);
    json_decref(q->missing);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
