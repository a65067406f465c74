/* test_model_locate.c - finding a model by DeepLabCut's folder layouts, on real folders: DLC 3
 * projects, shuffles, train folders and exports, DLC 2 exports and TensorFlow checkpoints, vas
 * bundles; DLC's choice of snapshot (best last, snapshotindex) and the caller's; refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/util.h"
#include "model/model_locate.h"

#include "testutil.h"

#define SHUFFLE "dlc-models-pytorch/iteration-0/testJan1-trainset95shuffle1"

/* Makes dir/rel (and its folders) holding text. */
static void put(tu_dir_fx *f, const char *rel, const char *text)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    *strrchr(path, '/') = '\0';
    assert_int_equal(util_mkdir_p(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    assert_int_equal(tu_write_file(path, text, strlen(text)), 0);
}

static void project(tu_dir_fx *f, const char *extra)
{
    char y[512];

    snprintf(y, sizeof(y),
             "Task: test\nscorer: me\ndate: Jan1\niteration: 0\nTrainingFraction:\n- 0.95\n"
             "bodyparts:\n- a\n- b\n%s",
             extra);
    put(f, "config.yaml", y);
}

static void train(tu_dir_fx *f, int best)
{
    put(f, SHUFFLE "/train/pytorch_config.yaml", "net_type: resnet_50\n");
    put(f, SHUFFLE "/train/snapshot-005.pt", "x");
    put(f, SHUFFLE "/train/snapshot-010.pt", "x");
    if (best)
        put(f, SHUFFLE "/train/snapshot-best-008.pt", "x");
}

static void ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    if (a < b || strcmp(s + a - b, suffix) != 0)
        fail_msg("'%s' does not end with '%s'", s, suffix);
}

static void dlc3_project_picks_best(void **state)
{
    tu_dir_fx *f = *state;
    model_loc m;
    vas_err e = {0};

    project(f, "");
    train(f, 1);
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_OK);
    assert_int_equal(m.kind, MODEL_DLC3_SNAPSHOT);
    ends(m.weights, "/train/snapshot-best-008.pt");
    ends(m.model_cfg, "/train/pytorch_config.yaml");
    assert_string_equal(m.snapshot_uid, "best-8");
    assert_string_equal(m.taskdate, "testJan1");
    assert_int_equal(m.shuffle, 1);
    ends(m.project, "config.yaml");
    assert_string_equal(model_kind_name(m.kind), "dlc3-snapshot");
}

static void dlc3_latest_without_best_and_named(void **state)
{
    tu_dir_fx *f = *state;
    model_loc m;
    vas_err e = {0};
    char path[1024];

    project(f, "");
    train(f, 0);
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_OK);
    ends(m.weights, "/snapshot-010.pt");
    assert_string_equal(m.snapshot_uid, "10");
    assert_int_equal(model_locate(f->dir, "5", &m, &e), VAS_OK);
    ends(m.weights, "/snapshot-005.pt");
    assert_string_equal(m.snapshot_uid, "5");
    assert_int_equal(model_locate(f->dir, "snapshot-010.pt", &m, &e), VAS_OK);
    assert_string_equal(m.snapshot_uid, "10");
    assert_int_equal(model_locate(f->dir, "7", &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "no snapshot '7'"));
    assert_int_equal(model_locate(f->dir, "best", &m, &e), VAS_EINVAL);
    /* the train folder itself, the shuffle folder, and a .pt file */
    snprintf(path, sizeof(path), "%s/" SHUFFLE "/train", f->dir);
    assert_int_equal(model_locate(path, NULL, &m, &e), VAS_OK);
    assert_string_equal(m.taskdate, "testJan1");
    ends(m.project, "config.yaml");
    snprintf(path, sizeof(path), "%s/" SHUFFLE, f->dir);
    assert_int_equal(model_locate(path, NULL, &m, &e), VAS_OK);
    assert_string_equal(m.snapshot_uid, "10");
    snprintf(path, sizeof(path), "%s/" SHUFFLE "/train/snapshot-005.pt", f->dir);
    assert_int_equal(model_locate(path, NULL, &m, &e), VAS_OK);
    assert_string_equal(m.snapshot_uid, "5");
}

static void dlc3_snapshotindex(void **state)
{
    tu_dir_fx *f = *state;
    model_loc m;
    vas_err e = {0};

    project(f, "snapshotindex: 0\n");
    train(f, 1);
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_OK);
    assert_string_equal(m.snapshot_uid, "5");
    project(f, "snapshotindex: 7\n");
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "snapshotindex 7 is out of range"));
}

static void dlc3_trainset_truncates_as_python(void **state)
{
    tu_dir_fx *f = *state;
    model_loc m;
    vas_err e = {0};

    /* int(0.57 * 100) == 56 in Python, and so is DLC's folder */
    put(f, "config.yaml", "Task: t\ndate: Feb2\niteration: 3\nTrainingFraction: [0.57]\n");
    put(f, "dlc-models-pytorch/iteration-3/tFeb2-trainset56shuffle1/train/pytorch_config.yaml",
        "x");
    put(f, "dlc-models-pytorch/iteration-3/tFeb2-trainset56shuffle1/train/snapshot-200.pt", "x");
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_OK);
    assert_string_equal(m.taskdate, "tFeb2");
    assert_string_equal(m.snapshot_uid, "200");
}

