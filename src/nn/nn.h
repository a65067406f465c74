/* nn.h - run ONNX pose networks (DeepLabCut-style) on oneDNN primitives.
 *
 * Owns: reading an .onnx file (protobuf-c, nn_onnx.c), the immutable loaded graph
 * (`nn_graph`: operators checked, BatchNormalization folded into convolutions, weights in
 * plain float32), and per-thread sessions (`nn_session`: one plan per input size with oneDNN
 * primitives, weights re-ordered once into the blocked layout oneDNN picks, and every
 * activation in one pre-planned arena, so a frame allocates nothing).
 * Not: decoding video frames or heatmaps (media/, pose/).
 *
 * Threads: an nn_graph is read-only after nn_graph_load and may be shared by any number of
 * threads. An nn_session belongs to the thread that made it (oneDNN streams and primitives run
 * on their creating thread); make one per worker thread. */
#ifndef VAS_NN_H
#define VAS_NN_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define NN_MAX_DIMS 6

typedef struct nn_graph nn_graph;
typedef struct nn_session nn_session;

/* One graph input or output. For inputs, a dimension the model leaves free is -1. */
typedef struct nn_tensor_info {
    const char *name; /* borrowed result: valid while the graph (or session) lives */
    int ndims;
    int64_t dims[NN_MAX_DIMS];
} nn_tensor_info;

typedef struct nn_options {
    int threads; /* oneDNN/OpenMP threads; 0 = all cores */
    int bf16;    /* 1 = compute convolutions in bfloat16 (needs AVX512-BF16); never implied */
    /* 1 = run convolutions in int8 (u8/s8 activations, s8 weights with one scale per output
     * channel; needs AVX2) once calibrated on the first runs (below); not with bf16 */
    int int8;
    int int8_frames; /* int8: frames (images) to calibrate on; 0 = NN_INT8_FRAMES */
    int int8_zp;     /* int8: signed activations as offset u8, NN_ZP_*: 0 = NN_ZP_AUTO */
    int dw;          /* depthwise convolutions, NN_DW_*: 0 = NN_DW_AUTO */
    int layout;      /* float32 activations, NN_LAYOUT_*: 0 = NN_LAYOUT_AUTO */
    int no_wino;     /* 1 = no Winograd convolutions (float32: nn_plan_conv.c, nn_wino.c) */
    int no_split;    /* 1 = a batch of large frames runs as one batch (nn_session.c) */
} nn_options;

/* Activation layout of float32 plans: AUTO = channel-blocked (nChw8c) on AVX2 CPUs without
 * AVX-512, where oneDNN's convolutions are faster on it, else NHWC; a graph that has a step
 * without a blocked kernel is planned in NHWC. NHWC and BLOCKED force one (tests, nn-run). */
enum { NN_LAYOUT_AUTO = 0, NN_LAYOUT_NHWC = 1, NN_LAYOUT_BLOCKED = 2 };

/* int8 plans: a signed activation that only int8 convolutions without padding read as it is
 * stored, and residual sums and float steps, may be stored as u8 with a zero code (its own
 * range over the u8 codes; nn_plan_q.c) instead of s8: oneDNN's kernels run u8 sources faster.
 * AUTO = on CPUs with VNNI, where a u8 value has all 255 codes (without VNNI, AVX2's saturation
 * guard leaves it about 130: less precise than s8); ON and OFF force it (tests, nn-run). */
enum { NN_ZP_AUTO = 0, NN_ZP_ON = 1, NN_ZP_OFF = 2 };

/* Who runs a float depthwise convolution: AUTO = oneDNN, unless it would use a gemm, reference or
 * other non-depthwise kernel for it (dilated ones), then vas's own loop; OURS and ONEDNN force one
 * (tests). */
enum { NN_DW_AUTO = 0, NN_DW_OURS = 1, NN_DW_ONEDNN = 2 };

/* int8 sessions calibrate themselves: their first runs, up to int8_frames frames in all, run in
 * float32 (their outputs are exact) while the range of every activation is recorded; later runs
 * use int8 plans quantised with those ranges (max |x| per tensor, per-output-channel weight
 * scales). So a video's first frames calibrate the network for the rest of that video. */
#define NN_INT8_FRAMES 16

/* Loads and checks PATH (weights inline or in ONNX external-data files beside it). A model with
 * an operator, attribute or shape vas cannot run is refused here with a message naming the node
 * and operator. New graph in *out (caller frees: nn_graph_free); *out untouched on error. */
