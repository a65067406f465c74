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

#include "e2e.h"
#include "geom/geom_calib.h"
#include "test_media_enc.h"

#include <limits.h>
#include <math.h>

#define NP     4  /* body parts */
#define NF     50 /* frames */
#define SCENE  10.0
#define LOW_L  0.1 /* a likelihood below the rigs' pcutoff (0.4) */
#define HIGH_L 0.95

static const char *const parts[NP] = {"snout", "leftear", "rightear", "tailbase"};

/* ---- the scene ---- */

/* Camera i of n on an arc of 120 degrees, radius 30, about 1.5 units up, looking at the origin;
 * intrinsics and distortion differ a little per camera. dlc: camera 1 is the world frame (as in
 * DeepLabCut's stereo calibration) and camera 2 sits 60 degrees round. */
static void make_camera(geom_camera *c, int i, int n, int dlc)
{
    double a = dlc ? (i ? M_PI / 3 : 0) : 2 * M_PI / 3 * i / (n - 1) + 0.3;
    double C[3] = {30 * sin(a), -1.5 - 0.5 * i, -30 * cos(a)}, *x = c->R, *y = c->R + 3,
           *z = c->R + 6;
    double nz = sqrt(C[0] * C[0] + C[1] * C[1] + C[2] * C[2]), nx;

    *c = (geom_camera){.fx = 800 + 10 * i,
                       .fy = (800 + 10 * i) * 1.01,
                       .cx = 320 + 3 * i,
                       .cy = 240 - 2 * i,
                       .k = {-0.2, 0.05, 0.001, -0.001, 0.01},
                       .n_dist = 5};
    snprintf(c->name, sizeof(c->name), "camera-%d", i + 1);
    c->width = 640;
    c->height = 480;
    /* rows of R: z towards the origin; x = z cross (0, -1, 0) normalised; y = z cross x
     * (det +1) */
    for (int k = 0; k < 3; k++)
        z[k] = -C[k] / nz;
    nx = hypot(z[2], z[0]);
    x[0] = z[2] / nx;
    x[2] = -z[0] / nx;
    y[0] = z[1] * x[2] - z[2] * x[1];
    y[1] = z[2] * x[0] - z[0] * x[2];
    y[2] = z[0] * x[1] - z[1] * x[0];
    if (dlc && i == 0) { /* camera 1 = world: identity pose, the scene 30 units ahead */
        memset(c->R, 0, sizeof(c->R));
        c->R[0] = c->R[4] = c->R[8] = 1;
        c->t[2] = 30;
        return;
    }
    for (int k = 0; k < 3; k++)
        c->t[k] = -(c->R[3 * k] * C[0] + c->R[3 * k + 1] * C[1] + c->R[3 * k + 2] * C[2]);
}

/* Pinhole + distortion, OpenCV's projectPoints written out. */
static void project(const geom_camera *c, const double X[3], double uv[2])
{
    double Xc[3], x, y, r2, rad, xd, yd;
    const double *k = c->k;

    for (int i = 0; i < 3; i++)
        Xc[i] = c->R[3 * i] * X[0] + c->R[3 * i + 1] * X[1] + c->R[3 * i + 2] * X[2] + c->t[i];
    x = Xc[0] / Xc[2];
    y = Xc[1] / Xc[2];
    r2 = x * x + y * y;
    rad = 1 + k[0] * r2 + k[1] * r2 * r2 + k[4] * r2 * r2 * r2;
    xd = x * rad + 2 * k[2] * x * y + k[3] * (r2 + 2 * x * x);
    yd = y * rad + k[2] * (r2 + 2 * y * y) + 2 * k[3] * x * y;
    uv[0] = c->fx * xd + c->cx;
    uv[1] = c->fy * yd + c->cy;
}

/* The true position of part p in frame f: a body walking a circle of radius 3 with its parts
 * around it, in a scene about SCENE units across. */
