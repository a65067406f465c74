/* test_nn_wino.c - our Winograd convolutions (src/nn/nn_wino.c, F(4x4, 3x3), AVX2 and AVX-512)
 * against oneDNN's direct kernels on the same graph (nn_options.no_wino): in NHWC and nChw8c
 * plans (on AVX-512 the first runs its AVX-512 loops, the second its AVX2 ones), with weights
 * transformed once at plan time and with weights transformed as each chunk of tiles needs them;
 * channel counts that are not multiples of 8 or 16, dilations 1-3, asymmetric and zero padding,
 * maps whose edges cut tiles, a fused residual Add and activations, batches and two threads. Each
 * case must run with Winograd (counted) and agree within 1e-5 of the outputs' range. CI also runs
 * it held to AVX2 (`make test ISA=AVX2`); a CPU without AVX2 skips it, with the reason. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/nn.h"
#include "nn/nn_build.h"
#include "nn/nn_cpu.h"

#include "testutil.h"

enum { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_LEAKY };

typedef struct wcase {
    const char *what;
    int n, c, k, h, w, d;
    int64_t pads[4]; /* top, left, bottom, right */
    int residual;    /* conv + relu(x) (k == c), fused as oneDNN's sum post-op */
    int act;
    int ballast; /* a 1x1 convolution after it whose weights make room for transformed ones */
    int threads;
} wcase;

/* clang-format off */
static const wcase cases_[] = {
    {"32->48, 13x17, batch 2, bias, ReLU",
     2, 32, 48, 13, 17, 1, {1, 1, 1, 1}, 0, ACT_RELU, 0, 1},
    {"36->44 (partial blocks), dilation 2, 19x23, LeakyRelu",
     1, 36, 44, 19, 23, 2, {2, 2, 2, 2}, 0, ACT_LEAKY, 0, 1},
    {"32->32, residual Add + ReLU, 8x8, transformed at plan time",
     1, 32, 32, 8, 8, 1, {1, 1, 1, 1}, 1, ACT_RELU, 1, 1},
    {"64->64, asymmetric pads, Clip(0, 6), 21x11",
     1, 64, 64, 21, 11, 1, {0, 1, 2, 1}, 0, ACT_CLIP, 0, 1},
    {"48->128, dilation 3, batch 3, 2 threads",
     3, 48, 128, 15, 14, 3, {3, 3, 3, 3}, 0, ACT_RELU, 0, 2},
    {"56->56, residual, dilation 2, 2 threads, transformed at plan time",
     2, 56, 56, 18, 26, 2, {2, 2, 2, 2}, 1, ACT_NONE, 1, 2},
};
/* clang-format on */

enum { BALLAST_OC = 2880 }; /* 1x1 K -> 2880: its weights give the budget 27 C K floats */

static nn_const *filled(int ndims, const int64_t *dims, int seed, float scale)
{
    nn_const *c = nn_const_new(NN_F32, ndims, dims);

    assert_non_null(c);
    for (int64_t i = 0; i < c->count; i++)
        ((float *)c->data)[i] =
            (float)((i * 7919 + seed * 104729) % 199) / 199.0f * scale - scale / 2;
    return c;
}

/* x -> ReLU -> 3x3 conv (C -> K, bias) [-> Add relu(x)] [-> act] = y (output 0) [-> 1x1 conv
 * K -> BALLAST_OC = z (output 1)]. The ReLU makes the convolution's input a value of the plan
 * (the graph's input itself is read in place as NCHW by blocked plans). */
static nn_graph *build(const wcase *t)
{
    static const char *const names[2] = {"y", "z"};
    int64_t wd[4] = {t->k, t->c, 3, 3}, bd[1] = {t->k}, zd[4] = {BALLAST_OC, t->k, 1, 1};
    int64_t zp[4] = {0, 0, 0, 0};
    nn_const *w = filled(4, wd, 1, 2.0f / sqrtf(9.0f * (float)t->c)), *b = filled(1, bd, 2, 0.4f);
    nn_const *zw = t->ballast ? filled(4, zd, 3, 0.1f) : NULL;
    nn_build *bl = NULL;
    nn_graph *g = NULL;
    vas_err e = {0};
    int x, v, outs[2];

    assert_int_equal(nn_build_new(&bl, &e), VAS_OK);
    x = nn_build_input(bl, "x", t->c);
    x = nn_build_unary(bl, "Relu", "relu_in", x);
    v = nn_build_conv(bl, "conv", x, w, b, 1, t->d, t->pads, 1);
    if (t->residual)
        v = nn_build_binary(bl, "Add", "add", v, x);
    if (t->act == ACT_RELU)
        v = nn_build_unary(bl, "Relu", "relu_out", v);
    else if (t->act == ACT_CLIP)
        v = nn_build_clip(bl, "clip", v, 0.0f, 6.0f);
    else if (t->act == ACT_LEAKY)
        v = nn_build_unary(bl, "LeakyRelu", "leaky", v); /* alpha 0.01 */
    outs[0] = v;
    if (t->ballast)
        outs[1] = nn_build_conv(bl, "ballast", v, zw, NULL, 1, 1, zp, 1);
    if (nn_build_finish(bl, outs, names, t->ballast ? 2 : 1, &g, &e) != VAS_OK)
        fail_msg("%s: %s", t->what, e.msg);
    nn_const_free(w);
    nn_const_free(b);
    nn_const_free(zw);
    return g;
}

