/* test_dlc_read.c - reading DeepLabCut pose tables back (dlc_read.h): files vas's writers
 * made, files pandas itself made (Debian's python3-pandas + PyTables, run as a real client),
 * 3D (x, y, z) tables both ways, refusals (multi-animal, malformed, truncated, corrupted), the
 * unpickler on every truncation and byte flip of real pickles, and the 3D output name.
 * Without pandas the client tests are skipped with a message. */
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
#include "pose/dlc_csv.h"
#include "pose/dlc_h5.h"
#include "pose/dlc_read.h"
#include "pose/dlc_read_int.h"
#include "pose/pose_layout.h"
#include "testutil.h"

#define PYTHON "/usr/bin/python3"

static const char SCORER[] = "DLC_resnet50_openfieldOct30shuffle1_10000";
static const char *const PARTS[] = {"snout", "left,ear", "t\xc3\xa4il"};
static const char *const IMAGES[] = {"labeled-data/v/img001.png", "labeled-data/v/img\"2\".png",
                                     "labeled-data/v/img,3.png", "x.png"};
enum { NP = 3, NR = 4 };

/* value(r, c) of the tables in these tests; NaN at (0, 1) and (2, 3..5). */
static double val(int r, int c)
{
    if ((r == 0 && c == 1) || (r == 2 && c >= 3 && c <= 5))
        return NAN;
    return r * 100.0 + c + 0.25 + (c % 3 == 2 ? 1e-7 : 0.0);
}

/* Generates files with pandas: argv[1] = folder. Same table as val(), the DeepLabCut way. */
static const char GEN_PY[] =
    "import sys, pickle, numpy as np, pandas as pd\n"
    "d = sys.argv[1]\n"
    "S = 'DLC_resnet50_openfieldOct30shuffle1_10000'\n"
    "P = ['snout', 'left,ear', 't\\u00e4il']\n"
    "def cols(coords, parts=P):\n"
    "    return pd.MultiIndex.from_product([[S], parts, coords],"
    " names=['scorer', 'bodyparts', 'coords'])\n"
    "v = np.array([[r * 100.0 + c + 0.25 + (1e-7 if c % 3 == 2 else 0.0) for c in range(9)]"
    " for r in range(4)])\n"
    "v[0, 1] = np.nan; v[2, 3:6] = np.nan\n"
    "df = pd.DataFrame(v, columns=cols(['x', 'y', 'likelihood']))\n"
    "df.to_hdf(d + '/table.h5', key='df_with_missing', format='table', mode='w')\n"
    "df.to_hdf(d + '/fixed.h5', key='df_with_missing', mode='w')\n"
    "df.to_csv(d + '/table.csv')\n"
    "df.astype('float32').to_hdf(d + '/f32.h5', key='df_with_missing', format='table', mode='w')\n"
    "df.sort_index(axis=1).to_hdf(d + '/sorted.h5', key='other', format='table', mode='w')\n"
    "df.sort_index(axis=1).to_csv(d + '/sorted.csv')\n"
    "im = df.copy(); im.index = ['labeled-data/v/img001.png', 'labeled-data/v/img\"2\".png',"
    " 'labeled-data/v/img,3.png', 'x.png']\n"
    "im.to_csv(d + '/images.csv')\n"
    "im.to_hdf(d + '/images.h5', key='df_with_missing', format='table', mode='w')\n"
    "im.to_hdf(d + '/images_fixed.h5', key='df_with_missing', mode='w')\n"
    "mi = df.copy(); mi.index = pd.MultiIndex.from_tuples([tuple(s.split('/')) for s in"
    " im.index])\n"
    "mi.to_csv(d + '/multiindex.csv')\n"
    "mi.to_hdf(d + '/multiindex_fixed.h5', key='df_with_missing', mode='w')\n"
    "ma = pd.MultiIndex.from_product([[S], ['a1', 'a2'], ['snout'], ['x', 'y', 'likelihood']],"
    " names=['scorer', 'individuals', 'bodyparts', 'coords'])\n"
    "m = pd.DataFrame(np.ones((2, 6)), columns=ma)\n"
    "m.to_csv(d + '/animals.csv')\n"
    "m.to_hdf(d + '/animals.h5', key='df_with_missing', format='table', mode='w')\n"
    "pd.Series([1.0, 2.0]).to_hdf(d + '/series.h5', key='s', mode='w')\n"
    "df.to_hdf(d + '/table_z.h5', key='df_with_missing', format='table', mode='w', complevel=9,"
    " complib='zlib')\n"
    "df.to_hdf(d + '/fixed_z.h5', key='df_with_missing', mode='w', complevel=9, complib='zlib')\n"
    "df.to_hdf(d + '/blosc.h5', key='df_with_missing', format='table', mode='w', complevel=5,"
    " complib='blosc')\n"
    "lv = np.arange(5000 * 9, dtype=float).reshape(5000, 9) / 8.0; lv[::7, 4] = np.nan\n"
    "lg = pd.DataFrame(lv, columns=df.columns, index=range(3, 5003))\n"
    "lg.to_hdf(d + '/long.h5', key='df_with_missing', format='table', mode='w')\n"
    "lg.to_hdf(d + '/long_z.h5', key='df_with_missing', format='table', mode='w', complevel=4,"
    " complib='zlib')\n"
    "lg.to_hdf(d + '/long_fixed.h5', key='df_with_missing', mode='w')\n"
    "lg.to_csv(d + '/long.csv')\n"
    "kind = [tuple(c) for c in df.columns]\n"
    "for p in range(6):\n"
    "    open(d + '/kind%d.pkl' % p, 'wb').write(pickle.dumps(kind, protocol=p))\n"
    "open(d + '/axes0.pkl', 'wb').write(pickle.dumps([(1, kind)], protocol=0))\n"
    "print('generated')\n";

