/* e2e_video.c - the `video` analysis through the HTTP API with the demo model (models/openfield):
 * a short video made here with FFmpeg's encoders, its three outputs in DeepLabCut's layout (the
 * HDF5 read back by pandas as a real client) and its three plots, the same CSV from `vas analyze`,
 * a non-video refused with what FFmpeg found, an unknown model, and a cancel mid-video (a clip of
 * the real openfield recording, tests/fixtures/openfield). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"
#include "test_media_enc.h"

#define FRAMES 24

static const char *const with_model[] = {"--models", "models", NULL};

/* Makes <dir>/mouse.avi (MPEG-4, 120x90: padded to 128x96 for the network, FRAMES frames at
 * 24 fps); its path into out. */
static void make_video(e2e_srv *s, char *out, size_t n)
{
    tenc_video v = {.codec = "mpeg4", .w = 120, .h = 90, .frames = FRAMES, .fps = 24};

    snprintf(out, n, "%s/mouse.avi", s->dir);
    assert_int_equal(tenc_write_video(out, &v), 0);
}

/* GET /file/<id> into <dir>/<name>; returns the body (caller frees). */
static char *download(e2e_srv *s, const char *id, const char *name, char *disp, size_t dn)
{
    char path[128], *file = tu_path(s->dir, name), *body;
    e2e_resp r;

    snprintf(path, sizeof(path), "/file/%s", id);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    snprintf(disp, dn, "%s", e2e_header(&r, "Content-Disposition"));
    assert_int_equal(tu_write_file(file, r.body, r.len), 0);
    body = r.body;
    r.body = NULL;
    e2e_resp_free(&r);
    free(file);
    return body;
}

static void check_csv(const char *csv, const char *scorer)
{
    char want[1024];
    const char *line = csv;
    int rows = 0;

    snprintf(want, sizeof(want), "scorer,%s,", scorer);
    assert_memory_equal(csv, want, strlen(want));
    assert_non_null(strstr(csv, "\nbodyparts,snout,snout,snout,leftear,leftear,leftear,"
                                "rightear,rightear,rightear,tailbase,tailbase,tailbase\n"));
    assert_non_null(strstr(csv, "\ncoords,x,y,likelihood,x,y,likelihood,x,y,likelihood,x,y,"
                                "likelihood\n"));
    for (int i = 0; i < 3; i++)
        line = strchr(line, '\n') + 1;
    for (; *line; rows++) {
        char idx[16];
        snprintf(idx, sizeof(idx), "%d,", rows);
        assert_memory_equal(line, idx, strlen(idx));
        line = strchr(line, '\n') + 1;
    }
    assert_int_equal(rows, FRAMES);
}

/* pandas, a real client, reads the HDF5 and finds the CSV's numbers. Skipped without pandas. */
static void check_h5_with_pandas(e2e_srv *s)
{
    char cmd[8192];
    int rc;

    if (system("/usr/bin/python3 -c 'import pandas, tables' 2>/dev/null") != 0) {
        fprintf(stderr, "e2e_video: pandas/PyTables missing (scripts/deps-pose.txt): HDF5 "
                        "read-back skipped\n");
        return;
    }
    snprintf(cmd, sizeof(cmd),
             "cd %s && /usr/bin/python3 -c \"import pandas as pd, numpy as np\n"
             "h = pd.read_hdf('out.h5')\nc = pd.read_csv('out.csv', header=[0, 1, 2], "
             "index_col=0, float_precision='round_trip')\nassert h.shape == (%d, 12), h.shape\n"
             "assert list(h.columns.names) == ['scorer', 'bodyparts', 'coords']\n"
             "assert list(h.index) == list(range(%d))\n"
             "assert np.array_equal(h.values, c.values, equal_nan=True)\"",
             s->dir, FRAMES, FRAMES);
    rc = system(cmd);
    assert_int_equal(rc, 0);
}

/* The result's four plots: PNGs named <stem><scorer>_<plot>.png (pose_plots.h). */
static void check_plots(e2e_srv *s, const json_t *res, const char *stem, const char *scorer)
{
    static const char *const keys[] = {"plot_trajectories", "plot_likelihood", "plot_histogram",
                                       "plot_positions"};
    static const char *const names[] = {"trajectory", "plot-likelihood", "hist", "plot"};
    char disp[600], want[600];

    for (int i = 0; i < 4; i++) {
        char *png = download(s, e2e_str(res, keys[i]), "plot.png", disp, sizeof(disp));
        assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
        snprintf(want, sizeof(want), "attachment; filename=\"%s%s_%s.png\"", stem, scorer,
                 names[i]);
        assert_string_equal(disp, want);
        free(png);
    }
}

