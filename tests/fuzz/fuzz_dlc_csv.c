/* fuzz_dlc_csv - DeepLabCut pose tables read back from CSV (pose/dlc_read.h). dlc_read sniffs
 * HDF5 by its signature and hands those to libhdf5, which crashes on some malformed files
 * inside the library itself (issue 14: a separate item): inputs starting with the signature
 * are left out here; fuzz_dlc_pickle covers vas's own part of the HDF5 reader. */
#include "fuzz.h"
#include "pose/dlc_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path;
    vas_err e = {0};
    dlc_table t = {0};

    if (size >= 4 && !memcmp(data, "\x89HDF", 4))
        return 0;
    path = fuzz_write("pose.csv", data, size);
    if (dlc_read(path, &t, &e) == VAS_OK) {
        dlc_table_select_xyl(&t, &e);
    }
    dlc_table_free(&t);
    return 0;
}
