/* nn_torch_globals.c - the Python globals a torch.save pickle may name, and what GLOBAL,
 * REDUCE, NEWOBJ, BUILD and BINPERSID do with them (see nn_torch_pickle.c, DESIGN).
 *
 * DESIGN: a global is a name looked up in allowed[], never imported; each one's call does only
 * what it means for a state dict (rebuild a tensor from a storage, an empty OrderedDict, a numpy
 * scalar as a plain number, ...), on arguments checked first. Any other name is refused with
 * the name in the message: this is the line between a weights file and code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_torch_int.h"

static const struct {
    const char *name; /* module.name */
    int id;           /* PT_G_* */
    int dtype;        /* PT_G_STORAGE_CLASS: PT_F32, ... */
} allowed[] = {
    {"collections.OrderedDict", PT_G_ODICT, 0},
    {"torch._utils._rebuild_tensor_v2", PT_G_REBUILD_V2, 0},
    {"torch._utils._rebuild_tensor", PT_G_REBUILD, 0},
    {"torch._utils._rebuild_parameter", PT_G_PARAM, 0},
    {"torch._utils._rebuild_parameter_with_state", PT_G_PARAM_STATE, 0},
    {"torch._tensor._rebuild_from_type_v2", PT_G_FROM_TYPE, 0},
    {"torch.nn.parameter.Parameter", PT_G_PARAMETER, 0},
    {"torch.Tensor", PT_G_TENSOR, 0},
    {"torch.Size", PT_G_SIZE, 0},
    {"torch.FloatStorage", PT_G_STORAGE_CLASS, PT_F32},
    {"torch.DoubleStorage", PT_G_STORAGE_CLASS, PT_F64},
    {"torch.HalfStorage", PT_G_STORAGE_CLASS, PT_F16},
    {"torch.BFloat16Storage", PT_G_STORAGE_CLASS, PT_BF16},
    {"torch.LongStorage", PT_G_STORAGE_CLASS, PT_I64},
    {"torch.IntStorage", PT_G_STORAGE_CLASS, PT_I32},
    {"torch.ShortStorage", PT_G_STORAGE_CLASS, PT_I16},
    {"torch.CharStorage", PT_G_STORAGE_CLASS, PT_I8},
    {"torch.ByteStorage", PT_G_STORAGE_CLASS, PT_U8},
    {"torch.BoolStorage", PT_G_STORAGE_CLASS, PT_BOOL},
    {"torch.UntypedStorage", PT_G_STORAGE_CLASS, PT_U8},
    {"torch.storage.UntypedStorage", PT_G_STORAGE_CLASS, PT_U8},
    {"torch.storage._UntypedStorage", PT_G_STORAGE_CLASS, PT_U8},
    {"numpy.core.multiarray.scalar", PT_G_NP_SCALAR, 0},
    {"numpy._core.multiarray.scalar", PT_G_NP_SCALAR, 0},
    {"numpy.dtype", PT_G_NP_DTYPE, 0},
    {"numpy.dtypes.Float64DType", PT_G_NP_DTYPE, 0},
    {"numpy.dtypes.Float32DType", PT_G_NP_DTYPE, 0},
    {"numpy.dtypes.Int64DType", PT_G_NP_DTYPE, 0},
    {"numpy.dtypes.Int32DType", PT_G_NP_DTYPE, 0},
    {"_codecs.encode", PT_G_ENCODE, 0},
};

/* ---- globals ---- */

static const char *global_name(int id)
{
    for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
        if (allowed[k].id == id)
            return allowed[k].name;
    return "?";
}

