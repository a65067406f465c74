/* e2e_rq_worker.c - `vas worker --redis` against a real redis-server (with a password, so AUTH
 * is proven) and a real `vas serve` whose HTTP API the worker fetches inputs from and uploads
 * outputs to. The jobs are XADDed by hand into vas:jobs:- as docs/redis-queue.md describes the
 * server doing, and the worker's events are read back from vas:events: this tests the worker's
 * side of the protocol on its own (tests/e2e_redis.c runs the whole system). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

static redisReply *cmd(world *w, const char *fmt, ...)
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
static int setup_with(void **state, const char *const *extra)
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
static int setup(void **state)
{
    static const char *const extra[] = {"--workers", "0", NULL};

    return setup_with(state, extra);
}

/* The whole system: vas serve --queue <redis> --workers 0. */
static int setup_queue(void **state)
{
    static const char *const extra[] = {"--workers", "0", "--queue", (const char *)1, NULL};

    return setup_with(state, extra);
}

/* vas serve --queue <redis> --workers 1: its local worker is a vas worker --redis. */
static int setup_queue_local(void **state)
{
    static const char *const extra[] = {"--workers", "1", "--queue", (const char *)1, NULL};

    return setup_with(state, extra);
}

/* A sanitizer report in a worker's log. */
static int worker_log_bad(const char *path, int expect_segv)
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
static int teardown(void **state)
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
static int start_worker_cfg(world *w, const char *name, const char *url, const char *conc,
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

static int start_worker_n(world *w, const char *name, const char *url, const char *conc)
{
    return start_worker_cfg(w, name, url, conc, NULL);
}

static int start_worker(world *w, const char *name, const char *url)
{
    return start_worker_n(w, name, url, "1");
}

/* XADDs a job for analysis id into vas:jobs:- as the server would. */
static void add_job(world *w, const char *id, const char *name, const char *input, const char *args)
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
static json_t *find_event(world *w, const char *id, const char *type)
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

static json_t *wait_event(world *w, const char *id, const char *type, double timeout_s)
{
    double end = e2e_now() + timeout_s;
    json_t *d;

    while (!(d = find_event(w, id, type)) && e2e_now() < end)
        tu_nap_ms(20);
    return d;
}

static long long int_reply(world *w, const char *fmt, const char *arg)
{
    redisReply *r = cmd(w, fmt, arg);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    freeReplyObject(r);
    return v;
}

/* A sleep job runs on the worker: started, progress, success with the output on the server
 * (same SHA-1), the entry acknowledged and deleted, the advertisement as the contract says. */
static void sleep_job_runs_remotely(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-000000000001";
    char in[41], path[128], sha[41];
    e2e_resp r;
    json_t *d, *ad;

    e2e_upload_text(w->s, "remote input\n", "in.txt", in);
    start_worker(w, "w1", NULL);
    add_job(w, id, "sleep", in, "{\"time\":1.2}");
    d = wait_event(w, id, "started", 30);
    assert_non_null(d);
    assert_int_equal(json_integer_value(json_object_get(d, "attempt")), 1);
    json_decref(d);
    /* While it runs: the heartbeat names it. */
    redisReply *k = cmd(w, "GET vas:worker:w1");
    assert_int_equal(k->type, REDIS_REPLY_STRING);
    ad = json_loads(k->str, 0, NULL);
    freeReplyObject(k);
    assert_string_equal(e2e_str(ad, "name"), "w1");
    assert_int_equal(json_integer_value(json_object_get(ad, "concurrency")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ad, "models"), 0)),
                        "openfield");
    assert_true(json_integer_value(json_object_get(ad, "beat")) > 0);
    assert_true(json_is_array(json_object_get(ad, "running")));
    json_decref(ad);
    assert_in_range(int_reply(w, "TTL %s", "vas:worker:w1"), 1, 15);
    d = wait_event(w, id, "success", 30);
    assert_non_null(d);
    json_t *pg = find_event(w, id, "progress");
    assert_non_null(pg);
    assert_true(json_integer_value(json_object_get(pg, "total")) == 1200);
    json_decref(pg);
    const char *csv = e2e_str(json_object_get(d, "result"), "csv_file");
    e2e_sha1_hex("sleep,1.2\n", 10, sha);
    assert_string_equal(csv, sha);
    snprintf(path, sizeof(path), "/file/%s", csv);
    e2e_get(w->s, path, &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(r.body, "sleep,1.2\n");
    e2e_resp_free(&r);
    json_decref(d);
    tu_nap_ms(200);
    assert_int_equal(int_reply(w, "XLEN %s", "vas:jobs:-"), 0);
    E2E_PASS(w->s);
}