/* Checks a 3D file vas wrote: argv = path, 'csv' or 'h5'. */
static const char CHECK3D_PY[] =
    "import sys, numpy as np, pandas as pd\n"
    "p, kind = sys.argv[1], sys.argv[2]\n"
    "if kind == 'csv':\n"
    "    df = pd.read_csv(p, header=[0, 1, 2], index_col=0)\n"
    "else:\n"
    "    df = pd.read_hdf(p, 'df_with_missing')\n"
    "assert list(df.columns.names) == ['scorer', 'bodyparts', 'coords'], df.columns.names\n"
    "assert list(df.columns) == [('DLC_3D', b, c) for b in ['snout', 'left,ear', 't\\u00e4il']"
    " for c in 'xyz'], list(df.columns)\n"
    "assert list(df.index) == [0, 1, 2, 3]\n"
    "v = np.array([[r * 100.0 + c + 0.25 + (1e-7 if c % 3 == 2 else 0.0) for c in range(9)]"
    " for r in range(4)])\n"
    "v[0, 1] = np.nan; v[2, 3:6] = np.nan\n"
    "np.testing.assert_array_equal(df.to_numpy(), v)\n"
    "print('3D ok')\n";

typedef struct fx {
    char *dir;
} fx;

static int have_pandas = -1;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    *state = f;
    return f && (f->dir = tu_mkdtemp()) ? 0 : -1;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    if (f) {
        tu_rm_rf(f->dir);
        free(f->dir);
        free(f);
    }
    return 0;
}

static void need_pandas(void)
{
    if (have_pandas < 0)
        have_pandas = tu_run(PYTHON " -c 'import pandas, tables' 2>/dev/null") == 0;
    if (!have_pandas) {
        print_message("SKIP: needs python3-pandas and python3-tables (scripts/deps-pose.txt)\n");
        skip();
    }
}

/* Runs script (text) with the arguments; fails the test on a non-zero exit. */
static void python(const fx *f, const char *name, const char *script, const char *a, const char *b)
{
    char *path = tu_path(f->dir, name), cmd[2048];

    assert_int_equal(tu_write_file(path, script, strlen(script)), 0);
    snprintf(cmd, sizeof(cmd), PYTHON " '%s' '%s' '%s' 2>&1", path, a, b ? b : "");
    if (tu_run(cmd) != 0)
        fail_msg("%s failed; its output is above", name);
    free(path);
}

static void generate(const fx *f)
{
    need_pandas();
    python(f, "gen.py", GEN_PY, f->dir, NULL);
}

/* ---- checks on a table read back ---- */

