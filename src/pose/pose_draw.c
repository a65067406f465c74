/* pose_draw.c - DeepLabCut dots and skeleton on a frame, with cairo. */
#include "pose/pose_draw.h"

#include "pose/pose_cmap.h"

#include <cairo.h>
#include <math.h>
#include <stdint.h>

#define FAR 1e6 /* px; cairo's 24.8 fixed point wraps near 8e6, so farther points are skipped */

int pose_style_check(const pose_style *s, vas_err *e)
{
    int i;

    if (!s || s->n_parts < 1 || s->n_parts > POSE_MODEL_MAX_PARTS)
        return err_set(e, VAS_EINVAL, "a pose style needs 1 to %d bodyparts", POSE_MODEL_MAX_PARTS);
    if (!(s->radius >= 0 && s->radius <= FAR) || !(s->line_width >= 0 && s->line_width <= FAR))
        return err_set(e, VAS_EINVAL, "dot radius and line width must be 0 to %g px", FAR);
    if (!(s->alpha >= 0 && s->alpha <= 1))
        return err_set(e, VAS_EINVAL, "alpha must be 0 to 1");
    if (s->n_skeleton < 0 || (s->n_skeleton > 0 && !s->skeleton))
        return err_set(e, VAS_EINVAL, "skeleton pairs are missing");
    for (i = 0; i < s->n_skeleton; i++) {
        int a = s->skeleton[i][0], b = s->skeleton[i][1];
        if (a < 0 || a >= s->n_parts || b < 0 || b >= s->n_parts)
            return err_set(e, VAS_EINVAL, "skeleton pair %d names a bodypart out of range", i);
    }
    return VAS_OK;
}

int pose_style_colors(pose_style *s, const char *cmap, int one_colour, vas_err *e)
{
    for (int i = 0; i < s->n_parts && i < POSE_MODEL_MAX_PARTS; i++) {
        int rc = one_colour ? pose_cmap_color(cmap, 0, 1, s->rgb[i], e)
                            : pose_cmap_color(cmap, i, s->n_parts, s->rgb[i], e);
        if (rc < 0)
            return rc;
        for (int c = 0; c < 3; c++) /* DLC: (C[:, :3] * 255).astype(np.uint8) */
            s->rgb[i][c] = floor(s->rgb[i][c] * 255) / 255;
    }
    return VAS_OK;
}

int pose_style_init(pose_style *s, const pose_model *m, vas_err *e)
{
    int rc;

    *s = (pose_style){0};
    if (m->n_bodyparts < 1 || m->n_bodyparts > POSE_MODEL_MAX_PARTS)
        return err_set(e, VAS_EINVAL, "model %s has %d bodyparts; 1 to %d can be drawn",
                       m->name ? m->name : "?", m->n_bodyparts, POSE_MODEL_MAX_PARTS);
    s->n_parts = m->n_bodyparts;
    rc = pose_style_colors(s, m->colormap ? m->colormap : "rainbow", 0, e);
    if (rc < 0)
        return rc;
    rc = pose_color_parse(m->skeleton_color ? m->skeleton_color : "black", s->skel_rgb, e);
    if (rc < 0)
        return rc;
    s->radius = m->dotsize > 0 ? m->dotsize : 0;
    s->alpha = m->alphavalue < 0 ? 0 : m->alphavalue > 1 ? 1 : m->alphavalue;
    if (isnan(m->alphavalue))
        s->alpha = 1;
    s->pcutoff = m->pcutoff;
    s->skeleton = m->skeleton;
    s->n_skeleton = m->n_skeleton;
    s->line_width = fmax(1.0, s->radius / 3);
    return pose_style_check(s, e);
}

/* 1 if (x, y) can be drawn: finite and near. */
static int near(const double *p)
{
    return fabs(p[0]) <= FAR && fabs(p[1]) <= FAR;
}

/* 1 if part i of xyl is drawn: not hidden, likelihood > pcutoff (false for NaN) and a finite,
 * near point. */
static int shown(const pose_style *s, const double *xyl, int i)
{
    const double *p = xyl + 3 * i;

    return !s->hide[i] && p[2] > s->pcutoff && near(p);
}

/* The opacity of part i's dot: s->alpha, or from its likelihood (pose_style.conf_alpha as
 * DeepLabCut/DeepLabCut: deeplabcut/utils/make_labeled_video.py (_get_default_conf_to_alpha)). */
