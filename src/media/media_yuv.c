/* media_yuv.c - decoded YUV frames straight into the pose engine's normalised float CHW planes
 * in one pass, with no RGB24 picture in between (see media_int.h, media_yuv_chw).
 *
 * DESIGN
 * The reference is what media_conv.c does: swscale to RGB24 (SWS_BILINEAR | SWS_ACCURATE_RND |
 * SWS_FULL_CHR_H_INT, the frame's matrix and range; unspecified = BT.601 limited, as OpenCV
 * decodes it), then media_norm's table. This file does swscale's own integer arithmetic for
 * the unscaled case, so each pixel's 8-bit R, G, B are the very bytes swscale would write, and
 * then looks them up in the same table: the planes are bit for bit those of the RGB24 path
 * (tests/test_media_yuv.c checks it against swscale), and so are the poses. Computing in float
 * instead would move every value by up to half a level; on DeepLabCut's openfield clip that
 * flips 1 point in 70 to a neighbouring heatmap cell where two cells almost tie (up to 5 px).
 *
 * swscale's steps for an unscaled frame into packed RGB (libswscale 6, output.c and
 * yuv2rgb.c), each done here the same way:
 *   1. Samples to 15 bits: luma Y << 7; chroma the same for 4:4:4, else widened across with
 *      the bilinear filter at centred positions, 14-bit weights 1/4 and 3/4 (the edge columns
 *      take the edge sample whole): (c[k-1] + 3 c[k]) << 5 for even columns, (3 c[k] +
 *      c[k+1]) << 5 for odd ones.
 *   2. Down, for 4:2:0 and NV12: output row 0 takes chroma row 0, row 2k + 1 row k, row 2k
 *      the mean of rows k - 1 and k, and the last row the mean of the last two (the bilinear
 *      weights at centred positions, kept inside the frame; yuv2packed1 then takes one line
 *      when the second line's weight is under 1/2, else the mean of the two).
 *   3. yuv2rgb_write_full: Y = (Y15 * 4 - y_offset) * y_coeff + 2^21, U and V = (C15 -
 *      128 << 7) * 4 (or the mean's equivalent), R = Y + V v2r, G = Y + V v2g + U u2g,
 *      B = Y + U u2b in wrapping 32-bit arithmetic, negatives to 0, at or over 2^30 to
 *      2^30 - 1, then >> 22. The coefficients come from sws_getCoefficients rounded to 13
 *      fractional bits (ff_yuv2rgb_c_init_tables).
 * Grey frames take swscale's palette path: R = G = B = Y. Formats other than 8-bit 4:4:4,
 * 4:2:2, 4:2:0, NV12 and grey, and subsampled frames of odd size or under 8 pixels (whose
 * filters swscale builds otherwise), answer 0 and go through swscale.
 *
 * Cost: with SSE2 (any x86-64) the arithmetic runs 16 (4:4:4, in float where it is exact,
 * row_444_sse) or 8 (subsampled, 16-bit multiply-adds, row_sub_sse) pixels a step; elsewhere
 * the same integer arithmetic one pixel at a time (pixel_444, pixel_sub). The table lookup is
 * per value, as media_rgb_to_chw's. Subsampled chroma is widened once per source row. On the
 * openfield clip (640x480 4:4:4) that measured about 0.8-1.1 ms of thread CPU time a frame,
 * against 1.8-2.5 ms for swscale and the table; 1.2 against 1.7 for the same in 4:2:0.
 * Where the CPU has AVX2 (checked at run time), the table is read by 8-lane gathers, and 4:4:4
 * rows go straight from the arithmetic, 8 pixels a step, to the planes (row_444_avx2): on the
 * same clip media_yuv_chw fell from 4.3% to 1.7% of vas analyze's CPU samples (perf), about
 * 0.35 ms a frame. The values are the same bits (tests/test_media_yuv.c runs both paths). */
#include "media/media_int.h"
#include "media/media_video.h"

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

enum { YUV_NONE, YUV_444, YUV_422, YUV_420, YUV_NV12, YUV_GRAY };

