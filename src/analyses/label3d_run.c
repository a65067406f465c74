/* label3d_run.c - the 3D labeled video of a take (see label3d_run.h). */
#include "analyses/label3d_run.h"

#include "analyses/label3d_draw.h"
#include "core/util.h"
#include "media/media_video.h"
#include "pose/pose_cmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_HEIGHT 16 /* pose_view3d's smallest panel */

#define WAIT_MS 50 /* longest the job's thread waits for the drawer before reporting again */

/* One run: the inputs, the layout, and what the drawing needs. */
typedef struct l3run {
    const geom_models3d_item *it;
    const char *const *videos; /* the caller's */
    const label3d_opts *o;
    label3d_out *out;
    int n_cams;
    label3d_panels p; /* layout, styles, viewpoint: the drawer's copy is made at open */
    int (*pairs)[2];  /* the skeleton the styles point to */
    media_video *v[GEOM_MAX_CAMERAS];
    label3d_draw *draw;
    double *xyz; /* the take's 3D points, frames x parts x 3 */
} l3run;

/* ---- layout ---- */

/* Camera c's video size; an input that is not a video is refused in the caller's words. */
static int probe(l3run *l, int c, vas_err *e)
{
    const char *cam = geom_model3d_camera(l->it->model, c);
    media_video_opts vo = {.threads = 1, .lim = l->o->tri.pose.lim};
    media_video *v = NULL;
    vas_err ve = {0};
    int rc = media_video_open(l->videos[c], &vo, &v, &ve);

    if (rc == VAS_OK) {
        l->p.src_w[c] = media_video_info_get(v)->width;
        l->p.src_h[c] = media_video_info_get(v)->height;
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
    int h = l->p.src_h[0] < cap ? l->p.src_h[0] : cap, x = 0;

    h &= ~1;
    out->height = h < MIN_HEIGHT ? MIN_HEIGHT : h;
    out->n_panels = l->n_cams + 1;
    for (int c = 0; c < l->n_cams; c++) {
        double w = (double)l->p.src_w[c] * out->height / l->p.src_h[c];
        out->panel_w[c] = w < 2 ? 2 : (int)lround(w);
    }
    out->panel_w[l->n_cams] = out->height;
    for (int c = 0; c < out->n_panels; c++) {
        l->p.x0[c] = x;
        x += out->panel_w[c];
    }
    if (x % 2) {
        out->panel_w[l->n_cams]++;
        x++;
    }
    out->width = x;
    l->p.n_cams = l->n_cams;
    l->p.width = out->width;
    l->p.height = out->height;
    l->p.fps = out->fps;
    memcpy(l->p.panel_w, out->panel_w, sizeof(l->p.panel_w));
}

/* ---- styles ---- */

/* Camera 1's 2D style with the 3D config's colours, skeleton and cut-off; then each panel's
 * dot size. */
static int styles(l3run *l, vas_err *e)
{
    const geom_model3d *m = l->it->model;
    const pose_model *ref = l->it->cam[0];
    pose_style s;
    int rc;

    if (!ref) /* a 3D model for pose files only: label_3d analyses videos, so it needs them */
        return err_set(e, VAS_EINVAL,
                       "label_3d needs a 2D model for each camera (model_<camera> or "
                       "config_file_<camera> in 3D model %s); it names none for %s",
                       m->name, geom_model3d_camera(m, 0));
    rc = pose_style_init(&s, ref, e);

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
        l->p.s2[c] = s;
        l->p.s2[c].radius = fmax(2.0, s.radius * l->out->height / l->p.src_h[c]);
        l->p.s2[c].line_width = fmax(1.0, l->p.s2[c].radius / 3);
    }
    l->p.s3 = s;
    l->p.s3.radius = fmax(2.0, l->out->height / 80.0);
    l->p.s3.line_width = fmax(1.0, l->p.s3.radius / 2);
    return pose_style_check(&l->p.s3, e);
}

