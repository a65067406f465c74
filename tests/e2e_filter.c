/* e2e_filter.c - the `filter` analysis (DeepLabCut's filterpredictions) through the HTTP API, on
 * a server with no models: a DeepLabCut HDF5 written by pandas from real predictions (the
 * openfield model on 100 frames, tests/fixtures/pose/openfield_ref.csv) is uploaded and filtered
 * with the defaults (median, 5) and with spline; both outputs are downloaded under DeepLabCut's
 * names (<stem>_filtered.h5/.csv), pandas reads the HDF5 as DeepLabCut's table-format
 * df_with_missing, the CSV equals it, and the median agrees with scipy.signal.medfilt within
 * 1e-9; arima (DeepLabCut's default ARMA(3, 1)) keeps likelihood and frame 0 and agrees with
 * statsmodels' SARIMAX within 0.5 px (when python3-statsmodels is there). Then the refusals
 * (400 for each bad argument) and a job on a file that is not a pose table. Without
 * /usr/bin/python3 with pandas, tables and scipy the pandas parts are skipped with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"

#define FIXTURE "tests/fixtures/pose/openfield_ref.csv"
#define SCORER  "DLC_resnet50_openfieldOct30shuffle1_4905"
#define STEM    "m4s1" SCORER

/* argv = folder, fixture: <folder>/in.h5 as DeepLabCut writes it. */
static const char MAKE_PY[] =
    "import sys, numpy as np, pandas as pd\n"
    "d, src = sys.argv[1], sys.argv[2]\n"
    "ref = pd.read_csv(src)\n"
    "P = ['snout', 'leftear', 'rightear', 'tailbase']\n"
    "cols = pd.MultiIndex.from_product([['" SCORER "'], P, ['x', 'y', 'likelihood']],"
    " names=['scorer', 'bodyparts', 'coords'])\n"
    "v = np.column_stack([ref[p + '_' + c].to_numpy(float) for p in P"
    " for c in ['x', 'y', 'likelihood']])\n"
    "v[20:23, 0:2] = np.nan\n"
    "pd.DataFrame(v, columns=cols).to_hdf(d + '/in.h5', key='df_with_missing', format='table',"
    " mode='w')\n";

/* argv = folder, filter: checks out.h5 and out.csv against in.h5. */
static const char CHECK_PY[] =
    "import sys, numpy as np, pandas as pd\n"
    "from scipy import signal\n"
    "d, kind = sys.argv[1], sys.argv[2]\n"
    "src = pd.read_hdf(d + '/in.h5')\n"
    "with pd.HDFStore(d + '/out.h5', 'r') as st:\n"
    "    assert st.keys() == ['/df_with_missing'], st.keys()\n"
    "    assert st.get_storer('df_with_missing').is_table\n"
    "h = pd.read_hdf(d + '/out.h5', 'df_with_missing')\n"
    "c = pd.read_csv(d + '/out.csv', header=[0, 1, 2], index_col=0,"
    " float_precision='round_trip')\n"
    "assert list(h.columns) == list(src.columns) == list(c.columns)\n"
    "assert list(h.columns.names) == ['scorer', 'bodyparts', 'coords']\n"
    "assert list(h.index) == list(c.index) == list(range(100))\n"
    "assert np.array_equal(h.to_numpy(), c.to_numpy(), equal_nan=True)\n"
    "if kind == 'median':\n"
    "    want = src.copy()\n"
    "    xy = src.columns.get_level_values('coords') != 'likelihood'\n"
    "    want.loc[:, xy] = src.loc[:, xy].apply(signal.medfilt, args=(5,), axis=0)\n"
    "    np.testing.assert_allclose(h.to_numpy(), want.to_numpy(), rtol=0, atol=1e-9)\n"
    "elif kind == 'spline':\n"
    "    assert not h.isna().any().any()  # the 3-frame gap is filled\n"
    "    assert (h.iloc[20:23, 2] == 0.01).all()\n"
    "else:  # arima (3, 1): likelihood and frame 0 kept, predictions everywhere else\n"
    "    xy = src.columns.get_level_values('coords') != 'likelihood'\n"
    "    assert np.array_equal(h.loc[:, ~xy].to_numpy(), src.loc[:, ~xy].to_numpy())\n"
    "    assert np.array_equal(h.iloc[0].to_numpy(), src.iloc[0].to_numpy(), equal_nan=True)\n"
    "    assert not h.iloc[1:].isna().any().any()\n"
    "    try:\n"
    "        import warnings, statsmodels.api as sm\n"
    "    except ImportError:\n"
    "        print('arima: no python3-statsmodels, not compared'); sys.exit(0)\n"
    "    warnings.simplefilter('ignore')\n"
    "    worst = 0\n"
    "    for j in np.flatnonzero(xy):\n"
    "        x = src.iloc[:, j].to_numpy(); Y = x.copy()\n"
    "        Y[src.iloc[:, j - j % 3 + 2].to_numpy() < 0.001] = np.nan\n"
    "        mod = sm.tsa.statespace.SARIMAX(Y, order=(3, 0, 1), seasonal_order=(0, 0, 0, 0),"
    " simple_differencing=True)\n"
    "        m = mod.fit(disp=False).get_prediction(end=mod.nobs - 1).predicted_mean\n"
    "        worst = max(worst, np.max(np.abs(m[1:] - h.iloc[1:, j].to_numpy())))\n"
    "    assert worst < 0.5, worst  # see tests/test_pose_arima.c for the tolerance\n"
    "    print('arima: max |diff| vs statsmodels', worst)\n"
    "print(kind, 'ok')\n";

