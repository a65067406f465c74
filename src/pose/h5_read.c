/* h5_read.c - the HDF5 reader's structure: the file image and its superblock, object headers
 * (versions 1 and 2, with continuation blocks), groups (symbol tables and link messages),
 * attributes, datatypes and dataspaces. Data (layouts, chunks, filters): h5_read_data.c.
 * Design and scope: h5_read.h. */
#include "pose/h5_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/h5_read_int.h"

/* Message types (HDF5 File Format Specification, IV.A.2). */
enum {
    MSG_LINFO = 0x02,
    MSG_LINK = 0x06,
    MSG_ATTR = 0x0C,
    MSG_CONT = 0x10,
    MSG_STAB = 0x11,
    MSG_AINFO = 0x15,
};

static const uint8_t SIG[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* ---- the file ---- */

const uint8_t *h5r_at(const h5r_file *f, uint64_t addr, uint64_t len)
{
    if (addr == H5R_UNDEF || addr > f->len || f->base > f->len - addr || len > f->len ||
        f->base + addr > f->len - len)
        return NULL;
    return f->buf + f->base + addr;
}

int h5r_damaged(const h5r_file *f, vas_err *e, const char *what)
{
    return err_set(e, VAS_EINVAL, "%s is a damaged HDF5 file: %s", f->name, what);
}

int h5r_unsupported(const h5r_file *f, vas_err *e, const char *feature)
{
    return err_set(e, VAS_EUNSUPPORTED, "%s uses %s, which vas does not read", f->name, feature);
}

int h5r_spend(h5r_file *f, long n, vas_err *e)
{
    f->steps -= n;
    if (f->steps < 0)
        return h5r_damaged(f, e, "its structure is too large or loops");
    return VAS_OK;
}

static int sizes_ok(int so, int sl)
{
    return (so == 2 || so == 4 || so == 8) && (sl == 2 || sl == 4 || sl == 8);
}

/* Superblock versions 0 and 1: the root group is in its symbol table entry. */
static int super_v01(h5r_file *f, h5r_cur *c, int version, vas_err *e)
{
    uint64_t base;

    h5r_take(c, 4); /* free space, root group and shared header versions, reserved */
    f->so = (int)h5r_un(c, 1);
    f->sl = (int)h5r_un(c, 1);
    h5r_take(c, 1 + 2 + 2 + 4 + (version == 1 ? 4 : 0)); /* reserved, K values, flags */
    if (c->bad || !sizes_ok(f->so, f->sl))
        return h5r_damaged(f, e, "its superblock is cut short or has bad sizes");
    base = h5r_addr(c, f);
    h5r_addr(c, f); /* free space info */
    h5r_addr(c, f); /* end of file */
    h5r_addr(c, f); /* driver info */
    h5r_addr(c, f); /* root entry: link name offset */
    f->root = h5r_addr(c, f);
    if (c->bad)
        return h5r_damaged(f, e, "its superblock is cut short");
    f->base = base == H5R_UNDEF ? f->base : base;
    return VAS_OK;
}

/* Superblock versions 2 and 3. */
static int super_v23(h5r_file *f, h5r_cur *c, vas_err *e)
{
    uint64_t base, ext;

    f->so = (int)h5r_un(c, 1);
    f->sl = (int)h5r_un(c, 1);
    h5r_take(c, 1); /* flags */
    if (c->bad || !sizes_ok(f->so, f->sl))
        return h5r_damaged(f, e, "its superblock is cut short or has bad sizes");
    base = h5r_addr(c, f);
    ext = h5r_addr(c, f);
    h5r_addr(c, f); /* end of file */
    f->root = h5r_addr(c, f);
    if (c->bad)
        return h5r_damaged(f, e, "its superblock is cut short");
    (void)ext; /* the extension holds file creation properties; nothing read needs them */
    f->base = base == H5R_UNDEF ? f->base : base;
    return VAS_OK;
}

/* The signature at 0, 512, 1024, ... (a user block may come first), then the superblock. */
static int super_read(h5r_file *f, vas_err *e)
{
    uint64_t at = 0;
    h5r_cur c;
    int version;

    while (at + sizeof(SIG) <= f->len && memcmp(f->buf + at, SIG, sizeof(SIG)) != 0)
        at = at ? at * 2 : 512;
    if (at + sizeof(SIG) > f->len)
        return err_set(e, VAS_EINVAL, "%s is not an HDF5 file (no signature)", f->name);
    f->base = at;
    c = h5r_cur_of(f->buf + at + sizeof(SIG), (size_t)(f->len - at - sizeof(SIG)));
    version = (int)h5r_un(&c, 1);
    if (c.bad)
        return h5r_damaged(f, e, "its superblock is cut short");
    if (version == 0 || version == 1)
        return super_v01(f, &c, version, e);
    if (version == 2 || version == 3)
        return super_v23(f, &c, e);
    return h5r_damaged(f, e, "its superblock has an unknown version");
}

int h5r_open_mem(const void *buf, size_t len, const char *name, h5r_file **out, vas_err *e)
{
    h5r_file *f = calloc(1, sizeof(*f));
    int rc;

    if (!f || !(f->name = strdup(name)) || !(f->buf = malloc(len ? len : 1))) {
        h5r_close(f);
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", name);
    }
    if (len)
        memcpy(f->buf, buf, len);
    f->len = len;
    f->steps = H5R_STEPS;
    rc = super_read(f, e);
    if (rc < 0) {
        h5r_close(f);
        return rc;
    }
    *out = f;
    return VAS_OK;
}

int h5r_open(const char *path, h5r_file **out, vas_err *e)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n = -1;
    int rc;

    if (!fp)
        return err_sys(e, errno == ENOENT ? VAS_ENOTFOUND : VAS_EIO, errno, "cannot open %s", path);
    if (fseek(fp, 0, SEEK_END) == 0)
        n = ftell(fp);
    if (n < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        rc = err_sys(e, VAS_EIO, errno, "cannot read %s", path);
        goto done;
    }
    if ((uint64_t)n > H5R_FILE_MAX) {
        rc = err_set(e, VAS_ETOOBIG, "%s is over %llu MiB, the most vas reads of an HDF5 file",
                     path, (unsigned long long)(H5R_FILE_MAX >> 20));
        goto done;
    }
    buf = malloc((size_t)n + 1);
    if (!buf) {
        rc = err_set(e, VAS_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        rc = err_sys(e, VAS_EIO, errno, "cannot read %s", path);
        goto done;
    }
    rc = h5r_open_mem(buf, (size_t)n, path, out, e);
done:
    free(buf);
    fclose(fp);
    return rc;
}

void h5r_close(h5r_file *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->buf);
    free(f);
}

