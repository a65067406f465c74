/* geom_main.c - bench/geom's runner: points triangulated per second by geom_tri_batch.
 * Usage: geom-run --cameras N --refine K --points P --runs R [--sigma S] [--dump FILE]
 * N cameras (2..16) on a circle of radius 2 around the scene (90 degrees apart up to 4), 640x480, f
 * = 800, distortion k1 = -0.2, k2 = 0.05, p1 = 0.001; P points uniform in a 1 x 1 x 1 cube at the
 * centre, projected and given Gaussian pixel noise S (default 0.5). Prints one line: result
 * cameras=N refine=K points=P median_s=T points_per_s=X rms_err=E mean_reproj_px=M
 * --dump FILE writes the calibration (geom_calib_write) and the pixels (one line per point:
 * u1 v1 u2 v2 ...) for the cv2 peer. Single thread. */
#include "geom/geom_tri.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ULL;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

static double gauss(void)
{
    return sqrt(-2 * log(uniform() + 1e-300)) * cos(2 * M_PI * uniform());
}

/* Camera i of n: rotated about the vertical (y) axis by 90 degrees * i (2 pi i / n beyond 4
 * cameras), 2 units from the origin, looking at it. */
static geom_calib ring(int n)
{
    geom_calib c = {.n = n};

    for (int i = 0; i < n; i++) {
        geom_camera *k = &c.cam[i];
        double rv[3] = {0, (n <= 4 ? M_PI / 2 : 2 * M_PI / n) * i, 0};
        snprintf(k->name, sizeof(k->name), "camera-%d", i + 1);
        k->width = 640;
        k->height = 480;
        k->fx = k->fy = 800;
        k->cx = 320;
        k->cy = 240;
        k->k[0] = -0.2;
        k->k[1] = 0.05;
        k->k[2] = 0.001;
        k->n_dist = 5;
        geom_camera_rodrigues(rv, k->R);
        k->t[2] = 2;
    }
    return c;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void dump(const char *path, const geom_calib *c, const double *uv, size_t np)
{
    char calib[1024];
    FILE *f;

    snprintf(calib, sizeof(calib), "%s.yaml", path);
    if (geom_calib_write(calib, c, NULL) < 0 || !(f = fopen(path, "w"))) {
        fprintf(stderr, "geom-run: cannot write %s\n", path);
        exit(1);
    }
    for (size_t p = 0; p < np; p++)
        for (int k = 0; k < 2 * c->n; k++)
            fprintf(f, "%.17g%c", uv[p * 2 * c->n + k], k + 1 < 2 * c->n ? ' ' : '\n');
    fclose(f);
}

int main(int argc, char **argv)
{
    int n = 2, refine = 0, runs = 5;
    size_t np = 1000000;
    double sigma = 0.5, times[64], err2 = 0, reproj = 0;
    const char *dump_path = NULL;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--cameras"))
            n = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--refine"))
            refine = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--points"))
            np = (size_t)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--runs"))
            runs = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--sigma"))
            sigma = strtod(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--dump"))
            dump_path = argv[i + 1];
    }
    if (n < 2 || n > GEOM_MAX_CAMERAS || runs < 1 || runs > 64 || np < 1) {
        fprintf(stderr, "geom-run: bad arguments\n");
        return 1;
    }
    geom_calib cal = ring(n);
    geom_tri_opts o = {.refine_iters = refine};
    geom_tri *t = NULL;
    double *X = malloc(np * 3 * sizeof(double)), *uv = malloc(np * 2 * (size_t)n * sizeof(double));
    geom_tri_result *res = malloc(np * sizeof(*res));
    const double *views[GEOM_MAX_CAMERAS];

    if (!X || !uv || !res || geom_tri_new(&cal, &o, &t, NULL) < 0) {
        fprintf(stderr, "geom-run: out of memory\n");
        return 1;
    }
    for (size_t p = 0; p < np; p++)
        for (int k = 0; k < 3; k++)
            X[3 * p + k] = uniform() - 0.5;
    for (size_t p = 0; p < np; p++)
        for (int c = 0; c < n; c++) {
            double *q = uv + (p * (size_t)n + (size_t)c) * 2;
            geom_camera_project(&cal.cam[c], X + 3 * p, q);
            q[0] += sigma * gauss();
            q[1] += sigma * gauss();
        }
    if (dump_path)
        dump(dump_path, &cal, uv, np);
    for (int c = 0; c < n; c++)
        views[c] = uv + 2 * c;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        geom_tri_batch(t, np, views, 2 * (size_t)n, res);
        times[r] = now() - t0;
    }
    for (size_t p = 0; p < np; p++) {
        for (int k = 0; k < 3; k++)
            err2 += pow(res[p].X[k] - X[3 * p + k], 2);
        reproj += res[p].reproj;
    }
    qsort(times, (size_t)runs, sizeof(times[0]), cmp_double);
    printf("result cameras=%d refine=%d points=%zu median_s=%.4f points_per_s=%.0f rms_err=%.3g "
           "mean_reproj_px=%.3f\n",
           n, refine, np, times[runs / 2], (double)np / times[runs / 2], sqrt(err2 / (double)np),
           reproj / (double)np);
    geom_tri_free(t);
    free(X);
    free(uv);
    free(res);
    return 0;
}
