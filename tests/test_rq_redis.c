/* test_rq_redis.c - queue/rq_redis against a real redis-server started by the test on a free
 * loopback port with a password: URL parsing (defaults, refusals, the password never in a
 * message), AUTH right, wrong and missing, SELECT, the stream helpers (group create twice, XADD of
 * JSON, XREADGROUP of new and pending entries, one or a batch, XACK+XDEL, NOGROUP after the stream
 * vanished), pipelines (replies in order, errors kept, a connection lost under one),
 * SET EX/EXISTS, and reconnecting after the test kills and restarts redis-server (at once, after
 * a back-off, and giving up at the deadline). Skips when /usr/bin/redis-server is missing. */
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "queue/rq_redis.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rq_redis_fx.h"

#define PW "s3cret-pw"

static rqfx fx; /* one redis-server for the whole run (group setup) */

static int group_setup(void **state)
{
    (void)state;
    return rqfx_setup(&fx, PW);
}

static int group_teardown(void **state)
{
    (void)state;
    rqfx_kill(&fx);
    return 0;
}

static rq_redis *connect_ok(int retry_ms)
{
    rq_redis *r = NULL;
    vas_err e = {0};

    if (fx.pid == 0) /* a test before killed it and failed half-way */
        assert_int_equal(rqfx_start(&fx), 0);
    assert_int_equal(rq_redis_connect(fx.url, retry_ms, NULL, &r, &e), VAS_OK);
    return r;
}

/* ---- URL ---- */

static void url_forms(void **state)
{
    rq_redis_url u;
    vas_err e = {0};
    char safe[256];

    (void)state;
    assert_int_equal(rq_redis_url_parse("redis://localhost", &u, &e), VAS_OK);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");
    assert_int_equal(rq_redis_url_parse("redis://:p%40ss@10.0.0.2:7000/3", &u, &e), VAS_OK);
    assert_string_equal(u.host, "10.0.0.2");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 3);
    assert_string_equal(u.password, "p@ss");
    rq_redis_url_safe(&u, safe, sizeof(safe));
    assert_string_equal(safe, "redis://:***@10.0.0.2:7000/3");
    assert_int_equal(rq_redis_url_parse("REDIS://user:pw@[::1]:6380/", &u, &e), VAS_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6380);
    assert_string_equal(u.password, "pw");
    rq_redis_url_safe(&u, safe, sizeof(safe));
    assert_string_equal(safe, "redis://:***@[::1]:6380/0");
}

static void url_refusals(void **state)
{
    static const char *const bad[] = {
        "amqp://guest:hunter2@localhost//",
        "rediss://:hunter2@host:6379/0",
        "redis://:hunter2@host:0/0",
        "redis://:hunter2@host:99999/0",
        "redis://:hunter2@host:65a/0",
        "redis://:hunter2@/0",
        "redis://:hunter2@host:6379/x",
        "redis://:hunter2%zz@host/0",
        "",
    };
    rq_redis_url u;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vas_err e = {0};
        assert_int_equal(rq_redis_url_parse(bad[i], &u, &e), VAS_EINVAL);
        assert_true(strlen(e.msg) > 10);
        assert_null(strstr(e.msg, "hunter2")); /* never the password */
    }
    vas_err e = {0};
    assert_int_equal(rq_redis_url_parse("amqp://x", &u, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "redis://"));
}

/* ---- AUTH, SELECT ---- */

static void auth_right_wrong_missing(void **state)
{
    rq_redis *r = connect_ok(0);
    redisReply *rep = NULL;
    vas_err e = {0};
    char url[200];

    (void)state;
    assert_int_equal(rq_redis_cmd(r, &rep, &e, "PING"), VAS_OK);
    assert_string_equal(rep->str, "PONG");
    freeReplyObject(rep);
    rq_redis_free(r);
    r = NULL;

    snprintf(url, sizeof(url), "redis://:wrong-pw@127.0.0.1:%d/0", fx.port);
    assert_int_equal(rq_redis_connect(url, 0, NULL, &r, &e), VAS_EAUTH);
    assert_null(r);
    assert_non_null(strstr(e.msg, "AUTH"));
    assert_null(strstr(e.msg, "wrong-pw"));

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", fx.port);
    assert_int_equal(rq_redis_connect(url, 0, NULL, &r, &e), VAS_EAUTH);
    assert_null(r);
    assert_non_null(strstr(e.msg, "NOAUTH"));
}

