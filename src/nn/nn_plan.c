/* nn_plan.c - turn a graph at one input size into steps on oneDNN primitives.
 *
 * DESIGN. Runtime 4-D activations are NHWC (f32, or bf16 with --bf16; int8 plans store some as
 * u8/s8 and plan their convolutions in nn_plan_q.c, the rest here). A convolution absorbs
 * what follows it when it is the only reader of its output and that output is no graph output:
 * a residual Add (oneDNN sum post-op; nn_arena.c makes it in-place when it can) and then
 * activations (eltwise post-ops). Weights are re-ordered once, here, into the layout the
 * primitive chose (format_tag_any). Everything oneDNN cannot implement is refused with the node
 * named, never run by a slow fallback of ours. Where oneDNN itself would fall back (a gemm or
 * reference loop for a dilated depthwise convolution on AVX2), nn_dwconv.c runs it instead. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

int nn_p_fail(pctx *x, dnnl_status_t st, const char *what)
{
    return err_set(x->e, st == dnnl_out_of_memory ? VAS_ENOMEM : VAS_EUNSUPPORTED,
                   "node '%s' (%s): oneDNN cannot %s (status %d)", x->n->name, x->n->op_type, what,
                   (int)st);
}

dnnl_data_type_t nn_p_act_dt(const nn_plan *p)
{
    return p->bf16 ? dnnl_bf16 : dnnl_f32;
}

step *nn_plan_step_add(nn_plan *p)
{
    if (p->n_steps == p->cap_steps) {
        int cap = p->cap_steps ? p->cap_steps * 2 : 64;
        step *s = realloc(p->steps, (size_t)cap * sizeof(*s));
        if (!s)
            return NULL;
        p->steps = s;
        p->cap_steps = cap;
    }
    memset(&p->steps[p->n_steps], 0, sizeof(step));
    p->steps[p->n_steps].src = p->steps[p->n_steps].dst = -1;
    return &p->steps[p->n_steps++];
}

void nn_p_add_arg(step *s, int arg, int val, dnnl_memory_t mem)
{
    if (!s || s->n_args >= NN_STEP_ARGS - 1) /* one slot stays for the scratchpad */
        return;
    s->args[s->n_args].arg = arg;
    s->args[s->n_args].val = val;
    s->args[s->n_args].mem = mem;
    s->n_args++;
}

/* Keeps mem (and buf, when not NULL) for the plan's lifetime. */
int nn_p_keep_fixed(nn_plan *p, dnnl_memory_t mem, void *buf)
{
    if (p->n_fixed == p->cap_fixed) {
        int cap = p->cap_fixed ? p->cap_fixed * 2 : 64;
        dnnl_memory_t *m =
            realloc(p->fixed, (size_t)cap * sizeof(*m)); // NOLINT(bugprone-sizeof-expression)
        void **b = m ? realloc(p->fixed_buf, (size_t)cap * sizeof(*b)) : NULL;
        if (m)
            p->fixed = m;
        if (!b)
            return -1;
        p->fixed_buf = b;
        p->cap_fixed = cap;
    }
    p->fixed[p->n_fixed] = mem;
    p->fixed_buf[p->n_fixed++] = buf;
    return 0;
}

/* Memory of desc `want` holding src (plain f32 memory `from`), re-ordered now. */
int nn_p_reorder_fixed(pctx *x, const dnnl_memory_desc_t *from, void *data,
                       const dnnl_memory_desc_t *want, dnnl_memory_t *out)
{
    return nn_p_reorder_fixed_attr(x, from, data, want, NULL, out);
}

