/* test_label_opts.c - create_labeled_video's options on `label` (label_opts.h), each checked on
 * the drawn pixels or the frame count of a labeled video of a flat grey video with synthetic poses
 * (so what is expected does not depend on the network): draw_skeleton, displayedbodyparts,
 * trailpoints, keypoints_only, pcutoff, dotsize, alphavalue, colormap, color_by,
 * confidence_to_alpha, start/end, outputframerate; and label_opts_check's refusals of bad values
 * and the arguments it normalises. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyses/label_run.h"
#include "media/media_video.h"
#include "pose/dlc_csv.h"
#include "pose/pose_cmap.h"
#include "test_label_fx.h"
#include "test_media_enc.h"
#include "testutil.h"

#include <math.h>

#define W      320
#define H      240
#define FRAMES 12
#define GREY   LABEL_GREY

/* The fixture plus the grey video and its poses. */
static int setup(void **state)
{
    dlc_csv *w = NULL;
    vas_err e = {0};
    double xyl[12];
    fx *f;

    if (label_fx_setup(state) < 0)
        return -1;
    f = *state;
    snprintf(f->video, sizeof(f->video), "%s/grey.avi", f->d.dir);
    snprintf(f->poses, sizeof(f->poses), "%s/poses.csv", f->d.dir);
    if (label_fx_grey_video(f->video, W, H, FRAMES) != 0)
        return -1;
    pose_layout l = {.scorer = f->m->scorer,
                     .bodyparts = (const char *const *)f->m->bodyparts,
                     .n_bodyparts = f->m->n_bodyparts};
    if (dlc_csv_open(f->poses, &l, &w, &e) < 0)
        return -1;
    for (int i = 0; i < FRAMES; i++) {
        label_fx_pose_of(i, xyl);
        if (dlc_csv_add_row(w, i, NULL, xyl, &e) < 0)
            return -1;
    }
    return dlc_csv_close(w, &e) < 0 ? -1 : 0;
}

/* What a labeled video came out as: its frame count and rate, and a copy of frame k. */
typedef struct shot {
    int frames;
    double fps;
    int64_t labeled;
    uint8_t rgb[W * H * 3];
} shot;

static void run(fx *f, const label_opts *o, int k, shot *s)
{
    char prefix[600];
    label_out out = {0};
    media_video *mv = NULL;
    media_frame fr;
    vas_err e = {0};
    int rc;

    snprintf(prefix, sizeof(prefix), "%s/grey", f->d.dir);
    if (label_run_video_opts(f->m, f->video, f->poses, prefix, NULL, o, &out, &e) < 0)
        fail_msg("%s", e.msg);
    s->labeled = out.labeled_frames;
    assert_int_equal(media_video_open(out.video, NULL, &mv, &e), 0);
    s->fps = media_video_info_get(mv)->fps;
    s->frames = 0;
    while ((rc = media_video_next(mv, &fr, &e)) == 1) {
        if (fr.index == k)
            memcpy(s->rgb, fr.rgb, sizeof(s->rgb));
        s->frames++;
    }
    assert_int_equal(rc, 0);
    media_video_close(mv);
    label_out_clear(&out);
}

static int px(const shot *s, int x, int y, int c)
{
    return s->rgb[((size_t)y * W + (size_t)x) * 3 + (size_t)c];
}

/* 1 if (x, y) is the grey background. */
static int grey_at(const shot *s, int x, int y)
{
    for (int c = 0; c < 3; c++)
        if (abs(px(s, x, y, c) - GREY) > 12)
            return 0;
    return 1;
}

/* Pixels that are clearly not the background. */
static int drawn(const shot *s)
{
    int n = 0;

    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            n += !grey_at(s, x, y);
    return n;
}

/* (x, y) within 24 (a lossy codec) of rgb (0..1) at alpha over grey. */
static void colour_at(const shot *s, int x, int y, const double rgb[3], double alpha)
{
    for (int c = 0; c < 3; c++) {
        int want = (int)lround(alpha * floor(255 * rgb[c]) + (1 - alpha) * GREY);
        if (abs(px(s, x, y, c) - want) > 24)
            fail_msg("(%d, %d) channel %d: %d, want %d", x, y, c, px(s, x, y, c), want);
    }
}

static shot *new_shot(void)
{
    shot *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    return s;
}

/* label_opts_default's, by value. */
static label_opts defaults(void)
{
    label_opts o;

    label_opts_default(&o);
    return o;
}

/* Frame k with the defaults (a) and with o (b). */
typedef struct pair {
    shot a, b;
} pair;

