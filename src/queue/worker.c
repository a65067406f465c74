/* worker.c - `vas worker --embedded`: the process that runs jobs. It holds its own catalog
 * connection; it is killed (SIGTERM/SIGKILL) rather than asked to stop, which is safe because
 * every change it makes is a transaction and every output a blob linked in one (store.h). */
#include "queue/job.h"
#include "queue/queue.h"

#include "analyses/analysis.h"
#include "analyses/net_cache.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Under AddressSanitizer RLIMIT_AS cannot work: its shadow memory reserves terabytes of address
 * space, so any useful limit stops the process before main. */
#if defined(__SANITIZE_ADDRESS__)
#define WORKER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WORKER_ASAN 1
#endif
#endif
#ifndef WORKER_ASAN
#define WORKER_ASAN 0
#endif

/* End states and outputs that met a locked database (each after SQLite's busy timeout) are tried
 * again this many times before the worker gives up on them. */
#define FINISH_TRIES 6
/* Below this much free space in the data folder, a failed job is put down to a full disk. */
#define FULL_DISK_BYTES ((double)(1 << 20))

const json_t *job_args(const job *j)
{
    return j->a->args;
}

void job_input_path(const job *j, int i, char *out, size_t n)
{
    store_file_path(j->st, j->a->inputs[i], out, n);
}

json_t *job_result(job *j)
{
    return j->result;
}

int job_progress(job *j, int64_t done, int64_t total, const char *unit, vas_err *e)
{
    int64_t now = util_mono_ms();
    char state[12];
    int rc;

    /* The first report (it sets the total) and then one every 200 ms: the final count needs no
     * write of its own, since SUCCESS sets done = total. */
    if (j->remote) /* it keeps its own pace: cancel checks and progress events differ */
        return j->remote->progress(j->remote_arg, done, total, unit, e);
    if (j->last_progress && now - j->last_progress < 200)
        return VAS_OK;
    j->last_progress = now;
    rc = store_analysis_progress(j->st, j->a->id, done, total, unit, state, e);
    if (rc == VAS_EBUSY) {
        log_warn("queue", "event=progress_skipped analysis_id=%s reason=busy", j->a->id);
        return VAS_OK; /* progress is advisory: the next report tries again */
    }
    if (rc < 0)
        return rc;
    if (strcmp(state, "STARTED") != 0)
        return err_set(e, VAS_ECANCELLED, "analysis %s was cancelled", j->a->id);
    return VAS_OK;
}

int job_output(job *j, const void *p, size_t n, const char *filename, const char *ctype,
               char *id_out, vas_err *e)
{
    store_file f;
    int rc, tries = 0;

    if (j->remote)
        return j->remote->output(j->remote_arg, p, n, NULL, filename, ctype, id_out, e);
    do /* a busy database: wait again, the bytes are still here */
        rc = store_put_bytes(j->st, p, n, filename, ctype, &f, e);
    while (rc == VAS_EBUSY && ++tries < FINISH_TRIES);
    if (rc == VAS_OK)
        snprintf(id_out, STORE_ID_LEN + 1, "%s", f.id);
    return rc;
}

/* One try of job_output_file. */
static int output_file_once(job *j, const char *path, const char *filename, const char *ctype,
                            char *id_out, vas_err *e)
{
    char buf[1 << 16];
    store_writer *w = NULL;
    store_file f;
    ssize_t k;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return err_sys(e, VAS_EIO, errno, "cannot read output %s", path);
    rc = store_writer_new(j->st, 0, &w, e);
    while (rc == VAS_OK && (k = read(fd, buf, sizeof(buf))) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        rc = k < 0 ? err_sys(e, VAS_EIO, errno, "cannot read output %s", path)
                   : store_writer_write(w, buf, (size_t)k, e);
    }
    close(fd);
    if (rc < 0) {
        store_writer_abort(w);
        return rc;
    }
    rc = store_writer_commit(w, filename, ctype, &f, e);
    if (rc == VAS_OK)
        snprintf(id_out, STORE_ID_LEN + 1, "%s", f.id);
    return rc;
}

int job_output_file(job *j, const char *path, const char *filename, const char *ctype, char *id_out,
                    vas_err *e)
{
    int rc, tries = 0;

    if (j->remote)
        return j->remote->output(j->remote_arg, NULL, 0, path, filename, ctype, id_out, e);
    do /* a busy database: stream the file again, it is still there */
        rc = output_file_once(j, path, filename, ctype, id_out, e);
    while (rc == VAS_EBUSY && ++tries < FINISH_TRIES);
    return rc;
}