static void nobody_listening(void **state)
{
    rq_redis *r = NULL;
    vas_err e = {0};
    char url[200];

    (void)state;
    snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d/0", PW, rqfx_free_port());
    assert_int_equal(rq_redis_connect(url, 0, NULL, &r, &e), VAS_EIO);
    assert_non_null(strstr(e.msg, "cannot connect to Redis"));
    assert_null(strstr(e.msg, PW));
}

static void select_db(void **state)
{
    rq_redis *r0 = connect_ok(0), *r5 = NULL;
    vas_err e = {0};
    char url[200];
    int ex = -1;

    (void)state;
    snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d/5", PW, fx.port);
    assert_int_equal(rq_redis_connect(url, 0, NULL, &r5, &e), VAS_OK);
    assert_int_equal(rq_redis_set_ex(r5, "t:select", "1", 60, &e), VAS_OK);
    assert_int_equal(rq_redis_exists(r5, "t:select", &ex, &e), VAS_OK);
    assert_int_equal(ex, 1);
    assert_int_equal(rq_redis_exists(r0, "t:select", &ex, &e), VAS_OK);
    assert_int_equal(ex, 0); /* another database */
    rq_redis_free(r5);
    rq_redis_free(r0);
}

/* ---- helpers ---- */

static void streams_round_trip(void **state)
{
    rq_redis *r = connect_ok(0);
    const char *streams[] = {"t:jobs:a", "t:jobs:-"};
    rq_redis_entry en = {0};
    json_t *job = json_pack("{s:s, s:i}", "id", "job-1", "attempt", 1);
    char id[64];
    vas_err e = {0};

    (void)state;
    assert_int_equal(rq_redis_group_create(r, streams[0], "workers", &e), VAS_OK);
    assert_int_equal(rq_redis_group_create(r, streams[0], "workers", &e), VAS_OK); /* BUSYGROUP */
    assert_int_equal(rq_redis_group_create(r, streams[1], "workers", &e), VAS_OK);
    assert_int_equal(rq_redis_xadd_json(r, streams[1], 1000, "job", job, id, sizeof(id), &e),
                     VAS_OK);
    assert_non_null(strchr(id, '-'));
    /* New entries: the one just added, from the second stream. */
    assert_int_equal(rq_redis_read_one(r, "workers", "w/0", 100, 2, streams, ">", &en, &e), VAS_OK);
    assert_string_equal(en.stream, "t:jobs:-");
    assert_string_equal(en.id, id);
    json_t *got = json_loads(rq_redis_entry_get(&en, "job"), 0, NULL);
    assert_true(json_equal(got, job));
    json_decref(got);
    rq_redis_entry_clear(&en);
    assert_int_equal(rq_redis_read_one(r, "workers", "w/0", 50, 2, streams, ">", &en, &e),
                     VAS_ENOTFOUND);
    /* Still pending for w/0 until acknowledged. */
    assert_int_equal(rq_redis_read_one(r, "workers", "w/0", -1, 2, streams, "0", &en, &e), VAS_OK);
    assert_string_equal(en.id, id);
    rq_redis_entry_clear(&en);
    assert_int_equal(rq_redis_ack_del(r, streams[1], "workers", id, &e), VAS_OK);
    assert_int_equal(rq_redis_read_one(r, "workers", "w/0", -1, 2, streams, "0", &en, &e),
                     VAS_ENOTFOUND);
    json_decref(job);
    rq_redis_free(r);
}

static void nogroup_recreated(void **state)
{
    rq_redis *r = connect_ok(0);
    const char *streams[] = {"t:gone"};
    const char *kv[] = {"id", "x", "type", "started"};
    rq_redis_entry en = {0};
    redisReply *rep = NULL;
    vas_err e = {0};

    (void)state;
    assert_int_equal(rq_redis_cmd(r, &rep, &e, "DEL %s", streams[0]), VAS_OK);
    freeReplyObject(rep);
    /* No stream, no group: the read makes both, then finds nothing. */
    assert_int_equal(rq_redis_read_one(r, "server", "server", 10, 1, streams, ">", &en, &e),
                     VAS_ENOTFOUND);
    assert_int_equal(rq_redis_xadd(r, streams[0], 0, 4, kv, NULL, 0, &e), VAS_OK);
    assert_int_equal(rq_redis_read_one(r, "server", "server", 10, 1, streams, ">", &en, &e),
                     VAS_OK);
    assert_string_equal(rq_redis_entry_get(&en, "type"), "started");
    assert_null(rq_redis_entry_get(&en, "nope"));
    rq_redis_entry_clear(&en);
    assert_int_equal(rq_redis_xadd(r, streams[0], 0, 3, kv, NULL, 0, &e), VAS_EINVAL);
    rq_redis_free(r);
}

