/* test_pose_draw.c - matplotlib colormaps and colour specs against values worked out by hand
 * from their definitions, styles from a real model bundle, poses drawn on synthetic grey
 * frames checked pixel by pixel (alpha blends within ±2 per channel), and the 3D panel
 * (pose_view3d.h). VAS_PLOT_DIR=<folder> keeps the 3D panel there as view3d.png. */
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
#include "pose/pose_cmap.h"
#include "pose/pose_draw.h"
#include "pose/pose_model.h"
#include "pose/pose_view3d.h"

#define W  200
#define H  150
#define BG 128

static void assert_rgb(const double got[3], double r, double g, double b)
{
    if (fabs(got[0] - r) > 1e-9 || fabs(got[1] - g) > 1e-9 || fabs(got[2] - b) > 1e-9)
        fail_msg("got (%.12g, %.12g, %.12g), want (%.12g, %.12g, %.12g)", got[0], got[1], got[2], r,
                 g, b);
}

/* ---- colormaps ---- */

static void rainbow_and_jet_match_matplotlib(void **state)
{
    double c[3], x = 128.0 / 255;
    vas_err e = {0};

    (void)state;
    assert_int_equal(pose_cmap_lut("rainbow", 0, c, &e), VAS_OK);
    assert_rgb(c, 0.5, 0, 1);
    assert_int_equal(pose_cmap_lut("rainbow", 255, c, &e), VAS_OK);
    assert_rgb(c, 1, sin(M_PI), cos(M_PI / 2)); /* (1, ~1e-16, ~6e-17) */
    /* gnuplot formulas 33, 13, 10 at x = 128/255 */
    assert_int_equal(pose_cmap_lut("rainbow", 128, c, &e), VAS_OK);
    assert_rgb(c, fabs(2 * x - 0.5), sin(M_PI * x), cos(M_PI * x / 2));
    assert_int_equal(pose_cmap_lut("jet", 0, c, &e), VAS_OK);
    assert_rgb(c, 0, 0, 0.5);
    assert_int_equal(pose_cmap_lut("jet", 255, c, &e), VAS_OK);
    assert_rgb(c, 0.5, 0, 0);
    /* matplotlib: cm.jet(0.5) = (0.49019607843137253, 1.0, 0.4775458570524984) */
    assert_int_equal(pose_cmap_lut("jet", 128, c, &e), VAS_OK);
    assert_rgb(c, (x - 0.35) / 0.31, 1, 1 - (x - 0.34) / 0.31);
    assert_true(fabs(c[2] - 0.4775458570524984) < 1e-12);
    /* entry 85 of jet (x = 1/3): red 0, green on its 0.125..0.375 ramp, blue flat at 1 */
    assert_int_equal(pose_cmap_lut("jet", 85, c, &e), VAS_OK);
    assert_rgb(c, 0, (1.0 / 3 - 0.125) / 0.25, 1);
    assert_int_equal(pose_cmap_lut("hsv", 0, c, &e), VAS_OK);
    assert_rgb(c, 1, 0, 0);
    assert_int_equal(pose_cmap_lut("jet_r", 0, c, &e), VAS_OK);
    assert_rgb(c, 0.5, 0, 0);
    assert_int_equal(pose_cmap_lut("cool", 255, c, &e), VAS_OK);
    assert_rgb(c, 1, 0, 1);
    assert_int_equal(pose_cmap_lut("summer", 0, c, &e), VAS_OK);
    assert_rgb(c, 0, 0.5, 0.4);
}

static void bodypart_index_like_dlc(void **state)
{
    double c[3];
    vas_err e = {0};

    (void)state;
    assert_int_equal(pose_cmap_index(0, 4), 0);
    assert_int_equal(pose_cmap_index(1, 4), 85);
    assert_int_equal(pose_cmap_index(2, 4), 170);
    assert_int_equal(pose_cmap_index(3, 4), 255);
    assert_int_equal(pose_cmap_index(0, 1), 0);
    assert_int_equal(pose_cmap_index(1, 2), 255);
    assert_int_equal(pose_cmap_index(1, 3), 128);
    assert_int_equal(pose_cmap_index(5, 11), 128);
    assert_int_equal(pose_cmap_color("rainbow", 0, 1, c, &e), VAS_OK);
    assert_rgb(c, 0.5, 0, 1);
}

