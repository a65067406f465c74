/* nn_tf_conv.c - TensorFlow's convolutions, padding and pooling as engine nodes (see
 * nn_tf_int.h).
 *
 * DESIGN. Layouts: Conv2D filters are HWIO (-> OIHW), DepthwiseConv2dNative filters H x W x C x M
 * (-> a grouped convolution, group C, output channel c*M + m), Conv2DBackpropInput filters
 * H x W x out x in (-> ConvTranspose's in x out x kH x kW).
 * Padding: TensorFlow's SAME puts the odd pixel at the bottom/right, as ONNX SAME_UPPER does; at
 * stride 1 it does not depend on the input size and becomes explicit pads. A Pad node (TF-slim's
 * conv2d_same pads explicitly before a stride-2 VALID convolution) is kept pending and folded
 * into the convolution or pooling that reads it.
 * Atrous convolution: TensorFlow 1.x/2.x runs a dilated Conv2D as SpaceToBatchND -> VALID
 * Conv2D -> BatchToSpaceND, with paddings and crops computed from the input's Shape. The three
 * nodes are one dilated convolution whose pads are paddings - crops, which must not depend on
 * the input size: checked at trial sizes (nn_tf_eval.c).
 * Transposed convolution: its output size (input_sizes) is computed from Shape too; it must be
 * s*h + d with d fixed, and TensorFlow's padding rule for that size gives the pads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_tf_int.h"

#define TF_MAX_GEOM 1024 /* largest stride, dilation, kernel or block a node may ask for */
#define TF_MAX_PAD  4096 /* largest padding */

/* Trial sizes (h, w) at which shape arithmetic is evaluated. */
static const int64_t trials[3][2] = {{7, 9}, {8, 13}, {12, 6}};

/* ---------------------------------------------------------------------------------------------
 * Attributes
 * ------------------------------------------------------------------------------------------- */
typedef struct geom {
    int64_t s[2], d[2], k[2];
    int pad; /* 0 VALID, 1 SAME, 2 EXPLICIT */
    int64_t pads[4];
} geom;

static int nhwc_only(tf_ctx *x, int node)
{
    char buf[16];
    const char *df = tf_attr_str(x, node, "data_format", "NHWC", buf, sizeof(buf));

    return strcmp(df, "NHWC") == 0 ? VAS_OK
                                   : tf_fail(x, node, VAS_EUNSUPPORTED,
                                             "data_format %s is not supported (NHWC only)", df);
}

/* strides/dilations/ksize as [1, a, b, 1] into out[2]. */
static int pair_attr(tf_ctx *x, int node, const char *key, int64_t *out)
{
    int64_t v[4] = {1, 1, 1, 1};
    int n = tf_attr_ints(x, node, key, v, 4);

    if (n == -1 && tf_attr(x, node, key))
        n = 0;
    if ((n != 4 && n != -1) || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 ||
        v[1] > TF_MAX_GEOM || v[2] > TF_MAX_GEOM)
        return tf_fail(x, node, VAS_EUNSUPPORTED, "%s must be [1, h, w, 1] (1 to %d)", key,
                       TF_MAX_GEOM);
    out[0] = v[1];
    out[1] = v[2];
    return VAS_OK;
}

