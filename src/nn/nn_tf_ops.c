/* nn_tf_ops.c - one translation per TensorFlow op (the convolution family is in nn_tf_conv.c);
 * see nn_tf_int.h.
 *
 * DESIGN. Each translation reads its inputs' tf_vals and sets its outputs'. Runtime tensors are
 * NHWC in TensorFlow and NCHW in the engine, so a constant operand of an element-wise op is
 * re-laid from NHWC broadcasting ([C], [1,1,C], [1,1,1,C], ...) to NCHW ([1,C,1,1]) and axes
 * are mapped (ConcatV2 on axis 3 is Concat on axis 1). FusedBatchNorm in inference mode is a
 * BatchNormalization (folded into the convolution before it); in training mode (DeepLabCut's
 * MobileNetV2 is built under TF-slim's training_scope, so its frozen graph normalises with the
 * statistics of the batch it is given) it is a GroupNormalization with one group per channel,
 * which equals TensorFlow's batch statistics for a batch of one image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_tf_int.h"

void tf_set_rt(tf_ctx *x, int node, int k, int v, int ch)
{
    tf_val *o = tf_val_of(x, (tf_ref){node, k});

    if (v < 0)
        return;
    o->kind = TV_RT;
    o->v = v;
    o->ch = ch;
}

int tf_deps(tf_ctx *x, int node, tf_ref *deps, int max)
{
    const char *op = tf_op(x, node);
    int n = x->n_in[node], conv, s2b;

    if (!strcmp(op, "Const") || !strcmp(op, "Placeholder"))
        return 0;
    if (!strcmp(op, "Conv2DBackpropInput") && n == 3) {
        deps[0] = x->in[node][1];
        deps[1] = x->in[node][2];
        return 2;
    }
    if (!strcmp(op, "BatchToSpaceND") && tf_atrous_match(x, node, &conv, &s2b)) {
        deps[0] = x->in[s2b][0];
        deps[1] = x->in[conv][1];
        return 2;
    }
    if (n > max)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "has %d inputs (vas reads at most %d)", n, max);
    memcpy(deps, x->in[node], (size_t)n * sizeof(tf_ref));
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Inputs and constants
 * ------------------------------------------------------------------------------------------- */
static int op_placeholder(tf_ctx *x, int node)
{
    const Vastf__AttrValue *sh = tf_attr(x, node, "shape");
    int64_t ch = 3;
    int v;

    if (tf_attr_int(x, node, "dtype", TF_FLOAT) != TF_FLOAT)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "the image input must be float32");
    if (sh && sh->value_case == VASTF__ATTR_VALUE__VALUE_SHAPE && sh->shape &&
        !sh->shape->unknown_rank) {
        if (sh->shape->n_dim != 4)
            return tf_fail(x, node, VAS_EUNSUPPORTED, "the image input must be N x H x W x C");
        if (sh->shape->dim[3]->size > 0)
            ch = sh->shape->dim[3]->size;
        if (ch > 64)
            return tf_fail(x, node, VAS_EUNSUPPORTED, "an image input of %lld channels",
                           (long long)ch);
    }
    v = nn_build_input(x->b, tf_name(x, node), (int)ch);
    tf_set_rt(x, node, 0, v, (int)ch);
    return v < 0 ? v : VAS_OK;
}

static int op_const(tf_ctx *x, int node)
{
    const Vastf__AttrValue *a = tf_attr(x, node, "value");
    tf_val *o = tf_val_of(x, (tf_ref){node, 0});

    if (!a || a->value_case != VASTF__ATTR_VALUE__VALUE_TENSOR)
        return tf_fail(x, node, VAS_EINVAL, "has no value");
    o->c = tf_tensor_decode(x, node, a->tensor, 0);
    if (!o->c)
        return nn_build_error(x->b, NULL);
    o->kind = TV_CONST;
    o->ch = -1;
    return VAS_OK;
}

/* Constant c, broadcast against an NHWC tensor, as the engine's NCHW broadcast constant. */
static int const_nchw(tf_ctx *x, int node, const nn_const *c)
{
    int64_t d[4] = {1, 1, 1, 1}, nd[4];
    char buf[512];
    nn_const *k;

    if (c->dtype != NN_F32 || c->ndims > 4)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "a constant operand must be float, up to 4-D");
    snprintf(buf, sizeof(buf), "%s.const", tf_name(x, node));
    if (c->count == 1) /* a scalar, whatever its rank */
        return nn_build_constf(x->b, buf, 0, d, c->data);
    for (int i = 0; i < c->ndims; i++)
        d[4 - c->ndims + i] = c->dims[i];
    if (d[0] != 1)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "a constant operand spans the batch");
    nd[0] = 1, nd[1] = d[3], nd[2] = d[1], nd[3] = d[2];
    k = nn_const_new(NN_F32, 4, nd);
    if (!k)
        return nn_build_fail(x->b, VAS_ENOMEM, "out of memory reading '%s'", tf_name(x, node));
    for (int64_t h = 0; h < d[1]; h++)
        for (int64_t w = 0; w < d[2]; w++)
            for (int64_t ch = 0; ch < d[3]; ch++)
                ((float *)k->data)[(ch * d[1] + h) * d[2] + w] =
                    ((const float *)c->data)[(h * d[2] + w) * d[3] + ch];
    return nn_build_const(x->b, buf, k);
}

