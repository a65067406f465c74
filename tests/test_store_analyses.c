/* test_store_analyses.c - store/ analyses: insert (inputs must exist), find by analysis_id,
 * task_id or prefix, list rows, claim (FIFO), progress and cancel, success/failure being final,
 * a dead worker's jobs, start-up recovery, counts and duration buckets for /metrics.
 * Every test runs on a real SQLite file and data folder in a fresh temp folder (fixture). */
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h" /* after store.h and cmocka.h: brings the store fixture */

typedef tu_store_fx fx;

/* ---- analyses ---- */

static void insert_needs_existing_files(void **state)
{
    static const char zeros[] = "0000000000000000000000000000000000000000";
    fx *f = *state;
    char id[STORE_ID_LEN + 1];
    store_analysis a = {0};
    int64_t counts[5];
    vas_err e = {0};

    tu_put(f->s, "abc", "abc", id);
    snprintf(a.name, sizeof(a.name), "video");
    assert_int_equal(store_analysis_insert(f->s, &a, &e), VAS_EINVAL); /* no inputs */
    snprintf(a.inputs[0], sizeof(a.inputs[0]), "%s", zeros);
    a.n_inputs = 1;
    assert_int_equal(store_analysis_insert(f->s, &a, &e), VAS_ENOTFOUND);
    assert_non_null(strstr(e.msg, zeros));
    /* A known first input and an unknown second one: nothing is kept. */
    snprintf(a.inputs[0], sizeof(a.inputs[0]), "%s", id);
    snprintf(a.inputs[1], sizeof(a.inputs[1]), "%s", zeros);
    a.n_inputs = 2;
    assert_int_equal(store_analysis_insert(f->s, &a, &e), VAS_ENOTFOUND);
    assert_int_equal(store_analysis_counts(f->s, counts, &e), VAS_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(counts[i], 0);
    assert_int_equal(store_file_delete(f->s, id, &e), VAS_OK); /* not held by a ghost row */
}

static void assert_is_uuid(const char *u)
{
    assert_int_equal(strlen(u), STORE_UUID_LEN);
    assert_int_equal(u[8], '-');
    assert_int_equal(u[14], '4');
    assert_int_equal(u[23], '-');
}

static void insert_then_find_by_any_id(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], pre[16];
    store_analysis a = {0}, got;
    vas_err e = {0};
    double t0 = util_now();

    tu_put(f->s, "video bytes", "v.mp4", fid);
    snprintf(a.name, sizeof(a.name), "sleep");
    snprintf(a.model, sizeof(a.model), "mouse");
    snprintf(a.inputs[0], sizeof(a.inputs[0]), "%s", fid);
    a.n_inputs = 1;
    a.args = json_pack("{s:i}", "time", 2);
    assert_int_equal(store_analysis_insert(f->s, &a, &e), VAS_OK);
    assert_is_uuid(a.id);
    assert_is_uuid(a.task_id);
    assert_string_not_equal(a.id, a.task_id);
    assert_string_equal(a.state, "PENDING");
    assert_true(a.created >= t0 - 1 && a.created <= util_now() + 1);

    assert_int_equal(store_analysis_find(f->s, a.id, &got, &e), VAS_OK);
    assert_string_equal(got.id, a.id);
    assert_string_equal(got.task_id, a.task_id);
    assert_string_equal(got.name, "sleep");
    assert_string_equal(got.model, "mouse");
    assert_string_equal(got.state, "PENDING");
    assert_int_equal(got.n_inputs, 1);
    assert_string_equal(got.inputs[0], fid);
    assert_int_equal(json_integer_value(json_object_get(got.args, "time")), 2);
    assert_null(got.result);
    assert_null(got.description);
    assert_int_equal(got.attempts, 0);
    assert_int_equal(got.worker_pid, 0);
    store_analysis_clear(&got);

    assert_int_equal(store_analysis_find(f->s, a.task_id, &got, &e), VAS_OK);
    assert_string_equal(got.id, a.id);
    store_analysis_clear(&got);
    snprintf(pre, sizeof(pre), "%.8s", a.task_id);
    for (char *p = pre; *p; p++)
        *p = (char)toupper((unsigned char)*p); /* any case */
    assert_int_equal(store_analysis_find(f->s, pre, &got, &e), VAS_OK);
    assert_string_equal(got.id, a.id);
    store_analysis_clear(&got);
    snprintf(pre, sizeof(pre), "%.13s", a.id); /* with its dash */
    assert_int_equal(store_analysis_find(f->s, pre, &got, &e), VAS_OK);
    assert_string_equal(got.id, a.id);
    store_analysis_clear(&got);
    store_analysis_clear(&a);
}

