/* nn_torch_pickle.c - the pickle machine for torch.save's data.pkl (protocols 2 to 5), limited to
 * what torch.load(weights_only=True) accepts (see nn_torch_int.h, DESIGN).
 *
 * DESIGN: a stack machine like Python's (Lib/pickle.py, _Unpickler) whose stack, marks and memo
 * hold node positions. GLOBAL never imports: the name is looked up in a fixed table of the
 * globals a state dict needs (nn_torch_globals.c), anything else is refused by name, and REDUCE,
 * NEWOBJ and BUILD do only what these globals mean, on checked arguments. Every opcode reads
 * its bytes after checking they are there and makes at most one node or slot, each under a
 * ceiling, so memory stays O(len) and bounded. Objects are mutable as in Python (a dict may be
 * memoized and filled later); cycles are refused afterwards, by pt_check_tree. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_torch_int.h"

#define PT_DONE 1 /* step(): STOP seen */

/* ---- the doc ---- */

pt_doc *pt_doc_new(void)
{
    pt_doc *d = calloc(1, sizeof(*d));

    if (d)
        d->root = -1;
    return d;
}

void pt_doc_free(pt_doc *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++) {
        nn_pt *o = &d->nodes[i];
        free(o->s);
        free(o->items);
        if (o->t)
            free(o->t->data);
        free(o->t);
    }
    free(d->nodes);
    free(d);
}

int pt_node_new(pt_doc *d, int type, const char *file, vas_err *e)
{
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 256;
        nn_pt *nn;

        if (d->n >= PT_MAX_NODES)
            return err_set(e, VAS_ETOOBIG,
                           "'%s' holds more than %d pickled objects, more than vas reads", file,
                           PT_MAX_NODES);
        nn = realloc(d->nodes, (size_t)cap * sizeof(*nn));
        if (!nn)
            return err_set(e, VAS_ENOMEM, "out of memory reading '%s'", file);
        d->nodes = nn;
        d->cap = cap;
    }
    memset(&d->nodes[d->n], 0, sizeof(d->nodes[0]));
    d->nodes[d->n].type = type;
    d->nodes[d->n].doc = d;
    return d->n++;
}

/* ---- errors, bytes ---- */

int pt_fail(pt_vm *m, int code, const char *fmt, ...)
{
    char why[VAS_ERR_MSG];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return err_set(m->e, code, "'%s' cannot be read: its pickle (data.pkl) %s, at byte %zu",
                   m->file, why, (size_t)(m->p - m->buf));
}

int pt_damaged(pt_vm *m, const char *what)
{
    return pt_fail(m, VAS_EINVAL, "is damaged (%s)", what);
}

static int need(pt_vm *m, size_t n)
{
    if ((size_t)(m->end - m->p) < n)
        return pt_damaged(m, "it ends in the middle of an opcode");
    return VAS_OK;
}

static uint64_t rd_le(pt_vm *m, int n)
{
    uint64_t v = 0;

    for (int k = n - 1; k >= 0; k--)
        v = v << 8 | m->p[k];
    m->p += n;
    return v;
}

int pt_node(pt_vm *m, int type)
{
    return pt_node_new(m->d, type, m->file, m->e);
}

/* ---- stack, marks, memo ---- */

static int base(const pt_vm *m)
{
    return m->n_marks ? m->marks[m->n_marks - 1] : 0;
}

int pt_push(pt_vm *m, int i)
{
    if (m->sp == m->cap_stack) {
        int cap = m->cap_stack ? m->cap_stack * 2 : 64;
        int *ns;

        if (m->sp >= PT_MAX_STACK)
            return pt_fail(m, VAS_ETOOBIG, "stacks more than %d objects", PT_MAX_STACK);
        ns = realloc(m->stack, (size_t)cap * sizeof(*ns));
        if (!ns)
            return err_set(m->e, VAS_ENOMEM, "out of memory reading '%s'", m->file);
        m->stack = ns;
        m->cap_stack = cap;
    }
    m->stack[m->sp++] = i;
    return VAS_OK;
}

