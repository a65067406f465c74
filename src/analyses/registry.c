/* registry.c - the table of analyses and look-up by name. */
#include "analyses/analysis.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Same name ignoring case, with '-' and '_' the same ("label-image" = "LABEL_image"). */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca == '_')
            ca = '-';
        if (cb == '_')
            cb = '-';
        if (ca != cb)
            return 0;
    }
    return *a == *b;
}

/* The analyses in the order clients see them listed. */
static const analysis_def *nth(int i)
{
    static const analysis_def *const all[] = {
        &analysis_sleep,       &analysis_video,       &analysis_image,    &analysis_label,
        &analysis_label_image, &analysis_triangulate, &analysis_label_3d, &analysis_filter};
    const int n_all = (int)(sizeof(all) / sizeof(all[0]));

    if (i < n_all)
        return all[i];
#ifdef VAS_TEST_BUILD
    if (i == n_all)
        return &analysis_crash;
#endif
    return NULL;
}

const analysis_def *analysis_at(int i)
{
    const analysis_def *d = nth(i);

#ifdef VAS_TEST_BUILD
    if (d == &analysis_crash)
        return NULL; /* hidden */
#endif
    return d;
}

const analysis_def *analysis_lookup(const char *name)
{
    const analysis_def *d;

    for (int i = 0; (d = nth(i)); i++)
        if (same_name(d->name, name))
            return d;
    return NULL;
}

void analysis_names(char *buf, size_t n)
{
    const analysis_def *d;
    size_t k = 0;

    buf[0] = '\0';
    for (int i = 0; (d = nth(i)) && k < n; i++) {
#ifdef VAS_TEST_BUILD
        if (d == &analysis_crash)
            continue; /* hidden */
#endif
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", d->name);
    }
}
