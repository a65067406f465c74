/* media_enc.c - RGB pictures -> H.264 (libx264) in a faststart mp4 (see media_enc.h, DESIGN).
 *
 * Life of an encoder: open makes "<path>.part" and writes the mp4 header; each frame is
 * converted into the one yuv420p frame, padded, sent to x264, and whatever packets x264 has
 * ready are written; close drains x264, writes the trailer (the mov muxer then rewrites the
 * file to move moov before mdat, reopening "<path>.part" by its URL) and renames. Any error
 * sets failed; from then on only close (which removes the file) or abort make sense. */
#include "media/media_enc.h"
#include "media/media_int.h"
#include "media/media_video.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_SWS_FLAGS (SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP)

struct media_enc {
    AVFormatContext *oc;    /* the mp4 muxer; oc->pb is "<path>.part" once open */
    AVCodecContext *cc;     /* libx264 */
    AVStream *st;           /* the one video stream */
    AVFrame *fr;            /* yuv420p, the padded size; reused for every frame */
    AVPacket *pkt;          /* scratch for encoded packets */
    struct SwsContext *sws; /* opts' pixel layout and size -> yuv420p of the same size */
    int w, h;               /* picture size (opts) */
    int pw, ph;             /* encoded size: w, h rounded up to even */
    media_pix pix;          /* input layout */
    int64_t n;              /* frames given */
    int timed;              /* frames come with timestamps (opts.tb_den > 0) */
    int64_t mul;            /* timed: a given timestamp x mul is one in the file's 1/den base */
    int64_t last_pts;       /* timed: the last frame's timestamp, in the file's base */
    int64_t last_dur;       /* timed: the last frame's duration: its gap to the one before */
    AVPacket *held;         /* timed: the packet written one behind (DESIGN, Timing) */
    int failed;             /* an error happened: close removes the file */
    char *path;             /* final path */
    char *part;             /* "<path>.part" */
    char *url;              /* "file:<path>.part", so a colon is never read as a protocol */
};

/* ---- options ---- */

/* fps as a rational (DESIGN, Timing). */
static AVRational rate_of(double fps)
{
    double ntsc = fps * 1.001;

    if (fabs(fps - round(fps)) < 0.01)
        return (AVRational){(int)lround(fps), 1};
    if (fabs(ntsc - round(ntsc)) < 0.01)
        return (AVRational){(int)lround(ntsc) * 1000, 1001};
    return av_d2q(fps, 100000);
}

/* x264's presets (x264_preset_names), checked here so a wrong name gets our message rather
 * than a line of x264's on stderr. */
static int preset_ok(const char *p)
{
    static const char *const names[] = {"ultrafast", "superfast", "veryfast", "faster",  "fast",
                                        "medium",    "slow",      "slower",   "veryslow"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(p, names[i]) == 0)
            return 1;
    return 0;
}

static int check_opts(const media_enc_opts *o, vas_err *e)
{
    if (!media_size_ok(o->width, o->height))
        return err_set(e, VAS_EINVAL, "cannot write a %dx%d video: sizes go from 1 to %d", o->width,
                       o->height, MEDIA_MAX_SIDE);
    if (!(o->fps > 0 && o->fps <= 1000))
        return err_set(e, VAS_EINVAL, "cannot write a video at %g frames a second", o->fps);
    if (o->pix != MEDIA_PIX_RGB24 && o->pix != MEDIA_PIX_BGRX)
        return err_set(e, VAS_EINVAL, "unknown pixel layout %d for the video", (int)o->pix);
    if (o->crf < 0 || o->crf > 51)
        return err_set(e, VAS_EINVAL, "video quality (crf) %d is not in 1..51", o->crf);
    if (o->threads < -1 || o->threads > 16)
        return err_set(e, VAS_EINVAL, "%d encoder threads: give 1..16, 0 or -1", o->threads);
    if (o->tb_num < 0 || o->tb_den < 0 || (o->tb_num > 0) != (o->tb_den > 0) || o->rate_num < 0 ||
        o->rate_den < 0 || (o->rate_num > 0) != (o->rate_den > 0))
        return err_set(e, VAS_EINVAL, "bad time base %d/%d or rate %d/%d for the video", o->tb_num,
                       o->tb_den, o->rate_num, o->rate_den);
    if (o->preset && !preset_ok(o->preset))
        return err_set(e, VAS_EINVAL, "unknown x264 preset '%s': ultrafast ... veryslow",
                       o->preset);
    return VAS_OK;
}

