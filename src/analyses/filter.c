/* filter.c - the `filter` analysis (issue 16): DeepLabCut's filterpredictions on one pose file
 * (the CSV or HDF5 of a `video` analysis, or an uploaded DeepLabCut file). Arguments as
 * DeepLabCut names them: filtertype (median | spline | arima), windowlength, p_bound, ARdegree,
 * MAdegree; pose_filter.h does the work. Outputs, named as DeepLabCut names them from the
 * upload's name without extension: "<stem>_filtered.csv" and "<stem>_filtered.h5".
 * Result: {"csv_file","h5_file","frames","filtertype","windowlength","seconds"} (arima also
 * "p_bound","ARdegree","MAdegree"); progress in
 * frames. Also the filter step other analyses share (analysis_filter_poses, analysis.h). */
#include "analyses/analysis.h"
#include "analyses/fields.h"
#include "analyses/pose_job.h"
#include "core/util.h"
#include "pose/pose_arima.h"
#include "queue/job.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEGREE_MAX POSE_ARIMA_DEGREE_MAX /* ARdegree, MAdegree */

static const char *const filter_args[] = {"filtertype", "windowlength", "p_bound",
                                          "ARdegree",   "MAdegree",     NULL};

/* Field k as a whole number in *v (left alone when absent); 400 unless lo <= v <= hi. */
static int field_int(const json_t *fields, const char *k, int lo, int hi, int *v, vas_err *e)
{
    const json_t *f = json_object_get(fields, k);
    int64_t n = 0;

    if (!f)
        return VAS_OK;
    if (json_is_integer(f))
        n = json_integer_value(f);
    else if (!json_is_string(f) || util_parse_i64(json_string_value(f), &n) < 0)
        return err_set(e, VAS_EINVAL, "'%s' must be a whole number from %d to %d", k, lo, hi);
    if (n < lo || n > hi)
        return err_set(e, VAS_EINVAL, "'%s' must be a whole number from %d to %d, not %lld", k, lo,
                       hi, (long long)n);
    *v = (int)n;
    return VAS_OK;
}

/* p_bound: a number from 0 to 1. */
static int field_p(const json_t *fields, double *v, vas_err *e)
{
    const json_t *f = json_object_get(fields, "p_bound");
    double p = 0;

    if (!f)
        return VAS_OK;
    if (analysis_value_num(f, &p) < 0)
        p = NAN;
    if (!(p >= 0 && p <= 1))
        return err_set(e, VAS_EINVAL, "'p_bound' must be a likelihood from 0 to 1");
    *v = p;
    return VAS_OK;
}

int analysis_check_filter_args(const json_t *fields, json_t *args, vas_err *e)
{
    const json_t *t = json_object_get(fields, "filtertype");
    pose_filter_opts o = POSE_FILTER_DEFAULTS;
    int rc = VAS_OK;

    if (t && !json_is_string(t))
        return err_set(e, VAS_EINVAL, "'filtertype' must be median, spline or arima");
    if (t)
        rc = pose_filter_parse_type(json_string_value(t), &o.type, e);
    if (rc == VAS_OK)
        rc = field_int(fields, "windowlength", 0, POSE_FILTER_WINDOW_MAX, &o.window, e);
    if (rc == VAS_OK)
        rc = field_p(fields, &o.p_bound, e);
    if (rc == VAS_OK)
        rc = field_int(fields, "ARdegree", 0, DEGREE_MAX, &o.ar_degree, e);
    if (rc == VAS_OK)
        rc = field_int(fields, "MAdegree", 0, DEGREE_MAX, &o.ma_degree, e);
    if (rc == VAS_OK)
        rc = pose_filter_check(&o, e);
    if (rc < 0)
        return rc;
    /* Only what the filter uses, so that equal work has one cache key. */
    json_object_set_new(args, "filtertype", json_string(pose_filter_type_name(o.type)));
    json_object_set_new(args, "windowlength", json_integer(o.window));
    if (o.type == POSE_FILTER_ARIMA) {
        json_object_set_new(args, "p_bound", json_real(o.p_bound));
        json_object_set_new(args, "ARdegree", json_integer(o.ar_degree));
        json_object_set_new(args, "MAdegree", json_integer(o.ma_degree));
    }
    return VAS_OK;
}

