/* nn_plan_int.h - the plan of one graph at one input size, shared by nn_plan.c (steps and
 * oneDNN primitives) and nn_arena.c (lifetimes, arena offsets, memory objects, execution).
 *
 * DESIGN. Planning is two passes. nn_plan.c walks the nodes and emits steps; a step names the
 * values it reads and writes (sarg.val), because where they live is not known yet. nn_arena.c
 * then computes each value's lifetime over the steps, lets a convolution with a fused residual
 * add write into the residual's buffer when that is its last use, packs all buffers into one
 * arena, and binds memory objects. Running is then a loop over steps with no allocation. */
#ifndef VAS_NN_PLAN_INT_H
#define VAS_NN_PLAN_INT_H

#include <oneapi/dnnl/dnnl.h>
#include <string.h>

#include "nn/nn_int.h"

#define NN_STEP_ARGS 12

enum {
    ST_PRIM,
    ST_COPY,
    ST_RESIZE,
    ST_NOP,
    ST_COL2IM,
    ST_GROUPNORM,
    ST_DWCONV,
    ST_INPUTQ,
    ST_WINO
};

typedef struct sarg {
    int arg;           /* DNNL_ARG_* */
    int val;           /* value index bound in nn_arena.c, or -1: mem is fixed */
    dnnl_memory_t mem; /* fixed memory (weights, constants), or bound by nn_arena.c */
} sarg;

typedef struct resize_p {
    int linear;   /* 1 = bilinear, 0 = nearest */
    int ctm;      /* 0 half_pixel, 1 pytorch_half_pixel, 2 align_corners, 3 asymmetric */
    int nearest;  /* 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil */
    float sh, sw; /* scales used by the coordinate transform */
} resize_p;

typedef struct step {
    int kind;              /* ST_* */
    const char *name;      /* borrowed: node name, for messages */
    dnnl_primitive_t prim; /* owned (ST_PRIM) */
    int n_args;
    sarg args[NN_STEP_ARGS];
    size_t scratch; /* scratchpad bytes (ST_PRIM) */
    dnnl_memory_desc_t scratch_md;
    int src, dst; /* ST_COPY/ST_RESIZE values */
    resize_p rp;
    void *maps; /* owned: ST_RESIZE source rows/cols and weights, ST_COL2IM tap rows/cols; made
                 * at bind */
    /* ST_COL2IM: ConvTranspose as a 1x1 convolution into tbuf (N x H x W x K*K*OC, taps
     * outermost), then a gather of the taps into dst (+ bias). */
    /* ST_DWCONV (nn_dwconv.c): src -> dst, weights kh x kw x C in tbuf, bias, kk ks kpl kd. */
    void *tbuf;                                /* borrowed from the plan's fixed buffers */
    const float *bias;                         /* borrowed (graph or plan constant), or NULL */
    int64_t kk[2], ks[2], kpl[2], kin[2], koc; /* kernel, stride, pad, input H W, OC */
    int64_t kd[2];                             /* ST_DWCONV: dilation (1 = dense) */
    /* ST_GROUPNORM: src -> dst, per-channel gamma/beta (borrowed graph constants) */
    const float *gamma, *beta;
    int64_t groups;
    float eps;
    int relu; /* a ReLU that followed is done here too */
} step;

