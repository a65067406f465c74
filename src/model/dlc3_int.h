/* dlc3_int.h - what dlc3_cfg.c, dlc3_net.c, dlc3_resnet.c and dlc3_hrnet.c share: the model as
 * the config describes it (dlc3_spec) and the state dict being turned into graph nodes (dlc3_w).
 * Not part of the API: include dlc3_net.h outside src/model/dlc3_*.c.
 * Threads: both structs belong to the one thread loading a model. */
#ifndef VAS_DLC3_INT_H
#define VAS_DLC3_INT_H

#include <jansson.h>
#include <stdint.h>

#include "model/dlc3_net.h"
#include "nn/nn_build.h"

#define DLC3_MAX_DECONV 8

enum { DLC3_RESNET = 1, DLC3_HRNET };

/* One DeconvModule (DLC models/heads/simple_head.py): ConvTranspose2d layers, then an optional
 * 1x1-or-larger final Conv2d. */
typedef struct dlc3_deconv {
    int on;                                /* the head exists (locref_config may be null) */
    int n_layers;                          /* len(kernel_size) */
    int64_t channels[DLC3_MAX_DECONV + 1]; /* channels[0] in, channels[i + 1] out of layer i */
    int kernel[DLC3_MAX_DECONV];           /* square kernels */
    int stride[DLC3_MAX_DECONV];           /* head stride = their product */
    int64_t final_out;                     /* final_conv out_channels; 0 = none */
    int final_k;                           /* final_conv kernel_size */
} dlc3_deconv;

/* The model a pytorch_config describes, checked to be one vas builds. */
typedef struct dlc3_spec {
    char net_type[64];         /* "resnet_50", ... ("" if absent) */
    char model_name[64];       /* timm name: "resnet50_gn", "hrnet_w32", ... */
    int backbone;              /* DLC3_RESNET or DLC3_HRNET */
    int gn;                    /* ResNet: GroupNorm(32) instead of BatchNorm (resnet50_gn) */
    int blocks[4];             /* ResNet: Bottlenecks per stage */
    int output_stride;         /* ResNet: 8, 16 or 32 (timm make_blocks dilates past it) */
    int hr_incre;              /* HRNet: increased_channel_count (timm feature_location "incre") */
    double backbone_stride;    /* ResNet: output_stride; HRNet: backbone.stride, default 4 */
    double stride;             /* backbone_stride / the head's stride (models/model.py) */
    int64_t backbone_channels; /* model.backbone_output_channels; -1 when absent */
    int n_joints;              /* len(metadata.bodyparts) */
    const json_t *bodyparts;   /* borrowed: metadata.bodyparts */
    dlc3_deconv hm, lr;        /* heatmap_config, locref_config */
    int locref;                /* predictor.location_refinement */
    double locref_std;         /* predictor.locref_std */
    int apply_sigmoid;         /* predictor.apply_sigmoid (class default true) */
    int bgr;                   /* data.colormode BGR */
    float mean[3], std[3];     /* (v/255 - mean) / std, as model_net */
    int pad_multiple;          /* auto_padding divisor (1 = none) */
    int pad_reflect;           /* auto_padding border_mode reflect_101 */
} dlc3_spec;

/* Reads and checks cfg (borrowed; spec borrows from it). 0, or <0 with one sentence. */
int dlc3_spec_read(const json_t *cfg, dlc3_spec *spec, vas_err *e);

/* ---- the state dict as the builders use it (dlc3_net.c) ---- */
typedef struct dlc3_w {
    const nn_pt *sd;     /* borrowed state dict */
    unsigned char *used; /* owned: one flag per key, set when a builder reads it */
    int n;               /* keys */
    int hint;            /* where the next look-up starts (keys come in module order) */
    nn_build *b;         /* errors go here (sticky, as nn_build's own) */
    const char *arch;    /* "timm resnet101" etc., for messages */
} dlc3_w;

/* The tensor at the printf-formed key, checked against want[0..ndims-1] (entries < 0: any;
 * they are filled in with what the file has). NULL (and the builder's error set, naming the
 * key and both shapes) when absent or mis-shaped. */
const nn_pt *dlc3_tensor(dlc3_w *w, int ndims, int64_t *want, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 1 if the key exists (does not mark it used). */
int dlc3_has(dlc3_w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Marks every key starting with prefix as used: parts of the PyTorch model that DLC computes but
 * never reads (HRNet's lower-resolution outputs). */
void dlc3_skip(dlc3_w *w, const char *prefix);

enum { DLC3_NORM_BN = 1, DLC3_NORM_GN };

/* Conv2d without bias at key conv ("<conv>.weight", OC x in_ch x k x k, k from the file), then
 * the norm at key norm (BatchNorm2d eps 1e-5 with running statistics, or GroupNorm 32 groups eps
 * 1e-5), then ReLU if relu. Padding = dilation * (k - 1) / 2, as timm's and HRNet's convs.
 * *out_ch = OC. The output value, or <0. */
int dlc3_conv_norm(dlc3_w *w, int x, int64_t in_ch, const char *conv, const char *norm,
                   int norm_kind, int stride, int dilation, int relu, int64_t *out_ch);
/* x + y, then ReLU: the end of a residual block. */
int dlc3_add_relu(dlc3_w *w, const char *name, int x, int y);

/* Backbones: the image value in, the feature map value out and its channels. */
int dlc3_resnet_build(dlc3_w *w, const dlc3_spec *s, int image, int64_t *out_ch);
int dlc3_hrnet_build(dlc3_w *w, const dlc3_spec *s, int image, int64_t *out_ch);
/* timm's Bottleneck at prefix ("backbone.model.layer3.0"): its 3x3 conv has the stride and
 * first_dilation (timm make_blocks); the downsample (1x1, stride) is there when the file has one.
 */
int dlc3_bottleneck(dlc3_w *w, const char *pfx, int x, int64_t in_ch, int norm, int stride,
                    int first_dilation, int64_t *out_ch);

#endif
