/* media_video.h - one video file decoded with FFmpeg into upright RGB24 frames, and the
 * conversion of an RGB24 frame into a model's normalised float CHW input.
 * Owns: the demuxer, decoder and swscale contexts of one open file.
 * Not: the decoder thread and ring that overlap decoding with inference (media_pipe.h); still
 * images and archives of them (media_image.h, media_archive.h).
 *
 * DESIGN
 * - Any container/codec this FFmpeg decodes. Only the file protocol is allowed, so a path can't
 *   make FFmpeg open a URL. Cover art (attached pictures) does not count as a video stream.
 * - Rotation: the stream's display matrix (phones) says how to turn frames for display; frames
 *   come out already turned, so width and height swap for 90 and 270 degrees.
 * - Frame rate: `fps` is FFmpeg's average rate (frames / duration); it is all DeepLabCut keeps.
 *   Variable-rate videos are decoded frame by frame anyway: every frame has its own timestamp
 *   (media_frame.t), and the true count is the number of frames media_video_next returns;
 *   info.frames is the container's count or duration x fps, an estimate for progress only.
 *   A file with no average rate (variable-rate mkv, raw streams) is read once more at open,
 *   packets only, to count its frames and derive the rate.
 * - Damage: packets the decoder refuses are skipped and counted (a glitch in a long recording
 *   should not cost the whole analysis); a demuxer that stops early ends the stream. Both are
 *   reported by media_video_stats for the caller to surface. A file from which not one frame
 *   decodes fails with VAS_EINVAL. Nothing in a file can crash or abort the process.
 * - Memory: fixed after open (frame buffers of the output size, FFmpeg's own pools); frames are
 *   never accumulated. Sizes are capped (MEDIA_MAX_SIDE, MEDIA_MAX_PIXELS, and opts' limits:
 *   VAS_ETOOBIG).
 *
 * Threads: a media_video is used by one thread at a time (the caller, or media_pipe's decoder
 * thread). Inside avcodec, FFmpeg runs its own frame-decoding threads (opts.threads), started
 * by media_video_open and joined by media_video_close. media_norm_init and media_rgb_to_chw are
 * thread-safe (a media_norm is read-only once made). */
#ifndef VAS_MEDIA_VIDEO_H
#define VAS_MEDIA_VIDEO_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define MEDIA_MAX_SIDE   16384           /* widest or tallest frame accepted */
#define MEDIA_MAX_PIXELS (8192L * 8192L) /* largest width x height accepted */
#define MEDIA_MAX_BAD    1000            /* refused packets in a row before giving up */
#define MEDIA_NAME_LEN   64

typedef struct media_video media_video;

/* What one input may cost, from the service's LIMIT_* keys (config.h config_limits; the job
 * copies them in, media/ never reads the config). 0 in a field: only the built-in ceilings
 * (MEDIA_MAX_SIDE, MEDIA_MAX_PIXELS, ...). A refusal is VAS_ETOOBIG with a sentence naming the
 * key that raises it. Passed by value in options, or by pointer (NULL: all 0). */
typedef struct media_limits {
    int64_t image_pixels;    /* LIMIT_IMAGE_PIXELS: width x height of one still image */
    int64_t video_pixels;    /* LIMIT_VIDEO_PIXELS: width x height of a video's frames */
    int64_t video_frames;    /* LIMIT_VIDEO_FRAMES: frames of one video */
    int64_t archive_members; /* LIMIT_ARCHIVE_MEMBERS: entries of one zip/tar */
    int64_t archive_bytes;   /* LIMIT_ARCHIVE_BYTES: bytes read out of one zip/tar's entries */
} media_limits;

typedef struct media_video_opts {
    int width, height; /* output size of upright frames (stretched); 0, 0: the video's own */
    int threads;       /* FFmpeg decoder threads; 0: FFmpeg's choice (cores + 1); 1: none */
    media_limits lim;  /* video_pixels (checked at open, before any frame buffer) and
                          video_frames (the container's count or duration x rate at open, and
                          the frames decoded, as a backstop) */
} media_video_opts;

typedef struct media_video_info {
    int width, height;           /* output frame size: upright, or opts' size when given */
    int src_width, src_height;   /* coded size, before rotation and scaling */
    int rotation;                /* degrees turned clockwise to make frames upright: 0/90/180/270 */
    double fps;                  /* average frame rate; 0 when the file gives none */
    int64_t frames;              /* estimated frame count (see DESIGN); 0 when unknown */
    double duration;             /* seconds; 0 when unknown */
    char codec[MEDIA_NAME_LEN];  /* decoder, e.g. "h264" */
    char format[MEDIA_NAME_LEN]; /* container, e.g. "matroska,webm" */
    int tb_num, tb_den;          /* the stream's time base: media_frame.pts is in these units */
    int rate_num, rate_den;      /* fps as the file gives it (1000000/33333); 0/0 when none */
    int64_t start_pts;           /* the stream's start as the container says; 0 if unsaid */
} media_video_info;

