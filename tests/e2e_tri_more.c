/* e2e_tri_more.c - `triangulate` with what issue 16 added, through the HTTP API on the exact
 * scene of e2e_tri_scene.h: a 3D model that names no 2D models takes 2D pose files (and refuses a
 * video, naming the missing model_<camera>); filtered=1 runs each camera's poses through
 * `filter` first: a one-frame 60 px spike in camera 1 that pulls the plain triangulation off is
 * gone, and the 3D table is byte for byte the one made from the `filter` analysis's own outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_tri_scene.h"
#include "test_media_enc.h"

#define SPIKE 25

/* Frame f's snout error (distance to the truth) in the 3D CSV of result res. */
static double snout_error(e2e_srv *s, const json_t *res, int f)
{
    static double xyz[NF][NP][3];
    char *csv = download(s, res, "csv_file", NULL);
    double X[3], d = 0;

    parse_csv(csv, xyz);
    free(csv);
    truth(f, 0, X);
    for (int k = 0; k < 3; k++)
        d += (xyz[f][0][k] - X[k]) * (xyz[f][0][k] - X[k]);
    return sqrt(d);
}

/* Runs analysis with form body (no model field added) to SUCCESS; its result (new). */
static json_t *run_form(e2e_srv *s, const char *body)
{
    char aid[37];
    e2e_resp r;
    json_t *res;

    e2e_analysis(s, body, aid, NULL);
    e2e_wait_state(s, aid, NULL, 120, &r);
    if (!e2e_state_is(&r, "SUCCESS"))
        fail_msg("%s: %s", body, r.body);
    res = json_incref(r.json);
    e2e_resp_free(&r);
    return res;
}

static void pose_files_need_no_2d_model(void **state)
{
    e2e_srv *s = *state;
    static double xyz[NF][NP][3];
    take t = {0};
    int nan = 0;
    double rms;

    start(s);
    json_decref(triangulate(s, "rigp", 2, &t, xyz));
    assert_true(max_error(xyz, &nan, &rms) < 1e-6 * SCENE);
    assert_int_equal(nan, 0);
    E2E_PASS(s);
}

static void video_needs_a_2d_model(void **state)
{
    e2e_srv *s = *state;
    tenc_video v = {.codec = "mpeg4", .w = 64, .h = 48, .frames = 3, .fps = 24};
    char video[E2E_PATH], ids[2][41], body[512], aid[37];
    take t = {0};
    e2e_resp r;

    start(s);
    upload_take(s, "rigp", 2, &t, ids);
    snprintf(video, sizeof(video), "%s/cam1.avi", s->dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    e2e_upload_path(s, video, "cam1.avi", ids[0]);
    form(body, sizeof(body), "rigp", ids, 2);
    e2e_analysis(s, body, aid, NULL);
    e2e_wait_state(s, aid, "FAILURE", 60, &r);
    assert_non_null(strstr(e2e_str(r.json, "description"), "model_camera-1"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void filtered_removes_a_spike(void **state)
{
    e2e_srv *s = *state;
    char ids[2][41], fids[2][41], body[1024];
    take t = {.spike = SPIKE};
    json_t *plain, *filtered, *again, *f;

    start(s);
    upload_take(s, "rig2", 2, &t, ids);
    form(body, sizeof(body), "rig2", ids, 2);
    plain = run_form(s, body);
    strcat(body, "&filtered=1&filtertype=median&windowlength=3");
    filtered = run_form(s, body);
    print_message("snout in frame %d: %.3f off plain, %.3f filtered (scene %.0f)\n", SPIKE,
                  snout_error(s, plain, SPIKE), snout_error(s, filtered, SPIKE), SCENE);
    /* The spike pulls the plain point units away; the median of 3 leaves at most one frame's
     * motion (the body walks a circle of radius 3 in NF frames: 2*pi*3/50 = 0.38 units). */
    assert_true(snout_error(s, plain, SPIKE) > 1.0);
    assert_true(snout_error(s, filtered, SPIKE) < 2 * M_PI * 3 / NF);
    /* The same through the filter analysis, then plain triangulate of its outputs. */
    for (int c = 0; c < 2; c++) {
        snprintf(body, sizeof(body), "file_id=%s&analysis=filter&filtertype=median&windowlength=3",
                 ids[c]);
        f = run_form(s, body);
        snprintf(fids[c], sizeof(fids[c]), "%s", e2e_str(f, "csv_file"));
        json_decref(f);
    }
    form(body, sizeof(body), "rig2", fids, 2);
    again = run_form(s, body);
    assert_string_equal(e2e_str(again, "csv_file"), e2e_str(filtered, "csv_file"));
    json_decref(plain);
    json_decref(filtered);
    json_decref(again);
    E2E_PASS(s);
}

static void filtered_arguments_are_checked(void **state)
{
    e2e_srv *s = *state;
    char ids[2][41], body[1024];
    take t = {0};
    e2e_resp r;

    start(s);
    upload_take(s, "rig2", 2, &t, ids);
    form(body, sizeof(body), "rig2", ids, 2);
    strcat(body, "&windowlength=3");
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    e2e_assert_status(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "applies with filtered=1"));
    e2e_resp_free(&r);
    strcat(body, "&filtered=1&filtertype=kalman");
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    e2e_assert_status(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "kalman"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST_NO_SERVER(pose_files_need_no_2d_model, NULL),
        E2E_TEST_NO_SERVER(video_needs_a_2d_model, NULL),
        E2E_TEST_NO_SERVER(filtered_removes_a_spike, NULL),
        E2E_TEST_NO_SERVER(filtered_arguments_are_checked, NULL),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
