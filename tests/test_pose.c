/* test_pose.c - pose decoding against hand-computed values, repr formatting of doubles against
 * Python, and the CSV writer byte for byte against files pandas wrote. References are made by
 * tools/make-pose-fixtures.py and read from tests/fixtures/pose_writers (or
 * $VAS_POSE_FIXTURES). HDF5 and JSON are in test_pose_h5.c. */
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
#include "pose/pose_decode.h"
#include "pose/pose_fmt.h"
#include "pose/pose_layout.h"
#include "testutil.h"

/* ---- the table tools/make-pose-fixtures.py writes (ROWS, IMAGES, UNI_*) ---- */

static const char *const BODYPARTS[] = {"snout", "leftear", "rightear", "tailbase"};
static const char SCORER[] = "DLC_resnet50_openfieldOct30shuffle1_10000";
static const char *const IMAGES[] = {"img0001.png", "img,0002.png", "img\"0003\".png"};
static const char *const UNI_BODYPARTS[] = {"n\xc3\xa4se", "ohr\\links",
                                            "\xe5\xb0\xbe\xf0\x9f\x90\xad"};
static const char UNI_SCORER[] = "DLC_resnet50_m\xc3\xa4useOct30shuffle1_10000";

static void video_rows(double rows[3][12])
{
    const double r[3][12] = {
        {123.45, 45.5, 0.999, NAN, NAN, 1e-07, 5.0, 640.0, 1.0, 1.5e20, 0.30000000000000004, 0.0},
        {1.0 / 3.0, -0.0, 0.5, 1e16, 9999999999999998.0, 0.0001, 1e-05, 12.000000476837158,
         0.9876543210987654, 2.5e-300, 4.9e-324, 0.75},
        {(double)317.77f, (double)0.1f, (double)0.99f, 1e22, 1e21, 0.125, 100.0, 7.2801, 0.01, -3.5,
         1e300, 1.0},
    };
    memcpy(rows, r, sizeof(r));
}

static const char *fixdir(void)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    const char *d = getenv("VAS_POSE_FIXTURES");
    return d ? d : "tests/fixtures/pose_writers";
}

static char *fixture(const char *name, size_t *len)
{
    char *p = tu_path(fixdir(), name);
    char *buf = p ? tu_read_file(p, len) : NULL;

    if (!buf)
        fail_msg("cannot read fixture %s/%s (run from the repository root)", fixdir(), name);
    free(p);
    return buf;
}

static int fx_setup(void **state)
{
    *state = tu_mkdtemp();
    return *state ? 0 : -1;
}

static int fx_teardown(void **state)
{
    tu_rm_rf(*state);
    free(*state);
    return 0;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- pose_fmt ---- */

static void fmt_matches_python_repr(void **state)
{
    char *text = fixture("doubles.txt", NULL), *line, *save = NULL;
    int n = 0, bad = 0;

    (void)state;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *end = NULL, got[POSE_FMT_LEN];
        unsigned long long bits = strtoull(line, &end, 16);
        const char *want = end + 1;
        double v;

        assert_true(end == line + 16 && *end == ' ');
        memcpy(&v, &bits, sizeof(v));
        if (pose_fmt_double(v, got) != (int)strlen(want) || strcmp(got, want) != 0) {
            print_error("bits %016llx: python %s, vas %s\n", bits, want, got);
            bad++;
        }
        n++;
    }
    free(text);
    assert_true(n >= 400);
    assert_int_equal(bad, 0);
}

static void fmt_specials(void **state)
{
    char o[POSE_FMT_LEN];

    (void)state;
    assert_int_equal(pose_fmt_double(NAN, o), 3);
    assert_string_equal(o, "nan");
    pose_fmt_double(-INFINITY, o);
    assert_string_equal(o, "-inf");
    pose_fmt_double(-0.0, o);
    assert_string_equal(o, "-0.0");
    pose_fmt_double(5.0, o);
    assert_string_equal(o, "5.0");
    pose_fmt_double(1e-7, o);
    assert_string_equal(o, "1e-07");
    pose_fmt_double(-1.5e20, o);
    assert_string_equal(o, "-1.5e+20");
    pose_fmt_double(-2.2250738585072014e-308, o);
    assert_string_equal(o, "-2.2250738585072014e-308");
    pose_fmt_double(1e15, o);
    assert_string_equal(o, "1000000000000000.0");
    pose_fmt_double(0.0001, o);
    assert_string_equal(o, "0.0001");
}

