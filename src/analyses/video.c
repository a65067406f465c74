/* video.c - the `video` and `image` analyses: pose on every frame of an uploaded video (as
 * deeplabcut.analyze_videos does), or on one image or a zip/tar of images (as
 * analyze_time_lapse_frames does, rows indexed by image name). Outputs, named as DeepLabCut
 * names them (<upload stem><scorer>): the CSV, the HDF5 (pandas read_hdf) and vas's JSON.
 * Result: {"csv_file","h5_file","json_file","frames","fps","scorer"} (images: "images" too;
 * videos: the three plots of pose_plots.h, "plot_trajectories", ...);
 * progress in frames or images. The work itself is pose_run*.c; this file is the job. */
#include "analyses/analysis.h"
#include "analyses/pose_job.h"
#include "analyses/pose_plots.h"
#include "core/util.h"
#include "queue/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const video_args[] = {"force", "batch", "snapshot", NULL};

/* `snapshot`: a DeepLabCut 3 model's snapshot other than DeepLabCut's pick, checked now (400)
 * and kept as its uid ("5", "best-8") for the job. */
static int check_snapshot(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e)
{
    const json_t *sn = json_object_get(fields, "snapshot");
    const char *name = json_string_value(json_object_get(fields, "model"));
    const pose_model *m = name ? pose_models_find(env->models, name) : NULL;
    char want[64], uid[64];
    int rc;

    if (!sn || !m) /* no snapshot; or an unknown model, which the model check reports */
        return VAS_OK;
    if (json_is_integer(sn))
        snprintf(want, sizeof(want), "%lld", (long long)json_integer_value(sn));
    else if (json_is_string(sn) && json_string_length(sn) > 0 && json_string_length(sn) < 60 &&
             !strchr(json_string_value(sn), '/'))
        snprintf(want, sizeof(want), "%s", json_string_value(sn));
    else
        return err_set(e, VAS_EINVAL,
                       "'snapshot' must be an epoch, \"best\" or a snapshot file name");
    rc = pose_model_pick_snapshot(m, want, uid, sizeof(uid), e);
    if (rc == VAS_OK)
        json_object_set_new(args, "snapshot", json_string(uid));
    return rc;
}

/* `force` (re-run even if an identical analysis finished), `batch` (frames per batch) and
 * `snapshot` (check_snapshot). */
int analysis_check_pose_args(const analysis_env *env, const json_t *fields, json_t *args,
                             vas_err *e)
{
    const json_t *b = json_object_get(fields, "batch"), *f = json_object_get(fields, "force");
    const char *s;
    int64_t n = 0;

    (void)env;
    if (f) {
        s = json_is_string(f) ? json_string_value(f) : NULL;
        if (!(json_is_boolean(f) || json_is_integer(f) ||
              (s &&
               (!strcmp(s, "0") || !strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "false")))))
            return err_set(e, VAS_EINVAL, "'force' must be 0 or 1");
    }
    if (b) {
        s = json_is_string(b) ? json_string_value(b) : NULL;
        if (json_is_integer(b))
            n = json_integer_value(b);
        else if (!s || util_parse_i64(s, &n) < 0)
            n = 0;
        if (n < 1 || n > 64)
            return err_set(e, VAS_EINVAL, "'batch' must be a whole number from 1 to 64");
        json_object_set_new(args, "batch", json_integer(n));
    }
    return check_snapshot(env, fields, args, e);
}

/* A video's track, for its plots. */
typedef struct track {
    const pose_model *m;
    pose_plots plots;
} track;

static int progress(void *arg, int64_t done, int64_t total, vas_err *e)
{
    job *j = arg;

    return job_progress(j, done, total, j->a->unit, e);
}

/* "<dir>/<stem of the uploaded name><scorer>" into out; the uploaded name into f. */
static void out_prefix(job *j, const pose_model *m, const char *dir, store_file *f, char *out,
                       size_t n)
{
    vas_err e = {0};
    char stem[256];
    char *dot;

    if (store_file_find(j->st, j->a->inputs[0], f, &e) < 0)
        snprintf(f->filename, sizeof(f->filename), "%s", j->a->inputs[0]);
    snprintf(stem, sizeof(stem), "%s", f->filename);
    dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    for (char *p = stem; *p; p++)
        if (*p == '/')
            *p = '_';
    snprintf(out, n, "%s/%s%s", dir, stem, m->scorer);
}

int pose_job_store(job *j, const char *key, const char *path, const char *ctype, vas_err *e)
{
    const char *name = strrchr(path, '/');
    char id[STORE_ID_LEN + 1];
    int rc = job_output_file(j, path, name ? name + 1 : path, ctype, id, e);

    if (rc == VAS_OK)
        json_object_set_new(job_result(j), key, json_string(id));
    return rc;
}

