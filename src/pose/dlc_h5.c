/* dlc_h5.c - DeepLabCut's HDF5 (pandas "frame_table" via PyTables), written with libhdf5.
 *
 * DESIGN: every object, attribute and type below copies what pandas 1.5.3 / PyTables 3.7
 * wrote for DeepLabCut's to_hdf call, read off with h5dump (tools/make-pose-fixtures.py has
 * the DataFrame). The file:
 *   /                     CLASS=GROUP PYTABLES_FORMAT_VERSION=2.1 TITLE="" VERSION=1.0
 *   /df_with_missing      CLASS=GROUP TITLE="" VERSION=1.0, pandas_type=frame_table,
 *                         table_type=appendable_frame, pandas_version=0.15.2, encoding=UTF-8,
 *                         errors=strict, nan_rep=nan, levels=1 (int64), and pickles:
 *                         index_cols [(0,'index')], values_cols ['values_block_0'],
 *                         data_columns [], info {...MultiIndex names...}, non_index_axes
 *   /df_with_missing/table  compound rows {index, values_block_0}, chunked, unlimited;
 *                         CLASS=TABLE VERSION=2.7 TITLE="" NROWS FIELD_i_NAME/FIELD_i_FILL,
 *                         index_kind, values_block_0_{dtype,kind,meta}
 * Strings are fixed-size, NUL-terminated-pad, exactly as long as their text; PyTables reads
 * UTF-8 ones as str and ASCII ones as bytes, and unpickles bytes ending in "." - so the pickles
 * must be ASCII and the rest UTF-8. An empty TITLE has a NULL dataspace, as PyTables writes it.
 * All libhdf5 calls run inside H5E_BEGIN_TRY so that libhdf5 prints nothing; the innermost
 * libhdf5 message goes into the vas_err instead. */
#include "pose/dlc_h5.h"

#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/dlc_h5_int.h"

#define H5_CHUNK_BYTES 65536 /* PyTables' chunk for DLC-sized rows: 64 KiB */
#define H5_ATTR_MAX    64000 /* an attribute must fit in the object header (earliest format) */

struct dlc_h5 {
    hid_t file, table;        /* open objects, H5I_INVALID_HID when closed */
    hid_t mtype;              /* the row as this program lays it out (native types) */
    char *path, *part;        /* final name, "<path>.part" */
    pose_layout l;            /* counts only: the name pointers are not kept past open */
    size_t idx_size;          /* bytes of the index field: 8, or label_max */
    size_t row_size;          /* idx_size + C·J doubles (C coords, J bodyparts) */
    size_t chunk_rows, n_buf; /* rows per chunk and per buffer flush; rows buffered */
    hsize_t n_rows;           /* rows already in the file */
    unsigned char *buf;       /* chunk_rows x row_size, packed rows */
};

/* ---- errors ---- */

static herr_t innermost(unsigned n, const H5E_error2_t *err, void *data)
{
    if (n == 0 && err->desc)
        snprintf(data, 256, "%s", err->desc);
    return 0;
}

/* VAS_EIO naming the step, the file and libhdf5's innermost message. */
static int h5_fail(vas_err *e, const char *what, const char *file)
{
    char why[256] = "";

    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, why);
    if (!why[0]) /* the stack was cleared by a later call: the step says enough */
        return err_set(e, VAS_EIO, "cannot %s in %s", what, file);
    return err_set(e, VAS_EIO, "cannot %s in %s (libhdf5: %s)", what, file, why);
}

/* ---- attributes ---- */

/* A fixed-size string attribute of exactly n bytes (NULL dataspace when n = 0, like PyTables'
 * empty TITLE). utf8 = 0 for ASCII (pickles), which PyTables reads as bytes. */
static int attr_text(hid_t loc, const char *name, const char *s, size_t n, int utf8)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = -1, a = -1;
    int rc = -1;

    if (t < 0 || H5Tset_size(t, n ? n : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) < 0)
        goto done;
    sp = H5Screate(n ? H5S_SCALAR : H5S_NULL);
    a = sp < 0 ? -1 : H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0 && (n == 0 || H5Awrite(a, t, s) >= 0))
        rc = 0;
done:
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

static int attr_str(hid_t loc, const char *name, const char *s)
{
    return attr_text(loc, name, s, strlen(s), 1);
}

static int attr_pkl(hid_t loc, const char *name, const char *s)
{
    return attr_text(loc, name, s, strlen(s), 0);
}

/* A scalar numeric attribute: ftype in the file, v in the native mtype. */
static int attr_num(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;

    a = sp < 0 ? -1 : H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0 && H5Awrite(a, mtype, v) >= 0)
        rc = 0;
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

