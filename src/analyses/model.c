/* model.c - the analyses that need a pose model (video, image, label, label-image, triangulate,
 * label_3d). Their HTTP checks are real; their job bodies arrive with the model capability
 * (issues 5-7). Until then a request names the missing piece and gets 400: no job is queued
 * that could not run. */
#include "analyses/analysis.h"

#include <stdio.h>

static const char *const model_args[] = {NULL};

int analysis_check_model(const config *cfg, const char *analysis, const char *model, vas_err *e)
{
    char known[1024];

    analysis_model_names(cfg, known, sizeof(known));
    if (!model || !*model)
        return err_set(e, VAS_EINVAL, "analysis '%s' needs a model; known models: %s", analysis,
                       known);
    return err_set(e, VAS_EINVAL,
                   "unknown model '%s' for analysis '%s' (this build runs no models yet); known "
                   "models: %s",
                   model, analysis, known);
}

#define MODEL_DEF(n, lo, hi)                                                                       \
    {                                                                                              \
        n, 1, lo, hi, model_args, NULL, NULL                                                       \
    }

const analysis_def analysis_model_defs[] = {
    MODEL_DEF("video", 1, 1),       MODEL_DEF("image", 1, 1),        MODEL_DEF("label", 1, 1),
    MODEL_DEF("label-image", 1, 1), MODEL_DEF("triangulate", 2, 16), MODEL_DEF("label_3d", 1, 16),
};
const int analysis_n_model_defs = sizeof(analysis_model_defs) / sizeof(analysis_model_defs[0]);
