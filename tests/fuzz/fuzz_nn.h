/* fuzz_nn.h - for the targets that plan and run engine graphs (fuzz_onnx, fuzz_tf).
 * The engine has no ceiling on the memory a graph asks for: a Conv with pads of 4e8 wants tens of
 * GB even for an 8 x 8 input (found by fuzz_onnx; a resource limit for issue 14's limits item,
 * not a memory-safety bug). So a graph whose values, at the size tried, add up to more than
 * FUZZ_MAX_VALUE_FLOATS is not run: the fuzzers look for crashes, not for their memory limit. */
#ifndef VAS_FUZZ_NN_H
#define VAS_FUZZ_NN_H

#include "nn/nn_int.h"

#define FUZZ_MAX_VALUE_FLOATS ((int64_t)1 << 24) /* 64 MiB of float32 */

/* 0 when g's values at 1 x C x h x w add up to more than FUZZ_MAX_VALUE_FLOATS, else 1 (also
 * when the shapes are refused: the session then refuses the graph the same way). */
static inline int fuzz_nn_fits(const nn_graph *g, int h, int w)
{
    nn_tval *tv = NULL;
    vas_err e = {0};
    int64_t total = 0;

    if (nn_shapes(g, 1, h, w, &tv, &e) < 0)
        return 1;
    for (int i = 0; i < g->n_vals && total <= FUZZ_MAX_VALUE_FLOATS; i++) {
        int64_t n = 1;
        for (int k = 0; k < tv[i].ndims && n <= FUZZ_MAX_VALUE_FLOATS; k++)
            n = tv[i].dims[k] > FUZZ_MAX_VALUE_FLOATS ? FUZZ_MAX_VALUE_FLOATS + 1
                : tv[i].dims[k] > 0                   ? n * tv[i].dims[k]
                                                      : n;
        total += n;
    }
    nn_shapes_free(tv, g->n_vals);
    return total <= FUZZ_MAX_VALUE_FLOATS;
}

#endif
