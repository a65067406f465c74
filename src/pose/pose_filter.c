/* pose_filter.c - DeepLabCut's filterpredictions: median and spline filters on a 2D pose table,
 * and its _filtered outputs (see pose_filter.h). */
#include "pose/pose_filter.h"

#include "core/util.h"
#include "pose/dlc_csv.h"
#include "pose/dlc_h5.h"
#include "pose/pose_arima.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[] = {"median", "spline", "arima"};

int pose_filter_parse_type(const char *name, pose_filter_type *out, vas_err *e)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcasecmp(name, type_names[i])) {
            *out = (pose_filter_type)i;
            return VAS_OK;
        }
    return err_set(e, VAS_EINVAL, "'filtertype' must be median, spline or arima, not '%.64s'",
                   name ? name : "");
}

const char *pose_filter_type_name(pose_filter_type t)
{
    return (unsigned)t < 3 ? type_names[t] : "?";
}

int pose_filter_check(const pose_filter_opts *o, vas_err *e)
{
    if (o->type == POSE_FILTER_ARIMA && (o->ar_degree < 0 || o->ar_degree > POSE_ARIMA_DEGREE_MAX ||
                                         o->ma_degree < 0 || o->ma_degree > POSE_ARIMA_DEGREE_MAX))
        return err_set(e, VAS_EINVAL, "'ARdegree' and 'MAdegree' must be from 0 to %d, not %d, %d",
                       POSE_ARIMA_DEGREE_MAX, o->ar_degree, o->ma_degree);
    if (o->type == POSE_FILTER_ARIMA && !(o->p_bound >= 0 && o->p_bound <= 1))
        return err_set(e, VAS_EINVAL, "'p_bound' must be a likelihood from 0 to 1");
    if (o->type == POSE_FILTER_MEDIAN && (o->window < 1 || o->window % 2 == 0))
        return err_set(e, VAS_EINVAL,
                       "'windowlength' of the median filter must be an odd number from 1 to %d, "
                       "not %d (scipy.signal.medfilt takes odd kernels only)",
                       POSE_FILTER_WINDOW_MAX, o->window);
    if (o->window < 0 || o->window > POSE_FILTER_WINDOW_MAX)
        return err_set(e, VAS_EINVAL, "'windowlength' must be from 0 to %d, not %d",
                       POSE_FILTER_WINDOW_MAX, o->window);
    if (o->type != POSE_FILTER_MEDIAN && o->type != POSE_FILTER_SPLINE &&
        o->type != POSE_FILTER_ARIMA)
        return err_set(e, VAS_EINVAL, "unknown filter type %d", (int)o->type);
    return VAS_OK;
}

/* ---- median (scipy.signal.medfilt) ---- */

/* scipy's order-filter comparison (scipy/scipy: scipy/signal/_sigtoolsmodule.c, COMPARE):
 * with NaN it is not a total order, and qsort's result with it is what scipy gets. */
static int cmp_scipy(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x == y ? 0 : 1;
}

int pose_filter_medfilt(const double *in, int64_t n, int window, double *out, vas_err *e)
{
    int64_t h = window / 2;
    double *buf = malloc((size_t)window * sizeof(double));

    if (!buf)
        return err_set(e, VAS_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        int k = 0;
        /* the window's values in order, those outside the table left out; zeros after them
         * (scipy's fill_buffer: zero padding) */
        for (int64_t j = i - h; j <= i + h; j++)
            if (j >= 0 && j < n)
                buf[k++] = in[j];
        while (k < window)
            buf[k++] = 0.0;
        qsort(buf, (size_t)window, sizeof(double), cmp_scipy);
        out[i] = buf[h];
    }
    free(buf);
    return VAS_OK;
}

/* ---- spline (DeepLabCut's columnwise_spline_interp over scipy's CubicSpline) ---- */

/* The slopes s[0..m) of scipy's not-a-knot CubicSpline through (x, y), m >= 4: its tridiagonal
 * system (scipy/scipy: scipy/interpolate/_cubic.py, CubicSpline.__init__), solved by
 * elimination. w holds 4m doubles of scratch. */
