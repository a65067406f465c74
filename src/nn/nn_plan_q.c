/* nn_plan_q.c - int8 plans: which convolutions run in int8, the storage type and scale of every
 * value, the shadows that convert a value for the steps that need it in the other type, and the
 * calibration ranges they are computed from.
 *
 * DESIGN. Quantisation is symmetric: a u8/s8 value q stands for q * scale, but for offset u8
 * values (end of 2.), where it stands for (q - zero code) * scale.
 *  1. Weights are s8 with one scale per output channel, max |w| / 127, applied by oneDNN's own
 *     weight re-order (which also adds what oneDNN needs for s8 sources: compensation, and on
 *     CPUs without VNNI the halving of the weights that keeps vpmaddubsw from saturating).
 *  2. Activations have one scale per tensor, from the range calibration saw (nn_ranges: max |x|
 *     over the first frames a float plan ran). A tensor never negative (after ReLU or Clip) is
 *     u8 with scale max / umax; any other is s8 with scale max |x| / 127. umax is 255 with VNNI.
 *     Without it, AVX2's vpmaddubsw adds two u8 x s8 products into a saturating int16 (oneDNN
 *     only guards s8 sources against that: doc/advanced/int8_computations.md), so umax is what
 *     the tensor's int8 readers' weights allow without saturating (umax_of below): 129 to 255.
 *     A u8 head input (a tensor that int8 convolutions turn into graph outputs: heatmaps, locref)
 *     keeps twice its calibrated range within 255: its largest values are the detections, and a
 *     later frame's strongest response often exceeds what the calibration frames showed; clipped,
 *     it moves the heatmap's peak (the openfield clip with VNNI: 178 points over 1 px from
 *     float32 without the headroom, 32 with it; test_nn_int8.c).
 *     A signed tensor whose int8 readers are all convolutions without padding (MobileNetV2's
 *     block outputs, which 1x1 expansions and residual sums read) may be offset u8 instead
 *     (nn_options.int8_zp; by default with VNNI only): its own range [lo, hi] over the codes
 *     0..umax, 0.0 at the zero code z. oneDNN's kernels run u8 sources faster than s8 ones (one
 *     core, the demo model's expansions: 1.2-1.3x with AVX-512 VNNI, 1.1-1.3x held to AVX2).
 *     No zero-point support is needed where it is read (oneDNN's own source zero points cost
 *     2-13% a layer in the same standalone test): a convolution's accumulator then holds
 *     z x (the sum of its s8 weights) too, and a fused residual sum z x its scale, both taken
 *     off in the bias (zero_codes); its output's last linear post-op adds z; a float shadow's
 *     reorder takes z as its source zero point. A padded tap would read code 0 as a value,
 *     hence no padding. Without VNNI, AVX2's guard leaves such a tensor about 130 codes, less
 *     precise than s8's 255 (openfield held to AVX2: 59 points over 1 px against 51).
 *  3. A convolution runs in int8 when its weights are constant and its input was calibrated (and
 *     so does the 1x1 product of a ConvTranspose, nn_p_deconv_gemm, into f32). It
 *     reads its source as u8/s8, accumulates in s32, and its output scales src_scale *
 *     w_scale[oc] (the bias pre-divided by the same, oneDNN 2.x adding it before them) give the
 *     float result; the fused post-ops run on that (the residual sum scaled by the residual's own
 *     scale, the activations unchanged), then, for an int8 output, a linear post-op 1 / scale.
 *  4. A convolution's output is stored as u8/s8 only when every reader takes it so (an int8
 *     convolution's or product's source, a residual Add, a max pooling whose output is int8: it
 *     keeps its input's type and scale) and it is no graph output; else as f32.
 *  5. Every other step reads f32. A value stored in the other type than a step needs gets a
 *     shadow, value NV + v, written once by a reorder (with the scale) right where first needed.
 * The fusions are the float plan's (same code), so the values calibration saw are the values an
 * int8 plan stores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

#define Q_MAX_IN    64   /* inputs of one node remapped to shadows */
#define Q_HEAD_ROOM 2.0f /* a head's input range over the calibrated one (2. above) */

/* ---------------------------------------------------------------------------------------------
 * Ranges
 * ------------------------------------------------------------------------------------------- */