int nn_p_reorder_fixed_attr(pctx *x, const dnnl_memory_desc_t *from, void *data,
                            const dnnl_memory_desc_t *want, const_dnnl_primitive_attr_t attr,
                            dnnl_memory_t *out)
{
    nn_plan *p = x->p;
    dnnl_memory_t src = NULL, dst = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t r = NULL;
    size_t sz = dnnl_memory_desc_get_size(want);
    void *buf = aligned_alloc(64, (sz + 63) / 64 * 64);
    dnnl_status_t st = buf ? dnnl_success : dnnl_out_of_memory;

    if (st == dnnl_success)
        st = dnnl_memory_create(&src, from, p->eng, data);
    if (st == dnnl_success)
        st = dnnl_memory_create(&dst, want, p->eng, buf);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&pd, from, p->eng, want, p->eng, attr);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&r, pd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
        st = dnnl_primitive_execute(r, p->tmp_stream, 2, a);
        if (st == dnnl_success)
            st = dnnl_stream_wait(p->tmp_stream);
    }
    if (r)
        dnnl_primitive_destroy(r);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (src)
        dnnl_memory_destroy(src);
    if (st == dnnl_success && nn_p_keep_fixed(p, dst, buf) == 0) {
        p->weight_bytes += sz;
        *out = dst;
        return VAS_OK;
    }
    if (dst)
        dnnl_memory_destroy(dst);
    free(buf);
    return nn_p_fail(x, st == dnnl_success ? dnnl_out_of_memory : st, "re-order weights");
}

/* Desc of runtime value v in its layout (nn_plan_layout.c), of its storage type (nn_q_dt). */
int nn_p_value_md(pctx *x, int v, dnnl_memory_desc_t *md)
{
    const nn_tval *t = &x->p->tv[v];
    dnnl_dims_t d;

    if (t->ndims != 4)
        return err_set(x->e, VAS_EUNSUPPORTED,
                       "node '%s' (%s): runtime tensors must be "
                       "N x C x H x W (this one has %d dims)",
                       x->n->name, x->n->op_type, t->ndims);
    for (int i = 0; i < 4; i++)
        d[i] = t->dims[i];
    if (dnnl_memory_desc_init_by_tag(md, 4, d, nn_q_dt(x->p, v), nn_layout_tag(x->p, v)) !=
        dnnl_success)
        return nn_p_fail(x, dnnl_invalid_arguments, "describe a tensor");
    x->p->md[v] = *md;
    return VAS_OK;
}

int nn_p_const_mem(pctx *x, const nn_const *c, dnnl_memory_desc_t *md, dnnl_memory_t *out)
{
    dnnl_dims_t d = {1, 1, 1, 1};
    dnnl_memory_desc_t plain;
    float *tmp;
    int rc;

    if (c->ndims > 4)
        return err_set(x->e, VAS_EUNSUPPORTED, "node '%s' (%s): constant has %d dims", x->n->name,
                       x->n->op_type, c->ndims);
    for (int i = 0; i < c->ndims; i++)
        d[4 - c->ndims + i] = c->dims[i];
    tmp = malloc((size_t)c->count * sizeof(float) + 4);
    if (!tmp)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    for (int64_t i = 0; i < c->count; i++)
        tmp[i] = (float)nn_const_getf(c, i);
    dnnl_memory_desc_init_by_tag(&plain, 4, d, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(md, 4, d, nn_p_act_dt(x->p), dnnl_nhwc);
    rc = nn_p_reorder_fixed(x, &plain, tmp, md, out);
    free(tmp);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Primitive helpers
 * ------------------------------------------------------------------------------------------- */
/* Creates the primitive of op_desc with attr into a new step; the step's args come after. */
int nn_p_make_prim(pctx *x, const_dnnl_op_desc_t od, dnnl_primitive_attr_t attr,
                   dnnl_primitive_desc_t *pdout, step **sout)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, od, attr, x->p->eng, NULL);
    step *s;

    if (st != dnnl_success)
        return nn_p_fail(x, st, "implement this operator with these parameters");
    s = nn_plan_step_add(x->p);
    if (!s) {
        dnnl_primitive_desc_destroy(pd);
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", x->n->name);
    }
    s->name = x->n->name;
    if (nn_layout_impl_ok(x, pd) < 0) {
        x->p->n_steps--;
        dnnl_primitive_desc_destroy(pd);
        return VAS_EUNSUPPORTED;
    }
    st = dnnl_primitive_create(&s->prim, pd);
    if (st == dnnl_success) {
        const dnnl_memory_desc_t *sm =
            dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        s->scratch = sm ? dnnl_memory_desc_get_size(sm) : 0;
        if (s->scratch)
            s->scratch_md = *sm;
    }
    if (st != dnnl_success) {
        x->p->n_steps--;
        dnnl_primitive_desc_destroy(pd);
        return nn_p_fail(x, st, "create the primitive");
    }
    *pdout = pd;
    *sout = s;
    return VAS_OK;
}

