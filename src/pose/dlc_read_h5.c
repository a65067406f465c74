/* dlc_read_h5.c - DeepLabCut HDF5 pose tables, read with vas's own HDF5 reader (h5_read.h, no
 * libhdf5: a damaged file is an error, never a crash): pandas' "table" format (what
 * DeepLabCut's analyze_videos and vas's dlc_h5.c write) and its "fixed" format.
 *
 * DESIGN: pandas keeps a DataFrame under a key (a group). Its attribute pandas_type says how:
 *   frame_table  /key/table, compound rows {index, values_block_0[C]}; the columns of the block,
 *                as (scorer, bodyparts, coords) tuples, in the table attribute
 *                values_block_0_kind, a protocol-0 pickle (dlc_read_pickle.c reads it).
 *   frame        /key/axis1 (the index; or axis1_level<l> + axis1_label<l> for a MultiIndex),
 *                /key/block0_values [rows][C] and the block's columns as a MultiIndex:
 *                block0_items_level<l> (unique names) + block0_items_label<l> (codes).
 * Strings are fixed-size, cut at their first NUL. Numbers of any integer or IEEE float type and
 * byte order are converted to int64 and double (DeepLabCut 3.x may store float32). Every size
 * read from the file is checked against a limit before it sizes a buffer. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/dlc_read_int.h"
#include "pose/h5_read.h"
#include "pose/pose_layout.h"

#define H5R_ATTR_MAX  ((size_t)16 << 20) /* bytes in an attribute we read */
#define H5R_READ_ROWS 4096               /* rows per read, at most */
#define H5R_READ_MAX  ((size_t)16 << 20) /* bytes per read, at most */
#define H5R_ROW_MAX   ((size_t)1 << 18)  /* bytes of a table row: 16384 doubles and a name fit */
#define H5R_LEVELS    8                  /* MultiIndex levels */
#define H5R_TOP_LINKS 64                 /* objects looked at for a key other than the usual */

static int not_pandas(const char *file, const char *why, vas_err *e)
{
    return err_set(e, VAS_EINVAL, "%s is not a pandas DataFrame file: %s", file, why);
}

/* The object name in g, into o (zeroed; h5r_obj_free). -1 when missing or unreadable. */
static int child(h5r_file *f, const h5r_obj *g, const char *name, h5r_obj *o)
{
    vas_err ignored = {0};

    memset(o, 0, sizeof(*o));
    return h5r_child(f, g, name, o, &ignored) == VAS_OK ? 0 : -1;
}

/* Rows per read for rows of row_size bytes (at most H5R_ROW_MAX): 1 to H5R_READ_ROWS. */
static uint64_t rows_per_read(size_t row_size)
{
    size_t n = H5R_READ_MAX / (row_size ? row_size : 1);

    return n < H5R_READ_ROWS ? n : H5R_READ_ROWS;
}

/* ---- attributes ---- */

/* A fixed-size string attribute, whole: a new NUL-terminated copy in *out (caller frees), its
 * bytes in *len (up to the first NUL). -1 when missing or not such a string. */
static int attr_text(h5r_file *f, const h5r_obj *o, const char *name, char **out, size_t *len)
{
    h5r_attr a;
    vas_err ignored = {0};
    size_t n;
    char *buf;

    if (h5r_attr_get(f, o, name, &a, &ignored) < 0 || a.type.node[0].cls != H5R_STRING ||
        (a.space.kind != H5R_SCALAR && a.space.kind != H5R_NULL) ||
        (n = a.type.node[0].size) > H5R_ATTR_MAX || !(buf = calloc(n + 1, 1)))
        return -1;
    if (a.space.kind == H5R_SCALAR)
        memcpy(buf, a.data, n);
    *len = strnlen(buf, n);
    *out = buf;
    return 0;
}

