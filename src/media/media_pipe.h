/* media_pipe.h - a decoder thread that fills a bounded ring of frame batches, already in the
 * model's input layout, so decoding overlaps with inference.
 * Owns: the decoder thread, its media_video, and the ring's memory.
 * Not: decoding itself (media_video.h); inference (nn/).
 *
 * DESIGN
 * The ring holds `depth` batches of `batch` frames each, allocated once at start: memory is
 * depth x batch x frame size whatever the video's length. Each batch is one contiguous block
 * (frames back to back), so a full batch is an NCHW tensor the engine can read in place.
 * A batch slot goes round FREE -> FILLING (decoder thread, no lock held while decoding) ->
 * READY -> TAKEN (consumer, until media_pipe_release) -> FREE. Batches are handed out in
 * order; every batch is full but the last. The decoder waits when no slot is FREE; the
 * consumer waits when the next slot is not READY.
 * Float slots (MEDIA_LAYOUT_CHW_F32) are written straight from the decoded YUV planes in one
 * pass (media_yuv.c: 8-bit 4:2:0, 4:2:2, 4:4:4, NV12, grey; the same values, bit for bit, as
 * swscale's RGB24 and media_norm's table would give) when frames need no turning or scaling;
 * other frames go through swscale's RGB24 and the table.
 * With opts.keep_rgb (float layouts), each slot also holds the batch's pictures as decoded,
 * packed RGB24: the decoder copies the frame once (one memcpy) besides converting it, so one
 * decode feeds both the model and whatever draws on the pictures (labeled videos). Then the
 * planes are made from those pictures (the RGB24 path): swscale runs anyway.
 * Stop: media_pipe_stop (or the caller's cancel flag, read per frame) ends the decoder at the
 * next frame or wait; media_pipe_take then answers VAS_ECANCELLED. A decode error ends the
 * stream: the batches decoded before it are still handed out, then take returns the error.
 *
 * Inline decoding (opts.inline_decode): a consumer that runs OpenMP work on every core between
 * takes (inference) loses more to a decoder thread than the decoding costs: the thread pre-empts
 * one of the engine's threads and the others wait for it at their next barrier, so decoding and
 * converting cost their whole time on every core (measured: 1.8 ms of CPU a 640x480 frame, 15%
 * of the engine's time on 2 cores). Inline, take decodes the batch itself while the frames
 * already decoded are converted by OpenMP tasks on the engine's threads, idle at that moment:
 * only the decoding stays serial, and nothing runs beside the engine.
 * Threads: two, or one inline. The decoder thread ("vas-decode", plus FFmpeg's own frame
 * threads inside it) runs from media_pipe_start until it reaches the end, an error or a stop;
 * media_pipe_free joins it. Every other function is called by the consumer: one thread (the job's
 * worker thread), or several whose takes never overlap (pose_run.c's streams take under a mutex
 * of their own; each releases its batch before its next take); media_pipe_stop and
 * media_pipe_info any thread may call. The ring's mutex is never held while decoding or
 * converting. Inline, the frames are converted on the taking thread's OpenMP threads (at most
 * omp_get_max_threads() there). */
#ifndef VAS_MEDIA_PIPE_H
#define VAS_MEDIA_PIPE_H

#include "core/err.h"
#include "media/media_video.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_PIPE_MAX_BYTES                                                                       \
    ((size_t)1 << 30) /* ceiling of the ring: depth x batch x (frame                               \
                         slot + kept picture) */

typedef struct media_pipe media_pipe;

typedef enum media_layout {
    MEDIA_LAYOUT_RGB24 = 0,   /* packed uint8 RGB, H x W x 3 a frame */
    MEDIA_LAYOUT_CHW_F32 = 1, /* float planes 3 x H x W a frame, normalised by opts.norm */
} media_layout;

