/* nn_tf.h - TensorFlow frozen graphs (a GraphDef .pb, as deeplabcut.export_model and
 * graph_util.convert_variables_to_constants write them) read into engine graphs.
 * Owns: parsing the GraphDef (protobuf-c, src/nn/tf_subset.proto), choosing the nodes the
 * requested outputs need, and translating them into the engine's ONNX vocabulary (NHWC ->
 * NCHW, TensorFlow's padding rules, weight layouts). Not: what the outputs mean (model/dlc2_net.h),
 * running (nn.h).
 *
 * Operators read: Placeholder (one float NHWC image input), Const, Identity/IdentityN/
 * StopGradient/Snapshot, Conv2D, DepthwiseConv2dNative, Conv2DBackpropInput (its input_sizes
 * arithmetic replaced by TensorFlow's SAME/VALID rule), BiasAdd, Add/AddV2, Sub, Mul, RealDiv,
 * Relu, Relu6, LeakyRelu, Sigmoid, swish_f32 (TF 1.x's function), FusedBatchNorm/V2/V3 (inference,
 * and training mode as per-image statistics), Pad/PadV2 with zeros (folded into the convolution
 * or pooling after it), MaxPool, AvgPool, Mean over H and W, SpaceToBatchND + Conv2D +
 * BatchToSpaceND (TF's atrous convolution: one dilated convolution), ConcatV2. Any other operator
 * a requested output needs is refused naming the node and operator.
 *
 * Threads: any; nothing shared. */
#ifndef VAS_NN_TF_H
#define VAS_NN_TF_H

#include <stdint.h>

#include "core/err.h"
#include "nn/nn.h"

/* Largest .pb read (protobuf's own limit is 2 GiB). */
#define NN_TF_MAX_FILE ((int64_t)2 << 30)

/* Reads the GraphDef at pb_path and builds the engine graph computing outputs[0..n_outputs-1]
 * (TensorFlow node names, "name" or "name:k"), which become graph outputs named out_names[i], in
 * order. Only the nodes those outputs need are read. New graph in *out (caller frees:
 * nn_graph_free); *out untouched on error. Refusals are one sentence: the file is missing, too
 * big, not a GraphDef (truncated or garbage), lacks an output node, or needs an operator or
 * attribute vas does not implement (named with its node). */
int nn_tf_load(const char *pb_path, const char *const *outputs, int n_outputs,
               const char *const *out_names, nn_graph **out, vas_err *e);

/* Float weights g holds in its convolutions (weights and biases, BatchNormalization folded in),
 * normalisations and per-channel additions and multiplications: the network's parameter count
 * as vas runs it. */
int64_t nn_tf_params(const nn_graph *g);

/* Channels of output i of g, read from the (transposed) convolution that makes it through any
 * element-wise steps after it; -1 when it cannot be told. */
int64_t nn_tf_out_channels(const nn_graph *g, int i);

#endif