static void assert_same(double want, double got, int r, int c)
{
    uint64_t a, b;

    memcpy(&a, &want, sizeof(a));
    memcpy(&b, &got, sizeof(b));
    if (isnan(want) ? !isnan(got) : a != b) /* bits: -0.0 is not 0.0 */
        fail_msg("row %d value %d: want %.17g, got %.17g", r, c, want, got);
}

/* t must be the val() table with coords (in t's order) named by want. */
static void assert_table(const dlc_table *t, const char *scorer, const char *const *coords, int nc,
                         const char *const *labels)
{
    int r, p, k, idx[POSE_COORDS_MAX];
    vas_err e = {0};

    assert_string_equal(t->scorer, scorer);
    assert_int_equal(t->n_parts, NP);
    for (p = 0; p < NP; p++)
        assert_string_equal(t->bodyparts[p], PARTS[p]);
    assert_int_equal(t->n_coords, nc);
    assert_int_equal(dlc_table_find_coords(t, coords, nc, idx, &e), VAS_OK);
    assert_int_equal(t->n_rows, NR);
    for (r = 0; r < NR; r++) {
        if (labels) {
            assert_null(t->frames);
            assert_string_equal(t->labels[r], labels[r]);
        } else {
            assert_null(t->labels);
            assert_int_equal(t->frames[r], r);
        }
        for (p = 0; p < NP; p++)
            for (k = 0; k < nc; k++)
                assert_same(val(r, p * nc + k), t->v[(r * NP + p) * nc + idx[k]], r, p * nc + k);
    }
}

static const char *const XYL[] = {"x", "y", "likelihood"};
static const char *const XYZ[] = {"x", "y", "z"};

static void read_ok(const fx *f, const char *name, dlc_table *t)
{
    char *path = tu_path(f->dir, name);
    vas_err e = {0};

    memset(t, 0, sizeof(*t));
    if (dlc_read(path, t, &e) != VAS_OK)
        fail_msg("dlc_read %s: %s", name, e.msg);
    free(path);
}

static void read_fails(const fx *f, const char *name, int code, const char *needle)
{
    char *path = tu_path(f->dir, name);
    dlc_table t = {0};
    vas_err e = {0};
    int rc = dlc_read(path, &t, &e);

    print_message("  %s: %s\n", name, e.msg);
    if (rc != code)
        fail_msg("dlc_read %s: %d (%s), want %d", name, rc, e.msg, code);
    if (needle && !strstr(e.msg, needle))
        fail_msg("dlc_read %s: \"%s\" lacks \"%s\"", name, e.msg, needle);
    assert_null(t.v);
    assert_null(t.scorer);
    free(path);
}

/* ---- vas's own files ---- */

static void write_both(const fx *f, const char *stem, const pose_layout *l,
                       const char *const *labels)
{
    char csv[256], h5[256];
    double row[NP * POSE_COORDS_MAX];
    dlc_csv *c = NULL;
    dlc_h5 *h = NULL;
    vas_err e = {0};
    int r, k, nc = pose_layout_n_coords(l);

    snprintf(csv, sizeof(csv), "%s/%s.csv", f->dir, stem);
    snprintf(h5, sizeof(h5), "%s/%s.h5", f->dir, stem);
    assert_int_equal(dlc_csv_open(csv, l, &c, &e), VAS_OK);
    assert_int_equal(dlc_h5_open(h5, l, &h, &e), VAS_OK);
    for (r = 0; r < NR; r++) {
        for (k = 0; k < NP * nc; k++)
            row[k] = val(r, k);
        assert_int_equal(dlc_csv_add_row(c, r, labels ? labels[r] : NULL, row, &e), VAS_OK);
        assert_int_equal(dlc_h5_add_row(h, r, labels ? labels[r] : NULL, row, &e), VAS_OK);
    }
    assert_int_equal(dlc_csv_close(c, &e), VAS_OK);
    assert_int_equal(dlc_h5_close(h, &e), VAS_OK);
}

