/* geom_calib_int.h - what geom_calib.c (OpenCV YAML, the dispatch) shares with the readers of
 * the other calibration dialects: geom_calib_toml.c (anipose's calibration.toml) and
 * geom_calib_pickle.c (DeepLabCut's stereo_params.pickle). Not for other modules.
 * Threads: any. */
#ifndef VAS_GEOM_CALIB_INT_H
#define VAS_GEOM_CALIB_INT_H

#include "geom/geom_calib.h"

#include <stddef.h>

/* Key spellings (NULL-terminated) of the camera matrix, distortion, rotation, translation. */
extern const char *const geom_calib_k_keys[];
extern const char *const geom_calib_d_keys[];
extern const char *const geom_calib_r_keys[];
extern const char *const geom_calib_t_keys[];

/* K (3x3 row-major, last row 0 0 1) and n_dist (0, 4, 5 or 8) coefficients into c; c->name
 * set already (messages name path and it). */
int geom_calib_set_intrinsics(geom_camera *c, const double K[9], const double *dist, int n_dist,
                              const char *path, vas_err *e);
/* The image size (whole numbers 0 to 65536) into c. */
int geom_calib_set_size(geom_camera *c, double w, double h, const char *path, vas_err *e);
/* The readers of the other dialects: buf (len bytes, borrowed) is the file path. *out
 * undefined on error; each camera is checked with geom_calib_check_camera. */
int geom_calib_load_toml(const char *path, const char *buf, size_t len, geom_calib *out,
                         vas_err *e);
int geom_calib_load_pickle(const char *path, const unsigned char *buf, size_t len, geom_calib *out,
                           vas_err *e);

#endif
