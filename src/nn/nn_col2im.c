/* nn_col2im.c - ConvTranspose's second half: the gather of each output pixel's taps from the
 * 1x1 product the planner made (nn_plan_conv.c: N x H x W x K*K*OC in the step's tbuf), plus the
 * bias, into NHWC or nChw8c; f32 or bf16.
 *
 * DESIGN. The maps from output row (column) and kernel row (column) to input row (column) are
 * made once per plan (nn_col2im_prepare), so a pixel does no division. Every output pixel is
 * its own sum, shared out among the OpenMP threads. The generic loop is compiled twice, baseline
 * and AVX2 (blocked float plans' nChw8c, bf16); f32 NHWC (AVX-512 plans, int8 plans' float
 * products) lists the pixel's taps once and sums them with intrinsics, 16 channels a vector on
 * AVX-512, 8 on AVX2 (openfield's two heads at batch 1: 3.4% of the time -> 1.4% on AVX-512).
 * Each sums a channel in the same order (bias, then the taps), so all give the same bits. The
 * copies are chosen by oneDNN's ISA level, so ONEDNN_MAX_CPU_ISA=AVX2 runs the AVX2 ones. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

/* Input row (column) of each kernel row (column) of each output row (column), -1 where that
 * tap falls between strides or outside the input, once per plan: OH x kh then OW x kw int32. The
 * gather then does no division per pixel (which cost more than its sums). */
static void col2im_axis(int64_t out, int64_t k, int64_t pad, int64_t stride, int64_t in,
                        int32_t *map)
{
    for (int64_t o = 0; o < out; o++)
        for (int64_t t = 0; t < k; t++) {
            int64_t pos = o + pad - t, i = pos / stride;
            map[o * k + t] = pos < 0 || pos % stride || i >= in ? -1 : (int32_t)i;
        }
}

int nn_col2im_prepare(const nn_plan *p, step *s)
{
    const nn_tval *to = &p->tv[s->dst];
    int64_t OH = to->dims[2], OW = to->dims[3];
    int32_t *m = malloc(sizeof(int32_t) * (size_t)(OH * s->kk[0] + OW * s->kk[1]));

    if (!m)
        return VAS_ENOMEM;
    s->maps = m;
    col2im_axis(OH, s->kk[0], s->kpl[0], s->ks[0], s->kin[0], m);
    col2im_axis(OW, s->kk[1], s->kpl[1], s->ks[1], s->kin[1], m + OH * s->kk[0]);
    return VAS_OK;
}

/* Output pixel o of image n: the bias plus its taps, summed in f32 whatever the storage type,
 * written NHWC or nChw8c. In f32 the sums and the blocked stores are whole vectors. */
static inline __attribute__((always_inline)) void
col2im_pixel(const nn_plan *p, const step *s, void *dst, int blk, int64_t n, int64_t o)
{
    const nn_tval *to = &p->tv[s->dst];
    int64_t OC = s->koc, OH = to->dims[2], OW = to->dims[3], oy = o / OW, ox = o % OW;
    int64_t kh = s->kk[0], kw = s->kk[1], H = s->kin[0], W = s->kin[1];
    const int32_t *ymap = s->maps, *xmap = ymap + OH * kh;
    int bf = p->bf16;
    float acc[256];

    for (int64_t c0 = 0; c0 < OC; c0 += 256) {
        int64_t cn = OC - c0 < 256 ? OC - c0 : 256;
        for (int64_t c = 0; c < cn; c++)
            acc[c] = s->bias ? s->bias[c0 + c] : 0.0f;
        for (int64_t ky = 0; ky < kh; ky++) {
            int64_t iy = ymap[oy * kh + ky];
            for (int64_t kx = 0; iy >= 0 && kx < kw; kx++) {
                int64_t ix = xmap[ox * kw + kx];
                size_t at;
                if (ix < 0)
                    continue;
                at = (size_t)((((n * H + iy) * W + ix) * kh * kw + ky * kw + kx) * OC + c0);
                if (!bf) {
                    const float *t = (const float *)s->tbuf + at;
                    for (int64_t c = 0; c < cn; c++)
                        acc[c] += t[c];
                } else {
                    for (int64_t c = 0; c < cn; c++)
                        acc[c] += nn_ld(s->tbuf, at + (size_t)c, 1);
                }
            }
        }
        if (blk && !bf) /* blocked plans are f32 with OC a multiple of 8 (nn_plan_layout.c) */
            for (int64_t c = 0; c < cn; c += 8)
                memcpy((float *)dst + ((n * (OC / 8) + (c0 + c) / 8) * OH * OW + o) * 8, acc + c,
                       8 * sizeof(float));
        else
            for (int64_t c = 0, k = c0; c < cn; c++, k++)
                nn_st(dst,
                      blk ? (size_t)(((n * (OC / 8) + k / 8) * OH * OW + o) * 8 + k % 8)
                          : (size_t)((n * OH * OW + o) * OC + k),
                      acc[c], bf);
    }
}

/* The same compiled for AVX2 (8 floats a vector), called only where the CPU has it. */
__attribute__((target("avx2"))) static void
col2im_pixel_avx2(const nn_plan *p, const step *s, void *dst, int blk, int64_t n, int64_t o)
{
    col2im_pixel(p, s, dst, blk, n, o);
}

