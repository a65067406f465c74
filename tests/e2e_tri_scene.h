/* e2e_tri_scene.h - the synthetic but exact 3D scene of the triangulate tests (e2e_triangulate.c,
 * e2e_tri_more.c): a known trajectory of openfield's four body parts, cameras on an arc with
 * OpenCV distortion (projected here, not with vas's geom code), DeepLabCut 2D CSVs of a take
 * written with fprintf, 3D model bundles (config.yaml + calibration.yaml) in a models folder,
 * and the helpers that run `triangulate` and read its CSV back. Header-only, as tests/e2e.h. */
#ifndef VAS_E2E_TRI_SCENE_H
#define VAS_E2E_TRI_SCENE_H

#include "e2e.h"
#include "geom/geom_calib.h"

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
static inline void make_camera(geom_camera *c, int i, int n, int dlc)
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
static inline void project(const geom_camera *c, const double X[3], double uv[2])
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
static inline void truth(int f, int p, double X[3])
{
    static const double off[NP][3] = {{1.5, 0, 0}, {0.8, -0.4, 0.5}, {0.8, -0.4, -0.5}, {-2, 0, 0}};
    double a = 2 * M_PI * f / NF, ca = cos(a), sa = sin(a);

    X[0] = 3 * ca + off[p][0] * -sa - off[p][2] * ca;
    X[1] = off[p][1] + 0.3 * sin(3 * a);
    X[2] = 3 * sa + off[p][0] * ca - off[p][2] * sa;
}

/* Deterministic Gaussian noise (xorshift64 + Box-Muller). */
static inline double gauss(uint64_t *s)
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
    int spike;                /* > 0: camera 1's snout is 60 px off in that frame only */
} take;

static inline double likelihood(const take *t, int c, int f, int p)
{
    if (t->low && f == 10 && p == 0 && c > 0)
        return LOW_L;
    if (t->low && f == 20 && p == 1 && c == 2)
        return LOW_L;
    return HIGH_L;
}

/* Camera c's DeepLabCut 2D CSV of the take, as pandas writes it (3 header rows). New string. */
static inline char *dlc_csv(const take *t, const geom_camera *c, int ci, uint64_t seed)
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
            if (t->spike && fr == t->spike && ci == 0 && p == 0)
                uv[0] += 60;
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

/* <models>/<name>: config.yaml and calibration.yaml for n cameras; with_2d: model_<camera>
 * names openfield for each camera (else the rig takes 2D pose files only). */
static inline void write_rig_2d(const char *models, const char *name, int n, int dlc, int with_2d)
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
    for (int i = 0; i < (with_2d ? 2 : 1) * n; i++)
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

/* The same with each camera's 2D model named (openfield). */
static inline void write_rig(const char *models, const char *name, int n, int dlc)
{
    write_rig_2d(models, name, n, dlc, 1);
}

/* <dir>/models with openfield (linked) and rig2, rig3, rig4, dlc2 (DeepLabCut-style), rigp (rig2
 * without 2D models). */
static inline void make_models(e2e_srv *s)
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
    write_rig_2d(models_arg, "rigp", 2, 0, 0); /* 2D pose files only: no 2D models */
}

/* A server on make_models' folder. */
static inline void start(e2e_srv *s)
{
    make_models(s);
    s->args = server_args;
    assert_int_equal(e2e_start(s), 0);
}

/* rig's cameras, as written into its calibration. */
static inline void rig_cameras(const char *rig, geom_camera *cam, int n)
{
    for (int i = 0; i < n; i++)
        make_camera(&cam[i], i, n, !strcmp(rig, "dlc2"));
}

/* Uploads n cameras' CSVs of take t; ids into ids. */
static inline void upload_take(e2e_srv *s, const char *rig, int n, const take *t, char ids[][41])
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
static inline void form(char *out, size_t size, const char *rig, char ids[][41], int n)
{
    size_t k = (size_t)snprintf(out, size, "analysis=triangulate&model=%s", rig);

    for (int i = 0; i < n; i++)
        k += (size_t)(i ? snprintf(out + k, size - k, "&file%d_id=%s", i + 1, ids[i])
                        : snprintf(out + k, size - k, "&file_id=%s", ids[i]));
}

/* Runs triangulate to SUCCESS; its result (new) returned, wall seconds in *secs. */
static inline json_t *run(e2e_srv *s, const char *rig, char ids[][41], int n, double *secs)
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
static inline char *download(e2e_srv *s, const json_t *res, const char *key, const char *want_name)
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
static inline void parse_csv(char *text, double xyz[NF][NP][3])
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
static inline double max_error(double xyz[NF][NP][3], int *nan, double *rms)
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
static inline json_t *triangulate(e2e_srv *s, const char *rig, int n, const take *t,
                                  double xyz[NF][NP][3])
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
static inline const json_t *col(const json_t *doc, const char *part, const char *key, int f)
{
    return json_array_get(
        json_object_get(json_object_get(json_object_get(doc, "points"), part), key), (size_t)f);
}

#endif
