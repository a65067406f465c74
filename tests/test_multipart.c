/* test_multipart.c - unit tests of http/multipart.c, the streaming multipart/form-data parser of
 * POST /file: what its hooks see for well-formed bodies fed whole, a byte at a time and cut at
 * every place (a delimiter cut anywhere, bytes that look like one), and the malformed bodies it
 * refuses. The upload path through a real server is tested in e2e_files.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT "multipart/form-data; boundary=XyZ"
#define B  "--XyZ"

/* What the hooks saw, as text: B(name|filename|ctype) per part, the data, E at each part's end. */
typedef struct rec {
    char *s;
    size_t n, cap;
    int fail_at_data; /* the data hook fails (VAS_ETOOBIG) at its call number n (1-based); 0: never
                       */
    int data_calls;
} rec;

static void rec_add(rec *r, const char *p, size_t n)
{
    if (r->n + n + 1 > r->cap) {
        r->cap = (r->n + n + 1) * 2;
        r->s = realloc(r->s, r->cap);
        assert_non_null(r->s);
    }
    memcpy(r->s + r->n, p, n);
    r->n += n;
    r->s[r->n] = '\0';
}

static int on_begin(void *arg, const http_mp_part *pt)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "B(%s|%s|%s)", pt->name ? pt->name : "-",
             pt->filename ? pt->filename : "-", pt->ctype ? pt->ctype : "-");
    rec_add(arg, buf, strlen(buf));
    return 0;
}

static int on_data(void *arg, const char *p, size_t n)
{
    rec *r = arg;

    assert_true(n > 0);
    if (++r->data_calls == r->fail_at_data)
        return VAS_ETOOBIG;
    rec_add(r, p, n);
    return 0;
}

static int on_end(void *arg)
{
    rec_add(arg, "E", 1);
    return 0;
}

static const http_mp_hooks hooks = {on_begin, on_data, on_end};

/* Parses body (n bytes) fed in pieces of `step` bytes (0: whole) and, when cut > 0, cut in two
 * at cut instead. The parser's result; what the hooks saw in *out (caller frees). */
static int parse(const char *ct, const char *body, size_t n, size_t step, size_t cut, char **out,
                 vas_err *e)
{
    rec r = {0};
    http_mp *m = NULL;
    int rc = http_mp_new(ct, &hooks, &r, &m, e);

    rec_add(&r, "", 0);
    if (rc == VAS_OK && cut > 0) {
        rc = http_mp_feed(m, body, cut, e);
        if (rc == VAS_OK)
            rc = http_mp_feed(m, body + cut, n - cut, e);
    } else {
        for (size_t off = 0; rc == VAS_OK && off < n; off += step ? step : n)
            rc = http_mp_feed(m, body + off, step && n - off > step ? step : n - off, e);
    }
    if (rc == VAS_OK)
        rc = http_mp_finish(m, e);
    http_mp_free(m);
    *out = r.s;
    return rc;
}

/* body parses to want whole, a byte at a time, and cut at every place. */
static void parses_everywhere(const char *ct, const char *body, size_t n, const char *want)
{
    vas_err e = {0};
    char *got = NULL;

    assert_int_equal(parse(ct, body, n, 0, 0, &got, &e), VAS_OK);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(parse(ct, body, n, 1, 0, &got, &e), VAS_OK);
    assert_string_equal(got, want);
    free(got);
    for (size_t cut = 1; cut < n; cut++) {
        assert_int_equal(parse(ct, body, n, 0, cut, &got, &e), VAS_OK);
        if (strcmp(got, want) != 0)
            fail_msg("cut at %zu: got '%s'", cut, got);
        free(got);
    }
}

/* body is refused (VAS_EINVAL, a message with `why` in it) however it is fed. */
static void refused(const char *ct, const char *body, const char *why)
{
    size_t n = strlen(body);
    vas_err e = {0};
    char *got = NULL;

    for (size_t step = 0; step <= 1; step++) {
        memset(&e, 0, sizeof(e));
        assert_int_equal(parse(ct, body, n, step, 0, &got, &e), VAS_EINVAL);
        free(got);
        if (!strstr(e.msg, why))
            fail_msg("'%s' (step %zu): the message '%s' does not say '%s'", body, step, e.msg, why);
    }
}

