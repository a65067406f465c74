/* nn_build.h - building an nn_graph in code, node by node, for the model readers that are not
 * ONNX (nn_tf.c: TensorFlow GraphDef; model/dlc3_net.c: DeepLabCut 3 PyTorch state dicts).
 * Owns: the graph under construction until nn_build_finish hands it over.
 * Not: any file format (the readers own theirs), running (nn_session).
 *
 * The graph speaks the engine's ONNX vocabulary: op types are ONNX names ("Conv",
 * "BatchNormalization", "Relu", "Add", ...) with ONNX attributes and semantics, plus
 * "GroupNormalization" (inputs X, scale, bias; scale and bias per channel as in ONNX opset 21;
 * attributes num_groups, epsilon). Activations are N x C x H x W; the one input has N, H and W
 * free.
 *
 * Errors are sticky, as in a stdio FILE: after the first failure every call does nothing and
 * returns <0, and nn_build_finish reports the first message. So a reader may chain calls and
 * check once. Threads: a builder belongs to one thread. */
#ifndef VAS_NN_BUILD_H
#define VAS_NN_BUILD_H

#include "nn/nn_int.h"

typedef struct nn_build nn_build;

/* New empty builder in *out (caller frees: nn_build_free, or hands it to nn_build_finish). */
int nn_build_new(nn_build **out, vas_err *e);
/* Frees an unfinished builder and everything in it. NULL is fine. */
void nn_build_free(nn_build *b);
/* The first error so far (VAS_OK if none); its message goes to e. */
int nn_build_error(const nn_build *b, vas_err *e);
/* Sets the builder's error (sticky) with a printf message and returns code: for readers that
 * find a problem of their own while building. */
int nn_build_fail(nn_build *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The image input, N x channels x H x W with N, H, W free. Its value index, or <0. Once. */
int nn_build_input(nn_build *b, const char *name, int channels);
/* A constant value holding c (taken, also on error). Its value index, or <0. */
int nn_build_const(nn_build *b, const char *name, nn_const *c);
/* A float constant of the given dims whose data is copied from `data` (count floats). */
int nn_build_constf(nn_build *b, const char *name, int ndims, const int64_t *dims,
                    const float *data);

/* A node op_type(in[0..n_in-1]) with one output value, named `name` (node and value). in[i]
 * may be -1 for an omitted optional input. Its output value index, or <0. Attributes follow
 * with the calls below, on the node made last. */
int nn_build_node(nn_build *b, const char *op_type, const char *name, const int *in, int n_in);
int nn_build_attr_int(nn_build *b, const char *name, int64_t v);
int nn_build_attr_float(nn_build *b, const char *name, float v);
int nn_build_attr_ints(nn_build *b, const char *name, const int64_t *v, int n);
int nn_build_attr_str(nn_build *b, const char *name, const char *v);

/* Shorthands; each returns its output value index, or <0.
 * Conv: w is OC x IC/group x kH x kW (copied), bias may be NULL; pads = {top, left, bottom,
 * right}. */
int nn_build_conv(nn_build *b, const char *name, int x, const nn_const *w, const nn_const *bias,
                  int stride, int dilation, const int64_t pads[4], int group);
/* ConvTranspose: w is IC x OC x kH x kW (PyTorch's layout, copied), bias may be NULL. */
int nn_build_convt(nn_build *b, const char *name, int x, const nn_const *w, const nn_const *bias,
                   int stride, const int64_t pads[4]);
/* BatchNormalization in inference form (per channel, copied); folded into the convolution
 * before it at finish when there is one. */
int nn_build_bn(nn_build *b, const char *name, int x, const nn_const *scale, const nn_const *bias,
                const nn_const *mean, const nn_const *var, float eps);
int nn_build_groupnorm(nn_build *b, const char *name, int x, int groups, const nn_const *scale,
                       const nn_const *bias, float eps);
/* "Relu", "Sigmoid", ... (one input, no attributes). */
int nn_build_unary(nn_build *b, const char *op_type, const char *name, int x);
/* "Add", "Mul", "Sub", "Div" with ONNX broadcasting. */
int nn_build_binary(nn_build *b, const char *op_type, const char *name, int x, int y);
/* Clip to [lo, hi] (ReLU6: 0, 6). */
int nn_build_clip(nn_build *b, const char *name, int x, float lo, float hi);
/* MaxPool k x k, stride s, pads {t, l, b, r}. */
int nn_build_maxpool(nn_build *b, const char *name, int x, int k, int s, const int64_t pads[4]);
/* Nearest-neighbour upsampling by an integer factor (as torch's nn.Upsample(mode="nearest")). */
int nn_build_upsample(nn_build *b, const char *name, int x, int factor);
int nn_build_gap(nn_build *b, const char *name, int x);

/* Checks the graph (operators, attributes, shapes at 64x64), folds BatchNormalization, and
 * hands it over: outs[0..n_outs-1] are the graph outputs, in order, renamed to names[i]. On
 * success *out is the caller's (nn_graph_free) and b is freed; on error b is freed too and
 * *out untouched. */
int nn_build_finish(nn_build *b, const int *outs, const char *const *names, int n_outs,
                    nn_graph **out, vas_err *e);

#endif
