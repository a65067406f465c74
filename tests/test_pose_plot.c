/* test_pose_plot.c - the four pose plots written as PNGs and read back with cairo: size, drawn
 * content, bodypart colours; edge cases (no frames, nothing above pcutoff, NaN, long videos).
 * VAS_PLOT_DIR=<folder> keeps the PNGs there for looking at them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <cmocka.h>

#include "core/err.h"
#include "pose/pose_plot.h"
#include "testutil.h"

static const char *const NAMES[] = {"snout", "leftear", "rightear", "tailbase"};

static pose_style style4(void)
{
    static int skel[][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}};
    pose_style s = {0};
    int i;

    s.n_parts = 4;
    for (i = 0; i < 4; i++) /* distinct, saturated colours */
        s.rgb[i][i % 3] = 1;
    s.rgb[3][1] = 1; /* yellow */
    s.radius = 8;
    s.alpha = 0.7;
    s.pcutoff = 0.6;
    s.skeleton = skel;
    s.n_skeleton = 4;
    s.line_width = 2;
    return s;
}

/* n frames of a mouse walking a circle in a 640x480 frame; every 10th snout below pcutoff,
 * a NaN now and then. New array (caller frees). */
static double *walk(int64_t n)
{
    double *xyl = malloc((size_t)n * 4 * 3 * sizeof(double));
    int64_t f;
    int p;

    assert_non_null(xyl);
    for (f = 0; f < n; f++) {
        double a = 2 * M_PI * (double)f / 300, cx = 320 + 150 * cos(a), cy = 240 + 120 * sin(a);
        for (p = 0; p < 4; p++) {
            double *q = xyl + (f * 4 + p) * 3;
            q[0] = cx + 20 * cos(a + p * 1.5) + (double)(f % 7) - 3;
            q[1] = cy + 20 * sin(a + p * 1.5) + (double)(f % 5) - 2;
            q[2] = 0.7 + 0.3 * sin((double)f / 40 + p);
        }
        if (f % 10 == 0)
            xyl[f * 12 + 2] = 0.1;
        if (f % 97 == 0)
            xyl[f * 12 + 3] = NAN;
    }
    return xyl;
}

static pose_track track(const double *xyl, int64_t n)
{
    pose_track t = {0};

    t.n_frames = n;
    t.n_parts = 4;
    t.xyl = xyl;
    t.names = NAMES;
    t.width = 640;
    t.height = 480;
    return t;
}

/* A path in the fixture's folder, or in $VAS_PLOT_DIR to keep it. */
static const char *out(tu_dir_fx *fx, const char *name)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    const char *keep = getenv("VAS_PLOT_DIR");

    if (keep) {
        snprintf(fx->path, sizeof(fx->path), "%s/%s", keep, name);
        return fx->path;
    }
    return tu_dir_file(fx, name);
}

typedef struct png_info {
    int w, h;
    long non_white; /* pixels not pure white */
    long colour;    /* pixels within ±3 of the colour asked for */
} png_info;

static png_info png_read(const char *path, const double rgb[3])
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    png_info r = {0};
    const uint8_t *px;
    int x, y, stride;

    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        fail_msg("cannot read %s back as PNG", path);
    r.w = cairo_image_surface_get_width(s);
    r.h = cairo_image_surface_get_height(s);
    px = cairo_image_surface_get_data(s);
    stride = cairo_image_surface_get_stride(s);
    for (y = 0; y < r.h; y++)
        for (x = 0; x < r.w; x++) {
            uint32_t v;
            int c[3];
            memcpy(&v, px + (size_t)y * stride + 4 * x, 4);
            c[0] = (v >> 16) & 0xff, c[1] = (v >> 8) & 0xff, c[2] = v & 0xff;
            if ((v & 0xffffff) != 0xffffff)
                r.non_white++;
            if (rgb && abs(c[0] - (int)(255 * rgb[0])) <= 3 &&
                abs(c[1] - (int)(255 * rgb[1])) <= 3 && abs(c[2] - (int)(255 * rgb[2])) <= 3)
                r.colour++;
        }
    cairo_surface_destroy(s);
    return r;
}

/* The colour c at alpha a over white. */
static void over_white(const double c[3], double a, double rgb[3])
{
    int i;

    for (i = 0; i < 3; i++)
        rgb[i] = 1 - a + c[i] * a;
}

