/* test_media_enc.h - FFmpeg encoders and muxers that make the media tests' inputs in their
 * temp folders: short videos with a known picture per frame (any Debian FFmpeg encoder and
 * muxer: libx264, libx265, mjpeg, mpeg4 in mp4/mkv/mov/avi; constant or variable frame rate;
 * a display matrix for rotation), still images (png, mjpeg, bmp, tiff), and the test picture
 * that codes a frame's index in grey levels.
 * Header-only (static) so each test binary stays one .c file; mk/media.mk rebuilds the media
 * tests when it changes. Threads: cmocka's one test thread. */
#ifndef VAS_TEST_MEDIA_ENC_H
#define VAS_TEST_MEDIA_ENC_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- the test picture ---- */

/* Grey level that codes digit d (0..7): steps of 28 survive any of the lossy codecs here. */
#define TENC_LEVEL(d) (30 + (d)*28)

/* Paints w x h RGB24 (w >= 64, h >= 64) for frame i: top-left 32x32 grey TENC_LEVEL(i % 8),
 * top-right 32x32 grey TENC_LEVEL(i / 8 % 8), bottom-left red, bottom-right blue, the rest
 * green. Blocks sit on 16-pixel macroblock borders so codecs keep them flat. */
static inline void tenc_paint_index(int i, int w, int h, uint8_t *rgb, void *ctx)
{
    (void)ctx;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            uint8_t c[3] = {30, 200, 30};
            if (x < 32 && y < 32) {
                c[0] = c[1] = c[2] = (uint8_t)TENC_LEVEL(i % 8);
            } else if (x < 64 && y < 32) {
                c[0] = c[1] = c[2] = (uint8_t)TENC_LEVEL(i / 8 % 8);
            } else if (x < 32 && y < 64) {
                c[0] = 220, c[1] = 30, c[2] = 30;
            } else if (x < 64 && y < 64) {
                c[0] = 30, c[1] = 30, c[2] = 220;
            }
            memcpy(p, c, 3);
        }
    }
}

/* Mean of channel ch over the 8x8 square centred on (cx, cy) of a w-wide RGB24 image. */
static inline int tenc_mean(const uint8_t *rgb, int w, int cx, int cy, int ch)
{
    int sum = 0;

    for (int y = cy - 4; y < cy + 4; y++)
        for (int x = cx - 4; x < cx + 4; x++)
            sum += rgb[((size_t)y * w + x) * 3 + ch];
    return sum / 64;
}

/* Digit coded by a grey level, or -1 when the level is more than 10 off every step. */
static inline int tenc_digit(int level)
{
    for (int d = 0; d < 8; d++)
        if (level >= TENC_LEVEL(d) - 10 && level <= TENC_LEVEL(d) + 10)
            return d;
    return -1;
}

/* Frame index modulo 64 read back from a picture of tenc_paint_index, or -1. */
static inline int tenc_read_index(const uint8_t *rgb, int w)
{
    int lo = tenc_digit(tenc_mean(rgb, w, 16, 16, 1));
    int hi = tenc_digit(tenc_mean(rgb, w, 48, 16, 1));

    return lo < 0 || hi < 0 ? -1 : hi * 8 + lo;
}

/* ---- videos ---- */

typedef void (*tenc_paint_fn)(int index, int w, int h, uint8_t *rgb, void *ctx);

typedef struct tenc_video {
    const char *codec;     /* encoder: "libx264", "libx265", "mjpeg", "mpeg4" */
    const char *format;    /* muxer, e.g. "mp4", "matroska", "mov", "avi"; NULL: from the path */
    int w, h, frames;      /* size and length */
    int fps;               /* nominal rate; the time base is 1/fps unless pts_ms is given */
    const int64_t *pts_ms; /* variable rate: each frame's time in ms (time base 1/1000) */
    int rotation;          /* degrees a player turns frames clockwise (display matrix); 0 none */
    int pix_fmt;           /* 0: 4:2:0 (YUVJ420P for mjpeg); else an AV_PIX_FMT_* (e.g. BGR0
                              with "ffv1": lossless, every decoded pixel is the painted one) */
    tenc_paint_fn paint;   /* NULL: tenc_paint_index */
    void *ctx;             /* for paint */
} tenc_video;

