/* types.c - the analyses as clients see them (GET /analysis/types): each analysis with what it
 * needs (model kind, files, progress unit), a sentence on what it does, and each argument it
 * takes with its type, default and allowed range, so that a client (the web page) can build its
 * form without knowing the analyses. The ranges here are the checkers' (sleep.c, video.c,
 * label_opts.c, triangulate.c, filter.c); tests/test_analysis_types.c holds the two together. */
#include "analyses/analysis.h"

#include <string.h>

/* Descriptions of the analyses, by name. */
static const struct {
    const char *name, *text;
} about[] = {
    {"sleep", "Waits the given seconds and writes a small CSV: a test that the service runs jobs."},
    {"video",
     "Finds the body parts in every frame of a video: CSV, HDF5 and JSON poses, and plots."},
    {"image", "Finds the body parts in one image, or in every image of an archive (zip, tar)."},
    {"label", "Pose estimation on a video, then a copy of the video with the body parts drawn."},
    {"label-image", "Pose estimation on images, then the images with the body parts drawn."},
    {"triangulate", "3D positions from videos (or 2D pose files) of calibrated cameras, one per "
                    "camera."},
    {"label_3d", "Triangulates the cameras' videos and draws the 3D skeleton as a video."},
    {"filter", "Smooths a pose file (CSV or HDF5) with DeepLabCut's filters: median, spline or "
               "ARIMA."},
};

/* One argument: type is boolean, integer, number, enum, string or bodyparts. dflt and values are
 * JSON text (dflt NULL: no default, the server decides); min and max for integer and number. */
typedef struct arg_spec {
    const char *name, *type, *dflt, *values;
    double min, max;
    const char *text;
} arg_spec;

static const arg_spec specs[] = {
    {"time", "number", NULL, NULL, 0, 604800, "Seconds to wait."},
    {"force", "boolean", "false", NULL, 0, 0,
     "Run again instead of answering from an identical analysis that already finished."},
    {"batch", "integer", NULL, NULL, 1, 64, "Frames per inference batch (default: the server's)."},
    {"snapshot", "string", NULL, NULL, 0, 0,
     "DeepLabCut 3 models: an epoch (5), best, or a snapshot file name (default: DeepLabCut's "
     "pick)."},
    {"displayedbodyparts", "bodyparts", "\"all\"", NULL, 0, 0,
     "The body parts to draw: all, or a comma-separated list of the model's."},
    {"draw_skeleton", "boolean", "false", NULL, 0, 0, "Draw the config's skeleton lines."},
    {"trailpoints", "integer", "0", NULL, 0, 1000,
     "Also draw each part at its previous positions, this many."},
    {"keypoints_only", "boolean", "false", NULL, 0, 0, "Draw the points on black, not the frame."},
    {"pcutoff", "number", NULL, NULL, 0, 1,
     "Likelihood below which a point is not drawn or counted (default: the model's config)."},
    {"dotsize", "number", NULL, NULL, 0, 1000, "Dot radius in pixels (default: the config's)."},
    {"alphavalue", "number", NULL, NULL, 0, 1, "Dot and line opacity (default: the config's)."},
    {"colormap", "string", NULL, NULL, 0, 0,
     "A matplotlib colormap name, such as rainbow or viridis (default: the config's)."},
    {"color_by", "enum", "\"bodypart\"", "[\"bodypart\",\"individual\"]", 0, 0,
     "One colour per body part, or one per animal."},
    {"start", "number", "0", NULL, 0, 1, "Draw from this fraction of the video."},
    {"end", "number", "1", NULL, 0, 1, "Draw up to this fraction of the video."},
    {"outputframerate", "number", NULL, NULL, 0.001, 1000,
     "Frame rate of the labeled video (default: each frame keeps its time)."},
    {"confidence_to_alpha", "boolean", "false", NULL, 0, 0,
     "Fade each dot by its likelihood instead of a fixed opacity."},
    {"filtered", "boolean", "false", NULL, 0, 0, "Filter the poses first (filtertype, ...)."},
    {"filtertype", "enum", "\"median\"", "[\"median\",\"spline\",\"arima\"]", 0, 0,
     "DeepLabCut's filter."},
    {"windowlength", "integer", "5", NULL, 0, 1001,
     "median: the window (odd, 1 or more); spline: the longest gap filled (0: every gap)."},
    {"p_bound", "number", "0.001", NULL, 0, 1,
     "arima: points below this likelihood count as missing."},
    {"ARdegree", "integer", "3", NULL, 0, 10, "arima: the autoregressive order."},
    {"MAdegree", "integer", "1", NULL, 0, 10, "arima: the moving-average order."},
    {"min_cameras", "integer", "2", NULL, 2, 16,
     "A point seen by fewer cameras is left empty (at most the model's cameras)."},
    {"ransac", "boolean", "false", NULL, 0, 0,
     "With 3 or more cameras, drop a view that disagrees with the others (anipose's RANSAC)."},
    {"ransac_threshold", "number", "20", NULL, 0.001, 1e6,
     "ransac: the reprojection error in pixels above which a view is dropped."},
};

