/* nn_shape.c - shapes of every value at one input size, and static folding of the shape
 * computations exporters leave in graphs (Shape -> Gather -> Mul -> Concat -> Resize sizes).
 *
 * DESIGN. One pass in node order. A node whose inputs are all constant is computed here, on
 * the CPU, if it is one of the folding operators; any other node is a runtime node, and every
 * input it reads as a parameter (weights, scales, sizes, axes, a shape) must be constant by now,
 * otherwise the model is refused: vas never computes shapes while frames run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_int.h"

typedef struct sctx {
    const nn_graph *g;
    nn_tval *tv;
    const nn_node *n;
    vas_err *e;
} sctx;

static int refuse(sctx *x, const char *what)
{
    return err_set(x->e, VAS_EUNSUPPORTED, "node '%s' (%s): %s", x->n->name, x->n->op_type, what);
}

static const nn_tval *in(sctx *x, int i)
{
    return i < x->n->n_in && x->n->in[i] >= 0 ? &x->tv[x->n->in[i]] : NULL;
}

static const nn_const *cin(sctx *x, int i)
{
    const nn_tval *t = in(x, i);
    return t ? t->c : NULL;
}

static nn_tval *out(sctx *x, int i)
{
    return &x->tv[x->n->out[i]];
}

static void set_dims(nn_tval *t, int ndims, const int64_t *dims)
{
    t->ndims = ndims;
    memcpy(t->dims, dims, (size_t)ndims * sizeof(int64_t));
}

/* Output 0 becomes the constant c (taken). */
static int set_const(sctx *x, nn_const *c)
{
    nn_tval *t = out(x, 0);

    if (!c)
        return err_set(x->e, VAS_ENOMEM, "out of memory folding '%s'", x->n->name);
    t->own = c;
    t->c = c;
    set_dims(t, c->ndims, c->dims);
    return VAS_OK;
}

static int axis_norm(int64_t a, int rank, int64_t *outp)
{
    if (a < 0)
        a += rank;
    if (a < 0 || a >= rank)
        return -1;
    *outp = a;
    return 0;
}

/* ---- Broadcasting (ONNX multidirectional) ---- */
static int bcast_dims(const nn_tval *a, const nn_tval *b, int *nd, int64_t *dims)
{
    *nd = a->ndims > b->ndims ? a->ndims : b->ndims;
    if (*nd > NN_MAX_DIMS || *nd < 0)
        return -1;
    for (int i = 0; i < *nd; i++) {
        int ia = i - (*nd - a->ndims), ib = i - (*nd - b->ndims);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return -1;
        dims[i] = da == 1 ? db : da;
    }
    return 0;
}

/* Index into c (dims right-aligned to nd) of the flat output index i over dims. */
static int64_t bcast_index(const nn_const *c, int nd, const int64_t *dims, int64_t i)
{
    int64_t idx = 0, stride = 1;

    for (int k = (nd < NN_MAX_DIMS ? nd : NN_MAX_DIMS) - 1; k >= 0; k--) {
        int64_t pos = dims[k] ? i % dims[k] : 0;
        int kc = k - (nd - c->ndims);
        i = dims[k] ? i / dims[k] : 0;
        if (kc >= 0 && kc < c->ndims) {
            if (c->dims[kc] != 1)
                idx += pos * stride;
            stride *= c->dims[kc];
        }
    }
    return idx;
}

