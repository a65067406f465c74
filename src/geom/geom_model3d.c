/* geom_model3d.c - 3D model bundles (see geom_model3d.h). */
#include "geom/geom_model3d.h"

#include "core/ydoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_LEN 4096

static char *dup_or(const char *s, const char *def)
{
    return strdup(s ? s : def);
}

static int file_exists(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int geom_model3d_is_bundle(const char *dir)
{
    char path[PATH_LEN];
    yaml_document_t d;
    yaml_node_t *root;
    int yes;

    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    if (!file_exists(path) || ydoc_load(path, &d, NULL) < 0)
        return 0;
    root = yaml_document_get_root_node(&d);
    yes = ydoc_get(&d, root, "camera_names") || ydoc_get(&d, root, "scorername_3d");
    yaml_document_delete(&d);
    return yes;
}

/* camera_names into names (borrowed from d); num_cameras checked against it. */
static int read_cameras(yaml_document_t *d, yaml_node_t *root, const char **names, int *n,
                        vas_err *e)
{
    yaml_node_t *l = ydoc_get(d, root, "camera_names");
    double num;

    *n = 0;
    if (!l || l->type != YAML_SEQUENCE_NODE)
        return err_set(e, VAS_EINVAL, "config.yaml has no list of camera_names");
    for (yaml_node_item_t *it = l->data.sequence.items.start; it < l->data.sequence.items.top;
         it++) {
        yaml_node_t *v = yaml_document_get_node(d, *it);
        if (!v || v->type != YAML_SCALAR_NODE || *n >= GEOM_MAX_CAMERAS)
            return err_set(e, VAS_EINVAL, "config.yaml: camera_names must be 2 to %d names",
                           GEOM_MAX_CAMERAS);
        names[(*n)++] = (const char *)v->data.scalar.value;
    }
    if (*n < 2)
        return err_set(e, VAS_EINVAL, "config.yaml: a 3D model needs at least 2 camera_names");
    if (ydoc_num_at(d, root, "num_cameras", *n, &num) < 0 || num != *n)
        return err_set(e, VAS_EINVAL, "config.yaml: num_cameras does not match the %d camera_names",
                       *n);
    return VAS_OK;
}

static int read_skeleton(geom_model3d *m, yaml_document_t *d, yaml_node_t *root, vas_err *e)
{
    yaml_node_t *n = ydoc_get(d, root, "skeleton");
    size_t cap;

    if (!n || n->type != YAML_SEQUENCE_NODE)
        return VAS_OK; /* `skeleton: []`, null or none */
    cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    m->skeleton = calloc(cap ? cap : 1, sizeof(*m->skeleton));
    if (!m->skeleton)
        return err_set(e, VAS_ENOMEM, "out of memory");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *pair = yaml_document_get_node(d, *it), *a, *b;
        if (!pair || pair->type != YAML_SEQUENCE_NODE ||
            pair->data.sequence.items.top - pair->data.sequence.items.start != 2)
            return err_set(e, VAS_EINVAL, "config.yaml: skeleton entries must be [part, part]");
        a = yaml_document_get_node(d, pair->data.sequence.items.start[0]);
        b = yaml_document_get_node(d, pair->data.sequence.items.start[1]);
        if (!a || !b || a->type != YAML_SCALAR_NODE || b->type != YAML_SCALAR_NODE)
            return err_set(e, VAS_EINVAL, "config.yaml: skeleton entries must be [part, part]");
        char *sa = strdup((char *)a->data.scalar.value), *sb = strdup((char *)b->data.scalar.value);
        if (!sa || !sb) {
            free(sa);
            free(sb);
            return err_set(e, VAS_ENOMEM, "out of memory");
        }
        m->skeleton[m->n_skeleton][0] = sa;
        m->skeleton[m->n_skeleton++][1] = sb;
    }
    return VAS_OK;
}

