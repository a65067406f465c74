/* rq_http.c - the remote worker's transfers to and from `vas serve` (see rq_http.h).
 *
 * DESIGN: a download streams into one store_writer that lives across attempts: after a dropped
 * connection the next attempt asks for the rest (Range: bytes=<have>-) and the writer's SHA-1
 * carries on, so the id is checked over the whole file without reading it twice. A 200 answer to
 * a Range request (or a 416) starts the writer again. Each failure that a server restart or a
 * network cut explains (no connection, a cut transfer, a 5xx) is retried with back-off; one a
 * person must fix (404, 401, 4xx) is not. */
#include "queue/rq_http.h"

#include "core/log.h"
#include "core/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RQ_HTTP_ERRBODY 1024 /* bytes of an error answer kept for its message */

struct rq_http {
    CURL *c;                 /* the easy handle: keeps the connection alive between calls */
    curl_off_t max_bps;      /* test builds: downloads held to this rate (0: no cap) */
    char *base;              /* "http://host:port" without a trailing '/' */
    struct curl_slist *hdrs; /* the Authorization header, or NULL */
    int64_t resumed;         /* downloads continued with Range */
    int64_t retries;         /* attempts after the first */
};

/* What one transfer collects. */
typedef struct xfer {
    CURL *c;
    store *st;
    store_writer *w;            /* download: the open writer (NULL until the first byte) */
    int64_t have;               /* download: bytes in w */
    int fresh;                  /* download: w was started again by this attempt */
    char filename[256];         /* download: from Content-Disposition */
    char ctype[128];            /* download: from Content-Type */
    char body[RQ_HTTP_ERRBODY]; /* an error answer's body (or the upload's JSON), cut */
    size_t n_body;
    vas_err *e;
    int werr;                    /* a writer error: the transfer was stopped on purpose */
    rq_http_cancelled cancelled; /* download: asked now and then; NULL: never */
    void *cancel_arg;
    int64_t last_ask; /* monotonic ms of the last question */
    int stop;         /* cancelled said yes */
} xfer;

int rq_http_new(const char *server, const char *token, rq_http **out, vas_err *e)
{
    rq_http *h = calloc(1, sizeof(*h));
    char auth[1024];
    size_t n;

    if (!h)
        return err_set(e, VAS_ENOMEM, "out of memory for the HTTP client");
    h->c = curl_easy_init();
    h->base = strdup(server);
    if (!h->c || !h->base) {
        rq_http_free(h);
        return err_set(e, VAS_ENOMEM, "out of memory for the HTTP client");
    }
    n = strlen(h->base);
    while (n > 0 && h->base[n - 1] == '/')
        h->base[--n] = '\0';
    if (token && *token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h->hdrs = curl_slist_append(NULL, auth);
    }
#ifdef VAS_TEST_BUILD /* a download slow enough for a test to cut it mid-way */
    const char *bps = getenv("VAS_TEST_FETCH_BPS"); /* NOLINT(concurrency-mt-unsafe) */
    int64_t v = 0;
    if (bps && util_parse_i64(bps, &v) == 0 && v > 0)
        h->max_bps = (curl_off_t)v;
#endif
    *out = h;
    return VAS_OK;
}

void rq_http_free(rq_http *h)
{
    if (!h)
        return;
    curl_slist_free_all(h->hdrs);
    if (h->c)
        curl_easy_cleanup(h->c);
    free(h->base);
    free(h);
}

void rq_http_stats(const rq_http *h, int64_t *resumed, int64_t *retries)
{
    *resumed = h->resumed;
    *retries = h->retries;
}

/* ---- answers ---- */

