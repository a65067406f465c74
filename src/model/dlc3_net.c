/* dlc3_net.c - see dlc3_net.h. Loading: the .pt (nn_torch), the config (dlc3_cfg.c, read into a
 * dlc3_spec by dlc3_spec.c), then the graph: backbone (dlc3_resnet.c, dlc3_hrnet.c) and DLC's
 * HeatmapHead, built here, with every state-dict key the builders read marked, so that a key the
 * configured model does not have is refused by name at the end.
 *
 * DESIGN. Widths come from the weights, never from tables: DLC models in the wild are full
 * width, the test fixtures are not, and both must load. Topology (blocks per stage, modules per
 * HRNet stage, dilation) comes from the config's model_name and output_stride, as timm builds
 * them; a file with more or fewer blocks fails on the first key that is extra or missing. */
#include "model/dlc3_int.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * The state dict
 * ------------------------------------------------------------------------------------------- */
static int find_key(dlc3_w *w, const char *key)
{
    for (int k = 0; k < w->n; k++) {
        int i = (w->hint + k) % w->n;
        const char *s = nn_pt_key(w->sd, i);
        if (s && strcmp(s, key) == 0) {
            w->hint = i + 1;
            return i;
        }
    }
    return -1;
}

static void shape_str(char *buf, size_t n, int nd, const int64_t *d)
{
    size_t at = 0;

    at += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < nd && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)d[i]);
    if (at < n)
        snprintf(buf + at, n - at, "]");
}

const nn_pt *dlc3_tensor(dlc3_w *w, int ndims, int64_t *want, const char *fmt, ...)
{
    char key[512], have[128], exp[128];
    const nn_pt *t;
    const int64_t *d;
    int i, nd, bad;
    va_list ap;

    if (nn_build_error(w->b, NULL) < 0)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(key, sizeof(key), fmt, ap);
    va_end(ap);
    if ((i = find_key(w, key)) < 0) {
        nn_build_fail(w->b, VAS_EINVAL, "the state dict has no key %s, which %s needs", key,
                      w->arch);
        return NULL;
    }
    t = nn_pt_at(w->sd, i);
    w->used[i] = 1;
    if (nn_pt_type(t) != NN_PT_TENSOR) {
        nn_build_fail(w->b, VAS_EINVAL, "state dict key %s is not a tensor", key);
        return NULL;
    }
    nd = nn_pt_ndims(t);
    d = nn_pt_dims(t);
    bad = nd != ndims;
    for (int k = 0; !bad && k < ndims; k++)
        bad = want[k] >= 0 && want[k] != d[k];
    if (bad) {
        int64_t full[8];
        for (int k = 0; k < ndims && k < 8; k++)
            full[k] = want[k] >= 0 ? want[k] : (k < nd ? d[k] : 0);
        shape_str(have, sizeof(have), nd, d);
        shape_str(exp, sizeof(exp), ndims < 8 ? ndims : 8, full);
        nn_build_fail(w->b, VAS_EINVAL, "state dict key %s has shape %s but %s expects %s", key,
                      have, w->arch, exp);
        return NULL;
    }
    for (int k = 0; k < ndims; k++)
        want[k] = d[k];
    return t;
}

int dlc3_has(dlc3_w *w, const char *fmt, ...)
{
    char key[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(key, sizeof(key), fmt, ap);
    va_end(ap);
    return find_key(w, key) >= 0;
}

void dlc3_skip(dlc3_w *w, const char *prefix)
{
    size_t n = strlen(prefix);

    for (int i = 0; i < w->n; i++) {
        const char *k = nn_pt_key(w->sd, i);
        if (k && strncmp(k, prefix, n) == 0)
            w->used[i] = 1;
    }
}

/* A tensor viewed as an nn_const (no copy: the builder copies what it keeps). */
static nn_const view(const nn_pt *t)
{
    nn_const c = {NN_F32, nn_pt_ndims(t), {0}, nn_pt_numel(t), (void *)nn_pt_data(t), 0};

    for (int i = 0; i < c.ndims && i < NN_MAX_DIMS; i++)
        c.dims[i] = nn_pt_dims(t)[i];
    return c;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);

    return n >= m && strcmp(s + n - m, tail) == 0;
}