static void find_analysis_refuses_bad_ids(void **state)
{
    fx *f = *state;
    store_analysis got;
    vas_err e = {0};

    assert_int_equal(store_analysis_find(f->s, "abc", &got, &e), VAS_EINVAL);
    assert_int_equal(store_analysis_find(f->s, "%", &got, &e), VAS_EINVAL);
    assert_int_equal(store_analysis_find(f->s, "abcd%", &got, &e), VAS_EINVAL);
    assert_int_equal(store_analysis_find(f->s, "zzzz", &got, &e), VAS_EINVAL);
    assert_int_equal(store_analysis_find(f->s, "00000000-0000-4000-8000-000000000000", &got, &e),
                     VAS_ENOTFOUND);
}

static void two_inputs_and_list_rows(void **state)
{
    fx *f = *state;
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1], x[STORE_UUID_LEN + 1], y[STORE_UUID_LEN + 1];
    store_analysis got;
    json_t *l = NULL, *r;
    vas_err e = {0};

    tu_put(f->s, "cam1", "1", a);
    tu_put(f->s, "cam2", "2", b);
    tu_insert(f->s, "video", a, NULL, x);
    tu_insert(f->s, "triangulate", a, b, y);
    assert_int_equal(store_analysis_find(f->s, y, &got, &e), VAS_OK);
    assert_int_equal(got.n_inputs, 2);
    assert_string_equal(got.inputs[0], a);
    assert_string_equal(got.inputs[1], b);
    store_analysis_clear(&got);

    assert_int_equal(store_analysis_list(f->s, -1, 0, &l, &e), VAS_OK);
    assert_int_equal(json_array_size(l), 2);
    r = json_array_get(l, 0); /* newest first */
    assert_string_equal(json_string_value(json_object_get(r, "analysis_id")), y);
    assert_string_equal(json_string_value(json_object_get(r, "analysis_name")), "triangulate");
    assert_string_equal(json_string_value(json_object_get(r, "file_id")), a);
    assert_string_equal(json_string_value(json_object_get(r, "file2_id")), b);
    assert_true(json_is_null(json_object_get(r, "model")));
    assert_string_equal(json_string_value(json_object_get(r, "state")), "PENDING");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "progress"), "done")),
                     0);
    assert_non_null(json_object_get(r, "task_id"));
    assert_non_null(json_object_get(r, "created"));
    r = json_array_get(l, 1);
    assert_string_equal(json_string_value(json_object_get(r, "analysis_id")), x);
    assert_true(json_is_null(json_object_get(r, "file2_id")));
    json_decref(l);
    assert_int_equal(store_analysis_list(f->s, 1, 1, &l, &e), VAS_OK);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "analysis_id")), x);
    json_decref(l);
}

static void claim_is_fifo(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[4][STORE_UUID_LEN + 1];
    store_analysis job;
    vas_err e = {0};

    tu_put(f->s, "v", "v", fid);
    for (int i = 0; i < 4; i++)
        tu_insert(f->s, "video", fid, NULL, id[i]);
    assert_int_equal(store_analysis_cancel(f->s, id[1], &e), VAS_OK); /* skipped */
    for (int i = 0; i < 4; i++) {
        if (i == 1)
            continue;
        assert_int_equal(store_analysis_claim(f->s, 100 + i, &job, &e), VAS_OK);
        assert_string_equal(job.id, id[i]);
        assert_string_equal(job.state, "STARTED");
        assert_int_equal(job.worker_pid, 100 + i);
        assert_int_equal(job.attempts, 1);
        assert_true(job.started >= job.created);
        assert_int_equal(job.n_inputs, 1);
        assert_string_equal(job.inputs[0], fid);
        assert_non_null(job.args);
        store_analysis_clear(&job);
    }
    assert_int_equal(store_analysis_claim(f->s, 1, &job, &e), VAS_ENOTFOUND);
    assert_string_equal(tu_state_of(f->s, id[0]), "STARTED");
    assert_string_equal(tu_state_of(f->s, id[1]), "REVOKED");
}

