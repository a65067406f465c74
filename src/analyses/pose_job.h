/* pose_job.h - what the jobs of the pose analyses (video, image, label, label-image) share:
 * finding the model and the input, naming outputs as DeepLabCut does (<upload stem><scorer>),
 * storing output files and the common result fields. Defined in video.c.
 * Threads: the worker's main thread. */
#ifndef VAS_POSE_JOB_H
#define VAS_POSE_JOB_H

#include "analyses/pose_run.h"
#include "queue/job.h"

#include <stddef.h>

/* The job's model (*m, borrowed; with a `snapshot` argument, that snapshot's model, new in *own
 * that the caller frees with pose_model_free; NULL without one, and on error), run options from
 * its arguments (progress to the job; o->name = the upload's name, borrowed from a static buffer
 * valid until the next call), the output prefix "<tmp dir>/<upload stem><scorer>" and input 0's
 * path. */
int pose_job_start(job *j, const pose_model **m, pose_model **own, pose_run_opts *o, char *prefix,
                   size_t np, char *input, size_t ni, vas_err *e);
/* The media limits of the service's configuration (LIMIT_* keys), for pose_run_opts.lim and
 * the media options of jobs that open inputs themselves. */
media_limits pose_job_limits(const job *j);
/* The same from the limits themselves (jobs, and callers with no job: the fuzz targets). */
media_limits pose_media_limits(const config_limits *l);
/* Stores a run's three tables (DeepLabCut's CSV and HDF5, vas's JSON) as csv_file, h5_file,
 * json_file. */
int pose_job_store_tables(job *j, const char *csv, const char *h5, const char *json, vas_err *e);
/* Stores the file at path (its base name kept) as an output; its id under key in the result. */
int pose_job_store(job *j, const char *key, const char *path, const char *ctype, vas_err *e);
/* frames, fps, scorer, model, seconds (and note, when there is one) into the result. */
void pose_job_result(job *j, const pose_model *m, const pose_video_out *out);

#endif
