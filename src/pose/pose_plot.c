/* pose_plot.c - trajectories, likelihood and displacement plots with cairo.
 *
 * A figure is a white surface with one plot area (axes) on the left and a legend column on the
 * right. Data go through axes_x/axes_y (data -> pixel); tick steps are 1, 2 or 5 x 10^k. */
#include "pose/pose_plot.h"

#include "pose/pose_layout.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT       "DejaVu Sans"
#define TITLE_PT   17.0
#define LABEL_PT   14.0
#define TICK_PT    12.0
#define LEGEND_PT  13.0
#define MARGIN_L   80.0
#define MARGIN_T   48.0
#define MARGIN_B   62.0
#define LEGEND_MAX 200.0 /* px of legend text before names are cut */

typedef struct fig {
    cairo_surface_t *surf;
    cairo_t *cr;
    int w, h;
} fig;

typedef struct axes {
    double px0, py0, px1, py1; /* plot area in pixels: left, top, right, bottom */
    double lo[2], hi[2];       /* data range of x and y */
    int y_down;                /* 1: y grows downwards (image coordinates) */
} axes;

/* ---- figure, text ---- */

static int fig_begin(fig *f, int w, int h, vas_err *e)
{
    f->w = w;
    f->h = h;
    f->surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    f->cr = cairo_create(f->surf);
    if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(f->cr);
        cairo_surface_destroy(f->surf);
        return err_set(e, VAS_ENOMEM, "cannot make a %dx%d plot", w, h);
    }
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    cairo_select_font_face(f->cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    return VAS_OK;
}

/* Writes f to path through "<path>.part" and frees f, also on error. */
static int fig_end(fig *f, const char *path, vas_err *e)
{
    char *part = NULL;
    int rc = cairo_status(f->cr) == CAIRO_STATUS_SUCCESS
                 ? VAS_OK
                 : err_set(e, VAS_ENOMEM, "cairo could not draw the plot %s", path);

    cairo_destroy(f->cr);
    if (rc == VAS_OK)
        rc = pose_part_path(path, &part, e);
    if (rc == VAS_OK && cairo_surface_write_to_png(f->surf, part) != CAIRO_STATUS_SUCCESS) {
        remove(part);
        rc = err_set(e, VAS_EIO, "cannot write the plot %s", part);
    }
    if (rc == VAS_OK)
        rc = pose_part_commit(part, path, e);
    free(part);
    cairo_surface_destroy(f->surf);
    return rc;
}

/* Text with its anchor at (x, y): ha 0 left .. 1 right, va 0 top .. 1 baseline-ish bottom. */
static void text(cairo_t *cr, double x, double y, const char *s, double pt, double ha, double va)
{
    cairo_text_extents_t te;
    cairo_font_extents_t fe;

    cairo_set_font_size(cr, pt);
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    cairo_move_to(cr, x - te.x_advance * ha, y + fe.ascent - (fe.ascent + fe.descent) * va);
    cairo_show_text(cr, s);
}

static double text_w(cairo_t *cr, const char *s, double pt)
{
    cairo_text_extents_t te;

    cairo_set_font_size(cr, pt);
    cairo_text_extents(cr, s, &te);
    return te.x_advance;
}

static const char *part_name(const pose_track *t, int i, char *buf, size_t n)
{
    if (t->names && t->names[i])
        return t->names[i];
    snprintf(buf, n, "part %d", i);
    return buf;
}

/* ---- axes ---- */

static double axes_x(const axes *a, double v)
{
    return a->px0 + (v - a->lo[0]) / (a->hi[0] - a->lo[0]) * (a->px1 - a->px0);
}

static double axes_y(const axes *a, double v)
{
    double u = (v - a->lo[1]) / (a->hi[1] - a->lo[1]);

    return a->y_down ? a->py0 + u * (a->py1 - a->py0) : a->py1 - u * (a->py1 - a->py0);
}

