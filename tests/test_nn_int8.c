/* test_nn_int8.c - the int8 path of the nn engine (nn_options.int8): every fixture of
 * tests/fixtures/nn run in int8 against the float32 outputs PyTorch or numpy computed, and the demo
 * model (models/openfield) on the openfield clip, int8 poses against float32 ones. Real models,
 * real video decoded by FFmpeg, oneDNN's int8 kernels; nothing mocked.
 *
 * Tolerances. A fixture's int8 outputs stay within 7% of the largest expected value (max |int8 -
 * expected| / max(1, max |expected|); measured 0.1% to 3%, printed per case, but 6% for
 * op_conv_clip, whose Clip keeps [-0.5, 0.7] of a convolution ranging over +-5: the error is the
 * convolution's); a fixture with convolutions must run some in int8. On CPUs without VNNI the
 * saturation guard (nn_plan_q.c) is checked against the installed oneDNN with inputs and weights
 * that would saturate vpmaddubsw if it paired other input channels than it does. On the clip
 * (frames after the 16 that calibrate, body parts with likelihood above 0.5): median distance at
 * most 0.5 px, 95% of them within 1 px, and none more than one heatmap cell (8 px) away: the larger
 * ones are ties between neighbouring cells, where any rounding picks either (measured and printed:
 * median, 95th percentile, max). int8 needs AVX2 (oneDNN's u8 x s8 kernels); without it every test
 * here is skipped, saying so. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyses/pose_run.h"
#include "core/util.h"
#include "nn/nn.h"
#include "nn/nn_build.h"
#include "nn/nn_cpu.h"
#include "pose/pose_model.h"

#include "nn_check.h"
#include "testutil.h"

#define MAX_CASES  128
#define MODEL      "models/openfield/config.yaml"
#define CALIB      NN_INT8_FRAMES
#define MAX_FRAMES 400
#define MAX_JOINTS 8
#define CELL_PX    8.0 /* the openfield model's stride */

typedef struct nn_case {
    char name[64];
    int n, c, h, w;
    long out_floats;
} nn_case;

static nn_case cases[MAX_CASES];
static int n_cases;

static const char *fixdir(void)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    const char *d = getenv("VAS_NN_FIXTURES");
    return d ? d : "tests/fixtures/nn";
}

/* Skips (with the line tests/run-tests gathers) where int8 cannot run. */
static void need_int8(const char *name)
{
    if (nn_cpu_features() & NN_CPU_AVX2)
        return;
    print_message("skipped %s: this CPU has no %s (it has: %s)\n", name,
                  nn_cpu_feature_name(NN_CPU_AVX2), nn_cpu_describe());
    skip();
}

static float *read_floats(const char *name, const char *ext, size_t *count)
{
    char path[512];
    size_t len = 0;
    char *buf;

    snprintf(path, sizeof(path), "%s/%s%s", fixdir(), name, ext);
    buf = tu_read_file(path, &len);
    *count = len / sizeof(float);
    return (float *)buf;
}

/* n pseudo-random floats in [lo, hi) from the linear congruential state *r. */
static void fill(float *v, int n, float lo, float hi, uint32_t *r)
{
    for (int i = 0; i < n; i++) {
        *r = *r * 1664525u + 1013904223u;
        v[i] = lo + (hi - lo) * (float)(*r >> 8) / 16777216.0f;
    }
}

/* ---- the fixtures ---- */

/* Runs case c in int8 (its input calibrates, then runs again in int8) with offset u8 values as
 * zp says (NN_ZP_*); the relative max error against the expected outputs, the convolutions that
 * ran in int8 in *convs and the offset u8 values in *offsets. */
