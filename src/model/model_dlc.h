/* model_dlc.h - pose models from DeepLabCut's own formats: fills a pose_model from a DLC 3
 * PyTorch snapshot or export (dlc3_net.h) or a DLC 2 exported frozen graph (dlc2_net.h), with the
 * project's config.yaml when model_locate found one (bodyparts order, skeleton, plotting keys),
 * and the scorer name DeepLabCut would write for it.
 * Owns: that glue and DLC's scorer spelling (auxiliaryfunctions.get_scorer_name for 2.x,
 * pose_estimation_pytorch/apis/utils.py get_scorer_name for 3.x).
 * Not: the file formats (dlc3_net, dlc2_net, nn_torch, nn_tf), finding the files (model_locate).
 * Threads: any; nothing shared. */
#ifndef VAS_MODEL_DLC_H
#define VAS_MODEL_DLC_H

#include "model/model_locate.h"
#include "pose/pose_model.h"

/* Fills m (name, kind, dir, weights, model_cfg, snapshot_uid already set by pose_model) from the
 * DLC model loc names; check: also build the network. */
int model_dlc_load(pose_model *m, const model_loc *loc, int check, vas_err *e);
/* Builds m's network: new graph in *out (caller frees: nn_graph_free), outputs "heatmap" and
 * "locref". */
int model_dlc_graph(const pose_model *m, nn_graph **out, vas_err *e);

/* DLC 3: DLC_<Net>_<taskdate>shuffle<k>_snapshot_<uid>, <Net> = net_type's '_'-parts each
 * capitalised as Python's str.capitalize (first upper, rest lower). New string (caller frees);
 * NULL when out of memory. */
char *model_scorer_dlc3(const char *net_type, const char *taskdate, int shuffle, const char *uid);
/* DLC 2: DLC_<net>_<taskdate>shuffle<k>_<iterations>, net = resnet50, mobnet_35, effnet_b0... */
char *model_scorer_dlc2(const char *net_type, const char *taskdate, int shuffle, const char *uid);

#endif
