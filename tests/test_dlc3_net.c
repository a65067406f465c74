/* test_dlc3_net.c - DeepLabCut 3 models (model/dlc3_net.h) against the projects that
 * tools/make-dlc3-fixtures.py writes into $VAS_FIXTURES/dlc3: for every architecture (full-size
 * resnet_50 with GroupNorm, reduced resnet_101/50/152 at output strides 16/8/32, reduced HRNet
 * w18/w32/w48 and w32 with increased_channel_count) the export and the training snapshot load,
 * describe themselves as DLC does (stride, params, bodyparts, normalisation, padding), and the
 * engine's heatmap and locref match PyTorch's within 1e-4 and the decoded poses DLC's within
 * 0.01 px; HRNet runs on the picture padded as DLC pads it. Then each bad export is refused with
 * its message, and the YAML reader resolves scalars as DLC's ruamel does. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/dlc3_net.h"
#include "pose/pose_decode.h"

#include "testutil.h"

#define MAX_CASES 16
#define TOL_MAP   1e-4
#define TOL_PX    0.01
#define TRAIN_SNAPSHOT                                                                             \
    "dlc-models-pytorch/iteration-0/testJan1-trainset95shuffle1/train/snapshot-best-008.pt"

static char case_names[MAX_CASES][64];
static int n_cases;
static char fx_buf[2048];

/* $VAS_FIXTURES/dlc3/<rel> in a static buffer. */
static const char *fx(const char *rel)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    const char *d = getenv("VAS_FIXTURES");

    snprintf(fx_buf, sizeof(fx_buf), "%s/dlc3/%s", d ? d : "build/test/fixtures", rel);
    return fx_buf;
}

/* <case>/<rel> as a new string (caller frees). */
static char *case_path(const char *name, const char *rel)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "%s/%s", name, rel);
    return strdup(fx(buf));
}

static void *read_bin(const char *name, const char *rel, size_t want)
{
    char *p = case_path(name, rel);
    size_t len = 0;
    void *buf = tu_read_file(p, &len);

    if (!buf)
        fail_msg("cannot read %s", p);
    if (len != want)
        fail_msg("%s: %zu bytes, expected %zu", p, len, want);
    free(p);
    return buf;
}

static json_t *case_json(const char *name)
{
    char *p = case_path(name, "ref/case.json");
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);

    if (!j)
        fail_msg("%s: %s", p, je.text);
    free(p);
    return j;
}

static int jint(const json_t *j, const char *key)
{
    return (int)json_integer_value(json_object_get(j, key));
}

static int jat(const json_t *j, const char *key, int i)
{
    return (int)json_integer_value(json_array_get(json_object_get(j, key), (size_t)i));
}

/* ---- running a model on the case's picture ---- */

/* The picture padded bottom/right to a multiple of mult as cv2.BORDER_REFLECT_101 does. */
static unsigned char *pad_reflect101(const unsigned char *img, int h, int w, int mult, int *ph,
                                     int *pw)
{
    int H = (h + mult - 1) / mult * mult, W = (w + mult - 1) / mult * mult;
    unsigned char *out = malloc((size_t)H * W * 3);

    assert_non_null(out);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int sy = y < h ? y : 2 * (h - 1) - y, sx = x < w ? x : 2 * (w - 1) - x;
            memcpy(out + ((size_t)y * W + x) * 3, img + ((size_t)sy * w + sx) * 3, 3);
        }
    *ph = H;
    *pw = W;
    return out;
}

/* NCHW float input from an RGB picture, as model_net says to feed it. */
static float *to_input(const model_net *m, const unsigned char *img, int h, int w)
{
    float *in = malloc((size_t)3 * h * w * sizeof(float));

    assert_non_null(in);
    for (int c = 0; c < 3; c++) {
        int src = m->bgr ? 2 - c : c;
        for (long i = 0; i < (long)h * w; i++)
            in[(long)c * h * w + i] = ((float)img[i * 3 + src] / 255.0f - m->mean[c]) / m->std[c];
    }
    return in;
}