static void unknown_colormap_lists_names(void **state)
{
    double c[3];
    vas_err e = {0};

    (void)state;
    assert_int_equal(pose_cmap_lut("parula", 0, c, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "parula"));
    assert_non_null(strstr(e.msg, "rainbow"));
    assert_non_null(strstr(e.msg, "jet"));
    assert_int_equal(pose_cmap_lut(NULL, 0, c, &e), VAS_EINVAL);
    assert_int_equal(pose_cmap_lut("jet", 256, c, &e), VAS_EINVAL);
}

static void colour_specs_parse(void **state)
{
    double c[3];
    vas_err e = {0};

    (void)state;
    assert_int_equal(pose_color_parse("black", c, &e), VAS_OK);
    assert_rgb(c, 0, 0, 0);
    assert_int_equal(pose_color_parse("Red", c, &e), VAS_OK);
    assert_rgb(c, 1, 0, 0);
    assert_int_equal(pose_color_parse("grey", c, &e), VAS_OK);
    assert_rgb(c, 128 / 255.0, 128 / 255.0, 128 / 255.0);
    assert_int_equal(pose_color_parse("g", c, &e), VAS_OK);
    assert_rgb(c, 0, 128 / 255.0, 0);
    assert_int_equal(pose_color_parse("#ff8000", c, &e), VAS_OK);
    assert_rgb(c, 1, 128 / 255.0, 0);
    assert_int_equal(pose_color_parse("#f80", c, &e), VAS_OK);
    assert_rgb(c, 1, 136 / 255.0, 0);
    assert_int_equal(pose_color_parse("C0", c, &e), VAS_OK);
    assert_rgb(c, 0x1f / 255.0, 0x77 / 255.0, 0xb4 / 255.0);
    assert_int_equal(pose_color_parse("0.25", c, &e), VAS_OK);
    assert_rgb(c, 0.25, 0.25, 0.25);
    assert_int_equal(pose_color_parse("K", c, &e), VAS_EINVAL);
    assert_int_equal(pose_color_parse("#12345", c, &e), VAS_EINVAL);
    assert_int_equal(pose_color_parse("1.5", c, &e), VAS_EINVAL);
    assert_int_equal(pose_color_parse("mouse", c, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "mouse"));
}

/* ---- styles ---- */

static void style_from_openfield(void **state)
{
    pose_model *m = NULL;
    pose_style s;
    vas_err e = {0};

    (void)state;
    if (pose_model_load("openfield", "models/openfield/config.yaml", 0, &m, &e) != VAS_OK)
        fail_msg("pose_model_load: %s (run from the repository root)", e.msg);
    assert_int_equal(pose_style_init(&s, m, &e), VAS_OK);
    assert_int_equal(s.n_parts, 4);
    /* colormap rainbow (gnuplot 33, 13, 10: |2x - 0.5|, sin(pi x), cos(pi x / 2)), entries 0, 85,
     * 170, 255 (x = k / 255), each floor(255·c)/255 */
    assert_rgb(s.rgb[0], 127 / 255.0, 0, 1);
    assert_rgb(s.rgb[1], floor(255 * (1.0 / 6)) / 255, floor(255 * sin(M_PI / 3)) / 255,
               floor(255 * cos(M_PI / 6)) / 255);
    assert_rgb(s.rgb[3], 1, 0, 0);
    assert_true(s.radius == 8);
    assert_true(s.alpha == 0.7);
    assert_true(s.pcutoff == 0.4);
    assert_int_equal(s.n_skeleton, 4);
    assert_ptr_equal(s.skeleton, m->skeleton);
    assert_int_equal(s.skeleton[3][0], 2); /* rightear - tailbase */
    assert_int_equal(s.skeleton[3][1], 3);
    assert_rgb(s.skel_rgb, 1, 1, 1);
    assert_true(fabs(s.line_width - 8.0 / 3) < 1e-12);
    free(m->colormap);
    m->colormap = strdup("parula"); /* MATLAB's map, not matplotlib's */
    assert_int_equal(pose_style_init(&s, m, &e), VAS_EINVAL);
    pose_model_free(m);
}

/* ---- drawing ---- */

typedef struct frame {
    int stride;
    uint8_t *px;
} frame;