static void reads_vas_files(void **state)
{
    fx *f = *state;
    pose_layout lv = {SCORER, PARTS, NP, 0, NULL, 0}, li = {SCORER, PARTS, NP, 40, NULL, 0};
    dlc_table t;

    write_both(f, "video", &lv, NULL);
    write_both(f, "images", &li, IMAGES);
    read_ok(f, "video.csv", &t);
    assert_table(&t, SCORER, XYL, 3, NULL);
    dlc_table_free(&t);
    read_ok(f, "video.h5", &t);
    assert_table(&t, SCORER, XYL, 3, NULL);
    dlc_table_free(&t);
    read_ok(f, "images.csv", &t);
    assert_table(&t, SCORER, XYL, 3, IMAGES);
    dlc_table_free(&t);
    read_ok(f, "images.h5", &t);
    assert_table(&t, SCORER, XYL, 3, IMAGES);
    dlc_table_free(&t);
    dlc_table_free(NULL);
}

/* x, y, z written by vas: pandas reads it right, and so does dlc_read. */
static void writes_and_reads_3d(void **state)
{
    fx *f = *state;
    pose_layout l = {"DLC_3D", PARTS, NP, 0, XYZ, 3};
    char *csv = tu_path(f->dir, "3d.csv"), *h5 = tu_path(f->dir, "3d.h5");
    dlc_table t;
    vas_err e = {0};

    write_both(f, "3d", &l, NULL);
    read_ok(f, "3d.csv", &t);
    assert_table(&t, "DLC_3D", XYZ, 3, NULL);
    assert_int_equal(dlc_table_select_xyl(&t, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "likelihood"));
    dlc_table_free(&t);
    read_ok(f, "3d.h5", &t);
    assert_table(&t, "DLC_3D", XYZ, 3, NULL);
    dlc_table_free(&t);
    need_pandas();
    python(f, "check3d.py", CHECK3D_PY, csv, "csv");
    python(f, "check3d.py", CHECK3D_PY, h5, "h5");
    free(csv);
    free(h5);
}

static void layout_refuses_bad_coords(void **state)
{
    fx *f = *state;
    static const char *const twice[] = {"x", "x"};
    pose_layout l = {SCORER, PARTS, NP, 0, twice, 2};
    char *path = tu_path(f->dir, "c.csv");
    dlc_csv *c = NULL;
    vas_err e = {0};

    assert_int_equal(dlc_csv_open(path, &l, &c, &e), VAS_EINVAL);
    l.n_coords = 0;
    assert_int_equal(dlc_csv_open(path, &l, &c, &e), VAS_EINVAL);
    l.coords = NULL;
    l.n_coords = 2;
    assert_int_equal(dlc_csv_open(path, &l, &c, &e), VAS_EINVAL);
    assert_int_equal(pose_layout_n_coords(&(pose_layout){.n_coords = 0}), 3);
    assert_string_equal(pose_layout_coord(&(pose_layout){.n_coords = 0}, 2), "likelihood");
    free(path);
}

/* ---- files pandas wrote ---- */

static void reads_pandas_files(void **state)
{
    fx *f = *state;
    static const char *const LXY[] = {"likelihood", "x", "y"};
    static const char *const names[] = {"table.h5", "fixed.h5", "table.csv", "table_z.h5",
                                        "fixed_z.h5"};
    dlc_table t;
    vas_err e = {0};
    int i, r, c;

    generate(f);
    for (i = 0; i < 5; i++) { /* zlib-compressed ones too (deflate + shuffle) */
        read_ok(f, names[i], &t);
        assert_table(&t, SCORER, XYL, 3, NULL);
        dlc_table_free(&t);
    }
    read_ok(f, "f32.h5", &t); /* float32 values, as DeepLabCut 3.x may store them */
    for (r = 0; r < NR; r++)
        for (c = 0; c < 9; c++)
            assert_same((double)(float)val(r, c), t.v[r * 9 + c], r, c);
    dlc_table_free(&t);
    for (i = 0; i < 2; i++) { /* columns sorted: likelihood, x, y; made x, y, likelihood */
        read_ok(f, i ? "sorted.csv" : "sorted.h5", &t);
        assert_string_equal(t.coords[0], "likelihood");
        assert_string_equal(t.bodyparts[0], "left,ear"); /* sorted too */
        assert_int_equal(dlc_table_select_xyl(&t, &e), VAS_OK);
        assert_string_equal(t.coords[0], "x");
        assert_int_equal(dlc_table_select_coords(&t, LXY, 3, &e), VAS_OK);
        assert_int_equal(dlc_table_select_coords(&t, XYL, 3, &e), VAS_OK);
        assert_same(val(1, 3), t.v[(size_t)(1 * NP + 0) * 3], 1, 3); /* left,ear x */
        assert_same(val(1, 5), t.v[(1 * NP + 0) * 3 + 2], 1, 5);
        dlc_table_free(&t);
    }
}