int pt_pop(pt_vm *m, int *i)
{
    if (m->sp <= base(m))
        return pt_damaged(m, "an opcode takes from an empty stack");
    *i = m->stack[--m->sp];
    return VAS_OK;
}

int pt_top(pt_vm *m, int *i)
{
    if (m->sp <= base(m))
        return pt_damaged(m, "an opcode takes from an empty stack");
    *i = m->stack[m->sp - 1];
    return VAS_OK;
}

static int pop_mark(pt_vm *m, int *from)
{
    if (m->n_marks == 0)
        return pt_damaged(m, "an opcode needs a MARK that is not there");
    *from = m->marks[--m->n_marks];
    return VAS_OK;
}

static int memo_put(pt_vm *m, uint64_t key)
{
    int i, rc = pt_top(m, &i);

    if (rc < 0)
        return rc;
    if (key >= PT_MAX_MEMO)
        return pt_fail(m, VAS_ETOOBIG, "memoizes under key %llu, over vas's %d",
                       (unsigned long long)key, PT_MAX_MEMO);
    if (key >= (uint64_t)m->cap_memo) {
        int cap = m->cap_memo ? m->cap_memo : 256;
        int *nm;

        while ((uint64_t)cap <= key)
            cap *= 2;
        nm = realloc(m->memo, (size_t)cap * sizeof(*nm));
        if (!nm)
            return err_set(m->e, VAS_ENOMEM, "out of memory reading '%s'", m->file);
        memset(nm + m->cap_memo, 0, (size_t)(cap - m->cap_memo) * sizeof(*nm));
        m->memo = nm;
        m->cap_memo = cap;
    }
    if (!m->memo[key])
        m->n_memo++;
    m->memo[key] = i + 1;
    return VAS_OK;
}

static int memo_get(pt_vm *m, uint64_t key)
{
    if (key >= (uint64_t)m->cap_memo || !m->memo[key])
        return pt_damaged(m, "it refers to a memo entry never stored");
    return pt_push(m, m->memo[key] - 1);
}

/* ---- containers ---- */

static int add_item(pt_vm *m, int c, int item)
{
    nn_pt *o = pt_nd(m, c);

    if (o->n * (o->type == NN_PT_DICT ? 2 : 1) + 2 > o->cap) {
        int cap = o->cap ? o->cap * 2 : 8;
        int *ni;

        if (o->cap > (1 << 28))
            return pt_fail(m, VAS_ETOOBIG, "builds a container too large");
        ni = realloc(o->items, (size_t)cap * sizeof(*ni));
        if (!ni)
            return err_set(m->e, VAS_ENOMEM, "out of memory reading '%s'", m->file);
        o->items = ni;
        o->cap = cap;
    }
    o->items[o->type == NN_PT_DICT ? 2 * o->n : o->n] = item;
    return VAS_OK;
}

static int items_push(pt_vm *m, int c, int item)
{
    int rc = add_item(m, c, item);

    if (rc == VAS_OK)
        pt_nd(m, c)->n++;
    return rc;
}

static int list_add(pt_vm *m, int c, int item)
{
    if (pt_nd(m, c)->type != NN_PT_LIST || pt_nd(m, c)->sub)
        return pt_damaged(m, "it appends to something not a list");
    return items_push(m, c, item);
}

static int dict_set(pt_vm *m, int c, int key, int val)
{
    int kt = pt_nd(m, key)->type, rc;

    if (pt_nd(m, c)->type != NN_PT_DICT)
        return pt_damaged(m, "it sets an item of something not a dict");
    if (kt != NN_PT_STR && kt != NN_PT_INT && kt != NN_PT_BOOL && kt != NN_PT_NONE &&
        kt != NN_PT_FLOAT)
        return pt_fail(m, VAS_EINVAL, "has a dict key vas does not read (not a string or number)");
    rc = add_item(m, c, key);
    if (rc < 0)
        return rc;
    pt_nd(m, c)->items[2 * pt_nd(m, c)->n + 1] = val;
    pt_nd(m, c)->n++;
    return VAS_OK;
}