static void set_ex_exists(void **state)
{
    rq_redis *r = connect_ok(0);
    redisReply *rep = NULL;
    vas_err e = {0};
    int ex = -1;

    (void)state;
    assert_int_equal(rq_redis_exists(r, "t:cancel:1", &ex, &e), VAS_OK);
    assert_int_equal(ex, 0);
    assert_int_equal(rq_redis_set_ex(r, "t:cancel:1", "1", 86400, &e), VAS_OK);
    assert_int_equal(rq_redis_exists(r, "t:cancel:1", &ex, &e), VAS_OK);
    assert_int_equal(ex, 1);
    assert_int_equal(rq_redis_cmd(r, &rep, &e, "TTL %s", "t:cancel:1"), VAS_OK);
    assert_true(rep->integer > 86000 && rep->integer <= 86400);
    freeReplyObject(rep);
    /* A Redis error is an error with Redis's words. */
    assert_int_equal(rq_redis_cmd(r, &rep, &e, "INCR %s", "t:cancel:1"), VAS_OK);
    freeReplyObject(rep);
    assert_int_equal(rq_redis_cmd(r, &rep, &e, "LPUSH %s x", "t:cancel:1"), VAS_EIO);
    assert_non_null(strstr(e.msg, "WRONGTYPE"));
    rq_redis_free(r);
}

/* A batch read takes up to its COUNT, oldest first; the rest stay for the next read. */
static void read_batch(void **state)
{
    rq_redis *r = connect_ok(0);
    const char *streams[] = {"t:batch"};
    rq_redis_entry en[8];
    char ids[5][64], num[16];
    vas_err e = {0};
    int n = -1;

    (void)state;
    /* No group yet: the read makes it (from the stream's start). */
    for (int i = 0; i < 5; i++) {
        snprintf(num, sizeof(num), "%d", i);
        const char *kv[] = {"n", num};
        assert_int_equal(rq_redis_xadd(r, streams[0], 0, 2, kv, ids[i], sizeof(ids[i]), &e),
                         VAS_OK);
    }
    assert_int_equal(rq_redis_read(r, "g", "c", 10, 3, 1, streams, ">", en, &n, &e), VAS_OK);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(en[i].id, ids[i]);
        snprintf(num, sizeof(num), "%d", i);
        assert_string_equal(rq_redis_entry_get(&en[i], "n"), num);
        rq_redis_entry_clear(&en[i]);
    }
    assert_int_equal(rq_redis_read(r, "g", "c", 10, 8, 1, streams, ">", en, &n, &e), VAS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(en[0].id, ids[3]);
    assert_string_equal(en[1].id, ids[4]);
    rq_redis_entry_clear(&en[0]);
    rq_redis_entry_clear(&en[1]);
    /* All five pending for c. */
    assert_int_equal(rq_redis_read(r, "g", "c", -1, 8, 1, streams, "0", en, &n, &e), VAS_OK);
    assert_int_equal(n, 5);
    for (int i = 0; i < n; i++)
        rq_redis_entry_clear(&en[i]);
    assert_int_equal(rq_redis_read(r, "g", "c", -1, 0, 1, streams, "0", en, &n, &e), VAS_EINVAL);
    rq_redis_free(r);
}

/* Pipelined commands run in order, each with its own reply, errors included; a connection lost
 * under a pipeline is VAS_EIO and the next command reconnects. */
static void pipeline(void **state)
{
    rq_redis *r = connect_ok(5000);
    const char *set[] = {"SET", "t:p", "1"};
    const char *incr[] = {"INCR", "t:p"};
    const char *bad[] = {"LPUSH", "t:p", "x"};
    redisReply *rep[4] = {NULL};
    vas_err e = {0};

    (void)state;
    assert_int_equal(rq_redis_append(r, 3, set, &e), VAS_OK);
    assert_int_equal(rq_redis_append(r, 2, incr, &e), VAS_OK);
    assert_int_equal(rq_redis_append(r, 3, bad, &e), VAS_OK);
    assert_int_equal(rq_redis_append(r, 2, incr, &e), VAS_OK);
    assert_int_equal(rq_redis_pipe(r, 4, rep, &e), VAS_OK);
    assert_int_equal(rep[0]->type, REDIS_REPLY_STATUS);
    assert_int_equal(rep[1]->integer, 2);
    assert_int_equal(rep[2]->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(rep[2]->str, "WRONGTYPE"));
    assert_int_equal(rep[3]->integer, 3);
    for (int i = 0; i < 4; i++)
        freeReplyObject(rep[i]);
    /* Redis killed with the commands queued: no replies, then a restart and it carries on. */
    assert_int_equal(rq_redis_append(r, 2, incr, &e), VAS_OK);
    rqfx_kill(&fx);
    assert_int_equal(rq_redis_pipe(r, 1, rep, &e), VAS_EIO);
    assert_non_null(strstr(e.msg, "pipeline"));
    assert_int_equal(rqfx_start(&fx), 0);
    assert_int_equal(rq_redis_append(r, 2, incr, &e), VAS_OK); /* reconnects first */
    assert_int_equal(rq_redis_pipe(r, 1, rep, &e), VAS_OK);
    assert_int_equal(rep[0]->integer, 1); /* a fresh Redis: no persistence */
    freeReplyObject(rep[0]);
    assert_true(rq_redis_reconnects(r) >= 1);
    rq_redis_free(r);
}

