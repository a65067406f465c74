/* nn_plan_layout.c - the memory layout of each runtime value of a float32 plan: NHWC, or
 * channel-blocked nChw8c (8 channels, one AVX2 register, innermost) where that is faster.
 *
 * DESIGN. NHWC everywhere is what the int8 and bf16 plans use, and what Resize and
 * GroupNormalization (steps of ours) read and write. On a CPU whose best oneDNN ISA is AVX2, its
 * direct and 1x1 convolutions run 25-30% faster on nChw8c (ResNet-50 DLC, 640x480, 2 threads: the
 * convolutions' own times summed from oneDNN's verbose log, 1,059 ms in NHWC, 774 ms blocked).
 * So there a float32 plan is first made blocked:
 *   - a value is nChw8c when it is 4-D with a multiple of 8 channels (no padding) and is not
 *     read or written by GroupNormalization (a step of ours on NHWC); NHWC otherwise. Resize,
 *     ours too, runs on either (an nChw8c tensor is N x C/8 NHWC images of 8 channels), with
 *     its input and output in one layout;
 *     A convolution from a blocked or NCHW value into an NHWC one (a head's few channels, a stem
 *     before GroupNormalization) reads an NHWC copy of its input: oneDNN has no kernel for that.
 * The deconvolution heads' 1x1 product reads an NHWC copy made by a reorder (nn_layout_as_nhwc),
 * their gather and nn_dwconv.c write either layout. The graph input keeps the caller's NCHW, which
 * the first convolution reads directly, in the caller's buffer (when dense convolutions alone read
 * it; else NHWC, re-ordered);
 *   - NHWC spreads from GroupNormalization's values through the activations, element-wise ops
 *     and Resizes next to them (which keep one layout end to end) and through aliases
 *     (Identity, Reshape);
 *   - if any oneDNN primitive of that plan would then be a reference implementation (a layout
 *     pair it has no kernel for), or a fused residual would join two layouts, the plan is made
 *     again in NHWC (nn_plan.c): never slower than NHWC, whatever the graph.
 * AVX-512 machines keep NHWC (oneDNN's brgconv kernels run it as fast as nChw16c); nChw16c values
 * there are only the copies around Winograd convolutions (nn_plan_conv.c), shadows NV + v. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

int nn_p_root(const nn_plan *p, int v)
{
    while (v >= 0 && v < p->g->n_vals && p->tv[v].alias >= 0)
        v = p->tv[v].alias;
    return v;
}

static int is_act(int op)
{
    return op == NN_OP_RELU || op == NN_OP_CLIP || op == NN_OP_LEAKY || op == NN_OP_SIGMOID ||
           op == NN_OP_HSIGMOID || op == NN_OP_HSWISH;
}

static int is_elementwise(int op)
{
    return is_act(op) || op == NN_OP_ADD || op == NN_OP_MUL || op == NN_OP_SUB || op == NN_OP_DIV;
}

/* 1 if node n runs as a step of ours reading its input and writing its output in NHWC. */
static int ours(const nn_node *n)
{
    return n->op == NN_OP_GROUPNORM;
}

/* 1 if node n keeps one layout from its input (the first) to its output: element-wise ops, and
 * Resize, ours, which reads and writes NHWC or nChw8c (each block of 8 channels an NHWC image). */
static int uniform(const nn_node *n)
{
    return is_elementwise(n->op) || n->op == NN_OP_RESIZE || n->op == NN_OP_UPSAMPLE;
}

/* 1 if the graph input is read by dense convolutions only, which take the caller's NCHW as it
 * is; anything else reads it in NHWC (as the input re-order writes it in NHWC plans). */
static int input_to_convs(const nn_plan *p)
{
    const nn_graph *g = p->g;

    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        for (int k = 0; n->op != NN_OP_NONE && k < n->n_in; k++)
            if (n->in[k] >= 0 && nn_p_root(p, n->in[k]) == g->input &&
                (n->op != NN_OP_CONV || k != 0 || nn_attr_int(n, "group", 1) != 1))
                return 0;
    }
    return 1;
}

/* Marks v (its storage) NHWC; 1 if that changed anything. */
static int mark(nn_plan *p, int v)
{
    int r = nn_p_root(p, v);

    if (r < 0 || p->vtag[r] != NN_TAG_BLOCKED)
        return 0;
    p->vtag[r] = NN_TAG_NHWC;
    return 1;
}

static int marked(const nn_plan *p, int v)
{
    int r = nn_p_root(p, v);

    return r >= 0 && p->vtag[r] == NN_TAG_NHWC;
}

