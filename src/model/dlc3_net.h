/* dlc3_net.h - DeepLabCut 3 (PyTorch engine) pose networks as vas engine graphs: a training
 * shuffle (train/pytorch_config.yaml + snapshot-*.pt = {"metadata", "model": state dict}) or an
 * export (one .pt = {"config": the pytorch_config as a dict, "pose": state dict}), read without
 * Python (nn_torch.h) and rebuilt node by node (nn_build.h) as DeepLabCut's PyTorch modules
 * compute them. docs/dlc3-models.md lists every fact used and where in DLC/timm it comes from.
 *
 * Supported: single-animal bottom-up models (method "bu", one "bodypart" HeatmapHead with a
 * HeatmapPredictor) on a timm ResNet (resnet50_gn, resnet50, resnet101, resnet152; output stride
 * 8/16/32) or timm HRNet (hrnet_w18/w30/w32/w40/w44/w48/w64, branch 0, optionally
 * increased_channel_count). Channel widths are read from the weights.
 * Refused, one sentence each: multi-animal and top-down models, other heads, necks and
 * backbones, a missing or mis-shaped state-dict key, a key the configured model does not have,
 * inference transforms vas does not apply.
 *
 * Owns: reading the config (YAML or the export's dict) into jansson, checking it against the
 * weights, building the graph. Not: finding the files in a project (model_locate.h), running the
 * graph (nn.h), decoding poses (pose_decode.h), the project config.yaml.
 * Threads: any; nothing shared. */
#ifndef VAS_DLC3_NET_H
#define VAS_DLC3_NET_H

#include <jansson.h>

#include "core/err.h"
#include "model/model_net.h"
#include "nn/nn_torch.h"

/* Reads a pytorch_config.yaml (libyaml; YAML 1.2 core scalars as ruamel reads them: plain
 * true/false, null/~/empty, integers and floats such as 1e-05 become json values; quoted
 * scalars stay strings). Files over 16 MiB are refused. New tree in *out (caller frees:
 * json_decref); *out untouched on error. */
int dlc3_config_read(const char *pytorch_config_yaml, json_t **out, vas_err *e);

/* The same tree from an export's "config" dict (borrowed; dicts, lists, strings, numbers,
 * booleans and None; a tensor inside is refused). New tree in *out (caller frees: json_decref). */
int dlc3_config_from_pt(const nn_pt *dict, json_t **out, vas_err *e);

/* Reads pt_path (nn_pt_load). A training snapshot ({"model": ...}) uses cfg (the shuffle's
 * pytorch_config, borrowed); an export ({"pose": ...}) uses cfg if given, else its own "config"
 * (refused when it has none). Fills *out (zeroed, or a model it clears first; cleared on error):
 * format "dlc3-snapshot" / "dlc3-export", net_type, arch, weights = pt_path, snapshot_uid from
 * the file name ("best-8", "10"), stride, locref, locref_std, sigmoid (0: DLC's single-animal
 * predictor has apply_sigmoid false and clips; a config asking for the sigmoid gets it in the
 * graph), bgr, mean/std, pad_multiple/pad_reflect (auto_padding), bodyparts (metadata.bodyparts)
 * and params (the model's parameters as PyTorch counts them: every state-dict tensor but
 * BatchNorm running statistics). build_graph 0 checks the config only (a quick description);
 * 1 also checks every state-dict key and shape and builds the graph: input "image" (N x 3 x H x W),
 * outputs "heatmap" (N x J x h x w) and, when location refinement is on, "locref" (N x 2J x h x
 * w; channel 2j = x offset, 2j+1 = y offset). cfg_used (may be NULL): a new reference to the
 * config used (caller frees: json_decref), for metadata and scorer fields. */
int dlc3_net_load(const char *pt_path, const json_t *cfg, int build_graph, model_net *out,
                  json_t **cfg_used, vas_err *e);

#endif
