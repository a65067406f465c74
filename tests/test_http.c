/* test_http.c - unit tests of the http module's pure parts: Range, If-None-Match, the
 * code -> status map, the Prometheus text of the request counters and the JSON depth pre-scan. The
 * routes themselves are tested end to end against a real server (e2e_*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http_int.h"
#include "http/metrics.h"
#include "http/range.h"

#include <stdlib.h>
#include <string.h>

static void range_forms(void **state)
{
    int64_t s = -1, n = -1;

    (void)state;
    assert_int_equal(range_parse("bytes=0-3", 10, &s, &n), RANGE_PARTIAL);
    assert_int_equal(s, 0);
    assert_int_equal(n, 4);
    assert_int_equal(range_parse("bytes=4-", 10, &s, &n), RANGE_PARTIAL);
    assert_int_equal(s, 4);
    assert_int_equal(n, 6);
    assert_int_equal(range_parse("bytes=-3", 10, &s, &n), RANGE_PARTIAL);
    assert_int_equal(s, 7);
    assert_int_equal(n, 3);
    assert_int_equal(range_parse("bytes=-30", 10, &s, &n), RANGE_PARTIAL); /* whole file */
    assert_int_equal(s, 0);
    assert_int_equal(n, 10);
    assert_int_equal(range_parse("bytes=5-100", 10, &s, &n), RANGE_PARTIAL); /* clipped */
    assert_int_equal(s, 5);
    assert_int_equal(n, 5);
}

static void range_refusals(void **state)
{
    int64_t s, n;

    (void)state;
    assert_int_equal(range_parse(NULL, 10, &s, &n), RANGE_FULL);
    assert_int_equal(range_parse("items=0-3", 10, &s, &n), RANGE_FULL);
    assert_int_equal(range_parse("bytes=0-1,4-5", 10, &s, &n), RANGE_FULL);
    assert_int_equal(range_parse("bytes=5-2", 10, &s, &n), RANGE_FULL);
    assert_int_equal(range_parse("bytes=a-b", 10, &s, &n), RANGE_FULL);
    assert_int_equal(range_parse("bytes=99999999999999999999-", 10, &s, &n), RANGE_FULL);
    assert_int_equal(range_parse("bytes=10-", 10, &s, &n), RANGE_UNSATISFIABLE);
    assert_int_equal(range_parse("bytes=-0", 10, &s, &n), RANGE_UNSATISFIABLE);
    assert_int_equal(range_parse("bytes=0-", 0, &s, &n), RANGE_UNSATISFIABLE);
}

static void etag_matching(void **state)
{
    const char *tag = "\"abc\"";

    (void)state;
    assert_true(range_etag_match("\"abc\"", tag));
    assert_true(range_etag_match("W/\"abc\"", tag));
    assert_true(range_etag_match("\"x\", \"abc\"", tag));
    assert_true(range_etag_match("*", tag));
    assert_false(range_etag_match("\"abcd\"", tag));
    assert_false(range_etag_match("\"ab\"", tag));
    assert_false(range_etag_match(NULL, tag));
    assert_false(range_etag_match("", tag));
}

static void status_map(void **state)
{
    (void)state;
    assert_int_equal(reply_status_of(VAS_EINVAL), 400);
    assert_int_equal(reply_status_of(VAS_EAMBIG), 400);
    assert_int_equal(reply_status_of(VAS_ENOTFOUND), 404);
    assert_int_equal(reply_status_of(VAS_ECONFLICT), 409);
    assert_int_equal(reply_status_of(VAS_ETOOBIG), 413);
    assert_int_equal(reply_status_of(VAS_EAUTH), 401);
    assert_int_equal(reply_status_of(VAS_EMETHOD), 405);
    assert_int_equal(reply_status_of(VAS_ERANGE), 416);
    assert_int_equal(reply_status_of(VAS_EIO), 500);
}

static void metrics_text(void **state)
{
    http_metrics *m = calloc(1, sizeof(*m));
    char *buf = NULL;
    size_t len = 0, cap = 0;

    (void)state;
    assert_non_null(m);
    metrics_count(m, HTTP_ROUTE_FILE, 200, 10, 1000);
    metrics_count(m, HTTP_ROUTE_FILE, 200, 0, 24);
    metrics_count(m, HTTP_ROUTE_FILES, 413, 5, 0);
    metrics_count(m, HTTP_ROUTE_NONE, 418, 0, 0);   /* not a known status: "other" */
    metrics_count(m, HTTP_ROUTE_HEALTH, 429, 0, 0); /* the limits' statuses have their own */
    metrics_count(m, HTTP_ROUTE_HEALTH, 431, 0, 0);
    metrics_count(m, HTTP_ROUTE_FILES, 507, 0, 0); /* disk full */
    assert_int_equal(metrics_format(m, &buf, &len, &cap), 0);
    assert_int_equal(strlen(buf), len);
    assert_non_null(strstr(buf, "vas_http_requests_total{route=\"/file/:id\",status=\"200\"} 2\n"));
    assert_non_null(strstr(buf, "vas_http_requests_total{route=\"/file\",status=\"413\"} 1\n"));
    assert_non_null(strstr(buf, "vas_http_requests_total{route=\"unknown\",status=\"other\"} 1\n"));
    assert_non_null(strstr(buf, "vas_http_received_bytes_total 15\n"));
    assert_non_null(strstr(buf, "vas_http_sent_bytes_total 1024\n"));
    assert_non_null(strstr(buf, "vas_http_requests_total{route=\"/health\",status=\"429\"} 1\n"));
    assert_non_null(strstr(buf, "vas_http_requests_total{route=\"/health\",status=\"431\"} 1\n"));
    assert_non_null(strstr(buf, "vas_http_requests_total{route=\"/file\",status=\"507\"} 1\n"));
    assert_null(strstr(buf, "status=\"404\""));
    free(buf);
    free(m);
}

static int depth_of(const char *json)
{
    return http_json_depth(json, strlen(json));
}

static void json_depth_prescan(void **state)
{
    (void)state;
    assert_int_equal(http_json_depth(NULL, 0), 0);
    assert_int_equal(depth_of("1"), 0);
    assert_int_equal(depth_of("{}"), 1);
    assert_int_equal(depth_of("{\"a\": [[1], {\"b\": []}]}"), 4);
    assert_int_equal(depth_of("[[[]]] [[]]"), 3); /* the deepest, not the sum */
    /* Brackets in strings, escaped quotes included, do not count. */
    assert_int_equal(depth_of("{\"[[[\": \"\\\"[[[{{\"}"), 1);
    /* Unbalanced closers don't go below zero: "]]]]" then "[[" is 2 deep. */
    assert_int_equal(depth_of("]]]][["), 2);
    /* Only n bytes are read. */
    assert_int_equal(http_json_depth("[[[[", 2), 2);
}

static void appendf_grows(void **state)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;

    (void)state;
    for (int i = 0; i < 2000; i++)
        assert_int_equal(metrics_appendf(&buf, &len, &cap, "line %d\n", i), 0);
    assert_non_null(strstr(buf, "line 0\nline 1\n"));
    assert_non_null(strstr(buf, "line 1999\n"));
    assert_true(len < cap);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(range_forms),        cmocka_unit_test(range_refusals),
        cmocka_unit_test(etag_matching),      cmocka_unit_test(status_map),
        cmocka_unit_test(metrics_text),       cmocka_unit_test(appendf_grows),
        cmocka_unit_test(json_depth_prescan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
