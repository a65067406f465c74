/* pose_run.c - see pose_run.h. One run's life: open the network, the pipe and the writers;
 * loop take batch -> (pad) -> infer -> decode -> write rows -> release -> progress; close the
 * writers (renaming their .part files) or abort them all. */
#include "analyses/pose_run.h"

#include "core/log.h"
#include "core/util.h"
#include "media/media_pipe.h"
#include "nn/nn.h"
#include "pose/dlc_csv.h"
#include "pose/dlc_h5.h"
#include "pose/pose_decode.h"
#include "pose/pose_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAD_TO 16 /* network input sides are padded (bottom, right) to a multiple of this */

typedef struct run {
    const pose_model *m;
    const pose_run_opts *o;
    nn_graph *g;
    nn_session *s;
    int heat, loc; /* output indices; loc -1 without location refinement */
    media_pipe *p;
    dlc_csv *csv;
    dlc_h5 *h5;
    pose_json *js;
    int w, h, pw, ph; /* frame size, padded input size */
    float *pad;       /* padded batch when pw/ph differ from w/h */
    double *xyl;      /* one row */
    int64_t infer_ms;
} run;

static char *cat(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);

    if (s)
        snprintf(s, n, "%s%s", a, b);
    return s;
}

static int open_net(run *r, vas_err *e)
{
    nn_options no = {.threads = r->o->threads, .bf16 = r->o->bf16};
    int rc = nn_graph_load(r->m->onnx_path, &r->g, e);

    if (rc < 0)
        return rc;
    r->heat = r->loc = -1;
    for (int i = 0; i < nn_graph_n_outputs(r->g); i++) {
        const char *name = NULL;
        nn_graph_output_name(r->g, i, &name);
        if (name && strcmp(name, r->m->heatmap_name) == 0)
            r->heat = i;
        if (name && r->m->locref && strcmp(name, r->m->locref_name) == 0)
            r->loc = i;
    }
    if (r->heat < 0 || (r->m->locref && r->loc < 0))
        return err_set(e, VAS_EINVAL, "model '%s': the network lacks output '%s' or '%s'",
                       r->m->name, r->m->heatmap_name, r->m->locref_name);
    return nn_session_new(r->g, &no, &r->s, e);
}

static int open_pipe(run *r, const char *video, vas_err *e)
{
    media_norm norm;
    media_pipe_opts po = {.batch = r->o->batch > 0 ? r->o->batch : 4,
                          .depth = 3,
                          .layout = MEDIA_LAYOUT_CHW_F32,
                          .norm = &norm,
                          .threads = 1, /* inference has the cores; one decoder thread keeps up */
                          .cancel = r->o->cancel};
    const media_video_info *vi;
    int rc = media_norm_init(&norm, r->m->mean, r->m->std, r->m->bgr, e);

    if (rc == VAS_OK)
        rc = media_pipe_start(video, &po, &r->p, e);
    if (rc < 0)
        return rc;
    vi = media_pipe_info(r->p);
    r->w = vi->width;
    r->h = vi->height;
    r->pw = (r->w + PAD_TO - 1) / PAD_TO * PAD_TO;
    r->ph = (r->h + PAD_TO - 1) / PAD_TO * PAD_TO;
    if (r->pw != r->w || r->ph != r->h) {
        r->pad = calloc((size_t)po.batch * 3 * (size_t)r->pw * (size_t)r->ph, sizeof(float));
        if (!r->pad)
            return err_set(e, VAS_ENOMEM, "out of memory padding frames");
    }
    r->xyl = calloc((size_t)r->m->n_bodyparts * 3, sizeof(double));
    return r->xyl ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory");
}

static int open_writers(run *r, const char *video, const char *prefix, pose_video_out *out,
                        vas_err *e)
{
    const media_video_info *vi = media_pipe_info(r->p);
    pose_layout l = {.scorer = r->m->scorer,
                     .bodyparts = (const char *const *)r->m->bodyparts,
                     .n_bodyparts = r->m->n_bodyparts};
    const char *base = r->o->name ? NULL : strrchr(video, '/');
    json_t *head;
    int rc;

    out->csv = cat(prefix, ".csv");
    out->h5 = cat(prefix, ".h5");
    out->json = cat(prefix, ".json");
    if (!out->csv || !out->h5 || !out->json)
        return err_set(e, VAS_ENOMEM, "out of memory");
    head = json_pack("{s:s, s:s, s:f, s:i, s:i, s:I, s:s}", "model", r->m->name, "video",
                     r->o->name ? r->o->name
                     : base     ? base + 1
                                : video,
                     "fps", vi->fps, "width", vi->width, "height", vi->height, "frames_estimate",
                     (json_int_t)vi->frames, "codec", vi->codec);
    rc = dlc_csv_open(out->csv, &l, &r->csv, e);
    if (rc == VAS_OK)
        rc = dlc_h5_open(out->h5, &l, &r->h5, e);
    if (rc == VAS_OK)
        rc = pose_json_open(out->json, &l, head, &r->js, e);
    json_decref(head);
    return rc;
}

