/* nn_dwconv.c - depthwise convolutions (one input channel per output channel) that oneDNN has no
 * direct kernel for on this CPU, run by a loop of ours over NHWC or nChw8c f32 (float plans
 * only; each value in the layout nn_plan_layout.c gave it).
 *
 * DESIGN. oneDNN 2.6's depthwise kernels (jit_dw) take no dilation on AVX2; a dilated depthwise
 * convolution, as DeepLabCut's MobileNet heads have (3x3, dilation 8 at output stride 16), falls
 * to its gemm convolution, one small gemm per channel: 15 ms for a batch of four 288-channel
 * 30x40 maps on the demo model, 29% of the whole network's time. The work is tiny (9 multiply-
 * adds per output value), so a plain loop does it in well under a millisecond: per output row
 * and block of 8 channels (contiguous in both layouts and in the weights, re-laid once as kh x kw
 * x C), for each tap that lands inside the input, the 8 channels are multiplied by the tap's
 * weights and summed in one vector (copies: AVX2 and, on AVX-512, where plans are NHWC, 16
 * channels a vector, both with intrinsics and 8 pixels at a time (below); the baseline for CPUs
 * without AVX2). Rows and blocks are split over the OpenMP threads oneDNN runs. The sum per
 * output value is in tap order, as a direct convolution's, and each copy gives the same bits.
 *
 * When: nn_dw_wanted asks oneDNN which implementation it would pick for the convolution and takes
 * it over from a gemm or reference one, or from any that is no depthwise kernel: on AVX-512,
 * oneDNN 2.6 runs the demo model's dilation-8 3x3 (padding 8 on a 30x40 map) as a generic grouped
 * convolution (jit:avx512_core), 1.3 ms of its 17 at batch 1 on one core (openfield 16.7 -> 15.8
 * ms, alternating runs); its other depthwise ones stay on jit_dw / brdgmm_dw (NN_DW_OURS forces
 * ours, NN_DW_ONEDNN forbids it). What
 * followed the convolution (activations, a residual Add) is not fused: the planner plans those
 * nodes as their own steps, cheap beside the convolution. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

#define DW_MAXK 16 /* kernel rows the row loop takes; taller kernels stay oneDNN's */

/* 1 if n is a depthwise convolution with channel multiplier 1 (and at most DW_MAXK rows). */
static int is_depthwise(const nn_plan *p, const nn_node *n, const nn_geom *gm)
{
    const nn_const *w = p->tv[n->in[1]].c;
    const nn_tval *t = &p->tv[n->in[0]];

    return n->op == NN_OP_CONV && w && w->ndims == 4 && gm->group > 1 && w->dims[1] == 1 &&
           w->dims[0] == gm->group && t->ndims == 4 && t->dims[1] == gm->group &&
           w->dims[2] <= DW_MAXK;
}

int nn_dw_wanted(pctx *x, const nn_geom *gm, int mode)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    dnnl_memory_desc_t src, dst, wuser, wwant;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    int ours;

    if (mode == NN_DW_ONEDNN || p->bf16 || p->rg || !is_depthwise(p, n, gm))
        return 0;
    if (mode == NN_DW_OURS)
        return 1;
    if (nn_p_value_md(x, n->in[0], &src) < 0 || nn_p_value_md(x, n->out[0], &dst) < 0)
        return 0; /* nn_p_conv refuses it with the message */
    nn_p_conv_dims(n, p->tv[n->in[1]].c, gm, &wuser, &wwant, dnnl_f32);
    if (nn_p_conv_desc(x, gm, &src, &wwant, NULL, &dst, &cd) < 0 ||
        dnnl_primitive_desc_create(&pd, &cd, NULL, p->eng, NULL) != dnnl_success)
        return 0;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    ours = !impl || strstr(impl, "gemm") || strstr(impl, "ref") || !strstr(impl, "dw");
    dnnl_primitive_desc_destroy(pd);
    return ours;
}

