/* analyze_job.c - any analysis on local files through its job body. See analyze_job.h.
 *
 * DESIGN: the job body is the one the server's workers run (job_run), given remote hooks
 * (job.h) as a `vas worker --redis` is: progress goes to the terminal and each output straight
 * to its final place (hard-linked when the job's file is on the same file system, else copied,
 * under a temporary name then renamed: a half-written output never carries the real name). The
 * inputs are symbolic links in the run's store, so a video is hashed but never copied. */
#include "analyses/analyze_job.h"

#include "analyses/analysis.h"
#include "analyses/fields.h"
#include "core/digest.h"
#include "core/log.h"
#include "core/util.h"
#include "geom/geom_models3d.h"
#include "pose/pose_model.h"
#include "queue/job.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct run {
    const analyze_job_opts *o;
    char out_dir[2048]; /* beside the first input */
} run;

static int on_progress(void *arg, int64_t done, int64_t total, const char *unit, vas_err *e)
{
    run *r = arg;

    if (r->o->stop && *r->o->stop)
        return err_set(e, VAS_ECANCELLED, "interrupted");
    if (r->o->progress)
        r->o->progress(r->o->arg, done, total, unit);
    return VAS_OK;
}

/* Copies the file src to the new file dst. */
static int copy_file(const char *src, const char *dst, vas_err *e)
{
    char buf[1 << 16];
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = VAS_OK;
    ssize_t k;

    if (in < 0)
        return err_sys(e, VAS_EIO, errno, "cannot read %s", src);
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0)
        rc = err_sys(e, VAS_EIO, errno, "cannot create %s", dst);
    while (rc == VAS_OK && (k = read(in, buf, sizeof(buf))) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 || write(out, buf, (size_t)k) != k)
            rc = err_sys(e, VAS_EIO, errno, "cannot write %s", dst);
    }
    close(in);
    if (out >= 0 && close(out) < 0 && rc == VAS_OK)
        rc = err_sys(e, VAS_EIO, errno, "cannot write %s", dst);
    return rc;
}

