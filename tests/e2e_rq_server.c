/* e2e_rq_server.c - `vas serve --queue redis://...` end to end, the server's side of
 * docs/redis-queue.md: a real redis-server (password, free loopback port) and a real `vas serve
 * --workers 0`; the test plays the workers by hand through Redis (claims with XREADGROUP, sends
 * started/progress/success/failure events, heartbeats) and checks the catalog over HTTP:
 * PENDING -> STARTED (worker) -> SUCCESS/FAILURE; GET /workers and /metrics; a worker whose
 * heartbeat stops: its job is queued again (attempt 2) and FAILURE after 3 attempts; cancel sets
 * the cancel key; a model only a worker has is accepted and waits, saying why, while no worker
 * has it; events sent while the server is down (and one it read without acknowledging) are
 * applied after its restart, a STARTED job kept; a Redis restart (no persistence) gets PENDING
 * jobs queued again. Skips when /usr/bin/redis-server is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"
#include "queue/rq_redis.h"
#include "rq_redis_fx.h"

#define GRACE_MS "1500" /* VAS_QUEUE_GRACE_MS: a dead worker's jobs are reaped in seconds */

static rqfx fx;
static const char *serve_args[] = {"--workers", "0", "--queue", fx.url, NULL};

/* ---- the test's worker, by hand ---- */

static rq_redis *fw_connect(void)
{
    rq_redis *r = NULL;
    vas_err e = {0};

    assert_int_equal(rq_redis_connect(fx.url, 5000, NULL, &r, &e), VAS_OK);
    return r;
}

/* SET vas:worker:<name> {...} EX ttl_s, advertising models (a JSON array text). */
static void fw_beat(rq_redis *r, const char *name, const char *models, int ttl_s)
{
    char key[128], val[512];
    vas_err e = {0};

    snprintf(key, sizeof(key), "vas:worker:%s", name);
    snprintf(val, sizeof(val),
             "{\"name\":\"%s\",\"host\":\"test\",\"pid\":1,\"models\":%s,\"concurrency\":1,"
             "\"running\":[],\"version\":\"test\",\"started\":1,\"beat\":%lld}",
             name, models, (long long)time(NULL)); /* a beat 15 s old is a dead worker's */
    assert_int_equal(rq_redis_set_ex(r, key, val, ttl_s, &e), VAS_OK);
}

/* Claims the next entry of stream as <name>/0 (waits up to 5 s): the entry, its job JSON. */
static json_t *fw_claim(rq_redis *r, const char *name, const char *stream, rq_redis_entry *en)
{
    const char *streams[] = {stream};
    char consumer[128];
    vas_err e = {0};
    int rc;

    snprintf(consumer, sizeof(consumer), "%s/0", name);
    for (int i = 0; i < 5; i++) /* BLOCK 1000 each */
        if ((rc = rq_redis_read_one(r, "workers", consumer, 1000, 1, streams, ">", en, &e)) !=
            VAS_ENOTFOUND)
            break;
    assert_int_equal(rc, VAS_OK);
    json_t *job = json_loads(rq_redis_entry_get(en, "job"), 0, NULL);
    assert_non_null(job);
    return job;
}

/* XADD vas:events ... id type worker entry data. */
static void fw_event(rq_redis *r, const char *id, const char *type, const char *worker,
                     const rq_redis_entry *en, const char *data)
{
    char entry[400];
    const char *kv[] = {"id", id, "type", type, "worker", worker, "entry", entry, "data", data};
    vas_err e = {0};

    snprintf(entry, sizeof(entry), "%s:%s", en ? en->stream : "", en ? en->id : "");
    assert_int_equal(rq_redis_xadd(r, "vas:events", 100000, 10, kv, NULL, 0, &e), VAS_OK);
}

/* SISMEMBER set id, waiting up to a second for it to become want (the dispatcher is async). */
static int wait_member(rq_redis *r, const char *set, const char *id, int want)
{
    redisReply *rep = NULL;
    vas_err e = {0};
    int m = -1;

    for (double end = e2e_now() + 1; m != want && e2e_now() < end; tu_nap_ms(5)) {
        assert_int_equal(rq_redis_cmd(r, &rep, &e, "SISMEMBER %s %s", set, id), VAS_OK);
        m = (int)rep->integer;
        freeReplyObject(rep);
    }
    return m;
}

