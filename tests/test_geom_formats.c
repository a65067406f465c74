/* test_geom_formats.c - calibration dialects (geom_calib.h: vas's YAML, OpenCV YAML with the
 * spellings calibration tools use, anipose's calibration.toml, DeepLabCut's
 * stereo_params.pickle written by python3's pickle + numpy) triangulating a synthetic rig to
 * the same points; RANSAC over cameras, min_cameras; refusals naming line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "geom/geom_calib.h"
#include "geom/geom_tri.h"

#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NCAM 3
#define NPT  24

/* ---- the rig: rvec, t, K, distortion per camera; points near the origin ---- */

static const double rvecs[NCAM][3] = {{0.1, 0.5, 0.02}, {-0.05, -0.4, 0.03}, {0.3, 0.05, -0.1}};
static const double tvecs[NCAM][3] = {{5, -3, 100}, {-4, 2, 110}, {1, 6, 95}};

static geom_camera rig_cam(int i)
{
    geom_camera c = {.width = 640, .height = 480, .n_dist = 5};
    const double k[5] = {-0.2 + 0.05 * i, 0.05, 0.001 * (i - 1), -0.0008, 0.01};

    snprintf(c.name, sizeof(c.name), "cam%d", i);
    c.fx = 800 + 40 * i;
    c.fy = c.fx * 1.01;
    c.cx = 320 + 3 * i;
    c.cy = 240 - 2 * i;
    memcpy(c.k, k, sizeof(k));
    geom_camera_rodrigues(rvecs[i], c.R);
    memcpy(c.t, tvecs[i], sizeof(c.t));
    return c;
}

static void point(int p, double X[3])
{
    X[0] = 12 * sin(0.7 * p);
    X[1] = 9 * cos(1.3 * p);
    X[2] = 10 * sin(0.37 * p + 1);
}

/* pixels uv[p][2c..] of every point in every camera of the rig. */
static void project_all(double uv[NPT][2 * NCAM])
{
    for (int c = 0; c < NCAM; c++) {
        geom_camera cam = rig_cam(c);
        for (int p = 0; p < NPT; p++) {
            double X[3];
            point(p, X);
            geom_camera_project(&cam, X, &uv[p][2 * c]);
        }
    }
}

/* Triangulates the rig's pixels with the cameras of file (n of them, the first n of the rig)
 * and checks each point against truth (X in the frame T: Xw -> R0 Xw + t0 when frame1). */
static void check_file(const char *file, int n, int frame1)
{
    geom_calib c;
    geom_tri *t = NULL;
    vas_err e = {0};
    double uv[NPT][2 * NCAM];
    geom_camera c0 = rig_cam(0);

    if (geom_calib_load(file, &c, &e) != VAS_OK)
        fail_msg("%s: %s", file, e.msg);
    assert_int_equal(c.n, n);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "cam%d", i);
        assert_string_equal(c.cam[i].name, name);
        assert_int_equal(c.cam[i].width, 640);
    }
    assert_int_equal(geom_tri_new(&c, &(geom_tri_opts){.refine_iters = 5}, &t, &e), VAS_OK);
    project_all(uv);
    for (int p = 0; p < NPT; p++) {
        geom_tri_result r;
        double X[3], W[3];
        point(p, X);
        for (int k = 0; k < 3; k++)
            W[k] = frame1 ? c0.R[3 * k] * X[0] + c0.R[3 * k + 1] * X[1] + c0.R[3 * k + 2] * X[2] +
                                c0.t[k]
                          : X[k];
        geom_tri_point(t, uv[p], &r);
        for (int k = 0; k < 3; k++)
            if (!(fabs(r.X[k] - W[k]) < 1e-6))
                fail_msg("%s: point %d: %.12g, want %.12g", file, p, r.X[k], W[k]);
    }
    geom_tri_free(t);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void put_list(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fputc(']', f);
}

/* ---- the dialects ---- */

