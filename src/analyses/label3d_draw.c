/* label3d_draw.c - see label3d_draw.h. A ring slot is one output frame: the 2D poses of every
 * camera, the 3D pose, then every camera's picture (offsets in label3d_draw). */
#include "analyses/label3d_draw.h"

#include "analyses/label_ring.h"
#include "media/media_enc.h"

#include <stdlib.h>
#include <string.h>

struct label3d_draw {
    label3d_panels p;
    label_ring *ring;
    media_enc *enc;
    uint8_t *canvas;                      /* BGRx, width x height; the thread's */
    size_t stride;                        /* bytes of a canvas row */
    size_t off_xyz;                       /* in a slot: the 3D pose (after the 2D ones) */
    size_t off_rgb[GEOM_MAX_CAMERAS];     /* in a slot: camera c's picture */
    double xyl[3 * POSE_MODEL_MAX_PARTS]; /* the thread's: a 2D pose scaled to its panel */
};

/* Camera c's picture into its panel, then its 2D pose scaled to the panel. */
static int draw_camera(label3d_draw *d, int c, const uint8_t *rgb, const double *xyl, vas_err *e)
{
    const label3d_panels *p = &d->p;
    int w = p->panel_w[c], h = p->height;
    uint8_t *dst = d->canvas + (size_t)p->x0[c] * 4;
    double sx = (double)w / p->src_w[c], sy = (double)h / p->src_h[c];

    for (int y = 0; y < h; y++) {
        const uint8_t *s = rgb + (size_t)y * (size_t)w * 3;
        uint8_t *o = dst + (size_t)y * d->stride;
        for (int x = 0; x < w; x++, s += 3, o += 4) {
            o[0] = s[2];
            o[1] = s[1];
            o[2] = s[0];
            o[3] = 0xff;
        }
    }
    for (int i = 0; i < p->n_parts; i++) { /* pixel centres at integers in both */
        d->xyl[3 * i] = (xyl[3 * i] + 0.5) * sx - 0.5;
        d->xyl[3 * i + 1] = (xyl[3 * i + 1] + 0.5) * sy - 0.5;
        d->xyl[3 * i + 2] = xyl[3 * i + 2];
    }
    return pose_draw(&p->s2[c], dst, w, h, (int)d->stride, d->xyl, e);
}

/* The ring's work (thread "vas-label3d"): one output frame drawn and encoded. */
static int draw_frame(void *ctx, void *slot, vas_err *e)
{
    label3d_draw *d = ctx;
    const label3d_panels *p = &d->p;
    const uint8_t *s = slot;
    int n3 = p->n_cams, rc = VAS_OK;

    for (int c = 0; c < p->n_cams && rc == VAS_OK; c++)
        rc = draw_camera(d, c, s + d->off_rgb[c],
                         (const double *)(const void *)s + (size_t)c * 3 * (size_t)p->n_parts, e);
    if (rc == VAS_OK && p->panel_w[n3] > p->view.w) /* the odd-width pixel column */
        for (int y = 0; y < p->height; y++)
            memset(d->canvas + y * d->stride + (size_t)(p->width - 1) * 4, 0xff, 4);
    if (rc == VAS_OK)
        rc = pose_view3d_draw(&p->view, &p->s3, d->canvas + (size_t)p->x0[n3] * 4, p->view.w,
                              p->view.h, (int)d->stride,
                              (const double *)(const void *)(s + d->off_xyz), e);
    return rc < 0 ? rc : media_enc_frame(d->enc, d->canvas, d->stride, e);
}

/* The slot's layout; its size. */
static size_t layout(label3d_draw *d)
{
    const label3d_panels *p = &d->p;
    size_t pose = 3 * (size_t)p->n_parts * sizeof(double), at;

    d->off_xyz = (size_t)p->n_cams * pose;
    at = d->off_xyz + pose;
    for (int c = 0; c < p->n_cams; c++) {
        d->off_rgb[c] = at;
        at += ((size_t)p->panel_w[c] * (size_t)p->height * 3 + 7) & ~(size_t)7;
    }
    return at;
}

static void free_d(label3d_draw *d)
{
    label_ring_free(d->ring);
    free(d->canvas);
    free(d);
}

int label3d_draw_open(const char *path, const label3d_panels *p, label3d_draw **out, vas_err *e)
{
    label3d_draw *d = calloc(1, sizeof(*d));
    media_enc_opts eo = {
        .width = p->width, .height = p->height, .fps = p->fps, .pix = MEDIA_PIX_BGRX};
    int rc;

    if (!d)
        return err_set(e, VAS_ENOMEM, "out of memory for the 3D labeled video");
    d->p = *p;
    d->stride = (size_t)p->width * 4;
    d->canvas = malloc(d->stride * (size_t)p->height);
    rc = d->canvas ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory for the 3D labeled video");
    if (rc == VAS_OK)
        rc = media_enc_open(path, &eo, &d->enc, e);
    if (rc == VAS_OK)
        rc = label_ring_open(LABEL3D_DRAW_DEPTH, layout(d), draw_frame, d, "vas-label3d", &d->ring,
                             e);
    if (rc < 0) {
        media_enc_abort(d->enc);
        free_d(d);
        return rc;
    }
    *out = d;
    return VAS_OK;
}

int label3d_draw_next(label3d_draw *d, int timeout_ms, label3d_frame *f, vas_err *e)
{
    void *slot = NULL;
    int rc = label_ring_slot(d->ring, timeout_ms, &slot, e);

    if (rc != 1)
        return rc;
    for (int c = 0; c < d->p.n_cams; c++) {
        f->rgb[c] = (uint8_t *)slot + d->off_rgb[c];
        f->xyl[c] = (double *)slot + (size_t)c * 3 * (size_t)d->p.n_parts;
    }
    f->xyz = (double *)(void *)((uint8_t *)slot + d->off_xyz);
    return 1;
}

void label3d_draw_commit(label3d_draw *d)
{
    label_ring_commit(d->ring);
}

int label3d_draw_close(label3d_draw *d, vas_err *e)
{
    int rc = label_ring_finish(d->ring, e);

    if (rc < 0)
        media_enc_abort(d->enc);
    else
        rc = media_enc_close(d->enc, e);
    free_d(d);
    return rc;
}

void label3d_draw_abort(label3d_draw *d)
{
    if (!d)
        return;
    label_ring_stop(d->ring);
    media_enc_abort(d->enc);
    free_d(d);
}
