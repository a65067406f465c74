/* test_media_yuv.c - media_yuv_chw, decoded YUV straight into the model's normalised planes,
 * against the path it replaces: swscale to RGB24 (media_sws_rgb, the frame's matrix and range)
 * then media_rgb_to_chw. It does swscale's integer arithmetic, so the planes must be the same
 * bit for bit (and the poses the same): every difference is a failure.
 *
 * Synthetic frames of every format it converts (yuv420p, yuv422p, yuv444p, their yuvj forms,
 * NV12, GRAY8), each matrix and range, noise in every byte (so chroma interpolation, clipping
 * and swscale's overflow on far-illegal codes all show) at several sizes (where chroma is
 * subsampled, odd sides and sides under 8 may be declined: swscale filters those otherwise);
 * the real frames of
 * tests/fixtures/openfield/m3v1_clip.mp4 (H.264 4:4:4) and of a 4:2:0 video made here; and
 * the demo network's poses on the clip's frames both ways, through media_pipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/log.h"
#include "media/media_int.h"
#include "media/media_pipe.h"
#include "media/media_video.h"
#include "nn/nn.h"
#include "pose/pose_decode.h"
#include "pose/pose_model.h"

#include "test_media_enc.h"
#include "testutil.h"

#include <libavutil/pixdesc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MODEL       "models/openfield/config.yaml"
#define POSE_FRAMES 8 /* clip frames run through the network both ways */

/* ImageNet's, as the demo model's pose_cfg.yaml has them. */
static const float k_mean[3] = {0.485f, 0.456f, 0.406f}, k_std[3] = {0.229f, 0.224f, 0.225f};

/* ---- the two paths ---- */

/* Floats of a and b (n each) that differ in any bit, and the first one's index in *first. */
static size_t count_diff(const float *a, const float *b, size_t n, size_t *first)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t x, y;
        memcpy(&x, a + i, sizeof(x));
        memcpy(&y, b + i, sizeof(y));
        if (x != y && k++ == 0)
            *first = i;
    }
    return k;
}

/* Both paths on frame f (w x h at most 64x64), BGR planes or not: -1 when media_yuv_chw
 * declines f, else the floats that differ (reported). */
static long compare(const AVFrame *f, int bgr, const char *what)
{
    enum { MAX = 3 * 64 * 64 };
    int w = f->width, h = f->height, rc;
    float ref[MAX], got[MAX];
    uint8_t rgb[MAX];
    media_sws sws = {0};
    media_norm n;
    media_yuv y;
    vas_err e = {0};
    size_t k, at = 0;

    assert_true(w * h * 3 <= MAX);
    assert_int_equal(media_norm_init(&n, k_mean, k_std, bgr, &e), VAS_OK);
    assert_int_equal(media_sws_rgb(&sws, f, w, h, rgb, &e), VAS_OK);
    media_rgb_to_chw(&n, rgb, w, h, (size_t)w * 3, ref);
    /* Both of media_yuv's paths where the CPU has AVX2 (its 8-wide one, then the portable
     * one), the portable one alone elsewhere; each must give swscale's values. */
    for (int pass = 0; pass < 2; pass++) {
        media_yuv_init(&y, &n);
        if (pass == 1 && !y.avx2)
            break;
        y.avx2 = pass == 0 ? y.avx2 : 0;
        memset(got, 0, sizeof(got));
        rc = media_yuv_chw(&y, f, got, w, h, &e);
        media_yuv_free(&y);
        if (rc == 0)
            break;
        assert_int_equal(rc, 1);
        k = count_diff(ref, got, (size_t)3 * w * h, &at);
        if (k)
            break;
    }
    media_sws_free(&sws);
    if (rc == 0)
        return -1;
    if (k)
        fprintf(stderr,
                "test_media_yuv: %s: %zu values differ, first plane %zu (%zu, %zu): %.7f "
                "through RGB24, %.7f from YUV\n",
                what, k, at / ((size_t)w * h), at % w, at / w % h, (double)ref[at],
                (double)got[at]);
    return (long)k;
}

/* ---- synthetic frames ---- */