/* The layout of fmt, or YUV_NONE; *full = 1 for the yuvj* (full range) forms. */
static int kind_of(int fmt, int *full)
{
    switch (fmt) {
    case AV_PIX_FMT_YUVJ444P:
        *full = 1;
        return YUV_444;
    case AV_PIX_FMT_YUVJ422P:
        *full = 1;
        return YUV_422;
    case AV_PIX_FMT_YUVJ420P:
        *full = 1;
        return YUV_420;
    case AV_PIX_FMT_YUV444P:
        return YUV_444;
    case AV_PIX_FMT_YUV422P:
        return YUV_422;
    case AV_PIX_FMT_YUV420P:
        return YUV_420;
    case AV_PIX_FMT_NV12:
        return YUV_NV12;
    case AV_PIX_FMT_GRAY8:
        return YUV_GRAY;
    default:
        return YUV_NONE;
    }
}

int media_sws_matrix(int cs)
{
    return cs == AVCOL_SPC_UNSPECIFIED || cs == AVCOL_SPC_RESERVED ? SWS_CS_DEFAULT : cs;
}

void media_yuv_init(media_yuv *y, const media_norm *n)
{
    memset(y, 0, sizeof(*y));
    y->fmt = AV_PIX_FMT_NONE;
    y->bgr = n->bgr;
#if defined(__x86_64__) && defined(__GNUC__)
    y->avx2 = __builtin_cpu_supports("avx2");
#endif
    /* Plane p of the table holds RGB channel 2 - p for BGR: index it by channel instead. */
    for (int c = 0; c < 3; c++)
        memcpy(y->lut[c], n->lut[n->bgr ? 2 - c : c], sizeof(y->lut[c]));
}

void media_yuv_free(media_yuv *y)
{
    free(y->rows);
    y->rows = NULL;
    y->rows_w = 0;
}

/* swscale's roundToInt16 of a 16.16 coefficient times 2^13: to nearest, as int16. */
static int32_t coeff13(int64_t c16)
{
    int64_t r = (c16 * 8192 + 32768) >> 16; /* >> of a negative: floor, as swscale's */

    return (int32_t)(r < -0x7FFF ? -0x8000 : r > 0x7FFF ? 0x7FFF : r);
}

/* The coefficients of ff_yuv2rgb_c_init_tables for matrix cs and range (1 full), with
 * brightness 0, contrast and saturation 1 (what media_conv.c asks for). */
static void set_matrix(media_yuv *y, int fmt, int kind, int cs, int full)
{
    const int *t = sws_getCoefficients(media_sws_matrix(cs)); /* crv, cbu, cgu, cgv; 16.16 */
    int64_t crv = t[0], cbu = t[1], cgu = -t[2], cgv = -t[3], cy = 1 << 16, oy = 0;

    if (!full) {
        cy = (cy * 255) / 219;
        oy = (int64_t)16 << 16;
    } else {
        crv = (crv * 224) / 255;
        cbu = (cbu * 224) / 255;
        cgu = (cgu * 224) / 255;
        cgv = (cgv * 224) / 255;
    }
    y->fmt = fmt;
    y->kind = kind;
    y->cs = cs;
    y->full = full;
    y->y_coeff = coeff13(cy);
    y->y_offset = (int32_t)((oy * 512 + 32768) >> 16);
    y->v2r = coeff13(crv);
    y->v2g = coeff13(cgv);
    y->u2g = coeff13(cgu);
    y->u2b = coeff13(cbu);
}

/* Scratch: 7 rows of w int32 (two widened chroma rows each of U and V, the R, G, B bytes). */
static int prepare(media_yuv *y, int w, vas_err *e)
{
    if (y->rows_w >= w)
        return VAS_OK;
    free(y->rows);
    y->rows = malloc(sizeof(*y->rows) * (size_t)w * 7);
    y->rows_w = y->rows ? w : 0;
    return y->rows ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory converting %d-pixel rows", w);
}

/* ---- chroma rows ---- */

/* Step 1 for a subsampled row: the cw = w / 2 samples c (step bytes apart) widened to w
 * values h = C15 >> 5 (4 c at the edges, c[k-1] + 3 c[k] or 3 c[k] + c[k+1] between). */
static void widen(const uint8_t *restrict c, int step, int w, int32_t *restrict h)
{
    int cw = w / 2;

    h[0] = 4 * c[0];
    for (int k = 1; k < cw; k++) {
        int32_t a = c[(size_t)(k - 1) * step], b = c[(size_t)k * step];
        h[(size_t)2 * k - 1] = 3 * a + b;
        h[(size_t)2 * k] = a + 3 * b;
    }
    h[w - 1] = 4 * c[(size_t)(cw - 1) * step];
}