static double run_case_int8(const nn_case *c, int zp, int *convs, int *offsets)
{
    size_t n_in = 0, n_out = 0;
    float *in = read_floats(c->name, ".in.f32", &n_in);
    float *want = read_floats(c->name, ".out.f32", &n_out);
    char path[512];
    nn_graph *g = NULL;
    nn_session *s = NULL;
    nn_options opt = {.int8 = 1, .int8_frames = c->n, .int8_zp = zp};
    vas_err e = {0};
    double err;

    assert_non_null(in);
    assert_non_null(want);
    assert_int_equal(n_out, (size_t)c->out_floats);
    snprintf(path, sizeof(path), "%s/%s.onnx", fixdir(), c->name);
    if (nn_graph_load(path, &g, &e) != VAS_OK || nn_session_new(g, &opt, &s, &e) != VAS_OK)
        fail_msg("%s: %s", c->name, e.msg);
    for (int run = 0; run < 2; run++)
        if (nn_session_run(s, in, c->n, c->h, c->w, &e) != VAS_OK)
            fail_msg("run %s: %s", c->name, e.msg);
    assert_int_equal(nn_session_int8_frames(s), c->n);
    *convs = nn_session_int8_convs(s);
    *offsets = nn_session_int8_offsets(s);
    err = nn_check_rel_err(s, g, want, c->out_floats);
    nn_session_free(s);
    nn_graph_free(g);
    free(in);
    free(want);
    return err;
}

static int has_conv(const nn_case *c)
{
    char path[512];
    nn_graph *g = NULL;
    vas_err e = {0};
    char sum[4096] = "";

    snprintf(path, sizeof(path), "%s/%s.onnx", fixdir(), c->name);
    if (nn_graph_load(path, &g, &e) != VAS_OK)
        fail_msg("%s: %s", c->name, e.msg);
    nn_graph_summary(g, sum, sizeof(sum));
    nn_graph_free(g);
    return strstr(sum, "  Conv ") != NULL; /* "  Conv    3" lines; ConvTranspose stays float */
}

/* Each case as planned for this CPU, and with offset u8 values wherever they may be (NN_ZP_ON:
 * so that CPUs without VNNI run them too). */
static void agrees_int8(void **state)
{
    const nn_case *c = *state;
    int convs = 0, offsets = 0, zp_convs = 0, zp_offsets = 0;
    double err, zp_err;

    need_int8(c->name);
    err = run_case_int8(c, NN_ZP_AUTO, &convs, &offsets);
    zp_err = run_case_int8(c, NN_ZP_ON, &zp_convs, &zp_offsets);
    printf("int8 %s: relative max error %.4f, %d convolutions in int8, %d offset u8 values; "
           "with every offset allowed %.4f, %d\n",
           c->name, err, convs, offsets, zp_err, zp_offsets);
    if (err > 0.07 || zp_err > 0.07)
        fail_msg("%s: int8 relative max error %.4f (offsets allowed: %.4f) > 0.07", c->name, err,
                 zp_err);
    if (has_conv(c) && (convs == 0 || zp_convs != convs))
        fail_msg("%s: has convolutions but %d (%d) ran in int8", c->name, convs, zp_convs);
}

/* ---- offset u8 values ---- */

/* A graph where signed values meet each kind of reader: a = conv3x3(x), read by a 1x1
 * convolution and, through a residual Add fused into it, as its sum (offset: both corrections
 * in the bias); b = that sum, read by a padded 3x3 convolution too (so s8); e = conv1x1(b), read
 * by a 1x1 convolution and by an unfused Add (offset: the Add reads a float shadow, which takes
 * the zero code off). Each mode within 3% of float32; offsets exactly where they may be. */
