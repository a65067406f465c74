/* routes_files.c - POST/GET /file and GET/HEAD/DELETE /file/<id> (api.md, Files). */
#include "http/http_int.h"
#include "http/link.h"
#include "http/range.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int files_post(http_req *r)
{
    store_file f;
    vas_err e = {0};
    store_writer *w = r->upload;

    if (!w)
        return reply_error(r, MHD_HTTP_BAD_REQUEST,
                           "send the file as a multipart/form-data field named 'file'");
    r->upload = NULL; /* commit frees it, also on error */
    if (store_writer_commit(w, r->up_name, r->up_type, &f, &e) < 0)
        return reply_err(r, &e);
    return reply_json(r, MHD_HTTP_ACCEPTED, json_pack("{s:s}", "file_id", f.id));
}

/* GET /file with no paging is answered from a cache made at the current files_gen: the list only
 * changes when a file row is added or removed, by any process, and the trigger-maintained
 * counter says so in one indexed read. */
static int list_cached(http_req *r, vas_err *e)
{
    http_server *s = r->srv;
    int64_t gen;
    json_t *arr = NULL;
    char *body;
    int rc = store_files_gen(r->st, &gen, e);

    if (rc < 0)
        return rc;
    pthread_mutex_lock(&s->cache_lock);
    if (s->list_gen == gen && s->list_body) {
        rc = reply_raw(r, MHD_HTTP_OK, "application/json", s->list_body, s->list_len);
        pthread_mutex_unlock(&s->cache_lock);
        return rc;
    }
    pthread_mutex_unlock(&s->cache_lock);
    rc = store_file_list(r->st, -1, 0, &arr, e);
    if (rc < 0)
        return rc;
    body = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!body)
        return err_set(e, VAS_ENOMEM, "out of memory listing files");
    rc = reply_raw(r, MHD_HTTP_OK, "application/json", body, strlen(body));
    pthread_mutex_lock(&s->cache_lock);
    if (gen > s->list_gen) {
        free(s->list_body);
        s->list_body = body;
        s->list_len = strlen(body);
        s->list_gen = gen;
        body = NULL;
    }
    pthread_mutex_unlock(&s->cache_lock);
    free(body);
    return rc;
}

int files_list(http_req *r)
{
    int64_t limit, offset;
    json_t *arr = NULL;
    vas_err e = {0};

    if (http_paging(r, &limit, &offset, &e) < 0 || http_store_get(r, &e) < 0)
        return reply_err(r, &e);
    if (limit < 0 && offset == 0)
        return list_cached(r, &e) < 0 ? reply_err(r, &e) : VAS_OK;
    if (store_file_list(r->st, limit, offset, &arr, &e) < 0)
        return reply_err(r, &e);
    return reply_json(r, MHD_HTTP_OK, arr);
}

/* Content-Disposition for a stored name (store_safe_filename: no quotes, no control bytes), as
 * RFC 6266 asks: filename="..." in ASCII (other characters and '\\' as '_'), and, when the name
 * is not plain ASCII, filename*=UTF-8''<percent-encoded> (RFC 8187 attr-chars kept). */
