/* pose_draw.h - draws a pose (DeepLabCut dots and skeleton) on a video frame with cairo, as
 * create_labeled_video does: skeleton lines first, then one disk per bodypart.
 * Owns: pose_style (the colours and sizes taken from a model's config.yaml) and the drawing.
 * Not: decoding or encoding frames (media/), colour names (pose_cmap.h), plots (pose_plot.h).
 *
 * Frames are cairo's CAIRO_FORMAT_RGB24: one native-endian 32-bit 0x00RRGGBB per pixel, i.e. bytes
 * B, G, R, x on little-endian machines (FFmpeg's AV_PIX_FMT_BGR0); stride a multiple of 4, at least
 * 4·w (cairo_format_stride_for_width gives the smallest). A point (x, y) is in pixel units with
 * pixel centres at integers, as in DeepLabCut's tables: (10, 20) is the centre of column 10,
 * row 20.
 *
 * Speed (measured with test_pose_draw's timing test, -O2, one core of the build machine): a 640x480
 * frame with 4 parts, 4 skeleton lines, dotsize 8, 45 to 65 µs per call (busy machine), surface
 * set-up included. Threads: any; a pose_style is read-only once made and can be shared. */
#ifndef VAS_POSE_DRAW_H
#define VAS_POSE_DRAW_H

#include "core/err.h"
#include "pose/pose_model.h"

#include <stdint.h>

typedef struct pose_style {
    int n_parts;                              /* bodyparts, 1..POSE_MODEL_MAX_PARTS */
    double rgb[POSE_MODEL_MAX_PARTS][3];      /* each part's colour, 0..1 */
    double radius;                            /* dot radius in pixels (config dotsize) */
    double alpha;                             /* opacity of dots and lines, 0..1 (alphavalue) */
    double pcutoff;                           /* drawn only if likelihood > pcutoff (strict) */
    int (*skeleton)[2];                       /* borrowed: pairs of part indices < n_parts */
    int n_skeleton;                           /* pairs in skeleton */
    double skel_rgb[3];                       /* skeleton colour, 0..1 */
    double line_width;                        /* skeleton line width in pixels */
    unsigned char hide[POSE_MODEL_MAX_PARTS]; /* 1: part never drawn, nor lines to it
                                                 (create_labeled_video's displayedbodyparts) */
    int conf_alpha; /* 1: a dot's opacity is its likelihood's, max(0, (p - pcutoff) / (1 -
                       pcutoff)) (p when pcutoff is 0), instead of alpha (confidence_to_alpha) */
} pose_style;

/* Fills s from m (borrowed; s->skeleton points into m, so m must outlive s): colours from
 * m->colormap as DeepLabCut picks them (pose_cmap_color, then floor(255·c) like its
 * create_labeled_video), radius = dotsize, alpha = alphavalue clipped to 0..1, pcutoff, the
 * skeleton, skel_rgb = skeleton_color, line_width = max(1, radius/3). VAS_EINVAL for an unknown
 * colormap or colour, no bodyparts or too many, or a skeleton index out of range. */
int pose_style_init(pose_style *s, const pose_model *m, vas_err *e);
/* Sets s's part colours from colormap cmap as pose_style_init does: part i of n_parts gets
 * pose_cmap_color(cmap, i, n), or with one_colour every part gets entry 0 (DeepLabCut's
 * color_by="individual" with one individual: cmap(linspace(0, 1, 1))). VAS_EINVAL for an
 * unknown colormap (the message lists the known ones). */
int pose_style_colors(pose_style *s, const char *cmap, int one_colour, vas_err *e);
/* Checks a hand-made style: counts, indices, ranges. VAS_EINVAL saying what is wrong. */
int pose_style_check(const pose_style *s, vas_err *e);

/* VAS_OK if bgrx can be drawn on as a w x h RGB24 frame with this stride (see above), else
 * VAS_EINVAL saying why. */
int pose_frame_check(const uint8_t *bgrx, int w, int h, int stride, vas_err *e);

/* Draws one pose on bgrx (borrowed, w x h, stride bytes a row, 4-byte aligned): xyl holds
 * s->n_parts (x, y, likelihood) triples. Skeleton lines (anti-aliased, round caps, skel_rgb at
 * alpha, all in one stroke so crossings don't darken) join pairs whose ends both have likelihood
 * > pcutoff and finite x, y; then each such part gets a filled anti-aliased disk of s->radius in
 * its colour at s->alpha. Others (below pcutoff, NaN, or farther than 1e6 px) are not drawn.
 * VAS_EINVAL for bad sizes or stride; VAS_ENOMEM if cairo cannot make its surface. */
int pose_draw(const pose_style *s, uint8_t *bgrx, int w, int h, int stride, const double *xyl,
              vas_err *e);
/* pose_draw plus a trail (create_labeled_video's trailpoints): past[k] (borrowed; NULL: none) is
 * the pose k + 1 frames back, k < n_past. A part drawn now also gets a disk at each of its past
 * points that is finite and near, in its colour at s->alpha, under its dot; as DeepLabCut, the
 * past likelihoods are not looked at. */
int pose_draw_trail(const pose_style *s, uint8_t *bgrx, int w, int h, int stride, const double *xyl,
                    const double *const *past, int n_past, vas_err *e);

#endif
