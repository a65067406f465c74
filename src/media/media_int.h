/* media_int.h - helpers shared inside src/media/ (not for other modules): FFmpeg frame ->
 * packed RGB24 through libswscale with the frame's own colour matrix and range, rotation of
 * RGB24 buffers, FFmpeg error strings, size caps.
 * Threads: a media_sws is used by one thread at a time; the rest is thread-safe. */
#ifndef VAS_MEDIA_INT_H
#define VAS_MEDIA_INT_H

#include "core/err.h"

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
