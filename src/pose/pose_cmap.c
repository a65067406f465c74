/* pose_cmap.c - matplotlib colormaps and colour specs: function maps computed from their
 * formulas, segment maps evaluated from matplotlib's segment data and listed maps looked up in
 * matplotlib's tables (both generated: pose_cmap_tables.h).
 *
 * How matplotlib builds a LinearSegmentedColormap's 256-entry table (colors.py,
 * _create_lookup_table, N = 256, gamma 1), which this file follows step by step so that the
 * doubles come out as matplotlib's:
 *   - x_k = numpy linspace(0, 1, 256)[k] = k·(1/255), x_255 = 1;
 *   - a channel given by a function f: entry k = clip(f(x_k), 0, 1);
 *   - a channel given by breakpoints (x_j, y0_j, y1_j): entry 0 = y1_0, entry 255 = y0_last,
 *     otherwise, with X = 255·x_k and j the first breakpoint with 255·x_j >= X (numpy
 *     searchsorted, side left), y1_{j-1} + (X − 255·x_{j−1}) / (255·x_j − 255·x_{j−1}) ·
 *     (y0_j − y1_{j−1}), clipped to 0..1.
 * A reversed map ("_r", Colormap.reversed) is a new map: a function map's channels become
 * f(1 − x), a segment map's breakpoints [(1 − x, y1, y0) for x, y0, y1 in reversed(data)], and a
 * listed map's colours are reversed. */
#include "pose/pose_cmap.h"

#include "pose/pose_cmap_tables.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- function maps ---- */

/* Channel formulas: 0..36 are matplotlib's gfunc[n] (_cm.py, the gnuplot palette formulas) by
 * their number; the other function maps' channels follow. */
enum {
    F_HEAT_R = 40, /* gist_heat */
    F_HEAT_G,
    F_HEAT_B,
    F_YARG, /* gist_yarg */
    F_FLAG_R,
    F_FLAG_G,
    F_FLAG_B,
    F_PRISM_R,
    F_PRISM_G,
    F_PRISM_B,
    F_HELIX_R, /* cubehelix() with its defaults */
    F_HELIX_G,
    F_HELIX_B,
};

typedef struct fn_map {
    const char *name;
    int f[3]; /* red, green, blue formulas */
} fn_map;

/* matplotlib _cm.py: the maps of datad whose channels are functions */
static const fn_map FN_MAPS[] = {
    {"rainbow", {33, 13, 10}},
    {"gnuplot", {7, 5, 15}},
    {"gnuplot2", {30, 31, 32}},
    {"ocean", {23, 28, 3}},
    {"afmhot", {34, 35, 36}},
    {"gist_gray", {3, 3, 3}},
    {"gist_heat", {F_HEAT_R, F_HEAT_G, F_HEAT_B}},
    {"gist_yarg", {F_YARG, F_YARG, F_YARG}},
    {"flag", {F_FLAG_R, F_FLAG_G, F_FLAG_B}},
    {"prism", {F_PRISM_R, F_PRISM_G, F_PRISM_B}},
    {"cubehelix", {F_HELIX_R, F_HELIX_G, F_HELIX_B}},
};
#define N_FN_MAPS ((int)(sizeof(FN_MAPS) / sizeof(FN_MAPS[0])))

/* _cm.py _ch_helper(gamma=1, s=0.5, r=-1.5, h=1, p0, p1, x), D. A. Green's cubehelix, in numpy's
 * order of operations (x ** 1.0 is x). */
static double cubehelix(double x, double p0, double p1)
{
    double a = 1.0 * x * (1 - x) / 2;
    double phi = 2 * M_PI * (0.5 / 3 + -1.5 * x);

    return x + a * (p0 * cos(phi) + p1 * sin(phi));
}

