/* e2e_redis.c - jobs through Redis on many machines, with real processes only: a redis-server
 * started here (loopback port, a password, no persistence), `vas serve --queue redis://...
 * --workers 0` and 1-3 `vas worker --redis` processes (e2e_redis.h). docs/redis-queue.md is the
 * protocol they follow; this checks what a lab sees over HTTP:
 *   - jobs spread over the workers; GET /workers lists each with its models, concurrency, running
 *     jobs and heartbeat; GET /analysis/<id> names the worker;
 *   - a worker killed with kill -9 mid-job: the job completes on another (attempts 2), and GET
 *     /workers drops the dead one within 15 s of its last beat (the time is printed); killed
 *     three times, the job fails saying why;
 *   - redis-server killed and started again mid-run: every job still completes;
 *   - the server restarted mid-run: the workers' results are recorded;
 *   - cancel of a job running on a remote worker: REVOKED, and the worker is free again at once;
 *   - a job for a model no live worker has stays PENDING and says so, until one comes;
 *   - a worker in another network namespace (a veth pair; root only) runs a real `video` job with
 *     the demo model, its input and outputs crossing the link;
 *   - a wrong Redis password stops `vas serve --queue` and `vas worker` with a clear error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"

#include "e2e_redis.h"

#include <sqlite3.h>

#define DONE_S  60.0 /* a few sleep jobs, under ASan, on 2 shared cores */
#define VIDEO_S 600.0
#define VIDEO   "tests/fixtures/openfield/m3v1_clip.mp4"

/* ---- helpers ---- */

/* GET /analysis/<id>; the JSON string field key, copied into out (or "" when absent). */
static void analysis_field(er_fix *f, const char *id, const char *key, char *out, size_t n)
{
    char path[128];
    e2e_resp r;
    const json_t *v;

    snprintf(path, sizeof(path), "/analysis/%s", id);
    e2e_get(f->s, path, &r);
    v = json_object_get(r.json, key);
    snprintf(out, n, "%s", json_is_string(v) ? json_string_value(v) : "");
    e2e_resp_free(&r);
}

/* From one GET /analysis/<id>: the worker's name when it is STARTED, else its state ("PENDING"),
 * into out; "" for another state or a STARTED row without a worker. */
static void started_by(er_fix *f, const char *id, char *out, size_t n)
{
    char path[128];
    e2e_resp r;
    const char *state, *worker;

    snprintf(path, sizeof(path), "/analysis/%s", id);
    e2e_get(f->s, path, &r);
    state = json_string_value(json_object_get(r.json, "state"));
    worker = json_string_value(json_object_get(r.json, "worker"));
    if (state && !strcmp(state, "STARTED"))
        snprintf(out, n, "%s", worker ? worker : "");
    else
        snprintf(out, n, "%s", state && !strcmp(state, "PENDING") ? state : "");
    e2e_resp_free(&r);
}

