/* label3d_run.c - the 3D labeled video of a take (see label3d_run.h). */
#include "analyses/label3d_run.h"

#include "core/util.h"
#include "media/media_enc.h"
#include "media/media_video.h"
#include "pose/pose_cmap.h"
#include "pose/pose_view3d.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_HEIGHT 16 /* pose_view3d's smallest panel */

/* One run: the inputs, the layout, and what the drawing needs. */
typedef struct l3run {
    const geom_models3d_item *it;
    const char *const *videos; /* the caller's */
    const label3d_opts *o;
    label3d_out *out;
    int n_cams;
    int src_w[GEOM_MAX_CAMERAS], src_h[GEOM_MAX_CAMERAS]; /* each video's upright size */
    int x0[GEOM_MAX_CAMERAS + 1];                         /* each panel's left edge */
    pose_style s2[GEOM_MAX_CAMERAS];                      /* per camera: dots scaled */
    pose_style s3;                                        /* the 3D panel's */
    int (*pairs)[2];                                      /* the skeleton the styles point to */
    media_video *v[GEOM_MAX_CAMERAS];
    media_enc *enc;
    uint8_t *canvas; /* BGRx, width x height */
    double *xyz;     /* the take's 3D points, frames x parts x 3 */
    double xyl[3 * POSE_MODEL_MAX_PARTS];
} l3run;

/* ---- layout ---- */

/* Camera c's video size; an input that is not a video is refused in the caller's words. */
static int probe(l3run *l, int c, vas_err *e)
{
    const char *cam = geom_model3d_camera(l->it->model, c);
    media_video_opts vo = {.threads = 1};
    media_video *v = NULL;
    vas_err ve = {0};
    int rc = media_video_open(l->videos[c], &vo, &v, &ve);

    if (rc == VAS_OK) {
        l->src_w[c] = media_video_info_get(v)->width;
        l->src_h[c] = media_video_info_get(v)->height;
        if (c == 0)
            l->out->fps = media_video_info_get(v)->fps > 0 ? media_video_info_get(v)->fps : 30.0;
    }
    media_video_close(v);
    if (rc == VAS_EINVAL || rc == VAS_ENOTFOUND || rc == VAS_EUNSUPPORTED)
        return err_set(e, VAS_EINVAL, "label_3d needs videos: camera %s's input is not one (%s)",
                       cam, ve.msg);
    return rc < 0 ? err_set(e, rc, "camera %s's video: %s", cam, ve.msg) : VAS_OK;
}

/* The panels (see label3d_run.h's Layout). */
static void layout(l3run *l)
{
    label3d_out *out = l->out;
    int cap = l->o->max_height > 0 ? l->o->max_height : LABEL3D_MAX_HEIGHT;
    int h = l->src_h[0] < cap ? l->src_h[0] : cap, x = 0;

    h &= ~1;
    out->height = h < MIN_HEIGHT ? MIN_HEIGHT : h;
    out->n_panels = l->n_cams + 1;
    for (int c = 0; c < l->n_cams; c++) {
        double w = (double)l->src_w[c] * out->height / l->src_h[c];
        out->panel_w[c] = w < 2 ? 2 : (int)lround(w);
    }
    out->panel_w[l->n_cams] = out->height;
    for (int c = 0; c < out->n_panels; c++) {
        l->x0[c] = x;
        x += out->panel_w[c];
    }
    if (x % 2) {
        out->panel_w[l->n_cams]++;
        x++;
    }
    out->width = x;
}

/* ---- styles ---- */

/* Camera 1's 2D style with the 3D config's colours, skeleton and cut-off; then each panel's
 * dot size. */
