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

/* Reads PATH. Ceilings: the pickle's own size, each tensor's claimed bytes against its storage
 * entry's real size. New tree in *out (caller frees: nn_pt_free); *out untouched on error, and
 * the message says what was wrong (truncated zip, missing data.pkl, a refused global naming
 * module.name, a tensor larger than its storage, ...). */
int nn_pt_load(const char *path, nn_pt **out, vas_err *e);
void nn_pt_free(nn_pt *root);

/* Look-ups; all borrowed results valid while the root lives. NULL/0 on a wrong type. */
int nn_pt_type(const nn_pt *o);
int64_t nn_pt_int(const nn_pt *o);  /* INT or BOOL */
double nn_pt_float(const nn_pt *o); /* FLOAT or INT */
const char *nn_pt_str(const nn_pt *o);
int nn_pt_len(const nn_pt *o);                           /* LIST or DICT items */
const nn_pt *nn_pt_at(const nn_pt *o, int i);            /* LIST item i, or DICT value i */
const char *nn_pt_key(const nn_pt *o, int i);            /* DICT key i when it is a string */
const nn_pt *nn_pt_get(const nn_pt *o, const char *key); /* DICT value by string key */

/* TENSOR: its shape (ndims <= 8) and data as contiguous float32 in C order (converted from
 * float64/float16/bfloat16/int64/int32/... and from any strides when read). */
int nn_pt_ndims(const nn_pt *o);
const int64_t *nn_pt_dims(const nn_pt *o);
int64_t nn_pt_numel(const nn_pt *o);
const float *nn_pt_data(const nn_pt *o);
/* The torch dtype name it had in the file ("float32", "int64", ...). */
const char *nn_pt_dtype(const nn_pt *o);

#endif