/* Step 2: the source chroma rows for luma row r of a 4:2:0 frame h rows tall (even): *r1 < 0
 * for one row. */
static void rows_420(int r, int h, int *r0, int *r1)
{
    if (r == h - 1) { /* the last: the mean of the last two */
        *r0 = h / 2 - 2;
        *r1 = h / 2 - 1;
    } else if (r == 0 || r % 2) { /* 0 -> 0; 2k + 1 -> k */
        *r0 = r / 2;
        *r1 = -1;
    } else { /* 2k -> the mean of k - 1 and k */
        *r0 = r / 2 - 1;
        *r1 = r / 2;
    }
}

/* Widened row src of chroma plane k (0 U, 1 V) of f, from the two kept per plane (each is
 * used for up to three luma rows); keep: the other row needed now, not to be replaced. */
static const int32_t *h_row(media_yuv *y, const AVFrame *f, int k, int src, int keep)
{
    int nv = y->kind == YUV_NV12, p = nv ? 1 : 1 + k, slot;
    int32_t *h;

    for (slot = 0; slot < 2; slot++)
        if (y->htag[k][slot] == src)
            return y->rows + (size_t)(2 * k + slot) * y->rows_w;
    slot = y->htag[k][0] == keep ? 1 : 0;
    h = y->rows + (size_t)(2 * k + slot) * y->rows_w;
    widen(f->data[p] + (nv ? k : 0) + (size_t)src * f->linesize[p], nv ? 2 : 1, f->width, h);
    y->htag[k][slot] = src;
    return h;
}

/* The widened rows whose sum makes chroma k's step-3 value for luma row r of a subsampled
 * frame (step 2): U = ((ha + hb) << 6) - 2^16, which is (C15 - 128 << 7) * 4 for one source
 * row (hb = ha) and (C15a + C15b - 128 << 8) * 2 for the mean of two. */
static void chroma_rows(media_yuv *y, const AVFrame *f, int k, int r, const int32_t **ha,
                        const int32_t **hb)
{
    int r0 = r, r1 = -1;

    if (y->kind != YUV_422)
        rows_420(r, f->height, &r0, &r1);
    *ha = h_row(y, f, k, r0, r1);
    *hb = r1 < 0 ? *ha : h_row(y, f, k, r1, r0);
}

/* ---- pixels ---- */

/* av_clip_uintp2(v, 30) >> 22 of one of swscale's wrapped sums: the 8-bit value. */
static inline int to_byte1(uint32_t u)
{
    int32_t v = (int32_t)u; /* two's complement, as swscale's int */

    v = v < 0 ? 0 : v > (1 << 30) - 1 ? (1 << 30) - 1 : v;
    return v >> 22;
}

/* The table's values for the bytes of a row (n each of R, G, B in idx, idx + stride,
 * idx + 2 stride) into the R, G, B planes. */
static void row_lut(const media_yuv *restrict y, const int32_t *restrict idx, size_t stride, int n,
                    float *restrict pr, float *restrict pg, float *restrict pb)
{
    const int32_t *ir = idx, *ig = idx + stride, *ib = idx + 2 * stride;

    for (int x = 0; x < n; x++) {
        pr[x] = y->lut[0][ir[x]];
        pg[x] = y->lut[1][ig[x]];
        pb[x] = y->lut[2][ib[x]];
    }
}

/* The bytes of one 4:4:4 pixel by step 3 in int arithmetic: the reference, and the tail of a
 * row. */
static inline void pixel_444(const media_yuv *y, int lum, int u, int v, int32_t *r, int32_t *g,
                             int32_t *b)
{
    uint32_t l = (uint32_t)(lum * 512 - y->y_offset) * (uint32_t)y->y_coeff + (1u << 21);
    uint32_t cu = (uint32_t)((u - 128) * 512), cv = (uint32_t)((v - 128) * 512);

    *r = to_byte1(l + cv * (uint32_t)y->v2r);
    *g = to_byte1(l + cv * (uint32_t)y->v2g + cu * (uint32_t)y->u2g);
    *b = to_byte1(l + cu * (uint32_t)y->u2b);
}