dnnl_primitive_attr_t nn_p_new_attr(dnnl_post_ops_t po)
{
    dnnl_primitive_attr_t a = NULL;

    if (dnnl_primitive_attr_create(&a) != dnnl_success)
        return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user);
    if (po)
        dnnl_primitive_attr_set_post_ops(a, po);
    return a;
}

/* ---------------------------------------------------------------------------------------------
 * Operators
 * ------------------------------------------------------------------------------------------- */
static int binary_alg(int op)
{
    return op == NN_OP_ADD   ? dnnl_binary_add
           : op == NN_OP_MUL ? dnnl_binary_mul
           : op == NN_OP_SUB ? dnnl_binary_sub
                             : dnnl_binary_div;
}

static int plan_binary(pctx *x)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    int a = n->in[0], b = n->in[1], comm = n->op == NN_OP_ADD || n->op == NN_OP_MUL, out, sum;
    const nn_tval *o = &p->tv[n->out[0]];
    dnnl_memory_desc_t m0, m1, md;
    dnnl_memory_t cmem = NULL;
    dnnl_binary_desc_t bd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    step *s;
    int rc;

    if (comm && (p->tv[a].c || memcmp(p->tv[a].dims, o->dims, sizeof(int64_t) * 4) != 0)) {
        a = n->in[1];
        b = n->in[0];
    }
    if (p->tv[a].c || p->tv[a].ndims != o->ndims ||
        memcmp(p->tv[a].dims, o->dims, sizeof(int64_t) * (size_t)o->ndims) != 0)
        return err_set(x->e, VAS_EUNSUPPORTED,
                       "node '%s' (%s): the first operand must be the "
                       "runtime tensor of the output's shape",
                       n->name, n->op_type);
    rc = nn_p_value_md(x, a, &m0);
    if (rc >= 0)
        rc = p->tv[b].c ? nn_p_const_mem(x, p->tv[b].c, &m1, &cmem) : nn_p_value_md(x, b, &m1);
    if (rc < 0)
        return rc;
    if (dnnl_post_ops_create(&po) != dnnl_success)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    out = nn_p_fuse_chain(x, n->out[0], 0, po, &sum);
    attr = nn_p_new_attr(po);
    rc = nn_p_value_md(x, out, &md);
    if (rc >= 0 && dnnl_binary_desc_init(&bd, binary_alg(n->op), &m0, &m1, &md) != dnnl_success)
        rc = nn_p_fail(x, dnnl_invalid_arguments, "describe this broadcast");
    if (rc >= 0)
        rc = nn_p_make_prim(x, &bd, attr, &pd, &s);
    if (rc >= 0) {
        nn_p_add_arg(s, DNNL_ARG_SRC_0, a, NULL);
        nn_p_add_arg(s, DNNL_ARG_SRC_1, cmem ? -1 : b, cmem);
        nn_p_add_arg(s, DNNL_ARG_DST, out, NULL);
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    dnnl_post_ops_destroy(po);
    return rc;
}

static int eltwise_step(pctx *x, int src, int dst, int alg, float alpha, float beta)
{
    dnnl_memory_desc_t md;
    dnnl_eltwise_desc_t ed;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = nn_p_new_attr(NULL);
    step *s = NULL;
    int rc = nn_p_value_md(x, src, &md);

    if (rc >= 0)
        rc = nn_p_value_md(x, dst, &md);
    if (rc >= 0 && dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, alg, &md, alpha,
                                                  beta) != dnnl_success)
        rc = nn_p_fail(x, dnnl_invalid_arguments, "describe this activation");
    if (rc >= 0)
        rc = nn_p_make_prim(x, &ed, attr, &pd, &s);
    if (rc >= 0) {
        nn_p_add_arg(s, DNNL_ARG_SRC, src, NULL);
        nn_p_add_arg(s, DNNL_ARG_DST, dst, NULL);
        dnnl_primitive_desc_destroy(pd);
    }
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return rc;
}

