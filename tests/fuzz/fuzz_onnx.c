/* fuzz_onnx - the ONNX loader and checker (nn/nn.h nn_graph_load_mem), then a session planned
 * and run once at a small size (shape folding, primitives, arena) when the graph loads.
 * Graphs too big to run at that size are not run (fuzz_nn.h). */
#include "fuzz.h"
#include "fuzz_nn.h"
#include "nn/nn.h"

/* Input sides used for free dimensions, and the largest input a run is tried with. */
#define FUZZ_SIDE       8
#define FUZZ_MAX_FLOATS (1 << 16)
static void run_small(const nn_graph *g)
{
    nn_options opt = {.threads = 1, .bf16 = 0};
    nn_tensor_info in;
    nn_session *s = NULL;
    vas_err e = {0};
    int64_t c, h, w;
    float *x;

    if (nn_graph_input(g, &in) < 0 || in.ndims != 4)
        return;
    c = in.dims[1];
    h = in.dims[2] < 0 ? FUZZ_SIDE : in.dims[2];
    w = in.dims[3] < 0 ? FUZZ_SIDE : in.dims[3];
    if (c <= 0 || h <= 0 || w <= 0 || c * h * w > FUZZ_MAX_FLOATS ||
        !fuzz_nn_fits(g, (int)h, (int)w))
        return;
    x = calloc((size_t)(c * h * w), sizeof(float));
    if (!x)
        abort();
    for (int64_t i = 0; i < c * h * w; i++)
        x[i] = (float)(i % 7) - 3.0f;
    if (nn_session_new(g, &opt, &s, &e) == VAS_OK) {
        if (nn_session_run(s, x, 1, (int)h, (int)w, &e) == VAS_OK) {
            for (int i = 0; i < nn_graph_n_outputs(g); i++) {
                const float *y = NULL;
                nn_tensor_info info;
                nn_session_output(s, i, &y, &info, &e);
            }
        }
        nn_session_free(s);
    }
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_graph *g = NULL;
    vas_err e = {0};

    fuzz_dir(); /* quiet logs */
    if (nn_graph_load_mem(data, size, NULL, &g, &e) == VAS_OK) {
        run_small(g);
        nn_graph_free(g);
    }
    return 0;
}