static frame grey_frame(int w, int h)
{
    frame f;

    f.stride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, w);
    f.px = aligned_alloc(4, (size_t)f.stride * h);
    assert_non_null(f.px);
    memset(f.px, BG, (size_t)f.stride * h);
    return f;
}

/* channel c (0 r, 1 g, 2 b) of pixel (x, y) */
static int chan(const frame *f, int x, int y, int c)
{
    uint32_t v;

    memcpy(&v, f->px + (size_t)y * f->stride + 4 * x, 4);
    return (int)((v >> (16 - 8 * c)) & 0xff);
}

static int is_bg(const frame *f, int x, int y)
{
    return chan(f, x, y, 0) == BG && chan(f, x, y, 1) == BG && chan(f, x, y, 2) == BG;
}

/* pixel (x, y) = rgb at alpha a over under (NULL: the grey background), ±2 */
static void assert_over(const frame *f, int x, int y, const double rgb[3], double a,
                        const double under[3])
{
    int c;

    for (c = 0; c < 3; c++) {
        double bg = under ? 255 * under[c] : BG;
        double want = bg * (1 - a) + 255 * rgb[c] * a;
        if (fabs(chan(f, x, y, c) - want) > 2)
            fail_msg("pixel (%d,%d) channel %d is %d, want %.1f", x, y, c, chan(f, x, y, c), want);
    }
}

static pose_style test_style(int (*skel)[2], int n_skel)
{
    pose_style s = {0};

    s.n_parts = 4;
    s.rgb[0][0] = 1;               /* red */
    s.rgb[1][1] = 1;               /* green */
    s.rgb[2][2] = 1;               /* blue */
    s.rgb[3][0] = s.rgb[3][1] = 1; /* yellow */
    s.radius = 6;
    s.alpha = 0.7;
    s.pcutoff = 0.5;
    s.skeleton = skel;
    s.n_skeleton = n_skel;
    s.skel_rgb[2] = 1; /* blue lines */
    s.line_width = 3;
    return s;
}

/* 1 if (x, y) is within r of (cx, cy) */
static int near(int x, int y, double cx, double cy, double r)
{
    return (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
}

static void dots_blend_and_cutoff(void **state)
{
    pose_style s = test_style(NULL, 0);
    frame f = grey_frame(W, H);
    /* part 1 sits exactly at pcutoff (not drawn), part 2 is NaN */
    const double xyl[] = {40, 30, 0.9, 100, 50, 0.5, NAN, 20, 0.99, 150, 100, 0.95};
    vas_err e = {0};
    int x, y, changed = 0;

    (void)state;
    assert_int_equal(pose_draw(&s, f.px, W, H, f.stride, xyl, &e), VAS_OK);
    assert_over(&f, 40, 30, s.rgb[0], s.alpha, NULL);
    assert_over(&f, 43, 30, s.rgb[0], s.alpha, NULL); /* inside the disk, off centre */
    assert_over(&f, 150, 100, s.rgb[3], s.alpha, NULL);
    assert_true(is_bg(&f, 40 + 9, 30)); /* beyond the radius */
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++) {
            int in = near(x, y, 40, 30, s.radius + 1) || near(x, y, 150, 100, s.radius + 1);
            if (!is_bg(&f, x, y)) {
                changed++;
                if (!in)
                    fail_msg("pixel (%d,%d) changed outside the drawn disks", x, y);
            }
        }
    /* two disks of radius 6: about 2·π·36 pixels */
    assert_in_range(changed, 2 * 100, 2 * 140);
    free(f.px);
}

static void skeleton_joins_shown_parts(void **state)
{
    int skel[][2] = {{0, 1}, {0, 2}, {1, 3}};
    pose_style s = test_style(skel, 3);
    frame f = grey_frame(W, H);
    /* 0 and 1 shown; 2 below pcutoff; 3 NaN likelihood */
    const double xyl[] = {20, 20, 0.9, 120, 20, 0.8, 20, 120, 0.1, 120, 120, NAN};
    double line[3];
    vas_err e = {0};
    int y, c;

    (void)state;
    assert_int_equal(pose_draw(&s, f.px, W, H, f.stride, xyl, &e), VAS_OK);
    assert_over(&f, 70, 20, s.skel_rgb, s.alpha, NULL); /* midpoint of 0-1 */
    assert_true(is_bg(&f, 70, 23));                     /* line is 3 px wide: rows 19..21 */
    for (y = 30; y < 120; y++) {
        assert_true(is_bg(&f, 20, y));  /* no 0-2 line */
        assert_true(is_bg(&f, 120, y)); /* no 1-3 line */
    }
    assert_true(is_bg(&f, 20, 120)); /* no dot for 2 */
    /* the dot is drawn over the line */
    for (c = 0; c < 3; c++)
        line[c] = (BG * (1 - s.alpha) + 255 * s.skel_rgb[c] * s.alpha) / 255;
    assert_over(&f, 20, 20, s.rgb[0], s.alpha, line);
    free(f.px);
}