/* model_<camera> and config_file_<camera> for each camera. */
static int read_camera_models(geom_model3d *m, yaml_document_t *d, yaml_node_t *root,
                              const char **names, vas_err *e)
{
    for (int i = 0; i < m->n_cameras; i++) {
        char key[GEOM_NAME_MAX + 16];
        const char *s;
        snprintf(key, sizeof(key), "model_%s", names[i]);
        if ((s = ydoc_str(d, root, key)) && *s && !(m->camera_model[i] = strdup(s)))
            return err_set(e, VAS_ENOMEM, "out of memory");
        snprintf(key, sizeof(key), "config_file_%s", names[i]);
        if ((s = ydoc_str(d, root, key)) && *s && !(m->camera_config[i] = strdup(s)))
            return err_set(e, VAS_ENOMEM, "out of memory");
    }
    return VAS_OK;
}

static int read_settings(geom_model3d *m, yaml_document_t *d, yaml_node_t *root, vas_err *e)
{
    double dot;

    m->task = dup_or(ydoc_str(d, root, "Task"), m->name);
    m->scorername_3d = dup_or(ydoc_str(d, root, "scorername_3d"), "DLC_3D");
    m->colormap = dup_or(ydoc_str(d, root, "colormap"), "jet");
    m->skeleton_color = dup_or(ydoc_str(d, root, "skeleton_color"), "black");
    if (!m->task || !m->scorername_3d || !m->colormap || !m->skeleton_color)
        return err_set(e, VAS_ENOMEM, "out of memory");
    if (ydoc_num_at(d, root, "pcutoff", 0.4, &m->pcutoff) < 0 || !(m->pcutoff >= 0) ||
        m->pcutoff > 1)
        return err_set(e, VAS_EINVAL, "config.yaml: pcutoff must be a number from 0 to 1");
    if (ydoc_num_at(d, root, "alphaValue", 0.8, &m->alphavalue) < 0 ||
        ydoc_num_at(d, root, "dotsize", 15, &dot) < 0 || !(dot >= 0) || dot > 1000)
        return err_set(e, VAS_EINVAL, "config.yaml: alphaValue and dotsize must be numbers");
    m->dotsize = (int)dot;
    if (!*m->scorername_3d)
        return err_set(e, VAS_EINVAL, "config.yaml: scorername_3d is empty");
    return VAS_OK;
}

/* The calibration file named by `calibration:` (or calibration.yaml), its cameras in order. */
static int read_calib(geom_model3d *m, const char *file, const char **names, vas_err *e)
{
    char path[PATH_LEN];
    geom_calib all;
    vas_err se = {0};
    int rc;

    if (file && file[0] == '/')
        snprintf(path, sizeof(path), "%s", file);
    else
        snprintf(path, sizeof(path), "%s/%s", m->dir, file ? file : "calibration.yaml");
    if (!(m->calib_path = strdup(path)))
        return err_set(e, VAS_ENOMEM, "out of memory");
    if (!file && !file_exists(path)) { /* a DeepLabCut 3D project as it is */
        snprintf(path, sizeof(path), "%s/camera_matrix/stereo_params.pickle", m->dir);
        if (!file_exists(path))
            return err_set(e, VAS_EINVAL,
                           "no calibration file %s (nor camera_matrix/stereo_params.pickle)",
                           m->calib_path);
        free(m->calib_path);
        if (!(m->calib_path = strdup(path)))
            return err_set(e, VAS_ENOMEM, "out of memory");
    } else if (!file_exists(path)) {
        return err_set(e, VAS_EINVAL, "no calibration file %s", m->calib_path);
    }
    rc = geom_calib_load(m->calib_path, &all, e);
    if (rc < 0)
        return rc;
    rc = geom_calib_select(&all, names, m->n_cameras, &m->calib, &se);
    if (rc < 0) /* say which file lacks the camera */
        return err_set(e, rc, "%s: %s", m->calib_path, se.msg);
    return VAS_OK;
}

