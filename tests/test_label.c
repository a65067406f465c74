/* test_label.c - labeled videos and images (analyses/label_run.h) checked pixel by pixel.
 * Videos: a flat grey video made here, poses from a synthetic DeepLabCut CSV fed to the drawing
 * (so what is expected does not depend on the network), the labeled .mp4 decoded back with
 * FFmpeg: frame count, size, rate; each part's colour at its point, nothing where a part is
 * below pcutoff, the skeleton between the right parts; and the three plots. Images: a real
 * openfield frame through the demo network, every drawn point checked against the prediction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyses/label_run.h"
#include "media/media_video.h"
#include "pose/dlc_csv.h"
#include "pose/dlc_read.h"
#include "pose/pose_draw.h"
#include "test_label_fx.h"
#include "test_media_enc.h"
#include "testutil.h"

#include <cairo.h>
#include <math.h>

#define W      320
#define H      240
#define FRAMES 12
#define GREY   LABEL_GREY
#define FRAME0 TU_OPENFIELD_LABELED "/img0000.png"

static void write_poses(fx *f, const char *path)
{
    pose_layout l = {.scorer = f->m->scorer,
                     .bodyparts = (const char *const *)f->m->bodyparts,
                     .n_bodyparts = f->m->n_bodyparts};
    dlc_csv *w = NULL;
    vas_err e = {0};
    double xyl[12];

    assert_int_equal(f->m->n_bodyparts, 4);
    assert_int_equal(dlc_csv_open(path, &l, &w, &e), 0);
    for (int i = 0; i < FRAMES; i++) {
        label_fx_pose_of(i, xyl);
        assert_int_equal(dlc_csv_add_row(w, i, NULL, xyl, &e), 0);
    }
    assert_int_equal(dlc_csv_close(w, &e), 0);
}

/* The pixel (x, y) of an RGB24 image, channel c. */
static int px(const uint8_t *rgb, int w, int x, int y, int c)
{
    return rgb[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c];
}

/* A spot inside part p's dot but off every skeleton line drawn to it (lines are drawn first, so
 * the dot's centre lies over them): 3 px from the centre, away from the lines. */
static void dot_spot(const pose_style *s, const double *xyl, int p, int *x, int *y)
{
    double dx = 0, dy = 0, n;

    for (int k = 0; k < s->n_skeleton; k++) {
        int a = s->skeleton[k][0], b = s->skeleton[k][1], q = a == p ? b : b == p ? a : -1;
        if (q < 0 || !(xyl[3 * q + 2] > s->pcutoff) || !(xyl[3 * p + 2] > s->pcutoff))
            continue;
        double ux = xyl[3 * q] - xyl[3 * p], uy = xyl[3 * q + 1] - xyl[3 * p + 1];
        n = hypot(ux, uy);
        if (n > 0) {
            dx += ux / n;
            dy += uy / n;
        }
    }
    n = hypot(dx, dy);
    *x = (int)lround(xyl[3 * p] - (n > 1e-9 ? 3 * dx / n : 0));
    *y = (int)lround(xyl[3 * p + 1] - (n > 1e-9 ? 3 * dy / n : 0));
}

/* Expected colour of part p drawn over a background value bg[c]. */
static int blend(const pose_style *s, int p, int c, int bg)
{
    return (int)lround(s->alpha * 255.0 * s->rgb[p][c] + (1.0 - s->alpha) * bg);
}