#ifdef __SSE2__
/* 4:4:4 in float, exactly: step 3's sums are 512 q with q = (Y - y_offset / 512) y_coeff +
 * (V - 128) v2r + ... + 4096, an integer under 2^24 in magnitude; so are q's partial sums,
 * and with every coefficient divided by 2^13 all of them are exact in float. The byte is then
 * x = q / 2^13 truncated for x in [0, 256), 255 up to 512 (at or over 2^30 before the shift),
 * and 0 below 0 or from 512 (the sum wrapped past 2^31: swscale's int went negative). */
static inline __m128i x_byte(__m128 x)
{
    x = _mm_andnot_ps(_mm_cmpge_ps(x, _mm_set1_ps(512.0f)), x);
    x = _mm_min_ps(_mm_max_ps(x, _mm_setzero_ps()), _mm_set1_ps(255.0f));
    return _mm_cvttps_epi32(x);
}

/* 16 bytes at p as four vectors of four floats. */
static inline void load16(const uint8_t *p, __m128 out[4])
{
    const __m128i z = _mm_setzero_si128();
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i lo = _mm_unpacklo_epi8(b, z), hi = _mm_unpackhi_epi8(b, z);

    out[0] = _mm_cvtepi32_ps(_mm_unpacklo_epi16(lo, z));
    out[1] = _mm_cvtepi32_ps(_mm_unpackhi_epi16(lo, z));
    out[2] = _mm_cvtepi32_ps(_mm_unpacklo_epi16(hi, z));
    out[3] = _mm_cvtepi32_ps(_mm_unpackhi_epi16(hi, z));
}

/* The 16-pixel steps of a 4:4:4 row; returns the pixels done. */
static int row_444_sse(const media_yuv *y, const uint8_t *lum, const uint8_t *ub, const uint8_t *vb,
                       int n, int32_t *ir, int32_t *ig, int32_t *ib)
{
    const float k = 1.0f / 8192.0f;
    const int32_t yo9 = y->y_offset / 512; /* 16 or 0, exactly */
    const __m128 yc = _mm_set1_ps((float)y->y_coeff * k), yo = _mm_set1_ps((float)yo9);
    const __m128 v2r = _mm_set1_ps((float)y->v2r * k), v2g = _mm_set1_ps((float)y->v2g * k);
    const __m128 u2g = _mm_set1_ps((float)y->u2g * k), u2b = _mm_set1_ps((float)y->u2b * k);
    const __m128 half = _mm_set1_ps(0.5f), mid = _mm_set1_ps(128.0f);
    int x = 0;

    for (; x + 16 <= n; x += 16) {
        __m128 l[4], u[4], v[4];
        load16(lum + x, l);
        load16(ub + x, u);
        load16(vb + x, v);
        for (int j = 0; j < 4; j++) {
            __m128 lj = _mm_add_ps(_mm_mul_ps(_mm_sub_ps(l[j], yo), yc), half);
            __m128 cu = _mm_sub_ps(u[j], mid), cv = _mm_sub_ps(v[j], mid);
            __m128 r = _mm_add_ps(lj, _mm_mul_ps(cv, v2r));
            __m128 g = _mm_add_ps(_mm_add_ps(lj, _mm_mul_ps(cv, v2g)), _mm_mul_ps(cu, u2g));
            __m128 b = _mm_add_ps(lj, _mm_mul_ps(cu, u2b));
            size_t at = (size_t)x + (size_t)4 * j;
            _mm_storeu_si128((__m128i *)(void *)(ir + at), x_byte(r));
            _mm_storeu_si128((__m128i *)(void *)(ig + at), x_byte(g));
            _mm_storeu_si128((__m128i *)(void *)(ib + at), x_byte(b));
        }
    }
    return x;
}
#endif

/* The R, G, B bytes of a row of n 4:4:4 pixels (luma lum, chroma ub and vb) into ir, ig,
 * ib. */