int nn_ranges_init(nn_ranges *r, const nn_graph *g, vas_err *e)
{
    memset(r, 0, sizeof(*r));
    r->lo = malloc(((size_t)g->n_vals + 1) * sizeof(float));
    r->hi = malloc(((size_t)g->n_vals + 1) * sizeof(float));
    if (!r->lo || !r->hi) {
        nn_ranges_free(r);
        return err_set(e, VAS_ENOMEM, "out of memory for int8 calibration");
    }
    r->n_vals = g->n_vals;
    nn_ranges_clear(r);
    return VAS_OK;
}

void nn_ranges_clear(nn_ranges *r)
{
    for (int v = 0; v < r->n_vals; v++) {
        r->lo[v] = INFINITY;
        r->hi[v] = -INFINITY;
    }
    r->frames = 0;
}

void nn_ranges_free(nn_ranges *r)
{
    free(r->lo);
    free(r->hi);
    memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------------------------------------
 * Types and scales
 * ------------------------------------------------------------------------------------------- */
static int imin(int a, int b)
{
    return a < b ? a : b;
}

dnnl_data_type_t nn_q_dt(const nn_plan *p, int v)
{
    return p->vdt ? p->vdt[nn_p_root(p, v)] : nn_p_act_dt(p);
}

static float q_scale(const nn_plan *p, int v)
{
    return p->vsc[nn_p_root(p, v)];
}

/* 1 when calibration saw v with a finite, non-zero range: its max |x| in *amax, whether it was
 * ever negative in *neg. */
static int seen(const nn_plan *p, int v, float *amax, int *neg)
{
    int r = nn_p_root(p, v);
    float lo, hi;

    if (!p->rg || r >= p->rg->n_vals)
        return 0;
    lo = p->rg->lo[r];
    hi = p->rg->hi[r];
    if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi))
        return 0;
    *amax = fmaxf(fabsf(lo), fabsf(hi));
    *neg = lo < 0;
    return *amax > 0;
}

int nn_q_init(nn_plan *p, const nn_ranges *rg, vas_err *e)
{
    unsigned vnni = NN_CPU_AVX512_VNNI | NN_CPU_AVX2_VNNI;

    p->rg = rg;
    p->umax = nn_cpu_features() & vnni ? 255 : 0;
    p->vdt = malloc(((size_t)p->nv + 1) * sizeof(*p->vdt));
    p->vsc = malloc(((size_t)p->nv + 1) * sizeof(*p->vsc));
    p->vzp = calloc((size_t)p->nv + 1, sizeof(*p->vzp));
    if (!p->vdt || !p->vsc || !p->vzp)
        return err_set(e, VAS_ENOMEM, "out of memory planning int8");
    for (int v = 0; v <= p->nv; v++) {
        p->vdt[v] = dnnl_f32;
        p->vsc[v] = 1.0f;
    }
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Which convolutions, which outputs (3. and 4. above)
 * ------------------------------------------------------------------------------------------- */
static int const_f32(const nn_plan *p, int v)
{
    return v >= 0 && p->tv[v].c && p->tv[v].c->dtype == NN_F32;
}

static int conv_is_q(const nn_plan *p, const nn_node *n)
{
    float amax;
    int neg;

    if (n->op != NN_OP_CONV || n->n_in < 2 || !const_f32(p, n->in[1]) ||
        p->tv[n->in[1]].c->ndims != 4 || n->in[0] < 0 || p->tv[n->in[0]].c ||
        p->tv[n->in[0]].ndims != 4 || n->in[1] == n->in[0])
        return 0;
    if (n->n_in > 2 && n->in[2] >= 0 && !const_f32(p, n->in[2]))
        return 0;
    return seen(p, n->in[0], &amax, &neg);
}

/* A ConvTranspose whose product (nn_p_deconv_gemm) runs in int8. */
static int convt_q(const nn_plan *p, const nn_node *n)
{
    float amax;
    int neg;

    return nn_p_convt_gemm_ok(n) && n->n_in >= 2 && const_f32(p, n->in[1]) &&
           p->tv[n->in[1]].c->ndims == 4 && n->in[0] >= 0 && !p->tv[n->in[0]].c &&
           seen(p, n->in[0], &amax, &neg);
}

/* 1 when every reader of v takes it as u8/s8 (4. above). Recurses through max poolings only,
 * to a bounded depth. */
static int wants_int8(const nn_plan *p, int v, int depth) // NOLINT(misc-no-recursion)
{
    const nn_graph *g = p->g;
    float amax;
    int neg, readers = 0;

    if (depth > 8 || nn_p_is_output(g, v) || !seen(p, v, &amax, &neg))
        return 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *c = &g->nodes[i];
        int reads = 0;
        for (int j = 0; c->op != NN_OP_NONE && j < c->n_in; j++)
            reads |= c->in[j] == v;
        if (!reads)
            continue;
        readers++;
        if (((conv_is_q(p, c) || convt_q(p, c)) && c->in[0] == v) || c->op == NN_OP_ADD ||
            (c->op == NN_OP_MAXPOOL && wants_int8(p, c->out[0], depth + 1)))
            continue;
        return 0;
    }
    return readers > 0;
}

