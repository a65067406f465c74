/* e2e_web.c - what the web page stands on, against a real server: the page and its files served
 * from the binary (byte for byte web/, with a content security policy, ETag revalidation, no
 * token needed), GET /analysis/types (every analysis, every argument with a type and a range, and
 * each range the one the server's checks enforce: the minimum and maximum accepted, just past
 * them refused naming the argument), and signed download links (GET /file/<id>/link: good
 * without the token for that file only, with Range; tampered, moved or expired links refused;
 * never logged). The page itself runs in a browser in tests/web/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_tri_scene.h"
#include "http/link.h"

#include <dirent.h>

static const char *const token_args[] = {"--workers",   "0",     "--token", "secret",
                                         "--log-level", "debug", NULL};

/* The bytes of web/<name> (the test runs in the repository), or fails. */
static char *web_file(const char *name, size_t *n)
{
    char path[512];
    char *p;

    snprintf(path, sizeof(path), "web/%s", name);
    p = tu_read_file(path, n);
    if (!p)
        fail_msg("cannot read %s", path);
    return p;
}

/* GET path (no token) answers exactly web/<name> as ctype, with the page's headers. */
static void check_asset(e2e_srv *s, const char *path, const char *name, const char *ctype)
{
    size_t n = 0;
    char *want = web_file(name, &n);
    const char *h;
    e2e_resp r;

    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    if (r.len != n || memcmp(r.body, want, n) != 0)
        fail_msg("%s: %zu bytes, not web/%s's %zu", path, r.len, name, n);
    assert_string_equal(e2e_header(&r, "Content-Type"), ctype);
    h = e2e_header(&r, "Content-Security-Policy");
    assert_non_null(h);
    assert_non_null(strstr(h, "script-src 'self'"));
    assert_non_null(strstr(h, "default-src 'self'"));
    assert_string_equal(e2e_header(&r, "Cache-Control"), "no-cache");
    assert_string_equal(e2e_header(&r, "X-Content-Type-Options"), "nosniff");
    free(want);
    e2e_resp_free(&r);
}

/* The page at / and /view/<id>, every file of web/ at /static/<name>, all without the token on
 * a server that has one; revalidation by ETag; unknown files 404; the whole page under 150 KB. */
