/* nn_tf.c - see nn_tf.h. Reading the GraphDef, resolving node inputs, the walk from the
 * requested outputs, and emitting the graph; the per-op translations are in nn_tf_ops.c and the
 * constants and shape arithmetic in nn_tf_eval.c.
 *
 * DESIGN. A frozen graph holds everything the training session had that the outputs need, and
 * often more (DeepLabCut-Live's "GPU form" computes poses after the score maps). Only the nodes
 * the requested outputs reach are translated, so an operator vas lacks elsewhere in the file
 * does not matter; one the outputs need is refused naming its node. The walk is iterative (a
 * ResNet-152 is a chain of ~1500 nodes) and refuses cycles. Inputs are resolved once, looking
 * through Identity-like nodes (each variable's "/read", IdentityN of a custom gradient), so the
 * translations see the tensor that really holds the data. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_tf.h"

#include "core/util.h"
#include "nn/nn_tf_int.h"

#define TF_MAX_DEPS 256  /* data inputs of one node (ConcatV2 of many tensors) */
#define TF_MAX_OUT  4096 /* output index a reference may name ("node:k") */

/* ---------------------------------------------------------------------------------------------
 * Small accessors
 * ------------------------------------------------------------------------------------------- */
const char *tf_name(const tf_ctx *x, int node)
{
    const char *s = x->nd[node]->name;
    return s ? s : "";
}

const char *tf_op(const tf_ctx *x, int node)
{
    const char *s = x->nd[node]->op;
    return s ? s : "";
}

tf_val *tf_val_of(tf_ctx *x, tf_ref r)
{
    return &x->vals[x->voff[r.node] + r.out];
}

#undef tf_fail
int tf_fail(tf_ctx *x, int node, int code, const char *fmt, ...)
{
    char msg[VAS_ERR_MSG];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return nn_build_fail(x->b, code, "node '%s' (%s): %s", tf_name(x, node), tf_op(x, node), msg);
}

const Vastf__AttrValue *tf_attr(const tf_ctx *x, int node, const char *key)
{
    const Vastf__NodeDef *n = x->nd[node];

    for (size_t i = 0; i < n->n_attr; i++)
        if (n->attr[i]->key && strcmp(n->attr[i]->key, key) == 0)
            return n->attr[i]->value;
    return NULL;
}

int64_t tf_attr_int(const tf_ctx *x, int node, const char *key, int64_t def)
{
    const Vastf__AttrValue *a = tf_attr(x, node, key);

    if (a && a->value_case == VASTF__ATTR_VALUE__VALUE_I)
        return a->i;
    if (a && a->value_case == VASTF__ATTR_VALUE__VALUE_TYPE)
        return a->type;
    return def;
}

float tf_attr_float(const tf_ctx *x, int node, const char *key, float def)
{
    const Vastf__AttrValue *a = tf_attr(x, node, key);

    return a && a->value_case == VASTF__ATTR_VALUE__VALUE_F ? a->f : def;
}

int tf_attr_bool(const tf_ctx *x, int node, const char *key, int def)
{
    const Vastf__AttrValue *a = tf_attr(x, node, key);

    return a && a->value_case == VASTF__ATTR_VALUE__VALUE_B ? (a->b != 0) : def;
}

const char *tf_attr_str(const tf_ctx *x, int node, const char *key, const char *def, char *buf,
                        size_t n)
{
    const Vastf__AttrValue *a = tf_attr(x, node, key);

    if (!a || a->value_case != VASTF__ATTR_VALUE__VALUE_S)
        return def;
    snprintf(buf, n, "%.*s", (int)(a->s.len < n ? a->s.len : n - 1), (const char *)a->s.data);
    return buf;
}

int tf_attr_ints(const tf_ctx *x, int node, const char *key, int64_t *out, int max)
{
    const Vastf__AttrValue *a = tf_attr(x, node, key);

    if (!a || a->value_case != VASTF__ATTR_VALUE__VALUE_LIST || !a->list ||
        a->list->n_i > (size_t)max)
        return -1;
    for (size_t i = 0; i < a->list->n_i; i++)
        out[i] = a->list->i[i];
    return (int)a->list->n_i;
}

