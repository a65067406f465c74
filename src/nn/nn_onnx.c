/* nn_onnx.c - read an .onnx file into an nn_graph: protobuf-c parse, tensors (inline or
 * external data), operator and attribute checks, BatchNormalization folded into the convolution
 * before it.
 *
 * DESIGN. Everything a model can get wrong is refused here, while the file is at hand, with a
 * sentence naming the node and operator: an unknown operator or domain, an attribute value vas
 * does not implement, a truncated or corrupt protobuf, tensor data that does not match its
 * dims, an external-data path that leaves the model's folder. nn_graph_load then also plans
 * shapes once at the model's declared input size (nn_shapes), so that a shape vas cannot
 * resolve statically is refused at load and not at the first frame. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/nn_int.h"

#include "core/util.h"
#include "onnx_subset.pb-c.h"

#define NN_MAX_FILE  ((size_t)4 << 30) /* largest .onnx or external-data read */
#define NN_MAX_ELEMS ((int64_t)1 << 31)

/* ---------------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------------- */
static int elem_size(int onnx_type)
{
    switch (onnx_type) {
    case 1:
    case 6:
        return 4; /* FLOAT, INT32 */
    case 7:
    case 11:
        return 8; /* INT64, DOUBLE */
    case 9:
        return 1; /* BOOL */
    default:
        return 0;
    }
}

/* Reads external data into buf[len]; the location must stay inside dir. */
static int read_external(const Vasonnx__TensorProto *tp, const char *dir, void *buf, size_t len,
                         vas_err *e)
{
    const char *loc = NULL;
    int64_t off = 0, want = -1;
    char path[4096];
    int fd, rc = VAS_OK;

    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
        if (!k || !v)
            continue;
        if (strcmp(k, "location") == 0)
            loc = v;
        else if (strcmp(k, "offset") == 0)
            off = strtoll(v, NULL, 10);
        else if (strcmp(k, "length") == 0)
            want = strtoll(v, NULL, 10);
    }
    if (!dir)
        return err_set(e, VAS_EUNSUPPORTED,
                       "tensor '%s' has external data but the model was "
                       "not loaded from a file",
                       tp->name);
    if (!loc || loc[0] == '/' || strstr(loc, "..") || off < 0 || (want >= 0 && (size_t)want != len))
        return err_set(e, VAS_EINVAL,
                       "tensor '%s': bad external data (location, offset or "
                       "length)",
                       tp->name);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, loc) >= sizeof(path))
        return err_set(e, VAS_EINVAL, "tensor '%s': external data path too long", tp->name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(e, VAS_EIO, errno, "tensor '%s': cannot open %s", tp->name, path);
    for (size_t got = 0; got < len;) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + (int64_t)got));
        if (r <= 0) {
            rc = err_set(e, VAS_EINVAL, "tensor '%s': %s is shorter than its data", tp->name, path);
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    return rc;
}

/* Length of the repeated field ONNX stores a tensor of tp's type in: float_data for FLOAT,
 * double_data for DOUBLE, int64_data for INT64, int32_data for INT32 and BOOL. A field of
 * another type does not count: its elements are not the width the tensor's buffer has. */
static size_t typed_len(const Vasonnx__TensorProto *tp)
{
    switch (tp->data_type) {
    case 1:
        return tp->n_float_data;
    case 11:
        return tp->n_double_data;
    case 7:
        return tp->n_int64_data;
    default:
        return tp->n_int32_data;
    }
}

/* Copies tp's typed repeated field into c (already sized to typed_len(tp) elements). */
static void copy_typed(const Vasonnx__TensorProto *tp, nn_const *c)
{
    size_t n = (size_t)c->count;
    float *f = c->data;
    int64_t *l = c->data;

    if (n == 0)
        return; /* no elements: the field may be NULL, which memcpy must not see */
    if (tp->data_type == 1)
        memcpy(f, tp->float_data, n * 4);
    else if (tp->data_type == 11)
        for (size_t i = 0; i < n; i++)
            f[i] = (float)tp->double_data[i];
    else if (tp->data_type == 7)
        memcpy(l, tp->int64_data, n * 8);
    else
        for (size_t i = 0; i < n; i++)
            l[i] = tp->data_type == 9 ? tp->int32_data[i] != 0 : tp->int32_data[i];
}

