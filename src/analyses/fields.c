/* fields.c - the fields an analysis request may carry. See fields.h. */
#include "analyses/fields.h"

#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int analysis_is_common_field(const char *k)
{
    char *end = NULL;
    long n;

    if (!strcmp(k, "file_id") || !strcmp(k, "analysis") || !strcmp(k, "model"))
        return 1;
    /* file2_id ... fileN_id */
    if (strncmp(k, "file", 4) != 0 || k[4] < '2' || k[4] > '9')
        return 0;
    n = strtol(k + 4, &end, 10);
    return n >= 2 && n <= STORE_MAX_INPUTS && strcmp(end, "_id") == 0;
}

int analysis_check_fields(const analysis_def *d, const json_t *fields, vas_err *e)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)fields, k, v)
    {
        int known = analysis_is_common_field(k);
        for (int i = 0; !known && d->arg_names[i]; i++)
            known = !strcmp(k, d->arg_names[i]);
        if (!known) {
            char takes[256] = "";
            size_t n = 0;
            for (int i = 0; d->arg_names[i] && n < sizeof(takes); i++)
                n += (size_t)snprintf(takes + n, sizeof(takes) - n, "%s%s", i ? ", " : "",
                                      d->arg_names[i]);
            return err_set(e, VAS_EINVAL, "unknown field '%s' for analysis '%s' (it takes: %s)", k,
                           d->name, n ? takes : "no arguments");
        }
    }
    return VAS_OK;
}
