/* analyze_cli.c - `vas analyze --analysis video --model NAME FILE...` (see analyze_cli.h). */
#include "analyses/analyze_cli.h"

#include "analyses/analysis.h"
#include "analyses/analyze_job.h"
#include "analyses/label3d_run.h"
#include "analyses/label_run.h"
#include "analyses/tri_run.h"
#include "core/log.h"
#include "core/util.h"
#include "pose/dlc_read.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: vas analyze [--analysis NAME] [--model NAME] [--FIELD VALUE]... [--batch N]\n"
    "                   [--threads T] [--snapshot S] [--bf16 | --int8] [--one-stream]\n"
    "                   [--config FILE | --models DIR]\n"
    "                   FILE...\n"
    "NAME: any analysis POST /analysis offers (default video); --FIELD VALUE: its fields as\n"
    "       POST /analysis takes them (e.g. --filtertype spline, --dotsize 8), checked the same\n"
    "       way; FILEs are file_id, file2_id, ... Outputs go beside the first FILE, under the\n"
    "       names the server gives them. video, image, label, triangulate and label_3d without\n"
    "       fields also take --batch, --threads, --snapshot, --bf16 and --int8 (below).\n"
    "video: writes <stem><scorer>.csv, .h5 and .json beside each FILE, as DeepLabCut does.\n"
    "label: the same plus <stem><scorer>_labeled.mp4 (bodyparts and skeleton drawn on every\n"
    "       frame) and four plots, <stem><scorer>_trajectory.png, _plot-likelihood.png,\n"
    "       _hist.png, _plot.png.\n"
    "filter: FILE a DeepLabCut pose CSV/HDF5; writes <stem>_filtered.csv and .h5 beside it\n"
    "       (--filtertype median|spline, --windowlength N, as deeplabcut.filterpredictions).\n"
    "image: one image or a zip/tar of images gives <stem><scorer>.*; several images give one\n"
    "       table <folder><scorer>.* in the first image's folder, indexed by image name.\n"
    "triangulate: --model names a 3D model; one FILE per camera in its camera_names order,\n"
    "       each a DeepLabCut 2D pose file (CSV/HDF5) or a video (analysed with the camera's\n"
    "       2D model); writes DeepLabCut's 3D <name>_<scorername_3d>.csv, .h5 and vas's .json\n"
    "       beside the first FILE.\n"
    "label_3d: as triangulate, FILEs being videos, plus <name>_<scorername_3d>.mp4: each\n"
    "       camera's labeled frame side by side and a 3D view of the skeleton.\n"
    "--snapshot: a DeepLabCut 3 model's snapshot other than DeepLabCut's pick: an epoch (\"50\"),\n"
    "       \"best\" or a file name.\n"
    "--int8: convolutions in int8, calibrated on the first 16 frames of each video (which are\n"
    "       analysed in float32); as a model's vas_int8: true (pose_cfg.yaml) does.\n"
    "--one-stream: a long video of large frames on every core is run as two streams of batches\n"
    "       at once, each on half the cores, so that one decodes while the other infers; this\n"
    "       runs every batch on all the cores one after another instead (as before 2026-12).\n";

typedef struct cli {
    const char *analysis, *model, *snapshot;
    int batch, threads, bf16, int8, one_stream;
    json_t *fields; /* the analysis's own --FIELD VALUE pairs */
    int64_t t0;
    int tty;
} cli;

static int progress(void *arg, int64_t done, int64_t total, vas_err *e)
{
    cli *c = arg;
    double s = (double)(util_mono_ms() - c->t0) / 1000.0;
    int width = 30, fill = total > 0 ? (int)(width * done / total) : 0;
    char bar[64];

    (void)e;
    if (!c->tty)
        return VAS_OK;
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : ' ';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %lld/%lld frames, %.1f frames/s ", bar, (long long)done,
            (long long)total, s > 0 ? (double)done / s : 0.0);
    return VAS_OK;
}

/* "<dir of file>/<stem><scorer>" into out. */
static void prefix_for(const char *file, const pose_model *m, char *out, size_t n)
{
    const char *slash = strrchr(file, '/'), *base = slash ? slash + 1 : file;
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);

    snprintf(out, n, "%.*s%.*s%s", (int)(base - file), file, stem, base, m->scorer);
}

static int report(cli *c, const char *what, int rc, pose_video_out *out, vas_err *e)
{
    char streams[32] = "";

    if (c->tty)
        fputc('\n', stderr);
    if (rc < 0) {
        fprintf(stderr, "vas analyze: %s: %s\n", what, e->msg);
        return 1;
    }
    if (out->streams > 1) /* inference seconds are then a stream's (pose_run.h) */
        snprintf(streams, sizeof(streams), "; %d streams", out->streams);
    printf("%s: %lld %s in %.1f s (%.1f a second; inference %.1f s%s)\n  %s\n  %s\n  %s\n", what,
           (long long)out->frames, strcmp(c->analysis, "image") ? "frames" : "images", out->seconds,
           out->seconds > 0 ? (double)out->frames / out->seconds : 0.0, out->infer_seconds, streams,
           out->csv, out->h5, out->json);
    pose_video_out_clear(out);
    return 0;
}

