/* h5_read_data.c - the HDF5 reader's data: a dataset's layout (compact, contiguous, or chunked
 * with a v1 B-tree index), its filters (deflate, shuffle), its rows, and numbers converted to
 * int64 and double. Structure (objects, types): h5_read.c. Design and scope: h5_read.h.
 *
 * Chunked datasets are read by rows: each chunk must span whole rows (chunk dimensions after the
 * first at least the dataset's), which is how PyTables chunks tables and arrays of DeepLabCut's
 * sizes. The chunk index is read once into a sorted array, its size bounded by the B-tree's own
 * bytes in the file. Unfiltered chunks are read in place; one decoded chunk is kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pose/h5_read.h"
#include "pose/h5_read_int.h"

enum { MSG_SPACE = 0x01, MSG_TYPE = 0x03, MSG_LAYOUT = 0x08, MSG_FILTER = 0x0B };
enum { F_DEFLATE = 1, F_SHUFFLE = 2 };
enum { L_COMPACT = 0, L_CONTIGUOUS = 1, L_CHUNKED = 2 };

#define FILTERS_MAX 8
#define CHUNK_MAX   ((uint64_t)64 << 20) /* bytes of a decoded chunk, and of a row */

typedef struct chunk {
    uint64_t row;  /* first row */
    uint64_t addr; /* in the file */
    uint32_t size; /* bytes stored */
    uint32_t mask; /* filters skipped (bit i: filter i) */
} chunk;

struct h5r_dset {
    h5r_file *f; /* borrowed */
    h5r_dtype type;
    h5r_space space;
    size_t row_size;
    int layout;               /* L_* */
    const uint8_t *data;      /* compact, contiguous: all rows; NULL when never written */
    uint64_t tree;            /* chunked: B-tree address */
    uint64_t crows;           /* rows per chunk */
    size_t crow_size, cbytes; /* bytes of a row in a chunk; of a chunk */
    int filt[FILTERS_MAX];    /* filter ids, in the order they were applied */
    int n_filt;
    chunk *chunks; /* n_chunks, sorted by row */
    size_t n_chunks, cap;
    uint8_t *buf[2];      /* cbytes each: decoding */
    const uint8_t *cdata; /* the decoded chunk cur */
    size_t cur;           /* its index, or SIZE_MAX */
};

/* ---- filters ---- */

static const char *filter_name(int id)
{
    switch (id) {
    case 3:
        return "the fletcher32 checksum filter";
    case 4:
        return "the szip filter";
    case 5:
        return "the nbit filter";
    case 6:
        return "the scale-offset filter";
    case 307:
        return "the bzip2 filter";
    case 32000:
        return "the LZF filter";
    case 32001:
        return "the Blosc filter";
    case 32004:
        return "the LZ4 filter";
    case 32015:
        return "the Zstandard filter";
    default:
        return NULL;
    }
}

static int filters_parse(h5r_dset *d, const h5r_msg *m, vas_err *e)
{
    h5r_cur c = h5r_cur_of(m->p, m->len);
    int version = (int)h5r_un(&c, 1), n = (int)h5r_un(&c, 1), i;
    char what[80];

    h5r_take(&c, version == 1 ? 6 : 0);
    if (c.bad || (version != 1 && version != 2) || n > FILTERS_MAX)
        return h5r_damaged(d->f, e, "a filter pipeline is malformed");
    for (i = 0; i < n; i++) {
        int id = (int)h5r_un(&c, 2);
        size_t nlen = version == 1 || id >= 256 ? (size_t)h5r_un(&c, 2) : 0;
        size_t nv = (h5r_un(&c, 2), (size_t)h5r_un(&c, 2)); /* flags, client values */
        h5r_take(&c, version == 1 ? (nlen + 7) / 8 * 8 : nlen);
        h5r_take(&c, 4 * nv + (version == 1 && (nv & 1) ? 4 : 0));
        if (c.bad)
            return h5r_damaged(d->f, e, "a filter pipeline is cut short");
        if (id != F_DEFLATE && id != F_SHUFFLE) {
            if (filter_name(id))
                snprintf(what, sizeof(what), "%s", filter_name(id));
            else
                snprintf(what, sizeof(what), "compression filter %d", id);
            return h5r_unsupported(d->f, e, what);
        }
        d->filt[d->n_filt++] = id;
    }
    return VAS_OK;
}

