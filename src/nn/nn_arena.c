/* nn_arena.c - lifetimes, the activation arena, and running a plan.
 *
 * DESIGN. Every runtime value that owns storage (its root: aliases such as Identity share
 * their source's) lives in one arena allocated at plan time. A value is live from the step
 * that writes it to the last step that reads it; two values may share bytes when their
 * lifetimes do not overlap. Offsets are assigned greedily, largest first, at the lowest offset
 * free of every overlapping value. A residual copy before a convolution with a sum post-op is
 * elided when the residual dies there: the convolution then accumulates into the residual's
 * own buffer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_plan_int.h"

static int root_of(const nn_plan *p, int v)
{
    while (p->root[v] != v)
        v = p->root[v];
    return v;
}

static void touch(const nn_plan *p, int v, int s, int *first, int *last)
{
    int r = root_of(p, v);
    if (first[r] < 0 || s < first[r])
        first[r] = s;
    if (s > last[r])
        last[r] = s;
}

static void lifetimes(const nn_plan *p, int *first, int *last)
{
    for (int v = 0; v < p->nv; v++)
        first[v] = last[v] = -1;
    for (int i = 0; i < p->n_steps; i++) {
        const step *s = &p->steps[i];
        for (int a = 0; a < s->n_args; a++)
            if (s->args[a].val >= 0)
                touch(p, s->args[a].val, i, first, last);
        if (s->src >= 0)
            touch(p, s->src, i, first, last);
        if (s->dst >= 0)
            touch(p, s->dst, i, first, last);
    }
}

/* Residual copies whose source dies at the copy become in-place accumulation. */
static void elide_copies(nn_plan *p, int *last)
{
    for (int i = 0; i < p->n_steps; i++) {
        step *s = &p->steps[i];
        int rs, rd;
        if (s->kind != ST_COPY)
            continue;
        rs = root_of(p, s->src);
        rd = root_of(p, s->dst);
        if (last[rs] != i || rs == rd || rs == p->g->input ||
            p->md[rs].data_type != p->md[rd].data_type) /* int8: u8 and s8 stay apart */
            continue;
        s->kind = ST_NOP;
        p->root[rd] = rs;
        if (last[rd] > last[rs])
            last[rs] = last[rd];
    }
}

typedef struct slot {
    int v;
    size_t size, off;
} slot;

static int by_size(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : x->v - y->v;
}

/* Greedy offsets; returns the arena size. */
static size_t assign_offsets(slot *sl, int n, const int *first, const int *last)
{
    size_t total = 0;

    qsort(sl, (size_t)n, sizeof(*sl), by_size);
    for (int i = 0; i < n; i++) {
        size_t off = 0;
        int moved = 1;
        while (moved) {
            moved = 0;
            for (int j = 0; j < i; j++) {
                int a = sl[i].v, b = sl[j].v;
                int overlap = !(last[a] < first[b] || last[b] < first[a]);
                if (overlap && off < sl[j].off + sl[j].size && sl[j].off < off + sl[i].size) {
                    off = sl[j].off + sl[j].size;
                    moved = 1;
                }
            }
        }
        sl[i].off = off;
        if (off + sl[i].size > total)
            total = off + sl[i].size;
    }
    return total;
}

static int bind_memories(nn_plan *p, const slot *sl, int n, vas_err *e)
{
    p->vmem = calloc((size_t)p->nv + 1, sizeof(dnnl_memory_t));
    if (!p->vmem)
        return err_set(e, VAS_ENOMEM, "out of memory binding the arena");
    for (int i = 0; i < n; i++)
        if (dnnl_memory_create(&p->vmem[sl[i].v], &p->md[sl[i].v], p->eng, p->arena + sl[i].off) !=
            dnnl_success)
            return err_set(e, VAS_ENOMEM, "cannot create a oneDNN memory");
    for (int i = 0; i < p->n_steps; i++) {
        step *s = &p->steps[i];
        for (int a = 0; a < s->n_args; a++)
            if (s->args[a].val >= 0)
                s->args[a].mem = p->vmem[root_of(p, s->args[a].val)];
    }
    return VAS_OK;
}

