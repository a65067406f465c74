/* e2e_triangulate.c - `triangulate` through the HTTP API, on synthetic but exact takes: a known
 * 3D trajectory of openfield's four body parts, projected through 2, 3 and 4 distorted cameras
 * (pinhole + OpenCV's k1 k2 p1 p2 k3, written out here, not vas's geom code) into DeepLabCut 2D
 * CSVs (written here with fprintf), triangulated by a server whose models folder holds
 * models/openfield and three 3D bundles (rig2, rig3, rig4). Checks: exact without noise, an
 * error bound derived from the pixel noise, NaN for points seen by one camera, a DeepLabCut-style
 * two-camera take against an independent implementation of the same math, GET /model, and the
 * refusals (wrong number of files, a 2D model, body parts that differ from the model's); a video
 * as a camera's input (analysed now, then reused from a finished `video` analysis) and
 * `vas analyze --analysis triangulate`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_tri_scene.h"
#include "test_media_enc.h"

/* ---- tests ---- */

/* Without noise, 2, 3 and 4 cameras give the truth to 1e-6 of the scene's size, with reprojection
 * errors of rounding size. */
static void exact_2_3_4_cameras(void **state)
{
    e2e_srv *s = *state;
    static double xyz[NF][NP][3];
    take t = {0};

    start(s);
    for (int n = 2; n <= 4; n++) {
        char rig[16];
        int nan;
        double rms, worst;
        snprintf(rig, sizeof(rig), "rig%d", n);
        json_t *doc = triangulate(s, rig, n, &t, xyz);
        worst = max_error(xyz, &nan, &rms);
        print_message("  %s: max error %.3g, rms %.3g (scene %.0f units)\n", rig, worst, rms,
                      SCENE);
        assert_int_equal(nan, 0);
        assert_true(worst < 1e-6 * SCENE);
        for (int f = 0; f < NF; f++)
            for (int p = 0; p < NP; p++) {
                assert_int_equal(json_integer_value(col(doc, parts[p], "cameras", f)), n);
                assert_true(json_number_value(col(doc, parts[p], "reproj", f)) < 1e-6);
                assert_true(fabs(json_number_value(col(doc, parts[p], "x", f)) - xyz[f][p][0]) <
                            1e-12 * SCENE);
            }
        assert_string_equal(json_string_value(json_object_get(doc, "scorer")), "DLC_3D");
        json_decref(doc);
    }
    E2E_PASS(s);
}

/* Gaussian pixel noise sigma = 0.5 px on every view.
 * Bound: a pixel error of sigma moves a camera's ray by sigma / f radians (f >= 800 px; the
 * distortion changes the scale by under 3 % at these radii), so at the cameras' distance D (30
 * units, the scene within +-4 of the centre: D <= 34) one view pins the point to within
 * sigma_1 = sigma D / f = 0.5 * 34 / 800 = 0.021 units per direction across its ray. Along a
 * ray, the camera farthest round (the rigs' first and last cameras are 120 degrees apart) pins it
 * to within sigma_1 / sin(120) = 0.025; the least squares point of n >= 2 views is no worse than
 * that of its widest pair, so each coordinate's
 * error has a standard deviation under sigma_p = 0.025 * sqrt(2) = 0.035 (two directions mixed).
 * Over NF * NP = 200 points x 3 coordinates, a Gaussian beyond 5 sigma_p is a 6e-7 event per
 * value (4e-4 for the run; the noise is seeded, so the outcome is fixed anyway): the distance
 * bound is 5 sigma_p sqrt(3) = 0.30 units, and the rms distance must stay under sigma_p sqrt(3)
 * = 0.061. The mean reprojection error of the refined point is below the noise's mean distance,
 * sigma sqrt(pi / 2) = 0.63 px, on average; each one below 5 sigma = 2.5 px. */