static void reads_pandas_image_tables(void **state)
{
    fx *f = *state;
    static const char *const names[] = {"images.csv", "images.h5", "images_fixed.h5",
                                        "multiindex.csv", "multiindex_fixed.h5"};
    dlc_table t;
    size_t i;

    generate(f);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        print_message("  %s\n", names[i]);
        read_ok(f, names[i], &t);
        assert_table(&t, SCORER, XYL, 3, IMAGES);
        dlc_table_free(&t);
    }
}

/* 5000 rows: several chunks (and compressed ones), the same values as pandas' CSV. */
static void reads_long_pandas_tables(void **state)
{
    fx *f = *state;
    static const char *const names[] = {"long.h5", "long_z.h5", "long_fixed.h5"};
    dlc_table c, t;
    size_t i, k;

    generate(f);
    read_ok(f, "long.csv", &c);
    assert_int_equal(c.n_rows, 5000);
    assert_int_equal(c.frames[4999], 5002);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        read_ok(f, names[i], &t);
        assert_int_equal(t.n_rows, c.n_rows);
        assert_memory_equal(t.frames, c.frames, (size_t)c.n_rows * sizeof(*c.frames));
        for (k = 0; k < (size_t)c.n_rows * 9; k++)
            assert_same(c.v[k], t.v[k], (int)(k / 9), (int)(k % 9));
        dlc_table_free(&t);
    }
    dlc_table_free(&c);
}

static void refuses_other_pandas_files(void **state)
{
    fx *f = *state;

    generate(f);
    read_fails(f, "animals.csv", VAS_EUNSUPPORTED, "multi-animal");
    read_fails(f, "animals.h5", VAS_EUNSUPPORTED, "multi-animal");
    read_fails(f, "series.h5", VAS_EUNSUPPORTED, "series");
    read_fails(f, "blosc.h5", VAS_EUNSUPPORTED, "the Blosc filter, which vas does not read");
    read_fails(f, "nothing.h5", VAS_ENOTFOUND, NULL);
}

/* ---- malformed files ---- */

static void put(const fx *f, const char *name, const char *text)
{
    char *path = tu_path(f->dir, name);

    assert_int_equal(tu_write_file(path, text, strlen(text)), 0);
    free(path);
}

#define HDR "scorer,S,S,S,S,S,S\nbodyparts,a,a,a,b,b,b\ncoords,x,y,likelihood,x,y,likelihood\n"

static void refuses_malformed_csv(void **state)
{
    fx *f = *state;
    dlc_table t;
    const struct {
        const char *text, *needle;
    } bad[] = {
        {"", "empty"},
        {"hello\n", "scorer"},
        {"scorer,S\n", "ends in the header"},
        {"scorer,S,S\nbodyparts,a,a\ncoords,x\n", "fields"},
        {HDR "0,1,2,3,4,5\n", "fields"},
        {HDR "0,1,2,3,4,5,6,7\n", "fields"},
        {HDR "0,1,2,abc,4,5,6\n", "not a number"},
        {HDR "0,1,2,0x10,4,5,6\n", "not a number"},
        {HDR "0,1,2,\"3,4,5,6\n", "unterminated"},
        {HDR "0,1,2,\"3\"x,4,5,6\n", "after a closing quote"},
        {HDR ",1,2,3,4,5,6\n", "index"},
        {"scorer,S,T,S,S,S,S\nbodyparts,a,a,a,b,b,b\ncoords,x,y,likelihood,x,y,likelihood\n",
         "more than one scorer"},
        {"scorer,S,S,S,S,S\nbodyparts,a,a,a,b,b\ncoords,x,y,likelihood,x,y\n", "same coords"},
        {"scorer,S,S,S,S\nbodyparts,a,a,b,b\ncoords,x,x,x,y\n", "twice"},
        {"scorer,S\nbodyparts,a\ncoords,\xff\n", "UTF-8"},
        {"scorer,S\nindividuals,a\nbodyparts,a\ncoords,x\n", "multi-animal"},
        {"scorer,S\nbodyparts,a\ncoords,x\n0,1\0,2\n", "NUL"},
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put(f, "bad.csv", bad[i].text);
        if (strstr(bad[i].needle, "NUL")) { /* strlen stops at the NUL: write it whole */
            static const char nul[] = "scorer,S\nbodyparts,a\ncoords,x\n0,1\0,2\n";
            char *p = tu_path(f->dir, "bad.csv");
            assert_int_equal(tu_write_file(p, nul, sizeof(nul) - 1), 0);
            free(p);
        }
        read_fails(f, "bad.csv", strstr(bad[i].needle, "multi") ? VAS_EUNSUPPORTED : VAS_EINVAL,
                   bad[i].needle);
    }
    put(f, "ok.csv", "\xef\xbb\xbf" HDR "\r\n0,1,\"2\",3,4,5,\r\n\n7,,,,,,\n");
    read_ok(f, "ok.csv", &t);
    assert_int_equal(t.n_rows, 2);
    assert_int_equal(t.frames[1], 7);
    assert_true(t.v[1] == 2.0 && isnan(t.v[5]) && isnan(t.v[6]));
    dlc_table_free(&t);
    put(f, "head.csv", HDR); /* a table with no rows */
    read_ok(f, "head.csv", &t);
    assert_int_equal(t.n_rows, 0);
    dlc_table_free(&t);
}

