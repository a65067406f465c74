/* e2e_rq_flow.c - a job's whole way through `vas serve --queue` (a real redis-server with a
 * password) and `vas worker --redis`: POST /analysis, a remote worker runs it, GET /analysis and
 * GET /workers say so, a cancel reaches the worker within a second; the local worker of `vas
 * serve --queue --workers 1`; a real `video` job with the demo model on a remote worker. The
 * world: tests/e2e_rq_world.h (e2e_rq_worker.c tests the worker's side of the protocol alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_rq_world.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(full_flow_through_a_remote_worker, setup_queue, teardown),
        cmocka_unit_test_setup_teardown(local_worker_goes_through_redis, setup_queue_local,
                                        teardown),
        cmocka_unit_test_setup_teardown(video_job_on_a_remote_worker, setup_queue, teardown),
    };

    if (!rqfx_available()) {
        printf("e2e_rq_flow: skipped: no %s\n", RQFX_SERVER);
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
