/* range.c - see range.h. */
#include "http/range.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int parse_u63(const char **p, int64_t *out)
{
    int64_t v = 0;
    const char *s = *p;

    if (!isdigit((unsigned char)*s))
        return -1;
    while (isdigit((unsigned char)*s)) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s++ - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

int range_parse(const char *h, int64_t size, int64_t *start, int64_t *len)
{
    const char *p;
    int64_t a = -1, b = -1;

    if (!h || strncmp(h, "bytes=", 6) != 0)
        return RANGE_FULL;
    p = h + 6;
    while (*p == ' ')
        p++;
    if (strchr(p, ','))
        return RANGE_FULL;
    if (*p == '-') { /* suffix: the last n bytes */
        p++;
        if (parse_u63(&p, &b) < 0 || *p)
            return RANGE_FULL;
        if (b == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *start = b >= size ? 0 : size - b;
        *len = size - *start;
        return RANGE_PARTIAL;
    }
    if (parse_u63(&p, &a) < 0 || *p++ != '-')
        return RANGE_FULL;
    if (*p && (parse_u63(&p, &b) < 0 || *p || b < a))
        return RANGE_FULL;
    if (a >= size)
        return RANGE_UNSATISFIABLE;
    if (b < 0 || b >= size)
        b = size - 1;
    *start = a;
    *len = b - a + 1;
    return RANGE_PARTIAL;
}

int range_etag_match(const char *h, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = h;

    if (!h)
        return 0;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (!strncmp(p, etag, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}