/* The encoder's state during tenc_write_video. */
typedef struct tenc_run {
    AVFormatContext *oc;
    AVCodecContext *cc;
    AVStream *st;
    AVFrame *fr;
    AVPacket *pkt;
    struct SwsContext *sws;
    uint8_t *rgb;
    const tenc_video *s;
} tenc_run;

static inline void tenc_codec_opts(const char *codec, AVCodecContext *cc, AVDictionary **o)
{
    if (strcmp(codec, "libx264") == 0) {
        av_dict_set(o, "preset", "veryfast", 0); /* has B-frames: reordering is tested */
        av_dict_set(o, "crf", "12", 0);
    } else if (strcmp(codec, "libx265") == 0) {
        av_dict_set(o, "preset", "ultrafast", 0);
        av_dict_set(o, "crf", "12", 0);
        av_dict_set(o, "x265-params", "log-level=error:pools=1:frame-threads=1", 0);
    } else {
        cc->flags |= AV_CODEC_FLAG_QSCALE;
        cc->global_quality = FF_QP2LAMBDA * 2;
    }
}

static inline int tenc_open(tenc_run *r, const char *path, const tenc_video *s)
{
    const AVCodec *c = avcodec_find_encoder_by_name(s->codec);
    AVDictionary *o = NULL;
    int mj = strcmp(s->codec, "mjpeg") == 0;

    if (!c || avformat_alloc_output_context2(&r->oc, NULL, s->format, path) < 0)
        return -1;
    r->cc = avcodec_alloc_context3(c);
    r->st = avformat_new_stream(r->oc, NULL);
    if (!r->cc || !r->st)
        return -1;
    r->cc->width = s->w;
    r->cc->height = s->h;
    r->cc->time_base = s->pts_ms ? (AVRational){1, 1000} : (AVRational){1, s->fps};
    r->cc->framerate = (AVRational){s->fps, 1};
    r->cc->pix_fmt = s->pix_fmt ? s->pix_fmt : mj ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P;
    r->cc->gop_size = 12;
    if (r->oc->oformat->flags & AVFMT_GLOBALHEADER)
        r->cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    tenc_codec_opts(s->codec, r->cc, &o);
    if (avcodec_open2(r->cc, c, &o) < 0 ||
        avcodec_parameters_from_context(r->st->codecpar, r->cc) < 0) {
        av_dict_free(&o);
        return -1;
    }
    av_dict_free(&o);
    r->st->time_base = r->cc->time_base;
    if (s->rotation) {
        uint8_t *m = av_stream_new_side_data(r->st, AV_PKT_DATA_DISPLAYMATRIX, 9 * 4);
        if (!m)
            return -1;
        av_display_rotation_set((int32_t *)(void *)m, s->rotation); /* clockwise degrees */
    }
    if (avio_open(&r->oc->pb, path, AVIO_FLAG_WRITE) < 0 || avformat_write_header(r->oc, NULL) < 0)
        return -1;
    return 0;
}

/* Gives a packet its frame's length (the gap to the next frame), so muxers with edit lists
 * keep the last frame. */
static inline void tenc_duration(const tenc_video *s, AVPacket *pkt)
{
    if (!s->pts_ms) {
        pkt->duration = 1;
        return;
    }
    for (int i = 0; i < s->frames; i++) {
        if (s->pts_ms[i] != pkt->pts)
            continue;
        if (i + 1 < s->frames)
            pkt->duration = s->pts_ms[i + 1] - s->pts_ms[i];
        else
            pkt->duration = i > 0 ? s->pts_ms[i] - s->pts_ms[i - 1] : 40;
    }
}

