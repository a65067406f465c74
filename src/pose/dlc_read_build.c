/* dlc_read_build.c - a dlc_table from a file's columns and rows, whatever the format; freeing
 * and reshaping tables; DeepLabCut's 3D output name. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/dlc_read_int.h"
#include "pose/pose_layout.h"

/* ---- columns ---- */

/* Position of s in names[0..n), or -1. */
static int find_name(char *const *names, int n, const char *s)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* Position of s in *names, appended (a copy) if new; -1 on allocation failure, -2 when max
 * names are there already. */
static int intern(char ***names, int *n, int max, const char *s)
{
    int i = find_name(*names, *n, s);
    char **nn;

    if (i >= 0)
        return i;
    if (*n == max)
        return -2;
    nn = realloc(*names, (size_t)(*n + 1) * sizeof(*nn));
    if (!nn)
        return -1;
    *names = nn;
    nn[*n] = strdup(s);
    if (!nn[*n])
        return -1;
    return (*n)++;
}

/* Every (part, coord) pair exactly once: slot[i] = part·n_coords + coord. */
static int check_grid(dlc_build *b, const int *part, const int *coord, vas_err *e)
{
    dlc_table *t = b->t;
    int i, n = t->n_parts * t->n_coords, rc = VAS_OK;
    unsigned char *seen;

    if (n != b->n_cols)
        return err_set(e, VAS_EINVAL,
                       "%s: %d columns are not %d bodyparts x %d coords (every bodypart "
                       "needs the same coords)",
                       b->file, b->n_cols, t->n_parts, t->n_coords);
    seen = calloc((size_t)n, 1);
    if (!seen)
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", b->file);
    for (i = 0; i < n && rc == VAS_OK; i++) {
        b->slot[i] = part[i] * t->n_coords + coord[i];
        if (seen[b->slot[i]]++)
            rc = err_set(e, VAS_EINVAL, "%s: column (%s, %s) appears twice", b->file,
                         t->bodyparts[part[i]], t->coords[coord[i]]);
    }
    free(seen);
    return rc;
}

/* The names' own rules (UTF-8, lengths), as the writers check them. */
static int check_names(const dlc_build *b, vas_err *e)
{
    const dlc_table *t = b->t;
    pose_layout l = {t->scorer, (const char *const *)t->bodyparts, t->n_parts,
                     0,         (const char *const *)t->coords,    t->n_coords};
    vas_err why = {0};

    if (pose_layout_check(&l, &why) < 0)
        return err_set(e, VAS_EINVAL, "%s: %s", b->file, why.msg);
    return VAS_OK;
}

static int add_column(dlc_build *b, const char *const *c, int *part, int *coord, vas_err *e)
{
    dlc_table *t = b->t;

    if (strcmp(c[0], t->scorer) != 0)
        return err_set(e, VAS_EINVAL, "%s has more than one scorer (\"%.64s\", \"%.64s\")", b->file,
                       t->scorer, c[0]);
    *part = intern(&t->bodyparts, &t->n_parts, POSE_PARTS_MAX, c[1]);
    *coord = intern(&t->coords, &t->n_coords, POSE_COORDS_MAX, c[2]);
    if (*part == -1 || *coord == -1)
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", b->file);
    if (*part == -2)
        return err_set(e, VAS_EINVAL, "%s has more than %d bodyparts", b->file, POSE_PARTS_MAX);
    if (*coord == -2)
        return err_set(e, VAS_EINVAL, "%s has more than %d coords per bodypart", b->file,
                       POSE_COORDS_MAX);
    return VAS_OK;
}

int dlc_build_columns(dlc_build *b, dlc_table *t, const char *file, int n_cols,
                      const char *const *names, vas_err *e)
{
    int *part = NULL, *coord = NULL, i, rc = VAS_OK;

    b->t = t;
    b->file = file;
    b->n_cols = n_cols;
    if (n_cols < 1 || n_cols > POSE_PARTS_MAX * POSE_COORDS_MAX)
        return err_set(e, VAS_EINVAL, "%s has %d value columns (1 to %d allowed)", file, n_cols,
                       POSE_PARTS_MAX * POSE_COORDS_MAX);
    part = malloc((size_t)n_cols * sizeof(*part));
    coord = malloc((size_t)n_cols * sizeof(*coord));
    b->slot = malloc((size_t)n_cols * sizeof(*b->slot));
    t->scorer = strdup(names[0]);
    if (!part || !coord || !b->slot || !t->scorer) {
        rc = err_set(e, VAS_ENOMEM, "out of memory reading %s", file);
        goto done;
    }
    for (i = 0; i < n_cols && rc == VAS_OK; i++)
        rc = add_column(b, names + (size_t)3 * (size_t)i, &part[i], &coord[i], e);
    if (rc == VAS_OK)
        rc = check_grid(b, part, coord, e);
    if (rc == VAS_OK)
        rc = check_names(b, e);
done:
    free(part);
    free(coord);
    return rc;
}

