/* media_archive.c - images inside an archive, in name order, through libarchive (see
 * media_archive.h, DESIGN). Entries are known by their position in archive order (pos); the
 * reader `ar` stands before the header of entry `at`. */
#include "media/media_archive.h"
#include "core/log.h"

#include <archive.h>
#include <archive_entry.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ARC_BLOCK 65536

typedef struct arc_entry {
    char *name; /* path inside the archive */
    size_t pos; /* index in archive order */
} arc_entry;

struct media_archive {
    char *path;                           /* the archive file, for messages and reopening */
    arc_entry *ents;                      /* image entries, sorted by name */
    size_t n, cap;                        /* ents used / allocated */
    size_t next;                          /* next ents[] to hand out */
    struct archive *ar;                   /* reader, or NULL until needed */
    size_t at;                            /* position of the next header ar reads */
    uint8_t *buf;                         /* bytes of the current entry */
    size_t buf_cap;                       /* allocated bytes of buf */
    char *notes[MEDIA_ARCHIVE_MAX_NOTES]; /* why entries were skipped */
    size_t n_notes;                       /* notes kept */
    size_t skipped;                       /* entries skipped in all */
    media_limits lim;                     /* the caller's (0 fields: built-in caps) */
    int64_t declared;                     /* sizes the regular entries' headers declare */
    int64_t expanded;                     /* bytes read out of entries so far */
};

/* ---- notes ---- */

__attribute__((format(printf, 2, 3))) static void add_note(media_archive *a, const char *fmt, ...)
{
    char line[VAS_ERR_MSG];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    a->skipped++;
    log_debug("media", "event=archive_skip archive=%s note=\"%s\"", a->path, line);
    if (a->n_notes < MEDIA_ARCHIVE_MAX_NOTES && (a->notes[a->n_notes] = strdup(line)) != NULL)
        a->n_notes++;
}

/* ---- reader ---- */

static void reader_close(media_archive *a)
{
    if (a->ar)
        archive_read_free(a->ar);
    a->ar = NULL;
    a->at = 0;
}

static int reader_open(media_archive *a, vas_err *e)
{
    reader_close(a);
    a->ar = archive_read_new();
    if (!a->ar)
        return err_set(e, VAS_ENOMEM, "out of memory opening archive '%s'", a->path);
    archive_read_support_filter_all(a->ar);
    archive_read_support_format_all(a->ar);
    if (archive_read_open_filename(a->ar, a->path, ARC_BLOCK) != ARCHIVE_OK)
        return err_set(e, VAS_EINVAL, "not an archive: libarchive could not read '%s' (%s)",
                       a->path, archive_error_string(a->ar));
    return VAS_OK;
}

/* Reads the next header; 1 with *ent, 0 at the end, < 0 damaged. */
static int reader_header(media_archive *a, struct archive_entry **ent, vas_err *e)
{
    int r = archive_read_next_header(a->ar, ent);

    if (r == ARCHIVE_EOF)
        return 0;
    if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
        a->at++;
        return 1;
    }
    if (a->at == 0)
        return err_set(e, VAS_EINVAL, "not an archive: libarchive could not read '%s' (%s)",
                       a->path, archive_error_string(a->ar));
    return err_set(e, VAS_EINVAL, "archive '%s' is damaged after entry %zu (%s)", a->path, a->at,
                   archive_error_string(a->ar));
}

/* ---- open: list the images ---- */

static int is_mac_metadata(const char *name)
{
    const char *base = strrchr(name, '/');

    base = base ? base + 1 : name;
    return strncmp(name, "__MACOSX/", 9) == 0 || strstr(name, "/__MACOSX/") != NULL ||
           strncmp(base, "._", 2) == 0;
}

static int add_entry(media_archive *a, const char *name, size_t pos, vas_err *e)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        arc_entry *ne = realloc(a->ents, cap * sizeof(*ne));
        if (!ne)
            return err_set(e, VAS_ENOMEM, "out of memory listing archive '%s'", a->path);
        a->ents = ne;
        a->cap = cap;
    }
    a->ents[a->n].name = strdup(name);
    if (!a->ents[a->n].name)
        return err_set(e, VAS_ENOMEM, "out of memory listing archive '%s'", a->path);
    a->ents[a->n++].pos = pos;
    return VAS_OK;
}

