/* dlc_h5_pickle.c - the two column pickles of a DeepLabCut HDF5 file, written as Python's
 * pickle module writes them at protocol 0 (Lib/pickle.py, _Pickler), which is what PyTables
 * does with list- and tuple-valued attributes:
 *   "(l" MARK+LIST, "(d" MARK+DICT, "t" TUPLE, "a" APPEND, "I1\n" INT, "." STOP;
 *   each new list/tuple/str is memoized: "p<n>\n" (PUT); a str seen before is "g<n>\n" (GET).
 *   A str is "V" + raw-unicode-escape of the text (after \ NUL LF CR ^Z became \uXXXX) + "\n".
 * Python memoizes by object identity; pandas builds the column tuples from the MultiIndex
 * levels, so equal names are the same object and memoizing by value gives identical bytes
 * (checked against files pandas wrote; any memo choice unpickles to the same columns). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose/dlc_h5_int.h"

#define PKL_MAX ((size_t)64 << 20) /* ceiling; 1024 bodyparts of 1 KiB names stay far below */

static void pkl_add(dlc_pkl *p, const void *s, size_t n)
{
    if (p->oom)
        return;
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        char *nb;

        while (cap < p->len + n)
            cap *= 2;
        nb = cap <= PKL_MAX ? realloc(p->buf, cap) : NULL;
        if (!nb) {
            p->oom = 1;
            return;
        }
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
}

static void pkl_text(dlc_pkl *p, const char *s)
{
    pkl_add(p, s, strlen(s));
}

/* PUT: memoizes the object just built (str is the text when it is a string). */
static void pkl_put(dlc_pkl *p, const char *str)
{
    char op[24];

    if (p->n_memo == p->cap_memo) {
        int cap = p->cap_memo ? 2 * p->cap_memo : 32;
        const char **nm = realloc(p->memo, (size_t)cap * sizeof(*nm));

        if (!nm) {
            p->oom = 1;
            return;
        }
        p->memo = nm;
        p->cap_memo = cap;
    }
    p->memo[p->n_memo] = str;
    snprintf(op, sizeof(op), "p%d\n", p->n_memo++);
    pkl_text(p, op);
}

/* Next code point of valid UTF-8 (pose_layout_check made sure), advancing *s. */
static uint32_t utf8_next(const unsigned char **s)
{
    const unsigned char *c = *s;
    uint32_t cp;
    int n, i;

    if (c[0] < 0x80)
        n = 1, cp = c[0];
    else if (c[0] < 0xe0)
        n = 2, cp = c[0] & 0x1fu;
    else if (c[0] < 0xf0)
        n = 3, cp = c[0] & 0x0fu;
    else
        n = 4, cp = c[0] & 0x07u;
    for (i = 1; i < n; i++)
        cp = (cp << 6) | (c[i] & 0x3fu);
    *s = c + n;
    return cp;
}

/* "V<raw-unicode-escape>\n" then PUT, or GET if this text was pickled before. */
static void pkl_str(dlc_pkl *p, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    char esc[16];
    int i;

    for (i = 0; i < p->n_memo; i++)
        if (p->memo[i] && strcmp(p->memo[i], s) == 0) {
            snprintf(esc, sizeof(esc), "g%d\n", i);
            pkl_text(p, esc);
            return;
        }
    pkl_text(p, "V");
    while (*u) {
        uint32_t cp = utf8_next(&u);
        unsigned char b = (unsigned char)cp;

        if (cp == '\\' || cp == 0 || cp == '\n' || cp == '\r' || cp == 0x1a || cp > 0xff) {
            snprintf(esc, sizeof(esc), cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
            pkl_text(p, esc);
        } else {
            pkl_add(p, &b, 1); /* latin-1 range: the raw byte */
        }
    }
    pkl_text(p, "\n");
    pkl_put(p, s);
}

/* The (scorer, bodypart, coord) tuples, each appended to the open list. */
static void pkl_columns(dlc_pkl *p, const pose_layout *l)
{
    int i, k, nc = pose_layout_n_coords(l);

    for (i = 0; i < l->n_bodyparts; i++)
        for (k = 0; k < nc; k++) {
            pkl_text(p, "(");
            pkl_str(p, l->scorer);
            pkl_str(p, l->bodyparts[i]);
            pkl_str(p, pose_layout_coord(l, k));
            pkl_text(p, "t");
            pkl_put(p, NULL);
            pkl_text(p, "a");
        }
}

static int pkl_done(dlc_pkl *p, vas_err *e)
{
    pkl_text(p, ".");
    if (p->oom)
        return err_set(e, VAS_ENOMEM, "out of memory writing the HDF5 column attributes");
    return VAS_OK;
}

int dlc_pkl_non_index_axes(dlc_pkl *p, const pose_layout *l, vas_err *e)
{
    pkl_text(p, "(l");
    pkl_put(p, NULL);
    pkl_text(p, "(I1\n(l");
    pkl_put(p, NULL);
    pkl_columns(p, l);
    pkl_text(p, "t");
    pkl_put(p, NULL);
    pkl_text(p, "a");
    return pkl_done(p, e);
}

int dlc_pkl_block_kind(dlc_pkl *p, const pose_layout *l, vas_err *e)
{
    pkl_text(p, "(l");
    pkl_put(p, NULL);
    pkl_columns(p, l);
    return pkl_done(p, e);
}

void dlc_pkl_free(dlc_pkl *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p->memo);
    memset(p, 0, sizeof(*p));
}