static void noise_bound(void **state)
{
    e2e_srv *s = *state;
    static double xyz[NF][NP][3];
    take t = {.sigma = 0.5};
    const double sigma_p = 0.5 * 34 / 800 / sin(M_PI / 3) * sqrt(2);

    start(s);
    for (int n = 2; n <= 4; n += 2) {
        char rig[16];
        int nan;
        double rms, worst, mean = 0;
        snprintf(rig, sizeof(rig), "rig%d", n);
        json_t *doc = triangulate(s, rig, n, &t, xyz);
        worst = max_error(xyz, &nan, &rms);
        for (int f = 0; f < NF; f++)
            for (int p = 0; p < NP; p++) {
                double e = json_number_value(col(doc, parts[p], "reproj", f));
                assert_true(e < 5 * 0.5);
                mean += e / (NF * NP);
            }
        print_message("  %s: max error %.4f (bound %.3f), rms %.4f (bound %.3f), mean "
                      "reprojection %.3f px\n",
                      rig, worst, 5 * sigma_p * sqrt(3), rms, sigma_p * sqrt(3), mean);
        assert_int_equal(nan, 0);
        assert_true(worst < 5 * sigma_p * sqrt(3));
        assert_true(rms < sigma_p * sqrt(3));
        assert_true(mean < 0.5 * sqrt(M_PI / 2));
        json_decref(doc);
    }
    E2E_PASS(s);
}

/* Likelihood below pcutoff: snout in frame 10 seen by camera 1 only -> NaN (empty CSV fields),
 * cameras 1 in the JSON; leftear in frame 20 seen by 2 of 3 cameras -> still exact. */
static void one_camera_is_nan(void **state)
{
    e2e_srv *s = *state;
    static double xyz[NF][NP][3];
    take t = {.low = 1};
    int nan;
    double rms, worst;

    start(s);
    json_t *doc = triangulate(s, "rig3", 3, &t, xyz);
    worst = max_error(xyz, &nan, &rms);
    assert_int_equal(nan, 1);
    assert_true(isnan(xyz[10][0][0]) && isnan(xyz[10][0][1]) && isnan(xyz[10][0][2]));
    assert_true(worst < 1e-6 * SCENE);
    assert_int_equal(json_integer_value(col(doc, "snout", "cameras", 10)), 1);
    assert_true(json_is_null(col(doc, "snout", "x", 10)));
    assert_true(json_is_null(col(doc, "snout", "reproj", 10)));
    assert_int_equal(json_integer_value(col(doc, "leftear", "cameras", 20)), 2);
    assert_int_equal(json_integer_value(col(doc, "leftear", "cameras", 21)), 3);
    json_decref(doc);
    E2E_PASS(s);
}

/* ---- an independent implementation: undistort, linear triangulation, refinement ---- */

/* Pixel -> normalised (x, y): fixed-point iteration on the distortion, run to a standstill. */
static void undistort(const geom_camera *c, const double uv[2], double xy[2])
{
    const double *k = c->k;
    double xd = (uv[0] - c->cx) / c->fx, yd = (uv[1] - c->cy) / c->fy, x = xd, y = yd;

    for (int i = 0; i < 200; i++) {
        double r2 = x * x + y * y, rad = 1 + k[0] * r2 + k[1] * r2 * r2 + k[4] * r2 * r2 * r2;
        double dx = 2 * k[2] * x * y + k[3] * (r2 + 2 * x * x);
        double dy = k[2] * (r2 + 2 * y * y) + 2 * k[3] * x * y;
        x = (xd - dx) / rad;
        y = (yd - dy) / rad;
    }
    xy[0] = x;
    xy[1] = y;
}

static double det3(const double M[9])
{
    return M[0] * (M[4] * M[8] - M[5] * M[7]) - M[1] * (M[3] * M[8] - M[5] * M[6]) +
           M[2] * (M[3] * M[7] - M[4] * M[6]);
}

/* Solves the 3x3 system A x = b by Cramer's rule. */
static void solve3(const double A[9], const double b[3], double x[3])
{
    double d = det3(A);

    for (int c = 0; c < 3; c++) {
        double M[9];
        memcpy(M, A, sizeof(M));
        for (int r = 0; r < 3; r++)
            M[3 * r + c] = b[r];
        x[c] = det3(M) / d;
    }
}

