/* test_pose_filter.c - DeepLabCut's filterpredictions (pose_filter.h) against an independent
 * reference: scipy.signal.medfilt and scipy.interpolate.CubicSpline driven by pandas the way
 * DeepLabCut's filtering.py drives them, on real pose data (the openfield model's predictions
 * on 100 frames, tests/fixtures/pose/openfield_ref.csv), clean and with gaps of NaN (short,
 * long, at both ends, x without y). Each filtered table must agree with the reference within
 * 1e-9 (NaN where it has NaN); pandas must read the _filtered.h5 as DeepLabCut's table-format
 * df_with_missing, with the same columns and index, and the _filtered.csv must equal it. Plus
 * hand-checked small cases and the argument checks. Without /usr/bin/python3 with numpy,
 * pandas, tables and scipy, the reference tests are skipped with a message. */
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
#include "pose/dlc_read.h"
#include "pose/pose_filter.h"
#include "testutil.h"

#define PYTHON  "/usr/bin/python3"
#define FIXTURE "tests/fixtures/pose/openfield_ref.csv"
#define TOL     1e-9

/* Makes the inputs and the references: argv = folder, fixture. */
static const char REF_PY[] =
    "import sys, numpy as np, pandas as pd\n"
    "from scipy import signal\n"
    "from scipy.interpolate import CubicSpline\n"
    "d, src = sys.argv[1], sys.argv[2]\n"
    "ref = pd.read_csv(src)\n"
    "P = ['snout', 'leftear', 'rightear', 'tailbase']\n"
    "S = 'DLC_resnet50_openfieldOct30shuffle1_4905'\n"
    "cols = pd.MultiIndex.from_product([[S], P, ['x', 'y', 'likelihood']],"
    " names=['scorer', 'bodyparts', 'coords'])\n"
    "v = np.column_stack([ref[p + '_' + c].to_numpy(float) for p in P"
    " for c in ['x', 'y', 'likelihood']])\n"
    "clean = pd.DataFrame(v, columns=cols)\n"
    "g = v.copy()\n"
    "g[10:13, 0:2] = np.nan    # snout: 3 frames\n"
    "g[50:56, 0:2] = np.nan    # snout: 6 frames (longer than 5)\n"
    "g[30:38, 3:5] = np.nan    # leftear: 8 frames\n"
    "g[61, 3:5] = np.nan       # leftear: 1 frame\n"
    "g[0:2, 6:8] = np.nan      # rightear: the first 2 frames\n"
    "g[95:100, 9:11] = np.nan  # tailbase: the last 5 frames\n"
    "g[40, 9] = np.nan         # tailbase: x only\n"
    "g[3:97, 7] = np.nan       # rightear y: 4 values left (a spline of 4 points)\n"
    "gaps = pd.DataFrame(g, columns=cols)\n"
    "clean.to_hdf(d + '/clean.h5', key='df_with_missing', format='table', mode='w')\n"
    "clean.to_csv(d + '/clean.csv')\n"
    "gaps.to_hdf(d + '/gaps.h5', key='df_with_missing', format='table', mode='w')\n"
    "def median(df, w):\n"
    "    out = df.copy()\n"
    "    xy = df.columns.get_level_values('coords') != 'likelihood'\n"
    "    out.loc[:, xy] = df.loc[:, xy].apply(signal.medfilt, args=(w,), axis=0)\n"
    "    return out\n"
    "def spline_col(y, max_gap):\n"
    "    ok = ~np.isnan(y)\n"
    "    if ok.sum() <= 3:\n"
    "        return y.copy()\n"
    "    t = np.arange(len(y))\n"
    "    z = CubicSpline(t[ok], y[ok])(t)\n"
    "    if max_gap > 0:\n"
    "        i = 0\n"
    "        while i < len(y):\n"
    "            j = i\n"
    "            while j < len(y) and ok[j] == ok[i]:\n"
    "                j += 1\n"
    "            if not ok[i] and j - i > max_gap:\n"
    "                z[i:j] = np.nan\n"
    "            i = j\n"
    "    z[z == 0] = np.nan\n"
    "    return z\n"
    "def spline(df, w):\n"
    "    out = df.copy()\n"
    "    a = out.to_numpy().copy()\n"
    "    for b in range(len(P)):\n"
    "        for c in range(2):\n"
    "            y = a[:, 3 * b + c]\n"
    "            z = spline_col(y, w)\n"
    "            fill = ~np.isnan(z)\n"
    "            a[fill & np.isnan(y), 3 * b + 2] = 0.01\n"
    "            a[fill, 3 * b + c] = z[fill]\n"
    "    return pd.DataFrame(a, columns=df.columns, index=df.index)\n"
    "median(clean, 5).to_csv(d + '/median5_ref.csv')\n"
    "median(clean, 1).to_csv(d + '/median1_ref.csv')\n"
    "median(gaps, 11).to_csv(d + '/median11_ref.csv')\n"
    "median(clean, 151).to_csv(d + '/median151_ref.csv')\n"
    "spline(gaps, 5).to_csv(d + '/spline5_ref.csv')\n"
    "spline(gaps, 0).to_csv(d + '/spline0_ref.csv')\n"
    "spline(clean, 5).to_csv(d + '/splineclean_ref.csv')\n"
    "print('references made')\n";