/* A new frame of fmt, w x h, with colour matrix cs and range, every byte noise from seed. */
static AVFrame *noise_frame(int fmt, int w, int h, int cs, int range, uint32_t seed)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    AVFrame *f = av_frame_alloc();

    assert_non_null(f);
    f->format = fmt;
    f->width = w;
    f->height = h;
    f->colorspace = cs;
    f->color_range = range;
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    for (int p = 0; p < 4 && f->data[p]; p++) {
        int rows = p == 0 ? h : AV_CEIL_RSHIFT(h, d->log2_chroma_h);
        for (int r = 0; r < rows; r++)
            for (int x = 0; x < f->linesize[p]; x++) {
                seed = seed * 1664525u + 1013904223u;
                f->data[p][(size_t)r * f->linesize[p] + x] = (uint8_t)(seed >> 24);
            }
    }
    return f;
}

/* 1 if media_yuv_chw may decline w x h frames of fmt: where chroma is subsampled, sides
 * under 8 or odd (swscale filters those otherwise). */
static int may_decline(int fmt, int w, int h)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);

    return (d->log2_chroma_w && (w < 8 || w % 2)) || (d->log2_chroma_h && (h < 8 || h % 2));
}

/* Every converted format, matrix and range, at even sizes (the smallest converted among
 * them) and odd ones: the same bits, or declined where may_decline allows. */
static void synthetic_formats(void **state)
{
    const int fmts[] = {AV_PIX_FMT_YUV420P,  AV_PIX_FMT_YUV422P,  AV_PIX_FMT_YUV444P,
                        AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P,
                        AV_PIX_FMT_NV12,     AV_PIX_FMT_GRAY8};
    const int spaces[] = {AVCOL_SPC_UNSPECIFIED, AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M,
                          AVCOL_SPC_BT709,       AVCOL_SPC_FCC,     AVCOL_SPC_SMPTE240M,
                          AVCOL_SPC_BT2020_NCL};
    const int ranges[] = {AVCOL_RANGE_UNSPECIFIED, AVCOL_RANGE_MPEG, AVCOL_RANGE_JPEG};
    const int sizes[][2] = {{64, 48}, {8, 8}, {6, 10}, {38, 20}, {37, 19}, {40, 7}};
    int n = 0, declined = 0;

    (void)state;
    for (size_t a = 0; a < sizeof(fmts) / sizeof(fmts[0]); a++)
        for (size_t b = 0; b < sizeof(spaces) / sizeof(spaces[0]); b++)
            for (size_t c = 0; c < sizeof(ranges) / sizeof(ranges[0]); c++)
                for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
                    int w = sizes[s][0], h = sizes[s][1];
                    AVFrame *f = noise_frame(fmts[a], w, h, spaces[b], ranges[c],
                                             (uint32_t)(a * 1000 + b * 100 + c * 10 + s));
                    char what[128];
                    long k;
                    snprintf(what, sizeof(what), "%s %s %s %dx%d", av_get_pix_fmt_name(fmts[a]),
                             av_color_space_name(spaces[b]), av_color_range_name(ranges[c]), w, h);
                    k = compare(f, (int)(a + b) % 2, what);
                    if (k < 0 && !may_decline(fmts[a], w, h))
                        fail_msg("%s: declined", what);
                    if (k > 0)
                        fail_msg("%s: %ld values differ from swscale + media_norm", what, k);
                    declined += k < 0;
                    n++;
                    av_frame_free(&f);
                }
    fprintf(stderr, "test_media_yuv: %d synthetic frames, %d identical, %d declined\n", n,
            n - declined, declined);
}

/* Formats it does not convert answer 0 and leave dst alone; so does a frame larger than dst. */
static void other_formats_declined(void **state)
{
    const int fmts[] = {AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_RGB24, AV_PIX_FMT_PAL8,
                        AV_PIX_FMT_YUV440P};
    float dst[3 * 16 * 16];
    media_norm n;
    media_yuv y;
    vas_err e = {0};

    (void)state;
    assert_int_equal(media_norm_init(&n, k_mean, k_std, 0, &e), VAS_OK);
    media_yuv_init(&y, &n);
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        AVFrame *f = noise_frame(fmts[i], 16, 16, AVCOL_SPC_UNSPECIFIED, 0, 1);
        memset(dst, 0, sizeof(dst));
        assert_int_equal(media_yuv_chw(&y, f, dst, 16, 16, &e), 0);
        for (size_t k = 0; k < sizeof(dst) / sizeof(dst[0]); k++)
            assert_true(dst[k] == 0.0f);
        av_frame_free(&f);
    }
    {
        AVFrame *f = noise_frame(AV_PIX_FMT_YUV420P, 16, 18, AVCOL_SPC_UNSPECIFIED, 0, 1);
        assert_int_equal(media_yuv_chw(&y, f, dst, 16, 16, &e), 0);
        av_frame_free(&f);
    }
    media_yuv_free(&y);
}

