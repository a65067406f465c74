/* test_pose_cmap.c - every colormap vas knows, checked against matplotlib itself (Debian's
 * python3-matplotlib, run at test time as an independent reference): lookup-table entries
 * (matplotlib's cmap(k) for an integer k) at k = 0, 1, 64, 127, 128, 200, 255 and the last, and
 * the colour of bodypart i of n as DeepLabCut's create_labeled_video takes it,
 * ScalarMappable(cmap=mpl).to_rgba(linspace(0, 1, n))[i], for n from 1 to 256; each map also
 * reversed ("_r"). Skips with a reason when matplotlib is missing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "pose/pose_cmap.h"

/* every colormap vas knows (pose_cmap.h), without "_r" */
static const char *const MAPS[] = {
    "rainbow",          "jet",     "hsv",    "hot",     "cool",   "spring",  "summer",  "autumn",
    "winter",           "gray",    "grey",   "binary",  "bwr",    "brg",     "gnuplot", "ocean",
    "afmhot",           "viridis", "plasma", "inferno", "magma",  "cividis", "turbo",   "twilight",
    "twilight_shifted", "tab10",   "tab20",  "tab20b",  "tab20c", "Set1",    "Set2",    "Set3",
    "Pastel1",          "Pastel2", "Paired", "Accent",  "Dark2"};
#define N_MAPS ((int)(sizeof(MAPS) / sizeof(MAPS[0])))

/* ("grey" is vas's alias of gray; matplotlib 3.6 has no such colormap.)
 * Lines "N name size", "L name k r g b" and "C name i n r g b" for the maps in argv, values
 * with 17 digits (the exact doubles). Prints "SKIP <why>" if matplotlib cannot be imported. */
static const char PY[] =
    "import sys\n"
    "try:\n"
    "    import numpy as np, matplotlib\n"
    "    from matplotlib import cm\n"
    "except ImportError as ex:\n"
    "    print(\"SKIP\", ex); sys.exit(0)\n"
    "f = lambda c: \" \".join(\"%.17g\" % v for v in c[:3])\n"
    "for name in sys.argv[1:]:\n"
    "    mpl = name.replace(\"grey\", \"gray\")\n"
    "    c = matplotlib.colormaps[mpl]\n"
    "    print(\"N\", name, c.N)\n"
    "    for k in sorted({0, 1, 64, 127, 128, 200, 255, c.N - 1}):\n"
    "        if k < c.N: print(\"L\", name, k, f(c(k)))\n"
    "    for n in list(range(1, 22)) + [25, 32, 50, 100, 255, 256]:\n"
    "        rgba = cm.ScalarMappable(cmap=mpl).to_rgba(np.linspace(0, 1, n))\n"
    "        for i in range(n): print(\"C\", name, i, n, f(rgba[i]))\n";

typedef struct counts {
    int sizes, luts, colors;
} counts;

static int is_listed(const char *name)
{
    static const char *const seg[] = {"rainbow", "jet",    "hsv",     "hot",   "cool",  "spring",
                                      "summer",  "autumn", "winter",  "gray",  "grey",  "binary",
                                      "bwr",     "brg",    "gnuplot", "ocean", "afmhot"};
    char base[64];
    size_t n = strlen(name);

    snprintf(base, sizeof(base), "%.*s",
             (int)(n > 2 && strcmp(name + n - 2, "_r") == 0 ? n - 2 : n), name);
    for (size_t i = 0; i < sizeof(seg) / sizeof(seg[0]); i++)
        if (strcmp(seg[i], base) == 0)
            return 0;
    return 1;
}

/* Listed maps are matplotlib's own doubles: exact. Segment and formula maps are computed here
 * as matplotlib computes them, up to rounding in a different order. */
static void check_rgb(const char *what, const double got[3], const double want[3], int exact)
{
    for (int c = 0; c < 3; c++) {
        if (exact ? got[c] == want[c] : fabs(got[c] - want[c]) <= 1e-12)
            continue;
        fail_msg("%s channel %d: vas %.17g, matplotlib %.17g", what, c, got[c], want[c]);
    }
}

