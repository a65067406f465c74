/* e2e.h - what the end-to-end tests share: a real `vas serve` in a fresh temp folder (fork + exec
 * of $VAS_BIN, default build/test/vas), HTTP through libcurl, replies parsed with jansson, SHA-1
 * through OpenSSL, and `vas <command>` runs.
 *
 * The fixture (e2e_setup/e2e_teardown) starts one server per test, with extra arguments passed
 * as cmocka's initial state (E2E_TEST). The server's stdout and stderr go to <dir>/server.log;
 * teardown stops it with SIGTERM and prints that log when the test did not reach E2E_PASS, when
 * the server did not exit 0 (a sanitizer's leak report, a crash on the way out), or when the log
 * holds a sanitizer report (workers log there too).
 *
 * Header-only (static inline) so each e2e_*.c stays one binary. Include after cmocka.h.
 * Threads: cmocka runs tests on one thread; nothing here is shared. */
#ifndef VAS_E2E_H
#define VAS_E2E_H

#include "testutil.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define E2E_PATH     4096
#define E2E_MAX_HDR  40
#define E2E_START_S  30.0 /* a cold ASan server with its worker may take a while */
#define E2E_STOP_S   15.0
#define E2E_POLL_MS  20
#define E2E_MAX_ARGS 32

/* ---- the server fixture ---- */

typedef struct e2e_srv {
    char *dir;                /* fresh /tmp/vas-test-XXXXXX, removed by teardown */
    char db[E2E_PATH];        /* <dir>/vas.db */
    char data[E2E_PATH];      /* <dir>/data */
    char files[E2E_PATH];     /* <dir>/data/files, where blobs live */
    char log[E2E_PATH];       /* <dir>/server.log: the server's stdout and stderr */
    char port_file[E2E_PATH]; /* <dir>/port */
    const char *const *args;  /* extra `vas serve` arguments (borrowed, static) */
    pid_t pid;                /* the running server; 0 when stopped */
    int port;
    char base[64];     /* "http://127.0.0.1:<port>" */
    const char *token; /* sent as "Authorization: Bearer <token>" when not NULL */
    int passed;        /* set by E2E_PASS; teardown prints the log when 0 */
    int expect_segv;   /* a worker is meant to crash: its SEGV report is no failure */
} e2e_srv;

static inline const char *e2e_bin(void)
{
    const char *b = getenv("VAS_BIN"); /* NOLINT(concurrency-mt-unsafe): one thread */

    return b && *b ? b : "build/test/vas";
}

static inline double e2e_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints the last 24 KiB of the server's log to stderr. */
static inline void e2e_dump_log(const e2e_srv *s)
{
    size_t n = 0;
    char *text = tu_read_file(s->log, &n);
    size_t from = n > 24576 ? n - 24576 : 0;

    fprintf(stderr, "---- %s%s ----\n%s\n---- end of server log ----\n", s->log,
            from ? " (tail)" : "", text ? text + from : "(unreadable)");
    free(text);
}

/* Forks and execs $VAS_BIN with argv (argv[0] is replaced), stdout and stderr appended to out.
 * Returns the pid, or -1. */
static inline pid_t e2e_spawn(const char *const *argv, const char *out)
{
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        _exit(126);
    execv(e2e_bin(), (char *const *)argv);
    dprintf(2, "e2e: cannot exec %s: errno %d\n", e2e_bin(), errno);
    _exit(127);
}

/* Waits for pid up to timeout_s; its exit status (128 + signal when killed), or -1 on timeout. */
static inline int e2e_wait_pid(pid_t pid, double timeout_s)
{
    double end = e2e_now() + timeout_s;
    int st = 0;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 || e2e_now() > end)
            return -1;
        tu_nap_ms(10);
    }
}