typedef struct media_frame {
    const uint8_t *rgb; /* packed RGB24, width * 3 bytes a row; borrowed until the next
                           media_video_next or media_video_close */
    int width, height;  /* = info.width, info.height */
    int64_t index;      /* 0, 1, 2, ... in presentation order */
    double t;           /* presentation time in seconds from the stream's start */
    int64_t pts;        /* the raw presentation timestamp in info's time base (FFmpeg's best
                           effort; one missing is made from the previous one and the rate) */
} media_frame;

typedef struct media_video_stats {
    int64_t frames;      /* frames returned so far */
    int64_t bad_packets; /* packets or frames the decoder refused, skipped */
    int cut_short;       /* 1: the demuxer stopped with an error before the end of the file */
    char note[256];      /* the first problem, one sentence for a person; "" if none */
} media_video_stats;

/* Opens path (borrowed) and its best video stream; opts may be NULL (defaults). New video in
 * *out (caller frees: media_video_close); *out untouched on error.
 * Errors: VAS_ENOTFOUND no such file; VAS_EINVAL not a video, with what FFmpeg found (format,
 * streams) or why it could not read it; VAS_EUNSUPPORTED no decoder for its codec;
 * VAS_ETOOBIG frames over the caps; VAS_ENOMEM. Threads: the calling thread. */
int media_video_open(const char *path, const media_video_opts *opts, media_video **out, vas_err *e);
/* Borrowed result, valid until media_video_close; never changes. Threads: any. */
const media_video_info *media_video_info_get(const media_video *v);
/* Decodes the next frame into *f (pixels borrowed, see media_frame). Returns 1 with a frame,
 * 0 at the end of the stream (then again 0), or a negative VAS_E*: VAS_EINVAL when no frame
 * at all could be decoded or damage goes on for MEDIA_MAX_BAD packets, VAS_ETOOBIG, VAS_ENOMEM.
 * Threads: the thread that uses v. */
int media_video_next(media_video *v, media_frame *f, vas_err *e);
/* Counts so far, and the first damage note. Threads: the thread that uses v. */
void media_video_stats_get(const media_video *v, media_video_stats *out);
/* Frees v and joins FFmpeg's threads; NULL is a no-op. */
void media_video_close(media_video *v);

/* Sends FFmpeg's own messages (its per-packet complaints about damaged input...) to log.c as
 * debug lines instead of stderr; damage reaches people through media_video_stats and errors.
 * Threads: call once from main before threads start (FFmpeg's log callback is process-wide). */
void media_log_setup(void);

/* ---- RGB24 -> normalised float CHW (the pose engine's NCHW float32 input) ---- */

typedef struct media_norm {
    float mean[3]; /* per RGB channel, on the 0..1 scale: out = (v / 255 - mean) / std */
    float std[3];
    int bgr;           /* 1: planes in B, G, R order (models trained on OpenCV's BGR) */
    float lut[3][256]; /* filled by media_norm_init: per plane, the output of each byte value */
    int no_simd;       /* 1: media_rgb_to_chw* use their portable loop only (0 after init: AVX2
                          where the CPU has it; the same values) */
} media_norm;

/* Fills n from mean and std (borrowed, 3 values each, RGB order). VAS_EINVAL when a std is
 * not > 0 or a value is not finite. Threads: any. */
int media_norm_init(media_norm *n, const float mean[3], const float std[3], int bgr, vas_err *e);
/* Writes 3 planes of w x h floats (one NCHW slot, 3 * w * h floats) to dst from packed RGB24
 * rgb (stride bytes a row). Both borrowed. Threads: any. */
void media_rgb_to_chw(const media_norm *n, const uint8_t *rgb, int w, int h, size_t stride,
                      float *dst);
/* The same into planes of dst_w x dst_h floats (dst_w >= w, dst_h >= h; 3 * dst_w * dst_h in
 * all): the picture at the top left, the padding right and below left as it is. Threads: any. */
void media_rgb_to_chw_padded(const media_norm *n, const uint8_t *rgb, int w, int h, size_t stride,
                             float *dst, int dst_w, int dst_h);
/* Fills the padding of dst (3 planes of dst_w x dst_h holding a w x h picture at the top left)
 * by mirroring the picture as OpenCV's BORDER_REFLECT_101 does (..., 2, 1 | 0, 1, 2, ... w-1 |
 * w-2, ...), as DeepLabCut 3 pads HRNet's input (data/transforms.py build_auto_padding). */
void media_chw_pad_reflect(float *dst, int w, int h, int dst_w, int dst_h);

#endif
