/* nn_session.c - per-thread sessions: a oneDNN engine and stream, and a small cache of plans,
 * one per input size (N, H, W), so that a new size is planned once.
 *
 * Threads: a session is used by the thread that made it (see nn.h). The thread count is an
 * OpenMP setting of that thread, applied before planning (oneDNN picks its blocking for it). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_cpu.h"
#include "nn/nn_plan_int.h"

#define NN_PLANS 4 /* sizes kept per session; the least recently used is dropped */

struct nn_session {
    const nn_graph *g; /* borrowed */
    nn_options opt;
    dnnl_engine_t eng;        /* owned */
    dnnl_stream_t stream;     /* owned */
    nn_plan *plans[NN_PLANS]; /* owned; plans[0] is the most recently used */
};

int nn_session_new(const nn_graph *g, const nn_options *opt, nn_session **out, vas_err *e)
{
    nn_session *s = calloc(1, sizeof(*s));

    if (!s)
        return err_set(e, VAS_ENOMEM, "out of memory creating a session");
    s->g = g;
    if (opt)
        s->opt = *opt;
    /* Without bf16 dot products oneDNN would emulate bf16, slower than fp32: refuse instead of
     * running silently slower. */
    if (s->opt.bf16 && !(nn_cpu_features() & NN_CPU_AVX512_BF16)) {
        free(s);
        return err_set(e, VAS_EUNSUPPORTED,
                       "bf16 was asked for but this CPU has no %s (it has: %s)",
                       nn_cpu_feature_name(NN_CPU_AVX512_BF16), nn_cpu_describe());
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
    free(s);
}

/* Moves the plan for (n, h, w) to plans[0], planning it if needed. */
static int session_plan(nn_session *s, int n, int h, int w, vas_err *e)
{
    nn_plan *p = NULL;
    int at = -1, rc;

    for (int i = 0; i < NN_PLANS; i++)
        if (s->plans[i] && nn_plan_matches(s->plans[i], n, h, w))
            at = i;
    if (at == 0)
        return VAS_OK;
    if (at > 0) {
        p = s->plans[at];
    } else {
        if (s->opt.threads > 0)
            omp_set_num_threads(s->opt.threads);
        rc = nn_plan_new(s->g, &s->opt, s->eng, n, h, w, &p, e);
        if (rc < 0)
            return rc;
        at = NN_PLANS - 1;
        nn_plan_free(s->plans[at]);
    }
    memmove(&s->plans[1], &s->plans[0], (size_t)at * sizeof(nn_plan *));
    s->plans[0] = p;
    return VAS_OK;
}

int nn_session_run(nn_session *s, const float *input, int n, int h, int w, vas_err *e)
{
    int rc;

    if (n <= 0 || h <= 0 || w <= 0 || n > 4096 || h > 16384 || w > 16384)
        return err_set(e, VAS_EINVAL, "bad input size %d x %d x %d", n, h, w);
    if ((s->g->in_dims[0] > 0 && s->g->in_dims[0] != n) ||
        (s->g->in_dims[2] > 0 && s->g->in_dims[2] != h) ||
        (s->g->in_dims[3] > 0 && s->g->in_dims[3] != w))
        return err_set(e, VAS_EINVAL, "the model's input is fixed at %lld x %lld x %lld x %lld",
                       (long long)s->g->in_dims[0], (long long)s->g->in_dims[1],
                       (long long)s->g->in_dims[2], (long long)s->g->in_dims[3]);
    rc = session_plan(s, n, h, w, e);
    if (rc < 0)
        return rc;
    if (s->opt.threads > 0)
        omp_set_num_threads(s->opt.threads);
    return nn_plan_run(s->plans[0], s->stream, input, e);
}

int nn_session_output(const nn_session *s, int i, const float **data, nn_tensor_info *info,
                      vas_err *e)
{
    if (!s->plans[0])
        return err_set(e, VAS_EINVAL, "no run yet");
    if (nn_plan_output(s->plans[0], i, data, info) < 0)
        return err_set(e, VAS_EINVAL, "no output %d", i);
    return VAS_OK;
}

double nn_session_flops(const nn_session *s)
{
    return s->plans[0] ? nn_plan_flops(s->plans[0]) : 0;
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
