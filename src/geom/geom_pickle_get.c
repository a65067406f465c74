/* geom_pickle_get.c - look-ups in a pickle's object tree (see geom_pickle.h). */
#include "geom/geom_pickle.h"
#include "geom/geom_pickle_int.h"

#include <string.h>

/* ---- look-ups ---- */

static const pk_obj *get(const geom_pk *p, int o)
{
    return p && o >= 0 && o < p->n ? &p->o[o] : NULL;
}

int geom_pk_root(const geom_pk *p)
{
    return p ? p->root : -1;
}

int geom_pk_type(const geom_pk *p, int o)
{
    return get(p, o) ? get(p, o)->type : -1;
}

int geom_pk_len(const geom_pk *p, int o)
{
    const pk_obj *x = get(p, o);

    return !x ? 0 : x->type == GEOM_PK_DICT ? x->n / 2 : x->type == GEOM_PK_LIST ? x->n : 0;
}

int geom_pk_at(const geom_pk *p, int o, int i)
{
    const pk_obj *x = get(p, o);

    if (!x || i < 0 || i >= geom_pk_len(p, o))
        return -1;
    return x->items[x->type == GEOM_PK_DICT ? 2 * i + 1 : i];
}

int geom_pk_key(const geom_pk *p, int o, int i)
{
    const pk_obj *x = get(p, o);

    return x && x->type == GEOM_PK_DICT && i >= 0 && i < x->n / 2 ? x->items[2 * i] : -1;
}

const char *geom_pk_str(const geom_pk *p, int o)
{
    const pk_obj *x = get(p, o);

    return x && x->type == GEOM_PK_STR ? x->s : NULL;
}

int geom_pk_get(const geom_pk *p, int o, const char *k)
{
    for (int i = 0; i < geom_pk_len(p, o) && geom_pk_type(p, o) == GEOM_PK_DICT; i++) {
        const char *s = geom_pk_str(p, geom_pk_key(p, o, i));
        if (s && strcmp(s, k) == 0)
            return geom_pk_at(p, o, i);
    }
    return -1;
}

static int numbers(const geom_pk *p, int o, double *out, int cap, int *n, int depth)
{
    const pk_obj *x = get(p, o);

    if (!x || depth > 8)
        return -1;
    switch (x->type) {
    case GEOM_PK_INT:
    case GEOM_PK_FLOAT:
        if (*n >= cap)
            return -1;
        out[(*n)++] = x->f;
        return 0;
    case GEOM_PK_ARRAY:
        if (x->numel > cap - *n)
            return -1;
        memcpy(out + *n, x->data, (size_t)x->numel * sizeof(double));
        *n += (int)x->numel;
        return 0;
    case GEOM_PK_LIST:
        for (int i = 0; i < x->n; i++)
            if (numbers(p, x->items[i], out, cap, n, depth + 1) < 0)
                return -1;
        return 0;
    default:
        return -1;
    }
}

int geom_pk_numbers(const geom_pk *p, int o, double *out, int cap, int *n)
{
    *n = 0;
    return numbers(p, o, out, cap, n, 0);
}