int tf_rt(tf_ctx *x, int node, int k)
{
    tf_ref r = x->in[node][k];
    tf_val *v = tf_val_of(x, r);

    switch (v->kind) {
    case TV_RT:
        return v->v;
    case TV_CONV:
        return tf_conv_emit(x, tf_name(x, r.node), v);
    case TV_PAD:
        return tf_fail(x, node, VAS_EUNSUPPORTED,
                       "reads the Pad '%s', which vas only folds into a convolution or pooling",
                       tf_name(x, r.node));
    case TV_CONST:
        return tf_fail(x, node, VAS_EUNSUPPORTED,
                       "input %d ('%s') is a constant where vas expects an image tensor", k,
                       tf_name(x, r.node));
    default:
        return tf_fail(x, node, VAS_EINVAL, "input %d ('%s') was not computed", k,
                       tf_name(x, r.node));
    }
}

/* ---------------------------------------------------------------------------------------------
 * Reading and indexing
 * ------------------------------------------------------------------------------------------- */
static int read_pb(const char *path, unsigned char **buf, size_t *len, vas_err *e)
{
    return util_read_file(path, NN_TF_MAX_FILE, "the 2 GiB a TensorFlow GraphDef can hold", buf,
                          len, e);
}

static uint32_t hash_str(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Index of the node named s[0..n), or -1. */
static int find_node(const tf_ctx *x, const char *s, size_t n)
{
    uint32_t m = (uint32_t)x->hcap - 1;

    for (uint32_t h = hash_str(s, n) & m;; h = (h + 1) & m) {
        int i = x->hash[h] - 1;
        if (i < 0)
            return -1;
        if (strncmp(tf_name(x, i), s, n) == 0 && tf_name(x, i)[n] == '\0')
            return i;
    }
}

static int build_index(tf_ctx *x, vas_err *e)
{
    x->hcap = 16;
    while (x->hcap < 2 * x->n)
        x->hcap *= 2;
    x->hash = calloc((size_t)x->hcap, sizeof(int));
    if (!x->hash)
        return err_set(e, VAS_ENOMEM, "out of memory indexing the graph");
    for (int i = 0; i < x->n; i++) {
        const char *s = tf_name(x, i);
        uint32_t m = (uint32_t)x->hcap - 1, h = hash_str(s, strlen(s)) & m;
        if (!s[0])
            return err_set(e, VAS_EINVAL, "node %d of the graph has no name", i);
        for (; x->hash[h]; h = (h + 1) & m)
            if (strcmp(tf_name(x, x->hash[h] - 1), s) == 0)
                return err_set(e, VAS_EINVAL, "the graph defines node '%s' twice", s);
        x->hash[h] = i + 1;
    }
    return VAS_OK;
}

/* "name" or "name:k" into a reference; node -1 if no such node. */
static tf_ref parse_ref(const tf_ctx *x, const char *s)
{
    size_t n = strlen(s);
    const char *colon = strrchr(s, ':');
    tf_ref r = {-1, 0};

    if (colon && colon[1]) {
        long k = 0;
        const char *p = colon + 1;
        for (; *p >= '0' && *p <= '9' && k < TF_MAX_OUT; p++)
            k = k * 10 + (*p - '0');
        if (!*p && k >= TF_MAX_OUT)
            return r; /* node -1: no node has that many outputs */
        if (!*p) {
            n = (size_t)(colon - s);
            r.out = (int)k;
        }
    }
    r.node = find_node(x, s, n);
    return r;
}

static int identity_like(const char *op)
{
    return strcmp(op, "Identity") == 0 || strcmp(op, "StopGradient") == 0 ||
           strcmp(op, "Snapshot") == 0 || strcmp(op, "PreventGradient") == 0 ||
           strcmp(op, "IdentityN") == 0;
}

/* Follows r through Identity-like nodes (raw inputs in x->in, not yet resolved). */
static tf_ref look_through(const tf_ctx *x, tf_ref r)
{
    for (int hops = 0; r.node >= 0 && hops <= x->n && identity_like(tf_op(x, r.node)); hops++) {
        int k = strcmp(tf_op(x, r.node), "IdentityN") == 0 ? r.out : 0;
        if (k >= x->n_in[r.node])
            return (tf_ref){-1, 0};
        r = x->in[r.node][k];
    }
    return r;
}

/* Parses every node's data inputs (control inputs "^x" are dropped), then resolves them. */
static int resolve_inputs(tf_ctx *x, vas_err *e)
{
    tf_ref **raw = calloc((size_t)x->n, sizeof(*raw));

    x->in = calloc((size_t)x->n, sizeof(*x->in));
    x->n_in = calloc((size_t)x->n, sizeof(int));
    if (!raw || !x->in || !x->n_in) {
        free(raw);
        return err_set(e, VAS_ENOMEM, "out of memory indexing the graph");
    }
    for (int i = 0; i < x->n; i++) {
        const Vastf__NodeDef *nd = x->nd[i];
        x->in[i] = calloc(nd->n_input + 1, sizeof(tf_ref));
        raw[i] = calloc(nd->n_input + 1, sizeof(tf_ref));
        if (!x->in[i] || !raw[i])
            goto nomem;
        for (size_t k = 0; k < nd->n_input; k++)
            if (nd->input[k] && nd->input[k][0] != '^')
                raw[i][x->n_in[i]++] = parse_ref(x, nd->input[k]);
        memcpy(x->in[i], raw[i], (size_t)x->n_in[i] * sizeof(tf_ref));
    }
    for (int i = 0; i < x->n; i++)
        for (int k = 0; k < x->n_in[i]; k++)
            raw[i][k] = look_through(x, x->in[i][k]);
    for (int i = 0; i < x->n; i++) {
        memcpy(x->in[i], raw[i], (size_t)x->n_in[i] * sizeof(tf_ref));
        free(raw[i]);
    }
    free(raw);
    return VAS_OK;
nomem:
    for (int i = 0; i < x->n; i++)
        free(raw[i]);
    free(raw);
    return err_set(e, VAS_ENOMEM, "out of memory indexing the graph");
}

/* Value slots: one per output any reader names. */
static int alloc_values(tf_ctx *x, const tf_ref *outs, int n_outs, vas_err *e)
{
    int total = 0;

    x->n_out = calloc((size_t)x->n, sizeof(int));
    x->voff = calloc((size_t)x->n, sizeof(int));
    x->state = calloc((size_t)x->n, 1);
    x->order = calloc((size_t)x->n, sizeof(int));
    if (!x->n_out || !x->voff || !x->state || !x->order)
        return err_set(e, VAS_ENOMEM, "out of memory indexing the graph");
    for (int i = 0; i < x->n; i++)
        x->n_out[i] = 1;
    for (int i = 0; i < x->n; i++)
        for (int k = 0; k < x->n_in[i]; k++) {
            tf_ref r = x->in[i][k];
            if (r.node >= 0 && r.out + 1 > x->n_out[r.node])
                x->n_out[r.node] = r.out + 1;
        }
    for (int i = 0; i < n_outs; i++)
        if (outs[i].out + 1 > x->n_out[outs[i].node])
            x->n_out[outs[i].node] = outs[i].out + 1;
    for (int i = 0; i < x->n; i++) {
        x->voff[i] = total;
        total += x->n_out[i];
    }
    x->vals = calloc((size_t)total + 1, sizeof(tf_val));
    x->uses = calloc((size_t)total + 1, sizeof(int));
    if (!x->vals || !x->uses)
        return err_set(e, VAS_ENOMEM, "out of memory indexing the graph");
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The walk: needed nodes in topological order (iterative depth-first, post-order)
 * ------------------------------------------------------------------------------------------- */
typedef struct frame {
    int node, next, n_deps;
    tf_ref *deps; /* owned */
} frame;

static int push_node(tf_ctx *x, frame *st, int *sp, int node)
{
    frame *f = &st[*sp];

    int max = x->n_in[node] + 2; /* tf_deps returns at most n_in, or 2 */

    f->node = node;
    f->next = 0;
    f->deps = malloc((size_t)max * sizeof(tf_ref));
    if (!f->deps)
        return nn_build_fail(x->b, VAS_ENOMEM, "out of memory walking the graph");
    f->n_deps = tf_deps(x, node, f->deps, max < TF_MAX_DEPS ? max : TF_MAX_DEPS);
    if (f->n_deps < 0) {
        free(f->deps);
        return f->n_deps;
    }
    x->state[node] = 1;
    (*sp)++;
    return VAS_OK;
}

static int walk_from(tf_ctx *x, frame *st, int root)
{
    int sp = 0, rc = VAS_OK;

    if (x->state[root])
        return VAS_OK;
    rc = push_node(x, st, &sp, root);
    while (rc >= 0 && sp > 0) {
        frame *f = &st[sp - 1];
        if (f->next < f->n_deps) {
            tf_ref d = f->deps[f->next++];
            if (d.node < 0)
                rc = tf_fail(x, f->node, VAS_EINVAL,
                             "reads a tensor the graph does not define (truncated file?)");
            else if (x->state[d.node] == 1)
                rc = tf_fail(x, f->node, VAS_EINVAL, "the graph has a cycle through '%s'",
                             tf_name(x, d.node));
            else if (x->state[d.node] == 0)
                rc = push_node(x, st, &sp, d.node);
            continue;
        }
        for (int k = 0; k < f->n_deps; k++)
            x->uses[x->voff[f->deps[k].node] + f->deps[k].out]++;
        x->state[f->node] = 2;
        x->order[x->n_order++] = f->node;
        free(f->deps);
        sp--;
    }
    while (sp > 0)
        free(st[--sp].deps);
    return rc;
}

static int walk(tf_ctx *x, const tf_ref *outs, int n_outs)
{
    frame *st = calloc((size_t)x->n + 1, sizeof(frame));
    int rc = st ? VAS_OK : nn_build_fail(x->b, VAS_ENOMEM, "out of memory walking the graph");

    for (int i = 0; rc >= 0 && i < n_outs; i++) {
        x->uses[x->voff[outs[i].node] + outs[i].out]++;
        rc = walk_from(x, st, outs[i].node);
    }
    free(st);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------------------------- */
static void val_clear(tf_val *v)
{
    nn_const_free(v->c);
    if (v->conv) {
        nn_const_free(v->conv->w);
        nn_const_free(v->conv->b);
        free(v->conv);
    }
    memset(v, 0, sizeof(*v));
}

/* After node i is translated: constants nobody else reads are freed (weights are big). */
static void release_inputs(tf_ctx *x, int node)
{
    tf_ref deps[TF_MAX_DEPS];
    int n = tf_deps(x, node, deps, TF_MAX_DEPS);

    for (int k = 0; k < n; k++) {
        int slot = x->voff[deps[k].node] + deps[k].out;
        if (--x->uses[slot] == 0 && x->vals[slot].kind == TV_CONST)
            val_clear(&x->vals[slot]);
    }
}

static int translate_all(tf_ctx *x)
{
    int rc = VAS_OK;

    for (int i = 0; rc >= 0 && i < x->n_order; i++) {
        rc = tf_translate(x, x->order[i]);
        if (rc >= 0)
            release_inputs(x, x->order[i]);
    }
    return rc < 0 ? rc : nn_build_error(x->b, NULL);
}

static void ctx_free(tf_ctx *x)
{
    if (x->vals)
        for (int i = 0; i < x->n; i++)
            for (int k = 0; k < x->n_out[i]; k++)
                val_clear(&x->vals[x->voff[i] + k]);
    if (x->in)
        for (int i = 0; i < x->n; i++)
            free(x->in[i]);
    free(x->in);
    free(x->n_in);
    free(x->n_out);
    free(x->voff);
    free(x->vals);
    free(x->uses);
    free(x->state);
    free(x->order);
    free(x->hash);
    if (x->gd)
        vastf__graph_def__free_unpacked(x->gd, NULL);
    nn_build_free(x->b);
}

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */
static int find_outputs(tf_ctx *x, const char *const *outputs, int n_outputs, tf_ref *refs,
                        vas_err *e)
{
    for (int i = 0; i < n_outputs; i++) {
        refs[i] = parse_ref(x, outputs[i]);
        if (refs[i].node < 0)
            return err_set(e, VAS_EINVAL, "the graph has no node '%s'", outputs[i]);
    }
    return VAS_OK;
}

static int emit(tf_ctx *x, tf_ref *refs, int n_outputs, const char *const *outputs,
                const char *const *out_names, nn_graph **out, vas_err *e)
{
    int *vs = calloc((size_t)n_outputs, sizeof(int)), rc = VAS_OK;

    if (!vs)
        rc = nn_build_fail(x->b, VAS_ENOMEM, "out of memory building a graph");
    for (int i = 0; rc >= 0 && i < n_outputs; i++) {
        tf_ref r = look_through(x, refs[i]);
        tf_val *v = r.node >= 0 ? tf_val_of(x, r) : NULL;
        if (v && v->kind == TV_CONV)
            rc = tf_conv_emit(x, tf_name(x, r.node), v);
        if (rc >= 0 && (!v || v->kind != TV_RT))
            rc =
                nn_build_fail(x->b, VAS_EUNSUPPORTED,
                              "output '%s' is not an image-shaped tensor vas computes", outputs[i]);
        if (rc >= 0)
            vs[i] = v->v;
    }
    rc = nn_build_finish(x->b, vs, out_names, n_outputs, out, e);
    x->b = NULL;
    free(vs);
    return rc;
}

static int load_graph(tf_ctx *x, const char *const *outputs, int n_outputs,
                      const char *const *out_names, nn_graph **out, vas_err *e)
{
    tf_ref *refs = calloc((size_t)n_outputs + 1, sizeof(tf_ref));
    int rc = refs ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory loading a graph");

    x->nd = x->gd->node;
    x->n = (int)x->gd->n_node;
    x->eval_budget = 100000;
    if (rc >= 0 && (x->n <= 0 || n_outputs <= 0))
        rc = err_set(e, VAS_EINVAL, "%s", x->n <= 0 ? "the graph holds no nodes" : "no outputs");
    if (rc >= 0)
        rc = build_index(x, e);
    if (rc >= 0)
        rc = resolve_inputs(x, e);
    if (rc >= 0)
        rc = find_outputs(x, outputs, n_outputs, refs, e);
    for (int i = 0; rc >= 0 && i < n_outputs; i++)
        refs[i] = look_through(x, refs[i]).node >= 0 ? look_through(x, refs[i]) : refs[i];
    if (rc >= 0)
        rc = alloc_values(x, refs, n_outputs, e);
    if (rc >= 0)
        rc = nn_build_new(&x->b, e);
    if (rc >= 0 && walk(x, refs, n_outputs) >= 0)
        translate_all(x);
    if (rc >= 0)
        rc = emit(x, refs, n_outputs, outputs, out_names, out, e);
    free(refs);
    return rc;
}

int nn_tf_load(const char *pb_path, const char *const *outputs, int n_outputs,
               const char *const *out_names, nn_graph **out, vas_err *e)
{
    tf_ctx x;
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(&x, 0, sizeof(x));
    rc = read_pb(pb_path, &buf, &len, e);
    if (rc < 0)
        return rc;
    x.gd = vastf__graph_def__unpack(NULL, len, buf);
    free(buf);
    if (!x.gd)
        return err_set(e, VAS_EINVAL,
                       "%s is not a TensorFlow GraphDef (truncated or corrupt protobuf)", pb_path);
    rc = load_graph(&x, outputs, n_outputs, out_names, out, e);
    ctx_free(&x);
    if (rc < 0 && e && !strstr(e->msg, pb_path)) {
        char msg[VAS_ERR_MSG];
        snprintf(msg, sizeof(msg), "%s", e->msg);
        (void)err_set(e, rc, "%s: %s", pb_path, msg);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Parameter count
 * ------------------------------------------------------------------------------------------- */
static int64_t const_count(const nn_graph *g, int v)
{
    const nn_const *c = v >= 0 && v < g->n_vals ? g->vals[v].c : NULL;

    return c && c->dtype == NN_F32 ? c->count : 0;
}

int64_t nn_tf_params(const nn_graph *g)
{
    int64_t n = 0;

    for (int i = 0; g && i < g->n_nodes; i++) {
        const nn_node *nd = &g->nodes[i];
        switch (nd->op) {
        case NN_OP_CONV:
        case NN_OP_CONVT:
        case NN_OP_BN:
        case NN_OP_GROUPNORM:
            for (int k = 1; k < nd->n_in; k++)
                n += const_count(g, nd->in[k]);
            break;
        case NN_OP_ADD:
        case NN_OP_MUL:
            for (int k = 0; k < nd->n_in; k++)
                n += const_count(g, nd->in[k]) > 1 ? const_count(g, nd->in[k]) : 0;
            break;
        default:
            break;
        }
    }
    return n;
}

int64_t nn_tf_out_channels(const nn_graph *g, int i)
{
    int v = g && i >= 0 && i < g->n_outs ? g->outs[i] : -1;

    for (int hops = 0; v >= 0 && hops < 16; hops++) {
        const nn_node *nd = NULL;
        for (int k = 0; k < g->n_nodes && !nd; k++)
            if (g->nodes[k].op != NN_OP_NONE && g->nodes[k].n_out > 0 && g->nodes[k].out[0] == v)
                nd = &g->nodes[k];
        if (!nd || nd->n_in < 1)
            return -1;
        if ((nd->op == NN_OP_CONV || nd->op == NN_OP_CONVT) && nd->n_in > 1 &&
            g->vals[nd->in[1]].c && g->vals[nd->in[1]].c->ndims == 4) {
            const nn_const *w = g->vals[nd->in[1]].c;
            return nd->op == NN_OP_CONV ? w->dims[0] : w->dims[1] * nn_attr_int(nd, "group", 1);
        }
        v = nd->in[0];
    }
    return -1;
}
