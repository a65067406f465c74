/* geom_tri.c - DLT triangulation with optional Gauss-Newton refinement (see geom_tri.h).
 * The linear algebra is small and written here: a 4x4 symmetric eigen solver (cyclic Jacobi)
 * and a 3x3 symmetric solve (Cholesky). */
#include "geom/geom_tri.h"

#include <math.h>
#include <stdlib.h>

struct geom_tri {
    int n;
    geom_camera cam[GEOM_MAX_CAMERAS];
    double tn[GEOM_MAX_CAMERAS][3]; /* t in the normalised world: (R c + t) / s */
    double centre[3], scale;        /* world = centre + scale * normalised world */
    int refine_iters;
    int min_cams;     /* >= 2 */
    double ransac_px; /* > 0: RANSAC's threshold; 0: off */
};

int geom_tri_new(const geom_calib *c, const geom_tri_opts *o, geom_tri **out, vas_err *e)
{
    geom_tri *t;
    double C[GEOM_MAX_CAMERAS][3], s = 0;

    if (c->n < 2 || c->n > GEOM_MAX_CAMERAS)
        return err_set(e, VAS_EINVAL, "triangulation needs 2 to %d cameras, not %d",
                       GEOM_MAX_CAMERAS, c->n);
    if (!(t = calloc(1, sizeof(*t))))
        return err_set(e, VAS_ENOMEM, "out of memory");
    t->n = c->n;
    t->refine_iters = o && o->refine_iters > 0 ? o->refine_iters : 0;
    t->min_cams = o && o->min_cameras > 2 ? o->min_cameras : 2;
    t->ransac_px = o && o->ransac_threshold > 0 ? o->ransac_threshold : 0;
    for (int i = 0; i < c->n; i++) {
        const double *R = c->cam[i].R, *tr = c->cam[i].t;
        t->cam[i] = c->cam[i];
        for (int k = 0; k < 3; k++) { /* camera centre: -R' t */
            C[i][k] = -(R[k] * tr[0] + R[3 + k] * tr[1] + R[6 + k] * tr[2]);
            t->centre[k] += C[i][k] / c->n;
        }
    }
    for (int i = 0; i < c->n; i++)
        s += sqrt(pow(C[i][0] - t->centre[0], 2) + pow(C[i][1] - t->centre[1], 2) +
                  pow(C[i][2] - t->centre[2], 2)) /
             c->n;
    t->scale = s > 0 && isfinite(s) ? s : 1;
    for (int i = 0; i < c->n; i++) {
        const double *R = c->cam[i].R;
        for (int k = 0; k < 3; k++)
            t->tn[i][k] = (R[3 * k] * t->centre[0] + R[3 * k + 1] * t->centre[1] +
                           R[3 * k + 2] * t->centre[2] + c->cam[i].t[k]) /
                          t->scale;
    }
    *out = t;
    return VAS_OK;
}

void geom_tri_free(geom_tri *t)
{
    free(t);
}

int geom_tri_n_cameras(const geom_tri *t)
{
    return t->n;
}

/* ---- 4x4 symmetric eigen (cyclic Jacobi) ---- */

static void rotate4(double a[4][4], double v[4][4], int p, int q)
{
    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
    double tn = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
    double c = 1 / sqrt(tn * tn + 1), s = tn * c;

    for (int k = 0; k < 4; k++) {
        double akp = a[k][p], akq = a[k][q];
        a[k][p] = c * akp - s * akq;
        a[k][q] = s * akp + c * akq;
    }
    for (int k = 0; k < 4; k++) {
        double apk = a[p][k], aqk = a[q][k];
        a[p][k] = c * apk - s * aqk;
        a[q][k] = s * apk + c * aqk;
    }
    a[p][q] = a[q][p] = 0;
    for (int k = 0; k < 4; k++) {
        double vkp = v[k][p], vkq = v[k][q];
        v[k][p] = c * vkp - s * vkq;
        v[k][q] = s * vkp + c * vkq;
    }
}

