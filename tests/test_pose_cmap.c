/* test_pose_cmap.c - every colormap matplotlib registers by name (matplotlib.colormaps, each
 * base name and its "_r"), checked against matplotlib itself (Debian's python3-matplotlib, run at
 * test time as an independent reference): lookup-table entries (matplotlib's cmap(k) for an
 * integer k) at k = 0, 1, 64, 127, 128, 200, 255 and the last, and the colour of bodypart i of n as
 * DeepLabCut's create_labeled_video takes it, ScalarMappable(cmap=mpl).to_rgba(linspace(0, 1,
 * n))[i], for n from 1 to 256. Fails naming every map vas refuses. Skips with a reason when
 * matplotlib is missing. */
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

/* Lines "N name size kind" (kind: listed or segment), "L name k r g b" and "C name i n r g b"
 * for every name in matplotlib.colormaps, values with 17 digits (the exact doubles). Prints
 * "SKIP <why>" if matplotlib cannot be imported. */
static const char PY[] =
    "import sys\n"
    "try:\n"
    "    import numpy as np, matplotlib\n"
    "    from matplotlib import cm, colors\n"
    "except ImportError as ex:\n"
    "    print(\"SKIP\", ex); sys.exit(0)\n"
    "f = lambda c: \" \".join(\"%.17g\" % v for v in c[:3])\n"
    "ns = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 21, 25, 32, 50, 100, 255, 256]\n"
    "for name in sorted(matplotlib.colormaps):\n"
    "    c = matplotlib.colormaps[name]\n"
    "    kind = \"listed\" if isinstance(c, colors.ListedColormap) else \"segment\"\n"
    "    print(\"N\", name, c.N, kind)\n"
    "    for k in sorted({0, 1, 64, 127, 128, 200, 255, c.N - 1}):\n"
    "        if k < c.N: print(\"L\", name, k, f(c(k)))\n"
    "    for n in ns:\n"
    "        rgba = cm.ScalarMappable(cmap=c).to_rgba(np.linspace(0, 1, n))\n"
    "        for i in range(n): print(\"C\", name, i, n, f(rgba[i]))\n";
#define N_COLORS                                                                                   \
    (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 16 + 17 + 21 + 25 + 32 + 50 + 100 +   \
     255 + 256)

typedef struct counts {
    int sizes, luts, colors;
    int listed;    /* the current map is a ListedColormap: its colours are exact */
    int refused;   /* vas refused the current map: its L and C lines are left out */
    int n_refused; /* maps vas refused */
    char refused_names[2048];
    double max_diff;    /* largest |vas - matplotlib| over the segment maps */
    long values, exact; /* channel values compared, and how many were bit-identical */
} counts;

/* Listed maps are matplotlib's own doubles: exact. Segment maps are computed here as matplotlib
 * computes them, up to libm against numpy's rounding. */
static void check_rgb(const char *what, const double got[3], const double want[3], counts *n)
{
    for (int c = 0; c < 3; c++) {
        double d = fabs(got[c] - want[c]);
        n->values++;
        n->exact += got[c] == want[c];
        if (!n->listed && d > n->max_diff)
            n->max_diff = d;
        if (n->listed ? got[c] == want[c] : d <= 1e-12)
            continue;
        fail_msg("%s channel %d: vas %.17g, matplotlib %.17g", what, c, got[c], want[c]);
    }
}

static void check_line(char *line, counts *n)
{
    char kind[4], name[64], what[160], mkind[16];
    double want[3], got[3];
    int a, b;
    vas_err e = {0};

    if (sscanf(line, "%3s %63s", kind, name) != 2)
        fail_msg("bad line from python: %s", line);
    if (strcmp(kind, "N") == 0) {
        assert_int_equal(sscanf(line, "%*s %*s %d %15s", &a, mkind), 2);
        n->sizes++;
        n->listed = strcmp(mkind, "listed") == 0;
        b = pose_cmap_size(name, &e);
        n->refused = b < 0;
        if (n->refused) {
            size_t used = strlen(n->refused_names);
            snprintf(n->refused_names + used, sizeof(n->refused_names) - used, " %s", name);
            n->n_refused++;
            return;
        }
        assert_int_equal(b, a);
    } else if (n->refused) {
        return;
    } else if (strcmp(kind, "L") == 0) {
        assert_int_equal(sscanf(line, "%*s %*s %d %lf %lf %lf", &a, &want[0], &want[1], &want[2]),
                         4);
        assert_int_equal(pose_cmap_lut(name, a, got, &e), VAS_OK);
        snprintf(what, sizeof(what), "%s entry %d", name, a);
        check_rgb(what, got, want, n);
        n->luts++;
    } else if (strcmp(kind, "C") == 0) {
        assert_int_equal(
            sscanf(line, "%*s %*s %d %d %lf %lf %lf", &a, &b, &want[0], &want[1], &want[2]), 5);
        assert_int_equal(pose_cmap_color(name, a, b, got, &e), VAS_OK);
        snprintf(what, sizeof(what), "%s bodypart %d of %d", name, a, b);
        check_rgb(what, got, want, n);
        n->colors++;
    } else {
        fail_msg("bad line from python: %s", line);
    }
}

static void every_map_matches_matplotlib(void **state)
{
    static char cmd[4096], line[512];
    static counts n;
    FILE *p;

    (void)state;
    memset(&n, 0, sizeof(n));
    assert_true((size_t)snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c '%s'", PY) < sizeof(cmd));
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
    if (n.n_refused)
        fail_msg("vas refuses %d of matplotlib's %d colormaps:%s", n.n_refused, n.sizes,
                 n.refused_names);
    /* matplotlib 3.6 registers 83 maps and their reverses; every one was checked: 8 entries a
     * 256-colour map, fewer for short lists */
    assert_true(n.sizes >= 166);
    assert_true(n.luts >= n.sizes * 5);
    assert_int_equal(n.colors, n.sizes * N_COLORS);
    print_message("checked all %d of matplotlib's colormaps: %d entries, %d bodypart colours; "
                  "%ld of %ld values bit-identical, largest difference %.3g\n",
                  n.sizes, n.luts, n.colors, n.exact, n.values, n.max_diff);
}

/* "grey" is vas's alias of gray (matplotlib 3.6 has no colormap "grey"). */
static void grey_is_gray(void **state)
{
    double a[3], b[3];
    vas_err e = {0};

    (void)state;
    for (int k = 0; k < POSE_CMAP_N; k++) {
        assert_int_equal(pose_cmap_lut("grey", k, a, &e), VAS_OK);
        assert_int_equal(pose_cmap_lut("gray", k, b, &e), VAS_OK);
        assert_memory_equal(a, b, sizeof(a));
        assert_int_equal(pose_cmap_lut("grey_r", k, a, &e), VAS_OK);
        assert_int_equal(pose_cmap_lut("gray_r", k, b, &e), VAS_OK);
        assert_memory_equal(a, b, sizeof(a));
    }
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
    assert_non_null(strstr(e.msg, "case-sensitive: Set1"));
    assert_int_equal(pose_cmap_size("blues_r", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "case-sensitive: Blues_r"));
    /* an unknown name: the message lists what vas knows */
    assert_int_equal(pose_cmap_size("nosuchmap", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "viridis"));
    assert_non_null(strstr(e.msg, "twilight_shifted"));
    assert_int_equal(pose_cmap_size("Set1", &e), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_map_matches_matplotlib),
        cmocka_unit_test(listed_maps_known_values),
        cmocka_unit_test(grey_is_gray),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
