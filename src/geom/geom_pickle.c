/* geom_pickle.c - the bounded pickle reader (see geom_pickle.h). Opcodes follow CPython's
 * Lib/pickle.py (_Unpickler) for protocols 2 to 4; numpy's array pickling follows
 * numpy/core/src/multiarray/methods.c (array_reduce: _reconstruct(ndarray, (0,), b'b'), then
 * BUILD with (version, shape, dtype, is_fortran, raw bytes)). */
#include "geom/geom_pickle.h"
#include "geom/geom_pickle_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int id;
} allowed[] = {
    {"numpy.core.multiarray._reconstruct", PK_G_RECONSTRUCT},
    {"numpy._core.multiarray._reconstruct", PK_G_RECONSTRUCT},
    {"numpy.ndarray", PK_G_NDARRAY},
    {"numpy.dtype", PK_G_DTYPE},
    {"numpy.core.multiarray.scalar", PK_G_SCALAR},
    {"numpy._core.multiarray.scalar", PK_G_SCALAR},
    {"_codecs.encode", PK_G_ENCODE},
};

typedef struct vm {
    geom_pk *d;
    const unsigned char *start, *p, *end;
    const char *what;
    vas_err *e;
    int *stack, sp, scap;
    int marks[GEOM_PK_MAX_MARKS], nm;
    int *memo, mcap; /* memo[k] = object + 1 */
    int n_memo;      /* MEMOIZE's next key */
} vm;

