/* pose_filter.h - DeepLabCut's filterpredictions on a 2D pose table (dlc-facts §7): the median,
 * spline and arima filters, computed as DeepLabCut computes them, and the filtered table written as
 * DeepLabCut writes it (<stem>_filtered.h5 + <stem>_filtered.csv).
 * Source: DeepLabCut/DeepLabCut: deeplabcut/post_processing/filtering.py (filterpredictions,
 * columnwise_spline_interp).
 *
 *   median  scipy.signal.medfilt(column, windowlength) on every x and y column: each output is
 *           the middle of the window [f - w/2, f + w/2] sorted, frames outside the table
 *           counting as 0 (so the first and last w/2 frames are pulled toward 0). The window
 *           is sorted with qsort and scipy's comparison (a < b ? -1 : a == b ? 0 : 1), as
 *           scipy's order filter does, so NaN lands where it lands in scipy (not special).
 *           Likelihood untouched.
 *   spline  per x and y column: a not-a-knot cubic spline (scipy CubicSpline) through the
 *           non-NaN values (only when there are more than 3), evaluated at every frame; runs of
 *           NaN longer than windowlength frames stay NaN (windowlength 0: every run is filled;
 *           runs at either end are extrapolated), values of exactly 0 are dropped (DeepLabCut's
 *           "beyond the knots" rule). Where a value was NaN and is now filled, the body part's
 *           likelihood in that frame becomes 0.01. DeepLabCut's spline does not use p_bound.
 *   arima   per x and y column: values whose likelihood is below p_bound become missing; with
 *           more than 10 values left, an ARMA(ARdegree, MAdegree) model is fitted as
 *           statsmodels' SARIMAX fits it and the column becomes its one-step-ahead predictions
 *           at every frame (frame 0 keeps its value), else NaN (frame 0 kept): pose_arima.h.
 *           Likelihood untouched. Source: DeepLabCut/DeepLabCut:
 *           deeplabcut/refine_training_dataset/outlier_frames.py (FitSARIMAXModel).
 * Not: reading/writing the formats (dlc_read.h, dlc_csv.h, dlc_h5.h), the job (analyses/filter.c).
 * Threads: any; nothing shared. */
#ifndef VAS_POSE_FILTER_H
#define VAS_POSE_FILTER_H

#include <stdint.h>

#include "core/err.h"
#include "pose/dlc_read.h"

#define POSE_FILTER_WINDOW_MAX 1001 /* windowlength ceiling (median cost is rows x window) */

typedef enum pose_filter_type {
    POSE_FILTER_MEDIAN = 0, /* DeepLabCut's default */
    POSE_FILTER_SPLINE,
    POSE_FILTER_ARIMA,
} pose_filter_type;

/* DeepLabCut's filterpredictions arguments; POSE_FILTER_DEFAULTS are DeepLabCut's defaults. */
typedef struct pose_filter_opts {
    pose_filter_type type; /* filtertype */
    int window;            /* windowlength: median kernel (odd, >= 1); spline: max gap (0 = all) */
    double p_bound;        /* arima: likelihood below which a value is missing */
    int ar_degree;         /* arima: ARdegree */
    int ma_degree;         /* arima: MAdegree */
} pose_filter_opts;

#define POSE_FILTER_DEFAULTS                                                                       \
    {                                                                                              \
        POSE_FILTER_MEDIAN, 5, 0.001, 3, 1                                                         \
    }

/* The filter called name ("median", "spline", "arima"; case ignored) into *out. VAS_EINVAL
 * listing the names otherwise. */
int pose_filter_parse_type(const char *name, pose_filter_type *out, vas_err *e);
/* "median", "spline" or "arima". Static string. */
const char *pose_filter_type_name(pose_filter_type t);
/* VAS_OK, or VAS_EINVAL saying which of o's values is out of range for its filter (e.g. an even
 * median window or an ARMA degree outside 0..POSE_ARIMA_DEGREE_MAX). */
int pose_filter_check(const pose_filter_opts *o, vas_err *e);

/* scipy.signal.medfilt(in[0..n), window): out[0..n) (not in). VAS_ENOMEM. */
int pose_filter_medfilt(const double *in, int64_t n, int window, double *out, vas_err *e);
/* DeepLabCut's columnwise_spline_interp on one column, in place: v[0..n) (NaN = missing).
 * max_gap = windowlength. VAS_ENOMEM. */
int pose_filter_spline_column(double *v, int64_t n, int max_gap, vas_err *e);

/* Filters t in place; t must be a 2D table (coords x, y, likelihood in that order:
 * dlc_table_select_xyl), else VAS_EINVAL. Checks o first (pose_filter_check). */
int pose_filter_table(dlc_table *t, const pose_filter_opts *o, vas_err *e);
/* Writes t as DeepLabCut's CSV and table-format HDF5 at csv and h5 (either may be NULL), same
 * scorer, bodyparts, coords and index as t. */
int pose_filter_write(const dlc_table *t, const char *csv, const char *h5, vas_err *e);

/* What pose_filter_file made: new strings (pose_filter_out_clear frees them). */
typedef struct pose_filter_out {
    char *csv; /* "<stem>_filtered.csv" */
    char *h5;  /* "<stem>_filtered.h5" */
    int64_t rows;
} pose_filter_out;

/* The whole of DeepLabCut's filterpredictions for one pose file: reads in (a DeepLabCut 2D
 * CSV or HDF5, any writer: dlc_read.h), filters it with o and writes "<stem>_filtered.h5" and
 * "<stem>_filtered.csv" (stem: a path without extension, e.g. "<dir>/<video><scorer>"). The
 * paths into *out (zeroed by the caller; cleared on error). Errors: dlc_read's (VAS_EINVAL for a
 * file that is not a 2D pose table), pose_filter_check's, the writers'. */
int pose_filter_file(const char *in, const char *stem, const pose_filter_opts *o,
                     pose_filter_out *out, vas_err *e);
void pose_filter_out_clear(pose_filter_out *out);

#endif