/* Sorts a header into the image list, the notes, or nowhere (folders, links). */
static int list_entry(media_archive *a, struct archive_entry *ent, vas_err *e)
{
    const char *name = archive_entry_pathname(ent);

    if (archive_entry_filetype(ent) != AE_IFREG)
        return VAS_OK;
    if (!name || !*name) {
        add_note(a, "entry %zu has no name, skipped", a->at - 1);
        return VAS_OK;
    }
    if (is_mac_metadata(name))
        add_note(a, "%s: macOS metadata, skipped", name);
    else if (!media_image_name_ok(name))
        add_note(a, "%s: not an image (by its name), skipped", name);
    else
        return add_entry(a, name, a->at - 1, e);
    return VAS_OK;
}

static int entry_cmp(const void *x, const void *y)
{
    const arc_entry *p = x, *q = y;
    int c = strcmp(p->name, q->name);

    return c ? c : (p->pos > q->pos) - (p->pos < q->pos);
}

/* LIMIT_ARCHIVE_MEMBERS on the entries counted so far, LIMIT_ARCHIVE_BYTES on the declared
 * sizes: checked at every header, so listing stops at the first entry over. */
static int check_header(media_archive *a, struct archive_entry *ent, vas_err *e)
{
    int64_t max = a->lim.archive_members > 0 && a->lim.archive_members < MEDIA_ARCHIVE_MAX_ENTRIES
                      ? a->lim.archive_members
                      : MEDIA_ARCHIVE_MAX_ENTRIES;

    if ((int64_t)a->at > max)
        return err_set(e, VAS_ETOOBIG,
                       "archive '%s' has more than %lld entries, over the limit "
                       "(LIMIT_ARCHIVE_MEMBERS in the config sets it, up to %d)",
                       a->path, (long long)max, MEDIA_ARCHIVE_MAX_ENTRIES);
    if (archive_entry_filetype(ent) == AE_IFREG && archive_entry_size_is_set(ent) &&
        archive_entry_size(ent) > 0) {
        int64_t sz = archive_entry_size(ent);
        a->declared = sz > INT64_MAX - a->declared ? INT64_MAX : a->declared + sz;
    }
    if (a->lim.archive_bytes > 0 && a->declared > a->lim.archive_bytes)
        return err_set(e, VAS_ETOOBIG,
                       "archive '%s' expands to at least %lld bytes (its headers say), over the "
                       "limit of %lld bytes (LIMIT_ARCHIVE_BYTES in the config raises it)",
                       a->path, (long long)a->declared, (long long)a->lim.archive_bytes);
    return VAS_OK;
}

static int list_images(media_archive *a, vas_err *e)
{
    struct archive_entry *ent;
    int rc = reader_open(a, e);

    while (rc >= 0 && (rc = reader_header(a, &ent, e)) == 1) {
        rc = check_header(a, ent, e);
        if (rc == VAS_OK)
            rc = list_entry(a, ent, e);
    }
    if (rc < 0)
        return rc;
    reader_close(a);
    if (a->n == 0)
        return err_set(e, VAS_EINVAL, "no image in archive '%s' (%zu other entries%s%s)", a->path,
                       a->skipped, a->n_notes ? "; " : "", a->n_notes ? a->notes[0] : "");
    qsort(a->ents, a->n, sizeof(*a->ents), entry_cmp);
    return VAS_OK;
}

int media_archive_open(const char *path, media_archive **out, vas_err *e)
{
    return media_archive_open_lim(path, NULL, out, e);
}

int media_archive_open_lim(const char *path, const media_limits *lim, media_archive **out,
                           vas_err *e)
{
    struct stat st;
    media_archive *a;
    int rc;

    if (stat(path, &st) < 0)
        return errno == ENOENT || errno == ENOTDIR
                   ? err_set(e, VAS_ENOTFOUND, "no such archive '%s'", path)
                   : err_sys(e, VAS_EIO, errno, "cannot read archive '%s'", path);
    if (!S_ISREG(st.st_mode))
        return err_set(e, VAS_EINVAL, "not an archive: '%s' is not a regular file", path);
    a = calloc(1, sizeof(*a));
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return err_set(e, VAS_ENOMEM, "out of memory opening archive '%s'", path);
    }
    if (lim)
        a->lim = *lim;
    rc = list_images(a, e);
    if (rc < 0) {
        media_archive_close(a);
        return rc;
    }
    *out = a;
    return VAS_OK;
}

