/* pose_decode.h - single-animal pose from a network's score and location-refinement maps, as
 * DeepLabCut decodes them (dlc-facts §2; TF argmax_pose_predict, PyTorch HeatmapPredictor).
 * Not: running the network (nn/), multi-animal assembly, writing files (dlc_csv.h, dlc_h5.h,
 * pose_json.h). Threads: any; pure function, nothing shared. */
#ifndef VAS_POSE_DECODE_H
#define VAS_POSE_DECODE_H

#include "core/err.h"

/* Ceilings on map sizes, so a malformed model cannot ask for absurd work. */
#define POSE_MAX_JOINTS 1024
#define POSE_MAX_MAP    8192 /* cells per side */

typedef struct pose_maps {
    const float *scores; /* borrowed: n_joints x h x w (NCHW, one image), already likelihoods */
    const float *locref; /* borrowed: 2·n_joints x h x w; channel 2j = x offset, 2j+1 = y
                          * offset of joint j; NULL = location refinement off (offset 0) */
    int n_joints;        /* J */
    int h, w;            /* map rows, columns */
    double stride;       /* input pixels per map cell (8 for DLC's ResNet/MobileNet heads) */
    double locref_stdev; /* offset scale (DLC default 7.2801); unused without locref */
} pose_maps;

/* For each joint j: (row, col) = the first maximum of its score channel in row-major order
 * (NaN scores are never the maximum unless the whole channel is NaN: then (0, 0) and likelihood
 * NaN); then
 *   x = col·stride + 0.5·stride + locref[2j][row][col]·locref_stdev
 *   y = row·stride + 0.5·stride + locref[2j+1][row][col]·locref_stdev
 *   likelihood = score at (row, col), clipped to [0, 1].
 * Arithmetic is in double (DLC 2.x multiplies the offset in float32 first: differences are
 * below 1e-4 px). Writes xyl[3j + 0..2] = x, y, likelihood (xyl: 3·n_joints doubles, borrowed).
 * VAS_EINVAL if a size is out of range or a pointer is NULL. */
int pose_decode(const pose_maps *m, double *xyl, vas_err *e);

#endif
