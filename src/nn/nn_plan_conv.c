/* nn_plan_conv.c - Conv and ConvTranspose steps, with what they absorb: a residual Add (sum
 * post-op) and activations (eltwise post-ops) that are the only readers of their output.
 *
 * DESIGN. Fusion follows the single-consumer chain after the convolution: Add (first post-op
 * only, with the other operand already computed and of the same shape) then any activations.
 * oneDNN's convolution picks its own weight layout (format_tag_any); the ONNX weights are
 * re-ordered into it once, at plan time. Float32 3x3 stride-1 convolutions of 32 channels and
 * more run Winograd's algorithm by a step of ours (nn_wino.c) on AVX2 and AVX-512; on AVX-512 one
 * that step does not take (a fused activation it lacks) may still run oneDNN's Winograd kernels
 * (below). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

/* ---------------------------------------------------------------------------------------------
 * Fusion
 * ------------------------------------------------------------------------------------------- */
int nn_p_is_output(const nn_graph *g, int v)
{
    for (int i = 0; i < g->n_outs; i++)
        if (g->outs[i] == v)
            return 1;
    return 0;
}

/* The only node reading v, or -1. */
static int sole_consumer(const nn_plan *p, int v)
{
    if (p->cons[v] != 1 || nn_p_is_output(p->g, v))
        return -1;
    for (int i = 0; i < p->g->n_nodes; i++) {
        const nn_node *n = &p->g->nodes[i];
        for (int j = 0; n->op != NN_OP_NONE && j < n->n_in; j++)
            if (n->in[j] == v)
                return i;
    }
    return -1;
}

/* Eltwise post-op(s) for activation node n; 0 if n is no activation. */
static int append_act(const nn_plan *p, const nn_node *n, dnnl_post_ops_t po)
{
    const nn_tval *lo = n->n_in > 1 && n->in[1] >= 0 ? &p->tv[n->in[1]] : NULL;
    const nn_tval *hi = n->n_in > 2 && n->in[2] >= 0 ? &p->tv[n->in[2]] : NULL;

    switch (n->op) {
    case NN_OP_RELU:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0, 0) == dnnl_success;
    case NN_OP_LEAKY:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu,
                                            nn_attr_float(n, "alpha", 0.01f), 0) == dnnl_success;
    case NN_OP_SIGMOID:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_logistic, 0, 0) == dnnl_success;
    case NN_OP_HSWISH:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_hardswish, 0, 0) == dnnl_success;
    case NN_OP_HSIGMOID:
        return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear,
                                            nn_attr_float(n, "alpha", 0.2f),
                                            nn_attr_float(n, "beta", 0.5f)) == dnnl_success &&
               dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, 0, 1) == dnnl_success;
    case NN_OP_CLIP:
        return dnnl_post_ops_append_eltwise(
                   po, 1.0f, dnnl_eltwise_clip,
                   lo && lo->c ? (float)nn_const_getf(lo->c, 0) : -INFINITY,
                   hi && hi->c ? (float)nn_const_getf(hi->c, 0) : INFINITY) == dnnl_success;
    default:
        return 0;
    }
}

/* Follows v through a residual Add (if allow_sum) and activations, appending post-ops; returns
 * the value the fused step writes and, in *sum_src, the residual operand (or -1). */
int nn_p_fuse_chain(pctx *x, int v, int allow_sum, dnnl_post_ops_t po, int *sum_src)
{
    nn_plan *p = x->p;
    int c;

    *sum_src = -1;
    while ((c = sole_consumer(p, v)) >= 0) {
        const nn_node *n = &p->g->nodes[c];
        if (n->op == NN_OP_ADD && allow_sum && dnnl_post_ops_len(po) == 0) {
            int other = n->in[0] == v ? n->in[1] : n->in[0];
            const nn_tval *o = &p->tv[other], *t = &p->tv[v];
            if (other == v || o->c || o->ndims != 4 || !p->ready[other] ||
                memcmp(o->dims, t->dims, sizeof(int64_t) * 4) != 0)
                break;
            if (dnnl_post_ops_append_sum(po, 1.0f) != dnnl_success)
                break;
            *sum_src = other;
        } else if (!append_act(p, n, po)) {
            break;
        }
        p->done[c] = 1;
        v = n->out[0];
    }
    return v;
}

/* ---------------------------------------------------------------------------------------------
 * Convolutions
 * ------------------------------------------------------------------------------------------- */