static int fold_arith(sctx *x)
{
    const nn_const *a = cin(x, 0), *b = cin(x, 1);
    int nd, isf = a->dtype == NN_F32 || b->dtype == NN_F32;
    int64_t dims[NN_MAX_DIMS];
    nn_const *c;

    if (bcast_dims(in(x, 0), in(x, 1), &nd, dims) < 0)
        return refuse(x, "operand shapes do not broadcast");
    c = nn_const_new(isf ? NN_F32 : NN_I64, nd, dims);
    for (int64_t i = 0; c && i < c->count; i++) {
        int64_t ia = bcast_index(a, nd, dims, i), ib = bcast_index(b, nd, dims, i);
        double va = nn_const_getf(a, ia), vb = nn_const_getf(b, ib), r;
        int64_t la = nn_const_geti(a, ia), lb = nn_const_geti(b, ib), l;
        switch (x->n->op) {
        case NN_OP_ADD:
            r = va + vb;
            l = (int64_t)((uint64_t)la + (uint64_t)lb); /* integers wrap (no UB) */
            break;
        case NN_OP_SUB:
            r = va - vb;
            l = (int64_t)((uint64_t)la - (uint64_t)lb);
            break;
        case NN_OP_MUL:
            r = va * vb;
            l = (int64_t)((uint64_t)la * (uint64_t)lb);
            break;
        default:
            if (!isf && lb == 0) {
                nn_const_free(c);
                return refuse(x, "integer division by zero");
            }
            r = va / vb;
            l = isf ? 0 : lb == -1 ? (int64_t)(0 - (uint64_t)la) : la / lb;
            break;
        }
        if (isf)
            ((float *)c->data)[i] = (float)r;
        else
            ((int64_t *)c->data)[i] = l;
    }
    return set_const(x, c);
}

/* ---- Shape-only operators ---- */
static int fold_shape(sctx *x)
{
    const nn_tval *t = in(x, 0);
    int64_t r = t->ndims, s, e2;
    nn_const *c;

    s = nn_attr_int(x->n, "start", 0);
    e2 = nn_attr_int(x->n, "end", r);
    s = s < 0 ? s + r : s;
    e2 = e2 < 0 ? e2 + r : e2;
    s = s < 0 ? 0 : s > r ? r : s;
    e2 = e2 < s ? s : e2 > r ? r : e2;
    r = e2 - s;
    c = nn_const_new(NN_I64, 1, &r);
    for (int64_t i = 0; c && i < r; i++)
        ((int64_t *)c->data)[i] = t->dims[s + i];
    return set_const(x, c);
}

static int fold_gather(sctx *x)
{
    const nn_const *d = cin(x, 0), *ix = cin(x, 1);
    int64_t axis, dims[NN_MAX_DIMS], outer = 1, inner = 1;
    int nd = 0;
    nn_const *c;

    if (axis_norm(nn_attr_int(x->n, "axis", 0), d->ndims, &axis) < 0 ||
        d->ndims + ix->ndims - 1 > NN_MAX_DIMS)
        return refuse(x, "bad axis");
    for (int i = 0; i < axis; i++)
        outer *= (dims[nd++] = d->dims[i]);
    for (int i = 0; i < ix->ndims; i++)
        dims[nd++] = ix->dims[i];
    for (int i = (int)axis + 1; i < d->ndims; i++)
        inner *= (dims[nd++] = d->dims[i]);
    c = nn_const_new(d->dtype, nd, dims);
    for (int64_t o = 0, k = 0; c && o < outer; o++)
        for (int64_t j = 0; j < ix->count; j++) {
            int64_t at = nn_const_geti(ix, j);
            at = at < 0 ? at + d->dims[axis] : at;
            if (at < 0 || at >= d->dims[axis]) {
                nn_const_free(c);
                return refuse(x, "index out of range");
            }
            for (int64_t q = 0; q < inner; q++, k++) {
                int64_t src = (o * d->dims[axis] + at) * inner + q;
                if (d->dtype == NN_F32)
                    ((float *)c->data)[k] = ((float *)d->data)[src];
                else
                    ((int64_t *)c->data)[k] = ((int64_t *)d->data)[src];
            }
        }
    return set_const(x, c);
}

/* Axes from the `axes` attribute (opset < 13) or the second input; count or -1. */
static int get_axes(sctx *x, int64_t *axes)
{
    const nn_const *a = cin(x, 1);
    int n = nn_attr_ints(x->n, "axes", axes, NN_MAX_DIMS);

    if (n)
        return n <= NN_MAX_DIMS ? n : -1;
    if (!a)
        return in(x, 1) ? -1 : 0;
    if (a->count > NN_MAX_DIMS)
        return -1;
    for (int64_t i = 0; i < a->count; i++)
        axes[i] = nn_const_geti(a, i);
    return (int)a->count;
}

static int64_t elems(const nn_tval *t)
{
    int64_t total = 1;

    for (int i = 0; i < t->ndims; i++)
        total *= t->dims[i];
    return total;
}