static void video_outputs_in_dlc_layout(void **state)
{
    e2e_srv *s = *state;
    char video[E2E_PATH], fid[41], aid[37], form[256], disp[600], want[600], *csv, *json;
    const char *scorer;
    json_t *j;
    e2e_resp r;

    make_video(s, video, sizeof(video));
    e2e_upload_path(s, video, "mouse.avi", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield&batch=5", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 300, &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")), FRAMES);
    assert_true(fabs(json_number_value(json_object_get(r.json, "fps")) - 24.0) < 0.01);
    scorer = e2e_str(r.json, "scorer");
    assert_memory_equal(scorer, "DLC_", 4);
    csv = download(s, e2e_str(r.json, "csv_file"), "out.csv", disp, sizeof(disp));
    snprintf(want, sizeof(want), "attachment; filename=\"mouse%s.csv\"", scorer);
    assert_string_equal(disp, want);
    check_csv(csv, scorer);
    free(download(s, e2e_str(r.json, "h5_file"), "out.h5", disp, sizeof(disp)));
    check_h5_with_pandas(s);
    json = download(s, e2e_str(r.json, "json_file"), "out.json", disp, sizeof(disp));
    j = json_loads(json, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "frames")), FRAMES);
    assert_int_equal(json_array_size(json_object_get(j, "predictions")), FRAMES);
    assert_string_equal(json_string_value(json_object_get(j, "video")), "mouse.avi");
    json_decref(j);
    free(json);
    free(csv);
    check_plots(s, r.json, "mouse", scorer);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* `vas analyze` on the same file writes the same CSV beside it. */
static void analyze_cli_writes_beside_input(void **state)
{
    e2e_srv *s = *state;
    char video[E2E_PATH], out[E2E_PATH], fid[41], aid[37], form[256], disp[600], path[E2E_PATH];
    char *csv, *local;
    e2e_resp r;

    make_video(s, video, sizeof(video));
    e2e_upload_path(s, video, "mouse.avi", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 300, &r);
    csv = download(s, e2e_str(r.json, "csv_file"), "server.csv", disp, sizeof(disp));
    snprintf(out, sizeof(out), "%s/analyze.out", s->dir);
    assert_int_equal(
        e2e_run_vas(out, "analyze", "--models", "models", "--model", "openfield", video, NULL), 0);
    snprintf(path, sizeof(path), "%s/mouse%s.csv", s->dir, e2e_str(r.json, "scorer"));
    local = tu_read_file(path, NULL);
    assert_non_null(local);
    assert_string_equal(local, csv);
    free(local);
    free(csv);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* The same work again is answered at once from the first result; force=1 runs it anew. */
static void identical_work_is_cached(void **state)
{
    e2e_srv *s = *state;
    char video[E2E_PATH], fid[41], a1[37], a2[37], a3[37], form[256], csv[41];
    e2e_resp r;

    make_video(s, video, sizeof(video));
    e2e_upload_path(s, video, "mouse.avi", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield", fid);
    e2e_analysis(s, form, a1, NULL);
    e2e_wait_state(s, a1, "SUCCESS", 300, &r);
    assert_null(json_object_get(r.json, "cached"));
    snprintf(csv, sizeof(csv), "%s", e2e_str(r.json, "csv_file"));
    e2e_resp_free(&r);
    e2e_analysis(s, form, a2, NULL);
    {
        char path[128];
        snprintf(path, sizeof(path), "/analysis/%s", a2);
        e2e_get(s, path, &r); /* no waiting: SUCCESS on the first poll */
    }
    e2e_assert_status(&r, 200);
    assert_true(e2e_state_is(&r, "SUCCESS"));
    assert_true(json_is_true(json_object_get(r.json, "cached")));
    assert_string_equal(e2e_str(r.json, "csv_file"), csv);
    e2e_resp_free(&r);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield&force=1", fid);
    e2e_analysis(s, form, a3, NULL);
    e2e_wait_state(s, a3, "SUCCESS", 300, &r);
    assert_null(json_object_get(r.json, "cached"));
    assert_string_equal(e2e_str(r.json, "csv_file"), csv); /* same bytes, same id */
    e2e_resp_free(&r);
    {
        char *log = tu_read_file(s->log, NULL);
        int runs = 0;
        for (const char *p = log; p && (p = strstr(p, "analysis=video state=STARTED")); p++)
            runs++;
        assert_int_equal(runs, 2); /* the first and the forced one; the cached never ran */
        free(log);
    }
    E2E_PASS(s);
}

/* `image` on one PNG and on a tar of three: one row per image, indexed by its name. */
static void images_indexed_by_name(void **state)
{
    e2e_srv *s = *state;
    char fid[41], aid[37], form[256], disp[600], cmd[2 * E2E_PATH], tar[E2E_PATH], *csv;
    e2e_resp r;

    e2e_upload_path(s, TU_OPENFIELD_LABELED "/img0007.png", "img0007.png", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=image&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 120, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "images")), 1);
    csv = download(s, e2e_str(r.json, "csv_file"), "one.csv", disp, sizeof(disp));
    assert_non_null(strstr(csv, "likelihood\nimg0007.png,"));
    free(csv);
    e2e_resp_free(&r);
    snprintf(tar, sizeof(tar), "%s/frames.tar", s->dir);
    snprintf(cmd, sizeof(cmd), "tar -C %s -cf %s img0002.png img0000.png img0001.png",
             TU_OPENFIELD_LABELED, tar);
    assert_int_equal(system(cmd), 0);
    e2e_upload_path(s, tar, "frames.tar", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=image&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 120, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "images")), 3);
    csv = download(s, e2e_str(r.json, "csv_file"), "three.csv", disp, sizeof(disp));
    assert_non_null(strstr(disp, "frames"));
    {
        const char *a = strstr(csv, "\nimg0000.png,"), *b = strstr(csv, "\nimg0001.png,"),
                   *c = strstr(csv, "\nimg0002.png,");
        assert_true(a && b && c && a < b && b < c); /* name order, as DeepLabCut sorts them */
    }
    free(csv);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* `vas analyze --analysis image` on several images: one table named after their folder. */
