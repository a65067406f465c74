/* nn_tf_eval.c - constants of a frozen graph (TensorProto decoding) and the integer shape
 * arithmetic TensorFlow leaves in it.
 *
 * DESIGN. With the image size left free (DeepLabCut's Placeholder is [?, ?, ?, 3]), TensorFlow
 * computes some operands at run time from Shape: conv2d_transpose's output size
 * (Shape -> StridedSlice -> Mul -> Pack) and the paddings and crops of its atrous convolution
 * (required_space_to_batch_paddings: Add, FloorMod, Sub, Pack ...). The engine wants static
 * geometry, so the loader evaluates such a tensor here as a function of the one tensor whose
 * shape it reads (the subject), at a few trial sizes, and the caller checks that the result
 * follows the static rule it expects (an output size s*h + d, paddings that do not depend on h).
 * Only integer arithmetic on constants and on that Shape is evaluated; anything else is refused
 * naming the node. Steps are budgeted, so a hostile graph cannot make this exponential. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_tf_int.h"

#define TF_MAX_ELEMS    ((int64_t)1 << 31)
#define TF_EVAL_DEPTH   64
#define TF_EVAL_ELEMS   4096          /* largest tensor shape arithmetic may make */
#define TF_RELEASED_TAG (-2147483647) /* version_number of a TensorProto whose bytes we freed */
#define TF_MAX_TYPED                                                                               \
    ((int64_t)1 << 24) /* elements a typed-value (not tensor_content)                              \
                        * constant may fill, its last value repeating */

/* ---------------------------------------------------------------------------------------------
 * TensorProto
 * ------------------------------------------------------------------------------------------- */

static int elem_bytes(int dtype)
{
    switch (dtype) {
    case TF_FLOAT:
    case TF_INT32:
        return 4;
    case TF_DOUBLE:
    case TF_INT64:
        return 8;
    case TF_HALF:
        return 2;
    case TF_BOOL:
        return 1;
    default:
        return 0;
    }
}

/* Element i of the raw little-endian bytes p of type dtype, as double. */
static double raw_at(const uint8_t *p, int dtype, int64_t i)
{
    float f;
    double d;
    int32_t i32;
    int64_t i64;
    uint16_t h;

    switch (dtype) {
    case TF_FLOAT:
        memcpy(&f, p + i * 4, 4);
        return f;
    case TF_DOUBLE:
        memcpy(&d, p + i * 8, 8);
        return d;
    case TF_INT32:
        memcpy(&i32, p + i * 4, 4);
        return i32;
    case TF_INT64:
        memcpy(&i64, p + i * 8, 8);
        return (double)i64;
    case TF_HALF:
        memcpy(&h, p + i * 2, 2);
        return nn_half_to_float(h);
    default:
        return p[i] != 0;
    }
}

/* Element i of the typed repeated field of tp (the last one repeats, as TensorFlow reads it). */
static double typed_at(const Vastf__TensorProto *tp, int dtype, int64_t i, size_t n)
{
    size_t k = (size_t)i < n ? (size_t)i : n - 1;

    switch (dtype) {
    case TF_FLOAT:
        return tp->float_val[k];
    case TF_DOUBLE:
        return tp->double_val[k];
    case TF_INT32:
        return tp->int_val[k];
    case TF_INT64:
        return (double)tp->int64_val[k];
    case TF_HALF:
        return nn_half_to_float((uint16_t)tp->half_val[k]);
    default:
        return tp->bool_val[k] != 0;
    }
}

static size_t typed_count(const Vastf__TensorProto *tp, int dtype)
{
    switch (dtype) {
    case TF_FLOAT:
        return tp->n_float_val;
    case TF_DOUBLE:
        return tp->n_double_val;
    case TF_INT32:
        return tp->n_int_val;
    case TF_INT64:
        return tp->n_int64_val;
    case TF_HALF:
        return tp->n_half_val;
    default:
        return tp->n_bool_val;
    }
}