static int attr_i64(hid_t loc, const char *name, int64_t v)
{
    return attr_num(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

/* PyTables' CLASS/TITLE/VERSION triple that marks a node as its own. */
static int attrs_node(hid_t loc, const char *cls, const char *version)
{
    if (attr_str(loc, "CLASS", cls) < 0 || attr_str(loc, "TITLE", "") < 0 ||
        attr_str(loc, "VERSION", version) < 0)
        return -1;
    return 0;
}

/* ---- the file, the group, the table ---- */

static int write_group_attrs(hid_t g, const pose_layout *l, const char *file, vas_err *e)
{
    static const char info[] = "(dp0\nI1\n(dp1\nVnames\np2\n(lp3\nVscorer\np4\naVbodyparts\np5\n"
                               "aVcoords\np6\nasVtype\np7\nVMultiIndex\np8\nssVindex\np9\n(dp10\n"
                               "sVvalues_block_0\np11\n(dp12\ns.";
    dlc_pkl axes = {0};
    int rc = dlc_pkl_non_index_axes(&axes, l, e);

    if (rc < 0)
        goto done;
    if (axes.len > H5_ATTR_MAX) {
        rc = err_set(e, VAS_EUNSUPPORTED,
                     "%d bodyparts with these names do not fit in an HDF5 "
                     "attribute (%zu bytes)",
                     l->n_bodyparts, axes.len);
        goto done;
    }
    if (attrs_node(g, "GROUP", "1.0") < 0 || attr_pkl(g, "data_columns", "(lp0\n.") < 0 ||
        attr_str(g, "encoding", "UTF-8") < 0 || attr_str(g, "errors", "strict") < 0 ||
        attr_pkl(g, "index_cols", "(lp0\n(I0\nVindex\np1\ntp2\na.") < 0 ||
        attr_pkl(g, "info", info) < 0 || attr_i64(g, "levels", 1) < 0 ||
        attr_str(g, "nan_rep", "nan") < 0 ||
        attr_text(g, "non_index_axes", axes.buf, axes.len, 0) < 0 ||
        attr_str(g, "pandas_type", "frame_table") < 0 ||
        attr_str(g, "pandas_version", "0.15.2") < 0 ||
        attr_str(g, "table_type", "appendable_frame") < 0 ||
        attr_pkl(g, "values_cols", "(lp0\nVvalues_block_0\np1\na.") < 0)
        rc = h5_fail(e, "write the pandas attributes", file);
done:
    dlc_pkl_free(&axes);
    return rc;
}

static int write_table_attrs(hid_t t, const pose_layout *l, const char *file, vas_err *e)
{
    const double zero = 0;
    dlc_pkl kind = {0};
    int rc = dlc_pkl_block_kind(&kind, l, e), bad;

    if (rc < 0)
        goto done;
    bad = attrs_node(t, "TABLE", "2.7") < 0 || attr_i64(t, "NROWS", 0) < 0 ||
          attr_str(t, "FIELD_0_NAME", "index") < 0 ||
          attr_str(t, "FIELD_1_NAME", "values_block_0") < 0 ||
          attr_num(t, "FIELD_1_FILL", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &zero) < 0 ||
          attr_str(t, "values_block_0_dtype", "float64") < 0 ||
          attr_text(t, "values_block_0_kind", kind.buf, kind.len, 0) < 0 ||
          attr_pkl(t, "values_block_0_meta", "N.") < 0;
    if (!bad && l->label_max > 0) /* an image-name index: fill "" (1 byte, scalar, ASCII) */
        bad = attr_text(t, "FIELD_0_FILL", "", 1, 0) < 0 || attr_str(t, "index_kind", "string") < 0;
    else if (!bad)
        bad = attr_i64(t, "FIELD_0_FILL", 0) < 0 || attr_str(t, "index_kind", "integer") < 0;
    if (bad)
        rc = h5_fail(e, "write the table attributes", file);
done:
    dlc_pkl_free(&kind);
    return rc;
}

/* The row type: in the file (little-endian, as PyTables writes on any machine) if file != 0,
 * else in memory (native). Packed: index at 0, values right after. */
static hid_t row_type(const dlc_h5 *w, int file)
{
    hsize_t n = (hsize_t)w->l.n_coords * (hsize_t)w->l.n_bodyparts;
    hid_t t = H5Tcreate(H5T_COMPOUND, w->row_size), idx = -1, vals = -1;

    if (t < 0)
        return -1;
    if (w->l.label_max > 0) {
        idx = H5Tcopy(H5T_C_S1);
        if (idx >= 0 &&
            (H5Tset_size(idx, w->idx_size) < 0 || H5Tset_strpad(idx, H5T_STR_NULLTERM) < 0 ||
             H5Tset_cset(idx, H5T_CSET_ASCII) < 0)) {
            H5Tclose(idx);
            idx = -1;
        }
    } else {
        idx = H5Tcopy(file ? H5T_STD_I64LE : H5T_NATIVE_INT64);
    }
    vals = H5Tarray_create2(file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE, 1, &n);
    if (idx < 0 || vals < 0 || H5Tinsert(t, "index", 0, idx) < 0 ||
        H5Tinsert(t, "values_block_0", w->idx_size, vals) < 0) {
        H5Tclose(t);
        t = -1;
    }
    if (idx >= 0)
        H5Tclose(idx);
    if (vals >= 0)
        H5Tclose(vals);
    return t;
}

/* The empty, extendible table. libhdf5's chunk cache is off for it: rows arrive a whole chunk
 * at a time, so caching would only hold memory. */
static int create_table(dlc_h5 *w, hid_t g, vas_err *e)
{
    hsize_t dim = 0, maxdim = H5S_UNLIMITED, chunk = w->chunk_rows;
    hid_t ftype = row_type(w, 1), sp = -1, dcpl = -1, dapl = -1;
    int rc = VAS_OK;

    w->mtype = row_type(w, 0);
    sp = H5Screate_simple(1, &dim, &maxdim);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (ftype < 0 || w->mtype < 0 || sp < 0 || dcpl < 0 || dapl < 0 ||
        H5Pset_chunk(dcpl, 1, &chunk) < 0 || H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC) < 0 ||
        H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0, H5D_CHUNK_CACHE_W0_DEFAULT) <
            0 ||
        (w->table = H5Dcreate2(g, "table", ftype, sp, H5P_DEFAULT, dcpl, dapl)) < 0)
        rc = h5_fail(e, "create the table", w->part);
    if (dapl >= 0)
        H5Pclose(dapl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    if (ftype >= 0)
        H5Tclose(ftype);
    return rc;
}

static int create_file(dlc_h5 *w, const pose_layout *l, vas_err *e)
{
    hid_t g = -1;
    int rc = VAS_OK;

    w->file = H5Fcreate(w->part, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0)
        return h5_fail(e, "create the file", w->part);
    if (attrs_node(w->file, "GROUP", "1.0") < 0 ||
        attr_str(w->file, "PYTABLES_FORMAT_VERSION", "2.1") < 0 ||
        (g = H5Gcreate2(w->file, "df_with_missing", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        rc = h5_fail(e, "create the group /df_with_missing", w->part);
    if (rc == VAS_OK)
        rc = write_group_attrs(g, l, w->part, e);
    if (rc == VAS_OK)
        rc = create_table(w, g, e);
    if (rc == VAS_OK)
        rc = write_table_attrs(w->table, l, w->part, e);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

/* ---- rows ---- */

/* Appends the buffered rows: grow the table, write them into the new tail. */
static int flush_rows(dlc_h5 *w, vas_err *e)
{
    hsize_t start = w->n_rows, count = w->n_buf, total = w->n_rows + w->n_buf;
    hid_t fsp = -1, msp = -1;
    int rc = VAS_OK;

    if (w->n_buf == 0)
        return VAS_OK;
    if (H5Dset_extent(w->table, &total) < 0 || (fsp = H5Dget_space(w->table)) < 0 ||
        H5Sselect_hyperslab(fsp, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        (msp = H5Screate_simple(1, &count, NULL)) < 0 ||
        H5Dwrite(w->table, w->mtype, msp, fsp, H5P_DEFAULT, w->buf) < 0)
        rc = h5_fail(e, "append rows", w->part);
    if (msp >= 0)
        H5Sclose(msp);
    if (fsp >= 0)
        H5Sclose(fsp);
    if (rc == VAS_OK) {
        w->n_rows = total;
        w->n_buf = 0;
    }
    return rc;
}

static int add_row(dlc_h5 *w, int64_t frame, const char *label, const double *xyl, vas_err *e)
{
    unsigned char *r;
    int rc = pose_layout_check_index(&w->l, frame, label, e);

    if (rc < 0)
        return rc;
    if (w->n_buf == w->chunk_rows && (rc = flush_rows(w, e)) < 0)
        return rc;
    r = w->buf + w->n_buf * w->row_size;
    memset(r, 0, w->idx_size);
    if (label) /* NUL-padded to idx_size; strlen(label) <= label_max = idx_size, checked above */
        memcpy(r, label, strnlen(label, w->idx_size));
    else
        memcpy(r, &frame, sizeof(frame));
    memcpy(r + w->idx_size, xyl, w->row_size - w->idx_size);
    w->n_buf++;
    return VAS_OK;
}

/* ---- life cycle ---- */

/* Closes what is open (ignoring errors: used on the failure paths) and frees w. */
static void h5_free(dlc_h5 *w)
{
    if (w->mtype >= 0)
        H5Tclose(w->mtype);
    if (w->table >= 0)
        H5Dclose(w->table);
    if (w->file >= 0)
        H5Fclose(w->file);
    free(w->buf);
    free(w->path);
    free(w->part);
    free(w);
}

static int h5_new(const char *path, const pose_layout *l, dlc_h5 **out, vas_err *e)
{
    dlc_h5 *w = calloc(1, sizeof(*w));
    int rc;

    if (!w)
        return err_set(e, VAS_ENOMEM, "out of memory opening %s", path);
    w->file = w->table = w->mtype = H5I_INVALID_HID;
    w->l.n_bodyparts = l->n_bodyparts;
    w->l.label_max = l->label_max;
    w->l.n_coords = pose_layout_n_coords(l);
    w->idx_size = l->label_max > 0 ? (size_t)l->label_max : sizeof(int64_t);
    w->row_size = w->idx_size + (size_t)(w->l.n_coords * l->n_bodyparts) * sizeof(double);
    w->chunk_rows = w->row_size < H5_CHUNK_BYTES ? H5_CHUNK_BYTES / w->row_size : 1;
    w->buf = malloc(w->chunk_rows * w->row_size);
    w->path = strdup(path);
    rc = pose_part_path(path, &w->part, e);
    if (rc == VAS_OK && (!w->buf || !w->path))
        rc = err_set(e, VAS_ENOMEM, "out of memory opening %s", path);
    if (rc < 0) {
        h5_free(w);
        return rc;
    }
    *out = w;
    return VAS_OK;
}

int dlc_h5_open(const char *path, const pose_layout *l, dlc_h5 **out, vas_err *e)
{
    dlc_h5 *w = NULL;
    int rc = pose_layout_check(l, e);

    if (rc < 0)
        return rc;
    rc = h5_new(path, l, &w, e);
    if (rc < 0)
        return rc;
    H5E_BEGIN_TRY
    {
        rc = create_file(w, l, e);
    }
    H5E_END_TRY;
    if (rc < 0) {
        dlc_h5_abort(w);
        return rc;
    }
    *out = w;
    return VAS_OK;
}

int dlc_h5_add_row(dlc_h5 *w, int64_t frame, const char *label, const double *xyl, vas_err *e)
{
    int rc;

    H5E_BEGIN_TRY
    {
        rc = add_row(w, frame, label, xyl, e);
    }
    H5E_END_TRY;
    return rc;
}

/* Last rows, NROWS, then closing each object so that errors (a full disk) are seen here. */
static int finish(dlc_h5 *w, vas_err *e)
{
    int64_t n;
    hid_t a;
    int rc = flush_rows(w, e);

    if (rc < 0)
        return rc;
    n = (int64_t)w->n_rows;
    a = H5Aopen(w->table, "NROWS", H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT64, &n) < 0)
        rc = h5_fail(e, "write NROWS", w->part);
    if (a >= 0)
        H5Aclose(a);
    if (rc == VAS_OK && H5Dclose(w->table) < 0)
        rc = h5_fail(e, "close the table", w->part);
    w->table = H5I_INVALID_HID;
    if (rc == VAS_OK && H5Fclose(w->file) < 0)
        rc = h5_fail(e, "close the file", w->part);
    w->file = H5I_INVALID_HID;
    return rc;
}

int dlc_h5_close(dlc_h5 *w, vas_err *e)
{
    int rc;

    if (!w)
        return VAS_OK;
    H5E_BEGIN_TRY
    {
        rc = finish(w, e);
    }
    H5E_END_TRY;
    if (rc == VAS_OK)
        rc = pose_part_commit(w->part, w->path, e);
    if (rc < 0) {
        dlc_h5_abort(w);
        return rc;
    }
    H5E_BEGIN_TRY
    {
        h5_free(w);
    }
    H5E_END_TRY;
    return VAS_OK;
}

void dlc_h5_abort(dlc_h5 *w)
{
    if (!w)
        return;
    H5E_BEGIN_TRY
    {
        if (w->file >= 0) {
            if (w->table >= 0)
                H5Dclose(w->table);
            w->table = H5I_INVALID_HID;
            H5Fclose(w->file);
            w->file = H5I_INVALID_HID;
        }
        remove(w->part);
        h5_free(w);
    }
    H5E_END_TRY;
}
