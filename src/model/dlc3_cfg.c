/* dlc3_cfg.c - DeepLabCut 3's pytorch_config as a jansson tree (from the YAML file or from an
 * export's pickled dict) and its reading into a dlc3_spec: which backbone, head, predictor and
 * inference transforms, each checked to be one vas builds (see dlc3_net.h, docs/dlc3-models.md).
 *
 * DESIGN. DLC reads the YAML with ruamel's safe loader (YAML 1.2 core schema: deeplabcut/core/
 * config.py read_config_as_dict), so plain scalars resolve as YAML 1.2 does: "1e-05" is a float,
 * "yes" a string. libyaml resolves aliases to shared nodes, so a small file can describe a huge
 * tree: the conversion stops at a depth of 64 and a million values. */
#include "model/dlc3_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ydoc.h"

#define CFG_MAX_DEPTH  64
#define CFG_MAX_VALUES 1000000

/* ---------------------------------------------------------------------------------------------
 * YAML -> json
 * ------------------------------------------------------------------------------------------- */
typedef struct yconv {
    yaml_document_t *d;
    long values; /* made so far, against CFG_MAX_VALUES */
    const char *path;
    vas_err *e;
} yconv;

static int all_digits(const char *s, int (*is)(int))
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!is((unsigned char)*s))
            return 0;
    return 1;
}

static int is_octal(int c)
{
    return c >= '0' && c <= '7';
}

/* YAML 1.2 core float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int is_float(const char *s)
{
    int digits = 0;

    if (*s == '-' || *s == '+')
        s++;
    while (isdigit((unsigned char)*s))
        s++, digits++;
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s))
            s++, digits++;
    }
    if (!digits)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!all_digits(s, isdigit))
            return 0;
        return 1;
    }
    return *s == '\0';
}

/* A plain scalar as YAML 1.2's core schema resolves it. */
static json_t *plain_scalar(const char *s)
{
    const char *u = (*s == '-' || *s == '+') ? s + 1 : s;

    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (all_digits(u, isdigit) || (!strncmp(s, "0o", 2) && all_digits(s + 2, is_octal)) ||
        (!strncmp(s, "0x", 2) && all_digits(s + 2, isxdigit))) {
        int base = s[0] == '0' && (s[1] == 'o' || s[1] == 'x') ? (s[1] == 'o' ? 8 : 16) : 10;
        char *end;
        errno = 0;
        long long v = strtoll(base == 10 ? s : s + 2, &end, base);
        if (errno == 0 && *end == '\0')
            return json_integer(v);
        return json_real(strtod(s, NULL)); /* too large for an integer */
    }
    if (is_float(s))
        return json_real(strtod(s, NULL));
    return json_string(s); /* .inf and .nan too: JSON has no such numbers */
}

static json_t *ynode(yconv *c, yaml_node_t *n, int depth);

/* NOLINTNEXTLINE(misc-no-recursion): bounded by CFG_MAX_DEPTH */
static int yseq(yconv *c, yaml_node_t *n, json_t *arr, int depth)
{
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        json_t *v = ynode(c, yaml_document_get_node(c->d, *it), depth + 1);
        if (!v || json_array_append_new(arr, v) < 0)
            return -1;
    }
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by CFG_MAX_DEPTH */
static int ymap(yconv *c, yaml_node_t *n, json_t *obj, int depth)
{
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->d, p->key);
        json_t *v;
        if (!k || k->type != YAML_SCALAR_NODE) {
            err_set(c->e, VAS_EINVAL, "%s: a mapping key is not a plain value", c->path);
            return -1;
        }
        v = ynode(c, yaml_document_get_node(c->d, p->value), depth + 1);
        if (!v || json_object_set_new(obj, (const char *)k->data.scalar.value, v) < 0)
            return -1;
    }
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by CFG_MAX_DEPTH */
static json_t *ynode(yconv *c, yaml_node_t *n, int depth)
{
    json_t *v = NULL;
    int rc = 0;

    if (!n || depth > CFG_MAX_DEPTH || ++c->values > CFG_MAX_VALUES) {
        if (c->e && c->e->code == VAS_OK)
            err_set(c->e, VAS_EINVAL, "%s: nested too deep or too many values for a config",
                    c->path);
        return NULL;
    }
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = (const char *)n->data.scalar.value;
        /* libyaml's loader tags every untagged scalar !!str, so only the style tells a plain
         * scalar (resolved) from a quoted one (a string); an explicit !!str on a plain scalar
         * is resolved too (pytorch_config files have none). */
        v = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar(s) : json_string(s);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        v = json_array();
        rc = v ? yseq(c, n, v, depth) : -1;
    } else if (n->type == YAML_MAPPING_NODE) {
        v = json_object();
        rc = v ? ymap(c, n, v, depth) : -1;
    }
    if (rc < 0 || !v) {
        json_decref(v);
        if (c->e && c->e->code == VAS_OK)
            err_set(c->e, VAS_ENOMEM, "out of memory reading %s", c->path);
        return NULL;
    }
    return v;
}