static void offsets_where_allowed(void **state)
{
    enum { N = 2, C = 8, K = 16, H = 24, W = 40 };
    static const char *const names[3] = {"d", "f", "m"};
    int64_t w3[4] = {K, C, 3, 3}, w1[4] = {K, K, 1, 1}, wd[4] = {K, K, 3, 3};
    int64_t p1[4] = {1, 1, 1, 1}, p0[4] = {0, 0, 0, 0};
    nn_const *wa = nn_const_new(NN_F32, 4, w3), *wb = nn_const_new(NN_F32, 4, w1);
    nn_const *wdd = nn_const_new(NN_F32, 4, wd), *we = nn_const_new(NN_F32, 4, w1);
    nn_const *wf = nn_const_new(NN_F32, 4, w1);
    static float x[N * C * H * W], want[3 * N * K * H * W];
    const int modes[3] = {NN_ZP_OFF, NN_ZP_ON, NN_ZP_AUTO};
    int vnni = (nn_cpu_features() & (NN_CPU_AVX512_VNNI | NN_CPU_AVX2_VNNI)) != 0;
    nn_build *b = NULL;
    nn_graph *g = NULL;
    nn_session *s = NULL;
    uint32_t r = 777;
    vas_err e = {0};
    int out[3], in, a, bb, ee;
    long k = 0;

    (void)state;
    need_int8("offsets_where_allowed");
    fill(wa->data, (int)wa->count, -0.4f, 0.3f, &r);
    fill(wb->data, (int)wb->count, -0.3f, 0.3f, &r);
    fill(wdd->data, (int)wdd->count, -0.2f, 0.2f, &r);
    fill(we->data, (int)we->count, -0.3f, 0.35f, &r);
    fill(wf->data, (int)wf->count, -0.3f, 0.3f, &r);
    fill(x, N * C * H * W, -1.5f, 2.0f, &r);
    assert_int_equal(nn_build_new(&b, &e), VAS_OK);
    in = nn_build_input(b, "x", C);
    a = nn_build_conv(b, "a", in, wa, NULL, 1, 1, p1, 1);
    bb = nn_build_binary(b, "Add", "b", nn_build_conv(b, "a2", a, wb, NULL, 1, 1, p0, 1), a);
    out[0] = nn_build_unary(b, "Relu", "d", nn_build_conv(b, "d0", bb, wdd, NULL, 1, 1, p1, 1));
    ee = nn_build_conv(b, "e", bb, we, NULL, 1, 1, p0, 1);
    out[1] = nn_build_conv(b, "f", ee, wf, NULL, 1, 1, p0, 1);
    out[2] = nn_build_binary(b, "Add", "m", ee, ee);
    assert_int_equal(nn_build_finish(b, out, names, 3, &g, &e), VAS_OK);
    assert_int_equal(nn_session_new(g, NULL, &s, &e), VAS_OK); /* float32: the reference */
    assert_int_equal(nn_session_run(s, x, N, H, W, &e), VAS_OK);
    for (int o = 0; o < 3; o++) {
        const float *y;
        assert_int_equal(nn_session_output(s, o, &y, NULL, &e), VAS_OK);
        memcpy(want + k, y, sizeof(float) * N * K * H * W);
        k += N * K * H * W;
    }
    nn_session_free(s);
    for (int i = 0; i < 3; i++) {
        nn_options oq = {.int8 = 1, .int8_frames = N, .int8_zp = modes[i]};
        int expect = modes[i] == NN_ZP_ON || (modes[i] == NN_ZP_AUTO && vnni) ? 2 : 0;
        double err;
        assert_int_equal(nn_session_new(g, &oq, &s, &e), VAS_OK);
        for (int run = 0; run < 2; run++) /* calibrates, then runs in int8 */
            assert_int_equal(nn_session_run(s, x, N, H, W, &e), VAS_OK);
        err = nn_check_rel_err(s, g, want, k);
        print_message("offset u8 mode %d: %d offset values, %d int8 convolutions, relative max "
                      "error %.4f\n",
                      modes[i], nn_session_int8_offsets(s), nn_session_int8_convs(s), err);
        assert_int_equal(nn_session_int8_convs(s), 5);
        assert_int_equal(nn_session_int8_offsets(s), expect);
        assert_true(err < 0.03);
        nn_session_free(s);
    }
    nn_graph_free(g);
    nn_const_free(wa);
    nn_const_free(wb);
    nn_const_free(wdd);
    nn_const_free(we);
    nn_const_free(wf);
}