int nn_dw_plan(pctx *x, const nn_geom *gm)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    const nn_const *w = p->tv[n->in[1]].c;
    const nn_const *b = n->n_in > 2 && n->in[2] >= 0 ? p->tv[n->in[2]].c : NULL;
    int64_t C = gm->group, kh = gm->k[0], kw = gm->k[1];
    const nn_tval *o = &p->tv[n->out[0]];
    dnnl_memory_desc_t md;
    float *wt = malloc((size_t)(kh * kw * C + C) * sizeof(float)), *bias = wt + kh * kw * C;
    step *s;
    int rc = wt ? nn_p_value_md(x, n->in[0], &md)
                : err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);

    if (rc >= 0)
        rc = nn_p_value_md(x, n->out[0], &md);
    if (rc >= 0 && nn_p_keep_fixed(p, NULL, wt) < 0)
        rc = err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    if (rc < 0) {
        free(wt);
        return rc;
    }
    /* ONNX's C x 1 x kh x kw as kh x kw x C; the bias (or zeros) after it. */
    for (int64_t c = 0; c < C; c++) {
        for (int64_t k = 0; k < kh * kw; k++)
            wt[k * C + c] = (float)nn_const_getf(w, c * kh * kw + k);
        bias[c] = b ? (float)nn_const_getf(b, c) : 0.0f;
    }
    s = nn_plan_step_add(p);
    if (!s)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    s->kind = ST_DWCONV;
    s->name = n->name;
    s->src = n->in[0];
    s->dst = n->out[0];
    s->tbuf = wt;
    s->bias = bias;
    for (int i = 0; i < 2; i++) {
        s->kk[i] = gm->k[i];
        s->ks[i] = gm->s[i];
        s->kpl[i] = gm->pl[i];
        s->kd[i] = gm->d[i];
    }
    p->flops += (double)(kh * kw * C) * 2.0 * (double)(o->dims[0] * o->dims[2] * o->dims[3]);
    return VAS_OK;
}

/* A tensor as this file reads or writes it: NHWC, or nChw8c (blk; C a multiple of 8). */
typedef struct dw_t {
    float *p;
    int64_t H, W, C;
    int blk;
} dw_t;

/* Offset of channel c (the first of up to 8 contiguous ones) of pixel (y, x) of image n. */
static inline int64_t at(const dw_t *t, int64_t n, int64_t y, int64_t x, int64_t c)
{
    if (t->blk)
        return (((n * (t->C / 8) + c / 8) * t->H + y) * t->W + x) * 8 + c % 8;
    return ((n * t->H + y) * t->W + x) * t->C + c;
}

/* The input rows (offsets of their pixel 0, channel c0) and their weight rows that output row oy
 * of image n reads: kernel rows falling outside the input are left out. Their count. */
static inline __attribute__((always_inline)) int dw_rows(const step *s, const dw_t *in, int64_t n,
                                                         int64_t oy, int64_t c0, int64_t *rows,
                                                         const float **wrow)
{
    const float *wt = s->tbuf;
    int nr = 0;

    for (int64_t ky = 0; ky < s->kk[0]; ky++) {
        int64_t iy = oy * s->ks[0] - s->kpl[0] + ky * s->kd[0];
        if (iy < 0 || iy >= in->H)
            continue;
        rows[nr] = at(in, n, iy, 0, c0);
        wrow[nr++] = wt + ky * s->kk[1] * in->C + c0;
    }
    return nr;
}

/* The output columns [*lo, *hi) whose every tap lands inside the input: no bounds checks. */
static inline void dw_inner(const step *s, int64_t W, int64_t OW, int64_t *lo, int64_t *hi)
{
    int64_t SX = s->ks[1], PL = s->kpl[1], last = W - 1 + PL - (s->kk[1] - 1) * s->kd[1];

    *lo = (PL + SX - 1) / SX;
    *hi = last < 0 ? 0 : last / SX + 1;
    if (*hi > OW)
        *hi = OW;
    if (*lo > *hi)
        *lo = *hi;
}

/* Output row oy of image n, channels c0 .. c0 + cn (cn <= 8): the baseline copy, for CPUs
 * without AVX2, one value at a time. */
