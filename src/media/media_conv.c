/* media_conv.c - pixel conversions of src/media: FFmpeg frames to RGB24 (libswscale), RGB24
 * rotation, RGB24 to the pose engine's normalised float CHW planes.
 *
 * Colour: swscale is told each frame's matrix (BT.601/709/...) and range (limited or full, and
 * the deprecated yuvj* formats mean full range) so colours match what the camera meant; a
 * frame that says nothing gets swscale's default, BT.601 limited range, as OpenCV (and so
 * DeepLabCut's frame extraction) decodes it. */
#include "media/media_int.h"
#include "media/media_video.h"

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <string.h>

/* ---- FFmpeg frame -> RGB24 ---- */

/* Exact rounding and full chroma: on 2 cores these cost nothing measurable next to the
 * generic path swscale takes anyway once it is told a colour matrix (openfield 640x480
 * yuv444p: ~1 ms a frame with or without them). */
#define MEDIA_SWS_FLAGS (SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)

/* The yuvj* formats are yuv* in full range; swscale warns about them, so map them. */
static int plain_format(int fmt, int *full)
{
    switch (fmt) {
    case AV_PIX_FMT_YUVJ420P:
        *full = 1;
        return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
        *full = 1;
        return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
        *full = 1;
        return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
        *full = 1;
        return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P:
        *full = 1;
        return AV_PIX_FMT_YUV411P;
    default:
        return fmt;
    }
}

/* Tells a fresh or changed context the frame's colour matrix and range (YUV sources only). */
static void set_colour(media_sws *s, int fmt, int cs, int full)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    int spc = media_sws_matrix(cs);

    s->cs = cs;
    s->full = full;
    if (!d || (d->flags & AV_PIX_FMT_FLAG_RGB))
        return;
    /* A matrix swscale doesn't know gives its default table; a refusal leaves the defaults. */
    (void)sws_setColorspaceDetails(s->ctx, sws_getCoefficients(spc), full,
                                   sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
}

static int sws_prepare(media_sws *s, const AVFrame *f, int dst_w, int dst_h, vas_err *e)
{
    int full = f->color_range == AVCOL_RANGE_JPEG;
    int fmt = plain_format(f->format, &full);

    if (!s->ctx || s->src_w != f->width || s->src_h != f->height || s->src_fmt != fmt ||
        s->dst_w != dst_w || s->dst_h != dst_h) {
        const char *name = av_get_pix_fmt_name(f->format);

        sws_freeContext(s->ctx);
        s->ctx = sws_getContext(f->width, f->height, fmt, dst_w, dst_h, AV_PIX_FMT_RGB24,
                                MEDIA_SWS_FLAGS, NULL, NULL, NULL);
        if (!s->ctx) {
            s->src_w = 0;
            return err_set(e, VAS_EUNSUPPORTED,
                           "FFmpeg cannot convert frames of pixel format %s (%dx%d) to RGB",
                           name ? name : "unknown", f->width, f->height);
        }
        s->src_w = f->width;
        s->src_h = f->height;
        s->src_fmt = fmt;
        s->dst_w = dst_w;
        s->dst_h = dst_h;
        set_colour(s, fmt, f->colorspace, full);
    } else if (s->cs != (int)f->colorspace || s->full != full) {
        set_colour(s, fmt, f->colorspace, full);
    }
    return VAS_OK;
}

int media_sws_rgb(media_sws *s, const AVFrame *f, int dst_w, int dst_h, uint8_t *dst, vas_err *e)
{
    uint8_t *planes[4] = {dst, NULL, NULL, NULL};
    int strides[4] = {dst_w * 3, 0, 0, 0};
    int rc = sws_prepare(s, f, dst_w, dst_h, e);

    if (rc < 0)
        return rc;
    /* sws_scale takes non-const source pointers but does not write through them. */
    if (sws_scale(s->ctx, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes,
                  strides) != dst_h)
        return err_set(e, VAS_EUNSUPPORTED, "FFmpeg could not convert a %dx%d frame to RGB",
                       f->width, f->height);
    return VAS_OK;
}

void media_sws_free(media_sws *s)
{
    sws_freeContext(s->ctx);
    memset(s, 0, sizeof(*s));
}

/* ---- rotation ---- */

void media_orient_rgb(const uint8_t *src, int w, int h, int o, uint8_t *dst)
{
    int dw = o >= 5 ? h : w; /* the upright image's width */

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int X = x, Y = y; /* where source pixel (x, y) lands */
            switch (o) {
            case 2:
                X = w - 1 - x;
                break;
            case 3:
                X = w - 1 - x, Y = h - 1 - y;
                break;
            case 4:
                Y = h - 1 - y;
                break;
            case 5:
                X = y, Y = x;
                break; /* transpose */
            case 6:
                X = h - 1 - y, Y = x;
                break; /* 90 degrees clockwise */
            case 7:
                X = h - 1 - y, Y = w - 1 - x;
                break; /* transverse */
            case 8:
                X = y, Y = w - 1 - x;
                break; /* 90 degrees counter-clockwise */
            default:
                break;
            }
            memcpy(dst + ((size_t)Y * dw + X) * 3, src + ((size_t)y * w + x) * 3, 3);
        }
}

void media_rotate_rgb(const uint8_t *src, int w, int h, int rotation, uint8_t *dst)
{
    /* clockwise turns are EXIF orientations 6 (90), 3 (180) and 8 (270) */
    media_orient_rgb(src, w, h, rotation == 90 ? 6 : rotation == 180 ? 3 : 8, dst);
}