static int op_global(pt_vm *m, const char *mod, size_t ml, const char *name, size_t nl)
{
    char full[256];
    int i;

    if (ml + nl + 2 > sizeof(full))
        return pt_fail(m, VAS_EINVAL,
                       "names a Python global of %zu bytes, longer than any vas allows",
                       ml + nl + 1);
    if (memchr(mod, '\0', ml) || memchr(name, '\0', nl))
        return pt_damaged(m, "a global's name holds a NUL byte");
    if (ml == 11 && memcmp(mod, "__builtin__", 11) == 0) { /* Python 2's name, at protocol 2 */
        mod = "builtins";
        ml = 8;
    }
    /* torch.cuda.FloatStorage: a storage saved from the GPU, read as torch.FloatStorage */
    if (ml == 10 && memcmp(mod, "torch.cuda", 10) == 0 && nl > 7 &&
        memcmp(name + nl - 7, "Storage", 7) == 0)
        ml = 5;
    snprintf(full, sizeof(full), "%.*s.%.*s", (int)ml, mod, (int)nl, name);
    for (char *c = full; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++) {
        if (strcmp(full, allowed[k].name) != 0)
            continue;
        if ((i = pt_node(m, PT_GLOBAL)) < 0)
            return i;
        pt_nd(m, i)->sub = allowed[k].id;
        pt_nd(m, i)->i = allowed[k].dtype;
        return pt_push(m, i);
    }
    return err_set(m->e, VAS_EINVAL,
                   "'%s' names the Python global %s, which vas refuses: a .pt file may hold only "
                   "tensors, numbers, strings, lists and dicts (as torch.load(weights_only=True) "
                   "reads them; save a state_dict, not a model or other objects)",
                   m->file, full);
}

/* GLOBAL: module and name, each on a line of its own. */
int pt_op_global(pt_vm *m)
{
    const char *line[2];
    size_t len[2];

    for (int k = 0; k < 2; k++) {
        const unsigned char *nl = memchr(m->p, '\n', (size_t)(m->end - m->p));
        if (!nl)
            return pt_damaged(m, "a GLOBAL opcode has no end of line");
        line[k] = (const char *)m->p;
        len[k] = (size_t)(nl - m->p);
        m->p = nl + 1;
    }
    return op_global(m, line[0], len[0], line[1], len[1]);
}

int pt_op_stack_global(pt_vm *m)
{
    int mod, name, rc;

    if ((rc = pt_pop(m, &name)) < 0 || (rc = pt_pop(m, &mod)) < 0)
        return rc;
    if (pt_nd(m, mod)->type != NN_PT_STR || pt_nd(m, name)->type != NN_PT_STR)
        return pt_damaged(m, "STACK_GLOBAL takes something not a string");
    return op_global(m, pt_nd(m, mod)->s, pt_nd(m, mod)->slen, pt_nd(m, name)->s,
                     pt_nd(m, name)->slen);
}

/* ---- what the allowed globals do ---- */

static int is(pt_vm *m, int i, int type)
{
    return pt_nd(m, i)->type == type;
}

static int is_tuple(pt_vm *m, int i)
{
    return is(m, i, NN_PT_LIST) && pt_nd(m, i)->sub == 1;
}

static int arg(pt_vm *m, int args, int k)
{
    return pt_nd(m, args)->items[k];
}

/* A torch.Size or stride tuple into v[0..*n). */
static int int_tuple(pt_vm *m, int tup, int64_t *v, int *n)
{
    if (!is_tuple(m, tup))
        return pt_damaged(m, "a tensor's size or stride is not a tuple");
    if (pt_nd(m, tup)->n > PT_MAX_NDIMS)
        return pt_fail(m, VAS_EUNSUPPORTED, "has a tensor of %d dimensions, more than vas's %d",
                       pt_nd(m, tup)->n, PT_MAX_NDIMS);
    *n = pt_nd(m, tup)->n;
    for (int k = 0; k < *n; k++) {
        const nn_pt *x = pt_nd(m, arg(m, tup, k));
        if (x->type != NN_PT_INT || x->i < 0)
            return pt_damaged(m, "a tensor's size or stride is not a natural number");
        v[k] = x->i;
    }
    return VAS_OK;
}