/* ---- pose_decode ---- */

enum { DJ = 2, DH = 3, DW = 4, DP = DH * DW };

/* Joint 0 peaks at (1, 2); joint 1 has two equal maxima, (0, 3) first and (2, 1). */
static void decode_maps(float sc[DJ * DP], float lr[2 * DJ * DP])
{
    int i;

    for (i = 0; i < DJ * DP; i++)
        sc[i] = 0.01f * (float)(i % 7);
    for (i = 0; i < 2 * DJ * DP; i++)
        lr[i] = -0.25f;
    sc[0 * DP + 1 * DW + 2] = 0.875f;
    sc[1 * DP + 0 * DW + 3] = 0.5f;
    sc[1 * DP + 2 * DW + 1] = 0.5f;
    lr[0 * DP + 1 * DW + 2] = 0.5f;   /* joint 0 x offset at its peak */
    lr[1 * DP + 1 * DW + 2] = -1.0f;  /* joint 0 y offset */
    lr[2 * DP + 0 * DW + 3] = 0.125f; /* joint 1 x offset at the first maximum */
    lr[3 * DP + 0 * DW + 3] = 2.0f;   /* joint 1 y offset */
}

static void decode_argmax_and_locref(void **state)
{
    float sc[DJ * DP], lr[2 * DJ * DP];
    double xyl[3 * DJ];
    pose_maps m = {sc, lr, DJ, DH, DW, 8.0, 7.2801};
    vas_err e = {0};

    (void)state;
    decode_maps(sc, lr);
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_OK);
    /* x = col·8 + 4 + offset·7.2801, y likewise */
    assert_float_equal(xyl[0], 2 * 8 + 4 + 0.5 * 7.2801, 1e-12);
    assert_float_equal(xyl[1], 1 * 8 + 4 - 1.0 * 7.2801, 1e-12);
    assert_float_equal(xyl[2], 0.875, 0);
    /* ties: the first maximum in row-major order wins */
    assert_float_equal(xyl[3], 3 * 8 + 4 + 0.125 * 7.2801, 1e-12);
    assert_float_equal(xyl[4], 0 * 8 + 4 + 2.0 * 7.2801, 1e-12);
    assert_float_equal(xyl[5], 0.5, 0);
}

static void decode_without_locref(void **state)
{
    float sc[DJ * DP], lr[2 * DJ * DP];
    double xyl[3 * DJ];
    pose_maps m = {sc, NULL, DJ, DH, DW, 8.0, 7.2801};
    vas_err e = {0};

    (void)state;
    decode_maps(sc, lr);
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_OK);
    assert_float_equal(xyl[0], 20.0, 0);
    assert_float_equal(xyl[1], 12.0, 0);
    assert_float_equal(xyl[3], 28.0, 0);
    assert_float_equal(xyl[4], 4.0, 0);
    m.stride = 2.0; /* HRNet-style stride */
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_OK);
    assert_float_equal(xyl[0], 5.0, 0);
    assert_float_equal(xyl[1], 3.0, 0);
}

static void decode_clips_likelihood(void **state)
{
    float sc[2] = {1.25f, 1.0f}, neg[2] = {-0.5f, -0.75f}, nan2[2] = {NAN, NAN};
    float some_nan[3] = {NAN, 0.25f, 0.5f};
    double xyl[3];
    pose_maps m = {sc, NULL, 1, 1, 2, 8.0, 7.2801};
    vas_err e = {0};

    (void)state;
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_OK);
    assert_float_equal(xyl[2], 1.0, 0);
    assert_float_equal(xyl[0], 4.0, 0);
    m.scores = neg;
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_OK);
    assert_float_equal(xyl[2], 0.0, 0);
    m.scores = nan2;
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_OK);
    assert_true(isnan(xyl[2]));
    m.scores = some_nan;
    m.w = 3;
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_OK);
    assert_float_equal(xyl[0], 2 * 8 + 4, 0);
    assert_float_equal(xyl[2], 0.5, 0);
}

