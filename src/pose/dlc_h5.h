/* dlc_h5.h - DeepLabCut's HDF5 output, written with libhdf5 so that pandas.read_hdf(path)
 * returns the DataFrame DeepLabCut writes with to_hdf(key="df_with_missing", format="table",
 * mode="w") (dlc-facts §1): PyTables' "frame_table" layout, the group and table attributes
 * PyTables and pandas read (the MultiIndex columns as protocol-0 pickles), rows in the
 * extendible, chunked table /df_with_missing/table (index int64 or fixed-width image names,
 * values_block_0 float64[C·J], C = coords per bodypart: x, y, likelihood or the layout's).
 *
 * Streamed: rows are buffered one chunk (~64 KiB) at a time and appended; libhdf5's chunk cache
 * is off for the table, so memory stays bounded whatever the number of rows. Like dlc_csv, the
 * file is written to "<path>.part" and renamed by dlc_h5_close.
 * Differences from a pandas-written file that no reader sees: no PyTables index on the index
 * column (the "_i_table" group; pandas reads and queries without it).
 * Not: CSV (dlc_csv.h), JSON (pose_json.h).
 * Threads: one writer per thread. Debian's libhdf5 is built thread-safe: calls from writers on
 * different threads are serialized inside libhdf5. */
#ifndef VAS_DLC_H5_H
#define VAS_DLC_H5_H

#include <stdint.h>

#include "core/err.h"
#include "pose/pose_layout.h"

typedef struct dlc_h5 dlc_h5;

/* Creates "<path>.part" with the groups, attributes and an empty table. l is borrowed during
 * the call; l->label_max > 0 makes the index image names stored at that fixed width in bytes.
 * New writer in *out (caller ends it with dlc_h5_close or dlc_h5_abort); *out untouched on
 * error. */
int dlc_h5_open(const char *path, const pose_layout *l, dlc_h5 **out, vas_err *e);
/* Appends one row: index = frame (label NULL) or label (image tables; see pose_layout.h);
 * xyl = n_coords·n_bodyparts doubles (pose_layout_n_coords; borrowed; NaN stored as NaN). On error
 * the writer stays usable only for abort. */
int dlc_h5_add_row(dlc_h5 *w, int64_t frame, const char *label, const double *xyl, vas_err *e);
/* Writes the buffered rows and NROWS, closes and renames the file to its final path. Frees w,
 * also on error (then the partial file is removed). NULL is a no-op. */
int dlc_h5_close(dlc_h5 *w, vas_err *e);
/* Closes w, removes the partial file and frees w. NULL is a no-op. */
void dlc_h5_abort(dlc_h5 *w);

#endif