void nn_p_conv_dims(const nn_node *n, const nn_const *w, const nn_geom *gm,
                    dnnl_memory_desc_t *user, dnnl_memory_desc_t *want, dnnl_data_type_t dt)
{
    int deconv = n->op == NN_OP_CONVT;
    int64_t g = gm->group;
    int64_t oc = deconv ? w->dims[1] * g : w->dims[0];
    int64_t ic = deconv ? w->dims[0] : w->dims[1] * g;
    dnnl_dims_t d = {g, oc / g, ic / g, w->dims[2], w->dims[3]};

    if (g == 1) {
        dnnl_dims_t d4 = {oc, ic, w->dims[2], w->dims[3]};
        dnnl_memory_desc_init_by_tag(user, 4, d4, dnnl_f32, deconv ? dnnl_iohw : dnnl_oihw);
        dnnl_memory_desc_init_by_tag(want, 4, d4, dt, dnnl_format_tag_any);
    } else {
        dnnl_memory_desc_init_by_tag(user, 5, d, dnnl_f32, deconv ? dnnl_giohw : dnnl_goihw);
        dnnl_memory_desc_init_by_tag(want, 5, d, dt, dnnl_format_tag_any);
    }
}

int nn_p_conv_desc(pctx *x, const nn_geom *gm, const dnnl_memory_desc_t *src,
                   const dnnl_memory_desc_t *wmd, const dnnl_memory_desc_t *bmd,
                   const dnnl_memory_desc_t *dst, dnnl_convolution_desc_t *cd)
{
    dnnl_dims_t s = {gm->s[0], gm->s[1]}, d = {gm->d[0] - 1, gm->d[1] - 1};
    dnnl_dims_t pl = {gm->pl[0], gm->pl[1]}, pr = {gm->pr[0], gm->pr[1]};
    dnnl_status_t st;

    if (x->n->op == NN_OP_CONVT)
        st = dnnl_dilated_deconvolution_forward_desc_init(cd, dnnl_forward_inference,
                                                          dnnl_deconvolution_direct, src, wmd, bmd,
                                                          dst, s, d, pl, pr);
    else
        st = dnnl_dilated_convolution_forward_desc_init(
            cd, dnnl_forward_inference, dnnl_convolution_direct, src, wmd, bmd, dst, s, d, pl, pr);
    return st == dnnl_success ? VAS_OK : nn_p_fail(x, st, "describe this convolution");
}

/* The residual copied into dst before the convolution adds to it (nn_arena.c may elide it). */
static int residual_copy(pctx *x, int sum_src, int dst)
{
    int from = nn_q_as_f32(x, sum_src); /* int8 plans: an int8 residual, dequantised */
    step *c;

    if (from >= 0 && x->p->blk && !dnnl_memory_desc_equal(&x->p->md[from], &x->p->md[dst])) {
        x->p->blk_refused = 1; /* a memcpy cannot join two layouts: plan again in NHWC */
        return err_set(x->e, VAS_EUNSUPPORTED, "node '%s': residual in another layout", x->n->name);
    }
    c = from >= 0 ? nn_plan_step_add(x->p) : NULL;
    if (!c)
        return from < 0 ? from
                        : err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    c->kind = ST_COPY;
    c->name = x->n->name;
    c->src = from;
    c->dst = dst;
    return VAS_OK;
}

/* Step s (of primitive pd) reads src and writes dst with weights w re-ordered as pd wants them
 * (once, now) and bias b, if any, as bmd. */