/* Sets id's cancel key and asserts its `cancelled` event comes within a second; returns when
 * the key was set. */
static double cancel_now(world *w, const char *id)
{
    double t0;
    json_t *d;

    freeReplyObject(cmd(w, "SET vas:cancel:%s 1 EX 86400", id));
    t0 = e2e_now();
    d = wait_event(w, id, "cancelled", 5);
    assert_non_null(d);
    json_decref(d);
    assert_true(e2e_now() - t0 < 1.0);
    return t0;
}

/* A cancel key set while the job runs stops it within a second: event `cancelled`, no success,
 * the entry acknowledged. */
static void cancel_within_a_second(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-000000000002";
    char in[41];
    json_t *d;
    double t0;

    e2e_upload_text(w->s, "to cancel\n", "c.txt", in);
    start_worker(w, "wc", NULL);
    add_job(w, id, "sleep", in, "{\"time\":30}");
    d = wait_event(w, id, "started", 30);
    assert_non_null(d);
    json_decref(d);
    tu_nap_ms(300);
    t0 = cancel_now(w, id);
    /* The advertisement is renewed at once when a slot's job ends: running empties. */
    for (size_t n = 1; n > 0 && e2e_now() - t0 < 1.0; tu_nap_ms(20)) {
        redisReply *k = cmd(w, "GET vas:worker:wc");
        json_t *ad = json_loads(k->type == REDIS_REPLY_STRING ? k->str : "", 0, NULL);
        freeReplyObject(k);
        n = ad ? json_array_size(json_object_get(ad, "running")) : 1; /* the key must be there */
        json_decref(ad);
        if (n == 0)
            break;
    }
    assert_true(e2e_now() - t0 < 1.0);
    assert_null(find_event(w, id, "success"));
    tu_nap_ms(200);
    assert_int_equal(int_reply(w, "XLEN %s", "vas:jobs:-"), 0);
    E2E_PASS(w->s);
}

/* A job cancelled before any worker read it is skipped: `cancelled`, never `started`. */
static void cancelled_before_claim_is_skipped(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-000000000003";
    char in[41];
    json_t *d;

    e2e_upload_text(w->s, "skip me\n", "s.txt", in);
    freeReplyObject(cmd(w, "SET vas:cancel:%s 1 EX 86400", id));
    add_job(w, id, "sleep", in, "{\"time\":5}");
    start_worker(w, "ws", NULL);
    d = wait_event(w, id, "cancelled", 30);
    assert_non_null(d);
    json_decref(d);
    assert_null(find_event(w, id, "started"));
    E2E_PASS(w->s);
}

/* An input the server doesn't have: `failure` saying so; the worker goes on with the next. */
static void missing_input_fails(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-000000000004";
    const char *id2 = "a0000000-0000-4000-8000-000000000005";
    char in[41];
    json_t *d;

    e2e_upload_text(w->s, "present\n", "p.txt", in);
    start_worker(w, "wm", NULL);
    add_job(w, id, "sleep", "0123456789012345678901234567890123456789", "{\"time\":0}");
    add_job(w, id2, "sleep", in, "{\"time\":0}");
    d = wait_event(w, id, "failure", 30);
    assert_non_null(d);
    assert_non_null(strstr(e2e_str(d, "description"), "is not on the server"));
    json_decref(d);
    d = wait_event(w, id2, "success", 30);
    assert_non_null(d);
    json_decref(d);
    E2E_PASS(w->s);
}