static int on_output(void *arg, const void *p, size_t n, const char *path, const char *filename,
                     const char *ctype, char *id_out, vas_err *e)
{
    run *r = arg;
    char name[256], dst[4096], tmp[4200];
    int rc = VAS_OK;

    (void)ctype;
    store_safe_filename(filename, name, sizeof(name));
    snprintf(dst, sizeof(dst), "%s/%s", r->out_dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.part", r->out_dir, name);
    unlink(tmp);
    if (path) {
        rc = digest_file_sha1(path, id_out, e);
        if (rc == VAS_OK && link(path, tmp) < 0)
            rc = copy_file(path, tmp, e);
    } else {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        digest_sha1_hex(p, n, id_out);
        if (fd < 0 || write(fd, p, n) != (ssize_t)n)
            rc = err_sys(e, VAS_EIO, errno, "cannot write %s", tmp);
        if (fd >= 0 && close(fd) < 0 && rc == VAS_OK)
            rc = err_sys(e, VAS_EIO, errno, "cannot write %s", tmp);
    }
    if (rc == VAS_OK && rename(tmp, dst) < 0)
        rc = err_sys(e, VAS_EIO, errno, "cannot write %s", dst);
    if (rc < 0)
        unlink(tmp);
    else
        printf("  %s\n", dst);
    return rc;
}

static const job_remote hooks = {on_progress, on_output};

/* The models the analysis needs, into env (new: freed by the caller). */
static int load_models(const config *cfg, const analysis_def *d, const char *model,
                       analysis_env *env, pose_models **m2, geom_models3d **m3, vas_err *e)
{
    const pose_model *pm = NULL;
    const geom_models3d_item *it = NULL;
    int rc;

    if (!d->needs_model)
        return VAS_OK;
    rc = pose_models_load(cfg, 0, m2, e);
    env->models = *m2;
    if (rc == VAS_OK && d->needs_model == ANALYSIS_MODEL_3D)
        rc = geom_models3d_load(cfg, *m2, m3, e);
    env->models3d = *m3;
    if (rc == VAS_OK && d->needs_model == ANALYSIS_MODEL_3D)
        rc = analysis_check_model3d(env, d->name, model ? model : "", &it, e);
    else if (rc == VAS_OK)
        rc = analysis_check_model(env, d->name, model ? model : "", &pm, e);
    return rc;
}

/* The run's store: <dir of files[0]>/.vas-analyze-XXXXXX/{vas.db,data}; cfg2 points at it. */
static int open_store(run *r, config *cfg2, char *dir, size_t n, store **st, vas_err *e)
{
    snprintf(dir, n, "%s/.vas-analyze-XXXXXX", r->out_dir);
    if (!mkdtemp(dir))
        return err_sys(e, VAS_EIO, errno,
                       "cannot create a work folder in %s (vas analyze writes beside its input)",
                       r->out_dir);
    cfg2->database = util_concat(dir, "/vas.db");
    cfg2->data_folder = util_concat(dir, "/data");
    if (!cfg2->database || !cfg2->data_folder)
        return err_set(e, VAS_ENOMEM, "out of memory");
    return store_open(cfg2->database, cfg2->data_folder, st, e);
}

int analyze_job_run(const config *cfg, const analyze_job_opts *o, char **files, int n, vas_err *e)
{
    const analysis_def *d = analysis_lookup(o->analysis);
    config cfg2 = *cfg;
    analysis_env env = {.cfg = &cfg2};
    pose_models *m2 = NULL;
    geom_models3d *m3 = NULL;
    store_analysis a = {0};
    job j = {0};
    run r = {.o = o};
    char dir[2200] = "", names[512];
    const char *slash = strrchr(files[0], '/');
    json_t *fields = json_deep_copy(o->fields ? o->fields : json_object());
    store *st = NULL;
    int rc = fields ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory");

    cfg2.database = cfg2.data_folder = NULL;
    snprintf(r.out_dir, sizeof(r.out_dir), "%.*s", slash ? (int)(slash - files[0]) : 1,
             slash ? files[0] : ".");
    if (rc == VAS_OK && !d) {
        analysis_names(names, sizeof(names));
        rc =
            err_set(e, VAS_EINVAL, "unknown analysis '%s'; known analyses: %s", o->analysis, names);
    }
    if (rc == VAS_OK && (n < d->min_inputs || n > d->max_inputs))
        rc = err_set(e, VAS_EINVAL, "analysis '%s' takes %d to %d files; got %d", d->name,
                     d->min_inputs, d->max_inputs, n);
    if (rc == VAS_OK && !d->run)
        rc = err_set(e, VAS_EUNSUPPORTED, "analysis '%s' is not available in this version of vas",
                     d->name);
    if (rc == VAS_OK)
        rc = analysis_check_fields(d, fields, e);
    if (rc == VAS_OK)
        rc = load_models(cfg, d, o->model, &env, &m2, &m3, e);
    a.args = json_object();
    if (rc == VAS_OK && d->check)
        rc = d->check(&env, fields, a.args, e);
    if (rc == VAS_OK)
        rc = open_store(&r, &cfg2, dir, sizeof(dir), &st, e);
    for (int i = 0; rc == VAS_OK && i < n; i++) {
        const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
        store_file f;
        rc = store_file_adopt(st, files[i], base, &f, e);
        if (rc == VAS_OK)
            snprintf(a.inputs[i], sizeof(a.inputs[i]), "%s", f.id);
        a.n_inputs = i + 1;
    }
    if (rc == VAS_OK) {
        util_uuid(a.id);
        snprintf(a.task_id, sizeof(a.task_id), "%s", a.id);
        snprintf(a.name, sizeof(a.name), "%s", d->name);
        snprintf(a.model, sizeof(a.model), "%s", d->needs_model && o->model ? o->model : "");
        snprintf(a.unit, sizeof(a.unit), "%s", d->unit);
        snprintf(a.state, sizeof(a.state), "STARTED");
        a.attempts = 1;
        j = (job){.st = st,
                  .env = &env,
                  .a = &a,
                  .result = json_object(),
                  .remote = &hooks,
                  .remote_arg = &r};
        rc = j.result ? job_run(&j, e) : err_set(e, VAS_ENOMEM, "out of memory");
    }
    json_decref(j.result);
    store_analysis_clear(&a);
    store_close(st);
    if (dir[0] && util_rm_tree(dir) < 0)
        log_warn("analyze", "event=work_folder_left path=%s errno=%d", dir, errno);
    free(cfg2.database);
    free(cfg2.data_folder);
    geom_models3d_free(m3);
    pose_models_free(m2);
    json_decref(fields);
    return rc;
}
