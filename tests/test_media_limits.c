/* test_media_limits.c - the media limits (media_limits: LIMIT_IMAGE_PIXELS, LIMIT_VIDEO_PIXELS,
 * LIMIT_VIDEO_FRAMES, LIMIT_ARCHIVE_MEMBERS, LIMIT_ARCHIVE_BYTES) against real hostile files
 * made here (test_media_bombs.h): a 20000 x 20000 PNG bomb of 48 KB, a zip of zeros (honest and
 * lying headers), a zip of many members, small videos with the limits set low. Each refusal is
 * VAS_ETOOBIG naming the key; each input under its limit still decodes. */
#include "core/err.h"
#include "media/media_archive.h"
#include "media/media_image.h"
#include "media/media_int.h"
#include "media/media_video.h"

#include "test_media_bombs.h"
#include "test_media_enc.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define W 64
#define H 48

typedef tu_dir_fx fx; /* testutil.h */
#define fx_setup    tu_dir_setup
#define fx_teardown tu_dir_teardown
#define fx_file     tu_dir_file

static void assert_has(const char *msg, const char *what)
{
    if (!strstr(msg, what))
        fail_msg("'%s' not in: %s", what, msg);
}

/* ---- images ---- */

/* The bomb writer makes a real PNG: a small one decodes to all black. */
static void png_bomb_writer_is_valid(void **state)
{
    fx *f = *state;
    media_image im = {0};
    vas_err e = {0};
    long bytes = 0;

    assert_int_equal(tb_png_bomb(fx_file(f, "small.png"), 300, 200, &bytes), 0);
    if (media_image_load(f->path, &im, &e) != VAS_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(im.width, 300);
    assert_int_equal(im.height, 200);
    for (size_t i = 0; i < (size_t)300 * 200 * 3; i++)
        if (im.rgb[i] != 0)
            fail_msg("pixel byte %zu is %d", i, im.rgb[i]);
    media_image_clear(&im);
}

/* 20000 x 20000 in 48 KB: refused from its header with the built-in ceiling, and an 8000 x 8000
 * one (which FFmpeg would decode into 192 MB) under a configured limit. */
static void png_bomb_refused(void **state)
{
    fx *f = *state;
    media_limits lim = {.image_pixels = 1000000};
    media_image im = {0};
    vas_err e = {0};
    long bytes = 0;

    assert_int_equal(tb_png_bomb(fx_file(f, "bomb.png"), 20000, 20000, &bytes), 0);
    assert_in_range(bytes, 1, 64 << 10);
    assert_int_equal(media_image_load_lim(f->path, NULL, &im, &e), VAS_ETOOBIG);
    assert_has(e.msg, "20000x20000");
    assert_has(e.msg, "LIMIT_IMAGE_PIXELS");
    assert_null(im.rgb);
    assert_int_equal(tb_png_bomb(fx_file(f, "bomb8k.png"), 8000, 8000, &bytes), 0);
    assert_in_range(bytes, 1, 16 << 10);
    assert_int_equal(media_image_load_lim(f->path, &lim, &im, &e), VAS_ETOOBIG);
    assert_has(e.msg, "8000x8000 (64000000 pixels), over the limit of 1000000 pixels");
    assert_has(e.msg, "LIMIT_IMAGE_PIXELS");
    assert_null(im.rgb);
}

/* Every format, at the limit and one pixel under it: PNG, JPEG, BMP by their headers, TIFF when
 * the decoder asks for its buffer. */
static void image_limit_every_format(void **state)
{
    static const struct {
        const char *name, *codec;
        int fmt, sniffed;
    } t[] = {{"a.png", "png", AV_PIX_FMT_RGB24, 1},
             {"a.jpg", "mjpeg", AV_PIX_FMT_YUVJ444P, 1},
             {"a.bmp", "bmp", AV_PIX_FMT_BGR24, 1},
             {"a.tif", "tiff", AV_PIX_FMT_RGB24, 0}};
    fx *f = *state;
    uint8_t rgb[W * H * 3];

    tenc_paint_index(3, W, H, rgb, NULL);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        media_limits at = {.image_pixels = W * H}, under = {.image_pixels = W * H - 1};
        media_image im = {0};
        vas_err e = {0};
        size_t n = 0;
        uint8_t *b;
        int64_t hw = 0, hh = 0;
        assert_int_equal(tenc_write_image(fx_file(f, t[i].name), t[i].codec, t[i].fmt, W, H, rgb),
                         0);
        b = (uint8_t *)tu_read_file(f->path, &n);
        assert_non_null(b);
        assert_int_equal(media_image_header_size(b, n, &hw, &hh), t[i].sniffed);
        if (t[i].sniffed) {
            assert_int_equal(hw, W);
            assert_int_equal(hh, H);
        }
        if (media_image_decode_lim(b, n, t[i].name, &at, &im, &e) != VAS_OK)
            fail_msg("%s: %s", t[i].name, e.msg);
        assert_int_equal(im.width, W);
        media_image_clear(&im);
        assert_int_equal(media_image_decode_lim(b, n, t[i].name, &under, &im, &e), VAS_ETOOBIG);
        assert_has(e.msg, "64x48 (3072 pixels), over the limit of 3071 pixels");
        assert_has(e.msg, "LIMIT_IMAGE_PIXELS");
        assert_null(im.rgb);
        free(b);
    }
}

