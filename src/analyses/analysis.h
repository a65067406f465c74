/* analysis.h - the registry of analyses: name -> argument check (HTTP thread) and job body
 * (worker process). One file per analysis (sleep.c, ...); this file pair owns the table.
 * Not: queueing (queue/), HTTP (http/). Threads: the table is constant; check functions run on
 * HTTP threads, run functions in worker processes. */
#ifndef VAS_ANALYSIS_H
#define VAS_ANALYSIS_H

#include "core/config.h"
#include "core/err.h"

#include <jansson.h>

typedef struct job job; /* queue/job.h */

typedef struct analysis_def {
    const char *name; /* as clients send it (matched ignoring case and -/_) */
    int needs_model;
    int min_inputs, max_inputs;   /* file_id, file2_id, ... */
    const char *const *arg_names; /* NULL-terminated: fields the analysis takes */
    /* Threads: HTTP. Checks the request's fields (a JSON object; values strings or numbers) and
     * puts the normalised arguments into args (borrowed). Bad values: VAS_EINVAL, one sentence. */
    int (*check)(const config *cfg, const json_t *fields, json_t *args, vas_err *e);
    /* Threads: the worker process's main thread. Runs the job; outputs via job.h. */
    int (*run)(job *j, vas_err *e);
} analysis_def;

/* The analysis called name, or NULL. */
const analysis_def *analysis_lookup(const char *name);
/* "sleep, video, ..." into buf. */
void analysis_names(char *buf, size_t n);
/* Names of the models in cfg->models_dir, "a, b" or "none", into buf. */
void analysis_model_names(const config *cfg, char *buf, size_t n);
/* The check shared by the model analyses until models land: a clear 400. */
int analysis_check_model(const config *cfg, const char *analysis, const char *model, vas_err *e);

/* The analyses, defined in their own files. */
extern const analysis_def analysis_sleep;
extern const analysis_def analysis_model_defs[]; /* video, image, label, ... (model.c) */
extern const int analysis_n_model_defs;
#ifdef VAS_TEST_BUILD
extern const analysis_def analysis_crash; /* test builds only: a job that segfaults */
#endif

#endif