static int tensor_dims(tf_ctx *x, int node, const Vastf__TensorProto *tp, int64_t *dims, int *ndims,
                       int64_t *count)
{
    const Vastf__TensorShapeProto *sh = tp->tensor_shape;

    *ndims = sh ? (int)sh->n_dim : 0;
    *count = 1;
    if (*ndims > NN_MAX_DIMS)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "a constant has %d dimensions", *ndims);
    for (int i = 0; i < *ndims; i++) {
        dims[i] = sh->dim[i]->size;
        if (dims[i] < 0 || (dims[i] && *count > TF_MAX_ELEMS / dims[i]))
            return tf_fail(x, node, VAS_EINVAL, "a constant has a bad shape");
        *count *= dims[i];
    }
    return VAS_OK;
}

nn_const *tf_tensor_decode(tf_ctx *x, int node, Vastf__TensorProto *tp, int keep)
{
    int dtype = tp ? tp->dtype : 0, eb = elem_bytes(dtype), ndims;
    int64_t dims[NN_MAX_DIMS], count;
    size_t nt;
    nn_const *c;

    if (!tp || !eb) {
        tf_fail(x, node, VAS_EUNSUPPORTED,
                "holds a constant of TensorFlow type %d, which vas does not read", dtype);
        return NULL;
    }
    if (tp->version_number == TF_RELEASED_TAG) {
        tf_fail(x, node, VAS_EINVAL, "a constant was read after its data was released");
        return NULL;
    }
    if (tensor_dims(x, node, tp, dims, &ndims, &count) < 0)
        return NULL;
    nt = typed_count(tp, dtype);
    if (!tp->tensor_content.len && count > TF_MAX_TYPED) {
        tf_fail(x, node, VAS_ETOOBIG, "a constant of %lld repeated values is too big",
                (long long)count);
        return NULL;
    }
    if ((tp->tensor_content.len && tp->tensor_content.len != (size_t)count * (size_t)eb) ||
        (!tp->tensor_content.len && nt > (size_t)count)) {
        tf_fail(x, node, VAS_EINVAL, "a constant's data does not match its shape");
        return NULL;
    }
    c = nn_const_new(dtype == TF_FLOAT || dtype == TF_HALF || dtype == TF_DOUBLE ? NN_F32 : NN_I64,
                     ndims, dims);
    if (!c) {
        nn_build_fail(x->b, VAS_ENOMEM, "out of memory reading constant '%s'", tf_name(x, node));
        return NULL;
    }
    for (int64_t i = 0; i < count && (tp->tensor_content.len || nt); i++) {
        double v = tp->tensor_content.len ? raw_at(tp->tensor_content.data, dtype, i)
                                          : typed_at(tp, dtype, i, nt);
        if (c->dtype == NN_F32)
            ((float *)c->data)[i] = (float)v;
        else
            ((int64_t *)c->data)[i] = (int64_t)v;
    }
    if (!keep && count >= 1024) {
        /* The weights now live in c: give their bytes back (the default allocator is malloc). */
        free(tp->tensor_content.data);
        tp->tensor_content.data = NULL;
        tp->tensor_content.len = 0;
        tp->version_number = TF_RELEASED_TAG;
    }
    return c;
}

/* ---------------------------------------------------------------------------------------------
 * Integer evaluation
 * ------------------------------------------------------------------------------------------- */
typedef struct evctx {
    tf_ctx *x;
    tf_ref subject;
    int64_t hwc[3];
} evctx;

static int ev(evctx *c, tf_ref r, int depth, nn_const **out);

static nn_const *new_i64(tf_ctx *x, int ndims, const int64_t *dims)
{
    nn_const *c = nn_const_new(NN_I64, ndims, dims);

    if (!c)
        nn_build_fail(x->b, VAS_ENOMEM, "out of memory evaluating shapes");
    return c;
}

/* Inputs k of node as evaluated constants (all of them when k < 0). */
static int ev_inputs(evctx *c, int node, int depth, nn_const **in, int n)
{
    for (int k = 0; k < n; k++) {
        int rc = ev(c, c->x->in[node][k], depth + 1, &in[k]);
        if (rc < 0)
            return rc;
        if (in[k]->count > TF_EVAL_ELEMS)
            return tf_fail(c->x, node, VAS_EUNSUPPORTED, "shape arithmetic on a large tensor");
    }
    return VAS_OK;
}