struct nn_plan {
    const nn_graph *g; /* borrowed */
    int n, h, w;
    int bf16;
    int dw_mode;              /* nn_options.dw: whose depthwise convolutions (nn_dwconv.c) */
    int blk;                  /* values may be nChw8c (nn_plan_layout.c) */
    int wino;                 /* 3x3 convolutions may run Winograd's (nn_plan_conv.c, nn_wino.c) */
    int n_wino;               /* convolutions that do */
    size_t wino_left;         /* bytes our Winograd weights may still add (nn_wino.c) */
    int blk_refused;          /* a step had no blocked kernel: plan again in NHWC */
    unsigned char *vtag;      /* owned: per value (its storage), NN_TAG_* */
    dnnl_engine_t eng;        /* borrowed from the session */
    dnnl_stream_t tmp_stream; /* owned during planning only: weight re-orders */
    nn_tval *tv;              /* owned: shapes at this size */
    dnnl_memory_desc_t *md;   /* owned: per value, runtime values only */
    int *root;                /* owned: value -> value whose buffer it uses */
    int *cons;                /* owned: runtime consumers per value (graph outputs count) */
    char *done;               /* owned: node already emitted as part of a fusion */
    char *ready;              /* owned: value written by a step planned so far */
    step *steps;              /* owned */
    int n_steps, cap_steps;
    dnnl_memory_t *fixed; /* owned: weights and constant memories */
    void **fixed_buf;     /* owned buffers behind them (NULL when borrowed) */
    int n_fixed, cap_fixed;
    unsigned char *arena; /* owned */
    size_t arena_bytes;
    dnnl_memory_t *vmem;    /* owned: per root value, into the arena */
    unsigned char *scratch; /* owned: one scratchpad shared by all steps */
    size_t scratch_bytes;
    dnnl_memory_t *smem;    /* owned: per step scratchpad memory (or NULL) */
    dnnl_memory_t in_mem;   /* owned: user NCHW f32 input; handle set per run */
    int in_direct;          /* 1: no input re-order, the input value's memory is the caller's */
    dnnl_memory_t *out_mem; /* owned: per output, NCHW f32 into out_buf */
    float **out_buf;        /* owned */
    double flops;
    size_t weight_bytes;
    /* int8 plans (nn_plan_q.c); a float plan has rg == NULL and vdt == NULL. Values from g->n_vals
     * on are shadows: value NV + v holds v in the other representation (dequantised to f32, or
     * quantised to u8/s8) for the steps that need it, written once by a reorder. */
    int nv;                /* values the per-value arrays hold: 2 * g->n_vals */
    const nn_ranges *rg;   /* borrowed during planning: calibrated ranges */
    dnnl_data_type_t *vdt; /* owned: storage type per value (f32, u8 or s8) */
    float *vsc;            /* owned: what one integer step of a u8/s8 value is worth */
    int *vzp;              /* owned: the u8 code of 0.0 (0 but for offset u8 values, nn_plan_q.c) */
    int zp_mode;           /* nn_options.int8_zp: which signed values may be offset u8 */
    int n_zp;              /* values stored as offset u8 */
    int umax;              /* largest u8 activation: 255 with VNNI; 0: per tensor (nn_plan_q.c) */
    int n_q;               /* convolutions run in int8 */
};

/* Planning context: the plan, the node being planned, the caller's error. */
typedef struct pctx {
    nn_plan *p;
    const nn_node *n;
    vas_err *e;
} pctx;

/* Helpers shared by nn_plan.c and nn_plan_conv.c. */
int nn_p_fail(pctx *x, dnnl_status_t st, const char *what);
dnnl_data_type_t nn_p_act_dt(const nn_plan *p);
void nn_p_add_arg(step *s, int arg, int val, dnnl_memory_t mem);
/* Keeps mem (and buf, freed with the plan, when not NULL). 0 ok, -1 out of memory. */
int nn_p_keep_fixed(nn_plan *p, dnnl_memory_t mem, void *buf);
/* New fixed memory of desc want holding data (plain f32, desc from), re-ordered now. */
int nn_p_reorder_fixed(pctx *x, const dnnl_memory_desc_t *from, void *data,
                       const dnnl_memory_desc_t *want, dnnl_memory_t *out);
/* Desc of runtime value v in its layout (refused unless 4-D); also stored in p->md[v]. */
int nn_p_value_md(pctx *x, int v, dnnl_memory_desc_t *md);
/* Primitive of op desc od with attr, in a new step; *pdout is the caller's to destroy. */
int nn_p_make_prim(pctx *x, const_dnnl_op_desc_t od, dnnl_primitive_attr_t attr,
                   dnnl_primitive_desc_t *pdout, step **sout);
/* Attributes with a user scratchpad and post-ops po (may be NULL); NULL if out of memory. */
dnnl_primitive_attr_t nn_p_new_attr(dnnl_post_ops_t po);
/* A new step running the primitive of pd (borrowed), with its scratchpad size recorded. */
int nn_p_step_from_pd(pctx *x, const_dnnl_primitive_desc_t pd, step **out);
/* A reorder step writing value v into its shadow sh (whose tv and storage the caller set) with
 * attr (may be NULL); sh is then ready. Returns sh, or < 0 (what: the message's verb phrase). */