static void row_444(const media_yuv *y, const uint8_t *lum, const uint8_t *ub, const uint8_t *vb,
                    int n, int32_t *ir, int32_t *ig, int32_t *ib)
{
    int x = 0;

#ifdef __SSE2__
    x = row_444_sse(y, lum, ub, vb, n, ir, ig, ib);
#endif
    for (; x < n; x++)
        pixel_444(y, lum[x], ub[x], vb[x], ir + x, ig + x, ib + x);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* row_lut's 8-pixel steps with AVX2: the table's values fetched 8 at a time by a gather (the
 * bytes are 0-255, so every index is inside the table), stored 8 at a time. The same values, bit
 * for bit. Returns the pixels done (row_lut does the rest). */
__attribute__((target("avx2"))) static int row_lut_avx2(const media_yuv *restrict y,
                                                        const int32_t *restrict idx, size_t stride,
                                                        int n, float *restrict pr,
                                                        float *restrict pg, float *restrict pb)
{
    const int32_t *ir = idx, *ig = idx + stride, *ib = idx + 2 * stride;
    int x = 0;

    for (; x + 8 <= n; x += 8) {
        __m256i r = _mm256_loadu_si256((const __m256i *)(const void *)(ir + x));
        __m256i g = _mm256_loadu_si256((const __m256i *)(const void *)(ig + x));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(ib + x));
        _mm256_storeu_ps(pr + x, _mm256_i32gather_ps(y->lut[0], r, 4));
        _mm256_storeu_ps(pg + x, _mm256_i32gather_ps(y->lut[1], g, 4));
        _mm256_storeu_ps(pb + x, _mm256_i32gather_ps(y->lut[2], b, 4));
    }
    return x;
}

/* x_byte of 8 lanes (see row_444_sse). */
__attribute__((target("avx2"))) static inline __m256i x_byte8(__m256 x)
{
    x = _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(512.0f), _CMP_GE_OQ), x);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(255.0f));
    return _mm256_cvttps_epi32(x);
}

/* 8 bytes at p as 8 floats. */
__attribute__((target("avx2"))) static inline __m256 load8(const uint8_t *p)
{
    __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)p);

    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
}

/* A 4:4:4 row straight into the planes with AVX2: row_444_sse's arithmetic (exact in float,
 * the same operations in the same order, so the same bytes) 8 pixels a step, then the
 * table by gathers, with no row of bytes in between. Returns the pixels done. */
__attribute__((target("avx2"))) static int row_444_avx2(const media_yuv *y, const uint8_t *lum,
                                                        const uint8_t *ub, const uint8_t *vb, int n,
                                                        float *restrict pr, float *restrict pg,
                                                        float *restrict pb)
{
    const float k = 1.0f / 8192.0f;
    const int32_t yo9 = y->y_offset / 512;
    const __m256 yc = _mm256_set1_ps((float)y->y_coeff * k), yo = _mm256_set1_ps((float)yo9);
    const __m256 v2r = _mm256_set1_ps((float)y->v2r * k), v2g = _mm256_set1_ps((float)y->v2g * k);
    const __m256 u2g = _mm256_set1_ps((float)y->u2g * k), u2b = _mm256_set1_ps((float)y->u2b * k);
    const __m256 half = _mm256_set1_ps(0.5f), mid = _mm256_set1_ps(128.0f);
    int x = 0;

    for (; x + 8 <= n; x += 8) {
        __m256 l = load8(lum + x), u = load8(ub + x), v = load8(vb + x);
        __m256 lj = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(l, yo), yc), half);
        __m256 cu = _mm256_sub_ps(u, mid), cv = _mm256_sub_ps(v, mid);
        __m256 r = _mm256_add_ps(lj, _mm256_mul_ps(cv, v2r));
        __m256 g = _mm256_add_ps(_mm256_add_ps(lj, _mm256_mul_ps(cv, v2g)), _mm256_mul_ps(cu, u2g));
        __m256 b = _mm256_add_ps(lj, _mm256_mul_ps(cu, u2b));
        _mm256_storeu_ps(pr + x, _mm256_i32gather_ps(y->lut[0], x_byte8(r), 4));
        _mm256_storeu_ps(pg + x, _mm256_i32gather_ps(y->lut[1], x_byte8(g), 4));
        _mm256_storeu_ps(pb + x, _mm256_i32gather_ps(y->lut[2], x_byte8(b), 4));
    }
    return x;
}
#endif

/* The bytes of one subsampled pixel by step 3 (luma byte lum, chroma sums su and sv of the
 * widened rows, see chroma_rows): the reference, and the tail of a row. */