static void check_frame(const pose_style *s, const media_frame *fr)
{
    double xyl[12];
    const uint8_t *rgb = fr->rgb;

    label_fx_pose_of((int)fr->index, xyl);
    for (int p = 0; p < 3; p++) /* parts above pcutoff: their colour (lossy codec: +-24) */
        for (int c = 0; c < 3; c++) {
            int x, y;
            dot_spot(s, xyl, p, &x, &y);
            int got = px(rgb, W, x, y, c);
            int want = blend(s, p, c, GREY);
            if (abs(got - want) > 24)
                fail_msg("frame %lld part %d channel %d: %d, want %d", (long long)fr->index, p, c,
                         got, want);
        }
    for (int c = 0; c < 3; c++) /* the tail base is below pcutoff: background */
        assert_true(abs(px(rgb, W, 250, 120, c) - GREY) <= 8);
    /* The snout-leftear line: the skeleton colour at alpha over grey at its middle (a thin line
     * through a lossy codec: +-40); none to the tail base. */
    int mx = (int)lround((xyl[0] + xyl[3]) / 2), my = (int)lround((xyl[1] + xyl[4]) / 2);
    int line = (int)lround(s->alpha * 255.0 * s->skel_rgb[1] + (1.0 - s->alpha) * GREY);
    assert_true(abs(line - GREY) > 60); /* the check below can tell a line from none */
    assert_true(abs(px(rgb, W, mx, my, 1) - line) <= 40);
    assert_true(abs(px(rgb, W, 205, 140, 1) - GREY) <= 8); /* leftear/rightear - tailbase */
}