/* Checks vas's outputs as a pandas client: argv = folder, case. */
static const char CHECK_PY[] =
    "import sys, numpy as np, pandas as pd\n"
    "d, case = sys.argv[1], sys.argv[2]\n"
    "ref = pd.read_csv(d + '/' + case + '_ref.csv', header=[0, 1, 2], index_col=0)\n"
    "p = d + '/' + case + '_filtered.h5'\n"
    "with pd.HDFStore(p, 'r') as st:\n"
    "    assert st.keys() == ['/df_with_missing'], st.keys()\n"
    "    assert st.get_storer('df_with_missing').is_table\n"
    "h = pd.read_hdf(p)\n"
    "c = pd.read_csv(d + '/' + case + '_filtered.csv', header=[0, 1, 2], index_col=0,"
    " float_precision='round_trip')\n"
    "assert list(h.columns.names) == ['scorer', 'bodyparts', 'coords'], h.columns.names\n"
    "assert list(h.columns) == list(ref.columns), (list(h.columns), list(ref.columns))\n"
    "assert list(h.index) == list(ref.index) == list(range(100))\n"
    "np.testing.assert_allclose(h.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-9)\n"
    "np.testing.assert_array_equal(c.to_numpy(), h.to_numpy())\n"
    "assert list(c.columns) == list(h.columns)\n"
    "print(case, 'ok')\n";

typedef tu_dir_fx fx; /* a fresh temp folder per test */

static int have_python = -1;

static void need_python(void)
{
    if (have_python < 0)
        have_python =
            tu_run(PYTHON " -c 'import numpy, pandas, tables, scipy.signal' 2>/dev/null") == 0;
    if (!have_python) {
        print_message("SKIP: needs /usr/bin/python3 with numpy, pandas, tables and scipy\n");
        skip();
    }
}

static void python(const fx *f, const char *name, const char *script, const char *a, const char *b)
{
    char *path = tu_path(f->dir, name), cmd[2048];

    assert_int_equal(tu_write_file(path, script, strlen(script)), 0);
    snprintf(cmd, sizeof(cmd), PYTHON " '%s' '%s' '%s' 2>&1", path, a, b);
    if (tu_run(cmd) != 0)
        fail_msg("%s failed; its output is above", name);
    free(path);
}

/* Filters <dir>/<input> with o into <dir>/<name>_filtered.*, and compares the CSV (read back
 * with dlc_read) with <dir>/<name>_ref.csv value by value, then lets pandas check both files. */
static void check_case(const fx *f, const char *input, const char *name, pose_filter_opts o)
{
    char in[1024], stem[1024], ref[1100];
    pose_filter_out out = {0};
    dlc_table got = {0}, want = {0};
    vas_err e = {0};
    int64_t n;

    snprintf(in, sizeof(in), "%s/%s", f->dir, input);
    snprintf(stem, sizeof(stem), "%s/%s", f->dir, name);
    snprintf(ref, sizeof(ref), "%s_ref.csv", stem);
    if (pose_filter_file(in, stem, &o, &out, &e) < 0)
        fail_msg("%s: %s", name, e.msg);
    assert_int_equal(out.rows, 100);
    assert_int_equal(dlc_read(out.csv, &got, &e), VAS_OK);
    assert_int_equal(dlc_read(ref, &want, &e), VAS_OK);
    assert_string_equal(got.scorer, want.scorer);
    assert_int_equal(got.n_parts, want.n_parts);
    assert_int_equal(got.n_rows, want.n_rows);
    n = got.n_rows * got.n_parts * got.n_coords;
    for (int64_t i = 0; i < n; i++) {
        double g = got.v[i], w = want.v[i];
        if (isnan(w) != isnan(g) || (!isnan(w) && fabs(g - w) > TOL))
            fail_msg("%s: value %lld (row %lld): vas %.17g, reference %.17g", name, (long long)i,
                     (long long)(i / (got.n_parts * 3)), g, w);
    }
    dlc_table_free(&got);
    dlc_table_free(&want);
    pose_filter_out_clear(&out);
    python(f, "check.py", CHECK_PY, f->dir, name);
}

static void against_scipy(void **state)
{
    fx *f = *state;
    pose_filter_opts med = POSE_FILTER_DEFAULTS, spl = POSE_FILTER_DEFAULTS;

    need_python();
    python(f, "ref.py", REF_PY, f->dir, FIXTURE);
    check_case(f, "clean.h5", "median5", med); /* DeepLabCut's defaults */
    check_case(f, "clean.csv", "median5", med);
    med.window = 1;
    check_case(f, "clean.h5", "median1", med);
    med.window = 11;
    check_case(f, "gaps.h5", "median11", med); /* NaN in the windows */
    med.window = 151;                          /* wider than the table */
    check_case(f, "clean.h5", "median151", med);
    spl.type = POSE_FILTER_SPLINE;
    check_case(f, "gaps.h5", "spline5", spl);
    check_case(f, "clean.h5", "splineclean", spl);
    spl.window = 0; /* every gap */
    check_case(f, "gaps.h5", "spline0", spl);
}

