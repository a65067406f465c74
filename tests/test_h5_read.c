/* test_h5_read.c - vas's own HDF5 reader (pose/h5_read.h): files libhdf5 itself writes (the
 * default format and HDF5 1.8's: superblock 2, object header 2, link messages) read back value
 * by value, including a chunk B-tree of several levels, deflate + shuffle, big-endian numbers,
 * compact data; what it refuses by name (dense link and attribute storage, 1.10's chunk
 * indexes); and malformed input: every truncation and byte flip of those files, and hand-made
 * files with continuation loops, B-tree loops, a B-tree fanning out to 200^16 visits, huge sizes
 * and deep types. Each must end in an error with a message, promptly; ASan checks the rest. */
#include <hdf5.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <cmocka.h>

#include "core/err.h"
#include "pose/h5_read.h"
#include "testutil.h"

enum { T_ROWS = 200, T_CHUNK = 7, U_ROWS = 1000, MANY = 40 };

/* ---- files written by libhdf5 ---- */

typedef struct trow {
    int64_t index;
    double v[3];
} trow;

static void attr_write(hid_t loc, const char *name, hid_t type, hid_t space, const void *v)
{
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);

    assert_true(a >= 0);
    if (v)
        assert_true(H5Awrite(a, type, v) >= 0);
    H5Aclose(a);
}

static void dset_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                       const hsize_t *dims, hid_t dcpl, const void *v)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);

    assert_true(d >= 0);
    assert_true(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
}

/* Root attributes s (string), i (int16 BE), x (float32), n (string, null space); groups g
 * (datasets t, u, c, k, str) and many (MANY groups). */
static void write_attrs(hid_t f)
{
    hid_t scalar = H5Screate(H5S_SCALAR), null = H5Screate(H5S_NULL), s = H5Tcopy(H5T_C_S1);
    int16_t i = -1234;
    float x = 1.5F;

    H5Tset_size(s, 5);
    attr_write(f, "s", s, scalar, "hello");
    attr_write(f, "n", s, null, NULL);
    H5Tclose(s);
    s = H5Tcopy(H5T_STD_I16BE);
    H5Tconvert(H5T_NATIVE_INT16, s, 1, &i, NULL, H5P_DEFAULT);
    attr_write(f, "i", s, scalar, &i);
    H5Tclose(s);
    attr_write(f, "x", H5T_IEEE_F32LE, scalar, &x);
    H5Sclose(scalar);
    H5Sclose(null);
}

static void write_datasets(hid_t g)
{
    hsize_t dims[2] = {T_ROWS, 3}, chunk = T_CHUNK, one = 1, big[1] = {U_ROWS};
    hid_t rt = H5Tcreate(H5T_COMPOUND, sizeof(trow)),
          at = H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &dims[1]);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), s = H5Tcopy(H5T_C_S1);
    static trow rows[T_ROWS];
    static int32_t u[U_ROWS];
    float c[4][3];
    int8_t k[5] = {-5, -1, 0, 1, 127};
    int r;

    for (r = 0; r < T_ROWS; r++)
        rows[r] = (trow){r * 3, {r + 0.25, -r - 0.5, r * 1e-3}};
    for (r = 0; r < U_ROWS; r++)
        u[r] = r * 7 - 3000;
    for (r = 0; r < 12; r++)
        c[r / 3][r % 3] = (float)r / 4.0F;
    H5Tinsert(rt, "index", HOFFSET(trow, index), H5T_NATIVE_INT64);
    H5Tinsert(rt, "values_block_0", HOFFSET(trow, v), at);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 6);
    dset_write(g, "t", rt, rt, 1, dims, dcpl, rows);
    H5Pclose(dcpl);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &one); /* 1000 chunks: a B-tree of two levels */
    dset_write(g, "u", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, big, dcpl, u);
    H5Pclose(dcpl);
    dims[0] = 4;
    dset_write(g, "c", H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, 2, dims, H5P_DEFAULT, c);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_COMPACT);
    dims[0] = 5;
    dset_write(g, "k", H5T_STD_I8LE, H5T_NATIVE_INT8, 1, dims, dcpl, k);
    H5Pclose(dcpl);
    H5Tset_size(s, 6);
    dims[0] = 3;
    dset_write(g, "str", s, s, 1, dims, H5P_DEFAULT, "a\0\0\0\0\0bb\0\0\0\0cccccc");
    H5Tclose(s);
    H5Tclose(at);
    H5Tclose(rt);
}

