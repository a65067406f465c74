/* crash.c - test builds only: the hidden `crash` analysis, whose job kills its worker with
 * SIGSEGV. It proves a crashing job becomes FAILURE and the server goes on. */
#ifdef VAS_TEST_BUILD
#include "analyses/analysis.h"
#include "queue/job.h"

#include <signal.h>

static const char *const crash_args[] = {NULL};

static int crash_check(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e)
{
    (void)env;
    (void)fields;
    (void)args;
    (void)e;
    return VAS_OK;
}

static int crash_run(job *j, vas_err *e)
{
    int rc = job_progress(j, 0, 1, "steps", e);

    if (rc < 0)
        return rc;
    raise(SIGSEGV);
    return VAS_OK;
}

const analysis_def analysis_crash = {"crash", 0, "steps", 1, 1, crash_args, crash_check, crash_run};
#else
typedef int crash_c_is_empty_outside_test_builds; /* ISO C wants a declaration */
#endif
