/* nn_build.c - see nn_build.h. The builder fills an nn_graph exactly as nn_onnx.c does from a
 * file (values, nodes in topological order since each node may only read values made before
 * it), then finishes it with the same checks: operator attributes, BatchNormalization folding
 * and a shape pass. */
#include "nn/nn_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nn_build {
    nn_graph *g; /* owned until finished */
    int cap_nodes;
    nn_node *last; /* the node the attribute calls add to */
    int rc;        /* first error, sticky */
    vas_err err;   /* its message */
};

int nn_build_new(nn_build **out, vas_err *e)
{
    nn_build *b = calloc(1, sizeof(*b));

    if (!b || !(b->g = calloc(1, sizeof(nn_graph)))) {
        free(b);
        return err_set(e, VAS_ENOMEM, "out of memory building a graph");
    }
    b->g->input = -1;
    *out = b;
    return VAS_OK;
}

void nn_build_free(nn_build *b)
{
    if (!b)
        return;
    nn_graph_free(b->g);
    free(b);
}

int nn_build_error(const nn_build *b, vas_err *e)
{
    if (b->rc < 0 && e)
        *e = b->err;
    return b->rc;
}

#undef nn_build_fail
int nn_build_fail(nn_build *b, int code, const char *fmt, ...)
{
    va_list ap;

    if (b->rc < 0)
        return b->rc;
    va_start(ap, fmt);
    vsnprintf(b->err.msg, sizeof(b->err.msg), fmt, ap);
    va_end(ap);
    b->err.code = code;
    b->rc = code;
    return code;
}

static int nomem(nn_build *b)
{
    return nn_build_fail(b, VAS_ENOMEM, "out of memory building a graph");
}

/* Pushes a value; on failure records it. */
static int push(nn_build *b, const char *name, nn_const *c)
{
    vas_err e = {0};
    int v;

    if (b->rc < 0) {
        nn_const_free(c);
        return b->rc;
    }
    v = nn_value_push(b->g, name, c, &e);
    return v < 0 ? nomem(b) : v;
}

int nn_build_input(nn_build *b, const char *name, int channels)
{
    nn_graph *g = b->g;
    int v;

    if (b->rc < 0)
        return b->rc;
    if (g->input >= 0 || channels < 1)
        return nn_build_fail(b, VAS_EINVAL, "graph input '%s': %s", name,
                             g->input >= 0 ? "a second input" : "no channels");
    v = push(b, name, NULL);
    if (v < 0)
        return v;
    g->input = v;
    g->in_ndims = 4;
    g->in_dims[0] = -1;
    g->in_dims[1] = channels;
    g->in_dims[2] = g->in_dims[3] = -1;
    return v;
}

int nn_build_const(nn_build *b, const char *name, nn_const *c)
{
    if (!c && b->rc >= 0)
        return nomem(b);
    return push(b, name, c);
}

int nn_build_constf(nn_build *b, const char *name, int ndims, const int64_t *dims,
                    const float *data)
{
    nn_const *c;

    if (b->rc < 0)
        return b->rc;
    if (ndims < 0 || ndims > NN_MAX_DIMS)
        return nn_build_fail(b, VAS_EINVAL, "constant '%s': %d dimensions", name, ndims);
    c = nn_const_new(NN_F32, ndims, dims);
    if (!c)
        return nomem(b);
    memcpy(c->data, data, (size_t)c->count * sizeof(float));
    return push(b, name, c);
}

static int copy_const(nn_build *b, const char *name, const char *suffix, const nn_const *src)
{
    char buf[512];
    nn_const *c;

    if (b->rc < 0)
        return b->rc;
    if (!src)
        return -1; /* an omitted optional input */
    c = nn_const_new(src->dtype, src->ndims, src->dims);
    if (!c)
        return nomem(b);
    memcpy(c->data, src->data, (size_t)c->count * (src->dtype == NN_F32 ? 4 : 8));
    snprintf(buf, sizeof(buf), "%s%s", name, suffix);
    return push(b, buf, c);
}

int nn_build_node(nn_build *b, const char *op_type, const char *name, const int *in, int n_in)
{
    nn_graph *g = b->g;
    nn_node *n;
    int v;

    if (b->rc < 0)
        return b->rc;
    for (int i = 0; i < n_in; i++)
        if (in[i] < -1 || in[i] >= g->n_vals)
            return nn_build_fail(b, VAS_EINVAL,
                                 "node '%s' (%s): input %d is not a value made "
                                 "before it",
                                 name, op_type, i);
    if (nn_op_lookup(op_type) == NN_OP_NONE)
        return nn_build_fail(b, VAS_EUNSUPPORTED, "node '%s' (%s): operator not supported by vas",
                             name, op_type);
    if (g->n_nodes == b->cap_nodes) {
        int cap = b->cap_nodes ? b->cap_nodes * 2 : 64;
        nn_node *nodes = realloc(g->nodes, (size_t)cap * sizeof(*nodes));
        if (!nodes)
            return nomem(b);
        g->nodes = nodes;
        b->cap_nodes = cap;
    }
    n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof(*n));
    g->n_nodes++; /* from here nn_graph_free frees what n holds */
    b->last = n;
    n->name = strdup(name);
    n->op_type = strdup(op_type);
    n->op = nn_op_lookup(op_type);
    n->in = malloc(((size_t)n_in + 1) * sizeof(int));
    n->out = malloc(sizeof(int));
    if (!n->name || !n->op_type || !n->in || !n->out)
        return nomem(b);
    memcpy(n->in, in, (size_t)n_in * sizeof(int));
    n->n_in = n_in;
    v = push(b, name, NULL);
    if (v < 0)
        return v;
    n->out[0] = v;
    n->n_out = 1;
    return v;
}

