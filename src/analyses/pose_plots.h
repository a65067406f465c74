/* pose_plots.h - the four pictures every video result carries, as DeepLabCut's
 * plot_trajectories draws them: the x-y paths of each bodypart (<prefix>_trajectory.png), the
 * likelihood of each over time (<prefix>_plot-likelihood.png), a histogram of its
 * frame-to-frame displacement (<prefix>_hist.png) and its x and y over time (<prefix>_plot.png).
 * Owns: the track of a run, collected row by row (n_frames x n_parts x 3 doubles: 24 bytes a part a
 * frame, 10 MB for an hour of 4 parts at 30 fps). Not: drawing (pose/pose_plot.h). Threads: the
 * caller's. */
#ifndef VAS_POSE_PLOTS_H
#define VAS_POSE_PLOTS_H

#include "core/err.h"
#include "pose/pose_model.h"

#include <stdint.h>

#define POSE_PLOTS_N 4

typedef struct pose_plots {
    int n_parts;
    int64_t n, cap; /* rows held, room */
    double *v;      /* n x n_parts x 3 */
} pose_plots;

/* Appends one row of 3 * n_parts doubles (copied). The first row sets n_parts. */
int pose_plots_add(pose_plots *p, int n_parts, const double *xyl, vas_err *e);
/* Draws the four PNGs for frames of w x h at fps (0: unknown) in m's colours and pcutoff;
 * their new paths into out[0..4) (trajectory, likelihood, histogram, positions; caller frees,
 * also on error). */
int pose_plots_write(const pose_plots *p, const pose_model *m, int w, int h, double fps,
                     const char *prefix, char *out[POSE_PLOTS_N], vas_err *e);
/* The result keys of the four, in out's order: plot_trajectories, plot_likelihood,
 * plot_histogram, plot_positions. */
extern const char *const pose_plots_keys[POSE_PLOTS_N];
void pose_plots_free(pose_plots *p);

#endif