/* The server is down when the worker claims a job, and comes back: the worker retries the
 * download with back-off and the job succeeds (a server restart never fails a job). */
static void server_restart_during_fetch(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-000000000006";
    char in[41];
    json_t *d;

    e2e_upload_text(w->s, "survives a restart\n", "r.txt", in);
    assert_int_equal(e2e_stop(w->s), 0);
    start_worker(w, "wr", NULL);
    add_job(w, id, "sleep", in, "{\"time\":0}");
    d = wait_event(w, id, "started", 30);
    assert_non_null(d);
    json_decref(d);
    tu_nap_ms(1500); /* a few failed tries */
    assert_null(find_event(w, id, "failure"));
    assert_int_equal(e2e_start(w->s), 0);
    d = wait_event(w, id, "success", 30);
    assert_non_null(d);
    json_decref(d);
    E2E_PASS(w->s);
}

/* kill -9 of a worker mid-job: nothing is acknowledged, the entry stays in the group's pending
 * list under the worker's consumer for the server's reaper. */
static void kill9_leaves_entry_pending(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-000000000007";
    char in[41];
    json_t *d;
    redisReply *r;

    e2e_upload_text(w->s, "killed\n", "k.txt", in);
    int i = start_worker(w, "wk", NULL);
    add_job(w, id, "sleep", in, "{\"time\":30}");
    d = wait_event(w, id, "started", 30);
    assert_non_null(d);
    json_decref(d);
    kill(w->workers[i], SIGKILL);
    assert_int_equal(e2e_wait_pid(w->workers[i], 10), 128 + SIGKILL);
    w->workers[i] = 0;
    tu_nap_ms(500); /* its slot dies with it (PR_SET_PDEATHSIG) */
    r = cmd(w, "XPENDING vas:jobs:- workers");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->integer, 1);
    assert_string_equal(r->element[3]->element[0]->element[0]->str, "wk/0");
    freeReplyObject(r);
    assert_int_equal(int_reply(w, "XLEN %s", "vas:jobs:-"), 1);
    assert_null(find_event(w, id, "success"));
    assert_null(find_event(w, id, "failure"));
    assert_in_range(int_reply(w, "TTL %s", "vas:worker:wk"), 1, 15); /* expires by itself */
    E2E_PASS(w->s);
}

/* A wrong Redis password: the worker exits at once saying so, the password not in the
 * message; a bad --server or --concurrency likewise. */