/* ---- object headers ---- */

static int add_msg(h5r_file *f, h5r_obj *o, int type, int flags, const uint8_t *p, size_t len,
                   vas_err *e)
{
    if (o->n_msg == o->cap) {
        int cap = o->cap ? o->cap * 2 : 16;
        h5r_msg *m;
        if (cap > H5R_MSGS)
            return h5r_unsupported(f, e, "an object with over 4096 header messages");
        m = realloc(o->msg, (size_t)cap * sizeof(*m));
        if (!m)
            return err_set(e, VAS_ENOMEM, "out of memory reading %s", f->name);
        o->msg = m;
        o->cap = cap;
    }
    o->msg[o->n_msg].type = type;
    o->msg[o->n_msg].flags = flags;
    o->msg[o->n_msg].p = p;
    o->msg[o->n_msg].len = len;
    o->n_msg++;
    return h5r_spend(f, 1, e);
}

/* The messages of one block [p, p + n): version 1 (8-byte headers, 8-byte aligned) or 2. */
static int block_msgs(h5r_file *f, h5r_obj *o, int v2, int oflags, const uint8_t *p, size_t n,
                      vas_err *e)
{
    h5r_cur c = h5r_cur_of(p, n);
    size_t hdr = v2 ? 4 + ((oflags & 0x04) ? 2 : 0) : 8;
    int rc = VAS_OK;

    while (rc == VAS_OK && (size_t)(c.end - c.p) >= hdr) {
        int type = (int)h5r_un(&c, v2 ? 1 : 2);
        size_t len = (size_t)h5r_un(&c, 2);
        int flags = (int)h5r_un(&c, 1);
        const uint8_t *body;
        h5r_take(&c, hdr - (v2 ? 4 : 5));
        body = h5r_take(&c, len);
        if (!body)
            return h5r_damaged(f, e, "an object header message runs past its block");
        if (type != 0)
            rc = add_msg(f, o, type, flags, body, len, e);
    }
    return rc;
}