/* ---- options and calibration ---- */

static void options_checked(void **state)
{
    char path[512];
    nn_graph *g = NULL;
    nn_session *s = NULL;
    vas_err e = {0};
    nn_options both = {.int8 = 1, .bf16 = 1}, bad = {.int8 = 1, .int8_frames = -1};

    (void)state;
    need_int8("options_checked");
    snprintf(path, sizeof(path), "%s/op_conv_basic.onnx", fixdir());
    assert_int_equal(nn_graph_load(path, &g, &e), VAS_OK);
    assert_true(nn_session_new(g, &both, &s, &e) < 0);
    assert_null(s);
    assert_non_null(strstr(e.msg, "bf16")); /* refused for the CPU or for the pair: named */
    assert_int_equal(nn_session_new(g, &bad, &s, &e), VAS_EINVAL);
    assert_null(s);
    bad = (nn_options){.int8 = 1, .int8_zp = NN_ZP_OFF + 1};
    assert_int_equal(nn_session_new(g, &bad, &s, &e), VAS_EINVAL);
    assert_null(s);
    assert_non_null(strstr(e.msg, "zero-point"));
    nn_graph_free(g);
}

/* The first int8_frames frames run in float32 (exact), later ones in int8; recalibrating starts
 * over, with float32 again. */
static void calibrates_then_quantises(void **state)
{
    nn_case *c = NULL;
    size_t n_in = 0, n_out = 0;
    float *in, *want;
    char path[512];
    nn_graph *g = NULL;
    nn_session *s = NULL;
    nn_options opt = {.int8 = 1};
    vas_err e = {0};

    (void)state;
    need_int8("calibrates_then_quantises");
    for (int i = 0; i < n_cases; i++)
        if (strcmp(cases[i].name, "op_conv_basic") == 0)
            c = &cases[i];
    if (!c) {
        fail_msg("no op_conv_basic in %s/cases.txt", fixdir());
        return;
    }
    in = read_floats(c->name, ".in.f32", &n_in);
    want = read_floats(c->name, ".out.f32", &n_out);
    snprintf(path, sizeof(path), "%s/%s.onnx", fixdir(), c->name);
    assert_int_equal(nn_graph_load(path, &g, &e), VAS_OK);
    assert_int_equal(nn_session_new(g, &opt, &s, &e), VAS_OK);
    for (int round = 0; round < 2; round++) {
        int64_t seen = 0;
        while (seen < CALIB) { /* batches of c->n frames until NN_INT8_FRAMES are seen */
            const float *y;
            assert_int_equal(nn_session_run(s, in, c->n, c->h, c->w, &e), VAS_OK);
            seen += c->n;
            assert_int_equal(nn_session_int8_frames(s), seen);
            assert_int_equal(nn_session_int8_convs(s), 0); /* float32 while calibrating */
            assert_int_equal(nn_session_output(s, 0, &y, NULL, &e), VAS_OK);
            for (long i = 0; i < c->out_floats; i++)
                assert_true(fabsf(y[i] - want[i]) <= 1e-4f * fmaxf(1.0f, fabsf(want[i])));
        }
        assert_int_equal(nn_session_run(s, in, c->n, c->h, c->w, &e), VAS_OK);
        assert_int_equal(nn_session_int8_convs(s), 1);
        nn_session_recalibrate(s);
        assert_int_equal(nn_session_int8_frames(s), 0);
    }
    nn_session_free(s);
    nn_graph_free(g);
    free(in);
    free(want);
}

/* ---- the input's quantisation ---- */

