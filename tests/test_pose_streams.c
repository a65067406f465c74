/* test_pose_streams.c - pose_run_video's streams (pose_run.h, DESIGN): the demo model on the
 * openfield clip (367 frames of 640x480, real video decoded by FFmpeg) run as two streams of
 * batches and as one session, the rows compared: the same frames, in order, the same poses
 * (within 1e-6 px and likelihood: each frame runs on a session of the same graph and options;
 * measured identical). A run stopped by its progress callback mid-video reports that callback's
 * error from whichever stream met it, and leaves no output file; a second stream whose session
 * fails on its first batch retires and the run goes on. Streams need 2 cores or more;
 * with fewer every test here is skipped, saying so. */
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyses/pose_run.h"
#include "core/util.h"
#include "pose/pose_model.h"

#include "testutil.h"

#define MODEL      "models/openfield/config.yaml"
#define MAX_FRAMES 400
#define MAX_JOINTS 8

typedef struct rows {
    int n;        /* rows seen */
    int in_order; /* 1 while every row's frame was the one after the last */
    int joints;   /* the model's body parts (a row's xyl: 3 each) */
    double xyl[MAX_FRAMES][3 * MAX_JOINTS];
} rows;

static int keep_row(void *arg, const pose_row *r, vas_err *e)
{
    rows *p = arg;

    (void)e;
    if (r->frame != p->n)
        p->in_order = 0;
    if (r->frame >= 0 && r->frame < MAX_FRAMES)
        memcpy(p->xyl[r->frame], r->xyl, sizeof(double) * 3 * (size_t)p->joints);
    p->n++;
    return 0;
}

static int cores(void)
{
    cpu_set_t set;

    return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
}

static void need_cores(const char *test)
{
    if (cores() >= 2)
        return;
    print_message("skipped %s: streams need 2 cores or more; this process has %d\n", test, cores());
    skip();
}

/* The clip with m, as streams or one session; its rows into *p, *out filled. */
static void run_clip(const pose_model *m, const char *dir, int one_stream, rows *p,
                     pose_video_out *out)
{
    pose_run_opts o = {.batch = 4, .one_stream = one_stream, .on_row = keep_row, .row_arg = p};
    char prefix[1024];
    vas_err e = {0};

    p->n = 0;
    p->in_order = 1;
    p->joints = m->n_bodyparts;
    snprintf(prefix, sizeof(prefix), "%s/%s", dir, one_stream ? "one" : "streams");
    if (pose_run_video(m, TU_OPENFIELD_CLIP, prefix, &o, out, &e) != VAS_OK)
        fail_msg("%s run: %s", one_stream ? "one-session" : "streams", e.msg);
    printf("openfield clip, %s: %lld frames in %.2f s, %d stream(s)\n",
           one_stream ? "one session" : "streams", (long long)out->frames, out->seconds,
           out->streams);
}

/* The clip as streams (the second stream's session failing on its first batch when nomem) and
 * as one session: the same frames, in order, the same poses; asserts that `streams` streams ran
 * on sessions of their own, and that the streams' CSV has every row. */
static void streams_against_one_session(const char *test, int nomem, int streams)
{
    static rows one, two;
    pose_video_out o1 = {0}, o2 = {0};
    pose_model *m = NULL;
    char *dir = tu_mkdtemp(), *csv;
    vas_err e = {0};
    double dmax = 0;
    int lines = 0;

    need_cores(test);
    assert_non_null(dir);
    if (pose_model_load("openfield", MODEL, 0, &m, &e) != VAS_OK)
        fail_msg("model: %s", e.msg);
    assert_true(m->n_bodyparts <= MAX_JOINTS);
    if (nomem)
        setenv("VAS_TEST_STREAM_NOMEM", "1", 1); /* NOLINT(concurrency-mt-unsafe): one thread */
    run_clip(m, dir, 0, &two, &o2);
    unsetenv("VAS_TEST_STREAM_NOMEM"); /* NOLINT(concurrency-mt-unsafe) */
    run_clip(m, dir, 1, &one, &o1);
    assert_int_equal(o2.streams, streams);
    assert_int_equal(o1.streams, 1);
    assert_int_equal(one.n, TU_OPENFIELD_CLIP_FRAMES);
    assert_int_equal(two.n, TU_OPENFIELD_CLIP_FRAMES);
    assert_int_equal(o2.frames, TU_OPENFIELD_CLIP_FRAMES);
    assert_true(one.in_order);
    assert_true(two.in_order);
    for (int f = 0; f < one.n; f++)
        for (int k = 0; k < 3 * m->n_bodyparts; k++)
            dmax = fmax(dmax, fabs(one.xyl[f][k] - two.xyl[f][k]));
    printf("%s: largest difference from one session %.3g (px or likelihood)\n", test, dmax);
    assert_true(dmax <= 1e-6);
    /* The files are complete: the CSV has a row per frame after DeepLabCut's 3 header lines. */
    csv = tu_read_file(o2.csv, NULL);
    assert_non_null(csv);
    for (const char *c = csv; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 3 + TU_OPENFIELD_CLIP_FRAMES);
    free(csv);
    pose_video_out_clear(&o1);
    pose_video_out_clear(&o2);
    pose_model_free(m);
    tu_rm_rf(dir);
    free(dir);
}

static void same_rows_as_one_session(void **state)
{
    (void)state;
    streams_against_one_session("same_rows_as_one_session", 0, 2); /* long and large enough */
}

/* A second stream whose own session fails on its first batch (VAS_TEST_STREAM_NOMEM, test builds:
 * as when its plan does not fit under LIMIT_WORKER_MEMORY) runs that batch on the first stream's
 * session and retires: the run succeeds as one stream, with the same rows. */
static void second_stream_out_of_memory_retires(void **state)
{
    (void)state;
    streams_against_one_session("second_stream_out_of_memory_retires", 1, 1);
}

/* Progress that fails once 100 frames are done: the run stops with its error. */
static int stop_at_100(void *arg, int64_t done, int64_t total, vas_err *e)
{
    (void)arg;
    (void)total;
    return done >= 100
               ? err_set(e, VAS_ECANCELLED, "stopped by the test at %lld frames", (long long)done)
               : VAS_OK;
}

static void error_stops_both_streams(void **state)
{
    pose_run_opts o = {.batch = 4, .progress = stop_at_100};
    pose_video_out out = {0};
    pose_model *m = NULL;
    char *dir = tu_mkdtemp(), prefix[1024], csv[1100];
    vas_err e = {0};
    int rc;

    (void)state;
    need_cores("error_stops_both_streams");
    assert_non_null(dir);
    if (pose_model_load("openfield", MODEL, 0, &m, &e) != VAS_OK)
        fail_msg("model: %s", e.msg);
    snprintf(prefix, sizeof(prefix), "%s/stopped", dir);
    rc = pose_run_video(m, TU_OPENFIELD_CLIP, prefix, &o, &out, &e);
    assert_int_equal(rc, VAS_ECANCELLED);
    assert_non_null(strstr(e.msg, "stopped by the test at 100 frames"));
    snprintf(csv, sizeof(csv), "%s.csv", prefix);
    assert_int_not_equal(access(csv, F_OK), 0); /* nothing half-written left */
    assert_true(out.frames >= 100 && out.frames < TU_OPENFIELD_CLIP_FRAMES);
    pose_video_out_clear(&out);
    pose_model_free(m);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_rows_as_one_session),
        cmocka_unit_test(error_stops_both_streams),
        cmocka_unit_test(second_stream_out_of_memory_retires),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
