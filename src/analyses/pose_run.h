/* pose_run.h - pose on every frame of a video: media_pipe decodes on its own thread into the
 * network's input layout, nn runs batches, pose_decode turns maps into keypoints, and the three
 * writers (DeepLabCut's CSV and HDF5, vas's JSON) stream rows to disk. Shared by the `video`
 * job and `vas analyze`. Memory is bounded whatever the video's length (the pipe's ring, the
 * network's arena, one batch of rows).
 * Not: storing outputs (the job does), HTTP. Threads: the caller's (the nn session lives on it),
 * plus the pipe's decoder thread, or with streams (below) one more stream's thread.
 *
 * DESIGN (streams)
 * When inference has every core, the pipe decodes inline, between batches (media_pipe.h): the
 * engine then loses every core for the decoding's time (openfield 640x480: 0.8 ms a frame on
 * one core against about 9 ms of inference on two, efficiency 0.85-0.89). Streams take that
 * back: for a video of large frames (64 K pixels, where one frame keeps every thread busy) and
 * at least 16 batches, two streams each run whole batches on half the cores, one session each
 * (stream 0 the cached one, stream 1 its own, planned on its first batch and freed after the
 * run: memory for a second plan and arena). A stream takes the next batch (decoding it on its
 * own thread, one take at a time), runs it, then writes its rows once the batch before has
 * been written, so the files are in frame order and the same bytes as one session's (each
 * frame runs on a session of the same graph and options; tests/e2e_video.c compares them).
 * While one stream decodes, the other infers; neither waits at the other's barriers. Measured
 * on the openfield video (2 cores, AVX-512 Xeon): 106.8 against 94.0 frames/s. Not for int8
 * (each session would calibrate on other frames) nor when opts.one_stream asks for one. The
 * first error stops both streams and the decoder; it is the one reported, except that a second
 * stream whose own session fails on its first batch (its plan: memory, under a worker's memory
 * limit) runs that batch on stream 0's session and retires, and stream 0 goes on on every core.
 * With streams the caller's progress and on_row callbacks are still called one at a time and in
 * frame order, but from either stream's thread (the writes are serialised by the streams' mutex),
 * so they must not rely on running on the caller's thread (the job's store handle and Redis
 * connection are only ever used by one thread at a time). */
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
    int one_stream;   /* videos: 1 = every batch on the one session on every core, never
                         streams (pose_run.c; tests and benchmarks compare the two) */
} pose_run_opts;

typedef struct pose_video_out {
    char *csv, *h5, *json;         /* new paths (pose_video_out_clear frees them) */
    int64_t frames;                /* frames analysed */
    double fps;                    /* the video's average frame rate */
    int width, height;             /* upright frame size */
    double seconds, infer_seconds; /* wall time of the run and of inference alone */
    char note[256];                /* damage the decoder skipped, or "" */
    int streams;                   /* batches ran as this many streams (DESIGN); 1 without */
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