/* The input of an int8 plan quantised by its own step (nn_input.c; AVX-512, or AVX2 under
 * ONEDNN_MAX_CPU_ISA=AVX2 as in CI's AVX2 subset), checked exactly: a 1x1 convolution whose weights
 * copy the three channels (in a rotated order) gives q(x) * scale, q = round_even(clamp(x / scale))
 * from the calibrated range, so a value off by one step (1/127 of the range) or taken from another
 * pixel or channel fails. Two images of 333x251 (each two of its 64K-pixel pieces and a tail of 15
 * pixels). Without VNNI oneDNN halves s8 sources' weights (127 -> 64, nn_plan_q.c), so there a
 * channel's values are all 64 / 63.5 of q(x) * scale: each channel's factor is read off its
 * largest value, and every value must be that factor times q(x) * scale. */
static void input_quantised_exactly(void **state)
{
    enum { N = 2, C = 3, H = 251, W = 333 };
    static const char *const names[1] = {"y"};
    int64_t wd[4] = {C, C, 1, 1}, pads[4] = {0, 0, 0, 0};
    nn_const *w = nn_const_new(NN_F32, 4, wd);
    nn_options oq = {.int8 = 1, .int8_frames = N};
    nn_build *b = NULL;
    nn_graph *g = NULL;
    nn_session *s = NULL;
    float *x = malloc(sizeof(float) * N * C * H * W), amax = 0, sc, k;
    const float *y;
    uint32_t r = 12345;
    vas_err e = {0};
    int in, out;

    (void)state;
    need_int8("input_quantised_exactly");
    assert_non_null(w);
    assert_non_null(x);
    for (int o = 0; o < C; o++) /* output o = input (o + 1) % 3 */
        for (int i = 0; i < C; i++)
            ((float *)w->data)[o * C + i] = i == (o + 1) % C ? 1.0f : 0.0f;
    fill(x, N * C * H * W, -1.5f, 2.0f, &r);
    for (int i = 0; i < N * C * H * W; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    assert_int_equal(nn_build_new(&b, &e), VAS_OK);
    in = nn_build_input(b, "x", C);
    out = nn_build_conv(b, "conv", in, w, NULL, 1, 1, pads, 1);
    assert_int_equal(nn_build_finish(b, &out, names, 1, &g, &e), VAS_OK);
    assert_int_equal(nn_session_new(g, &oq, &s, &e), VAS_OK);
    for (int run = 0; run < 2; run++) /* calibrates, then runs in int8 */
        assert_int_equal(nn_session_run(s, x, N, H, W, &e), VAS_OK);
    assert_int_equal(nn_session_int8_convs(s), 1);
    assert_int_equal(nn_session_int8_input(s), 1); /* int8 needs AVX2, and so does the step */
    assert_int_equal(nn_session_output(s, 0, &y, NULL, &e), VAS_OK);
    sc = amax / 127.0f;
    k = 1.0f / sc;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < C; o++) {
            const float *xc = x + (n * C + (o + 1) % C) * H * W, *yc = y + (n * C + o) * H * W;
            float f = 0, big = 0;
            for (int pass = 0; pass < 2; pass++) /* the channel's factor, then every value */
                for (int i = 0; i < H * W; i++) {
                    float want = nearbyintf(fminf(fmaxf(xc[i] * k, -128.0f), 127.0f)) * sc;
                    if (pass == 0 && fabsf(want) > big) {
                        big = fabsf(want);
                        f = yc[i] / want;
                    } else if (pass == 1 && fabsf(yc[i] - f * want) > 1e-5f * amax) {
                        fail_msg("image %d channel %d pixel %d: %.7g, want %.7g x %.7g (x %.7g, "
                                 "step %.3g)",
                                 n, o, i, yc[i], want, f, xc[i], sc);
                    }
                }
            assert_true(fabsf(f - 1.0f) < 0.01f);
        }
    print_message("input of %dx%dx%dx%d quantised by vas's own step (%s): every value exact\n", N,
                  C, H, W, (nn_cpu_features() & NN_CPU_AVX512) ? "AVX-512" : "AVX2");
    nn_session_free(s);
    nn_graph_free(g);
    nn_const_free(w);
    free(x);
}

/* ---- the saturation guard ---- */

