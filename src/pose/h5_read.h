/* h5_read.h - a bounded reader of the HDF5 file format, for untrusted files: groups, attributes
 * and datasets as pandas/PyTables and libhdf5 (default settings) write them. No libhdf5.
 * Not: pandas' layout on top (dlc_read_h5.c); writing (dlc_h5.c, libhdf5).
 * Threads: an h5r_file and what it hands out belong to one thread.
 *
 * DESIGN: the whole file is read into memory (at most H5R_FILE_MAX bytes) and every address,
 * size and count read from it is checked against the file's length and a limit before use, so
 * no input makes the reader read outside the image, allocate more than the file justifies or
 * loop: B-tree levels must fall by one per step, continuation blocks and messages are counted,
 * and all walking spends a per-file step budget (H5R_STEPS). In scope (what HDF5 1.8-1.14 write
 * by default and with h5py/PyTables' usual options): superblock versions 0 to 3; object headers
 * 1 and 2 with their continuation blocks; groups as symbol tables (v1 B-tree, local heap,
 * symbol nodes) or compact link messages; attributes stored in the header; fixed-point,
 * IEEE floating-point, fixed-size string, compound and array datatypes; scalar, simple and null
 * dataspaces; compact, contiguous and chunked (v1 B-tree index) layouts; the deflate and
 * shuffle filters. Anything else is refused by name ("<file> uses <feature>, which vas does
 * not read", VAS_EUNSUPPORTED); a malformed file is "<file> is a damaged HDF5 file: <what>"
 * (VAS_EINVAL). Checksums of version 2 structures are not verified: the bounds checks, not the
 * checksums, are what keep a damaged file harmless. */
#ifndef VAS_H5_READ_H
#define VAS_H5_READ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define H5R_FILE_MAX   ((uint64_t)2 << 30) /* bytes of a file read */
#define H5R_RANK_MAX   4                   /* dimensions of a dataspace */
#define H5R_TYPE_NODES 64                  /* datatype nodes (compound members, arrays) */

typedef struct h5r_file h5r_file;

enum { H5R_INT = 1, H5R_FLOAT, H5R_STRING, H5R_COMPOUND, H5R_ARRAY };

/* One datatype node. Scalars: cls, size, big_endian, is_signed. A compound's members are the
 * nodes [first, first + n) of its h5r_dtype, each with name and offset; an array's element is
 * node first, count of them. */
typedef struct h5r_type {
    int cls;          /* H5R_INT ... H5R_ARRAY */
    uint32_t size;    /* bytes of one value, >= 1 */
    int big_endian;   /* numbers: byte order */
    int is_signed;    /* H5R_INT */
    const char *name; /* compound member: NUL-terminated, borrowed from the file image */
    uint32_t offset;  /* compound member: byte offset in its compound */
    int first, n;     /* compound: members; array: element node (n = 1) */
    uint64_t count;   /* array: elements */
} h5r_type;

typedef struct h5r_dtype {
    h5r_type node[H5R_TYPE_NODES]; /* node[0] is the type */
    int n;                         /* nodes used */
} h5r_dtype;

enum { H5R_SCALAR = 0, H5R_SIMPLE = 1, H5R_NULL = 2 };

typedef struct h5r_space {
    int kind;                    /* H5R_SCALAR, H5R_SIMPLE or H5R_NULL */
    int rank;                    /* H5R_SIMPLE: 1..H5R_RANK_MAX */
    uint64_t dims[H5R_RANK_MAX]; /* current extent */
    uint64_t n;                  /* elements: 1 scalar, 0 null, product of dims */
} h5r_space;

/* A message in an object header: a view into the file image. */
typedef struct h5r_msg {
    int type;
    int flags;
    const uint8_t *p;
    size_t len;
} h5r_msg;

/* An object (group or dataset) as its header says. Zero it before h5r_obj_at; h5r_obj_free. */
typedef struct h5r_obj {
    uint64_t addr; /* of its header, relative to the base address */
    h5r_msg *msg;  /* n_msg messages, in order (owned) */
    int n_msg, cap;
} h5r_obj;

/* An attribute: its type, space and n·size bytes of data (borrowed from the file image). */
typedef struct h5r_attr {
    h5r_dtype type;
    h5r_space space;
    const uint8_t *data;
} h5r_attr;

typedef struct h5r_dset h5r_dset;

/* Reads path (at most H5R_FILE_MAX bytes) and its superblock. New file in *out (caller frees:
 * h5r_close). VAS_ENOTFOUND/VAS_EIO when it cannot be read. */
int h5r_open(const char *path, h5r_file **out, vas_err *e);
/* The same over len bytes at buf (copied). name is for messages. */
int h5r_open_mem(const void *buf, size_t len, const char *name, h5r_file **out, vas_err *e);
void h5r_close(h5r_file *f);

/* The root group / the object whose header is at addr, into o (zeroed; h5r_obj_free). */
int h5r_root(h5r_file *f, h5r_obj *o, vas_err *e);
int h5r_obj_at(h5r_file *f, uint64_t addr, h5r_obj *o, vas_err *e);
void h5r_obj_free(h5r_obj *o);
/* 1 when o is a group (symbol table, links), else 0. */
int h5r_is_group(const h5r_obj *o);

/* Calls fn for each link of group g: its name (len bytes, not NUL-terminated, borrowed) and
 * target address; fn returns non-zero to stop. Soft and external links are skipped. */
typedef int (*h5r_link_fn)(const char *name, size_t len, uint64_t addr, void *arg);
int h5r_links(h5r_file *f, const h5r_obj *g, h5r_link_fn fn, void *arg, vas_err *e);
/* The object linked from g as name, into out (zeroed). VAS_ENOTFOUND when there is none. */
int h5r_child(h5r_file *f, const h5r_obj *g, const char *name, h5r_obj *out, vas_err *e);

/* Attribute name of o into a (data borrowed until h5r_close). VAS_ENOTFOUND when missing. */
int h5r_attr_get(h5r_file *f, const h5r_obj *o, const char *name, h5r_attr *a, vas_err *e);

/* Opens dataset o (borrowed; need not outlive the call): its type, space (rank 1 or 2), layout
 * and chunk index. New dataset in *out (caller frees: h5r_dset_free). */
int h5r_dset_open(h5r_file *f, const h5r_obj *o, h5r_dset **out, vas_err *e);
void h5r_dset_free(h5r_dset *d);
const h5r_dtype *h5r_dset_type(const h5r_dset *d);
const h5r_space *h5r_dset_space(const h5r_dset *d);
/* Bytes of one row: the type's size times the dimensions after the first. */
size_t h5r_dset_row_size(const h5r_dset *d);
/* Copies rows [start, start + n) in the file's own type and byte order to out (n row sizes).
 * Rows never written (libhdf5 would give fill values) are an error: pandas writes every row,
 * and a few bytes of file must not stand for a table of any size. */
int h5r_dset_rows(h5r_dset *d, uint64_t start, uint64_t n, void *out, vas_err *e);

/* Value at p (of type t: H5R_INT or H5R_FLOAT) as int64 / double. -1 for other classes. */
int h5r_get_i64(const h5r_type *t, const uint8_t *p, int64_t *v);
int h5r_get_f64(const h5r_type *t, const uint8_t *p, double *v);

#endif