static void three_plots_written(void **state)
{
    tu_dir_fx *fx = *state;
    pose_style s = style4();
    double *xyl = walk(1200), blend[3];
    pose_track t = track(xyl, 1200);
    vas_err e = {0};
    png_info in;
    const char *p;

    over_white(s.rgb[2], s.alpha, blend);
    p = out(fx, "trajectory.png");
    assert_int_equal(pose_plot_trajectories(&t, &s, p, &e), VAS_OK);
    in = png_read(p, s.rgb[2]);
    assert_int_equal(in.w, POSE_PLOT_W);
    assert_int_equal(in.h, POSE_PLOT_H);
    assert_true(in.non_white > 20000);
    assert_true(in.colour > 50);                  /* the legend's swatch of rightear */
    assert_true(png_read(p, blend).colour > 200); /* its path at alpha */
    p = out(fx, "plot-likelihood.png");
    t.fps = 30;
    assert_int_equal(pose_plot_likelihood(&t, &s, p, &e), VAS_OK);
    in = png_read(p, s.rgb[0]);
    assert_int_equal(in.w, POSE_PLOT_WIDE_W);
    assert_int_equal(in.h, POSE_PLOT_WIDE_H);
    assert_true(in.non_white > 10000);
    assert_true(in.colour > 30);
    p = out(fx, "hist.png");
    assert_int_equal(pose_plot_histogram(&t, &s, p, &e), VAS_OK);
    in = png_read(p, s.rgb[1]);
    assert_int_equal(in.w, POSE_PLOT_W);
    assert_true(in.non_white > 10000);
    assert_true(in.colour > 30);
    free(xyl);
}

/* DeepLabCut's fourth plot: x (dashed) and y (solid) over time, each part in its colour at alpha;
 * a part masked by pcutoff leaves no line, one exactly at pcutoff is drawn (DLC masks < pcutoff).
 */
static void positions_plot(void **state)
{
    tu_dir_fx *fx = *state;
    pose_style s = style4();
    double *xyl = walk(600), blend[4][3];
    pose_track t = track(xyl, 600);
    vas_err e = {0};
    png_info in;
    const char *p;
    int i;

    for (i = 0; i < 4; i++)
        over_white(s.rgb[i], s.alpha, blend[i]);
    p = out(fx, "plot.png");
    t.fps = 30;
    assert_int_equal(pose_plot_positions(&t, &s, p, &e), VAS_OK);
    in = png_read(p, s.rgb[2]);
    assert_int_equal(in.w, POSE_PLOT_WIDE_W);
    assert_int_equal(in.h, POSE_PLOT_WIDE_H);
    assert_true(in.non_white > 10000);
    assert_true(in.colour > 30); /* rightear's legend swatch */
    for (i = 0; i < 4; i++)      /* every part's lines, at alpha over white */
        assert_true(png_read(p, blend[i]).colour > 60);
    /* leftear below pcutoff throughout: its swatch stays, its lines go */
    for (i = 0; i < 600; i++)
        xyl[(i * 4 + 1) * 3 + 2] = 0.59;
    assert_int_equal(pose_plot_positions(&t, &s, out(fx, "plot-masked.png"), &e), VAS_OK);
    assert_true(png_read(fx->path, s.rgb[1]).colour > 30);
    assert_true(png_read(fx->path, blend[1]).colour < 5);
    assert_true(png_read(fx->path, blend[0]).colour > 60);
    /* exactly at pcutoff: shown */
    for (i = 0; i < 600; i++)
        xyl[(i * 4 + 1) * 3 + 2] = s.pcutoff;
    assert_int_equal(pose_plot_positions(&t, &s, out(fx, "plot-at.png"), &e), VAS_OK);
    assert_true(png_read(fx->path, blend[1]).colour > 60);
    /* nothing shown: axes and a note; no frames: refused */
    for (i = 0; i < 600 * 4; i++)
        xyl[3 * i + 2] = 0.1;
    assert_int_equal(pose_plot_positions(&t, &s, out(fx, "plot-empty.png"), &e), VAS_OK);
    in = png_read(fx->path, blend[0]);
    assert_true(in.non_white > 3000);
    assert_true(in.colour < 5);
    t.n_frames = 0;
    assert_int_equal(pose_plot_positions(&t, &s, out(fx, "none.png"), &e), VAS_EINVAL);
    free(xyl);
}

