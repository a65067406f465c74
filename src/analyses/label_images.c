/* label_images.c - labeled images (see label_run.h): each analysed image drawn on and written as
 * a PNG; an archive's images are also packed into one zip (stored, PNGs are compressed already). */
#include "analyses/label_run.h"

#include "pose/pose_draw.h"
#include "pose/pose_layout.h"

#include <archive.h>
#include <archive_entry.h>
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct limg {
    const pose_model *m;
    const pose_run_opts *o;
    pose_style s;
    char dir[4096];
    label_out *out;
    const char *name; /* the input's own name: rows labelled so came from a single image */
    int single;       /* 1: the first row is the input itself, not an archive entry */
    uint8_t *bgrx;
    size_t cap;
} limg;

/* "<dir>/<name's stem, '/' as '_'>_labeled.png", a new string. */
static char *png_name(const limg *l, const char *name)
{
    char stem[1024];
    char *dot, *p;
    size_t n;

    snprintf(stem, sizeof(stem), "%s", name);
    dot = strrchr(stem, '.');
    if (dot && dot != stem && !strchr(dot, '/'))
        *dot = '\0';
    for (char *c = stem; *c; c++)
        if (*c == '/')
            *c = '_';
    n = strlen(l->dir) + strlen(stem) + 16;
    p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s_labeled.png", l->dir, stem);
    return p;
}

static int write_png(limg *l, const pose_row *r, const char *path, vas_err *e)
{
    int stride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, r->width);
    size_t need = (size_t)stride * (size_t)r->height;
    cairo_surface_t *cs;
    cairo_status_t st;
    char *part = NULL;
    int rc;

    if (need > l->cap) {
        uint8_t *b = realloc(l->bgrx, need);
        if (!b)
            return err_set(e, VAS_ENOMEM, "out of memory for a %dx%d image", r->width, r->height);
        l->bgrx = b;
        l->cap = need;
    }
    for (int y = 0; y < r->height; y++) {
        const uint8_t *s = r->rgb + (size_t)y * (size_t)r->width * 3;
        uint32_t *d = (uint32_t *)(void *)(l->bgrx + (size_t)y * (size_t)stride);
        for (int x = 0; x < r->width; x++, s += 3)
            d[x] = 0xff000000u | (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
    }
    rc = pose_draw(&l->s, l->bgrx, r->width, r->height, stride, r->xyl, e);
    if (rc == VAS_OK)
        rc = pose_part_path(path, &part, e);
    if (rc < 0)
        return rc;
    cs = cairo_image_surface_create_for_data(l->bgrx, CAIRO_FORMAT_RGB24, r->width, r->height,
                                             stride);
    st = cairo_surface_write_to_png(cs, part);
    cairo_surface_destroy(cs);
    if (st != CAIRO_STATUS_SUCCESS) {
        remove(part);
        rc = err_set(e, VAS_EIO, "could not write %s: %s", path, cairo_status_to_string(st));
    } else {
        rc = pose_part_commit(part, path, e);
    }
    free(part);
    return rc;
}

static int on_row(void *arg, const pose_row *r, vas_err *e)
{
    limg *l = arg;
    label_out *out = l->out;
    char **im;
    int rc;

    if (!r->rgb || !r->label)
        return err_set(e, VAS_EINVAL, "an image row without its picture");
    im = realloc(out->images, sizeof(char *) * (size_t)(out->n_images + 1));
    if (!im)
        return err_set(e, VAS_ENOMEM, "out of memory");
    out->images = im;
    if (!(im[out->n_images] = png_name(l, r->label)))
        return err_set(e, VAS_ENOMEM, "out of memory");
    out->n_images++;
    if (out->n_images == 1)
        l->single = strcmp(r->label, l->name) == 0;
    rc = write_png(l, r, im[out->n_images - 1], e);
    if (rc == VAS_OK && l->o->on_row)
        rc = l->o->on_row(l->o->row_arg, r, e);
    return rc;
}

static int add_entry(struct archive *a, const char *path, vas_err *e)
{
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    struct archive_entry *en = archive_entry_new();
    FILE *f = fopen(path, "rb");
    char buf[65536];
    long size;
    size_t n;
    int rc = VAS_OK;

    if (!en || !f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        rc = err_set(e, VAS_EIO, "could not read %s", path);
        goto done;
    }
    archive_entry_set_pathname(en, name);
    archive_entry_set_size(en, size);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0644);
    if (archive_write_header(a, en) != ARCHIVE_OK) {
        rc = err_set(e, VAS_EIO, "zip: %s", archive_error_string(a));
        goto done;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        if (archive_write_data(a, buf, n) < 0) {
            rc = err_set(e, VAS_EIO, "zip: %s", archive_error_string(a));
            goto done;
        }
done:
    if (f)
        fclose(f);
    archive_entry_free(en);
    return rc;
}

static int write_zip(label_out *out, const char *prefix, vas_err *e)
{
    struct archive *a = archive_write_new();
    char *part = NULL;
    int rc;

    out->archive = malloc(strlen(prefix) + 16);
    if (!a || !out->archive) {
        archive_write_free(a);
        return err_set(e, VAS_ENOMEM, "out of memory");
    }
    snprintf(out->archive, strlen(prefix) + 16, "%s_labeled.zip", prefix);
    rc = pose_part_path(out->archive, &part, e);
    if (rc == VAS_OK && (archive_write_set_format_zip(a) != ARCHIVE_OK ||
                         archive_write_set_options(a, "zip:compression=store") != ARCHIVE_OK ||
                         archive_write_open_filename(a, part) != ARCHIVE_OK))
        rc = err_set(e, VAS_EIO, "zip: %s", archive_error_string(a));
    for (int i = 0; i < out->n_images && rc == VAS_OK; i++)
        rc = add_entry(a, out->images[i], e);
    if (archive_write_close(a) != ARCHIVE_OK && rc == VAS_OK)
        rc = err_set(e, VAS_EIO, "zip: %s", archive_error_string(a));
    archive_write_free(a);
    if (part && rc == VAS_OK)
        rc = pose_part_commit(part, out->archive, e);
    else if (part)
        remove(part);
    free(part);
    return rc;
}

int label_run_images(const pose_model *m, const char *path, const char *prefix,
                     const pose_run_opts *o, label_out *out, vas_err *e)
{
    pose_run_opts def = {0}, inner;
    limg l = {.m = m, .o = o ? o : &def, .out = out};
    const char *slash = strrchr(prefix, '/');
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(l.dir, sizeof(l.dir), "%.*s", slash ? (int)(slash - prefix) : 1, slash ? prefix : ".");
    l.name = l.o->name ? l.o->name : base;
    rc = pose_style_init(&l.s, m, e);
    inner = *l.o;
    inner.on_row = on_row;
    inner.row_arg = &l;
    inner.keep_rgb = 1;
    if (rc == VAS_OK)
        rc = pose_run_images(m, path, prefix, &inner, &out->pose, e);
    if (rc == VAS_OK && !(l.single && out->n_images == 1))
        rc = write_zip(out, prefix, e);
    free(l.bgrx);
    return rc;
}
