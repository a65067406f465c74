/* tri_run.h - triangulation of one take filmed by the cameras of a 3D model: each camera's 2D
 * poses (a DeepLabCut 2D pose file, or a video analysed now with the camera's 2D model), the 3D
 * point of every body part in every frame (geom_tri.h: undistort, DLT, Gauss-Newton), and the
 * outputs. Shared by the `triangulate` job and `vas analyze --analysis triangulate`.
 *
 * Rules (DeepLabCut's triangulate, dlc-facts §6, for 2 to GEOM_MAX_CAMERAS cameras): a view
 * counts when its likelihood is >= pcutoff (the job's, else the 3D config's; DeepLabCut masks
 * likelihood < pcutoff), else its pixel is NaN; a point seen by fewer than min_cameras (2)
 * cameras is NaN; with ransac_threshold > 0 an outlying view is dropped first (geom_tri.h,
 * step 5). Frames = the shortest input's rows (out->note says so when the lengths differ).
 * Every camera's table must hold exactly the body parts of camera 1's 2D model (any column
 * order), or of camera 1's table when the 3D model names no 2D model for camera 1; the outputs
 * list them in that order. A video input needs its camera's 2D model (an error says so).
 *
 * Outputs, <prefix>.csv/.h5 in DeepLabCut's 3D layout (scorer = scorername_3d, coords x, y, z,
 * int frame index; dlc_csv.h, dlc_h5.h) and <prefix>.json, columnar:
 *   {"model": "rig", "scorer": "DLC_3D", "cameras": ["camera-1", ...], "pcutoff": 0.4,
 *    "units": "calibration", "frames": N, "index": [0, 1, ...],
 *    "bodyparts": ["snout", ...],
 *    "points": {"snout": {"x": [...], "y": [...], "z": [...],   world coordinates, null = NaN
 *                         "cameras": [...],   views above pcutoff (a point is null below 2)
 *                         "reproj": [...]},   mean reprojection error in pixels, or null
 *               ...}}
 * Each array holds N values, one per frame. Not: storing outputs, HTTP. Threads: the caller's
 * (plus pose_run's for video inputs). */
#ifndef VAS_TRI_RUN_H
#define VAS_TRI_RUN_H

#include "analyses/pose_run.h"
#include "core/err.h"
#include "geom/geom_models3d.h"
#include "pose/dlc_read.h"

/* A triangulated take, seen by tri_run_opts.on_take (borrowed during that call). */
typedef struct tri_take tri_take;

typedef struct tri_run_opts {
    pose_progress_fn progress; /* optional: frames triangulated; a negative return stops */
    void *arg;
    /* optional: called once the outputs are written, before the take is freed (label_3d
     * draws it); a negative return is tri_run's */
    int (*on_take)(void *arg, const tri_take *k, vas_err *e);
    void *take_arg;
    pose_run_opts pose;  /* for video inputs (their own progress; o->pose.name unused) */
    const char *tmp_dir; /* where video inputs' 2D poses are written */
    /* Triangulation settings; zero: the defaults. */
    int pcutoff_set;         /* 1: pcutoff holds the likelihood cut-off; 0: the 3D config's */
    double pcutoff;          /* 0 to 1 */
    int min_cameras;         /* views a point needs; below 2: 2 */
    double ransac_threshold; /* > 0: drop outlying views, pixels (geom_tri.h step 5); 0: off */
    /* optional (filtered=1): filters a camera's 2D poses in place (the table read from its
     * pose file or from its video's poses; x, y, likelihood columns) before triangulation. */
    int (*filter)(void *arg, dlc_table *t, vas_err *e);
    void *filter_arg;
} tri_run_opts;

typedef struct tri_out {
    char *csv, *h5, *json; /* new paths (tri_out_clear frees them) */
    int64_t frames;
    int n_videos;   /* inputs that were videos analysed now */
    double seconds; /* wall time, videos' pose runs included */
    char note[512]; /* "" or why frames were dropped */
} tri_out;

/* inputs[i] (borrowed) = camera i's 2D pose file or video, for the model's n_cameras cameras.
 * Writes <prefix>.csv, .h5, .json. Errors name the camera and the input: neither a pose file
 * nor a video, body parts that differ from the model's; or the writers' or progress's code. */
int tri_run(const geom_models3d_item *it, const char *const *inputs, const char *prefix,
            const tri_run_opts *o, tri_out *out, vas_err *e);
void tri_out_clear(tri_out *out);

/* The take's frames and body parts (camera 1's 2D model's, in its order: names borrowed). */
int64_t tri_take_frames(const tri_take *k);
int tri_take_parts(const tri_take *k, const char *const **names);
/* The 3D points, frames x parts rows of (x, y, z); NaN where not triangulated. New array (caller
 * frees: free); NULL when out of memory. */
double *tri_take_xyz(const tri_take *k);
/* Camera c's 2D pose of frame f: parts x (x, y, likelihood) into xyl, in the parts' order. */
void tri_take_xyl(const tri_take *k, int c, int64_t f, double *xyl);

#endif
