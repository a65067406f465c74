/* ydoc.c - libyaml document helpers (see ydoc.h). */
#include "core/ydoc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YAML_MAX_BYTES (16L << 20)

/* Whole file into a new buffer (caller frees), its length in *len. */
static int read_all(const char *path, unsigned char **out, size_t *len, vas_err *e)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    int rc = VAS_OK;

    if (!f)
        return err_sys(e, VAS_EINVAL, errno, "cannot open %s", path);
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        rc = err_sys(e, VAS_EIO, errno, "cannot read %s", path);
    else if (n > YAML_MAX_BYTES)
        rc = err_set(e, VAS_ETOOBIG, "%s is over 16 MiB: not a calibration or config file", path);
    else if (!(buf = malloc((size_t)n + 1)))
        rc = err_set(e, VAS_ENOMEM, "out of memory reading %s", path);
    else if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        rc = err_sys(e, VAS_EIO, errno, "cannot read %s", path);
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = (size_t)n;
    return VAS_OK;
}

int ydoc_load(const char *path, yaml_document_t *doc, vas_err *e)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    yaml_parser_t p;
    int ok, rc = read_all(path, &buf, &len, e);

    if (rc < 0)
        return rc;
    /* OpenCV writes "%YAML:1.0", not a YAML directive; "#YAML:1.0" is a comment. */
    if (len >= 6 && memcmp(buf, "%YAML:", 6) == 0)
        buf[0] = '#';
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, buf, len);
    ok = yaml_parser_load(&p, doc);
    if (ok && !yaml_document_get_root_node(doc)) {
        yaml_document_delete(doc);
        ok = 0;
    }
    if (!ok)
        err_set(e, VAS_EINVAL, "%s: not YAML (line %zu: %s)", path, p.problem_mark.line + 1,
                p.problem ? p.problem : "empty");
    yaml_parser_delete(&p);
    free(buf);
    return ok ? VAS_OK : VAS_EINVAL;
}

yaml_node_t *ydoc_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

const char *ydoc_str(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = ydoc_get(d, map, key);

    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int ydoc_num(yaml_node_t *n, double *out)
{
    const char *s;
    char *end = NULL;
    double v;

    if (!n || n->type != YAML_SCALAR_NODE)
        return -1;
    s = (const char *)n->data.scalar.value;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int ydoc_num_at(yaml_document_t *d, yaml_node_t *map, const char *key, double def, double *out)
{
    yaml_node_t *n = ydoc_get(d, map, key);

    if (!n) {
        *out = def;
        return 0;
    }
    return ydoc_num(n, out);
}
