/* test_nn.c - the nn engine against fixtures made by tools/make-nn-fixtures.py: per-operator
 * graphs whose expected outputs PyTorch or numpy computed, DeepLabCut-style ResNet-50 and
 * MobileNetV2 networks, and models that must be refused cleanly (unsupported operator,
 * attribute or dynamic shape; truncated and corrupt files).
 * Fixtures are read from tests/fixtures/nn (or $VAS_NN_FIXTURES). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "nn/nn.h"
#include "nn/nn_build.h"
#include "nn/nn_cpu.h"
#include "nn/nn_int.h"

#include "nn_check.h"
#include "testutil.h"

#define MAX_CASES 128

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

static void *read_all(const char *name, const char *ext, size_t *len)
{
    char path[512];
    FILE *f;
    void *buf;
    long sz;

    snprintf(path, sizeof(path), "%s/%s%s", fixdir(), name, ext);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)sz;
    return buf;
}

static nn_graph *load_case(const char *name)
{
    char path[512];
    nn_graph *g = NULL;
    vas_err e = {0};

    snprintf(path, sizeof(path), "%s/%s.onnx", fixdir(), name);
    if (nn_graph_load(path, &g, &e) != VAS_OK)
        print_error("load %s: %s\n", name, e.msg);
    return g;
}

/* Runs case c with options opt; returns max |vas - expected| / max(1, max |expected|). */
static double run_case(const nn_case *c, const nn_options *opt)
{
    size_t in_len = 0, out_len = 0;
    float *in = read_all(c->name, ".in.f32", &in_len);
    float *want = read_all(c->name, ".out.f32", &out_len);
    nn_graph *g = load_case(c->name);
    nn_session *s = NULL;
    vas_err e = {0};
    double err;

    assert_non_null(in);
    assert_non_null(want);
    assert_non_null(g);
    assert_int_equal(out_len, (size_t)c->out_floats * 4);
    if (nn_session_new(g, opt, &s, &e) != VAS_OK)
        fail_msg("session %s: %s", c->name, e.msg);
    if (nn_session_run(s, in, c->n, c->h, c->w, &e) != VAS_OK)
        fail_msg("run %s: %s", c->name, e.msg);
    err = nn_check_rel_err(s, g, want, c->out_floats);
    nn_session_free(s);
    nn_graph_free(g);
    free(in);
    free(want);
    return err;
}

static void agrees_fp32(void **state)
{
    const nn_case *c = *state;
    nn_options opt = {.threads = 0, .bf16 = 0};
    double err = run_case(c, &opt);

    if (err > 1e-4)
        fail_msg("%s: relative max error %.3g > 1e-4", c->name, err);
}

/* Every case again in both activation layouts (NHWC; nChw8c where the plan can, nn_plan_layout.c)
 * with depthwise convolutions forced onto vas's own loop (nn_dwconv.c) and onto oneDNN's: all
 * four must agree with PyTorch, whichever this CPU's defaults pick. */
static void agrees_layouts_and_dw(void **state)
{
    static const char *const lname[2] = {"nhwc", "blocked"}, *const dname[2] = {"ours", "oneDNN"};
    const nn_case *c = *state;

    for (int l = 0; l < 2; l++)
        for (int d = 0; d < 2; d++) {
            nn_options o = {.layout = l ? NN_LAYOUT_BLOCKED : NN_LAYOUT_NHWC,
                            .dw = d ? NN_DW_ONEDNN : NN_DW_OURS};
            double err = run_case(c, &o);
            if (err > 1e-4)
                fail_msg("%s: relative max error %.3g > 1e-4 (layout %s, depthwise %s)", c->name,
                         err, lname[l], dname[d]);
        }
}

/* The DeepLabCut-style networks really run blocked when asked (no step of theirs makes the plan
 * fall back to NHWC) on AVX2, where that is the default; and NHWC when asked. */
