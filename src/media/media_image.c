/* media_image.c - decode one still image from memory with FFmpeg's image demuxers and
 * decoders (see media_image.h). The bytes reach libavformat through a read-only custom
 * AVIOContext over the caller's buffer, so files, archive entries and uploads share one path. */
#include "media/media_image.h"
#include "media/media_int.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define IO_BUF 65536

/* A read-only stream over the caller's bytes. */
typedef struct mem_in {
    const uint8_t *p;
    size_t n, pos;
} mem_in;

/* One decode: the demuxer over mem_in, the decoder, the frame. */
typedef struct img_dec {
    mem_in in;
    AVIOContext *io;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    const char *name; /* for messages */
    int64_t max_px;   /* the pixel limit in force (LIMIT_IMAGE_PIXELS, at most MEDIA_MAX_PIXELS) */
    int big_w, big_h; /* the size get_buffer refused for max_px, or 0 */
} img_dec;

static int mem_read(void *opaque, uint8_t *buf, int size)
{
    mem_in *m = opaque;
    size_t k = m->n - m->pos;

    if (k == 0)
        return AVERROR_EOF;
    if (k > (size_t)size)
        k = (size_t)size;
    memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return (int)k;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence)
{
    mem_in *m = opaque;
    int64_t base;

    if (whence == AVSEEK_SIZE)
        return (int64_t)m->n;
    whence &= ~AVSEEK_FORCE;
    base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)m->pos : (int64_t)m->n;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
        return AVERROR(EINVAL);
    if (off < -base || base + off > (int64_t)m->n)
        return AVERROR(EINVAL);
    m->pos = (size_t)(base + off);
    return (int64_t)m->pos;
}

/* The refusal of an image over d->max_px, naming the key that sets it. */
static int too_big(const img_dec *d, int64_t w, int64_t h, vas_err *e)
{
    return err_set(e, VAS_ETOOBIG,
                   "image '%s' is %lldx%lld (%.0f pixels), over the limit of %lld pixels "
                   "(LIMIT_IMAGE_PIXELS in the config sets it, up to %lld)",
                   d->name, (long long)w, (long long)h, (double)w * (double)h, (long long)d->max_px,
                   (long long)MEDIA_MAX_PIXELS);
}

/* The decoder asks for its picture buffer once it knows the size: the last point before the
 * pixels are allocated, for the formats media_image_header_size does not read. */
static int checked_get_buffer(AVCodecContext *c, AVFrame *f, int flags)
{
    img_dec *d = c->opaque;

    /* The picture's size, not the frame's (coded sizes are rounded up to whole blocks). */
    if ((int64_t)c->width * c->height > d->max_px) {
        d->big_w = c->width;
        d->big_h = c->height;
        return AVERROR(ERANGE);
    }
    return avcodec_default_get_buffer2(c, f, flags);
}

static void dec_close(img_dec *d)
{
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
    if (d->io) {
        av_freep(&d->io->buffer);
        avio_context_free(&d->io);
    }
    av_packet_free(&d->pkt);
    av_frame_free(&d->frame);
}

/* 1 if FFmpeg's demuxer is one of its single-image readers. */
static int image_format(const char *fmt)
{
    size_t n = strlen(fmt);

    return (n > 5 && strcmp(fmt + n - 5, "_pipe") == 0) || strcmp(fmt, "image2") == 0;
}