/* One convolution of C channels into OC, k x k, `group` groups, weight 1 where on(ic, tap) and
 * 0 elsewhere, on a 60x80 input of ones: exact in int8 (inputs 1.0 -> 255 or the guard's limit,
 * weights 127) unless vpmaddubsw saturated. A 1x1 max pooling follows, so that the convolution
 * is no head (whose input keeps headroom, nn_plan_q.c, and so is not exact). Returns the largest
 * relative error against float32. */
static double conv_ones(int k, int group, int pattern, int C, int OC)
{
    enum { H = 60, W = 80 };
    static const char *const names[1] = {"y"};
    int64_t wd[4] = {OC, C / group, k, k}, pads[4] = {0, 0, 0, 0};
    nn_const *w = nn_const_new(NN_F32, 4, wd);
    nn_build *b = NULL;
    nn_graph *g = NULL;
    nn_session *sf = NULL, *sq = NULL;
    nn_options of = {0}, oq = {.int8 = 1, .int8_frames = 1};
    static float x[64 * H * W];
    const float *yf, *yq;
    nn_tensor_info info;
    vas_err e = {0};
    double err = 0;
    int in, out;

    assert_non_null(w);
    for (int64_t i = 0; i < w->count; i++) {
        int64_t kk = (int64_t)k * k, ic = (i / kk) % (C / group), tap = i % kk;
        int on = pattern == 0 ? ic % 2 == 0 : pattern == 1 ? 1 : tap % 2 == 0 && ic == 0;
        ((float *)w->data)[i] = on ? 1.0f : 0.0f;
    }
    for (int i = 0; i < C * H * W; i++)
        x[i] = 1.0f;
    assert_int_equal(nn_build_new(&b, &e), VAS_OK);
    in = nn_build_input(b, "x", C);
    out = nn_build_conv(b, "conv", in, w, NULL, 1, 1, pads, group);
    out = nn_build_maxpool(b, "pool", out, 1, 1, pads);
    assert_int_equal(nn_build_finish(b, &out, names, 1, &g, &e), VAS_OK);
    assert_int_equal(nn_session_new(g, &of, &sf, &e), VAS_OK);
    assert_int_equal(nn_session_new(g, &oq, &sq, &e), VAS_OK);
    assert_int_equal(nn_session_run(sf, x, 1, H, W, &e), VAS_OK);
    for (int run = 0; run < 2; run++)
        assert_int_equal(nn_session_run(sq, x, 1, H, W, &e), VAS_OK);
    assert_int_equal(nn_session_int8_convs(sq), 1);
    assert_int_equal(nn_session_output(sf, 0, &yf, &info, &e), VAS_OK);
    assert_int_equal(nn_session_output(sq, 0, &yq, NULL, &e), VAS_OK);
    for (int64_t i = 0; i < info.dims[0] * info.dims[1] * info.dims[2] * info.dims[3]; i++)
        err = fmax(err, fabs((double)yq[i] - yf[i]) / fmax(1.0, fabs((double)yf[i])));
    nn_session_free(sf);
    nn_session_free(sq);
    nn_graph_free(g);
    nn_const_free(w);
    return err;
}

/* 1x1 and 3x3 weights on the even input channels only (u8 sources may use 255: oneDNN pairs
 * channels 2m and 2m+1, so no pair holds two), on all of them (the guard's 129), and a
 * depthwise 3x3 (one channel a group: no pairs, 255); 8 channels, and 64 into a head's few. */
