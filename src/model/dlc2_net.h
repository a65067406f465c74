/* dlc2_net.h - DeepLabCut 2 (TensorFlow engine) exported models as vas engine graphs: the
 * folder deeplabcut.export_model writes (exported-models/DLC_<Task>_<net>_iteration-<i>_shuffle-
 * <k>/: pose_cfg.yaml and snapshot-<iteration>.pb, a frozen GraphDef; also the checkpoint files
 * and a .pbtxt, which vas ignores), read without TensorFlow (nn/nn_tf.h). docs/dlc2-models.md
 * lists every fact used and the DeepLabCut file it comes from.
 *
 * Supported: single-animal models on resnet_50/101/152, mobilenet_v2_1.0/0.75/0.5/0.35 and
 * efficientnet-b0..b6, exported for DeepLabCut-Live ("Sigmoid" and
 * "pose/locref_pred/block4/BiasAdd") or in the GPU form (ending in "concat_1": vas takes the two
 * maps inside it and decodes poses itself). Refused, one sentence each: multi-animal pose_cfg
 * (multi_stage, partaffinityfield_predict, a multi-animal dataset_type, dlcrnet, num_idchannel),
 * several outputs per bodypart (num_outputs > 1), an unknown net_type, no .pb or more than one,
 * TensorFlow checkpoints without an export (run deeplabcut.export_model), a .pb without the
 * expected nodes or needing an operator vas lacks (named).
 *
 * Owns: reading pose_cfg.yaml, choosing the .pb, filling model_net. Not: finding the folder in
 * a project (model_locate.h), translating the graph (nn_tf.h), running (nn.h), decoding
 * (pose_decode.h). Threads: any; nothing shared. */
#ifndef VAS_DLC2_NET_H
#define VAS_DLC2_NET_H

#include "core/err.h"
#include "model/model_net.h"

/* Reads the export in dir. Fills *out (model_net_clear first; on error *out is left cleared):
 * format "dlc2-export", net_type, arch, weights (the .pb), snapshot_uid (the iteration of
 * snapshot-<n>.pb, else of pose_cfg's init_weights, else ""), stride (pose_cfg stride, default
 * 8), locref (location_refinement) and locref_std (locref_stdev, default 7.2801), sigmoid 1 (the
 * graph's "Sigmoid"), bgr 0, mean 0 and std 1/255 (vas feeds the 0-255 RGB values; the graph
 * subtracts mean_pixel itself, and EfficientNet also divides), pad_multiple 1, bodyparts
 * (all_joints_names). build_graph: also the graph (outputs "heatmap", J channels of
 * likelihoods, and with location refinement "locref", 2J channels: 2j = x offset, 2j+1 = y),
 * its channel counts checked against the bodyparts, and params (nn_tf_params); without it graph
 * is NULL and params -1. */
int dlc2_net_load(const char *dir, int build_graph, model_net *out, vas_err *e);

#endif
