/* e2e_files.c - end-to-end tests of api.md's Files rows against a real `vas serve`: upload
 * (ids, dedup, the size limit, bad bodies, an upload cut off mid-body), list with paging,
 * download (headers, prefixes, ranges, conditional requests, HEAD, a 5 MB file) and delete
 * (incl. 409 while an analysis needs the file). Each test gets its own server (e2e.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const char *const one_worker[] = {"--workers", "1", NULL};
static const char *const no_workers[] = {"--workers", "0", NULL};
static const char *const small_limit[] = {"--max-upload", "100000", "--workers", "0", NULL};

#define BOUNDARY  "vasE2Eboundary"
#define MULTIPART "multipart/form-data; boundary=" BOUNDARY

/* Asserts GET /file lists exactly n files and n blobs are on disk. */
static void assert_n_files(e2e_srv *s, int n)
{
    e2e_resp r;

    e2e_get(s, "/file", &r);
    e2e_assert_status(&r, 200);
    assert_true(json_is_array(r.json));
    assert_int_equal(json_array_size(r.json), n);
    e2e_resp_free(&r);
    assert_int_equal(tu_count_files(s->files), n);
}

/* ---- upload ---- */

static void upload_keeps_name_type_and_sha1(void **state)
{
    e2e_srv *s = *state;
    e2e_resp r;
    json_t *f;

    /* A known vector: sha1("hello\n"). */
    e2e_upload(s, "hello.txt", "text/x-greeting", "hello\n", 6, &r);
    e2e_assert_status(&r, 202);
    assert_string_equal(e2e_header(&r, "Content-Type"), "application/json");
    assert_string_equal(e2e_str(r.json, "file_id"), "f572d396fae9206628714fb2ce00f72e94f2258f");
    assert_int_equal(json_object_size(r.json), 1);
    e2e_resp_free(&r);

    e2e_get(s, "/file", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 1);
    f = json_array_get(r.json, 0);
    assert_string_equal(e2e_str(f, "file_id"), "f572d396fae9206628714fb2ce00f72e94f2258f");
    assert_string_equal(e2e_str(f, "filename"), "hello.txt");
    assert_string_equal(e2e_str(f, "content_type"), "text/x-greeting");
    assert_int_equal(json_integer_value(json_object_get(f, "size")), 6);
    assert_true(strlen(e2e_str(f, "created")) >= 10);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* A client's file name is kept as a safe base name, and downloads name it as RFC 6266 asks. */
static void upload_names_made_safe(void **state)
{
    static const struct {
        const char *sent, *kept, *disposition;
    } cases[] = {
        {"../../etc/x y.txt", "x y.txt", "attachment; filename=\"x y.txt\""},
        {"C:\\data\\maus gr\xc3\xb6\xc3\x9f"
         "e.avi",
         "maus gr\xc3\xb6\xc3\x9f"
         "e.avi",
         "attachment; filename=\"maus gr__e.avi\"; "
         "filename*=UTF-8''maus%20gr%C3%B6%C3%9Fe.avi"},
    };
    e2e_srv *s = *state;
    e2e_resp r;
    char path[128], body[32];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "name test %zu\n", i);
        e2e_upload(s, cases[i].sent, "text/plain", body, strlen(body), &r);
        e2e_assert_status(&r, 202);
        snprintf(path, sizeof(path), "/file/%s", e2e_str(r.json, "file_id"));
        e2e_resp_free(&r);
        e2e_get(s, path, &r);
        e2e_assert_status(&r, 200);
        assert_string_equal(e2e_header(&r, "Content-Disposition"), cases[i].disposition);
        e2e_resp_free(&r);
    }
    e2e_get(s, "/file", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *name = e2e_str(json_array_get(r.json, i), "filename");
        assert_true(strcmp(name, cases[0].kept) == 0 || strcmp(name, cases[1].kept) == 0);
    }
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void upload_twice_keeps_one_copy(void **state)
{
    e2e_srv *s = *state;
    const char *text = "the same bytes, twice\n";
    char a[41], b[41];
    e2e_resp r;

    e2e_upload_text(s, text, "first.txt", a);
    e2e_upload_text(s, text, "second.txt", b); /* checks 202 and the SHA-1 again */
    assert_string_equal(a, b);
    assert_n_files(s, 1);
    /* The first upload's name stays. */
    e2e_get(s, "/file", &r);
    assert_string_equal(e2e_str(json_array_get(r.json, 0), "filename"), "first.txt");
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void upload_rejects_bad_bodies(void **state)
{
    e2e_srv *s = *state;
    static const struct {
        const char *ctype, *body, *why;
    } bad[] = {
        {MULTIPART,
         "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n"
         "--" BOUNDARY "--\r\n",
         "no file field"},
        {MULTIPART,
         "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n"
         "Content-Type: text/plain\r\n\r\nhello\r\n--" BOUNDARY "--\r\n",
         "empty filename"},
        {MULTIPART,
         "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
         "Content-Type: text/plain\r\n\r\nhello, never closed",
         "no closing boundary"},
        {MULTIPART, "this is not a multipart body at all", "no boundary in the body"},
        {MULTIPART,
         "--" BOUNDARY "\r\nContent-Type: text/plain\r\n\r\nhello\r\n--" BOUNDARY "--\r\n",
         "a part without a name (crashed the server: fuzz_http_body)"},
        {"multipart/form-data", "--x\r\n\r\nhello\r\n--x--\r\n", "no boundary parameter"},
        {"application/x-www-form-urlencoded", "file=hello", "urlencoded file (no filename)"},
        {"application/json", "{\"file\": \"hello\"}", "JSON on POST /file"},
        {"text/plain", "hello", "text/plain on POST /file"},
        {NULL, "hello", "no Content-Type"},
    };
    e2e_resp r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_post(s, "/file", bad[i].ctype, bad[i].body, &r);
        if (r.status != 400)
            fail_msg("%s: want 400, got %ld %s", bad[i].why, r.status, r.body);
        e2e_assert_error(&r, 400);
        e2e_resp_free(&r);
    }
    /* No body at all. */
    e2e_call(s, "POST", "/file", &r);
    e2e_assert_error(&r, 400);
    e2e_resp_free(&r);
    assert_n_files(s, 0);
    /* The server still takes a good upload. */
    char id[41];
    e2e_upload_text(s, "after the bad ones\n", "ok.txt", id);
    assert_n_files(s, 1);
    E2E_PASS(s);
}

