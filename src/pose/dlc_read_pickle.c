/* dlc_read_pickle.c - a strictly bounded unpickler for the column lists pandas keeps in HDF5
 * attributes (values_block_<k>_kind, non_index_axes), which PyTables pickles at protocol 0.
 *
 * DESIGN: a stack machine like Python's (Lib/pickle.py, _Unpickler) over a small object model:
 * None, int, str, list, tuple and dict (whose content is dropped). Objects live in one array
 * and refer to each other by position, so memo aliasing and even cycles are harmless: the
 * caller only looks two levels down. Every opcode consumes at least one byte and makes at most
 * one object or stack slot, so memory is O(len); every read checks the bytes left first. Any
 * other opcode (GLOBAL, REDUCE, BUILD, ...) is refused: nothing here ever runs or imports. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pose/dlc_read_int.h"
#include "pose/pose_layout.h"

#define PK_MEMO_MAX (1 << 20) /* memo keys */

enum { O_NONE, O_INT, O_STR, O_LIST, O_TUPLE, O_DICT };

typedef struct pobj {
    int type;
    int64_t i;  /* O_INT */
    char *s;    /* O_STR: UTF-8, NUL-terminated, owned */
    int *items; /* O_LIST, O_TUPLE: object positions, owned */
    int n, cap;
} pobj;

typedef struct pk {
    const unsigned char *p, *end; /* the bytes left */
    const char *file;             /* for messages */
    vas_err *e;
    pobj *o;
    int n_o, cap_o;
    int *stack, sp, cap_stack; /* object positions */
    int *marks, n_marks, cap_marks;
    int *memo, cap_memo, n_memo; /* memo[key] = position or -1; n_memo keys set */
} pk;

static int bad(pk *k, const char *why)
{
    return err_set(k->e, VAS_EINVAL, "%s: the HDF5 column names cannot be read (%s)", k->file, why);
}

static int oom(pk *k)
{
    return err_set(k->e, VAS_ENOMEM, "out of memory reading %s", k->file);
}

/* Makes room for one more int in *a (of *cap). */
static int room(int **a, int n, int *cap)
{
    if (n < *cap)
        return 0;
    {
        int nc = *cap ? 2 * *cap : 16;
        int *na = realloc(*a, (size_t)nc * sizeof(*na));
        if (!na)
            return -1;
        *a = na;
        *cap = nc;
    }
    return 0;
}

/* ---- objects and the stack ---- */

static int new_obj(pk *k, int type)
{
    if (k->n_o == k->cap_o) {
        int nc = k->cap_o ? 2 * k->cap_o : 64;
        pobj *no = realloc(k->o, (size_t)nc * sizeof(*no));
        if (!no)
            return oom(k);
        k->o = no;
        k->cap_o = nc;
    }
    memset(&k->o[k->n_o], 0, sizeof(pobj));
    k->o[k->n_o].type = type;
    return k->n_o++;
}

static int push(pk *k, int obj)
{
    if (obj < 0)
        return obj;
    if (room(&k->stack, k->sp, &k->cap_stack) < 0)
        return oom(k);
    k->stack[k->sp++] = obj;
    return VAS_OK;
}

static int push_new(pk *k, int type, int64_t i)
{
    int o = new_obj(k, type);

    if (o >= 0)
        k->o[o].i = i;
    return push(k, o);
}

/* Stack entries above the last mark (none if no mark: 0 = the bottom). */
static int mark_base(pk *k)
{
    return k->n_marks ? k->marks[k->n_marks - 1] : -1;
}

static int pop(pk *k, int *obj)
{
    if (k->sp == 0 || k->sp <= mark_base(k))
        return bad(k, "stack underflow");
    *obj = k->stack[--k->sp];
    return VAS_OK;
}

static int add_item(pk *k, int to, int item)
{
    pobj *o = &k->o[to];

    if (room(&o->items, o->n, &o->cap) < 0)
        return oom(k);
    o->items[o->n++] = item;
    return VAS_OK;
}

/* Moves stack[from..sp) into object `to` (a new list/tuple) or drops them (dict). */
static int collect(pk *k, int from, int to)
{
    int i, rc = VAS_OK;

    for (i = from; i < k->sp && rc == VAS_OK; i++)
        if (k->o[to].type != O_DICT)
            rc = add_item(k, to, k->stack[i]);
    k->sp = from;
    return rc;
}