int pose_job_store_tables(job *j, const char *csv, const char *h5, const char *json, vas_err *e)
{
    int rc = pose_job_store(j, "csv_file", csv, "text/csv", e);

    if (rc == VAS_OK)
        rc = pose_job_store(j, "h5_file", h5, "application/x-hdf5", e);
    if (rc == VAS_OK)
        rc = pose_job_store(j, "json_file", json, "application/json", e);
    return rc;
}

void pose_job_result(job *j, const pose_model *m, const pose_video_out *out)
{
    json_object_update_new(job_result(j),
                           json_pack("{s:I, s:f, s:s, s:s, s:f}", "frames", (json_int_t)out->frames,
                                     "fps", out->fps, "scorer", m->scorer, "model", m->name,
                                     "seconds", out->seconds));
    if (out->note[0])
        json_object_set_new(job_result(j), "note", json_string(out->note));
}

media_limits pose_job_limits(const job *j)
{
    return pose_media_limits(&j->env->cfg->lim);
}

media_limits pose_media_limits(const config_limits *l)
{
    return (media_limits){.image_pixels = l->image_pixels,
                          .video_pixels = l->video_pixels,
                          .video_frames = l->video_frames,
                          .archive_members = l->archive_members,
                          .archive_bytes = l->archive_bytes};
}

int pose_job_start(job *j, const pose_model **m, pose_model **own, pose_run_opts *o, char *prefix,
                   size_t np, char *input, size_t ni, vas_err *e)
{
    static store_file f;
    const json_t *batch = json_object_get(job_args(j), "batch");
    const char *snap = json_string_value(json_object_get(job_args(j), "snapshot"));
    char dir[4096];
    int rc;

    *own = NULL;
    *m = pose_models_find(j->env->models, j->a->model);
    if (!*m)
        return err_set(e, VAS_EINVAL, "model '%s' is not loaded on this worker", j->a->model);
    if (snap) { /* the model again, from its folder, with the snapshot asked for */
        rc = pose_model_snapshot(*m, snap, own, e);
        if (rc < 0)
            return rc;
        *m = *own;
    }
    memset(o, 0, sizeof(*o));
    o->batch = batch ? (int)json_integer_value(batch) : 0;
    o->progress = progress;
    o->arg = j;
    o->lim = pose_job_limits(j);
    o->nets = j->env->nets; /* this worker's warm networks */
    rc = job_tmp_dir(j, dir, sizeof(dir), e);
    if (rc < 0) {
        pose_model_free(*own);
        *own = NULL;
        return rc;
    }
    out_prefix(j, *m, dir, &f, prefix, np);
    o->name = f.filename;
    job_input_path(j, 0, input, ni);
    return VAS_OK;
}

static int track_row(void *arg, const pose_row *r, vas_err *e)
{
    track *t = arg;

    return pose_plots_add(&t->plots, t->m->n_bodyparts, r->xyl, e);
}

/* The three plots of a video's track, stored under their result keys. */
static int store_plots(job *j, track *t, const pose_video_out *out, const char *prefix, vas_err *e)
{
    char *paths[POSE_PLOTS_N] = {0};
    int rc = pose_plots_write(&t->plots, t->m, out->width, out->height, out->fps, prefix, paths, e);

    for (int i = 0; i < POSE_PLOTS_N && rc == VAS_OK; i++)
        rc = pose_job_store(j, pose_plots_keys[i], paths[i], "image/png", e);
    for (int i = 0; i < POSE_PLOTS_N; i++)
        free(paths[i]);
    return rc;
}

static int pose_job(job *j, int images, vas_err *e)
{
    const pose_model *m = NULL;
    pose_model *own = NULL;
    pose_run_opts o;
    pose_video_out out = {0};
    track t = {0};
    char prefix[4600], input[4096];
    int rc = pose_job_start(j, &m, &own, &o, prefix, sizeof(prefix), input, sizeof(input), e);

    if (rc < 0)
        return rc;
    t.m = m;
    if (!images) {
        o.on_row = track_row;
        o.row_arg = &t;
    }
    rc = images ? pose_run_images(m, input, prefix, &o, &out, e)
                : pose_run_video(m, input, prefix, &o, &out, e);
    if (rc == VAS_OK)
        rc = pose_job_store_tables(j, out.csv, out.h5, out.json, e);
    if (rc == VAS_OK && !images)
        rc = store_plots(j, &t, &out, prefix, e);
    pose_plots_free(&t.plots);
    if (rc == VAS_OK)
        pose_job_result(j, m, &out);
    if (rc == VAS_OK && images)
        json_object_set_new(job_result(j), "images", json_integer((json_int_t)out.frames));
    pose_video_out_clear(&out);
    pose_model_free(own);
    return rc;
}

static int video_run(job *j, vas_err *e)
{
    return pose_job(j, 0, e);
}

static int image_run(job *j, vas_err *e)
{
    return pose_job(j, 1, e);
}

const analysis_def analysis_video = {
    "video", 1, "frames", 1, 1, video_args, analysis_check_pose_args, video_run};
const analysis_def analysis_image = {
    "image", 1, "images", 1, 1, video_args, analysis_check_pose_args, image_run};