/* Runs `vas <args...>` (NULL-terminated) with its output into out; returns its exit status. */
static inline int e2e_run_vas(const char *out, ...)
{
    const char *argv[E2E_MAX_ARGS];
    int n = 0;
    va_list ap;
    pid_t pid;

    argv[n++] = e2e_bin();
    va_start(ap, out);
    while (n < E2E_MAX_ARGS - 1 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    unlink(out);
    pid = e2e_spawn(argv, out);
    if (pid < 0)
        return -1;
    return e2e_wait_pid(pid, 60);
}

static inline long e2e_http_status(const char *url);

/* Starts `vas serve` on s->db/s->data with s->args; returns once /health answers 200. */
static inline int e2e_start(e2e_srv *s)
{
    const char *argv[E2E_MAX_ARGS];
    int n = 0;
    double end = e2e_now() + E2E_START_S;
    const char *fixed[] = {e2e_bin(),    "serve", "--port", "0",      "--port-file",
                           s->port_file, "--db",  s->db,    "--data", s->data};

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[n++] = fixed[i];
    for (int i = 0; s->args && s->args[i] && n < E2E_MAX_ARGS - 1; i++)
        argv[n++] = s->args[i];
    argv[n] = NULL;
    unlink(s->port_file);
    s->port = 0;
    s->pid = e2e_spawn(argv, s->log);
    if (s->pid < 0) {
        s->pid = 0;
        return -1;
    }
    while (e2e_now() < end) {
        char *p = tu_read_file(s->port_file, NULL);
        if (p) {
            s->port = (int)strtol(p, NULL, 10); /* the server wrote it whole (rename) */
            free(p);
        }
        if (s->port > 0) {
            char url[128];
            snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
            snprintf(url, sizeof(url), "%s/health", s->base);
            if (e2e_http_status(url) == 200)
                return 0;
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            fprintf(stderr, "e2e: the server exited during start-up\n");
            s->pid = 0;
            return -1;
        }
        tu_nap_ms(E2E_POLL_MS);
    }
    fprintf(stderr, "e2e: the server did not answer /health within %.0f s\n", E2E_START_S);
    return -1;
}

/* SIGTERM, then waits; the server's exit status (0 = clean), or -1 after SIGKILL on timeout. */
static inline int e2e_stop(e2e_srv *s)
{
    int st;

    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    st = e2e_wait_pid(s->pid, E2E_STOP_S);
    if (st < 0) {
        fprintf(stderr, "e2e: the server ignored SIGTERM for %.0f s; killing it\n", E2E_STOP_S);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
    return st;
}

/* Waits until the server's log holds needle (the line of a request is written just after its
 * response goes out); 1 if it did within timeout_s. */
static inline int e2e_log_wait(const e2e_srv *s, const char *needle, double timeout_s)
{
    double end = e2e_now() + timeout_s;

    do {
        char *text = tu_read_file(s->log, NULL);
        int found = text && strstr(text, needle);
        free(text);
        if (found)
            return 1;
        tu_nap_ms(E2E_POLL_MS);
    } while (e2e_now() < end);
    return 0;
}

/* A sanitizer report in the server's log (its own or a worker's). */
static inline int e2e_log_has_report(const e2e_srv *s)
{
    char *text = tu_read_file(s->log, NULL);
    int bad = 0;

    if (!text)
        return 0;
    bad = strstr(text, "runtime error:") != NULL || strstr(text, "LeakSanitizer") != NULL;
    for (const char *p = text; !bad && (p = strstr(p, "ERROR: AddressSanitizer")); p++)
        bad = !(s->expect_segv && !strncmp(p, "ERROR: AddressSanitizer: SEGV", 29));
    free(text);
    return bad;
}

static inline int e2e_teardown(void **state)
{
    e2e_srv *s = *state;
    int rc = 0, st;

    if (!s)
        return 0;
    st = e2e_stop(s);
    if (st != 0) {
        fprintf(stderr, "e2e: the server exited with status %d after SIGTERM\n", st);
        rc = -1;
    }
    if (e2e_log_has_report(s)) {
        fprintf(stderr, "e2e: the server's log holds a sanitizer report\n");
        rc = -1;
    }
    if (rc < 0 || !s->passed)
        e2e_dump_log(s);
    tu_rm_rf(s->dir);
    free(s->dir);
    free(s);
    *state = NULL;
    return rc;
}

/* The fixture without a server: a fresh temp folder and the paths in it (nothing started).
 * *state on entry: the extra `vas serve` arguments (a static NULL-terminated array) or NULL. */
static inline int e2e_setup_dir(void **state)
{
    e2e_srv *s = calloc(1, sizeof(*s));

    if (!s)
        return -1;
    s->args = *state;
    *state = s;
    s->dir = tu_mkdtemp();
    if (!s->dir)
        return e2e_teardown(state), -1;
    snprintf(s->db, sizeof(s->db), "%s/vas.db", s->dir);
    snprintf(s->data, sizeof(s->data), "%s/data", s->dir);
    snprintf(s->files, sizeof(s->files), "%s/data/files", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
    snprintf(s->port_file, sizeof(s->port_file), "%s/port", s->dir);
    return 0;
}

/* The fixture with a server started on the folder's db and data. */
static inline int e2e_setup(void **state)
{
    if (e2e_setup_dir(state) < 0)
        return -1;
    if (e2e_start(*state) < 0) {
        e2e_teardown(state);
        return -1;
    }
    return 0;
}

/* One test with its own server started with the extra arguments args (NULL: none). */
#define E2E_TEST(fn, args)                                                                         \
    cmocka_unit_test_prestate_setup_teardown(fn, e2e_setup, e2e_teardown, (void *)(args))
/* One test with a fresh folder and no server (it may start one with e2e_start). */
#define E2E_TEST_NO_SERVER(fn, args)                                                               \
    cmocka_unit_test_prestate_setup_teardown(fn, e2e_setup_dir, e2e_teardown, (void *)(args))
/* The last line of a passing test: keeps the server's log quiet. */
#define E2E_PASS(s) ((s)->passed = 1)

/* ---- HTTP ---- */

typedef struct e2e_resp {
    long status;
    char *body; /* NUL-terminated; "" when none */
    size_t len;
    json_t *json; /* the body when it parses as JSON, else NULL */
    int n_hdr;
    struct {
        char name[64];
        char value[512];
    } hdr[E2E_MAX_HDR]; /* the final response's headers */
} e2e_resp;

static inline void e2e_resp_free(e2e_resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

static inline size_t e2e_on_body(char *p, size_t size, size_t n, void *arg)
{
    e2e_resp *r = arg;
    char *b = realloc(r->body, r->len + size * n + 1);

    if (!b)
        return 0;
    memcpy(b + r->len, p, size * n);
    r->body = b;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static inline size_t e2e_on_header(char *p, size_t size, size_t n, void *arg)
{
    e2e_resp *r = arg;
    size_t len = size * n, k;
    const char *colon = memchr(p, ':', len);

    if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
        r->n_hdr = 0; /* a new response (after a 100 Continue): keep only the last */
        return len;
    }
    if (!colon || r->n_hdr >= E2E_MAX_HDR)
        return len;
    k = (size_t)(colon - p);
    snprintf(r->hdr[r->n_hdr].name, sizeof(r->hdr[0].name), "%.*s", (int)k, p);
    colon++;
    while (colon < p + len && *colon == ' ')
        colon++;
    k = (size_t)(p + len - colon);
    while (k && (colon[k - 1] == '\r' || colon[k - 1] == '\n'))
        k--;
    snprintf(r->hdr[r->n_hdr].value, sizeof(r->hdr[0].value), "%.*s", (int)k, colon);
    r->n_hdr++;
    return len;
}

/* The value of header name (any case) in r, or NULL. */
static inline const char *e2e_header(const e2e_resp *r, const char *name)
{
    for (int i = 0; i < r->n_hdr; i++)
        if (!strcasecmp(r->hdr[i].name, name))
            return r->hdr[i].value;
    return NULL;
}

/* A request with optional extra headers (NULL-terminated), body (len bytes, with method POST or
 * any other) or mime (multipart). Fills *r; returns curl's result. path starts with '/'. */
static inline CURLcode e2e_request(e2e_srv *s, const char *method, const char *path,
                                   const char *const *headers, const void *body, size_t len,
                                   curl_mime *mime, e2e_resp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[E2E_PATH], auth[256];
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    if (!c)
        return CURLE_FAILED_INIT;
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, e2e_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, e2e_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (s->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->token);
        h = curl_slist_append(h, auth);
    }
    for (int i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (mime) {
        curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    } else if (body || !strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = calloc(1, 1);
    const char *ct = e2e_header(r, "Content-Type");
    if (r->len && ct && !strncmp(ct, "application/json", 16))
        r->json = json_loadb(r->body, r->len, 0, NULL);
    return rc;
}

static inline size_t e2e_discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* The status of a plain GET of url (no token), 0 when nothing answered. */
static inline long e2e_http_status(const char *url)
{
    CURL *c = curl_easy_init();
    long status = 0;

    if (!c)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, e2e_discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

/* method path with no body (or headers); fails the test if curl fails. */
static inline void e2e_call(e2e_srv *s, const char *method, const char *path, e2e_resp *r)
{
    CURLcode rc = e2e_request(s, method, path, NULL, NULL, 0, NULL, r);

    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
}

static inline void e2e_get(e2e_srv *s, const char *path, e2e_resp *r)
{
    e2e_call(s, "GET", path, r);
}

/* GET with one extra header line ("Range: bytes=0-3"). */
static inline void e2e_get_h(e2e_srv *s, const char *path, const char *header, e2e_resp *r)
{
    const char *h[] = {header, NULL};
    CURLcode rc = e2e_request(s, "GET", path, h, NULL, 0, NULL, r);

    if (rc != CURLE_OK)
        fail_msg("GET %s (%s): %s", path, header, curl_easy_strerror(rc));
}

/* POST a text body with Content-Type ctype (NULL: none). */
static inline void e2e_post(e2e_srv *s, const char *path, const char *ctype, const char *body,
                            e2e_resp *r)
{
    char ct[256];
    const char *h[] = {ct, NULL};
    CURLcode rc;

    snprintf(ct, sizeof(ct), "Content-Type:%s%s", ctype ? " " : "", ctype ? ctype : "");
    rc = e2e_request(s, "POST", path, h, body, strlen(body), NULL, r);
    if (rc != CURLE_OK)
        fail_msg("POST %s: %s", path, curl_easy_strerror(rc));
}

/* Multipart POST /file with the field `file` holding data as filename/ctype, and extra headers
 * (NULL-terminated, or NULL). */
static inline void e2e_upload_h(e2e_srv *s, const char *filename, const char *ctype,
                                const void *data, size_t len, const char *const *headers,
                                e2e_resp *r)
{
    CURL *c = curl_easy_init();
    curl_mime *m = curl_mime_init(c);
    curl_mimepart *p = curl_mime_addpart(m);
    CURLcode rc;

    curl_mime_name(p, "file");
    curl_mime_data(p, data, len);
    curl_mime_filename(p, filename);
    curl_mime_type(p, ctype);
    rc = e2e_request(s, "POST", "/file", headers, NULL, 0, m, r);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        fail_msg("POST /file (%s, %zu bytes): %s", filename, len, curl_easy_strerror(rc));
}

static inline void e2e_upload(e2e_srv *s, const char *filename, const char *ctype, const void *data,
                              size_t len, e2e_resp *r)
{
    e2e_upload_h(s, filename, ctype, data, len, NULL, r);
}

/* An upload the server refuses from its headers alone (401, 413 by Content-Length): it answers
 * and closes without reading the body, so the client must wait for that answer before sending
 * (Expect: 100-continue), or a reset may reach it before the answer does. */
static inline void e2e_upload_refused(e2e_srv *s, const char *filename, const void *data,
                                      size_t len, e2e_resp *r)
{
    static const char *const expect[] = {"Expect: 100-continue", NULL};

    e2e_upload_h(s, filename, "application/octet-stream", data, len, expect, r);
}

/* ---- assertions on replies ---- */

/* The JSON string r.json[key]; fails the test when absent or not a string. */
static inline const char *e2e_str(const json_t *j, const char *key)
{
    const json_t *v = json_object_get(j, key);

    if (!json_is_string(v))
        fail_msg("no string '%s' in the reply", key);
    return json_string_value(v);
}

/* Fails the test at file:line unless r has status want, Content-Type application/json and a
 * body {"error": "<a sentence>"}. */
static inline void e2e_check_error(const e2e_resp *r, long want, const char *file, int line)
{
    const char *ct = e2e_header(r, "Content-Type");
    const json_t *err = r->json ? json_object_get(r->json, "error") : NULL;

    if (r->status == want && ct && !strcmp(ct, "application/json") && json_is_string(err) &&
        strlen(json_string_value(err)) > 5)
        return;
    print_error("want %ld with {\"error\"} as application/json, got %ld (%s): %.400s\n", want,
                r->status, ct ? ct : "no Content-Type", r->body);
    _fail(file, line);
}

/* Fails the test at file:line unless r has status want. */
static inline void e2e_check_status(const e2e_resp *r, long want, const char *file, int line)
{
    if (r->status == want)
        return;
    print_error("want %ld, got %ld: %.400s\n", want, r->status, r->body);
    _fail(file, line);
}

#define e2e_assert_error(r, want)  e2e_check_error((r), (want), __FILE__, __LINE__)
#define e2e_assert_status(r, want) e2e_check_status((r), (want), __FILE__, __LINE__)

/* ---- ids ---- */

/* Lowercase hex SHA-1 of data into out[41]. */
static inline void e2e_sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (EVP_Digest(data, len, md, &n, EVP_sha1(), NULL) != 1 || n != 20)
        fail_msg("EVP_Digest(sha1) failed");
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* 8-4-4-4-12 lowercase hex. */
static inline int e2e_is_uuid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (!s || strlen(s) != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Deterministic pseudo-random bytes (xorshift64), so a failure can be reproduced. */
static inline void e2e_fill_random(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed ? seed : 88172645463325252ULL;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
}

/* Uploads text as <name>, text/plain; asserts 202 and the SHA-1 id; id into out[41]. */
static inline void e2e_upload_text(e2e_srv *s, const char *text, const char *name, char out[41])
{
    e2e_resp r;
    char want[41];

    e2e_sha1_hex(text, strlen(text), want);
    e2e_upload(s, name, "text/plain", text, strlen(text), &r);
    e2e_assert_status(&r, 202);
    assert_string_equal(e2e_str(r.json, "file_id"), want);
    memcpy(out, want, 41);
    e2e_resp_free(&r);
}

/* ---- analyses ---- */

/* POST /analysis with an urlencoded body; asserts 202; analysis_id into aid[37] (and task_id
 * into tid[37] when not NULL). */
static inline void e2e_analysis(e2e_srv *s, const char *form, char aid[37], char tid[37])
{
    e2e_resp r;

    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", form, &r);
    e2e_assert_status(&r, 202);
    assert_true(e2e_is_uuid(e2e_str(r.json, "analysis_id")));
    assert_true(e2e_is_uuid(e2e_str(r.json, "task_id")));
    snprintf(aid, 37, "%s", e2e_str(r.json, "analysis_id"));
    if (tid)
        snprintf(tid, 37, "%s", e2e_str(r.json, "task_id"));
    e2e_resp_free(&r);
}

/* Starts sleep time=<t> on file_id; analysis_id into aid[37]. */
static inline void e2e_sleep(e2e_srv *s, const char *file_id, const char *t, char aid[37])
{
    char form[256];

    snprintf(form, sizeof(form), "file_id=%s&analysis=sleep&time=%s", file_id, t);
    e2e_analysis(s, form, aid, NULL);
}

static inline int e2e_state_is(const e2e_resp *r, const char *state)
{
    const json_t *v = r->json ? json_object_get(r->json, "state") : NULL;

    return json_is_string(v) && !strcmp(json_string_value(v), state);
}

/* Polls GET /analysis/<id> every E2E_POLL_MS until its state is want (NULL: any finished state)
 * and leaves that reply in *r; fails the test after timeout_s. */
static inline void e2e_wait_state(e2e_srv *s, const char *id, const char *want, double timeout_s,
                                  e2e_resp *r)
{
    char path[128], last[256] = "(no reply)";
    double end = e2e_now() + timeout_s;

    snprintf(path, sizeof(path), "/analysis/%s", id);
    for (;;) {
        e2e_get(s, path, r);
        if (want ? e2e_state_is(r, want)
                 : !(e2e_state_is(r, "PENDING") || e2e_state_is(r, "STARTED")))
            return;
        snprintf(last, sizeof(last), "%ld %.200s", r->status, r->body);
        e2e_resp_free(r);
        if (e2e_now() > end)
            fail_msg("analysis %s not %s within %.1f s; last: %s", id, want ? want : "finished",
                     timeout_s, last);
        tu_nap_ms(E2E_POLL_MS);
    }
}

/* Waits for want and asserts its status. */
static inline void e2e_expect_state(e2e_srv *s, const char *id, const char *want, long status,
                                    double timeout_s)
{
    e2e_resp r;

    e2e_wait_state(s, id, want, timeout_s, &r);
    e2e_assert_status(&r, status);
    e2e_resp_free(&r);
}

/* DELETE /analysis/<id>; asserts 200 {"state":"REVOKED"}. */
static inline void e2e_cancel(e2e_srv *s, const char *id)
{
    char path[128];
    e2e_resp r;

    snprintf(path, sizeof(path), "/analysis/%s", id);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(e2e_str(r.json, "state"), "REVOKED");
    e2e_resp_free(&r);
}

/* ---- group set-up ---- */

static inline int e2e_group_setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static inline int e2e_group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

/* Uploads the file at path as name (202 expected); its file_id into id. */
static inline void e2e_upload_path(e2e_srv *s, const char *path, const char *name, char id[41])
{
    size_t n = 0;
    char *bytes = tu_read_file(path, &n);
    e2e_resp r;

    assert_non_null(bytes);
    e2e_upload(s, name, "application/octet-stream", bytes, n, &r);
    e2e_assert_status(&r, 202);
    snprintf(id, 41, "%s", e2e_str(r.json, "file_id"));
    e2e_resp_free(&r);
    free(bytes);
}

/* Polls analysis id until it is STARTED with progress done > 0 (failing the test after
 * timeout_s, or if it leaves PENDING/STARTED first); its progress object's unit and total are
 * checked against unit and min_total. */
static inline void e2e_wait_progress(e2e_srv *s, const char *id, const char *unit,
                                     json_int_t min_total, double timeout_s)
{
    char path[128];
    double end = e2e_now() + timeout_s;
    e2e_resp r;

    snprintf(path, sizeof(path), "/analysis/%s", id);
    for (;;) {
        const json_t *p;
        e2e_get(s, path, &r);
        p = json_object_get(r.json, "progress");
        if (e2e_state_is(&r, "STARTED") && json_integer_value(json_object_get(p, "done")) > 0) {
            assert_string_equal(e2e_str(p, "unit"), unit);
            assert_true(json_integer_value(json_object_get(p, "total")) >= min_total);
            break;
        }
        assert_true(e2e_state_is(&r, "PENDING") || e2e_state_is(&r, "STARTED"));
        e2e_resp_free(&r);
        assert_true(e2e_now() < end);
        tu_nap_ms(50);
    }
    e2e_resp_free(&r);
}

#endif
