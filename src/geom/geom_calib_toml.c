/* geom_calib_toml.c - anipose's calibration.toml (aniposelib CameraGroup.dump: one [cam_N]
 * table per camera, from Camera.get_dict) into geom_calib cameras:
 *   [cam_0]
 *   name = "A"                               camera name [the table's name]
 *   size = [ 1280, 1024,]                    width, height [unknown]
 *   matrix = [ [ 1000.0, 0.0, 640.0,], [ 0.0, 1000.0, 512.0,], [ 0.0, 0.0, 1.0,],]
 *   distortions = [ -0.2, 0.05, 0.0, 0.0, 0.0,]   k1 k2 p1 p2 [k3 [k4 k5 k6]]
 *   rotation = [ 0.1, -0.2, 0.05,]           Rodrigues vector (or a 3x3 matrix), world->camera
 *   translation = [ 10.0, 0.0, 200.0,]       Xc = R Xw + t
 *   fisheye = false                          true: refused (OpenCV's fisheye model is not vas's)
 *   [metadata]                               ignored, whatever it holds
 * Cameras are in file order. Any other table or key is refused, naming its line and column:
 * a misspelt key would otherwise silently fall back to a default. */
#include "geom/geom_calib_int.h"
#include "geom/geom_toml.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const cam_keys[] = {"name",     "size",        "matrix",  "distortions",
                                       "rotation", "translation", "fisheye", NULL};

/* The numbers of v, flattened in row order, into out[0..cap); their count into *n; the
 * shape as rows x cols (a flat array: n x 1). -1 on a non-number or more than cap. */
static int numbers(const geom_toml_val *v, double *out, int cap, int *n, int *rows, int *cols)
{
    *n = 0;
    *rows = v->type == GEOM_TOML_ARRAY ? v->n : 0;
    *cols = 1;
    for (int i = 0; v->type == GEOM_TOML_ARRAY && i < v->n; i++) {
        const geom_toml_val *x = &v->items[i];
        if (x->type == GEOM_TOML_ARRAY) {
            if (i && *cols != x->n)
                return -1;
            *cols = x->n;
            for (int j = 0; j < x->n; j++) {
                if (x->items[j].type != GEOM_TOML_NUM || *n >= cap)
                    return -1;
                out[(*n)++] = x->items[j].num;
            }
        } else if (x->type == GEOM_TOML_NUM && *n < cap && (!i || *cols == 1)) {
            out[(*n)++] = x->num;
        } else {
            return -1;
        }
    }
    for (int i = 0; i < *n; i++)
        if (!isfinite(out[i]))
            return -1;
    return v->type == GEOM_TOML_ARRAY ? 0 : -1;
}

/* Key k of table t as want numbers (a 1xN, Nx1 or flat array, or want = 9: 3x3); k missing:
 * *n = 0 when optional, else an error. */
static int get_nums(const geom_toml_table *t, const char *path, const char *k, double *out, int cap,
                    int *n, int optional, vas_err *e)
{
    const geom_toml_val *v = geom_toml_get(t, k);
    int rows, cols;

    *n = 0;
    if (!v)
        return optional ? VAS_OK : err_set(e, VAS_EINVAL, "%s: [%s] has no %s", path, t->name, k);
    if (numbers(v, out, cap, n, &rows, &cols) < 0 ||
        (cols != 1 && rows != 1 && !(rows == 3 && cols == 3)))
        return err_set(e, VAS_EINVAL,
                       "%s:%d:%d: [%s] %s must be an array of at most %d finite numbers", path,
                       v->line, v->col, t->name, k, cap);
    return VAS_OK;
}

static int check_keys(const geom_toml_table *t, const char *path, vas_err *e)
{
    for (int i = 0; i < t->n; i++) {
        int known = 0;
        for (const char *const *k = cam_keys; *k; k++)
            known |= strcmp(*k, t->kv[i].key) == 0;
        if (!known)
            return err_set(e, VAS_EINVAL,
                           "%s:%d:%d: [%s] has key '%.64s', which anipose does not write (vas "
                           "reads name, size, matrix, distortions, rotation, translation, "
                           "fisheye)",
                           path, t->kv[i].v.line, t->kv[i].v.col, t->name, t->kv[i].key);
    }
    return VAS_OK;
}