typedef struct result {
    float *y;
    size_t count;
    int wino;
    size_t weights;
} result;

static void run(const nn_graph *g, const wcase *t, int layout, int no_wino, result *r)
{
    nn_options o = {.threads = t->threads, .layout = layout, .no_wino = no_wino};
    size_t cnt = (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
    float *x = malloc(cnt * sizeof(float));
    nn_session *s = NULL;
    nn_tensor_info info;
    const float *out;
    vas_err e = {0};

    assert_non_null(x);
    for (size_t i = 0; i < cnt; i++)
        x[i] = (float)((i * 31) % 97) / 24.0f - 1.5f;
    assert_int_equal(nn_session_new(g, &o, &s, &e), VAS_OK);
    if (nn_session_run(s, x, t->n, t->h, t->w, &e) != VAS_OK)
        fail_msg("%s: %s", t->what, e.msg);
    assert_int_equal(nn_session_output(s, 0, &out, &info, &e), VAS_OK);
    r->count = (size_t)(info.dims[0] * info.dims[1] * info.dims[2] * info.dims[3]);
    r->y = malloc(r->count * sizeof(float));
    assert_non_null(r->y);
    memcpy(r->y, out, r->count * sizeof(float));
    r->wino = nn_session_wino_convs(s);
    r->weights = nn_session_weight_bytes(s);
    nn_session_free(s);
    free(x);
}

static void need_avx2(const char *name)
{
    if (!(nn_cpu_features() & NN_CPU_AVX2)) {
        printf("skipped %s: our Winograd convolutions need AVX2; oneDNN here uses: %s\n", name,
               nn_cpu_describe());
        skip();
    }
}

static void agrees_with_direct(void **state)
{
    (void)state;
    need_avx2("agrees_with_direct");
    for (size_t i = 0; i < sizeof(cases_) / sizeof(cases_[0]); i++) {
        const wcase *t = &cases_[i];
        nn_graph *g = build(t);
        int64_t cp = (t->c + 7) / 8 * 8, kp = (t->k + 15) / 16 * 16;
        size_t pre = (size_t)(36 * cp * kp) * sizeof(float);
        for (int l = 0; l < 2; l++) {
            int layout = l ? NN_LAYOUT_BLOCKED : NN_LAYOUT_NHWC;
            result rw = {0}, rd = {0};
            double err = 0, range = 0;
            run(g, t, layout, 0, &rw);
            run(g, t, layout, 1, &rd);
            assert_int_equal(rw.count, rd.count);
            for (size_t k = 0; k < rw.count; k++) {
                err = fmax(err, fabs((double)rw.y[k] - rd.y[k]));
                range = fmax(range, fabs((double)rd.y[k]));
            }
            printf("winograd %s, %s: max |winograd - direct| %.3g of a range %.3g; weights %zu "
                   "bytes\n",
                   t->what, l ? "nChw8c" : "NHWC", err, range, rw.weights);
            if (rw.wino != 1 || rd.wino != 0)
                fail_msg("%s: %d Winograd convolutions planned (want 1), %d with no_wino", t->what,
                         rw.wino, rd.wino);
            /* plan-time transform (36 values a kernel) only where the ballast made room for it */
            if (t->ballast ? rw.weights < pre : rw.weights >= pre)
                fail_msg("%s: %zu bytes of weights: transformed %s", t->what, rw.weights,
                         t->ballast ? "per chunk, want at plan time"
                                    : "at plan time, want per chunk");
            assert_true(range > 0.5);
            if (!(err <= 1e-5 * range))
                fail_msg("%s: Winograd off by %.3g on a range %.3g", t->what, err, range);
            free(rw.y);
            free(rd.y);
        }
        nn_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agrees_with_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