static int read_geom(tf_ctx *x, int node, int explicit_ok, geom *g)
{
    char buf[16];
    const char *p = tf_attr_str(x, node, "padding", "", buf, sizeof(buf));
    int rc = nhwc_only(x, node);

    memset(g, 0, sizeof(*g));
    if (rc >= 0)
        rc = pair_attr(x, node, "strides", g->s);
    if (rc >= 0)
        rc = pair_attr(x, node, "dilations", g->d);
    if (rc < 0)
        return rc;
    g->pad = !strcmp(p, "VALID") ? 0 : !strcmp(p, "SAME") ? 1 : !strcmp(p, "EXPLICIT") ? 2 : -1;
    if (g->pad < 0 || (g->pad == 2 && !explicit_ok))
        return tf_fail(x, node, VAS_EUNSUPPORTED, "padding '%s' is not supported", p);
    if (g->pad == 2) {
        int64_t e[8];
        if (tf_attr_ints(x, node, "explicit_paddings", e, 8) != 8 || e[0] || e[1] || e[6] || e[7])
            return tf_fail(x, node, VAS_EUNSUPPORTED, "explicit_paddings must pad H and W only");
        for (int i = 2; i < 6; i++)
            if (e[i] < 0 || e[i] > TF_MAX_PAD)
                return tf_fail(x, node, VAS_EUNSUPPORTED, "explicit_paddings out of range");
        g->pads[0] = e[2];
        g->pads[1] = e[4];
        g->pads[2] = e[3];
        g->pads[3] = e[5];
    }
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Pending convolutions
 * ------------------------------------------------------------------------------------------- */
int tf_conv_emit(tf_ctx *x, const char *name, tf_val *v)
{
    tf_conv *c = v->conv;
    char buf[512];
    int in[3] = {c->x, -1, -1}, out, has_b = c->b != NULL;
    int64_t k[2] = {c->w->dims[2], c->w->dims[3]};

    snprintf(buf, sizeof(buf), "%s.weight", name);
    in[1] = nn_build_const(x->b, buf, c->w);
    c->w = NULL;
    if (has_b) {
        snprintf(buf, sizeof(buf), "%s.bias", name);
        in[2] = nn_build_const(x->b, buf, c->b);
        c->b = NULL;
    }
    out = nn_build_node(x->b, c->transpose ? "ConvTranspose" : "Conv", name, in, has_b ? 3 : 2);
    nn_build_attr_ints(x->b, "kernel_shape", k, 2);
    nn_build_attr_ints(x->b, "strides", c->s, 2);
    nn_build_attr_ints(x->b, "pads", c->pads, 4);
    if (c->d[0] != 1 || c->d[1] != 1)
        nn_build_attr_ints(x->b, "dilations", c->d, 2);
    if (c->group != 1)
        nn_build_attr_int(x->b, "group", c->group);
    if (c->same)
        nn_build_attr_str(x->b, "auto_pad", "SAME_UPPER");
    if (c->opad[0] || c->opad[1])
        nn_build_attr_ints(x->b, "output_padding", c->opad, 2);
    free(c);
    v->conv = NULL;
    v->kind = TV_RT;
    v->v = out;
    return nn_build_error(x->b, NULL) < 0 ? nn_build_error(x->b, NULL) : out;
}

/* The filter input k of node as a 4-D float constant, or NULL (error set). */
static const nn_const *filter_of(tf_ctx *x, int node, int k)
{
    const tf_val *v = tf_val_of(x, x->in[node][k]);

    if (v->kind != TV_CONST || v->c->dtype != NN_F32 || v->c->ndims != 4 || v->c->count < 1 ||
        v->c->dims[0] > TF_MAX_GEOM || v->c->dims[1] > TF_MAX_GEOM) {
        tf_fail(x, node, VAS_EUNSUPPORTED, "the filter must be a constant 4-D float tensor");
        return NULL;
    }
    return v->c;
}

/* Filter f (TensorFlow layout) as engine weights: depthwise (C*M x 1 x kh x kw), transpose
 * (H W out in -> in out kh kw) or plain (HWIO -> OIHW). New constant or NULL. */
static nn_const *filter_to_engine(const nn_const *f, int depthwise, int transpose)
{
    int64_t kh = f->dims[0], kw = f->dims[1], a = f->dims[2], b = f->dims[3], dims[4];
    const float *src = f->data;
    nn_const *w;
    float *dst;

    if (depthwise) { /* a = C, b = M */
        dims[0] = a * b, dims[1] = 1;
    } else if (transpose) { /* a = out, b = in */
        dims[0] = b, dims[1] = a;
    } else { /* a = in, b = out */
        dims[0] = b, dims[1] = a;
    }
    dims[2] = kh;
    dims[3] = kw;
    w = nn_const_new(NN_F32, 4, dims);
    if (!w)
        return NULL;
    dst = w->data;
    for (int64_t i = 0; i < kh; i++)
        for (int64_t j = 0; j < kw; j++)
            for (int64_t p = 0; p < a; p++)
                for (int64_t q = 0; q < b; q++) {
                    float v = src[((i * kw + j) * a + p) * b + q];
                    int64_t o = depthwise ? p * b + q : q, ic = depthwise ? 0 : p;
                    if (transpose)
                        o = q, ic = p; /* engine (in=q, out=p) */
                    dst[((o * dims[1] + ic) * kh + i) * kw + j] = v;
                }
    return w;
}

/* A pending convolution on input src_k of src_node (runtime or pending Pad) with filter input
 * filt_k of filt_node, into the value of node's output 0. */
static int conv_pending(tf_ctx *x, int node, int src_node, int src_k, int filt_k, int depthwise,
                        const geom *g)
{
    const tf_val *src = tf_val_of(x, x->in[src_node][src_k]);
    const nn_const *f = filter_of(x, node, filt_k);
    tf_val *out = tf_val_of(x, (tf_ref){node, 0});
    int64_t pads[4] = {0, 0, 0, 0}, group = 1, ic;
    int same = g->pad == 1, xv;
    tf_conv *c;

    if (!f)
        return nn_build_error(x->b, NULL);
    if (src->kind == TV_PAD)
        memcpy(pads, src->pads, sizeof(pads));
    xv = src->kind == TV_PAD ? src->v : tf_rt(x, src_node, src_k);
    if (xv < 0)
        return xv;
    ic = src->ch;
    if (!depthwise && ic > 0 && f->dims[2] != ic) {
        if (ic % f->dims[2])
            return tf_fail(x, node, VAS_EINVAL, "the filter does not match the %lld input channels",
                           (long long)ic);
        group = ic / f->dims[2];
    }
    if (depthwise)
        group = f->dims[2];
    for (int i = 0; i < 2 && same && g->s[0] == 1 && g->s[1] == 1; i++) {
        int64_t total = (f->dims[i] - 1) * g->d[i];
        pads[i] += total / 2, pads[i + 2] += total - total / 2;
    }
    same = same && (g->s[0] > 1 || g->s[1] > 1);
    if (same && src->kind == TV_PAD)
        return tf_fail(x, node, VAS_EUNSUPPORTED,
                       "a Pad before a strided SAME convolution is not supported");
    for (int i = 0; i < 4; i++)
        pads[i] += g->pad == 2 ? g->pads[i] : 0;
    c = calloc(1, sizeof(*c));
    if (!c || !(c->w = filter_to_engine(f, depthwise, 0))) {
        free(c);
        return nn_build_fail(x->b, VAS_ENOMEM, "out of memory reading '%s'", tf_name(x, node));
    }
    c->x = xv;
    memcpy(c->s, g->s, sizeof(c->s));
    memcpy(c->d, g->d, sizeof(c->d));
    memcpy(c->pads, pads, sizeof(pads));
    c->group = group;
    c->same = same;
    out->kind = TV_CONV;
    out->conv = c;
    out->ch = c->w->dims[0];
    return VAS_OK;
}

int tf_op_conv(tf_ctx *x, int node)
{
    geom g;
    int rc = read_geom(x, node, 1, &g);

    if (rc >= 0 && x->n_in[node] != 2)
        rc = tf_fail(x, node, VAS_EINVAL, "needs an input and a filter");
    if (rc < 0)
        return rc;
    return conv_pending(x, node, node, 0, 1, !strcmp(tf_op(x, node), "DepthwiseConv2dNative"), &g);
}

/* ---------------------------------------------------------------------------------------------
 * Conv2DBackpropInput
 * ------------------------------------------------------------------------------------------- */
/* The output size rule: input_sizes must be [n, s0*h + d0, s1*w + d1, out] at every trial. */
static int deconv_size_rule(tf_ctx *x, int node, const geom *g, int64_t ch, int64_t oc,
                            int64_t d[2])
{
    for (int t = 0; t < 3; t++) {
        int64_t hwc[3] = {trials[t][0], trials[t][1], ch};
        nn_const *sz = NULL;
        int rc = tf_eval(x, x->in[node][0], x->in[node][2], hwc, &sz);
        if (rc < 0)
            return rc;
        if (sz->count != 4 || nn_const_geti(sz, 3) != oc) {
            nn_const_free(sz);
            return tf_fail(x, node, VAS_EUNSUPPORTED,
                           "input_sizes is not [n, h, w, %lld] of its own input", (long long)oc);
        }
        for (int i = 0; i < 2; i++) {
            int64_t o = nn_const_geti(sz, 1 + i), di = o - g->s[i] * trials[t][i];
            int ok = g->pad == 1 ? (o + g->s[i] - 1) / g->s[i] == trials[t][i]
                                 : o >= g->k[i] && (o - g->k[i]) / g->s[i] + 1 == trials[t][i];
            if ((t > 0 && di != d[i]) || !ok || di < -TF_MAX_PAD || di > TF_MAX_PAD) {
                nn_const_free(sz);
                return tf_fail(x, node, VAS_EUNSUPPORTED,
                               "its output size is not the fixed function of the input size "
                               "TensorFlow's %s rule allows",
                               g->pad == 1 ? "SAME" : "VALID");
            }
            d[i] = di;
        }
        nn_const_free(sz);
    }
    return VAS_OK;
}

int tf_op_deconv(tf_ctx *x, int node)
{
    tf_val *out = tf_val_of(x, (tf_ref){node, 0});
    const nn_const *f;
    int64_t d[2] = {0, 0};
    tf_conv *c;
    geom g;
    int rc = read_geom(x, node, 0, &g), xv;

    if (rc >= 0 && x->n_in[node] != 3)
        rc = tf_fail(x, node, VAS_EINVAL, "needs input_sizes, a filter and an input");
    if (rc >= 0 && (g.d[0] != 1 || g.d[1] != 1))
        rc =
            tf_fail(x, node, VAS_EUNSUPPORTED, "dilated transposed convolutions are not supported");
    if (rc < 0 || !(f = filter_of(x, node, 1)))
        return nn_build_error(x->b, NULL);
    xv = tf_rt(x, node, 2);
    if (xv < 0)
        return xv;
    g.k[0] = f->dims[0];
    g.k[1] = f->dims[1];
    if (tf_val_of(x, x->in[node][2])->ch > 0 && tf_val_of(x, x->in[node][2])->ch != f->dims[3])
        return tf_fail(x, node, VAS_EINVAL, "the filter does not match its input's channels");
    rc = deconv_size_rule(x, node, &g, f->dims[3], f->dims[2], d);
    if (rc < 0)
        return rc;
    c = calloc(1, sizeof(*c));
    if (!c || !(c->w = filter_to_engine(f, 0, 1))) {
        free(c);
        return nn_build_fail(x->b, VAS_ENOMEM, "out of memory reading '%s'", tf_name(x, node));
    }
    c->transpose = 1;
    c->x = xv;
    c->group = 1;
    c->d[0] = c->d[1] = 1;
    for (int i = 0; i < 2; i++) {
        /* full = s(h-1)+k; TensorFlow crops pad_total = k - s - d, the smaller half first */
        int64_t total = g.k[i] - g.s[i] - d[i];
        c->s[i] = g.s[i];
        c->pads[i] = g.pad == 1 && total > 0 ? total / 2 : 0;
        c->pads[i + 2] = total > 0 ? total - c->pads[i] : 0;
        c->opad[i] = total < 0 ? -total : 0;
    }
    out->kind = TV_CONV;
    out->conv = c;
    out->ch = f->dims[2];
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * SpaceToBatchND -> Conv2D -> BatchToSpaceND
 * ------------------------------------------------------------------------------------------- */
int tf_atrous_match(const tf_ctx *x, int node, int *conv, int *s2b)
{
    int c, s;

    if (x->n_in[node] != 3 || x->in[node][0].node < 0 || x->in[node][0].out != 0)
        return 0;
    c = x->in[node][0].node;
    if ((strcmp(tf_op(x, c), "Conv2D") && strcmp(tf_op(x, c), "DepthwiseConv2dNative")) ||
        x->n_in[c] != 2 || x->in[c][0].node < 0 || x->in[c][0].out != 0)
        return 0;
    s = x->in[c][0].node;
    if (strcmp(tf_op(x, s), "SpaceToBatchND") || x->n_in[s] != 3)
        return 0;
    *conv = c;
    *s2b = s;
    return 1;
}

/* Block shape [r0, r1] of both ends; they must agree. */
static int atrous_block(tf_ctx *x, int node, int s2b, int64_t r[2])
{
    int64_t hwc[3] = {8, 8, 1};
    nn_const *a = NULL, *b = NULL;
    int rc = tf_eval(x, x->in[s2b][1], x->in[s2b][0], hwc, &a);

    if (rc >= 0)
        rc = tf_eval(x, x->in[node][1], x->in[s2b][0], hwc, &b);
    if (rc >= 0 && (a->count != 2 || b->count != 2 || nn_const_geti(a, 0) != nn_const_geti(b, 0) ||
                    nn_const_geti(a, 1) != nn_const_geti(b, 1) || nn_const_geti(a, 0) < 1 ||
                    nn_const_geti(a, 1) < 1 || nn_const_geti(a, 0) > TF_MAX_GEOM ||
                    nn_const_geti(a, 1) > TF_MAX_GEOM))
        rc = tf_fail(x, node, VAS_EUNSUPPORTED,
                     "SpaceToBatchND and BatchToSpaceND disagree on a 2-D block shape");
    if (rc >= 0) {
        r[0] = nn_const_geti(a, 0);
        r[1] = nn_const_geti(a, 1);
    }
    nn_const_free(a);
    nn_const_free(b);
    return rc;
}

/* pads = paddings - crops, the same at every trial size. */
static int atrous_pads(tf_ctx *x, int node, int s2b, int64_t ch, const int64_t r[2],
                       int64_t pads[4])
{
    for (int t = 0; t < 3; t++) {
        int64_t hwc[3] = {trials[t][0], trials[t][1], ch}, p[4];
        nn_const *pd = NULL, *cr = NULL;
        int rc = tf_eval(x, x->in[s2b][2], x->in[s2b][0], hwc, &pd), ok;
        if (rc >= 0)
            rc = tf_eval(x, x->in[node][2], x->in[s2b][0], hwc, &cr);
        ok = rc >= 0 && pd->count == 4 && cr->count == 4;
        for (int i = 0; ok && i < 2; i++) {
            p[i] = nn_const_geti(pd, 2 * i) - nn_const_geti(cr, 2 * i);
            p[i + 2] = nn_const_geti(pd, 2 * i + 1) - nn_const_geti(cr, 2 * i + 1);
            ok = p[i] >= 0 && p[i + 2] >= 0 && p[i] <= TF_MAX_PAD && p[i + 2] <= TF_MAX_PAD &&
                 (trials[t][i] + nn_const_geti(pd, 2 * i) + nn_const_geti(pd, 2 * i + 1)) % r[i] ==
                     0;
        }
        for (int i = 0; ok && t > 0 && i < 4; i++)
            ok = p[i] == pads[i];
        if (ok)
            memcpy(pads, p, sizeof(p));
        nn_const_free(pd);
        nn_const_free(cr);
        if (rc < 0)
            return rc;
        if (!ok)
            return tf_fail(x, node, VAS_EUNSUPPORTED,
                           "its paddings and crops are not a fixed padding of a dilated "
                           "convolution");
    }
    return VAS_OK;
}

int tf_op_atrous(tf_ctx *x, int node)
{
    int conv, s2b, rc;
    int64_t r[2], pads[4];
    geom g;

    if (!tf_atrous_match(x, node, &conv, &s2b))
        return tf_fail(x, node, VAS_EUNSUPPORTED,
                       "BatchToSpaceND is only supported after SpaceToBatchND and one convolution "
                       "(TensorFlow's atrous convolution)");
    rc = read_geom(x, conv, 0, &g);
    if (rc >= 0 && (g.pad != 0 || g.s[0] != 1 || g.s[1] != 1 || g.d[0] != 1 || g.d[1] != 1))
        rc = tf_fail(x, conv, VAS_EUNSUPPORTED,
                     "inside SpaceToBatchND it must be a VALID convolution of stride 1");
    if (rc >= 0)
        rc = atrous_block(x, node, s2b, r);
    if (rc >= 0)
        rc = atrous_pads(x, node, s2b, tf_val_of(x, x->in[s2b][0])->ch, r, pads);
    if (rc < 0)
        return rc;
    g.pad = 2;
    memcpy(g.pads, pads, sizeof(pads));
    memcpy(g.d, r, sizeof(g.d));
    /* the filter is read from the convolution node; node's own output receives the result */
    rc = tf_val_of(x, x->in[conv][1])->kind == TV_CONST
             ? VAS_OK
             : tf_fail(x, conv, VAS_EUNSUPPORTED, "the filter must be constant");
    if (rc < 0)
        return rc;
    {
        /* conv_pending reads the filter as input filt_k of `node`: point at conv's inputs */
        tf_ref keep = x->in[node][1];
        x->in[node][1] = x->in[conv][1];
        rc = conv_pending(x, node, s2b, 0, 1, !strcmp(tf_op(x, conv), "DepthwiseConv2dNative"), &g);
        x->in[node][1] = keep;
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Pad, pooling, bias
 * ------------------------------------------------------------------------------------------- */
int tf_op_pad(tf_ctx *x, int node)
{
    const tf_val *src = tf_val_of(x, x->in[node][0]);
    tf_val *out = tf_val_of(x, (tf_ref){node, 0});
    const tf_val *p = x->n_in[node] >= 2 ? tf_val_of(x, x->in[node][1]) : NULL;
    const tf_val *cv = x->n_in[node] >= 3 ? tf_val_of(x, x->in[node][2]) : NULL;
    int v;

    if (!p || p->kind != TV_CONST || p->c->count != 8 || nn_const_geti(p->c, 0) ||
        nn_const_geti(p->c, 1) || nn_const_geti(p->c, 6) || nn_const_geti(p->c, 7))
        return tf_fail(x, node, VAS_EUNSUPPORTED,
                       "only constant paddings of H and W are supported");
    if (cv && (cv->kind != TV_CONST || cv->c->count != 1 || nn_const_getf(cv->c, 0) != 0.0))
        return tf_fail(x, node, VAS_EUNSUPPORTED, "only padding with zeros is supported");
    v = src->kind == TV_PAD ? src->v : tf_rt(x, node, 0);
    if (v < 0)
        return v;
    out->kind = TV_PAD;
    out->v = v;
    out->ch = src->ch;
    for (int i = 0; i < 4; i++)
        out->pads[i] = src->kind == TV_PAD ? src->pads[i] : 0;
    out->pads[0] += nn_const_geti(p->c, 2);
    out->pads[2] += nn_const_geti(p->c, 3);
    out->pads[1] += nn_const_geti(p->c, 4);
    out->pads[3] += nn_const_geti(p->c, 5);
    return VAS_OK;
}

int tf_op_pool(tf_ctx *x, int node)
{
    const tf_val *src = tf_val_of(x, x->in[node][0]);
    int maxp = !strcmp(tf_op(x, node), "MaxPool"), v, out;
    int64_t k[2], pads[4] = {0, 0, 0, 0};
    geom g;
    int rc = read_geom(x, node, 0, &g);

    if (rc >= 0)
        rc = pair_attr(x, node, "ksize", k);
    if (rc >= 0 && src->kind == TV_PAD && (maxp || g.pad == 1))
        rc = tf_fail(x, node, VAS_EUNSUPPORTED,
                     "a Pad before %s is not supported (its zeros would count differently)",
                     maxp ? "max pooling" : "SAME average pooling");
    if (rc < 0)
        return rc;
    if (src->kind == TV_PAD)
        memcpy(pads, src->pads, sizeof(pads));
    v = src->kind == TV_PAD ? src->v : tf_rt(x, node, 0);
    if (v < 0)
        return v;
    out = nn_build_node(x->b, maxp ? "MaxPool" : "AveragePool", tf_name(x, node), &v, 1);
    nn_build_attr_ints(x->b, "kernel_shape", k, 2);
    nn_build_attr_ints(x->b, "strides", g.s, 2);
    nn_build_attr_ints(x->b, "pads", pads, 4);
    if (g.pad == 1)
        nn_build_attr_str(x->b, "auto_pad", "SAME_UPPER");
    if (!maxp && src->kind == TV_PAD)
        nn_build_attr_int(x->b, "count_include_pad", 1);
    tf_set_rt(x, node, 0, out, src->ch);
    return nn_build_error(x->b, NULL);
}

/* Per-channel constant c ([C]) added to the pending convolution in input 0 as its bias when
 * nothing else reads the convolution; else an Add of a 1 x C x 1 x 1 constant. */
int tf_op_biasadd(tf_ctx *x, int node)
{
    tf_ref r = x->in[node][0];
    tf_val *src = tf_val_of(x, r), *out = tf_val_of(x, (tf_ref){node, 0});
    const tf_val *bv = tf_val_of(x, x->in[node][1]);
    const nn_const *c = bv->kind == TV_CONST ? bv->c : NULL;
    int64_t dims[4] = {1, c ? c->count : 0, 1, 1};
    char buf[512];
    int v, k;

    if (!c || c->dtype != NN_F32 || c->ndims != 1 || c->count < 1 ||
        (src->ch > 0 && c->count != src->ch))
        return tf_fail(x, node, VAS_EUNSUPPORTED, "the bias must be a constant of one per channel");
    if (src->kind == TV_CONV && !src->conv->b && x->uses[x->voff[r.node] + r.out] == 1) {
        src->conv->b = nn_const_new(NN_F32, 1, c->dims);
        if (!src->conv->b)
            return nn_build_fail(x->b, VAS_ENOMEM, "out of memory reading '%s'", tf_name(x, node));
        memcpy(src->conv->b->data, c->data, (size_t)c->count * sizeof(float));
        *out = *src; /* the convolution moves to this node's output */
        memset(src, 0, sizeof(*src));
        return VAS_OK;
    }
    if (nn_build_error(x->b, NULL) < 0 || (v = tf_rt(x, node, 0)) < 0)
        return nn_build_error(x->b, NULL);
    snprintf(buf, sizeof(buf), "%s.bias", tf_name(x, node));
    k = nn_build_constf(x->b, buf, 4, dims, c->data);
    tf_set_rt(x, node, 0, nn_build_binary(x->b, "Add", tf_name(x, node), v, k), (int)c->count);
    return nn_build_error(x->b, NULL);
}