/* Several images: one table named after the first image's folder, in that folder. */
static int image_files(cli *c, const pose_model *m, char **files, int n)
{
    pose_run_opts o = {
        .threads = c->threads, .bf16 = c->bf16, .int8 = c->int8, .progress = progress, .arg = c};
    pose_video_out out = {0};
    char dir[2048], prefix[8192];
    const char *slash = strrchr(files[0], '/'), *folder;
    vas_err e = {0};

    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - files[0]) : 1, slash ? files[0] : ".");
    folder = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    snprintf(prefix, sizeof(prefix), "%s/%s%s", dir, strcmp(folder, ".") ? folder : "images",
             m->scorer);
    c->t0 = util_mono_ms();
    return report(c, "images",
                  pose_run_image_files(m, (const char *const *)files, n, prefix, &o, &out, &e),
                  &out, &e);
}

/* One video (video, label) or one image or archive of them (image). */
static int one_file(cli *c, const pose_model *m, const char *file)
{
    pose_run_opts o = {.batch = c->batch,
                       .threads = c->threads,
                       .bf16 = c->bf16,
                       .int8 = c->int8,
                       .one_stream = c->one_stream,
                       .progress = progress,
                       .arg = c};
    label_out out = {0};
    char prefix[4096];
    vas_err e = {0};
    int rc, failed;

    prefix_for(file, m, prefix, sizeof(prefix));
    c->t0 = util_mono_ms();
    if (strcmp(c->analysis, "label") == 0)
        rc = label_run_video(m, file, NULL, prefix, &o, &out, &e);
    else if (strcmp(c->analysis, "image") == 0)
        rc = pose_run_images(m, file, prefix, &o, &out.pose, &e);
    else
        rc = pose_run_video(m, file, prefix, &o, &out.pose, &e);
    failed = report(c, file, rc, &out.pose, &e);
    if (!failed && out.video)
        printf("  %s\n  %s\n  %s\n  %s\n", out.video, out.plots[0], out.plots[1], out.plots[2]);
    label_out_clear(&out);
    return failed;
}