/* Widens raw little-endian bytes of ONNX type `t` into c. */
static void convert_raw(const unsigned char *raw, int t, nn_const *c)
{
    for (int64_t i = 0; i < c->count; i++) {
        if (t == 1) {
            memcpy((float *)c->data + i, raw + 4 * i, 4);
        } else if (t == 11) {
            double d;
            memcpy(&d, raw + 8 * i, 8);
            ((float *)c->data)[i] = (float)d;
        } else if (t == 7) {
            memcpy((int64_t *)c->data + i, raw + 8 * i, 8);
        } else if (t == 6) {
            int32_t v;
            memcpy(&v, raw + 4 * i, 4);
            ((int64_t *)c->data)[i] = v;
        } else {
            ((int64_t *)c->data)[i] = raw[i] != 0;
        }
    }
}

/* dims of tp into dims[] and their product into *count; -1 if too many, negative or huge. */
static int tensor_dims(const Vasonnx__TensorProto *tp, int64_t *dims, int64_t *count)
{
    *count = 1;
    if (tp->n_dims > NN_MAX_DIMS)
        return -1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        dims[i] = tp->dims[i];
        if (dims[i] < 0 || (dims[i] && *count > NN_MAX_ELEMS / dims[i]))
            return -1;
        *count *= dims[i];
    }
    return 0;
}

static int tensor_from_proto(const Vasonnx__TensorProto *tp, const char *dir, nn_const **out,
                             vas_err *e)
{
    const char *name = tp->name ? tp->name : "?";
    int64_t dims[NN_MAX_DIMS], count = 1;
    int es = elem_size(tp->data_type), rc;
    nn_const *c;
    unsigned char *ext = NULL;

    if (!es)
        return err_set(e, VAS_EUNSUPPORTED,
                       "tensor '%s': data type %d is not supported (vas "
                       "reads float32, float64, int32, int64, bool)",
                       name, tp->data_type);
    if (tensor_dims(tp, dims, &count) < 0)
        return err_set(e, VAS_EINVAL, "tensor '%s' has bad or too many dims", name);
    /* Dims are a claim: inline data must hold them before memory is taken for them. */
    if (tp->data_location != 1 && tp->has_raw_data && tp->raw_data.len != (size_t)count * es)
        return err_set(e, VAS_EINVAL, "tensor '%s': %zu data bytes for %lld elements", name,
                       tp->raw_data.len, (long long)count);
    if (tp->data_location != 1 && !tp->has_raw_data && typed_len(tp) != (size_t)count)
        return err_set(e, VAS_EINVAL, "tensor '%s': %zu values for %lld elements", name,
                       typed_len(tp), (long long)count);
    c = nn_const_new(tp->data_type == 1 || tp->data_type == 11 ? NN_F32 : NN_I64, (int)tp->n_dims,
                     dims);
    if (!c)
        return err_set(e, VAS_ENOMEM, "out of memory for tensor '%s'", name);
    if (tp->data_location == 1) {
        ext = malloc((size_t)(count ? count : 1) * (size_t)es);
        rc = ext ? read_external(tp, dir, ext, (size_t)count * (size_t)es, e)
                 : err_set(e, VAS_ENOMEM, "out of memory for tensor '%s'", name);
        if (rc == VAS_OK)
            convert_raw(ext, tp->data_type, c);
        free(ext);
        if (rc < 0)
            goto fail;
    } else if (tp->has_raw_data) {
        convert_raw(tp->raw_data.data, tp->data_type, c);
    } else {
        copy_typed(tp, c);
    }
    *out = c;
    return VAS_OK;
fail:
    nn_const_free(c);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Values (name -> index), with an open-addressing table rebuilt as it grows
 * ------------------------------------------------------------------------------------------- */
typedef struct names {
    int *slot; /* value index + 1; 0 = empty */
    size_t cap;
} names;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static int names_find(const nn_graph *g, const names *t, const char *s)
{
    if (!t->cap)
        return -1;
    for (size_t i = hash_str(s) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->slot[i])
            return -1;
        if (strcmp(g->vals[t->slot[i] - 1].name, s) == 0)
            return t->slot[i] - 1;
    }
}

static void names_insert(const nn_graph *g, names *t, int idx)
{
    size_t i = hash_str(g->vals[idx].name) & (t->cap - 1);

    while (t->slot[i])
        i = (i + 1) & (t->cap - 1);
    t->slot[i] = idx + 1;
}