static int bind_scratch(nn_plan *p, vas_err *e)
{
    for (int i = 0; i < p->n_steps; i++)
        if (p->steps[i].scratch > p->scratch_bytes)
            p->scratch_bytes = p->steps[i].scratch;
    p->smem = calloc((size_t)p->n_steps + 1, sizeof(dnnl_memory_t));
    p->scratch = aligned_alloc(64, (p->scratch_bytes + 64) / 64 * 64);
    if (!p->smem || !p->scratch)
        return err_set(e, VAS_ENOMEM, "out of memory for the scratchpad");
    for (int i = 0; i < p->n_steps; i++) {
        step *s = &p->steps[i];
        if (!s->scratch)
            continue;
        if (dnnl_memory_create(&p->smem[i], &s->scratch_md, p->eng, p->scratch) != dnnl_success ||
            s->n_args >= NN_STEP_ARGS)
            return err_set(e, VAS_ENOMEM, "cannot create the scratchpad memory");
        s->args[s->n_args].arg = DNNL_ARG_SCRATCHPAD;
        s->args[s->n_args].val = -1;
        s->args[s->n_args++].mem = p->smem[i];
    }
    return VAS_OK;
}

static int resize_prepare(const nn_plan *p, step *s);

int nn_plan_bind(nn_plan *p, vas_err *e)
{
    int nv = p->nv, n = 0, rc = VAS_OK;
    int *first = malloc(((size_t)nv + 1) * sizeof(int));
    int *last = malloc(((size_t)nv + 1) * sizeof(int));
    slot *sl = calloc((size_t)nv + 1, sizeof(slot));

    if (!first || !last || !sl) {
        rc = err_set(e, VAS_ENOMEM, "out of memory planning the arena");
        goto done;
    }
    for (int v = 0; v < nv; v++)
        p->root[v] = p->tv[v].alias >= 0 ? p->tv[v].alias : v;
    lifetimes(p, first, last);
    elide_copies(p, last);
    for (int v = 0; v < nv; v++) {
        if (root_of(p, v) != v || first[v] < 0)
            continue;
        sl[n].v = v;
        sl[n++].size = (dnnl_memory_desc_get_size(&p->md[v]) + 63) / 64 * 64;
    }
    p->arena_bytes = assign_offsets(sl, n, first, last);
    p->arena = aligned_alloc(64, p->arena_bytes + 64);
    if (!p->arena) {
        rc = err_set(e, VAS_ENOMEM, "out of memory for a %zu-byte arena", p->arena_bytes);
        goto done;
    }
    rc = bind_memories(p, sl, n, e);
    if (rc >= 0)
        rc = bind_scratch(p, e);
    for (int i = 0; rc >= 0 && i < p->n_steps; i++)
        if ((p->steps[i].kind == ST_RESIZE && resize_prepare(p, &p->steps[i]) < 0) ||
            (p->steps[i].kind == ST_COL2IM && nn_col2im_prepare(p, &p->steps[i]) < 0))
            rc = err_set(e, VAS_ENOMEM, "out of memory planning '%s'", p->steps[i].name);
done:
    free(first);
    free(last);
    free(sl);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Resize (NHWC, f32 or bf16): follows the ONNX Resize text for the supported modes
 * ------------------------------------------------------------------------------------------- */
static float src_coord(const resize_p *rp, int64_t o, int64_t in, int64_t outsz, float scale)
{
    switch (rp->ctm) {
    case 2:
        return outsz > 1 ? (float)o * (float)(in - 1) / (float)(outsz - 1) : 0.0f;
    case 3:
        return (float)o / scale;
    case 1:
        if (outsz == 1)
            return 0.0f; /* fall through */
    default:
        return ((float)o + 0.5f) / scale - 0.5f;
    }
}

static int64_t nearest_idx(const resize_p *rp, float x, int64_t in)
{
    float r = rp->nearest == 0   ? ceilf(x - 0.5f)
              : rp->nearest == 1 ? floorf(x + 0.5f)
              : rp->nearest == 2 ? floorf(x)
                                 : ceilf(x);
    int64_t i = (int64_t)r;
    return i < 0 ? 0 : i >= in ? in - 1 : i;
}

/* Source rows/cols and weights of one axis. */
static void axis_map(const resize_p *rp, int64_t in, int64_t out, float scale, int64_t *i0,
                     int64_t *i1, float *f)
{
    for (int64_t o = 0; o < out; o++) {
        float x = src_coord(rp, o, in, out, scale);
        if (!rp->linear) {
            i0[o] = i1[o] = nearest_idx(rp, x, in);
            f[o] = 0;
            continue;
        }
        x = x < 0 ? 0 : x > (float)(in - 1) ? (float)(in - 1) : x;
        i0[o] = (int64_t)floorf(x);
        i1[o] = i0[o] + 1 < in ? i0[o] + 1 : in - 1;
        f[o] = x - (float)i0[o];
    }
}

/* Row and column maps of a resize step, once per plan: y0 y1 (OH each), x0 x1 (OW each) as
 * int64, then fy (OH) and fx (OW) as float. */
static int resize_prepare(const nn_plan *p, step *s)
{
    const nn_tval *ti = &p->tv[s->src], *to = &p->tv[s->dst];
    int64_t H = ti->dims[2], W = ti->dims[3], OH = to->dims[2], OW = to->dims[3];
    int64_t *y0 =
        malloc(sizeof(int64_t) * (size_t)(2 * OH + 2 * OW) + sizeof(float) * (size_t)(OH + OW));

    if (!y0)
        return VAS_ENOMEM;
    s->maps = y0;
    float *fy = (float *)(y0 + 2 * OH + 2 * OW);
    axis_map(&s->rp, H, OH, s->rp.sh, y0, y0 + OH, fy);
    axis_map(&s->rp, W, OW, s->rp.sw, y0 + 2 * OH, y0 + 2 * OH + OW, fy + OH);
    return VAS_OK;
}

static void run_resize(const nn_plan *p, const step *s)
{
    const nn_tval *ti = &p->tv[s->src], *to = &p->tv[s->dst];
    void *src = NULL, *dst = NULL;
    int blk = nn_layout_tag(p, s->src) == dnnl_nChw8c; /* N x C/8 NHWC images of 8 channels */
    int64_t N = ti->dims[0] * (blk ? ti->dims[1] / 8 : 1), C = blk ? 8 : ti->dims[1];
    int64_t H = ti->dims[2], W = ti->dims[3], OH = to->dims[2], OW = to->dims[3];
    const int64_t *y0 = s->maps, *y1 = y0 + OH, *x0 = y1 + OH, *x1 = x0 + OW;
    const float *fy = (const float *)(x1 + OW), *fx = fy + OH;
    int bf = p->bf16;

    dnnl_memory_get_data_handle(p->vmem[root_of(p, s->src)], &src);
    dnnl_memory_get_data_handle(p->vmem[root_of(p, s->dst)], &dst);
    for (int64_t n = 0; n < N; n++) {
        /* Rows over the OpenMP threads oneDNN runs; nearest f32 (HRNet's fuse layers) copies
         * whole pixels. */
#pragma omp parallel for schedule(static)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                size_t d = (size_t)(((n * OH + oy) * OW + ox) * C);
                size_t a = (size_t)(((n * H + y0[oy]) * W + x0[ox]) * C);
                if (!s->rp.linear && !bf) {
                    memcpy((float *)dst + d, (const float *)src + a, (size_t)C * sizeof(float));
                    continue;
                }
                size_t b = (size_t)(((n * H + y0[oy]) * W + x1[ox]) * C);
                size_t c = (size_t)(((n * H + y1[oy]) * W + x0[ox]) * C);
                size_t e = (size_t)(((n * H + y1[oy]) * W + x1[ox]) * C);
                float wy = fy[oy], wx = fx[ox];
                for (int64_t k = 0; k < C; k++) {
                    float top = nn_ld(src, a + k, bf) * (1 - wx) + nn_ld(src, b + k, bf) * wx;
                    float bot = nn_ld(src, c + k, bf) * (1 - wx) + nn_ld(src, e + k, bf) * wx;
                    nn_st(dst, d + k,
                          s->rp.linear ? top * (1 - wy) + bot * wy : nn_ld(src, a + k, bf), bf);
                }
            }
    }
}

