/* media_video.c - open a video file with libavformat, decode its best video stream with
 * libavcodec, hand out upright RGB24 frames one at a time (see media_video.h, DESIGN).
 *
 * The decode loop is FFmpeg's send/receive state machine:
 *   READING  --av_read_frame EOF or error--> DRAINING (decoder flushed with a NULL packet)
 *   DRAINING --avcodec_receive_frame EOF--> DONE
 * media_video_next asks the decoder for a frame first and feeds it one packet whenever it
 * answers EAGAIN, so at most the decoder's own delay (reordering, frame threads) is buffered. */
#include "media/media_video.h"
#include "core/log.h"
#include "media/media_int.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { ST_READING, ST_DRAINING, ST_DONE };

struct media_video {
    AVFormatContext *fmt;    /* demuxer; file protocol only */
    AVCodecContext *dec;     /* decoder of the chosen stream */
    AVPacket *pkt;           /* reused for every packet */
    AVFrame *frame;          /* reused for every decoded frame */
    int stream;              /* index of the chosen video stream */
    AVRational tb;           /* its time base */
    int64_t t0;              /* timestamp of time 0 (stream start), or AV_NOPTS_VALUE */
    int64_t last_pts;        /* the last frame's media_frame.pts */
    media_sws sws;           /* decoded frame -> RGB24 */
    uint8_t *rgb;            /* the frame handed out: info.width x info.height RGB24 */
    uint8_t *tmp;            /* before rotation (rotation != 0 only) */
    int state;               /* ST_* */
    int bad_run;             /* refused packets since the last good frame */
    char *path;              /* for messages */
    media_limits lim;        /* the caller's limits (opts.lim), fixed at open */
    media_video_info info;   /* fixed at open */
    media_video_stats stats; /* counts so far */
};

/* ---- open ---- */

static int check_file(const char *path, vas_err *e)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return err_set(e, VAS_ENOTFOUND, "no such video file '%s'", path);
        return err_sys(e, VAS_EIO, errno, "cannot read video file '%s'", path);
    }
    if (S_ISDIR(st.st_mode))
        return err_set(e, VAS_EINVAL, "not a video: '%s' is a folder", path);
    if (st.st_size == 0)
        return err_set(e, VAS_EINVAL, "not a video: '%s' is empty", path);
    return VAS_OK;
}

/* avformat_open_input on path: "file:" so a path with a colon is never read as a protocol,
 * and a whitelist so nothing in the file (playlists, references) makes FFmpeg open anything
 * but local files. An AVERROR code on failure. */
static int open_fmt(const char *path, AVFormatContext **fmt)
{
    AVDictionary *opts = NULL;
    size_t n = strlen(path) + 6;
    char *url = malloc(n);
    int r;

    if (!url)
        return AVERROR(ENOMEM);
    snprintf(url, n, "file:%s", path);
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    r = avformat_open_input(fmt, url, NULL, &opts);
    av_dict_free(&opts);
    free(url);
    return r;
}

static int open_input(media_video *v, const char *path, vas_err *e)
{
    int r = open_fmt(path, &v->fmt);

    if (r == AVERROR(ENOMEM))
        return err_set(e, VAS_ENOMEM, "out of memory opening '%s'", path);
    if (r < 0)
        return err_set(e, VAS_EINVAL,
                       "not a video: FFmpeg could not read '%s' as a media file (%s)", path,
                       MEDIA_AVERR(r));
    r = avformat_find_stream_info(v->fmt, NULL);
    if (r < 0)
        return err_set(e, VAS_EINVAL,
                       "not a video: FFmpeg could not read the streams of '%s' (format: %s; %s)",
                       path, v->fmt->iformat->name, MEDIA_AVERR(r));
    return VAS_OK;
}

/* Packets of stream idx, read (not decoded) from a second opening of path; 0 if unreadable.
 * One packet is one frame in every container with timing worth the name. */
static int64_t count_packets(const char *path, int idx)
{
    AVFormatContext *fmt = NULL;
    AVPacket *pkt = av_packet_alloc();
    int64_t n = 0;

    if (pkt && open_fmt(path, &fmt) >= 0 && avformat_find_stream_info(fmt, NULL) >= 0) {
        while (av_read_frame(fmt, pkt) >= 0) {
            n += pkt->stream_index == idx && !(pkt->flags & AV_PKT_FLAG_DISCARD);
            av_packet_unref(pkt);
        }
    }
    avformat_close_input(&fmt);
    av_packet_free(&pkt);
    return n;
}

