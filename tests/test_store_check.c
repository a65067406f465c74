/* test_store_check.c - store_check.c: `vas check`'s findings (each kind of leftover a crash can
 * leave, a STARTED job of a gone worker, a missing output) and the start-up repair that fixes
 * what can be fixed; the requeue of a stopped worker's job.
 * Every test runs on a real SQLite file and data folder in a fresh temp folder (fixture). */
#include "core/err.h"
#include "core/util.h"
#include "store/store.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h" /* after store.h and cmocka.h: brings the store fixture */

typedef tu_store_fx fx;

#define GHOST_ID "ab00000000000000000000000000000000000000" /* a blob no row names */
#define DEAD_PID 0x3ffffff0                                 /* above pid_max: never a process */

typedef struct found {
    int n;
    char text[4096];
} found;

static void collect(void *arg, const char *line)
{
    found *f = arg;
    size_t k = strlen(f->text);

    f->n++;
    snprintf(f->text + k, sizeof(f->text) - k, "%s\n", line);
}

/* Runs the check; its problems into *got, its counts returned. */
static store_check_counts check(store *s, found *got)
{
    store_check_counts n = {0};
    vas_err e = {0};

    memset(got, 0, sizeof(*got));
    if (store_check_run(s, collect, got, &n, &e) != VAS_OK)
        fail_msg("store_check_run: %s", e.msg);
    assert_int_equal(n.problems, got->n);
    return n;
}

static void expect_line(const found *got, const char *what)
{
    if (!strstr(got->text, what))
        fail_msg("want a problem with '%s'; got:\n%s", what, got->text);
}

static void write_at(const char *dir, const char *name, const char *text)
{
    char *p = tu_path(dir, name);

    assert_non_null(p);
    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
    free(p);
}

static void clean_store_is_ok(void **state)
{
    fx *f = *state;
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];
    store_check_counts n;
    found got;

    tu_put(f->s, "one", "1.txt", a);
    tu_put(f->s, "two", "2.txt", b);
    n = check(f->s, &got);
    assert_int_equal(got.n, 0);
    assert_int_equal(n.files, 2);
    assert_int_equal(n.blobs, 2);
    assert_int_equal(n.analyses, 0);
}

/* What a kill -9 at each step of a link or unlink leaves, reported, then repaired. */
static void leftovers_reported_then_repaired(void **state)
{
    fx *f = *state;
    char a[STORE_ID_LEN + 1], dir[1024], blob[1024], aside[1100];
    int repaired = 0;
    vas_err e = {0};
    found got;

    tu_put(f->s, "kept", "k.txt", a);
    snprintf(dir, sizeof(dir), "%s/ab", f->files);
    assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
    write_at(dir, GHOST_ID, "no row");                            /* killed before its row */
    write_at(dir, GHOST_ID ".deleting", "deleted, not unlinked"); /* killed after COMMIT */
    store_file_path(f->s, a, blob, sizeof(blob));
    snprintf(aside, sizeof(aside), "%s.deleting", blob);
    assert_int_equal(rename(blob, aside), 0); /* killed before COMMIT: the row is still there */
    snprintf(dir, sizeof(dir), "%s/tmp/0d5a1e2c-0000-4000-8000-000000000000", f->data);
    assert_int_equal(util_mkdir_p(dir, 0700), 0);
    write_at(dir, "out.csv.part", "half a CSV"); /* a job's temp folder, its worker gone */

    check(f->s, &got);
    assert_int_equal(got.n, 5);
    expect_line(&got, "has no row");
    expect_line(&got, "has a row but no blob");
    expect_line(&got, ".deleting (a delete was cut off)");
    expect_line(&got, "leftover temp folder");

    assert_int_equal(store_check_repair(f->s, &repaired, &e), VAS_OK);
    assert_int_equal(repaired, 4);
    check(f->s, &got);
    assert_int_equal(got.n, 0);
    assert_int_equal(tu_count_files(f->files), 1);
}

static void strangers_and_bad_sizes_reported(void **state)
{
    fx *f = *state;
    char a[STORE_ID_LEN + 1], blob[1024];
    found got;

    tu_put(f->s, "twelve bytes", "t.txt", a);
    store_file_path(f->s, a, blob, sizeof(blob));
    assert_int_equal(truncate(blob, 3), 0);
    write_at(f->files, "stray.txt", "not a blob");
    check(f->s, &got);
    assert_int_equal(got.n, 2);
    expect_line(&got, "its row says 12 bytes, its blob has 3");
    expect_line(&got, "unexpected entry");
}

/* A job STARTED by a worker that is gone is a problem until it is requeued; a finished job's
 * missing output is one. */
static void analyses_checked(void **state)
{
    fx *f = *state;
    char in[STORE_ID_LEN + 1], id[STORE_UUID_LEN + 1], out[STORE_ID_LEN + 1];
    store_analysis job, done = {0};
    vas_err e = {0};
    int n = 0;
    found got;

    tu_put(f->s, "input", "in.txt", in);
    tu_insert(f->s, "sleep", in, NULL, id);
    assert_int_equal(store_analysis_claim(f->s, DEAD_PID, &job, &e), VAS_OK);
    store_analysis_clear(&job);
    check(f->s, &got);
    assert_int_equal(got.n, 1);
    expect_line(&got, "is STARTED but its worker (pid 1073741808) is gone");
    assert_int_equal(store_analysis_requeue_worker(f->s, DEAD_PID, &n, &e), VAS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(tu_state_of(f->s, id), "PENDING");

    /* A cached SUCCESS row whose output was deleted. */
    tu_put(f->s, "output", "out.csv", out);
    snprintf(done.name, sizeof(done.name), "sleep");
    snprintf(done.inputs[0], sizeof(done.inputs[0]), "%s", in);
    done.n_inputs = 1;
    done.result = json_pack("{s:s, s:[s]}", "csv_file", out, "labeled_images", out);
    assert_int_equal(store_analysis_insert(f->s, &done, &e), VAS_OK);
    store_analysis_clear(&done);
    check(f->s, &got);
    assert_int_equal(got.n, 0);
    assert_int_equal(store_file_delete(f->s, out, &e), VAS_OK);
    check(f->s, &got);
    assert_int_equal(got.n, 2); /* csv_file and the array's item */
    expect_line(&got, "(SUCCESS): its output");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(clean_store_is_ok, tu_store_setup, tu_store_teardown),
        cmocka_unit_test_setup_teardown(leftovers_reported_then_repaired, tu_store_setup,
                                        tu_store_teardown),
        cmocka_unit_test_setup_teardown(strangers_and_bad_sizes_reported, tu_store_setup,
                                        tu_store_teardown),
        cmocka_unit_test_setup_teardown(analyses_checked, tu_store_setup, tu_store_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
