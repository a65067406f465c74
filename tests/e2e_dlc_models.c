/* e2e_dlc_models.c - DeepLabCut's own models dropped into DLC_MODELS as labs have them (a DLC 3
 * project, a DLC 3 export, a DLC 2 export), analysed end to end through POST /analysis: every
 * frame's poses in the CSV vas writes equal the poses PyTorch computes with DeepLabCut's
 * pre- and post-processing (tools/make-dlc3-fixtures.py, tools/make-dlc2-fixtures.py: ref/) to
 * 0.01 px; GET /model lists them with DLC's scorer names and the refused ones with why; `vas
 * model-info` reports them. The videos are lossless (FFV1, BGR0), so the frames vas decodes are
 * the reference picture exactly. Skipped, saying so, when the fixtures were not made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"
#include "test_media_enc.h"

#include <math.h>

#define FRAMES 3
#define MAXJ   16

typedef struct mcase {
    const char *name;    /* the model's name in DLC_MODELS */
    const char *kind;    /* fixture kind: dlc3, dlc2 */
    const char *fixture; /* the case folder under $VAS_FIXTURES/<kind>/ */
    const char *link;    /* what DLC_MODELS/<name> points at, inside the case ("" = itself) */
    const char *format;  /* GET /model "format" */
    const char *scorer;  /* DLC's scorer name */
} mcase;

#define TRAIN       "dlc-models-pytorch/iteration-0/testJan1-trainset95shuffle1"
#define EXPORT(net) "exported-models-pytorch/DLC_test_" net "_iteration-0_shuffle-1"
#define UID         "shuffle1_snapshot_best-8"

/* Every fixture architecture, each dropped in as labs have it: a DLC 3 project, a shuffle, a
 * train folder, an export; DLC 2 export folders. */
static const mcase cases[] = {
    {"mouse-resnet50", "dlc3", "resnet_50", "", "dlc3-snapshot", "DLC_Resnet50_testJan1" UID},
    {"resnet101-export", "dlc3", "resnet_101", EXPORT("resnet_101"), "dlc3-export",
     "DLC_Resnet101_testJan1" UID},
    {"resnet50-os8-train", "dlc3", "resnet_50_os8", TRAIN "/train", "dlc3-snapshot",
     "DLC_Resnet50_testJan1" UID},
    {"resnet152-shuffle", "dlc3", "resnet_152_os32", TRAIN, "dlc3-snapshot",
     "DLC_Resnet101_testJan1" UID},
    {"hrnet18", "dlc3", "hrnet_w18", "", "dlc3-snapshot", "DLC_HrnetW18_testJan1" UID},
    {"hrnet-export", "dlc3", "hrnet_w32", EXPORT("hrnet_w32"), "dlc3-export",
     "DLC_HrnetW32_testJan1" UID},
    {"hrnet48", "dlc3", "hrnet_w48", "", "dlc3-snapshot", "DLC_HrnetW48_testJan1" UID},
    {"hrnet32-incre", "dlc3", "hrnet_w32_incre", EXPORT("hrnet_w32"), "dlc3-export",
     "DLC_HrnetW32_testJan1" UID},
    {"reach-tf", "dlc2", "resnet_50", "export", "dlc2-export",
     "DLC_resnet50_dlc2fxJan1shuffle1_1030000"},
    {"resnet101-tf", "dlc2", "resnet_101", "export", "dlc2-export",
     "DLC_resnet101_dlc2fxJan1shuffle1_500000"},
    {"resnet152-tf", "dlc2", "resnet_152", "export", "dlc2-export",
     "DLC_resnet152_dlc2fxJan1shuffle1_200000"},
    {"mobnet100-tf", "dlc2", "mobilenet_v2_1.0", "export", "dlc2-export",
     "DLC_mobnet_100_dlc2fxJan1shuffle1_100000"},
    {"mobnet75-tf", "dlc2", "mobilenet_v2_0.75", "export", "dlc2-export",
     "DLC_mobnet_75_dlc2fxJan1shuffle1_100000"},
    {"mobnet50-tf", "dlc2", "mobilenet_v2_0.5", "export", "dlc2-export",
     "DLC_mobnet_50_dlc2fxJan1shuffle1_50000"},
    {"mobnet-tf", "dlc2", "mobilenet_v2_0.35", "export", "dlc2-export",
     "DLC_mobnet_35_dlc2fxJan1shuffle1_30000"},
    {"effnet-tf", "dlc2", "efficientnet-b0", "export", "dlc2-export",
     "DLC_effnet_b0_dlc2fxJan1shuffle1_200000"},
    {"effnet3-tf", "dlc2", "efficientnet-b3", "export", "dlc2-export",
     "DLC_effnet_b3_dlc2fxJan1shuffle1_200000"},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static char models_dir[1024];
static const char *const serve_args[] = {"--models", models_dir, NULL};

static const char *fixtures(void)
{
    const char *d = getenv("VAS_FIXTURES");
    return d ? d : "build/test/fixtures";
}

/* A reference file of the case ("info", "image" or "poses": the fixture scripts name them
 * ref/case.json, ref/image.rgb, ref/poses.f64 for DLC 3 and meta.txt, image.u8, poses.f64 for
 * DLC 2) into out; -1 when it was not made. */
static int ref_path(const mcase *c, const char *what, char *out, size_t n)
{
    int dlc3 = strcmp(c->kind, "dlc3") == 0;
    const char *file = !strcmp(what, "info")    ? (dlc3 ? "ref/case.json" : "meta.txt")
                       : !strcmp(what, "image") ? (dlc3 ? "ref/image.rgb" : "image.u8")
                                                : (dlc3 ? "ref/poses.f64" : "poses.f64");
    struct stat sb;

    snprintf(out, n, "%s/%s/%s/%s", fixtures(), c->kind, c->fixture, file);
    return stat(out, &sb) == 0 ? 0 : -1;
}

/* "key value" lines of a DLC 2 case's meta.txt: the value of key, or -1. */
static int meta_int(const char *text, const char *key)
{
    size_t k = strlen(key);

    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, k) == 0 && l[k] == ' ')
            return (int)strtol(l + k + 1, NULL, 10);
    return -1;
}

