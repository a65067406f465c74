/* fuzz_dlc_pickle - the bounded unpickler for the column lists pandas keeps in HDF5 attributes
 * (pose/dlc_read_int.h dlc_unpickle_columns). The input is the pickle itself. */
#include "fuzz.h"
#include "pose/dlc_read_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vas_err e = {0};
    char **names = NULL;
    int n_cols = 0, width = 0;

    if (dlc_unpickle_columns((const char *)data, size, "fuzz", &names, &n_cols, &width, &e) ==
        VAS_OK) {
        for (int i = 0; i < n_cols * width; i++)
            if (!names[i])
                abort();
        free(names);
    }
    return 0;
}