static void nets_plan_blocked(void **state)
{
    /* The DLC-style nets, and HRNet's fuse step (its Resizes on nChw8c too): name, C, H, W. */
    static const struct {
        const char *name;
        int c, h, w;
    } nets[3] = {{"net_resnet50_dlc", 3, 64, 80},
                 {"net_mobilenetv2_dlc", 3, 64, 80},
                 {"net_fuse_resize", 3, 12, 10}};
    nn_options o = {.layout = NN_LAYOUT_BLOCKED};

    (void)state;
    if (!(nn_cpu_features() & NN_CPU_AVX2)) {
        printf("skipped nets_plan_blocked: this CPU has no AVX2 (it has: %s)\n", nn_cpu_describe());
        skip();
    }
    for (int i = 0; i < 3; i++) {
        nn_graph *g = load_case(nets[i].name);
        nn_session *s = NULL;
        vas_err e = {0};
        int h = nets[i].h, w = nets[i].w;
        size_t cnt = (size_t)2 * nets[i].c * h * w;
        float *x = calloc(cnt, sizeof(float));
        assert_non_null(g);
        assert_non_null(x);
        for (size_t k = 0; k < cnt; k++)
            x[k] = (float)(k % 255) / 64.0f - 2.0f;
        assert_int_equal(nn_session_new(g, &o, &s, &e), VAS_OK);
        if (nn_session_run(s, x, 2, h, w, &e) != VAS_OK)
            fail_msg("%s: %s", nets[i].name, e.msg);
        assert_string_equal(nn_session_layout(s), "nChw8c");
        for (size_t k = 0; k < cnt; k++) /* read in place (no input re-order), never written */
            assert_true(x[k] == (float)(k % 255) / 64.0f - 2.0f);
        o.layout = NN_LAYOUT_NHWC;
        nn_session_free(s);
        assert_int_equal(nn_session_new(g, &o, &s, &e), VAS_OK);
        assert_int_equal(nn_session_run(s, x, 2, h, w, &e), VAS_OK);
        assert_string_equal(nn_session_layout(s), "nhwc");
        o.layout = NN_LAYOUT_BLOCKED;
        nn_session_free(s);
        nn_graph_free(g);
        free(x);
    }
}

/* x (64 channels) -> 3x3 conv 64 -> 64 with a bias -> ReLU -> 3x3 conv 64 -> 128: the weights
 * (147 and 295 KB) are large enough to be spilled (nn_graph_spill). */
enum { TC_C = 64 };
static nn_graph *two_convs(void)
{
    static const char *const names[1] = {"y"};
    int64_t w1d[4] = {TC_C, TC_C, 3, 3}, w2d[4] = {2 * TC_C, TC_C, 3, 3}, bd[1] = {TC_C};
    int64_t pads[4] = {1, 1, 1, 1};
    nn_const *w1 = nn_const_new(NN_F32, 4, w1d), *w2 = nn_const_new(NN_F32, 4, w2d);
    nn_const *bias = nn_const_new(NN_F32, 1, bd);
    nn_build *b = NULL;
    nn_graph *g = NULL;
    vas_err e = {0};
    int v;

    assert_true(w1 && w2 && bias);
    for (int64_t i = 0; i < w1->count; i++)
        ((float *)w1->data)[i] = (float)((i * 7919) % 61) / 300.0f - 0.1f;
    for (int64_t i = 0; i < w2->count; i++)
        ((float *)w2->data)[i] = (float)((i * 104729) % 67) / 330.0f - 0.1f;
    for (int64_t i = 0; i < bias->count; i++)
        ((float *)bias->data)[i] = (float)(i % 5) / 10.0f - 0.2f;
    assert_int_equal(nn_build_new(&b, &e), VAS_OK);
    v = nn_build_input(b, "x", TC_C);
    v = nn_build_conv(b, "conv1", v, w1, bias, 1, 1, pads, 1);
    v = nn_build_unary(b, "Relu", "relu1", v);
    v = nn_build_conv(b, "conv2", v, w2, NULL, 1, 1, pads, 1);
    assert_int_equal(nn_build_finish(b, &v, names, 1, &g, &e), VAS_OK);
    nn_const_free(w1);
    nn_const_free(w2);
    nn_const_free(bias);
    return g;
}

