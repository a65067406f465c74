/* nn_tf_int.h - what nn_tf.c (reading a GraphDef, walking it, emitting the graph), nn_tf_ops.c
 * (one translation per TensorFlow op) and nn_tf_eval.c (constants and the integer shape
 * arithmetic TensorFlow leaves in a frozen graph) share. Not part of the API: include nn_tf.h.
 *
 * DESIGN. A frozen graph is NHWC; the engine graph is NCHW. Every TensorFlow tensor a needed
 * node makes becomes a tf_val: a runtime activation (an engine value, its channel count), a
 * host constant (TensorFlow's layout, ints widened to int64), a pending Pad (folded into the
 * convolution or pooling that reads it) or a pending convolution (emitted when something other
 * than a bias addition reads it, so that BiasAdd becomes the convolution's bias). Identity-like
 * nodes are looked through when inputs are resolved, so they never become values. Shape
 * arithmetic (Conv2DBackpropInput's input_sizes, SpaceToBatchND's paddings) is not translated:
 * it is evaluated at trial sizes and replaced by the static rule it must follow (nn_tf_eval.c).
 * Threads: one loader per thread. */
#ifndef VAS_NN_TF_INT_H
#define VAS_NN_TF_INT_H

#include "nn/nn_build.h"
#include "tf_subset.pb-c.h"

/* TensorFlow DataType values vas reads. */
enum { TF_FLOAT = 1, TF_DOUBLE = 2, TF_INT32 = 3, TF_INT64 = 9, TF_BOOL = 10, TF_HALF = 19 };

/* A tensor: output `out` of node `node` (after looking through Identity-like nodes). */
typedef struct tf_ref {
    int node;
    int out;
} tf_ref;

enum { TV_UNSET = 0, TV_RT, TV_CONST, TV_PAD, TV_CONV };

/* A convolution not emitted yet (TV_CONV). Weights in the engine's layout: Conv OIHW,
 * ConvTranspose (in, out, kH, kW). */
typedef struct tf_conv {
    int transpose; /* 1: ConvTranspose */
    int x;         /* engine value it reads */
    nn_const *w;   /* owned */
    nn_const *b;   /* owned; NULL until a bias is attached */
    int64_t s[2], d[2], pads[4], opad[2], group;
    int same; /* 1: auto_pad SAME_UPPER (TensorFlow SAME with stride > 1) */
} tf_conv;

typedef struct tf_val {
    int kind;        /* TV_* */
    int v;           /* TV_RT, TV_PAD: engine value */
    int ch;          /* channels of a runtime tensor (TV_RT, TV_PAD, TV_CONV); -1 unknown */
    nn_const *c;     /* TV_CONST: owned, TensorFlow layout */
    int64_t pads[4]; /* TV_PAD: top, left, bottom, right */
    tf_conv *conv;   /* TV_CONV: owned */
} tf_val;

typedef struct tf_ctx {
    Vastf__GraphDef *gd;  /* owned */
    Vastf__NodeDef **nd;  /* gd->node */
    int n;                /* node count */
    int *hash, hcap;      /* open addressing: node name -> index + 1 */
    tf_ref **in;          /* owned: resolved data inputs of each node */
    int *n_in;            /* owned: their count */
    int *n_out;           /* owned: outputs a reader names (max index + 1, at least 1) */
    int *voff;            /* owned: first tf_val of each node in vals */
    tf_val *vals;         /* owned */
    int *uses;            /* owned, per value: readers among the needed nodes */
    unsigned char *state; /* owned, per node: 0 new, 1 on the walk's stack, 2 needed */
    int *order;           /* owned: needed nodes in topological order */
    int n_order;
    int64_t eval_budget; /* evaluation steps left (shape arithmetic) */
    nn_build *b;         /* owned until finished */
} tf_ctx;

/* ---- nn_tf.c ---- */
tf_val *tf_val_of(tf_ctx *x, tf_ref r);
const char *tf_name(const tf_ctx *x, int node);
const char *tf_op(const tf_ctx *x, int node);
/* Attribute look-ups on node i; NULL / def when absent. */
const Vastf__AttrValue *tf_attr(const tf_ctx *x, int node, const char *key);
int64_t tf_attr_int(const tf_ctx *x, int node, const char *key, int64_t def);
float tf_attr_float(const tf_ctx *x, int node, const char *key, float def);
int tf_attr_bool(const tf_ctx *x, int node, const char *key, int def);
/* String attribute into buf (NUL-terminated); def when absent. */
const char *tf_attr_str(const tf_ctx *x, int node, const char *key, const char *def, char *buf,
                        size_t n);
/* list(int) attribute into out[max]; its length, or -1 when absent or longer than max. */
int tf_attr_ints(const tf_ctx *x, int node, const char *key, int64_t *out, int max);
/* The node's input k as a runtime tensor (emitting a pending convolution); its engine value or
 * <0 (the builder's error is set, naming the node). */
int tf_rt(tf_ctx *x, int node, int k);
/* Fails the build naming the node: "node 'n' (Op): <why>". Returns the code. */
int tf_fail(tf_ctx *x, int node, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- nn_tf_ops.c ---- */
/* Translates needed node i (its inputs are translated); sets its values. */
int tf_translate(tf_ctx *x, int node);
/* Data inputs the walk must translate before node i (some inputs are shape arithmetic, and
 * the SpaceToBatchND pattern reads past two nodes): into deps[max]; their count, or <0. */
int tf_deps(tf_ctx *x, int node, tf_ref *deps, int max);
/* Sets output k of node to a runtime tensor (engine value v, ch channels). */
void tf_set_rt(tf_ctx *x, int node, int k, int v, int ch);

/* ---- nn_tf_conv.c: convolutions, padding, pooling ---- */
/* Emits a pending convolution; its engine value or <0. */
int tf_conv_emit(tf_ctx *x, const char *name, tf_val *v);
int tf_op_conv(tf_ctx *x, int node);    /* Conv2D, DepthwiseConv2dNative */
int tf_op_deconv(tf_ctx *x, int node);  /* Conv2DBackpropInput */
int tf_op_atrous(tf_ctx *x, int node);  /* BatchToSpaceND(Conv(SpaceToBatchND)) */
int tf_op_pad(tf_ctx *x, int node);     /* Pad, PadV2 */
int tf_op_pool(tf_ctx *x, int node);    /* MaxPool, AvgPool */
int tf_op_biasadd(tf_ctx *x, int node); /* BiasAdd, and Add of a per-channel constant */
/* The atrous pattern around BatchToSpaceND node: its Conv2D/DepthwiseConv2dNative and
 * SpaceToBatchND nodes, or 0 when node is not one. */
int tf_atrous_match(const tf_ctx *x, int node, int *conv, int *s2b);

/* ---- nn_tf_eval.c ---- */
/* Decodes a TensorProto into a new constant (float/half/double -> NN_F32, int/bool ->
 * NN_I64). NULL with the builder's error set on a bad tensor. Unless keep, a large tensor's
 * bytes are freed once decoded (the node is read once: weights are big). */
nn_const *tf_tensor_decode(tf_ctx *x, int node, Vastf__TensorProto *tp, int keep);
/* The value of integer tensor r when tensor `subject` is 1 x h x w x c (NHWC): Shape of the
 * subject and constant arithmetic only. New constant in *out, or <0 with the error set. */
int tf_eval(tf_ctx *x, tf_ref r, tf_ref subject, const int64_t hwc[3], nn_const **out);

#endif