static int plan_eltwise(pctx *x)
{
    const nn_node *n = x->n;
    int i = n->in[0], o = n->out[0];
    const nn_tval *lo = n->n_in > 1 && n->in[1] >= 0 ? &x->p->tv[n->in[1]] : NULL;
    const nn_tval *hi = n->n_in > 2 && n->in[2] >= 0 ? &x->p->tv[n->in[2]] : NULL;
    int rc;

    switch (n->op) {
    case NN_OP_RELU:
        return eltwise_step(x, i, o, dnnl_eltwise_relu, 0, 0);
    case NN_OP_LEAKY:
        return eltwise_step(x, i, o, dnnl_eltwise_relu, nn_attr_float(n, "alpha", 0.01f), 0);
    case NN_OP_SIGMOID:
        return eltwise_step(x, i, o, dnnl_eltwise_logistic, 0, 0);
    case NN_OP_HSWISH:
        return eltwise_step(x, i, o, dnnl_eltwise_hardswish, 0, 0);
    case NN_OP_CLIP:
        return eltwise_step(x, i, o, dnnl_eltwise_clip,
                            lo && lo->c ? (float)nn_const_getf(lo->c, 0) : -INFINITY,
                            hi && hi->c ? (float)nn_const_getf(hi->c, 0) : INFINITY);
    default: /* HardSigmoid: linear, then clip in place */
        rc = eltwise_step(x, i, o, dnnl_eltwise_linear, nn_attr_float(n, "alpha", 0.2f),
                          nn_attr_float(n, "beta", 0.5f));
        return rc < 0 ? rc : eltwise_step(x, o, o, dnnl_eltwise_clip, 0, 1);
    }
}

static int plan_pool(pctx *x)
{
    const nn_node *n = x->n;
    const nn_tval *t = &x->p->tv[n->in[0]];
    dnnl_memory_desc_t src, dst;
    dnnl_pooling_v2_desc_t pdsc;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = nn_p_new_attr(NULL);
    nn_geom gm;
    step *s;
    int alg = n->op == NN_OP_MAXPOOL                   ? dnnl_pooling_max
              : nn_attr_int(n, "count_include_pad", 0) ? dnnl_pooling_avg_include_padding
                                                       : dnnl_pooling_avg_exclude_padding;
    int rc = nn_geom_get(n, t->dims, NULL, &gm, x->e);

    if (rc >= 0)
        rc = nn_p_value_md(x, n->in[0], &src);
    if (rc >= 0)
        rc = nn_p_value_md(x, n->out[0], &dst);
    if (rc >= 0) {
        dnnl_dims_t st = {gm.s[0], gm.s[1]}, k = {gm.k[0], gm.k[1]};
        dnnl_dims_t d = {gm.d[0] - 1, gm.d[1] - 1}, pl = {gm.pl[0], gm.pl[1]};
        dnnl_dims_t pr = {gm.pr[0], gm.pr[1]};
        if (dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, alg, &src, &dst, st, k,
                                              d, pl, pr) != dnnl_success)
            rc = nn_p_fail(x, dnnl_invalid_arguments, "describe this pooling");
    }
    if (rc >= 0)
        rc = nn_p_make_prim(x, &pdsc, attr, &pd, &s);
    if (rc >= 0) {
        nn_p_add_arg(s, DNNL_ARG_SRC, n->in[0], NULL);
        nn_p_add_arg(s, DNNL_ARG_DST, n->out[0], NULL);
        dnnl_primitive_desc_destroy(pd);
    }
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return rc;
}

int nn_p_step_from_pd(pctx *x, const_dnnl_primitive_desc_t pd, step **out)
{
    step *s;
    const dnnl_memory_desc_t *sm;

    if (nn_layout_impl_ok(x, pd) < 0)
        return VAS_EUNSUPPORTED;
    s = nn_plan_step_add(x->p);
    if (!s || dnnl_primitive_create(&s->prim, pd) != dnnl_success) {
        if (s)
            x->p->n_steps--;
        return err_set(x->e, VAS_ENOMEM, "cannot create the primitive of '%s'", x->n->name);
    }
    sm = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    s->name = x->n->name;
    s->scratch = sm ? dnnl_memory_desc_get_size(sm) : 0;
    if (s->scratch)
        s->scratch_md = *sm;
    *out = s;
    return VAS_OK;
}