/* Without VNNI, oneDNN 2.6's AVX2 kernels multiply u8 sources by s8 weights with vpmaddubsw,
 * which adds the products of input channels 2m and 2m+1 (same tap, same output channel) into a
 * saturating int16; depthwise kernels (one input channel per group) multiply exactly
 * (test_nn_int8.c checks both on the installed oneDNN). So a source may go up to 32767 / (the
 * largest such pair of quantised weight magnitudes) without saturating: 129 in the worst case
 * (two weights at the channel's maximum, 127 each), 255 where no pair is that large.
 * One output channel: n_ic inputs ic_stride apart, each with `taps` contiguous taps. */
static int chan_umax(const float *w, int64_t n_ic, int64_t ic_stride, int64_t taps)
{
    float m1 = 0, pair = 0;

    for (int64_t i = 0; i < n_ic; i++)
        for (int64_t t = 0; t < taps; t++)
            m1 = fmaxf(m1, fabsf(w[i * ic_stride + t]));
    if (!(m1 > 0))
        return 255;
    for (int64_t i = 0; i + 1 < n_ic; i += 2)
        for (int64_t t = 0; t < taps; t++)
            pair = fmaxf(pair, ceilf(127.0f * fabsf(w[i * ic_stride + t]) / m1) +
                                   ceilf(127.0f * fabsf(w[(i + 1) * ic_stride + t]) / m1));
    return pair > 0 ? (int)fminf(255.0f, floorf(32767.0f / pair)) : 255;
}

/* The bound for int8 convolution (or deconvolution product) c's source: its least channel's. */
static int reader_umax(const nn_plan *p, const nn_node *c)
{
    const nn_const *w = p->tv[c->in[1]].c;
    const float *d = w->data;
    int64_t kk = w->dims[2] * w->dims[3];
    int u = 255;

    if (c->op == NN_OP_CONV) { /* OC x IC/g x kh x kw */
        for (int64_t o = 0; o < w->dims[0]; o++)
            u = imin(u, chan_umax(d + o * w->dims[1] * kk, w->dims[1], kk, kk));
        return u;
    }
    /* ConvTranspose (Cin, OC, kh, kw): the product's channel (tap k, oc j) runs over Cin */
    for (int64_t j = 0; j < w->dims[1]; j++)
        for (int64_t k = 0; k < kk; k++)
            u = imin(u, chan_umax(d + j * kk + k, w->dims[0], w->dims[1] * kk, 1));
    return u;
}

/* Largest u8 value v may take: 255 with VNNI, else the least bound of its int8 readers. */
static int umax_of(const nn_plan *p, int v, int depth) // NOLINT(misc-no-recursion)
{
    int u = 255;

    if (p->umax)
        return p->umax;
    for (int i = 0; i < p->g->n_nodes && depth < 8; i++) {
        const nn_node *c = &p->g->nodes[i];
        if (c->op == NN_OP_NONE || c->n_in < 1 || c->in[0] != v)
            continue;
        if (conv_is_q(p, c) || convt_q(p, c))
            u = imin(u, reader_umax(p, c));
        else if (c->op == NN_OP_MAXPOOL)
            u = imin(u, umax_of(p, c->out[0], depth + 1));
    }
    return u;
}