static void dlc3_export(void **state)
{
    tu_dir_fx *f = *state;
    model_loc m;
    vas_err e = {0};
    char dir[1024];

    project(f, "");
    put(f,
        "exported-models-pytorch/DLC_test_resnet_50_iteration-0_shuffle-2/"
        "DLC_test_resnet_50_iteration-0_shuffle-2_snapshot-best-190.pt",
        "x");
    snprintf(dir, sizeof(dir),
             "%s/exported-models-pytorch/DLC_test_resnet_50_iteration-0_shuffle-2", f->dir);
    assert_int_equal(model_locate(dir, NULL, &m, &e), VAS_OK);
    assert_int_equal(m.kind, MODEL_DLC3_EXPORT);
    assert_string_equal(m.snapshot_uid, "best-190");
    assert_int_equal(m.shuffle, 2);
    assert_string_equal(m.taskdate, "testJan1"); /* from the project two folders up */
    assert_string_equal(m.model_cfg, "");
    put(f,
        "exported-models-pytorch/DLC_test_resnet_50_iteration-0_shuffle-2/"
        "DLC_test_resnet_50_iteration-0_shuffle-2_snapshot-200.pt",
        "x");
    assert_int_equal(model_locate(dir, NULL, &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "holds 2 .pt files"));
    assert_int_equal(model_locate(dir, "200", &m, &e), VAS_OK);
    assert_string_equal(m.snapshot_uid, "200");
    assert_int_equal(model_locate(dir, "best", &m, &e), VAS_OK);
    assert_string_equal(m.snapshot_uid, "best-190");
}

static void dlc2_export_and_checkpoints(void **state)
{
    tu_dir_fx *f = *state;
    model_loc m;
    vas_err e = {0};

    put(f, "config.yaml",
        "Task: reaching\ndate: Jan30\niteration: 1\nTrainingFraction: [0.95]\nengine: "
        "tensorflow\n");
    put(f, "exported-models/DLC_reaching_resnet_50_iteration-1_shuffle-1/pose_cfg.yaml", "x");
    put(f, "exported-models/DLC_reaching_resnet_50_iteration-1_shuffle-1/snapshot-200000.pb", "x");
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_OK); /* the project finds it */
    assert_int_equal(m.kind, MODEL_DLC2_EXPORT);
    assert_string_equal(m.snapshot_uid, "200000");
    assert_string_equal(m.taskdate, "reachingJan30");
    ends(m.model_cfg, "shuffle-1/pose_cfg.yaml");
    /* a training folder of TensorFlow checkpoints is refused with what to do */
    put(f, "ckpt/snapshot-1000.index", "x");
    put(f, "ckpt/snapshot-1000.meta", "x");
    assert_int_equal(model_locate(tu_dir_file(f, "ckpt"), NULL, &m, &e), VAS_EUNSUPPORTED);
    assert_non_null(strstr(e.msg, "deeplabcut.export_model"));
}

static void refusals(void **state)
{
    tu_dir_fx *f = *state;
    model_loc m;
    vas_err e = {0};

    assert_int_equal(model_locate(tu_dir_file(f, "nothing"), NULL, &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "no such model"));
    put(f, "empty/readme.txt", "x");
    assert_int_equal(model_locate(tu_dir_file(f, "empty"), NULL, &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "no model in"));
    project(f, "multianimalproject: true\n");
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_EUNSUPPORTED);
    assert_non_null(strstr(e.msg, "multi-animal"));
    project(f, "");
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "has no trained shuffle 1 model"));
    put(f, SHUFFLE "/train/pytorch_config.yaml", "net_type: resnet_50\n");
    assert_int_equal(model_locate(f->dir, NULL, &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "holds no snapshot-*.pt"));
}

static void onnx_bundle(void **state)
{
    tu_dir_fx *f = *state;
    model_loc m;
    vas_err e = {0};

    put(f, "b/config.yaml", "Task: t\n");
    put(f, "b/pose_cfg.yaml", "x");
    put(f, "b/net.onnx", "x");
    assert_int_equal(model_locate(tu_dir_file(f, "b"), NULL, &m, &e), VAS_OK);
    assert_int_equal(m.kind, MODEL_ONNX);
    ends(m.weights, "b/net.onnx");
    ends(m.project, "b/config.yaml");
    assert_int_equal(model_locate(tu_dir_file(f, "b/config.yaml"), NULL, &m, &e), VAS_OK);
    assert_int_equal(m.kind, MODEL_ONNX);
}

static void shuffle_dir_names(void **state)
{
    char buf[64];
    int k = 0;

    (void)state;
    assert_int_equal(model_parse_shuffle_dir("/x/openfieldOct30-trainset95shuffle3/train/"
                                             "pytorch_config.yaml",
                                             buf, sizeof(buf), &k),
                     0);
    assert_string_equal(buf, "openfieldOct30");
    assert_int_equal(k, 3);
    assert_int_equal(model_parse_shuffle_dir("/x/y/train", buf, sizeof(buf), &k), -1);
    assert_int_equal(model_parse_shuffle_dir("a-trainset95shuffleX", buf, sizeof(buf), &k), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dlc3_project_picks_best, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(dlc3_latest_without_best_and_named, tu_dir_setup,
                                        tu_dir_teardown),
        cmocka_unit_test_setup_teardown(dlc3_snapshotindex, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(dlc3_trainset_truncates_as_python, tu_dir_setup,
                                        tu_dir_teardown),
        cmocka_unit_test_setup_teardown(dlc3_export, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(dlc2_export_and_checkpoints, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(refusals, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(onnx_bundle, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test(shuffle_dir_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
