/* fields.c - the fields an analysis request may carry. See fields.h. */
#include "analyses/fields.h"

#include "core/util.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int analysis_value_bool(const json_t *v)
{
    const char *s = json_string_value(v);

    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        return (int)json_integer_value(v);
    if (s && (!strcmp(s, "1") || !strcasecmp(s, "true")))
        return 1;
    if (s && (!strcmp(s, "0") || !strcasecmp(s, "false")))
        return 0;
    return -1;
}

int analysis_value_num(const json_t *v, double *out)
{
    const char *s = json_string_value(v);

    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    return s && util_parse_double(s, out) == 0 ? 0 : -1;
}

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