/* 1 when v is a graph output or reaches one through activations and reshapes only. */
static int feeds_output(const nn_plan *p, int v, int depth) // NOLINT(misc-no-recursion)
{
    if (nn_p_is_output(p->g, v))
        return 1;
    for (int i = 0; i < p->g->n_nodes && depth < 4; i++) {
        const nn_node *c = &p->g->nodes[i];
        int passes = c->op == NN_OP_SIGMOID || c->op == NN_OP_RELU || c->op == NN_OP_CLIP ||
                     c->op == NN_OP_IDENTITY || c->op == NN_OP_DROPOUT || c->op == NN_OP_RESHAPE ||
                     c->op == NN_OP_FLATTEN || c->op == NN_OP_SQUEEZE || c->op == NN_OP_UNSQUEEZE;
        if (passes && c->n_in >= 1 && c->in[0] == v && c->n_out == 1 &&
            feeds_output(p, c->out[0], depth + 1))
            return 1;
    }
    return 0;
}

/* 1 when v is read by an int8 convolution or product whose result is a graph output: a head. */
static int head_input(const nn_plan *p, int v)
{
    for (int i = 0; i < p->g->n_nodes; i++) {
        const nn_node *c = &p->g->nodes[i];
        if ((conv_is_q(p, c) || convt_q(p, c)) && nn_p_root(p, c->in[0]) == v &&
            feeds_output(p, c->out[0], 0))
            return 1;
    }
    return 0;
}

/* 1 when signed value v may be stored as offset u8 (2. above): every int8 convolution reading
 * it reads it without padding (a padded tap would read the code 0 as a value, not 0.0), and no
 * other step reads its bytes as they are (ConvTranspose's int8 product, max pooling); every
 * other reader takes a float shadow or, as a residual, a fused sum. */
static int zp_ok(const nn_plan *p, int v)
{
    const nn_graph *g = p->g;

    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *c = &g->nodes[i];
        nn_geom gm;
        vas_err e = {0};
        int reads = 0;
        for (int j = 0; c->op != NN_OP_NONE && j < c->n_in; j++)
            reads |= c->in[j] >= 0 && nn_p_root(p, c->in[j]) == v;
        if (!reads)
            continue;
        if (c->op == NN_OP_MAXPOOL || c->op == NN_OP_CONVT)
            return 0;
        if (!conv_is_q(p, c))
            continue;
        if (nn_p_root(p, c->in[0]) != v ||
            nn_geom_get(c, p->tv[c->in[0]].dims, p->tv[c->in[1]].c->dims, &gm, &e) < 0 ||
            gm.pl[0] || gm.pl[1] || gm.pr[0] || gm.pr[1])
            return 0;
    }
    return 1;
}

/* The int8 type, scale and zero code of v (2. above); f32 when it was not calibrated. A signed
 * v is offset u8 where allow_zp and zp_ok say it may be, else s8. */
static dnnl_data_type_t q_type(const nn_plan *p, int v, int allow_zp, float *scale, int *zp)
{
    int r = nn_p_root(p, v), um;
    float amax, lo, hi;
    int neg;

    *scale = 1.0f;
    *zp = 0;
    if (!seen(p, v, &amax, &neg))
        return dnnl_f32;
    if (neg && allow_zp &&
        (p->zp_mode == NN_ZP_ON || (p->zp_mode == NN_ZP_AUTO && p->umax == 255)) && zp_ok(p, r)) {
        um = umax_of(p, r, 0);
        lo = p->rg->lo[r];
        hi = fmaxf(p->rg->hi[r], 0.0f);
        *scale = (hi - lo) / (float)um;
        *zp = (int)fminf((float)um, fmaxf(0.0f, nearbyintf(-lo / *scale)));
        return dnnl_u8;
    }
    *scale = amax / (neg ? 127.0f : (float)umax_of(p, r, 0));
    if (!neg && head_input(p, r))
        *scale = fmaxf(*scale, Q_HEAD_ROOM * amax / 255.0f);
    return neg ? dnnl_s8 : dnnl_u8;
}

/* ---------------------------------------------------------------------------------------------
 * Shadows (5. above)
 * ------------------------------------------------------------------------------------------- */
