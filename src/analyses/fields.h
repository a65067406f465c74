/* fields.h - the fields of an analysis request, as POST /analysis and `vas analyze` check them:
 * the common ones (analysis, model, file_id, file2_id ... fileN_id) and each analysis's own
 * (analysis_def.arg_names), and the parsing of the values every check shares (booleans and
 * numbers given as JSON or as form text). Not: their ranges (each analysis's check). Threads: any;
 * pure. */
#ifndef VAS_FIELDS_H
#define VAS_FIELDS_H

#include "analyses/analysis.h"

/* A boolean field value: JSON true/false, 0/1, or "0", "1", "true", "false": 1/0, or -1. */
int analysis_value_bool(const json_t *v);
/* A number field value (JSON number or numeric text) into *out: 0, or -1 when it is neither. */
int analysis_value_num(const json_t *v, double *out);

/* 1 if k is a field every analysis takes (analysis, model, file_id, fileN_id). */
int analysis_is_common_field(const char *k);
/* VAS_EINVAL naming the first field of fields (a JSON object) that analysis d does not take,
 * and the ones it takes. */
int analysis_check_fields(const analysis_def *d, const json_t *fields, vas_err *e);

#endif