/* Reads the blocks of o: the first at (p, n), then each continuation found, in order. */
static int header_blocks(h5r_file *f, h5r_obj *o, int v2, int oflags, const uint8_t *p, size_t n,
                         vas_err *e)
{
    int blocks = 0, i = 0, rc = block_msgs(f, o, v2, oflags, p, n, e);

    for (; rc == VAS_OK && i < o->n_msg; i++) {
        h5r_cur c;
        uint64_t addr, len;
        const uint8_t *b;
        if (o->msg[i].type != MSG_CONT)
            continue;
        c = h5r_cur_of(o->msg[i].p, o->msg[i].len);
        addr = h5r_addr(&c, f);
        len = h5r_un(&c, f->sl);
        if (++blocks > H5R_BLOCKS)
            return h5r_damaged(f, e, "an object header has too many continuation blocks");
        if (c.bad || !(b = h5r_at(f, addr, len)) || (v2 && (len < 8 || memcmp(b, "OCHK", 4))))
            return h5r_damaged(f, e, "an object header continuation is outside the file");
        rc = v2 ? block_msgs(f, o, 1, oflags, b + 4, (size_t)len - 8, e)
                : block_msgs(f, o, 0, 0, b, (size_t)len, e);
    }
    return rc;
}

int h5r_obj_at(h5r_file *f, uint64_t addr, h5r_obj *o, vas_err *e)
{
    const uint8_t *p = h5r_at(f, addr, 16);
    h5r_cur c;
    uint64_t size;
    int flags, rc;

    o->addr = addr;
    if (!p)
        return h5r_damaged(f, e, "an object header is outside the file");
    if (p[0] == 1) { /* version 1: 16-byte prefix */
        c = h5r_cur_of(p + 8, 4);
        size = h5r_un(&c, 4);
        p = h5r_at(f, addr + 16, size);
        if (!p)
            return h5r_damaged(f, e, "an object header runs past the end of the file");
        rc = header_blocks(f, o, 0, 0, p, (size_t)size, e);
    } else if (memcmp(p, "OHDR", 4) == 0 && p[4] == 2) {
        uint64_t pre; /* signature, version, flags, times, phase change values */
        int w;
        flags = p[5];
        pre = 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
        w = 1 << (flags & 3);
        p = h5r_at(f, addr, pre + (uint64_t)w);
        if (!p)
            return h5r_damaged(f, e, "an object header is cut short");
        size = h5r_le(p + pre, w);
        p = h5r_at(f, addr + pre + (uint64_t)w, size);
        if (!p)
            return h5r_damaged(f, e, "an object header runs past the end of the file");
        rc = header_blocks(f, o, 1, flags, p, (size_t)size, e);
    } else {
        return h5r_damaged(f, e, "an address does not lead to an object header");
    }
    return rc;
}

int h5r_root(h5r_file *f, h5r_obj *o, vas_err *e)
{
    return h5r_obj_at(f, f->root, o, e);
}

void h5r_obj_free(h5r_obj *o)
{
    if (!o)
        return;
    free(o->msg);
    o->msg = NULL;
    o->n_msg = o->cap = 0;
}

const h5r_msg *h5r_msg_find(const h5r_obj *o, int type)
{
    int i;

    for (i = 0; i < o->n_msg; i++)
        if (o->msg[i].type == type)
            return &o->msg[i];
    return NULL;
}

int h5r_is_group(const h5r_obj *o)
{
    return h5r_msg_find(o, MSG_STAB) || h5r_msg_find(o, MSG_LINFO) || h5r_msg_find(o, MSG_LINK);
}

/* ---- groups ---- */

typedef struct walk {
    h5r_link_fn fn;
    void *arg;
    const uint8_t *heap; /* the local heap's data: link names */
    uint64_t heap_len;
    int stop;
} walk;