/* v (a stored value) as dt with scale sc, in its shadow NV + v, re-ordered now (once). */
static int shadow(pctx *x, int v, dnnl_data_type_t dt, float sc)
{
    nn_plan *p = x->p;
    int sh = p->g->n_vals + v, rc;
    float k = p->vdt[v] == dnnl_f32 ? 1.0f / sc : p->vsc[v];
    dnnl_primitive_attr_t attr;

    if (p->ready[sh])
        return sh;
    attr = nn_p_new_attr(NULL);
    if (!attr)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    p->tv[sh].ndims = p->tv[v].ndims;
    memcpy(p->tv[sh].dims, p->tv[v].dims, sizeof(p->tv[sh].dims));
    p->vdt[sh] = dt;
    p->vsc[sh] = sc;
    rc = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &k) == dnnl_success &&
                 (!p->vzp[v] || dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0,
                                                                    &p->vzp[v]) == dnnl_success)
             ? nn_p_shadow_step(x, v, sh, attr, "convert a tensor to or from int8")
             : nn_p_fail(x, dnnl_unimplemented, "convert a tensor to or from int8");
    dnnl_primitive_attr_destroy(attr);
    return rc;
}

int nn_q_as_f32(pctx *x, int v)
{
    if (!x->p->vdt || v < 0 || x->p->tv[v].c || nn_q_dt(x->p, v) == dnnl_f32)
        return v;
    return shadow(x, nn_p_root(x->p, v), dnnl_f32, 1.0f);
}

/* v as u8/s8: itself, or its quantised shadow. */
static int as_int8(pctx *x, int v)
{
    float sc;
    int zp;
    dnnl_data_type_t dt;

    if (nn_q_dt(x->p, v) != dnnl_f32)
        return v;
    dt = q_type(x->p, v, 0, &sc, &zp);
    if (dt == dnnl_f32)
        return err_set(x->e, VAS_EINVAL, "node '%s' (%s): no int8 calibration for its input",
                       x->n->name, x->n->op_type);
    return shadow(x, nn_p_root(x->p, v), dt, sc);
}

/* ---------------------------------------------------------------------------------------------
 * The int8 convolution (3. above)
 * ------------------------------------------------------------------------------------------- */
typedef struct qconv {
    int src, out, prev;         /* source (u8/s8), value written, residual as stored into out */
    float *wsc;                 /* owned: weight scale per output channel */
    float *osc;                 /* owned: output scale per output channel */
    float *bias;                /* owned (then the plan's): bias in accumulator units, or NULL */
    int64_t oc;                 /* output channels */
    dnnl_post_ops_t po;         /* owned: the fused chain as the float plan has it */
    dnnl_primitive_attr_t attr; /* owned */
} qconv;

static void qconv_free(qconv *q)
{
    if (q->attr)
        dnnl_primitive_attr_destroy(q->attr);
    if (q->po)
        dnnl_post_ops_destroy(q->po);
    free(q->wsc);
    free(q->osc);
    free(q->bias);
}

/* max |w| / 127 of each output channel of weights w (oc rows of per values: ONNX's OC x IC/g x
 * kh x kw); a new array, NULL if out of memory. */
static float *weight_scales(const float *w, int64_t oc, int64_t per)
{
    float *sc = malloc((size_t)oc * sizeof(float));

    for (int64_t c = 0; sc && c < oc; c++) {
        float m = 0;
        for (int64_t i = 0; i < per; i++)
            m = fmaxf(m, fabsf(w[c * per + i]));
        sc[c] = m > 0 ? m / 127.0f : 1.0f;
    }
    return sc;
}

/* Output scales src_scale * w_scale[oc] (3. above) and attributes carrying them and po. */
static int q_scales(pctx *x, qconv *q, const float *w, int64_t per, dnnl_post_ops_t po)
{
    float ssc = q_scale(x->p, q->src);

    q->wsc = weight_scales(w, q->oc, per);
    q->osc = malloc((size_t)q->oc * sizeof(float));
    q->attr = q->wsc && q->osc ? nn_p_new_attr(po) : NULL;
    if (!q->attr)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    for (int64_t c = 0; c < q->oc; c++)
        q->osc[c] = ssc * q->wsc[c];
    if (dnnl_primitive_attr_set_output_scales(q->attr, q->oc, 1 << 1, q->osc) != dnnl_success)
        return nn_p_fail(x, dnnl_invalid_arguments, "set int8 output scales");
    return VAS_OK;
}

