/* dlc3_spec.c - a DeepLabCut 3 pytorch_config (as jansson) read into a dlc3_spec: which backbone,
 * head, predictor and inference transforms, each checked to be one vas builds. Every default is
 * DeepLabCut's (the class defaults in models/backbones/{resnet,hrnet}.py, models/predictors/
 * single_predictor.py, data/transforms.py build_transforms/build_auto_padding); every refusal is
 * one sentence naming the config key. See docs/dlc3-models.md. */
#include "model/dlc3_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PFX "pytorch_config: "

/* The value at a dotted path ("model.backbone.type"); NULL when any part is missing. */
static const json_t *at(const json_t *root, const char *path)
{
    char part[64];
    const json_t *v = root;

    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        v = json_is_object(v) ? json_object_get(v, part) : NULL;
        path += n + (path[n] == '.');
    }
    return v;
}

/* Python's truth value of a config value. */
static int truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_number(v))
        return json_number_value(v) != 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return 1;
}

/* An integral number into *out: 0, or -1 if v is not one. */
static int as_int(const json_t *v, int64_t *out)
{
    double d;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    d = json_real_value(v);
    if (d != floor(d) || fabs(d) > 1e15)
        return -1;
    *out = (int64_t)d;
    return 0;
}

/* A bool at path (def when absent or null). */
static int flag(const json_t *root, const char *path, int def)
{
    const json_t *v = at(root, path);

    return !v || json_is_null(v) ? def : truthy(v);
}

static const char *str_at(const json_t *root, const char *path, const char *def)
{
    const json_t *v = at(root, path);

    return json_is_string(v) ? json_string_value(v) : def;
}

/* ---------------------------------------------------------------------------------------------
 * Task: single-animal bottom-up only
 * ------------------------------------------------------------------------------------------- */
static int read_task(const json_t *cfg, dlc3_spec *s, vas_err *e)
{
    const char *method = str_at(cfg, "method", "bu");
    const json_t *ind = at(cfg, "metadata.individuals"), *bp = at(cfg, "metadata.bodyparts");

    if (strcasecmp(method, "bu") != 0)
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "method \"%s\" is a top-down model (a detector, then a pose per "
                           "animal): vas runs single-animal bottom-up models only",
                       method);
    if (json_is_array(ind) && json_array_size(ind) > 1)
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "metadata.individuals lists %zu animals: this is a multi-animal "
                           "model, and vas runs single-animal models only",
                       json_array_size(ind));
    if (!json_is_array(bp) || json_array_size(bp) < 1)
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "metadata.bodyparts is %s: a single-animal model lists its "
                           "bodyparts there",
                       json_is_string(bp) ? json_string_value(bp) : "missing or empty");
    if (json_array_size(bp) > MODEL_NET_MAX_PARTS)
        return err_set(e, VAS_EUNSUPPORTED, PFX "metadata.bodyparts lists %zu bodyparts (vas: %d)",
                       json_array_size(bp), MODEL_NET_MAX_PARTS);
    for (size_t i = 0; i < json_array_size(bp); i++)
        if (!json_is_string(json_array_get(bp, i)))
            return err_set(e, VAS_EINVAL, PFX "metadata.bodyparts[%zu] is not a name", i);
    s->bodyparts = bp;
    s->n_joints = (int)json_array_size(bp);
    snprintf(s->net_type, sizeof(s->net_type), "%s", str_at(cfg, "net_type", ""));
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Backbone
 * ------------------------------------------------------------------------------------------- */
static const struct {
    const char *name;
    int gn, blocks[4];
} resnets[] = {
    {"resnet50_gn", 1, {3, 4, 6, 3}},
    {"resnet50", 0, {3, 4, 6, 3}},
    {"resnet101", 0, {3, 4, 23, 3}},
    {"resnet152", 0, {3, 8, 36, 3}},
};
/* timm's HRNets with the w18..w64 topology (stage modules 1/1/4/3, 4 blocks a branch). */
static const char *const hrnets[] = {"hrnet_w18", "hrnet_w30", "hrnet_w32", "hrnet_w40",
                                     "hrnet_w44", "hrnet_w48", "hrnet_w64"};
#define SUPPORTED                                                                                  \
    "ResNet (resnet50_gn, resnet50, resnet101, resnet152) and HRNet (hrnet_w18, w30, w32, w40, "   \
    "w44, w48, w64)"

