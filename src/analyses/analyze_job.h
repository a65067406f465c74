/* analyze_job.h - `vas analyze` for any analysis POST /analysis offers: the input files adopted
 * (not copied) into a store that lives for the run (a hidden folder beside the first input),
 * the fields checked as POST /analysis checks them, the job body run as a worker runs it, and
 * each output written beside the first input under the name the job gives it.
 * Owns: the run's store and folder (removed at the end). Threads: the caller's. */
#ifndef VAS_ANALYZE_JOB_H
#define VAS_ANALYZE_JOB_H

#include "core/config.h"

#include <jansson.h>
#include <stdint.h>

typedef struct analyze_job_opts {
    const char *analysis; /* a registered name (analysis_lookup) */
    const char *model;    /* NULL for analyses without one */
    const json_t *fields; /* the analysis's own fields, string values (borrowed) */
    /* Progress as the job reports it (may be NULL). */
    void (*progress)(void *arg, int64_t done, int64_t total, const char *unit);
    void *arg;
    const volatile int *stop; /* set (by a signal handler) to cancel the job; may be NULL */
} analyze_job_opts;

/* Runs o->analysis on files[0..n) (file_id, file2_id, ...). Each output's path is printed on
 * stdout as it is written. VAS_EINVAL for bad fields, with the same sentence POST /analysis
 * gives; the job's own error otherwise. */
int analyze_job_run(const config *cfg, const analyze_job_opts *o, char **files, int n, vas_err *e);

#endif
