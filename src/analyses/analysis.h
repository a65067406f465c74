/* analysis.h - the registry of analyses: name -> argument check (HTTP thread) and job body
 * (worker process). One file per analysis (sleep.c, ...); this file pair owns the table.
 * Not: queueing (queue/), HTTP (http/). Threads: the table is constant; check functions run on
 * HTTP threads, run functions in worker processes. */
#ifndef VAS_ANALYSIS_H
#define VAS_ANALYSIS_H

#include "core/config.h"
#include "core/err.h"
#include "geom/geom_models3d.h"
#include "pose/pose_filter.h"
#include "pose/pose_model.h"

#include <jansson.h>

typedef struct job job;             /* queue/job.h */
typedef struct net_cache net_cache; /* net_cache.h */

/* What checks and jobs may read: the configuration and the models (both borrowed, immutable),
 * and what a worker keeps for its jobs (nets). */
typedef struct analysis_env {
    const config *cfg;
    const pose_models *models;
    const geom_models3d *models3d; /* the 3D models (triangulate); may be NULL */
    net_cache *nets; /* a worker process's warm networks (net_cache.h: jobs take and give back,
                        on the job's thread); NULL: none (HTTP checks, vas analyze) */
} analysis_env;

#define ANALYSIS_MODEL_2D 1 /* needs_model: `model` names a 2D model */
#define ANALYSIS_MODEL_3D 2 /* needs_model: `model` names a 3D model (geom_models3d.h) */

typedef struct analysis_def {
    const char *name;             /* as clients send it (matched ignoring case and -/_) */
    int needs_model;              /* 0, ANALYSIS_MODEL_2D or ANALYSIS_MODEL_3D */
    const char *unit;             /* of its progress: "frames", "images", "ms" */
    int min_inputs, max_inputs;   /* file_id, file2_id, ... */
    const char *const *arg_names; /* NULL-terminated: fields the analysis takes */
    /* Threads: HTTP. Checks the request's fields (a JSON object; values strings or numbers) and
     * puts the normalised arguments into args (borrowed). Bad values: VAS_EINVAL, one sentence. */
    int (*check)(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e);
    /* Threads: the worker process's main thread. Runs the job; outputs via job.h. */
    int (*run)(job *j, vas_err *e);
} analysis_def;

/* The analysis called name, or NULL. */
const analysis_def *analysis_lookup(const char *name);
/* The i-th analysis clients see (0, 1, ...), NULL past the last. */
const analysis_def *analysis_at(int i);
/* GET /analysis/types: every analysis with its model kind, inputs, unit, description and
 * arguments (each with type, default, range; types.c). *out is the caller's. Threads: any. */
int analysis_types_json(json_t **out, vas_err *e);
/* "sleep, video, ..." into buf. */
void analysis_names(char *buf, size_t n);
/* The model check shared by the model analyses: `model` must name a loaded model (400 listing
 * the known ones otherwise). The model in *out (borrowed from env->models). */
int analysis_check_model(const analysis_env *env, const char *analysis, const char *model,
                         const pose_model **out, vas_err *e);

/* The same for analyses on a 3D model: `model` must name a loaded 3D model (400 saying so, listing
 * the 3D models, when it names a 2D one or none). *out borrowed from env->models3d. */
int analysis_check_model3d(const analysis_env *env, const char *analysis, const char *model,
                           const geom_models3d_item **out, vas_err *e);

/* The key of identical work: SHA-1 (hex, STORE_ID_LEN) over a's name, inputs and args and the
 * model's fingerprint (pose_model.fingerprint); "" if it could not be made. A request whose key
 * matches a finished analysis is answered with its result (cache_key.c). */
typedef struct store_analysis store_analysis;
void analysis_cache_key(const store_analysis *a, const char *model_sha1, char out[41]);

/* The analyses, defined in their own files. */
extern const analysis_def analysis_sleep;
extern const analysis_def analysis_video;       /* video.c */
extern const analysis_def analysis_image;       /* video.c */
extern const analysis_def analysis_label;       /* label.c */
extern const analysis_def analysis_label_image; /* label.c */
extern const analysis_def analysis_triangulate; /* triangulate.c */
extern const analysis_def analysis_label_3d;    /* label3d.c */
extern const analysis_def analysis_filter;      /* filter.c */
/* The arguments every pose analysis takes (force, batch): video.c. */
int analysis_check_pose_args(const analysis_env *env, const json_t *fields, json_t *args,
                             vas_err *e);
/* DeepLabCut's filterpredictions arguments (filter.c), for `filter` and any analysis that
 * filters poses: filtertype, windowlength, p_bound, ARdegree, MAdegree (each optional, DeepLabCut's
 * defaults), checked (400 naming the bad value) and put into args as {"filtertype",
 * "windowlength"}, plus {"p_bound", "ARdegree", "MAdegree"} for arima. Threads: HTTP. */
int analysis_check_filter_args(const json_t *fields, json_t *args, vas_err *e);
/* The filter options in a job's args (as analysis_check_filter_args left them; defaults for
 * what is absent). */
void analysis_filter_opts(const json_t *args, pose_filter_opts *o);
/* Filters the pose file at poses (borrowed; CSV or HDF5) with j's filter args into j's temp
 * folder: "<tmp>/<name>_filtered.csv" and ".h5" (name: DeepLabCut's "<video stem><scorer>"), the
 * paths into *out (zeroed by the caller; pose_filter_out_clear). Threads: the worker's main
 * thread. */
int analysis_filter_poses(job *j, const char *poses, const char *name, pose_filter_out *out,
                          vas_err *e);
#ifdef VAS_TEST_BUILD
extern const analysis_def analysis_crash; /* test builds only: a job that segfaults */
#endif

#endif