static int dec_open_input(img_dec *d, vas_err *e)
{
    uint8_t *buf = av_malloc(IO_BUF);
    int r;

    d->fmt = avformat_alloc_context();
    d->io = buf ? avio_alloc_context(buf, IO_BUF, 0, &d->in, mem_read, NULL, mem_seek) : NULL;
    if (!d->io)
        av_free(buf);
    if (!d->fmt || !d->io)
        return err_set(e, VAS_ENOMEM, "out of memory decoding '%s'", d->name);
    d->fmt->pb = d->io;
    d->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    r = avformat_open_input(&d->fmt, "", NULL, NULL); /* frees fmt on failure, not io */
    if (r < 0)
        return err_set(e, VAS_EINVAL, "not an image: FFmpeg does not recognise '%s' (%s)", d->name,
                       MEDIA_AVERR(r));
    if (!image_format(d->fmt->iformat->name) || d->fmt->nb_streams < 1 ||
        d->fmt->streams[0]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
        return err_set(e, VAS_EINVAL, "not an image: FFmpeg found a %s file in '%s'",
                       d->fmt->iformat->name, d->name);
    return VAS_OK;
}

static int dec_open_codec(img_dec *d, vas_err *e)
{
    const AVCodecParameters *par = d->fmt->streams[0]->codecpar;
    const AVCodec *c = avcodec_find_decoder(par->codec_id);
    int r;

    if (!c)
        return err_set(e, VAS_EUNSUPPORTED, "FFmpeg has no decoder for the %s image '%s'",
                       avcodec_get_name(par->codec_id), d->name);
    d->dec = avcodec_alloc_context3(c);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->dec || !d->pkt || !d->frame || avcodec_parameters_to_context(d->dec, par) < 0)
        return err_set(e, VAS_ENOMEM, "out of memory decoding '%s'", d->name);
    d->dec->thread_count = 1;
    d->dec->max_pixels = MEDIA_MAX_PIXELS; /* refuse giant headers before allocating */
    d->dec->opaque = d;
    d->dec->get_buffer2 = checked_get_buffer;
    r = avcodec_open2(d->dec, c, NULL);
    if (r < 0)
        return err_set(e, VAS_EINVAL,
                       "not an image: FFmpeg could not open the %s decoder for '%s' (%s)", c->name,
                       d->name, MEDIA_AVERR(r));
    return VAS_OK;
}

/* Feeds packets until the decoder gives its first frame. An AVERROR code on failure. */
static int dec_first_frame(img_dec *d)
{
    int r, last = AVERROR_INVALIDDATA, flushed = 0;

    for (;;) {
        r = avcodec_receive_frame(d->dec, d->frame);
        if (r == 0 || r == AVERROR_EOF)
            return r == 0 ? 0 : last;
        if (r != AVERROR(EAGAIN))
            return r;
        if (flushed)
            return last;
        r = av_read_frame(d->fmt, d->pkt);
        if (r < 0) {
            if (r != AVERROR_EOF)
                last = r;
            flushed = 1;
            (void)avcodec_send_packet(d->dec, NULL);
            continue;
        }
        if (d->pkt->stream_index == 0 && (r = avcodec_send_packet(d->dec, d->pkt)) < 0)
            last = r;
        av_packet_unref(d->pkt);
    }
}

/* EXIF orientation (FFmpeg's decoders put the tag in the frame's metadata): the picture turned
 * and mirrored upright, as OpenCV's imread, and so DeepLabCut, reads it. */
static int orient(const AVFrame *f, media_image *im, const char *name, vas_err *e)
{
    const AVDictionaryEntry *t = av_dict_get(f->metadata, "Orientation", NULL, 0);
    long o = t ? strtol(t->value, NULL, 10) : 1;
    uint8_t *up;

    if (o < 2 || o > 8)
        return VAS_OK;
    up = malloc((size_t)im->width * im->height * 3);
    if (!up)
        return err_set(e, VAS_ENOMEM, "out of memory turning the image '%s' upright", name);
    media_orient_rgb(im->rgb, im->width, im->height, (int)o, up);
    free(im->rgb);
    im->rgb = up;
    if (o >= 5) {
        int w = im->width;
        im->width = im->height;
        im->height = w;
    }
    return VAS_OK;
}

static int dec_to_rgb(img_dec *d, media_image *out, vas_err *e)
{
    const AVFrame *f = d->frame;
    media_sws sws = {0};
    media_image im = {0};
    int rc;

    if (!media_size_ok(f->width, f->height))
        return err_set(e, VAS_ETOOBIG, "image '%s' is %dx%d, over the %dx%d limit", d->name,
                       f->width, f->height, MEDIA_MAX_SIDE, MEDIA_MAX_SIDE);
    if ((int64_t)f->width * f->height > d->max_px)
        return too_big(d, f->width, f->height, e);
    im.rgb = malloc((size_t)f->width * f->height * 3);
    if (!im.rgb)
        return err_set(e, VAS_ENOMEM, "out of memory for the %dx%d image '%s'", f->width, f->height,
                       d->name);
    rc = media_sws_rgb(&sws, f, f->width, f->height, im.rgb, e);
    media_sws_free(&sws);
    if (rc < 0) {
        free(im.rgb);
        return rc;
    }
    im.width = f->width;
    im.height = f->height;
    snprintf(im.codec, sizeof(im.codec), "%s", d->dec->codec->name);
    rc = orient(f, &im, d->name, e);
    if (rc < 0) {
        free(im.rgb);
        return rc;
    }
    *out = im;
    return VAS_OK;
}

