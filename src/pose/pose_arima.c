/* pose_arima.c - DeepLabCut's ARIMA filter: an ARMA(p, q) state-space model fitted by maximum
 * likelihood as statsmodels' SARIMAX fits it, and its one-step-ahead predictions (see
 * pose_arima.h for the model and the sources).
 *
 * DESIGN: to give DeepLabCut's numbers we follow statsmodels' fit step by step, not just its
 * optimum: DeepLabCut's (3, 1) fits often use all 50 iterations, ending short of the optimum where
 * the likelihood is flat, so a different optimiser would stop elsewhere. Hence the same start
 * values (minimum-norm least squares, as numpy's pinv), the same objective (-loglike / n in the
 * unconstrained parameters), the same gradient (forward differences, step 1e-5: statsmodels
 * gives scipy no score) and L-BFGS with the More-Thuente line search and the stopping rules of
 * L-BFGS-B as scipy runs it. Rounding differs, so paths drift apart slowly. */
#include "pose/pose_arima.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KMAX    (POSE_ARIMA_DEGREE_MAX + 1)     /* states: max(p, q + 1) */
#define NPMAX   (2 * POSE_ARIMA_DEGREE_MAX + 1) /* parameters: p + q + 1 */
#define LOG_2PI 1.8378770664093453
#define FD_STEP 1e-5 /* statsmodels' epsilon for scipy's finite-difference gradient */

/* scipy's fmin_l_bfgs_b defaults as statsmodels calls it (MLEModel.fit: maxiter 50) */
#define OPT_MAXITER 50
#define OPT_MEMORY  10
#define OPT_PGTOL   1e-5
#define OPT_FACTR   1e7
/* line search: scipy's L-BFGS-B asks dcsrch for ftol 1e-3, gtol 0.9 */
#define LS_C1      1e-3
#define LS_C2      0.9
#define LS_MAXEVAL 20

/* The state-space matrices of one parameter vector. */
typedef struct ssm {
    int k;            /* states */
    double phi[KMAX]; /* column 0 of T: the AR coefficients, zeros past p */
    double r[KMAX];   /* R: 1, the MA coefficients, zeros past q */
    double s2;        /* sigma2 */
} ssm;

/* ---- parameter transforms (statsmodels' tools.py: Monahan 1984) ---- */

/* Unconstrained u[0..n) to the coefficients of a stationary AR polynomial, out[0..n). */
static void constrain(const double *u, int n, double *out)
{
    double y[POSE_ARIMA_DEGREE_MAX][POSE_ARIMA_DEGREE_MAX];

    for (int k = 0; k < n; k++) {
        double r = u[k] / sqrt(1 + u[k] * u[k]);
        for (int i = 0; i < k; i++)
            y[k][i] = y[k - 1][i] + r * y[k - 1][k - i - 1];
        y[k][k] = r;
    }
    for (int i = 0; i < n; i++)
        out[i] = -y[n - 1][i];
}

/* The inverse of constrain: AR coefficients c[0..n) to out[0..n). Returns -1 when c is not
 * stationary (a partial autocorrelation of modulus >= 1: the Schur-Cohn test), 0 otherwise. */
static int unconstrain(const double *c, int n, double *out)
{
    double y[POSE_ARIMA_DEGREE_MAX][POSE_ARIMA_DEGREE_MAX];

    for (int i = 0; i < n; i++)
        y[n - 1][i] = -c[i];
    for (int k = n - 1; k > 0; k--) {
        double d = 1 - y[k][k] * y[k][k];
        if (!(d > 0))
            return -1;
        for (int i = 0; i < k; i++)
            y[k - 1][i] = (y[k][i] - y[k][k] * y[k][k - i - 1]) / d;
    }
    for (int k = 0; k < n; k++) {
        if (!(fabs(y[k][k]) < 1))
            return -1;
        out[k] = y[k][k] / sqrt(1 - y[k][k] * y[k][k]);
    }
    return 0;
}