double pose_plot_tick_step(double lo, double hi, int want)
{
    double raw = (hi - lo) / want, mag, norm;

    if (!(raw > 0) || !isfinite(raw))
        return 1;
    mag = pow(10, floor(log10(raw)));
    norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
}

static void tick_label(char *buf, size_t n, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)-floor(log10(step) + 1e-9);

    if (fabs(v) < step * 1e-6)
        v = 0; /* no "-0" */
    snprintf(buf, n, "%.*f", dec, v);
}

/* Ticks and labels along axis k (0 x, 1 y), light grid lines across the plot area. */
static void axes_ticks(cairo_t *cr, const axes *a, int k)
{
    double step = pose_plot_tick_step(a->lo[k], a->hi[k], k == 0 ? 8 : 6), v;
    char buf[64];
    int i;

    v = ceil(a->lo[k] / step - 1e-9) * step;
    for (i = 0; i < 60 && v <= a->hi[k] + step * 1e-9; i++, v += step) {
        double p = k == 0 ? axes_x(a, v) : axes_y(a, v);
        tick_label(buf, sizeof(buf), v, step);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_set_line_width(cr, 1);
        if (k == 0) {
            cairo_move_to(cr, floor(p) + 0.5, a->py0);
            cairo_line_to(cr, floor(p) + 0.5, a->py1);
        } else {
            cairo_move_to(cr, a->px0, floor(p) + 0.5);
            cairo_line_to(cr, a->px1, floor(p) + 0.5);
        }
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        if (k == 0) {
            cairo_move_to(cr, floor(p) + 0.5, a->py1);
            cairo_line_to(cr, floor(p) + 0.5, a->py1 + 5);
            cairo_stroke(cr);
            text(cr, p, a->py1 + 8, buf, TICK_PT, 0.5, 0);
        } else {
            cairo_move_to(cr, a->px0 - 5, floor(p) + 0.5);
            cairo_line_to(cr, a->px0, floor(p) + 0.5);
            cairo_stroke(cr);
            text(cr, a->px0 - 8, p, buf, TICK_PT, 1, 0.5);
        }
    }
}

/* Frame, ticks, axis labels and title; leaves the plot area clipped for the data. */
static void axes_draw(cairo_t *cr, const axes *a, const char *xl, const char *yl, const char *title)
{
    cairo_save(cr);
    axes_ticks(cr, a, 0);
    axes_ticks(cr, a, 1);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, floor(a->px0) + 0.5, floor(a->py0) + 0.5, floor(a->px1 - a->px0),
                    floor(a->py1 - a->py0));
    cairo_stroke(cr);
    text(cr, (a->px0 + a->px1) / 2, a->py1 + 32, xl, LABEL_PT, 0.5, 0);
    cairo_move_to(cr, 0, 0);
    cairo_translate(cr, 14, (a->py0 + a->py1) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, yl, LABEL_PT, 0.5, 0);
    cairo_restore(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    text(cr, (a->px0 + a->px1) / 2, 14, title, TITLE_PT, 0.5, 0);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_rectangle(cr, a->px0, a->py0, a->px1 - a->px0, a->py1 - a->py0);
    cairo_clip(cr);
}

static void axes_note(cairo_t *cr, const axes *a, const char *msg)
{
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    text(cr, (a->px0 + a->px1) / 2, (a->py0 + a->py1) / 2, msg, LABEL_PT, 0.5, 0.5);
}

/* ---- legend ---- */

/* Width the legend column needs: swatch + longest name (capped). */
static double legend_w(cairo_t *cr, const pose_track *t, const char *extra)
{
    double m = extra ? text_w(cr, extra, LEGEND_PT) : 0;
    char buf[32];
    int i;

    for (i = 0; i < t->n_parts; i++)
        m = fmax(m, text_w(cr, part_name(t, i, buf, sizeof(buf)), LEGEND_PT));
    return 40 + fmin(m, LEGEND_MAX) + 16;
}