static int conv_bind(pctx *x, step *s, const_dnnl_primitive_desc_t pd,
                     const dnnl_memory_desc_t *wuser, const dnnl_memory_desc_t *bmd, int src,
                     int dst)
{
    const nn_node *n = x->n;
    const nn_const *w = x->p->tv[n->in[1]].c;
    const nn_const *b = n->n_in > 2 && n->in[2] >= 0 ? x->p->tv[n->in[2]].c : NULL;
    dnnl_memory_t wmem = NULL, bmem = NULL;
    int rc = nn_p_reorder_fixed(x, wuser, w->data,
                                dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &wmem);

    if (rc >= 0 && b &&
        (dnnl_memory_create(&bmem, bmd, x->p->eng, b->data) != dnnl_success ||
         nn_p_keep_fixed(x->p, bmem, NULL) < 0))
        rc = err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    if (rc < 0)
        return rc;
    nn_p_add_arg(s, DNNL_ARG_SRC, src, NULL);
    nn_p_add_arg(s, DNNL_ARG_WEIGHTS, -1, wmem);
    if (b)
        nn_p_add_arg(s, DNNL_ARG_BIAS, -1, bmem);
    nn_p_add_arg(s, DNNL_ARG_DST, dst, NULL);
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Winograd (AVX-512), for the convolutions nn_wino.c leaves (a fused activation it lacks)
 *
 * oneDNN's Winograd kernels (F(4x4, 3x3) and F(2x2, 3x3), avx512_core only, fp32, nChw16c)
 * do a 3x3 stride-1 convolution in a third to two thirds of the direct kernels' time from 64
 * channels up (one core of an AVX-512 Xeon: 256 channels at 40x30 2.7 ms against 7.8, 64 at
 * 160x120 5.5 against 8.1), and slower below that (32 channels at 160x120: 3.2 against 2.1).
 * Such a convolution reads an nChw16c copy of its input (shared by the next one that needs it)
 * and writes an nChw16c copy of its output, which a reorder turns into the plan's layout. Its
 * results differ from the direct kernels' by rounding (the transforms): 1e-6 of the outputs'
 * range on the fixtures (test_nn.c).
 * ------------------------------------------------------------------------------------------- */
static int wino_wanted(const nn_plan *p, const nn_node *n, const nn_geom *gm, int sum_src)
{
    const nn_tval *t = &p->tv[n->in[0]], *o = &p->tv[n->out[0]];

    return !p->bf16 && !p->rg && !p->blk && p->wino && (nn_cpu_features() & NN_CPU_AVX512) &&
           sum_src < 0 && gm->group == 1 && gm->k[0] == 3 && gm->k[1] == 3 && gm->s[0] == 1 &&
           gm->s[1] == 1 && gm->d[0] == 1 && gm->d[1] == 1 && t->ndims == 4 && o->ndims == 4 &&
           t->dims[1] % 16 == 0 && o->dims[1] % 16 == 0 && t->dims[1] >= 64 && o->dims[1] >= 64;
}

/* Plans x->n as a Winograd convolution from in into out: 1 when planned, 0 when oneDNN has no
 * Winograd kernel for it (nothing planned), < 0 on errors. */
static int wino_plan(pctx *x, const nn_geom *gm, const nn_const *b,
                     const_dnnl_primitive_attr_t attr, int in, int out)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    const nn_const *w = p->tv[n->in[1]].c;
    dnnl_dims_t s = {1, 1}, pl = {gm->pl[0], gm->pl[1]}, pr = {gm->pr[0], gm->pr[1]};
    dnnl_dims_t bd = {p->tv[out].dims[1]};
    dnnl_memory_desc_t src, dst, wuser, wwant, bmd;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    step *st = NULL;
    int sin = p->g->n_vals + nn_p_root(p, in), sout, rc;

    if (p->ready[sin] && p->vtag[sin] != NN_TAG_BLOCKED16)
        return 0;
    sout = nn_layout_blocked16_slot(p, out);
    if (sout < 0)
        return 0;
    if (!p->ready[sin])
        nn_layout_blocked16_slot(p, in); /* described now, written below */
    nn_p_conv_dims(n, w, gm, &wuser, &wwant, dnnl_f32);
    dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a);
    rc = nn_p_value_md(x, sin, &src);
    if (rc >= 0)
        rc = nn_p_value_md(x, sout, &dst);
    if (rc < 0)
        return rc;
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_winograd,
                                           &src, &wwant, b ? &bmd : NULL, &dst, s, pl,
                                           pr) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &cd, attr, p->eng, NULL) != dnnl_success)
        return 0;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (!impl || !strstr(impl, "wino")) {
        dnnl_primitive_desc_destroy(pd);
        return 0;
    }
    rc = nn_layout_as_blocked16(x, in); /* sin: the copy made now, or the one made before */
    if (rc >= 0)
        rc = nn_p_step_from_pd(x, pd, &st);
    if (rc >= 0)
        rc = conv_bind(x, st, pd, &wuser, &bmd, sin, sout);
    dnnl_primitive_desc_destroy(pd);
    if (rc < 0)
        return rc;
    p->ready[sout] = 1;
    p->n_wino++;
    rc = nn_p_shadow_step(x, sout, out, NULL, "copy out of nChw16c");
    return rc < 0 ? rc : 1;
}

