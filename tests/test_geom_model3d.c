/* test_geom_model3d.c - 3D model bundles on real folders (a DeepLabCut 3D config.yaml and an
 * OpenCV calibration), and tools/dlc3d_import.py on a fake DeepLabCut stereo_params.pickle made
 * by tests/fixtures/geom/make_stereo_pickle.py: the converted calibration loads, and
 * triangulating through it agrees with the truth and with DeepLabCut's own method (cv2's
 * undistortPoints + triangulatePoints, computed by the fixture script). The python3 parts are
 * skipped, saying so, when /usr/bin/python3 with numpy (and cv2 for the comparison) is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "geom/geom_model3d.h"
#include "geom/geom_tri.h"

#include "testutil.h"

#include <math.h>

/* A calibration with three cameras: b, a, c (the model uses a and b). */
#define MAT(key, r, c, d)                                                                          \
    "   " key ": !!opencv-matrix\n      rows: " #r "\n      cols: " #c "\n      dt: d\n"           \
    "      data: [ " d " ]\n"
#define CAM(name, tx)                                                                              \
    name ":\n   image_width: 640\n   image_height: 480\n" MAT(                                     \
        "camera_matrix", 3, 3, "800., 0., 320., 0., 800., 240., 0., 0., 1.")                       \
        MAT("rotation", 3, 3, "1, 0, 0, 0, 1, 0, 0, 0, 1") MAT("translation", 3, 1, tx ", 0, 10")
static const char calib3[] = "%YAML:1.0\n---\n" CAM("b", "-1") CAM("a", "0") CAM("c", "1");

static const char config_3d[] = "Task: rig\nscorer: me\ndate: Jan1\n"
                                "skeleton:\n- [snout, tailbase]\n- - snout\n  - leftear\n"
                                "skeleton_color: white\npcutoff: 0.6\ncolormap: viridis\n"
                                "dotsize: 9\nalphaValue: 0.5\nnum_cameras: 2\n"
                                "camera_names:\n- a\n- b\nscorername_3d: DLC_3D_rig\n"
                                "config_file_a: /data/mouse-a/config.yaml\n"
                                "model_a: mouse\nmodel_b: mouse-b\n";

static void put(tu_dir_fx *f, const char *name, const char *text)
{
    assert_int_equal(tu_write_file(tu_dir_file(f, name), text, strlen(text)), 0);
}

static void bundle_loads(void **state)
{
    tu_dir_fx *f = *state;
    geom_model3d *m = NULL;
    vas_err e = {0};
    const char *parts[] = {"snout", "leftear", "rightear", "tailbase"};
    int pairs[2][2];

    put(f, "config.yaml", config_3d);
    put(f, "calibration.yaml", calib3);
    assert_true(geom_model3d_is_bundle(f->dir));
    assert_int_equal(geom_model3d_load("rig3d", f->dir, &m, &e), VAS_OK);
    assert_string_equal(m->name, "rig3d");
    assert_string_equal(m->task, "rig");
    assert_string_equal(m->scorername_3d, "DLC_3D_rig");
    assert_string_equal(m->colormap, "viridis");
    assert_string_equal(m->skeleton_color, "white");
    assert_true(m->pcutoff == 0.6 && m->alphavalue == 0.5 && m->dotsize == 9);
    assert_int_equal(m->n_cameras, 2);
    assert_int_equal(m->calib.n, 2);
    assert_string_equal(geom_model3d_camera(m, 0), "a"); /* camera_names order, not the file's */
    assert_string_equal(geom_model3d_camera(m, 1), "b");
    assert_null(geom_model3d_camera(m, 2));
    assert_true(m->calib.cam[1].t[0] == -1);
    assert_string_equal(m->camera_model[0], "mouse");
    assert_string_equal(m->camera_model[1], "mouse-b");
    assert_string_equal(m->camera_config[0], "/data/mouse-a/config.yaml");
    assert_null(m->camera_config[1]);
    assert_int_equal(m->n_skeleton, 2);
    assert_string_equal(m->skeleton[1][1], "leftear");
    assert_int_equal(geom_model3d_skeleton_index(m, parts, 4, pairs, &e), VAS_OK);
    assert_true(pairs[0][0] == 0 && pairs[0][1] == 3 && pairs[1][1] == 1);
    assert_int_equal(geom_model3d_skeleton_index(m, parts, 2, pairs, &e), VAS_EINVAL);
    assert_string_equal(
        e.msg, "3D model rig3d: skeleton part 'tailbase' is not a body part of the 2D model");
    geom_model3d_free(m);
}