static int names_put(const nn_graph *g, names *t, int idx)
{
    if ((size_t)g->n_vals * 2 >= t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap <= (size_t)g->n_vals * 2)
            cap *= 2;
        int *s = calloc(cap, sizeof(int));
        if (!s)
            return -1;
        free(t->slot);
        t->slot = s;
        t->cap = cap;
        for (int v = 0; v < g->n_vals; v++)
            if (v != idx)
                names_insert(g, t, v);
    }
    size_t i = hash_str(g->vals[idx].name) & (t->cap - 1);
    while (t->slot[i])
        i = (i + 1) & (t->cap - 1);
    t->slot[i] = idx + 1;
    return 0;
}

/* Adds a value named `name` (copied) with constant c (taken, also on error) and, if t, to the
 * name table; index or <0. */
static int value_add(nn_graph *g, names *t, const char *name, nn_const *c, vas_err *e)
{
    if (g->n_vals == g->cap_vals) {
        int cap = g->cap_vals ? g->cap_vals * 2 : 64;
        nn_value *v = realloc(g->vals, (size_t)cap * sizeof(*v));
        if (!v) {
            nn_const_free(c);
            return err_set(e, VAS_ENOMEM, "out of memory loading the graph");
        }
        g->vals = v;
        g->cap_vals = cap;
    }
    g->vals[g->n_vals].name = strdup(name);
    g->vals[g->n_vals].c = c;
    if (!g->vals[g->n_vals].name) {
        nn_const_free(c);
        return err_set(e, VAS_ENOMEM, "out of memory loading the graph");
    }
    g->n_vals++;
    if (t && names_put(g, t, g->n_vals - 1) < 0)
        return err_set(e, VAS_ENOMEM, "out of memory loading the graph");
    return g->n_vals - 1;
}

int nn_value_push(nn_graph *g, const char *name, nn_const *c, vas_err *e)
{
    return value_add(g, NULL, name, c, e);
}

/* ---------------------------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------------------------- */
static const struct {
    const char *name;
    int op;
} op_names[] = {
    {"Conv", NN_OP_CONV},
    {"ConvTranspose", NN_OP_CONVT},
    {"BatchNormalization", NN_OP_BN},
    {"Relu", NN_OP_RELU},
    {"Clip", NN_OP_CLIP},
    {"LeakyRelu", NN_OP_LEAKY},
    {"Sigmoid", NN_OP_SIGMOID},
    {"HardSigmoid", NN_OP_HSIGMOID},
    {"HardSwish", NN_OP_HSWISH},
    {"Add", NN_OP_ADD},
    {"Mul", NN_OP_MUL},
    {"Sub", NN_OP_SUB},
    {"Div", NN_OP_DIV},
    {"Concat", NN_OP_CONCAT},
    {"MaxPool", NN_OP_MAXPOOL},
    {"AveragePool", NN_OP_AVGPOOL},
    {"GlobalAveragePool", NN_OP_GAP},
    {"Resize", NN_OP_RESIZE},
    {"Upsample", NN_OP_UPSAMPLE},
    {"Identity", NN_OP_IDENTITY},
    {"Dropout", NN_OP_DROPOUT},
    {"Constant", NN_OP_CONSTANT},
    {"Shape", NN_OP_SHAPE},
    {"Gather", NN_OP_GATHER},
    {"Unsqueeze", NN_OP_UNSQUEEZE},
    {"Squeeze", NN_OP_SQUEEZE},
    {"Reshape", NN_OP_RESHAPE},
    {"Flatten", NN_OP_FLATTEN},
    {"Cast", NN_OP_CAST},
    {"Slice", NN_OP_SLICE},
    {"Floor", NN_OP_FLOOR},
    {"Ceil", NN_OP_CEIL},
    {"GroupNormalization", NN_OP_GROUPNORM},
};

const char *nn_op_name(int op)
{
    for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
        if (op_names[i].op == op)
            return op_names[i].name;
    return "?";
}

int nn_op_lookup(const char *s)
{
    for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
        if (strcmp(op_names[i].name, s) == 0)
            return op_names[i].op;
    return NN_OP_NONE;
}

