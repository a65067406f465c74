/* dlc_read_h5.c - DeepLabCut HDF5 pose tables read with libhdf5: pandas' "table" format (what
 * DeepLabCut's analyze_videos and vas's dlc_h5.c write) and its "fixed" format.
 *
 * DESIGN: pandas keeps a DataFrame under a key (a group). Its attribute pandas_type says how:
 *   frame_table  /key/table, compound rows {index, values_block_0[C]}; the columns of the block,
 *                as (scorer, bodyparts, coords) tuples, in the table attribute
 *                values_block_0_kind, a protocol-0 pickle (dlc_read_pickle.c reads it).
 *   frame        /key/axis1 (the index; or axis1_level<l> + axis1_label<l> for a MultiIndex),
 *                /key/block0_values [rows][C] and the block's columns as a MultiIndex:
 *                block0_items_level<l> (unique names) + block0_items_label<l> (codes).
 * Strings are fixed-size; each is read with its own file type, so libhdf5 converts nothing (its
 * NULLTERM conversion would drop a last byte). Numbers are converted to int64 and double by
 * libhdf5 (DeepLabCut 3.x may store float32). Every size read from the file is checked against
 * a limit before it sizes a buffer. All calls run inside H5E_BEGIN_TRY: libhdf5 prints nothing. */
#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/dlc_read_int.h"
#include "pose/pose_layout.h"

#define H5R_ATTR_MAX  ((size_t)16 << 20) /* bytes in an attribute we read */
#define H5R_READ_ROWS 4096               /* rows per read */
#define H5R_LEVELS    8                  /* MultiIndex levels */

static int not_pandas(const char *file, const char *why, vas_err *e)
{
    return err_set(e, VAS_EINVAL, "%s is not a pandas DataFrame file: %s", file, why);
}

static void close_id(hid_t id, herr_t (*fn)(hid_t))
{
    if (id >= 0)
        fn(id);
}

/* ---- attributes ---- */

/* A fixed-size string attribute, whole: a new NUL-terminated copy in *out (caller frees), its
 * bytes in *len (up to the first NUL). -1 when missing or not such a string. */
static int attr_text(hid_t loc, const char *name, char **out, size_t *len)
{
    hid_t a = -1, t = -1, sp = -1;
    H5S_class_t cls;
    size_t n = 0;
    char *buf = NULL;
    int rc = -1;

    if (H5Aexists(loc, name) <= 0 || (a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 ||
        (t = H5Aget_type(a)) < 0 || (sp = H5Aget_space(a)) < 0)
        goto done;
    cls = H5Sget_simple_extent_type(sp);
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0 ||
        (cls != H5S_SCALAR && cls != H5S_NULL) || (n = H5Tget_size(t)) > H5R_ATTR_MAX)
        goto done;
    buf = calloc(n + 1, 1);
    if (!buf || (cls == H5S_SCALAR && H5Aread(a, t, buf) < 0))
        goto done;
    *len = strnlen(buf, n);
    *out = buf;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    close_id(sp, H5Sclose);
    close_id(t, H5Tclose);
    close_id(a, H5Aclose);
    return rc;
}

/* 1 if attribute name is the string want. */
static int attr_is(hid_t loc, const char *name, const char *want)
{
    char *s = NULL;
    size_t n = 0;
    int is = attr_text(loc, name, &s, &n) == 0 && strcmp(s, want) == 0;

    free(s);
    return is;
}

/* A scalar integer attribute; -1 when missing or not one. */
static int attr_int(hid_t loc, const char *name, int64_t *v)
{
    hid_t a = -1, t = -1;
    int rc = -1;

    if (H5Aexists(loc, name) > 0 && (a = H5Aopen(loc, name, H5P_DEFAULT)) >= 0 &&
        (t = H5Aget_type(a)) >= 0 && H5Tget_class(t) == H5T_INTEGER &&
        H5Aread(a, H5T_NATIVE_INT64, v) >= 0)
        rc = 0;
    close_id(t, H5Tclose);
    close_id(a, H5Aclose);
    return rc;
}

/* ---- the key ---- */

