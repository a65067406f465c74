/* fuzz_dlc_csv - DeepLabCut pose tables read back from CSV (pose/dlc_read.h). dlc_read sniffs
 * HDF5 by its signature: inputs that start with it go to vas's own HDF5 reader (fuzz_dlc_h5
 * is the target for that one). */
#include "fuzz.h"
#include "pose/dlc_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path;
    vas_err e = {0};
    dlc_table t = {0};

    path = fuzz_write("pose.csv", data, size);
    if (dlc_read(path, &t, &e) == VAS_OK) {
        dlc_table_select_xyl(&t, &e);
    }
    dlc_table_free(&t);
    return 0;
}