static int flatten_dims(sctx *x, int *nd, int64_t *dims)
{
    const nn_tval *t = in(x, 0);
    int64_t a;

    if (axis_norm(nn_attr_int(x->n, "axis", 1), t->ndims + 1, &a) < 0)
        return refuse(x, "bad axis");
    dims[0] = 1;
    for (int i = 0; i < a; i++)
        dims[0] *= t->dims[i];
    dims[1] = elems(t) / (dims[0] ? dims[0] : 1);
    *nd = 2;
    return VAS_OK;
}

/* Reshape's target: 0 copies the input's dim, one -1 takes what is left. */
static int reshape_target(sctx *x, int *nd, int64_t *dims)
{
    const nn_tval *t = in(x, 0);
    const nn_const *s = cin(x, 1);
    int64_t known = 1;
    int neg = -1;

    if (!s)
        return refuse(x, "the target shape is computed at run time (not supported)");
    if (s->count > NN_MAX_DIMS)
        return refuse(x, "too many dims");
    for (int i = 0; i < s->count; i++) {
        dims[i] = nn_const_geti(s, i);
        if (dims[i] == 0 && i < t->ndims)
            dims[i] = t->dims[i];
        if (dims[i] == -1)
            neg = i;
        else
            known *= dims[i];
    }
    if (neg >= 0)
        dims[neg] = known ? elems(t) / known : 0;
    *nd = (int)s->count;
    return VAS_OK;
}

static int has_axis(const int64_t *axes, int na, int i, int rank)
{
    for (int j = 0; j < na; j++)
        if (axes[j] == i || (axes[j] < 0 && axes[j] + rank == i)) /* no overflow at INT64_MAX */
            return 1;
    return 0;
}

/* New shape of Reshape/Flatten/Squeeze/Unsqueeze into *nd, dims. */
static int reshape_dims(sctx *x, int *nd, int64_t *dims)
{
    const nn_tval *t = in(x, 0);
    int64_t axes[NN_MAX_DIMS];
    int na, k = 0;

    if (x->n->op == NN_OP_FLATTEN)
        return flatten_dims(x, nd, dims);
    if (x->n->op == NN_OP_RESHAPE)
        return reshape_target(x, nd, dims);
    na = get_axes(x, axes);
    if (na < 0)
        return refuse(x, "axes are computed at run time (not supported)");
    if (x->n->op == NN_OP_SQUEEZE) {
        for (int i = 0; i < t->ndims; i++)
            if (!(na ? has_axis(axes, na, i, t->ndims) : t->dims[i] == 1))
                dims[k++] = t->dims[i];
        *nd = k;
        return VAS_OK;
    }
    *nd = t->ndims + na; /* Unsqueeze */
    if (*nd > NN_MAX_DIMS)
        return refuse(x, "too many dims");
    for (int i = 0, src = 0; i < *nd; i++)
        dims[i] = has_axis(axes, na, i, *nd) ? 1 : t->dims[src++];
    return VAS_OK;
}

static int fold_reshape(sctx *x)
{
    int64_t dims[NN_MAX_DIMS];
    int nd, rc = reshape_dims(x, &nd, dims);
    const nn_const *d = cin(x, 0);
    nn_const *c;

    if (rc < 0)
        return rc;
    c = nn_const_new(d->dtype, nd, dims);
    if (c && c->count != d->count) {
        nn_const_free(c);
        return refuse(x, "element count changes");
    }
    if (c)
        memcpy(c->data, d->data, (size_t)d->count * 8 / (d->dtype == NN_F32 ? 2 : 1));
    return set_const(x, c);
}

