/* rq_server_events.c - the server's event consumer: reads `vas:events` in group `server`,
 * applies each event to the catalog in one statement (store_remote.c), then XACKs it. At start
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

static int apply_started(rq_server_thr *t, const char *id, const char *worker, const char *entry,
                         vas_err *e)
{
    redisReply *rep = NULL;
    int changed = 0;
    int rc = store_remote_start(t->st, id, worker, entry ? entry : "", &changed, e);

    if (rc == VAS_OK && changed)
        log_info("queue", "event=job_state analysis_id=%s state=STARTED worker=%s", id, worker);
    if (rc == VAS_OK)
        rc = rq_redis_cmd(t->r, &rep, e, "SREM vas:queued %s", id);
    if (rc == VAS_OK)
        freeReplyObject(rep);
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
static int apply(rq_server_thr *t, const rq_redis_entry *en, vas_err *e)
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
        rc = apply_started(t, id, worker, rq_redis_entry_get(en, "entry"), e);
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

/* Reads and applies one event (from "0": this consumer's pending ones; ">": new ones).
 * VAS_ENOTFOUND when none came. */
static int consume_one(rq_server_thr *t, const char *from, vas_err *e)
{
    const char *streams[] = {EVENTS};
    rq_redis_entry en = {0};
    redisReply *rep = NULL;
    int rc = rq_redis_read_one(t->r, "server", "server", strcmp(from, "0") ? BLOCK_MS : -1, 1,
                               streams, from, &en, e);

    if (rc < 0)
        return rc;
    rc = apply(t, &en, e);
    if (rc == VAS_OK)
        rc = rq_redis_cmd(t->r, &rep, e, "XACK %s server %s", EVENTS, en.id);
    if (rc == VAS_OK)
        freeReplyObject(rep);
    rq_redis_entry_clear(&en);
    return rc;
}

void *rq_server_events_main(void *arg)
{
    rq_server *q = arg;
    rq_server_thr *t = &q->events;
    int replay = 1; /* first the events a previous server read but did not acknowledge */

    while (!atomic_load(&q->stop)) {
        vas_err e = {0};
        int rc = consume_one(t, replay ? "0" : ">", &e);
        if (rc == VAS_ENOTFOUND) {
            replay = 0;
        } else if (rc < 0 && !atomic_load(&q->stop)) {
            log_error("queue", "event=events_error error=\"%s\"", e.msg);
            replay = 1; /* what was read but not acknowledged comes back through "0" */
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}
