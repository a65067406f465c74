/* media_pipe.c - the decoder thread and its ring of batches (see media_pipe.h, DESIGN).
 *
 * Invariants, under p->mu:
 *   1. The decoder fills slots in ring order, starting at head; the consumer takes them in the
 *      same order from tail. So READY slots always run from tail to just before head.
 *   2. Only the decoder moves a slot FREE -> FILLING -> READY; only the consumer moves it
 *      READY -> TAKEN -> FREE. A FILLING slot's memory is the decoder's alone, without the lock.
 *   3. done is set once, by the decoder, after its last publish; rc/err/stats are final then. */
#include "media/media_pipe.h"
#include "media/media_int.h"
#include "media/media_video.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_TAKEN };

typedef struct pipe_slot {
    uint8_t *data;  /* batch frames back to back, 64-byte aligned */
    uint8_t *rgb;   /* o.keep_rgb: the batch's pictures, RGB24 back to back; else NULL */
    int64_t *index; /* batch frame indices */
    double *t;      /* batch presentation times */
    int64_t *pts;   /* batch raw timestamps (media_frame.pts) */
    int n;          /* frames filled */
    int state;      /* SLOT_* */
} pipe_slot;

struct media_pipe {
    media_video *v;          /* the decoder thread's alone once it runs */
    media_video_info info;   /* fixed at start */
    media_pipe_opts o;       /* copy; o.norm is NULL, the copy is norm */
    media_norm norm;         /* CHW_F32 normalisation */
    media_yuv yuv;           /* CHW_F32 straight from YUV (the decoder thread's) */
    int direct;              /* 1: try media_yuv_chw before the RGB24 path */
    size_t frame_bytes;      /* one frame slot */
    size_t rgb_bytes;        /* one kept picture (o.keep_rgb), else 0 */
    int sw, sh;              /* a slot's plane size: the picture's, padded to o.pad_to */
    pipe_slot *slots;        /* o.depth of them */
    pthread_t thread;        /* the decoder */
    int started;             /* thread runs and must be joined */
    atomic_bool stop;        /* media_pipe_stop was called */
    pthread_mutex_t mu;      /* guards the fields below and every slot's n and state */
    pthread_cond_t cv_free;  /* a slot became FREE, or stop */
    pthread_cond_t cv_done;  /* a slot became READY, or the decoder ended */
    int head, tail;          /* next slot to fill / to take */
    int done;                /* the decoder has ended (invariant 3) */
    int rc;                  /* its result: 0 end of video, or VAS_E* */
    vas_err err;             /* its message when rc < 0 */
    media_video_stats stats; /* as of its last publish */
};

/* ---- decoder thread ---- */

static int cancelled(const media_pipe *p)
{
    return atomic_load(&p->stop) || (p->o.cancel && atomic_load(p->o.cancel));
}

