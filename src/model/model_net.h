/* model_net.h - a pose network as vas runs it, whatever file it came from: the engine graph and
 * everything DeepLabCut does around it (input normalisation, padding, stride, location
 * refinement), read from a DeepLabCut 3 PyTorch shuffle or export (model/dlc3.c), a DeepLabCut 2
 * exported TensorFlow graph (model/dlc2.c), or vas's own ONNX bundle (pose/pose_model.c).
 * Owns: the struct and its freeing. Not: finding models in DLC_MODELS, project config.yaml
 * (pose_model.c), running (nn/), decoding (pose_decode.h).
 * Threads: immutable once read; the graph may be shared (see nn.h). */
#ifndef VAS_MODEL_NET_H
#define VAS_MODEL_NET_H

#include <stdint.h>

#include "core/err.h"
#include "nn/nn.h"

#define MODEL_NET_MAX_PARTS 64

typedef struct model_net {
    const char *format;    /* static: "onnx", "dlc3-snapshot", "dlc3-export", "dlc2-export" */
    char net_type[64];     /* DeepLabCut's net_type: resnet_50, hrnet_w32, mobilenet_v2_1.0, ... */
    char arch[160];        /* what vas built, for people: "timm resnet50_gn (GroupNorm 32), ..." */
    char weights[4096];    /* the file the weights came from (.pt, .pb, .onnx) */
    char snapshot_uid[32]; /* scorer suffix: DLC 3 "best-190" / "200"; DLC 2 "200000" */
    nn_graph *graph;       /* owned (NULL when only described); outputs: "heatmap", then
                              "locref" when locref is set */
    double stride;         /* input pixels per heatmap cell */
    int locref;            /* location refinement on */
    double locref_std;     /* its scale (DLC: 7.2801) */
    int sigmoid;           /* 1: likelihood = sigmoid(heatmap) is already in the graph */
    int bgr;               /* 1: feed BGR planes (else RGB) */
    float mean[3], std[3]; /* network input = (v/255 - mean[c]) / std[c], v the 0-255 byte */
    int pad_multiple;      /* >1: pad H and W up to a multiple of this (bottom/right) */
    int pad_reflect;       /* 1: the padding mirrors the picture (cv2 BORDER_REFLECT_101),
                              0: zeros after normalisation */
    char *bodyparts[MODEL_NET_MAX_PARTS]; /* owned; as the model file lists them (may be 0) */
    int n_bodyparts;
    int64_t params; /* weights in the graph (after BatchNorm folding, as files count) */
} model_net;

/* Frees what m owns and zeroes it. NULL is fine. */
void model_net_clear(model_net *m);

#endif