/* A symbol table node: its entries' names (in the heap) and object addresses. */
static int snod(h5r_file *f, uint64_t addr, walk *w, vas_err *e)
{
    const uint8_t *p = h5r_at(f, addr, 8);
    uint64_t ent = 2 * (uint64_t)f->so + 24, n, i;

    if (!p || memcmp(p, "SNOD", 4) != 0)
        return h5r_damaged(f, e, "a group's symbol node is missing");
    n = h5r_le(p + 6, 2);
    p = h5r_at(f, addr + 8, n * ent);
    if (!p)
        return h5r_damaged(f, e, "a group's symbol node runs past the end of the file");
    for (i = 0; i < n && !w->stop; i++) {
        h5r_cur c = h5r_cur_of(p + i * ent, (size_t)ent);
        uint64_t name = h5r_un(&c, f->so), obj = h5r_addr(&c, f);
        size_t len;
        if (name >= w->heap_len ||
            (len = strnlen((const char *)w->heap + name, (size_t)(w->heap_len - name))) ==
                w->heap_len - name)
            return h5r_damaged(f, e, "a link name is outside its group's heap");
        if (h5r_spend(f, 1, e) < 0)
            return VAS_EINVAL;
        w->stop = w->fn((const char *)w->heap + name, len, obj, w->arg);
    }
    return VAS_OK;
}

/* A node of a group's v1 B-tree at addr, of level want (-1: the root, any level). */
static int gtree(h5r_file *f, uint64_t addr, int want, walk *w, vas_err *e)
{
    uint64_t head = 8 + 2 * (uint64_t)f->so, step = (uint64_t)f->sl + (uint64_t)f->so, n, i;
    const uint8_t *p = h5r_at(f, addr, head);
    int level, rc = VAS_OK;

    if (!p || memcmp(p, "TREE", 4) != 0 || p[4] != 0)
        return h5r_damaged(f, e, "a group's B-tree node is missing");
    level = p[5];
    n = h5r_le(p + 6, 2);
    if ((want >= 0 && level != want) || level > H5R_DEPTH)
        return h5r_damaged(f, e, "a group's B-tree has a bad level (a loop?)");
    p = h5r_at(f, addr, head + n * step + (uint64_t)f->sl);
    if (!p)
        return h5r_damaged(f, e, "a group's B-tree node runs past the end of the file");
    if (h5r_spend(f, 1, e) < 0)
        return VAS_EINVAL;
    for (i = 0; rc == VAS_OK && i < n && !w->stop; i++) {
        h5r_cur c = h5r_cur_of(p + head + i * step + (uint64_t)f->sl, (size_t)f->so);
        uint64_t child = h5r_addr(&c, f);
        rc = level == 0 ? snod(f, child, w, e) : gtree(f, child, level - 1, w, e);
    }
    return rc;
}

/* An old-style group: B-tree + local heap (symbol table message). */
static int stab_walk(h5r_file *f, const h5r_msg *m, walk *w, vas_err *e)
{
    h5r_cur c = h5r_cur_of(m->p, m->len);
    uint64_t tree = h5r_addr(&c, f), heap = h5r_addr(&c, f);
    const uint8_t *h = h5r_at(f, heap, 8 + 2 * (uint64_t)f->sl + (uint64_t)f->so);

    if (c.bad || !h || memcmp(h, "HEAP", 4) != 0)
        return h5r_damaged(f, e, "a group's local heap is missing");
    c = h5r_cur_of(h + 8, 2 * (size_t)f->sl + (size_t)f->so);
    w->heap_len = h5r_un(&c, f->sl);
    h5r_un(&c, f->sl); /* free list */
    w->heap = h5r_at(f, h5r_addr(&c, f), w->heap_len);
    if (!w->heap)
        return h5r_damaged(f, e, "a group's local heap is outside the file");
    return gtree(f, tree, -1, w, e);
}

/* A link message: hard links call fn; soft and external ones are skipped. */
static int link_msg(h5r_file *f, const h5r_msg *m, walk *w, vas_err *e)
{
    h5r_cur c = h5r_cur_of(m->p, m->len);
    int version = (int)h5r_un(&c, 1), flags = (int)h5r_un(&c, 1), type = 0;
    uint64_t len, addr;
    const uint8_t *name;

    if (flags & 0x08)
        type = (int)h5r_un(&c, 1);
    h5r_take(&c, ((flags & 0x04) ? 8 : 0) + ((flags & 0x10) ? 1 : 0));
    len = h5r_un(&c, 1 << (flags & 3));
    name = h5r_take(&c, (size_t)len);
    addr = type == 0 ? h5r_addr(&c, f) : H5R_UNDEF;
    if (c.bad || version != 1 || len == 0 || len > m->len)
        return h5r_damaged(f, e, "a link message is malformed");
    if (type == 0 && h5r_spend(f, 1, e) == VAS_OK)
        w->stop = w->fn((const char *)name, (size_t)len, addr, w->arg);
    return f->steps < 0 ? VAS_EINVAL : VAS_OK;
}