int nn_p_conv(pctx *x)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    const nn_tval *t = &p->tv[n->in[0]];
    const nn_const *w = p->tv[n->in[1]].c;
    const nn_const *b = n->n_in > 2 && n->in[2] >= 0 ? p->tv[n->in[2]].c : NULL;
    dnnl_memory_desc_t src, dst, wuser, wwant, bmd;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    nn_geom gm;
    step *s = NULL;
    int sum_src, out, rc, in = n->in[0];
    dnnl_dims_t bd = {0};

    rc = nn_geom_get(n, t->dims, w->dims, &gm, x->e);
    if (rc < 0)
        return rc;
    if (nn_dw_wanted(x, &gm, p->dw_mode))
        return nn_dw_plan(x, &gm);
    if (dnnl_post_ops_create(&po) != dnnl_success)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    out = nn_p_fuse_chain(x, n->out[0], 1, po, &sum_src);
    attr = nn_p_new_attr(po);
    if (nn_layout_tag(p, n->in[0]) != dnnl_nhwc && nn_layout_tag(p, out) == dnnl_nhwc)
        in = nn_layout_as_nhwc(x, n->in[0]); /* blocked plans: no kernel for that pair */
    rc = in < 0 ? in : nn_p_value_md(x, in, &src);
    if (rc >= 0)
        rc = nn_p_value_md(x, out, &dst);
    if (rc >= 0 && nn_layout_tag(p, in) == nn_layout_tag(p, out) &&
        (nn_layout_tag(p, out) == dnnl_nChw8c || nn_layout_tag(p, out) == dnnl_nhwc) &&
        nn_wino_wanted(p, n, &gm, po)) {
        if (sum_src >= 0)
            rc = residual_copy(x, sum_src, out);
        if (rc >= 0)
            rc = nn_wino_plan(x, &gm, po, in, out);
        if (rc < 0)
            goto done;
        goto flops;
    }
    if (rc >= 0 && wino_wanted(p, n, &gm, sum_src)) {
        rc = wino_plan(x, &gm, b, attr, in, out);
        if (rc > 0)
            goto flops;
    }
    if (rc < 0)
        goto done;
    nn_p_conv_dims(n, w, &gm, &wuser, &wwant, nn_p_act_dt(p));
    bd[0] = p->tv[out].dims[1];
    dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a);
    rc = nn_p_conv_desc(x, &gm, &src, &wwant, b ? &bmd : NULL, &dst, &cd);
    if (rc >= 0 && sum_src >= 0)
        rc = residual_copy(x, sum_src, out);
    if (rc >= 0)
        rc = nn_p_make_prim(x, &cd, attr, &pd, &s);
    if (rc >= 0)
        rc = conv_bind(x, s, pd, &wuser, &bmd, in, out);
    if (rc < 0)
        goto done;
flops:
    rc = VAS_OK;
    {
        const nn_tval *o = &p->tv[out];
        double per = (double)(w->count) * 2.0;
        p->flops += n->op == NN_OP_CONV ? per * (double)(o->dims[0] * o->dims[2] * o->dims[3])
                                        : per * (double)(t->dims[0] * t->dims[2] * t->dims[3]);
    }
done:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    dnnl_post_ops_destroy(po);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * ConvTranspose as GEMM + col2im
 *
 * oneDNN 2.6's direct deconvolution reaches ~40 GFLOP/s on DLC's heads (2048 channels in, 17 or
 * 34 out): few output channels leave its vector lanes idle. The same product is a 1x1
 * convolution from Cin to K*K*OC channels (~300 GFLOP/s) followed by a cheap gather of the
 * K*K taps into each output pixel. Activations after it run as separate eltwise steps.
 * ------------------------------------------------------------------------------------------- */
/* ONNX ConvTranspose weights (Cin, OC, kh, kw) as a 1x1 convolution's (kh*kw*OC, Cin): taps
 * outermost, so that each tap's OC outputs are contiguous in the product. New array or NULL. */
static float *gemm_weights(const nn_const *w)
{
    int64_t cin = w->dims[0], oc = w->dims[1], kk = w->dims[2] * w->dims[3];
    float *wt = malloc((size_t)w->count * sizeof(float));

    for (int64_t i = 0; wt && i < cin; i++)
        for (int64_t j = 0; j < oc; j++)
            for (int64_t k = 0; k < kk; k++)
                wt[(k * oc + j) * cin + i] = ((const float *)w->data)[(i * oc + j) * kk + k];
    return wt;
}

/* The product's buffer, owned by the plan (not the arena: it lives only inside this step). */
static int product_mem(pctx *x, const dnnl_memory_desc_t *tmd, dnnl_memory_t *tmem, void **tbuf)
{
    *tbuf = aligned_alloc(64, (dnnl_memory_desc_get_size(tmd) + 63) / 64 * 64);
    *tmem = NULL;
    if (!*tbuf || dnnl_memory_create(tmem, tmd, x->p->eng, *tbuf) != dnnl_success ||
        nn_p_keep_fixed(x->p, *tmem, *tbuf) < 0) {
        if (*tmem)
            dnnl_memory_destroy(*tmem);
        free(*tbuf);
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    }
    return VAS_OK;
}

