/* fuzz_dlc_h5 - DeepLabCut pose tables read back from HDF5 (pose/dlc_read.h): vas's own HDF5
 * reader (pose/h5_read*.c) and the pandas layer on top (dlc_read_h5.c), through dlc_read as a
 * worker calls it. Seeds: pandas "table" and "fixed" files and vas's own, as small as they come. */
#include "fuzz.h"
#include "pose/dlc_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("pose.h5", data, size);
    vas_err e = {0};
    dlc_table t = {0};

    if (dlc_read(path, &t, &e) == VAS_OK)
        dlc_table_select_xyl(&t, &e);
    dlc_table_free(&t);
    return 0;
}