/* A new LIST (tuple: sub 1) of stack[from..sp), which it pops. */
static int collect(pt_vm *m, int from, int tuple, int *out)
{
    int c = pt_node(m, NN_PT_LIST), rc;

    if (c < 0)
        return c;
    pt_nd(m, c)->sub = tuple;
    for (int k = from; k < m->sp; k++)
        if ((rc = items_push(m, c, m->stack[k])) < 0)
            return rc;
    m->sp = from;
    *out = c;
    return VAS_OK;
}

/* ---- strings and numbers ---- */

/* Bytes of the UTF-8 sequence at s (n > 0 bytes left) with its code point in *cp; 0 if bad.
 * Surrogates pass, as Python's "surrogatepass" lets them. */
int pt_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c = s[0], min;
    int len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        len = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < (size_t)len)
        return 0;
    for (int k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[k] & 0x3f);
    }
    if (c < min || c > 0x10ffff)
        return 0;
    *cp = c;
    return len;
}

static int utf8_ok(const unsigned char *s, size_t n)
{
    uint32_t cp;

    for (size_t k = 0; k < n;) {
        int l = pt_utf8_next(s + k, n - k, &cp);
        if (!l)
            return 0;
        k += (size_t)l;
    }
    return 1;
}

/* Pushes a STR (or PT_BYTES) of the next len bytes. */
static int op_str(pt_vm *m, uint64_t len, int type)
{
    int i, rc = need(m, len);
    char *s;

    if (rc < 0)
        return rc;
    if (type == NN_PT_STR && !utf8_ok(m->p, len))
        return pt_damaged(m, "a string is not UTF-8");
    if ((i = pt_node(m, type)) < 0)
        return i;
    if (!(s = malloc(len + 1)))
        return err_set(m->e, VAS_ENOMEM, "out of memory reading '%s'", m->file);
    memcpy(s, m->p, len);
    s[len] = '\0';
    m->p += len;
    pt_nd(m, i)->s = s;
    pt_nd(m, i)->slen = len;
    return pt_push(m, i);
}

static int op_num(pt_vm *m, int type, int64_t v, double f)
{
    int i = pt_node(m, type);

    if (i < 0)
        return i;
    pt_nd(m, i)->i = v;
    pt_nd(m, i)->f = f;
    return pt_push(m, i);
}

/* LONG1 and LONG4: a little-endian two's complement integer of n bytes. */
static int op_long(pt_vm *m, uint64_t n)
{
    uint64_t v;
    int rc = need(m, n);

    if (rc < 0)
        return rc;
    if (n > 8)
        return pt_fail(m, VAS_EUNSUPPORTED, "holds an integer wider than 64 bits");
    if (n == 0)
        return op_num(m, NN_PT_INT, 0, 0);
    v = rd_le(m, (int)n);
    if (n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n);
    return op_num(m, NN_PT_INT, (int64_t)v, 0);
}

static int op_binfloat(pt_vm *m)
{
    uint64_t v = 0;
    double f;
    int rc = need(m, 8);

    if (rc < 0)
        return rc;
    for (int k = 0; k < 8; k++)
        v = v << 8 | m->p[k];
    m->p += 8;
    memcpy(&f, &v, sizeof(f));
    return op_num(m, NN_PT_FLOAT, 0, f);
}

/* ---- containers' opcodes ---- */

static int op_tuple(pt_vm *m, int n)
{
    int c, rc;

    if (m->sp - base(m) < n)
        return pt_damaged(m, "a TUPLE opcode takes from an empty stack");
    if ((rc = collect(m, m->sp - n, 1, &c)) < 0)
        return rc;
    return pt_push(m, c);
}

static int op_mark_tuple(pt_vm *m, int tuple)
{
    int from = 0, c, rc;

    if ((rc = pop_mark(m, &from)) < 0 || (rc = collect(m, from, tuple, &c)) < 0)
        return rc;
    return pt_push(m, c);
}