/* LIST, TUPLE, DICT: the objects since the last mark become one; the mark goes. */
static int from_mark(pk *k, int type)
{
    int o, from, rc;

    if (k->n_marks == 0)
        return bad(k, "no mark");
    from = k->marks[--k->n_marks];
    o = new_obj(k, type);
    if (o < 0)
        return o;
    if (type == O_DICT && (k->sp - from) % 2)
        return bad(k, "odd dict items");
    rc = collect(k, from, o);
    return rc < 0 ? rc : push(k, o);
}

/* TUPLE1..3: the top n objects become a tuple. */
static int tuple_n(pk *k, int n)
{
    int o, rc;

    if (k->sp - n < 0 || k->sp - n < mark_base(k))
        return bad(k, "stack underflow");
    o = new_obj(k, O_TUPLE);
    if (o < 0)
        return o;
    rc = collect(k, k->sp - n, o);
    return rc < 0 ? rc : push(k, o);
}

/* APPEND(S), SETITEM(S): items go into the list (or are dropped into the dict) below them. */
static int append(pk *k, int many, int dict)
{
    int from = many ? mark_base(k) : k->sp - (dict ? 2 : 1), target;

    if (many) {
        if (k->n_marks == 0)
            return bad(k, "no mark");
        k->n_marks--;
    }
    if (from < 1 || from > k->sp)
        return bad(k, "stack underflow");
    target = k->stack[from - 1];
    if (k->o[target].type != (dict ? O_DICT : O_LIST))
        return bad(k, dict ? "items set on a non-dict" : "append to a non-list");
    if (dict && (k->sp - from) % 2)
        return bad(k, "odd dict items");
    return collect(k, from, target);
}

/* ---- operands ---- */

static int take(pk *k, size_t n, const unsigned char **at)
{
    if ((size_t)(k->end - k->p) < n)
        return bad(k, "truncated");
    *at = k->p;
    k->p += n;
    return VAS_OK;
}

/* A text operand up to "\n": [*s, *s + *n). */
static int line(pk *k, const unsigned char **s, size_t *n)
{
    const unsigned char *nl = memchr(k->p, '\n', (size_t)(k->end - k->p));

    if (!nl)
        return bad(k, "truncated");
    *s = k->p;
    *n = (size_t)(nl - k->p);
    k->p = nl + 1;
    return VAS_OK;
}

/* Little-endian unsigned of n <= 8 bytes. */
static uint64_t le(const unsigned char *b, int n)
{
    uint64_t v = 0;

    while (n-- > 0)
        v = (v << 8) | b[n];
    return v;
}

/* A decimal integer line ("I", "L", "p", "g"): optional '-', digits, optional trailing 'L'. */
static int dec_line(pk *k, int64_t *v)
{
    const unsigned char *s;
    size_t n, i = 0;
    int neg = 0, rc = line(k, &s, &n);

    if (rc < 0)
        return rc;
    if (n > 0 && s[n - 1] == 'L')
        n--;
    if (n > 0 && s[0] == '-')
        neg = 1, i = 1;
    if (i == n || n - i > 18)
        return bad(k, "bad integer");
    for (*v = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return bad(k, "bad integer");
        *v = *v * 10 + (s[i] - '0');
    }
    if (neg)
        *v = -*v;
    return VAS_OK;
}

/* ---- strings ---- */

static int put_utf8(char *out, size_t *n, uint32_t cp)
{
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
    return 0;
}

static int hexval(const unsigned char *s, int n, uint32_t *cp)
{
    int i;

    for (*cp = 0, i = 0; i < n; i++) {
        int c = s[i], d = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
        if (d < 0)
            return -1;
        *cp = (*cp << 4) | (uint32_t)d;
    }
    return 0;
}

/* "V" operand: raw-unicode-escape (latin-1 bytes, \uXXXX, \UXXXXXXXX) into UTF-8. */
static int str_raw(pk *k, const unsigned char *s, size_t n)
{
    char *out = malloc(2 * n + 1); /* each input byte gives at most 2 bytes */
    size_t i = 0, m = 0;
    int o;

    if (!out)
        return oom(k);
    while (i < n) {
        uint32_t cp = s[i];
        int w = 0;
        if (cp == '\\' && i + 1 < n && (s[i + 1] == 'u' || s[i + 1] == 'U'))
            w = s[i + 1] == 'u' ? 4 : 8;
        if (w && (i + 2 + (size_t)w > n || hexval(s + i + 2, w, &cp) < 0)) {
            free(out);
            return bad(k, "bad escape in a string");
        }
        i += w ? 2 + (size_t)w : 1;
        if (put_utf8(out, &m, cp) < 0) {
            free(out);
            return bad(k, "a name holds NUL or an invalid code point");
        }
    }
    out[m] = '\0';
    if ((o = new_obj(k, O_STR)) < 0) {
        free(out);
        return o;
    }
    k->o[o].s = out;
    return push(k, o);
}