static void check_line(char *line, counts *n)
{
    char kind[4], name[64], what[160];
    double want[3], got[3];
    int a, b;
    vas_err e = {0};

    if (sscanf(line, "%3s %63s", kind, name) != 2)
        fail_msg("bad line from python: %s", line);
    if (strcmp(kind, "N") == 0) {
        assert_int_equal(sscanf(line, "%*s %*s %d", &a), 1);
        assert_int_equal(pose_cmap_size(name, &e), a);
        n->sizes++;
    } else if (strcmp(kind, "L") == 0) {
        assert_int_equal(sscanf(line, "%*s %*s %d %lf %lf %lf", &a, &want[0], &want[1], &want[2]),
                         4);
        assert_int_equal(pose_cmap_lut(name, a, got, &e), VAS_OK);
        snprintf(what, sizeof(what), "%s entry %d", name, a);
        check_rgb(what, got, want, is_listed(name));
        n->luts++;
    } else if (strcmp(kind, "C") == 0) {
        assert_int_equal(
            sscanf(line, "%*s %*s %d %d %lf %lf %lf", &a, &b, &want[0], &want[1], &want[2]), 5);
        assert_int_equal(pose_cmap_color(name, a, b, got, &e), VAS_OK);
        snprintf(what, sizeof(what), "%s bodypart %d of %d", name, a, b);
        check_rgb(what, got, want, is_listed(name));
        n->colors++;
    } else {
        fail_msg("bad line from python: %s", line);
    }
}

static void every_map_matches_matplotlib(void **state)
{
    static char cmd[8192], line[512];
    size_t used;
    counts n = {0};
    FILE *p;

    (void)state;
    used = (size_t)snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c '%s'", PY);
    for (int i = 0; i < N_MAPS; i++)
        used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, " %s %s_r", MAPS[i], MAPS[i]);
    assert_true(used < sizeof(cmd));
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        if (strncmp(line, "SKIP", 4) == 0) {
            pclose(p);
            print_message("skipped: /usr/bin/python3 cannot import matplotlib (%s)", line + 5);
            skip();
        }
        check_line(line, &n);
    }
    assert_int_equal(pclose(p), 0);
    /* all maps and their reverses were seen: 8 entries a 256-colour map, fewer for short lists */
    assert_int_equal(n.sizes, 2 * N_MAPS);
    assert_true(n.luts >= 2 * N_MAPS * 5);
    assert_int_equal(n.colors, 2 * N_MAPS * (21 * 22 / 2 + 25 + 32 + 50 + 100 + 255 + 256));
    print_message("checked %d maps: %d entries, %d bodypart colours\n", n.sizes, n.luts, n.colors);
}

/* Facts that hold without matplotlib: the numbers in matplotlib's tables, the index rule for a
 * listed map (entry floor(N·i/(n−1)), not the 256-entry rule), reversal, twilight_shifted. */
static void listed_maps_known_values(void **state)
{
    double c[3], d[3];
    vas_err e = {0};

    (void)state;
    /* _cm_listed.py: _viridis_data[0] and [255] */
    assert_int_equal(pose_cmap_lut("viridis", 0, c, &e), VAS_OK);
    assert_true(c[0] == 0.267004 && c[1] == 0.004874 && c[2] == 0.329415);
    assert_int_equal(pose_cmap_lut("viridis", 255, c, &e), VAS_OK);
    assert_true(c[0] == 0.993248 && c[1] == 0.906157 && c[2] == 0.143936);
    assert_int_equal(pose_cmap_lut("viridis_r", 0, d, &e), VAS_OK);
    assert_memory_equal(c, d, sizeof(c));
    /* tab10 has 10 colours: 4 bodyparts take entries 0, 3, 6, 9 (C0, C3, C6, C9) */
    assert_int_equal(pose_cmap_size("tab10", &e), 10);
    assert_int_equal(pose_cmap_index_of(1, 4, 10), 3);
    assert_int_equal(pose_cmap_index_of(2, 4, 10), 6);
    assert_int_equal(pose_cmap_index_of(3, 4, 10), 9);
    assert_int_equal(pose_cmap_color("tab10", 1, 4, c, &e), VAS_OK);
    assert_int_equal(pose_color_parse("C3", d, &e), VAS_OK);
    assert_memory_equal(c, d, sizeof(c));
    assert_int_equal(pose_cmap_color("tab10_r", 0, 4, c, &e), VAS_OK);
    assert_int_equal(pose_color_parse("C9", d, &e), VAS_OK);
    assert_memory_equal(c, d, sizeof(c));
    assert_int_equal(pose_cmap_lut("tab10", 10, c, &e), VAS_EINVAL);
    /* twilight_shifted's entry 0 is twilight's entry 254 (the halves swapped, reversed) */
    assert_int_equal(pose_cmap_size("twilight_shifted", &e), 510);
    assert_int_equal(pose_cmap_lut("twilight_shifted", 0, c, &e), VAS_OK);
    assert_int_equal(pose_cmap_lut("twilight", 254, d, &e), VAS_OK);
    assert_memory_equal(c, d, sizeof(c));
    /* names are case-sensitive, as in matplotlib */
    assert_int_equal(pose_cmap_size("set1", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "Set1"));
    assert_non_null(strstr(e.msg, "twilight_shifted"));
    assert_int_equal(pose_cmap_size("Set1", &e), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_map_matches_matplotlib),
        cmocka_unit_test(listed_maps_known_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
