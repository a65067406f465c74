/* rq_server_events.c - the server's event consumer: reads `vas:events` in group `server` up to
 * BATCH events at a time, applies them to the catalog in one transaction (one statement each,
 * store_remote.c), then removes the started jobs from `vas:queued` and XACKs the batch, in one
 * round trip. At start
 * it first re-reads its own pending events (a server killed between commit and XACK applies them
 * again; the state checks make that harmless). See docs/redis-queue.md, "Events".
 * Threads: its own thread, with its own Redis and catalog connections (rq_server_thr). */
#include "core/log.h"
#include "queue/rq_server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS    "vas:events"
#define BLOCK_MS  1000
#define MAX_DESCR 2048
#define BATCH     128 /* events read, applied and acknowledged together */

/* One batch: the entries read, and the ids of jobs that started (for one SREM). */
typedef struct batch {
    rq_redis_entry en[BATCH];
    const char *started[BATCH]; /* borrowed from en */
    int n, n_started;
} batch;

static int apply_started(rq_server_thr *t, batch *b, const char *id, const char *worker,
                         const char *entry, vas_err *e)
{
    int changed = 0;
    int rc = store_remote_start(t->st, id, worker, entry ? entry : "", &changed, e);

    if (rc == VAS_OK && changed)
        log_info("queue", "event=job_state analysis_id=%s state=STARTED worker=%s", id, worker);
    if (rc == VAS_OK)
        b->started[b->n_started++] = id; /* no longer waiting: SREMed after the commit */
    return rc;
}

static int apply_end(rq_server_thr *t, const char *id, const char *worker, const char *type,
                     const json_t *data, vas_err *e)
{
    const json_t *result = json_object_get(data, "result");
    const char *descr = json_string_value(json_object_get(data, "description"));
    char d[MAX_DESCR];
    int changed = 0, ok = strcmp(type, "success") == 0, rc;

    if (ok && !json_is_object(result)) { /* a worker's bug: say so rather than lose the job */
        ok = 0;
        descr = "the worker reported success without a result";
    }
    snprintf(d, sizeof(d), "%s", descr ? descr : "the analysis failed on its worker");
    rc = store_remote_end(t->st, id, worker, ok ? result : NULL, d, &changed, e);
    if (rc == VAS_OK && changed)
        log_info("queue", "event=job_state analysis_id=%s state=%s worker=%s", id,
                 ok ? "SUCCESS" : "FAILURE", worker);
    return rc;
}

/* Applies one event; a malformed one is logged and dropped (VAS_OK: it is acknowledged). */
static int apply(rq_server_thr *t, batch *b, const rq_redis_entry *en, vas_err *e)
{
    const char *id = rq_redis_entry_get(en, "id");
    const char *type = rq_redis_entry_get(en, "type");
    const char *worker = rq_redis_entry_get(en, "worker");
    const char *txt = rq_redis_entry_get(en, "data");
    json_t *data = txt ? json_loads(txt, 0, NULL) : json_object();
    int rc = VAS_OK;

    if (!id || !type || !worker || !json_is_object(data)) {
        log_warn("queue", "event=bad_event entry=%s", en->id);
    } else if (!strcmp(type, "started")) {
        rc = apply_started(t, b, id, worker, rq_redis_entry_get(en, "entry"), e);
    } else if (!strcmp(type, "progress")) {
        const char *unit = json_string_value(json_object_get(data, "unit"));
        rc = store_remote_progress(t->st, id, worker,
                                   json_integer_value(json_object_get(data, "done")),
                                   json_integer_value(json_object_get(data, "total")), unit, e);
    } else if (!strcmp(type, "success") || !strcmp(type, "failure")) {
        rc = apply_end(t, id, worker, type, data, e);
    } else if (strcmp(type, "cancelled") != 0) {
        log_warn("queue", "event=bad_event entry=%s type=%.32s", en->id, type);
    }
    json_decref(data);
    return rc;
}

/* SREM vas:queued <started ids> and XACK vas:events server <all ids>, in one round trip. */
static int acknowledge(rq_server_thr *t, batch *b, vas_err *e)
{
    const char *argv[BATCH + 3];
    redisReply *rep[2] = {NULL, NULL};
    int n_cmd = 0, rc = VAS_OK;

    if (b->n_started) {
        argv[0] = "SREM";
        argv[1] = "vas:queued";
        memcpy(argv + 2, b->started, sizeof(argv[0]) * (size_t)b->n_started);
        rc = rq_redis_append(t->r, b->n_started + 2, argv, e);
        n_cmd += rc == VAS_OK;
    }
    argv[0] = "XACK";
    argv[1] = EVENTS;
    argv[2] = "server";
    for (int i = 0; i < b->n; i++)
        argv[3 + i] = b->en[i].id;
    if (rc == VAS_OK)
        rc = rq_redis_append(t->r, b->n + 3, argv, e);
    if (rc == VAS_OK)
        rc = rq_redis_pipe(t->r, ++n_cmd, rep, e);
    for (int i = 0; rc == VAS_OK && i < n_cmd; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR)
            rc = err_set(e, VAS_EIO, "Redis refused to acknowledge events: %s", rep[i]->str);
    for (int i = 0; i < n_cmd && rep[i]; i++)
        freeReplyObject(rep[i]);
    return rc;
}

/* Reads, applies and acknowledges a batch of events (from "0": this consumer's pending ones;
 * ">": new ones). A failure rolls the whole batch back: it is read again through "0".
 * VAS_ENOTFOUND when none came. */
static int consume(rq_server_thr *t, batch *b, const char *from, vas_err *e)
{
    const char *streams[] = {EVENTS};
    int rc = rq_redis_read(t->r, "server", "server", strcmp(from, "0") ? BLOCK_MS : -1, BATCH, 1,
                           streams, from, b->en, &b->n, e);

    b->n_started = 0;
    if (rc < 0)
        return rc;
    rc = store_remote_begin(t->st, e);
    for (int i = 0; rc == VAS_OK && i < b->n; i++)
        rc = apply(t, b, &b->en[i], e);
    if (rc == VAS_OK)
        rc = store_remote_end_batch(t->st, 1, e);
    else
        store_remote_end_batch(t->st, 0, NULL);
    if (rc == VAS_OK)
        rc = acknowledge(t, b, e);
    for (int i = 0; i < b->n; i++)
        rq_redis_entry_clear(&b->en[i]);
    b->n = 0;
    return rc;
}

void *rq_server_events_main(void *arg)
{
    rq_server *q = arg;
    rq_server_thr *t = &q->events;
    batch *b = calloc(1, sizeof(*b));
    int replay = 1; /* first the events a previous server read but did not acknowledge */

    if (!b) {
        log_error("queue", "event=events_error error=\"out of memory\"");
        return NULL;
    }
    while (!atomic_load(&q->stop)) {
        vas_err e = {0};
        int rc = consume(t, b, replay ? "0" : ">", &e);
        if (rc == VAS_ENOTFOUND) {
            replay = 0;
        } else if (rc < 0 && !atomic_load(&q->stop)) {
            log_error("queue", "event=events_error error=\"%s\"", e.msg);
            replay = 1; /* what was read but not acknowledged comes back through "0" */
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    free(b);
    return NULL;
}