static int is_member(rq_redis *r, const char *set, const char *id)
{
    redisReply *rep = NULL;
    vas_err e = {0};
    int m;

    assert_int_equal(rq_redis_cmd(r, &rep, &e, "SISMEMBER %s %s", set, id), VAS_OK);
    m = (int)rep->integer;
    freeReplyObject(rep);
    return m;
}

/* GET /analysis/<id> into r (status any). */
static void get_analysis(e2e_srv *s, const char *id, e2e_resp *r)
{
    char path[128];

    snprintf(path, sizeof(path), "/analysis/%s", id);
    e2e_get(s, path, r);
}

/* Waits until GET /workers lists n workers (the server's snapshot is a second old at most). */
static void wait_workers(e2e_srv *s, size_t n)
{
    double end = e2e_now() + 5;
    e2e_resp r;

    for (;;) {
        e2e_get(s, "/workers", &r);
        e2e_assert_status(&r, 200);
        size_t got = json_array_size(r.json);
        e2e_resp_free(&r);
        if (got == n)
            return;
        if (e2e_now() > end)
            fail_msg("GET /workers listed %zu workers, not %zu", got, n);
        tu_nap_ms(50);
    }
}

/* ---- tests ---- */

static void job_runs_on_a_remote_worker(void **state)
{
    e2e_srv *s = *state;
    rq_redis *r = fw_connect();
    rq_redis_entry en = {0};
    char fid[41], aid[37], aid2[37];
    e2e_resp resp;

    fw_beat(r, "w1", "[]", 15);
    wait_workers(s, 1);
    e2e_upload_text(s, "remote job input", "in.txt", fid);
    e2e_sleep(s, fid, "0", aid);
    json_t *job = fw_claim(r, "w1", "vas:jobs:-", &en);
    assert_string_equal(e2e_str(job, "id"), aid);
    assert_string_equal(e2e_str(job, "name"), "sleep");
    assert_string_equal(json_string_value(json_array_get(json_object_get(job, "inputs"), 0)), fid);
    assert_int_equal(json_integer_value(json_object_get(job, "attempt")), 1);
    json_decref(job);
    assert_true(is_member(r, "vas:queued", aid));
    e2e_expect_state(s, aid, "PENDING", 202, 1);

    fw_event(r, aid, "started", "w1", &en, "{\"attempt\":1}");
    e2e_wait_state(s, aid, "STARTED", 5, &resp);
    assert_string_equal(e2e_str(resp.json, "worker"), "w1");
    e2e_resp_free(&resp);
    fw_event(r, aid, "progress", "w1", &en, "{\"done\":1,\"total\":4,\"unit\":\"s\"}");
    e2e_wait_progress(s, aid, "s", 1, 5);
    assert_false(is_member(r, "vas:queued", aid)); /* started: no longer queued */

    /* /metrics counts the worker and its running job (from its advertisement). */
    fw_beat(r, "w1", "[]", 15);
    e2e_get(s, "/metrics", &resp);
    e2e_assert_status(&resp, 200);
    assert_non_null(strstr(resp.body, "vas_workers 1\n"));
    assert_non_null(strstr(resp.body, "vas_worker_jobs{worker=\"w1\"} 0\n"));
    e2e_resp_free(&resp);

    fw_event(r, aid, "success", "w1", &en, "{\"result\":{\"slept\":0}}");
    e2e_wait_state(s, aid, "SUCCESS", 5, &resp);
    e2e_assert_status(&resp, 200);
    assert_string_equal(e2e_str(resp.json, "worker"), "w1");
    assert_true(json_is_integer(json_object_get(resp.json, "slept")));
    e2e_resp_free(&resp);
    /* A late or repeated event changes nothing. */
    fw_event(r, aid, "failure", "w1", &en, "{\"description\":\"late\"}");
    rq_redis_entry_clear(&en);

    /* A failure on the worker is a FAILURE with its words; an event of another worker is not. */
    e2e_sleep(s, fid, "0", aid2);
    json_decref(fw_claim(r, "w1", "vas:jobs:-", &en));
    fw_event(r, aid2, "started", "w1", &en, "{\"attempt\":1}");
    e2e_wait_state(s, aid2, "STARTED", 5, &resp);
    e2e_resp_free(&resp);
    fw_event(r, aid2, "success", "someone-else", &en, "{\"result\":{}}");
    fw_event(r, aid2, "failure", "w1", &en, "{\"description\":\"out of film\"}");
    e2e_wait_state(s, aid2, "FAILURE", 5, &resp);
    e2e_assert_status(&resp, 500);
    assert_string_equal(e2e_str(resp.json, "description"), "out of film");
    e2e_resp_free(&resp);
    e2e_expect_state(s, aid, "SUCCESS", 200, 1);
    rq_redis_entry_clear(&en);
    rq_redis_free(r);
    E2E_PASS(s);
}