/* Formula f at x, written as _cm.py writes it (numpy evaluates left to right, as C does). */
static double channel_fn(int f, double x)
{
    switch (f) {
    case 3:
        return x;
    case 5:
        return pow(x, 3);
    case 7:
        return sqrt(x);
    case 10:
        return cos(x * M_PI / 2);
    case 13:
        return sin(x * M_PI);
    case 15:
        return sin(x * 2 * M_PI);
    case 23:
        return 3 * x - 2;
    case 28:
        return fabs((3 * x - 1) / 2);
    case 30:
        return x / 0.32 - 0.78125;
    case 31:
        return 2 * x - 0.84;
    case 32:
        return x < 0.25 ? 4 * x : x < 0.92 ? -2 * x + 1.84 : x / 0.08 - 11.5;
    case 33:
        return fabs(2 * x - 0.5);
    case 34:
        return 2 * x;
    case 35:
        return 2 * x - 0.5;
    case 36:
        return 2 * x - 1;
    case F_HEAT_R:
        return 1.5 * x;
    case F_HEAT_G:
        return 2 * x - 1;
    case F_HEAT_B:
        return 4 * x - 3;
    case F_YARG:
        return 1 - x;
    case F_FLAG_R:
        return 0.75 * sin((x * 31.5 + 0.25) * M_PI) + 0.5;
    case F_FLAG_G:
        return sin(x * 31.5 * M_PI);
    case F_FLAG_B:
        return 0.75 * sin((x * 31.5 - 0.25) * M_PI) + 0.5;
    case F_PRISM_R:
        return 0.75 * sin((x * 20.9 + 0.25) * M_PI) + 0.67;
    case F_PRISM_G:
        return 0.75 * sin((x * 20.9 - 0.25) * M_PI) + 0.33;
    case F_PRISM_B:
        return -1.1 * sin((x * 20.9) * M_PI);
    case F_HELIX_R:
        return cubehelix(x, -0.14861, 1.78277);
    case F_HELIX_G:
        return cubehelix(x, -0.29227, -0.90649);
    default: /* F_HELIX_B */
        return cubehelix(x, 1.97294, 0.0);
    }
}

/* numpy linspace(0, 1, 256)[k]: k * (1/255), the last exactly 1 */
static double lin_x(int k)
{
    return k >= POSE_CMAP_N - 1 ? 1.0 : k * (1.0 / (POSE_CMAP_N - 1));
}

/* ---- segment maps ---- */

typedef struct seg_pt {
    double x, y0, y1;
} seg_pt;

/* Breakpoint j of channel c of m, or of its reverse. */
static seg_pt seg_point(const pose_cmap_seg *m, int c, int j, int rev)
{
    int i = rev ? m->n[c] - 1 - j : j;
    const double *r;
    seg_pt p;

    if (m->list) {
        r = m->v + 4 * i;
        p = (seg_pt){r[0], r[1 + c], r[1 + c]};
    } else {
        r = m->v + 3 * ((c > 0 ? m->n[0] : 0) + (c > 1 ? m->n[1] : 0) + i);
        p = (seg_pt){r[0], r[1], r[2]};
    }
    if (rev)
        p = (seg_pt){1.0 - p.x, p.y1, p.y0};
    return p;
}

/* Entry k of channel c's lookup table, before clipping (see the top of this file). */
static double seg_entry(const pose_cmap_seg *m, int c, int k, int rev)
{
    const double scale = POSE_CMAP_N - 1;
    double xk = scale * lin_x(k);
    seg_pt a, b;
    int j;

    if (k <= 0)
        return seg_point(m, c, 0, rev).y1;
    if (k >= POSE_CMAP_N - 1)
        return seg_point(m, c, m->n[c] - 1, rev).y0;
    for (j = 1; j < m->n[c] - 1 && seg_point(m, c, j, rev).x * scale < xk; j++)
        ;
    a = seg_point(m, c, j - 1, rev);
    b = seg_point(m, c, j, rev);
    return (xk - a.x * scale) / (b.x * scale - a.x * scale) * (b.y0 - a.y1) + a.y1;
}

static double clip01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* ---- lookup ---- */

/* A colormap found by name: a function map (fn), a segment map (seg) or a listed one (list),
 * maybe matplotlib's twilight_shifted (built from twilight) and maybe reversed ("_r"). */
typedef struct cmap_ref {
    const fn_map *fn;
    const pose_cmap_seg *seg;
    const pose_cmap_listed *list;
    int shifted, rev;
    int n; /* colours: 256 (fn, seg) or the list's */
} cmap_ref;

