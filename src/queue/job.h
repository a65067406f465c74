/* job.h - what an analysis's job body sees while it runs in a worker process: its arguments and
 * inputs, progress/cancel, and where outputs go. Owns nothing of the analysis itself.
 * Threads: the worker's main thread only. */
#ifndef VAS_JOB_H
#define VAS_JOB_H

#include "analyses/analysis.h"
#include "core/config.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

struct job {
    store *st;               /* borrowed: the worker's own connection */
    const analysis_env *env; /* borrowed: config and models */
    store_analysis *a;       /* borrowed: the claimed row */
    json_t *result;          /* owned: the result object the job fills */
    int64_t last_progress;   /* monotonic ms of the last progress write */
};
typedef struct job job;

/* The analysis's normalised arguments (borrowed). */
const json_t *job_args(const job *j);
/* Path of input i (0 = file_id) into out. */
void job_input_path(const job *j, int i, char *out, size_t n);
/* Reports progress (the first report, then at most one every 200 ms). Returns
 * VAS_ECANCELLED once the analysis was cancelled: the job must stop and return that code. */
int job_progress(job *j, int64_t done, int64_t total, const char *unit, vas_err *e);
/* Stores bytes as an output file; its id into id_out (STORE_ID_LEN + 1). */
int job_output(job *j, const void *p, size_t n, const char *filename, const char *ctype,
               char *id_out, vas_err *e);
/* Streams the file at path (borrowed) into the store as an output; its id into id_out. */
int job_output_file(job *j, const char *path, const char *filename, const char *ctype, char *id_out,
                    vas_err *e);
/* A new empty folder for the job's temporary files, <data>/tmp/<analysis id>, into out[n].
 * The worker removes it, whatever is left in it, when the job ends. */
int job_tmp_dir(job *j, char *out, size_t n, vas_err *e);
/* The result object (borrowed; add keys to it). */
json_t *job_result(job *j);

#endif
