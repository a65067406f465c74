/* nn_session.c - per-thread sessions: a oneDNN engine and stream, and a small cache of plans,
 * one per input size (N, H, W), so that a new size is planned once.
 *
 * int8 sessions (nn.h) also hold their calibration: until it has seen int8_frames frames, runs use
 * float plans that record every activation's range; then int8 plans are made from those ranges
 * (and the float plans are dropped, at the next run: the last one's outputs are still read).
 *
 * Threads: a session is used by the thread that made it (see nn.h). The thread count is an
 * OpenMP setting of that thread, applied before planning (oneDNN picks its blocking for it). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

#define NN_PLANS 4 /* sizes kept per session; the least recently used is dropped */
/* A batch of frames of at least this many pixels each runs one frame at a time. */
#define NN_SPLIT_PIXELS 65536

struct nn_session {
    const nn_graph *g; /* borrowed */
    nn_options opt;
    dnnl_engine_t eng;        /* owned */
    dnnl_stream_t stream;     /* owned */
    nn_plan *plans[NN_PLANS]; /* owned; plans[0] is the most recently used */
    nn_ranges cal;            /* int8 sessions: the calibration so far */
    int batch;                /* frames of the last run when it ran them one by one, else 0 */
    float **bout;             /* owned, one per graph output: that run's outputs, batch frames */
    size_t *bcap;             /* floats each bout holds */
};

static int64_t int8_target(const nn_session *s)
{
    return s->opt.int8_frames > 0 ? s->opt.int8_frames : NN_INT8_FRAMES;
}

/* int8 sessions: 1 once calibrated (runs use int8 plans). */
static int int8_ready(const nn_session *s)
{
    return s->opt.int8 && s->cal.frames >= int8_target(s);
}

/* Frees the plans of one kind (int8 or float), keeping the others in their order. */
static void drop_plans(nn_session *s, int int8)
{
    int k = 0;

    for (int i = 0; i < NN_PLANS; i++) {
        nn_plan *p = s->plans[i];
        s->plans[i] = NULL;
        if (p && nn_plan_is_int8(p) == int8)
            nn_plan_free(p);
        else if (p)
            s->plans[k++] = p;
    }
}

/* Why s cannot be made with opt, or VAS_OK. */
static int check_options(const nn_options *o, vas_err *e)
{
    /* Without bf16 dot products oneDNN would emulate bf16, slower than fp32: refuse instead of
     * running silently slower. */
    if (o->bf16 && !(nn_cpu_features() & NN_CPU_AVX512_BF16))
        return err_set(e, VAS_EUNSUPPORTED,
                       "bf16 was asked for but this CPU has no %s (it has: %s)",
                       nn_cpu_feature_name(NN_CPU_AVX512_BF16), nn_cpu_describe());
    if (o->int8 && o->bf16)
        return err_set(e, VAS_EINVAL, "int8 and bf16 were both asked for: choose one");
    /* oneDNN's fast int8 kernels start at AVX2 (vpmaddubsw); below it int8 is slower than fp32. */
    if (o->int8 && !(nn_cpu_features() & NN_CPU_AVX2))
        return err_set(e, VAS_EUNSUPPORTED,
                       "int8 was asked for but this CPU has no %s (it has: %s)",
                       nn_cpu_feature_name(NN_CPU_AVX2), nn_cpu_describe());
    if (o->int8_zp < NN_ZP_AUTO || o->int8_zp > NN_ZP_OFF)
        return err_set(e, VAS_EINVAL, "int8 zero-point mode must be %d to %d, not %d", NN_ZP_AUTO,
                       NN_ZP_OFF, o->int8_zp);
    if (o->int8_frames < 0 || o->int8_frames > 100000)
        return err_set(e, VAS_EINVAL, "int8 calibration frames must be 0 to 100000, not %d",
                       o->int8_frames);
    return VAS_OK;
}

int nn_session_new(const nn_graph *g, const nn_options *opt, nn_session **out, vas_err *e)
{
    nn_session *s = calloc(1, sizeof(*s));
    int rc;

    if (!s)
        return err_set(e, VAS_ENOMEM, "out of memory creating a session");
    s->g = g;
    if (opt)
        s->opt = *opt;
    rc = check_options(&s->opt, e);
    if (rc == VAS_OK && s->opt.int8)
        rc = nn_ranges_init(&s->cal, g, e);
    if (rc < 0) {
        nn_session_free(s);
        return rc;
    }
    if (dnnl_engine_create(&s->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&s->stream, s->eng, dnnl_stream_default_flags) != dnnl_success) {
        nn_session_free(s);
        return err_set(e, VAS_EIO, "cannot create a oneDNN CPU engine");
    }
    *out = s;
    return VAS_OK;
}