/* ---------------------------------------------------------------------------------------------
 * GroupNormalization (NHWC, f32 or bf16): y = (x - mean_g) / sqrt(var_g + eps) * gamma[c] +
 * beta[c], mean and (biased) variance over H x W x the group's channels, as torch.nn.GroupNorm.
 * Statistics are summed in double, so a large map loses nothing to float rounding. Both passes
 * walk the map pixel by pixel over a run of contiguous channels (up to GN_GROUPS groups, up to
 * GN_CHANS channels), so the map is streamed once or twice per pass, never once per group.
 * ------------------------------------------------------------------------------------------- */
#define GN_GROUPS 256
#define GN_CHANS  1024

/* Means and reciprocal standard deviations of groups g0..g0+ng-1 of image n. */
static void gn_stats(const nn_plan *p, const step *s, const void *src, size_t base, int64_t g0,
                     int64_t ng, float *mean, float *rstd)
{
    const nn_tval *t = &p->tv[s->src];
    int64_t C = t->dims[1], HW = t->dims[2] * t->dims[3], cg = C / s->groups;
    double sum[GN_GROUPS] = {0}, sq[GN_GROUPS] = {0}, cnt = (double)(HW * cg);

    for (int64_t i = 0; i < HW; i++) {
        size_t at = base + (size_t)(i * C + g0 * cg);
        for (int64_t g = 0; g < ng; g++) {
            double a = 0, b = 0;
            for (int64_t k = 0; k < cg; k++) {
                double v = nn_ld(src, at + (size_t)(g * cg + k), p->bf16);
                a += v;
                b += v * v;
            }
            sum[g] += a;
            sq[g] += b;
        }
    }
    for (int64_t g = 0; g < ng; g++) {
        double m = sum[g] / cnt, var = sq[g] / cnt - m * m;
        mean[g] = (float)m;
        rstd[g] = (float)(1.0 / sqrt((var > 0 ? var : 0) + (double)s->eps));
    }
}