int nn_p_shadow_step(pctx *x, int v, int sh, const_dnnl_primitive_attr_t attr, const char *what);
/* Follows v's single-consumer chain (residual Add if allow_sum, activations) into po; returns
 * the value the fused step writes, the residual operand in *sum_src (or -1). */
int nn_p_fuse_chain(pctx *x, int v, int allow_sum, dnnl_post_ops_t po, int *sum_src);
/* Weights descs of Conv/ConvTranspose n: plain f32 as ONNX has them (user), and `any` of type dt
 * (want); and the op desc (nn_plan_conv.c). */
void nn_p_conv_dims(const nn_node *n, const nn_const *w, const nn_geom *gm,
                    dnnl_memory_desc_t *user, dnnl_memory_desc_t *want, dnnl_data_type_t dt);
int nn_p_conv_desc(pctx *x, const nn_geom *gm, const dnnl_memory_desc_t *src,
                   const dnnl_memory_desc_t *wmd, const dnnl_memory_desc_t *bmd,
                   const dnnl_memory_desc_t *dst, dnnl_convolution_desc_t *cd);
/* Conv / ConvTranspose step (nn_plan_conv.c). A ConvTranspose of one group and no dilation
 * runs as a 1x1 product and a gather (nn_p_deconv_gemm); others as oneDNN's deconvolution. */
int nn_p_convt_gemm_ok(const nn_node *n);
int nn_p_deconv_gemm(pctx *x);
int nn_p_conv(pctx *x);
/* 1 if v is one of the graph outputs. */
int nn_p_is_output(const nn_graph *g, int v);
/* BatchNormalization after no convolution; GroupNormalization step, with a ReLU after it fused
 * (nn_plan_norm.c). */
int nn_p_bn(pctx *x);
int nn_p_groupnorm(pctx *x);
/* ---- layouts (nn_plan_layout.c) ---- */
enum { NN_TAG_NHWC = 0, NN_TAG_BLOCKED, NN_TAG_NCHW, NN_TAG_BLOCKED16 /* Winograd's nChw16c */ };
/* 1 if a plan with these options (float32: 1) is first tried with blocked values. */
int nn_layout_wanted(const nn_options *opt, int float_plan);
/* Sets p->vtag (p->tv, p->g ready): all NHWC, or blocked where it can be (DESIGN there). */
int nn_layout_choose(nn_plan *p, int blocked, vas_err *e);
/* The value whose storage v uses (Identity and no-op Reshape alias their source). */
int nn_p_root(const nn_plan *p, int v);
/* oneDNN's format tag for value v. */
dnnl_format_tag_t nn_layout_tag(const nn_plan *p, int v);
/* v in NHWC: v itself, or its shadow (value NV + v) written by a reorder step made now (once). */
int nn_layout_as_nhwc(pctx *x, int v);
/* v as nChw16c: its shadow NV + v, written by a reorder step made now (once); VAS_EUNSUPPORTED
 * when that shadow already holds another layout. */
int nn_layout_as_blocked16(pctx *x, int v);
/* The shadow slot NV + v described as an nChw16c copy of v, not yet written: a step writes it,
 * then copies it into v (nn_p_shadow_step); VAS_EUNSUPPORTED when it is taken. */
int nn_layout_blocked16_slot(nn_plan *p, int v);
/* In blocked plans, refuses (and sets blk_refused) a primitive that is a reference one. */
int nn_layout_impl_ok(pctx *x, const_dnnl_primitive_desc_t pd);

/* Element i of a buffer of f32 (bf 0) or bf16 (bf 1) values, as f32; stores f, rounded to the
 * nearest even bf16 where bf. */
static inline float nn_ld(const void *b, size_t i, int bf)
{
    if (!bf)
        return ((const float *)b)[i];
    uint32_t u = (uint32_t)((const uint16_t *)b)[i] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline void nn_st(void *b, size_t i, float f, int bf)
{
    if (!bf) {
        ((float *)b)[i] = f;
        return;
    }
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1); /* round to nearest even */
    ((uint16_t *)b)[i] = (uint16_t)(u >> 16);
}