/* Writes every packet the encoder has ready; f NULL flushes it. */
static inline int tenc_send(tenc_run *r, AVFrame *f)
{
    int rc = avcodec_send_frame(r->cc, f);

    while (rc >= 0) {
        rc = avcodec_receive_packet(r->cc, r->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return -1;
        tenc_duration(r->s, r->pkt);
        av_packet_rescale_ts(r->pkt, r->cc->time_base, r->st->time_base);
        r->pkt->stream_index = r->st->index;
        if (av_interleaved_write_frame(r->oc, r->pkt) < 0)
            return -1;
    }
    return rc;
}

static inline int tenc_frames(tenc_run *r, const tenc_video *s)
{
    tenc_paint_fn paint = s->paint ? s->paint : tenc_paint_index;
    int stride = s->w * 3;

    for (int i = 0; i < s->frames; i++) {
        const uint8_t *src[1] = {r->rgb};
        if (av_frame_make_writable(r->fr) < 0)
            return -1;
        paint(i, s->w, s->h, r->rgb, s->ctx);
        sws_scale(r->sws, src, &stride, 0, s->h, r->fr->data, r->fr->linesize);
        r->fr->pts = s->pts_ms ? s->pts_ms[i] : i;
        if (tenc_send(r, r->fr) < 0)
            return -1;
    }
    return tenc_send(r, NULL);
}

/* Makes the video at path. 0 ok, -1 on any FFmpeg failure. */
static inline int tenc_write_video(const char *path, const tenc_video *s)
{
    tenc_run r = {.s = s};
    int rc = -1;

    if (tenc_open(&r, path, s) < 0)
        goto out;
    r.fr = av_frame_alloc();
    r.pkt = av_packet_alloc();
    r.rgb = malloc((size_t)s->w * s->h * 3);
    r.sws = sws_getContext(s->w, s->h, AV_PIX_FMT_RGB24, s->w, s->h, r.cc->pix_fmt,
                           SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!r.fr || !r.pkt || !r.rgb || !r.sws)
        goto out;
    r.fr->format = r.cc->pix_fmt;
    r.fr->width = s->w;
    r.fr->height = s->h;
    if (av_frame_get_buffer(r.fr, 0) < 0 || tenc_frames(&r, s) < 0)
        goto out;
    rc = av_write_trailer(r.oc) < 0 ? -1 : 0;
out:
    if (r.oc && r.oc->pb)
        avio_closep(&r.oc->pb);
    avformat_free_context(r.oc);
    avcodec_free_context(&r.cc);
    av_frame_free(&r.fr);
    av_packet_free(&r.pkt);
    sws_freeContext(r.sws);
    free(r.rgb);
    return rc;
}

/* ---- still images ---- */

/* Encodes one w x h RGB24 picture with codec ("png", "mjpeg", "bmp", "tiff") in pixel format
 * fmt (AV_PIX_FMT_NONE: the codec's first) and writes the packet, which is the whole file.
 * 0 ok, -1 on failure. */
static inline int tenc_write_image(const char *path, const char *codec, int fmt, int w, int h,
                                   const uint8_t *rgb)
{
    const AVCodec *c = avcodec_find_encoder_by_name(codec);
    AVCodecContext *cc = c ? avcodec_alloc_context3(c) : NULL;
    AVFrame *fr = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    int stride = w * 3, rc = -1;
    const uint8_t *src[1] = {rgb};
    FILE *f;

    if (!cc || !fr || !pkt)
        goto out;
    cc->width = w;
    cc->height = h;
    cc->time_base = (AVRational){1, 25};
    cc->pix_fmt = fmt != AV_PIX_FMT_NONE ? fmt : c->pix_fmts[0];
    if (strcmp(codec, "mjpeg") == 0) {
        cc->flags |= AV_CODEC_FLAG_QSCALE;
        cc->global_quality = FF_QP2LAMBDA * 2;
    }
    fr->format = cc->pix_fmt;
    fr->width = w;
    fr->height = h;
    sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, cc->pix_fmt, SWS_BILINEAR | SWS_ACCURATE_RND,
                         NULL, NULL, NULL);
    if (!sws || avcodec_open2(cc, c, NULL) < 0 || av_frame_get_buffer(fr, 0) < 0)
        goto out;
    sws_scale(sws, src, &stride, 0, h, fr->data, fr->linesize);
    if (avcodec_send_frame(cc, fr) < 0 || avcodec_send_frame(cc, NULL) < 0 ||
        avcodec_receive_packet(cc, pkt) < 0)
        goto out;
    f = fopen(path, "wb");
    if (!f)
        goto out;
    rc = fwrite(pkt->data, 1, (size_t)pkt->size, f) == (size_t)pkt->size ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
out:
    avcodec_free_context(&cc);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    sws_freeContext(sws);
    return rc;
}

#endif