/* 1 if attribute name is the string want. */
static int attr_is(h5r_file *f, const h5r_obj *o, const char *name, const char *want)
{
    char *s = NULL;
    size_t n = 0;
    int is = attr_text(f, o, name, &s, &n) == 0 && strcmp(s, want) == 0;

    free(s);
    return is;
}

/* A scalar integer attribute; -1 when missing or not one. */
static int attr_int(h5r_file *f, const h5r_obj *o, const char *name, int64_t *v)
{
    h5r_attr a;
    vas_err ignored = {0};

    if (h5r_attr_get(f, o, name, &a, &ignored) < 0 || a.space.n != 1)
        return -1;
    return h5r_get_i64(&a.type.node[0], a.data, v);
}

/* ---- the key ---- */

typedef struct top {
    uint64_t addr[H5R_TOP_LINKS];
    int n, more;
} top;

static int top_fn(const char *name, size_t len, uint64_t addr, void *arg)
{
    top *t = arg;

    (void)name;
    (void)len;
    if (t->n == H5R_TOP_LINKS) {
        t->more = 1;
        return 1;
    }
    t->addr[t->n++] = addr;
    return 0;
}

/* /df_with_missing, or the file's only group, into g. */
static int open_key(h5r_file *f, const h5r_obj *root, const char *file, h5r_obj *g, vas_err *e)
{
    top t = {{0}, 0, 0};
    int i, groups = 0, rc;

    if (child(f, root, "df_with_missing", g) == 0)
        return h5r_is_group(g) ? VAS_OK : not_pandas(file, "its key is not a group", e);
    h5r_obj_free(g);
    rc = h5r_links(f, root, top_fn, &t, e);
    for (i = 0; rc == VAS_OK && i < t.n && !t.more && groups < 2; i++) {
        h5r_obj o = {0};
        rc = h5r_obj_at(f, t.addr[i], &o, e);
        if (rc == VAS_OK && h5r_is_group(&o) && groups++ == 0)
            *g = o;
        else
            h5r_obj_free(&o);
    }
    if (rc == VAS_OK && groups != 1)
        rc = not_pandas(file, "no key \"df_with_missing\" and not exactly one other", e);
    if (rc < 0)
        h5r_obj_free(g);
    return rc;
}

/* ---- "table" format ---- */

/* The table's row type: index (int -> frames, string -> width in *label_w) and values_block_0
 * (n_vals floats of element type *vt), at byte offsets io and vo. */
typedef struct trow {
    const h5r_type *it, *vt;
    size_t io, vo, label_w;
    int n_vals;
} trow;

static const h5r_type *member(const h5r_dtype *t, const char *name, size_t *off)
{
    int i;

    for (i = 0; i < t->node[0].n; i++)
        if (strcmp(t->node[t->node[0].first + i].name, name) == 0) {
            *off = t->node[t->node[0].first + i].offset;
            return &t->node[t->node[0].first + i];
        }
    return NULL;
}

static int table_type(const h5r_dtype *t, const char *file, trow *w, vas_err *e)
{
    const h5r_type *v;
    uint64_t dim = 1;

    if (t->node[0].cls != H5R_COMPOUND || !(w->it = member(t, "index", &w->io)) ||
        !(v = member(t, "values_block_0", &w->vo)))
        return not_pandas(file, "its table has no index and values_block_0 columns", e);
    if (t->node[0].n != 2)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s has more than one block of values or data columns; vas reads "
                       "DataFrames of one float block, as DeepLabCut writes them",
                       file);
    w->label_w = w->it->cls == H5R_STRING ? w->it->size : 0;
    if (w->it->cls != H5R_STRING && w->it->cls != H5R_INT)
        return err_set(e, VAS_EUNSUPPORTED, "%s: the index is neither numbers nor names", file);
    if (w->label_w > POSE_LABEL_MAX)
        return err_set(e, VAS_EINVAL, "%s: image names over %d bytes", file, POSE_LABEL_MAX);
    w->vt = v;
    if (v->cls == H5R_ARRAY) {
        dim = v->count;
        w->vt = &t->node[v->first];
    }
    if (w->vt->cls != H5R_FLOAT)
        return err_set(e, VAS_EUNSUPPORTED, "%s: the values are not floats", file);
    if (dim < 1 || dim > (uint64_t)POSE_PARTS_MAX * POSE_COORDS_MAX)
        return err_set(e, VAS_EINVAL, "%s has %llu value columns", file, (unsigned long long)dim);
    w->n_vals = (int)dim;
    return VAS_OK;
}

