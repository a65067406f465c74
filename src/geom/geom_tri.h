/* geom_tri.h - triangulating points seen by 2 to GEOM_MAX_CAMERAS calibrated cameras.
 * Owns: undistorting each view, the linear (DLT) solution, the optional refinement, and the
 * per-point figures (cameras used, mean reprojection error in pixels).
 * Not: deciding which views count (the caller gives NaN for a view below pcutoff), reading
 * calibrations (geom_calib.h). Threads: a geom_tri is immutable once made; share it freely;
 * the functions allocate nothing per point and keep no state between calls.
 *
 * Method, per point:
 * 1. Each finite pixel is undistorted to normalised (x, y) to convergence
 *    (geom_camera_undistort: OpenCV's 5 steps, then Newton).
 * 2. DLT: two rows per camera, x P3 - P1 and y P3 - P2, with P = [R | t] acting on a
 *    normalised world (shifted to the camera centres' mean, scaled by their mean distance
 *    from it, so the four unknowns are of one size); each row scaled to unit length. The
 *    homogeneous solution is the eigenvector of the smallest eigenvalue of the 4x4 A'A, by
 *    cyclic Jacobi. Fewer than 2 cameras, or a solution at infinity: NaN.
 * 3. Refinement (refine_iters > 0): Gauss-Newton on the sum of squared distances in distorted
 *    pixels over the cameras used, analytic Jacobian; it stops after refine_iters steps, when
 *    a step is below 1e-10 of the scene scale, or when a step would raise the error (that step
 *    is undone). Without noise the DLT is exact already; with noise this is the maximum
 *    likelihood point for Gaussian pixel noise.
 * 4. The mean reprojection error: mean over the cameras used of the Euclidean distance, in
 *    pixels, between the seen pixel and the projection (geom_camera_project) of the point.
 * 5. RANSAC over cameras (ransac_threshold > 0, as anipose's triangulate_ransac), when 3 or
 *    more views are seen: if the point from all of them reprojects within the threshold in
 *    every view, all are kept. Else each pair of views is triangulated (steps 2-3) and its
 *    inliers are the views whose reprojection error is within the threshold; the pair with
 *    the most inliers (ties: the smaller summed error) wins and the point is triangulated
 *    again from its inliers. When no pair has two inliers, no view can be singled out and all
 *    are kept. A point whose kept views are fewer than min_cameras is NaN.
 *    Cost: with 3 cameras one solve when the views agree, else 5. */
#ifndef VAS_GEOM_TRI_H
#define VAS_GEOM_TRI_H

#include "core/err.h"
#include "geom/geom_calib.h"

#include <stddef.h>

typedef struct geom_tri geom_tri;

typedef struct geom_tri_opts {
    int refine_iters; /* 0: DLT only; else at most this many Gauss-Newton steps (5 is plenty) */
    int min_cameras;  /* views a point needs (below 2: 2); fewer gives NaN */
    double ransac_threshold; /* > 0: step 5 with this threshold in pixels; 0: every view counts */
} geom_tri_opts;

typedef struct geom_tri_result {
    double X[3];   /* the world point (calibration units); NaN when fewer than min_cameras */
    double reproj; /* mean reprojection error in pixels over the cameras used; NaN with X */
    int n_cams;    /* views used: with a finite pixel, less those RANSAC dropped (also when
                      fewer than min_cameras, for the record) */
    unsigned cams; /* bit c set: camera c's view was used */
} geom_tri_result;

/* New triangulator for the cameras of c, in c's order (caller frees: geom_tri_free). o may be
 * NULL (DLT only). Needs at least 2 cameras. */
int geom_tri_new(const geom_calib *c, const geom_tri_opts *o, geom_tri **out, vas_err *e);
void geom_tri_free(geom_tri *t);
int geom_tri_n_cameras(const geom_tri *t);
/* One point: uv[2c], uv[2c+1] = camera c's pixel (NaN: not seen), for c < the camera count. */
void geom_tri_point(const geom_tri *t, const double *uv, geom_tri_result *out);
/* n points; point p's pixel in camera c is (uv[c][p * stride], uv[c][p * stride + 1]).
 * E.g. camera-major DeepLabCut rows x,y,likelihood: uv[c] = &rows_c[0], stride 3 (put NaN
 * where the likelihood is below pcutoff first); point-major: uv[c] = &buf[2c], stride 2 * N. */
void geom_tri_batch(const geom_tri *t, size_t n, const double *const *uv, size_t stride,
                    geom_tri_result *out);

#endif
