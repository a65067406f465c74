/* e2e_warm_models.c - warm models (issue 18): a worker keeps the networks of its jobs loaded and
 * planned for the next ones (analyses/net_cache.h). Through a real `vas serve` with one worker
 * and the demo model (models/openfield): two `video` jobs on the same clip (the first frames of
 * the real openfield recording, tests/fixtures/openfield, cut by the ffmpeg program), the second
 * forced past the result cache. By default the second job's network is warm (model_cache=hit in
 * the server's log, the first a miss) and both give the same CSV bytes; with
 * LIMIT_WORKER_MODELS: 0 both jobs load their network (two misses), again with the same CSV. The
 * same hit on a slot of a `vas worker --redis` (tests/e2e_rq_world.h; left out without
 * redis-server). Skipped, saying why, where the ffmpeg program is missing (Debian: ffmpeg). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e_rq_world.h"

#define CLIP   "tests/fixtures/openfield/m3v1_clip.mp4"
#define FRAMES 16    /* of the clip: four batches of the default 4 */
#define JOB_S  300.0 /* a job's time limit (ASan on 2 shared cores) */

/* <dir>/clip.mp4: the clip's first FRAMES frames (640x480), re-encoded; its path into out.
 * 0, or -1 when the ffmpeg program is missing (the test is then skipped). */
static int make_clip(e2e_srv *s, char *out, size_t n)
{
    char cmd[E2E_PATH * 2];

    if (tu_run("ffmpeg -version >/dev/null 2>&1") != 0) {
        print_message("skipped: no ffmpeg program (Debian package ffmpeg) to cut the clip\n");
        return -1;
    }
    snprintf(out, n, "%s/clip.mp4", s->dir);
    snprintf(cmd, sizeof(cmd), "ffmpeg -v error -y -i %s -frames:v %d -an -c:v mpeg4 -q:v 3 %s",
             CLIP, FRAMES, out);
    assert_int_equal(tu_run(cmd), 0);
    return 0;
}

/* Starts the server with one worker, the demo model and LIMIT_WORKER_MODELS: budget (NULL: the
 * default). */
static void start(e2e_srv *s, const char *budget)
{
    static char cfg[E2E_PATH + 16];
    static const char *args[] = {"--workers", "1", "--models", "models", "--config", cfg, NULL};
    FILE *f;

    snprintf(cfg, sizeof(cfg), "%s/vas.yaml", s->dir);
    f = fopen(cfg, "w");
    assert_non_null(f);
    if (budget)
        fprintf(f, "LIMIT_WORKER_MODELS: %s\n", budget);
    fclose(f);
    s->args = args;
    assert_int_equal(e2e_start(s), 0);
}

/* A `video` job on fid (force: past the result cache), run to SUCCESS; its csv_file id into
 * csv[41], and its row count checked. */
static void video_job(e2e_srv *s, const char *fid, int force, char csv[41])
{
    char form[256], aid[37], path[128];
    const char *p;
    e2e_resp r, d;
    int rows = 0;

    snprintf(form, sizeof(form), "file_id=%s&analysis=video&model=openfield%s", fid,
             force ? "&force=1" : "");
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", JOB_S, &r);
    e2e_assert_status(&r, 200);
    assert_null(json_object_get(r.json, "cached")); /* it ran */
    assert_int_equal(json_integer_value(json_object_get(r.json, "frames")), FRAMES);
    snprintf(csv, 41, "%s", e2e_str(r.json, "csv_file"));
    e2e_resp_free(&r);
    snprintf(path, sizeof(path), "/file/%s", csv);
    e2e_get(s, path, &d);
    e2e_assert_status(&d, 200);
    for (p = d.body; (p = strchr(p, '\n')) != NULL; p++)
        rows++;
    assert_int_equal(rows, 3 + FRAMES); /* DeepLabCut's three header lines, a row a frame */
    e2e_resp_free(&d);
}

/* Occurrences of needle in the log at path. */
static int count_in(const char *path, const char *needle)
{
    char *text = tu_read_file(path, NULL);
    int n = 0;

    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(text);
    return n;
}

/* Occurrences of needle in the server's log. */
static int log_count(const e2e_srv *s, const char *needle)
{
    return count_in(s->log, needle);
}

/* Two jobs on clip, one after the other: their CSV ids (content SHA-1s: same id, same bytes). */
static void two_jobs(e2e_srv *s, const char *clip, char a[41], char b[41])
{
    char fid[41];

    e2e_upload_path(s, clip, "clip.mp4", fid);
    video_job(s, fid, 0, a);
    video_job(s, fid, 1, b);
}

static void second_job_is_warm(void **state)
{
    e2e_srv *s = *state;
    char clip[E2E_PATH], a[41], b[41], fid[41];

    if (make_clip(s, clip, sizeof(clip)) < 0)
        skip();
    start(s, NULL);
    e2e_upload_path(s, clip, "clip.mp4", fid);
    video_job(s, fid, 0, a);
    assert_int_equal(log_count(s, "event=network model=openfield model_cache=miss"), 1);
    assert_int_equal(log_count(s, "model_cache=hit"), 0);
    video_job(s, fid, 1, b);
    assert_int_equal(log_count(s, "event=network model=openfield model_cache=hit"), 1);
    assert_int_equal(log_count(s, "model_cache=miss"), 1);
    assert_int_equal(log_count(s, "analysis=video state=STARTED"), 2);
    assert_string_equal(a, b); /* the warm network gave the same bytes */
    E2E_PASS(s);
}

static void no_budget_no_warm_models(void **state)
{
    e2e_srv *s = *state;
    char clip[E2E_PATH], a[41], b[41];

    if (make_clip(s, clip, sizeof(clip)) < 0)
        skip();
    start(s, "0");
    two_jobs(s, clip, a, b);
    assert_int_equal(log_count(s, "event=network model=openfield model_cache=miss"), 2);
    assert_int_equal(log_count(s, "model_cache=hit"), 0);
    assert_int_equal(log_count(s, "warm_models=0"), 2); /* nothing kept after either */
    assert_string_equal(a, b);
    E2E_PASS(s);
}

/* The same on a `vas worker --redis` (one slot: a process of its own, forked with an empty
 * cache) behind `vas serve --queue`: the slot keeps the network for its next job. */
static void redis_slot_keeps_it_warm(void **state)
{
    world *w = *state;
    char clip[E2E_PATH], a[41], b[41];
    int i;

    if (make_clip(w->s, clip, sizeof(clip)) < 0)
        skip();
    i = start_worker(w, "warm", NULL);
    two_jobs(w->s, clip, a, b);
    assert_int_equal(count_in(w->wlog[i], "event=network model=openfield model_cache=miss"), 1);
    assert_int_equal(count_in(w->wlog[i], "event=network model=openfield model_cache=hit"), 1);
    assert_string_equal(a, b);
    E2E_PASS(w->s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST_NO_SERVER(second_job_is_warm, NULL),
        E2E_TEST_NO_SERVER(no_budget_no_warm_models, NULL),
        cmocka_unit_test_setup_teardown(redis_slot_keeps_it_warm, setup_queue, teardown),
    };
    size_t n = sizeof(tests) / sizeof(tests[0]);

    if (!rqfx_available()) { /* the Redis test needs redis-server; the others run */
        printf("e2e_warm_models: redis_slot_keeps_it_warm skipped: no %s\n", RQFX_SERVER);
        n--;
    }
    return _cmocka_run_group_tests("e2e_warm_models", tests, n, e2e_group_setup,
                                   e2e_group_teardown);
}