/* q->po again, the residual sum scaled from the residual's units (type prev_dt) and, for an
 * int8 output, a last linear post-op into the output's units. */
static int rescale_post_ops(const nn_plan *p, const qconv *q, dnnl_post_ops_t *out)
{
    dnnl_data_type_t odt = nn_q_dt(p, q->out), pdt = q->prev >= 0 ? nn_q_dt(p, q->prev) : odt;
    float psc = q->prev >= 0 && pdt != dnnl_f32 ? q_scale(p, q->prev) : 1.0f;
    dnnl_status_t st = dnnl_post_ops_create(out);

    for (int i = 0; st == dnnl_success && i < dnnl_post_ops_len(q->po); i++) {
        float k, a, b;
        dnnl_alg_kind_t alg;
        if (dnnl_post_ops_get_kind(q->po, i) == dnnl_sum) {
            st = dnnl_post_ops_append_sum_v2(*out, psc, pdt == odt ? dnnl_data_type_undef : pdt);
            continue;
        }
        st = dnnl_post_ops_get_params_eltwise(q->po, i, &k, &alg, &a, &b);
        if (st == dnnl_success)
            st = dnnl_post_ops_append_eltwise(*out, k, alg, a, b);
    }
    if (st == dnnl_success && odt != dnnl_f32)
        st =
            dnnl_post_ops_append_eltwise(*out, 1.0f, dnnl_eltwise_linear, 1.0f / q_scale(p, q->out),
                                         (float)p->vzp[nn_p_root(p, q->out)]);
    return st == dnnl_success ? VAS_OK : VAS_ENOMEM;
}

/* What an offset u8 source (zero code zs) adds to output channel c's accumulator beyond the
 * values it codes: zs times the sum of the channel's s8 weights, quantised as oneDNN's weight
 * re-order does it (q_weight_mem: w x 1 / scale, rounded to nearest even). Nothing for zs 0.
 * The fused residual's zero code is taken off the same way, in the output scale's units. */
static float zero_codes(const qconv *q, const float *w, int64_t per, int64_t c, int zs)
{
    float inv = 1.0f / q->wsc[c], sum = 0.0f;

    for (int64_t i = 0; zs && i < per; i++)
        sum += fminf(127.0f, fmaxf(-128.0f, nearbyintf(w[c * per + i] * inv)));
    return (float)zs * sum;
}

/* Source, fused chain, output type, residual, scales and attributes of the int8 conv x->n. */
static int q_prepare(pctx *x, qconv *q)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    const nn_const *w = p->tv[n->in[1]].c;
    const nn_const *b = n->n_in > 2 && n->in[2] >= 0 ? p->tv[n->in[2]].c : NULL;
    dnnl_post_ops_t po = NULL;
    float amax;
    int sum_src, neg, rc, zs, zr;

    q->src = as_int8(x, n->in[0]);
    if (q->src < 0)
        return q->src;
    if (dnnl_post_ops_create(&q->po) != dnnl_success)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    q->out = nn_p_fuse_chain(x, n->out[0], 1, q->po, &sum_src);
    /* int8 output only with a calibrated residual (it is re-read in the output's units) */
    if (wants_int8(p, q->out, 0) && (sum_src < 0 || seen(p, sum_src, &amax, &neg))) {
        p->vdt[q->out] = q_type(p, q->out, 1, &p->vsc[q->out], &p->vzp[q->out]);
        p->n_zp += p->vzp[q->out] != 0;
    }
    q->prev = sum_src < 0                      ? -1
              : nn_q_dt(p, q->out) == dnnl_f32 ? nn_q_as_f32(x, sum_src)
                                               : as_int8(x, sum_src);
    if (sum_src >= 0 && q->prev < 0)
        return q->prev;
    q->oc = w->dims[0];
    zs = p->vzp[nn_p_root(p, q->src)];
    zr = q->prev >= 0 ? p->vzp[nn_p_root(p, q->prev)] : 0;
    q->bias = b || zs || zr ? calloc((size_t)q->oc, sizeof(float)) : NULL;
    rc = !(b || zs || zr) || q->bias ? rescale_post_ops(p, q, &po) : VAS_ENOMEM;
    rc = rc >= 0 ? q_scales(x, q, w->data, w->count / q->oc, po)
                 : err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    for (int64_t c = 0; rc >= 0 && q->bias && c < q->oc; c++)
        q->bias[c] = (b ? (float)nn_const_getf(b, c) : 0.0f) / q->osc[c] -
                     zero_codes(q, w->data, w->count / q->oc, c, zs) -
                     (zr ? q_scale(p, q->prev) * (float)zr / q->osc[c] : 0.0f);
    if (po)
        dnnl_post_ops_destroy(po);
    return rc;
}