static void bad_settings_refused(void **state)
{
    world *w = *state;
    char url[160], out[E2E_PATH];
    size_t n;
    char *text;

    snprintf(url, sizeof(url), "redis://:wrongpass@127.0.0.1:%d/0", w->redis.port);
    snprintf(out, sizeof(out), "%s/bad.log", w->s->dir);
    assert_int_equal(e2e_run_vas(out, "worker", "--redis", url, "--server", "http://127.0.0.1:1",
                                 "--data", w->s->dir, NULL),
                     1);
    text = tu_read_file(out, &n);
    assert_non_null(text);
    assert_null(strstr(text, "wrongpass"));
    assert_non_null(strstr(text, "vas worker:"));
    free(text);
    assert_int_equal(e2e_run_vas(out, "worker", "--redis", w->redis.url, "--server", "ftp://x",
                                 "--data", w->s->dir, NULL),
                     1);
    text = tu_read_file(out, &n);
    assert_non_null(strstr(text, "--server must be an http://"));
    free(text);
    assert_int_equal(e2e_run_vas(out, "worker", "--redis", w->redis.url, "--server",
                                 "http://127.0.0.1:1", "--concurrency", "0", NULL),
                     2);
    assert_int_equal(e2e_run_vas(out, "worker", "--server", "http://127.0.0.1:1", NULL), 1);
    text = tu_read_file(out, &n);
    assert_non_null(strstr(text, "needs --redis URL"));
    free(text);
    /* A token the server refuses stops the worker at start, before it claims any job. */
    assert_int_equal(e2e_run_vas(out, "worker", "--redis", w->redis.url, "--server", w->s->base,
                                 "--token", "not-the-token", "--name", "badtoken", "--data",
                                 w->s->dir, NULL),
                     1);
    text = tu_read_file(out, &n);
    assert_non_null(strstr(text, "refused the worker's token"));
    assert_null(strstr(text, "not-the-token"));
    free(text);
    /* A second live worker of the same name is refused. */
    start_worker(w, "dup", NULL);
    double end = e2e_now() + 30;
    while (int_reply(w, "EXISTS %s", "vas:worker:dup") != 1 && e2e_now() < end)
        tu_nap_ms(50);
    assert_int_equal(e2e_run_vas(out, "worker", "--redis", w->redis.url, "--server",
                                 "http://127.0.0.1:1", "--name", "dup", "--data", w->s->dir, NULL),
                     1);
    text = tu_read_file(out, &n);
    assert_non_null(strstr(text, "a worker named 'dup' is already running"));
    free(text);
    E2E_PASS(w->s);
}

/* --concurrency 2: two jobs run at once, on consumers <name>/0 and <name>/1, both in the
 * advertisement's running list. */
static void two_slots_run_two_jobs(void **state)
{
    world *w = *state;
    const char *a = "a0000000-0000-4000-8000-000000000008";
    const char *b = "a0000000-0000-4000-8000-000000000009";
    char in[41];
    json_t *d, *ad;
    redisReply *r;
    double end;

    e2e_upload_text(w->s, "two at once\n", "t.txt", in);
    start_worker_n(w, "w2", NULL, "2");
    add_job(w, a, "sleep", in, "{\"time\":5}");
    add_job(w, b, "sleep", in, "{\"time\":5}");
    assert_non_null(d = wait_event(w, a, "started", 30));
    json_decref(d);
    assert_non_null(d = wait_event(w, b, "started", 30));
    json_decref(d);
    end = e2e_now() + 4.5; /* the next advertisement (every 3 s) lists both */
    for (size_t n = 0; n < 2 && e2e_now() < end; tu_nap_ms(100)) {
        r = cmd(w, "GET vas:worker:w2");
        ad = json_loads(r->type == REDIS_REPLY_STRING ? r->str : "", 0, NULL);
        freeReplyObject(r);
        n = json_array_size(json_object_get(ad, "running"));
        assert_int_equal(json_integer_value(json_object_get(ad, "concurrency")), 2);
        json_decref(ad);
        if (n == 2)
            break;
    }
    assert_true(e2e_now() < end);
    r = cmd(w, "XPENDING vas:jobs:- workers");
    assert_int_equal(r->element[0]->integer, 2);
    assert_int_equal(r->element[3]->elements, 2); /* two consumers */
    freeReplyObject(r);
    assert_non_null(d = wait_event(w, a, "success", 30));
    json_decref(d);
    assert_non_null(d = wait_event(w, b, "success", 30));
    json_decref(d);
    E2E_PASS(w->s);
}

/* redis-server killed mid-job and started again empty: the job runs on, its `success` arrives
 * once Redis is back, and the worker advertises itself again. */