static void col2im_params(step *c, const nn_node *n, const nn_geom *gm, const nn_tval *t,
                          const nn_const *w, const nn_const *b)
{
    c->kind = ST_COL2IM;
    c->name = n->name;
    c->src = -1;
    c->dst = n->out[0];
    c->bias = b ? b->data : NULL;
    for (int i = 0; i < 2; i++) {
        c->kk[i] = gm->k[i];
        c->ks[i] = gm->s[i];
        c->kpl[i] = gm->pl[i];
        c->kin[i] = t->dims[2 + i];
    }
    c->koc = w->dims[1];
}

int nn_p_convt_gemm_ok(const nn_node *n)
{
    int64_t d[2] = {1, 1};

    nn_attr_ints(n, "dilations", d, 2);
    return n->op == NN_OP_CONVT && nn_attr_int(n, "group", 1) == 1 && d[0] == 1 && d[1] == 1;
}

/* The product in float (bf16 with --bf16): value v (Cin) into tmem (K*K*OC), one step. */
static int product_float(pctx *x, int v, const float *wt, int64_t tc, int64_t cin,
                         const dnnl_memory_desc_t *tmd, dnnl_memory_t tmem)
{
    nn_plan *p = x->p;
    dnnl_dims_t wd = {tc, cin, 1, 1}, one = {1, 1}, zero = {0, 0};
    dnnl_memory_desc_t src, wuser, wwant;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = nn_p_new_attr(NULL);
    dnnl_memory_t wmem = NULL;
    step *s = NULL;
    int rc = v < 0 ? v : attr ? nn_p_value_md(x, v, &src) : VAS_ENOMEM;

    if (rc == VAS_ENOMEM)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    dnnl_memory_desc_init_by_tag(&wuser, 4, wd, dnnl_f32, dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&wwant, 4, wd, nn_p_act_dt(p), dnnl_format_tag_any);
    if (rc >= 0 && dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                                      dnnl_convolution_direct, &src, &wwant, NULL,
                                                      tmd, one, zero, zero) != dnnl_success)
        rc = nn_p_fail(x, dnnl_invalid_arguments, "describe the deconvolution's product");
    if (rc >= 0)
        rc = nn_p_make_prim(x, &cd, attr, &pd, &s);
    if (rc >= 0)
        rc = nn_p_reorder_fixed(x, &wuser, (void *)wt,
                                dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &wmem);
    if (rc >= 0) {
        nn_p_add_arg(s, DNNL_ARG_SRC, v, NULL);
        nn_p_add_arg(s, DNNL_ARG_WEIGHTS, -1, wmem);
        nn_p_add_arg(s, DNNL_ARG_DST, -1, tmem);
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return rc;
}

int nn_p_deconv_gemm(pctx *x)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    const nn_tval *t = &p->tv[n->in[0]];
    const nn_const *w = p->tv[n->in[1]].c;
    const nn_const *b = n->n_in > 2 && n->in[2] >= 0 ? p->tv[n->in[2]].c : NULL;
    int64_t cin = w->dims[0], tc = w->dims[1] * w->dims[2] * w->dims[3];
    dnnl_dims_t td = {t->dims[0], tc, t->dims[2], t->dims[3]};
    dnnl_memory_desc_t dst, tmd;
    dnnl_memory_t tmem = NULL;
    float *wt = gemm_weights(w);
    void *tbuf = NULL;
    nn_geom gm;
    step *c;
    int rc = wt ? nn_geom_get(n, t->dims, w->dims, &gm, x->e)
                : err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);

    if (rc >= 0)
        rc = nn_p_value_md(x, n->out[0], &dst);
    dnnl_memory_desc_init_by_tag(&tmd, 4, td, nn_p_act_dt(p), dnnl_nhwc);
    if (rc >= 0)
        rc = product_mem(x, &tmd, &tmem, &tbuf);
    if (rc >= 0) /* int8 plans: an int8 product where the input was calibrated (1: not) */
        rc = nn_q_product(x, wt, tc, cin, &tmd, tmem);
    if (rc == 1) /* the product reads NHWC (blocked plans: a copy) */
        rc = product_float(x, nn_layout_as_nhwc(x, nn_q_as_f32(x, n->in[0])), wt, tc, cin, &tmd,
                           tmem);
    c = rc >= 0 ? nn_plan_step_add(p) : NULL;
    if (rc >= 0 && !c)
        rc = err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    if (rc >= 0) {
        col2im_params(c, n, &gm, t, w, b);
        c->tbuf = tbuf;
        p->flops += (double)w->count * 2.0 * (double)(t->dims[0] * t->dims[2] * t->dims[3]);
    }
    free(wt);
    return rc;
}
