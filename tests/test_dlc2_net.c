/* test_dlc2_net.c - DeepLabCut 2 exported models (frozen TensorFlow graphs) read by
 * model/dlc2_net.c and nn/nn_tf.c, against fixtures made by tools/make-dlc2-fixtures.py in
 * $VAS_FIXTURES/dlc2 (mk/model.mk builds them with the tests): every network DeepLabCut 2
 * exports (ResNet-50 at full size, the others with fewer channels), each compared with an
 * independent PyTorch forward pass (score maps and location refinement within 1e-4) and with
 * the poses DeepLabCut 2 decodes from it (within 0.01 px); and exports vas must refuse, each
 * with its sentence. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/dlc2_net.h"
#include "nn/nn.h"
#include "nn/nn_tf.h"
#include "pose/pose_decode.h"

#include "testutil.h"

typedef struct meta {
    char net_type[64];
    int h, w, joints, map_h, map_w, locref;
    long long params;
    char uid[32];
} meta;

static char fx[1024];

/* $VAS_FIXTURES/dlc2/<sub> into a static buffer (overwritten by the next call). */
static const char *fx_path(const char *sub)
{
    static char p[2048];

    snprintf(p, sizeof(p), "%s/%s", fx, sub);
    return p;
}

static int read_meta(const char *name, meta *m)
{
    char sub[256], key[64], val[128];
    FILE *f;

    snprintf(sub, sizeof(sub), "%s/meta.txt", name);
    f = fopen(fx_path(sub), "r");
    if (!f)
        return -1;
    memset(m, 0, sizeof(*m));
    while (fscanf(f, "%63s %127s", key, val) == 2) {
        long long v = strtoll(val, NULL, 10);
        if (!strcmp(key, "net_type"))
            snprintf(m->net_type, sizeof(m->net_type), "%.63s", val);
        else if (!strcmp(key, "uid"))
            snprintf(m->uid, sizeof(m->uid), "%.31s", val);
        else if (!strcmp(key, "h"))
            m->h = (int)v;
        else if (!strcmp(key, "w"))
            m->w = (int)v;
        else if (!strcmp(key, "joints"))
            m->joints = (int)v;
        else if (!strcmp(key, "map_h"))
            m->map_h = (int)v;
        else if (!strcmp(key, "map_w"))
            m->map_w = (int)v;
        else if (!strcmp(key, "locref"))
            m->locref = (int)v;
        else if (!strcmp(key, "params"))
            m->params = v;
    }
    fclose(f);
    return 0;
}

/* Whole fixture file <case>/<file>; asserts its size is n bytes. */
static void *read_fx(const char *name, const char *file, size_t n)
{
    char sub[256];
    size_t len = 0;
    void *p;

    snprintf(sub, sizeof(sub), "%s/%s", name, file);
    p = tu_read_file(fx_path(sub), &len);
    if (!p)
        fail_msg("cannot read fixture %s", fx_path(sub));
    assert_int_equal(len, n);
    return p;
}

static int have_fixtures(void)
{
    return access(fx_path("cases.txt"), R_OK) == 0;
}