/* The block's column names (values_block_0_kind) into the builder. */
static int table_columns(h5r_file *f, const h5r_obj *ds, const char *file, int n_vals, dlc_build *b,
                         dlc_table *t, vas_err *e)
{
    char *pkl = NULL, **names = NULL;
    size_t len = 0;
    int n = 0, width = 0, rc;

    if (attr_text(f, ds, "values_block_0_kind", &pkl, &len) < 0)
        return not_pandas(file, "its table has no values_block_0_kind attribute", e);
    rc = dlc_unpickle_columns(pkl, len, file, &names, &n, &width, e);
    free(pkl);
    if (rc < 0)
        return rc;
    if (width == 4)
        rc = err_set(e, VAS_EUNSUPPORTED,
                     "%s is a multi-animal table (scorer, individuals, bodyparts, coords); "
                     "only single-animal tables can be read",
                     file);
    else if (width != 3)
        rc = err_set(e, VAS_EINVAL, "%s: columns have %d levels, not (scorer, bodyparts, coords)",
                     file, width);
    else if (n != n_vals)
        rc = err_set(e, VAS_EINVAL, "%s names %d columns for %d values per row", file, n, n_vals);
    else
        rc = dlc_build_columns(b, t, file, n, (const char *const *)names, e);
    free(names);
    return rc;
}

/* Rows [start, start + n) through buf (n rows of the file) into the builder. */
static int table_chunk(h5r_dset *d, uint64_t start, uint64_t n, unsigned char *buf, double *vals,
                       const trow *w, dlc_build *b, vas_err *e)
{
    size_t row_size = h5r_dset_row_size(d);
    char label[POSE_LABEL_MAX + 1];
    int rc = h5r_dset_rows(d, start, n, buf, e);
    uint64_t r;
    int j;

    for (r = 0; r < n && rc == VAS_OK; r++) {
        const unsigned char *row = buf + r * row_size;
        int64_t frame = 0;
        if (w->label_w) {
            memcpy(label, row + w->io, w->label_w);
            label[strnlen(label, w->label_w)] = '\0';
        } else {
            h5r_get_i64(w->it, row + w->io, &frame);
        }
        for (j = 0; j < w->n_vals; j++)
            h5r_get_f64(w->vt, row + w->vo + (size_t)j * w->vt->size, &vals[j]);
        rc = dlc_build_row(b, frame, w->label_w ? label : NULL, vals, e);
    }
    return rc;
}

