/* rq_worker_job.c - one slot of a Redis worker (rq_worker.h): claims a job entry with
 * XREADGROUP, fetches its inputs into the worker's store, runs the same job body as the embedded
 * worker (job_run) with remote hooks for progress, cancel and outputs, sends its events, then
 * XACKs and XDELs the entry. Runs in its own process (forked by rq_worker.c). */
#include "queue/job.h"
#include "queue/rq_cache.h"
#include "queue/rq_http.h"
#include "queue/rq_worker_int.h"

#include "core/digest.h"
#include "core/log.h"
#include "core/util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define RQ_GROUP       "workers"
#define CANCEL_EVERY   250  /* ms between cancel checks: a cancel is seen well within a second */
#define PROGRESS_EVERY 500  /* ms between progress events */
#define REDIS_PAUSE    2000 /* ms without Redis calls from a job after one failed */

/* A slot's state while it runs. */
typedef struct slot_run {
    rq_worker_ctx *c;
    rq_slot_state *state; /* this slot's shared state */
    rq_redis *r;
    rq_http *h;
    store *st; /* the worker's cache */
    char consumer[RQ_WORKER_NAME_MAX + 16];
    char cancel_key[64];       /* vas:cancel:<id> of the running job */
    const store_analysis *a;   /* the running job */
    int64_t last_check;        /* monotonic ms of the last cancel check */
    int64_t last_event;        /* ... of the last progress event */
    int64_t redis_pause_until; /* no progress traffic before this (Redis was down) */
} slot_run;

static void nap_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int rq_worker_event(rq_redis *r, const char *worker, const char *id, const char *type,
                    const char *stream, const char *entry, json_t *data, vas_err *e)
{
    char where[384], *text = json_dumps(data ? data : json_object(), JSON_COMPACT);
    const char *kv[10] = {"id", id, "type", type, "worker", worker, "entry", where, "data", text};
    int rc;

    json_decref(data);
    if (!text)
        return err_set(e, VAS_ENOMEM, "out of memory for an event");
    snprintf(where, sizeof(where), "%s:%s", stream, entry);
    rc = rq_redis_xadd(r, "vas:events", RQ_EVENTS_MAXLEN, 10, kv, NULL, 0, e);
    free(text);
    return rc;
}

/* An event that must arrive (started and the final ones): tried until Redis takes it. */
static void event_must(slot_run *s, const char *type, json_t *data)
{
    int64_t wait = 100;

    for (;;) {
        vas_err e = {0};
        if (rq_worker_event(s->r, s->c->name, s->a->id, type, s->state->stream, s->state->entry,
                            json_incref(data), &e) == VAS_OK)
            break;
        log_warn("rq", "event=event_retry analysis_id=%s type=%s error=\"%s\"", s->a->id, type,
                 e.msg);
        nap_ms(wait);
        wait = wait * 2 > 5000 ? 5000 : wait * 2;
    }
    json_decref(data);
}

/* XACK + XDEL of the entry, tried a while (a Redis restarted without it answers at once). */
static void ack_entry(slot_run *s, const char *stream, const char *entry)
{
    for (int tries = 0; tries < 30; tries++) {
        vas_err e = {0};
        if (rq_redis_ack_del(s->r, stream, RQ_GROUP, entry, &e) == VAS_OK)
            return;
        log_warn("rq", "event=ack_retry stream=%s entry=%s error=\"%s\"", stream, entry, e.msg);
        nap_ms(1000);
    }
}

/* The job's final event, then XACK + XDEL of its entry, in one round trip; when that fails,
 * each on its own with retries (an event sent twice changes nothing, docs/redis-queue.md). */