void analysis_filter_opts(const json_t *args, pose_filter_opts *o)
{
    const json_t *t = json_object_get(args, "filtertype"),
                 *w = json_object_get(args, "windowlength"), *pb = json_object_get(args, "p_bound"),
                 *ar = json_object_get(args, "ARdegree"), *ma = json_object_get(args, "MAdegree");
    vas_err e = {0};

    *o = (pose_filter_opts)POSE_FILTER_DEFAULTS;
    if (t)
        pose_filter_parse_type(json_string_value(t), &o->type, &e);
    if (w)
        o->window = (int)json_integer_value(w);
    if (pb)
        o->p_bound = json_number_value(pb);
    if (ar)
        o->ar_degree = (int)json_integer_value(ar);
    if (ma)
        o->ma_degree = (int)json_integer_value(ma);
}

int analysis_filter_poses(job *j, const char *poses, const char *name, pose_filter_out *out,
                          vas_err *e)
{
    pose_filter_opts o;
    char dir[4096], stem[4096 + 512];
    int rc = job_tmp_dir(j, dir, sizeof(dir), e);

    if (rc < 0)
        return rc;
    analysis_filter_opts(job_args(j), &o);
    snprintf(stem, sizeof(stem), "%s/%s", dir, name);
    return pose_filter_file(poses, stem, &o, out, e);
}

/* The upload's name without its extension ('/' made '_') into out. */
static void upload_stem(job *j, char *out, size_t n)
{
    store_file f;
    vas_err fe = {0};
    char *dot;

    if (store_file_find(j->st, j->a->inputs[0], &f, &fe) < 0)
        snprintf(f.filename, sizeof(f.filename), "%s", j->a->inputs[0]);
    snprintf(out, n, "%s", f.filename);
    dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
    for (char *p = out; *p; p++)
        if (*p == '/')
            *p = '_';
}

static int filter_run(job *j, vas_err *e)
{
    pose_filter_out out = {0};
    char input[4096], name[512];
    int64_t t0 = util_mono_ms();
    int rc;

    job_input_path(j, 0, input, sizeof(input));
    upload_stem(j, name, sizeof(name));
    rc = analysis_filter_poses(j, input, name, &out, e);
    if (rc == VAS_OK)
        rc = job_progress(j, out.rows, out.rows, j->a->unit, e);
    if (rc == VAS_OK)
        rc = pose_job_store(j, "csv_file", out.csv, "text/csv", e);
    if (rc == VAS_OK)
        rc = pose_job_store(j, "h5_file", out.h5, "application/x-hdf5", e);
    if (rc == VAS_OK)
        json_object_update_new(
            job_result(j), json_pack("{s:I, s:O, s:O, s:f}", "frames", (json_int_t)out.rows,
                                     "filtertype", json_object_get(job_args(j), "filtertype"),
                                     "windowlength", json_object_get(job_args(j), "windowlength"),
                                     "seconds", (double)(util_mono_ms() - t0) / 1000.0));
    if (rc == VAS_OK && json_object_get(job_args(j), "ARdegree")) /* arima: its arguments */
        json_object_update_new(job_result(j),
                               json_pack("{s:O, s:O, s:O}", "p_bound",
                                         json_object_get(job_args(j), "p_bound"), "ARdegree",
                                         json_object_get(job_args(j), "ARdegree"), "MAdegree",
                                         json_object_get(job_args(j), "MAdegree")));
    pose_filter_out_clear(&out);
    return rc;
}

static int filter_check(const analysis_env *env, const json_t *fields, json_t *args, vas_err *e)
{
    (void)env;
    return analysis_check_filter_args(fields, args, e);
}

const analysis_def analysis_filter = {"filter", 0,           "frames",     1,
                                      1,        filter_args, filter_check, filter_run};
