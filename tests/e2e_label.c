/* e2e_label.c - `label` and `label-image` through the HTTP API with the demo model
 * (models/openfield): a labeled video of a clip of the real openfield recording decoded back with
 * FFmpeg (frame count, size and rate of the input) with its three plots; the poses of a finished
 * `video` analysis reused instead of running the network again; labeled images of one frame and of
 * an archive of frames; an image analysis given a video; a cancel mid-video and a file that is no
 * video; and `vas analyze --analysis label`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"
#include "media/media_archive.h"
#include "media/media_video.h"
#include "test_media_enc.h"

#include <cairo.h>

static const char *const with_model[] = {"--models", "models", NULL};

/* GET /file/<id> into <dir>/<name>; its Content-Disposition into disp. */
static void download_to(e2e_srv *s, const char *id, const char *name, char *disp, size_t dn)
{
    char path[128], *file = tu_path(s->dir, name);
    e2e_resp r;

    assert_non_null(id);
    snprintf(path, sizeof(path), "/file/%s", id);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    if (disp)
        snprintf(disp, dn, "%s", e2e_header(&r, "Content-Disposition"));
    assert_int_equal(tu_write_file(file, r.body, r.len), 0);
    e2e_resp_free(&r);
    free(file);
}

/* Decodes <dir>/<name> with FFmpeg: every frame counted; its info into *vi. */
static int64_t count_frames(e2e_srv *s, const char *name, media_video_info *vi)
{
    char *file = tu_path(s->dir, name);
    media_video *v = NULL;
    media_frame f;
    vas_err e = {0};
    int64_t n = 0;
    int rc;

    if (media_video_open(file, NULL, &v, &e) < 0)
        fail_msg("%s: %s", name, e.msg);
    *vi = *media_video_info_get(v);
    while ((rc = media_video_next(v, &f, &e)) == 1)
        n++;
    assert_int_equal(rc, 0);
    media_video_close(v);
    free(file);
    return n;
}

/* The four plots: PNGs of their documented sizes (pose_plot.h). */
static void check_plots(e2e_srv *s, const json_t *res)
{
    static const char *const keys[] = {"plot_trajectories", "plot_likelihood", "plot_histogram",
                                       "plot_positions"};
    static const int size[4][2] = {{800, 600}, {1000, 450}, {800, 600}, {1000, 450}};

    for (int i = 0; i < 4; i++) {
        char *file = tu_path(s->dir, "plot.png");
        download_to(s, e2e_str(res, keys[i]), "plot.png", NULL, 0);
        cairo_surface_t *cs = cairo_image_surface_create_from_png(file);
        assert_int_equal(cairo_surface_status(cs), CAIRO_STATUS_SUCCESS);
        assert_int_equal(cairo_image_surface_get_width(cs), size[i][0]);
        assert_int_equal(cairo_image_surface_get_height(cs), size[i][1]);
        cairo_surface_destroy(cs);
        free(file);
    }
}