static int fold_concat(sctx *x)
{
    const nn_const *a = cin(x, 0);
    int64_t axis, dims[NN_MAX_DIMS], outer = 1, inner = 1, off = 0;
    nn_const *c;

    if (axis_norm(nn_attr_int(x->n, "axis", 0), a->ndims, &axis) < 0)
        return refuse(x, "bad axis");
    memcpy(dims, a->dims, sizeof(dims));
    dims[axis] = 0;
    for (int i = 0; i < x->n->n_in; i++) { /* the copy below reads every input by a's shape */
        for (int k = 0; k < a->ndims; k++)
            if (cin(x, i)->ndims != a->ndims || (k != axis && cin(x, i)->dims[k] != a->dims[k]))
                return refuse(x, "inputs differ in rank or in shape outside the axis");
        dims[axis] += cin(x, i)->dims[axis];
    }
    for (int i = 0; i < axis; i++)
        outer *= dims[i];
    for (int i = (int)axis + 1; i < a->ndims; i++)
        inner *= dims[i];
    c = nn_const_new(a->dtype, a->ndims, dims);
    for (int i = 0; c && i < x->n->n_in; i++) {
        const nn_const *s = cin(x, i);
        int64_t len = s->dims[axis] * inner;
        if (s->ndims != a->ndims || s->dtype != a->dtype) {
            nn_const_free(c);
            return refuse(x, "inputs differ in rank or type");
        }
        for (int64_t o = 0; o < outer; o++)
            for (int64_t q = 0; q < len; q++) {
                int64_t d = o * dims[axis] * inner + off + q;
                if (a->dtype == NN_F32)
                    ((float *)c->data)[d] = ((float *)s->data)[o * len + q];
                else
                    ((int64_t *)c->data)[d] = ((int64_t *)s->data)[o * len + q];
            }
        off += len;
    }
    return set_const(x, c);
}

/* Start, step and length of one sliced axis, clamped as the Slice text says. */
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void slice_axis(int64_t dim, int64_t s0, int64_t e0, int64_t k, int64_t *b, int64_t *len)
{
    s0 = s0 < 0 ? s0 + dim : s0;
    e0 = e0 < 0 ? e0 + dim : e0;
    if (k > 0) {
        s0 = clamp64(s0, 0, dim);
        e0 = clamp64(e0, 0, dim);
        *len = e0 > s0 ? (e0 - s0 + k - 1) / k : 0;
    } else {
        s0 = clamp64(s0, -1, dim - 1);
        e0 = clamp64(e0, -1, dim - 1);
        *len = s0 > e0 ? (s0 - e0 - k - 1) / -k : 0;
    }
    *b = s0;
}

static void slice_copy(const nn_const *d, nn_const *c, const int64_t *b, const int64_t *step)
{
    for (int64_t i = 0; i < c->count; i++) {
        int64_t r = i, src = 0, stride = 1;
        for (int k = d->ndims - 1; k >= 0; k--) {
            int64_t len = c->dims[k] ? c->dims[k] : 1;
            src += (b[k] + (r % len) * step[k]) * stride;
            r /= len;
            stride *= d->dims[k];
        }
        if (d->dtype == NN_F32)
            ((float *)c->data)[i] = ((float *)d->data)[src];
        else
            ((int64_t *)c->data)[i] = ((int64_t *)d->data)[src];
    }
}

static int fold_slice(sctx *x)
{
    const nn_const *d = cin(x, 0), *st = cin(x, 1), *en = cin(x, 2), *ax = cin(x, 3),
                   *sp = cin(x, 4);
    int64_t b[NN_MAX_DIMS] = {0}, step[NN_MAX_DIMS], dims[NN_MAX_DIMS];
    nn_const *c;

    if (!st || !en || (in(x, 3) && !ax) || (in(x, 4) && !sp))
        return refuse(x, "slice bounds are computed at run time (not supported)");
    memcpy(dims, d->dims, sizeof(dims));
    for (int i = 0; i < NN_MAX_DIMS; i++)
        step[i] = 1;
    for (int64_t i = 0; i < st->count && i < en->count; i++) {
        int64_t a, k = sp ? nn_const_geti(sp, i) : 1;
        if (axis_norm(ax ? nn_const_geti(ax, i) : i, d->ndims, &a) < 0 || k == 0)
            return refuse(x, "bad axes or steps");
        slice_axis(d->dims[a], nn_const_geti(st, i), nn_const_geti(en, i), k, &b[a], &dims[a]);
        step[a] = k;
    }
    c = nn_const_new(d->dtype, d->ndims, dims);
    if (c)
        slice_copy(d, c, b, step);
    return set_const(x, c);
}