static void curl_style_upload(void **state)
{
    static const char body[] = B "\r\nContent-Disposition: form-data; name=\"file\"; "
                                 "filename=\"a b.txt\"\r\nContent-Type: text/plain\r\n\r\n"
                                 "hello\r\nworld\r\n" B "--\r\n";

    (void)state;
    parses_everywhere(CT, body, sizeof(body) - 1, "B(file|a b.txt|text/plain)hello\r\nworldE");
}

/* Bytes that begin like the delimiter but are not one stay in the data, wherever they are cut:
 * CRs, a CRLF "--" with part of the boundary, the boundary without its CRLF, the boundary after
 * a bare LF, and a CR right before the real delimiter. */
#define TRICKY "\r\r\n\r\n-\r\n--\r\n--X\r\n--XyY--XyZ\n--XyZ\r\n--Xy\r"

static void near_delimiters_are_data(void **state)
{
    static const char body[] = B "\r\nContent-Disposition: form-data; name=\"file\"; "
                                 "filename=\"x\"\r\n\r\n" TRICKY "\r\n" B "--\r\n";

    (void)state;
    parses_everywhere(CT, body, sizeof(body) - 1, "B(file|x|-)" TRICKY "E");
}

static void preamble_fields_and_padding(void **state)
{
    /* A preamble, a field, a file part, transport padding after a boundary, a quoted boundary
     * parameter among others, header names in any case, a padded Content-Type value. */
    static const char ct[] = "multipart/form-data; charset=utf-8; BOUNDARY=\"XyZ\"";
    static const char body[] = "this preamble is dropped\r\n" B " \t\r\n"
                               "content-disposition: form-data; name=note\r\n\r\n"
                               "a note\r\n" B "\r\n"
                               "X-Other: whatever\r\n"
                               "Content-Type:   application/octet-stream  \r\n"
                               "Content-Disposition: form-data; filename=\"f.bin\"; name=\"file\""
                               "\r\n\r\n\x01\x02\r\n" B "--";

    (void)state;
    parses_everywhere(ct, body, sizeof(body) - 1,
                      "B(note|-|-)a noteEB(file|f.bin|application/octet-stream)\x01\x02"
                      "E");
}

static void empty_file_part(void **state)
{
    static const char body[] = B "\r\nContent-Disposition: form-data; name=\"file\"; "
                                 "filename=\"empty\"\r\n\r\n\r\n" B "--\r\n";

    (void)state;
    parses_everywhere(CT, body, sizeof(body) - 1, "B(file|empty|-)E");
}

/* A large part in big pieces: the data reaches the hook whole, in at most a few calls a piece. */
static void large_part_in_big_pieces(void **state)
{
    static const char head[] = B "\r\nContent-Disposition: form-data; name=\"file\"; "
                                 "filename=\"big\"\r\n\r\n";
    static const char tail[] = "\r\n" B "--\r\n";
    size_t n = (size_t)3 << 20, hn = sizeof(head) - 1, tn = sizeof(tail) - 1;
    char *body = malloc(hn + n + tn), *got = NULL;
    uint32_t x = 7;
    vas_err e = {0};
    rec r = {0};
    http_mp *m = NULL;

    (void)state;
    assert_non_null(body);
    memcpy(body, head, hn);
    for (size_t i = 0; i < n; i++) /* every byte value, CR and '-' included */
        body[hn + i] = (char)((x = x * 1103515245u + 12345u) >> 24);
    memcpy(body + hn + n, tail, tn);
    assert_int_equal(http_mp_new(CT, &hooks, &r, &m, &e), VAS_OK);
    for (size_t off = 0; off < hn + n + tn; off += 131072) {
        size_t k = hn + n + tn - off < 131072 ? hn + n + tn - off : 131072;
        assert_int_equal(http_mp_feed(m, body + off, k, &e), VAS_OK);
    }
    assert_int_equal(http_mp_finish(m, &e), VAS_OK);
    http_mp_free(m);
    got = r.s;
    assert_int_equal(r.n, strlen("B(file|big|-)") + n + 1);
    assert_memory_equal(got + strlen("B(file|big|-)"), body + hn, n);
    assert_true(r.data_calls <= 2 * (int)((hn + n + tn) / 131072 + 1));
    free(got);
    free(body);
}