int media_image_decode_lim(const void *buf, size_t n, const char *name, const media_limits *lim,
                           media_image *out, vas_err *e)
{
    img_dec d = {.in = {buf, n, 0}, .name = name, .max_px = MEDIA_MAX_PIXELS};
    int64_t hw, hh;
    int rc, r;

    if (n == 0)
        return err_set(e, VAS_EINVAL, "not an image: '%s' is empty", name);
    if (lim && lim->image_pixels > 0 && lim->image_pixels < d.max_px)
        d.max_px = lim->image_pixels;
    if (media_image_header_size(buf, n, &hw, &hh) && (double)hw * (double)hh > (double)d.max_px)
        return too_big(&d, hw, hh, e);
    rc = dec_open_input(&d, e);
    if (rc < 0)
        goto out;
    rc = dec_open_codec(&d, e);
    if (rc < 0)
        goto out;
    r = dec_first_frame(&d);
    if (r < 0 && d.big_w > 0) {
        rc = too_big(&d, d.big_w, d.big_h, e);
        goto out;
    }
    if (r < 0) {
        rc = err_set(e, r == AVERROR(ENOMEM) ? VAS_ENOMEM : VAS_EINVAL,
                     "not an image: FFmpeg could not decode '%s' as %s (%s)", name,
                     d.dec->codec->name, MEDIA_AVERR(r));
        goto out;
    }
    rc = dec_to_rgb(&d, out, e);
out:
    dec_close(&d);
    return rc;
}

/* Whole file into a new buffer (caller frees), at most MEDIA_IMAGE_MAX_BYTES. */
static int read_file(const char *path, uint8_t **out, size_t *n, vas_err *e)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;

    if (!f)
        return errno == ENOENT || errno == ENOTDIR
                   ? err_set(e, VAS_ENOTFOUND, "no such image file '%s'", path)
                   : err_sys(e, VAS_EIO, errno, "cannot read image file '%s'", path);
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return err_set(e, VAS_EINVAL, "not an image: '%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > MEDIA_IMAGE_MAX_BYTES) {
        fclose(f);
        return err_set(e, VAS_ETOOBIG, "image file '%s' is over %zu MiB", path,
                       MEDIA_IMAGE_MAX_BYTES >> 20);
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        int rc = buf ? err_sys(e, VAS_EIO, errno, "cannot read image file '%s'", path)
                     : err_set(e, VAS_ENOMEM, "out of memory reading '%s'", path);
        free(buf);
        fclose(f);
        return rc;
    }
    fclose(f);
    *out = buf;
    *n = (size_t)st.st_size;
    return VAS_OK;
}

int media_image_decode(const void *buf, size_t n, const char *name, media_image *out, vas_err *e)
{
    return media_image_decode_lim(buf, n, name, NULL, out, e);
}

int media_image_load_lim(const char *path, const media_limits *lim, media_image *out, vas_err *e)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = read_file(path, &buf, &n, e);

    if (rc < 0)
        return rc;
    rc = media_image_decode_lim(buf, n, path, lim, out, e);
    free(buf);
    return rc;
}

int media_image_load(const char *path, media_image *out, vas_err *e)
{
    return media_image_load_lim(path, NULL, out, e);
}

void media_image_clear(media_image *im)
{
    if (!im)
        return;
    free(im->rgb);
    memset(im, 0, sizeof(*im));
}

int media_image_name_ok(const char *name)
{
    static const char *const ext[] = {"png",  "jpg",  "jpeg", "jpe", "bmp", "dib", "tif",
                                      "tiff", "webp", "gif",  "ppm", "pgm", "pbm"};
    const char *dot = strrchr(name, '.');

    if (!dot || strchr(dot, '/'))
        return 0;
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
        if (strcasecmp(dot + 1, ext[i]) == 0)
            return 1;
    return 0;
}