static void tmp_path(const job *j, char *out, size_t n)
{
    snprintf(out, n, "%s/tmp/%s", j->env->cfg->data_folder, j->a->id);
}

int job_tmp_dir(job *j, char *out, size_t n, vas_err *e)
{
    tmp_path(j, out, n);
    if (util_mkdir_p(out, 0700) < 0)
        return err_sys(e, VAS_EIO, errno, "cannot create %s", out);
    return VAS_OK;
}

/* The job's end state, tried again while the database is busy. */
static int set_end_state(store *st, store_analysis *a, int rc, job *j, const vas_err *e,
                         vas_err *e2)
{
    int tries = 0, r;

    do {
        if (tries)
            log_warn("queue", "event=finish_retry analysis_id=%s try=%d", a->id, tries + 1);
        r = rc == VAS_OK ? store_analysis_succeed(st, a->id, j->result, e2)
                         : store_analysis_fail(st, a->id, e->msg, e2);
    } while (r == VAS_EBUSY && ++tries < FINISH_TRIES);
    return r;
}

/* A job that ran out of memory under LIMIT_WORKER_MEMORY says so, and which key raises it. */
static void explain_enomem(const config *cfg, int rc, vas_err *e)
{
    size_t n = strlen(e->msg);

    if (rc != VAS_ENOMEM || cfg->lim.worker_memory <= 0 || WORKER_ASAN)
        return;
    snprintf(e->msg + n, sizeof(e->msg) - n,
             ": the worker ran out of its memory limit of %lld MiB (LIMIT_WORKER_MEMORY "
             "raises it)",
             (long long)(cfg->lim.worker_memory >> 20));
}

/* A job that failed while the data folder's file system is full says so first, whatever layer
 * met the full disk (a .part writer, libhdf5, FFmpeg: their messages name the file, not the
 * cause). Measured before the job's temp folder is removed, which frees the space. Returns the
 * code the job ends with. */
static int explain_full_disk(const config *cfg, int rc, vas_err *e)
{
    char msg[VAS_ERR_MSG];
    struct statvfs v;
    double left;

    if (rc == VAS_OK || rc == VAS_ECANCELLED || rc == VAS_ENOSPC ||
        statvfs(cfg->data_folder, &v) < 0)
        return rc;
    left = (double)v.f_bavail * (double)v.f_frsize;
    if (left >= FULL_DISK_BYTES)
        return rc;
    snprintf(msg, sizeof(msg), "%s", e->msg);
    return err_set(e, VAS_ENOSPC, "the disk is full (%.0f KiB left in %s): %s", left / 1024,
                   cfg->data_folder, msg);
}

static void finish(store *st, store_analysis *a, int rc, job *j, vas_err *e, int64_t t0)
{
    vas_err e2 = {0};
    long long ms = (long long)(util_mono_ms() - t0);

    if (rc == VAS_OK) {
        rc = set_end_state(st, a, rc, j, e, &e2);
        if (rc == VAS_OK)
            log_info("queue", "event=job_state analysis_id=%s analysis=%s state=SUCCESS ms=%lld",
                     a->id, a->name, ms);
    } else if (rc != VAS_ECANCELLED) {
        rc = set_end_state(st, a, rc, j, e, &e2);
        if (rc == VAS_OK)
            log_info(
                "queue",
                "event=job_state analysis_id=%s analysis=%s state=FAILURE ms=%lld error=\"%s\"",
                a->id, a->name, ms, e->msg);
    }
    if (rc == VAS_ECANCELLED)
        log_info("queue", "event=job_state analysis_id=%s analysis=%s state=REVOKED ms=%lld", a->id,
                 a->name, ms);
    else if (rc < 0)
        log_error("queue", "event=job_finish_failed analysis_id=%s error=\"%s\"", a->id, e2.msg);
}

int job_run(job *j, vas_err *e)
{
    const analysis_def *d = analysis_lookup(j->a->name);
    char tmp[4096];
    int rc;

    fault_point("job_started"); /* test builds: killed mid-job */
    if (!j->result)
        rc = err_set(e, VAS_ENOMEM, "out of memory starting the job");
    else if (!d || !d->run)
        rc = err_set(e, VAS_EUNSUPPORTED, "this server cannot run analysis '%s'", j->a->name);
    else
        rc = d->run(j, e);
    rc = explain_full_disk(j->env->cfg, rc, e);
    explain_enomem(j->env->cfg, rc, e);
    job_name_inputs(j, rc, e);
    /* Before the end state: once it is written no temp folder of the job may remain (vas check);
     * its outputs are blobs by now. Whatever the job left; absent is fine. */
    tmp_path(j, tmp, sizeof(tmp));
    util_rm_tree(tmp);
    return rc;
}