/* Sum of squared pixel residuals of X over the cameras; r[2c..] the residuals. */
static double residuals(const geom_camera *cam, int n, const double (*uv)[2], const double X[3],
                        double *r)
{
    double s = 0;

    for (int c = 0; c < n; c++) {
        double p[2];
        project(&cam[c], X, p);
        r[2 * c] = p[0] - uv[c][0];
        r[2 * c + 1] = p[1] - uv[c][1];
        s += r[2 * c] * r[2 * c] + r[2 * c + 1] * r[2 * c + 1];
    }
    return s;
}

/* Inhomogeneous linear least squares on the DLT rows (x R3 - R1) X = t1 - x t3, ..., then
 * Gauss-Newton on the pixel residuals with a central-difference Jacobian. Mean reprojection
 * error into *reproj. */
static void independent(const geom_camera *cam, int n, const double (*uv)[2], double X[3],
                        double *reproj)
{
    double A[9] = {0}, b[3] = {0}, r[2 * GEOM_MAX_CAMERAS], J[2 * GEOM_MAX_CAMERAS][3];

    for (int c = 0; c < n; c++) {
        double xy[2];
        const double *R = cam[c].R, *t = cam[c].t;
        undistort(&cam[c], uv[c], xy);
        for (int q = 0; q < 2; q++) {
            double row[3], rhs = t[q] - xy[q] * t[2];
            for (int k = 0; k < 3; k++)
                row[k] = xy[q] * R[6 + k] - R[3 * q + k];
            for (int i = 0; i < 3; i++) {
                b[i] += row[i] * rhs;
                for (int k = 0; k < 3; k++)
                    A[3 * i + k] += row[i] * row[k];
            }
        }
    }
    solve3(A, b, X);
    for (int it = 0; it < 30; it++) {
        double JtJ[9] = {0}, Jtr[3] = {0}, d[3];
        residuals(cam, n, uv, X, r);
        for (int k = 0; k < 3; k++) {
            double Xp[3], Xm[3], rp[2 * GEOM_MAX_CAMERAS], rm[2 * GEOM_MAX_CAMERAS], h = 1e-6;
            memcpy(Xp, X, sizeof(Xp));
            memcpy(Xm, X, sizeof(Xm));
            Xp[k] += h;
            Xm[k] -= h;
            residuals(cam, n, uv, Xp, rp);
            residuals(cam, n, uv, Xm, rm);
            for (int i = 0; i < 2 * n; i++)
                J[i][k] = (rp[i] - rm[i]) / (2 * h);
        }
        for (int i = 0; i < 2 * n; i++)
            for (int a = 0; a < 3; a++) {
                Jtr[a] -= J[i][a] * r[i];
                for (int c = 0; c < 3; c++)
                    JtJ[3 * a + c] += J[i][a] * J[i][c];
            }
        solve3(JtJ, Jtr, d);
        for (int k = 0; k < 3; k++)
            X[k] += d[k];
    }
    residuals(cam, n, uv, X, r);
    *reproj = 0;
    for (int c = 0; c < n; c++)
        *reproj += hypot(r[2 * c], r[2 * c + 1]) / n;
}

/* DeepLabCut's case: two cameras, camera 1 the world frame, noisy views. vas's points and
 * reprojection errors must match the independent implementation's (both are the least squares
 * point in pixels, which is unique here) to 1e-6 units and 1e-4 px. */
static void dlc_two_cameras_independent(void **state)
{
    e2e_srv *s = *state;
    static double xyz[NF][NP][3];
    take t = {.sigma = 0.5};
    geom_camera cam[2];
    double worst = 0, worst_e = 0;

    start(s);
    json_t *doc = triangulate(s, "dlc2", 2, &t, xyz);
    rig_cameras("dlc2", cam, 2);
    for (int f = 0; f < NF; f++)
        for (int p = 0; p < NP; p++) {
            double uv[2][2], X[3], T[3], e;
            uint64_t seed[2] = {0x9e3779b97f4a7c15ULL, 0x9e3779b97f4a7c15ULL * 2};
            for (int c = 0; c < 2; c++) { /* replay camera c's noise up to (f, p) */
                for (int i = 0; i < f * NP + p; i++) {
                    gauss(&seed[c]);
                    gauss(&seed[c]);
                }
                truth(f, p, T);
                project(&cam[c], T, uv[c]);
                uv[c][0] += 0.5 * gauss(&seed[c]);
                uv[c][1] += 0.5 * gauss(&seed[c]);
            }
            independent(cam, 2, (const double(*)[2])uv, X, &e);
            for (int k = 0; k < 3; k++)
                worst = fmax(worst, fabs(X[k] - xyz[f][p][k]));
            worst_e = fmax(worst_e, fabs(e - json_number_value(col(doc, parts[p], "reproj", f))));
        }
    print_message("  dlc2 vs independent: max coordinate difference %.3g, reprojection %.3g px\n",
                  worst, worst_e);
    assert_true(worst < 1e-6);
    assert_true(worst_e < 1e-4);
    json_decref(doc);
    E2E_PASS(s);
}