/* Waits until slot head is FREE and marks it FILLING; NULL when stopped. */
static pipe_slot *wait_free_slot(media_pipe *p)
{
    pipe_slot *s = &p->slots[p->head];

    pthread_mutex_lock(&p->mu);
    while (s->state != SLOT_FREE && !cancelled(p))
        pthread_cond_wait(&p->cv_free, &p->mu);
    if (cancelled(p))
        s = NULL;
    else
        s->state = SLOT_FILLING;
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* Writes frame fr (decoded as raw) at the next place in s: straight from YUV when it can,
 * else through RGB24. The padding of a slot is zeroed once at start and never written: every
 * picture of the pipe has the same size. */
static int put_frame(media_pipe *p, pipe_slot *s, media_frame *fr, const AVFrame *raw, vas_err *e)
{
    uint8_t *dst = s->data + (size_t)s->n * p->frame_bytes;
    float *chw = (float *)(void *)dst;
    size_t row = (size_t)fr->width * 3;
    int rc = 0;

    if (p->direct && raw->width == fr->width && raw->height == fr->height)
        rc = media_yuv_chw(&p->yuv, raw, chw, p->sw, p->sh, e);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        rc = media_video_rgb(p->v, fr, e);
        if (rc < 0)
            return rc;
    }
    if (p->rgb_bytes)
        memcpy(s->rgb + (size_t)s->n * p->rgb_bytes, fr->rgb, p->rgb_bytes);
    if (p->o.layout == MEDIA_LAYOUT_CHW_F32) {
        if (fr->rgb) /* else media_yuv_chw wrote the planes */
            media_rgb_to_chw_padded(&p->norm, fr->rgb, fr->width, fr->height, row, chw, p->sw,
                                    p->sh);
        if (p->o.pad_reflect)
            media_chw_pad_reflect(chw, fr->width, fr->height, p->sw, p->sh);
    } else if (p->sw == fr->width)
        memcpy(dst, fr->rgb, row * (size_t)fr->height);
    else
        for (int y = 0; y < fr->height; y++)
            memcpy(dst + (size_t)y * p->sw * 3, fr->rgb + (size_t)y * row, row);
    s->index[s->n] = fr->index;
    s->t[s->n] = fr->t;
    s->pts[s->n] = fr->pts;
    s->n++;
    return VAS_OK;
}

/* Decodes up to a batch into s (no lock: the slot is FILLING). 1 full, 0 end of video, < 0. */
static int fill_slot(media_pipe *p, pipe_slot *s, vas_err *e)
{
    media_frame fr;
    const AVFrame *raw = NULL;

    s->n = 0;
    while (s->n < p->o.batch) {
        int rc;
        if (cancelled(p))
            return err_set(e, VAS_ECANCELLED, "decoding was stopped");
        rc = media_video_next_raw(p->v, &fr, &raw, e);
        if (rc <= 0)
            return rc;
        rc = put_frame(p, s, &fr, raw, e);
        if (rc < 0)
            return rc;
    }
    return 1;
}

/* Hands s to the consumer (or back to FREE when empty); with last, ends the stream. */
static void publish(media_pipe *p, pipe_slot *s, int last, int rc, const vas_err *e)
{
    pthread_mutex_lock(&p->mu);
    media_video_stats_get(p->v, &p->stats);
    if (s && s->n > 0) {
        s->state = SLOT_READY;
        p->head = (p->head + 1) % p->o.depth;
    } else if (s) {
        s->state = SLOT_FREE;
    }
    if (last) {
        p->rc = rc;
        if (rc < 0)
            p->err = *e;
        p->done = 1;
    }
    pthread_cond_broadcast(&p->cv_done);
    pthread_mutex_unlock(&p->mu);
}

static void *decode_main(void *arg)
{
    media_pipe *p = arg;
    vas_err e = {0};

    for (;;) {
        pipe_slot *s = wait_free_slot(p);
        int rc;

        if (!s) {
            rc = err_set(&e, VAS_ECANCELLED, "decoding was stopped");
            publish(p, NULL, 1, rc, &e);
            break;
        }
        rc = fill_slot(p, s, &e);
        publish(p, s, rc <= 0, rc, &e);
        if (rc <= 0)
            break;
    }
    return NULL;
}

/* ---- start ---- */

static int check_opts(const media_pipe_opts *o, vas_err *e)
{
    if (o->batch < 1 || o->batch > 1024 || o->depth < 2 || o->depth > 64 || o->pad_to < 0 ||
        o->pad_to > 1024)
        return err_set(e, VAS_EINVAL, "bad decoding ring: %d batches of %d frames, padded to %d",
                       o->depth, o->batch, o->pad_to);
    if (o->layout != MEDIA_LAYOUT_RGB24 && o->layout != MEDIA_LAYOUT_CHW_F32)
        return err_set(e, VAS_EINVAL, "unknown frame layout %d", (int)o->layout);
    if (o->layout == MEDIA_LAYOUT_CHW_F32 && !o->norm)
        return err_set(e, VAS_EINVAL, "float frames need a normalisation");
    if (o->keep_rgb && o->layout != MEDIA_LAYOUT_CHW_F32)
        return err_set(e, VAS_EINVAL, "keeping RGB pictures needs float frames (RGB slots are)");
    return VAS_OK;
}

