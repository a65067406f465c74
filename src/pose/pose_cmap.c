/* pose_cmap.c - matplotlib colormaps and colour specs: segment and formula maps computed from
 * their definitions, listed maps looked up in matplotlib's tables (pose_cmap_tables.c).
 *
 * How matplotlib builds a LinearSegmentedColormap's 256-entry table (colors.py,
 * _create_lookup_table), which this file follows:
 *   - a channel given by a function f: entry k = clip(f(x_k), 0, 1), x_k = linspace(0, 1, 256)[k];
 *   - a channel given by segments (x_j, y_j) (here always y0 = y1): entry 0 = y_0, entry 255 =
 *     y_last, otherwise linear interpolation at k between the breakpoints scaled by 255, taking
 *     the first breakpoint >= k as the right end (numpy searchsorted, side left). */
#include "pose/pose_cmap.h"

#include "pose/pose_cmap_tables.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- channel definitions ---- */

typedef struct seg {
    int n;                /* breakpoints */
    const double (*p)[2]; /* (x, y) */
} seg;

typedef struct cmap_def {
    const char *name;
    int gnu[3]; /* gnuplot function numbers per channel, or -1: use seg */
    seg s[3];
} cmap_def;

#define SEG(a)                                                                                     \
    {                                                                                              \
        (int)(sizeof(a) / sizeof(a[0])), a                                                         \
    }

static const double ZERO[][2] = {{0, 0}, {1, 0}};
static const double ONE[][2] = {{0, 1}, {1, 1}};
static const double UP[][2] = {{0, 0}, {1, 1}};
static const double DOWN[][2] = {{0, 1}, {1, 0}};
static const double HALF_UP[][2] = {{0, 0.5}, {1, 1}};
static const double FOUR[][2] = {{0, 0.4}, {1, 0.4}};
static const double WINTER_B[][2] = {{0, 1}, {1, 0.5}};
static const double JET_R[][2] = {{0, 0}, {0.35, 0}, {0.66, 1}, {0.89, 1}, {1, 0.5}};
static const double JET_G[][2] = {{0, 0}, {0.125, 0}, {0.375, 1}, {0.64, 1}, {0.91, 0}, {1, 0}};
static const double JET_B[][2] = {{0, 0.5}, {0.11, 1}, {0.34, 1}, {0.65, 0}, {1, 0}};
static const double HSV_R[][2] = {
    {0, 1},        {0.158730, 1},       {0.174603, 0.96875}, {0.333333, 0.03125}, {0.349206, 0},
    {0.666667, 0}, {0.682540, 0.03125}, {0.841270, 0.96875}, {0.857143, 1},       {1, 1}};
static const double HSV_G[][2] = {{0, 0},        {0.158730, 0.9375}, {0.174603, 1},
                                  {0.507937, 1}, {0.666667, 0.0625}, {0.682540, 0},
                                  {1, 0}};
static const double HSV_B[][2] = {{0, 0},        {0.333333, 0}, {0.349206, 0.0625},
                                  {0.507937, 1}, {0.841270, 1}, {0.857143, 0.9375},
                                  {1, 0.09375}};
static const double HOT_R[][2] = {{0, 0.0416}, {0.365079, 1}, {1, 1}};
static const double HOT_G[][2] = {{0, 0}, {0.365079, 0}, {0.746032, 1}, {1, 1}};
static const double HOT_B[][2] = {{0, 0}, {0.746032, 0}, {1, 1}};
/* LinearSegmentedColormap.from_list: colours evenly spaced at 0, 0.5, 1 */
static const double BWR_R[][2] = {{0, 0}, {0.5, 1}, {1, 1}};
static const double BWR_G[][2] = {{0, 0}, {0.5, 1}, {1, 0}};
static const double BWR_B[][2] = {{0, 1}, {0.5, 1}, {1, 0}};
static const double BRG_R[][2] = {{0, 0}, {0.5, 1}, {1, 0}};
static const double BRG_G[][2] = {{0, 0}, {0.5, 0}, {1, 1}};
static const double BRG_B[][2] = {{0, 1}, {0.5, 0}, {1, 0}};

#define NOGNU                                                                                      \
    {                                                                                              \
        -1, -1, -1                                                                                 \
    }
