/* nn_graph.c - helpers on a loaded graph (constants, attribute look-ups), the rewrite done once
 * at load: BatchNormalization folded into the Conv or ConvTranspose before it, and the spill of
 * its weights into a mapped file once loaded (nn_graph_spill, nn_int.h).
 *
 * DESIGN. A BatchNormalization whose input is written by a convolution that nothing else reads
 * (and that is no graph output) becomes new weights and bias on that convolution; the old
 * weights are left alone, since another node may share them. One that follows anything else is
 * left in place and refused at plan time. */
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "nn/nn_int.h"

/* ---------------------------------------------------------------------------------------------
 * Constants and attributes
 * ------------------------------------------------------------------------------------------- */
nn_const *nn_const_new(int dtype, int ndims, const int64_t *dims)
{
    nn_const *c = calloc(1, sizeof(*c));
    int64_t count = 1;

    if (!c)
        return NULL;
    c->dtype = dtype;
    c->ndims = ndims;
    for (int i = 0; i < ndims; i++) {
        c->dims[i] = dims[i];
        count *= dims[i];
    }
    c->count = count;
    c->data = calloc((size_t)(count ? count : 1), dtype == NN_I64 ? 8 : 4);
    if (!c->data) {
        free(c);
        return NULL;
    }
    return c;
}

void nn_const_free(nn_const *c)
{
    if (!c)
        return;
    if (!c->mapped)
        free(c->data);
    free(c);
}

/* ---------------------------------------------------------------------------------------------
 * Spilling the weights (nn_int.h)
 * ------------------------------------------------------------------------------------------- */
#define SPILL_MIN (64 * 1024) /* smaller constants stay in the heap */

static int spilled(const nn_const *c)
{
    return c && !c->mapped && c->dtype == NN_F32 && (size_t)c->count * 4 >= SPILL_MIN;
}

static size_t page_up(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) / pg * pg;
}

void nn_graph_spill(nn_graph *g)
{
    const char *dir = getenv("TMPDIR"); // NOLINT(concurrency-mt-unsafe): read, never set
    size_t len = 0, at = 0;
    unsigned char *map;
    int fd;

    if (!g || g->spill)
        return;
    for (int i = 0; i < g->n_vals; i++)
        if (spilled(g->vals[i].c))
            len += page_up((size_t)g->vals[i].c->count * 4);
    if (len == 0)
        return;
    fd = open(dir && *dir ? dir : "/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    for (int i = 0; i < g->n_vals; i++) {
        const nn_const *c = g->vals[i].c;
        if (!spilled(c))
            continue;
        if (util_pwrite_all(fd, c->data, (size_t)c->count * 4, (int64_t)at) != 0) {
            close(fd);
            return; /* a full disk: the weights stay where they are */
        }
        at += page_up((size_t)c->count * 4);
    }
    map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    at = 0;
    for (int i = 0; i < g->n_vals; i++) {
        nn_const *c = g->vals[i].c;
        if (!spilled(c))
            continue;
        free(c->data);
        c->data = map + at;
        c->mapped = 1;
        at += page_up((size_t)c->count * 4);
    }
    g->spill = map;
    g->spill_len = len;
    nn_graph_drop_pages(g);
    malloc_trim(0); /* the heap copies' pages go back to the system */
}

void nn_graph_drop_pages(const nn_graph *g)
{
    if (g && g->spill)
        (void)madvise(g->spill, g->spill_len, MADV_DONTNEED);
}

double nn_const_getf(const nn_const *c, int64_t i)
{
    return c->dtype == NN_F32 ? ((const float *)c->data)[i] : (double)((int64_t *)c->data)[i];
}

int64_t nn_const_geti(const nn_const *c, int64_t i)
{
    float f;

    if (c->dtype == NN_I64)
        return ((const int64_t *)c->data)[i];
    f = ((const float *)c->data)[i];
    /* NaN and floats past int64 have no conversion (it is undefined): 0 and the ends instead. */
    return f != f ? 0 : f >= 0x1p63f ? INT64_MAX : f < -0x1p63f ? INT64_MIN : (int64_t)f;
}

