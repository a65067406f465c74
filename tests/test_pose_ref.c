/* test_pose_ref.c - the demo model (models/openfield) run by vas on human-labeled frames of
 * DeepLabCut's openfield project agrees with PyTorch's predictions of the same exported network
 * (tests/fixtures/pose/openfield_ref.csv, written by tools/train_openfield.py) within 0.1 px, and
 * its error on the 10 held-out frames is the one the model's README states (openfield_ref.json).
 * Real PNGs decoded by FFmpeg, the real network on oneDNN.
 *
 * The frames: the 15 in tests/fixtures/openfield (the 10 held out and 5 training ones), or all 100
 * when VAS_OPENFIELD names the full project folder (openfield-Pranav-2018-10-30). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/log.h"
#include "media/media_image.h"
#include "media/media_video.h"
#include "nn/nn.h"
#include "pose/pose_decode.h"
#include "pose/pose_model.h"

#include "testutil.h"

#include <math.h>

#define MODEL          "models/openfield/config.yaml"
#define REF            "tests/fixtures/pose/openfield_ref.csv"
#define REFJSON        "tests/fixtures/pose/openfield_ref.json"
#define FIXTURE_FRAMES 15   /* labeled frames in tests/fixtures/openfield */
#define COLS           8    /* per joint: x, y, likelihood, row, col, gap, label_x, label_y */
#define MIN_GAP        1e-4 /* closer top-two scores are a tie float rounding may break either way */

