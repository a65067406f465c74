/* label_run.h - pictures a person checks a model by: a labeled video (every frame with its
 * bodyparts and skeleton drawn, H.264 .mp4, as DeepLabCut's create_labeled_video), labeled images,
 * and the three plots of pose_plots.h. Shared by the `label` and `label-image` jobs and
 * `vas analyze --analysis label`.
 *
 * DESIGN
 * One decode of the video feeds both the network and the drawing: media_pipe keeps each frame's
 * RGB picture beside the network's input, the rows come back through pose_run_opts.on_row with
 * their picture, and label_enc draws and encodes them on its own thread. When the poses already
 * exist (a finished `video` analysis of the same file and model), they are read back from its
 * DeepLabCut file instead and the network is not run at all. Memory: the pipe's ring, the label
 * ring (label_enc.h) and the plots' track.
 * Not: storing outputs (the jobs do). Threads: the caller's, plus the pipe's decoder thread and
 * the label thread. */
#ifndef VAS_LABEL_RUN_H
#define VAS_LABEL_RUN_H

#include "analyses/label_opts.h"
#include "analyses/pose_plots.h"
#include "analyses/pose_run.h"

typedef struct label_out {
    pose_video_out pose;       /* counts, size, fps; csv/h5/json are NULL when poses were given */
    char *video;               /* <prefix>_labeled.mp4 */
    char *plots[POSE_PLOTS_N]; /* pose_plots.h */
    char **images;             /* labeled PNGs, one per image */
    int n_images;
    char *archive;          /* <prefix>_labeled.zip of the PNGs when the input was an archive */
    int64_t labeled_frames; /* frames in the labeled video (start/end pick them) */
    double draw_seconds;    /* time spent drawing and encoding (overlapped with the rest) */
} label_out;

/* Labeled video of video (borrowed) with model m into <prefix>_labeled.mp4, plus the plots.
 * poses: a DeepLabCut CSV/HDF5 of this video by m to draw (the network is not run), or NULL to
 * run m (writing <prefix>.csv/.h5/.json as pose_run_video does). */
int label_run_video(const pose_model *m, const char *video, const char *poses, const char *prefix,
                    const pose_run_opts *o, label_out *out, vas_err *e);
/* The same drawn as lo says (borrowed; NULL: label_opts_default). Every frame written keeps its
 * input timestamp and time base, unless lo->outputframerate asks for a constant rate. The
 * network (when it runs) and the plots see every frame; start/end only pick what is drawn. */
int label_run_video_opts(const pose_model *m, const char *video, const char *poses,
                         const char *prefix, const pose_run_opts *o, const label_opts *lo,
                         label_out *out, vas_err *e);
/* Labeled images: path is one image or an archive of them (as pose_run_images); each becomes
 * <dir of prefix>/<image stem>_labeled.png; an archive also gives <prefix>_labeled.zip. */
int label_run_images(const pose_model *m, const char *path, const char *prefix,
                     const pose_run_opts *o, label_out *out, vas_err *e);
void label_out_clear(label_out *out);

#endif