/* libver: H5F_LIBVER_EARLIEST (what PyTables writes) or H5F_LIBVER_V18. */
static char *write_fixture(const tu_dir_fx *x, const char *name, H5F_libver_t libver)
{
    char *path = tu_path(x->dir, name), sub[16];
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f, g;
    int i;

    H5Pset_libver_bounds(fapl, libver, H5F_LIBVER_LATEST == libver ? libver : H5F_LIBVER_V18);
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    assert_true(f >= 0);
    write_attrs(f);
    g = H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    write_datasets(g);
    H5Gclose(g);
    g = H5Gcreate2(f, "many", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (i = 0; i < MANY; i++) {
        snprintf(sub, sizeof(sub), "m%02d", i);
        H5Gclose(H5Gcreate2(g, sub, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    }
    H5Gclose(g);
    H5Fclose(f);
    H5Pclose(fapl);
    return path;
}

/* ---- reading them back ---- */

typedef struct got {
    char s[8];
    int64_t i, k[5], u[U_ROWS];
    double x, c[12];
    int null_n;
    trow t[T_ROWS];
    char str[3][8];
    int many;
} got;

/* Every row of dataset name in g, in the file's types, into a new buffer (caller frees). */
static int rows_of(h5r_file *f, const h5r_obj *g, const char *name, h5r_dset **d, uint8_t **buf,
                   vas_err *e)
{
    h5r_obj o = {0};
    int rc = h5r_child(f, g, name, &o, e);

    *buf = NULL;
    if (rc == VAS_OK)
        rc = h5r_dset_open(f, &o, d, e);
    h5r_obj_free(&o);
    if (rc < 0)
        return rc;
    if (h5r_dset_space(*d)->dims[0] > U_ROWS || h5r_dset_row_size(*d) > 4096)
        return err_set(e, VAS_EINVAL, "%s: more rows than written", name); /* a damaged copy */
    *buf = malloc(h5r_dset_space(*d)->dims[0] * h5r_dset_row_size(*d) + 1);
    if (!*buf)
        return err_set(e, VAS_ENOMEM, "out of memory");
    return h5r_dset_rows(*d, 0, h5r_dset_space(*d)->dims[0], *buf, e);
}

static int read_t(h5r_file *f, const h5r_obj *g, got *out, vas_err *e)
{
    h5r_dset *d = NULL;
    uint8_t *b = NULL;
    int rc = rows_of(f, g, "t", &d, &b, e), r, j;
    const h5r_dtype *t = rc == VAS_OK ? h5r_dset_type(d) : NULL;

    if (rc == VAS_OK && (t->node[0].cls != H5R_COMPOUND || t->node[0].n != 2 ||
                         h5r_dset_space(d)->dims[0] != T_ROWS))
        rc = err_set(e, VAS_EINVAL, "t: not the table written");
    for (r = 0; rc == VAS_OK && r < T_ROWS; r++) {
        const uint8_t *row = b + (size_t)r * h5r_dset_row_size(d);
        const h5r_type *ix = &t->node[t->node[0].first], *v = &t->node[t->node[0].first + 1];
        h5r_get_i64(ix, row + ix->offset, &out->t[r].index);
        for (j = 0; j < 3; j++)
            h5r_get_f64(&t->node[v->first], row + v->offset + 8 * j, &out->t[r].v[j]);
    }
    free(b);
    h5r_dset_free(d);
    return rc;
}

/* Integers (or floats, when dbl) of dataset name, n of them at most. */
static int read_numbers(h5r_file *f, const h5r_obj *g, const char *name, int64_t *iv, double *dv,
                        size_t n, vas_err *e)
{
    h5r_dset *d = NULL;
    uint8_t *b = NULL;
    int rc = rows_of(f, g, name, &d, &b, e);
    size_t i, es = rc == VAS_OK ? h5r_dset_type(d)->node[0].size : 1;
    size_t total = rc == VAS_OK ? h5r_dset_space(d)->n : 0;

    if (rc == VAS_OK && total != n)
        rc = err_set(e, VAS_EINVAL, "%s: %zu values, not %zu", name, total, n);
    for (i = 0; rc == VAS_OK && i < n; i++)
        if (iv ? h5r_get_i64(&h5r_dset_type(d)->node[0], b + i * es, &iv[i])
               : h5r_get_f64(&h5r_dset_type(d)->node[0], b + i * es, &dv[i]))
            rc = err_set(e, VAS_EINVAL, "%s: not numbers", name);
    free(b);
    h5r_dset_free(d);
    return rc;
}

static int count_fn(const char *name, size_t len, uint64_t addr, void *arg)
{
    (void)name;
    (void)len;
    (void)addr;
    ++*(int *)arg;
    return 0;
}

static int read_root_attrs(h5r_file *f, const h5r_obj *root, got *out, vas_err *e)
{
    h5r_attr a;
    int rc = h5r_attr_get(f, root, "s", &a, e);

    if (rc == VAS_OK && a.type.node[0].cls == H5R_STRING && a.type.node[0].size < 8)
        memcpy(out->s, a.data, a.type.node[0].size);
    if (rc == VAS_OK && (rc = h5r_attr_get(f, root, "i", &a, e)) == VAS_OK &&
        h5r_get_i64(&a.type.node[0], a.data, &out->i) < 0)
        rc = err_set(e, VAS_EINVAL, "i is not an integer");
    if (rc == VAS_OK && (rc = h5r_attr_get(f, root, "x", &a, e)) == VAS_OK &&
        h5r_get_f64(&a.type.node[0], a.data, &out->x) < 0)
        rc = err_set(e, VAS_EINVAL, "x is not a number");
    if (rc == VAS_OK && (rc = h5r_attr_get(f, root, "n", &a, e)) == VAS_OK)
        out->null_n = a.space.kind == H5R_NULL ? 0 : 1;
    return rc;
}

/* Everything in a fixture, through the reader's whole API. The first error, if any. */
static int read_all(h5r_file *f, got *out, vas_err *e)
{
    h5r_obj root = {0}, g = {0}, m = {0};
    h5r_dset *d = NULL;
    uint8_t *b = NULL;
    int rc = h5r_root(f, &root, e), i;

    if (rc == VAS_OK)
        rc = read_root_attrs(f, &root, out, e);
    if (rc == VAS_OK)
        rc = h5r_child(f, &root, "g", &g, e);
    if (rc == VAS_OK)
        rc = read_t(f, &g, out, e);
    if (rc == VAS_OK)
        rc = read_numbers(f, &g, "u", out->u, NULL, U_ROWS, e);
    if (rc == VAS_OK)
        rc = read_numbers(f, &g, "c", NULL, out->c, 12, e);
    if (rc == VAS_OK)
        rc = read_numbers(f, &g, "k", out->k, NULL, 5, e);
    if (rc == VAS_OK && (rc = rows_of(f, &g, "str", &d, &b, e)) == VAS_OK &&
        h5r_dset_row_size(d) == 6 && h5r_dset_space(d)->dims[0] == 3)
        for (i = 0; i < 3; i++)
            memcpy(out->str[i], b + 6 * i, 6);
    if (rc == VAS_OK)
        rc = h5r_child(f, &root, "many", &m, e);
    if (rc == VAS_OK)
        rc = h5r_links(f, &m, count_fn, &out->many, e);
    free(b);
    h5r_dset_free(d);
    h5r_obj_free(&m);
    h5r_obj_free(&g);
    h5r_obj_free(&root);
    return rc;
}

static void assert_got(const got *g)
{
    int r;

    assert_string_equal(g->s, "hello");
    assert_int_equal(g->i, -1234);
    assert_true(g->x == 1.5);
    assert_int_equal(g->null_n, 0);
    for (r = 0; r < T_ROWS; r++) {
        assert_int_equal(g->t[r].index, r * 3);
        assert_true(g->t[r].v[0] == r + 0.25 && g->t[r].v[1] == -r - 0.5 &&
                    g->t[r].v[2] == r * 1e-3);
    }
    for (r = 0; r < U_ROWS; r++)
        assert_int_equal(g->u[r], r * 7 - 3000);
    for (r = 0; r < 12; r++)
        assert_true(g->c[r] == r / 4.0);
    assert_int_equal(g->k[0], -5);
    assert_int_equal(g->k[4], 127);
    assert_string_equal(g->str[0], "a");
    assert_string_equal(g->str[1], "bb");
    assert_string_equal(g->str[2], "cccccc");
}

/* The fixture in libver's format read whole: want_rc, and needle in the message if any. */
static void read_fixture(const tu_dir_fx *x, H5F_libver_t libver, int want_rc, const char *needle)
{
    char *path = write_fixture(x, "f.h5", libver);
    h5r_file *f = NULL;
    static got g;
    vas_err e = {0};

    memset(&g, 0, sizeof(g));
    assert_int_equal(h5r_open(path, &f, &e), VAS_OK);
    if (read_all(f, &g, &e) != want_rc)
        fail_msg("%s", e.msg);
    if (needle) {
        print_message("  %s\n", e.msg);
        assert_non_null(strstr(e.msg, needle));
    }
    if (want_rc == VAS_OK || libver != H5F_LIBVER_LATEST)
        assert_got(&g);
    if (want_rc == VAS_OK)
        assert_int_equal(g.many, MANY); /* 40 groups: a B-tree of several symbol nodes */
    h5r_close(f);
    free(path);
}

static void reads_libhdf5_default_format(void **state)
{
    read_fixture(*state, H5F_LIBVER_EARLIEST, VAS_OK, NULL);
}

/* HDF5 1.8's format: superblock 2, object header 2, links in the header. A group of MANY links
 * is stored densely (a fractal heap): refused by name, after all the rest was read. */
static void reads_hdf5_1_8_format(void **state)
{
    read_fixture(*state, H5F_LIBVER_V18, VAS_EUNSUPPORTED, "dense link storage");
}

/* HDF5 1.10's chunk indexes (layout version 4): refused by name. */
static void refuses_newest_chunk_index(void **state)
{
    read_fixture(*state, H5F_LIBVER_LATEST, VAS_EUNSUPPORTED, "1.10's newest format, which vas");
}

/* ---- malformed files ---- */

/* Every step-th prefix and every step-th byte flipped: an error with a message, or (when the
 * damage missed everything read) the right values. Never a crash, never an endless walk. */
static void sweep(const tu_dir_fx *x, H5F_libver_t libver, int want_rc)
{
    char *path = write_fixture(x, "sweep.h5", libver);
    size_t n = 0, at, step;
    uint8_t *data = (uint8_t *)tu_read_file(path, &n);
    static got g;
    int pass, refused = 0, same = 0;

    assert_non_null(data);
    step = n / 2000 + 1;
    for (pass = 0; pass < 3; pass++)
        for (at = pass ? (size_t)pass : 0; at < n; at += step) {
            h5r_file *f = NULL;
            vas_err e = {0};
            uint8_t old = data[at];
            int rc;
            if (pass)
                data[at] = pass == 1 ? (uint8_t)(old ^ 0xff) : (uint8_t)(old + 1);
            rc = h5r_open_mem(data, pass ? n : at, "bad.h5", &f, &e);
            if (rc == VAS_OK) {
                memset(&g, 0, sizeof(g));
                rc = read_all(f, &g, &e);
            }
            data[at] = old;
            h5r_close(f);
            if (rc == want_rc && !pass)
                assert_got(&g); /* a cut that left everything read */
            if (rc == want_rc) {
                same++;
                continue;
            }
            if (!e.msg[0])
                fail_msg("offset %zu pass %d: error %d without a message", at, pass, rc);
            refused++;
        }
    print_message("  %zu bytes: %d damaged copies refused, %d read as before\n", n, refused, same);
    assert_true(refused > 0);
    free(data);
    free(path);
}

static void sweeps_default_format(void **state)
{
    sweep(*state, H5F_LIBVER_EARLIEST, VAS_OK);
}

static void sweeps_hdf5_1_8_format(void **state)
{
    sweep(*state, H5F_LIBVER_V18, VAS_EUNSUPPORTED);
}

/* A hand-made file: superblock 0 (8-byte offsets and lengths), root object header (version
 * 1) at 96 with its messages from 112. */
enum { SYN_MAX = 1 << 17, ROOT = 96 };

typedef struct syn {
    uint8_t b[SYN_MAX];
    size_t n;
} syn;

static void put(syn *s, size_t at, uint64_t v, int w)
{
    int i;

    assert_true(at + (size_t)w <= SYN_MAX);
    for (i = 0; i < w; i++)
        s->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
    if (at + (size_t)w > s->n)
        s->n = at + (size_t)w;
}

static void put_bytes(syn *s, size_t at, const void *p, size_t n)
{
    assert_true(at + n <= SYN_MAX);
    memcpy(s->b + at, p, n);
    if (at + n > s->n)
        s->n = at + n;
}

/* Superblock and a root header of size bytes of messages (written by the caller at 112). */
static void syn_start(syn *s, uint32_t size)
{
    memset(s, 0, sizeof(*s));
    put_bytes(s, 0, "\x89HDF\r\n\x1a\n", 8);
    put(s, 13, 8, 1); /* size of offsets */
    put(s, 14, 8, 1); /* size of lengths */
    put(s, 16, 4, 2);
    put(s, 18, 16, 2);
    put(s, 24, 0, 8);          /* base address */
    put(s, 32, UINT64_MAX, 8); /* free space */
    put(s, 40, SYN_MAX, 8);    /* end of file */
    put(s, 48, UINT64_MAX, 8); /* driver info */
    put(s, 64, ROOT, 8);       /* root entry: object header */
    put(s, ROOT, 1, 1);        /* version 1 */
    put(s, ROOT + 4, 1, 4);    /* reference count */
    put(s, ROOT + 8, size, 4);
}

/* A version 1 message at at: header and body; the next message's offset. */
static size_t syn_msg(syn *s, size_t at, int type, const void *body, size_t len)
{
    size_t padded = (len + 7) / 8 * 8;

    put(s, at, (uint64_t)type, 2);
    put(s, at + 2, padded, 2);
    put_bytes(s, at + 8, body, len);
    if (at + 8 + padded > s->n)
        s->n = at + 8 + padded;
    return at + 8 + padded;
}

/* Opens s and reads the root, its links and its dataset (when it has one): must fail with
 * VAS_EINVAL or VAS_EUNSUPPORTED and a message holding needle, within seconds. */
static void syn_fails(const syn *s, const char *needle)
{
    h5r_file *f = NULL;
    h5r_obj root = {0};
    h5r_dset *d = NULL;
    h5r_attr a;
    vas_err e = {0};
    int n = 0, rc = h5r_open_mem(s->b, SYN_MAX, "hand.h5", &f, &e);
    clock_t t0 = clock();

    if (rc == VAS_OK)
        rc = h5r_root(f, &root, &e);
    if (rc == VAS_OK && h5r_is_group(&root))
        rc = h5r_links(f, &root, count_fn, &n, &e);
    else if (rc == VAS_OK && (rc = h5r_attr_get(f, &root, "a", &a, &e)) == VAS_ENOTFOUND)
        rc = h5r_dset_open(f, &root, &d, &e);
    if (rc == VAS_OK && d) { /* the hand-made datasets are small */
        uint8_t buf[4096];
        assert_true(h5r_dset_space(d)->dims[0] * h5r_dset_row_size(d) <= sizeof(buf));
        rc = h5r_dset_rows(d, 0, h5r_dset_space(d)->dims[0], buf, &e);
    }
    print_message("  %s\n", e.msg);
    assert_true(rc == VAS_EINVAL || rc == VAS_EUNSUPPORTED);
    if (!strstr(e.msg, needle))
        fail_msg("\"%s\" lacks \"%s\"", e.msg, needle);
    assert_true(clock() - t0 < 5 * CLOCKS_PER_SEC);
    h5r_dset_free(d);
    h5r_obj_free(&root);
    h5r_close(f);
}

static const uint8_t F64[20] = {0x11, 0x20, 0x3f, 0,  8, 0,  0,    0,    0, 0,
                                64,   0,    52,   11, 0, 52, 0xff, 0x03, 0, 0};
static const uint8_t I8[12] = {0x10, 0x08, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0};

/* A dataspace message body (version 1, rank 1). */
static size_t space_msg(syn *s, size_t at, uint64_t dim)
{
    uint8_t b[16] = {1, 1};

    memcpy(b + 8, &dim, 8); /* little-endian host: x86-64 and arm64 */
    return syn_msg(s, at, 0x01, b, sizeof(b));
}

/* A chunked layout (version 3) of rows x 1-byte elements, its B-tree at tree. */
static size_t chunked_msg(syn *s, size_t at, uint64_t tree, uint32_t rows)
{
    uint8_t b[19] = {3, 2, 2};

    memcpy(b + 3, &tree, 8);
    memcpy(b + 11, &rows, 4);
    b[15] = 1;
    return syn_msg(s, at, 0x08, b, sizeof(b));
}

/* A chunk B-tree node at at: level, n entries (offset row_of(i), child child(i)), 1-D. */
static void chunk_node(syn *s, size_t at, int level, int n, const uint64_t *rows,
                       const uint64_t *child, uint32_t size)
{
    int i;

    put_bytes(s, at, "TREE", 4);
    put(s, at + 4, 1, 1);
    put(s, at + 5, (uint64_t)level, 1);
    put(s, at + 6, (uint64_t)n, 2);
    put(s, at + 8, UINT64_MAX, 8);
    put(s, at + 16, UINT64_MAX, 8);
    for (i = 0; i <= n; i++) { /* key: size, mask, offsets (row, element); then the child */
        size_t k = at + 24 + (size_t)i * 32;
        put(s, k, size, 4);
        put(s, k + 8, i < n ? rows[i] : 1000, 8);
        if (i < n)
            put(s, k + 24, child[i], 8);
    }
}

static void refuses_continuation_loop(void **state)
{
    static syn s;
    uint8_t cont[16];
    uint64_t addr = 112, len = 24;

    (void)state;
    syn_start(&s, 24);
    memcpy(cont, &addr, 8);
    memcpy(cont + 8, &len, 8);
    syn_msg(&s, 112, 0x10, cont, sizeof(cont)); /* continues with itself */
    syn_fails(&s, "too many continuation blocks");
}

/* A group B-tree at 400 whose heap is at 300 (16 bytes of names, all empty). */
static void group_at(syn *s)
{
    uint8_t stab[16];
    uint64_t tree = 400, heap = 300;

    syn_start(s, 24);
    memcpy(stab, &tree, 8);
    memcpy(stab + 8, &heap, 8);
    syn_msg(s, 112, 0x11, stab, sizeof(stab));
    put_bytes(s, 300, "HEAP", 4);
    put(s, 308, 16, 8);
    put(s, 316, UINT64_MAX, 8);
    put(s, 324, 340, 8);
    put(s, 340, 0, 8);
}

static void group_node(syn *s, size_t at, int level, int n, uint64_t child)
{
    int i;

    put_bytes(s, at, "TREE", 4);
    put(s, at + 5, (uint64_t)level, 1);
    put(s, at + 6, (uint64_t)n, 2);
    put(s, at + 8, UINT64_MAX, 8);
    put(s, at + 16, UINT64_MAX, 8);
    for (i = 0; i < n; i++)
        put(s, at + 24 + (size_t)i * 16 + 8, child, 8);
    put(s, at + 24 + (size_t)n * 16, 0, 8);
}

static void refuses_group_btree_loops(void **state)
{
    static syn s;
    int level;
    size_t at = 400, size = 24 + 200 * 16 + 8;

    (void)state;
    group_at(&s);
    group_node(&s, 400, 1, 1, 400); /* its own child */
    syn_fails(&s, "bad level");
    group_at(&s); /* 17 levels of 200 entries, each pointing at the next level: 200^16 paths */
    for (level = 16; level >= 0; level--, at += size)
        group_node(&s, at, level, 200, level ? at + size : 60000);
    put_bytes(&s, 60000, "SNOD\x01", 5);
    put(&s, 60006, 1, 2);
    put(&s, 60016, ROOT, 8);
    syn_fails(&s, "too large or loops");
}

static void refuses_chunk_btree_loops(void **state)
{
    static syn s;
    static const uint64_t zero[2] = {0, 0}, self[1] = {600}, data[2] = {900, 900};
    size_t at;

    (void)state;
    syn_start(&s, 96);
    at = space_msg(&s, 112, 10);
    at = syn_msg(&s, at, 0x03, I8, sizeof(I8));
    chunked_msg(&s, at, 600, 5);
    chunk_node(&s, 600, 1, 1, zero, self, 5);
    syn_fails(&s, "bad level");
    chunk_node(&s, 600, 0, 2, zero, data, 5);
    syn_fails(&s, "listed twice");
}

static void refuses_huge_sizes(void **state)
{
    static syn s;
    uint8_t attr[48] = {1, 0, 2, 0, 12, 0, 16, 0, 'a'}, lay[18] = {3, 1};
    uint64_t big = (uint64_t)1 << 40;
    size_t at;

    (void)state;
    syn_start(&s, 0xffffffffu);
    syn_fails(&s, "runs past the end of the file");
    syn_start(&s, 64); /* an attribute of 2^40 int64 in a 48-byte message */
    memcpy(attr + 16, I8, sizeof(I8));
    attr[20] = 8;
    attr[26] = 64;
    attr[32] = 1;
    attr[33] = 1;
    memcpy(attr + 40, &big, 8);
    syn_msg(&s, 112, 0x0C, attr, sizeof(attr));
    syn_fails(&s, "runs past its message");
    syn_start(&s, 96); /* 2^62 doubles */
    at = space_msg(&s, 112, (uint64_t)1 << 62);
    at = syn_msg(&s, at, 0x03, F64, sizeof(F64));
    syn_msg(&s, at, 0x08, lay, sizeof(lay));
    syn_fails(&s, "impossibly large");
    syn_start(&s, 96); /* 2^40 doubles, said to be stored at 0 */
    at = space_msg(&s, 112, big);
    at = syn_msg(&s, at, 0x03, F64, sizeof(F64));
    big *= 8;
    memcpy(lay + 10, &big, 8);
    syn_msg(&s, at, 0x08, lay, sizeof(lay));
    syn_fails(&s, "outside the file");
}

static void refuses_deep_types(void **state)
{
    static syn s;
    uint8_t t[10 * 13 + 12];
    int i;

    (void)state;
    for (i = 0; i < 10; i++) { /* array [1] of array [1] of ... of int8 */
        uint8_t a[13] = {0x3a, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0};
        memcpy(t + 13 * i, a, sizeof(a));
    }
    memcpy(t + 130, I8, sizeof(I8));
    syn_start(&s, 200);
    syn_msg(&s, syn_msg(&s, space_msg(&s, 112, 1), 0x03, t, sizeof(t)), 0x08, "\3\0\1\0\0", 5);
    syn_fails(&s, "nested over 8 deep");
}

/* Filters: a deflated chunk that inflates past its size; filters vas lacks, by name. */
static void refuses_bad_and_unknown_filters(void **state)
{
    static syn s;
    static uint8_t zeros[65536], z[1024];
    static const uint64_t row0[1] = {0}, at900[1] = {900};
    uint8_t pipe[24] = {1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 6};
    uLongf zn = sizeof(z);
    size_t at;

    (void)state;
    assert_int_equal(compress2(z, &zn, zeros, sizeof(zeros), 9), Z_OK);
    syn_start(&s, 144);
    at = space_msg(&s, 112, 10);
    at = syn_msg(&s, at, 0x03, I8, sizeof(I8));
    at = syn_msg(&s, at, 0x0B, pipe, sizeof(pipe));
    chunked_msg(&s, at, 600, 5);
    chunk_node(&s, 600, 0, 1, row0, at900, (uint32_t)zn);
    put_bytes(&s, 900, z, zn);
    syn_fails(&s, "does not inflate to its size");
    pipe[8] = 0x01; /* id 32001 */
    pipe[9] = 0x7d;
    syn_msg(&s, 112 + 24 + 24, 0x0B, pipe, sizeof(pipe));
    syn_fails(&s, "the Blosc filter, which vas does not read");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_libhdf5_default_format, tu_dir_setup,
                                        tu_dir_teardown),
        cmocka_unit_test_setup_teardown(reads_hdf5_1_8_format, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(refuses_newest_chunk_index, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(sweeps_default_format, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(sweeps_hdf5_1_8_format, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test(refuses_continuation_loop),
        cmocka_unit_test(refuses_group_btree_loops),
        cmocka_unit_test(refuses_chunk_btree_loops),
        cmocka_unit_test(refuses_huge_sizes),
        cmocka_unit_test(refuses_deep_types),
        cmocka_unit_test(refuses_bad_and_unknown_filters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