static long status_of(CURL *c)
{
    long code = 0;

    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static void keep_body(xfer *x, const char *p, size_t n)
{
    size_t room = sizeof(x->body) - 1 - x->n_body;

    if (n > room)
        n = room;
    memcpy(x->body + x->n_body, p, n);
    x->n_body += n;
    x->body[x->n_body] = '\0';
}

/* The {"error"} sentence of an answer, or its status. */
static void answer_msg(const xfer *x, long code, char *out, size_t n)
{
    json_t *j = json_loads(x->body, 0, NULL);
    const char *m = json_string_value(json_object_get(j, "error"));

    if (m)
        snprintf(out, n, "%s", m);
    else
        snprintf(out, n, "HTTP status %ld", code);
    json_decref(j);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* filename*=UTF-8''<pct> (preferred) or filename="..." of a Content-Disposition value. */
static void parse_disposition(const char *v, char *out, size_t n)
{
    const char *p = strstr(v, "filename*=UTF-8''");
    size_t k = 0;

    if (p) {
        for (p += 17; *p && *p != ';' && *p != '\r' && *p != '\n' && k + 1 < n; p++) {
            int hi = *p == '%' ? hexval(p[1]) : -1, lo = hi >= 0 ? hexval(p[2]) : -1;
            if (lo >= 0) {
                out[k++] = (char)(hi * 16 + lo);
                p += 2;
            } else {
                out[k++] = *p;
            }
        }
        out[k] = '\0';
        return;
    }
    p = strstr(v, "filename=\"");
    if (!p)
        return;
    for (p += 10; *p && *p != '"' && k + 1 < n; p++)
        out[k++] = *p;
    out[k] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;
    char line[1024];

    if (n >= sizeof(line))
        return n;
    memcpy(line, p, n);
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "Content-Type:", 13) == 0)
        snprintf(x->ctype, sizeof(x->ctype), "%s", line + 13 + strspn(line + 13, " \t"));
    else if (strncasecmp(line, "Content-Disposition:", 20) == 0)
        parse_disposition(line + 20, x->filename, sizeof(x->filename));
    return n;
}

/* Download body: into the writer when the answer is 200/206, else kept for the message. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;
    long code = status_of(x->c);

    if (code != 200 && code != 206) {
        keep_body(x, p, n);
        return n;
    }
    if (code == 200 && x->have > 0 && !x->fresh) { /* the whole file again: start over */
        store_writer_abort(x->w);
        x->w = NULL;
        x->have = 0;
    }
    x->fresh = 1;
    if (!x->w && store_writer_new(x->st, 0, &x->w, x->e) < 0) {
        x->werr = 1;
        return 0;
    }
    if (store_writer_write(x->w, p, n, x->e) < 0) {
        x->werr = 1;
        return 0;
    }
    x->have += (int64_t)n;
    return n;
}

/* Asks x->cancelled at most every 250 ms; 1 once it said yes. */
static int ask_cancel(xfer *x)
{
    int64_t now = util_mono_ms();

    if (!x->cancelled || x->stop)
        return x->stop;
    if (now - x->last_ask < 250)
        return 0;
    x->last_ask = now;
    x->stop = x->cancelled(x->cancel_arg) != 0;
    return x->stop;
}

static int on_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return ask_cancel(arg); /* non-zero aborts the transfer */
}

/* ---- retries ---- */

/* 1: worth another try (the server or the network, not the request). */
static int retryable(CURLcode res, long code)
{
    if (res == CURLE_OK)
        return code >= 500;
    return res == CURLE_COULDNT_CONNECT || res == CURLE_PARTIAL_FILE || res == CURLE_RECV_ERROR ||
           res == CURLE_SEND_ERROR || res == CURLE_OPERATION_TIMEDOUT || res == CURLE_GOT_NOTHING ||
           res == CURLE_COULDNT_RESOLVE_HOST;
}

static void nap_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Waits before try number `tries` (100 ms doubling to 5 s); 0 while retry_ms allows it. A
 * download's wait is cut short by a cancel (x->stop, checked by the caller). */
static int back_off(rq_http *h, xfer *x, int tries, int64_t t0, int64_t retry_ms)
{
    int64_t wait = tries > 6 ? 5000 : 100LL << (tries - 1), end;

    if (wait > 5000)
        wait = 5000;
    if (util_mono_ms() + wait - t0 > retry_ms)
        return -1;
    h->retries++;
    for (end = util_mono_ms() + wait; util_mono_ms() < end && !ask_cancel(x);)
        nap_ms(wait < 250 ? wait : 250);
    return 0;
}

static void common_opts(rq_http *h, xfer *x, const char *url)
{
    curl_easy_reset(h->c);
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, h->hdrs);
    curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* A stalled transfer (a server gone without a reset) counts as cut after 30 s. */
    curl_easy_setopt(h->c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h->c, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(h->c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h->c, CURLOPT_HEADERDATA, x);
}

