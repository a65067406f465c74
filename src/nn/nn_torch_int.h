/* nn_torch_int.h - what nn_torch.c (the zip, the API), nn_torch_pickle.c (the pickle machine)
 * and nn_torch_tensor.c (the tree's checks, tensor data) share. Not for other modules, but the
 * tests use pt_unpickle to run the pickle machine on bytes straight from memory.
 *
 * DESIGN: all objects of one file live in one array (pt_doc.nodes) and refer to each other by
 * position, so memo aliasing is harmless and the tree is freed at once; the public nn_pt
 * pointers are elements of that array, fixed once reading ends. Objects that only exist while
 * unpickling (globals, storages, numpy dtypes, bytes) have internal types above the public
 * ones; the checks after the pickle refuse any of them left in the tree. */
#ifndef VAS_NN_TORCH_INT_H
#define VAS_NN_TORCH_INT_H

#include "nn/nn_torch.h"

/* Ceilings: input-sized things all have one (a .pt file is outside input). */
#define PT_MAX_PICKLE   (64u << 20)        /* bytes of data.pkl */
#define PT_MAX_NODES    (1 << 21)          /* objects in one file */
#define PT_MAX_STACK    (1 << 20)          /* pickle stack slots */
#define PT_MAX_MARKS    1000               /* open MARKs */
#define PT_MAX_MEMO     (1 << 21)          /* highest memo key + 1 */
#define PT_MAX_DEPTH    200                /* nesting of lists/dicts in the tree */
#define PT_MAX_FLOATS   ((int64_t)1 << 30) /* float32 values of all tensors (4 GiB) */
#define PT_MAX_NDIMS    8
#define PT_MAX_KEY      64 /* bytes of a storage key ("0", "1", ...) */
#define PT_SLACK_FLOATS ((int64_t)64 << 20)

/* Internal object types, never seen by callers. */
enum {
    PT_GLOBAL = 64, /* an allowed Python global: sub = PT_G_* (and dtype in i) */
    PT_STORAGE,     /* a persistent storage: s = key, sub = dtype, i = claimed elements */
    PT_NPDTYPE,     /* numpy.dtype: sub = PT_NP_* kind, i = item size, f = 1 when big-endian */
    PT_BYTES        /* bytes: s, slen */
};

/* Allowed globals. */
enum {
    PT_G_ODICT,
    PT_G_REBUILD_V2,    /* torch._utils._rebuild_tensor_v2 */
    PT_G_REBUILD,       /* torch._utils._rebuild_tensor */
    PT_G_PARAM,         /* torch._utils._rebuild_parameter */
    PT_G_PARAM_STATE,   /* torch._utils._rebuild_parameter_with_state */
    PT_G_FROM_TYPE,     /* torch._tensor._rebuild_from_type_v2 */
    PT_G_PARAMETER,     /* torch.nn.parameter.Parameter */
    PT_G_TENSOR,        /* torch.Tensor */
    PT_G_SIZE,          /* torch.Size */
    PT_G_STORAGE_CLASS, /* torch.FloatStorage, ...: i = dtype */
    PT_G_NP_SCALAR,     /* numpy.core.multiarray.scalar */
    PT_G_NP_DTYPE,      /* numpy.dtype and numpy.dtypes.*DType */
    PT_G_ENCODE         /* _codecs.encode (bytes at pickle protocol 2) */
};

/* Tensor element types, as torch names them. */
enum { PT_F32, PT_F64, PT_F16, PT_BF16, PT_I64, PT_I32, PT_I16, PT_I8, PT_U8, PT_BOOL, PT_NDTYPES };

/* numpy scalar kinds. */
enum { PT_NP_FLOAT, PT_NP_INT, PT_NP_UINT, PT_NP_BOOL };

typedef struct pt_doc pt_doc;

typedef struct pt_tensor {
    int storage;                   /* node of the PT_STORAGE */
    int dtype;                     /* PT_F32, ... (the storage's) */
    int ndims;                     /* 0 .. PT_MAX_NDIMS */
    int64_t dims[PT_MAX_NDIMS];    /* shape */
    int64_t strides[PT_MAX_NDIMS]; /* in elements */
    int64_t offset;                /* storage_offset, in elements */
    int64_t numel;                 /* product of dims */
    int64_t reach;                 /* highest element index any stride reaches + 1 (0: none) */
    float *data;                   /* numel floats, owned; NULL until the storage is read */
} pt_tensor;