/* Runs g at n x 64 x h x w on a fixed input; the output (2 x 64 channels), malloc'd. */
static float *run_two_convs(const nn_graph *g, const nn_options *o, int n, int h, int w, int *wino)
{
    size_t cnt = (size_t)n * TC_C * h * w, out = 2 * cnt;
    float *x = malloc(cnt * sizeof(float)), *y = malloc(out * sizeof(float));
    nn_session *s = NULL;
    const float *r;
    vas_err e = {0};

    assert_true(x && y);
    for (size_t k = 0; k < cnt; k++)
        x[k] = (float)(k % 251) / 64.0f - 2.0f;
    assert_int_equal(nn_session_new(g, o, &s, &e), VAS_OK);
    if (nn_session_run(s, x, n, h, w, &e) != VAS_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(nn_session_output(s, 0, &r, NULL, &e), VAS_OK);
    memcpy(y, r, out * sizeof(float));
    *wino = nn_session_wino_convs(s);
    nn_session_free(s);
    free(x);
    return y;
}

/* Float32 on AVX-512 runs 3x3 convolutions of 64 channels and more with oneDNN's Winograd
 * kernels (nn_plan_conv.c), and on AVX2 CPUs without AVX-512 with ours (nn_wino.c; its own tests
 * in test_nn_wino.c). Two in a row (on AVX-512 the second reads the first's nChw16c output, as in
 * HRNet's blocks) give what the direct kernels give, within 1e-5 of the outputs' range, and
 * really run so. */
static void winograd_agrees(void **state)
{
    enum { N = 2, H = 30, W = 40 };
    nn_graph *g = two_convs();
    nn_options ow = {0}, od = {.no_wino = 1};
    int nw = 0, nd = 0;
    float *yw = run_two_convs(g, &ow, N, H, W, &nw), *yd = run_two_convs(g, &od, N, H, W, &nd);
    double err = 0, range = 0;

    (void)state;
    for (size_t i = 0; i < (size_t)N * 2 * TC_C * H * W; i++) {
        err = fmax(err, fabs((double)yw[i] - yd[i]));
        range = fmax(range, fabs((double)yd[i]));
    }
    printf("winograd: %d convolutions, max |winograd - direct| %.3g of a range %.3g\n", nw, err,
           range);
    assert_int_equal(nd, 0);
    assert_true(range > 1.0);
    assert_true(err <= 1e-5 * range);
    if (nn_cpu_features() & NN_CPU_AVX2)
        assert_int_equal(nw, 2);
    else
        printf("winograd: this CPU has no AVX2 (it has: %s): none planned, as expected\n",
               nn_cpu_describe());
    free(yw);
    free(yd);
    nn_graph_free(g);
}

/* A graph's large weights leave the heap for a read-only map of an unlinked file
 * (nn_graph_spill), and the small ones stay; the spilled graph gives bit for bit what the same
 * graph with its weights in the heap gives (TMPDIR where no file can be made), at one size and
 * again at another (planning after the pages were dropped reads them back from the file). */
static void weights_spilled(void **state)
{
    const char *old = getenv("TMPDIR"); // NOLINT(concurrency-mt-unsafe): tests run on one thread
    char *keep = old ? strdup(old) : NULL;
    nn_graph *gs = two_convs(), *gh;
    nn_options o = {0};
    int mapped = 0, heap = 0, wino;

    (void)state;
    for (int i = 0; i < gs->n_vals; i++)
        if (gs->vals[i].c) {
            mapped += gs->vals[i].c->mapped;
            heap += !gs->vals[i].c->mapped;
        }
    assert_non_null(gs->spill);
    assert_int_equal(mapped, 2); /* the two weights; the 256-byte bias stays */
    assert_int_equal(heap, 1);
    setenv("TMPDIR", "/nonexistent-vas-dir", 1); // NOLINT(concurrency-mt-unsafe)
    gh = two_convs();
    if (keep)
        setenv("TMPDIR", keep, 1); // NOLINT(concurrency-mt-unsafe)
    else
        unsetenv("TMPDIR"); // NOLINT(concurrency-mt-unsafe)
    free(keep);
    assert_null(gh->spill);
    for (int i = 0; i < gh->n_vals; i++)
        assert_true(!gh->vals[i].c || !gh->vals[i].c->mapped);
    for (int size = 0; size < 2; size++) {
        int h = size ? 17 : 30, w = size ? 23 : 40;
        float *ys = run_two_convs(gs, &o, 1, h, w, &wino),
              *yh = run_two_convs(gh, &o, 1, h, w, &wino);
        assert_memory_equal(ys, yh, (size_t)2 * TC_C * h * w * sizeof(float));
        free(ys);
        free(yh);
    }
    nn_graph_free(gs);
    nn_graph_free(gh);
}

/* A batch of large frames runs frame by frame (nn_session_run): the demo model on 3 frames of
 * 256 x 256 gives the outputs it gives on the batch run whole, within 1e-5 of their range, with
 * the batch's dimensions; and as many GFLOP a frame, on a plan for one frame. */
static void batch_split_agrees(void **state)
{
    enum { N = 3, C = 3, H = 256, W = 256 };
    nn_graph *g = NULL;
    nn_session *s[2] = {NULL, NULL};
    nn_options o[2] = {{0}, {.no_split = 1}};
    float *x = malloc((size_t)N * C * H * W * sizeof(float));
    vas_err e = {0};

    (void)state;
    assert_non_null(x);
    for (size_t k = 0; k < (size_t)N * C * H * W; k++)
        x[k] = (float)(k % 253) / 64.0f - 2.0f;
    if (nn_graph_load("models/openfield/openfield.onnx", &g, &e) != VAS_OK)
        fail_msg("%s", e.msg);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(nn_session_new(g, &o[i], &s[i], &e), VAS_OK);
        if (nn_session_run(s[i], x, N, H, W, &e) != VAS_OK)
            fail_msg("%s", e.msg);
    }
    assert_true(fabs(nn_session_flops(s[0]) - nn_session_flops(s[1])) <=
                1e-9 * nn_session_flops(s[1]));
    /* really split: its plan is the one frame's */
    assert_true(nn_session_arena_bytes(s[0]) * 2 < nn_session_arena_bytes(s[1]));
    for (int out = 0; out < nn_graph_n_outputs(g); out++) {
        const float *a, *b;
        nn_tensor_info ia, ib;
        double err = 0, range = 0;
        assert_int_equal(nn_session_output(s[0], out, &a, &ia, &e), VAS_OK);
        assert_int_equal(nn_session_output(s[1], out, &b, &ib, &e), VAS_OK);
        assert_int_equal(ia.ndims, ib.ndims);
        assert_memory_equal(ia.dims, ib.dims, sizeof(ia.dims));
        assert_int_equal(ia.dims[0], N);
        for (int64_t i = 0; i < ia.dims[0] * ia.dims[1] * ia.dims[2] * ia.dims[3]; i++) {
            err = fmax(err, fabs((double)a[i] - b[i]));
            range = fmax(range, fabs((double)b[i]));
        }
        printf("batch split, output %s: max |frame by frame - whole| %.3g of a range %.3g\n",
               ia.name, err, range);
        assert_true(range > 0 && err <= 1e-5 * range);
    }
    nn_session_free(s[0]);
    nn_session_free(s[1]);
    nn_graph_free(g);
    free(x);
}