/* GET /model: the 2D model first, then the 3D ones with "type": "3d" and their cameras.
 * 400: two files for a three-camera model, a 2D model, no model; FAILURE: body parts that
 * differ from the model's. */
static void refusals(void **state)
{
    e2e_srv *s = *state;
    const char *const odd[NP] = {"snout", "leftear", "nose", "tailbase"};
    take t = {0}, bad = {.names = odd};
    char ids[GEOM_MAX_CAMERAS][41], body[1024], aid[37];
    e2e_resp r;
    const json_t *m3;

    start(s);
    e2e_get(s, "/model", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 6); /* openfield and five 3D models */
    assert_string_equal(e2e_str(json_array_get(r.json, 0), "name"), "openfield");
    assert_null(json_object_get(json_array_get(r.json, 0), "type"));
    m3 = json_array_get(r.json, 2); /* dlc2, rig2, rig3, rig4, rigp in name order */
    assert_string_equal(e2e_str(m3, "name"), "rig2");
    assert_string_equal(e2e_str(m3, "type"), "3d");
    assert_int_equal(json_array_size(json_object_get(m3, "cameras")), 2);
    assert_string_equal(e2e_str(json_array_get(json_object_get(m3, "cameras"), 1), "model"),
                        "openfield");
    e2e_resp_free(&r);
    assert_true(e2e_log_wait(s, "event=model3d_loaded model=rig4", 1));
    upload_take(s, "rig3", 3, &t, ids);
    form(body, sizeof(body), "rig3", ids, 2);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"),
                           "model rig3 has 3 cameras (camera-1, camera-2, camera-3); "
                           "got 2 files"));
    e2e_resp_free(&r);
    form(body, sizeof(body), "openfield", ids, 3);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "needs a 3D model"));
    assert_non_null(strstr(e2e_str(r.json, "error"), "dlc2, rig2, rig3, rig4"));
    e2e_resp_free(&r);
    snprintf(body, sizeof(body), "analysis=triangulate&file_id=%s&file2_id=%s", ids[0], ids[1]);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "needs a 3D model"));
    e2e_resp_free(&r);
    upload_take(s, "rig2", 2, &bad, ids);
    form(body, sizeof(body), "rig2", ids, 2);
    e2e_analysis(s, body, aid, NULL);
    e2e_wait_state(s, aid, NULL, 60, &r);
    e2e_assert_status(&r, 500);
    assert_true(e2e_state_is(&r, "FAILURE"));
    assert_non_null(strstr(e2e_str(r.json, "description"), "missing [rightear]"));
    assert_non_null(strstr(e2e_str(r.json, "description"), "not in the model [nose]"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* Camera 1 a video of VIDEO_FRAMES frames, camera 2 a 50-frame pose file: the video is analysed
 * now (videos_analysed 1), frames = the shorter input with a note; after a finished `video`
 * analysis of it, its poses are reused (poses_reused 1) and the outputs are the same. */
#define VIDEO_FRAMES 12
static void video_input(void **state)
{
    e2e_srv *s = *state;
    tenc_video v = {.codec = "mpeg4", .w = 120, .h = 90, .frames = VIDEO_FRAMES, .fps = 24};
    char path[E2E_PATH + 16], ids[2][41], body[1024], aid[37], *bytes, *csv1, *csv2;
    take t = {0};
    double secs;
    size_t n = 0;
    e2e_resp r;
    json_t *res;

    start(s);
    snprintf(path, sizeof(path), "%s/mouse.avi", s->dir);
    assert_int_equal(tenc_write_video(path, &v), 0);
    upload_take(s, "rig2", 2, &t, ids);
    bytes = tu_read_file(path, &n);
    assert_non_null(bytes);
    e2e_upload(s, "mouse-camera-1.avi", "video/x-msvideo", bytes, n, &r);
    e2e_assert_status(&r, 202);
    snprintf(ids[0], 41, "%s", e2e_str(r.json, "file_id"));
    e2e_resp_free(&r);
    free(bytes);
    res = run(s, "rig2", ids, 2, &secs);
    assert_int_equal(json_integer_value(json_object_get(res, "frames")), VIDEO_FRAMES);
    assert_int_equal(json_integer_value(json_object_get(res, "videos_analysed")), 1);
    assert_int_equal(json_integer_value(json_object_get(res, "poses_reused")), 0);
    assert_non_null(strstr(e2e_str(res, "note"), "differ in length"));
    csv1 = download(s, res, "csv_file", "mouse_DLC_3D.csv");
    json_decref(res);
    snprintf(body, sizeof(body), "analysis=video&model=openfield&file_id=%s", ids[0]);
    e2e_analysis(s, body, aid, NULL);
    e2e_expect_state(s, aid, "SUCCESS", 200, 60);
    form(body, sizeof(body), "rig2", ids, 2);
    strncat(body, "&force=1", sizeof(body) - strlen(body) - 1);
    e2e_analysis(s, body, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 60, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "poses_reused")), 1);
    assert_int_equal(json_integer_value(json_object_get(r.json, "videos_analysed")), 0);
    csv2 = download(s, r.json, "csv_file", NULL);
    assert_string_equal(csv1, csv2);
    e2e_resp_free(&r);
    free(csv1);
    free(csv2);
    E2E_PASS(s);
}

