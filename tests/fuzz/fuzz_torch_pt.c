/* fuzz_torch_pt - whole PyTorch .pt files (nn/nn_torch.h nn_pt_load): the zip container, the
 * pickle, the tensors' storages. */
#include "fuzz.h"
#include "nn/nn_torch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("snapshot.pt", data, size);
    nn_pt *root = NULL;
    vas_err e = {0};

    if (nn_pt_load(path, &root, &e) == VAS_OK)
        nn_pt_free(root);
    return 0;
}