static int is_stat(const char *key)
{
    return ends_with(key, ".running_mean") || ends_with(key, ".running_var") ||
           ends_with(key, ".num_batches_tracked");
}

/* ---------------------------------------------------------------------------------------------
 * Layers the backbones share
 * ------------------------------------------------------------------------------------------- */
static int build_norm(dlc3_w *w, int x, int64_t ch, const char *norm, int kind)
{
    int64_t d[4][1] = {{ch}, {ch}, {ch}, {ch}};
    const nn_pt *g = dlc3_tensor(w, 1, d[0], "%s.weight", norm);
    const nn_pt *bb = dlc3_tensor(w, 1, d[1], "%s.bias", norm);
    nn_const cg, cb, cm, cv;

    if (!g || !bb)
        return nn_build_error(w->b, NULL);
    cg = view(g);
    cb = view(bb);
    if (kind == DLC3_NORM_GN) {
        if (ch % 32 != 0)
            return nn_build_fail(w->b, VAS_EINVAL,
                                 "%s: %lld channels cannot make timm's 32 GroupNorm groups", norm,
                                 (long long)ch);
        return nn_build_groupnorm(w->b, norm, x, 32, &cg, &cb, 1e-5f);
    }
    const nn_pt *m = dlc3_tensor(w, 1, d[2], "%s.running_mean", norm);
    const nn_pt *v = dlc3_tensor(w, 1, d[3], "%s.running_var", norm);
    if (!m || !v)
        return nn_build_error(w->b, NULL);
    cm = view(m);
    cv = view(v);
    return nn_build_bn(w->b, norm, x, &cg, &cb, &cm, &cv, 1e-5f);
}

int dlc3_conv_norm(dlc3_w *w, int x, int64_t in_ch, const char *conv, const char *norm,
                   int norm_kind, int stride, int dilation, int relu, int64_t *out_ch)
{
    int64_t d[4] = {-1, in_ch, -1, -1}, p;
    const nn_pt *t = dlc3_tensor(w, 4, d, "%s.weight", conv);
    char name[512];
    nn_const c;
    int v;

    *out_ch = 0;
    if (!t)
        return nn_build_error(w->b, NULL);
    if (d[2] != d[3] || d[2] % 2 == 0)
        return nn_build_fail(w->b, VAS_EINVAL, "state dict key %s.weight: a %lldx%lld kernel", conv,
                             (long long)d[2], (long long)d[3]);
    p = dilation * (d[2] - 1) / 2;
    c = view(t);
    v = nn_build_conv(w->b, conv, x, &c, NULL, stride, dilation, (int64_t[4]){p, p, p, p}, 1);
    v = build_norm(w, v, d[0], norm, norm_kind);
    if (relu) {
        snprintf(name, sizeof(name), "%s.relu", norm);
        v = nn_build_unary(w->b, "Relu", name, v);
    }
    *out_ch = d[0];
    return v;
}

int dlc3_add_relu(dlc3_w *w, const char *name, int x, int y)
{
    char buf[512];
    int v = nn_build_binary(w->b, "Add", name, x, y);

    snprintf(buf, sizeof(buf), "%s.relu", name);
    return nn_build_unary(w->b, "Relu", buf, v);
}