static int read_config(geom_model3d *m, vas_err *e)
{
    char path[PATH_LEN];
    const char *names[GEOM_MAX_CAMERAS];
    yaml_document_t d;
    yaml_node_t *root;
    int rc;

    snprintf(path, sizeof(path), "%s/config.yaml", m->dir);
    rc = ydoc_load(path, &d, e);
    if (rc < 0)
        return rc;
    root = yaml_document_get_root_node(&d);
    rc = read_cameras(&d, root, names, &m->n_cameras, e);
    if (rc == VAS_OK)
        rc = read_settings(m, &d, root, e);
    if (rc == VAS_OK)
        rc = read_skeleton(m, &d, root, e);
    if (rc == VAS_OK)
        rc = read_camera_models(m, &d, root, names, e);
    if (rc == VAS_OK)
        rc = read_calib(m, ydoc_str(&d, root, "calibration"), names, e);
    yaml_document_delete(&d);
    return rc;
}

int geom_model3d_load(const char *name, const char *dir, geom_model3d **out, vas_err *e)
{
    geom_model3d *m = calloc(1, sizeof(*m));
    int rc;

    if (!m)
        return err_set(e, VAS_ENOMEM, "out of memory");
    m->name = strdup(name);
    m->dir = strdup(dir);
    if (!m->name || !m->dir) {
        rc = err_set(e, VAS_ENOMEM, "out of memory");
        goto fail;
    }
    rc = read_config(m, e);
    if (rc < 0)
        goto fail;
    *out = m;
    return VAS_OK;
fail:
    geom_model3d_free(m);
    return rc;
}

void geom_model3d_free(geom_model3d *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->dir);
    free(m->calib_path);
    free(m->task);
    free(m->scorername_3d);
    free(m->colormap);
    free(m->skeleton_color);
    for (int i = 0; i < GEOM_MAX_CAMERAS; i++) {
        free(m->camera_model[i]);
        free(m->camera_config[i]);
    }
    for (int i = 0; i < m->n_skeleton; i++) {
        free(m->skeleton[i][0]);
        free(m->skeleton[i][1]);
    }
    free(m->skeleton);
    free(m);
}

const char *geom_model3d_camera(const geom_model3d *m, int i)
{
    return i >= 0 && i < m->calib.n ? m->calib.cam[i].name : NULL;
}

int geom_model3d_skeleton_index(const geom_model3d *m, const char *const *bodyparts, int n,
                                int (*pairs)[2], vas_err *e)
{
    for (int i = 0; i < m->n_skeleton; i++)
        for (int k = 0; k < 2; k++) {
            int j = 0;
            while (j < n && strcmp(bodyparts[j], m->skeleton[i][k]) != 0)
                j++;
            if (j == n)
                return err_set(e, VAS_EINVAL,
                               "3D model %s: skeleton part '%s' is not a body part of the 2D "
                               "model",
                               m->name, m->skeleton[i][k]);
            pairs[i][k] = j;
        }
    return VAS_OK;
}

json_t *geom_model3d_json(const geom_model3d *m)
{
    json_t *cams = json_array(), *sk = json_array();

    for (int i = 0; i < m->n_skeleton; i++)
        json_array_append_new(sk, json_pack("[s, s]", m->skeleton[i][0], m->skeleton[i][1]));
    for (int i = 0; i < m->calib.n; i++)
        json_array_append_new(
            cams, json_pack("{s:s, s:s?, s:s?, s:i, s:i}", "name", m->calib.cam[i].name, "model",
                            m->camera_model[i], "config_file", m->camera_config[i], "width",
                            m->calib.cam[i].width, "height", m->calib.cam[i].height));
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:o, s:o}", "name", m->name, "type", "3d",
                     "description", m->task, "scorername_3d", m->scorername_3d, "pcutoff",
                     m->pcutoff, "skeleton", sk, "cameras", cams);
}