/* Allocates slot s: batch_bytes of frames (zeroed), o.batch pictures when kept, the times. */
static int alloc_slot(media_pipe *p, pipe_slot *s, size_t batch_bytes)
{
    void *d = NULL;

    if (posix_memalign(&d, 64, batch_bytes) != 0)
        d = NULL;
    else
        memset(d, 0, batch_bytes); /* the padding, and 0.0f is all zero bytes */
    s->data = d;
    s->index = calloc((size_t)p->o.batch, sizeof(*s->index));
    s->t = calloc((size_t)p->o.batch, sizeof(*s->t));
    s->pts = calloc((size_t)p->o.batch, sizeof(*s->pts));
    s->rgb = p->rgb_bytes ? malloc(p->rgb_bytes * (size_t)p->o.batch) : NULL;
    return s->data && s->index && s->t && s->pts && (s->rgb || !p->rgb_bytes) ? VAS_OK : VAS_ENOMEM;
}

static int alloc_ring(media_pipe *p, vas_err *e)
{
    const media_video_info *in = &p->info;
    int pad = p->o.pad_to > 1 ? p->o.pad_to : 1;
    size_t px, fb, batch_bytes, slot_bytes;

    p->sw = (in->width + pad - 1) / pad * pad;
    p->sh = (in->height + pad - 1) / pad * pad;
    px = (size_t)p->sw * p->sh * 3;
    fb = p->o.layout == MEDIA_LAYOUT_CHW_F32 ? px * sizeof(float) : px;
    batch_bytes = (fb * (size_t)p->o.batch + 63) / 64 * 64;
    p->frame_bytes = fb;
    p->rgb_bytes = p->o.keep_rgb ? (size_t)in->width * in->height * 3 : 0;
    slot_bytes = batch_bytes + p->rgb_bytes * (size_t)p->o.batch;
    if (slot_bytes > MEDIA_PIPE_MAX_BYTES / (size_t)p->o.depth)
        return err_set(e, VAS_ETOOBIG,
                       "decoding ring of %d x %d frames of %dx%d%s is over the %zu MiB limit",
                       p->o.depth, p->o.batch, in->width, in->height,
                       p->rgb_bytes ? " with their pictures" : "", MEDIA_PIPE_MAX_BYTES >> 20);
    p->slots = calloc((size_t)p->o.depth, sizeof(*p->slots));
    if (!p->slots)
        return err_set(e, VAS_ENOMEM, "out of memory for the decoding ring");
    for (int i = 0; i < p->o.depth; i++)
        if (alloc_slot(p, &p->slots[i], batch_bytes) < 0)
            return err_set(e, VAS_ENOMEM, "out of memory for the decoding ring (%zu MiB)",
                           slot_bytes * (size_t)p->o.depth >> 20);
    return VAS_OK;
}

/* Starts the decoder with every signal blocked, so signals go to the process's own threads. */
static int start_thread(media_pipe *p, vas_err *e)
{
    sigset_t all, old;
    int r;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&p->thread, NULL, decode_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        return err_sys(e, VAS_EIO, r, "cannot start the decoder thread");
    (void)pthread_setname_np(p->thread, "vas-decode"); /* for top and gdb only */
    p->started = 1;
    return VAS_OK;
}

