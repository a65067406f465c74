/* geom_toml.c - the bounded TOML subset reader (see geom_toml.h). One pass, recursive descent
 * over the bytes, which need not be NUL-terminated; every read checks the end first. */
#include "geom/geom_toml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tp {
    const char *p, *end, *line_start;
    const char *what; /* for messages */
    int line;
    int items; /* values so far, against GEOM_TOML_MAX_ITEMS */
    vas_err *e;
} tp;

static int fail(tp *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(tp *t, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(t->e, VAS_EINVAL, "%s:%d:%d: %s", t->what, t->line,
                   (int)(t->p - t->line_start) + 1, msg);
}

static int at(const tp *t, char c)
{
    return t->p < t->end && *t->p == c;
}

static void skip_blank(tp *t)
{
    while (t->p < t->end && (*t->p == ' ' || *t->p == '\t'))
        t->p++;
}

static void skip_comment(tp *t)
{
    if (at(t, '#'))
        while (t->p < t->end && *t->p != '\n')
            t->p++;
}

/* A line break at p (LF or CR LF): steps over it and returns 1. */
static int newline(tp *t)
{
    if (t->p + 1 < t->end && t->p[0] == '\r' && t->p[1] == '\n')
        t->p++;
    if (!at(t, '\n'))
        return 0;
    t->p++;
    t->line++;
    t->line_start = t->p;
    return 1;
}

/* Blanks, comments and line breaks (inside arrays). */
static void skip_space(tp *t)
{
    do {
        skip_blank(t);
        skip_comment(t);
    } while (newline(t));
}

static int end_of_line(tp *t)
{
    skip_blank(t);
    skip_comment(t);
    if (t->p == t->end || newline(t))
        return VAS_OK;
    return fail(t, "expected the end of the line, found '%c'", *t->p);
}

/* ---- strings ---- */

static void put_utf8(char *o, size_t *n, unsigned long cp)
{
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*n)++] = (char)(0xc0 | cp >> 6);
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xe0 | cp >> 12);
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*n)++] = (char)(0xf0 | cp >> 18);
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* \uXXXX or \UXXXXXXXX (p at the u/U) into o. */
static int unicode_escape(tp *t, char *o, size_t *n)
{
    int digits = *t->p == 'u' ? 4 : 8;
    unsigned long cp = 0;

    t->p++;
    for (int i = 0; i < digits; i++, t->p++) {
        const char *hex = "0123456789abcdef0123456789ABCDEF", *h;
        if (t->p >= t->end || !*t->p || !(h = strchr(hex, *t->p)))
            return fail(t, "a \\u escape needs %d hex digits", digits);
        cp = cp << 4 | (unsigned long)((h - hex) % 16);
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return fail(t, "a \\u escape names no Unicode scalar value");
    put_utf8(o, n, cp);
    return VAS_OK;
}

static int escape(tp *t, char *o, size_t *n)
{
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    const char *k;

    t->p++; /* the backslash */
    if (t->p >= t->end)
        return fail(t, "a string is not closed");
    if (*t->p == 'u' || *t->p == 'U')
        return unicode_escape(t, o, n);
    if (!*t->p || !(k = strchr(from, *t->p)))
        return fail(t, "unknown escape '\\%c' in a string", *t->p);
    o[(*n)++] = to[k - from];
    t->p++;
    return VAS_OK;
}

/* A "basic" or 'literal' one-line string (p at the quote) into a new *out. */
static int string(tp *t, char **out)
{
    char q = *t->p, *o;
    const char *open = t->p;
    size_t n = 0;
    int rc = VAS_OK;

    if (t->p + 2 < t->end && t->p[1] == q && t->p[2] == q)
        return fail(t, "multi-line strings are not read in a calibration");
    t->p++;
    /* The text never grows: an escape of k bytes writes at most k bytes of UTF-8. */
    if (!(o = malloc((size_t)(t->end - t->p) + 1)))
        return err_set(t->e, VAS_ENOMEM, "out of memory reading %s", t->what);
    while (rc == VAS_OK) {
        if (t->p >= t->end || *t->p == '\n' || *t->p == '\r')
            rc = (t->p = open, fail(t, "a string is not closed on its line"));
        else if (*t->p == q)
            break;
        else if ((unsigned char)*t->p < 0x20 && *t->p != '\t')
            rc = fail(t, "a string holds control character 0x%02x", (unsigned char)*t->p);
        else if (q == '"' && *t->p == '\\')
            rc = escape(t, o, &n);
        else
            o[n++] = *t->p++;
    }
    if (rc < 0) {
        free(o);
        return rc;
    }
    t->p++;
    o[n] = '\0';
    *out = o;
    return VAS_OK;
}

/* ---- numbers, booleans ---- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits with single _ between them; how many digits were read. */
static int digits(const char **s, const char *end)
{
    int n = 0;

    while (*s < end && is_digit(**s)) {
        (*s)++;
        n++;
        if (*s + 1 < end && **s == '_' && is_digit((*s)[1]))
            (*s)++;
    }
    return n;
}

/* The token [s, end) as a TOML decimal number: [+-](inf|nan|int[.frac][e[+-]exp]). */
static int number_ok(const char *s, const char *end)
{
    if (s < end && (*s == '+' || *s == '-'))
        s++;
    if (end - s == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0))
        return 1;
    if (s + 1 < end && s[0] == '0' && is_digit(s[1]))
        return 0; /* TOML: no leading zeros */
    if (!digits(&s, end))
        return 0;
    if (s < end && *s == '.' && (s++, !digits(&s, end)))
        return 0;
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-'))
            s++;
        if (!digits(&s, end))
            return 0;
    }
    return s == end;
}

