/* filtered.c - `filtered=1` and the filter's arguments on other analyses. See filtered.h. */
#include "analyses/filtered.h"

#include "analyses/analysis.h"
#include "analyses/fields.h"

int analysis_check_filtered(const json_t *fields, json_t *args, vas_err *e)
{
    static const char *const fa[] = {"filtertype", "windowlength", "p_bound",
                                     "ARdegree",   "MAdegree",     NULL};
    const json_t *f = json_object_get(fields, "filtered");
    int on = f ? analysis_value_bool(f) : 0;

    if (on < 0)
        return err_set(e, VAS_EINVAL, "'filtered' must be 0 or 1 (true or false)");
    if (!on) {
        for (int i = 0; fa[i]; i++)
            if (json_object_get(fields, fa[i]))
                return err_set(e, VAS_EINVAL, "'%s' applies with filtered=1", fa[i]);
        return VAS_OK;
    }
    json_object_set_new(args, "filtered", json_true());
    return analysis_check_filter_args(fields, args, e);
}

int analysis_filtered_on(const json_t *args)
{
    return json_is_true(json_object_get(args, "filtered"));
}