static nn_attr *attr_add(nn_build *b, const char *name, int type)
{
    nn_node *n = b->last;
    nn_attr *a;

    if (b->rc < 0)
        return NULL;
    if (!n) {
        nn_build_fail(b, VAS_EINVAL, "attribute '%s' before any node", name);
        return NULL;
    }
    a = realloc(n->attrs, ((size_t)n->n_attrs + 1) * sizeof(*a));
    if (!a) {
        nomem(b);
        return NULL;
    }
    n->attrs = a;
    a = &n->attrs[n->n_attrs];
    memset(a, 0, sizeof(*a));
    a->type = type;
    a->name = strdup(name);
    if (!a->name) {
        nomem(b);
        return NULL;
    }
    n->n_attrs++;
    return a;
}

int nn_build_attr_int(nn_build *b, const char *name, int64_t v)
{
    nn_attr *a = attr_add(b, name, NN_ATTR_INT);

    if (a)
        a->i = v;
    return b->rc;
}

int nn_build_attr_float(nn_build *b, const char *name, float v)
{
    nn_attr *a = attr_add(b, name, NN_ATTR_FLOAT);

    if (a)
        a->f = v;
    return b->rc;
}

int nn_build_attr_ints(nn_build *b, const char *name, const int64_t *v, int n)
{
    nn_attr *a = attr_add(b, name, NN_ATTR_INTS);

    if (!a)
        return b->rc;
    a->ints = malloc(((size_t)n + 1) * sizeof(int64_t));
    if (!a->ints)
        return nomem(b);
    memcpy(a->ints, v, (size_t)n * sizeof(int64_t));
    a->n_ints = n;
    return b->rc;
}

int nn_build_attr_str(nn_build *b, const char *name, const char *v)
{
    nn_attr *a = attr_add(b, name, NN_ATTR_STRING);

    if (a && !(a->s = strdup(v)))
        return nomem(b);
    return b->rc;
}

/* ---------------------------------------------------------------------------------------------
 * Shorthands
 * ------------------------------------------------------------------------------------------- */
static int conv_like(nn_build *b, const char *op, const char *name, int x, const nn_const *w,
                     const nn_const *bias, int stride, int dilation, const int64_t pads[4],
                     int group)
{
    int in[3];
    int64_t k[2], s[2] = {stride, stride}, d[2] = {dilation, dilation};
    int64_t p[4] = {pads[0], pads[1], pads[2], pads[3]}; /* ONNX order: t, l, b, r */

    if (b->rc < 0)
        return b->rc;
    if (!w || w->ndims != 4 || w->dtype != NN_F32)
        return nn_build_fail(b, VAS_EINVAL, "node '%s': the weight must be a 4-D float tensor",
                             name);
    k[0] = w->dims[2];
    k[1] = w->dims[3];
    in[0] = x;
    in[1] = copy_const(b, name, ".weight", w);
    in[2] = copy_const(b, name, ".bias", bias);
    if (nn_build_node(b, op, name, in, bias ? 3 : 2) < 0)
        return b->rc;
    int v = b->g->n_vals - 1;
    nn_build_attr_ints(b, "kernel_shape", k, 2);
    nn_build_attr_ints(b, "strides", s, 2);
    nn_build_attr_ints(b, "pads", p, 4);
    if (dilation != 1)
        nn_build_attr_ints(b, "dilations", d, 2);
    if (group != 1)
        nn_build_attr_int(b, "group", group);
    return b->rc < 0 ? b->rc : v;
}

int nn_build_conv(nn_build *b, const char *name, int x, const nn_const *w, const nn_const *bias,
                  int stride, int dilation, const int64_t pads[4], int group)
{
    return conv_like(b, "Conv", name, x, w, bias, stride, dilation, pads, group);
}

int nn_build_convt(nn_build *b, const char *name, int x, const nn_const *w, const nn_const *bias,
                   int stride, const int64_t pads[4])
{
    return conv_like(b, "ConvTranspose", name, x, w, bias, stride, 1, pads, 1);
}

int nn_build_bn(nn_build *b, const char *name, int x, const nn_const *scale, const nn_const *bias,
                const nn_const *mean, const nn_const *var, float eps)
{
    int in[5] = {x, copy_const(b, name, ".weight", scale), copy_const(b, name, ".bias", bias),
                 copy_const(b, name, ".running_mean", mean),
                 copy_const(b, name, ".running_var", var)};
    int v;

    if (b->rc >= 0 && (!scale || !bias || !mean || !var))
        return nn_build_fail(b, VAS_EINVAL, "node '%s': BatchNorm needs all four parameters", name);
    v = nn_build_node(b, "BatchNormalization", name, in, 5);
    nn_build_attr_float(b, "epsilon", eps);
    return b->rc < 0 ? b->rc : v;
}

