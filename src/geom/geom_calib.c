/* geom_calib.c - OpenCV FileStorage calibrations (see geom_calib.h). */
#include "geom/geom_calib.h"

#include "core/util.h"
#include "core/ydoc.h"
#include "geom/geom_calib_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORTHO_TOL 1e-5
#define CALIB_MAX (16u << 20) /* bytes of a calibration file: they are a few KiB */

/* The spellings calibration tools use, in the order they are looked for. */
const char *const geom_calib_k_keys[] = {"camera_matrix", "K", "cameraMatrix", "M", NULL};
const char *const geom_calib_d_keys[] = {"distortion_coefficients", "dist_coeffs", "D",
                                         "distCoeffs", NULL};
const char *const geom_calib_r_keys[] = {"rotation", "R", "rvec", NULL};
const char *const geom_calib_t_keys[] = {"translation", "T", "tvec", NULL};

int geom_calib_set_intrinsics(geom_camera *c, const double K[9], const double *dist, int n_dist,
                              const char *path, vas_err *e)
{
    if (K[3] != 0 || K[6] != 0 || K[7] != 0 || K[8] != 1)
        return err_set(e, VAS_EINVAL, "%s: %s: the camera matrix must be [fx 0 cx; 0 fy cy; 0 0 1]",
                       path, c->name);
    if (n_dist != 0 && n_dist != 4 && n_dist != 5 && n_dist != 8)
        return err_set(e, VAS_EINVAL,
                       "%s: %s: distortion must be 4, 5 or 8 coefficients "
                       "(k1 k2 p1 p2 [k3 [k4 k5 k6]]), not %d",
                       path, c->name, n_dist);
    c->fx = K[0];
    c->fy = K[4];
    c->cx = K[2];
    c->cy = K[5];
    memset(c->k, 0, sizeof(c->k));
    for (int i = 0; i < n_dist; i++)
        c->k[i] = dist[i];
    c->n_dist = n_dist;
    return VAS_OK;
}

int geom_calib_set_size(geom_camera *c, double w, double h, const char *path, vas_err *e)
{
    if (!(w >= 0) || !(h >= 0) || w > 65536 || h > 65536 || w != (int)w || h != (int)h)
        return err_set(e, VAS_EINVAL, "%s: %s: the image size must be whole numbers 0 to 65536",
                       path, c->name);
    c->width = (int)w;
    c->height = (int)h;
    return VAS_OK;
}

/* What a matrix read wants and where it is, for messages. */
typedef struct mat_req {
    const char *path, *cam, *key;
    double *out;
    int cap; /* room in out */
} mat_req;

/* The data items of a matrix (a mapping's data, or a plain sequence) into r->out. */
static int read_items(yaml_document_t *d, yaml_node_t *seq, const mat_req *r, int *count,
                      vas_err *e)
{
    int i = 0;

    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return err_set(e, VAS_EINVAL, "%s: %s: %s has no data list", r->path, r->cam, r->key);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++, i++) {
        double v;
        if (i >= r->cap)
            return err_set(e, VAS_EINVAL, "%s: %s: %s has too many values", r->path, r->cam,
                           r->key);
        if (ydoc_num(yaml_document_get_node(d, *it), &v) < 0 || !isfinite(v))
            return err_set(e, VAS_EINVAL, "%s: %s: %s holds a value that is not a finite number",
                           r->path, r->cam, r->key);
        r->out[i] = v;
    }
    *count = i;
    return VAS_OK;
}

/* A matrix node into r->out; its shape into rows, cols (a plain sequence: n x 1). */
static int read_matrix(yaml_document_t *d, yaml_node_t *n, const mat_req *r, int *rows, int *cols,
                       vas_err *e)
{
    double dr, dc;
    const char *dt;
    int count = 0, rc;

    if (n && n->type == YAML_SEQUENCE_NODE) {
        rc = read_items(d, n, r, &count, e);
        *rows = count;
        *cols = 1;
        return rc;
    }
    if (!n || n->type != YAML_MAPPING_NODE)
        return err_set(e, VAS_EINVAL, "%s: %s: %s must be an opencv-matrix", r->path, r->cam,
                       r->key);
    dt = ydoc_str(d, n, "dt");
    if (!dt || strlen(dt) != 1 || !strchr("dfucwsi", dt[0]))
        return err_set(e, VAS_EINVAL, "%s: %s: %s has dt '%s'; vas reads d, f, u, c, w, s or i",
                       r->path, r->cam, r->key, dt ? dt : "");
    if (ydoc_num_at(d, n, "rows", -1, &dr) < 0 || ydoc_num_at(d, n, "cols", -1, &dc) < 0 ||
        dr < 1 || dc < 1 || dr > 64 || dc > 64)
        return err_set(e, VAS_EINVAL, "%s: %s: %s needs rows and cols", r->path, r->cam, r->key);
    rc = read_items(d, ydoc_get(d, n, "data"), r, &count, e);
    if (rc < 0)
        return rc;
    *rows = (int)dr;
    *cols = (int)dc;
    if (count != *rows * *cols)
        return err_set(e, VAS_EINVAL, "%s: %s: %s is %dx%d but holds %d values", r->path, r->cam,
                       r->key, *rows, *cols, count);
    return VAS_OK;
}