/* Claims, starts as worker w with a heartbeat that dies at once; returns the attempt. */
static int start_and_die(e2e_srv *s, rq_redis *r, const char *w, const char *aid)
{
    rq_redis_entry en = {0};
    e2e_resp resp;
    json_t *job = fw_claim(r, w, "vas:jobs:-", &en);
    int attempt = (int)json_integer_value(json_object_get(job, "attempt"));

    assert_string_equal(e2e_str(job, "id"), aid);
    json_decref(job);
    fw_beat(r, w, "[]", 1); /* then never again */
    fw_event(r, aid, "started", w, &en, "{}");
    e2e_wait_state(s, aid, "STARTED", 5, &resp);
    e2e_resp_free(&resp);
    rq_redis_entry_clear(&en);
    return attempt;
}

static void dead_worker_job_requeued_then_failed(void **state)
{
    e2e_srv *s = *state;
    rq_redis *r = fw_connect();
    char fid[41], aid[37];
    e2e_resp resp;

    e2e_upload_text(s, "reaped", "in.txt", fid);
    e2e_sleep(s, fid, "0", aid);
    assert_int_equal(start_and_die(s, r, "w-dead", aid), 1);
    /* Key expires after 1 s, the grace is 1.5 s, the reaper looks every 2 s. */
    e2e_wait_state(s, aid, "PENDING", 10, &resp);
    assert_null(json_object_get(resp.json, "worker")); /* not run yet on another */
    e2e_resp_free(&resp);
    assert_int_equal(start_and_die(s, r, "w-dead", aid), 2);
    e2e_wait_state(s, aid, "PENDING", 10, &resp);
    e2e_resp_free(&resp);
    assert_int_equal(start_and_die(s, r, "w-dead", aid), 3);
    e2e_wait_state(s, aid, "FAILURE", 10, &resp);
    e2e_assert_status(&resp, 500);
    assert_string_equal(e2e_str(resp.json, "description"),
                        "worker w-dead stopped answering during the job; tried 3 times");
    e2e_resp_free(&resp);
    assert_true(e2e_log_wait(s, "event=job_reaped", 1));
    rq_redis_free(r);
    E2E_PASS(s);
}

static void cancel_sets_the_key(void **state)
{
    e2e_srv *s = *state;
    rq_redis *r = fw_connect();
    char fid[41], aid[37], key[96];
    vas_err e = {0};
    int ex = 0;

    e2e_upload_text(s, "cancel me", "in.txt", fid);
    e2e_sleep(s, fid, "10", aid);
    e2e_cancel(s, aid);
    snprintf(key, sizeof(key), "vas:cancel:%s", aid);
    double end = e2e_now() + 1.0; /* the issue: a remote worker knows within a second */
    while (!ex && e2e_now() < end) {
        assert_int_equal(rq_redis_exists(r, key, &ex, &e), VAS_OK);
        if (!ex)
            tu_nap_ms(10);
    }
    assert_true(ex);
    assert_int_equal(wait_member(r, "vas:queued", aid, 0), 0); /* not waiting any more */
    e2e_expect_state(s, aid, "REVOKED", 200, 1);
    rq_redis_free(r);
    E2E_PASS(s);
}