/* ---------------------------------------------------------------------------------------------
 * Element-wise
 * ------------------------------------------------------------------------------------------- */
static const char *onnx_binary(const char *op)
{
    if (!strcmp(op, "Add") || !strcmp(op, "AddV2"))
        return "Add";
    if (!strcmp(op, "Sub"))
        return "Sub";
    if (!strcmp(op, "Mul"))
        return "Mul";
    return "Div"; /* RealDiv */
}

static int op_binary(tf_ctx *x, int node)
{
    const char *op = onnx_binary(tf_op(x, node));
    const tf_val *a = tf_val_of(x, x->in[node][0]), *b = tf_val_of(x, x->in[node][1]);
    int comm = !strcmp(op, "Add") || !strcmp(op, "Mul"), va, vb, ch;

    if (x->n_in[node] != 2)
        return tf_fail(x, node, VAS_EINVAL, "needs two inputs");
    if (!strcmp(op, "Add") && b->kind == TV_CONST && a->kind == TV_CONV && b->c->ndims == 1)
        return tf_op_biasadd(x, node);
    if (a->kind == TV_CONST && b->kind == TV_CONST)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "both operands are constant");
    if (a->kind == TV_CONST && !comm)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "a constant minus or over a tensor");
    ch = a->kind == TV_CONST ? b->ch : b->kind == TV_CONST ? a->ch : a->ch > b->ch ? a->ch : b->ch;
    va = a->kind == TV_CONST ? const_nchw(x, node, a->c) : tf_rt(x, node, 0);
    vb = b->kind == TV_CONST ? const_nchw(x, node, b->c) : tf_rt(x, node, 1);
    if (va < 0 || vb < 0)
        return nn_build_error(x->b, NULL);
    tf_set_rt(x, node, 0, nn_build_binary(x->b, op, tf_name(x, node), va, vb), ch);
    return nn_build_error(x->b, NULL);
}

