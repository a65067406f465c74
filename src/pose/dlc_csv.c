/* dlc_csv.c - DeepLabCut CSV, as pandas to_csv writes a DataFrame with MultiIndex columns.
 *
 * pandas writes through Python's csv module (QUOTE_MINIMAL, lineterminator "\n"): a field is
 * quoted only if it holds the delimiter, the quote character or "\n" (Python 3.11 does not
 * quote a lone "\r" then), and quotes inside are doubled. Floats are numpy's str(), which is
 * Python's repr (pose_fmt.h); NaN is na_rep, the empty string. Checked byte for byte against
 * files pandas wrote (tests/fixtures/pose_writers, tools/make-pose-fixtures.py). */
#include "pose/dlc_csv.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/pose_fmt.h"

#define CSV_BUF ((size_t)64 * 1024) /* stdio buffer: one write(2) per 64 KiB of rows */

struct dlc_csv {
    FILE *f;       /* the ".part" file */
    char *path;    /* final name */
    char *part;    /* "<path>.part" */
    pose_layout l; /* counts only: the name pointers are not kept past open */
    int64_t rows;  /* rows written, for messages */
    char buf[];    /* CSV_BUF bytes, stdio's buffer for f */
};

/* One field, quoted when Python's csv module would. */
static void put_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

static void put_header(FILE *f, const pose_layout *l)
{
    int i, k, nc = pose_layout_n_coords(l);

    fputs("scorer", f);
    for (i = 0; i < nc * l->n_bodyparts; i++) {
        putc(',', f);
        put_field(f, l->scorer);
    }
    fputs("\nbodyparts", f);
    for (i = 0; i < l->n_bodyparts; i++)
        for (k = 0; k < nc; k++) {
            putc(',', f);
            put_field(f, l->bodyparts[i]);
        }
    fputs("\ncoords", f);
    for (i = 0; i < l->n_bodyparts; i++)
        for (k = 0; k < nc; k++) {
            putc(',', f);
            put_field(f, pose_layout_coord(l, k));
        }
    putc('\n', f);
}

static void csv_free(dlc_csv *w)
{
    if (w->f)
        fclose(w->f);
    free(w->path);
    free(w->part);
    free(w);
}

int dlc_csv_open(const char *path, const pose_layout *l, dlc_csv **out, vas_err *e)
{
    dlc_csv *w = NULL;
    int rc = pose_layout_check(l, e);

    if (rc < 0)
        return rc;
    w = calloc(1, sizeof(*w) + CSV_BUF);
    if (!w)
        return err_set(e, VAS_ENOMEM, "out of memory opening %s", path);
    w->l.n_bodyparts = l->n_bodyparts;
    w->l.label_max = l->label_max;
    w->l.n_coords = pose_layout_n_coords(l);
    rc = pose_part_path(path, &w->part, e);
    if (rc < 0)
        goto fail;
    w->path = strdup(path);
    if (!w->path) {
        rc = err_set(e, VAS_ENOMEM, "out of memory opening %s", path);
        goto fail;
    }
    w->f = fopen(w->part, "w");
    if (!w->f) {
        rc = err_sys(e, VAS_EIO, errno, "cannot create %s", w->part);
        goto fail;
    }
    setvbuf(w->f, w->buf, _IOFBF, CSV_BUF);
    put_header(w->f, l);
    if (ferror(w->f)) {
        rc = err_sys(e, VAS_EIO, errno, "cannot write %s", w->part);
        goto fail;
    }
    *out = w;
    return VAS_OK;
fail:
    dlc_csv_abort(w);
    return rc;
}

int dlc_csv_add_row(dlc_csv *w, int64_t frame, const char *label, const double *xyl, vas_err *e)
{
    char num[POSE_FMT_LEN];
    int i, rc = pose_layout_check_index(&w->l, frame, label, e);

    if (rc < 0)
        return rc;
    if (label)
        put_field(w->f, label);
    else
        fprintf(w->f, "%" PRId64, frame);
    for (i = 0; i < w->l.n_coords * w->l.n_bodyparts; i++) {
        putc(',', w->f);
        if (!isnan(xyl[i])) {
            pose_fmt_double(xyl[i], num);
            fputs(num, w->f);
        }
    }
    putc('\n', w->f);
    if (ferror(w->f))
        return err_sys(e, VAS_EIO, errno, "cannot write row %" PRId64 " of %s", w->rows, w->part);
    w->rows++;
    return VAS_OK;
}

int dlc_csv_close(dlc_csv *w, vas_err *e)
{
    int rc;

    if (!w)
        return VAS_OK;
    rc = pose_part_close(w->f, w->part, w->path, e);
    w->f = NULL;
    csv_free(w);
    return rc;
}

void dlc_csv_abort(dlc_csv *w)
{
    if (!w)
        return;
    if (w->f) {
        fclose(w->f);
        w->f = NULL;
        remove(w->part);
    }
    csv_free(w);
}