static int name_is(const char *name, size_t len, const char *known)
{
    return strlen(known) == len && strncmp(known, name, len) == 0;
}

#define N_NAMES (POSE_CMAP_N_LISTED + 1 + N_FN_MAPS + POSE_CMAP_N_SEGS + POSE_CMAP_N_LISTS)

/* Name number i of N_NAMES: the listed maps, twilight_shifted, the function maps, the segment
 * maps, the maps made from lists. */
static const char *name_at(int i)
{
    if (i < POSE_CMAP_N_LISTED)
        return pose_cmap_listed_maps[i].name;
    if ((i -= POSE_CMAP_N_LISTED) == 0)
        return "twilight_shifted";
    if ((i -= 1) < N_FN_MAPS)
        return FN_MAPS[i].name;
    if ((i -= N_FN_MAPS) < POSE_CMAP_N_SEGS)
        return pose_cmap_seg_maps[i].name;
    return pose_cmap_list_maps[i - POSE_CMAP_N_SEGS].name;
}

/* As many names as fit in buf (n bytes), then "...". */
static void names_list(char *buf, size_t n)
{
    size_t used = 0;
    int i, k;

    buf[0] = '\0';
    for (i = 0; i < N_NAMES; i++) {
        const char *nm = name_at(i);
        if (used + strlen(nm) + 8 > n) {
            snprintf(buf + used, n - used, ", ...");
            return;
        }
        k = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", nm);
        used += k > 0 ? (size_t)k : 0;
    }
}

static int cmap_find(const char *name, cmap_ref *r, vas_err *e)
{
    char list[360];
    size_t len = name ? strlen(name) : 0;
    int i;

    memset(r, 0, sizeof(*r));
    r->rev = len > 2 && strcmp(name + len - 2, "_r") == 0;
    len -= r->rev ? 2 : 0;
    r->n = POSE_CMAP_N;
    if (name_is(name ? name : "", len, "grey")) /* vas's alias of gray */
        name = "gray", len = 4;
    for (i = 0; i < N_FN_MAPS; i++)
        if (name_is(name, len, FN_MAPS[i].name)) {
            r->fn = &FN_MAPS[i];
            return VAS_OK;
        }
    for (i = 0; i < POSE_CMAP_N_SEGS + POSE_CMAP_N_LISTS; i++) {
        const pose_cmap_seg *m = i < POSE_CMAP_N_SEGS ? &pose_cmap_seg_maps[i]
                                                      : &pose_cmap_list_maps[i - POSE_CMAP_N_SEGS];
        if (name_is(name, len, m->name)) {
            r->seg = m;
            return VAS_OK;
        }
    }
    r->shifted = name_is(name ? name : "", len, "twilight_shifted");
    for (i = 0; i < POSE_CMAP_N_LISTED; i++)
        if (r->shifted ? strcmp(pose_cmap_listed_maps[i].name, "twilight") == 0
                       : name_is(name, len, pose_cmap_listed_maps[i].name)) {
            r->list = &pose_cmap_listed_maps[i];
            r->n = r->list->n;
            return VAS_OK;
        }
    names_list(list, sizeof(list));
    for (i = 0; i < N_NAMES; i++) /* "set1" for Set1: say so */
        if (strlen(name_at(i)) == len && strncasecmp(name_at(i), name ? name : "", len) == 0)
            return err_set(e, VAS_EINVAL, "unknown colormap '%s'; names are case-sensitive: %s%s",
                           name, name_at(i), r->rev ? "_r" : "");
    return err_set(e, VAS_EINVAL,
                   "unknown colormap '%s'; vas knows matplotlib's %d colormaps by their "
                   "case-sensitive names, each also with _r, e.g. rainbow (DeepLabCut's "
                   "default), jet, viridis, plasma, tab10, Set1; all: %s",
                   name ? name : "", N_NAMES, list);
}

int pose_cmap_size(const char *name, vas_err *e)
{
    cmap_ref r;
    int rc = cmap_find(name, &r, e);

    return rc < 0 ? rc : r.n;
}