/* BINUNICODE operands: UTF-8 bytes as they are. */
static int str_utf8(pk *k, const unsigned char *s, size_t n)
{
    char *out;
    int o;

    if (memchr(s, 0, n))
        return bad(k, "a name holds NUL");
    out = malloc(n + 1);
    if (!out)
        return oom(k);
    memcpy(out, s, n);
    out[n] = '\0';
    if (!pose_utf8_valid(out)) {
        free(out);
        return bad(k, "a name is not UTF-8");
    }
    if ((o = new_obj(k, O_STR)) < 0) {
        free(out);
        return o;
    }
    k->o[o].s = out;
    return push(k, o);
}

static int op_binstr(pk *k, int len_bytes)
{
    const unsigned char *b, *s;
    uint64_t n;
    int rc = take(k, (size_t)len_bytes, &b);

    if (rc < 0)
        return rc;
    n = le(b, len_bytes);
    if (n > (uint64_t)(k->end - k->p))
        return bad(k, "truncated");
    rc = take(k, (size_t)n, &s);
    return rc < 0 ? rc : str_utf8(k, s, (size_t)n);
}

/* ---- memo ---- */

static int memo_put(pk *k, int64_t key)
{
    if (key < 0 || key >= PK_MEMO_MAX)
        return bad(k, "memo key out of range");
    if (k->sp == 0 || k->sp <= mark_base(k))
        return bad(k, "memoize on an empty stack");
    while (key >= k->cap_memo) {
        int old = k->cap_memo, i;
        if (room(&k->memo, k->cap_memo, &k->cap_memo) < 0)
            return oom(k);
        for (i = old; i < k->cap_memo; i++)
            k->memo[i] = -1;
    }
    if (k->memo[key] < 0)
        k->n_memo++;
    k->memo[key] = k->stack[k->sp - 1];
    return VAS_OK;
}

static int memo_get(pk *k, int64_t key)
{
    if (key < 0 || key >= k->cap_memo || k->memo[key] < 0)
        return bad(k, "memo key not set");
    return push(k, k->memo[key]);
}

/* ---- opcodes ---- */

/* Opcodes with a fixed-size binary operand of n bytes: value in *v. */
static int operand(pk *k, int n, int64_t *v)
{
    const unsigned char *b;
    int rc = take(k, (size_t)n, &b);

    if (rc == VAS_OK)
        *v = (int64_t)le(b, n);
    return rc;
}

static int op_int(pk *k, int op)
{
    int64_t v = 0;
    int rc;

    switch (op) {
    case 'I':
    case 'L':
        rc = dec_line(k, &v);
        break;
    case 'J':
        rc = operand(k, 4, &v);
        v = (int32_t)(uint32_t)v;
        break;
    case 'K':
        rc = operand(k, 1, &v);
        break;
    default: /* 'M' */
        rc = operand(k, 2, &v);
        break;
    }
    return rc < 0 ? rc : push_new(k, O_INT, v);
}

static int op_memo(pk *k, int op)
{
    int64_t key = 0;
    int rc = VAS_OK;

    if (op == 'p' || op == 'g')
        rc = dec_line(k, &key);
    else if (op == 'q' || op == 'h')
        rc = operand(k, 1, &key);
    else if (op == 'r' || op == 'j')
        rc = operand(k, 4, &key);
    else /* MEMOIZE */
        key = k->n_memo;
    if (rc < 0)
        return rc;
    return op == 'g' || op == 'h' || op == 'j' ? memo_get(k, key) : memo_put(k, key);
}

static int op_mark(pk *k)
{
    if (room(&k->marks, k->n_marks, &k->cap_marks) < 0)
        return oom(k);
    k->marks[k->n_marks++] = k->sp;
    return VAS_OK;
}

static int op_text(pk *k)
{
    const unsigned char *s;
    size_t n;
    int rc = line(k, &s, &n);

    return rc < 0 ? rc : str_raw(k, s, n);
}

