/* crash.c - test builds only: the hidden `crash` analysis, whose job misbehaves on purpose so
 * the tests can prove the service survives it. `mode` (default segv):
 *   segv    the job kills its worker with SIGSEGV: the job becomes FAILURE, the server goes on;
 *   alloc   the job allocates and touches `mib` MiB (under LIMIT_WORKER_MEMORY: FAILURE);
 *   output  the job writes `mib` MiB to its temp folder and stores it as an output, as the pose
 *           analyses stage theirs (the fault tests crash or fill the disk in between); a write
 *           error is VAS_EIO naming the file, as theirs are.
 * Result (alloc, output): {"mib": N} and, for output, "out_file". */
#ifdef VAS_TEST_BUILD
#include "analyses/analysis.h"
#include "queue/job.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CRASH_MAX_MIB 65536

static const char *const crash_args[] = {"mode", "mib", NULL};

static int crash_check(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e)
{
    const json_t *m = json_object_get(fields, "mode"), *v = json_object_get(fields, "mib");
    const char *mode = m ? json_string_value(m) : "segv";
    int64_t mib = 0;

    (void)env;
    if (!mode ||
        (strcmp(mode, "segv") != 0 && strcmp(mode, "alloc") != 0 && strcmp(mode, "output") != 0))
        return err_set(e, VAS_EINVAL, "'mode' must be segv, alloc or output");
    if (json_is_integer(v))
        mib = json_integer_value(v);
    else if (v && (!json_is_string(v) || util_parse_i64(json_string_value(v), &mib) < 0))
        return err_set(e, VAS_EINVAL, "'mib' must be a whole number of MiB");
    if (mib < 0 || mib > CRASH_MAX_MIB)
        return err_set(e, VAS_EINVAL, "'mib' must be from 0 to %d", CRASH_MAX_MIB);
    json_object_set_new(args, "mode", json_string(mode));
    json_object_set_new(args, "mib", json_integer((json_int_t)mib));
    return VAS_OK;
}

static int crash_alloc(job *j, int64_t mib, vas_err *e)
{
    size_t n = (size_t)mib << 20;
    char *p = malloc(n ? n : 1);

    if (!p)
        return err_set(e, VAS_ENOMEM, "out of memory allocating %lld MiB", (long long)mib);
    memset(p, 1, n); /* touched, so the pages are really there */
    free(p);
    json_object_set_new(job_result(j), "mib", json_integer((json_int_t)mib));
    return VAS_OK;
}

static int write_mib(const char *path, const char *seed, int64_t mib, vas_err *e)
{
    char buf[1 << 16];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = VAS_OK;

    if (fd < 0)
        return err_sys(e, VAS_EIO, errno, "cannot create %s", path);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = seed[i % strlen(seed)]; /* the analysis id: each job's output differs */
    for (int64_t left = mib << 20; left > 0 && rc == VAS_OK;) {
        ssize_t w = write(fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf));
        if (w < 0) /* as the pose writers say it: the worker adds the cause */
            rc = err_sys(e, VAS_EIO, errno, "cannot write %s", path);
        else
            left -= w; /* a short write: the next one says why */
    }
    if (close(fd) < 0 && rc == VAS_OK)
        rc = err_sys(e, VAS_EIO, errno, "cannot write %s", path);
    return rc;
}

static int crash_output(job *j, int64_t mib, vas_err *e)
{
    char dir[4096], path[4200], id[STORE_ID_LEN + 1];
    int rc = job_tmp_dir(j, dir, sizeof(dir), e);

    if (rc < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/out.bin.part", dir);
    rc = write_mib(path, j->a->id, mib, e);
    if (rc == VAS_OK)
        rc = job_output_file(j, path, "out.bin", "application/octet-stream", id, e);
    if (rc < 0)
        return rc;
    json_object_set_new(job_result(j), "mib", json_integer((json_int_t)mib));
    json_object_set_new(job_result(j), "out_file", json_string(id));
    return VAS_OK;
}

static int crash_run(job *j, vas_err *e)
{
    const char *mode = json_string_value(json_object_get(job_args(j), "mode"));
    int64_t mib = json_integer_value(json_object_get(job_args(j), "mib"));
    int rc = job_progress(j, 0, 1, "steps", e);

    if (rc < 0)
        return rc;
    if (mode && !strcmp(mode, "alloc"))
        return crash_alloc(j, mib, e);
    if (mode && !strcmp(mode, "output"))
        return crash_output(j, mib, e);
    raise(SIGSEGV);
    return VAS_OK;
}

const analysis_def analysis_crash = {"crash", 0, "steps", 1, 1, crash_args, crash_check, crash_run};
#else
typedef int crash_c_is_empty_outside_test_builds; /* ISO C wants a declaration */
#endif