/* numel and reach (see pt_tensor) of t, checked against its storage's claimed elements. */
static int tensor_extent(pt_vm *m, pt_tensor *t)
{
    const nn_pt *st = pt_nd(m, t->storage);
    int64_t numel = 1, last = t->offset, x;

    for (int k = 0; k < t->ndims; k++)
        if (__builtin_mul_overflow(numel, t->dims[k], &numel))
            return pt_fail(m, VAS_ETOOBIG, "has a tensor whose size overflows 64 bits");
    for (int k = 0; k < t->ndims && numel > 0; k++)
        if (__builtin_mul_overflow(t->dims[k] - 1, t->strides[k], &x) ||
            __builtin_add_overflow(last, x, &last))
            return pt_fail(m, VAS_ETOOBIG, "has a tensor whose strides overflow 64 bits");
    t->numel = numel;
    t->reach = numel > 0 ? last + 1 : 0;
    if (t->reach > st->i)
        return pt_fail(m, VAS_EINVAL,
                       "has a tensor reaching element %lld of storage '%s', which holds %lld: "
                       "its size, strides or offset claim more than the file has",
                       (long long)t->reach - 1, st->s, (long long)st->i);
    return VAS_OK;
}

/* torch._utils._rebuild_tensor(_v2)(storage, offset, size, stride[, requires_grad, hooks,
 * metadata]): a new TENSOR. */
static int rebuild_tensor(pt_vm *m, int a, int v2, int *out)
{
    int n = pt_nd(m, a)->n, nsz, nst, i, rc;
    pt_tensor *t;

    if (v2 ? n != 6 && n != 7 : n != 4)
        return pt_damaged(m, "a tensor is rebuilt from the wrong number of arguments");
    if (!is(m, arg(m, a, 0), PT_STORAGE) || !is(m, arg(m, a, 1), NN_PT_INT) ||
        pt_nd(m, arg(m, a, 1))->i < 0)
        return pt_damaged(m, "a tensor is rebuilt from something not a storage and offset");
    for (int k = 5; v2 && k < n; k++)
        if (!is(m, arg(m, a, k), NN_PT_DICT) && !is(m, arg(m, a, k), NN_PT_NONE))
            return pt_damaged(m, "a tensor's hooks or metadata are not a dict");
    if (!(t = calloc(1, sizeof(*t))))
        return err_set(m->e, VAS_ENOMEM, "out of memory reading '%s'", m->file);
    t->storage = arg(m, a, 0);
    t->dtype = pt_nd(m, t->storage)->sub;
    t->offset = pt_nd(m, arg(m, a, 1))->i;
    if ((rc = int_tuple(m, arg(m, a, 2), t->dims, &nsz)) < 0 ||
        (rc = int_tuple(m, arg(m, a, 3), t->strides, &nst)) < 0)
        goto fail;
    t->ndims = nsz;
    if (nsz != nst) {
        rc = pt_damaged(m, "a tensor's size and stride differ in length");
        goto fail;
    }
    if ((rc = tensor_extent(m, t)) < 0 || (rc = i = pt_node(m, NN_PT_TENSOR)) < 0)
        goto fail;
    pt_nd(m, i)->t = t;
    *out = i;
    return VAS_OK;
fail:
    free(t);
    return rc;
}

/* numpy.dtype(code, align, copy): code is "f8", "<i4", ... */
static int np_dtype(pt_vm *m, int a, int *out)
{
    static const char kinds[] = "fiub";
    const char *c, *k;
    long size;
    int i;

    if (pt_nd(m, a)->n != 3 || !is(m, arg(m, a, 0), NN_PT_STR))
        return pt_damaged(m, "numpy.dtype has the wrong arguments");
    c = pt_nd(m, arg(m, a, 0))->s;
    if (*c == '<' || *c == '=' || *c == '|')
        c++;
    size = c[0] && c[1] >= '1' && c[1] <= '8' && !c[2] ? c[1] - '0' : 0;
    k = c[0] ? strchr(kinds, c[0]) : NULL;
    if (!k || !(size == 1 || size == 2 || size == 4 || size == 8) || (*k == 'f' && size < 4) ||
        (*k == 'b' && size != 1))
        return pt_fail(m, VAS_EUNSUPPORTED,
                       "holds a numpy scalar of dtype '%s', which vas does not read",
                       pt_nd(m, arg(m, a, 0))->s);
    if ((i = pt_node(m, PT_NPDTYPE)) < 0)
        return i;
    pt_nd(m, i)->sub = (int)(k - kinds); /* PT_NP_FLOAT, _INT, _UINT, _BOOL in kinds' order */
    pt_nd(m, i)->i = size;
    *out = i;
    return VAS_OK;
}

