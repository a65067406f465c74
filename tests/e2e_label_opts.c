/* e2e_label_opts.c - `label`'s create_labeled_video options through the HTTP API with the demo
 * model (models/openfield): each bad value a 400 naming the field (nothing queued), a bodypart
 * the model lacks a 400 listing its bodyparts, and a run with options whose labeled video has
 * the frames start/end pick (drawing itself is checked pixel by pixel in test_label_opts.c);
 * filtered=1 labels what `filter` makes of the poses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"
#include "media/media_video.h"
#include "test_media_enc.h"

static const char *const with_model[] = {"--models", "models", NULL};

static void bad_values_are_400(void **state)
{
    e2e_srv *s = *state;
    static const char *const bad[][2] = {
        {"pcutoff", "2"},
        {"dotsize", "big"},
        {"alphavalue", "-1"},
        {"trailpoints", "-3"},
        {"draw_skeleton", "yes"},
        {"keypoints_only", "7"},
        {"colormap", "nosuch"},
        {"color_by", "mouse"},
        {"start", "0.9&end=0.1"},
        {"outputframerate", "0"},
        {"confidence_to_alpha", "2"},
        {"displayedbodyparts", "snout,wing"},
        {"filtered", "maybe"},
        {"windowlength", "3"}, /* a filter argument without filtered=1 */
        {"filtered", "1&filtertype=kalman"},
    };
    tenc_video v = {.codec = "mpeg4", .w = 64, .h = 64, .frames = 4, .fps = 24};
    char video[E2E_PATH], fid[41], form[512];
    e2e_resp r;

    snprintf(video, sizeof(video), "%s/clip.avi", s->dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    e2e_upload_path(s, video, "clip.avi", fid);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(form, sizeof(form), "file_id=%s&analysis=label&model=openfield&%s=%s", fid,
                 bad[i][0], bad[i][1]);
        e2e_post(s, "/analysis", "application/x-www-form-urlencoded", form, &r);
        e2e_assert_status(&r, 400);
        const char *want = strstr(bad[i][1], "kalman") ? "kalman" : bad[i][0];
        if (!strstr(e2e_str(r.json, "error"), want))
            fail_msg("%s=%s: %s", bad[i][0], bad[i][1], e2e_str(r.json, "error"));
        if (!strcmp(bad[i][0], "displayedbodyparts"))
            assert_non_null(strstr(e2e_str(r.json, "error"), "tailbase")); /* the known ones */
        e2e_resp_free(&r);
    }
    e2e_get(s, "/analysis", &r); /* nothing was queued */
    assert_int_equal(json_array_size(r.json), 0);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* start=0.5 of 12 frames: 6 drawn, at the input's rate; the options reach the job. */
static void options_reach_the_video(void **state)
{
    e2e_srv *s = *state;
    tenc_video v = {.codec = "mpeg4", .w = 120, .h = 90, .frames = 12, .fps = 24};
    char video[E2E_PATH], fid[41], aid[37], form[512], path[128], *out;
    media_video *mv = NULL;
    media_frame fr;
    vas_err e = {0};
    e2e_resp r;
    int n = 0;

    snprintf(video, sizeof(video), "%s/mouse.avi", s->dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    e2e_upload_path(s, video, "mouse.avi", fid);
    snprintf(form, sizeof(form),
             "file_id=%s&analysis=label&model=openfield&start=0.5&keypoints_only=1"
             "&displayedbodyparts=snout&draw_skeleton=true&trailpoints=3&colormap=jet",
             fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 300, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")), 12);
    assert_int_equal(json_integer_value(json_object_get(r.json, "labeled_frames")), 6);
    snprintf(path, sizeof(path), "/file/%s", e2e_str(r.json, "labeled_video"));
    e2e_resp_free(&r);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    out = tu_path(s->dir, "labeled.mp4");
    assert_int_equal(tu_write_file(out, r.body, r.len), 0);
    e2e_resp_free(&r);
    assert_int_equal(media_video_open(out, NULL, &mv, &e), 0);
    assert_true(fabs(media_video_info_get(mv)->fps - 24) < 0.01);
    while (media_video_next(mv, &fr, &e) == 1) {
        assert_true(fr.rgb[0] < 20 && fr.rgb[1] < 20 && fr.rgb[2] < 20); /* keypoints_only */
        n++;
    }
    assert_int_equal(n, 6);
    media_video_close(mv);
    free(out);
    E2E_PASS(s);
}

/* The Content-Disposition file name of output id into name[n]. */
static void output_name(e2e_srv *s, const char *id, char *name, size_t n)
{
    char path[128];
    e2e_resp r;

    snprintf(path, sizeof(path), "/file/%s", id);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    const char *d = e2e_header(&r, "Content-Disposition");
    snprintf(name, n, "%s", d ? d : "");
    e2e_resp_free(&r);
}

/* filtered=1: the poses go through `filter` first: the result's filtered table is the very file
 * `filter` makes of its poses with the same arguments, and the video and plots carry
 * DeepLabCut's _filtered names. */
static void filtered_labels_the_filtered_poses(void **state)
{
    e2e_srv *s = *state;
    tenc_video v = {.codec = "mpeg4", .w = 120, .h = 90, .frames = 10, .fps = 24};
    char video[E2E_PATH], fid[41], aid[37], bid[37], form[512], name[512], *csv, *fcsv;
    e2e_resp r, f;

    snprintf(video, sizeof(video), "%s/mouse.avi", s->dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    e2e_upload_path(s, video, "mouse.avi", fid);
    snprintf(form, sizeof(form),
             "file_id=%s&analysis=label&model=openfield&filtered=1&filtertype=median"
             "&windowlength=3",
             fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 300, &r);
    csv = strdup(e2e_str(r.json, "csv_file"));
    fcsv = strdup(e2e_str(r.json, "filtered_csv_file"));
    assert_non_null(e2e_str(r.json, "filtered_h5_file"));
    output_name(s, e2e_str(r.json, "labeled_video"), name, sizeof(name));
    assert_non_null(strstr(name, "_filtered_labeled.mp4"));
    output_name(s, e2e_str(r.json, "plot_trajectories"), name, sizeof(name));
    assert_non_null(strstr(name, "_filtered_trajectory.png"));
    output_name(s, fcsv, name, sizeof(name));
    assert_non_null(strstr(name, "_filtered.csv"));
    e2e_resp_free(&r);
    snprintf(form, sizeof(form), "file_id=%s&analysis=filter&filtertype=median&windowlength=3",
             csv);
    e2e_analysis(s, form, bid, NULL);
    e2e_wait_state(s, bid, "SUCCESS", 60, &f);
    assert_string_equal(e2e_str(f.json, "csv_file"), fcsv); /* the same bytes */
    e2e_resp_free(&f);
    free(csv);
    free(fcsv);
    E2E_PASS(s);
}

int main(void)
{
    media_log_setup();
    const struct CMUnitTest tests[] = {
        E2E_TEST(bad_values_are_400, with_model),
        E2E_TEST(options_reach_the_video, with_model),
        E2E_TEST(filtered_labels_the_filtered_poses, with_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