/* Header bytes that are cut short or lie are never read past their end. */
static void header_size_short_input(void **state)
{
    static const uint8_t jpg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F'};
    static const uint8_t sof[] = {0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 8, 0x01, 0x2c, 0x02, 0x58};
    int64_t w = 0, h = 0;

    (void)state;
    assert_int_equal(media_image_header_size(jpg, sizeof(jpg), &w, &h), 0);
    assert_int_equal(media_image_header_size(sof, 9, &w, &h), 0);
    assert_int_equal(media_image_header_size(sof, sizeof(sof), &w, &h), 1);
    assert_int_equal(w, 600);
    assert_int_equal(h, 300);
    assert_int_equal(media_image_header_size((const uint8_t *)"GIF89a", 6, &w, &h), 0);
}

/* ---- archives ---- */

/* 8 MiB of zeros in a few KB of zip, LIMIT_ARCHIVE_BYTES 1 MiB: refused at open from the sizes
 * the headers declare; with no limit the zip opens. */
static void zip_bomb_refused_at_open(void **state)
{
    fx *f = *state;
    media_limits lim = {.archive_bytes = 1 << 20};
    media_archive *a = NULL;
    vas_err e = {0};
    size_t n = 0;
    char *b;

    assert_int_equal(tb_zip_zeros(fx_file(f, "bomb.zip"), 1, (size_t)8 << 20, NULL), 0);
    b = tu_read_file(f->path, &n);
    free(b);
    assert_in_range(n, 1, 64 << 10);
    assert_int_equal(media_archive_open_lim(f->path, &lim, &a, &e), VAS_ETOOBIG);
    assert_null(a);
    assert_has(e.msg, "expands to at least 8388608 bytes");
    assert_has(e.msg, "LIMIT_ARCHIVE_BYTES");
    assert_int_equal(media_archive_open_lim(f->path, NULL, &a, &e), VAS_OK);
    media_archive_close(a);
}

/* The same zip with headers saying 1000 bytes: open passes, and reading stops once the bytes
 * actually read pass the limit, with nothing more than the limit (and one block) in memory. */