static void finish(slot_run *s, const char *type, json_t *data)
{
    char where[384], cap[24], *text = json_dumps(data, JSON_COMPACT);
    const char *stream = s->state->stream, *entry = s->state->entry;
    redisReply *rep[3] = {NULL, NULL, NULL};
    vas_err e = {0};
    int rc = text ? VAS_OK : VAS_ENOMEM;

    snprintf(where, sizeof(where), "%s:%s", stream, entry);
    snprintf(cap, sizeof(cap), "%d", RQ_EVENTS_MAXLEN);
    const char *x[] = {"XADD", "vas:events", "MAXLEN", "~",        cap,     "*",   "id",   s->a->id,
                       "type", type,         "worker", s->c->name, "entry", where, "data", text};
    const char *ack[] = {"XACK", stream, RQ_GROUP, entry};
    const char *del[] = {"XDEL", stream, entry};
    if (rc == VAS_OK)
        rc = rq_redis_append(s->r, 16, x, &e);
    if (rc == VAS_OK)
        rc = rq_redis_append(s->r, 4, ack, &e);
    if (rc == VAS_OK)
        rc = rq_redis_append(s->r, 3, del, &e);
    if (rc == VAS_OK)
        rc = rq_redis_pipe(s->r, 3, rep, &e);
    for (int i = 0; rc == VAS_OK && i < 3; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR)
            rc = err_set(&e, VAS_EIO, "Redis refused %s", rep[i]->str);
    for (int i = 0; i < 3 && rep[i]; i++)
        freeReplyObject(rep[i]);
    free(text);
    if (rc < 0) {
        log_warn("rq", "event=event_retry analysis_id=%s type=%s error=\"%s\"", s->a->id, type,
                 e.msg);
        event_must(s, type, json_incref(data));
        ack_entry(s, stream, entry);
    }
    json_decref(data);
}

/* ---- the job's hooks ---- */

static int redis_ok(slot_run *s, int rc, const vas_err *e)
{
    if (rc == VAS_OK)
        return 1;
    s->redis_pause_until = util_mono_ms() + REDIS_PAUSE;
    log_warn("rq", "event=redis_unavailable analysis_id=%s error=\"%s\"", s->a->id, e->msg);
    return 0;
}

static int on_progress(void *arg, int64_t done, int64_t total, const char *unit, vas_err *e)
{
    slot_run *s = arg;
    int64_t now = util_mono_ms();
    vas_err re = {0};
    int set = 0;

    if (now < s->redis_pause_until)
        return VAS_OK; /* the job runs on; its final event waits for Redis */
    if (!s->last_check || now - s->last_check >= CANCEL_EVERY) {
        s->last_check = now;
        if (redis_ok(s, rq_redis_exists(s->r, s->cancel_key, &set, &re), &re) && set)
            return err_set(e, VAS_ECANCELLED, "analysis %s was cancelled", s->a->id);
    }
    if (s->last_event && now - s->last_event < PROGRESS_EVERY)
        return VAS_OK;
    s->last_event = now;
    json_t *d = json_pack("{s:I, s:I, s:s}", "done", (json_int_t)done, "total", (json_int_t)total,
                          "unit", unit ? unit : "");
    redis_ok(s,
             rq_worker_event(s->r, s->c->name, s->a->id, "progress", s->state->stream,
                             s->state->entry, d, &re),
             &re);
    return VAS_OK;
}

/* An output goes straight to the server (no copy in the cache, no fsync here): its SHA-1 first,
 * which the server's file_id must equal. */
static int on_output(void *arg, const void *p, size_t n, const char *path, const char *filename,
                     const char *ctype, char *id_out, vas_err *e)
{
    slot_run *s = arg;
    int rc = VAS_OK;

    if (path)
        rc = digest_file_sha1(path, id_out, e);
    else
        digest_sha1_hex(p, n, id_out);
    if (rc == VAS_OK)
        rc = rq_http_upload(s->h, p, n, path, filename, ctype, id_out, RQ_HTTP_RETRY_MS, e);
    return rc;
}

static const job_remote hooks = {on_progress, on_output};

/* ---- one job ---- */

