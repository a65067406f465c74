/* body.c - request bodies, parsed while they arrive: multipart/form-data of POST /file through
 * our own parser (multipart.h: no copy of its own, the file's bytes in the sizes they arrive),
 * other multipart/form-data and urlencoded bodies through libmicrohttpd's post processor, JSON
 * objects through jansson. All end as one JSON object of fields (r->fields); a multipart `file`
 * field is streamed into the store instead (r->upload) and never held in memory. Ceilings
 * (config.h): LIMIT_JSON_BYTES for non-file bodies, LIMIT_FORM_FIELDS fields, LIMIT_JSON_DEPTH
 * nesting (checked on the raw bytes before jansson parses them: jansson 2.14's own ceiling is 2048
 * levels, fixed at build time), HTTP_FIELD_MAX per field, cfg->max_upload for the file. */
#include "http/http_int.h"

#include "http/multipart.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A multipart upload is the file plus a few hundred bytes of headers and boundaries. */
#define BODY_SLACK ((int64_t)64 << 10)

enum { BODY_NONE, BODY_JSON, BODY_FORM, BODY_MULTIPART };

static int fail(http_req *r, int code, const char *msg)
{
    if (!r->body_err) {
        r->body_err = code;
        snprintf(r->body_msg, sizeof(r->body_msg), "%s", msg);
    }
    return code;
}

static int fail_limit(http_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fail() with a printf message (a limit's value and its config key). */
static int fail_limit(http_req *r, int code, const char *fmt, ...)
{
    char msg[VAS_ERR_MSG];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return fail(r, code, msg);
}

/* Stores the form field being received into r->fields. */
static int flush_field(http_req *r)
{
    int rc = 0;

    if (!r->cur_key)
        return 0;
    if (json_object_set_new(r->fields, r->cur_key,
                            json_stringn(r->cur_val ? r->cur_val : "", r->cur_len)) < 0)
        rc = fail(r, VAS_EINVAL, "a form field is not valid UTF-8 text");
    free(r->cur_key);
    free(r->cur_val);
    r->cur_key = r->cur_val = NULL;
    r->cur_len = 0;
    return rc;
}

/* The `file` part begins: a store writer for its bytes. */
static int upload_begin(http_req *r, const char *filename, const char *ctype)
{
    vas_err e = {0};

    if (r->saw_file)
        return fail(r, VAS_EINVAL, "send one field named 'file' per upload");
    r->saw_file = 1;
    if (!filename || !*filename)
        return fail(r, VAS_EINVAL, "the 'file' field has no filename");
    if (http_store_get(r, &e) < 0 ||
        store_writer_new(r->st, r->srv->cfg->max_upload, &r->upload, &e) < 0)
        return fail(r, e.code, e.msg);
    r->up_name = strdup(filename);
    r->up_type = strdup(ctype ? ctype : "application/octet-stream");
    if (!r->up_name || !r->up_type)
        return fail(r, VAS_ENOMEM, "out of memory");
    return VAS_OK;
}

static int upload_data(http_req *r, const char *data, size_t size)
{
    vas_err e = {0};

    if (!r->upload)
        return fail(r, VAS_EINVAL, "send one field named 'file' per upload");
    if (size && store_writer_write(r->upload, data, size, &e) < 0)
        return fail(r, e.code, e.msg);
    return VAS_OK;
}

/* A form field (not the upload) begins; the one before it, if any, is stored. */
static int field_begin(http_req *r, const char *key)
{
    if (flush_field(r) < 0)
        return r->body_err;
    if (++r->n_fields > r->srv->cfg->lim.form_fields)
        return fail_limit(r, VAS_ETOOBIG, "the form has more than %d fields (LIMIT_FORM_FIELDS)",
                          r->srv->cfg->lim.form_fields);
    r->cur_key = strdup(key);
    if (!r->cur_key)
        return fail(r, VAS_ENOMEM, "out of memory");
    return VAS_OK;
}

static int field_data(http_req *r, const char *data, size_t size)
{
    char *v;

    if (r->cur_len + size > HTTP_FIELD_MAX)
        return fail(r, VAS_ETOOBIG, "a form field is larger than 64 KiB");
    v = realloc(r->cur_val, r->cur_len + size + 1);
    if (!v)
        return fail(r, VAS_ENOMEM, "out of memory");
    memcpy(v + r->cur_len, data, size);
    r->cur_val = v;
    r->cur_len += size;
    return VAS_OK;
}

/* libmicrohttpd's post processor (urlencoded bodies, and multipart ones but on POST /file). */
static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *ctype, const char *encoding,
                                const char *data, uint64_t off, size_t size)
{
    http_req *r = cls;
    int rc = VAS_OK;

    (void)kind;
    (void)encoding;
    /* libmicrohttpd passes a part without a Content-Disposition name as a NULL key. */
    if (!key)
        return fail(r, VAS_EINVAL, "a multipart part has no name in its Content-Disposition"),
               MHD_NO;
    if (r->route == HTTP_ROUTE_FILES && strcmp(key, "file") == 0) {
        if (off == 0 && !r->upload)
            rc = upload_begin(r, filename, ctype);
        if (rc == VAS_OK)
            rc = upload_data(r, data, size);
        return rc < 0 ? MHD_NO : MHD_YES;
    }
    if (off == 0 || !r->cur_key)
        rc = field_begin(r, key);
    if (rc == VAS_OK)
        rc = field_data(r, data, size);
    return rc < 0 ? MHD_NO : MHD_YES;
}

/* ---- our multipart parser's hooks (multipart.h), for POST /file ---- */

static int mp_begin(void *arg, const http_mp_part *pt)
{
    http_req *r = arg;

    if (!pt->name)
        return fail(r, VAS_EINVAL, "a multipart part has no name in its Content-Disposition");
    r->in_file = strcmp(pt->name, "file") == 0;
    return r->in_file ? upload_begin(r, pt->filename, pt->ctype) : field_begin(r, pt->name);
}

static int mp_data(void *arg, const char *p, size_t n)
{
    http_req *r = arg;

    return r->in_file ? upload_data(r, p, n) : field_data(r, p, n);
}

static int mp_end(void *arg)
{
    http_req *r = arg;

    r->in_file = 0;
    return flush_field(r);
}

static const http_mp_hooks mp_hooks = {mp_begin, mp_data, mp_end};

static int64_t content_length(http_req *r)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    char *end = NULL;
    long long n;

    if (!cl)
        return -1;
    n = strtoll(cl, &end, 10);
    return (end && !*end && n >= 0) ? n : -1;
}