int h5r_links(h5r_file *f, const h5r_obj *g, h5r_link_fn fn, void *arg, vas_err *e)
{
    walk w = {fn, arg, NULL, 0, 0};
    const h5r_msg *m = h5r_msg_find(g, MSG_STAB);
    int i, rc = VAS_OK;

    if (m)
        return stab_walk(f, m, &w, e);
    m = h5r_msg_find(g, MSG_LINFO);
    if (m) {
        h5r_cur c = h5r_cur_of(m->p, m->len);
        int flags = (h5r_take(&c, 1), (int)h5r_un(&c, 1));
        h5r_take(&c, (flags & 1) ? 8 : 0);
        if (h5r_addr(&c, f) != H5R_UNDEF || c.bad)
            return h5r_unsupported(f, e, "dense link storage (a group of many links)");
    }
    for (i = 0; rc == VAS_OK && i < g->n_msg && !w.stop; i++)
        if (g->msg[i].type == MSG_LINK)
            rc = link_msg(f, &g->msg[i], &w, e);
    return rc;
}

typedef struct find {
    const char *name;
    uint64_t addr;
} find;

static int find_fn(const char *name, size_t len, uint64_t addr, void *arg)
{
    find *x = arg;

    if (strlen(x->name) != len || memcmp(name, x->name, len) != 0)
        return 0;
    x->addr = addr;
    return 1;
}

int h5r_child(h5r_file *f, const h5r_obj *g, const char *name, h5r_obj *out, vas_err *e)
{
    find x = {name, H5R_UNDEF};
    int rc = h5r_links(f, g, find_fn, &x, e);

    if (rc < 0)
        return rc;
    if (x.addr == H5R_UNDEF)
        return err_set(e, VAS_ENOTFOUND, "%s has no object \"%.64s\"", f->name, name);
    return h5r_obj_at(f, x.addr, out, e);
}

/* ---- dataspaces and datatypes ---- */

int h5r_parse_space(h5r_file *f, const uint8_t *p, size_t len, h5r_space *s, vas_err *e)
{
    h5r_cur c = h5r_cur_of(p, len);
    int version = (int)h5r_un(&c, 1), rank = (int)h5r_un(&c, 1), i;

    h5r_un(&c, 1); /* flags: max dims, permutation (both after the dims) */
    memset(s, 0, sizeof(*s));
    if (version == 1) {
        h5r_take(&c, 5);
        s->kind = rank ? H5R_SIMPLE : H5R_SCALAR;
    } else if (version == 2) {
        s->kind = (int)h5r_un(&c, 1);
    } else {
        return h5r_damaged(f, e, "a dataspace has an unknown version");
    }
    if (s->kind > H5R_NULL || (s->kind == H5R_SIMPLE) != (rank > 0))
        return h5r_damaged(f, e, "a dataspace is malformed");
    if (rank > H5R_RANK_MAX)
        return h5r_unsupported(f, e, "a dataspace of more than 4 dimensions");
    s->rank = rank;
    s->n = s->kind == H5R_NULL ? 0 : 1;
    for (i = 0; i < rank; i++) {
        s->dims[i] = h5r_un(&c, f->sl);
        if (s->dims[i] > ((uint64_t)1 << 48) ||
            (s->dims[i] && s->n > ((uint64_t)1 << 48) / s->dims[i]))
            return h5r_damaged(f, e, "a dataspace is impossibly large");
        s->n *= s->dims[i];
    }
    return c.bad ? h5r_damaged(f, e, "a dataspace is cut short") : VAS_OK;
}

static int type_node(h5r_file *f, h5r_cur *c, h5r_dtype *t, int at, int depth, vas_err *e);