static void zip_bomb_lying_headers(void **state)
{
    fx *f = *state;
    media_limits lim = {.archive_bytes = 1 << 20};
    media_archive *a = NULL;
    media_image im = {0};
    const char *name = NULL;
    vas_err e = {0};

    assert_int_equal(tb_zip_zeros(fx_file(f, "liar.zip"), 1, (size_t)8 << 20, NULL), 0);
    assert_int_equal(tb_zip_lie(f->path, 1000), 0);
    if (media_archive_open_lim(f->path, &lim, &a, &e) != VAS_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(media_archive_next(a, &im, &name, &e), VAS_ETOOBIG);
    assert_has(e.msg, "expands to more than 1048576 bytes");
    assert_has(e.msg, "LIMIT_ARCHIVE_BYTES");
    assert_null(im.rgb);
    media_archive_close(a);
}

/* A W x H PNG of picture 1 in the fixture's folder; its path into png[n]. */
static void real_png(fx *f, char *png, size_t n)
{
    uint8_t rgb[W * H * 3];

    tenc_paint_index(1, W, H, rgb, NULL);
    snprintf(png, n, "%s", fx_file(f, "real.png"));
    assert_int_equal(tenc_write_image(png, "png", AV_PIX_FMT_RGB24, W, H, rgb), 0);
}

/* 300 members, LIMIT_ARCHIVE_MEMBERS 100: refused while listing; 301 (with a real image) at
 * the default. */
static void member_count_refused(void **state)
{
    fx *f = *state;
    media_limits lim = {.archive_members = 100};
    media_archive *a = NULL;
    char png[600];
    vas_err e = {0};

    real_png(f, png, sizeof(png));
    assert_int_equal(tb_zip_zeros(fx_file(f, "many.zip"), 300, 0, png), 0);
    assert_int_equal(media_archive_open_lim(f->path, &lim, &a, &e), VAS_ETOOBIG);
    assert_has(e.msg, "more than 100 entries");
    assert_has(e.msg, "LIMIT_ARCHIVE_MEMBERS");
    assert_null(a);
    lim.archive_members = 301;
    assert_int_equal(media_archive_open_lim(f->path, &lim, &a, &e), VAS_OK);
    assert_int_equal(media_archive_count(a), 301);
    media_archive_close(a);
}

/* An image over LIMIT_IMAGE_PIXELS inside an archive fails the archive, saying so. */
static void archive_image_over_pixels(void **state)
{
    fx *f = *state;
    media_limits lim = {.image_pixels = 1000};
    media_archive *a = NULL;
    media_image im = {0};
    const char *name = NULL;
    char png[600];
    vas_err e = {0};

    real_png(f, png, sizeof(png));
    assert_int_equal(tb_zip_zeros(fx_file(f, "one.zip"), 0, 0, png), 0);
    assert_int_equal(media_archive_open_lim(f->path, &lim, &a, &e), VAS_OK);
    assert_int_equal(media_archive_next(a, &im, &name, &e), VAS_ETOOBIG);
    assert_has(e.msg, "LIMIT_IMAGE_PIXELS");
    media_archive_close(a);
}

/* ---- videos ---- */

static void video_limits(void **state)
{
    fx *f = *state;
    tenc_video s = {.codec = "mpeg4", .w = 64, .h = 64, .frames = 10, .fps = 25};
    media_video_opts px = {.threads = 1, .lim = {.video_pixels = 64 * 64 - 1}};
    media_video_opts fr = {.threads = 1, .lim = {.video_frames = 9}};
    media_video_opts ok = {.threads = 1, .lim = {.video_pixels = 64 * 64, .video_frames = 10}};
    media_video *v = NULL;
    media_frame fm;
    vas_err e = {0};
    int n = 0, rc;

    assert_int_equal(tenc_write_video(fx_file(f, "v.mp4"), &s), 0);
    assert_int_equal(media_video_open(f->path, &px, &v, &e), VAS_ETOOBIG);
    assert_has(e.msg, "64x64 frames (4096 pixels), over the limit of 4095 pixels");
    assert_has(e.msg, "LIMIT_VIDEO_PIXELS");
    assert_null(v);
    assert_int_equal(media_video_open(f->path, &fr, &v, &e), VAS_ETOOBIG);
    assert_has(e.msg, "about 10 frames, over the limit of 9 frames");
    assert_has(e.msg, "LIMIT_VIDEO_FRAMES");
    assert_null(v);
    if (media_video_open(f->path, &ok, &v, &e) != VAS_OK)
        fail_msg("%s", e.msg);
    while ((rc = media_video_next(v, &fm, &e)) == 1)
        n++;
    assert_int_equal(rc, 0);
    assert_int_equal(n, 10);
    media_video_close(v);
}

/* A real 9000 x 9000 video (2 MJPEG frames) under the default LIMIT_VIDEO_PIXELS (8192 x 8192):
 * refused at open, from the stream's size, before the decoder or any frame buffer. */
static void video_oversize_default(void **state)
{
    fx *f = *state;
    tenc_video s = {.codec = "mjpeg", .w = 9000, .h = 9000, .frames = 2, .fps = 25};
    media_video_opts o = {.threads = 1, .lim = {.video_pixels = (int64_t)8192 * 8192}};
    media_video *v = NULL;
    vas_err e = {0};

    assert_int_equal(tenc_write_video(fx_file(f, "big.avi"), &s), 0);
    assert_int_equal(media_video_open(f->path, &o, &v, &e), VAS_ETOOBIG);
    assert_has(e.msg, "9000x9000 frames (81000000 pixels), over the limit of 67108864 pixels");
    assert_has(e.msg, "LIMIT_VIDEO_PIXELS");
    assert_null(v);
}

/* Overwrites the frame counts an AVI's headers give (avih's total frames, strh's length) with n:
 * headers that lie. 0 ok, -1 failed. */
static int avi_lie(const char *path, uint32_t n)
{
    size_t len = 0;
    uint8_t *p = (uint8_t *)tu_read_file(path, &len);
    int hits = 0, rc;

    if (!p)
        return -1;
    for (size_t i = 0; i + 48 <= len; i++) {
        size_t at = memcmp(p + i, "avih", 4) == 0   ? i + 8 + 16
                    : memcmp(p + i, "strh", 4) == 0 ? i + 8 + 32
                                                    : 0;
        if (at)
            for (int k = 0; k < 4; k++, hits++)
                p[at + k] = (uint8_t)(n >> (8 * k));
    }
    rc = hits >= 8 && tu_write_file(path, p, len) == 0 ? 0 : -1;
    free(p);
    return rc;
}

/* An AVI whose headers say 3 frames but that holds 12: open's estimate passes LIMIT_VIDEO_FRAMES
 * 8, and the frames counted while decoding stop it after the 8th. */
static void video_frames_backstop(void **state)
{
    fx *f = *state;
    tenc_video s = {.codec = "mjpeg", .w = 64, .h = 64, .frames = 12, .fps = 25};
    media_video_opts o = {.threads = 1, .lim = {.video_frames = 8}};
    media_video *v = NULL;
    media_frame fm;
    vas_err e = {0};
    int n = 0, rc;

    assert_int_equal(tenc_write_video(fx_file(f, "v.avi"), &s), 0);
    assert_int_equal(avi_lie(f->path, 3), 0);
    if (media_video_open(f->path, &o, &v, &e) != VAS_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(media_video_info_get(v)->frames, 3);
    while ((rc = media_video_next(v, &fm, &e)) == 1)
        n++;
    assert_int_equal(rc, VAS_ETOOBIG);
    assert_int_equal(n, 8);
    assert_has(e.msg, "more than 8 frames");
    assert_has(e.msg, "LIMIT_VIDEO_FRAMES");
    media_video_close(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(png_bomb_writer_is_valid, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(png_bomb_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(image_limit_every_format, fx_setup, fx_teardown),
        cmocka_unit_test(header_size_short_input),
        cmocka_unit_test_setup_teardown(zip_bomb_refused_at_open, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(zip_bomb_lying_headers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(member_count_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(archive_image_over_pixels, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(video_limits, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(video_frames_backstop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(video_oversize_default, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