static void vas_yaml(void **state)
{
    tu_dir_fx *f = *state;
    geom_calib c = {.n = NCAM};
    vas_err e = {0};

    for (int i = 0; i < NCAM; i++)
        c.cam[i] = rig_cam(i);
    assert_int_equal(geom_calib_write(tu_dir_file(f, "c.yaml"), &c, &e), VAS_OK);
    check_file(tu_dir_file(f, "c.yaml"), NCAM, 0);
}

/* One OpenCV YAML file per spelling set: K/D/R/T; cameraMatrix/distCoeffs/rvec/tvec;
 * M/dist_coeffs/R as a Rodrigues vector/T, plus size: [w, h]. */
static void opencv_spellings(void **state)
{
    static const char *const sets[][5] = {
        {"K", "D", "R", "T", "m"},
        {"cameraMatrix", "distCoeffs", "rvec", "tvec", "v"},
        {"M", "dist_coeffs", "R", "T", "v"},
        {"camera_matrix", "distortion_coefficients", "rotation", "translation", "m"}};
    tu_dir_fx *f = *state;

    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        FILE *o = fopen(tu_dir_file(f, "cv.yaml"), "w");
        assert_non_null(o);
        fprintf(o, "%%YAML:1.0\n---\n");
        for (int i = 0; i < NCAM; i++) {
            geom_camera c = rig_cam(i);
            double K[9] = {c.fx, 0, c.cx, 0, c.fy, c.cy, 0, 0, 1};
            fprintf(o, "%s:\n   %s", c.name,
                    s % 2 ? "size: [640, 480]\n" : "image_width: 640\n   image_height: 480\n");
            fprintf(o,
                    "   %s: !!opencv-matrix\n      rows: 3\n      cols: 3\n      dt: d\n"
                    "      data: ",
                    sets[s][0]);
            put_list(o, K, 9);
            fprintf(o,
                    "\n   %s: !!opencv-matrix\n      rows: 1\n      cols: 5\n      dt: d\n"
                    "      data: ",
                    sets[s][1]);
            put_list(o, c.k, 5);
            if (sets[s][4][0] == 'm') {
                fprintf(o,
                        "\n   %s: !!opencv-matrix\n      rows: 3\n      cols: 3\n      dt: d\n"
                        "      data: ",
                        sets[s][2]);
                put_list(o, c.R, 9);
            } else {
                fprintf(o, "\n   %s: ", sets[s][2]);
                put_list(o, rvecs[i], 3);
            }
            fprintf(o, "\n   %s: ", sets[s][3]);
            put_list(o, c.t, 3);
            fputc('\n', o);
        }
        fclose(o);
        check_file(tu_dir_file(f, "cv.yaml"), NCAM, 0);
    }
}

/* As aniposelib's CameraGroup.dump writes it (toml.dump: trailing commas, nested matrix). */
static void anipose_toml(void **state)
{
    tu_dir_fx *f = *state;
    FILE *o = fopen(tu_dir_file(f, "calibration.toml"), "w");

    assert_non_null(o);
    for (int i = 0; i < NCAM; i++) {
        geom_camera c = rig_cam(i);
        fprintf(o,
                "[cam_%d]\nname = \"%s\"\nsize = [ 640, 480,]\nmatrix = [ [ %.17g, 0.0, %.17g,], "
                "[ 0.0, %.17g, %.17g,], [ 0.0, 0.0, 1.0,],]\ndistortions = [ %.17g, %.17g, "
                "%.17g, %.17g, %.17g,]\nrotation = [ %.17g, %.17g, %.17g,]\n"
                "translation = [ %.17g, %.17g, %.17g,]\n\n",
                i, c.name, c.fx, c.cx, c.fy, c.cy, c.k[0], c.k[1], c.k[2], c.k[3], c.k[4],
                rvecs[i][0], rvecs[i][1], rvecs[i][2], c.t[0], c.t[1], c.t[2]);
    }
    fprintf(o, "[metadata]\nadjusted = false  # comment\nerror = 0.31\nnote = 'x'\n");
    fclose(o);
    check_file(tu_dir_file(f, "calibration.toml"), NCAM, 0);
}