/* The unit eigenvector of a's smallest eigenvalue into x (a is destroyed). */
static void smallest_eigvec4(double a[4][4], double x[4])
{
    double v[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    int best = 0;

    for (int sweep = 0; sweep < 16; sweep++) {
        double off = 0, diag = 0;
        for (int p = 0; p < 4; p++) {
            diag += a[p][p] * a[p][p];
            for (int q = p + 1; q < 4; q++)
                off += a[p][q] * a[p][q];
        }
        if (!(off > 1e-32 * diag))
            break;
        for (int p = 0; p < 3; p++)
            for (int q = p + 1; q < 4; q++)
                if (a[p][q] != 0)
                    rotate4(a, v, p, q);
    }
    for (int k = 1; k < 4; k++)
        if (a[k][k] < a[best][best])
            best = k;
    for (int k = 0; k < 4; k++)
        x[k] = v[k][best];
}

/* ---- the linear solution ---- */

static void add_row(double M[4][4], const double r[4])
{
    double n2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2] + r[3] * r[3];
    double w = n2 > 0 ? 1 / n2 : 0; /* unit rows: r r' / |r|^2 */

    for (int i = 0; i < 4; i++)
        for (int j = i; j < 4; j++)
            M[i][j] += w * r[i] * r[j];
}

/* ---- refinement ---- */

/* Camera c's pixel residual at X (projection - seen) and, if J, its 2x3 Jacobian. -1 when X
 * is on or behind the camera plane. */
static int residual(const geom_camera *c, const double X[3], const double *uv, double r[2],
                    double J[6])
{
    const double *R = c->R;
    double xc[3], xy[2], p[2], Jd[4];

    for (int k = 0; k < 3; k++)
        xc[k] = R[3 * k] * X[0] + R[3 * k + 1] * X[1] + R[3 * k + 2] * X[2] + c->t[k];
    if (!(xc[2] > 0))
        return -1;
    xy[0] = xc[0] / xc[2];
    xy[1] = xc[1] / xc[2];
    geom_camera_distort(c, xy, p, J ? Jd : NULL);
    r[0] = p[0] - uv[0];
    r[1] = p[1] - uv[1];
    if (J) {
        double iz = 1 / xc[2];
        /* d(pixel)/d(xc) = diag(fx, fy) Jd [iz 0 -x iz; 0 iz -y iz]; then times R. */
        double a[2][3] = {
            {c->fx * Jd[0] * iz, c->fx * Jd[1] * iz, -c->fx * (Jd[0] * xy[0] + Jd[1] * xy[1]) * iz},
            {c->fy * Jd[2] * iz, c->fy * Jd[3] * iz,
             -c->fy * (Jd[2] * xy[0] + Jd[3] * xy[1]) * iz}};
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 3; k++)
                J[3 * i + k] = a[i][0] * R[k] + a[i][1] * R[3 + k] + a[i][2] * R[6 + k];
    }
    return 0;
}

/* Solves the symmetric positive definite H d = g by cofactors (no square roots); -1 if H is
 * not positive definite (its leading minors must be > 0) or is too near singular. */
static int solve3(const double H[3][3], const double g[3], double d[3])
{
    double c00 = H[1][1] * H[2][2] - H[1][2] * H[1][2];
    double c01 = H[0][2] * H[1][2] - H[0][1] * H[2][2];
    double c02 = H[0][1] * H[1][2] - H[0][2] * H[1][1];
    double c11 = H[0][0] * H[2][2] - H[0][2] * H[0][2];
    double c12 = H[0][1] * H[0][2] - H[0][0] * H[1][2];
    double c22 = H[0][0] * H[1][1] - H[0][1] * H[0][1];
    double det = H[0][0] * c00 + H[0][1] * c01 + H[0][2] * c02, id;

    if (!(H[0][0] > 0) || !(c22 > 0) ||
        !(det > 1e-14 * H[0][0] * H[1][1] * H[2][2])) /* 1e-14: well short of rank loss */
        return -1;
    id = 1 / det;
    d[0] = (c00 * g[0] + c01 * g[1] + c02 * g[2]) * id;
    d[1] = (c01 * g[0] + c11 * g[1] + c12 * g[2]) * id;
    d[2] = (c02 * g[0] + c12 * g[1] + c22 * g[2]) * id;
    return 0;
}