/* --max-upload 100000: the limit itself passes; one byte over (caught while streaming, since the
 * Content-Length is within the multipart slack) and far over (caught from the header) are 413
 * and keep nothing. */
static void upload_over_limit_keeps_nothing(void **state)
{
    e2e_srv *s = *state;
    size_t big = 300000;
    unsigned char *p = malloc(big);
    char want[41];
    e2e_resp r;

    assert_non_null(p);
    e2e_fill_random(p, big, 7);
    e2e_upload(s, "limit.bin", "application/octet-stream", p, 100000, &r);
    e2e_assert_status(&r, 202);
    e2e_sha1_hex(p, 100000, want);
    assert_string_equal(e2e_str(r.json, "file_id"), want);
    e2e_resp_free(&r);

    e2e_upload(s, "over.bin", "application/octet-stream", p + 1, 100001, &r);
    e2e_assert_error(&r, 413);
    e2e_resp_free(&r);
    e2e_upload_refused(s, "far-over.bin", p + 2, big - 2, &r);
    e2e_assert_error(&r, 413);
    e2e_resp_free(&r);
    assert_n_files(s, 1);
    free(p);
    E2E_PASS(s);
}

static int raw_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0)
            fail_msg("send: errno %d", errno);
        c += k;
        n -= (size_t)k;
    }
}

