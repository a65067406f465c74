/* pose_model.h - the pose models vas serves, whatever their format (model/model_locate.h finds
 * which): vas's ONNX bundle (a folder holding DeepLabCut's project config.yaml with bodyparts,
 * skeleton and plotting settings, a pose_cfg.yaml saying how to feed and decode the network, and
 * the .onnx), a DeepLabCut 3 PyTorch snapshot or export (model/dlc3_net.h), a DeepLabCut 2
 * exported frozen graph (model/dlc2_net.h). Found as sub-folders of DLC_MODELS, or named one by
 * one by the old service's mapping {name: path/to/config.yaml} (a bundle's or a DLC project's).
 * Owns: reading and checking models, DLC's scorer names, the list of models and of the refused
 * ones with their reasons. Not: running the network (nn/), decoding heatmaps (pose_decode.h).
 * Threads: a pose_models list is immutable once loaded; share it freely. */
#ifndef VAS_POSE_MODEL_H
#define VAS_POSE_MODEL_H

#include "core/config.h"
#include "core/err.h"
#include "nn/nn.h"

#include <jansson.h>

#define POSE_MODEL_MAX_PARTS 64

typedef struct pose_model {
    char *name;            /* the name clients use (folder name or mapping key) */
    char *dir;             /* the bundle folder */
    int kind;              /* MODEL_ONNX, MODEL_DLC3_SNAPSHOT, MODEL_DLC3_EXPORT, MODEL_DLC2_EXPORT
                              (model/model_locate.h) */
    char *weights;         /* the network: .onnx, .pt or .pb */
    char weights_sha1[41]; /* hex SHA-1 of the weights file */
    char *model_cfg;       /* pose_cfg.yaml / pytorch_config.yaml; "" for a DLC 3 export */
    char *arch;            /* what vas builds, for people ("timm resnet50_gn, ..."); "" for ONNX */
    char *snapshot_uid;    /* DLC 3 "best-8" / DLC 2 "200000"; "" for ONNX */
    long long params;      /* weights in the network, -1 when not counted (ONNX) */
    char fingerprint[41];  /* hex SHA-1 over the weights', config.yaml's and the model config's
                              SHA-1s:  what makes results differ (network, bodyparts, decoding,
                              drawing);  the model's part of the result cache key */
    char *scorer;          /* DeepLabCut's scorer name, e.g.
                              DLC_MobilenetV2_openfieldOct30shuffle1_snapshot_3000 */
    char *task, *date, *net_type, *colormap, *skeleton_color;
    char *bodyparts[POSE_MODEL_MAX_PARTS];
    int n_bodyparts;
    int (*skeleton)[2]; /* pairs of bodypart indices */
    int n_skeleton;
    double pcutoff, alphavalue;
    int dotsize;
    /* how to feed and decode the network (pose_cfg.yaml, or DLC's rules for its formats) */
    double stride;   /* input pixels per heatmap cell */
    int pad_to;      /* network input sides are padded (bottom, right) to a multiple of this */
    int pad_reflect; /* 1: that padding mirrors the picture (DLC 3 HRNet), 0: zeros */
    int locref;      /* location refinement on */
    double locref_stdev;
    int bgr;               /* 1: the network wants BGR (colormode: BGR) */
    float mean[3], std[3]; /* input = (v/255 - mean) / std per channel */
    int sigmoid_in_graph;  /* 1: heatmap values are likelihoods already */
    int int8;              /* vas_int8: true in pose_cfg.yaml: run the network in int8 (nn.h) */
    char *input_name, *heatmap_name, *locref_name;
    long iteration;
} pose_model;

typedef struct pose_models pose_models;

/* Loads the model PATH names (a folder or a config.yaml, see model_locate). New model in *out
 * (caller frees: pose_model_free). check_graph: also build the network to check vas can run it.
 * snapshot: NULL for DLC's choice, else which snapshot (model_locate). */
int pose_model_load(const char *name, const char *path, int check_graph, pose_model **out,
                    vas_err *e);
int pose_model_load_snapshot(const char *name, const char *path, const char *snapshot,
                             int check_graph, pose_model **out, vas_err *e);
/* Another snapshot of m (a DLC 3 model; others are refused, saying they have none), named by
 * want as model_locate takes it ("50", "best", a file name): its uid ("50", "best-8") into
 * uid[n], checked without reading weights (pick), or the model loaded with it, new in *out
 * (caller frees: pose_model_free). */
int pose_model_pick_snapshot(const pose_model *m, const char *want, char *uid, size_t n,
                             vas_err *e);
int pose_model_snapshot(const pose_model *m, const char *want, pose_model **out, vas_err *e);
/* The network of m, in any format: new graph in *out (caller frees: nn_graph_free). Its outputs
 * include m->heatmap_name and, with location refinement, m->locref_name. Threads: any. */
int pose_model_graph(const pose_model *m, nn_graph **out, vas_err *e);
/* Reads a DLC project config.yaml's bodyparts, skeleton and plotting keys into m (for the
 * readers of DLC's own formats: model/). */
int pose_model_read_project(pose_model *m, const char *path, vas_err *e);
void pose_model_free(pose_model *m);

/* Every bundle named by cfg (DLC_MODELS folder and mapping). A broken bundle is logged with what
 * is wrong and left out; the list is still made. New list in *out (caller frees). */
int pose_models_load(const config *cfg, int check_graph, pose_models **out, vas_err *e);
void pose_models_free(pose_models *l);
int pose_models_count(const pose_models *l);
/* Borrowed result (valid while l lives); NULL if unknown. */
const pose_model *pose_models_find(const pose_models *l, const char *name);
const pose_model *pose_models_at(const pose_models *l, int i);
/* Models left out with why: count, and name/path/reason of the i-th (borrowed results). */
int pose_models_refused_count(const pose_models *l);
void pose_models_refused_at(const pose_models *l, int i, const char **name, const char **path,
                            const char **reason);
/* "a, b" or "none" into buf. */
void pose_models_names(const pose_models *l, char *buf, size_t n);
/* New JSON array for GET /model: [{"name","bodyparts","skeleton","input","description",
 * "format","scorer",...}], then the refused ones as {"name","path","error"}. */
json_t *pose_models_json(const pose_models *l);

#endif