static int op_mark_dict(pt_vm *m)
{
    int from = 0, c, rc;

    if ((rc = pop_mark(m, &from)) < 0)
        return rc;
    if ((m->sp - from) % 2)
        return pt_damaged(m, "a DICT opcode has a key without a value");
    if ((c = pt_node(m, NN_PT_DICT)) < 0)
        return c;
    for (int k = from; k < m->sp; k += 2)
        if ((rc = dict_set(m, c, m->stack[k], m->stack[k + 1])) < 0)
            return rc;
    m->sp = from;
    return pt_push(m, c);
}

static int op_setitems(pt_vm *m, int marked)
{
    int from = 0, c, rc;

    if (marked && (rc = pop_mark(m, &from)) < 0)
        return rc;
    if (!marked)
        from = m->sp - 2;
    if (from - 1 < base(m) || (m->sp - from) % 2)
        return pt_damaged(m, "a SETITEM opcode has no dict or a key without a value");
    c = m->stack[from - 1];
    for (int k = from; k < m->sp; k += 2)
        if ((rc = dict_set(m, c, m->stack[k], m->stack[k + 1])) < 0)
            return rc;
    m->sp = from;
    return VAS_OK;
}

static int op_appends(pt_vm *m, int marked)
{
    int from = 0, c, rc;

    if (marked && (rc = pop_mark(m, &from)) < 0)
        return rc;
    if (!marked)
        from = m->sp - 1;
    if (from - 1 < base(m))
        return pt_damaged(m, "an APPEND opcode has no list");
    c = m->stack[from - 1];
    for (int k = from; k < m->sp; k++)
        if ((rc = list_add(m, c, m->stack[k])) < 0)
            return rc;
    m->sp = from;
    return VAS_OK;
}

static int op_mark(pt_vm *m)
{
    if (m->n_marks == PT_MAX_MARKS)
        return pt_fail(m, VAS_ETOOBIG, "nests more than %d MARKs", PT_MAX_MARKS);
    m->marks[m->n_marks++] = m->sp;
    return VAS_OK;
}

static int op_empty(pt_vm *m, int type, int sub)
{
    int i = pt_node(m, type);

    if (i < 0)
        return i;
    pt_nd(m, i)->sub = sub;
    return pt_push(m, i);
}

/* ---- the machine ---- */

/* Reads an n-byte little-endian argument into *v. */
static int arg_le(pt_vm *m, int n, uint64_t *v)
{
    int rc = need(m, (size_t)n);

    if (rc == VAS_OK)
        *v = rd_le(m, n);
    return rc;
}

/* Opcodes with an argument in the stream; 2 when op is none of them. */
static int step_arg(pt_vm *m, int op)
{
    uint64_t v = 0;
    int rc;

    switch (op) {
    case 0x80: /* PROTO */
        if ((rc = arg_le(m, 1, &v)) == VAS_OK && v > 5)
            return pt_fail(m, VAS_EUNSUPPORTED, "uses pickle protocol %d, over 5", (int)v);
        return rc;
    case 0x95: /* FRAME */
        return arg_le(m, 8, &v);
    case 'J': /* BININT */
        return (rc = arg_le(m, 4, &v)) < 0 ? rc : op_num(m, NN_PT_INT, (int32_t)(uint32_t)v, 0);
    case 'K': /* BININT1 */
    case 'M': /* BININT2 */
        return (rc = arg_le(m, op == 'K' ? 1 : 2, &v)) < 0 ? rc
                                                           : op_num(m, NN_PT_INT, (int64_t)v, 0);
    case 0x8a: /* LONG1 */
    case 0x8b: /* LONG4 */
        if ((rc = arg_le(m, op == 0x8a ? 1 : 4, &v)) < 0)
            return rc;
        return v > INT32_MAX ? pt_damaged(m, "LONG4 has a negative length") : op_long(m, v);
    case 0x8c: /* SHORT_BINUNICODE */
    case 'X':  /* BINUNICODE */
    case 0x8d: /* BINUNICODE8 */
        rc = arg_le(m, op == 0x8c ? 1 : op == 'X' ? 4 : 8, &v);
        return rc < 0 ? rc : op_str(m, v, NN_PT_STR);
    case 'C':  /* SHORT_BINBYTES */
    case 'B':  /* BINBYTES */
    case 0x8e: /* BINBYTES8 */
        rc = arg_le(m, op == 'C' ? 1 : op == 'B' ? 4 : 8, &v);
        return rc < 0 ? rc : op_str(m, v, PT_BYTES);
    case 'h': /* BINGET */
    case 'j': /* LONG_BINGET */
        return (rc = arg_le(m, op == 'h' ? 1 : 4, &v)) < 0 ? rc : memo_get(m, v);
    case 'q': /* BINPUT */
    case 'r': /* LONG_BINPUT */
        return (rc = arg_le(m, op == 'q' ? 1 : 4, &v)) < 0 ? rc : memo_put(m, v);
    case 'G':
        return op_binfloat(m);
    case 'c':
        return pt_op_global(m);
    default:
        return 2;
    }
}

