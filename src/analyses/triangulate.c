/* triangulate.c - the `triangulate` analysis (issue 7): one take filmed by the cameras of a 3D
 * model (geom_models3d.h), file_id .. fileN_id one per camera in camera_names order, each a
 * DeepLabCut 2D pose file or a video. A video's 2D poses come from a finished `video` analysis
 * of that file with the camera's 2D model when there is one, else are computed now (tri_run.h
 * does the work and documents the rules and outputs).
 * Arguments (each optional): pcutoff (0..1; the 3D config's), min_cameras (2..cameras; 2),
 * ransac (0 or 1; 0) and ransac_threshold (pixels; RANSAC_THRESHOLD, used with ransac=1), as
 * tri_run.h and geom_tri.h apply them.
 * Result: {"csv_file","h5_file","json_file","frames","cameras":[names],"model","seconds",
 * "videos_analysed","poses_reused"} plus "note" when the inputs differ in length; progress in
 * frames triangulated. */
#include "analyses/analysis.h"
#include "analyses/fields.h"
#include "analyses/filtered.h"
#include "analyses/pose_job.h"
#include "analyses/tri_job.h"
#include "analyses/tri_run.h"
#include "core/util.h"
#include "pose/dlc_read.h"
#include "queue/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN 4096

static const char *const tri_args[] = {
    "force",    "batch",      "pcutoff",      "min_cameras", "ransac",   "ransac_threshold",
    "filtered", "filtertype", "windowlength", "p_bound",     "ARdegree", "MAdegree",
    NULL};

#define RANSAC_THRESHOLD 20.0 /* pixels: anipose's default (config [triangulation]) */

/* Field k as a number (JSON number or numeric string) into *v: 1 found, 0 absent, -1 not a
 * number. */
static int num_field(const json_t *fields, const char *k, double *v)
{
    const json_t *f = json_object_get(fields, k);

    if (!f)
        return 0;
    if (json_is_boolean(f)) {
        *v = json_is_true(f);
        return 1;
    }
    return analysis_value_num(f, v) < 0 ? -1 : 1;
}

/* pcutoff, min_cameras, ransac, ransac_threshold: checked, put into args as numbers. */
static int check_tri_opts(const json_t *fields, json_t *args, int n_cams, vas_err *e)
{
    double v = 0, r = 0;
    int got;

    if ((got = num_field(fields, "pcutoff", &v)) < 0 || (got && !(v >= 0 && v <= 1)))
        return err_set(e, VAS_EINVAL, "'pcutoff' must be a number from 0 to 1");
    if (got)
        json_object_set_new(args, "pcutoff", json_real(v));
    if ((got = num_field(fields, "min_cameras", &v)) < 0 ||
        (got && !(v >= 2 && v <= n_cams && v == (int)v)))
        return err_set(e, VAS_EINVAL,
                       "'min_cameras' must be a whole number from 2 to %d (the "
                       "model's cameras)",
                       n_cams);
    if (got)
        json_object_set_new(args, "min_cameras", json_integer((json_int_t)v));
    if ((got = num_field(fields, "ransac", &r)) < 0 || (got && r != 0 && r != 1))
        return err_set(e, VAS_EINVAL, "'ransac' must be 0 or 1");
    if (got)
        json_object_set_new(args, "ransac", json_integer((json_int_t)r));
    if ((got = num_field(fields, "ransac_threshold", &v)) < 0 || (got && !(v > 0 && v <= 1e6)))
        return err_set(e, VAS_EINVAL, "'ransac_threshold' must be a number of pixels above 0");
    if (got)
        json_object_set_new(args, "ransac_threshold", json_real(v));
    return VAS_OK;
}

/* The job's triangulation settings into o (tri_run.h). */
static void tri_opts(const json_t *args, tri_run_opts *o)
{
    const json_t *p = json_object_get(args, "pcutoff"),
                 *t = json_object_get(args, "ransac_threshold");

    o->pcutoff_set = p != NULL;
    o->pcutoff = p ? json_number_value(p) : 0;
    o->min_cameras = (int)json_integer_value(json_object_get(args, "min_cameras"));
    if (json_integer_value(json_object_get(args, "ransac")) == 1)
        o->ransac_threshold = t ? json_number_value(t) : RANSAC_THRESHOLD;
}