static double dot_alpha(const pose_style *s, const double *xyl, int i)
{
    double p = xyl[3 * i + 2];

    if (!s->conf_alpha)
        return s->alpha;
    if (s->pcutoff == 0)
        return p;
    return fmin(1, fmax(0, (p - s->pcutoff) / (1 - s->pcutoff)));
}

static void disk(cairo_t *cr, const double *p, double r, const double rgb[3], double alpha)
{
    cairo_new_path(cr);
    cairo_arc(cr, p[0] + 0.5, p[1] + 0.5, r, 0, 2 * M_PI);
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
    cairo_fill(cr);
}

static void draw_skeleton(const pose_style *s, cairo_t *cr, const double *xyl)
{
    int i, any = 0;

    if (s->n_skeleton == 0 || s->line_width <= 0)
        return;
    for (i = 0; i < s->n_skeleton; i++) {
        const double *a = xyl + 3 * s->skeleton[i][0], *b = xyl + 3 * s->skeleton[i][1];
        if (!shown(s, xyl, s->skeleton[i][0]) || !shown(s, xyl, s->skeleton[i][1]))
            continue;
        cairo_move_to(cr, a[0] + 0.5, a[1] + 0.5);
        cairo_line_to(cr, b[0] + 0.5, b[1] + 0.5);
        any = 1;
    }
    if (!any)
        return;
    cairo_set_source_rgba(cr, s->skel_rgb[0], s->skel_rgb[1], s->skel_rgb[2], s->alpha);
    cairo_set_line_width(cr, s->line_width);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_stroke(cr);
}

/* Each shown part: its trail (past poses, newest first), then its dot, as
 * DeepLabCut/DeepLabCut: deeplabcut/utils/make_labeled_video.py (CreateVideo). */
static void draw_dots(const pose_style *s, cairo_t *cr, const double *xyl,
                      const double *const *past, int n_past)
{
    if (s->radius <= 0)
        return;
    for (int i = 0; i < s->n_parts; i++) {
        if (!shown(s, xyl, i))
            continue;
        for (int k = 0; k < n_past; k++)
            if (past[k] && near(past[k] + 3 * i))
                disk(cr, past[k] + 3 * i, s->radius, s->rgb[i], s->alpha);
        disk(cr, xyl + 3 * i, s->radius, s->rgb[i], dot_alpha(s, xyl, i));
    }
}

int pose_frame_check(const uint8_t *bgrx, int w, int h, int stride, vas_err *e)
{
    if (!bgrx || w < 1 || h < 1 || w > 32767 || h > 32767)
        return err_set(e, VAS_EINVAL, "frame must be 1 to 32767 pixels a side");
    if (stride < 4 * w || stride % 4 != 0 || (uintptr_t)bgrx % 4 != 0)
        return err_set(e, VAS_EINVAL, "frame stride %d must be a multiple of 4 of at least %d",
                       stride, 4 * w);
    return VAS_OK;
}

int pose_draw(const pose_style *s, uint8_t *bgrx, int w, int h, int stride, const double *xyl,
              vas_err *e)
{
    return pose_draw_trail(s, bgrx, w, h, stride, xyl, NULL, 0, e);
}

int pose_draw_trail(const pose_style *s, uint8_t *bgrx, int w, int h, int stride, const double *xyl,
                    const double *const *past, int n_past, vas_err *e)
{
    cairo_surface_t *surf;
    cairo_t *cr;
    int rc = pose_style_check(s, e);

    if (rc < 0)
        return rc;
    if (!xyl)
        return err_set(e, VAS_EINVAL, "no pose to draw");
    rc = pose_frame_check(bgrx, w, h, stride, e);
    if (rc < 0)
        return rc;
    surf = cairo_image_surface_create_for_data(bgrx, CAIRO_FORMAT_RGB24, w, h, stride);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return err_set(e, VAS_ENOMEM, "cannot wrap a %dx%d frame for drawing", w, h);
    }
    cr = cairo_create(surf);
    draw_skeleton(s, cr, xyl);
    draw_dots(s, cr, xyl, past, n_past < 0 || !past ? 0 : n_past);
    rc = cairo_status(cr) == CAIRO_STATUS_SUCCESS ? VAS_OK : VAS_ENOMEM;
    cairo_destroy(cr);
    cairo_surface_flush(surf);
    cairo_surface_destroy(surf);
    if (rc < 0)
        return err_set(e, rc, "cairo could not draw on a %dx%d frame", w, h);
    return VAS_OK;
}