static int inflate_to(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;
    int zr;

    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    zr = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    return zr == Z_STREAM_END && z.total_out == cap ? 0 : -1;
}

/* Undoes the shuffle filter: byte j of element i was stored at j·n + i. */
static void unshuffle(const uint8_t *in, uint8_t *out, size_t len, size_t es)
{
    size_t n = len / es, i, j;

    for (j = 0; j < es; j++)
        for (i = 0; i < n; i++)
            out[i * es + j] = in[j * n + i];
    memcpy(out + n * es, in + n * es, len - n * es);
}

/* Chunk k, decoded into d->cdata. */
static int chunk_load(h5r_dset *d, size_t k, vas_err *e)
{
    const chunk *ch = &d->chunks[k];
    const uint8_t *src = h5r_at(d->f, ch->addr, d->n_filt ? ch->size : d->cbytes);
    size_t len = d->n_filt ? ch->size : d->cbytes;
    int i, b = 0;

    if (!src)
        return h5r_damaged(d->f, e, "a chunk of data lies outside the file");
    if (d->n_filt && !d->buf[0]) { /* made on first use: an unfiltered chunk is read in place */
        d->buf[0] = malloc(d->cbytes);
        d->buf[1] = malloc(d->cbytes);
        if (!d->buf[0] || !d->buf[1])
            return err_set(e, VAS_ENOMEM, "out of memory reading %s", d->f->name);
    }
    for (i = d->n_filt - 1; i >= 0; i--) {
        if (ch->mask & (1u << i))
            continue;
        if (d->filt[i] == F_DEFLATE && inflate_to(src, len, d->buf[b], d->cbytes) < 0)
            return h5r_damaged(d->f, e, "a compressed chunk does not inflate to its size");
        if (d->filt[i] == F_SHUFFLE) {
            if (len != d->cbytes)
                return h5r_damaged(d->f, e, "a shuffled chunk has the wrong size");
            unshuffle(src, d->buf[b], len, d->type.node[0].size);
        }
        src = d->buf[b];
        len = d->cbytes;
        b = !b;
    }
    if (len != d->cbytes)
        return h5r_damaged(d->f, e, "a chunk has the wrong size");
    d->cdata = src;
    d->cur = k;
    return VAS_OK;
}

/* ---- the chunk index ---- */

static int chunk_add(h5r_dset *d, const uint8_t *key, uint64_t addr, vas_err *e)
{
    int rank = d->space.rank, i;
    chunk *c;

    for (i = 1; i <= rank; i++) /* whole rows: the other offsets, and the element's, are 0 */
        if (h5r_le(key + 8 + 8 * (size_t)i, 8) != 0)
            return h5r_damaged(d->f, e, "a chunk's offset is not on a row boundary");
    if (h5r_le(key + 8, 8) % d->crows != 0)
        return h5r_damaged(d->f, e, "a chunk's offset is not a multiple of its size");
    if (h5r_le(key + 8, 8) >= d->space.dims[0])
        return VAS_OK; /* beyond the current extent: never read */
    if (d->n_chunks == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        c = realloc(d->chunks, cap * sizeof(*c));
        if (!c)
            return err_set(e, VAS_ENOMEM, "out of memory reading %s", d->f->name);
        d->chunks = c;
        d->cap = cap;
    }
    c = &d->chunks[d->n_chunks++];
    c->size = (uint32_t)h5r_le(key, 4);
    c->mask = (uint32_t)h5r_le(key + 4, 4);
    c->row = h5r_le(key + 8, 8);
    c->addr = addr;
    return VAS_OK;
}

