/* geom_camera.h - one calibrated camera in OpenCV's model: pinhole K, distortion
 * (k1 k2 p1 p2 [k3 [k4 k5 k6]]) and pose (R, t: world -> camera). Owns: projecting world points
 * to distorted pixels, undistorting pixels to normalised coordinates (OpenCV's iteration, and
 * a converged one), Rodrigues vectors.
 * Not: reading calibration files (geom_calib.h), triangulation (geom_tri.h).
 * Threads: any; pure functions on values the caller owns.
 *
 * The model, as cv::projectPoints: Xc = R Xw + t; x = Xc/Zc, y = Yc/Zc; r2 = x^2 + y^2;
 *   rad = (1 + k1 r2 + k2 r2^2 + k3 r2^3) / (1 + k4 r2 + k5 r2^2 + k6 r2^3)
 *   xd = x rad + 2 p1 x y + p2 (r2 + 2 x^2);  yd = y rad + p1 (r2 + 2 y^2) + 2 p2 x y
 *   u = fx xd + cx;  v = fy yd + cy.
 * The camera matrix's skew (row 0, column 1) is ignored, as OpenCV's projectPoints and
 * undistortPoints ignore it. */
#ifndef VAS_GEOM_CAMERA_H
#define VAS_GEOM_CAMERA_H

#define GEOM_NAME_MAX              64 /* camera name, with its NUL */
#define GEOM_MAX_DIST              8 /* distortion coefficients vas models: k1 k2 p1 p2 k3 k4 k5 k6 */
#define GEOM_CV_UNDISTORT_ITERS    5 /* cv::undistortPoints' default: TermCriteria(COUNT, 5) */
#define GEOM_UNDISTORT_START_ITERS 3 /* OpenCV steps before Newton in geom_camera_undistort */

typedef struct geom_camera {
    char name[GEOM_NAME_MAX]; /* as in the calibration file, e.g. camera-1 */
    int width, height;        /* image size in pixels; 0 when the file does not say */
    double fx, fy, cx, cy;    /* from the camera matrix (fx, fy > 0) */
    double k[GEOM_MAX_DIST];  /* k1 k2 p1 p2 k3 k4 k5 k6; coefficients not given are 0 */
    int n_dist;               /* how many the file gave: 0, 4, 5 or 8 */
    double R[9];              /* world -> camera rotation, row-major, orthonormal, det +1 */
    double t[3];              /* world -> camera translation: Xc = R Xw + t */
} geom_camera;

/* Normalised (x, y) on the z = 1 plane -> distorted pixel uv. J (may be NULL): the 2x2
 * Jacobian d(xd, yd)/d(x, y) of the distortion alone (normalised units, row-major). */
void geom_camera_distort(const geom_camera *c, const double xy[2], double uv[2], double J[4]);
/* World point -> distorted pixel, as cv::projectPoints. A point on the camera plane (Zc = 0)
 * gives non-finite pixels. */
void geom_camera_project(const geom_camera *c, const double X[3], double uv[2]);
/* Pixel -> normalised (x, y) by cv::undistortPoints' fixed-point iteration, `iters` steps
 * (GEOM_CV_UNDISTORT_ITERS is OpenCV's default; no R, no P). Agrees with OpenCV 4 to rounding,
 * including its fall back to the undistorted-by-nothing point when the iteration goes wrong. */
void geom_camera_undistort_cv(const geom_camera *c, const double uv[2], int iters, double xy[2]);
/* Pixel -> normalised (x, y) to convergence: GEOM_UNDISTORT_START_ITERS of OpenCV's steps,
 * then Newton on the distortion until distort(x, y) is within 1e-15 (normalised units, about
 * 1e-12 pixels) of the pixel (at most 10 steps). 0 when converged; -1 when not (xy then holds
 * the last point, or NaN when the pixel is not finite). */
int geom_camera_undistort(const geom_camera *c, const double uv[2], double xy[2]);
/* Rodrigues vector (axis * angle, radians) -> rotation matrix, row-major, as cv::Rodrigues. */
void geom_camera_rodrigues(const double rvec[3], double R[9]);

#endif