/* Entry k of a found map; k in 0..r->n-1. */
static void cmap_entry(const cmap_ref *r, int k, double rgb[3])
{
    int c;

    if (r->list) {
        if (r->rev) /* ListedColormap.reversed: the colours in reverse order */
            k = r->n - 1 - k;
        /* _cm_listed.py: twilight_shifted = (second half + first half of twilight), reversed */
        if (r->shifted)
            k = (r->n - 1 - k + r->n / 2) % r->n;
        for (c = 0; c < 3; c++)
            rgb[c] = r->list->v[3 * k + c];
        return;
    }
    for (c = 0; c < 3; c++)
        if (r->fn) /* LinearSegmentedColormap._reverser: f(1 - x) */
            rgb[c] = clip01(channel_fn(r->fn->f[c], r->rev ? 1 - lin_x(k) : lin_x(k)));
        else
            rgb[c] = clip01(seg_entry(r->seg, c, k, r->rev));
}

int pose_cmap_lut(const char *name, int k, double rgb[3], vas_err *e)
{
    cmap_ref r;
    int rc = cmap_find(name, &r, e);

    if (rc < 0)
        return rc;
    if (k < 0 || k >= r.n)
        return err_set(e, VAS_EINVAL, "colormap '%s' entry %d is outside 0..%d", name, k, r.n - 1);
    cmap_entry(&r, k, rgb);
    return VAS_OK;
}

int pose_cmap_index_of(int i, int n, int size)
{
    double x;

    if (n <= 1 || i <= 0 || size <= 1)
        return 0;
    /* numpy linspace: i * (1/(n-1)); matplotlib Colormap.__call__: int(x * N), N -> N-1 */
    x = (double)i * (1.0 / (n - 1)) * size;
    return x >= size ? size - 1 : (int)x;
}

int pose_cmap_index(int i, int n)
{
    return pose_cmap_index_of(i, n, POSE_CMAP_N);
}

int pose_cmap_color(const char *name, int i, int n, double rgb[3], vas_err *e)
{
    cmap_ref r;
    int rc = cmap_find(name, &r, e);

    if (rc < 0)
        return rc;
    cmap_entry(&r, pose_cmap_index_of(i, n, r.n), rgb);
    return VAS_OK;
}

/* ---- colour specs ---- */

typedef struct named_color {
    const char *name;
    unsigned hex; /* 0xrrggbb */
} named_color;

/* matplotlib's base colours (single letters), its default cycle (tab:*, C0..C9), and the CSS
 * names people put in config.yaml. */
