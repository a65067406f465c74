/* nn_main.c - stand-alone `nn-run` for bench/nn: the same nn_cli_main_with that `vas nn-run`
 * calls, linked against libvas.a, so the benchmark does not depend on main.c's wiring. Models are
 * read as vas reads them: an .onnx, or a DeepLabCut snapshot or export (model_info.h). */
#include "model/model_info.h"
#include "nn/nn_cli.h"

int main(int argc, char **argv)
{
    return nn_cli_main_with(argc, argv, model_info_graph_load);
}
