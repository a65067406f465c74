/* test_pose_model.c - model bundles on real folders: a DeepLabCut config.yaml, a pose_cfg.yaml
 * and a real ONNX network (the nn fixtures' DLC-style MobileNetV2); broken bundles are refused
 * with what is wrong and left out of the list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/log.h"
#include "core/util.h"
#include "nn/nn.h"
#include "pose/pose_model.h"

#include "testutil.h"

#include <openssl/sha.h>

#define NET "tests/fixtures/nn/net_mobilenetv2_dlc.onnx"

static const char project_yaml[] = "Task: openfield\nscorer: Pranav\ndate: Oct30\n"
                                   "bodyparts:\n- snout\n- leftear\n- rightear\n- tailbase\n"
                                   "skeleton:\n- [snout, leftear]\n- [snout, rightear]\n"
                                   "- [leftear, tailbase]\n- [rightear, tailbase]\n"
                                   "skeleton_color: black\npcutoff: 0.4\ndotsize: 8\n"
                                   "alphavalue: 0.7\ncolormap: jet\n";

typedef struct fx {
    char *dir;
    char heat[128], loc[128]; /* the fixture network's output names */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    nn_graph *g = NULL;
    const char *name = NULL;
    vas_err e = {0};

    *state = f;
    f->dir = tu_mkdtemp();
    if (!f->dir || nn_graph_load(NET, &g, &e) < 0 || nn_graph_n_outputs(g) < 2)
        return -1;
    nn_graph_output_name(g, 0, &name);
    snprintf(f->heat, sizeof(f->heat), "%s", name);
    nn_graph_output_name(g, 1, &name);
    snprintf(f->loc, sizeof(f->loc), "%s", name);
    nn_graph_free(g);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void write_in(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);

    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
    free(p);
}

/* A bundle folder <root>/<name> with the given pose_cfg (NULL: a good one) and the network. */
static char *make_bundle(fx *f, const char *name, const char *pose_cfg)
{
    char *b = tu_path(f->dir, name), good[1024], *onnx, *bytes;
    size_t n = 0;

    assert_int_equal(util_mkdir_p(b, 0755), 0);
    write_in(b, "config.yaml", project_yaml);
    snprintf(good, sizeof(good),
             "net_type: mobilenet_v2\nstride: 8\nlocation_refinement: true\n"
             "locref_stdev: 7.2801\ncolormode: RGB\nnormalize:\n  mean: [0.485, 0.456, 0.406]\n"
             "  std: [0.229, 0.224, 0.225]\ninput: input\noutputs:\n  heatmap: %s\n"
             "  locref: %s\nsigmoid_in_graph: true\niteration: 1000\n",
             f->heat, f->loc);
    write_in(b, "pose_cfg.yaml", pose_cfg ? pose_cfg : good);
    bytes = tu_read_file(NET, &n);
    onnx = tu_path(b, "net.onnx");
    assert_int_equal(tu_write_file(onnx, bytes, n), 0);
    free(onnx);
    free(bytes);
    return b;
}