int nn_p_shadow_step(pctx *x, int v, int sh, const_dnnl_primitive_attr_t attr, const char *what)
{
    nn_plan *p = x->p;
    dnnl_memory_desc_t from, to;
    dnnl_primitive_desc_t pd = NULL;
    step *s = NULL;
    int rc = nn_p_value_md(x, v, &from);

    if (rc >= 0)
        rc = nn_p_value_md(x, sh, &to);
    if (rc >= 0 &&
        dnnl_reorder_primitive_desc_create(&pd, &from, p->eng, &to, p->eng, attr) != dnnl_success)
        rc = nn_p_fail(x, dnnl_unimplemented, what);
    if (rc >= 0)
        rc = nn_p_step_from_pd(x, pd, &s);
    if (rc >= 0) {
        nn_p_add_arg(s, DNNL_ARG_FROM, v, NULL);
        nn_p_add_arg(s, DNNL_ARG_TO, sh, NULL);
        p->ready[sh] = 1;
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return rc < 0 ? rc : sh;
}

static int plan_concat(pctx *x)
{
    const nn_node *n = x->n;
    dnnl_memory_desc_t srcs[NN_STEP_ARGS], dst;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = nn_p_new_attr(NULL);
    int64_t axis = nn_attr_int(n, "axis", 0);
    dnnl_status_t st;
    step *s = NULL;
    int rc = n->n_in < NN_STEP_ARGS - 1
                 ? VAS_OK
                 : err_set(x->e, VAS_EUNSUPPORTED, "node '%s' (Concat): more than %d inputs",
                           n->name, NN_STEP_ARGS - 2);

    for (int i = 0; rc >= 0 && i < n->n_in; i++)
        rc = x->p->tv[n->in[i]].c ? err_set(x->e, VAS_EUNSUPPORTED,
                                            "node '%s' (Concat): constant inputs are not "
                                            "supported",
                                            n->name)
                                  : nn_p_value_md(x, n->in[i], &srcs[i]);
    if (rc >= 0)
        rc = nn_p_value_md(x, n->out[0], &dst);
    if (rc >= 0) {
        st = dnnl_concat_primitive_desc_create(
            &pd, &dst, n->n_in, (int)(axis < 0 ? axis + 4 : axis), srcs, attr, x->p->eng);
        rc = st == dnnl_success ? nn_p_step_from_pd(x, pd, &s)
                                : nn_p_fail(x, st, "concatenate these inputs");
    }
    for (int i = 0; rc >= 0 && i < n->n_in; i++)
        nn_p_add_arg(s, DNNL_ARG_MULTIPLE_SRC + i, n->in[i], NULL);
    if (rc >= 0)
        nn_p_add_arg(s, DNNL_ARG_DST, n->out[0], NULL);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return rc;
}

static int plan_resize(pctx *x)
{
    static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                       "asymmetric"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const nn_node *n = x->n;
    int up = n->op == NN_OP_UPSAMPLE;
    const nn_const *sc =
        n->n_in > (up ? 1 : 2) && n->in[up ? 1 : 2] >= 0 ? x->p->tv[n->in[up ? 1 : 2]].c : NULL;
    const nn_tval *t = &x->p->tv[n->in[0]], *o = &x->p->tv[n->out[0]];
    const char *ctm =
        up ? "asymmetric" : nn_attr_str(n, "coordinate_transformation_mode", "half_pixel");
    const char *nm = up ? "floor" : nn_attr_str(n, "nearest_mode", "round_prefer_floor");
    dnnl_memory_desc_t md;
    step *s;
    int rc = nn_p_value_md(x, n->in[0], &md);

    if (rc >= 0)
        rc = nn_p_value_md(x, n->out[0], &md);
    if (rc < 0)
        return rc;
    if (nn_layout_tag(x->p, n->in[0]) != nn_layout_tag(x->p, n->out[0])) {
        x->p->blk_refused = 1; /* (the graph input's NCHW): plan again in NHWC */
        return err_set(x->e, VAS_EUNSUPPORTED, "resize '%s' between two layouts", n->name);
    }
    s = nn_plan_step_add(x->p);
    if (!s)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    s->kind = ST_RESIZE;
    s->name = n->name;
    s->src = n->in[0];
    s->dst = n->out[0];
    s->rp.linear = strcmp(nn_attr_str(n, "mode", "nearest"), "linear") == 0;
    for (int i = 0; i < 4; i++) {
        if (strcmp(ctm, ctms[i]) == 0)
            s->rp.ctm = i;
        if (strcmp(nm, nms[i]) == 0)
            s->rp.nearest = i;
    }
    s->rp.sh =
        sc && sc->count == 4 ? (float)nn_const_getf(sc, 2) : (float)o->dims[2] / (float)t->dims[2];
    s->rp.sw =
        sc && sc->count == 4 ? (float)nn_const_getf(sc, 3) : (float)o->dims[3] / (float)t->dims[3];
    return VAS_OK;
}

static int plan_node(pctx *x)
{
    switch (x->n->op) {
    case NN_OP_BN:
        return nn_p_bn(x);
    case NN_OP_CONV:
        return nn_p_conv(x);
    case NN_OP_CONVT:
        return nn_p_convt_gemm_ok(x->n) ? nn_p_deconv_gemm(x) : nn_p_conv(x);
    case NN_OP_ADD:
    case NN_OP_MUL:
    case NN_OP_SUB:
    case NN_OP_DIV:
        return plan_binary(x);
    case NN_OP_RELU:
    case NN_OP_CLIP:
    case NN_OP_LEAKY:
    case NN_OP_SIGMOID:
    case NN_OP_HSIGMOID:
    case NN_OP_HSWISH:
        return plan_eltwise(x);
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
    case NN_OP_GAP:
        return plan_pool(x);
    case NN_OP_CONCAT:
        return plan_concat(x);
    case NN_OP_GROUPNORM:
        return nn_p_groupnorm(x);
    case NN_OP_RESIZE:
    case NN_OP_UPSAMPLE:
        return plan_resize(x);
    case NN_OP_IDENTITY:
    case NN_OP_DROPOUT:
    case NN_OP_RESHAPE:
    case NN_OP_FLATTEN:
    case NN_OP_SQUEEZE:
    case NN_OP_UNSQUEEZE:
        return VAS_OK; /* aliases (nn_shape.c checked that the shape is unchanged) */
    default:
        return err_set(x->e, VAS_EUNSUPPORTED,
                       "node '%s' (%s): not supported on a runtime "
                       "tensor",
                       x->n->name, x->n->op_type);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Plan
 * ------------------------------------------------------------------------------------------- */
static int count_consumers(nn_plan *p, vas_err *e)
{
    const nn_graph *g = p->g;

    nn_tval *tv = realloc(p->tv, ((size_t)p->nv + 1) * sizeof(*tv));

    if (!tv)
        return err_set(e, VAS_ENOMEM, "out of memory planning");
    p->tv = tv; /* shadows (nn_plan_q.c) after the graph's values: filled when made */
    memset(tv + g->n_vals, 0, ((size_t)(p->nv - g->n_vals) + 1) * sizeof(*tv));
    for (int v = g->n_vals; v <= p->nv; v++)
        tv[v].alias = -1;
    p->cons = calloc((size_t)p->nv + 1, sizeof(int));
    p->done = calloc((size_t)g->n_nodes + 1, 1);
    p->md = calloc((size_t)p->nv + 1, sizeof(dnnl_memory_desc_t));
    p->root = calloc((size_t)p->nv + 1, sizeof(int));
    p->ready = calloc((size_t)p->nv + 1, 1);
    if (!p->cons || !p->done || !p->md || !p->root || !p->ready)
        return err_set(e, VAS_ENOMEM, "out of memory planning");
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; g->nodes[i].op != NN_OP_NONE && j < g->nodes[i].n_in; j++)
            if (g->nodes[i].in[j] >= 0)
                p->cons[g->nodes[i].in[j]]++;
    return VAS_OK;
}

static int plan_io(nn_plan *p, vas_err *e)
{
    const nn_graph *g = p->g;
    pctx x = {p, NULL, e};
    nn_node fake = {.name = "(input)", .op_type = "input"};
    dnnl_dims_t d = {p->n, g->in_dims[1], p->h, p->w};
    dnnl_memory_desc_t user, md;
    dnnl_primitive_desc_t pd = NULL;
    step *s;
    int rc;

    x.n = &fake;
    rc = nn_p_value_md(&x, g->input, &md);
    if (rc < 0)
        return rc;
    dnnl_memory_desc_init_by_tag(&user, 4, d, dnnl_f32, dnnl_nchw);
    if (dnnl_memory_desc_equal(&user, &md)) { /* the plan reads the caller's NCHW as it is */
        p->in_direct = 1;
        p->ready[g->input] = 1;
        return VAS_OK;
    }
    if (dnnl_memory_create(&p->in_mem, &user, p->eng, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_reorder_primitive_desc_create(&pd, &user, p->eng, &md, p->eng, NULL) != dnnl_success ||
        !(s = nn_plan_step_add(p)) || dnnl_primitive_create(&s->prim, pd) != dnnl_success) {
        if (pd)
            dnnl_primitive_desc_destroy(pd);
        return err_set(e, VAS_ENOMEM, "cannot plan the input re-order");
    }
    dnnl_primitive_desc_destroy(pd);
    s->name = fake.name;
    nn_p_add_arg(s, DNNL_ARG_FROM, -1, p->in_mem);
    nn_p_add_arg(s, DNNL_ARG_TO, g->input, NULL);
    p->ready[g->input] = 1;
    return VAS_OK;
}

static int plan_outputs(nn_plan *p, vas_err *e)
{
    const nn_graph *g = p->g;
    pctx x = {p, NULL, e};
    nn_node fake = {.name = "(output)", .op_type = "output"};
    dnnl_primitive_desc_t pd = NULL;
    step *s;

    x.n = &fake;
    p->out_mem = calloc((size_t)g->n_outs, sizeof(dnnl_memory_t));
    p->out_buf = calloc((size_t)g->n_outs, sizeof(float *));
    if (!p->out_mem || !p->out_buf)
        return err_set(e, VAS_ENOMEM, "out of memory planning outputs");
    for (int i = 0; i < g->n_outs; i++) {
        int v = g->outs[i];
        dnnl_memory_desc_t user, md;
        dnnl_dims_t d;
        int rc = nn_p_value_md(&x, v, &md);
        if (rc < 0)
            return rc;
        for (int k = 0; k < 4; k++)
            d[k] = p->tv[v].dims[k];
        dnnl_memory_desc_init_by_tag(&user, 4, d, dnnl_f32, dnnl_nchw);
        p->out_buf[i] = aligned_alloc(64, (dnnl_memory_desc_get_size(&user) + 63) / 64 * 64);
        if (!p->out_buf[i] ||
            dnnl_memory_create(&p->out_mem[i], &user, p->eng, p->out_buf[i]) != dnnl_success ||
            dnnl_reorder_primitive_desc_create(&pd, &md, p->eng, &user, p->eng, NULL) !=
                dnnl_success ||
            !(s = nn_plan_step_add(p)) || dnnl_primitive_create(&s->prim, pd) != dnnl_success) {
            if (pd)
                dnnl_primitive_desc_destroy(pd);
            return err_set(e, VAS_ENOMEM, "cannot plan the output re-order");
        }
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
        s->name = fake.name;
        nn_p_add_arg(s, DNNL_ARG_FROM, v, NULL);
        nn_p_add_arg(s, DNNL_ARG_TO, -1, p->out_mem[i]);
    }
    return VAS_OK;
}

/* Values written by the steps so far (aliases follow their source). */
static void mark_ready(nn_plan *p)
{
    for (int i = 0; i < p->n_steps; i++) {
        const step *s = &p->steps[i];
        for (int a = 0; a < s->n_args; a++)
            if (s->args[a].val >= 0 &&
                (s->args[a].arg == DNNL_ARG_DST || s->args[a].arg == DNNL_ARG_TO))
                p->ready[s->args[a].val] = 1;
        if (s->kind == ST_RESIZE || s->kind == ST_GROUPNORM || s->kind == ST_DWCONV)
            p->ready[s->dst] = 1;
    }
    for (int v = 0; v < p->g->n_vals; v++)
        if (p->tv[v].alias >= 0 && p->ready[p->tv[v].alias])
            p->ready[v] = 1;
}

/* plan_try's answer when a blocked plan met a step without a blocked kernel. */
#define NN_PLAN_RETRY (-1000)

/* One try at a plan, blocked (nn_plan_layout.c) or NHWC. */
static int plan_try(const nn_graph *g, const nn_options *opt, const nn_ranges *rg, void *engine,
                    int n, int h, int w, int blocked, nn_plan **out, vas_err *e)
{
    nn_plan *p = calloc(1, sizeof(*p));
    int rc;

    if (!p)
        return err_set(e, VAS_ENOMEM, "out of memory planning");
    p->g = g;
    p->n = n;
    p->h = h;
    p->w = w;
    p->bf16 = opt && opt->bf16 && !rg;
    p->dw_mode = opt ? opt->dw : NN_DW_AUTO;
    p->zp_mode = opt ? opt->int8_zp : NN_ZP_AUTO;
    p->wino = !(opt && opt->no_wino);
    nn_wino_init(p);
    p->eng = engine;
    p->nv = 2 * g->n_vals;
    rc = nn_shapes(g, n, h, w, &p->tv, e);
    if (rc >= 0)
        rc = count_consumers(p, e);
    if (rc >= 0)
        rc = nn_layout_choose(p, blocked, e);
    if (rc >= 0 && rg)
        rc = nn_q_init(p, rg, e);
    if (rc >= 0 &&
        dnnl_stream_create(&p->tmp_stream, p->eng, dnnl_stream_default_flags) != dnnl_success)
        rc = err_set(e, VAS_ENOMEM, "cannot create a oneDNN stream");
    if (rc >= 0)
        rc = plan_io(p, e);
    for (int i = 0; rc >= 0 && i < g->n_nodes; i++) {
        pctx x = {p, &g->nodes[i], e};
        const nn_node *nd = &g->nodes[i];
        int runtime = nd->n_out > 0 && !p->tv[nd->out[0]].c;
        if (nd->op == NN_OP_NONE || p->done[i] || !runtime)
            continue;
        rc = p->rg ? nn_q_node(&x, plan_node) : plan_node(&x);
        nn_graph_drop_pages(g); /* the weights it read, re-ordered now */
        mark_ready(p);
    }
    if (rc >= 0)
        rc = plan_outputs(p, e);
    if (rc >= 0)
        nn_input_fuse_q(p);
    if (rc >= 0)
        rc = nn_plan_bind(p, e);
    if (p->tmp_stream) {
        dnnl_stream_destroy(p->tmp_stream);
        p->tmp_stream = NULL;
    }
    p->rg = NULL; /* borrowed for planning only */
    if (rc < 0) {
        rc = p->blk_refused ? NN_PLAN_RETRY : rc;
        nn_plan_free(p);
        return rc;
    }
    *out = p;
    return VAS_OK;
}

int nn_plan_new(const nn_graph *g, const nn_options *opt, const nn_ranges *rg, void *engine, int n,
                int h, int w, nn_plan **out, vas_err *e)
{
    int blocked = nn_layout_wanted(opt, !rg && !(opt && opt->bf16));
    int rc = plan_try(g, opt, rg, engine, n, h, w, blocked, out, e);

    if (rc == NN_PLAN_RETRY) { /* a step had no blocked kernel: NHWC throughout */
        *e = (vas_err){0};
        rc = plan_try(g, opt, rg, engine, n, h, w, 0, out, e);
    }
    return rc;
}
