/* fuzz_dlc3_config - DeepLabCut 3's pytorch_config.yaml read into JSON (model/dlc3_net.h). */
#include "fuzz.h"
#include "model/dlc3_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("pytorch_config.yaml", data, size);
    vas_err e = {0};
    json_t *j = NULL;

    if (dlc3_config_read(path, &j, &e) == VAS_OK)
        json_decref(j);
    return 0;
}