/* One legend row at y: a swatch (dot, or line when `line`) and the name, cut at LEGEND_MAX. */
static void legend_row(cairo_t *cr, double x, double y, const double rgb[3], int line, double pt,
                       const char *name)
{
    cairo_save(cr);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    if (line) {
        cairo_set_line_width(cr, 3);
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x + 26, y);
        cairo_stroke(cr);
    } else {
        cairo_arc(cr, x + 13, y, 6, 0, 2 * M_PI);
        cairo_fill(cr);
    }
    cairo_rectangle(cr, x + 34, y - pt, LEGEND_MAX, 2 * pt);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, x + 34, y, name, pt, 0, 0.5);
    cairo_restore(cr);
}

/* Legend rows: up to 24 px apart, closer (and smaller text) when many parts must fit. */
static double legend_row_h(const pose_track *t, const axes *a)
{
    return fmin(24, (a->py1 - a->py0) / (t->n_parts + 1));
}

static double legend_row_y(const pose_track *t, const axes *a, int i)
{
    return a->py0 + legend_row_h(t, a) * (i + 0.5);
}

/* A grey dashed horizontal line from (x0, y) to (x1, y): the pcutoff mark. */
static void dashed(cairo_t *cr, double x0, double y, double x1)
{
    cairo_save(cr);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1.5);
    cairo_set_dash(cr, (const double[]){6, 4}, 2, 0);
    cairo_move_to(cr, x0, y);
    cairo_line_to(cr, x1, y);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* Legend column from x, one row a part (smaller text for many parts). */
static void legend_draw(cairo_t *cr, const pose_track *t, const pose_style *s, const axes *a,
                        double x, int line)
{
    double pt = fmin(LEGEND_PT, legend_row_h(t, a) * 0.75);
    char buf[32];
    int i;

    cairo_reset_clip(cr);
    for (i = 0; i < t->n_parts; i++)
        legend_row(cr, x, legend_row_y(t, a, i), s->rgb[i], line, pt,
                   part_name(t, i, buf, sizeof(buf)));
}

/* ---- checks, shared layout ---- */

static int track_check(const pose_track *t, const pose_style *s, const char *path, vas_err *e)
{
    int rc = pose_style_check(s, e);

    if (rc < 0)
        return rc;
    if (!t || !t->xyl || t->n_frames < 1)
        return err_set(e, VAS_EINVAL, "there are no frames to plot");
    if (t->n_parts != s->n_parts)
        return err_set(e, VAS_EINVAL, "the track has %d bodyparts but the style %d", t->n_parts,
                       s->n_parts);
    if (t->n_frames > INT64_MAX / 3 / t->n_parts)
        return err_set(e, VAS_EINVAL, "too many frames to plot");
    if (!path || !*path)
        return err_set(e, VAS_EINVAL, "no path for the plot");
    return VAS_OK;
}

static const double *pt_at(const pose_track *t, int64_t f, int p)
{
    return t->xyl + ((size_t)f * (size_t)t->n_parts + (size_t)p) * 3;
}

static int shown(const pose_track *t, const pose_style *s, int64_t f, int p)
{
    const double *q = pt_at(t, f, p);

    /* DeepLabCut/DeepLabCut: deeplabcut/utils/plotting.py (PlottingResults) masks
     * likelihood < pcutoff, so a point at pcutoff is shown (the labeled video's rule is > ). */
    return q[2] >= s->pcutoff && isfinite(q[0]) && isfinite(q[1]);
}

/* Plot area left of a legend of width lw in a w x h figure. */
static axes axes_layout(int w, int h, double lw)
{
    axes a = {0};

    a.px0 = MARGIN_L;
    a.py0 = MARGIN_T;
    a.px1 = w - lw - 16;
    a.py1 = h - MARGIN_B;
    return a;
}

/* ---- trajectories ---- */

