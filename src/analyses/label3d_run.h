/* label3d_run.h - the 3D labeled video of one take (DeepLabCut's create_labeled_video_3d, dlc-facts
 * §6, for 2 to GEOM_MAX_CAMERAS cameras): every output frame shows each camera's frame with its
 * 2D points and skeleton drawn, side by side in camera_names order, then a panel with the 3D view
 * of the triangulated skeleton (pose_view3d.h: perspective, axes, floor grid, one viewpoint for
 * the whole video chosen from the triangulated points' extent). H.264 .mp4 (media_enc.h).
 * Shared by the `label_3d` job and `vas analyze --analysis label_3d`.
 *
 * Layout: every panel has one height H = camera 1's height capped at max_height (480), made
 * even (at least 16). Camera c's panel is its frame scaled to H, width round(w_c * H / h_c); the
 * 3D panel is H x H, one pixel wider when that makes the total width odd. The video is the
 * panels' total width x H, at camera 1's frame rate; frames = the shortest input (videos and
 * triangulated take alike).
 *
 * What is drawn: every body part of camera 1's 2D model (DeepLabCut draws only the skeleton's
 * parts; vas draws all, so a part left out of the skeleton is still checked), in the 3D config's
 * colormap, with the 3D config's skeleton (the 2D model's when the 3D one has none), its
 * skeleton_color and alphaValue. A 2D point shows when its likelihood is above the 3D pcutoff
 * (pose_draw.h); a 3D point when it was triangulated (>= 2 views at or above pcutoff). Dots: the
 * 2D model's dotsize scaled with the panel (at least 2 px); in the 3D panel H / 80 px.
 *
 * Name: <prefix>.mp4, prefix being the triangulation's (DeepLabCut writes <3D h5 stem>.mp4).
 *
 * DESIGN
 * The take is triangulated first (tri_run.h, which also writes the csv/h5/json); the 3D points
 * (frames x parts x 3 doubles: 10 MB for an hour of 4 parts at 30 fps) give the viewpoint. Then
 * the videos are decoded together on the caller's thread, one frame each at a time, already
 * scaled to H by the decoder (media_video_opts' size), and queued with their poses to the drawing
 * thread (label3d_draw.h), which draws them on one BGRx canvas and encodes. While the drawer is
 * busy the caller's thread reports progress at least every 50 ms, so a cancel is seen within that
 * (and job_progress's own 200 ms) whatever a frame costs to draw. Memory: LABEL3D_DRAW_DEPTH
 * frames, the canvas, the decoders' and encoder's own buffers, the 2D tables and 3D points; never
 * the video. Measured (e2e_label3d bench_label3d: 2 cameras 640x480 x 240 frames, a 1760x480
 * video, 2 shared cores): see the commit that made the drawing thread.
 * Not: storing outputs (the job does). Threads: the caller's, the drawer's "vas-label3d" (plus
 * FFmpeg's and pose_run's). */
#ifndef VAS_LABEL3D_RUN_H
#define VAS_LABEL3D_RUN_H

#include "analyses/tri_run.h"

#define LABEL3D_MAX_HEIGHT 480

typedef struct label3d_opts {
    tri_run_opts tri;          /* the triangulation (its on_take is label3d_run's own) */
    pose_progress_fn progress; /* optional: frames decoded and queued for drawing (at most
                                  LABEL3D_DRAW_DEPTH ahead of those drawn), called after each
                                  and every 50 ms while the drawer is busy; a negative return
                                  stops */
    void *arg;
    int max_height; /* cap on the panels' height; 0: LABEL3D_MAX_HEIGHT */
} label3d_opts;

typedef struct label3d_out {
    tri_out tri;                       /* the triangulation's outputs and counts */
    char *video;                       /* <prefix>.mp4 (new; label3d_out_clear frees it) */
    int width, height;                 /* the video's size */
    int n_panels;                      /* cameras + 1 */
    int panel_w[GEOM_MAX_CAMERAS + 1]; /* each panel's width: cameras', then the 3D panel's */
    int64_t frames;                    /* frames written */
    double fps;
    double seconds;      /* wall time, triangulation included */
    double draw_seconds; /* decoding, drawing and encoding */
} label3d_out;

/* videos[c] (borrowed): camera c's video, for the model's n_cameras cameras. poses: NULL, or
 * poses[c] a DeepLabCut 2D pose file of videos[c] (a finished `video` analysis), or NULL to run
 * camera c's 2D model on the video now. Writes <prefix>.mp4 and tri_run's <prefix>.csv/.h5/.json.
 * Errors: VAS_EINVAL "label_3d needs videos" naming the camera whose input is not a video;
 * tri_run's; the encoder's; o's progress codes (VAS_ECANCELLED). */
int label3d_run(const geom_models3d_item *it, const char *const *videos, const char *const *poses,
                const char *prefix, const label3d_opts *o, label3d_out *out, vas_err *e);
void label3d_out_clear(label3d_out *out);

#endif