/* ---- real frames ---- */

/* Every frame of path both ways: the same bits. */
static void real_frames(const char *path, const char *what, int expect_fmt)
{
    media_video *v = NULL;
    media_frame fr;
    const AVFrame *raw;
    int n = 0, rc;
    vas_err e = {0};

    assert_int_equal(media_video_open(path, NULL, &v, &e), VAS_OK);
    while ((rc = media_video_next_raw(v, &fr, &raw, &e)) == 1) {
        int w = raw->width, h = raw->height;
        float *ref = malloc(sizeof(float) * 3 * w * h), *got = malloc(sizeof(float) * 3 * w * h);
        size_t at = 0;
        media_norm nm;
        media_yuv y;
        assert_non_null(ref);
        assert_non_null(got);
        assert_int_equal(raw->format, expect_fmt);
        assert_int_equal(media_norm_init(&nm, k_mean, k_std, n % 2, &e), VAS_OK);
        media_yuv_init(&y, &nm);
        assert_int_equal(media_yuv_chw(&y, raw, got, w, h, &e), 1);
        assert_int_equal(media_video_rgb(v, &fr, &e), VAS_OK);
        media_rgb_to_chw(&nm, fr.rgb, w, h, (size_t)w * 3, ref);
        if (count_diff(ref, got, (size_t)3 * w * h, &at))
            fail_msg("%s frame %d: value %zu differs", what, n, at);
        media_yuv_free(&y);
        free(got);
        free(ref);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_true(n > 0);
    fprintf(stderr, "test_media_yuv: %s: %d frames (%s), all identical\n", what, n,
            av_get_pix_fmt_name(expect_fmt));
    media_video_close(v);
}

static void openfield_clip(void **state)
{
    (void)state;
    real_frames(TU_OPENFIELD_CLIP, "openfield clip", AV_PIX_FMT_YUV444P);
}

/* A colourful picture with sharp edges and gradients: where chroma interpolation shows. */
static void paint_colour(int i, int w, int h, uint8_t *rgb, void *ctx)
{
    (void)ctx;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)((x * 255) / w);
            p[1] = (uint8_t)(((x / 7 + y / 5 + i) % 2) ? 230 : 20);
            p[2] = (uint8_t)((y * 255) / h);
        }
}

static void h264_420(void **state)
{
    tu_dir_fx *f = *state;
    tenc_video s = {
        .codec = "libx264", .w = 98, .h = 66, .frames = 10, .fps = 25, .paint = paint_colour};
    const char *path = tu_dir_file(f, "c.mp4");

    assert_int_equal(tenc_write_video(path, &s), 0);
    real_frames(path, "H.264 4:2:0", AV_PIX_FMT_YUV420P);
}

/* ---- through the pipe, and the poses ---- */

typedef struct net {
    pose_model *m;
    nn_graph *g;
    nn_session *s;
    int heat, loc;
} net;

static void net_open(net *t)
{
    vas_err e = {0};

    if (pose_model_load("openfield", MODEL, 1, &t->m, &e) < 0 ||
        pose_model_graph(t->m, &t->g, &e) < 0 || nn_session_new(t->g, NULL, &t->s, &e) < 0)
        fail_msg("the demo model: %s (run from the repo root)", e.msg);
    for (int i = 0; i < nn_graph_n_outputs(t->g); i++) {
        const char *name = NULL;
        nn_graph_output_name(t->g, i, &name);
        if (!strcmp(name, t->m->heatmap_name))
            t->heat = i;
        if (!strcmp(name, t->m->locref_name))
            t->loc = i;
    }
}