static int attr_from_proto(const Vasonnx__AttributeProto *ap, const char *dir, nn_attr *a,
                           vas_err *e)
{
    a->name = strdup(ap->name ? ap->name : "");
    a->type = ap->type;
    a->f = ap->f;
    a->i = ap->i;
    if (!a->name)
        return err_set(e, VAS_ENOMEM, "out of memory loading attributes");
    /* A STRING attribute always gets a string: an empty one may be left out of the file. */
    if (ap->has_s || a->type == NN_ATTR_STRING) {
        a->s = strndup(ap->has_s && ap->s.data ? (const char *)ap->s.data : "",
                       ap->has_s ? ap->s.len : 0);
        if (!a->s)
            return err_set(e, VAS_ENOMEM, "out of memory loading attributes");
    }
    if (ap->n_ints) {
        a->ints = malloc(ap->n_ints * sizeof(int64_t));
        if (!a->ints)
            return err_set(e, VAS_ENOMEM, "out of memory loading attributes");
        memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
        a->n_ints = (int)ap->n_ints;
    }
    if (ap->n_floats) {
        a->floats = malloc(ap->n_floats * sizeof(float));
        if (!a->floats)
            return err_set(e, VAS_ENOMEM, "out of memory loading attributes");
        memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
        a->n_floats = (int)ap->n_floats;
    }
    if (ap->t)
        return tensor_from_proto(ap->t, dir, &a->t, e);
    return VAS_OK;
}

static int str_in(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

/* Attribute values vas implements; anything else is refused with the node named. */
int nn_check_attrs(const nn_node *n, vas_err *e)
{
    /* pads + 3 is ConvTranspose's list: NOTSET only */
    static const char *const pads[] = {"VALID", "SAME_UPPER", "SAME_LOWER", "NOTSET", NULL};
    static const char *const modes[] = {"nearest", "linear", NULL};
    static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                       "asymmetric", NULL};
    static const char *const nmodes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil",
                                         NULL};
    const char *bad = NULL, *val = "";
    int64_t to = nn_attr_int(n, "to", 1);

    if ((n->op == NN_OP_CONV || n->op == NN_OP_MAXPOOL || n->op == NN_OP_AVGPOOL ||
         n->op == NN_OP_CONVT) &&
        !str_in((val = nn_attr_str(n, "auto_pad", "NOTSET")),
                n->op == NN_OP_CONVT ? pads + 3 : pads))
        bad = "auto_pad";
    else if (n->op == NN_OP_CONVT && nn_attr_find(n, "output_shape"))
        bad = "output_shape", val = "(given)";
    else if (n->op == NN_OP_MAXPOOL && (n->n_out > 1 || nn_attr_int(n, "storage_order", 0)))
        bad = "Indices output/storage_order", val = "(given)";
    else if ((n->op == NN_OP_RESIZE || n->op == NN_OP_UPSAMPLE) &&
             !str_in((val = nn_attr_str(n, "mode", "nearest")), modes))
        bad = "mode";
    else if (n->op == NN_OP_RESIZE &&
             !str_in((val = nn_attr_str(n, "coordinate_transformation_mode", "half_pixel")), ctms))
        bad = "coordinate_transformation_mode";
    else if (n->op == NN_OP_RESIZE &&
             !str_in((val = nn_attr_str(n, "nearest_mode", "round_prefer_floor")), nmodes))
        bad = "nearest_mode";
    else if (n->op == NN_OP_BN && nn_attr_int(n, "training_mode", 0))
        bad = "training_mode", val = "1";
    else if (n->op == NN_OP_CAST && to != 1 && to != 6 && to != 7 && to != 11)
        bad = "to", val = "(not a float or integer type)";
    if (bad)
        return err_set(e, VAS_EUNSUPPORTED, "node '%s' (%s): attribute %s=%s is not supported",
                       n->name, n->op_type, bad, val);
    return VAS_OK;
}