/* y = (x - m[c]) * a[c] + b[c] for channels c0..c0+cn-1 of image n, ReLU if fused. */
static void gn_apply(const nn_plan *p, const step *s, const void *src, void *dst, size_t base,
                     int64_t c0, int64_t cn, const float *m, const float *a, const float *b)
{
    const nn_tval *t = &p->tv[s->src];
    int64_t C = t->dims[1], HW = t->dims[2] * t->dims[3];
    int bf = p->bf16;

    for (int64_t i = 0; i < HW; i++) {
        size_t at = base + (size_t)(i * C + c0);
        for (int64_t k = 0; k < cn; k++) {
            float y = (nn_ld(src, at + (size_t)k, bf) - m[k]) * a[k] + b[k];
            nn_st(dst, at + (size_t)k, s->relu && y < 0 ? 0.0f : y, bf);
        }
    }
}

/* float32 maps (the common case): one pass summing each channel over the pixels, one applying
 * y = x * A[c] + B[c]; both split over pixels across the OpenMP threads oneDNN uses, each
 * thread summing into its own double accumulators. */
#define GN_MAXC 4096 /* nn_shape refuses more channels */

static void gn_sums_f32(const float *x, int64_t C, int64_t HW, double *S, double *Q)
{
    memset(S, 0, (size_t)C * sizeof(double));
    memset(Q, 0, (size_t)C * sizeof(double));
#pragma omp parallel
    {
        double s[GN_MAXC], q[GN_MAXC];
        memset(s, 0, (size_t)C * sizeof(double));
        memset(q, 0, (size_t)C * sizeof(double));
#pragma omp for schedule(static)
        for (int64_t i = 0; i < HW; i++) {
            const float *r = x + i * C;
#pragma omp simd
            for (int64_t c = 0; c < C; c++) {
                double v = (double)r[c];
                s[c] += v;
                q[c] += v * v;
            }
        }
#pragma omp critical
        for (int64_t c = 0; c < C; c++) {
            S[c] += s[c];
            Q[c] += q[c];
        }
    }
}