static void decode_refuses_bad_sizes(void **state)
{
    float sc[4] = {0};
    double xyl[3];
    pose_maps m = {sc, NULL, 1, 2, 2, 8.0, 7.2801};
    vas_err e = {0};

    (void)state;
    m.n_joints = 0;
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_EINVAL);
    m.n_joints = 1;
    m.w = POSE_MAX_MAP + 1;
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_EINVAL);
    m.w = 2;
    m.stride = 0;
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "stride"));
    m.stride = 8;
    m.scores = NULL;
    assert_int_equal(pose_decode(&m, xyl, &e), VAS_EINVAL);
}

/* ---- dlc_csv ---- */

static void write_csv(const char *path, const pose_layout *l, int n_rows, const char *const *labels,
                      const double *rows)
{
    dlc_csv *w = NULL;
    vas_err e = {0};
    int i;

    if (dlc_csv_open(path, l, &w, &e) != VAS_OK)
        fail_msg("dlc_csv_open: %s", e.msg);
    for (i = 0; i < n_rows; i++)
        if (dlc_csv_add_row(w, i, labels ? labels[i] : NULL,
                            rows + (size_t)i * 3 * (size_t)l->n_bodyparts, &e) != VAS_OK)
            fail_msg("dlc_csv_add_row: %s", e.msg);
    if (dlc_csv_close(w, &e) != VAS_OK)
        fail_msg("dlc_csv_close: %s", e.msg);
}

static void assert_same_file(const char *path, const char *fixture_name)
{
    size_t n_got = 0, n_want = 0;
    char *got = tu_read_file(path, &n_got), *want = fixture(fixture_name, &n_want);

    assert_non_null(got);
    if (n_got != n_want || memcmp(got, want, n_want) != 0)
        fail_msg("%s differs from %s:\n--- vas\n%s\n--- pandas\n%s", path, fixture_name, got, want);
    free(got);
    free(want);
}

static void csv_video_matches_pandas(void **state)
{
    double rows[3][12];
    pose_layout l = {SCORER, BODYPARTS, 4, 0, NULL, 0};
    char *path = tu_path(*state, "videoDLC.csv");

    video_rows(rows);
    write_csv(path, &l, 3, NULL, &rows[0][0]);
    assert_same_file(path, "video.csv");
    free(path);
}

static void csv_images_match_pandas(void **state)
{
    double rows[3][12];
    pose_layout l = {SCORER, BODYPARTS, 4, 64, NULL, 0};
    char *path = tu_path(*state, "labeled-dataDLC.csv");

    video_rows(rows);
    write_csv(path, &l, 3, IMAGES, &rows[0][0]);
    assert_same_file(path, "images.csv");
    free(path);
}

static void csv_unicode_matches_pandas(void **state)
{
    const double rows[2][9] = {{1.5, 2.5, 0.5, 3.0, 4.0, 1.0, 0.1, 0.2, 0.3},
                               {NAN, NAN, NAN, 7.0, 8.0, 0.0, 9.5, 10.5, 0.25}};
    pose_layout l = {UNI_SCORER, UNI_BODYPARTS, 3, 0, NULL, 0};
    char *path = tu_path(*state, "u.csv");

    write_csv(path, &l, 2, NULL, &rows[0][0]);
    assert_same_file(path, "unicode.csv");
    free(path);
}

static void csv_streams_to_part_then_renames(void **state)
{
    double rows[3][12];
    pose_layout l = {SCORER, BODYPARTS, 4, 0, NULL, 0};
    char *path = tu_path(*state, "s.csv"), *part = tu_path(*state, "s.csv.part");
    dlc_csv *w = NULL;
    vas_err e = {0};

    video_rows(rows);
    assert_int_equal(dlc_csv_open(path, &l, &w, &e), VAS_OK);
    assert_int_equal(dlc_csv_add_row(w, 0, NULL, rows[0], &e), VAS_OK);
    assert_true(exists(part));
    assert_false(exists(path));
    assert_int_equal(dlc_csv_close(w, &e), VAS_OK);
    assert_false(exists(part));
    assert_true(exists(path));
    free(path);
    free(part);
}

