/* test_pose_h5.c - the HDF5 and JSON pose writers, read back by a real client: Debian's
 * python3-pandas (pandas.read_hdf) and python3-tables. For each file the C side writes, a Python
 * check compares it value by value (IEEE bits) with the DataFrame pandas reads from the CSV
 * references in tests/fixtures/pose_writers (made by tools/make-pose-fixtures.py), and every
 * HDF5 attribute and the table's row type with a file pandas writes the DeepLabCut way
 * (to_hdf(key="df_with_missing", format="table", mode="w")) from that DataFrame. Also: abort
 * removes partial files, and a 20,000-row stream through all three writers keeps the heap flat.
 * Without pandas/PyTables the client checks are skipped with a message (scripts/deps-pose.txt
 * installs them). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#if defined(__SANITIZE_ADDRESS__)
/* From libasan (gcc ships no header for it): bytes the sanitizer's allocator holds for malloc. */
size_t __sanitizer_get_current_allocated_bytes(void); /* NOLINT(bugprone-reserved-identifier) */
#else
#include <malloc.h>
#endif

#include "core/err.h"
#include "pose/dlc_csv.h"
#include "pose/dlc_h5.h"
#include "pose/pose_json.h"
#include "pose/pose_layout.h"
#include "testutil.h"

#define PYTHON "/usr/bin/python3"

/* ---- the tables tools/make-pose-fixtures.py wrote (ROWS, IMAGES, UNI_*) ---- */

static const char *const BODYPARTS[] = {"snout", "leftear", "rightear", "tailbase"};
static const char SCORER[] = "DLC_resnet50_openfieldOct30shuffle1_10000";
static const char *const IMAGES[] = {"img0001.png", "img,0002.png", "img\"0003\".png"};
static const char *const UNI_BODYPARTS[] = {"n\xc3\xa4se", "ohr\\links",
                                            "\xe5\xb0\xbe\xf0\x9f\x90\xad"};
static const char UNI_SCORER[] = "DLC_resnet50_m\xc3\xa4useOct30shuffle1_10000";

static const double VIDEO_ROWS[3][12] = {
    {123.45, 45.5, 0.999, NAN, NAN, 1e-07, 5.0, 640.0, 1.0, 1.5e20, 0.30000000000000004, 0.0},
    {1.0 / 3.0, -0.0, 0.5, 1e16, 9999999999999998.0, 0.0001, 1e-05, 12.000000476837158,
     0.9876543210987654, 2.5e-300, 4.9e-324, 0.75},
    {(double)317.77f, (double)0.1f, (double)0.99f, 1e22, 1e21, 0.125, 100.0, 7.2801, 0.01, -3.5,
     1e300, 1.0},
};
static const double UNI_ROWS[2][9] = {{1.5, 2.5, 0.5, 3.0, 4.0, 1.0, 0.1, 0.2, 0.3},
                                      {NAN, NAN, NAN, 7.0, 8.0, 0.0, 9.5, 10.5, 0.25}};

/* The client: argv = mode, file vas wrote, then per mode:
 *   frame REF_CSV       the DataFrame equals read_csv(REF_CSV), bit for bit; attributes and row
 *                       type equal those of REF_CSV's DataFrame written the DeepLabCut way
 *   big N J             N rows, index 0..N-1, value(r, c) = r·1000 + c + 0.25; a where query
 *   json REF_CSV        the JSON's predictions equal read_csv(REF_CSV) */