/* ---- misc ---- */

int media_size_ok(int w, int h)
{
    return w > 0 && h > 0 && w <= MEDIA_MAX_SIDE && h <= MEDIA_MAX_SIDE &&
           (long)w * h <= MEDIA_MAX_PIXELS;
}

const char *media_averr(int averr, char *buf)
{
    if (av_strerror(averr, buf, AV_ERROR_MAX_STRING_SIZE) < 0)
        snprintf(buf, AV_ERROR_MAX_STRING_SIZE, "FFmpeg error %d", averr);
    return buf;
}

/* ---- RGB24 -> normalised float CHW ---- */

int media_norm_init(media_norm *n, const float mean[3], const float std[3], int bgr, vas_err *e)
{
    for (int c = 0; c < 3; c++) {
        if (!isfinite(mean[c]) || !isfinite(std[c]) || !(std[c] > 0))
            return err_set(e, VAS_EINVAL,
                           "input normalisation needs finite means and standard deviations > 0 "
                           "(channel %d: mean %g, std %g)",
                           c, (double)mean[c], (double)std[c]);
    }
    memset(n, 0, sizeof(*n));
    n->bgr = bgr ? 1 : 0;
    for (int c = 0; c < 3; c++) {
        n->mean[c] = mean[c];
        n->std[c] = std[c];
    }
    /* Plane p holds RGB channel c: the same channel for RGB, reversed for BGR. */
    for (int p = 0; p < 3; p++) {
        int c = n->bgr ? 2 - p : p;
        for (int v = 0; v < 256; v++)
            n->lut[p][v] = ((float)v / 255.0f - mean[c]) / std[c];
    }
    return VAS_OK;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* A row's first pixels with AVX2: each lane gathers one pixel's 3 bytes (and the next pixel's
 * first: x86 is little-endian, so R is the low byte), split into the three indices, and the
 * table's values are gathered 8 at a time: the same values as the loop below. Stops while a
 * lane's 4-byte read stays inside the row (x + 8 < w); returns the pixels done. */
__attribute__((target("avx2"))) static int rgb_row_avx2(const media_norm *n, const uint8_t *s,
                                                        int w, float *p0, float *p1, float *p2)
{
    const __m256i off = _mm256_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21);
    const __m256i ff = _mm256_set1_epi32(0xff);
    int x = 0;

    for (; x + 8 < w; x += 8) {
        __m256i v = _mm256_i32gather_epi32((const int *)(const void *)(s + (size_t)3 * x), off, 1);
        __m256i r = _mm256_and_si256(v, ff), g = _mm256_and_si256(_mm256_srli_epi32(v, 8), ff);
        __m256i b = _mm256_and_si256(_mm256_srli_epi32(v, 16), ff);
        _mm256_storeu_ps(p0 + x, _mm256_i32gather_ps(n->lut[0], n->bgr ? b : r, 4));
        _mm256_storeu_ps(p1 + x, _mm256_i32gather_ps(n->lut[1], g, 4));
        _mm256_storeu_ps(p2 + x, _mm256_i32gather_ps(n->lut[2], n->bgr ? r : b, 4));
    }
    return x;
}
#endif

void media_rgb_to_chw_padded(const media_norm *n, const uint8_t *rgb, int w, int h, size_t stride,
                             float *dst, int dst_w, int dst_h)
{
    size_t plane = (size_t)dst_w * dst_h;
    int c0 = n->bgr ? 2 : 0, c2 = n->bgr ? 0 : 2, avx2 = 0;

#if defined(__x86_64__) && defined(__GNUC__)
    avx2 = !n->no_simd && __builtin_cpu_supports("avx2");
#endif
    for (int y = 0; y < h; y++) {
        const uint8_t *s = rgb + (size_t)y * stride;
        float *p0 = dst + (size_t)y * dst_w, *p1 = p0 + plane, *p2 = p1 + plane;
        int x = 0;
#if defined(__x86_64__) && defined(__GNUC__)
        if (avx2)
            x = rgb_row_avx2(n, s, w, p0, p1, p2);
#endif
        for (s += (size_t)3 * x; x < w; x++, s += 3) {
            p0[x] = n->lut[0][s[c0]];
            p1[x] = n->lut[1][s[1]];
            p2[x] = n->lut[2][s[c2]];
        }
    }
}

void media_rgb_to_chw(const media_norm *n, const uint8_t *rgb, int w, int h, size_t stride,
                      float *dst)
{
    media_rgb_to_chw_padded(n, rgb, w, h, stride, dst, w, h);
}

/* Index i (any integer) mirrored into [0, n) as BORDER_REFLECT_101. */
static int reflect101(int i, int n)
{
    if (n == 1)
        return 0;
    while (i < 0 || i >= n)
        i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

void media_chw_pad_reflect(float *dst, int w, int h, int dst_w, int dst_h)
{
    size_t plane = (size_t)dst_w * dst_h;

    for (int c = 0; c < 3; c++) {
        float *p = dst + (size_t)c * plane;
        for (int y = 0; y < h; y++)
            for (int x = w; x < dst_w; x++)
                p[(size_t)y * dst_w + x] = p[(size_t)y * dst_w + reflect101(x, w)];
        for (int y = h; y < dst_h; y++)
            memcpy(p + (size_t)y * dst_w, p + (size_t)reflect101(y, h) * dst_w,
                   (size_t)dst_w * sizeof(float));
    }
}
