/* label_enc.h - the labeled-video writer: a thread that draws poses on frames (pose_draw.h) and
 * encodes them to H.264 .mp4 (media_enc.h), so drawing and encoding overlap with decoding and
 * inference. Owns: the encoder and its canvas; the ring and thread are label_ring.h's.
 *
 * DESIGN
 * The ring holds LABEL_ENC_DEPTH frames (picture + pose), allocated once: memory is that many
 * frames whatever the video's length. label_enc_push copies a frame in (waiting while the ring is
 * full) and returns; the thread converts it to cairo's layout, draws, and encodes. An error on the
 * thread is kept and returned by the next push or by close; the file is then removed.
 * Timing: with a time base, each frame is written with the timestamp pushed with it (the input's:
 * media_enc.h, Timing), else at a constant rate. Trails: the thread keeps the last trailpoints - 1
 * poses (LABEL_MAX_TRAIL at most), also of frames pushed without a picture (before `start`).
 * Threads: two. The caller's (push/close/abort, one thread) and "vas-label" (started by open,
 * joined by close/abort); x264 may run threads of its own inside the encoder. */
#ifndef VAS_LABEL_ENC_H
#define VAS_LABEL_ENC_H

#include "core/err.h"
#include "pose/pose_draw.h"

#include <stdint.h>

#define LABEL_ENC_DEPTH  8
#define LABEL_ENC_PRESET "ultrafast" /* x264 preset; CRF is media_enc's default (23) */

typedef struct label_enc label_enc;

typedef struct label_enc_opts {
    int w, h;               /* picture size */
    double fps;             /* the rate (constant-rate files), or the average rate (timed) */
    int tb_num, tb_den;     /* > 0: frames keep the timestamps pushed with them, in this base */
    int rate_num, rate_den; /* optional: the input's exact rate (media_enc_opts) */
    const pose_style *s;    /* the drawing, copied */
    int trailpoints;        /* > 1: each part also at its trailpoints - 1 past positions */
    int keypoints_only;     /* 1: drawn on black, not on the picture */
} label_enc_opts;

/* Starts writing path (borrowed), as o says (borrowed during the call). New writer in *out
 * (caller ends it: label_enc_close or label_enc_abort). */
int label_enc_open(const char *path, const label_enc_opts *o, label_enc **out, vas_err *e);
/* Queues one frame: rgb (packed RGB24, w * 3 bytes a row; NULL: the frame is not written, its
 * pose only joins the trail) and its pose xyl (3 * n_parts; NULL: nothing drawn), both copied,
 * with its timestamp pts (timed writers). Frames are written in the order pushed. */
int label_enc_push(label_enc *le, const uint8_t *rgb, const double *xyl, int64_t pts, vas_err *e);
/* Encodes what is queued, finishes the file (moved into place) and frees le, also on error. */
int label_enc_close(label_enc *le, vas_err *e);
/* Stops, removes the partial file, frees. NULL: no-op. */
void label_enc_abort(label_enc *le);
/* Frames written so far, and seconds the thread spent drawing and encoding. */
void label_enc_stats(label_enc *le, int64_t *frames, double *busy_seconds);

#endif