static int scalar(tp *t, geom_toml_val *v)
{
    const char *s = t->p;
    char buf[128];
    size_t n = 0;

    while (t->p < t->end && !strchr(" \t\r\n,]#", *t->p) && *t->p)
        t->p++;
    if (t->p == s)
        return fail(t, "expected a value");
    if ((t->p - s == 4 && memcmp(s, "true", 4) == 0) ||
        (t->p - s == 5 && memcmp(s, "false", 5) == 0)) {
        v->type = GEOM_TOML_BOOL;
        v->b = *s == 't';
        return VAS_OK;
    }
    if (!number_ok(s, t->p) || t->p - s >= (long)sizeof(buf)) {
        int tl = (int)(t->p - s);
        t->p = s;
        if (*s == '{')
            return fail(t, "inline tables are not read in a calibration");
        return fail(t,
                    "'%.*s' is not a string, number, boolean or array (dates and hex, octal or "
                    "binary numbers are not read)",
                    tl > 40 ? 40 : tl, s);
    }
    for (const char *c = *s == '+' ? s + 1 : s; c < t->p; c++)
        if (*c != '_')
            buf[n++] = *c;
    buf[n] = '\0';
    v->type = GEOM_TOML_NUM;
    v->num = strtod(buf, NULL);
    return VAS_OK;
}

/* ---- values ---- */

static int value(tp *t, geom_toml_val *v, int depth);

static int array(tp *t, geom_toml_val *v, int depth)
{
    int cap = 0, rc;

    v->type = GEOM_TOML_ARRAY;
    if (depth >= GEOM_TOML_MAX_DEPTH)
        return fail(t, "arrays nest deeper than %d", GEOM_TOML_MAX_DEPTH);
    t->p++;
    for (;;) {
        skip_space(t);
        if (at(t, ']'))
            break;
        if (v->n == cap) {
            geom_toml_val *ni = realloc(v->items, (size_t)(cap = cap ? 2 * cap : 4) * sizeof(*ni));
            if (!ni)
                return err_set(t->e, VAS_ENOMEM, "out of memory reading %s", t->what);
            v->items = ni;
        }
        memset(&v->items[v->n], 0, sizeof(v->items[0]));
        rc = value(t, &v->items[v->n++], depth + 1);
        if (rc < 0)
            return rc;
        skip_space(t);
        if (at(t, ','))
            t->p++;
        else if (!at(t, ']'))
            return t->p < t->end ? fail(t, "expected ',' or ']' in an array")
                                 : fail(t, "an array is not closed");
    }
    t->p++;
    return VAS_OK;
}

static int value(tp *t, geom_toml_val *v, int depth) /* NOLINT(misc-no-recursion): depth-bound */
{
    v->line = t->line;
    v->col = (int)(t->p - t->line_start) + 1;
    if (++t->items > GEOM_TOML_MAX_ITEMS)
        return fail(t, "more than %d values", GEOM_TOML_MAX_ITEMS);
    if (t->p >= t->end)
        return fail(t, "expected a value");
    if (*t->p == '"' || *t->p == '\'') {
        v->type = GEOM_TOML_STR;
        return string(t, &v->s);
    }
    if (*t->p == '[')
        return array(t, v, depth);
    return scalar(t, v);
}

static void val_clear(geom_toml_val *v) /* NOLINT(misc-no-recursion): depth-bound */
{
    for (int i = 0; i < v->n; i++)
        val_clear(&v->items[i]);
    free(v->items);
    free(v->s);
}

/* ---- keys, tables ---- */