static inline void pixel_sub(const media_yuv *y, int lum, int32_t su, int32_t sv, int32_t *r,
                             int32_t *g, int32_t *b)
{
    uint32_t l = (uint32_t)(lum * 512 - y->y_offset) * (uint32_t)y->y_coeff + (1u << 21);
    uint32_t cu = (uint32_t)((su << 6) - 65536), cv = (uint32_t)((sv << 6) - 65536);

    *r = to_byte1(l + cv * (uint32_t)y->v2r);
    *g = to_byte1(l + cv * (uint32_t)y->v2g + cu * (uint32_t)y->u2g);
    *b = to_byte1(l + cu * (uint32_t)y->u2b);
}

#ifdef __SSE2__
/* Step 3 for subsampled chroma in 16-bit pairs: every sum is 64 S with S = 8 (Y - y_offset /
 * 512) y_coeff + C coeff + ... + 2^15, C = ha + hb - 1024 (the chroma less 128, in 1/8 units),
 * and 8 (Y - ...), C and the coefficients all fit in 16 bits: _mm_madd_epi16 makes S - 2^15
 * from (luma, chroma) pairs exactly; S << 6 wraps as swscale's sum does. The byte, from S. */
static inline __m128i s_byte(__m128i x)
{
    const __m128i top = _mm_set1_epi32((1 << 30) - 1);
    __m128i t = _mm_slli_epi32(_mm_add_epi32(x, _mm_set1_epi32(32768)), 6), over;

    t = _mm_andnot_si128(_mm_cmplt_epi32(t, _mm_setzero_si128()), t);
    over = _mm_cmpgt_epi32(t, top);
    t = _mm_or_si128(_mm_andnot_si128(over, t), _mm_and_si128(over, top));
    return _mm_srai_epi32(t, 22);
}

/* C of 8 pixels from widened rows a and b, as 16 bits. */
static inline __m128i c16(const int32_t *a, const int32_t *b)
{
    const __m128i k = _mm_set1_epi32(1024);
    __m128i lo = _mm_add_epi32(_mm_loadu_si128((const __m128i *)(const void *)a),
                               _mm_loadu_si128((const __m128i *)(const void *)b));
    __m128i hi = _mm_add_epi32(_mm_loadu_si128((const __m128i *)(const void *)(a + 4)),
                               _mm_loadu_si128((const __m128i *)(const void *)(b + 4)));

    return _mm_packs_epi32(_mm_sub_epi32(lo, k), _mm_sub_epi32(hi, k));
}

/* Four pixels' bytes from (luma, cv) pairs p1 and (luma, cu) pairs p2 into ir, ig, ib. */
static inline void put_sub(const __m128i k[4], __m128i p1, __m128i p2, int32_t *ir, int32_t *ig,
                           int32_t *ib)
{
    __m128i g = _mm_add_epi32(_mm_madd_epi16(p1, k[1]), _mm_madd_epi16(p2, k[2]));

    _mm_storeu_si128((__m128i *)(void *)ir, s_byte(_mm_madd_epi16(p1, k[0])));
    _mm_storeu_si128((__m128i *)(void *)ig, s_byte(g));
    _mm_storeu_si128((__m128i *)(void *)ib, s_byte(_mm_madd_epi16(p2, k[3])));
}

/* The 8-pixel steps of a subsampled row; returns the pixels done. */
static int row_sub_sse(const media_yuv *y, const uint8_t *lum, const int32_t *const h[4], int n,
                       int32_t *ir, int32_t *ig, int32_t *ib)
{
    const __m128i k[4] = {
        _mm_set1_epi32((int32_t)((uint32_t)(uint16_t)y->v2r << 16 | (uint16_t)y->y_coeff)),
        _mm_set1_epi32((int32_t)((uint32_t)(uint16_t)y->v2g << 16 | (uint16_t)y->y_coeff)),
        _mm_set1_epi32((int32_t)((uint32_t)(uint16_t)y->u2g << 16)),
        _mm_set1_epi32((int32_t)((uint32_t)(uint16_t)y->u2b << 16 | (uint16_t)y->y_coeff))};
    const __m128i yo = _mm_set1_epi16((int16_t)(y->y_offset / 512)), z = _mm_setzero_si128();
    int x = 0;

    for (; x + 8 <= n; x += 8) {
        int64_t b8;
        __m128i l, cu, cv;
        memcpy(&b8, lum + x, sizeof(b8));
        l = _mm_slli_epi16(_mm_sub_epi16(_mm_unpacklo_epi8(_mm_cvtsi64_si128(b8), z), yo), 3);
        cu = c16(h[0] + x, h[1] + x);
        cv = c16(h[2] + x, h[3] + x);
        put_sub(k, _mm_unpacklo_epi16(l, cv), _mm_unpacklo_epi16(l, cu), ir + x, ig + x, ib + x);
        put_sub(k, _mm_unpackhi_epi16(l, cv), _mm_unpackhi_epi16(l, cu), ir + x + 4, ig + x + 4,
                ib + x + 4);
    }
    return x;
}
#endif

