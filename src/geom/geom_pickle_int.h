/* geom_pickle_int.h - the object tree geom_pickle.c builds and geom_pickle_get.c reads.
 * Not for other modules. Threads: any. */
#ifndef VAS_GEOM_PICKLE_INT_H
#define VAS_GEOM_PICKLE_INT_H

#include "geom/geom_pickle.h"

/* What a GEOM_PK_OTHER object is. */
enum {
    PK_G_RECONSTRUCT,
    PK_G_NDARRAY,
    PK_G_DTYPE,
    PK_G_SCALAR,
    PK_G_ENCODE,
    PK_O_DTYPE,
    PK_O_PENDING
};

typedef struct pk_obj {
    int type;       /* GEOM_PK_* */
    int sub;        /* OTHER: G_* or O_*; LIST: 1 for a tuple */
    int64_t i;      /* INT, BOOL; PK_O_DTYPE: item size */
    double f;       /* FLOAT */
    char *s;        /* STR, BYTES (NUL-terminated, owned); PK_O_DTYPE: unused */
    size_t slen;    /* bytes of s */
    int *items;     /* LIST: n; DICT: 2n (key, value) */
    int n, cap;     /* items used, allocated */
    double *data;   /* ARRAY: numel values, C order, owned */
    int64_t numel;  /* ARRAY */
    char kind, big; /* PK_O_DTYPE: 'f', 'i', 'u' or 'b'; 1 when big-endian */
} pk_obj;

struct geom_pk {
    pk_obj *o;
    int n, cap;
    int root;
};

#endif
