/* nn_int.h - nn's internal types, shared by nn_onnx.c (load), nn_shape.c (shapes and static
 * folding), nn_plan*.c (oneDNN primitives), nn_arena.c (arena, runs) and nn_session.c.
 * Not part of the API: include nn.h outside src/nn/.
 *
 * DESIGN. Loading produces an immutable nn_graph: values (named tensors; constants carry their
 * data) and nodes (operator, value indices, attributes), with BatchNormalization already folded
 * into the convolution before it. Everything that depends on the input size (Shape/Gather/...
 * folding, output sizes, fusion of activations and residual adds, memory offsets, primitives)
 * is a plan, made per (N, H, W) by a session and cached there. Runtime 4-D activations live in
 * NHWC so that element-wise operators, pooling, concat and resize need no re-ordering. */
#ifndef VAS_NN_INT_H
#define VAS_NN_INT_H

#include <stdint.h>

#include "nn/nn.h"

/* ONNX TensorProto.DataType values vas keeps (int32/bool are widened to int64 at load). */
enum { NN_F32 = 1, NN_I64 = 7 };

/* A constant tensor: an initializer, a Constant node's value, or a folded shape computation. */
typedef struct nn_const {
    int dtype; /* NN_F32 or NN_I64 */
    int ndims; /* 0 = scalar */
    int64_t dims[NN_MAX_DIMS];
    int64_t count; /* product of dims */
    void *data;    /* owned: count floats or int64s; borrowed when mapped */
    int mapped;    /* data lies in its graph's spill map (nn_graph_spill) */
} nn_const;

enum {
    NN_ATTR_FLOAT = 1,
    NN_ATTR_INT = 2,
    NN_ATTR_STRING = 3,
    NN_ATTR_TENSOR = 4,
    NN_ATTR_FLOATS = 6,
    NN_ATTR_INTS = 7
};

typedef struct nn_attr {
    char *name; /* owned */
    int type;   /* NN_ATTR_* */
    float f;
    int64_t i;
    char *s;       /* owned, NUL-terminated */
    int64_t *ints; /* owned */
    int n_ints;
    float *floats; /* owned */
    int n_floats;
    nn_const *t; /* owned */
} nn_attr;

/* Operators vas knows; NN_OP_NONE marks a node removed at load (a folded BatchNormalization). */
enum nn_op {
    NN_OP_NONE = 0,
    NN_OP_CONV,
    NN_OP_CONVT,
    NN_OP_BN,
    NN_OP_RELU,
    NN_OP_CLIP,
    NN_OP_LEAKY,
    NN_OP_SIGMOID,
    NN_OP_HSIGMOID,
    NN_OP_HSWISH,
    NN_OP_ADD,
    NN_OP_MUL,
    NN_OP_SUB,
    NN_OP_DIV,
    NN_OP_CONCAT,
    NN_OP_MAXPOOL,
    NN_OP_AVGPOOL,
    NN_OP_GAP,
    NN_OP_RESIZE,
    NN_OP_UPSAMPLE,
    NN_OP_IDENTITY,
    NN_OP_DROPOUT,
    NN_OP_CONSTANT,
    NN_OP_SHAPE,
    NN_OP_GATHER,
    NN_OP_UNSQUEEZE,
    NN_OP_SQUEEZE,
    NN_OP_RESHAPE,
    NN_OP_FLATTEN,
    NN_OP_CAST,
    NN_OP_SLICE,
    NN_OP_FLOOR,
    NN_OP_CEIL,
    NN_OP_GROUPNORM, /* GroupNormalization, per-channel scale/bias (ONNX opset 21 form) */
    NN_OP_COUNT
};

typedef struct nn_node {
    char *name;    /* owned; the ONNX node name or "#<index>" when it has none */
    char *op_type; /* owned; as in the file */
    int op;        /* enum nn_op */
    int n_in, n_out;
    int *in;  /* owned; value indices, -1 for an omitted optional input ("") */
    int *out; /* owned; value indices */
    int n_attrs;
    nn_attr *attrs; /* owned */
} nn_node;