/* Data range: the frame (0..width, 0..height) or, without a frame size, the points' extent;
 * then the plot area shrunk to give x and y the same scale. Returns 1 if any point is shown. */
static int traj_range(const pose_track *t, const pose_style *s, axes *a)
{
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY}, sx, sy, k;
    int64_t f;
    int p, any = 0, c;

    for (f = 0; f < t->n_frames; f++)
        for (p = 0; p < t->n_parts; p++) {
            if (!shown(t, s, f, p))
                continue;
            any = 1;
            for (c = 0; c < 2; c++) {
                lo[c] = fmin(lo[c], pt_at(t, f, p)[c]);
                hi[c] = fmax(hi[c], pt_at(t, f, p)[c]);
            }
        }
    if (t->width > 0 && t->height > 0) {
        lo[0] = lo[1] = 0;
        hi[0] = t->width;
        hi[1] = t->height;
    }
    for (c = 0; c < 2; c++) {
        if (!(hi[c] > lo[c]) || !isfinite(hi[c] - lo[c])) {
            double m = isfinite(lo[c]) ? lo[c] : 0;
            lo[c] = m - 1, hi[c] = m + 1;
        }
        a->lo[c] = lo[c], a->hi[c] = hi[c];
    }
    sx = (a->px1 - a->px0) / (hi[0] - lo[0]);
    sy = (a->py1 - a->py0) / (hi[1] - lo[1]);
    k = fmin(sx, sy);
    a->px0 += ((a->px1 - a->px0) - k * (hi[0] - lo[0])) / 2; /* centred in the room left */
    a->px1 = a->px0 + k * (hi[0] - lo[0]);
    a->py1 = a->py0 + k * (hi[1] - lo[1]);
    a->y_down = 1;
    return any;
}

static void traj_part(cairo_t *cr, const pose_track *t, const pose_style *s, const axes *a, int p)
{
    int64_t step = (t->n_frames + POSE_PLOT_MAX_SEGS - 1) / POSE_PLOT_MAX_SEGS, f;
    int pen = 0;

    for (f = 0; f < t->n_frames; f += step) {
        const double *q = pt_at(t, f, p);
        if (!shown(t, s, f, p)) {
            pen = 0;
            continue;
        }
        if (!pen)
            cairo_move_to(cr, axes_x(a, q[0]), axes_y(a, q[1]));
        cairo_line_to(cr, axes_x(a, q[0]), axes_y(a, q[1])); /* a lone point: a round dot */
        pen = 1;
    }
    cairo_set_source_rgba(cr, s->rgb[p][0], s->rgb[p][1], s->rgb[p][2], s->alpha);
    cairo_stroke(cr);
}

int pose_plot_trajectories(const pose_track *t, const pose_style *s, const char *png_path,
                           vas_err *e)
{
    fig f;
    axes a, full;
    double lw;
    char title[96], note[96];
    int rc = track_check(t, s, png_path, e), p;

    if (rc < 0 || (rc = fig_begin(&f, POSE_PLOT_W, POSE_PLOT_H, e)) < 0)
        return rc;
    lw = legend_w(f.cr, t, NULL);
    a = full = axes_layout(f.w, f.h, lw);
    snprintf(title, sizeof(title), "Trajectories (likelihood >= %g)", s->pcutoff);
    if (!traj_range(t, s, &a)) {
        snprintf(note, sizeof(note), "No points at or above pcutoff %g", s->pcutoff);
        axes_draw(f.cr, &a, "X position (px)", "Y position (px)", title);
        axes_note(f.cr, &a, note);
    } else {
        axes_draw(f.cr, &a, "X position (px)", "Y position (px)", title);
        cairo_set_line_width(f.cr, 1.5);
        cairo_set_line_cap(f.cr, CAIRO_LINE_CAP_ROUND);
        cairo_set_line_join(f.cr, CAIRO_LINE_JOIN_ROUND);
        for (p = 0; p < t->n_parts; p++)
            traj_part(f.cr, t, s, &a, p);
    }
    legend_draw(f.cr, t, s, &full, f.w - lw + 4, 0);
    return fig_end(&f, png_path, e);
}