static void model_of_a_worker_accepted_and_waits(void **state)
{
    e2e_srv *s = *state;
    rq_redis *r = fw_connect();
    rq_redis_entry en = {0};
    redisReply *rep = NULL;
    char fid[41], aid[37], form[256];
    vas_err e = {0};
    e2e_resp resp;

    e2e_upload_text(s, "not really a video", "v.mp4", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=ghost", fid);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", form, &resp);
    e2e_assert_error(&resp, 400);
    assert_non_null(strstr(e2e_str(resp.json, "error"), "unknown model 'ghost'"));
    assert_non_null(strstr(e2e_str(resp.json, "error"), "live workers have: none"));
    e2e_resp_free(&resp);

    fw_beat(r, "w-ghost", "[\"ghost\"]", 15);
    wait_workers(s, 1);
    e2e_analysis(s, form, aid, NULL);
    get_analysis(s, aid, &resp);
    assert_null(json_object_get(resp.json, "waiting"));
    e2e_resp_free(&resp);
    json_t *job = fw_claim(r, "w-ghost", "vas:jobs:ghost", &en);
    assert_string_equal(e2e_str(job, "model"), "ghost");
    json_decref(job);
    rq_redis_entry_clear(&en);

    assert_int_equal(rq_redis_cmd(r, &rep, &e, "DEL vas:worker:w-ghost"), VAS_OK);
    freeReplyObject(rep);
    wait_workers(s, 0);
    get_analysis(s, aid, &resp);
    e2e_assert_status(&resp, 202);
    assert_string_equal(e2e_str(resp.json, "waiting"), "no live worker has model ghost");
    e2e_resp_free(&resp);
    rq_redis_free(r);
    E2E_PASS(s);
}

static void server_restart_applies_waiting_events(void **state)
{
    e2e_srv *s = *state;
    rq_redis *r = fw_connect();
    rq_redis_entry a = {0}, b = {0}, ev = {0};
    const char *events[] = {"vas:events"};
    char fid[41], ida[37], idb[37];
    vas_err e = {0};

    fw_beat(r, "w-long", "[]", 60);
    e2e_upload_text(s, "restart", "in.txt", fid);
    e2e_sleep(s, fid, "0", ida);
    e2e_sleep(s, fid, "0", idb);
    json_decref(fw_claim(r, "w-long", "vas:jobs:-", &a));
    json_decref(fw_claim(r, "w-long", "vas:jobs:-", &b));
    fw_event(r, ida, "started", "w-long", &a, "{}");
    fw_event(r, idb, "started", "w-long", &b, "{}");
    e2e_expect_state(s, ida, "STARTED", 202, 5);
    e2e_expect_state(s, idb, "STARTED", 202, 5);
    assert_int_equal(e2e_stop(s), 0);

    /* While it is down: a is done; b's success is read as the server but not acknowledged,
     * as by a server killed between its commit and its XACK. */
    fw_event(r, ida, "success", "w-long", &a, "{\"result\":{\"n\":1}}");
    fw_event(r, idb, "success", "w-long", &b, "{\"result\":{\"n\":2}}");
    assert_int_equal(rq_redis_read_one(r, "server", "server", -1, 1, events, ">", &ev, &e), VAS_OK);
    assert_string_equal(rq_redis_entry_get(&ev, "id"), ida);
    rq_redis_entry_clear(&ev);
    assert_int_equal(e2e_start(s), 0);
    e2e_expect_state(s, ida, "SUCCESS", 200, 5);
    e2e_expect_state(s, idb, "SUCCESS", 200, 5);
    rq_redis_entry_clear(&a);
    rq_redis_entry_clear(&b);
    rq_redis_free(r);
    E2E_PASS(s);
}

