/* pose_sink.h - what every pose run shares once its input is a normalised NCHW batch: the
 * network session, decoding to keypoints, and DeepLabCut's CSV and HDF5 plus vas's JSON.
 * Internal to analyses/ (pose_run.c for videos, pose_run_images.c for images).
 * Threads: the caller's; the nn session lives on it. */
#ifndef VAS_POSE_SINK_H
#define VAS_POSE_SINK_H

#include "analyses/net_cache.h"
#include "analyses/pose_run.h"
#include "nn/nn.h"
#include "pose/dlc_csv.h"
#include "pose/dlc_h5.h"
#include "pose/pose_json.h"

#include <jansson.h>

typedef struct pose_sink {
    const pose_model *m;
    const pose_run_opts *o; /* borrowed: o->on_row is called for every row */
    const uint8_t *rgb;     /* the pictures of the batch being run (set by the caller before
                               pose_sink_run when o->keep_rgb; n frames back to back), or NULL */
    int rgb_w, rgb_h;       /* their size */
    const int64_t *pts;     /* the batch's timestamps (set with rgb), or NULL (images) */
    double tb;              /* seconds a timestamp tick (the video's time base) */
    net_cache *nets;        /* borrowed: o->nets, where the network comes from and goes back */
    net_cache_entry *net;   /* taken from nets (pose_sink_free gives it back), or NULL */
    const nn_graph *g;      /* borrowed from net */
    nn_session *s;          /* borrowed from net */
    int net_failed;         /* a run failed inside the network: net is dropped, not given back */
    int64_t load_ms;        /* taking the network: loading and making the session on a miss */
    int64_t first_ms;       /* the first batch (on a miss or a new input size: with its plan) */
    int64_t batches;        /* batches run */
    int heat, loc;          /* output indices; loc -1 without location refinement */
    dlc_csv *csv;
    dlc_h5 *h5;
    pose_json *js;
    int64_t infer_ms; /* time spent in the network */
    double *xyl;      /* pose_sink_run's poses: xyl_frames x 3 x n_bodyparts (owned) */
    int xyl_frames;
} pose_sink;

/* Takes m's network from o->nets (net_cache.h; loaded there on a miss) and opens
 * <prefix>.csv/.h5/.json (paths into out->csv/h5/json, new). label_max: 0 for frame-numbered rows,
 * else the longest row name. head: extra JSON metadata (borrowed). On error, pose_sink_free still
 * cleans up. */
int pose_sink_open(pose_sink *k, const pose_model *m, const pose_run_opts *o, const char *prefix,
                   int label_max, const json_t *head, pose_video_out *out, vas_err *e);
/* Runs n images (NCHW float32, h x w, borrowed) and writes one row each: frames[i] (labels NULL)
 * or labels[i]. */
int pose_sink_run(pose_sink *k, const float *in, int n, int h, int w, const int64_t *frames,
                  const char *const *labels, vas_err *e);
/* The parts of pose_sink_run, for callers that run batches on sessions of their own beside
 * k's (pose_run.c's streams). pose_sink_infer runs n images on session s (k's or another of k's
 * graph; only k's model and output indices are read, so several threads may call it at once)
 * and decodes their poses into xyl (n x 3 x n_bodyparts), its time in *ms. pose_sink_write
 * writes their rows (with k->rgb and k->pts as set for the batch); pose_sink_timed adds a
 * batch's time to k's counts. Those two: one thread at a time, batches in order. */
int pose_sink_infer(const pose_sink *k, nn_session *s, const float *in, int n, int h, int w,
                    double *xyl, int64_t *ms, vas_err *e);
int pose_sink_write(pose_sink *k, int n, const int64_t *frames, const char *const *labels,
                    const double *xyl, vas_err *e);
void pose_sink_timed(pose_sink *k, int64_t ms);
/* Closes the three files (renaming them into place); tail: JSON metadata (borrowed). */
int pose_sink_close(pose_sink *k, const json_t *tail, vas_err *e);
/* The end of a run started at t0 (monotonic ms): fills out's timings, refuses a run of no rows
 * with VAS_EINVAL `empty`, and closes the files with the timings and out->note as their tail. */
int pose_sink_finish(pose_sink *k, pose_video_out *out, int64_t t0, const char *empty, vas_err *e);
/* Frees everything; files not closed are removed. The network goes back to o->nets (or is
 * dropped when a run failed inside it); with a cache, one log line says whether it was warm
 * (model_cache=hit|miss) with load_ms and first_batch_ms. */
void pose_sink_free(pose_sink *k);

#endif