typedef struct nn_value {
    char *name;  /* owned */
    nn_const *c; /* owned; non-NULL for initializers and Constant outputs folded at load */
} nn_value;

struct nn_graph {
    nn_value *vals; /* owned array of n_vals */
    int n_vals, cap_vals;
    nn_node *nodes; /* owned array of n_nodes, in topological order (checked at load) */
    int n_nodes;
    int input; /* value index of the single image input */
    int in_ndims;
    int64_t in_dims[NN_MAX_DIMS]; /* -1 where the model leaves a dimension free */
    int *outs;                    /* owned; value indices of the graph outputs */
    int n_outs;
    int opset;        /* default-domain opset */
    void *spill;      /* owned map (nn_graph_spill), or NULL */
    size_t spill_len; /* its bytes */
};

/* Moves the data of g's float32 constants of 64 KiB or more (the weights) out of the heap into
 * an unlinked file in $TMPDIR (else /var/tmp), mapped read-only, and frees the heap copies.
 * Planning reads them from the map and drops the pages it read after each node
 * (nn_graph_drop_pages), so that a planned network's float32 weights, which only planning reads,
 * are no longer held twice (once as oneDNN re-ordered them): they stay in the file, the kernel's
 * page cache in front of it, and come back when a new input size is planned. Where the file
 * cannot be made or written, the weights stay in the heap (the graph is unchanged). The
 * constants must not be written afterwards (the map is read-only). */
void nn_graph_spill(nn_graph *g);
/* Drops from memory the pages of g's spill map that were read (they are read again from the
 * file when next needed). No-op without a map. */
void nn_graph_drop_pages(const nn_graph *g);

/* The ONNX name of an operator ("Conv"), or "?". */
const char *nn_op_name(int op);

/* The operator of an ONNX op type name, or NN_OP_NONE (nn_onnx.c). */
int nn_op_lookup(const char *op_type);
/* Refuses, naming the node, attribute values vas does not implement (nn_onnx.c). */
int nn_check_attrs(const nn_node *n, vas_err *e);
/* Plans shapes once at the declared size (free dims: N=1, H=W=64), so that shape problems are
 * refused at load (nn_onnx.c). */
int nn_check_shapes(const nn_graph *g, vas_err *e);

/* Attribute look-ups; `def` when absent. */
const nn_attr *nn_attr_find(const nn_node *n, const char *name);
int64_t nn_attr_int(const nn_node *n, const char *name, int64_t def);
float nn_attr_float(const nn_node *n, const char *name, float def);
const char *nn_attr_str(const nn_node *n, const char *name, const char *def);
/* ints attribute into out[max]; returns its count, or 0 when absent. */
int nn_attr_ints(const nn_node *n, const char *name, int64_t *out, int max);

/* Appends a value named `name` (copied) holding c (taken, also on error); its index or <0. */
int nn_value_push(nn_graph *g, const char *name, nn_const *c, vas_err *e);
/* Folds every BatchNormalization that follows a convolution into it (nn_graph.c). */
int nn_fold_bn(nn_graph *g, vas_err *e);

nn_const *nn_const_new(int dtype, int ndims, const int64_t *dims);
void nn_const_free(nn_const *c);
/* An IEEE half (binary16) as float, exactly (subnormals, infinities and NaN payloads kept): for
 * the readers of .pt and GraphDef weights. */
float nn_half_to_float(uint16_t h);

/* Element i of a constant as double / int64, whatever its dtype. */
double nn_const_getf(const nn_const *c, int64_t i);
int64_t nn_const_geti(const nn_const *c, int64_t i);

/* ---- per-size shapes (nn_shape.c) ---- */