/* a op b; *bad set on overflow or division by zero (hostile graphs must not reach UB). */
static int64_t arith(const char *op, int64_t a, int64_t b, int *bad)
{
    int64_t r = 0;

    if (strcmp(op, "Add") == 0 || strcmp(op, "AddV2") == 0)
        *bad |= __builtin_add_overflow(a, b, &r);
    else if (strcmp(op, "Sub") == 0)
        *bad |= __builtin_sub_overflow(a, b, &r);
    else if (strcmp(op, "Mul") == 0)
        *bad |= __builtin_mul_overflow(a, b, &r);
    else if (strcmp(op, "Maximum") == 0)
        r = a > b ? a : b;
    else if (strcmp(op, "Minimum") == 0)
        r = a < b ? a : b;
    else if (b == 0 || (b == -1 && a == INT64_MIN))
        *bad = 1;
    else if (strcmp(op, "FloorMod") == 0)
        r = ((a % b) + b) % b;
    else /* FloorDiv */
        r = a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
    return r;
}

/* Binary arithmetic with numpy broadcasting. */
static int ev_binary(evctx *c, int node, nn_const **in, nn_const **out)
{
    const nn_const *a = in[0], *b = in[1];
    int nd = a->ndims > b->ndims ? a->ndims : b->ndims, bad = 0;
    int64_t dims[NN_MAX_DIMS], da[NN_MAX_DIMS], db[NN_MAX_DIMS], count = 1;

    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndims), ib = i - (nd - b->ndims);
        da[i] = ia >= 0 ? a->dims[ia] : 1;
        db[i] = ib >= 0 ? b->dims[ib] : 1;
        if (da[i] != db[i] && da[i] != 1 && db[i] != 1)
            return tf_fail(c->x, node, VAS_EINVAL, "operands do not broadcast");
        dims[i] = da[i] > db[i] ? da[i] : db[i];
        count *= dims[i];
    }
    if (count > TF_EVAL_ELEMS)
        return tf_fail(c->x, node, VAS_EUNSUPPORTED, "shape arithmetic on a large tensor");
    *out = new_i64(c->x, nd, dims);
    if (!*out)
        return VAS_ENOMEM;
    for (int64_t i = 0; i < (*out)->count; i++) {
        int64_t rest = i, ia = 0, ib = 0, sa = 1, sb = 1;
        for (int d = nd - 1; d >= 0; d--) {
            int64_t k = rest % dims[d];
            rest /= dims[d];
            ia += (da[d] == 1 ? 0 : k) * sa;
            ib += (db[d] == 1 ? 0 : k) * sb;
            sa *= da[d];
            sb *= db[d];
        }
        ((int64_t *)(*out)->data)[i] =
            arith(tf_op(c->x, node), nn_const_geti(a, ia), nn_const_geti(b, ib), &bad);
    }
    return bad ? tf_fail(c->x, node, VAS_EINVAL, "overflows or divides by zero") : VAS_OK;
}

/* One dimension of a StridedSlice: first index, step, count; shrink drops the dimension. */
static int slice_dim(int64_t n, int64_t b, int64_t e, int64_t s, int bm, int em, int shrink,
                     int64_t *first, int64_t *count)
{
    if (s == 0 || s == INT64_MIN)
        return -1;
    if (shrink) {
        b = b < 0 ? b + n : b;
        if (b < 0 || b >= n)
            return -1;
        *first = b;
        *count = 1;
        return 0;
    }
    if (bm)
        b = s > 0 ? 0 : n - 1;
    else {
        b = b < 0 ? b + n : b;
        b = s > 0 ? (b < 0 ? 0 : b > n ? n : b) : (b < -1 ? -1 : b > n - 1 ? n - 1 : b);
    }
    if (em)
        e = s > 0 ? n : -1;
    else {
        e = e < 0 ? e + n : e;
        e = s > 0 ? (e < 0 ? 0 : e > n ? n : e) : (e < -1 ? -1 : e > n - 1 ? n - 1 : e);
    }
    *first = b;
    *count = s > 0 ? (e > b ? 1 + (e - b - 1) / s : 0) : (b > e ? 1 + (b - e - 1) / -s : 0);
    return 0;
}

