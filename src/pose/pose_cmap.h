/* pose_cmap.h - matplotlib colours as DeepLabCut uses them: named colormaps (config.yaml
 * `colormap`, one colour per bodypart) and colour specs (config.yaml `skeleton_color`).
 * Colormaps are computed from their matplotlib definitions (gnuplot formulas, linear segments),
 * never from copied tables: rainbow (DLC's default), jet, hsv, hot, cool, spring, summer,
 * autumn, winter, gray, bwr, brg, gnuplot, ocean, afmhot, binary, each also reversed as "<name>_r".
 * Not in the list: the perceptual maps (viridis and friends), which are fitted tables.
 * Not: drawing (pose_draw.h). Threads: any; everything here is pure and constant. */
#ifndef VAS_POSE_CMAP_H
#define VAS_POSE_CMAP_H

#include "core/err.h"

#define POSE_CMAP_N 256 /* entries in a matplotlib colormap's lookup table */

/* Entry k (0..255) of colormap name's 256-entry lookup table, as matplotlib builds it
 * (values clipped to 0..1). VAS_EINVAL naming the known colormaps if name is unknown. */
int pose_cmap_lut(const char *name, int k, double rgb[3], vas_err *e);
/* The index DeepLabCut's create_labeled_video takes for bodypart i of n:
 * cmap(linspace(0, 1, n)[i]) = entry min(floor(256·i/(n−1)), 255); entry 0 when n = 1. */
int pose_cmap_index(int i, int n);
/* Colour of bodypart i of n in colormap name: pose_cmap_lut(name, pose_cmap_index(i, n)). */
int pose_cmap_color(const char *name, int i, int n, double rgb[3], vas_err *e);
/* A matplotlib colour spec: base names ("black", "red", "grey", "orange", ... case-insensitive),
 * single letters "k w r g b c m y" (matplotlib's own shades), "#rrggbb", "#rgb", "C0".."C9" and
 * "tab:blue".. (the default colour cycle), and a grey level "0.0".."1.0". VAS_EINVAL if unknown. */
int pose_color_parse(const char *s, double rgb[3], vas_err *e);

#endif