/* bf16 keeps 8 bits of mantissa: the error is measured and printed, and bounded loosely (every
 * case runs in bf16 too, so that each operator's bf16 path is exercised). */
static void agrees_bf16(void **state)
{
    const nn_case *c = *state;
    nn_options opt = {.threads = 0, .bf16 = 1};
    double err;

    if (!(nn_cpu_features() & NN_CPU_AVX512_BF16)) {
        print_message("skipped %s_bf16: this CPU has no %s (it has: %s)\n", c->name,
                      nn_cpu_feature_name(NN_CPU_AVX512_BF16), nn_cpu_describe());
        skip();
    }
    err = run_case(c, &opt);
    printf("bf16 %s: relative max error %.4f\n", c->name, err);
    assert_true(err < 0.03);
}

/* ---- the CPU ---- */

/* Every feature oneDNN says it uses is one the kernel lists for this CPU (flags in cpuinfo). */
static void cpu_features_are_the_cpus(void **state)
{
    static const struct {
        unsigned bit;
        const char *flag;
    } flags[] = {{NN_CPU_AVX2, " avx2 "},
                 {NN_CPU_AVX512, " avx512f "},
                 {NN_CPU_AVX512_VNNI, " avx512_vnni "},
                 {NN_CPU_AVX512_BF16, " avx512_bf16 "},
                 {NN_CPU_AMX, " amx_tile "},
                 {NN_CPU_AVX2_VNNI, " avx_vnni "}};
    char *info = tu_read_file("/proc/cpuinfo", NULL), *line, line_sp[8192];
    unsigned f = nn_cpu_features();

    (void)state;
    assert_non_null(info);
    line = strstr(info, "\nflags");
    assert_non_null(line);
    snprintf(line_sp, sizeof(line_sp), "%.*s ", (int)strcspn(line + 1, "\n"), line + 1);
    print_message("cpu features oneDNN uses: %s\n", nn_cpu_describe());
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if ((f & flags[i].bit) && !strstr(line_sp, flags[i].flag))
            fail_msg("oneDNN uses %s but cpuinfo has no%s", nn_cpu_feature_name(flags[i].bit),
                     flags[i].flag);
    free(info);
}

