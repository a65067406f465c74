/* nn_input.c - int8 plans' input step: the caller's NCHW float image quantised straight into the
 * int8 (s8 or u8) NHWC copy the first convolution reads, for three-channel inputs (AVX2, AVX-512).
 *
 * DESIGN. An int8 plan first re-ordered the caller's NCHW floats into an NHWC float input value
 * (oneDNN's reorder), then quantised that into its int8 shadow (a second reorder with the
 * scale): 0.53 ms of the demo model's 7.7 at batch 1 on two AVX-512 cores (0.92 ms at one core
 * held to AVX2), mostly memory traffic (640x480 floats written and read back).
 * nn_input_fuse_q finds that pair after planning, when the float input has no other reader, and
 * replaces it with one step (ST_INPUTQ) of ours: 16 pixels of each plane are scaled, clamped to
 * the type's range and rounded to nearest even (vcvtps2dq), as oneDNN's reorder computes them
 * (saturate, then round), then interleaved: on AVX-512 as 32-bit lanes by two-source permutes
 * before narrowing to bytes, on AVX2 as bytes by shuffles after packing: the same bytes either
 * way. The last pixels of an image not a multiple of 16 go one by one (nearbyintf, the same
 * rounding). Images, and 64K-pixel pieces of one, are shared among the OpenMP threads oneDNN
 * runs. Other inputs (other channel counts, float plans, CPUs without AVX2) keep oneDNN's
 * reorders. The copy is chosen by oneDNN's ISA level (ONEDNN_MAX_CPU_ISA=AVX2 runs the AVX2 one).
 */
#include <immintrin.h>
#include <math.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

/* 1 if step s reads value v or an alias of it (as a primitive's argument other than its output,
 * or as src). */
static int reads(const nn_plan *p, const step *s, int v)
{
    for (int a = 0; a < s->n_args; a++)
        if (s->args[a].val >= 0 && nn_p_root(p, s->args[a].val) == v &&
            s->args[a].arg != DNNL_ARG_DST && s->args[a].arg != DNNL_ARG_TO)
            return 1;
    return s->src >= 0 && nn_p_root(p, s->src) == v;
}

/* The value step s (a re-order) writes, or -1. */
static int reorder_to(const step *s)
{
    for (int a = 0; s->kind == ST_PRIM && a < s->n_args; a++)
        if (s->args[a].arg == DNNL_ARG_TO)
            return s->args[a].val;
    return -1;
}

static void drop_step(step *s)
{
    if (s->prim)
        dnnl_primitive_destroy(s->prim);
    s->prim = NULL;
    s->kind = ST_NOP;
    s->n_args = 0;
    s->scratch = 0;
    s->src = s->dst = -1;
}

void nn_input_fuse_q(nn_plan *p)
{
    int in = p->g->input, sh = p->g->n_vals + in, j = -1;
    dnnl_memory_desc_t want;
    dnnl_dims_t d = {p->n, 3, p->h, p->w};

    if (!p->vdt || p->in_direct || p->n_steps < 2 || p->g->in_dims[1] != 3 ||
        reorder_to(&p->steps[0]) != in || !(nn_cpu_features() & NN_CPU_AVX2) ||
        (p->vdt[sh] != dnnl_s8 && p->vdt[sh] != dnnl_u8) || !(p->vsc[sh] > 0.0f))
        return;
    for (int i = 1; i < p->n_steps; i++)
        if (reads(p, &p->steps[i], in)) {
            if (j >= 0 || reorder_to(&p->steps[i]) != sh)
                return; /* another reader of the float input, or not the shadow's re-order */
            j = i;
        }
    if (j < 0 || dnnl_memory_desc_init_by_tag(&want, 4, d, p->vdt[sh], dnnl_nhwc) != dnnl_success ||
        !dnnl_memory_desc_equal(&want, &p->md[sh]))
        return;
    drop_step(&p->steps[j]);
    drop_step(&p->steps[0]);
    p->steps[0].kind = ST_INPUTQ;
    p->steps[0].dst = sh;
}

/* Pixels [i0, i1) (a multiple of 16 of them) of one image's planes r, g, b, times k, clamped to
 * [lo, hi], rounded, interleaved into out (bytes). */
__attribute__((target("avx512f"))) static void quant16(const float *r, const float *g,
                                                       const float *b, uint8_t *out, int64_t i0,
                                                       int64_t i1, float k, float lo, float hi)
{
    int32_t rg[3][16], tb[3][16];
    __m512 vk = _mm512_set1_ps(k), vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);

    for (int o = 0; o < 3; o++) /* output vector o holds values 16o .. 16o+15 of the run */
        for (int x = 0; x < 16; x++) {
            int q = 16 * o + x, px = q / 3, ch = q % 3;
            rg[o][x] = ch == 0 ? px : ch == 1 ? 16 + px : 0; /* R from r, G from g */
            tb[o][x] = ch == 2 ? 16 + px : x;                /* B from b, the rest kept */
        }
    __m512i rg0 = _mm512_loadu_si512(rg[0]), rg1 = _mm512_loadu_si512(rg[1]);
    __m512i rg2 = _mm512_loadu_si512(rg[2]), tb0 = _mm512_loadu_si512(tb[0]);
    __m512i tb1 = _mm512_loadu_si512(tb[1]), tb2 = _mm512_loadu_si512(tb[2]);
