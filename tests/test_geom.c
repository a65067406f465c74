/* test_geom.c - the camera model, calibration files and triangulation on synthetic but exact
 * scenes: a known 3D trajectory seen by 2-4 cameras with distortion. Reference values for
 * undistortPoints and projectPoints were computed with OpenCV 4.6 (cv2) and are pasted below;
 * the noise bounds come from the first-order covariance of the estimate (see noise_bound). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "geom/geom_calib.h"
#include "geom/geom_tri.h"

#include "testutil.h"

#include <math.h>

/* cmocka's assert_float_equal compares floats; these need doubles. */
#define assert_near(a, b, tol) near_((a), (b), (tol), #a, __FILE__, __LINE__)
static void near_(double a, double b, double tol, const char *what, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%s = %.17g, want %.17g (+- %g)\n", what, a, b, tol);
        _fail(file, line);
    }
}

/* ---- scene ---- */

/* K = [812.5 0 331.25; 0 798 247.5; 0 0 1], as in the OpenCV reference values. */
static geom_camera ref_camera(int n_dist)
{
    geom_camera c = {.name = "ref", .fx = 812.5, .fy = 798.0, .cx = 331.25, .cy = 247.5};
    const double k[8] = {-0.28, 0.11, 0.0012, -0.0009, -0.02, 0.03, -0.01, 0.004};

    for (int i = 0; i < n_dist; i++)
        c.k[i] = k[i];
    c.n_dist = n_dist;
    c.R[0] = c.R[4] = c.R[8] = 1;
    return c;
}

