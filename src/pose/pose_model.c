/* pose_model.c - loading and checking model bundles (see pose_model.h). YAML is read with
 * libyaml's document API: the files are small and read once at start-up. */
#include "pose/pose_model.h"

#include "pose/pose_cmap.h"

#include "core/digest.h"
#include "core/log.h"
#include "core/ydoc.h"
#include "geom/geom_model3d.h"
#include "model/model_dlc.h"
#include "model/model_locate.h"
#include "nn/nn.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

typedef struct refused {
    char *name, *path, *reason;
} refused;

struct pose_models {
    pose_model **m;
    int n;
    refused *r; /* models left out, with why */
    int n_r;
};

/* ---- YAML helpers ---- */

/* The number at key; def when absent or not a number. */
static double number(yaml_document_t *d, yaml_node_t *map, const char *key, double def)
{
    double v = def;

    return ydoc_num_at(d, map, key, def, &v) == 0 ? v : def;
}

/* v as a whole number within [lo, hi] (saturating; NaN gives lo): a double from the file never
 * reaches an integer conversion out of range. */
static long long clamp_ll(double v, long long lo, long long hi)
{
    if (!(v >= (double)lo))
        return lo;
    if (v >= (double)hi)
        return hi;
    return (long long)v;
}

static int boolean(yaml_document_t *d, yaml_node_t *map, const char *key, int def)
{
    const char *s = ydoc_str(d, map, key);

    if (!s)
        return def;
    return !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1");
}

static char *dup_or(const char *s, const char *def)
{
    return strdup(s ? s : def);
}

/* A sequence of 3 numbers (mean or std) into out. */
static int triple(yaml_document_t *d, yaml_node_t *map, const char *key, float *out)
{
    yaml_node_t *n = ydoc_get(d, map, key);
    int i = 0;

    if (!n || n->type != YAML_SEQUENCE_NODE)
        return -1;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *v = yaml_document_get_node(d, *it);
        if (!v || v->type != YAML_SCALAR_NODE || i >= 3)
            return -1;
        out[i++] = strtof((char *)v->data.scalar.value, NULL);
    }
    return i == 3 ? 0 : -1;
}

/* ---- the DLC project config.yaml ---- */

static int bodypart_index(const pose_model *m, const char *name)
{
    for (int i = 0; i < m->n_bodyparts; i++)
        if (strcmp(m->bodyparts[i], name) == 0)
            return i;
    return -1;
}

static int read_bodyparts(pose_model *m, yaml_document_t *d, yaml_node_t *root, vas_err *e)
{
    yaml_node_t *n = ydoc_get(d, root, "bodyparts");

    if (!n || n->type != YAML_SEQUENCE_NODE)
        return err_set(e, VAS_EINVAL, "config.yaml has no list of bodyparts");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *v = yaml_document_get_node(d, *it);
        if (!v || v->type != YAML_SCALAR_NODE || m->n_bodyparts >= POSE_MODEL_MAX_PARTS)
            return err_set(e, VAS_EINVAL, "config.yaml: bodyparts must be at most %d names",
                           POSE_MODEL_MAX_PARTS);
        m->bodyparts[m->n_bodyparts] = strdup((char *)v->data.scalar.value);
        if (!m->bodyparts[m->n_bodyparts++])
            return err_set(e, VAS_ENOMEM, "out of memory");
    }
    return m->n_bodyparts ? VAS_OK : err_set(e, VAS_EINVAL, "config.yaml: bodyparts is empty");
}