/* ---- open ---- */

static int set_paths(media_enc *enc, const char *path)
{
    size_t n = strlen(path);

    enc->path = strdup(path);
    enc->part = malloc(n + 6);
    enc->url = malloc(n + 11);
    if (!enc->path || !enc->part || !enc->url)
        return VAS_ENOMEM;
    snprintf(enc->part, n + 6, "%s.part", path);
    snprintf(enc->url, n + 11, "file:%s.part", path);
    return VAS_OK;
}

/* The codec context: size, rate, colour tags, threads; then libx264's own options. */
static int open_codec(media_enc *enc, const AVCodec *c, const media_enc_opts *o, vas_err *e)
{
    AVCodecContext *cc = avcodec_alloc_context3(c);
    AVRational rate = o->rate_num > 0 ? (AVRational){o->rate_num, o->rate_den} : rate_of(o->fps);
    AVDictionary *d = NULL;
    char crf[16];
    int r;

    if (!cc)
        return err_set(e, VAS_ENOMEM, "out of memory opening the video encoder");
    enc->cc = cc;
    cc->width = enc->pw;
    cc->height = enc->ph;
    cc->pix_fmt = AV_PIX_FMT_YUV420P;
    cc->time_base = enc->timed ? (AVRational){1, o->tb_den} : av_inv_q(rate);
    cc->framerate = rate;
    cc->color_range = AVCOL_RANGE_MPEG;
    cc->colorspace = AVCOL_SPC_SMPTE170M;
    cc->color_primaries = AVCOL_PRI_SMPTE170M;
    cc->color_trc = AVCOL_TRC_SMPTE170M;
    cc->thread_count = o->threads == 0 ? MEDIA_ENC_THREADS : o->threads < 0 ? 0 : o->threads;
    if (enc->oc->oformat->flags & AVFMT_GLOBALHEADER)
        cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    snprintf(crf, sizeof(crf), "%d", o->crf ? o->crf : MEDIA_ENC_CRF);
    av_dict_set(&d, "preset", o->preset ? o->preset : MEDIA_ENC_PRESET, 0);
    av_dict_set(&d, "crf", crf, 0);
    av_dict_set(&d, "profile", "high", 0);
    r = avcodec_open2(cc, c, &d);
    av_dict_free(&d);
    if (r == AVERROR(ENOMEM))
        return err_set(e, VAS_ENOMEM, "out of memory opening the video encoder");
    if (r < 0)
        return err_set(e, VAS_EINVAL, "x264 refused the settings for a %dx%d video (%s)", enc->pw,
                       enc->ph, MEDIA_AVERR(r));
    return VAS_OK;
}

/* The stream, the file, the mp4 header. */
static int open_file(media_enc *enc, vas_err *e)
{
    AVDictionary *d = NULL;
    int r;

    enc->st = avformat_new_stream(enc->oc, NULL);
    if (!enc->st || avcodec_parameters_from_context(enc->st->codecpar, enc->cc) < 0)
        return err_set(e, VAS_ENOMEM, "out of memory opening the video file");
    enc->st->time_base = enc->cc->time_base;
    enc->st->avg_frame_rate = enc->cc->framerate;
    enc->st->r_frame_rate = enc->cc->framerate;
    r = avio_open(&enc->oc->pb, enc->url, AVIO_FLAG_WRITE);
    if (r < 0)
        return err_set(e, VAS_EIO, "cannot write the video '%s' (%s)", enc->part, MEDIA_AVERR(r));
    av_dict_set(&d, "movflags", "+faststart", 0);
    if (enc->timed) /* keep the input's time base (DESIGN, Timing) */
        av_dict_set_int(&d, "video_track_timescale", enc->cc->time_base.den, 0);
    r = avformat_write_header(enc->oc, &d);
    av_dict_free(&d);
    if (r < 0)
        return err_set(e, VAS_EIO, "cannot write the video header to '%s' (%s)", enc->part,
                       MEDIA_AVERR(r));
    return VAS_OK;
}