static int int_arg(const char *flag, const char *v, int lo, int hi, int *out)
{
    int64_t n;

    if (util_parse_i64(v, &n) < 0 || n < lo || n > hi) {
        fprintf(stderr, "vas analyze: %s must be %d to %d\n%s", flag, lo, hi, usage);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* main's own flags (read there): skipped here with their value. */
static int is_main_flag(const char *a)
{
    static const char *const f[] = {"--config", "--models", "--log-level", "--db", "--data", NULL};

    for (int i = 0; f[i]; i++)
        if (strcmp(a, f[i]) == 0)
            return 1;
    return 0;
}

/* --bf16, --int8 or --one-stream (no value): 1 when a is one of them. */
static int precision_flag(cli *c, const char *a)
{
    c->bf16 |= strcmp(a, "--bf16") == 0;
    c->int8 |= strcmp(a, "--int8") == 0;
    c->one_stream |= strcmp(a, "--one-stream") == 0;
    return strcmp(a, "--bf16") == 0 || strcmp(a, "--int8") == 0 || strcmp(a, "--one-stream") == 0;
}

/* Options this command owns, and --FIELD VALUE pairs for the analysis (into c->fields). Returns
 * the index of the first file, or -1. */
static int parse(cli *c, int argc, char **argv)
{
    int i = 1;

    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            exit(0); /* NOLINT(concurrency-mt-unsafe): single-threaded here */
        }
        if (precision_flag(c, a))
            continue;
        if (i + 1 >= argc) {
            fprintf(stderr, "vas analyze: %s needs a value\n%s", a, usage);
            return -1;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--analysis") == 0)
            c->analysis = v;
        else if (strcmp(a, "--model") == 0)
            c->model = v;
        else if (strcmp(a, "--snapshot") == 0)
            c->snapshot = v;
        else if (strcmp(a, "--batch") == 0 || strcmp(a, "--threads") == 0) {
            if (int_arg(a, v, a[2] == 'b' ? 1 : 0, a[2] == 'b' ? 64 : 256,
                        a[2] == 'b' ? &c->batch : &c->threads) < 0)
                return -1;
        } else if (!is_main_flag(a))
            json_object_set_new(c->fields, a + 2, json_string(v));
    }
    return i;
}

/* `--analysis label_3d`: tri_run's work plus the video; its outputs into *out. */
static int label_3d(const geom_models3d_item *it, char **files, const char *prefix,
                    const tri_run_opts *to, tri_out *out, vas_err *e)
{
    label3d_opts o = {.tri = *to, .progress = to->progress, .arg = to->arg};
    label3d_out lo = {0};
    int rc = label3d_run(it, (const char *const *)files, NULL, prefix, &o, &lo, e);

    if (rc == VAS_OK)
        printf("label_3d: %lld frames, %dx%d, %.1f frames/s drawn and encoded\n  %s\n",
               (long long)lo.frames, lo.width, lo.height,
               lo.draw_seconds > 0 ? (double)lo.frames / lo.draw_seconds : 0.0, lo.video);
    *out = lo.tri;
    lo.tri = (tri_out){0};
    label3d_out_clear(&lo);
    return rc;
}

/* `--analysis triangulate` and `label_3d`: files[0..n) one per camera of the 3D model. */
static int triangulate(cli *c, const pose_models *models, const config *cfg, char **files, int n)
{
    geom_models3d *l = NULL;
    const geom_models3d_item *it;
    tri_run_opts o = {.progress = progress, .arg = c};
    tri_out out = {0};
    char dir[2048], names[1024], prefix[4096], *name = NULL;
    const char *slash = strrchr(files[0], '/');
    vas_err e = {0};
    int rc = geom_models3d_load(cfg, models, &l, &e);

    it = rc == VAS_OK ? geom_models3d_find(l, c->model) : NULL;
    if (rc == VAS_OK && !it) {
        geom_models3d_names(l, names, sizeof(names));
        rc = err_set(&e, VAS_EINVAL, "unknown 3D model '%s'; 3D models: %s", c->model, names);
    } else if (rc == VAS_OK && it->model->n_cameras != n) {
        rc = err_set(&e, VAS_EINVAL, "model %s has %d cameras; got %d files", c->model,
                     it->model->n_cameras, n);
    }
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - files[0]) : 1, slash ? files[0] : ".");
    if (rc == VAS_OK)
        rc = dlc_name_3d(files[0], geom_model3d_camera(it->model, 0), it->model->scorername_3d,
                         &name, &e);
    snprintf(prefix, sizeof(prefix), "%s/%s", dir, name ? name : "");
    o.pose = (pose_run_opts){.batch = c->batch,
                             .threads = c->threads,
                             .bf16 = c->bf16,
                             .int8 = c->int8,
                             .one_stream = c->one_stream};
    o.tmp_dir = dir;
    c->t0 = util_mono_ms();
    if (rc == VAS_OK && strcmp(c->analysis, "label_3d") == 0)
        rc = label_3d(it, files, prefix, &o, &out, &e);
    else if (rc == VAS_OK)
        rc = tri_run(it, (const char *const *)files, prefix, &o, &out, &e);
    if (c->tty)
        fputc('\n', stderr);
    if (rc == VAS_OK)
        printf("triangulate: %lld frames from %d cameras in %.2f s%s%s\n  %s\n  %s\n  %s\n",
               (long long)out.frames, n, out.seconds, out.note[0] ? "; " : "", out.note, out.csv,
               out.h5, out.json);
    else
        fprintf(stderr, "vas analyze: %s: %s\n", c->analysis, e.msg);
    tri_out_clear(&out);
    free(name);
    geom_models3d_free(l);
    return rc == VAS_OK ? 0 : 1;
}

/* --snapshot: *m loaded again from its folder with that snapshot (new, into *picked). */
static int pick_snapshot(const cli *c, const pose_model **m, pose_model **picked)
{
    vas_err e = {0};

    if (pose_model_snapshot(*m, c->snapshot, picked, &e) < 0) {
        fprintf(stderr, "vas analyze: %s\n", e.msg);
        return -1;
    }
    *m = *picked;
    return 0;
}

/* ---- any analysis, through its job body (analyze_job.h) ---- */

static volatile int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void job_progress_cb(void *arg, int64_t done, int64_t total, const char *unit)
{
    cli *c = arg;
    double s = (double)(util_mono_ms() - c->t0) / 1000.0;

    if (c->tty)
        fprintf(stderr, "\r%lld/%lld %s, %.1f s ", (long long)done, (long long)total,
                unit && *unit ? unit : "done", s);
}

static int takes(const analysis_def *d, const char *field)
{
    for (int i = 0; d && d->arg_names[i]; i++)
        if (strcmp(d->arg_names[i], field) == 0)
            return 1;
    return 0;
}

/* --batch and --snapshot are fields of the analyses that take them (as in POST /analysis);
 * --threads, --bf16 and --int8 exist only on the analyses' own paths here. */