/* ---- likelihood ---- */

static double time_of(const pose_track *t, double frame)
{
    return t->fps > 0 ? frame / t->fps : frame;
}

/* Channel c (0 x, 1 y, 2 likelihood) of part p over time as one path, min then max per bucket of
 * frames once decimated (so dips show): every finite value (masked = 0) or only the points
 * shown (masked = 1; a bucket with none breaks the path). The caller strokes it. */
static void series_path(cairo_t *cr, const pose_track *t, const pose_style *s, const axes *a, int p,
                        int c, int masked)
{
    int64_t nb = t->n_frames < POSE_PLOT_MAX_SEGS / 2 ? t->n_frames : POSE_PLOT_MAX_SEGS / 2, b, f;
    int pen = 0;

    for (b = 0; b < nb; b++) {
        int64_t f0 = b * t->n_frames / nb, f1 = (b + 1) * t->n_frames / nb;
        double lo = INFINITY, hi = -INFINITY, x;
        for (f = f0; f < f1; f++) {
            double v = pt_at(t, f, p)[c];
            if (masked ? shown(t, s, f, p) : isfinite(v))
                lo = fmin(lo, v), hi = fmax(hi, v);
        }
        if (!isfinite(lo)) {
            pen = 0;
            continue;
        }
        x = axes_x(a, time_of(t, (double)(f0 + f1 - 1) / 2));
        if (!pen)
            cairo_move_to(cr, x, axes_y(a, lo));
        cairo_line_to(cr, x, axes_y(a, lo));
        cairo_line_to(cr, x, axes_y(a, hi));
        pen = 1;
    }
}

/* x axis: time (or frame index) from the first frame to the last. */
static void time_axis(const pose_track *t, axes *a)
{
    a->lo[0] = 0;
    a->hi[0] = time_of(t, (double)(t->n_frames > 1 ? t->n_frames - 1 : 1));
}

static void lik_part(cairo_t *cr, const pose_track *t, const pose_style *s, const axes *a, int p)
{
    series_path(cr, t, s, a, p, 2, 0);
    cairo_set_source_rgba(cr, s->rgb[p][0], s->rgb[p][1], s->rgb[p][2], s->alpha);
    cairo_stroke(cr);
}

static int any_finite_likelihood(const pose_track *t)
{
    int64_t f;
    int p;

    for (f = 0; f < t->n_frames; f++)
        for (p = 0; p < t->n_parts; p++)
            if (isfinite(pt_at(t, f, p)[2]))
                return 1;
    return 0;
}

int pose_plot_likelihood(const pose_track *t, const pose_style *s, const char *png_path, vas_err *e)
{
    fig f;
    axes a;
    double lw, y;
    char lab[64];
    int rc = track_check(t, s, png_path, e), p;

    if (rc < 0 || (rc = fig_begin(&f, POSE_PLOT_WIDE_W, POSE_PLOT_WIDE_H, e)) < 0)
        return rc;
    snprintf(lab, sizeof(lab), "pcutoff %g", s->pcutoff);
    lw = legend_w(f.cr, t, lab);
    a = axes_layout(f.w, f.h, lw);
    time_axis(t, &a);
    a.lo[1] = -0.02;
    a.hi[1] = 1.02;
    axes_draw(f.cr, &a, t->fps > 0 ? "Time (s)" : "Frame index", "Likelihood",
              "Likelihood per bodypart");
    if (!any_finite_likelihood(t))
        axes_note(f.cr, &a, "No likelihood values");
    cairo_set_line_width(f.cr, 1.2);
    cairo_set_line_join(f.cr, CAIRO_LINE_JOIN_ROUND);
    for (p = 0; p < t->n_parts; p++)
        lik_part(f.cr, t, s, &a, p);
    y = axes_y(&a, s->pcutoff);
    dashed(f.cr, a.px0, y, a.px1);
    legend_draw(f.cr, t, s, &a, f.w - lw + 4, 1);
    y = legend_row_y(t, &a, t->n_parts) + 6; /* a row after the parts, a little apart */
    dashed(f.cr, f.w - lw + 4, y, f.w - lw + 30);
    cairo_set_source_rgb(f.cr, 0.1, 0.1, 0.1);
    text(f.cr, f.w - lw + 38, y, lab, LEGEND_PT, 0, 0.5);
    return fig_end(&f, png_path, e);
}