static double max_diff(const float *a, const float *b, long n)
{
    double d = 0;

    for (long i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* Runs m on the case's picture (padded when m pads) and checks maps and poses. */
static void check_outputs(const char *name, const json_t *cj, const model_net *m)
{
    int J = jint(cj, "n_joints"), h = jat(cj, "image", 0), w = jat(cj, "image", 1);
    int mh = jat(cj, "maps", 0), mw = jat(cj, "maps", 1), ih = h, iw = w, lr = m->locref;
    long cells = (long)mh * mw;
    unsigned char *img = read_bin(name, "ref/image.rgb", (size_t)h * w * 3), *net_img = img;
    float *hm = read_bin(name, "ref/heatmap.f32", (size_t)J * cells * 4), *in;
    float *loc = lr ? read_bin(name, "ref/locref.f32", (size_t)2 * J * cells * 4) : NULL;
    double *poses = read_bin(name, "ref/poses.f64", (size_t)J * 3 * 8), xyl[3 * 64];
    const float *y[2] = {NULL, NULL};
    nn_tensor_info info;
    nn_session *s = NULL;
    vas_err e = {0};

    if (m->pad_multiple > 1) {
        unsigned char *want =
            read_bin(name, "ref/padded.rgb", (size_t)jat(cj, "input", 0) * jat(cj, "input", 1) * 3);
        net_img = pad_reflect101(img, h, w, m->pad_multiple, &ih, &iw);
        assert_int_equal(ih, jat(cj, "input", 0));
        assert_int_equal(iw, jat(cj, "input", 1));
        assert_memory_equal(net_img, want, (size_t)ih * iw * 3);
        free(want);
    }
    in = to_input(m, net_img, ih, iw);
    if (nn_session_new(m->graph, NULL, &s, &e) < 0 || nn_session_run(s, in, 1, ih, iw, &e) < 0)
        fail_msg("%s: %s", name, e.msg);
    for (int o = 0; o < 1 + lr; o++) {
        assert_int_equal(nn_session_output(s, o, &y[o], &info, &e), VAS_OK);
        assert_int_equal(info.ndims, 4);
        assert_int_equal(info.dims[1], (o + 1) * J);
        assert_int_equal(info.dims[2], mh);
        assert_int_equal(info.dims[3], mw);
    }
    double dh = max_diff(y[0], hm, (long)J * cells);
    double dl = lr ? max_diff(y[1], loc, 2L * J * cells) : 0;
    print_message("%s (%s): %dx%d input, heatmap max |diff| %.2e, locref %.2e\n", name, m->format,
                  iw, ih, dh, dl);
    assert_true(dh <= TOL_MAP && dl <= TOL_MAP);
    pose_maps pm = {y[0], lr ? y[1] : NULL, J, mh, mw, m->stride, m->locref_std};
    assert_int_equal(pose_decode(&pm, xyl, &e), VAS_OK);
    for (int j = 0; j < J; j++) {
        const double *got = xyl + 3L * j, *want = poses + 3L * j;
        assert_true(fabs(got[0] - want[0]) <= TOL_PX && fabs(got[1] - want[1]) <= TOL_PX);
        assert_true(fabs(got[2] - want[2]) <= 1e-4);
    }
    if (m->pad_multiple > 1) { /* unpadded, HRNet's branches do not line up: refused, no crash */
        float *raw = to_input(m, img, h, w);
        int rc = nn_session_run(s, raw, 1, h, w, &e);
        print_message("%s unpadded %dx%d: %s\n", name, w, h, e.msg);
        assert_true(rc < 0);
        free(raw);
    }
    nn_session_free(s);
    if (net_img != img)
        free(net_img);
    free(img);
    free(in);
    free(hm);
    free(loc);
    free(poses);
}

/* What every load of the case must say about itself. */
static void check_described(const json_t *cj, const model_net *m, const char *format)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    const json_t *bp = json_object_get(cj, "bodyparts");

    assert_string_equal(m->format, format);
    assert_string_equal(m->net_type, json_string_value(json_object_get(cj, "net_type")));
    assert_non_null(strstr(m->arch, json_string_value(json_object_get(cj, "model_name"))));
    assert_true(m->stride == json_number_value(json_object_get(cj, "stride")));
    assert_int_equal(m->params, json_integer_value(json_object_get(cj, "params")));
    assert_int_equal(m->locref, json_is_true(json_object_get(cj, "locref")));
    assert_true(fabs(m->locref_std - 7.2801) < 1e-12);
    assert_int_equal(m->sigmoid, 0);
    assert_int_equal(m->bgr, 0);
    for (int c = 0; c < 3; c++)
        assert_true(m->mean[c] == mean[c] && m->std[c] == std[c]);
    assert_int_equal(m->pad_multiple, jint(cj, "pad_multiple"));
    assert_int_equal(m->pad_reflect, jint(cj, "pad_multiple") > 0);
    assert_int_equal(m->n_bodyparts, (int)json_array_size(bp));
    for (int i = 0; i < m->n_bodyparts; i++)
        assert_string_equal(m->bodyparts[i], json_string_value(json_array_get(bp, (size_t)i)));
    assert_non_null(m->graph);
    assert_int_equal(nn_graph_n_outputs(m->graph), 1 + m->locref);
}

static void export_matches_pytorch(void **state)
{
    const char *name = *state;
    json_t *cj = case_json(name), *used = NULL;
    char *pt = case_path(name, json_string_value(json_object_get(cj, "export")));
    model_net m = {0};
    vas_err e = {0};

    if (dlc3_net_load(pt, NULL, 1, &m, &used, &e) != VAS_OK)
        fail_msg("%s: %s", pt, e.msg);
    print_message("%s: %s, %lld parameters, stride %g\n", name, m.arch, (long long)m.params,
                  m.stride);
    check_described(cj, &m, "dlc3-export");
    assert_string_equal(m.snapshot_uid, "best-8");
    assert_string_equal(m.weights, pt);
    assert_string_equal(json_string_value(json_object_get(used, "net_type")), m.net_type);
    check_outputs(name, cj, &m);
    model_net_clear(&m);
    assert_null(m.graph);
    json_decref(used);
    json_decref(cj);
    free(pt);
}

/* The training snapshot with its shuffle's pytorch_config.yaml: the same network. The YAML
 * read here equals the dict the export pickled. */
static void snapshot_matches_pytorch(void **state)
{
    const char *name = *state;
    json_t *cj = case_json(name), *cfg = NULL, *used = NULL, *exp_cfg = NULL;
    char *yml = case_path(name, json_string_value(json_object_get(cj, "train_config")));
    char *pt = case_path(name, json_string_value(json_object_get(cj, "snapshot")));
    char *xp = case_path(name, json_string_value(json_object_get(cj, "export")));
    model_net m = {0};
    vas_err e = {0};

    if (dlc3_config_read(yml, &cfg, &e) != VAS_OK)
        fail_msg("%s: %s", yml, e.msg);
    if (dlc3_net_load(pt, cfg, 1, &m, &used, &e) != VAS_OK)
        fail_msg("%s: %s", pt, e.msg);
    assert_ptr_equal(used, cfg);
    check_described(cj, &m, "dlc3-snapshot");
    assert_string_equal(m.snapshot_uid, "best-8");
    check_outputs(name, cj, &m);
    model_net_clear(&m);
    assert_int_equal(dlc3_net_load(xp, NULL, 0, &m, &exp_cfg, &e), VAS_OK);
    assert_null(m.graph);
    assert_true(json_equal(cfg, exp_cfg));
    model_net_clear(&m);
    json_decref(exp_cfg);
    json_decref(used);
    json_decref(cfg);
    json_decref(cj);
    free(yml);
    free(pt);
    free(xp);
}

/* Every snapshot of the shuffle loads (snapshot-005 stores numpy metrics, as DLC 3.0 did). */
static void every_snapshot_loads(void **state)
{
    const char *name = *state;
    json_t *cj = case_json(name), *cfg = NULL;
    const json_t *snaps = json_object_get(cj, "snapshots");
    char *yml = case_path(name, json_string_value(json_object_get(cj, "train_config")));
    vas_err e = {0};

    assert_int_equal(dlc3_config_read(yml, &cfg, &e), VAS_OK);
    for (size_t i = 0; i < json_array_size(snaps); i++) {
        char *pt = case_path(name, json_string_value(json_array_get(snaps, i)));
        const char *uid = strstr(pt, "best") ? "best-8" : strstr(pt, "005") ? "5" : "10";
        model_net m = {0};
        if (dlc3_net_load(pt, cfg, 1, &m, NULL, &e) != VAS_OK)
            fail_msg("%s: %s", pt, e.msg);
        assert_string_equal(m.snapshot_uid, uid);
        assert_int_equal(m.params, json_integer_value(json_object_get(cj, "params")));
        model_net_clear(&m);
        free(pt);
    }
    json_decref(cfg);
    json_decref(cj);
    free(yml);
}

/* ---- refusals ---- */

/* The good exports: DLC's defaults, or BGR without normalisation and with the sigmoid. */
static void check_variant(const char *file, const model_net *m)
{
    int v = strstr(file, "sigmoid") != NULL;
    float mean = v ? 0.0f : 0.485f, std = v ? 1.0f / 255.0f : 0.229f;

    assert_int_equal(m->bgr, v);
    assert_int_equal(m->sigmoid, v);
    assert_true(m->mean[0] == mean && m->std[0] == std);
    assert_true(m->stride == 8.0);
    assert_int_equal(m->pad_multiple, 0);
    assert_int_equal(m->n_bodyparts, 2);
    assert_non_null(m->graph);
}

/* Each bad export fails with its messages (bad/cases.json), leaving the model cleared. */
static void bad_models_refused(void **state)
{
    json_error_t je;
    json_t *cases = json_load_file(fx("bad/cases.json"), 0, &je);
    char path[256];

    (void)state;
    if (!cases)
        fail_msg("bad/cases.json: %s", je.text);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *file = json_string_value(json_object_get(c, "file"));
        const json_t *want = json_object_get(c, "expect");
        model_net m = {0};
        json_t *used = (json_t *)cases;
        vas_err e = {0};
        int rc;
        snprintf(path, sizeof(path), "bad/%s", file);
        rc = dlc3_net_load(fx(path), NULL, 1, &m, &used, &e);
        if (json_array_size(want) == 0) {
            if (rc != VAS_OK)
                fail_msg("%s: %s", file, e.msg);
            check_variant(file, &m);
            model_net_clear(&m);
            json_decref(used);
            continue;
        }
        print_message("%s: %s\n", file, e.msg);
        assert_true(rc < 0);
        assert_ptr_equal(used, cases); /* untouched */
        assert_null(m.graph);
        assert_int_equal(m.n_bodyparts, 0);
        for (size_t k = 0; k < json_array_size(want); k++)
            if (!strstr(e.msg, json_string_value(json_array_get(want, k))))
                fail_msg("%s: message '%s' lacks '%s'", file, e.msg,
                         json_string_value(json_array_get(want, k)));
    }
    json_decref(cases);
}