static void dw_row_base(const step *s, const dw_t *in, const dw_t *out, int64_t n, int64_t oy,
                        int64_t c0, int64_t cn)
{
    int64_t rows[DW_MAXK];
    const float *wrow[DW_MAXK];
    int64_t KW = s->kk[1], SX = s->ks[1], PL = s->kpl[1], DX = s->kd[1], W = in->W;
    int64_t ps = in->blk ? 8 : in->C, ops = out->blk ? 8 : out->C;
    float *orow = out->p + at(out, n, oy, 0, c0);
    int nr = dw_rows(s, in, n, oy, c0, rows, wrow);

    for (int64_t ox = 0; ox < out->W; ox++)
        for (int64_t j = 0; j < cn; j++) {
            float acc = s->bias[c0 + j];
            for (int r = 0; r < nr; r++)
                for (int64_t kx = 0; kx < KW; kx++) {
                    int64_t ix = ox * SX - PL + kx * DX;
                    if (ix >= 0 && ix < W)
                        acc += in->p[rows[r] + ix * ps + j] * wrow[r][kx * in->C + j];
                }
            orow[ox * ops + j] = acc;
        }
}

/* ---- The vector copies ----
 * Per output row and block of channels (8 a vector on AVX2, 16 on AVX-512, the last masked), the
 * interior columns go DW_PX at a time, each its own accumulator, so that the sums' chains overlap
 * (one pixel at a time waited on its adds: a test model of one 72-channel 3x3 at 320 x 240,
 * forced onto this loop and held to AVX2, 24-27 -> 12 ms a frame); the border columns go one at
 * a time with bounds checks. Each sum is the
 * bias, then each tap's product added in kernel order, unfused: the baseline copy's order, the
 * same bits. Whole blocks load unmasked, so that the loads fold into the arithmetic. */
#define DW_PX 8
/* A loop over the DW_PX pixels, unrolled, so that their accumulators stay in registers. */
#define DW_EACH(j) _Pragma("GCC unroll 8") for (int j = 0; j < DW_PX; j++)

/* The row loop for vectors of type VEC, given in the function using it: LD(P) (a vector of
 * channels from P), MAC(ACC, X, W), ST(P, V) (V to P) and init (the bias); ps and ops, the pixel
 * strides in and out. */
#define DW_VROW(VEC)                                                                               \
    int64_t KW = s->kk[1], SX = s->ks[1], PL = s->kpl[1], DX = s->kd[1], W = in->W, C = in->C;     \
    int64_t base = at(out, n, oy, 0, c0), lo, hi, rows[DW_MAXK];                                   \
    const float *ip = in->p, *wrow[DW_MAXK];                                                       \
    float *op = out->p;                                                                            \
    int nr = dw_rows(s, in, n, oy, c0, rows, wrow);                                                \
    dw_inner(s, W, out->W, &lo, &hi);                                                              \
    for (int64_t ox = 0; ox < out->W;) {                                                           \
        if (ox >= lo && ox + DW_PX <= hi) {                                                        \
            VEC acc[DW_PX];                                                                        \
            DW_EACH(j) acc[j] = init;                                                              \
            for (int r = 0; r < nr; r++)                                                           \
                for (int64_t kx = 0; kx < KW; kx++) {                                              \
                    VEC w = LD(wrow[r] + kx * C);                                                  \
                    const float *x0 = ip + rows[r] + (ox * SX - PL + kx * DX) * ps;                \
                    DW_EACH(j) acc[j] = MAC(acc[j], LD(x0 + j * SX * ps), w);                      \
                }                                                                                  \
            DW_EACH(j) ST(op + base + (ox + j) * ops, acc[j]);                                     \
            ox += DW_PX;                                                                           \
            continue;                                                                              \
        }                                                                                          \
        VEC acc = init;                                                                            \
        for (int r = 0; r < nr; r++)                                                               \
            for (int64_t kx = 0; kx < KW; kx++) {                                                  \
                int64_t ix = ox * SX - PL + kx * DX;                                               \
                if (ix >= 0 && ix < W)                                                             \
                    acc = MAC(acc, LD(ip + rows[r] + ix * ps), LD(wrow[r] + kx * C));              \
            }                                                                                      \
        ST(op + base + ox * ops, acc);                                                             \
        ox++;                                                                                      \
    }