static int styles(l3run *l, vas_err *e)
{
    const geom_model3d *m = l->it->model;
    const pose_model *ref = l->it->cam[0];
    pose_style s;
    int rc = pose_style_init(&s, ref, e);

    if (rc < 0)
        return rc;
    for (int p = 0; p < s.n_parts && rc == VAS_OK; p++)
        rc = pose_cmap_color(m->colormap, p, s.n_parts, s.rgb[p], e);
    if (rc == VAS_OK)
        rc = pose_color_parse(m->skeleton_color, s.skel_rgb, e);
    if (rc == VAS_OK && m->n_skeleton > 0) {
        l->pairs = calloc((size_t)m->n_skeleton, sizeof(*l->pairs));
        if (!l->pairs)
            return err_set(e, VAS_ENOMEM, "out of memory");
        rc = geom_model3d_skeleton_index(m, (const char *const *)ref->bodyparts, ref->n_bodyparts,
                                         l->pairs, e);
        s.skeleton = l->pairs;
        s.n_skeleton = m->n_skeleton;
    }
    if (rc < 0)
        return rc;
    s.pcutoff = m->pcutoff;
    s.alpha = m->alphavalue < 0 ? 0 : m->alphavalue > 1 ? 1 : m->alphavalue;
    for (int c = 0; c < l->n_cams; c++) {
        l->s2[c] = s;
        l->s2[c].radius = fmax(2.0, s.radius * l->out->height / l->src_h[c]);
        l->s2[c].line_width = fmax(1.0, l->s2[c].radius / 3);
    }
    l->s3 = s;
    l->s3.radius = fmax(2.0, l->out->height / 80.0);
    l->s3.line_width = fmax(1.0, l->s3.radius / 2);
    return pose_style_check(&l->s3, e);
}

/* ---- drawing ---- */

/* Decoders at the panels' sizes, the encoder, the canvas and the viewpoint. */
static int open_all(l3run *l, const tri_take *k, pose_view3d *view, vas_err *e)
{
    label3d_out *out = l->out;
    media_enc_opts eo = {
        .width = out->width, .height = out->height, .fps = out->fps, .pix = MEDIA_PIX_BGRX};
    int np = tri_take_parts(k, NULL), rc = VAS_OK;

    for (int c = 0; c < l->n_cams && rc == VAS_OK; c++) {
        media_video_opts vo = {.width = out->panel_w[c], .height = out->height, .threads = 2};
        rc = media_video_open(l->videos[c], &vo, &l->v[c], e);
    }
    l->xyz = rc == VAS_OK ? tri_take_xyz(k) : NULL;
    l->canvas = rc == VAS_OK ? malloc((size_t)out->width * 4 * (size_t)out->height) : NULL;
    if (rc == VAS_OK && (!l->xyz || !l->canvas))
        rc = err_set(e, VAS_ENOMEM, "out of memory for the 3D labeled video");
    if (rc == VAS_OK)
        rc = pose_view3d_init(view, l->xyz, tri_take_frames(k) * np, out->panel_w[l->n_cams],
                              out->height, e);
    if (rc == VAS_OK)
        rc = media_enc_open(out->video, &eo, &l->enc, e);
    return rc;
}

/* Camera c's frame f (RGB24) into its panel, then its 2D pose scaled to the panel. */
static int draw_camera(l3run *l, const tri_take *k, int c, int64_t f, const media_frame *fr,
                       vas_err *e)
{
    size_t stride = (size_t)l->out->width * 4;
    uint8_t *dst = l->canvas + (size_t)l->x0[c] * 4;
    double sx = (double)fr->width / l->src_w[c], sy = (double)fr->height / l->src_h[c];
    int np = tri_take_parts(k, NULL);

    for (int y = 0; y < fr->height; y++) {
        const uint8_t *s = fr->rgb + (size_t)y * (size_t)fr->width * 3;
        uint8_t *d = dst + (size_t)y * stride;
        for (int x = 0; x < fr->width; x++, s += 3, d += 4) {
            d[0] = s[2];
            d[1] = s[1];
            d[2] = s[0];
            d[3] = 0xff;
        }
    }
    tri_take_xyl(k, c, f, l->xyl);
    for (double *q = l->xyl; q < l->xyl + 3 * (size_t)np; q += 3) { /* pixel centres at */
        q[0] = (q[0] + 0.5) * sx - 0.5;                             /* integers in both */
        q[1] = (q[1] + 0.5) * sy - 0.5;
    }
    return pose_draw(&l->s2[c], dst, fr->width, fr->height, (int)stride, l->xyl, e);
}