static void analyze_cli_several_images(void **state)
{
    e2e_srv *s = *state;
    char dir[E2E_PATH], out[E2E_PATH], csv_path[2 * E2E_PATH], cmd[3 * E2E_PATH], a[E2E_PATH + 16];
    char b[E2E_PATH + 16];
    char *csv;
    e2e_resp r;

    snprintf(dir, sizeof(dir), "%s/frames", s->dir);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp %s/img0003.png %s/img0001.png %s/", dir,
             TU_OPENFIELD_LABELED, TU_OPENFIELD_LABELED, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(a, sizeof(a), "%s/img0003.png", dir);
    snprintf(b, sizeof(b), "%s/img0001.png", dir);
    snprintf(out, sizeof(out), "%s/analyze.out", s->dir);
    assert_int_equal(e2e_run_vas(out, "analyze", "--analysis", "image", "--models", "models",
                                 "--model", "openfield", a, b, NULL),
                     0);
    e2e_get(s, "/model", &r);
    snprintf(csv_path, sizeof(csv_path), "%s/frames%s.csv", dir,
             e2e_str(json_array_get(r.json, 0), "scorer"));
    e2e_resp_free(&r);
    csv = tu_read_file(csv_path, NULL);
    assert_non_null(csv);
    {
        const char *p3 = strstr(csv, "\nimg0003.png,"), *p1 = strstr(csv, "\nimg0001.png,");
        assert_true(p3 && p1 && p3 < p1); /* the order given */
    }
    free(csv);
    E2E_PASS(s);
}

/* Uploads text as name, runs analysis on it with the demo model, and expects FAILURE (500) whose
 * description contains says and names the input as uploaded, not by where it is kept. */
