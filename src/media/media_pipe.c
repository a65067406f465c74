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
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_TAKEN };

typedef struct pipe_conv { /* a converter: the decoder thread's, or one per OpenMP thread */
    media_yuv yuv;         /* straight from YUV (float slots) */
    media_sws sws;         /* else through RGB24 */
    uint8_t *rgb;          /* a picture, for slots that do not keep it; NULL until needed */
} pipe_conv;

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
    pipe_conv *convs;        /* the decoder thread's, or (o.inline_decode) one per thread of
                                the conversion tasks */
    int n_conv;              /* how many: 1, or the OpenMP threads at start */
    int direct;              /* 1: try media_yuv_chw before the RGB24 path */
    size_t frame_bytes;      /* one frame slot */
    size_t rgb_bytes;        /* one kept picture (o.keep_rgb), else 0 */
    int sw, sh;              /* a slot's plane size: the picture's, padded to o.pad_to */
    pipe_slot *slots;        /* o.depth of them */
    pthread_t thread;        /* the decoder */
    int started;             /* thread runs and must be joined (not with o.inline_decode) */
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

/* Counts frame fr in s, at the next place. */
static void note_frame(pipe_slot *s, const media_frame *fr)
{
    s->index[s->n] = fr->index;
    s->t[s->n] = fr->t;
    s->pts[s->n] = fr->pts;
    s->n++;
}

/* Lays the picture rgb (packed RGB24 of the pipe's picture size) at place k of s: kept when
 * asked (unless rgb is that copy), and as planes or as padded RGB24 rows. */
static void place_rgb(media_pipe *p, pipe_slot *s, int k, const uint8_t *rgb)
{
    int w = p->info.width, h = p->info.height;
    uint8_t *dst = s->data + (size_t)k * p->frame_bytes;
    uint8_t *kept = p->rgb_bytes ? s->rgb + (size_t)k * p->rgb_bytes : NULL;
    size_t row = (size_t)w * 3;

    if (kept && kept != rgb)
        memcpy(kept, rgb, p->rgb_bytes);
    if (p->o.layout == MEDIA_LAYOUT_CHW_F32)
        media_rgb_to_chw_padded(&p->norm, rgb, w, h, row, (float *)(void *)dst, p->sw, p->sh);
    else if (p->sw == w)
        memcpy(dst, rgb, row * (size_t)h);
    else
        for (int y = 0; y < h; y++)
            memcpy(dst + (size_t)y * p->sw * 3, rgb + (size_t)y * row, row);
}

/* Mirrors the padding of float frame k of s, when asked. */
static void pad_frame(const media_pipe *p, pipe_slot *s, int k)
{
    if (p->o.layout == MEDIA_LAYOUT_CHW_F32 && p->o.pad_reflect)
        media_chw_pad_reflect((float *)(void *)(s->data + (size_t)k * p->frame_bytes),
                              p->info.width, p->info.height, p->sw, p->sh);
}

/* Writes raw, the picture of frame k of s (not turned), with converter c: straight from YUV
 * when it can, else through RGB24 (c's swscale context, made with media_video_rgb's settings).
 * The padding of a slot is zeroed once at start and only written when mirrored: every picture
 * of the pipe has the same size. */
static int convert(media_pipe *p, pipe_conv *c, pipe_slot *s, int k, const AVFrame *raw, vas_err *e)
{
    int w = p->info.width, h = p->info.height, rc = 0;

    if (p->direct && raw->width == w && raw->height == h)
        rc = media_yuv_chw(&c->yuv, raw, (float *)(void *)(s->data + (size_t)k * p->frame_bytes),
                           p->sw, p->sh, e);
    if (rc == 0) {
        uint8_t *rgb = p->rgb_bytes ? s->rgb + (size_t)k * p->rgb_bytes : c->rgb;
        if (!rgb)
            rgb = c->rgb = malloc((size_t)w * (size_t)h * 3);
        rc = rgb ? media_sws_rgb(&c->sws, raw, w, h, rgb, e)
                 : err_set(e, VAS_ENOMEM, "out of memory for a %dx%d picture", w, h);
        if (rc == VAS_OK)
            place_rgb(p, s, k, rgb);
    }
    if (rc < 0)
        return rc;
    pad_frame(p, s, k);
    return VAS_OK;
}

/* Writes frame fr (decoded as raw) at the next place in s with the first converter; a turned
 * frame through media_video_rgb, which turns it. */