const nn_attr *nn_attr_find(const nn_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t nn_attr_int(const nn_node *n, const char *name, int64_t def)
{
    const nn_attr *a = nn_attr_find(n, name);
    return a && a->type == NN_ATTR_INT ? a->i : def;
}

float nn_attr_float(const nn_node *n, const char *name, float def)
{
    const nn_attr *a = nn_attr_find(n, name);
    return a && a->type == NN_ATTR_FLOAT ? a->f : def;
}

const char *nn_attr_str(const nn_node *n, const char *name, const char *def)
{
    const nn_attr *a = nn_attr_find(n, name);
    return a && a->type == NN_ATTR_STRING ? a->s : def;
}

int nn_attr_ints(const nn_node *n, const char *name, int64_t *out, int max)
{
    const nn_attr *a = nn_attr_find(n, name);

    if (!a || a->type != NN_ATTR_INTS)
        return 0;
    for (int i = 0; i < a->n_ints && i < max; i++)
        out[i] = a->ints[i];
    return a->n_ints;
}

/* ---------------------------------------------------------------------------------------------
 * BatchNormalization folding
 * ------------------------------------------------------------------------------------------- */
static int consumers(const nn_graph *g, int v)
{
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_in; j++)
            k += g->nodes[i].in[j] == v;
    for (int i = 0; i < g->n_outs; i++)
        k += 100 * (g->outs[i] == v); /* a graph output is never folded away */
    return k;
}

static int producer(const nn_graph *g, int v)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_out; j++)
            if (g->nodes[i].out[j] == v)
                return i;
    return -1;
}

/* w' = w * s, b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps), per output channel.
 * ConvTranspose weights are (Cin, Cout/group, kh, kw): the output channel is the 2nd index. */
static int fold_bn(nn_graph *g, nn_node *cv, const nn_node *bn, vas_err *e)
{
    const nn_const *w = cv->in[1] >= 0 ? g->vals[cv->in[1]].c : NULL,
                   *b = cv->n_in > 2 && cv->in[2] >= 0 ? g->vals[cv->in[2]].c : NULL;
    const nn_const *p[4];
    float eps = nn_attr_float(bn, "epsilon", 1e-5f);
    int64_t cout, grp = nn_attr_int(cv, "group", 1), ksz, rc;
    int inplace;
    nn_const *nw, *nb;
    char name[600];

    for (int i = 0; i < 4; i++)
        p[i] = bn->n_in > i + 1 && bn->in[i + 1] >= 0 ? g->vals[bn->in[i + 1]].c : NULL;
    if (!w || w->ndims != 4 || w->dtype != NN_F32 || !p[0] || !p[1] || !p[2] || !p[3] ||
        (b && b->dtype != NN_F32) || grp <= 0)
        return 0; /* not foldable: planned as a standalone BatchNormalization (or refused) */
    cout = cv->op == NN_OP_CONV ? w->dims[0] : w->dims[1] * grp;
    ksz = w->dims[2] * w->dims[3];
    for (int i = 0; i < 4; i++)
        if (p[i]->count != cout || p[i]->dtype != NN_F32)
            return err_set(e, VAS_EINVAL,
                           "node '%s' (BatchNormalization): parameters do not "
                           "match the %lld channels of '%s'",
                           bn->name, (long long)cout, cv->name);
    /* A weight only this node reads is scaled where it is; a shared one is copied. */
    inplace = consumers(g, cv->in[1]) == 1;
    nw = inplace ? (nn_const *)w : nn_const_new(NN_F32, 4, w->dims);
    nb = nn_const_new(NN_F32, 1, &cout);
    if (!nw || !nb) {
        if (!inplace)
            nn_const_free(nw);
        nn_const_free(nb);
        return err_set(e, VAS_ENOMEM, "out of memory folding '%s'", bn->name);
    }
    for (int64_t i = 0; i < w->count; i++) {
        int64_t oc =
            cv->op == NN_OP_CONV
                ? i / (w->count / cout)
                : (i / (w->dims[0] / grp * w->dims[1] * ksz)) * w->dims[1] + (i / ksz) % w->dims[1];
        float s = ((float *)p[0]->data)[oc] / sqrtf(((float *)p[3]->data)[oc] + eps);
        ((float *)nw->data)[i] = ((float *)w->data)[i] * s;
    }
    for (int64_t oc = 0; oc < cout; oc++) {
        float s = ((float *)p[0]->data)[oc] / sqrtf(((float *)p[3]->data)[oc] + eps);
        float b0 = b ? ((float *)b->data)[oc] : 0.0f;
        ((float *)nb->data)[oc] = (b0 - ((float *)p[2]->data)[oc]) * s + ((float *)p[1]->data)[oc];
    }
    /* New values (but the weight scaled in place), never edits of the old: the bias may be
     * shared with another node. */
    snprintf(name, sizeof(name), "%s#bnw", bn->name);
    rc = inplace ? cv->in[1] : nn_value_push(g, name, nw, e);
    if (rc >= 0) {
        cv->in[1] = (int)rc;
        snprintf(name, sizeof(name), "%s#bnb", bn->name);
        rc = nn_value_push(g, name, nb, e);
        nb = NULL;
    }
    nn_const_free(nb);
    if (rc < 0)
        return (int)rc;
    cv->in[2] = (int)rc;
    cv->n_in = 3;
    cv->out[0] = bn->out[0];
    return 1;
}