int nn_build_groupnorm(nn_build *b, const char *name, int x, int groups, const nn_const *scale,
                       const nn_const *bias, float eps)
{
    int in[3] = {x, copy_const(b, name, ".weight", scale), copy_const(b, name, ".bias", bias)};
    int v;

    if (b->rc >= 0 && (!scale || !bias))
        return nn_build_fail(b, VAS_EINVAL, "node '%s': GroupNorm needs its weight and bias", name);
    v = nn_build_node(b, "GroupNormalization", name, in, 3);
    nn_build_attr_int(b, "num_groups", groups);
    nn_build_attr_float(b, "epsilon", eps);
    return b->rc < 0 ? b->rc : v;
}

int nn_build_unary(nn_build *b, const char *op_type, const char *name, int x)
{
    return nn_build_node(b, op_type, name, &x, 1);
}

int nn_build_binary(nn_build *b, const char *op_type, const char *name, int x, int y)
{
    int in[2] = {x, y};

    return nn_build_node(b, op_type, name, in, 2);
}

int nn_build_clip(nn_build *b, const char *name, int x, float lo, float hi)
{
    char buf[512];
    int64_t one = 1;
    int in[3] = {x, -1, -1};

    snprintf(buf, sizeof(buf), "%s.min", name);
    in[1] = nn_build_constf(b, buf, 0, &one, &lo);
    snprintf(buf, sizeof(buf), "%s.max", name);
    in[2] = nn_build_constf(b, buf, 0, &one, &hi);
    return nn_build_node(b, "Clip", name, in, 3);
}

int nn_build_maxpool(nn_build *b, const char *name, int x, int k, int s, const int64_t pads[4])
{
    int64_t kk[2] = {k, k}, ss[2] = {s, s}, p[4] = {pads[0], pads[1], pads[2], pads[3]};
    int v = nn_build_node(b, "MaxPool", name, &x, 1);

    nn_build_attr_ints(b, "kernel_shape", kk, 2);
    nn_build_attr_ints(b, "strides", ss, 2);
    nn_build_attr_ints(b, "pads", p, 4);
    return b->rc < 0 ? b->rc : v;
}

int nn_build_upsample(nn_build *b, const char *name, int x, int factor)
{
    char buf[512];
    float sc[4] = {1, 1, (float)factor, (float)factor};
    int64_t four = 4;
    int in[3] = {x, -1, -1}, v;

    snprintf(buf, sizeof(buf), "%s.scales", name);
    in[2] = nn_build_constf(b, buf, 1, &four, sc);
    v = nn_build_node(b, "Resize", name, in, 3);
    nn_build_attr_str(b, "mode", "nearest");
    nn_build_attr_str(b, "coordinate_transformation_mode", "asymmetric");
    nn_build_attr_str(b, "nearest_mode", "floor");
    return b->rc < 0 ? b->rc : v;
}

int nn_build_gap(nn_build *b, const char *name, int x)
{
    return nn_build_node(b, "GlobalAveragePool", name, &x, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Finish
 * ------------------------------------------------------------------------------------------- */
int nn_build_finish(nn_build *b, const int *outs, const char *const *names, int n_outs,
                    nn_graph **out, vas_err *e)
{
    nn_graph *g = b->g;
    int rc = b->rc;

    if (rc >= 0 && g->input < 0)
        rc = nn_build_fail(b, VAS_EINVAL, "the graph has no input");
    if (rc >= 0 && n_outs < 1)
        rc = nn_build_fail(b, VAS_EINVAL, "the graph has no output");
    if (rc >= 0 && !(g->outs = calloc((size_t)n_outs, sizeof(int))))
        rc = nomem(b);
    for (int i = 0; rc >= 0 && i < n_outs; i++) {
        char *nm;
        if (outs[i] < 0 || outs[i] >= g->n_vals)
            rc = nn_build_fail(b, VAS_EINVAL, "output %d is not a value of the graph", i);
        else if (!(nm = strdup(names[i])))
            rc = nomem(b);
        else {
            free(g->vals[outs[i]].name);
            g->vals[outs[i]].name = nm;
            g->outs[g->n_outs++] = outs[i];
        }
    }
    if (rc < 0) {
        nn_build_error(b, e);
        nn_build_free(b);
        return rc;
    }
    for (int i = 0; rc >= 0 && i < g->n_nodes; i++)
        rc = nn_check_attrs(&g->nodes[i], e);
    if (rc >= 0)
        rc = nn_fold_bn(g, e);
    if (rc >= 0)
        rc = nn_check_shapes(g, e);
    b->g = NULL;
    nn_build_free(b);
    if (rc < 0) {
        nn_graph_free(g);
        return rc;
    }
    nn_graph_spill(g);
    *out = g;
    return VAS_OK;
}