/* statsmodels' transform_params: unconstrained u to the model's parameters c (AR
 * coefficients, stationary; MA coefficients, invertible; sigma2 = u^2). */
static void transform(int p, int q, const double *u, double *c)
{
    if (p > 0)
        constrain(u, p, c);
    if (q > 0) {
        constrain(u + p, q, c + p);
        for (int i = 0; i < q; i++)
            c[p + i] = -c[p + i];
    }
    c[p + q] = u[p + q] * u[p + q];
}

/* The state-space matrices of parameters c (AR, MA, sigma2). */
static void ssm_from(ssm *m, int p, int q, const double *c)
{
    memset(m, 0, sizeof(*m));
    m->k = p > q + 1 ? p : q + 1;
    for (int i = 0; i < p; i++)
        m->phi[i] = c[i];
    m->r[0] = 1;
    for (int i = 0; i < q; i++)
        m->r[i + 1] = c[p + i];
    m->s2 = c[p + q];
}

/* ---- Kalman filter ---- */

/* P = T P T' + Q by doubling: P = sum_j A_j Q A_j', A_0 = T, A_{j+1} = A_j^2 (the stationary
 * initial state covariance; statsmodels solves the same discrete Lyapunov equation directly).
 * Returns -1 when T^(2^j) does not vanish (T not stable to rounding). */
static int lyapunov(const ssm *m, double Q[KMAX][KMAX], double P[KMAX][KMAX])
{
    int k = m->k;
    double A[KMAX][KMAX] = {{0}}, W[KMAX][KMAX], V[KMAX][KMAX];

    for (int i = 0; i < k; i++) {
        A[i][0] = m->phi[i];
        if (i + 1 < k)
            A[i][i + 1] += 1;
        for (int j = 0; j < k; j++)
            P[i][j] = Q[i][j];
    }
    for (int it = 0; it < 100; it++) {
        double amax = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                amax = fmax(amax, fabs(A[i][j]));
        if (amax < 1e-150)
            return 0;
        for (int i = 0; i < k; i++) /* W = A P, V = W A' */
            for (int j = 0; j < k; j++) {
                W[i][j] = 0;
                for (int l = 0; l < k; l++)
                    W[i][j] += A[i][l] * P[l][j];
            }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                V[i][j] = 0;
                for (int l = 0; l < k; l++)
                    V[i][j] += W[i][l] * A[j][l];
            }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                P[i][j] += V[i][j];
        for (int i = 0; i < k; i++) /* A = A A */
            for (int j = 0; j < k; j++) {
                W[i][j] = 0;
                for (int l = 0; l < k; l++)
                    W[i][j] += A[i][l] * A[l][j];
            }
        memcpy(A, W, sizeof(A));
    }
    return -1;
}

/* Filters y[0..n) with m: the log-likelihood into *ll, and when mean is not NULL the predicted
 * observation before each update into mean[0..n). NaN observations are missing: no update.
 * Returns -1 when the model cannot be filtered (no stationary covariance, a forecast variance
 * that is not positive). */
static int kfilter(const ssm *m, const double *y, int64_t n, double *ll, double *mean)
{
    int k = m->k;
    double a[KMAX] = {0}, P[KMAX][KMAX], Q[KMAX][KMAX], M[KMAX][KMAX], row[KMAX], sum = 0;

    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            Q[i][j] = m->s2 * m->r[i] * m->r[j];
    if (lyapunov(m, Q, P) < 0)
        return -1;
    for (int64_t t = 0; t < n; t++) {
        if (mean)
            mean[t] = a[0];
        if (!isnan(y[t])) { /* update */
            double F = P[0][0], v = y[t] - a[0];
            if (!(F > 0))
                return -1;
            sum += -0.5 * (LOG_2PI + log(F) + v * v / F);
            for (int j = 0; j < k; j++)
                row[j] = P[0][j];
            for (int i = 0; i < k; i++) {
                double g = P[i][0] / F;
                a[i] += g * v;
                for (int j = 0; j < k; j++)
                    P[i][j] -= g * row[j];
            }
        }
        /* predict: a = T a, P = T P T' + Q */
        double a0 = a[0];
        for (int i = 0; i < k; i++)
            a[i] = m->phi[i] * a0 + (i + 1 < k ? a[i + 1] : 0);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                M[i][j] = m->phi[i] * P[0][j] + (i + 1 < k ? P[i + 1][j] : 0);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                P[i][j] = M[i][0] * m->phi[j] + (j + 1 < k ? M[i][j + 1] : 0) + Q[i][j];
    }
    *ll = sum;
    return 0;
}

