/* pose_layout.c - checks on DeepLabCut column layouts and row indexes; ".part" files. */
#include "pose/pose_layout.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s, or 0 if it is not a valid one. */
static int utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    unsigned cp;
    int n, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

int pose_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = utf8_seq(p);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

static int check_name(const char *what, const char *s, vas_err *e)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > POSE_NAME_MAX)
        return err_set(e, VAS_EINVAL, "%s name must be 1 to %d bytes", what, POSE_NAME_MAX);
    if (!pose_utf8_valid(s))
        return err_set(e, VAS_EINVAL, "%s name is not valid UTF-8", what);
    return VAS_OK;
}

int pose_layout_n_coords(const pose_layout *l)
{
    return l->n_coords > 0 ? l->n_coords : 3;
}

const char *pose_layout_coord(const pose_layout *l, int k)
{
    static const char *const xyl[3] = {"x", "y", "likelihood"};

    if (l->coords)
        return l->coords[k];
    return k >= 0 && k < 3 ? xyl[k] : NULL;
}

/* Custom coords: 1..POSE_COORDS_MAX valid, distinct names. */
static int check_coords(const pose_layout *l, vas_err *e)
{
    int i, j, rc = VAS_OK;

    if (!l->coords && l->n_coords == 0)
        return VAS_OK;
    if (!l->coords || l->n_coords < 1 || l->n_coords > POSE_COORDS_MAX)
        return err_set(e, VAS_EINVAL, "a pose table needs 1 to %d coords per bodypart",
                       POSE_COORDS_MAX);
    for (i = 0; rc == VAS_OK && i < l->n_coords; i++) {
        rc = check_name("coord", l->coords[i], e);
        for (j = 0; rc == VAS_OK && j < i; j++)
            if (strcmp(l->coords[i], l->coords[j]) == 0)
                rc = err_set(e, VAS_EINVAL, "coord \"%s\" is named twice", l->coords[i]);
    }
    return rc;
}

int pose_layout_check(const pose_layout *l, vas_err *e)
{
    int i, rc;

    if (!l || !l->bodyparts || l->n_bodyparts < 1 || l->n_bodyparts > POSE_PARTS_MAX)
        return err_set(e, VAS_EINVAL, "a pose table needs 1 to %d bodyparts", POSE_PARTS_MAX);
    if (l->label_max < 0 || l->label_max > POSE_LABEL_MAX)
        return err_set(e, VAS_EINVAL, "image names are limited to %d bytes", POSE_LABEL_MAX);
    rc = check_name("scorer", l->scorer, e);
    for (i = 0; rc == VAS_OK && i < l->n_bodyparts; i++)
        rc = check_name("bodypart", l->bodyparts[i], e);
    if (rc == VAS_OK)
        rc = check_coords(l, e);
    return rc;
}

int pose_layout_check_index(const pose_layout *l, long long frame, const char *label, vas_err *e)
{
    size_t n;

    if (l->label_max == 0) {
        if (label || frame < 0)
            return err_set(e, VAS_EINVAL, "this table is indexed by frame numbers >= 0");
        return VAS_OK;
    }
    n = label ? strlen(label) : 0;
    if (n == 0 || n > (size_t)l->label_max)
        return err_set(e, VAS_EINVAL, "image name must be 1 to %d bytes", l->label_max);
    if (!pose_utf8_valid(label))
        return err_set(e, VAS_EINVAL, "image name is not valid UTF-8");
    return VAS_OK;
}

int pose_part_path(const char *path, char **out, vas_err *e)
{
    size_t n = path ? strlen(path) : 0;
    char *p;

    if (n == 0 || n > PATH_MAX)
        return err_set(e, VAS_EINVAL, "output path is empty or too long");
    p = malloc(n + sizeof(".part"));
    if (!p)
        return err_set(e, VAS_ENOMEM, "out of memory naming %s", path);
    memcpy(p, path, n);
    memcpy(p + n, ".part", sizeof(".part"));
    *out = p;
    return VAS_OK;
}

int pose_part_commit(const char *part, const char *path, vas_err *e)
{
    if (rename(part, path) < 0) {
        int err = errno;
        remove(part);
        return err_sys(e, VAS_EIO, err, "cannot rename %s to %s", part, path);
    }
    return VAS_OK;
}

int pose_part_close(FILE *f, const char *part, const char *path, vas_err *e)
{
    if (fclose(f) != 0) {
        int err = errno;
        remove(part);
        return err_sys(e, VAS_EIO, err, "cannot write %s", part);
    }
    return pose_part_commit(part, path, e);
}