/* ---- next: one image ---- */

/* Bytes the next read may ask for: what is free in a->buf, but no more than one past what
 * LIMIT_ARCHIVE_BYTES leaves, so that the limit is passed by at most one byte. */
static size_t read_room(const media_archive *a, size_t n)
{
    size_t room = a->buf_cap - n;
    int64_t left = a->lim.archive_bytes - a->expanded;

    if (a->lim.archive_bytes > 0 && left >= 0 && (uint64_t)left < room)
        room = (size_t)left + 1;
    return room;
}

/* Reads the data of the entry the reader just passed the header of, into a->buf. */
static int read_data(media_archive *a, const char *name, size_t *len, vas_err *e)
{
    size_t n = 0;

    for (;;) {
        la_ssize_t k;
        if (n == a->buf_cap) {
            size_t cap = a->buf_cap ? a->buf_cap * 2 : ARC_BLOCK;
            uint8_t *nb;
            if (a->buf_cap >= MEDIA_IMAGE_MAX_BYTES)
                return err_set(e, VAS_ETOOBIG, "image '%s' in archive '%s' is over %zu MiB", name,
                               a->path, MEDIA_IMAGE_MAX_BYTES >> 20);
            nb = realloc(a->buf, cap);
            if (!nb)
                return err_set(e, VAS_ENOMEM, "out of memory reading '%s' from '%s'", name,
                               a->path);
            a->buf = nb;
            a->buf_cap = cap;
        }
        k = archive_read_data(a->ar, a->buf + n, read_room(a, n));
        if (k == 0)
            break;
        if (k < 0)
            return err_set(e, VAS_EINVAL, "archive '%s' is damaged in entry '%s' (%s)", a->path,
                           name, archive_error_string(a->ar));
        n += (size_t)k;
        a->expanded += k;
        if (a->lim.archive_bytes > 0 && a->expanded > a->lim.archive_bytes)
            return err_set(e, VAS_ETOOBIG,
                           "archive '%s' expands to more than %lld bytes (at entry '%s'), over "
                           "the limit (LIMIT_ARCHIVE_BYTES in the config raises it)",
                           a->path, (long long)a->lim.archive_bytes, name);
    }
    *len = n;
    return VAS_OK;
}

/* Moves the reader to entry en (reopening when it lies behind) and reads its bytes. */
static int read_entry(media_archive *a, const arc_entry *en, size_t *len, vas_err *e)
{
    struct archive_entry *ent = NULL;
    int rc = VAS_OK;

    if (!a->ar || a->at > en->pos)
        rc = reader_open(a, e);
    while (rc >= 0 && a->at <= en->pos) {
        rc = reader_header(a, &ent, e);
        if (rc == 0)
            rc = err_set(e, VAS_EINVAL, "archive '%s' changed while being read", a->path);
    }
    if (rc < 0)
        return rc;
    return read_data(a, en->name, len, e);
}

int media_archive_next(media_archive *a, media_image *im, const char **name, vas_err *e)
{
    while (a->next < a->n) {
        const arc_entry *en = &a->ents[a->next++];
        vas_err de = {0};
        size_t len = 0;
        int rc = read_entry(a, en, &len, e);

        if (rc < 0)
            return rc;
        rc = media_image_decode_lim(a->buf, len, en->name, &a->lim, im, &de);
        if (rc == VAS_EINVAL || rc == VAS_EUNSUPPORTED) {
            add_note(a, "%s, skipped", de.msg);
            continue;
        }
        if (rc < 0) {
            if (e)
                *e = de;
            return rc;
        }
        *name = en->name;
        return 1;
    }
    reader_close(a);
    return 0;
}

size_t media_archive_count(const media_archive *a)
{
    return a->n;
}

size_t media_archive_skipped(const media_archive *a, const char *const **notes, size_t *n_notes)
{
    if (notes)
        *notes = (const char *const *)a->notes;
    if (n_notes)
        *n_notes = a->n_notes;
    return a->skipped;
}

void media_archive_close(media_archive *a)
{
    if (!a)
        return;
    reader_close(a);
    for (size_t i = 0; i < a->n; i++)
        free(a->ents[i].name);
    for (size_t i = 0; i < a->n_notes; i++)
        free(a->notes[i]);
    free(a->ents);
    free(a->buf);
    free(a->path);
    free(a);
}