/* The reference picture's size and the joint count. */
static void case_info(const mcase *c, int *w, int *h, int *joints)
{
    char path[E2E_PATH], *text;
    json_t *j;

    assert_int_equal(ref_path(c, "info", path, sizeof(path)), 0);
    if (strcmp(c->kind, "dlc3") == 0) {
        j = json_load_file(path, 0, NULL);
        assert_non_null(j);
        *h = (int)json_integer_value(json_array_get(json_object_get(j, "image"), 0));
        *w = (int)json_integer_value(json_array_get(json_object_get(j, "image"), 1));
        *joints = (int)json_integer_value(json_object_get(j, "n_joints"));
        json_decref(j);
    } else {
        text = tu_read_file(path, NULL);
        assert_non_null(text);
        *h = meta_int(text, "h");
        *w = meta_int(text, "w");
        *joints = meta_int(text, "joints");
        free(text);
    }
    assert_true(*w > 0 && *h > 0 && *joints > 0 && *joints <= MAXJ);
}

typedef struct pic {
    const uint8_t *rgb;
} pic;

static void paint_ref(int index, int w, int h, uint8_t *rgb, void *ctx)
{
    (void)index;
    memcpy(rgb, ((const pic *)ctx)->rgb, (size_t)w * (size_t)h * 3);
}

/* Links DLC_MODELS/<name> to each case, plus a broken model; 0 if every fixture is there. */
static int make_models(e2e_srv *s)
{
    char target[E2E_PATH], link[E2E_PATH], probe[E2E_PATH];

    snprintf(models_dir, sizeof(models_dir), "%s/models", s->dir);
    mkdir(models_dir, 0755);
    for (size_t i = 0; i < N_CASES; i++) {
        if (ref_path(&cases[i], "info", probe, sizeof(probe)) < 0) {
            print_message("skipped: %s is missing (tools/make-%s-fixtures.py makes it when the "
                          "tests are built)\n",
                          probe, cases[i].kind);
            return -1;
        }
        snprintf(target, sizeof(target), "%s/%s/%s%s%s", fixtures(), cases[i].kind,
                 cases[i].fixture, cases[i].link[0] ? "/" : "", cases[i].link);
        if (target[0] != '/') { /* relative to the repository: make it absolute */
            char cwd[2048];
            assert_non_null(getcwd(cwd, sizeof(cwd)));
            memmove(target + strlen(cwd) + 1, target, strlen(target) + 1);
            memcpy(target, cwd, strlen(cwd));
            target[strlen(cwd)] = '/';
        }
        snprintf(link, sizeof(link), "%s/%s", models_dir, cases[i].name);
        assert_int_equal(symlink(target, link), 0);
    }
    /* a DLC 3 train folder whose snapshot was cut short (half of a real one) */
    snprintf(link, sizeof(link), "%s/broken", models_dir);
    mkdir(link, 0755);
    snprintf(target, sizeof(target), "%s/dlc3/resnet_50_os8/" TRAIN "/train/", fixtures());
    for (int k = 0; k < 2; k++) {
        static const char *const names[] = {"pytorch_config.yaml", "snapshot-010.pt"};
        char from[E2E_PATH + 64];
        size_t n = 0;
        char *bytes;
        snprintf(from, sizeof(from), "%s%s", target, names[k]);
        bytes = tu_read_file(from, &n);
        assert_non_null(bytes);
        snprintf(link, sizeof(link), "%s/broken/%s", models_dir, names[k]);
        assert_int_equal(tu_write_file(link, bytes, k ? n / 2 : n), 0);
        free(bytes);
    }
    s->args = serve_args;
    return 0;
}