static int ev_strided_slice(evctx *c, int node, nn_const **in, nn_const **out)
{
    const nn_const *t = in[0];
    int64_t first[NN_MAX_DIMS], cnt[NN_MAX_DIMS], step[NN_MAX_DIMS], dims[NN_MAX_DIMS];
    int64_t bm = tf_attr_int(c->x, node, "begin_mask", 0),
            em = tf_attr_int(c->x, node, "end_mask", 0);
    int64_t sm = tf_attr_int(c->x, node, "shrink_axis_mask", 0);
    int L = (int)in[1]->count, nd = 0;

    if (tf_attr_int(c->x, node, "ellipsis_mask", 0) ||
        tf_attr_int(c->x, node, "new_axis_mask", 0) || L > t->ndims || in[2]->count != L ||
        in[3]->count != L)
        return tf_fail(c->x, node, VAS_EUNSUPPORTED, "this StridedSlice form is not supported");
    for (int d = 0; d < t->ndims; d++) {
        int in_spec = d < L;
        step[d] = in_spec ? nn_const_geti(in[3], d) : 1;
        if (slice_dim(t->dims[d], in_spec ? nn_const_geti(in[1], d) : 0,
                      in_spec ? nn_const_geti(in[2], d) : 0, step[d], !in_spec || ((bm >> d) & 1),
                      !in_spec || ((em >> d) & 1), in_spec && ((sm >> d) & 1), &first[d],
                      &cnt[d]) < 0)
            return tf_fail(c->x, node, VAS_EINVAL, "slice out of range");
        if (!(in_spec && ((sm >> d) & 1)))
            dims[nd++] = cnt[d];
    }
    *out = new_i64(c->x, nd, dims);
    if (!*out)
        return VAS_ENOMEM;
    for (int64_t i = 0; i < (*out)->count; i++) {
        int64_t rest = i, src = 0, stride = 1;
        for (int d = t->ndims - 1; d >= 0; d--) {
            int64_t k = rest % cnt[d];
            rest /= cnt[d];
            src += (first[d] + k * step[d]) * stride;
            stride *= t->dims[d];
        }
        ((int64_t *)(*out)->data)[i] = nn_const_geti(t, src);
    }
    return VAS_OK;
}

/* Pack (axis 0) or ConcatV2 (axis 0) of 0-D / 1-D / 2-D integer tensors. */
static int ev_join(evctx *c, int node, nn_const **in, int n, int pack, nn_const **out)
{
    int64_t dims[NN_MAX_DIMS], total = 0, at = 0;
    int nd = pack ? in[0]->ndims + 1 : in[0]->ndims;

    if (nd < 1 || nd > 3)
        return tf_fail(c->x, node, VAS_EUNSUPPORTED, "joins tensors of this rank");
    for (int k = 0; k < n; k++) {
        if (in[k]->ndims != in[0]->ndims ||
            (in[k]->ndims > 1 && memcmp(in[k]->dims + 1, in[0]->dims + 1,
                                        (size_t)(in[k]->ndims - 1) * sizeof(int64_t))) ||
            (pack && in[k]->count != in[0]->count))
            return tf_fail(c->x, node, VAS_EINVAL, "inputs differ in shape");
        total += pack ? 1 : in[k]->dims[0];
    }
    dims[0] = total;
    for (int d = 1; d < nd; d++)
        dims[d] = pack ? in[0]->dims[d - 1] : in[0]->dims[d];
    *out = new_i64(c->x, nd, dims);
    if (!*out)
        return VAS_ENOMEM;
    for (int k = 0; k < n; k++)
        for (int64_t i = 0; i < in[k]->count; i++)
            ((int64_t *)(*out)->data)[at++] = nn_const_geti(in[k], i);
    return VAS_OK;
}

static int ev_const(evctx *c, tf_ref r, nn_const **out)
{
    const tf_val *v = tf_val_of(c->x, r);
    const Vastf__AttrValue *a = tf_attr(c->x, r.node, "value");

    if (v->kind == TV_CONST) {
        *out = nn_const_new(v->c->dtype, v->c->ndims, v->c->dims);
        if (*out)
            memcpy((*out)->data, v->c->data, (size_t)v->c->count * 8);
    } else if (a && a->value_case == VASTF__ATTR_VALUE__VALUE_TENSOR) {
        *out = tf_tensor_decode(c->x, r.node, a->tensor, 1);
    } else {
        return tf_fail(c->x, r.node, VAS_EINVAL, "has no value");
    }
    if (!*out)
        return nn_build_fail(c->x->b, VAS_ENOMEM, "out of memory evaluating shapes");
    return VAS_OK;
}