/* A raw socket announces 1 MB, sends 200 KB of the file part and closes: no row, no blob. */
static void upload_cut_off_keeps_nothing(void **state)
{
    e2e_srv *s = *state;
    const size_t sent = 200000;
    unsigned char *p = malloc(sent);
    char head[512], id[41];
    int fd, n;
    e2e_resp r;

    assert_non_null(p);
    e2e_fill_random(p, sent, 11);
    n = snprintf(head, sizeof(head),
                 "POST /file HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MULTIPART "\r\n"
                 "Content-Length: 1000000\r\n\r\n"
                 "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; "
                 "filename=\"cut.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    fd = raw_connect(s->port);
    assert_true(fd >= 0);
    send_all(fd, head, (size_t)n);
    send_all(fd, p, sent);
    tu_nap_ms(200); /* let the server stream what arrived into its temporary file */
    close(fd);
    /* The request ends when the server sees the close; its log line says so. */
    assert_true(e2e_log_wait(s, "cut_off=1", 10));
    assert_n_files(s, 0);
    /* The same bytes uploaded whole get their real id (nothing half-written under it). */
    e2e_upload(s, "whole.bin", "application/octet-stream", p, sent, &r);
    e2e_assert_status(&r, 202);
    e2e_sha1_hex(p, sent, id);
    assert_string_equal(e2e_str(r.json, "file_id"), id);
    e2e_resp_free(&r);
    assert_n_files(s, 1);
    free(p);
    E2E_PASS(s);
}

/* ---- list ---- */

static void list_pages(void **state)
{
    e2e_srv *s = *state;
    char ids[3][41];
    static const char *const bad[] = {"/file?limit=abc", "/file?limit=-1", "/file?offset=x",
                                      "/file?offset=-3", "/file?limit=1.5"};
    json_t *seen = json_object();
    e2e_resp r;

    e2e_upload_text(s, "one\n", "1.txt", ids[0]);
    e2e_upload_text(s, "two\n", "2.txt", ids[1]);
    e2e_upload_text(s, "three\n", "3.txt", ids[2]);
    assert_n_files(s, 3);
    /* Two pages cover every file once. */
    e2e_get(s, "/file?limit=2", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 2);
    for (size_t i = 0; i < 2; i++)
        json_object_set_new(seen, e2e_str(json_array_get(r.json, i), "file_id"), json_true());
    e2e_resp_free(&r);
    e2e_get(s, "/file?limit=2&offset=2", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 1);
    json_object_set_new(seen, e2e_str(json_array_get(r.json, 0), "file_id"), json_true());
    e2e_resp_free(&r);
    for (int i = 0; i < 3; i++)
        assert_non_null(json_object_get(seen, ids[i]));
    json_decref(seen);
    /* Past the end, and limit=0: empty. */
    e2e_get(s, "/file?offset=10", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 0);
    e2e_resp_free(&r);
    e2e_get(s, "/file?limit=0", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 0);
    e2e_resp_free(&r);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_get(s, bad[i], &r);
        e2e_assert_error(&r, 400);
        e2e_resp_free(&r);
    }
    E2E_PASS(s);
}

/* ---- download ---- */

