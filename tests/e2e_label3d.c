/* e2e_label3d.c - `label_3d` through the HTTP API and `vas analyze`: a server whose models folder
 * holds models/openfield and two 3D bundles (rig2, rig3, each camera's 2D model openfield, the
 * calibration written by geom_calib_write), synthetic videos per camera of different sizes and
 * lengths (tenc_write_video: known colours, frame index in grey levels), their 2D poses from the
 * demo network (meaningless but real). The video is decoded back: codec, size (label3d_run.h's
 * layout), frame count (the shortest input), each camera panel showing its input's colours and
 * frame index, the 3D panel white with a grid and axes drawn. Also: poses reused from finished
 * `video` analyses, the refusals (wrong number of files, a 2D model, a CSV for a video), and a
 * run cancelled while drawing (label3d_run called directly) leaving no video behind; triangulate
 * and label_3d cancelled over HTTP while their videos are analysed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyses/label3d_run.h"
#include "core/config.h"
#include "core/util.h"
#include "e2e.h"
#include "geom/geom_calib.h"
#include "media/media_video.h"
#include "test_media_enc.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Panels of the two-camera take: camera 1 160x120 (12 frames), camera 2 200x150 (10 frames)
 * scaled to 160x120, the 3D panel 120x120. */
#define H      120
#define W1     160
#define W2     160
#define W3     120
#define FRAMES 10

static char models_arg[E2E_PATH];
static const char *const server_args[] = {"--models", models_arg, NULL};

/* ---- fixtures ---- */

/* Camera i of n on a circle of radius 30 round the origin, looking at it. */
static void make_camera(geom_camera *c, int i, int n)
{
    double a = 2 * M_PI / 3 * i / (n - 1), C[3] = {30 * sin(a), -2, -30 * cos(a)};
    double *x = c->R, *y = c->R + 3, *z = c->R + 6,
           nz = sqrt(C[0] * C[0] + C[1] * C[1] + C[2] * C[2]);
    double nx;

    *c = (geom_camera){.fx = 200, .fy = 200, .cx = 80, .cy = 60, .n_dist = 5};
    snprintf(c->name, sizeof(c->name), "camera-%d", i + 1);
    c->width = 160;
    c->height = 120;
    for (int k = 0; k < 3; k++)
        z[k] = -C[k] / nz;
    nx = hypot(z[2], z[0]);
    x[0] = z[2] / nx;
    x[2] = -z[0] / nx;
    y[0] = z[1] * x[2] - z[2] * x[1];
    y[1] = z[2] * x[0] - z[0] * x[2];
    y[2] = z[0] * x[1] - z[1] * x[0];
    for (size_t k = 0; k < 3; k++)
        c->t[k] = -(c->R[3 * k] * C[0] + c->R[3 * k + 1] * C[1] + c->R[3 * k + 2] * C[2]);
}