static int have_python(void)
{
    if (system("/usr/bin/python3 -c 'import pandas, tables, scipy.signal' 2>/dev/null") == 0)
        return 1;
    fprintf(stderr, "e2e_filter: /usr/bin/python3 with pandas, tables and scipy missing: the "
                    "filter test is skipped\n");
    return 0;
}

static void python(e2e_srv *s, const char *script, const char *a, const char *b)
{
    char *path = tu_path(s->dir, "script.py"), cmd[2048];

    assert_int_equal(tu_write_file(path, script, strlen(script)), 0);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' '%s' '%s'", path, a, b);
    assert_int_equal(system(cmd), 0);
    free(path);
}

/* GET /file/<id> into <dir>/<name>; checks it is named want. */
static void download(e2e_srv *s, const char *id, const char *name, const char *want)
{
    char path[128], disp[600], *file = tu_path(s->dir, name);
    e2e_resp r;

    snprintf(path, sizeof(path), "/file/%s", id);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", want);
    assert_string_equal(e2e_header(&r, "Content-Disposition"), disp);
    assert_int_equal(tu_write_file(file, r.body, r.len), 0);
    e2e_resp_free(&r);
    free(file);
}

/* Runs filter with the extra form fields on fid; downloads and checks its outputs. */
static void filter_and_check(e2e_srv *s, const char *fid, const char *extra, const char *kind)
{
    char form[512], aid[37];
    e2e_resp r;

    snprintf(form, sizeof(form), "file_id=%s&analysis=filter%s", fid, extra);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 60, &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")), 100);
    assert_string_equal(e2e_str(r.json, "filtertype"), kind);
    download(s, e2e_str(r.json, "h5_file"), "out.h5", STEM "_filtered.h5");
    download(s, e2e_str(r.json, "csv_file"), "out.csv", STEM "_filtered.csv");
    e2e_resp_free(&r);
    python(s, CHECK_PY, s->dir, kind);
}

static void filters_a_dlc_h5(void **state)
{
    e2e_srv *s = *state;
    char in[E2E_PATH], fid[41];

    if (!have_python()) {
        E2E_PASS(s);
        skip();
    }
    python(s, MAKE_PY, s->dir, FIXTURE);
    snprintf(in, sizeof(in), "%s/in.h5", s->dir);
    e2e_upload_path(s, in, STEM ".h5", fid);
    filter_and_check(s, fid, "", "median");
    filter_and_check(s, fid, "&filtertype=spline&windowlength=3", "spline");
    filter_and_check(s, fid, "&filtertype=arima", "arima");
    E2E_PASS(s);
}

static void refuses(e2e_srv *s, const char *fid, const char *extra, const char *says)
{
    char form[512];
    e2e_resp r;

    snprintf(form, sizeof(form), "file_id=%s&analysis=filter&%s", fid, extra);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", form, &r);
    e2e_assert_error(&r, 400);
    if (!strstr(e2e_str(r.json, "error"), says))
        fail_msg("%s: the error should say '%s': %s", extra, says, e2e_str(r.json, "error"));
    e2e_resp_free(&r);
}

static void refuses_bad_arguments(void **state)
{
    e2e_srv *s = *state;
    char fid[41], aid[37], form[256];
    e2e_resp r;

    e2e_upload_text(s, "not a pose table\n", "notes.csv", fid);
    refuses(s, fid, "windowlength=4", "odd");
    refuses(s, fid, "windowlength=five", "windowlength");
    refuses(s, fid, "windowlength=100000", "windowlength");
    refuses(s, fid, "filtertype=kalman", "median, spline or arima");
    refuses(s, fid, "filtertype=arima&MAdegree=11", "MAdegree");
    refuses(s, fid, "p_bound=2", "p_bound");
    refuses(s, fid, "ARdegree=-1", "ARdegree");
    refuses(s, fid, "MAdegree=x", "MAdegree");
    refuses(s, fid, "window=5", "window");
    /* a valid request on a file that is not a pose table: the job fails, saying why */
    snprintf(form, sizeof(form), "file_id=%s&analysis=filter", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "FAILURE", 60, &r);
    if (!strstr(e2e_str(r.json, "description"), "notes") &&
        !strstr(e2e_str(r.json, "description"), "pose"))
        fail_msg("the description should say what is wrong: %s", e2e_str(r.json, "description"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST(filters_a_dlc_h5, NULL),
        E2E_TEST(refuses_bad_arguments, NULL),
    };

    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