static int read_resnet(const json_t *bb, const char *name, dlc3_spec *s, vas_err *e)
{
    const json_t *os = json_object_get(bb, "output_stride");
    int64_t v = 32; /* DLC's ResNet class default */
    size_t i;

    for (i = 0; i < sizeof(resnets) / sizeof(resnets[0]); i++)
        if (!strcmp(name, resnets[i].name))
            break;
    if (i == sizeof(resnets) / sizeof(resnets[0]))
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "model.backbone.model_name \"%s\" is not a ResNet vas builds "
                           "(supported: " SUPPORTED ")",
                       name);
    s->gn = resnets[i].gn;
    memcpy(s->blocks, resnets[i].blocks, sizeof(s->blocks));
    if (os && !json_is_null(os) && (as_int(os, &v) < 0 || (v != 8 && v != 16 && v != 32)))
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "model.backbone.output_stride must be 8, 16 or 32 (timm's ResNet)");
    s->output_stride = (int)v;
    s->backbone_stride = (double)v;
    return VAS_OK;
}

static int read_hrnet(const json_t *bb, const char *name, dlc3_spec *s, vas_err *e)
{
    const json_t *st = json_object_get(bb, "stride");
    size_t i;

    for (i = 0; i < sizeof(hrnets) / sizeof(hrnets[0]); i++)
        if (!strcmp(name, hrnets[i]))
            break;
    if (i == sizeof(hrnets) / sizeof(hrnets[0]))
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "model.backbone.model_name \"%s\" is not an HRNet vas builds "
                           "(supported: " SUPPORTED ")",
                       name);
    if (flag(bb, "interpolate_branches", 0))
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "model.backbone.interpolate_branches is set (DEKR's multi-animal "
                           "HRNet): vas builds the branch-0 HRNet of single-animal models only");
    s->hr_incre = flag(bb, "increased_channel_count", 0);
    s->backbone_stride = 4; /* DLC's HRNet class default: branch 0 is 1/4 of the input */
    if (st && !json_is_null(st)) {
        if (!json_is_number(st) || json_number_value(st) <= 0)
            return err_set(e, VAS_EINVAL, PFX "model.backbone.stride is not a positive number");
        s->backbone_stride = json_number_value(st);
    }
    return VAS_OK;
}

static int read_backbone(const json_t *cfg, dlc3_spec *s, vas_err *e)
{
    const json_t *bb = at(cfg, "model.backbone"), *ch = at(cfg, "model.backbone_output_channels");
    const char *type = str_at(bb, "type", NULL), *name;
    int64_t c;

    if (truthy(at(cfg, "model.neck")))
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "model.neck is set: vas builds backbone + head models only");
    if (!type)
        return err_set(e, VAS_EINVAL, PFX "model.backbone.type is missing");
    if (!strcmp(type, "ResNet")) {
        s->backbone = DLC3_RESNET;
        name = str_at(bb, "model_name", "resnet50");
    } else if (!strcmp(type, "HRNet")) {
        s->backbone = DLC3_HRNET;
        name = str_at(bb, "model_name", "hrnet_w32");
    } else {
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "backbone type \"%s\" (net_type \"%s\") is not supported by vas "
                           "(supported: " SUPPORTED ")",
                       type, s->net_type);
    }
    snprintf(s->model_name, sizeof(s->model_name), "%s", name);
    s->backbone_channels = ch && as_int(ch, &c) == 0 ? c : -1;
    return s->backbone == DLC3_RESNET ? read_resnet(bb, name, s, e) : read_hrnet(bb, name, s, e);
}

/* ---------------------------------------------------------------------------------------------
 * Head: one "bodypart" HeatmapHead (DeconvModule for heatmap and locref), HeatmapPredictor
 * ------------------------------------------------------------------------------------------- */
/* An int list at key of h into out[max]; its length, or -1. */
static int int_list(const json_t *h, const char *key, int64_t *out, int max)
{
    const json_t *l = json_object_get(h, key);

    if (!json_is_array(l) || json_array_size(l) > (size_t)max)
        return -1;
    for (size_t i = 0; i < json_array_size(l); i++)
        if (as_int(json_array_get(l, i), &out[i]) < 0 || out[i] < 1 || out[i] > (1 << 20))
            return -1;
    return (int)json_array_size(l);
}

static int read_final(const json_t *h, const char *what, dlc3_deconv *d, vas_err *e)
{
    const json_t *fc = json_object_get(h, "final_conv");
    int64_t out, k;

    if (!truthy(fc))
        return VAS_OK;
    if (as_int(json_object_get(fc, "out_channels"), &out) < 0 || out < 1 ||
        as_int(json_object_get(fc, "kernel_size"), &k) < 0 || k < 1 || k > 15)
        return err_set(e, VAS_EINVAL,
                       PFX "model.heads.bodypart.%s.final_conv needs out_channels and a "
                           "kernel_size up to 15",
                       what);
    d->final_out = out;
    d->final_k = (int)k;
    return VAS_OK;
}