/* The spec of argument name, or NULL. */
static const arg_spec *spec_of(const char *name)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (!strcmp(specs[i].name, name))
            return &specs[i];
    return NULL;
}

/* The JSON of one argument of analysis d. */
static json_t *arg_json(const analysis_def *d, const arg_spec *s, vas_err *e)
{
    json_t *a =
        json_pack("{s:s, s:s, s:s}", "name", s->name, "type", s->type, "description", s->text);
    json_t *v;

    if (!a)
        goto nomem;
    v = s->dflt ? json_loads(s->dflt, JSON_DECODE_ANY, NULL) : json_null();
    if (!v || json_object_set_new(a, "default", v) < 0)
        goto nomem;
    if (!strcmp(s->type, "integer") || !strcmp(s->type, "number")) {
        int whole = !strcmp(s->type, "integer");
        if (json_object_set_new(a, "min",
                                whole ? json_integer((json_int_t)s->min) : json_real(s->min)) < 0 ||
            json_object_set_new(a, "max",
                                whole ? json_integer((json_int_t)s->max) : json_real(s->max)) < 0)
            goto nomem;
    }
    if (s->values && json_object_set_new(a, "values", json_loads(s->values, 0, NULL)) < 0)
        goto nomem;
    if (!strcmp(d->name, "sleep") && !strcmp(s->name, "time") &&
        json_object_set_new(a, "required", json_true()) < 0)
        goto nomem;
    return a;
nomem:
    json_decref(a);
    err_set(e, VAS_ENOMEM, "out of memory listing the analyses");
    return NULL;
}

/* The JSON of analysis d, or NULL (e set: an argument without a spec is a bug, said so). */
static json_t *analysis_json(const analysis_def *d, vas_err *e)
{
    static const char *const kinds[] = {NULL, "2d", "3d"};
    const char *text = "";
    json_t *o, *args;

    for (size_t i = 0; i < sizeof(about) / sizeof(about[0]); i++)
        if (!strcmp(about[i].name, d->name))
            text = about[i].text;
    o = json_pack("{s:s, s:o, s:s, s:{s:i, s:i}, s:s, s:[]}", "name", d->name, "model",
                  d->needs_model ? json_string(kinds[d->needs_model]) : json_null(), "unit",
                  d->unit, "inputs", "min", d->min_inputs, "max", d->max_inputs, "description",
                  text, "arguments");
    if (!o)
        return err_set(e, VAS_ENOMEM, "out of memory listing the analyses"), NULL;
    args = json_object_get(o, "arguments");
    for (int i = 0; d->arg_names[i]; i++) {
        const arg_spec *s = spec_of(d->arg_names[i]);
        json_t *a;
        if (!s) {
            err_set(e, VAS_EIO, "analysis '%s': argument '%s' has no description (types.c)",
                    d->name, d->arg_names[i]);
            goto fail;
        }
        if (!(a = arg_json(d, s, e)) || json_array_append_new(args, a) < 0)
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

int analysis_types_json(json_t **out, vas_err *e)
{
    json_t *all = json_array();
    const analysis_def *d;

    *out = NULL;
    if (!all)
        return err_set(e, VAS_ENOMEM, "out of memory listing the analyses");
    for (int i = 0; (d = analysis_at(i)); i++) {
        json_t *o = analysis_json(d, e);
        if (!o || json_array_append_new(all, o) < 0) {
            json_decref(all);
            return o ? err_set(e, VAS_ENOMEM, "out of memory listing the analyses") : e->code;
        }
    }
    *out = all;
    return VAS_OK;
}
