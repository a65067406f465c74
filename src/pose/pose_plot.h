/* pose_plot.h - the four PNG plots of a video's poses, like DeepLabCut's plot_trajectories
 * (DeepLabCut/DeepLabCut: deeplabcut/utils/plotting.py, PlottingResults): trajectories (x-y
 * paths), x and y over time, likelihood over time, and a histogram of frame-to-frame
 * displacement; each with axes, ticks, labels, a title and a legend of the bodyparts in their
 * colours. A point is shown when its likelihood >= pcutoff (DLC masks likelihood < pcutoff) and
 * x, y are finite. Drawn with cairo; text in DejaVu Sans (cairo's toy font API).
 * Sizes: trajectories and histogram POSE_PLOT_W x POSE_PLOT_H, x-y over time and likelihood
 * POSE_PLOT_WIDE_W x POSE_PLOT_WIDE_H. Each PNG is written to "<path>.part" and renamed over path,
 * so a reader never sees half a file. Long videos are decimated (at most POSE_PLOT_MAX_SEGS line
 * segments a part), so an hour of video plots in well under a second. Not: colours and styles
 * (pose_draw.h), reading pose tables (dlc_*.h). Threads: any; each call has its own cairo surface
 * and context, nothing of ours is shared. */
#ifndef VAS_POSE_PLOT_H
#define VAS_POSE_PLOT_H

#include "core/err.h"
#include "pose/pose_draw.h"

#include <stdint.h>

#define POSE_PLOT_W        800
#define POSE_PLOT_H        600
#define POSE_PLOT_WIDE_W   1000
#define POSE_PLOT_WIDE_H   450
#define POSE_PLOT_MAX_SEGS 4000
#define POSE_PLOT_BINS     50 /* histogram bins */

typedef struct pose_track {
    int64_t n_frames;         /* rows of xyl, >= 1 */
    int n_parts;              /* must equal the style's n_parts */
    const double *xyl;        /* borrowed: n_frames x n_parts x (x, y, likelihood) */
    const char *const *names; /* borrowed: n_parts bodypart names (NULL or a NULL entry:
                                 "part <i>") */
    int width, height;        /* video frame size in px; 0: fit the trajectories to the data */
    double fps;               /* > 0: time axes in seconds; 0: in frames */
} pose_track;

/* x-y path of each part in its colour at the style's alpha, only through the points shown
 * (gaps break the path), in image coordinates: x right 0..width, y down
 * 0..height, equal scales. All points below pcutoff: the axes and a note saying so.
 * VAS_EINVAL (no frames, parts differ from the style), VAS_EIO (cannot write path). */
int pose_plot_trajectories(const pose_track *t, const pose_style *s, const char *png_path,
                           vas_err *e);
/* x (dashed) and y (solid) of each part over time in its colour at the style's alpha, as DLC's
 * "plot" figure, only through the points shown (gaps break the lines; min and max per bucket
 * once decimated); y axis the shown values' range. None shown: the axes and a note. Errors as
 * above. */
int pose_plot_positions(const pose_track *t, const pose_style *s, const char *png_path, vas_err *e);
/* Likelihood of each part over time (min and max per bucket once decimated, so dips show), with
 * a dashed line at pcutoff. Errors as above. */
int pose_plot_likelihood(const pose_track *t, const pose_style *s, const char *png_path,
                         vas_err *e);
/* Step histogram per part of the displacement sqrt(dx²+dy²) in px between consecutive frames
 * both shown, POSE_PLOT_BINS bins from 0 to the largest displacement seen. None: the axes
 * and a note. Errors as above. */
int pose_plot_histogram(const pose_track *t, const pose_style *s, const char *png_path, vas_err *e);

/* A tick step of 1, 2 or 5 x 10^k giving about `want` ticks over lo..hi (1 if the range is empty
 * or not finite). Also used by pose_view3d.h for its floor grid. */
double pose_plot_tick_step(double lo, double hi, int want);

#endif
