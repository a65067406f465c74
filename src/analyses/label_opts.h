/* label_opts.h - the `label` analysis's drawing options, DeepLabCut's create_labeled_video
 * arguments (DeepLabCut/DeepLabCut: deeplabcut/utils/make_labeled_video.py
 * (create_labeled_video, CreateVideo)), each with DeepLabCut's default:
 *   displayedbodyparts  "all", or a list of the model's bodyparts: the others are not drawn
 *                       (nor skeleton lines to them)
 *   draw_skeleton       false: the config's skeleton lines in skeleton_color
 *   trailpoints         0: N > 0 also draws each shown part at its N - 1 previous positions
 *                       (DeepLabCut's range(1, min(N, index + 1)))
 *   keypoints_only      false: true draws on black instead of the frame
 *   pcutoff, dotsize, alphavalue, colormap   the model's config.yaml values
 *   color_by            "bodypart"; "individual" gives every part the colormap's first colour
 *                       (vas models are single-animal: one individual)
 *   start, end          0, 1: fractions of the video; frames floor(n * start) to ceil(n * end)
 *                       - 1 are drawn (n the frame count the container gives), as DeepLabCut's
 *                       frame selection (utils/frameselectiontools.py) counts them
 *   outputframerate     none: every frame keeps its input timestamp; a rate writes the drawn
 *                       frames at that constant rate instead
 *   confidence_to_alpha false: true makes a dot's opacity max(0, (p - pcutoff) / (1 - pcutoff))
 * Owns: checking them (HTTP thread) and reading them back in the job. Not: drawing (label_run.h,
 * pose_draw.h). Threads: any; pure. */
#ifndef VAS_LABEL_OPTS_H
#define VAS_LABEL_OPTS_H

#include "core/err.h"
#include "pose/pose_draw.h"
#include "pose/pose_model.h"

#include <jansson.h>

#define LABEL_MAX_TRAIL   1000 /* trailpoints ceiling: the thread keeps that many past poses */
#define LABEL_MAX_DOTSIZE 1000 /* px */

typedef struct label_opts {
    unsigned char hide[POSE_MODEL_MAX_PARTS]; /* 1: part not in displayedbodyparts */
    int draw_skeleton, keypoints_only, confidence_to_alpha, one_colour; /* one_colour: color_by
                                                                           individual */
    int trailpoints;
    double pcutoff, dotsize, alphavalue; /* NAN: the model's */
    char colormap[64];                   /* "": the model's */
    double start, end;                   /* fractions, 0 <= start < end <= 1 */
    double outputframerate;              /* 0: the input's timestamps */
} label_opts;

/* DeepLabCut's defaults (the model's values where it takes them from config.yaml). */
void label_opts_default(label_opts *o);
/* Threads: HTTP. Checks the options in fields (values strings, numbers, booleans; a list as a
 * JSON array, a JSON array in a string, or names separated by commas) and puts them, normalised,
 * into args (borrowed). m (borrowed) may be NULL when the server has not loaded the model: the
 * bodypart names are then checked by the job. VAS_EINVAL naming the field and what it takes. */
int label_opts_check(const pose_model *m, const json_t *fields, json_t *args, vas_err *e);
/* The options in args (as label_opts_check left them) for model m into *o. VAS_EINVAL for a
 * bodypart m does not have. */
int label_opts_from_args(const pose_model *m, const json_t *args, label_opts *o, vas_err *e);
/* Applies o to s (made by pose_style_init from the model): pcutoff, dotsize, alphavalue,
 * colormap and color_by, the hidden parts, the skeleton (none without draw_skeleton),
 * confidence_to_alpha. VAS_EINVAL for an unknown colormap. */
int label_opts_style(const label_opts *o, pose_style *s, vas_err *e);

#endif