typedef struct media_pipe_opts {
    int batch;                 /* frames per batch, 1..1024 */
    int depth;                 /* batches in the ring, 2..64 (one decoding, one inferring) */
    int width, height;         /* model input size; 0, 0: the video's upright size */
    int pad_to;                /* > 1: slot planes are the picture's size rounded up to a
                                  multiple of this (networks with a stride), the picture at
                                  the top left, the padding 0 (the mean colour once
                                  normalised); 0 or 1: no padding */
    int pad_reflect;           /* 1: MEDIA_LAYOUT_CHW_F32 padding mirrors the picture
                                  (media_chw_pad_reflect) instead of zeros */
    media_layout layout;       /* what a frame slot holds */
    const media_norm *norm;    /* MEDIA_LAYOUT_CHW_F32: borrowed during start (copied) */
    int keep_rgb;              /* 1: batches also carry the RGB24 pictures (media_batch.rgb);
                                  MEDIA_LAYOUT_CHW_F32 only (RGB24 slots already are them) */
    int threads;               /* FFmpeg decoder threads; 0: FFmpeg's choice */
    int inline_decode;         /* 1: no decoder thread: media_pipe_take decodes the next batch
                                  on the consumer's thread, converting frames on OpenMP tasks
                                  (DESIGN: for consumers whose own work, between takes, keeps
                                  every core busy) */
    const atomic_bool *cancel; /* optional: the job's cancel flag, read by the decoder per
                                  frame; borrowed until media_pipe_free */
    media_limits lim;          /* the video's limits (media_video_opts.lim) */
} media_pipe_opts;

typedef struct media_batch {
    const void *data;     /* n frames back to back (float or uint8 per layout); borrowed
                             until media_pipe_release */
    int n;                /* frames in it: opts.batch, fewer only in the last batch */
    size_t frame_bytes;   /* bytes of one frame slot */
    int width, height;    /* size of a frame slot's planes (rows): the picture's, padded */
    const int64_t *index; /* n frame indices (0, 1, ... in order) */
    const double *t;      /* n presentation times, seconds */
    const int64_t *pts;   /* n raw timestamps in media_pipe_info's time base (media_frame.pts) */
    const uint8_t *rgb;   /* opts.keep_rgb: n pictures back to back, packed RGB24 of the
                             picture's size (media_pipe_info's width x height: unpadded,
                             scaled if opts asked), width * 3 bytes a row; borrowed until
                             media_pipe_release. NULL without keep_rgb */
    size_t rgb_bytes;     /* bytes of one picture in rgb (0 without keep_rgb) */
    int slot;             /* which ring slot: for media_pipe_release */
} media_batch;

/* Opens path (borrowed) on the calling thread, so a file that is not a video fails here with
 * media_video_open's errors, then starts the decoder thread. New pipe in *out (caller frees:
 * media_pipe_free); *out untouched on error. VAS_EINVAL bad opts; VAS_ETOOBIG ring over
 * MEDIA_PIPE_MAX_BYTES; VAS_EIO thread could not start. Threads: the consumer. */
int media_pipe_start(const char *path, const media_pipe_opts *opts, media_pipe **out, vas_err *e);
/* The video's info (width/height are the picture's size in a slot, before padding). Borrowed
 * result, valid until media_pipe_free; never changes. Threads: any. */
const media_video_info *media_pipe_info(const media_pipe *p);
/* Waits for the next batch. 1: *b filled (hold it until media_pipe_release); 0: the end of
 * the video; VAS_ECANCELLED after a stop or the cancel flag; a decode error (the same again
 * on later calls); VAS_EINVAL if the consumer already holds every slot. Threads: consumer. */
int media_pipe_take(media_pipe *p, media_batch *b, vas_err *e);
/* Gives b's slot back to the decoder. Batches may be released in any order. Threads: consumer. */
void media_pipe_release(media_pipe *p, const media_batch *b);
/* Decoding counts and damage so far (media_video_stats), valid once take returned 0 or an
 * error; before that, what the decoder had published at its last batch. Threads: consumer. */
void media_pipe_stats(media_pipe *p, media_video_stats *out);
/* Asks the decoder thread to stop at its next frame; returns at once. Idempotent.
 * Threads: any. */
void media_pipe_stop(media_pipe *p);
/* Stops and joins the decoder thread, closes the video, frees the ring (batches still held
 * become invalid). NULL is a no-op. Threads: consumer. */
void media_pipe_free(media_pipe *p);

#endif
