/* dlc2_net.c - see dlc2_net.h.
 *
 * DESIGN. Everything about feeding and decoding comes from pose_cfg.yaml, which export_model
 * writes as the full training config (DeepLabCut's defaults merged with the shuffle's
 * train/pose_cfg.yaml, keys sorted). The graph itself needs no configuration: the input
 * centring (Sub of img_mean; EfficientNet's RealDiv by STDDEV_RGB) and the score maps' sigmoid
 * are nodes in it, so vas feeds raw 0-255 RGB values and takes the maps as they come out. */
#include "model/dlc2_net.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ydoc.h"
#include "nn/nn_tf.h"

static const char *const out_nodes[2] = {"Sigmoid", "pose/locref_pred/block4/BiasAdd"};
static const char *const out_names[2] = {"heatmap", "locref"};

/* ---------------------------------------------------------------------------------------------
 * pose_cfg.yaml
 * ------------------------------------------------------------------------------------------- */
static int yaml_true(const char *s)
{
    return s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
                 !strcmp(s, "yes") || !strcmp(s, "Yes") || !strcmp(s, "on"));
}

/* The architecture for people, or NULL when DeepLabCut 2 has no such net_type. */
static int describe_net(const char *nt, char *arch, size_t n)
{
    static const char *const mobilenets[] = {"mobilenet_v2_1.0", "mobilenet_v2_0.75",
                                             "mobilenet_v2_0.5", "mobilenet_v2_0.35"};
    const char *tail = "DLC deconvolution heads (stride 8); frozen TensorFlow graph";

    if (!strcmp(nt, "resnet_50") || !strcmp(nt, "resnet_101") || !strcmp(nt, "resnet_152")) {
        snprintf(arch, n, "TF-slim resnet_v1_%s, output stride 16 (block4 atrous), %s", nt + 7,
                 tail);
        return 0;
    }
    for (size_t i = 0; i < sizeof(mobilenets) / sizeof(mobilenets[0]); i++)
        if (!strcmp(nt, mobilenets[i])) {
            snprintf(arch, n,
                     "DLC MobileNetV2 x%s, stride 16, batch norm on per-image statistics, %s",
                     nt + 13, tail);
            return 0;
        }
    if ((!strncmp(nt, "efficientnet-b", 14) || !strncmp(nt, "efficientnet_b", 14)) &&
        nt[14] >= '0' && nt[14] <= '6' && !nt[15]) {
        snprintf(arch, n, "DLC EfficientNet-b%c, stride 16 (swish, squeeze-excite), %s", nt[14],
                 tail);
        return 0;
    }
    return -1;
}

/* Refuses what a single-animal export does not have. */
static int check_single_animal(yaml_document_t *d, yaml_node_t *root, const char *cfg,
                               const char *nt, vas_err *e)
{
    const char *dt = ydoc_str(d, root, "dataset_type");
    const char *why = NULL;
    double v = 0;

    if (!strncmp(nt, "dlcrnet", 7))
        why = "net_type dlcrnet";
    else if (yaml_true(ydoc_str(d, root, "multi_stage")))
        why = "multi_stage: true";
    else if (yaml_true(ydoc_str(d, root, "partaffinityfield_predict")))
        why = "partaffinityfield_predict: true";
    else if (dt && strstr(dt, "multi-animal"))
        why = "a multi-animal dataset_type";
    else if (ydoc_num_at(d, root, "num_idchannel", 0, &v) == 0 && v > 0)
        why = "identity channels (num_idchannel)";
    if (why)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s describes a multi-animal DeepLabCut model (%s); vas runs single-animal "
                       "models",
                       cfg, why);
    if (ydoc_num_at(d, root, "num_outputs", 1, &v) == 0 && v > 1)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s asks for %g detections per bodypart (num_outputs); vas decodes one", cfg,
                       v);
    return VAS_OK;
}