static int put_frame(media_pipe *p, pipe_slot *s, media_frame *fr, const AVFrame *raw, vas_err *e)
{
    int rc;

    if (p->info.rotation) {
        rc = media_video_rgb(p->v, fr, e);
        if (rc == VAS_OK) {
            place_rgb(p, s, s->n, fr->rgb);
            pad_frame(p, s, s->n);
        }
    } else
        rc = convert(p, &p->convs[0], s, s->n, raw, e);
    if (rc < 0)
        return rc;
    note_frame(s, fr);
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

/* ---- decoding on the consumer's thread (o.inline_decode) ---- */

/* convert() of frame k of slot s from f (a reference of its own, freed here), with the
 * converter of the OpenMP thread running it. The first failure goes to *rc and *e, shared by
 * the tasks. */
static void convert_task(media_pipe *p, pipe_slot *s, int k, AVFrame *f, int *rc, vas_err *e)
{
    int t = omp_get_thread_num();
    vas_err te = {0};
    int r = convert(p, &p->convs[t < p->n_conv ? t : 0], s, k, f, &te);

    av_frame_free(&f);
    if (r == VAS_OK)
        return;
#pragma omp critical(media_pipe_task_err)
    if (*rc == VAS_OK) {
        *rc = r;
        *e = te;
    }
}

/* fill_slot on the consumer's thread: the frames are decoded one after another and each is
 * converted by an OpenMP task while the next is decoded (the same threads as the engine's, idle
 * between its batches). Turned frames (rotation: one buffer in media_video) go through
 * put_frame here. 1 full, 0 end of video, < 0. */
static int fill_inline(media_pipe *p, pipe_slot *s, vas_err *e)
{
    int rc = 1, task_rc = VAS_OK;
    vas_err task_e = {0};

    s->n = 0;
    /* The caller's OpenMP threads, at most: a consumer that keeps one thread (pose_run.c's
     * streams) converts on it alone, with no team spinning beside its other work. */
    int team = p->n_conv < omp_get_max_threads() ? p->n_conv : omp_get_max_threads();
#pragma omp parallel num_threads(team)
#pragma omp single
    {
        while (s->n < p->o.batch) {
            media_frame fr;
            const AVFrame *raw = NULL;
            AVFrame *own = NULL;
            int k = s->n;
            if (cancelled(p)) {
                rc = err_set(e, VAS_ECANCELLED, "decoding was stopped");
                break;
            }
            rc = media_video_next_raw(p->v, &fr, &raw, e);
            if (rc <= 0)
                break;
            if (!p->info.rotation)
                own = av_frame_clone(raw); /* NULL (no memory): put_frame below */
            if (own) {
                note_frame(s, &fr);
#pragma omp task firstprivate(k, own) shared(task_rc, task_e)
                convert_task(p, s, k, own, &task_rc, &task_e);
            } else {
                rc = put_frame(p, s, &fr, raw, e);
                if (rc < 0)
                    break;
            }
            rc = 1;
        }
#pragma omp taskwait
    }
    if (rc >= 0 && task_rc < 0) {
        *e = task_e;
        rc = task_rc;
    }
    return rc;
}

/* Fills the next slot when nothing is ready and the stream has not ended. */
static void take_inline(media_pipe *p)
{
    pipe_slot *s = &p->slots[p->head];
    vas_err e = {0};
    int rc;

    if (p->done || p->slots[p->tail].state == SLOT_READY || s->state != SLOT_FREE)
        return;
    s->state = SLOT_FILLING;
    rc = fill_inline(p, s, &e);
    publish(p, s, rc <= 0, rc, &e);
}

/* The converters: the decoder thread's, or one per OpenMP thread for fill_inline's tasks. */
static int alloc_converters(media_pipe *p, vas_err *e)
{
    p->n_conv = p->o.inline_decode && omp_get_max_threads() > 1 ? omp_get_max_threads() : 1;
    p->convs = calloc((size_t)p->n_conv, sizeof(*p->convs));
    if (!p->convs)
        return err_set(e, VAS_ENOMEM, "out of memory for %d frame converters", p->n_conv);
    for (int i = 0; p->direct && i < p->n_conv; i++)
        media_yuv_init(&p->convs[i].yuv, &p->norm);
    return VAS_OK;
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
    if (opts->norm)
        p->norm = *opts->norm;
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
    rc = alloc_converters(p, e);
    if (rc >= 0 && !opts->inline_decode)
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

    if (p->o.inline_decode && !cancelled(p))
        take_inline(p);
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
    for (int i = 0; p->convs && i < p->n_conv; i++) {
        media_yuv_free(&p->convs[i].yuv);
        media_sws_free(&p->convs[i].sws);
        free(p->convs[i].rgb);
    }
    free(p->convs);
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
