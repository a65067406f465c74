/* fuzz_tf - TensorFlow frozen GraphDefs (nn/nn_tf.h nn_tf_load), asking for the outputs the
 * seed graph (tests/fuzz/corpus/fuzz_tf, dlc2 fixtures' ops.pb) and DeepLabCut 2 exports have;
 * a graph that loads is planned and run once at a small size (when not too big: fuzz_nn.h). */
#include "fuzz.h"
#include "fuzz_nn.h"
#include "nn/nn.h"
#include "nn/nn_tf.h"

static void run_small(const nn_graph *g)
{
    nn_options opt = {.threads = 1, .bf16 = 0};
    nn_tensor_info in;
    nn_session *s = NULL;
    vas_err e = {0};
    float x[3 * 13 * 17];

    if (nn_graph_input(g, &in) < 0 || in.ndims != 4 || in.dims[1] != 3 || !fuzz_nn_fits(g, 13, 17))
        return;
    for (int i = 0; i < 3 * 13 * 17; i++)
        x[i] = (float)(i % 5) - 2.0f;
    if (nn_session_new(g, &opt, &s, &e) == VAS_OK) {
        nn_session_run(s, x, 1, 13, 17, &e);
        nn_session_free(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ops[3] = {"deconv", "pooled", "cat"};
    static const char *const dlc[2] = {"Sigmoid", "pose/locref_pred/block4/BiasAdd"};
    const char *path = fuzz_write("graph.pb", data, size);
    nn_graph *g = NULL;
    vas_err e = {0};

    if (nn_tf_load(path, ops, 3, ops, &g, &e) == VAS_OK ||
        nn_tf_load(path, dlc, 2, dlc, &g, &e) == VAS_OK) {
        run_small(g);
        nn_graph_free(g);
    }
    return 0;
}