int nn_layout_choose(nn_plan *p, int blocked, vas_err *e)
{
    const nn_graph *g = p->g;
    int changed = 1;

    p->vtag = calloc((size_t)p->nv + 1, sizeof(*p->vtag)); /* NN_TAG_NHWC is 0 */
    if (!p->vtag)
        return err_set(e, VAS_ENOMEM, "out of memory planning");
    p->blk = blocked;
    if (!blocked)
        return VAS_OK;
    for (int v = 0; v < g->n_vals; v++) {
        const nn_tval *t = &p->tv[v];
        if (nn_p_root(p, v) == v && t->ndims == 4 && !t->c && t->dims[1] % 8 == 0)
            p->vtag[v] = NN_TAG_BLOCKED;
    }
    if (input_to_convs(p))
        p->vtag[g->input] = NN_TAG_NCHW;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        if (n->op == NN_OP_NONE || !ours(n))
            continue;
        mark(p, n->in[0]);
        for (int k = 0; k < n->n_out; k++)
            mark(p, n->out[k]);
    }
    while (changed) { /* uniform nodes keep one layout from their inputs to their output */
        changed = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            const nn_node *n = &g->nodes[i];
            int any = 0, n_in = is_elementwise(n->op) ? n->n_in : 1; /* Resize: the data */
            if (n->op == NN_OP_NONE || !uniform(n) || n->n_out < 1)
                continue;
            for (int k = 0; k < n_in; k++)
                any |= n->in[k] >= 0 && !p->tv[n->in[k]].c && marked(p, n->in[k]);
            any |= marked(p, n->out[0]);
            if (!any)
                continue;
            for (int k = 0; k < n_in; k++)
                if (n->in[k] >= 0 && !p->tv[n->in[k]].c)
                    changed |= mark(p, n->in[k]);
            changed |= mark(p, n->out[0]);
        }
    }
    return VAS_OK;
}

dnnl_format_tag_t nn_layout_tag(const nn_plan *p, int v)
{
    int r = nn_p_root(p, v);

    if (!p->vtag || r < 0 || r >= p->nv)
        return dnnl_nhwc;
    return p->vtag[r] == NN_TAG_BLOCKED     ? dnnl_nChw8c
           : p->vtag[r] == NN_TAG_BLOCKED16 ? dnnl_nChw16c
           : p->vtag[r] == NN_TAG_NCHW      ? dnnl_nchw
                                            : dnnl_nhwc;
}

int nn_layout_wanted(const nn_options *opt, int float_plan)
{
    int mode = opt ? opt->layout : NN_LAYOUT_AUTO;

    if (!float_plan || mode == NN_LAYOUT_NHWC)
        return 0;
    if (mode == NN_LAYOUT_BLOCKED)
        return 1;
    return (nn_cpu_features() & (NN_CPU_AVX2 | NN_CPU_AVX512)) == NN_CPU_AVX2;
}

int nn_layout_impl_ok(pctx *x, const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;

    if (!x->p->blk)
        return VAS_OK;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (impl && !strstr(impl, "ref"))
        return VAS_OK;
    x->p->blk_refused = 1;
    return err_set(x->e, VAS_EUNSUPPORTED, "node '%s' (%s): no blocked-layout kernel (%s)",
                   x->n->name, x->n->op_type, impl ? impl : "?");
}

int nn_layout_blocked16_slot(nn_plan *p, int v)
{
    int r = nn_p_root(p, v), sh = p->g->n_vals + r;

    if (p->ready[sh])
        return VAS_EUNSUPPORTED;
    p->tv[sh].ndims = p->tv[r].ndims;
    memcpy(p->tv[sh].dims, p->tv[r].dims, sizeof(p->tv[sh].dims));
    p->vtag[sh] = NN_TAG_BLOCKED16;
    return sh;
}

int nn_layout_as_blocked16(pctx *x, int v)
{
    nn_plan *p = x->p;
    int r = nn_p_root(p, v), sh = p->g->n_vals + r;

    if (p->ready[sh])
        return p->vtag[sh] == NN_TAG_BLOCKED16 ? sh : VAS_EUNSUPPORTED;
    sh = nn_layout_blocked16_slot(p, v);
    return nn_p_shadow_step(x, r, sh, NULL, "copy a tensor into nChw16c");
}

int nn_layout_as_nhwc(pctx *x, int v)
{
    nn_plan *p = x->p;
    int r = nn_p_root(p, v), sh = p->g->n_vals + r;

    if (v < 0 || nn_layout_tag(p, v) == dnnl_nhwc)
        return v;
    if (p->ready[sh])
        return sh;
    p->tv[sh].ndims = p->tv[r].ndims;
    memcpy(p->tv[sh].dims, p->tv[r].dims, sizeof(p->tv[sh].dims));
    p->vtag[sh] = NN_TAG_NHWC;
    return nn_p_shadow_step(x, r, sh, NULL, "copy a tensor into NHWC");
}
