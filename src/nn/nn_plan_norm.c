/* nn_plan_norm.c - normalisations that follow no convolution: BatchNormalization (a binary
 * multiply with the shift as a post-op) and GroupNormalization (vas's own step, nn_arena.c). */
#include <math.h>

#include "nn/nn_plan_int.h"

/* New (1, C, 1, 1) f32 constants scale = gamma / sqrt(var + eps), shift = beta - mean * scale
 * of BatchNormalization node n, or NULLs when its parameters are not C constant floats. */
static void bn_affine(const nn_plan *p, const nn_node *n, int64_t ch, nn_const **sc, nn_const **sh)
{
    const nn_const *q[4];
    int64_t d[4] = {1, ch, 1, 1};
    float eps = nn_attr_float(n, "epsilon", 1e-5f);

    *sc = *sh = NULL;
    for (int i = 0; i < 4; i++) {
        q[i] = n->n_in > i + 1 && n->in[i + 1] >= 0 ? p->tv[n->in[i + 1]].c : NULL;
        if (!q[i] || q[i]->count != ch)
            return;
    }
    *sc = nn_const_new(NN_F32, 4, d);
    *sh = nn_const_new(NN_F32, 4, d);
    for (int64_t c = 0; *sc && *sh && c < ch; c++) {
        double k = nn_const_getf(q[0], c) / sqrt(nn_const_getf(q[3], c) + eps);
        ((float *)(*sc)->data)[c] = (float)k;
        ((float *)(*sh)->data)[c] = (float)(nn_const_getf(q[1], c) - nn_const_getf(q[2], c) * k);
    }
}

/* A BatchNormalization that follows no convolution: x * scale (binary) + shift (post-op). */
int nn_p_bn(pctx *x)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    nn_const *sc = NULL, *sh = NULL;
    dnnl_memory_desc_t m0, m1, m2, md;
    dnnl_memory_t cs = NULL, ch = NULL;
    dnnl_binary_desc_t bd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    step *s;
    int out, sum, rc = nn_p_value_md(x, n->in[0], &m0);

    if (rc >= 0)
        bn_affine(p, n, p->tv[n->in[0]].dims[1], &sc, &sh);
    if (rc >= 0 && (!sc || !sh))
        rc = err_set(x->e, VAS_EUNSUPPORTED,
                     "node '%s' (BatchNormalization): parameters must "
                     "be constants of one value per channel",
                     n->name);
    if (rc >= 0)
        rc = nn_p_const_mem(x, sc, &m1, &cs);
    if (rc >= 0)
        rc = nn_p_const_mem(x, sh, &m2, &ch);
    if (rc >= 0 && (dnnl_post_ops_create(&po) != dnnl_success ||
                    dnnl_post_ops_append_binary(po, dnnl_binary_add, &m2) != dnnl_success))
        rc = err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    if (rc < 0)
        goto done;
    out = nn_p_fuse_chain(x, n->out[0], 0, po, &sum);
    attr = nn_p_new_attr(po);
    rc = nn_p_value_md(x, out, &md);
    if (rc >= 0 && dnnl_binary_desc_init(&bd, dnnl_binary_mul, &m0, &m1, &md) != dnnl_success)
        rc = nn_p_fail(x, dnnl_invalid_arguments, "describe this normalization");
    if (rc >= 0)
        rc = nn_p_make_prim(x, &bd, attr, &pd, &s);
    if (rc >= 0) {
        nn_p_add_arg(s, DNNL_ARG_SRC_0, n->in[0], NULL);
        nn_p_add_arg(s, DNNL_ARG_SRC_1, -1, cs);
        nn_p_add_arg(s, DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, -1, ch);
        nn_p_add_arg(s, DNNL_ARG_DST, out, NULL);
    }
done:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (po)
        dnnl_post_ops_destroy(po);
    nn_const_free(sc);
    nn_const_free(sh);
    return rc;
}

/* GroupNormalization runs as vas's own step (oneDNN 2.x has no group normalization). A ReLU that
 * is its only consumer is applied in the same pass. */
int nn_p_groupnorm(pctx *x)
{
    const nn_node *n = x->n;
    nn_plan *p = x->p;
    dnnl_memory_desc_t md;
    int dst = n->out[0], relu = -1;
    step *s;
    int rc;

    if (p->cons[dst] == 1 && !nn_p_is_output(p->g, dst))
        for (int i = 0; i < p->g->n_nodes; i++) {
            const nn_node *c = &p->g->nodes[i];
            if (c->op == NN_OP_RELU && c->n_in == 1 && c->in[0] == dst)
                relu = i;
        }
    if (relu >= 0) {
        p->done[relu] = 1;
        dst = p->g->nodes[relu].out[0];
    }
    rc = nn_p_value_md(x, n->in[0], &md);
    if (rc >= 0)
        rc = nn_p_value_md(x, dst, &md);
    if (rc < 0)
        return rc;
    s = nn_plan_step_add(p);
    if (!s)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    s->kind = ST_GROUPNORM;
    s->name = n->name;
    s->src = n->in[0];
    s->dst = dst;
    s->gamma = p->tv[n->in[1]].c->data;
    s->beta = p->tv[n->in[2]].c->data;
    s->groups = nn_attr_int(n, "num_groups", 1);
    s->eps = nn_attr_float(n, "epsilon", 1e-5f);
    s->relu = relu >= 0;
    return VAS_OK;
}
