/* e2e_media_limits.c - the media limits through POST /analysis on a server whose config file sets
 * them low (LIMIT_IMAGE_PIXELS, LIMIT_ARCHIVE_MEMBERS, LIMIT_ARCHIVE_BYTES, LIMIT_VIDEO_PIXELS,
 * LIMIT_VIDEO_FRAMES), with the demo model: a 20000 x 20000 PNG bomb of 48 KB (image and
 * label-image), a zip bomb (honest and lying headers), a zip of too many members, a video over the
 * pixel limit and one over the frame limit (video and label). Each ends FAILURE with a description
 * naming the key, leaves no temporary file, and the server and its worker go on serving: a real
 * image under the limits is analysed afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"
#include "test_media_bombs.h"
#include "test_media_enc.h"

#define LIMITS                                                                                     \
    "LIMIT_IMAGE_PIXELS: 1000000\n"                                                                \
    "LIMIT_ARCHIVE_MEMBERS: 1000\n"                                                                \
    "LIMIT_ARCHIVE_BYTES: 8388608\n"                                                               \
    "LIMIT_VIDEO_PIXELS: 100000\n"                                                                 \
    "LIMIT_VIDEO_FRAMES: 100\n"

/* Writes the config with LIMITS into the test's folder and starts the server with it. */
static void start_limited(e2e_srv *s)
{
    static char cfg[E2E_PATH];
    static const char *args[] = {"--models", "models", "--config", cfg, NULL};

    snprintf(cfg, sizeof(cfg), "%s/limits.yaml", s->dir);
    assert_int_equal(tu_write_file(cfg, LIMITS, strlen(LIMITS)), 0);
    s->args = args;
    assert_int_equal(e2e_start(s), 0);
}

/* Uploads path as name, runs analysis on it and expects FAILURE whose description holds each of
 * the NULL-terminated words; then no temporary file of the job is left. */
static void expect_refused(e2e_srv *s, const char *path, const char *name, const char *analysis,
                           const char *const *words)
{
    char fid[41], aid[37], form[256], tmp[E2E_PATH + 8];
    const char *d;
    e2e_resp r;

    e2e_upload_path(s, path, name, fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=%s&model=openfield", fid, analysis);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "FAILURE", 120, &r);
    e2e_assert_status(&r, 500);
    d = e2e_str(r.json, "description");
    for (int i = 0; words[i]; i++)
        if (!strstr(d, words[i]))
            fail_msg("%s on %s: '%s' not in: %s", analysis, name, words[i], d);
    e2e_resp_free(&r);
    snprintf(tmp, sizeof(tmp), "%s/tmp", s->data);
    assert_true(tu_count_files(tmp) <= 0); /* the job's folder is gone, or holds nothing */
}

/* A real frame of the openfield recording (640 x 480, under every limit) analysed to SUCCESS. */
static void expect_serving(e2e_srv *s)
{
    char fid[41], aid[37], form[256];
    e2e_resp r;

    e2e_upload_path(s, TU_OPENFIELD_LABELED "/img0007.png", "img0007.png", fid);
    snprintf(form, sizeof(form), "file_id=%s&analysis=image&model=openfield", fid);
    e2e_analysis(s, form, aid, NULL);
    e2e_wait_state(s, aid, "SUCCESS", 120, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "images")), 1);
    e2e_resp_free(&r);
}

static void image_and_archive_bombs(void **state)
{
    static const char *const px[] = {"20000x20000", "over the limit of 1000000 pixels",
                                     "LIMIT_IMAGE_PIXELS", NULL};
    static const char *const bytes[] = {"over the", "8388608", "LIMIT_ARCHIVE_BYTES", NULL};
    static const char *const members[] = {"more than 1000 entries", "LIMIT_ARCHIVE_MEMBERS", NULL};
    e2e_srv *s = *state;
    char bomb[E2E_PATH], zip[E2E_PATH], liar[E2E_PATH], many[E2E_PATH];
    long n = 0;

    start_limited(s);
    snprintf(bomb, sizeof(bomb), "%s/bomb.png", s->dir);
    assert_int_equal(tb_png_bomb(bomb, 20000, 20000, &n), 0);
    assert_in_range(n, 1, 64 << 10);
    expect_refused(s, bomb, "bomb.png", "image", px);
    expect_refused(s, bomb, "bomb.png", "label-image", px);
    snprintf(zip, sizeof(zip), "%s/bomb.zip", s->dir);
    assert_int_equal(tb_zip_zeros(zip, 2, (size_t)32 << 20, TU_OPENFIELD_LABELED "/img0000.png"),
                     0);
    expect_refused(s, zip, "bomb.zip", "image", bytes);
    snprintf(liar, sizeof(liar), "%s/liar.zip", s->dir);
    assert_int_equal(tb_zip_zeros(liar, 2, (size_t)32 << 20, NULL), 0);
    assert_int_equal(tb_zip_lie(liar, 1000), 0); /* headers say 2 x 1000 bytes */
    expect_refused(s, liar, "liar.zip", "label-image", bytes);
    snprintf(many, sizeof(many), "%s/many.zip", s->dir);
    assert_int_equal(tb_zip_zeros(many, 5000, 0, TU_OPENFIELD_LABELED "/img0000.png"), 0);
    expect_refused(s, many, "many.zip", "image", members);
    expect_serving(s);
    E2E_PASS(s);
}

static void video_limits(void **state)
{
    static const char *const px[] = {"640x480 frames", "over the limit of 100000 pixels",
                                     "LIMIT_VIDEO_PIXELS", NULL};
    static const char *const frames[] = {"150 frames", "over the limit of 100 frames",
                                         "LIMIT_VIDEO_FRAMES", NULL};
    e2e_srv *s = *state;
    tenc_video v = {.codec = "mpeg4", .w = 64, .h = 64, .frames = 150, .fps = 25};
    char video[E2E_PATH];

    start_limited(s);
    expect_refused(s, TU_OPENFIELD_CLIP, "m3v1.mp4", "video", px);
    expect_refused(s, TU_OPENFIELD_CLIP, "m3v1.mp4", "label", px);
    snprintf(video, sizeof(video), "%s/long.mp4", s->dir);
    assert_int_equal(tenc_write_video(video, &v), 0);
    expect_refused(s, video, "long.mp4", "video", frames);
    expect_refused(s, video, "long.mp4", "label", frames);
    expect_serving(s);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST_NO_SERVER(image_and_archive_bombs, NULL),
        E2E_TEST_NO_SERVER(video_limits, NULL),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