static int read_skeleton(pose_model *m, yaml_document_t *d, yaml_node_t *root, vas_err *e)
{
    yaml_node_t *n = ydoc_get(d, root, "skeleton");
    size_t cap;

    if (!n || n->type != YAML_SEQUENCE_NODE)
        return VAS_OK; /* `skeleton: []` or none */
    cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    m->skeleton = calloc(cap ? cap : 1, sizeof(*m->skeleton));
    if (!m->skeleton)
        return err_set(e, VAS_ENOMEM, "out of memory");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *pair = yaml_document_get_node(d, *it);
        yaml_node_t *a, *b;
        if (!pair || pair->type != YAML_SEQUENCE_NODE ||
            pair->data.sequence.items.top - pair->data.sequence.items.start != 2)
            return err_set(e, VAS_EINVAL, "config.yaml: skeleton entries must be [part, part]");
        a = yaml_document_get_node(d, pair->data.sequence.items.start[0]);
        b = yaml_document_get_node(d, pair->data.sequence.items.start[1]);
        int ia =
            a && a->type == YAML_SCALAR_NODE ? bodypart_index(m, (char *)a->data.scalar.value) : -1;
        int ib =
            b && b->type == YAML_SCALAR_NODE ? bodypart_index(m, (char *)b->data.scalar.value) : -1;
        if (ia < 0 || ib < 0) {
            yaml_node_t *bad = ia < 0 ? a : b;
            return err_set(e, VAS_EINVAL,
                           "config.yaml: skeleton names a part not in bodyparts: '%.100s'",
                           bad && bad->type == YAML_SCALAR_NODE ? (char *)bad->data.scalar.value
                                                                : "(not a name)");
        }
        m->skeleton[m->n_skeleton][0] = ia;
        m->skeleton[m->n_skeleton++][1] = ib;
    }
    return VAS_OK;
}

/* The plotting keys labeled videos and plots use: found now, not at the first label job. */
static int check_plotting(const pose_model *m, vas_err *e)
{
    double rgb[3];
    vas_err ce = {0};

    if (pose_cmap_color(m->colormap, 0, 1, rgb, &ce) < 0)
        return err_set(e, VAS_EINVAL, "config.yaml: colormap: %s", ce.msg);
    if (pose_color_parse(m->skeleton_color, rgb, &ce) < 0)
        return err_set(e, VAS_EINVAL, "config.yaml: skeleton_color: %s", ce.msg);
    if (!(m->pcutoff >= 0 && m->pcutoff <= 1))
        return err_set(e, VAS_EINVAL, "config.yaml: pcutoff must be from 0 to 1, not %g",
                       m->pcutoff);
    if (m->dotsize < 1 || m->dotsize > 1000)
        return err_set(e, VAS_EINVAL, "config.yaml: dotsize must be from 1 to 1000, not %d",
                       m->dotsize);
    return VAS_OK;
}

int pose_model_read_project(pose_model *m, const char *path, vas_err *e)
{
    yaml_document_t d;
    yaml_node_t *root;
    double dotsize;
    int rc = ydoc_load(path, &d, e);

    if (rc < 0)
        return rc;
    root = yaml_document_get_root_node(&d);
    m->task = dup_or(ydoc_str(&d, root, "Task"), m->name);
    m->date = dup_or(ydoc_str(&d, root, "date"), "");
    m->colormap = dup_or(ydoc_str(&d, root, "colormap"), "rainbow");
    m->skeleton_color = dup_or(ydoc_str(&d, root, "skeleton_color"), "black");
    m->pcutoff = number(&d, root, "pcutoff", 0.6);
    m->alphavalue = number(&d, root, "alphavalue", 0.7);
    dotsize = number(&d, root, "dotsize", 12);
    /* Checked as a double: a huge value must not reach the int conversion. */
    if (dotsize >= 1 && dotsize <= 1000) {
        m->dotsize = (int)dotsize;
        rc = read_bodyparts(m, &d, root, e);
    } else {
        rc = err_set(e, VAS_EINVAL, "config.yaml: dotsize must be from 1 to 1000, not %g", dotsize);
    }
    if (rc == VAS_OK)
        rc = read_skeleton(m, &d, root, e);
    yaml_document_delete(&d);
    if (rc == VAS_OK && (!m->task || !m->date || !m->colormap || !m->skeleton_color))
        rc = err_set(e, VAS_ENOMEM, "out of memory");
    if (rc == VAS_OK)
        rc = check_plotting(m, e);
    return rc;
}

/* ---- pose_cfg.yaml ---- */

