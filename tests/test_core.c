/* test_core.c - core/: util (strict parsing, ids, paths, time), err (vas_err), config
 * (defaults, the old service's config.yaml, bad values). Config tests write real YAML files to a
 * fresh temp folder made by the fixture. */
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include "testutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* ---- fixtures ---- */

typedef struct fx {
    char *dir; /* fresh /tmp/vas-test-XXXXXX, removed by teardown */
    config c;  /* defaults, freed by teardown */
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    vas_err e = {0};

    if (!f)
        return -1;
    f->dir = tu_mkdtemp();
    if (!f->dir || config_defaults(&f->c, &e) != VAS_OK) {
        free(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;

    config_free(&f->c);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes text to <dir>/name; returns the new path (freed by the caller). */
static char *write_yaml(fx *f, const char *name, const char *text)
{
    char *p = tu_path(f->dir, name);

    assert_non_null(p);
    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
    return p;
}

/* Loads text as a config file into f->c; returns the code, the error in *e. */
static int load_yaml(fx *f, const char *text, vas_err *e)
{
    char *p = write_yaml(f, "config.yaml", text);
    int rc = config_load_file(&f->c, p, e);

    free(p);
    return rc;
}

/* ---- util: numbers ---- */

static void parse_i64_accepts_whole_numbers(void **state)
{
    int64_t v = 0;

    (void)state;
    assert_int_equal(util_parse_i64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(util_parse_i64("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(util_parse_i64("-7", &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(util_parse_i64("9223372036854775807", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(util_parse_i64("-9223372036854775808", &v), 0);
    assert_true(v == INT64_MIN);
}

static void parse_i64_refuses_junk(void **state)
{
    static const char *const bad[] = {"",
                                      " 1",
                                      "1 ",
                                      "\t1",
                                      "1x",
                                      "x1",
                                      "1.5",
                                      "0x10",
                                      "1e3",
                                      "-",
                                      "+",
                                      "nan",
                                      "9223372036854775808",
                                      "-9223372036854775809"};
    int64_t v = 1234;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (util_parse_i64(bad[i], &v) != -1)
            fail_msg("util_parse_i64 accepted '%s'", bad[i]);
        assert_int_equal(v, 1234); /* untouched on error */
    }
    assert_int_equal(util_parse_i64(NULL, &v), -1);
}

static void parse_double_accepts_finite(void **state)
{
    double v = 0;

    (void)state;
    assert_int_equal(util_parse_double("1.5", &v), 0);
    assert_true(v == 1.5);
    assert_int_equal(util_parse_double("-0.25", &v), 0);
    assert_true(v == -0.25);
    assert_int_equal(util_parse_double("7", &v), 0);
    assert_true(v == 7.0);
    assert_int_equal(util_parse_double("1e3", &v), 0);
    assert_true(v == 1000.0);
    assert_int_equal(util_parse_double("30", &v), 0);
    assert_true(v == 30.0);
}

static void parse_double_refuses_junk(void **state)
{
    static const char *const bad[] = {"",         " 1",    "1 ",    "\n1", "1x",   "x",
                                      "nan",      "NaN",   "-nan",  "inf", "-inf", "INF",
                                      "infinity", "1e999", "1.5.2", "--1"};
    double v = 12.5;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (util_parse_double(bad[i], &v) != -1)
            fail_msg("util_parse_double accepted '%s'", bad[i]);
        assert_true(v == 12.5);
    }
    assert_int_equal(util_parse_double(NULL, &v), -1);
}

/* ---- util: ids, hex ---- */

static void assert_uuid_v4(const char *u)
{
    assert_int_equal(strlen(u), UTIL_UUID_LEN);
    for (int i = 0; i < UTIL_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(u[i], '-');
            continue;
        }
        if (!strchr("0123456789abcdef", u[i]))
            fail_msg("uuid %s: '%c' at %d is not lowercase hex", u, u[i], i);
    }
    assert_int_equal(u[14], '4');           /* version 4 */
    assert_non_null(strchr("89ab", u[19])); /* RFC 4122 variant */
}

static int cmp_uuid(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void uuid_format_and_unique(void **state)
{
    enum { N = 2000 };
    char(*ids)[UTIL_UUID_LEN + 1] = calloc(N, sizeof(*ids));

    (void)state;
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        assert_int_equal(util_uuid(ids[i]), 0);
        assert_uuid_v4(ids[i]);
    }
    qsort(ids, N, sizeof(*ids), cmp_uuid);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("util_uuid repeated %s", ids[i]);
    free(ids);
}

static void is_hex_checks_exactly_n(void **state)
{
    (void)state;
    assert_int_equal(util_is_hex("0123456789abcdefABCDEF", 22), 1);
    assert_int_equal(util_is_hex("", 0), 1);
    assert_int_equal(util_is_hex("abz", 2), 1); /* only the first n count */
    assert_int_equal(util_is_hex("abz", 3), 0);
    assert_int_equal(util_is_hex("g", 1), 0);
    assert_int_equal(util_is_hex("%", 1), 0);
    assert_int_equal(util_is_hex("-", 1), 0);
    assert_int_equal(util_is_hex(" a", 2), 0);
    assert_int_equal(util_is_hex("a9993e36", 8), 1);
}

static void lower_in_place(void **state)
{
    char s[] = "AbC-1Z";

    (void)state;
    assert_ptr_equal(util_lower(s), s);
    assert_string_equal(s, "abc-1z");
}

/* ---- util: paths, time ---- */

static void mkdir_p_nested(void **state)
{
    fx *f = *state;
    char *deep = tu_path(f->dir, "a/b/c");
    char *slash = tu_path(f->dir, "x/y/");
    char *file = tu_path(f->dir, "plain");
    char *under = tu_path(f->dir, "plain/sub");
    struct stat st;

    assert_int_equal(util_mkdir_p(deep, 0755), 0);
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(util_mkdir_p(deep, 0755), 0); /* already there: fine */
    assert_int_equal(util_mkdir_p(slash, 0755), 0);
    assert_int_equal(stat(slash, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    assert_int_equal(tu_write_file(file, "x", 1), 0);
    errno = 0;
    assert_int_equal(util_mkdir_p(under, 0755), -1);
    assert_int_equal(errno, ENOTDIR);
    assert_int_equal(util_mkdir_p("", 0755), -1);
    free(deep);
    free(slash);
    free(file);
    free(under);
}

static void iso8601_utc(void **state)
{
    char out[32];

    (void)state;
    util_iso8601(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    util_iso8601(1700000000.9, out, sizeof(out)); /* fractions are dropped, not rounded */
    assert_string_equal(out, "2023-11-14T22:13:20Z");
    util_iso8601(951782400, out, sizeof(out));
    assert_string_equal(out, "2000-02-29T00:00:00Z");
}

static void clocks_move(void **state)
{
    struct timespec nap = {0, 20000000L}; /* 20 ms */
    double now = util_now();
    int64_t t0 = util_mono_ms(), t1;

    (void)state;
    assert_true(now > (double)time(NULL) - 2 && now < (double)time(NULL) + 2);
    nanosleep(&nap, NULL);
    t1 = util_mono_ms();
    assert_true(t1 - t0 >= 20);
    assert_true(t1 - t0 < 5000);
    assert_true(util_now() > now);
}

/* ---- err ---- */

static void err_set_formats_and_returns_code(void **state)
{
    vas_err e = {0};

    (void)state;
    assert_int_equal(err_set(&e, VAS_ENOTFOUND, "no file %s (%d)", "ab12", 7), VAS_ENOTFOUND);
    assert_int_equal(e.code, VAS_ENOTFOUND);
    assert_string_equal(e.msg, "no file ab12 (7)");
    assert_int_equal(err_set(NULL, VAS_EINVAL, "ignored %d", 1), VAS_EINVAL);
    assert_int_equal(err_set(&e, VAS_OK, "fine"), VAS_OK);
    assert_int_equal(e.code, VAS_OK);
    assert_string_equal(e.msg, "fine");
}

static void err_set_truncates_long_messages(void **state)
{
    char big[2 * VAS_ERR_MSG];
    vas_err e = {0};

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(err_set(&e, VAS_ETOOBIG, "%s", big), VAS_ETOOBIG);
    assert_int_equal(strlen(e.msg), VAS_ERR_MSG - 1);
}

static void err_sys_appends_strerror(void **state)
{
    vas_err e = {0};

    (void)state;
    assert_int_equal(err_sys(&e, VAS_EIO, ENOENT, "cannot open %s", "/x"), VAS_EIO);
    assert_int_equal(e.code, VAS_EIO);
    assert_string_equal(e.msg, "cannot open /x: No such file or directory");
    assert_int_equal(err_sys(NULL, VAS_EIO, EACCES, "no"), VAS_EIO);
}

static void err_names(void **state)
{
    (void)state;
    assert_string_equal(err_name(VAS_OK), "OK");
    assert_string_equal(err_name(VAS_EINVAL), "EINVAL");
    assert_string_equal(err_name(VAS_ENOTFOUND), "ENOTFOUND");
    assert_string_equal(err_name(VAS_EAMBIG), "EAMBIG");
    assert_string_equal(err_name(VAS_ECONFLICT), "ECONFLICT");
    assert_string_equal(err_name(VAS_ETOOBIG), "ETOOBIG");
    assert_string_equal(err_name(VAS_ECANCELLED), "ECANCELLED");
    assert_string_equal(err_name(VAS_ERANGE), "ERANGE");
    assert_string_equal(err_name(-999), "EUNKNOWN");
}

/* ---- config ---- */

static void config_has_defaults(void **state)
{
    fx *f = *state;

    assert_string_equal(f->c.database, "var/vas.db");
    assert_string_equal(f->c.data_folder, "var/data");
    assert_string_equal(f->c.models_dir, "models");
    assert_string_equal(f->c.host, "127.0.0.1");
    assert_null(f->c.broker_url);
    assert_null(f->c.result_backend);
    assert_null(f->c.api_token);
    assert_int_equal(f->c.port, 5000);
    assert_int_equal(f->c.workers, 1);
    assert_int_equal(f->c.http_threads, 2);
    assert_true(f->c.clean_up_files_days == 0);
    assert_true(f->c.clean_up_analyses_days == 0);
    assert_true(f->c.max_upload == (int64_t)16 << 30);
    assert_int_equal(f->c.log_level, LOG_INFO);
}

/* The old Flask service's config.yaml, with keys vas does not know (one a nested mapping). */
static const char old_yaml[] = "# config of the old service\n"
                               "DATABASE: \"sqlite:////srv/dlc/app.db\"\n"
                               "DATA_FOLDER: /srv/dlc/data\n"
                               "DLC_MODELS: /srv/dlc/models\n"
                               "clean_up_files_days: 30\n"
                               "clean_up_analyses_days: 7.5\n"
                               "CELERY_broker_url: redis://localhost:6379/0\n"
                               "result_backend: redis://localhost:6379/1\n"
                               "SQLALCHEMY_TRACK_MODIFICATIONS: false\n"
                               "celery:\n"
                               "  beat_schedule:\n"
                               "    clean:\n"
                               "      task: clean_up\n"
                               "      schedule: [1, 2, {PORT: 1}]\n"
                               "  queues:\n"
                               "    - a\n"
                               "    - b\n"
                               "SECRET_LIST: [x, y]\n"
                               "PORT: 8080\n";

static void config_reads_old_service_yaml(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(load_yaml(f, old_yaml, &e), VAS_OK);
    assert_string_equal(f->c.database, "/srv/dlc/app.db"); /* "sqlite:///" stripped */
    assert_string_equal(f->c.data_folder, "/srv/dlc/data");
    assert_string_equal(f->c.models_dir, "/srv/dlc/models");
    assert_true(f->c.clean_up_files_days == 30.0);
    assert_true(f->c.clean_up_analyses_days == 7.5);
    assert_string_equal(f->c.broker_url, "redis://localhost:6379/0");
    assert_string_equal(f->c.result_backend, "redis://localhost:6379/1");
    /* The key after the skipped nested mapping is still read; PORT inside it is not. */
    assert_int_equal(f->c.port, 8080);
    /* Keys the file does not name keep their defaults. */
    assert_string_equal(f->c.host, "127.0.0.1");
    assert_int_equal(f->c.workers, 1);
}

/* The old service's model mapping, and the per-model form naming a snapshot. */
static void config_model_mapping(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(load_yaml(f,
                               "DLC_MODELS:\n  wassu-cam0: /srv/p1/config.yaml\n"
                               "  prone-shooting: {config: /srv/p2, snapshot: best}\n",
                               &e),
                     VAS_OK);
    assert_int_equal(f->c.n_model_map, 2);
    assert_string_equal(f->c.model_map_names[0], "wassu-cam0");
    assert_string_equal(f->c.model_map_paths[0], "/srv/p1/config.yaml");
    assert_null(f->c.model_map_snapshots[0]);
    assert_string_equal(f->c.model_map_names[1], "prone-shooting");
    assert_string_equal(f->c.model_map_paths[1], "/srv/p2");
    assert_string_equal(f->c.model_map_snapshots[1], "best");
    assert_int_equal(load_yaml(f, "DLC_MODELS:\n  a: {snapshot: 5}\n", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "a needs a config"));
    assert_int_equal(load_yaml(f, "DLC_MODELS:\n  a: {config: x, shuffle: 2}\n", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "unknown setting 'shuffle'"));
}

static void config_database_plain_path(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(load_yaml(f, "DATABASE: /var/lib/vas/vas.db\n", &e), VAS_OK);
    assert_string_equal(f->c.database, "/var/lib/vas/vas.db");
    assert_int_equal(load_yaml(f, "DATABASE: db/vas.db\n", &e), VAS_OK);
    assert_string_equal(f->c.database, "db/vas.db");
    /* SQLAlchemy's three slashes: a relative path. */
    assert_int_equal(load_yaml(f, "DATABASE: sqlite:///rel.db\n", &e), VAS_OK);
    assert_string_equal(f->c.database, "rel.db");
}

static void config_reads_vas_keys(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(load_yaml(f,
                               "HOST: 0.0.0.0\nPORT: \"6001\"\nWORKERS: 4\nHTTP_THREADS: 8\n"
                               "MAX_CONTENT_LENGTH: 1048576\nAPI_TOKEN: s3cret\n"
                               "LOG_LEVEL: debug\n",
                               &e),
                     VAS_OK);
    assert_string_equal(f->c.host, "0.0.0.0");
    assert_int_equal(f->c.port, 6001);
    assert_int_equal(f->c.workers, 4);
    assert_int_equal(f->c.http_threads, 8);
    assert_true(f->c.max_upload == 1048576);
    assert_string_equal(f->c.api_token, "s3cret");
    assert_int_equal(f->c.log_level, LOG_DEBUG);
}

static void config_empty_file_keeps_defaults(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(load_yaml(f, "", &e), VAS_OK);
    assert_int_equal(load_yaml(f, "# only a comment\n", &e), VAS_OK);
    assert_int_equal(f->c.port, 5000);
    assert_string_equal(f->c.database, "var/vas.db");
}

static void config_bad_values_name_the_key(void **state)
{
    static const struct {
        const char *yaml, *key, *value;
    } bad[] = {
        {"PORT: abc\n", "PORT", "abc"},
        {"PORT: 70000\n", "PORT", "70000"},
        {"PORT: 80.5\n", "PORT", "80.5"},
        {"WORKERS: -1\n", "WORKERS", "-1"},
        {"HTTP_THREADS: 0\n", "HTTP_THREADS", "0"},
        {"clean_up_files_days: soon\n", "clean_up_files_days", "soon"},
        {"clean_up_analyses_days: nan\n", "clean_up_analyses_days", "nan"},
        {"clean_up_analyses_days: inf\n", "clean_up_analyses_days", "inf"},
        {"MAX_CONTENT_LENGTH: 0\n", "MAX_CONTENT_LENGTH", "0"},
        {"MAX_CONTENT_LENGTH: 16G\n", "MAX_CONTENT_LENGTH", "16G"},
        {"LOG_LEVEL: loud\n", "LOG_LEVEL", "loud"},
    };
    fx *f = *state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vas_err e = {0};
        if (load_yaml(f, bad[i].yaml, &e) != VAS_EINVAL)
            fail_msg("accepted %s", bad[i].yaml);
        assert_int_equal(e.code, VAS_EINVAL);
        if (!strstr(e.msg, bad[i].key) || !strstr(e.msg, bad[i].value))
            fail_msg("message '%s' does not name %s and %s", e.msg, bad[i].key, bad[i].value);
    }
    /* Nothing bad got in. */
    assert_int_equal(f->c.port, 5000);
    assert_int_equal(f->c.workers, 1);
    assert_true(f->c.max_upload == (int64_t)16 << 30);
}

static void config_top_level_must_be_mapping(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(load_yaml(f, "- DATABASE\n- PORT\n", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "mapping"));
    assert_non_null(strstr(e.msg, "config.yaml"));
    memset(&e, 0, sizeof(e));
    assert_int_equal(load_yaml(f, "just a sentence\n", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "mapping"));
}

static void config_yaml_syntax_error(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(load_yaml(f, "PORT: 1\nHOST: a: b\n", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "config.yaml"));
    assert_non_null(strstr(e.msg, "line 2"));
}

static void config_missing_file(void **state)
{
    fx *f = *state;
    char *p = tu_path(f->dir, "nope.yaml");
    vas_err e = {0};

    assert_int_equal(config_load_file(&f->c, p, &e), VAS_EINVAL);
    assert_int_equal(e.code, VAS_EINVAL);
    assert_non_null(strstr(e.msg, p));
    assert_non_null(strstr(e.msg, "No such file or directory"));
    free(p);
}

static void config_set_and_free(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(config_set(&f->c, "DATABASE", "sqlite:////a/b.db", &e), VAS_OK);
    assert_string_equal(f->c.database, "/a/b.db");
    assert_int_equal(config_set(&f->c, "NO_SUCH_KEY", "1", &e), VAS_OK); /* logged, ignored */
    assert_int_equal(config_set(&f->c, "WORKERS", "0", &e), VAS_OK);     /* 0: no workers */
    assert_int_equal(f->c.workers, 0);
    config_free(&f->c);
    assert_null(f->c.database);
    config_free(&f->c); /* twice: the fields were reset */
    config_free(NULL);
}

static void config_limits_set(void **state)
{
    fx *f = *state;
    vas_err e = {0};

    assert_int_equal(f->c.lim.json_depth, 32); /* a default */
    assert_int_equal(config_set(&f->c, "LIMIT_CONNECTIONS_PER_CLIENT", "3", &e), VAS_OK);
    assert_int_equal(f->c.lim.connections_per_client, 3);
    assert_int_equal(config_set(&f->c, "LIMIT_ARCHIVE_BYTES", "1048576", &e), VAS_OK);
    assert_int_equal(f->c.lim.archive_bytes, 1048576);
    assert_int_equal(config_set(&f->c, "LIMIT_WORKER_MEMORY", "0", &e), VAS_OK); /* off */
    assert_int_equal(config_set(&f->c, "LIMIT_JSON_DEPTH", "1", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "LIMIT_JSON_DEPTH"));
    assert_int_equal(config_set(&f->c, "LIMIT_VIDEO_FRAMES", "lots", &e), VAS_EINVAL);
    assert_non_null(strstr(e.msg, "'lots'"));
    assert_int_equal(f->c.lim.video_frames, 50000000); /* unchanged by the refusal */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_i64_accepts_whole_numbers),
        cmocka_unit_test(parse_i64_refuses_junk),
        cmocka_unit_test(parse_double_accepts_finite),
        cmocka_unit_test(parse_double_refuses_junk),
        cmocka_unit_test(uuid_format_and_unique),
        cmocka_unit_test(is_hex_checks_exactly_n),
        cmocka_unit_test(lower_in_place),
        cmocka_unit_test_setup_teardown(mkdir_p_nested, fx_setup, fx_teardown),
        cmocka_unit_test(iso8601_utc),
        cmocka_unit_test(clocks_move),
        cmocka_unit_test(err_set_formats_and_returns_code),
        cmocka_unit_test(err_set_truncates_long_messages),
        cmocka_unit_test(err_sys_appends_strerror),
        cmocka_unit_test(err_names),
        cmocka_unit_test_setup_teardown(config_has_defaults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_reads_old_service_yaml, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_model_mapping, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_database_plain_path, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_reads_vas_keys, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_empty_file_keeps_defaults, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_bad_values_name_the_key, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_top_level_must_be_mapping, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_yaml_syntax_error, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_missing_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_set_and_free, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(config_limits_set, fx_setup, fx_teardown),
    };

    log_set_level(LOG_ERROR); /* unknown keys log warnings by design; keep the output short */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