/* A training snapshot has no config of its own: without the YAML it is refused by name. */
static void snapshot_without_config_refused(void **state)
{
    char *pt = case_path("resnet_101", TRAIN_SNAPSHOT);
    model_net m = {0};
    vas_err e = {0};

    (void)state;
    assert_true(dlc3_net_load(pt, NULL, 1, &m, NULL, &e) < 0);
    assert_non_null(strstr(e.msg, "pytorch_config.yaml"));
    assert_true(dlc3_net_load("/nonexistent/snapshot-1.pt", NULL, 1, &m, NULL, &e) < 0);
    assert_null(m.graph);
    free(pt);
}

/* ---- the YAML reader ---- */

static void yaml_scalars_as_ruamel(void **state)
{
    tu_dir_fx *f = *state;
    const char *text = "a: 1e-05\nb: yes\nc: '12'\nd: ~\ne: 0x1F\nf: .inf\ng: -3\nh: 2.5\n"
                       "i: True\nj:\nk: [1, 2.0, x]\nl: \"7\"\n";
    json_t *j = NULL;
    vas_err e = {0};

    assert_int_equal(tu_write_file(tu_dir_file(f, "c.yaml"), text, strlen(text)), 0);
    assert_int_equal(dlc3_config_read(f->path, &j, &e), VAS_OK);
    assert_true(json_is_real(json_object_get(j, "a")));
    assert_true(json_real_value(json_object_get(j, "a")) == 1e-05);
    assert_string_equal(json_string_value(json_object_get(j, "b")), "yes");
    assert_string_equal(json_string_value(json_object_get(j, "c")), "12");
    assert_true(json_is_null(json_object_get(j, "d")));
    assert_int_equal(json_integer_value(json_object_get(j, "e")), 31);
    assert_string_equal(json_string_value(json_object_get(j, "f")), ".inf");
    assert_int_equal(json_integer_value(json_object_get(j, "g")), -3);
    assert_true(json_real_value(json_object_get(j, "h")) == 2.5);
    assert_true(json_is_true(json_object_get(j, "i")));
    assert_true(json_is_null(json_object_get(j, "j")));
    assert_true(json_is_integer(json_array_get(json_object_get(j, "k"), 0)));
    assert_true(json_is_real(json_array_get(json_object_get(j, "k"), 1)));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "k"), 2)), "x");
    assert_string_equal(json_string_value(json_object_get(j, "l")), "7");
    json_decref(j);
    /* An alias bomb (10^9 values from 9 lines), a list, not YAML: refused, nothing returned. */
    char bomb[1024];
    size_t at = (size_t)snprintf(bomb, sizeof(bomb), "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
    for (int k = 1; k < 9; k++)
        at += (size_t)snprintf(bomb + at, sizeof(bomb) - at,
                               "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                               "*a%d]\n",
                               k, k, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1,
                               k - 1);
    j = NULL;
    assert_int_equal(tu_write_file(f->path, bomb, at), 0);
    assert_true(dlc3_config_read(f->path, &j, &e) < 0);
    assert_non_null(strstr(e.msg, "too many values"));
    assert_int_equal(tu_write_file(f->path, "- 1\n- 2\n", 8), 0);
    assert_true(dlc3_config_read(f->path, &j, &e) < 0);
    assert_int_equal(tu_write_file(f->path, "a: [1\n", 6), 0);
    assert_true(dlc3_config_read(f->path, &j, &e) < 0);
    assert_null(j);
}