static void spline_slopes(const double *x, const double *y, int64_t m, double *s, double *w)
{
    double *dx = w, *sl = w + m, *cp = w + 2 * m, *dp = w + 3 * m;
    double d0 = x[2] - x[0], dn = x[m - 1] - x[m - 3];

    for (int64_t i = 0; i + 1 < m; i++) {
        dx[i] = x[i + 1] - x[i];
        sl[i] = (y[i + 1] - y[i]) / dx[i];
    }
    /* row 0: dx1 s0 + (x2 - x0) s1 = b0 */
    cp[0] = d0 / dx[1];
    dp[0] = ((dx[0] + 2 * d0) * dx[1] * sl[0] + dx[0] * dx[0] * sl[1]) / d0 / dx[1];
    for (int64_t i = 1; i + 1 < m;
         i++) { /* dx[i] s[i-1] + 2(dx[i-1]+dx[i]) s[i] + dx[i-1] s[i+1] */
        double den = 2 * (dx[i - 1] + dx[i]) - dx[i] * cp[i - 1];
        cp[i] = dx[i - 1] / den;
        dp[i] = (3 * (dx[i] * sl[i - 1] + dx[i - 1] * sl[i]) - dx[i] * dp[i - 1]) / den;
    }
    { /* row m-1: (x[m-1] - x[m-3]) s[m-2] + dx[m-3] s[m-1] = b */
        double b =
            (dx[m - 2] * dx[m - 2] * sl[m - 3] + (2 * dn + dx[m - 2]) * dx[m - 3] * sl[m - 2]) / dn;
        double den = dx[m - 3] - dn * cp[m - 2];
        s[m - 1] = (b - dn * dp[m - 2]) / den;
    }
    for (int64_t i = m - 2; i >= 0; i--)
        s[i] = dp[i] - cp[i] * s[i + 1];
}

/* The spline (Hermite form from the slopes, as scipy's PPoly holds it) at t: interval k with
 * x[k] <= t < x[k+1], the first or last one outside [x0, x[m-1]] (extrapolation), x[m-1] in
 * the last; the power sum in scipy's order (scipy/scipy: scipy/interpolate/_ppoly.pyx). */
static double spline_at(const double *x, const double *y, const double *s, int64_t k, double t)
{
    double h = x[k + 1] - x[k], sl = (y[k + 1] - y[k]) / h;
    double tt = (s[k] + s[k + 1] - 2 * sl) / h;
    double c[4] = {tt / h, (sl - s[k]) / h - tt, s[k], y[k]};
    double d = t - x[k], z = 1.0, r = 0.0;

    for (int i = 3; i >= 0; i--) {
        r += c[i] * z;
        z *= d;
    }
    return r;
}

/* v[0..n) := the spline through its m non-NaN values at every frame. */
static int spline_fill(double *v, int64_t n, int64_t m, vas_err *e)
{
    double *x = malloc((size_t)m * 7 * sizeof(double));
    double *y = x + m, *s = x + 2 * m, *w = x + 3 * m;
    int64_t k = 0;

    if (!x)
        return err_set(e, VAS_ENOMEM, "out of memory for a spline of %lld points", (long long)m);
    for (int64_t i = 0; i < n; i++)
        if (!isnan(v[i])) {
            x[k] = (double)i;
            y[k++] = v[i];
        }
    spline_slopes(x, y, m, s, w);
    k = 0;
    for (int64_t i = 0; i < n; i++) {
        while (k + 2 < m && x[k + 1] <= (double)i)
            k++;
        v[i] = spline_at(x, y, s, k, (double)i);
    }
    free(x);
    return VAS_OK;
}