static media_pipe *pipe_new(const media_pipe_opts *opts)
{
    media_pipe *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->o = *opts;
    p->o.norm = NULL;
    if (opts->norm) {
        p->norm = *opts->norm;
        media_yuv_init(&p->yuv, opts->norm);
    }
    atomic_init(&p->stop, false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_free, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    return p;
}

int media_pipe_start(const char *path, const media_pipe_opts *opts, media_pipe **out, vas_err *e)
{
    media_video_opts vo = {
        .width = opts->width, .height = opts->height, .threads = opts->threads, .lim = opts->lim};
    media_pipe *p = NULL;
    int rc = check_opts(opts, e);

    if (rc < 0)
        return rc;
    p = pipe_new(opts);
    if (!p)
        return err_set(e, VAS_ENOMEM, "out of memory starting to decode '%s'", path);
    rc = media_video_open(path, &vo, &p->v, e);
    if (rc < 0)
        goto fail;
    p->info = *media_video_info_get(p->v);
    /* With kept pictures swscale runs anyway, and the table on them is as cheap; turned or
     * scaled frames need swscale too. The two paths give the same planes (media_yuv.c). */
    p->direct = opts->layout == MEDIA_LAYOUT_CHW_F32 && !opts->keep_rgb && !p->info.rotation &&
                p->info.width == p->info.src_width && p->info.height == p->info.src_height;
    rc = alloc_ring(p, e);
    if (rc < 0)
        goto fail;
    rc = start_thread(p, e);
    if (rc < 0)
        goto fail;
    *out = p;
    return VAS_OK;
fail:
    media_pipe_free(p);
    return rc;
}

/* ---- consumer ---- */

const media_video_info *media_pipe_info(const media_pipe *p)
{
    return &p->info;
}

static void fill_batch(media_pipe *p, media_batch *b)
{
    pipe_slot *s = &p->slots[p->tail];

    s->state = SLOT_TAKEN;
    b->data = s->data;
    b->n = s->n;
    b->frame_bytes = p->frame_bytes;
    b->width = p->sw;
    b->height = p->sh;
    b->index = s->index;
    b->t = s->t;
    b->pts = s->pts;
    b->rgb = s->rgb;
    b->rgb_bytes = p->rgb_bytes;
    b->slot = p->tail;
    p->tail = (p->tail + 1) % p->o.depth;
}

int media_pipe_take(media_pipe *p, media_batch *b, vas_err *e)
{
    int rc;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        const pipe_slot *s = &p->slots[p->tail];
        if (cancelled(p)) {
            rc = err_set(e, VAS_ECANCELLED, "decoding was stopped");
            break;
        }
        if (s->state == SLOT_READY) {
            fill_batch(p, b);
            rc = 1;
            break;
        }
        if (s->state == SLOT_TAKEN) {
            rc = err_set(e, VAS_EINVAL, "decoding ring: batch slot %d is still held", p->tail);
            break;
        }
        if (p->done) {
            rc = p->rc;
            if (rc < 0 && e)
                *e = p->err;
            break;
        }
        pthread_cond_wait(&p->cv_done, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void media_pipe_release(media_pipe *p, const media_batch *b)
{
    if (b->slot < 0 || b->slot >= p->o.depth)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->slots[b->slot].state == SLOT_TAKEN) {
        p->slots[b->slot].state = SLOT_FREE;
        pthread_cond_broadcast(&p->cv_free);
    }
    pthread_mutex_unlock(&p->mu);
}

void media_pipe_stats(media_pipe *p, media_video_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

void media_pipe_stop(media_pipe *p)
{
    atomic_store(&p->stop, true);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv_free);
    pthread_cond_broadcast(&p->cv_done);
    pthread_mutex_unlock(&p->mu);
}

void media_pipe_free(media_pipe *p)
{
    if (!p)
        return;
    if (p->started) {
        media_pipe_stop(p);
        pthread_join(p->thread, NULL);
    }
    media_video_close(p->v);
    media_yuv_free(&p->yuv);
    for (int i = 0; p->slots && i < p->o.depth; i++) {
        free(p->slots[i].data);
        free(p->slots[i].index);
        free(p->slots[i].t);
        free(p->slots[i].pts);
        free(p->slots[i].rgb);
    }
    free(p->slots);
    pthread_cond_destroy(&p->cv_free);
    pthread_cond_destroy(&p->cv_done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