int dlc3_bottleneck(dlc3_w *w, const char *pfx, int x, int64_t in_ch, int norm, int stride,
                    int first_dilation, int64_t *out_ch)
{
    char c[512], n[512];
    int64_t ch = 0, sc_ch = in_ch;
    int v, sc = x;

#define AT(buf, part) (snprintf(buf, sizeof(buf), "%s.%s", pfx, part), buf)
    v = dlc3_conv_norm(w, x, in_ch, AT(c, "conv1"), AT(n, "bn1"), norm, 1, 1, 1, &ch);
    v = dlc3_conv_norm(w, v, ch, AT(c, "conv2"), AT(n, "bn2"), norm, stride, first_dilation, 1,
                       &ch);
    v = dlc3_conv_norm(w, v, ch, AT(c, "conv3"), AT(n, "bn3"), norm, 1, 1, 0, &ch);
    if (dlc3_has(w, "%s.downsample.0.weight", pfx))
        sc = dlc3_conv_norm(w, x, in_ch, AT(c, "downsample.0"), AT(n, "downsample.1"), norm, stride,
                            1, 0, &sc_ch);
#undef AT
    if (nn_build_error(w->b, NULL) >= 0 && sc_ch != ch)
        return nn_build_fail(w->b, VAS_EINVAL,
                             "%s: the block gives %lld channels but its input has %lld and no "
                             "downsample",
                             pfx, (long long)ch, (long long)sc_ch);
    *out_ch = ch;
    return dlc3_add_relu(w, pfx, v, sc);
}

/* ---------------------------------------------------------------------------------------------
 * DLC's HeatmapHead: DeconvModule = ConvTranspose2d(k, stride s, padding 0) layers with a ReLU
 * between them (nn.Sequential indexes 0, 2, 4, ...), then an optional final Conv2d (padding 0)
 * ------------------------------------------------------------------------------------------- */
static int head_layer(dlc3_w *w, const char *key, int x, int64_t wd[4], int convt, int stride)
{
    int64_t bd[1] = {convt ? wd[1] : wd[0]};
    const nn_pt *t = dlc3_tensor(w, 4, wd, "%s.weight", key);
    const nn_pt *bias = dlc3_tensor(w, 1, bd, "%s.bias", key);
    int64_t pads[4] = {0, 0, 0, 0};
    nn_const cw, cb;

    if (!t || !bias)
        return nn_build_error(w->b, NULL);
    cw = view(t);
    cb = view(bias);
    if (convt)
        return nn_build_convt(w->b, key, x, &cw, &cb, stride, pads);
    return nn_build_conv(w->b, key, x, &cw, &cb, 1, 1, pads, 1);
}

static int deconv_layers(dlc3_w *w, const char *pfx, const char *what, const dlc3_deconv *d, int x,
                         int64_t in_ch);

/* pfx "heads.bodypart.heatmap_head"; x the backbone's features with in_ch channels. */
static int build_deconv(dlc3_w *w, const char *pfx, const char *what, const dlc3_deconv *d, int x,
                        int64_t in_ch)
{
    const char *who = w->arch;
    int v0;

    w->arch = "the pytorch_config"; /* the head's shapes are the config's */
    v0 = deconv_layers(w, pfx, what, d, x, in_ch);
    w->arch = who;
    return v0;
}

static int deconv_layers(dlc3_w *w, const char *pfx, const char *what, const dlc3_deconv *d, int x,
                         int64_t in_ch)
{
    char key[512];
    int v = x;

    if (d->channels[0] != in_ch)
        return nn_build_fail(w->b, VAS_EINVAL,
                             "pytorch_config: model.heads.bodypart.%s.channels[0] is %lld but "
                             "the backbone's weights give %lld channels",
                             what, (long long)d->channels[0], (long long)in_ch);
    for (int i = 0; i < d->n_layers; i++) {
        int64_t wd[4] = {d->channels[i], d->channels[i + 1], d->kernel[i], d->kernel[i]};
        snprintf(key, sizeof(key), "%s.deconv_layers.%d", pfx, 2 * i);
        if (i > 0) {
            char relu[528];
            snprintf(relu, sizeof(relu), "%s.relu", key);
            v = nn_build_unary(w->b, "Relu", relu, v);
        }
        v = head_layer(w, key, v, wd, 1, d->stride[i]);
    }
    if (d->final_out) {
        int64_t wd[4] = {d->final_out, d->channels[d->n_layers], d->final_k, d->final_k};
        snprintf(key, sizeof(key), "%s.final_conv", pfx);
        v = head_layer(w, key, v, wd, 0, 1);
    }
    return v;
}