/* One output frame; 0 when a video has ended (the shortest input), 1 when written. */
static int draw_frame(l3run *l, const tri_take *k, const pose_view3d *view, int64_t f, vas_err *e)
{
    size_t stride = (size_t)l->out->width * 4;
    int np = tri_take_parts(k, NULL), n3 = l->n_cams, rc;
    media_frame fr;

    for (int c = 0; c < l->n_cams; c++) {
        rc = media_video_next(l->v[c], &fr, e);
        if (rc <= 0)
            return rc;
        rc = draw_camera(l, k, c, f, &fr, e);
        if (rc < 0)
            return rc;
    }
    if (l->out->panel_w[n3] > view->w) /* the odd-width pixel column */
        for (int y = 0; y < l->out->height; y++)
            memset(l->canvas + y * stride + (size_t)(l->out->width - 1) * 4, 0xff, 4);
    rc = pose_view3d_draw(view, &l->s3, l->canvas + (size_t)l->x0[n3] * 4, view->w, view->h,
                          (int)stride, &l->xyz[f * np * 3], e);
    if (rc == VAS_OK)
        rc = media_enc_frame(l->enc, l->canvas, stride, e);
    return rc < 0 ? rc : 1;
}

/* tri_run's on_take: the whole video. */
static int draw_take(void *arg, const tri_take *k, vas_err *e)
{
    l3run *l = arg;
    pose_view3d view;
    int64_t frames = tri_take_frames(k), t0 = util_mono_ms();
    int rc = open_all(l, k, &view, e);

    for (int64_t f = 0; f < frames && rc == VAS_OK; f++) {
        rc = draw_frame(l, k, &view, f, e);
        if (rc == 1) {
            l->out->frames++;
            rc = l->o->progress ? l->o->progress(l->o->arg, f + 1, frames, e) : VAS_OK;
        }
    }
    if (rc == VAS_OK && l->out->frames == 0)
        rc = err_set(e, VAS_EINVAL, "no frame could be decoded from the videos");
    if (rc == VAS_OK)
        rc = media_enc_close(l->enc, e);
    else
        media_enc_abort(l->enc);
    l->enc = NULL;
    l->out->draw_seconds = (double)(util_mono_ms() - t0) / 1000.0;
    return rc;
}

int label3d_run(const geom_models3d_item *it, const char *const *videos, const char *const *poses,
                const char *prefix, const label3d_opts *o, label3d_out *out, vas_err *e)
{
    l3run l = {.it = it, .videos = videos, .o = o, .out = out, .n_cams = it->model->n_cameras};
    tri_run_opts to = o->tri;
    const char *inputs[GEOM_MAX_CAMERAS];
    int64_t t0 = util_mono_ms();
    size_t n = strlen(prefix) + 5;
    int rc = VAS_OK;

    memset(out, 0, sizeof(*out));
    for (int c = 0; c < l.n_cams && rc == VAS_OK; c++) {
        rc = probe(&l, c, e);
        inputs[c] = poses && poses[c] ? poses[c] : videos[c];
    }
    if (rc < 0)
        return rc;
    layout(&l);
    out->video = malloc(n);
    if (!out->video)
        return err_set(e, VAS_ENOMEM, "out of memory");
    snprintf(out->video, n, "%s.mp4", prefix);
    rc = styles(&l, e);
    to.on_take = draw_take;
    to.take_arg = &l;
    if (rc == VAS_OK)
        rc = tri_run(it, inputs, prefix, &to, &out->tri, e);
    for (int c = 0; c < l.n_cams; c++)
        media_video_close(l.v[c]);
    free(l.pairs);
    free(l.canvas);
    free(l.xyz);
    out->seconds = (double)(util_mono_ms() - t0) / 1000.0;
    return rc;
}

void label3d_out_clear(label3d_out *out)
{
    tri_out_clear(&out->tri);
    free(out->video);
    memset(out, 0, sizeof(*out));
}