/* Opcodes without an argument; 2 when op is none of them. */
static int step_plain(pt_vm *m, int op)
{
    int i = 0, rc;

    switch (op) {
    case 'N':
        return op_num(m, NN_PT_NONE, 0, 0);
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
        return op_num(m, NN_PT_BOOL, op == 0x88, 0);
    case '}':
        return op_empty(m, NN_PT_DICT, 0);
    case ']':
        return op_empty(m, NN_PT_LIST, 0);
    case ')':
        return op_empty(m, NN_PT_LIST, 1);
    case '(':
        return op_mark(m);
    case 't':
    case 'l':
        return op_mark_tuple(m, op == 't');
    case 0x85: /* TUPLE1..3 */
    case 0x86:
    case 0x87:
        return op_tuple(m, op - 0x84);
    case 'd':
        return op_mark_dict(m);
    case 's':
    case 'u':
        return op_setitems(m, op == 'u');
    case 'a':
    case 'e':
        return op_appends(m, op == 'e');
    case '0': /* POP */
        return pt_pop(m, &i);
    case '1': /* POP_MARK */
        return (rc = pop_mark(m, &i)) < 0 ? rc : (m->sp = i, VAS_OK);
    case '2': /* DUP */
        return (rc = pt_top(m, &i)) < 0 ? rc : pt_push(m, i);
    case 0x94: /* MEMOIZE */
        return memo_put(m, (uint64_t)m->n_memo);
    case 0x93:
        return pt_op_stack_global(m);
    case 'R':
        return pt_op_reduce(m);
    case 0x81:
        return pt_op_newobj(m);
    case 'b':
        return pt_op_build(m);
    case 'Q':
        return pt_op_persid(m);
    case '.': /* STOP */
        return (rc = pt_pop(m, &m->d->root)) < 0 ? rc : PT_DONE;
    default:
        return 2;
    }
}

int pt_unpickle(pt_doc *d, const unsigned char *buf, size_t len, const char *file, vas_err *e)
{
    pt_vm m = {.buf = buf, .p = buf, .end = buf + len, .d = d, .file = file, .e = e};
    int rc = VAS_OK;

    if (len > PT_MAX_PICKLE)
        return err_set(e, VAS_ETOOBIG, "'%s' has a pickle (data.pkl) of %zu bytes, over vas's %u",
                       file, len, PT_MAX_PICKLE);
    if (!(m.marks = malloc(PT_MAX_MARKS * sizeof(*m.marks))))
        return err_set(e, VAS_ENOMEM, "out of memory reading '%s'", file);
    while (rc == VAS_OK) {
        int op;

        if (m.p == m.end) {
            rc = pt_damaged(&m, "it ends before its STOP opcode");
            break;
        }
        op = *m.p++;
        rc = step_arg(&m, op);
        if (rc == 2)
            rc = step_plain(&m, op);
        if (rc == 2) {
            m.p--;
            rc = pt_fail(&m, VAS_EINVAL, "has opcode 0x%02x, which torch.save never writes", op);
        }
    }
    free(m.stack);
    free(m.marks);
    free(m.memo);
    return rc == PT_DONE ? VAS_OK : rc;
}