/* The job entry's JSON into a (a->args new: store_analysis_clear frees it). */
static int parse_job(const char *text, store_analysis *a, vas_err *e)
{
    json_t *j = json_loads(text ? text : "", 0, NULL), *in = json_object_get(j, "inputs");
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *model = json_string_value(json_object_get(j, "model"));
    const char *task = json_string_value(json_object_get(j, "task_id"));
    const char *unit = json_string_value(json_object_get(j, "unit"));
    size_t i;
    json_t *v;
    int rc = VAS_OK;

    if (!id || !name || !json_is_array(in) || json_array_size(in) < 1 ||
        json_array_size(in) > STORE_MAX_INPUTS || strlen(id) > STORE_UUID_LEN)
        rc = err_set(e, VAS_EINVAL, "the job entry is not a job of docs/redis-queue.md");
    json_array_foreach(in, i, v) if (rc == VAS_OK &&
                                     (!json_is_string(v) || !util_is_hex(json_string_value(v), 40)))
        rc = err_set(e, VAS_EINVAL, "input %zu of the job entry is not a file id", i);
    if (rc == VAS_OK) {
        snprintf(a->id, sizeof(a->id), "%s", id);
        snprintf(a->task_id, sizeof(a->task_id), "%s", task ? task : id);
        snprintf(a->name, sizeof(a->name), "%s", name);
        snprintf(a->model, sizeof(a->model), "%s", model ? model : "");
        snprintf(a->unit, sizeof(a->unit), "%s", unit ? unit : "");
        snprintf(a->state, sizeof(a->state), "STARTED");
        json_array_foreach(in, i, v)
            snprintf(a->inputs[i], sizeof(a->inputs[i]), "%s", json_string_value(v));
        a->n_inputs = (int)json_array_size(in);
        a->args =
            json_object_get(j, "args") ? json_incref(json_object_get(j, "args")) : json_object();
        a->attempts = (int)json_integer_value(json_object_get(j, "attempt"));
    }
    json_decref(j);
    return rc;
}

/* Asked while inputs download: a cancel stops a long transfer or a wait for the server. */
static int fetch_cancelled(void *arg)
{
    slot_run *s = arg;
    vas_err e = {0};
    int set = 0;

    return rq_redis_exists(s->r, s->cancel_key, &set, &e) == VAS_OK && set;
}

static int fetch_inputs(slot_run *s, const store_analysis *a, vas_err *e)
{
    for (int i = 0; i < a->n_inputs; i++) {
        int rc =
            rq_http_fetch_c(s->h, s->st, a->inputs[i], RQ_HTTP_RETRY_MS, fetch_cancelled, s, e);
        if (rc < 0)
            return rc;
    }
    return VAS_OK;
}

/* Runs a claimed, not cancelled job and sends its final event (acknowledging the entry). */
static void run_claimed(slot_run *s, store_analysis *a)
{
    job j = {.st = s->st,
             .env = s->c->env,
             .a = a,
             .result = json_object(),
             .remote = &hooks,
             .remote_arg = s};
    int64_t t0 = util_mono_ms();
    vas_err e = {0};
    int rc;

    event_must(s, "started", json_pack("{s:i}", "attempt", a->attempts));
    log_info("rq", "event=job_state analysis_id=%s analysis=%s state=STARTED attempt=%d", a->id,
             a->name, a->attempts);
    rc = rq_cache_hold(s->c, s->state, a, &e);
    if (rc == VAS_OK)
        rc = fetch_inputs(s, a, &e);
    if (rc == VAS_OK)
        rc = job_run(&j, &e);
    log_info(
        "rq", "event=job_state analysis_id=%s analysis=%s state=%s ms=%lld%s%s%s", a->id, a->name,
        rc == VAS_OK           ? "SUCCESS"
        : rc == VAS_ECANCELLED ? "REVOKED"
                               : "FAILURE",
        (long long)(util_mono_ms() - t0), rc < 0 && rc != VAS_ECANCELLED ? " error=\"" : "",
        rc < 0 && rc != VAS_ECANCELLED ? e.msg : "", rc < 0 && rc != VAS_ECANCELLED ? "\"" : "");
    if (rc == VAS_OK)
        finish(s, "success", json_pack("{s:O}", "result", j.result));
    else if (rc == VAS_ECANCELLED)
        finish(s, "cancelled", json_object());
    else
        finish(s, "failure", json_pack("{s:s}", "description", e.msg));
    json_decref(j.result);
}

