/* pose_sink.c - see pose_sink.h. */
#include "analyses/pose_sink.h"

#include "core/log.h"
#include "core/util.h"
#include "pose/pose_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int open_net(pose_sink *k, const pose_run_opts *o, vas_err *e)
{
    nn_options no = {.threads = o->threads, .bf16 = o->bf16, .int8 = o->int8 || k->m->int8};
    int64_t t0 = util_mono_ms();
    int rc = net_cache_take(o->nets, k->m, &no, &k->net, e);

    k->load_ms = util_mono_ms() - t0;
    if (rc < 0)
        return rc;
    k->g = net_cache_graph(k->net);
    k->s = net_cache_session(k->net);
    nn_session_recalibrate(k->s); /* int8: calibrated on this input, not a warm session's last */
    k->heat = k->loc = -1;
    for (int i = 0; i < nn_graph_n_outputs(k->g); i++) {
        const char *name = NULL;
        nn_graph_output_name(k->g, i, &name);
        if (name && strcmp(name, k->m->heatmap_name) == 0)
            k->heat = i;
        if (name && k->m->locref && strcmp(name, k->m->locref_name) == 0)
            k->loc = i;
    }
    if (k->heat < 0 || (k->m->locref && k->loc < 0))
        return err_set(e, VAS_EINVAL, "model '%s': the network lacks output '%s' or '%s'",
                       k->m->name, k->m->heatmap_name, k->m->locref_name);
    return VAS_OK;
}

int pose_sink_open(pose_sink *k, const pose_model *m, const pose_run_opts *o, const char *prefix,
                   int label_max, const json_t *head, pose_video_out *out, vas_err *e)
{
    pose_layout l = {.scorer = m->scorer,
                     .bodyparts = (const char *const *)m->bodyparts,
                     .n_bodyparts = m->n_bodyparts,
                     .label_max = label_max};
    int rc;

    memset(k, 0, sizeof(*k));
    k->m = m;
    k->o = o;
    k->nets = o->nets;
    rc = open_net(k, o, e);
    if (rc < 0)
        return rc;
    out->csv = util_concat(prefix, ".csv");
    out->h5 = util_concat(prefix, ".h5");
    out->json = util_concat(prefix, ".json");
    if (!out->csv || !out->h5 || !out->json)
        return err_set(e, VAS_ENOMEM, "out of memory");
    rc = dlc_csv_open(out->csv, &l, &k->csv, e);
    if (rc == VAS_OK)
        rc = dlc_h5_open(out->h5, &l, &k->h5, e);
    if (rc == VAS_OK)
        rc = pose_json_open(out->json, &l, head, &k->js, e);
    return rc;
}

/* Row i of the batch (its pose xyl): the three files, then the caller's hook. */
static int write_row(pose_sink *k, int i, int64_t frame, const char *label, const double *xyl,
                     vas_err *e)
{
    size_t pic = (size_t)k->rgb_w * (size_t)k->rgb_h * 3;
    pose_row r = {.frame = frame,
                  .label = label,
                  .xyl = xyl,
                  .rgb = k->rgb ? k->rgb + (size_t)i * pic : NULL,
                  .width = k->rgb_w,
                  .height = k->rgb_h,
                  .timed = k->pts != NULL,
                  .pts = k->pts ? k->pts[i] : 0,
                  .t = k->pts ? (double)k->pts[i] * k->tb : 0};
    pose_json_time tm = {.t = r.t, .pts = r.pts};
    int rc = dlc_csv_add_row(k->csv, frame, label, xyl, e);

    if (rc == VAS_OK)
        rc = dlc_h5_add_row(k->h5, frame, label, xyl, e);
    if (rc == VAS_OK && r.timed)
        rc = pose_json_add_timed_row(k->js, frame, &tm, xyl, e);
    else if (rc == VAS_OK)
        rc = pose_json_add_row(k->js, frame, label, xyl, e);
    if (rc == VAS_OK && k->o && k->o->on_row)
        rc = k->o->on_row(k->o->row_arg, &r, e);
    return rc;
}

void pose_sink_timed(pose_sink *k, int64_t ms)
{
    k->infer_ms += ms;
    if (k->batches++ == 0)
        k->first_ms = ms;
}