static const cmap_def CMAPS[] = {
    {"rainbow", {33, 13, 10}, {{0, NULL}}},
    {"jet", NOGNU, {SEG(JET_R), SEG(JET_G), SEG(JET_B)}},
    {"hsv", NOGNU, {SEG(HSV_R), SEG(HSV_G), SEG(HSV_B)}},
    {"hot", NOGNU, {SEG(HOT_R), SEG(HOT_G), SEG(HOT_B)}},
    {"cool", NOGNU, {SEG(UP), SEG(DOWN), SEG(ONE)}},
    {"spring", NOGNU, {SEG(ONE), SEG(UP), SEG(DOWN)}},
    {"summer", NOGNU, {SEG(UP), SEG(HALF_UP), SEG(FOUR)}},
    {"autumn", NOGNU, {SEG(ONE), SEG(UP), SEG(ZERO)}},
    {"winter", NOGNU, {SEG(ZERO), SEG(UP), SEG(WINTER_B)}},
    {"gray", NOGNU, {SEG(UP), SEG(UP), SEG(UP)}},
    {"grey", NOGNU, {SEG(UP), SEG(UP), SEG(UP)}},
    {"binary", NOGNU, {SEG(DOWN), SEG(DOWN), SEG(DOWN)}},
    {"bwr", NOGNU, {SEG(BWR_R), SEG(BWR_G), SEG(BWR_B)}},
    {"brg", NOGNU, {SEG(BRG_R), SEG(BRG_G), SEG(BRG_B)}},
    {"gnuplot", {7, 5, 15}, {{0, NULL}}},
    {"ocean", {23, 28, 3}, {{0, NULL}}},
    {"afmhot", {34, 35, 36}, {{0, NULL}}},
};
#define N_CMAPS ((int)(sizeof(CMAPS) / sizeof(CMAPS[0])))

/* matplotlib _cm.py gfunc[n], the gnuplot palette formulas (only those the maps above use). */
static double gnuplot_fn(int n, double x)
{
    switch (n) {
    case 3:
        return x;
    case 5:
        return x * x * x;
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
    case 33:
        return fabs(2 * x - 0.5);
    case 34:
        return 2 * x;
    case 35:
        return 2 * x - 0.5;
    default: /* 36 */
        return 2 * x - 1;
    }
}

static double seg_entry(const seg *s, int k)
{
    int j;
    double x0, x1;

    if (k <= 0)
        return s->p[0][1];
    if (k >= POSE_CMAP_N - 1)
        return s->p[s->n - 1][1];
    for (j = 1; j < s->n - 1 && s->p[j][0] * (POSE_CMAP_N - 1) < k; j++)
        ;
    x0 = s->p[j - 1][0] * (POSE_CMAP_N - 1);
    x1 = s->p[j][0] * (POSE_CMAP_N - 1);
    return s->p[j - 1][1] + (k - x0) / (x1 - x0) * (s->p[j][1] - s->p[j - 1][1]);
}

static double clip01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* ---- lookup ---- */

/* A colormap found by name: a formula or segment map (def) or a listed one (list), maybe
 * matplotlib's twilight_shifted (built from twilight) and maybe reversed ("_r"). */
typedef struct cmap_ref {
    const cmap_def *def;
    const pose_cmap_listed *list;
    int shifted, rev;
    int n; /* colours: 256 (def) or the list's */
} cmap_ref;

static int name_is(const char *name, size_t len, const char *known)
{
    return strlen(known) == len && strncmp(known, name, len) == 0;
}

static void names_list(char *buf, size_t n)
{
    size_t used = 0;
    int i, k;

    buf[0] = '\0';
    for (i = 0; i < N_CMAPS + POSE_CMAP_N_LISTED + 1 && used < n; i++) {
        const char *nm = i < N_CMAPS ? CMAPS[i].name
                         : i < N_CMAPS + POSE_CMAP_N_LISTED
                             ? pose_cmap_listed_maps[i - N_CMAPS].name
                             : "twilight_shifted";
        k = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", nm);
        used += k > 0 ? (size_t)k : 0;
    }
}

static int cmap_find(const char *name, cmap_ref *r, vas_err *e)
{
    char list[1024];
    size_t len = name ? strlen(name) : 0;
    int i;

    memset(r, 0, sizeof(*r));
    r->rev = len > 2 && strcmp(name + len - 2, "_r") == 0;
    len -= r->rev ? 2 : 0;
    for (i = 0; i < N_CMAPS; i++)
        if (name_is(name, len, CMAPS[i].name)) {
            r->def = &CMAPS[i];
            r->n = POSE_CMAP_N;
            return VAS_OK;
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
    return err_set(e, VAS_EINVAL, "unknown colormap '%s'; vas knows %s (and each with _r)",
                   name ? name : "", list);
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

    if (r->rev) /* matplotlib reverses a list, and a segment or formula map about x = 0.5 */
        k = r->n - 1 - k;
    if (r->list) {
        /* _cm_listed.py: twilight_shifted = (second half + first half of twilight), reversed */
        if (r->shifted)
            k = (r->n - 1 - k + r->n / 2) % r->n;
        for (c = 0; c < 3; c++)
            rgb[c] = r->list->v[3 * k + c];
        return;
    }
    for (c = 0; c < 3; c++) {
        /* numpy linspace(0, 1, 256)[k] = k * (1/255) */
        double x = k * (1.0 / (POSE_CMAP_N - 1));
        rgb[c] = clip01(r->def->gnu[0] >= 0 ? gnuplot_fn(r->def->gnu[c], x)
                                            : seg_entry(&r->def->s[c], k));
    }
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