/* The reused yuv420p frame and the converter into it (BT.601, RGB full range -> limited). */
static int open_convert(media_enc *enc, vas_err *e)
{
    enum AVPixelFormat src = enc->pix == MEDIA_PIX_BGRX ? AV_PIX_FMT_BGR0 : AV_PIX_FMT_RGB24;
    const int *bt601 = sws_getCoefficients(SWS_CS_ITU601);

    enc->fr = av_frame_alloc();
    enc->pkt = av_packet_alloc();
    enc->sws = sws_getContext(enc->w, enc->h, src, enc->w, enc->h, AV_PIX_FMT_YUV420P,
                              ENC_SWS_FLAGS, NULL, NULL, NULL);
    if (!enc->fr || !enc->pkt || !enc->sws)
        return err_set(e, VAS_ENOMEM, "out of memory opening the video encoder");
    (void)sws_setColorspaceDetails(enc->sws, bt601, 1, bt601, 0, 0, 1 << 16, 1 << 16);
    enc->fr->format = AV_PIX_FMT_YUV420P;
    enc->fr->width = enc->pw;
    enc->fr->height = enc->ph;
    enc->fr->color_range = AVCOL_RANGE_MPEG;
    enc->fr->colorspace = AVCOL_SPC_SMPTE170M;
    enc->fr->color_primaries = AVCOL_PRI_SMPTE170M;
    enc->fr->color_trc = AVCOL_TRC_SMPTE170M;
    if (av_frame_get_buffer(enc->fr, 0) < 0)
        return err_set(e, VAS_ENOMEM, "out of memory for a %dx%d video frame", enc->pw, enc->ph);
    return VAS_OK;
}

/* Frees everything; the .part file stays (callers remove it). */
static void enc_free(media_enc *enc)
{
    if (enc->oc && enc->oc->pb)
        avio_closep(&enc->oc->pb);
    avformat_free_context(enc->oc);
    avcodec_free_context(&enc->cc);
    av_frame_free(&enc->fr);
    av_packet_free(&enc->pkt);
    av_packet_free(&enc->held);
    sws_freeContext(enc->sws);
    free(enc->path);
    free(enc->part);
    free(enc->url);
    free(enc);
}

int media_enc_open(const char *path, const media_enc_opts *o, media_enc **out, vas_err *e)
{
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    media_enc *enc = NULL;
    int rc = check_opts(o, e);

    if (rc < 0)
        return rc;
    if (!c)
        return err_set(e, VAS_EUNSUPPORTED, "this FFmpeg has no libx264 to write H.264 videos");
    enc = calloc(1, sizeof(*enc));
    if (!enc || set_paths(enc, path) < 0) {
        rc = err_set(e, VAS_ENOMEM, "out of memory opening the video '%s'", path);
        goto fail;
    }
    enc->w = o->width;
    enc->h = o->height;
    enc->pw = (o->width + 1) & ~1;
    enc->ph = (o->height + 1) & ~1;
    enc->pix = o->pix;
    enc->timed = o->tb_den > 0;
    enc->mul = o->tb_num > 0 ? o->tb_num : 1;
    enc->last_dur = enc->timed ? (int64_t)fmax(1, llround(o->tb_den / o->fps)) : 1;
    if (enc->timed && !(enc->held = av_packet_alloc())) {
        rc = err_set(e, VAS_ENOMEM, "out of memory opening the video '%s'", path);
        goto fail;
    }
    if (avformat_alloc_output_context2(&enc->oc, NULL, "mp4", enc->url) < 0 || !enc->oc) {
        rc = err_set(e, VAS_ENOMEM, "out of memory opening the video '%s'", path);
        goto fail;
    }
    rc = open_codec(enc, c, o, e);
    if (rc < 0)
        goto fail;
    rc = open_file(enc, e);
    if (rc < 0)
        goto fail;
    rc = open_convert(enc, e);
    if (rc < 0)
        goto fail;
    *out = enc;
    return VAS_OK;
fail:
    if (enc && enc->oc && enc->oc->pb) {
        avio_closep(&enc->oc->pb);
        (void)remove(enc->part);
    }
    if (enc)
        enc_free(enc);
    return rc;
}