/* `vas analyze --analysis triangulate --model rig3 f1 f2 f3`: the outputs beside f1, exact. */
static void analyze_cli(void **state)
{
    e2e_srv *s = *state;
    static double xyz[NF][NP][3];
    geom_camera cam[3];
    take t = {0};
    char f[3][E2E_PATH + 64], out[E2E_PATH + 16], res[E2E_PATH + 64], *text;
    int nan;
    double rms;

    make_models(s);
    rig_cameras("rig3", cam, 3);
    for (int i = 0; i < 3; i++) {
        char *csv = dlc_csv(&t, &cam[i], i, 1);
        snprintf(f[i], sizeof(f[i]), "%s/rig1-camera-%d-day2.csv", s->dir, i + 1);
        assert_int_equal(tu_write_file(f[i], csv, strlen(csv)), 0);
        free(csv);
    }
    snprintf(out, sizeof(out), "%s/cli.out", s->dir);
    assert_int_equal(e2e_run_vas(out, "analyze", "--models", models_arg, "--analysis",
                                 "triangulate", "--model", "rig3", f[0], f[1], f[2], NULL),
                     0);
    snprintf(res, sizeof(res), "%s/rig1_day2_DLC_3D.csv", s->dir);
    text = tu_read_file(res, NULL);
    assert_non_null(text);
    parse_csv(text, xyz);
    free(text);
    assert_true(max_error(xyz, &nan, &rms) < 1e-6 * SCENE);
    assert_int_equal(nan, 0);
    snprintf(res, sizeof(res), "%s/rig1_day2_DLC_3D.h5", s->dir);
    assert_int_equal(access(res, R_OK), 0);
    assert_int_not_equal(e2e_run_vas(out, "analyze", "--models", models_arg, "--analysis",
                                     "triangulate", "--model", "rig3", f[0], f[1], NULL),
                         0);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "model rig3 has 3 cameras; got 2 files"));
    free(text);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST_NO_SERVER(exact_2_3_4_cameras, NULL),
        E2E_TEST_NO_SERVER(noise_bound, NULL),
        E2E_TEST_NO_SERVER(one_camera_is_nan, NULL),
        E2E_TEST_NO_SERVER(dlc_two_cameras_independent, NULL),
        E2E_TEST_NO_SERVER(refusals, NULL),
        E2E_TEST_NO_SERVER(video_input, NULL),
        E2E_TEST_NO_SERVER(analyze_cli, NULL),
    };

    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