/* A matrix that must be rows x cols, or a flat list of as many values (row-major). */
static int read_fixed(yaml_document_t *d, yaml_node_t *cam, mat_req *r, int rows, int cols,
                      vas_err *e)
{
    int nr = 0, nc = 0;
    int rc = read_matrix(d, ydoc_get(d, cam, r->key), r, &nr, &nc, e);

    if (rc < 0)
        return rc;
    if (!(nr == rows && nc == cols) && !((nr == 1 || nc == 1) && nr * nc == rows * cols))
        return err_set(e, VAS_EINVAL, "%s: %s: %s must be %dx%d, not %dx%d", r->path, r->cam,
                       r->key, rows, cols, nr, nc);
    return VAS_OK;
}

/* The first of keys (NULL-terminated spellings) that cn holds, or NULL. */
static const char *first_key(yaml_document_t *d, yaml_node_t *cn, const char *const *keys)
{
    for (; *keys; keys++)
        if (ydoc_get(d, cn, *keys))
            return *keys;
    return NULL;
}

/* image_width / image_height, or size: [w, h]. */
static int read_size(yaml_document_t *d, yaml_node_t *cn, geom_camera *c, const char *path,
                     vas_err *e)
{
    double w, h, wh[2];
    mat_req r = {path, c->name, "size", wh, 2};
    int nr = 0, nc = 0, rc;

    if (ydoc_get(d, cn, "size") && !ydoc_get(d, cn, "image_width")) {
        rc = read_matrix(d, ydoc_get(d, cn, "size"), &r, &nr, &nc, e);
        if (rc < 0)
            return rc;
        if (nr * nc != 2)
            return err_set(e, VAS_EINVAL, "%s: %s: size must be [width, height]", path, c->name);
        w = wh[0];
        h = wh[1];
    } else if (ydoc_num_at(d, cn, "image_width", 0, &w) < 0 ||
               ydoc_num_at(d, cn, "image_height", 0, &h) < 0) {
        return err_set(e, VAS_EINVAL, "%s: %s: image_width and image_height must be numbers", path,
                       c->name);
    }
    return geom_calib_set_size(c, w, h, path, e);
}

static int read_intrinsics(yaml_document_t *d, yaml_node_t *cn, geom_camera *c, const char *path,
                           vas_err *e)
{
    double K[9], D[GEOM_MAX_DIST];
    mat_req r = {path, c->name, first_key(d, cn, geom_calib_k_keys), K, 9};
    int nr = 0, nc = 0, rc;

    if (!r.key)
        return err_set(e, VAS_EINVAL,
                       "%s: %s has no camera matrix (camera_matrix, K, "
                       "cameraMatrix or M)",
                       path, c->name);
    rc = read_fixed(d, cn, &r, 3, 3, e);
    if (rc < 0)
        return rc;
    r = (mat_req){path, c->name, first_key(d, cn, geom_calib_d_keys), D, GEOM_MAX_DIST};
    if (r.key) {
        rc = read_matrix(d, ydoc_get(d, cn, r.key), &r, &nr, &nc, e);
        if (rc < 0)
            return rc;
        if (nr != 1 && nc != 1)
            return err_set(e, VAS_EINVAL, "%s: %s: %s must be 1xN, not %dx%d", path, c->name, r.key,
                           nr, nc);
    }
    rc = geom_calib_set_intrinsics(c, K, D, nr * nc, path, e);
    return rc < 0 ? rc : read_size(d, cn, c, path, e);
}