/* The residual copied into the output's buffer before the convolution adds to it. */
static int q_residual(pctx *x, const qconv *q)
{
    step *c;

    if (q->prev < 0)
        return VAS_OK;
    c = nn_plan_step_add(x->p);
    if (!c)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    c->kind = ST_COPY;
    c->name = x->n->name;
    c->src = q->prev;
    c->dst = q->out;
    return VAS_OK;
}

/* Float weights data (plain, desc user) as s8 in the layout primitive pd wants, with oneDNN's
 * compensation: a fixed memory of the plan in *out. */
static int q_weight_mem(pctx *x, const qconv *q, const dnnl_memory_desc_t *user, const float *data,
                        const_dnnl_primitive_desc_t pd, dnnl_memory_t *out)
{
    dnnl_primitive_attr_t ra = NULL; /* run now: oneDNN's own scratchpad */
    float *inv = malloc((size_t)q->oc * sizeof(float));
    int rc = inv && dnnl_primitive_attr_create(&ra) == dnnl_success
                 ? VAS_OK
                 : err_set(x->e, VAS_ENOMEM, "out of memory planning int8");

    for (int64_t c = 0; rc >= 0 && c < q->oc; c++)
        inv[c] = 1.0f / q->wsc[c];
    /* one scale per output channel: dim 0 of OIHW, dims 0 and 1 of GOIHW */
    if (rc >= 0 && dnnl_primitive_attr_set_output_scales(ra, q->oc, user->ndims == 5 ? 3 : 1,
                                                         inv) != dnnl_success)
        rc = nn_p_fail(x, dnnl_invalid_arguments, "set the weights' int8 scales");
    if (rc >= 0)
        rc = nn_p_reorder_fixed_attr(x, user, (void *)data,
                                     dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), ra,
                                     out);
    free(inv);
    if (ra)
        dnnl_primitive_attr_destroy(ra);
    return rc;
}

/* s8 weights in the primitive's layout, and the bias; then the step's arguments. */
static int q_weights(pctx *x, qconv *q, const_dnnl_primitive_desc_t pd, const nn_geom *gm, step *s)
{
    nn_plan *p = x->p;
    const nn_const *w = p->tv[x->n->in[1]].c;
    dnnl_memory_desc_t user, want, bmd;
    dnnl_memory_t wmem = NULL, bmem = NULL;
    dnnl_dims_t bd = {q->oc};
    int rc;

    nn_p_conv_dims(x->n, w, gm, &user, &want, dnnl_s8);
    rc = q_weight_mem(x, q, &user, w->data, pd, &wmem);
    dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a);
    if (rc >= 0 && q->bias &&
        (dnnl_memory_create(&bmem, &bmd, p->eng, q->bias) != dnnl_success ||
         nn_p_keep_fixed(p, bmem, q->bias) < 0))
        rc = err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    if (rc >= 0) {
        q->bias = NULL; /* the plan's now */
        nn_p_add_arg(s, DNNL_ARG_SRC, q->src, NULL);
        nn_p_add_arg(s, DNNL_ARG_WEIGHTS, -1, wmem);
        if (bmem)
            nn_p_add_arg(s, DNNL_ARG_BIAS, -1, bmem);
        nn_p_add_arg(s, DNNL_ARG_DST, q->out, NULL);
    }
    return rc;
}

