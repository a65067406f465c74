/* fuzz_torch_pickle - the unpickler of PyTorch .pt archives' data.pkl (nn/nn_torch_int.h
 * pt_unpickle), then the tree check that follows it in nn_pt_load. The input is the pickle. */
#include "fuzz.h"
#include "nn/nn_torch_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vas_err e = {0};
    pt_doc *d = pt_doc_new();
    int *tensors = NULL, n_tensors = 0;

    if (!d)
        abort();
    if (pt_unpickle(d, data, size, "fuzz.pt", &e) == VAS_OK &&
        pt_check_tree(d, "fuzz.pt", (uint64_t)1 << 20, &tensors, &n_tensors, &e) == VAS_OK)
        free(tensors);
    pt_doc_free(d);
    return 0;
}