static void bad_frames_refused(void **state)
{
    int skel[][2] = {{0, 4}};
    pose_style s = test_style(NULL, 0);
    frame f = grey_frame(W, H);
    const double xyl[12] = {0};
    vas_err e = {0};

    (void)state;
    assert_int_equal(pose_draw(&s, f.px, W, H, 4 * W - 4, xyl, &e), VAS_EINVAL);
    assert_int_equal(pose_draw(&s, f.px, 0, H, f.stride, xyl, &e), VAS_EINVAL);
    assert_int_equal(pose_draw(&s, f.px + 1, W, H - 1, f.stride, xyl, &e), VAS_EINVAL);
    s = test_style(skel, 1);
    assert_int_equal(pose_draw(&s, f.px, W, H, f.stride, xyl, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "skeleton"));
    s = test_style(NULL, 0);
    s.alpha = 1.5;
    assert_int_equal(pose_draw(&s, f.px, W, H, f.stride, xyl, &e), VAS_EINVAL);
    free(f.px);
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* The figure in pose_draw.h: 640x480, 4 parts, 4 lines, dotsize 8. */
static void draw_time_per_frame(void **state)
{
    int skel[][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}};
    pose_style s = test_style(skel, 4);
    frame f = grey_frame(640, 480);
    double xyl[] = {300, 200, 0.9, 280, 220, 0.9, 320, 220, 0.9, 300, 300, 0.9}, t0, us;
    vas_err e = {0};
    int i, n = 2000;

    (void)state;
    s.radius = 8;
    s.line_width = 8.0 / 3;
    t0 = now_s();
    for (i = 0; i < n; i++) {
        xyl[0] = 300 + i % 7; /* move a little, like a real pose */
        assert_int_equal(pose_draw(&s, f.px, 640, 480, f.stride, xyl, &e), VAS_OK);
    }
    us = (now_s() - t0) / n * 1e6;
    printf("pose_draw: %.1f us per 640x480 frame (4 parts, 4 lines)\n", us);
    assert_true(us < 5000); /* generous: sanitizer builds are slow */
    free(f.px);
}

/* ---- 3D panel ---- */

#define PW 480
#define PH 360

/* Pixels of frame f within ±3 of colour rgb. */
static long count_rgb(const frame *f, int w, int h, const double rgb[3])
{
    long n = 0;
    int x, y;

    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            if (abs(chan(f, x, y, 0) - (int)(255 * rgb[0])) <= 3 &&
                abs(chan(f, x, y, 1) - (int)(255 * rgb[1])) <= 3 &&
                abs(chan(f, x, y, 2) - (int)(255 * rgb[2])) <= 3)
                n++;
    return n;
}

static void keep_png(const frame *f, int w, int h, const char *name)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    const char *dir = getenv("VAS_PLOT_DIR");
    cairo_surface_t *s;
    char p[512];

    if (!dir)
        return;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    s = cairo_image_surface_create_for_data(f->px, CAIRO_FORMAT_RGB24, w, h, f->stride);
    cairo_surface_write_to_png(s, p);
    cairo_surface_destroy(s);
}