/* Compares the CSV's rows with ref/poses.f64: x, y within 0.01 px, likelihood within 1e-4. */
static void check_rows(const mcase *c, const char *csv, int rows, int joints)
{
    char path[E2E_PATH];
    size_t n = 0;
    double *want;
    const char *line = csv, *worst_at = "";
    double worst = 0;

    assert_int_equal(ref_path(c, "poses", path, sizeof(path)), 0);
    want = (double *)(void *)tu_read_file(path, &n);
    assert_non_null(want);
    assert_int_equal(n, (size_t)joints * 3 * sizeof(double));
    for (int i = 0; i < 3; i++)
        line = strchr(line, '\n') + 1;
    for (int r = 0; r < rows; r++) {
        char *p;
        assert_int_equal(strtol(line, &p, 10), r);
        for (int k = 0; k < 3 * joints; k++) {
            double v;
            assert_int_equal(*p, ',');
            v = strtod(p + 1, &p);
            double d = fabs(v - want[k]);
            if (d > worst) {
                worst = d;
                worst_at = k % 3 == 2 ? "likelihood" : "x/y";
            }
            if (d > (k % 3 == 2 ? 1e-4 : 0.01))
                fail_msg("%s frame %d value %d: vas %.6f, PyTorch %.6f", c->name, r, k, v, want[k]);
        }
        line = strchr(p, '\n') + 1;
    }
    assert_int_equal(*line, '\0');
    print_message("%s: %d frames x %d bodyparts match PyTorch; worst difference %.2g (%s)\n",
                  c->name, rows, joints, worst, worst_at);
    free(want);
}

static char *download(e2e_srv *s, const char *id)
{
    char path[128];
    char *body;
    e2e_resp r;

    snprintf(path, sizeof(path), "/file/%s", id);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    body = r.body;
    r.body = NULL;
    e2e_resp_free(&r);
    return body;
}

/* <dir>/<c->name>.mkv: FRAMES lossless copies of c's reference picture; the joint count into
 * *joints. */
static void make_video(e2e_srv *s, const mcase *c, char *video, size_t vn, int *joints)
{
    char path[E2E_PATH];
    int w, h;
    size_t n = 0;
    pic p;

    case_info(c, &w, &h, joints);
    assert_int_equal(ref_path(c, "image", path, sizeof(path)), 0);
    p.rgb = (const uint8_t *)tu_read_file(path, &n);
    assert_int_equal(n, (size_t)w * (size_t)h * 3);
    tenc_video v = {.codec = "ffv1",
                    .format = "matroska",
                    .w = w,
                    .h = h,
                    .frames = FRAMES,
                    .fps = 10,
                    .pix_fmt = AV_PIX_FMT_BGR0,
                    .paint = paint_ref,
                    .ctx = &p};
    snprintf(video, vn, "%s/%s.mkv", s->dir, c->name);
    assert_int_equal(tenc_write_video(video, &v), 0);
    free((void *)p.rgb);
}

/* One `video` analysis of FRAMES copies of the reference picture with model c. */
static void video_case(e2e_srv *s, const mcase *c)
{
    char video[E2E_PATH], fid[41], aid[37], form[512], *csv;
    int joints;
    e2e_resp r;

    make_video(s, c, video, sizeof(video), &joints);
    e2e_upload_path(s, video, "cage.mkv", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=%s", fid, c->name);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 600, &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(e2e_str(r.json, "scorer"), c->scorer);
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")), FRAMES);
    csv = download(s, e2e_str(r.json, "csv_file"));
    snprintf(form, sizeof(form), "scorer,%s,", c->scorer);
    assert_memory_equal(csv, form, strlen(form));
    check_rows(c, csv, FRAMES, joints);
    free(csv);
    e2e_resp_free(&r);
}

/* POST /analysis with `snapshot`: another snapshot than DLC's pick, its scorer in the result;
 * refusals (400) for a snapshot the model lacks and for a model without snapshots. */
static void snapshot_argument(e2e_srv *s)
{
    const mcase *c = &cases[2]; /* a train folder holding snapshot-005, -010 and -best-008 */
    char video[E2E_PATH], fid[41], aid[37], form[512];
    int joints;
    e2e_resp r;

    make_video(s, c, video, sizeof(video), &joints);
    e2e_upload_path(s, video, "cage.mkv", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=%s&snapshot=5", fid, c->name);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 600, &r);
    assert_string_equal(e2e_str(r.json, "scorer"), "DLC_Resnet50_testJan1shuffle1_snapshot_5");
    e2e_resp_free(&r);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label&model=%s&snapshot=best", fid, c->name);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 600, &r);
    assert_string_equal(e2e_str(r.json, "scorer"), c->scorer);
    e2e_resp_free(&r);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=%s&snapshot=7", fid, c->name);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", form, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "has no snapshot '7'"));
    e2e_resp_free(&r);
    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=reach-tf&snapshot=5", fid);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", form, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "has no snapshots to choose"));
    e2e_resp_free(&r);
}