static pair *run_pair(fx *f, const label_opts *o, int k)
{
    pair *p = calloc(1, sizeof(*p));

    assert_non_null(p);
    run(f, NULL, k, &p->a);
    run(f, o, k, &p->b);
    return p;
}

/* draw_skeleton: DeepLabCut's default is no lines; with it, snout-leftear is drawn. */
static void draw_skeleton(void **state)
{
    label_opts o = defaults();
    o.draw_skeleton = 1;
    pair *p = run_pair(*state, &o, 0);
    assert_true(grey_at(&p->a, 120, 100)); /* midway between snout (80,120) and leftear (160,80) */
    assert_true(px(&p->b, 120, 100, 1) > 180); /* white at alpha 0.7 over grey: ~217 */
    assert_true(drawn(&p->b) > drawn(&p->a));
    free(p);
}

/* displayedbodyparts: the ears hidden, the snout still drawn. */
static void displayedbodyparts(void **state)
{
    label_opts o = defaults();
    o.hide[1] = o.hide[2] = 1;
    pair *p = run_pair(*state, &o, 0);
    assert_false(grey_at(&p->a, 160, 80));
    assert_true(grey_at(&p->b, 160, 80));
    assert_true(grey_at(&p->b, 160, 160));
    assert_false(grey_at(&p->b, 80, 120));
    assert_true(drawn(&p->b) < drawn(&p->a));
    free(p);
}

/* trailpoints 5: the snout also at its 4 previous places (frame 8: x = 108, 104, 100, 96). */
static void trailpoints(void **state)
{
    label_opts o = defaults();
    o.trailpoints = 5;
    pair *p = run_pair(*state, &o, 8);
    assert_true(grey_at(&p->a, 92, 120));  /* 20 px behind the snout at 112 */
    assert_false(grey_at(&p->b, 92, 120)); /* within 8 px of 96 */
    assert_true(grey_at(&p->b, 84, 120));  /* 12 px behind the oldest */
    assert_true(drawn(&p->b) > drawn(&p->a));
    free(p);
}

/* keypoints_only: the dots on black. */
static void keypoints_only(void **state)
{
    label_opts o = defaults();
    o.keypoints_only = 1;
    pair *p = run_pair(*state, &o, 0);
    const shot *s = &p->b;
    assert_true(grey_at(&p->a, 5, 5));
    for (int c = 0; c < 3; c++) {
        assert_true(px(s, 5, 5, c) < 20);
        assert_true(px(s, 300, 220, c) < 20);
    }
    assert_true(px(s, 80, 120, 0) > 40 || px(s, 80, 120, 2) > 40); /* the snout's purple */
    free(p);
}

/* pcutoff 0.05 shows the tail base (likelihood 0.1), the model's 0.4 does not. */
static void pcutoff(void **state)
{
    label_opts o = defaults();
    o.pcutoff = 0.05;
    pair *p = run_pair(*state, &o, 0);
    assert_true(grey_at(&p->a, 250, 120));
    assert_false(grey_at(&p->b, 250, 120));
    free(p);
}

/* dotsize 20: pixels 14 px from a part are drawn, not with the model's 8. */
static void dotsize(void **state)
{
    label_opts o = defaults();
    o.dotsize = 20;
    pair *p = run_pair(*state, &o, 0);
    assert_true(grey_at(&p->a, 160, 94));
    assert_false(grey_at(&p->b, 160, 94));
    assert_true(drawn(&p->b) > 4 * drawn(&p->a));
    free(p);
}

/* alphavalue, colormap, color_by and confidence_to_alpha: the colour at a part's centre. */
static void colours(void **state)
{
    fx *f = *state;
    shot *s = new_shot();
    label_opts o;
    double c0[3], jet[3], ear[3];
    vas_err e = {0};

    assert_int_equal(pose_cmap_color("rainbow", 0, 4, c0, &e), 0);
    assert_int_equal(pose_cmap_color("rainbow", 1, 4, ear, &e), 0);
    label_opts_default(&o);
    o.alphavalue = 1;
    run(f, &o, 0, s);
    colour_at(s, 80, 120, c0, 1);
    colour_at(s, 160, 80, ear, 1);
    label_opts_default(&o);
    snprintf(o.colormap, sizeof(o.colormap), "jet");
    assert_int_equal(pose_cmap_color("jet", 1, 4, jet, &e), 0);
    run(f, &o, 0, s);
    colour_at(s, 160, 80, jet, 0.7);
    label_opts_default(&o);
    o.one_colour = 1; /* color_by individual: one animal, one colour */
    run(f, &o, 0, s);
    colour_at(s, 160, 80, c0, 0.7);
    label_opts_default(&o);
    o.confidence_to_alpha = 1; /* (0.95 - 0.4) / 0.6 and (0.9 - 0.4) / 0.6 */
    run(f, &o, 0, s);
    colour_at(s, 80, 120, c0, 0.55 / 0.6);
    colour_at(s, 160, 80, ear, 0.5 / 0.6);
    free(s);
}

