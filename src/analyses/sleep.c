/* sleep.c - the `sleep` test analysis of the old service: waits `time` seconds (checking for
 * cancel every 50 ms), then writes "sleep,<time>" as a CSV output.
 * Result: {"sleep_time": time, "csv_file": id}. */
#include "analyses/analysis.h"
#include "queue/job.h"

#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SLEEP_MAX_SECONDS (7 * 86400.0)

static const char *const sleep_args[] = {"time", NULL};

static int sleep_check(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e)
{
    const json_t *v = json_object_get(fields, "time");
    double t;

    (void)env;
    if (!v)
        return err_set(e, VAS_EINVAL,
                       "analysis 'sleep' needs 'time' (seconds, a non-negative number)");
    if (json_is_number(v))
        t = json_number_value(v);
    else if (!json_is_string(v) || util_parse_double(json_string_value(v), &t) < 0)
        return err_set(e, VAS_EINVAL, "'time' must be a number of seconds, not '%s'",
                       json_is_string(v) ? json_string_value(v) : "(not text)");
    if (t < 0 || t > SLEEP_MAX_SECONDS || !isfinite(t))
        return err_set(e, VAS_EINVAL, "'time' must be from 0 to %.0f seconds, not %g",
                       SLEEP_MAX_SECONDS, t);
    /* Whole seconds stay integers in JSON, as the old service answered them. */
    json_object_set_new(args, "time", t == floor(t) ? json_integer((json_int_t)t) : json_real(t));
    return VAS_OK;
}

static int sleep_run(job *j, vas_err *e)
{
    const json_t *tv = json_object_get(job_args(j), "time");
    double t = json_number_value(tv);
    int64_t total = (int64_t)(t * 1000), t0 = util_mono_ms(), left;
    char csv[64], id[STORE_ID_LEN + 1];
    int rc, n;

    while ((left = total - (util_mono_ms() - t0)) > 0) {
        struct timespec ts = {0, (left < 50 ? left : 50) * 1000000L};
        nanosleep(&ts, NULL);
        rc = job_progress(j, util_mono_ms() - t0 < total ? util_mono_ms() - t0 : total - 1, total,
                          "ms", e);
        if (rc < 0)
            return rc;
    }
    rc = job_progress(j, total, total, "ms", e);
    if (rc < 0)
        return rc;
    n = snprintf(csv, sizeof(csv), "sleep,%.15g\n", t);
    rc = job_output(j, csv, (size_t)n, "sleep.csv", "text/csv", id, e);
    if (rc < 0)
        return rc;
    json_object_set(job_result(j), "sleep_time", (json_t *)tv);
    json_object_set_new(job_result(j), "csv_file", json_string(id));
    return VAS_OK;
}

const analysis_def analysis_sleep = {"sleep", 0, "ms", 1, 1, sleep_args, sleep_check, sleep_run};
