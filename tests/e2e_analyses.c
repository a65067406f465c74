/* e2e_analyses.c - end-to-end tests of api.md's Analyses rows against a real `vas serve`: the
 * three request body kinds, bad requests, polling (by analysis_id, task_id and prefix) with
 * progress and the sleep result and its CSV, the list, cancel (running, pending, finished),
 * concurrency, a crashing job (the hidden `crash` analysis of test builds) and a server restart
 * with a job running. Each test gets its own server (e2e.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"

static const char *const one_worker[] = {"--workers", "1", NULL};
static const char *const two_workers[] = {"--workers", "2", NULL};
static const char *const no_workers[] = {"--workers", "0", NULL};

#define FINISH_S 20.0 /* generous: ASan on two shared cores */

/* Multipart POST /analysis of the NULL-terminated name, value, ... list. */
static void post_mime(e2e_srv *s, const char *const *kv, e2e_resp *r)
{
    CURL *c = curl_easy_init();
    curl_mime *m = curl_mime_init(c);
    CURLcode rc;

    for (int i = 0; kv[i]; i += 2) {
        curl_mimepart *p = curl_mime_addpart(m);
        curl_mime_name(p, kv[i]);
        curl_mime_data(p, kv[i + 1], CURL_ZERO_TERMINATED);
    }
    rc = e2e_request(s, "POST", "/analysis", NULL, NULL, 0, m, r);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        fail_msg("POST /analysis (multipart): %s", curl_easy_strerror(rc));
}

/* Asserts a 202 {"task_id", "analysis_id"} (two UUIDs, nothing else); analysis_id into aid. */
static void assert_accepted(const e2e_resp *r, char aid[37])
{
    e2e_assert_status(r, 202);
    assert_int_equal(json_object_size(r->json), 2);
    assert_true(e2e_is_uuid(e2e_str(r->json, "task_id")));
    assert_true(e2e_is_uuid(e2e_str(r->json, "analysis_id")));
    snprintf(aid, 37, "%s", e2e_str(r->json, "analysis_id"));
}

/* GET /file/<id> into *r; asserts 200. */
static void download(e2e_srv *s, const char *id, e2e_resp *r)
{
    char path[128];

    snprintf(path, sizeof(path), "/file/%s", id);
    e2e_get(s, path, r);
    e2e_assert_status(r, 200);
}

/* Waits for SUCCESS and checks the sleep result: sleep_time (as JSON text) and a CSV file
 * holding "sleep,<time>\n". */
static void expect_sleep_result(e2e_srv *s, const char *aid, const char *time_json)
{
    e2e_resp r, f;
    char *t, want[64];

    e2e_wait_state(s, aid, "SUCCESS", FINISH_S, &r);
    e2e_assert_status(&r, 200);
    t = json_dumps(json_object_get(r.json, "sleep_time"), JSON_ENCODE_ANY);
    assert_non_null(t);
    assert_string_equal(t, time_json);
    free(t);
    download(s, e2e_str(r.json, "csv_file"), &f);
    snprintf(want, sizeof(want), "sleep,%s\n", time_json);
    assert_string_equal(f.body, want);
    assert_string_equal(e2e_header(&f, "Content-Type"), "text/csv");
    e2e_resp_free(&f);
    e2e_resp_free(&r);
}

/* ---- POST /analysis ---- */

