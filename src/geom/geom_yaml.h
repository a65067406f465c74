/* geom_yaml.h - the few libyaml document helpers geom's files need: loading a file (OpenCV
 * FileStorage's "%YAML:1.0" first line made readable), finding a key, reading scalars, numbers
 * and name lists. Owns: nothing beyond the yaml_document_t the caller gives.
 * Not: what the keys mean (geom_calib.c, geom_model3d.c).
 * Threads: any; a document belongs to one thread. */
#ifndef VAS_GEOM_YAML_H
#define VAS_GEOM_YAML_H

#include "core/err.h"

#include <yaml.h>

/* Reads path into *doc (caller frees: yaml_document_delete) with a root node. A first line
 * "%YAML:1.0" (OpenCV's, which libyaml refuses) is read as a comment. Files over 16 MiB are
 * refused: a calibration or project config is a few KiB. */
int geom_yaml_load(const char *path, yaml_document_t *doc, vas_err *e);
/* The value of key in mapping map; NULL if map is no mapping or lacks key. */
yaml_node_t *geom_yaml_get(yaml_document_t *d, yaml_node_t *map, const char *key);
/* Borrowed string of a scalar value (valid while d lives); NULL if absent or not a scalar. */
const char *geom_yaml_str(yaml_document_t *d, yaml_node_t *map, const char *key);
/* A scalar node as a number: 0 ok, -1 if it is not one (e.g. ".Nan" or "abc"). */
int geom_yaml_num(yaml_node_t *n, double *out);
/* The number at key, or def when absent; -1 (and *out untouched) when present but no number. */
int geom_yaml_num_at(yaml_document_t *d, yaml_node_t *map, const char *key, double def,
                     double *out);

#endif
