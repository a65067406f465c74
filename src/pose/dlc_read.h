/* dlc_read.h - reading a DeepLabCut single-animal pose table (2D predictions, or 3D output)
 * back from a file, whoever wrote it: DeepLabCut 2.x/3.x through pandas, or vas's dlc_csv.h /
 * dlc_h5.h. Also the name DeepLabCut gives a 3D output (dlc-facts §6).
 *
 * The format is sniffed from the content: the HDF5 signature "\x89HDF\r\n\x1a\n" means HDF5,
 * anything else is read as CSV.
 *   CSV   pandas to_csv of a frame with MultiIndex columns: header rows "scorer,...",
 *         "bodyparts,...", "coords,..." then one row per frame (index, then floats; an empty
 *         field is NaN). Fields may be quoted the way Python's csv module quotes. A MultiIndex
 *         row index (pandas writes one column per level, as in labeled-data CSVs) is joined
 *         with "/" into one image name.
 *   HDF5  pandas to_hdf under the key "df_with_missing" (or the file's only key), in the
 *         "table" format (PyTables frame_table: /key/table with index + values_block_0; the
 *         column names come from the protocol-0 pickle in values_block_0_kind) or the "fixed"
 *         format (/key/axis0_level*, axis0_label*, axis1*, block0_values).
 * Refused: multi-animal tables (an "individuals" level): VAS_EUNSUPPORTED; more than one value
 * block or data columns in an HDF5 table, other pandas types: VAS_EUNSUPPORTED; anything that is
 * not a pose table, or breaks one of its rules (one scorer, every bodypart with the same coords,
 * rows as long as the header, numbers only, limits of pose_layout.h): VAS_EINVAL naming the file
 * and what is wrong. Tables above DLC_READ_VALUES_MAX values: VAS_ETOOBIG.
 * The whole table is read into memory (bounded by DLC_READ_VALUES_MAX).
 * Not: writing (dlc_csv.h, dlc_h5.h), multi-animal tables.
 * Threads: any; nothing shared. Reading HDF5 goes through libhdf5 (thread-safe build). */
#ifndef VAS_DLC_READ_H
#define VAS_DLC_READ_H

#include <stdint.h>

#include "core/err.h"

#define DLC_READ_VALUES_MAX ((int64_t)1 << 27) /* doubles in one table (1 GiB) */

typedef struct dlc_table {
    char *scorer;     /* the one scorer (level 0) */
    int n_parts;      /* bodyparts, 1..POSE_PARTS_MAX */
    char **bodyparts; /* n_parts names, in the file's column order */
    int n_coords;     /* coords per bodypart, 1..POSE_COORDS_MAX */
    char **coords;    /* n_coords names as in the file, e.g. x, y, likelihood or x, y, z */
    int64_t n_rows;   /* rows (frames or images); may be 0 */
    int64_t *frames;  /* n_rows frame numbers when the index is numeric, else NULL */
    char **labels;    /* n_rows image names when it is not, else NULL (both NULL: no rows) */
    double *v;        /* n_rows x n_parts x n_coords; NaN where the file has none */
} dlc_table;

/* Reads the pose table in path (CSV or HDF5, sniffed) into *out, which the caller zeroes
 * beforehand and frees with dlc_table_free. On error *out is left zeroed. VAS_ENOTFOUND when
 * path does not exist. Threads: any. */
int dlc_read(const char *path, dlc_table *out, vas_err *e);
/* Frees what t holds and zeroes it. NULL is a no-op. */
void dlc_table_free(dlc_table *t);

/* Where each of want[0..n_want) is in t->coords: idx[i] = its position. VAS_EINVAL naming the
 * first missing coord. E.g. want = {"x", "y", "likelihood"} for a 2D table. */
int dlc_table_find_coords(const dlc_table *t, const char *const *want, int n_want, int *idx,
                          vas_err *e);
/* Keeps only the coords want[0..n_want), in that order, rewriting t->coords and t->v in place
 * (so a 2D table whose file had "likelihood, x, y" becomes x, y, likelihood). t is unchanged on
 * error (VAS_EINVAL: a coord is missing or named twice; VAS_ENOMEM). */
int dlc_table_select_coords(dlc_table *t, const char *const *want, int n_want, vas_err *e);
/* dlc_table_select_coords(t, {"x", "y", "likelihood"}): the 2D layout vas computes on. */
int dlc_table_select_xyl(dlc_table *t, vas_err *e);

/* The name DeepLabCut's triangulate gives its outputs, without extension (dlc-facts §6):
 * the stem of cam1_path (folders and last extension dropped) is split at the first occurrence
 * of camera (e.g. "camera-1"); one '_' or '-' next to the split is dropped from each side, the
 * non-empty sides are joined with '_', then "_<scorer_3d>" is appended:
 *   "rig1-camera-1-day2.avi", "camera-1", "DLC_3D"  ->  "rig1_day2_DLC_3D"
 *   "camera-1.avi"                                  ->  "DLC_3D"
 * When camera is not in the stem, the whole stem is kept: "<stem>_<scorer_3d>".
 * New string in *out (caller frees); *out untouched on error (VAS_EINVAL: empty names). */
int dlc_name_3d(const char *cam1_path, const char *camera, const char *scorer_3d, char **out,
                vas_err *e);

#endif
