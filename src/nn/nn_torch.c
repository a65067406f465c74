/* nn_torch.c - torch.save files (see nn_torch.h): the zip, through libarchive, and the public
 * look-ups on the tree.
 *
 * DESIGN: two passes over the zip's central directory (libarchive's seekable zip reader):
 * the first reads <prefix>/data.pkl (and byteorder) and runs the pickle machine
 * (nn_torch_pickle.c), then the tree is checked (nn_torch_tensor.c) before any storage is
 * read; the second reads only the storages the tree's tensors use, one at a time, converting
 * each one's tensors to float32 and freeing its bytes, so memory peaks at the floats plus one
 * storage. torch writes entries uncompressed, so no entry can be larger than the file, and
 * no two entries overlap: both are checked, which bounds what a crafted zip makes us read. */
#include <archive.h>
#include <archive_entry.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/nn_torch_int.h"

#define PT_BLOCK      65536
#define PT_MAX_PREFIX 200

typedef struct pt_zip {
    const char *path;
    uint64_t file_bytes;
    struct archive *ar;
    char prefix[PT_MAX_PREFIX + 2]; /* "<folder>/" of the first entry */
    size_t plen;
    uint64_t storage_bytes; /* read from storage entries so far */
} pt_zip;

/* ---- the file's first bytes ---- */

static int sniff(const char *path, uint64_t *size, vas_err *e)
{
    unsigned char b[512] = {0};
    struct stat st;
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        return err_sys(e, VAS_ENOTFOUND, errno, "cannot open '%s'", path);
    n = fread(b, 1, sizeof(b), f);
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return err_set(e, VAS_EINVAL, "'%s' is not a regular file", path);
    }
    fclose(f);
    *size = (uint64_t)st.st_size;
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' &&
        ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6)))
        return VAS_OK;
    if ((n >= 2 && b[0] == 0x80 && b[1] <= 5) || (n >= 262 && memcmp(b + 257, "ustar", 5) == 0))
        return err_set(e, VAS_EUNSUPPORTED,
                       "'%s' is in the legacy torch.save format (before torch 1.6), which vas does "
                       "not read: load it in Python and save it again with torch >= 1.6",
                       path);
    return err_set(e, VAS_EINVAL, "'%s' is not a PyTorch .pt file (torch.save writes a zip)", path);
}

/* ---- zip entries ---- */

static int zip_open(pt_zip *z, vas_err *e)
{
    z->ar = archive_read_new();
    if (!z->ar)
        return err_set(e, VAS_ENOMEM, "out of memory opening '%s'", z->path);
    archive_read_support_format_zip_seekable(z->ar);
    if (archive_read_open_filename(z->ar, z->path, PT_BLOCK) != ARCHIVE_OK)
        return err_set(e, VAS_EINVAL, "'%s' is truncated or damaged: its zip cannot be read (%s)",
                       z->path, archive_error_string(z->ar));
    return VAS_OK;
}

static void zip_close(pt_zip *z)
{
    if (z->ar)
        archive_read_free(z->ar);
    z->ar = NULL;
}

/* The next entry's name inside the prefix folder into *rel (NULL when outside it); 1 with an
 * entry, 0 at the end. The first entry sets the prefix. */
static int zip_next(pt_zip *z, struct archive_entry **ent, const char **rel, vas_err *e)
{
    int r = archive_read_next_header(z->ar, ent);
    const char *name, *slash;

    if (r == ARCHIVE_EOF)
        return 0;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return err_set(e, VAS_EINVAL, "'%s' is truncated or damaged: its zip cannot be read (%s)",
                       z->path, archive_error_string(z->ar));
    name = archive_entry_pathname(*ent);
    if (!name)
        return err_set(e, VAS_EINVAL, "'%s' is damaged: a zip entry has no name", z->path);
    if (!z->plen) {
        slash = strchr(name, '/');
        if (!slash || slash == name || slash - name > PT_MAX_PREFIX)
            return err_set(e, VAS_EINVAL,
                           "'%s' is not a torch.save file: its first entry '%.100s' is not in a "
                           "folder",
                           z->path, name);
        z->plen = (size_t)(slash - name) + 1;
        memcpy(z->prefix, name, z->plen);
        z->prefix[z->plen] = '\0';
    }
    *rel = strncmp(name, z->prefix, z->plen) == 0 ? name + z->plen : NULL;
    return 1;
}

/* The current entry's bytes into a new buffer *buf (caller frees; NUL-terminated), refusing
 * more than max bytes. */
