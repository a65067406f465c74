/* nn_wino.c - 3x3 stride-1 float32 convolutions by Winograd's F(4x4, 3x3), ours, on AVX2 and
 * AVX-512 CPUs, NHWC or nChw8c; oneDNN 2.6 has Winograd kernels for AVX-512 only, nChw16c only,
 * without a fused residual or dilation, and they were slower than these (nn_plan_conv.c).
 *
 * DESIGN. A 4x4 block of outputs of one channel needs a 6x6 patch of every input channel. With
 * the patch d transformed as V = B' d B and the 3x3 kernel as U = G g G' (6x6 each), the outputs
 * are A' (sum over input channels of U . V) A: 36 products per input-output channel pair instead
 * of 144. For the 36 positions xi of the 6x6, the sums over input channels are 36 matrix
 * products, tiles x C times C x K. So a convolution runs as
 *  1. the input transform of a chunk of tiles (every input channel, a vector of 8 or 16 at a
 *     time) into V (36 x tiles x C, per thread),
 *  2. 36 products V[xi] x U[xi] by a kernel of 6 rows x 2 vectors of FMAs into M (36 x tiles x
 *     K),
 *  3. the output transform of M, plus the bias, the residual already in the output (a fused
 *     Add: oneDNN's sum post-op) and the fused activations, into the output's layout.
 * A chunk's V and M stay in the core's caches between the three. Chunks (and, where there are
 * few, ranges of output channels) are shared out among the OpenMP threads. A dilated kernel
 * (ResNet's output stride 16: dilation 2) is a dense one on each of the d x d interleaved grids
 * of the output, so a tile reads and writes every d-th pixel.
 * Transformed weights are 4x the plain ones (36 against 9 values). They are made once, at plan
 * time, while that adds at most half of the graph's convolution weights (in plan order); past
 * that the plain ones are kept and each chunk transforms the kernels of an output panel as
 * it reaches them (ResNet-50's 512-channel convolutions: 20% slower a layer than with
 * transformed weights, still twice the direct kernels' speed), so peak memory stays near the
 * direct plan's. The loops are written once (nn_wino_isa.h) and compiled for AVX2 (8 floats a
 * vector; nChw8c plans everywhere) and AVX-512 (16; its NHWC plans). On AVX-512 they replaced
 * oneDNN's Winograd kernels and their nChw16c copies: one core, alternating runs, ResNet-50
 * 407-457 against 473-483 ms, HRNet-W32 431-482 against 471-515. Results differ from a direct
 * convolution's by the transforms' rounding (test_nn_wino.c bounds it against oneDNN's direct
 * kernels). */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

#define WG_TB   48 /* tiles in a chunk (a multiple of the kernel's 6 rows) */
#define WG_MAXD 4  /* largest dilation taken */
/* A thread's scratch: V (36 x WG_TB x Cp), M (36 x WG_TB x Kp at most) and a panel's transformed
 * weights (36 x Cp x pw), each of the 36 planes WG_SKEW floats further than its size: planes a
 * multiple of 4 KiB apart put the 36 stores of one transform in one set of the L1 cache. */
#define WG_SKEW         16
#define V_FLOATS(C)     (36 * (WG_TB * (C) + WG_SKEW))
#define M_FLOATS(K)     (36 * (WG_TB * (K) + WG_SKEW))
#define U_PLANE(C, pw)  ((pw) * (C) + WG_SKEW)
#define U_FLOATS(C, pw) (36 * U_PLANE(C, pw))
#define WG_MAX_ACT      4 /* fused activations taken */
#define WG_BUDGET       2 /* transformed weights may add 1/WG_BUDGET of the plain ones (below) */

enum { WG_RELU, WG_CLIP, WG_LINEAR };

/* What the step keeps (its tbuf, one buffer freed with the plan): the geometry, the fused
 * post-ops, then the transformed weights and the bias. */
typedef struct wg_w {
    int64_t C, K, Cp, Kp; /* channels; Cp: C rounded up to vl, Kp: K rounded up to 2 vl */
    int64_t vl;           /* floats a vector: 8 (AVX2) or 16 (AVX-512, NHWC plans) */
    int64_t pt, pl, d;    /* padding top and left, dilation (both axes) */
    int sum;              /* add what the output holds (a residual) before the activations */
    int n_act;
    struct {
        int kind;
        float a, b;
    } act[WG_MAX_ACT];
    int threads; /* threads the scratchpad was sized for */
    float *u;    /* 36 x Kp/pw x Cp x pw: U[xi] in panels of pw = 2 vl output channels; or NULL: */
    float *g;    /* Kp/pw x Cp x 9 x pw: the plain kernels, transformed as a chunk needs them */
    float *bias; /* Kp */
} wg_w;