/* ---- objective ---- */

typedef struct objective {
    const double *y;
    int64_t n;
    int p, q, np;
    int evals;
} objective;

/* -loglike at unconstrained u, over n (statsmodels' MLEModel.fit objective); +inf where the
 * model cannot be filtered. */
static double objective_f(objective *o, const double *u)
{
    double c[NPMAX], ll;
    ssm m;

    o->evals++;
    transform(o->p, o->q, u, c);
    ssm_from(&m, o->p, o->q, c);
    if (kfilter(&m, o->y, o->n, &ll, NULL) < 0 || !isfinite(ll))
        return INFINITY;
    return -ll / (double)o->n;
}

/* The objective at u, and into g its gradient as statsmodels' optimiser sees it: MLEModel.fit
 * gives scipy's L-BFGS-B no score but approx_grad with epsilon 1e-5, so the gradient is scipy's
 * forward difference with absolute step 1e-5 (dx = (u + h) - u, as scipy's approx_derivative
 * takes it). Not the exact gradient: the optimiser's path, and where 50 iterations leave it,
 * depend on it. */
static double objective_eval(objective *o, const double *u, double *g)
{
    double f = objective_f(o, u), uj[NPMAX];

    if (!isfinite(f))
        return f;
    memcpy(uj, u, sizeof(double) * (size_t)o->np);
    for (int j = 0; j < o->np; j++) {
        volatile double up = u[j] + FD_STEP; /* volatile: dx must be the stored sum's */
        double dx = up - u[j];
        uj[j] = up;
        g[j] = (objective_f(o, uj) - f) / dx;
        uj[j] = u[j];
        if (!isfinite(g[j]))
            return INFINITY;
    }
    return f;
}

/* ---- optimiser: limited-memory BFGS with the More-Thuente line search ---- */