static const char CHECK_PY[] =
    "import json, sys\n"
    "import numpy as np, pandas as pd, tables\n"
    "mode, path = sys.argv[1], sys.argv[2]\n"
    "def ref(p):\n"
    "    return pd.read_csv(p, header=[0, 1, 2], index_col=0, float_precision='round_trip')\n"
    "def same_bits(a, b):\n"
    "    a, b = np.ascontiguousarray(a, 'f8'), np.ascontiguousarray(b, 'f8')\n"
    "    assert a.shape == b.shape, (a.shape, b.shape)\n"
    "    bad = np.argwhere(a.view('u8') != b.view('u8'))\n"
    "    assert len(bad) == 0, 'values differ at %s: %r vs %r' % (bad[0], a[tuple(bad[0])],"
    " b[tuple(bad[0])])\n"
    "def attrs(f, node):\n"
    "    a = f.get_node(node)._v_attrs\n"
    "    return {k: a[k] for k in a._v_attrnames}\n"
    "def same_attrs(mine, theirs, node):\n"
    "    x, y = attrs(mine, node), attrs(theirs, node)\n"
    "    assert sorted(x) == sorted(y), (node, sorted(x), sorted(y))\n"
    "    for k in x:\n"
    "        assert type(x[k]) == type(y[k]) and repr(x[k]) == repr(y[k]), (node, k, x[k], y[k])\n"
    "if mode == 'frame':\n"
    "    exp = ref(sys.argv[3])\n"
    "    with pd.HDFStore(path, 'r') as s:\n"
    "        assert s.keys() == ['/df_with_missing'], s.keys()\n"
    "    got = pd.read_hdf(path)\n"
    "    pd.testing.assert_frame_equal(got, exp, check_exact=True)\n"
    "    assert got.index.dtype == exp.index.dtype and (got.dtypes == 'float64').all()\n"
    "    assert list(got.index) == list(exp.index)\n"
    "    same_bits(got.to_numpy(), exp.to_numpy())\n"
    "    theirs = path + '.pandas.h5'\n"
    "    exp.to_hdf(theirs, key='df_with_missing', format='table', mode='w')\n"
    "    with tables.open_file(path) as m, tables.open_file(theirs) as t:\n"
    "        for node in ['/', '/df_with_missing', '/df_with_missing/table']:\n"
    "            same_attrs(m, t, node)\n"
    "        a, b = m.root.df_with_missing.table, t.root.df_with_missing.table\n"
    "        assert a.dtype == b.dtype, (a.dtype, b.dtype)\n"
    "        assert a.nrows == b.nrows\n"
    "elif mode == 'big':\n"
    "    n, j = int(sys.argv[3]), int(sys.argv[4])\n"
    "    got = pd.read_hdf(path, 'df_with_missing')\n"
    "    assert got.shape == (n, 3 * j), got.shape\n"
    "    assert (got.index == np.arange(n)).all()\n"
    "    same_bits(got.to_numpy(), np.arange(n)[:, None] * 1000.0 + np.arange(3 * j) + 0.25)\n"
    "    tail = pd.read_hdf(path, 'df_with_missing', where='index >= %d' % (n - 10))\n"
    "    assert list(tail.index) == list(range(n - 10, n)), tail.index\n"
    "elif mode == 'json':\n"
    "    exp = ref(sys.argv[3])\n"
    "    with open(path, encoding='utf-8') as f:\n"
    "        doc = json.load(f)\n"
    "    bps = list(dict.fromkeys(exp.columns.get_level_values('bodyparts')))\n"
    "    assert doc['scorer'] == exp.columns[0][0] and doc['bodyparts'] == bps\n"
    "    assert doc['coords'] == ['x', 'y', 'likelihood'] and doc['frames'] == len(exp)\n"
    "    assert [p['index'] for p in doc['predictions']] == list(exp.index)\n"
    "    vals = [[np.nan if v is None else v for v in p['pose']] for p in doc['predictions']]\n"
    "    same_bits(np.array(vals, 'f8'), exp.to_numpy())\n"
    "    assert doc['fps'] == 29.97002997002997 and doc['model'] == 'openfield'\n"
    "    assert doc['timings'] == {'decode_s': 1.5, 'infer_s': 12}\n"
    "print('client check ok')\n";

typedef struct fx {
    char *dir;   /* fresh temp folder, removed by teardown */
    char *check; /* <dir>/check.py */
} fx;

static int have_pandas = -1; /* -1 unknown, 0 no, 1 yes */

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    *state = f;
    if (!f || !(f->dir = tu_mkdtemp()) || !(f->check = tu_path(f->dir, "check.py")))
        return -1;
    return tu_write_file(f->check, CHECK_PY, sizeof(CHECK_PY) - 1);
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    if (f) {
        tu_rm_rf(f->dir);
        free(f->dir);
        free(f->check);
        free(f);
    }
    return 0;
}

static const char *fixdir(void)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    const char *d = getenv("VAS_POSE_FIXTURES");
    return d ? d : "tests/fixtures/pose_writers";
}

/* Skips the calling test unless python3-pandas and python3-tables are installed. */
static void need_pandas(void)
{
    if (have_pandas < 0)
        have_pandas = tu_run(PYTHON " -c 'import pandas, tables' 2>/dev/null") == 0;
    if (!have_pandas) {
        print_message("SKIP: the pandas client checks need python3-pandas and python3-tables "
                      "(scripts/deps-pose.txt; scripts/install-deps)\n");
        skip();
    }
}