/* ---------------------------------------------------------------------------------------------
 * When
 * ------------------------------------------------------------------------------------------- */
static int act_of(const_dnnl_post_ops_t po, int i, wg_w *w)
{
    dnnl_alg_kind_t alg;
    float scale, a, b;

    if (dnnl_post_ops_get_params_eltwise(po, i, &scale, &alg, &a, &b) != dnnl_success ||
        scale != 1.0f || w->n_act == WG_MAX_ACT)
        return 0;
    if (alg == dnnl_eltwise_relu)
        w->act[w->n_act].kind = WG_RELU;
    else if (alg == dnnl_eltwise_clip)
        w->act[w->n_act].kind = WG_CLIP;
    else if (alg == dnnl_eltwise_linear)
        w->act[w->n_act].kind = WG_LINEAR;
    else
        return 0;
    w->act[w->n_act].a = a;
    w->act[w->n_act++].b = b;
    return 1;
}

/* Reads the fused post-ops po into w: 0 when one is not ours to do (then oneDNN runs it). */
static int post_ops_of(const_dnnl_post_ops_t po, wg_w *w)
{
    int n = po ? dnnl_post_ops_len(po) : 0;

    for (int i = 0; i < n; i++) {
        dnnl_primitive_kind_t k = dnnl_post_ops_get_kind(po, i);
        float sc;
        if (k == dnnl_sum && i == 0 && dnnl_post_ops_get_params_sum(po, i, &sc) == dnnl_success &&
            sc == 1.0f)
            w->sum = 1;
        else if (k != dnnl_eltwise || !act_of(po, i, w))
            return 0;
    }
    return 1;
}

void nn_wino_init(nn_plan *p)
{
    size_t plain = 0;

    for (int i = 0; i < p->g->n_nodes; i++) {
        const nn_node *n = &p->g->nodes[i];
        if ((n->op == NN_OP_CONV || n->op == NN_OP_CONVT) && n->n_in > 1 && n->in[1] >= 0 &&
            p->g->vals[n->in[1]].c)
            plain += (size_t)p->g->vals[n->in[1]].c->count * sizeof(float);
    }
    p->wino_left = plain / WG_BUDGET;
}

int nn_wino_wanted(const nn_plan *p, const nn_node *n, const nn_geom *gm, const_dnnl_post_ops_t po)
{
    const nn_tval *t = &p->tv[n->in[0]], *o = &p->tv[n->out[0]];
    wg_w w = {0};

    return p->wino && !p->bf16 && !p->rg && (nn_cpu_features() & NN_CPU_AVX2) &&
           n->op == NN_OP_CONV && gm->group == 1 && gm->k[0] == 3 && gm->k[1] == 3 &&
           gm->s[0] == 1 && gm->s[1] == 1 && gm->d[0] == gm->d[1] && gm->d[0] >= 1 &&
           gm->d[0] <= WG_MAXD && t->ndims == 4 && o->ndims == 4 && t->dims[1] >= 32 &&
           o->dims[1] >= 32 && o->dims[2] >= 4 * gm->d[0] && o->dims[3] >= 4 * gm->d[0] &&
           post_ops_of(po, &w);
}

/* ---------------------------------------------------------------------------------------------
 * Plan: the weights' transform
 * ------------------------------------------------------------------------------------------- */
/* G g G' of every panel of kernels g (Kp/pw x Cp x 9 x pw) into u (Kp/pw x U_FLOATS): the run's
 * own transform (nn_wino_isa.h), done once. Defined after the loops below. */
static void transform_panels(const wg_w *w, const float *g, float *u);

/* Floats of one thread's scratch: V and M, and a panel's transformed weights where they are made
 * per chunk. */
static size_t scratch_floats(const wg_w *w)
{
    return (size_t)(V_FLOATS(w->Cp) + M_FLOATS(w->Kp) + (w->u ? 0 : U_FLOATS(w->Cp, 2 * w->vl)));
}

/* 1 when the plan's vectors are AVX-512's 16 floats: an AVX-512 CPU and an NHWC output (nChw8c,
 * forced there, runs the AVX2 loops). */
