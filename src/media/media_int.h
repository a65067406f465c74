/* media_int.h - helpers shared inside src/media/ (not for other modules): FFmpeg frame ->
 * packed RGB24 through libswscale with the frame's own colour matrix and range; decoded YUV
 * frames straight into normalised float CHW planes (media_yuv.c); a video's decoded frames
 * before conversion; rotation of RGB24 buffers, FFmpeg error strings, size caps.
 * Threads: a media_sws or media_yuv is used by one thread at a time; the rest is thread-safe. */
#ifndef VAS_MEDIA_INT_H
#define VAS_MEDIA_INT_H

#include "core/err.h"
#include "media/media_video.h"

#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <stdint.h>

/* A swscale context kept across frames and remade only when the source or target changes. */
typedef struct media_sws {
    struct SwsContext *ctx; /* NULL until the first frame */
    int src_w, src_h;       /* source the context was made for */
    int src_fmt;            /* enum AVPixelFormat, after mapping yuvj* to yuv* */
    int dst_w, dst_h;       /* target size */
    int cs, full;           /* colour matrix (AVCOL_SPC_*) and full range it was told */
} media_sws;

/* Converts f to dst_w x dst_h packed RGB24 in dst (dst_w * 3 bytes a row; borrowed).
 * VAS_EUNSUPPORTED when swscale cannot convert its pixel format, VAS_ENOMEM. */
int media_sws_rgb(media_sws *s, const AVFrame *f, int dst_w, int dst_h, uint8_t *dst, vas_err *e);
/* Frees the context; s may be reused. */
void media_sws_free(media_sws *s);

/* The swscale matrix (SWS_CS_*, for sws_getCoefficients) for a frame's AVCOL_SPC_* cs:
 * unspecified and reserved are swscale's default, BT.601. */
int media_sws_matrix(int cs);

/* ---- decoded YUV -> normalised float CHW, one pass (media_yuv.c) ---- */

/* The coefficients for the frames seen last (remade when the format, matrix or range
 * changes), the normalisation table and row scratch. Made by media_yuv_init; freed by
 * media_yuv_free. */
typedef struct media_yuv {
    int fmt, kind;    /* AVPixelFormat made for (AV_PIX_FMT_NONE: none), layout */
    int cs, full;     /* AVCOL_SPC_* and full range made for */
    int32_t y_coeff;  /* swscale's yuv2rgb_y_coeff, _y_offset, _v2r_coeff, ... */
    int32_t y_offset; /* (media_yuv.c, DESIGN, step 3) */
    int32_t v2r, v2g, u2g, u2b;
    float lut[3][256]; /* per RGB channel (not plane): media_norm's values */
    int bgr;           /* planes in B, G, R order */
    int avx2;          /* the CPU has AVX2: the 8-wide paths (same values) */
    int32_t *rows;     /* 7 rows of rows_w: 2 widened chroma rows each of U and V, then
                          the R, G, B bytes of a row */
    int htag[2][2];    /* source row of each widened row (U, V) of this frame; -1 none */
    int rows_w;        /* 0 until the first frame */
} media_yuv;

/* Readies y for frames normalised as n (borrowed; its means, stds and order are copied). */
void media_yuv_init(media_yuv *y, const media_norm *n);
/* Converts the decoded frame f (borrowed) into 3 planes of dst_w x dst_h floats at dst, the
 * picture at the top left (padding untouched): bit for bit what media_sws_rgb to f's own
 * size, then media_rgb_to_chw_padded make (media_yuv.c, DESIGN). 1 done; 0 when f is not one
 * this converts (8-bit 4:4:4, 4:2:2, 4:2:0 planar, their yuvj forms, NV12, GRAY8; even sizes
 * where chroma is subsampled) or is larger than dst: nothing written, take the RGB24 path;
 * VAS_ENOMEM. */
int media_yuv_chw(media_yuv *y, const AVFrame *f, float *dst, int dst_w, int dst_h, vas_err *e);
/* Frees y's scratch; y may be used again after media_yuv_init. */
void media_yuv_free(media_yuv *y);

/* ---- a video's frames before conversion (media_video.c) ---- */

/* media_video_next without the conversion: decodes the next frame and fills f but f->rgb,
 * which is NULL; *raw is the decoded frame, borrowed until the next call or
 * media_video_close. Returns as media_video_next. */
int media_video_next_raw(media_video *v, media_frame *f, const AVFrame **raw, vas_err *e);
/* Converts the frame the last media_video_next_raw returned to upright RGB24 at the output
 * size and sets f->rgb (borrowed as media_video_next's). VAS_EUNSUPPORTED, VAS_ENOMEM. */
int media_video_rgb(media_video *v, media_frame *f, vas_err *e);

/* Turns the packed RGB24 image src (w x h) clockwise by rotation degrees (90, 180, 270) into
 * dst, which is h x w for 90 and 270, w x h for 180. src and dst must not overlap. */
void media_rotate_rgb(const uint8_t *src, int w, int h, int rotation, uint8_t *dst);

/* Applies EXIF orientation o (2..8: mirrored and/or turned; 1 is upright) to the packed RGB24
 * image src (w x h) into dst, which is h x w for 5..8 and w x h otherwise, as OpenCV's imread
 * and PIL's exif_transpose do. src and dst must not overlap. */
void media_orient_rgb(const uint8_t *src, int w, int h, int o, uint8_t *dst);

/* 1 if w x h is within MEDIA_MAX_SIDE and MEDIA_MAX_PIXELS, and both > 0. */
int media_size_ok(int w, int h);

/* An image's size from its header bytes (PNG, JPEG, GIF, BMP; media_imgsize.c): 1 with *w, *h
 * set, 0 when the format is not one of these or the header is cut short. Reads only p[0..n). */
int media_image_header_size(const uint8_t *p, size_t n, int64_t *w, int64_t *h);

/* FFmpeg's text for an AVERROR code, in buf (AV_ERROR_MAX_STRING_SIZE); returns buf. */
const char *media_averr(int averr, char *buf);
#define MEDIA_AVERR(code) media_averr((code), (char[AV_ERROR_MAX_STRING_SIZE]){0})

#endif
