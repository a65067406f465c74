/* test_analyses.c - the analyses registry, the sleep analysis's argument check, the model
 * analyses' refusal, and jobs run in-process by worker_run_job on a real catalog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyses/analysis.h"
#include "queue/queue.h"
#include "store/store.h"

#include "testutil.h"

static config cfg_for(const char *models)
{
    config c;
    vas_err e = {0};

    assert_int_equal(config_defaults(&c, &e), VAS_OK);
    if (models) {
        free(c.models_dir);
        c.models_dir = strdup(models);
    }
    return c;
}

static void lookup_by_name(void **state)
{
    char names[256];

    (void)state;
    assert_ptr_equal(analysis_lookup("sleep"), &analysis_sleep);
    assert_ptr_equal(analysis_lookup("SLEEP"), &analysis_sleep);
    assert_string_equal(analysis_lookup("LABEL_IMAGE")->name, "label-image");
    assert_string_equal(analysis_lookup("label-3d")->name, "label_3d");
    assert_null(analysis_lookup("sleepy"));
    assert_null(analysis_lookup(""));
    assert_non_null(analysis_lookup("crash")); /* compiled in: this is a test build */
    analysis_names(names, sizeof(names));
    assert_string_equal(names,
                        "sleep, video, image, label, label-image, triangulate, label_3d, filter");
}

/* Runs sleep's check on one JSON field set; returns the code, args in *args. */
static int check_sleep(const char *fields_json, json_t **args, vas_err *e)
{
    config c = cfg_for(NULL);
    json_t *f = json_loads(fields_json, 0, NULL);
    int rc;

    assert_non_null(f);
    analysis_env env = {.cfg = &c};

    *args = json_object();
    rc = analysis_sleep.check(&env, f, *args, e);
    json_decref(f);
    config_free(&c);
    return rc;
}

static void sleep_check_values(void **state)
{
    json_t *args;
    vas_err e = {0};

    (void)state;
    assert_int_equal(check_sleep("{\"time\": \"2\"}", &args, &e), VAS_OK);
    assert_true(json_is_integer(json_object_get(args, "time")));
    assert_int_equal(json_integer_value(json_object_get(args, "time")), 2);
    json_decref(args);
    assert_int_equal(check_sleep("{\"time\": 0.25}", &args, &e), VAS_OK);
    assert_true(json_is_real(json_object_get(args, "time")));
    assert_true(json_real_value(json_object_get(args, "time")) == 0.25);
    json_decref(args);
    assert_int_equal(check_sleep("{\"time\": \"0\"}", &args, &e), VAS_OK);
    json_decref(args);
}

static void sleep_check_refusals(void **state)
{
    static const char *const bad[] = {"{}",
                                      "{\"time\": \"abc\"}",
                                      "{\"time\": \"-1\"}",
                                      "{\"time\": -0.5}",
                                      "{\"time\": \"nan\"}",
                                      "{\"time\": \"1e9\"}",
                                      "{\"time\": \" 1\"}",
                                      "{\"time\": [1]}"};
    json_t *args;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vas_err e = {0};
        assert_int_equal(check_sleep(bad[i], &args, &e), VAS_EINVAL);
        assert_non_null(strstr(e.msg, "time"));
        json_decref(args);
    }
}

static void model_refusal_lists_models(void **state)
{
    config c = cfg_for(NULL);
    analysis_env env = {.cfg = &c, .models = NULL}; /* no model loaded */
    const pose_model *m = NULL;
    vas_err e = {0};

    (void)state;
    assert_int_equal(analysis_check_model(&env, "video", NULL, &m, &e), VAS_EINVAL);
    assert_string_equal(e.msg, "analysis 'video' needs a model; known models: none");
    assert_int_equal(analysis_check_model(&env, "video", "", &m, &e), VAS_EINVAL);
    assert_string_equal(e.msg, "analysis 'video' needs a model; known models: none");
    assert_int_equal(analysis_check_model(&env, "image", "rat", &m, &e), VAS_EINVAL);
    assert_string_equal(e.msg, "unknown model 'rat'; known models: none");
    assert_null(m);
    config_free(&c);
}