int nn_graph_load(const char *path, nn_graph **out, vas_err *e);
/* Same, from bytes in memory (borrowed during the call); external data is resolved against DIR
 * (may be NULL: then a model with external data is refused). */
int nn_graph_load_mem(const void *buf, size_t len, const char *dir, nn_graph **out, vas_err *e);
void nn_graph_free(nn_graph *g);

/* The single image input (N x C x H x W) and the outputs, in graph order. */
int nn_graph_input(const nn_graph *g, nn_tensor_info *info);
int nn_graph_n_outputs(const nn_graph *g);
int nn_graph_output_name(const nn_graph *g, int i, const char **name);
/* Number of nodes and one line per operator type with its count, for `vas nn-run`. */
int nn_graph_n_nodes(const nn_graph *g);
int nn_graph_summary(const nn_graph *g, char *buf, size_t len);

/* New session on g (borrowed: g must outlive the session). opt may be NULL for defaults.
 * Threads: the caller's; the session stays on it. Caller frees: nn_session_free. */
int nn_session_new(const nn_graph *g, const nn_options *opt, nn_session **out, vas_err *e);
void nn_session_free(nn_session *s);

/* Runs input (borrowed; N x C x H x W float32, NCHW, C as the model says). The first call at a
 * new (N, H, W) plans it (shape folding, primitives, weight re-ordering, arena) and keeps the
 * plan; later calls at that size only execute. A batch of frames of 64 K pixels or more (where
 * the model's batch size is free) runs frame by frame on the plan for one frame: at such sizes
 * one frame has work for every thread, and its activations stay in cache from step to step,
 * where a batch's stream through memory (openfield 640x480 on one core of an AVX-512 Xeon: 16.5
 * ms a frame at batch 1, 23.4 at batch 8; MobileNetV2 50 against 71; ResNet-50 the same). The
 * outputs are the batch's all the same (nn_options.no_split keeps the batch whole). */
int nn_session_run(nn_session *s, const float *input, int n, int h, int w, vas_err *e);
/* int8 sessions: forgets the calibration (and the int8 plans made with it), so that the next
 * runs calibrate again: for a warm session given another video. No-op for other sessions. */
void nn_session_recalibrate(nn_session *s);
/* int8 sessions: frames calibrated on so far, and convolutions the current plan runs in int8
 * (0 while calibrating, and for float sessions). */
int64_t nn_session_int8_frames(const nn_session *s);
int nn_session_int8_convs(const nn_session *s);
/* int8 plans: signed activations stored as offset u8 (a zero code; oneDNN's kernels run u8
 * sources faster than s8 ones: nn_plan_q.c), 0 elsewhere. */
int nn_session_int8_offsets(const nn_session *s);
/* The threads later runs use (nn_options.threads; 0: the calling thread's OpenMP default),
 * and a change of them: plans made already are kept (oneDNN's kernels run on any number). */
int nn_session_threads(const nn_session *s);
void nn_session_set_threads(nn_session *s, int threads);
/* Convolutions the current plan runs with Winograd's algorithm (float32 on AVX2 and AVX-512:
 * nn_wino.c, and oneDNN's kernels for the few it leaves; 0 elsewhere). */
int nn_session_wino_convs(const nn_session *s);
/* 1 when the current plan is int8 and quantises its input itself (nn_input.c: three channels,
 * AVX2 or AVX-512), else 0. */
int nn_session_int8_input(const nn_session *s);
/* Output i of the last run, NCHW float32: borrowed result, valid until the next run or free. */
int nn_session_output(const nn_session *s, int i, const float **data, nn_tensor_info *info,
                      vas_err *e);
/* Floating-point operations of one run at the last planned size (convolutions only). */
double nn_session_flops(const nn_session *s);
/* The current plan's activation layout: "nChw8c" (blocked where it can be), "nhwc", "none". */
const char *nn_session_layout(const nn_session *s);
/* Bytes of the activation arena and of the re-ordered weights of the current plan. */
size_t nn_session_arena_bytes(const nn_session *s);
size_t nn_session_weight_bytes(const nn_session *s);
/* Bytes the session holds with its graph: the graph's constants (weights as loaded) plus, for
 * every plan it keeps (up to one per recent input size), the arena and the re-ordered weights.
 * What keeping the pair warm costs (analyses/net_cache.h). */
size_t nn_session_bytes(const nn_session *s);

#endif