static void net_close(net *t)
{
    nn_session_free(t->s);
    nn_graph_free(t->g);
    pose_model_free(t->m);
}

/* The poses of one normalised w x h frame: xyl[3j..3j+2]. */
static void net_pose(net *t, const float *in, int w, int h, double *xyl)
{
    const float *heat, *loc;
    nn_tensor_info hi, li;
    vas_err e = {0};

    assert_int_equal(nn_session_run(t->s, in, 1, h, w, &e), VAS_OK);
    assert_int_equal(nn_session_output(t->s, t->heat, &heat, &hi, &e), VAS_OK);
    assert_int_equal(nn_session_output(t->s, t->loc, &loc, &li, &e), VAS_OK);
    pose_maps pm = {.scores = heat,
                    .locref = loc,
                    .n_joints = t->m->n_bodyparts,
                    .h = (int)hi.dims[2],
                    .w = (int)hi.dims[3],
                    .stride = t->m->stride,
                    .locref_stdev = t->m->locref_stdev};
    assert_int_equal(pose_decode(&pm, xyl, &e), VAS_OK);
}

/* The first POSE_FRAMES frames of the clip: a batch of the pipe that converts from YUV
 * (media_pose_run's) and of one that keeps the RGB24 pictures and normalises those (the
 * path before, and label's); copied out in *a and *b (caller frees). */
static void clip_batches(const net *t, float **a, float **b, int *w, int *h)
{
    media_norm n;
    vas_err e = {0};

    assert_int_equal(media_norm_init(&n, t->m->mean, t->m->std, t->m->bgr, &e), VAS_OK);
    for (int k = 0; k < 2; k++) {
        media_pipe_opts o = {.batch = POSE_FRAMES,
                             .depth = 2,
                             .layout = MEDIA_LAYOUT_CHW_F32,
                             .pad_to = t->m->pad_to,
                             .norm = &n,
                             .keep_rgb = k,
                             .threads = 1};
        media_pipe *p = NULL;
        media_batch bt;
        size_t bytes;

        assert_int_equal(media_pipe_start(TU_OPENFIELD_CLIP, &o, &p, &e), VAS_OK);
        assert_int_equal(media_pipe_take(p, &bt, &e), 1);
        assert_int_equal(bt.n, POSE_FRAMES);
        bytes = bt.frame_bytes * POSE_FRAMES;
        *(k ? b : a) = malloc(bytes);
        assert_non_null(*(k ? b : a));
        memcpy(*(k ? b : a), bt.data, bytes);
        *w = bt.width;
        *h = bt.height;
        media_pipe_release(p, &bt);
        media_pipe_free(p);
    }
}

/* Through media_pipe, the clip's first frames converted from YUV are those made through
 * RGB24 bit for bit, and so the network's poses on them are the same. */
static void poses_match(void **state)
{
    net t = {0};
    float *a = NULL, *b = NULL;
    int w = 0, h = 0, pts = 0;
    size_t at = 0;
    double xa[3 * 64], xb[3 * 64];

    (void)state;
    net_open(&t);
    assert_true(t.m->n_bodyparts <= 64);
    clip_batches(&t, &a, &b, &w, &h);
    if (count_diff(a, b, (size_t)3 * w * h * POSE_FRAMES, &at))
        fail_msg("the pipe's planes differ at value %zu", at);
    for (int i = 0; i < POSE_FRAMES; i++) {
        size_t off = (size_t)3 * w * h * i;
        net_pose(&t, a + off, w, h, xa);
        net_pose(&t, b + off, w, h, xb);
        for (int j = 0; j < 3 * t.m->n_bodyparts; j++, pts++)
            if (xa[j] != xb[j])
                fail_msg("frame %d joint %d: %.4f from YUV, %.4f through RGB", i, j / 3, xa[j],
                         xb[j]);
    }
    fprintf(stderr,
            "test_media_yuv: %d frames through media_pipe, planes and %d pose values "
            "identical\n",
            POSE_FRAMES, pts);
    free(a);
    free(b);
    net_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synthetic_formats),
        cmocka_unit_test(other_formats_declined),
        cmocka_unit_test(openfield_clip),
        cmocka_unit_test_setup_teardown(h264_420, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test(poses_match),
    };

    log_set_level(LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