/* Fast path for the eigenvector of M's smallest eigenvalue. With M = [A b; b' c] and
 * v = (X, 1), M v = l v reads (A - l I) X = -b and c + b'X = l. Newton on the secular equation
 * f(l) = c - l + b'X(l) (f' = -1 - |X|^2), from l = 0 (the inhomogeneous least squares), is the
 * Rayleigh quotient iteration: l only rises, to the smallest root, which is below A's smallest
 * eigenvalue, so A - l I stays positive definite. -1 (use Jacobi) if it does not. */
static int smallest_fast(double M[4][4], double X[3])
{
    double l = 0, H[3][3], g[3] = {-M[0][3], -M[1][3], -M[2][3]};

    for (int it = 0; it < 8; it++) {
        double f, step;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                H[i][j] = M[i][j] - (i == j ? l : 0);
        if (solve3(H, g, X) < 0)
            return -1;
        f = M[3][3] - l + M[0][3] * X[0] + M[1][3] * X[1] + M[2][3] * X[2];
        step = f / (1 + X[0] * X[0] + X[1] * X[1] + X[2] * X[2]);
        if (!isfinite(step))
            return -1;
        l += step;
        if (fabs(step) <= 1e-15 * (M[0][0] + M[1][1] + M[2][2] + M[3][3]))
            return 0;
    }
    return 0;
}

/* DLT from the normalised views xy of the cameras in mask; 0 ok, -1 at infinity. */
static int dlt(const geom_tri *t, const double *xy, unsigned mask, double X[3])
{
    double M[4][4] = {{0}}, v[4], Xn[3];

    for (int c = 0; c < t->n; c++) {
        const double *R = t->cam[c].R, *tn = t->tn[c];
        double x = xy[2 * c], y = xy[2 * c + 1], r[4];
        if (!(mask & (1u << c)))
            continue;
        for (int k = 0; k < 3; k++)
            r[k] = x * R[6 + k] - R[k];
        r[3] = x * tn[2] - tn[0];
        add_row(M, r);
        for (int k = 0; k < 3; k++)
            r[k] = y * R[6 + k] - R[3 + k];
        r[3] = y * tn[2] - tn[1];
        add_row(M, r);
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++)
            M[i][j] = M[j][i];
    if (smallest_fast(M, Xn) < 0) {
        smallest_eigvec4(M, v);
        if (!(fabs(v[3]) > 1e-12))
            return -1;
        for (int k = 0; k < 3; k++)
            Xn[k] = v[k] / v[3];
    }
    for (int k = 0; k < 3; k++)
        X[k] = t->centre[k] + t->scale * Xn[k];
    return 0;
}

/* One linearisation at X: the cost (sum of squared residuals) and the Gauss-Newton step. */
static int gn_step(const geom_tri *t, const double *uv, unsigned mask, const double X[3],
                   double *cost, double d[3])
{
    double H[3][3] = {{0}}, g[3] = {0}, r[2], J[6];

    *cost = 0;
    for (int c = 0; c < t->n; c++) {
        if (!(mask & (1u << c)))
            continue;
        if (residual(&t->cam[c], X, uv + 2 * c, r, J) < 0)
            return -1;
        *cost += r[0] * r[0] + r[1] * r[1];
        for (int i = 0; i < 3; i++) {
            g[i] -= J[i] * r[0] + J[3 + i] * r[1];
            for (int j = 0; j < 3; j++)
                H[i][j] += J[i] * J[j] + J[3 + i] * J[3 + j];
        }
    }
    return solve3(H, g, d);
}

static void refine(const geom_tri *t, const double *uv, unsigned mask, double X[3])
{
    double prev[3] = {X[0], X[1], X[2]}, prev_cost = INFINITY, cost, d[3];

    for (int it = 0; it <= t->refine_iters; it++) {
        if (gn_step(t, uv, mask, X, &cost, d) < 0 || !(cost <= prev_cost)) {
            if (cost > prev_cost || !isfinite(cost))
                for (int k = 0; k < 3; k++) /* the last step made it worse: undo it */
                    X[k] = prev[k];
            return;
        }
        if (it == t->refine_iters)
            return;
        prev_cost = cost;
        for (int k = 0; k < 3; k++) {
            prev[k] = X[k];
            X[k] += d[k];
        }
        if (sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) < 1e-10 * t->scale)
            return;
    }
}