/* ---- x and y over time ---- */

/* y range: the shown x and y values with matplotlib's 5% margin; 0 if none is shown. */
static int pos_range(const pose_track *t, const pose_style *s, axes *a)
{
    double lo = INFINITY, hi = -INFINITY, pad;
    int64_t f;
    int p;

    for (f = 0; f < t->n_frames; f++)
        for (p = 0; p < t->n_parts; p++)
            if (shown(t, s, f, p)) {
                const double *q = pt_at(t, f, p);
                lo = fmin(lo, fmin(q[0], q[1]));
                hi = fmax(hi, fmax(q[0], q[1]));
            }
    if (!isfinite(lo)) {
        a->lo[1] = 0, a->hi[1] = t->height > 0 ? t->height : 1;
        return 0;
    }
    pad = hi > lo ? (hi - lo) * 0.05 : 1;
    a->lo[1] = lo - pad, a->hi[1] = hi + pad;
    return 1;
}

int pose_plot_positions(const pose_track *t, const pose_style *s, const char *png_path, vas_err *e)
{
    fig f;
    axes a;
    double lw;
    char title[96];
    int rc = track_check(t, s, png_path, e), p, c;

    if (rc < 0 || (rc = fig_begin(&f, POSE_PLOT_WIDE_W, POSE_PLOT_WIDE_H, e)) < 0)
        return rc;
    lw = legend_w(f.cr, t, NULL);
    a = axes_layout(f.w, f.h, lw);
    time_axis(t, &a);
    snprintf(title, sizeof(title), "X and Y position per bodypart (likelihood >= %g)", s->pcutoff);
    if (!pos_range(t, s, &a)) {
        axes_draw(f.cr, &a, t->fps > 0 ? "Time (s)" : "Frame index", "Position (px)", title);
        snprintf(title, sizeof(title), "No points at or above pcutoff %g", s->pcutoff);
        axes_note(f.cr, &a, title);
    } else {
        axes_draw(f.cr, &a, t->fps > 0 ? "Time (s)" : "Frame index",
                  "X (dashed) and Y (solid) in px", title);
        cairo_set_line_width(f.cr, 1.2);
        cairo_set_line_join(f.cr, CAIRO_LINE_JOIN_ROUND);
        for (p = 0; p < t->n_parts; p++)
            for (c = 0; c < 2; c++) { /* DeepLabCut: x "--", y "-" */
                series_path(f.cr, t, s, &a, p, c, 1);
                cairo_set_dash(f.cr, (const double[]){5, 3}, c == 0 ? 2 : 0, 0);
                cairo_set_source_rgba(f.cr, s->rgb[p][0], s->rgb[p][1], s->rgb[p][2], s->alpha);
                cairo_stroke(f.cr);
            }
        cairo_set_dash(f.cr, NULL, 0, 0);
    }
    legend_draw(f.cr, t, s, &a, f.w - lw + 4, 1);
    return fig_end(&f, png_path, e);
}

/* ---- histogram ---- */

/* Displacement of part p from frame f-1 to f, or -1 if either end is not shown. */
static double step_px(const pose_track *t, const pose_style *s, int64_t f, int p)
{
    const double *a = pt_at(t, f - 1, p), *b = pt_at(t, f, p);

    if (!shown(t, s, f - 1, p) || !shown(t, s, f, p))
        return -1;
    return hypot(b[0] - a[0], b[1] - a[1]);
}