int body_begin(http_req *r, int allow_upload)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    int64_t cl = content_length(r);
    int64_t json_max = r->srv->cfg->lim.json_bytes;
    int64_t max = allow_upload ? r->srv->cfg->max_upload + BODY_SLACK : json_max;

    r->fields = json_object();
    if (!r->fields)
        return fail(r, VAS_ENOMEM, "out of memory");
    if (cl > max && allow_upload)
        return fail_limit(r, VAS_ETOOBIG,
                          "the request body is larger than the limit of %lld bytes"
                          " (MAX_CONTENT_LENGTH)",
                          (long long)r->srv->cfg->max_upload);
    if (cl > max)
        return fail_limit(r, VAS_ETOOBIG,
                          "the request body is larger than the limit of %lld bytes"
                          " (LIMIT_JSON_BYTES)",
                          (long long)json_max);
    if (!ct || cl == 0) {
        r->body_kind = BODY_NONE;
        return VAS_OK;
    }
    if (!strncasecmp(ct, "application/json", 16)) {
        if (allow_upload)
            return fail(r, VAS_EINVAL, "upload a file as multipart/form-data with a field 'file'");
        r->body_kind = BODY_JSON;
        return VAS_OK;
    }
    if (strncasecmp(ct, "multipart/form-data", 19) != 0 &&
        strncasecmp(ct, MHD_HTTP_POST_ENCODING_FORM_URLENCODED, 33) != 0)
        return fail(r, VAS_EINVAL,
                    "send the body as multipart/form-data, "
                    "application/x-www-form-urlencoded or application/json");
    if (allow_upload && !strncasecmp(ct, "multipart/form-data", 19)) {
        vas_err e = {0};
        int rc = http_mp_new(ct, &mp_hooks, r, &r->mp, &e);
        if (rc < 0)
            return rc == VAS_EINVAL ? fail_limit(r, rc, "malformed body: %s", e.msg)
                                    : fail(r, rc, e.msg);
        r->body_kind = BODY_MULTIPART;
        return VAS_OK;
    }
    r->pp = MHD_create_post_processor(r->conn, (size_t)64 * 1024, on_field, r);
    if (!r->pp)
        return fail(r, VAS_EINVAL, "malformed body: a multipart body needs a boundary");
    r->body_kind = BODY_FORM;
    return VAS_OK;
}