static int read_table(h5r_file *f, const h5r_obj *g, const char *file, dlc_table *t, vas_err *e)
{
    h5r_obj o = {0};
    h5r_dset *d = NULL;
    uint64_t n_rows = 0, start, chunk, per;
    unsigned char *buf = NULL;
    double *vals = NULL;
    dlc_build b = {0};
    trow w = {0};
    int rc;

    if (child(f, g, "table", &o) < 0) {
        rc = not_pandas(file, "it has no readable table", e);
        goto done;
    }
    rc = h5r_dset_open(f, &o, &d, e);
    if (rc == VAS_OK && h5r_dset_space(d)->rank != 1)
        rc = not_pandas(file, "it has no readable table", e);
    if (rc == VAS_OK && h5r_dset_row_size(d) > H5R_ROW_MAX)
        rc = not_pandas(file, "its table's rows are over 256 KiB", e);
    if (rc == VAS_OK)
        rc = table_type(h5r_dset_type(d), file, &w, e);
    if (rc == VAS_OK)
        rc = table_columns(f, &o, file, w.n_vals, &b, t, e);
    n_rows = rc == VAS_OK ? h5r_dset_space(d)->dims[0] : 0;
    if (rc == VAS_OK && n_rows * (uint64_t)w.n_vals > (uint64_t)DLC_READ_VALUES_MAX)
        rc = err_set(e, VAS_ETOOBIG, "%s has more than %" PRId64 " values", file,
                     (int64_t)DLC_READ_VALUES_MAX);
    if (rc < 0)
        goto done;
    per = rows_per_read(h5r_dset_row_size(d));
    buf = malloc(per * h5r_dset_row_size(d));
    vals = malloc((size_t)w.n_vals * sizeof(*vals));
    if (!buf || !vals) {
        rc = err_set(e, VAS_ENOMEM, "out of memory reading %s", file);
        goto done;
    }
    for (start = 0; start < n_rows && rc == VAS_OK; start += chunk) {
        chunk = n_rows - start < per ? n_rows - start : per;
        rc = table_chunk(d, start, chunk, buf, vals, &w, &b, e);
    }
    if (rc == VAS_OK)
        dlc_build_finish(&b);
done:
    dlc_build_free(&b);
    free(buf);
    free(vals);
    h5r_dset_free(d);
    h5r_obj_free(&o);
    return rc;
}

/* ---- "fixed" format ---- */

/* A 1-D dataset name in g of at most max entries of class cls (strings: at most
 * POSE_LABEL_MAX bytes each), opened, with its entry count; NULL when not one. */
static h5r_dset *open_1d(h5r_file *f, const h5r_obj *g, const char *name, int cls, int64_t max,
                         int64_t *n)
{
    h5r_obj o = {0};
    h5r_dset *d = NULL;
    vas_err ignored = {0};
    const h5r_type *t;

    if (child(f, g, name, &o) == 0 && h5r_dset_open(f, &o, &d, &ignored) == VAS_OK) {
        t = &h5r_dset_type(d)->node[0];
        if (t->cls == cls && h5r_dset_space(d)->rank == 1 &&
            h5r_dset_space(d)->dims[0] <= (uint64_t)max &&
            (cls != H5R_STRING || t->size <= POSE_LABEL_MAX))
            *n = (int64_t)h5r_dset_space(d)->dims[0];
        else {
            h5r_dset_free(d);
            d = NULL;
        }
    }
    h5r_obj_free(&o);
    return d;
}

/* Fixed-size strings: *out = n pointers then the NUL-terminated texts, one block (caller frees). */
static int read_strings(h5r_file *f, const h5r_obj *g, const char *name, int64_t max, char ***out,
                        int64_t *n)
{
    h5r_dset *d = open_1d(f, g, name, H5R_STRING, max, n);
    size_t w = d ? h5r_dset_row_size(d) : 0, ptrs = d ? (size_t)*n * sizeof(char *) : 0;
    char **s = d ? malloc(ptrs + (size_t)*n * (w + 1) + w + 1) : NULL;
    char *raw = s ? (char *)s + ptrs + (size_t)*n + 1 : NULL; /* n·w bytes as read */
    vas_err ignored = {0};
    int64_t i;
    int rc = -1;

    if (s && h5r_dset_rows(d, 0, (uint64_t)*n, raw, &ignored) == VAS_OK) {
        char *text = (char *)s + ptrs; /* texts go in front of raw, never overtaking it */
        for (i = 0; i < *n; i++) {
            size_t k = strnlen(raw + (size_t)i * w, w);
            memmove(text, raw + (size_t)i * w, k);
            text[k] = '\0';
            s[i] = text;
            text += k + 1;
        }
        *out = s;
        s = NULL;
        rc = 0;
    }
    free(s);
    h5r_dset_free(d);
    return rc;
}

