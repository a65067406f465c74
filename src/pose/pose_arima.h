/* pose_arima.h - DeepLabCut's ARIMA filter (filterpredictions(filtertype="arima")): per x or y
 * series, the one-step-ahead predictions of a Gaussian ARMA(p, q) model fitted by maximum
 * likelihood, as statsmodels' SARIMAX(order=(p, 0, q), simple_differencing=True).fit() computes
 * them. Sources: DeepLabCut/DeepLabCut: deeplabcut/post_processing/filtering.py
 * (filterpredictions), deeplabcut/refine_training_dataset/outlier_frames.py (FitSARIMAXModel);
 * statsmodels 0.13: tsa/statespace/sarimax.py (start_params, _conditional_sum_squares,
 * transform_params), tsa/statespace/tools.py (constrain_stationary_univariate), mlemodel.py (fit).
 *
 * The model (statsmodels' Harvey representation, k = max(p, q + 1) states):
 *   y_t = a_t[0]                      (no measurement error)
 *   a_{t+1} = T a_t + R e_t           T: AR coefficients in column 0, ones on the superdiagonal;
 *                                     R = (1, theta_1 .. theta_q, 0 ..); e_t ~ N(0, sigma2)
 * Kalman filter from the stationary initial state (a_0 = 0, P_0 solving P = T P T' + sigma2 R R'),
 * NaN observations skipped (no update). The fit follows statsmodels' own path (MLEModel.fit):
 * statsmodels' conditional-sum-of-squares start values, parameters optimised in its unconstrained
 * space (Monahan's transform: AR stationary, MA invertible; sigma2 = u^2) on -loglike / n by
 * L-BFGS with scipy's L-BFGS-B rules (More-Thuente line search, at most 50 iterations, stop at a
 * relative change of 1e7 * eps or a gradient of 1e-5) and forward-difference gradients with step
 * 1e-5, as statsmodels asks scipy for. Rounding differs, so on flat likelihoods that use all 50
 * iterations the end points drift apart a little: tests/test_pose_arima.c measures it against
 * statsmodels itself.
 * Not: the pose table (pose_filter.c). Threads: any; nothing shared. */
#ifndef VAS_POSE_ARIMA_H
#define VAS_POSE_ARIMA_H

#include <stdint.h>

#include "core/err.h"

#define POSE_ARIMA_DEGREE_MAX 10 /* ARdegree and MAdegree ceilings */
#define POSE_ARIMA_MIN_FINITE 10 /* DeepLabCut fits only with more finite values than this */

/* A fitted model: params = AR coefficients [p], MA coefficients [q], sigma2 (statsmodels'
 * order). */
typedef struct pose_arima_model {
    int p, q;
    double params[2 * POSE_ARIMA_DEGREE_MAX + 1];
    double loglike;  /* at params */
    int iterations;  /* optimiser iterations */
    int evaluations; /* likelihood evaluations, the gradients' included */
} pose_arima_model;

/* Fits ARMA(p, q) to y[0..n) (NaN = missing; more than POSE_ARIMA_MIN_FINITE finite values, else
 * VAS_EINVAL) into *out. VAS_EINVAL for degrees outside 0..POSE_ARIMA_DEGREE_MAX, VAS_ENOMEM. */
int pose_arima_fit(const double *y, int64_t n, int p, int q, pose_arima_model *out, vas_err *e);
/* The one-step-ahead predicted means of m over y[0..n) into mean[0..n) (statsmodels'
 * get_prediction(end=n-1).predicted_mean; mean[0] = 0, the stationary mean). */
void pose_arima_predict(const pose_arima_model *m, const double *y, int64_t n, double *mean);
/* DeepLabCut's arima filter on one coordinate: values with lik < p_bound become NaN; with more
 * than POSE_ARIMA_MIN_FINITE finite values left, mean = the fitted model's predictions, else all
 * NaN; then mean[0] = x[0] (filterpredictions). x, lik borrowed; mean[0..n) written. Errors:
 * pose_arima_fit's. */
int pose_arima_series(const double *x, const double *lik, int64_t n, double p_bound, int p, int q,
                      double *mean, vas_err *e);

#endif