static void gn_apply_f32(const float *x, float *y, int64_t C, int64_t HW, const float *A,
                         const float *B, int relu)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < HW; i++) {
        const float *r = x + i * C;
        float *o = y + i * C;
        if (relu) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) {
                float v = r[c] * A[c] + B[c];
                o[c] = v > 0.0f ? v : 0.0f;
            }
        } else {
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
                o[c] = r[c] * A[c] + B[c];
        }
    }
}

static void run_groupnorm_f32(const nn_plan *p, const step *s, const float *src, float *dst)
{
    const nn_tval *t = &p->tv[s->src];
    int64_t N = t->dims[0], C = t->dims[1], HW = t->dims[2] * t->dims[3];
    int64_t G = s->groups, cg = C / G;
    double S[GN_MAXC], Q[GN_MAXC];
    float A[GN_MAXC], B[GN_MAXC];

    for (int64_t n = 0; n < N; n++) {
        const float *x = src + (size_t)(n * HW * C);
        gn_sums_f32(x, C, HW, S, Q);
        for (int64_t g = 0; g < G; g++) {
            double sum = 0, sq = 0, cnt = (double)(HW * cg), m, var, r;
            for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
                sum += S[c];
                sq += Q[c];
            }
            m = sum / cnt;
            var = sq / cnt - m * m;
            r = 1.0 / sqrt((var > 0 ? var : 0) + (double)s->eps);
            for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
                A[c] = (float)(r * s->gamma[c]);
                B[c] = (float)(s->beta[c] - m * r * s->gamma[c]);
            }
        }
        gn_apply_f32(x, dst + (size_t)(n * HW * C), C, HW, A, B, s->relu);
    }
}