/* A Constant node's value becomes a constant value at load. */
static int constant_value(const nn_node *n, nn_const **out, vas_err *e)
{
    const nn_attr *a = n->n_attrs == 1 ? &n->attrs[0] : NULL;
    int64_t one = 1;

    if (a && strcmp(a->name, "value") == 0 && a->t) {
        *out = a->t;
        ((nn_attr *)a)->t = NULL;
    } else if (a && strcmp(a->name, "value_float") == 0) {
        *out = nn_const_new(NN_F32, 0, NULL);
        if (*out)
            *(float *)(*out)->data = a->f;
    } else if (a && strcmp(a->name, "value_int") == 0) {
        *out = nn_const_new(NN_I64, 0, NULL);
        if (*out)
            *(int64_t *)(*out)->data = a->i;
    } else if (a && strcmp(a->name, "value_ints") == 0) {
        one = a->n_ints;
        *out = nn_const_new(NN_I64, 1, &one);
        if (*out && a->n_ints)
            memcpy((*out)->data, a->ints, (size_t)a->n_ints * 8);
    } else if (a && strcmp(a->name, "value_floats") == 0) {
        one = a->n_floats;
        *out = nn_const_new(NN_F32, 1, &one);
        if (*out && a->n_floats)
            memcpy((*out)->data, a->floats, (size_t)a->n_floats * 4);
    } else {
        return err_set(e, VAS_EUNSUPPORTED,
                       "node '%s' (Constant): only value, value_float(s) "
                       "and value_int(s) are supported",
                       n->name);
    }
    return *out ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory loading a constant");
}

static int node_io(nn_graph *g, names *t, nn_node *n, const Vasonnx__NodeProto *np, vas_err *e)
{
    n->in = malloc((np->n_input + 1) * sizeof(int));
    n->out = malloc((np->n_output + 1) * sizeof(int));
    if (!n->in || !n->out)
        return err_set(e, VAS_ENOMEM, "out of memory loading node '%s'", n->name);
    for (size_t i = 0; i < np->n_input; i++) {
        const char *s = np->input[i];
        n->in[i] = s[0] ? names_find(g, t, s) : -1;
        if (s[0] && n->in[i] < 0)
            return err_set(e, VAS_EINVAL,
                           "node '%s' (%s): input '%s' is not defined before "
                           "it (graph not in topological order, or a sub-graph value)",
                           n->name, n->op_type, s);
        n->n_in++;
    }
    for (size_t i = 0; i < np->n_output; i++) {
        nn_const *c = NULL;
        int rc;
        if (names_find(g, t, np->output[i]) >= 0)
            return err_set(e, VAS_EINVAL, "node '%s' (%s): output '%s' is defined twice", n->name,
                           n->op_type, np->output[i]);
        if (n->op == NN_OP_CONSTANT && i == 0 && (rc = constant_value(n, &c, e)) < 0)
            return rc;
        rc = value_add(g, t, np->output[i], c, e);
        if (rc < 0)
            return rc;
        n->out[n->n_out++] = rc;
    }
    if (!n->n_out) /* every operator vas runs writes output 0 */
        return err_set(e, VAS_EINVAL, "node '%s' (%s) has no output", n->name, n->op_type);
    return VAS_OK;
}

