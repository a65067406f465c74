/* label_enc.c - see label_enc.h. */
#include "analyses/label_enc.h"

#include "core/util.h"
#include "media/media_enc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint8_t *rgb;
    double xyl[3 * POSE_MODEL_MAX_PARTS];
    int has_pose;
} slot;

struct label_enc {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started;
    slot ring[LABEL_ENC_DEPTH];
    int head, count; /* next slot to fill; slots queued */
    int done, stop;  /* no more pushes; abort */
    int err;         /* the thread's error, or VAS_OK */
    vas_err terr;
    int w, h, n_parts, stride;
    size_t pic;
    pose_style style;
    uint8_t *bgrx;
    media_enc *enc;
    int64_t frames, busy_ms;
};

/* Packed RGB24 to cairo's RGB24 (32-bit xRGB, native endian). */
static void to_bgrx(const uint8_t *rgb, int w, int h, uint8_t *dst, int stride)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *s = rgb + (size_t)y * (size_t)w * 3;
        uint32_t *d = (uint32_t *)(void *)(dst + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++, s += 3)
            d[x] = 0xff000000u | (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
    }
}

static int one_frame(label_enc *le, const slot *s, vas_err *e)
{
    int rc = VAS_OK;

    to_bgrx(s->rgb, le->w, le->h, le->bgrx, le->stride);
    if (s->has_pose)
        rc = pose_draw(&le->style, le->bgrx, le->w, le->h, le->stride, s->xyl, e);
    return rc < 0 ? rc : media_enc_frame(le->enc, le->bgrx, (size_t)le->stride, e);
}

static void *thread_main(void *arg)
{
    label_enc *le = arg;
    int tail = 0;

    pthread_setname_np(pthread_self(), "vas-label");
    pthread_mutex_lock(&le->mu);
    for (;;) {
        while (le->count == 0 && !le->done && !le->stop)
            pthread_cond_wait(&le->cv, &le->mu);
        if (le->stop || le->count == 0)
            break;
        pthread_mutex_unlock(&le->mu);
        int64_t t0 = util_mono_ms();
        vas_err e = {0};
        int rc = one_frame(le, &le->ring[tail], &e);
        pthread_mutex_lock(&le->mu);
        le->busy_ms += util_mono_ms() - t0;
        if (rc < 0) {
            le->err = rc;
            le->terr = e;
            break;
        }
        le->frames++;
        tail = (tail + 1) % LABEL_ENC_DEPTH;
        le->count--;
        pthread_cond_broadcast(&le->cv);
    }
    pthread_cond_broadcast(&le->cv);
    pthread_mutex_unlock(&le->mu);
    return NULL;
}

static void free_le(label_enc *le)
{
    for (int i = 0; i < LABEL_ENC_DEPTH; i++)
        free(le->ring[i].rgb);
    free(le->bgrx);
    pthread_cond_destroy(&le->cv);
    pthread_mutex_destroy(&le->mu);
    free(le);
}

int label_enc_open(const char *path, int w, int h, double fps, const pose_style *s, int n_parts,
                   label_enc **out, vas_err *e)
{
    label_enc *le = calloc(1, sizeof(*le));
    /* ultrafast: the encoder shares 2 cores with inference, and every ms it takes is a ms the
     * run takes. Measured on the openfield video (640x480): x264 veryfast costs ~3.7 ms of CPU a
     * frame and made `label` ~40% slower than `video`; ultrafast ~1.7 ms, ~10% slower, for ~3 MB
     * a minute instead of ~1 (bench/video's label row). */
    media_enc_opts eo = {
        .width = w, .height = h, .fps = fps, .pix = MEDIA_PIX_BGRX, .preset = LABEL_ENC_PRESET};
    int rc;

    if (!le)
        return err_set(e, VAS_ENOMEM, "out of memory");
    pthread_mutex_init(&le->mu, NULL);
    pthread_cond_init(&le->cv, NULL);
    le->w = w;
    le->h = h;
    le->n_parts = n_parts;
    le->style = *s;
    le->pic = (size_t)w * (size_t)h * 3;
    le->stride = w * 4;
    le->bgrx = malloc((size_t)le->stride * (size_t)h);
    rc = le->bgrx ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory for a %dx%d frame", w, h);
    for (int i = 0; i < LABEL_ENC_DEPTH && rc == VAS_OK; i++)
        if (!(le->ring[i].rgb = malloc(le->pic)))
            rc = err_set(e, VAS_ENOMEM, "out of memory for a %dx%d frame", w, h);
    if (rc == VAS_OK)
        rc = media_enc_open(path, &eo, &le->enc, e);
    if (rc == VAS_OK && pthread_create(&le->th, NULL, thread_main, le) != 0)
        rc = err_set(e, VAS_EIO, "could not start the labeling thread");
    if (rc < 0) {
        media_enc_abort(le->enc);
        free_le(le);
        return rc;
    }
    le->started = 1;
    *out = le;
    return VAS_OK;
}

int label_enc_push(label_enc *le, const uint8_t *rgb, const double *xyl, vas_err *e)
{
    slot *s;

    pthread_mutex_lock(&le->mu);
    while (le->count == LABEL_ENC_DEPTH && !le->err)
        pthread_cond_wait(&le->cv, &le->mu);
    if (le->err) {
        pthread_mutex_unlock(&le->mu);
        return err_set(e, le->err, "%s", le->terr.msg);
    }
    s = &le->ring[le->head];
    pthread_mutex_unlock(&le->mu);
    /* The slot is the caller's until count covers it: the thread reads only queued slots. */
    memcpy(s->rgb, rgb, le->pic);
    s->has_pose = xyl != NULL;
    if (xyl)
        memcpy(s->xyl, xyl, sizeof(double) * 3 * (size_t)le->n_parts);
    pthread_mutex_lock(&le->mu);
    le->head = (le->head + 1) % LABEL_ENC_DEPTH;
    le->count++;
    pthread_cond_broadcast(&le->cv);
    pthread_mutex_unlock(&le->mu);
    return VAS_OK;
}

static void join(label_enc *le, int stop)
{
    pthread_mutex_lock(&le->mu);
    le->done = 1;
    le->stop = stop;
    pthread_cond_broadcast(&le->cv);
    pthread_mutex_unlock(&le->mu);
    if (le->started)
        pthread_join(le->th, NULL);
    le->started = 0;
}

int label_enc_close(label_enc *le, vas_err *e)
{
    int rc;

    join(le, 0);
    if (le->err) {
        rc = err_set(e, le->err, "%s", le->terr.msg);
        media_enc_abort(le->enc);
    } else {
        rc = media_enc_close(le->enc, e);
    }
    free_le(le);
    return rc;
}

void label_enc_abort(label_enc *le)
{
    if (!le)
        return;
    join(le, 1);
    media_enc_abort(le->enc);
    free_le(le);
}

void label_enc_stats(label_enc *le, int64_t *frames, double *busy_seconds)
{
    pthread_mutex_lock(&le->mu);
    *frames = le->frames;
    *busy_seconds = (double)le->busy_ms / 1000.0;
    pthread_mutex_unlock(&le->mu);
}
