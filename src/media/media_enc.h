/* media_enc.h - one H.264 .mp4 file written frame by frame from RGB pictures, for videos people
 * watch in a browser (labeled videos of the label and label_3d analyses).
 * Owns: the encoder (libx264 through libavcodec), the mp4 muxer, the swscale context and the
 * file "<path>.part" until close renames it to path.
 * Not: decoding (media_video.h); drawing the labels (the analyses).
 *
 * DESIGN
 * - Browser-playable: H.264 High profile, yuv420p, 8 bits, in mp4 with the moov box before
 *   the media data (movflags +faststart) so a browser starts playing while it downloads.
 * - Timing, two ways. Constant rate (opts.tb_den 0, media_enc_frame): frame i has time
 *   i / fps, each frame lasts 1 / fps, so a reader gets back the same frame count and average
 *   rate. The time base is fps as a rational: a rate within 0.01 of N * 1000/1001 (29.97,
 *   59.94, 23.976) is exactly N*1000/1001, one within 0.01 of a whole number is that number,
 *   any other av_d2q's. Given timestamps (opts.tb_num/tb_den, media_enc_frame_at): each frame
 *   keeps the timestamp it is given, in the given time base, so a variable-rate input stays
 *   variable and a labeled video's frames show at their input's times. mp4 time bases are 1/N:
 *   the file's is 1/tb_den (the mov muxer's video_track_timescale, so it is not doubled up to
 *   10000 as by default) and a timestamp is multiplied by tb_num, exactly. Timestamps must rise;
 *   one that does not (a damaged input) is moved to the previous one + 1. A frame lasts until
 *   the next one; the last as long as the one before it. Packets are written one behind so that
 *   each gets that duration (the muxer takes the last one's for the track's end).
 * - Colour: RGB is converted with swscale to BT.601 limited range (what players and vas's own
 *   decoder assume for untagged video), and the stream says so (matrix, primaries, transfer
 *   smpte170m, range tv) so players that read the tags agree.
 * - Odd sizes: 4:2:0 H.264 can only crop whole chroma samples (2 pixels), so an odd width or
 *   height cannot be stored. The picture is padded to the next even size by repeating its
 *   last column and/or row, and the file is that size (321x243 -> 322x244): every pixel of
 *   the picture keeps its coordinates, one pixel more shows at the right or bottom edge.
 *   media_enc_size tells the caller the size written.
 * - The final path is never half-written: frames go to "<path>.part" (the mp4 muxer is forced,
 *   since the extension is not .mp4), renamed to path by media_enc_close; an error or
 *   media_enc_abort removes it. The .part name is fixed, so two writers of one path at once
 *   are the caller's to prevent.
 * - Memory: fixed after open (one yuv420p frame, x264's lookahead of some tens of frames);
 *   frames are never accumulated.
 *
 * Speed, measured on the 2-core dev machine while other builds and tests ran on it (load
 * 4-7, so wall times are loose; CPU time per frame, all threads, is the steadier figure):
 * the openfield video (640x480, 30 fps, 2,330 frames) decoded by media_video into memory
 * first, then encoded; encode and close timed; median of 3 runs.
 *   preset     crf threads  frames/s  CPU ms/frame  MB a minute
 *   veryfast   23  1        176       3.70          1.03
 *   veryfast   23  2        181       3.63          1.03
 *   veryfast   23  auto (3) 178       3.97          1.03
 *   superfast  23  2        262       2.89          2.51
 *   ultrafast  23  2        457       1.72          3.12
 *   faster     23  2        104       7.01          1.58
 * (The openfield scene is mostly still; busier videos make bigger files.) veryfast keeps files
 * 2.5x smaller than superfast for 30% more CPU; faster costs twice the CPU. More x264 threads
 * buy no speed on 2 busy cores and cost CPU, and inference runs beside the encoder: 1 thread.
 * So the defaults: veryfast, crf 23, 1 thread; ~3.7 ms of one core a 640x480 frame.
 *
 * Threads: an encoder is used by one thread at a time. With opts.threads > 1 libx264 runs
 * that many threads of its own (plus lookahead) from open to close; with 1 it runs none. */