void media_enc_size(const media_enc *enc, int *w, int *h)
{
    *w = enc->pw;
    *h = enc->ph;
}

int64_t media_enc_frames(const media_enc *enc)
{
    return enc->n;
}

/* ---- frames ---- */

/* Writes pkt (taking its data). */
static int put_packet(media_enc *enc, AVPacket *pkt, vas_err *e)
{
    int r;

    av_packet_rescale_ts(pkt, enc->cc->time_base, enc->st->time_base);
    pkt->stream_index = enc->st->index;
    r = av_interleaved_write_frame(enc->oc, pkt);
    if (r < 0)
        return err_set(e, VAS_EIO, "cannot write the video '%s' (%s)", enc->part, MEDIA_AVERR(r));
    return VAS_OK;
}

/* Timed: writes the held packet, lasting until pkt, and holds pkt; pkt NULL writes the last
 * one, lasting as long as the last frame. */
static int put_timed(media_enc *enc, AVPacket *pkt, vas_err *e)
{
    int rc = VAS_OK;

    if (enc->held->data) {
        int64_t d = pkt ? pkt->dts - enc->held->dts : enc->last_dur;
        enc->held->duration = d > 0 ? d : 1;
        rc = put_packet(enc, enc->held, e);
        av_packet_unref(enc->held);
    }
    if (pkt)
        av_packet_move_ref(enc->held, pkt);
    return rc;
}