static int zip_read(pt_zip *z, struct archive_entry *ent, uint64_t max, unsigned char **buf,
                    size_t *len, vas_err *e)
{
    const char *name = archive_entry_pathname(ent);
    int64_t size = archive_entry_size(ent);
    size_t got = 0;

    if (!archive_entry_size_is_set(ent) || size < 0)
        return err_set(e, VAS_EINVAL, "'%s' is damaged: entry '%s' has no size", z->path, name);
    if ((uint64_t)size > z->file_bytes)
        return err_set(e, VAS_EINVAL,
                       "'%s' is damaged or compressed: entry '%s' claims %lld bytes, more than the "
                       "whole file (torch.save stores entries uncompressed)",
                       z->path, name, (long long)size);
    if ((uint64_t)size > max)
        return err_set(e, VAS_ETOOBIG, "'%s' has an entry '%s' of %lld bytes, over vas's %llu",
                       z->path, name, (long long)size, (unsigned long long)max);
    if (!(*buf = malloc((size_t)size + 1)))
        return err_set(e, VAS_ENOMEM, "out of memory reading '%s' (%lld bytes)", z->path,
                       (long long)size);
    while (got < (size_t)size) {
        la_ssize_t r = archive_read_data(z->ar, *buf + got, (size_t)size - got);
        if (r <= 0) {
            free(*buf);
            *buf = NULL;
            return err_set(e, VAS_EINVAL, "'%s' is truncated or damaged: entry '%s' (%s)", z->path,
                           name, r < 0 ? archive_error_string(z->ar) : "ends early");
        }
        got += (size_t)r;
    }
    (*buf)[got] = '\0';
    *len = got;
    return VAS_OK;
}

/* ---- pass 1: data.pkl ---- */

static int check_byteorder(pt_zip *z, struct archive_entry *ent, vas_err *e)
{
    unsigned char *b = NULL;
    size_t n = 0;
    int rc = zip_read(z, ent, 16, &b, &n, e);

    if (rc < 0)
        return rc;
    if (n == 3 && memcmp(b, "big", 3) == 0)
        rc = err_set(e, VAS_EUNSUPPORTED,
                     "'%s' was saved on a big-endian machine; vas reads little-endian .pt files "
                     "only (load and save it again on a little-endian one)",
                     z->path);
    else if (n != 6 || memcmp(b, "little", 6) != 0)
        rc = err_set(e, VAS_EINVAL,
                     "'%s' is damaged: its byteorder entry is neither big nor little", z->path);
    free(b);
    return rc;
}

static int read_pickle(pt_zip *z, unsigned char **pkl, size_t *len, vas_err *e)
{
    struct archive_entry *ent;
    const char *rel;
    int r, rc;

    while ((r = zip_next(z, &ent, &rel, e)) == 1) {
        if (!rel)
            continue;
        if (strcmp(rel, "byteorder") == 0 && (rc = check_byteorder(z, ent, e)) < 0)
            return rc;
        if (strcmp(rel, "data.pkl") != 0)
            continue;
        if (*pkl)
            return err_set(e, VAS_EINVAL, "'%s' is damaged: it has two data.pkl entries", z->path);
        if ((rc = zip_read(z, ent, PT_MAX_PICKLE, pkl, len, e)) < 0)
            return rc;
    }
    if (r < 0)
        return r;
    if (!*pkl)
        return err_set(e, VAS_EINVAL, "'%s' is not a torch.save file: it has no %sdata.pkl",
                       z->path, z->prefix);
    return VAS_OK;
}

/* ---- pass 2: storages ---- */

