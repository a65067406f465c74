/* model_info.c - see model_info.h. */
#include "model/model_info.h"

#include "model/model_locate.h"
#include "nn/nn.h"
#include "pose/pose_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: vas model-info [--snapshot S] [--size WxH] [--no-run] PATH\n"
    "  PATH        a model folder or file: a DeepLabCut project (config.yaml), a DLC 3 shuffle,\n"
    "              train folder, snapshot-*.pt or export, a DLC 2 export (pose_cfg.yaml +\n"
    "              snapshot-*.pb), or a vas ONNX bundle\n"
    "  --snapshot  which snapshot: an epoch (\"50\"), \"best\" or a file name (default: DLC's)\n"
    "  --size      the frame size GFLOP are counted for (default 640x480)\n"
    "  --no-run    do not build and plan the network (no GFLOP)\n";

typedef struct info_opts {
    const char *path, *snapshot;
    int w, h, run;
} info_opts;

static int parse(int argc, char **argv, info_opts *o)
{
    o->w = 640;
    o->h = 480;
    o->run = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 1;
        } else if (strcmp(argv[i], "--snapshot") == 0 && i + 1 < argc) {
            o->snapshot = argv[++i];
        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%d", &o->w, &o->h) != 2 || o->w < 16 || o->h < 16 ||
                o->w > 8192 || o->h > 8192)
                return -1;
        } else if (strcmp(argv[i], "--no-run") == 0) {
            o->run = 0;
        } else if (argv[i][0] == '-' || o->path) {
            return -1;
        } else {
            o->path = argv[i];
        }
    }
    return o->path ? 0 : -1;
}

/* GFLOP of one frame of w x h (padded as the model pads), by planning and running it once. */
static int gflop(const pose_model *m, int w, int h, double *out, vas_err *e)
{
    nn_graph *g = NULL;
    nn_session *s = NULL;
    int pad = m->pad_to > 1 ? m->pad_to : 1;
    int pw = (w + pad - 1) / pad * pad, ph = (h + pad - 1) / pad * pad;
    float *in = calloc((size_t)3 * (size_t)pw * (size_t)ph, sizeof(float));
    int rc = in ? pose_model_graph(m, &g, e) : err_set(e, VAS_ENOMEM, "out of memory");

    if (rc == VAS_OK)
        rc = nn_session_new(g, NULL, &s, e);
    if (rc == VAS_OK)
        rc = nn_session_run(s, in, 1, ph, pw, e);
    if (rc == VAS_OK)
        *out = nn_session_flops(s) / 1e9;
    nn_session_free(s);
    nn_graph_free(g);
    free(in);
    return rc;
}

static void report(const pose_model *m)
{
    printf("format:       %s\n", model_kind_name(m->kind));
    printf("weights:      %s\n", m->weights);
    if (m->snapshot_uid[0])
        printf("snapshot:     %s\n", m->snapshot_uid);
    printf("net_type:     %s\n", m->net_type);
    if (m->arch[0])
        printf("architecture: %s\n", m->arch);
    printf("bodyparts:    %d:", m->n_bodyparts);
    for (int i = 0; i < m->n_bodyparts; i++)
        printf("%s %s", i ? "," : "", m->bodyparts[i]);
    printf("\ninput:        %s, (v/255 - mean) / std, mean [%.4g, %.4g, %.4g], std [%.4g, %.4g, "
           "%.4g]\n",
           m->bgr ? "BGR" : "RGB", (double)m->mean[0], (double)m->mean[1], (double)m->mean[2],
           (double)m->std[0], (double)m->std[1], (double)m->std[2]);
    if (m->pad_to > 1)
        printf("padding:      sides up to a multiple of %d, bottom/right, %s\n", m->pad_to,
               m->pad_reflect ? "mirrored (reflect_101)" : "zeros after normalisation");
    else
        printf("padding:      none\n");
    printf("stride:       %g\n", m->stride);
    if (m->locref)
        printf("locref:       on, x %g\n", m->locref_stdev);
    else
        printf("locref:       off\n");
    printf("likelihood:   %s\n",
           m->sigmoid_in_graph ? "sigmoid of the score map" : "score map clipped to [0, 1]");
    if (m->params >= 0)
        printf("parameters:   %lld\n", m->params);
    printf("scorer:       %s\n", m->scorer);
}

int model_info_graph_load(const char *path, nn_graph **out, vas_err *e)
{
    pose_model *m = NULL;
    size_t n = strlen(path);
    int rc;

    if (n > 5 && strcmp(path + n - 5, ".onnx") == 0)
        return nn_graph_load(path, out, e);
    rc = pose_model_load("nn-run", path, 0, &m, e);
    if (rc == VAS_OK)
        rc = pose_model_graph(m, out, e);
    pose_model_free(m);
    return rc;
}

int model_info_main(int argc, char **argv)
{
    info_opts o = {0};
    pose_model *m = NULL;
    vas_err e = {0};
    double gf = 0;
    int rc = parse(argc, argv, &o);

    if (rc != 0) {
        if (rc < 0)
            fputs(help, stderr);
        return rc < 0 ? 2 : 0;
    }
    printf("path:         %s\n", o.path);
    rc = pose_model_load_snapshot("model-info", o.path, o.snapshot, o.run, &m, &e);
    if (rc == VAS_OK) {
        report(m);
        if (o.run && gflop(m, o.w, o.h, &gf, &e) == VAS_OK)
            printf("GFLOP:        %.2f at %dx%d (convolutions)\n", gf, o.w, o.h);
        else if (o.run)
            printf("GFLOP:        not counted: %s\n", e.msg);
    }
    if (rc < 0) {
        printf("status:       refused: %s\n", e.msg);
        return 1;
    }
    printf("status:       ok\n");
    pose_model_free(m);
    return 0;
}