/* One opcode; 1 after STOP. */
static int step(pk *k)
{
    int64_t skip;
    int op = *k->p++, o, rc;

    switch (op) {
    case '.':
        return 1;
    case '(':
        return op_mark(k);
    case 'N':
        return push_new(k, O_NONE, 0);
    case 0x88:
    case 0x89:
        return push_new(k, O_INT, op == 0x88);
    case 'I':
    case 'L':
    case 'J':
    case 'K':
    case 'M':
        return op_int(k, op);
    case 'V':
        return op_text(k);
    case 'X':
        return op_binstr(k, 4);
    case 0x8c:
        return op_binstr(k, 1);
    case 0x8d:
        return op_binstr(k, 8);
    case ']':
    case ')':
    case '}':
        return push_new(k, op == ']' ? O_LIST : op == ')' ? O_TUPLE : O_DICT, 0);
    case 'l':
    case 't':
    case 'd':
        return from_mark(k, op == 'l' ? O_LIST : op == 't' ? O_TUPLE : O_DICT);
    case 0x85:
    case 0x86:
    case 0x87:
        return tuple_n(k, op - 0x84);
    case 'a':
    case 'e':
        return append(k, op == 'e', 0);
    case 's':
    case 'u':
        return append(k, op == 'u', 1);
    case 'p':
    case 'q':
    case 'r':
    case 'g':
    case 'h':
    case 'j':
    case 0x94:
        return op_memo(k, op);
    case '0':
        return pop(k, &o);
    case '2':
        rc = pop(k, &o);
        return rc < 0 ? rc : (push(k, o) < 0 ? oom(k) : push(k, o));
    case 0x80:
        rc = operand(k, 1, &skip);
        return rc < 0 ? rc : skip > 5 ? bad(k, "unknown protocol") : VAS_OK;
    case 0x95:
        return operand(k, 8, &skip);
    default:
        return err_set(k->e, VAS_EINVAL,
                       "%s: the HDF5 column names use pickle opcode 0x%02x, which vas does not "
                       "read",
                       k->file, op);
    }
}

/* ---- the column list ---- */

static const pobj *item(const pk *k, const pobj *o, int i)
{
    return &k->o[o->items[i]];
}

/* The list of column tuples: the result itself, or non_index_axes' [(1, list)]. */
static const pobj *column_list(const pk *k, const pobj *r)
{
    if (r->type != O_LIST)
        return NULL;
    if (r->n == 1 && item(k, r, 0)->type == O_TUPLE && item(k, r, 0)->n == 2 &&
        item(k, item(k, r, 0), 0)->type == O_INT && item(k, item(k, r, 0), 1)->type == O_LIST)
        return item(k, item(k, r, 0), 1);
    return r;
}

/* Checks the tuples and copies their strings into one block. */
static int export(pk *k, const pobj *cols, char ***names, int *n_cols, int *width)
{
    size_t total = 0, at;
    int i, j, w = cols->n ? item(k, cols, 0)->n : 0;
    char **out;

    if (cols->n < 1 || cols->n > POSE_PARTS_MAX * POSE_COORDS_MAX || w < 1 || w > 8)
        return bad(k, "no column tuples, or too many");
    for (i = 0; i < cols->n; i++) {
        const pobj *t = item(k, cols, i);
        if (t->type != O_TUPLE || t->n != w)
            return bad(k, "a column is not a tuple like the others");
        for (j = 0; j < w; j++) {
            if (item(k, t, j)->type != O_STR)
                return bad(k, "a column name is not a string");
            total += strlen(item(k, t, j)->s) + 1;
        }
    }
    at = (size_t)cols->n * (size_t)w * sizeof(char *);
    out = malloc(at + total);
    if (!out)
        return oom(k);
    for (i = 0; i < cols->n; i++)
        for (j = 0; j < w; j++) {
            const char *s = item(k, item(k, cols, i), j)->s;
            size_t n = strlen(s) + 1;
            out[i * w + j] = (char *)out + at;
            memcpy(out[i * w + j], s, n);
            at += n;
        }
    *names = out;
    *n_cols = cols->n;
    *width = w;
    return VAS_OK;
}

int dlc_unpickle_columns(const char *buf, size_t len, const char *file, char ***names, int *n_cols,
                         int *width, vas_err *e)
{
    pk k = {.p = (const unsigned char *)buf,
            .end = (const unsigned char *)buf + len,
            .file = file,
            .e = e};
    const pobj *cols;
    int rc = VAS_OK, i;

    while (rc == VAS_OK) {
        if (k.p == k.end) {
            rc = bad(&k, "no STOP");
            break;
        }
        rc = step(&k);
    }
    if (rc == 1) {
        cols = k.sp == 1 && k.n_marks == 0 ? column_list(&k, &k.o[k.stack[0]]) : NULL;
        rc = cols ? export(&k, cols, names, n_cols, width) : bad(&k, "not a list of columns");
    }
    for (i = 0; i < k.n_o; i++) {
        free(k.o[i].s);
        free(k.o[i].items);
    }
    free(k.o);
    free(k.stack);
    free(k.marks);
    free(k.memo);
    return rc;
}