/* scipy.signal.medfilt([1, 5, 2, 8, 3], 3) = [1, 2, 5, 3, 3]: zero padded at both ends. */
static void medfilt_by_hand(void **state)
{
    const double in[5] = {1, 5, 2, 8, 3}, want[5] = {1, 2, 5, 3, 3};
    double out[5];
    vas_err e = {0};

    (void)state;
    assert_int_equal(pose_filter_medfilt(in, 5, 3, out, &e), VAS_OK);
    for (int i = 0; i < 5; i++)
        assert_true(out[i] == want[i]);
    assert_int_equal(pose_filter_medfilt(in, 5, 1, out, &e), VAS_OK);
    assert_memory_equal(in, out, sizeof(in));
}

/* A cubic through 4+ points is reproduced exactly by a not-a-knot spline (extrapolated too);
 * 3 points are too few and stay as they are; a gap longer than max_gap stays NaN. */
static void spline_by_hand(void **state)
{
    double v[12], few[5] = {1, NAN, 2, NAN, 3};
    vas_err e = {0};

    (void)state;
    for (int i = 0; i < 12; i++) {
        double t = i;
        v[i] = i % 3 == 1 || i == 0 ? NAN : 0.5 * t * t * t - 2 * t * t + t + 7;
    }
    assert_int_equal(pose_filter_spline_column(v, 12, 0, &e), VAS_OK);
    for (int i = 0; i < 12; i++) {
        double t = i;
        assert_true(fabs(v[i] - (0.5 * t * t * t - 2 * t * t + t + 7)) < 1e-9);
    }
    assert_int_equal(pose_filter_spline_column(few, 5, 0, &e), VAS_OK);
    assert_true(isnan(few[1]) && isnan(few[3]) && few[4] == 3);
    for (int i = 0; i < 12; i++)
        v[i] = i >= 4 && i < 7 ? NAN : i + 1.0;
    assert_int_equal(pose_filter_spline_column(v, 12, 2, &e), VAS_OK);
    assert_true(isnan(v[4]) && isnan(v[5]) && isnan(v[6]));
    assert_true(fabs(v[7] - 8.0) < 1e-12);
}

static void refuses_bad_options(void **state)
{
    pose_filter_opts o = POSE_FILTER_DEFAULTS;
    pose_filter_type t;
    vas_err e = {0};

    (void)state;
    assert_int_equal(pose_filter_check(&o, &e), VAS_OK);
    o.window = 4;
    assert_int_equal(pose_filter_check(&o, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "odd"));
    o.window = 0;
    assert_int_equal(pose_filter_check(&o, &e), VAS_EINVAL);
    o.type = POSE_FILTER_SPLINE;
    assert_int_equal(pose_filter_check(&o, &e), VAS_OK);
    o.window = POSE_FILTER_WINDOW_MAX + 1;
    assert_int_equal(pose_filter_check(&o, &e), VAS_EINVAL);
    o.type = POSE_FILTER_ARIMA;
    o.window = 5;
    assert_int_equal(pose_filter_check(&o, &e), VAS_OK);
    o.ar_degree = 11;
    assert_int_equal(pose_filter_check(&o, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "ARdegree"));
    assert_int_equal(pose_filter_parse_type("Spline", &t, &e), VAS_OK);
    assert_int_equal(t, POSE_FILTER_SPLINE);
    assert_int_equal(pose_filter_parse_type("kalman", &t, &e), VAS_EINVAL);
    assert_string_equal(pose_filter_type_name(POSE_FILTER_MEDIAN), "median");
}

/* A 3D table (x, y, z) is not filtered: DeepLabCut filters 2D predictions. */
static void refuses_3d_table(void **state)
{
    fx *f = *state;
    static const char csv[] = "scorer,S,S,S\nbodyparts,a,a,a\ncoords,x,y,z\n0,1.0,2.0,3.0\n";
    char *in = tu_path(f->dir, "t3d.csv"), *stem = tu_path(f->dir, "t3d");
    pose_filter_opts o = POSE_FILTER_DEFAULTS;
    pose_filter_out out = {0};
    vas_err e = {0};

    assert_int_equal(tu_write_file(in, csv, strlen(csv)), 0);
    assert_int_equal(pose_filter_file(in, stem, &o, &out, &e), VAS_EINVAL);
    assert_null(out.csv);
    free(in);
    free(stem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(medfilt_by_hand),
        cmocka_unit_test(spline_by_hand),
        cmocka_unit_test(refuses_bad_options),
        cmocka_unit_test_setup_teardown(refuses_3d_table, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(against_scipy, tu_dir_setup, tu_dir_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
