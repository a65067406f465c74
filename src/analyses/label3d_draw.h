/* label3d_draw.h - label_3d's drawing side (label3d_run.h): each output frame's camera pictures,
 * decoded and scaled on the job's thread, are queued with their 2D and 3D poses; a thread of its
 * own lays them side by side on the BGRx canvas, draws the 2D poses (pose_draw.h) and the 3D view
 * (pose_view3d.h), and encodes the frame (media_enc.h). Decoding thus overlaps drawing and
 * encoding, and the job's thread, free while a frame is drawn, keeps reporting progress and sees
 * a cancel within a wait (label3d_draw_next's timeout) instead of a frame's drawing.
 * Owns: the encoder, the canvas, the ring of LABEL3D_DRAW_DEPTH frames (label_ring.h) and its
 * thread "vas-label3d". Not: decoding, layout, styles, the viewpoint (label3d_run.c).
 * Threads: two. The job's (every call here) and the ring's (drawing and encoding only). */
#ifndef VAS_LABEL3D_DRAW_H
#define VAS_LABEL3D_DRAW_H

#include "core/err.h"
#include "geom/geom_calib.h"
#include "pose/pose_draw.h"
#include "pose/pose_view3d.h"

#define LABEL3D_DRAW_DEPTH 4

/* The video's layout and styles, fixed for the whole video (label3d_run.h's Layout). */
typedef struct label3d_panels {
    int n_cams;                                           /* camera panels; the 3D one follows */
    int width, height;                                    /* the canvas (the video) */
    int x0[GEOM_MAX_CAMERAS + 1];                         /* each panel's left edge */
    int panel_w[GEOM_MAX_CAMERAS + 1];                    /* each panel's width */
    int src_w[GEOM_MAX_CAMERAS], src_h[GEOM_MAX_CAMERAS]; /* each video's own size (2D poses) */
    pose_style s2[GEOM_MAX_CAMERAS];                      /* camera panels' styles */
    pose_style s3;                                        /* the 3D panel's */
    pose_view3d view;                                     /* the 3D panel's viewpoint */
    int n_parts;                                          /* points per pose */
    double fps;
} label3d_panels;

/* One queued frame, to fill before label3d_draw_commit. Pointers into the ring's slot. */
typedef struct label3d_frame {
    uint8_t *rgb[GEOM_MAX_CAMERAS]; /* camera c: panel_w[c] x height, packed RGB24 */
    double *xyl[GEOM_MAX_CAMERAS];  /* camera c's 2D pose, 3 * n_parts, in its video's pixels */
    double *xyz;                    /* the 3D pose, 3 * n_parts (NaN: not triangulated) */
} label3d_frame;

typedef struct label3d_draw label3d_draw;

/* Starts writing path (borrowed) as H.264 .mp4 drawn as p says (copied; its styles' skeletons are
 * borrowed until close or abort). New drawer in *out (caller ends it: close or abort). */
int label3d_draw_open(const char *path, const label3d_panels *p, label3d_draw **out, vas_err *e);
/* Waits up to timeout_ms (< 0: as long as it takes) for room for the next frame: 1 with *f, 0
 * when the time ran out (the thread is still drawing: report progress, look for a cancel, ask
 * again), or the drawing thread's error. */
int label3d_draw_next(label3d_draw *d, int timeout_ms, label3d_frame *f, vas_err *e);
/* Queues the frame label3d_draw_next gave. */
void label3d_draw_commit(label3d_draw *d);
/* Draws what is queued, finishes the file (moved into place) and frees d, also on error. */
int label3d_draw_close(label3d_draw *d, vas_err *e);
/* Stops after the frame being drawn, removes the partial file, frees d. NULL: no-op. */
void label3d_draw_abort(label3d_draw *d);

#endif