static void dlc_models_analyse_videos(void **state)
{
    e2e_srv *s = *state;
    e2e_resp r;

    if (make_models(s) < 0) {
        E2E_PASS(s);
        skip();
    }
    assert_int_equal(e2e_start(s), 0);
    e2e_get(s, "/model", &r);
    e2e_assert_status(&r, 200);
    for (size_t i = 0; i < N_CASES; i++) {
        json_t *m = NULL, *it;
        size_t k;
        json_array_foreach(r.json, k, it) if (strcmp(e2e_str(it, "name"), cases[i].name) == 0) m =
            it;
        assert_non_null(m);
        assert_null(json_object_get(m, "error"));
        assert_string_equal(e2e_str(m, "format"), cases[i].format);
        assert_string_equal(e2e_str(m, "scorer"), cases[i].scorer);
    }
    {
        json_t *it, *broken = NULL;
        size_t k;
        json_array_foreach(r.json, k, it) if (strcmp(e2e_str(it, "name"), "broken") == 0) broken =
            it;
        assert_non_null(broken);
        assert_non_null(strstr(e2e_str(broken, "error"), "truncated or damaged"));
        print_message("GET /model: broken: %s\n", e2e_str(broken, "error"));
    }
    e2e_resp_free(&r);
    for (size_t i = 0; i < N_CASES; i++)
        video_case(s, &cases[i]);
    snapshot_argument(s);
    E2E_PASS(s);
}

/* `vas model-info` on the project: what it found, and a refusal with its reason; `vas analyze
 * --snapshot`. */
static void model_info_reports(void **state)
{
    e2e_srv *s = *state;
    char out[E2E_PATH], path[E2E_PATH], video[E2E_PATH], *text;
    int joints;

    if (make_models(s) < 0) {
        E2E_PASS(s);
        skip();
    }
    snprintf(out, sizeof(out), "%s/info.txt", s->dir);
    snprintf(path, sizeof(path), "%s/mouse-resnet50", models_dir);
    assert_int_equal(e2e_run_vas(out, "model-info", path, NULL), 0);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "format:       dlc3-snapshot"));
    assert_non_null(strstr(text, "snapshot:     best-8"));
    assert_non_null(strstr(text, "bodyparts:    4: snout, leftear, rightear, tailbase"));
    assert_non_null(strstr(text, "stride:       8"));
    assert_non_null(strstr(text, "scorer:       DLC_Resnet50_testJan1shuffle1_snapshot_best-8"));
    assert_non_null(strstr(text, "GFLOP:"));
    assert_non_null(strstr(text, "status:       ok"));
    free(text);
    snprintf(path, sizeof(path), "%s/broken", models_dir);
    assert_int_equal(e2e_run_vas(out, "model-info", path, NULL), 1);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "status:       refused: "));
    free(text);
    /* vas analyze with another snapshot than DLC's pick: its scorer names the outputs */
    make_video(s, &cases[2], video, sizeof(video), &joints);
    assert_int_equal(e2e_run_vas(out, "analyze", "--models", models_dir, "--model", cases[2].name,
                                 "--snapshot", "5", video, NULL),
                     0);
    snprintf(path, sizeof(path), "%s/%sDLC_Resnet50_testJan1shuffle1_snapshot_5.csv", s->dir,
             cases[2].name);
    assert_int_equal(access(path, R_OK), 0);
    assert_int_equal(e2e_run_vas(out, "analyze", "--models", models_dir, "--model", "reach-tf",
                                 "--snapshot", "5", video, NULL),
                     1);
    text = tu_read_file(out, NULL);
    assert_non_null(strstr(text, "has no snapshots to choose"));
    free(text);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST_NO_SERVER(dlc_models_analyse_videos, NULL),
        E2E_TEST_NO_SERVER(model_info_reports, NULL),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
