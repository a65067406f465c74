/* fuzz_calib - multi-camera calibrations in OpenCV FileStorage YAML (geom/geom_calib.h). */
#include "fuzz.h"
#include "geom/geom_calib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("calibration.yaml", data, size);
    vas_err e = {0};
    geom_calib c;

    geom_calib_load(path, &c, &e);
    return 0;
}
