/* routes_analyses.c - POST/GET /analysis and GET/DELETE /analysis/<id> (api.md, Analyses).
 * The request's checks (fields, analysis, model, arguments, input files) all run here, so bad
 * input is answered 400/404 at once and never becomes a job. */
#include "http/http_int.h"

#include "analyses/analysis.h"
#include "analyses/fields.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* file_id, file2_id, ... into a->inputs as full ids. */
static int resolve_inputs(http_req *r, const analysis_def *d, store_analysis *a, vas_err *e)
{
    char key[32], buf[64];

    for (int i = 0; i < d->max_inputs && i < STORE_MAX_INPUTS; i++) {
        const char *v;
        store_file f;
        if (i == 0)
            snprintf(key, sizeof(key), "file_id");
        else
            snprintf(key, sizeof(key), "file%d_id", i + 1);
        v = body_field(r, key, buf, sizeof(buf));
        if (!v || !*v) {
            if (i < d->min_inputs)
                return err_set(e, VAS_EINVAL, "analysis '%s' needs '%s'", d->name, key);
            break;
        }
        if (store_file_find(r->st, v, &f, e) < 0)
            return e->code;
        snprintf(a->inputs[i], sizeof(a->inputs[i]), "%s", f.id);
        a->n_inputs = i + 1;
    }
    return VAS_OK;
}

/* DESIGN: model analyses are cached. Identical work = same analysis, input file ids, model
 * (its fingerprint: the bytes of its .onnx, config.yaml and pose_cfg.yaml, not its name; for 3D
 * models also the calibration) and arguments; its key is the SHA-1 of those. A
 * request whose key matches a finished analysis whose outputs still exist succeeds at once with
 * the same outputs and "cached": true, unless it says force=1. */
static int is_forced(http_req *r)
{
    char buf[32];
    const char *f = body_field(r, "force", buf, sizeof(buf));

    return f && (strcmp(f, "1") == 0 || strcmp(f, "true") == 0);
}

/* Makes a a finished copy of identical earlier work, if there is one. */
static int use_cache(http_req *r, store_analysis *a, const char *model_sha1, vas_err *e)
{
    json_t *result = NULL;
    int rc;

    analysis_cache_key(a, model_sha1, a->cache_key);
    if (!a->cache_key[0] || is_forced(r))
        return VAS_OK;
    rc = store_analysis_cached(r->st, a->cache_key, &result, e);
    if (rc == VAS_ENOTFOUND)
        return VAS_OK;
    if (rc < 0)
        return rc;
    json_object_set_new(result, "cached", json_true());
    a->result = result;
    return VAS_OK;
}

/* The models the live workers advertise, ", "-separated, into out[n] (Redis queue). */
static void worker_models(http_req *r, char *out, size_t n)
{
    json_t *arr = r->srv->q.workers ? r->srv->q.workers(r->srv->q.arg) : NULL, *w, *m;
    size_t i, k, len = 0;

    out[0] = '\0';
    json_array_foreach(arr, i, w)
    {
        json_array_foreach(json_object_get(w, "models"), k, m) if (json_is_string(m) && len < n)
            len +=
            (size_t)snprintf(out + len, n - len, "%s%s", len ? ", " : "", json_string_value(m));
    }
    json_decref(arr);
}

/* A model the server has not loaded: with the Redis queue, fine when a live worker advertises
 * it (the job waits for such a worker; no cache: the server can't fingerprint it). Otherwise
 * the server's refusal, plus the workers' models. */
static int remote_model(http_req *r, const char *model, vas_err *e)
{
    char theirs[512], why[320];

    if (!r->srv->q.model_live || e->code != VAS_EINVAL)
        return e->code;
    if (model && *model && r->srv->q.model_live(r->srv->q.arg, model)) {
        *e = (vas_err){0};
        return VAS_OK;
    }
    snprintf(why, sizeof(why), "%.300s", e->msg); /* err_set below writes e->msg */
    worker_models(r, theirs, sizeof(theirs));
    return err_set(e, VAS_EINVAL, "%s; live workers have: %s", why, theirs[0] ? theirs : "none");
}

static int build_analysis(http_req *r, store_analysis *a, vas_err *e)
{
    const pose_model *m = NULL;
    const geom_models3d_item *m3 = NULL;
    char buf[64];
    const char *name = body_field(r, "analysis", buf, sizeof(buf));
    const char *model = body_field(r, "model", a->model, sizeof(a->model));
    const analysis_def *d;
    char names[256];

    if (!name || !*name)
        return err_set(e, VAS_EINVAL, "the request needs the field 'analysis'");
    d = analysis_lookup(name);
    if (!d) {
        analysis_names(names, sizeof(names));
        return err_set(e, VAS_EINVAL, "unknown analysis '%.64s'; known analyses: %s", name, names);
    }
    snprintf(a->name, sizeof(a->name), "%s", d->name);
    snprintf(a->unit, sizeof(a->unit), "%s", d->unit);
    if (!body_field(r, "file_id", buf, sizeof(buf)))
        return err_set(e, VAS_EINVAL, "the request needs the field 'file_id'");
    if (analysis_check_fields(d, r->fields, e) < 0)
        return e->code;
    if (d->needs_model == ANALYSIS_MODEL_3D) {
        if (analysis_check_model3d(r->srv->env, d->name, model, &m3, e) < 0 &&
            remote_model(r, model, e) < 0)
            return e->code;
        snprintf(a->model, sizeof(a->model), "%s", model);
    } else if (d->needs_model) {
        if (analysis_check_model(r->srv->env, d->name, model, &m, e) < 0 &&
            remote_model(r, model, e) < 0)
            return e->code;
        snprintf(a->model, sizeof(a->model), "%s", model); /* body_field may return its own */
    } else {
        a->model[0] = '\0'; /* analyses without a model ignore it, as the old service did */
    }
    if (!d->run)
        return err_set(e, VAS_EUNSUPPORTED, "analysis '%s' is not available in this version of vas",
                       d->name);
    if (d->check && d->check(r->srv->env, r->fields, a->args, e) < 0)
        return e->code;
    if (http_store_get(r, e) < 0 || resolve_inputs(r, d, a, e) < 0)
        return e->code;
    if (m3)
        return use_cache(r, a, m3->sha1, e);
    return m ? use_cache(r, a, m->fingerprint, e) : VAS_OK;
}

