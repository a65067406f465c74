/* e2e_rq_worker.c - `vas worker --redis` against a real redis-server (with a password, so AUTH
 * is proven) and a real `vas serve` whose HTTP API the worker fetches inputs from and uploads
 * outputs to. The jobs are XADDed by hand into vas:jobs:- as docs/redis-queue.md describes the
 * server doing, and the worker's events are read back from vas:events: this tests the worker's
 * side of the protocol on its own (e2e_rq_flow.c adds the server's queue; tests/e2e_redis.c runs
 * the whole system with several workers). The world: tests/e2e_rq_world.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_rq_world.h"

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

#ifdef TU_ASAN
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

/* Requests for path in the server's log so far. */
static int log_count(world *w, const char *path)
{
    char needle[128], *t = tu_read_file(w->s->log, NULL);
    int n = 0;

    snprintf(needle, sizeof(needle), "method=GET path=%s ", path);
    for (const char *p = t; p && (p = strstr(p, needle)); p++)
        n++;
    free(t);
    return n;
}

/* 1 if the worker's cache (data folder <dir>/<name>) holds blob id. */
static int cached(world *w, const char *name, const char *id)
{
    char path[E2E_PATH + 128];

    snprintf(path, sizeof(path), "%s/%s/files/%.2s/%s", w->s->dir, name, id, id);
    return access(path, F_OK) == 0;
}

/* LIMIT_WORKER_CACHE: past it the least recently used input goes (an input used again counts
 * as recent and is not fetched twice). */
static void cache_keeps_to_its_limit(void **state)
{
    world *w = *state;
    const char *ids[] = {
        "a0000000-0000-4000-8000-000000000031", "a0000000-0000-4000-8000-000000000032",
        "a0000000-0000-4000-8000-000000000033", "a0000000-0000-4000-8000-000000000034"};
    char in[3][41], cfg[E2E_PATH], text[1300], path[64];
    json_t *d;
    FILE *f;

    snprintf(cfg, sizeof(cfg), "%s/worker.yaml", w->s->dir);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "LIMIT_WORKER_CACHE: 3000\n"); /* two 1200-byte inputs fit, three do not */
    fclose(f);
    for (int i = 0; i < 3; i++) {
        memset(text, 'a' + i, 1199);
        text[1199] = '\n';
        text[1200] = '\0';
        e2e_upload_text(w->s, text, "c.txt", in[i]);
    }
    start_worker_cfg(w, "wc", NULL, "1", cfg);
    const int order[] = {0, 1, 0, 2}; /* in[0] used again after in[1]: in[1] is the oldest */
    for (int k = 0; k < 4; k++) {
        add_job(w, ids[k], "sleep", in[order[k]], "{\"time\":0}");
        assert_non_null(d = wait_event(w, ids[k], "success", 30));
        json_decref(d);
    }
    tu_nap_ms(300); /* the trim runs after the final event */
    assert_true(cached(w, "wc", in[0]));
    assert_false(cached(w, "wc", in[1]));
    assert_true(cached(w, "wc", in[2]));
    snprintf(path, sizeof(path), "/file/%s", in[0]);
    assert_int_equal(log_count(w, path), 1); /* the second job on it used the cache */
    char *log = tu_read_file(w->wlog[0], NULL);
    assert_non_null(strstr(log, "event=cache_evicted files=1 bytes=1200 left=2400 limit=3000"));
    free(log);
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
        cmocka_unit_test_setup_teardown(cache_keeps_to_its_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(cut_download_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_while_fetching, setup, teardown),
    };

    if (!rqfx_available()) {
        printf("e2e_rq_worker: skipped: no %s\n", RQFX_SERVER);
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