/* numpy.core.multiarray.scalar(dtype, bytes): a plain number. */
static int np_scalar(pt_vm *m, int a, int *out)
{
    unsigned char b[8] = {0};
    const nn_pt *dt, *by;
    uint64_t u = 0;
    int size, type;

    if (pt_nd(m, a)->n != 2 || !is(m, arg(m, a, 0), PT_NPDTYPE) || !is(m, arg(m, a, 1), PT_BYTES))
        return pt_damaged(m, "a numpy scalar has the wrong arguments");
    dt = pt_nd(m, arg(m, a, 0));
    by = pt_nd(m, arg(m, a, 1));
    size = (int)dt->i;
    if (by->slen != (size_t)size)
        return pt_damaged(m, "a numpy scalar's bytes do not match its dtype");
    for (int k = 0; k < size; k++)
        b[k] = (unsigned char)by->s[dt->f != 0 ? size - 1 - k : k];
    for (int k = size - 1; k >= 0; k--)
        u = u << 8 | b[k];
    if (dt->sub == PT_NP_FLOAT && size == 4) {
        float f;
        uint32_t u32 = (uint32_t)u;
        memcpy(&f, &u32, sizeof(f));
        return (*out = pt_node(m, NN_PT_FLOAT)) < 0 ? *out : (pt_nd(m, *out)->f = f, VAS_OK);
    }
    if (dt->sub == PT_NP_FLOAT) {
        double f;
        memcpy(&f, &u, sizeof(f));
        return (*out = pt_node(m, NN_PT_FLOAT)) < 0 ? *out : (pt_nd(m, *out)->f = f, VAS_OK);
    }
    if (dt->sub == PT_NP_INT && size < 8 && (u >> (8 * size - 1)) & 1)
        u |= ~(uint64_t)0 << (8 * size);
    if (dt->sub == PT_NP_UINT && u > INT64_MAX)
        return pt_fail(m, VAS_EUNSUPPORTED, "holds a numpy uint64 over 2^63");
    type = dt->sub == PT_NP_BOOL ? NN_PT_BOOL : NN_PT_INT;
    /* pt_node may move every node: dt and by are not used after it. */
    if ((*out = pt_node(m, type)) < 0)
        return *out;
    pt_nd(m, *out)->i = type == NN_PT_BOOL ? u != 0 : (int64_t)u;
    return VAS_OK;
}

/* _codecs.encode(text, "latin1"): how protocol 2 pickles bytes. */
static int encode(pt_vm *m, int a, int *out)
{
    const nn_pt *txt, *enc;
    unsigned char *b;
    size_t n = 0;
    uint32_t cp;
    int i;

    if (pt_nd(m, a)->n != 2 || !is(m, arg(m, a, 0), NN_PT_STR) || !is(m, arg(m, a, 1), NN_PT_STR))
        return pt_damaged(m, "_codecs.encode has the wrong arguments");
    enc = pt_nd(m, arg(m, a, 1));
    if (strcmp(enc->s, "latin1") != 0 && strcmp(enc->s, "latin-1") != 0)
        return pt_fail(m, VAS_EUNSUPPORTED, "encodes bytes as '%.32s', not latin1", enc->s);
    if ((i = pt_node(m, PT_BYTES)) < 0)
        return i;
    txt = pt_nd(m, arg(m, a, 0));
    if (!(b = malloc(txt->slen + 1)))
        return err_set(m->e, VAS_ENOMEM, "out of memory reading '%s'", m->file);
    for (size_t k = 0; k < txt->slen; n++) {
        int l = pt_utf8_next((const unsigned char *)txt->s + k, txt->slen - k, &cp);
        k += (size_t)l;
        if (!l || cp > 0xff) {
            free(b);
            return pt_damaged(m, "latin1 bytes hold a character over 255");
        }
        b[n] = (unsigned char)cp;
    }
    b[n] = '\0';
    pt_nd(m, i)->s = (char *)b;
    pt_nd(m, i)->slen = n;
    *out = i;
    return VAS_OK;
}

