/* pose_view3d.h - a 3D skeleton panel for triangulated poses (label_3d): a perspective view of
 * each frame's 3D points with a floor grid, labelled x/y/z axes, skeleton lines and dots in the
 * part colours, drawn with cairo into a BGRx frame (the layout of pose_draw.h).
 * Owns: the viewpoint (pose_view3d), chosen once from the data's extent so that every frame of a
 * video is seen from the same place, and the drawing.
 * Not: triangulation (geom/), styles (pose_draw.h).
 * The view is matplotlib's default 3D one: z up, looking from azimuth -60°, elevation 25°, at the
 * centre of the points' bounding box from a distance that fits the box in the panel.
 * Threads: any; a pose_view3d is read-only once made and can be shared. */
#ifndef VAS_POSE_VIEW3D_H
#define VAS_POSE_VIEW3D_H

#include "core/err.h"
#include "pose/pose_draw.h"

#include <stdint.h>

typedef struct pose_view3d {
    int w, h;               /* panel size in px */
    double lo[3], hi[3];    /* box drawn: floor grid at z = lo[2], axes along its edges */
    double centre[3];       /* what the camera looks at */
    double eye[3];          /* camera position */
    double right[3], up[3]; /* camera axes (unit): screen x, screen y (up) */
    double fwd[3];          /* viewing direction (unit) */
    double focal;           /* px per unit of (lateral / depth) */
} pose_view3d;

/* Chooses the view from the finite rows of xyz (borrowed; n_points x (x, y, z); rows with a NaN
 * or infinite coordinate are left out): their bounding box (flat sides padded), its centre, and a
 * camera that fits the box in a w x h panel. No finite points (or n_points 0, xyz NULL): the box
 * -1..1 on each axis. VAS_EINVAL for a panel under 16 px or over 32767 px a side. */
int pose_view3d_init(pose_view3d *v, const double *xyz, int64_t n_points, int w, int h, vas_err *e);
/* Screen position of p in the panel; 0 if p is behind the camera or not finite (sx, sy unset). */
int pose_view3d_project(const pose_view3d *v, const double p[3], double *sx, double *sy);
/* Clears bgrx (borrowed, w x h as at init, stride as in pose_draw.h) to white and draws the grid,
 * the axes with their names and tick values, skeleton lines (both ends finite) and s->n_parts dots
 * from xyz_parts (n_parts x (x, y, z), NaN = missing), farthest first, opaque, radius s->radius.
 * VAS_EINVAL for a size other than init's or a bad style or stride. */
int pose_view3d_draw(const pose_view3d *v, const pose_style *s, uint8_t *bgrx, int w, int h,
                     int stride, const double *xyz_parts, vas_err *e);

#endif
