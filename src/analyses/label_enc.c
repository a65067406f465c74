/* label_enc.c - see label_enc.h. The ring and its thread are label_ring.h's; a slot is one
 * frame: its pose (slot_hdr) followed by its picture. */
#include "analyses/label_enc.h"

#include "analyses/label_ring.h"
#include "media/media_enc.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot_hdr {
    double xyl[3 * POSE_MODEL_MAX_PARTS]; /* the pose, when has_pose */
    int has_pose;
} slot_hdr;

#define SLOT_RGB(slot) ((uint8_t *)(slot) + sizeof(slot_hdr)) /* the picture, packed RGB24 */

struct label_enc {
    label_ring *ring; /* slots: slot_hdr + pic bytes */
    int w, h, n_parts, stride;
    size_t pic;
    pose_style style;
    uint8_t *bgrx; /* the thread's canvas */
    media_enc *enc;
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

/* The ring's work (thread "vas-label"): one frame drawn and encoded. */
static int one_frame(void *ctx, void *slot, vas_err *e)
{
    label_enc *le = ctx;
    const slot_hdr *s = slot;
    int rc = VAS_OK;

    to_bgrx(SLOT_RGB(slot), le->w, le->h, le->bgrx, le->stride);
    if (s->has_pose)
        rc = pose_draw(&le->style, le->bgrx, le->w, le->h, le->stride, s->xyl, e);
    return rc < 0 ? rc : media_enc_frame(le->enc, le->bgrx, (size_t)le->stride, e);
}

static void free_le(label_enc *le)
{
    label_ring_free(le->ring);
    free(le->bgrx);
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
    le->w = w;
    le->h = h;
    le->n_parts = n_parts;
    le->style = *s;
    le->pic = (size_t)w * (size_t)h * 3;
    le->stride = w * 4;
    le->bgrx = malloc((size_t)le->stride * (size_t)h);
    rc = le->bgrx ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory for a %dx%d frame", w, h);
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

int label_enc_push(label_enc *le, const uint8_t *rgb, const double *xyl, vas_err *e)
{
    void *slot = NULL;
    slot_hdr *s;
    int rc = label_ring_slot(le->ring, -1, &slot, e);

    if (rc < 0)
        return rc;
    s = slot;
    memcpy(SLOT_RGB(slot), rgb, le->pic);
    s->has_pose = xyl != NULL;
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