/* A node of the chunk B-tree at addr, of level want (-1: the root). */
static int ctree(h5r_dset *d, uint64_t addr, int want, vas_err *e)
{
    h5r_file *f = d->f;
    uint64_t head = 8 + 2 * (uint64_t)f->so, ks = 8 + 8 * ((uint64_t)d->space.rank + 1);
    uint64_t step = ks + (uint64_t)f->so, n, i;
    const uint8_t *p = h5r_at(f, addr, head);
    int level, rc;

    if (!p || memcmp(p, "TREE", 4) != 0 || p[4] != 1)
        return h5r_damaged(f, e, "a dataset's chunk B-tree node is missing");
    level = p[5];
    n = h5r_le(p + 6, 2);
    if ((want >= 0 && level != want) || level > H5R_DEPTH)
        return h5r_damaged(f, e, "a dataset's chunk B-tree has a bad level (a loop?)");
    p = h5r_at(f, addr, head + n * step + ks);
    if (!p)
        return h5r_damaged(f, e, "a chunk B-tree node runs past the end of the file");
    rc = h5r_spend(f, 1 + (long)n, e);
    for (i = 0; rc == VAS_OK && i < n; i++) {
        const uint8_t *key = p + head + i * step;
        h5r_cur c = h5r_cur_of(key + ks, (size_t)f->so);
        uint64_t child = h5r_addr(&c, f);
        rc = level ? ctree(d, child, level - 1, e) : chunk_add(d, key, child, e);
    }
    return rc;
}

static int chunk_cmp(const void *a, const void *b)
{
    uint64_t x = ((const chunk *)a)->row, y = ((const chunk *)b)->row;
    return x < y ? -1 : x > y;
}

static int chunks_read(h5r_dset *d, vas_err *e)
{
    size_t i;
    int rc = d->tree == H5R_UNDEF ? VAS_OK : ctree(d, d->tree, -1, e);

    if (rc < 0)
        return rc;
    if (d->n_chunks)
        qsort(d->chunks, d->n_chunks, sizeof(*d->chunks), chunk_cmp);
    for (i = 1; i < d->n_chunks; i++)
        if (d->chunks[i].row == d->chunks[i - 1].row)
            return h5r_damaged(d->f, e, "a chunk is listed twice");
    return VAS_OK;
}

/* ---- layout ---- */

/* Chunk dimensions dims[0..nd) (the last is the element size): whole rows, bounded. */
static int chunk_dims(h5r_dset *d, h5r_cur *c, int nd, vas_err *e)
{
    uint64_t dim[H5R_RANK_MAX + 1];
    int i, rank = d->space.rank;

    if (nd != rank + 1)
        return h5r_damaged(d->f, e, "a chunked layout does not match its dataspace");
    for (i = 0; i < nd; i++)
        dim[i] = h5r_un(c, 4);
    if (c->bad || dim[0] == 0 || dim[rank] != d->type.node[0].size)
        return h5r_damaged(d->f, e, "a chunked layout is malformed");
    if (rank == 2 && dim[1] < d->space.dims[1])
        return h5r_unsupported(d->f, e, "chunks that split rows");
    d->crows = dim[0];
    d->crow_size = rank == 2 ? (size_t)dim[1] * d->type.node[0].size : d->type.node[0].size;
    if (d->crows > CHUNK_MAX / d->crow_size)
        return h5r_unsupported(d->f, e, "chunks over 64 MiB");
    d->cbytes = (size_t)d->crows * d->crow_size;
    return VAS_OK;
}