/* A parameter from (tensor, requires_grad, ...) of lo to hi items: the tensor itself. */
static int param(pt_vm *m, int a, int lo, int hi, int *out)
{
    int n = pt_nd(m, a)->n;

    if (n < lo || n > hi || !is(m, arg(m, a, 0), NN_PT_TENSOR))
        return pt_damaged(m, "a parameter is rebuilt from the wrong arguments");
    *out = arg(m, a, 0);
    return VAS_OK;
}

static int is_rebuild(int g)
{
    return g == PT_G_REBUILD_V2 || g == PT_G_REBUILD || g == PT_G_PARAM || g == PT_G_PARAM_STATE;
}

/* Calls the allowed global g on the argument tuple a; the result's node into *out. */
static int call(pt_vm *m, int g, int a, int *out) /* NOLINT(misc-no-recursion): depth 2 at most */
{
    int id = pt_nd(m, g)->sub, n = pt_nd(m, a)->n;

    switch (id) {
    case PT_G_ODICT:
        if (n != 0)
            return pt_fail(m, VAS_EUNSUPPORTED, "builds an OrderedDict from items");
        if ((*out = pt_node(m, NN_PT_DICT)) >= 0)
            pt_nd(m, *out)->sub = 1;
        return *out < 0 ? *out : VAS_OK;
    case PT_G_REBUILD_V2:
    case PT_G_REBUILD:
        return rebuild_tensor(m, a, id == PT_G_REBUILD_V2, out);
    case PT_G_PARAM:
        return param(m, a, 3, 3, out);
    case PT_G_PARAM_STATE:
        return param(m, a, 4, 4, out);
    case PT_G_PARAMETER:
        return param(m, a, 1, 2, out);
    case PT_G_FROM_TYPE:
        if (n != 4 || !is(m, arg(m, a, 0), PT_GLOBAL) || !is_rebuild(pt_nd(m, arg(m, a, 0))->sub) ||
            !is(m, arg(m, a, 1), PT_GLOBAL) || !is_tuple(m, arg(m, a, 2)) ||
            (pt_nd(m, arg(m, a, 1))->sub != PT_G_TENSOR &&
             pt_nd(m, arg(m, a, 1))->sub != PT_G_PARAMETER))
            return pt_damaged(m, "_rebuild_from_type_v2 has the wrong arguments");
        return call(m, arg(m, a, 0), arg(m, a, 2), out);
    case PT_G_SIZE:
        if (n != 1 || !is_tuple(m, arg(m, a, 0)))
            return pt_damaged(m, "torch.Size has the wrong arguments");
        *out = arg(m, a, 0);
        return VAS_OK;
    case PT_G_NP_SCALAR:
        return np_scalar(m, a, out);
    case PT_G_NP_DTYPE:
        return np_dtype(m, a, out);
    case PT_G_ENCODE:
        return encode(m, a, out);
    default:
        return pt_fail(m, VAS_EINVAL, "calls %s, which builds nothing vas reads", global_name(id));
    }
}

/* ---- REDUCE, NEWOBJ, BUILD, BINPERSID ---- */

int pt_op_reduce(pt_vm *m)
{
    int a, f, out = 0, rc;

    if ((rc = pt_pop(m, &a)) < 0 || (rc = pt_top(m, &f)) < 0)
        return rc;
    if (!is(m, f, PT_GLOBAL) || !is_tuple(m, a))
        return pt_damaged(m, "REDUCE calls something not a global, or without a tuple");
    if ((rc = call(m, f, a, &out)) < 0)
        return rc;
    m->stack[m->sp - 1] = out;
    return VAS_OK;
}

