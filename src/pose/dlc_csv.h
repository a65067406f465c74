/* dlc_csv.h - DeepLabCut's CSV output, byte for byte as pandas DataFrame.to_csv writes it
 * (dlc-facts §1), streamed: one row at a time, memory bounded whatever the number of rows.
 *
 *   scorer,S,S,S,...            (level names first; csv.QUOTE_MINIMAL quoting)
 *   bodyparts,snout,snout,snout,...
 *   coords,x,y,likelihood,...   (or the layout's coords, e.g. x,y,z)
 *   0,123.45,45.5,0.999,...     (index, then floats as Python repr; NaN = empty field)
 *
 * The file is written to "<path>.part" and renamed to path by dlc_csv_close, so path never
 * holds a partial table and a failed run leaves an older file at path alone.
 * Not: HDF5 (dlc_h5.h), JSON (pose_json.h). Threads: one writer per thread. */
#ifndef VAS_DLC_CSV_H
#define VAS_DLC_CSV_H

#include <stdint.h>

#include "core/err.h"
#include "pose/pose_layout.h"

typedef struct dlc_csv dlc_csv;

/* Creates "<path>.part" and writes the three header rows. l is borrowed during the call. New
 * writer in *out (caller ends it with dlc_csv_close or dlc_csv_abort); *out untouched on
 * error. */
int dlc_csv_open(const char *path, const pose_layout *l, dlc_csv **out, vas_err *e);
/* Appends one row: index = frame (label NULL) or label (image tables; see pose_layout.h);
 * xyl = n_coords·n_bodyparts doubles (pose_layout_n_coords; borrowed). On error the writer stays
 * usable only for abort. */
int dlc_csv_add_row(dlc_csv *w, int64_t frame, const char *label, const double *xyl, vas_err *e);
/* Flushes, closes and renames the file to its final path. Frees w, also on error (then the
 * partial file is removed). NULL is a no-op. */
int dlc_csv_close(dlc_csv *w, vas_err *e);
/* Closes w, removes the partial file and frees w. NULL is a no-op. */
void dlc_csv_abort(dlc_csv *w);

#endif
