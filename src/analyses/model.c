/* model.c - the analyses that need a pose model and whose job bodies are not built yet
 * (label_3d: issue 7), and the model check every model
 * analysis shares. A request for an analysis this build cannot run is answered 400 at once, naming
 * what is missing: no job is queued that could not run. */
#include "analyses/analysis.h"

#include <stdio.h>

static const char *const model_args[] = {NULL};

int analysis_check_model(const analysis_env *env, const char *analysis, const char *model,
                         const pose_model **out, vas_err *e)
{
    char known[1024];
    const pose_model *m = model && *model ? pose_models_find(env->models, model) : NULL;

    if (m) {
        if (out)
            *out = m;
        return VAS_OK;
    }
    pose_models_names(env->models, known, sizeof(known));
    if (!model || !*model)
        return err_set(e, VAS_EINVAL, "analysis '%s' needs a model; known models: %s", analysis,
                       known);
    return err_set(e, VAS_EINVAL, "unknown model '%.100s'; known models: %s", model, known);
}

#define MODEL_DEF(n, u, lo, hi)                                                                    \
    {                                                                                              \
        n, 1, u, lo, hi, model_args, NULL, NULL                                                    \
    }

const analysis_def analysis_model_defs[] = {
    MODEL_DEF("label_3d", "frames", 1, 16),
};
const int analysis_n_model_defs = sizeof(analysis_model_defs) / sizeof(analysis_model_defs[0]);
