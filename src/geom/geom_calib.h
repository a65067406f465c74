/* geom_calib.h - multi-camera calibrations in the dialects labs bring, all read into the same
 * geom_camera values: OpenCV FileStorage YAML (below; what OpenCV-based calibration tools and
 * tools/dlc3d_import.py write), anipose's calibration.toml (geom_calib_toml.c) and DeepLabCut's
 * stereo_params.pickle (geom_calib_pickle.c). The dialect is told by content: a pickle starts
 * with byte 0x80, a TOML file (or one named *.toml) with a [table]; anything else is YAML.
 * Owns: parsing and checking the file, choosing cameras by name, writing it back (as YAML).
 * Not: the camera model's math (geom_camera.h), triangulation (geom_tri.h), 3D project
 * configs (geom_model3d.h). Threads: any; a geom_calib is a plain value, immutable once loaded.
 *
 * YAML key spellings (the first one found is read): camera matrix camera_matrix, K,
 * cameraMatrix or M; distortion distortion_coefficients, dist_coeffs, D or distCoeffs;
 * rotation rotation, R or rvec, each a 3x3 matrix or a 3-vector (Rodrigues); translation
 * translation, T or tvec; size image_width + image_height, or size: [w, h].
 *
 * The file (one block per camera, keyed by its name; all matrices !!opencv-matrix):
 *   %YAML:1.0
 *   ---
 *   camera_names: [ camera-1, camera-2 ]    # optional: else every top-level mapping holding
 *                                            #   a camera_matrix, in file order
 *   camera-1:
 *      image_width: 640                      # optional (0 = unknown)
 *      image_height: 480                     # optional
 *      camera_matrix: !!opencv-matrix        # 3x3 [fx 0 cx; 0 fy cy; 0 0 1]
 *         rows: 3
 *         cols: 3
 *         dt: d
 *         data: [ 800., 0., 320., 0., 800., 240., 0., 0., 1. ]
 *      distortion_coefficients: !!opencv-matrix  # 1xN or Nx1, N = 4, 5 or 8:
 *         rows: 1                                #   k1 k2 p1 p2 [k3 [k4 k5 k6]]; optional (none)
 *         cols: 5
 *         dt: d
 *         data: [ -0.2, 0.05, 0.001, -0.001, 0. ]
 *      rotation: !!opencv-matrix             # 3x3 world -> camera; or rvec: 3x1 Rodrigues
 *         rows: 3
 *         cols: 3
 *         dt: d
 *         data: [ 1., 0., 0., 0., 1., 0., 0., 0., 1. ]
 *      translation: !!opencv-matrix          # 3x1 (or 1x3; tvec also read): Xc = R Xw + t
 *         rows: 3
 *         cols: 1
 *         dt: d
 *         data: [ 0., 0., 0. ]
 *   camera-2: ...
 * dt may be d, f or an integer type (u, c, w, s, i). A plain YAML sequence of the right length
 * is also read as a matrix. World units are the calibration's (DeepLabCut: checkerboard
 * squares). Checks, each refused with a sentence naming the file and camera: a named camera
 * missing, a matrix of the wrong shape or with non-numbers, fx or fy not > 0, a camera matrix
 * whose last row is not 0 0 1, a rotation not orthonormal with det +1 (tolerance 1e-5),
 * an unknown dt, more than GEOM_MAX_CAMERAS cameras, a camera named twice. */
#ifndef VAS_GEOM_CALIB_H
#define VAS_GEOM_CALIB_H

#include "core/err.h"
#include "geom/geom_camera.h"

#define GEOM_MAX_CAMERAS 16

typedef struct geom_calib {
    int n;                             /* cameras: 1 .. GEOM_MAX_CAMERAS */
    geom_camera cam[GEOM_MAX_CAMERAS]; /* in camera_names order (or file order) */
} geom_calib;

/* Reads and checks path into *out; *out is undefined on error. */
int geom_calib_load(const char *path, geom_calib *out, vas_err *e);
/* Index of the camera called name, or -1. */
int geom_calib_find(const geom_calib *c, const char *name);
/* The cameras names[0..n-1] of in, in that order, into *out (which may not be in). Error
 * naming the first camera in lacks. */
int geom_calib_select(const geom_calib *in, const char *const *names, int n, geom_calib *out,
                      vas_err *e);
/* Checks one camera as geom_calib_load does (what names the file in messages: may be NULL). */
int geom_calib_check_camera(const geom_camera *c, const char *what, vas_err *e);
/* Writes c to path in the format above (rotation as a matrix, 17 significant digits). */
int geom_calib_write(const char *path, const geom_calib *c, vas_err *e);

#endif