static void run_groupnorm(const nn_plan *p, const step *s)
{
    const nn_tval *t = &p->tv[s->src];
    int64_t N = t->dims[0], C = t->dims[1], HW = t->dims[2] * t->dims[3];
    int64_t G = s->groups, cg = C / G;
    float gm[GN_GROUPS], gr[GN_GROUPS], m[GN_CHANS], a[GN_CHANS], b[GN_CHANS];
    void *src = NULL, *dst = NULL;

    dnnl_memory_get_data_handle(p->vmem[root_of(p, s->src)], &src);
    dnnl_memory_get_data_handle(p->vmem[root_of(p, s->dst)], &dst);
    if (!p->bf16 && C <= GN_MAXC) {
        run_groupnorm_f32(p, s, src, dst);
        return;
    }
    for (int64_t n = 0; n < N; n++) {
        size_t base = (size_t)(n * HW * C);
        /* Groups in runs of GN_GROUPS; within a run, channels in chunks of GN_CHANS. */
        for (int64_t g0 = 0; g0 < G; g0 += GN_GROUPS) {
            int64_t ng = G - g0 < GN_GROUPS ? G - g0 : GN_GROUPS;
            gn_stats(p, s, src, base, g0, ng, gm, gr);
            for (int64_t c0 = g0 * cg; c0 < (g0 + ng) * cg; c0 += GN_CHANS) {
                int64_t cn = (g0 + ng) * cg - c0 < GN_CHANS ? (g0 + ng) * cg - c0 : GN_CHANS;
                for (int64_t k = 0; k < cn; k++) {
                    int64_t c = c0 + k, g = c / cg - g0;
                    m[k] = gm[g];
                    a[k] = gr[g] * s->gamma[c];
                    b[k] = s->beta[c];
                }
                gn_apply(p, s, src, dst, base, c0, cn, m, a, b);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * int8 calibration: the range of every value a float plan writes (nn_plan_q.c uses them)
 * ------------------------------------------------------------------------------------------- */
/* Widens value v's range with x[0..n) (NaNs are ignored by the comparisons). */
static void widen(nn_ranges *r, int v, const float *x, size_t n)
{
    float lo = r->lo[v], hi = r->hi[v];

#pragma omp parallel for reduction(min : lo) reduction(max : hi) schedule(static)
    for (size_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    r->lo[v] = lo;
    r->hi[v] = hi;
}

/* Widens r with the value step s wrote (float plans, after the step ran). */
static void observe(const nn_plan *p, const step *s, nn_ranges *r)
{
    int v = -1;
    void *data = NULL;
    size_t n = 1;

    if (s->kind == ST_PRIM) {
        for (int a = 0; a < s->n_args; a++)
            if ((s->args[a].arg == DNNL_ARG_DST || s->args[a].arg == DNNL_ARG_TO) &&
                s->args[a].val >= 0) {
                v = s->args[a].val;
                dnnl_memory_get_data_handle(s->args[a].mem, &data);
            }
    } else if (s->kind == ST_RESIZE || s->kind == ST_GROUPNORM || s->kind == ST_COL2IM ||
               s->kind == ST_DWCONV || s->kind == ST_WINO) {
        v = s->dst;
        dnnl_memory_get_data_handle(p->vmem[root_of(p, v)], &data);
    }
    if (v < 0 || v >= r->n_vals || !data || p->bf16 || p->vdt || p->tv[v].ndims != 4)
        return;
    for (int d = 0; d < 4; d++)
        n *= (size_t)p->tv[v].dims[d];
    widen(r, v, data, n);
}

/* ---------------------------------------------------------------------------------------------
 * Run
 * ------------------------------------------------------------------------------------------- */
int nn_plan_run(nn_plan *p, void *stream, const float *input, nn_ranges *obs, vas_err *e)
{
    dnnl_exec_arg_t a[NN_STEP_ARGS];

    if (dnnl_memory_set_data_handle(p->in_direct ? p->vmem[p->g->input] : p->in_mem,
                                    (void *)input) != dnnl_success)
        return err_set(e, VAS_EINVAL, "cannot bind the input buffer");
    if (obs && p->in_direct && p->g->input < obs->n_vals) /* no re-order step writes it */
        widen(obs, p->g->input, input,
              (size_t)(p->tv[p->g->input].dims[0] * p->tv[p->g->input].dims[1] *
                       p->tv[p->g->input].dims[2] * p->tv[p->g->input].dims[3]));
    for (int i = 0; i < p->n_steps; i++) {
        const step *s = &p->steps[i];
        dnnl_status_t st = dnnl_success;
        if (s->kind == ST_PRIM) {
            for (int k = 0; k < s->n_args; k++) {
                a[k].arg = s->args[k].arg;
                a[k].memory = s->args[k].mem;
            }
            st = dnnl_primitive_execute(s->prim, stream, s->n_args, a);
        } else if (s->kind == ST_COPY) {
            void *from, *to;
            dnnl_stream_wait(stream);
            dnnl_memory_get_data_handle(p->vmem[root_of(p, s->src)], &from);
            dnnl_memory_get_data_handle(p->vmem[root_of(p, s->dst)], &to);
            memcpy(to, from, dnnl_memory_desc_get_size(&p->md[s->dst]));
        } else if (s->kind == ST_INPUTQ) {
            nn_input_q_run(p, input, p->vmem[root_of(p, s->dst)], s);
        } else if (s->kind == ST_COL2IM) {
            dnnl_stream_wait(stream);
            nn_col2im_run(p, p->vmem[root_of(p, s->dst)], s);
        } else if (s->kind == ST_RESIZE) {
            dnnl_stream_wait(stream);
            run_resize(p, s);
        } else if (s->kind == ST_DWCONV) {
            dnnl_stream_wait(stream);
            nn_dw_run(p, p->vmem[root_of(p, s->src)], p->vmem[root_of(p, s->dst)], s);
        } else if (s->kind == ST_WINO) {
            dnnl_stream_wait(stream);
            nn_wino_run(p, p->vmem[root_of(p, s->src)], p->vmem[root_of(p, s->dst)], s);
        } else if (s->kind == ST_GROUPNORM) {
            dnnl_stream_wait(stream);
            run_groupnorm(p, s);
        }
        if (st != dnnl_success)
            return err_set(e, VAS_EIO, "oneDNN failed running '%s' (status %d)", s->name, (int)st);
        if (obs && dnnl_stream_wait(stream) == dnnl_success)
            observe(p, s, obs);
    }
    if (dnnl_stream_wait(stream) != dnnl_success)
        return err_set(e, VAS_EIO, "oneDNN stream failed");
    return VAS_OK;
}

int nn_plan_output(const nn_plan *p, int i, const float **data, nn_tensor_info *info)
{
    const nn_tval *t;

    if (i < 0 || i >= p->g->n_outs)
        return VAS_EINVAL;
    t = &p->tv[p->g->outs[i]];
    *data = p->out_buf[i];
    if (info) {
        info->name = p->g->vals[p->g->outs[i]].name;
        info->ndims = t->ndims;
        memcpy(info->dims, t->dims, sizeof(info->dims));
    }
    return VAS_OK;
}

void nn_plan_free(nn_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_steps; i++) {
        if (p->steps[i].prim)
            dnnl_primitive_destroy(p->steps[i].prim);
        free(p->steps[i].maps);
    }
    for (int i = 0; i < p->n_fixed; i++) {
        dnnl_memory_destroy(p->fixed[i]);
        free(p->fixed_buf[i]);
    }
    for (int v = 0; p->vmem && v < p->nv; v++)
        if (p->vmem[v])
            dnnl_memory_destroy(p->vmem[v]);
    for (int i = 0; p->smem && i < p->n_steps; i++)
        if (p->smem[i])
            dnnl_memory_destroy(p->smem[i]);
    for (int i = 0; p->out_mem && i < p->g->n_outs; i++) {
        if (p->out_mem[i])
            dnnl_memory_destroy(p->out_mem[i]);
        free(p->out_buf[i]);
    }
    if (p->in_mem)
        dnnl_memory_destroy(p->in_mem);
    if (p->tmp_stream)
        dnnl_stream_destroy(p->tmp_stream);
    nn_shapes_free(p->tv, p->g->n_vals);
    free(p->out_mem);
    free(p->out_buf);
    free(p->steps);
    free(p->fixed);
    free(p->fixed_buf);
    free(p->vmem);
    free(p->smem);
    free(p->scratch);
    free(p->arena);
    free(p->md);
    free(p->root);
    free(p->cons);
    free(p->done);
    free(p->ready);
    free(p->vdt);
    free(p->vsc);
    free(p->vzp);
    free(p->vtag);
    free(p);
}

double nn_plan_flops(const nn_plan *p)
{
    return p->flops;
}

size_t nn_plan_arena_bytes(const nn_plan *p)
{
    return p->arena_bytes;
}

size_t nn_plan_weight_bytes(const nn_plan *p)
{
    return p->weight_bytes;
}

int nn_plan_matches(const nn_plan *p, int n, int h, int w, int int8)
{
    return p->n == n && p->h == h && p->w == w && nn_plan_is_int8(p) == (int8 != 0);
}

int nn_plan_int8_convs(const nn_plan *p)
{
    return p->n_q;
}

int nn_plan_int8_offsets(const nn_plan *p)
{
    return p->n_zp;
}

int nn_plan_wino_convs(const nn_plan *p)
{
    return p->n_wino;
}

int nn_plan_int8_input(const nn_plan *p)
{
    return p->n_steps > 0 && p->steps[0].kind == ST_INPUTQ;
}

const char *nn_plan_layout(const nn_plan *p)
{
    return p->blk ? "nChw8c" : "nhwc";
}

int nn_plan_is_int8(const nn_plan *p)
{
    return p->vdt != NULL;
}