/* start/end pick frames floor(12 * 0.25) = 3 to ceil(12 * 0.5) - 1 = 5; outputframerate sets
 * the rate of all 12. */
static void start_end_outputframerate(void **state)
{
    fx *f = *state;
    shot *s = new_shot();
    label_opts o;

    label_opts_default(&o);
    o.start = 0.25;
    o.end = 0.5;
    run(f, &o, 0, s);
    assert_int_equal(s->frames, 3);
    assert_int_equal(s->labeled, 3);
    assert_true(px(s, 92, 120, 0) != GREY || px(s, 92, 120, 2) != GREY); /* frame 3's snout */
    label_opts_default(&o);
    o.outputframerate = 5;
    run(f, &o, 0, s);
    assert_int_equal(s->frames, FRAMES);
    assert_true(fabs(s->fps - 5) < 0.01);
    free(s);
}

/* Bad values: VAS_EINVAL naming the field; good ones normalised into args. */
static void check_values(void **state)
{
    fx *f = *state;
    static const char *const bad[][2] = {
        {"pcutoff", "1.5"},         {"pcutoff", "abc"},
        {"dotsize", "-1"},          {"alphavalue", "2"},
        {"trailpoints", "2.5"},     {"trailpoints", "5000"},
        {"draw_skeleton", "maybe"}, {"keypoints_only", "2"},
        {"colormap", "nosuchmap"},  {"color_by", "animal"},
        {"start", "-0.1"},          {"end", "1.2"},
        {"outputframerate", "0"},   {"confidence_to_alpha", "x"},
        {"displayedbodyparts", ""}, {"displayedbodyparts", "snout,nose"},
    };
    vas_err e = {0};
    json_t *fields, *args;
    label_opts o;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fields = json_pack("{s:s}", bad[i][0], bad[i][1]);
        args = json_object();
        assert_int_equal(label_opts_check(f->m, fields, args, &e), VAS_EINVAL);
        if (!strstr(e.msg, bad[i][0]))
            fail_msg("%s=%s: %s", bad[i][0], bad[i][1], e.msg);
        json_decref(fields);
        json_decref(args);
    }
    fields = json_pack("{s:s, s:s}", "start", "0.6", "end", "0.5");
    args = json_object();
    assert_int_equal(label_opts_check(f->m, fields, args, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "start"));
    json_decref(fields);
    json_decref(args);
    fields = json_pack("{s:s, s:s, s:i, s:b, s:s, s:s}", "displayedbodyparts", "snout, tailbase",
                       "trailpoints", "3", "dotsize", 5, "draw_skeleton", 1, "color_by",
                       "individual", "colormap", "jet");
    args = json_object();
    assert_int_equal(label_opts_check(f->m, fields, args, &e), VAS_OK);
    assert_int_equal(json_integer_value(json_object_get(args, "trailpoints")), 3);
    assert_int_equal(json_array_size(json_object_get(args, "displayedbodyparts")), 2);
    assert_int_equal(label_opts_from_args(f->m, args, &o, &e), VAS_OK);
    assert_int_equal(o.trailpoints, 3);
    assert_true(o.draw_skeleton && o.one_colour);
    assert_true(fabs(o.dotsize - 5) < 1e-12);
    assert_string_equal(o.colormap, "jet");
    assert_true(!o.hide[0] && o.hide[1] && o.hide[2] && !o.hide[3]);
    json_decref(fields);
    json_decref(args);
}

int main(void)
{
    media_log_setup();
    const struct CMUnitTest tests[] = {
        LABEL_TEST(draw_skeleton, setup), LABEL_TEST(displayedbodyparts, setup),
        LABEL_TEST(trailpoints, setup),   LABEL_TEST(keypoints_only, setup),
        LABEL_TEST(pcutoff, setup),       LABEL_TEST(dotsize, setup),
        LABEL_TEST(colours, setup),       LABEL_TEST(start_end_outputframerate, setup),
        LABEL_TEST(check_values, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