/* stereo_params.pickle by python3's pickle of numpy arrays, cameras 0 and 1: camera 0's frame
 * is the world (x2 = R x1 + T). */
static void dlc_pickle(void **state)
{
    tu_dir_fx *f = *state;
    geom_camera a = rig_cam(0), b = rig_cam(1);
    double R[9], T[3];
    char cmd[2048];
    FILE *o;

    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
        print_message("skipped: /usr/bin/python3 with numpy is not installed\n");
        skip();
    }
    for (int i = 0; i < 3; i++) { /* R = Rb Ra', T = tb - R ta */
        for (int j = 0; j < 3; j++) {
            R[3 * i + j] = 0;
            for (int k = 0; k < 3; k++)
                R[3 * i + j] += b.R[3 * i + k] * a.R[3 * j + k];
        }
    }
    for (int i = 0; i < 3; i++)
        T[i] = b.t[i] - (R[3 * i] * a.t[0] + R[3 * i + 1] * a.t[1] + R[3 * i + 2] * a.t[2]);
    o = fopen(tu_dir_file(f, "mk.py"), "w");
    assert_non_null(o);
    fprintf(o, "import pickle, sys\nimport numpy as np\np = {}\n");
    for (int i = 0; i < 2; i++) {
        geom_camera *c = i ? &b : &a;
        fprintf(
            o,
            "p['cameraMatrix%d'] = np.array([[%.17g, 0, %.17g], [0, %.17g, %.17g], [0, 0, 1]])\n",
            i + 1, c->fx, c->cx, c->fy, c->cy);
        fprintf(o, "p['distCoeffs%d'] = np.array([", i + 1);
        put_list(o, c->k, 5);
        fprintf(o, "])\n");
    }
    fprintf(o, "p['R'] = np.array(");
    put_list(o, R, 9);
    fprintf(o, ").reshape(3, 3)\np['T'] = np.array(");
    put_list(o, T, 3);
    fprintf(o, ").reshape(3, 1)\np['R1'] = np.asfortranarray(np.eye(3))\n"
               "p['E'] = np.zeros((3, 3), dtype=np.float32)\np['roi1'] = (0, 0, 640, 480)\n"
               "p['image_shape'] = [(640, 480), (640, 480)]\n"
               "pickle.dump({'cam0-cam1': p}, open(sys.argv[1], 'wb'))\n");
    fclose(o);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/mk.py %s/stereo_params.pickle", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    check_file(tu_dir_file(f, "stereo_params.pickle"), 2, 1);
}

/* ---- RANSAC, min_cameras ---- */

static geom_tri *rig_tri(int min_cams, double ransac)
{
    geom_calib c = {.n = NCAM};
    geom_tri *t = NULL;
    vas_err e = {0};
    geom_tri_opts o = {.refine_iters = 5, .min_cameras = min_cams, .ransac_threshold = ransac};

    for (int i = 0; i < NCAM; i++)
        c.cam[i] = rig_cam(i);
    assert_int_equal(geom_tri_new(&c, &o, &t, &e), VAS_OK);
    return t;
}

/* Camera 2's pixels 40 px off: RANSAC drops it and finds the truth; without it the point is
 * pulled away. */