/* <models>/<name>: config.yaml and calibration.yaml for n cameras. */
static void write_rig(const char *name, int n)
{
    char dir[E2E_PATH + 64], cfg[2048], path[E2E_PATH + 128];
    geom_calib c = {.n = n};
    vas_err e = {0};
    size_t k;

    snprintf(dir, sizeof(dir), "%s/%s", models_arg, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    k = (size_t)snprintf(cfg, sizeof(cfg),
                         "Task: %s\nscorername_3d: DLC_3D\npcutoff: 0.4\nskeleton:\n"
                         "- [snout, tailbase]\n- [leftear, rightear]\ncamera_names:\n",
                         name);
    for (int i = 0; i < 2 * n; i++)
        k += (size_t)snprintf(cfg + k, sizeof(cfg) - k,
                              i < n ? "- camera-%d\n" : "model_camera-%d: openfield\n", i % n + 1);
    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    assert_int_equal(tu_write_file(path, cfg, k), 0);
    for (int i = 0; i < n; i++)
        make_camera(&c.cam[i], i, n);
    snprintf(path, sizeof(path), "%s/calibration.yaml", dir);
    if (geom_calib_write(path, &c, &e) < 0)
        fail_msg("%s", e.msg);
}

/* <dir>/models with openfield (linked), rig2 and rig3. */
static void make_models(e2e_srv *s)
{
    char of[PATH_MAX], link[E2E_PATH + 16];

    snprintf(models_arg, sizeof(models_arg), "%s/models", s->dir);
    assert_int_equal(mkdir(models_arg, 0755), 0);
    assert_non_null(realpath("models/openfield", of));
    snprintf(link, sizeof(link), "%s/openfield", models_arg);
    assert_int_equal(symlink(of, link), 0);
    write_rig("rig2", 2);
    write_rig("rig3", 3);
}

static void start(e2e_srv *s)
{
    make_models(s);
    s->args = server_args;
    assert_int_equal(e2e_start(s), 0);
}

/* <dir>/<name>: a w x h mpeg4 video of n frames at 24 fps. */
static void write_video(e2e_srv *s, const char *name, int w, int h, int n, char *path, size_t size)
{
    tenc_video v = {.codec = "mpeg4", .w = w, .h = h, .frames = n, .fps = 24};

    snprintf(path, size, "%s/%s", s->dir, name);
    assert_int_equal(tenc_write_video(path, &v), 0);
}

/* The two-camera take: camera 1 160x120 x 12 frames, camera 2 200x150 x 10 frames. */
static void upload_take(e2e_srv *s, char ids[2][41])
{
    char path[E2E_PATH + 64];

    write_video(s, "c1.avi", 160, 120, 12, path, sizeof(path));
    e2e_upload_path(s, path, "rig1-camera-1-day2.avi", ids[0]);
    write_video(s, "c2.avi", 200, 150, FRAMES, path, sizeof(path));
    e2e_upload_path(s, path, "rig1-camera-2-day2.avi", ids[1]);
}

/* The POST body for label_3d on model with files ids[0..n). */
static void form(char *out, size_t size, const char *model, char ids[][41], int n)
{
    size_t k = (size_t)snprintf(out, size, "analysis=label_3d&model=%s", model);

    for (int i = 0; i < n; i++)
        k += (size_t)(i ? snprintf(out + k, size - k, "&file%d_id=%s", i + 1, ids[i])
                        : snprintf(out + k, size - k, "&file_id=%s", ids[i]));
}

/* ---- checking the video ---- */

/* What the decoded video showed. */
typedef struct seen {
    int frames, width, height;
    char codec[MEDIA_NAME_LEN];
    int index_ok;        /* frames whose camera-1 panel reads its own frame index */
    int red[2], blue[2]; /* pixels of the camera panels near tenc's red and blue (frame 0) */
    int white3, ink3;    /* pixels of the 3D panel white and not (frame 0) */
} seen;

static int near(const uint8_t *p, int r, int g, int b)
{
    return abs(p[0] - r) < 40 && abs(p[1] - g) < 40 && abs(p[2] - b) < 40;
}

static void count_panels(const media_frame *f, seen *s)
{
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) {
            const uint8_t *p = f->rgb + ((size_t)y * f->width + x) * 3;
            int panel = x < W1 ? 0 : x < W1 + W2 ? 1 : 2;
            if (panel < 2) {
                s->red[panel] += near(p, 220, 30, 30);
                s->blue[panel] += near(p, 30, 30, 220);
            } else if (p[0] > 240 && p[1] > 240 && p[2] > 240) {
                s->white3++;
            } else {
                s->ink3++;
            }
        }
}

/* Decodes the mp4 in body[n] (written to <dir>/out.mp4). */
static void decode(e2e_srv *s, const char *body, size_t n, seen *out)
{
    char path[E2E_PATH + 16];
    media_video *v = NULL;
    media_frame f;
    vas_err e = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "%s/out.mp4", s->dir);
    assert_int_equal(tu_write_file(path, body, n), 0);
    if (media_video_open(path, NULL, &v, &e) < 0)
        fail_msg("%s", e.msg);
    out->width = media_video_info_get(v)->width;
    out->height = media_video_info_get(v)->height;
    snprintf(out->codec, sizeof(out->codec), "%s", media_video_info_get(v)->codec);
    while ((rc = media_video_next(v, &f, &e)) == 1) {
        if (f.index == 0)
            count_panels(&f, out);
        out->index_ok += tenc_read_index(f.rgb, f.width) == (int)f.index;
        out->frames++;
    }
    assert_int_equal(rc, 0);
    media_video_close(v);
}