static int read_bodyparts(yaml_document_t *d, yaml_node_t *root, const char *cfg, model_net *m,
                          vas_err *e)
{
    yaml_node_t *seq = ydoc_get(d, root, "all_joints_names");
    double nj = -1;

    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return err_set(e, VAS_EINVAL, "%s has no all_joints_names list", cfg);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *s = yaml_document_get_node(d, *it);
        if (!s || s->type != YAML_SCALAR_NODE)
            return err_set(e, VAS_EINVAL, "%s: all_joints_names holds a non-name", cfg);
        if (m->n_bodyparts == MODEL_NET_MAX_PARTS)
            return err_set(e, VAS_EUNSUPPORTED, "%s lists over %d bodyparts", cfg,
                           MODEL_NET_MAX_PARTS);
        m->bodyparts[m->n_bodyparts] = strdup((const char *)s->data.scalar.value);
        if (!m->bodyparts[m->n_bodyparts++])
            return err_set(e, VAS_ENOMEM, "out of memory reading %s", cfg);
    }
    if (m->n_bodyparts == 0)
        return err_set(e, VAS_EINVAL, "%s lists no bodyparts (all_joints_names)", cfg);
    if (ydoc_num_at(d, root, "num_joints", -1, &nj) == 0 && nj >= 0 && (int)nj != m->n_bodyparts)
        return err_set(e, VAS_EINVAL, "%s: num_joints is %g but all_joints_names lists %d", cfg, nj,
                       m->n_bodyparts);
    return VAS_OK;
}

/* "snapshot-<digits>" at the start of base, up to `end` (a suffix like ".pb" or "\0"): the
 * digits into uid. */
static void uid_of(const char *base, const char *end, char *uid, size_t n)
{
    size_t k = strlen(base), el = strlen(end), dl;

    if (k <= 9 + el || strncmp(base, "snapshot-", 9) || strcmp(base + k - el, end))
        return;
    dl = k - 9 - el;
    for (size_t i = 0; i < dl; i++)
        if (base[9 + i] < '0' || base[9 + i] > '9')
            return;
    if (dl < n)
        snprintf(uid, n, "%.*s", (int)dl, base + 9);
}