static void redis_restart_mid_job(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-00000000000a";
    char in[41];
    json_t *d;

    e2e_upload_text(w->s, "redis goes away\n", "g.txt", in);
    start_worker(w, "wg", NULL);
    add_job(w, id, "sleep", in, "{\"time\":2.5}");
    assert_non_null(d = wait_event(w, id, "started", 30));
    json_decref(d);
    redisFree(w->rc);
    rqfx_kill(&w->redis);
    tu_nap_ms(1500);
    assert_int_equal(rqfx_start(&w->redis), 0);
    w->rc = redisConnect("127.0.0.1", w->redis.port);
    freeReplyObject(cmd(w, "AUTH s3cret"));
    d = wait_event(w, id, "success", 30);
    assert_non_null(d);
    json_decref(d);
    double end = e2e_now() + 10;
    while (int_reply(w, "EXISTS %s", "vas:worker:wg") != 1 && e2e_now() < end)
        tu_nap_ms(100);
    assert_int_equal(int_reply(w, "EXISTS %s", "vas:worker:wg"), 1);
    E2E_PASS(w->s);
}

/* A slot that crashes mid-job: the parent reports `failure` naming the signal and the worker,
 * acknowledges the entry, restarts the slot, which runs the next job. */
static void slot_crash_fails_its_job(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-00000000000b";
    const char *id2 = "a0000000-0000-4000-8000-00000000000c";
    char in[41];
    json_t *d;

    w->expect_segv = 1;
    e2e_upload_text(w->s, "crash\n", "x.txt", in);
    start_worker(w, "wx", NULL);
    add_job(w, id, "crash", in, "{\"mode\":\"segv\"}");
    d = wait_event(w, id, "failure", 30);
    assert_non_null(d);
    /* signal 11; under ASan its handler exits with status 1 instead */
    assert_non_null(strstr(e2e_str(d, "description"), "the worker process running this"));
    assert_non_null(strstr(e2e_str(d, "description"), "wx"));
    json_decref(d);
    add_job(w, id2, "sleep", in, "{\"time\":0}");
    assert_non_null(d = wait_event(w, id2, "success", 30));
    json_decref(d);
    tu_nap_ms(200);
    assert_int_equal(int_reply(w, "XLEN %s", "vas:jobs:-"), 0);
    E2E_PASS(w->s);
}

#if defined(__SANITIZE_ADDRESS__)
#define RQW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RQW_ASAN 1
#endif
#endif

/* LIMIT_WORKER_MEMORY holds on a Redis worker's slots as on the embedded workers: a job past it
 * ends FAILURE naming the key, and the slot runs the next job. */
static void slot_over_memory_limit(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-000000000021";
    const char *id2 = "a0000000-0000-4000-8000-000000000022";
    char in[41], cfg[E2E_PATH];
    json_t *d;
    FILE *f;

#ifdef RQW_ASAN
    print_message("skipped slot_over_memory_limit: RLIMIT_AS cannot work under "
                  "AddressSanitizer (it reserves terabytes of address space)\n");
    skip();
#endif
    snprintf(cfg, sizeof(cfg), "%s/worker.yaml", w->s->dir);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "LIMIT_WORKER_MEMORY: %d\n", 768 << 20); /* a slot starts at ~240 MB */
    fclose(f);
    e2e_upload_text(w->s, "greedy\n", "g.txt", in);
    start_worker_cfg(w, "wm", NULL, "1", cfg);
    add_job(w, id, "crash", in, "{\"mode\":\"alloc\",\"mib\":2048}");
    d = wait_event(w, id, "failure", 30);
    assert_non_null(d);
    assert_non_null(
        strstr(e2e_str(d, "description"), "memory limit of 768 MiB (LIMIT_WORKER_MEMORY"));
    json_decref(d);
    add_job(w, id2, "crash", in, "{\"mode\":\"alloc\",\"mib\":64}");
    assert_non_null(d = wait_event(w, id2, "success", 30));
    json_decref(d);
    E2E_PASS(w->s);
}

/* A download cut mid-way (the server killed while the worker, held to 8 MiB/s, fetches a 40 MiB
 * input: more than the socket buffers hold) resumes with Range where it stopped once the server
 * is back; the SHA-1 over both parts matches, so the job succeeds. */