static int ev_shape(evctx *c, int node, nn_const **out)
{
    int64_t four = 4;
    tf_ref s = c->x->in[node][0];

    if (c->x->n_in[node] < 1 || s.node != c->subject.node || s.out != c->subject.out)
        return tf_fail(c->x, node, VAS_EUNSUPPORTED,
                       "computes a size from the shape of '%s', which vas cannot relate to the "
                       "tensor it sizes",
                       c->x->n_in[node] < 1 || s.node < 0 ? "?" : tf_name(c->x, s.node));
    *out = new_i64(c->x, 1, &four);
    if (!*out)
        return VAS_ENOMEM;
    ((int64_t *)(*out)->data)[0] = 1;
    for (int i = 0; i < 3; i++)
        ((int64_t *)(*out)->data)[i + 1] = c->hwc[i];
    return VAS_OK;
}

static int ev_node(evctx *c, tf_ref r, int depth, nn_const **out)
{
    int node = r.node, n = c->x->n_in[node], rc;
    const char *op = tf_op(c->x, node);
    nn_const *in[TF_EVAL_DEPTH] = {0};
    int binary = !strcmp(op, "Add") || !strcmp(op, "AddV2") || !strcmp(op, "Sub") ||
                 !strcmp(op, "Mul") || !strcmp(op, "FloorMod") || !strcmp(op, "FloorDiv") ||
                 !strcmp(op, "Maximum") || !strcmp(op, "Minimum");

    if (!strcmp(op, "Const"))
        return ev_const(c, r, out);
    if (!strcmp(op, "Shape"))
        return ev_shape(c, node, out);
    if (n > TF_EVAL_DEPTH || (binary && n != 2) || (!strcmp(op, "StridedSlice") && n != 4) ||
        (!strcmp(op, "Cast") && n != 1))
        return tf_fail(c->x, node, VAS_EUNSUPPORTED, "unexpected inputs for shape arithmetic");
    if (!binary && strcmp(op, "StridedSlice") && strcmp(op, "Pack") && strcmp(op, "ConcatV2") &&
        strcmp(op, "Cast"))
        return tf_fail(c->x, node, VAS_EUNSUPPORTED,
                       "computes a shape with TensorFlow op '%s', which vas does not implement",
                       op);
    rc = ev_inputs(c, node, depth, in, n);
    if (rc >= 0 && binary)
        rc = ev_binary(c, node, in, out);
    else if (rc >= 0 && !strcmp(op, "StridedSlice"))
        rc = ev_strided_slice(c, node, in, out);
    else if (rc >= 0 && !strcmp(op, "Pack"))
        rc = tf_attr_int(c->x, node, "axis", 0) != 0
                 ? tf_fail(c->x, node, VAS_EUNSUPPORTED, "packs along an axis other than 0")
                 : ev_join(c, node, in, n, 1, out);
    else if (rc >= 0 && !strcmp(op, "ConcatV2"))
        rc = n < 2 || nn_const_geti(in[n - 1], 0) != 0
                 ? tf_fail(c->x, node, VAS_EUNSUPPORTED, "concatenates along an axis other than 0")
                 : ev_join(c, node, in, n - 1, 0, out);
    else if (rc >= 0) { /* Cast: integers stay integers */
        *out = in[0];
        in[0] = NULL;
    }
    for (int k = 0; k < n; k++)
        nn_const_free(in[k]);
    return rc;
}

static int ev(evctx *c, tf_ref r, int depth, nn_const **out)
{
    tf_ctx *x = c->x;

    *out = NULL;
    if (r.node < 0)
        return nn_build_fail(x->b, VAS_EINVAL, "shape arithmetic reads an undefined tensor");
    if (depth > TF_EVAL_DEPTH || --x->eval_budget < 0)
        return tf_fail(x, r.node, VAS_EUNSUPPORTED, "shape arithmetic is too deep");
    if (r.node == c->subject.node && r.out == c->subject.out)
        return tf_fail(x, r.node, VAS_EUNSUPPORTED, "shape arithmetic reads image data");
    return ev_node(c, r, depth, out);
}

int tf_eval(tf_ctx *x, tf_ref r, tf_ref subject, const int64_t hwc[3], nn_const **out)
{
    evctx c = {x, subject, {hwc[0], hwc[1], hwc[2]}};
    int rc = ev(&c, r, 0, out);

    if (rc < 0) {
        nn_const_free(*out);
        *out = NULL;
    }
    return rc;
}