static int op_unary(tf_ctx *x, int node)
{
    const char *op = tf_op(x, node), *name = tf_name(x, node);
    int v = tf_rt(x, node, 0), out, ch = tf_val_of(x, x->in[node][0])->ch;
    char buf[512];

    if (v < 0)
        return v;
    if (!strcmp(op, "Relu6")) {
        out = nn_build_clip(x->b, name, v, 0.0f, 6.0f);
    } else if (!strcmp(op, "LeakyRelu")) {
        out = nn_build_node(x->b, "LeakyRelu", name, &v, 1);
        nn_build_attr_float(x->b, "alpha", tf_attr_float(x, node, "alpha", 0.2f));
    } else if (!strcmp(op, "swish_f32")) { /* TF 1.x tf.nn.swish: x * sigmoid(x) */
        snprintf(buf, sizeof(buf), "%s/sigmoid", name);
        out = nn_build_unary(x->b, "Sigmoid", buf, v);
        out = nn_build_binary(x->b, "Mul", name, v, out);
    } else {
        out = nn_build_unary(x->b, op, name, v); /* Relu, Sigmoid */
    }
    tf_set_rt(x, node, 0, out, ch);
    return nn_build_error(x->b, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Normalisation, reduction, concatenation
 * ------------------------------------------------------------------------------------------- */
static const nn_const *chan_const(tf_ctx *x, int node, int k, int64_t ch)
{
    const tf_val *v = tf_val_of(x, x->in[node][k]);

    if (v->kind != TV_CONST || v->c->dtype != NN_F32 || v->c->ndims != 1 || v->c->count < 1 ||
        (ch > 0 && v->c->count != ch)) {
        tf_fail(x, node, VAS_EUNSUPPORTED, "input %d must be a constant of one per channel", k);
        return NULL;
    }
    return v->c;
}

static int op_batchnorm(tf_ctx *x, int node)
{
    int training = tf_attr_bool(x, node, "is_training", 1), v, out;
    float eps = tf_attr_float(x, node, "epsilon", 1e-4f);
    const nn_const *scale, *offset, *mean = NULL, *var = NULL;
    int64_t ch;
    char df[16];

    if (strcmp(tf_attr_str(x, node, "data_format", "NHWC", df, sizeof(df)), "NHWC"))
        return tf_fail(x, node, VAS_EUNSUPPORTED, "data_format %s is not supported", df);
    if (x->n_in[node] != 5)
        return tf_fail(x, node, VAS_EINVAL, "needs five inputs");
    scale = chan_const(x, node, 1, tf_val_of(x, x->in[node][0])->ch);
    ch = scale ? scale->count : 0;
    offset = scale ? chan_const(x, node, 2, ch) : NULL;
    if (!training && offset) {
        mean = chan_const(x, node, 3, ch);
        var = mean ? chan_const(x, node, 4, ch) : NULL;
    }
    if (!offset || (!training && !var) || (v = tf_rt(x, node, 0)) < 0)
        return nn_build_error(x->b, NULL);
    if (training)
        out = nn_build_groupnorm(x->b, tf_name(x, node), v, (int)ch, scale, offset, eps);
    else
        out = nn_build_bn(x->b, tf_name(x, node), v, scale, offset, mean, var, eps);
    tf_set_rt(x, node, 0, out, (int)ch);
    return nn_build_error(x->b, NULL);
}

static int op_mean(tf_ctx *x, int node)
{
    const tf_val *ax = x->n_in[node] == 2 ? tf_val_of(x, x->in[node][1]) : NULL;
    int seen[4] = {0, 0, 0, 0}, v;

    for (int64_t i = 0; ax && ax->kind == TV_CONST && i < ax->c->count; i++) {
        int64_t a = nn_const_geti(ax->c, i);
        a = a < 0 ? a + 4 : a;
        if (a >= 0 && a < 4)
            seen[a]++;
    }
    if (!ax || ax->kind != TV_CONST || ax->c->count != 2 || seen[1] != 1 || seen[2] != 1 ||
        !tf_attr_bool(x, node, "keep_dims", 0))
        return tf_fail(x, node, VAS_EUNSUPPORTED,
                       "only a mean over H and W with keep_dims is supported");
    v = tf_rt(x, node, 0);
    if (v < 0)
        return v;
    tf_set_rt(x, node, 0, nn_build_gap(x->b, tf_name(x, node), v),
              tf_val_of(x, x->in[node][0])->ch);
    return nn_build_error(x->b, NULL);
}

static int op_concat(tf_ctx *x, int node)
{
    int n = x->n_in[node] - 1, ch = 0, out, *vs;
    const tf_val *ax = n >= 1 ? tf_val_of(x, x->in[node][n]) : NULL;
    static const int64_t map[4] = {0, 2, 3, 1}; /* NHWC axis -> NCHW axis */
    int64_t a;

    if (n < 1 || !ax || ax->kind != TV_CONST || ax->c->count != 1)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "needs inputs and a constant axis");
    a = nn_const_geti(ax->c, 0);
    a = a < 0 ? a + 4 : a;
    if (a < 1 || a > 3)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "only H, W or channel concatenation");
    vs = calloc((size_t)n, sizeof(int));
    if (!vs)
        return nn_build_fail(x->b, VAS_ENOMEM, "out of memory reading '%s'", tf_name(x, node));
    for (int i = 0; i < n; i++) {
        const tf_val *t = tf_val_of(x, x->in[node][i]);
        vs[i] = tf_rt(x, node, i);
        ch = a == 3 ? (ch < 0 || t->ch < 0 ? -1 : ch + t->ch) : t->ch;
        if (vs[i] < 0) {
            int rc = vs[i];
            free(vs);
            return rc;
        }
    }
    out = nn_build_node(x->b, "Concat", tf_name(x, node), vs, n);
    nn_build_attr_int(x->b, "axis", map[a]);
    free(vs);
    tf_set_rt(x, node, 0, out, ch);
    return nn_build_error(x->b, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------------- */
typedef struct op_entry {
    const char *op;
    int (*fn)(tf_ctx *x, int node);
    int min_in; /* inputs the translation reads without checking: fewer is refused first */
} op_entry;

static const op_entry ops[] = {
    {"Placeholder", op_placeholder, 0},
    {"Const", op_const, 0},
    {"Conv2D", tf_op_conv, 2},
    {"DepthwiseConv2dNative", tf_op_conv, 2},
    {"Conv2DBackpropInput", tf_op_deconv, 3},
    {"BatchToSpaceND", tf_op_atrous, 3},
    {"BiasAdd", tf_op_biasadd, 2},
    {"Add", op_binary, 2},
    {"AddV2", op_binary, 2},
    {"Sub", op_binary, 2},
    {"Mul", op_binary, 2},
    {"RealDiv", op_binary, 2},
    {"Relu", op_unary, 1},
    {"Relu6", op_unary, 1},
    {"LeakyRelu", op_unary, 1},
    {"Sigmoid", op_unary, 1},
    {"swish_f32", op_unary, 1},
    {"FusedBatchNorm", op_batchnorm, 5},
    {"FusedBatchNormV2", op_batchnorm, 5},
    {"FusedBatchNormV3", op_batchnorm, 5},
    {"Mean", op_mean, 1},
    {"ConcatV2", op_concat, 2},
    {"Pad", tf_op_pad, 1},
    {"PadV2", tf_op_pad, 1},
    {"MaxPool", tf_op_pool, 1},
    {"AvgPool", tf_op_pool, 1},
};

int tf_translate(tf_ctx *x, int node)
{
    const char *op = tf_op(x, node);

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (!strcmp(op, ops[i].op)) {
            int rc = x->n_in[node] < ops[i].min_in
                         ? tf_fail(x, node, VAS_EINVAL, "has too few inputs")
                         : ops[i].fn(x, node);
            return rc < 0 ? rc : nn_build_error(x->b, NULL);
        }
    return nn_build_fail(x->b, VAS_EUNSUPPORTED,
                         "node '%s' uses TensorFlow op '%s', which vas does not implement",
                         tf_name(x, node), op);
}
