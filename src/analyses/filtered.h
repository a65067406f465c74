/* filtered.h - `filtered=1` on the analyses that draw or triangulate poses (label, triangulate):
 * the field and the filter's own arguments, checked as `filter` checks them (filter.c).
 * Threads: HTTP (check) and the worker (on). */
#ifndef VAS_FILTERED_H
#define VAS_FILTERED_H

#include <jansson.h>

#include "core/err.h"

/* "filtered" (0/1, true/false): when on, args gets "filtered": true and the filter's arguments
 * (analysis_check_filter_args); the filter's arguments without it are a 400 naming them. */
int analysis_check_filtered(const json_t *fields, json_t *args, vas_err *e);
/* 1 if a job's args ask for filtered poses. */
int analysis_filtered_on(const json_t *args);

#endif
