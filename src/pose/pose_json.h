/* pose_json.h - vas's JSON pose output: the data of DeepLabCut's CSV/HDF5 plus metadata, in one
 * object written as rows arrive (memory bounded whatever the number of rows):
 *
 *   {"scorer":"DLC_...","bodyparts":["snout",...],"coords":["x","y","likelihood"],
 *    <members of head, e.g. "model","fps","video">,
 *    "predictions":[
 *     {"index":0,"t":0.0333,"pts":512,"pose":[x,y,likelihood,...]},  (videos)
 *     {"index":"a.png","pose":[x,y,likelihood,...]},                  (image tables)
 *     ...
 *    ],
 *    "frames":<rows written>,<members of tail, e.g. "timings">}
 *
 * "t" is the frame's presentation time in seconds (its timestamp x the stream's time base, as
 * ffprobe's pts_time) and "pts" the timestamp itself, so poses line up with other recordings;
 * the head gives the time base ("time_base":[num,den], pose_run.c). "pose" follows the CSV's
 * column order; numbers are the shortest text that reads back as the
 * same double (pose_fmt.h); NaN and infinities are null. Written to "<path>.part" and renamed by
 * pose_json_close, like the DeepLabCut writers.
 * Not: the DeepLabCut files (dlc_csv.h, dlc_h5.h). Threads: one writer per thread. */
#ifndef VAS_POSE_JSON_H
#define VAS_POSE_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "pose/pose_layout.h"

typedef struct pose_json pose_json;

/* Creates "<path>.part" and writes everything before the first row. l and head (an object, or
 * NULL) are borrowed during the call; head may not use the keys this writer writes (scorer,
 * bodyparts, coords, predictions, frames): VAS_EINVAL. New writer in *out (caller ends it with
 * pose_json_close or pose_json_abort); *out untouched on error. */
int pose_json_open(const char *path, const pose_layout *l, const json_t *head, pose_json **out,
                   vas_err *e);
/* Appends one row: index = frame (label NULL) or label (image tables; see pose_layout.h);
 * xyl = 3·n_bodyparts doubles (borrowed). On error the writer stays usable only for abort. */
int pose_json_add_row(pose_json *w, int64_t frame, const char *label, const double *xyl,
                      vas_err *e);
/* A video frame's time (see above). */
typedef struct pose_json_time {
    double t;    /* seconds: pts x time base */
    int64_t pts; /* the raw timestamp */
} pose_json_time;

/* pose_json_add_row for a video frame, with its time (tm borrowed). */
int pose_json_add_timed_row(pose_json *w, int64_t frame, const pose_json_time *tm,
                            const double *xyl, vas_err *e);
/* Ends the rows, writes "frames" and tail's members (an object, or NULL; borrowed; same key
 * rule as head), closes and renames the file. Frees w, also on error (then the partial file is
 * removed). NULL is a no-op. */
int pose_json_close(pose_json *w, const json_t *tail, vas_err *e);
/* Closes w, removes the partial file and frees w. NULL is a no-op. */
void pose_json_abort(pose_json *w);

#endif
