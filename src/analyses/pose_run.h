/* pose_run.h - pose on every frame of a video: media_pipe decodes on its own thread into the
 * network's input layout, nn runs batches, pose_decode turns maps into keypoints, and the three
 * writers (DeepLabCut's CSV and HDF5, vas's JSON) stream rows to disk. Shared by the `video`
 * job and `vas analyze`. Memory is bounded whatever the video's length (the pipe's ring, the
 * network's arena, one batch of rows).
 * Not: storing outputs (the job does), HTTP. Threads: the caller's (the nn session lives on it),
 * plus the pipe's decoder thread. */
#ifndef VAS_POSE_RUN_H
#define VAS_POSE_RUN_H

#include "analyses/net_cache.h"
#include "core/err.h"
#include "media/media_video.h"
#include "pose/pose_model.h"

#include <stdatomic.h>
#include <stdint.h>

/* Called after each batch; a negative return (e.g. VAS_ECANCELLED) stops the run with it. */
typedef int (*pose_progress_fn)(void *arg, int64_t done, int64_t total, vas_err *e);

/* One analysed row, for callers that want more than the files (plots, labeled videos). All
 * pointers are borrowed for the duration of the call. */
typedef struct pose_row {
    int64_t frame;      /* frame index (videos) or image number (images) */
    const char *label;  /* the image's name; NULL for video frames */
    const double *xyl;  /* 3 * n_bodyparts: x, y, likelihood */
    const uint8_t *rgb; /* the picture, packed RGB24 (width * 3 bytes a row) when opts.keep_rgb
                           is set; else NULL */
    int width, height;  /* the picture's size */
    int timed;          /* 1: a video frame with its time (pts, t); 0: images */
    int64_t pts;        /* the frame's raw timestamp in the video's time base (media_frame.pts) */
    double t;           /* pts x time base, seconds (the JSON's "t") */
} pose_row;
/* Called for every row after it is written; a negative return stops the run with it. */
typedef int (*pose_row_fn)(void *arg, const pose_row *r, vas_err *e);

typedef struct pose_run_opts {
    int batch;                 /* frames per inference batch (0: 4) */
    int threads;               /* inference threads (0: all cores) */
    int bf16;                  /* bf16 convolutions, where the CPU has them */
    int int8;                  /* int8 convolutions, calibrated on the first frames (nn.h); the
                                  model's own vas_int8 setting also asks for them */
    pose_progress_fn progress; /* optional */
    void *arg;
    const atomic_bool *cancel; /* optional: read per frame by the decoder */
    const char *name;          /* the video's name for the JSON's metadata (NULL: its path) */
    pose_row_fn on_row;        /* optional: every row, in order */
    void *row_arg;
    int keep_rgb;     /* 1: rows carry their picture (videos: the decoder keeps an RGB copy) */
    media_limits lim; /* what one input may cost (LIMIT_* keys; zeros: built-in caps only) */
    net_cache *nets;  /* optional: the worker's warm networks (net_cache.h); NULL: load the
                         network for this run and free it after */
} pose_run_opts;

typedef struct pose_video_out {
    char *csv, *h5, *json;         /* new paths (pose_video_out_clear frees them) */
    int64_t frames;                /* frames analysed */
    double fps;                    /* the video's average frame rate */
    int width, height;             /* upright frame size */
    double seconds, infer_seconds; /* wall time of the run and of inference alone */
    char note[256];                /* damage the decoder skipped, or "" */
} pose_video_out;

/* Analyses every frame of video with model m; writes <prefix>.csv, <prefix>.h5, <prefix>.json
 * (each appears complete or not at all). prefix, m, video borrowed. Fills *out.
 * Errors: the decoder's (not a video: VAS_EINVAL naming what FFmpeg found), the network's,
 * the writers', or the progress callback's code. */
int pose_run_video(const pose_model *m, const char *video, const char *prefix,
                   const pose_run_opts *o, pose_video_out *out, vas_err *e);
void pose_video_out_clear(pose_video_out *out);

/* Images: one image file, or a zip/tar archive of images (DeepLabCut's
 * analyze_time_lapse_frames), analysed one by one at their own sizes into one table whose index
 * is the image names (the file's display name o->name, or the names inside the archive).
 * Same outputs and out fields as a video (frames = images; fps 0); skipped archive entries are
 * listed in out->note. VAS_EINVAL when path is neither an image nor an archive of images. */
int pose_run_images(const pose_model *m, const char *path, const char *prefix,
                    const pose_run_opts *o, pose_video_out *out, vas_err *e);
/* Several image files (paths[0..n), borrowed) into one table indexed by their base names, in the
 * order given (`vas analyze --analysis image a.png b.png ...`). */
int pose_run_image_files(const pose_model *m, const char *const *paths, int n, const char *prefix,
                         const pose_run_opts *o, pose_video_out *out, vas_err *e);

#endif