static int q_conv(pctx *x)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    const nn_const *w = p->tv[n->in[1]].c;
    qconv q = {.prev = -1};
    dnnl_memory_desc_t src, dst, user, want, bmd;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_dims_t bd = {0};
    nn_geom gm;
    step *s = NULL;
    int rc = nn_geom_get(n, p->tv[n->in[0]].dims, w->dims, &gm, x->e);

    if (rc >= 0)
        rc = q_prepare(x, &q);
    if (rc >= 0)
        rc = nn_p_value_md(x, q.src, &src);
    if (rc >= 0)
        rc = nn_p_value_md(x, q.out, &dst);
    if (rc < 0)
        goto done;
    nn_p_conv_dims(n, w, &gm, &user, &want, dnnl_s8);
    bd[0] = q.oc;
    dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a);
    rc = nn_p_conv_desc(x, &gm, &src, &want, q.bias ? &bmd : NULL, &dst, &cd);
    if (rc >= 0)
        rc = q_residual(x, &q);
    if (rc >= 0)
        rc = nn_p_make_prim(x, &cd, q.attr, &pd, &s);
    if (rc >= 0)
        rc = q_weights(x, &q, pd, &gm, s);
    if (rc >= 0) {
        const nn_tval *o = &p->tv[q.out];
        p->flops += (double)w->count * 2.0 * (double)(o->dims[0] * o->dims[2] * o->dims[3]);
        p->n_q++;
    }
done:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    qconv_free(&q);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The deconvolution's product (nn_p_deconv_gemm): a 1x1 int8 convolution into f32
 * ------------------------------------------------------------------------------------------- */
int nn_q_product(pctx *x, const float *wt, int64_t tc, int64_t cin, const dnnl_memory_desc_t *tmd,
                 dnnl_memory_t tmem)
{
    qconv q = {.prev = -1, .out = -1, .oc = tc};
    dnnl_dims_t wd = {tc, cin, 1, 1}, one = {1, 1}, zero = {0, 0};
    dnnl_memory_desc_t src, user, want;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_t wmem = NULL;
    step *s = NULL;
    int rc;

    if (!x->p->vdt || !convt_q(x->p, x->n))
        return 1;
    q.src = as_int8(x, x->n->in[0]);
    rc = q.src < 0 ? q.src : q_scales(x, &q, wt, cin, NULL);
    if (rc >= 0)
        rc = nn_p_value_md(x, q.src, &src);
    dnnl_memory_desc_init_by_tag(&user, 4, wd, dnnl_f32, dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&want, 4, wd, dnnl_s8, dnnl_format_tag_any);
    if (rc >= 0 &&
        dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                           &src, &want, NULL, tmd, one, zero, zero) != dnnl_success)
        rc = nn_p_fail(x, dnnl_invalid_arguments, "describe the deconvolution's int8 product");
    if (rc >= 0)
        rc = nn_p_make_prim(x, &cd, q.attr, &pd, &s);
    if (rc >= 0)
        rc = q_weight_mem(x, &q, &user, wt, pd, &wmem);
    if (rc >= 0) {
        nn_p_add_arg(s, DNNL_ARG_SRC, q.src, NULL);
        nn_p_add_arg(s, DNNL_ARG_WEIGHTS, -1, wmem);
        nn_p_add_arg(s, DNNL_ARG_DST, -1, tmem);
        x->p->n_q++;
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    qconv_free(&q);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------------------------- */
int nn_q_node(pctx *x, int (*plan)(pctx *))
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    nn_node tmp = *n;
    int in[Q_MAX_IN], rc;

    if (conv_is_q(p, n))
        return q_conv(x);
    if (n->op == NN_OP_CONVT && nn_p_convt_gemm_ok(n)) /* it converts its input itself */
        return plan(x);
    if (n->op == NN_OP_MAXPOOL && nn_q_dt(p, n->in[0]) != dnnl_f32) {
        p->vdt[n->out[0]] = nn_q_dt(p, n->in[0]); /* max pooling keeps type and scale */
        p->vsc[n->out[0]] = q_scale(p, n->in[0]);
        return plan(x);
    }
    if (n->n_in > Q_MAX_IN)
        return err_set(x->e, VAS_EUNSUPPORTED, "node '%s' (%s): more than %d inputs", n->name,
                       n->op_type, Q_MAX_IN);
    for (int i = 0; i < n->n_in; i++) {
        in[i] = nn_q_as_f32(x, n->in[i]);
        if (n->in[i] >= 0 && in[i] < 0)
            return in[i];
    }
    tmp.in = in;
    x->n = &tmp;
    rc = plan(x);
    x->n = n;
    return rc;
}