static void expect_failure(e2e_srv *s, const char *text, const char *name, const char *analysis,
                           const char *says)
{
    char fid[41], aid[37], form[256];
    e2e_resp r;

    e2e_upload_text(s, text, name, fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=%s&model=openfield", fid, analysis);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "FAILURE", 60, &r);
    e2e_assert_status(&r, 500);
    if (!strstr(e2e_str(r.json, "description"), says))
        fail_msg("description does not say '%s': %s", says, e2e_str(r.json, "description"));
    if (!strstr(e2e_str(r.json, "description"), name) ||
        strstr(e2e_str(r.json, "description"), s->files))
        fail_msg("description does not name '%s' as uploaded: %s", name,
                 e2e_str(r.json, "description"));
    e2e_resp_free(&r);
}

static void not_an_image_fails_clearly(void **state)
{
    expect_failure(*state, "no pixels here\n", "notes.png", "image", "not an image");
    E2E_PASS((e2e_srv *)*state);
}

static void not_a_video_fails_clearly(void **state)
{
    expect_failure(*state, "this is not a video\n", "notes.mp4", "video", "not a video");
    E2E_PASS((e2e_srv *)*state);
}

static void unknown_model_lists_known(void **state)
{
    e2e_srv *s = *state;
    char fid[41], form[256];
    e2e_resp r;

    e2e_upload_text(s, "x", "x.mp4", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=rat", fid);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", form, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "known models: openfield"));
    e2e_resp_free(&r);
    e2e_get(s, "/model", &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(e2e_str(json_array_get(r.json, 0), "name"), "openfield");
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* The real recording (its first 367 frames) end to end: upload, run, progress in frames, all three
 * outputs. */
static void openfield_video_end_to_end(void **state)
{
    e2e_srv *s = *state;
    char fid[41], aid[37], form[256], path[128], disp[600], *csv, *json;
    int saw_progress = 0, rows = 0;
    double end = e2e_now() + 900;
    json_t *j;
    e2e_resp r;

    e2e_upload_path(s, TU_OPENFIELD_CLIP, "m3v1_clip.mp4", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    snprintf(path, sizeof(path), "/analysis/%s", aid);
    for (;;) {
        e2e_get(s, path, &r);
        if (!e2e_state_is(&r, "PENDING") && !e2e_state_is(&r, "STARTED"))
            break;
        saw_progress |=
            json_integer_value(json_object_get(json_object_get(r.json, "progress"), "done")) > 0;
        e2e_resp_free(&r);
        assert_true(e2e_now() < end);
        tu_nap_ms(200);
    }
    e2e_assert_status(&r, 200);
    assert_true(saw_progress);
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")),
                     TU_OPENFIELD_CLIP_FRAMES);
    csv = download(s, e2e_str(r.json, "csv_file"), "out.csv", disp, sizeof(disp));
    for (const char *p = csv; (p = strchr(p, '\n')); p++)
        rows++;
    assert_int_equal(rows, 3 + TU_OPENFIELD_CLIP_FRAMES);
    free(download(s, e2e_str(r.json, "h5_file"), "out.h5", disp, sizeof(disp)));
    json = download(s, e2e_str(r.json, "json_file"), "out.json", disp, sizeof(disp));
    j = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "predictions")), TU_OPENFIELD_CLIP_FRAMES);
    json_decref(j);
    free(json);
    free(csv);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* The real recording: progress in frames while it runs, then a cancel between batches. */
static void cancel_mid_video(void **state)
{
    e2e_srv *s = *state;
    char fid[41], aid[37], form[256];

    e2e_upload_path(s, TU_OPENFIELD_CLIP, "m3v1_clip.mp4", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_progress(s, aid, "frames", TU_OPENFIELD_CLIP_FRAMES, 120);
    e2e_cancel(s, aid);
    tu_nap_ms(500);
    e2e_expect_state(s, aid, "REVOKED", 200, 10);
    e2e_log_wait(s, "state=REVOKED ms=", 30); /* the worker saw it and stopped */
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST(video_outputs_in_dlc_layout, with_model),
        E2E_TEST(analyze_cli_writes_beside_input, with_model),
        E2E_TEST(identical_work_is_cached, with_model),
        E2E_TEST(not_a_video_fails_clearly, with_model),
        E2E_TEST(images_indexed_by_name, with_model),
        E2E_TEST(not_an_image_fails_clearly, with_model),
        E2E_TEST(analyze_cli_several_images, with_model),
        E2E_TEST(unknown_model_lists_known, with_model),
        E2E_TEST(cancel_mid_video, with_model),
        E2E_TEST(openfield_video_end_to_end, with_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