/* ---- the cases ---- */

static int load_cases(void)
{
    char *txt = tu_read_file(fx("cases.txt"), NULL), *p, *nl;

    if (!txt)
        return 0;
    for (p = txt; *p && n_cases < MAX_CASES; p = nl + 1) {
        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
        snprintf(case_names[n_cases++], sizeof(case_names[0]), "%s", p);
    }
    free(txt);
    return n_cases;
}

int main(void)
{
    struct CMUnitTest tests[3 * MAX_CASES + 4];
    int n = 0;

    if (!load_cases()) {
        print_message("skipped test_dlc3_net: no fixtures at %s (tools/make-dlc3-fixtures.py "
                      "makes them when the tests are built)\n",
                      fx("cases.txt"));
        return 0;
    }
    for (int i = 0; i < n_cases; i++) {
        tests[n++] =
            (struct CMUnitTest)cmocka_unit_test_prestate(export_matches_pytorch, case_names[i]);
        tests[n++] =
            (struct CMUnitTest)cmocka_unit_test_prestate(snapshot_matches_pytorch, case_names[i]);
        tests[n++] =
            (struct CMUnitTest)cmocka_unit_test_prestate(every_snapshot_loads, case_names[i]);
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(bad_models_refused);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(snapshot_without_config_refused);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(yaml_scalars_as_ruamel,
                                                                    tu_dir_setup, tu_dir_teardown);
    return _cmocka_run_group_tests("dlc3_net", tests, (size_t)n, NULL, NULL);
}