static int read_pose_cfg(pose_model *m, const char *path, vas_err *e)
{
    yaml_document_t d;
    yaml_node_t *root, *norm;
    const char *cm;
    int rc = ydoc_load(path, &d, e);

    if (rc < 0)
        return rc;
    root = yaml_document_get_root_node(&d);
    m->net_type = dup_or(ydoc_str(&d, root, "net_type"), "unknown");
    m->stride = number(&d, root, "stride", 8);
    m->pad_to = (int)clamp_ll(number(&d, root, "input_multiple", 16), -1, 1 << 20);
    m->params = clamp_ll(number(&d, root, "params", -1), -1, 1LL << 50);
    m->locref = boolean(&d, root, "location_refinement", 1);
    m->locref_stdev = number(&d, root, "locref_stdev", 7.2801);
    m->sigmoid_in_graph = boolean(&d, root, "sigmoid_in_graph", 1);
    m->int8 = boolean(&d, root, "vas_int8", 0);
    m->iteration = (long)clamp_ll(number(&d, root, "iteration", number(&d, root, "snapshot", 0)),
                                  -(1LL << 40), 1LL << 40);
    cm = ydoc_str(&d, root, "colormode");
    m->bgr = cm && !strcasecmp(cm, "BGR");
    m->input_name = dup_or(ydoc_str(&d, root, "input"), "image");
    norm = ydoc_get(&d, root, "outputs");
    m->heatmap_name = dup_or(ydoc_str(&d, norm, "heatmap"), "heatmap");
    m->locref_name = dup_or(ydoc_str(&d, norm, "locref"), "locref");
    norm = ydoc_get(&d, root, "normalize");
    if (triple(&d, norm, "mean", m->mean) < 0 || triple(&d, norm, "std", m->std) < 0)
        rc = err_set(e, VAS_EINVAL, "pose_cfg.yaml: normalize needs mean and std (3 numbers each)");
    else if (!(m->stride >= 1 && m->stride <= 64))
        rc = err_set(e, VAS_EINVAL, "pose_cfg.yaml: stride must be 1 to 64");
    else if (m->pad_to < 1 || m->pad_to > 1024)
        rc = err_set(e, VAS_EINVAL, "pose_cfg.yaml: input_multiple must be 1 to 1024");
    for (int i = 0; rc == VAS_OK && i < 3; i++)
        if (!(m->std[i] > 0))
            rc = err_set(e, VAS_EINVAL, "pose_cfg.yaml: normalize std must be positive");
    yaml_document_delete(&d);
    return rc;
}

/* ---- the network ---- */

/* m->fingerprint: SHA-1 over the weights' SHA-1 and those of the project config.yaml and the
 * model config (pose_cfg.yaml / pytorch_config.yaml), each when there is one. */
static int make_fingerprint(pose_model *m, const char *project, vas_err *e)
{
    char a[41] = "", b[41] = "", all[3 * 41];
    int rc = digest_file_sha1(m->weights, m->weights_sha1, e);

    if (rc == VAS_OK && project && project[0])
        rc = digest_file_sha1(project, a, e);
    if (rc == VAS_OK && m->model_cfg[0])
        rc = digest_file_sha1(m->model_cfg, b, e);
    if (rc < 0)
        return rc;
    snprintf(all, sizeof(all), "%s%s%s", m->weights_sha1, a, b);
    digest_sha1_hex(all, strlen(all), m->fingerprint);
    return VAS_OK;
}

/* The network loads, and has the input and outputs pose_cfg.yaml names. */
static int check_graph(const pose_model *m, vas_err *e)
{
    nn_graph *g = NULL;
    nn_tensor_info in;
    int rc = pose_model_graph(m, &g, e), have_heat = 0, have_loc = !m->locref;

    if (rc < 0)
        return rc;
    rc = nn_graph_input(g, &in);
    if (rc == VAS_OK && (in.ndims != 4 || (in.dims[1] != 3 && in.dims[1] != -1)))
        rc = err_set(e, VAS_EINVAL, "%s: the input must be N x 3 x H x W", m->weights);
    for (int i = 0; rc == VAS_OK && i < nn_graph_n_outputs(g); i++) {
        const char *name = NULL;
        nn_graph_output_name(g, i, &name);
        have_heat |= name && strcmp(name, m->heatmap_name) == 0;
        have_loc |= name && strcmp(name, m->locref_name) == 0;
    }
    if (rc == VAS_OK && (!have_heat || !have_loc))
        rc = err_set(e, VAS_EINVAL, "%s: no output named '%s'%s%s", m->weights,
                     have_heat ? m->locref_name : m->heatmap_name, "",
                     " (see pose_cfg.yaml outputs)");
    nn_graph_free(g);
    return rc;
}