static int fold_unary(sctx *x)
{
    const nn_const *d = cin(x, 0);
    int op = x->n->op;
    int to = op == NN_OP_CAST ? (int)nn_attr_int(x->n, "to", 1) : d->dtype;
    nn_const *c = nn_const_new(to == 1 || to == 11 ? NN_F32 : NN_I64, d->ndims, d->dims);

    for (int64_t i = 0; c && i < d->count; i++) {
        double v = nn_const_getf(d, i);
        if (op == NN_OP_FLOOR)
            v = floor(v);
        else if (op == NN_OP_CEIL)
            v = ceil(v);
        if (c->dtype == NN_F32)
            ((float *)c->data)[i] = (float)v;
        else
            ((int64_t *)c->data)[i] = d->dtype == NN_I64 ? nn_const_geti(d, i) : (int64_t)v;
    }
    return set_const(x, c);
}

/* A node whose inputs are all constant. all_const passes empty ("") inputs: the ones the fold
 * reads (0; 1 for two operands; all for Concat) are refused here. */
static int fold_node(sctx *x)
{
    int op = x->n->op, need = op == NN_OP_GATHER || (op >= NN_OP_ADD && op <= NN_OP_DIV) ? 2 : 1;
    for (int i = 0; i < need || (op == NN_OP_CONCAT && i < x->n->n_in); i++)
        if (!in(x, i))
            return refuse(x, "a required input is empty");
    switch (x->n->op) {
    case NN_OP_SHAPE:
        return fold_shape(x);
    case NN_OP_GATHER:
        return fold_gather(x);
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_DIV:
        return fold_arith(x);
    case NN_OP_UNSQUEEZE:
    case NN_OP_SQUEEZE:
    case NN_OP_RESHAPE:
    case NN_OP_FLATTEN:
        return fold_reshape(x);
    case NN_OP_CONCAT:
        return fold_concat(x);
    case NN_OP_SLICE:
        return fold_slice(x);
    case NN_OP_CAST:
    case NN_OP_FLOOR:
    case NN_OP_CEIL:
        return fold_unary(x);
    case NN_OP_IDENTITY:
    case NN_OP_DROPOUT:
        out(x, 0)->c = cin(x, 0);
        set_dims(out(x, 0), cin(x, 0)->ndims, cin(x, 0)->dims);
        return VAS_OK;
    default:
        return refuse(x, "all inputs are constant; vas only folds shape computations");
    }
}

/* ---- Runtime nodes ---- */
static int shape_conv(sctx *x)
{
    const nn_tval *t = in(x, 0);
    const nn_const *w = cin(x, 1), *b = cin(x, 2);
    int64_t dims[4];
    nn_geom gm;
    int rc;

    if (!w || w->ndims != 4 || w->dtype != NN_F32 || (in(x, 2) && !b))
        return refuse(x, "weights and bias must be constant float32 with 4-D weights");
    if (t->ndims != 4)
        return refuse(x, "only N x C x H x W inputs are supported");
    rc = nn_geom_get(x->n, t->dims, w->dims, &gm, x->e);
    if (rc < 0)
        return rc;
    if (gm.group <= 0 || t->dims[1] % gm.group ||
        (x->n->op == NN_OP_CONV ? w->dims[1] * gm.group : w->dims[0]) != t->dims[1])
        return refuse(x, "weights do not match the input channels and group");
    dims[0] = t->dims[0];
    dims[1] = x->n->op == NN_OP_CONV ? w->dims[0] : w->dims[1] * gm.group;
    dims[2] = gm.out[0];
    dims[3] = gm.out[1];
    if (b && b->count != dims[1])
        return refuse(x, "bias does not match the output channels");
    set_dims(out(x, 0), 4, dims);
    return VAS_OK;
}

static int shape_resize(sctx *x)
{
    const nn_tval *t = in(x, 0);
    int up = x->n->op == NN_OP_UPSAMPLE;
    const nn_const *sc = cin(x, up ? 1 : 2), *sz = up ? NULL : cin(x, 3);
    int64_t dims[4];

    if (t->ndims != 4)
        return refuse(x, "only N x C x H x W inputs are supported");
    if ((!sc || !sc->count) && !sz)
        return refuse(x, "scales or sizes are computed at run time (not supported)");
    for (int i = 0; i < 4; i++) {
        double v = sc && sc->count == 4 ? floor(t->dims[i] * nn_const_getf(sc, i) + 1e-6) : -1;
        if (!(sz && sz->count == 4) && !(fabs(v) <= INT32_MAX)) /* NaN: no int64 */
            return refuse(x, "a scale is not finite or gives a side over 2^31");
        dims[i] = sz && sz->count == 4 ? nn_const_geti(sz, i) : (int64_t)v;
    }
    if (dims[0] != t->dims[0] || dims[1] != t->dims[1] || dims[2] <= 0 || dims[3] <= 0)
        return refuse(x, "only H and W can be resized (4 scales or sizes, N and C kept)");
    set_dims(out(x, 0), 4, dims);
    return VAS_OK;
}

