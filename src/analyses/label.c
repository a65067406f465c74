/* label.c - the `label` and `label-image` analyses: a labeled video (or labeled images) of an
 * upload with a model, plus the pose files and the plots (label_run.h does the work).
 * `label` reuses the poses of a finished `video` analysis of the same file and network when
 * there is one (its files are then the result's csv/h5/json) instead of running the network.
 * `label` takes create_labeled_video's drawing options (label_opts.h); every frame of the labeled
 * video keeps its input timestamp and time base unless `outputframerate` is given.
 * `filtered=1` filters the poses first, as DeepLabCut's create_labeled_video(filtered=True).
 * Result: {"labeled_video", "csv_file", "h5_file", "json_file", "plot_*", "frames",
 * "labeled_frames", "fps", "scorer", "model", "seconds", "poses_reused"} (filtered=1 adds
 * "filtered_csv_file", "filtered_h5_file"); label-image:
 * {"labeled_image"} for one image, or
 * {"labeled_images": [...], "archive"} for an archive, plus the pose files. */
#include "analyses/analysis.h"
#include "analyses/filtered.h"
#include "analyses/label_run.h"
#include "analyses/pose_job.h"
#include "queue/job.h"

#include <stdio.h>
#include <string.h>

static const char *const label_args[] = {"force",
                                         "batch",
                                         "snapshot",
                                         "displayedbodyparts",
                                         "draw_skeleton",
                                         "trailpoints",
                                         "keypoints_only",
                                         "pcutoff",
                                         "dotsize",
                                         "alphavalue",
                                         "colormap",
                                         "color_by",
                                         "start",
                                         "end",
                                         "outputframerate",
                                         "confidence_to_alpha",
                                         "filtered",
                                         "filtertype",
                                         "windowlength",
                                         "p_bound",
                                         "ARdegree",
                                         "MAdegree",
                                         NULL};
static const char *const label_image_args[] = {"force", "batch", "snapshot", NULL};

/* The pose arguments, then the drawing options (label_opts.h) against the named model when this
 * server has it loaded. */
static int label_check(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e)
{
    const char *name = json_string_value(json_object_get(fields, "model"));
    const pose_model *m = name && env && env->models ? pose_models_find(env->models, name) : NULL;
    int rc = analysis_check_pose_args(env, fields, args, e);

    if (rc == VAS_OK)
        rc = label_opts_check(m, fields, args, e);
    return rc < 0 ? rc : analysis_check_filtered(fields, args, e);
}

/* The DeepLabCut CSV of a finished `video` analysis of input 0 with m's network, into path;
 * its result (new) into *result. VAS_ENOTFOUND when there is none. */
static int find_poses(job *j, const pose_model *m, char *path, size_t n, json_t **result,
                      vas_err *e)
{
    store_analysis a = {.n_inputs = 1};
    const char *csv;
    int rc;

    snprintf(a.name, sizeof(a.name), "video");
    snprintf(a.inputs[0], sizeof(a.inputs[0]), "%s", j->a->inputs[0]);
    a.args = json_object();
    if (json_object_get(job_args(j), "snapshot")) /* a video analysis of the same snapshot */
        json_object_set(a.args, "snapshot", json_object_get(job_args(j), "snapshot"));
    analysis_cache_key(&a, m->fingerprint, a.cache_key);
    json_decref(a.args);
    if (!a.cache_key[0])
        return VAS_ENOTFOUND;
    rc = store_analysis_cached(j->st, a.cache_key, result, e);
    if (rc < 0)
        return rc;
    csv = json_string_value(json_object_get(*result, "csv_file"));
    if (!csv) {
        json_decref(*result);
        *result = NULL;
        return VAS_ENOTFOUND;
    }
    store_file_path(j->st, csv, path, n);
    return VAS_OK;
}

/* The tables of the finished `video` analysis prev as this result's. */
static void reuse_tables(job *j, const json_t *prev)
{
    const char *keys[] = {"csv_file", "h5_file", "json_file"};

    for (int i = 0; i < 3; i++)
        json_object_set(job_result(j), keys[i], json_object_get(prev, keys[i]));
}

/* filtered=1: the poses (given, from a finished `video` analysis, or analysed now and kept as the
 * result's tables), filtered as `filter` does into <name>_filtered.csv/.h5 (filtered_csv_file,
 * filtered_h5_file), then drawn: <name>_filtered_labeled.mp4 and <name>_filtered_<plot>.png, as
 * DeepLabCut names what create_labeled_video(filtered=True) and plot_trajectories make. */