/* A bundle's scorer is DLC 3's, DLC_<Net>_<Task><date>shuffle1_snapshot_<iteration>
 * (dlc-facts section 1): model_dlc.h spells it. */
static int make_scorer(pose_model *m, vas_err *e)
{
    char taskdate[512], uid[32];

    snprintf(taskdate, sizeof(taskdate), "%s%s", m->task, m->date);
    snprintf(uid, sizeof(uid), "%ld", m->iteration);
    m->scorer = model_scorer_dlc3(m->net_type, taskdate, 1, uid);
    return m->scorer ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory");
}

void pose_model_free(pose_model *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->dir);
    free(m->weights);
    free(m->model_cfg);
    free(m->arch);
    free(m->snapshot_uid);
    free(m->scorer);
    free(m->task);
    free(m->date);
    free(m->net_type);
    free(m->colormap);
    free(m->skeleton_color);
    for (int i = 0; i < m->n_bodyparts; i++)
        free(m->bodyparts[i]);
    free(m->skeleton);
    free(m->input_name);
    free(m->heatmap_name);
    free(m->locref_name);
    free(m);
}

/* A vas bundle: the project config.yaml, pose_cfg.yaml and the .onnx. */
static int load_onnx(pose_model *m, const model_loc *loc, int check, vas_err *e)
{
    int rc = pose_model_read_project(m, loc->project, e);

    if (rc == VAS_OK)
        rc = read_pose_cfg(m, loc->model_cfg, e);
    if (rc == VAS_OK && check)
        rc = check_graph(m, e);
    if (rc == VAS_OK)
        rc = make_scorer(m, e);
    return rc;
}

int pose_model_graph(const pose_model *m, nn_graph **out, vas_err *e)
{
    if (m->kind == MODEL_ONNX)
        return nn_graph_load(m->weights, out, e);
    return model_dlc_graph(m, out, e);
}

int pose_model_load_snapshot(const char *name, const char *path, const char *snapshot, int check,
                             pose_model **out, vas_err *e)
{
    pose_model *m = calloc(1, sizeof(*m));
    model_loc *loc = calloc(1, sizeof(*loc));
    int rc;

    if (!m || !loc || !(m->name = strdup(name))) {
        rc = err_set(e, VAS_ENOMEM, "out of memory");
        goto fail;
    }
    rc = model_locate(path, snapshot, loc, e);
    if (rc < 0)
        goto fail;
    m->kind = loc->kind;
    m->dir = strdup(loc->dir);
    m->weights = strdup(loc->weights);
    m->model_cfg = strdup(loc->model_cfg);
    m->snapshot_uid = strdup(loc->snapshot_uid);
    m->arch = strdup("");
    if (!m->dir || !m->weights || !m->model_cfg || !m->snapshot_uid || !m->arch) {
        rc = err_set(e, VAS_ENOMEM, "out of memory");
        goto fail;
    }
    rc = m->kind == MODEL_ONNX ? load_onnx(m, loc, check, e) : model_dlc_load(m, loc, check, e);
    if (rc == VAS_OK)
        rc = make_fingerprint(m, loc->project, e);
    if (rc < 0)
        goto fail;
    free(loc);
    *out = m;
    return VAS_OK;
fail:
    free(loc);
    pose_model_free(m);
    return rc;
}

static int has_snapshots(const pose_model *m, vas_err *e)
{
    if (m->kind == MODEL_DLC3_SNAPSHOT || m->kind == MODEL_DLC3_EXPORT)
        return VAS_OK;
    return err_set(e, VAS_EINVAL, "model '%s' is a %s model: it has no snapshots to choose",
                   m->name, model_kind_name(m->kind));
}

