/* model_dlc.c - see model_dlc.h. */
#include "model/model_dlc.h"

#include "core/ydoc.h"
#include "model/dlc2_net.h"
#include "model/dlc3_net.h"
#include "model/model_net.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Scorer names
 * ------------------------------------------------------------------------------------------- */
char *model_scorer_dlc3(const char *net_type, const char *taskdate, int shuffle, const char *uid)
{
    char net[128], *p = net, *out;
    int first = 1;
    size_t n;

    for (const char *s = net_type; *s && p < net + sizeof(net) - 1; s++) {
        if (*s == '_') {
            first = 1;
            continue;
        }
        *p++ = first ? (char)toupper((unsigned char)*s) : (char)tolower((unsigned char)*s);
        first = 0;
    }
    *p = '\0';
    n = strlen(net) + strlen(taskdate) + strlen(uid) + 64;
    if ((out = malloc(n)))
        snprintf(out, n, "DLC_%s_%sshuffle%d_snapshot_%s", net, taskdate, shuffle, uid);
    return out;
}

char *model_scorer_dlc2(const char *net_type, const char *taskdate, int shuffle, const char *uid)
{
    char net[128], *p = net, *out;
    const char *last = strrchr(net_type, '_'), *dash = strchr(net_type, '-');
    size_t n;

    if (strstr(net_type, "resnet")) { /* resnet_50 -> resnet50 */
        for (const char *s = net_type; *s && p < net + sizeof(net) - 1; s++)
            if (*s != '_')
                *p++ = *s;
        *p = '\0';
    } else if (strstr(net_type, "mobilenet") && last) { /* int(float("0.35") * 100) */
        snprintf(net, sizeof(net), "mobnet_%d", (int)(strtod(last + 1, NULL) * 100));
    } else if (strstr(net_type, "efficientnet") && dash) {
        snprintf(net, sizeof(net), "effnet_%.100s", dash + 1);
    } else {
        snprintf(net, sizeof(net), "%.100s", net_type);
    }
    n = strlen(net) + strlen(taskdate) + strlen(uid) + 64;
    if ((out = malloc(n)))
        snprintf(out, n, "DLC_%s_%sshuffle%d_%s", net, taskdate, shuffle, uid);
    return out;
}

/* ---------------------------------------------------------------------------------------------
 * Where the scorer's <Task><date> comes from when no project config.yaml was found
 * ------------------------------------------------------------------------------------------- */

/* DLC 2 pose_cfg.yaml: dataset: training-datasets/iteration-0/UnaugmentedDataSet_<taskdate>/
 * <task>_<scorer><pct>shuffle<k>.pickle. */
static void taskdate_from_pose_cfg(const char *path, char *out, size_t n, int *shuffle)
{
    yaml_document_t d;
    vas_err ignore = {0};
    const char *ds, *u, *slash, *sh;

    if (ydoc_load(path, &d, &ignore) < 0)
        return;
    ds = ydoc_str(&d, yaml_document_get_root_node(&d), "dataset");
    if (ds && (u = strstr(ds, "UnaugmentedDataSet_")) && (slash = strchr(u, '/'))) {
        snprintf(out, n, "%.*s", (int)(slash - u - 19), u + 19);
        if ((sh = strstr(slash, "shuffle")) && isdigit((unsigned char)sh[7]))
            *shuffle = (int)strtol(sh + 7, NULL, 10);
    }
    yaml_document_delete(&d);
}

/* DLC 3 config: metadata.pose_config_path names the shuffle folder. */
static void taskdate_from_cfg(const json_t *cfg, char *out, size_t n, int *shuffle)
{
    const char *p =
        json_string_value(json_object_get(json_object_get(cfg, "metadata"), "pose_config_path"));

    if (p)
        model_parse_shuffle_dir(p, out, n, shuffle);
}

/* ---------------------------------------------------------------------------------------------
 * Filling the pose_model
 * ------------------------------------------------------------------------------------------- */
static int read_net(const pose_model *m, int build, model_net *net, json_t **cfg_used, vas_err *e)
{
    json_t *cfg = NULL;
    int rc;

    switch (m->kind) {
    case MODEL_DLC3_SNAPSHOT:
        rc = dlc3_config_read(m->model_cfg, &cfg, e);
        if (rc == VAS_OK)
            rc = dlc3_net_load(m->weights, cfg, build, net, cfg_used, e);
        json_decref(cfg);
        return rc;
    case MODEL_DLC3_EXPORT:
        return dlc3_net_load(m->weights, NULL, build, net, cfg_used, e);
    case MODEL_DLC2_EXPORT:
        return dlc2_net_load(m->dir, build, net, e);
    default:
        return err_set(e, VAS_EINVAL, "model '%s' is not a DeepLabCut model", m->name);
    }
}

/* The project's bodyparts must be the network's, in order: they name its output channels. */
static int same_bodyparts(const pose_model *m, const model_net *net, vas_err *e)
{
    if (net->n_bodyparts == 0)
        return VAS_OK;
    for (int i = 0; i < m->n_bodyparts || i < net->n_bodyparts; i++)
        if (i >= m->n_bodyparts || i >= net->n_bodyparts ||
            strcmp(m->bodyparts[i], net->bodyparts[i]) != 0)
            return err_set(e, VAS_EINVAL,
                           "the project's config.yaml lists %d bodyparts (%s...) but the model was "
                           "trained on %d (%s...): bodypart %d differs",
                           m->n_bodyparts, m->n_bodyparts ? m->bodyparts[0] : "none",
                           net->n_bodyparts, net->n_bodyparts ? net->bodyparts[0] : "none", i + 1);
    return VAS_OK;
}