static int layout_parse(h5r_dset *d, const h5r_msg *m, vas_err *e)
{
    h5r_file *f = d->f;
    h5r_cur c = h5r_cur_of(m->p, m->len);
    int version = (int)h5r_un(&c, 1), nd = 0;
    uint64_t addr = H5R_UNDEF, size = 0, need = d->space.n * d->type.node[0].size;

    if (version == 1 || version == 2) {
        nd = (int)h5r_un(&c, 1);
        d->layout = (int)h5r_un(&c, 1);
        h5r_take(&c, 5);
        addr = d->layout != L_COMPACT ? h5r_addr(&c, f) : H5R_UNDEF;
        if (d->layout == L_CHUNKED)
            d->tree = addr;
        else
            h5r_take(&c, 4 * (size_t)nd);
        size = d->layout == L_COMPACT ? h5r_un(&c, 4) : need;
    } else if (version == 3 || version == 4) {
        d->layout = (int)h5r_un(&c, 1);
        if (d->layout == L_CHUNKED && version == 4)
            return h5r_unsupported(f, e, "the chunk indexes of HDF5 1.10's newest format");
        size = d->layout == L_COMPACT ? h5r_un(&c, 2) : 0;
        addr = d->layout == L_CONTIGUOUS ? h5r_addr(&c, f) : H5R_UNDEF;
        size = d->layout == L_CONTIGUOUS ? h5r_un(&c, f->sl) : size;
        nd = d->layout == L_CHUNKED ? (int)h5r_un(&c, 1) : 0;
        d->tree = d->layout == L_CHUNKED ? h5r_addr(&c, f) : H5R_UNDEF;
    } else {
        return h5r_damaged(f, e, "a data layout has an unknown version");
    }
    if (c.bad || d->layout > L_CHUNKED)
        return c.bad ? h5r_damaged(f, e, "a data layout is cut short")
                     : h5r_unsupported(f, e, "virtual datasets");
    if (d->layout == L_CHUNKED)
        return chunk_dims(d, &c, nd, e);
    if (size < need)
        return h5r_damaged(f, e, "a dataset's storage is smaller than its data");
    if (d->layout == L_COMPACT)
        d->data = h5r_take(&c, (size_t)need);
    else if (addr != H5R_UNDEF)
        d->data = h5r_at(f, addr, need);
    if (!d->data && (d->layout == L_COMPACT || addr != H5R_UNDEF))
        return h5r_damaged(f, e, "a dataset's data lies outside the file");
    return VAS_OK;
}

/* ---- datasets ---- */

static int dset_parse(h5r_file *f, const h5r_obj *o, h5r_dset *d, vas_err *e)
{
    const h5r_msg *tm = h5r_msg_find(o, MSG_TYPE), *sm = h5r_msg_find(o, MSG_SPACE);
    const h5r_msg *lm = h5r_msg_find(o, MSG_LAYOUT), *fm = h5r_msg_find(o, MSG_FILTER);
    uint64_t size;
    int rc;

    if (!tm || !sm || !lm)
        return h5r_damaged(f, e, "a dataset lacks its type, dataspace or layout");
    if ((tm->flags | sm->flags | lm->flags | (fm ? fm->flags : 0)) & 2)
        return h5r_unsupported(f, e, "shared (committed) datatypes");
    rc = h5r_parse_type(f, tm->p, tm->len, &d->type, e);
    if (rc == VAS_OK)
        rc = h5r_parse_space(f, sm->p, sm->len, &d->space, e);
    if (rc < 0)
        return rc;
    if (d->space.kind != H5R_SIMPLE || d->space.rank > 2)
        return h5r_unsupported(f, e, "a dataset that is not a list or a table");
    size = d->type.node[0].size;
    if (d->space.rank == 2 && d->space.dims[1] > CHUNK_MAX / size)
        return h5r_unsupported(f, e, "rows over 64 MiB");
    d->row_size = (size_t)(d->space.rank == 2 ? d->space.dims[1] * size : size);
    if (d->row_size && d->space.dims[0] > (UINT64_MAX >> 1) / d->row_size)
        return h5r_damaged(f, e, "a dataset is impossibly large");
    if (fm)
        rc = filters_parse(d, fm, e);
    if (rc == VAS_OK)
        rc = layout_parse(d, lm, e);
    if (rc == VAS_OK && d->n_filt && d->layout != L_CHUNKED)
        rc = h5r_damaged(f, e, "a dataset has filters but no chunks");
    if (rc == VAS_OK && d->layout == L_CHUNKED)
        rc = chunks_read(d, e);
    return rc;
}

