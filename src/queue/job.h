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

/* Where a job runs remotely (`vas worker --redis`, rq_worker_job.c): the job body is the same,
 * its inputs live in the worker's own store (a cache), and these hooks carry progress, cancel
 * and outputs to the server. NULL in struct job for the embedded worker. */
typedef struct job_remote {
    /* Reports progress (already rate-limited by job_progress) and checks for a cancel:
     * VAS_ECANCELLED when the analysis was cancelled. */
    int (*progress)(void *arg, int64_t done, int64_t total, const char *unit, vas_err *e);
    /* Sends an output straight to the server (the bytes p[0..n), or the file at path when path
     * is not NULL; all borrowed), named filename with content type ctype; its id (SHA-1) into
     * id_out (STORE_ID_LEN + 1). */
    int (*output)(void *arg, const void *p, size_t n, const char *path, const char *filename,
                  const char *ctype, char *id_out, vas_err *e);
} job_remote;

struct job {
    store *st;                /* borrowed: the worker's own connection */
    const analysis_env *env;  /* borrowed: config and models */
    store_analysis *a;        /* borrowed: the claimed row */
    json_t *result;           /* owned: the result object the job fills */
    int64_t last_progress;    /* monotonic ms of the last progress write */
    const job_remote *remote; /* borrowed: NULL (embedded: the store is the catalog) or hooks */
    void *remote_arg;         /* borrowed: the hooks' argument */
};
typedef struct job job;

/* The analysis's normalised arguments (borrowed). */
const json_t *job_args(const job *j);
/* Path of input i (0 = file_id) into out. */
void job_input_path(const job *j, int i, char *out, size_t n);
/* Reports progress (the first report, then at most one every 200 ms; a remote job's hook keeps
 * its own pace).
 * Returns VAS_ECANCELLED once the analysis was cancelled: the job must stop and return that code.
 */
int job_progress(job *j, int64_t done, int64_t total, const char *unit, vas_err *e);
/* Stores bytes as an output file; its id into id_out (STORE_ID_LEN + 1). A remote job's output
 * goes to the server instead (job_remote.output) before this returns. */
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

/* Runs j->a's job body in j (set up by the caller: store, env, row, a new result object; remote
 * hooks or NULL), then removes its temp folder. A failure's sentence in *e says what went wrong
 * (a full disk and LIMIT_WORKER_MEMORY named). The end state is the caller's to record. */
int job_run(job *j, vas_err *e);

/* A failed job's sentence in *e names its inputs as they were uploaded ('mouse.mp4') instead of
 * by their blob paths (job_msg.c); rc is the job's code (nothing to do on success or cancel). */
void job_name_inputs(job *j, int rc, vas_err *e);

/* LIMIT_WORKER_MEMORY as the calling process's RLIMIT_AS (soft); logged, never applied under
 * AddressSanitizer. Called once by a worker process before it runs jobs. */
void job_limit_memory(const config *cfg);
/* Why a worker process ended (waitpid status) while running a job, as the job's description
 * into out[n] ("died from signal N (...)", the memory limit named when it may be the cause). */
void job_describe_exit(const config *cfg, int status, char *out, size_t n);

#endif