/* No project config.yaml: the model's own bodyparts and DeepLabCut's plotting defaults. */
static int defaults(pose_model *m, const model_net *net, const char *task, vas_err *e)
{
    if (net->n_bodyparts == 0)
        return err_set(e, VAS_EINVAL,
                       "model '%s' names no bodyparts and no project config.yaml was found beside "
                       "it",
                       m->name);
    for (int i = 0; i < net->n_bodyparts && i < POSE_MODEL_MAX_PARTS; i++)
        if (!(m->bodyparts[m->n_bodyparts++] = strdup(net->bodyparts[i])))
            return err_set(e, VAS_ENOMEM, "out of memory");
    m->task = strdup(task);
    m->date = strdup("");
    m->colormap = strdup("rainbow");
    m->skeleton_color = strdup("black");
    m->pcutoff = 0.6;
    m->alphavalue = 0.7;
    m->dotsize = 12;
    if (!m->task || !m->date || !m->colormap || !m->skeleton_color)
        return err_set(e, VAS_ENOMEM, "out of memory");
    return VAS_OK;
}

static int from_net(pose_model *m, const model_net *net, vas_err *e)
{
    if (!m->snapshot_uid[0] && net->snapshot_uid[0]) { /* e.g. a .pb not named snapshot-<n> */
        free(m->snapshot_uid);
        if (!(m->snapshot_uid = strdup(net->snapshot_uid)))
            return err_set(e, VAS_ENOMEM, "out of memory");
    }
    m->net_type = strdup(net->net_type);
    free(m->arch);
    m->arch = strdup(net->arch);
    m->stride = net->stride;
    m->locref = net->locref;
    m->locref_stdev = net->locref_std;
    m->sigmoid_in_graph = net->sigmoid;
    m->bgr = net->bgr;
    memcpy(m->mean, net->mean, sizeof(m->mean));
    memcpy(m->std, net->std, sizeof(m->std));
    m->pad_to = net->pad_multiple > 1 ? net->pad_multiple : 1;
    m->pad_reflect = net->pad_reflect;
    m->params = net->params;
    m->input_name = strdup("image");
    m->heatmap_name = strdup("heatmap");
    m->locref_name = strdup("locref");
    if (!m->net_type || !m->arch || !m->input_name || !m->heatmap_name || !m->locref_name)
        return err_set(e, VAS_ENOMEM, "out of memory");
    if (!(m->stride > 0 && m->stride <= 64))
        return err_set(e, VAS_EINVAL, "model '%s': stride %g is out of range", m->name, m->stride);
    return VAS_OK;
}

int model_dlc_load(pose_model *m, const model_loc *loc, int check, vas_err *e)
{
    model_net net;
    json_t *cfg = NULL;
    char taskdate[256];
    int shuffle = loc->shuffle;
    int rc;

    memset(&net, 0, sizeof(net));
    rc = read_net(m, check, &net, &cfg, e);
    if (rc == VAS_OK)
        rc = from_net(m, &net, e);
    snprintf(taskdate, sizeof(taskdate), "%s", loc->taskdate);
    if (rc == VAS_OK && loc->project[0]) {
        rc = pose_model_read_project(m, loc->project, e);
        if (rc == VAS_OK)
            rc = same_bodyparts(m, &net, e);
    } else if (rc == VAS_OK) {
        if (!taskdate[0] && m->kind == MODEL_DLC2_EXPORT)
            taskdate_from_pose_cfg(m->model_cfg, taskdate, sizeof(taskdate), &shuffle);
        if (!taskdate[0] && cfg)
            taskdate_from_cfg(cfg, taskdate, sizeof(taskdate), &shuffle);
        rc = defaults(m, &net, taskdate[0] ? taskdate : m->name, e);
    }
    if (rc == VAS_OK && !taskdate[0])
        snprintf(taskdate, sizeof(taskdate), "%s%s", m->task, m->date);
    if (rc == VAS_OK) {
        m->scorer = m->kind == MODEL_DLC2_EXPORT
                        ? model_scorer_dlc2(m->net_type, taskdate, shuffle, m->snapshot_uid)
                        : model_scorer_dlc3(m->net_type, taskdate, shuffle, m->snapshot_uid);
        if (!m->scorer)
            rc = err_set(e, VAS_ENOMEM, "out of memory");
    }
    json_decref(cfg);
    model_net_clear(&net);
    return rc;
}

int model_dlc_graph(const pose_model *m, nn_graph **out, vas_err *e)
{
    model_net net;
    int rc;

    memset(&net, 0, sizeof(net));
    rc = read_net(m, 1, &net, NULL, e);
    if (rc == VAS_OK && !net.graph)
        rc = err_set(e, VAS_EINVAL, "model '%s': no network was built", m->name);
    if (rc == VAS_OK) {
        *out = net.graph;
        net.graph = NULL;
    }
    model_net_clear(&net);
    return rc;
}