static herr_t count_group(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    char **only = data;
    H5O_info_t oi;

    (void)info;
    if (H5Oget_info_by_name2(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_GROUP)
        return 0;
    free(*only);
    *only = *only ? NULL : strdup(name);
    return *only ? 0 : 1; /* a second group: stop, no single key */
}

/* /df_with_missing, or the file's only group. */
static int open_key(hid_t f, const char *file, hid_t *g, vas_err *e)
{
    char *only = NULL;

    if (H5Lexists(f, "df_with_missing", H5P_DEFAULT) > 0) {
        *g = H5Gopen2(f, "df_with_missing", H5P_DEFAULT);
    } else {
        H5Literate(f, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, count_group, &only);
        if (!only)
            return not_pandas(file, "no key \"df_with_missing\" and not exactly one other", e);
        *g = H5Gopen2(f, only, H5P_DEFAULT);
        free(only);
    }
    if (*g < 0)
        return not_pandas(file, "its key is not a group", e);
    return VAS_OK;
}

/* ---- "table" format ---- */

/* The table's row type: index (int -> frames, string -> width in *label_w), values_block_0. */
static int table_type(hid_t ft, const char *file, int *n_vals, size_t *label_w, vas_err *e)
{
    int ii = H5Tget_member_index(ft, "index"), iv = H5Tget_member_index(ft, "values_block_0");
    hid_t ti = -1, tv = -1;
    hsize_t dim = 1;
    int rc = VAS_OK;

    if (H5Tget_class(ft) != H5T_COMPOUND || ii < 0 || iv < 0)
        return not_pandas(file, "its table has no index and values_block_0 columns", e);
    if (H5Tget_nmembers(ft) != 2)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s has more than one block of values or data columns; vas reads "
                       "DataFrames of one float block, as DeepLabCut writes them",
                       file);
    ti = H5Tget_member_type(ft, (unsigned)ii);
    tv = H5Tget_member_type(ft, (unsigned)iv);
    *label_w = 0;
    if (ti >= 0 && H5Tget_class(ti) == H5T_STRING && !H5Tis_variable_str(ti))
        *label_w = H5Tget_size(ti);
    else if (ti < 0 || H5Tget_class(ti) != H5T_INTEGER)
        rc = err_set(e, VAS_EUNSUPPORTED, "%s: the index is neither numbers nor names", file);
    if (rc == VAS_OK && *label_w > POSE_LABEL_MAX)
        rc = err_set(e, VAS_EINVAL, "%s: image names over %d bytes", file, POSE_LABEL_MAX);
    if (rc == VAS_OK && tv >= 0 && H5Tget_class(tv) == H5T_ARRAY && H5Tget_array_ndims(tv) == 1)
        H5Tget_array_dims2(tv, &dim);
    else if (rc == VAS_OK && (tv < 0 || H5Tget_class(tv) != H5T_FLOAT))
        rc = err_set(e, VAS_EUNSUPPORTED, "%s: the values are not floats", file);
    if (rc == VAS_OK && (dim < 1 || dim > (hsize_t)POSE_PARTS_MAX * POSE_COORDS_MAX))
        rc = err_set(e, VAS_EINVAL, "%s has %llu value columns", file, (unsigned long long)dim);
    *n_vals = (int)dim;
    close_id(ti, H5Tclose);
    close_id(tv, H5Tclose);
    return rc;
}

/* The block's column names (values_block_0_kind) into the builder. */
static int table_columns(hid_t ds, const char *file, int n_vals, dlc_build *b, dlc_table *t,
                         vas_err *e)
{
    char *pkl = NULL, **names = NULL;
    size_t len = 0;
    int n = 0, width = 0, rc;

    if (attr_text(ds, "values_block_0_kind", &pkl, &len) < 0)
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

/* Bytes before the values in a memory row: the index, padded so that the doubles are aligned. */
static size_t vals_at(size_t label_w)
{
    return label_w ? (label_w + 7) / 8 * 8 : sizeof(int64_t);
}

/* The memory row type: int64 or the file's string, then n doubles (aligned). */
static hid_t table_mtype(hid_t ft, size_t label_w, int n_vals, size_t *row_size)
{
    hsize_t dim = (hsize_t)n_vals;
    size_t idx = vals_at(label_w);
    hid_t t, ti, tv = H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &dim);

    ti = label_w ? H5Tget_member_type(ft, (unsigned)H5Tget_member_index(ft, "index"))
                 : H5Tcopy(H5T_NATIVE_INT64);
    *row_size = idx + (size_t)n_vals * sizeof(double);
    t = H5Tcreate(H5T_COMPOUND, *row_size);
    if (t >= 0 && (ti < 0 || tv < 0 || H5Tinsert(t, "index", 0, ti) < 0 ||
                   H5Tinsert(t, "values_block_0", idx, tv) < 0)) {
        H5Tclose(t);
        t = -1;
    }
    close_id(ti, H5Tclose);
    close_id(tv, H5Tclose);
    return t;
}