#define Q16(p) _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(p, vk), vlo), vhi))
    for (int64_t i = i0; i < i1; i += 16) {
        __m512i qr = Q16(_mm512_loadu_ps(r + i)), qg = Q16(_mm512_loadu_ps(g + i));
        __m512i qb = Q16(_mm512_loadu_ps(b + i));
        uint8_t *o = out + i * 3;
        _mm_storeu_si128((__m128i *)o, _mm512_cvtepi32_epi8(_mm512_permutex2var_epi32(
                                           _mm512_permutex2var_epi32(qr, rg0, qg), tb0, qb)));
        _mm_storeu_si128((__m128i *)(o + 16),
                         _mm512_cvtepi32_epi8(_mm512_permutex2var_epi32(
                             _mm512_permutex2var_epi32(qr, rg1, qg), tb1, qb)));
        _mm_storeu_si128((__m128i *)(o + 32),
                         _mm512_cvtepi32_epi8(_mm512_permutex2var_epi32(
                             _mm512_permutex2var_epi32(qr, rg2, qg), tb2, qb)));
    }
#undef Q16
}

/* The same with AVX2, 16 pixels a round: each plane's 16 values converted, packed to 16 bytes
 * (saturating packs: the values are in range already), then the three interleaved by byte
 * shuffles into 48. */
__attribute__((target("avx2"))) static void quant16_avx2(const float *r, const float *g,
                                                         const float *b, uint8_t *out, int64_t i0,
                                                         int64_t i1, float k, float lo, float hi,
                                                         int s8)
{
    int8_t m[3][3][16]; /* [output block][plane][byte]: the plane's byte, or -128 (zero) */
    __m256 vk = _mm256_set1_ps(k), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    __m128i mk[3][3];

    for (int o = 0; o < 3; o++)
        for (int x = 0; x < 16; x++) {
            int q = 16 * o + x;
            for (int c = 0; c < 3; c++)
                m[o][c][x] = (int8_t)(q % 3 == c ? q / 3 : -128);
        }
    for (int o = 0; o < 3; o++)
        for (int c = 0; c < 3; c++)
            mk[o][c] = _mm_loadu_si128((const __m128i *)m[o][c]);
#define Q8(p)                                                                                      \
    _mm256_cvtps_epi32(                                                                            \
        _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(p), vk), vlo), vhi))
    for (int64_t i = i0; i < i1; i += 16) {
        __m128i v[3];
        const float *pl[3] = {r + i, g + i, b + i};
        for (int c = 0; c < 3; c++) {
            __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(Q8(pl[c]), Q8(pl[c] + 8)),
                                                 0xd8); /* 16 int16 in order */
            __m128i l = _mm256_castsi256_si128(w), h = _mm256_extracti128_si256(w, 1);
            v[c] = s8 ? _mm_packs_epi16(l, h) : _mm_packus_epi16(l, h);
        }
        for (int o = 0; o < 3; o++)
            _mm_storeu_si128((__m128i *)(out + i * 3 + 16 * o),
                             _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(v[0], mk[o][0]),
                                                       _mm_shuffle_epi8(v[1], mk[o][1])),
                                          _mm_shuffle_epi8(v[2], mk[o][2])));
    }
#undef Q8
}

void nn_input_q_run(const nn_plan *p, const float *in, dnnl_memory_t dst_mem, const step *s)
{
    int64_t N = p->n, HW = (int64_t)p->h * p->w, runs = HW / 16;
    int64_t chunk = 4096, per = runs > 0 ? (runs + chunk - 1) / chunk : 1; /* 64K pixels */
    int s8 = p->vdt[s->dst] == dnnl_s8, avx512 = (nn_cpu_features() & NN_CPU_AVX512) != 0;
    float k = 1.0f / p->vsc[s->dst], lo = s8 ? -128.0f : 0.0f, hi = s8 ? 127.0f : 255.0f;
    void *dst = NULL;

    dnnl_memory_get_data_handle(dst_mem, &dst);
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < N * per; t++) {
        int64_t n = t / per, r0 = t % per * chunk, r1 = r0 + chunk < runs ? r0 + chunk : runs;
        const float *img = in + n * 3 * HW;
        uint8_t *out = (uint8_t *)dst + n * 3 * HW;
        if (avx512)
            quant16(img, img + HW, img + 2 * HW, out, r0 * 16, r1 * 16, k, lo, hi);
        else
            quant16_avx2(img, img + HW, img + 2 * HW, out, r0 * 16, r1 * 16, k, lo, hi, s8);
        if (r1 == runs) /* the image's last pixels */
            for (int64_t i = runs * 16; i < HW; i++)
                for (int c = 0; c < 3; c++) {
                    int q = (int)nearbyintf(fminf(fmaxf(img[c * HW + i] * k, lo), hi));
                    out[i * 3 + c] = (uint8_t)(q & 0xff); /* s8: the two's complement byte */
                }
    }
}