int pose_model_pick_snapshot(const pose_model *m, const char *want, char *uid, size_t n, vas_err *e)
{
    model_loc *loc;
    vas_err le = {0};
    int rc = has_snapshots(m, e);

    if (rc < 0)
        return rc;
    if (!(loc = malloc(sizeof(*loc))))
        return err_set(e, VAS_ENOMEM, "out of memory");
    rc = model_locate(m->dir, want, loc, &le);
    if (rc == VAS_OK)
        snprintf(uid, n, "%s", loc->snapshot_uid);
    else /* model_locate's sentence names server folders: not for clients */
        rc = err_set(e, VAS_EINVAL, "model '%s' has no snapshot '%.60s'", m->name, want);
    free(loc);
    return rc;
}

int pose_model_snapshot(const pose_model *m, const char *want, pose_model **out, vas_err *e)
{
    int rc = has_snapshots(m, e);

    return rc < 0 ? rc : pose_model_load_snapshot(m->name, m->dir, want, 0, out, e);
}

int pose_model_load(const char *name, const char *path, int check, pose_model **out, vas_err *e)
{
    return pose_model_load_snapshot(name, path, NULL, check, out, e);
}

/* ---- the list ---- */

static int list_add(pose_models *l, pose_model *m, vas_err *e)
{
    pose_model **nm;

    if (pose_models_find(l, m->name)) {
        log_warn("pose", "event=model_skipped model=%s reason=\"the name is used twice\"", m->name);
        pose_model_free(m);
        return VAS_OK;
    }
    nm = realloc(l->m, (size_t)(l->n + 1) * sizeof(*nm));
    if (!nm) {
        pose_model_free(m);
        return err_set(e, VAS_ENOMEM, "out of memory");
    }
    l->m = nm;
    l->m[l->n++] = m;
    return VAS_OK;
}

/* Remembers a model left out, for GET /model. */
static int refuse_add(pose_models *l, const char *name, const char *path, const char *why,
                      vas_err *e)
{
    refused *nr = realloc(l->r, (size_t)(l->n_r + 1) * sizeof(*nr));

    if (!nr)
        return err_set(e, VAS_ENOMEM, "out of memory");
    l->r = nr;
    nr[l->n_r].name = strdup(name);
    nr[l->n_r].path = strdup(path);
    nr[l->n_r].reason = strdup(why);
    if (!nr[l->n_r].name || !nr[l->n_r].path || !nr[l->n_r].reason) {
        free(nr[l->n_r].name);
        free(nr[l->n_r].path);
        free(nr[l->n_r].reason);
        return err_set(e, VAS_ENOMEM, "out of memory");
    }
    l->n_r++;
    return VAS_OK;
}

/* Loads one model into l; a broken one is logged, remembered with why, and left out. */
static int try_load(pose_models *l, const char *name, const char *path, const char *snapshot,
                    int check, vas_err *e)
{
    pose_model *m = NULL;
    vas_err me = {0};

    if (pose_model_load_snapshot(name, path, snapshot, check, &m, &me) < 0) {
        log_error("pose", "event=model_broken model=%s path=%s error=\"%s\"", name, path, me.msg);
        return refuse_add(l, name, path, me.msg, e);
    }
    log_info("pose", "event=model_loaded model=%s format=%s bodyparts=%d scorer=%s", m->name,
             model_kind_name(m->kind), m->n_bodyparts, m->scorer);
    return list_add(l, m, e);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every sub-folder of dir but 3D models, in name order: each is a model (model_locate). */
static int scan_dir(pose_models *l, const char *dir, int check, vas_err *e)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *names[256];
    int n = 0, rc = VAS_OK;

    if (!d)
        return VAS_OK;                   /* no folder: no models */
    while ((de = readdir(d)) && n < 256) /* NOLINT(concurrency-mt-unsafe): this DIR is ours */
        if (de->d_name[0] != '.' && (names[n] = strdup(de->d_name)))
            n++;
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (geom_model3d_is_bundle(path)) { /* a 3D model: geom_models3d.h loads it */
            free(names[i]);
            continue;
        }
        if (rc == VAS_OK && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = try_load(l, names[i], path, NULL, check, e);
        free(names[i]);
    }
    return rc;
}