static int read_cfg(const char *dir, model_net *m, vas_err *e)
{
    char cfg[4096];
    yaml_document_t d;
    yaml_node_t *root;
    const char *nt, *iw;
    int rc;
    struct stat st;

    snprintf(cfg, sizeof(cfg), "%s/pose_cfg.yaml", dir);
    if (stat(cfg, &st) < 0)
        return err_set(e, VAS_ENOTFOUND, "%s has no pose_cfg.yaml: not a DeepLabCut 2 export", dir);
    rc = ydoc_load(cfg, &d, e);
    if (rc < 0)
        return rc;
    root = yaml_document_get_root_node(&d);
    nt = ydoc_str(&d, root, "net_type");
    if (!nt)
        rc = err_set(e, VAS_EINVAL, "%s has no net_type", cfg);
    if (rc >= 0)
        rc = check_single_animal(&d, root, cfg, nt, e);
    if (rc >= 0 && describe_net(nt, m->arch, sizeof(m->arch)) < 0)
        rc = err_set(e, VAS_EUNSUPPORTED,
                     "%s: net_type %s is not a DeepLabCut 2 network vas reads (resnet_50/101/152, "
                     "mobilenet_v2_1.0/0.75/0.5/0.35, efficientnet-b0..b6)",
                     cfg, nt);
    if (rc >= 0) {
        snprintf(m->net_type, sizeof(m->net_type), "%s", nt);
        rc = read_bodyparts(&d, root, cfg, m, e);
    }
    if (rc >= 0 && (ydoc_num_at(&d, root, "stride", 8.0, &m->stride) < 0 || m->stride <= 0 ||
                    ydoc_num_at(&d, root, "locref_stdev", 7.2801, &m->locref_std) < 0))
        rc = err_set(e, VAS_EINVAL, "%s: stride and locref_stdev must be positive numbers", cfg);
    m->locref = yaml_true(ydoc_str(&d, root, "location_refinement"));
    iw = ydoc_str(&d, root, "init_weights");
    if (rc >= 0 && iw && strrchr(iw, '/'))
        uid_of(strrchr(iw, '/') + 1, "", m->snapshot_uid, sizeof(m->snapshot_uid));
    yaml_document_delete(&d);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The files
 * ------------------------------------------------------------------------------------------- */
static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int is_checkpoint(const char *s)
{
    return !strncmp(s, "snapshot-", 9) &&
           (ends_with(s, ".index") || ends_with(s, ".meta") || strstr(s, ".data-"));
}

static int find_pb(const char *dir, model_net *m, vas_err *e)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    int n_pb = 0, n_ckpt = 0;
    char pb[256] = "", other[256] = "";

    if (!dp)
        return err_sys(e, VAS_ENOTFOUND, errno, "cannot open %s", dir);
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): dp is ours alone */
    while ((de = readdir(dp)) != NULL) {
        if (ends_with(de->d_name, ".pb")) {
            if (n_pb++ == 0)
                snprintf(pb, sizeof(pb), "%s", de->d_name);
            else
                snprintf(other, sizeof(other), "%s", de->d_name);
        }
        n_ckpt += is_checkpoint(de->d_name);
    }
    closedir(dp);
    if (n_pb == 0 && n_ckpt > 0)
        return err_set(
            e, VAS_EUNSUPPORTED,
            "%s holds TensorFlow checkpoints (snapshot-*.index/.meta/.data), not an "
            "exported frozen graph: run deeplabcut.export_model on the project and point "
            "vas at the folder under exported-models",
            dir);
    if (n_pb == 0)
        return err_set(e, VAS_ENOTFOUND, "%s has no .pb (DeepLabCut 2 exports hold snapshot-N.pb)",
                       dir);
    if (n_pb > 1)
        return err_set(e, VAS_EINVAL,
                       "%s holds %d .pb files (%s, %s%s); a DeepLabCut 2 export holds exactly one",
                       dir, n_pb, pb, other, n_pb > 2 ? ", ..." : "");
    if ((size_t)snprintf(m->weights, sizeof(m->weights), "%s/%s", dir, pb) >= sizeof(m->weights))
        return err_set(e, VAS_EINVAL, "the path of %s is too long", pb);
    m->snapshot_uid[0] = '\0';
    uid_of(pb, ".pb", m->snapshot_uid, sizeof(m->snapshot_uid));
    return VAS_OK;
}

static int build(model_net *m, vas_err *e)
{
    int n = m->locref ? 2 : 1, rc;

    rc = nn_tf_load(m->weights, out_nodes, n, out_names, &m->graph, e);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++) {
        int64_t want = (int64_t)m->n_bodyparts * (i + 1), have = nn_tf_out_channels(m->graph, i);
        if (have != want)
            return err_set(e, VAS_EINVAL,
                           "%s: the graph's %s has %lld channels, but pose_cfg.yaml's %d "
                           "bodyparts need %lld",
                           m->weights, out_names[i], (long long)have, m->n_bodyparts,
                           (long long)want);
    }
    m->params = nn_tf_params(m->graph);
    return VAS_OK;
}

int dlc2_net_load(const char *dir, int build_graph, model_net *out, vas_err *e)
{
    char saved_uid[sizeof(out->snapshot_uid)];
    int rc;

    model_net_clear(out);
    out->format = "dlc2-export";
    out->sigmoid = 1;
    out->pad_multiple = 1;
    out->params = -1;
    for (int c = 0; c < 3; c++) {
        out->mean[c] = 0.0f;
        out->std[c] = 1.0f / 255.0f;
    }
    rc = read_cfg(dir, out, e);
    memcpy(saved_uid, out->snapshot_uid, sizeof(saved_uid));
    if (rc >= 0)
        rc = find_pb(dir, out, e);
    if (rc >= 0 && !out->snapshot_uid[0])
        memcpy(out->snapshot_uid, saved_uid, sizeof(saved_uid));
    if (rc >= 0 && build_graph)
        rc = build(out, e);
    if (rc < 0)
        model_net_clear(out);
    return rc;
}