/* Queues sleep(time) on a real catalog, claims it as a worker would, runs it in-process. */
static void run_sleep(tu_store_fx *f, json_t *time, int cancel_first, store_analysis *out)
{
    config c = cfg_for(NULL);
    analysis_env env = {.cfg = &c};
    store_analysis a = {0}, claimed;
    vas_err e = {0};

    tu_put(f->s, "input", "in.txt", a.inputs[0]);
    a.n_inputs = 1;
    snprintf(a.name, sizeof(a.name), "sleep");
    a.args = json_pack("{s:o}", "time", time);
    assert_int_equal(store_analysis_insert(f->s, &a, &e), VAS_OK);
    assert_int_equal(store_analysis_claim(f->s, 4242, &claimed, &e), VAS_OK);
    if (cancel_first)
        assert_int_equal(store_analysis_cancel(f->s, a.id, &e), VAS_OK);
    worker_run_job(f->s, &env, &claimed);
    store_analysis_clear(&claimed);
    assert_int_equal(store_analysis_find(f->s, a.id, out, &e), VAS_OK);
    store_analysis_clear(&a);
    config_free(&c);
}

static void sleep_job_succeeds(void **state)
{
    tu_store_fx *f = *state;
    store_analysis a;
    store_file csv;
    vas_err e = {0};
    char path[4096];
    size_t n;
    char *text;

    run_sleep(f, json_real(0.1), 0, &a);
    assert_string_equal(a.state, "SUCCESS");
    assert_true(json_real_value(json_object_get(a.result, "sleep_time")) == 0.1);
    assert_int_equal(a.done, a.total);
    assert_int_equal(a.total, 100);
    assert_string_equal(a.unit, "ms");
    assert_true(a.finished - a.started >= 0.1);
    assert_int_equal(
        store_file_find(f->s, json_string_value(json_object_get(a.result, "csv_file")), &csv, &e),
        VAS_OK);
    assert_string_equal(csv.filename, "sleep.csv");
    assert_string_equal(csv.content_type, "text/csv");
    store_file_path(f->s, csv.id, path, sizeof(path));
    text = tu_read_file(path, &n);
    assert_string_equal(text, "sleep,0.1\n");
    free(text);
    store_analysis_clear(&a);
}

static void cancelled_job_stays_revoked(void **state)
{
    tu_store_fx *f = *state;
    store_analysis a;

    run_sleep(f, json_integer(5), 1, &a); /* 5 s unless it sees the cancel at once */
    assert_string_equal(a.state, "REVOKED");
    assert_null(a.result);
    assert_true(a.finished - a.started < 1.0);
    store_analysis_clear(&a);
}

static void unknown_analysis_job_fails(void **state)
{
    tu_store_fx *f = *state;
    config c = cfg_for(NULL);
    analysis_env env = {.cfg = &c};
    store_analysis a = {0}, claimed;
    vas_err e = {0};

    tu_put(f->s, "input", "in.txt", a.inputs[0]);
    a.n_inputs = 1;
    /* A row a newer or other build queued: no analysis of that name here. */
    snprintf(a.name, sizeof(a.name), "pose-4d");
    assert_int_equal(store_analysis_insert(f->s, &a, &e), VAS_OK);
    assert_int_equal(store_analysis_claim(f->s, 1, &claimed, &e), VAS_OK);
    worker_run_job(f->s, &env, &claimed);
    store_analysis_clear(&claimed);
    assert_int_equal(store_analysis_find(f->s, a.id, &claimed, &e), VAS_OK);
    assert_string_equal(claimed.state, "FAILURE");
    assert_string_equal(claimed.description, "this server cannot run analysis 'pose-4d'");
    store_analysis_clear(&claimed);
    store_analysis_clear(&a);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_by_name),
        cmocka_unit_test(sleep_check_values),
        cmocka_unit_test(sleep_check_refusals),
        cmocka_unit_test(model_refusal_lists_models),
        cmocka_unit_test_setup_teardown(sleep_job_succeeds, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(cancelled_job_stays_revoked, tu_store_setup,
                                        tu_store_teardown),
        cmocka_unit_test_setup_teardown(unknown_analysis_job_fails, tu_store_setup,
                                        tu_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
