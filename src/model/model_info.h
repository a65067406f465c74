/* model_info.h - `vas model-info PATH`: what vas finds in a model folder or file, for a person
 * bringing their own DeepLabCut model: its format, architecture, bodyparts, how its input is
 * normalised and padded, stride, parameters, GFLOP for one 640x480 frame, the scorer name DLC
 * would write, or why the model is refused.
 * Owns: the command's options and report. Not: reading models (pose_model.h).
 * Threads: the caller's. */
#ifndef VAS_MODEL_INFO_H
#define VAS_MODEL_INFO_H

#include "core/err.h"
#include "nn/nn.h"

/* The network of any model path (an .onnx file, or what pose_model_load reads: DeepLabCut
 * projects, snapshots, exports, vas bundles): new graph in *out (caller frees:
 * nn_graph_free). For `vas nn-run` and bench/nn. */
int model_info_graph_load(const char *path, nn_graph **out, vas_err *e);

/* argv[0] is "model-info". Exit status: 0 the model loads, 1 it is refused, 2 bad usage. */
int model_info_main(int argc, char **argv);

#endif