int pose_filter_spline_column(double *v, int64_t n, int max_gap, vas_err *e)
{
    unsigned char *gap = NULL;
    int64_t m = 0;
    int rc;

    for (int64_t i = 0; i < n; i++)
        m += !isnan(v[i]);
    if (m <= 3) /* too few points for a cubic spline: left as it is */
        return VAS_OK;
    gap = calloc((size_t)n, 1);
    if (!gap)
        return err_set(e, VAS_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n;) { /* runs of NaN longer than max_gap stay NaN */
        int64_t j = i;
        while (j < n && isnan(v[j]) == isnan(v[i]))
            j++;
        if (isnan(v[i]) && max_gap > 0 && j - i > max_gap)
            memset(gap + i, 1, (size_t)(j - i));
        i = j;
    }
    rc = spline_fill(v, n, m, e);
    for (int64_t i = 0; rc == VAS_OK && i < n; i++)
        if (gap[i] || v[i] == 0.0) /* DeepLabCut: "interpolation beyond the spline knots" */
            v[i] = NAN;
    free(gap);
    return rc;
}

/* ---- tables ---- */

/* Column (p, c) of t into col, or col back into it. */
static void column(dlc_table *t, int p, int c, double *col, int put)
{
    int64_t stride = (int64_t)t->n_parts * 3;
    double *v = t->v + (int64_t)p * 3 + c;

    for (int64_t r = 0; r < t->n_rows; r++) {
        if (put)
            v[r * stride] = col[r];
        else
            col[r] = v[r * stride];
    }
}

static int median_part(dlc_table *t, int p, const pose_filter_opts *o, double *col, double *out,
                       vas_err *e)
{
    int rc = VAS_OK;

    for (int c = 0; c < 2 && rc == VAS_OK; c++) {
        column(t, p, c, col, 0);
        rc = pose_filter_medfilt(col, t->n_rows, o->window, out, e);
        if (rc == VAS_OK)
            column(t, p, c, out, 1);
    }
    return rc;
}

/* DeepLabCut's arima branch for body part p: x and y become the fitted models' one-step
 * predictions (pose_arima_series), every frame; likelihood untouched. */
static int arima_part(dlc_table *t, int p, const pose_filter_opts *o, double *col, double *out,
                      vas_err *e)
{
    double *lik = malloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof(double));
    int rc = VAS_OK;

    if (!lik)
        return err_set(e, VAS_ENOMEM, "out of memory for %lld rows", (long long)t->n_rows);
    column(t, p, 2, lik, 0);
    for (int c = 0; c < 2 && rc == VAS_OK; c++) {
        column(t, p, c, col, 0);
        rc = pose_arima_series(col, lik, t->n_rows, o->p_bound, o->ar_degree, o->ma_degree, out, e);
        if (rc == VAS_OK)
            column(t, p, c, out, 1);
    }
    free(lik);
    return rc;
}

/* DeepLabCut's spline branch for body part p: filled values replace the table's; a value that
 * was NaN and is filled gets likelihood 0.01. */
static int spline_part(dlc_table *t, int p, const pose_filter_opts *o, double *col, double *out,
                       vas_err *e)
{
    int64_t stride = (int64_t)t->n_parts * 3;
    int rc = VAS_OK;

    for (int c = 0; c < 2 && rc == VAS_OK; c++) {
        column(t, p, c, col, 0);
        memcpy(out, col, (size_t)t->n_rows * sizeof(double));
        rc = pose_filter_spline_column(out, t->n_rows, o->window, e);
        for (int64_t r = 0; rc == VAS_OK && r < t->n_rows; r++) {
            if (isnan(out[r]))
                continue;
            if (isnan(col[r]))
                t->v[r * stride + (int64_t)p * 3 + 2] = 0.01;
            col[r] = out[r];
        }
        if (rc == VAS_OK)
            column(t, p, c, col, 1);
    }
    return rc;
}

