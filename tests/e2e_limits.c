/* e2e_limits.c - end-to-end tests of the HTTP limits against a real `vas serve` with a config of
 * small LIMIT_* values: connections in all and per client address (503/429 + Retry-After), header
 * size (431), form fields, JSON size and depth (413/400), refusals a client still uploading sees
 * (401/413, not a reset), a download whose client stopped reading (dropped after
 * LIMIT_DOWNLOAD_STALL_S; one reading slowly is not) and one whose client went away (no fd or
 * thread left behind). Every refusal is checked for its status, its {"error"} naming the limit,
 * and the server answering afterwards. Clients are curl and raw sockets (to hold connections open,
 * read nothing, or hang up mid-body); other clients' addresses are 127.0.0.2-4 (127/8 is all
 * loopback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BIG_FILE  ((size_t)32 << 20) /* more than loopback's socket buffers hold */
#define STALL_S   2
#define N_PER_IP  4
#define N_CONNS   6
#define MAX_RAW   8
#define UPLOAD_MB 8

static char cfg_path[E2E_PATH]; /* the config with small limits, written by main */

static const char *const limits[] = {"--workers", "0", "--config", cfg_path, NULL};
static const char *const guarded[] = {
    "--workers", "0", "--config", cfg_path, "--token", "secret", "--max-upload", "1048576", NULL};

/* ---- helpers ---- */

/* Asserts r is status want with an {"error"} that names what (a LIMIT_* key). */
#define assert_refusal(r, want, what)                                                              \
    do {                                                                                           \
        e2e_assert_error((r), (want));                                                             \
        if (!strstr(e2e_str((r)->json, "error"), (what)))                                          \
            fail_msg("the error '%s' does not name %s", e2e_str((r)->json, "error"), (what));      \
    } while (0)

/* A TCP connection to the server from address from (NULL: any), receive buffer rcvbuf (0: the
 * default). Fails the test on error. */
