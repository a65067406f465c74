/* geom_models3d.c - the list of loaded 3D models (see geom_models3d.h). */
#include "geom/geom_models3d.h"

#include "core/digest.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN   4096
#define MAX_FOLDER 256

struct geom_models3d {
    geom_models3d_item *v; /* n items, in folder name order */
    int n;
};

/* Adds the bytes of path to c. */
/* SHA-1 over the SHA-1s of config.yaml and the calibration and each camera's 2D fingerprint. */
static int fingerprint(geom_models3d_item *it, vas_err *e)
{
    char path[PATH_LEN], all[(GEOM_MAX_CAMERAS + 2) * 41] = "";
    size_t k;
    int rc;

    snprintf(path, sizeof(path), "%s/config.yaml", it->model->dir);
    rc = digest_file_sha1(path, all, e);
    if (rc == VAS_OK)
        rc = digest_file_sha1(it->model->calib_path, all + 40, e);
    if (rc < 0)
        return rc;
    k = 80;
    for (int i = 0; i < it->model->n_cameras; i++) /* "-": no 2D model for the camera */
        k += (size_t)snprintf(all + k, sizeof(all) - k, "%s",
                              it->cam[i] ? it->cam[i]->fingerprint : "-");
    digest_sha1_hex(all, k, it->sha1);
    return VAS_OK;
}

/* The loaded 2D model whose bundle folder holds config_path, or NULL. */
static const pose_model *by_config(const pose_models *m2d, const char *config_path)
{
    char want[PATH_MAX], have[PATH_MAX], dir[PATH_LEN];
    const char *slash = strrchr(config_path, '/');

    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - config_path) : 1,
             slash ? config_path : ".");
    if (!realpath(dir, want))
        return NULL;
    for (int i = 0; i < pose_models_count(m2d); i++) {
        const pose_model *p = pose_models_at(m2d, i);
        if (realpath(p->dir, have) && strcmp(have, want) == 0)
            return p;
    }
    return NULL;
}

/* Ties each camera of it->model to its 2D model. */
static int resolve(geom_models3d_item *it, const pose_models *m2d, vas_err *e)
{
    const geom_model3d *m = it->model;

    for (int i = 0; i < m->n_cameras; i++) {
        const char *cam = geom_model3d_camera(m, i);
        if (m->camera_model[i])
            it->cam[i] = pose_models_find(m2d, m->camera_model[i]);
        else if (m->camera_config[i])
            it->cam[i] = by_config(m2d, m->camera_config[i]);
        else
            continue; /* none: the camera's inputs must be 2D pose files (tri_run.h) */
        if (!it->cam[i])
            return err_set(e, VAS_EINVAL, "camera %s's 2D model '%s' is not loaded", cam,
                           m->camera_model[i] ? m->camera_model[i] : m->camera_config[i]);
    }
    return VAS_OK;
}

/* Loads the bundle dir/name into l; a broken one is logged and left out. */
static int try_load(geom_models3d *l, const pose_models *m2d, const char *dir, const char *name,
                    vas_err *e)
{
    geom_models3d_item it = {0};
    char path[PATH_LEN];
    vas_err me = {0};
    geom_models3d_item *nv;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (geom_model3d_load(name, path, &it.model, &me) < 0 || resolve(&it, m2d, &me) < 0 ||
        fingerprint(&it, &me) < 0) {
        log_error("geom", "event=model3d_broken model=%s dir=%s error=\"%s\"", name, path, me.msg);
        geom_model3d_free(it.model);
        return VAS_OK;
    }
    nv = realloc(l->v, (size_t)(l->n + 1) * sizeof(*nv));
    if (!nv) {
        geom_model3d_free(it.model);
        return err_set(e, VAS_ENOMEM, "out of memory");
    }
    l->v = nv;
    l->v[l->n++] = it;
    log_info("geom", "event=model3d_loaded model=%s cameras=%d", name, it.model->n_cameras);
    return VAS_OK;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int geom_models3d_load(const config *cfg, const pose_models *m2d, geom_models3d **out, vas_err *e)
{
    geom_models3d *l = calloc(1, sizeof(*l));
    char *names[MAX_FOLDER];
    int n = 0, rc = VAS_OK;
    DIR *d;
    struct dirent *de;

    if (!l)
        return err_set(e, VAS_ENOMEM, "out of memory");
    d = cfg->models_dir ? opendir(cfg->models_dir) : NULL;
    while (d && (de = readdir(d)) && n < MAX_FOLDER) /* NOLINT(concurrency-mt-unsafe): ours */
        if (de->d_name[0] != '.' && (names[n] = strdup(de->d_name)))
            n++;
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
    for (int i = 0; i < n; i++) {
        char path[PATH_LEN];
        snprintf(path, sizeof(path), "%s/%s", cfg->models_dir, names[i]);
        if (rc == VAS_OK && geom_model3d_is_bundle(path))
            rc = try_load(l, m2d, cfg->models_dir, names[i], e);
        free(names[i]);
    }
    if (rc < 0) {
        geom_models3d_free(l);
        return rc;
    }
    *out = l;
    return VAS_OK;
}

void geom_models3d_free(geom_models3d *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->n; i++)
        geom_model3d_free(l->v[i].model);
    free(l->v);
    free(l);
}

int geom_models3d_count(const geom_models3d *l)
{
    return l ? l->n : 0;
}

const geom_models3d_item *geom_models3d_at(const geom_models3d *l, int i)
{
    return l && i >= 0 && i < l->n ? &l->v[i] : NULL;
}

const geom_models3d_item *geom_models3d_find(const geom_models3d *l, const char *name)
{
    for (int i = 0; l && name && i < l->n; i++)
        if (strcmp(l->v[i].model->name, name) == 0)
            return &l->v[i];
    return NULL;
}

void geom_models3d_names(const geom_models3d *l, char *buf, size_t n)
{
    size_t k = 0;

    buf[0] = '\0';
    for (int i = 0; l && i < l->n && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", l->v[i].model->name);
    if (!l || l->n == 0)
        snprintf(buf, n, "none");
}

void geom_models3d_json(const geom_models3d *l, json_t *arr)
{
    for (int i = 0; l && i < l->n; i++)
        json_array_append_new(arr, geom_model3d_json(l->v[i].model));
}