/* Rows [start, start + n) through buf into the builder. */
static int table_chunk(hid_t ds, hid_t mt, hsize_t start, hsize_t n, unsigned char *buf,
                       size_t row_size, size_t label_w, dlc_build *b, vas_err *e)
{
    hid_t fsp = H5Dget_space(ds), msp = H5Screate_simple(1, &n, NULL);
    char label[POSE_LABEL_MAX + 1];
    int rc = VAS_OK;
    hsize_t r;

    if (fsp < 0 || msp < 0 ||
        H5Sselect_hyperslab(fsp, H5S_SELECT_SET, &start, NULL, &n, NULL) < 0 ||
        H5Dread(ds, mt, msp, fsp, H5P_DEFAULT, buf) < 0)
        rc = err_set(e, VAS_EINVAL, "%s: cannot read rows %llu to %llu of its table", b->file,
                     (unsigned long long)start, (unsigned long long)(start + n));
    for (r = 0; r < n && rc == VAS_OK; r++) {
        const unsigned char *row = buf + r * row_size;
        int64_t frame = 0;
        const double *vals = (const double *)(const void *)(row + vals_at(label_w));
        if (label_w) {
            memcpy(label, row, label_w);
            label[strnlen(label, label_w)] = '\0';
        } else {
            memcpy(&frame, row, sizeof(frame));
        }
        rc = dlc_build_row(b, frame, label_w ? label : NULL, vals, e);
    }
    close_id(msp, H5Sclose);
    close_id(fsp, H5Sclose);
    return rc;
}

static int read_table(hid_t g, const char *file, dlc_table *t, vas_err *e)
{
    hid_t ds = H5Dopen2(g, "table", H5P_DEFAULT), ft = -1, sp = -1, mt = -1;
    hsize_t n_rows = 0, start, chunk;
    size_t label_w = 0, row_size = 0;
    unsigned char *buf = NULL;
    dlc_build b = {0};
    int n_vals = 0, rc;

    if (ds < 0 || (ft = H5Dget_type(ds)) < 0 || (sp = H5Dget_space(ds)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, &n_rows, NULL) < 0) {
        rc = not_pandas(file, "it has no readable table", e);
        goto done;
    }
    rc = table_type(ft, file, &n_vals, &label_w, e);
    if (rc == VAS_OK)
        rc = table_columns(ds, file, n_vals, &b, t, e);
    if (rc == VAS_OK && n_rows * (hsize_t)n_vals > (hsize_t)DLC_READ_VALUES_MAX)
        rc = err_set(e, VAS_ETOOBIG, "%s has more than %" PRId64 " values", file,
                     (int64_t)DLC_READ_VALUES_MAX);
    if (rc < 0)
        goto done;
    mt = table_mtype(ft, label_w, n_vals, &row_size);
    buf = malloc(H5R_READ_ROWS * row_size);
    if (mt < 0 || !buf) {
        rc = err_set(e, VAS_ENOMEM, "out of memory reading %s", file);
        goto done;
    }
    for (start = 0; start < n_rows && rc == VAS_OK; start += chunk) {
        chunk = n_rows - start < H5R_READ_ROWS ? n_rows - start : H5R_READ_ROWS;
        rc = table_chunk(ds, mt, start, chunk, buf, row_size, label_w, &b, e);
    }
    if (rc == VAS_OK)
        dlc_build_finish(&b);
done:
    dlc_build_free(&b);
    free(buf);
    close_id(mt, H5Tclose);
    close_id(sp, H5Sclose);
    close_id(ft, H5Tclose);
    close_id(ds, H5Dclose);
    return rc;
}

/* ---- "fixed" format ---- */

/* A 1-D dataset of at most max entries (of class cls: strings or integers), its entry count. */
static hid_t open_1d(hid_t g, const char *name, H5T_class_t cls, int64_t max, int64_t *n)
{
    hid_t ds = H5Lexists(g, name, H5P_DEFAULT) > 0 ? H5Dopen2(g, name, H5P_DEFAULT) : -1;
    hid_t t = ds >= 0 ? H5Dget_type(ds) : -1, sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t dim = 0;
    int ok = t >= 0 && sp >= 0 && H5Tget_class(t) == cls && H5Sget_simple_extent_ndims(sp) == 1 &&
             H5Sget_simple_extent_dims(sp, &dim, NULL) >= 0 && dim <= (hsize_t)max &&
             (cls != H5T_STRING || (!H5Tis_variable_str(t) && H5Tget_size(t) <= POSE_LABEL_MAX));

    close_id(sp, H5Sclose);
    close_id(t, H5Tclose);
    if (!ok) {
        close_id(ds, H5Dclose);
        return -1;
    }
    *n = (int64_t)dim;
    return ds;
}