/* First of tensors[0..n) (sorted by storage key) using key, and how many do; -1 if none. */
static int find_key(const pt_doc *d, const int *tensors, int n, const char *key, int *count)
{
    int lo = 0, hi = n;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(d->nodes[d->nodes[tensors[mid]].t->storage].s, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (*count = 0; lo + *count < n; (*count)++)
        if (strcmp(d->nodes[d->nodes[tensors[lo + *count]].t->storage].s, key) != 0)
            break;
    return *count ? lo : -1;
}

static int read_storages(pt_zip *z, pt_doc *d, const int *tensors, int n, vas_err *e)
{
    struct archive_entry *ent;
    const char *rel;
    int r, rc;

    while ((r = zip_next(z, &ent, &rel, e)) == 1) {
        unsigned char *b = NULL;
        size_t len = 0;
        int first, count;

        if (!rel || strncmp(rel, "data/", 5) != 0 ||
            (first = find_key(d, tensors, n, rel + 5, &count)) < 0)
            continue;
        if ((rc = zip_read(z, ent, z->file_bytes - z->storage_bytes, &b, &len, e)) < 0)
            return rc == VAS_ETOOBIG
                       ? err_set(e, VAS_EINVAL, "'%s' is damaged: its storage entries overlap",
                                 z->path)
                       : rc;
        z->storage_bytes += len;
        rc = pt_fill_tensors(d, tensors + first, count, b, len, z->path, e);
        free(b);
        if (rc < 0)
            return rc;
    }
    if (r < 0)
        return r;
    for (int k = 0; k < n; k++) {
        const pt_tensor *t = d->nodes[tensors[k]].t;
        if (!t->data)
            return err_set(e, VAS_EINVAL,
                           "'%s' is damaged: it has no entry %sdata/%s for a storage", z->path,
                           z->prefix, d->nodes[t->storage].s);
    }
    return VAS_OK;
}

int nn_pt_load(const char *path, nn_pt **out, vas_err *e)
{
    pt_zip z = {.path = path};
    unsigned char *pkl = NULL;
    size_t pkl_len = 0;
    pt_doc *d = NULL;
    int *tensors = NULL, n = 0, rc;

    if ((rc = sniff(path, &z.file_bytes, e)) < 0 || (rc = zip_open(&z, e)) < 0 ||
        (rc = read_pickle(&z, &pkl, &pkl_len, e)) < 0)
        goto fail;
    zip_close(&z);
    if (!(d = pt_doc_new())) {
        rc = err_set(e, VAS_ENOMEM, "out of memory reading '%s'", path);
        goto fail;
    }
    if ((rc = pt_unpickle(d, pkl, pkl_len, path, e)) < 0 ||
        (rc = pt_check_tree(d, path, z.file_bytes, &tensors, &n, e)) < 0)
        goto fail;
    free(pkl);
    pkl = NULL;
    if (n > 0) {
        z.plen = 0;
        if ((rc = zip_open(&z, e)) < 0 || (rc = read_storages(&z, d, tensors, n, e)) < 0)
            goto fail;
    }
    zip_close(&z);
    free(tensors);
    *out = &d->nodes[d->root];
    return VAS_OK;
fail:
    zip_close(&z);
    free(pkl);
    free(tensors);
    pt_doc_free(d);
    return rc;
}

void nn_pt_free(nn_pt *root)
{
    if (root)
        pt_doc_free(root->doc);
}

/* ---- look-ups ---- */

int nn_pt_type(const nn_pt *o)
{
    return o ? o->type : NN_PT_NONE;
}

int64_t nn_pt_int(const nn_pt *o)
{
    return o && (o->type == NN_PT_INT || o->type == NN_PT_BOOL) ? o->i : 0;
}

double nn_pt_float(const nn_pt *o)
{
    if (o && o->type == NN_PT_FLOAT)
        return o->f;
    return o && o->type == NN_PT_INT ? (double)o->i : 0;
}

const char *nn_pt_str(const nn_pt *o)
{
    return o && o->type == NN_PT_STR ? o->s : NULL;
}

int nn_pt_len(const nn_pt *o)
{
    return o && (o->type == NN_PT_LIST || o->type == NN_PT_DICT) ? o->n : 0;
}

const nn_pt *nn_pt_at(const nn_pt *o, int i)
{
    if (!o || i < 0 || i >= nn_pt_len(o))
        return NULL;
    return &o->doc->nodes[o->type == NN_PT_DICT ? o->items[2 * i + 1] : o->items[i]];
}

const char *nn_pt_key(const nn_pt *o, int i)
{
    return nn_pt_str(nn_pt_key_obj(o, i));
}

const nn_pt *nn_pt_key_obj(const nn_pt *o, int i)
{
    if (!o || o->type != NN_PT_DICT || i < 0 || i >= o->n)
        return NULL;
    return &o->doc->nodes[o->items[2 * i]];
}

const nn_pt *nn_pt_get(const nn_pt *o, const char *key)
{
    for (int i = 0; o && o->type == NN_PT_DICT && i < o->n; i++) {
        const char *k = nn_pt_key(o, i);
        if (k && strcmp(k, key) == 0)
            return nn_pt_at(o, i);
    }
    return NULL;
}

int nn_pt_ndims(const nn_pt *o)
{
    return o && o->type == NN_PT_TENSOR ? o->t->ndims : 0;
}

const int64_t *nn_pt_dims(const nn_pt *o)
{
    return o && o->type == NN_PT_TENSOR ? o->t->dims : NULL;
}

int64_t nn_pt_numel(const nn_pt *o)
{
    return o && o->type == NN_PT_TENSOR ? o->t->numel : 0;
}

const float *nn_pt_data(const nn_pt *o)
{
    return o && o->type == NN_PT_TENSOR ? o->t->data : NULL;
}

const char *nn_pt_dtype(const nn_pt *o)
{
    return o && o->type == NN_PT_TENSOR ? pt_dtype_name(o->t->dtype) : NULL;
}