/* bf16 on a CPU without AVX512-BF16 is refused with the missing feature named. The CPU is
 * limited to AVX2 through oneDNN's ONEDNN_MAX_CPU_ISA in a child `vas nn-run`, so this runs on
 * every machine, whatever it has. */
static void bf16_refused_without_the_isa(void **state)
{
    const char *bin = getenv("VAS_BIN"); /* NOLINT(concurrency-mt-unsafe): one thread */
    char cmd[1024], out[4096] = "";
    size_t len = 0, got;
    FILE *p;

    (void)state;
    snprintf(cmd, sizeof(cmd),
             "ONEDNN_MAX_CPU_ISA=AVX2 %s nn-run %s/net_mobilenetv2_dlc.onnx --bf16 --runs 1 2>&1",
             bin ? bin : "build/test/vas", fixdir());
    p = popen(cmd, "r");
    assert_non_null(p);
    while (len < sizeof(out) - 1 && (got = fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
        len += got;
    out[len] = 0;
    assert_int_not_equal(pclose(p), 0);
    if (!strstr(out, "bf16 was asked for but this CPU has no AVX512-BF16 (it has: "))
        fail_msg("output of %s:\n%s", cmd, out);
}

/* ---- refusals ---- */
static void refused_with(const char *name, const char *needle1, const char *needle2)
{
    char path[512];
    nn_graph *g = NULL;
    vas_err e = {0};
    int rc;

    snprintf(path, sizeof(path), "%s/%s.onnx", fixdir(), name);
    rc = nn_graph_load(path, &g, &e);
    assert_true(rc < 0);
    assert_null(g);
    if (!strstr(e.msg, needle1) || !strstr(e.msg, needle2))
        fail_msg("%s: message '%s' lacks '%s'/'%s'", name, e.msg, needle1, needle2);
}

static void refuses_unsupported_op(void **state)
{
    (void)state;
    refused_with("bad_op", "soft", "Softmax");
}

static void refuses_unsupported_attr(void **state)
{
    (void)state;
    refused_with("bad_attr", "up", "cubic");
}

static void refuses_dynamic_shape(void **state)
{
    (void)state;
    refused_with("bad_dynamic", "Cast", "run time");
}

/* A FLOAT tensor whose values come in int64_data: refused, not copied at the wrong width. */
static void refuses_field_of_other_type(void **state)
{
    (void)state;
    refused_with("bad_typed_field", "sc", "0 values for 4 elements");
}

static void refuses_truncated_and_corrupt(void **state)
{
    size_t len = 0;
    unsigned char *buf = read_all("net_mobilenetv2_dlc", ".onnx", &len);
    nn_graph *g = NULL;
    vas_err e = {0};
    uint32_t x = 12345;

    (void)state;
    assert_non_null(buf);
    for (size_t cut = 1; cut < len; cut = cut * 3 + 7) {
        assert_true(nn_graph_load_mem(buf, cut, NULL, &g, &e) < 0);
        assert_null(g);
    }
    for (int round = 0; round < 20; round++) {
        unsigned char *c = malloc(len + 1);
        assert_non_null(c);
        memcpy(c, buf, len);
        for (int k = 0; k < 16; k++) {
            x = x * 1103515245u + 12345u;
            c[(x >> 4) % len] ^= (unsigned char)(x >> 24 | 1);
        }
        if (nn_graph_load_mem(c, len, NULL, &g, &e) == VAS_OK)
            nn_graph_free(g); /* a flip inside weight bytes is still a valid model */
        g = NULL;
        free(c);
    }
    assert_true(nn_graph_load_mem("", 0, NULL, &g, &e) < 0);
    assert_true(nn_graph_load("/nonexistent/x.onnx", &g, &e) == VAS_ENOTFOUND);
    free(buf);
}

/* External data: resolved beside the model, refused without a folder or outside it. */
static void external_data_checked(void **state)
{
    size_t len = 0;
    unsigned char *buf = read_all("op_conv_external", ".onnx", &len);
    const char *loc = "op_conv_external.data";
    nn_graph *g = NULL;
    vas_err e = {0};
    unsigned char *at;

    (void)state;
    assert_non_null(buf);
    assert_int_equal(nn_graph_load_mem(buf, len, fixdir(), &g, &e), VAS_OK);
    nn_graph_free(g);
    g = NULL;
    assert_true(nn_graph_load_mem(buf, len, NULL, &g, &e) < 0);
    assert_non_null(strstr(e.msg, "external data"));
    at = memmem(buf, len, loc, strlen(loc));
    assert_non_null(at);
    /* same length: still valid protobuf */
    memcpy(at, "../conv_external.data", strlen(loc)); // NOLINT(bugprone-not-null-terminated-result)
    assert_true(nn_graph_load_mem(buf, len, fixdir(), &g, &e) < 0);
    assert_null(g);
    assert_non_null(strstr(e.msg, "external data"));
    free(buf);
}

/* A model with free N, H, W: a second size plans again, and going back to the first reuses
 * its plan with the same answer; a fixed model refuses other sizes. */
static void replans_per_size(void **state)
{
    nn_graph *g = load_case("op_dynamic_size"), *fixed = load_case("op_conv_basic");
    nn_session *s = NULL;
    vas_err e = {0};
    const size_t n = (size_t)3 * 4 * 20 * 30, n1 = (size_t)2 * 3 * 9 * 11;
    float *in = calloc(n, sizeof(float)), *first = calloc(n1, sizeof(float));
    const float *y;
    nn_tensor_info info;

    (void)state;
    assert_non_null(g);
    assert_non_null(fixed);
    for (size_t i = 0; i < n; i++)
        in[i] = (float)(i % 7) - 3.0f;
    assert_int_equal(nn_session_new(g, NULL, &s, &e), VAS_OK);
    assert_int_equal(nn_session_run(s, in, 2, 9, 11, &e), VAS_OK);
    assert_int_equal(nn_session_output(s, 0, &y, &info, &e), VAS_OK);
    memcpy(first, y, n1 * sizeof(float));
    for (int size = 0; size < 6; size++) { /* more sizes than the cache keeps */
        assert_int_equal(nn_session_run(s, in, 1 + size % 3, 20 - size, 30, &e), VAS_OK);
        assert_int_equal(nn_session_output(s, 0, &y, &info, &e), VAS_OK);
        assert_int_equal(info.dims[0], 1 + size % 3);
        assert_int_equal(info.dims[2], 20 - size);
    }
    assert_int_equal(nn_session_run(s, in, 2, 9, 11, &e), VAS_OK);
    assert_int_equal(nn_session_output(s, 0, &y, &info, &e), VAS_OK);
    assert_memory_equal(first, y, n1 * sizeof(float));
    nn_session_free(s);
    assert_int_equal(nn_session_new(fixed, NULL, &s, &e), VAS_OK);
    assert_int_equal(nn_session_run(s, in, 2, 20, 30, &e), VAS_EINVAL);
    nn_session_free(s);
    nn_graph_free(g);
    nn_graph_free(fixed);
    free(in);
    free(first);
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
        if (line[0] == '#')
            continue;
        char num[5][32];
        int64_t v[5];
        if (sscanf(line, "%63s %31s %31s %31s %31s %31s", c->name, num[0], num[1], num[2], num[3],
                   num[4]) != 6)
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

/* A Resize whose scales are NaN, infinite or absurd is refused when the graph is checked
 * (converting them to a side was undefined behaviour; found by fuzz_onnx). */
static void resize_bad_scales_refused(void **state)
{
    static const float bad[] = {NAN, INFINITY, 1e30f};
    static const char *const names[1] = {"y"};

    (void)state;
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        float sc[4] = {1, 1, bad[k], 2};
        int64_t four = 4;
        int in[3] = {-1, -1, -1}, out;
        nn_build *b = NULL;
        nn_graph *g = NULL;
        vas_err e = {0};

        assert_int_equal(nn_build_new(&b, &e), VAS_OK);
        in[0] = nn_build_input(b, "x", 3);
        in[2] = nn_build_constf(b, "scales", 1, &four, sc);
        out = nn_build_node(b, "Resize", "up", in, 3);
        nn_build_attr_str(b, "mode", "nearest");
        assert_int_equal(nn_build_finish(b, &out, names, 1, &g, &e), VAS_EUNSUPPORTED);
        assert_null(g);
        assert_non_null(strstr(e.msg, "not finite"));
    }
}

/* A folded node with an empty ("") input it needs is refused (it was read as a NULL constant;
 * found by fuzz_onnx). */
static void fold_empty_input_refused(void **state)
{
    static const char *const names[1] = {"y"};
    const float one[2] = {1, 2};
    int64_t two = 2;
    int in[2] = {-1, -1}, out;
    nn_build *b = NULL;
    nn_graph *g = NULL;
    vas_err e = {0};

    (void)state;
    assert_int_equal(nn_build_new(&b, &e), VAS_OK);
    nn_build_input(b, "x", 3);
    in[0] = nn_build_constf(b, "c", 1, &two, one);
    out = nn_build_node(b, "Concat", "cat", in, 2);
    nn_build_attr_int(b, "axis", 0);
    assert_int_equal(nn_build_finish(b, &out, names, 1, &g, &e), VAS_EUNSUPPORTED);
    assert_null(g);
    assert_non_null(strstr(e.msg, "a required input is empty"));
}

/* A graph of one node op ("Conv", "ConvTranspose") over a 4-channel input, weights of dims wd,
 * with attribute attr = v (2 values), must be refused, when built or at its first run on a 5 x
 * w input, with a message naming the node and holding needle. */
static void conv_refused(const char *op, const int64_t *wd, const char *attr, const int64_t *v,
                         int w, const char *needle)
{
    static const char *const names[1] = {"y"};
    static float wv[4 * 4 * 3 * 3];
    static float x[4 * 5 * 70];
    int in[2] = {-1, -1}, out, rc;
    nn_build *b = NULL;
    nn_graph *g = NULL;
    nn_session *s = NULL;
    nn_options o = {.threads = 1};
    vas_err e = {0};

    assert_int_equal(nn_build_new(&b, &e), VAS_OK);
    in[0] = nn_build_input(b, "x", 4);
    in[1] = nn_build_constf(b, "w", 4, wd, wv);
    out = nn_build_node(b, op, "c", in, 2);
    nn_build_attr_ints(b, attr, v, 2);
    rc = nn_build_finish(b, &out, names, 1, &g, &e);
    if (rc == VAS_OK) {
        rc = nn_session_new(g, &o, &s, &e);
        if (rc == VAS_OK)
            rc = nn_session_run(s, x, 1, 5, w, &e);
    }
    assert_true(rc < 0);
    if (!strstr(e.msg, "node 'c'") || !strstr(e.msg, needle))
        fail_msg("%s %s: message '%s' lacks '%s'", op, attr, e.msg, needle);
    nn_session_free(s);
    nn_graph_free(g);
}

/* A Conv or ConvTranspose whose kernel_shape disagrees with its weights is refused: the gather
 * walked 3 x 67 taps over a product made from 3 x 3 weights (found by fuzz_onnx). */
static void kernel_shape_mismatch_refused(void **state)
{
    const int64_t wd[4] = {4, 4, 3, 3}, ks[2] = {3, 67};
    const char *msg = "kernel_shape 3x67 does not match the weights' 3x3";

    (void)state;
    conv_refused("Conv", wd, "kernel_shape", ks, 70, msg);
    conv_refused("ConvTranspose", wd, "kernel_shape", ks, 70, msg);
}

/* Geometry past any image (a dilation of 2^62: its kernel's reach overflowed int64 in the sizes
 * computed from it; a negative output padding) is refused with the node named. */
static void absurd_geometry_refused(void **state)
{
    const int64_t wd[4] = {4, 1, 3, 3}, huge[2] = {(int64_t)1 << 62, 1}, neg[2] = {-1, 0};
    const char *msg = "bad kernel, stride, dilation or pads";

    (void)state;
    conv_refused("Conv", wd, "dilations", huge, 7, msg);
    conv_refused("ConvTranspose", wd, "output_padding", neg, 7, msg);
}

/* A node whose output would exceed 2^36 elements is refused (a ConvTranspose of stride 2^20 on
 * a 5 x 7 input: 5 M x 6 M; chained, such sizes overflowed int64 in the next node's). */
static void huge_output_refused(void **state)
{
    const int64_t wd[4] = {4, 1, 3, 3}, big[2] = {(int64_t)1 << 20, (int64_t)1 << 20};

    (void)state;
    conv_refused("ConvTranspose", wd, "strides", big, 7, "its output would be too large");
}

int main(void)
{
    static struct CMUnitTest tests[3 * MAX_CASES + 16];
    static char names[MAX_CASES][80], dw_names[MAX_CASES][80];
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(refuses_unsupported_op),
        cmocka_unit_test(refuses_unsupported_attr),
        cmocka_unit_test(refuses_dynamic_shape),
        cmocka_unit_test(refuses_field_of_other_type),
        cmocka_unit_test(refuses_truncated_and_corrupt),
        cmocka_unit_test(replans_per_size),
        cmocka_unit_test(external_data_checked),
        cmocka_unit_test(cpu_features_are_the_cpus),
        cmocka_unit_test(bf16_refused_without_the_isa),
        cmocka_unit_test(resize_bad_scales_refused),
        cmocka_unit_test(fold_empty_input_refused),
        cmocka_unit_test(kernel_shape_mismatch_refused),
        cmocka_unit_test(absurd_geometry_refused),
        cmocka_unit_test(huge_output_refused),
        cmocka_unit_test(nets_plan_blocked),
        cmocka_unit_test(winograd_agrees),
        cmocka_unit_test(weights_spilled),
        cmocka_unit_test(batch_split_agrees),
    };
    size_t n = 0;

    if (load_cases() < 0) {
        fprintf(stderr, "test_nn: no %s/cases.txt\n", fixdir());
        return 1;
    }
    for (int i = 0; i < n_cases; i++) {
        tests[n] = (struct CMUnitTest){cases[i].name, agrees_fp32, NULL, NULL, &cases[i]};
        n++;
        snprintf(names[i], sizeof(names[i]), "%.60s_bf16", cases[i].name);
        tests[n++] = (struct CMUnitTest){names[i], agrees_bf16, NULL, NULL, &cases[i]};
        snprintf(dw_names[i], sizeof(dw_names[i]), "%.60s_layouts", cases[i].name);
        tests[n++] = (struct CMUnitTest){dw_names[i], agrees_layouts_and_dw, NULL, NULL, &cases[i]};
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("nn", tests, n, NULL, NULL);
}
