/* h5_read_int.h - inside the HDF5 reader: the file image, bounds-checked access to it and a
 * cursor for parsing structures, shared by h5_read.c (file, objects, groups, attributes,
 * types) and h5_read_data.c (layouts, chunks, filters, values). Not for other modules.
 * Threads: as h5_read.h. */
#ifndef VAS_H5_READ_INT_H
#define VAS_H5_READ_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pose/h5_read.h"

#define H5R_UNDEF  UINT64_MAX /* an undefined address (all bytes 0xff) */
#define H5R_STEPS  (1L << 21) /* nodes, entries and messages walked per file */
#define H5R_DEPTH  16         /* B-tree levels */
#define H5R_MSGS   4096       /* messages in one object header */
#define H5R_BLOCKS 64         /* continuation blocks of one object header */

struct h5r_file {
    char *name;    /* for messages */
    uint8_t *buf;  /* the whole file */
    uint64_t len;  /* its bytes */
    uint64_t base; /* base address: file offset of address 0 */
    int so, sl;    /* sizes of offsets and lengths: 2, 4 or 8 */
    uint64_t root; /* root group's object header */
    long steps;    /* budget left */
};

/* A parse position in [p, end): reads past end return 0 and set bad. */
typedef struct h5r_cur {
    const uint8_t *p, *end;
    int bad;
} h5r_cur;

static inline uint64_t h5r_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline h5r_cur h5r_cur_of(const uint8_t *p, size_t n)
{
    h5r_cur c = {p, p ? p + n : NULL, p == NULL};
    return c;
}

/* n bytes at the cursor (advanced), or NULL past the end. */
static inline const uint8_t *h5r_take(h5r_cur *c, size_t n)
{
    const uint8_t *p = c->p;

    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    c->p += n;
    return p;
}

/* An n-byte little-endian number (n <= 8). */
static inline uint64_t h5r_un(h5r_cur *c, int n)
{
    const uint8_t *p = h5r_take(c, (size_t)n);
    return p ? h5r_le(p, n) : 0;
}

/* An address (all ones: H5R_UNDEF) and a length. */
static inline uint64_t h5r_addr(h5r_cur *c, const h5r_file *f)
{
    uint64_t v = h5r_un(c, f->so);
    return f->so < 8 && v == (((uint64_t)1 << (8 * f->so)) - 1) ? H5R_UNDEF : v;
}

/* len bytes at address addr, or NULL when any of them is outside the file. */
const uint8_t *h5r_at(const h5r_file *f, uint64_t addr, uint64_t len);
/* VAS_EINVAL "<file> is a damaged HDF5 file: <what>". */
int h5r_damaged(const h5r_file *f, vas_err *e, const char *what);
/* VAS_EUNSUPPORTED "<file> uses <feature>, which vas does not read". */
int h5r_unsupported(const h5r_file *f, vas_err *e, const char *feature);
/* Spends n steps of the budget; VAS_EINVAL when it is spent. */
int h5r_spend(h5r_file *f, long n, vas_err *e);
/* The first message of type in o, or NULL. */
const h5r_msg *h5r_msg_find(const h5r_obj *o, int type);
/* Parses a datatype / dataspace message. */
int h5r_parse_type(h5r_file *f, const uint8_t *p, size_t len, h5r_dtype *t, vas_err *e);
int h5r_parse_space(h5r_file *f, const uint8_t *p, size_t len, h5r_space *s, vas_err *e);

#endif