/* The analysis's `attempts` in the catalog (read-only; the server keeps writing it). */
static int attempts_of(er_fix *f, const char *id)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    assert_int_equal(sqlite3_open_v2(f->s->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT attempts FROM analyses WHERE id = ?", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Waits for SUCCESS and checks the sleep job's CSV output downloads from the server with the
 * bytes the worker wrote ("sleep,<t>\n"); the worker's name into worker[32]. */
static void expect_sleep_done(er_fix *f, const char *id, const char *t, char worker[32])
{
    char path[128], want[64];
    e2e_resp r, d;

    e2e_wait_state(f->s, id, "SUCCESS", DONE_S, &r);
    e2e_assert_status(&r, 200);
    if (!json_is_string(json_object_get(r.json, "worker")) ||
        !json_is_string(json_object_get(r.json, "csv_file")))
        fail_msg("analysis %s: no worker or csv_file in %s", id, r.body);
    snprintf(worker, 32, "%s", e2e_str(r.json, "worker"));
    snprintf(path, sizeof(path), "/file/%s", e2e_str(r.json, "csv_file"));
    e2e_get(f->s, path, &d);
    e2e_assert_status(&d, 200);
    snprintf(want, sizeof(want), "sleep,%s\n", t);
    assert_string_equal(d.body, want);
    e2e_resp_free(&d);
    e2e_resp_free(&r);
}

/* Waits until the analysis is STARTED; the worker running it into worker[32]. */
static void wait_started(er_fix *f, const char *id, char worker[32])
{
    e2e_resp r;

    e2e_wait_state(f->s, id, "STARTED", DONE_S, &r);
    snprintf(worker, 32, "%s", e2e_str(r.json, "worker"));
    e2e_resp_free(&r);
}

/* The index in f->w of the worker named name (fails when none). */
static int worker_index(er_fix *f, const char *name)
{
    for (int i = 0; i < f->n_w; i++)
        if (!strcmp(f->w[i].name, name))
            return i;
    fail_msg("no worker named '%s' was started", name);
    return -1;
}

/* The number of entries in worker name's advertised `running` list (-1: not listed). */
static int running_on(er_fix *f, const char *name)
{
    e2e_resp r;
    const json_t *w;
    int n;

    er_get_workers(f, &r);
    w = er_find_worker(r.json, name);
    n = w ? (int)json_array_size(json_object_get(w, "running")) : -1;
    e2e_resp_free(&r);
    return n;
}

/* Polls GET /metrics (up to 5 s) until it shows n live workers, one of them running a job, and
 * the queue's depth. */
static void expect_metrics_busy(er_fix *f, int n)
{
    char want[64];
    double end = e2e_now() + 5;
    int ok = 0;
    e2e_resp r;

    snprintf(want, sizeof(want), "\nvas_workers %d\n", n);
    while (!ok) {
        e2e_get(f->s, "/metrics", &r);
        e2e_assert_status(&r, 200);
        ok = strstr(r.body, want) && strstr(r.body, "\nvas_queue_length ") &&
             (strstr(r.body, "vas_worker_jobs{worker=\"w1\"} 1\n") ||
              strstr(r.body, "vas_worker_jobs{worker=\"w2\"} 1\n") ||
              strstr(r.body, "vas_worker_jobs{worker=\"w3\"} 1\n"));
        if (!ok && e2e_now() > end)
            fail_msg("GET /metrics never showed %d workers with a job running: %.2000s", n, r.body);
        e2e_resp_free(&r);
        tu_nap_ms(100);
    }
}

/* 1 when the JSON array a holds the string want. */
static int has_string(const json_t *a, const char *want)
{
    size_t i;
    const json_t *v;

    json_array_foreach(a, i,
                       v) if (json_is_string(v) && !strcmp(json_string_value(v), want)) return 1;
    return 0;
}

/* ---- tests ---- */

/* Six 1-second jobs over three workers of concurrency 1: at least two workers run some, each
 * names its worker, GET /workers advertises what docs/redis-queue.md says, and /metrics shows the
 * live workers, the jobs each runs and the queue's depth. */
static void jobs_spread_over_workers(void **state)
{
    er_fix *f = *state;
    char fid[41], aid[6][37], who[6][32];
    int distinct = 0;
    e2e_resp r;
    size_t i;
    const json_t *w;

    er_up(f, 3, NULL);
    er_get_workers(f, &r);
    assert_int_equal(json_array_size(r.json), 3);
    json_array_foreach(r.json, i, w)
    {
        assert_true(json_is_array(json_object_get(w, "models")));
        assert_true(has_string(json_object_get(w, "models"), "openfield"));
        assert_int_equal(json_integer_value(json_object_get(w, "concurrency")), 1);
        assert_true(json_is_array(json_object_get(w, "running")));
        assert_true(json_integer_value(json_object_get(w, "beat")) >= time(NULL) - 10);
        assert_true(json_integer_value(json_object_get(w, "pid")) > 0);
    }
    e2e_resp_free(&r);
    e2e_upload_text(f->s, "spread", "spread.txt", fid);
    for (int k = 0; k < 6; k++)
        e2e_sleep(f->s, fid, "1", aid[k]);
    expect_metrics_busy(f, 3);
    for (int k = 0; k < 6; k++) {
        expect_sleep_done(f, aid[k], "1", who[k]);
        int seen = 0;
        for (int j = 0; j < k; j++)
            seen |= !strcmp(who[j], who[k]);
        distinct += !seen;
        worker_index(f, who[k]); /* one of ours, not "embedded" */
    }
    assert_true(distinct >= 2);
    E2E_PASS(f->s);
}

/* kill -9 of the worker running a 4-second job (and of its job process): the server re-queues the
 * job once the heartbeat has expired and the other worker completes it; the dead worker leaves
 * GET /workers about 15 s after the kill. */
static void killed_worker_job_completes_elsewhere(void **state)
{
    er_fix *f = *state;
    char fid[41], aid[37], first[32], last[32];
    double t0, gone_s;

    er_up(f, 2, NULL);
    e2e_upload_text(f->s, "kill -9", "kill.txt", fid);
    e2e_sleep(f->s, fid, "4", aid);
    wait_started(f, aid, first);
    tu_nap_ms(500); /* mid-job */
    er_worker_kill9(f, worker_index(f, first));
    t0 = e2e_now();
    /* GET /workers leaves out an advertisement whose last beat (before the kill) is 15 s old,
     * whatever the age of the server's snapshot of the keys: gone within 15 s (+ one poll) */
    gone_s = er_wait_listed(f, first, 0, ER_BEAT_TTL_S + 0.3);
    expect_sleep_done(f, aid, "4", last);
    assert_string_not_equal(last, first);
    assert_int_equal(attempts_of(f, aid), 2);
    printf("kill -9: %s dropped from GET /workers after %.1f s; job done on %s %.1f s after the "
           "kill\n",
           first, gone_s, last, e2e_now() - t0);
    E2E_PASS(f->s);
}

/* The job's worker killed with kill -9 three times running (each time on the next worker that
 * took it): FAILURE after the third, saying the worker stopped answering and how many tries. */
static void thrice_killed_job_fails_saying_why(void **state)
{
    er_fix *f = *state;
    char fid[41], aid[37], who[32], path[128];
    const char *desc;
    e2e_resp r;

    er_up(f, 3, NULL);
    e2e_upload_text(f->s, "kill thrice", "thrice.txt", fid);
    e2e_sleep(f->s, fid, "60", aid);
    for (int k = 1; k <= 3; k++) {
        double end = e2e_now() + DONE_S;
        char dead[32];
        snprintf(dead, sizeof(dead), "%s", k > 1 ? who : "");
        do { /* STARTED again, by another worker */
            assert_true(e2e_now() < end);
            tu_nap_ms(50);
            started_by(f, aid, who, sizeof(who)); /* one GET: the reaper may act between two */
            assert_true(who[0] != '\0');
        } while (strcmp(who, "STARTED") == 0 || strcmp(who, "PENDING") == 0 || !strcmp(who, dead));
        assert_int_equal(attempts_of(f, aid), k);
        er_worker_kill9(f, worker_index(f, who));
    }
    e2e_wait_state(f->s, aid, "FAILURE", DONE_S, &r);
    e2e_assert_status(&r, 500);
    desc = e2e_str(r.json, "description");
    assert_non_null(strstr(desc, "stopped answering"));
    assert_non_null(strstr(desc, "3"));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/analysis/%s", aid);
    e2e_get(f->s, path, &r); /* and it stays so */
    assert_true(e2e_state_is(&r, "FAILURE"));
    e2e_resp_free(&r);
    E2E_PASS(f->s);
}

/* redis-server killed mid-run (no persistence: every key is gone) and started again on the same
 * port: the server queues its PENDING jobs again, running ones finish, and all complete. */
static void redis_restart_mid_run(void **state)
{
    er_fix *f = *state;
    char fid[41], aid[5][37], who[32];

    er_up(f, 2, NULL);
    e2e_upload_text(f->s, "redis restart", "restart.txt", fid);
    for (int k = 0; k < 5; k++)
        e2e_sleep(f->s, fid, "2", aid[k]);
    wait_started(f, aid[0], who);
    rqfx_kill(&f->redis);
    tu_nap_ms(1500);
    assert_int_equal(rqfx_start(&f->redis), 0);
    for (int k = 0; k < 5; k++)
        expect_sleep_done(f, aid[k], "2", who);
    /* and the queue works as before: a new job, both workers back in GET /workers */
    e2e_sleep(f->s, fid, "0", aid[0]);
    expect_sleep_done(f, aid[0], "0", who);
    er_wait_listed(f, "w1", 1, ER_UP_S);
    er_wait_listed(f, "w2", 1, ER_UP_S);
    E2E_PASS(f->s);
}

/* The server stopped (SIGTERM) while workers run its jobs and started again 2 s later on the
 * same port: the jobs finish meanwhile and their results are recorded. */
static void server_restart_mid_run(void **state)
{
    er_fix *f = *state;
    char fid[41], aid[2][37], who[32];

    er_up(f, 2, NULL);
    e2e_upload_text(f->s, "server restart", "server.txt", fid);
    for (int k = 0; k < 2; k++)
        e2e_sleep(f->s, fid, "3", aid[k]);
    for (int k = 0; k < 2; k++)
        wait_started(f, aid[k], who);
    er_restart_server(f, 2.0);
    for (int k = 0; k < 2; k++) {
        expect_sleep_done(f, aid[k], "3", who);
        worker_index(f, who);
    }
    E2E_PASS(f->s);
}

/* DELETE /analysis/<id> of a job on a remote worker: REVOKED at once, and within a second the
 * worker has stopped it: its only slot takes the next job (a 0-second one done in under 2 s,
 * where the cancelled job had 60 s left), and its advertisement's `running` list empties. The
 * measured times are printed. */
static void cancel_reaches_remote_worker(void **state)
{
    er_fix *f = *state;
    char fid[41], aid[37], next[37], who[32];
    double t0, free_s, empty_s;

    er_up(f, 1, NULL);
    e2e_upload_text(f->s, "cancel", "cancel.txt", fid);
    e2e_sleep(f->s, fid, "60", aid);
    wait_started(f, aid, who);
    assert_string_equal(who, "w1");
    t0 = e2e_now();
    while (running_on(f, "w1") < 1) { /* the next heartbeat names it */
        assert_true(e2e_now() - t0 < 10);
        tu_nap_ms(100);
    }
    t0 = e2e_now();
    e2e_cancel(f->s, aid);
    e2e_sleep(f->s, fid, "0", next);
    expect_sleep_done(f, next, "0", who);
    free_s = e2e_now() - t0;
    while (running_on(f, "w1") != 0) {
        assert_true(e2e_now() - t0 < 1.5); /* it advertises again when its jobs change */
        tu_nap_ms(50);
    }
    empty_s = e2e_now() - t0;
    e2e_expect_state(f->s, aid, "REVOKED", 200, 1);
    printf("cancel: the worker ran the next job %.2f s after DELETE; its running list was empty "
           "after %.2f s\n",
           free_s, empty_s);
    assert_true(free_s < 2.0);
    E2E_PASS(f->s);
}

/* A video job while the only worker has no models: PENDING, `waiting` says no live worker has the
 * model; a worker with the model comes and starts it. */
static void model_no_worker_has_waits(void **state)
{
    er_fix *f = *state;
    char fid[41], aid[37], form[256], waiting[256], who[32];
    char empty[E2E_PATH];
    e2e_resp r;

    snprintf(empty, sizeof(empty), "%s/no-models", f->s->dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    er_up(f, 0, NULL);
    er_worker_start(f, "bare", empty, 0);
    er_wait_listed(f, "bare", 1, ER_UP_S);
    e2e_upload_path(f->s, VIDEO, "m3v1_clip.mp4", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield", fid);
    e2e_analysis(f->s, form, aid, NULL);
    tu_nap_ms(2500); /* over two dispatch rounds */
    analysis_field(f, aid, "state", waiting, sizeof(waiting));
    assert_string_equal(waiting, "PENDING");
    analysis_field(f, aid, "waiting", waiting, sizeof(waiting));
    assert_non_null(strstr(waiting, "openfield"));
    er_worker_start(f, "posey", "models", 0);
    wait_started(f, aid, who);
    assert_string_equal(who, "posey");
    e2e_cancel(f->s, aid); /* the video itself runs in worker_on_another_host */
    e2e_wait_state(f->s, aid, "REVOKED", 5, &r);
    e2e_resp_free(&r);
    E2E_PASS(f->s);
}

/* A worker in another network namespace, reaching Redis and the server only through a veth pair
 * (10.231.k.1 here, .2 there): a real `video` job with the demo model. Its input crosses the link
 * to the worker (the host side sends at least the video's size), its outputs cross back (the CSV
 * downloads from the server), and its own cache holds the input. Needs root. */
static void worker_on_another_host(void **state)
{
    er_fix *f = *state;
    char fid[41], aid[37], form[256], path[E2E_PATH + 64], who[32];
    long long tx0, rx0, tx, rx;
    size_t video_len = 0;
    char *video = tu_read_file(VIDEO, &video_len);
    struct stat st;
    e2e_resp r, d;

    free(video);
    assert_true(video_len > 100000);
    if (geteuid() != 0) {
        printf("skipped worker_on_another_host: needs root for ip netns (CAP_NET_ADMIN)\n");
        E2E_PASS(f->s);
        skip();
    }
    if (er_netns_up(f) < 0) {
        printf("skipped worker_on_another_host: ip netns or a veth pair cannot be made here\n");
        snprintf(path, sizeof(path), "%s/netns.log", f->s->dir);
        er_dump("ip netns", path); /* why */
        E2E_PASS(f->s);
        skip();
    }
    snprintf(f->redis.bind, sizeof(f->redis.bind), "127.0.0.1 %s", f->host_ip);
    er_up(f, 0, "0.0.0.0");
    e2e_upload_path(f->s, VIDEO, "m3v1_clip.mp4", fid);
    tx0 = er_veth_stat(f, "tx_bytes");
    rx0 = er_veth_stat(f, "rx_bytes");
    er_worker_start(f, "far", "models", 1);
    er_wait_listed(f, "far", 1, ER_UP_S);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield", fid);
    e2e_analysis(f->s, form, aid, NULL);
    e2e_wait_state(f->s, aid, "SUCCESS", VIDEO_S, &r);
    e2e_assert_status(&r, 200);
    snprintf(who, sizeof(who), "%s", e2e_str(r.json, "worker"));
    assert_string_equal(who, "far");
    snprintf(path, sizeof(path), "/file/%s", e2e_str(r.json, "csv_file"));
    e2e_get(f->s, path, &d);
    e2e_assert_status(&d, 200);
    assert_true(!strncmp(d.body, "scorer,", 7));
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")), 367);
    tx = er_veth_stat(f, "tx_bytes") - tx0;
    rx = er_veth_stat(f, "rx_bytes") - rx0;
    assert_true(tx >= (long long)video_len); /* the input, to the worker */
    assert_true(rx >= (long long)d.len);     /* the CSV (and the other outputs), back */
    snprintf(path, sizeof(path), "%s/data/files/%.2s/%s", f->w[0].dir, fid, fid);
    assert_int_equal(stat(path, &st), 0); /* the worker's cache: a store of its own */
    assert_int_equal(st.st_size, (off_t)video_len);
    printf("veth: %lld bytes to the worker, %lld back; video %zu bytes, CSV %zu bytes\n", tx, rx,
           video_len, d.len);
    e2e_resp_free(&d);
    e2e_resp_free(&r);
    E2E_PASS(f->s);
}

/* A wrong Redis password: `vas serve --queue` and `vas worker --redis` stop at once (exit 1) with
 * a sentence saying Redis refused it, instead of retrying for ever. */
static void wrong_redis_password_refused(void **state)
{
    er_fix *f = *state;
    char url[128], out[E2E_PATH], server[E2E_PATH], data[E2E_PATH];
    char *text;

    if (!rqfx_available()) {
        printf("skipped wrong_redis_password_refused: no %s\n", RQFX_SERVER);
        E2E_PASS(f->s);
        skip();
    }
    assert_int_equal(rqfx_start(&f->redis), 0);
    snprintf(url, sizeof(url), "redis://:not-%s@127.0.0.1:%d/0", ER_PASSWORD, f->redis.port);
    snprintf(out, sizeof(out), "%s/out.txt", f->s->dir);
    snprintf(data, sizeof(data), "%s/w", f->s->dir);
    assert_int_equal(e2e_run_vas(out, "worker", "--redis", url, "--server", "http://127.0.0.1:9",
                                 "--data", data, NULL),
                     1);
    text = tu_read_file(out, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "Redis refused the password"));
    assert_null(strstr(text, "not-" ER_PASSWORD)); /* never echoed */
    free(text);
    snprintf(server, sizeof(server), "%s/serve-db", f->s->dir);
    assert_int_equal(e2e_run_vas(out, "serve", "--port", "0", "--db", server, "--data", data,
                                 "--queue", url, "--workers", "0", NULL),
                     1);
    text = tu_read_file(out, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "Redis refused the password"));
    assert_null(strstr(text, "not-" ER_PASSWORD));
    free(text);
    E2E_PASS(f->s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ER_TEST(jobs_spread_over_workers),
        ER_TEST(killed_worker_job_completes_elsewhere),
        ER_TEST(thrice_killed_job_fails_saying_why),
        ER_TEST(redis_restart_mid_run),
        ER_TEST(server_restart_mid_run),
        ER_TEST(cancel_reaches_remote_worker),
        ER_TEST(model_no_worker_has_waits),
        ER_TEST(worker_on_another_host),
        ER_TEST(wrong_redis_password_refused),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