int pose_models_load(const config *cfg, int check, pose_models **out, vas_err *e)
{
    pose_models *l = calloc(1, sizeof(*l));
    int rc = VAS_OK;

    if (!l)
        return err_set(e, VAS_ENOMEM, "out of memory");
    for (int i = 0; rc == VAS_OK && i < cfg->n_model_map; i++)
        rc = try_load(l, cfg->model_map_names[i], cfg->model_map_paths[i],
                      cfg->model_map_snapshots[i], check, e);
    if (rc == VAS_OK && cfg->models_dir)
        rc = scan_dir(l, cfg->models_dir, check, e);
    if (rc < 0) {
        pose_models_free(l);
        return rc;
    }
    *out = l;
    return VAS_OK;
}

void pose_models_free(pose_models *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->n; i++)
        pose_model_free(l->m[i]);
    for (int i = 0; i < l->n_r; i++) {
        free(l->r[i].name);
        free(l->r[i].path);
        free(l->r[i].reason);
    }
    free(l->r);
    free(l->m);
    free(l);
}

int pose_models_count(const pose_models *l)
{
    return l ? l->n : 0;
}

const pose_model *pose_models_at(const pose_models *l, int i)
{
    return l && i >= 0 && i < l->n ? l->m[i] : NULL;
}

const pose_model *pose_models_find(const pose_models *l, const char *name)
{
    for (int i = 0; l && i < l->n; i++)
        if (strcmp(l->m[i]->name, name) == 0)
            return l->m[i];
    return NULL;
}

int pose_models_refused_count(const pose_models *l)
{
    return l ? l->n_r : 0;
}

void pose_models_refused_at(const pose_models *l, int i, const char **name, const char **path,
                            const char **reason)
{
    *name = *path = *reason = NULL;
    if (l && i >= 0 && i < l->n_r) {
        *name = l->r[i].name;
        *path = l->r[i].path;
        *reason = l->r[i].reason;
    }
}

void pose_models_names(const pose_models *l, char *buf, size_t n)
{
    size_t k = 0;

    buf[0] = '\0';
    for (int i = 0; l && i < l->n && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", l->m[i]->name);
    if (!l || l->n == 0)
        snprintf(buf, n, "none");
}

static json_t *model_json(const pose_model *m)
{
    json_t *bp = json_array(), *sk = json_array(), *in, *o;

    for (int i = 0; i < m->n_bodyparts; i++)
        json_array_append_new(bp, json_string(m->bodyparts[i]));
    for (int i = 0; i < m->n_skeleton; i++)
        json_array_append_new(sk, json_pack("[s, s]", m->bodyparts[m->skeleton[i][0]],
                                            m->bodyparts[m->skeleton[i][1]]));
    in = json_pack("{s:s, s:o, s:[f,f,f], s:[f,f,f], s:s, s:i, s:s}", "colormode",
                   m->bgr ? "BGR" : "RGB", "stride",
                   m->stride == (int)m->stride ? json_integer((json_int_t)m->stride)
                                               : json_real(m->stride),
                   "mean", (double)m->mean[0], (double)m->mean[1], (double)m->mean[2], "std",
                   (double)m->std[0], (double)m->std[1], (double)m->std[2], "net_type", m->net_type,
                   "pad_to", m->pad_to, "padding", m->pad_reflect ? "reflect_101" : "zeros");
    o = json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:s}", "name", m->name, "bodyparts", bp,
                  "skeleton", sk, "input", in, "description", m->task, "scorer", m->scorer,
                  "format", model_kind_name(m->kind));
    if (o && m->arch[0])
        json_object_set_new(o, "architecture", json_string(m->arch));
    if (o && m->snapshot_uid[0])
        json_object_set_new(o, "snapshot", json_string(m->snapshot_uid));
    if (o && m->params >= 0)
        json_object_set_new(o, "params", json_integer(m->params));
    return o;
}

json_t *pose_models_json(const pose_models *l)
{
    json_t *arr = json_array();

    for (int i = 0; l && i < l->n; i++)
        json_array_append_new(arr, model_json(l->m[i]));
    for (int i = 0; l && i < l->n_r; i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:s}", "name", l->r[i].name, "error", l->r[i].reason));
    return arr;
}