static int key(tp *t, char **out)
{
    const char *s = t->p;

    if (at(t, '"') || at(t, '\''))
        return string(t, out);
    while (t->p < t->end && (is_digit(*t->p) || *t->p == '_' || *t->p == '-' ||
                             ((*t->p | 0x20) >= 'a' && (*t->p | 0x20) <= 'z')))
        t->p++;
    if (t->p == s)
        return fail(t, "expected a key");
    if (!(*out = strndup(s, (size_t)(t->p - s))))
        return err_set(t->e, VAS_ENOMEM, "out of memory reading %s", t->what);
    return VAS_OK;
}

const geom_toml_val *geom_toml_get(const geom_toml_table *t, const char *k)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->kv[i].key, k) == 0)
            return &t->kv[i].v;
    return NULL;
}

static int add_table(tp *t, geom_toml *d, char *name)
{
    geom_toml_table *nt;

    for (int i = 1; i < d->n; i++)
        if (strcmp(d->t[i].name, name) == 0) {
            free(name);
            return fail(t, "table [%.64s] is given twice", d->t[i].name);
        }
    if (d->n == d->cap) {
        nt = realloc(d->t, (size_t)(d->cap = d->cap ? 2 * d->cap : 8) * sizeof(*nt));
        if (!nt) {
            free(name);
            return err_set(t->e, VAS_ENOMEM, "out of memory reading %s", t->what);
        }
        d->t = nt;
    }
    d->t[d->n++] = (geom_toml_table){.name = name, .line = t->line};
    return VAS_OK;
}

static int header(tp *t, geom_toml *d)
{
    char *name = NULL;
    int rc;

    t->p++;
    if (at(t, '['))
        return fail(t, "arrays of tables ([[...]]) are not read in a calibration");
    skip_blank(t);
    if ((rc = key(t, &name)) < 0)
        return rc;
    skip_blank(t);
    if (!at(t, ']')) {
        free(name);
        return at(t, '.') ? fail(t, "dotted table names are not read in a calibration")
                          : fail(t, "expected ']' after the table name");
    }
    t->p++;
    if ((rc = add_table(t, d, name)) < 0)
        return rc;
    return end_of_line(t);
}

static int key_value(tp *t, geom_toml_table *tab)
{
    geom_toml_kv kv = {0};
    const char *start = t->p;
    int rc = key(t, &kv.key);

    if (rc < 0)
        return rc;
    skip_blank(t);
    if (at(t, '.'))
        rc = fail(t, "dotted keys are not read in a calibration");
    else if (!at(t, '='))
        rc = fail(t, "expected '=' after key '%.64s'", kv.key);
    else if (geom_toml_get(tab, kv.key))
        rc = (t->p = start, fail(t, "key '%.64s' is given twice in [%.64s]", kv.key, tab->name));
    if (rc == VAS_OK) {
        t->p++;
        skip_blank(t);
        rc = value(t, &kv.v, 0);
    }
    if (rc == VAS_OK && tab->n == tab->cap) {
        geom_toml_kv *n =
            realloc(tab->kv, (size_t)(tab->cap = tab->cap ? 2 * tab->cap : 8) * sizeof(*n));
        if (!n)
            rc = err_set(t->e, VAS_ENOMEM, "out of memory reading %s", t->what);
        else
            tab->kv = n;
    }
    if (rc < 0) {
        free(kv.key);
        val_clear(&kv.v);
        return rc;
    }
    tab->kv[tab->n++] = kv;
    return end_of_line(t);
}

int geom_toml_parse(const char *buf, size_t len, const char *what, geom_toml **out, vas_err *e)
{
    tp t = {.p = buf, .end = buf + len, .line_start = buf, .what = what, .line = 1, .e = e};
    geom_toml *d = calloc(1, sizeof(*d));
    char *root = strdup("");
    int rc = d && root ? add_table(&t, d, root) : err_set(e, VAS_ENOMEM, "out of memory");

    if (!d)
        free(root);
    while (rc == VAS_OK && t.p < t.end) {
        skip_blank(&t);
        skip_comment(&t);
        if (t.p == t.end || newline(&t))
            continue;
        if (!*t.p)
            rc = fail(&t, "a NUL byte");
        else if (*t.p == '[')
            rc = header(&t, d);
        else
            rc = key_value(&t, &d->t[d->n - 1]);
    }
    if (rc < 0) {
        geom_toml_free(d);
        return rc;
    }
    *out = d;
    return VAS_OK;
}

void geom_toml_free(geom_toml *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++) {
        for (int k = 0; k < d->t[i].n; k++) {
            free(d->t[i].kv[k].key);
            val_clear(&d->t[i].kv[k].v);
        }
        free(d->t[i].kv);
        free(d->t[i].name);
    }
    free(d->t);
    free(d);
}