static void handle_entry(slot_run *s, const rq_redis_entry *en)
{
    store_analysis a = {0};
    vas_err e = {0};
    int set = 0;

    snprintf(s->state->stream, sizeof(s->state->stream), "%s", en->stream);
    snprintf(s->state->entry, sizeof(s->state->entry), "%s", en->id);
    if (parse_job(rq_redis_entry_get(en, "job"), &a, &e) < 0) {
        /* An entry deleted while pending (no fields), or not a job: nothing to run. */
        log_warn("rq", "event=entry_skipped stream=%s entry=%s error=\"%s\"", en->stream, en->id,
                 e.msg);
        ack_entry(s, en->stream, en->id);
        return;
    }
    s->a = &a;
    snprintf(s->cancel_key, sizeof(s->cancel_key), "vas:cancel:%s", a.id);
    snprintf(s->state->id, sizeof(s->state->id), "%s", a.id);
    atomic_store(&s->state->busy, 1);
    s->last_check = s->last_event = s->redis_pause_until = 0;
    if (rq_redis_exists(s->r, s->cancel_key, &set, &e) == VAS_OK && set) {
        log_info("rq", "event=job_skipped analysis_id=%s reason=cancelled", a.id);
        finish(s, "cancelled", json_object());
    } else {
        s->last_check = util_mono_ms(); /* just checked: the next check in CANCEL_EVERY */
        run_claimed(s, &a);
    }
    rq_cache_release(s->c, s->state);
    atomic_store(&s->state->busy, 0);
    s->a = NULL;
    if (rq_cache_trim(s->c, s->st, &e) < 0)
        log_warn("rq", "event=cache_trim_failed error=\"%s\"", e.msg);
    store_analysis_clear(&a);
}

/* ---- the slot's loop ---- */

static int slot_open(slot_run *s, vas_err *e)
{
    const config *cfg = s->c->cfg;
    int rc = store_open(cfg->database, cfg->data_folder, &s->st, e);

    if (rc == VAS_OK)
        rc = rq_http_new(s->c->server, cfg->api_token, &s->h, e);
    if (rc == VAS_OK)
        rc = rq_redis_connect(s->c->redis_url, RQ_REDIS_RETRY_MS, NULL, &s->r, e);
    return rc;
}

static void slot_close(slot_run *s)
{
    rq_redis_free(s->r);
    rq_http_free(s->h);
    store_close(s->st);
}

int rq_worker_slot_main(rq_worker_ctx *c, int slot, vas_err *e)
{
    slot_run s = {.c = c, .state = &c->slots[slot]};
    const char *from = "0"; /* first this consumer's own pending entries: a restart's leftovers */
    int rc;

    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never run on without the parent's heartbeat */
    signal(SIGTERM, SIG_DFL);         /* see rq_worker.h: stop without acknowledging */
    signal(SIGINT, SIG_DFL);
    snprintf(s.consumer, sizeof(s.consumer), "%s/%d", c->name, slot);
    job_limit_memory(c->cfg); /* as the embedded queue's workers: a job past it ends FAILURE */
    rc = slot_open(&s, e);
    if (rc < 0) {
        slot_close(&s);
        return rc;
    }
    log_info("rq", "event=slot_ready consumer=%s streams=%d", s.consumer, c->n_streams);
    for (;;) {
        rq_redis_entry en = {0};
        vas_err re = {0};
        rc = rq_redis_read_one(s.r, RQ_GROUP, s.consumer, from[0] == '0' ? -1 : 1000, c->n_streams,
                               (const char *const *)c->streams, from, &en, &re);
        if (rc == VAS_OK) {
            handle_entry(&s, &en);
            /* One XREADGROUP over several streams may claim an entry of each: the others
             * wait in our pending list, read next. With one stream there are none. */
            from = c->n_streams > 1 || from[0] == '0' ? "0" : ">";
        } else if (rc == VAS_ENOTFOUND)
            from = ">";
        else {
            log_warn("rq", "event=claim_failed consumer=%s error=\"%s\"", s.consumer, re.msg);
            nap_ms(500);
        }
        rq_redis_entry_clear(&en);
    }
}