static const named_color COLORS[] = {
    {"k", 0x000000},           {"w", 0xffffff},          {"r", 0xff0000},
    {"g", 0x008000},           {"b", 0x0000ff},          {"c", 0x00bfbf},
    {"m", 0xbf00bf},           {"y", 0xbfbf00},          {"C0", 0x1f77b4},
    {"C1", 0xff7f0e},          {"C2", 0x2ca02c},         {"C3", 0xd62728},
    {"C4", 0x9467bd},          {"C5", 0x8c564b},         {"C6", 0xe377c2},
    {"C7", 0x7f7f7f},          {"C8", 0xbcbd22},         {"C9", 0x17becf},
    {"tab:blue", 0x1f77b4},    {"tab:orange", 0xff7f0e}, {"tab:green", 0x2ca02c},
    {"tab:red", 0xd62728},     {"tab:purple", 0x9467bd}, {"tab:brown", 0x8c564b},
    {"tab:pink", 0xe377c2},    {"tab:gray", 0x7f7f7f},   {"tab:grey", 0x7f7f7f},
    {"tab:olive", 0xbcbd22},   {"tab:cyan", 0x17becf},   {"black", 0x000000},
    {"white", 0xffffff},       {"red", 0xff0000},        {"green", 0x008000},
    {"blue", 0x0000ff},        {"cyan", 0x00ffff},       {"aqua", 0x00ffff},
    {"magenta", 0xff00ff},     {"fuchsia", 0xff00ff},    {"yellow", 0xffff00},
    {"gray", 0x808080},        {"grey", 0x808080},       {"darkgray", 0xa9a9a9},
    {"darkgrey", 0xa9a9a9},    {"lightgray", 0xd3d3d3},  {"lightgrey", 0xd3d3d3},
    {"silver", 0xc0c0c0},      {"orange", 0xffa500},     {"purple", 0x800080},
    {"brown", 0xa52a2a},       {"pink", 0xffc0cb},       {"lime", 0x00ff00},
    {"navy", 0x000080},        {"olive", 0x808000},      {"teal", 0x008080},
    {"maroon", 0x800000},      {"gold", 0xffd700},       {"violet", 0xee82ee},
    {"indigo", 0x4b0082},      {"darkred", 0x8b0000},    {"darkblue", 0x00008b},
    {"darkgreen", 0x006400},   {"lightblue", 0xadd8e6},  {"lightgreen", 0x90ee90},
    {"darkorange", 0xff8c00},  {"crimson", 0xdc143c},    {"turquoise", 0x40e0d0},
    {"salmon", 0xfa8072},      {"tomato", 0xff6347},     {"coral", 0xff7f50},
    {"khaki", 0xf0e68c},       {"beige", 0xf5f5dc},      {"tan", 0xd2b48c},
    {"orchid", 0xda70d6},      {"plum", 0xdda0dd},       {"skyblue", 0x87ceeb},
    {"steelblue", 0x4682b4},   {"royalblue", 0x4169e1},  {"dodgerblue", 0x1e90ff},
    {"forestgreen", 0x228b22}, {"limegreen", 0x32cd32},  {"chartreuse", 0x7fff00},
    {"firebrick", 0xb22222},   {"chocolate", 0xd2691e},  {"sienna", 0xa0522d},
    {"slategray", 0x708090},   {"slategrey", 0x708090},  {"dimgray", 0x696969},
    {"dimgrey", 0x696969},     {"hotpink", 0xff69b4},    {"deeppink", 0xff1493},
};

static void hex_rgb(unsigned hex, double rgb[3])
{
    rgb[0] = ((hex >> 16) & 0xff) / 255.0;
    rgb[1] = ((hex >> 8) & 0xff) / 255.0;
    rgb[2] = (hex & 0xff) / 255.0;
}

/* "#rrggbb" or "#rgb" (s after the '#'); 0 if it is neither. */
static int parse_hex(const char *s, double rgb[3])
{
    size_t n = strspn(s, "0123456789abcdefABCDEF");
    unsigned long v;

    if (n != strlen(s) || (n != 6 && n != 3))
        return 0;
    v = strtoul(s, NULL, 16);
    if (n == 3)
        v = ((v >> 8) & 0xf) * 0x110000 + ((v >> 4) & 0xf) * 0x1100 + (v & 0xf) * 0x11;
    hex_rgb((unsigned)v, rgb);
    return 1;
}

/* A grey level "0".."1" as matplotlib reads a string of a number; 0 if s is not one. */
static int parse_grey(const char *s, double rgb[3])
{
    char *end = NULL;
    double v;

    if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
        return 0;
    v = strtod(s, &end);
    if (!end || *end != '\0' || !(v >= 0 && v <= 1))
        return 0;
    rgb[0] = rgb[1] = rgb[2] = v;
    return 1;
}

int pose_color_parse(const char *s, double rgb[3], vas_err *e)
{
    size_t i;

    if (!s || !*s)
        return err_set(e, VAS_EINVAL, "empty colour");
    if (s[0] == '#' && parse_hex(s + 1, rgb))
        return VAS_OK;
    if (parse_grey(s, rgb))
        return VAS_OK;
    for (i = 0; i < sizeof(COLORS) / sizeof(COLORS[0]); i++) {
        /* single letters and C0..C9 are case-sensitive in matplotlib; names are not */
        int exact = strlen(COLORS[i].name) <= 2;
        if (exact ? strcmp(COLORS[i].name, s) == 0 : strcasecmp(COLORS[i].name, s) == 0) {
            hex_rgb(COLORS[i].hex, rgb);
            return VAS_OK;
        }
    }
    return err_set(e, VAS_EINVAL,
                   "unknown colour '%s'; use a name like black or red, one of k w r g b c m y, "
                   "C0..C9, #rrggbb or a grey level 0..1",
                   s);
}
