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
    const char *args[8];
    pid_t workers[4];
    char wlog[4][E2E_PATH];
    int n_workers;
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

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    void *st = NULL;

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
    const char *args[] = {"--workers", "0", "--token", TOKEN, "--port", w->port_arg, NULL};
    memcpy(w->args, args, sizeof(args));
    w->s->args = w->args;
    w->s->token = TOKEN;
    *state = w;
    return e2e_start(w->s);
}

static int teardown(void **state)
{
    world *w = *state;
    void *st;
    int rc;

    if (!w)
        return 0;
    for (int i = 0; i < w->n_workers; i++)
        if (w->workers[i] > 0) {
            kill(w->workers[i], SIGTERM);
            if (e2e_wait_pid(w->workers[i], 10) < 0) {
                kill(w->workers[i], SIGKILL);
                waitpid(w->workers[i], NULL, 0);
            }
        }
    if (!w->s->passed)
        for (int i = 0; i < w->n_workers; i++) {
            char *t = tu_read_file(w->wlog[i], NULL);
            fprintf(stderr, "---- worker %d log ----\n%s\n", i, t ? t : "(none)");
            free(t);
        }
    if (w->rc)
        redisFree(w->rc);
    rqfx_kill(&w->redis);
    st = w->s;
    rc = e2e_teardown(&st);
    free(w);
    *state = NULL;
    return rc;
}

/* Starts `vas worker --redis ... --name <name>` with its own data folder; returns its index. */
static int start_worker(world *w, const char *name, const char *url)
{
    char data[E2E_PATH], server[64];
    int i = w->n_workers++;

    snprintf(data, sizeof(data), "%s/%s", w->s->dir, name);
    snprintf(server, sizeof(server), "http://127.0.0.1:%s", w->port_arg);
    snprintf(w->wlog[i], sizeof(w->wlog[i]), "%s/%s.log", w->s->dir, name);
    const char *argv[] = {e2e_bin(),  "worker", "--redis", url ? url : w->redis.url,
                          "--server", server,   "--token", TOKEN,
                          "--name",   name,     "--data",  data,
                          "--models", "models", NULL};
    w->workers[i] = e2e_spawn(argv, w->wlog[i]);
    assert_true(w->workers[i] > 0);
    return i;
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
    assert_non_null(find_event(w, id, "progress"));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sleep_job_runs_remotely, setup, teardown),
    };

    if (!rqfx_available()) {
        printf("e2e_rq_worker: skipped: no %s\n", RQFX_SERVER);
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