/* Writes every packet x264 has ready; f NULL drains it. */
static int enc_send(media_enc *enc, const AVFrame *f, vas_err *e)
{
    int r = avcodec_send_frame(enc->cc, f);

    if (r < 0)
        return err_set(e, r == AVERROR(ENOMEM) ? VAS_ENOMEM : VAS_EIO,
                       "x264 could not encode frame %lld of '%s' (%s)", (long long)enc->n,
                       enc->path, MEDIA_AVERR(r));
    for (;;) {
        r = avcodec_receive_packet(enc->cc, enc->pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return VAS_OK;
        if (r < 0)
            return err_set(e, VAS_EIO, "x264 could not encode '%s' (%s)", enc->path,
                           MEDIA_AVERR(r));
        if (enc->timed) {
            r = put_timed(enc, enc->pkt, e);
        } else {
            enc->pkt->duration = 1; /* constant rate: one tick of 1 / fps; keeps the last frame */
            r = put_packet(enc, enc->pkt, e);
        }
        if (r < 0)
            return r;
    }
}

/* Odd sizes: repeats the last luma column and row into the padding. The chroma planes of an
 * odd-sized conversion already cover the padded size ((w + 1) / 2 samples). */
static void pad_frame(media_enc *enc)
{
    AVFrame *f = enc->fr;

    if (enc->pw != enc->w)
        for (int y = 0; y < enc->h; y++) {
            uint8_t *row = f->data[0] + (size_t)y * f->linesize[0];
            row[enc->w] = row[enc->w - 1];
        }
    if (enc->ph != enc->h)
        memcpy(f->data[0] + (size_t)enc->h * f->linesize[0],
               f->data[0] + (size_t)(enc->h - 1) * f->linesize[0], (size_t)enc->pw);
}

static int enc_frame(media_enc *enc, const uint8_t *pix, size_t stride, int64_t pts, vas_err *e)
{
    size_t min = (size_t)enc->w * (enc->pix == MEDIA_PIX_BGRX ? 4 : 3);
    const uint8_t *src[4] = {pix, NULL, NULL, NULL};
    int strides[4] = {(int)stride, 0, 0, 0};
    int rc;

    if (enc->failed)
        return err_set(e, VAS_EINVAL, "the video '%s' already failed", enc->path);
    if (!pix || stride < min || stride > INT32_MAX)
        return err_set(e, VAS_EINVAL, "bad picture for the video: %zu bytes a row, %zu needed",
                       stride, min);
    if (av_frame_make_writable(enc->fr) < 0) {
        enc->failed = 1;
        return err_set(e, VAS_ENOMEM, "out of memory for a video frame");
    }
    sws_scale(enc->sws, src, strides, 0, enc->h, enc->fr->data, enc->fr->linesize);
    pad_frame(enc);
    enc->fr->pts = pts;
    rc = enc_send(enc, enc->fr, e);
    enc->n++;
    if (rc < 0)
        enc->failed = 1;
    return rc;
}

int media_enc_frame(media_enc *enc, const uint8_t *pix, size_t stride, vas_err *e)
{
    if (enc->timed)
        return err_set(e, VAS_EINVAL, "the video '%s' takes frames with timestamps", enc->path);
    return enc_frame(enc, pix, stride, enc->n, e);
}

int media_enc_frame_at(media_enc *enc, const uint8_t *pix, size_t stride, int64_t pts, vas_err *e)
{
    if (!enc->timed)
        return err_set(e, VAS_EINVAL, "the video '%s' is written at a constant rate", enc->path);
    if (pts > INT64_MAX / enc->mul || pts < INT64_MIN / enc->mul)
        return err_set(e, VAS_EINVAL, "timestamp %lld is out of range", (long long)pts);
    pts *= enc->mul;
    if (enc->n > 0 && pts <= enc->last_pts)
        pts = enc->last_pts + 1; /* a damaged input's repeat: the muxer needs rising times */
    if (enc->n > 0)
        enc->last_dur = pts - enc->last_pts;
    enc->last_pts = pts;
    return enc_frame(enc, pix, stride, pts, e);
}

/* ---- the end ---- */

static int finish(media_enc *enc, vas_err *e)
{
    int rc, r;

    if (enc->failed)
        return err_set(e, VAS_EIO, "the video '%s' was not written: a frame failed", enc->path);
    if (enc->n == 0)
        return err_set(e, VAS_EINVAL, "the video '%s' has no frames", enc->path);
    rc = enc_send(enc, NULL, e);
    if (rc == VAS_OK && enc->timed)
        rc = put_timed(enc, NULL, e);
    if (rc < 0)
        return rc;
    r = av_write_trailer(enc->oc); /* faststart: reopens enc->url and moves moov up */
    if (r >= 0 && enc->oc->pb->error < 0)
        r = enc->oc->pb->error;
    if (r >= 0)
        r = avio_closep(&enc->oc->pb);
    if (r < 0)
        return err_set(e, VAS_EIO, "cannot finish the video '%s' (%s)", enc->part, MEDIA_AVERR(r));
    if (rename(enc->part, enc->path) != 0)
        return err_sys(e, VAS_EIO, errno, "cannot rename '%s' to '%s'", enc->part, enc->path);
    return VAS_OK;
}

int media_enc_close(media_enc *enc, vas_err *e)
{
    int rc;

    if (!enc)
        return VAS_OK;
    rc = finish(enc, e);
    if (rc < 0)
        media_enc_abort(enc);
    else
        enc_free(enc);
    return rc;
}

void media_enc_abort(media_enc *enc)
{
    if (!enc)
        return;
    if (enc->oc && enc->oc->pb)
        avio_closep(&enc->oc->pb);
    (void)remove(enc->part);
    enc_free(enc);
}