void worker_run_job(store *st, const analysis_env *env, store_analysis *a)
{
    job j = {.st = st, .env = env, .a = a, .result = json_object()};
    vas_err e = {0};
    int64_t t0 = util_mono_ms();
    int rc;

    log_info("queue", "event=job_state analysis_id=%s analysis=%s state=STARTED attempt=%d", a->id,
             a->name, a->attempts);
    rc = job_run(&j, &e);
    finish(st, a, rc, &j, &e, t0);
    json_decref(j.result);
}

static void wait_for_work(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char buf[64];

    if (fd < 0) {
        usleep(1000 * 1000);
        return;
    }
    /* The timeout also covers a wake-up lost to another worker that read our byte. */
    if (poll(&p, 1, 1000) > 0 && read(fd, buf, sizeof(buf)) < 0 && errno != EAGAIN)
        usleep(100 * 1000);
}

/* LIMIT_WORKER_MEMORY as this process's RLIMIT_AS (soft limit): past it malloc fails, so a job
 * ends FAILURE through its out-of-memory path (explain_enomem); a crash from it is described by
 * the supervisor. */
void job_limit_memory(const config *cfg)
{
    int64_t lim = cfg->lim.worker_memory;
    struct rlimit rl;

    if (lim <= 0)
        return;
    if (WORKER_ASAN) {
        log_warn("queue",
                 "event=memory_limit_not_applied limit=%lld reason=\"AddressSanitizer "
                 "reserves terabytes of address space\"",
                 (long long)lim);
        return;
    }
    if (getrlimit(RLIMIT_AS, &rl) == 0) {
        rl.rlim_cur =
            rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)lim ? rl.rlim_max : (rlim_t)lim;
        if (setrlimit(RLIMIT_AS, &rl) == 0) {
            log_info("queue", "event=memory_limit limit=%lld", (long long)rl.rlim_cur);
            return;
        }
    }
    log_warn("queue", "event=memory_limit_failed limit=%lld errno=%d", (long long)lim, errno);
}

void job_describe_exit(const config *cfg, int status, char *out, size_t n)
{
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    size_t k;

    if (sig)
        snprintf(out, n, "the worker process running this analysis died from signal %d (%s)", sig,
                 sigdescr_np(sig));
    else
        snprintf(out, n, "the worker process running this analysis exited with status %d",
                 WEXITSTATUS(status));
    k = strlen(out);
    /* What a failed allocation looks like when the code that met it could not say so. */
    if (cfg->lim.worker_memory > 0 && (sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS))
        snprintf(out + k, n - k,
                 "; it may have run out of its memory limit of %lld MiB (LIMIT_WORKER_MEMORY "
                 "raises it)",
                 (long long)(cfg->lim.worker_memory >> 20));
}

int worker_main(const config *cfg, int notify_fd, int parent_pid, vas_err *e)
{
    store *st = NULL;
    pose_models *models = NULL;
    geom_models3d *models3d = NULL;
    analysis_env env = {.cfg = cfg};
    store_analysis a;
    int rc;

    /* Die with the server: a worker must never outlive it and run jobs nobody supervises. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (parent_pid > 0 && getppid() != parent_pid)
        return err_set(e, VAS_EIO, "the server that started this worker is gone");
    fault_set_role("worker");
    job_limit_memory(cfg);
    rc = store_open(cfg->database, cfg->data_folder, &st, e);
    if (rc == VAS_OK) /* networks are loaded by the first job on them, then kept warm */
        rc = pose_models_load(cfg, 0, &models, e);
    if (rc == VAS_OK)
        rc = geom_models3d_load(cfg, models, &models3d, e);
    if (rc == VAS_OK)
        rc = net_cache_new(cfg->lim.worker_models, &env.nets, e);
    if (rc < 0) {
        geom_models3d_free(models3d);
        pose_models_free(models);
        store_close(st);
        return rc;
    }
    env.models = models;
    env.models3d = models3d;
    log_info("queue", "event=worker_ready");
    for (;;) {
        vas_err ce = {0};
        rc = store_analysis_claim(st, (int)getpid(), &a, &ce);
        if (rc == VAS_OK) {
            worker_run_job(st, &env, &a);
            store_analysis_clear(&a);
            continue;
        }
        if (rc != VAS_ENOTFOUND)
            log_error("queue", "event=claim_failed error=\"%s\"", ce.msg);
        wait_for_work(notify_fd);
    }
}