/* Checks the fixed-point and floating-point properties: plain two's complement / IEEE. */
static int number_props(h5r_file *f, h5r_cur *c, h5r_type *n, int bits, vas_err *e)
{
    static const uint8_t ieee4[6] = {23, 8, 0, 23}, ieee8[6] = {52, 11, 0, 52};
    uint64_t off = h5r_un(c, 2), prec = h5r_un(c, 2);
    const uint8_t *fp;
    uint64_t bias;

    n->big_endian = bits & 1;
    if (c->bad || off != 0 || prec != 8 * (uint64_t)n->size)
        return c->bad ? h5r_damaged(f, e, "a number type is cut short")
                      : h5r_unsupported(f, e, "numbers with padding bits");
    if (n->cls == H5R_INT) {
        n->is_signed = (bits >> 3) & 1;
        if (n->size != 1 && n->size != 2 && n->size != 4 && n->size != 8)
            return h5r_unsupported(f, e, "an integer type of unusual size");
        return VAS_OK;
    }
    fp = h5r_take(c, 4);
    bias = h5r_un(c, 4);
    if (c->bad)
        return h5r_damaged(f, e, "a floating-point type is cut short");
    if ((bits & 0x40) || !((n->size == 4 && !memcmp(fp, ieee4, 4) && bias == 127) ||
                           (n->size == 8 && !memcmp(fp, ieee8, 4) && bias == 1023)))
        return h5r_unsupported(f, e, "a floating-point type other than IEEE single or double");
    return VAS_OK;
}

/* A compound's members: names, offsets and types, into nodes [first, first + nm). */
static int compound(h5r_file *f, h5r_cur *c, h5r_dtype *t, int at, int version, int nm, int depth,
                    vas_err *e)
{
    int i, first = t->n, nb = 1, rc = VAS_OK;

    if (nm < 1 || nm > H5R_TYPE_NODES - t->n)
        return nm < 1 ? h5r_damaged(f, e, "a compound type has no members")
                      : h5r_unsupported(f, e, "a compound type of too many members");
    t->n += nm;
    t->node[at].first = first;
    t->node[at].n = nm;
    while (nb < 4 && (t->node[at].size >> (8 * nb)) != 0)
        nb++;
    for (i = 0; rc == VAS_OK && i < nm; i++) {
        h5r_type *m = &t->node[first + i];
        const uint8_t *z = c->bad ? NULL : memchr(c->p, 0, (size_t)(c->end - c->p));
        size_t nlen = z ? (size_t)(z - c->p) + 1 : 0;
        m->name = (const char *)h5r_take(c, version == 3 ? nlen : (nlen + 7) / 8 * 8);
        m->offset = (uint32_t)h5r_un(c, version == 3 ? nb : 4);
        if (version == 1) { /* dimensionality, reserved, permutation, reserved, dims */
            int nd = (int)h5r_un(c, 1);
            h5r_take(c, 27);
            if (nd != 0)
                return h5r_unsupported(f, e, "compound members that are arrays of an old kind");
        }
        if (!z || c->bad)
            return h5r_damaged(f, e, "a compound type is cut short");
        rc = type_node(f, c, t, first + i, depth + 1, e);
        if (rc == VAS_OK && (uint64_t)m->offset + m->size > t->node[at].size)
            rc = h5r_damaged(f, e, "a compound member lies outside its compound");
    }
    return rc;
}

/* An array type: dimensions and element type; the sizes must agree. */
static int array(h5r_file *f, h5r_cur *c, h5r_dtype *t, int at, int version, int depth, vas_err *e)
{
    int nd = (int)h5r_un(c, 1), i, rc;
    h5r_type *a = &t->node[at];

    h5r_take(c, version == 2 ? 3 : 0);
    if (c->bad || nd < 1 || nd > H5R_RANK_MAX || t->n >= H5R_TYPE_NODES)
        return h5r_damaged(f, e, "an array type is malformed");
    a->count = 1;
    for (i = 0; i < nd; i++) {
        uint64_t d = h5r_un(c, 4);
        if (d > a->size || a->count * d > a->size)
            return h5r_damaged(f, e, "an array type's size does not match its elements");
        a->count *= d;
    }
    h5r_take(c, version == 2 ? 4 * (size_t)nd : 0);
    a->first = t->n++;
    a->n = 1;
    rc = type_node(f, c, t, a->first, depth + 1, e);
    if (rc == VAS_OK &&
        (a->count == 0 || a->count > a->size || a->count * t->node[a->first].size != a->size))
        rc = h5r_damaged(f, e, "an array type's size does not match its elements");
    return rc;
}

