/* fields.h - the fields of an analysis request, as POST /analysis and `vas analyze` check them:
 * the common ones (analysis, model, file_id, file2_id ... fileN_id) and each analysis's own
 * (analysis_def.arg_names). Not: the values (each analysis's check). Threads: any; pure. */
#ifndef VAS_FIELDS_H
#define VAS_FIELDS_H

#include "analyses/analysis.h"

/* 1 if k is a field every analysis takes (analysis, model, file_id, fileN_id). */
int analysis_is_common_field(const char *k);
/* VAS_EINVAL naming the first field of fields (a JSON object) that analysis d does not take,
 * and the ones it takes. */
int analysis_check_fields(const analysis_def *d, const json_t *fields, vas_err *e);

#endif