static void csv_abort_removes_partial_file(void **state)
{
    double rows[3][12];
    pose_layout l = {SCORER, BODYPARTS, 4, 0, NULL, 0};
    char *path = tu_path(*state, "a.csv"), *part = tu_path(*state, "a.csv.part");
    size_t n = 0;
    char *kept;
    dlc_csv *w = NULL;
    vas_err e = {0};

    video_rows(rows);
    assert_int_equal(tu_write_file(path, "older run\n", 10), 0);
    assert_int_equal(dlc_csv_open(path, &l, &w, &e), VAS_OK);
    assert_int_equal(dlc_csv_add_row(w, 0, NULL, rows[0], &e), VAS_OK);
    assert_int_equal(dlc_csv_add_row(w, 1, NULL, rows[1], &e), VAS_OK);
    dlc_csv_abort(w);
    assert_false(exists(part));
    kept = tu_read_file(path, &n); /* an older output is left alone */
    assert_non_null(kept);
    assert_int_equal(n, 10);
    free(kept);
    dlc_csv_abort(NULL);
    assert_int_equal(dlc_csv_close(NULL, &e), VAS_OK);
    free(path);
    free(part);
}

static void csv_refuses_bad_input(void **state)
{
    double row[12] = {0};
    const char *const bad_utf8[] = {"snout", "\xc3\x28"};
    pose_layout l = {SCORER, BODYPARTS, 4, 0, NULL, 0};
    char *path = tu_path(*state, "b.csv");
    char *nodir = tu_path(*state, "no/such/dir/b.csv");
    dlc_csv *w = NULL;
    vas_err e = {0};

    assert_int_equal(dlc_csv_open(nodir, &l, &w, &e), VAS_EIO);
    assert_non_null(strstr(e.msg, "cannot create"));
    l.bodyparts = bad_utf8;
    l.n_bodyparts = 2;
    assert_int_equal(dlc_csv_open(path, &l, &w, &e), VAS_EINVAL);
    l.bodyparts = BODYPARTS;
    l.n_bodyparts = 0;
    assert_int_equal(dlc_csv_open(path, &l, &w, &e), VAS_EINVAL);
    l.n_bodyparts = 4;
    l.scorer = "";
    assert_int_equal(dlc_csv_open(path, &l, &w, &e), VAS_EINVAL);
    l.scorer = SCORER;
    assert_int_equal(dlc_csv_open(path, &l, &w, &e), VAS_OK);
    assert_int_equal(dlc_csv_add_row(w, 0, "img.png", row, &e), VAS_EINVAL);
    assert_int_equal(dlc_csv_add_row(w, -1, NULL, row, &e), VAS_EINVAL);
    dlc_csv_abort(w);
    l.label_max = 8;
    assert_int_equal(dlc_csv_open(path, &l, &w, &e), VAS_OK);
    assert_int_equal(dlc_csv_add_row(w, 0, NULL, row, &e), VAS_EINVAL);
    assert_int_equal(dlc_csv_add_row(w, 0, "too-long.png", row, &e), VAS_EINVAL);
    assert_int_equal(dlc_csv_add_row(w, 0, "ok.png", row, &e), VAS_OK);
    dlc_csv_abort(w);
    assert_false(exists(path));
    free(path);
    free(nodir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fmt_matches_python_repr),
        cmocka_unit_test(fmt_specials),
        cmocka_unit_test(decode_argmax_and_locref),
        cmocka_unit_test(decode_without_locref),
        cmocka_unit_test(decode_clips_likelihood),
        cmocka_unit_test(decode_refuses_bad_sizes),
        cmocka_unit_test_setup_teardown(csv_video_matches_pandas, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(csv_images_match_pandas, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(csv_unicode_matches_pandas, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(csv_streams_to_part_then_renames, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(csv_abort_removes_partial_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(csv_refuses_bad_input, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