/* ---- download ---- */

static CURLcode fetch_once(rq_http *h, xfer *x, const char *id, long *code)
{
    char url[4096], range[64];
    CURLcode res;

    snprintf(url, sizeof(url), "%s/file/%s", h->base, id);
    common_opts(h, x, url);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, x);
    if (h->max_bps)
        curl_easy_setopt(h->c, CURLOPT_MAX_RECV_SPEED_LARGE, h->max_bps);
    if (x->cancelled) {
        curl_easy_setopt(h->c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
        curl_easy_setopt(h->c, CURLOPT_XFERINFODATA, x);
        curl_easy_setopt(h->c, CURLOPT_NOPROGRESS, 0L);
    }
    if (x->have > 0) {
        snprintf(range, sizeof(range), "%lld-", (long long)x->have);
        curl_easy_setopt(h->c, CURLOPT_RANGE, range);
        h->resumed++;
        log_info("rq", "event=fetch_resume file_id=%s from=%lld", id, (long long)x->have);
    }
    x->fresh = 0;
    x->n_body = 0;
    x->body[0] = '\0';
    res = curl_easy_perform(h->c);
    *code = status_of(h->c);
    return res;
}

/* The end of a download that answered 200/206 in full: the bytes become a file, checked. */
static int fetch_commit(xfer *x, const char *id, vas_err *e)
{
    store_file f;
    int rc;

    if (!x->w && store_writer_new(x->st, 0, &x->w, e) < 0) /* an empty file */
        return e->code;
    rc = store_writer_commit(x->w, x->filename[0] ? x->filename : id, x->ctype, &f, e);
    x->w = NULL;
    if (rc < 0)
        return rc;
    if (strcmp(f.id, id) != 0)
        return err_set(e, VAS_EIO, "input file %s arrived with other content (SHA-1 %s)", id, f.id);
    return VAS_OK;
}

/* What a final (not retried) answer means. */
static int answer_error(const xfer *x, const char *what, const char *id, long code, CURLcode res,
                        vas_err *e)
{
    char msg[512];

    if (res != CURLE_OK)
        return err_set(e, VAS_EIO, "cannot %s file %s: %s", what, id, curl_easy_strerror(res));
    answer_msg(x, code, msg, sizeof(msg));
    if (code == 404)
        return err_set(e, VAS_ENOTFOUND, "input file %s is not on the server: %s", id, msg);
    if (code == 401 || code == 403)
        return err_set(e, VAS_EAUTH, "the server refused the worker's token: %s", msg);
    if (code == 413)
        return err_set(e, VAS_ETOOBIG, "the server refused output file %s: %s", id, msg);
    return err_set(e, VAS_EIO, "cannot %s file %s: %s", what, id, msg);
}

int rq_http_fetch_c(rq_http *h, store *st, const char *id, int64_t retry_ms,
                    rq_http_cancelled cancelled, void *arg, vas_err *e)
{
    xfer x = {.c = h->c, .st = st, .e = e, .cancelled = cancelled, .cancel_arg = arg};
    int64_t t0 = util_mono_ms();
    store_file f;
    vas_err fe = {0};
    int tries = 0, rc;

    if (store_file_find(st, id, &f, &fe) == VAS_OK && strcmp(f.id, id) == 0) {
        /* cached: now the most recently used (a failure only makes it go sooner) */
        if (store_cache_touch(st, id, &fe) < 0)
            log_warn("rq", "event=cache_touch_failed file_id=%s error=\"%s\"", id, fe.msg);
        return VAS_OK;
    }
    for (;;) {
        long code = 0;
        CURLcode res = fetch_once(h, &x, id, &code);
        if (x.stop || ask_cancel(&x)) {
            rc = err_set(e, VAS_ECANCELLED, "the analysis was cancelled while file %s came", id);
            break;
        }
        if (x.werr) {
            rc = e->code ? e->code : VAS_EIO;
            break;
        }
        if (res == CURLE_OK && (code == 200 || code == 206)) {
            rc = fetch_commit(&x, id, e);
            break;
        }
        if (res == CURLE_OK && code == 416) { /* what we have is wrong: all again */
            store_writer_abort(x.w);
            x.w = NULL;
            x.have = 0;
        } else if (!retryable(res, code) || back_off(h, &x, ++tries, t0, retry_ms) < 0) {
            rc = answer_error(&x, "download", id, code, res, e);
            break;
        }
        log_warn("rq", "event=fetch_retry file_id=%s have=%lld status=%ld error=\"%s\"", id,
                 (long long)x.have, code, curl_easy_strerror(res));
    }
    store_writer_abort(x.w);
    return rc;
}

