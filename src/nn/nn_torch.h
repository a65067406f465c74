/* nn_torch.h - reading PyTorch's torch.save files (.pt: a zip holding data.pkl and one entry per
 * storage) without Python, as torch.load(weights_only=True) does: only tensors, storages,
 * (ordered) dicts, lists, tuples, strings, numbers, booleans and None. Any other pickle global
 * is refused by name, never looked up or run.
 * Owns: the zip and pickle parsing, the object tree of one file, tensor data (as float32).
 * Not: what the tree means (model/ reads DeepLabCut's snapshots from it).
 * Threads: a tree is immutable once read; share it freely. */
#ifndef VAS_NN_TORCH_H
#define VAS_NN_TORCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum {
    NN_PT_NONE,
    NN_PT_BOOL,
    NN_PT_INT,
    NN_PT_FLOAT,
    NN_PT_STR,
    NN_PT_LIST, /* also tuples */
    NN_PT_DICT, /* dict and OrderedDict, keys in file order */
    NN_PT_TENSOR
};

typedef struct nn_pt nn_pt; /* one object in the tree */

/* Reads PATH (torch.save's zip format, torch >= 1.6; the legacy format is refused saying to
 * save it again). Accepted Python globals: collections.OrderedDict, torch's tensor and parameter
 * rebuild functions, torch.nn.Parameter, torch.Size, the storage classes, and (for older DLC 3
 * metrics) numpy scalars, read as plain numbers. Ceilings: 64 MiB of pickle, 2^21 objects,
 * nesting 200 deep, 8 dimensions, 2^30 float32 values in all and no more than 4 per byte of the
 * file (+ 64 Mi); each tensor's size, strides and offset against its storage's claim, and the
 * claim against the storage entry's real size, before anything is allocated for it.
 * New tree in *out (caller frees the root: nn_pt_free); *out untouched on error, and the message
 * says what was wrong (truncated zip, missing data.pkl, a refused global naming module.name, a
 * tensor larger than its storage, ...): VAS_EINVAL for damaged or refused files,
 * VAS_EUNSUPPORTED for valid ones vas does not read (legacy, big-endian, ...), VAS_ETOOBIG over
 * a ceiling, VAS_ENOTFOUND when PATH cannot be opened. Threads: any; nothing is shared. */
int nn_pt_load(const char *path, nn_pt **out, vas_err *e);
/* Frees the whole tree: root must be what nn_pt_load returned. NULL: no-op. */
void nn_pt_free(nn_pt *root);

/* Look-ups; all borrowed results valid while the root lives. NULL/0 on a wrong type or index
 * (NULL o included). An object may appear at several places of the tree (pickle's memo), never
 * inside itself (cycles are refused). */
int nn_pt_type(const nn_pt *o);
int64_t nn_pt_int(const nn_pt *o);  /* INT or BOOL */
double nn_pt_float(const nn_pt *o); /* FLOAT or INT */
const char *nn_pt_str(const nn_pt *o);
int nn_pt_len(const nn_pt *o);                           /* LIST or DICT items */
const nn_pt *nn_pt_at(const nn_pt *o, int i);            /* LIST item i, or DICT value i */
const char *nn_pt_key(const nn_pt *o, int i);            /* DICT key i when a string, else NULL */
const nn_pt *nn_pt_get(const nn_pt *o, const char *key); /* DICT value by string key */
/* DICT key i as an object: a STR, or an INT, BOOL, FLOAT or NONE (an optimizer's state is keyed
 * by parameter number). */
const nn_pt *nn_pt_key_obj(const nn_pt *o, int i);

/* TENSOR: its shape (ndims <= 8; 0 for a scalar, whose numel is 1) and data as contiguous
 * float32 in C order (converted from float64/float16/bfloat16/int64/int32/... and from any
 * strides when read; int64 beyond 2^24 rounds to the nearest float). Data is never NULL for a
 * tensor, even of numel 0. Views of one storage each get their own copy. */
int nn_pt_ndims(const nn_pt *o);
const int64_t *nn_pt_dims(const nn_pt *o);
int64_t nn_pt_numel(const nn_pt *o);
const float *nn_pt_data(const nn_pt *o);
/* The torch dtype name it had in the file ("float32", "int64", ...). */
const char *nn_pt_dtype(const nn_pt *o);

#endif