/* ---- rows ---- */

/* Turns the frames read so far into labels: a later row was indexed by a name. */
static int frames_to_labels(dlc_build *b, vas_err *e)
{
    dlc_table *t = b->t;
    char **labels = calloc((size_t)(b->cap_rows ? b->cap_rows : 1), sizeof(*labels));
    char num[24];
    int64_t r;

    if (!labels)
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", b->file);
    for (r = 0; r < t->n_rows; r++) {
        snprintf(num, sizeof(num), "%" PRId64, t->frames[r]);
        labels[r] = strdup(num);
        if (!labels[r]) {
            while (r > 0)
                free(labels[--r]);
            free(labels);
            return err_set(e, VAS_ENOMEM, "out of memory reading %s", b->file);
        }
    }
    free(t->frames);
    t->frames = NULL;
    t->labels = labels;
    return VAS_OK;
}

static int grow(dlc_build *b, vas_err *e)
{
    dlc_table *t = b->t;
    int64_t per_row = (int64_t)t->n_parts * t->n_coords;
    int64_t cap = b->cap_rows ? 2 * b->cap_rows : 256;
    void *v, *ix;

    if (cap * per_row > DLC_READ_VALUES_MAX)
        cap = DLC_READ_VALUES_MAX / per_row;
    if (cap <= t->n_rows)
        return err_set(e, VAS_ETOOBIG, "%s has more than %" PRId64 " values", b->file,
                       (int64_t)DLC_READ_VALUES_MAX);
    v = realloc(t->v, (size_t)(cap * per_row) * sizeof(double));
    if (v)
        t->v = v;
    if (t->labels)
        ix = realloc(t->labels, (size_t)cap * sizeof(char *));
    else
        ix = realloc(t->frames, (size_t)cap * sizeof(int64_t));
    if (ix && t->labels)
        t->labels = ix;
    else if (ix)
        t->frames = ix;
    if (!v || !ix)
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", b->file);
    b->cap_rows = cap;
    return VAS_OK;
}

static int add_label(dlc_build *b, int64_t frame, const char *label, vas_err *e)
{
    dlc_table *t = b->t;
    char num[24];
    size_t n;

    if (!label) {
        snprintf(num, sizeof(num), "%" PRId64, frame);
        label = num;
    }
    n = strlen(label);
    if (n == 0 || n > POSE_LABEL_MAX)
        return err_set(e, VAS_EINVAL, "%s: row %" PRId64 " has an index of %zu bytes (1 to %d)",
                       b->file, t->n_rows + 1, n, POSE_LABEL_MAX);
    if (!pose_utf8_valid(label))
        return err_set(e, VAS_EINVAL, "%s: row %" PRId64 " has an index that is not UTF-8", b->file,
                       t->n_rows);
    t->labels[t->n_rows] = strdup(label);
    if (!t->labels[t->n_rows])
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", b->file);
    return VAS_OK;
}

int dlc_build_row(dlc_build *b, int64_t frame, const char *label, const double *vals, vas_err *e)
{
    dlc_table *t = b->t;
    size_t per_row = (size_t)t->n_parts * (size_t)t->n_coords;
    double *row;
    int i, rc;

    if (t->n_rows == b->cap_rows && (rc = grow(b, e)) < 0)
        return rc;
    if (label && !t->labels && (rc = frames_to_labels(b, e)) < 0)
        return rc;
    if (t->labels) {
        rc = add_label(b, frame, label, e);
        if (rc < 0)
            return rc;
    } else {
        t->frames[t->n_rows] = frame;
    }
    row = t->v + (size_t)t->n_rows * per_row;
    for (i = 0; i < b->n_cols; i++)
        row[b->slot[i]] = vals[i];
    t->n_rows++;
    return VAS_OK;
}

int dlc_join_label(char *label, size_t *n, const char *part)
{
    size_t k = strlen(part);

    if (k == 0)
        return 0;
    if (*n + (*n > 0) + k > POSE_LABEL_MAX)
        return -1;
    if (*n > 0)
        label[(*n)++] = '/';
    memcpy(label + *n, part, k + 1);
    *n += k;
    return 0;
}

void dlc_build_finish(dlc_build *b)
{
    dlc_table *t = b->t;
    void *p;

    if (t->n_rows == 0)
        return;
    p = realloc(t->v,
                (size_t)t->n_rows * (size_t)t->n_parts * (size_t)t->n_coords * sizeof(double));
    if (p)
        t->v = p;
}

void dlc_build_free(dlc_build *b)
{
    free(b->slot);
    b->slot = NULL;
}

