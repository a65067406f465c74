/* pose_json.c - vas's streamed JSON pose file (layout in pose_json.h).
 *
 * The file is written by hand rather than built as a jansson tree and dumped, so that rows
 * never accumulate in memory; head and tail metadata are jansson values, serialized here with
 * the same number format as the rows (jansson's own real format is %.17g, not the shortest). */
#include "pose/pose_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/pose_fmt.h"

#define JSON_BUF   ((size_t)64 * 1024) /* stdio buffer */
#define JSON_DEPTH 32                  /* nesting allowed in head/tail metadata */

struct pose_json {
    FILE *f;       /* the ".part" file */
    char *path;    /* final name */
    char *part;    /* "<path>.part" */
    pose_layout l; /* counts only: the name pointers are not kept past open */
    int64_t rows;  /* rows written */
    char buf[];    /* JSON_BUF bytes, stdio's buffer for f */
};

static const char *const RESERVED[] = {"scorer", "bodyparts", "coords", "predictions", "frames"};

/* ---- JSON text ---- */

/* A JSON string; s holds valid UTF-8 (checked by pose_layout or by jansson). */
static void put_str(FILE *f, const char *s, size_t n)
{
    size_t i;

    putc('"', f);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            putc('\\', f);
            putc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            putc(c, f);
        }
    }
    putc('"', f);
}

static void put_cstr(FILE *f, const char *s)
{
    put_str(f, s, strlen(s));
}

