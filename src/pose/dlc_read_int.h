/* dlc_read_int.h - inside dlc_read: building a dlc_table from columns and rows (dlc_read_build.c),
 * the HDF5 reader (dlc_read_h5.c) and the bounded unpickler for pandas' column attributes
 * (dlc_read_pickle.c). Not for other modules. Threads: any; a builder belongs to its caller. */
#ifndef VAS_DLC_READ_INT_H
#define VAS_DLC_READ_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "pose/dlc_read.h"

/* A table being filled: columns in the file's order are scattered into t's row layout. */
typedef struct dlc_build {
    dlc_table *t;     /* borrowed: the table being filled */
    const char *file; /* borrowed: the path, for messages */
    int n_cols;       /* value columns in the file */
    int *slot;        /* n_cols: column i goes to v[row·n_parts·n_coords + slot[i]] */
    int64_t cap_rows; /* rows allocated in t->frames or t->labels, and t->v */
} dlc_build;

/* Column i is (names[3i], names[3i+1], names[3i+2]) = (scorer, bodypart, coord), borrowed.
 * Fills t's scorer, bodyparts and coords (first-appearance order) and b's slots. VAS_EINVAL when
 * the columns are not one scorer x bodyparts x coords (each pair once) or break pose_layout.h's
 * limits. b is zeroed by the caller and freed with dlc_build_free. */
int dlc_build_columns(dlc_build *b, dlc_table *t, const char *file, int n_cols,
                      const char *const *names, vas_err *e);
/* Appends a row: index frame (label NULL) or label (UTF-8, 1..POSE_LABEL_MAX bytes); vals =
 * n_cols doubles in file order (borrowed). A label after frames turns the earlier frames into
 * labels ("12"), and a frame after labels becomes one. VAS_ETOOBIG past DLC_READ_VALUES_MAX. */
int dlc_build_row(dlc_build *b, int64_t frame, const char *label, const double *vals, vas_err *e);
/* Appends part to label (n bytes so far, room for POSE_LABEL_MAX + 1), after a '/' unless
 * label is empty; an empty part (a MultiIndex level pandas padded with NaN) is skipped. -1 when
 * the name would exceed POSE_LABEL_MAX bytes. */
int dlc_join_label(char *label, size_t *n, const char *part);
/* Shrinks t's arrays to n_rows. Never fails (keeps the larger block if realloc does). */
void dlc_build_finish(dlc_build *b);
void dlc_build_free(dlc_build *b);

/* Reads the HDF5 file path into t (zeroed). */
int dlc_read_h5(const char *path, dlc_table *t, vas_err *e);

/* Unpickles a pandas column list, as PyTables stores values_block_<k>_kind ([(s, b, c), ...])
 * or non_index_axes ([(1, [(s, b, c), ...])]), from buf[0..len) (borrowed; need not be
 * NUL-terminated). Protocols 0 to 5, only the opcodes for lists, tuples, dicts, str, int, bool
 * and None; anything else or any malformation is VAS_EINVAL (the message names file), never a
 * read past len. *names gets n_cols·width strings in one block (caller frees *names only);
 * width = the length of the tuples (3 single-animal, 4 multi-animal), all equal. */
int dlc_unpickle_columns(const char *buf, size_t len, const char *file, char ***names, int *n_cols,
                         int *width, vas_err *e);

#endif