/* ---- tables ---- */

static void free_names(char **names, int64_t n)
{
    int64_t i;

    if (!names)
        return;
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void dlc_table_free(dlc_table *t)
{
    if (!t)
        return;
    free(t->scorer);
    free_names(t->bodyparts, t->n_parts);
    free_names(t->coords, t->n_coords);
    free_names(t->labels, t->n_rows);
    free(t->frames);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

int dlc_table_find_coords(const dlc_table *t, const char *const *want, int n_want, int *idx,
                          vas_err *e)
{
    int i;

    for (i = 0; i < n_want; i++) {
        idx[i] = find_name(t->coords, t->n_coords, want[i]);
        if (idx[i] < 0)
            return err_set(e, VAS_EINVAL, "the pose table has no \"%s\" coord", want[i]);
    }
    return VAS_OK;
}

/* New coords array: copies of want. NULL on allocation failure. */
static char **copy_names(const char *const *want, int n)
{
    char **c = calloc((size_t)n, sizeof(*c));
    int i;

    for (i = 0; c && i < n; i++)
        if (!(c[i] = strdup(want[i]))) {
            free_names(c, i);
            return NULL;
        }
    return c;
}

int dlc_table_select_coords(dlc_table *t, const char *const *want, int n_want, vas_err *e)
{
    int idx[POSE_COORDS_MAX], i, j, rc;
    int64_t k, n_cells = t->n_rows * t->n_parts;
    char **coords;

    if (n_want < 1 || n_want > POSE_COORDS_MAX)
        return err_set(e, VAS_EINVAL, "select 1 to %d coords", POSE_COORDS_MAX);
    rc = dlc_table_find_coords(t, want, n_want, idx, e);
    for (i = 0; rc == VAS_OK && i < n_want; i++)
        for (j = 0; j < i; j++)
            if (idx[i] == idx[j])
                return err_set(e, VAS_EINVAL, "coord \"%s\" is selected twice", want[i]);
    if (rc < 0)
        return rc;
    if (n_want > t->n_coords) /* cannot be: the coords are distinct and all found */
        return err_set(e, VAS_EINVAL, "more coords selected than the table has");
    coords = copy_names(want, n_want);
    if (!coords)
        return err_set(e, VAS_ENOMEM, "out of memory selecting coords");
    /* In place, front to back: cell k's new values never overtake its old ones (n_want <=
     * n_coords), and each cell is staged in tmp first. */
    for (k = 0; k < n_cells; k++) {
        double tmp[POSE_COORDS_MAX];
        for (i = 0; i < n_want; i++)
            tmp[i] = t->v[k * t->n_coords + idx[i]];
        memcpy(t->v + k * n_want, tmp, (size_t)n_want * sizeof(double));
    }
    free_names(t->coords, t->n_coords);
    t->coords = coords;
    t->n_coords = n_want;
    return VAS_OK;
}

int dlc_table_select_xyl(dlc_table *t, vas_err *e)
{
    static const char *const xyl[3] = {"x", "y", "likelihood"};

    return dlc_table_select_coords(t, xyl, 3, e);
}

/* ---- 3D output name ---- */

static int is_sep(char c)
{
    return c == '_' || c == '-';
}

int dlc_name_3d(const char *cam1_path, const char *camera, const char *scorer_3d, char **out,
                vas_err *e)
{
    const char *base, *dot, *at, *right = "";
    size_t n_stem, n_left, n_right = 0, cap;
    char *s;

    if (!cam1_path || !camera || !scorer_3d || !*camera || !*scorer_3d)
        return err_set(e, VAS_EINVAL, "a 3D output name needs a video, a camera and a scorer");
    base = strrchr(cam1_path, '/');
    base = base ? base + 1 : cam1_path;
    dot = strrchr(base, '.');
    n_stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (n_stem == 0)
        return err_set(e, VAS_EINVAL, "%s has no file name", cam1_path);
    at = memmem(base, n_stem, camera, strlen(camera));
    n_left = at ? (size_t)(at - base) : n_stem;
    if (at) {
        right = at + strlen(camera);
        n_right = n_stem - n_left - strlen(camera);
        if (n_left > 0 && is_sep(base[n_left - 1]))
            n_left--;
        if (n_right > 0 && is_sep(*right))
            right++, n_right--;
    }
    cap = n_stem + strlen(scorer_3d) + 3;
    s = malloc(cap);
    if (!s)
        return err_set(e, VAS_ENOMEM, "out of memory naming the 3D output");
    snprintf(s, cap, "%.*s%s%.*s%s%s", (int)n_left, base, n_left && n_right ? "_" : "",
             (int)n_right, right, n_left || n_right ? "_" : "", scorer_3d);
    *out = s;
    return VAS_OK;
}