/* Frees constants no live node reads any more (the pre-folding weights and BN parameters), so
 * that a folded model does not hold its weights twice. */
static void drop_unused(nn_graph *g)
{
    char *used = calloc((size_t)g->n_vals + 1, 1);

    if (!used)
        return; /* only memory is lost, not correctness */
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; g->nodes[i].op != NN_OP_NONE && j < g->nodes[i].n_in; j++)
            if (g->nodes[i].in[j] >= 0)
                used[g->nodes[i].in[j]] = 1;
    for (int i = 0; i < g->n_outs; i++)
        used[g->outs[i]] = 1;
    for (int v = 0; v < g->n_vals; v++)
        if (!used[v] && g->vals[v].c) {
            nn_const_free(g->vals[v].c);
            g->vals[v].c = NULL;
        }
    free(used);
}

int nn_fold_bn(nn_graph *g, vas_err *e)
{
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *bn = &g->nodes[i];
        if (bn->op != NN_OP_BN || bn->n_in < 5 || bn->in[0] < 0)
            continue;
        int p = producer(g, bn->in[0]);
        if (p < 0 || (g->nodes[p].op != NN_OP_CONV && g->nodes[p].op != NN_OP_CONVT) ||
            g->nodes[p].n_in < 2 || consumers(g, bn->in[0]) != 1)
            continue;
        int rc = fold_bn(g, &g->nodes[p], bn, e);
        if (rc < 0)
            return rc;
        if (rc == 1)
            bn->op = NN_OP_NONE;
    }
    drop_unused(g);
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------------------------------- */
int nn_graph_input(const nn_graph *g, nn_tensor_info *info)
{
    info->name = g->vals[g->input].name;
    info->ndims = g->in_ndims;
    memcpy(info->dims, g->in_dims, sizeof(info->dims));
    return VAS_OK;
}

int nn_graph_n_outputs(const nn_graph *g)
{
    return g->n_outs;
}

int nn_graph_output_name(const nn_graph *g, int i, const char **name)
{
    if (i < 0 || i >= g->n_outs)
        return VAS_EINVAL;
    *name = g->vals[g->outs[i]].name;
    return VAS_OK;
}

int nn_graph_n_nodes(const nn_graph *g)
{
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++)
        k += g->nodes[i].op != NN_OP_NONE;
    return k;
}

int nn_graph_summary(const nn_graph *g, char *buf, size_t len)
{
    size_t off = 0;

    if (len)
        buf[0] = '\0';
    for (int op = 1; op < NN_OP_COUNT; op++) {
        int c = 0;
        for (int i = 0; i < g->n_nodes; i++)
            c += g->nodes[i].op == op;
        if (c && off < len)
            off += (size_t)snprintf(buf + off, len - off, "  %-20s %d\n", nn_op_name(op), c);
    }
    return VAS_OK;
}

float nn_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    float f;

    if (exp == 0) { /* zero or subnormal: man * 2^-24 */
        f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | man << 13;
    else
        bits = sign | (exp + 112) << 23 | man << 13;
    memcpy(&f, &bits, sizeof(f));
    return f;
}