void nn_session_free(nn_session *s)
{
    if (!s)
        return;
    for (int i = 0; i < NN_PLANS; i++)
        nn_plan_free(s->plans[i]);
    if (s->stream)
        dnnl_stream_destroy(s->stream);
    if (s->eng)
        dnnl_engine_destroy(s->eng);
    nn_ranges_free(&s->cal);
    for (int i = 0; s->bout && i < nn_graph_n_outputs(s->g); i++)
        free(s->bout[i]);
    free(s->bout);
    free(s->bcap);
    free(s);
}

/* Moves the plan for (n, h, w) (int8 or float) to plans[0], planning it if needed. */
static int session_plan(nn_session *s, int n, int h, int w, int int8, vas_err *e)
{
    nn_plan *p = NULL;
    int at = -1, rc;

    for (int i = 0; i < NN_PLANS; i++)
        if (s->plans[i] && nn_plan_matches(s->plans[i], n, h, w, int8))
            at = i;
    if (at == 0)
        return VAS_OK;
    if (at > 0) {
        p = s->plans[at];
    } else {
        if (s->opt.threads > 0)
            omp_set_num_threads(s->opt.threads);
        rc = nn_plan_new(s->g, &s->opt, int8 ? &s->cal : NULL, s->eng, n, h, w, &p, e);
        if (rc < 0)
            return rc;
        at = NN_PLANS - 1;
        nn_plan_free(s->plans[at]);
    }
    memmove(&s->plans[1], &s->plans[0], (size_t)at * sizeof(nn_plan *));
    s->plans[0] = p;
    return VAS_OK;
}

/* A batch of large frames runs one frame at a time, on the plan for one frame: each frame's
 * activations stay in cache between steps, where a batch's are streamed through memory at every
 * step (DESIGN in nn.h). Only where the model's batch size is free and its channel count known,
 * and while every output's first dimension is the batch (checked on the plan). */
static int split_batch(const nn_session *s, int n, int h, int w)
{
    return n > 1 && s->g->in_dims[0] <= 0 && s->g->in_dims[1] > 0 &&
           (int64_t)h * w >= NN_SPLIT_PIXELS && !s->opt.no_split;
}

/* Frame i of n of the last run: its outputs copied into the session's batch outputs. */
static int keep_outputs(nn_session *s, int i, int n, vas_err *e)
{
    int no = nn_graph_n_outputs(s->g);

    if (!s->bout) {
        s->bout = calloc((size_t)no, sizeof(*s->bout));
        s->bcap = calloc((size_t)no, sizeof(*s->bcap));
        if (!s->bout || !s->bcap)
            return err_set(e, VAS_ENOMEM, "out of memory for a batch's outputs");
    }
    for (int o = 0; o < no; o++) {
        const float *d;
        nn_tensor_info t;
        size_t cnt = 1;
        nn_plan_output(s->plans[0], o, &d, &t);
        for (int k = 0; k < t.ndims; k++)
            cnt *= (size_t)t.dims[k];
        if (t.ndims < 1 || t.dims[0] != 1)
            return err_set(e, VAS_EUNSUPPORTED, "output '%s' is not one per frame", t.name);
        if (s->bcap[o] < cnt * (size_t)n) {
            float *nb = realloc(s->bout[o], cnt * (size_t)n * sizeof(float));
            if (!nb)
                return err_set(e, VAS_ENOMEM, "out of memory for a batch's outputs");
            s->bout[o] = nb;
            s->bcap[o] = cnt * (size_t)n;
        }
        memcpy(s->bout[o] + cnt * (size_t)i, d, cnt * sizeof(float));
    }
    return VAS_OK;
}

