/* geom_camera.c - OpenCV's camera model (see geom_camera.h). Formulas follow OpenCV 4's
 * cvProjectPoints2Internal and cvUndistortPointsInternal term by term, so results agree with
 * cv2 to rounding; the Newton step in geom_camera_undistort is vas's own. */
#include "geom/geom_camera.h"

#include <math.h>
#include <stddef.h>

/* The radial factor and its derivative with respect to r2. Without k4..k6 (the common case)
 * the denominator is 1 and the division is skipped. */
static double radial(const double *k, double r2, double *d_r2)
{
    double a = 1 + ((k[4] * r2 + k[1]) * r2 + k[0]) * r2;
    double da = (3 * k[4] * r2 + 2 * k[1]) * r2 + k[0];
    double b, db;

    if (k[5] == 0 && k[6] == 0 && k[7] == 0) {
        if (d_r2)
            *d_r2 = da;
        return a;
    }
    b = 1 + ((k[7] * r2 + k[6]) * r2 + k[5]) * r2;
    db = (3 * k[7] * r2 + 2 * k[6]) * r2 + k[5];
    if (d_r2)
        *d_r2 = (da * b - a * db) / (b * b);
    return a / b;
}

/* Normalised -> distorted normalised; J as in geom_camera_distort. */
static void distort_norm(const double *k, double x, double y, double d[2], double J[4])
{
    double r2 = x * x + y * y, drad = 0;
    double rad = radial(k, r2, J ? &drad : NULL);

    d[0] = x * rad + 2 * k[2] * x * y + k[3] * (r2 + 2 * x * x);
    d[1] = y * rad + k[2] * (r2 + 2 * y * y) + 2 * k[3] * x * y;
    if (J) {
        J[0] = rad + 2 * x * x * drad + 2 * k[2] * y + 6 * k[3] * x;
        J[1] = 2 * x * y * drad + 2 * k[2] * x + 2 * k[3] * y;
        J[2] = J[1];
        J[3] = rad + 2 * y * y * drad + 6 * k[2] * y + 2 * k[3] * x;
    }
}

void geom_camera_distort(const geom_camera *c, const double xy[2], double uv[2], double J[4])
{
    double d[2];

    distort_norm(c->k, xy[0], xy[1], d, J);
    uv[0] = c->fx * d[0] + c->cx;
    uv[1] = c->fy * d[1] + c->cy;
}

void geom_camera_project(const geom_camera *c, const double X[3], double uv[2])
{
    const double *R = c->R;
    double xc = R[0] * X[0] + R[1] * X[1] + R[2] * X[2] + c->t[0];
    double yc = R[3] * X[0] + R[4] * X[1] + R[5] * X[2] + c->t[1];
    double zc = R[6] * X[0] + R[7] * X[1] + R[8] * X[2] + c->t[2];
    double iz = zc != 0 ? 1.0 / zc : NAN; /* as OpenCV: z = 0 gives no finite pixel */
    double xy[2] = {xc * iz, yc * iz};

    geom_camera_distort(c, xy, uv, NULL);
}

void geom_camera_undistort_cv(const geom_camera *c, const double uv[2], int iters, double xy[2])
{
    const double *k = c->k;
    double ifx = 1.0 / c->fx, ify = 1.0 / c->fy;
    double x = (uv[0] - c->cx) * ifx, y = (uv[1] - c->cy) * ify, x0 = x, y0 = y;

    for (int j = 0; j < iters; j++) {
        double r2 = x * x + y * y;
        double icdist = (1 + ((k[7] * r2 + k[6]) * r2 + k[5]) * r2) /
                        (1 + ((k[4] * r2 + k[1]) * r2 + k[0]) * r2);
        if (icdist < 0) { /* OpenCV's regression_14583: give the point back undistorted */
            x = x0;
            y = y0;
            break;
        }
        double dx = 2 * k[2] * x * y + k[3] * (r2 + 2 * x * x);
        double dy = k[2] * (r2 + 2 * y * y) + 2 * k[3] * x * y;
        x = (x0 - dx) * icdist;
        y = (y0 - dy) * icdist;
    }
    xy[0] = x;
    xy[1] = y;
}

int geom_camera_undistort(const geom_camera *c, const double uv[2], double xy[2])
{
    double tx = (uv[0] - c->cx) / c->fx, ty = (uv[1] - c->cy) / c->fy;

    if (!isfinite(tx) || !isfinite(ty)) {
        xy[0] = xy[1] = NAN;
        return -1;
    }
    if (c->n_dist == 0) {
        xy[0] = tx;
        xy[1] = ty;
        return 0;
    }
    geom_camera_undistort_cv(c, uv, GEOM_UNDISTORT_START_ITERS, xy);
    if (!isfinite(xy[0]) || !isfinite(xy[1])) {
        xy[0] = tx;
        xy[1] = ty;
    }
    /* Newton on distort(x) = target: quadratic convergence from OpenCV's start. */
    for (int it = 0; it < 10; it++) {
        double d[2], J[4], det;
        distort_norm(c->k, xy[0], xy[1], d, J);
        d[0] -= tx;
        d[1] -= ty;
        if (fabs(d[0]) + fabs(d[1]) < 1e-15)
            return 0;
        det = J[0] * J[3] - J[1] * J[2];
        if (!(fabs(det) > 1e-12))
            return -1;
        xy[0] -= (J[3] * d[0] - J[1] * d[1]) / det;
        xy[1] -= (J[0] * d[1] - J[2] * d[0]) / det;
    }
    return -1;
}

void geom_camera_rodrigues(const double r[3], double R[9])
{
    double th = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    double kx, ky, kz, s, c, v;

    if (th < 1e-300) {
        for (int i = 0; i < 9; i++)
            R[i] = i % 4 == 0;
        return;
    }
    kx = r[0] / th;
    ky = r[1] / th;
    kz = r[2] / th;
    s = sin(th);
    c = cos(th);
    v = 1 - c;
    R[0] = c + kx * kx * v;
    R[1] = kx * ky * v - kz * s;
    R[2] = kx * kz * v + ky * s;
    R[3] = ky * kx * v + kz * s;
    R[4] = c + ky * ky * v;
    R[5] = ky * kz * v - kx * s;
    R[6] = kz * kx * v - ky * s;
    R[7] = kz * ky * v + kx * s;
    R[8] = c + kz * kz * v;
}