/* ---- drawing ---- */

/* Decoders at the panels' sizes, the viewpoint, and the drawer (encoder, canvas, thread). */
static int open_all(l3run *l, const tri_take *k, vas_err *e)
{
    label3d_out *out = l->out;
    int np = tri_take_parts(k, NULL), rc = VAS_OK;

    for (int c = 0; c < l->n_cams && rc == VAS_OK; c++) {
        media_video_opts vo = {.width = out->panel_w[c],
                               .height = out->height,
                               .threads = 2,
                               .lim = l->o->tri.pose.lim};
        rc = media_video_open(l->videos[c], &vo, &l->v[c], e);
    }
    l->xyz = rc == VAS_OK ? tri_take_xyz(k) : NULL;
    if (rc == VAS_OK && !l->xyz)
        rc = err_set(e, VAS_ENOMEM, "out of memory for the 3D labeled video");
    if (rc == VAS_OK)
        rc = pose_view3d_init(&l->p.view, l->xyz, tri_take_frames(k) * np, out->panel_w[l->n_cams],
                              out->height, e);
    l->p.n_parts = np;
    if (rc == VAS_OK)
        rc = label3d_draw_open(out->video, &l->p, &l->draw, e);
    return rc;
}

/* Progress while the drawer is busy: frames queued so far (f). */
static int report(l3run *l, int64_t f, int64_t frames, vas_err *e)
{
    return l->o->progress ? l->o->progress(l->o->arg, f, frames, e) : VAS_OK;
}

/* Frame f of every camera decoded into the drawer's next slot with its poses, and queued; 0 when
 * a video has ended (the shortest input), 1 when queued. */
static int queue_frame(l3run *l, const tri_take *k, int64_t f, int64_t frames, vas_err *e)
{
    int np = tri_take_parts(k, NULL), wait = l->o->progress ? WAIT_MS : -1, rc;
    label3d_frame fr;
    media_frame m;

    while ((rc = label3d_draw_next(l->draw, wait, &fr, e)) == 0)
        if ((rc = report(l, f, frames, e)) < 0)
            return rc;
    for (int c = 0; c < l->n_cams && rc > 0; c++) {
        rc = media_video_next(l->v[c], &m, e);
        if (rc <= 0)
            return rc;
        if (m.width != l->p.panel_w[c] || m.height != l->p.height)
            return err_set(e, VAS_EIO, "camera %d's frame is %dx%d, its panel %dx%d", c + 1,
                           m.width, m.height, l->p.panel_w[c], l->p.height);
        memcpy(fr.rgb[c], m.rgb, (size_t)m.width * (size_t)m.height * 3);
        tri_take_xyl(k, c, f, fr.xyl[c]);
    }
    if (rc < 0)
        return rc;
    memcpy(fr.xyz, &l->xyz[f * np * 3], sizeof(double) * 3 * (size_t)np);
    label3d_draw_commit(l->draw);
    return 1;
}

/* tri_run's on_take: the whole video. The job's thread decodes and queues; the drawer draws. */
static int draw_take(void *arg, const tri_take *k, vas_err *e)
{
    l3run *l = arg;
    int64_t frames = tri_take_frames(k), t0 = util_mono_ms();
    int rc = open_all(l, k, e);

    for (int64_t f = 0; f < frames && rc == VAS_OK; f++) {
        rc = queue_frame(l, k, f, frames, e);
        if (rc == 0) /* the shortest video has ended */
            break;
        if (rc == 1) {
            l->out->frames++;
            rc = report(l, f + 1, frames, e);
        }
    }
    if (rc == VAS_OK && l->out->frames == 0)
        rc = err_set(e, VAS_EINVAL, "no frame could be decoded from the videos");
    if (rc == VAS_OK && l->draw)
        rc = label3d_draw_close(l->draw, e);
    else
        label3d_draw_abort(l->draw);
    l->draw = NULL;
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