/* The batch as the network's input: in place, or copied into the padded buffer. */
static const float *net_input(run *r, const media_batch *b)
{
    const float *src = b->data;
    size_t plane = (size_t)r->w * (size_t)r->h, pplane = (size_t)r->pw * (size_t)r->ph;

    if (!r->pad)
        return src;
    for (int i = 0; i < b->n * 3; i++)
        for (int y = 0; y < r->h; y++)
            memcpy(r->pad + (size_t)i * pplane + (size_t)y * (size_t)r->pw,
                   src + (size_t)i * plane + (size_t)y * (size_t)r->w,
                   (size_t)r->w * sizeof(float));
    return r->pad;
}

static int write_rows(run *r, const media_batch *b, vas_err *e)
{
    const float *heat = NULL, *loc = NULL;
    nn_tensor_info hi, li;
    int rc = nn_session_output(r->s, r->heat, &heat, &hi, e);

    if (rc == VAS_OK && r->loc >= 0)
        rc = nn_session_output(r->s, r->loc, &loc, &li, e);
    if (rc < 0)
        return rc;
    if (hi.ndims != 4 || hi.dims[1] != r->m->n_bodyparts)
        return err_set(e, VAS_EINVAL, "model '%s' gives %lld score maps for %d bodyparts",
                       r->m->name, (long long)(hi.ndims == 4 ? hi.dims[1] : -1), r->m->n_bodyparts);
    for (int i = 0; i < b->n && rc == VAS_OK; i++) {
        size_t cells = (size_t)hi.dims[2] * (size_t)hi.dims[3];
        pose_maps pm = {.scores = heat + (size_t)i * (size_t)hi.dims[1] * cells,
                        .locref = loc ? loc + (size_t)i * 2 * (size_t)hi.dims[1] * cells : NULL,
                        .n_joints = r->m->n_bodyparts,
                        .h = (int)hi.dims[2],
                        .w = (int)hi.dims[3],
                        .stride = r->m->stride,
                        .locref_stdev = r->m->locref_stdev};
        rc = pose_decode(&pm, r->xyl, e);
        if (rc == VAS_OK)
            rc = dlc_csv_add_row(r->csv, b->index[i], NULL, r->xyl, e);
        if (rc == VAS_OK)
            rc = dlc_h5_add_row(r->h5, b->index[i], NULL, r->xyl, e);
        if (rc == VAS_OK)
            rc = pose_json_add_row(r->js, b->index[i], NULL, r->xyl, e);
    }
    return rc;
}

static int loop(run *r, pose_video_out *out, vas_err *e)
{
    const media_video_info *vi = media_pipe_info(r->p);
    media_batch b;
    int rc;

    while ((rc = media_pipe_take(r->p, &b, e)) == 1) {
        int64_t t0 = util_mono_ms();
        rc = nn_session_run(r->s, net_input(r, &b), b.n, r->ph, r->pw, e);
        r->infer_ms += util_mono_ms() - t0;
        if (rc == VAS_OK)
            rc = write_rows(r, &b, e);
        media_pipe_release(r->p, &b);
        if (rc < 0)
            return rc;
        out->frames += b.n;
        if (r->o->progress) {
            int64_t total = vi->frames > out->frames ? vi->frames : out->frames;
            rc = r->o->progress(r->o->arg, out->frames, total, e);
            if (rc < 0)
                return rc;
        }
    }
    return rc;
}

static int close_writers(run *r, pose_video_out *out, vas_err *e)
{
    json_t *tail = json_pack("{s:{s:f, s:f}, s:s}", "timings", "seconds", out->seconds,
                             "inference_seconds", out->infer_seconds, "note", out->note);
    int rc = dlc_csv_close(r->csv, e);

    r->csv = NULL;
    if (rc == VAS_OK)
        rc = dlc_h5_close(r->h5, e);
    r->h5 = NULL;
    if (rc == VAS_OK)
        rc = pose_json_close(r->js, tail, e);
    r->js = NULL;
    json_decref(tail);
    return rc;
}

static void run_free(run *r)
{
    dlc_csv_abort(r->csv);
    dlc_h5_abort(r->h5);
    pose_json_abort(r->js);
    media_pipe_free(r->p);
    nn_session_free(r->s);
    nn_graph_free(r->g);
    free(r->pad);
    free(r->xyl);
}

int pose_run_video(const pose_model *m, const char *video, const char *prefix,
                   const pose_run_opts *o, pose_video_out *out, vas_err *e)
{
    pose_run_opts def = {0};
    run r = {.m = m, .o = o ? o : &def};
    int64_t t0 = util_mono_ms();
    media_video_stats st;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = open_net(&r, e);
    if (rc == VAS_OK)
        rc = open_pipe(&r, video, e);
    if (rc == VAS_OK)
        rc = open_writers(&r, video, prefix, out, e);
    if (rc == VAS_OK)
        rc = loop(&r, out, e);
    if (rc == VAS_OK) {
        const media_video_info *vi = media_pipe_info(r.p);
        media_pipe_stats(r.p, &st);
        snprintf(out->note, sizeof(out->note), "%s", st.note);
        out->fps = vi->fps;
        out->width = vi->width;
        out->height = vi->height;
        out->infer_seconds = (double)r.infer_ms / 1000.0;
        out->seconds = (double)(util_mono_ms() - t0) / 1000.0;
        rc = out->frames > 0 ? close_writers(&r, out, e)
                             : err_set(e, VAS_EINVAL, "no frame could be decoded from the video");
    }
    run_free(&r);
    return rc;
}

void pose_video_out_clear(pose_video_out *out)
{
    free(out->csv);
    free(out->h5);
    free(out->json);
    out->csv = out->h5 = out->json = NULL;
}