static void progress_sees_cancel(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[STORE_UUID_LEN + 1], st[12];
    store_analysis job;
    json_t *res = json_pack("{s:s}", "csv_file", "x");
    vas_err e = {0};

    tu_put(f->s, "v", "v", fid);
    tu_insert(f->s, "video", fid, NULL, id);
    assert_int_equal(store_analysis_claim(f->s, 7, &job, &e), VAS_OK);
    store_analysis_clear(&job);
    assert_int_equal(store_analysis_progress(f->s, id, 10, 100, "frames", st, &e), VAS_OK);
    assert_string_equal(st, "STARTED");
    assert_int_equal(store_analysis_find(f->s, id, &job, &e), VAS_OK);
    assert_int_equal(job.done, 10);
    assert_int_equal(job.total, 100);
    assert_string_equal(job.unit, "frames");
    store_analysis_clear(&job);

    assert_int_equal(store_analysis_cancel(f->s, id, &e), VAS_OK);
    assert_int_equal(store_analysis_progress(f->s, id, 20, 100, "frames", st, &e), VAS_OK);
    assert_string_equal(st, "REVOKED");
    assert_int_equal(store_analysis_succeed(f->s, id, res, &e), VAS_ECANCELLED);
    assert_int_equal(e.code, VAS_ECANCELLED);
    assert_int_equal(store_analysis_fail(f->s, id, "boom", &e), VAS_ECANCELLED);
    assert_int_equal(store_analysis_find(f->s, id, &job, &e), VAS_OK);
    assert_string_equal(job.state, "REVOKED");
    assert_null(job.result);
    assert_null(job.description);
    assert_int_equal(job.done, 10); /* the write after the cancel was not kept */
    assert_true(job.finished > 0);
    store_analysis_clear(&job);
    assert_int_equal(store_analysis_cancel(f->s, id, &e), VAS_ECONFLICT);
    json_decref(res);
}

static void succeed_and_fail_are_final(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], ok[STORE_UUID_LEN + 1], bad[STORE_UUID_LEN + 1];
    store_analysis job;
    json_t *res = json_pack("{s:s, s:i}", "csv_file", "abcd", "frames", 9);
    vas_err e = {0};

    tu_put(f->s, "v", "v", fid);
    tu_insert(f->s, "video", fid, NULL, ok);
    tu_insert(f->s, "video", fid, NULL, bad);
    assert_int_equal(store_analysis_claim(f->s, 7, &job, &e), VAS_OK);
    store_analysis_clear(&job);
    assert_int_equal(store_analysis_claim(f->s, 7, &job, &e), VAS_OK);
    store_analysis_clear(&job);
    assert_int_equal(store_analysis_progress(f->s, ok, 5, 9, "frames", NULL, &e), VAS_OK);
    assert_int_equal(store_analysis_succeed(f->s, ok, res, &e), VAS_OK);
    assert_int_equal(store_analysis_fail(f->s, bad, "cannot decode frame 3", &e), VAS_OK);

    assert_int_equal(store_analysis_find(f->s, ok, &job, &e), VAS_OK);
    assert_string_equal(job.state, "SUCCESS");
    assert_string_equal(json_string_value(json_object_get(job.result, "csv_file")), "abcd");
    assert_int_equal(json_integer_value(json_object_get(job.result, "frames")), 9);
    assert_int_equal(job.done, 9); /* done = total on success */
    assert_true(job.finished >= job.started);
    store_analysis_clear(&job);
    assert_int_equal(store_analysis_find(f->s, bad, &job, &e), VAS_OK);
    assert_string_equal(job.state, "FAILURE");
    assert_string_equal(job.description, "cannot decode frame 3");
    assert_null(job.result);
    store_analysis_clear(&job);

    assert_int_equal(store_analysis_cancel(f->s, ok, &e), VAS_ECONFLICT);
    assert_int_equal(store_analysis_cancel(f->s, bad, &e), VAS_ECONFLICT);
    assert_int_equal(store_analysis_succeed(f->s, bad, res, &e), VAS_ECANCELLED);
    assert_string_equal(tu_state_of(f->s, ok), "SUCCESS");
    assert_string_equal(tu_state_of(f->s, bad), "FAILURE");
    json_decref(res);
}