static void truth(int f, int p, double X[3])
{
    static const double off[NP][3] = {{1.5, 0, 0}, {0.8, -0.4, 0.5}, {0.8, -0.4, -0.5}, {-2, 0, 0}};
    double a = 2 * M_PI * f / NF, ca = cos(a), sa = sin(a);

    X[0] = 3 * ca + off[p][0] * -sa - off[p][2] * ca;
    X[1] = off[p][1] + 0.3 * sin(3 * a);
    X[2] = 3 * sa + off[p][0] * ca - off[p][2] * sa;
}

/* Deterministic Gaussian noise (xorshift64 + Box-Muller). */
static double gauss(uint64_t *s)
{
    double u[2];

    for (int i = 0; i < 2; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        u[i] = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

/* What a take's 2D files hold. */
typedef struct take {
    double sigma; /* pixel noise */
    int low;      /* 1: snout in frame 10 seen by camera 1 only; leftear in frame 20 not by 3 */
    const char *const *names; /* body part names written (NULL: parts) */
} take;

static double likelihood(const take *t, int c, int f, int p)
{
    if (t->low && f == 10 && p == 0 && c > 0)
        return LOW_L;
    if (t->low && f == 20 && p == 1 && c == 2)
        return LOW_L;
    return HIGH_L;
}

/* Camera c's DeepLabCut 2D CSV of the take, as pandas writes it (3 header rows). New string. */
static char *dlc_csv(const take *t, const geom_camera *c, int ci, uint64_t seed)
{
    const char *const *names = t->names ? t->names : parts;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);

    assert_non_null(f);
    fputs("scorer", f);
    for (int i = 0; i < 3 * NP; i++)
        fputs(",DLC_resnet50_openfieldOct30shuffle1_5000", f);
    fputs("\nbodyparts", f);
    for (int p = 0; p < NP; p++)
        fprintf(f, ",%s,%s,%s", names[p], names[p], names[p]);
    fputs("\ncoords", f);
    for (int p = 0; p < NP; p++)
        fputs(",x,y,likelihood", f);
    fputc('\n', f);
    for (int fr = 0; fr < NF; fr++) {
        fprintf(f, "%d", fr);
        for (int p = 0; p < NP; p++) {
            double X[3], uv[2];
            truth(fr, p, X);
            project(c, X, uv);
            uv[0] += t->sigma * gauss(&seed);
            uv[1] += t->sigma * gauss(&seed);
            fprintf(f, ",%.17g,%.17g,%.17g", uv[0], uv[1], likelihood(t, ci, fr, p));
        }
        fputc('\n', f);
    }
    fclose(f);
    return buf;
}

/* ---- the server ---- */

static char models_arg[E2E_PATH];
static const char *const server_args[] = {"--models", models_arg, NULL};

/* <models>/<name>: config.yaml and calibration.yaml for n cameras. */
static void write_rig(const char *models, const char *name, int n, int dlc)
{
    char dir[E2E_PATH + 64], cfg[2048], path[E2E_PATH + 128];
    geom_calib c = {.n = n};
    vas_err e = {0};
    size_t k;

    snprintf(dir, sizeof(dir), "%s/%s", models, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    k = (size_t)snprintf(cfg, sizeof(cfg),
                         "Task: %s\nscorername_3d: DLC_3D\npcutoff: 0.4\nskeleton:\n"
                         "- [snout, tailbase]\ncamera_names:\n",
                         name);
    for (int i = 0; i < 2 * n; i++)
        k += (size_t)snprintf(cfg + k, sizeof(cfg) - k,
                              i < n ? "- camera-%d\n" : "model_camera-%d: openfield\n", i % n + 1);
    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    assert_int_equal(tu_write_file(path, cfg, k), 0);
    for (int i = 0; i < n; i++)
        make_camera(&c.cam[i], i, n, dlc);
    snprintf(path, sizeof(path), "%s/calibration.yaml", dir);
    if (geom_calib_write(path, &c, &e) < 0)
        fail_msg("%s", e.msg);
}

/* <dir>/models with openfield (linked) and rig2, rig3, rig4, dlc2 (DeepLabCut-style). */
static void make_models(e2e_srv *s)
{
    char of[PATH_MAX], link[E2E_PATH + 16];

    snprintf(models_arg, sizeof(models_arg), "%s/models", s->dir);
    assert_int_equal(mkdir(models_arg, 0755), 0);
    assert_non_null(realpath("models/openfield", of));
    snprintf(link, sizeof(link), "%s/openfield", models_arg);
    assert_int_equal(symlink(of, link), 0);
    for (int n = 2; n <= 4; n++) {
        char name[16];
        snprintf(name, sizeof(name), "rig%d", n);
        write_rig(models_arg, name, n, 0);
    }
    write_rig(models_arg, "dlc2", 2, 1);
}

/* A server on make_models' folder. */
static void start(e2e_srv *s)
{
    make_models(s);
    s->args = server_args;
    assert_int_equal(e2e_start(s), 0);
}

/* rig's cameras, as written into its calibration. */
static void rig_cameras(const char *rig, geom_camera *cam, int n)
{
    for (int i = 0; i < n; i++)
        make_camera(&cam[i], i, n, !strcmp(rig, "dlc2"));
}

/* Uploads n cameras' CSVs of take t; ids into ids. */
static void upload_take(e2e_srv *s, const char *rig, int n, const take *t, char ids[][41])
{
    geom_camera cam[GEOM_MAX_CAMERAS];

    rig_cameras(rig, cam, n);
    for (int i = 0; i < n; i++) {
        char name[64], *csv = dlc_csv(t, &cam[i], i, 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1));
        e2e_resp r;
        snprintf(name, sizeof(name), "rig1-camera-%d-day2DLC_resnet50.csv", i + 1);
        e2e_upload(s, name, "text/csv", csv, strlen(csv), &r);
        e2e_assert_status(&r, 202);
        snprintf(ids[i], 41, "%s", e2e_str(r.json, "file_id"));
        e2e_resp_free(&r);
        free(csv);
    }
}

/* The POST body for rig with files ids[0..n). */
static void form(char *out, size_t size, const char *rig, char ids[][41], int n)
{
    size_t k = (size_t)snprintf(out, size, "analysis=triangulate&model=%s", rig);

    for (int i = 0; i < n; i++)
        k += (size_t)(i ? snprintf(out + k, size - k, "&file%d_id=%s", i + 1, ids[i])
                        : snprintf(out + k, size - k, "&file_id=%s", ids[i]));
}

/* Runs triangulate to SUCCESS; its result (new) returned, wall seconds in *secs. */
static json_t *run(e2e_srv *s, const char *rig, char ids[][41], int n, double *secs)
{
    char body[1024], aid[37];
    double t0 = e2e_now();
    e2e_resp r;
    json_t *res;

    form(body, sizeof(body), rig, ids, n);
    e2e_analysis(s, body, aid, NULL);
    e2e_wait_state(s, aid, NULL, 60, &r);
    if (!e2e_state_is(&r, "SUCCESS"))
        fail_msg("triangulate %s: %s", rig, r.body);
    *secs = e2e_now() - t0;
    res = json_incref(r.json);
    e2e_resp_free(&r);
    return res;
}

/* GET /file/<res[key]>: body (new string); its Content-Disposition must hold want_name (NULL:
 * not checked). */
static char *download(e2e_srv *s, const json_t *res, const char *key, const char *want_name)
{
    char path[128], *body;
    e2e_resp r;

    snprintf(path, sizeof(path), "/file/%s", e2e_str(res, key));
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    if (want_name)
        assert_non_null(strstr(e2e_header(&r, "Content-Disposition"), want_name));
    body = strdup(r.body);
    e2e_resp_free(&r);
    return body;
}

/* The CSV's 3D table: xyz[f][p][k]; an empty field is NaN. Checks the 3 header rows. */
static void parse_csv(char *text, double xyz[NF][NP][3])
{
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    int f = 0;

    assert_non_null(strstr(line, "scorer,DLC_3D,DLC_3D"));
    line = strtok_r(NULL, "\n", &save);
    assert_non_null(strstr(line, "bodyparts,snout,snout,snout,leftear"));
    line = strtok_r(NULL, "\n", &save);
    assert_non_null(strstr(line, "coords,x,y,z,x,y,z"));
    while ((line = strtok_r(NULL, "\n", &save)) && f < NF) {
        char *p = strchr(line, ',');
        assert_int_equal(strtol(line, NULL, 10), f);
        for (int i = 0; i < 3 * NP; i++) {
            char *end;
            assert_non_null(p);
            p++;
            xyz[f][i / 3][i % 3] = (*p == ',' || !*p) ? NAN : strtod(p, &end);
            p = strchr(p, ',');
        }
        f++;
    }
    assert_int_equal(f, NF);
}

/* Largest distance to the truth over finite points; *nan counts NaN points. */
static double max_error(double xyz[NF][NP][3], int *nan, double *rms)
{
    double worst = 0, sum = 0;
    int n = 0;

    *nan = 0;
    for (int f = 0; f < NF; f++)
        for (int p = 0; p < NP; p++) {
            double X[3], d = 0;
            truth(f, p, X);
            if (isnan(xyz[f][p][0])) {
                (*nan)++;
                continue;
            }
            for (int k = 0; k < 3; k++)
                d += (xyz[f][p][k] - X[k]) * (xyz[f][p][k] - X[k]);
            sum += d;
            n++;
            worst = fmax(worst, sqrt(d));
        }
    *rms = n ? sqrt(sum / n) : 0;
    return worst;
}

/* Triangulates take t with rig (n cameras): the CSV's table into xyz, the JSON (new) returned. */
static json_t *triangulate(e2e_srv *s, const char *rig, int n, const take *t, double xyz[NF][NP][3])
{
    char ids[GEOM_MAX_CAMERAS][41], *csv, *js;
    double secs;
    json_t *res, *doc;

    upload_take(s, rig, n, t, ids);
    res = run(s, rig, ids, n, &secs);
    assert_int_equal(json_integer_value(json_object_get(res, "frames")), NF);
    assert_int_equal(json_array_size(json_object_get(res, "cameras")), n);
    assert_string_equal(e2e_str(res, "model"), rig);
    print_message("triangulate %s (%d cameras, %d frames x %d parts, sigma %.1f px): %.3f s "
                  "request to SUCCESS, job %.4f s\n",
                  rig, n, NF, NP, t->sigma, secs, json_real_value(json_object_get(res, "seconds")));
    csv = download(s, res, "csv_file", "rig1_day2DLC_resnet50_DLC_3D.csv");
    free(download(s, res, "h5_file", "rig1_day2DLC_resnet50_DLC_3D.h5"));
    js = download(s, res, "json_file", "rig1_day2DLC_resnet50_DLC_3D.json");
    parse_csv(csv, xyz);
    doc = json_loads(js, 0, NULL);
    assert_non_null(doc);
    free(csv);
    free(js);
    json_decref(res);
    return doc;
}

/* JSON point column value: points[part][key][f]. */
static const json_t *col(const json_t *doc, const char *part, const char *key, int f)
{
    return json_array_get(
        json_object_get(json_object_get(json_object_get(doc, "points"), part), key), (size_t)f);
}

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
    assert_int_equal(json_array_size(r.json), 5);
    assert_string_equal(e2e_str(json_array_get(r.json, 0), "name"), "openfield");
    assert_null(json_object_get(json_array_get(r.json, 0), "type"));
    m3 = json_array_get(r.json, 2); /* dlc2, rig2, rig3, rig4 in name order */
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