/* "audio pcm_s16le, subtitle subrip" into buf. */
static void list_streams(const AVFormatContext *fmt, char *buf, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < fmt->nb_streams && used < n; i++) {
        const AVCodecParameters *p = fmt->streams[i]->codecpar;
        const char *type = av_get_media_type_string(p->codec_type);
        int k = snprintf(buf + used, n - used, "%s%s %s%s", i ? ", " : "", type ? type : "data",
                         avcodec_get_name(p->codec_id),
                         fmt->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC
                             ? " (attached picture)"
                             : "");
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (fmt->nb_streams == 0)
        snprintf(buf, n, "no streams");
}

static int pick_stream(media_video *v, const char *path, vas_err *e)
{
    char streams[256];
    int best = -1;

    for (unsigned i = 0; i < v->fmt->nb_streams; i++) {
        const AVStream *st = v->fmt->streams[i];
        if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
            (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        if (best < 0)
            best = (int)i;
    }
    /* FFmpeg's choice among the candidates (most frames, a decoder present...). */
    if (best >= 0) {
        int r = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        if (r >= 0 && !(v->fmt->streams[r]->disposition & AV_DISPOSITION_ATTACHED_PIC))
            best = r;
        v->stream = best;
        return VAS_OK;
    }
    list_streams(v->fmt, streams, sizeof(streams));
    return err_set(e, VAS_EINVAL,
                   "not a video: FFmpeg found no video stream in '%s' (format: %s; streams: %s)",
                   path, v->fmt->iformat->name, streams);
}

static int open_decoder(media_video *v, const media_video_opts *o, const char *path, vas_err *e)
{
    const AVStream *st = v->fmt->streams[v->stream];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    int r;

    if (!codec)
        return err_set(e, VAS_EUNSUPPORTED, "FFmpeg has no decoder for the video codec %s of '%s'",
                       avcodec_get_name(st->codecpar->codec_id), path);
    v->dec = avcodec_alloc_context3(codec);
    if (!v->dec || avcodec_parameters_to_context(v->dec, st->codecpar) < 0)
        return err_set(e, VAS_ENOMEM, "out of memory opening the decoder of '%s'", path);
    v->dec->pkt_timebase = st->time_base;
    v->dec->thread_count = o ? o->threads : 0;
    v->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    /* A giant frame header fails before allocating. Not the caller's video_pixels: decoders
     * also ask for padded scratch buffers (192x280 for a 64x64 MPEG-4), so only the frame
     * size is held to it (check_pixels). */
    v->dec->max_pixels = MEDIA_MAX_PIXELS;
    r = avcodec_open2(v->dec, codec, NULL);
    if (r < 0)
        return err_set(e, VAS_EINVAL, "FFmpeg could not open the %s decoder for '%s' (%s)",
                       codec->name, path, MEDIA_AVERR(r));
    snprintf(v->info.codec, sizeof(v->info.codec), "%s", codec->name);
    snprintf(v->info.format, sizeof(v->info.format), "%s", v->fmt->iformat->name);
    return VAS_OK;
}

/* Clockwise degrees (0/90/180/270) to turn frames upright, from the display matrix. */
static int stream_rotation(const AVStream *st)
{
    const uint8_t *m;
    double theta;

#if LIBAVFORMAT_VERSION_MAJOR >= 61
    const AVPacketSideData *sd = av_packet_side_data_get(
        st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
    m = sd && sd->size >= 9 * sizeof(int32_t) ? sd->data : NULL;
#else
    size_t n = 0;
    m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &n);
    if (n < 9 * sizeof(int32_t))
        m = NULL;
#endif
    if (!m)
        return 0;
    /* The matrix holds the counter-clockwise angle; like ffmpeg's CLI, snap to 90 degrees. */
    theta = -av_display_rotation_get((const int32_t *)(const void *)m);
    if (!isfinite(theta))
        return 0;
    theta = fmod(theta, 360.0);
    if (theta < 0)
        theta += 360.0;
    return ((int)lround(theta / 90.0) % 4) * 90;
}

/* LIMIT_VIDEO_PIXELS on the stream's coded size, before the decoder or any frame buffer. */
static int check_pixels(const media_video *v, int w, int h, vas_err *e)
{
    int64_t lim = v->lim.video_pixels;

    if (lim > 0 && w > 0 && h > 0 && (int64_t)w * h > lim)
        return err_set(e, VAS_ETOOBIG,
                       "video '%s' has %dx%d frames (%lld pixels), over the limit of %lld pixels "
                       "(LIMIT_VIDEO_PIXELS in the config raises it)",
                       v->path, w, h, (long long)w * h, (long long)lim);
    return VAS_OK;
}

/* LIMIT_VIDEO_FRAMES on the frame count known at open (the container's, or duration x rate). */
static int check_frames(const media_video *v, vas_err *e)
{
    int64_t lim = v->lim.video_frames;

    if (lim > 0 && v->info.frames > lim)
        return err_set(e, VAS_ETOOBIG,
                       "video '%s' has about %lld frames, over the limit of %lld frames "
                       "(LIMIT_VIDEO_FRAMES in the config raises it)",
                       v->path, (long long)v->info.frames, (long long)lim);
    return VAS_OK;
}

/* fps, duration and the frame estimate. Without an average rate (variable-rate mkv, raw
 * streams) FFmpeg's other rate is the time base's, so the frames are counted instead. */
static void fill_timing(media_video *v, const AVStream *st, const char *path)
{
    AVRational r = st->avg_frame_rate;
    media_video_info *in = &v->info;

    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        in->duration = (double)st->duration * av_q2d(st->time_base);
    else if (v->fmt->duration != AV_NOPTS_VALUE && v->fmt->duration > 0)
        in->duration = (double)v->fmt->duration / AV_TIME_BASE;
    if (st->nb_frames > 0)
        in->frames = st->nb_frames;
    if (r.num > 0 && r.den > 0) {
        in->fps = av_q2d(r);
    } else {
        if (in->frames <= 0)
            in->frames = count_packets(path, v->stream);
        if (in->frames > 0 && in->duration > 0)
            in->fps = (double)in->frames / in->duration;
        else if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0)
            in->fps = av_q2d(st->r_frame_rate);
    }
    if (in->frames <= 0 && in->duration > 0 && in->fps > 0)
        in->frames = llround(in->duration * in->fps);
    v->tb = st->time_base;
    v->t0 = st->start_time;
    in->tb_num = st->time_base.num;
    in->tb_den = st->time_base.den;
    if (r.num > 0 && r.den > 0) {
        in->rate_num = r.num;
        in->rate_den = r.den;
    }
    in->start_pts = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
}