static void cut_download_resumes(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-00000000000d";
    size_t n = 40 << 20;
    unsigned char *big = malloc(n);
    char in[41], *log;
    e2e_resp r;
    json_t *d;

    assert_non_null(big);
    e2e_fill_random(big, n, 15);
    e2e_upload(w->s, "big.bin", "application/octet-stream", big, n, &r);
    e2e_assert_status(&r, 202);
    e2e_sha1_hex(big, n, in);
    assert_string_equal(e2e_str(r.json, "file_id"), in);
    e2e_resp_free(&r);
    free(big);
    setenv("VAS_TEST_FETCH_BPS", "8388608", 1);
    start_worker(w, "wd", NULL);
    unsetenv("VAS_TEST_FETCH_BPS");
    add_job(w, id, "sleep", in, "{\"time\":0}");
    assert_non_null(d = wait_event(w, id, "started", 30));
    json_decref(d);
    tu_nap_ms(1500); /* about 12 MiB in */
    kill(w->s->pid, SIGKILL);
    assert_int_equal(e2e_wait_pid(w->s->pid, 10), 128 + SIGKILL);
    w->s->pid = 0;
    assert_null(find_event(w, id, "success"));
    tu_nap_ms(300);
    assert_int_equal(e2e_start(w->s), 0);
    d = wait_event(w, id, "success", 30);
    assert_non_null(d);
    json_decref(d);
    log = tu_read_file(w->wlog[0], NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "event=fetch_resume"));
    free(log);
    assert_true(e2e_log_wait(w->s, "status=206", 5)); /* the server answered the Range */
    E2E_PASS(w->s);
}

/* The whole flow: POST /analysis on vas serve --queue, a remote worker runs it, GET
 * /analysis/<id> says SUCCESS and names the worker, GET /workers lists it; a cancel of a running
 * job reaches the worker within a second. */
static void full_flow_through_a_remote_worker(void **state)
{
    world *w = *state;
    char in[41], aid[37], bid[37], path[128];
    e2e_resp r;
    json_t *d;
    double t0;

    e2e_upload_text(w->s, "full flow\n", "f.txt", in);
    start_worker(w, "wf", NULL);
    e2e_sleep(w->s, in, "0.5", aid);
    e2e_wait_state(w->s, aid, "SUCCESS", 30, &r);
    assert_string_equal(e2e_str(r.json, "worker"), "wf");
    e2e_resp_free(&r);
    t0 = e2e_now(); /* the server's view of the workers is refreshed every few seconds */
    for (;;) {
        e2e_get(w->s, "/workers", &r);
        e2e_assert_status(&r, 200);
        assert_true(json_is_array(r.json));
        if (json_array_size(r.json) > 0 || e2e_now() - t0 > 10)
            break;
        e2e_resp_free(&r);
        tu_nap_ms(100);
    }
    assert_string_equal(e2e_str(json_array_get(r.json, 0), "name"), "wf");
    e2e_resp_free(&r);
    e2e_sleep(w->s, in, "30", bid);
    e2e_wait_state(w->s, bid, "STARTED", 30, &r);
    e2e_resp_free(&r);
    t0 = e2e_now();
    e2e_cancel(w->s, bid);
    d = wait_event(w, bid, "cancelled", 5);
    assert_non_null(d);
    json_decref(d);
    assert_true(e2e_now() - t0 < 1.0);
    snprintf(path, sizeof(path), "/analysis/%s", bid);
    e2e_get(w->s, path, &r);
    assert_true(e2e_state_is(&r, "REVOKED"));
    e2e_resp_free(&r);
    E2E_PASS(w->s);
}

/* vas serve --queue with --workers 1: the local worker is a Redis worker named
 * <host>-<port>-local0. */