/* An integer dataset of exactly n entries, as int64 (new array in *out, caller frees). */
static int read_ints(h5r_file *f, const h5r_obj *g, const char *name, int64_t n, int64_t **out)
{
    int64_t m = 0, i;
    h5r_dset *d = open_1d(f, g, name, H5R_INT, n, &m);
    size_t w = d ? h5r_dset_row_size(d) : 0;
    int64_t *v = d && m == n ? malloc((size_t)(n ? n : 1) * sizeof(*v)) : NULL;
    uint8_t *raw = v ? malloc((size_t)(n ? n : 1) * w) : NULL;
    vas_err ignored = {0};
    int rc = -1;

    if (raw && h5r_dset_rows(d, 0, (uint64_t)n, raw, &ignored) == VAS_OK) {
        for (i = 0; i < n; i++)
            h5r_get_i64(&h5r_dset_type(d)->node[0], raw + (size_t)i * w, &v[i]);
        *out = v;
        v = NULL;
        rc = 0;
    }
    free(raw);
    free(v);
    h5r_dset_free(d);
    return rc;
}

/* A MultiIndex stored as <key>_level<l> (names) + <key>_label<l> (codes), l < nl. */
typedef struct h5_mi {
    int nl;
    int64_t n;                 /* entries */
    char **lv[H5R_LEVELS];     /* level l's names (read_strings blocks) */
    int64_t n_lv[H5R_LEVELS];  /* and their count */
    int64_t *code[H5R_LEVELS]; /* n codes into lv[l], checked */
} h5_mi;

static void mi_free(h5_mi *m)
{
    int l;

    for (l = 0; l < H5R_LEVELS; l++) {
        free(m->lv[l]);
        free(m->code[l]);
    }
}

static int read_multi(h5r_file *f, const h5r_obj *g, const char *key, int64_t max, h5_mi *m,
                      const char *file, vas_err *e)
{
    char name[64];
    int64_t nl = 0, i, n_codes = -1;
    int l;

    snprintf(name, sizeof(name), "%s_nlevels", key);
    if (attr_int(f, g, name, &nl) < 0 || nl < 1 || nl > H5R_LEVELS)
        return not_pandas(file, "a MultiIndex without its levels", e);
    m->nl = (int)nl;
    for (l = 0; l < m->nl; l++) {
        snprintf(name, sizeof(name), "%s_label%d", key, l);
        if (l == 0)
            h5r_dset_free(open_1d(f, g, name, H5R_INT, max, &n_codes));
        m->n = n_codes;
        if (n_codes < 0 || read_ints(f, g, name, n_codes, &m->code[l]) < 0)
            return not_pandas(file, "a MultiIndex level cannot be read", e);
        snprintf(name, sizeof(name), "%s_level%d", key, l);
        if (read_strings(f, g, name, max, &m->lv[l], &m->n_lv[l]) < 0)
            return not_pandas(file, "a MultiIndex level is not names", e);
        for (i = 0; i < m->n; i++)
            if (m->code[l][i] < -1 || m->code[l][i] >= m->n_lv[l])
                return err_set(e, VAS_EINVAL, "%s: a missing or bad name in a MultiIndex", file);
    }
    return VAS_OK;
}

/* The index of a fixed frame: axis1 (frames or names) or a MultiIndex (names joined by '/'). */
typedef struct h5_index {
    int64_t *frames; /* n_rows, or NULL */
    char **names;    /* n_rows (read_strings block), or NULL */
    h5_mi mi;        /* or this, when mi.nl > 0 */
} h5_index;