static int fill_info(media_video *v, const media_video_opts *o, const char *path, vas_err *e)
{
    const AVStream *st = v->fmt->streams[v->stream];
    media_video_info *in = &v->info;
    int w = st->codecpar->width, h = st->codecpar->height;
    size_t bytes;

    if (w <= 0 || h <= 0)
        return err_set(e, VAS_EINVAL, "not a video: the %s stream of '%s' has no frame size",
                       in->codec, path);
    if (!media_size_ok(w, h))
        return err_set(e, VAS_ETOOBIG, "video '%s' has %dx%d frames, over the %dx%d limit", path, w,
                       h, MEDIA_MAX_SIDE, MEDIA_MAX_SIDE);
    in->src_width = w;
    in->src_height = h;
    in->rotation = stream_rotation(st);
    in->width = in->rotation % 180 ? h : w;
    in->height = in->rotation % 180 ? w : h;
    if (o && (o->width || o->height)) {
        if (!media_size_ok(o->width, o->height))
            return err_set(e, VAS_EINVAL, "bad output size %dx%d for video frames", o->width,
                           o->height);
        in->width = o->width;
        in->height = o->height;
    }
    fill_timing(v, st, path);
    if (check_frames(v, e) < 0)
        return VAS_ETOOBIG;
    bytes = (size_t)in->width * in->height * 3;
    if (bytes == 0) /* both sides were checked above; this tells the analyzer */
        return err_set(e, VAS_EINVAL, "video '%s' has empty frames", path);
    v->rgb = malloc(bytes);
    v->tmp = in->rotation ? malloc(bytes) : NULL;
    if (!v->rgb || (in->rotation && !v->tmp))
        return err_set(e, VAS_ENOMEM, "out of memory for %dx%d frames of '%s'", in->width,
                       in->height, path);
    return VAS_OK;
}

