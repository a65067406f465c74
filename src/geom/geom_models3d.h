/* geom_models3d.h - the list of loaded 3D models (geom_model3d.h bundles found as sub-folders of
 * DLC_MODELS), each tied to the loaded 2D models of its cameras. Owns: scanning the folder,
 * resolving each camera's 2D model, the 3D model's fingerprint (part of the result cache key).
 * Not: parsing a bundle (geom_model3d.h), the 2D models (pose_model.h), triangulation.
 * Threads: a geom_models3d list is immutable once loaded; share it freely.
 *
 * A camera's 2D model is model_<camera> (a loaded 2D model's name) or else config_file_<camera>
 * (the 2D model whose bundle folder holds that config.yaml), or none: then the camera's inputs
 * must be 2D pose files (a video is refused when the job runs, saying so). DESIGN: a 3D bundle
 * that cannot be used (it does not parse, or a camera's 2D model is named but not loaded) is
 * logged with what is wrong and left out, as a broken 2D bundle is: every model listed can
 * run. */
#ifndef VAS_GEOM_MODELS3D_H
#define VAS_GEOM_MODELS3D_H

#include "core/config.h"
#include "core/err.h"
#include "geom/geom_model3d.h"
#include "pose/pose_model.h"

#include <jansson.h>

typedef struct geom_models3d_item {
    geom_model3d *model;                     /* owned by the list */
    const pose_model *cam[GEOM_MAX_CAMERAS]; /* camera i's 2D model (borrowed from the 2D list);
                                                NULL when the config names none */
    char sha1[41]; /* hex SHA-1 over the SHA-1s of config.yaml and the calibration, then each
                      camera's 2D model fingerprint ("-" for none): the fingerprint of
                      identical 3D work */
} geom_models3d_item;

typedef struct geom_models3d geom_models3d;

/* Every 3D bundle in cfg->models_dir whose cameras' 2D models are in m2d (borrowed; must outlive
 * the list). New list in *out (caller frees: geom_models3d_free); errors only for memory. */
int geom_models3d_load(const config *cfg, const pose_models *m2d, geom_models3d **out, vas_err *e);
void geom_models3d_free(geom_models3d *l);
int geom_models3d_count(const geom_models3d *l);
/* Borrowed results (valid while l lives); NULL if unknown / out of range. l may be NULL. */
const geom_models3d_item *geom_models3d_find(const geom_models3d *l, const char *name);
const geom_models3d_item *geom_models3d_at(const geom_models3d *l, int i);
/* "a, b" or "none" into buf. */
void geom_models3d_names(const geom_models3d *l, char *buf, size_t n);
/* Appends geom_model3d_json of each model to arr (GET /model). */
void geom_models3d_json(const geom_models3d *l, json_t *arr);

#endif