int analysis_check_model3d(const analysis_env *env, const char *analysis, const char *model,
                           const geom_models3d_item **out, vas_err *e)
{
    char known[1024];
    const geom_models3d_item *m = model && *model ? geom_models3d_find(env->models3d, model) : NULL;

    if (m) {
        if (out)
            *out = m;
        return VAS_OK;
    }
    geom_models3d_names(env->models3d, known, sizeof(known));
    if (!model || !*model)
        return err_set(e, VAS_EINVAL, "analysis '%s' needs a 3D model; 3D models: %s", analysis,
                       known);
    if (pose_models_find(env->models, model))
        return err_set(e, VAS_EINVAL,
                       "analysis '%s' needs a 3D model, and '%.100s' is a 2D model; 3D models: %s",
                       analysis, model, known);
    return err_set(e, VAS_EINVAL, "unknown 3D model '%.100s'; 3D models: %s", model, known);
}

/* One file per camera: file_id, file2_id, ... counted up to the first missing one. */
int tri_job_check(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e)
{
    const json_t *mv = json_object_get(fields, "model");
    const geom_models3d_item *it = geom_models3d_find(env->models3d, json_string_value(mv));
    const geom_model3d *m;
    char key[32], cams[1024];
    int n = 0, rc = analysis_check_pose_args(env, fields, args, e);
    size_t k = 0;

    if (rc < 0 || !it)
        return rc < 0 ? rc : err_set(e, VAS_EINVAL, "analysis 'triangulate' needs a 3D model");
    m = it->model;
    for (;; n++) {
        if (n)
            snprintf(key, sizeof(key), "file%d_id", n + 1);
        const json_t *v = json_object_get(fields, n ? key : "file_id");
        if (!v || (json_is_string(v) && !*json_string_value(v)))
            break;
    }
    if (n == m->n_cameras) {
        rc = check_tri_opts(fields, args, m->n_cameras, e);
        return rc < 0 ? rc : analysis_check_filtered(fields, args, e);
    }
    cams[0] = '\0';
    for (int i = 0; i < m->n_cameras && k < sizeof(cams); i++)
        k += (size_t)snprintf(cams + k, sizeof(cams) - k, "%s%s", i ? ", " : "",
                              geom_model3d_camera(m, i));
    return err_set(e, VAS_EINVAL,
                   "model %s has %d cameras (%s); got %d files (file_id, file2_id, ... one per "
                   "camera, in that order)",
                   m->name, m->n_cameras, cams, n);
}

/* The CSV of a finished `video` analysis of input c with camera c's 2D model into path.
 * VAS_ENOTFOUND when there is none. */
int tri_job_reuse_poses(job *j, const pose_model *m, int c, char *path, size_t n, vas_err *e)
{
    store_analysis a = {.n_inputs = 1};
    json_t *result = NULL;
    const char *csv;
    int rc;

    if (!m) /* the 3D model names no 2D model for this camera */
        return VAS_ENOTFOUND;
    snprintf(a.name, sizeof(a.name), "video");
    snprintf(a.inputs[0], sizeof(a.inputs[0]), "%s", j->a->inputs[c]);
    a.args = json_object();
    analysis_cache_key(&a, m->fingerprint, a.cache_key);
    json_decref(a.args);
    rc = a.cache_key[0] ? store_analysis_cached(j->st, a.cache_key, &result, e) : VAS_ENOTFOUND;
    if (rc < 0)
        return rc;
    csv = json_string_value(json_object_get(result, "csv_file"));
    if (csv)
        store_file_path(j->st, csv, path, n);
    json_decref(result);
    return csv ? VAS_OK : VAS_ENOTFOUND;
}

static int progress(void *arg, int64_t done, int64_t total, vas_err *e)
{
    job *j = arg;

    return job_progress(j, done, total, j->a->unit, e);
}

/* "<dir>/<DeepLabCut's 3D name from camera 1's upload name>" into prefix. */
static int out_prefix(job *j, const geom_model3d *m, const char *dir, char *prefix, size_t n,
                      vas_err *e)
{
    store_file f;
    vas_err fe = {0};
    char *name = NULL;
    int rc;

    if (store_file_find(j->st, j->a->inputs[0], &f, &fe) < 0)
        snprintf(f.filename, sizeof(f.filename), "%s", j->a->inputs[0]);
    for (char *p = f.filename; *p; p++)
        if (*p == '/')
            *p = '_';
    rc = dlc_name_3d(f.filename, geom_model3d_camera(m, 0), m->scorername_3d, &name, e);
    if (rc == VAS_OK)
        snprintf(prefix, n, "%s/%s", dir, name);
    free(name);
    return rc;
}