static int read_deconv(const json_t *head, const char *what, dlc3_deconv *d, vas_err *e)
{
    const json_t *h = json_object_get(head, what);
    int64_t k[DLC3_MAX_DECONV] = {0}, st[DLC3_MAX_DECONV] = {0};
    int nc, nk, ns;

    if (!truthy(h))
        return VAS_OK; /* locref_config: null means no locref head */
    nc = int_list(h, "channels", d->channels, DLC3_MAX_DECONV + 1);
    nk = int_list(h, "kernel_size", k, DLC3_MAX_DECONV);
    ns = int_list(h, "strides", st, DLC3_MAX_DECONV);
    if (nc < 1 || nk < 0 || ns < 0 || nc != nk + 1 || nk != ns)
        return err_set(e, VAS_EINVAL,
                       PFX "model.heads.bodypart.%s needs channels (one more than kernel_size "
                           "and strides, up to %d layers) as numbers",
                       what, DLC3_MAX_DECONV);
    d->on = 1;
    d->n_layers = nk;
    for (int i = 0; i < nk; i++) {
        if (k[i] > 15 || st[i] > 8)
            return err_set(e, VAS_EUNSUPPORTED,
                           PFX "model.heads.bodypart.%s: kernel %lld or stride %lld is too large",
                           what, (long long)k[i], (long long)st[i]);
        d->kernel[i] = (int)k[i];
        d->stride[i] = (int)st[i];
    }
    return read_final(h, what, d, e);
}

static int64_t deconv_out(const dlc3_deconv *d)
{
    return d->final_out ? d->final_out : d->channels[d->n_layers];
}

static double deconv_stride(const dlc3_deconv *d)
{
    double p = 1;

    for (int i = 0; i < d->n_layers; i++)
        p *= d->stride[i];
    return p;
}

static int read_predictor(const json_t *head, dlc3_spec *s, vas_err *e)
{
    const json_t *p = json_object_get(head, "predictor"), *std;
    const char *type = str_at(p, "type", "(none)");

    if (strcmp(type, "HeatmapPredictor") != 0)
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "model.heads.bodypart.predictor is %s: vas decodes DLC's "
                           "single-animal HeatmapPredictor only",
                       type);
    s->apply_sigmoid = flag(p, "apply_sigmoid", 1); /* the class defaults */
    s->locref = flag(p, "location_refinement", 1);
    s->locref_std = 7.2801;
    std = json_object_get(p, "locref_std");
    if (std && !json_is_null(std)) {
        if (!json_is_number(std))
            return err_set(e, VAS_EINVAL, PFX "predictor.locref_std is not a number");
        s->locref_std = json_number_value(std);
    }
    return VAS_OK;
}

static int check_head_sizes(const dlc3_spec *s, vas_err *e)
{
    if (deconv_out(&s->hm) != s->n_joints)
        return err_set(e, VAS_EINVAL,
                       PFX "heatmap_config gives %lld channels but metadata.bodyparts lists %d",
                       (long long)deconv_out(&s->hm), s->n_joints);
    if (s->locref && !s->lr.on)
        return err_set(e, VAS_EINVAL,
                       PFX "the predictor's location_refinement is on but there is no "
                           "locref_config");
    if (s->lr.on && deconv_out(&s->lr) != (int64_t)2 * s->n_joints)
        return err_set(e, VAS_EINVAL, PFX "locref_config gives %lld channels, not 2 x %d bodyparts",
                       (long long)deconv_out(&s->lr), s->n_joints);
    if (s->lr.on && deconv_stride(&s->lr) != deconv_stride(&s->hm))
        return err_set(e, VAS_EINVAL,
                       PFX "heatmap_config and locref_config have different strides");
    return VAS_OK;
}

static int read_heads(const json_t *cfg, dlc3_spec *s, vas_err *e)
{
    const json_t *heads = at(cfg, "model.heads"), *head;
    const char *key, *type;
    json_t *v;
    int rc;

    if (!json_is_object(heads) || !(head = json_object_get(heads, "bodypart")))
        return err_set(e, VAS_EINVAL, PFX "model.heads.bodypart is missing");
    json_object_foreach((json_t *)heads, key, v) if (strcmp(key, "bodypart") != 0) return err_set(
        e, VAS_EUNSUPPORTED,
        PFX "model.heads has \"%s\": vas runs only the single-animal "
            "\"bodypart\" heatmap head (unique bodyparts and identity are "
            "multi-animal heads)",
        key);
    type = str_at(head, "type", "(none)");
    if (strcmp(type, "HeatmapHead") != 0)
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "model.heads.bodypart.type is %s: vas runs DLC's single-animal "
                           "HeatmapHead only",
                       type);
    if ((rc = read_predictor(head, s, e)) < 0 ||
        (rc = read_deconv(head, "heatmap_config", &s->hm, e)) < 0 ||
        (rc = read_deconv(head, "locref_config", &s->lr, e)) < 0)
        return rc;
    if (!s->hm.on)
        return err_set(e, VAS_EINVAL, PFX "model.heads.bodypart.heatmap_config is missing");
    s->stride = s->backbone_stride / deconv_stride(&s->hm); /* models/model.py _model_stride */
    return check_head_sizes(s, e);
}

