/* model_locate.h - which model a path names, and where its files are, by DeepLabCut's own folder
 * layouts (docs/dlc-facts.md sections 1 and 8, docs/dlc-models.md):
 *   - vas's ONNX bundle: config.yaml + pose_cfg.yaml + one .onnx;
 *   - a DeepLabCut 3 PyTorch shuffle: its train folder (pytorch_config.yaml + snapshot-*.pt),
 *     the shuffle folder above it, or the project (config.yaml), resolved as DLC does:
 *     dlc-models-pytorch/iteration-<i>/<Task><date>-trainset<int(100 f)>shuffle<k>/train;
 *   - a DeepLabCut 3 export: exported-models-pytorch/DLC_<Task>_<net>_iteration-<i>_shuffle-<k>/
 *     holding <same>_snapshot-<uid>.pt;
 *   - a DeepLabCut 2 export: exported-models/DLC_.../ holding pose_cfg.yaml + snapshot-<n>.pb.
 * The snapshot is the one DLC picks: snapshots sorted by epoch with the best one placed last,
 * indexed by the project's snapshotindex (default -1: the best when there is one, else the
 * latest), unless the caller names one.
 * Owns: the layouts, file-name rules and the choice of snapshot. Not: reading weights or configs
 * beyond the few project keys it needs (dlc3_net.h, dlc2_net.h, pose_model.h).
 * Threads: any; nothing shared. */
#ifndef VAS_MODEL_LOCATE_H
#define VAS_MODEL_LOCATE_H

#include "core/err.h"

enum { MODEL_ONNX = 1, MODEL_DLC3_SNAPSHOT, MODEL_DLC3_EXPORT, MODEL_DLC2_EXPORT };

#define MODEL_PATH_MAX 4096

typedef struct model_loc {
    int kind;                       /* MODEL_* */
    char dir[MODEL_PATH_MAX];       /* the model's folder: bundle, train or export folder */
    char weights[MODEL_PATH_MAX];   /* the chosen .onnx, .pt or .pb */
    char model_cfg[MODEL_PATH_MAX]; /* pose_cfg.yaml or pytorch_config.yaml; "" for a DLC 3
                                       export (its config is inside the .pt) */
    char project[MODEL_PATH_MAX];   /* the project's config.yaml, "" when none was found */
    char taskdate[256];             /* "<Task><date>" as DLC's folder names spell it; "" unknown */
    int shuffle;                    /* from the folder names; 1 when unknown */
    char snapshot_uid[64];          /* DLC 3: "best-8", "10"; DLC 2: "200000"; ONNX: "" */
} model_loc;

/* Finds the model PATH names: a folder (any of the above, or a project), a config.yaml (a
 * bundle's or a project's), or a .pt/.pb file. snapshot (may be NULL or "") picks a snapshot
 * by epoch ("10"), "best", or file name; otherwise DLC's choice. Fills *out. Refuses with one
 * sentence: nothing recognisable, a multi-animal project, a DLC 2 training folder (TensorFlow
 * checkpoints: say to export it), no snapshot, a snapshot that does not exist. */
int model_locate(const char *path, const char *snapshot, model_loc *out, vas_err *e);

/* "onnx", "dlc3-snapshot", "dlc3-export", "dlc2-export". */
const char *model_kind_name(int kind);

/* Splits a DLC shuffle folder name "<taskdate>-trainset<pct>shuffle<k>" (or the pytorch_config
 * path holding one): taskdate into buf[n] and *shuffle. 0 if it matched, -1 if not. */
int model_parse_shuffle_dir(const char *path, char *buf, size_t n, int *shuffle);

#endif