static int shape_concat(sctx *x)
{
    const nn_tval *a = in(x, 0);
    int64_t axis, dims[NN_MAX_DIMS];

    if (axis_norm(nn_attr_int(x->n, "axis", 0), a->ndims, &axis) < 0)
        return refuse(x, "bad axis");
    set_dims(out(x, 0), a->ndims, a->dims);
    memcpy(dims, a->dims, sizeof(dims));
    dims[axis] = 0;
    for (int i = 0; i < x->n->n_in; i++) {
        const nn_tval *t = in(x, i);
        if (!t || t->ndims != a->ndims)
            return refuse(x, "inputs differ in rank");
        for (int k = 0; k < a->ndims; k++)
            if (k != axis && t->dims[k] != a->dims[k])
                return refuse(x, "inputs differ in shape outside the axis");
        dims[axis] += t->dims[axis];
    }
    set_dims(out(x, 0), a->ndims, dims);
    return VAS_OK;
}

static int runtime_param(sctx *x, int from)
{
    for (int i = from; i < x->n->n_in; i++)
        if (in(x, i) && !cin(x, i))
            return refuse(x, "a parameter input is computed at run time (not supported)");
    return VAS_OK;
}

/* A node with a runtime input: output shapes only. */
/* The most elements a runtime value may have: 2^36 (256 GiB of float32), far beyond any
 * machine's memory, and small enough that a node's size arithmetic on its inputs' dimensions
 * (a stride of up to 2^20 times one: nn_geom.c) stays within 64 bits. */
#define SHAPE_MAX_ELEMS ((int64_t)1 << 36)

/* Refuses a runtime node whose outputs would be larger than SHAPE_MAX_ELEMS (a chain of
 * ConvTransposes with huge strides overflowed int64 in the next node's sizes). */
static int size_ok(sctx *x)
{
    for (int o = 0; o < x->n->n_out; o++) {
        const nn_tval *t = x->n->out[o] >= 0 ? out(x, o) : NULL;
        int64_t n = 1;
        for (int d = 0; t && d < t->ndims; d++) {
            if (t->dims[d] < 0 || (t->dims[d] > 0 && n > SHAPE_MAX_ELEMS / t->dims[d]))
                return refuse(x, "its output would be too large");
            n *= t->dims[d];
        }
    }
    return VAS_OK;
}