/* ConvTranspose's gather (nn_col2im.c): its per-plan maps (once, at bind time); its run, writing
 * the memory of the step's dst. */
int nn_col2im_prepare(const nn_plan *p, step *s);
void nn_col2im_run(const nn_plan *p, dnnl_memory_t dst_mem, const step *s);

/* int8 plans' input step (nn_input.c): after planning, the input re-order and the input's
 * quantisation become one step of ours (ST_INPUTQ, dst: the int8 shadow) where they can; its
 * run, from the caller's NCHW in into the memory of that shadow. */
void nn_input_fuse_q(nn_plan *p);
void nn_input_q_run(const nn_plan *p, const float *in, dnnl_memory_t dst_mem, const step *s);

/* Depthwise convolutions of ours (nn_dwconv.c): 1 if x->n, of geometry gm, is one that mode
 * (NN_DW_*) gives to us (in AUTO: where oneDNN would run it by a gemm or reference loop); its
 * step (the nodes after it are left to be planned on their own); the step's run, on the memories
 * of its src and dst. */
int nn_dw_wanted(pctx *x, const nn_geom *gm, int mode);
int nn_dw_plan(pctx *x, const nn_geom *gm);
void nn_dw_run(const nn_plan *p, dnnl_memory_t src, dnnl_memory_t dst, const step *s);
/* Winograd convolutions of ours (nn_wino.c): p->wino_left from the graph's convolution weights;
 * 1 if node n, of geometry gm with the fused post-ops po, is one (3x3, stride 1, 32 channels and
 * more, float plans on AVX2 or AVX-512); its step, from in to out (one layout, NHWC or nChw8c; a
 * fused residual already copied into out); the step's run. */
void nn_wino_init(nn_plan *p);
int nn_wino_wanted(const nn_plan *p, const nn_node *n, const nn_geom *gm, const_dnnl_post_ops_t po);
int nn_wino_plan(pctx *x, const nn_geom *gm, const_dnnl_post_ops_t po, int in, int out);
void nn_wino_run(const nn_plan *p, dnnl_memory_t src, dnnl_memory_t dst, const step *s);
/* Constant c broadcast to rank 4 as NHWC memory of the activation type (nn_plan.c). */
int nn_p_const_mem(pctx *x, const nn_const *c, dnnl_memory_desc_t *md, dnnl_memory_t *out);

/* ---- int8 (nn_plan_q.c) ---- */
/* Sets up p's int8 state (vdt, vsc) from rg. */
int nn_q_init(nn_plan *p, const nn_ranges *rg, vas_err *e);
/* Plans node x->n in an int8 plan: an int8 convolution, or the float (or passthrough) step of
 * `plan` with its inputs as it needs them (dequantised shadows). */
int nn_q_node(pctx *x, int (*plan)(pctx *));
/* v as a float value: v itself, or its dequantised shadow (made now, once). Float plans: v. */
int nn_q_as_f32(pctx *x, int v);
/* int8 plans: the deconvolution product (see nn_p_deconv_gemm) of weights wt (tc x cin) into
 * tmem, as an int8 step; 1 (nothing done) where it stays float. */
int nn_q_product(pctx *x, const float *wt, int64_t tc, int64_t cin, const dnnl_memory_desc_t *tmd,
                 dnnl_memory_t tmem);
/* Storage type of value v (follows aliases); the activation type in float plans. */
dnnl_data_type_t nn_q_dt(const nn_plan *p, int v);
/* New fixed memory like nn_p_reorder_fixed, re-ordered with attributes attr (may be NULL). */
int nn_p_reorder_fixed_attr(pctx *x, const dnnl_memory_desc_t *from, void *data,
                            const dnnl_memory_desc_t *want, const_dnnl_primitive_attr_t attr,
                            dnnl_memory_t *out);

/* Appends a zeroed step; NULL when out of memory. */
step *nn_plan_step_add(nn_plan *p);
/* Lifetimes, in-place residuals, arena and memory objects (nn_arena.c). */
int nn_plan_bind(nn_plan *p, vas_err *e);

#endif