/* ---- per point ---- */

/* Camera c's reprojection error at X, in pixels. */
static double cam_error(const geom_tri *t, int c, const double *uv, const double X[3])
{
    double p[2];

    geom_camera_project(&t->cam[c], X, p);
    return hypot(p[0] - uv[2 * c], p[1] - uv[2 * c + 1]);
}

static int popcount(unsigned m)
{
    return __builtin_popcount(m);
}

/* The point from the cameras in mask (DLT, then refinement); its mean and largest reprojection
 * error. -1 when the DLT has no finite solution. */
static int solve(const geom_tri *t, const double *uv, const double *xy, unsigned mask, double X[3],
                 double *mean, double *worst)
{
    double sum = 0;

    if (dlt(t, xy, mask, X) < 0)
        return -1;
    if (t->refine_iters)
        refine(t, uv, mask, X);
    *worst = 0;
    for (int c = 0; c < t->n; c++)
        if (mask & (1u << c)) {
            double err = cam_error(t, c, uv, X);
            sum += err;
            *worst = err > *worst || isnan(err) ? err : *worst;
        }
    *mean = sum / popcount(mask);
    return 0;
}

/* RANSAC over camera subsets (geom_tri.h, step 5): the cameras of mask to keep. */
static unsigned ransac(const geom_tri *t, const double *uv, const double *xy, unsigned mask)
{
    unsigned best = 0;
    double best_sum = INFINITY, X[3], mean, worst;

    if (solve(t, uv, xy, mask, X, &mean, &worst) == 0 && worst <= t->ransac_px)
        return mask; /* every view agrees: nothing to drop */
    for (int a = 0; a < t->n; a++)
        for (int b = a + 1; b < t->n; b++) {
            unsigned pair = (1u << a) | (1u << b), in = 0;
            double sum = 0;
            if ((mask & pair) != pair || solve(t, uv, xy, pair, X, &mean, &worst) < 0)
                continue;
            for (int c = 0; c < t->n; c++) {
                double err = (mask & (1u << c)) ? cam_error(t, c, uv, X) : INFINITY;
                if (err <= t->ransac_px) {
                    in |= 1u << c;
                    sum += err;
                }
            }
            if (popcount(in) > popcount(best) ||
                (popcount(in) == popcount(best) && sum < best_sum)) {
                best = in;
                best_sum = sum;
            }
        }
    return popcount(best) >= 2 ? best : mask; /* no two views agree: keep them all */
}

void geom_tri_point(const geom_tri *t, const double *uv, geom_tri_result *out)
{
    double xy[2 * GEOM_MAX_CAMERAS], worst;
    unsigned mask = 0;
    int n = 0;

    out->X[0] = out->X[1] = out->X[2] = out->reproj = NAN;
    for (int c = 0; c < t->n; c++) {
        if (!isfinite(uv[2 * c]) || !isfinite(uv[2 * c + 1]))
            continue;
        geom_camera_undistort(&t->cam[c], uv + 2 * c, xy + 2 * c);
        if (!isfinite(xy[2 * c]) || !isfinite(xy[2 * c + 1]))
            continue;
        mask |= 1u << c;
        n++;
    }
    if (t->ransac_px > 0 && n >= 3 && n >= t->min_cams)
        mask = ransac(t, uv, xy, mask);
    out->n_cams = popcount(mask);
    out->cams = mask;
    if (out->n_cams < t->min_cams || solve(t, uv, xy, mask, out->X, &out->reproj, &worst) < 0)
        out->X[0] = out->X[1] = out->X[2] = out->reproj = NAN;
}

void geom_tri_batch(const geom_tri *t, size_t n, const double *const *uv, size_t stride,
                    geom_tri_result *out)
{
    double p[2 * GEOM_MAX_CAMERAS];

    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < t->n; c++) {
            p[2 * c] = uv[c][i * stride];
            p[2 * c + 1] = uv[c][i * stride + 1];
        }
        geom_tri_point(t, p, out + i);
    }
}
