/* pose_model.h - model bundles: a folder holding DeepLabCut's project config.yaml (bodyparts,
 * skeleton, plotting settings), pose_cfg.yaml (how to feed and decode the network: stride,
 * location refinement, normalisation, output names) and the exported network (.onnx).
 * Found as sub-folders of DLC_MODELS, or named one by one by the old service's mapping
 * {name: path/to/config.yaml}. Owns: parsing and checking bundles, the list of models.
 * Not: running the network (nn/), decoding heatmaps (pose_decode.h).
 * Threads: a pose_models list is immutable once loaded; share it freely. */
#ifndef VAS_POSE_MODEL_H
#define VAS_POSE_MODEL_H

#include "core/config.h"
#include "core/err.h"

#include <jansson.h>

#define POSE_MODEL_MAX_PARTS 64

typedef struct pose_model {
    char *name;           /* the name clients use (folder name or mapping key) */
    char *dir;            /* the bundle folder */
    char *onnx_path;      /* the network */
    char onnx_sha1[41];   /* hex SHA-1 of the .onnx file */
    char fingerprint[41]; /* hex SHA-1 over the .onnx's, config.yaml's and pose_cfg.yaml's SHA-1s:
                             what makes results differ (network, bodyparts, decoding, drawing);
                             the model's part of the result cache key */
    char *scorer;         /* DeepLabCut's scorer name, e.g.
                             DLC_MobilenetV2_openfieldOct30shuffle1_snapshot_3000 */
    char *task, *date, *net_type, *colormap, *skeleton_color;
    char *bodyparts[POSE_MODEL_MAX_PARTS];
    int n_bodyparts;
    int (*skeleton)[2]; /* pairs of bodypart indices */
    int n_skeleton;
    double pcutoff, alphavalue;
    int dotsize;
    /* pose_cfg.yaml */
    int stride;
    int locref; /* location refinement on */
    double locref_stdev;
    int bgr;               /* 1: the network wants BGR (colormode: BGR) */
    float mean[3], std[3]; /* input = (v/255 - mean) / std per channel */
    int sigmoid_in_graph;  /* 1: heatmap values are likelihoods already */
    char *input_name, *heatmap_name, *locref_name;
    long iteration;
} pose_model;

typedef struct pose_models pose_models;

/* Loads one bundle whose DLC config.yaml is config_path. New model in *out (caller frees:
 * pose_model_free). check_graph: also load the network to check vas can run it. */
int pose_model_load(const char *name, const char *config_path, int check_graph, pose_model **out,
                    vas_err *e);
void pose_model_free(pose_model *m);

/* Every bundle named by cfg (DLC_MODELS folder and mapping). A broken bundle is logged with what
 * is wrong and left out; the list is still made. New list in *out (caller frees). */
int pose_models_load(const config *cfg, int check_graph, pose_models **out, vas_err *e);
void pose_models_free(pose_models *l);
int pose_models_count(const pose_models *l);
/* Borrowed result (valid while l lives); NULL if unknown. */
const pose_model *pose_models_find(const pose_models *l, const char *name);
const pose_model *pose_models_at(const pose_models *l, int i);
/* "a, b" or "none" into buf. */
void pose_models_names(const pose_models *l, char *buf, size_t n);
/* New JSON array for GET /model: [{"name","bodyparts","skeleton","input","description"}]. */
json_t *pose_models_json(const pose_models *l);

#endif