/* Fixed-size strings: *out = n pointers then the NUL-terminated texts, one block (caller frees). */
static int read_strings(hid_t g, const char *name, int64_t max, char ***out, int64_t *n)
{
    hid_t ds = open_1d(g, name, H5T_STRING, max, n), t = ds >= 0 ? H5Dget_type(ds) : -1;
    size_t w = t >= 0 ? H5Tget_size(t) : 0, ptrs = (size_t)*n * sizeof(char *);
    char **s = t >= 0 ? malloc(ptrs + (size_t)*n * (w + 1) + w + 1) : NULL;
    char *raw = s ? (char *)s + ptrs + (size_t)*n + 1 : NULL; /* n·w bytes as read */
    int64_t i;
    int rc = -1;

    if (s && (*n == 0 || H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0)) {
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
    close_id(t, H5Tclose);
    close_id(ds, H5Dclose);
    return rc;
}

/* An integer dataset of exactly n entries, as int64 (new array in *out, caller frees). */
static int read_ints(hid_t g, const char *name, int64_t n, int64_t **out)
{
    int64_t m = 0;
    hid_t ds = open_1d(g, name, H5T_INTEGER, n, &m);
    int64_t *v = ds >= 0 && m == n ? malloc((size_t)(n ? n : 1) * sizeof(*v)) : NULL;
    int rc = -1;

    if (v && (n == 0 || H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0)) {
        *out = v;
        v = NULL;
        rc = 0;
    }
    free(v);
    close_id(ds, H5Dclose);
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

static int read_multi(hid_t g, const char *key, int64_t max, h5_mi *m, const char *file, vas_err *e)
{
    char name[64];
    int64_t nl = 0, i, n_codes = -1;
    int l;

    snprintf(name, sizeof(name), "%s_nlevels", key);
    if (attr_int(g, name, &nl) < 0 || nl < 1 || nl > H5R_LEVELS)
        return not_pandas(file, "a MultiIndex without its levels", e);
    m->nl = (int)nl;
    for (l = 0; l < m->nl; l++) {
        snprintf(name, sizeof(name), "%s_label%d", key, l);
        if (l == 0)
            close_id(open_1d(g, name, H5T_INTEGER, max, &n_codes), H5Dclose);
        m->n = n_codes;
        if (n_codes < 0 || read_ints(g, name, n_codes, &m->code[l]) < 0)
            return not_pandas(file, "a MultiIndex level cannot be read", e);
        snprintf(name, sizeof(name), "%s_level%d", key, l);
        if (read_strings(g, name, max, &m->lv[l], &m->n_lv[l]) < 0)
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

static int read_index(hid_t g, const char *file, int64_t n_rows, h5_index *x, vas_err *e)
{
    int64_t n = -1;

    if (attr_is(g, "axis1_variety", "multi")) {
        int rc = read_multi(g, "axis1", n_rows, &x->mi, file, e);
        if (rc == VAS_OK && x->mi.n != n_rows)
            rc = err_set(e, VAS_EINVAL, "%s: %" PRId64 " index entries for %" PRId64 " rows", file,
                         x->mi.n, n_rows);
        return rc;
    }
    if (read_ints(g, "axis1", n_rows, &x->frames) == 0 ||
        (read_strings(g, "axis1", n_rows, &x->names, &n) == 0 && n == n_rows))
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

static int fixed_columns(hid_t g, const char *file, dlc_build *b, dlc_table *t, vas_err *e)
{
    h5_mi m = {0};
    const char **names = NULL;
    int64_t i;
    int rc = read_multi(g, "block0_items", (int64_t)POSE_PARTS_MAX * POSE_COORDS_MAX, &m, file, e);

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
static int fixed_rows(hid_t ds, int64_t n_rows, const h5_index *x, dlc_build *b, vas_err *e)
{
    hsize_t start[2] = {0, 0}, count[2] = {0, (hsize_t)b->n_cols};
    double *buf = malloc((size_t)H5R_READ_ROWS * (size_t)b->n_cols * sizeof(double));
    char *label = malloc(POSE_LABEL_MAX + 1);
    hid_t fsp = H5Dget_space(ds), msp = -1;
    int64_t r, frame = 0;
    int rc = buf && label ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory reading %s", b->file);

    for (; rc == VAS_OK && (int64_t)start[0] < n_rows; start[0] += count[0]) {
        count[0] =
            (hsize_t)n_rows - start[0] < H5R_READ_ROWS ? (hsize_t)n_rows - start[0] : H5R_READ_ROWS;
        msp = H5Screate_simple(2, count, NULL);
        if (fsp < 0 || msp < 0 ||
            H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(ds, H5T_NATIVE_DOUBLE, msp, fsp, H5P_DEFAULT, buf) < 0)
            rc = err_set(e, VAS_EINVAL, "%s: cannot read its values", b->file);
        close_id(msp, H5Sclose);
        for (r = 0; rc == VAS_OK && r < (int64_t)count[0]; r++) {
            const char *name = index_at(x, (int64_t)start[0] + r, &frame, label);
            rc = dlc_build_row(b, frame, name, buf + r * b->n_cols, e);
        }
    }
    close_id(fsp, H5Sclose);
    free(buf);
    free(label);
    return rc;
}

/* pandas' "fixed" DataFrame: one float block with MultiIndex columns. */
static int dlc_read_h5_fixed(hid_t g, const char *file, dlc_table *t, vas_err *e)
{
    hid_t ds = -1, sp = -1, ty = -1;
    hsize_t dims[2] = {0, 0};
    h5_index x = {0};
    dlc_build b = {0};
    int64_t nblocks = 0;
    int rc = VAS_OK;

    if (attr_int(g, "nblocks", &nblocks) < 0 || nblocks != 1)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s: vas reads DataFrames of one float block, as DeepLabCut writes them",
                       file);
    if (!attr_is(g, "block0_items_variety", "multi"))
        return not_pandas(file, "its columns are not (scorer, bodyparts, coords)", e);
    rc = fixed_columns(g, file, &b, t, e);
    if (rc == VAS_OK &&
        ((ds = H5Dopen2(g, "block0_values", H5P_DEFAULT)) < 0 || (ty = H5Dget_type(ds)) < 0 ||
         H5Tget_class(ty) != H5T_FLOAT || (sp = H5Dget_space(ds)) < 0 ||
         H5Sget_simple_extent_ndims(sp) != 2 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 ||
         dims[1] != (hsize_t)b.n_cols))
        rc = not_pandas(file, "block0_values is not a float array of its columns", e);
    if (rc == VAS_OK && dims[0] * dims[1] > (hsize_t)DLC_READ_VALUES_MAX)
        rc = err_set(e, VAS_ETOOBIG, "%s has more than %" PRId64 " values", file,
                     (int64_t)DLC_READ_VALUES_MAX);
    if (rc == VAS_OK)
        rc = read_index(g, file, (int64_t)dims[0], &x, e);
    if (rc == VAS_OK)
        rc = fixed_rows(ds, (int64_t)dims[0], &x, &b, e);
    if (rc == VAS_OK)
        dlc_build_finish(&b);
    dlc_build_free(&b);
    free(x.frames);
    free(x.names);
    mi_free(&x.mi);
    close_id(sp, H5Sclose);
    close_id(ty, H5Tclose);
    close_id(ds, H5Dclose);
    return rc;
}

/* ---- entry ---- */

static int read_file(const char *path, dlc_table *t, vas_err *e)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), g = -1;
    char *type = NULL;
    size_t n = 0;
    int rc;

    if (f < 0)
        return err_set(e, VAS_EINVAL, "%s cannot be opened as HDF5 (damaged or truncated?)", path);
    rc = open_key(f, path, &g, e);
    if (rc == VAS_OK && attr_text(g, "pandas_type", &type, &n) < 0)
        rc = not_pandas(path, "its key has no pandas_type", e);
    if (rc == VAS_OK && strcmp(type, "frame_table") == 0)
        rc = read_table(g, path, t, e);
    else if (rc == VAS_OK && strcmp(type, "frame") == 0)
        rc = dlc_read_h5_fixed(g, path, t, e);
    else if (rc == VAS_OK)
        rc = err_set(e, VAS_EUNSUPPORTED, "%s holds a pandas \"%.32s\", not a DataFrame", path,
                     type);
    free(type);
    close_id(g, H5Gclose);
    if (H5Fclose(f) < 0 && rc == VAS_OK)
        rc = err_set(e, VAS_EIO, "cannot close %s", path);
    return rc;
}

int dlc_read_h5(const char *path, dlc_table *t, vas_err *e)
{
    int rc;

    H5E_BEGIN_TRY
    {
        rc = read_file(path, t, e);
    }
    H5E_END_TRY;
    return rc;
}
