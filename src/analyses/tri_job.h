/* tri_job.h - what the jobs on a 3D model (triangulate, label_3d) share: the check of their
 * files (one per camera), the 2D poses of a finished `video` analysis, and DeepLabCut's 3D
 * output name. Defined in triangulate.c. Threads: tri_job_check on HTTP threads, the rest on
 * the worker's main thread. */
#ifndef VAS_TRI_JOB_H
#define VAS_TRI_JOB_H

#include "analyses/analysis.h"
#include "analyses/tri_run.h"
#include "queue/job.h"

#include <stddef.h>

/* analysis_def.check of the 3D analyses: force and batch as the pose analyses take them, and
 * exactly one file per camera of the 3D model (400 naming the cameras otherwise). */
int tri_job_check(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e);
/* The CSV of a finished `video` analysis of input c with the 2D model m into path[n].
 * VAS_ENOTFOUND when there is none. */
int tri_job_reuse_poses(job *j, const pose_model *m, int c, char *path, size_t n, vas_err *e);
/* The start of a 3D job: its model in *it (borrowed; its camera count must match the inputs), a
 * new temp folder in dir[nd], the output prefix "<dir>/<DeepLabCut's 3D name from camera 1's
 * upload name>" in prefix[np], and o: progress to the job (2D poses and triangulation), the
 * batch argument, tmp_dir = dir. */
int tri_job_start(job *j, const geom_models3d_item **it, tri_run_opts *o, char *dir, size_t nd,
                  char *prefix, size_t np, vas_err *e);

#endif