static void good_bundle_loads(void **state)
{
    fx *f = *state;
    char *b = make_bundle(f, "mouse", NULL), *cfg = tu_path(b, "config.yaml"), *bytes, want[41];
    unsigned char md[SHA_DIGEST_LENGTH];
    pose_model *m = NULL;
    vas_err e = {0};
    size_t n = 0;

    assert_int_equal(pose_model_load("mouse", cfg, 1, &m, &e), VAS_OK);
    assert_string_equal(m->name, "mouse");
    assert_int_equal(m->n_bodyparts, 4);
    assert_string_equal(m->bodyparts[3], "tailbase");
    assert_int_equal(m->n_skeleton, 4);
    assert_int_equal(m->skeleton[2][0], 1); /* leftear */
    assert_int_equal(m->skeleton[2][1], 3); /* tailbase */
    assert_string_equal(m->scorer, "DLC_MobilenetV2_openfieldOct30shuffle1_snapshot_1000");
    assert_int_equal(m->stride, 8);
    assert_true(m->locref);
    assert_true(m->locref_stdev == 7.2801);
    assert_true(m->mean[1] == 0.456f && m->std[2] == 0.225f);
    assert_false(m->bgr);
    assert_true(m->pcutoff == 0.4);
    assert_int_equal(m->dotsize, 8);
    assert_string_equal(m->colormap, "jet");
    bytes = tu_read_file(NET, &n);
    SHA1((unsigned char *)bytes, n, md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(m->weights_sha1, want);
    pose_model_free(m);
    free(bytes);
    free(cfg);
    free(b);
}

/* Loads bundle "name" made with pose_cfg; expects VAS_EINVAL with msg containing `says`. */
static void refused(fx *f, const char *name, const char *pose_cfg, const char *says)
{
    char *b = make_bundle(f, name, pose_cfg), *cfg = tu_path(b, "config.yaml");
    pose_model *m = NULL;
    vas_err e = {0};

    assert_int_equal(pose_model_load(name, cfg, 1, &m, &e), VAS_EINVAL);
    assert_null(m);
    if (!strstr(e.msg, says))
        fail_msg("'%s' does not say '%s'", e.msg, says);
    free(cfg);
    free(b);
}

static void broken_bundles_refused(void **state)
{
    fx *f = *state;
    char *b, *p;

    refused(f, "nonorm", "stride: 8\n", "normalize needs mean and std");
    refused(f, "badstd", "normalize:\n  mean: [0, 0, 0]\n  std: [1, 0, 1]\n",
            "std must be positive");
    refused(f, "badout",
            "normalize:\n  mean: [0, 0, 0]\n  std: [1, 1, 1]\noutputs:\n  heatmap: nope\n",
            "no output named 'nope'");
    refused(f, "notyaml", "a: [b\n", "not YAML");
    b = make_bundle(f, "twonets", NULL); /* a second .onnx */
    p = tu_path(b, "other.onnx");
    assert_int_equal(tu_write_file(p, "x", 1), 0);
    free(p);
    free(b);
    {
        char *cfg = tu_path(f->dir, "twonets/config.yaml");
        pose_model *m = NULL;
        vas_err e = {0};
        assert_int_equal(pose_model_load("twonets", cfg, 0, &m, &e), VAS_EINVAL);
        assert_non_null(strstr(e.msg, "exactly one .onnx file (found 2)"));
        free(cfg);
    }
}

static void skeleton_must_name_bodyparts(void **state)
{
    fx *f = *state;
    char *b = make_bundle(f, "badskel", NULL), *cfg = tu_path(b, "config.yaml");
    pose_model *m = NULL;
    vas_err e = {0};

    write_in(b, "config.yaml", "Task: t\ndate: Jan1\nbodyparts: [a, b]\nskeleton:\n- [a, c]\n");
    assert_int_equal(pose_model_load("badskel", cfg, 0, &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "skeleton names a part not in bodyparts: 'c'"));
    free(cfg);
    free(b);
}

/* The fingerprint follows every file that shapes results; the network's own SHA-1 only the .onnx.
 */
static void fingerprint_follows_config(void **state)
{
    fx *f = *state;
    char *b = make_bundle(f, "fp", NULL), *cfg = tu_path(b, "config.yaml");
    pose_model *m1 = NULL, *m2 = NULL;
    vas_err e = {0};

    write_in(b, "config.yaml", "Task: t\ndate: Jan1\nbodyparts: [a, b]\ncolormap: jet\n");
    assert_int_equal(pose_model_load("fp", cfg, 0, &m1, &e), VAS_OK);
    write_in(b, "config.yaml", "Task: t\ndate: Jan1\nbodyparts: [a, b]\ncolormap: rainbow\n");
    assert_int_equal(pose_model_load("fp", cfg, 0, &m2, &e), VAS_OK);
    assert_string_equal(m1->weights_sha1, m2->weights_sha1);
    assert_int_equal(strlen(m1->fingerprint), 40);
    assert_string_not_equal(m1->fingerprint, m2->fingerprint);
    pose_model_free(m1);
    pose_model_free(m2);
    free(cfg);
    free(b);
}

/* The plotting keys are checked when the model loads, not at its first labeled video. */
static void plotting_keys_checked_at_load(void **state)
{
    static const char *const cases[][2] = {
        {"colormap: nosuchmap\n", "colormap: unknown colormap"},
        {"skeleton_color: blurple\n", "skeleton_color:"},
        {"pcutoff: 1.5\n", "pcutoff must be from 0 to 1"},
        {"dotsize: 0\n", "dotsize must be from 1 to 1000"},
        {"dotsize: 1e111\n", "dotsize must be from 1 to 1000, not 1e+111"}, /* not UB: fuzzed */
    };
    fx *f = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[32], text[256];
        snprintf(name, sizeof(name), "plot%zu", i);
        char *b = make_bundle(f, name, NULL), *cfg = tu_path(b, "config.yaml");
        pose_model *m = NULL;
        vas_err e = {0};
        snprintf(text, sizeof(text), "Task: t\ndate: Jan1\nbodyparts: [a, b]\n%s", cases[i][0]);
        write_in(b, "config.yaml", text);
        assert_int_equal(pose_model_load(name, cfg, 0, &m, &e), VAS_EINVAL);
        if (!strstr(e.msg, cases[i][1]))
            fail_msg("case %zu: '%s' does not say '%s'", i, e.msg, cases[i][1]);
        free(cfg);
        free(b);
    }
}