static void bundle_json(void **state)
{
    tu_dir_fx *f = *state;
    geom_model3d *m = NULL;
    json_t *j;
    char *s;

    put(f, "config.yaml", config_3d);
    put(f, "calibration.yaml", calib3);
    assert_int_equal(geom_model3d_load("rig3d", f->dir, &m, NULL), VAS_OK);
    j = geom_model3d_json(m);
    s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(
        s, "{\"cameras\":[{\"config_file\":\"/data/mouse-a/config.yaml\",\"height\":480,\"model\":"
           "\"mouse\",\"name\":\"a\",\"width\":640},{\"config_file\":null,\"height\":480,\"model\":"
           "\"mouse-b\",\"name\":\"b\",\"width\":640}],\"description\":\"rig\",\"name\":\"rig3d\","
           "\"pcutoff\":0.59999999999999998,\"scorername_3d\":\"DLC_3D_rig\",\"skeleton\":[["
           "\"snout\",\"tailbase\"],[\"snout\",\"leftear\"]],\"type\":\"3d\"}");
    free(s);
    json_decref(j);
    geom_model3d_free(m);
}

/* The calibration file named by `calibration:` (relative to the folder), defaults elsewhere. */
static void bundle_calibration_key(void **state)
{
    tu_dir_fx *f = *state;
    geom_model3d *m = NULL;
    vas_err e = {0};

    put(f, "config.yaml", "camera_names: [b, c]\ncalibration: rig.yaml\n");
    put(f, "rig.yaml", calib3);
    assert_int_equal(geom_model3d_load("x", f->dir, &m, &e), VAS_OK);
    assert_string_equal(m->scorername_3d, "DLC_3D");
    assert_true(m->pcutoff == 0.4 && m->dotsize == 15 && m->alphavalue == 0.8);
    assert_string_equal(geom_model3d_camera(m, 1), "c");
    assert_null(m->camera_model[0]);
    assert_int_equal(m->n_skeleton, 0);
    geom_model3d_free(m);
}

static void bundle_bad(void **state)
{
    static const struct {
        const char *config, *calib, *msg;
    } bad[] = {
        {"camera_names: [a, d]\n", calib3, "calibration.yaml: the calibration has no camera d"},
        {"camera_names: [a, b]\nnum_cameras: 3\n", calib3,
         "num_cameras does not match the 2 camera_names"},
        {"camera_names: [a]\n", calib3, "at least 2 camera_names"},
        {"scorername_3d: X\n", calib3, "no list of camera_names"},
        {"camera_names: [a, b]\npcutoff: high\n", calib3, "pcutoff must be a number"},
        {"camera_names: [a, b]\nskeleton: [[a]]\n", calib3, "skeleton entries must be"},
        {"camera_names: [a, b]\n", NULL, "no calibration file"},
        {"camera_names: [a, b]\n",
         "%YAML:1.0\n---\na:\n" MAT("camera_matrix", 3, 3, "800, 0, 320, 0, -1, 240, 0, 0, 1")
             MAT("rotation", 3, 3, "1, 0, 0, 0, 1, 0, 0, 0, 1") MAT("translation", 3, 1, "0,0,0"),
         "a: the camera matrix is singular"},
    };
    tu_dir_fx *f = *state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        geom_model3d *m = NULL;
        vas_err e = {0};
        remove(tu_dir_file(f, "calibration.yaml"));
        put(f, "config.yaml", bad[i].config);
        if (bad[i].calib)
            put(f, "calibration.yaml", bad[i].calib);
        assert_int_equal(geom_model3d_load("x", f->dir, &m, &e), VAS_EINVAL);
        assert_null(m);
        if (!strstr(e.msg, bad[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, e.msg, bad[i].msg);
    }
}

static void is_bundle_tells_2d_from_3d(void **state)
{
    tu_dir_fx *f = *state;

    assert_false(geom_model3d_is_bundle(f->dir)); /* no config.yaml */
    put(f, "config.yaml", "Task: openfield\nbodyparts: [snout, tailbase]\n");
    assert_false(geom_model3d_is_bundle(f->dir));
    put(f, "config.yaml", "scorername_3d: DLC_3D\n");
    assert_true(geom_model3d_is_bundle(f->dir));
    put(f, "config.yaml", "camera_names: [\n");
    assert_false(geom_model3d_is_bundle(f->dir));
}

/* ---- tools/dlc3d_import.py ---- */

static int have_python(const char *modules)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c 'import %s' 2>/dev/null", modules);
    return system(cmd) == 0;
}