int media_video_open(const char *path, const media_video_opts *opts, media_video **out, vas_err *e)
{
    media_video *v = calloc(1, sizeof(*v));
    int rc;

    if (!v || !(v->path = strdup(path))) {
        free(v);
        return err_set(e, VAS_ENOMEM, "out of memory opening '%s'", path);
    }
    if (opts)
        v->lim = opts->lim;
    v->pkt = av_packet_alloc();
    v->frame = av_frame_alloc();
    if (!v->pkt || !v->frame) {
        rc = err_set(e, VAS_ENOMEM, "out of memory opening '%s'", path);
        goto fail;
    }
    rc = check_file(path, e);
    if (rc < 0)
        goto fail;
    rc = open_input(v, path, e);
    if (rc < 0)
        goto fail;
    rc = pick_stream(v, path, e);
    if (rc < 0)
        goto fail;
    rc = check_pixels(v, v->fmt->streams[v->stream]->codecpar->width,
                      v->fmt->streams[v->stream]->codecpar->height, e);
    if (rc < 0)
        goto fail;
    rc = open_decoder(v, opts, path, e);
    if (rc < 0)
        goto fail;
    rc = fill_info(v, opts, path, e);
    if (rc < 0)
        goto fail;
    *out = v;
    return VAS_OK;
fail:
    media_video_close(v);
    return rc;
}

const media_video_info *media_video_info_get(const media_video *v)
{
    return &v->info;
}

void media_video_stats_get(const media_video *v, media_video_stats *out)
{
    *out = v->stats;
}

void media_video_close(media_video *v)
{
    if (!v)
        return;
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    av_packet_free(&v->pkt);
    av_frame_free(&v->frame);
    media_sws_free(&v->sws);
    free(v->rgb);
    free(v->tmp);
    free(v->path);
    free(v);
}

/* ---- decode ---- */

/* Counts a refused packet or frame; fails once damage goes on for MEDIA_MAX_BAD in a row. */
static int note_bad(media_video *v, int averr, vas_err *e)
{
    v->stats.bad_packets++;
    if (!v->stats.note[0])
        snprintf(v->stats.note, sizeof(v->stats.note),
                 "video '%s' is damaged: FFmpeg could not decode a packet after frame %lld (%s)",
                 v->path, (long long)v->stats.frames, MEDIA_AVERR(averr));
    if (++v->bad_run >= MEDIA_MAX_BAD)
        return err_set(e, VAS_EINVAL,
                       "video '%s' is damaged: %d packets in a row could not be decoded after "
                       "frame %lld (%s)",
                       v->path, v->bad_run, (long long)v->stats.frames, MEDIA_AVERR(averr));
    return VAS_OK;
}

/* Demuxer error or end: flush the decoder. */
static void start_draining(media_video *v, int averr)
{
    if (averr != AVERROR_EOF || (v->fmt->pb && v->fmt->pb->error < 0)) {
        v->stats.cut_short = 1;
        if (!v->stats.note[0])
            snprintf(v->stats.note, sizeof(v->stats.note),
                     "video '%s' ends early: FFmpeg stopped reading it after frame %lld (%s)",
                     v->path, (long long)v->stats.frames,
                     MEDIA_AVERR(averr != AVERROR_EOF ? averr : v->fmt->pb->error));
    }
    (void)avcodec_send_packet(v->dec, NULL); /* enters draining; cannot fail usefully */
    v->state = ST_DRAINING;
}

/* Gives the decoder one packet of our stream (or starts draining). */
static int feed(media_video *v, vas_err *e)
{
    int r;

    if (v->state == ST_DRAINING) { /* the decoder wants input while draining: nothing left */
        v->state = ST_DONE;
        return VAS_OK;
    }
    r = av_read_frame(v->fmt, v->pkt);
    if (r == AVERROR(ENOMEM))
        return err_set(e, VAS_ENOMEM, "out of memory reading '%s'", v->path);
    if (r < 0) {
        start_draining(v, r);
        return VAS_OK;
    }
    if (v->pkt->stream_index != v->stream) {
        av_packet_unref(v->pkt);
        return VAS_OK;
    }
    r = avcodec_send_packet(v->dec, v->pkt);
    av_packet_unref(v->pkt);
    if (r == AVERROR(ENOMEM))
        return err_set(e, VAS_ENOMEM, "out of memory decoding '%s'", v->path);
    return r < 0 ? note_bad(v, r, e) : VAS_OK;
}

/* The frame's raw timestamp in *pts and its time from the stream's start. A frame without one
 * (raw streams) gets the previous frame's plus one frame at the average rate. */
static double frame_time(media_video *v, const AVFrame *fr, int64_t *pts)
{
    int64_t ts = fr->best_effort_timestamp;

    if (ts == AV_NOPTS_VALUE) {
        double step = v->info.fps > 0 ? 1 / (v->info.fps * av_q2d(v->tb)) : 1;
        int64_t base = v->t0 == AV_NOPTS_VALUE ? 0 : v->t0;
        *pts = v->stats.frames ? v->last_pts + (int64_t)fmax(1, llround(step)) : base;
        v->last_pts = *pts;
        return v->info.fps > 0 ? (double)v->stats.frames / v->info.fps : 0;
    }
    if (v->t0 == AV_NOPTS_VALUE)
        v->t0 = ts;
    *pts = v->last_pts = ts;
    return (double)(ts - v->t0) * av_q2d(v->tb);
}