static void saturation_guard_holds(void **state)
{
    static const struct {
        int k, group, pattern, c, oc;
        const char *what;
    } cases_[] = {{1, 1, 0, 8, 8, "1x1, even channels"},
                  {3, 1, 0, 8, 8, "3x3, even channels"},
                  {1, 1, 1, 8, 8, "1x1, all channels"},
                  {3, 8, 1, 8, 8, "3x3 depthwise"},
                  {3, 1, 2, 8, 8, "3x3, every other tap of channel 0"},
                  {1, 1, 1, 64, 4, "1x1, 64 channels into 4 (a heatmap head's shape)"},
                  {1, 1, 0, 64, 8, "1x1, 64 even channels into 8"}};

    (void)state;
    need_int8("saturation_guard_holds");
    for (size_t i = 0; i < sizeof(cases_) / sizeof(cases_[0]); i++) {
        double err =
            conv_ones(cases_[i].k, cases_[i].group, cases_[i].pattern, cases_[i].c, cases_[i].oc);
        printf("saturation guard, %s: relative error %.2g\n", cases_[i].what, err);
        if (err > 1e-3)
            fail_msg("%s: int8 off by %.3g: vpmaddubsw saturated", cases_[i].what, err);
    }
}

/* ---- the openfield clip ---- */

typedef struct poses {
    int n;                                  /* frames seen */
    int joints;                             /* the model's body parts (a row's xyl: 3 each) */
    double xyl[MAX_FRAMES][3 * MAX_JOINTS]; /* per frame: x, y, likelihood per joint */
} poses;

static int keep_row(void *arg, const pose_row *r, vas_err *e)
{
    poses *p = arg;

    (void)e;
    if (r->frame >= 0 && r->frame < MAX_FRAMES) {
        memcpy(p->xyl[r->frame], r->xyl, sizeof(double) * 3 * (size_t)p->joints);
        if (r->frame + 1 > p->n)
            p->n = (int)r->frame + 1;
    }
    return 0;
}

