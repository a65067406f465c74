/* pose_view3d.c - perspective 3D skeleton panel with cairo. */
#include "pose/pose_view3d.h"

#include "pose/pose_plot.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>

#define AZIM     (-60.0 * M_PI / 180)
#define ELEV     (25.0 * M_PI / 180)
#define HALF_FOV (20.0 * M_PI / 180)
#define FILL     0.40 /* the box's bounding sphere spans this fraction of min(w, h) each side */
#define FONT     "DejaVu Sans"

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void unit3(double a[3])
{
    double n = sqrt(dot3(a, a));

    a[0] /= n, a[1] /= n, a[2] /= n;
}

/* Bounding box of the finite rows; 0 if there are none. */
static int bbox(const double *xyz, int64_t n, double lo[3], double hi[3])
{
    int64_t i;
    int c, any = 0;

    for (c = 0; c < 3; c++)
        lo[c] = INFINITY, hi[c] = -INFINITY;
    for (i = 0; xyz && i < n; i++) {
        const double *p = xyz + 3 * i;
        if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2]))
            continue;
        any = 1;
        for (c = 0; c < 3; c++)
            lo[c] = fmin(lo[c], p[c]), hi[c] = fmax(hi[c], p[c]);
    }
    return any;
}

int pose_view3d_init(pose_view3d *v, const double *xyz, int64_t n_points, int w, int h, vas_err *e)
{
    double size = 0, diag2 = 0, r, d, dir[3], zup[3] = {0, 0, 1};
    int c;

    *v = (pose_view3d){0};
    if (w < 16 || h < 16 || w > 32767 || h > 32767)
        return err_set(e, VAS_EINVAL, "a 3D panel must be 16 to 32767 pixels a side");
    v->w = w;
    v->h = h;
    if (!bbox(xyz, n_points, v->lo, v->hi))
        for (c = 0; c < 3; c++)
            v->lo[c] = -1, v->hi[c] = 1;
    for (c = 0; c < 3; c++)
        size = fmax(size, v->hi[c] - v->lo[c]);
    size = size > 0 && isfinite(size) ? size : 2;
    for (c = 0; c < 3; c++) {
        double pad = fmax(0, 0.1 * size - (v->hi[c] - v->lo[c])) / 2; /* flat sides: 10% */
        v->lo[c] -= pad, v->hi[c] += pad;
        v->centre[c] = (v->lo[c] + v->hi[c]) / 2;
        diag2 += (v->hi[c] - v->lo[c]) * (v->hi[c] - v->lo[c]);
    }
    r = sqrt(diag2) / 2;
    d = r / sin(HALF_FOV);
    dir[0] = cos(ELEV) * cos(AZIM), dir[1] = cos(ELEV) * sin(AZIM), dir[2] = sin(ELEV);
    for (c = 0; c < 3; c++) {
        v->eye[c] = v->centre[c] + d * dir[c];
        v->fwd[c] = -dir[c];
    }
    /* right = fwd x z, up = right x fwd */
    v->right[0] = v->fwd[1] * zup[2] - v->fwd[2] * zup[1];
    v->right[1] = v->fwd[2] * zup[0] - v->fwd[0] * zup[2];
    v->right[2] = v->fwd[0] * zup[1] - v->fwd[1] * zup[0];
    unit3(v->right);
    v->up[0] = v->right[1] * v->fwd[2] - v->right[2] * v->fwd[1];
    v->up[1] = v->right[2] * v->fwd[0] - v->right[0] * v->fwd[2];
    v->up[2] = v->right[0] * v->fwd[1] - v->right[1] * v->fwd[0];
    v->focal = FILL * (w < h ? w : h) / tan(HALF_FOV);
    return VAS_OK;
}

int pose_view3d_project(const pose_view3d *v, const double p[3], double *sx, double *sy)
{
    double q[3] = {p[0] - v->eye[0], p[1] - v->eye[1], p[2] - v->eye[2]}, z;

    if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2]))
        return 0;
    z = dot3(q, v->fwd);
    if (!(z > 1e-9 * (1 + fabs(v->focal))))
        return 0;
    *sx = v->w / 2.0 + v->focal * dot3(q, v->right) / z;
    *sy = v->h / 2.0 - v->focal * dot3(q, v->up) / z;
    return fabs(*sx) < 1e6 && fabs(*sy) < 1e6;
}

/* A 3D segment a-b, if both ends project. */
static void seg3(cairo_t *cr, const pose_view3d *v, const double a[3], const double b[3])
{
    double x0, y0, x1, y1;

    if (pose_view3d_project(v, a, &x0, &y0) && pose_view3d_project(v, b, &x1, &y1)) {
        cairo_move_to(cr, x0, y0);
        cairo_line_to(cr, x1, y1);
    }
}

static void label3(cairo_t *cr, const pose_view3d *v, const double p[3], const char *s, double pt)
{
    cairo_text_extents_t te;
    double x, y;

    if (!pose_view3d_project(v, p, &x, &y))
        return;
    cairo_set_font_size(cr, pt);
    cairo_text_extents(cr, s, &te);
    cairo_move_to(cr, x - te.x_advance / 2, y + te.height / 2);
    cairo_show_text(cr, s);
}

