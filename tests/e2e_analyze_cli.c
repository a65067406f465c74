/* e2e_analyze_cli.c - `vas analyze` runs any analysis POST /analysis offers through the same job
 * body as the server's workers: `sleep`, `label-image` (the demo model on a real labeled frame
 * of the openfield recording) and `filter` give the same output bytes locally as through a real
 * `vas serve`,
 * written beside the input under the server's names; the fields are checked with the server's
 * sentences (unknown field, bad value, unknown analysis: exit 2); the run's work folder is gone
 * afterwards, also after a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"

#include <dirent.h>

static const char *const with_model[] = {"--models", "models", NULL};

/* SHA-1 of the file dir/name. */
static void file_sha1(const char *dir, const char *name, char out[41])
{
    char path[E2E_PATH + 256];
    size_t n = 0;
    char *t;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    t = tu_read_file(path, &n);
    assert_non_null(t);
    e2e_sha1_hex(t, n, out);
    free(t);
}

/* 1 if dir holds an entry starting with ".vas-analyze-" (a work folder left behind). */
static int work_left(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int left = 0;

    assert_non_null(d);
    while ((de = readdir(d)))
        left |= strncmp(de->d_name, ".vas-analyze-", 13) == 0;
    closedir(d);
    return left;
}

static void sleep_same_as_server(void **state)
{
    e2e_srv *s = *state;
    char in[E2E_PATH], out[E2E_PATH], fid[41], aid[37], form[128], local[41];
    e2e_resp r;

    snprintf(in, sizeof(in), "%s/in.txt", s->dir);
    assert_int_equal(tu_write_file(in, "x\n", 2), 0);
    e2e_upload_text(s, "x\n", "in.txt", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=sleep&time=0.25", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 30, &r);
    snprintf(out, sizeof(out), "%s/analyze.out", s->dir);
    assert_int_equal(e2e_run_vas(out, "analyze", "--analysis", "sleep", "--time", "0.25", in, NULL),
                     0);
    file_sha1(s->dir, "sleep.csv", local);
    char *log = tu_read_file(out, NULL);
    assert_non_null(strstr(log, "/sleep.csv")); /* each output named as it is written */
    free(log);
    char *res = json_dumps(r.json, 0);
    assert_non_null(strstr(res, local)); /* the server's output: the same bytes */
    free(res);
    assert_false(work_left(s->dir));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

static void label_image_same_as_server(void **state)
{
    e2e_srv *s = *state;
    char dir[E2E_PATH], img[E2E_PATH + 16], out[E2E_PATH], cmd[4 * E2E_PATH], fid[41], aid[37],
        form[256], local[41];
    e2e_resp r;

    snprintf(dir, sizeof(dir), "%s/frames", s->dir);
    snprintf(img, sizeof(img), "%s/img0007.png", dir);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp %s/img0007.png %s", dir, TU_OPENFIELD_LABELED,
             img);
    assert_int_equal(system(cmd), 0);
    e2e_upload_path(s, img, "img0007.png", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=label-image&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 120, &r);
    snprintf(out, sizeof(out), "%s/analyze.out", s->dir);
    assert_int_equal(e2e_run_vas(out, "analyze", "--models", "models", "--analysis", "label-image",
                                 "--model", "openfield", img, NULL),
                     0);
    file_sha1(dir, "img0007_labeled.png", local);
    assert_string_equal(local, e2e_str(r.json, "labeled_image"));
    assert_false(work_left(dir));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* `filter` (no model, its own fields): the same outputs as the server's, named as DeepLabCut
 * names them, beside the input. */
static void filter_same_as_server(void **state)
{
    e2e_srv *s = *state;
    char in[E2E_PATH], out[E2E_PATH], fid[41], aid[37], form[160], local[41], csv[4096];
    size_t n = 0;
    e2e_resp r;

    /* A DeepLabCut pose CSV: two bodyparts over 30 frames, one dip below p_bound. */
    n += (size_t)snprintf(csv + n, sizeof(csv) - n,
                          "scorer,S,S,S,S,S,S\nbodyparts,a,a,a,b,b,b\n"
                          "coords,x,y,likelihood,x,y,likelihood\n");
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(csv + n, sizeof(csv) - n, "%d,%d.5,%d.25,%s,%d,%d,0.9\n", i,
                              10 + (i * 7) % 5, 20 + i, i == 12 ? "0.0001" : "0.95", 50 - i,
                              (i * 13) % 9);
    snprintf(in, sizeof(in), "%s/mouseDLC_x.csv", s->dir);
    assert_int_equal(tu_write_file(in, csv, n), 0);
    e2e_upload_path(s, in, "mouseDLC_x.csv", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=filter&filtertype=median&windowlength=3",
             fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 30, &r);
    snprintf(out, sizeof(out), "%s/analyze.out", s->dir);
    assert_int_equal(e2e_run_vas(out, "analyze", "--analysis", "filter", "--filtertype", "median",
                                 "--windowlength", "3", in, NULL),
                     0);
    file_sha1(s->dir, "mouseDLC_x_filtered.csv", local);
    assert_string_equal(local, e2e_str(r.json, "csv_file"));
    file_sha1(s->dir, "mouseDLC_x_filtered.h5", local); /* written too */
    assert_false(work_left(s->dir));
    e2e_resp_free(&r);
    E2E_PASS(s);
}

/* Exit status and the message of `vas analyze args...` on in. */
static int run_expect(e2e_srv *s, const char *want, const char *a1, const char *a2, const char *a3,
                      const char *a4)
{
    char out[E2E_PATH], in[E2E_PATH];
    int rc;

    snprintf(in, sizeof(in), "%s/in.txt", s->dir);
    assert_int_equal(tu_write_file(in, "x\n", 2), 0);
    snprintf(out, sizeof(out), "%s/analyze.out", s->dir);
    rc = e2e_run_vas(out, "analyze", a1, a2, a3, a4, in, NULL);
    char *log = tu_read_file(out, NULL);
    if (!log || !strstr(log, want))
        fail_msg("wanted \"%s\" in: %s", want, log ? log : "(no output)");
    free(log);
    return rc;
}

static void fields_checked_as_the_server_does(void **state)
{
    e2e_srv *s = *state;

    assert_int_equal(run_expect(s, "unknown field 'nope' for analysis 'sleep' (it takes: time)",
                                "--analysis", "sleep", "--nope", "1"),
                     2);
    assert_int_equal(run_expect(s, "time", "--analysis", "sleep", "--time", "-5"), 2);
    assert_int_equal(run_expect(s, "unknown analysis 'nosuch'", "--analysis", "nosuch", "--x", "1"),
                     2);
    assert_int_equal(run_expect(s, "--threads applies to", "--analysis", "sleep", "--threads", "2"),
                     2);
    assert_false(work_left(s->dir));
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST(sleep_same_as_server, NULL),
        E2E_TEST(label_image_same_as_server, with_model),
        E2E_TEST(filter_same_as_server, NULL),
        E2E_TEST(fields_checked_as_the_server_does, NULL),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