static void post_three_body_kinds(void **state)
{
    e2e_srv *s = *state;
    char id[41], prefix[9], body[256], a[4][37];
    e2e_resp r;

    e2e_upload_text(s, "input for sleeps\n", "in.txt", id);
    snprintf(prefix, sizeof(prefix), "%.8s", id);
    const char *const kv[] = {"file_id", id, "analysis", "SLEEP", "time", "0", NULL};
    post_mime(s, kv, &r);
    assert_accepted(&r, a[0]);
    e2e_resp_free(&r);

    snprintf(body, sizeof(body), "file_id=%s&analysis=Sleep&time=0.25", prefix);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    assert_accepted(&r, a[1]);
    e2e_resp_free(&r);

    snprintf(body, sizeof(body), "{\"file_id\": \"%s\", \"analysis\": \"sleep\", \"time\": 1}", id);
    e2e_post(s, "/analysis", "application/json", body, &r);
    assert_accepted(&r, a[2]);
    e2e_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"file_id\": \"%s\", \"analysis\": \"sleep\", \"time\": \"0.5\"}", id);
    e2e_post(s, "/analysis", "application/json; charset=utf-8", body, &r);
    assert_accepted(&r, a[3]);
    e2e_resp_free(&r);

    expect_sleep_result(s, a[0], "0");
    expect_sleep_result(s, a[1], "0.25");
    expect_sleep_result(s, a[2], "1");
    expect_sleep_result(s, a[3], "0.5");
    /* The prefix was stored as the full id. */
    e2e_get(s, "/analysis", &r);
    for (size_t i = 0; i < json_array_size(r.json); i++)
        assert_string_equal(e2e_str(json_array_get(r.json, i), "file_id"), id);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void post_rejects_bad_requests(void **state)
{
    e2e_srv *s = *state;
    char id[41], other[41];
    static const struct {
        const char *ctype, *fmt; /* fmt's %s: the uploaded file */
        long status;
        const char *says; /* the error mentions it */
    } bad[] = {
        {"application/x-www-form-urlencoded", "analysis=sleep&time=1", 400, "file_id"},
        {"application/x-www-form-urlencoded", "file_id=%s&time=1", 400, "analysis"},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=&time=1", 400, "analysis"},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=nosuch", 400, "sleep"},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=sleep&time=abc", 400, "abc"},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=sleep&time=-1", 400, "time"},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=sleep&time=", 400, "time"},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=sleep", 400, "time"},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=sleep&time=1&color=red", 400,
         "color"},
        {"application/x-www-form-urlencoded", "file_id=zzzz&analysis=sleep&time=1", 400, NULL},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=video", 400, "needs a model"},
        {"application/x-www-form-urlencoded", "file_id=%s&analysis=video&model=nosuch", 400,
         "known models"},
        {"application/json", "{\"file_id\": \"%s\", \"analysis\": \"sleep\", \"time\": -1}", 400,
         "time"},
        {"application/json", "{\"file_id\": \"%s\", \"analysis\": \"sleep\"", 400, NULL},
        {"application/json", "[\"%s\", \"sleep\"]", 400, NULL},
        {"text/plain", "file_id=%s&analysis=sleep&time=1", 400, NULL},
    };
    char body[512];
    e2e_resp r;

    e2e_upload_text(s, "input for bad requests\n", "in.txt", id);
    e2e_sha1_hex("never uploaded", 14, other);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), bad[i].fmt, id);
        e2e_post(s, "/analysis", bad[i].ctype, body, &r);
        if (r.status != bad[i].status)
            fail_msg("%s: want %ld, got %ld %s", body, bad[i].status, r.status, r.body);
        e2e_assert_error(&r, bad[i].status);
        if (bad[i].says && !strstr(e2e_str(r.json, "error"), bad[i].says))
            fail_msg("%s: the error should mention '%s': %s", body, bad[i].says, r.body);
        e2e_resp_free(&r);
    }
    snprintf(body, sizeof(body), "file_id=%s&analysis=sleep&time=1", other);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    /* An unknown analysis lists the known ones, but never the hidden test analysis. */
    snprintf(body, sizeof(body), "file_id=%s&analysis=nosuch", id);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    assert_non_null(strstr(e2e_str(r.json, "error"), "video"));
    assert_null(strstr(e2e_str(r.json, "error"), "crash"));
    e2e_resp_free(&r);
    /* Nothing was queued. */
    e2e_get(s, "/analysis", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 0);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* ---- GET /analysis/<id> ---- */

/* A 202 poll reply: PENDING or STARTED with progress {done, total, unit}; sleep's unit is "ms"
 * from the start (the analysis names it when it is queued). */