/* Every key a builder did not read, but BatchNorm's step counters, is refused by name. */
static int check_unused(dlc3_w *w)
{
    if (nn_build_error(w->b, NULL) < 0)
        return nn_build_error(w->b, NULL);
    for (int i = 0; i < w->n; i++) {
        const char *k = nn_pt_key(w->sd, i);
        if (!w->used[i] && !(k && ends_with(k, ".num_batches_tracked")))
            return nn_build_fail(w->b, VAS_EINVAL,
                                 "unexpected state dict key %s: not part of %s and DLC's heatmap "
                                 "head as the pytorch_config describes them",
                                 k ? k : "(not a string)", w->arch);
    }
    return VAS_OK;
}

static int build_graph(dlc3_w *w, const dlc3_spec *s, nn_graph **out, vas_err *e)
{
    static const char *const names[2] = {"heatmap", "locref"};
    int outs[2], n = 1, img, feat;
    int64_t ch = 0;
    int rc = nn_build_new(&w->b, e);

    if (rc < 0)
        return rc;
    img = nn_build_input(w->b, "image", 3);
    feat = s->backbone == DLC3_RESNET ? dlc3_resnet_build(w, s, img, &ch)
                                      : dlc3_hrnet_build(w, s, img, &ch);
    outs[0] = build_deconv(w, "heads.bodypart.heatmap_head", "heatmap_config", &s->hm, feat, ch);
    if (s->apply_sigmoid)
        outs[0] = nn_build_unary(w->b, "Sigmoid", "heads.bodypart.sigmoid", outs[0]);
    if (s->locref)
        outs[n++] =
            build_deconv(w, "heads.bodypart.locref_head", "locref_config", &s->lr, feat, ch);
    else
        dlc3_skip(w, "heads.bodypart.locref_head."); /* computed by DLC, never read */
    check_unused(w);
    rc = nn_build_finish(w->b, outs, names, n, out, e);
    w->b = NULL;
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */
/* "snapshot-best-008.pt" -> "best-8", "..._snapshot-200.pt" -> "200" (data/snapshots.py uid). */
static void snapshot_uid(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/'), *dash;
    long ep;
    char *end;

    base = base ? base + 1 : path;
    out[0] = '\0';
    if (!ends_with(base, ".pt") || !(dash = strrchr(base, '-')))
        return;
    ep = strtol(dash + 1, &end, 10);
    if (end == dash + 1 || strcmp(end, ".pt") != 0)
        return;
    snprintf(out, n, "%s%ld", strstr(base, "-best-") ? "best-" : "", ep);
}

static void describe(const dlc3_spec *s, model_net *m)
{
    char head[48];
    int k = s->hm.n_layers;

    snprintf(head, sizeof(head), "DLC heatmap head, %d deconv layer%s%s", k, k == 1 ? "" : "s",
             s->hm.final_out ? " + final conv" : "");
    if (s->backbone == DLC3_RESNET)
        snprintf(m->arch, sizeof(m->arch), "timm %.40s (%s), output stride %d, %s", s->model_name,
                 s->gn ? "GroupNorm 32" : "BatchNorm", s->output_stride, head);
    else
        snprintf(m->arch, sizeof(m->arch), "timm %.40s branch 0%s (stride %g), %s", s->model_name,
                 s->hr_incre ? " with increased channel count" : "", s->backbone_stride, head);
    snprintf(m->net_type, sizeof(m->net_type), "%s", s->net_type[0] ? s->net_type : s->model_name);
    m->stride = s->stride;
    m->locref = s->locref;
    m->locref_std = s->locref_std;
    m->sigmoid = s->apply_sigmoid;
    m->bgr = s->bgr;
    memcpy(m->mean, s->mean, sizeof(m->mean));
    memcpy(m->std, s->std, sizeof(m->std));
    m->pad_multiple = s->pad_multiple > 1 ? s->pad_multiple : 0;
    m->pad_reflect = s->pad_multiple > 1 && s->pad_reflect;
}

static int fill(const char *path, const dlc3_spec *s, const nn_pt *sd, model_net *m, vas_err *e)
{
    describe(s, m);
    snprintf(m->weights, sizeof(m->weights), "%s", path);
    snapshot_uid(path, m->snapshot_uid, sizeof(m->snapshot_uid));
    for (int i = 0; i < s->n_joints; i++) {
        if (!(m->bodyparts[i] = strdup(json_string_value(json_array_get(s->bodyparts, i)))))
            return err_set(e, VAS_ENOMEM, "out of memory reading %s", path);
        m->n_bodyparts = i + 1;
    }
    for (int i = 0; i < nn_pt_len(sd); i++) {
        const char *k = nn_pt_key(sd, i);
        if (nn_pt_type(nn_pt_at(sd, i)) != NN_PT_TENSOR || !k)
            return err_set(e, VAS_EINVAL, "%s: the state dict holds a %s that is not a tensor",
                           path, k ? k : "key");
        if (!is_stat(k))
            m->params += nn_pt_numel(nn_pt_at(sd, i));
    }
    return VAS_OK;
}

/* The state dict and the config of a snapshot or an export. */
static int open_pt(const char *path, const nn_pt *root, const json_t *cfg, const nn_pt **sd,
                   json_t **cfg_out, int *is_export, vas_err *e)
{
    const nn_pt *c;

    *sd = nn_pt_get(root, "model");
    *is_export = !*sd;
    if (!*sd)
        *sd = nn_pt_get(root, "pose");
    if (nn_pt_type(*sd) != NN_PT_DICT)
        return err_set(e, VAS_EINVAL,
                       "%s is not a DeepLabCut 3 snapshot or export: no \"model\" or \"pose\" "
                       "state dict",
                       path);
    if (cfg) {
        *cfg_out = json_incref((json_t *)cfg);
        return VAS_OK;
    }
    if (!(c = nn_pt_get(root, "config")))
        return err_set(e, VAS_EINVAL,
                       "%s has no \"config\": a training snapshot is read with its shuffle's "
                       "train/pytorch_config.yaml",
                       path);
    return dlc3_config_from_pt(c, cfg_out, e);
}

int dlc3_net_load(const char *pt_path, const json_t *cfg, int build, model_net *out,
                  json_t **cfg_used, vas_err *e)
{
    nn_pt *root = NULL;
    const nn_pt *sd = NULL;
    json_t *conf = NULL;
    dlc3_spec spec;
    dlc3_w w = {0};
    char who[80];
    int is_export = 0, rc;

    model_net_clear(out);
    rc = nn_pt_load(pt_path, &root, e);
    if (rc >= 0)
        rc = open_pt(pt_path, root, cfg, &sd, &conf, &is_export, e);
    if (rc >= 0)
        rc = dlc3_spec_read(conf, &spec, e);
    if (rc >= 0)
        rc = fill(pt_path, &spec, sd, out, e);
    out->format = is_export ? "dlc3-export" : "dlc3-snapshot";
    if (rc >= 0 && build) {
        w.sd = sd;
        w.n = nn_pt_len(sd);
        snprintf(who, sizeof(who), "timm %s", spec.model_name);
        w.arch = who;
        if (!(w.used = calloc((size_t)w.n + 1, 1)))
            rc = err_set(e, VAS_ENOMEM, "out of memory reading %s", pt_path);
        else
            rc = build_graph(&w, &spec, &out->graph, e);
    }
    free(w.used);
    nn_pt_free(root);
    malloc_trim(0); /* the .pt's floats (the weights' size) back to the system, not kept by the
                       heap for the plan to fill: resident memory stays near one copy */
    if (rc < 0) {
        json_decref(conf);
        model_net_clear(out);
        return rc;
    }
    if (cfg_used)
        *cfg_used = conf;
    else
        json_decref(conf);
    return VAS_OK;
}