static void view3d_centre_and_parts(void **state)
{
    int skel[][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}};
    pose_style s = test_style(skel, 4);
    /* a box 0..100 x 0..60 x 0..30 (mm, say) holding the track */
    const double track[] = {0, 0, 0, 100, 60, 30, 50, 30, 15, NAN, 1e9, 0};
    double pose[] = {40, 30, 10, 60, 25, 12, 60, 35, 12, 80, 30, 8}, c[3] = {50, 30, 15}, x, y;
    pose_view3d v;
    frame f = grey_frame(PW, PH);
    vas_err e = {0};
    long white = 0, blue;
    int i;

    (void)state;
    assert_int_equal(pose_view3d_init(&v, track, 4, PW, PH, &e), VAS_OK);
    assert_true(pose_view3d_project(&v, c, &x, &y));
    assert_true(fabs(x - PW / 2.0) < 1 && fabs(y - PH / 2.0) < 1);
    /* z is up on screen; every box corner is inside the panel */
    assert_true(pose_view3d_project(&v, (double[]){50, 30, 30}, &x, &y) && y < PH / 2.0);
    for (i = 0; i < 8; i++) {
        double p[3] = {i & 1 ? 100 : 0, i & 2 ? 60 : 0, i & 4 ? 30 : 0};
        assert_true(pose_view3d_project(&v, p, &x, &y));
        assert_in_range((long)x, 0, PW - 1);
        assert_in_range((long)y, 0, PH - 1);
    }
    assert_int_equal(pose_view3d_draw(&v, &s, f.px, PW, PH, f.stride, pose, &e), VAS_OK);
    keep_png(&f, PW, PH, "view3d.png");
    white = count_rgb(&f, PW, PH, (double[]){1, 1, 1});
    assert_true(white > PW * PH / 2);    /* cleared to white */
    assert_true(white < PW * PH - 2000); /* with grid, axes, labels, dots */
    blue = count_rgb(&f, PW, PH, s.rgb[2]);
    assert_true(blue > 50); /* part 2's dot, opaque */
    pose[6] = NAN;          /* part 2 missing: no dot, no lines to it */
    assert_int_equal(pose_view3d_draw(&v, &s, f.px, PW, PH, f.stride, pose, &e), VAS_OK);
    assert_int_equal(count_rgb(&f, PW, PH, s.rgb[2]), 0);
    assert_true(count_rgb(&f, PW, PH, s.rgb[0]) > 50);
    assert_int_equal(pose_view3d_draw(&v, &s, f.px, PW, PH - 1, f.stride, pose, &e), VAS_EINVAL);
    free(f.px);
}

static void view3d_without_points(void **state)
{
    const double nan3[] = {NAN, NAN, NAN, INFINITY, 0, 0};
    double pose[12], x, y;
    pose_style s = test_style(NULL, 0);
    pose_view3d v;
    frame f = grey_frame(PW, PH);
    vas_err e = {0};
    int i;

    (void)state;
    for (i = 0; i < 12; i++)
        pose[i] = NAN;
    assert_int_equal(pose_view3d_init(&v, nan3, 2, PW, PH, &e), VAS_OK);
    assert_true(isfinite(v.focal) && v.focal > 0);
    assert_true(pose_view3d_project(&v, (double[]){0, 0, 0}, &x, &y));
    assert_true(fabs(x - PW / 2.0) < 1 && fabs(y - PH / 2.0) < 1);
    assert_int_equal(pose_view3d_draw(&v, &s, f.px, PW, PH, f.stride, pose, &e), VAS_OK);
    assert_true(count_rgb(&f, PW, PH, (double[]){1, 1, 1}) > PW * PH / 2);
    assert_int_equal(pose_view3d_init(&v, NULL, 0, PW, PH, &e), VAS_OK);
    /* one point: a flat box is padded, the point is the centre */
    assert_int_equal(pose_view3d_init(&v, (double[]){5, 5, 5}, 1, PW, PH, &e), VAS_OK);
    assert_true(pose_view3d_project(&v, (double[]){5, 5, 5}, &x, &y));
    assert_true(fabs(x - PW / 2.0) < 1 && fabs(y - PH / 2.0) < 1);
    assert_int_equal(pose_view3d_init(&v, NULL, 0, 8, PH, &e), VAS_EINVAL);
    free(f.px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rainbow_and_jet_match_matplotlib),
        cmocka_unit_test(bodypart_index_like_dlc),
        cmocka_unit_test(unknown_colormap_lists_names),
        cmocka_unit_test(colour_specs_parse),
        cmocka_unit_test(style_from_openfield),
        cmocka_unit_test(dots_blend_and_cutoff),
        cmocka_unit_test(skeleton_joins_shown_parts),
        cmocka_unit_test(bad_frames_refused),
        cmocka_unit_test(draw_time_per_frame),
        cmocka_unit_test(view3d_centre_and_parts),
        cmocka_unit_test(view3d_without_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