static int raw_connect(const e2e_srv *s, const char *from, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    struct sockaddr_in b = {.sin_family = AF_INET};

    assert_true(fd >= 0);
    if (rcvbuf)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    if (from) {
        assert_int_equal(inet_pton(AF_INET, from, &b.sin_addr), 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&b, sizeof(b)), 0);
    }
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void raw_send(int fd, const char *text)
{
    size_t n = strlen(text);

    assert_int_equal(send(fd, text, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* GET path from client address from; fills *r like e2e_request. */
static void get_from(e2e_srv *s, const char *from, const char *path, e2e_resp *r)
{
    CURL *c = curl_easy_init();
    char url[E2E_PATH], iface[64];
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    assert_non_null(c);
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    snprintf(iface, sizeof(iface), "host!%s", from);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, e2e_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, e2e_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        fail_msg("GET %s from %s: %s", path, from, curl_easy_strerror(rc));
    if (!r->body)
        r->body = calloc(1, 1);
    r->json = json_loadb(r->body, r->len, 0, NULL);
}

/* Waits until GET /health from `from` answers 200 again (the server has seen the closes). */
static void wait_served(e2e_srv *s, const char *from)
{
    double end = e2e_now() + 10;
    e2e_resp r;

    for (;;) {
        get_from(s, from, "/health", &r);
        long st = r.status;
        e2e_resp_free(&r);
        if (st == 200)
            return;
        if (e2e_now() > end)
            fail_msg("the server still refuses %s (%ld) after its connections closed", from, st);
        tu_nap_ms(50);
    }
}

/* Entries in /proc/<pid>/<what> (fd, task). */
static int proc_count(pid_t pid, const char *what)
{
    char path[64];
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
    d = opendir(path);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Times needle occurs in the server's log. */
static int log_count(const e2e_srv *s, const char *needle)
{
    char *text = tu_read_file(s->log, NULL);
    int n = 0;

    for (const char *p = text; p && (p = strstr(p, needle)); p++)
        n++;
    free(text);
    return n;
}

/* GET path whole on a raw socket, the body counted and dropped (curl through e2e.h keeps it in
 * a buffer grown by each chunk: slow enough under ASan to be a stalled client). Asserts a 200;
 * returns the body's length. */
static size_t raw_download(const e2e_srv *s, const char *path)
{
    char req[256], buf[65536], *end;
    size_t got = 0, head = 0;
    ssize_t n;
    int fd = raw_connect(s, NULL, 0);

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: vas\r\nConnection: close\r\n\r\n", path);
    raw_send(fd, req);
    while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
        if (got == 0) {
            buf[n] = '\0';
            assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
            end = strstr(buf, "\r\n\r\n");
            assert_non_null(end);
            head = (size_t)(end + 4 - buf);
        }
        got += (size_t)n;
    }
    assert_int_equal(n, 0);
    close(fd);
    return got - head;
}

/* Uploads BIG_FILE random bytes; its id into id[41]. */
static void upload_big(e2e_srv *s, char id[41])
{
    unsigned char *data = malloc(BIG_FILE);
    e2e_resp r;

    assert_non_null(data);
    e2e_fill_random(data, BIG_FILE, 14);
    e2e_upload(s, "big.bin", "application/octet-stream", data, BIG_FILE, &r);
    e2e_assert_status(&r, 202);
    snprintf(id, 41, "%s", e2e_str(r.json, "file_id"));
    e2e_resp_free(&r);
    free(data);
}

/* ---- connections ---- */

static void connections_per_client_429(void **state)
{
    e2e_srv *s = *state;
    int fd[MAX_RAW];
    e2e_resp r;

    for (int i = 0; i < N_PER_IP; i++)
        fd[i] = raw_connect(s, "127.0.0.1", 0);
    tu_nap_ms(300); /* accepted and counted */
    get_from(s, "127.0.0.1", "/health", &r);
    assert_refusal(&r, 429, "LIMIT_CONNECTIONS_PER_CLIENT");
    assert_non_null(e2e_header(&r, "Retry-After"));
    e2e_resp_free(&r);
    get_from(s, "127.0.0.2", "/health", &r); /* another client is served */
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    for (int i = 0; i < N_PER_IP; i++)
        close(fd[i]);
    wait_served(s, "127.0.0.1");
    E2E_PASS(s);
}

static void connections_total_503(void **state)
{
    e2e_srv *s = *state;
    int fd[MAX_RAW];
    e2e_resp r;

    for (int i = 0; i < N_CONNS; i++)
        fd[i] = raw_connect(s, i % 2 ? "127.0.0.2" : "127.0.0.3", 0);
    tu_nap_ms(300);
    get_from(s, "127.0.0.4", "/health", &r);
    assert_refusal(&r, 503, "LIMIT_CONNECTIONS");
    assert_non_null(e2e_header(&r, "Retry-After"));
    assert_string_equal(e2e_header(&r, "Connection"), "close");
    e2e_resp_free(&r);
    for (int i = 0; i < N_CONNS; i++)
        close(fd[i]);
    wait_served(s, "127.0.0.4");
    E2E_PASS(s);
}

/* ---- headers and bodies ---- */

static void headers_over_limit_431(void **state)
{
    e2e_srv *s = *state;
    char big[6000];
    const char *h[] = {big, NULL};
    e2e_resp r;

    snprintf(big, sizeof(big), "X-Filler: %05000d", 7);
    assert_int_equal(e2e_request(s, "GET", "/health", h, NULL, 0, NULL, &r), CURLE_OK);
    assert_refusal(&r, 431, "LIMIT_HEADER_BYTES");
    e2e_resp_free(&r);
    big[3000] = '\0'; /* under the limit */
    assert_int_equal(e2e_request(s, "GET", "/health", h, NULL, 0, NULL, &r), CURLE_OK);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void form_fields_over_limit_413(void **state)
{
    e2e_srv *s = *state;
    e2e_resp r;

    e2e_post(s, "/analysis", "application/x-www-form-urlencoded",
             "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", &r);
    assert_refusal(&r, 413, "LIMIT_FORM_FIELDS");
    e2e_resp_free(&r);
    e2e_post(s, "/analysis", "application/json",
             "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}", &r);
    assert_refusal(&r, 413, "LIMIT_FORM_FIELDS");
    e2e_resp_free(&r);
    /* Eight fields are allowed: refused for what they say, not for their number. */
    e2e_post(s, "/analysis", "application/x-www-form-urlencoded", "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8",
             &r);
    e2e_assert_error(&r, 400);
    assert_null(strstr(e2e_str(r.json, "error"), "LIMIT_"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void json_size_and_depth(void **state)
{
    e2e_srv *s = *state;
    char *big = malloc(9100);
    e2e_resp r;

    assert_non_null(big);
    snprintf(big, 9100, "{\"file_id\": \"%08990d\"}", 0);
    e2e_post(s, "/analysis", "application/json", big, &r);
    assert_refusal(&r, 413, "LIMIT_JSON_BYTES");
    e2e_resp_free(&r);
    free(big);
    e2e_post(s, "/analysis", "application/json", "{\"a\": [[[[[1]]]]]}", &r);
    assert_refusal(&r, 400, "LIMIT_JSON_DEPTH");
    e2e_resp_free(&r);
    /* Brackets inside strings are no nesting. */
    e2e_post(s, "/analysis", "application/json", "{\"file_id\": \"[[[[[[[[\\\"[[[[\"}", &r);
    e2e_assert_error(&r, 400);
    assert_null(strstr(e2e_str(r.json, "error"), "LIMIT_JSON_DEPTH"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* ---- refusals a client still sending its body must see ---- */

/* Uploads UPLOAD_MB MiB with the extra headers; asserts curl got an answer (no reset). */
static void upload_big_h(e2e_srv *s, const char *const *h, e2e_resp *r)
{
    size_t n = (size_t)UPLOAD_MB << 20;
    unsigned char *data = malloc(n);

    assert_non_null(data);
    e2e_fill_random(data, n, 3);
    e2e_upload_h(s, "big.bin", "application/octet-stream", data, n, h, r); /* fails on a reset */
    free(data);
}

static void refusals_reach_an_uploading_client(void **state)
{
    e2e_srv *s = *state;
    static const char *const bad_token[] = {"Authorization: Bearer wrong", "Expect:", NULL};
    static const char *const good_token[] = {"Authorization: Bearer secret", "Expect:", NULL};
    static const char *const expect[] = {"Authorization: Bearer wrong", "Expect: 100-continue",
                                         NULL};
    e2e_resp r;

    for (int i = 0; i < 3; i++) {
        upload_big_h(s, bad_token, &r);
        e2e_assert_error(&r, 401);
        e2e_resp_free(&r);
        upload_big_h(s, good_token, &r);
        assert_refusal(&r, 413, "MAX_CONTENT_LENGTH");
        e2e_resp_free(&r);
        upload_big_h(s, expect, &r); /* answered before the body is sent */
        e2e_assert_error(&r, 401);
        e2e_resp_free(&r);
    }
    assert_true(e2e_log_wait(s, "status=401 in=8388", 5)); /* the body was read and dropped */
    s->token = "secret";
    e2e_upload(s, "small.txt", "text/plain", "still serving", 13, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* ---- downloads ---- */

static void stalled_download_dropped(void **state)
{
    e2e_srv *s = *state;
    char id[41], req[256], buf[65536];
    size_t got = 0;
    ssize_t n;
    double t0, waited;
    int fd;
    e2e_resp r;

    upload_big(s, id);
    fd = raw_connect(s, NULL, 16384);
    snprintf(req, sizeof(req), "GET /file/%s HTTP/1.1\r\nHost: vas\r\n\r\n", id);
    raw_send(fd, req);
    t0 = e2e_now();
    for (int i = 0; i < 5; i++) { /* others are served meanwhile */
        e2e_get(s, "/health", &r);
        e2e_assert_status(&r, 200);
        e2e_resp_free(&r);
        tu_nap_ms(100);
    }
    assert_true(e2e_log_wait(s, "cut_off=1 why=timeout", STALL_S + 15));
    waited = e2e_now() - t0;
    assert_true(waited >= STALL_S - 0.5 && waited < STALL_S + 12);
    /* The socket ends (EOF or reset) well before the file's end. */
    struct timeval tv = {.tv_sec = 10};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        got += (size_t)n;
    assert_true(n == 0 || errno == ECONNRESET);
    assert_true(got < BIG_FILE);
    close(fd);
    e2e_get(s, "/health", &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    print_message("stalled download: dropped after %.1f s (limit %d s), %zu of %zu bytes sent\n",
                  waited, STALL_S, got, BIG_FILE);
    E2E_PASS(s);
}

/* MHD restarts a connection's timeout at every byte sent: a client reading slowly but steadily
 * for longer than LIMIT_DOWNLOAD_STALL_S gets the whole file. */
static void slow_reader_not_dropped(void **state)
{
    e2e_srv *s = *state;
    char id[41], req[256], buf[65536];
    size_t got = 0;
    ssize_t n;
    double t0;
    int fd;

    upload_big(s, id);
    fd = raw_connect(s, NULL, 65536);
    snprintf(req, sizeof(req), "GET /file/%s HTTP/1.1\r\nHost: vas\r\nConnection: close\r\n\r\n",
             id);
    raw_send(fd, req);
    t0 = e2e_now();
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        got += (size_t)n;
        tu_nap_ms(10);
    }
    close(fd);
    assert_true(e2e_now() - t0 > STALL_S + 1);
    assert_true(got > BIG_FILE); /* headers and the whole body */
    assert_int_equal(log_count(s, "cut_off=1"), 0);
    print_message("slow reader: %zu bytes in %.1f s, not dropped\n", got, e2e_now() - t0);
    E2E_PASS(s);
}

/* Five downloads cut mid-body by their clients. */
static void cut_five(e2e_srv *s, const char *path)
{
    char req[256], buf[65536];

    for (int i = 0; i < 5; i++) {
        int fd = raw_connect(s, NULL, 0);
        size_t got = 0;
        ssize_t n;
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: vas\r\n\r\n", path);
        raw_send(fd, req);
        while (got < ((size_t)1 << 20) && (n = recv(fd, buf, sizeof(buf), 0)) > 0)
            got += (size_t)n;
        assert_true(got >= ((size_t)1 << 20));
        close(fd); /* mid-body */
    }
}

/* Four downloads at once, each begun before any ends: the server's store pool grows to the most
 * requests one client may have open (LIMIT_CONNECTIONS_PER_CLIENT: 4), so later cuts, which can
 * overlap each other, never open a new store (two fds, seen in CI under ASan). */
static void warm_four(e2e_srv *s, const char *path)
{
    char req[256], buf[65536];
    int fd[4];
    ssize_t n;

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: vas\r\nConnection: close\r\n\r\n", path);
    for (int i = 0; i < 4; i++) {
        size_t got = 0;
        fd[i] = raw_connect(s, NULL, 0);
        raw_send(fd[i], req);
        while (got < ((size_t)1 << 20) && (n = recv(fd[i], buf, sizeof(buf), 0)) > 0)
            got += (size_t)n;
        assert_true(got >= ((size_t)1 << 20)); /* its handler ran: it holds a store */
    }
    for (int i = 0; i < 4; i++) {
        while ((n = recv(fd[i], buf, sizeof(buf), 0)) > 0)
            ;
        assert_int_equal(n, 0);
        close(fd[i]);
    }
}

/* Waits up to 10 s for /proc/<pid>/<what> to count at most want; returns the count. */
static int settle(const e2e_srv *s, const char *what, int want)
{
    double end = e2e_now() + 10;
    int n;

    while ((n = proc_count(s->pid, what)) > want && e2e_now() < end)
        tu_nap_ms(50);
    return n;
}

/* Clients that hang up mid-download are each logged, and leave nothing behind: the fd count
 * comes back, and two more rounds of cuts add at most a few threads (a leak grows with every
 * cut: 10 more; pool threads started once, seen in CI under ASan, do not). */
static void disconnect_mid_download(void **state)
{
    e2e_srv *s = *state;
    char id[41], path[64];
    int fds0, tasks1;
    double end;

    upload_big(s, id);
    snprintf(path, sizeof(path), "/file/%s", id);
    assert_int_equal(raw_download(s, path), BIG_FILE); /* a whole one first */
    warm_four(s, path);                                /* the store pool at its most */
    tu_nap_ms(300);
    fds0 = proc_count(s->pid, "fd");
    cut_five(s, path);
    end = e2e_now() + 10;
    while (log_count(s, "cut_off=1") < 5 && e2e_now() < end)
        tu_nap_ms(50);
    assert_int_equal(log_count(s, "cut_off=1"), 5); /* each one logged */
    assert_int_equal(settle(s, "fd", fds0), fds0);
    tasks1 = proc_count(s->pid, "task");
    cut_five(s, path);
    end = e2e_now() + 10;
    while (log_count(s, "cut_off=1") < 10 && e2e_now() < end)
        tu_nap_ms(50);
    assert_int_equal(log_count(s, "cut_off=1"), 10);
    assert_int_equal(settle(s, "fd", fds0), fds0);
    cut_five(s, path); /* a third round: a thread leaked per cut would be 10 more by now */
    end = e2e_now() + 10;
    while (log_count(s, "cut_off=1") < 15 && e2e_now() < end)
        tu_nap_ms(50);
    assert_int_equal(log_count(s, "cut_off=1"), 15);
    assert_int_equal(settle(s, "fd", fds0), fds0);
    assert_true(settle(s, "task", tasks1) <= tasks1 + 4);
    assert_int_equal(raw_download(s, path), BIG_FILE);
    E2E_PASS(s);
}

int main(void)
{
    char *dir = tu_mkdtemp();
    static const char cfg[] = "LIMIT_CONNECTIONS: 6\n"
                              "LIMIT_CONNECTIONS_PER_CLIENT: 4\n"
                              "LIMIT_HEADER_BYTES: 4096\n"
                              "LIMIT_FORM_FIELDS: 8\n"
                              "LIMIT_JSON_BYTES: 8192\n"
                              "LIMIT_JSON_DEPTH: 5\n"
                              "LIMIT_DOWNLOAD_STALL_S: 2\n";
    const struct CMUnitTest tests[] = {
        E2E_TEST(connections_per_client_429, limits),
        E2E_TEST(connections_total_503, limits),
        E2E_TEST(headers_over_limit_431, limits),
        E2E_TEST(form_fields_over_limit_413, limits),
        E2E_TEST(json_size_and_depth, limits),
        E2E_TEST(refusals_reach_an_uploading_client, guarded),
        E2E_TEST(stalled_download_dropped, limits),
        E2E_TEST(slow_reader_not_dropped, limits),
        E2E_TEST(disconnect_mid_download, limits),
    };
    int rc;

    if (!dir)
        return 1;
    snprintf(cfg_path, sizeof(cfg_path), "%s/limits.yaml", dir);
    if (tu_write_file(cfg_path, cfg, sizeof(cfg) - 1) < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    tu_rm_rf(dir);
    free(dir);
    return rc;
}
