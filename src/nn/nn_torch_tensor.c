/* nn_torch_tensor.c - the checks on a .pt file's object tree once its pickle is read, and its
 * tensors' data: any dtype, offset and strides to contiguous float32 in C order.
 *
 * DESIGN: the pickle machine already checked each tensor against the element count its
 * storage claims (pt_tensor.reach); here the tree is walked once (cycles, depth, leftovers,
 * duplicate keys, the float ceiling, all before any data is read) and pt_fill_tensors checks
 * the claim against the bytes the storage's zip entry really has before reading a value. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_int.h"
#include "nn/nn_torch_int.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nn_torch reads torch's little-endian storages in place: port conv_run first"
#endif

static const struct {
    const char *name;
    int size;
} dtypes[PT_NDTYPES] = {
    [PT_F32] = {"float32", 4},   [PT_F64] = {"float64", 8}, [PT_F16] = {"float16", 2},
    [PT_BF16] = {"bfloat16", 2}, [PT_I64] = {"int64", 8},   [PT_I32] = {"int32", 4},
    [PT_I16] = {"int16", 2},     [PT_I8] = {"int8", 1},     [PT_U8] = {"uint8", 1},
    [PT_BOOL] = {"bool", 1},
};

int pt_dtype_size(int dtype)
{
    return dtype >= 0 && dtype < PT_NDTYPES ? dtypes[dtype].size : 1;
}

const char *pt_dtype_name(int dtype)
{
    return dtype >= 0 && dtype < PT_NDTYPES ? dtypes[dtype].name : "?";
}

/* ---- the walk ---- */

typedef struct walk {
    pt_doc *d;
    const char *file;
    vas_err *e;
    int *tensors, n, cap; /* reached TENSOR nodes */
    int64_t floats;       /* their values in all */
} walk;

typedef struct keyref {
    const char *s; /* a dict's string key */
    size_t len;
} keyref;