/* name (a string, else the table's name) and fisheye (refused when true). */
static int read_name(const geom_toml_table *t, geom_camera *c, const char *path, vas_err *e)
{
    const geom_toml_val *name = geom_toml_get(t, "name"), *fe = geom_toml_get(t, "fisheye");
    const char *s = name && name->type == GEOM_TOML_STR ? name->s : t->name;

    if (name && name->type != GEOM_TOML_STR)
        return err_set(e, VAS_EINVAL, "%s:%d:%d: [%s] name must be a string", path, name->line,
                       name->col, t->name);
    if (!*s || strlen(s) >= GEOM_NAME_MAX)
        return err_set(e, VAS_EINVAL, "%s: [%s]: a camera name must be 1 to %d bytes", path,
                       t->name, GEOM_NAME_MAX - 1);
    snprintf(c->name, sizeof(c->name), "%s", s);
    if (fe && fe->type != GEOM_TOML_BOOL)
        return err_set(e, VAS_EINVAL, "%s:%d:%d: [%s] fisheye must be true or false", path,
                       fe->line, fe->col, t->name);
    if (fe && fe->b)
        return err_set(e, VAS_EUNSUPPORTED,
                       "%s: camera %s is a fisheye camera (fisheye = true); vas models OpenCV's "
                       "pinhole camera with k1 k2 p1 p2 [k3] distortion, not the fisheye model",
                       path, c->name);
    return VAS_OK;
}

static int read_cam(const geom_toml_table *t, geom_camera *c, const char *path, vas_err *e)
{
    double K[9], D[GEOM_MAX_DIST], r[9], wh[2] = {0, 0};
    int nk, nd, nr, nt, ns, rc = check_keys(t, path, e);

    memset(c, 0, sizeof(*c));
    if (rc == VAS_OK)
        rc = read_name(t, c, path, e);
    if (rc == VAS_OK)
        rc = get_nums(t, path, "matrix", K, 9, &nk, 0, e);
    if (rc == VAS_OK)
        rc = get_nums(t, path, "distortions", D, GEOM_MAX_DIST, &nd, 1, e);
    if (rc == VAS_OK)
        rc = get_nums(t, path, "rotation", r, 9, &nr, 0, e);
    if (rc == VAS_OK)
        rc = get_nums(t, path, "translation", c->t, 3, &nt, 0, e);
    if (rc == VAS_OK)
        rc = get_nums(t, path, "size", wh, 2, &ns, 1, e);
    if (rc < 0)
        return rc;
    if (nk != 9 || (nr != 3 && nr != 9) || nt != 3 || (ns != 0 && ns != 2))
        return err_set(e, VAS_EINVAL,
                       "%s: [%s]: matrix must be 3x3, rotation 3 (Rodrigues) or 3x3, translation "
                       "3 and size [width, height]",
                       path, t->name);
    if (nr == 3)
        geom_camera_rodrigues(r, c->R);
    else
        memcpy(c->R, r, sizeof(c->R));
    rc = geom_calib_set_intrinsics(c, K, D, nd, path, e);
    if (rc == VAS_OK)
        rc = geom_calib_set_size(c, wh[0], wh[1], path, e);
    return rc < 0 ? rc : geom_calib_check_camera(c, path, e);
}

int geom_calib_load_toml(const char *path, const char *buf, size_t len, geom_calib *out, vas_err *e)
{
    geom_toml *d = NULL;
    int rc = geom_toml_parse(buf, len, path, &d, e);

    out->n = 0;
    if (rc < 0)
        return rc;
    if (d->t[0].n)
        rc = err_set(e, VAS_EINVAL, "%s:%d:%d: key '%.64s' is outside any [cam_N] table", path,
                     d->t[0].kv[0].v.line, 1, d->t[0].kv[0].key);
    for (int i = 1; rc == VAS_OK && i < d->n; i++) {
        const geom_toml_table *t = &d->t[i];
        if (strcmp(t->name, "metadata") == 0)
            continue;
        if (strncmp(t->name, "cam_", 4) != 0)
            rc = err_set(e, VAS_EINVAL,
                         "%s:%d:1: table [%.64s] is not an anipose camera ([cam_0], [cam_1], ...) "
                         "or [metadata]",
                         path, t->line, t->name);
        else if (out->n >= GEOM_MAX_CAMERAS)
            rc = err_set(e, VAS_EINVAL, "%s: more than %d cameras", path, GEOM_MAX_CAMERAS);
        else if ((rc = read_cam(t, &out->cam[out->n], path, e)) == VAS_OK &&
                 geom_calib_find(out, out->cam[out->n].name) >= 0)
            rc =
                err_set(e, VAS_EINVAL, "%s: camera %s is named twice", path, out->cam[out->n].name);
        else
            out->n += rc == VAS_OK;
    }
    if (rc == VAS_OK && out->n == 0)
        rc = err_set(e, VAS_EINVAL, "%s: no [cam_N] tables: not an anipose calibration", path);
    geom_toml_free(d);
    return rc;
}
