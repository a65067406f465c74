/* label3d.c - the `label_3d` analysis (issue 7): one take filmed by the cameras of a 3D model,
 * file_id .. fileN_id one VIDEO per camera in camera_names order, drawn as one video: each
 * camera's labeled frame side by side and the 3D view of the triangulated skeleton
 * (label3d_run.h does the work and documents the layout). A camera's 2D poses come from a
 * finished `video` analysis of its file with the camera's 2D model when there is one, else the
 * network runs now, as for `triangulate`.
 * Result: {"labeled_video_3d", "csv_file", "h5_file", "json_file" (the triangulation, as
 * `triangulate` gives it), "frames", "fps", "width", "height", "cameras": [names], "model",
 * "seconds", "videos_analysed", "poses_reused"} plus "note" when the inputs differ in length.
 * Progress in frames: the 2D poses' and triangulation's first, then the frames drawn. */
#include "analyses/analysis.h"
#include "analyses/label3d_run.h"
#include "analyses/pose_job.h"
#include "analyses/tri_job.h"
#include "queue/job.h"

#include <stdio.h>
#include <string.h>

#define PATH_LEN 4096

static const char *const label3d_args[] = {"force", "batch", NULL};

static void put_result(job *j, const geom_models3d_item *it, const label3d_out *out, int reused)
{
    json_t *r = job_result(j), *cams = json_array();

    for (int c = 0; c < it->model->n_cameras; c++)
        json_array_append_new(cams, json_string(geom_model3d_camera(it->model, c)));
    json_object_update_new(r, json_pack("{s:I, s:f, s:i, s:i, s:o, s:s, s:f, s:i, s:i}", "frames",
                                        (json_int_t)out->frames, "fps", out->fps, "width",
                                        out->width, "height", out->height, "cameras", cams, "model",
                                        it->model->name, "seconds", out->seconds, "videos_analysed",
                                        out->tri.n_videos, "poses_reused", reused));
    if (out->tri.note[0])
        json_object_set_new(r, "note", json_string(out->tri.note));
}

static int store_outputs(job *j, const label3d_out *out, vas_err *e)
{
    int rc = pose_job_store(j, "labeled_video_3d", out->video, "video/mp4", e);

    return rc < 0 ? rc : pose_job_store_tables(j, out->tri.csv, out->tri.h5, out->tri.json, e);
}

static int label3d_job(job *j, vas_err *e)
{
    const geom_models3d_item *it = NULL;
    label3d_opts o = {0};
    label3d_out out = {0};
    char dir[PATH_LEN], prefix[PATH_LEN + 512];
    char videos[GEOM_MAX_CAMERAS][PATH_LEN], poses[GEOM_MAX_CAMERAS][PATH_LEN];
    const char *vp[GEOM_MAX_CAMERAS], *pp[GEOM_MAX_CAMERAS];
    int reused = 0, rc = tri_job_start(j, &it, &o.tri, dir, sizeof(dir), prefix, sizeof(prefix), e);

    for (int c = 0; rc == VAS_OK && c < it->model->n_cameras; c++) {
        job_input_path(j, c, videos[c], sizeof(videos[c]));
        vp[c] = videos[c];
        rc = tri_job_reuse_poses(j, it->cam[c], c, poses[c], sizeof(poses[c]), e);
        reused += rc == VAS_OK;
        pp[c] = rc == VAS_OK ? poses[c] : NULL;
        rc = rc == VAS_ENOTFOUND ? VAS_OK : rc;
    }
    o.progress = o.tri.progress; /* frames drawn, reported as the rest are */
    o.arg = j;
    if (rc == VAS_OK)
        rc = label3d_run(it, vp, pp, prefix, &o, &out, e);
    if (rc == VAS_OK)
        rc = store_outputs(j, &out, e);
    if (rc == VAS_OK)
        put_result(j, it, &out, reused);
    label3d_out_clear(&out);
    return rc;
}

const analysis_def analysis_label_3d = {
    "label_3d",       ANALYSIS_MODEL_3D, "frames",      1,
    GEOM_MAX_CAMERAS, label3d_args,      tri_job_check, label3d_job};