/* Floor grid at z = lo[2]: lines across x and y at tick steps. */
static void draw_grid(cairo_t *cr, const pose_view3d *v)
{
    int k, i;

    for (k = 0; k < 2; k++) {
        double step = pose_plot_tick_step(v->lo[k], v->hi[k], 5), t = ceil(v->lo[k] / step) * step;
        for (i = 0; i < 40 && t <= v->hi[k]; i++, t += step) {
            double a[3] = {v->lo[0], v->lo[1], v->lo[2]}, b[3] = {v->hi[0], v->hi[1], v->lo[2]};
            a[k] = b[k] = t;
            seg3(cr, v, a, b);
        }
    }
    cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
}

/* Axis k along the box edge from the corner lo, with tick values and its name past the end. */
static void draw_axis(cairo_t *cr, const pose_view3d *v, int k)
{
    static const char *const NAME[] = {"x", "y", "z"};
    double a[3] = {v->lo[0], v->lo[1], v->lo[2]}, b[3], step, t, off = 0.08 * (v->hi[k] - v->lo[k]);
    char buf[32];
    int i, dec;

    b[0] = a[0], b[1] = a[1], b[2] = a[2];
    b[k] = v->hi[k];
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1.5);
    seg3(cr, v, a, b);
    cairo_stroke(cr);
    step = pose_plot_tick_step(v->lo[k], v->hi[k], 4);
    dec = step >= 1 ? 0 : (int)-floor(log10(step) + 1e-9);
    for (i = 0, t = ceil(v->lo[k] / step) * step; i < 20 && t <= v->hi[k]; i++, t += step) {
        double p[3] = {a[0], a[1], a[2]};
        if (k > 0 && fabs(t - v->lo[k]) < step * 1e-6)
            continue; /* the corner is labelled by x's first tick */
        p[k] = t;
        p[k == 0 ? 1 : 0] -= off; /* beside the edge, outside the box */
        snprintf(buf, sizeof(buf), "%.*f", dec, fabs(t) < step * 1e-6 ? 0.0 : t);
        label3(cr, v, p, buf, 10);
    }
    b[k] += 2 * off;
    label3(cr, v, b, NAME[k], 15);
}

static void draw_skeleton3(cairo_t *cr, const pose_view3d *v, const pose_style *s,
                           const double *xyz)
{
    int i;

    for (i = 0; i < s->n_skeleton; i++)
        seg3(cr, v, xyz + 3 * s->skeleton[i][0], xyz + 3 * s->skeleton[i][1]);
    cairo_set_source_rgba(cr, s->skel_rgb[0], s->skel_rgb[1], s->skel_rgb[2], s->alpha);
    cairo_set_line_width(cr, s->line_width);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_stroke(cr);
}

/* Dots, farthest first so nearer ones cover them. */
static void draw_dots3(cairo_t *cr, const pose_view3d *v, const pose_style *s, const double *xyz)
{
    int order[POSE_MODEL_MAX_PARTS], n = 0, i, j;
    double depth[POSE_MODEL_MAX_PARTS], x, y;

    for (i = 0; i < s->n_parts; i++) {
        const double *p = xyz + 3 * i;
        double q[3] = {p[0] - v->eye[0], p[1] - v->eye[1], p[2] - v->eye[2]};
        if (!pose_view3d_project(v, p, &x, &y))
            continue;
        depth[i] = dot3(q, v->fwd);
        for (j = n++; j > 0 && depth[order[j - 1]] < depth[i]; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (j = 0; j < n; j++) {
        i = order[j];
        pose_view3d_project(v, xyz + 3 * i, &x, &y);
        cairo_new_path(cr);
        cairo_arc(cr, x, y, s->radius, 0, 2 * M_PI);
        cairo_set_source_rgb(cr, s->rgb[i][0], s->rgb[i][1], s->rgb[i][2]);
        cairo_fill_preserve(cr);
        cairo_set_source_rgba(cr, 0, 0, 0, 0.5);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
    }
}

int pose_view3d_draw(const pose_view3d *v, const pose_style *s, uint8_t *bgrx, int w, int h,
                     int stride, const double *xyz_parts, vas_err *e)
{
    cairo_surface_t *surf;
    cairo_t *cr;
    int rc = pose_style_check(s, e);

    if (rc < 0)
        return rc;
    if (!xyz_parts)
        return err_set(e, VAS_EINVAL, "no 3D pose to draw");
    if (w != v->w || h != v->h)
        return err_set(e, VAS_EINVAL, "the panel is %dx%d but the view was made for %dx%d", w, h,
                       v->w, v->h);
    rc = pose_frame_check(bgrx, w, h, stride, e);
    if (rc < 0)
        return rc;
    surf = cairo_image_surface_create_for_data(bgrx, CAIRO_FORMAT_RGB24, w, h, stride);
    cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    draw_grid(cr, v);
    draw_axis(cr, v, 0);
    draw_axis(cr, v, 1);
    draw_axis(cr, v, 2);
    draw_skeleton3(cr, v, s, xyz_parts);
    draw_dots3(cr, v, s, xyz_parts);
    rc = cairo_status(cr) == CAIRO_STATUS_SUCCESS ? VAS_OK : VAS_ENOMEM;
    cairo_destroy(cr);
    cairo_surface_flush(surf);
    cairo_surface_destroy(surf);
    if (rc < 0)
        return err_set(e, rc, "cairo could not draw a %dx%d 3D panel", w, h);
    return VAS_OK;
}