static int label_filtered(job *j, const pose_model *m, const pose_run_opts *o, const label_opts *lo,
                          const char *prefix, const char *input, const char *given, label_out *out,
                          vas_err *e)
{
    pose_video_out pv = {0};
    pose_filter_out fo = {0};
    const char *name = strrchr(prefix, '/') ? strrchr(prefix, '/') + 1 : prefix;
    char prefix2[4700];
    int rc = VAS_OK;

    if (!given) {
        rc = pose_run_video(m, input, prefix, o, &pv, e);
        if (rc == VAS_OK)
            rc = pose_job_store_tables(j, pv.csv, pv.h5, pv.json, e);
        given = pv.csv;
    }
    if (rc == VAS_OK)
        rc = analysis_filter_poses(j, given, name, &fo, e);
    if (rc == VAS_OK)
        rc = pose_job_store(j, "filtered_csv_file", fo.csv, "text/csv", e);
    if (rc == VAS_OK)
        rc = pose_job_store(j, "filtered_h5_file", fo.h5, "application/x-hdf5", e);
    snprintf(prefix2, sizeof(prefix2), "%s_filtered", prefix);
    if (rc == VAS_OK)
        rc = label_run_video_opts(m, input, fo.csv, prefix2, o, lo, out, e);
    pose_filter_out_clear(&fo);
    pose_video_out_clear(&pv);
    return rc;
}

static int label_run_job(job *j, vas_err *e)
{
    const pose_model *m = NULL;
    pose_model *own = NULL;
    pose_run_opts o;
    label_out out = {0};
    label_opts lo;
    json_t *prev = NULL;
    char prefix[4600], input[4096], poses[4096];
    vas_err fe = {0};
    int rc = pose_job_start(j, &m, &own, &o, prefix, sizeof(prefix), input, sizeof(input), e);

    if (rc < 0)
        return rc;
    rc = label_opts_from_args(m, job_args(j), &lo, e);
    if (rc < 0) {
        pose_model_free(own);
        return rc;
    }
    rc = find_poses(j, m, poses, sizeof(poses), &prev, &fe);
    if (rc < 0 && rc != VAS_ENOTFOUND) {
        json_decref(prev);
        pose_model_free(own);
        return err_set(e, rc, "%s", fe.msg);
    }
    if (analysis_filtered_on(job_args(j))) {
        rc = label_filtered(j, m, &o, &lo, prefix, input, prev ? poses : NULL, &out, e);
        if (rc == VAS_OK && prev)
            reuse_tables(j, prev);
        goto done;
    }
    rc = label_run_video_opts(m, input, prev ? poses : NULL, prefix, &o, &lo, &out, e);
    if (rc == VAS_OK && prev) {
        reuse_tables(j, prev);
    } else if (rc == VAS_OK) {
        rc = pose_job_store_tables(j, out.pose.csv, out.pose.h5, out.pose.json, e);
    }
done:
    if (rc == VAS_OK)
        rc = pose_job_store(j, "labeled_video", out.video, "video/mp4", e);
    for (int i = 0; i < POSE_PLOTS_N && rc == VAS_OK; i++)
        rc = pose_job_store(j, pose_plots_keys[i], out.plots[i], "image/png", e);
    if (rc == VAS_OK) {
        pose_job_result(j, m, &out.pose);
        json_object_set_new(job_result(j), "poses_reused", json_boolean(prev != NULL));
        json_object_set_new(job_result(j), "labeled_frames",
                            json_integer((json_int_t)out.labeled_frames));
    }
    json_decref(prev);
    label_out_clear(&out);
    pose_model_free(own);
    return rc;
}

static int label_image_job(job *j, vas_err *e)
{
    const pose_model *m = NULL;
    pose_model *own = NULL;
    pose_run_opts o;
    label_out out = {0};
    char prefix[4600], input[4096], id[STORE_ID_LEN + 1];
    int rc = pose_job_start(j, &m, &own, &o, prefix, sizeof(prefix), input, sizeof(input), e);

    if (rc < 0)
        return rc;
    rc = label_run_images(m, input, prefix, &o, &out, e);
    if (rc == VAS_OK)
        rc = pose_job_store_tables(j, out.pose.csv, out.pose.h5, out.pose.json, e);
    if (rc == VAS_OK && !out.archive) {
        rc = pose_job_store(j, "labeled_image", out.images[0], "image/png", e);
    } else if (rc == VAS_OK) {
        json_t *ids = json_array();
        json_object_set_new(job_result(j), "labeled_images", ids);
        for (int i = 0; i < out.n_images && rc == VAS_OK; i++) {
            const char *name = strrchr(out.images[i], '/') + 1;
            rc = job_output_file(j, out.images[i], name, "image/png", id, e);
            if (rc == VAS_OK)
                json_array_append_new(ids, json_string(id));
        }
        if (rc == VAS_OK)
            rc = pose_job_store(j, "archive", out.archive, "application/zip", e);
    }
    if (rc == VAS_OK) {
        pose_job_result(j, m, &out.pose);
        json_object_set_new(job_result(j), "images", json_integer((json_int_t)out.pose.frames));
    }
    label_out_clear(&out);
    pose_model_free(own);
    return rc;
}

const analysis_def analysis_label = {"label", 1,          "frames",    1,
                                     1,       label_args, label_check, label_run_job};
const analysis_def analysis_label_image = {
    "label-image", 1, "images", 1, 1, label_image_args, analysis_check_pose_args, label_image_job};