static int node_from_proto(nn_graph *g, names *t, const Vasonnx__NodeProto *np, int idx,
                           const char *dir, vas_err *e)
{
    nn_node *n = &g->nodes[idx];
    char buf[32];
    int rc;

    snprintf(buf, sizeof(buf), "#%d", idx);
    n->name = strdup(np->name && np->name[0] ? np->name : buf);
    n->op_type = strdup(np->op_type ? np->op_type : "");
    if (!n->name || !n->op_type)
        return err_set(e, VAS_ENOMEM, "out of memory loading node %d", idx);
    n->op = nn_op_lookup(n->op_type);
    if (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx") != 0)
        return err_set(e, VAS_EUNSUPPORTED,
                       "node '%s' (%s): operator domain '%s' is not "
                       "supported",
                       n->name, n->op_type, np->domain);
    if (n->op == NN_OP_NONE)
        return err_set(e, VAS_EUNSUPPORTED, "node '%s' (%s): operator not supported by vas",
                       n->name, n->op_type);
    n->attrs = calloc(np->n_attribute + 1, sizeof(nn_attr));
    if (!n->attrs)
        return err_set(e, VAS_ENOMEM, "out of memory loading node '%s'", n->name);
    for (size_t i = 0; i < np->n_attribute; i++) {
        n->n_attrs++;
        rc = attr_from_proto(np->attribute[i], dir, &n->attrs[i], e);
        if (rc < 0)
            return rc;
    }
    rc = nn_check_attrs(n, e);
    if (rc < 0)
        return rc;
    return node_io(g, t, n, np, e);
}

/* ---------------------------------------------------------------------------------------------
 * Graph
 * ------------------------------------------------------------------------------------------- */
static int graph_input(nn_graph *g, names *t, const Vasonnx__GraphProto *gp, vas_err *e)
{
    const Vasonnx__ValueInfoProto *vi = NULL;

    for (size_t i = 0; i < gp->n_input; i++) {
        if (!gp->input[i]->name || names_find(g, t, gp->input[i]->name) >= 0)
            continue; /* an initializer also listed as input (IR < 4) */
        if (vi)
            return err_set(e, VAS_EUNSUPPORTED,
                           "the model has more than one input ('%s', "
                           "'%s'); vas runs single-image-input models",
                           vi->name, gp->input[i]->name);
        vi = gp->input[i];
    }
    if (!vi)
        return err_set(e, VAS_EINVAL, "the model has no input");
    const Vasonnx__TypeProto *tp = vi->type;
    const Vasonnx__TensorShapeProto *sh = tp && tp->tensor_type ? tp->tensor_type->shape : NULL;
    if (!sh || sh->n_dim != 4 || (tp->tensor_type->elem_type != 1))
        return err_set(e, VAS_EUNSUPPORTED, "input '%s' must be a float32 N x C x H x W tensor",
                       vi->name);
    g->in_ndims = 4;
    for (int i = 0; i < 4; i++) {
        const Vasonnx__TensorShapeProto__Dimension *d = sh->dim[i];
        g->in_dims[i] = d->value_case == VASONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                            ? d->dim_value
                            : -1;
    }
    if (g->in_dims[1] <= 0)
        return err_set(e, VAS_EUNSUPPORTED, "input '%s': the channel count must be fixed",
                       vi->name);
    g->input = value_add(g, t, vi->name, NULL, e);
    return g->input < 0 ? g->input : VAS_OK;
}

static int graph_outputs(nn_graph *g, names *t, const Vasonnx__GraphProto *gp, vas_err *e)
{
    g->outs = calloc(gp->n_output + 1, sizeof(int));
    if (!g->outs)
        return err_set(e, VAS_ENOMEM, "out of memory loading outputs");
    if (!gp->n_output)
        return err_set(e, VAS_EINVAL, "the model has no output");
    for (size_t i = 0; i < gp->n_output; i++) {
        int v = gp->output[i]->name ? names_find(g, t, gp->output[i]->name) : -1;
        if (v < 0)
            return err_set(e, VAS_EINVAL, "output '%s' is not produced by any node",
                           gp->output[i]->name ? gp->output[i]->name : "?");
        g->outs[g->n_outs++] = v;
    }
    return VAS_OK;
}

static int model_opset(const Vasonnx__ModelProto *m, int *opset, vas_err *e)
{
    *opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *d = m->opset_import[i]->domain;
        if (!d || !d[0] || strcmp(d, "ai.onnx") == 0)
            *opset = (int)m->opset_import[i]->version;
    }
    if (*opset < 11 || *opset > 17)
        return err_set(e, VAS_EUNSUPPORTED,
                       "opset %d is not supported (vas reads opsets "
                       "11 to 17)",
                       *opset);
    return VAS_OK;
}

static int graph_build(nn_graph *g, Vasonnx__ModelProto *m, const char *dir, vas_err *e)
{
    const Vasonnx__GraphProto *gp = m->graph;
    names t = {0};
    int rc;

    if (!gp)
        return err_set(e, VAS_EINVAL, "the file holds no graph");
    rc = model_opset(m, &g->opset, e);
    for (size_t i = 0; rc >= 0 && i < gp->n_initializer; i++) {
        nn_const *c = NULL;
        rc = tensor_from_proto(gp->initializer[i], dir, &c, e);
        if (gp->initializer[i]->has_raw_data) { /* converted: give the bytes back now */
            free(gp->initializer[i]->raw_data.data);
            gp->initializer[i]->raw_data.data = NULL;
            gp->initializer[i]->raw_data.len = 0;
        }
        if (rc >= 0)
            rc = value_add(g, &t, gp->initializer[i]->name ? gp->initializer[i]->name : "", c, e);
    }
    if (rc >= 0)
        rc = graph_input(g, &t, gp, e);
    if (rc >= 0) {
        g->nodes = calloc(gp->n_node + 1, sizeof(nn_node));
        if (!g->nodes)
            rc = err_set(e, VAS_ENOMEM, "out of memory loading nodes");
    }
    for (size_t i = 0; rc >= 0 && i < gp->n_node; i++) {
        g->n_nodes++;
        rc = node_from_proto(g, &t, gp->node[i], (int)i, dir, e);
    }
    if (rc >= 0)
        rc = graph_outputs(g, &t, gp, e);
    free(t.slot);
    return rc < 0 ? rc : VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Public
 * ------------------------------------------------------------------------------------------- */
void nn_graph_free(nn_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        for (int j = 0; j < n->n_attrs; j++) {
            free(n->attrs[j].name);
            free(n->attrs[j].s);
            free(n->attrs[j].ints);
            free(n->attrs[j].floats);
            nn_const_free(n->attrs[j].t);
        }
        free(n->attrs);
        free(n->in);
        free(n->out);
        free(n->name);
        free(n->op_type);
    }
    for (int i = 0; i < g->n_vals; i++) {
        free(g->vals[i].name);
        nn_const_free(g->vals[i].c);
    }
    free(g->nodes);
    free(g->vals);
    free(g->outs);
    if (g->spill)
        munmap(g->spill, g->spill_len);
    free(g);
}