static void list_leaves_broken_out(void **state)
{
    fx *f = *state;
    char *good = make_bundle(f, "good", NULL), *bad = make_bundle(f, "bad", "stride: 8\n");
    char *old = make_bundle(f, "old-layout", NULL), *yaml = tu_path(f->dir, "vas.yaml");
    char text[4096], names[256];
    pose_models *l = NULL;
    config c;
    vas_err e = {0};
    json_t *j, *first;

    /* The old service's DLC_MODELS mapping, plus the folder of bundles. */
    snprintf(text, sizeof(text), "DLC_MODELS:\n  legacy: %s/config.yaml\n", old);
    assert_int_equal(tu_write_file(yaml, text, strlen(text)), 0);
    assert_int_equal(config_defaults(&c, &e), VAS_OK);
    assert_int_equal(config_load_file(&c, yaml, &e), VAS_OK);
    assert_int_equal(c.n_model_map, 1);
    assert_string_equal(c.model_map_names[0], "legacy");
    free(c.models_dir);
    c.models_dir = strdup(f->dir);
    assert_int_equal(pose_models_load(&c, 1, &l, &e), VAS_OK);
    /* legacy (mapping) first, then the folders in name order; "bad" is left out */
    assert_int_equal(pose_models_count(l), 3);
    pose_models_names(l, names, sizeof(names));
    assert_string_equal(names, "legacy, good, old-layout");
    assert_null(pose_models_find(l, "bad"));
    assert_non_null(pose_models_find(l, "good"));
    j = pose_models_json(l);
    first = json_array_get(j, 1);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "good");
    assert_int_equal(json_array_size(json_object_get(first, "bodyparts")), 4);
    assert_string_equal(
        json_string_value(json_array_get(json_array_get(json_object_get(first, "skeleton"), 0), 1)),
        "leftear");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(first, "input"), "stride")),
                     8);
    assert_string_equal(json_string_value(json_object_get(first, "format")), "onnx");
    /* the refused one is listed after the loaded ones, with why */
    assert_int_equal(json_array_size(j), 4);
    assert_int_equal(pose_models_refused_count(l), 1);
    first = json_array_get(j, 3);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "bad");
    assert_non_null(
        strstr(json_string_value(json_object_get(first, "error")), "normalize needs mean and std"));
    assert_null(json_object_get(first, "bodyparts"));
    json_decref(j);
    pose_models_free(l);
    config_free(&c);
    free(good);
    free(bad);
    free(old);
    free(yaml);
}

static void empty_folder_has_no_models(void **state)
{
    fx *f = *state;
    pose_models *l = NULL;
    config c;
    vas_err e = {0};
    char names[64];

    assert_int_equal(config_defaults(&c, &e), VAS_OK);
    free(c.models_dir);
    c.models_dir = tu_path(f->dir, "absent");
    assert_int_equal(pose_models_load(&c, 1, &l, &e), VAS_OK);
    assert_int_equal(pose_models_count(l), 0);
    pose_models_names(l, names, sizeof(names));
    assert_string_equal(names, "none");
    pose_models_free(l);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(good_bundle_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_bundles_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(skeleton_must_name_bodyparts, setup, teardown),
        cmocka_unit_test_setup_teardown(plotting_keys_checked_at_load, setup, teardown),
        cmocka_unit_test_setup_teardown(fingerprint_follows_config, setup, teardown),
        cmocka_unit_test_setup_teardown(list_leaves_broken_out, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_folder_has_no_models, setup, teardown),
    };

    log_set_level(LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