static double dot(const double *a, const double *b, int n)
{
    double s = 0;

    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* The interval of uncertainty of a line search: its best step x (value fx, slope dx), the other
 * end y, whether the minimiser is bracketed. */
typedef struct ls_interval {
    double x, fx, dx, y, fy, dy;
    int brackt;
} ls_interval;

/* The cubic's minimiser from (u, fu, du) toward (v, fv, dv); sign picks the root. */
static double cubic_step(double u, double fu, double du, double v, double fv, double dv,
                         double *gamma_out)
{
    double theta = 3 * (fu - fv) / (v - u) + du + dv;
    double s = fmax(fabs(theta), fmax(fabs(du), fabs(dv)));
    double disc = (theta / s) * (theta / s) - (du / s) * (dv / s);
    double gamma = s * sqrt(fmax(0, disc));

    if (v < u)
        gamma = -gamma;
    *gamma_out = gamma;
    return theta;
}

/* One safeguarded step of More and Thuente's line search ("Line search algorithms with
 * guaranteed sufficient decrease", ACM TOMS 20, 1994, section 4): from the trial (t, ft, dt)
 * the next trial step, and the interval updated. Four cases: higher value; slope sign change;
 * smaller slope of the same sign; larger slope of the same sign. */
static double ls_step(ls_interval *iv, double t, double ft, double dt, double tmin, double tmax)
{
    double sgnd = dt * (iv->dx / fabs(iv->dx)), next, gamma, theta, p, q, tc, tq;

    if (ft > iv->fx) { /* case 1: the minimiser is between x and t */
        theta = cubic_step(t, ft, dt, iv->x, iv->fx, iv->dx, &gamma);
        gamma = -gamma;
        p = (gamma - iv->dx) + theta;
        q = ((gamma - iv->dx) + gamma) + dt;
        tc = iv->x + p / q * (t - iv->x);
        tq = iv->x + iv->dx / ((iv->fx - ft) / (t - iv->x) + iv->dx) / 2 * (t - iv->x);
        next = fabs(tc - iv->x) < fabs(tq - iv->x) ? tc : tc + (tq - tc) / 2;
        iv->brackt = 1;
    } else if (sgnd < 0) { /* case 2: slopes of opposite sign bracket the minimiser */
        theta = cubic_step(t, ft, dt, iv->x, iv->fx, iv->dx, &gamma);
        p = (gamma - dt) + theta;
        q = ((gamma - dt) + gamma) + iv->dx;
        tc = t + p / q * (iv->x - t);
        tq = t + dt / (dt - iv->dx) * (iv->x - t);
        next = fabs(tc - t) > fabs(tq - t) ? tc : tq;
        iv->brackt = 1;
    } else if (fabs(dt) < fabs(iv->dx)) { /* case 3: slope decreasing in size */
        theta = cubic_step(t, ft, dt, iv->x, iv->fx, iv->dx, &gamma);
        p = (gamma - dt) + theta;
        q = (gamma + (iv->dx - dt)) + gamma;
        if (p / q < 0 && gamma != 0)
            tc = t + p / q * (iv->x - t);
        else
            tc = t > iv->x ? tmax : tmin;
        tq = t + dt / (dt - iv->dx) * (iv->x - t);
        if (iv->brackt) {
            next = fabs(tc - t) < fabs(tq - t) ? tc : tq;
            next =
                t > iv->x ? fmin(t + 0.66 * (iv->y - t), next) : fmax(t + 0.66 * (iv->y - t), next);
        } else {
            next = fabs(tc - t) > fabs(tq - t) ? tc : tq;
            next = fmax(tmin, fmin(tmax, next));
        }
    } else if (iv->brackt) { /* case 4: the cubic through t and y */
        theta = cubic_step(t, ft, dt, iv->y, iv->fy, iv->dy, &gamma);
        p = (gamma - dt) + theta;
        q = ((gamma - dt) + gamma) + iv->dy;
        next = t + p / q * (iv->y - t);
    } else {
        next = t > iv->x ? tmax : tmin;
    }
    if (ft > iv->fx) {
        iv->y = t, iv->fy = ft, iv->dy = dt;
    } else {
        if (sgnd < 0)
            iv->y = iv->x, iv->fy = iv->fx, iv->dy = iv->dx;
        iv->x = t, iv->fx = ft, iv->dx = dt;
    }
    return next;
}

/* Line search from x (objective f0, slope dg0 < 0 along d) starting at step a, for a point
 * with sufficient decrease (LS_C1) and curvature (LS_C2), by More and Thuente's algorithm with
 * the constants L-BFGS-B gives it (xtol 0.1, extrapolation by 1.1 to 4 steps). On success the
 * point is in xt, *ft, gt, its step in *step: 0; -1 when none was found. */
static int line_search(objective *o, const double *x, double f0, double dg0, const double *d,
                       double a, double *xt, double *ft, double *gt, double *step)
{
    const double xtol = 0.1, amax = 1e10, gtest = LS_C1 * dg0;
    ls_interval iv = {0, f0, dg0, 0, f0, dg0, 0};
    double width = amax, width1 = 2 * amax, lo = 0, hi = a + 4 * a;
    int stage = 1;

    for (int it = 0; it < LS_MAXEVAL; it++) {
        double f, dg;
        for (int i = 0; i < o->np; i++)
            xt[i] = x[i] + a * d[i];
        f = objective_eval(o, xt, gt);
        if (!isfinite(f)) { /* outside where the model filters: step back */
            a = iv.x + 0.5 * (a - iv.x);
            iv.brackt = 1;
            continue;
        }
        dg = dot(gt, d, o->np);
        if (f <= f0 + a * gtest && fabs(dg) <= -LS_C2 * dg0) {
            *ft = f;
            *step = a;
            return 0;
        }
        if (iv.brackt && (a <= lo || a >= hi || hi - lo <= xtol * hi)) {
            *ft = f; /* rounding, or the interval is too small: L-BFGS-B takes the point */
            *step = a;
            return 0;
        }
        if (stage == 1 && f <= f0 + a * gtest && dg >= 0)
            stage = 2;
        if (stage == 1 && f <= iv.fx && f > f0 + a * gtest) {
            /* the modified function f - a gtest while no point has sufficient decrease */
            ls_interval M = {iv.x,     iv.fx - iv.x * gtest, iv.dx - gtest,
                             iv.y,     iv.fy - iv.y * gtest, iv.dy - gtest,
                             iv.brackt};
            a = ls_step(&M, a, f - a * gtest, dg - gtest, lo, hi);
            iv = (ls_interval){M.x,     M.fx + M.x * gtest, M.dx + gtest,
                               M.y,     M.fy + M.y * gtest, M.dy + gtest,
                               M.brackt};
        } else {
            double t = a;
            a = ls_step(&iv, t, f, dg, lo, hi);
        }
        if (iv.brackt) {
            if (fabs(iv.y - iv.x) >= 0.66 * width1)
                a = iv.x + 0.5 * (iv.y - iv.x);
            width1 = width;
            width = fabs(iv.y - iv.x);
            lo = fmin(iv.x, iv.y);
            hi = fmax(iv.x, iv.y);
        } else {
            lo = a + 1.1 * (a - iv.x);
            hi = a + 4 * (a - iv.x);
        }
        a = fmax(0, fmin(amax, a));
        if (iv.brackt && (a <= lo || a >= hi || hi - lo <= xtol * hi))
            a = iv.x;
    }
    if (iv.x > 0 && iv.fx < f0) { /* settle for the best decrease seen */
        for (int i = 0; i < o->np; i++)
            xt[i] = x[i] + iv.x * d[i];
        *ft = objective_eval(o, xt, gt);
        *step = iv.x;
        return isfinite(*ft) ? 0 : -1;
    }
    return -1;
}

static double max_abs(const double *v, int n)
{
    double m = 0;

    for (int i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* Minimises the objective from x (in place; *f its value there). Returns the iterations. */
static int lbfgs(objective *o, double *x, double *f)
{
    int np = o->np, used = 0, head = 0, iter = 0;
    double g[NPMAX], d[NPMAX], xt[NPMAX], gt[NPMAX], alpha[OPT_MEMORY];
    double S[OPT_MEMORY][NPMAX], Y[OPT_MEMORY][NPMAX], rho[OPT_MEMORY];

    *f = objective_eval(o, x, g);
    if (!isfinite(*f))
        return 0;
    while (iter < OPT_MAXITER && max_abs(g, np) > OPT_PGTOL) {
        double ft, dg, a, step;
        for (int i = 0; i < np; i++) /* d = -H g, two-loop recursion */
            d[i] = -g[i];
        for (int j = 0; j < used; j++) {
            int s = (head - 1 - j + OPT_MEMORY) % OPT_MEMORY;
            alpha[s] = rho[s] * dot(S[s], d, np);
            for (int i = 0; i < np; i++)
                d[i] -= alpha[s] * Y[s][i];
        }
        if (used > 0) {
            int s = (head - 1 + OPT_MEMORY) % OPT_MEMORY;
            double gamma = dot(S[s], Y[s], np) / dot(Y[s], Y[s], np);
            for (int i = 0; i < np; i++)
                d[i] *= gamma;
        }
        for (int j = used - 1; j >= 0; j--) {
            int s = (head - 1 - j + OPT_MEMORY) % OPT_MEMORY;
            double b = rho[s] * dot(Y[s], d, np);
            for (int i = 0; i < np; i++)
                d[i] += (alpha[s] - b) * S[s][i];
        }
        dg = dot(g, d, np);
        if (!(dg < 0)) { /* not a descent direction: restart from steepest descent */
            used = 0;
            for (int i = 0; i < np; i++)
                d[i] = -g[i];
            dg = dot(g, d, np);
        }
        /* L-BFGS-B's first step has length 1; later ones take the quasi-Newton step */
        a = iter == 0 ? 1 / sqrt(dot(d, d, np)) : 1;
        if (line_search(o, x, *f, dg, d, a, xt, &ft, gt, &step) < 0) {
            if (used == 0)
                break;
            used = 0; /* as L-BFGS-B: forget the memory and retry downhill */
            continue;
        }
        iter++;
        double *s = S[head], *yv = Y[head];
        for (int i = 0; i < np; i++) {
            s[i] = xt[i] - x[i];
            yv[i] = gt[i] - g[i];
        }
        double sy = dot(s, yv, np);
        if (sy > DBL_EPSILON * -dg * step) { /* L-BFGS-B's test for a safe update */
            rho[head] = 1 / sy;
            head = (head + 1) % OPT_MEMORY;
            used += used < OPT_MEMORY;
        }
        double fold = *f;
        memcpy(x, xt, sizeof(double) * (size_t)np);
        memcpy(g, gt, sizeof(double) * (size_t)np);
        *f = ft;
        if ((fold - ft) / fmax(fmax(fabs(fold), fabs(ft)), 1) <= OPT_FACTR * DBL_EPSILON)
            break;
    }
    return iter;
}

/* ---- start parameters (statsmodels' SARIMAX.start_params, _conditional_sum_squares) ---- */

/* The minimum-norm least-squares b[0..c) of y ~ X b, X rows x c row-major (destroyed), as numpy's
 * pinv(X).dot(y) gives it, by one-sided Jacobi SVD. The minimum norm matters: with p >= 2q + 1
 * (DeepLabCut's (3, 1) among them) the lagged residuals are exact combinations of the lagged
 * values, so X is singular and pinv drops that direction. numpy drops singular values below
 * 1e-15 of the largest; exact dependence leaves ~1e-16 of rounding, which our SVD computes
 * differently, so we cut at 1e-13: as safe on the dependent side, a real direction that small is
 * noise either way. */
static void lstsq(double *X, const double *y, int64_t rows, int c, double *b)
{
    double V[NPMAX][NPMAX], smax = 0;

    for (int j = 0; j < c; j++)
        for (int l = 0; l < c; l++)
            V[j][l] = j == l;
    for (int sweep = 0; sweep < 60; sweep++) {
        int rotated = 0;
        for (int j = 0; j < c; j++)
            for (int l = j + 1; l < c; l++) {
                double al = 0, be = 0, ga = 0, zeta, t, cs, sn;
                for (int64_t i = 0; i < rows; i++) {
                    al += X[i * c + j] * X[i * c + j];
                    be += X[i * c + l] * X[i * c + l];
                    ga += X[i * c + j] * X[i * c + l];
                }
                if (fabs(ga) <= 1e-15 * sqrt(al * be))
                    continue;
                rotated = 1;
                zeta = (be - al) / (2 * ga);
                t = (zeta >= 0 ? 1 : -1) / (fabs(zeta) + sqrt(1 + zeta * zeta));
                cs = 1 / sqrt(1 + t * t);
                sn = cs * t;
                for (int64_t i = 0; i < rows; i++) {
                    double u = X[i * c + j], v = X[i * c + l];
                    X[i * c + j] = cs * u - sn * v;
                    X[i * c + l] = sn * u + cs * v;
                }
                for (int i = 0; i < c; i++) {
                    double u = V[i][j], v = V[i][l];
                    V[i][j] = cs * u - sn * v;
                    V[i][l] = sn * u + cs * v;
                }
            }
        if (!rotated)
            break;
    }
    double s2[NPMAX], uy[NPMAX];
    for (int j = 0; j < c; j++) {
        s2[j] = uy[j] = 0;
        for (int64_t i = 0; i < rows; i++) {
            s2[j] += X[i * c + j] * X[i * c + j];
            uy[j] += X[i * c + j] * y[i];
        }
        smax = fmax(smax, sqrt(s2[j]));
    }
    for (int i = 0; i < c; i++)
        b[i] = 0;
    for (int j = 0; j < c; j++)
        if (sqrt(s2[j]) > 1e-13 * smax)
            for (int i = 0; i < c; i++)
                b[i] += V[i][j] * uy[j] / s2[j];
}

/* Start values (constrained: AR, MA, sigma2) for the finite values z[0..m) of a series of n
 * frames, into par. w: scratch of m * (2 * POSE_ARIMA_DEGREE_MAX + 2) + 2 m doubles. */
static void start_params(const double *z, int64_t m, int64_t n, int p, int q, double *par,
                         double *w)
{
    int k = 2 * q, r = k + q > p ? k + q : p, c = p + q;
    double *res = w, *Yv = w + m, *X = w + 2 * m, b[NPMAX] = {0}, var = 0;
    int64_t nres = 0;

    if (c == 0) { /* white noise: sigma2 = z'z / nobs */
        for (int64_t t = 0; t < m; t++)
            var += z[t] * z[t];
        par[0] = fmax(var / (double)n, 1e-10);
        return;
    }
    /* statsmodels' lagmat raises ValueError on too short a series: then zeros */
    if ((q > 0 && (k >= m || q >= m - k)) || p >= m || m - r <= 0) {
        double mean = 0;
        for (int64_t t = 0; t < m; t++)
            mean += z[t];
        mean /= (double)m;
        for (int64_t t = 0; t < 2 * q; t++)
            res[nres++] = 0;
        for (int64_t t = 0; t < m; t++)
            res[nres++] = z[t] - mean;
    } else {
        if (q > 0) { /* residuals of an AR(2q) fit stand in for the innovations */
            for (int64_t t = k; t < m; t++) {
                Yv[t - k] = z[t];
                for (int l = 1; l <= k; l++)
                    X[(t - k) * k + l - 1] = z[t - l];
            }
            lstsq(X, Yv, m - k, k, b);
            for (int64_t t = k; t < m; t++) {
                double s = z[t];
                for (int l = 1; l <= k; l++)
                    s -= b[l - 1] * z[t - l];
                res[t - k] = s;
            }
        }
        /* y_t on y_{t-1..t-p} and residuals e_{t-1..t-q}, t = r .. m-1 */
        for (int64_t t = r; t < m; t++) {
            Yv[t - r] = z[t];
            for (int l = 1; l <= p; l++)
                X[(t - r) * c + l - 1] = z[t - l];
            for (int l = 1; l <= q; l++)
                X[(t - r) * c + p + l - 1] = res[t - k - l];
        }
        lstsq(X, Yv, m - r, c, b);
        for (int64_t t = r; t < m; t++) {
            double s = z[t];
            for (int l = 1; l <= p; l++)
                s -= b[l - 1] * z[t - l];
            for (int l = 1; l <= q; l++)
                s -= b[p + l - 1] * res[t - k - l];
            Yv[nres++] = s; /* Yv is free again: residuals of this fit */
        }
        memcpy(res, Yv, sizeof(double) * (size_t)nres);
    }
    for (int i = 0; i < c; i++)
        par[i] = b[i];
    for (int64_t t = q; t < nres; t++)
        var += res[t] * res[t];
    par[c] = nres - q > 0 ? var / (double)(nres - q) : 0;
    par[c] = fmax(par[c], 1e-10);
}

/* ---- public ---- */

int pose_arima_fit(const double *y, int64_t n, int p, int q, pose_arima_model *out, vas_err *e)
{
    int np = p + q + 1;
    int64_t m = 0;
    double *z = NULL, *w = NULL, par[NPMAX], u[NPMAX], f;
    objective o = {y, n, p, q, np, 0};

    if (p < 0 || q < 0 || p > POSE_ARIMA_DEGREE_MAX || q > POSE_ARIMA_DEGREE_MAX)
        return err_set(e, VAS_EINVAL, "ARMA degrees must be from 0 to %d, not (%d, %d)",
                       POSE_ARIMA_DEGREE_MAX, p, q);
    z = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    /* calloc, not malloc: gcc -O1 cannot see start_params fill what it reads */
    w = calloc((size_t)(n > 0 ? n : 1) * (NPMAX + 3), sizeof(double));
    if (!z || !w) {
        free(z);
        free(w);
        return err_set(e, VAS_ENOMEM, "out of memory fitting an ARMA model to %lld values",
                       (long long)n);
    }
    for (int64_t t = 0; t < n; t++)
        if (isfinite(y[t]))
            z[m++] = y[t];
    if (m <= POSE_ARIMA_MIN_FINITE) {
        free(z);
        free(w);
        return err_set(e, VAS_EINVAL, "an ARMA fit needs more than %d values, not %lld",
                       POSE_ARIMA_MIN_FINITE, (long long)m);
    }
    start_params(z, m, n, p, q, par, w);
    free(z);
    free(w);
    /* non-stationary AR or non-invertible MA start values: zeros, as statsmodels */
    if (p > 0 && unconstrain(par, p, u) < 0)
        memset(u, 0, sizeof(double) * (size_t)p);
    if (q > 0) {
        double neg[POSE_ARIMA_DEGREE_MAX];
        for (int i = 0; i < q; i++)
            neg[i] = -par[p + i];
        if (unconstrain(neg, q, u + p) < 0)
            memset(u + p, 0, sizeof(double) * (size_t)q);
    }
    u[p + q] = sqrt(par[p + q]);
    out->iterations = lbfgs(&o, u, &f);
    if (!isfinite(f)) { /* DeepLabCut's fallback start (convertparms2start): 0s, sigma 1 */
        for (int i = 0; i < np; i++)
            u[i] = i == p + q ? 1 : 0;
        out->iterations = lbfgs(&o, u, &f);
        if (!isfinite(f))
            return err_set(e, VAS_EINVAL, "the ARMA(%d, %d) likelihood cannot be evaluated", p, q);
    }
    out->p = p;
    out->q = q;
    transform(p, q, u, out->params);
    out->loglike = -f * (double)n;
    out->evaluations = o.evals;
    return VAS_OK;
}

void pose_arima_predict(const pose_arima_model *m, const double *y, int64_t n, double *mean)
{
    double ll;
    ssm s;

    ssm_from(&s, m->p, m->q, m->params);
    if (kfilter(&s, y, n, &ll, mean) < 0)
        for (int64_t t = 0; t < n; t++)
            mean[t] = NAN;
}

int pose_arima_series(const double *x, const double *lik, int64_t n, double p_bound, int p, int q,
                      double *mean, vas_err *e)
{
    int64_t finite = 0;
    int rc = VAS_OK;

    if (n <= 0)
        return VAS_OK;
    for (int64_t t = 0; t < n; t++) { /* Y[p < pcutoff] = nan (FitSARIMAXModel) */
        mean[t] = lik[t] < p_bound ? NAN : x[t];
        finite += isfinite(mean[t]) != 0;
    }
    if (finite > POSE_ARIMA_MIN_FINITE) {
        pose_arima_model m;
        double *y = malloc(sizeof(double) * (size_t)n);
        if (!y)
            return err_set(e, VAS_ENOMEM, "out of memory");
        memcpy(y, mean, sizeof(double) * (size_t)n);
        for (int64_t t = 0; t < n; t++)
            if (!isfinite(y[t]))
                y[t] = NAN;
        rc = pose_arima_fit(y, n, p, q, &m, e);
        if (rc == VAS_OK)
            pose_arima_predict(&m, y, n, mean);
        free(y);
        if (rc < 0)
            return rc;
    } else {
        for (int64_t t = 0; t < n; t++)
            mean[t] = NAN;
    }
    mean[0] = x[0]; /* filterpredictions: meanx[0] = x[0] */
    return VAS_OK;
}
