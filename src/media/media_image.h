/* media_image.h - one still image (PNG, JPEG, BMP, TIFF, and the other single-image formats
 * FFmpeg decodes) decoded to packed RGB24.
 * Owns: nothing between calls; each call runs its own FFmpeg demuxer and decoder.
 * Not: videos (media_video.h); archives of images (media_archive.h).
 *
 * DESIGN: the bytes are probed by content (never by the name), and only FFmpeg's image
 * demuxers (png_pipe, jpeg_pipe, bmp_pipe, tiff_pipe, ...) are accepted, so a video or a text
 * file named x.png is refused with what FFmpeg found. Alpha is dropped and 16-bit samples are
 * scaled to 8 bits, and EXIF orientation is applied (the picture turned and mirrored upright),
 * as OpenCV's imread (and so DeepLabCut) reads them. Sizes are capped: MEDIA_IMAGE_MAX_BYTES of
 * file, MEDIA_MAX_PIXELS of picture.
 *
 * Threads: any; calls share nothing. */
#ifndef VAS_MEDIA_IMAGE_H
#define VAS_MEDIA_IMAGE_H

#include "core/err.h"
#include "media/media_video.h"

#include <stddef.h>
#include <stdint.h>

#define MEDIA_IMAGE_MAX_BYTES ((size_t)256 << 20) /* largest image file read */

typedef struct media_image {
    uint8_t *rgb;               /* packed RGB24, width * 3 bytes a row; owned by the struct:
                                   media_image_clear frees it */
    int width, height;          /* pixels */
    char codec[MEDIA_NAME_LEN]; /* FFmpeg's decoder, e.g. "png", "mjpeg", "bmp", "tiff" */
} media_image;

/* Reads and decodes the file at path (borrowed) into *out (caller frees: media_image_clear);
 * *out untouched on error. VAS_ENOTFOUND no such file; VAS_EINVAL not an image (what FFmpeg
 * found, or why it could not decode it); VAS_ETOOBIG over the caps; VAS_EIO; VAS_ENOMEM. */
int media_image_load(const char *path, media_image *out, vas_err *e);
/* The same from n bytes at buf (borrowed); name (borrowed) is only used in messages. */
int media_image_decode(const void *buf, size_t n, const char *name, media_image *out, vas_err *e);
/* media_image_load and media_image_decode under lim (borrowed; NULL: the built-in caps only):
 * an image over lim->image_pixels is VAS_ETOOBIG naming LIMIT_IMAGE_PIXELS, refused from its
 * header's size (PNG, JPEG, GIF, BMP read by media_image_header_size; other formats when the
 * decoder asks for its picture buffer) before the picture is allocated or decoded. */
int media_image_load_lim(const char *path, const media_limits *lim, media_image *out, vas_err *e);
int media_image_decode_lim(const void *buf, size_t n, const char *name, const media_limits *lim,
                           media_image *out, vas_err *e);
/* Frees im's pixels and zeroes it; NULL or an already cleared image is a no-op. */
void media_image_clear(media_image *im);
/* 1 if name ends in an image extension (png, jpg, jpeg, bmp, tif, tiff, ...; any case). */
int media_image_name_ok(const char *name);

#endif