/* Shape and, for folded values, data of one value at one input size. */
typedef struct nn_tval {
    int ndims;
    int64_t dims[NN_MAX_DIMS];
    const nn_const *c; /* constant data: the graph's, or `own` */
    nn_const *own;     /* owned: a constant folded at this size */
    int alias;         /* runtime value this one shares memory with (Identity, no-op
                        * Reshape), or -1 */
} nn_tval;

/* Shapes of every value of g for input n x C x h x w, folding every node whose inputs are all
 * constant. New array of g->n_vals in *out (free with nn_shapes_free). Refuses, naming the
 * node, what cannot run on a runtime tensor. */
int nn_shapes(const nn_graph *g, int n, int h, int w, nn_tval **out, vas_err *e);
void nn_shapes_free(nn_tval *t, int n_vals);

/* Conv/ConvTranspose/pool geometry of node nd for input value dims `in` (nn_geom.c); wdims,
 * the weights' dims or NULL, give the kernel, and a kernel_shape that disagrees is refused. */
typedef struct nn_geom {
    int64_t k[2], s[2], d[2]; /* kernel, stride, dilation (ONNX: 1 = dense) */
    int64_t pl[2], pr[2];     /* pads: top/left and bottom/right, after auto_pad/ceil_mode */
    int64_t out[2];           /* output H, W */
    int64_t group;
} nn_geom;
int nn_geom_get(const nn_node *nd, const int64_t *in_dims, const int64_t *wdims, nn_geom *gm,
                vas_err *e);

/* ---- int8 calibration (nn_plan_q.c) ---- */

/* Least and greatest value each runtime value took over the calibration frames, as a float plan
 * wrote it (after the activations fused into its producer). lo > hi: never seen. */
typedef struct nn_ranges {
    int n_vals;     /* the graph's */
    float *lo, *hi; /* owned: n_vals each */
    int64_t frames; /* frames observed so far */
} nn_ranges;

/* Empty ranges for g's values (lo = +inf, hi = -inf). 0 ok, VAS_ENOMEM. */
int nn_ranges_init(nn_ranges *r, const nn_graph *g, vas_err *e);
void nn_ranges_clear(nn_ranges *r); /* back to empty, keeping the arrays */
void nn_ranges_free(nn_ranges *r);

/* ---- plans (nn_plan.c) ---- */
typedef struct nn_plan nn_plan;
/* rg: NULL for a float plan (f32, or bf16 per opt); else an int8 plan quantised with these
 * calibrated ranges (borrowed: read while planning only). */
int nn_plan_new(const nn_graph *g, const nn_options *opt, const nn_ranges *rg, void *engine, int n,
                int h, int w, nn_plan **out, vas_err *e);
void nn_plan_free(nn_plan *p);
/* obs: NULL, or ranges to widen with every value this (float) plan writes (calibration). */
int nn_plan_run(nn_plan *p, void *stream, const float *input, nn_ranges *obs, vas_err *e);
int nn_plan_output(const nn_plan *p, int i, const float **data, nn_tensor_info *info);
double nn_plan_flops(const nn_plan *p);
size_t nn_plan_arena_bytes(const nn_plan *p);
size_t nn_plan_weight_bytes(const nn_plan *p);
int nn_plan_matches(const nn_plan *p, int n, int h, int w, int int8);
/* 1 for an int8 plan; convolutions it runs in int8 (0 for float plans). */
int nn_plan_is_int8(const nn_plan *p);
int nn_plan_int8_convs(const nn_plan *p);
int nn_plan_int8_offsets(const nn_plan *p);
/* Convolutions the plan runs with Winograd's kernels (nn_plan_conv.c). */
int nn_plan_wino_convs(const nn_plan *p);
/* 1 if the plan's first step is its own input quantisation (nn_input.c). */
int nn_plan_int8_input(const nn_plan *p);
/* "nChw8c" when the plan's activations are channel-blocked where they can be, else "nhwc". */
const char *nn_plan_layout(const nn_plan *p);

#endif
