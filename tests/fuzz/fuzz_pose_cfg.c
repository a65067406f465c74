/* fuzz_pose_cfg - a pose_cfg.yaml as vas reads it in two places: a vas ONNX bundle's (pose_model.c:
 * stride, input_multiple, normalisation, output names; through pose_model_load on a folder with a
 * fixed config.yaml and an empty .onnx, the graph not built) and a DeepLabCut 2 export's
 * (dlc2_net.c: all_joints_names, stride, location refinement, init_weights; through
 * dlc2_net_load without building the graph). The input is the pose_cfg.yaml. */
#include "fuzz.h"
#include "model/dlc2_net.h"
#include "pose/pose_model.h"

#include <sys/stat.h>

static const char project[] = "Task: fuzz\n"
                              "date: Jan1\n"
                              "bodyparts:\n- snout\n- tail\n"
                              "skeleton:\n- - snout\n  - tail\n";

static void write_in(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")) || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char bundle[300], export[300];
    pose_model *m = NULL;
    model_net net = {0};
    vas_err e = {0};

    if (!bundle[0]) {
        snprintf(bundle, sizeof(bundle), "%s/bundle", fuzz_dir());
        snprintf(export, sizeof(export), "%s/DLC_fuzz_resnet_50_iteration-0_shuffle-1", fuzz_dir());
        if (mkdir(bundle, 0700) < 0 || mkdir(export, 0700) < 0)
            abort();
        write_in(bundle, "config.yaml", project, sizeof(project) - 1);
        write_in(bundle, "model.onnx", "", 0);
        write_in(export, "snapshot-1030000.pb", "", 0);
    }
    write_in(bundle, "pose_cfg.yaml", data, size);
    write_in(export, "pose_cfg.yaml", data, size);
    if (pose_model_load("fuzz", bundle, 0, &m, &e) == VAS_OK)
        pose_model_free(m);
    dlc2_net_load(export, 0, &net, &e);
    model_net_clear(&net);
    return 0;
}