int rq_http_fetch(rq_http *h, store *st, const char *id, int64_t retry_ms, vas_err *e)
{
    return rq_http_fetch_c(h, st, id, retry_ms, NULL, NULL, e);
}

/* ---- upload ---- */

static size_t on_reply(char *p, size_t size, size_t nmemb, void *arg)
{
    keep_body(arg, p, size * nmemb);
    return size * nmemb;
}

/* What is uploaded: bytes, or a file when path is set. */
typedef struct upload_src {
    const void *p;
    size_t n;
    const char *path, *filename, *ctype;
} upload_src;

static CURLcode upload_once(rq_http *h, xfer *x, const upload_src *u, long *code)
{
    char url[4096];
    curl_mime *m = curl_mime_init(h->c);
    curl_mimepart *part = curl_mime_addpart(m);
    CURLcode res;

    snprintf(url, sizeof(url), "%s/file", h->base);
    common_opts(h, x, url);
    curl_mime_name(part, "file");
    if (u->path)
        curl_mime_filedata(part, u->path);
    else
        curl_mime_data(part, u->p, u->n);
    curl_mime_filename(part, u->filename);
    curl_mime_type(part, u->ctype && *u->ctype ? u->ctype : "application/octet-stream");
    curl_easy_setopt(h->c, CURLOPT_MIMEPOST, m);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, x);
    x->n_body = 0;
    x->body[0] = '\0';
    res = curl_easy_perform(h->c);
    *code = status_of(h->c);
    curl_easy_setopt(h->c, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(m);
    return res;
}

static int upload_check(const xfer *x, const char *id, vas_err *e)
{
    json_t *j = json_loads(x->body, 0, NULL);
    const char *got = json_string_value(json_object_get(j, "file_id"));
    int rc = got && strcmp(got, id) == 0
                 ? VAS_OK
                 : err_set(e, VAS_EIO, "the server stored output %s as '%s'", id, got ? got : "?");

    json_decref(j);
    return rc;
}

int rq_http_upload(rq_http *h, const void *p, size_t n, const char *path, const char *filename,
                   const char *ctype, const char *id, int64_t retry_ms, vas_err *e)
{
    upload_src u = {p, n, path, filename, ctype};
    xfer x = {.c = h->c, .e = e};
    int64_t t0 = util_mono_ms();
    int tries = 0;

    for (;;) {
        long code = 0;
        CURLcode res = upload_once(h, &x, &u, &code);
        if (res == CURLE_OK && code >= 200 && code < 300)
            return upload_check(&x, id, e);
        if (!retryable(res, code) || back_off(h, &x, ++tries, t0, retry_ms) < 0)
            return answer_error(&x, "upload", id, code, res, e);
        log_warn("rq", "event=upload_retry file_id=%s status=%ld error=\"%s\"", id, code,
                 curl_easy_strerror(res));
    }
}

int rq_http_check(rq_http *h, vas_err *e)
{
    xfer x = {.c = h->c, .e = e};
    char url[4096], msg[512];
    long code = 0;
    CURLcode res;

    snprintf(url, sizeof(url), "%s/model", h->base);
    common_opts(h, &x, url);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, &x);
    res = curl_easy_perform(h->c);
    if (res != CURLE_OK)
        return err_set(e, VAS_EIO, "cannot reach the server at %s: %s", h->base,
                       curl_easy_strerror(res));
    curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &code);
    answer_msg(&x, code, msg, sizeof(msg));
    if (code == 401 || code == 403)
        return err_set(e, VAS_EAUTH, "the server at %s refused the worker's token: %s", h->base,
                       msg);
    if (code < 200 || code > 299)
        return err_set(e, VAS_EIO, "the server at %s answered %ld: %s", h->base, code, msg);
    return VAS_OK;
}