static int wide(const nn_plan *p, int out)
{
    return (nn_cpu_features() & NN_CPU_AVX512) && nn_layout_tag(p, out) == dnnl_nhwc;
}

int nn_wino_plan(pctx *x, const nn_geom *gm, const_dnnl_post_ops_t po, int in, int out)
{
    nn_plan *p = x->p;
    const nn_node *n = x->n;
    const nn_const *wc = p->tv[n->in[1]].c;
    const nn_const *b = n->n_in > 2 && n->in[2] >= 0 ? p->tv[n->in[2]].c : NULL;
    int64_t C = p->tv[in].dims[1], K = p->tv[out].dims[1];
    int64_t vl = wide(p, out) ? 16 : 8, pw = 2 * vl;
    int64_t Cp = (C + vl - 1) / vl * vl, Kp = (K + pw - 1) / pw * pw;
    int64_t head = (sizeof(wg_w) + 63) / 64 * 64;
    size_t extra = (size_t)(27 * C * K) * sizeof(float);
    int pre = extra <= p->wino_left;
    size_t ubytes = (size_t)(pre ? Kp / pw * U_FLOATS(Cp, pw) : 9 * Kp * Cp) * sizeof(float);
    size_t bytes = (size_t)head + ubytes + (size_t)Kp * sizeof(float);
    unsigned char *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
    wg_w *w = (wg_w *)buf;
    step *s;

    if (!buf || nn_p_keep_fixed(p, NULL, buf) < 0) {
        free(buf);
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    }
    memset(buf, 0, bytes);
    post_ops_of(po, w);
    w->C = C;
    w->K = K;
    w->vl = vl;
    w->Cp = Cp;
    w->Kp = Kp;
    w->pt = gm->pl[0];
    w->pl = gm->pl[1];
    w->d = gm->d[0];
    w->bias = (float *)(buf + head + ubytes);
    for (int64_t k = 0; k < K; k++)
        w->bias[k] = b ? (float)nn_const_getf(b, k) : 0.0f;
    /* the kernels as panels (Kp/pw x Cp x 9 x pw): kept, or transformed once into u */
    w->g = pre ? calloc((size_t)(9 * Kp * Cp), sizeof(float)) : (float *)(buf + head);
    if (!w->g)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    for (int64_t k = 0; k < K; k++)
        for (int64_t c = 0; c < C; c++)
            for (int i = 0; i < 9; i++)
                w->g[((k / pw * Cp + c) * 9 + i) * pw + k % pw] =
                    (float)nn_const_getf(wc, (k * C + c) * 9 + i);
    if (pre) {
        w->u = (float *)(buf + head);
        transform_panels(w, w->g, w->u);
        free(w->g);
        w->g = NULL;
    }
    w->threads = omp_get_max_threads();
    if (w->threads < 1)
        w->threads = 1;
    s = nn_plan_step_add(p);
    if (!s)
        return err_set(x->e, VAS_ENOMEM, "out of memory planning '%s'", n->name);
    s->kind = ST_WINO;
    s->name = n->name;
    s->src = in;
    s->dst = out;
    s->tbuf = w;
    s->scratch = (size_t)w->threads * scratch_floats(w) * sizeof(float) + 64;
    {
        dnnl_dims_t sd = {(dnnl_dim_t)s->scratch};
        dnnl_memory_desc_init_by_tag(&s->scratch_md, 1, sd, dnnl_u8, dnnl_a);
    }
    p->weight_bytes += ubytes;
    if (pre)
        p->wino_left -= extra;
    p->n_wino++;
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Run
 * ------------------------------------------------------------------------------------------- */
/* The tiles of one image: for each of the d x d grids (phase py, px), th x tw tiles of 4x4. */
typedef struct wg_grid {
    int64_t py, px, th, tw, first;
} wg_grid;

typedef struct wg_run {
    const wg_w *w;
    const float *src;
    float *dst;
    int64_t H, W, OH, OW;
    int64_t in_img, in_blk, in_px;    /* input strides (floats): image, block of 8, pixel */
    int64_t out_img, out_blk, out_px; /* the same for the output */
    int nhwc;                         /* NHWC (else nChw8c): a partial last block is masked */
    wg_grid g[WG_MAXD * WG_MAXD];
    int ng;
    int64_t per_image, tiles;
} wg_run;

/* A tile: its image and its origin (output row and column of its first value). */
typedef struct wg_tile {
    int64_t n, oy, ox;
} wg_tile;

static wg_tile tile_at(const wg_run *r, int64_t t)
{
    int64_t i = t % r->per_image;
    wg_tile tl = {t / r->per_image, 0, 0};
    int k = 0;

    while (k + 1 < r->ng && r->g[k + 1].first <= i)
        k++;
    i -= r->g[k].first;
    tl.oy = r->g[k].py + r->w->d * 4 * (i / r->g[k].tw);
    tl.ox = r->g[k].px + r->w->d * 4 * (i % r->g[k].tw);
    return tl;
}

/* B' d B on 6 vectors a row: one pass (rows or columns), from in (stride is) to out (os). */
#define IN_1D(V, in, is, out, os)                                                                  \
    do {                                                                                           \
        V d0 = in[0], d1 = in[is], d2 = in[2 * (is)], d3 = in[3 * (is)], d4 = in[4 * (is)],        \
          d5 = in[5 * (is)];                                                                       \
        V t1 = SUB(d4, MUL(F4, d2)), t2 = SUB(d3, MUL(F4, d1));                                    \
        V t3 = SUB(d4, d2), t4 = MUL(F2, SUB(d3, d1));                                             \
        out[0] = ADD(SUB(MUL(F4, d0), MUL(F5, d2)), d4);                                           \
        out[os] = ADD(t1, t2);                                                                     \
        out[2 * (os)] = SUB(t1, t2);                                                               \
        out[3 * (os)] = ADD(t3, t4);                                                               \
        out[4 * (os)] = SUB(t3, t4);                                                               \
        out[5 * (os)] = ADD(SUB(MUL(F4, d1), MUL(F5, d3)), d5);                                    \
    } while (0)

/* A' m A: 6 vectors in (stride is) to 4 out (stride os). */
#define OUT_1D(V, in, is, out, os)                                                                 \
    do {                                                                                           \
        V m0 = in[0], m1 = in[is], m2 = in[2 * (is)], m3 = in[3 * (is)], m4 = in[4 * (is)],        \
          m5 = in[5 * (is)];                                                                       \
        V a = ADD(m1, m2), b = SUB(m1, m2), c = ADD(m3, m4), e = SUB(m3, m4);                      \
        out[0] = ADD(ADD(m0, a), c);                                                               \
        out[os] = ADD(b, MUL(F2, e));                                                              \
        out[2 * (os)] = ADD(a, MUL(F4, c));                                                        \
        out[3 * (os)] = ADD(ADD(b, MUL(F8, e)), m5);                                               \
    } while (0)

/* The vector loops, for AVX2 (nn_wino_isa.h). */
#define WG_FN(name)     name##_avx2
#define WG_TARGET       __attribute__((target("avx2,fma")))
#define V               __m256
#define VL              8
#define VMASK           __m256i
#define MASK_FIRST(n)   _mm256_loadu_si256((const __m256i *)(nn_cpu_lanes8 + 8 - (n)))
#define MLOAD(p, m)     _mm256_maskload_ps(p, m)
#define MSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define LOADU(p)        _mm256_loadu_ps(p)
#define STOREU(p, v)    _mm256_storeu_ps(p, v)
#define SET1(x)         _mm256_set1_ps(x)
#define ZERO()          _mm256_setzero_ps()
#define ADD(a, b)       _mm256_add_ps(a, b)
#define SUB(a, b)       _mm256_sub_ps(a, b)
#define MUL(a, b)       _mm256_mul_ps(a, b)
#define FMA(a, b, c)    _mm256_fmadd_ps(a, b, c)
#define MAX(a, b)       _mm256_max_ps(a, b)
#define MIN(a, b)       _mm256_min_ps(a, b)
#define BCAST(p)        _mm256_broadcast_ss(p)
#define LEAKY(v, a)     _mm256_blendv_ps(v, MUL(v, a), _mm256_cmp_ps(v, ZERO(), _CMP_LT_OQ))
#define ZERO_OUT(v, m)  _mm256_and_ps(v, _mm256_castsi256_ps(m))
#include "nn/nn_wino_isa.h"

/* And for AVX-512 (NHWC plans there). */
#define WG_FN(name)     name##_avx512
#define WG_TARGET       __attribute__((target("avx512f,fma")))
#define V               __m512
#define VL              16
#define VMASK           __mmask16
#define MASK_FIRST(n)   ((__mmask16)((1u << (n)) - 1))
#define MLOAD(p, m)     _mm512_maskz_loadu_ps(m, p)
#define MSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define LOADU(p)        _mm512_loadu_ps(p)
#define STOREU(p, v)    _mm512_storeu_ps(p, v)
#define SET1(x)         _mm512_set1_ps(x)
#define ZERO()          _mm512_setzero_ps()
#define ADD(a, b)       _mm512_add_ps(a, b)
#define SUB(a, b)       _mm512_sub_ps(a, b)
#define MUL(a, b)       _mm512_mul_ps(a, b)
#define FMA(a, b, c)    _mm512_fmadd_ps(a, b, c)
#define MAX(a, b)       _mm512_max_ps(a, b)
#define MIN(a, b)       _mm512_min_ps(a, b)
#define BCAST(p)        _mm512_set1_ps(*(p))
#define LEAKY(v, a)     _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, ZERO(), _CMP_LT_OQ), v, a)
#define ZERO_OUT(v, m)  _mm512_maskz_mov_ps(m, v)
#include "nn/nn_wino_isa.h"

static void transform_panels(const wg_w *w, const float *g, float *u)
{
    int64_t pw = 2 * w->vl;

    for (int64_t k = 0; k < w->Kp / pw; k++)
        if (w->vl == 16)
            panel_transform_avx512(g + k * w->Cp * 9 * pw, w->Cp, u + k * U_FLOATS(w->Cp, pw));
        else
            panel_transform_avx2(g + k * w->Cp * 9 * pw, w->Cp, u + k * U_FLOATS(w->Cp, pw));
}

void nn_wino_run(const nn_plan *p, dnnl_memory_t src_mem, dnnl_memory_t dst_mem, const step *s)
{
    const nn_tval *ti = &p->tv[s->src], *to = &p->tv[s->dst];
    const wg_w *w = s->tbuf;
    wg_run r = {.w = w, .H = ti->dims[2], .W = ti->dims[3], .OH = to->dims[2], .OW = to->dims[3]};
    int64_t d = w->d, chunks, parts = 1, KP = w->Kp / (2 * w->vl), items;
    int threads = omp_get_max_threads();
    void *src = NULL, *dst = NULL;
    unsigned char *scratch = p->scratch;

    dnnl_memory_get_data_handle(src_mem, &src);
    dnnl_memory_get_data_handle(dst_mem, &dst);
    r.src = src;
    r.dst = dst;
    r.nhwc = nn_layout_tag(p, s->dst) == dnnl_nhwc;
    r.in_img = r.H * r.W * (r.nhwc ? w->C : w->Cp);
    r.in_blk = r.nhwc ? w->vl : r.H * r.W * 8;
    r.in_px = r.nhwc ? w->C : 8;
    r.out_img = r.OH * r.OW * (r.nhwc ? w->K : (w->K + 7) / 8 * 8);
    r.out_blk = r.nhwc ? w->vl : r.OH * r.OW * 8;
    r.out_px = r.nhwc ? w->K : 8;
    for (int64_t py = 0; py < d; py++)
        for (int64_t px = 0; px < d; px++) {
            wg_grid *g = &r.g[r.ng++];
            g->py = py;
            g->px = px;
            g->th = ((r.OH - py + d - 1) / d + 3) / 4;
            g->tw = ((r.OW - px + d - 1) / d + 3) / 4;
            g->first = r.per_image;
            r.per_image += g->th * g->tw;
        }
    r.tiles = ti->dims[0] * r.per_image;
    if (threads > w->threads)
        threads = w->threads;
    chunks = (r.tiles + WG_TB - 1) / WG_TB;
    while (chunks * parts < 2 * threads && KP / (parts * 2) >= 2)
        parts *= 2;
    items = chunks * parts;
#pragma omp parallel num_threads(threads)
    {
        float *v =
            (float *)(scratch + (size_t)omp_get_thread_num() * scratch_floats(w) * sizeof(float));
        float *m = v + V_FLOATS(w->Cp), *ubuf = m + M_FLOATS(w->Kp);
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < items; it++) {
            int64_t c = it / parts, q = it % parts, t0 = c * WG_TB;
            int64_t nt = r.tiles - t0 < WG_TB ? r.tiles - t0 : WG_TB;
            if (w->vl == 16)
                run_piece_avx512(&r, t0, nt, KP * q / parts, KP * (q + 1) / parts, v, m, ubuf);
            else
                run_piece_avx2(&r, t0, nt, KP * q / parts, KP * (q + 1) / parts, v, m, ubuf);
        }
    }
}