/* Runs the fixture script and the import tool into f->dir; -1 to skip. */
static int import(tu_dir_fx *f, const char *world)
{
    char cmd[2048];

    if (!have_python("numpy")) {
        print_message("skipped: /usr/bin/python3 with numpy is not installed\n");
        return -1;
    }
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 tests/fixtures/geom/make_stereo_pickle.py %s && "
             "/usr/bin/python3 tools/dlc3d_import.py --world %s --bundle %s/bundle "
             "--model camera-1=mouse1 --model camera-2=mouse2 %s/proj %s/bundle/calibration.yaml "
             ">/dev/null",
             f->dir, world, f->dir, f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void import_dlc_pickle(void **state)
{
    tu_dir_fx *f = *state;
    geom_model3d *m = NULL;
    vas_err e = {0};
    double c = 22 / hypot(8, 22), s = -8 / hypot(8, 22);

    if (import(f, "camera1") < 0)
        skip();
    assert_int_equal(geom_model3d_load("rig", tu_dir_file(f, "bundle"), &m, &e), VAS_OK);
    assert_string_equal(geom_model3d_camera(m, 0), "camera-1");
    assert_string_equal(m->camera_model[1], "mouse2");
    assert_string_equal(m->camera_config[0], "/data/mouse-cam1/config.yaml");
    assert_int_equal(m->n_skeleton, 1);
    assert_true(m->pcutoff == 0.6);
    for (int i = 0; i < 9; i++) /* camera 1 at the origin, camera 2 as stereoCalibrate's R, T */
        assert_true(m->calib.cam[0].R[i] == (i % 4 == 0));
    assert_true(fabs(m->calib.cam[1].R[0] - c) < 1e-15 && fabs(m->calib.cam[1].R[2] + s) < 1e-15);
    assert_true(fabs(m->calib.cam[1].t[0] + 10 * c) < 1e-14 &&
                fabs(m->calib.cam[1].t[2] + 10 * s) < 1e-14);
    assert_true(m->calib.cam[1].fx == 780 && m->calib.cam[1].k[4] == 0.003);
    assert_true(m->calib.cam[0].width == 640 && m->calib.cam[0].height == 480);
    geom_model3d_free(m);
}

/* World = camera 1's rectified frame: vas's points are DeepLabCut's (which the fixture script
 * computes with cv2 as DeepLabCut's triangulate does), and exact. */
static void import_matches_dlc_triangulate(void **state)
{
    tu_dir_fx *f = *state;
    geom_model3d *m = NULL;
    geom_tri *t = NULL;
    FILE *pf;
    double v[10], worst_truth = 0, worst_dlc = 0;
    int n = 0;

    if (!have_python("cv2")) {
        print_message("skipped: /usr/bin/python3 with cv2 is not installed\n");
        skip();
    }
    if (import(f, "rectified") < 0)
        skip();
    assert_int_equal(geom_model3d_load("rig", tu_dir_file(f, "bundle"), &m, NULL), VAS_OK);
    assert_int_equal(geom_tri_new(&m->calib, NULL, &t, NULL), VAS_OK);
    assert_non_null(pf = fopen(tu_dir_file(f, "points.txt"), "r"));
    while (fscanf(pf, "%lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5], &v[6], &v[7], &v[8], &v[9]) == 10) {
        geom_tri_result r;
        geom_tri_point(t, v, &r);
        for (int k = 0; k < 3; k++) {
            worst_truth = fmax(worst_truth, fabs(r.X[k] - v[4 + k]));
            worst_dlc = fmax(worst_dlc, fabs(r.X[k] - v[7 + k]));
        }
        n++;
    }
    fclose(pf);
    print_message("%d points: vas - truth %.2g, vas - DeepLabCut %.2g (scene depth ~25)\n", n,
                  worst_truth, worst_dlc);
    assert_int_equal(n, 50);
    assert_true(worst_truth < 25e-9);
    assert_true(worst_dlc < 1e-6);
    geom_tri_free(t);
    geom_model3d_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bundle_loads, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(bundle_json, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(bundle_calibration_key, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(bundle_bad, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(is_bundle_tells_2d_from_3d, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(import_dlc_pickle, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(import_matches_dlc_triangulate, tu_dir_setup,
                                        tu_dir_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
