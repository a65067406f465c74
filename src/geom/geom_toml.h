/* geom_toml.h - a small, bounded TOML reader for what calibration files use (anipose's
 * calibration.toml): [table] headers, key = value with bare or quoted keys, values that are
 * basic "strings" or 'literal strings', numbers (integers and floats, with _ separators, inf,
 * nan), booleans, and arrays of these (nested, spanning lines, trailing comma allowed),
 * # comments. Anything else TOML has (inline tables, [[arrays of tables]], dotted keys,
 * dates, multi-line strings, hex/octal/binary integers) is refused with the line and column.
 * Owns: the parsed document. Not: what the keys mean (geom_calib_toml.c).
 * Threads: any; a document belongs to its caller. */
#ifndef VAS_GEOM_TOML_H
#define VAS_GEOM_TOML_H

#include "core/err.h"

#include <stddef.h>

#define GEOM_TOML_MAX_DEPTH 8      /* arrays inside arrays */
#define GEOM_TOML_MAX_ITEMS 100000 /* values in the whole document */

enum { GEOM_TOML_STR, GEOM_TOML_NUM, GEOM_TOML_BOOL, GEOM_TOML_ARRAY };

typedef struct geom_toml_val {
    int type;                    /* GEOM_TOML_* */
    int line, col;               /* where it starts, 1-based, for messages */
    double num;                  /* NUM */
    int b;                       /* BOOL: 0 or 1 */
    char *s;                     /* STR: UTF-8, NUL-terminated, owned */
    struct geom_toml_val *items; /* ARRAY: n values, owned */
    int n;
} geom_toml_val;

typedef struct geom_toml_kv {
    char *key; /* owned */
    geom_toml_val v;
} geom_toml_kv;

typedef struct geom_toml_table {
    char *name; /* owned; "" for the keys before the first [table] */
    int line;   /* of its [header] (0 for the root) */
    geom_toml_kv *kv;
    int n, cap;
} geom_toml_table;

typedef struct geom_toml {
    geom_toml_table *t; /* t[0] is the root table, then the [tables] in file order */
    int n, cap;
} geom_toml;

/* Parses buf (len bytes; what names it in messages: "<what>:<line>:<col>: ..."). New document
 * in *out (caller frees: geom_toml_free); *out untouched on error. A table or a key given
 * twice is refused, as TOML says. */
int geom_toml_parse(const char *buf, size_t len, const char *what, geom_toml **out, vas_err *e);
void geom_toml_free(geom_toml *d);
/* The value of key in table t, or NULL. */
const geom_toml_val *geom_toml_get(const geom_toml_table *t, const char *key);

#endif