int analyses_post(http_req *r)
{
    store_analysis a = {0};
    vas_err e = {0};
    int rc;

    a.args = json_object();
    rc = a.args ? build_analysis(r, &a, &e) : err_set(&e, VAS_ENOMEM, "out of memory");
    if (rc == VAS_OK)
        rc = store_analysis_insert(r->st, &a, &e);
    if (rc < 0) {
        store_analysis_clear(&a);
        return reply_err(r, &e);
    }
    log_info("queue", "event=job_state analysis_id=%s task_id=%s analysis=%s state=%s", a.id,
             a.task_id, a.name, a.state);
    if (r->srv->notify && !a.result)
        r->srv->notify(r->srv->notify_arg);
    rc = reply_json(r, MHD_HTTP_ACCEPTED,
                    json_pack("{s:s, s:s}", "task_id", a.task_id, "analysis_id", a.id));
    store_analysis_clear(&a);
    return rc;
}

int analyses_list(http_req *r)
{
    int64_t limit, offset;
    json_t *arr = NULL;
    vas_err e = {0};

    if (http_paging(r, &limit, &offset, &e) < 0 || http_store_get(r, &e) < 0 ||
        store_analysis_list(r->st, limit, offset, &arr, &e) < 0)
        return reply_err(r, &e);
    return reply_json(r, MHD_HTTP_OK, arr);
}

int analyses_get(http_req *r)
{
    store_analysis a;
    vas_err e = {0};
    json_t *body;
    unsigned status;

    if (http_store_get(r, &e) < 0 || store_analysis_find(r->st, r->id, &a, &e) < 0)
        return reply_err(r, &e);
    body = json_pack("{s:s}", "state", a.state);
    /* With the Redis queue only: the embedded queue's replies stay the old service's. */
    if (a.worker[0] && r->srv->q.model_live)
        json_object_set_new(body, "worker", json_string(a.worker));
    if (!strcmp(a.state, "PENDING") && r->srv->q.model_live &&
        !r->srv->q.model_live(r->srv->q.arg, a.model)) {
        char why[200];
        snprintf(why, sizeof(why), a.model[0] ? "no live worker has model %s" : "no live worker",
                 a.model);
        json_object_set_new(body, "waiting", json_string(why));
    }
    if (!strcmp(a.state, "SUCCESS")) {
        status = MHD_HTTP_OK;
        if (a.result)
            json_object_update(body, a.result);
    } else if (!strcmp(a.state, "FAILURE")) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        json_object_set_new(body, "description",
                            json_string(a.description ? a.description : "the analysis failed"));
    } else if (!strcmp(a.state, "REVOKED")) {
        status = MHD_HTTP_OK;
    } else {
        status = MHD_HTTP_ACCEPTED;
        json_object_set_new(body, "progress",
                            json_pack("{s:I, s:I, s:s}", "done", (json_int_t)a.done, "total",
                                      (json_int_t)a.total, "unit", a.unit));
    }
    store_analysis_clear(&a);
    return reply_json(r, status, body);
}

int analyses_delete(http_req *r)
{
    store_analysis a;
    vas_err e = {0};
    int rc;

    if (http_store_get(r, &e) < 0 || store_analysis_find(r->st, r->id, &a, &e) < 0)
        return reply_err(r, &e);
    rc = store_analysis_cancel(r->st, a.id, &e);
    if (rc == VAS_OK && r->srv->q.cancel)
        r->srv->q.cancel(r->srv->q.arg, a.id); /* a remote worker sees vas:cancel:<id> */
    if (rc == VAS_OK)
        log_info("queue", "event=job_state analysis_id=%s analysis=%s state=REVOKED", a.id, a.name);
    store_analysis_clear(&a);
    if (rc < 0)
        return reply_err(r, &e);
    return reply_json(r, MHD_HTTP_OK, json_pack("{s:s}", "state", "REVOKED"));
}

int analyses_types(http_req *r)
{
    json_t *types;
    vas_err e = {0};

    if (analysis_types_json(&types, &e) < 0)
        return reply_err(r, &e);
    return reply_json(r, MHD_HTTP_OK, types);
}