static int keyref_cmp(const void *a, const void *b)
{
    const keyref *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Refuses a dict whose string keys repeat (pickle never writes one; Python would keep the
 * last value, a reader of the first would differ). */
static int dict_unique(walk *w, const nn_pt *o)
{
    keyref *k;
    int n = 0, rc = VAS_OK;

    if (o->n < 2)
        return VAS_OK;
    if (!(k = malloc((size_t)o->n * sizeof(*k))))
        return err_set(w->e, VAS_ENOMEM, "out of memory reading '%s'", w->file);
    for (int i = 0; i < o->n; i++) {
        const nn_pt *key = &w->d->nodes[o->items[2 * i]];
        if (key->type == NN_PT_STR)
            k[n++] = (keyref){key->s, key->slen};
    }
    qsort(k, (size_t)n, sizeof(*k), keyref_cmp);
    for (int i = 1; i < n && rc == VAS_OK; i++)
        if (keyref_cmp(&k[i - 1], &k[i]) == 0)
            rc = err_set(w->e, VAS_EINVAL, "'%s' is damaged: a dict has the key '%.64s' twice",
                         w->file, k[i].s);
    free(k);
    return rc;
}

static int add_tensor(walk *w, int i)
{
    pt_tensor *t = w->d->nodes[i].t;
    int64_t limit = PT_MAX_FLOATS;

    if (w->n == w->cap) {
        int cap = w->cap ? w->cap * 2 : 64;
        int *nt = realloc(w->tensors, (size_t)cap * sizeof(*nt));
        if (!nt)
            return err_set(w->e, VAS_ENOMEM, "out of memory reading '%s'", w->file);
        w->tensors = nt;
        w->cap = cap;
    }
    w->tensors[w->n++] = i;
    if (t->numel > limit - w->floats)
        return err_set(w->e, VAS_ETOOBIG,
                       "'%s' has tensors of more than %lld values in all, more than vas reads",
                       w->file, (long long)limit);
    w->floats += t->numel;
    if (t->numel == 0 && !(t->data = calloc(1, sizeof(float))))
        return err_set(w->e, VAS_ENOMEM, "out of memory reading '%s'", w->file);
    return VAS_OK;
}

static const char *leftover(int type)
{
    switch (type) {
    case PT_GLOBAL:
        return "a Python class or function";
    case PT_STORAGE:
        return "a storage outside any tensor";
    case PT_NPDTYPE:
        return "a numpy dtype";
    default:
        return "bytes";
    }
}

static int visit(walk *w, int i, int depth) /* NOLINT(misc-no-recursion): depth is capped */
{
    nn_pt *o = &w->d->nodes[i];
    int rc = VAS_OK;

    if (o->c == 2)
        return VAS_OK; /* reached before, through another path (memo) */
    if (o->c == 1)
        return err_set(w->e, VAS_EINVAL, "'%s' holds a list or dict that contains itself", w->file);
    if (depth > PT_MAX_DEPTH)
        return err_set(w->e, VAS_ETOOBIG, "'%s' nests lists and dicts more than %d deep", w->file,
                       PT_MAX_DEPTH);
    if (o->type >= PT_GLOBAL)
        return err_set(w->e, VAS_EINVAL, "'%s' holds %s where vas expects data", w->file,
                       leftover(o->type));
    o->c = 1;
    if (o->type == NN_PT_TENSOR)
        rc = add_tensor(w, i);
    else if (o->type == NN_PT_LIST)
        for (int k = 0; k < o->n && rc == VAS_OK; k++)
            rc = visit(w, w->d->nodes[i].items[k], depth + 1);
    else if (o->type == NN_PT_DICT && (rc = dict_unique(w, o)) == VAS_OK)
        for (int k = 0; k < o->n && rc == VAS_OK; k++)
            rc = visit(w, w->d->nodes[i].items[2 * k + 1], depth + 1);
    w->d->nodes[i].c = 2;
    return rc;
}

static int by_key(const void *a, const void *b, void *ctx)
{
    const pt_doc *d = ctx;
    const nn_pt *x = &d->nodes[d->nodes[*(const int *)a].t->storage];
    const nn_pt *y = &d->nodes[d->nodes[*(const int *)b].t->storage];

    return strcmp(x->s, y->s);
}

int pt_check_tree(pt_doc *d, const char *file, uint64_t file_bytes, int **tensors, int *n_tensors,
                  vas_err *e)
{
    walk w = {.d = d, .file = file, .e = e};
    int64_t limit = (int64_t)(file_bytes < ((uint64_t)1 << 40) ? file_bytes : (uint64_t)1 << 40);
    int rc = visit(&w, d->root, 0);

    limit = 4 * limit + PT_SLACK_FLOATS;
    if (rc == VAS_OK && w.floats > limit)
        rc = err_set(e, VAS_ETOOBIG,
                     "'%s' has tensors of %lld values in all, more than a file of %llu bytes "
                     "holds (views or zero strides would repeat its data that often)",
                     file, (long long)w.floats, (unsigned long long)file_bytes);
    if (rc < 0) {
        free(w.tensors);
        return rc;
    }
    if (w.n > 1)
        qsort_r(w.tensors, (size_t)w.n, sizeof(int), by_key, d);
    *tensors = w.tensors;
    *n_tensors = w.n;
    return VAS_OK;
}

/* ---- conversion ---- */

#define CONV_LOOP(type, expr)                                                                      \
    for (int64_t k = 0; k < n; k++) {                                                              \
        type v;                                                                                    \
        memcpy(&v, src + k * step, sizeof(v));                                                     \
        dst[k] = (expr);                                                                           \
    }

/* n values of dtype, step bytes apart from src, to float32 at dst. */
static void conv_run(int dtype, const unsigned char *src, int64_t step, int64_t n, float *dst)
{
    switch (dtype) {
    case PT_F32:
        if (step == 4)
            memcpy(dst, src, (size_t)n * 4);
        else
            CONV_LOOP(float, v)
        break;
    case PT_F64:
        CONV_LOOP(double, (float)v)
        break;
    case PT_F16:
        CONV_LOOP(uint16_t, nn_half_to_float(v))
        break;
    case PT_BF16:
        for (int64_t k = 0; k < n; k++) {
            uint16_t v;
            uint32_t bits;
            memcpy(&v, src + k * step, sizeof(v));
            bits = (uint32_t)v << 16;
            memcpy(&dst[k], &bits, sizeof(float));
        }
        break;
    case PT_I64:
        CONV_LOOP(int64_t, (float)v)
        break;
    case PT_I32:
        CONV_LOOP(int32_t, (float)v)
        break;
    case PT_I16:
        CONV_LOOP(int16_t, (float)v)
        break;
    case PT_I8:
        CONV_LOOP(int8_t, (float)v)
        break;
    case PT_U8:
        CONV_LOOP(uint8_t, (float)v)
        break;
    default: /* PT_BOOL */
        CONV_LOOP(uint8_t, v ? 1.0f : 0.0f)
        break;
    }
}

static int contiguous(const pt_tensor *t)
{
    int64_t expect = 1;

    for (int k = t->ndims - 1; k >= 0; k--) {
        if (t->dims[k] != 1 && t->strides[k] != expect)
            return 0;
        expect *= t->dims[k];
    }
    return 1;
}

/* t's values from its storage's bytes (checked to hold t->reach elements) into t->data. */
static void convert(pt_tensor *t, const unsigned char *bytes)
{
    int64_t esz = pt_dtype_size(t->dtype), idx[PT_MAX_NDIMS] = {0}, inner, rows;
    int nd = t->ndims;
    float *dst = t->data;

    if (nd == 0 || contiguous(t)) {
        conv_run(t->dtype, bytes + t->offset * esz, esz, t->numel, dst);
        return;
    }
    inner = t->dims[nd - 1];
    rows = t->numel / inner;
    for (int64_t r = 0; r < rows; r++, dst += inner) {
        int64_t at = t->offset;
        for (int k = 0; k < nd - 1; k++)
            at += idx[k] * t->strides[k];
        conv_run(t->dtype, bytes + at * esz, t->strides[nd - 1] * esz, inner, dst);
        for (int k = nd - 2; k >= 0 && ++idx[k] == t->dims[k]; k--)
            idx[k] = 0;
    }
}

int pt_fill_tensors(pt_doc *d, const int *tensors, int n, const unsigned char *bytes, size_t len,
                    const char *file, vas_err *e)
{
    for (int k = 0; k < n; k++) {
        pt_tensor *t = d->nodes[tensors[k]].t;
        const nn_pt *st = &d->nodes[t->storage];
        uint64_t esz = (uint64_t)pt_dtype_size(t->dtype);

        if ((uint64_t)st->i * esz > len)
            return err_set(e, VAS_EINVAL,
                           "'%s' is damaged: storage '%s' claims %lld %s values (%llu bytes) but "
                           "its entry holds %zu bytes",
                           file, st->s, (long long)st->i, pt_dtype_name(t->dtype),
                           (unsigned long long)((uint64_t)st->i * esz), len);
        if (t->numel == 0)
            continue;
        if (t->data)
            return err_set(e, VAS_EINVAL, "'%s' is damaged: storage '%s' has two entries", file,
                           st->s);
        if ((uint64_t)t->reach * esz > len) /* reach <= st->i already: kept as a last guard */
            return err_set(e, VAS_EINVAL, "'%s' is damaged: a tensor reaches past storage '%s'",
                           file, st->s);
        if (!(t->data = malloc((size_t)t->numel * sizeof(float))))
            return err_set(e, VAS_ENOMEM, "out of memory reading '%s': a tensor of %lld values",
                           file, (long long)t->numel);
        convert(t, bytes);
    }
    return VAS_OK;
}