/* AVX-512 (NHWC only, the layout AVX-512 plans use): cn <= 16; FULL: cn is 16. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"), always_inline)) static inline void
row16(const step *s, const dw_t *in, const dw_t *out, int64_t n, int64_t oy, int64_t c0, int64_t cn,
      const int FULL)
{
    __mmask16 m = (__mmask16)((1u << cn) - 1);
    __m512 init = _mm512_maskz_loadu_ps(m, s->bias + c0);
    int64_t ps = in->C, ops = out->C;

#define LD(P)          (FULL ? _mm512_loadu_ps(P) : _mm512_maskz_loadu_ps(m, P))
#define MAC(ACC, X, W) _mm512_add_ps(ACC, _mm512_mul_ps(X, W))
#define ST(P, V)       _mm512_mask_storeu_ps(P, m, V)
    DW_VROW(__m512)
#undef LD
#undef MAC
#undef ST
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) static void
dw_row_avx512(const step *s, const dw_t *in, const dw_t *out, int64_t n, int64_t oy, int64_t c0,
              int64_t cn)
{
    if (cn == 16)
        row16(s, in, out, n, oy, c0, cn, 1);
    else
        row16(s, in, out, n, oy, c0, cn, 0);
}

/* AVX2: 8 channels a vector, NHWC or nChw8c; cn <= 8; FULL: cn is 8. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
row8(const step *s, const dw_t *in, const dw_t *out, int64_t n, int64_t oy, int64_t c0, int64_t cn,
     const int FULL)
{
    __m256i m = _mm256_loadu_si256((const __m256i *)(nn_cpu_lanes8 + 8 - cn));
    __m256 init = _mm256_maskload_ps(s->bias + c0, m);
    int64_t ps = in->blk ? 8 : in->C, ops = out->blk ? 8 : out->C;

#define LD(P)          (FULL ? _mm256_loadu_ps(P) : _mm256_maskload_ps(P, m))
#define MAC(ACC, X, W) _mm256_add_ps(ACC, _mm256_mul_ps(X, W))
#define ST(P, V)       _mm256_maskstore_ps(P, m, V)
    DW_VROW(__m256)
#undef LD
#undef MAC
#undef ST
}

__attribute__((target("avx2,fma"))) static void dw_row_avx2(const step *s, const dw_t *in,
                                                            const dw_t *out, int64_t n, int64_t oy,
                                                            int64_t c0, int64_t cn)
{
    if (cn == 8)
        row8(s, in, out, n, oy, c0, cn, 1);
    else
        row8(s, in, out, n, oy, c0, cn, 0);
}

void nn_dw_run(const nn_plan *p, const dnnl_memory_t src_mem, const dnnl_memory_t dst_mem,
               const step *s)
{
    const nn_tval *ti = &p->tv[s->src], *to = &p->tv[s->dst];
    int64_t N = ti->dims[0], C = ti->dims[1], OH = to->dims[2], CB = (C + 7) / 8;
    dw_t in = {NULL, ti->dims[2], ti->dims[3], C, nn_layout_tag(p, s->src) == dnnl_nChw8c};
    dw_t out = {NULL, OH, to->dims[3], C, nn_layout_tag(p, s->dst) == dnnl_nChw8c};
    void *src = NULL, *dst = NULL;
    unsigned f = nn_cpu_features();

    dnnl_memory_get_data_handle(src_mem, &src);
    dnnl_memory_get_data_handle(dst_mem, &dst);
    in.p = src;
    out.p = dst;
    /* oneDNN's levels, so that ONEDNN_MAX_CPU_ISA=AVX2 (CI's AVX2 subset) runs the AVX2 copy */
    if ((f & NN_CPU_AVX512) && !in.blk && !out.blk) {
        int64_t CB16 = (C + 15) / 16;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < N * OH * CB16; r++) {
            int64_t n = r / (OH * CB16), oy = r / CB16 % OH, c0 = r % CB16 * 16;
            dw_row_avx512(s, &in, &out, n, oy, c0, C - c0 < 16 ? C - c0 : 16);
        }
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N * OH * CB; r++) {
        int64_t n = r / (OH * CB), oy = r / CB % OH, c0 = r % CB * 8;
        int64_t cn = C - c0 < 8 ? C - c0 : 8;
        if (f & NN_CPU_AVX2)
            dw_row_avx2(s, &in, &out, n, oy, c0, cn);
        else
            dw_row_base(s, &in, &out, n, oy, c0, cn);
    }
}