static void download_headers_and_bytes(void **state)
{
    e2e_srv *s = *state;
    const char *text = "a small file for download\n";
    char id[41], path[128], etag[64], inm[96], len[16];
    e2e_resp r;

    e2e_sha1_hex(text, strlen(text), id);
    e2e_upload(s, "notes.txt", "application/x-vas-test", text, strlen(text), &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/file/%s", id);
    snprintf(etag, sizeof(etag), "\"%s\"", id);
    snprintf(len, sizeof(len), "%zu", strlen(text));

    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(r.len, strlen(text));
    assert_memory_equal(r.body, text, r.len);
    assert_string_equal(e2e_header(&r, "Content-Type"), "application/x-vas-test");
    assert_string_equal(e2e_header(&r, "Content-Length"), len);
    assert_string_equal(e2e_header(&r, "Content-Disposition"),
                        "attachment; filename=\"notes.txt\"");
    assert_string_equal(e2e_header(&r, "ETag"), etag);
    e2e_resp_free(&r);

    /* HEAD: the same headers, no body. */
    e2e_call(s, "HEAD", path, &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(r.len, 0);
    assert_string_equal(e2e_header(&r, "Content-Length"), len);
    assert_string_equal(e2e_header(&r, "ETag"), etag);
    assert_string_equal(e2e_header(&r, "Content-Type"), "application/x-vas-test");
    e2e_resp_free(&r);

    /* If-None-Match: 304 with no body for our ETag, the file for another. */
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    e2e_get_h(s, path, inm, &r);
    e2e_assert_status(&r, 304);
    assert_int_equal(r.len, 0);
    assert_string_equal(e2e_header(&r, "ETag"), etag);
    e2e_resp_free(&r);
    e2e_get_h(s, path, "If-None-Match: \"0000000000000000000000000000000000000000\"", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(r.len, strlen(text));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* Two payloads "x<n>" whose SHA-1s share their first 4 hex chars, by brute force (about 300
 * tries on average: a birthday search over 65536 prefixes). */
static void colliding_pair(char a[16], char b[16])
{
    static int first[65536]; /* n + 1 of the payload that had this prefix */
    char p[16], id[41];

    memset(first, 0, sizeof(first));
    for (int n = 0; n < 65536 * 4; n++) {
        snprintf(p, sizeof(p), "x%d", n);
        e2e_sha1_hex(p, strlen(p), id);
        int k = (int)strtol((char[5]){id[0], id[1], id[2], id[3], 0}, NULL, 16);
        if (first[k]) {
            snprintf(a, 16, "x%d", first[k] - 1);
            snprintf(b, 16, "%s", p);
            return;
        }
        first[k] = n + 1;
    }
    fail_msg("no SHA-1 prefix collision found");
}

static void download_by_prefix(void **state)
{
    e2e_srv *s = *state;
    char pa[16], pb[16], a[41], b[41], id[41], path[128];
    e2e_resp r;

    e2e_upload_text(s, "prefix target\n", "target.txt", id);
    snprintf(path, sizeof(path), "/file/%.4s", id);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(r.body, "prefix target\n");
    e2e_resp_free(&r);
    /* Upper-case hex is still hex. */
    snprintf(path, sizeof(path), "/file/%s", id);
    for (char *c = path + 6; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);

    /* Too short, not hex, unknown. */
    snprintf(path, sizeof(path), "/file/%.3s", id);
    e2e_get(s, path, &r);
    e2e_assert_error(&r, 400);
    e2e_resp_free(&r);
    static const char *const not_hex[] = {"/file/%25", "/file/zzzz", "/file/%25%25%25%25",
                                          "/file/abcg"};
    for (size_t i = 0; i < sizeof(not_hex) / sizeof(not_hex[0]); i++) {
        e2e_get(s, not_hex[i], &r);
        e2e_assert_error(&r, 400);
        e2e_resp_free(&r);
    }
    e2e_sha1_hex("never uploaded", 14, a);
    snprintf(path, sizeof(path), "/file/%s", a);
    e2e_get(s, path, &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);

    /* Ambiguous: two files share the first 4 hex chars. */
    colliding_pair(pa, pb);
    e2e_upload_text(s, pa, "a.txt", a);
    e2e_upload_text(s, pb, "b.txt", b);
    assert_memory_equal(a, b, 4);
    snprintf(path, sizeof(path), "/file/%.4s", a);
    e2e_get(s, path, &r);
    e2e_assert_error(&r, 400);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/file/%s", b);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(r.body, pb);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void range_case(e2e_srv *s, const char *path, const char *range, const char *body,
                       const char *content_range)
{
    char h[64];
    e2e_resp r;

    snprintf(h, sizeof(h), "Range: %s", range);
    e2e_get_h(s, path, h, &r);
    e2e_assert_status(&r, 206);
    assert_int_equal(r.len, strlen(body));
    assert_memory_equal(r.body, body, r.len);
    assert_string_equal(e2e_header(&r, "Content-Range"), content_range);
    e2e_resp_free(&r);
}

static void download_ranges(void **state)
{
    e2e_srv *s = *state;
    const char *text = "0123456789abcdef"; /* 16 bytes */
    char id[41], path[128];
    e2e_resp r;

    e2e_upload_text(s, text, "digits.txt", id);
    snprintf(path, sizeof(path), "/file/%s", id);
    range_case(s, path, "bytes=0-3", "0123", "bytes 0-3/16");
    range_case(s, path, "bytes=-2", "ef", "bytes 14-15/16");
    range_case(s, path, "bytes=10-", "abcdef", "bytes 10-15/16");
    range_case(s, path, "bytes=14-99", "ef", "bytes 14-15/16");
    e2e_get_h(s, path, "Range: bytes=100-", &r);
    e2e_assert_error(&r, 416);
    assert_string_equal(e2e_header(&r, "Content-Range"), "bytes */16"); /* RFC 9110 */
    e2e_resp_free(&r);
    e2e_get_h(s, path, "Range: bytes=16-20", &r);
    e2e_assert_error(&r, 416);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void download_large_file(void **state)
{
    e2e_srv *s = *state;
    const size_t n = (size_t)5 * 1000 * 1000;
    unsigned char *p = malloc(n);
    char id[41], path[128];
    e2e_resp r;

    assert_non_null(p);
    e2e_fill_random(p, n, 5);
    e2e_sha1_hex(p, n, id);
    e2e_upload(s, "big.bin", "application/octet-stream", p, n, &r);
    e2e_assert_status(&r, 202);
    assert_string_equal(e2e_str(r.json, "file_id"), id);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/file/%s", id);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(r.len, n);
    assert_memory_equal(r.body, p, n);
    assert_string_equal(e2e_header(&r, "Content-Length"), "5000000");
    e2e_resp_free(&r);
    e2e_get_h(s, path, "Range: bytes=4000000-4000009", &r);
    e2e_assert_status(&r, 206);
    assert_int_equal(r.len, 10);
    assert_memory_equal(r.body, p + 4000000, 10);
    e2e_resp_free(&r);
    assert_int_equal(tu_count_files(s->files), 1);
    free(p);
    E2E_PASS(s);
}

/* ---- delete ---- */

static void delete_file(void **state)
{
    e2e_srv *s = *state;
    char a[41], b[41], path[128];
    e2e_resp r;

    e2e_upload_text(s, "delete me\n", "a.txt", a);
    e2e_upload_text(s, "delete me by prefix\n", "b.txt", b);
    snprintf(path, sizeof(path), "/file/%s", a);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(e2e_str(r.json, "deleted"), a);
    e2e_resp_free(&r);
    e2e_get(s, path, &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    assert_n_files(s, 1);

    snprintf(path, sizeof(path), "/file/%.6s", b);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(e2e_str(r.json, "deleted"), b);
    e2e_resp_free(&r);
    assert_n_files(s, 0);
    /* Deleted bytes can come back. */
    e2e_upload_text(s, "delete me\n", "again.txt", a);
    assert_n_files(s, 1);
    E2E_PASS(s);
}

/* With one worker: F1's sleep runs, F2's waits; neither file can go until both are cancelled. */
static void delete_file_in_use_conflicts(void **state)
{
    e2e_srv *s = *state;
    char f1[41], f2[41], run[37], wait[37], path[128];
    e2e_resp r;

    e2e_upload_text(s, "input of a running job\n", "1.txt", f1);
    e2e_upload_text(s, "input of a pending job\n", "2.txt", f2);
    e2e_sleep(s, f1, "30", run);
    e2e_expect_state(s, run, "STARTED", 202, 20);
    e2e_sleep(s, f2, "30", wait);
    e2e_expect_state(s, wait, "PENDING", 202, 1);
    snprintf(path, sizeof(path), "/file/%s", f1);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_error(&r, 409);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/file/%s", f2);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_error(&r, 409);
    e2e_resp_free(&r);
    assert_n_files(s, 2);

    e2e_cancel(s, wait);
    e2e_cancel(s, run);
    snprintf(path, sizeof(path), "/file/%s", f1);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/file/%s", f2);
    e2e_call(s, "DELETE", path, &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    assert_n_files(s, 0);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST(upload_keeps_name_type_and_sha1, no_workers),
        E2E_TEST(upload_names_made_safe, no_workers),
        E2E_TEST(upload_twice_keeps_one_copy, no_workers),
        E2E_TEST(upload_rejects_bad_bodies, no_workers),
        E2E_TEST(upload_over_limit_keeps_nothing, small_limit),
        E2E_TEST(upload_cut_off_keeps_nothing, no_workers),
        E2E_TEST(list_pages, no_workers),
        E2E_TEST(download_headers_and_bytes, no_workers),
        E2E_TEST(download_by_prefix, no_workers),
        E2E_TEST(download_ranges, no_workers),
        E2E_TEST(download_large_file, no_workers),
        E2E_TEST(delete_file, no_workers),
        E2E_TEST(delete_file_in_use_conflicts, one_worker),
    };

    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