#ifndef VAS_MEDIA_ENC_H
#define VAS_MEDIA_ENC_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define MEDIA_ENC_CRF     23         /* x264's default quality */
#define MEDIA_ENC_PRESET  "veryfast" /* see the measurements above */
#define MEDIA_ENC_THREADS 1          /* see the measurements above */

typedef struct media_enc media_enc;

typedef enum media_pix {
    MEDIA_PIX_RGB24 = 0, /* packed R, G, B bytes (media_video's frames) */
    MEDIA_PIX_BGRX = 1,  /* 4 bytes a pixel B, G, R, unused: cairo's CAIRO_FORMAT_RGB24 and
                            CAIRO_FORMAT_ARGB32 on little-endian machines (alpha ignored) */
} media_pix;

typedef struct media_enc_opts {
    int width, height;  /* picture size, 1..MEDIA_MAX_SIDE (media_video.h); odd is padded */
    double fps;         /* frame rate, e.g. the input's average rate 29.97; > 0 and <= 1000 */
    media_pix pix;      /* layout of the pictures given to media_enc_frame */
    int crf;            /* quality, 1..51, lower is better and bigger; 0: MEDIA_ENC_CRF */
    const char *preset; /* x264 preset ("ultrafast" ... "veryslow"); NULL: MEDIA_ENC_PRESET;
                           borrowed during open */
    int threads;        /* x264 threads, 1..16; 0: MEDIA_ENC_THREADS; -1: x264's own choice
                           (1.5 x cores) */
    int tb_num, tb_den; /* > 0: frames come with timestamps in this time base (media_enc_frame_at);
                           0, 0: constant rate fps (media_enc_frame) */
    int rate_num, rate_den; /* optional: fps exactly (e.g. 1000000/33333), told to the encoder and
                               the stream instead of fps's rational; 0: from fps */
} media_enc_opts;

/* Opens "<path>.part" (path borrowed) for writing and the encoder. New encoder in *out (caller
 * ends it: media_enc_close or media_enc_abort); *out untouched on error, and no file is left.
 * Errors: VAS_EINVAL bad opts (size, fps, crf, threads, unknown preset); VAS_EIO the file
 * cannot be made (with the path and why); VAS_EUNSUPPORTED this FFmpeg has no libx264;
 * VAS_ENOMEM. Threads: the calling thread. */
int media_enc_open(const char *path, const media_enc_opts *o, media_enc **out, vas_err *e);
/* The size written, in *w and *h: opts' size, rounded up to even (see DESIGN). Threads: any. */
void media_enc_size(const media_enc *enc, int *w, int *h);
/* Encodes the next frame: pix (borrowed) holds height rows of stride bytes (stride >= width x
 * 3 for RGB24, width x 4 for BGRX). Frames are shown in the order given. VAS_EINVAL bad
 * arguments; VAS_EIO the file could not be written (disk full...); VAS_ENOMEM. After an error
 * the encoder can only be closed or aborted. Threads: the thread that uses enc. */
int media_enc_frame(media_enc *enc, const uint8_t *pix, size_t stride, vas_err *e);
/* The same, with timestamps (opts.tb_num/tb_den set): pts in that time base (see DESIGN,
 * Timing). VAS_EINVAL when the encoder was opened for a constant rate. */
int media_enc_frame_at(media_enc *enc, const uint8_t *pix, size_t stride, int64_t pts, vas_err *e);
/* Frames given so far. Threads: the thread that uses enc. */
int64_t media_enc_frames(const media_enc *enc);
/* Flushes the encoder, writes the index (moved to the front) and renames "<path>.part" to
 * path. Takes enc: frees it, also on error, when the .part file is removed too. VAS_EINVAL no
 * frame was given (an mp4 without frames plays nowhere); VAS_EIO writing or renaming failed;
 * VAS_ENOMEM. NULL: VAS_OK. Threads: the thread that uses enc. */
int media_enc_close(media_enc *enc, vas_err *e);
/* Stops, removes "<path>.part" and frees enc (a cancelled job). NULL is a no-op.
 * Threads: the thread that uses enc. */
void media_enc_abort(media_enc *enc);

#endif