static int shape_node(sctx *x)
{
    const nn_tval *t = in(x, 0);
    int64_t dims[NN_MAX_DIMS];
    int nd, rc, op = x->n->op;

    if (!t || t->ndims < 0) /* absent, or a value no node computes (e.g. a 2nd output) */
        return refuse(x, "missing input");
    switch (op) {
    case NN_OP_CONV:
    case NN_OP_CONVT:
        return shape_conv(x);
    case NN_OP_RESIZE:
    case NN_OP_UPSAMPLE:
        rc = runtime_param(x, 1);
        return rc < 0 ? rc : shape_resize(x);
    case NN_OP_CONCAT:
        return shape_concat(x);
    case NN_OP_ADD:
    case NN_OP_MUL:
    case NN_OP_SUB:
    case NN_OP_DIV:
        if (!in(x, 1) || bcast_dims(t, in(x, 1), &nd, dims) < 0)
            return refuse(x, "operand shapes do not broadcast");
        set_dims(out(x, 0), nd, dims);
        return VAS_OK;
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
    case NN_OP_GAP: {
        nn_geom gm;
        if (t->ndims != 4)
            return refuse(x, "only N x C x H x W inputs are supported");
        rc = nn_geom_get(x->n, t->dims, NULL, &gm, x->e);
        memcpy(dims, t->dims, sizeof(dims));
        dims[2] = gm.out[0];
        dims[3] = gm.out[1];
        set_dims(out(x, 0), 4, dims);
        return rc;
    }
    case NN_OP_BN:
    case NN_OP_RELU:
    case NN_OP_CLIP:
    case NN_OP_LEAKY:
    case NN_OP_SIGMOID:
    case NN_OP_HSIGMOID:
    case NN_OP_HSWISH:
        rc = runtime_param(x, 1);
        set_dims(out(x, 0), t->ndims, t->dims);
        return rc;
    case NN_OP_GROUPNORM: {
        int64_t groups = nn_attr_int(x->n, "num_groups", 0);
        const nn_const *sc = cin(x, 1), *bi = cin(x, 2);
        if (t->ndims != 4)
            return refuse(x, "only N x C x H x W inputs are supported");
        if (groups < 1 || t->dims[1] % groups)
            return refuse(x, "num_groups must divide the channel count");
        if (!sc || !bi || sc->dtype != NN_F32 || bi->dtype != NN_F32 || sc->count != t->dims[1] ||
            bi->count != t->dims[1])
            return refuse(x, "scale and bias must be constant floats, one per channel");
        set_dims(out(x, 0), 4, t->dims);
        return VAS_OK;
    }
    case NN_OP_IDENTITY:
    case NN_OP_DROPOUT:
        set_dims(out(x, 0), t->ndims, t->dims);
        out(x, 0)->alias = x->n->in[0];
        return VAS_OK;
    case NN_OP_RESHAPE:
    case NN_OP_FLATTEN:
    case NN_OP_SQUEEZE:
    case NN_OP_UNSQUEEZE:
        rc = reshape_dims(x, &nd, dims);
        if (rc < 0)
            return rc;
        if (nd != t->ndims || memcmp(dims, t->dims, (size_t)nd * sizeof(int64_t)) != 0)
            return refuse(x, "changing the shape of a runtime tensor is not supported");
        set_dims(out(x, 0), nd, dims);
        out(x, 0)->alias = x->n->in[0];
        return VAS_OK;
    default:
        return refuse(x, "its input is computed at run time; vas only runs this operator on "
                         "constant (shape) inputs");
    }
}

static int all_const(sctx *x)
{
    int any = 0;

    for (int i = 0; i < x->n->n_in; i++) {
        if (x->n->in[i] < 0)
            continue;
        if (!x->tv[x->n->in[i]].c)
            return 0;
        any = 1;
    }
    return any;
}

void nn_shapes_free(nn_tval *t, int n_vals)
{
    if (!t)
        return;
    for (int i = 0; i < n_vals; i++)
        nn_const_free(t[i].own);
    free(t);
}

int nn_shapes(const nn_graph *g, int n, int h, int w, nn_tval **outp, vas_err *e)
{
    nn_tval *tv = calloc((size_t)g->n_vals + 1, sizeof(*tv));
    sctx x = {g, tv, NULL, e};
    int rc = VAS_OK;

    if (!tv)
        return err_set(e, VAS_ENOMEM, "out of memory planning shapes");
    for (int i = 0; i < g->n_vals; i++) {
        tv[i].alias = -1;
        tv[i].ndims = -1;
        if (g->vals[i].c) {
            tv[i].c = g->vals[i].c;
            set_dims(&tv[i], g->vals[i].c->ndims, g->vals[i].c->dims);
        }
    }
    int64_t in_dims[4] = {n, g->in_dims[1], h, w};
    set_dims(&tv[g->input], 4, in_dims);
    for (int i = 0; i < g->n_nodes && rc >= 0; i++) {
        x.n = &g->nodes[i];
        if (x.n->op == NN_OP_NONE || x.n->op == NN_OP_CONSTANT)
            continue;
        if (x.n->op == NN_OP_SHAPE || all_const(&x))
            rc = fold_node(&x);
        else if ((rc = shape_node(&x)) >= 0)
            rc = size_ok(&x);
    }
    for (int i = 0; rc >= 0 && i < g->n_outs; i++)
        if (tv[g->outs[i]].c || tv[g->outs[i]].ndims < 0)
            rc = err_set(e, VAS_EUNSUPPORTED, "output '%s' is a constant or never computed",
                         g->vals[g->outs[i]].name);
    if (rc < 0) {
        nn_shapes_free(tv, g->n_vals);
        return rc;
    }
    *outp = tv;
    return VAS_OK;
}