/* ---------------------------------------------------------------------------------------------
 * Inference transforms (data.inference, data.colormode)
 * ------------------------------------------------------------------------------------------- */
static int read_padding(const json_t *ap, dlc3_spec *s, vas_err *e)
{
    int64_t hd = 1, wd = 1; /* build_auto_padding's defaults */
    const json_t *v;
    const char *mode = str_at(ap, "border_mode", "reflect_101");

    if (truthy(json_object_get(ap, "min_height")) || truthy(json_object_get(ap, "min_width")))
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "data.inference.auto_padding sets min_height/min_width: vas pads "
                           "to a multiple only");
    if (((v = json_object_get(ap, "pad_height_divisor")) && !json_is_null(v) &&
         (as_int(v, &hd) < 0 || hd < 1 || hd > 1024)) ||
        ((v = json_object_get(ap, "pad_width_divisor")) && !json_is_null(v) &&
         (as_int(v, &wd) < 0 || wd < 1 || wd > 1024)))
        return err_set(e, VAS_EINVAL,
                       PFX "data.inference.auto_padding divisors must be whole numbers 1-1024");
    if (hd != wd && hd > 1 && wd > 1)
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "data.inference.auto_padding pads height to a multiple of %lld and "
                           "width of %lld: vas pads both sides to one multiple",
                       (long long)hd, (long long)wd);
    if (strcmp(mode, "reflect_101") != 0)
        return err_set(e, VAS_EUNSUPPORTED,
                       PFX "data.inference.auto_padding border_mode \"%s\": vas pads with "
                           "reflect_101 only",
                       mode);
    s->pad_multiple = (int)(hd > wd ? hd : wd);
    s->pad_reflect = 1;
    return VAS_OK;
}

static int read_data(const json_t *cfg, dlc3_spec *s, vas_err *e)
{
    static const char *const refused[] = {
        "resize",        "longest_max_size", "hflip",        "affine",   "random_bbox_transform",
        "crop_sampling", "hist_eq",          "motion_blur",  "covering", "elastic_transform",
        "grayscale",     "gaussian_noise",   "top_down_crop"};
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
    static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    const json_t *inf = at(cfg, "data.inference");
    const char *cm = str_at(cfg, "data.colormode", "RGB");

    if (strcmp(cm, "RGB") != 0 && strcmp(cm, "BGR") != 0)
        return err_set(e, VAS_EUNSUPPORTED, PFX "data.colormode is %s, not RGB or BGR", cm);
    s->bgr = cm[0] == 'B';
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (truthy(json_object_get(inf, refused[i])))
            return err_set(e, VAS_EUNSUPPORTED,
                           PFX "data.inference.%s is set: vas does not apply that transform "
                               "before the network",
                           refused[i]);
    s->pad_multiple = 1;
    if (truthy(json_object_get(inf, "auto_padding"))) {
        int rc = read_padding(json_object_get(inf, "auto_padding"), s, e);
        if (rc < 0)
            return rc;
    }
    for (int c = 0; c < 3; c++) {
        /* A.Normalize (ImageNet, on the channels as loaded), else v/255, else raw 0-255. */
        int norm = flag(inf, "normalize_images", 0), unit = flag(inf, "scale_to_unit_range", 0);
        s->mean[c] = norm ? imagenet_mean[c] : 0.0f;
        s->std[c] = norm ? imagenet_std[c] : unit ? 1.0f : 1.0f / 255.0f;
    }
    return VAS_OK;
}

int dlc3_spec_read(const json_t *cfg, dlc3_spec *s, vas_err *e)
{
    int rc;

    memset(s, 0, sizeof(*s));
    if (!json_is_object(cfg))
        return err_set(e, VAS_EINVAL, PFX "not a mapping");
    if ((rc = read_task(cfg, s, e)) < 0 || (rc = read_backbone(cfg, s, e)) < 0 ||
        (rc = read_heads(cfg, s, e)) < 0 || (rc = read_data(cfg, s, e)) < 0)
        return rc;
    return VAS_OK;
}