static void put_result(job *j, const geom_models3d_item *it, const tri_out *out, int reused)
{
    json_t *r = job_result(j), *cams = json_array();

    for (int c = 0; c < it->model->n_cameras; c++)
        json_array_append_new(cams, json_string(geom_model3d_camera(it->model, c)));
    json_object_update_new(r, json_pack("{s:I, s:o, s:s, s:f, s:i, s:i}", "frames",
                                        (json_int_t)out->frames, "cameras", cams, "model",
                                        it->model->name, "seconds", out->seconds, "videos_analysed",
                                        out->n_videos, "poses_reused", reused));
    if (out->note[0])
        json_object_set_new(r, "note", json_string(out->note));
}

/* filtered=1: a camera's poses through `filter` (the job's filter arguments), in place, as
 * DeepLabCut's triangulate(filterpredictions=True) does. */
static int filter_camera(void *arg, dlc_table *t, vas_err *e)
{
    pose_filter_opts o;

    analysis_filter_opts(job_args((job *)arg), &o);
    return pose_filter_table(t, &o, e);
}

int tri_job_start(job *j, const geom_models3d_item **it, tri_run_opts *o, char *dir, size_t nd,
                  char *prefix, size_t np, vas_err *e)
{
    const json_t *batch = json_object_get(job_args(j), "batch");
    const geom_models3d_item *m = geom_models3d_find(j->env->models3d, j->a->model);
    int rc;

    if (!m)
        return err_set(e, VAS_EINVAL, "3D model '%s' is not loaded on this worker", j->a->model);
    if (j->a->n_inputs != m->model->n_cameras)
        return err_set(e, VAS_EINVAL, "model %s has %d cameras; got %d files", m->model->name,
                       m->model->n_cameras, j->a->n_inputs);
    rc = job_tmp_dir(j, dir, nd, e);
    if (rc == VAS_OK)
        rc = out_prefix(j, m->model, dir, prefix, np, e);
    *it = m;
    *o = (tri_run_opts){.progress = progress, .arg = j, .tmp_dir = dir};
    o->pose.batch = batch ? (int)json_integer_value(batch) : 0;
    o->pose.progress = progress;
    o->pose.arg = j;
    o->pose.lim = pose_job_limits(j);
    o->pose.nets = j->env->nets; /* this worker's warm networks: the cameras run one at a time */
    tri_opts(job_args(j), o);
    if (analysis_filtered_on(job_args(j))) {
        o->filter = filter_camera;
        o->filter_arg = j;
    }
    return rc;
}

static int tri_job(job *j, vas_err *e)
{
    const geom_models3d_item *it = NULL;
    tri_run_opts o = {0};
    tri_out out = {0};
    char dir[PATH_LEN], prefix[PATH_LEN + 512], paths[GEOM_MAX_CAMERAS][PATH_LEN];
    const char *inputs[GEOM_MAX_CAMERAS];
    int reused = 0, rc = tri_job_start(j, &it, &o, dir, sizeof(dir), prefix, sizeof(prefix), e);

    for (int c = 0; rc == VAS_OK && c < it->model->n_cameras; c++) {
        rc = tri_job_reuse_poses(j, it->cam[c], c, paths[c], sizeof(paths[c]), e);
        reused += rc == VAS_OK;
        if (rc == VAS_ENOTFOUND)
            job_input_path(j, c, paths[c], sizeof(paths[c]));
        rc = rc == VAS_ENOTFOUND ? VAS_OK : rc;
        inputs[c] = paths[c];
    }
    if (rc == VAS_OK)
        rc = tri_run(it, inputs, prefix, &o, &out, e);
    if (rc == VAS_OK)
        rc = pose_job_store_tables(j, out.csv, out.h5, out.json, e);
    if (rc == VAS_OK)
        put_result(j, it, &out, reused);
    tri_out_clear(&out);
    return rc;
}

const analysis_def analysis_triangulate = {
    "triangulate",    ANALYSIS_MODEL_3D, "frames",      1,
    GEOM_MAX_CAMERAS, tri_args,          tri_job_check, tri_job};