static void ransac_drops_outlier(void **state)
{
    geom_tri *plain = rig_tri(2, 0), *rs = rig_tri(2, 20);
    double uv[NPT][2 * NCAM];
    struct timespec t0, t1;
    int reps = 2000;

    (void)state;
    project_all(uv);
    for (int p = 0; p < NPT; p++) {
        geom_tri_result a, b;
        double X[3], worst = 0;
        uv[p][4] += 40;
        uv[p][5] -= 25;
        point(p, X);
        geom_tri_point(rs, uv[p], &a);
        geom_tri_point(plain, uv[p], &b);
        assert_int_equal(a.n_cams, 2);
        assert_int_equal(a.cams, 3u);
        assert_int_equal(b.n_cams, 3);
        for (int k = 0; k < 3; k++) {
            assert_true(fabs(a.X[k] - X[k]) < 1e-6);
            worst = fmax(worst, fabs(b.X[k] - X[k]));
        }
        assert_true(worst > 0.1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < reps; i++) {
        geom_tri_result a;
        geom_tri_point(rs, uv[i % NPT], &a);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("ransac, 3 cameras, one outlier: %.2f us a point\n",
                  ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
                      reps / 1e3);
    geom_tri_free(plain);
    geom_tri_free(rs);
}

/* Views agree: RANSAC keeps all three and matches the plain result. */
static void ransac_keeps_agreeing_views(void **state)
{
    geom_tri *plain = rig_tri(2, 0), *rs = rig_tri(2, 20);
    double uv[NPT][2 * NCAM];

    (void)state;
    project_all(uv);
    for (int p = 0; p < NPT; p++) {
        geom_tri_result a, b;
        geom_tri_point(rs, uv[p], &a);
        geom_tri_point(plain, uv[p], &b);
        assert_int_equal(a.n_cams, 3);
        for (int k = 0; k < 3; k++)
            assert_true(a.X[k] == b.X[k]);
    }
    geom_tri_free(plain);
    geom_tri_free(rs);
}

/* min_cameras 3: a point seen (above pcutoff: the caller's NaN) by 2 cameras is NaN; so is one
 * whose outlier RANSAC drops, leaving 2. */
static void min_cameras_nan(void **state)
{
    geom_tri *t3 = rig_tri(3, 0), *t3r = rig_tri(3, 20), *t2 = rig_tri(0, 0);
    double uv[NPT][2 * NCAM];
    geom_tri_result r;

    (void)state;
    project_all(uv);
    geom_tri_point(t3, uv[0], &r);
    assert_true(isfinite(r.X[0]) && r.n_cams == 3);
    uv[0][2] = uv[0][3] = NAN; /* camera 1 below pcutoff */
    geom_tri_point(t3, uv[0], &r);
    assert_true(isnan(r.X[0]) && isnan(r.X[1]) && isnan(r.X[2]) && isnan(r.reproj));
    assert_int_equal(r.n_cams, 2);
    geom_tri_point(t2, uv[0], &r);
    assert_true(isfinite(r.X[0]));
    uv[1][4] += 40;
    geom_tri_point(t3r, uv[1], &r);
    assert_true(isnan(r.X[0]));
    geom_tri_free(t3);
    geom_tri_free(t3r);
    geom_tri_free(t2);
}

/* ---- refusals ---- */

/* Loads text as file name; checks the message holds want. */
static void refused(tu_dir_fx *f, const char *name, const char *text, const char *want)
{
    geom_calib c;
    vas_err e = {0};

    write_text(tu_dir_file(f, name), text);
    assert_true(geom_calib_load(tu_dir_file(f, name), &c, &e) < 0);
    if (!strstr(e.msg, want))
        fail_msg("message '%s' lacks '%s'", e.msg, want);
}

static void toml_refusals(void **state)
{
    static const char cam[] = "[cam_0]\nname = \"A\"\nmatrix = [[800.0, 0.0, 320.0], [0.0, 800.0, "
                              "240.0], [0.0, 0.0, 1.0]]\nrotation = [0.0, 0.0, 0.0]\n";
    char buf[1024];
    tu_dir_fx *f = *state;

    refused(f, "a.toml", "[cam_0]\nname = \"A\n", "a.toml:2:8: a string is not closed");
    refused(f, "a.toml", "[cam_0]\nmatrix = [1, 2\n", "a.toml:3:1: an array is not closed");
    refused(f, "a.toml", "[cam_0]\nx = {a = 1}\n", "a.toml:2:5: inline tables");
    refused(f, "a.toml", "[[cam_0]]\n", "a.toml:1:2: arrays of tables");
    refused(f, "a.toml", "[cam_0]\nd = 1979-05-27\n", "a.toml:2:5: '1979-05-27' is not");
    refused(f, "a.toml", "[cam_0]\na = 1\na = 2\n", "a.toml:3:1: key 'a' is given twice");
    refused(f, "a.toml", "[cam_0]\na = 1 2\n", "a.toml:2:7: expected the end of the line");
    snprintf(buf, sizeof(buf), "%stranslation = [0.0, 0.0, 5.0]\nfocal = 3\n", cam);
    refused(f, "b.toml", buf, "b.toml:6:9: [cam_0] has key 'focal'");
    snprintf(buf, sizeof(buf), "%stranslation = [0.0, 0.0, 5.0]\n[extra]\n", cam);
    refused(f, "b.toml", buf, "b.toml:6:1: table [extra] is not an anipose camera");
    snprintf(buf, sizeof(buf), "%s", cam);
    refused(f, "b.toml", buf, "[cam_0] has no translation");
    snprintf(buf, sizeof(buf), "%stranslation = [0.0, 0.0, 5.0]\nfisheye = true\n", cam);
    refused(f, "b.toml", buf, "fisheye");
    snprintf(buf, sizeof(buf), "%stranslation = [0.0, 'x', 5.0]\n", cam);
    refused(f, "b.toml", buf, "b.toml:5:15: [cam_0] translation must be an array");
}

static void yaml_and_pickle_refusals(void **state)
{
    tu_dir_fx *f = *state;

    refused(f, "a.yaml", "camA:\n   K: [800, 0, 320, 0, 800, 240, 0, 0, 1]\n   T: [0, 0, 1]\n",
            "camA has no rotation (rotation, R or rvec");
    refused(f, "a.yaml",
            "camA:\n   K: [800, 0, 320, 0, 800, 240, 0, 0, 1]\n   R: [0, 0]\n"
            "   T: [0, 0, 1]\n",
            "R must be 3x3 or 3x1");
    /* protocol 2 pickle calling os.system */
    refused(f, "p.pickle",
            "\x80\x02"
            "cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.",
            "the Python global os.system, which vas refuses");
    refused(f, "p.pickle", "\x80\x04}\x94(", "is truncated");
}

/* The fuzz seeds (tests/fuzz/corpus/fuzz_calib) load: pickle protocols 2 and 4 alike (protocol 2
 * pickles bytes through _codecs.encode), float32 and Fortran-ordered arrays, TOML with comments,
 * literal strings and _ in numbers. */
static void fuzz_seeds_load(void **state)
{
    geom_calib a, b, t;
    vas_err e = {0};

    (void)state;
    assert_int_equal(geom_calib_load("tests/fuzz/corpus/fuzz_calib/stereo_params.pickle", &a, &e),
                     VAS_OK);
    assert_int_equal(
        geom_calib_load("tests/fuzz/corpus/fuzz_calib/stereo_params_p2.pickle", &b, &e), VAS_OK);
    assert_int_equal(a.n, 2);
    assert_memory_equal(&a.cam[0], &b.cam[0], sizeof(a.cam[0]) * 2);
    assert_string_equal(a.cam[1].name, "camera-2");
    assert_true(a.cam[1].t[0] == -10 && a.cam[1].fx == 780 && a.cam[1].width == 640);
    assert_true(a.cam[1].k[4] == (double)0.003f && a.cam[1].n_dist == 5);
    assert_int_equal(geom_calib_load("tests/fuzz/corpus/fuzz_calib/anipose.toml", &t, &e), VAS_OK);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.cam[1].name, "B");
    assert_true(t.cam[1].t[2] == 10 && t.cam[1].t[1] == 2.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(vas_yaml, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(opencv_spellings, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(anipose_toml, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(dlc_pickle, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test(ransac_drops_outlier),
        cmocka_unit_test(ransac_keeps_agreeing_views),
        cmocka_unit_test(min_cameras_nan),
        cmocka_unit_test_setup_teardown(toml_refusals, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(yaml_and_pickle_refusals, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test(fuzz_seeds_load),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