/* The taps that land on output pixel o of image n, in col2im_pixel's order, into taps[]; their
 * count (kh * kw <= 64: nn_col2im_run). */
static inline __attribute__((always_inline)) int
pixel_taps(const nn_plan *p, const step *s, int64_t n, int64_t o, const float **taps)
{
    const nn_tval *to = &p->tv[s->dst];
    int64_t OC = s->koc, OH = to->dims[2], OW = to->dims[3], oy = o / OW, ox = o % OW;
    int64_t kh = s->kk[0], kw = s->kk[1], H = s->kin[0], W = s->kin[1];
    const int32_t *maps = s->maps, *ymap = maps + oy * kh, *xmap = maps + OH * kh + ox * kw;
    const float *t = s->tbuf;
    int nt = 0;

    for (int64_t ky = 0; ky < kh; ky++)
        for (int64_t kx = 0; ymap[ky] >= 0 && kx < kw; kx++)
            if (xmap[kx] >= 0)
                taps[nt++] =
                    t + (((n * H + ymap[ky]) * W + xmap[kx]) * kh * kw + ky * kw + kx) * OC;
    return nt;
}

/* f32 NHWC with AVX-512 (16 channels a vector) or AVX2 (8), the last block masked; each
 * channel's sum in col2im_pixel's order (bias, then the taps), so the same bits. */
__attribute__((target("avx512f"))) static void col2im_pixel_avx512(const nn_plan *p, const step *s,
                                                                   float *dst, int64_t n, int64_t o)
{
    const float *taps[64];
    int64_t OC = s->koc, at = (n * p->tv[s->dst].dims[2] * p->tv[s->dst].dims[3] + o) * OC;
    int nt = pixel_taps(p, s, n, o, taps);

    for (int64_t c0 = 0; c0 < OC; c0 += 16) {
        __mmask16 m = (__mmask16)(OC - c0 < 16 ? (1u << (OC - c0)) - 1 : 0xffffu);
        __m512 acc = s->bias ? _mm512_maskz_loadu_ps(m, s->bias + c0) : _mm512_setzero_ps();
        for (int i = 0; i < nt; i++)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, taps[i] + c0));
        _mm512_mask_storeu_ps(dst + at + c0, m, acc);
    }
}

__attribute__((target("avx2"))) static void col2im_pixel_avx2_nhwc(const nn_plan *p, const step *s,
                                                                   float *dst, int64_t n, int64_t o)
{
    const float *taps[64];
    int64_t OC = s->koc, at = (n * p->tv[s->dst].dims[2] * p->tv[s->dst].dims[3] + o) * OC;
    int nt = pixel_taps(p, s, n, o, taps);

    for (int64_t c0 = 0; c0 < OC; c0 += 8) {
        __m256i m =
            _mm256_loadu_si256((const __m256i *)(nn_cpu_lanes8 + 8 - (OC - c0 < 8 ? OC - c0 : 8)));
        __m256 acc = s->bias ? _mm256_maskload_ps(s->bias + c0, m) : _mm256_setzero_ps();
        for (int i = 0; i < nt; i++)
            acc = _mm256_add_ps(acc, _mm256_maskload_ps(taps[i] + c0, m));
        _mm256_maskstore_ps(dst + at + c0, m, acc);
    }
}

static void col2im_pixel_base(const nn_plan *p, const step *s, void *dst, int blk, int64_t n,
                              int64_t o)
{
    col2im_pixel(p, s, dst, blk, n, o);
}

/* Gathers the K*K taps of each output pixel from the 1x1 product (see nn_plan_conv.c), adding
 * the bias; writes NHWC or nChw8c (blocked float plans, nn_plan_layout.c). Every output pixel is
 * its own sum: the pixels are shared out among the threads. */
void nn_col2im_run(const nn_plan *p, dnnl_memory_t dst_mem, const step *s)
{
    const nn_tval *to = &p->tv[s->dst];
    int64_t NO = to->dims[0] * to->dims[2] * to->dims[3], OHW = to->dims[2] * to->dims[3];
    int blk = nn_layout_tag(p, s->dst) == dnnl_nChw8c;
    int avx2 = __builtin_cpu_supports("avx2");
    void *dst = NULL;

    dnnl_memory_get_data_handle(dst_mem, &dst);
    /* oneDNN's levels, so that ONEDNN_MAX_CPU_ISA=AVX2 (CI's AVX2 subset) runs the AVX2 copies */
    if ((nn_cpu_features() & NN_CPU_AVX2) && !blk && !p->bf16 && s->kk[0] * s->kk[1] <= 64) {
        int avx512 = (nn_cpu_features() & NN_CPU_AVX512) != 0;
#pragma omp parallel for schedule(static)
        for (int64_t no = 0; no < NO; no++)
            (avx512 ? col2im_pixel_avx512 : col2im_pixel_avx2_nhwc)(p, s, dst, no / OHW, no % OHW);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t no = 0; no < NO; no++)
        (avx2 ? col2im_pixel_avx2 : col2im_pixel_base)(p, s, dst, blk, no / OHW, no % OHW);
}