int h5r_dset_open(h5r_file *f, const h5r_obj *o, h5r_dset **out, vas_err *e)
{
    h5r_dset *d = calloc(1, sizeof(*d));
    int rc;

    if (!d)
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", f->name);
    d->f = f;
    d->tree = H5R_UNDEF;
    d->cur = SIZE_MAX;
    rc = dset_parse(f, o, d, e);
    if (rc < 0) {
        h5r_dset_free(d);
        return rc;
    }
    *out = d;
    return VAS_OK;
}

void h5r_dset_free(h5r_dset *d)
{
    if (!d)
        return;
    free(d->chunks);
    free(d->buf[0]);
    free(d->buf[1]);
    free(d);
}

const h5r_dtype *h5r_dset_type(const h5r_dset *d)
{
    return &d->type;
}

const h5r_space *h5r_dset_space(const h5r_dset *d)
{
    return &d->space;
}

size_t h5r_dset_row_size(const h5r_dset *d)
{
    return d->row_size;
}

/* The chunk holding row r, or SIZE_MAX when it was never written. */
static size_t chunk_find(const h5r_dset *d, uint64_t r)
{
    size_t lo = 0, hi = d->n_chunks;
    uint64_t first = r / d->crows * d->crows;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->chunks[mid].row < first)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n_chunks && d->chunks[lo].row == first ? lo : SIZE_MAX;
}

int h5r_dset_rows(h5r_dset *d, uint64_t start, uint64_t n, void *out, vas_err *e)
{
    uint8_t *o = out;
    uint64_t r, end = start + n;

    if (start > d->space.dims[0] || n > d->space.dims[0] - start)
        return err_set(e, VAS_EINVAL, "%s: rows %llu to %llu are past the end of a dataset",
                       d->f->name, (unsigned long long)start, (unsigned long long)end);
    if (d->layout != L_CHUNKED) {
        if (n && !d->data)
            return h5r_damaged(d->f, e, "a dataset's data was never written");
        if (n)
            memcpy(o, d->data + start * d->row_size, (size_t)n * d->row_size);
        return VAS_OK;
    }
    for (r = start; r < end; r++, o += d->row_size) {
        size_t k = chunk_find(d, r);
        int rc = k == SIZE_MAX ? h5r_damaged(d->f, e, "a chunk of a dataset's data is missing")
                 : k == d->cur ? VAS_OK
                               : chunk_load(d, k, e);
        if (rc < 0)
            return rc;
        memcpy(o, d->cdata + (size_t)(r - d->chunks[k].row) * d->crow_size, d->row_size);
    }
    return VAS_OK;
}

/* ---- values ---- */

static uint64_t raw(const h5r_type *t, const uint8_t *p)
{
    uint64_t u = 0;
    uint32_t i;

    for (i = 0; i < t->size; i++)
        u |= (uint64_t)p[t->big_endian ? t->size - 1 - i : i] << (8 * i);
    return u;
}

int h5r_get_i64(const h5r_type *t, const uint8_t *p, int64_t *v)
{
    uint64_t u;

    if (t->cls != H5R_INT)
        return -1;
    u = raw(t, p);
    if (t->is_signed && t->size < 8 && ((u >> (8 * t->size - 1)) & 1))
        u |= ~(uint64_t)0 << (8 * t->size);
    *v = (int64_t)u;
    return 0;
}

int h5r_get_f64(const h5r_type *t, const uint8_t *p, double *v)
{
    uint64_t u;
    int64_t i;

    if (t->cls == H5R_INT && h5r_get_i64(t, p, &i) == 0) {
        *v = t->is_signed || i >= 0 ? (double)i : (double)(uint64_t)i;
        return 0;
    }
    if (t->cls != H5R_FLOAT)
        return -1;
    u = raw(t, p);
    if (t->size == 4) {
        uint32_t w = (uint32_t)u;
        float x;
        memcpy(&x, &w, sizeof(x));
        *v = x;
    } else {
        memcpy(v, &u, sizeof(*v));
    }
    return 0;
}
