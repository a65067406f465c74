/* dlc_read.c - DeepLabCut pose tables read back: the format sniffed, then CSV here (HDF5 in
 * dlc_read_h5.c).
 *
 * DESIGN: the CSV side reads what pandas' to_csv writes through Python's csv module
 * (QUOTE_MINIMAL, "\n" line ends; "\r\n" is accepted too): a field is either bare, or quoted
 * with quotes inside doubled, and may then hold ',' and line breaks. Every field and record is
 * bounded (CSV_FIELD_MAX bytes, CSV_FIELDS_MAX fields), so a file that is not a table fails fast
 * with a message instead of growing a buffer. Header rows start with the level names
 * (scorer, bodyparts, coords); a MultiIndex row index adds one column per level, written as
 * empty fields in the header rows. */
#include "pose/dlc_read.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/dlc_read_int.h"
#include "pose/pose_layout.h"

#define CSV_FIELD_MAX  POSE_LABEL_MAX                                     /* bytes in one field */
#define CSV_INDEX_MAX  8                                                  /* index levels */
#define CSV_FIELDS_MAX (CSV_INDEX_MAX + POSE_PARTS_MAX * POSE_COORDS_MAX) /* per record */

static const unsigned char HDF5_SIG[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* ---- records ---- */

typedef struct csv_in {
    FILE *f;
    const char *file; /* borrowed, for messages */
    int64_t rec;      /* records read, for messages */
    char *buf;        /* the record's fields, each NUL-terminated */
    size_t len, cap;  /* bytes used and allocated in buf */
    size_t *off;      /* n field starts in buf */
    int n, cap_off;   /* fields in the record, offsets allocated */
} csv_in;

static const char *fld(const csv_in *c, int i)
{
    return c->buf + c->off[i];
}

static int push(csv_in *c, char ch, vas_err *e)
{
    if (c->len == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        char *nb = realloc(c->buf, cap);
        if (!nb)
            return err_set(e, VAS_ENOMEM, "out of memory reading %s", c->file);
        c->buf = nb;
        c->cap = cap;
    }
    c->buf[c->len++] = ch;
    return VAS_OK;
}

/* A byte of field text. */
static int put_byte(csv_in *c, int ch, vas_err *e)
{
    if (c->len - c->off[c->n - 1] >= CSV_FIELD_MAX)
        return err_set(e, VAS_EINVAL, "%s: record %" PRId64 " has a field over %d bytes", c->file,
                       c->rec + 1, CSV_FIELD_MAX);
    if (ch == 0)
        return err_set(e, VAS_EINVAL, "%s is not a text file (NUL byte in record %" PRId64 ")",
                       c->file, c->rec + 1);
    return push(c, (char)ch, e);
}

/* Ends the current field and, unless last, starts the next one. */
static int next_field(csv_in *c, int last, vas_err *e)
{
    int rc;

    if (c->n > 0 && (rc = push(c, '\0', e)) < 0)
        return rc;
    if (last)
        return VAS_OK;
    if (c->n == CSV_FIELDS_MAX)
        return err_set(e, VAS_EINVAL, "%s: record %" PRId64 " has more than %d fields", c->file,
                       c->rec + 1, CSV_FIELDS_MAX);
    if (c->n == c->cap_off) {
        int cap = c->cap_off ? 2 * c->cap_off : 64;
        size_t *no = realloc(c->off, (size_t)cap * sizeof(*no));
        if (!no)
            return err_set(e, VAS_ENOMEM, "out of memory reading %s", c->file);
        c->off = no;
        c->cap_off = cap;
    }
    c->off[c->n++] = c->len;
    return VAS_OK;
}

/* A quoted field's text after its opening quote; ch gets the character after the closing one. */
static int quoted(csv_in *c, int *ch, vas_err *e)
{
    int rc;

    for (;;) {
        int k = getc(c->f);
        if (k == EOF)
            return err_set(e, VAS_EINVAL, "%s: record %" PRId64 " has an unterminated quote",
                           c->file, c->rec + 1);
        if (k == '"') {
            k = getc(c->f);
            if (k != '"') {
                *ch = k;
                return VAS_OK;
            }
        }
        if ((rc = put_byte(c, k, e)) < 0)
            return rc;
    }
}

/* Is ch the end of a record? Consumes the '\n' of "\r\n". */
static int at_eol(csv_in *c, int ch)
{
    if (ch == '\n' || ch == EOF)
        return 1;
    if (ch == '\r') {
        int k = getc(c->f);
        if (k == '\n' || k == EOF)
            return 1;
        ungetc(k, c->f);
    }
    return 0;
}

/* One field from its first character ch; *ch gets the separator after it. */
static int one_field(csv_in *c, int *ch, vas_err *e)
{
    int rc = VAS_OK;

    if (*ch == '"') {
        rc = quoted(c, ch, e);
        if (rc == VAS_OK && *ch != ',' && *ch != '\n' && *ch != '\r' && *ch != EOF)
            rc = err_set(e, VAS_EINVAL, "%s: record %" PRId64 " has text after a closing quote",
                         c->file, c->rec + 1);
        return rc;
    }
    while (rc == VAS_OK && *ch != ',' && *ch != '\n' && *ch != '\r' && *ch != EOF) {
        rc = put_byte(c, *ch, e);
        *ch = getc(c->f);
    }
    return rc;
}

/* Reads the next non-blank record: 1, or 0 at the end of the file, or an error. */
static int csv_record(csv_in *c, vas_err *e)
{
    int ch, rc;

    do {
        ch = getc(c->f);
    } while (ch == '\n' || ch == '\r'); /* blank lines, as pandas' skip_blank_lines */
    if (ch == EOF)
        return ferror(c->f) ? err_sys(e, VAS_EIO, errno, "cannot read %s", c->file) : 0;
    c->len = 0;
    c->n = 0;
    for (;;) {
        if ((rc = next_field(c, 0, e)) < 0 || (rc = one_field(c, &ch, e)) < 0)
            return rc;
        if (at_eol(c, ch))
            break;
        ch = getc(c->f); /* after ',' */
    }
    if ((rc = next_field(c, 1, e)) < 0)
        return rc;
    if (ferror(c->f))
        return err_sys(e, VAS_EIO, errno, "cannot read %s", c->file);
    c->rec++;
    return 1;
}

/* ---- header ---- */

/* The three header rows, kept: hdr[l] is level l's record (buffer and offsets). */
typedef struct csv_head {
    char *buf[3];
    size_t *off[3];
    int n;       /* fields per record */
    int n_index; /* index columns (1, or one per level of a MultiIndex) */
} csv_head;

static void head_free(csv_head *h)
{
    int l;

    for (l = 0; l < 3; l++) {
        free(h->buf[l]);
        free(h->off[l]);
    }
}

static int keep_record(csv_head *h, int l, const csv_in *c, vas_err *e)
{
    h->buf[l] = malloc(c->len ? c->len : 1);
    h->off[l] = malloc((size_t)c->n * sizeof(size_t));
    if (!h->buf[l] || !h->off[l])
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", c->file);
    memcpy(h->buf[l], c->buf, c->len);
    memcpy(h->off[l], c->off, (size_t)c->n * sizeof(size_t));
    return VAS_OK;
}

/* Header row l: its level name, as long as the first, empty under the index columns. */
static int check_level(csv_head *h, const csv_in *c, int l, vas_err *e)
{
    static const char *const level[3] = {"scorer", "bodyparts", "coords"};
    int i;

    if (strcmp(fld(c, 0), "individuals") == 0 || (l == 2 && strcmp(fld(c, 0), "bodyparts") == 0))
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s is a multi-animal table (it has an \"individuals\" level); only "
                       "single-animal tables can be read",
                       c->file);
    if (strcmp(fld(c, 0), level[l]) != 0)
        return err_set(e, VAS_EINVAL,
                       "%s is not a DeepLabCut pose table: header row %d should start with "
                       "\"%s\"",
                       c->file, l + 1, level[l]);
    if (l == 0) {
        h->n = c->n;
        for (h->n_index = 1; h->n_index < c->n && !*fld(c, h->n_index); h->n_index++)
            ;
        if (h->n_index == c->n || h->n_index > CSV_INDEX_MAX)
            return err_set(e, VAS_EINVAL, "%s: the header has no value columns", c->file);
    }
    if (c->n != h->n)
        return err_set(e, VAS_EINVAL, "%s: header row %d has %d fields, the first has %d", c->file,
                       l + 1, c->n, h->n);
    for (i = 1; i < h->n_index; i++)
        if (*fld(c, i))
            return err_set(e, VAS_EINVAL, "%s: header row %d does not match the first", c->file,
                           l + 1);
    return keep_record(h, l, c, e);
}

static int read_head(csv_in *c, csv_head *h, dlc_build *b, dlc_table *t, vas_err *e)
{
    const char **names = NULL;
    int l, i, n_cols, rc = VAS_OK;

    for (l = 0; l < 3 && rc == VAS_OK; l++) {
        rc = csv_record(c, e);
        if (rc == 0)
            rc = err_set(e, VAS_EINVAL, "%s is %s", c->file,
                         l == 0 ? "empty" : "not a DeepLabCut pose table: it ends in the header");
        if (rc > 0)
            rc = check_level(h, c, l, e);
    }
    if (rc < 0)
        return rc;
    n_cols = h->n - h->n_index;
    names = malloc((size_t)n_cols * 3 * sizeof(*names));
    if (!names)
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", c->file);
    for (i = 0; i < n_cols; i++)
        for (l = 0; l < 3; l++)
            names[3 * i + l] = h->buf[l] + h->off[l][h->n_index + i];
    rc = dlc_build_columns(b, t, c->file, n_cols, names, e);
    free(names);
    return rc;
}

/* ---- rows ---- */

/* A frame number: 1 to 18 decimal digits. */
static int parse_frame(const char *s, int64_t *frame)
{
    int64_t v = 0;
    size_t i, n = strlen(s);

    if (n == 0 || n > 18)
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *frame = v;
    return 1;
}

/* A value: empty is NaN; else a decimal float as Python writes it (or inf/nan). */
static int parse_value(const csv_in *c, int col, double *v, vas_err *e)
{
    const char *s = fld(c, col);
    char *end;

    if (!*s) {
        *v = NAN;
        return VAS_OK;
    }
    *v = strtod(s, &end); /* out of range: inf or a denormal, as Python's float() */
    if (end == s || *end || strpbrk(s, "xX"))
        return err_set(e, VAS_EINVAL, "%s: row %" PRId64 ", column %d: \"%.40s\" is not a number",
                       c->file, c->rec - 3, col + 1, s);
    return VAS_OK;
}

/* The row's index: a frame number, or an image name (index levels joined with '/'). */
static int row_index(const csv_in *c, int n_index, int64_t *frame, char *label, vas_err *e)
{
    size_t n = 0;
    int i;

    if (n_index == 1 && parse_frame(fld(c, 0), frame))
        return 0;
    label[0] = '\0';
    for (i = 0; i < n_index; i++)
        if (dlc_join_label(label, &n, fld(c, i)) < 0)
            return err_set(e, VAS_EINVAL, "%s: row %" PRId64 " has an index over %d bytes", c->file,
                           c->rec - 3, POSE_LABEL_MAX);
    return 1;
}

static int read_rows(csv_in *c, const csv_head *h, dlc_build *b, vas_err *e)
{
    double *vals = malloc((size_t)(h->n - h->n_index) * sizeof(double));
    char *label = malloc(POSE_LABEL_MAX + 1);
    int64_t frame = 0;
    int i,
        named = 0,
        rc = vals && label ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory reading %s", c->file);

    while (rc == VAS_OK && (rc = csv_record(c, e)) > 0) {
        if (c->n != h->n) {
            rc = err_set(e, VAS_EINVAL, "%s: row %" PRId64 " has %d fields, the header %d", c->file,
                         c->rec - 3, c->n, h->n);
            break;
        }
        rc = named = row_index(c, h->n_index, &frame, label, e);
        if (rc < 0)
            break;
        for (i = h->n_index; i < h->n && rc >= 0; i++)
            rc = parse_value(c, i, &vals[i - h->n_index], e);
        if (rc >= 0)
            rc = dlc_build_row(b, frame, named ? label : NULL, vals, e);
    }
    free(vals);
    free(label);
    return rc < 0 ? rc : VAS_OK;
}

static int read_csv(FILE *f, const char *path, dlc_table *t, vas_err *e)
{
    csv_in c = {.f = f, .file = path};
    csv_head h = {0};
    dlc_build b = {0};
    int rc;

    rc = read_head(&c, &h, &b, t, e);
    if (rc == VAS_OK)
        rc = read_rows(&c, &h, &b, e);
    if (rc == VAS_OK)
        dlc_build_finish(&b);
    dlc_build_free(&b);
    head_free(&h);
    free(c.buf);
    free(c.off);
    return rc;
}

/* ---- entry ---- */

int dlc_read(const char *path, dlc_table *out, vas_err *e)
{
    unsigned char sig[8] = {0};
    size_t n;
    FILE *f = fopen(path, "rb");
    int rc;

    if (!f)
        return err_sys(e, errno == ENOENT ? VAS_ENOTFOUND : VAS_EIO, errno, "cannot open %s", path);
    n = fread(sig, 1, sizeof(sig), f);
    if (n == sizeof(sig) && memcmp(sig, HDF5_SIG, sizeof(sig)) == 0) {
        fclose(f);
        rc = dlc_read_h5(path, out, e);
    } else {
        rewind(f);
        if (n >= 3 && memcmp(sig, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 BOM */
            fseek(f, 3, SEEK_SET);
        rc = read_csv(f, path, out, e);
        fclose(f);
    }
    if (rc < 0)
        dlc_table_free(out);
    return rc;
}