/* Checks the decoded frame and describes it in *f (no pixels yet). 1, or < 0. */
static int deliver(media_video *v, media_frame *f, vas_err *e)
{
    const AVFrame *fr = v->frame;
    const media_video_info *in = &v->info;

    if (!media_size_ok(fr->width, fr->height))
        return err_set(e, VAS_ETOOBIG, "video '%s' has a %dx%d frame, over the %dx%d limit",
                       v->path, fr->width, fr->height, MEDIA_MAX_SIDE, MEDIA_MAX_SIDE);
    if (check_pixels(v, fr->width, fr->height, e) < 0)
        return VAS_ETOOBIG;
    if (v->lim.video_frames > 0 && v->stats.frames >= v->lim.video_frames) /* the backstop */
        return err_set(e, VAS_ETOOBIG,
                       "video '%s' has more than %lld frames, over the limit "
                       "(LIMIT_VIDEO_FRAMES in the config raises it)",
                       v->path, (long long)v->lim.video_frames);
    f->rgb = NULL;
    f->width = in->width;
    f->height = in->height;
    f->t = frame_time(v, fr, &f->pts);
    f->index = v->stats.frames++;
    v->bad_run = 0;
    return 1;
}

int media_video_rgb(media_video *v, media_frame *f, vas_err *e)
{
    const media_video_info *in = &v->info;
    int rot = in->rotation, tw = rot % 180 ? in->height : in->width;
    int th = rot % 180 ? in->width : in->height;
    int rc = media_sws_rgb(&v->sws, v->frame, tw, th, rot ? v->tmp : v->rgb, e);

    if (rc < 0)
        return rc;
    if (rot)
        media_rotate_rgb(v->tmp, tw, th, rot, v->rgb);
    f->rgb = v->rgb;
    return VAS_OK;
}

/* At the end: 0, unless not one frame came out of the file. */
static int finish(media_video *v, vas_err *e)
{
    if (v->stats.frames > 0)
        return 0;
    return err_set(e, VAS_EINVAL, "not a video: no frame of '%s' (%s %s) could be decoded%s%s",
                   v->path, v->info.format, v->info.codec, v->stats.note[0] ? ": " : "",
                   v->stats.note);
}

/* The decoded frame stays in v->frame until the next call: avcodec_receive_frame and
 * media_video_close unreference it. */
int media_video_next_raw(media_video *v, media_frame *f, const AVFrame **raw, vas_err *e)
{
    av_frame_unref(v->frame);
    for (;;) {
        int r, rc;

        if (v->state == ST_DONE)
            return finish(v, e);
        r = avcodec_receive_frame(v->dec, v->frame);
        if (r == 0) {
            *raw = v->frame;
            return deliver(v, f, e);
        }
        if (r == AVERROR_EOF) {
            v->state = ST_DONE;
            continue;
        }
        if (r == AVERROR(ENOMEM))
            return err_set(e, VAS_ENOMEM, "out of memory decoding '%s'", v->path);
        rc = r == AVERROR(EAGAIN) ? feed(v, e) : note_bad(v, r, e);
        if (rc < 0)
            return rc;
    }
}

int media_video_next(media_video *v, media_frame *f, vas_err *e)
{
    const AVFrame *raw = NULL;
    int rc = media_video_next_raw(v, f, &raw, e);

    if (rc == 1) {
        int r = media_video_rgb(v, f, e);
        rc = r < 0 ? r : 1;
    }
    return rc;
}

/* ---- FFmpeg's messages ---- */

static void ffmpeg_log(void *avcl, int level, const char *fmt, va_list vl)
{
    char line[512];
    int prefix = 1;
    size_t n;

    if (level > AV_LOG_WARNING || !log_enabled(LOG_DEBUG))
        return;
    if (av_log_format_line2(avcl, level, fmt, vl, line, (int)sizeof(line), &prefix) < 0)
        return;
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    for (char *c = line; *c; c++)
        if (*c == '"')
            *c = '\'';
    if (n > 0)
        log_debug("media", "event=ffmpeg level=%d msg=\"%s\"", level, line);
}

void media_log_setup(void)
{
    av_log_set_callback(ffmpeg_log);
}