/* GET /file/<res[key]> into *body (new), its size in *n; Content-Disposition holds want. */
static void download(e2e_srv *s, const json_t *res, const char *key, const char *want, char **body,
                     size_t *n)
{
    char path[128];
    e2e_resp r;

    snprintf(path, sizeof(path), "/file/%s", e2e_str(res, key));
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    assert_non_null(strstr(e2e_header(&r, "Content-Disposition"), want));
    *n = r.len;
    *body = malloc(r.len ? r.len : 1);
    assert_non_null(*body);
    memcpy(*body, r.body, r.len);
    e2e_resp_free(&r);
}

/* The checks every two-camera result passes. */
static void check_video(e2e_srv *s, const json_t *res)
{
    char *body;
    size_t n;
    seen v;

    assert_int_equal(json_integer_value(json_object_get(res, "frames")), FRAMES);
    assert_int_equal(json_integer_value(json_object_get(res, "width")), W1 + W2 + W3);
    assert_int_equal(json_integer_value(json_object_get(res, "height")), H);
    assert_int_equal(json_array_size(json_object_get(res, "cameras")), 2);
    assert_string_equal(e2e_str(res, "model"), "rig2");
    assert_non_null(strstr(e2e_str(res, "note"), "differ in length"));
    download(s, res, "labeled_video_3d", "rig1_day2_DLC_3D.mp4", &body, &n);
    decode(s, body, n, &v);
    free(body);
    assert_string_equal(v.codec, "h264");
    assert_int_equal(v.width, W1 + W2 + W3);
    assert_int_equal(v.height, H);
    assert_int_equal(v.frames, FRAMES);
    /* tenc's red and blue blocks are 32x32 in camera 1 and 25.6x25.6 in camera 2 (scaled 0.8);
     * dots may cover part of them */
    for (int c = 0; c < 2; c++) {
        print_message("camera %d panel: %d red, %d blue pixels\n", c + 1, v.red[c], v.blue[c]);
        assert_true(v.red[c] > 200 && v.red[c] < 1200);
        assert_true(v.blue[c] > 200 && v.blue[c] < 1200);
    }
    print_message("3D panel: %d white, %d drawn; index read in %d frames\n", v.white3, v.ink3,
                  v.index_ok);
    assert_true(v.white3 > W3 * H / 2);
    assert_true(v.ink3 > 300);
    assert_true(v.index_ok >= FRAMES / 2);
}

/* ---- tests ---- */

/* Two cameras of different sizes and lengths, poses computed now; then again with the poses of
 * finished `video` analyses, which are reused. */
static void two_cameras(void **state)
{
    e2e_srv *s = *state;
    char ids[2][41], body[1024], aid[37];
    double t0;
    e2e_resp r;

    start(s);
    upload_take(s, ids);
    form(body, sizeof(body), "rig2", ids, 2);
    t0 = e2e_now();
    e2e_analysis(s, body, aid, NULL);
    e2e_wait_state(s, aid, NULL, 120, &r);
    if (!e2e_state_is(&r, "SUCCESS"))
        fail_msg("label_3d: %s", r.body);
    print_message("label_3d: %d frames in %.2f s wall (job %.2f s, network included)\n", FRAMES,
                  e2e_now() - t0, json_real_value(json_object_get(r.json, "seconds")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "videos_analysed")), 2);
    assert_int_equal(json_integer_value(json_object_get(r.json, "poses_reused")), 0);
    assert_non_null(strstr(e2e_str(r.json, "csv_file"), ""));
    assert_non_null(json_object_get(r.json, "h5_file"));
    assert_non_null(json_object_get(r.json, "json_file"));
    check_video(s, r.json);
    e2e_resp_free(&r);
    for (int c = 0; c < 2; c++) {
        snprintf(body, sizeof(body), "analysis=video&model=openfield&file_id=%s", ids[c]);
        e2e_analysis(s, body, aid, NULL);
        e2e_expect_state(s, aid, "SUCCESS", 200, 60);
    }
    form(body, sizeof(body), "rig2", ids, 2);
    strncat(body, "&force=1", sizeof(body) - strlen(body) - 1);
    e2e_analysis(s, body, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 60, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "poses_reused")), 2);
    assert_int_equal(json_integer_value(json_object_get(r.json, "videos_analysed")), 0);
    print_message("label_3d, poses reused: %d frames in %.3f s (%.0f frames/s)\n", FRAMES,
                  json_real_value(json_object_get(r.json, "seconds")),
                  FRAMES / json_real_value(json_object_get(r.json, "seconds")));
    check_video(s, r.json);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* 400: two files for a three-camera model, a 2D model; FAILURE: a CSV for a camera's video. */