/* name cut at every step-th byte, and with every step-th byte changed (and every byte of its
 * column pickle): each copy read or refused with a 4xx code and a message, never a crash. */
static void damage(const fx *f, const char *name, size_t step)
{
    char *src = tu_path(f->dir, name), *dst = tu_path(f->dir, "bad.h5"), *data;
    const char *pkl;
    size_t n = 0, at, pk = 0;
    int pass, ok = 0, bad = 0;

    data = tu_read_file(src, &n);
    assert_non_null(data);
    pkl = memmem(data, n, "(lp0\n(V", 7); /* values_block_0_kind, in "table" files */
    if (pkl)
        pk = (size_t)(pkl - data);
    for (pass = 0; pass < 3; pass++)
        for (at = 0; at < n; at += pass == 2 ? 1 : step) {
            dlc_table t = {0};
            vas_err e = {0};
            char old = data[at];
            int rc;
            if (pass == 2 && (!pkl || at < pk || at >= pk + 200))
                continue;
            data[at] = (char)(old ^ (pass ? 0x5a : 0));
            assert_int_equal(tu_write_file(dst, data, pass ? n : at), 0);
            data[at] = old;
            rc = dlc_read(dst, &t, &e);
            dlc_table_free(&t);
            rc == VAS_OK ? ok++ : bad++;
            if (rc != VAS_OK &&
                (!e.msg[0] || (rc != VAS_EINVAL && rc != VAS_EUNSUPPORTED && rc != VAS_ETOOBIG)))
                fail_msg("%s, byte %zu, pass %d: %d \"%s\"", name, at, pass, rc, e.msg);
        }
    print_message("  %s: %d damaged copies read, %d refused\n", name, ok, bad);
    free(data);
    free(src);
    free(dst);
}

/* Damaged pandas files, all through vas's own HDF5 reader: an error, never a crash. */
static void refuses_damaged_h5(void **state)
{
    fx *f = *state;

    generate(f);
    put(f, "sig.h5", "\x89HDF\r\n\x1a\nnot really");
    read_fails(f, "sig.h5", VAS_EINVAL, "HDF5");
    damage(f, "table.h5", 29);
    damage(f, "fixed.h5", 7);
    damage(f, "table_z.h5", 11);
    damage(f, "multiindex_fixed.h5", 13);
}

/* ---- the unpickler ---- */

