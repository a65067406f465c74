/* model.c - the model check every 2D model analysis shares. (An analysis_def with run = NULL is
 * answered 400 "not available" at once, so no job is queued that could not run; none is left.) */
#include "analyses/analysis.h"

#include <stdio.h>

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