static int type_node(h5r_file *f, h5r_cur *c, h5r_dtype *t, int at, int depth, vas_err *e)
{
    const uint8_t *p = h5r_take(c, 8);
    h5r_type *n = &t->node[at];
    int cls, version, bits;

    if (!p)
        return h5r_damaged(f, e, "a datatype is cut short");
    if (depth > 8)
        return h5r_unsupported(f, e, "datatypes nested over 8 deep");
    if (h5r_spend(f, 1, e) < 0)
        return VAS_EINVAL;
    cls = p[0] & 15;
    version = p[0] >> 4;
    bits = (int)h5r_le(p + 1, 3);
    n->size = (uint32_t)h5r_le(p + 4, 4);
    if (n->size == 0 || n->size > (1u << 24))
        return h5r_damaged(f, e, "a datatype has a bad size");
    switch (cls) {
    case 0:
    case 1:
        n->cls = cls == 0 ? H5R_INT : H5R_FLOAT;
        return number_props(f, c, n, bits, e);
    case 3:
        n->cls = H5R_STRING;
        return VAS_OK;
    case 6:
        n->cls = H5R_COMPOUND;
        return compound(f, c, t, at, version, bits & 0xffff, depth, e);
    case 10:
        n->cls = H5R_ARRAY;
        return array(f, c, t, at, version, depth, e);
    case 9:
        return h5r_unsupported(f, e, "variable-length data (strings or sequences)");
    default:
        return h5r_unsupported(f, e,
                               "a datatype that is not a number, fixed-size string, "
                               "compound or array");
    }
}

int h5r_parse_type(h5r_file *f, const uint8_t *p, size_t len, h5r_dtype *t, vas_err *e)
{
    h5r_cur c = h5r_cur_of(p, len);

    memset(t, 0, sizeof(*t));
    t->n = 1;
    return type_node(f, &c, t, 0, 0, e);
}

/* ---- attributes ---- */

/* Attribute message m: 1 and a filled a when it is called name, 0 when not, or an error. */
static int attr_msg(h5r_file *f, const h5r_msg *m, const char *name, h5r_attr *a, vas_err *e)
{
    h5r_cur c = h5r_cur_of(m->p, m->len);
    int version = (int)h5r_un(&c, 1), flags = (int)h5r_un(&c, 1), rc;
    size_t nn = (size_t)h5r_un(&c, 2), tn = (size_t)h5r_un(&c, 2), sn = (size_t)h5r_un(&c, 2);
    size_t pad = version == 1 ? 7 : 0;
    const uint8_t *np, *tp, *sp;

    if (version < 1 || version > 3)
        return h5r_damaged(f, e, "an attribute has an unknown version");
    if (version > 1 && (flags & 3))
        return h5r_unsupported(f, e, "shared attribute types");
    h5r_take(&c, version == 3 ? 1 : 0); /* name's character set */
    np = h5r_take(&c, (nn + pad) & ~pad);
    tp = h5r_take(&c, (tn + pad) & ~pad);
    sp = h5r_take(&c, (sn + pad) & ~pad);
    if (c.bad || nn == 0 || memchr(np, 0, nn) == NULL)
        return h5r_damaged(f, e, "an attribute message is malformed");
    if (strcmp((const char *)np, name) != 0)
        return 0;
    rc = h5r_parse_type(f, tp, tn, &a->type, e);
    if (rc == VAS_OK)
        rc = h5r_parse_space(f, sp, sn, &a->space, e);
    if (rc < 0)
        return rc;
    if (a->space.n > (uint64_t)(c.end - c.p) / a->type.node[0].size)
        return h5r_damaged(f, e, "an attribute's data runs past its message");
    a->data = c.p;
    return 1;
}

int h5r_attr_get(h5r_file *f, const h5r_obj *o, const char *name, h5r_attr *a, vas_err *e)
{
    const h5r_msg *info = h5r_msg_find(o, MSG_AINFO);
    int i, rc;

    for (i = 0; i < o->n_msg; i++) {
        if (o->msg[i].type != MSG_ATTR)
            continue;
        rc = attr_msg(f, &o->msg[i], name, a, e);
        if (rc != 0)
            return rc < 0 ? rc : VAS_OK;
    }
    if (info) {
        h5r_cur c = h5r_cur_of(info->p, info->len);
        int flags = (h5r_take(&c, 1), (int)h5r_un(&c, 1));
        h5r_take(&c, (flags & 1) ? 2 : 0);
        if (h5r_addr(&c, f) != H5R_UNDEF || c.bad)
            return h5r_unsupported(f, e, "dense attribute storage (an object of many attributes)");
    }
    return err_set(e, VAS_ENOTFOUND, "%s has no attribute \"%.64s\"", f->name, name);
}