static int fail(vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(vm *m, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(m->e, VAS_EINVAL, "%s: the pickle %s (at byte %zu)", m->what, msg,
                   (size_t)(m->p - m->start));
}

static int oom(vm *m)
{
    return err_set(m->e, VAS_ENOMEM, "out of memory reading %s", m->what);
}

/* ---- objects, stack, memo ---- */

static int new_obj(vm *m, int type, int sub)
{
    geom_pk *d = m->d;

    if (d->n >= GEOM_PK_MAX_NODES)
        return fail(m, "holds more than %d objects", GEOM_PK_MAX_NODES);
    if (d->n == d->cap) {
        pk_obj *no = realloc(d->o, (size_t)(d->cap = d->cap ? 2 * d->cap : 64) * sizeof(*no));
        if (!no)
            return oom(m);
        d->o = no;
    }
    d->o[d->n] = (pk_obj){.type = type, .sub = sub};
    return d->n++;
}

static pk_obj *ob(vm *m, int i)
{
    return &m->d->o[i];
}

static int push(vm *m, int i)
{
    if (i < 0)
        return i;
    if (m->sp >= GEOM_PK_MAX_STACK)
        return fail(m, "stack is deeper than %d", GEOM_PK_MAX_STACK);
    if (m->sp == m->scap) {
        int *ns = realloc(m->stack, (size_t)(m->scap = m->scap ? 2 * m->scap : 64) * sizeof(int));
        if (!ns)
            return oom(m);
        m->stack = ns;
    }
    m->stack[m->sp++] = i;
    return VAS_OK;
}

static int floor_(const vm *m)
{
    return m->nm ? m->marks[m->nm - 1] : 0;
}

static int pop(vm *m, int *i)
{
    if (m->sp <= floor_(m))
        return fail(m, "is damaged (an opcode finds the stack empty)");
    *i = m->stack[--m->sp];
    return VAS_OK;
}

static int top(vm *m, int *i)
{
    if (m->sp <= floor_(m))
        return fail(m, "is damaged (an opcode finds the stack empty)");
    *i = m->stack[m->sp - 1];
    return VAS_OK;
}

static int add_item(vm *m, int c, int item)
{
    pk_obj *o = ob(m, c);

    if (o->n == o->cap) {
        int *ni = realloc(o->items, (size_t)(o->cap = o->cap ? 2 * o->cap : 4) * sizeof(int));
        if (!ni)
            return oom(m);
        o->items = ni;
    }
    o->items[o->n++] = item;
    return VAS_OK;
}

static int memo_put(vm *m, uint64_t k)
{
    int o = 0, rc = top(m, &o);

    if (rc < 0)
        return rc;
    if (k >= GEOM_PK_MAX_MEMO)
        return fail(m, "memoizes key %llu, over %d", (unsigned long long)k, GEOM_PK_MAX_MEMO);
    if ((int)k >= m->mcap) {
        int cap = m->mcap ? m->mcap : 64, *nm;
        while (cap <= (int)k)
            cap *= 2;
        if (!(nm = realloc(m->memo, (size_t)cap * sizeof(int))))
            return oom(m);
        memset(nm + m->mcap, 0, (size_t)(cap - m->mcap) * sizeof(int));
        m->memo = nm;
        m->mcap = cap;
    }
    m->memo[k] = o + 1;
    return VAS_OK;
}

static int memo_get(vm *m, uint64_t k)
{
    if (k >= (uint64_t)m->mcap || !m->memo[k])
        return fail(m, "is damaged (memo key %llu is not set)", (unsigned long long)k);
    return push(m, m->memo[k] - 1);
}

/* ---- reading bytes ---- */

static int need(vm *m, uint64_t n)
{
    return (uint64_t)(m->end - m->p) >= n ? VAS_OK : fail(m, "is truncated");
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int k = n - 1; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

/* An argument of n little-endian bytes into *v. */
static int arg(vm *m, int n, uint64_t *v)
{
    int rc = need(m, (uint64_t)n);

    if (rc < 0)
        return rc;
    *v = le(m->p, n);
    m->p += n;
    return VAS_OK;
}

/* A str or bytes object of len bytes at p. */
static int blob(vm *m, uint64_t len, int type)
{
    int rc = need(m, len), i;

    if (rc < 0)
        return rc;
    if ((i = new_obj(m, type, 0)) < 0)
        return i;
    if (!(ob(m, i)->s = malloc(len + 1)))
        return oom(m);
    memcpy(ob(m, i)->s, m->p, len);
    ob(m, i)->s[len] = '\0';
    ob(m, i)->slen = len;
    m->p += len;
    return push(m, i);
}

static int number(vm *m, int type, int64_t v, double f)
{
    int i = new_obj(m, type, 0);

    if (i < 0)
        return i;
    ob(m, i)->i = v;
    ob(m, i)->f = type == GEOM_PK_FLOAT ? f : (double)v;
    return push(m, i);
}

static int long1(vm *m)
{
    uint64_t n, v;
    int rc = arg(m, 1, &n);

    if (rc == VAS_OK && n > 8)
        return fail(m, "holds an integer over 64 bits");
    if (rc == VAS_OK)
        rc = need(m, n);
    if (rc < 0)
        return rc;
    v = n ? le(m->p, (int)n) : 0;
    if (n && n < 8 && (m->p[n - 1] & 0x80))
        v |= ~(uint64_t)0 << (8 * n);
    m->p += n;
    return number(m, GEOM_PK_INT, (int64_t)v, 0);
}

static int binfloat(vm *m)
{
    uint64_t v = 0;
    double f;
    int rc = need(m, 8);

    if (rc < 0)
        return rc;
    for (int k = 0; k < 8; k++) /* big-endian */
        v = v << 8 | m->p[k];
    m->p += 8;
    memcpy(&f, &v, sizeof(f));
    return number(m, GEOM_PK_FLOAT, 0, f);
}

/* ---- containers ---- */

/* The top n objects (n = -1: down to the last MARK, which is dropped) into a new LIST. */
static int collect(vm *m, int n, int tuple)
{
    int from = n < 0 ? floor_(m) : m->sp - n, i, rc;

    if (n < 0 && !m->nm)
        return fail(m, "is damaged (no MARK)");
    if (n >= 0 && from < floor_(m))
        return fail(m, "is damaged (an opcode finds the stack empty)");
    if ((i = new_obj(m, GEOM_PK_LIST, tuple)) < 0)
        return i;
    for (int k = from; k < m->sp; k++)
        if ((rc = add_item(m, i, m->stack[k])) < 0)
            return rc;
    m->sp = from;
    if (n < 0)
        m->nm--;
    return push(m, i);
}

/* APPEND(S) into the list, SETITEM(S) into the dict below the MARK (or the top pair/item). */
static int fill(vm *m, int marked, int dict)
{
    int from = marked ? floor_(m) : m->sp - (dict ? 2 : 1), c, rc;

    if ((marked && !m->nm) || from < 1 || (!marked && from < floor_(m)))
        return fail(m, "is damaged (APPEND or SETITEM without a container)");
    c = m->stack[from - 1];
    if (ob(m, c)->type != (dict ? GEOM_PK_DICT : GEOM_PK_LIST) || ob(m, c)->sub ||
        (dict && (m->sp - from) % 2))
        return fail(m, "is damaged (APPEND or SETITEM on the wrong object)");
    for (int k = from; k < m->sp; k++)
        if ((rc = add_item(m, c, m->stack[k])) < 0)
            return rc;
    m->sp = from;
    if (marked)
        m->nm--;
    return VAS_OK;
}

static int mark(vm *m)
{
    if (m->nm >= GEOM_PK_MAX_MARKS)
        return fail(m, "nests more than %d MARKs", GEOM_PK_MAX_MARKS);
    m->marks[m->nm++] = m->sp;
    return VAS_OK;
}

/* A dict from key, value pairs above the MARK. */
static int dict_op(vm *m)
{
    int rc = collect(m, -1, 0), i;

    if (rc < 0)
        return rc;
    i = m->stack[m->sp - 1];
    if (ob(m, i)->n % 2)
        return fail(m, "is damaged (DICT of an odd number of items)");
    ob(m, i)->type = GEOM_PK_DICT;
    return VAS_OK;
}

/* ---- globals ---- */

static int global(vm *m, const char *mod, size_t ml, const char *name, size_t nl)
{
    char full[128];

    if (ml + nl + 2 > sizeof(full) || memchr(mod, 0, ml) || memchr(name, 0, nl))
        return fail(m, "names a Python global vas does not read");
    snprintf(full, sizeof(full), "%.*s.%.*s", (int)ml, mod, (int)nl, name);
    for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
        if (strcmp(full, allowed[k].name) == 0)
            return push(m, new_obj(m, GEOM_PK_OTHER, allowed[k].id));
    for (char *c = full; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    return err_set(m->e, VAS_EINVAL,
                   "%s: the pickle names the Python global %s, which vas refuses: it reads only "
                   "plain data and numpy arrays",
                   m->what, full);
}

static int op_global(vm *m)
{
    const unsigned char *l1 = memchr(m->p, '\n', (size_t)(m->end - m->p)), *l2;

    if (!l1 || !(l2 = memchr(l1 + 1, '\n', (size_t)(m->end - l1 - 1))))
        return fail(m, "is truncated (GLOBAL)");
    const char *mod = (const char *)m->p, *name = (const char *)l1 + 1;
    m->p = l2 + 1;
    return global(m, mod, (size_t)((const char *)l1 - mod), name,
                  (size_t)((const char *)l2 - name));
}

static int op_stack_global(vm *m)
{
    int mod = 0, name = 0, rc;

    if ((rc = pop(m, &name)) < 0 || (rc = pop(m, &mod)) < 0)
        return rc;
    if (ob(m, mod)->type != GEOM_PK_STR || ob(m, name)->type != GEOM_PK_STR)
        return fail(m, "is damaged (STACK_GLOBAL of something not a string)");
    return global(m, ob(m, mod)->s, ob(m, mod)->slen, ob(m, name)->s, ob(m, name)->slen);
}

/* ---- numpy ---- */

static int is_type(vm *m, int i, int type, int sub)
{
    return ob(m, i)->type == type && ob(m, i)->sub == sub;
}

/* numpy.dtype(code, align, copy): code "f8", "<i4", "u1", "b1", "?". */
static int np_dtype(vm *m, int a)
{
    const char *c;
    int i;

    if (ob(m, a)->n != 3 || ob(m, ob(m, a)->items[0])->type != GEOM_PK_STR)
        return fail(m, "calls numpy.dtype with the wrong arguments");
    c = ob(m, ob(m, a)->items[0])->s;
    i = new_obj(m, GEOM_PK_OTHER, PK_O_DTYPE);
    if (i < 0)
        return i;
    if (*c == '<' || *c == '>' || *c == '=' || *c == '|')
        ob(m, i)->big = *c++ == '>';
    if (strcmp(c, "?") == 0)
        c = "b1";
    if (!c[0] || !strchr("fiub", c[0]) || !strchr("1248", c[1] ? c[1] : 'x') || c[2] ||
        (c[0] == 'f' && c[1] < '4') || (c[0] == 'b' && c[1] != '1'))
        return fail(m, "holds a numpy array of dtype '%.16s'; vas reads float, int, uint, bool",
                    ob(m, ob(m, a)->items[0])->s);
    ob(m, i)->kind = c[0];
    ob(m, i)->i = c[1] - '0';
    return push(m, i);
}

/* One element of dtype dt at p, as a double. */
static double element(const pk_obj *dt, const unsigned char *p)
{
    unsigned char b[8];
    int n = (int)dt->i;
    uint64_t u;

    for (int k = 0; k < n; k++)
        b[k] = p[dt->big ? n - 1 - k : k];
    u = le(b, n);
    if (dt->kind == 'f' && n == 4) {
        float f;
        uint32_t u32 = (uint32_t)u;
        memcpy(&f, &u32, sizeof(f));
        return f;
    }
    if (dt->kind == 'f') {
        double f;
        memcpy(&f, &u, sizeof(f));
        return f;
    }
    if (dt->kind == 'i' && n < 8 && (u >> (8 * n - 1)) & 1)
        u |= ~(uint64_t)0 << (8 * n);
    return dt->kind == 'i' ? (double)(int64_t)u : (double)u;
}

/* numpy.core.multiarray.scalar(dtype, bytes): a plain number. */
static int np_scalar(vm *m, int a)
{
    const pk_obj *dt, *by;

    if (ob(m, a)->n != 2 || !is_type(m, ob(m, a)->items[0], GEOM_PK_OTHER, PK_O_DTYPE) ||
        ob(m, ob(m, a)->items[1])->type != GEOM_PK_BYTES)
        return fail(m, "holds a numpy scalar with the wrong arguments");
    dt = ob(m, ob(m, a)->items[0]);
    by = ob(m, ob(m, a)->items[1]);
    if (by->slen != (size_t)dt->i)
        return fail(m, "holds a numpy scalar whose bytes do not match its dtype");
    double v = element(dt, (const unsigned char *)by->s);
    return number(m, dt->kind == 'f' ? GEOM_PK_FLOAT : GEOM_PK_INT, (int64_t)v, v);
}

/* _codecs.encode(text, "latin1"): protocol 2's bytes. Code points over 255 are refused. */
static int encode(vm *m, int a)
{
    const pk_obj *t;
    int i;
    size_t n = 0;

    if (ob(m, a)->n != 2 || ob(m, ob(m, a)->items[0])->type != GEOM_PK_STR ||
        ob(m, ob(m, a)->items[1])->type != GEOM_PK_STR ||
        strcmp(ob(m, ob(m, a)->items[1])->s, "latin1") != 0)
        return fail(m, "calls _codecs.encode with arguments other than (text, 'latin1')");
    if ((i = new_obj(m, GEOM_PK_BYTES, 0)) < 0)
        return i;
    t = ob(m, ob(m, a)->items[0]);
    if (!(ob(m, i)->s = malloc(t->slen + 1)))
        return oom(m);
    for (size_t k = 0; k < t->slen; k++, n++) {
        unsigned char c = (unsigned char)t->s[k];
        if (c >= 0xc4 || (c >= 0x80 && c < 0xc2) ||
            (c >= 0xc2 && (k + 1 >= t->slen || ((unsigned char)t->s[k + 1] & 0xc0) != 0x80)))
            return fail(m, "holds latin1 bytes that are not latin1");
        ob(m, i)->s[n] = (char)(c >= 0xc2 ? ((c & 0x03) << 6) | (t->s[++k] & 0x3f) : c);
    }
    ob(m, i)->slen = n;
    return push(m, i);
}

static int op_reduce(vm *m)
{
    int a = 0, f = 0, rc;

    if ((rc = pop(m, &a)) < 0 || (rc = pop(m, &f)) < 0)
        return rc;
    if (ob(m, f)->type != GEOM_PK_OTHER || !is_type(m, a, GEOM_PK_LIST, 1))
        return fail(m, "calls something that is not an allowed global");
    switch (ob(m, f)->sub) {
    case PK_G_RECONSTRUCT:
        if (ob(m, a)->n != 3 || !is_type(m, ob(m, a)->items[0], GEOM_PK_OTHER, PK_G_NDARRAY))
            return fail(m, "reconstructs something that is not a numpy.ndarray");
        return push(m, new_obj(m, GEOM_PK_OTHER, PK_O_PENDING));
    case PK_G_DTYPE:
        return np_dtype(m, a);
    case PK_G_SCALAR:
        return np_scalar(m, a);
    case PK_G_ENCODE:
        return encode(m, a);
    default:
        return fail(m, "calls numpy.ndarray directly");
    }
}

/* An array's shape tuple: its element count into *numel. */
static int shape(vm *m, int s, int64_t *numel, int64_t dims[GEOM_PK_MAX_NDIM], int *nd)
{
    *numel = 1;
    *nd = ob(m, s)->n;
    if (!is_type(m, s, GEOM_PK_LIST, 1) || *nd > GEOM_PK_MAX_NDIM)
        return fail(m, "holds an array whose shape is not a tuple of at most %d", GEOM_PK_MAX_NDIM);
    for (int k = 0; k < *nd; k++) {
        const pk_obj *x = ob(m, ob(m, s)->items[k]);
        dims[k] = x->i;
        if (x->type != GEOM_PK_INT || x->i < 0 || __builtin_mul_overflow(*numel, x->i, numel) ||
            *numel > ((int64_t)1 << 40))
            return fail(m, "holds an array with a bad shape");
    }
    return VAS_OK;
}

/* BUILD of an array from (version, shape, dtype, is_fortran, raw bytes). */
static int build_array(vm *m, int inst, int st)
{
    const pk_obj *s = ob(m, st), *dt, *raw;
    int64_t numel, dims[GEOM_PK_MAX_NDIM], idx[GEOM_PK_MAX_NDIM] = {0};
    int nd, rc;
    double *v;

    if (!is_type(m, st, GEOM_PK_LIST, 1) || s->n != 5 ||
        !is_type(m, s->items[2], GEOM_PK_OTHER, PK_O_DTYPE) ||
        ob(m, s->items[4])->type != GEOM_PK_BYTES || ob(m, s->items[3])->type != GEOM_PK_BOOL)
        return fail(m, "sets an array's state from something other than (version, shape, "
                       "dtype, fortran, bytes)");
    if ((rc = shape(m, s->items[1], &numel, dims, &nd)) < 0)
        return rc;
    dt = ob(m, s->items[2]);
    raw = ob(m, s->items[4]);
    if ((uint64_t)numel * (uint64_t)dt->i != raw->slen)
        return fail(m, "holds an array whose bytes (%zu) do not match its shape", raw->slen);
    if (!(v = malloc((size_t)(numel ? numel : 1) * sizeof(double))))
        return oom(m);
    /* Fortran order: element k of the file is the k-th in column-major order. */
    for (int64_t k = 0; k < numel; k++) {
        int64_t c = 0;
        for (int d = 0; d < nd; d++)
            c = c * dims[d] + idx[d];
        v[ob(m, s->items[3])->i ? c : k] = element(dt, (const unsigned char *)raw->s + k * dt->i);
        for (int d = 0; d < nd && ++idx[d] == dims[d]; d++)
            idx[d] = 0;
    }
    ob(m, inst)->type = GEOM_PK_ARRAY;
    ob(m, inst)->data = v;
    ob(m, inst)->numel = numel;
    return VAS_OK;
}

static int op_build(vm *m)
{
    int st = 0, inst = 0, rc;

    if ((rc = pop(m, &st)) < 0 || (rc = top(m, &inst)) < 0)
        return rc;
    if (is_type(m, inst, GEOM_PK_OTHER, PK_O_PENDING))
        return build_array(m, inst, st);
    if (is_type(m, inst, GEOM_PK_OTHER, PK_O_DTYPE) && is_type(m, st, GEOM_PK_LIST, 1) &&
        ob(m, st)->n >= 2 && ob(m, ob(m, st)->items[1])->type == GEOM_PK_STR) {
        const char *order = ob(m, ob(m, st)->items[1])->s;
        if (!strchr("<>|=", order[0]) || order[1])
            return fail(m, "holds a numpy dtype of unknown byte order");
        ob(m, inst)->big = order[0] == '>';
        return VAS_OK;
    }
    return fail(m, "sets the state of an object vas does not build");
}

/* ---- the machine ---- */

static int step_arg(vm *m, int op)
{
    uint64_t v;
    int rc;

    switch (op) {
    case 0x80: /* PROTO */
        rc = arg(m, 1, &v);
        return rc < 0           ? rc
               : v < 2 || v > 4 ? fail(m, "is protocol %d; vas reads 2 to 4", (int)v)
                                : VAS_OK;
    case 0x95: /* FRAME */
        return arg(m, 8, &v);
    case 'J':
        rc = arg(m, 4, &v);
        return rc < 0 ? rc : number(m, GEOM_PK_INT, (int32_t)(uint32_t)v, 0);
    case 'K':
    case 'M':
        rc = arg(m, op == 'K' ? 1 : 2, &v);
        return rc < 0 ? rc : number(m, GEOM_PK_INT, (int64_t)v, 0);
    case 0x8c: /* SHORT_BINUNICODE */
    case 'C':  /* SHORT_BINBYTES */
    case 'X':  /* BINUNICODE */
    case 'B':  /* BINBYTES */
    case 0x8d: /* BINUNICODE8 */
    case 0x8e: /* BINBYTES8 */
        rc = arg(m, op == 0x8c || op == 'C' ? 1 : op == 'X' || op == 'B' ? 4 : 8, &v);
        return rc < 0 ? rc
                      : blob(m, v,
                             op == 0x8c || op == 'X' || op == 0x8d ? GEOM_PK_STR : GEOM_PK_BYTES);
    case 'h': /* BINGET */
    case 'j': /* LONG_BINGET */
        rc = arg(m, op == 'h' ? 1 : 4, &v);
        return rc < 0 ? rc : memo_get(m, v);
    case 'q': /* BINPUT */
    case 'r': /* LONG_BINPUT */
        rc = arg(m, op == 'q' ? 1 : 4, &v);
        return rc < 0 ? rc : memo_put(m, v);
    default:
        return 1;
    }
}

static int step_plain(vm *m, int op)
{
    int i = 0;

    switch (op) {
    case 'N':
        return push(m, new_obj(m, GEOM_PK_NONE, 0));
    case 0x88:
    case 0x89:
        return number(m, GEOM_PK_BOOL, op == 0x88, 0);
    case 0x8a:
        return long1(m);
    case 'G':
        return binfloat(m);
    case '(':
        return mark(m);
    case ')':
    case ']':
    case '}':
        return push(m, new_obj(m, op == '}' ? GEOM_PK_DICT : GEOM_PK_LIST, op == ')'));
    case 't':
    case 'l':
        return collect(m, -1, op == 't');
    case 0x85: /* TUPLE1..3 */
    case 0x86:
    case 0x87:
        return collect(m, op - 0x84, 1);
    case 'd':
        return dict_op(m);
    case 'a':
    case 'e':
    case 's':
    case 'u':
        return fill(m, op == 'e' || op == 'u', op == 's' || op == 'u');
    case 0x94: /* MEMOIZE */
        return memo_put(m, (uint64_t)m->n_memo++);
    case '0':
        return pop(m, &i);
    case '2': /* DUP */
        i = top(m, &op);
        return i < 0 ? i : push(m, op);
    case 'c':
        return op_global(m);
    case 0x93:
        return op_stack_global(m);
    case 'R':
        return op_reduce(m);
    case 'b':
        return op_build(m);
    default:
        m->p--;
        return fail(m, "uses opcode 0x%02x, which vas does not read", op);
    }
}

static int run(vm *m)
{
    int rc = VAS_OK;

    while (rc == VAS_OK) {
        int op;
        if (m->p >= m->end)
            return fail(m, "is truncated (no STOP)");
        op = *m->p++;
        if (op == '.') {
            if (m->sp != 1 || m->nm)
                return fail(m, "is damaged (STOP with %d objects on the stack)", m->sp);
            m->d->root = m->stack[0];
            return VAS_OK;
        }
        rc = step_arg(m, op);
        if (rc == 1)
            rc = step_plain(m, op);
    }
    return rc;
}

int geom_pk_load(const unsigned char *buf, size_t len, const char *what, geom_pk **out, vas_err *e)
{
    geom_pk *d = calloc(1, sizeof(*d));
    vm m = {.d = d, .start = buf, .p = buf, .end = buf + len, .what = what, .e = e};
    int rc = d ? run(&m) : err_set(e, VAS_ENOMEM, "out of memory reading %s", what);

    for (int i = 0; rc == VAS_OK && i < d->n; i++)
        if (d->o[i].type == GEOM_PK_OTHER && d->o[i].sub == PK_O_PENDING)
            rc = err_set(e, VAS_EINVAL, "%s: the pickle holds a numpy array without data", what);
    free(m.stack);
    free(m.memo);
    if (rc < 0) {
        geom_pk_free(d);
        return rc;
    }
    *out = d;
    return VAS_OK;
}

void geom_pk_free(geom_pk *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        free(p->o[i].s);
        free(p->o[i].items);
        free(p->o[i].data);
    }
    free(p->o);
    free(p);
}