#define NEED_FIXTURES()                                                                            \
    do {                                                                                           \
        if (!have_fixtures()) {                                                                    \
            print_message("skipped: no DLC 2 fixtures in %s (built by make test)\n", fx);          \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * Every network: load, run, compare with PyTorch and DLC's decoding
 * ------------------------------------------------------------------------------------------- */
static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;

    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

static void check_fields(const model_net *m, const meta *t)
{
    assert_string_equal(m->format, "dlc2-export");
    assert_string_equal(m->net_type, t->net_type);
    assert_string_equal(m->snapshot_uid, t->uid);
    assert_int_equal(m->n_bodyparts, t->joints);
    assert_string_equal(m->bodyparts[0], "snout");
    assert_int_equal(m->sigmoid, 1);
    assert_int_equal(m->bgr, 0);
    assert_int_equal(m->locref, t->locref);
    assert_int_equal(m->pad_multiple, 1);
    assert_true(fabs(m->stride - 8.0) < 1e-12);
    assert_true(fabs(m->locref_std - 7.2801) < 1e-12);
    for (int c = 0; c < 3; c++) {
        assert_true(m->mean[c] == 0.0f);
        assert_true(fabsf(m->std[c] * 255.0f - 1.0f) < 1e-6f);
    }
    assert_non_null(strstr(m->weights, ".pb"));
    assert_true(m->arch[0] != '\0');
    assert_int_equal(nn_graph_n_outputs(m->graph), t->locref ? 2 : 1);
}

static const float *output(nn_session *s, int i, const meta *t, int ch)
{
    const float *y = NULL;
    nn_tensor_info info;
    vas_err e = {0};

    if (nn_session_output(s, i, &y, &info, &e) != VAS_OK)
        fail_msg("output %d: %s", i, e.msg);
    assert_int_equal(info.ndims, 4);
    assert_int_equal(info.dims[0], 1);
    assert_int_equal(info.dims[1], ch);
    assert_int_equal(info.dims[2], t->map_h);
    assert_int_equal(info.dims[3], t->map_w);
    return y;
}

static void check_poses(const char *name, const model_net *m, const meta *t, const float *hm,
                        const float *lr)
{
    double *want = read_fx(name, "poses.f64", (size_t)t->joints * 3 * sizeof(double));
    double got[3 * 64], dxy = 0, dl = 0;
    pose_maps pm = {hm, lr, t->joints, t->map_h, t->map_w, m->stride, m->locref_std};
    vas_err e = {0};

    assert_int_equal(pose_decode(&pm, got, &e), VAS_OK);
    for (int j = 0; j < t->joints; j++) {
        dxy =
            fmax(dxy, fmax(fabs(got[3 * j] - want[3 * j]), fabs(got[3 * j + 1] - want[3 * j + 1])));
        dl = fmax(dl, fabs(got[3 * j + 2] - want[3 * j + 2]));
    }
    print_message("%s: poses max |dx|,|dy| %.3g px, likelihood %.3g\n", name, dxy, dl);
    assert_true(dxy < 0.01);
    assert_true(dl < 1e-4);
    free(want);
}

static void network_matches(void **state)
{
    const char *name = *state;
    char sub[256];
    meta t;
    model_net m = {0};
    vas_err e = {0};
    nn_session *s = NULL;
    size_t hw;
    unsigned char *img;
    float *in, *hm_want, *lr_want = NULL;
    const float *hm, *lr = NULL;
    double dh, dl = 0;

    NEED_FIXTURES();
    assert_int_equal(read_meta(name, &t), 0);
    snprintf(sub, sizeof(sub), "%s/export", name);
    if (dlc2_net_load(fx_path(sub), 1, &m, &e) != VAS_OK)
        fail_msg("%s: %s", name, e.msg);
    check_fields(&m, &t);
    assert_int_equal(m.params, t.params);
    hw = (size_t)t.h * (size_t)t.w;
    img = read_fx(name, "image.u8", hw * 3);
    in = malloc(hw * 3 * sizeof(float));
    assert_non_null(in);
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++) /* as vas feeds any model: (v/255 - mean) / std, NCHW */
            in[c * hw + i] = (float)((img[i * 3 + c] / 255.0 - m.mean[c]) / m.std[c]);
    if (nn_session_new(m.graph, NULL, &s, &e) != VAS_OK ||
        nn_session_run(s, in, 1, t.h, t.w, &e) != VAS_OK)
        fail_msg("%s: %s", name, e.msg);
    hm = output(s, 0, &t, t.joints);
    hm_want = read_fx(name, "heatmap.f32", (size_t)t.joints * t.map_h * t.map_w * 4);
    dh = max_diff(hm, hm_want, (size_t)t.joints * t.map_h * t.map_w);
    if (t.locref) {
        lr = output(s, 1, &t, 2 * t.joints);
        lr_want = read_fx(name, "locref.f32", (size_t)t.joints * 2 * t.map_h * t.map_w * 4);
        dl = max_diff(lr, lr_want, (size_t)t.joints * 2 * t.map_h * t.map_w);
    }
    print_message("%s (%lld params, %dx%d -> %dx%d): heatmap max |diff| %.3g, locref %.3g\n", name,
                  (long long)m.params, t.w, t.h, t.map_w, t.map_h, dh, dl);
    assert_true(dh < 1e-4);
    assert_true(dl < 1e-4);
    check_poses(name, &m, &t, hm, lr);
    nn_session_free(s);
    model_net_clear(&m);
    free(img);
    free(in);
    free(hm_want);
    free(lr_want);
}

/* ---------------------------------------------------------------------------------------------
 * Describing without building; refusals
 * ------------------------------------------------------------------------------------------- */
static void describe_only(void **state)
{
    model_net m = {0};
    vas_err e = {0};
    meta t;

    (void)state;
    NEED_FIXTURES();
    assert_int_equal(read_meta("resnet_50", &t), 0);
    /* the export also holds the checkpoint copies and a .pbtxt, as export_model leaves them */
    assert_int_equal(dlc2_net_load(fx_path("resnet_50/export"), 0, &m, &e), VAS_OK);
    assert_null(m.graph);
    assert_int_equal(m.params, -1);
    assert_string_equal(m.snapshot_uid, "1030000");
    assert_string_equal(m.bodyparts[3], "tailbase");
    assert_non_null(strstr(m.arch, "resnet_v1_50"));
    model_net_clear(&m);
}

static void refused_with(const char *bad, int build, const char *needle)
{
    char sub[256];
    model_net m = {0};
    vas_err e = {0};
    int rc;

    snprintf(sub, sizeof(sub), "bad/%s", bad);
    rc = dlc2_net_load(fx_path(sub), build, &m, &e);
    print_message("%s: %s\n", bad, e.msg);
    assert_true(rc < 0);
    assert_null(m.graph);
    assert_int_equal(m.n_bodyparts, 0);
    if (!strstr(e.msg, needle))
        fail_msg("%s: message lacks \"%s\"", bad, needle);
}

static void refusals(void **state)
{
    (void)state;
    NEED_FIXTURES();
    refused_with("truncated", 1, "is not a TensorFlow GraphDef (truncated or corrupt protobuf)");
    refused_with("garbage", 1, "is not a TensorFlow GraphDef");
    refused_with("unknown_op", 1,
                 "node 'MobilenetV2/expanded_conv_2/depthwise/Relu6' uses TensorFlow op 'Selu', "
                 "which vas does not implement");
    refused_with("multi_animal", 0, "multi-animal DeepLabCut model");
    refused_with("checkpoints", 0, "run deeplabcut.export_model");
    refused_with("two_pb", 0, "holds 2 .pb files");
    refused_with("no_pb", 0, "has no .pb");
    refused_with("unknown_net", 0, "net_type hrnet_w32 is not a DeepLabCut 2 network");
    refused_with("no_locref_node", 1, "has no node 'pose/locref_pred/block4/BiasAdd'");
    refused_with("does_not_exist", 0, "has no pose_cfg.yaml");
}

/* The operators and forms DLC's networks do not use (tools/make-dlc2-fixtures.py write_ops). */
static void tf_ops(void **state)
{
    const char *outs[3] = {"deconv", "pooled", "cat"};
    int dims[3][3], h = 0, w = 0;
    char key[64];
    FILE *f;
    nn_graph *g = NULL;
    nn_session *s = NULL;
    vas_err e = {0};
    float *in;

    (void)state;
    NEED_FIXTURES();
    f = fopen(fx_path("ops/meta.txt"), "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "h %d w %d", &h, &w), 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fscanf(f, "%63s %d %d %d", key, &dims[i][0], &dims[i][1], &dims[i][2]), 4);
    fclose(f);
    if (nn_tf_load(fx_path("ops/ops.pb"), outs, 3, outs, &g, &e) != VAS_OK)
        fail_msg("ops: %s", e.msg);
    in = read_fx("ops", "input.f32", (size_t)3 * h * w * 4);
    if (nn_session_new(g, NULL, &s, &e) != VAS_OK || nn_session_run(s, in, 1, h, w, &e) != VAS_OK)
        fail_msg("ops: %s", e.msg);
    for (int i = 0; i < 3; i++) {
        const float *y = NULL;
        nn_tensor_info info;
        size_t n = (size_t)dims[i][0] * dims[i][1] * dims[i][2];
        char file[64];
        float *want;
        double d;
        assert_int_equal(nn_session_output(s, i, &y, &info, &e), VAS_OK);
        assert_int_equal(info.dims[1], dims[i][0]);
        assert_int_equal(info.dims[2], dims[i][1]);
        assert_int_equal(info.dims[3], dims[i][2]);
        snprintf(file, sizeof(file), "%s.f32", outs[i]);
        want = read_fx("ops", file, n * 4);
        d = max_diff(y, want, n);
        print_message("ops %s (%dx%dx%d): max |diff| %.3g\n", outs[i], dims[i][0], dims[i][1],
                      dims[i][2], d);
        assert_true(d < 1e-4);
        free(want);
    }
    /* conv weights (half) + folded bias, the BatchNorm (4 x 8), grouped 1x1, the transposed
     * convolution; Sub/RealDiv constants are normalisation, not weights */
    assert_int_equal(nn_tf_params(g), 3 * 3 * 3 * 8 + 8 + 4 * 8 + 12 * 16 + 3 * 3 * 5 * 16);
    nn_session_free(s);
    nn_graph_free(g);
    free(in);
}

/* The GPU form: the maps inside load; the pose extraction after them is refused by name. */
static void gpu_form(void **state)
{
    const char *outs[1] = {"concat_1"}, *names[1] = {"pose"};
    nn_graph *g = NULL;
    vas_err e = {0};

    (void)state;
    NEED_FIXTURES();
    assert_true(nn_tf_load(fx_path("mobilenet_v2_0.35/export/snapshot-30000.pb"), outs, 1, names,
                           &g, &e) < 0);
    print_message("concat_1: %s\n", e.msg);
    assert_null(g);
    assert_non_null(strstr(e.msg, "which vas does not implement"));
    assert_int_equal(nn_tf_load(fx_path("bad/no_pb/none.pb"), outs, 1, names, &g, &e),
                     VAS_ENOTFOUND);
}

int main(void)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    const char *env = getenv("VAS_FIXTURES");
    static const char *names[] = {"resnet_50",         "resnet_101",        "resnet_152",
                                  "mobilenet_v2_1.0",  "mobilenet_v2_0.75", "mobilenet_v2_0.5",
                                  "mobilenet_v2_0.35", "efficientnet-b0",   "efficientnet-b3"};
    struct CMUnitTest tests[16];
    int n = 0;

    snprintf(fx, sizeof(fx), "%s/dlc2", env ? env : "build/test/fixtures");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct CMUnitTest t = cmocka_unit_test_prestate(network_matches, (void *)names[i]);
        t.name = names[i];
        tests[n++] = t;
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(describe_only);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(refusals);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(gpu_form);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(tf_ops);
    return _cmocka_run_group_tests("dlc2_net", tests, (size_t)n, NULL, NULL);
}