static void malformed_bodies_refused(void **state)
{
    static const char *const cd = "Content-Disposition: form-data; name=\"file\"; filename=\"a\"";
    char big[HTTP_MP_HEADER_MAX + 200], body[HTTP_MP_HEADER_MAX + 400];

    (void)state;
    refused(CT, "", "ends before its closing boundary");
    refused(CT, "no boundary in here at all", "ends before its closing boundary");
    refused(CT, B "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnever closed",
            "ends before its closing boundary");
    refused(CT, B "\r\n\r\nx\r\n" B "--\r\nmore", "goes on after its closing boundary");
    refused(CT, B "\r\n\r\nx\r\n" B "--\r", "ends before");
    refused(CT, B "x\r\n\r\n", "does not end with CRLF");
    refused(CT, B "\n\r\n", "does not end with CRLF");
    refused(CT, B "-x", "does not end with CRLF");
    refused(CT, B "\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\n", "not form-data");
    refused(CT, B "\r\nContent-Disposition: form-data; name=\"file\r\n\r\n", "malformed");
    refused(CT, B "\r\nContent-Disposition: form-data; name\r\n\r\n", "malformed");
    refused(CT, B "\r\nno colon here\r\n\r\n", "malformed header line");
    refused(CT, B "\r\nBad Name: x\r\n\r\n", "malformed header line");
    refused(CT, B "\r\n folded: x\r\n\r\n", "malformed header line");
    refused(CT, B "\r\nX: a\rb\r\n\r\n", "malformed header line");
    refused(CT,
            B "\r\nContent-Disposition: form-data; name=a\r\n"
              "Content-Disposition: form-data; name=b\r\n\r\n",
            "two Content-Disposition");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(body, sizeof(body), B "\r\n%s\r\nX-Long: %s\r\n\r\n", cd, big);
    refused(CT, body, "headers are larger than");
}

static void nul_in_headers_refused(void **state)
{
    static const char body[] = B "\r\nContent-Disposition: form-data; name=\"fi\0le\"\r\n\r\n";
    vas_err e = {0};
    char *got = NULL;

    (void)state;
    assert_int_equal(parse(CT, body, sizeof(body) - 1, 0, 0, &got, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "NUL"));
    free(got);
}

static void bad_boundaries_refused(void **state)
{
    char ct[400];
    http_mp *m = NULL;
    vas_err e = {0};
    rec r = {0};

    (void)state;
    assert_int_equal(http_mp_new("multipart/form-data", &hooks, &r, &m, &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "boundary"));
    assert_int_equal(http_mp_new("multipart/form-data; boundary=", &hooks, &r, &m, &e), VAS_EINVAL);
    assert_int_equal(http_mp_new("multipart/form-data; boundary=\"\"", &hooks, &r, &m, &e),
                     VAS_EINVAL);
    assert_int_equal(http_mp_new("multipart/form-data; boundary=\"a\rb\"", &hooks, &r, &m, &e),
                     VAS_EINVAL);
    assert_int_equal(http_mp_new("multipart/form-data; boundary=\"unclosed", &hooks, &r, &m, &e),
                     VAS_EINVAL);
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%0*d", HTTP_MP_BOUNDARY_MAX + 1, 0);
    assert_int_equal(http_mp_new(ct, &hooks, &r, &m, &e), VAS_EINVAL);
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%0*d", HTTP_MP_BOUNDARY_MAX, 0);
    assert_int_equal(http_mp_new(ct, &hooks, &r, &m, &e), VAS_OK);
    http_mp_free(m);
    http_mp_free(NULL);
}

/* A hook's error stops the parse; the parser keeps returning it. */
static void hook_error_stops(void **state)
{
    static const char body[] = B "\r\nContent-Disposition: form-data; name=\"file\"; "
                                 "filename=\"x\"\r\n\r\nsome bytes\r\n" B "--\r\n";
    rec r = {.fail_at_data = 1};
    http_mp *m = NULL;
    vas_err e = {0};

    (void)state;
    assert_int_equal(http_mp_new(CT, &hooks, &r, &m, &e), VAS_OK);
    assert_int_equal(http_mp_feed(m, body, sizeof(body) - 1, &e), VAS_ETOOBIG);
    assert_int_equal(http_mp_feed(m, "more", 4, &e), VAS_ETOOBIG);
    assert_int_equal(http_mp_finish(m, &e), VAS_ETOOBIG);
    http_mp_free(m);
    free(r.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(curl_style_upload),
        cmocka_unit_test(near_delimiters_are_data),
        cmocka_unit_test(preamble_fields_and_padding),
        cmocka_unit_test(empty_file_part),
        cmocka_unit_test(large_part_in_big_pieces),
        cmocka_unit_test(malformed_bodies_refused),
        cmocka_unit_test(nul_in_headers_refused),
        cmocka_unit_test(bad_boundaries_refused),
        cmocka_unit_test(hook_error_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