static void refusals(void **state)
{
    e2e_srv *s = *state;
    char ids[3][41], body[1024], aid[37];
    e2e_resp r;

    start(s);
    upload_take(s, ids);
    form(body, sizeof(body), "rig3", ids, 2);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "model rig3 has 3 cameras"));
    e2e_resp_free(&r);
    form(body, sizeof(body), "openfield", ids, 2);
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", body, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "needs a 3D model"));
    e2e_resp_free(&r);
    e2e_upload_text(s, "scorer,a\nbodyparts,snout\ncoords,x\n0,1\n", "poses.csv", ids[1]);
    form(body, sizeof(body), "rig2", ids, 2);
    e2e_analysis(s, body, aid, NULL);
    e2e_wait_state(s, aid, NULL, 60, &r);
    assert_true(e2e_state_is(&r, "FAILURE"));
    assert_non_null(strstr(e2e_str(r.json, "description"), "label_3d needs videos"));
    assert_non_null(strstr(e2e_str(r.json, "description"), "camera-2"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* `vas analyze --analysis label_3d --model rig2 c1 c2`: the video beside c1, the layout's size. */
static void analyze_cli(void **state)
{
    e2e_srv *s = *state;
    char c1[E2E_PATH + 64], c2[E2E_PATH + 64], out[E2E_PATH + 16], res[E2E_PATH + 64], *body;
    size_t n = 0;
    seen v;
    int rc;

    make_models(s);
    write_video(s, "rig1-camera-1-day2.avi", 160, 120, 12, c1, sizeof(c1));
    write_video(s, "rig1-camera-2-day2.avi", 200, 150, FRAMES, c2, sizeof(c2));
    snprintf(out, sizeof(out), "%s/cli.out", s->dir);
    rc = e2e_run_vas(out, "analyze", "--models", models_arg, "--analysis", "label_3d", "--model",
                     "rig2", c1, c2, NULL);
    body = tu_read_file(out, NULL);
    if (rc != 0)
        print_message("%s\n", body + (strlen(body) > 900 ? strlen(body) - 900 : 0));
    assert_int_equal(rc, 0);
    assert_non_null(strstr(body, "label_3d: 10 frames, 440x120"));
    free(body);
    snprintf(res, sizeof(res), "%s/rig1_day2_DLC_3D.mp4", s->dir);
    body = tu_read_file(res, &n);
    assert_non_null(body);
    decode(s, body, n, &v);
    free(body);
    assert_int_equal(v.width, W1 + W2 + W3);
    assert_int_equal(v.frames, FRAMES);
    snprintf(res, sizeof(res), "%s/rig1_day2_DLC_3D.h5", s->dir);
    assert_int_equal(access(res, R_OK), 0);
    E2E_PASS(s);
}

/* Waits until the server's log holds n job lines "state=REVOKED ms=" (a worker stopped). */
static void revoked_seen(const e2e_srv *s, int n, double timeout_s)
{
    double end = e2e_now() + timeout_s;

    for (;;) {
        char *log = tu_read_file(s->log, NULL);
        int k = 0;
        for (const char *p = log; p && (p = strstr(p, "state=REVOKED ms=")); p++)
            k++;
        free(log);
        if (k >= n)
            return;
        assert_true(e2e_now() < end);
        tu_nap_ms(50);
    }
}

/* triangulate and label_3d over HTTP, cancelled while their cameras' videos are analysed:
 * REVOKED, the worker stops, and nothing but the two uploads is stored. */
static void cancel_over_http(void **state)
{
    static const char *const analyses[] = {"triangulate", "label_3d"};
    e2e_srv *s = *state;
    char ids[2][41], path[E2E_PATH + 64], body[1024], aid[37];
    e2e_resp r;

    start(s);
    write_video(s, "long1.avi", 160, 120, 600, path, sizeof(path));
    e2e_upload_path(s, path, "rig1-camera-1-long.avi", ids[0]);
    write_video(s, "long2.avi", 200, 150, 600, path, sizeof(path));
    e2e_upload_path(s, path, "rig1-camera-2-long.avi", ids[1]);
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof(body), "analysis=%s&model=rig2&file_id=%s&file2_id=%s", analyses[i],
                 ids[0], ids[1]);
        e2e_analysis(s, body, aid, NULL);
        e2e_wait_progress(s, aid, "frames", 1, 120);
        e2e_cancel(s, aid);
        e2e_expect_state(s, aid, "REVOKED", 200, 10);
        revoked_seen(s, i + 1, 30); /* the worker saw it and stopped */
    }
    e2e_get(s, "/file", &r);
    assert_int_equal(json_array_size(r.json), 2);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* label3d_run's frames-drawn progress; cancels at frame 3 as job_progress does. */
static int cancel_at_3(void *arg, int64_t done, int64_t total, vas_err *e)
{
    (void)total;
    *(int64_t *)arg = done;
    return done == 3 ? err_set(e, VAS_ECANCELLED, "analysis x was cancelled") : VAS_OK;
}

/* The models of make_models loaded as a worker loads them, for label3d_run called directly. */
typedef struct loaded {
    config cfg;
    pose_models *m2;
    geom_models3d *m3;
} loaded;

static void load_models(loaded *L)
{
    vas_err e = {0};

    *L = (loaded){0};
    assert_int_equal(config_defaults(&L->cfg, &e), VAS_OK);
    free(L->cfg.models_dir);
    L->cfg.models_dir = strdup(models_arg);
    assert_int_equal(pose_models_load(&L->cfg, 0, &L->m2, &e), VAS_OK);
    assert_int_equal(geom_models3d_load(&L->cfg, L->m2, &L->m3, &e), VAS_OK);
}

static void unload_models(loaded *L)
{
    geom_models3d_free(L->m3);
    pose_models_free(L->m2);
    config_free(&L->cfg);
}

/* label3d_run stopped by its progress (a cancelled job): VAS_ECANCELLED, no video left, neither
 * the .mp4 nor its .part. */
static void cancel_while_drawing(void **state)
{
    e2e_srv *s = *state;
    loaded L;
    char c1[E2E_PATH + 64], c2[E2E_PATH + 64], prefix[E2E_PATH + 16], part[E2E_PATH + 32];
    const char *videos[2] = {c1, c2};
    int64_t last = 0;
    label3d_opts o = {.progress = cancel_at_3, .arg = &last};
    label3d_out out = {0};
    vas_err e = {0};

    make_models(s);
    write_video(s, "c1.avi", 160, 120, 12, c1, sizeof(c1));
    write_video(s, "c2.avi", 200, 150, FRAMES, c2, sizeof(c2));
    load_models(&L);
    snprintf(prefix, sizeof(prefix), "%s/take", s->dir);
    o.tri.tmp_dir = s->dir;
    assert_int_equal(
        label3d_run(geom_models3d_find(L.m3, "rig2"), videos, NULL, prefix, &o, &out, &e),
        VAS_ECANCELLED);
    assert_int_equal(last, 3);
    assert_non_null(strstr(e.msg, "cancelled"));
    assert_int_not_equal(access(out.video, F_OK), 0);
    snprintf(part, sizeof(part), "%s.part", out.video);
    assert_int_not_equal(access(part, F_OK), 0);
    label3d_out_clear(&out);
    unload_models(&L);
    E2E_PASS(s);
}

/* ---- timing: VAS_BENCH_LABEL3D=1 only (the figures of label3d_run.h's DESIGN) ---- */

typedef struct bench_prog {
    atomic_bool cancel;      /* set by the timer thread: the job was cancelled */
    int64_t cancel_ms;       /* when */
    int64_t last_ms, gap_ms; /* the last progress call; the longest time between two */
    int started;             /* the first progress call happened */
    int cancel_after_ms;     /* > 0: the timer cancels this long after the first call */
} bench_prog;

static int bench_progress(void *arg, int64_t done, int64_t total, vas_err *e)
{
    bench_prog *b = arg;
    int64_t now = util_mono_ms();

    (void)done;
    (void)total;
    if (b->last_ms && now - b->last_ms > b->gap_ms)
        b->gap_ms = now - b->last_ms;
    b->last_ms = now;
    b->started = 1;
    return atomic_load(&b->cancel) ? err_set(e, VAS_ECANCELLED, "cancelled") : VAS_OK;
}

static void *bench_timer(void *arg)
{
    bench_prog *b = arg;

    while (!b->started)
        tu_nap_ms(1);
    tu_nap_ms(b->cancel_after_ms);
    b->cancel_ms = util_mono_ms();
    atomic_store(&b->cancel, true);
    return NULL;
}

/* One label3d_run of the take with its poses given; wall seconds, or the cancel latency (ms)
 * when cancel_after_ms > 0. */
static double bench_run(const geom_models3d_item *it, const char *const *videos,
                        const char *const *poses, const char *prefix, int cancel_after_ms,
                        int64_t *gap_ms)
{
    bench_prog b = {.cancel_after_ms = cancel_after_ms};
    label3d_opts o = {.progress = bench_progress, .arg = &b};
    label3d_out out = {0};
    vas_err e = {0};
    pthread_t th;
    int64_t t0 = util_mono_ms(), t1;
    int rc;

    atomic_init(&b.cancel, false);
    if (cancel_after_ms > 0)
        assert_int_equal(pthread_create(&th, NULL, bench_timer, &b), 0);
    rc = label3d_run(it, videos, poses, prefix, &o, &out, &e);
    t1 = util_mono_ms();
    if (cancel_after_ms > 0)
        pthread_join(th, NULL);
    assert_int_equal(rc, cancel_after_ms > 0 ? VAS_ECANCELLED : VAS_OK);
    *gap_ms = b.gap_ms;
    label3d_out_clear(&out);
    return cancel_after_ms > 0 ? (double)(t1 - b.cancel_ms) : (double)(t1 - t0) / 1000.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Two 640x480 cameras x 240 frames (a 1760x480 output): the 2D poses once, then label3d_run
 * with them given, 3 times (median wall time) and 3 times cancelled 1 s into drawing (median
 * time from the cancel to label3d_run's return); the longest gap between progress calls. */
static void bench_label3d(void **state)
{
    e2e_srv *s = *state;
    loaded L;
    char c1[E2E_PATH + 64], c2[E2E_PATH + 64], p1[E2E_PATH + 64], p2[E2E_PATH + 64];
    char prefix[E2E_PATH + 16];
    const char *videos[2] = {c1, c2}, *poses[2] = {p1, p2};
    double wall[3], lat[3];
    int64_t gap = 0, gap_c = 0;
    vas_err e = {0};

    if (!getenv("VAS_BENCH_LABEL3D")) {
        E2E_PASS(s);
        skip();
    }
    make_models(s);
    write_video(s, "b1.avi", 640, 480, 240, c1, sizeof(c1));
    write_video(s, "b2.avi", 640, 480, 240, c2, sizeof(c2));
    load_models(&L);
    snprintf(prefix, sizeof(prefix), "%s/take", s->dir);
    {
        label3d_opts o = {.tri = {.tmp_dir = s->dir}};
        label3d_out out = {0};
        assert_int_equal(
            label3d_run(geom_models3d_find(L.m3, "rig2"), videos, NULL, prefix, &o, &out, &e),
            VAS_OK);
        label3d_out_clear(&out);
    }
    snprintf(p1, sizeof(p1), "%s/camera-1.csv", s->dir);
    snprintf(p2, sizeof(p2), "%s/camera-2.csv", s->dir);
    for (int i = 0; i < 3; i++) {
        int64_t g = 0;
        wall[i] = bench_run(geom_models3d_find(L.m3, "rig2"), videos, poses, prefix, 0, &g);
        gap = g > gap ? g : gap;
        lat[i] = bench_run(geom_models3d_find(L.m3, "rig2"), videos, poses, prefix, 1000, &g);
        gap_c = g > gap_c ? g : gap_c;
    }
    qsort(wall, 3, sizeof(double), cmp_double);
    qsort(lat, 3, sizeof(double), cmp_double);
    print_message("bench label3d: wall %.2f s (median of 3: %.2f %.2f %.2f), cancel latency "
                  "%.0f ms (median of 3: %.0f %.0f %.0f), longest progress gap %lld ms\n",
                  wall[1], wall[0], wall[1], wall[2], lat[1], lat[0], lat[1], lat[2],
                  (long long)(gap > gap_c ? gap : gap_c));
    unload_models(&L);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST_NO_SERVER(two_cameras, NULL),      E2E_TEST_NO_SERVER(refusals, NULL),
        E2E_TEST_NO_SERVER(analyze_cli, NULL),      E2E_TEST_NO_SERVER(cancel_while_drawing, NULL),
        E2E_TEST_NO_SERVER(cancel_over_http, NULL), E2E_TEST_NO_SERVER(bench_label3d, NULL),
    };

    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