/* The client check on path; fails the test on a non-zero exit. a and b are mode arguments. */
static void client_check(const fx *f, const char *mode, const char *path, const char *a,
                         const char *b)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd), PYTHON " '%s' %s '%s' '%s' '%s' 2>&1", f->check, mode, path, a,
             b ? b : "");
    if (tu_run(cmd) != 0)
        fail_msg("the pandas client refused %s (%s check); its output is above", path, mode);
}

static char *fixture_path(const char *name)
{
    char *p = tu_path(fixdir(), name);

    assert_non_null(p);
    if (access(p, R_OK) != 0)
        fail_msg("cannot read fixture %s (run from the repository root)", p);
    return p;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- HDF5 against pandas ---- */

static void write_h5(const char *path, const pose_layout *l, int n_rows, const char *const *labels,
                     const double *rows)
{
    dlc_h5 *w = NULL;
    vas_err e = {0};
    int i;

    if (dlc_h5_open(path, l, &w, &e) != VAS_OK)
        fail_msg("dlc_h5_open: %s", e.msg);
    for (i = 0; i < n_rows; i++)
        if (dlc_h5_add_row(w, i, labels ? labels[i] : NULL,
                           rows + (size_t)i * 3 * (size_t)l->n_bodyparts, &e) != VAS_OK)
            fail_msg("dlc_h5_add_row: %s", e.msg);
    if (dlc_h5_close(w, &e) != VAS_OK)
        fail_msg("dlc_h5_close: %s", e.msg);
}

static void h5_video_read_by_pandas(void **state)
{
    fx *f = *state;
    pose_layout l = {SCORER, BODYPARTS, 4, 0, NULL, 0};
    char *path = tu_path(f->dir, "videoDLC.h5"), *ref = fixture_path("video.csv");

    write_h5(path, &l, 3, NULL, &VIDEO_ROWS[0][0]);
    assert_true(exists(path));
    need_pandas();
    client_check(f, "frame", path, ref, NULL);
    free(path);
    free(ref);
}

static void h5_images_read_by_pandas(void **state)
{
    fx *f = *state;
    /* pandas sizes the index column to the longest name; vas takes the width up front */
    pose_layout l = {SCORER, BODYPARTS, 4, (int)strlen(IMAGES[2]), NULL, 0};
    char *path = tu_path(f->dir, "labeled-data.h5"), *ref = fixture_path("images.csv");

    write_h5(path, &l, 3, IMAGES, &VIDEO_ROWS[0][0]);
    need_pandas();
    client_check(f, "frame", path, ref, NULL);
    free(path);
    free(ref);
}

static void h5_unicode_names_read_by_pandas(void **state)
{
    fx *f = *state;
    pose_layout l = {UNI_SCORER, UNI_BODYPARTS, 3, 0, NULL, 0};
    char *path = tu_path(f->dir, "u.h5"), *ref = fixture_path("unicode.csv");

    write_h5(path, &l, 2, NULL, &UNI_ROWS[0][0]);
    need_pandas();
    client_check(f, "frame", path, ref, NULL);
    free(path);
    free(ref);
}

static void h5_abort_removes_partial_file(void **state)
{
    fx *f = *state;
    pose_layout l = {SCORER, BODYPARTS, 4, 0, NULL, 0};
    char *path = tu_path(f->dir, "a.h5"), *part = tu_path(f->dir, "a.h5.part");
    dlc_h5 *w = NULL;
    vas_err e = {0};
    int i;

    assert_int_equal(dlc_h5_open(path, &l, &w, &e), VAS_OK);
    for (i = 0; i < 2000; i++) /* past the first chunk: some rows are in the file */
        assert_int_equal(dlc_h5_add_row(w, i, NULL, VIDEO_ROWS[i % 3], &e), VAS_OK);
    assert_true(exists(part));
    assert_false(exists(path));
    dlc_h5_abort(w);
    assert_false(exists(part));
    assert_false(exists(path));
    dlc_h5_abort(NULL);
    assert_int_equal(dlc_h5_close(NULL, &e), VAS_OK);
    free(path);
    free(part);
}

static void h5_refuses_bad_input(void **state)
{
    fx *f = *state;
    pose_layout l = {SCORER, BODYPARTS, 4, 0, NULL, 0};
    char *path = tu_path(f->dir, "b.h5"), *nodir = tu_path(f->dir, "no/such/b.h5");
    dlc_h5 *w = NULL;
    vas_err e = {0};

    assert_int_equal(dlc_h5_open(nodir, &l, &w, &e), VAS_EIO);
    assert_non_null(strstr(e.msg, "cannot create the file"));
    assert_null(w);
    l.n_bodyparts = 0;
    assert_int_equal(dlc_h5_open(path, &l, &w, &e), VAS_EINVAL);
    l.n_bodyparts = 4;
    l.label_max = 6;
    assert_int_equal(dlc_h5_open(path, &l, &w, &e), VAS_OK);
    assert_int_equal(dlc_h5_add_row(w, 0, "seven.p", VIDEO_ROWS[0], &e), VAS_EINVAL);
    assert_int_equal(dlc_h5_add_row(w, 0, NULL, VIDEO_ROWS[0], &e), VAS_EINVAL);
    assert_int_equal(dlc_h5_add_row(w, 0, "\xff.png", VIDEO_ROWS[0], &e), VAS_EINVAL);
    assert_int_equal(dlc_h5_add_row(w, 0, "a.png", VIDEO_ROWS[0], &e), VAS_OK);
    dlc_h5_abort(w);
    assert_false(exists(path));
    free(path);
    free(nodir);
}

/* ---- JSON ---- */

static json_t *json_head(void)
{
    return json_pack("{s:s, s:f}", "model", "openfield", "fps", 29.97002997002997);
}

static void write_json(const char *path, const pose_layout *l, int n_rows,
                       const char *const *labels, const double *rows)
{
    json_t *head = json_head(),
           *tail = json_pack("{s:{s:f, s:i}}", "timings", "decode_s", 1.5, "infer_s", 12);
    pose_json *w = NULL;
    vas_err e = {0};
    int i;

    if (pose_json_open(path, l, head, &w, &e) != VAS_OK)
        fail_msg("pose_json_open: %s", e.msg);
    for (i = 0; i < n_rows; i++)
        if (pose_json_add_row(w, i, labels ? labels[i] : NULL,
                              rows + (size_t)i * 3 * (size_t)l->n_bodyparts, &e) != VAS_OK)
            fail_msg("pose_json_add_row: %s", e.msg);
    if (pose_json_close(w, tail, &e) != VAS_OK)
        fail_msg("pose_json_close: %s", e.msg);
    json_decref(head);
    json_decref(tail);
}

static void json_video_layout(void **state)
{
    fx *f = *state;
    pose_layout l = {SCORER, BODYPARTS, 1, 0, NULL, 0};
    const double row[3] = {1.5, NAN, 1e-07};
    char *path = tu_path(f->dir, "v.json"), *text;

    write_json(path, &l, 1, NULL, row);
    text = tu_read_file(path, NULL);
    assert_non_null(text);
    assert_string_equal(text, "{\"scorer\":\"DLC_resnet50_openfieldOct30shuffle1_10000\","
                              "\"bodyparts\":[\"snout\"],\"coords\":[\"x\",\"y\",\"likelihood\"],"
                              "\"model\":\"openfield\",\"fps\":29.97002997002997,"
                              "\"predictions\":[\n"
                              "{\"index\":0,\"pose\":[1.5,null,1e-07]}\n"
                              "],\"frames\":1,\"timings\":{\"decode_s\":1.5,\"infer_s\":12}}\n");
    free(text);
    free(path);
}

static void json_read_by_python(void **state)
{
    fx *f = *state;
    pose_layout lv = {SCORER, BODYPARTS, 4, 0, NULL, 0}, li = {SCORER, BODYPARTS, 4, 64, NULL, 0};
    pose_layout lu = {UNI_SCORER, UNI_BODYPARTS, 3, 0, NULL, 0};
    char *pv = tu_path(f->dir, "v.json"), *pi = tu_path(f->dir, "i.json");
    char *pu = tu_path(f->dir, "u.json"), *rv = fixture_path("video.csv");
    char *ri = fixture_path("images.csv"), *ru = fixture_path("unicode.csv");

    write_json(pv, &lv, 3, NULL, &VIDEO_ROWS[0][0]);
    write_json(pi, &li, 3, IMAGES, &VIDEO_ROWS[0][0]);
    write_json(pu, &lu, 2, NULL, &UNI_ROWS[0][0]);
    need_pandas();
    client_check(f, "json", pv, rv, NULL);
    client_check(f, "json", pi, ri, NULL);
    client_check(f, "json", pu, ru, NULL);
    free(pv);
    free(pi);
    free(pu);
    free(rv);
    free(ri);
    free(ru);
}

static void json_refuses_reserved_keys_and_aborts(void **state)
{
    fx *f = *state;
    pose_layout l = {SCORER, BODYPARTS, 4, 0, NULL, 0};
    json_t *bad = json_pack("{s:i}", "frames", 3), *head = json_head();
    char *path = tu_path(f->dir, "r.json"), *part = tu_path(f->dir, "r.json.part");
    pose_json *w = NULL;
    vas_err e = {0};

    assert_int_equal(pose_json_open(path, &l, bad, &w, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "frames"));
    assert_false(exists(part));
    assert_int_equal(pose_json_open(path, &l, head, &w, &e), VAS_OK);
    assert_int_equal(pose_json_add_row(w, 0, NULL, VIDEO_ROWS[0], &e), VAS_OK);
    assert_int_equal(pose_json_close(w, bad, &e), VAS_EINVAL); /* frees w, removes the file */
    assert_false(exists(part));
    assert_false(exists(path));
    assert_int_equal(pose_json_open(path, &l, head, &w, &e), VAS_OK);
    assert_int_equal(pose_json_add_row(w, 0, NULL, VIDEO_ROWS[0], &e), VAS_OK);
    assert_true(exists(part));
    pose_json_abort(w);
    assert_false(exists(part));
    assert_false(exists(path));
    json_decref(bad);
    json_decref(head);
    free(path);
    free(part);
}

/* ---- 20,000 rows through all three writers ---- */

static size_t heap_bytes(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
#endif
}

enum { BIG_J = 16, BIG_N = 20000 };

static void big_row(int r, double row[3 * BIG_J])
{
    int c;

    for (c = 0; c < 3 * BIG_J; c++)
        row[c] = r * 1000.0 + c + 0.25;
}

static void stream_20000_rows_bounded(void **state)
{
    fx *f = *state;
    static const char *const parts[BIG_J] = {"p0", "p1", "p2",  "p3",  "p4",  "p5",  "p6",  "p7",
                                             "p8", "p9", "p10", "p11", "p12", "p13", "p14", "p15"};
    pose_layout l = {SCORER, parts, BIG_J, 0, NULL, 0};
    char *ph = tu_path(f->dir, "big.h5"), *pc = tu_path(f->dir, "big.csv");
    char *pj = tu_path(f->dir, "big.json"), n[16], j[16];
    double row[3 * BIG_J];
    size_t at_2000 = 0, at_end;
    dlc_h5 *h = NULL;
    dlc_csv *c = NULL;
    pose_json *js = NULL;
    vas_err e = {0};
    struct stat st;
    int r;

    assert_int_equal(dlc_h5_open(ph, &l, &h, &e), VAS_OK);
    assert_int_equal(dlc_csv_open(pc, &l, &c, &e), VAS_OK);
    assert_int_equal(pose_json_open(pj, &l, NULL, &js, &e), VAS_OK);
    for (r = 0; r < BIG_N; r++) {
        if (r == 2000)
            at_2000 = heap_bytes();
        big_row(r, row);
        assert_int_equal(dlc_h5_add_row(h, r, NULL, row, &e), VAS_OK);
        assert_int_equal(dlc_csv_add_row(c, r, NULL, row, &e), VAS_OK);
        assert_int_equal(pose_json_add_row(js, r, NULL, row, &e), VAS_OK);
    }
    at_end = heap_bytes();
    /* 18,000 more rows are ~7 MB of HDF5 and ~30 MB of text; the heap may not follow them */
    print_message("heap: %zu bytes at row 2000, %zu at row 20000\n", at_2000, at_end);
    assert_true(at_end < at_2000 + (size_t)256 * 1024);
    assert_int_equal(dlc_h5_close(h, &e), VAS_OK);
    assert_int_equal(dlc_csv_close(c, &e), VAS_OK);
    assert_int_equal(pose_json_close(js, NULL, &e), VAS_OK);
    assert_int_equal(stat(ph, &st), 0);
    assert_true(st.st_size > (off_t)BIG_N * 3 * BIG_J * 8);
    need_pandas();
    snprintf(n, sizeof(n), "%d", BIG_N);
    snprintf(j, sizeof(j), "%d", BIG_J);
    client_check(f, "big", ph, n, j);
    free(ph);
    free(pc);
    free(pj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(h5_video_read_by_pandas, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h5_images_read_by_pandas, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h5_unicode_names_read_by_pandas, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h5_abort_removes_partial_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(h5_refuses_bad_input, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(json_video_layout, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(json_read_by_python, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(json_refuses_reserved_keys_and_aborts, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(stream_20000_rows_bounded, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
