/* fuzz_model3d - a 3D project bundle's config.yaml (geom/geom_model3d.h geom_model3d_load), with
 * a fixed valid two-camera calibration.yaml beside it. */
#include "fuzz.h"
#include "geom/geom_model3d.h"

static const char calib[] =
    "%YAML:1.0\n---\n"
    "camera-1:\n"
    "   camera_matrix: !!opencv-matrix\n      rows: 3\n      cols: 3\n      dt: d\n"
    "      data: [ 800., 0., 320., 0., 800., 240., 0., 0., 1. ]\n"
    "   rotation: !!opencv-matrix\n      rows: 3\n      cols: 3\n      dt: d\n"
    "      data: [ 1., 0., 0., 0., 1., 0., 0., 0., 1. ]\n"
    "   translation: !!opencv-matrix\n      rows: 3\n      cols: 1\n      dt: d\n"
    "      data: [ 0., 0., 0. ]\n"
    "camera-2:\n"
    "   camera_matrix: !!opencv-matrix\n      rows: 3\n      cols: 3\n      dt: d\n"
    "      data: [ 800., 0., 320., 0., 800., 240., 0., 0., 1. ]\n"
    "   rotation: !!opencv-matrix\n      rows: 3\n      cols: 3\n      dt: d\n"
    "      data: [ 1., 0., 0., 0., 1., 0., 0., 0., 1. ]\n"
    "   translation: !!opencv-matrix\n      rows: 3\n      cols: 1\n      dt: d\n"
    "      data: [ -100., 0., 0. ]\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int calib_written;
    geom_model3d *m = NULL;
    vas_err e = {0};

    if (!calib_written) {
        fuzz_write("calibration.yaml", (const uint8_t *)calib, sizeof(calib) - 1);
        calib_written = 1;
    }
    fuzz_write("config.yaml", data, size);
    if (geom_model3d_load("fuzz", fuzz_dir(), &m, &e) == VAS_OK) {
        json_t *j = geom_model3d_json(m);
        json_decref(j);
        geom_model3d_free(m);
    }
    return 0;
}
