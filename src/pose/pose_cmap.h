/* pose_cmap.h - matplotlib colours as DeepLabCut uses them: named colormaps (config.yaml
 * `colormap`, one colour per bodypart) and colour specs (config.yaml `skeleton_color`).
 * Every colormap matplotlib 3.6 registers by name (matplotlib.colormaps, 83 and each reversed
 * as "<name>_r"), of its two kinds:
 *   - segment maps (LinearSegmentedColormap, 256 colours): those whose channels are functions,
 *     computed from their formulas (rainbow, DLC's default, gnuplot, gnuplot2, ocean, afmhot,
 *     cubehelix, flag, prism, gist_gray, gist_heat, gist_yarg), and those given by data,
 *     evaluated from matplotlib's segment data (pose_cmap_tables.h): jet, hsv, hot, cool, spring,
 *     summer, autumn, winter, gray, binary, bone, copper, pink, coolwarm, bwr, brg, seismic,
 *     terrain, CMRmap, Wistia, nipy_spectral, gist_earth, gist_ncar, gist_rainbow, gist_stern,
 *     ColorBrewer's Blues, BuGn, BuPu, GnBu, Greens, Greys, OrRd, Oranges, PuBu, PuBuGn, PuRd,
 *     Purples, RdPu, Reds, YlGn, YlGnBu, YlOrBr, YlOrRd, BrBG, PRGn, PiYG, PuOr, RdBu, RdGy,
 *     RdYlBu, RdYlGn, Spectral;
 *   - listed maps (ListedColormap, N colours), matplotlib's own tables (pose_cmap_tables.h):
 *     viridis, plasma, inferno, magma, cividis, turbo (256), twilight, twilight_shifted (510),
 *     tab10 (10), tab20, tab20b, tab20c (20), Set1 (9), Set2 (8), Set3 (12), Pastel1 (9),
 *     Pastel2 (8), Paired (12), Accent (8), Dark2 (8).
 * Names are case-sensitive, as in matplotlib; "grey" is vas's alias of gray.
 * Not: drawing (pose_draw.h). Threads: any; everything here is pure and constant. */
#ifndef VAS_POSE_CMAP_H
#define VAS_POSE_CMAP_H

#include "core/err.h"

#define POSE_CMAP_N 256 /* entries in a matplotlib colormap's lookup table */

/* Colours in colormap name (its matplotlib N): 256, or a listed map's length. VAS_EINVAL naming
 * the known colormaps if name is unknown. */
int pose_cmap_size(const char *name, vas_err *e);
/* Entry k (0..size-1) of colormap name, as matplotlib's cmap(k) for an integer k: a segment map's
 * 256-entry lookup table (values clipped to 0..1), a listed map's k-th colour. VAS_EINVAL if name
 * is unknown or k out of range. */
int pose_cmap_lut(const char *name, int k, double rgb[3], vas_err *e);
/* The entry of a map of `size` colours that DeepLabCut's create_labeled_video takes for bodypart
 * i of n, cmap(linspace(0, 1, n)[i]) (matplotlib Colormap.__call__ on a float x picks entry
 * floor(x·size), x = 1 giving the last): min(floor(size·i/(n−1)), size−1); entry 0 when n = 1. */
int pose_cmap_index_of(int i, int n, int size);
/* pose_cmap_index_of(i, n, 256), the index for a segment map. */
int pose_cmap_index(int i, int n);
/* Colour of bodypart i of n in colormap name, exactly matplotlib's cmap(linspace(0, 1, n))[i]:
 * pose_cmap_lut(name, pose_cmap_index_of(i, n, pose_cmap_size(name))). So with tab10 and 4
 * bodyparts: entries 0, 3, 6, 9. */
int pose_cmap_color(const char *name, int i, int n, double rgb[3], vas_err *e);
/* A matplotlib colour spec: base names ("black", "red", "grey", "orange", ... case-insensitive),
 * single letters "k w r g b c m y" (matplotlib's own shades), "#rrggbb", "#rgb", "C0".."C9" and
 * "tab:blue".. (the default colour cycle), and a grey level "0.0".."1.0". VAS_EINVAL if unknown. */
int pose_color_parse(const char *s, double rgb[3], vas_err *e);

#endif