static void fail_worker_only_its_started_jobs(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[4][STORE_UUID_LEN + 1];
    static const int pids[3] = {100, 200, 100};
    store_analysis job;
    json_t *res = json_object();
    vas_err e = {0};
    int n = -1;

    tu_put(f->s, "v", "v", fid);
    for (int i = 0; i < 4; i++)
        tu_insert(f->s, "video", fid, NULL, id[i]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_analysis_claim(f->s, pids[i], &job, &e), VAS_OK);
        store_analysis_clear(&job);
    }
    assert_int_equal(store_analysis_succeed(f->s, id[2], res, &e), VAS_OK);
    assert_int_equal(store_analysis_fail_worker(f->s, 100, "worker 100 died", &n, &e), VAS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_analysis_find(f->s, id[0], &job, &e), VAS_OK);
    assert_string_equal(job.state, "FAILURE");
    assert_string_equal(job.description, "worker 100 died");
    store_analysis_clear(&job);
    assert_string_equal(tu_state_of(f->s, id[1]), "STARTED"); /* other worker */
    assert_string_equal(tu_state_of(f->s, id[2]), "SUCCESS"); /* already done */
    assert_string_equal(tu_state_of(f->s, id[3]), "PENDING"); /* never claimed */
    assert_int_equal(store_analysis_fail_worker(f->s, 999, "x", &n, &e), VAS_OK);
    assert_int_equal(n, 0);
    json_decref(res);
}

static void recover_requeues_once(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[STORE_UUID_LEN + 1];
    store_analysis job;
    vas_err e = {0};
    int req = -1, failed = -1;

    tu_put(f->s, "v", "v", fid);
    assert_int_equal(store_analysis_recover(f->s, &req, &failed, &e), VAS_OK);
    assert_int_equal(req, 0);
    assert_int_equal(failed, 0);
    tu_insert(f->s, "video", fid, NULL, id);
    assert_int_equal(store_analysis_claim(f->s, 5, &job, &e), VAS_OK);
    store_analysis_clear(&job);
    assert_int_equal(store_analysis_progress(f->s, id, 3, 10, "frames", NULL, &e), VAS_OK);

    assert_int_equal(store_analysis_recover(f->s, &req, &failed, &e), VAS_OK);
    assert_int_equal(req, 1);
    assert_int_equal(failed, 0);
    assert_int_equal(store_analysis_find(f->s, id, &job, &e), VAS_OK);
    assert_string_equal(job.state, "PENDING");
    assert_int_equal(job.worker_pid, 0);
    assert_int_equal(job.done, 0);
    assert_int_equal(job.attempts, 1);
    store_analysis_clear(&job);

    assert_int_equal(store_analysis_claim(f->s, 6, &job, &e), VAS_OK);
    assert_string_equal(job.id, id);
    assert_int_equal(job.attempts, 2);
    store_analysis_clear(&job);
    assert_int_equal(store_analysis_recover(f->s, &req, &failed, &e), VAS_OK);
    assert_int_equal(req, 0);
    assert_int_equal(failed, 1);
    assert_int_equal(store_analysis_find(f->s, id, &job, &e), VAS_OK);
    assert_string_equal(job.state, "FAILURE");
    assert_non_null(job.description);
    assert_non_null(strstr(job.description, "start it again"));
    store_analysis_clear(&job);
}

