/* e2e_rq_world.h - the world of the Redis worker tests (e2e_rq_worker.c, e2e_rq_flow.c): a real
 * redis-server with a password, a real `vas serve` on a fixed port with an API token, `vas worker
 * --redis` processes with their own data folders, the test's own Redis connection to add jobs by
 * hand and read the workers' events back. Header-only, as tests/e2e.h. */
#ifndef VAS_E2E_RQ_WORLD_H
#define VAS_E2E_RQ_WORLD_H

#include "e2e.h"
#include "rq_redis_fx.h"

#include <hiredis/hiredis.h>

#define TOKEN "rqw-token"

/* One test's world: redis-server, vas serve on a fixed port, workers. */
typedef struct world {
    e2e_srv *s;
    rqfx redis;
    redisContext *rc;  /* the test's own Redis connection */
    char port_arg[16]; /* vas serve --port, fixed so a restart keeps the worker's URL */
    const char *args[12];
    pid_t workers[4];
    char wlog[4][E2E_PATH];
    int n_workers;
    int expect_segv; /* a slot is meant to crash: its SEGV report is no failure */
} world;

static inline redisReply *cmd(world *w, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = redisvCommand(w->rc, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    return r;
}

/* redis-server with a password, then vas serve (--workers 0, the token, a fixed port) with the
 * extra arguments extra (NULL-terminated, borrowed; may name w->redis.url) or none. */
static inline int setup_with(void **state, const char *const *extra)
{
    world *w = calloc(1, sizeof(*w));
    void *st = NULL;
    int n = 0;

    if (!w || !rqfx_available())
        return free(w), -1;
    if (rqfx_setup(&w->redis, "s3cret") < 0)
        return free(w), -1;
    w->rc = redisConnect("127.0.0.1", w->redis.port);
    redisReply *r = w->rc ? redisCommand(w->rc, "AUTH s3cret") : NULL;
    freeReplyObject(r);
    if (e2e_setup_dir(&st) < 0)
        return -1;
    w->s = st;
    snprintf(w->port_arg, sizeof(w->port_arg), "%d", rqfx_free_port());
    const char *args[] = {"--token", TOKEN, "--port", w->port_arg};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
        w->args[n++] = args[i];
    for (int i = 0; extra && extra[i] && n < 11; i++)
        w->args[n++] = extra[i] == (const char *)1 ? w->redis.url : extra[i];
    w->args[n] = NULL;
    w->s->args = w->args;
    w->s->token = TOKEN;
    *state = w;
    return e2e_start(w->s);
}

/* The worker alone: vas serve only serves files (no Redis queue of its own). */
static inline int setup(void **state)
{
    static const char *const extra[] = {"--workers", "0", NULL};

    return setup_with(state, extra);
}

/* The whole system: vas serve --queue <redis> --workers 0. */
static inline int setup_queue(void **state)
{
    static const char *const extra[] = {"--workers", "0", "--queue", (const char *)1, NULL};

    return setup_with(state, extra);
}

/* vas serve --queue <redis> --workers 1: its local worker is a vas worker --redis. */
static inline int setup_queue_local(void **state)
{
    static const char *const extra[] = {"--workers", "1", "--queue", (const char *)1, NULL};

    return setup_with(state, extra);
}

/* A sanitizer report in a worker's log. */
static inline int worker_log_bad(const char *path, int expect_segv)
{
    char *t = tu_read_file(path, NULL);
    int bad = t && (strstr(t, "runtime error:") || strstr(t, "LeakSanitizer"));

    for (const char *p = t; t && !bad && (p = strstr(p, "ERROR: AddressSanitizer")); p++)
        bad = !(expect_segv && !strncmp(p, "ERROR: AddressSanitizer: SEGV", 29));
    free(t);
    return bad;
}

/* Stops the workers (SIGTERM: each must exit 0), redis-server and the server; a worker's log
 * is printed when the test failed or the log holds a sanitizer report. */
static inline int teardown(void **state)
{
    world *w = *state;
    void *st;
    int rc = 0;

    if (!w)
        return 0;
    for (int i = 0; i < w->n_workers; i++) {
        int code = 0;
        if (w->workers[i] > 0) {
            kill(w->workers[i], SIGTERM);
            code = e2e_wait_pid(w->workers[i], 10);
            if (code < 0) {
                kill(w->workers[i], SIGKILL);
                waitpid(w->workers[i], NULL, 0);
            }
        }
        if (code != 0 || worker_log_bad(w->wlog[i], w->expect_segv)) {
            fprintf(stderr, "e2e: worker %d exited with %d or its log holds a report\n", i, code);
            rc = -1;
        }
        if (rc < 0 || !w->s->passed) {
            char *t = tu_read_file(w->wlog[i], NULL);
            fprintf(stderr, "---- worker %d log ----\n%s\n", i, t ? t : "(none)");
            free(t);
        }
    }
    if (w->rc)
        redisFree(w->rc);
    rqfx_kill(&w->redis);
    st = w->s;
    if (e2e_teardown(&st) < 0)
        rc = -1;
    free(w);
    *state = NULL;
    return rc;
}

/* Starts `vas worker --redis ... --name <name>` with its own data folder; returns its index. */
/* cfg: a config file for the worker, or NULL. */
static inline int start_worker_cfg(world *w, const char *name, const char *url, const char *conc,
                                   const char *cfg)
{
    char data[E2E_PATH], server[64];
    int i = w->n_workers++;

    snprintf(data, sizeof(data), "%s/%s", w->s->dir, name);
    snprintf(server, sizeof(server), "http://127.0.0.1:%s", w->port_arg);
    snprintf(w->wlog[i], sizeof(w->wlog[i]), "%s/%s.log", w->s->dir, name);
    const char *argv[] = {e2e_bin(),
                          "worker",
                          "--redis",
                          url ? url : w->redis.url,
                          "--server",
                          server,
                          "--token",
                          TOKEN,
                          "--name",
                          name,
                          "--data",
                          data,
                          "--models",
                          "models",
                          "--concurrency",
                          conc,
                          cfg ? "--config" : NULL,
                          cfg,
                          NULL};
    w->workers[i] = e2e_spawn(argv, w->wlog[i]);
    assert_true(w->workers[i] > 0);
    return i;
}

static inline int start_worker_n(world *w, const char *name, const char *url, const char *conc)
{
    return start_worker_cfg(w, name, url, conc, NULL);
}

static inline int start_worker(world *w, const char *name, const char *url)
{
    return start_worker_n(w, name, url, "1");
}

/* XADDs a job for analysis id into vas:jobs:- as the server would. */
static inline void add_job(world *w, const char *id, const char *name, const char *input,
                           const char *args)
{
    char job[1024];

    snprintf(job, sizeof(job),
             "{\"id\":\"%s\",\"task_id\":\"%s\",\"name\":\"%s\",\"model\":\"\",\"inputs\":"
             "[\"%s\"],\"args\":%s,\"unit\":\"ms\",\"attempt\":1}",
             id, id, name, input, args);
    freeReplyObject(cmd(w, "XGROUP CREATE vas:jobs:- workers 0 MKSTREAM"));
    redisReply *r = cmd(w, "XADD vas:jobs:- * job %s", job);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
}

/* The data of the first event of type for id in vas:events (new object), or NULL. */
static inline json_t *find_event(world *w, const char *id, const char *type)
{
    redisReply *r = cmd(w, "XRANGE vas:events - +");
    json_t *out = NULL;

    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && !out; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *eid = NULL, *etype = NULL, *data = NULL, *worker = NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const char *key = f->element[k]->str, *v = f->element[k + 1]->str;
            if (!strcmp(key, "id"))
                eid = v;
            else if (!strcmp(key, "type"))
                etype = v;
            else if (!strcmp(key, "data"))
                data = v;
            else if (!strcmp(key, "worker"))
                worker = v;
        }
        if (eid && etype && data && worker && !strcmp(eid, id) && !strcmp(etype, type))
            out = json_loads(data, 0, NULL);
    }
    freeReplyObject(r);
    return out;
}

static inline json_t *wait_event(world *w, const char *id, const char *type, double timeout_s)
{
    double end = e2e_now() + timeout_s;
    json_t *d;

    while (!(d = find_event(w, id, type)) && e2e_now() < end)
        tu_nap_ms(20);
    return d;
}

static inline long long int_reply(world *w, const char *fmt, const char *arg)
{
    redisReply *r = cmd(w, fmt, arg);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    freeReplyObject(r);
    return v;
}

#endif