static void page_served_from_the_binary(void **state)
{
    e2e_srv *s = *state;
    static const char *const missing[] = {"/static/nothing.js", "/static/", "/view/", "/view/a/b",
                                          "/view"};
    char hdr[128], etag[64];
    size_t total = 0;
    struct dirent *d;
    DIR *dir;
    e2e_resp r;

    check_asset(s, "/", "index.html", "text/html; charset=utf-8");
    check_asset(s, "/view/0b2a6f1e-5d8c-4a3e-9f10-7c2d4e5f6a7b", "index.html",
                "text/html; charset=utf-8");
    check_asset(s, "/static/app.js", "app.js", "text/javascript; charset=utf-8");
    check_asset(s, "/static/app.css", "app.css", "text/css; charset=utf-8");
    assert_non_null(dir = opendir("web"));
    while ((d = readdir(dir))) {
        char path[300];
        struct stat sb;
        snprintf(path, sizeof(path), "web/%s", d->d_name);
        if (d->d_name[0] == '.' || stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
            continue;
        total += (size_t)sb.st_size;
        snprintf(path, sizeof(path), "/static/%s", d->d_name);
        e2e_get(s, path, &r);
        e2e_assert_status(&r, 200);
        assert_int_equal(r.len, (size_t)sb.st_size);
        e2e_resp_free(&r);
    }
    closedir(dir);
    print_message("the page: %zu bytes in web/\n", total);
    assert_true(total > 0 && total < 150 * 1024);

    e2e_get(s, "/", &r);
    snprintf(etag, sizeof(etag), "%s", e2e_header(&r, "ETag"));
    e2e_resp_free(&r);
    assert_int_equal(strlen(etag), 42);
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
    e2e_get_h(s, "/", hdr, &r);
    e2e_assert_status(&r, 304);
    assert_int_equal(r.len, 0);
    e2e_resp_free(&r);
    s->token = "secret"; /* paths that are not the page's are the API's: 401 without it */
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        e2e_get(s, missing[i], &r);
        if (r.status != 404)
            fail_msg("GET %s: want 404, got %ld", missing[i], r.status);
        e2e_resp_free(&r);
    }
    e2e_post(s, "/", "application/json", "{}", &r);
    e2e_assert_error(&r, 405);
    assert_string_equal(e2e_header(&r, "Allow"), "GET, HEAD");
    e2e_resp_free(&r);
    /* The API itself still needs the token. */
    s->token = NULL;
    e2e_get(s, "/analysis/types", &r);
    e2e_assert_error(&r, 401);
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* ---- signed links ---- */

static void link_of(e2e_srv *s, const char *id, char *url, size_t n)
{
    char path[128];
    e2e_resp r;

    snprintf(path, sizeof(path), "/file/%s/link", id);
    e2e_get(s, path, &r);
    e2e_assert_status(&r, 200);
    snprintf(url, n, "%s", e2e_str(r.json, "url"));
    e2e_resp_free(&r);
}

/* GET url without the token: its status and, on 401, that the error says why. */
static long get_bare(e2e_srv *s, const char *method, const char *url, const char *why)
{
    const char *tok = s->token;
    e2e_resp r;
    long st;

    s->token = NULL;
    e2e_call(s, method, url, &r);
    s->token = tok;
    st = r.status;
    if (why && st == 401 && !strstr(e2e_str(r.json, "error"), why))
        fail_msg("%s %s: the error does not say '%s': %s", method, url, why, r.body);
    e2e_resp_free(&r);
    return st;
}

static void links_let_one_file_through(void **state)
{
    e2e_srv *s = *state;
    char a[41], b[41], url[256], moved[256], bad[256], sig[HTTP_LINK_SIG_HEX + 1], *q;
    e2e_resp r;

    s->token = "secret";
    e2e_upload_text(s, "frame,x\n0,1\n", "a.csv", a);
    e2e_upload_text(s, "other\n", "b.txt", b);
    char prefix[9];
    snprintf(prefix, sizeof(prefix), "%.8s", a);
    link_of(s, prefix, url, sizeof(url)); /* a prefix gives the whole id's link */
    assert_int_equal(strncmp(url, "/file/", 6), 0);
    assert_int_equal(strncmp(url + 6, a, 40), 0);
    assert_null(strstr(url, "secret"));

    /* Without the token: the file, a range of it, HEAD; nothing else. */
    s->token = NULL;
    e2e_get(s, url, &r);
    e2e_assert_status(&r, 200);
    assert_string_equal(r.body, "frame,x\n0,1\n");
    e2e_resp_free(&r);
    e2e_get_h(s, url, "Range: bytes=6-6", &r);
    e2e_assert_status(&r, 206);
    assert_string_equal(r.body, "x");
    e2e_resp_free(&r);
    assert_int_equal(get_bare(s, "HEAD", url, NULL), 200);
    assert_int_equal(get_bare(s, "DELETE", url, "Bearer"), 401);
    s->token = "secret";

    /* The same signature on another file, a changed one, an expired one, none. */
    snprintf(moved, sizeof(moved), "/file/%s%s", b, url + 46);
    assert_int_equal(get_bare(s, "GET", moved, "not valid"), 401);
    snprintf(bad, sizeof(bad), "%s", url);
    q = bad + strlen(bad) - 1;
    *q = *q == '0' ? '1' : '0';
    assert_int_equal(get_bare(s, "GET", bad, "not valid"), 401);
    http_link_sign("secret", a, (int64_t)time(NULL) - 5, sig);
    snprintf(bad, sizeof(bad), "/file/%s?expires=%lld&signature=%s", a, (long long)time(NULL) - 5,
             sig);
    assert_int_equal(get_bare(s, "GET", bad, "has expired"), 401);
    http_link_sign("another token", a, (int64_t)time(NULL) + 60, sig);
    snprintf(bad, sizeof(bad), "/file/%s?expires=%lld&signature=%s", a, (long long)time(NULL) + 60,
             sig);
    assert_int_equal(get_bare(s, "GET", bad, "not valid"), 401);
    snprintf(bad, sizeof(bad), "/file/%s?expires=99999999999", a);
    assert_int_equal(get_bare(s, "GET", bad, "not valid"), 401);
    snprintf(bad, sizeof(bad), "/file/%s", a);
    assert_int_equal(get_bare(s, "GET", bad, "Bearer"), 401);

    /* Link routes: unknown file 404, no token 401. */
    e2e_get(s, "/file/0000000000/link", &r);
    e2e_assert_error(&r, 404);
    e2e_resp_free(&r);
    snprintf(bad, sizeof(bad), "/file/%s/link", a);
    assert_int_equal(get_bare(s, "GET", bad, "Bearer"), 401);

    /* The signature never reaches the log. */
    size_t n = 0;
    char *log = tu_read_file(s->log, &n);
    assert_non_null(log);
    assert_null(strstr(log, "signature="));
    assert_null(strstr(log, url + 47));
    free(log);
    E2E_PASS(s);
}

/* Without a token the link is the plain path. */
static void links_plain_without_a_token(void **state)
{
    e2e_srv *s = *state;
    char a[41], url[256], want[64];

    e2e_upload_text(s, "plain\n", "p.txt", a);
    link_of(s, a, url, sizeof(url));
    snprintf(want, sizeof(want), "/file/%s", a);
    assert_string_equal(url, want);
    E2E_PASS(s);
}

/* ---- GET /analysis/types ---- */

static const char *const types_args[] = {"--workers", "0", "--models", models_arg, NULL};

static int n_posts; /* the requests post_arg made */

/* POST /analysis for analysis a with base fields and arg = v (a JSON value, taken): the status;
 * a 400 must name arg. */
static long post_arg(e2e_srv *s, const json_t *base, const char *arg, json_t *v)
{
    json_t *o = json_deep_copy(base);
    char *body;
    e2e_resp r;
    long st;

    json_object_set_new(o, arg, v);
    body = json_dumps(o, JSON_COMPACT);
    n_posts++;
    e2e_post(s, "/analysis", "application/json", body, &r);
    st = r.status;
    if (st == 400 && !strstr(e2e_str(r.json, "error"), arg))
        fail_msg("%s: the 400 does not name '%s': %s", body, arg, r.body);
    if (st != 202 && st != 400)
        fail_msg("%s: %ld %s", body, st, r.body);
    free(body);
    json_decref(o);
    e2e_resp_free(&r);
    return st;
}

#define EXPECT(st, want, what)                                                                     \
    do {                                                                                           \
        if ((st) != (want))                                                                        \
            fail_msg("%s '%s' %s: want %d, got %ld", name, arg, what, want, (long)(st));           \
    } while (0)

/* v as a JSON integer for an integer argument (as a browser's JSON.stringify writes 5), else a
 * real. */
static json_t *num(const char *type, double v)
{
    return strcmp(type, "integer") ? json_real(v) : json_integer((json_int_t)v);
}

/* Checks one argument's published type and range against the server's checks. */
static void check_range(e2e_srv *s, const char *name, const json_t *base, const json_t *spec,
                        int cams)
{
    const char *arg = e2e_str(spec, "name"), *type = e2e_str(spec, "type");
    json_t *b = json_deep_copy(base);

    /* Arguments checked together with others: the filter's need filtered=1 in label and
     * triangulate; windowlength 0 is a spline's (a median's is odd); start must stay below end. */
    if (strcmp(name, "filter") &&
        (!strcmp(arg, "filtertype") || !strcmp(arg, "windowlength") || !strcmp(arg, "p_bound") ||
         !strcmp(arg, "ARdegree") || !strcmp(arg, "MAdegree")))
        json_object_set_new(b, "filtered", json_true());
    if (!strcmp(arg, "windowlength"))
        json_object_set_new(b, "filtertype", json_string("spline"));
    if (!strcmp(type, "boolean")) {
        EXPECT(post_arg(s, b, arg, json_true()), 202, "true");
        EXPECT(post_arg(s, b, arg, json_false()), 202, "false");
    } else if (!strcmp(type, "integer") || !strcmp(type, "number")) {
        double lo = json_number_value(json_object_get(spec, "min"));
        double hi = json_number_value(json_object_get(spec, "max"));
        assert_true(lo < hi);
        if (!strcmp(arg, "min_cameras"))
            hi = cams; /* published as 16: at most the chosen model's cameras */
        if (strcmp(arg, "end"))
            EXPECT(post_arg(s, b, arg, num(type, lo)), 202, "at its minimum");
        if (strcmp(arg, "start"))
            EXPECT(post_arg(s, b, arg, num(type, hi)), 202, "at its maximum");
        EXPECT(post_arg(s, b, arg, num(type, lo > 0 ? 0 : lo - 1)), 400, "below its minimum");
        EXPECT(post_arg(s, b, arg, num(type, hi + 1)), 400, "above its maximum");
        EXPECT(post_arg(s, b, arg, json_string("abc")), 400, "not a number");
        if (!strcmp(type, "integer"))
            EXPECT(post_arg(s, b, arg, json_real(lo + 0.5)), 400, "not whole");
    } else if (!strcmp(type, "enum")) {
        const json_t *vals = json_object_get(spec, "values"), *v;
        size_t i;
        assert_true(json_array_size(vals) >= 2);
        json_array_foreach(vals, i, v)
            EXPECT(post_arg(s, b, arg, json_copy((json_t *)v)), 202, json_string_value(v));
        EXPECT(post_arg(s, b, arg, json_string("bogus")), 400, "bogus");
    } else if (!strcmp(type, "bodyparts")) {
        EXPECT(post_arg(s, b, arg, json_string("all")), 202, "all");
        EXPECT(post_arg(s, b, arg, json_string("snout,tailbase")), 202, "two parts");
        EXPECT(post_arg(s, b, arg, json_string("wing")), 400, "an unknown part");
    } else if (!strcmp(arg, "colormap")) {
        EXPECT(post_arg(s, b, arg, json_string("viridis")), 202, "viridis");
        EXPECT(post_arg(s, b, arg, json_string("nosuchmap")), 400, "nosuchmap");
    } else {
        assert_string_equal(type, "string"); /* snapshot: the demo model (ONNX) has none */
        EXPECT(post_arg(s, b, arg, json_string("best")), 400, "on an ONNX model");
    }
    json_decref(b);
}

static void types_match_the_checks(void **state)
{
    e2e_srv *s = *state;
    static const char *const want[] = {"sleep",       "video",       "image",    "label",
                                       "label-image", "triangulate", "label_3d", "filter"};
    static const char *const types[] = {"boolean", "integer", "number",
                                        "enum",    "string",  "bodyparts"};
    char clip[41], csv[41], cams[4][41];
    size_t i, k;
    json_t *a, *arg;
    e2e_resp r;

    make_models(s);
    s->args = types_args;
    assert_int_equal(e2e_start(s), 0);
    e2e_upload_path(s, TU_OPENFIELD_CLIP, "m3v1_clip.mp4", clip);
    e2e_upload_text(s, "scorer,x\n", "poses.csv", csv);
    for (int c = 0; c < 4; c++) {
        char name[32];
        snprintf(name, sizeof(name), "camera-%d.mp4", c + 1);
        e2e_upload_text(s, name, name, cams[c]); /* bytes differ: the names */
    }
    e2e_get(s, "/analysis/types", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), sizeof(want) / sizeof(want[0]));
    json_array_foreach(r.json, i, a)
    {
        const char *name = e2e_str(a, "name"), *model = NULL;
        const json_t *m = json_object_get(a, "model"), *inputs = json_object_get(a, "inputs");
        json_t *base = json_pack("{s:s}", "analysis", name);
        assert_string_equal(name, want[i]);
        assert_true(strlen(e2e_str(a, "description")) > 20);
        assert_true(strlen(e2e_str(a, "unit")) > 0);
        assert_true(json_integer_value(json_object_get(inputs, "min")) >= 1);
        model = json_is_null(m) ? NULL : json_string_value(m);
        if (model && !strcmp(model, "3d")) {
            json_object_set_new(base, "model", json_string("rig4"));
            for (int c = 0; c < 4; c++) {
                char key[16];
                snprintf(key, sizeof(key), c ? "file%d_id" : "file_id", c + 1);
                json_object_set_new(base, key, json_string(cams[c]));
            }
        } else {
            if (model)
                assert_string_equal(model, "2d");
            json_object_set_new(base, "model", json_string("openfield"));
            json_object_set_new(base, "file_id", json_string(!strcmp(name, "filter") ? csv : clip));
        }
        if (!strcmp(name, "sleep"))
            json_object_set_new(base, "time", json_integer(0));
        json_array_foreach(json_object_get(a, "arguments"), k, arg)
        {
            const char *type = e2e_str(arg, "type");
            int known = 0;
            for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
                known |= !strcmp(type, types[t]);
            if (!known)
                fail_msg("%s: argument %s has type %s", name, e2e_str(arg, "name"), type);
            assert_true(json_object_get(arg, "default") != NULL);
            assert_true(strlen(e2e_str(arg, "description")) > 5);
            check_range(s, name, base, arg, 4);
        }
        json_decref(base);
    }
    e2e_resp_free(&r);
    print_message("%d requests checked the published arguments\n", n_posts);
    /* sleep's time is required: without it, a 400 naming it. */
    char body[128];
    snprintf(body, sizeof(body), "{\"analysis\": \"sleep\", \"file_id\": \"%s\"}", csv);
    e2e_post(s, "/analysis", "application/json", body, &r);
    e2e_assert_error(&r, 400);
    assert_non_null(strstr(e2e_str(r.json, "error"), "time"));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST(page_served_from_the_binary, token_args),
        E2E_TEST(links_let_one_file_through, token_args),
        E2E_TEST(links_plain_without_a_token, NULL),
        E2E_TEST_NO_SERVER(types_match_the_checks, NULL),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