static int read_index(h5r_file *f, const h5r_obj *g, const char *file, int64_t n_rows, h5_index *x,
                      vas_err *e)
{
    int64_t n = -1;

    if (attr_is(f, g, "axis1_variety", "multi")) {
        int rc = read_multi(f, g, "axis1", n_rows, &x->mi, file, e);
        if (rc == VAS_OK && x->mi.n != n_rows)
            rc = err_set(e, VAS_EINVAL, "%s: %" PRId64 " index entries for %" PRId64 " rows", file,
                         x->mi.n, n_rows);
        return rc;
    }
    if (read_ints(f, g, "axis1", n_rows, &x->frames) == 0 ||
        (read_strings(f, g, "axis1", n_rows, &x->names, &n) == 0 && n == n_rows))
        return VAS_OK;
    return err_set(e, VAS_EUNSUPPORTED, "%s: the index has %s", file,
                   n >= 0 ? "the wrong length" : "neither frame numbers nor names");
}

/* Row r's index: frame, or the name in label. */
static const char *index_at(const h5_index *x, int64_t r, int64_t *frame, char *label)
{
    size_t n = 0;
    int l;

    if (x->frames) {
        *frame = x->frames[r];
        return NULL;
    }
    if (x->names)
        return x->names[r];
    label[0] = '\0';
    for (l = 0; l < x->mi.nl; l++) /* code -1: a level pandas padded with NaN */
        if (x->mi.code[l][r] >= 0 && dlc_join_label(label, &n, x->mi.lv[l][x->mi.code[l][r]]) < 0)
            return ""; /* too long: dlc_build_row refuses the empty name */
    return label;
}

static int fixed_columns(h5r_file *f, const h5r_obj *g, const char *file, dlc_build *b,
                         dlc_table *t, vas_err *e)
{
    h5_mi m = {0};
    const char **names = NULL;
    int64_t i;
    int rc =
        read_multi(f, g, "block0_items", (int64_t)POSE_PARTS_MAX * POSE_COORDS_MAX, &m, file, e);

    if (rc == VAS_OK && m.nl == 4)
        rc = err_set(e, VAS_EUNSUPPORTED,
                     "%s is a multi-animal table (scorer, individuals, bodyparts, coords); "
                     "only single-animal tables can be read",
                     file);
    else if (rc == VAS_OK && m.nl != 3)
        rc = err_set(e, VAS_EINVAL, "%s: columns have %d levels, not (scorer, bodyparts, coords)",
                     file, m.nl);
    for (i = 0; rc == VAS_OK && i < 3 * m.n; i++)
        if (m.code[i % 3][i / 3] < 0)
            rc = err_set(e, VAS_EINVAL, "%s: a column has no name", file);
    if (rc == VAS_OK && !(names = malloc((size_t)(m.n ? m.n : 1) * 3 * sizeof(*names))))
        rc = err_set(e, VAS_ENOMEM, "out of memory reading %s", file);
    for (i = 0; rc == VAS_OK && i < m.n; i++) {
        names[3 * i] = m.lv[0][m.code[0][i]];
        names[3 * i + 1] = m.lv[1][m.code[1][i]];
        names[3 * i + 2] = m.lv[2][m.code[2][i]];
    }
    if (rc == VAS_OK)
        rc = dlc_build_columns(b, t, file, (int)m.n, names, e);
    free(names);
    mi_free(&m);
    return rc;
}

/* block0_values [rows][cols], read H5R_READ_ROWS rows at a time into the builder. */
static int fixed_rows(h5r_dset *d, int64_t n_rows, const h5_index *x, dlc_build *b, vas_err *e)
{
    const h5r_type *vt = &h5r_dset_type(d)->node[0];
    size_t row_size = h5r_dset_row_size(d);
    int64_t per = (int64_t)rows_per_read(row_size);
    unsigned char *raw = malloc((size_t)per * row_size);
    double *vals = malloc((size_t)b->n_cols * sizeof(double));
    char *label = malloc(POSE_LABEL_MAX + 1);
    int64_t start, count, r, frame = 0;
    int c, rc = raw && vals && label ? VAS_OK
                                     : err_set(e, VAS_ENOMEM, "out of memory reading %s", b->file);

    for (start = 0; rc == VAS_OK && start < n_rows; start += count) {
        count = n_rows - start < per ? n_rows - start : per;
        rc = h5r_dset_rows(d, (uint64_t)start, (uint64_t)count, raw, e);
        for (r = 0; rc == VAS_OK && r < count; r++) {
            const char *name = index_at(x, start + r, &frame, label);
            for (c = 0; c < b->n_cols; c++)
                h5r_get_f64(vt, raw + (size_t)r * row_size + (size_t)c * vt->size, &vals[c]);
            rc = dlc_build_row(b, frame, name, vals, e);
        }
    }
    free(raw);
    free(vals);
    free(label);
    return rc;
}