int pose_sink_infer(const pose_sink *k, nn_session *s, const float *in, int n, int h, int w,
                    double *xyl, int64_t *ms, vas_err *e)
{
    const float *heat = NULL, *loc = NULL;
    nn_tensor_info hi, li;
    size_t stride = (size_t)3 * (size_t)k->m->n_bodyparts;
    int64_t t0 = util_mono_ms();
    int rc = nn_session_run(s, in, n, h, w, e);

    *ms = util_mono_ms() - t0;
    if (rc != VAS_OK)
        return rc;
    rc = nn_session_output(s, k->heat, &heat, &hi, e);
    if (rc == VAS_OK && k->loc >= 0)
        rc = nn_session_output(s, k->loc, &loc, &li, e);
    if (rc != VAS_OK)
        return rc;
    if (hi.ndims != 4 || hi.dims[1] != k->m->n_bodyparts)
        return err_set(e, VAS_EINVAL, "model '%s' gives %lld score maps for %d bodyparts",
                       k->m->name, (long long)(hi.ndims == 4 ? hi.dims[1] : -1), k->m->n_bodyparts);
    for (int i = 0; i < n && rc == VAS_OK; i++) {
        size_t cells = (size_t)hi.dims[2] * (size_t)hi.dims[3];
        pose_maps pm = {.scores = heat + (size_t)i * (size_t)hi.dims[1] * cells,
                        .locref = loc ? loc + (size_t)i * 2 * (size_t)hi.dims[1] * cells : NULL,
                        .n_joints = k->m->n_bodyparts,
                        .h = (int)hi.dims[2],
                        .w = (int)hi.dims[3],
                        .stride = k->m->stride,
                        .locref_stdev = k->m->locref_stdev};
        rc = pose_decode(&pm, xyl + (size_t)i * stride, e);
    }
    return rc;
}

int pose_sink_write(pose_sink *k, int n, const int64_t *frames, const char *const *labels,
                    const double *xyl, vas_err *e)
{
    size_t stride = (size_t)3 * (size_t)k->m->n_bodyparts;
    int rc = VAS_OK;

    for (int i = 0; i < n && rc == VAS_OK; i++)
        rc = write_row(k, i, frames ? frames[i] : 0, labels ? labels[i] : NULL,
                       xyl + (size_t)i * stride, e);
    return rc;
}

int pose_sink_run(pose_sink *k, const float *in, int n, int h, int w, const int64_t *frames,
                  const char *const *labels, vas_err *e)
{
    int64_t ms = 0;
    int rc;

    if (n > k->xyl_frames) {
        double *x = realloc(k->xyl, (size_t)n * 3 * (size_t)k->m->n_bodyparts * sizeof(*x));
        if (!x)
            return err_set(e, VAS_ENOMEM, "out of memory for the poses of %d frames", n);
        k->xyl = x;
        k->xyl_frames = n;
    }
    rc = pose_sink_infer(k, k->s, in, n, h, w, k->xyl, &ms, e);
    pose_sink_timed(k, ms);
    if (rc != VAS_OK) {
        /* whatever failed (a size refused, oneDNN mid-run, the outputs): not trusted again */
        k->net_failed = 1;
        return rc;
    }
    return pose_sink_write(k, n, frames, labels, k->xyl, e);
}

int pose_sink_close(pose_sink *k, const json_t *tail, vas_err *e)
{
    int rc = dlc_csv_close(k->csv, e);

    k->csv = NULL;
    if (rc == VAS_OK)
        rc = dlc_h5_close(k->h5, e);
    k->h5 = NULL;
    if (rc == VAS_OK)
        rc = pose_json_close(k->js, tail, e);
    k->js = NULL;
    return rc;
}

int pose_sink_finish(pose_sink *k, pose_video_out *out, int64_t t0, const char *empty, vas_err *e)
{
    json_t *tail;
    int rc;

    out->infer_seconds = (double)k->infer_ms / 1000.0;
    out->seconds = (double)(util_mono_ms() - t0) / 1000.0;
    if (out->frames == 0)
        return err_set(e, VAS_EINVAL, "%s", empty);
    tail = json_pack("{s:{s:f, s:f}, s:s}", "timings", "seconds", out->seconds, "inference_seconds",
                     out->infer_seconds, "note", out->note);
    rc = pose_sink_close(k, tail, e);
    json_decref(tail);
    return rc;
}

/* The network back to its cache (or dropped), and the job's line about it. */
static void give_net(pose_sink *k)
{
    net_cache_counts n;
    int hit;

    if (!k->net)
        return;
    hit = net_cache_hit(k->net);
    if (k->net_failed)
        net_cache_drop(k->nets, k->net);
    else
        net_cache_give(k->nets, k->net);
    k->net = NULL;
    if (!k->nets) /* vas analyze: one run a process, nothing to compare */
        return;
    net_cache_count(k->nets, &n);
    log_info("pose",
             "event=network model=%s model_cache=%s load_ms=%lld first_batch_ms=%lld batches=%lld "
             "dropped=%d warm_models=%d warm_bytes=%lld",
             k->m->name, hit ? "hit" : "miss", (long long)k->load_ms, (long long)k->first_ms,
             (long long)k->batches, k->net_failed, n.entries, (long long)n.bytes);
}

void pose_sink_free(pose_sink *k)
{
    dlc_csv_abort(k->csv);
    dlc_h5_abort(k->h5);
    pose_json_abort(k->js);
    give_net(k);
    free(k->xyl);
    memset(k, 0, sizeof(*k));
}