static void no_frames_refused(void **state)
{
    tu_dir_fx *fx = *state;
    pose_style s = style4();
    double xyl[12] = {0};
    pose_track t = track(xyl, 0);
    vas_err e = {0};
    const char *p = tu_dir_file(fx, "none.png");

    assert_int_equal(pose_plot_trajectories(&t, &s, p, &e), VAS_EINVAL);
    assert_int_equal(pose_plot_likelihood(&t, &s, p, &e), VAS_EINVAL);
    assert_int_equal(pose_plot_histogram(&t, &s, p, &e), VAS_EINVAL);
    t.n_frames = 1;
    t.n_parts = 3; /* the style has 4 */
    assert_int_equal(pose_plot_trajectories(&t, &s, p, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "bodyparts"));
    assert_int_equal(tu_count_files(fx->dir), 0);
}

/* Everything below pcutoff or NaN: plots with axes and a note, no crash. */
static void nothing_to_show(void **state)
{
    tu_dir_fx *fx = *state;
    pose_style s = style4();
    double *xyl = walk(50);
    pose_track t = track(xyl, 50);
    vas_err e = {0};
    int i;

    for (i = 0; i < 50 * 4; i++) {
        xyl[3 * i + 2] = i % 2 ? 0.1 : NAN;
        xyl[3 * i] = i % 3 ? xyl[3 * i] : NAN;
    }
    assert_int_equal(pose_plot_trajectories(&t, &s, out(fx, "empty-traj.png"), &e), VAS_OK);
    assert_true(png_read(fx->path, NULL).non_white > 3000); /* axes, labels, legend, note */
    assert_int_equal(pose_plot_histogram(&t, &s, out(fx, "empty-hist.png"), &e), VAS_OK);
    assert_true(png_read(fx->path, NULL).non_white > 3000);
    for (i = 0; i < 50 * 4; i++)
        xyl[3 * i + 2] = NAN;
    assert_int_equal(pose_plot_likelihood(&t, &s, out(fx, "empty-lik.png"), &e), VAS_OK);
    assert_true(png_read(fx->path, NULL).non_white > 3000);
    /* one frame only */
    t.n_frames = 1;
    xyl[2] = 0.9;
    xyl[0] = 10;
    xyl[1] = 10;
    assert_int_equal(pose_plot_likelihood(&t, &s, out(fx, "one-lik.png"), &e), VAS_OK);
    assert_int_equal(pose_plot_histogram(&t, &s, out(fx, "one-hist.png"), &e), VAS_OK);
    assert_int_equal(pose_plot_trajectories(&t, &s, out(fx, "one-traj.png"), &e), VAS_OK);
    assert_true(png_read(fx->path, s.rgb[0]).colour > 50);
    free(xyl);
}

static void unwritable_path_leaves_nothing(void **state)
{
    tu_dir_fx *fx = *state;
    pose_style s = style4();
    double *xyl = walk(10);
    pose_track t = track(xyl, 10);
    vas_err e = {0};
    char p[600];

    snprintf(p, sizeof(p), "%s/no/such/folder/t.png", fx->dir);
    assert_int_equal(pose_plot_trajectories(&t, &s, p, &e), VAS_EIO);
    assert_int_equal(tu_count_files(fx->dir), 0);
    free(xyl);
}

/* An hour at 30 fps: decimated, so all four plots take well under a second each. */
static void long_video_is_quick(void **state)
{
    tu_dir_fx *fx = *state;
    pose_style s = style4();
    int64_t n = 30 * 3600;
    double *xyl = walk(n), t0, t1;
    pose_track t = track(xyl, n);
    struct timespec ts;
    vas_err e = {0};

    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    t.fps = 30;
    assert_int_equal(pose_plot_trajectories(&t, &s, out(fx, "long-traj.png"), &e), VAS_OK);
    assert_int_equal(pose_plot_likelihood(&t, &s, out(fx, "long-lik.png"), &e), VAS_OK);
    assert_int_equal(pose_plot_histogram(&t, &s, out(fx, "long-hist.png"), &e), VAS_OK);
    assert_int_equal(pose_plot_positions(&t, &s, out(fx, "long-plot.png"), &e), VAS_OK);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t1 = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    printf("four plots of %lld frames: %.0f ms\n", (long long)n, (t1 - t0) * 1e3);
    assert_true(t1 - t0 < 20); /* generous for sanitizer builds */
    assert_true(png_read(fx->path, s.rgb[3]).colour > 30);
    free(xyl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(three_plots_written, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(positions_plot, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(no_frames_refused, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(nothing_to_show, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(unwritable_path_leaves_nothing, tu_dir_setup,
                                        tu_dir_teardown),
        cmocka_unit_test_setup_teardown(long_video_is_quick, tu_dir_setup, tu_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