static int read_pose(yaml_document_t *d, yaml_node_t *cn, geom_camera *c, const char *path,
                     vas_err *e)
{
    double R[9];
    mat_req r = {path, c->name, first_key(d, cn, geom_calib_r_keys), R, 9};
    int nr = 0, nc = 0, rc;

    if (!r.key)
        return err_set(e, VAS_EINVAL,
                       "%s: %s has no rotation (rotation, R or rvec: 3x3 matrix or 3x1 Rodrigues "
                       "vector)",
                       path, c->name);
    rc = read_matrix(d, ydoc_get(d, cn, r.key), &r, &nr, &nc, e);
    if (rc < 0)
        return rc;
    if (nr * nc == 3 && (nr == 1 || nc == 1))
        geom_camera_rodrigues(R, c->R);
    else if (nr == 3 && nc == 3)
        memcpy(c->R, R, sizeof(c->R));
    else
        return err_set(e, VAS_EINVAL, "%s: %s: %s must be 3x3 or 3x1, not %dx%d", path, c->name,
                       r.key, nr, nc);
    r = (mat_req){path, c->name, first_key(d, cn, geom_calib_t_keys), c->t, 3};
    if (!r.key)
        return err_set(e, VAS_EINVAL, "%s: %s has no translation (translation, T or tvec: 3x1)",
                       path, c->name);
    return read_fixed(d, cn, &r, 3, 1, e);
}

int geom_calib_check_camera(const geom_camera *c, const char *what, vas_err *e)
{
    const double *R = c->R;
    double det, worst = 0;

    what = what ? what : "calibration";
    if (!(c->fx > 0) || !(c->fy > 0) || !isfinite(c->fx) || !isfinite(c->fy) || !isfinite(c->cx) ||
        !isfinite(c->cy))
        return err_set(e, VAS_EINVAL,
                       "%s: %s: the camera matrix is singular (fx and fy must be finite and > 0)",
                       what, c->name);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double dot = R[i] * R[j] + R[3 + i] * R[3 + j] + R[6 + i] * R[6 + j];
            double dev = fabs(dot - (i == j));
            worst = dev > worst || isnan(dev) ? dev : worst;
        }
    det = R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) +
          R[2] * (R[3] * R[7] - R[4] * R[6]);
    if (!(worst < ORTHO_TOL) || !(det > 0))
        return err_set(e, VAS_EINVAL,
                       "%s: %s: rotation is not a rotation (R'R differs from I by %.3g, det %.3g)",
                       what, c->name, worst, det);
    for (int i = 0; i < 3; i++)
        if (!isfinite(c->t[i]))
            return err_set(e, VAS_EINVAL, "%s: %s: translation is not finite", what, c->name);
    return VAS_OK;
}

static int read_camera(yaml_document_t *d, yaml_node_t *root, const char *name, geom_camera *c,
                       const char *path, vas_err *e)
{
    yaml_node_t *cn = ydoc_get(d, root, name);
    int rc;

    if (strlen(name) >= GEOM_NAME_MAX)
        return err_set(e, VAS_EINVAL, "%s: camera name '%.20s...' is too long", path, name);
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    if (!cn || cn->type != YAML_MAPPING_NODE)
        return err_set(e, VAS_EINVAL, "%s: camera %s is missing", path, name);
    rc = read_intrinsics(d, cn, c, path, e);
    if (rc == VAS_OK)
        rc = read_pose(d, cn, c, path, e);
    if (rc == VAS_OK)
        rc = geom_calib_check_camera(c, path, e);
    return rc;
}

/* Camera names: the camera_names list, or the top-level mappings holding a camera_matrix. */
static int list_names(yaml_document_t *d, yaml_node_t *root, const char **names, int *n,
                      const char *path, vas_err *e)
{
    yaml_node_t *l = ydoc_get(d, root, "camera_names");

    *n = 0;
    if (l && l->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = l->data.sequence.items.start; it < l->data.sequence.items.top;
             it++) {
            yaml_node_t *v = yaml_document_get_node(d, *it);
            if (!v || v->type != YAML_SCALAR_NODE)
                return err_set(e, VAS_EINVAL, "%s: camera_names must be a list of names", path);
            if (*n >= GEOM_MAX_CAMERAS)
                return err_set(e, VAS_EINVAL, "%s: more than %d cameras", path, GEOM_MAX_CAMERAS);
            names[(*n)++] = (const char *)v->data.scalar.value;
        }
    } else if (l) {
        return err_set(e, VAS_EINVAL, "%s: camera_names must be a list of names", path);
    } else if (root->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(d, p->key);
            if (!k || k->type != YAML_SCALAR_NODE ||
                !first_key(d, yaml_document_get_node(d, p->value), geom_calib_k_keys))
                continue;
            if (*n >= GEOM_MAX_CAMERAS)
                return err_set(e, VAS_EINVAL, "%s: more than %d cameras", path, GEOM_MAX_CAMERAS);
            names[(*n)++] = (const char *)k->data.scalar.value;
        }
    }
    return *n ? VAS_OK : err_set(e, VAS_EINVAL, "%s: no cameras (camera_names is empty)", path);
}