/* The real recording: a labeled video with the input's frames, size and rate, and the plots. */
static void openfield_labeled_video(void **state)
{
    e2e_srv *s = *state;
    char fid[41], aid[37], form[256], disp[600], want[600];
    media_video_info in, out;
    e2e_resp r;

    e2e_upload_path(s, TU_OPENFIELD_CLIP, "m3v1_clip.mp4", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 900, &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")),
                     TU_OPENFIELD_CLIP_FRAMES);
    assert_true(json_is_false(json_object_get(r.json, "poses_reused")));
    download_to(s, e2e_str(r.json, "labeled_video"), "labeled.mp4", disp, sizeof(disp));
    snprintf(want, sizeof(want), "attachment; filename=\"m3v1_clip%s_labeled.mp4\"",
             e2e_str(r.json, "scorer"));
    assert_string_equal(disp, want);
    assert_int_equal(count_frames(s, "labeled.mp4", &out), TU_OPENFIELD_CLIP_FRAMES);
    {
        media_video *v = NULL;
        vas_err e = {0};
        assert_int_equal(media_video_open(TU_OPENFIELD_CLIP, NULL, &v, &e), 0);
        in = *media_video_info_get(v);
        media_video_close(v);
    }
    assert_int_equal(out.width, in.width);
    assert_int_equal(out.height, in.height);
    assert_true(fabs(out.fps - in.fps) < 0.01);
    assert_string_equal(out.codec, "h264");
    assert_non_null(e2e_str(r.json, "csv_file"));
    check_plots(s, r.json);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* A finished `video` analysis's poses are drawn as they are: same CSV, network not run. */
static void label_reuses_video_poses(void **state)
{
    e2e_srv *s = *state;
    tenc_video v = {.codec = "mpeg4", .w = 120, .h = 90, .frames = 12, .fps = 24};
    char video[E2E_PATH], fid[41], aid[37], form[256], csv[41];
    media_video_info vi;
    e2e_resp r;

    snprintf(video, sizeof(video), "%s/mouse.avi", s->dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    e2e_upload_path(s, video, "mouse.avi", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 300, &r);
    snprintf(csv, sizeof(csv), "%s", e2e_str(r.json, "csv_file"));
    e2e_resp_free(&r);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 300, &r);
    assert_true(json_is_true(json_object_get(r.json, "poses_reused")));
    assert_string_equal(e2e_str(r.json, "csv_file"), csv);
    download_to(s, e2e_str(r.json, "labeled_video"), "reused.mp4", NULL, 0);
    assert_int_equal(count_frames(s, "reused.mp4", &vi), 12);
    assert_int_equal(vi.width, 120);
    assert_int_equal(vi.height, 90);
    check_plots(s, r.json);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* One frame: one labeled PNG of the same size; a tar of two: two PNGs and a zip of them. */
static void labeled_images(void **state)
{
    e2e_srv *s = *state;
    char fid[41], aid[37], form[256], disp[600], tar[E2E_PATH], cmd[2 * E2E_PATH];
    e2e_resp r;

    e2e_upload_path(s, TU_OPENFIELD_LABELED "/img0007.png", "img0007.png", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label-image&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 120, &r);
    download_to(s, e2e_str(r.json, "labeled_image"), "one.png", disp, sizeof(disp));
    assert_string_equal(disp, "attachment; filename=\"img0007_labeled.png\"");
    {
        char *file = tu_path(s->dir, "one.png");
        cairo_surface_t *a = cairo_image_surface_create_from_png(file),
                        *b = cairo_image_surface_create_from_png(TU_OPENFIELD_LABELED
                                                                 "/img0007.png");
        assert_int_equal(cairo_image_surface_get_width(a), cairo_image_surface_get_width(b));
        assert_int_equal(cairo_image_surface_get_height(a), cairo_image_surface_get_height(b));
        cairo_surface_destroy(a);
        cairo_surface_destroy(b);
        free(file);
    }
    e2e_resp_free(&r);
    snprintf(tar, sizeof(tar), "%s/two.tar", s->dir);
    snprintf(cmd, sizeof(cmd), "tar -C %s -cf %s img0001.png img0000.png", TU_OPENFIELD_LABELED,
             tar);
    assert_int_equal(system(cmd), 0);
    e2e_upload_path(s, tar, "two.tar", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label-image&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 120, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "labeled_images")), 2);
    download_to(s, e2e_str(r.json, "archive"), "two.zip", disp, sizeof(disp));
    assert_non_null(strstr(disp, "_labeled.zip"));
    snprintf(cmd, sizeof(cmd), "unzip -l %s/two.zip | grep -c '_labeled.png' | grep -qx 2", s->dir);
    assert_int_equal(system(cmd), 0);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* label-image on a video: FAILURE that says what the file is not. */
static void label_image_refuses_a_video(void **state)
{
    e2e_srv *s = *state;
    tenc_video v = {.codec = "mpeg4", .w = 64, .h = 64, .frames = 3, .fps = 24};
    char video[E2E_PATH], fid[41], aid[37], form[256];
    e2e_resp r;

    snprintf(video, sizeof(video), "%s/clip.avi", s->dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    e2e_upload_path(s, video, "clip.avi", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label-image&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "FAILURE", 60, &r);
    assert_non_null(strstr(e2e_str(r.json, "description"), "not an image"));
    e2e_resp_free(&r);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label&model=nosuch", fid);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", form, &r);
    e2e_assert_status(&r, 400);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* The real recording cancelled mid-way: REVOKED, and no labeled video left in the store; a file
 * that is not a video: FAILURE saying so. */
static void label_cancel_and_not_a_video(void **state)
{
    e2e_srv *s = *state;
    char fid[41], aid[37], form[256];
    e2e_resp r;

    e2e_upload_path(s, TU_OPENFIELD_CLIP, "m3v1_clip.mp4", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_progress(s, aid, "frames", TU_OPENFIELD_CLIP_FRAMES, 120);
    e2e_cancel(s, aid);
    e2e_expect_state(s, aid, "REVOKED", 200, 10);
    e2e_log_wait(s, "state=REVOKED ms=", 30); /* the worker saw it and stopped */
    e2e_get(s, "/file", &r);
    for (size_t i = 0; i < json_array_size(r.json); i++) /* only the upload is stored */
        assert_null(strstr(e2e_str(json_array_get(r.json, i), "filename"), "_labeled"));
    assert_int_equal(json_array_size(r.json), 1);
    e2e_resp_free(&r);
    e2e_upload_text(s, "not a video at all\n", "notes.mp4", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "FAILURE", 60, &r);
    if (!strstr(e2e_str(r.json, "description"), "not a video"))
        fail_msg("description: %s", e2e_str(r.json, "description"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* `vas analyze --analysis label` writes the labeled video and plots beside the input. */
static void analyze_cli_label(void **state)
{
    e2e_srv *s = *state;
    tenc_video v = {.codec = "mpeg4", .w = 120, .h = 90, .frames = 8, .fps = 24};
    char video[E2E_PATH], out[E2E_PATH], cmd[2 * E2E_PATH];
    media_video_info vi;

    snprintf(video, sizeof(video), "%s/cli.avi", s->dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    snprintf(out, sizeof(out), "%s/analyze.out", s->dir);
    assert_int_equal(e2e_run_vas(out, "analyze", "--models", "models", "--analysis", "label",
                                 "--model", "openfield", video, NULL),
                     0);
    snprintf(cmd, sizeof(cmd),
             "cd %s && ls cliDLC_*_labeled.mp4 cliDLC_*_trajectory.png "
             "cliDLC_*_plot-likelihood.png cliDLC_*_hist.png cliDLC_*_plot.png cliDLC_*.csv "
             "cliDLC_*.h5 >/dev/null",
             s->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "cd %s && ln -s cliDLC_*_labeled.mp4 cli_labeled.mp4", s->dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(count_frames(s, "cli_labeled.mp4", &vi), 8);
    E2E_PASS(s);
}

int main(void)
{
    media_log_setup();
    const struct CMUnitTest tests[] = {
        E2E_TEST(label_reuses_video_poses, with_model),
        E2E_TEST(labeled_images, with_model),
        E2E_TEST(label_image_refuses_a_video, with_model),
        E2E_TEST(analyze_cli_label, with_model),
        E2E_TEST(label_cancel_and_not_a_video, with_model),
        E2E_TEST(openfield_labeled_video, with_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
