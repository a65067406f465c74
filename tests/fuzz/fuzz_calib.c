/* fuzz_calib - multi-camera calibrations (geom/geom_calib.h): OpenCV FileStorage YAML, and, told
 * by content, anipose TOML (a [table] first) and DeepLabCut stereo_params.pickle (byte 0x80 first;
 * geom_pickle.c). Seeds of each dialect in corpus/fuzz_calib. */
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