/* Fills counts[p][bin]; returns the largest count, 0 if no pairs. *dmax: the bins' top. */
static int64_t hist_count(const pose_track *t, const pose_style *s,
                          int64_t counts[][POSE_PLOT_BINS], double *dmax)
{
    int64_t f, top = 0;
    int p, b;
    double m = 0;

    for (f = 1; f < t->n_frames; f++)
        for (p = 0; p < t->n_parts; p++)
            m = fmax(m, step_px(t, s, f, p));
    *dmax = isfinite(m) && m > 0 ? m : 1;
    for (f = 1; f < t->n_frames; f++)
        for (p = 0; p < t->n_parts; p++) {
            double d = step_px(t, s, f, p);
            if (d < 0 || !isfinite(d))
                continue;
            b = (int)(d / *dmax * POSE_PLOT_BINS);
            b = b >= POSE_PLOT_BINS ? POSE_PLOT_BINS - 1 : b;
            counts[p][b]++;
            top = counts[p][b] > top ? counts[p][b] : top;
        }
    return top;
}

static void hist_part(cairo_t *cr, const pose_style *s, const axes *a, const int64_t *c, int p,
                      double dmax)
{
    int b;

    cairo_move_to(cr, axes_x(a, 0), axes_y(a, 0));
    for (b = 0; b < POSE_PLOT_BINS; b++) {
        double x0 = dmax * b / POSE_PLOT_BINS, x1 = dmax * (b + 1) / POSE_PLOT_BINS;
        cairo_line_to(cr, axes_x(a, x0), axes_y(a, (double)c[b]));
        cairo_line_to(cr, axes_x(a, x1), axes_y(a, (double)c[b]));
    }
    cairo_line_to(cr, axes_x(a, dmax), axes_y(a, 0));
    cairo_set_source_rgba(cr, s->rgb[p][0], s->rgb[p][1], s->rgb[p][2], fmax(s->alpha, 0.6));
    cairo_stroke(cr);
}

int pose_plot_histogram(const pose_track *t, const pose_style *s, const char *png_path, vas_err *e)
{
    int64_t(*counts)[POSE_PLOT_BINS] = NULL, top;
    fig f;
    axes a;
    double lw, dmax;
    char title[96], note[96];
    int rc = track_check(t, s, png_path, e), p;

    if (rc < 0)
        return rc;
    counts = calloc((size_t)t->n_parts, sizeof(*counts));
    if (!counts)
        return err_set(e, VAS_ENOMEM, "out of memory counting displacements");
    rc = fig_begin(&f, POSE_PLOT_W, POSE_PLOT_H, e);
    if (rc < 0)
        goto done;
    top = hist_count(t, s, counts, &dmax);
    lw = legend_w(f.cr, t, NULL);
    a = axes_layout(f.w, f.h, lw);
    a.lo[0] = 0;
    a.hi[0] = dmax;
    a.lo[1] = 0;
    a.hi[1] = top > 0 ? (double)top * 1.05 : 1;
    snprintf(title, sizeof(title), "Frame-to-frame displacement (likelihood >= %g)", s->pcutoff);
    axes_draw(f.cr, &a, "Displacement between consecutive frames (px)", "Count", title);
    cairo_set_line_width(f.cr, 1.8);
    cairo_set_line_join(f.cr, CAIRO_LINE_JOIN_MITER);
    for (p = 0; top > 0 && p < t->n_parts; p++)
        hist_part(f.cr, s, &a, counts[p], p, dmax);
    if (top == 0) {
        snprintf(note, sizeof(note), "No consecutive frames at or above pcutoff %g", s->pcutoff);
        axes_note(f.cr, &a, note);
    }
    legend_draw(f.cr, t, s, &a, f.w - lw + 4, 1);
    rc = fig_end(&f, png_path, e);
done:
    free(counts);
    return rc;
}