/* NEWOBJ: only torch.nn.Parameter(tensor[, requires_grad]). */
int pt_op_newobj(pt_vm *m)
{
    int a, cls, out = 0, rc;

    if ((rc = pt_pop(m, &a)) < 0 || (rc = pt_pop(m, &cls)) < 0)
        return rc;
    if (!is(m, cls, PT_GLOBAL) || pt_nd(m, cls)->sub != PT_G_PARAMETER || !is_tuple(m, a))
        return pt_fail(m, VAS_EINVAL, "makes a new object of a class vas does not build");
    if ((rc = param(m, a, 1, 2, &out)) < 0)
        return rc;
    return pt_push(m, out);
}

/* BUILD: an OrderedDict's attributes and a tensor's Python state are dropped; a numpy dtype
 * takes its byte order. */
int pt_op_build(pt_vm *m)
{
    int st, inst, rc;
    const nn_pt *s;

    if ((rc = pt_pop(m, &st)) < 0 || (rc = pt_top(m, &inst)) < 0)
        return rc;
    s = pt_nd(m, st);
    if ((is(m, inst, NN_PT_DICT) || is(m, inst, NN_PT_TENSOR)) &&
        (s->type == NN_PT_DICT || s->type == NN_PT_NONE))
        return VAS_OK;
    if (is(m, inst, PT_NPDTYPE) && is_tuple(m, st) && s->n >= 2 && is(m, s->items[1], NN_PT_STR)) {
        const char *order = pt_nd(m, s->items[1])->s;
        if (strcmp(order, ">") == 0)
            pt_nd(m, inst)->f = 1;
        else if (strcmp(order, "<") != 0 && strcmp(order, "|") != 0 && strcmp(order, "=") != 0)
            return pt_damaged(m, "a numpy dtype has an unknown byte order");
        return VAS_OK;
    }
    return pt_fail(m, VAS_EINVAL, "sets the state of an object vas does not build");
}

/* BINPERSID ('storage', storage class, key, location, elements): a PT_STORAGE. */
int pt_op_persid(pt_vm *m)
{
    int pid, i, rc;
    const nn_pt *k, *n;

    if ((rc = pt_pop(m, &pid)) < 0)
        return rc;
    if (!is_tuple(m, pid) || pt_nd(m, pid)->n != 5 || !is(m, arg(m, pid, 0), NN_PT_STR) ||
        strcmp(pt_nd(m, arg(m, pid, 0))->s, "storage") != 0)
        return pt_fail(m, VAS_EINVAL, "has a persistent id that is not a torch storage");
    k = pt_nd(m, arg(m, pid, 2));
    n = pt_nd(m, arg(m, pid, 4));
    if (!is(m, arg(m, pid, 1), PT_GLOBAL) || pt_nd(m, arg(m, pid, 1))->sub != PT_G_STORAGE_CLASS ||
        k->type != NN_PT_STR || k->slen == 0 || k->slen > PT_MAX_KEY || strlen(k->s) != k->slen ||
        strchr(k->s, '/') || !is(m, arg(m, pid, 3), NN_PT_STR) || n->type != NN_PT_INT ||
        n->i < 0 || n->i > INT64_MAX / 8)
        return pt_damaged(m, "a storage's persistent id is malformed");
    if ((i = pt_node(m, PT_STORAGE)) < 0)
        return i;
    pt_nd(m, i)->sub = (int)pt_nd(m, arg(m, pid, 1))->i;
    pt_nd(m, i)->i = pt_nd(m, arg(m, pid, 4))->i;
    if (!(pt_nd(m, i)->s = strdup(pt_nd(m, arg(m, pid, 2))->s)))
        return err_set(m->e, VAS_ENOMEM, "out of memory reading '%s'", m->file);
    pt_nd(m, i)->slen = pt_nd(m, arg(m, pid, 2))->slen;
    return pt_push(m, i);
}