static void unpickle_file(const fx *f, const char *name)
{
    char *path = tu_path(f->dir, name), *buf, **names = NULL, *cut;
    size_t n = 0, k;
    int n_cols = 0, w = 0, i, flips = 0;
    vas_err e = {0};

    buf = tu_read_file(path, &n);
    assert_non_null(buf);
    if (dlc_unpickle_columns(buf, n, name, &names, &n_cols, &w, &e) != VAS_OK)
        fail_msg("%s: %s", name, e.msg);
    assert_int_equal(n_cols, 9);
    assert_int_equal(w, 3);
    for (i = 0; i < 9; i++) {
        assert_string_equal(names[(size_t)3 * i], SCORER);
        assert_string_equal(names[(size_t)3 * i + 1], PARTS[i / 3]);
        assert_string_equal(names[(size_t)3 * i + 2], XYL[i % 3]);
    }
    free(names);
    for (k = 0; k < n; k++) { /* every prefix, in its own block so ASan sees overreads */
        cut = malloc(k ? k : 1);
        memcpy(cut, buf, k);
        names = NULL;
        assert_int_not_equal(dlc_unpickle_columns(cut, k, name, &names, &n_cols, &w, &e), VAS_OK);
        free(cut);
    }
    for (k = 0; k < n; k++) {
        int rc;
        cut = malloc(n);
        memcpy(cut, buf, n);
        cut[k] = (char)((unsigned char)cut[k] ^ (k % 2 ? 0x01u : 0x40u));
        names = NULL;
        rc = dlc_unpickle_columns(cut, n, name, &names, &n_cols, &w, &e);
        flips += rc == VAS_OK;
        free(names);
        free(cut);
    }
    print_message("  %s: %zu bytes, %d flips still parse\n", name, n, flips);
    free(buf);
    free(path);
}

static void unpickles_all_protocols(void **state)
{
    fx *f = *state;
    char name[32];
    int p;

    generate(f);
    for (p = 0; p < 6; p++) {
        snprintf(name, sizeof(name), "kind%d.pkl", p);
        unpickle_file(f, name);
    }
    unpickle_file(f, "axes0.pkl");
}

static void unpickle_refuses_code(void **state)
{
    static const char evil[] = "cos\nsystem\n(S'true'\ntR.";
    static const char deep[] = "(((((((((((((((((((((((((((((((((((((((l.";
    char **names = NULL;
    int n = 0, w = 0;
    vas_err e = {0};

    (void)state;
    assert_int_equal(dlc_unpickle_columns(evil, sizeof(evil) - 1, "f", &names, &n, &w, &e),
                     VAS_EINVAL);
    assert_non_null(strstr(e.msg, "opcode 0x63"));
    assert_int_equal(dlc_unpickle_columns(deep, sizeof(deep) - 1, "f", &names, &n, &w, &e),
                     VAS_EINVAL);
    assert_int_equal(dlc_unpickle_columns("g5\n.", 4, "f", &names, &n, &w, &e), VAS_EINVAL);
    assert_int_equal(dlc_unpickle_columns("(lp0\ng0\na.", 11, "f", &names, &n, &w, &e),
                     VAS_EINVAL); /* a list holding itself: not columns */
    assert_null(names);
}

/* ---- 3D output name ---- */

static void name_3d(void **state)
{
    const struct {
        const char *video, *want;
    } cases[] = {
        {"rig1-camera-1-day2.avi", "rig1_day2_DLC_3D"},
        {"/data/x.y/rig1_camera-1_day2.mp4", "rig1_day2_DLC_3D"},
        {"camera-1.avi", "DLC_3D"},
        {"camera-1-trial3.avi", "trial3_DLC_3D"},
        {"mouse--camera-1.avi", "mouse-_DLC_3D"},
        {"session.avi", "session_DLC_3D"},
        {"noext", "noext_DLC_3D"},
    };
    char *out = NULL;
    vas_err e = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(dlc_name_3d(cases[i].video, "camera-1", "DLC_3D", &out, &e), VAS_OK);
        assert_string_equal(out, cases[i].want);
        free(out);
    }
    assert_int_equal(dlc_name_3d("a.avi", "", "DLC_3D", &out, &e), VAS_EINVAL);
    assert_int_equal(dlc_name_3d("dir/.avi", "camera-1", "DLC_3D", &out, &e), VAS_OK);
    assert_string_equal(out, ".avi_DLC_3D");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_vas_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(writes_and_reads_3d, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(layout_refuses_bad_coords, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reads_pandas_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reads_pandas_image_tables, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reads_long_pandas_tables, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(refuses_other_pandas_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(refuses_malformed_csv, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(refuses_damaged_h5, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(unpickles_all_protocols, fx_setup, fx_teardown),
        cmocka_unit_test(unpickle_refuses_code),
        cmocka_unit_test(name_3d),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