typedef struct fx {
    pose_model *m;
    nn_graph *g;
    nn_session *s;
    media_norm norm;
    int heat, loc;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    vas_err e = {0};

    *state = f;
    if (!f || pose_model_load("openfield", MODEL, 1, &f->m, &e) < 0 ||
        pose_model_graph(f->m, &f->g, &e) < 0 || nn_session_new(f->g, NULL, &f->s, &e) < 0 ||
        media_norm_init(&f->norm, f->m->mean, f->m->std, f->m->bgr, &e) < 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    for (int i = 0; i < nn_graph_n_outputs(f->g); i++) {
        const char *name = NULL;
        nn_graph_output_name(f->g, i, &name);
        if (!strcmp(name, f->m->heatmap_name))
            f->heat = i;
        if (!strcmp(name, f->m->locref_name))
            f->loc = i;
    }
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    nn_session_free(f->s);
    nn_graph_free(f->g);
    pose_model_free(f->m);
    free(f);
    return 0;
}

/* The folder of the labeled frames; *full = 1 when it is the whole project's (all 100). */
static const char *frames_dir(int *full, char *buf, size_t len)
{
    const char *p = getenv("VAS_OPENFIELD"); /* NOLINT(concurrency-mt-unsafe): one thread */

    *full = p && *p;
    if (!*full)
        return TU_OPENFIELD_LABELED;
    snprintf(buf, len, "%s/labeled-data/m4s1", p);
    return buf;
}

/* vas's prediction for the labeled frame PATH: xyl[3j..3j+2]. */
static void predict(fx *f, const char *path, double *xyl)
{
    media_image im = {0};
    const float *heat, *loc;
    nn_tensor_info hi, li;
    vas_err e = {0};
    float *in;

    assert_int_equal(media_image_load(path, &im, &e), VAS_OK);
    assert_int_equal(im.width % 16, 0); /* 640x480: no padding needed */
    assert_int_equal(im.height % 16, 0);
    in = malloc((size_t)3 * im.width * im.height * sizeof(float));
    assert_non_null(in);
    media_rgb_to_chw(&f->norm, im.rgb, im.width, im.height, (size_t)im.width * 3, in);
    assert_int_equal(nn_session_run(f->s, in, 1, im.height, im.width, &e), VAS_OK);
    assert_int_equal(nn_session_output(f->s, f->heat, &heat, &hi, &e), VAS_OK);
    assert_int_equal(nn_session_output(f->s, f->loc, &loc, &li, &e), VAS_OK);
    pose_maps pm = {.scores = heat,
                    .locref = loc,
                    .n_joints = f->m->n_bodyparts,
                    .h = (int)hi.dims[2],
                    .w = (int)hi.dims[3],
                    .stride = f->m->stride,
                    .locref_stdev = f->m->locref_stdev};
    assert_int_equal(pose_decode(&pm, xyl, &e), VAS_OK);
    free(in);
    media_image_clear(&im);
}

static void agrees_with_pytorch(void **state)
{
    fx *f = *state;
    char *csv = tu_read_file(REF, NULL), *json = tu_read_file(REFJSON, NULL), *save = NULL;
    json_t *ref = json_loads(json, 0, NULL);
    char dirbuf[512];
    double held_sum = 0, worst = 0;
    int held_n = 0, compared = 0, skipped = 0, rows = 0, absent = 0, full;
    const char *dir = frames_dir(&full, dirbuf, sizeof(dirbuf));

    assert_non_null(csv);
    assert_non_null(ref);
    for (char *line = strtok_r(csv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        double v[2 + 4 * COLS], xyl[12];
        char name[64], path[1024];
        char *tok, *s2 = NULL;
        int k = 0;
        if (!strncmp(line, "image,", 6))
            continue;
        tok = strtok_r(line, ",", &s2);
        snprintf(name, sizeof(name), "%s", tok);
        while ((tok = strtok_r(NULL, ",", &s2)) && k < 1 + 4 * COLS)
            v[k++] = strtod(tok, NULL);
        assert_int_equal(k, 1 + 4 * COLS);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (!full && access(path, R_OK) != 0) { /* not among the fixture's 15: counted below */
            absent++;
            continue;
        }
        predict(f, path, xyl);
        rows++;
        for (int j = 0; j < 4; j++) {
            const double *r = v + 1 + j * COLS;
            double dx = xyl[3 * j] - r[0], dy = xyl[3 * j + 1] - r[1];
            if (r[5] < MIN_GAP) {
                skipped++;
            } else {
                double d = sqrt(dx * dx + dy * dy);
                worst = d > worst ? d : worst;
                if (d > 0.1)
                    fail_msg("%s joint %d: vas (%.3f, %.3f) vs PyTorch (%.3f, %.3f)", name, j,
                             xyl[3 * j], xyl[3 * j + 1], r[0], r[1]);
                assert_true(fabs(xyl[3 * j + 2] - r[2]) < 1e-3);
                compared++;
            }
            if (v[0] == 1) { /* held out: error against the human label */
                double ex = xyl[3 * j] - r[6], ey = xyl[3 * j + 1] - r[7];
                held_sum += sqrt(ex * ex + ey * ey);
                held_n++;
            }
        }
    }
    fprintf(stderr,
            "test_pose_ref: %d frames of %s, %d points compared (worst %.4f px), %d ties "
            "skipped; held-out mean error %.3f px\n",
            rows, dir, compared, worst, skipped, held_n ? held_sum / held_n : 0.0);
    if (!full)
        fprintf(stderr,
                "test_pose_ref: %d more frames with VAS_OPENFIELD=<the DeepLabCut project>\n",
                absent);
    assert_int_equal(rows, full ? 100 : FIXTURE_FRAMES);
    assert_int_equal(rows + absent, 100);
    assert_true(compared >= rows * 4 - rows / 5); /* a tie in at most 1 point in 20 */
    assert_int_equal(held_n, 40);
    assert_true(held_sum / held_n <= 5.0); /* issue 5's goal; the README states the figure */
    assert_true(fabs(held_sum / held_n - json_real_value(json_object_get(
                                             json_object_get(ref, "held_out"), "mean"))) < 0.1);
    json_decref(ref);
    free(json);
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(agrees_with_pytorch, setup, teardown),
    };

    log_set_level(LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