static void put_num(FILE *f, double v)
{
    char num[POSE_FMT_LEN];

    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    pose_fmt_double(v, num);
    fputs(num, f);
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by JSON_DEPTH */
static int put_value(FILE *f, const json_t *v, int depth);

/* "key":value for each member of o, comma-separated; a comma before the first too if lead. */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by JSON_DEPTH */
static int put_members(FILE *f, const json_t *o, int depth, int lead)
{
    void *it;

    /* jansson iterates without modifying; its API just lacks const. */
    for (it = json_object_iter((json_t *)o); it; it = json_object_iter_next((json_t *)o, it)) {
        if (lead)
            putc(',', f);
        lead = 1;
        put_cstr(f, json_object_iter_key(it));
        putc(':', f);
        if (put_value(f, json_object_iter_value(it), depth + 1) < 0)
            return -1;
    }
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by JSON_DEPTH */
static int put_value(FILE *f, const json_t *v, int depth)
{
    size_t i;

    if (depth > JSON_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        putc('{', f);
        if (put_members(f, v, depth, 0) < 0)
            return -1;
        putc('}', f);
        return 0;
    case JSON_ARRAY:
        putc('[', f);
        for (i = 0; i < json_array_size(v); i++) {
            if (i > 0)
                putc(',', f);
            if (put_value(f, json_array_get(v, i), depth + 1) < 0)
                return -1;
        }
        putc(']', f);
        return 0;
    case JSON_STRING:
        put_str(f, json_string_value(v), json_string_length(v));
        return 0;
    case JSON_INTEGER:
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    case JSON_REAL:
        put_num(f, json_real_value(v));
        return 0;
    default:
        fputs(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null", f);
        return 0;
    }
}

/* ---- the writer ---- */

/* VAS_EINVAL unless meta is NULL or an object free of the writer's own keys. */
static int check_meta(const json_t *meta, const char *which, vas_err *e)
{
    size_t i;

    if (!meta)
        return VAS_OK;
    if (!json_is_object(meta))
        return err_set(e, VAS_EINVAL, "JSON %s metadata must be an object", which);
    for (i = 0; i < sizeof(RESERVED) / sizeof(RESERVED[0]); i++)
        if (json_object_get(meta, RESERVED[i]))
            return err_set(e, VAS_EINVAL, "JSON %s metadata may not set \"%s\"", which,
                           RESERVED[i]);
    return VAS_OK;
}

static int put_head(FILE *f, const pose_layout *l, const json_t *head)
{
    int i;

    fputs("{\"scorer\":", f);
    put_cstr(f, l->scorer);
    fputs(",\"bodyparts\":[", f);
    for (i = 0; i < l->n_bodyparts; i++) {
        if (i > 0)
            putc(',', f);
        put_cstr(f, l->bodyparts[i]);
    }
    fputs("],\"coords\":[\"x\",\"y\",\"likelihood\"]", f);
    if (head && put_members(f, head, 1, 1) < 0)
        return -1;
    fputs(",\"predictions\":[", f);
    return 0;
}

static void json_free(pose_json *w)
{
    if (w->f)
        fclose(w->f);
    free(w->path);
    free(w->part);
    free(w);
}

static int json_new(const char *path, const pose_layout *l, pose_json **out, vas_err *e)
{
    pose_json *w = calloc(1, sizeof(*w) + JSON_BUF);
    int rc;

    if (!w)
        return err_set(e, VAS_ENOMEM, "out of memory opening %s", path);
    w->l.n_bodyparts = l->n_bodyparts;
    w->l.label_max = l->label_max;
    rc = pose_part_path(path, &w->part, e);
    if (rc == VAS_OK && !(w->path = strdup(path)))
        rc = err_set(e, VAS_ENOMEM, "out of memory opening %s", path);
    if (rc == VAS_OK && !(w->f = fopen(w->part, "w")))
        rc = err_sys(e, VAS_EIO, errno, "cannot create %s", w->part);
    if (rc < 0) {
        json_free(w);
        return rc;
    }
    setvbuf(w->f, w->buf, _IOFBF, JSON_BUF);
    *out = w;
    return VAS_OK;
}

int pose_json_open(const char *path, const pose_layout *l, const json_t *head, pose_json **out,
                   vas_err *e)
{
    pose_json *w = NULL;
    int rc = pose_layout_check(l, e);

    if (rc == VAS_OK)
        rc = check_meta(head, "head", e);
    if (rc == VAS_OK)
        rc = json_new(path, l, &w, e);
    if (rc != VAS_OK)
        return rc;
    if (put_head(w->f, l, head) < 0)
        rc = err_set(e, VAS_EINVAL, "JSON head metadata nests deeper than %d", JSON_DEPTH);
    else if (ferror(w->f))
        rc = err_sys(e, VAS_EIO, errno, "cannot write %s", w->part);
    if (rc < 0) {
        pose_json_abort(w);
        return rc;
    }
    *out = w;
    return VAS_OK;
}

/* One row; tm NULL: no time members. */
static int add_row(pose_json *w, int64_t frame, const char *label, const pose_json_time *tm,
                   const double *xyl, vas_err *e)
{
    int i, rc = pose_layout_check_index(&w->l, frame, label, e);

    if (rc < 0)
        return rc;
    fputs(w->rows ? ",\n{\"index\":" : "\n{\"index\":", w->f);
    if (label)
        put_cstr(w->f, label);
    else
        fprintf(w->f, "%" PRId64, frame);
    if (tm) {
        fputs(",\"t\":", w->f);
        put_num(w->f, tm->t);
        fprintf(w->f, ",\"pts\":%" PRId64, tm->pts);
    }
    fputs(",\"pose\":[", w->f);
    for (i = 0; i < 3 * w->l.n_bodyparts; i++) {
        if (i > 0)
            putc(',', w->f);
        put_num(w->f, xyl[i]);
    }
    fputs("]}", w->f);
    if (ferror(w->f))
        return err_sys(e, VAS_EIO, errno, "cannot write row %" PRId64 " of %s", w->rows, w->part);
    w->rows++;
    return VAS_OK;
}

int pose_json_add_row(pose_json *w, int64_t frame, const char *label, const double *xyl, vas_err *e)
{
    return add_row(w, frame, label, NULL, xyl, e);
}

int pose_json_add_timed_row(pose_json *w, int64_t frame, const pose_json_time *tm,
                            const double *xyl, vas_err *e)
{
    return add_row(w, frame, NULL, tm, xyl, e);
}

/* Everything after the last row. */
static int put_tail(pose_json *w, const json_t *tail, vas_err *e)
{
    fprintf(w->f, "\n],\"frames\":%" PRId64, w->rows);
    if (tail && put_members(w->f, tail, 1, 1) < 0)
        return err_set(e, VAS_EINVAL, "JSON tail metadata nests deeper than %d", JSON_DEPTH);
    fputs("}\n", w->f);
    return VAS_OK;
}

int pose_json_close(pose_json *w, const json_t *tail, vas_err *e)
{
    FILE *f;
    int rc;

    if (!w)
        return VAS_OK;
    rc = check_meta(tail, "tail", e);
    if (rc == VAS_OK)
        rc = put_tail(w, tail, e);
    if (rc < 0) {
        pose_json_abort(w);
        return rc;
    }
    f = w->f;
    w->f = NULL;
    rc = pose_part_close(f, w->part, w->path, e);
    json_free(w);
    return rc;
}

void pose_json_abort(pose_json *w)
{
    if (!w)
        return;
    if (w->f) {
        fclose(w->f);
        w->f = NULL;
        remove(w->part);
    }
    json_free(w);
}