/* ---- reconnecting ---- */

static void reconnect_after_restart(void **state)
{
    rq_redis *r = connect_ok(5000);
    redisReply *rep = NULL;
    vas_err e = {0};
    int ex = 1;

    (void)state;
    assert_int_equal(rq_redis_set_ex(r, "t:before", "1", 60, &e), VAS_OK);
    rqfx_kill(&fx);
    assert_int_equal(rqfx_start(&fx), 0);
    /* The old connection is dead; the command reconnects and runs on the new, empty server. */
    assert_int_equal(rq_redis_exists(r, "t:before", &ex, &e), VAS_OK);
    assert_int_equal(ex, 0);
    assert_int_equal(rq_redis_reconnects(r), 1);
    assert_int_equal(rq_redis_cmd(r, &rep, &e, "PING"), VAS_OK);
    freeReplyObject(rep);
    rq_redis_free(r);
}

static void *restart_later(void *arg)
{
    rqfx_sleep_ms(700);
    return (void *)(intptr_t)rqfx_start(arg);
}

static void reconnect_backs_off(void **state)
{
    rq_redis *r = connect_ok(10000);
    pthread_t t;
    void *started = NULL;
    vas_err e = {0};
    int64_t t0;
    int ex = 1;

    (void)state;
    rqfx_kill(&fx);
    assert_int_equal(pthread_create(&t, NULL, restart_later, &fx), 0);
    t0 = util_mono_ms();
    assert_int_equal(rq_redis_exists(r, "t:x", &ex, &e), VAS_OK); /* waits for the restart */
    assert_true(util_mono_ms() - t0 >= 600);
    assert_true(util_mono_ms() - t0 < 3000); /* 100+200+400+800 ms of back-off at most */
    pthread_join(t, &started);
    assert_int_equal((int)(intptr_t)started, 0);
    assert_int_equal(rq_redis_reconnects(r), 1);
    rq_redis_free(r);
}

static void reconnect_gives_up(void **state)
{
    rq_redis *r = connect_ok(300);
    vas_err e = {0};
    int64_t t0;
    int ex = 1;

    (void)state;
    rqfx_kill(&fx);
    t0 = util_mono_ms();
    assert_int_equal(rq_redis_exists(r, "t:x", &ex, &e), VAS_EIO);
    assert_true(util_mono_ms() - t0 < 2000);
    assert_non_null(strstr(e.msg, "unreachable"));
    assert_null(strstr(e.msg, PW));
    assert_int_equal(rqfx_start(&fx), 0);
    /* The next command reconnects. */
    assert_int_equal(rq_redis_exists(r, "t:x", &ex, &e), VAS_OK);
    rq_redis_free(r);
}

int main(void)
{
    const struct CMUnitTest url_tests[] = {
        cmocka_unit_test(url_forms),
        cmocka_unit_test(url_refusals),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auth_right_wrong_missing),
        cmocka_unit_test(nobody_listening),
        cmocka_unit_test(select_db),
        cmocka_unit_test(streams_round_trip),
        cmocka_unit_test(nogroup_recreated),
        cmocka_unit_test(set_ex_exists),
        cmocka_unit_test(read_batch),
        cmocka_unit_test(pipeline),
        cmocka_unit_test(reconnect_after_restart),
        cmocka_unit_test(reconnect_backs_off),
        cmocka_unit_test(reconnect_gives_up),
    };
    int rc;

    log_set_level(LOG_ERROR);
    rc = cmocka_run_group_tests(url_tests, NULL, NULL);
    if (!rqfx_available()) {
        printf("[  SKIPPED ] test_rq_redis: %s is missing: no Redis tests\n", RQFX_SERVER);
        return rc;
    }
    return rc | cmocka_run_group_tests(tests, group_setup, group_teardown);
}
