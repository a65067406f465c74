/* pose_layout.h - what the pose writers (dlc_csv.h, dlc_h5.h, pose_json.h) share: the column
 * layout of a DeepLabCut single-animal DataFrame, its checks, and the ".part" file each writer
 * streams into before renaming it over the final name.
 *
 * Columns are DeepLabCut's MultiIndex (scorer, bodyparts, coords): [scorer] x bodyparts x
 * coords, coords being [x, y, likelihood] (2D, the default) or any other list, e.g. [x, y, z]
 * for 3D (dlc-facts §6); a row is n_coords·n_bodyparts doubles in that order. The index is
 * frame numbers (videos) or image names (analyze_time_lapse_frames).
 * Threads: any; nothing shared. */
#ifndef VAS_POSE_LAYOUT_H
#define VAS_POSE_LAYOUT_H

#include "core/err.h"

#include <stdio.h>

#define POSE_NAME_MAX   1024 /* bytes in a scorer or bodypart name */
#define POSE_LABEL_MAX  4096 /* bytes in an image name (the index of an image analysis) */
#define POSE_PARTS_MAX  1024 /* bodyparts */
#define POSE_COORDS_MAX 16   /* coords per bodypart */

typedef struct pose_layout {
    const char *scorer;           /* borrowed during open: UTF-8, 1..POSE_NAME_MAX bytes */
    const char *const *bodyparts; /* borrowed during open: n_bodyparts UTF-8 names, as above */
    int n_bodyparts;              /* 1..POSE_PARTS_MAX */
    int label_max; /* 0: the index is frame numbers; > 0: image names of at most label_max
                    * bytes (HDF5 stores them at that fixed width), <= POSE_LABEL_MAX */
    const char *const *coords; /* borrowed during open: n_coords distinct names (as above), or
                                * NULL with n_coords 0 for x, y, likelihood */
    int n_coords;              /* 0 (x, y, likelihood) or 1..POSE_COORDS_MAX */
} pose_layout;

/* Values per bodypart in a row: n_coords, or 3 when it is 0. */
int pose_layout_n_coords(const pose_layout *l);
/* The name of coord k (0 <= k < pose_layout_n_coords(l)); "x", "y", "likelihood" by default.
 * Borrowed result: l->coords[k] or a static string. */
const char *pose_layout_coord(const pose_layout *l, int k);

/* VAS_OK, or VAS_EINVAL naming what is wrong (missing or non-UTF-8 name, counts out of range,
 * a coord named twice). */
int pose_layout_check(const pose_layout *l, vas_err *e);
/* A row's index: label must be NULL for frame numbers (frame >= 0), and a UTF-8 name of
 * 1..label_max bytes for image names. VAS_EINVAL otherwise. */
int pose_layout_check_index(const pose_layout *l, long long frame, const char *label, vas_err *e);
/* 1 if s is valid UTF-8 (no overlongs, no surrogates). */
int pose_utf8_valid(const char *s);

/* "<path>.part" in *out, a new string (caller frees); *out untouched on error. */
int pose_part_path(const char *path, char **out, vas_err *e);
/* Renames part over path (atomic on one filesystem); on failure removes part. */
int pose_part_commit(const char *part, const char *path, vas_err *e);
/* Closes f (taken, also on error), then commits part over path, or removes part when the close
 * reports a write error. The ending of the stdio writers (CSV, JSON). */
int pose_part_close(FILE *f, const char *part, const char *path, vas_err *e);

#endif