static void local_worker_goes_through_redis(void **state)
{
    world *w = *state;
    char in[41], aid[37], want[160], host[128] = "";
    e2e_resp r;

    gethostname(host, sizeof(host) - 1);
    snprintf(want, sizeof(want), "%s-%s-local0", host, w->port_arg);
    e2e_upload_text(w->s, "local\n", "l.txt", in);
    e2e_sleep(w->s, in, "0", aid);
    e2e_wait_state(w->s, aid, "SUCCESS", 30, &r);
    assert_string_equal(e2e_str(r.json, "worker"), want);
    e2e_resp_free(&r);
    E2E_PASS(w->s);
}

/* A real `video` job with the demo model on a remote worker: the input comes over HTTP with
 * its file name, so the outputs are named as DeepLabCut names them, and uploaded. */
static void video_job_on_a_remote_worker(void **state)
{
    world *w = *state;
    char fid[41], aid[37], form[256], path[128], want[512];
    e2e_resp r, f;

    e2e_upload_path(w->s, TU_OPENFIELD_CLIP, "m3v1_clip.mp4", fid);
    start_worker(w, "wv", NULL);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield", fid);
    e2e_analysis(w->s, form, aid, NULL);
    e2e_wait_state(w->s, aid, "SUCCESS", 600, &r);
    assert_string_equal(e2e_str(r.json, "worker"), "wv");
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")),
                     TU_OPENFIELD_CLIP_FRAMES);
    snprintf(path, sizeof(path), "/file/%s", e2e_str(r.json, "csv_file"));
    e2e_get(w->s, path, &f);
    e2e_assert_status(&f, 200);
    snprintf(want, sizeof(want), "attachment; filename=\"m3v1_clip%s.csv\"",
             e2e_str(r.json, "scorer"));
    assert_string_equal(e2e_header(&f, "Content-Disposition"), want);
    assert_non_null(strstr(f.body, "bodyparts"));
    e2e_resp_free(&f);
    e2e_resp_free(&r);
    E2E_PASS(w->s);
}

/* A cancel while the worker waits for the server to fetch an input: seen within a second, the
 * job ends `cancelled` without waiting out the retries. */
static void cancel_while_fetching(void **state)
{
    world *w = *state;
    const char *id = "a0000000-0000-4000-8000-00000000000e";
    char in[41];
    json_t *d;

    e2e_upload_text(w->s, "never fetched\n", "n.txt", in);
    assert_int_equal(e2e_stop(w->s), 0);
    start_worker(w, "wn", NULL);
    add_job(w, id, "sleep", in, "{\"time\":0}");
    assert_non_null(d = wait_event(w, id, "started", 30));
    json_decref(d);
    tu_nap_ms(2500); /* into the longer back-off waits */
    cancel_now(w, id);
    assert_null(find_event(w, id, "failure"));
    assert_int_equal(e2e_start(w->s), 0); /* teardown stops it */
    E2E_PASS(w->s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sleep_job_runs_remotely, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_within_a_second, setup, teardown),
        cmocka_unit_test_setup_teardown(cancelled_before_claim_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_input_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(server_restart_during_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(kill9_leaves_entry_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_settings_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(two_slots_run_two_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(redis_restart_mid_job, setup, teardown),
        cmocka_unit_test_setup_teardown(slot_crash_fails_its_job, setup, teardown),
        cmocka_unit_test_setup_teardown(slot_over_memory_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(cut_download_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_while_fetching, setup, teardown),
        cmocka_unit_test_setup_teardown(full_flow_through_a_remote_worker, setup_queue, teardown),
        cmocka_unit_test_setup_teardown(local_worker_goes_through_redis, setup_queue_local,
                                        teardown),
        cmocka_unit_test_setup_teardown(video_job_on_a_remote_worker, setup_queue, teardown),
    };

    if (!rqfx_available()) {
        printf("e2e_rq_worker: skipped: no %s\n", RQFX_SERVER);
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