static int flags_to_fields(cli *c)
{
    const analysis_def *d = analysis_lookup(c->analysis);
    char v[16];

    if (c->batch && takes(d, "batch")) {
        snprintf(v, sizeof(v), "%d", c->batch);
        json_object_set_new(c->fields, "batch", json_string(v));
        c->batch = 0;
    }
    if (c->snapshot && takes(d, "snapshot")) {
        json_object_set_new(c->fields, "snapshot", json_string(c->snapshot));
        c->snapshot = NULL;
    }
    if (c->batch || c->snapshot || c->threads || c->bf16 || c->int8) {
        fprintf(stderr,
                "vas analyze: %s applies to video, image, label, triangulate and label_3d "
                "given without fields%s\n",
                c->bf16      ? "--bf16"
                : c->int8    ? "--int8"
                : c->threads ? "--threads"
                : c->batch   ? "--batch"
                             : "--snapshot",
                c->batch || c->snapshot ? ", or to analyses that take it as a field" : "");
        return -1;
    }
    return 0;
}

static int generic(cli *c, const config *cfg, char **files, int n)
{
    analyze_job_opts o = {.analysis = c->analysis,
                          .model = c->model,
                          .fields = c->fields,
                          .progress = job_progress_cb,
                          .arg = c,
                          .stop = &interrupted};
    struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
    vas_err e = {0};
    int rc;

    if (flags_to_fields(c) < 0)
        return 2;
    sigaction(SIGINT, &sa, &old_int); /* Ctrl-C: the job stops and its work folder goes */
    sigaction(SIGTERM, &sa, &old_term);
    c->t0 = util_mono_ms();
    printf("%s:\n", c->analysis);
    rc = analyze_job_run(cfg, &o, files, n, &e);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (c->tty)
        fputc('\n', stderr);
    if (rc < 0) {
        fprintf(stderr, "vas analyze: %s: %s\n", c->analysis, e.msg);
        return rc == VAS_EINVAL ? 2 : 1;
    }
    printf("%s: done in %.1f s\n", c->analysis, (double)(util_mono_ms() - c->t0) / 1000.0);
    return 0;
}

/* The analyses with their own path here (progress over frames, --batch, several images in one
 * table): used when no field of the analysis is given. */
static int has_own_path(const char *analysis)
{
    static const char *const own[] = {"video", "image", "label", "triangulate", "label_3d", NULL};

    for (int i = 0; own[i]; i++)
        if (strcmp(analysis, own[i]) == 0)
            return 1;
    return 0;
}

static int analyze_main(cli *c, const config *cfg, int argc, char **argv, int first)
{
    pose_models *models = NULL;
    const pose_model *m;
    pose_model *picked = NULL;
    char names[1024];
    vas_err e = {0};
    int failed = 0;

    if (first >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    if (analysis_lookup(c->analysis)) /* its spelling: "label-3d" is label_3d */
        c->analysis = analysis_lookup(c->analysis)->name;
    if (!has_own_path(c->analysis) || json_object_size(c->fields) > 0)
        return generic(c, cfg, argv + first, argc - first);
    if (!c->model) {
        fprintf(stderr, "vas analyze: --analysis %s needs --model\n%s", c->analysis, usage);
        return 2;
    }
    if (pose_models_load(cfg, 0, &models, &e) < 0) {
        fprintf(stderr, "vas analyze: %s\n", e.msg);
        return 1;
    }
    if (strcmp(c->analysis, "triangulate") == 0 || strcmp(c->analysis, "label_3d") == 0) {
        failed = triangulate(c, models, cfg, argv + first, argc - first);
        pose_models_free(models);
        return failed;
    }
    m = pose_models_find(models, c->model);
    if (!m) {
        pose_models_names(models, names, sizeof(names));
        fprintf(stderr, "vas analyze: unknown model '%s'; known models: %s\n", c->model, names);
        pose_models_free(models);
        return 2;
    }
    if (c->snapshot && pick_snapshot(c, &m, &picked) < 0) {
        pose_models_free(models);
        return 1;
    }
    if (strcmp(c->analysis, "image") == 0 && argc - first > 1)
        failed = image_files(c, m, argv + first, argc - first);
    else
        for (int i = first; i < argc; i++)
            failed |= one_file(c, m, argv[i]);
    pose_model_free(picked);
    pose_models_free(models);
    return failed;
}

int analyze_cli_main(const config *cfg, int argc, char **argv)
{
    cli c = {.analysis = "video", .tty = isatty(STDERR_FILENO), .fields = json_object()};
    int first = c.fields ? parse(&c, argc, argv) : -1;
    int rc = first < 0 ? 2 : analyze_main(&c, cfg, argc, argv, first);

    json_decref(c.fields);
    return rc;
}
