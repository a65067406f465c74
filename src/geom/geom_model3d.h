/* geom_model3d.h - 3D model bundles: a folder holding DeepLabCut's 3D project config.yaml
 * (camera_names, scorername_3d, pcutoff, skeleton, plotting settings, each camera's 2D model)
 * and a calibration (geom_calib.h's format). Owns: parsing and checking a bundle, telling 3D
 * bundles from 2D ones, resolving skeleton names against a body part list.
 * Not: the 2D models (pose_model.h: the caller matches camera_model / camera_config against
 * its loaded 2D models), triangulation (geom_tri.h). Threads: a loaded geom_model3d is
 * immutable; share it freely.
 *
 * config.yaml keys read (DeepLabCut's, defaults as create_new_project_3d writes them):
 *   camera_names: [camera-1, camera-2]  2 to GEOM_MAX_CAMERAS names, required
 *   num_cameras: 2                      optional; if given, must equal len(camera_names)
 *   scorername_3d: DLC_3D               [DLC_3D]
 *   pcutoff: 0.4  colormap: jet  skeleton_color: black  dotsize: 15  alphaValue: 0.8
 *   skeleton: [[snout, tailbase], ...]  pairs of body part names [none]
 *   config_file_<camera>: /path/to/2D/config.yaml   DeepLabCut's: the camera's 2D project
 *   Task: name                          [the bundle's name]
 * and vas's own:
 *   model_<camera>: <name of a loaded 2D vas model>  the 2D model for that camera (optional:
 *                                       without model_ or config_file_, the camera's inputs
 *                                       must be 2D pose files)
 *   calibration: calibration.yaml       the calibration file, relative to the folder unless
 *                                       absolute, in any dialect geom_calib_load reads (OpenCV
 *                                       YAML, anipose TOML, DeepLabCut stereo_params.pickle)
 *                                       [calibration.yaml, else DeepLabCut's
 *                                       camera_matrix/stereo_params.pickle]
 * The calibration must hold every camera in camera_names (others are ignored); its cameras
 * are kept in camera_names order. */
#ifndef VAS_GEOM_MODEL3D_H
#define VAS_GEOM_MODEL3D_H

#include "core/err.h"
#include "geom/geom_calib.h"

#include <jansson.h>

typedef struct geom_model3d {
    char *name;       /* the name clients use (folder name) */
    char *dir;        /* the bundle folder */
    char *calib_path; /* the calibration file read */
    char *task;       /* Task, or the name */
    char *scorername_3d, *colormap, *skeleton_color;
    double pcutoff, alphavalue;
    int dotsize;
    int n_cameras;                         /* = calib.n, >= 2 */
    char *camera_model[GEOM_MAX_CAMERAS];  /* model_<camera>, or NULL */
    char *camera_config[GEOM_MAX_CAMERAS]; /* config_file_<camera> as written, or NULL */
    char *(*skeleton)[2];                  /* pairs of body part names */
    int n_skeleton;
    geom_calib calib; /* calib.cam[i] is camera i; its name is calib.cam[i].name */
} geom_model3d;

/* 1 if dir/config.yaml is a 3D project config (it has camera_names or scorername_3d), else
 * 0 (also when it cannot be read). */
int geom_model3d_is_bundle(const char *dir);
/* Loads the bundle in dir. New model in *out (caller frees: geom_model3d_free); *out untouched
 * on error. */
int geom_model3d_load(const char *name, const char *dir, geom_model3d **out, vas_err *e);
void geom_model3d_free(geom_model3d *m);
/* Camera i's name (borrowed from m). */
const char *geom_model3d_camera(const geom_model3d *m, int i);
/* The skeleton as indices into bodyparts[0..n-1], into pairs (room for m->n_skeleton pairs).
 * Error naming the first skeleton part not in bodyparts. */
int geom_model3d_skeleton_index(const geom_model3d *m, const char *const *bodyparts, int n,
                                int (*pairs)[2], vas_err *e);
/* New JSON object for GET /model: {"name","type":"3d","description","scorername_3d",
 * "pcutoff","skeleton":[[a,b]...],"cameras":[{"name","model","config_file","width",
 * "height"}]} (model and config_file null when not given). */
json_t *geom_model3d_json(const geom_model3d *m);

#endif