static void counts_by_state(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[6][STORE_UUID_LEN + 1];
    store_analysis job;
    json_t *res = json_object();
    int64_t c[5];
    vas_err e = {0};

    tu_put(f->s, "v", "v", fid);
    for (int i = 0; i < 6; i++)
        tu_insert(f->s, "video", fid, NULL, id[i]);
    for (int i = 0; i < 3; i++) { /* id[0..2] STARTED */
        assert_int_equal(store_analysis_claim(f->s, 1, &job, &e), VAS_OK);
        store_analysis_clear(&job);
    }
    assert_int_equal(store_analysis_succeed(f->s, id[0], res, &e), VAS_OK);
    assert_int_equal(store_analysis_fail(f->s, id[1], "x", &e), VAS_OK);
    assert_int_equal(store_analysis_cancel(f->s, id[3], &e), VAS_OK);
    assert_int_equal(store_analysis_counts(f->s, c, &e), VAS_OK);
    assert_string_equal(store_states[0], "PENDING");
    assert_string_equal(store_states[4], "REVOKED");
    assert_int_equal(c[0], 2); /* PENDING: 4, 5 */
    assert_int_equal(c[1], 1); /* STARTED: 2 */
    assert_int_equal(c[2], 1); /* SUCCESS */
    assert_int_equal(c[3], 1); /* FAILURE */
    assert_int_equal(c[4], 1); /* REVOKED */
    json_decref(res);
}

/* Duration finished - started of analysis id. */
static double duration_of(store *s, const char *id)
{
    store_analysis a;
    vas_err e = {0};
    double d;

    assert_int_equal(store_analysis_find(s, id, &a, &e), VAS_OK);
    d = a.finished - a.started;
    store_analysis_clear(&a);
    return d;
}

static void durations_bucketed(void **state)
{
    static const double le[3] = {0.05, 3600, 1e12};
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[4][STORE_UUID_LEN + 1];
    json_t *res = json_object();
    int64_t b[3], count = -1;
    double sum = -1, slow, quick;
    vas_err e = {0};

    tu_put(f->s, "v", "v", fid);
    for (int i = 0; i < 4; i++)
        tu_insert(f->s, "video", fid, NULL, id[i]);
    tu_claim(f->s, id[0]);
    tu_nap_ms(100);
    assert_int_equal(store_analysis_succeed(f->s, id[0], res, &e), VAS_OK);
    tu_claim(f->s, id[1]);
    assert_int_equal(store_analysis_fail(f->s, id[1], "x", &e), VAS_OK);
    tu_claim(f->s, id[2]);
    tu_nap_ms(5);
    assert_int_equal(store_analysis_cancel(f->s, id[2], &e), VAS_OK); /* not counted */
    slow = duration_of(f->s, id[0]);
    quick = duration_of(f->s, id[1]);
    assert_true(slow >= 0.1 && slow < 3600);
    assert_true(quick >= 0 && quick < 3600);

    assert_int_equal(store_analysis_durations(f->s, le, 3, b, &sum, &count, &e), VAS_OK);
    assert_int_equal(count, 2);
    assert_int_equal(b[0], quick <= le[0] ? 1 : 0); /* slow is over 0.05 s; quick usually not */
    assert_int_equal(b[1], 2);                      /* cumulative */
    assert_int_equal(b[2], 2);
    assert_true(sum > slow + quick - 1e-6 && sum < slow + quick + 1e-6);
    json_decref(res);
}

#define T(name) cmocka_unit_test_setup_teardown(name, tu_store_setup, tu_store_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(insert_needs_existing_files),
        T(insert_then_find_by_any_id),
        T(find_analysis_refuses_bad_ids),
        T(two_inputs_and_list_rows),
        T(claim_is_fifo),
        T(progress_sees_cancel),
        T(succeed_and_fail_are_final),
        T(fail_worker_only_its_started_jobs),
        T(recover_requeues_once),
        T(counts_by_state),
        T(durations_bucketed),
    };

    log_set_level(LOG_WARN); /* keep the output to test lines */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
