/* e2e_ops.c - end-to-end tests of operations and the command line: /health, /metrics (and its
 * cost with 100,000 analyses), bearer token auth, unknown routes (404) and methods (405 + Allow),
 * `vas --help` and friends, `vas init-db`, and `vas clean-up` with the old service's config.yaml
 * keys. Each test gets its
 * own temp folder, and its own server where it needs one (e2e.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"

#include <regex.h>
#include <sqlite3.h>

static const char *const one_worker[] = {"--workers", "1", NULL};
static const char *const no_workers[] = {"--workers", "0", NULL};
static const char *const with_token[] = {"--workers",   "0",     "--token", "secret",
                                         "--log-level", "debug", NULL};

/* ---- /health and /metrics ---- */

static void health_and_models_answer(void **state)
{
    e2e_srv *s = *state;
    e2e_resp r;

    e2e_get(s, "/health", &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(e2e_header(&r, "Content-Type"), "application/json");
    assert_string_equal(e2e_str(r.json, "status"), "ok");
    e2e_resp_free(&r);
    e2e_call(s, "HEAD", "/health", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(r.len, 0);
    e2e_resp_free(&r);
    e2e_get(s, "/model", &r);
    e2e_assert_status(&r, 200);
    assert_true(json_is_array(r.json));
    e2e_resp_free(&r);
    /* One log line per request. */
    assert_true(e2e_log_wait(s, "method=GET path=/health status=200", 5));
    assert_true(e2e_log_wait(s, "method=HEAD path=/health status=200", 5));
    E2E_PASS(s);
}

/* The value of the sample line starting with `series ` in text; -1 when absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* Every line is a comment or `name{labels} value` (Prometheus text format 0.0.4). */
static void assert_prometheus_text(const char *text)
{
    regex_t re;
    char *copy = strdup(text), *line, *nl;

    assert_non_null(copy);
    assert_int_equal(regcomp(&re,
                             "^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\\{[a-z_]+=\"[^\"]*\""
                             "(,[a-z_]+=\"[^\"]*\")*\\})? [-+0-9.eE]+|[a-z_]+\\{[^}]*\\} \\+?Inf)$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (line = copy; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            fail_msg("the last line has no newline: '%s'", line);
        *nl = '\0';
        if (regexec(&re, line, 0, NULL, 0) != 0)
            fail_msg("not Prometheus text: '%s'", line);
    }
    regfree(&re);
    free(copy);
}

static void metrics_in_prometheus_text(void **state)
{
    e2e_srv *s = *state;
    char id[41], a[37];
    e2e_resp r;

    e2e_upload_text(s, "input for metrics\n", "in.txt", id);
    e2e_get(s, "/file", &r);
    e2e_resp_free(&r);
    e2e_get(s, "/file/zzzz", &r);
    e2e_resp_free(&r);
    e2e_sleep(s, id, "0", a);
    e2e_expect_state(s, a, "SUCCESS", 200, 20);

    e2e_get(s, "/metrics", &r);
    e2e_assert_status(&r, 200);
    assert_true(!strncmp(e2e_header(&r, "Content-Type"), "text/plain", 10));
    assert_prometheus_text(r.body);
    assert_non_null(strstr(r.body, "# TYPE vas_http_requests_total counter\n"));
    assert_true(sample(r.body, "vas_http_requests_total{route=\"/file\",status=\"200\"}") >= 1);
    assert_true(sample(r.body, "vas_http_requests_total{route=\"/file\",status=\"202\"}") >= 1);
    assert_non_null(strstr(r.body, "status=\"400\"}"));
    assert_true(sample(r.body, "vas_jobs{state=\"SUCCESS\"}") == 1);
    assert_true(sample(r.body, "vas_jobs{state=\"PENDING\"}") == 0);
    assert_true(sample(r.body, "vas_queue_length") == 0);
    assert_true(sample(r.body, "vas_job_duration_seconds_bucket{le=\"+Inf\"}") == 1);
    assert_true(sample(r.body, "vas_job_duration_seconds_count") == 1);
    assert_true(sample(r.body, "vas_http_received_bytes_total") > 0);
    assert_true(sample(r.body, "vas_http_sent_bytes_total") > 0);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* Inserts n finished analyses straight into the catalog (as workers would leave them): every
 * third a FAILURE, durations (i % 100) * 0.37 s. */
static void insert_finished(const e2e_srv *s, int from, int n)
{
    sqlite3 *db = NULL;
    char sql[1024];

    assert_int_equal(sqlite3_open(s->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE c(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
             " INSERT INTO analyses(id, task_id, name, file_id, state, created, started, finished)"
             " SELECT printf('%%08x-0000-4000-8000-%%012x', i, i),"
             " printf('%%08x-1111-4000-8000-%%012x', i, i), 'sleep', 'f',"
             " CASE WHEN i %% 3 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END, 1000.0 + i, 1000.0 + i,"
             " 1000.0 + i + (i %% 100) * 0.37 FROM c",
             from, from + n - 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The fastest of 10 GET /metrics, in ms; checks the job samples against n finished analyses. */
static double metrics_ms(e2e_srv *s, int n)
{
    double best = 1e9;
    e2e_resp r;

    for (int i = 0; i < 10; i++) {
        double t0 = e2e_now();
        e2e_get(s, "/metrics", &r);
        double ms = (e2e_now() - t0) * 1000;
        best = ms < best ? ms : best;
        e2e_assert_status(&r, 200);
        assert_prometheus_text(r.body);
        assert_true(sample(r.body, "vas_jobs{state=\"SUCCESS\"}") == n - n / 3);
        assert_true(sample(r.body, "vas_jobs{state=\"FAILURE\"}") == n / 3);
        assert_true(sample(r.body, "vas_job_duration_seconds_count") == n);
        assert_true(sample(r.body, "vas_job_duration_seconds_bucket{le=\"+Inf\"}") == n);
        /* durations <= 1 s: (i % 100) in 0..2, 3 of every 100 */
        assert_true(sample(r.body, "vas_job_duration_seconds_bucket{le=\"1\"}") == n / 100 * 3);
        e2e_resp_free(&r);
    }
    return best;
}

/* /metrics reads counters kept by triggers: its cost does not grow with the analyses, and the
 * counters are right for rows written by another process, after a restart, and after deletes. */
static void metrics_cost_flat_in_analyses(void **state)
{
    e2e_srv *s = *state;
    double small, large;

    insert_finished(s, 1, 100);
    small = metrics_ms(s, 100);
    insert_finished(s, 101, 99900);
    large = metrics_ms(s, 100000);
    print_message("GET /metrics: %.2f ms with 100 finished analyses, %.2f ms with 100,000\n", small,
                  large);
    assert_true(large < 5 * small + 5); /* a scan of 100,000 rows took 66 ms */
    assert_int_equal(e2e_stop(s), 0);
    assert_int_equal(e2e_start(s), 0);
    metrics_ms(s, 100000);
    {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(s->db, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 10000);
        assert_int_equal(
            sqlite3_exec(db, "DELETE FROM analyses WHERE rowid > 300", NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);
    }
    metrics_ms(s, 300);
    E2E_PASS(s);
}

/* ---- auth ---- */

static void token_guards_all_but_health(void **state)
{
    e2e_srv *s = *state;
    static const char *const wrong[] = {NULL,
                                        "Authorization: Bearer wrong",
                                        "Authorization: Bearer secretX",
                                        "Authorization: Bearer secre",
                                        "Authorization: secret",
                                        "Authorization: Basic c2VjcmV0"};
    static const char *const paths[] = {"/file", "/analysis", "/metrics", "/model",
                                        "/file/0000000000000000000000000000000000000000"};
    e2e_resp r;

    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
            const char *h[] = {wrong[i], NULL};
            assert_int_equal(e2e_request(s, "GET", paths[k], h, NULL, 0, NULL, &r), CURLE_OK);
            e2e_assert_error(&r, 401);
            e2e_resp_free(&r);
        }
    }
    /* An upload without the token keeps nothing. */
    e2e_upload_refused(s, "in.txt", "hello\n", 6, &r);
    e2e_assert_error(&r, 401);
    e2e_resp_free(&r);
    e2e_get(s, "/health", &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);

    s->token = "secret";
    char id[41];
    e2e_upload_text(s, "hello\n", "in.txt", id);
    e2e_get(s, "/file", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 1);
    e2e_resp_free(&r);
    e2e_get(s, "/metrics", &r);
    e2e_assert_status(&r, 200);
    assert_true(sample(r.body, "vas_http_requests_total{route=\"/file\",status=\"401\"}") >= 6);
    e2e_resp_free(&r);
    assert_int_equal(tu_count_files(s->files), 1);
    /* The token, right or wrong, is never logged, even at debug level. */
    size_t n = 0;
    char *log = tu_read_file(s->log, &n);
    assert_non_null(log);
    assert_non_null(strstr(log, "status=401"));
    assert_null(strstr(log, "secret"));
    assert_null(strstr(log, "wrong"));
    assert_null(strstr(log, "c2VjcmV0"));
    free(log);
    E2E_PASS(s);
}

/* ---- routes and methods ---- */

static void unknown_route_is_404(void **state)
{
    e2e_srv *s = *state;
    static const char *const paths[] = {"/nothing",  "/files", "/file/abcd/more", "/analysis/x/y",
                                        "/health/x", "/view",  "/static/"};
    e2e_resp r;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        e2e_get(s, paths[i], &r);
        if (r.status != 404)
            fail_msg("GET %s: want 404, got %ld", paths[i], r.status);
        e2e_assert_error(&r, 404);
        e2e_resp_free(&r);
    }
    e2e_post(s, "/nothing", "application/json", "{}", &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void wrong_method_is_405_with_allow(void **state)
{
    e2e_srv *s = *state;
    static const struct {
        const char *method, *path, *allow;
    } bad[] = {
        {"PUT", "/file", "GET, HEAD, POST"},
        {"DELETE", "/file", "GET, HEAD, POST"},
        {"POST", "/file/f572d396fae9206628714fb2ce00f72e94f2258f", "GET, HEAD, DELETE"},
        {"PATCH", "/analysis", "GET, HEAD, POST"},
        {"POST", "/", "GET, HEAD"},
        {"DELETE", "/analysis/types", "GET, HEAD"},
        {"PUT", "/analysis/00000000-0000-4000-8000-000000000000", "GET, HEAD, DELETE"},
        {"POST", "/health", "GET, HEAD"},
        {"DELETE", "/metrics", "GET, HEAD"},
    };
    e2e_resp r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_call(s, bad[i].method, bad[i].path, &r);
        if (r.status != 405)
            fail_msg("%s %s: want 405, got %ld", bad[i].method, bad[i].path, r.status);
        e2e_assert_error(&r, 405);
        assert_non_null(e2e_header(&r, "Allow"));
        assert_string_equal(e2e_header(&r, "Allow"), bad[i].allow);
        e2e_resp_free(&r);
    }
    E2E_PASS(s);
}

/* ---- the command line ---- */

static void help_and_unknown_commands(void **state)
{
    e2e_srv *s = *state;
    char out[E2E_PATH];
    char *text;

    snprintf(out, sizeof(out), "%s/out.txt", s->dir);
    assert_int_equal(e2e_run_vas(out, "--help", NULL), 0);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "usage: vas"));
    assert_non_null(strstr(text, "serve"));
    assert_non_null(strstr(text, "clean-up"));
    free(text);
    assert_int_equal(e2e_run_vas(out, "serve", "--help", NULL), 0);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "usage: vas serve"));
    assert_non_null(strstr(text, "--port"));
    assert_non_null(strstr(text, "--workers"));
    free(text);
    assert_int_equal(e2e_run_vas(out, "init-db", "--help", NULL), 0);
    assert_int_equal(e2e_run_vas(out, "clean-up", "--help", NULL), 0);

    assert_int_not_equal(e2e_run_vas(out, "nosuch", NULL), 0);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "nosuch"));
    free(text);
    assert_int_not_equal(e2e_run_vas(out, NULL), 0);
    assert_int_not_equal(e2e_run_vas(out, "serve", "--bogus", "1", NULL), 0);
    assert_int_not_equal(e2e_run_vas(out, "serve", "--port", NULL), 0);
    assert_int_not_equal(e2e_run_vas(out, "serve", "--workers", "many", NULL), 0);
    E2E_PASS(s);
}

static void init_db_creates_both(void **state)
{
    e2e_srv *s = *state;
    char out[E2E_PATH];
    struct stat st;

    snprintf(out, sizeof(out), "%s/out.txt", s->dir);
    assert_int_equal(e2e_run_vas(out, "init-db", "--db", s->db, "--data", s->data, NULL), 0);
    assert_int_equal(stat(s->db, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat(s->data, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* Again: nothing to do, still fine; then a server uses them. */
    assert_int_equal(e2e_run_vas(out, "init-db", "--db", s->db, "--data", s->data, NULL), 0);
    assert_int_equal(e2e_start(s), 0);
    char id[41];
    e2e_upload_text(s, "into an initialised db\n", "in.txt", id);
    assert_int_equal(tu_count_files(s->files), 1);
    E2E_PASS(s);
}

/* Old F1 with a finished analysis (and its CSV output) goes; F2, which a PENDING analysis needs,
 * stays, as does that analysis. */
static void clean_up_keeps_what_pending_work_needs(void **state)
{
    e2e_srv *s = *state;
    char f1[41], f2[41], done[37], pending[37], cfg[E2E_PATH], out[E2E_PATH], yaml[3 * E2E_PATH];
    char path[128];
    e2e_resp r;

    s->args = one_worker;
    assert_int_equal(e2e_start(s), 0);
    e2e_upload_text(s, "old input, finished with\n", "1.txt", f1);
    e2e_upload_text(s, "old input, still needed\n", "2.txt", f2);
    e2e_sleep(s, f1, "0", done);
    e2e_expect_state(s, done, "SUCCESS", 200, 20);
    assert_int_equal(e2e_stop(s), 0);
    /* No workers: this one stays PENDING. */
    s->args = no_workers;
    assert_int_equal(e2e_start(s), 0);
    e2e_sleep(s, f2, "0", pending);
    assert_int_equal(e2e_stop(s), 0);
    assert_int_equal(tu_count_files(s->files), 3);

    snprintf(cfg, sizeof(cfg), "%s/config.yaml", s->dir);
    snprintf(yaml, sizeof(yaml),
             "# the old service's keys\nDATABASE: sqlite:///%s\nDATA_FOLDER: %s\n"
             "CELERY_broker_url: redis://localhost:6379/0\n"
             "clean_up_files_days: 0.0000001\nclean_up_analyses_days: 0.0000001\n",
             s->db, s->data);
    assert_int_equal(tu_write_file(cfg, yaml, strlen(yaml)), 0);
    tu_nap_ms(50); /* 0.0000001 days is 8.64 ms */
    snprintf(out, sizeof(out), "%s/clean-up.txt", s->dir);
    if (e2e_run_vas(out, "clean-up", "--config", cfg, NULL) != 0) {
        char *text = tu_read_file(out, NULL);
        fail_msg("vas clean-up failed: %s", text ? text : "");
    }
    assert_int_equal(tu_count_files(s->files), 1);

    assert_int_equal(e2e_start(s), 0);
    e2e_get(s, "/file", &r);
    assert_int_equal(json_array_size(r.json), 1);
    assert_string_equal(e2e_str(json_array_get(r.json, 0), "file_id"), f2);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/file/%s", f1);
    e2e_get(s, path, &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    e2e_get(s, "/analysis", &r);
    assert_int_equal(json_array_size(r.json), 1);
    assert_string_equal(e2e_str(json_array_get(r.json, 0), "analysis_id"), pending);
    assert_string_equal(e2e_str(json_array_get(r.json, 0), "state"), "PENDING");
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/analysis/%s", done);
    e2e_get(s, path, &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST(health_and_models_answer, no_workers),
        E2E_TEST(metrics_in_prometheus_text, one_worker),
        E2E_TEST(metrics_cost_flat_in_analyses, no_workers),
        E2E_TEST(token_guards_all_but_health, with_token),
        E2E_TEST(unknown_route_is_404, no_workers),
        E2E_TEST(wrong_method_is_405_with_allow, no_workers),
        E2E_TEST_NO_SERVER(help_and_unknown_commands, NULL),
        E2E_TEST_NO_SERVER(init_db_creates_both, no_workers),
        E2E_TEST_NO_SERVER(clean_up_keeps_what_pending_work_needs, NULL),
    };

    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