int pose_filter_table(dlc_table *t, const pose_filter_opts *o, vas_err *e)
{
    size_t n = (size_t)(t->n_rows ? t->n_rows : 1);
    double *col = NULL, *out = NULL;
    int rc = pose_filter_check(o, e);

    if (rc < 0)
        return rc;
    if (t->n_coords != 3 || strcmp(t->coords[0], "x") || strcmp(t->coords[1], "y") ||
        strcmp(t->coords[2], "likelihood"))
        return err_set(e, VAS_EINVAL,
                       "filtering needs a 2D pose table (coords x, y, likelihood per bodypart)");
    col = malloc(n * sizeof(double));
    out = malloc(n * sizeof(double));
    if (!col || !out)
        rc = err_set(e, VAS_ENOMEM, "out of memory for %lld rows", (long long)t->n_rows);
    for (int p = 0; rc == VAS_OK && p < t->n_parts; p++)
        rc = o->type == POSE_FILTER_MEDIAN   ? median_part(t, p, o, col, out, e)
             : o->type == POSE_FILTER_SPLINE ? spline_part(t, p, o, col, out, e)
                                             : arima_part(t, p, o, col, out, e);
    free(col);
    free(out);
    return rc;
}

/* ---- outputs ---- */

static int label_width(const dlc_table *t)
{
    size_t w = 0;

    for (int64_t r = 0; t->labels && r < t->n_rows; r++)
        if (strlen(t->labels[r]) > w)
            w = strlen(t->labels[r]);
    return t->labels ? (int)(w ? w : 1) : 0;
}

static int write_rows(const dlc_table *t, dlc_csv *wc, dlc_h5 *wh, vas_err *e)
{
    int64_t per = (int64_t)t->n_parts * t->n_coords;
    int rc = VAS_OK;

    for (int64_t r = 0; r < t->n_rows && rc == VAS_OK; r++) {
        int64_t f = t->frames ? t->frames[r] : r;
        const char *label = t->labels ? t->labels[r] : NULL;
        if (wc)
            rc = dlc_csv_add_row(wc, f, label, t->v + r * per, e);
        if (rc == VAS_OK && wh)
            rc = dlc_h5_add_row(wh, f, label, t->v + r * per, e);
    }
    return rc;
}

int pose_filter_write(const dlc_table *t, const char *csv, const char *h5, vas_err *e)
{
    pose_layout l = {.scorer = t->scorer,
                     .bodyparts = (const char *const *)t->bodyparts,
                     .n_bodyparts = t->n_parts,
                     .label_max = label_width(t),
                     .coords = (const char *const *)t->coords,
                     .n_coords = t->n_coords};
    dlc_csv *wc = NULL;
    dlc_h5 *wh = NULL;
    int rc = csv ? dlc_csv_open(csv, &l, &wc, e) : VAS_OK;

    if (rc == VAS_OK && h5)
        rc = dlc_h5_open(h5, &l, &wh, e);
    if (rc == VAS_OK)
        rc = write_rows(t, wc, wh, e);
    if (rc < 0) {
        dlc_csv_abort(wc);
        dlc_h5_abort(wh);
        return rc;
    }
    rc = dlc_csv_close(wc, e);
    if (rc == VAS_OK)
        return dlc_h5_close(wh, e);
    dlc_h5_abort(wh);
    return rc;
}

int pose_filter_file(const char *in, const char *stem, const pose_filter_opts *o,
                     pose_filter_out *out, vas_err *e)
{
    dlc_table t = {0};
    int rc = pose_filter_check(o, e);

    if (rc == VAS_OK)
        rc = dlc_read(in, &t, e);
    if (rc == VAS_OK)
        rc = dlc_table_select_xyl(&t, e);
    if (rc == VAS_OK)
        rc = pose_filter_table(&t, o, e);
    if (rc == VAS_OK) {
        out->csv = util_concat(stem, "_filtered.csv");
        out->h5 = util_concat(stem, "_filtered.h5");
        out->rows = t.n_rows;
        if (!out->csv || !out->h5)
            rc = err_set(e, VAS_ENOMEM, "out of memory");
    }
    if (rc == VAS_OK)
        rc = pose_filter_write(&t, out->csv, out->h5, e);
    dlc_table_free(&t);
    if (rc < 0)
        pose_filter_out_clear(out);
    return rc;
}

void pose_filter_out_clear(pose_filter_out *out)
{
    free(out->csv);
    free(out->h5);
    memset(out, 0, sizeof(*out));
}