int dlc3_config_read(const char *path, json_t **out, vas_err *e)
{
    yaml_document_t d;
    yconv c = {&d, 0, path, e};
    json_t *v;
    int rc = ydoc_load(path, &d, e);

    if (rc < 0)
        return rc;
    if (e)
        e->code = VAS_OK;
    v = ynode(&c, yaml_document_get_root_node(&d), 0);
    yaml_document_delete(&d);
    if (!v)
        return e && e->code < 0 ? e->code : VAS_ENOMEM;
    if (!json_is_object(v)) {
        json_decref(v);
        return err_set(e, VAS_EINVAL, "%s: not a pytorch_config (no mapping at the top)", path);
    }
    *out = v;
    return VAS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The export's pickled dict -> json
 * ------------------------------------------------------------------------------------------- */
static json_t *ptnode(const nn_pt *o, int depth, vas_err *e);

/* NOLINTNEXTLINE(misc-no-recursion): bounded by CFG_MAX_DEPTH */
static json_t *ptlist(const nn_pt *o, int depth, vas_err *e)
{
    json_t *v = json_array();

    for (int i = 0; v && i < nn_pt_len(o); i++) {
        json_t *x = ptnode(nn_pt_at(o, i), depth + 1, e);
        if (!x || json_array_append_new(v, x) < 0) {
            json_decref(v);
            return NULL;
        }
    }
    return v;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by CFG_MAX_DEPTH */
static json_t *ptdict(const nn_pt *o, int depth, vas_err *e)
{
    json_t *v = json_object();

    for (int i = 0; v && i < nn_pt_len(o); i++) {
        const char *k = nn_pt_key(o, i);
        json_t *x;
        if (!k) {
            err_set(e, VAS_EINVAL, "the export's config has a key that is not a string");
            json_decref(v);
            return NULL;
        }
        x = ptnode(nn_pt_at(o, i), depth + 1, e);
        if (!x || json_object_set_new(v, k, x) < 0) {
            json_decref(v);
            return NULL;
        }
    }
    return v;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by CFG_MAX_DEPTH */
static json_t *ptnode(const nn_pt *o, int depth, vas_err *e)
{
    json_t *v = NULL;
    double f;

    if (depth > CFG_MAX_DEPTH) {
        err_set(e, VAS_EINVAL, "the export's config is nested too deep");
        return NULL;
    }
    switch (nn_pt_type(o)) {
    case NN_PT_NONE:
        return json_null();
    case NN_PT_BOOL:
        return json_boolean(nn_pt_int(o));
    case NN_PT_INT:
        return json_integer(nn_pt_int(o));
    case NN_PT_FLOAT:
        f = nn_pt_float(o);
        return isfinite(f) ? json_real(f)
                           : json_string(isnan(f) ? ".nan"
                                         : f > 0  ? ".inf"
                                                  : "-.inf");
    case NN_PT_STR:
        return json_string(nn_pt_str(o));
    case NN_PT_LIST:
        v = ptlist(o, depth, e);
        break;
    case NN_PT_DICT:
        v = ptdict(o, depth, e);
        break;
    default:
        err_set(e, VAS_EINVAL, "the export's config holds a tensor, not a configuration value");
        return NULL;
    }
    if (!v && e && e->code == VAS_OK)
        err_set(e, VAS_ENOMEM, "out of memory reading the export's config");
    return v;
}

int dlc3_config_from_pt(const nn_pt *dict, json_t **out, vas_err *e)
{
    json_t *v;

    if (nn_pt_type(dict) != NN_PT_DICT)
        return err_set(e, VAS_EINVAL, "the export's \"config\" is not a dict");
    if (e)
        e->code = VAS_OK;
    v = ptnode(dict, 0, e);
    if (!v)
        return e && e->code < 0 ? e->code : VAS_ENOMEM;
    *out = v;
    return VAS_OK;
}
