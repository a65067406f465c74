/* fuzz_config - the service's config.yaml (core/config.h config_load_file over the defaults). */
#include "core/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("config.yaml", data, size);
    vas_err e = {0};
    config c;

    if (config_defaults(&c, &e) < 0)
        abort();
    config_load_file(&c, path, &e);
    config_free(&c);
    return 0;
}