enum MHD_Result body_feed(http_req *r, const char *data, size_t n)
{
    if (r->body_err)
        return MHD_YES; /* already failed: drop the rest, answer at the end */
    if (r->body_kind == BODY_JSON) {
        if ((int64_t)(r->raw_len + n) > r->srv->cfg->lim.json_bytes) {
            fail_limit(r, VAS_ETOOBIG, "the JSON body is larger than %lld bytes (LIMIT_JSON_BYTES)",
                       (long long)r->srv->cfg->lim.json_bytes);
        } else {
            char *b = realloc(r->raw, r->raw_len + n + 1);
            if (!b)
                return fail(r, VAS_ENOMEM, "out of memory"), MHD_YES;
            memcpy(b + r->raw_len, data, n);
            r->raw = b;
            r->raw_len += n;
        }
    } else if (r->body_kind == BODY_MULTIPART) {
        vas_err e = {0};
        r->raw_len += n; /* counted, not kept */
        if (r->srv->cfg->max_upload > 0 &&
            (int64_t)r->raw_len > r->srv->cfg->max_upload + BODY_SLACK)
            fail_limit(r, VAS_ETOOBIG,
                       "the request body is larger than the limit of %lld bytes"
                       " (MAX_CONTENT_LENGTH)",
                       (long long)r->srv->cfg->max_upload);
        else if (http_mp_feed(r->mp, data, n, &e) < 0)
            fail_limit(r, VAS_EINVAL, "malformed multipart body: %s", e.msg);
    } else if (r->body_kind == BODY_FORM) {
        r->raw_len += n; /* counted, not kept */
        if ((int64_t)r->raw_len > r->srv->cfg->lim.json_bytes && r->route != HTTP_ROUTE_FILES)
            fail_limit(r, VAS_ETOOBIG, "the form body is larger than %lld bytes (LIMIT_JSON_BYTES)",
                       (long long)r->srv->cfg->lim.json_bytes);
        else if (MHD_post_process(r->pp, data, n) == MHD_NO)
            fail(r, VAS_EINVAL, "malformed multipart or form body");
    } else {
        fail(r, VAS_EINVAL, "a body needs a Content-Type");
    }
    if (r->body_err) {
        /* Drop the upload now; the error is answered once the body has ended: MHD 0.9.75 refuses
         * a response queued while the body is still arriving (the client would wait forever). */
        store_writer_abort(r->upload);
        r->upload = NULL;
    }
    return MHD_YES;
}

/* The JSON body, read whole: parsed into r->fields. */
static void json_end(http_req *r)
{
    json_error_t jerr;
    json_t *j;

    if (http_json_depth(r->raw, r->raw_len) > r->srv->cfg->lim.json_depth) {
        fail_limit(r, VAS_EINVAL,
                   "the JSON body is nested deeper than %d levels (LIMIT_JSON_DEPTH)",
                   r->srv->cfg->lim.json_depth);
        return;
    }
    j = json_loadb(r->raw ? r->raw : "", r->raw_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "the JSON body must be one object%s%s", j ? "" : ": ",
                 j ? "" : jerr.text);
        json_decref(j);
        fail(r, VAS_EINVAL, msg);
    } else if ((int64_t)json_object_size(j) > r->srv->cfg->lim.form_fields) {
        json_decref(j);
        fail_limit(r, VAS_ETOOBIG, "the JSON object has more than %d fields (LIMIT_FORM_FIELDS)",
                   r->srv->cfg->lim.form_fields);
    } else {
        json_decref(r->fields);
        r->fields = j;
    }
}

int body_end(http_req *r)
{
    if (r->body_kind == BODY_MULTIPART) {
        vas_err e = {0};
        if (http_mp_finish(r->mp, &e) < 0)
            fail_limit(r, VAS_EINVAL, "malformed multipart body: %s", e.msg);
        if (!r->body_err)
            flush_field(r);
    } else if (r->body_kind == BODY_FORM) {
        enum MHD_Result ok = MHD_destroy_post_processor(r->pp);
        r->pp = NULL;
        if (ok == MHD_NO)
            fail(r, VAS_EINVAL, "malformed multipart body: it ends before its closing boundary");
        if (!r->body_err)
            flush_field(r);
    } else if (r->body_kind == BODY_JSON && !r->body_err) {
        json_end(r);
    }
    return r->body_err ? r->body_err : VAS_OK;
}

void body_free(http_req *r)
{
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    r->pp = NULL;
    http_mp_free(r->mp);
    r->mp = NULL;
    store_writer_abort(r->upload); /* a cut-off upload: its bytes vanish with the O_TMPFILE */
    r->upload = NULL;
    json_decref(r->fields);
    r->fields = NULL;
    free(r->raw);
    free(r->cur_key);
    free(r->cur_val);
    free(r->up_name);
    free(r->up_type);
    r->raw = r->cur_key = r->cur_val = r->up_name = r->up_type = NULL;
}

int http_json_depth(const char *p, size_t n)
{
    int depth = 0, max = 0, in_str = 0;

    for (size_t i = 0; p && i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++; /* the escaped character can't end the string */
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                max = depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}

const char *body_field(http_req *r, const char *key, char *buf, size_t n)
{
    json_t *v = r->fields ? json_object_get(r->fields, key) : NULL;

    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, n, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
    else
        return NULL;
    return buf;
}
