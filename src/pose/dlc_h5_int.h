/* dlc_h5_int.h - inside dlc_h5: the protocol-0 pickles pandas keeps in HDF5 attributes.
 * Not for other modules. Threads: any; a pickle buffer belongs to its caller. */
#ifndef VAS_DLC_H5_INT_H
#define VAS_DLC_H5_INT_H

#include <stddef.h>

#include "core/err.h"
#include "pose/pose_layout.h"

/* A pickle being written: text plus the memo of strings already emitted. */
typedef struct dlc_pkl {
    char *buf;         /* the pickle so far (not NUL-terminated) */
    size_t len, cap;   /* bytes used and allocated */
    const char **memo; /* borrowed strings, memo[i] = what "p<i>" stored (NULL: not a string) */
    int n_memo, cap_memo;
    int oom; /* an allocation failed: the pickle is incomplete */
} dlc_pkl;

/* The MultiIndex columns pandas stores, as pickle.dumps(obj, protocol=0) writes them:
 *   "non_index_axes"      [(1, [(scorer, bodypart, coord), ...])]
 *   "values_block_0_kind" [(scorer, bodypart, coord), ...]
 * Into p (zeroed by the caller; caller frees: dlc_pkl_free). l is borrowed during the call.
 * VAS_ENOMEM on allocation failure. */
int dlc_pkl_non_index_axes(dlc_pkl *p, const pose_layout *l, vas_err *e);
int dlc_pkl_block_kind(dlc_pkl *p, const pose_layout *l, vas_err *e);
void dlc_pkl_free(dlc_pkl *p);

#endif