/* The R, G, B bytes of a row of n subsampled pixels (luma bytes lum; chroma from the widened
 * rows h[0] + h[1] (U) and h[2] + h[3] (V), see chroma_rows) into ir, ig, ib. */
static void row_sub(const media_yuv *y, const uint8_t *lum, const int32_t *const h[4], int n,
                    int32_t *ir, int32_t *ig, int32_t *ib)
{
    int x = 0;

#ifdef __SSE2__
    x = row_sub_sse(y, lum, h, n, ir, ig, ib);
#endif
    for (; x < n; x++)
        pixel_sub(y, lum[x], h[0][x] + h[1][x], h[2][x] + h[3][x], ir + x, ig + x, ib + x);
}

/* ---- frames ---- */

/* 1 when swscale's filters for f are the ones this file does (see DESIGN). */
static int size_ok(int kind, int w, int h)
{
    if (kind == YUV_444 || kind == YUV_GRAY)
        return 1;
    if (w < 8 || w % 2) /* swscale filters narrower chroma otherwise */
        return 0;
    return kind == YUV_422 || (h >= 8 && h % 2 == 0);
}

int media_yuv_chw(media_yuv *y, const AVFrame *f, float *dst, int dst_w, int dst_h, vas_err *e)
{
    int full = f->color_range == AVCOL_RANGE_JPEG;
    int kind = kind_of(f->format, &full);
    int w = f->width, h = f->height, rc;
    size_t plane = (size_t)dst_w * dst_h;

    if (kind == YUV_NONE || w <= 0 || h <= 0 || w > dst_w || h > dst_h || !size_ok(kind, w, h))
        return 0;
    if (y->fmt != f->format || y->cs != (int)f->colorspace || y->full != full)
        set_matrix(y, f->format, kind, f->colorspace, full);
    rc = prepare(y, w, e);
    if (rc < 0)
        return rc;
    memset(y->htag, 0xff, sizeof(y->htag)); /* -1: no widened row kept for this frame */
    for (int r = 0; r < h; r++) {
        const uint8_t *lum = f->data[0] + (size_t)r * f->linesize[0];
        float *p0 = dst + (size_t)r * dst_w, *p1 = p0 + plane, *p2 = p1 + plane;
        int32_t *ir = y->rows + (size_t)4 * y->rows_w, *ig = ir + y->rows_w, *ib = ig + y->rows_w;
        float *pr = y->bgr ? p2 : p0, *pb = y->bgr ? p0 : p2;
        const int32_t *hr[4];
        int done = 0; /* pixels already in the planes (AVX2's 8-pixel steps) */
        if (kind == YUV_GRAY) {
            for (int x = 0; x < w; x++)
                ir[x] = ig[x] = ib[x] = lum[x];
        } else if (kind == YUV_444) {
            const uint8_t *ub = f->data[1] + (size_t)r * f->linesize[1];
            const uint8_t *vb = f->data[2] + (size_t)r * f->linesize[2];
#if defined(__x86_64__) && defined(__GNUC__)
            if (y->avx2) /* the planes directly, with no row of bytes in between */
                done = row_444_avx2(y, lum, ub, vb, w, pr, p1, pb);
#endif
            row_444(y, lum + done, ub + done, vb + done, w - done, ir + done, ig + done, ib + done);
        } else {
            chroma_rows(y, f, 0, r, &hr[0], &hr[1]);
            chroma_rows(y, f, 1, r, &hr[2], &hr[3]);
            row_sub(y, lum, hr, w, ir, ig, ib);
        }
#if defined(__x86_64__) && defined(__GNUC__)
        if (y->avx2 && kind != YUV_444)
            done = row_lut_avx2(y, ir, (size_t)y->rows_w, w, pr, p1, pb);
#endif
        row_lut(y, ir + done, (size_t)y->rows_w, w - done, pr + done, p1 + done, pb + done);
    }
    return 1;
}
