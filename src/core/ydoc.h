/* ydoc.h - the few libyaml document helpers the YAML readers share (model bundles, 3D bundles,
 * calibration files): loading a file (OpenCV FileStorage's "%YAML:1.0" first line made
 * readable), finding a key, reading scalars and numbers. Owns: nothing beyond the
 * yaml_document_t the caller gives. Not: what the keys mean (pose_model.c, geom_calib.c,
 * geom_model3d.c; the server's own config.yaml is config.c's).
 * Threads: any; a document belongs to one thread. */
#ifndef VAS_YDOC_H
#define VAS_YDOC_H

#include "core/err.h"

#include <yaml.h>

/* Reads path into *doc (caller frees: yaml_document_delete) with a root node. A first line
 * "%YAML:1.0" (OpenCV's, which libyaml refuses) is read as a comment. Files over 16 MiB are
 * refused: a calibration or project config is a few KiB. */
int ydoc_load(const char *path, yaml_document_t *doc, vas_err *e);
/* The value of key in mapping map; NULL if map is no mapping or lacks key. */
yaml_node_t *ydoc_get(yaml_document_t *d, yaml_node_t *map, const char *key);
/* Borrowed string of a scalar value (valid while d lives); NULL if absent or not a scalar. */
const char *ydoc_str(yaml_document_t *d, yaml_node_t *map, const char *key);
/* A scalar node as a number: 0 ok, -1 if it is not one (e.g. ".Nan" or "abc"). */
int ydoc_num(yaml_node_t *n, double *out);
/* The number at key, or def when absent; -1 (and *out untouched) when present but no number. */
int ydoc_num_at(yaml_document_t *d, yaml_node_t *map, const char *key, double def, double *out);

#endif