static void labeled_video_from_given_poses(void **state)
{
    fx *f = *state;
    char video[600], poses[600], prefix[600];
    label_out out = {0};
    media_video *mv = NULL;
    media_frame fr;
    pose_style s;
    vas_err e = {0};
    int n = 0, rc;

    snprintf(video, sizeof(video), "%s/grey.avi", f->d.dir);
    snprintf(poses, sizeof(poses), "%s/grey_poses.csv", f->d.dir);
    snprintf(prefix, sizeof(prefix), "%s/grey%s", f->d.dir, f->m->scorer);
    assert_int_equal(label_fx_grey_video(video, W, H, FRAMES), 0);
    write_poses(f, poses);
    label_opts lo;
    label_opts_default(&lo);
    lo.draw_skeleton = 1; /* create_labeled_video's default is without */
    rc = label_run_video_opts(f->m, video, poses, prefix, NULL, &lo, &out, &e);
    if (rc < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(out.pose.frames, FRAMES);
    assert_null(out.pose.csv); /* the network did not run */
    assert_non_null(strstr(out.video, "_labeled.mp4"));
    assert_int_equal(pose_style_init(&s, f->m, &e), 0);
    assert_int_equal(media_video_open(out.video, NULL, &mv, &e), 0);
    assert_int_equal(media_video_info_get(mv)->width, W);
    assert_int_equal(media_video_info_get(mv)->height, H);
    assert_true(fabs(media_video_info_get(mv)->fps - 24.0) < 0.01);
    assert_string_equal(media_video_info_get(mv)->codec, "h264");
    while ((rc = media_video_next(mv, &fr, &e)) == 1) {
        if (fr.index == 0 || fr.index == 5 || fr.index == FRAMES - 1)
            check_frame(&s, &fr);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, FRAMES);
    media_video_close(mv);
    /* The plots: PNGs of their documented sizes, with something drawn. */
    const int sizes[POSE_PLOTS_N][2] = {{800, 600}, {1000, 450}, {800, 600}, {1000, 450}};
    for (int i = 0; i < POSE_PLOTS_N; i++) {
        cairo_surface_t *cs = cairo_image_surface_create_from_png(out.plots[i]);
        assert_int_equal(cairo_surface_status(cs), CAIRO_STATUS_SUCCESS);
        assert_int_equal(cairo_image_surface_get_width(cs), sizes[i][0]);
        assert_int_equal(cairo_image_surface_get_height(cs), sizes[i][1]);
        cairo_surface_destroy(cs);
    }
    label_out_clear(&out);
}

/* Poses whose bodyparts are not the model's are refused before anything is drawn. */
static void given_poses_must_match_the_model(void **state)
{
    fx *f = *state;
    tenc_video v = {
        .codec = "mpeg4", .w = W, .h = H, .frames = 2, .fps = 24, .paint = label_fx_paint_grey};
    const char *const parts[] = {"nose", "tail"};
    pose_layout l = {.scorer = "DLC_x", .bodyparts = parts, .n_bodyparts = 2};
    char video[600], poses[600], prefix[600];
    const double row[6] = {1, 2, 0.9, 3, 4, 0.9};
    label_out out = {0};
    dlc_csv *w = NULL;
    vas_err e = {0};

    snprintf(video, sizeof(video), "%s/two.avi", f->d.dir);
    snprintf(poses, sizeof(poses), "%s/two.csv", f->d.dir);
    snprintf(prefix, sizeof(prefix), "%s/two", f->d.dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    assert_int_equal(dlc_csv_open(poses, &l, &w, &e), 0);
    assert_int_equal(dlc_csv_add_row(w, 0, NULL, row, &e), 0);
    assert_int_equal(dlc_csv_close(w, &e), 0);
    assert_int_equal(label_run_video(f->m, video, poses, prefix, NULL, &out, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "bodyparts"));
    label_out_clear(&out);
    assert_int_equal(access("/dev/null", F_OK), 0);
    snprintf(prefix, sizeof(prefix), "%s/two_labeled.mp4", f->d.dir);
    assert_int_equal(access(prefix, F_OK), -1); /* nothing half-written */
}

/* An image through the network: every point above pcutoff drawn in its colour. */
static void labeled_image_shows_predictions(void **state)
{
    fx *f = *state;
    char prefix[600];
    label_out out = {0};
    dlc_table t = {0};
    pose_style s;
    vas_err e = {0};
    int drawn = 0;

    snprintf(prefix, sizeof(prefix), "%s/img0000%s", f->d.dir, f->m->scorer);
    if (label_run_images(f->m, FRAME0, prefix, NULL, &out, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(out.n_images, 1);
    assert_null(out.archive);
    assert_int_equal(dlc_read(out.pose.csv, &t, &e), 0);
    assert_int_equal(pose_style_init(&s, f->m, &e), 0);
    cairo_surface_t *src = cairo_image_surface_create_from_png(FRAME0);
    cairo_surface_t *lab = cairo_image_surface_create_from_png(out.images[0]);
    int w = cairo_image_surface_get_width(src), st = cairo_image_surface_get_stride(src);
    assert_int_equal(cairo_image_surface_get_width(lab), w);
    assert_int_equal(cairo_image_surface_get_height(lab), cairo_image_surface_get_height(src));
    const uint8_t *a = cairo_image_surface_get_data(src), *b = cairo_image_surface_get_data(lab);
    assert_int_equal(t.n_rows, 1);
    for (int p = 0; p < t.n_parts; p++) {
        const double *v = t.v + 3 * p;
        if (!(v[2] > s.pcutoff))
            continue;
        int x, y;
        dot_spot(&s, t.v, p, &x, &y);
        size_t o = (size_t)y * (size_t)st + (size_t)x * 4;
        for (int c = 0; c < 3; c++) { /* cairo: B, G, R bytes; style: R, G, B */
            int want = blend(&s, p, 2 - c, a[o + (size_t)c]);
            assert_true(abs(b[o + (size_t)c] - want) <= 3);
        }
        drawn++;
    }
    assert_true(drawn >= 3); /* the demo model finds the mouse in its own training frame */
    cairo_surface_destroy(src);
    cairo_surface_destroy(lab);
    dlc_table_free(&t);
    label_out_clear(&out);
}

int main(void)
{
    media_log_setup(); /* FFmpeg's chatter to debug lines */
    const struct CMUnitTest tests[] = {
        LABEL_TEST(labeled_video_from_given_poses, label_fx_setup),
        LABEL_TEST(given_poses_must_match_the_model, label_fx_setup),
        LABEL_TEST(labeled_image_shows_predictions, label_fx_setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