int nn_session_run(nn_session *s, const float *input, int n, int h, int w, vas_err *e)
{
    int rc, q, split = split_batch(s, n, h, w);

    if (n <= 0 || h <= 0 || w <= 0 || n > 4096 || h > 16384 || w > 16384)
        return err_set(e, VAS_EINVAL, "bad input size %d x %d x %d", n, h, w);
    if ((s->g->in_dims[0] > 0 && s->g->in_dims[0] != n) ||
        (s->g->in_dims[2] > 0 && s->g->in_dims[2] != h) ||
        (s->g->in_dims[3] > 0 && s->g->in_dims[3] != w))
        return err_set(e, VAS_EINVAL, "the model's input is fixed at %lld x %lld x %lld x %lld",
                       (long long)s->g->in_dims[0], (long long)s->g->in_dims[1],
                       (long long)s->g->in_dims[2], (long long)s->g->in_dims[3]);
    q = int8_ready(s);
    if (q)
        drop_plans(s, 0); /* calibration is over: its float plans are not used again */
    rc = session_plan(s, split ? 1 : n, h, w, q, e);
    if (rc < 0)
        return rc;
    if (s->opt.threads > 0)
        omp_set_num_threads(s->opt.threads);
    s->batch = 0;
    if (!split)
        rc = nn_plan_run(s->plans[0], s->stream, input, s->opt.int8 && !q ? &s->cal : NULL, e);
    for (int i = 0; split && rc == VAS_OK && i < n; i++) {
        size_t frame = (size_t)s->g->in_dims[1] * (size_t)h * (size_t)w;
        rc = nn_plan_run(s->plans[0], s->stream, input + frame * (size_t)i,
                         s->opt.int8 && !q ? &s->cal : NULL, e);
        if (rc == VAS_OK)
            rc = keep_outputs(s, i, n, e);
    }
    if (split && rc == VAS_OK)
        s->batch = n;
    if (rc == VAS_OK && s->opt.int8 && !q)
        s->cal.frames += n;
    return rc;
}

void nn_session_recalibrate(nn_session *s)
{
    if (!s->opt.int8)
        return;
    nn_ranges_clear(&s->cal);
    drop_plans(s, 1);
}

int64_t nn_session_int8_frames(const nn_session *s)
{
    return s->opt.int8 ? s->cal.frames : 0;
}

int nn_session_int8_convs(const nn_session *s)
{
    return s->plans[0] ? nn_plan_int8_convs(s->plans[0]) : 0;
}

int nn_session_int8_offsets(const nn_session *s)
{
    return s->plans[0] ? nn_plan_int8_offsets(s->plans[0]) : 0;
}

int nn_session_threads(const nn_session *s)
{
    return s->opt.threads;
}

void nn_session_set_threads(nn_session *s, int threads)
{
    s->opt.threads = threads > 0 ? threads : 0;
}

int nn_session_wino_convs(const nn_session *s)
{
    return s->plans[0] ? nn_plan_wino_convs(s->plans[0]) : 0;
}

int nn_session_int8_input(const nn_session *s)
{
    return s->plans[0] ? nn_plan_int8_input(s->plans[0]) : 0;
}

int nn_session_output(const nn_session *s, int i, const float **data, nn_tensor_info *info,
                      vas_err *e)
{
    if (!s->plans[0])
        return err_set(e, VAS_EINVAL, "no run yet");
    if (nn_plan_output(s->plans[0], i, data, info) < 0)
        return err_set(e, VAS_EINVAL, "no output %d", i);
    if (s->batch) { /* frame by frame: the outputs kept */
        *data = s->bout[i];
        if (info)
            info->dims[0] = s->batch;
    }
    return VAS_OK;
}

double nn_session_flops(const nn_session *s)
{
    return s->plans[0] ? nn_plan_flops(s->plans[0]) * (s->batch ? s->batch : 1) : 0;
}

const char *nn_session_layout(const nn_session *s)
{
    return s->plans[0] ? nn_plan_layout(s->plans[0]) : "none";
}

size_t nn_session_arena_bytes(const nn_session *s)
{
    return s->plans[0] ? nn_plan_arena_bytes(s->plans[0]) : 0;
}

size_t nn_session_weight_bytes(const nn_session *s)
{
    return s->plans[0] ? nn_plan_weight_bytes(s->plans[0]) : 0;
}

size_t nn_session_bytes(const nn_session *s)
{
    size_t n = sizeof(*s);

    for (int i = 0; i < s->g->n_vals; i++) {
        const nn_const *c = s->g->vals[i].c;
        if (c)
            n += (size_t)c->count * (c->dtype == NN_I64 ? sizeof(int64_t) : sizeof(float));
    }
    for (int i = 0; i < NN_PLANS; i++)
        if (s->plans[i])
            n += nn_plan_arena_bytes(s->plans[i]) + nn_plan_weight_bytes(s->plans[i]);
    return n;
}