/* A camera at centre C looking at the origin, world up = +z, with its own distortion. */
static geom_camera look_at(const char *name, const double C[3], int i)
{
    geom_camera c = ref_camera(5);
    double z[3] = {-C[0], -C[1], -C[2]}, up[3] = {0, 0, 1}, x[3], y[3], n;

    snprintf(c.name, sizeof(c.name), "%s", name);
    c.fx = 800 + 40 * i;
    c.fy = c.fx * 1.01;
    c.k[0] = -0.2 + 0.05 * i;
    c.k[2] = 0.001 * (i - 1);
    n = sqrt(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
    for (int k = 0; k < 3; k++)
        z[k] /= n;
    x[0] = up[1] * z[2] - up[2] * z[1]; /* x = up x z: image x to the right */
    x[1] = up[2] * z[0] - up[0] * z[2];
    x[2] = up[0] * z[1] - up[1] * z[0];
    n = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
    for (int k = 0; k < 3; k++)
        x[k] /= -n;
    y[0] = z[1] * x[2] - z[2] * x[1];
    y[1] = z[2] * x[0] - z[0] * x[2];
    y[2] = z[0] * x[1] - z[1] * x[0];
    for (int k = 0; k < 3; k++) {
        c.R[k] = x[k];
        c.R[3 + k] = y[k];
        c.R[6 + k] = z[k];
    }
    for (int k = 0; k < 3; k++)
        c.t[k] = -(c.R[3 * k] * C[0] + c.R[3 * k + 1] * C[1] + c.R[3 * k + 2] * C[2]);
    return c;
}

/* n cameras on a ring of radius 2 (scene units: metres), 0.6 above the floor. */
static geom_calib ring(int n)
{
    geom_calib cal = {.n = n};

    for (int i = 0; i < n; i++) {
        double a = 2 * M_PI * i / n + 0.3, C[3] = {2 * cos(a), 2 * sin(a), 0.6};
        char name[32];
        snprintf(name, sizeof(name), "camera-%d", i + 1);
        cal.cam[i] = look_at(name, C, i);
    }
    return cal;
}

/* Point i of a helix of radius 0.5 around the origin. */
static void trajectory(int i, double X[3])
{
    double s = i * 0.05;

    X[0] = 0.5 * cos(s);
    X[1] = 0.5 * sin(1.3 * s);
    X[2] = 0.3 * sin(0.2 * s);
}

/* xorshift64* and Box-Muller: deterministic noise. */
static double gauss(uint64_t *s)
{
    double u1, u2;

    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    u1 = ((*s * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    u2 = ((*s * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
    return sqrt(-2 * log(u1 + 1e-300)) * cos(2 * M_PI * u2);
}

static double dist3(const double a[3], const double b[3])
{
    return sqrt(pow(a[0] - b[0], 2) + pow(a[1] - b[1], 2) + pow(a[2] - b[2], 2));
}

/* ---- the camera model against OpenCV ---- */

/* cv2.undistortPoints(pts, K, D) with D = the first 5 and all 8 reference coefficients. */
static const double undist_ref[2][5][4] = {
    {{10, 20, -0.42435474723337385, -0.30652042466388013},
     {320, 240, -0.013846954838383317, -0.0093995471918828059},
     {600.5, 451.25, 0.34912703505396009, 0.26860915919163098},
     {100, 400, -0.29403504644622053, 0.19735030837750542},
     {633, 12, 0.39827560511830468, -0.31661563491479594}},
    {{10, 20, -0.42810774450206907, -0.30924105047007444},
     {320, 240, -0.013847071194598416, -0.0093996261849754771},
     {600.5, 451.25, 0.35127408222704698, 0.27025624858053598},
     {100, 400, -0.29517744939986473, 0.19811646239517655},
     {633, 12, 0.40161233808569397, -0.3192705030719924}},
};

static void undistort_cv_matches_opencv(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        geom_camera c = ref_camera(d ? 8 : 5);
        for (int i = 0; i < 5; i++) {
            double xy[2];
            geom_camera_undistort_cv(&c, undist_ref[d][i], GEOM_CV_UNDISTORT_ITERS, xy);
            assert_near(xy[0], undist_ref[d][i][2], 1e-13);
            assert_near(xy[1], undist_ref[d][i][3], 1e-13);
        }
    }
}

/* cv2.projectPoints(X, rvec=(0.1,-0.2,0.05), tvec=(0.3,-0.1,5), K, D5) and cv2.Rodrigues. */
static void project_matches_opencv(void **state)
{
    const double rvec[3] = {0.1, -0.2, 0.05},
                 X[3][3] = {{0, 0, 0}, {1, -0.5, 2}, {-1.2, 0.8, -0.5}};
    const double want[3][2] = {{379.9349557376, 231.5641672908288},
                               {435.24570305668635, 162.2526679739763},
                               {179.61427041054176, 373.90446469351974}};
    const double Rcv[9] = {0.9788428062071254,  -0.0595199734937639, -0.1957655063893064,
                           0.03960732051223486, 0.9937772959432721,  -0.10410545725138103,
                           0.20074366963468865, 0.0941491307606165,  0.9751091837730888};
    geom_camera c = ref_camera(5);

    (void)state;
    geom_camera_rodrigues(rvec, c.R);
    for (int i = 0; i < 9; i++)
        assert_near(c.R[i], Rcv[i], 1e-15);
    c.t[0] = 0.3;
    c.t[1] = -0.1;
    c.t[2] = 5;
    for (int i = 0; i < 3; i++) {
        double uv[2];
        geom_camera_project(&c, X[i], uv);
        assert_near(uv[0], want[i][0], 1e-9);
        assert_near(uv[1], want[i][1], 1e-9);
    }
}

/* Converged undistortion inverts distortion over the whole image, where OpenCV's 5 steps are
 * off by up to 1e-3 (that is why vas iterates on). */
static void undistort_inverts_distort(void **state)
{
    geom_camera c = ref_camera(8);
    double worst = 0, worst_cv = 0;

    (void)state;
    for (double x = -0.45; x <= 0.45; x += 0.05)
        for (double y = -0.35; y <= 0.35; y += 0.05) {
            double xy[2] = {x, y}, uv[2], back[2], cv[2];
            geom_camera_distort(&c, xy, uv, NULL);
            assert_int_equal(geom_camera_undistort(&c, uv, back), 0);
            worst = fmax(worst, fmax(fabs(back[0] - x), fabs(back[1] - y)));
            geom_camera_undistort_cv(&c, uv, GEOM_CV_UNDISTORT_ITERS, cv);
            worst_cv = fmax(worst_cv, fmax(fabs(cv[0] - x), fabs(cv[1] - y)));
        }
    assert_true(worst < 1e-13);
    assert_true(worst_cv > 1e-6); /* the test would not tell the two apart otherwise */
}

/* The distortion Jacobian against central differences. */
static void distort_jacobian(void **state)
{
    geom_camera c = ref_camera(8);
    double xy[2] = {0.31, -0.22}, uv[2], J[4], h = 1e-6;

    (void)state;
    geom_camera_distort(&c, xy, uv, J);
    for (int k = 0; k < 2; k++) {
        double a[2] = {xy[0], xy[1]}, b[2] = {xy[0], xy[1]}, ua[2], ub[2];
        a[k] += h;
        b[k] -= h;
        geom_camera_distort(&c, a, ua, NULL);
        geom_camera_distort(&c, b, ub, NULL);
        assert_near(J[k], (ua[0] - ub[0]) / (2 * h) / c.fx, 1e-7);
        assert_near(J[2 + k], (ua[1] - ub[1]) / (2 * h) / c.fy, 1e-7);
    }
}

/* ---- triangulation ---- */

#define NPTS 2000

static void project_all(const geom_calib *cal, const double X[3], double *uv)
{
    for (int c = 0; c < cal->n; c++)
        geom_camera_project(&cal->cam[c], X, uv + 2 * c);
}

static void exact_without_noise(void **state)
{
    (void)state;
    for (int n = 2; n <= 4; n++)
        for (int refine = 0; refine <= 5; refine += 5) {
            geom_calib cal = ring(n);
            geom_tri_opts o = {.refine_iters = refine};
            geom_tri *t = NULL;
            double worst = 0, worst_px = 0;
            assert_int_equal(geom_tri_new(&cal, &o, &t, NULL), VAS_OK);
            for (int i = 0; i < NPTS; i++) {
                double X[3], uv[8];
                geom_tri_result r;
                trajectory(i, X);
                project_all(&cal, X, uv);
                geom_tri_point(t, uv, &r);
                assert_int_equal(r.n_cams, n);
                assert_int_equal(r.cams, (1u << n) - 1);
                worst = fmax(worst, dist3(r.X, X));
                worst_px = fmax(worst_px, r.reproj);
            }
            /* scene scale 2 (camera distance): 1e-6 relative is 2e-6; we get ~1e-12 */
            assert_true(worst < 2e-6 * 1e-3);
            assert_true(worst_px < 1e-6);
            geom_tri_free(t);
        }
}

/* The noise bound. With pixel noise N(0, s^2 I), to first order the error of the maximum
 * likelihood point is dX = (J'J)^-1 J' n (J: the stacked 2N x 3 pixel Jacobian at the true
 * point), so |J dX|^2 / s^2 is chi-square with 3 degrees of freedom: mean 3, and the mean of
 * NPTS = 2000 such values has standard deviation sqrt(6 / 2000) = 0.055. We check the mean is
 * within [2.7, 3.3] for the refined points and that no point is beyond 30 (p < 1e-6 each).
 * The DLT is not the maximum likelihood estimate (it weighs algebraic, not pixel, error), so
 * its mean may only be larger; it is bounded by 3.6 (20% worse) here. The RMS error in scene
 * units is also checked against sqrt(mean trace of the covariance s^2 (J'J)^-1), within 15%. */
static double noise_run(int n, int refine, double sigma, double *rms_ratio)
{
    geom_calib cal = ring(n);
    geom_tri_opts o = {.refine_iters = refine};
    geom_tri *t = NULL;
    uint64_t seed = 0x9e3779b97f4a7c15ULL + (uint64_t)n;
    double sum_m = 0, sum_e2 = 0, sum_tr = 0, h = 1e-6;

    assert_int_equal(geom_tri_new(&cal, &o, &t, NULL), VAS_OK);
    for (int i = 0; i < NPTS; i++) {
        double X[3], uv[8], J[8][3], JdX[8] = {0}, H[3][3] = {{0}}, m = 0, dX[3];
        geom_tri_result r;
        trajectory(i, X);
        project_all(&cal, X, uv);
        for (int k = 0; k < 3; k++) { /* numeric pixel Jacobian at the truth */
            double a[3] = {X[0], X[1], X[2]}, b[3] = {X[0], X[1], X[2]}, ua[8], ub[8];
            a[k] += h;
            b[k] -= h;
            project_all(&cal, a, ua);
            project_all(&cal, b, ub);
            for (int j = 0; j < 2 * n; j++)
                J[j][k] = (ua[j] - ub[j]) / (2 * h);
        }
        for (int j = 0; j < 2 * n; j++)
            uv[j] += sigma * gauss(&seed);
        geom_tri_point(t, uv, &r);
        for (int k = 0; k < 3; k++)
            dX[k] = r.X[k] - X[k];
        for (int j = 0; j < 2 * n; j++) {
            for (int k = 0; k < 3; k++) {
                JdX[j] += J[j][k] * dX[k];
                for (int l = 0; l < 3; l++)
                    H[k][l] += J[j][k] * J[j][l];
            }
            m += JdX[j] * JdX[j] / (sigma * sigma);
        }
        assert_true(m < 30);
        sum_m += m;
        sum_e2 += dX[0] * dX[0] + dX[1] * dX[1] + dX[2] * dX[2];
        { /* trace of s^2 H^-1 by cofactors */
            double c0 = H[1][1] * H[2][2] - H[1][2] * H[2][1];
            double c1 = H[0][0] * H[2][2] - H[0][2] * H[2][0];
            double c2 = H[0][0] * H[1][1] - H[0][1] * H[1][0];
            double det = H[0][0] * c0 - H[0][1] * (H[1][0] * H[2][2] - H[1][2] * H[2][0]) +
                         H[0][2] * (H[1][0] * H[2][1] - H[1][1] * H[2][0]);
            sum_tr += sigma * sigma * (c0 + c1 + c2) / det;
        }
    }
    geom_tri_free(t);
    *rms_ratio = sqrt(sum_e2 / sum_tr);
    return sum_m / NPTS;
}

static void noise_bound(void **state)
{
    (void)state;
    for (int n = 2; n <= 4; n++) {
        double ratio, m_ml = noise_run(n, 5, 0.7, &ratio), m_dlt;
        print_message("cameras=%d refined: mean chi2 %.3f rms/predicted %.3f\n", n, m_ml, ratio);
        assert_true(m_ml > 2.7 && m_ml < 3.3);
        assert_true(ratio > 0.85 && ratio < 1.15);
        m_dlt = noise_run(n, 0, 0.7, &ratio);
        print_message("cameras=%d DLT:     mean chi2 %.3f rms/predicted %.3f\n", n, m_dlt, ratio);
        assert_true(m_dlt > 2.7 && m_dlt < 3.6);
    }
}

static void seen_by_one_is_nan(void **state)
{
    geom_calib cal = ring(3);
    geom_tri *t = NULL;
    double X[3] = {0.1, 0.2, 0.05}, uv[6];
    geom_tri_result r;

    (void)state;
    assert_int_equal(geom_tri_new(&cal, NULL, &t, NULL), VAS_OK);
    project_all(&cal, X, uv);
    uv[0] = uv[5] = NAN; /* camera 1 and camera 3 unseen: camera 2 only */
    geom_tri_point(t, uv, &r);
    assert_int_equal(r.n_cams, 1);
    assert_int_equal(r.cams, 2u);
    assert_true(isnan(r.X[0]) && isnan(r.X[1]) && isnan(r.X[2]) && isnan(r.reproj));
    uv[2] = NAN;
    geom_tri_point(t, uv, &r);
    assert_int_equal(r.n_cams, 0);
    assert_true(isnan(r.X[2]));
    project_all(&cal, X, uv);
    uv[3] = INFINITY; /* two left */
    geom_tri_point(t, uv, &r);
    assert_int_equal(r.n_cams, 2);
    assert_int_equal(r.cams, 5u);
    assert_true(dist3(r.X, X) < 1e-9);
    geom_tri_free(t);
}

/* Camera-major rows x, y, likelihood (DeepLabCut's layout) give the per-point results. */
static void batch_matches_point(void **state)
{
    geom_calib cal = ring(4);
    geom_tri_opts o = {.refine_iters = 3};
    geom_tri *t = NULL;
    double rows[4][100 * 3];
    const double *uv[4] = {rows[0], rows[1], rows[2], rows[3]};
    geom_tri_result rb[100], rp;
    uint64_t seed = 7;

    (void)state;
    assert_int_equal(geom_tri_new(&cal, &o, &t, NULL), VAS_OK);
    for (int i = 0; i < 100; i++) {
        double X[3], p[8];
        trajectory(i, X);
        project_all(&cal, X, p);
        for (int c = 0; c < 4; c++) {
            rows[c][3 * i] = p[2 * c] + gauss(&seed);
            rows[c][3 * i + 1] = i % 7 == c ? NAN : p[2 * c + 1] + gauss(&seed);
            rows[c][3 * i + 2] = 0.9;
        }
    }
    geom_tri_batch(t, 100, uv, 3, rb);
    for (int i = 0; i < 100; i++) {
        double p[8];
        for (int c = 0; c < 4; c++) {
            p[2 * c] = rows[c][3 * i];
            p[2 * c + 1] = rows[c][3 * i + 1];
        }
        geom_tri_point(t, p, &rp);
        assert_memory_equal(&rp, &rb[i], sizeof(rp));
        assert_int_equal(rp.n_cams, i % 7 < 4 ? 3 : 4);
    }
    geom_tri_free(t);
}

static void needs_two_cameras(void **state)
{
    geom_calib cal = ring(2);
    geom_tri *t = NULL;
    vas_err e = {0};

    (void)state;
    cal.n = 1;
    assert_int_equal(geom_tri_new(&cal, NULL, &t, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "2 to 16 cameras"));
}

/* ---- calibration files ---- */

#define MAT3(key, d)                                                                               \
    "   " key ": !!opencv-matrix\n      rows: 3\n      cols: 3\n      dt: d\n      data: [ " d     \
    " ]\n"
#define VEC3(key, d)                                                                               \
    "   " key ": !!opencv-matrix\n      rows: 3\n      cols: 1\n      dt: d\n      data: [ " d     \
    " ]\n"
#define K_OK MAT3("camera_matrix", "800., 0., 320., 0., 810., 240., 0., 0., 1.")
#define I3   MAT3("rotation", "1., 0., 0., 0., 1., 0., 0., 0., 1.")
#define DIST5                                                                                      \
    "   distortion_coefficients: !!opencv-matrix\n      rows: 1\n      cols: 5\n      dt: d\n"     \
    "      data: [ -2.0000000000000001e-01, 5.0e-02, 1.e-03, -1.e-03, 0. ]\n"

/* Two cameras: camera-1 at the origin; camera-2 with rvec, 4 coefficients, float dt. */
static const char calib_good[] =
    "%YAML:1.0\n---\ncamera_names: [ \"camera-1\", camera-2 ]\n"
    "camera-1:\n   image_width: 640\n   image_height: 480\n" K_OK DIST5 I3 VEC3(
        "translation", "0., 0., 0.") "camera-2:\n   image_width: 640\n   image_height: 480\n" K_OK
                                     "   distortion_coefficients: !!opencv-matrix\n      rows: 4\n "
                                     "     cols: 1\n      dt: f\n"
                                     "      data: [ -0.1, 0.01, 0., 0. ]\n" VEC3(
                                         "rvec", "0., 0.5, 0.") VEC3("tvec", "-1., 0., 0.2");

static geom_calib load_text(tu_dir_fx *f, const char *text, int want, const char *msg)
{
    geom_calib c;
    vas_err e = {0};
    const char *p = tu_dir_file(f, "calibration.yaml");

    memset(&c, 0, sizeof(c));
    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
    assert_int_equal(geom_calib_load(p, &c, &e), want);
    if (msg && !strstr(e.msg, msg))
        fail_msg("message '%s' lacks '%s'", e.msg, msg);
    return c;
}

static void calib_reads_opencv_yaml(void **state)
{
    geom_calib c = load_text(*state, calib_good, VAS_OK, NULL);
    double R[9], rv[3] = {0, 0.5, 0};

    assert_int_equal(c.n, 2);
    assert_string_equal(c.cam[0].name, "camera-1");
    assert_string_equal(c.cam[1].name, "camera-2");
    assert_int_equal(c.cam[0].width, 640);
    assert_int_equal(c.cam[0].height, 480);
    assert_near(c.cam[0].fx, 800, 0);
    assert_near(c.cam[0].fy, 810, 0);
    assert_near(c.cam[0].cx, 320, 0);
    assert_near(c.cam[0].cy, 240, 0);
    assert_int_equal(c.cam[0].n_dist, 5);
    assert_near(c.cam[0].k[0], -0.2, 0);
    assert_near(c.cam[0].k[3], -0.001, 0);
    assert_int_equal(c.cam[1].n_dist, 4);
    assert_near(c.cam[1].k[4], 0, 0);
    geom_camera_rodrigues(rv, R);
    for (int i = 0; i < 9; i++)
        assert_near(c.cam[1].R[i], R[i], 0);
    assert_near(c.cam[1].t[0], -1, 0);
    assert_near(c.cam[1].t[2], 0.2, 0);
    assert_int_equal(geom_calib_find(&c, "camera-2"), 1);
    assert_int_equal(geom_calib_find(&c, "camera-3"), -1);
}

/* Without camera_names: the top-level blocks holding a camera_matrix, in file order. */
static void calib_names_from_blocks(void **state)
{
    static const char text[] =
        "%YAML:1.0\n---\nnote: hello\n"
        "left:\n" K_OK I3 VEC3("translation", "0., 0., 0.") "right:\n" K_OK I3 VEC3("translation",
                                                                                    "1., 0., 0.");
    geom_calib c = load_text(*state, text, VAS_OK, NULL);

    assert_int_equal(c.n, 2);
    assert_string_equal(c.cam[0].name, "left");
    assert_string_equal(c.cam[1].name, "right");
    assert_int_equal(c.cam[0].n_dist, 0);
}

/* Camera a with K_OK, the rotation r, no translation. */
#define WITH_R(r) "%YAML:1.0\n---\na:\n" K_OK r VEC3("translation", "0,0,0")

static void calib_bad_files(void **state)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"%YAML:1.0\n---\ncamera_names: [ a, b ]\na:\n" K_OK I3 VEC3("translation", "0,0,0"),
         "camera b is missing"},
        {"%YAML:1.0\n---\na:\n" MAT3("camera_matrix", "0., 0., 320., 0., 810., 240., 0., 0., 1.")
             I3 VEC3("translation", "0,0,0"),
         "camera matrix is singular"},
        {WITH_R("   rotation: [ 1, 0 ]\n"), "rotation must be 3x3 or 3x1, not 2x1"},
        {WITH_R(MAT3("rotation", "1,0,0,0,1,0,0,0,1,0")), "too many values"},
        {WITH_R(MAT3("rotation", "1,0,0,0,1,0,0,0")), "is 3x3 but holds 8 values"},
        {WITH_R(MAT3("rotation", "1,0,0,0,1,0.1,0,0,1")), "rotation is not a rotation"},
        {WITH_R(MAT3("rotation", "1,0,0,0,1,0,0,0,-1")), "rotation is not a rotation"},
        {"%YAML:1.0\n---\na:\n" K_OK I3
         "   translation: !!opencv-matrix\n      rows: 3\n      cols: 1\n      dt: x\n"
         "      data: [ 0, 0, 0 ]\n",
         "dt 'x'"},
        {"%YAML:1.0\n---\na:\n" K_OK I3 VEC3("translation", "0, .Nan, 0"), "not a finite number"},
        {"%YAML:1.0\n---\na:\n" K_OK I3, "a has no translation"},
        {"%YAML:1.0\n---\na:\n" K_OK VEC3("translation", "0,0,0"), "a has no rotation"},
        {"%YAML:1.0\n---\na:\n" MAT3("camera_matrix", "800, 0, 320, 0, 810, 240, 0, 1, 1")
             I3 VEC3("translation", "0,0,0"),
         "[fx 0 cx; 0 fy cy; 0 0 1]"},
        {"%YAML:1.0\n---\na:\n" K_OK
         "   distortion_coefficients: [ 0.1, 0.2, 0.3 ]\n" I3 VEC3("translation", "0,0,0"),
         "4, 5 or 8 coefficients"},
        {"%YAML:1.0\n---\ncamera_names: [ a, a ]\na:\n" K_OK I3 VEC3("translation", "0,0,0"),
         "named twice"},
        {"%YAML:1.0\n---\nnote: no cameras\n", "no cameras"},
        {"%YAML:1.0\n---\n- 1\n- 2\n", "not a calibration"},
        {"%YAML:1.0\n---\na: [\n", "not YAML"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        load_text(*state, bad[i].text, VAS_EINVAL, bad[i].msg);
}

static void calib_missing_file(void **state)
{
    geom_calib c;
    vas_err e = {0};

    assert_int_equal(geom_calib_load(tu_dir_file(*state, "nope.yaml"), &c, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "cannot open"));
}

/* geom_calib_write then geom_calib_load gives the same cameras, to the bit. */
static void calib_write_round_trip(void **state)
{
    tu_dir_fx *f = *state;
    geom_calib a = ring(4), b;
    vas_err e = {0};

    memset(&b, 0, sizeof(b)); /* cameras past b.n stay zero, as in a */
    a.cam[1].n_dist = 8;
    a.cam[1].k[7] = 1.0 / 3;
    a.cam[2].n_dist = 0;
    memset(a.cam[2].k, 0, sizeof(a.cam[2].k));
    a.cam[0].width = 1280;
    a.cam[0].height = 720;
    assert_int_equal(geom_calib_write(tu_dir_file(f, "out.yaml"), &a, &e), VAS_OK);
    assert_int_equal(geom_calib_load(tu_dir_file(f, "out.yaml"), &b, &e), VAS_OK);
    assert_memory_equal(&a, &b, sizeof(a));
}

static void calib_select(void **state)
{
    geom_calib a = ring(3), b;
    const char *names[] = {"camera-3", "camera-1"}, *bad[] = {"camera-1", "camera-9"};
    vas_err e = {0};

    (void)state;
    assert_int_equal(geom_calib_select(&a, names, 2, &b, &e), VAS_OK);
    assert_int_equal(b.n, 2);
    assert_memory_equal(&b.cam[0], &a.cam[2], sizeof(a.cam[0]));
    assert_memory_equal(&b.cam[1], &a.cam[0], sizeof(a.cam[0]));
    assert_int_equal(geom_calib_select(&a, bad, 2, &b, &e), VAS_EINVAL);
    assert_string_equal(e.msg, "the calibration has no camera camera-9");
}

/* A file written by OpenCV's own cv2.FileStorage, when python3 with cv2 is here. */
static void calib_from_cv2_filestorage(void **state)
{
    tu_dir_fx *f = *state;
    char cmd[2048];
    geom_calib c;
    vas_err e = {0};

    if (system("/usr/bin/python3 -c 'import cv2, numpy' 2>/dev/null") != 0) {
        print_message("skipped: /usr/bin/python3 with cv2 and numpy is not installed\n");
        skip();
    }
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c '\n"
             "import cv2, numpy as np\n"
             "fs = cv2.FileStorage(\"%s\", cv2.FILE_STORAGE_WRITE)\n"
             "fs.write(\"camera_names\", [\"cam-a\", \"cam-b\"])\n"
             "for i, n in enumerate([\"cam-a\", \"cam-b\"]):\n"
             "    fs.startWriteStruct(n, cv2.FILE_NODE_MAP)\n"
             "    fs.write(\"image_width\", 640); fs.write(\"image_height\", 480)\n"
             "    fs.write(\"camera_matrix\", np.array([[800., 0, 320], [0, 800, 240], [0, 0, "
             "1]]))\n"
             "    fs.write(\"distortion_coefficients\", np.array([[-0.2, 0.05, 0, 0, 0.01]]))\n"
             "    fs.write(\"rotation\", cv2.Rodrigues(np.array([0.0, 0.1 * i, 0.0]))[0])\n"
             "    fs.write(\"translation\", np.array([[-0.5 * i], [0.], [0.]]))\n"
             "    fs.endWriteStruct()\n"
             "fs.release()'",
             tu_dir_file(f, "cv.yaml"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(geom_calib_load(tu_dir_file(f, "cv.yaml"), &c, &e), VAS_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.cam[1].name, "cam-b");
    assert_near(c.cam[1].k[4], 0.01, 0);
    assert_near(c.cam[1].t[0], -0.5, 0);
    assert_near(c.cam[1].R[2], sin(0.1), 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(undistort_cv_matches_opencv),
        cmocka_unit_test(project_matches_opencv),
        cmocka_unit_test(undistort_inverts_distort),
        cmocka_unit_test(distort_jacobian),
        cmocka_unit_test(exact_without_noise),
        cmocka_unit_test(noise_bound),
        cmocka_unit_test(seen_by_one_is_nan),
        cmocka_unit_test(batch_matches_point),
        cmocka_unit_test(needs_two_cameras),
        cmocka_unit_test_setup_teardown(calib_reads_opencv_yaml, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(calib_names_from_blocks, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(calib_bad_files, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(calib_missing_file, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(calib_write_round_trip, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test(calib_select),
        cmocka_unit_test_setup_teardown(calib_from_cv2_filestorage, tu_dir_setup, tu_dir_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