static void assert_running_reply(const e2e_resp *r)
{
    const json_t *p = json_object_get(r->json, "progress");
    json_int_t done, total;

    assert_true(e2e_state_is(r, "PENDING") || e2e_state_is(r, "STARTED"));
    assert_int_equal(json_object_size(r->json), 2);
    assert_true(json_is_object(p));
    assert_true(json_is_integer(json_object_get(p, "done")));
    assert_true(json_is_integer(json_object_get(p, "total")));
    done = json_integer_value(json_object_get(p, "done"));
    total = json_integer_value(json_object_get(p, "total"));
    assert_true(done >= 0 && done <= total);
    assert_string_equal(e2e_str(p, "unit"), "ms");
}

static void poll_progress_and_result(void **state)
{
    e2e_srv *s = *state;
    char id[41], aid[37], tid[37], prefix[9], form[256], path[128];
    int running = 0, moved = 0;
    e2e_resp r;

    e2e_upload_text(s, "input for a poll\n", "in.txt", id);
    snprintf(form, sizeof(form), "file_id=%s&analysis=sleep&time=1", id);
    e2e_analysis(s, form, aid, tid);
    /* Poll by the three kinds of id while it runs. */
    snprintf(prefix, sizeof(prefix), "%.8s", aid);
    const char *ids[] = {aid, tid, prefix};
    for (double end = e2e_now() + FINISH_S; e2e_now() < end; tu_nap_ms(E2E_POLL_MS)) {
        snprintf(path, sizeof(path), "/analysis/%s", ids[running % 3]);
        e2e_get(s, path, &r);
        if (r.status != 202)
            break;
        assert_running_reply(&r);
        moved |=
            json_integer_value(json_object_get(json_object_get(r.json, "progress"), "done")) > 0;
        running++;
        e2e_resp_free(&r);
    }
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    assert_true(running >= 3);
    assert_true(moved); /* progress was seen between 0 and the end */
    expect_sleep_result(s, aid, "1");
    /* The finished analysis by task_id and by prefix. */
    snprintf(path, sizeof(path), "/analysis/%s", tid);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    assert_true(e2e_state_is(&r, "SUCCESS"));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/analysis/%.6s", aid);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    assert_true(e2e_state_is(&r, "SUCCESS"));
    e2e_resp_free(&r);
    /* Unknown ids. */
    e2e_get(s, "/analysis/00000000-0000-4000-8000-000000000000", &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* ---- GET /analysis ---- */

static const json_t *list_item(const e2e_resp *r, size_t i)
{
    static const char *const keys[] = {"task_id",  "analysis_id",   "file_id",
                                       "file2_id", "analysis_name", "model",
                                       "state",    "progress",      "created"};
    const json_t *a = json_array_get(r->json, i);

    assert_non_null(a);
    assert_int_equal(json_object_size(a), sizeof(keys) / sizeof(keys[0]));
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (!json_object_get(a, keys[k]))
            fail_msg("list item %zu has no '%s'", i, keys[k]);
    return a;
}

static void list_newest_first_and_current(void **state)
{
    e2e_srv *s = *state;
    char id[41], a[37], b[37], c[37];
    const json_t *x;
    e2e_resp r;

    e2e_upload_text(s, "input for the list\n", "in.txt", id);
    e2e_sleep(s, id, "0", a);
    e2e_expect_state(s, a, "SUCCESS", 200, FINISH_S);
    e2e_sleep(s, id, "0", b);
    e2e_expect_state(s, b, "SUCCESS", 200, FINISH_S);
    e2e_sleep(s, id, "30", c);
    e2e_expect_state(s, c, "STARTED", 202, FINISH_S);

    e2e_get(s, "/analysis", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 3);
    x = list_item(&r, 0);
    assert_string_equal(e2e_str(x, "analysis_id"), c);
    assert_string_equal(e2e_str(x, "state"), "STARTED");
    assert_string_equal(e2e_str(x, "analysis_name"), "sleep");
    assert_string_equal(e2e_str(x, "file_id"), id);
    assert_true(json_is_null(json_object_get(x, "file2_id")));
    assert_true(json_is_null(json_object_get(x, "model")));
    assert_true(e2e_is_uuid(e2e_str(x, "task_id")));
    assert_true(json_is_object(json_object_get(x, "progress")));
    assert_string_equal(e2e_str(list_item(&r, 1), "analysis_id"), b);
    assert_string_equal(e2e_str(list_item(&r, 1), "state"), "SUCCESS");
    assert_string_equal(e2e_str(list_item(&r, 2), "analysis_id"), a);
    e2e_resp_free(&r);

    e2e_cancel(s, c);
    e2e_get(s, "/analysis?limit=1", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 1);
    assert_string_equal(e2e_str(list_item(&r, 0), "analysis_id"), c);
    assert_string_equal(e2e_str(list_item(&r, 0), "state"), "REVOKED");
    e2e_resp_free(&r);
    e2e_get(s, "/analysis?limit=2&offset=2", &r);
    assert_int_equal(json_array_size(r.json), 1);
    assert_string_equal(e2e_str(list_item(&r, 0), "analysis_id"), a);
    e2e_resp_free(&r);
    e2e_get(s, "/analysis?limit=x", &r);
    e2e_assert_error(&r, 400);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* ---- DELETE /analysis/<id> ---- */

static void cancel_running(void **state)
{
    e2e_srv *s = *state;
    char id[41], a[37], b[37], path[128];
    e2e_resp r;

    e2e_upload_text(s, "input for a cancel\n", "in.txt", id);
    e2e_sleep(s, id, "30", a);
    e2e_expect_state(s, a, "STARTED", 202, FINISH_S);
    e2e_cancel(s, a);
    e2e_wait_state(s, a, "REVOKED", 1, &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_object_size(r.json), 1);
    e2e_resp_free(&r);
    /* Cancelled is finished: a second cancel conflicts. */
    snprintf(path, sizeof(path), "/analysis/%s", a);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_error(&r, 409);
    e2e_resp_free(&r);
    e2e_call(s, "DELETE", "/analysis/00000000-0000-4000-8000-000000000000", &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    /* The worker let go of it: the next job runs at once. */
    e2e_sleep(s, id, "0", b);
    e2e_expect_state(s, b, "SUCCESS", 200, FINISH_S);
    e2e_wait_state(s, a, "REVOKED", 1, &r);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void cancel_finished_conflicts(void **state)
{
    e2e_srv *s = *state;
    char id[41], a[37], path[128];
    e2e_resp r;

    e2e_upload_text(s, "input for a late cancel\n", "in.txt", id);
    e2e_sleep(s, id, "0", a);
    e2e_expect_state(s, a, "SUCCESS", 200, FINISH_S);
    snprintf(path, sizeof(path), "/analysis/%s", a);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_error(&r, 409);
    e2e_resp_free(&r);
    e2e_expect_state(s, a, "SUCCESS", 200, 1);
    E2E_PASS(s);
}

/* One worker busy with A; B waits, is cancelled, and never starts. */
static void cancel_pending_never_runs(void **state)
{
    e2e_srv *s = *state;
    char id[41], a[37], b[37], c[37], needle[128];
    char *log;
    e2e_resp r;

    e2e_upload_text(s, "input for a queue\n", "in.txt", id);
    e2e_sleep(s, id, "30", a);
    e2e_expect_state(s, a, "STARTED", 202, FINISH_S);
    e2e_sleep(s, id, "0.2", b);
    e2e_expect_state(s, b, "PENDING", 202, 1);
    e2e_cancel(s, b);
    e2e_cancel(s, a);
    e2e_sleep(s, id, "0", c);
    e2e_expect_state(s, c, "SUCCESS", 200, FINISH_S);
    e2e_expect_state(s, b, "REVOKED", 200, 1);
    e2e_get(s, "/analysis", &r);
    assert_string_equal(e2e_str(list_item(&r, 1), "analysis_id"), b);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(list_item(&r, 1), "progress"), "done")),
        0);
    e2e_resp_free(&r);
    /* State changes are logged: A's start is there, B never reached STARTED. */
    snprintf(needle, sizeof(needle), "analysis_id=%s analysis=sleep state=STARTED", a);
    assert_true(e2e_log_wait(s, needle, 5));
    log = tu_read_file(s->log, NULL);
    assert_non_null(log);
    snprintf(needle, sizeof(needle), "analysis_id=%s analysis=sleep state=STARTED", b);
    assert_null(strstr(log, needle));
    free(log);
    E2E_PASS(s);
}

static void workers_run_side_by_side(void **state)
{
    e2e_srv *s = *state;
    char id[41], a[37], b[37];

    e2e_upload_text(s, "input for two workers\n", "in.txt", id);
    e2e_sleep(s, id, "30", a);
    e2e_sleep(s, id, "30", b);
    e2e_expect_state(s, a, "STARTED", 202, FINISH_S);
    e2e_expect_state(s, b, "STARTED", 202, FINISH_S);
    e2e_cancel(s, a);
    e2e_cancel(s, b);
    E2E_PASS(s);
}

/* ---- isolation and restart ---- */

static void crash_fails_the_job_not_the_server(void **state)
{
    e2e_srv *s = *state;
    char id[41], a[37], b[37], form[256];
    const char *why;
    e2e_resp r;

    s->expect_segv = 1; /* ASan reports the worker's SEGV before it dies */
    e2e_upload_text(s, "input for a crash\n", "in.txt", id);
    snprintf(form, sizeof(form), "file_id=%s&analysis=crash", id);
    e2e_analysis(s, form, a, NULL);
    e2e_wait_state(s, a, "FAILURE", FINISH_S, &r);
    e2e_assert_status(&r, 500);
    assert_string_equal(e2e_header(&r, "Content-Type"), "application/json");
    why = e2e_str(r.json, "description");
    if (!strstr(why, "worker"))
        fail_msg("the description should name the worker: %s", why);
    e2e_resp_free(&r);

    e2e_get(s, "/health", &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    /* A new worker takes the next job. */
    e2e_sleep(s, id, "0", b);
    expect_sleep_result(s, b, "0");
    e2e_expect_state(s, a, "FAILURE", 500, 1);
    E2E_PASS(s);
}

static void restart_keeps_files_and_analyses(void **state)
{
    e2e_srv *s = *state;
    const char *text = "input that outlives the server\n";
    char id[41], done[37], running[37], after[37], path[128];
    int status;
    e2e_resp r;

    e2e_upload_text(s, text, "in.txt", id);
    e2e_sleep(s, id, "0", done);
    expect_sleep_result(s, done, "0");
    e2e_sleep(s, id, "30", running);
    e2e_expect_state(s, running, "STARTED", 202, FINISH_S);

    status = e2e_stop(s);
    assert_int_equal(status, 0);
    assert_int_equal(e2e_start(s), 0);

    download(s, id, &r);
    assert_string_equal(r.body, text);
    e2e_resp_free(&r);
    expect_sleep_result(s, done, "0");
    e2e_get(s, "/file", &r);
    assert_int_equal(json_array_size(r.json), 2); /* the input and the CSV */
    e2e_resp_free(&r);
    /* The interrupted job is re-queued (and taken by the new worker) or failed with a reason;
     * never left STARTED by a worker that is gone. */
    snprintf(path, sizeof(path), "/analysis/%s", running);
    e2e_get(s, path, &r);
    if (r.status == 500) {
        assert_true(e2e_state_is(&r, "FAILURE"));
        assert_true(strlen(e2e_str(r.json, "description")) > 10);
    } else {
        e2e_assert_status(&r, 202);
        assert_running_reply(&r);
        e2e_resp_free(&r);
        e2e_expect_state(s, running, "STARTED", 202, FINISH_S);
        e2e_cancel(s, running);
    }
    e2e_resp_free(&r);
    e2e_sleep(s, id, "0", after);
    e2e_expect_state(s, after, "SUCCESS", 200, FINISH_S);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST(post_three_body_kinds, one_worker),
        E2E_TEST(post_rejects_bad_requests, no_workers),
        E2E_TEST(poll_progress_and_result, one_worker),
        E2E_TEST(list_newest_first_and_current, one_worker),
        E2E_TEST(cancel_running, one_worker),
        E2E_TEST(cancel_finished_conflicts, one_worker),
        E2E_TEST(cancel_pending_never_runs, one_worker),
        E2E_TEST(workers_run_side_by_side, two_workers),
        E2E_TEST(crash_fails_the_job_not_the_server, one_worker),
        E2E_TEST(restart_keeps_files_and_analyses, one_worker),
    };

    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