/* Plans shapes once at the declared size (free dims: N=1, H=W=64) so that shape problems are
 * refused at load. */
int nn_check_shapes(const nn_graph *g, vas_err *e)
{
    nn_tval *tv = NULL;
    int n = g->in_dims[0] > 0 ? (int)g->in_dims[0] : 1;
    int h = g->in_dims[2] > 0 ? (int)g->in_dims[2] : 64;
    int w = g->in_dims[3] > 0 ? (int)g->in_dims[3] : 64;
    int rc = nn_shapes(g, n, h, w, &tv, e);

    nn_shapes_free(tv, g->n_vals);
    return rc;
}

/* Builds the graph from m (taken: freed here, also on error). */
static int load_model(Vasonnx__ModelProto *m, const char *dir, nn_graph **out, vas_err *e)
{
    nn_graph *g = calloc(1, sizeof(*g));
    int rc;

    if (!g) {
        vasonnx__model_proto__free_unpacked(m, NULL);
        return err_set(e, VAS_ENOMEM, "out of memory loading the model");
    }
    g->input = -1;
    rc = graph_build(g, m, dir, e);
    vasonnx__model_proto__free_unpacked(m, NULL);
    if (rc >= 0)
        rc = nn_fold_bn(g, e);
    if (rc >= 0)
        rc = nn_check_shapes(g, e);
    if (rc < 0) {
        nn_graph_free(g);
        return rc;
    }
    *out = g;
    return VAS_OK;
}

int nn_graph_load_mem(const void *buf, size_t len, const char *dir, nn_graph **out, vas_err *e)
{
    Vasonnx__ModelProto *m = vasonnx__model_proto__unpack(NULL, len, buf);

    if (!m)
        return err_set(e, VAS_EINVAL, "not a valid ONNX model (truncated or corrupt protobuf)");
    return load_model(m, dir, out, e);
}

static int read_file(const char *path, unsigned char **buf, size_t *len, vas_err *e)
{
    return util_read_file(path, NN_MAX_FILE, "vas's 4 GiB limit for an ONNX file", buf, len, e);
}

int nn_graph_load(const char *path, nn_graph **out, vas_err *e)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    char *dir = strdup(path), *slash;
    int rc;

    if (!dir)
        return err_set(e, VAS_ENOMEM, "out of memory loading %s", path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strncpy(dir, ".", strlen(dir) + 1);
    rc = read_file(path, &buf, &len, e);
    if (rc >= 0) {
        /* The file's bytes go before the graph is built: peak memory stays near one copy of
         * the weights (graph_build also frees each tensor's bytes once converted). */
        Vasonnx__ModelProto *m = vasonnx__model_proto__unpack(NULL, len, buf);
        free(buf);
        buf = NULL;
        rc = m ? load_model(m, dir, out, e)
               : err_set(e, VAS_EINVAL, "not a valid ONNX model (truncated or corrupt protobuf)");
        if (rc >= 0)
            nn_graph_spill(*out);
    }
    if (rc < 0 && e && e->code != VAS_ENOTFOUND && !strstr(e->msg, path)) {
        char msg[VAS_ERR_MSG];
        snprintf(msg, sizeof(msg), "%s", e->msg);
        (void)err_set(e, rc, "%s: %s", path, msg);
    }
    free(buf);
    free(dir);
    return rc;
}
