/* geom_pickle.h - a bounded reader of Python pickles (protocols 2 to 4, as pickle.dump writes
 * them) that hold plain data and numpy arrays: what DeepLabCut's stereo_params.pickle holds.
 * Nothing is imported or run: the only globals accepted are numpy's array and dtype
 * reconstructors (numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype, numpy
 * scalars; numpy 2's numpy._core spellings too) and _codecs.encode (protocol 2 bytes); any
 * other global is refused by name. Arrays of float, int, uint or bool elements (any byte
 * order) are converted to float64. Owns: the object tree of one pickle.
 * Not: what the tree means (geom_calib_pickle.c). Threads: any; a tree belongs to its caller.
 * DESIGN: objects live in one array and refer to each other by index, so the memo's aliasing
 * costs nothing and the whole tree is freed at once. */
#ifndef VAS_GEOM_PICKLE_H
#define VAS_GEOM_PICKLE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define GEOM_PK_MAX_NODES (1 << 20)
#define GEOM_PK_MAX_STACK (1 << 16)
#define GEOM_PK_MAX_MARKS 256
#define GEOM_PK_MAX_MEMO  (1 << 20)
#define GEOM_PK_MAX_NDIM  8

enum {
    GEOM_PK_NONE,
    GEOM_PK_BOOL,
    GEOM_PK_INT,
    GEOM_PK_FLOAT,
    GEOM_PK_STR,
    GEOM_PK_BYTES,
    GEOM_PK_LIST,  /* lists and tuples */
    GEOM_PK_DICT,  /* keys in file order */
    GEOM_PK_ARRAY, /* a numpy array, as float64 */
    GEOM_PK_OTHER  /* internal: a global, a dtype, an array waiting for its state */
};

typedef struct geom_pk geom_pk;

/* Reads buf (len bytes, borrowed; what names it in messages). New tree in *out (caller frees:
 * geom_pk_free); *out untouched on error. */
int geom_pk_load(const unsigned char *buf, size_t len, const char *what, geom_pk **out, vas_err *e);
void geom_pk_free(geom_pk *p);

/* Objects are indices; -1 stands for none. */
int geom_pk_root(const geom_pk *p);
int geom_pk_type(const geom_pk *p, int o);
/* LIST items or DICT pairs. */
int geom_pk_len(const geom_pk *p, int o);
/* LIST item i or DICT value i; DICT key i. */
int geom_pk_at(const geom_pk *p, int o, int i);
int geom_pk_key(const geom_pk *p, int o, int i);
/* STR text (borrowed), else NULL. */
const char *geom_pk_str(const geom_pk *p, int o);
/* DICT value of string key k, or -1. */
int geom_pk_get(const geom_pk *p, int o, const char *k);
/* The numbers of o (an ARRAY, a number, or a LIST of these, nested), flattened in C order,
 * into out[0..cap); their count in *n. -1 when o holds something else or more than cap. */
int geom_pk_numbers(const geom_pk *p, int o, double *out, int cap, int *n);

#endif