static int load_yaml(const char *path, geom_calib *out, vas_err *e)
{
    yaml_document_t d;
    const char *names[GEOM_MAX_CAMERAS];
    int n = 0, rc = ydoc_load(path, &d, e);
    yaml_node_t *root;

    if (rc < 0)
        return rc;
    root = yaml_document_get_root_node(&d);
    if (root->type != YAML_MAPPING_NODE)
        rc = err_set(e, VAS_EINVAL, "%s: not a calibration (no mapping at the top)", path);
    if (rc == VAS_OK)
        rc = list_names(&d, root, names, &n, path, e);
    out->n = 0;
    for (int i = 0; rc == VAS_OK && i < n; i++) {
        if (geom_calib_find(out, names[i]) >= 0)
            rc = err_set(e, VAS_EINVAL, "%s: camera %s is named twice", path, names[i]);
        else
            rc = read_camera(&d, root, names[i], &out->cam[out->n++], path, e);
    }
    yaml_document_delete(&d);
    return rc;
}

/* The dialect of buf: a pickle starts with PROTO (0x80); a TOML file (or one named *.toml)
 * with a [table] after blank and comment lines; anything else is read as YAML. */
static int sniff(const char *path, const unsigned char *buf, size_t len)
{
    size_t i = 0, pl = strlen(path);

    if (len && buf[0] == 0x80)
        return 'p';
    if (pl > 5 && strcmp(path + pl - 5, ".toml") == 0)
        return 't';
    while (i < len) {
        if (buf[i] == '#') {
            while (i < len && buf[i] != '\n')
                i++;
        } else if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n') {
            i++;
        } else {
            return buf[i] == '[' ? 't' : 'y';
        }
    }
    return 'y';
}

int geom_calib_load(const char *path, geom_calib *out, vas_err *e)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = util_read_file(path, CALIB_MAX, "16 MiB", &buf, &len, e), kind;

    if (rc == VAS_ENOTFOUND && e) /* a missing calibration is a bad configuration */
        e->code = rc = VAS_EINVAL;
    if (rc < 0)
        return rc;
    kind = sniff(path, buf, len);
    if (kind == 'p')
        rc = geom_calib_load_pickle(path, buf, len, out, e);
    else if (kind == 't')
        rc = geom_calib_load_toml(path, (const char *)buf, len, out, e);
    else
        rc = load_yaml(path, out, e);
    free(buf);
    if (rc == VAS_OK && out->n < 1)
        rc = err_set(e, VAS_EINVAL, "%s: no cameras", path);
    return rc;
}

int geom_calib_find(const geom_calib *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->cam[i].name, name) == 0)
            return i;
    return -1;
}

int geom_calib_select(const geom_calib *in, const char *const *names, int n, geom_calib *out,
                      vas_err *e)
{
    if (n < 1 || n > GEOM_MAX_CAMERAS)
        return err_set(e, VAS_EINVAL, "a model needs 1 to %d cameras, not %d", GEOM_MAX_CAMERAS, n);
    for (int i = 0; i < n; i++) {
        int k = geom_calib_find(in, names[i]);
        if (k < 0)
            return err_set(e, VAS_EINVAL, "the calibration has no camera %s", names[i]);
        out->cam[i] = in->cam[k];
    }
    out->n = n;
    return VAS_OK;
}

static void write_mat(FILE *f, const char *key, const double *v, int rows, int cols)
{
    fprintf(f, "   %s: !!opencv-matrix\n      rows: %d\n      cols: %d\n      dt: d\n      data: [",
            key, rows, cols);
    for (int i = 0; i < rows * cols; i++)
        fprintf(f, "%s%.17g", i ? ", " : " ", v[i]);
    fprintf(f, " ]\n");
}

int geom_calib_write(const char *path, const geom_calib *c, vas_err *e)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return err_sys(e, VAS_EIO, errno, "cannot write %s", path);
    fprintf(f, "%%YAML:1.0\n---\ncamera_names: [");
    for (int i = 0; i < c->n; i++)
        fprintf(f, "%s \"%s\"", i ? "," : "", c->cam[i].name);
    fprintf(f, " ]\n");
    for (int i = 0; i < c->n; i++) {
        const geom_camera *k = &c->cam[i];
        double K[9] = {k->fx, 0, k->cx, 0, k->fy, k->cy, 0, 0, 1};
        fprintf(f, "%s:\n   image_width: %d\n   image_height: %d\n", k->name, k->width, k->height);
        write_mat(f, "camera_matrix", K, 3, 3);
        if (k->n_dist)
            write_mat(f, "distortion_coefficients", k->k, 1, k->n_dist);
        write_mat(f, "rotation", k->R, 3, 3);
        write_mat(f, "translation", k->t, 3, 1);
    }
    if (ferror(f) | fclose(f))
        return err_sys(e, VAS_EIO, errno, "cannot write %s", path);
    return VAS_OK;
}