static void run_clip(const pose_model *m, const char *dir, int int8, poses *p)
{
    pose_run_opts o = {.batch = 4, .int8 = int8, .on_row = keep_row, .row_arg = p};
    pose_video_out out = {0};
    char prefix[1024];
    vas_err e = {0};

    p->joints = m->n_bodyparts;
    snprintf(prefix, sizeof(prefix), "%s/%s", dir, int8 ? "int8" : "f32");
    if (pose_run_video(m, TU_OPENFIELD_CLIP, prefix, &o, &out, &e) != VAS_OK)
        fail_msg("%s run: %s", int8 ? "int8" : "f32", e.msg);
    printf("openfield clip %s: %lld frames, inference %.2f s\n", int8 ? "int8" : "f32",
           (long long)out.frames, out.infer_seconds);
    pose_video_out_clear(&out);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void openfield_clip_within_1px(void **state)
{
    static poses f32, q8;
    static double d[MAX_FRAMES * MAX_JOINTS];
    pose_model *m = NULL;
    char *dir = tu_mkdtemp();
    vas_err e = {0};
    int n = 0, over = 0;
    double med, p95;

    (void)state;
    need_int8("openfield_clip_within_1px");
    assert_non_null(dir);
    if (pose_model_load("openfield", MODEL, 0, &m, &e) != VAS_OK)
        fail_msg("model: %s", e.msg);
    assert_true(m->n_bodyparts <= MAX_JOINTS);
    run_clip(m, dir, 0, &f32);
    run_clip(m, dir, 1, &q8);
    assert_int_equal(f32.n, TU_OPENFIELD_CLIP_FRAMES);
    assert_int_equal(q8.n, TU_OPENFIELD_CLIP_FRAMES);
    for (int f = 0; f < f32.n; f++)
        for (int j = 0; j < m->n_bodyparts; j++) {
            const double *a = &f32.xyl[f][(size_t)3 * j], *b = &q8.xyl[f][(size_t)3 * j];
            if (f < CALIB) { /* calibration frames ran in float32: the same numbers */
                assert_true(fabs(a[0] - b[0]) < 1e-9 && fabs(a[1] - b[1]) < 1e-9);
                continue;
            }
            if (a[2] > 0.5)
                d[n++] = hypot(a[0] - b[0], a[1] - b[1]);
        }
    qsort(d, (size_t)n, sizeof(double), cmp_double);
    med = d[n / 2];
    p95 = d[(n * 95) / 100];
    for (int i = 0; i < n; i++)
        over += d[i] > 1.0;
    printf("openfield clip int8 vs f32 (frames %d-%d, likelihood > 0.5, %d points): median %.3f "
           "px, 95th percentile %.3f px, max %.3f px, %d over 1 px\n",
           CALIB, f32.n - 1, n, med, p95, d[n - 1], over);
    assert_true(n > 1000);
    assert_true(med <= 0.5);
    assert_true(p95 <= 1.0);
    assert_true(d[n - 1] <= CELL_PX);
    pose_model_free(m);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- the model setting ---- */

/* `vas_int8: true` in a bundle's pose_cfg.yaml is the model's int8 setting. */
static void model_setting_read(void **state)
{
    static const char *const files[] = {"config.yaml", "openfield.onnx"};
    char *dir = tu_mkdtemp(), *cfg = tu_read_file("models/openfield/pose_cfg.yaml", NULL);
    char *with = NULL;
    pose_model *m = NULL;
    vas_err e = {0};

    (void)state;
    assert_non_null(dir);
    assert_non_null(cfg);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char src[256];
        size_t len = 0;
        char *b;
        snprintf(src, sizeof(src), "models/openfield/%s", files[i]);
        b = tu_read_file(src, &len);
        assert_non_null(b);
        char *to = tu_path(dir, files[i]);
        assert_int_equal(tu_write_file(to, b, len), 0);
        free(to);
        free(b);
    }
    with = util_concat(cfg, "vas_int8: true\n");
    char *to = tu_path(dir, "pose_cfg.yaml");
    assert_int_equal(tu_write_file(to, with, strlen(with)), 0);
    char *yaml = tu_path(dir, "config.yaml");
    assert_int_equal(pose_model_load("of8", yaml, 0, &m, &e), VAS_OK);
    assert_int_equal(m->int8, 1);
    pose_model_free(m);
    assert_int_equal(pose_model_load("of", MODEL, 0, &m, &e), VAS_OK);
    assert_int_equal(m->int8, 0);
    pose_model_free(m);
    free(yaml);
    free(to);
    free(with);
    free(cfg);
    tu_rm_rf(dir);
    free(dir);
}

static int load_cases(void)
{
    char path[512], line[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/cases.txt", fixdir());
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f) && n_cases < MAX_CASES) {
        nn_case *c = &cases[n_cases];
        char num[5][32];
        int64_t v[5];
        if (line[0] == '#' || sscanf(line, "%63s %31s %31s %31s %31s %31s", c->name, num[0], num[1],
                                     num[2], num[3], num[4]) != 6)
            continue;
        for (int i = 0; i < 5; i++)
            if (util_parse_i64(num[i], &v[i]) < 0 || v[i] < 0 || v[i] > (1L << 30))
                return -1;
        c->n = (int)v[0];
        c->c = (int)v[1];
        c->h = (int)v[2];
        c->w = (int)v[3];
        c->out_floats = (long)v[4];
        n_cases++;
    }
    fclose(f);
    return 0;
}

int main(void)
{
    static struct CMUnitTest tests[MAX_CASES + 8];
    static char names[MAX_CASES][80];
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(options_checked),           cmocka_unit_test(calibrates_then_quantises),
        cmocka_unit_test(saturation_guard_holds),    cmocka_unit_test(model_setting_read),
        cmocka_unit_test(openfield_clip_within_1px), cmocka_unit_test(input_quantised_exactly),
        cmocka_unit_test(offsets_where_allowed),
    };
    size_t n = 0;

    if (load_cases() < 0) {
        fprintf(stderr, "test_nn_int8: no %s/cases.txt\n", fixdir());
        return 1;
    }
    for (int i = 0; i < n_cases; i++) {
        snprintf(names[i], sizeof(names[i]), "%.60s_int8", cases[i].name);
        tests[n++] = (struct CMUnitTest){names[i], agrees_int8, NULL, NULL, &cases[i]};
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("nn_int8", tests, n, NULL, NULL);
}
