/* fuzz_dlc_project - a DeepLabCut project config.yaml (bodyparts, skeleton, plotting keys), read
 * by pose_model_read_project through core/ydoc.h. */
#include "fuzz.h"
#include "pose/pose_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("config.yaml", data, size);
    vas_err e = {0};
    pose_model *m = calloc(1, sizeof(*m));

    if (!m || !(m->name = strdup("fuzz")))
        abort();
    pose_model_read_project(m, path, &e);
    pose_model_free(m);
    return 0;
}
