/* label_enc.c - see label_enc.h. The ring and its thread are label_ring.h's; a slot is one
 * frame: its pose (slot_hdr) followed by its picture. */
#include "analyses/label_enc.h"

#include "analyses/label_opts.h"
#include "analyses/label_ring.h"
#include "media/media_enc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot_hdr {
    double xyl[3 * POSE_MODEL_MAX_PARTS]; /* the pose, when has_pose */
    int has_pose;
    int write;   /* 0: the pose joins the trail, nothing is written */
    int64_t pts; /* timed writers: the frame's timestamp */
} slot_hdr;

#define SLOT_RGB(slot) ((uint8_t *)(slot) + sizeof(slot_hdr)) /* the picture, packed RGB24 */

struct label_enc {
    label_ring *ring; /* slots: slot_hdr + pic bytes */
    int w, h, n_parts, stride;
    size_t pic;
    pose_style style;
    int timed, keypoints_only;
    uint8_t *bgrx; /* the thread's canvas */
    media_enc *enc;
    /* the trail (thread's): the last n_hist poses, newest at hist_head - 1 */
    double *hist;        /* cap x 3 * n_parts */
    const double **past; /* cap pointers: past[k] = the pose k + 1 frames back */
    int cap, n_hist, hist_head;
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

/* The trail's past poses into le->past (newest first); their count. */
static int trail(label_enc *le)
{
    for (int k = 0; k < le->n_hist; k++) {
        int i = ((le->hist_head - 1 - k) % le->cap + le->cap) % le->cap;
        le->past[k] = le->hist + (size_t)i * 3 * (size_t)le->n_parts;
    }
    return le->n_hist;
}

/* Frame s's pose joins the trail (NaN when it has none). */
static void remember(label_enc *le, const slot_hdr *s)
{
    double *d;

    if (le->cap == 0)
        return;
    d = le->hist + (size_t)le->hist_head * 3 * (size_t)le->n_parts;
    for (int k = 0; k < 3 * le->n_parts; k++)
        d[k] = s->has_pose ? s->xyl[k] : NAN;
    le->hist_head = (le->hist_head + 1) % le->cap;
    le->n_hist += le->n_hist < le->cap;
}

/* The ring's work (thread "vas-label"): one frame drawn and encoded. */
static int one_frame(void *ctx, void *slot, vas_err *e)
{
    label_enc *le = ctx;
    const slot_hdr *s = slot;
    size_t stride = (size_t)le->stride;
    int rc = VAS_OK;

    if (s->write && le->keypoints_only)
        memset(le->bgrx, 0, stride * (size_t)le->h); /* black */
    else if (s->write)
        to_bgrx(SLOT_RGB(slot), le->w, le->h, le->bgrx, le->stride);
    if (s->write && s->has_pose)
        rc = pose_draw_trail(&le->style, le->bgrx, le->w, le->h, le->stride, s->xyl, le->past,
                             trail(le), e);
    if (rc == VAS_OK && s->write)
        rc = le->timed ? media_enc_frame_at(le->enc, le->bgrx, stride, s->pts, e)
                       : media_enc_frame(le->enc, le->bgrx, stride, e);
    remember(le, s);
    return rc;
}

static void free_le(label_enc *le)
{
    label_ring_free(le->ring);
    free(le->bgrx);
    free(le->hist);
    free((void *)le->past);
    free(le);
}

/* The trail's memory: trailpoints - 1 past poses. */
static int alloc_trail(label_enc *le, int trailpoints, vas_err *e)
{
    if (trailpoints > LABEL_MAX_TRAIL)
        return err_set(e, VAS_EINVAL, "trailpoints %d is over %d", trailpoints, LABEL_MAX_TRAIL);
    le->cap = trailpoints > 1 ? trailpoints - 1 : 0;
    if (le->cap == 0)
        return VAS_OK;
    le->hist = malloc(sizeof(double) * 3 * (size_t)le->n_parts * (size_t)le->cap);
    le->past = malloc(sizeof(*le->past) * (size_t)le->cap);
    return le->hist && le->past ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory for the trail");
}

int label_enc_open(const char *path, const label_enc_opts *o, label_enc **out, vas_err *e)
{
    label_enc *le = calloc(1, sizeof(*le));
    /* ultrafast: the encoder shares 2 cores with inference, and every ms it takes is a ms the
     * run takes. Measured on the openfield video (640x480): x264 veryfast costs ~3.7 ms of CPU a
     * frame and made `label` ~40% slower than `video`; ultrafast ~1.7 ms, ~10% slower, for ~3 MB
     * a minute instead of ~1 (bench/video's label row). */
    media_enc_opts eo = {.width = o->w,
                         .height = o->h,
                         .fps = o->fps,
                         .pix = MEDIA_PIX_BGRX,
                         .preset = LABEL_ENC_PRESET,
                         .tb_num = o->tb_num,
                         .tb_den = o->tb_den,
                         .rate_num = o->rate_num,
                         .rate_den = o->rate_den};
    int rc;

    if (!le)
        return err_set(e, VAS_ENOMEM, "out of memory");
    le->w = o->w;
    le->h = o->h;
    le->n_parts = o->s->n_parts;
    le->style = *o->s;
    le->timed = o->tb_den > 0;
    le->keypoints_only = o->keypoints_only;
    le->pic = (size_t)o->w * (size_t)o->h * 3;
    le->stride = o->w * 4;
    le->bgrx = malloc((size_t)le->stride * (size_t)o->h);
    rc = le->bgrx ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory for a %dx%d frame", o->w, o->h);
    if (rc == VAS_OK)
        rc = alloc_trail(le, o->trailpoints, e);
    if (rc == VAS_OK)
        rc = media_enc_open(path, &eo, &le->enc, e);
    if (rc == VAS_OK)
        rc = label_ring_open(LABEL_ENC_DEPTH, sizeof(slot_hdr) + le->pic, one_frame, le,
                             "vas-label", &le->ring, e);
    if (rc < 0) {
        media_enc_abort(le->enc);
        free_le(le);
        return rc;
    }
    *out = le;
    return VAS_OK;
}

int label_enc_push(label_enc *le, const uint8_t *rgb, const double *xyl, int64_t pts, vas_err *e)
{
    void *slot = NULL;
    slot_hdr *s;
    int rc = label_ring_slot(le->ring, -1, &slot, e);

    if (rc < 0)
        return rc;
    s = slot;
    s->write = rgb != NULL;
    if (rgb)
        memcpy(SLOT_RGB(slot), rgb, le->pic);
    s->has_pose = xyl != NULL;
    s->pts = pts;
    if (xyl)
        memcpy(s->xyl, xyl, sizeof(double) * 3 * (size_t)le->n_parts);
    label_ring_commit(le->ring);
    return VAS_OK;
}
int label_enc_close(label_enc *le, vas_err *e)
{
    int rc = label_ring_finish(le->ring, e);

    if (rc < 0)
        media_enc_abort(le->enc);
    else
        rc = media_enc_close(le->enc, e);
    free_le(le);
    return rc;
}

void label_enc_abort(label_enc *le)
{
    if (!le)
        return;
    label_ring_stop(le->ring);
    media_enc_abort(le->enc);
    free_le(le);
}

void label_enc_stats(label_enc *le, int64_t *frames, double *busy_seconds)
{
    int64_t ms = 0;

    label_ring_stats(le->ring, frames, &ms);
    *busy_seconds = (double)ms / 1000.0;
}