static void disposition(const char *name, char *out, size_t n)
{
    static const char keep[] = "!#$&+-.^_`|~";
    size_t k = (size_t)snprintf(out, n, "attachment; filename=\"");
    int ascii = 1;

    for (const unsigned char *p = (const unsigned char *)name; *p && k + 3 < n; p++) {
        int plain = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
        ascii &= *p < 0x80;
        if ((*p & 0xc0) != 0x80) /* one '_' a character, not a byte */
            out[k++] = plain ? (char)*p : '_';
    }
    k += (size_t)snprintf(out + k, n - k, "\"");
    if (ascii || k + 20 >= n)
        return;
    k += (size_t)snprintf(out + k, n - k, "; filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)name; *p && k + 4 < n; p++) {
        if ((*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
            (*p && strchr(keep, *p)))
            out[k++] = (char)*p;
        else
            k += (size_t)snprintf(out + k, n - k, "%%%02X", *p);
    }
    out[k] = '\0';
}

static int send_file(http_req *r, const store_file *f, int fd, int64_t size)
{
    const char *range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
    const char *if_range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-Range");
    char etag[48], cd[1200], cr[96];
    int64_t start = 0, len = size;
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    int kind;

    snprintf(etag, sizeof(etag), "\"%s\"", f->id);
    if (if_range && strcmp(if_range, etag) != 0)
        range = NULL; /* the client's copy is another file: send it all */
    kind = range_parse(range, size, &start, &len);
    if (kind == RANGE_UNSATISFIABLE) {
        close(fd);
        snprintf(cr, sizeof(cr), "bytes */%lld", (long long)size);
        return reply_error_hdr(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, MHD_HTTP_HEADER_CONTENT_RANGE, cr,
                               "the range '%s' is outside the file's %lld bytes", range,
                               (long long)size);
    }
    resp = MHD_create_response_from_fd_at_offset64((uint64_t)len, fd, (uint64_t)start);
    if (!resp) {
        close(fd);
        return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot send the file");
    }
    if (kind == RANGE_PARTIAL) {
        status = MHD_HTTP_PARTIAL_CONTENT;
        snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)start,
                 (long long)(start + len - 1), (long long)size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    }
    disposition(f->filename, cd, sizeof(cd));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "private, max-age=31536000, immutable");
    /* MHD's timeout restarts at every byte sent, so this drops a client that stopped reading
     * (LIMIT_DOWNLOAD_STALL_S) and never one that reads slowly. */
    MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned)r->srv->cfg->lim.download_stall_s);
    MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp); /* MHD closes fd with the response */
    r->status = (int)status;
    r->bytes_out += strcmp(r->method, "HEAD") ? (uint64_t)len : 0;
    r->answered = 1;
    return VAS_OK;
}

static int not_modified(http_req *r, const char *id)
{
    char etag[48];
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (!resp)
        return VAS_ENOMEM;
    snprintf(etag, sizeof(etag), "\"%s\"", id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_queue_response(r->conn, MHD_HTTP_NOT_MODIFIED, resp);
    MHD_destroy_response(resp);
    r->status = MHD_HTTP_NOT_MODIFIED;
    r->answered = 1;
    return VAS_OK;
}

int files_get(http_req *r)
{
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
    char path[4096], etag[48];
    struct stat sb;
    store_file f;
    vas_err e = {0};
    int fd;

    if (http_store_get(r, &e) < 0 || store_file_find(r->st, r->id, &f, &e) < 0)
        return reply_err(r, &e);
    snprintf(etag, sizeof(etag), "\"%s\"", f.id);
    if (range_etag_match(inm, etag))
        return not_modified(r, f.id);
    store_file_path(r->st, f.id, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0) {
        if (fd >= 0)
            close(fd);
        return reply_error(r, MHD_HTTP_NOT_FOUND, "file %s was deleted", f.id);
    }
    return send_file(r, &f, fd, (int64_t)sb.st_size);
}

int files_delete(http_req *r)
{
    store_file f;
    vas_err e = {0};

    if (http_store_get(r, &e) < 0 || store_file_find(r->st, r->id, &f, &e) < 0 ||
        store_file_delete(r->st, f.id, &e) < 0)
        return reply_err(r, &e);
    return reply_json(r, MHD_HTTP_OK, json_pack("{s:s}", "deleted", f.id));
}

/* A URL for GET/HEAD of the file without the token (link.h), good for HTTP_LINK_TTL_S; with no
 * token configured, the plain path. */
int files_link(http_req *r)
{
    const char *token = r->srv->cfg->api_token;
    char url[256], sig[HTTP_LINK_SIG_HEX + 1];
    int64_t expires = (int64_t)time(NULL) + HTTP_LINK_TTL_S;
    store_file f;
    vas_err e = {0};

    if (http_store_get(r, &e) < 0 || store_file_find(r->st, r->id, &f, &e) < 0)
        return reply_err(r, &e);
    if (!token || !*token)
        return reply_json(r, MHD_HTTP_OK, json_pack("{s:s+}", "url", "/file/", f.id));
    http_link_sign(token, f.id, expires, sig);
    snprintf(url, sizeof(url), "/file/%s?expires=%lld&signature=%s", f.id, (long long)expires, sig);
    return reply_json(r, MHD_HTTP_OK,
                      json_pack("{s:s, s:I}", "url", url, "expires", (json_int_t)expires));
}