struct nn_pt {
    int type;        /* NN_PT_* or PT_* */
    int sub;         /* LIST: 1 for a tuple; DICT: 1 for OrderedDict; see the PT_* types */
    int n, cap;      /* LIST items / DICT pairs used, allocated */
    int64_t i;       /* INT, BOOL; see the PT_* types */
    double f;        /* FLOAT */
    char *s;         /* STR (UTF-8), PT_BYTES, PT_STORAGE key: owned, NUL-terminated */
    size_t slen;     /* bytes of s */
    int *items;      /* LIST: n nodes; DICT: 2n (key, value), owned */
    pt_tensor *t;    /* TENSOR, owned */
    pt_doc *doc;     /* the file it belongs to */
    unsigned char c; /* colour in the checks after the pickle */
};

struct pt_doc {
    nn_pt *nodes; /* all objects, owned */
    int n, cap;   /* used, allocated */
    int root;     /* node the pickle returned */
};

/* The element size and name of a PT_F32... dtype. */
int pt_dtype_size(int dtype);
const char *pt_dtype_name(int dtype);

/* A new empty doc, or NULL. */
pt_doc *pt_doc_new(void);
void pt_doc_free(pt_doc *d);
/* Appends a node of type; its index, or the error code (< 0) at PT_MAX_NODES or out of
 * memory. */
int pt_node_new(pt_doc *d, int type, const char *file, vas_err *e);

/* Runs the pickle machine over buf (len bytes, data.pkl of file) into d; sets d->root. */
int pt_unpickle(pt_doc *d, const unsigned char *buf, size_t len, const char *file, vas_err *e);

/* The checks after the pickle (nn_torch_tensor.c): refuses cycles, depth over PT_MAX_DEPTH,
 * internal objects left in the tree and dict keys given twice; collects the tensors the tree
 * reaches into *tensors (new array of node indices, caller frees, sorted by storage key) and
 * checks each against its storage's claimed size and the float ceiling for a file of
 * file_bytes. */
int pt_check_tree(pt_doc *d, const char *file, uint64_t file_bytes, int **tensors, int *n_tensors,
                  vas_err *e);
/* Converts the tensors tensors[0..n) of one storage, whose entry holds bytes [0, len), to
 * float32 (after checking each reaches no further than len). */
int pt_fill_tensors(pt_doc *d, const int *tensors, int n, const unsigned char *bytes, size_t len,
                    const char *file, vas_err *e);

/* ---- the pickle machine's state, for nn_torch_pickle.c and nn_torch_globals.c ---- */

typedef struct pt_vm {
    const unsigned char *buf, *p, *end; /* data.pkl, the next byte, its end */
    pt_doc *d;
    const char *file; /* for messages */
    vas_err *e;
    int *stack, sp, cap_stack; /* node positions */
    int *marks, n_marks;       /* stack heights at each MARK (PT_MAX_MARKS) */
    int *memo, cap_memo;       /* memo[key] = node + 1, 0 when unset */
    int n_memo;                /* keys set (MEMOIZE's next key) */
} pt_vm;

static inline nn_pt *pt_nd(pt_vm *m, int i)
{
    return &m->d->nodes[i];
}

/* Sets m->e to "'file' cannot be read: its pickle (data.pkl) <fmt>, at byte N"; returns code. */
int pt_fail(pt_vm *m, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* pt_fail(VAS_EINVAL, "is damaged (what)"). */
int pt_damaged(pt_vm *m, const char *what);
/* A new node's index, or the error code (< 0). */
int pt_node(pt_vm *m, int type);
int pt_push(pt_vm *m, int i);
/* Take the top slot above the last MARK (damaged when there is none). */
int pt_pop(pt_vm *m, int *i);
int pt_top(pt_vm *m, int *i);
/* Bytes of the UTF-8 sequence at s (n > 0 bytes left), its code point in *cp; 0 when bad. */
int pt_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Opcodes (nn_torch_globals.c): GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ, BUILD, BINPERSID. */
int pt_op_global(pt_vm *m);
int pt_op_stack_global(pt_vm *m);
int pt_op_reduce(pt_vm *m);
int pt_op_newobj(pt_vm *m);
int pt_op_build(pt_vm *m);
int pt_op_persid(pt_vm *m);

#endif