static void redis_restart_requeues_pending(void **state)
{
    e2e_srv *s = *state;
    rq_redis *r;
    rq_redis_entry en = {0};
    char fid[41], aid[37], aid2[37], busy[37];
    e2e_resp resp;

    e2e_upload_text(s, "redis restart", "in.txt", fid);
    r = fw_connect();
    fw_beat(r, "w-alive", "[]", 15);
    e2e_sleep(s, fid, "0", busy); /* STARTED on a worker that lives through the restart */
    json_decref(fw_claim(r, "w-alive", "vas:jobs:-", &en));
    fw_event(r, busy, "started", "w-alive", &en, "{}");
    rq_redis_entry_clear(&en);
    e2e_expect_state(s, busy, "STARTED", 202, 5);
    e2e_sleep(s, fid, "0", aid);
    assert_int_equal(wait_member(r, "vas:queued", aid, 1), 1);
    rq_redis_free(r);
    rqfx_kill(&fx); /* everything in Redis is gone */
    assert_int_equal(rqfx_start(&fx), 0);
    tu_nap_ms(4000); /* the worker is slow to come back: longer than the grace (1.5 s) */
    r = fw_connect();
    fw_beat(r, "w-alive", "[]", 15);
    tu_nap_ms(2500); /* a reap or two */
    get_analysis(s, busy, &resp);
    assert_true(e2e_state_is(&resp, "STARTED")); /* not taken from its live worker */
    e2e_resp_free(&resp);
    json_t *job = fw_claim(r, "w-new", "vas:jobs:-", &en); /* queued again by the server */
    assert_string_equal(e2e_str(job, "id"), aid);
    json_decref(job);
    rq_redis_entry_clear(&en);
    assert_true(e2e_log_wait(s, "reason=lost_by_redis", 1));
    /* And new jobs go through as before. */
    e2e_sleep(s, fid, "0", aid2);
    job = fw_claim(r, "w-new", "vas:jobs:-", &en);
    assert_string_equal(e2e_str(job, "id"), aid2);
    json_decref(job);
    rq_redis_entry_clear(&en);
    rq_redis_free(r);
    E2E_PASS(s);
}

static void bad_queue_urls_refused(void **state)
{
    e2e_srv *s = *state;
    char out[E2E_PATH], url[200];
    char *text;

    snprintf(out, sizeof(out), "%s/out.txt", s->dir);
    assert_int_equal(e2e_run_vas(out, "serve", "--queue", "amqp://guest:hunter2@localhost//", NULL),
                     2);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "must start with redis://"));
    assert_null(strstr(text, "hunter2"));
    free(text);
    snprintf(url, sizeof(url), "redis://:wrong-pw@127.0.0.1:%d/0", fx.port);
    assert_int_equal(e2e_run_vas(out, "serve", "--port", "0", "--db", s->db, "--data", s->data,
                                 "--workers", "0", "--queue", url, NULL),
                     1);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "Redis refused the password"));
    assert_null(strstr(text, "wrong-pw"));
    free(text);
    E2E_PASS(s);
}

/* e2e_setup on an empty Redis: each test starts from no keys, as a fresh deployment would. */
static int rq_setup(void **state)
{
    rq_redis *r = NULL;
    redisReply *rep = NULL;
    vas_err e = {0};

    if (rq_redis_connect(fx.url, 5000, NULL, &r, &e) < 0 ||
        rq_redis_cmd(r, &rep, &e, "FLUSHALL") < 0) {
        fprintf(stderr, "e2e: cannot empty Redis: %s\n", e.msg);
        rq_redis_free(r);
        return -1;
    }
    freeReplyObject(rep);
    rq_redis_free(r);
    return e2e_setup(state);
}

#define RQ_TEST(fn) cmocka_unit_test_prestate_setup_teardown(fn, rq_setup, e2e_teardown, serve_args)

static int group_setup(void **state)
{
    if (e2e_group_setup(state) < 0 || rqfx_setup(&fx, "e2e-pw") < 0)
        return -1;
    return setenv("VAS_QUEUE_GRACE_MS", GRACE_MS, 1);
}

static int group_teardown(void **state)
{
    rqfx_kill(&fx);
    return e2e_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RQ_TEST(job_runs_on_a_remote_worker),
        RQ_TEST(dead_worker_job_requeued_then_failed),
        RQ_TEST(cancel_sets_the_key),
        RQ_TEST(model_of_a_worker_accepted_and_waits),
        RQ_TEST(server_restart_applies_waiting_events),
        RQ_TEST(redis_restart_requeues_pending),
        E2E_TEST_NO_SERVER(bad_queue_urls_refused, NULL),
    };

    if (!rqfx_available()) {
        printf("[  SKIPPED ] e2e_rq_server: %s is missing: no Redis tests\n", RQFX_SERVER);
        return 0;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