/* pandas' "fixed" DataFrame: one float block with MultiIndex columns. */
static int read_fixed(h5r_file *f, const h5r_obj *g, const char *file, dlc_table *t, vas_err *e)
{
    h5r_obj o = {0};
    h5r_dset *d = NULL;
    const h5r_space *sp = NULL;
    h5_index x = {0};
    dlc_build b = {0};
    int64_t nblocks = 0;
    int rc = VAS_OK;

    if (attr_int(f, g, "nblocks", &nblocks) < 0 || nblocks != 1)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s: vas reads DataFrames of one float block, as DeepLabCut writes them",
                       file);
    if (!attr_is(f, g, "block0_items_variety", "multi"))
        return not_pandas(file, "its columns are not (scorer, bodyparts, coords)", e);
    rc = fixed_columns(f, g, file, &b, t, e);
    if (rc == VAS_OK && child(f, g, "block0_values", &o) < 0)
        rc = not_pandas(file, "it has no block0_values", e);
    if (rc == VAS_OK)
        rc = h5r_dset_open(f, &o, &d, e);
    if (rc == VAS_OK && (h5r_dset_type(d)->node[0].cls != H5R_FLOAT ||
                         (sp = h5r_dset_space(d))->rank != 2 || sp->dims[1] != (uint64_t)b.n_cols))
        rc = not_pandas(file, "block0_values is not a float array of its columns", e);
    if (rc == VAS_OK && sp->n > (uint64_t)DLC_READ_VALUES_MAX)
        rc = err_set(e, VAS_ETOOBIG, "%s has more than %" PRId64 " values", file,
                     (int64_t)DLC_READ_VALUES_MAX);
    if (rc == VAS_OK)
        rc = read_index(f, g, file, (int64_t)sp->dims[0], &x, e);
    if (rc == VAS_OK)
        rc = fixed_rows(d, (int64_t)sp->dims[0], &x, &b, e);
    if (rc == VAS_OK)
        dlc_build_finish(&b);
    dlc_build_free(&b);
    free(x.frames);
    free(x.names);
    mi_free(&x.mi);
    h5r_dset_free(d);
    h5r_obj_free(&o);
    return rc;
}

/* ---- entry ---- */

int dlc_read_h5(const char *path, dlc_table *t, vas_err *e)
{
    h5r_file *f = NULL;
    h5r_obj root = {0}, g = {0};
    char *type = NULL;
    size_t n = 0;
    int rc = h5r_open(path, &f, e);

    if (rc == VAS_OK)
        rc = h5r_root(f, &root, e);
    if (rc == VAS_OK)
        rc = open_key(f, &root, path, &g, e);
    if (rc == VAS_OK && attr_text(f, &g, "pandas_type", &type, &n) < 0)
        rc = not_pandas(path, "its key has no pandas_type", e);
    if (rc == VAS_OK && strcmp(type, "frame_table") == 0)
        rc = read_table(f, &g, path, t, e);
    else if (rc == VAS_OK && strcmp(type, "frame") == 0)
        rc = read_fixed(f, &g, path, t, e);
    else if (rc == VAS_OK)
        rc = err_set(e, VAS_EUNSUPPORTED, "%s holds a pandas \"%.32s\", not a DataFrame", path,
                     type);
    free(type);
    h5r_obj_free(&g);
    h5r_obj_free(&root);
    h5r_close(f);
    return rc;
}
